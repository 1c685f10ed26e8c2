"""Facet lists: the top values of a field under the current filter, one keypress from a
filter term.

`FacetList` shows one field; `[`/`]` switch it to the neighbouring field of
`tui.core.fields.FIELDS`. `n` narrows over *all* of the field's values (not only the top
ones shown) through the app-provided `counter`. `FacetPanel` stacks three lists.

Values are log data: each row is built from `safe_text` pieces, never from markup.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Input

from tui.core.fields import FIELD_BY_NAME, FIELD_NAMES
from tui.core.paths import PathError, looks_like_path, parse_path
from tui.core.view import LABEL_FACET

from .bindings import bindings
from .messages import FilterRequest
from .paging import page_move
from .quiet_scroll import QuietScroll
from .safe import is_plain, label, safe_text
from .text_line import TextLine

if TYPE_CHECKING:
    from tui.core.store import Store

__all__ = ["DETECTION_FACETS", "Counter", "FacetList", "FacetOptions", "FacetPanel", "facet_name"]

Counter = Callable[[str], list[tuple[str, int]]]
"""field -> every (value, count) of that field under the current filter, most first."""


# Facets of the detection rules' hits (tui/core/detect), not store fields: events by
# the most severe rule that flagged them, and by rule. Their values filter as
# `severity:` and `rule:` terms.
DETECTION_FACETS: tuple[str, ...] = ("severity", "rule")
_DETECTION_TITLES = {"severity": "Detections by severity", "rule": "Detections by rule"}


def facet_name(name: str) -> str:
    """`name` as a facet shows it: an indexed field, the case's labels (`mark`), a
    detection facet, or a JSON path in its canonical spelling. Raises ValueError for
    anything else."""
    if name in FIELD_BY_NAME or name == LABEL_FACET or name in DETECTION_FACETS:
        return name
    if looks_like_path(name):
        try:
            return parse_path(name).text
        except PathError:
            pass
    raise ValueError(f"unknown field {name!r}")


NARROW_LIMIT = 50  # rows shown while narrowing
_PARTIAL = " ▏▎▍▌▋▊▉"  # left-aligned eighth blocks for the share bar
_NONE = "(none)"


def _share_bar(count: int, total: int, width: int) -> str:
    """`width` cells of eighth blocks for count/total; any non-zero share shows."""
    if width <= 0:
        return ""
    eighths = 0 if total <= 0 else round(count / total * width * 8)
    if count > 0:
        eighths = max(1, eighths)
    eighths = min(eighths, width * 8)
    full, part = divmod(eighths, 8)
    bar = "█" * full + (_PARTIAL[part] if part else "")
    return bar.ljust(width)


class FacetOptions(QuietScroll, ScrollView, can_focus=True):
    """The rows of a FacetList: a Line-API list with a cursor.

    A data change only stores the row count, sets the virtual size and repaints (an
    OptionList re-measured and re-laid out every option). Lines are built by the owner
    (`FacetList._line`) for the current width, and only when they come into view. With no
    rows, line 0 shows the owner's placeholder, which cannot be highlighted.
    """

    BINDINGS: ClassVar[list[BindingType]] = bindings("facet-rows")

    COMPONENT_CLASSES: ClassVar[set[str]] = {"facet-options--highlighted"}

    # The look of a compact OptionList, so themes style the rows as before.
    DEFAULT_CSS = """
    FacetOptions {
        color: $foreground;
        background: $surface;
        overflow-x: hidden;
        &:focus { background-tint: $foreground 5%; }
        & > .facet-options--highlighted {
            color: $foreground;
            background: $block-cursor-blurred-background;
            text-style: $block-cursor-blurred-text-style;
        }
        &:focus > .facet-options--highlighted {
            color: $block-cursor-foreground;
            background: $block-cursor-background;
            text-style: $block-cursor-text-style;
        }
    }
    """

    class Selected(Message):
        """Enter or a click on row `index`."""

        def __init__(self, options: FacetOptions, index: int) -> None:
            super().__init__()
            self.options = options
            self.index = index

        @property
        def control(self) -> FacetOptions:
            return self.options

    def __init__(self, owner: FacetList) -> None:
        super().__init__()
        self._owner = owner
        self._count = 0
        self._highlighted: int | None = None
        self._cache: dict[tuple[int, int, bool], Strip] = {}
        self._styles: dict[bool, Style] = {}  # row base style, by highlighted
        self._last_width = -1

    # ---------------------------------------------------------------- data in
    def set_rows(self, count: int, highlighted: int | None = None) -> None:
        """Show `count` rows with the cursor on `highlighted` (clamped)."""
        self._count = count
        self._cache.clear()
        self.virtual_size = Size(0, max(1, count))  # the placeholder needs a line
        self._highlighted = None
        self.highlighted = highlighted
        self.refresh()

    @property
    def highlighted(self) -> int | None:
        return self._highlighted

    @highlighted.setter
    def highlighted(self, index: int | None) -> None:
        if index is None or not self._count:
            index = None
        else:
            index = max(0, min(index, self._count - 1))
        old, self._highlighted = self._highlighted, index
        if old != index:
            for i in (old, index):  # only the two changed lines
                if i is not None:
                    self.refresh_line(i)
        self._scroll_to_highlight()

    def line_texts(self) -> list[str]:
        """Plain text of every line as rendered at the current width (for tests)."""
        width = self.scrollable_content_region.width
        return [self._render_row(i, width, False).text for i in range(max(1, self._count))]

    # ------------------------------------------------------------------ actions
    def _page(self) -> int:
        return max(1, self.scrollable_content_region.height)

    def _move(self, delta: int) -> None:
        h = self._highlighted
        self.highlighted = 0 if h is None else h + delta

    def action_cursor_down(self) -> None:
        self._move(1)

    def action_cursor_up(self) -> None:
        self._move(-1)

    def action_page_down(self) -> None:
        self._page_by(1)

    def action_page_up(self) -> None:
        self._page_by(-1)

    def _page_by(self, direction: int) -> None:
        h = self._highlighted
        cursor, top = page_move(
            -1 if h is None else h, int(self.scroll_offset.y), self._page(), self._count, direction
        )
        self.scroll_to(y=top, animate=False, force=True)
        self.highlighted = None if cursor < 0 else cursor

    def action_first(self) -> None:
        self.highlighted = 0

    def action_last(self) -> None:
        self.highlighted = self._count - 1

    def action_select(self) -> None:
        if self._highlighted is not None:
            self.post_message(self.Selected(self, self._highlighted))

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        index = int(self.scroll_offset.y) + offset.y
        if 0 <= index < self._count:
            self.highlighted = index
            self.action_select()

    # ---------------------------------------------------------------- internals
    def _scroll_to_highlight(self) -> None:
        i = self._highlighted
        height = self.scrollable_content_region.height
        if i is None or not self.is_mounted or height <= 0:
            return  # not laid out yet: on_resize comes back here
        top = int(self.scroll_offset.y)
        if i < top:
            self.scroll_to(y=i, animate=False, force=True)
        elif i >= top + height:
            self.scroll_to(y=i - height + 1, animate=False, force=True)

    def on_resize(self, event: events.Resize) -> None:
        width = self.scrollable_content_region.width
        if width != self._last_width:  # row prompts are laid out for an exact width
            self._last_width = width
            self._cache.clear()
        self._scroll_to_highlight()

    def on_focus(self) -> None:
        self._restyle()  # focus tints the background and recolours the cursor

    def on_blur(self) -> None:
        self._restyle()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._restyle()  # theme or pseudo-class change

    def _restyle(self) -> None:
        self._styles.clear()
        self._cache.clear()
        self.refresh()

    # ---------------------------------------------------------------- rendering
    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        index = int(self.scroll_offset.y) + y
        if index >= max(1, self._count):
            return Strip.blank(width, self._base_style(False))
        key = (index, width, index == self._highlighted)
        strip = self._cache.get(key)
        if strip is None:
            if len(self._cache) > 256:  # a few screens; cheap to rebuild
                self._cache.clear()
            strip = self._cache[key] = self._render_row(index, width, key[2])
        return strip

    def _render_row(self, index: int, width: int, highlighted: bool) -> Strip:
        base = self._base_style(highlighted)
        fast = self._owner._line_segments(index, width)
        if fast is not None:
            return Strip(Segment.apply_style(fast, base), width)
        text = self._owner._line(index, width)
        if text.cell_len > width:  # narrower than the count column
            text.truncate(width, overflow="ellipsis")
        # Text.render leaves the Text's own style to its caller; spans override both.
        own = text.style if isinstance(text.style, Style) else Style.parse(text.style)
        strip = Strip(list(Segment.apply_style(text.render(self.app.console), base + own)))
        return strip.extend_cell_length(width, base)

    def _base_style(self, highlighted: bool) -> Style:
        style = self._styles.get(highlighted)
        if style is None:
            names = ("facet-options--highlighted",) if highlighted else ()
            style = self._styles[highlighted] = self.get_visual_style(*names).rich_style
        return style


class FacetList(Vertical):
    """Top values of one field with counts; enter filters on a value, x excludes it."""

    # Keys come from the shared action table (help screen and footer agree). Enter on a
    # row reaches FacetOptions first (Selected, also from a click); `pick` covers enter
    # anywhere else in the facet.
    BINDINGS: ClassVar[list[BindingType]] = bindings("facets")

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "facet-list--count",
        "facet-list--bar",
        "facet-list--none",
        "facet-list--empty",
    }

    DEFAULT_CSS = """
    FacetList {
        height: 1fr;
        min-height: 3;
        & > .facet-list--title {
            height: 1;
            padding: 0 1;
            background: $panel;
            text-wrap: nowrap;
            text-overflow: ellipsis;
        }
        &:focus-within > .facet-list--title { background: $primary-muted; }
        & > Input { height: 1; margin: 0 1; display: none; }
        & > Input.-narrowing { display: block; }
        & > FacetOptions {
            height: 1fr;
            max-height: 100%;
            overflow-y: scroll;  /* never toggled: a toggle lays out the whole screen */
            scrollbar-size-vertical: 1;
        }
        & > .facet-list--count { color: $foreground; }
        & > .facet-list--bar { color: $accent; }
        & > .facet-list--none { color: $foreground-muted; text-style: italic; }
        & > .facet-list--empty { color: $foreground-muted; text-style: italic; }
    }
    /* Without colour the blurred/focused row backgrounds vanish: keep the row visible. */
    FacetList:nocolor > FacetOptions > .facet-options--highlighted {
        text-style: reverse;
    }
    """

    class FieldChanged(Message):
        """The list now shows `field`; the app should `set_counts` for it."""

        def __init__(self, facet: FacetList, field: str) -> None:
            super().__init__()
            self.facet = facet
            self.field = field

        @property
        def control(self) -> FacetList:
            return self.facet

    def __init__(
        self,
        store: Store,
        field: str,
        counter: Counter | None = None,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.store = store
        self.field = facet_name(field)
        self._counter = counter
        self._counts: list[tuple[str, int]] = []
        self._total = 0
        self._distinct: int | None = None
        self._rows: list[tuple[str, int]] = []  # the current rows, by index
        self._shown: list[tuple[str, int]] = []  # the rows the list was last given
        self._count_w = 1  # cells of the widest count in _shown
        self._styles: dict[str, Style] = {}  # _style() by component name
        self.fresh: Container[str] = ()  # values first seen while tailing (highlighted)
        self._fresh_marked: tuple[bool, ...] = ()  # which shown rows were marked fresh
        self._narrowing = False
        self._matches = 0
        # All (value, count) pairs of the field and their folded forms, fetched once per
        # narrowing session and dropped whenever the filter or the field changes.
        self._all: list[tuple[str, int]] | None = None
        self._folded: list[str] | None = None
        self._title = TextLine(classes="facet-list--title")
        self._input = Input(placeholder="narrow: type part of a value", compact=True)
        self._list = FacetOptions(self)

    def compose(self) -> ComposeResult:
        yield self._title
        yield self._input
        yield self._list

    def on_mount(self) -> None:
        self._show_title()

    # ----------------------------------------------------------------- data in
    def set_counts(
        self, counts: Sequence[tuple[str, int]], total: int, distinct: int | None = None
    ) -> None:
        """Show `counts` (most frequent first) out of `total` events under the filter.

        `distinct` is the field's number of distinct values under the filter when the app
        knows it (counts may be only the top N); it defaults to len(counts).
        """
        self._counts = list(counts)
        self._total = total
        self._distinct = distinct
        self._all = self._folded = None  # the filter changed: narrowing must refetch
        if self._narrowing:
            self._apply_narrow(self._input.value)
        else:
            self._rows = self._counts
            self._show_rows()
        self._show_title()

    @property
    def narrowing(self) -> bool:
        return self._narrowing

    @property
    def rows(self) -> list[tuple[str, int]]:
        """The (value, count) rows on screen, in order."""
        return list(self._rows)

    @property
    def highlighted_value(self) -> str | None:
        i = self._list.highlighted
        if i is None or not 0 <= i < len(self._shown):
            return None
        return self._shown[i][0]

    def focus(self, scroll_visible: bool = True) -> FacetList:
        """Focus the rows (the list itself is only a container)."""
        self._list.focus(scroll_visible)
        return self

    # --------------------------------------------------------------- rendering
    def _style(self, name: str) -> Style:
        """A component's own style; colours taken from the full style, where any alpha
        (e.g. `$foreground-muted`) is already blended (the partial style drops alpha)."""
        style = self._styles.get(name)
        if style is None:  # rows ask for these per line drawn
            part = self.get_component_rich_style(name, partial=True)
            full = self.get_component_rich_style(name)
            style = self._styles[name] = part + Style(color=full.color if part.color else None)
        return style

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles.clear()  # theme change

    def _show_title(self) -> None:
        f = FIELD_BY_NAME.get(self.field)
        distinct = self._distinct if self._distinct is not None else len(self._counts)
        parts: list[tuple[str, str | Style] | str | Text] = [
            (_DETECTION_TITLES[self.field], "bold")
            if self.field in _DETECTION_TITLES
            else safe_text(self.field, "bold")
            if f is None
            else (f.label, "bold"),
            (f"  ({distinct:,})", ""),
        ]
        if self._narrowing:
            shown = len(self._rows)
            more = f", first {shown}" if self._matches > shown else ""
            plural = "es" if self._matches != 1 else ""
            parts.append((f"  {self._matches:,} match{plural}{more}", "italic"))
        parts.append(("  ◂[ ]▸", "dim"))
        self._title.update(label(*parts))

    @staticmethod
    def _widths(width: int, count_w: int) -> tuple[int, int]:
        """(value cells, share-bar cells) of a row `width` cells wide."""
        bar_w = 8 if width >= 36 else 4 if width >= 24 else 0
        return max(1, width - count_w - 1 - (bar_w + 1 if bar_w else 0)), bar_w

    def _row_prompt(self, value: str, count: int, width: int, count_w: int) -> Text:
        value_w, bar_w = self._widths(width, count_w)
        if value == "":
            shown = Text(_NONE, style=self._style("facet-list--none"))
        elif value.startswith("arn:") and len(value) > value_w:
            # ARNs differ at the end (role/user names): keep the tail.
            full = safe_text(value, max_len=4096)
            shown = Text("…") + full[-(value_w - 1) :] if value_w > 1 else Text("…")
        else:
            shown = safe_text(value, max_len=value_w)
        if value in self.fresh:
            # New while tailing: bold + underline reads without colour too.
            shown.stylize("bold underline")
        if shown.cell_len > value_w:  # wide characters: max_len counts characters
            shown.truncate(value_w, overflow="ellipsis")
        shown.truncate(value_w, pad=True)
        shown.append(" " + f"{count:,}".rjust(count_w), style=self._style("facet-list--count"))
        if bar_w:
            shown.append(" ")
            bar = _share_bar(count, self._total, bar_w)
            shown.append(bar, style=self._style("facet-list--bar"))
        shown.no_wrap = True
        return shown

    def _show_rows(self, keep: bool = True) -> None:
        """Hand the current rows to the list (data and a repaint only; lines are built as
        they are drawn). With `keep`, the highlighted value stays highlighted when it is
        still listed and the list has focus; otherwise the first row is."""
        # Only a cursor the user placed (the list has focus) follows its value: an
        # unattended list stays on its top row as counts change (while loading, the
        # first top value would otherwise drag the cursor and the scroll down).
        keep = keep and self._list.has_focus
        value = self.highlighted_value if keep else None  # read before _shown changes
        self._shown = self._rows
        index = None
        if self._rows:
            self._count_w = max(len(f"{c:,}") for _, c in self._rows)
            index = next((i for i, (v, _) in enumerate(self._rows) if v == value), 0)
        self._list.set_rows(len(self._rows), index)

    def _line_segments(self, index: int, width: int) -> list[Segment] | None:
        """Line `index` as segments of exactly `width` cells, for the common row: a
        printable ASCII value (nothing to escape, one cell per character). Building
        them directly costs a fraction of a Rich Text render (~0.14 ms a row, which
        made the facets the costliest part of a filter's frame). None: use `_line`."""
        if not self._shown:
            return None
        value, count = self._shown[index]
        if not value or not is_plain(value):
            return None
        count_w = self._count_w
        value_w, bar_w = self._widths(width, count_w)
        if value_w + 1 + count_w + (bar_w + 1 if bar_w else 0) != width:
            return None  # too narrow for the count column: `_line` ellipsises the row
        fresh = value in self.fresh
        if len(value) > value_w:
            if value.startswith("arn:"):  # ARNs differ at the end: keep the tail
                value = "…" + value[len(value) - value_w + 1 :] if value_w > 1 else "…"
            else:
                value = value[: value_w - 1] + "…"
        if fresh:  # bold + underline under the value, not its padding
            out = [Segment(value, self._fresh_style), Segment(" " * (value_w - len(value)))]
        else:
            out = [Segment(value.ljust(value_w))]
        out += [
            Segment(" " + f"{count:,}".rjust(count_w), self._style("facet-list--count")),
        ]
        if bar_w:
            bar = _share_bar(count, self._total, bar_w)
            out += [Segment(" "), Segment(bar, self._style("facet-list--bar"))]
        return out

    _fresh_style = Style(bold=True, underline=True)

    def _line(self, index: int, width: int) -> Text:
        """Line `index` of the list at `width` cells (FacetOptions asks lazily)."""
        if not self._shown:
            msg = "no matching values" if self._narrowing else "no events"
            return Text(msg, style=self._style("facet-list--empty"))
        value, count = self._shown[index]
        return self._row_prompt(value, count, width, self._count_w)

    # ------------------------------------------------------------------ narrowing
    def _all_values(self) -> list[tuple[str, int]]:
        if self._all is None:
            if self._counter is not None:
                self._all = list(self._counter(self.field))
            else:  # no filter known: every event counts
                self._all = self.store.counts(self.field)
            self._folded = [v.casefold() for v, _ in self._all]
        return self._all

    def _apply_narrow(self, text: str) -> None:
        values = self._all_values()
        assert self._folded is not None
        needle = text.casefold()
        if not needle:
            self._matches = len(values)
            self._rows = values[:NARROW_LIMIT]
        else:
            hits = [i for i, f in enumerate(self._folded) if needle in f]
            self._matches = len(hits)
            self._rows = [values[i] for i in hits[:NARROW_LIMIT]]
        self._show_rows()
        self._show_title()

    def _leave_narrow(self) -> None:
        self._narrowing = False
        self._input.remove_class("-narrowing")
        with self._input.prevent(Input.Changed):
            self._input.value = ""
        self._rows = self._counts
        self._show_rows()
        self._show_title()

    @on(Input.Changed)
    def _on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        if self._narrowing:
            self._apply_narrow(event.value)

    @on(Input.Submitted)
    def _on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._list.focus()

    # ------------------------------------------------------------------ actions
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "leave_narrow":
            return self._narrowing  # otherwise escape is someone else's
        if action == "to_list":
            return self._input.has_focus
        if action == "pick":
            return not self._input.has_focus  # enter in the input means "done typing"
        return True

    def action_narrow(self) -> None:
        if not self._narrowing:
            self._narrowing = True
            self._input.add_class("-narrowing")
            self._apply_narrow(self._input.value)
        self._input.focus()
        self.refresh_bindings()

    def action_leave_narrow(self) -> None:
        refocus = self.has_focus_within
        self._leave_narrow()
        if refocus:
            self._list.focus()
        self.refresh_bindings()

    def action_to_list(self) -> None:
        self._list.focus()

    def action_prev_field(self) -> None:
        self.action_cycle(-1)

    def action_next_field(self) -> None:
        self.action_cycle(1)

    def action_cycle(self, step: int) -> None:
        # The fields in a ring; the detection facets in their own (`!` shows them).
        ring = DETECTION_FACETS if self.field in DETECTION_FACETS else FIELD_NAMES
        if self.field not in ring:  # a path: back to the fields' ends
            self.set_field(ring[0 if step > 0 else -1])
            return
        i = ring.index(self.field)
        self.set_field(ring[(i + step) % len(ring)])

    def set_field(self, field: str) -> None:
        """Show `field` (or a JSON path): rows are filled at once from `counter`, and
        `FieldChanged` lets the app push its own counts."""
        field = facet_name(field)
        if self._narrowing:
            self._leave_narrow()
        self.field = field
        self._all = self._folded = None
        self._distinct = None
        if self._counter is not None:
            self._counts = list(self._counter(field))
            self._distinct = len(self._counts)
            self._counts = self._counts[:NARROW_LIMIT]
        else:
            self._counts = []
        self._rows = self._counts
        self._show_rows(keep=False)  # another field's value is not "the same row"
        self._show_title()
        self.post_message(self.FieldChanged(self, field))

    def action_pick(self) -> None:
        value = self.highlighted_value
        if value is not None:
            self.post_message(FilterRequest(self.field, value, negate=False))

    def action_only(self) -> None:
        value = self.highlighted_value
        if value is not None:
            self.post_message(FilterRequest(self.field, value, replace=True))

    def action_exclude(self) -> None:
        value = self.highlighted_value
        if value is not None:
            self.post_message(FilterRequest(self.field, value, negate=True))

    @on(FacetOptions.Selected)
    def _on_selected(self, event: FacetOptions.Selected) -> None:
        event.stop()  # internal detail; the app hears FilterRequest / FieldChanged
        if 0 <= event.index < len(self._shown):
            self.post_message(FilterRequest(self.field, self._shown[event.index][0]))


class FacetPanel(Vertical):
    """Three FacetLists stacked, each an equal share of the height."""

    DEFAULT_CSS = """
    FacetPanel {
        height: 1fr;
        & > FacetList { height: 1fr; }
    }
    """

    def __init__(
        self,
        store: Store,
        counter: Counter | None = None,
        fields: Iterable[str] = ("service", "principal", "ip"),
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._lists = [FacetList(store, f, counter) for f in fields]
        self._last = self._lists[0] if self._lists else None  # the list focused last

    def compose(self) -> ComposeResult:
        yield from self._lists

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        for fl in self._lists:
            if fl.has_focus_within:
                self._last = fl

    def show(self, name: str) -> FacetList | None:
        """Show `name` (a field or a path) in the list focused last (at first, the top
        one), unless a list shows it already."""
        name = facet_name(name)
        for fl in self._lists:
            if fl.field == name:
                return fl
        if self._last is not None:
            self._last.set_field(name)
        return self._last

    @property
    def lists(self) -> list[FacetList]:
        return list(self._lists)

    @property
    def fields(self) -> tuple[str, ...]:
        """The field each list currently shows, top to bottom."""
        return tuple(fl.field for fl in self._lists)

    def set_fresh(self, values_by_field: Mapping[str, Container[str]]) -> None:
        """Highlight values first seen while tailing (per field). Only the rows shown
        are tested: the containers may be large (every new source IP) and live."""
        for fl in self._lists:
            fl.fresh = values_by_field.get(fl.field, ())
            marked = tuple(v in fl.fresh for v, _ in fl._shown)
            if marked != fl._fresh_marked:  # the containers are live: compare what shows
                fl._fresh_marked = marked
                fl._show_rows()

    def set_all(
        self,
        counts_by_field: Mapping[str, Sequence[tuple[str, int]]],
        total: int,
        distinct_by_field: Mapping[str, int] | None = None,
    ) -> None:
        """Give each list the counts for its field (lists whose field is missing keep
        theirs)."""
        for fl in self._lists:
            if fl.field in counts_by_field:
                distinct = None if distinct_by_field is None else distinct_by_field.get(fl.field)
                fl.set_counts(counts_by_field[fl.field], total, distinct)
