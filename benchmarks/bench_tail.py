"""Live tail benchmark: file landed -> events queryable, sustained rate, no loss.

    python benchmarks/bench_tail.py [--rate 5000] [--seconds 60] [--per-file 500]
    python benchmarks/bench_tail.py --app [--rate 5000] [--seconds 60] [--per-file 500]
    python benchmarks/bench_tail.py --clear-after-commit --preload TRAIL [--rounds 12]

A writer process lands CloudTrail files in a fresh trail folder
(benchmarks/data/tail-*, removed afterwards) at a steady rate: `rate / per_file` files
a second, each written by `gen_trail.write_file` under a temporary name and renamed,
like `aws s3 sync`. For each file it records the time just after the rename
(`time.time()`; the rename is write_file's last step).

Default mode: the follower is the CLI's own `trailscope query DIR --follow` code path
-- `load()` of the (empty) folder, then `tui.cli.follow_query` (a `Store`, a
`TailTracker` and `follow()` in an asyncio loop, printing each new event as a table
row; stdout is swapped for a sink that counts lines). The store's `commit` is wrapped
on the instance to record, for every file in the commit, `time.time()` right after it
returns: from then on the file's events are queryable. Latency = that time - rename
time. Reported: median/p95/max, per 10-second window of rename time (to show whether
it grows), events written vs loaded, files lost or loaded twice, store duplicates,
lines printed, the follower's CPU. The run ends when the writer is done and every
file it wrote was loaded (or 30 s later), with SIGTERM, which follow_query handles
like Ctrl-C.

--app: instead the real `TrailscopeApp([dir], watch=True)` runs headless
(`run_test(size=(160, 50))`) while the writer writes, and keys are sent every 50 ms:
`j` x20, `k` x20, then `/`, a filter typed one character at a time and `enter` (an
indexed filter, alternating), over and over -- open loop, like a held key: a key is
not held back because the previous one is still being handled. Keypress latency is
measured as in bench_app.py ("direct"): every frame is time-stamped and a key's latency
ends with the first frame in which its effect is in the app state and drawn (list
keys: the list, and separately the detail pane; filter apply: the list; typing: the
input). Pilot's press/pause cannot be used here: they wait for the process's CPU to go
idle, which it never does while files are being parsed, so they would time Pilot, not
the app. A list key is matched to its handling through a counter (the list's cursor
actions are wrapped on the instance) because arriving events shift the cursor's index,
and to the detail pane through the row it put the cursor on (`DetailPane.show`
wrapped); presses that could not move the cursor (k at the top) are left out. "key
handled" is the time from sending a list key to its action running: how long it
queued behind other work on the UI thread. The app's own tail latency is also printed:
rename -> committed (`store.commit`, wrapped) and rename -> on screen (the first frame
whose view includes that commit and whose list is drawn).

Targets (from the issue): median <= 500 ms from file landing to queryable; 5,000
events/s sustained with no loss and no growth in latency; keypresses <= 50 ms p95
while files stream in. A script, not a test: the machine is noisy.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import queue as queue_mod
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

APP_FILTERS = ("service:s3.amazonaws.com", "region:us-east-1")
KEY_INTERVAL_S = 0.05
DRAIN_TIMEOUT_S = 30.0
WINDOW_S = 10.0


# ---------------------------------------------------------------------- writer
def writer_main(
    root: str, rate: float, seconds: float, per_file: int, seed: int, ready, go, out
) -> None:
    """Child process: land files at a steady rate; report (name, renamed_at, events)."""
    from datetime import UTC, datetime

    from benchmarks.gen_trail import ACCOUNTS, REGIONS, write_file

    scratch = tempfile.mkdtemp(prefix="trailscope-warmup-")
    try:  # build the generator's tables before the clock starts
        write_file(scratch, ACCOUNTS[0][0], REGIONS[0], datetime.now(UTC), per_file, seed - 1)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    ready.set()
    go.wait()
    n_files = max(1, round(rate * seconds / per_file))
    interval = per_file / rate
    start = time.monotonic()
    out.put(("start", time.time()))
    for i in range(n_files):
        due = start + i * interval
        wait = due - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        lag = time.monotonic() - due
        account = ACCOUNTS[i % len(ACCOUNTS)][0]
        region = REGIONS[(i // len(ACCOUNTS)) % len(REGIONS)]
        path = write_file(root, account, region, datetime.now(UTC), per_file, seed * 1_000_000 + i)
        out.put(("file", path.name, time.time(), per_file, lag))
    out.put(("end", time.time()))


class Writer:
    """Starts the writer process and collects what it reports (in a thread)."""

    def __init__(self, root: Path, args) -> None:
        ctx = mp.get_context("spawn")
        self.ready, self.go = ctx.Event(), ctx.Event()
        self.q = ctx.Queue()
        self.proc = ctx.Process(
            target=writer_main,
            args=(
                str(root),
                args.rate,
                args.seconds,
                args.per_file,
                args.seed,
                self.ready,
                self.go,
                self.q,
            ),
            daemon=True,
        )
        self.rate = args.rate
        self.files: dict[str, tuple[float, int, float]] = {}  # name -> (renamed, n, lag)
        self.t_start: float | None = None
        self.t_end: float | None = None
        self.done = threading.Event()
        self._thread = threading.Thread(target=self._collect, daemon=True)

    def start(self) -> None:
        self.proc.start()
        self._thread.start()
        if not self.ready.wait(120):
            raise SystemExit("the writer process did not start")

    def _collect(self) -> None:
        while True:
            try:
                msg = self.q.get(timeout=1.0)
            except queue_mod.Empty:
                if not self.proc.is_alive():
                    self.done.set()
                    return
                continue
            if msg[0] == "start":
                self.t_start = msg[1]
            elif msg[0] == "file":
                self.files[msg[1]] = (msg[2], msg[3], msg[4])
            elif msg[0] == "end":
                self.t_end = msg[1]
                self.done.set()
                return

    def join(self) -> None:
        self.proc.join(10)
        if self.proc.is_alive():
            self.proc.terminate()

    def summary(self) -> dict:
        events = sum(n for _, n, _ in self.files.values())
        last = max((t for t, _, _ in self.files.values()), default=self.t_start or 0.0)
        # Each file stands for one interval of the schedule: n files take n intervals.
        interval = max(n for _, n, _ in self.files.values()) / self.rate if self.files else 0.0
        span = last - (self.t_start or last) + interval
        lags = [lag for _, _, lag in self.files.values()]
        return {
            "files": len(self.files),
            "events": events,
            "seconds": span,
            "events_per_s": events / span if span > 0 else 0.0,
            "max_schedule_lag_ms": max(lags) * 1000 if lags else 0.0,
        }


# ------------------------------------------------------------------ statistics
def pct(xs: list[float], q: float) -> float:
    from benchmarks.bench_app import pct as _pct

    return _pct(xs, q)


def dist(xs: list[float]) -> dict | None:
    if not xs:
        return None
    return {"n": len(xs), "p50": statistics.median(xs), "p95": pct(xs, 0.95), "max": max(xs)}


def fmt(d: dict | None, unit: str = "ms") -> str:
    if d is None:
        return "(none)"
    return (
        f"p50 {d['p50']:7.1f} {unit}   p95 {d['p95']:7.1f} {unit}   max {d['max']:7.1f} {unit}"
        f"   (n={d['n']:,})"
    )


def windows(points: list[tuple[float, float]], t0: float) -> list[dict]:
    """points: (time, value) -> per WINDOW_S window of time since t0: n, p50, p95, max."""
    out: dict[int, list[float]] = {}
    for t, v in points:
        out.setdefault(int((t - t0) // WINDOW_S), []).append(v)
    return [{"window": k, **dist(v)} for k, v in sorted(out.items())]


def print_windows(rows: list[dict], label: str) -> None:
    print(f"  per {WINDOW_S:.0f} s window of {label}:")
    for r in rows:
        a = r["window"] * WINDOW_S
        print(
            f"    {a:4.0f}-{a + WINDOW_S:<4.0f}s  n {r['n']:5,}   p50 {r['p50']:7.1f}   "
            f"p95 {r['p95']:7.1f}   max {r['max']:7.1f} ms"
        )


def growth_verdict(rows: list[dict]) -> tuple[bool, str]:
    """No growth: the last full window's median is within max(50 ms, 50%) of the first's."""
    full = [r for r in rows if r["n"] >= 3]
    if len(full) < 2:
        return True, "too few windows to tell"
    first, last = full[0]["p50"], full[-1]["p50"]
    ok = last <= first + max(50.0, 0.5 * first)
    return ok, (
        f"first window p50 {first:.1f} ms, last window p50 {last:.1f} ms "
        f"(rule: last <= first + max(50 ms, 50%))"
    )


def check_loss(written: dict, loaded: dict[str, list]) -> dict:
    lost = sorted(set(written) - set(loaded))
    twice = sorted(n for n, loads in loaded.items() if len(loads) > 1)
    unknown = sorted(set(loaded) - set(written))
    return {"lost_files": lost, "loaded_twice": twice, "unexpected_files": unknown}


# -------------------------------------------------------------- follower (CLI)
class Sink:
    """Stands in for stdout: counts the lines the follower prints."""

    def __init__(self) -> None:
        self.lines = 0
        self.buffer = self  # jsonl writes bytes to .buffer

    def write(self, s) -> int:
        self.lines += s.count(b"\n" if isinstance(s, bytes) else "\n")
        return len(s)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


def run_follow(args, root: Path) -> dict:
    from tui.cli import follow_query
    from tui.core.loader import load
    from tui.core.query import parse
    from tui.core.reader import DEFAULT_MAX_BYTES

    q = parse(args.filter)
    store = load([str(root)])  # what `trailscope query DIR --follow` does first
    loaded: dict[str, list[tuple[float, int]]] = {}
    original_commit = store.commit

    def commit():
        pending = [(os.path.basename(b.path), b.n) for b in store.pending]
        res = original_commit()
        now = time.time()
        for name, n in pending:
            loaded.setdefault(name, []).append((now, n))
        return res

    store.commit = commit  # follow_query calls store.commit() after adding each batch
    ns = argparse.Namespace(
        fmt=args.format, limit=None, poll=False, rescan=args.rescan, max_file_size=DEFAULT_MAX_BYTES
    )
    writer = Writer(root, args)
    writer.start()
    drain: dict[str, float | None] = {"s": None}

    def conductor() -> None:
        # Start writing once follow_query's loop is up (its SIGTERM handler installed)
        # and the watcher has had a moment to start; stop it when everything landed.
        while signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
            time.sleep(0.01)
        time.sleep(1.0)
        writer.go.set()
        writer.done.wait()
        end = time.time() + DRAIN_TIMEOUT_S
        while time.time() < end and not set(writer.files) <= set(loaded):
            time.sleep(0.01)
        if set(writer.files) <= set(loaded) and writer.t_end is not None:
            drain["s"] = max(t for loads in loaded.values() for t, _ in loads) - writer.t_end
        os.kill(os.getpid(), signal.SIGTERM)

    sink = Sink()
    cpu0, wall0 = time.process_time(), time.time()
    threading.Thread(target=conductor, daemon=True).start()
    saved = sys.stdout
    sys.stdout = sink
    try:
        follow_query(store, q, [str(root)], ns)
    finally:
        sys.stdout = saved
    cpu, wall = time.process_time() - cpu0, time.time() - wall0
    writer.join()

    w = writer.summary()
    lat = [
        (writer.files[n][0], (loads[0][0] - writer.files[n][0]) * 1000)
        for n, loads in loaded.items()
        if n in writer.files
    ]
    loss = check_loss(writer.files, loaded)
    first_load = min((loads[0][0] for loads in loaded.values()), default=None)
    last_load = max((loads[-1][0] for loads in loaded.values()), default=None)
    return {
        "mode": "follow",
        "writer": w,
        "events_loaded": len(store),
        "files_loaded": len(loaded),
        **loss,
        "store_duplicates": store.duplicates,
        "store_conflicts": store.conflicts,
        "lines_printed": sink.lines,
        "latency_ms": dist([v for _, v in lat]),
        "windows": windows(lat, writer.t_start or 0.0),
        "drain_s": drain["s"],
        "load_rate_events_per_s": (
            len(store) / (last_load - first_load)
            if first_load and last_load and last_load > first_load
            else None
        ),
        "follower_cpu_fraction": cpu / wall if wall > 0 else None,
    }


def report_follow(r: dict, args) -> None:
    w = r["writer"]
    print(
        f"\n== live tail: `trailscope query DIR --follow` code path (format {args.format}), "
        f"target {args.rate:,.0f} events/s for {args.seconds:.0f} s, {args.per_file} events/file; "
        f"code {r['code']} =="
    )
    print(
        f"writer: {w['files']:,} files, {w['events']:,} events in {w['seconds']:.1f} s "
        f"-> {w['events_per_s']:,.0f} events/s (schedule lag max {w['max_schedule_lag_ms']:.0f} ms)"
    )
    drain = "not drained" if r["drain_s"] is None else f"{r['drain_s']:.2f} s"
    print(
        f"follower: {r['events_loaded']:,} events queryable from {r['files_loaded']:,} files; "
        f"lost files {len(r['lost_files'])}, loaded twice {len(r['loaded_twice'])}, "
        f"store duplicates {r['store_duplicates']}, lines printed {r['lines_printed']:,}"
    )
    lr = r["load_rate_events_per_s"]
    print(
        f"          last file queryable {drain} after the last rename; "
        f"{'-' if lr is None else f'{lr:,.0f}'} events/s loaded; "
        f"follower CPU {r['follower_cpu_fraction'] * 100:.0f}% of one core"
    )
    print(f"latency rename -> queryable (after store.commit): {fmt(r['latency_ms'])}")
    print_windows(r["windows"], "rename time")
    lat = r["latency_ms"]
    no_loss = (
        not r["lost_files"]
        and not r["loaded_twice"]
        and not r["unexpected_files"]
        and r["events_loaded"] == w["events"]
        and r["store_duplicates"] == 0
    )
    rate_ok = w["events_per_s"] >= 0.98 * args.rate
    grow_ok, grow_txt = growth_verdict(r["windows"])
    print("\ntargets:")
    print(
        f"  median latency <= 500 ms: {lat['p50']:.1f} ms -> {'met' if lat['p50'] <= 500 else 'NOT met'}"
        if lat
        else "  median latency: no data"
    )
    print(
        f"  {args.rate:,.0f} events/s sustained with no loss: written {w['events']:,} at "
        f"{w['events_per_s']:,.0f}/s, queryable {r['events_loaded']:,}, lost "
        f"{len(r['lost_files'])} files, duplicates {len(r['loaded_twice'])} files -> "
        f"{'met' if no_loss and rate_ok and r['drain_s'] is not None else 'NOT met'}"
    )
    print(f"  no growth in latency: {grow_txt} -> {'met' if grow_ok else 'NOT met'}")


# ------------------------------------------------------------------ app mode
async def run_app_async(args, root: Path) -> dict:
    from benchmarks.bench_app import FrameClock, send_key, start_resource_tracker, wait_until
    from tui.app import TrailscopeApp
    from widgets.detail import DetailPane

    perf = time.perf_counter
    start_resource_tracker()
    # --preload: a trail already open when the files start landing (the usual incident).
    app = TrailscopeApp([str(root), *args.preload], watch=True, detect=not args.no_detect)
    clock = FrameClock(app)
    committed: dict[str, list[tuple[float, int]]] = {}  # name -> [(time.time(), generation)]
    visible: dict[str, float] = {}
    awaiting: list[tuple[int, str]] = []  # (generation, name) committed, not yet on screen
    original_commit = app.store.commit

    def commit():
        pending = [os.path.basename(b.path) for b in app.store.pending]
        res = original_commit()
        now = time.time()
        gen = app.store.generation
        for name in pending:
            committed.setdefault(name, []).append((now, gen))
            awaiting.append((gen, name))
        return res

    app.store.commit = commit
    writer = Writer(root, args)
    writer.start()
    probes: list[tuple[str, float, object]] = []  # (kind, wall time sent, probe)
    handled: list[bool] = []  # per list key handled: did the cursor move
    handled_at: list[float] = []  # perf_counter when each list key's action ran
    row_press: dict[int, int] = {}  # store row -> last list key (1-based) that put the cursor there
    detail_seq = [0]  # highest list key whose row the detail pane has been asked to show

    async with app.run_test(size=(160, 50)):
        lst = app.events_list
        detail = app.query_one(DetailPane)
        inp = app.filter_input

        def on_frame(now: float) -> None:
            v = app.view
            if v is None or not awaiting or not clock.clean([lst]):
                return
            if getattr(lst, "sorting", False):  # --sort: the new rows' order not yet shown
                return
            t = time.time()
            keep = []
            for gen, name in awaiting:
                if gen <= v.generation:
                    visible.setdefault(name, t)
                else:
                    keep.append((gen, name))
            awaiting[:] = keep

        clock.on_frame.append(on_frame)
        for name in ("action_cursor_down", "action_cursor_up"):
            original = getattr(lst, name)

            def wrapped(_original=original) -> None:
                before = lst.cursor_row
                _original()
                handled.append(lst.cursor_row != before)
                handled_at.append(perf())
                if lst.cursor_row is not None:
                    row_press[lst.cursor_row] = len(handled)

            setattr(lst, name, wrapped)
        show = detail.show

        def show_wrapped(row, *a, **kw):
            show(row, *a, **kw)
            k = row_press.get(row)
            if k is not None and k > detail_seq[0]:
                detail_seq[0] = k

        detail.show = show_wrapped  # the app calls query_one(DetailPane).show(row)
        if not await wait_until(lambda: app.tailing and not app.loading, 120):
            raise SystemExit("the explorer did not start tailing")
        inp.cursor_blink = False
        if args.sort:
            from tui.core.sorting import SortKey

            lst.set_sort(SortKey(args.sort))
            if not await wait_until(lambda: not getattr(lst, "sorting", False), 60):
                raise SystemExit("the list did not sort")
        await asyncio.sleep(1.0)  # let the watcher start
        writer.go.set()
        if not await wait_until(lambda: len(lst.rows) >= 100, 60):
            raise SystemExit("no events reached the list")
        t_keys = perf()
        t_stop = t_keys + max(1.0, args.seconds - 1.0)
        due = t_keys
        list_sent = 0
        cycle = 0

        async def send(kind: str, key: str, ready, widgets, extra=None) -> None:
            nonlocal due
            await asyncio.sleep(max(0.0, due - perf()))
            t0 = perf()
            probe = clock.probe(t0, ready, widgets, label=kind, track_all=False)
            if extra is not None:
                probes.append(
                    (
                        extra[0],
                        time.time(),
                        clock.probe(t0, extra[1], extra[2], label=extra[0], track_all=False),
                    )
                )
            send_key(app, key)
            probes.append((kind, time.time(), probe))
            due = max(due, t0) + KEY_INTERVAL_S

        while perf() < t_stop:
            # list moves: j x20 then k x20, with the list focused
            await wait_until(lambda: lst.has_focus, 10)
            for key in ["j"] * 20 + ["k"] * 20:
                if perf() >= t_stop:
                    break
                list_sent += 1
                k = list_sent
                # Two probes per key: the list drawn with the cursor moved by this key
                # (or a later one), and the detail pane showing this key's row (or a later
                # key's): held keys overlap, so "detail row == cursor row" may never hold.
                await send(
                    "list j/k: detail pane",
                    key,
                    lambda k=k: detail_seq[0] >= k,
                    lambda: (detail,),
                    extra=("list j/k: list", lambda k=k: len(handled) >= k, lambda: (lst,)),
                )
            if perf() >= t_stop:
                break
            text = APP_FILTERS[cycle % len(APP_FILTERS)]
            cycle += 1
            await send("focus filter (/)", "slash", lambda: inp.has_focus, lambda: (inp,))
            await wait_until(lambda: inp.has_focus, 10)
            typed = ""
            for ch in text:
                typed += ch
                await send(
                    "filter typing (1 char)",
                    ch,
                    lambda t=typed: inp.value[: len(t)] == t and len(inp.value) >= len(t),
                    lambda: (inp,),
                )
            await wait_until(lambda text=text: inp.value == text, 10)
            seq0 = app.views.seq

            def applied(text=text, seq0=seq0) -> bool:
                v = app.view
                return v is not None and v.seq > seq0 and v.query.text == text

            await send("filter apply (enter)", "enter", applied, lambda: (lst,))
        keys_s = perf() - t_keys
        # Let the writer finish and the app take in every file.
        while not writer.done.is_set():
            await asyncio.sleep(0.1)
        end = time.time() + DRAIN_TIMEOUT_S
        while time.time() < end and not (set(writer.files) <= set(visible)):
            await asyncio.sleep(0.05)
        drained = set(writer.files) <= set(visible)
        drain_s = (max(visible.values()) - writer.t_end) if drained and writer.t_end else None
        await wait_until(lambda: all(p.t_frame is not None for _, _, p in probes), 2.0)
        events_loaded = len(app.store)
        dups = app.store.duplicates
    writer.join()

    w = writer.summary()
    kinds: dict[str, list[tuple[float, float]]] = {}
    unresolved: dict[str, int] = {}
    no_move = 0
    list_i = 0
    for kind, sent_at, p in probes:
        if kind.startswith("list j/k"):
            if kind == "list j/k: list":
                list_i += 1
            if list_i <= len(handled) and not handled[list_i - 1]:
                no_move += kind == "list j/k: list"
                continue
            if kind == "list j/k: list" and list_i <= len(handled_at):
                # Queueing before the key is acted on (the UI thread was busy).
                kinds.setdefault("list j/k: key handled", []).append(
                    (sent_at, (handled_at[list_i - 1] - p.t0) * 1000)
                )
        if p.ms is None:
            unresolved[kind] = unresolved.get(kind, 0) + 1
        else:
            kinds.setdefault(kind, []).append((sent_at, p.ms))
    commit_lat = [
        (writer.files[n][0], (c[0][0] - writer.files[n][0]) * 1000)
        for n, c in committed.items()
        if n in writer.files
    ]
    vis_lat = [
        (writer.files[n][0], (t - writer.files[n][0]) * 1000)
        for n, t in visible.items()
        if n in writer.files
    ]
    loss = check_loss(writer.files, committed)
    from benchmarks.bench_app import detail_delay

    return {
        "mode": "app",
        "detail_delay_s": detail_delay(),
        "writer": w,
        "events_loaded": events_loaded,
        "files_loaded": len(committed),
        **loss,
        "store_duplicates": dups,
        "commit_latency_ms": dist([v for _, v in commit_lat]),
        "visible_latency_ms": dist([v for _, v in vis_lat]),
        "visible_windows": windows(vis_lat, writer.t_start or 0.0),
        "drain_s": drain_s,
        "keys_seconds": keys_s,
        "keys": {k: dist([v for _, v in xs]) for k, xs in kinds.items()},
        # Every sample (ms, in send order): a 60 s run sends 18 filter applies, so its
        # p95 is its slowest one; runs' samples can be pooled (see --pool).
        "key_samples": {k: [v for _, v in xs] for k, xs in kinds.items()},
        "list_windows": windows(kinds.get("list j/k: list", []), writer.t_start or 0.0),
        "list_no_move": no_move,
        "unresolved": unresolved,
        # Each run of the detection rules and the credential index (a worker thread,
        # after a commit; tui/analysis.py): keys go on, commits wait for it.
        "analysis_ms": dist([s * 1000 for s in app.analysis_runs]),
    }


def report_app(r: dict, args) -> None:
    w = r["writer"]
    print(
        f"\n== live tail in the explorer: TrailscopeApp(watch=True), headless 160x50, "
        f"target {args.rate:,.0f} events/s for {args.seconds:.0f} s, {args.per_file} events/file; "
        f"code {r['code']} =="
    )
    if args.preload:
        print(f"opened on top of: {', '.join(args.preload)}")
    if args.sort:
        print(f"the list sorted by {args.sort} throughout")
    print(
        f"writer: {w['files']:,} files, {w['events']:,} events in {w['seconds']:.1f} s "
        f"-> {w['events_per_s']:,.0f} events/s (schedule lag max {w['max_schedule_lag_ms']:.0f} ms)"
    )
    drain = "NOT drained" if r["drain_s"] is None else f"{r['drain_s']:.2f} s"
    print(
        f"app: {r['events_loaded']:,} events from {r['files_loaded']:,} files; lost files "
        f"{len(r['lost_files'])}, loaded twice {len(r['loaded_twice'])}, store duplicates "
        f"{r['store_duplicates']}; last file on screen {drain} after the last rename"
    )
    print(
        f"tail latency in the app, rename -> committed (4 Hz pump): {fmt(r['commit_latency_ms'])}"
    )
    print(
        f"                         rename -> on screen:             {fmt(r['visible_latency_ms'])}"
    )
    if r.get("analysis_ms"):
        print(f"detection rules + credential index per commit (worker): {fmt(r['analysis_ms'])}")
    print_windows(r["visible_windows"], "rename time (rename -> on screen)")
    print(
        f"\nkeypress -> frame while files stream in (a key every {KEY_INTERVAL_S * 1000:.0f} ms "
        f"for {r['keys_seconds']:.0f} s):"
    )
    order = ["list j/k: key handled", "list j/k: list", "list j/k: detail pane"]
    for k in order + [k for k in r["keys"] if k not in order]:
        if k in r["keys"]:
            print(f"  {k:24s} {fmt(r['keys'][k])}")
    print(
        "  (key handled: from sending the key to the list's cursor action running -- time the"
        " key waited\n   behind other work on the UI thread; list / detail pane: to the frame"
        " showing it)"
    )
    print(
        f"  ({r['list_no_move']} list presses could not move the cursor and are left out; "
        f"unresolved within 2 s after the run: {r['unresolved'] or 'none'})"
    )
    print_windows(r["list_windows"], "send time (list j/k: list)")
    delay = r.get("detail_delay_s")
    if delay:
        print(
            f"  (the app moves the detail pane only once the list cursor has rested "
            f"DETAIL_DELAY = {delay * 1000:.0f} ms,\n   so while keys come every "
            f"{KEY_INTERVAL_S * 1000:.0f} ms it follows at the end of each burst, by design)"
        )
    skip = {"list j/k: key handled"} | ({"list j/k: detail pane"} if delay else set())
    frames = {k: d for k, d in r["keys"].items() if d and k not in skip}
    worst = max(((d["p95"], k) for k, d in frames.items()), default=None)
    if worst:
        print(
            f"\ntarget: keypress -> updated frame <= 50 ms p95 while loading"
            f"{' (detail pane excluded: deferred by design)' if delay else ''}: worst p95 "
            f"{worst[0]:.1f} ms [{worst[1]}] -> {'met' if worst[0] <= 50 else 'NOT met'}"
        )
        for k, d in frames.items():
            if d["p95"] > 50:
                print(f"  above 50 ms p95: {k}: {d['p95']:.1f} ms")


# ---------------------------------------------------------------------- main
def print_pooled(paths: list[str]) -> None:
    """Keypress latencies of several runs as one sample: a 60 s run has 18 filter
    applies, so its own p95 is one sample (its slowest); pooled runs give a p95 that is
    a percentile again."""
    pooled: dict[str, list[float]] = {}
    codes = []
    for path in paths:
        res = json.loads(Path(path).read_text())
        codes.append(res.get("code", "?"))
        for k, xs in res.get("key_samples", {}).items():
            pooled.setdefault(k, []).extend(xs)
    print(
        f"pooled keypress -> frame over {len(paths)} runs (code {', '.join(dict.fromkeys(codes))}):"
    )
    for k, xs in pooled.items():
        print(f"  {k:24s} {fmt(dist(xs))}")


def run_clear_after_commit(args, root: Path) -> None:
    """--clear-after-commit: headless, the engine's share of clearing the filter after
    a tail's commit. Loads the --preload trail, shows a filter's view, then per round
    lands one file of --per-file events (gen_trail.write_file into `root`), adds and
    commits it as the tail does, and times the unfiltered view with the facet panel's
    fields counted and their top 60 taken (`compute_view(store, "", ...)`, as the
    explorer's ctrl+x), then the same again (nothing committed since)."""
    import resource
    from datetime import UTC, datetime, timedelta

    from benchmarks.gen_trail import ACCOUNTS, REGIONS, write_file
    from tui.core.batch import parse_file
    from tui.core.loader import load
    from tui.core.query import parse
    from tui.core.view import compute_view, keep_big_buffers

    facets, top = ("service", "principal", "ip"), 60
    if len(args.preload) != 1:
        raise SystemExit("--clear-after-commit needs one --preload trail")
    t = time.perf_counter()
    store = load(args.preload)
    print(f"loaded {len(store):,} events in {time.perf_counter() - t:.1f} s")
    keep_big_buffers()  # as the explorer does once a trail is loaded
    compute_view(store, parse(""), facets, facet_top=top)
    when = datetime.now(UTC)

    def cpu() -> float:
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime

    first: list[float] = []
    first_cpu: list[float] = []
    again: list[float] = []
    commits: list[float] = []
    for i in range(args.rounds):
        compute_view(store, parse("service:s3.amazonaws.com"), facets, facet_top=top)
        path = write_file(
            root, ACCOUNTS[0][0], REGIONS[0], when + timedelta(minutes=5 * i), args.per_file, i
        )
        t = time.perf_counter()
        store.add(parse_file(str(path)))
        store.commit()
        commits.append((time.perf_counter() - t) * 1000)
        t, c = time.perf_counter(), cpu()
        compute_view(store, parse(""), facets, facet_top=top)
        first.append((time.perf_counter() - t) * 1000)
        first_cpu.append((cpu() - c) * 1000)
        t = time.perf_counter()
        compute_view(store, parse(""), facets, facet_top=top)
        again.append((time.perf_counter() - t) * 1000)
    print(
        f"{args.rounds} rounds of one {args.per_file}-event file onto {len(store):,} events,"
        f" facets {', '.join(facets)} (top {top}), ms:"
    )
    for label, xs in (
        ("add + commit", commits),
        ("clear filter after the commit", first),
        ("  its CPU", first_cpu),
        ("clear filter again", again),
    ):
        print(f"  {label:32s} {fmt(dist(xs))}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rate", type=float, default=5000.0, help="events per second")
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--per-file", type=int, default=500, help="events per file")
    ap.add_argument(
        "--app", action="store_true", help="run the explorer instead of the CLI follower"
    )
    ap.add_argument(
        "--no-detect",
        action="store_true",
        help="--app: without the detection rules (they run after each commit)",
    )
    ap.add_argument("--filter", default="", help="follower's filter (CLI mode)")
    ap.add_argument(
        "--sort",
        metavar="COLUMN",
        help="(--app) the list sorted by this column (e.g. principal) throughout; a file is"
        " on screen once the list shows the new rows in that order",
    )
    ap.add_argument(
        "--format",
        choices=("table", "jsonl", "csv"),
        default="table",
        help="what the CLI follower prints (to a counting sink)",
    )
    ap.add_argument(
        "--rescan", type=float, default=5.0, help="full rescan interval (CLI default 5)"
    )
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument(
        "--dir",
        help="trail folder to write into (default: a fresh "
        "benchmarks/data/tail-* folder, removed afterwards)",
    )
    ap.add_argument("--json", help="also write results here")
    ap.add_argument(
        "--preload",
        action="append",
        default=[],
        metavar="PATH",
        help="(--app) also open this trail first, e.g. benchmarks/data/trail-1000000",
    )
    ap.add_argument(
        "--clear-after-commit",
        action="store_true",
        help="headless: time clearing the filter after each commit of one file onto the"
        " --preload trail (see run_clear_after_commit)",
    )
    ap.add_argument("--rounds", type=int, default=12, help="--clear-after-commit: files committed")
    ap.add_argument(
        "--pool",
        nargs="+",
        metavar="JSON",
        help="print the keypress latencies of earlier --app runs (their --json "
        "files) pooled, per key, and exit",
    )
    args = ap.parse_args()
    if args.pool:
        print_pooled(args.pool)
        return
    if args.rate <= 0 or args.seconds <= 0 or args.per_file < 1:
        ap.error("--rate, --seconds and --per-file must be positive")
    if args.dir:
        root, cleanup = Path(args.dir), False
        root.mkdir(parents=True, exist_ok=True)
        if any(root.iterdir()):
            ap.error(f"{root} is not empty")
    else:
        (HERE / "data").mkdir(exist_ok=True)
        root, cleanup = Path(tempfile.mkdtemp(prefix="tail-", dir=HERE / "data")), True
    from benchmarks.bench_app import code_version

    code = code_version()  # before the app's modules are imported
    try:
        if args.clear_after_commit:
            run_clear_after_commit(args, root)
            return
        if args.app:
            res = asyncio.run(run_app_async(args, root))
            res["code"] = code
            report_app(res, args)
        else:
            res = run_follow(args, root)
            res["code"] = code
            report_follow(res, args)
    finally:
        if cleanup:
            shutil.rmtree(root, ignore_errors=True)
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=2, default=str))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
