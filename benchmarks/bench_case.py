"""Case benchmark: what a mark costs to write, and what marks cost the filters.

    python benchmarks/bench_case.py [--events 1000000] [--marks 200] [--runs 30]

Writes: the time of one user action (`Case.mark`, one transaction in the case file,
rollback journal, synchronous=FULL) and, for comparison, the same kind of transaction
in SQLite's other journal settings. Filters: over the benchmark trail (generated under
benchmarks/data/ on first use, as bench_engine does), with `--marks` events marked: the
first query after opening a case (every key matched to rows), views for `has:mark` and
`mark:ioc` as the explorer computes them, the label facet, and the cost a commit of new
events adds to a `has:mark` view (the new rows matched to the keys).
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.bench_engine import ensure_data  # noqa: E402


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p * (len(xs) - 1))))]


def ms(xs: list[float]) -> str:
    return f"p50 {statistics.median(xs) * 1e3:7.2f} ms  p95 {pct(xs, 0.95) * 1e3:7.2f} ms"


def bench_writes(n: int) -> None:
    from tui.core.case import Case, EventKey, EventRecord

    with tempfile.TemporaryDirectory() as d:
        case = Case.open(Path(d) / "case.sqlite")
        times = []
        for i in range(n):
            rec = EventRecord(EventKey(f"id-{i}", i, "Call"), original=b"{}" * 400)
            t = time.perf_counter()
            case.mark(rec, "ioc", "has:error")
            times.append(time.perf_counter() - t)
        case.close()
        print(f"Case.mark (delete journal, synchronous=FULL)    {ms(times)}")
    for mode, sync in (("DELETE", "NORMAL"), ("WAL", "FULL"), ("WAL", "NORMAL")):
        with tempfile.TemporaryDirectory() as d:
            db = sqlite3.connect(Path(d) / "c.sqlite", isolation_level=None)
            db.execute(f"PRAGMA journal_mode = {mode}")
            db.execute(f"PRAGMA synchronous = {sync}")
            db.execute("CREATE TABLE m (k TEXT PRIMARY KEY, v BLOB)")
            times = []
            for i in range(n):
                t = time.perf_counter()
                db.execute("BEGIN IMMEDIATE")
                db.execute("INSERT INTO m VALUES (?, ?)", (str(i), b"{}" * 400))
                db.execute("COMMIT")
                times.append(time.perf_counter() - t)
            db.close()
            print(f"one insert, journal {mode:6} synchronous={sync:6}  {ms(times)}")


def bench_filters(events: int, marks: int, runs: int, data_dir: Path) -> None:
    from tui.core.annotations import Annotations
    from tui.core.batch import parse_file
    from tui.core.case import Case
    from tui.core.loader import load
    from tui.core.query import parse
    from tui.core.view import compute_view

    path = ensure_data(events, data_dir)
    t = time.perf_counter()
    store = load([path])
    print(f"\nloaded {len(store):,} events in {time.perf_counter() - t:.1f} s")
    rng = random.Random(1)
    with tempfile.TemporaryDirectory() as d:
        case_path = Path(d) / "case.sqlite"
        with Case.open(case_path) as case:
            ann = Annotations(case, store)
            t = time.perf_counter()
            for r in rng.sample(range(len(store)), marks):
                ann.mark(r, rng.choice(("suspicious", "ioc", "benign")))
            each = (time.perf_counter() - t) / marks
            print(
                f"{marks} marks through Annotations.mark: {each * 1e3:.2f} ms each "
                "(reading the event, one transaction)"
            )
        store.annotations = None
        with Case.open(case_path) as case:
            t = time.perf_counter()
            Annotations(case, store)
            compute_view(store, parse("has:mark"))
            print(
                f"open the case + first has:mark view (every key matched): "
                f"{(time.perf_counter() - t) * 1e3:.1f} ms"
            )
            for text in ("has:mark", "mark:ioc", "service:s3* -has:mark"):
                q = parse(text)
                ts = []
                for _ in range(runs):
                    t = time.perf_counter()
                    compute_view(store, q)
                    ts.append(time.perf_counter() - t)
                print(f"view {text!r:26} {ms(ts)}")
            v = compute_view(store, parse("service:s3*"))
            ts = []
            for _ in range(runs):
                t = time.perf_counter()
                v.label_counts(store)
                ts.append(time.perf_counter() - t)
            print(f"label facet of a 'service:s3*' view  {ms(ts)}")
            # Tailing: a commit of a file of 500 new events, then the has:mark view.
            extra = Path(d) / "extra"
            ts, base = [], []
            q = parse("has:mark")
            for i in range(runs):
                dst = extra / f"{i}.json.gz"
                dst.parent.mkdir(exist_ok=True)
                dst.write_bytes(
                    gzip.compress(
                        json.dumps(
                            {
                                "Records": [
                                    {
                                        "eventVersion": "1.08",
                                        "eventTime": "2030-01-01T00:00:00Z",
                                        "eventSource": "s3.amazonaws.com",
                                        "eventName": "GetObject",
                                        "eventID": str(uuid.UUID(int=rng.getrandbits(128))),
                                        "sourceIPAddress": "192.0.2.1",
                                        "awsRegion": "us-east-1",
                                    }
                                    for _ in range(500)
                                ]
                            }
                        ).encode()
                    )
                )
                store.add(parse_file(str(dst)))
                store.commit()
                t = time.perf_counter()
                compute_view(store, q)
                ts.append(time.perf_counter() - t)
                t = time.perf_counter()
                compute_view(store, q)
                base.append(time.perf_counter() - t)
            print(f"has:mark view after a 500-event commit {ms(ts)}  (again: {ms(base)})")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--marks", type=int, default=200)
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--writes", type=int, default=300)
    ap.add_argument("--data-dir", default=str(HERE / "data"))
    args = ap.parse_args()
    bench_writes(args.writes)
    bench_filters(args.events, args.marks, args.runs, Path(args.data_dir))


if __name__ == "__main__":
    main()
