"""The engine's pivots on high-cardinality values: after a load, the time and memory of
an exact and a wildcard filter on a row's access key, principal and session, the first
time each field is asked and again.

    python benchmarks/bench_pivots.py --events 10000000 [--code DIR]

An exact term is case-insensitive, so it is asked in lower case (as a user types it);
`--code DIR` runs another checkout (its C scan built in place) for an A/B.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_engine import ensure_data  # noqa: E402

CHILD = r"""
import sys, time
from tui.core.loader import load
from tui.core.query import parse

def rss_mb():
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) // 1024 for l in f if l.startswith("VmRSS"))

def main():
    store = load([sys.argv[1]])
    row = int(store.ordered()[len(store) // 2])
    key, principal = store.value(row, "key"), store.value(row, "principal")
    tail = "".join(c for c in principal[-8:] if c.isalnum() or c in "-_.")
    terms = [
        ("key, exact", f"key:{key.lower()}"),
        ("key, exact again (another case)", f"key:{key}"),
        ("principal, exact", f'principal:"{principal.lower()}"'),
        ("session, exact", f'session:"{principal.lower()}"'),
        ("principal, wildcard", f"principal:*{tail}*"),
        ("principal, wildcard again", f"principal:*{tail}*"),
        ("key, wildcard", f"key:{key[:8]}*"),
    ]
    print(f"{len(store):,} events; RSS after the load {rss_mb():,} MB")
    for label, text in terms:
        before = rss_mb()
        t = time.perf_counter()
        got = parse(text).evaluate(store)
        ms = (time.perf_counter() - t) * 1000
        n = int(got.sum()) if got.dtype == bool else len(got)
        print(f"  {label:34s} {ms:9.1f} ms  {rss_mb() - before:+5d} MB  {n:>9,} events")

if __name__ == "__main__":
    main()
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--code", metavar="DIR", help="another checkout to time")
    ap.add_argument("--data-dir", default=str(ROOT / "benchmarks" / "data"))
    args = ap.parse_args()
    trail = ensure_data(args.events, Path(args.data_dir))
    code = Path(args.code).resolve() if args.code else ROOT
    env = {**os.environ, "PYTHONPATH": str(code)}
    print(f"== {code}")
    subprocess.run([sys.executable, "-c", CHILD, str(trail)], env=env, cwd=code, check=True)


if __name__ == "__main__":
    main()
