"""Where a filter apply's time goes, headless: the engine's share of the explorer's work.

    python benchmarks/bench_view.py [--events 10000000] [--runs 15]

Loads benchmarks/data/trail-N once (generated on first use, like bench_engine.py), then
for each of bench_app.py's filters times the steps the explorer runs on `enter`, in its
order: the view (`compute_view`: the query over the time-ordered columns, the matching
positions, the rows, times and error flags), the three default facets' counts and top
60 (`View.facet`), the timeline's histogram and the list's search for the cursor's event
(`EventList.set_rows` with `keep`); then the same with the filter cleared. Prints
p50/p95 per step and for their sum; the Textual side (layout, render) is bench_app.py's.
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
from tui.core.loader import load  # noqa: E402
from tui.core.query import parse  # noqa: E402
from tui.core.timeline import histogram  # noqa: E402
from tui.core.view import compute_view  # noqa: E402

FACETS = ("service", "principal", "ip")  # the facet panel's default fields
FACET_TOP = 60
BUCKETS = 150  # about a 160-column timeline


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * q))]


def steps(store, q, cursor_row: int) -> dict[str, float]:
    """One filter apply's engine steps, ms each."""
    out: dict[str, float] = {}
    t = time.perf_counter()
    v = compute_view(store, q, ())
    out["view (query, rows, times, errors)"] = (time.perf_counter() - t) * 1000
    for f in FACETS:
        t = time.perf_counter()
        v.facet(store, f, FACET_TOP)
        out[f"facet {f}"] = (time.perf_counter() - t) * 1000
    t = time.perf_counter()
    sorted_ = bool((v.times[1:] >= v.times[:-1]).all())  # Timeline.set_data's check
    histogram(v.times, v.errors, BUCKETS, presorted=sorted_)
    out["timeline histogram"] = (time.perf_counter() - t) * 1000
    t = time.perf_counter()
    hits = np.flatnonzero(np.asarray(v.rows, dtype=np.int64) == cursor_row)
    out["list: find the cursor's event"] = (time.perf_counter() - t) * 1000
    del hits
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=10_000_000)
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--data-dir", default=str(HERE / "data"))
    a = ap.parse_args()
    path = ensure_data(a.events, Path(a.data_dir))
    t = time.perf_counter()
    store = load([path])
    print(f"loaded {len(store):,} events in {time.perf_counter() - t:.1f} s")
    cursor_row = int(store.order[len(store) // 2])
    for text in (*FILTERS, ""):  # "": the filter cleared (ctrl+x), every event
        q = parse(text)
        steps(store, q, cursor_row)  # first use builds time-ordered columns
        runs = [steps(store, q, cursor_row) for _ in range(a.runs)]
        n = len(compute_view(store, q, ()).rows)
        print(f"\n{text!r} ({n:,} matches), ms over {a.runs} runs:")
        for k in runs[0]:
            xs = [r[k] for r in runs]
            print(f"  {k:36s} p50 {statistics.median(xs):7.2f}  p95 {pct(xs, 0.95):7.2f}")
        tot = [sum(r.values()) for r in runs]
        print(f"  {'total':36s} p50 {statistics.median(tot):7.2f}  p95 {pct(tot, 0.95):7.2f}")


if __name__ == "__main__":
    main()
