"""The explorer's main screen: the panes, their layout, and their messages.

It shows the app's views (list, detail pane, facets, timeline) and turns what the panes
post (filter requests, cursor moves, copies...) into calls on the app, which holds the
state (store, filter, view). When a view's parts are drawn is timed here, with the
app's RedrawPacer: one frame for a new filter, arrivals' panels after the keys pause.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from textual import on
from textual.app import ComposeResult
from textual.containers import Container, Horizontal, Vertical
from textual.timer import Timer

from widgets.detail import DetailPane
from widgets.event_list import EventList
from widgets.facets import DETECTION_FACETS, FacetList, FacetPanel
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
from widgets.textual_private import FrameHookScreen
from widgets.timeline import Timeline

from .column_screen import ColumnScreen
from .core.listconfig import ColumnSpec, ListConfigError, load_columns, save_columns
from .core.query import QueryError, add_term, quote_value, term_for, time_range_term
from .core.sanitize import clean
from .core.store import Store
from .core.timebuckets import top_value
from .core.view import LABEL_FACET, View, prepare_filter
from .policies import FreshValues

if TYPE_CHECKING:
    import numpy as np

    from .app import TrailscopeApp

FACET_TOP = 60  # facet rows counted per view
DETAIL_DELAY = 0.06  # seconds the list cursor rests before the detail pane follows...
# ...when moves come as a held key's (tui/policies.py HeldKeys: keys < 100 ms apart)
# A sort key's frame waits this long for a sort on the list's thread expected to land
# at once (EventList.landing_soon; 1M rows: 3-6 ms), so that the new order goes out
# with the key's answer in one frame; a longer sort (10M rows: 60-190 ms; a first sort
# by principal, building its ranks) shows "sorting by…" meanwhile.
SORT_LANDING_S = 0.015
STACK_BELOW = 180  # columns: the detail pane goes below the list in a narrower terminal
BESIDE_MIN = 80  # columns of list + detail: narrower, the detail pane cannot go beside
NARROW = 100  # columns: the facets start hidden (ctrl+t shows them)
SHORT = 32  # lines
# View rows above which a new filter's facets and timeline go out a frame after the list.
# Counting the facets is a pass per field over the view's rows (~20 ns a row for the
# three default facets): up to here it costs less than the extra frame. At 1M events a
# 414k-row view: filter apply p95 49-61 ms with 200,000 here, 30-32 ms with 600,000
# (bench_app.py --events 1000000 --filters 12 --filters-only, three runs each way).
PANELS_INLINE_MAX = 600_000


def in_app_task(handler: Callable[[Any, Any], None]) -> Callable[[Any, Any], None]:
    """Run a pane message's handler in the app's task, one queue hop later (where the
    message arrives as it bubbles on), not in the screen's own task.

    The panes a handler changes ask to be repainted from their own tasks once it
    returns; from the app's task, they have asked before the screen draws its next
    frame, so the frame has them all. Run in the screen's task, the screen drew the
    list first and the detail pane (or the facets, the filter bar's focus) a frame
    later: measured at 1M events, a list key's full effect went from 28 to 48 ms p50.
    """

    @functools.wraps(handler)
    def run_in_app(self: MainScreen, msg: Any) -> None:
        self.app.call_later(handler, self, msg)

    return run_in_app


def _only_term(msg: FilterRequest) -> str:
    """The filter a "replace" request makes: its term alone."""
    if msg.field is not None:
        return term_for(msg.field, msg.value, msg.negate)
    phrase = quote_value(msg.value)
    if not phrase.startswith('"'):
        phrase = f'"{phrase}"'
    return ("-" if msg.negate else "") + phrase


class MainScreen(FrameHookScreen):
    """Filter bar, facets, event list, timeline, detail pane, status line, key hints."""

    def __init__(self, store: Store, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.store = store
        self.mounted = asyncio.Event()  # set once the panes are mounted and laid out
        # The user's layout choices (ctrl+d, ctrl+t); None: by the terminal's width.
        self.detail_beside: bool | None = None
        self.facets_shown: bool | None = None
        self.panels_pending: View | None = None  # a view whose facets/timeline are not drawn
        self._detail_row: int | None = None
        self._detail_timer: Timer | None = None

    @property
    def explorer(self) -> TrailscopeApp:
        return cast("TrailscopeApp", self.app)

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
        self.apply_layout(self.app.size.width)
        self._load_columns()
        self.mounted.set()

    # ---------------------------------------------------------- list columns
    def _load_columns(self) -> None:
        try:
            saved = load_columns()
        except ListConfigError as e:
            self.notify(clean(str(e)), title="columns", severity="warning", markup=False, timeout=8)
            return
        if saved:
            self.events_list.set_columns([(c.name, c.width) for c in saved])

    @on(EventList.ColumnsRequested)
    def _on_columns_requested(self, _msg: EventList.ColumnsRequested) -> None:
        lst = self.events_list
        widths = dict(lst.column_widths())
        self.app.push_screen(ColumnScreen(lst.column_specs, widths), self._columns_chosen)

    def _columns_chosen(self, choice: list[tuple[str, int | None]] | None) -> None:
        if choice is None:
            return
        self.events_list.set_columns(choice)
        try:
            save_columns([ColumnSpec(n, w) for n, w in self.events_list.column_specs])
        except OSError as e:
            self.notify(
                clean(f"columns not saved: {e}"), severity="warning", markup=False, timeout=6
            )

    @on(EventList.LayoutChanged)
    @in_app_task
    def _on_list_layout(self, _msg: EventList.LayoutChanged) -> None:
        self.explorer.update_status()
        # A sort key's answer is complete: the header's arrow and the status line. A
        # cursor it moved was posted first, and its handler has run (both hop to the
        # app's task in order). A big view's new order lands later, from the list's
        # thread (its cursor move releases the hold): the held frame goes out now, or
        # if the order should land at once after SORT_LANDING_S at most; not at the
        # hold's own limit (FRAME_HOLD_MAX_S, 50 ms: the sort key's whole answer at 10M).
        hold = self.explorer.frame_hold
        if self.events_list.landing_soon and hold.held:
            self.set_timer(SORT_LANDING_S, hold.release)
        else:
            hold.release()

    # ------------------------------------------------------------------ panes
    @property
    def events_list(self) -> EventList:
        return self.query_one("#events", EventList)

    @property
    def filter_input(self) -> FilterInput:
        return self.query_one(FilterInput)

    @property
    def detail_pane(self) -> DetailPane:
        return self.query_one(DetailPane)

    @property
    def facet_panel(self) -> FacetPanel:
        return self.query_one(FacetPanel)

    # ----------------------------------------------------------------- layout
    def apply_layout(self, width: int) -> None:
        # Facets: hidden by default below NARROW columns, where the list needs the room
        # for its five essential columns.
        facets = self.query_one("#facets")
        facets.display = self.facets_shown if self.facets_shown is not None else width >= NARROW
        # Detail pane: beside the list when there is room for both (or when asked and
        # it fits), below it otherwise.
        beside = self.detail_beside if self.detail_beside is not None else width >= STACK_BELOW
        self.query_one("#work").set_class(not (beside and self._beside_fits(width)), "-stacked")
        self.set_class(width < NARROW, "-narrow")
        self.set_class(self.app.size.height < SHORT, "-short")

    def _beside_fits(self, width: int) -> bool:
        # The facets' width as app.tcss sets it (read before the next layout).
        used = (22 if width < NARROW else 34) if self.query_one("#facets").display else 0
        return width - used >= BESIDE_MIN

    @property
    def detail_is_beside(self) -> bool:
        return not self.query_one("#work").has_class("-stacked")

    def toggle_layout(self) -> None:
        width = self.app.size.width
        want = not self.detail_is_beside
        if want and not self._beside_fits(width):
            self.notify(
                f"too narrow for the detail pane beside the list (it needs "
                f"{BESIDE_MIN} columns; ctrl+t hides the facets)",
                timeout=4,
            )
            return
        # A choice that matches the default for this width is no choice: a later
        # resize lays the panes out by width again.
        self.detail_beside = None if want == (width >= STACK_BELOW) else want
        self.apply_layout(width)

    def toggle_facets(self) -> None:
        f = self.query_one("#facets")
        self.facets_shown = not f.display
        self.apply_layout(self.app.size.width)

    # ----------------------------------------------------------------- filter
    def show_filter_error(self, error: QueryError, text: str) -> None:
        self.query_one(FilterBar).show_error(str(error), error.position, text)

    def filter_accepted(self, text: str) -> None:
        self.query_one(FilterBar).clear_error()
        self.filter_input.remember(text)

    def set_filter_text(self, text: str) -> None:
        self.filter_input.value = text

    @on(FilterInput.Applied)
    @in_app_task
    def _on_filter_applied(self, msg: FilterInput.Applied) -> None:
        if self.explorer.set_filter(msg.text):
            self.events_list.focus(scroll_visible=False)

    @on(FilterInput.Changed)
    @in_app_task
    def _on_filter_typed(self, msg: FilterInput.Changed) -> None:
        # The fields a filter being typed names get their time-ordered columns now
        # (once each), not on `enter` (prepare_filter).
        if not self.explorer.loading:
            prepare_filter(self.store, msg.value)

    @on(FilterInput.Left)
    @in_app_task
    def _on_filter_left(self, _msg: FilterInput.Left) -> None:
        self.events_list.focus()

    @on(FilterRequest)
    @in_app_task
    def _on_filter_request(self, msg: FilterRequest) -> None:
        if msg.replace:
            self.explorer.extend_filter(lambda _t: _only_term(msg))
            return
        if msg.field is None:
            phrase = quote_value(msg.value)
            if not phrase.startswith('"'):
                phrase = f'"{phrase}"'
            self.explorer.extend_filter(
                lambda t: (f"{t} " if t.strip() else "") + ("-" if msg.negate else "") + phrase
            )
        else:
            field = msg.field
            self.explorer.extend_filter(lambda t: add_term(t, field, msg.value, msg.negate))

    @on(FacetRequest)
    @in_app_task
    def _on_facet_request(self, msg: FacetRequest) -> None:
        self.facets_shown = True
        self.query_one("#facets").display = True
        try:
            self.facet_panel.show(msg.name)
        except ValueError as e:
            self.notify(clean(str(e)), severity="error", markup=False)

    @on(TimeRangeRequest)
    @in_app_task
    def _on_time_range(self, msg: TimeRangeRequest) -> None:
        term = time_range_term(msg.lo_ms, msg.hi_ms)
        self.explorer.extend_filter(lambda t: f"{t} {term}".strip())

    @on(Timeline.CursorMoved)
    def _on_timeline_cursor(self, msg: Timeline.CursorMoved) -> None:
        # The readout's top principal: counted over the view's rows in the bucket.
        v = self.explorer.view
        if v is None or not self.explorer.is_running:
            return
        # (read through the view's positions while its rows are not taken: View.lazy)
        times, rows = v.ordered_times(), v.row_list()
        top = top_value(self.store, "principal", rows, times, msg.lo_ms, msg.hi_ms)  # type: ignore[arg-type]
        value, count = top if top is not None else (None, 0)
        self.query_one(Timeline).show_top(msg.lo_ms, msg.hi_ms, value, count)

    @on(CopyRequest)
    @in_app_task
    def _on_copy(self, msg: CopyRequest) -> None:
        # The raw value goes to the clipboard (it is evidence), but lone surrogates from
        # lenient files cannot be encoded for OSC 52: those become \udXXX escapes.
        text = msg.text.encode("utf-8", "backslashreplace").decode("utf-8")
        self.app.copy_to_clipboard(text)
        n = len(msg.text)
        self.notify(f"copied {clean(msg.what)} ({n:,} characters)", markup=False, timeout=3)

    @on(EventRequest)
    @in_app_task
    def _on_event_request(self, msg: EventRequest) -> None:
        if not self.events_list.move_to_row(msg.row):
            self.notify("that event is not in the list: the filter hides it", timeout=4)

    # ----------------------------------------------------------------- views
    def show_view(self, v: View, previous: View | None) -> None:
        """Put a new view (`previous` was on screen) into the panes."""
        app = self.explorer
        lst = self.events_list
        at_end = lst.at_end
        grew = previous is not None and previous.query is v.query and len(v) > len(previous)
        # Events arriving with the cursor on the first row (as it starts while loading)
        # keep it on the first row, like follow keeps it on the last: otherwise older
        # events loaded later would be scrolled off above an arbitrary first batch.
        at_top = grew and lst.cursor_index == 0 and not (app.follow and at_end)
        current = v.generation == self.store.generation  # v.sel is the store's order
        # The rows as a sequence: a lazy view's are taken a page at a time (View.row_list).
        lst.set_rows(v.row_list(), keep=not at_top, sel=v.sel if current else None)
        if grew:
            assert previous is not None
            # Same filter, more rows: events arrived. Follow, or count them for "+N new".
            if app.follow and at_end:
                lst.move_to_newest()
            elif app.tailing and previous.generation >= app.tail_generation:
                # Only rows committed since tailing began: the load's last commits
                # are not arrivals.
                app.status.new_pending += len(v) - len(previous)
        if lst.at_end:
            app.status.new_pending = 0
        self.panels_pending = v
        now = time.monotonic()
        if not grew:
            # A new filter: the list, detail pane, facets and timeline go out in one
            # frame. Two frames cost a screen tick more: at 1M events, key -> last
            # frame measured 77 / 89 ms (p50 / p95) in two frames, 46 / 54 in one.
            # Over a big view the facet counts cost more than that tick, so the list,
            # detail pane and status go out first and the panels in the next frame.
            # A detail update still waiting for held keys (or for arrivals' cursor
            # moves, while tailing) is due now: otherwise the pane caught up one frame
            # later (measured while tailing: filter apply 37-44 ms p50, 87-102 p95).
            if self._detail_timer is not None:
                self._detail_timer.stop()
                self._detail_timer = None
            app.redraw.filter_shown(now)
            self._detail_row = lst.cursor_row
            self._show_detail()  # a no-op when the pane already shows that row
            # The view of every event counts from the store's per-commit facets
            # (View.facet): ~2 ms at 1M, less than the extra frame (clear filter at 1M:
            # 44.6 / 53.7 ms p50 / p95 in two frames).
            every_event = len(v) == len(self.store) and current
            # Facets taken with the view (compute_view's facet_top) cost little to draw.
            ready = v.has_tops(self.facet_panel.fields, FACET_TOP)
            if len(v) <= PANELS_INLINE_MAX or every_event or ready:
                self.show_panels()
            else:
                self.call_after_refresh(self.show_panels)
        elif app.tailing and app.redraw.keys_recent(now):
            # Arrivals while keys come in: the list shows them now; facets and timeline
            # wait for a pause in the keys (RedrawPacer).
            if app.redraw.defer_panels(now):
                self.set_timer(app.redraw.quiet_s, self._panels_when_quiet)
        else:
            # Arrivals (loading, tailing): the list first, facets and timeline in the
            # next frame, so keys typed meanwhile wait less.
            self.call_after_refresh(self.show_panels)

    def _panels_when_quiet(self) -> None:
        redraw = self.explorer.redraw
        if redraw.panels_since is None or self.panels_pending is None:
            redraw.panels_since = None
            return
        if redraw.panels_wait_on(time.monotonic()):
            self.set_timer(redraw.quiet_s, self._panels_when_quiet)
            return
        self.show_panels()

    def show_panels(self) -> None:
        """Draw the facets and timeline of `panels_pending`, if it is still the view."""
        app = self.explorer
        app.redraw.panels_since = None
        v, self.panels_pending = self.panels_pending, None
        if v is None or v is not app.view or not app.is_running:
            return
        for fl in self.facet_panel.lists:
            if app.path_pending(fl.field):
                continue  # a path being scanned in the view thread: its view sets these
            if fl.field in DETECTION_FACETS:
                if not app.rules_pending:  # else when the rules are done (show_detections)
                    pairs = self.detection_facet(v, fl.field)
                    fl.set_counts(pairs, len(v), len(pairs))
                continue
            counts, distinct = v.facet(self.store, fl.field, FACET_TOP)
            fl.set_counts(counts, len(v), distinct)
        sel = self.events_list.cursor_row
        self.query_one(Timeline).set_data(
            v.ordered_times(),  # a lazy view's times: binary searches through `sel`
            v.errors,
            None if sel is None else self.store.time_ms(sel),
            presorted=True,  # a view's rows are in time order
            ascending=v.ascending,  # and, without clamped times, their times ascend
        )

    def detection_facet(self, v: View, field: str) -> list[tuple[str, int]]:
        """A detection facet's (value, events) under view `v`: by the most severe rule
        that flagged each event (severity), or by rule (an event under each of its)."""
        by_rule, by_severity = v.detection_counts(self.store)
        if field == "severity":
            return by_severity
        return [(rule.id, n) for rule, n in by_rule]

    def _facet_counter(self, field: str) -> list[tuple[str, int]]:
        app = self.explorer
        if app.path_pending(field):
            return []  # the view computing it sets the counts
        # The view on screen, even if events arrived since (its counts match the list).
        v = app.view
        if field in DETECTION_FACETS:
            return [] if v is None or app.rules_pending else self.detection_facet(v, field)
        if v is None:
            return [] if field == LABEL_FACET else self.store.counts(field)
        return v.facet(self.store, field, None)[0]

    @on(FacetList.FieldChanged)
    @in_app_task
    def _on_facet_field(self, msg: FacetList.FieldChanged) -> None:
        app = self.explorer
        v = app.view
        if v is None or app.path_pending(msg.field):
            app.request_view()  # a new path's column is built in the view's thread
            return
        if msg.field in DETECTION_FACETS:
            return  # set_field filled it from _facet_counter
        counts, distinct = v.facet(self.store, msg.field, FACET_TOP)
        msg.facet.set_counts(counts, len(v), distinct)

    def show_fresh(self, marks: dict[str, dict[int, float]], expired: bool) -> None:
        """Mark the values first seen while tailing (field -> code -> expiry), in the
        list and the facets. The panes get live views of the marks, not copies."""
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
        self.facet_panel.set_fresh({f: FreshValues(self.store, f, m) for f, m in marks.items()})

    def show_detections(self, ranks: np.ndarray) -> None:
        """The rules have run over what is committed: mark the list's rows (`ranks`:
        per store row, the most severe flagging rule's rank, -1 none), recount the
        detection facets, redraw the detail pane's Detections and Origin."""
        lst = self.events_list
        lst.detection_ranks = ranks
        lst.refresh_rows()
        v = self.explorer.view
        if v is not None:
            for fl in self.facet_panel.lists:
                if fl.field in DETECTION_FACETS:
                    pairs = self.detection_facet(v, fl.field)
                    fl.set_counts(pairs, len(v), len(pairs))
        pane = self.query_one(DetailPane)
        if pane.analysing:
            pane.analysing = False
            pane.show(pane.row, force=True)

    def show_detection_facet(self) -> None:
        """Show the Detections facet (by severity) and focus it."""
        self.query_one("#facets").display = True
        fl = self.facet_panel.show("severity")
        if fl is not None:
            fl.focus()

    def show_status(self, status: StatusInfo) -> None:
        status.list_note = self.events_list.describe()
        self.query_one(StatusLine).show(status)

    # ----------------------------------------------------------- detail pane
    @on(EventHighlighted)
    @in_app_task
    def _on_highlighted(self, msg: EventHighlighted) -> None:
        app = self.explorer
        if not app.is_running:
            return  # shutting down: the panes may already be gone
        if self.events_list.at_end:
            app.status.new_pending = 0
        # Rebuilding the detail tree costs more than moving the list cursor: while keys
        # repeat (j held down, paging), show the event once the cursor rests.
        self._detail_row = msg.row
        repeating = app.held_keys.moved(time.monotonic())
        if self._detail_timer is not None:
            self._detail_timer.stop()
            self._detail_timer = None
        if repeating:
            self.show_detail_after(DETAIL_DELAY)
        else:  # a single move: the detail pane joins the list in the same frame
            self._show_detail()
        app.frame_hold.release()

    def show_detail_after(self, delay: float) -> None:
        """Show the cursor's event in the detail pane once `delay` has passed (unless a
        new filter or another move comes first)."""
        self._detail_timer = self.set_timer(delay, self._show_detail)

    @property
    def detail_pending(self) -> bool:
        """The detail pane is still to follow the list cursor."""
        return self._detail_timer is not None

    def _show_detail(self) -> None:
        self._detail_timer = None
        if not self.app.is_running:
            return
        row = self._detail_row
        self.query_one(DetailPane).show(row)
        self.query_one(Timeline).set_selected(None if row is None else self.store.time_ms(row))
