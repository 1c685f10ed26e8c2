"""`trailscope stats --json` against a plain load (`query --format count`), whole processes.

    python benchmarks/bench_stats.py [--events 1000000] [--repeat 5] [--against DIR]

Runs the two commands alternately on benchmarks/data/trail-N (generated on first use,
like bench_engine.py) and prints per command the median wall time, the CPU time of the
process with its parser processes (steadier than wall time on a loaded machine) and the
main process's peak RSS; the difference stats - load (what the complete value maps cost
on top of loading); then, in one process per checkout, the cost of building and
serialising the stats JSON alone after a load; and the distinct values per field.
`--against DIR` also runs `stats --json` with the code of another checkout (e.g.
`git archive <commit> | tar -x -C DIR` with its C extensions built or copied in),
alternating, for an A/B in one sitting. Prints `uptime` before and after: the machine
is shared.
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
sys.path.insert(0, str(ROOT))

from benchmarks.bench_engine import ensure_data  # noqa: E402


def run(
    code_dir: Path, args: list[str], out_path: Path | None = None
) -> tuple[float, float, float]:
    """(wall s, CPU s of the process and its parser processes, peak RSS MB of the main
    process) of `python -m tui ARGS` run from code_dir."""
    env = {**os.environ, "PYTHONPATH": str(code_dir)}
    sink = open(out_path, "wb") if out_path else subprocess.DEVNULL
    try:
        t0 = time.perf_counter()
        p = subprocess.Popen(
            [sys.executable, "-m", "tui", *args],
            cwd=code_dir,
            env=env,
            stdout=sink,
            stderr=subprocess.DEVNULL,
        )
        _pid, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
    finally:
        if out_path:
            sink.close()
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        raise SystemExit(f"{args}: exit {p.returncode}")
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024


# In one process: load once, then build and serialise the stats JSON a few times (its
# cost alone, without the load's noise).
IN_PROCESS = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
from tui.cli import stats_dict
from tui.core import export
from tui.core.loader import load
store = load([sys.argv[2]])
xs = []
for _ in range(int(sys.argv[3])):
    w, c = time.perf_counter(), time.process_time()
    n = len(export.dumps(stats_dict(store)))
    xs.append((time.perf_counter() - w, time.process_time() - c))
print(json.dumps({"wall": sorted(x[0] for x in xs), "cpu": sorted(x[1] for x in xs), "bytes": n}))
"""


def in_process(code_dir: Path, path: Path, times: int) -> dict:
    p = subprocess.run(
        [sys.executable, "-c", IN_PROCESS, str(code_dir), str(path), str(times)],
        capture_output=True,
        text=True,
        check=True,
        cwd=code_dir,
    )
    return json.loads(p.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--data-dir", default=str(HERE / "data"))
    ap.add_argument("--against", metavar="DIR", help="also run stats --json with this checkout")
    a = ap.parse_args()
    path = ensure_data(a.events, Path(a.data_dir))
    print("uptime:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    out_json = Path(a.data_dir) / "stats-out.json"
    cmds = {
        "load (query --format count)": (ROOT, ["query", str(path), "--format", "count"]),
        "stats --json": (ROOT, ["stats", str(path), "--json"]),
    }
    if a.against:
        cmds["stats --json, " + a.against] = (
            Path(a.against).resolve(),
            ["stats", str(path), "--json"],
        )
    got: dict[str, list[tuple[float, float, float]]] = {k: [] for k in cmds}
    for _ in range(a.repeat):
        for name, (code, args) in cmds.items():
            got[name].append(run(code, args, out_json if args[0] == "stats" else None))
    print("uptime:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    med = {k: [statistics.median(x[i] for x in v) for i in range(3)] for k, v in got.items()}
    print(f"\n== {path.name}: median of {a.repeat}, alternating ==")
    for k, (w, c, r) in med.items():
        each = ", ".join(f"{x[0]:.2f}" for x in got[k])
        print(f"  {k:36s} wall {w:6.2f} s [{each}]  CPU {c:6.2f} s  peak RSS {r:5.0f} MB")
    load_w, load_c, load_r = med["load (query --format count)"]
    st_w, st_c, st_r = med["stats --json"]
    print(
        f"  stats - load: wall {st_w - load_w:+.2f} s, CPU {st_c - load_c:+.2f} s, "
        f"{st_r - load_r:+.0f} MB"
    )
    for name, code in (("this checkout", ROOT), (a.against, a.against)):
        if code:
            r = in_process(Path(code).resolve(), path, 3)
            print(
                f"  stats_dict + JSON after a load, {name}: wall "
                + ", ".join(f"{x:.2f}" for x in r["wall"])
                + " s; CPU "
                + ", ".join(f"{x:.2f}" for x in r["cpu"])
                + f" s ({r['bytes'] / 2**20:.0f} MiB)"
            )
    d = json.loads(out_json.read_bytes())
    print(
        "  distinct values: "
        + ", ".join(f"{k[3:]} {len(v):,}" for k, v in d.items() if k.startswith("by_"))
    )


if __name__ == "__main__":
    main()
