"""The explorer's post-load analysis against another thread: how long it keeps the GIL.

    python benchmarks/bench_analysis.py [--events 1000000] [--switch 0.0002]
    python benchmarks/bench_analysis.py --stretches [--over MS] [--no-gate] [--gen0 N]
    python benchmarks/bench_analysis.py --keys [--no-gate]

Loads the trail (benchmarks/data/trail-N, generated on first use like bench_engine.py),
freezes the garbage collector as the explorer does once loaded, then runs what
tui/analysis.py runs in its worker (the detection rules' sync, then the credential
index's catch_up) in a thread, while the main thread sleeps 0.5 ms in a loop and
records how late each sleep ends: the time it waited for the GIL, as the UI thread
waits between keys and after each numpy call of a key. `--switch` sets the GIL switch
interval during the run (the explorer's worker sets tui.analysis.SWITCH_INTERVAL_S;
0 leaves CPython's 5 ms). Prints the analysis's wall time by part, its CPU (the
thread's and the process's), the lateness percentiles and the count of waits over 15
and 50 ms, with the analysis's stack at the longest.

The run is given an open pause gate, as the app's worker is (tui/core/pause.py: keys
close it), so the checkpoints' cost is in its wall time; `--no-gate` runs it without
one. `--stretches` notes each thread's CPU time between checkpoints and lists the
stretches over `--over` ms (20) by where they begin and end: how long a closed gate
can take to hold the analysis. The garbage collections during the analysis are counted by
generation with their durations; `--gen0 N` sets the young-generation threshold for
the run (the explorer's while it runs: tui.analysis.ANALYSIS_YOUNG_THRESHOLD; between
runs: tui.policies.GcPolicy, 50,000).

`--keys`: instead of the sleeper, the main thread presses "keys" while the analysis
runs, one every 0.2 s: it closes the gate (as the app does on a key), computes a real
view (tui/core/view.compute_view, filters in turn, facets included; each computed once
before the run, as the explorer has drawn its first view by then) and runs 10 ms of
Python (a stand-in for Textual's layout and render), then waits PAUSE_GRACE_S and
opens the gate. Printed: each key's wall time, and the CPU the other threads (the
analysis, its search threads, the view pool) used during it.
"""

from __future__ import annotations

import argparse
import gc
import resource
import sys
import threading
import time
import traceback
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


KEY_FILTERS = (
    "service:s3.amazonaws.com",
    "region:us-east-1",
    'cred:role-session -error:"" region:us-east-1',
    "event:Describe*",
)


def warm_views(store) -> None:
    """Each key's view once, before the run: the explorer has drawn its first view by
    the time the analysis starts (the first compute at 10M builds what views share)."""
    from tui.core.query import parse
    from tui.core.view import compute_view

    t0 = time.perf_counter()
    for text in KEY_FILTERS:
        compute_view(store, parse(text), ("service", "principal"))
    print(
        f"the keys' views computed once before the run: {(time.perf_counter() - t0) * 1000:.0f} ms"
    )


