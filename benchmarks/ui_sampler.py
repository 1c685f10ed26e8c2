"""A sampling profile of one thread (the explorer's UI thread), by its own CPU time.

A daemon thread wakes every `step_s`, reads the target thread's CPU clock
(`time.pthread_getcpuclockid`) and its Python stack (`sys._current_frames`), and
charges the CPU the target used since the last sample to that stack. Wall time the
target spent waiting (for the GIL, in `select` between events) costs nothing, so the
profile says where the thread's own work goes. The sampler needs the GIL to look: while
the target holds it, a sample waits up to the interpreter's switch interval (5 ms), so
samples come every 1-5 ms; CPU is still charged in full to the stack seen then.

    sampler = UiSampler(threading.main_thread().ident); sampler.start(); ...; sampler.stop()
    print(breakdown(sampler, CATEGORIES))

`CATEGORIES` names the explorer's parts; a sample goes to the first category one of
whose (module, function) pairs is on its stack, looked for from the innermost frame out.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence

# (category, module suffix, function names; empty: any function of the module). The
# innermost matching frame decides, so more specific parts come first in a stack's
# walk naturally (the view inside show_view is "view", not "list").
CATEGORIES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("gc (explicit collections)", "tui/policies.py", ("settle", "after_frame", "when_idle")),
    ("value dictionaries (learn, lookups)", "store/dictionaries.py", ()),
    ("store.add: the rest", "store/store.py", ("add",)),
    ("publish (Store.publish)", "store/store.py", ("publish",)),
    ("commit direct (Store.commit)", "store/store.py", ("commit",)),
    ("stage (Store.stage)", "store/store.py", ("stage", "reserve")),
    ("facet counts", "tui/core/view.py", ("facet",)),
    ("facet counts", "widgets/facets.py", ()),
    ("view recompute (compute_view)", "tui/core/view.py", ("compute_view",)),
    ("timeline", "widgets/timeline.py", ()),
    ("status line", "tui/app.py", ("_update_status",)),
    ("status line", "widgets/status.py", ()),
    ("detail pane", "widgets/detail.py", ()),
    ("list (set_rows, render_line)", "widgets/event_list.py", ()),
    ("show_view / show_panels (rest)", "tui/main_screen.py", ("show_view", "show_panels")),
    ("loader messages (on_batches_ready rest)", "tui/app.py", ("on_batches_ready",)),
    ("pump (rest)", "tui/app.py", ("pump", "_committed", "_publish", "_stage")),
    ("benchmark harness", "benchmarks/bench_app.py", ()),
    ("Textual: compositor / render", "textual/_compositor.py", ()),
    ("Textual: compositor / render", "textual/strip.py", ()),
    ("Textual: compositor / render", "textual/_segment_tools.py", ()),
    ("Textual: compositor / render", "rich/segment.py", ()),
    ("Textual: layout / styles", "textual/_arrange.py", ()),
    ("Textual: layout / styles", "textual/css/", ()),
    ("Textual: layout / styles", "textual/_layout.py", ()),
    ("Textual: widgets / screen", "textual/widget.py", ()),
    ("Textual: widgets / screen", "textual/screen.py", ()),
    ("Textual: message loop", "textual/message_pump.py", ()),
    ("Textual: message loop", "textual/app.py", ()),
    ("asyncio", "asyncio/", ()),
)


class UiSampler:
    def __init__(self, thread_id: int, step_s: float = 0.001, depth: int = 40) -> None:
        self.thread_id = thread_id
        self.step_s = step_s
        self.depth = depth
        self.clock = time.pthread_getcpuclockid(thread_id)
        # stack (outermost first, "path:function") -> CPU seconds
        self.cpu: Counter[tuple[str, ...]] = Counter()
        self.samples = 0
        # (perf_counter, CPU seconds, stack) of each sample that charged CPU: what the
        # thread did inside a given stretch (a stall of the event loop, say)
        self.timeline: list[tuple[float, float, tuple[str, ...]]] = []
        # (when, gap, every other thread's innermost frames) for each sample that came
        # `gap_s` or more after the one before: the sampler could not run (the GIL was
        # held, by whoever these stacks show just after, or the machine was busy)
        self.gaps: list[tuple[float, float, dict[str, list[str]]]] = []
        self.gap_s = 0.05
        self.cpu_total = 0.0
        self.wall = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ui-sampler", daemon=True)

    def start(self) -> None:
        self._cpu0 = self._threads_cpu()
        self._seen = dict(self._cpu0)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self._seen.update(self._threads_cpu())
        # name -> CPU seconds each thread used from the start to its last sight (taken
        # every ~100 samples): a thread's Python work competes for the GIL
        self.threads_cpu = {
            name: cpu - self._cpu0.get(name, 0.0) for name, cpu in self._seen.items()
        }

    @staticmethod
    def _threads_cpu() -> dict[str, float]:
        out = {}
        for t in threading.enumerate():
            try:
                out[f"{t.name} ({t.ident})"] = time.clock_gettime(
                    time.pthread_getcpuclockid(t.ident or 0)
                )
            except OSError:  # ended meanwhile
                pass
        return out

    def _stack(self) -> tuple[str, ...]:
        frame = sys._current_frames().get(self.thread_id)
        out: list[str] = []
        while frame is not None and len(out) < self.depth:
            code = frame.f_code
            out.append(f"{code.co_filename}:{code.co_name}")
            frame = frame.f_back
        return tuple(reversed(out))

    def _others(self) -> dict[str, list[str]]:
        names = {t.ident: t.name for t in threading.enumerate()}
        out = {}
        for ident, frame in sys._current_frames().items():
            if ident == threading.get_ident():
                continue
            frames = []
            while frame is not None and len(frames) < 4:
                code = frame.f_code
                frames.append(f"{_short(code.co_filename + ':' + code.co_name)}:{frame.f_lineno}")
                frame = frame.f_back
            out[names.get(ident, str(ident))] = frames
        return out

    def _run(self) -> None:
        t0 = before = time.perf_counter()
        last = time.clock_gettime(self.clock)
        while not self._stop.wait(self.step_s):
            now_t = time.perf_counter()
            if now_t - before >= self.gap_s:
                self.gaps.append((now_t, now_t - before, self._others()))
            before = now_t
            stack = self._stack()
            now = time.clock_gettime(self.clock)
            used, last = now - last, now
            if used > 0:
                self.cpu[stack] += used
                self.cpu_total += used
                self.timeline.append((time.perf_counter(), used, stack))
            self.samples += 1
            if self.samples % 100 == 0:
                self._seen.update(self._threads_cpu())
        self.wall = time.perf_counter() - t0


def categorise(stack: Sequence[str], categories=CATEGORIES) -> str:
    for frame in reversed(stack):  # innermost first
        path, _, func = frame.rpartition(":")
        path = path.replace("\\", "/")
        for name, module, funcs in categories:
            if path.endswith(module) or (module.endswith("/") and module in path):
                if not funcs or func in funcs:
                    return name
    return "other"


def _short(frame: str) -> str:
    path, _, func = frame.rpartition(":")
    parts = path.replace("\\", "/").split("/")
    return f"{'/'.join(parts[-2:])}:{func}"


def breakdown(s: UiSampler, top: int = 25) -> str:
    """The UI thread's CPU by category, then the functions with the most CPU
    (inclusive: on the stack) and the innermost Python frames (self)."""
    by_cat: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    own: Counter[str] = Counter()
    for stack, cpu in s.cpu.items():
        by_cat[categorise(stack)] += cpu
        for f in set(stack):
            incl[_short(f)] += cpu
        if stack:
            own[_short(stack[-1])] += cpu
    tot = s.cpu_total or 1.0
    lines = [
        f"UI thread CPU {s.cpu_total:.2f} s over {s.wall:.1f} s wall"
        f" ({s.cpu_total / max(s.wall, 1e-9):.0%}), {s.samples} samples"
    ]
    lines += [f"  {c:45s} {v:7.2f} s {v / tot:6.1%}" for c, v in by_cat.most_common()]
    lines.append("inclusive:")
    lines += [f"  {f:60s} {v:7.2f} s {v / tot:6.1%}" for f, v in incl.most_common(top)]
    lines.append("self (innermost Python frame):")
    lines += [f"  {f:60s} {v:7.2f} s {v / tot:6.1%}" for f, v in own.most_common(top)]
    return "\n".join(lines)


def dump(s: UiSampler, path: str) -> None:
    """The stacks and their CPU seconds as JSON (for another breakdown later)."""
    import json

    rows = [{"stack": list(k), "cpu_s": v} for k, v in s.cpu.most_common()]
    gaps = [{"t": t, "gap_s": g, "threads": th} for t, g, th in s.gaps]
    with open(path, "w") as f:
        json.dump(
            {
                "cpu_s": s.cpu_total,
                "wall_s": s.wall,
                "samples": s.samples,
                "stacks": rows,
                "gaps": gaps,
            },
            f,
        )


def inside(s: UiSampler, spans: list[tuple[float, float]], top: int = 3) -> list[str]:
    """For each (start, end) stretch, the categories the thread's CPU went to in it."""
    out = []
    for a, b in spans:
        cats: Counter[str] = Counter()
        for t, used, stack in s.timeline:
            if a <= t <= b + 0.002:
                cats[categorise(stack)] += used
        parts = ", ".join(f"{c} {v * 1000:.0f}" for c, v in cats.most_common(top))
        total = sum(cats.values()) * 1000
        out.append(f"{(b - a) * 1000:6.1f} ms: CPU {total:.0f} ms: {parts}")
    return out
