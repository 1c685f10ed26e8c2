"""The explorer app: wires the engine, the main screen and the scheduling policies.

State lives here and flows down: the Store, the current Query, the current view
(mask + ordered rows). The main screen (tui/main_screen.py) holds the panes: it shows
views and turns the panes' messages into filter changes. When things happen (commits,
redraws, "new value" marks, garbage collection) is decided by the small objects in
tui/policies.py; this module connects them to timers, workers and messages.

Threads: files are parsed by `loader.iter_batches` in a worker thread (which fans out
to processes) and arrive as messages; a 4 Hz pump on the UI thread commits them into
the store. Views (filter, order, facet counts: `core.view`) are computed on the UI
thread, except free text not yet cached and a filtered view of arrivals over a big
store, which run in a thread worker; the pump never commits while one runs, so the
store only changes on the UI thread while nobody else reads it. A big commit (a load's)
is prepared in a thread worker apart from the store (`Store.stage`), and the pump
publishes it on the UI thread once it is ready; what the publish lets go of is freed in
another (`_let_go`).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Coroutine, Iterable, Sequence
from contextlib import closing
from typing import Any

from textual import events, work
from textual.app import App, SystemCommand
from textual.css.query import NoMatches
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Input

from widgets.bindings import bindings
from widgets.detail import DetailPane
from widgets.event_list import EventList
from widgets.facets import DETECTION_FACETS, FacetOptions
from widgets.filter_bar import FilterInput
from widgets.status import StatusInfo
from widgets.timeline import Timeline

from .actions import ACTIONS, SCOPES, ActionSpec, key_label
from .analysis import BackgroundAnalysis
from .core.batch import FileBatch
from .core.discovery import Discovery, discover
from .core.fields import FIELD_INDEX
from .core.history import FilterHistory
from .core.loader import iter_batches, parser_process, record_discovery
from .core.paths import parse_path
from .core.pause import PauseGate
from .core.query import Query, QueryError, parse
from .core.reader import DEFAULT_MAX_BYTES
from .core.s3source import S3Progress, S3Source
from .core.sanitize import clean
from .core.spill import keep_out_of
from .core.store import CommitResult, StagedCommit, Store
from .core.tail import FollowEvent, TailTracker, follow
from .core.view import LABEL_FACET, View, compute_view, keep_big_buffers, warm_view_heap
from .evidence import Evidence, EvidenceActions, uses_unverified
from .main_screen import FACET_TOP, MainScreen
from .pivots import PivotActions
from .policies import (
    ArrivalRate,
    CommitPacer,
    FilterUndo,
    FrameHold,
    FreshMarks,
    GcPolicy,
    HeldKeys,
    KeyGate,
    LoaderBacklog,
    RedrawPacer,
    ViewRequests,
    fill_status,
)
from .screens import HelpScreen, JumpScreen, SkippedScreen
from .timeparse import parse_jump_time

SYNC_TEXT_FILES = 64  # free text (or a path column) over more unscanned files uses a thread
# A filtered view of arrivals (a commit's redraw) over this many events is computed in a
# thread: nobody waits for it, and inline it held the UI thread ~50 ms per commit at 10M.
THREAD_ARRIVALS_MIN = 1_000_000
PUMP_SECONDS = 0.25
# The parser processes run this much nicer than the explorer: while a load keeps every
# core busy, the UI thread gets one when it wants it (10M events on 2 cores, keys during
# the load: every key's p95 45-59 ms at the explorer's priority, 32-38 at 10 nicer, 40
# at 5; the load as long).
PARSER_NICE = 10
WARM_AFTER_LOAD_S = 0.3  # see warm_columns
FRAME_HOLD_MAX_S = 0.05  # a held frame goes out after this long if the key moved nothing
# What the user waits on: the analysis pauses while these are answered (tui/analysis.py).
_INPUT_EVENTS = (
    events.Key,
    events.MouseDown,
    events.MouseScrollDown,
    events.MouseScrollUp,
    events.Paste,
)
# The list's keys (from the action table): a frame in which one moved the cursor waits
# for the detail pane (FrameHold).
LIST_KEYS = frozenset(k for a in ACTIONS if a.scope == "list" for k in a.keys.split(","))
# Keys that only move a pane's cursor (its cursor rows of the action table): they cannot
# move the focus, so the key after one need not wait for it (KeyGate).
_CURSOR_MOVES = ("cursor_", "page", "first", "last", "move(", "edge(")
_CURSOR_KEYS: dict[type, frozenset[str]] = {
    pane: frozenset(
        k
        for a in ACTIONS
        if a.scope == scope and a.action.startswith(_CURSOR_MOVES)
        for k in a.keys.split(",")
    )
    for pane, scope in (
        (EventList, "list"),
        (DetailPane, "detail"),
        (Timeline, "timeline"),
        (FacetOptions, "facet-rows"),
    )
}


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


# The keys of the app's focus_filter action (the action table is the bindings' source).
_FILTER_KEYS = frozenset(
    k.strip() for a in ACTIONS if a.action == "focus_filter" for k in a.keys.split(",")
)


async def _nothing() -> None:
    """What `on_event` returns for an event it handled itself."""


class KeyEcho(Message):
    """Sent, when a key comes after others, to the widget they went to: it reaches the
    app once they have been through that widget, its ancestors and their bindings. A
    second echo, sent then to the widget focused, follows what those posted to it on
    the same way (the filter bar's Applied, an Input's Submitted that closes its screen;
    a screen just pushed composes and focuses its first widget before it). Then they
    are done (KeyGate), and the new key goes where they left the focus."""

    def __init__(self, seq: int, passes: int) -> None:
        super().__init__()
        self.seq = seq
        self.passes = passes  # this one included


class CommitPrepared(Message):
    """A commit staged by the pump is prepared (on its thread): publish it."""


class FetchProgress(Message):
    """An S3 trail's download so far, and the objects that could not be fetched."""

    def __init__(self, progress: S3Progress, errors: list[tuple[str, str]]) -> None:
        super().__init__()
        self.progress = progress
        self.errors = errors


