"""A burst of new files while following, against an initial load of the same files.

    python benchmarks/bench_burst.py --src benchmarks/data/burst-src-10k [--mode cli|app|both]

Make the source trail first (10,000 files of 20 events):

    python benchmarks/gen_trail.py --events 200000 --per-file 20 --out benchmarks/data/burst-src-10k

Each measurement runs in a child process, and its CPU is what `os.wait4` reports for
that child: user + system time of the child and of every process it started and reaped
(the parser processes). Wall time is the child's own clock.

- load: `load([SRC])`, what `trailscope stats SRC` does before printing.
- cli:  `trailscope query DIR --follow` on an empty trail folder DIR (benchmarks/data/
  burst-run-*, removed afterwards): `load()`, then `tui.cli.follow_query` with a filter
  that matches nothing (so printing costs nothing). Once it is following, this process
  hard-links every file of SRC into DIR as fast as it can (folders first made as a sync
  tool makes them), and the child exits once every file is in its store and committed.
- app:  the same burst into the explorer, `TrailscopeApp([DIR])` run headless; it ends
  once every file is committed and the view shows every event.

Reported per run: CPU seconds, wall seconds from the first link to the last file
committed (for load: the whole load), and events stored. A script, not a test: the
machine is shared and noisy, so compare runs made back to back.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

FILTER_NONE = "service:nothing.example.invalid"
TIMEOUT_S = 1800.0


def trail_files(src: Path) -> list[Path]:
    return sorted(p.relative_to(src) for p in src.rglob("*.json.gz"))


# ------------------------------------------------------------------ children
def child_load(src: str) -> dict:
    from tui.core.loader import load

    t0 = time.monotonic()
    store = load([src])
    return {"events": len(store), "files": len(store.files), "wall": time.monotonic() - t0}


def child_cli(root: str, n_files: int) -> dict:
    from tui.cli import follow_query
    from tui.core.loader import load
    from tui.core.query import parse
    from tui.core.reader import DEFAULT_MAX_BYTES

    store = load([root])
    started: dict[str, float] = {}
    original_commit = store.commit

    def commit():
        res = original_commit()
        started.setdefault("first", time.monotonic())
        if len(store.files) >= n_files and not store.pending_events:
            started["done"] = time.monotonic()
            os.kill(os.getpid(), signal.SIGTERM)  # follow_query stops as on Ctrl-C
        return res

    store.commit = commit

    real_stdout = sys.stdout

    def announce() -> None:
        # follow_query's loop is up once its SIGTERM handler is installed.
        while signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
            time.sleep(0.01)
        print("ready", file=real_stdout, flush=True)

    threading.Thread(target=announce, daemon=True).start()
    ns = argparse.Namespace(
        fmt="jsonl", limit=None, poll=False, rescan=5.0, max_file_size=DEFAULT_MAX_BYTES
    )
    t0 = time.monotonic()
    saved = sys.stdout
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - nothing matches; just in case
    try:
        follow_query(store, parse(FILTER_NONE), [root], ns)
    finally:
        sys.stdout = saved
    return {
        "events": len(store),
        "files": len(store.files),
        "done_at": started.get("done", time.monotonic()) - t0,
        "t0": t0,
    }


async def _child_app(root: str, n_files: int) -> dict:
    from tui.app import TrailscopeApp

    app = TrailscopeApp([root], watch=True)
    async with app.run_test(size=(160, 50)):
        while not (app.tailing and not app.loading):
            await asyncio.sleep(0.05)
        print("ready", flush=True)
        t0 = time.monotonic()
        while not (
            len(app.store.files) >= n_files
            and not app.store.pending_events
            and app.view is not None
            and len(app.view.rows) == len(app.store)
        ):
            await asyncio.sleep(0.02)
        done = time.monotonic() - t0
        return {"events": len(app.store), "files": len(app.store.files), "done_at": done, "t0": t0}


def child_main(argv: list[str]) -> None:
    kind = argv[0]
    if kind == "load":
        res = child_load(argv[1])
    elif kind == "cli":
        res = child_cli(argv[1], int(argv[2]))
    else:
        res = asyncio.run(_child_app(argv[1], int(argv[2])))
    print("result " + json.dumps(res), flush=True)


# ------------------------------------------------------------------- parent
def run_child(args: list[str], on_ready=None) -> tuple[dict, float]:
    """Run a child; returns (its result, its CPU seconds incl. reaped descendants)."""
    env = dict(os.environ, PYTHONHASHSEED="0")
    p = subprocess.Popen(
        [sys.executable, __file__, "--child", *args],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    result: dict = {}
    assert p.stdout is not None
    for line in p.stdout:
        if line.strip() == "ready" and on_ready is not None:
            result["burst"] = on_ready()
        elif line.startswith("result "):
            result.update(json.loads(line[len("result ") :]))
    _, status, usage = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    cpu = usage.ru_utime + usage.ru_stime
    return result, cpu


def burst(src: Path, files: list[Path], dest: Path) -> dict:
    """Hard-link every file of `src` into `dest`, as fast as possible."""
    time.sleep(1.0)  # the watcher is starting
    t0 = time.monotonic()
    made: set[Path] = set()
    for rel in files:
        d = dest / rel.parent
        if d not in made:
            d.mkdir(parents=True, exist_ok=True)
            made.add(d)
        os.link(src / rel, dest / rel)
    return {"linked": len(files), "link_s": time.monotonic() - t0, "start": t0}


def measure_follow(mode: str, src: Path, files: list[Path]) -> dict:
    (HERE / "data").mkdir(exist_ok=True)
    dest = Path(tempfile.mkdtemp(prefix="burst-run-", dir=HERE / "data"))
    try:
        (dest / "AWSLogs").mkdir()
        holder: dict = {}

        def go() -> dict:
            holder["ready"] = time.monotonic()
            return burst(src, files, dest)

        res, cpu = run_child([mode, str(dest), str(len(files))], go)
        res["cpu"] = cpu
        return res
    finally:
        shutil.rmtree(dest, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--src", type=Path, default=HERE / "data" / "burst-src-10k")
    ap.add_argument("--mode", choices=("cli", "app", "both"), default="both")
    ap.add_argument("--no-load", action="store_true", help="skip the initial-load reference")
    ap.add_argument("--json", help="also write results here")
    args = ap.parse_args()
    src = args.src.resolve()
    files = trail_files(src)
    if not files:
        ap.error(f"no *.json.gz under {src} (see the docstring to make one)")
    from benchmarks.bench_app import code_version

    out: dict = {"code": code_version(), "src": str(src), "files": len(files)}
    print(f"{len(files):,} files from {src} (code {out['code']})")
    if not args.no_load:
        res, cpu = run_child(["load", str(src)])
        out["load"] = {**res, "cpu": cpu}
        print(
            f"initial load:        CPU {cpu:6.1f} s   wall {res['wall']:6.1f} s   "
            f"{res['events']:,} events from {res['files']:,} files"
        )
    for mode in ("cli", "app") if args.mode == "both" else (args.mode,):
        res = measure_follow(mode, src, files)
        out[mode] = res
        if "t0" not in res:
            print(f"burst, {mode}: the child gave no result (CPU {res['cpu']:.1f} s)")
            continue
        b = res.get("burst", {})
        # Wall: from the first link (parent clock) to the last file committed (child).
        # Both are CLOCK_MONOTONIC, shared by the processes of one machine.
        wall = res["t0"] + res["done_at"] - b["start"] if b else float("nan")
        label = {"cli": "query --follow", "app": "explorer"}[mode]
        print(
            f"burst, {label + ':':16s} CPU {res['cpu']:6.1f} s   wall {wall:6.1f} s   "
            f"{res['events']:,} events from {res['files']:,} files "
            f"(linking took {b.get('link_s', float('nan')):.1f} s)"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child_main(sys.argv[2:])
    else:
        main()
