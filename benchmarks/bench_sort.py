"""Re-sorting the event list, headless: `sort_rows` (tui/core/sorting.py) over every
event and over a filtered view, by each sortable column and direction.

    python benchmarks/bench_sort.py [--events 1000000] [--repeat 5]

"first" includes building the field's value ranks (a Python sort of its distinct
values, once per field); "then" is a re-sort with the ranks kept (a new filter, an
arrival without new values). The keypress figures (sort key -> frame, and cursor moves
while sorted) are in bench_app.py.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def main() -> None:
    from benchmarks.bench_engine import ensure_data
    from tui.core.loader import load
    from tui.core.query import parse
    from tui.core.sorting import ERRORS_FIRST, Ranks, SortKey, sort_rows
    from tui.core.view import compute_view

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--data-dir", default=str(HERE / "data"))
    args = ap.parse_args()
    trail = ensure_data(args.events, Path(args.data_dir))
    t = time.perf_counter()
    store = load([str(trail)])
    print(f"loaded {len(store):,} events in {time.perf_counter() - t:.1f} s")
    ranks = Ranks(store)
    views = (
        ("every event", compute_view(store, parse(""))),
        ('-error:""', compute_view(store, parse('-error:""'))),
        ("readonly:true", compute_view(store, parse("readonly:true"))),
    )
    print(
        f"{'view':14s} {'rows':>9s} {'column':10s} {'dir':4s} {'first ms':>9s} "
        f"{'then p50':>9s} {'max':>7s}  distinct"
    )
    worst = 0.0
    for label, view in views:
        for col in (
            "service",
            "event",
            "principal",
            "ip",
            "region",
            "error",
            "ua",
            ERRORS_FIRST,
            "time",
        ):
            for desc in (False,) if col == ERRORS_FIRST else (False, True):
                key = SortKey(col, desc)
                if key.is_time_order:
                    continue
                t = time.perf_counter()
                sort_rows(store, view.rows, key, ranks=ranks, sel=view.sel)
                first = (time.perf_counter() - t) * 1000
                ts = []
                for _ in range(args.repeat):
                    t = time.perf_counter()
                    sort_rows(store, view.rows, key, ranks=ranks, sel=view.sel)
                    ts.append((time.perf_counter() - t) * 1000)
                worst = max(worst, first, *ts)
                distinct = (
                    2 if col == ERRORS_FIRST else (0 if col == "time" else len(store.values(col)))
                )
                print(
                    f"{label:14s} {len(view.rows):>9,} {col:10s} {'desc' if desc else 'asc':4s} "
                    f"{first:9.1f} {statistics.median(ts):9.1f} {max(ts):7.1f}  {distinct:,}"
                )
    print(
        f"\nworst re-sort: {worst:.0f} ms (target <= 300 ms at 1M) -> "
        f"{'met' if worst <= 300 else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
