"""Explorer keypress latency, headless: time to first frame, load time, keypress -> frame.

    python benchmarks/bench_app.py [--events 1000000] [--presses 60] [--filters 20]
    python benchmarks/bench_app.py ... --no-sort --code DIR   # the app of another checkout

Starts `TrailscopeApp([trail], watch=False)` under `App.run_test(size=(160, 50))` on a
synthetic trail (benchmarks/data/trail-N, generated on first use like bench_engine.py),
waits until every event is loaded and the full view is on screen, then presses keys:
list moves (`j`, `pagedown`, `G`, `g`), detail-tree moves (`down`/`up` with the tree
focused), sorting the list (`s`: every listed event re-sorted by the next column) and
`j` while the list is sorted by principal, the filter bar (`/`, typing, `enter` on an indexed filter), `ctrl+x` (clear
the filter: back to every event) and a facet pick (`enter` on a facet row). It prints
p50/p95/max per action. A script, not a test: the numbers are only as steady as the
machine.

Two ways of timing a keypress are printed side by side.

1. "Pilot": t0; `await pilot.press(key)`; for actions that end in the view worker
   (filter apply, clear, facet pick) poll until the new view is applied (`app.view` is
   the view of the new query with a newer seq, no view computing: `app.views`); then
   `await pilot.pause()`; stop. `pilot.press` sends the key the way a terminal driver
   does (`driver.send_message(Key)`), then waits for every widget's message queue to
   drain and twice calls `wait_for_idle(0)`, which sleeps in 20 ms steps until the
   process's CPU time stops advancing; `pilot.pause()` waits once more the same way
   and then forces a screen update. So this number includes at least ~60 ms of the
   harness's own sleeps. That floor is measured with a key that has no binding (`z`)
   and printed as "Pilot floor".

2. "frame": every frame is time-stamped. The screen renders from its 60 Hz update
   timer (when a widget asked for a repaint) and hands the compositor update to
   `App._display`, which is a no-op when headless; the benchmark wraps `_display` on
   the app instance to first do what a real terminal driver does with the update
   (`render_segments`: build the escape sequences; only writing them out is skipped)
   and then record `perf_counter()`. A keypress's latency is the time from sending
   the key to the end of the first frame in which (a) the action's effect is in the
   app state and (b) the widgets that show it have no repaint, layout or scroll
   pending (their flags, or an Update / Layout / UpdateScroll message still queued at
   the screen), so that frame contains it. Two effects are timed per key:
   "first frame": the primary effect, on the widget that shows it (the list cursor
   moved; the new view is in the list with the detail pane on its cursor's event; the
   character is in the input; the tree cursor moved). The status line is not part of
   it: its repaint reaches the screen after the list's (each widget posts its Update
   when its own task next idles), so in a view drawn in two frames it comes with the
   facets and timeline, and waiting for it made "first frame" equal "full effect";
   "full effect": everything the key changes (for list moves and
   filters also the detail pane showing the cursor's event, facets, timeline, status
   line), with every widget on the screen except the key-hint Footer drawn. The two
   differ because the list posts `EventHighlighted` and the detail pane is rebuilt
   from it afterwards, usually in a later frame. "+footer" is the full effect with the
   Footer included: Textual rebuilds it whenever the focus moves (`/`, filter apply).
   Measured twice: while Pilot drives ("frame under Pilot"), and "direct": the key is
   sent with the same `driver.send_message` call but without Pilot's sleeps, and the
   app is left to settle (no frame for 30 ms, no view being computed) before the next
   key. The direct numbers are the ones to compare with the target (keypress to updated
   frame <= 50 ms p95 with 1M events); the verdict is printed for both effects.

Full (generation 2) garbage collections stop the UI thread for a while with a million
events loaded; the benchmark counts them (gc.callbacks) and marks how many direct
samples overlapped one ("gc2"), since they make most of the tail.

Every wait ends or fails loudly: when the app is idle (no frame for 3 s, no view being
computed, nothing to commit) and what the benchmark waits for has not happened, the run
stops with the key, the condition, the widgets not drawn and the focused widget's text.

`--code DIR` times the app of another checkout (C scan built in place there) with this
script: its tree goes first on sys.path; `AppState` reads the view/loader state both from
this tree's App and from the App before it was split into MainScreen and policies
(09f04b4). That tree has no sorting: `--no-sort` on both sides keeps the key sequence the
same.

A breakdown of the direct samples follows: calls timed on the instances (the key to
`MainScreen.show_view` starting = parse + view worker + message hop; `show_view` and its
parts; `DetailPane.show`; Textual's layout + render of the screen).

Nothing in the app is changed. Intrusions: the wrappers above (a few microseconds per
call) and `FilterInput.cursor_blink = False` (a blinking cursor repaints every 0.5 s,
which would only add noise to "the first frame after the key"). And, before the app
starts, multiprocessing's resource tracker is started (see `start_resource_tracker`):
without it the explorer cannot load a trail big enough for its parallel loader
(>= 16 MiB), under Pilot or in a real terminal.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import math
import os
import resource
import statistics
import sys
import threading
import time
import unicodedata
from collections.abc import Callable, Iterable
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
# The checkout whose app is timed (--code). An environment variable, because the
# loader's spawn workers import this script again (as __mp_main__) and must find the
# same `tui` as the app.
CODE_ENV = "BENCH_APP_CODE"
CODE = Path(os.environ.get(CODE_ENV, ROOT))
if CODE != ROOT:
    sys.path.insert(0, str(CODE))

FILTERS = (
    "service:s3.amazonaws.com",
    "region:us-east-1",
    'cred:role-session -error:"" region:us-east-1',
)


def pivot_filters(store, rounds: int) -> list[tuple[str, str]]:
    """(label, filter) for --pivots: an investigation's pivots on the values of rows
    spread over the trail, each value new (a field's first exact or wildcard test can
    cost what later ones do not): the row's access key, principal and session exactly,
    and a wildcard on its principal's last 8 characters."""
    from tui.core.query import term_for

    out: list[tuple[str, str]] = []
    n = len(store)
    for r in range(max(1, rounds // 4 + 1)):
        row = int(store.ordered()[(2 * r + 1) * n // (2 * (rounds // 4 + 2))])
        for field in ("key", "principal", "session"):
            value = store.value(row, field)
            if value:
                out.append((f"pivot {field} (exact)", term_for(field, value)))
        tail = "".join(c for c in store.value(row, "principal")[-8:] if c.isalnum() or c in "-_.")
        if tail:
            out.append(("pivot principal (wildcard)", f"principal:*{tail}*"))
    return out


PROFILED = ("filter apply (enter, indexed)", "facet pick (enter)")  # --profile
NOOP_KEY = "z"  # no binding anywhere in the explorer's list scope
SETTLE_S = 0.03
KEY_GAP_S = 0.15  # direct mode: at least this long from one key to the next
TIMEOUT_S = 60.0
# A wait that cannot end: its condition is false, no frame for STALL_S (and STALL_POLLS
# polls, so a blocked event loop -- a long GC pause -- does not count as idle) and the app
# has nothing in flight. The benchmark then stops with what it was waiting for.
STALL_S = 3.0
STALL_POLLS = 30
POLL_S = 0.05

perf = time.perf_counter


# --------------------------------------------------------------------- harness
# Shared with bench_tail.py --app.


class Probe:
    """One keypress waiting for the frame that shows its effect.

    `t_frame`: the end of the first frame where `ready()` holds and every one of
    `widgets()` is drawn from its current state (see FrameClock.clean): the effect is on
    screen. `t_all`: the same for every widget on the screen, the key-hint footer
    included (it is rebuilt when the focus moves).
    """

    __slots__ = (
        "t0",
        "ready",
        "widgets",
        "t_frame",
        "t_all",
        "track_all",
        "done",
        "done_all",
        "label",
        "clock",
        "error",
    )

    def __init__(
        self,
        t0: float,
        ready: Callable[[], bool],
        widgets: Callable[[], Iterable],
        label: str = "",
        track_all: bool = True,
    ) -> None:
        self.t0 = t0
        self.ready = ready
        self.widgets = widgets
        self.t_frame: float | None = None
        self.t_all: float | None = None
        self.track_all = track_all
        self.done = asyncio.Event()
        self.done_all = asyncio.Event()
        self.label = label
        self.clock: FrameClock | None = None
        self.error: str | None = None  # the last exception `ready()` raised, if any

    @property
    def ms(self) -> float | None:
        return None if self.t_frame is None else (self.t_frame - self.t0) * 1000

    @property
    def ms_all(self) -> float | None:
        return None if self.t_all is None else (self.t_all - self.t0) * 1000

    async def wait(self, timeout: float = TIMEOUT_S, all_widgets: bool = False) -> bool:
        """Until the frame comes (True) or `timeout` passes (False). Raises WaitFailed as
        soon as the frame cannot come (see FrameClock.stalled)."""
        event = self.done_all if all_widgets else self.done
        end = perf() + timeout
        clock = self.clock
        while not event.is_set():
            left = end - perf()
            if left <= 0:
                return False
            try:
                await asyncio.wait_for(event.wait(), min(left, POLL_S))
            except TimeoutError:
                if clock is not None and clock.stalled(self.t0):
                    raise WaitFailed(clock.describe(self, all_widgets)) from None
        return True


class WaitFailed(RuntimeError):
    """A wait condition that the app, idle, will never meet (the message says which)."""


def focus_text(app) -> str:
    """The focused widget, and its text if it holds one (the filter bar)."""
    w = app.focused
    value = getattr(w, "value", None)
    return f"focus {w!r}" + (f" holding {value!r}" if isinstance(value, str) else "")


class FrameClock:
    """Time-stamps every frame the (headless) app renders and resolves Probes."""

    def __init__(self, app, encode: bool = True) -> None:
        from textual._compositor import CompositorUpdate, LayoutUpdate
        from textual.messages import Layout, Update, UpdateScroll

        self.app = app
        self.frames: list[float] = []
        self.frame_cost: list[float] = []  # ms spent encoding each update (driver's share)
        self.probes: list[Probe] = []
        self.on_frame: list[Callable[[float], None]] = []
        self._msg_types = (Update, Layout, UpdateScroll)
        self._full = False
        self._drawn: set[int] = set()
        # Set by the benchmark: whether the app has work in flight (then a quiet screen is
        # not a stall). Without it waits only time out.
        self.busy: Callable[[], bool] | None = None
        self._polls = 0  # stall polls since the last frame
        original = app._display

        def display(screen, renderable) -> None:
            if renderable is None or app._batch_count:
                return original(screen, renderable)
            t = perf()
            if encode and isinstance(renderable, CompositorUpdate):
                renderable.render_segments(app.console)
            original(screen, renderable)
            now = perf()
            self.frames.append(now)
            self.frame_cost.append((now - t) * 1000)
            self._polls = 0
            # Widgets repainted by this frame: their lines were rendered just now, from
            # their current state (Widget.refresh clears a widget's line cache at once).
            self._full = isinstance(renderable, LayoutUpdate)
            self._drawn = {id(w) for w in getattr(screen, "_dirty_widgets", ())}
            if self.probes:
                self._check(now)
            for fn in self.on_frame:
                fn(now)

        app._display = display  # instance attribute: the screen calls app._display(...)

    def probe(
        self,
        t0: float,
        ready: Callable[[], bool],
        widgets: Callable[[], Iterable] | None = None,
        label: str = "",
        track_all: bool = True,
    ) -> Probe:
        p = Probe(
            t0, ready, widgets if widgets is not None else self.effect_widgets, label, track_all
        )
        p.clock = self
        self.probes.append(p)
        return p

    def stalled(self, since: float) -> bool:
        """Nothing can change any more: no frame since `since` for STALL_S and STALL_POLLS
        calls of this (one per poll), and the app has nothing in flight."""
        if self.busy is None:
            return False
        self._polls += 1
        last = max(since, self.frames[-1] if self.frames else since)
        return self._polls >= STALL_POLLS and perf() - last >= STALL_S and not self.busy()

    def describe(self, probe: Probe, all_widgets: bool = False) -> str:
        """Why `probe` is still waiting: its condition, and what on the screen is not drawn."""
        try:
            state = f"condition {'holds' if probe.ready() else 'is false'}"
        except Exception as e:  # noqa: BLE001
            state = f"condition raises {e!r}"
        if probe.error is not None:
            state += f" (raised {probe.error} at a frame)"
        widgets = self.all_widgets() if all_widgets else list(probe.widgets())
        dirty = [
            f"{w!r}{' repaint' * w._repaint_required}{' layout' * w._layout_required}"
            f"{' scroll' * w._scroll_required}"
            for w in widgets
            if w._repaint_required or w._layout_required or w._scroll_required
        ]
        queued = [type(m).__name__ for m in list(self.app.screen._message_queue.values)]
        since = sum(1 for f in self.frames if f >= probe.t0)
        return (
            f"{probe.label or 'a wait'}: no frame can end it; {state}, {since} frames since the"
            f" key, none for {perf() - max([probe.t0, *self.frames[-1:]]):.1f} s, nothing in"
            f" flight; widgets not drawn: {dirty or 'none'}; queued at the screen:"
            f" {queued or 'nothing'}; {focus_text(self.app)}"
        )

    def all_widgets(self) -> list:
        return list(self.app.screen.walk_children(with_self=False))

    def effect_widgets(self) -> list:
        """Every widget on the screen except the key-hint footer."""
        skip = set()
        for f in self.app.screen.query("Footer, KeyHints"):
            skip.update(id(w) for w in f.walk_children(with_self=True))
        return [w for w in self.app.screen.walk_children(with_self=False) if id(w) not in skip]

    def _check(self, now: float) -> None:
        keep = []
        for p in self.probes:
            try:
                if not p.ready():
                    keep.append(p)
                    continue
                if p.t_frame is None and self.clean(p.widgets()):
                    p.t_frame = now
                    p.done.set()
                if (
                    p.t_frame is not None
                    and p.track_all
                    and p.t_all is None
                    and self.clean(self.all_widgets())
                ):
                    p.t_all = now
                    p.done_all.set()
            except Exception as e:  # noqa: BLE001 - e.g. queried before the screen is composed
                p.error = repr(e)  # kept for the stall report
            if p.t_frame is None or (p.track_all and p.t_all is None):
                keep.append(p)
        self.probes = keep

    def clean(self, widgets: Iterable) -> bool:
        """Each widget is drawn from its current state: repainted by the frame being
        shown, or with no repaint/layout/scroll waiting for a later frame."""
        if self._full:
            return True  # a full-screen update re-rendered every widget
        ids = set()
        for w in widgets:
            if id(w) in self._drawn:
                continue
            if w._repaint_required or w._layout_required or w._scroll_required:
                return False
            ids.add(id(w))
        queue = self.app.screen._message_queue  # textual._queue.Queue: a deque in .values
        for m in list(queue.values):
            if isinstance(m, self._msg_types):
                target = getattr(m, "widget", None)
                if target is None or id(target) in ids:
                    return False
        return True

    async def settle(
        self,
        quiet: float = SETTLE_S,
        busy: Callable[[], bool] | None = None,
        timeout: float = TIMEOUT_S,
    ) -> None:
        """Until no frame was drawn for `quiet` seconds (and `busy()` is False)."""
        end = perf() + timeout
        while perf() < end:
            n = len(self.frames)
            await asyncio.sleep(quiet)
            if len(self.frames) == n and (busy is None or not busy()):
                return
        raise WaitFailed(f"the app did not settle in {timeout:.0f} s (busy: {busy and busy()})")


class AppState:
    """The app state the benchmark waits on, read from this tree's app or from one before
    the App was split into MainScreen and policies (09f04b4 and earlier: private attributes
    of the App), so that one script times both sides of an A/B (`--code DIR`)."""

    def __init__(self, app) -> None:
        self.app = app
        self.split = hasattr(app, "views")

    @property
    def view_seq(self) -> int:
        return self.app.views.seq if self.split else self.app._view_seq

    def view_pending(self) -> bool:
        app = self.app
        return bool(app.views.pending if self.split else app._view_running or app._view_dirty)

    def store_pending(self) -> bool:
        store = self.app.store
        return bool(store.pending_events if self.split else store._pending)

    def loader_backlog(self) -> int:
        return len(self.app.loader_backlog) if self.split else self.app._inflight

    def panels_pending(self) -> bool:
        app = self.app
        return (app.main.panels_pending if self.split else app._panels_pending) is not None

    def sorting(self) -> bool:
        """The list sorts a big view on a thread (code without that: never)."""
        return bool(getattr(self.app.events_list, "sorting", False))

    def busy(self) -> bool:
        return self.view_pending() or self.store_pending() or self.sorting()

    @property
    def show_view(self) -> tuple[object, str]:
        """Where a computed view is put on screen (object, method name)."""
        return (self.app.main, "show_view") if self.split else (self.app, "_apply_view")

    @property
    def show_panels(self) -> tuple[object, str]:
        """Where the facets and timeline of a view are drawn."""
        return (self.app.main, "show_panels") if self.split else (self.app, "_apply_panels")

    def can_sort(self) -> bool:
        return hasattr(self.app.events_list, "set_sort")


def code_version() -> str:
    """The commit the benchmark runs against (the app changes under active development)."""
    import subprocess

    try:
        head = subprocess.run(
            ["git", "-C", str(CODE), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(CODE), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + (" (+ uncommitted changes)" if dirty else "")


def detail_delay() -> float | None:
    """The app's deliberate delay before the detail pane follows the list, if it has one."""
    import importlib

    for name in ("tui.main_screen", "tui.app"):  # the latter before the App was split
        try:
            delay = getattr(importlib.import_module(name), "DETAIL_DELAY", None)
        except ImportError:
            continue
        if delay is not None:
            return delay
    return None


def time_calls(obj, name: str, sink: list[tuple[float, float]]) -> None:
    """Record (start, end) of every call of obj.name (wrapped on the instance)."""
    original = getattr(obj, name)

    def wrapper(*a, **kw):
        t = perf()
        try:
            return original(*a, **kw)
        finally:
            sink.append((t, perf()))

    setattr(obj, name, wrapper)


def time_outer_calls(obj, names: Iterable[str], sink: list[tuple[float, float]]) -> None:
    """Like time_calls for several methods that call each other: outermost calls only."""
    depth = [0]
    for name in names:
        original = getattr(obj, name)

        def wrapper(*a, _original=original, **kw):
            depth[0] += 1
            t = perf()
            try:
                return _original(*a, **kw)
            finally:
                depth[0] -= 1
                if depth[0] == 0:
                    sink.append((t, perf()))

        setattr(obj, name, wrapper)


def time_hold(app, sink: list[tuple[float, float]]) -> None:
    """Record (start, end) of each hold of the app's screen updates (a list key's frame
    waits for the detail pane: `FrameHold`), if the app has one."""
    hold = getattr(app, "frame_hold", None)
    if hold is None:
        return
    started: list[float] = []
    original_hold, original_release = hold.hold, hold.release

    def holding() -> bool:
        got = original_hold()
        if got:
            started[:] = [perf()]
        return got

    def release() -> None:
        original_release()
        if started:
            sink.append((started.pop(), perf()))

    hold.hold, hold.release = holding, release


def make_key(key: str):
    """The Key event Pilot would send for `key` (same name and character rules)."""
    from textual import events
    from textual.keys import REPLACED_KEYS, _character_to_key, _get_unicode_name_from_key

    if len(key) == 1 and not key.isalnum():
        key = _character_to_key(key)
    original = REPLACED_KEYS.get(key, key)
    try:
        char = unicodedata.lookup(_get_unicode_name_from_key(original))
    except KeyError:
        char = key if len(key) == 1 else None
    return events.Key(key, char)


def send_key(app, key: str) -> None:
    """Send a key like the terminal driver (and Pilot) do, without waiting."""
    ev = make_key(key)
    ev.set_sender(app)
    app._driver.send_message(ev)


def pct(xs: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..1) of a non-empty list."""
    s = sorted(xs)
    return s[max(0, min(len(s) - 1, math.ceil(q * len(s)) - 1))]


def where_analysis() -> str | None:
    """Where the analysis worker is (its innermost frame in tui/), when a key is sent."""
    for frame in sys._current_frames().values():
        stack = []
        f = frame
        while f is not None:
            stack.append(f)
            f = f.f_back
        if not any(x.f_code.co_name == "_analyse" for x in stack):
            continue
        for x in stack:
            path = Path(x.f_code.co_filename)
            if "tui" in path.parts:
                return f"{path.name}:{x.f_lineno} {x.f_code.co_name}"
    return None


def stats(xs: list[float]) -> dict | None:
    if not xs:
        return None
    return {"n": len(xs), "p50": statistics.median(xs), "p95": pct(xs, 0.95), "max": max(xs)}


def fmt_stats(s: dict | None, width: int = 7) -> str:
    if s is None:
        return " ".join(["-".rjust(width)] * 3)
    return " ".join(f"{s[k]:{width}.1f}" for k in ("p50", "p95", "max"))


async def wait_until(
    pred: Callable[[], bool], timeout: float = TIMEOUT_S, step: float = 0.001
) -> bool:
    end = perf() + timeout
    while perf() < end:
        try:
            if pred():
                return True
        except Exception:  # noqa: BLE001 - app not composed yet
            pass
        await asyncio.sleep(step)
    return False


# --------------------------------------------------------------------- benchmark
class Bench:
    def __init__(self, app, pilot, clock: FrameClock) -> None:
        from widgets.detail import DetailPane
        from widgets.facets import FacetPanel

        self.app = app
        self.pilot = pilot
        self.clock = clock
        self.state = AppState(app)
        clock.busy = self._busy
        self._last_key = 0.0
        self.lst = app.events_list
        self.detail = app.query_one(DetailPane)
        self.facets = app.query_one(FacetPanel)
        self.results: dict[str, dict[str, list[float]]] = {}
        self.timeouts: dict[str, int] = {}
        # Where the time of a "direct" sample goes: calls timed on the instances.
        from widgets.timeline import Timeline

        self.spans: dict[str, list[tuple[float, float]]] = {
            "show_view": [],
            "EventList.set_rows": [],
            "facets+timeline": [],
            "Timeline.set_data": [],
            "DetailPane.show": [],
            "screen layout+render": [],
            "EventList.set_sort": [],
            "frame held": [],
            "detail deferred (as a held key)": [],
        }
        time_outer_calls(
            app.screen,
            ("_refresh_layout", "_compositor_refresh"),
            self.spans["screen layout+render"],
        )
        time_calls(*self.state.show_view, self.spans["show_view"])
        time_calls(self.lst, "set_rows", self.spans["EventList.set_rows"])
        time_calls(*self.state.show_panels, self.spans["facets+timeline"])
        time_calls(app.query_one(Timeline), "set_data", self.spans["Timeline.set_data"])
        time_calls(self.detail, "show", self.spans["DetailPane.show"])
        time_calls(self.lst, "set_sort", self.spans["EventList.set_sort"])
        time_hold(app, self.spans["frame held"])
        if hasattr(getattr(app, "main", None), "show_detail_after"):
            time_calls(app.main, "show_detail_after", self.spans["detail deferred (as a held key)"])
        self.breakdown: dict[str, list[dict[str, float]]] = {}
        self.filters_only = False
        self.during_load = False  # --during-load: keys while the trail loads
        # --profile: action -> cProfile of the UI thread from the key to its frame
        self.profiles: dict | None = None
        # Full (generation 2) garbage collections: they stop the UI thread.
        self.gc2: list[tuple[float, float]] = []
        self.gcs: list[tuple[int, float, float]] = []  # every collection: generation, span
        self.samples: list[dict] = []  # each direct sample, for finding what a slow one did
        self.gc_hits: dict[str, int] = {}
        self._gc_start: float | None = None
        gc.callbacks.append(self._gc_callback)

    def _rec(self, action: str, kind: str, ms: float | None) -> None:
        r = self.results.setdefault(
            action,
            {"pilot": [], "frame_pilot": [], "frame_first": [], "frame": [], "frame_all": []},
        )
        if ms is None:
            self.timeouts[f"{action} ({kind})"] = self.timeouts.get(f"{action} ({kind})", 0) + 1
        else:
            r[kind].append(ms)

    def _busy(self) -> bool:
        if self.during_load:  # events are pending all along: wait for views only
            return self.state.view_pending() or self.state.sorting()
        return self.state.busy()

    async def until(self, pred: Callable[[], bool], t0: float, label: str) -> None:
        """Until `pred()` holds; WaitFailed if it cannot (the app idle without it) or
        TIMEOUT_S passes."""
        while not await wait_until(pred, POLL_S):
            if self.clock.stalled(t0) or perf() - t0 > TIMEOUT_S:
                try:
                    why = "holds" if pred() else "is false"
                except Exception as e:  # noqa: BLE001
                    why = f"raises {e!r}"
                raise WaitFailed(
                    f"{label}: the condition {why} after {perf() - t0:.1f} s, the app idle;"
                    f" {focus_text(self.app)}"
                )

    async def sample(
        self,
        action: str,
        key: str,
        ready: Callable[[], bool],
        mode: str,
        *,
        first: Callable[[], bool] | None = None,
        first_widgets: Callable[[], Iterable] | None = None,
        frame: bool = True,
        wait_state: bool = False,
    ) -> None:
        """One keypress, timed by `mode` ("pilot" or "direct").

        `ready`: the whole effect is in the app state (e.g. cursor moved *and* the detail
        pane shows the new row); checked with every widget but the footer. `first`: the
        primary effect only (e.g. the cursor moved), checked with `first_widgets` (e.g.
        the list) -- the first frame that shows the key at all.
        """
        if mode == "pilot":
            t0 = perf()
            label = f"{action} [{key!r}, Pilot]"
            probe = self.clock.probe(t0, ready, label=label) if frame else None
            await self.pilot.press(key)
            if wait_state:
                await self.until(ready, t0, label)
            await self.pilot.pause()
            self._rec(action, "pilot", (perf() - t0) * 1000)
            if probe is not None:
                await probe.wait(5.0)
                if probe in self.clock.probes:
                    self.clock.probes.remove(probe)
                self._rec(action, "frame_pilot", probe.ms)
            return
        await self.clock.settle(busy=self._busy)
        # Separate presses, as a person types them (>= KEY_GAP_S apart): the app treats
        # keys closer than that as a held key and defers the detail pane (a held key's
        # open-loop timing is what bench_tail.py --app measures).
        wait = self._last_key + KEY_GAP_S - perf()
        if wait > 0:
            await asyncio.sleep(wait)
        t0 = self._last_key = perf()
        # The detections and credential index run in a worker thread after the load
        # (tui/analysis.py); at 10M events they can still run while keys are timed.
        analysing = bool(getattr(self.app, "analysing", False))
        loading = bool(self.app.loading or self.state.store_pending())
        analysis_at = where_analysis() if analysing else None
        pfirst = (
            self.clock.probe(t0, first, first_widgets, label=action, track_all=False)
            if first is not None
            else None
        )
        probe = self.clock.probe(t0, ready, label=f"{action} [{key!r}]")
        prof = self.profiles.get(action) if self.profiles is not None else None
        if prof is not None:
            prof.enable()
        faults0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        ui_faults0 = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt
        send_key(self.app, key)
        if not await probe.wait():
            raise WaitFailed(f"{probe.label}: no frame showed it in {TIMEOUT_S:.0f} s")
        faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults0
        ui_faults = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt - ui_faults0
        if prof is not None:
            prof.disable()
        await probe.wait(5.0, all_widgets=True)
        for p in (pfirst, probe):
            if p is not None and p in self.clock.probes:
                self.clock.probes.remove(p)
        self._rec(action, "frame_first", (pfirst or probe).ms)
        self._rec(action, "frame", probe.ms)
        self._rec(action, "frame_all", probe.ms_all)
        if probe.ms is None:
            return
        if any(t0 <= s <= probe.t_frame or s <= t0 <= e for s, e in self.gc2):
            self.gc_hits[action] = self.gc_hits.get(action, 0) + 1
        parts: dict[str, float] = {}
        applies = [a for a in self.spans["show_view"] if t0 <= a[0] <= probe.t_frame]
        if applies:
            parts["key -> view ready (worker)"] = (applies[0][0] - t0) * 1000
        for name, spans in self.spans.items():
            parts[name] = sum(e - s for s, e in spans if t0 <= s <= probe.t_frame) * 1000
        self.breakdown.setdefault(action, []).append(parts)
        frames = [f for f in self.clock.frames if t0 < f <= probe.t_frame]
        self.samples.append(
            {
                "action": action,
                "key": key,
                "t0": t0,
                "t_frame": probe.t_frame,
                "ms": probe.ms,
                "ms_first": (pfirst or probe).ms,
                "frames": len(frames),
                "page_faults": faults,
                "page_faults_ui": ui_faults,
                "analysing": analysing or bool(getattr(self.app, "analysing", False)),
                "loading": loading,
                "analysis_at": analysis_at,
                "first_frame_ms": (frames[0] - t0) * 1000 if frames else None,
                "gc_ms": [
                    [g, round((e - s) * 1000, 2)]
                    for g, s, e in self.gcs
                    if t0 <= s <= probe.t_frame or s <= t0 <= e
                ],
                "parts_ms": {k: round(v, 2) for k, v in parts.items()},
            }
        )

    # -------------------------------------------------------------- predicates
    def moved(self, before: int) -> Callable[[], bool]:
        lst, detail = self.lst, self.detail
        return lambda: lst.cursor_index != before and detail.row == lst.cursor_row

    def moved_first(self, before: int) -> Callable[[], bool]:
        lst = self.lst
        return lambda: lst.cursor_index != before

    def list_only(self) -> list:
        return [self.lst]

    def view_first(self) -> list:
        """The widgets of a view's first frame: the list and the detail pane (the status
        line's count is part of the full effect, see the module docstring)."""
        return [self.lst, self.detail]

    def view_applied(self, text: str, seq0: int, detail: bool = True) -> Callable[[], bool]:
        """The view of `text` is applied: in the list, the detail pane and the status
        line (`detail=False`: before the facets and timeline have it; they follow a frame
        later over big views)."""
        app, lst, pane, state = self.app, self.lst, self.detail, self.state

        def ready() -> bool:
            v = app.view
            return (
                v is not None
                and v.seq > seq0
                and v.seq == state.view_seq
                and not state.view_pending()
                and v.query.text == text
                and v.query is app.query_obj
                and pane.row == lst.cursor_row
                and app.status.matching == len(v)  # (not v.rows: that takes a lazy view's rows)
                and (not detail or not state.panels_pending())
            )

        return ready

    def _gc_callback(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._gc_start = perf()
        elif self._gc_start is not None:
            span = (self._gc_start, perf())
            self.gcs.append((info.get("generation", -1), *span))
            if info.get("generation") == 2:
                self.gc2.append(span)
            self._gc_start = None

    def close(self) -> None:
        if self._gc_callback in gc.callbacks:
            gc.callbacks.remove(self._gc_callback)

    # ------------------------------------------------------------------ actions
    async def noop(self, n: int, mode: str) -> None:
        for _ in range(n):
            await self.sample(
                f"no-op key ({NOOP_KEY!r}, no binding)", NOOP_KEY, lambda: True, mode, frame=False
            )

    async def list_moves(self, key: str, n: int, mode: str, action: str) -> None:
        await self.focus(self.lst)
        for _ in range(n):
            before = self.lst.cursor_index
            if key in ("j", "pagedown") and self.lst.at_end:
                await self.sample("(reset)", "g", self.moved(before), mode)
                before = self.lst.cursor_index
            await self.sample(
                action,
                key,
                self.moved(before),
                mode,
                first=self.moved_first(before),
                first_widgets=self.list_only,
            )

    async def ends(self, n: int, mode: str) -> None:
        await self.focus(self.lst)
        for _ in range(n):
            before = self.lst.cursor_index
            key = "G" if before == 0 else "g"
            await self.sample(
                f"list {key} ({'last' if key == 'G' else 'first'})",
                key,
                self.moved(before),
                mode,
                first=self.moved_first(before),
                first_widgets=self.list_only,
            )

    async def sorts(self, n: int, mode: str) -> None:
        """The sort key: sort by the next shown column (re-sorts every listed event); the
        way back to time order is the view's own order, a "(reset)" not measured. First
        frame: the key's answer (the header's arrow; "sorting by…" while a big view sorts
        on a thread); full effect: the list in the new order."""
        from tui.actions import ACTIONS

        key = next(a for a in ACTIONS if a.id == "list-sort").keys.split(",")[0]
        lst = self.lst
        await self.focus(lst)
        for _ in range(n):
            before = lst.sort_key
            action = (
                "(reset)"
                if lst.shown_columns[-1] == before.column
                else f"sort ({key}, next column)"
            )
            await self.sample(
                action,
                key,
                lambda b=before: lst.sort_key != b and not self.state.sorting(),
                mode,
                first=lambda b=before: lst.sort_key != b,
                first_widgets=self.list_only,
            )

    async def sorted_moves(self, n: int, mode: str) -> None:
        """List moves while the list is sorted by principal."""
        from tui.core.sorting import SortKey

        self.lst.set_sort(SortKey("principal"))
        await self.clock.settle(busy=self._busy)
        await self.list_moves("j", n, mode, "list j (cursor while sorted)")
        self.lst.set_sort(SortKey())
        await self.clock.settle(busy=self._busy)

    async def detail_moves(self, n: int, mode: str) -> None:
        d = self.detail
        await self.focus(d)
        down = True
        for _ in range(n):
            cur = d.cursor_line
            if down and cur >= d.last_line:
                down = False
            elif not down and cur <= 0:
                down = True
            key = "down" if down else "up"
            expected = cur + (1 if down else -1)
            await self.sample(
                "detail tree down/up", key, lambda e=expected: d.cursor_line == e, mode
            )

    async def filter_apply(
        self, text: str, mode: str, label: str = "filter apply (enter, indexed)"
    ) -> None:
        app = self.app
        await self.focus(self.lst)
        inp = app.filter_input
        await self.sample("focus filter (/)", "slash", lambda: inp.has_focus, mode)
        if self.filters_only:
            # Set, not typed: the bar's value completion can take typed keys.
            inp.value = text
            inp.cursor_position = len(text)
            await self.pilot.pause()
            await self.clock.settle(busy=self._busy)
        else:
            # `/` keeps the applied filter in the bar, cursor at its end, and typing adds to
            # it; before f42e0d7 focus selected it and the first key replaced it. Emptied
            # here (not timed), the same keys type `text` on either code.
            inp.value = ""
            await self.pilot.pause()
            await self.clock.settle(busy=self._busy)
            typed = ""
            for ch in text:
                typed += ch
                await self.sample(
                    "filter typing (1 char)", ch, lambda t=typed: inp.value == t, mode
                )
        seq0 = self.state.view_seq
        await self.sample(
            label,
            "enter",
            self.view_applied(text, seq0),
            mode,
            wait_state=True,
            first=self.view_applied(text, seq0, detail=False),
            first_widgets=self.view_first,
        )

    async def clear_filter(self, mode: str) -> None:
        seq0 = self.state.view_seq
        await self.sample(
            "clear filter (ctrl+x, all events)",
            "ctrl+x",
            self.view_applied("", seq0),
            mode,
            wait_state=True,
            first=self.view_applied("", seq0, detail=False),
            first_widgets=self.view_first,
        )

    async def facet_pick(self, index: int, mode: str) -> None:
        from tui.core.query import add_term

        app = self.app
        await self.focus(self.lst)
        await self.clear_filter(mode)
        fl = self.facets.lists[0]
        await self.focus(fl._list)
        rows = fl.rows
        fl._list.highlighted = index % max(1, min(10, len(rows)))
        await self.pilot.pause()
        value = fl.highlighted_value
        expected = add_term(app.query_obj.text, fl.field, value, False)
        seq0 = self.state.view_seq
        await self.sample(
            "facet pick (enter)",
            "enter",
            self.view_applied(expected, seq0),
            mode,
            wait_state=True,
            first=self.view_applied(expected, seq0, detail=False),
            first_widgets=self.view_first,
        )

    async def focus(self, widget) -> None:
        if not widget.has_focus:
            widget.focus()
            await self.pilot.pause()
            await self.clock.settle(busy=self._busy)


def rss_mb() -> tuple[float, float]:
    """The process's resident memory now and its peak, MB (Linux)."""
    with open("/proc/self/statm") as f:
        now = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    return now / 1e6, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6  # KiB


def start_resource_tracker() -> None:
    """Start multiprocessing's resource tracker before Textual redirects stderr.

    The explorer's loader parses big trails (>= 16 MiB) in a spawn Pool. The first Pool
    of a process starts the resource tracker, passing it `sys.stderr.fileno()`; inside
    a running Textual app stderr is Textual's capture object whose fileno() is -1, so
    the Pool fails with "ValueError: bad value(s) in fds_to_keep" and the load worker
    dies (the app then shows "loading..." forever). It happens with `app.run()` in a
    real terminal too. Starting the tracker first -- as any process that used
    multiprocessing before opening the explorer would have -- sidesteps it.
    """
    from multiprocessing import resource_tracker

    resource_tracker.ensure_running()


# ------------------------------------------------------------------ during the load
DURING_LOAD_FILTER = "region:us-east-1"


class LoopLag:
    """How late the app's event loop (the UI thread) wakes a 5 ms sleep: the lateness
    is how long the thread was held by something else (a commit, a view, a frame)."""

    STEP_S = 0.005

    def __init__(self) -> None:
        self.spans: list[tuple[float, float]] = []  # (when it should have woken, ms late)

    async def run(self) -> None:
        while True:
            t = perf()
            await asyncio.sleep(self.STEP_S)
            self.spans.append((t + self.STEP_S, (perf() - t - self.STEP_S) * 1000))


def random_moment_wait(stalls_ms: list[float], span_ms: float) -> dict:
    """What a key pressed at a random moment of `span_ms` waits before the UI thread
    can take it up, from the thread's stalls: inside a stall of L ms it waits what is
    left of it (uniform in 0..L), between stalls nothing. The keys this benchmark sends
    cannot meet a stall (its coroutine runs on that thread): this is what they miss."""
    if span_ms <= 0:
        return {"p50": 0.0, "p95": 0.0, "p99": 0.0}

    def share_over(x: float) -> float:  # of the span, waiting more than x
        return sum(max(0.0, s_ - x) for s_ in stalls_ms) / span_ms

    out = {}
    for name, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99)):
        lo, hi = 0.0, max(stalls_ms, default=0.0)
        if share_over(0.0) <= 1 - q:
            out[name] = 0.0
            continue
        for _ in range(50):  # bisect: share_over falls as x grows
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if share_over(mid) > 1 - q else (lo, mid)
        out[name] = round(hi, 1)
    return out


async def keys_during_load(
    app, pilot, clock: FrameClock, loaded: Callable[[], bool], sample_ui: str | None = None
) -> dict:
    """Keys pressed from the first events on screen until the load is all committed and
    shown: rounds of list `j` / `pagedown`, a filter typed and applied, `j` in it, and
    the filter cleared. Each is timed like a direct sample (key to the frame with its
    full effect); only keys sent while events were still loading or pending count.
    Also the UI thread's longest stall (LoopLag) and its time in commits."""
    await wait_until(
        lambda: app.view is not None and len(app.store) > 0 and len(app.events_list.rows) > 0,
        timeout=600,
        step=0.01,
    )
    t_first = perf()
    b = Bench(app, pilot, clock)
    b.during_load = True
    commit_spans: list[tuple[float, float]] = []
    for name in ("commit", "publish"):  # publish: a commit prepared on a thread
        if hasattr(app.store, name):
            time_calls(app.store, name, commit_spans)
    lag = LoopLag()
    task = asyncio.create_task(lag.run())
    sampler = None
    if sample_ui is not None:  # --sample-ui: the UI thread's CPU by stack (ui_sampler.py)
        from benchmarks.ui_sampler import UiSampler

        sampler = UiSampler(threading.main_thread().ident or 0)
        sampler.start()
    rounds = 0
    try:
        while not loaded():
            rounds += 1
            await b.list_moves("j", 2, "direct", "list j (down)")
            await b.list_moves("pagedown", 1, "direct", "list pagedown")
            if loaded():
                break
            await b.filter_apply(DURING_LOAD_FILTER, "direct")
            await b.list_moves("j", 1, "direct", "list j (down)")
            await b.clear_filter("direct")
    finally:
        task.cancel()
        b.close()
        if sampler is not None:
            sampler.stop()
    t_end = perf()
    if sampler is not None:
        from benchmarks.ui_sampler import breakdown, dump

        print(breakdown(sampler))
        dump(sampler, sample_ui)
        from benchmarks.ui_sampler import inside

        worst = sorted(lag.spans, key=lambda x: -x[1])[:15]  # (due, ms late)
        stretches = [(due, due + ms / 1000) for due, ms in worst]
        print("the UI thread's longest stalls, and where its CPU went in them:")
        print("\n".join("  " + line for line in inside(sampler, stretches)))
        print("CPU of the threads alive at the end, over the load (s):")
        for name, cpu in sorted(sampler.threads_cpu.items(), key=lambda x: -x[1]):
            if cpu > 0.05:
                print(f"  {name:50s} {cpu:6.2f}")
        print("the slowest keys, and where the UI thread's CPU went from the key to its frame:")
        slow = sorted(
            (x for x in b.samples if x["loading"] and x["ms"] is not None), key=lambda x: -x["ms"]
        )[:12]
        for x, line in zip(
            slow, inside(sampler, [(x["t0"], x["t_frame"]) for x in slow], top=6), strict=True
        ):
            gaps = [g for t, g, _ in sampler.gaps if x["t0"] <= t <= x["t_frame"] + 0.002]
            print(
                f"  {x['action']:22s} frames {x['frames']} first {x['first_frame_ms'] or 0:.0f}"
                f" gc {x['gc_ms']} sampler gaps {[round(g * 1000) for g in gaps]}\n"
                f"      {line}\n      parts {x['parts_ms']}"
            )
        print("the sampler's longest waits, and the other threads' frames just after:")
        for t, gap, threads in sorted(sampler.gaps, key=lambda g: -g[1])[:8]:
            print(f"  {gap * 1000:6.1f} ms at {t - t_first:6.2f} s:")
            for name, frames in threads.items():
                print(f"      {name:24s} {' < '.join(frames)}")
    during = [s_ for s_ in b.samples if s_["loading"] and s_["ms"] is not None]
    by_action: dict[str, list[float]] = {}
    for s_ in during:
        by_action.setdefault(s_["action"], []).append(s_["ms"])
    lags = [ms for t, ms in lag.spans if t_first <= t <= t_end]
    wait = random_moment_wait(lags, (t_end - t_first) * 1000)
    return {
        "first_events_s": t_first,
        "rounds": rounds,
        "samples": during,
        "actions": {a: stats(ms) for a, ms in by_action.items()},
        "every_key": stats([ms for ms in by_action.values() for ms in ms]),
        "stall_ms": {
            "max": max(lags, default=0.0),
            "p99": pct(lags, 0.99) if lags else 0.0,
            "over_60": sum(1 for x in lags if x > 60),
            "stalls_over_1ms": [round(x, 1) for x in lags if x > 1],
        },
        "random_moment_wait_ms": wait,
        "commits_ui_ms": [
            (round(s_ - t_first, 2), round((e - s_) * 1000, 1)) for s_, e in commit_spans
        ],
    }


def report_during_load(out: dict) -> None:
    d = out.get("during_load")
    if not d:
        return
    print(
        f"\nkeys during the load ({d['rounds']} rounds from the first events on screen at"
        f" {d['first_events_s']:.1f} s to the load's end at {out['loaded_s']:.1f} s;"
        f" direct, key to the frame with the full effect, ms):"
    )
    for action, st in d["actions"].items():
        print(
            f"    {action:36s} n={st['n']:<3d} p50 {st['p50']:7.1f}  p95 {st['p95']:7.1f}"
            f"  max {st['max']:7.1f}"
        )
    ev = d["every_key"]
    if ev:
        print(
            f"    {'every key':36s} n={ev['n']:<3d} p50 {ev['p50']:7.1f}  p95 {ev['p95']:7.1f}"
            f"  max {ev['max']:7.1f}"
        )
    st = d["stall_ms"]
    print(
        f"  the UI thread's longest stall (a 5 ms sleep's lateness): {st['max']:.1f} ms"
        f" (p99 {st['p99']:.1f}; {st['over_60']} over 60 ms)"
    )
    w = d.get("random_moment_wait_ms")
    if w:
        print(
            f"  a key pressed at a random moment of the load waits for the UI thread (its"
            f" stalls): p50 {w['p50']:.1f}, p95 {w['p95']:.1f}, p99 {w['p99']:.1f} ms"
            " (the keys above are sent from that thread, so they never meet a stall)"
        )
    cs = d["commits_ui_ms"]
    if cs:
        print(
            f"  commits on the UI thread: {len(cs)}, longest {max(ms for _, ms in cs):.1f} ms,"
            f" in all {sum(ms for _, ms in cs):.0f} ms: "
            + ", ".join(f"{t:.1f}s:{ms:.0f}" for t, ms in cs)
        )
    slow = sorted(d["samples"], key=lambda s_: -s_["ms"])[:5]
    print("  the slowest keys: " + "; ".join(f"{s_['action']} {s_['ms']:.0f} ms" for s_ in slow))


async def wait_loaded(app, probe: Probe, timeout: float = 600.0) -> float:
    """Frame time at which the fully loaded view was first on screen."""
    end = perf() + timeout
    while perf() < end:
        if await probe.wait(0.5):
            return probe.t_frame
        if app._exception is not None:
            raise SystemExit(f"the app failed while loading: {app._exception!r}")
    raise SystemExit(f"the trail did not finish loading in {timeout:.0f} s")


async def run(args) -> dict:
    from benchmarks.bench_engine import ensure_data
    from tui.app import TrailscopeApp

    trail = ensure_data(args.events, Path(args.data_dir))
    if args.panels_inline_max is not None:
        import tui.main_screen

        tui.main_screen.PANELS_INLINE_MAX = args.panels_inline_max
    if args.no_warm_heap:  # A/B: the first views fault their heap in themselves
        import tui.app

        if hasattr(tui.app, "warm_view_heap"):
            tui.app.warm_view_heap = lambda store, fields: (0, 0)
    if args.direct_commits:
        import tui.policies

        if hasattr(tui.policies.CommitPacer, "STAGE_MIN"):
            tui.policies.CommitPacer.STAGE_MIN = 1 << 62
    start_resource_tracker()
    app = TrailscopeApp([str(trail)], watch=False)
    if args.no_pause and hasattr(app, "pause_for_input"):
        app.pause_for_input = lambda: None  # the analysis runs on through keys
    t_app = perf()
    clock = FrameClock(app)
    state = AppState(app)
    out: dict = {
        "events_requested": args.events,
        "trail": str(trail),
        "code": code_version(),
        "code_dir": str(Path(sys.modules[TrailscopeApp.__module__].__file__).parents[1]),
        "detail_delay_s": detail_delay(),
    }

    def fully_loaded() -> bool:
        v = app.view
        return (
            not app.loading
            and v is not None
            and not state.view_pending()
            and not state.store_pending()
            and not state.loader_backlog()
            and v.generation == app.store.generation
            and len(app.events_list.rows) == len(app.store)
        )

    loaded_probe = clock.probe(perf(), fully_loaded, label="loaded")
    t_start = perf()
    loaded_probe.t0 = t_start
    w, h = (int(x) for x in args.size.split("x"))
    async with app.run_test(size=(w, h)) as pilot:
        t_ready = perf()
        await pilot.pause()
        t_pause = perf()
        app.filter_input.cursor_blink = False
        first = clock.frames[0] if clock.frames else None
        if args.during_load:
            out["during_load"] = await keys_during_load(
                app, pilot, clock, fully_loaded, args.sample_ui
            )
            out["during_load"]["first_events_s"] -= t_start
        t_loaded = await wait_loaded(app, loaded_probe)
        t_analysed = None
        if args.after_analysis:
            # The detections and credential index (a worker thread, tui/analysis.py).
            end = perf() + 600
            while getattr(app, "analysing", False) or getattr(app, "rules_pending", False):
                if perf() > end:
                    raise WaitFailed("the detections/credential analysis did not end in 600 s")
                await asyncio.sleep(0.2)
            t_analysed = perf() - t_start
        out.update(
            events=len(app.store),
            files=len(app.store.files),
            first_frame_s=None if first is None else first - t_start,
            run_test_ready_s=t_ready - t_start,
            first_pause_s=t_pause - t_start,
            loaded_s=t_loaded - t_start,
            analysed_s=t_analysed,
            frames_during_load=sum(1 for f in clock.frames if f <= t_loaded),
            encode_ms_median=statistics.median(clock.frame_cost) if clock.frame_cost else None,
        )
        print(
            f"\n== explorer, {out['events']:,} events ({out['files']:,} files), "
            f"{w}x{h} headless; code {out['code']} in {out['code_dir']}, C scan "
            f"{'on' if 'tui.core._scan' in sys.modules else 'off'} =="
        )
        if t_analysed is not None:
            print(f"keys timed once the detections/credential analysis ended: {t_analysed:.1f} s")
        print(
            f"first frame (screen composed, 'loading…'):  {out['first_frame_s']:.3f} s"
            f"   [run_test ready {out['run_test_ready_s']:.3f} s, first pilot.pause() "
            f"returned {out['first_pause_s']:.3f} s]"
        )
        print(
            f"fully loaded (all events committed, full view on screen): "
            f"{out['loaded_s']:.2f} s  ({out['events'] / out['loaded_s']:,.0f} events/s, "
            f"{out['frames_during_load']} frames drawn while loading)"
        )
        await clock.settle()
        t = perf()
        freed = gc.collect()
        t1 = perf()
        gc.collect()
        out["gc_collect_after_load_ms"] = [(t1 - t) * 1000, (perf() - t1) * 1000, freed]
        print(
            f"gc.collect() once loaded: {out['gc_collect_after_load_ms'][0]:.0f} ms (freed "
            f"{freed:,}), again at once: {out['gc_collect_after_load_ms'][1]:.0f} ms; "
            f"{len(gc.get_objects()):,} tracked objects"
        )
        if args.during_load:
            out["load_cpu_s"] = sum(resource.getrusage(resource.RUSAGE_SELF)[:2])
            out["loadavg"] = os.getloadavg()
            return out
        await clock.settle()
        out["rss_mb_before_keys"] = rss_mb()
        now_mb, peak_mb = out["rss_mb_before_keys"]
        print(f"RSS before the keys: {now_mb:.0f} MB now, {peak_mb:.0f} MB peak")

        b = Bench(app, pilot, clock)
        objects_before = len(gc.get_objects())
        t_meas = perf()
        n = args.presses
        modes = ("direct",) if args.filters_only or args.sort_only else ("pilot", "direct")
        b.filters_only = args.filters_only
        if args.profile:
            import cProfile

            b.profiles = {a: cProfile.Profile() for a in PROFILED}
        if args.sort_only:
            for mode in modes:
                await b.sorts(max(8, n // 4), mode)
            for mode in modes:
                await b.sorted_moves(n, mode)
        elif not args.filters_only:
            await b.noop(n, "pilot")
            for mode in modes:
                await b.list_moves("j", n, mode, "list j (down)")
            for mode in modes:
                await b.list_moves("pagedown", n, mode, "list pagedown")
            for mode in modes:
                await b.ends(n, mode)
            for mode in modes:
                await b.detail_moves(n, mode)
            if args.no_sort or not b.state.can_sort():
                print(
                    "sorting: not timed ("
                    + ("--no-sort)" if args.no_sort else "no sorting in this code)")
                )
            else:
                for mode in modes:
                    await b.sorts(max(8, n // 4), mode)
                for mode in modes:
                    await b.sorted_moves(n, mode)
        pivots = pivot_filters(b.app.store, args.filters) if args.pivots else []
        for mode in modes if not args.sort_only else ():
            for i in range(args.filters):
                if pivots:
                    label, text = pivots[i % len(pivots)]
                    await b.filter_apply(text, mode, label)
                else:
                    await b.filter_apply(FILTERS[i % len(FILTERS)], mode)
        for mode in modes if not args.sort_only else ():
            for i in range(args.filters):
                await b.facet_pick(i, mode)
        b.close()
        for action, prof in (b.profiles or {}).items():
            name = action.split(" (")[0].replace(" ", "-")
            prof.dump_stats(f"{args.profile}-{name}.prof")
        for d in (b.results, b.breakdown, b.gc_hits):
            d.pop("(reset)", None)
        pauses = [(e - s_) * 1000 for s_, e in b.gc2]
        out["gc"] = {
            "tracked_objects_before": objects_before,
            "tracked_objects_after": len(gc.get_objects()),
            "gen2_collections": len(pauses),
            "measure_s": perf() - t_meas,
            "gen2_pause_ms": stats(pauses),
            "samples_hit": b.gc_hits,
        }
        out["frame_encode_ms_median"] = statistics.median(clock.frame_cost)
        out["actions"] = {a: {k: stats(v) for k, v in r.items()} for a, r in b.results.items()}
        out["breakdown_ms_median"] = {
            a: {
                k: statistics.median(d.get(k, 0.0) for d in rows)
                for k in dict.fromkeys(k for d in rows for k in d)
            }
            for a, rows in b.breakdown.items()
        }
        out["timeouts"] = b.timeouts
        out["rss_mb_after_keys"] = rss_mb()
        out["samples"] = b.samples
        gate = getattr(app, "pause_gate", None)
        out["analysis"] = {
            "runs_s": list(getattr(app, "analysis_runs", [])),
            "pause": None if args.no_pause else getattr(app, "pause_for_input", None) is not None,
            "pauses": getattr(gate, "pauses", None),
            "paused_s": getattr(gate, "paused_s", None),
            "loaded_s": t_loaded - t_app,
        }
    return out


def report(out: dict) -> None:
    acts = out["actions"]
    hits = out["gc"]["samples_hit"]
    floor = acts.get(f"no-op key ({NOOP_KEY!r}, no binding)", {}).get("pilot")
    print("\nkeypress latency, ms  (n = Pilot samples / direct samples)")
    h3, h2 = "p50     p95     max", "p50     p95"
    print(
        f"{'action':34s} {'n':>7s}  {'Pilot press+pause':^23s}  {'under Pilot':^15s}"
        f"  {'first frame (direct)':^23s}  {'full effect (direct)':^23s}  {'+footer':>7s}"
        f"  {'gc2':>3s}"
    )
    print(f"{'':34s} {'':7s}  {h3:>23s}  {h2:>15s}  {h3:>23s}  {h3:>23s}  {'p95':>7s}")

    def two(d: dict | None) -> str:
        return " ".join(["-".rjust(7)] * 2) if d is None else f"{d['p50']:7.1f} {d['p95']:7.1f}"

    for a, r in acts.items():
        n_p = r["pilot"]["n"] if r["pilot"] else 0
        n_d = r["frame"]["n"] if r["frame"] else 0
        fa = r.get("frame_all")
        print(
            f"{a:34s} {n_p:>3d}/{n_d:<3d}  {fmt_stats(r['pilot'])}  {two(r['frame_pilot'])}  "
            f"{fmt_stats(r['frame_first'])}  {fmt_stats(r['frame'])}  "
            f"{fa['p95'] if fa else float('nan'):7.1f}  {hits.get(a, 0):3d}"
        )
    print(
        "  Pilot press+pause: await pilot.press(key); [poll until the view is applied];"
        " await pilot.pause()."
    )
    print("  under Pilot: key -> full-effect frame, in the Pilot pass.")
    print(
        "  first frame: key -> first frame showing the key's primary effect (list cursor moved /"
        " new view in the list\n    and detail pane / character in the input / tree"
        " cursor moved), those widgets drawn."
    )
    print(
        "  full effect: key -> first frame with everything it changes drawn (for list moves and"
        " filters: the detail\n    pane shows the cursor's event; facets, timeline, status) --"
        " every widget but the key-hint footer."
    )
    print(
        "  +footer: the same including the key-hint line.  gc2: direct"
        " samples during which a\n    full (generation 2) garbage collection ran."
    )
    if out.get("detail_delay_s"):
        print(
            f"  A single list move updates the detail pane in the same handler; only moves that"
            f" repeat within\n    100 ms (held keys) wait for the"
            f" cursor to rest DETAIL_DELAY = {out['detail_delay_s'] * 1000:.0f} ms. Direct samples"
            f" are single moves."
        )
    g = out["gc"]
    gp = g["gen2_pause_ms"]
    print(
        f"\nfull GCs while measuring: {g['gen2_collections']} in {g['measure_s']:.0f} s, pause "
        + ("-" if gp is None else f"p50 {gp['p50']:.0f} ms, max {gp['max']:.0f} ms")
        + f"; tracked objects {g['tracked_objects_before']:,} -> {g['tracked_objects_after']:,}"
    )
    if floor:
        print(
            f"Pilot floor (press + pause of a key with no binding): p50 {floor['p50']:.1f} ms,"
            f" p95 {floor['p95']:.1f} ms: the harness's own sleeps (wait_for_idle, 20 ms steps),"
            f" not app work"
        )
    print(
        f"encoding one frame's escape sequences (the driver's share, included in 'frame'): "
        f"median {out['frame_encode_ms_median']:.2f} ms"
    )
    bd = out["breakdown_ms_median"]
    cols = [
        "key -> view ready (worker)",
        "show_view",
        "EventList.set_rows",
        "facets+timeline",
        "Timeline.set_data",
        "DetailPane.show",
        "screen layout+render",
        "EventList.set_sort",
        "frame held",
    ]
    short = [
        "key->view ready",
        "show_view",
        "set_rows",
        "facets+timeline",
        "timeline",
        "detail.show",
        "layout+render",
        "set_sort",
        "frame held",
    ]
    print(
        "\nwhere a direct keypress spends its time, ms (medians). key->view ready: from the key"
        " to show_view starting\n(parse, view worker thread, message hop); show_view includes"
        " set_rows and, over views of up to 200k rows,\nfacets+timeline (over bigger ones they"
        " are drawn a frame later); timeline: its set_data, within facets+timeline;\n"
        "layout+render: Textual's"
        " Screen._refresh_layout/_compositor_refresh (all frames up to the measured one);\n"
        "frame held: a list key's screen updates held until the detail pane follows"
        " (FrameHold; released by the pane, or by a timer):"
    )
    print(f"{'action':36s} " + " ".join(f"{c:>15s}" for c in short))
    for a, d in bd.items():
        if not any(d.get(c, 0) >= 0.05 for c in cols):
            continue
        print(f"{a:36s} " + " ".join(f"{d[c]:15.1f}" if c in d else f"{'-':>15s}" for c in cols))
    slowest: dict[str, dict] = {}
    for smp in out["samples"]:
        a = smp["action"]
        if a.startswith(("filter apply", "clear filter", "facet pick", "sort (")) and (
            a not in slowest or smp["ms"] > slowest[a]["ms"]
        ):
            slowest[a] = smp
    if slowest:
        print(
            "\nthe slowest direct sample of each view-changing key: frames drawn up to it,"
            " collections during it\n(generation: ms), and its parts as above, ms:"
        )
        for a, smp in slowest.items():
            parts = ", ".join(f"{k} {v:.1f}" for k, v in smp["parts_ms"].items() if v >= 0.05)
            gcs = ", ".join(f"gen{g}: {ms:.1f}" for g, ms in smp["gc_ms"]) or "none"
            bg = ", during the detections/credential analysis" if smp.get("analysing") else ""
            print(
                f"  {a}: {smp['ms']:.1f} ms, {smp['frames']} frames, collections {gcs}{bg}; {parts}"
            )
        print(
            "\neach view-changing direct sample in order: ms, page faults (the process's"
            " minor faults, key to frame; of them the UI thread's), key -> view ready /"
            " show_view / layout+render ms:"
        )
        for smp in out["samples"]:
            if not smp["action"].startswith(("filter apply", "clear filter", "facet pick")):
                continue
            p = smp["parts_ms"]
            print(
                f"  {smp['action'][:14]:14s} {smp['ms']:6.1f} ms {smp.get('page_faults', 0):7d} pf"
                f" ({smp.get('page_faults_ui', 0):5d} UI)"
                f"  {p.get('key -> view ready (worker)', 0):5.1f} / {p.get('show_view', 0):5.1f}"
                f" / {p.get('screen layout+render', 0):5.1f}"
            )
        if "rss_mb_after_keys" in out:
            now_mb, peak_mb = out["rss_mb_after_keys"]
            print(f"  RSS after the keys: {now_mb:.0f} MB now, {peak_mb:.0f} MB peak")
        during = [s["action"] for s in out["samples"] if s.get("analysing")]
        if during:
            print(
                f"  direct samples while the detections/credential analysis ran (its worker"
                f" thread holds the GIL between numpy calls): {len(during)} of"
                f" {len(out['samples'])}"
            )
    report_analysis(out)
    if out["timeouts"]:
        print(
            f"timeouts (no matching frame within {TIMEOUT_S:.0f} s, or 5 s for +footer):"
            f" {out['timeouts']}"
        )
    keys = [a for a in acts if a.startswith(("list ", "filter apply", "pivot "))]
    sort = next((a for a in acts if a.startswith("sort (")), None)
    if sort is not None and acts[sort]["frame"]:
        p95 = acts[sort]["frame"]["p95"]
        print(
            f"\ntarget: a re-sort of {out['events']:,} events <= 300 ms: p95 {p95:.1f} ms -> "
            f"{'met' if p95 <= 300 else 'NOT met'}"
        )
    print(
        f"\ntarget: keypress -> updated frame <= 50 ms p95 with {out['events']:,} events (list"
        f" moves and indexed filter apply):"
    )
    for col, label in (
        ("frame_first", "first frame showing the key"),
        ("frame", "full effect (detail pane etc.)"),
    ):
        worst = max((acts[a][col]["p95"], a) for a in keys if acts[a][col])
        print(
            f"  {label}: worst p95 {worst[0]:.1f} ms [{worst[1]}] -> "
            f"{'met' if worst[0] <= 50 else 'NOT met'}"
        )
    over = [
        (a, r["frame"]["p95"]) for a, r in acts.items() if r["frame"] and r["frame"]["p95"] > 50
    ]
    if over:
        print("  full effect above 50 ms p95: " + "; ".join(f"{a} {v:.0f} ms" for a, v in over))


def report_analysis(out: dict) -> None:
    """The keys pressed while the post-load analysis ran, and what pausing it cost."""
    a = out.get("analysis")
    if not a:
        return
    during: dict[str, list[float]] = {}
    for smp in out["samples"]:
        if smp.get("analysing") and smp["ms"] is not None:
            during.setdefault(smp["action"], []).append(smp["ms"])
    runs = ", ".join(f"{s:.1f}" for s in a["runs_s"]) or "none ended"
    how = {True: "paused while keys are answered", False: "not paused (--no-pause)"}
    print(
        f"\nthe detections/credential analysis ({how.get(a['pause'], 'no pause gate')}):"
        f" run(s) {runs} s after a load of {a['loaded_s']:.1f} s"
        + (
            f"; {a['pauses']} waits at its checkpoints, {a['paused_s']:.1f} s summed over"
            " its threads"
            if a.get("pauses") is not None and a["pause"]
            else ""
        )
    )
    if not during:
        print("  no direct sample overlapped it")
        return
    print("  direct samples that overlapped it, full effect, ms:")
    for action, ms in during.items():
        st = stats(ms)
        print(
            f"    {action:36s} n={st['n']:<3d} p50 {st['p50']:7.1f}  p95 {st['p95']:7.1f}"
            f"  max {st['max']:7.1f}"
        )
    every = stats([x for ms in during.values() for x in ms])
    print(
        f"    {'every key':36s} n={every['n']:<3d} p50 {every['p50']:7.1f}  p95 {every['p95']:7.1f}"
        f"  max {every['max']:7.1f}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--presses", type=int, default=60, help="samples per key action and mode")
    ap.add_argument(
        "--filters",
        type=int,
        default=20,
        help="filter applies and facet picks per mode (each filter is typed)",
    )
    ap.add_argument(
        "--filters-only",
        action="store_true",
        help="only filter applies, clears and facet picks, direct (at 10M the"
        " other keys take most of the run)",
    )
    ap.add_argument(
        "--pivots",
        action="store_true",
        help="the filters applied are pivots on values of the trail's rows (a key, a"
        " principal, a session exactly, a wildcard on a principal), each value new",
    )
    ap.add_argument(
        "--no-sort", action="store_true", help="skip the sort key and moves in a sorted list"
    )
    ap.add_argument(
        "--sort-only",
        action="store_true",
        help="only the sort key and moves in a sorted list, direct (a short run at 10M)",
    )
    ap.add_argument(
        "--code",
        metavar="DIR",
        help="time the app of another checkout (its C scan built in place) with this script",
    )
    ap.add_argument(
        "--after-analysis",
        action="store_true",
        help="time keys only once the detections/credential analysis (a worker thread"
        " started after the load) has ended; by default keys may overlap it",
    )
    ap.add_argument(
        "--no-pause",
        action="store_true",
        help="keys do not pause the analysis (tui/analysis.py pause_for_input): to compare",
    )
    ap.add_argument(
        "--panels-inline-max",
        type=int,
        metavar="N",
        help="set the app's PANELS_INLINE_MAX (views of more rows draw facets and timeline"
        " a frame later): times that two-frame path on a small trail",
    )
    ap.add_argument(
        "--profile",
        metavar="PREFIX",
        help="cProfile the UI thread from each filter apply / facet pick key (direct) to"
        " its frame; writes PREFIX-<action>.prof",
    )
    ap.add_argument(
        "--no-warm-heap",
        action="store_true",
        help="A/B: skip the explorer's warm_view_heap after the load",
    )
    ap.add_argument(
        "--during-load",
        action="store_true",
        help="only keys pressed while the trail loads (from the first events on screen"
        " to the last commit): list moves, a filter typed and applied, clear; and the UI"
        " thread's longest stall",
    )
    ap.add_argument(
        "--sample-ui",
        metavar="FILE",
        help="with --during-load: sample the UI thread's stack every 1 ms and charge its"
        " CPU time to it (benchmarks/ui_sampler.py); prints the breakdown, writes the"
        " stacks to FILE (JSON)",
    )
    ap.add_argument(
        "--direct-commits",
        action="store_true",
        help="A/B: every commit on the UI thread (no commit prepared on a thread)",
    )
    ap.add_argument("--size", default="160x50")
    ap.add_argument("--data-dir", default=str(HERE / "data"))
    ap.add_argument("--json", help="also write results here")
    args = ap.parse_args()
    if args.code:
        global CODE
        import benchmarks.bench_engine  # noqa: F401 - this tree's data helpers, before the switch

        CODE = Path(args.code).resolve()
        os.environ[CODE_ENV] = str(CODE)
        sys.path.insert(0, str(CODE))
    try:
        out = asyncio.run(run(args))
    except WaitFailed as e:
        raise SystemExit(f"bench_app: stopped, a wait cannot end: {e}") from None
    if args.during_load:
        report_during_load(out)
        print(f"  main process CPU {out['load_cpu_s']:.1f} s; load average {out['loadavg']}")
    else:
        report(out)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
