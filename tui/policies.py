"""The explorer's scheduling policies, as plain objects the app wires together.

Each holds the state of one decision (when to commit arrivals, when to redraw, which
values carry a "new" mark, when to collect garbage...) and takes the time as an
argument (`time.monotonic()` values), so it can be tested without a terminal or sleeps.
The figures quoted were measured with benchmarks/bench_app.py and bench_tail.py --app.
"""

from __future__ import annotations

import gc
import threading
from collections import deque
from collections.abc import Callable, Container, Iterable, Mapping, Sized
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

if TYPE_CHECKING:
    pass

_K = TypeVar("_K")

__all__ = [
    "ArrivalRate",
    "CommitPacer",
    "FilterUndo",
    "FrameHold",
    "FreshMarks",
    "FreshValues",
    "GcPolicy",
    "HeldKeys",
    "KeyGate",
    "LoaderBacklog",
    "RedrawPacer",
    "ViewRequests",
    "fill_status",
]


# ------------------------------------------------------------------------ commits
class CommitPacer:
    """When pending events are committed into the store (queryable from then on).

    While a big trail streams in, commit when the pending part is a good fraction of the
    store: each commit merges in O(n) and recomputes the view, so committing every pump
    would make loading quadratic. While tailing a big store each commit costs the UI
    thread a few ms (at 1.1M events ~5 ms; it grows with the arrivals' spread in time,
    not with the store), and more once a view keeps the unfiltered order (the next
    commit copies it), so commits are spaced to keep them under `share` of its time, at
    most `max_gap` seconds apart.
    """

    LOAD_BATCH_MIN = 20_000  # events pending before a commit while loading...
    LOAD_BATCH_SHARE = 4  # ...or this fraction (1/n) of the store
    LOAD_MAX_WAIT_S = 2.0  # ...or this long since the last one

    def __init__(self, share: float = 1 / 15, max_gap: float = 0.75) -> None:
        self.share = share
        self.max_gap = max_gap
        self.last = 0.0  # when the last commit started
        self.gap = 0.0  # seconds to leave after it, from its cost

    def due(self, now: float, *, loading: bool, stored: int, pending: int) -> bool:
        """Whether `pending` events (> 0) are committed now into a store of `stored`."""
        if (
            loading
            and stored
            and now - self.last < self.LOAD_MAX_WAIT_S
            and pending < max(self.LOAD_BATCH_MIN, stored // self.LOAD_BATCH_SHARE)
        ):
            return False
        return loading or now - self.last >= self.gap

    # A commit of this many events or more is prepared on a thread (Store.stage) and
    # published on the UI thread in O(new rows): at 2M-9M events a load's commit cost
    # the UI thread 0.4-1 s, mostly O(store) (the time order's merge, the id index's
    # fold, columns regrown). Smaller ones (a tail's) stay direct: they insert into
    # the order in place, moving only its newest part, where a staged one copies it.
    STAGE_MIN = 20_000

    def staged(self, pending: int) -> bool:
        """Whether a commit of `pending` events is prepared on a thread."""
        return pending >= self.STAGE_MIN

    def committed(self, started: float, cost: float) -> None:
        self.last = started
        self.gap = min(self.max_gap, cost / self.share)

    def next_at_once(self) -> None:
        """The next commit is not spaced (the load's last events: tailing starts once
        they are committed, and counts as arrivals only what comes after)."""
        self.gap = 0.0


class ArrivalRate:
    """Events committed while tailing, over the last `window` seconds."""

    def __init__(self, window: float = 60.0) -> None:
        self.window = window
        self._arrivals: deque[tuple[float, int]] = deque()  # (time, events)

    def add(self, now: float, events: int) -> None:
        self._arrivals.append((now, events))

    def trim(self, now: float) -> None:
        arrivals = self._arrivals
        while arrivals and arrivals[0][0] < now - self.window:
            arrivals.popleft()

    def per_window(self, now: float) -> int:
        return sum(n for t, n in self._arrivals if t >= now - self.window)


class LoaderBacklog:
    """Loader messages posted and not handled yet: the loader thread waits while the UI
    is behind (Textual's message queue is unbounded)."""

    def __init__(self) -> None:
        self._n = 0
        self._lock = threading.Lock()

    def posted(self) -> None:
        with self._lock:
            self._n += 1

    def handled(self) -> None:
        with self._lock:
            self._n -= 1

    def __len__(self) -> int:
        return self._n


# ------------------------------------------------------------------------- views
class ViewRequests:
    """The view computations asked for: each gets the next number (a result with an
    older one is stale); while one runs in a thread, another request waits for it."""

    def __init__(self) -> None:
        self.seq = 0  # the latest view asked for
        self.running = False  # one is being computed in a thread
        self.dirty = False  # another was asked for meanwhile
        self.threaded = 0  # views computed in a thread so far

    def defer(self) -> bool:
        """True if one is running: the request is remembered for when it ends."""
        if self.running:
            self.dirty = True
        return self.running

    def next(self) -> int:
        self.seq += 1
        return self.seq

    def started_in_thread(self) -> None:
        self.running = True
        self.threaded += 1

    def finished(self) -> None:
        self.running = False

    def take_dirty(self) -> bool:
        """True (once) if another view was asked for while one ran."""
        dirty, self.dirty = self.dirty, False
        return dirty

    @property
    def pending(self) -> bool:
        return self.running or self.dirty


class RedrawPacer:
    """When committed events and a new filter's panes reach the screen, around keys.

    - While tailing, keys this recent (`quiet_s`) put off redrawing arrivals, for at
      most `max_view_defer_s`: a held key never queues behind a full redraw of every
      pane (measured at 5k events/s: list keys p95 137 ms before this).
    - Arrivals' facets and timeline wait for a pause in the keys, at most
      `max_panels_defer_s`, so a key is less likely to queue behind their ~20 ms frame.
    - A commit due between a new filter's handler and its frame runs after that frame
      (at 1.3M events it added ~6 ms to the key in about one apply in seven), or after
      `filter_frame_hold_s` if no frame comes (another screen is up).
    """

    def __init__(
        self,
        quiet_s: float = 0.3,
        max_view_defer_s: float = 1.0,
        max_panels_defer_s: float = 3.0,
        filter_frame_hold_s: float = 0.25,
    ) -> None:
        self.quiet_s = quiet_s
        self.max_view_defer_s = max_view_defer_s
        self.max_panels_defer_s = max_panels_defer_s
        self.filter_frame_hold_s = filter_frame_hold_s
        self.last_input = 0.0  # the last key
        self.last_view_at = 0.0  # the last redraw of arrivals
        self.stale = False  # committed events not in the view yet
        self.panels_since: float | None = None  # when arrivals' panels were put off
        self._frame_due: float | None = None
        self._commit_after_frame = False

    def key(self, now: float) -> None:
        self.last_input = now

    def keys_recent(self, now: float) -> bool:
        return now - self.last_input < self.quiet_s

    # a new filter's frame
    def filter_shown(self, now: float) -> None:
        self._frame_due = now + self.filter_frame_hold_s

    def commit_waits_for_frame(self, now: float) -> bool:
        if self._frame_due is not None and now < self._frame_due:
            self._commit_after_frame = True
            return True
        return False

    def frame_drawn(self) -> bool:
        """True if a commit was put off until this frame."""
        self._frame_due = None
        put_off, self._commit_after_frame = self._commit_after_frame, False
        return put_off

    # arrivals
    def defer_view(self, now: float, tailing: bool) -> bool:
        return tailing and self.keys_recent(now) and now - self.last_view_at < self.max_view_defer_s

    def view_redrawn(self, now: float) -> None:
        self.stale = False
        self.last_view_at = now

    def defer_panels(self, now: float) -> bool:
        """Put arrivals' panels off; True when this starts a wait (arm a timer)."""
        if self.panels_since is None:
            self.panels_since = now
            return True
        return False

    def panels_wait_on(self, now: float) -> bool:
        """At the end of a wait: True if keys still come (wait again)."""
        since = self.panels_since
        return since is not None and self.keys_recent(now) and now - since < self.max_panels_defer_s


# ------------------------------------------------------------------------ frames
class FrameHold:
    """Screen updates held from a key until its effect is complete, so it reaches the
    screen in one frame: a list key's frame waits for the detail pane to show the event
    it moves to (otherwise the list's frame goes out first and the pane's follows a
    60 Hz tick or two later: measured at 1M, ~50 ms p50 from key to both drawn, the list
    alone ~10 ms).

    `batch` is the app's `batch_update` (a context manager that suspends repaints),
    entered on `hold` and left on `release`, which may come from another handler.
    `released` runs after (render what changed meanwhile).
    """

    def __init__(
        self,
        batch: Callable[[], AbstractContextManager[Any]],
        released: Callable[[], None] = lambda: None,
    ) -> None:
        self._batch = batch
        self._released = released
        self._held: AbstractContextManager[Any] | None = None

    @property
    def held(self) -> bool:
        return self._held is not None

    def hold(self) -> bool:
        """True if this starts a hold (the caller arms its time limit)."""
        if self._held is not None:
            return False
        self._held = self._batch()
        self._held.__enter__()
        return True

    def release(self) -> None:
        held, self._held = self._held, None
        if held is not None:
            held.__exit__(None, None, None)
            self._released()


# -------------------------------------------------------------------------- keys
class KeyGate(Generic[_K]):
    """Keys go to the widgets one at a time: one that comes while the key before it is
    still being handled is held, and sent once that key's effect is done (a focus move,
    a screen pushed or dismissed). Keys read from the terminal together (typed ahead,
    pasted, batched by a slow SSH link) were all sent at once to the widget focused
    when they came in: after `/abc` Enter, `jj` went into the filter text instead of
    moving the list cursor.

    The app says when a key is `sent` (its number: `seq`) and when that key is `done`;
    a `done` for any other key (late, after `overdue` gave up on it) changes nothing.
    `next` gives the held key whose turn it is, if no key is being handled.

    A key is only waited for when the next one comes: `unconfirmed` is where the keys
    sent since the last wait went, and how many echo passes their end takes (2 if one
    of them may move the focus). Keys that cannot (a list cursor key, a character typed
    into a field) are sent one after the other without a wait.
    """

    def __init__(self, max_wait_s: float = 1.0) -> None:
        self.held: deque[_K] = deque()
        self.seq = 0  # the key sent last
        self.max_wait_s = max_wait_s  # a key whose end never came holds no longer
        self.unconfirmed: tuple[Any, int] | None = None  # (where, echo passes)
        self._sent_at: float | None = None  # when the key being handled was sent

    @property
    def busy(self) -> bool:
        """A key is being handled, or keys wait: a new key waits its turn."""
        return self._sent_at is not None or bool(self.held)

    def sent(self, now: float) -> int:
        self.seq += 1
        self._sent_at = now
        return self.seq

    def done(self, seq: int) -> bool:
        """Key `seq` is handled; False if it was not the key being handled."""
        if seq != self.seq or self._sent_at is None:
            return False
        self._sent_at = None
        return True

    def next(self) -> _K | None:
        if self._sent_at is not None or not self.held:
            return None
        return self.held.popleft()

    def overdue(self, now: float) -> bool:
        return self._sent_at is not None and now - self._sent_at > self.max_wait_s


class HeldKeys:
    """Whether a list cursor move comes from a key held down (or keys typed faster than
    `within_s` apart): then the detail pane waits for the cursor to rest.

    A move made by a key is judged by when that key came from the terminal (Textual's
    `Key.time`, stamped as the terminal is read), against the list key before it; not
    by when the move is handled. While a load keeps the UI thread busy, a key handled
    late lands close to the move before it: judged by handling times it looked held,
    and its detail pane waited DETAIL_DELAY for nothing (list `j` during a 10M load: 107
    ms where the list moved in 35). Moves with no key of their own (a click, the rest
    of a burst's moves, the cursor following arrivals) are judged by how close they are
    handled to the move before, as before.
    """

    def __init__(self, within_s: float = 0.1, key_life_s: float = 0.5) -> None:
        self.within_s = within_s
        self.key_life_s = key_life_s  # a key whose move never came judges no later move
        self._key_at: float | None = None  # when the last list key came (Key.time)
        # (held, handled at) of each key handled whose move is still to come, in order:
        # keys queued while the UI thread was busy are all handled before their moves.
        self._unjudged: deque[tuple[bool, float]] = deque(maxlen=64)
        self._moved_at = float("-inf")  # when the last move was handled

    def key(self, came_at: float, now: float) -> None:
        """A list key that came at `came_at` (its Key.time) is handled at `now`."""
        held = self._key_at is not None and came_at - self._key_at < self.within_s
        self._key_at = came_at
        self._unjudged.append((held, now))

    def moved(self, now: float) -> bool:
        """The cursor moved (handled at `now`): whether the move is a held key's."""
        unjudged = self._unjudged
        while unjudged and now - unjudged[0][1] >= self.key_life_s:
            unjudged.popleft()  # keys that moved nothing (j on the last row)
        held = unjudged.popleft()[0] if unjudged else now - self._moved_at < self.within_s
        self._moved_at = now
        return held


# ----------------------------------------------------------------- garbage collection
class _Collector(Protocol):
    def collect(self, generation: int = 2) -> int: ...
    def disable(self) -> None: ...
    def enable(self) -> None: ...
    def freeze(self) -> None: ...
    def get_count(self) -> tuple[int, int, int]: ...
    def isenabled(self) -> bool: ...
    def set_threshold(
        self, threshold0: int, threshold1: int = ..., threshold2: int = ..., /
    ) -> None: ...


class GcPolicy:
    """When the garbage collector runs: not while a trail loads, and once loaded in the
    pauses between keys and right after frames, rather than inside a key."""

    def __init__(
        self,
        young_threshold: int = 50_000,
        idle_s: float = 0.1,
        idle_min: int = 2_000,
        frame_min: int = 10_000,
        collector: _Collector = gc,
    ) -> None:
        self.young_threshold = young_threshold
        self.idle_s = idle_s  # young objects are collected once keys paused this long...
        self.idle_min = idle_min  # ...and at least this many are waiting
        self.frame_min = frame_min  # ...or right after a frame once this many wait
        self.gc = collector

    def pause(self) -> None:
        """Loading allocates many long-lived objects; collecting while they pour in
        only costs pauses. `settle` enables it again (and `restore` on exit)."""
        self.gc.disable()

    def part_loaded(self) -> None:
        """A commit of a load is in the store: collect the young garbage (the panes'
        churn since the last one) and freeze what lives, as `settle` does at the end.
        Only while paused (loading). `settle`'s full collection then walks only what came
        after the last commit, not the whole store: at 10M events it held the UI thread
        0.4-0.7 s at the load's end, walking the value dictionaries' lists and dicts."""
        if self.gc.isenabled():
            return
        self.gc.collect(1)
        self.gc.freeze()

    def settle(self) -> None:
        """After loading: everything alive now (store, widgets) lives long. Freezing it
        keeps full collections from scanning it; measured here, full collections over
        ~800k tracked objects paused the UI for 270 ms each (benchmarks/bench_app.py)."""
        self.gc.collect()
        self.gc.freeze()
        # Young collections walk every object made since the last one: measured at 1M
        # events, four in 20 s of keys took 24-46 ms each, landing on ~4% of keys.
        # They now run in the pauses between keys (`when_idle`), where they are short;
        # the threshold only matters for input that never pauses (held keys). A
        # threshold of 20,000 instead gave 7-14 ms collections inside more keys.
        self.gc.set_threshold(self.young_threshold, 20, 20)
        self.gc.enable()

    def restore(self) -> None:
        self.gc.enable()  # in case the app closes while still loading

    def after_frame(self, frame_held: bool) -> None:
        """A frame is composed: the key that caused it has its effect on screen, so
        young objects are collected now rather than whenever the threshold trips, often
        inside the next key (while tailing at 5k events/s, rendering keeps ~50k young
        objects alive, mostly Textual's per-strip caches: a threshold collection then
        took 13-44 ms)."""
        if self.gc.isenabled() and not frame_held and self.gc.get_count()[0] >= self.frame_min:
            self.gc.collect(1)

    def when_idle(self, now: float, last_input: float) -> None:
        """Collect young objects while no key is being handled."""
        if (
            self.gc.isenabled()
            and self.gc.get_count()[0] >= self.idle_min
            and now - last_input >= self.idle_s
        ):
            self.gc.collect(1)


# ------------------------------------------------------------------- new values
class _Codes(Protocol):
    def code_of(self, field: str, value: str) -> int | None: ...


class FreshValues(Container[str]):
    """The values of one field that carry a 'new' mark, tested through their codes."""

    __slots__ = ("_store", "_field", "_marks")

    def __init__(self, store: _Codes, field: str, marks: Mapping[int, float]) -> None:
        self._store, self._field, self._marks = store, field, marks

    def __contains__(self, value: object) -> bool:
        code = self._store.code_of(self._field, value) if isinstance(value, str) else None
        return code is not None and code in self._marks


class FreshMarks:
    """Values first seen while tailing (in `fields`), each marked for `seconds`.

    `marks` is field -> code -> expiry; the panes watch these dicts live (not copies:
    while tailing at 5k events/s with mostly new source IPs, copying ~30k marks per
    commit took 7 ms of each). The same marks are kept in expiry order (marked in time
    order, each value once), so `expire` looks only at those due, not at every mark.
    """

    def __init__(
        self, fields: Iterable[str] = ("ip", "principal", "key", "ua"), seconds: float = 120.0
    ) -> None:
        self.fields = frozenset(fields)
        self.seconds = seconds
        self.marks: dict[str, dict[int, float]] = {}
        self._due: deque[tuple[float, str, int]] = deque()
        self.changed = False  # marks added since the panes were told

    def add(self, new_values: Mapping[str, Iterable[int]], now: float) -> None:
        """Mark the codes a commit saw for the first time."""
        expiry = now + self.seconds
        for field, codes in new_values.items():
            if field in self.fields:
                marks = self.marks.setdefault(field, {})
                for c in codes:
                    marks[c] = expiry
                    self._due.append((expiry, field, c))
                self.changed = True

    def expire(self, now: float) -> bool:
        """Drop the marks due by `now`; True if any went."""
        gone = False
        due = self._due
        while due and due[0][0] <= now:
            _t, field, c = due.popleft()
            if self.marks.get(field, {}).pop(c, None) is not None:
                gone = True
        return gone

    def live(self) -> dict[str, dict[int, float]]:
        """The fields with marks, each with its live dict."""
        return {f: m for f, m in self.marks.items() if m}


# ----------------------------------------------------------------------- filters
class FilterUndo:
    """The filters to go back to (`u`): each applied filter pushes the one it replaced."""

    def __init__(self) -> None:
        self.stack: list[str] = []

    def push(self, replaced: str) -> None:
        if not self.stack or self.stack[-1] != replaced:
            self.stack.append(replaced)

    def pop(self) -> str | None:
        return self.stack.pop() if self.stack else None

    def forget(self, text: str) -> None:
        """A filter that failed never took effect: drop the step back to `text`."""
        if self.stack and self.stack[-1] == text:
            self.stack.pop()

    def __len__(self) -> int:
        return len(self.stack)


# ------------------------------------------------------------------------ status
class _Status(Protocol):
    total: int
    matching: int
    files_loaded: int
    files_skipped: int
    gone: int
    loading: bool
    load_fraction: float
    filter_text: str
    follow: bool
    tail_mode: str
    rate_per_min: float | None


class _Files(Protocol):
    def __len__(self) -> int: ...
    def file_counts(self) -> tuple[int, int, int]: ...


def fill_status(
    s: _Status,
    store: _Files,
    rows: Sized | None,  # the view's rows (only counted)
    *,
    loading: bool,
    load_fraction: float,
    filter_text: str,
    follow: bool,
    tail_mode: str | None,
    rate_per_min: float | None,
) -> None:
    """The status line's facts (widgets.status.StatusInfo), from the app's state;
    `tail_mode` and `rate_per_min` are None when not tailing."""
    s.total = len(store)
    s.matching = 0 if rows is None else len(rows)
    s.files_loaded, s.files_skipped, s.gone = store.file_counts()
    s.loading = loading
    s.load_fraction = load_fraction
    s.filter_text = filter_text
    s.follow = follow
    s.tail_mode = tail_mode or ""
    s.rate_per_min = rate_per_min
