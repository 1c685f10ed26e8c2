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
from collections.abc import Container, Mapping
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import BindingType
from textual.geometry import Region, Size
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tui.core.batch import CONFLICT, HOSTILE
from tui.core.normalize import NO_TIME, format_time
from tui.core.store import Store

from .bindings import bindings
from .messages import EventHighlighted
from .quiet_scroll import QuietScroll
from .safe import is_plain, safe_text
from .strip_cache import StripCache

__all__ = ["EventList", "short_principal", "short_service", "column_layout"]

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


def short_principal(value: str) -> str:
    """The resource part of an ARN (`assumed-role/Admin/alice`, `user/Bob`, `root`).

    Non-ARN principals (service names, account ids, ANONYMOUS_PRINCIPAL...) are
    already short and meaningful, so they stay as they are.
    """
    if value.startswith("arn:"):
        parts = value.split(":", 5)
        if len(parts) == 6 and parts[5]:
            return parts[5]
    return value


@dataclass(frozen=True, slots=True)
class _Col:
    key: str  # store field, or "time"
    title: str
    min: int
    drop: int  # lower is dropped first on narrow screens; 99 = never


# Display order. Widths are in cells; the time column fits `format_time` at second
# precision exactly.
_COLUMNS: tuple[_Col, ...] = (
    _Col("time", "Time (UTC)", 20, 99),
    _Col("service", "Service", 6, 99),
    _Col("event", "Event", 12, 99),
    _Col("principal", "Principal", 14, 99),
    _Col("ip", "Source IP", 15, 2),
    _Col("region", "Region", 9, 1),
    _Col("error", "Error", 8, 3),
)
_TITLES = {c.key: c.title for c in _COLUMNS}
# Spare room is handed out tier by tier (within a tier in proportion to each column's
# shortfall): first enough to read most event names and principals, then the rest.
_TIERS: tuple[dict[str, int], ...] = (
    {"service": 10, "event": 22, "principal": 22},
    {"error": 14, "region": 14},
    {"service": 14, "event": 26, "principal": 34, "error": 20},
)
_EVENT_MAX = 40  # beyond this the event column only wastes room the principal could use
_GUTTER = 1  # marker column (error / hostile / conflict)


