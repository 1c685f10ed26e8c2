"""Detection benchmark: all rules over a loaded trail, then over arrivals while tailing.

    python benchmarks/bench_detect.py [--events 1000000] [--arrivals 20] [--sigma DIR]
        [--repeat 3]

Each run is a fresh child process: it loads the trail (benchmarks/data/, generated on
first use like bench_engine.py) without its last --arrivals files, runs every rule over
the store once (what `trailscope detect` and the explorer do after a load: wall time and
the CPU of all the process's threads; the rules' caches are cold), then commits the held
back files one at a time, as the tail does, timing the rules' run over each commit's
rows. `--sigma DIR` adds the Sigma rules found there to the built-in pack. Prints
medians over --repeat runs and the costliest rules of the first.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

CHILD = r"""
import json, sys, time
import numpy as np
sys.path.insert(0, sys.argv[1])
from tui.core.batch import parse_file
from tui.core.detect import Detections
from tui.core.detect.config import rule_set
from tui.core.discovery import discover
from tui.core.loader import load
path, arrivals, sigma = sys.argv[2], int(sys.argv[3]), sys.argv[4]

def main():
    rules = rule_set([sigma] if sigma else [], use_config=False).rules
    files = sorted(f.path for f in discover([path]).files)
    keep, later = files[: len(files) - arrivals], files[len(files) - arrivals:]
    t = time.perf_counter()
    store = load(keep)
    load_s = time.perf_counter() - t
    t, c = time.perf_counter(), time.process_time()
    det = Detections(store, rules)
    det.sync()
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    per_commit, rows = [], []
    for f in later:
        store.add(parse_file(f))
        res = store.commit()
        t = time.perf_counter()
        det.sync()
        per_commit.append(time.perf_counter() - t)
        rows.append(len(res.rows))
    counts = {r.id: n for r, n in det.counts()}
    costs = sorted(det.seconds.items(), key=lambda kv: -kv[1])[:8]
    print(json.dumps({"events": len(store), "rules": len(rules), "load_s": load_s,
                      "wall_s": wall, "cpu_s": cpu, "commit_s": per_commit,
                      "commit_rows": rows, "hits": counts, "costs": costs}))

if __name__ == "__main__":
    main()
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--arrivals", type=int, default=20)
    ap.add_argument("--sigma", default="", help="a folder of Sigma rules to add")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--data-dir", default=str(HERE / "data"))
    args = ap.parse_args()
    from benchmarks.bench_engine import ensure_data

    path = ensure_data(args.events, Path(args.data_dir))
    child = Path("/tmp") / "trailscope_bench_detect_child.py"
    child.write_text(CHILD)
    runs = []
    for _ in range(args.repeat):
        p = subprocess.run(
            [sys.executable, str(child), str(ROOT), str(path), str(args.arrivals), args.sigma],
            capture_output=True,
            text=True,
            check=True,
        )
        runs.append(json.loads(p.stdout.strip().splitlines()[-1]))
    med = lambda k: statistics.median(r[k] for r in runs)  # noqa: E731
    r0 = runs[0]
    commits = sorted(x for r in runs for x in r["commit_s"])
    p50 = commits[len(commits) // 2]
    p95 = commits[min(len(commits) - 1, int(len(commits) * 0.95))]
    print(f"{r0['rules']} rules over {r0['events']:,} events (load {med('load_s'):.2f} s)")
    walls = ", ".join(f"{r['wall_s']:.2f}" for r in runs)
    print(
        f"all rules at load: {med('wall_s'):.2f} s wall, CPU {med('cpu_s'):.2f} s "
        f"(median of {args.repeat}: {walls})"
    )
    print(
        f"each arrival ({statistics.median(r0['commit_rows']):.0f} events a commit, "
        f"{len(commits)} commits): p50 {p50 * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms, "
        f"max {commits[-1] * 1000:.1f} ms"
    )
    print("costliest (first run, s):", ", ".join(f"{k} {v:.3f}" for k, v in r0["costs"]))
    print(
        "hits:", ", ".join(f"{k} {v}" for k, v in sorted(r0["hits"].items(), key=lambda kv: -kv[1]))
    )


if __name__ == "__main__":
    main()