def press_keys(store, worker: threading.Thread, gate) -> None:
    from tui.analysis import PAUSE_GRACE_S
    from tui.core.query import parse
    from tui.core.view import compute_view

    keys: list[tuple[float, float, bool, str]] = []  # (wall ms, others' CPU ms, analysing, where)
    i = 0
    worker.start()
    while worker.is_alive():
        time.sleep(0.2)
        t0, c0, m0 = time.perf_counter(), time.process_time(), time.thread_time()
        if gate is not None:
            gate.close()
        at = ""
        frame = sys._current_frames().get(worker.ident or 0)
        while frame is not None and not at:
            if "tui" in Path(frame.f_code.co_filename).parts:
                at = f"{Path(frame.f_code.co_filename).name}:{frame.f_lineno}"
            frame = frame.f_back
        compute_view(store, parse(KEY_FILTERS[i % len(KEY_FILTERS)]), ("service", "principal"))
        end = time.perf_counter() + 0.010
        n = 0
        while time.perf_counter() < end:  # Textual's share of a key, in Python
            n += len({k: k for k in range(50)})
        wall = (time.perf_counter() - t0) * 1000
        others = (time.process_time() - c0 - (time.thread_time() - m0)) * 1000
        keys.append((wall, others, worker.is_alive(), f"#{i} at {at}"))
        time.sleep(PAUSE_GRACE_S)
        if gate is not None:
            gate.open()
        i += 1
    during = sorted(k for k in keys if k[2])
    if not during:
        print("keys: none during the analysis")
        return
    walls = sorted(k[0] for k in during)
    others = sorted(k[1] for k in during)

    def q(xs: list[float], p: float) -> float:
        return xs[min(len(xs) - 1, int(p * len(xs)))]

    print(
        f"keys during the analysis ({len(during)}; {'gate closed' if gate else 'no gate'}):"
        f" wall p50 {q(walls, 0.5):.1f} p95 {q(walls, 0.95):.1f} max {walls[-1]:.1f} ms;"
        f" other threads' CPU meanwhile p50 {q(others, 0.5):.1f} p95 {q(others, 0.95):.1f}"
        f" max {others[-1]:.1f} ms"
    )
    for wall, other, _, at in during[-5:]:
        print(f"  {wall:6.1f} ms (others {other:5.1f}), key {at} when pressed")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--switch", type=float, default=None, help="seconds; default: the app's")
    ap.add_argument("--data-dir", default=str(HERE / "data"))
    ap.add_argument("--no-gate", action="store_true", help="run without a pause gate")
    ap.add_argument("--stretches", action="store_true", help="CPU between checkpoints")
    ap.add_argument("--over", type=float, default=20.0, help="--stretches: list those over MS")
    ap.add_argument("--gen0", type=int, default=None, help="young threshold during the run")
    ap.add_argument("--keys", action="store_true", help="time keys pressed during the run")
    args = ap.parse_args()
    from benchmarks.bench_engine import ensure_data
    from tui.analysis import ANALYSIS_YOUNG_THRESHOLD, SWITCH_INTERVAL_S
    from tui.core.credentials import credentials_of
    from tui.core.detect import Detections, detections_of
    from tui.core.detect.config import rule_set
    from tui.core.discovery import discover
    from tui.core.loader import load
    from tui.core.pause import PauseGate

    path = ensure_data(args.events, Path(args.data_dir))
    t = time.perf_counter()
    store = load(sorted(f.path for f in discover([str(path)]).files))
    print(f"{len(store):,} events loaded in {time.perf_counter() - t:.1f} s")
    Detections(store, rule_set(use_config=False).rules)
    gc.collect()
    gc.freeze()
    young = ANALYSIS_YOUNG_THRESHOLD if args.gen0 is None else args.gen0
    gc.set_threshold(young, 20, 20)  # as the explorer's worker sets it, or --gen0
    stretches: list[tuple[float, str, str]] = []
    last: dict[int, tuple[float, str]] = {}

    class NotingGate(PauseGate):
        def checkpoint(self) -> bool:
            t = time.thread_time()
            f = sys._getframe(2)
            here = f"{Path(f.f_code.co_filename).name}:{f.f_lineno}"
            tid = threading.get_ident()
            if tid in last:
                stretches.append((t - last[tid][0], last[tid][1], here))
            last[tid] = (t, here)
            return super().checkpoint()

    gate = None if args.no_gate else NotingGate() if args.stretches else PauseGate()
    collections: list[tuple[int, float, float]] = []  # (generation, wall ms, CPU ms)
    gc_t0 = [0.0, 0.0]

    def on_gc(phase: str, info: dict) -> None:
        # A collection runs in the thread that tripped it, holding the GIL throughout.
        if phase == "start":
            gc_t0[:] = time.perf_counter(), time.thread_time()
        else:
            wall = (time.perf_counter() - gc_t0[0]) * 1000
            collections.append((info["generation"], wall, (time.thread_time() - gc_t0[1]) * 1000))

    switch = SWITCH_INTERVAL_S if args.switch is None else args.switch
    if switch:
        sys.setswitchinterval(switch)
    res: dict[str, float] = {}
    det_seconds: dict[str, float] = {}

    def analyse() -> None:
        t0, c0 = time.perf_counter(), time.thread_time()
        det = detections_of(store)
        assert det is not None
        det.sync(gate)
        det_seconds.update(det.seconds)
        t1 = time.perf_counter()
        credentials_of(store).catch_up(gate)
        res.update(rules=t1 - t0, credentials=time.perf_counter() - t1, cpu=time.thread_time() - c0)

    if args.keys:
        warm_views(store)
    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    gc.callbacks.append(on_gc)
    worker = threading.Thread(target=analyse)
    late: list[float] = []
    where: Counter[str] = Counter()
    if args.keys:
        press_keys(store, worker, gate)
    else:
        worker.start()
    while worker.is_alive() and not args.keys:
        t = time.perf_counter()
        time.sleep(0.0005)
        ms = (time.perf_counter() - t - 0.0005) * 1000
        late.append(ms)
        frame = sys._current_frames().get(worker.ident or 0)
        if ms > 50 and frame is not None:
            stack = list(traceback.walk_stack(frame))[:3]
            where[" < ".join(f"{Path(f.f_code.co_filename).name}:{n}" for f, n in stack)] += 1
    worker.join()
    gc.callbacks.remove(on_gc)
    ru1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = ru1.ru_utime + ru1.ru_stime - ru0.ru_utime - ru0.ru_stime
    if not late:
        late.append(0.0)
    late.sort()

    def q(p: float) -> float:
        return late[min(len(late) - 1, int(p * len(late)))]

    print(
        f"analysis: rules {res['rules']:.2f} s + credentials {res['credentials']:.2f} s wall; "
        f"CPU {res['cpu']:.2f} s its thread, {cpu:.2f} s the process "
        f"(switch interval {switch * 1000:g} ms; "
        f"{'no pause gate' if gate is None else 'an open pause gate'})"
    )
    print(
        f"GIL wait of a 0.5 ms sleeper, ms: p50 {q(0.5):.2f} p95 {q(0.95):.2f} "
        f"p99 {q(0.99):.1f} max {late[-1]:.1f} ({len(late):,} sleeps; "
        f"{sum(x > 15 for x in late)} over 15 ms, {sum(x > 50 for x in late)} over 50 ms)"
    )
    for w, n in where.most_common(5):
        print(f"  analysis at {w} after a wait over 50 ms ({n}x)")
    by_gen: dict[int, list[tuple[float, float]]] = {}
    for g, wall, cpu_ms in collections:
        by_gen.setdefault(g, []).append((wall, cpu_ms))
    print(
        f"garbage collections during it (young threshold {young:,}; wall / CPU ms): "
        + (
            "; ".join(
                f"gen{g} {len(v)}x, max {max(w for w, _ in v):.1f} / {max(c for _, c in v):.1f},"
                f" {sum(w for w, _ in v):.0f} / {sum(c for _, c in v):.0f} in all"
                for g, v in sorted(by_gen.items())
            )
            or "none"
        )
    )
    slowest = sorted(det_seconds.items(), key=lambda kv: -kv[1])[:6]
    print("slowest rules, s: " + ", ".join(f"{k} {v:.2f}" for k, v in slowest))
    if stretches:
        over = args.over / 1000
        long = sum(d > over for d, _, _ in stretches)
        print(
            f"CPU between checkpoints, per thread: {len(stretches):,} stretches, {long} over"
            f" {args.over:g} ms (longest {max(d for d, _, _ in stretches) * 1000:.1f} ms);"
            " those, by where they begin and end (count, longest, sum):"
        )
        sites: dict[tuple[str, str], list[float]] = {}
        for d, a, b in stretches:
            if d > over:
                sites.setdefault((a, b), []).append(d * 1000)
        for (a, b), ds in sorted(sites.items(), key=lambda kv: -max(kv[1])):
            print(f"  {len(ds):4}x {max(ds):7.1f} ms {sum(ds):8.1f} ms  {a} -> {b}")


if __name__ == "__main__":
    main()