def column_layout(width: int) -> list[tuple[str, int]]:
    """(column key, width) pairs that fit `width` cells, gutter and separators included.

    Narrow screens drop the least useful columns first (region, then IP, then error --
    errors stay marked in the gutter; region also goes when event and principal would
    otherwise be squeezed); beyond the tiers, the principal takes the rest
    (the event column up to `_EVENT_MAX`).
    """
    cols = list(_COLUMNS)
    widths = {c.key: c.min for c in cols}

    def free() -> int:
        return width - _GUTTER - sum(widths.values()) - len(widths)  # one space each

    while free() < 0:
        droppable = [c for c in cols if c.drop < 99]
        if not droppable:
            break  # too narrow for even the essentials: the line is cropped
        dropped = min(droppable, key=lambda c: c.drop)
        cols.remove(dropped)
        del widths[dropped.key]
    # A truncated region is little use; give its room to event and principal first.
    if "region" in widths and free() < sum(t - widths[k] for k, t in _TIERS[0].items()):
        del widths["region"]
        cols = [c for c in cols if c.key != "region"]
    for tier in _TIERS:
        spare = free()
        if spare <= 0:
            break
        room = {k: t - widths[k] for k, t in tier.items() if k in widths and t > widths[k]}
        total = sum(room.values())
        if spare >= total:
            for k, r in room.items():
                widths[k] += r
            continue
        for k, r in room.items():
            widths[k] += spare * r // total
        for k in room:  # rounding leftovers, in tier order
            if free() > 0 and widths[k] < tier[k]:
                widths[k] += 1
    spare = free()
    if spare > 0:
        widths["event"] = min(_EVENT_MAX, widths["event"] + spare // 4)
        widths["principal"] += free()
    return [(c.key, widths[c.key]) for c in cols]


def _fit(text: Text, width: int) -> Text:
    """Crop with an ellipsis, or pad, to exactly `width` cells."""
    text.truncate(width, overflow="ellipsis", pad=True)
    return text


_ROLE_PREFIX = "assumed-role/"


def _fit_principal(text: Text, width: int) -> Text:
    """Like `_fit`, but keep the last path part (the user or session name) visible.

    When a role session does not fit, the `assumed-role/` prefix goes first (a
    `role/session` pair is recognisable without it), then the middle of what is left:
    `AWSRes…/priya.shah@example.com` beats `assumed-role/AWSReservedSSO_Adm…`.
    """
    if text.cell_len <= width:
        return _fit(text, width)
    if text.plain.startswith(_ROLE_PREFIX):
        text = text[len(_ROLE_PREFIX) :]
        if text.cell_len <= width:
            return _fit(text, width)
    plain = text.plain
    slash = plain.rfind("/")
    if slash <= 0 or width < 8:
        return _fit(text, width)
    cap = max(width // 2, width - 6)  # leave a few cells of the head for context
    tail_chars = len(plain) - slash
    while tail_chars > 1 and cell_len(plain[-tail_chars:]) > cap:
        tail_chars -= 1
    tail = text[len(plain) - tail_chars :]
    head = text[: len(plain) - tail_chars]
    head.truncate(max(1, width - tail.cell_len - 1), overflow="crop")
    out = Text()
    out.append_text(head)
    out.append("…")
    out.append_text(tail)
    return _fit(out, width)


def _fit_plain(s: str, width: int) -> str:
    """`_fit` for printable ASCII (one cell per character)."""
    return s.ljust(width) if len(s) <= width else s[: width - 1] + "…"


def _fit_principal_plain(s: str, width: int) -> str:
    """`_fit_principal` for printable ASCII: the same cuts, on a plain string."""
    if len(s) <= width:
        return s.ljust(width)
    if s.startswith(_ROLE_PREFIX):
        s = s[len(_ROLE_PREFIX) :]
        if len(s) <= width:
            return s.ljust(width)
    slash = s.rfind("/")
    if slash <= 0 or width < 8:
        return _fit_plain(s, width)
    cap = max(width // 2, width - 6)
    tail_chars = max(1, min(len(s) - slash, cap))
    tail = s[len(s) - tail_chars :]
    head = s[: len(s) - tail_chars][: max(1, width - len(tail) - 1)]
    return _fit_plain(head + "…" + tail, width)


class EventList(QuietScroll, ScrollView, can_focus=True):
    """Events in display order with a cursor; posts `EventHighlighted` as it moves.

    Gutter markers: `●` the event is marked in the case (`mark:`), `⚠` the event holds
    control/invisible characters (shown escaped), `◆` a detection rule flagged it, `≠`
    another record shares its eventID, `✗` the call failed (see the Error column).
    """

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
        self._rows: np.ndarray = np.empty(0, np.int64)
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
        return self._rows

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

    def set_rows(self, rows: np.ndarray, keep: bool = True) -> None:
        """Show `rows` (store rows in time order).

        With `keep`, the cursor stays on the same event if it is still listed, else
        lands on the event nearest in time; it keeps its place on screen either way.
        Without `keep` (a fresh view) it goes to the top.
        """
        old_row = self.cursor_row
        old_screen = self._cursor - self._scroll_index()
        was_at_end = self.at_end and len(self._rows) > 0
        new = np.asarray(rows, dtype=np.int64)
        self._rows = new
        n = len(new)
        if n == 0:
            self._cursor = 0
        elif self.follow and was_at_end:
            self._cursor = n - 1
        elif keep and old_row is not None:
            hits = np.flatnonzero(new == old_row)
            self._cursor = int(hits[0]) if len(hits) else self._nearest(self.store.time_ms(old_row))
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
        hits = np.flatnonzero(self._rows == store_row)
        if not len(hits):
            return False
        self.move_to_index(int(hits[0]))
        return True

    def jump_to_time(self, ms: int) -> None:
        """Cursor to the first row with time >= `ms` (the last row if none is)."""
        times = self.store.times
        i = bisect_left(self._rows, ms, key=lambda r: int(times[r]))
        self.move_to_index(min(i, len(self._rows) - 1))

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

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        if offset.y >= _HEADER_LINES and len(self._rows):
            index = self._scroll_index() + offset.y - _HEADER_LINES
            if index < len(self._rows):
                self.move_to_index(index)

    # ---------------------------------------------------------------- internals
    def _nearest(self, ms: int) -> int:
        """Index of the row closest in time to `ms` (rows are time-ordered)."""
        times = self.store.times
        rows = self._rows
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
        if self._layout is None or self._layout[0] != width:
            self._layout = (width, column_layout(width))
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
        key = (row, int(self.store.flags[row]), cursor, width, self._generation,
               self._get_styles()["cursor"] if cursor else None)
        return self._cache.get(key, lambda: self._render_row(row, cursor > 0, width))

    def _header_strip(self, width: int) -> Strip:
        styles = self._get_styles()
        text = Text(" " * _GUTTER)
        for key, w in self._columns(width):
            text.append(" ")
            text.append_text(_fit(Text(_TITLES[key]), w))
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
            segments = [Segment("◆", styles["error"] if rank >= 3 else styles["warning"]
                                if rank == 2 else styles["dim"])]
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
                segments.append(Segment(shown[:w].ljust(w)))
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
            return [Segment(_fit_principal_plain(short_principal(value), width))]
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
            text = _fit_principal(safe_text(short_principal(value)), width)
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

