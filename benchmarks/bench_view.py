"""Where a filter apply's time goes, headless: the engine's share of the explorer's work.

    python benchmarks/bench_view.py [--events 10000000] [--runs 15] [--eager]

Loads benchmarks/data/trail-N once (generated on first use, like bench_engine.py), then
for each of bench_app.py's filters times the steps the explorer runs on `enter`, in its
order: the view (`compute_view`: the query over the time-ordered columns, the matching
positions and their error flags; the rows and times of a view under LAZY_MIN rows,
else when first asked for), the three default facets' counts and top
60 (`take_facets`, which the explorer runs with a new filter's view: counts in slices on
the view pool over a big view), the timeline's histogram and the list's search for the cursor's event
(`EventList.set_rows` with `keep`); then a time window (`since:-6h`, a stretch of the
time order) and the filter cleared. Under each filter it also times a facet pick: the
filter narrowed by its view's most common event name, computed from the view on screen
(`compute_view(..., base=view)`: the new term is tested at the view's positions only).
Prints p50/p95 per step and for their sum; the Textual side (layout, render) is
bench_app.py's.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.bench_app import FILTERS  # noqa: E402
from benchmarks.bench_engine import ensure_data  # noqa: E402
from tui.core import view as view_mod  # noqa: E402
from tui.core.loader import load  # noqa: E402
from tui.core.query import add_term, parse  # noqa: E402
from tui.core.timeline import histogram  # noqa: E402
from tui.core.view import compute_view, keep_big_buffers, take_facets  # noqa: E402

FACETS = ("service", "principal", "ip")  # the facet panel's default fields
FACET_TOP = 60
BUCKETS = 150  # about a 160-column timeline


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * q))]


def steps(store, q, cursor_row: int, pick) -> dict[str, float]:
    """One filter apply's engine steps, ms each."""
    out: dict[str, float] = {}
    t = time.perf_counter()
    v = compute_view(store, q, ())
    out["view (query, positions, errors; rows, times if < LAZY_MIN)"] = (
        time.perf_counter() - t
    ) * 1000
    if pick is not None:
        t = time.perf_counter()
        compute_view(store, pick, (), base=v)
        out["facet pick under it (narrowed view)"] = (time.perf_counter() - t) * 1000
    t = time.perf_counter()
    take_facets(store, v, FACETS, FACET_TOP)
    out["facets (counts, top 60)"] = (time.perf_counter() - t) * 1000
    t = time.perf_counter()
    # As the timeline: a lazy view's ascending times by binary searches through its
    # positions (View.ordered_times), the error flags taken; else Timeline.set_data's
    # check, unless the view knows its times ascend.
    times = v.ordered_times()
    sorted_ = v.ascending or bool((v.times[1:] >= v.times[:-1]).all())
    histogram(times, v.errors, BUCKETS, presorted=sorted_)
    out["timeline histogram"] = (time.perf_counter() - t) * 1000
    t = time.perf_counter()
    # As EventList.set_rows keeps the cursor (unsorted): the event's place in the time
    # order, then in the view's positions.
    pos = int(store.positions_in_order(np.array([cursor_row], np.int64))[0])
    i = pos if v.sel is None else int(np.searchsorted(v.sel, pos))
    rows = v.row_list()  # as the list: a page of a lazy view's rows
    assert i < len(rows) and rows[i] == cursor_row or v.sel is not None
    _ = [int(rows[j]) for j in range(i, min(i + 48, len(rows)))]
    out["list: the cursor's event, a page"] = (time.perf_counter() - t) * 1000
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=10_000_000)
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--data-dir", default=str(HERE / "data"))
    ap.add_argument(
        "--eager",
        action="store_true",
        help="every view takes its rows, times and error flags at once (LAZY_MIN off)",
    )
    a = ap.parse_args()
    if a.eager:
        view_mod.LAZY_MIN = 1 << 62
    path = ensure_data(a.events, Path(a.data_dir))
    t = time.perf_counter()
    store = load([path])
    print(f"loaded {len(store):,} events in {time.perf_counter() - t:.1f} s")
    keep_big_buffers()  # as the explorer does once a trail is loaded
    cursor_row = int(store.order[len(store) // 2])
    for text in (*FILTERS, "since:-6h", ""):  # "": the filter cleared (ctrl+x), every event
        q = parse(text)
        pick = None
        if q.root is not None:
            top = compute_view(store, q, ()).facet(store, "event", 1)[0]
            pick = parse(add_term(text, "event", top[0][0])) if top else None
        steps(store, q, cursor_row, pick)  # first use builds time-ordered columns
        runs = [steps(store, q, cursor_row, pick) for _ in range(a.runs)]
        n = len(compute_view(store, q, ()).rows)
        print(f"\n{text!r} ({n:,} matches), ms over {a.runs} runs:")
        for k in runs[0]:
            xs = [r[k] for r in runs]
            print(f"  {k:36s} p50 {statistics.median(xs):7.2f}  p95 {pct(xs, 0.95):7.2f}")
        tot = [sum(r.values()) for r in runs]
        print(f"  {'total':36s} p50 {statistics.median(tot):7.2f}  p95 {pct(tot, 0.95):7.2f}")


if __name__ == "__main__":
    main()
