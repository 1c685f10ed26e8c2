"""Export benchmark: how fast `trailscope query --format jsonl|csv` writes a loaded trail.

    python benchmarks/bench_export.py [--trail DIR] [--formats jsonl,csv] [--repeat 5]
        [--rounds 3] [--against DIR]

Formats `explorer-jsonl`, `explorer-csv` and `explorer-json.gz` time the explorer's
export engine (`core.export_job.run_export`: a real file in a temporary folder, its
SHA-256 and manifest, progress and cancel checks) instead of the CLI's writer.

Each round runs in a fresh child process that loads the trail (not timed) and writes
every event in time order to /dev/null through the CLI's `write_rows`, --repeat times
per format. Prints the best and the median per format over all rounds. `--against DIR`
alternates the rounds with the code of another checkout (e.g. `git worktree add
/tmp/base <commit>`, with its C scan built or copied in): an A/B in one sitting, which
this noisy machine needs. The default trail is benchmarks/data/trail-1m (generated on
first use, git-ignored).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def child(code_root: str, trail: str, formats: list[str], repeat: int) -> None:
    sys.path.insert(0, code_root)
    from tui.cli import write_rows
    from tui.core.batch import HOSTILE
    from tui.core.loader import load

    store = load([trail])
    rows = store.ordered()
    out: dict = {"events": len(rows), "hostile": int(((store.flags & HOSTILE) != 0).sum())}
    for fmt in formats:
        times = []
        for _ in range(repeat):
            if fmt.startswith("explorer-"):
                times.append(_explorer_export(store, rows, fmt.removeprefix("explorer-"), trail))
                continue
            with open(os.devnull, "w") as sink:
                t = time.perf_counter()
                write_rows(store, rows, fmt, sink)
                times.append(time.perf_counter() - t)
        out[fmt] = times
    print(json.dumps(out))


def _explorer_export(store, rows, fmt: str, trail: str) -> float:
    import tempfile
    import threading

    from tui.core.export_job import run_export

    cols = ["time", "service", "event", "principal", "ip", "region", "error"]
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        run_export(
            store,
            rows,
            Path(tmp) / f"x.{fmt}",
            fmt,
            trail_paths=[trail],
            columns=cols,
            progress=lambda d, n: None,
            cancel=threading.Event(),
        )
        return time.perf_counter() - t


def run_round(code_root: Path, args) -> dict:
    cmd = [
        sys.executable,
        __file__,
        "--child",
        str(code_root),
        "--trail",
        str(args.trail),
        "--formats",
        args.formats,
        "--repeat",
        str(args.repeat),
    ]
    p = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=code_root)
    return json.loads(p.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--trail", type=Path, default=HERE / "data" / "trail-1m")
    ap.add_argument("--formats", default="jsonl,csv")
    ap.add_argument("--repeat", type=int, default=5, help="writes per format per round")
    ap.add_argument("--rounds", type=int, default=3, help="child processes per side")
    ap.add_argument("--against", type=Path, metavar="DIR")
    ap.add_argument("--child", metavar="CODE_ROOT", help=argparse.SUPPRESS)
    args = ap.parse_args()
    formats = args.formats.split(",")
    if args.child:
        child(args.child, str(args.trail), formats, args.repeat)
        return
    if not args.trail.exists():
        subprocess.run(
            [
                sys.executable,
                str(HERE / "gen_trail.py"),
                "--events",
                "1000000",
                "--out",
                str(args.trail),
            ],
            check=True,
        )
    if args.against and not list((args.against / "tui" / "core").glob("_scan*.so")):
        sys.exit(f"{args.against}: its C scan is not built (copy tui/core/_scan*.so in)")
    sides = [("this", ROOT)] + ([("that", args.against.resolve())] if args.against else [])
    results: dict[str, dict[str, list[float]]] = {name: {} for name, _ in sides}
    info = {}
    for _ in range(args.rounds):
        for name, root in sides:
            got = run_round(root, args)
            info[name] = (got["events"], got["hostile"])
            for fmt in formats:
                results[name].setdefault(fmt, []).extend(got[fmt])
    for name, root in sides:
        events, hostile = info[name]
        print(f"== {name}: {root} ({events:,} events, {hostile:,} with hostile characters)")
        for fmt in formats:
            ts = results[name][fmt]
            print(
                f"  {fmt:<16} best {min(ts):.2f} s   median {statistics.median(ts):.2f} s"
                f"   (n={len(ts)})"
            )
    if args.against:
        for fmt in formats:
            a, b = min(results["this"][fmt]), min(results["that"][fmt])
            print(f"  {fmt}: this / that (best) = {a / b:.2f}")


if __name__ == "__main__":
    main()
