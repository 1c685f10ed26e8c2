"""The explorer app: wires the engine to the panes.

State lives here and flows down: the Store, the current Query, the current view
(mask + ordered rows). Widgets post messages up (FilterRequest, EventHighlighted...).

Threads: files are parsed by `loader.iter_batches` in a worker thread (which fans out
to processes) and arrive as messages; a 4 Hz pump on the UI thread commits them into
the store. Views (filter, order, facet counts: `core.view`) are computed on the UI
thread, except free text not yet cached, which runs in a thread worker; the pump never
commits while one runs, so the store only changes on the UI thread while nobody else
reads it.
"""

from __future__ import annotations

import asyncio
import gc
import threading
import time
from collections import abc, deque
from collections.abc import Iterable, Sequence

import numpy as np
from textual import events, on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.containers import Container, Horizontal, Vertical
from textual.css.query import NoMatches
from textual.message import Message
from textual.screen import Screen

from widgets.detail import DetailPane
from widgets.event_list import EventList
from widgets.facets import FacetList, FacetPanel
from widgets.filter_bar import FilterBar, FilterInput
from widgets.key_hints import KeyHints
from widgets.messages import (
    CopyRequest,
    EventHighlighted,
    EventRequest,
    FacetRequest,
    FilterRequest,
    TimeRangeRequest,
)
from widgets.status import StatusInfo, StatusLine
from widgets.timeline import Timeline

from .actions import ACTIONS, SCOPES, bindings, key_label
from .core.batch import FileBatch
from .core.discovery import Discovery, discover
from .core.fields import FIELD_INDEX
from .core.loader import iter_batches, parser_process, record_discovery
from .core.paths import parse_path
from .core.query import Query, QueryError, add_term, parse, time_range_term
from .core.reader import DEFAULT_MAX_BYTES
from .core.sanitize import clean
from .core.store import Store
from .core.tail import FollowEvent, TailTracker, follow
from .core.view import View, compute_view
from .screens import HelpScreen, JumpScreen, MainScreen, SkippedScreen
from .timeparse import parse_jump_time

FACET_TOP = 60
SYNC_TEXT_FILES = 64  # free text (or a path column) over more unscanned files uses a thread
PUMP_SECONDS = 0.25
DETAIL_DELAY = 0.06  # seconds the list cursor rests before the detail pane follows...
HELD_KEY_S = 0.1  # ...when moves come closer together than this (a held key)
INPUT_QUIET_S = 0.3  # while tailing, keys this recent put off redrawing arrivals...
MAX_VIEW_DEFER_S = 1.0  # ...for at most this long
MAX_PANELS_DEFER_S = 3.0  # and arrivals' facets/timeline while keys go on (see _apply_view)
# Keys that move the list cursor (from the action table): their frame waits for the
# detail pane (see _hold_frame).
LIST_KEYS = frozenset(
    k for a in ACTIONS if a.scope == "list" for k in a.keys.split(",")
)
FRESH_FIELDS = ("ip", "principal", "key", "ua")  # never-seen values are highlighted
FRESH_SECONDS = 120.0
GC_YOUNG_THRESHOLD = 50_000  # once loaded (see _settle_gc)
IDLE_GC_S = 0.1  # young objects are collected once keys have paused this long...
IDLE_GC_MIN = 2_000  # ...and at least this many are waiting
WARM_AFTER_LOAD_S = 0.3  # see _warm_columns
FRAME_GC_MIN = 10_000  # young objects collected right after a frame once this many wait
# While tailing a big store each commit costs the UI thread a few ms (at 1.1M events
# ~5 ms; it grows with the arrivals' spread in time, not with the store), and more once
# a view keeps the unfiltered order (the next commit copies it), so commits are spaced to
# keep them under this share of its time, at most MAX_COMMIT_GAP_S apart.
COMMIT_SHARE = 1 / 15
MAX_COMMIT_GAP_S = 0.75
FILTER_FRAME_HOLD_S = 0.25  # the pump waits for a new filter's frame at most this long


class _FreshValues(abc.Container[str]):
    """The values of one field that carry a 'new' mark, tested through their codes."""

    __slots__ = ("_store", "_field", "_marks")

    def __init__(self, store: Store, field: str, marks: abc.Mapping[int, float]) -> None:
        self._store, self._field, self._marks = store, field, marks

    def __contains__(self, value: object) -> bool:
        code = self._store.code_of(self._field, value) if isinstance(value, str) else None
        return code is not None and code in self._marks


