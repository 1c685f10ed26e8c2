"""The virtualised event table: one line per event, a fixed header, a cursor.

A Line-API `ScrollView`: the widget is asked for one screen line at a time
(`render_line`), so a million rows cost no more than thirty. Nothing here loops over
the rows in Python; cursor bookkeeping on `set_rows` is one vectorised compare plus
an O(log n) bisect. Rendered rows are kept in a small LRU because scrolling and
cursor moves re-request the same lines over and over.

Line 0 of the widget is always the header; data row `i` sits at screen line
`i - scroll_y + 1`. The virtual height is `len(rows) + 1`, so scrolling to the end
shows the last row on the last screen line.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Container, Mapping
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events, work
from textual.binding import BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tui.core.batch import CONFLICT, HOSTILE
from tui.core.fields import FIELD_BY_NAME
from tui.core.normalize import NO_TIME, format_time
from tui.core.paths import CONTAINER, PathError, parse_path
from tui.core.sanitize import clean
from tui.core.sorting import ERRORS_FIRST, Ranks, SortKey, prepare_sort, sort_rows
from tui.core.store import Store
from tui.core.view import ViewRows

from .bindings import bindings
from .messages import EventHighlighted
from .quiet_scroll import QuietScroll
from .safe import is_plain, safe_text
from .strip_cache import StripCache

__all__ = [
    "DEFAULT_COLUMNS",
    "EventList",
    "column_layout",
    "principal_label",
    "short_service",
]

_AWS_SUFFIX = ".amazonaws.com"
_HEADER_LINES = 1
_CACHE_SIZE = 400  # a few screens of rows, both cursor states
_CELL_CACHE_SIZE = 20_000  # fitted (field, value, width) cells
_SPACE = Segment(" ")
_UNSET = object()  # "nothing posted yet" (None is a legitimate row to post)


def short_service(value: str) -> str:
    """`s3.amazonaws.com` -> `s3`; anything else unchanged."""
    if value.endswith(_AWS_SUFFIX) and len(value) > len(_AWS_SUFFIX):
        return value[: -len(_AWS_SUFFIX)]
    return value


_SEP = " · "


def principal_parts(value: str) -> tuple[str, str, str]:
    """(name, middle, account) of a principal, the part that tells principals apart
    first: `arn:aws:sts::111122223333:assumed-role/Admin/alice` -> (`alice`, `Admin`,
    `111122223333`); `...:user/ops/Bob` -> (`Bob`, `user/ops`, account); `...:root` ->
    (`root`, ``, account). Anything that is not an ARN is its own name."""
    if not value.startswith("arn:"):
        return value, "", ""
    parts = value.split(":", 5)
    if len(parts) != 6 or not parts[5]:
        return value, "", ""
    account, resource = parts[4], parts[5]
    slash = resource.rfind("/")
    if slash < 0:
        return resource, "", account
    name, middle = resource[slash + 1 :], resource[:slash]
    if middle.startswith(_ROLE_PREFIX):
        middle = middle[len(_ROLE_PREFIX) :]  # the role name; "assumed-role" says little
    return (name or resource), middle, account


def principal_label(value: str, width: int) -> str:
    """`value` in at most `width` cells (1 per character): the name first, then the
    account, and the middle (role, path) with what room is left --
    `alice · Admin · 111122223333`, `alice · Adm… · 111122223333`,
    `alice · 111122223333`, `alice · …2223333`. Not padded."""
    name, middle, account = principal_parts(value)
    if not account and not middle:
        return value if len(value) <= width else value[: max(0, width - 1)] + "…"
    tail = _SEP + account if account else ""
    full = name + (_SEP + middle if middle else "") + tail
    if len(full) <= width:
        return full
    room = width - len(name) - len(tail) - len(_SEP)
    if middle and room >= 3:
        return name + _SEP + middle[: room - 1] + "…" + tail
    if len(name) + len(tail) <= width:
        return name + tail
    room = width - len(name) - len(_SEP) - 1
    if account and room >= 4:
        return name + _SEP + "…" + account[-room:]
    return name if len(name) <= width else name[: max(0, width - 1)] + "…"


@dataclass(frozen=True, slots=True)
class _Col:
    key: str  # store field, or "time"
    title: str
    min: int
    drop: int  # lower is dropped first on narrow screens; 99 = never
    width: int | None = None  # fixed by the user (config); None: a share of the room


_TIME_FULL = 20  # `format_time` at second precision
_TIME_SHORT = 14  # `11-20 10:05:03`: the year goes when the room is short
_SHORTEN_TIME = 3  # the drop rank at which the time column loses its year
# Display order of the default columns. Widths are in cells. Drop ranks: region and
# service go first (the event name implies the service), then columns the user
# added, then the year of the time; IP and error are kept down to about 75 cells.
_BUILTIN: dict[str, _Col] = {
    c.key: c
    for c in (
        _Col("time", "Time (UTC)", _TIME_FULL, 99),
        _Col("service", "Service", 6, 1),
        _Col("event", "Event", 12, 99),
        _Col("principal", "Principal", 14, 99),
        _Col("ip", "Source IP", 15, 5),
        _Col("region", "Region", 9, 0),
        _Col("error", "Error", 8, 6),
    )
}
DEFAULT_COLUMNS: tuple[str, ...] = (
    "time",
    "service",
    "event",
    "principal",
    "ip",
    "region",
    "error",
)
_COLUMNS: tuple[_Col, ...] = tuple(_BUILTIN[k] for k in DEFAULT_COLUMNS)
_EXTRA_DROP = 2
_EXTRA_MIN = 8


def is_path_column(name: str) -> bool:
    """A JSON path as filters spell it (`requestParameters.bucketName`), not a field."""
    if name == "time" or name in FIELD_BY_NAME:
        return False
    try:
        parse_path(name)
    except (PathError, ValueError):
        return False
    return True


def column_def(name: str, width: int | None = None) -> _Col:
    """The column for `name` (`time`, a field or a JSON path), with the user's `width`
    if any."""
    col = _BUILTIN.get(name)
    if col is None:
        field = FIELD_BY_NAME.get(name)
        # A path's title is its last key (the detail pane and the chooser spell it all).
        title = field.label if field else name.rsplit(".", 1)[-1]
        col = _Col(name, title, _EXTRA_MIN, _EXTRA_DROP)
    if width is not None:
        col = _Col(col.key, col.title, width, col.drop, width)
    return col


def column_title(key: str) -> str:
    return column_def(key).title


# Spare room is handed out tier by tier (within a tier in proportion to each column's
# shortfall): first enough to read most event names and principals, then the rest.
# Other fields (columns the user added) get `_EXTRA_TIERS`.
_TIERS: tuple[dict[str, int], ...] = (
    {"error": 12},  # AccessDenied, ThrottlingException cut late
    {"service": 10, "event": 22, "principal": 22},
    {"error": 14, "region": 14},
    {"service": 14, "event": 26, "principal": 36, "error": 20},
)
_EXTRA_TIERS = (0, 12, 16, 24)
_EVENT_MAX = 40  # beyond this the event column only wastes room the principal could use
_GUTTER = 1  # marker column (error / hostile / conflict)


def column_layout(
    width: int, columns: tuple[_Col, ...] | list[_Col] = _COLUMNS, *, one_year: bool = False
) -> list[tuple[str, int]]:
    """(column key, width) pairs that fit `width` cells, gutter and separators included.

    Narrow screens drop the least useful columns first (region, service, added
    columns), then show the time without its year, then drop the IP and the error
    (errors stay marked in the gutter); a region that would be cut short goes too, and
    with `one_year` (every event in one year: the header names it) so does the year
    when the event, principal or error would be cut short.
    Spare room goes tier by tier to the columns without a fixed width; beyond the
    tiers, the principal takes the rest (the event column up to `_EVENT_MAX`).
    """
    cols = list(columns)
    widths = {c.key: c.min for c in cols}
    fixed = {c.key for c in cols if c.width is not None}

    def free() -> int:
        return width - _GUTTER - sum(widths.values()) - len(widths)  # one space each

    short_time = "time" in widths and "time" not in fixed
    while free() < 0:
        droppable = [c for c in cols if c.drop < 99]
        rank = min((c.drop for c in droppable), default=99)
        if short_time and widths["time"] > _TIME_SHORT and rank >= _SHORTEN_TIME:
            widths["time"] = _TIME_SHORT
            continue
        if not droppable:
            break  # too narrow for even the essentials: the line is cropped
        dropped = min(droppable, key=lambda c: c.drop)
        cols.remove(dropped)
        del widths[dropped.key]
    # A truncated region is little use; give its room to event and principal first.
    if (
        "region" in widths
        and "region" not in fixed
        and free() < sum(t - widths[k] for k, t in _TIERS[1].items() if k in widths)
    ):
        del widths["region"]
        cols = [c for c in cols if c.key != "region"]
    if one_year and short_time and widths["time"] > _TIME_SHORT:
        if free() < sum(
            max(0, t - widths[k]) for tier in _TIERS[:2] for k, t in tier.items() if k in widths
        ):
            widths["time"] = _TIME_SHORT
    auto = [c.key for c in cols if c.key not in fixed and c.key != "time"]
    for i, tier in enumerate(_TIERS):
        spare = free()
        if spare <= 0:
            break
        targets = {k: tier.get(k, 0) if k in _BUILTIN else _EXTRA_TIERS[i] for k in auto}
        room = {k: t - widths[k] for k, t in targets.items() if t > widths[k]}
        total = sum(room.values())
        if not total:
            continue
        if spare >= total:
            for k, r in room.items():
                widths[k] += r
            continue
        for k, r in room.items():
            widths[k] += spare * r // total
        for k in room:  # rounding leftovers, in tier order
            if free() > 0 and widths[k] < targets[k]:
                widths[k] += 1
    spare = free()
    if spare > 0 and auto:
        if "event" in auto:
            widths["event"] = min(_EVENT_MAX, widths["event"] + spare // 4)
        rest = "principal" if "principal" in auto else auto[-1]
        widths[rest] += free()
    return [(c.key, widths[c.key]) for c in cols]


def _fit(text: Text, width: int) -> Text:
    """Crop with an ellipsis, or pad, to exactly `width` cells."""
    text.truncate(width, overflow="ellipsis", pad=True)
    return text


_ROLE_PREFIX = "assumed-role/"


def _fit_plain(s: str, width: int) -> str:
    """`_fit` for printable ASCII (one cell per character)."""
    return s.ljust(width) if len(s) <= width else s[: width - 1] + "…"


def _short_time(shown: str) -> str:
    """`2026-11-20T10:05:03Z` -> `11-20 10:05:03`."""
    return shown[5:10] + " " + shown[11:19] if len(shown) >= 19 else shown


class EventList(QuietScroll, ScrollView, can_focus=True):
    """Events in display order with a cursor; posts `EventHighlighted` as it moves.

    Gutter markers: `●` the event is marked in the case (`mark:`), `⚠` the event holds
    control/invisible characters (shown escaped), `◆` a detection rule flagged it, `≠`
    another record shares its eventID, `✗` the call failed (see the Error column).

    The rows come in time order (`set_rows`); the list shows them sorted by `sort_key`
    (tui/core/sorting.py), keeping the cursor on its event through re-sorts, new
    filters and arrivals. The columns are `column_specs` (name, fixed width or None).
    """

    class LayoutChanged(Message):
        """The sort or the shown columns changed (the status line says which)."""

    class ColumnsRequested(Message):
        """The user asked to choose the columns (the screen opens the chooser)."""

    BINDINGS: ClassVar[list[BindingType]] = bindings("list")

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "event-list--header",
        "event-list--cursor",
        "event-list--error",
        "event-list--dim",
        "event-list--warning",
        "event-list--fresh",
    }

    # Colours come from the theme; bold/underline/reverse keep every state readable
    # under NO_COLOR, where colours collapse to greys.
    DEFAULT_CSS = """
    EventList {
        height: 1fr;
        overflow-x: hidden;
        overflow-y: scroll;  /* never toggled: a toggle lays out the whole screen */
        scrollbar-size-vertical: 1;
    }
    EventList > .event-list--header {
        background: $panel;
        color: $foreground;
        text-style: bold underline;
    }
    EventList > .event-list--cursor {
        background: $block-cursor-blurred-background;
        color: $block-cursor-blurred-foreground;
        text-style: $block-cursor-blurred-text-style;
    }
    EventList:focus > .event-list--cursor {
        background: $block-cursor-background;
        color: $block-cursor-foreground;
        text-style: $block-cursor-text-style;
    }
    EventList:nocolor > .event-list--cursor {
        text-style: bold reverse;
    }
    EventList > .event-list--error {
        color: $text-error;
        text-style: bold;
    }
    EventList > .event-list--warning {
        color: $text-warning;
        text-style: bold;
    }
    EventList > .event-list--fresh {
        color: $text-success;
        text-style: bold underline;
    }
    EventList > .event-list--dim {
        color: $text-muted;
    }
    """

    sort_thread_min = 1_000_000
    """Views of this many rows or more are sorted on a thread (a counting sort: 2-6 ms
    at 1M rows, 60-190 ms at 10M): the list keeps its order meanwhile, the status line
    says it is sorting, and the new order replaces it in one frame."""

    quick_sort_max = 2_000_000
    """A thread's sort of fewer rows, by a column whose value ranks are ready, is
    expected to land at once (`landing_soon`: 3-6 ms at 1M rows, 60-190 at 10M)."""

    loading_text: reactive[str] = reactive("")
    """Shown instead of "no events match" while the app is still loading."""

    def __init__(
        self,
        store: Store,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
        disabled: bool = False,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        self.store = store
        self.follow = False  # live tail: keep the cursor on the newest row (app-driven)
        # field -> codes first seen while tailing (live views of the app's marks)
        self.fresh_codes: Mapping[str, Container[int]] = {}
        # Per store row: the rank of the most severe detection rule that flagged it, -1
        # none (the app sets it when the rules have run; refresh_rows redraws).
        self.detection_ranks: np.ndarray = np.empty(0, np.int8)
        # display order (a view's lazy rows while in time order: set_rows)
        self._rows: np.ndarray | ViewRows = np.empty(0, np.int64)
        self._time_seq: np.ndarray | ViewRows = self._rows  # the same rows in time order
        self._sort = SortKey()  # the order asked for
        self._shown_sort = SortKey()  # the order of `_rows` (another while sorting)
        self._sort_seq = 0  # each new sort or new rows supersede the sort running
        self._quick = False  # the sort running on the thread is expected to land at once
        self._ranks = Ranks(store)
        self._col_defs: tuple[_Col, ...] = _COLUMNS
        self._shown: tuple[str, ...] = ()  # column keys in the last layout
        self._path_waiting = False  # a path column's cells were drawn as pending
        self._year: tuple[int, int | None] = (-1, None)  # (store generation, one year)
        self._cursor = 0
        self._cache = StripCache(_CACHE_SIZE)
        self._cells: dict[tuple[str, int, int], list[Segment]] = {}
        self._generation = 0
        self._styles: dict[str, Style] | None = None
        self._styles_version: tuple = ()  # the non-cursor styles the caches were built with
        self._layout: tuple[int, list[tuple[str, int]]] | None = None
        self._posted: object = _UNSET

    # ---------------------------------------------------------------- public API
    @property
    def rows(self) -> np.ndarray:
        """Store rows in display order (read-only by convention)."""
        return np.asarray(self._rows)  # (taken whole if a view's rows were lazy: ViewRows)

    @property
    def _time_rows(self) -> np.ndarray:
        """The rows in time order, as an array (taken whole if a view's were lazy)."""
        return np.asarray(self._time_seq)

    @property
    def cursor_index(self) -> int:
        """Position of the cursor in `rows` (0 when empty)."""
        return self._cursor

    @property
    def cursor_row(self) -> int | None:
        """The store row under the cursor, or None when the list is empty."""
        if not len(self._rows):
            return None
        return int(self._rows[self._cursor])

    @property
    def at_end(self) -> bool:
        """True when the cursor is on the last row (or there are no rows)."""
        return self._cursor >= len(self._rows) - 1

    @property
    def sort_key(self) -> SortKey:
        return self._sort

    @property
    def sorted(self) -> bool:
        """The rows are (to be) shown in another order than time."""
        return not self._sort.is_time_order

    @property
    def sorting(self) -> bool:
        """A sort runs on a thread: the rows shown are in their former order."""
        return self._shown_sort != self._sort

    @property
    def landing_soon(self) -> bool:
        """A sort runs on the thread that should land within a frame (a view of fewer
        than `quick_sort_max` rows, its column's ranks ready): worth waiting for, so
        the key's answer and the new order go out in one frame."""
        return self.sorting and self._quick

    def set_sort(self, key: SortKey, keep: bool = False) -> None:
        """Re-order the rows by `key`. The cursor goes to the first row (a new order is
        read from its top: errors first shows the errors), or with `keep` stays on its
        event. Filter changes and arrivals keep the order (`set_rows`). A big view is
        sorted on a thread (`sort_thread_min`)."""
        if key == self._sort:
            return
        self._sort = key
        self._sort_and_show(self._time_seq, keep, None)
        # The header's arrow moves. Rows' strips do not depend on the order (cached by
        # store row): kept, a list still in its old order while a thread sorts redraws
        # at no cost.
        self.refresh()
        self.post_message(self.LayoutChanged())

    def _sort_and_show(
        self, given: np.ndarray | ViewRows, keep: bool, sel: np.ndarray | None
    ) -> None:
        """Show `given` (time order) in the order asked for: as given (time order: a
        view's lazy rows stay lazy), at once, or (a big view, a column's order) from a
        thread, superseding any sort still running."""
        self._sort_seq += 1
        key = self._sort
        if key.is_time_order:
            self._show(given, keep, sel, key)
            return
        rows = np.asarray(given, dtype=np.int64)
        if self._at_once(key, len(rows)):
            shown = sort_rows(self.store, rows, key, ranks=self._ranks, sel=sel)
            self._show(shown, keep, sel, key)
            return
        self._quick = len(rows) < self.quick_sort_max and self._ranks_ready(key)
        # The columns it reads are lent (commits meanwhile copy rather than change them).
        job = prepare_sort(self.store, rows, key, ranks=self._ranks, sel=sel, lend=True)
        self._sort_job(job, self._sort_seq, key, keep, rows, self.cursor_row if keep else None)

    def _at_once(self, key: SortKey, n: int) -> bool:
        """Sort on the UI thread: the time order, or a small view whose field's value
        ranks are ready (a first sort by principal orders its values: seconds at 10M)."""
        if key.is_time_order:
            return True
        return n < self.sort_thread_min and self._ranks_ready(key)

    def _ranks_ready(self, key: SortKey) -> bool:
        """Sorting by `key` needs no value ranks built first (not a field's order, or
        that field's ranks are built)."""
        return key.column not in FIELD_BY_NAME or self._ranks.ready(key.column, key.descending)

    @work(thread=True, group="sort", exit_on_error=False)
    def _sort_job(
        self,
        job: Callable[[], np.ndarray],
        seq: int,
        key: SortKey,
        keep: bool,
        rows: np.ndarray,
        find: int | None,
    ) -> None:
        """Sort, and find where the cursor lands in the new order: on `find` (the
        cursor's event when the sort began), or if it is not listed the event nearest
        to it in time. Searching 10M rows is 6 ms on the UI thread, here it is not."""
        try:
            got = job()
        except (IndexError, ValueError):  # pragma: no cover - lent columns do not change
            got = None
        at = None if got is None or find is None else self._landing(got, rows, find)
        self.app.call_from_thread(self._sorted, got, seq, key, keep, find, at)

    def _landing(self, order: np.ndarray, rows: np.ndarray, row: int) -> int | None:
        """The index in `order` (`rows` sorted) of `row`, or of the row of `rows`
        nearest to it in time (as `_show` keeps a cursor)."""
        hits = np.flatnonzero(order == row)
        if not len(hits) and len(rows):
            near = rows[self._nearest_in_time(self.store.time_ms(row), rows)]
            hits = np.flatnonzero(order == near)
        return int(hits[0]) if len(hits) else None

    def _sorted(
        self,
        got: np.ndarray | None,
        seq: int,
        key: SortKey,
        keep: bool,
        find: int | None = None,
        at: int | None = None,
    ) -> None:
        """A thread's sort is done: shown unless a newer sort or newer rows came since.
        `at`: where the cursor lands, found by the thread for the cursor's event `find`
        (used while the cursor is still on it)."""
        if seq != self._sort_seq:
            return
        if got is None:  # pragma: no cover - see _sort_job: sort here, as small views are
            got = sort_rows(self.store, self._time_rows, key, ranks=self._ranks)
        found = at if find is not None and find == self.cursor_row else None
        self._show(got, keep, None, key, found)
        self.post_message(self.LayoutChanged())  # the status line: sorted, not sorting

    @property
    def column_specs(self) -> list[tuple[str, int | None]]:
        """The chosen columns in order: (name, fixed width or None)."""
        return [(c.key, c.width) for c in self._col_defs]

    def set_columns(self, specs: list[tuple[str, int | None]]) -> None:
        """Show these columns (`time`, field names or JSON paths) in this order; other
        names are left out. An empty list brings back the default columns."""
        cols = tuple(
            column_def(n, w)
            for n, w in specs
            if n == "time" or n in FIELD_BY_NAME or is_path_column(n)
        )
        self._col_defs = cols or _COLUMNS
        self._layout = None
        self.refresh_rows()
        self.post_message(self.LayoutChanged())

    @property
    def path_columns(self) -> tuple[str, ...]:
        """The chosen columns that are JSON paths (their columns are built by the
        app's view, in a thread when the trail is big: see `path_ready`)."""
        return tuple(
            c.key for c in self._col_defs if c.key not in _BUILTIN and c.key not in FIELD_BY_NAME
        )

    @property
    def shown_columns(self) -> tuple[str, ...]:
        """The columns on screen now (narrow screens drop some)."""
        return tuple(k for k, _ in self._columns(self.scrollable_content_region.width))

    @property
    def hidden_columns(self) -> tuple[str, ...]:
        """Columns not on screen: dropped for room, or not chosen (of the defaults)."""
        shown = set(self.shown_columns)
        chosen = [c.key for c in self._col_defs]
        return tuple(
            [k for k in chosen if k not in shown] + [k for k in DEFAULT_COLUMNS if k not in chosen]
        )

    def describe(self) -> str:
        """`sorted Principal ↑ · hidden: Region, Service`, or "" (time order, all shown)."""
        parts = []
        if self.sorted or self.sorting:
            titles = {k: column_title(k) for k in ("time", *FIELD_BY_NAME)}
            label = self._sort.label(titles)
            parts.append(f"sorting by {label}…" if self.sorting else "sorted " + label)
        hidden = self.hidden_columns
        if hidden:
            parts.append("hidden: " + ", ".join(column_title(k) for k in hidden))
        return " · ".join(parts)

    def set_rows(
        self, rows: np.ndarray | ViewRows, keep: bool = True, sel: np.ndarray | None = None
    ) -> None:
        """Show `rows` (store rows in time order), sorted by `sort_key`.

        With `keep`, the cursor stays on the same event if it is still listed, else
        lands on the event nearest in time; it keeps its place on screen either way.
        Without `keep` (a fresh view) it goes to the top. `sel`: the rows' positions in
        the store's current time order, if known (a faster sort). A view's rows as
        `ViewRows` are listed in time order without being taken whole (a page of them
        is drawn); a sort or an array use takes them.
        """
        if not isinstance(rows, ViewRows):
            rows = np.asarray(rows, dtype=np.int64)
        self._time_seq = rows
        if self._path_waiting:  # rows drawn before a path column was built
            self._path_waiting = False
            self.refresh_rows()
        self._sort_and_show(rows, keep, sel)

    def _index_of(
        self, row: int, rows: np.ndarray | ViewRows, sel: np.ndarray | None
    ) -> int | None:
        """Where store row `row` is in `rows` (None: not listed). Unsorted rows are in
        time order: the row's place in the store's order (a binary search), found in
        `sel` (the rows' positions in that order, if known) or, for every event, the
        place itself, spares a compare over every row (6 ms at 10M events)."""
        if self._shown_sort.is_time_order and len(rows):
            pos = int(self.store.positions_in_order(np.array([row], np.int64))[0])
            i = pos if sel is None else int(np.searchsorted(sel, pos))
            if i < len(rows) and rows[i] == row:
                return i
            if sel is not None:
                return None
        hits = np.flatnonzero(np.asarray(rows) == row)
        return int(hits[0]) if len(hits) else None

    def _show(
        self,
        new: np.ndarray | ViewRows,
        keep: bool,
        sel: np.ndarray | None,
        order: SortKey,
        found: int | None = None,
    ) -> None:
        """Show `new`, the rows in `order`; `found`: where the cursor lands in it with
        `keep`, if known (the sort thread finds it)."""
        old_row = self.cursor_row
        old_screen = self._cursor - self._scroll_index()
        was_at_end = self.at_end and len(self._rows) > 0
        self._rows = new
        self._shown_sort = order
        n = len(new)
        if n == 0:
            self._cursor = 0
        elif self.follow and was_at_end and order.is_time_order:
            self._cursor = n - 1
        elif keep and old_row is not None and found is not None:
            self._cursor = found
        elif keep and old_row is not None:
            at = self._index_of(old_row, new, sel)
            self._cursor = at if at is not None else self._nearest(self.store.time_ms(old_row))
        else:
            self._cursor = 0
            old_screen = 0
        self.virtual_size = Size(0, n + _HEADER_LINES)
        target = self._cursor - max(0, min(old_screen, self._page() - 1))
        self._scroll_to_index(target)
        self._ensure_cursor_visible()
        self.refresh()
        self._post_highlight()

    def move_to_index(self, index: int) -> None:
        """Put the cursor on `rows[index]` (clamped) and scroll it into view."""
        n = len(self._rows)
        index = max(0, min(int(index), n - 1)) if n else 0
        if index != self._cursor:
            old, self._cursor = self._cursor, index
            top = self._scroll_index()
            if top <= index < top + self._page():
                # Only the two cursor rows change: repainting just them spares Textual
                # re-processing every visible line (~0.1 ms each) on each j/k.
                self._refresh_index(old)
                self._refresh_index(index)
            else:
                self.refresh()  # it scrolls: every row moves
        self._ensure_cursor_visible()
        self._post_highlight()

    def _refresh_index(self, index: int) -> None:
        y = index - self._scroll_index() + _HEADER_LINES
        if _HEADER_LINES <= y < self.scrollable_content_region.height:
            self.refresh(Region(0, y, self.size.width, 1))

    def move_to_row(self, store_row: int) -> bool:
        """Put the cursor on `store_row` if it is listed; returns whether it is."""
        hits = np.flatnonzero(np.asarray(self._rows) == store_row)
        if not len(hits):
            return False
        self.move_to_index(int(hits[0]))
        return True

    def jump_to_time(self, ms: int) -> None:
        """Cursor to the first row with time >= `ms` (the last row if none is)."""
        times = self.store.times
        rows = self._time_seq
        i = min(bisect_left(rows, ms, key=lambda r: int(times[r])), len(rows) - 1)
        if self._shown_sort.is_time_order:
            self.move_to_index(i)
        elif i >= 0:
            self.move_to_row(int(rows[i]))

    def move_to_newest(self) -> None:
        """Cursor to the newest listed event (the last row unless sorted)."""
        if len(self._time_seq):
            self.move_to_row(int(self._time_seq[-1]))

    def visible_columns(self) -> list[str]:
        """The columns shown at the current width ("time" and field names)."""
        return [k for k, _ in self._columns(self.scrollable_content_region.width)]

    def refresh_rows(self) -> None:
        """Re-render every row (after the highlighted values or the cells' look changed)."""
        self._generation += 1
        self._cache.clear()
        self._cells.clear()
        self.refresh()

    # ------------------------------------------------------------------ actions
    def action_cursor_down(self) -> None:
        self.move_to_index(self._cursor + 1)

    def action_cursor_up(self) -> None:
        self.move_to_index(self._cursor - 1)

    def action_page_down(self) -> None:
        page = self._page()
        self._scroll_to_index(self._scroll_index() + page)
        self.move_to_index(self._cursor + page)

    def action_page_up(self) -> None:
        page = self._page()
        self._scroll_to_index(self._scroll_index() - page)
        self.move_to_index(self._cursor - page)

    def action_first(self) -> None:
        self.move_to_index(0)

    def action_last(self) -> None:
        self.move_to_index(len(self._rows) - 1)

    def action_sort_next(self) -> None:
        """Sort by the next shown column (time, then each column left to right)."""
        keys = [k for k in self.shown_columns if k == "time" or k in FIELD_BY_NAME]
        cur = self._sort.column if self._sort.column in keys else "time"
        nxt = keys[(keys.index(cur) + 1) % len(keys)] if cur in keys else "time"
        self.set_sort(SortKey(nxt))

    def action_sort_reverse(self) -> None:
        s = self._sort
        column = "error" if s.column == ERRORS_FIRST else s.column
        self.set_sort(SortKey(column, not s.descending))

    def action_errors_first(self) -> None:
        """Failed calls first (each group in time order); again: back to time order."""
        self.set_sort(SortKey() if self._sort.column == ERRORS_FIRST else SortKey(ERRORS_FIRST))

    def action_choose_columns(self) -> None:
        self.post_message(self.ColumnsRequested())

    def column_widths(self) -> list[tuple[str, int]]:
        """(column, width) as drawn now."""
        return list(self._columns(self.scrollable_content_region.width))

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        if offset.y < _HEADER_LINES:  # a column title: sort by it, again to reverse
            key = self._column_at(offset.x)
            if key == "time" or key in FIELD_BY_NAME:
                s = self._sort
                self.set_sort(SortKey(key, not s.descending if s.column == key else False))
            return
        if offset.y >= _HEADER_LINES and len(self._rows):
            index = self._scroll_index() + offset.y - _HEADER_LINES
            if index < len(self._rows):
                self.move_to_index(index)

    # ---------------------------------------------------------------- internals
    def _one_year(self) -> int | None:
        """The year every stored event falls in, if there is one (kept per commit)."""
        gen = self.store.generation
        if self._year[0] != gen:
            span = self.store.time_range()
            year = None
            if span is not None:
                lo, hi = (format_time(t - t % 1000)[:4] for t in span)
                year = int(lo) if lo == hi and lo.isdigit() else None
            if year != self._year[1]:
                self._layout = None  # the time column may change width: redraw rows
                self._cache.clear()
            self._year = (gen, year)
        return self._year[1]

    def _column_at(self, x: int) -> str | None:
        left = _GUTTER
        for key, w in self._columns(self.scrollable_content_region.width):
            if left <= x <= left + w:
                return key
            left += w + 1
        return None

    def _nearest(self, ms: int) -> int:
        """Index of the row closest in time to `ms`."""
        i = self._nearest_in_time(ms)
        if self._shown_sort.is_time_order:
            return i
        hits = np.flatnonzero(np.asarray(self._rows) == self._time_seq[i])
        return int(hits[0]) if len(hits) else 0

    def _nearest_in_time(self, ms: int, given: np.ndarray | None = None) -> int:
        """Index of the row of `given` (time order; the list's by default) nearest in
        time to `ms`."""
        times = self.store.times
        rows = self._time_seq if given is None else given
        i = bisect_left(rows, ms, key=lambda r: int(times[r]))
        if i >= len(rows):
            return len(rows) - 1
        if i > 0 and ms - int(times[rows[i - 1]]) <= int(times[rows[i]]) - ms:
            return i - 1
        return i

    def _page(self) -> int:
        """Data rows that fit on screen."""
        return max(1, self.scrollable_content_region.height - _HEADER_LINES)

    def _scroll_index(self) -> int:
        return int(self.scroll_offset.y)

    def _scroll_to_index(self, index: int) -> None:
        top = max(0, min(index, len(self._rows) - self._page()))
        if top != self._scroll_index():
            self.scroll_to(y=top, animate=False, force=True)

    def _ensure_cursor_visible(self) -> None:
        top = self._scroll_index()
        page = self._page()
        if self._cursor < top:
            self._scroll_to_index(self._cursor)
        elif self._cursor >= top + page:
            self._scroll_to_index(self._cursor - page + 1)

    def _post_highlight(self) -> None:
        row = self.cursor_row
        if row != self._posted:
            self._posted = row
            self.post_message(EventHighlighted(row))

    def on_resize(self, event: events.Resize) -> None:
        self._layout = None
        self._cache.clear()
        self._ensure_cursor_visible()

    def on_focus(self) -> None:
        self.refresh()  # the cursor row changes style

    def on_blur(self) -> None:
        self.refresh()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        # Theme or pseudo-class change: styles are re-read when next drawn, and the
        # cached rows dropped only if more than the cursor's look changed (see
        # _get_styles). A focus move changes only the cursor, whose rows are cached by
        # cursor state; dropping everything re-rendered a screenful of rows per focus
        # move.
        self._styles = None
        self.refresh()

    def _get_styles(self) -> dict[str, Style]:
        if self._styles is None:
            self._styles = self._read_styles()
            version = tuple(v for k, v in self._styles.items() if k != "cursor")
            if version != self._styles_version:
                self._styles_version = version
                self._cache.clear()
                self._cells.clear()
        return self._styles

    def _read_styles(self) -> dict[str, Style]:
        get = self.get_component_rich_style
        return {
            "base": self.rich_style,
            "header": get("event-list--header"),
            "cursor": get("event-list--cursor"),
            "error": get("event-list--error", partial=True),
            "warning": get("event-list--warning", partial=True),
            "dim": get("event-list--dim", partial=True),
            "fresh": get("event-list--fresh", partial=True),
        }

    def _columns(self, width: int) -> list[tuple[str, int]]:
        self._one_year()  # a commit may change it (and so the layout)
        if self._layout is None or self._layout[0] != width:
            self._layout = (
                width,
                column_layout(width, self._col_defs, one_year=self._one_year() is not None),
            )
            shown = tuple(k for k, _ in self._layout[1])
            if shown != self._shown:
                self._shown = shown
                self.post_message(self.LayoutChanged())
        return self._layout[1]

    # ---------------------------------------------------------------- rendering
    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        if y < _HEADER_LINES:
            return self._header_strip(width)
        n = len(self._rows)
        if n == 0:
            return self._empty_strip(y, width)
        index = self._scroll_index() + y - _HEADER_LINES
        if index >= n:
            return Strip.blank(width, self._get_styles()["base"])
        row = int(self._rows[index])
        cursor = 0 if index != self._cursor else (2 if self.has_focus else 1)
        # The cursor row's look is part of its key: it alone changes when focus moves.
        # So are its flags: a later commit can mark a drawn row as a conflict, and
        # nothing else about a stored row changes (clearing the cache at each commit
        # re-rendered a screenful of rows several times a second while tailing).
        key = (
            row,
            int(self.store.flags[row]),
            cursor,
            width,
            self._generation,
            self._get_styles()["cursor"] if cursor else None,
        )
        return self._cache.get(key, lambda: self._render_row(row, cursor > 0, width))

    def _header_strip(self, width: int) -> Strip:
        styles = self._get_styles()
        s = self._sort
        # Errors first: the gutter's failure mark heads the list.
        text = Text("✗" if s.column == ERRORS_FIRST else " " * _GUTTER)
        for key, w in self._columns(width):
            text.append(" ")
            title = clean(column_title(key))  # a path's key is the user's text
            if key == s.column and self.sorted:
                arrow = " ↓" if s.descending else " ↑"
                title = title[: max(1, w - 2)] + arrow if len(title) + 2 > w else title + arrow
            elif key == "time" and w < _TIME_FULL:
                year = self._one_year()
                title = "Time" if year is None else f"Time ({year})"
            text.append_text(_fit(Text(title), w))
        return self._to_strip(text, width, styles["header"])

    def _empty_strip(self, y: int, width: int) -> Strip:
        styles = self._get_styles()
        height = self.scrollable_content_region.height
        if y != max(_HEADER_LINES, height // 2):
            return Strip.blank(width, styles["base"])
        message = self.loading_text or "no events match"
        text = Text(message, style=styles["dim"])
        text.truncate(width, overflow="ellipsis")
        text.align("center", width)
        return self._to_strip(text, width, styles["base"])

    def _render_row(self, row: int, cursor: bool, width: int) -> Strip:
        store = self.store
        styles = self._get_styles()
        flags = int(store.flags[row])
        has_error = store.codes("error")[row] != 0
        ann = store.annotations
        ranks = self.detection_ranks
        rank = int(ranks[row]) if row < len(ranks) else -1
        if ann is not None and ann.labels_of(row):  # redrawn by refresh_rows on a change
            segments = [Segment("●", styles["fresh"])]
        elif flags & HOSTILE:
            segments = [Segment("⚠", styles["warning"])]
        elif rank >= 0:  # severities: info low medium high critical
            segments = [
                Segment(
                    "◆",
                    styles["error"]
                    if rank >= 3
                    else styles["warning"]
                    if rank == 2
                    else styles["dim"],
                )
            ]
        elif flags & CONFLICT:
            segments = [Segment("≠", styles["warning"])]
        elif has_error:
            segments = [Segment("✗", styles["error"])]
        else:
            segments = [_SPACE]
        used = _GUTTER
        for key, w in self._columns(width):
            segments.append(_SPACE)
            used += w + 1
            if key == "time":
                ms = store.time_ms(row)
                # Second precision keeps the column at 20 cells; the detail view has ms.
                shown = format_time(ms - ms % 1000) if ms != NO_TIME else "?"
                if w < _TIME_FULL:
                    shown = _short_time(shown)
                segments.append(Segment(shown[:w].ljust(w)))
            elif key not in FIELD_BY_NAME:
                segments.extend(self._path_cell(key, row, w))
            else:
                code = int(store.codes(key)[row])
                cell = self._cell(key, code, w)
                if code in self.fresh_codes.get(key, ()):
                    # A value first seen while tailing (new IP, principal...).
                    fresh = styles["fresh"]
                    cell = [Segment(seg.text, (seg.style or Style()) + fresh) for seg in cell]
                segments.extend(cell)
        strip = Strip(segments, used)
        if used != width:  # only when too narrow for the essential columns
            strip = strip.crop_extend(0, width, None)
        return strip.apply_style(styles["cursor"] if cursor else styles["base"]).simplify()

    def _path_cell(self, key: str, row: int, width: int) -> list[Segment]:
        """The value of a JSON path column at `row`: `…` while the path's column is not
        built (the app's view builds it), empty where the event has none."""
        store = self.store
        col = store.path_columns.peek(parse_path(key))
        if col is None or col.files_done < store.committed_files():
            self._path_waiting = True
            return [Segment(_fit_plain("…", width), self._get_styles()["dim"])]
        rows = col.rows
        i = int(np.searchsorted(rows, row))
        if i >= len(rows) or rows[i] != row:
            return [Segment(" " * width)]
        code = int(col.codes[i])
        more = i + 1 < len(rows) and rows[i + 1] == row  # several values: the first, +
        value = "{…}" if col.value(code) is CONTAINER else col.display([code], store)[code]
        text = safe_text(value + (" +" if more else ""), max_len=width + 1)
        return list(_fit(text, width).render(self.app.console))

    def _cell(self, key: str, code: int, width: int) -> list[Segment]:
        """Segments of one value fitted to `width` cells.

        Cached by value code: a trail has few distinct services, events, regions and
        errors, and rows repeat principals and IPs, so most cells are lookups.
        """
        ckey = (key, code, width)
        cached = self._cells.get(ckey)
        if cached is not None:
            return cached
        value = self.store.values(key)[code]
        segments = self._plain_cell(key, value, width)
        if segments is None:
            segments = self._text_cell(key, value, width)
        if len(self._cells) >= _CELL_CACHE_SIZE:
            self._cells.clear()  # cheap to rebuild; avoids unbounded growth on huge trails
        self._cells[ckey] = segments
        return segments

    def _plain_cell(self, key: str, value: str, width: int) -> list[Segment] | None:
        """The cell for a printable ASCII value (nearly every CloudTrail value), built
        without a Rich Text: ~5x cheaper, and a new filter brings many new values onto
        the screen. None: `_text_cell` handles it."""
        if not is_plain(value):
            return None
        if key == "principal":
            return [Segment(principal_label(value, width).ljust(width))]
        if key == "service":
            value = short_service(value)
        fitted = _fit_plain(value, width)
        if key != "error" or not value:
            return [Segment(fitted)]
        # The error style covers the value (and its ellipsis), not the padding.
        n = min(len(value), width)
        styled = Segment(fitted[:n], self._get_styles()["error"])
        return [styled, Segment(fitted[n:])] if n < width else [styled]

    def _text_cell(self, key: str, value: str, width: int) -> list[Segment]:
        if key == "principal":
            # Control characters are shown escaped (longer): cut from the right.
            text = _fit(safe_text(principal_label(value, width)), width)
        elif key == "service":
            text = _fit(safe_text(short_service(value), max_len=width + 1), width)
        elif key == "error":
            style = self._get_styles()["error"]
            text = _fit(safe_text(value, style, max_len=width + 1), width)
        else:
            # max_len: a huge value costs no more than what fits.
            text = _fit(safe_text(value, max_len=width + 1), width)
        return list(text.render(self.app.console))

    def _to_strip(self, text: Text, width: int, base: Style) -> Strip:
        """Segments of one line, exactly `width` cells, `base` under every span."""
        segments = list(text.render(self.app.console))
        strip = Strip(segments).crop_extend(0, width, None)
        return strip.apply_style(base).simplify()