class ViewReady(Message):
    def __init__(self, view: View | None, error: QueryError | None = None) -> None:
        super().__init__()
        self.view = view
        self.error = error


class TrailscopeApp(EvidenceActions, PivotActions, BackgroundAnalysis, App[int]):
    """The explorer. Its public state: `store`, `query_obj` (the filter), `view` (what
    the list shows), `status`, `loading`, `tailing`, `follow`; the panes are `main`
    (tui/main_screen.py); the policies are `commits`, `redraw`, `views`, `fresh`,
    `arrivals`, `gc_policy`, `undo`, `frame_hold`, `loader_backlog`. Tests and
    benchmarks wait for `settled`, and may drive `pump()`, `tick(now)`, `set_filter()`."""

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
        source: Discovery | S3Source | None = None,
        case_path: str | None = None,
        history: FilterHistory | None = None,
        rules: Sequence | None = None,
        rules_skipped: int = 0,
        detect: bool = True,
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
        keep_out_of(self.paths)  # the trail is evidence: no spill folder inside it
        # Not walked: the files found already, or an S3 trail (listed, fetched as it loads).
        self.source = source
        self.s3_progress: S3Progress | None = None  # an S3 trail's download so far
        self._fetch_started = 0.0
        self._fetch_cancel = threading.Event()  # quitting stops the downloads and parsers
        self.follow_symlinks = follow_symlinks
        self.watch_paths = watch  # follow the paths once loaded
        self.poll = poll
        self.rescan_s = rescan_s
        self.max_bytes = max_bytes
        self.jobs = jobs
        self.store = store if store is not None else Store()
        self._preloaded = store is not None
        self.initial_filter = initial_filter
        self.rules = rules  # detection rules (None: the built-in pack and the config's)
        self.rules_skipped = rules_skipped  # Sigma rules given that could not be loaded
        self.detect = detect
        self.analysis_runs: list[float] = []
        self.pause_gate = PauseGate()  # the analysis waits while an input is answered
        self.query_obj: Query = parse("")
        self.view: View | None = None
        self.status = StatusInfo()
        self.loading = not self._preloaded
        self.follow = False  # the list cursor follows new events
        self.tailing = False
        self.tail_generation = 0  # the store's generation when tailing started
        self._tail_wanted = False  # start tailing once the load is all committed
        self._tail_mode = "poll" if poll else "watch"  # see core.tail.MODES
        self._tail_stop: asyncio.Event | None = None
        self._bytes_total = 0
        self._bytes_done = 0
        self._spill_noted = False  # a failed spill write is said once
        # When things happen (tui/policies.py).
        self.commits = CommitPacer()
        self._staged_at = 0.0  # when the commit being prepared was staged
        self._reserved = False  # room reserved for the load (_stage)
        self.redraw = RedrawPacer()
        self.views = ViewRequests()
        self.fresh = FreshMarks()
        self.arrivals = ArrivalRate()
        self.gc_policy = GcPolicy()
        self.undo = FilterUndo()
        self.loader_backlog = LoaderBacklog()
        self.frame_hold = FrameHold(self.batch_update, released=self._frame_released)
        self.key_gate: KeyGate[events.Key | events.Paste] = KeyGate()
        self.held_keys = HeldKeys()  # list keys held down: the detail pane waits
        self._key_gate_timer = False  # a check of an overdue key is set
        # Marks, notes, saved filters (the case file), filter history, exports.
        self.evidence = Evidence(self.store, self.paths, case_path, history)
        self.exporting = False  # an export thread reads the store: no commits meanwhile
        self.main: MainScreen  # the panes (get_default_screen)

    # --------------------------------------------------------------- start-up
    def get_default_screen(self) -> Screen:
        self.main = MainScreen(self.store, id="_default")
        return self.main

    async def on_mount(self) -> None:
        # The main screen composes in its own task: start once its panes are mounted,
        # so that the app is ready (run_test hands over, the first frame is drawn) with
        # them on screen, as when the app composed them. A screen that fails to compose
        # ends the app instead.
        while not self.main.mounted.is_set():
            if self.return_code is not None:
                return
            try:
                await asyncio.wait_for(self.main.mounted.wait(), 0.1)
            except TimeoutError:
                pass
        self._start()

    def _start(self) -> None:
        if not self._preloaded:
            self.gc_policy.pause()
        self.main.frame_callbacks.append(self.after_frame)
        if self.detect:
            self.attach_rules(self.rules)
            # Until the rules have run (in a worker, once the load is committed), the
            # detail pane says so instead of running them in the UI thread.
            self.main.detail_pane.analysing = True
        self.events_list.loading_text = "loading…" if self.loading else ""
        self.evidence_start()
        if self.initial_filter:
            self.filter_input.value = self.initial_filter
            self.set_filter(self.initial_filter, remember=True)
        self.events_list.focus()
        self.set_interval(PUMP_SECONDS, self.pump)
        self.set_interval(self.gc_policy.idle_s, self._idle_gc)
        self.set_interval(1.0, self.tick)
        if self._preloaded:
            self.request_view()
            self.gc_policy.settle()
            self._tail_wanted = self.watch_paths
            self._start_tail()
            self.start_analysis()
        else:
            self._load()
        self._update_status()

    def on_resize(self, event: events.Resize) -> None:
        if self.main.mounted.is_set():  # else its on_mount lays it out
            self.main.apply_layout(event.size.width)

    def on_unmount(self) -> None:
        self._fetch_cancel.set()
        self.pause_gate.stop()  # the analysis ends at its next checkpoint
        self.gc_policy.restore()
        self.evidence.close()

    @property
    def events_list(self) -> EventList:
        return self.main.events_list

    @property
    def filter_input(self) -> FilterInput:
        return self.main.filter_input

    @property
    def settled(self) -> bool:
        """Nothing known is left to do: no view being computed or asked for, no events
        waiting to be committed, no pane update put off. (Tests and benchmarks wait on
        it; the loader may still be reading files: see `loading`.)"""
        return not (
            self.views.pending
            or self.store.pending_events
            or self.main.panels_pending is not None
            or self.main.detail_pending
            or self.analysing
        )

    # ---------------------------------------------------------------- loading
    @work(thread=True, exclusive=True, group="load")
    def _load(self) -> None:
        if isinstance(self.source, S3Source):
            self._load_s3(self.source)
            return
        disc = (
            self.source
            if self.source is not None
            else discover(self.paths, follow_symlinks=self.follow_symlinks)
        )
        self._post_loader(Discovered(disc))
        buf: list[FileBatch] = []
        last = time.monotonic()
        # Closed when the explorer closes mid-load: the parser processes stop at once.
        # Left to run, the process waited for the rest of the load (25 s at 10M).
        parsed = iter_batches(disc.files, self.max_bytes, self.jobs, nice=PARSER_NICE)
        with closing(parsed) as batches:
            for b in batches:
                if self._fetch_cancel.is_set():
                    return
                self.store.learn_ahead(b)
                buf.append(b)
                now = time.monotonic()
                if now - last > 0.1 or len(buf) >= 64:
                    self._post_loader(BatchesReady(buf, False))
                    buf, last = [], now
                self._wait_for_ui()
        self._post_loader(BatchesReady(buf, True))

    def _wait_for_ui(self) -> None:
        while len(self.loader_backlog) > 8 and not self._fetch_cancel.is_set():
            time.sleep(0.02)  # the UI is behind: let it catch up

    def _load_s3(self, src: S3Source) -> None:
        """Fetch an S3 trail and parse each group of objects as it lands: the first
        events show while the rest downloads (in the loader thread, as `_load`)."""
        trail, listing = src.trail, src.listing
        self._post_loader(Discovered(trail.listed(listing)))
        wanted = trail.wanted(listing)
        errors: list[tuple[str, str]] = []
        self._post_loader(
            FetchProgress(
                S3Progress(objects_total=len(wanted), bytes_total=sum(o.size for o in wanted)), []
            )
        )
        for group in trail.fetch_groups(wanted, cancel=self._fetch_cancel, every_s=0.1):
            errors += group.errors
            self._post_loader(FetchProgress(group.progress, group.errors))
            batches = list(iter_batches(group.files, self.max_bytes, self.jobs, nice=PARSER_NICE))
            for b in batches:
                self.store.learn_ahead(b)
            if batches:
                self._post_loader(BatchesReady(batches, False))
            self._wait_for_ui()
        if self._fetch_cancel.is_set():
            return
        trail.mark_loaded(listing, errors)  # following starts after what was read
        self._post_loader(BatchesReady([], True))

    def on_fetch_progress(self, msg: FetchProgress) -> None:
        self.loader_backlog.handled()
        now = time.monotonic()
        if not self._fetch_started:
            self._fetch_started = now
        self.s3_progress = msg.progress
        self._bytes_total = msg.progress.bytes_total
        self.store.report_errors(msg.errors)  # listed with the skipped files (S)
        if self.loading:
            self.events_list.loading_text = f"loading… {self._fetch_text(now)}"
        self._update_status()

    def _fetch_text(self, now: float) -> str:
        if self.s3_progress is None:
            return ""
        return self.s3_progress.text(now - self._fetch_started)

    def _post_loader(self, msg: Message) -> None:
        self.loader_backlog.posted()
        self.post_message(msg)

    def on_discovered(self, msg: Discovered) -> None:
        self.loader_backlog.handled()
        record_discovery(self.store, msg.disc)
        self._bytes_total = sum(f.size for f in msg.disc.files)
        self._update_status()

    def on_batches_ready(self, msg: BatchesReady) -> None:
        self.loader_backlog.handled()
        for b in msg.batches:
            self.store.add(b)
            self._bytes_done += b.size
            if b.spill_error and not self._spill_noted:
                self._note_spill_failure(b.spill_error)
        if msg.done:
            self.loading = False
            self.events_list.loading_text = ""
            self.commits.next_at_once()
            self.pump()
            self.store.let_go_of_spares()  # (a commit still staged drops them at its publish)
            self.gc_policy.settle()
            self.set_timer(WARM_AFTER_LOAD_S, self.warm_columns)
            if self.store.staged is None:  # else once it is published (_committed)
                self.start_analysis()
            self._tail_wanted = self.watch_paths
            self._start_tail()
            self.integrity_after_load()
        self._update_status()

    def _note_spill_failure(self, why: str) -> None:
        # Said on the screen: the engine's stderr note is hidden under the explorer.
        self._spill_noted = True
        self.notify(
            f"the free-text corpus is kept in memory, not on disk: {clean(why)}",
            title="memory",
            severity="warning",
            markup=False,
            timeout=12,
        )

    def warm_columns(self) -> None:
        """Build the facet fields' time-ordered columns once the trail is loaded, not in
        the first filter's keypress: filtered facet counts read them, and building three
        took ~10 ms of that key at 1.3M events (in a traced tail benchmark run the first
        two filter applies were the slowest two). Commits keep them current from then on."""
        if self.store.staged is not None:  # its publish would drop them: after it
            self.set_timer(WARM_AFTER_LOAD_S, self.warm_columns)
            return
        kept = keep_big_buffers()  # a view's arrays reuse freed memory, not fresh pages
        try:
            fields = self.main.facet_panel.fields
        except NoMatches:  # closing: only the head start is lost
            return
        self.store.prepare_in_order(f for f in fields if f in FIELD_INDEX)  # not paths
        if kept:  # freed memory stays: the first big views fault in no fresh pages
            warm_view_heap(self.store, fields)

    # ------------------------------------------------------------------- pump
    def pump(self) -> None:
        """Commit pending events (they are queryable from then on) and refresh the view,
        unless a view is being computed, a worker reads the store (an export, the rules
        and credential index), or a new filter's frame is still to be drawn."""
        if self.views.running or self.exporting or self.analysing:
            return  # nothing is committed while a worker reads the store
        now = time.monotonic()
        if self.redraw.commit_waits_for_frame(now):
            return  # it runs right after that frame (after_frame)
        staged = self.store.staged
        if staged is not None and staged.ready:
            self._publish(now)
            staged = None
        if (
            staged is None
            and (pending := self.store.pending_events)
            and self.commits.due(now, loading=self.loading, stored=len(self.store), pending=pending)
        ):
            if self.commits.staged(pending):
                self._stage(now)
            else:
                self._commit(now)
        self._start_tail()  # once the load is committed, if wanted
        if not self.redraw.stale:
            return
        if self.analysing and self.query_obj.uses_detections:
            return  # its view waits for the rules (on_analysis_done asks for it)
        if self.redraw.defer_view(now, self.tailing):
            self._update_status()  # committed (queryable), redrawn once the keys pause
            return
        self.redraw.view_redrawn(now)
        if self.fresh.changed:
            self.fresh.changed = False
            self.main.show_fresh(self.fresh.live(), expired=False)
        self.request_view(arrivals=True)
        self._update_status()

    def _stage(self, now: float) -> None:
        """A big commit (the load's): prepared on a thread while keys are answered from
        the store as it is, then published by the pump, O(new rows) (Store.stage)."""
        store = self.store
        if self.loading and not self._reserved and self._bytes_done:
            # Room for the whole load, estimated from its bytes (as loader.load does):
            # the columns are not regrown, and the buffers a staged commit replaces
            # are big enough for the next one's (Store.publish's spares).
            self._reserved = True
            est = (len(store) + store.pending_events) * self._bytes_total // self._bytes_done
            store.reserve(est * 9 // 8)
        staged = store.stage()
        if staged is not None:
            self._staged_at = now
            self._prepare_commit(staged)

    @work(thread=True, group="commit")
    def _prepare_commit(self, staged: StagedCommit) -> None:
        staged.prepare()
        self.post_message(CommitPrepared())

    def on_commit_prepared(self, _msg: CommitPrepared) -> None:
        self.pump()

    def _publish(self, now: float) -> None:
        staged = self.store.staged
        assert staged is not None
        # What the publish lets go of is freed on a thread (_let_go): the commit's files,
        # and the columns' buffers if the commit regrew them (100+ ms at 10M).
        dropped: list = [b for _, b in staged.pending]
        dropped += [c.buf for c in self.store.columns.all()]
        res = self.store.publish(staged, more=self.loading)
        self._committed(res, now, started=self._staged_at)
        self._let_go(dropped)

    # (a description: Textual's default is the repr of the arguments, here every file's
    # arrays: seconds of the UI thread at 1M events)
    @work(thread=True, group="let-go", description="let go of a published commit's files")
    def _let_go(self, objects: list) -> None:
        """Free what a publish let go of here, not on the UI thread (a 10M load's commit
        holds ~1,000 files' arrays: 5-28 ms to free), a few at a time: each drop holds
        the GIL."""
        while objects:
            del objects[-16:]

    def _commit(self, now: float) -> None:
        res = self.store.commit()
        self._committed(res, now, started=now)

    def _committed(self, res: CommitResult, now: float, started: float) -> None:
        """After a commit (direct at `now`, or staged at `started` and published at
        `now`): the pacing, the redraw, arrivals, the analysis."""
        self.commits.committed(started, time.monotonic() - now)
        if len(res.rows) or self.view is None:
            self.redraw.stale = True
        if self.loading:
            self.call_later(self.gc_policy.part_loaded)  # a frame may go out first
        if self.tailing and len(res.rows):
            self.arrivals.add(now, len(res.rows))
            self.fresh.add(res.new_values, now)
        if not self.loading and self.detect and not self.store.pending_events:
            self.start_analysis()  # (after a staged commit, the load's rest first)

    def after_frame(self) -> None:
        """Called once the main screen has composed a frame: a commit put off for it runs
        now, and young objects are collected (GcPolicy.after_frame)."""
        if self.redraw.frame_drawn():
            self.call_later(self.pump)
        self.gc_policy.after_frame(self.frame_hold.held)
        self.resume_after_frame()

    def _idle_gc(self) -> None:
        self.gc_policy.when_idle(time.monotonic(), self.redraw.last_input)

    def tick(self, now: float | None = None) -> None:
        """Once a second: expire 'new value' marks, update the arrival rate."""
        now = time.monotonic() if now is None else now
        if self.fresh.expire(now):
            self.main.show_fresh(self.fresh.live(), expired=True)
        self.arrivals.trim(now)
        if self.tailing:
            self._update_status()

    # ------------------------------------------------------------------ keys
    def on_event(self, event: events.Event) -> Coroutine[Any, Any, None]:
        if isinstance(event, _INPUT_EVENTS):
            self.pause_for_input()
        if isinstance(event, (events.Key, events.Paste)) and not event.is_forwarded:
            # From the terminal (a key coming back up from a widget is forwarded).
            if isinstance(event, events.Key):
                self.redraw.key(time.monotonic())
            if self.key_gate.busy:  # its turn comes when the keys before it are done
                self.key_gate.held.append(event)
                self._check_key_gate_later()
                return _nothing()
            return self._send_key(event)
        return super().on_event(event)

    async def _send_key(self, event: events.Key | events.Paste) -> None:
        """Send a key (or paste) from the terminal where Textual would, once the keys
        sent before it are done (KeyGate): their end is waited for only now, so that
        a key alone costs nothing more and its frame goes out as soon as before."""
        gate = self.key_gate
        target = self.focused or self.screen  # where App.on_event forwards it
        keeps = self._keeps_focus(event, target)
        if gate.unconfirmed is not None and not (keeps and gate.unconfirmed == (target, 1)):
            gate.held.appendleft(event)
            (before, passes), gate.unconfirmed = gate.unconfirmed, None
            seq = gate.sent(time.monotonic())
            if not before.post_message(KeyEcho(seq, passes)):
                self.call_later(self._key_done, seq)  # gone, and its keys with it
            self._check_key_gate_later()
            return
        if isinstance(event, events.Key) and self._opens_filter(event):
            # Here, not as the focused pane's binding (which runs once the key has
            # come back up from the pane): focused at once, with no key to wait for.
            self.action_focus_filter()
            event.stop()
            return
        self._hold_list_frame(event)
        await super().on_event(event)
        if event.is_forwarded:
            gate.unconfirmed = (target, 1 if keeps else 2)
        else:  # taken by a priority binding: only its effects to wait for
            gate.unconfirmed = (self.focused or self.screen, 1)

    def _hold_list_frame(self, event: events.Key | events.Paste) -> None:
        """A list key's frame waits for the detail pane (FrameHold)."""
        if isinstance(event, events.Key) and event.key in LIST_KEYS:
            if self.focused is self.events_list:
                if event.key in _CURSOR_KEYS[EventList]:
                    self.held_keys.key(event.time, time.monotonic())
                self._hold_frame()

    def _keeps_focus(self, event: events.Key | events.Paste, target: object) -> bool:
        """`event`, sent to `target`, cannot move the focus: a pane's cursor key, or a
        character typed into a text field. Those are most keys, and the ones that come
        fast (a held key, typing): the next one need not wait for them."""
        if not isinstance(event, events.Key):
            return False
        if (cursor_keys := _CURSOR_KEYS.get(type(target))) is not None:
            return event.key in cursor_keys
        return isinstance(target, Input) and event.is_printable

    async def _send_held(self) -> None:
        """Send the held keys in turn, until one has to wait for those before it."""
        while (event := self.key_gate.next()) is not None:
            await self._send_key(event)

    async def on_key_echo(self, echo: KeyEcho) -> None:
        echo.stop()
        if echo.passes > 1:
            target = self.focused or self.screen
            if target.post_message(KeyEcho(echo.seq, echo.passes - 1)):
                return
        # After what is already in this queue (a focus set by `Widget.focus`).
        self.call_later(self._key_done, echo.seq)

    async def _key_done(self, seq: int) -> None:
        if self.key_gate.done(seq):
            await self._send_held()

    def _check_key_gate_later(self) -> None:
        if not self._key_gate_timer:
            self._key_gate_timer = True
            self.set_timer(self.key_gate.max_wait_s, self._check_key_gate)

    async def _check_key_gate(self) -> None:
        """A key whose echo never came (its widget went away) holds the rest no longer."""
        self._key_gate_timer = False
        gate = self.key_gate
        if gate.overdue(time.monotonic()):
            gate.done(gate.seq)
        await self._send_held()
        if gate.busy:
            self._check_key_gate_later()

    def _opens_filter(self, key: events.Key) -> bool:
        """`key` is the filter key pressed on the panes (not typed in a text field)."""
        return (
            key.key in _FILTER_KEYS
            and self.screen is self.main
            and not isinstance(self.focused, Input)
        )

    def _hold_frame(self) -> None:
        """Hold screen updates until the detail pane shows the event a list key moves
        to (the main screen releases it), or FRAME_HOLD_MAX_S if the key moved nothing."""
        if self.frame_hold.hold():
            self.set_timer(FRAME_HOLD_MAX_S, self.frame_hold.release)

    def _frame_released(self) -> None:
        self.screen.check_idle()  # render what changed meanwhile

    # ---------------------------------------------------------------- tailing
    def _start_tail(self) -> None:
        """Start following, if wanted, once every loaded event is committed: what is
        committed from then on are arrivals (counted as new, in the rate, and marked)."""
        if self.tailing or not self._tail_wanted or self.store.pending_events:
            return
        self._tail_wanted = False
        self.tailing = True
        self.tail_generation = self.store.generation
        if isinstance(self.source, S3Source):
            self._tail_s3(self.source)
            return
        tracker = TailTracker(self.paths, follow_symlinks=self.follow_symlinks)
        tracker.prime(self.store.files)
        self._tail(tracker)

    @work(exclusive=True, group="tail")
    async def _tail_s3(self, src: S3Source) -> None:
        """Follow an S3 trail: list the day folders still receiving files after the
        newest key seen, every --interval seconds; arrivals come as the local tail's."""
        self._tail_stop = asyncio.Event()
        await src.trail.follow(
            lambda ev: self.post_message(TailEvent(ev)),
            stop=self._tail_stop,
            max_bytes=self.max_bytes,
            jobs=self.jobs,
        )

    @work(exclusive=True, group="tail")
    async def _tail(self, tracker: TailTracker) -> None:
        self._tail_stop = asyncio.Event()

        def deliver(ev: FollowEvent) -> None:
            # Runs on the app's event loop (this is an async worker): post, don't touch.
            self.post_message(TailEvent(ev))

        parser = parser_process(PARSER_NICE)
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
                nice=PARSER_NICE,
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
                self.notify(
                    f"file rewritten in place: {clean(b.path)}",
                    severity="warning",
                    markup=False,
                    timeout=8,
                )
            self.store.add(b)
        # The 4 Hz pump commits: one view recompute per tick however many files land.
        self._update_status()

    # ------------------------------------------------------------------- view
    def path_pending(self, name: str) -> bool:
        """A facet on a JSON path whose column still has many files to scan (built by
        the next view, in a thread)."""
        return (
            name not in FIELD_INDEX
            and name != LABEL_FACET
            and name not in DETECTION_FACETS
            and self.store.path_backlog(parse_path(name)) > SYNC_TEXT_FILES
        )

    def request_view(self, arrivals: bool = False) -> None:
        """Recompute the view for the current filter and store. Indexed filters take a
        few ms even at a million events, so they run right here: a thread would only
        fight the renderer for the GIL (measured: ~70 ms key -> view at 100k). Free
        text that is not cached yet (a second or more) goes to a worker thread, and so
        does a filtered view of `arrivals` (committed events) over a big store: keys
        are answered meanwhile (its work is mostly numpy's, without the GIL)."""
        if self.views.defer():
            return
        self.redraw.stale = False  # whatever is committed goes into this view
        seq = self.views.next()
        query = self.query_obj
        previous = self.view if self.view is not None and self.view.query == query else None
        # The list's JSON path columns are built like path facets (counted too: cheap).
        facets = (*self.main.facet_panel.fields, *self.events_list.path_columns)
        if (
            any(self.store.text_backlog(p) > SYNC_TEXT_FILES for p in query.text_pieces())
            or any(self.store.path_backlog(p) > SYNC_TEXT_FILES for p in query.paths())
            or any(self.path_pending(f) for f in facets)
        ):
            self.views.started_in_thread()
            self.status.busy = True
            fields = tuple(facets)  # counted in the thread too
            self._compute_view(seq, query, fields, previous, self.view)
            return
        if arrivals and query.root is not None and len(self.store) >= THREAD_ARRIVALS_MIN:
            self.views.started_in_thread()  # (not "searching…": nobody asked for it)
            stored = [f for f in self.main.facet_panel.fields if f in FIELD_INDEX]
            fields = (*stored, *self.events_list.path_columns)  # the rest when drawn
            self._compute_view(seq, query, fields, previous, self.view)
            return
        try:
            for name in self.events_list.path_columns:  # few files to scan: now
                self.store.path_column(parse_path(name))
            # A new filter's facets (counts and top values) are taken with its view,
            # in slices on both cores, so they go out in the list's frame; arrivals'
            # counts are taken when the facets are drawn (MainScreen.show_panels). A
            # filter that narrows the view on screen is tested at its rows only.
            stored = [f for f in self.main.facet_panel.fields if f in FIELD_INDEX]
            view = compute_view(
                self.store,
                query,
                stored if previous is None else (),  # paths, labels, detections: when drawn
                previous,
                base=self.view,
                facet_top=FACET_TOP,
            )
        except QueryError as e:
            self._view_done(None, e)
            return
        view.seq = seq
        self._view_done(view, None)

    @work(thread=True, group="view", description="compute a view")  # (not the View's repr)
    def _compute_view(
        self,
        seq: int,
        query: Query,
        fields: tuple[str, ...],
        previous: View | None,
        base: View | None = None,
    ) -> None:
        try:
            view = compute_view(self.store, query, fields, previous, base=base)
        except QueryError as e:
            self.post_message(ViewReady(None, e))
            return
        view.seq = seq
        self.post_message(ViewReady(view))

    def on_view_ready(self, msg: ViewReady) -> None:
        self.views.finished()
        self.status.busy = False
        self._view_done(msg.view, msg.error)
        if self.views.take_dirty():
            self.request_view()
        elif self.store.pending_events:
            self.pump()
        self._update_status()

    def _view_done(self, view: View | None, error: QueryError | None) -> None:
        if error is not None:
            # Evaluation-time errors (e.g. unknown has: name): keep the previous result.
            self.main.show_filter_error(error, self.query_obj.text)
            # Back to the bar (the caret is at the error), as after a parse error.
            self.filter_input.focus()
            if self.view is not None:
                self.query_obj = self.view.query
                # The failed filter never took effect: forget the history step to it.
                self.undo.forget(self.view.query.text)
        elif view is not None and view.seq == self.views.seq:
            previous, self.view = self.view, view
            self.main.show_view(view, previous)

    # ----------------------------------------------------------------- filter
    def set_filter(self, text: str, remember: bool = True) -> bool:
        """Apply a filter; False (and the error shown in the bar) if it does not parse
        or fails to evaluate. `remember`: `u` can go back to the filter it replaces."""
        try:
            q = parse(text)
        except QueryError as e:
            self.main.show_filter_error(e, text)
            return False
        if remember:
            self.undo.push(self.query_obj.text)
            if (problem := self.evidence.remember_filter(text)) is not None:
                self.notify(clean(problem), severity="warning", markup=False)
        self.query_obj = q
        if uses_unverified(q):
            self.check_integrity()
        self.main.filter_accepted(text)
        self.request_view()
        self._update_status()
        return self.query_obj is q  # an evaluation error puts the previous filter back

    def extend_filter(self, build: Callable[[str], str]) -> None:
        """Apply `build(current filter text)` (a pane's request to add a term)."""
        try:
            text = build(self.query_obj.text)
        except (QueryError, ValueError) as e:
            self.notify(clean(str(e)), severity="error", markup=False)
            return
        self.filter_input.value = text
        self.set_filter(text)

    # ---------------------------------------------------------------- actions
    def action_focus_filter(self) -> None:
        # The cursor at the end: typing adds to the filter (ctrl+x clears it). Focused
        # at once, not at the next idle (Widget.focus): the keys after this one in the
        # app's queue go to the filter (on_event).
        inp = self.filter_input
        self.screen.set_focus(inp)
        inp.cursor_position = len(inp.value)

    def action_focus_list(self) -> None:
        self.events_list.focus()

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def action_skipped(self) -> None:
        self.check_integrity()
        self.push_screen(
            SkippedScreen(
                self.store.skipped(),
                list(self.store.ignored),
                self.evidence.integrity or "after the trail loads",
            )
        )

    def action_undo_filter(self) -> None:
        text = self.undo.pop()
        if text is None:
            self.notify("no earlier filter", timeout=2)
            return
        self.filter_input.value = text
        self.set_filter(text, remember=False)

    def action_clear_filter(self) -> None:
        self.filter_input.value = ""
        self.set_filter("")

    def action_jump_time(self) -> None:
        def done(value: str | None) -> None:
            if not value:
                return
            ms = parse_jump_time(value, self.store.newest_time_ms())
            if ms is None:
                self.notify("not a time: use 2026-11-20T10:05, 2026-11-20 or -2h", severity="error")
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
        if self.view is not None and len(self.view):
            lst.move_to_newest()
        self.status.new_pending = 0
        self._update_status()

    def action_toggle_layout(self) -> None:
        self.main.toggle_layout()

    def action_toggle_facets(self) -> None:
        self.main.toggle_facets()

    # --------------------------------------------------------------- palette
    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for a in ACTIONS:
            if not a.palette:
                continue
            yield SystemCommand(
                f"{a.title}  ({key_label(a.keys)})",
                f"{SCOPES[a.scope]}: {a.help}",
                lambda a=a: self._run_palette_action(a),
            )
        yield from self.evidence_commands()

    async def _run_palette_action(self, spec: ActionSpec) -> None:
        """Run a palette command where its keys would: timeline actions on the timeline
        (focused, so its cursor shows), the list's on the list, the rest on the app."""
        if spec.scope == "timeline":
            timeline = self.main.query_one(Timeline)
            timeline.focus()
            await timeline.run_action(spec.action)
        elif spec.scope == "list":
            await self.run_action(spec.action, self.events_list)
        else:
            await self.run_action(spec.action)

    # ----------------------------------------------------------------- status
    def update_status(self) -> None:
        """Redraw the status line (a pane's state it shows changed)."""
        self._update_status()

    def _update_status(self) -> None:
        now = time.monotonic()
        fill_status(
            self.status,
            self.store,
            None if self.view is None else self.view.row_list(),  # (its length)
            loading=self.loading,
            load_fraction=(self._bytes_done / self._bytes_total) if self._bytes_total else 0.0,
            filter_text=self.query_obj.text,
            follow=self.follow,
            tail_mode=self._tail_mode if self.tailing else None,
            rate_per_min=float(self.arrivals.per_window(now)) if self.tailing else None,
        )
        self.status.transfer = self._fetch_text(now) if self.loading else ""
        try:
            self.main.show_status(self.status)
        except NoMatches:  # closing: a timer's status update after the panes are gone
            pass
