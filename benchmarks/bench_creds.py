"""Credential index benchmark: its first use at scale against free text's, then the
cost per commit while tailing.

    python benchmarks/bench_creds.py [--size 1000000] [--rounds 3] [--commits 30]

Loads the generated trail (benchmarks/data/trail-N, made on first use like
bench_engine.py) once, then, `--rounds` times, from cold: a rare free-text search
(its cache emptied) and a fresh `CredentialIndex` built over the whole store (wall,
and the CPU of all the process's threads), alternating, so both see the same machine.
Then tailing: `--commits` files of 500 events (written by gen_trail.write_file into a
temporary folder) are parsed, added and committed one at a time, and after each
commit the index catches up (timed), and a `descends:KEY` view is recomputed (timed).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--commits", type=int, default=30)
    ap.add_argument("--data-dir", default=str(HERE / "data"))
    args = ap.parse_args()

    from benchmarks.bench_engine import ensure_data
    from benchmarks.gen_trail import write_file
    from tui.core.batch import parse_file
    from tui.core.credentials import CredentialIndex
    from tui.core.loader import load
    from tui.core.query import parse
    from tui.core.view import compute_view

    path = ensure_data(args.size, Path(args.data_dir))
    t = time.perf_counter()
    store = load([path])
    print(f"{len(store):,} events loaded in {time.perf_counter() - t:.2f} s")

    def timed(fn) -> tuple[float, float]:
        s, c = time.perf_counter(), time.process_time()
        fn()
        return time.perf_counter() - s, time.process_time() - c

    text = parse('"203.0.113.250"')
    runs: dict[str, list[tuple[float, float]]] = {"free text (rare)": [], "credential index": []}
    idx = None
    for _ in range(args.rounds):
        store.text.forget()
        runs["free text (rare)"].append(timed(lambda: text.evaluate(store)))
        idx = CredentialIndex(store)
        runs["credential index"].append(timed(idx.catch_up))
    assert idx is not None
    print(f"first use, median of {args.rounds} (wall / CPU of all threads):")
    for name, xs in runs.items():
        wall = statistics.median(x[0] for x in xs)
        cpu = statistics.median(x[1] for x in xs)
        each = ", ".join(f"{x[0]:.2f}" for x in xs)
        print(f"  {name:20s} {wall:5.2f} s / {cpu:5.2f} s   [{each}]")
    print(f"  minting records: {len(idx):,}; key table: {len(idx.table):,} keys")

    store.credentials = idx
    key = next(v for v, _ in store.counts("key", top=5) if v)
    q = parse(f'descends:"{key}"')
    compute_view(store, q)
    catch, views = [], []
    when = datetime(2026, 11, 9, tzinfo=UTC)
    with tempfile.TemporaryDirectory(dir=args.data_dir) as tmp:
        for i in range(args.commits):
            f = write_file(
                tmp, "123456789012", "us-east-1", when + timedelta(minutes=5 * i), 500, 9000 + i
            )
            store.add(parse_file(str(f)))
            store.commit()
            catch.append(timed(idx.catch_up)[0] * 1000)
            views.append(timed(lambda: compute_view(store, q))[0] * 1000)
    for name, xs in (("catch-up per commit", catch), (f"descends: view ({key})", views)):
        xs.sort()
        print(
            f"  {name:38s} p50 {xs[len(xs) // 2]:6.2f} ms   p95 "
            f"{xs[min(len(xs) - 1, int(len(xs) * 0.95))]:6.2f} ms   max {xs[-1]:6.2f} ms"
        )


if __name__ == "__main__":
    main()