class Discovered(Message):
    def __init__(self, disc: Discovery) -> None:
        super().__init__()
        self.disc = disc


class TailEvent(Message):
    def __init__(self, event: FollowEvent) -> None:
        super().__init__()
        self.event = event


class BatchesReady(Message):
    def __init__(self, batches: list[FileBatch], done: bool) -> None:
        super().__init__()
        self.batches = batches
        self.done = done


class ViewReady(Message):
    def __init__(self, view: View | None, error: QueryError | None = None) -> None:
        super().__init__()
        self.view = view
        self.error = error


class TrailscopeApp(App[int]):
    CSS_PATH = "app.tcss"
    TITLE = "trailscope"
    BINDINGS = bindings("app")

    def __init__(
        self,
        paths: Sequence[str],
        *,
        initial_filter: str = "",
        max_bytes: int = DEFAULT_MAX_BYTES,
        jobs: int | None = None,
        store: Store | None = None,
        watch: bool = True,
        poll: bool = False,
        rescan_s: float = 5.0,
        follow_symlinks: bool = False,
        source: Discovery | None = None,
    ) -> None:
        super().__init__()
        # Parser processes need multiprocessing's resource tracker, which is started
        # with stderr's file descriptor; once Textual runs, stderr is redirected to an
        # object whose fileno() is -1 and starting it fails ("bad value(s) in
        # fds_to_keep"), leaving the app on "loading..." for trails over 16 MiB.
        # Start it now, while stderr is real.
        from multiprocessing import resource_tracker

        resource_tracker.ensure_running()
        self.paths = list(paths)
        self.source = source  # the files found already (an S3 trail, fetched): not walked
        self.follow_symlinks = follow_symlinks
        self.watch = watch
        self.poll = poll
        self.rescan_s = rescan_s
        self.tailing = False
        self._tail_wanted = False  # start tailing once the load is all committed
        self._tail_gen0 = 0  # the store's generation when tailing started
        self._tail_mode = "poll" if poll else "watch"  # see core.tail.MODES
        self._tail_stop: asyncio.Event | None = None
        self._arrivals: deque[tuple[float, int]] = deque()  # (monotonic, events) while tailing
        self.fresh: dict[str, dict[int, float]] = {}  # field -> code -> expiry (monotonic)
        # The same marks in expiry order (marked in time order, each value once), so the
        # 1 s tick looks only at those due, not at every mark (~30k while tailing).
        self._fresh_due: deque[tuple[float, str, int]] = deque()
        self.max_bytes = max_bytes
        self.jobs = jobs
        self.store = store if store is not None else Store()
        self._preloaded = store is not None
        self.query_obj: Query = parse("")
        self.initial_filter = initial_filter
        self.view: View | None = None
        self.filter_history: list[str] = []
        self.status = StatusInfo()
        self.loading = not self._preloaded
        self._files_total = 0
        self._bytes_total = 0
        self._bytes_done = 0
        self._view_seq = 0
        self._view_running = False
        self._view_dirty = False
        self._inflight = 0  # loader messages not yet handled (back-pressure)
        self._inflight_lock = threading.Lock()
        self._stacked = False
        self.follow = False
        self._detail_row: int | None = None
        self._last_commit = 0.0
        self._commit_gap = 0.0  # see COMMIT_SHARE
        self._detail_timer = None
        self._last_highlight = 0.0  # monotonic time of the last cursor move
        self._panels_pending: View | None = None  # facets/timeline still to update
        self._panels_since: float | None = None  # when arrivals' panels were put off
        self._frame_held = False
        self._filter_frame_due: float | None = None  # see _pump
        self._pump_after_frame = False
        self._view_stale = False  # committed events not in the view yet
        self._fresh_changed = False
        self._last_input = 0.0  # monotonic time of the last key
        self._last_view_at = 0.0

    # ---------------------------------------------------------------- layout
    def get_default_screen(self) -> Screen:
        return MainScreen(id="_default")

    def compose(self) -> ComposeResult:
        yield FilterBar(id="filter-bar")
        with Horizontal(id="body"):
            yield FacetPanel(self.store, self._facet_counter, id="facets")
            with Container(id="work"):
                with Vertical(id="center"):
                    yield EventList(self.store, id="events")
                    yield Timeline(id="timeline")
                yield DetailPane(self.store, id="detail")
        yield StatusLine(id="status")
        yield KeyHints(id="keys")

    def on_mount(self) -> None:
        if not self._preloaded:
            # Loading allocates many long-lived objects; collecting while they pour in
            # only costs pauses. Re-enabled (and frozen) when loading ends.
            gc.disable()
        self._apply_layout(self.size.width)
        self.events_list.loading_text = "loading…" if self.loading else ""
        if self.initial_filter:
            self.filter_input.value = self.initial_filter
            self._set_filter(self.initial_filter, remember=True)
        self.events_list.focus()
        self.set_interval(PUMP_SECONDS, self._pump)
        self.set_interval(IDLE_GC_S, self._idle_gc)
        self.set_interval(1.0, self._tick)
        if self._preloaded:
            self.request_view()
            self._settle_gc()
            self._tail_wanted = self.watch
            self._start_tail()
        else:
            self._load()
        self._update_status()

    def on_resize(self, event) -> None:
        self._apply_layout(event.size.width)

    def _apply_layout(self, width: int) -> None:
        # Beside the list when there is room for both, below it otherwise.
        stacked = self._stacked or width < 180
        self.query_one("#work").set_class(stacked, "-stacked")
        self.screen.set_class(width < 100, "-narrow")
        self.screen.set_class(self.size.height < 32, "-short")

    @property
    def events_list(self) -> EventList:
        return self.query_one("#events", EventList)

    @property
    def filter_input(self) -> FilterInput:
        return self.query_one(FilterInput)

    # ---------------------------------------------------------------- loading
    @work(thread=True, exclusive=True, group="load")
    def _load(self) -> None:
        disc = (self.source if self.source is not None
                else discover(self.paths, follow_symlinks=self.follow_symlinks))
        self._post_loader(Discovered(disc))
        buf: list[FileBatch] = []
        last = time.monotonic()
        for b in iter_batches(disc.files, self.max_bytes, self.jobs):
            buf.append(b)
            now = time.monotonic()
            if now - last > 0.1 or len(buf) >= 64:
                self._post_loader(BatchesReady(buf, False))
                buf, last = [], now
            while self._inflight > 8:  # the UI is behind: let it catch up
                time.sleep(0.02)
        self._post_loader(BatchesReady(buf, True))

    def _post_loader(self, msg: Message) -> None:
        with self._inflight_lock:
            self._inflight += 1
        self.post_message(msg)

    def _loader_handled(self) -> None:
        with self._inflight_lock:
            self._inflight -= 1

    def on_discovered(self, msg: Discovered) -> None:
        self._loader_handled()
        record_discovery(self.store, msg.disc)
        self._files_total = len(msg.disc.files)
        self._bytes_total = sum(f.size for f in msg.disc.files)
        self._update_status()

    def on_batches_ready(self, msg: BatchesReady) -> None:
        self._loader_handled()
        for b in msg.batches:
            self.store.add(b)
            self._bytes_done += b.size
        if msg.done:
            self.loading = False
            self.events_list.loading_text = ""
            # The load's last events are committed now, not a commit gap later: tailing
            # starts once they are, and counts as arrivals only what comes after.
            self._commit_gap = 0.0
            self._pump()
            self._settle_gc()
            self.set_timer(WARM_AFTER_LOAD_S, self._warm_columns)
            self._tail_wanted = self.watch
            self._start_tail()
        self._update_status()

    def _pump(self) -> None:
        """Commit pending events (they are queryable from then on) and refresh the view,
        unless a view is being computed or a new filter's frame is still to be drawn."""
        if self._view_running:
            return
        now = time.monotonic()
        if self._filter_frame_due is not None and now < self._filter_frame_due:
            # A commit here would run between the filter's handler and its frame: at
            # 1.3M events, ~6 ms more on the key in about one apply in seven. It runs
            # right after that frame instead.
            self._pump_after_frame = True
            return
        if self.store.pending and not (
            self.loading
            and len(self.store)
            and now - self._last_commit < 2.0
            # While a big trail streams in, commit when the pending part is a good
            # fraction of the store: each commit merges in O(n) and recomputes the
            # view, so committing every 250 ms would make loading quadratic.
            and self.store.pending_events < max(20_000, len(self.store) // 4)
        ) and (self.loading or now - self._last_commit >= self._commit_gap):
            self._last_commit = now
            res = self.store.commit()
            cost = time.monotonic() - now
            self._commit_gap = min(MAX_COMMIT_GAP_S, cost / COMMIT_SHARE)
            if len(res.rows) or self.view is None:
                self._view_stale = True
            if self.tailing and len(res.rows):
                self._arrivals.append((now, len(res.rows)))
                for field, codes in res.new_values.items():
                    if field in FRESH_FIELDS:
                        marks = self.fresh.setdefault(field, {})
                        for c in codes:
                            marks[c] = now + FRESH_SECONDS
                            self._fresh_due.append((now + FRESH_SECONDS, field, c))
                        self._fresh_changed = True
        self._start_tail()  # once the load is committed, if wanted
        if not self._view_stale:
            return
        if (
            self.tailing
            and now - self._last_input < INPUT_QUIET_S
            and now - self._last_view_at < MAX_VIEW_DEFER_S
        ):
            # Keys are coming in: arrivals are committed (queryable) but redrawn a
            # little later, so a held key never queues behind a full redraw of every
            # pane (measured at 5k events/s: list keys p95 137 ms before this).
            self._update_status()
            return
        self._view_stale = False
        self._last_view_at = now
        if self._fresh_changed:
            self._fresh_changed = False
            self._push_fresh(expired=False)
        self.request_view()
        self._update_status()

    def on_event(self, event: events.Event):
        if isinstance(event, events.Key):
            self._last_input = time.monotonic()
            if event.key in LIST_KEYS and self.focused is self.events_list:
                self._hold_frame()
        return super().on_event(event)

    def _hold_frame(self) -> None:
        """Hold screen updates until the detail pane shows the event a list key moves
        to, so the list and the detail pane change in one frame: otherwise the list's
        frame goes out first and the detail pane's follows a 60 Hz tick or two later
        (measured at 1M: ~50 ms p50 from key to both drawn, the list alone ~10 ms).
        Released by `_on_highlighted`, or after 50 ms if the key moved nothing."""
        if self._frame_held:
            return
        self._frame_held = True
        self._begin_batch()  # what App.batch_update() does, across two handlers
        self.set_timer(0.05, self._release_frame)

    def _release_frame(self) -> None:
        if self._frame_held:
            self._frame_held = False
            self._end_batch()
            self.screen.check_idle()  # render what changed meanwhile

    # ---------------------------------------------------------------- tailing
    def _start_tail(self) -> None:
        """Start following, if wanted, once every loaded event is committed: what is
        committed from then on are arrivals (counted as new, in the rate, and marked)."""
        if self.tailing or not self._tail_wanted or self.store.pending:
            return
        self._tail_wanted = False
        self.tailing = True
        self._tail_gen0 = self.store.generation
        tracker = TailTracker(self.paths, follow_symlinks=self.follow_symlinks)
        tracker.prime(self.store.files)
        self._tail(tracker)

    @work(exclusive=True, group="tail")
    async def _tail(self, tracker: TailTracker) -> None:
        self._tail_stop = asyncio.Event()

        def deliver(ev: FollowEvent) -> None:
            # Runs on the app's event loop (this is an async worker): post, don't touch.
            self.post_message(TailEvent(ev))

        parser = parser_process()
        try:
            await follow(
                tracker,
                deliver,
                stop=self._tail_stop,
                poll=self.poll,
                rescan_s=self.rescan_s,
                max_bytes=self.max_bytes,
                executor=parser,
                jobs=self.jobs,
            )
        finally:
            parser.shutdown(wait=False, cancel_futures=True)

    def on_tail_event(self, msg: TailEvent) -> None:
        ev = msg.event
        self._tail_mode = ev.mode
        if ev.note:
            self.notify(clean(ev.note), title="live tail", markup=False, timeout=6)
        self.store.report_errors(ev.changes.errors)  # each reported once by the tracker
        for p in ev.changes.gone:
            self.store.mark_gone(p)
        rewritten = set(ev.changes.rewritten)
        for b in ev.batches:
            if b.path in rewritten:
                b.reason = ("rewritten in place after loading; " + b.reason).rstrip("; ")
                self.notify(f"file rewritten in place: {clean(b.path)}", severity="warning",
                            markup=False, timeout=8)
            self.store.add(b)
        # The 4 Hz pump commits: one view recompute per tick however many files land.
        self._update_status()

    def on_unmount(self) -> None:
        gc.enable()  # in case the app closes while still loading

    def _settle_gc(self) -> None:
        """After loading: everything alive now (store, widgets) lives long. Freezing it
        keeps full collections from scanning it; measured here, full collections over
        ~800k tracked objects paused the UI for 270 ms each (benchmarks/bench_app.py)."""
        gc.collect()
        gc.freeze()
        # Young collections walk every object made since the last one: measured at 1M
        # events, four in 20 s of keys took 24-46 ms each, landing on ~4% of keys.
        # They now run in the pauses between keys (_idle_gc), where they are short;
        # the threshold only matters for input that never pauses (held keys). A
        # threshold of 20,000 instead gave 7-14 ms collections inside more keys.
        gc.set_threshold(GC_YOUNG_THRESHOLD, 20, 20)
        gc.enable()

    def _warm_columns(self) -> None:
        """Build the facet fields' time-ordered columns once the trail is loaded, not in
        the first filter's keypress: filtered facet counts read them, and building three
        took ~10 ms of that key at 1.3M events (in a traced tail benchmark run the first
        two filter applies were the slowest two). Commits keep them current from then on."""
        try:
            fields = self.query_one(FacetPanel).fields
        except NoMatches:  # closing, or another screen is up: only the head start is lost
            return
        self.store.prepare_in_order(f for f in fields if f in FIELD_INDEX)  # not paths

    def after_frame(self) -> None:
        """Called by MainScreen once a frame is composed: the key that caused it has
        its effect on screen, so young objects are collected now rather than whenever
        the threshold trips, often inside the next key (while tailing at 5k events/s,
        rendering keeps ~50k young objects alive, mostly Textual's per-strip caches:
        a threshold collection then took 13-44 ms)."""
        self._filter_frame_due = None
        if self._pump_after_frame:
            self._pump_after_frame = False
            self.call_later(self._pump)
        if gc.isenabled() and not self._frame_held and gc.get_count()[0] >= FRAME_GC_MIN:
            gc.collect(1)

    def _idle_gc(self) -> None:
        """Collect young objects while no key is being handled."""
        if (
            gc.isenabled()
            and gc.get_count()[0] >= IDLE_GC_MIN
            and time.monotonic() - self._last_input >= IDLE_GC_S
        ):
            gc.collect(1)

    def _tick(self, now: float | None = None) -> None:
        """Once a second: expire 'new value' highlights, update the rate."""
        now = time.monotonic() if now is None else now
        changed = False
        due = self._fresh_due
        while due and due[0][0] <= now:
            _t, field, c = due.popleft()
            if self.fresh.get(field, {}).pop(c, None) is not None:
                changed = True
        if changed:
            self._push_fresh(expired=True)
        while self._arrivals and self._arrivals[0][0] < now - 60:
            self._arrivals.popleft()
        if self.tailing:
            self._update_status()

    def _push_fresh(self, expired: bool) -> None:
        # Live views of the marks, not copies: while tailing at 5k events/s with
        # mostly new source IPs, copying ~30k marks per push took 7 ms of each commit.
        marks = {f: m for f, m in self.fresh.items() if m}
        lst = self.events_list
        new_field = not marks.keys() <= lst.fresh_codes.keys()
        lst.fresh_codes = {f: m.keys() for f, m in marks.items()}
        if expired or new_field:
            # Drawn rows may hold a code no longer marked, or (a field's first marks,
            # not in the list's live views until now) one drawn unmarked meanwhile.
            lst.refresh_rows()
        else:
            # New marks are for values first seen in the latest commits, and the list
            # saw them as soon as they were made (live views): its cached rows stay.
            lst.refresh()
        self.query_one(FacetPanel).set_fresh(
            {f: _FreshValues(self.store, f, m) for f, m in marks.items()}
        )

    # ------------------------------------------------------------------- view
    def request_view(self) -> None:
        """Recompute the view for the current filter and store. Indexed filters take a
        few ms even at a million events, so they run right here: a thread would only
        fight the renderer for the GIL (measured: ~70 ms key -> view at 100k). Free
        text that is not cached yet (a second or more) goes to a worker thread."""
        if self._view_running:
            self._view_dirty = True
            return
        self._view_stale = False  # whatever is committed goes into this view
        self._view_seq += 1
        query = self.query_obj
        previous = self.view if self.view is not None and self.view.query == query else None
        facets = self.query_one(FacetPanel).fields
        if (
            any(self.store.text_backlog(p) > SYNC_TEXT_FILES for p in query.text_pieces())
            or any(self.store.path_backlog(p) > SYNC_TEXT_FILES for p in query.paths())
            or any(self._path_pending(f) for f in facets)
        ):
            self._view_running = True
            self.status.busy = True
            fields = tuple(self.query_one(FacetPanel).fields)  # counted in the thread too
            self._compute_view(self._view_seq, query, fields, previous)
            return
        try:
            # Facet counts are taken when the facets are drawn (_apply_panels).
            view = compute_view(self.store, query, (), previous)
        except QueryError as e:
            self._view_done(None, e)
            return
        view.seq = self._view_seq
        self._view_done(view, None)

    @work(thread=True, group="view")
    def _compute_view(self, seq: int, query: Query, fields: tuple[str, ...], previous: View | None) -> None:
        try:
            view = compute_view(self.store, query, fields, previous)
        except QueryError as e:
            self.post_message(ViewReady(None, e))
            return
        view.seq = seq
        self.post_message(ViewReady(view))

    def on_view_ready(self, msg: ViewReady) -> None:
        self._view_running = False
        self.status.busy = False
        self._view_done(msg.view, msg.error)
        if self._view_dirty:
            self._view_dirty = False
            self.request_view()
        elif self.store.pending:
            self._pump()
        self._update_status()

    def _view_done(self, view: View | None, error: QueryError | None) -> None:
        if error is not None:
            # Evaluation-time errors (e.g. unknown has: name): keep the previous result.
            self.query_one(FilterBar).show_error(str(error), error.position, self.query_obj.text)
            # Back to the bar (the caret is at the error), as after a parse error.
            self.filter_input.focus()
            if self.view is not None:
                self.query_obj = self.view.query
                # The failed filter never took effect: forget the history step to it.
                if self.filter_history and self.filter_history[-1] == self.view.query.text:
                    self.filter_history.pop()
        elif view is not None and view.seq == self._view_seq:
            self._apply_view(view)

    def _apply_view(self, v: View) -> None:
        previous = self.view
        self.view = v
        lst = self.events_list
        at_end = lst.at_end
        grew = (
            previous is not None
            and previous.query is v.query
            and len(v.rows) > len(previous.rows)
        )
        # Events arriving with the cursor on the first row (as it starts while loading)
        # keep it on the first row, like follow keeps it on the last: otherwise older
        # events loaded later would be scrolled off above an arbitrary first batch.
        at_top = grew and lst.cursor_index == 0 and not (self.follow and at_end)
        lst.set_rows(v.rows, keep=not at_top)
        if grew:
            # Same filter, more rows: events arrived. Follow, or count them for "+N new".
            if self.follow and at_end:
                lst.move_to_index(len(v.rows) - 1)
            elif self.tailing and previous.generation >= self._tail_gen0:
                # Only rows committed since tailing began: the load's last commits
                # are not arrivals.
                self.status.new_pending += len(v.rows) - len(previous.rows)
        if lst.at_end:
            self.status.new_pending = 0
        self._panels_pending = v
        if not grew:
            # A new filter: the list, detail pane, facets and timeline go out in one
            # frame. Two frames cost a screen tick more: at 1M events, key -> last
            # frame measured 77 / 89 ms (p50 / p95) in two frames, 46 / 54 in one.
            # A detail update still waiting for held keys (or for arrivals' cursor
            # moves, while tailing) is due now: otherwise the pane caught up one frame
            # later (measured while tailing: filter apply 37-44 ms p50, 87-102 p95).
            if self._detail_timer is not None:
                self._detail_timer.stop()
                self._detail_timer = None
            self._filter_frame_due = time.monotonic() + FILTER_FRAME_HOLD_S
            self._detail_row = lst.cursor_row
            self._show_detail()  # a no-op when the pane already shows that row
            self._apply_panels()
        elif self.tailing and time.monotonic() - self._last_input < INPUT_QUIET_S:
            # Arrivals while keys come in: the list shows them now; facets and timeline
            # wait for a pause in the keys (at most MAX_PANELS_DEFER_S), so a key is
            # less likely to queue behind their ~20 ms frame.
            if self._panels_since is None:
                self._panels_since = time.monotonic()
                self.set_timer(INPUT_QUIET_S, self._panels_when_quiet)
        else:
            # Arrivals (loading, tailing): the list first, facets and timeline in the
            # next frame, so keys typed meanwhile wait less.
            self.call_after_refresh(self._apply_panels)

    def _panels_when_quiet(self) -> None:
        since = self._panels_since
        if since is None or self._panels_pending is None:
            self._panels_since = None
            return
        now = time.monotonic()
        if now - self._last_input < INPUT_QUIET_S and now - since < MAX_PANELS_DEFER_S:
            self.set_timer(INPUT_QUIET_S, self._panels_when_quiet)
            return
        self._apply_panels()

    def _apply_panels(self) -> None:
        self._panels_since = None
        v, self._panels_pending = self._panels_pending, None
        if v is None or v is not self.view or not self.is_running:
            return
        for fl in self.query_one(FacetPanel).lists:
            if self._path_pending(fl.field):
                continue  # a path being scanned in the view thread: its view sets these
            counts, distinct = v.facet(self.store, fl.field, FACET_TOP)
            fl.set_counts(counts, len(v.rows), distinct)
        sel = self.events_list.cursor_row
        self.query_one(Timeline).set_data(
            v.times, v.errors, None if sel is None else self.store.time_ms(sel),
            presorted=True,  # a view's rows are in time order
        )

    def _path_pending(self, name: str) -> bool:
        """A facet on a JSON path whose column still has many files to scan (built by
        the next view, in a thread)."""
        return name not in FIELD_INDEX and self.store.path_backlog(parse_path(name)) > SYNC_TEXT_FILES

    def _facet_counter(self, field: str) -> list[tuple[str, int]]:
        if self._path_pending(field):
            return []  # the view computing it sets the counts
        # The view on screen, even if events arrived since (its counts match the list).
        v = self.view
        if v is None:
            return self.store.counts(field)
        return v.facet(self.store, field, None)[0]

    # ----------------------------------------------------------------- filter
    def _set_filter(self, text: str, remember: bool = True) -> bool:
        bar = self.query_one(FilterBar)
        try:
            q = parse(text)
        except QueryError as e:
            bar.show_error(str(e), e.position, text)
            return False
        bar.clear_error()
        if remember and (not self.filter_history or self.filter_history[-1] != self.query_obj.text):
            self.filter_history.append(self.query_obj.text)
        self.query_obj = q
        self.filter_input.remember(text)
        self.request_view()
        self._update_status()
        return self.query_obj is q  # an evaluation error puts the previous filter back

    @on(FilterInput.Applied)
    def _on_filter_applied(self, msg: FilterInput.Applied) -> None:
        if self._set_filter(msg.text):
            self.events_list.focus(scroll_visible=False)

    @on(FilterInput.Left)
    def _on_filter_left(self, _msg: FilterInput.Left) -> None:
        self.events_list.focus()

    def _extend_filter(self, build) -> None:
        try:
            text = build(self.query_obj.text)
        except (QueryError, ValueError) as e:
            self.notify(clean(str(e)), severity="error", markup=False)
            return
        self.filter_input.value = text
        self._set_filter(text)

    @on(FilterRequest)
    def _on_filter_request(self, msg: FilterRequest) -> None:
        if msg.field is None:
            from .core.query import quote_value

            phrase = quote_value(msg.value)
            if not phrase.startswith('"'):
                phrase = f'"{phrase}"'
            self._extend_filter(
                lambda t: (f"{t} " if t.strip() else "") + ("-" if msg.negate else "") + phrase
            )
        else:
            self._extend_filter(lambda t: add_term(t, msg.field, msg.value, msg.negate))

    @on(FacetRequest)
    def _on_facet_request(self, msg: FacetRequest) -> None:
        panel = self.query_one(FacetPanel)
        self.query_one("#facets").display = True
        try:
            panel.show(msg.name)
        except ValueError as e:
            self.notify(clean(str(e)), severity="error", markup=False)

    @on(TimeRangeRequest)
    def _on_time_range(self, msg: TimeRangeRequest) -> None:
        term = time_range_term(msg.lo_ms, msg.hi_ms)
        self._extend_filter(lambda t: f"{t} {term}".strip())

    @on(CopyRequest)
    def _on_copy(self, msg: CopyRequest) -> None:
        # The raw value goes to the clipboard (it is evidence), but lone surrogates from
        # lenient files cannot be encoded for OSC 52: those become \udXXX escapes.
        text = msg.text.encode("utf-8", "backslashreplace").decode("utf-8")
        self.copy_to_clipboard(text)
        n = len(msg.text)
        self.notify(f"copied {clean(msg.what)} ({n:,} characters)", markup=False, timeout=3)

    @on(EventRequest)
    def _on_event_request(self, msg: EventRequest) -> None:
        if not self.events_list.move_to_row(msg.row):
            self.notify("that event is not in the list: the filter hides it", timeout=4)

    @on(EventHighlighted)
    def _on_highlighted(self, msg: EventHighlighted) -> None:
        if not self.is_running:
            return  # shutting down: the panes may already be gone
        if self.events_list.at_end:
            self.status.new_pending = 0
        # Rebuilding the detail tree costs more than moving the list cursor: while keys
        # repeat (j held down, paging), show the event once the cursor rests.
        self._detail_row = msg.row
        now = time.monotonic()
        repeating = now - self._last_highlight < HELD_KEY_S
        self._last_highlight = now
        if self._detail_timer is not None:
            self._detail_timer.stop()
            self._detail_timer = None
        if repeating:
            self._detail_timer = self.set_timer(DETAIL_DELAY, self._show_detail)
        else:  # a single move: the detail pane joins the list in the same frame
            self._show_detail()
        self._release_frame()

    def _show_detail(self) -> None:
        self._detail_timer = None
        if not self.is_running:
            return
        row = self._detail_row
        self.query_one(DetailPane).show(row)
        self.query_one(Timeline).set_selected(None if row is None else self.store.time_ms(row))

    @on(FacetList.FieldChanged)
    def _on_facet_field(self, msg: FacetList.FieldChanged) -> None:
        v = self.view
        if v is None or self._path_pending(msg.field):
            self.request_view()  # a new path's column is built in the view's thread
            return
        counts, distinct = v.facet(self.store, msg.field, FACET_TOP)
        msg.facet.set_counts(counts, len(v.rows), distinct)

    # ---------------------------------------------------------------- actions
    def action_focus_filter(self) -> None:
        self.filter_input.focus()

    def action_focus_list(self) -> None:
        self.events_list.focus()

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def action_skipped(self) -> None:
        self.push_screen(SkippedScreen(self.store.skipped(), list(self.store.ignored)))

    def action_undo_filter(self) -> None:
        if not self.filter_history:
            self.notify("no earlier filter", timeout=2)
            return
        text = self.filter_history.pop()
        self.filter_input.value = text
        self._set_filter(text, remember=False)

    def action_clear_filter(self) -> None:
        self.filter_input.value = ""
        self._set_filter("")

    def action_jump_time(self) -> None:
        def done(value: str | None) -> None:
            if not value:
                return
            ms = parse_jump_time(value, self.store.newest_time_ms())
            if ms is None:
                self.notify(
                    "not a time: use 2026-11-20T10:05, 2026-11-20 or -2h", severity="error"
                )
                return
            self.events_list.jump_to_time(ms)
            self.events_list.focus()

        self.push_screen(JumpScreen(), done)

    def action_toggle_follow(self) -> None:
        self.follow = not self.follow
        self.events_list.follow = self.follow
        if self.follow:
            self.action_jump_newest()
        self._update_status()

    def action_jump_newest(self) -> None:
        lst = self.events_list
        if self.view is not None and len(self.view.rows):
            lst.move_to_index(len(self.view.rows) - 1)
        self.status.new_pending = 0
        self._update_status()

    def action_toggle_layout(self) -> None:
        self._stacked = not self._stacked
        self._apply_layout(self.size.width)

    def action_toggle_facets(self) -> None:
        f = self.query_one("#facets")
        f.display = not f.display

    # --------------------------------------------------------------- palette
    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for a in ACTIONS:
            if not a.palette:
                continue
            yield SystemCommand(
                f"{a.title}  ({key_label(a.keys)})",
                f"{SCOPES[a.scope]}: {a.help}",
                lambda a=a: self.run_action(a.action),
            )

    # ----------------------------------------------------------------- status
    def _update_status(self) -> None:
        s = self.status
        store = self.store
        s.total = len(store)
        s.matching = 0 if self.view is None else len(self.view.rows)
        s.files_loaded, s.files_skipped, s.gone = store.file_counts()
        s.loading = self.loading
        s.load_fraction = (self._bytes_done / self._bytes_total) if self._bytes_total else 0.0
        s.filter_text = self.query_obj.text
        s.follow = self.follow
        s.tail_mode = self._tail_mode if self.tailing else ""
        if self.tailing:
            window = [n for t, n in self._arrivals if t >= time.monotonic() - 60]
            s.rate_per_min = float(sum(window))
        else:
            s.rate_per_min = None
        self.query_one(StatusLine).show(s)

