"""Scrolling panes whose content changes without re-laying out the screen.

For panes whose box is fixed by CSS (the event list, facet rows, the detail tree) only
their scrollbars depend on the content size, so a change of it updates those and
repaints the pane instead of reflowing the screen (`LayoutFreeVirtualSize`, in
widgets/textual_private.py with the other uses of Textual's private API).

Their vertical scrollbars also draw from cached strips (`StripScrollBar`), and a pane
with no box decoration hands its own strips to the compositor (`QuietScroll.render_lines`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.style import Style
from textual.geometry import Region, Spacing
from textual.scrollbar import ScrollBar, ScrollBarRender
from textual.strip import Strip

from .textual_private import LayoutFreeVirtualSize, vertical_scrollbar

if TYPE_CHECKING:
    from textual.scroll_view import ScrollView as ScrollPane
else:
    ScrollPane = object  # a mixin: the ScrollView comes after it in the pane's bases

__all__ = ["QuietScroll", "StripScrollBar"]

_NO_GUTTER = Spacing(0, 0, 0, 0)


class StripScrollBar(ScrollBar):
    """A vertical scrollbar drawn once per thumb position, size and colour.

    Textual's scrollbar goes through Rich rendering for every line of every frame that
    touches it: measured ~1.3 ms for a 21-line bar, the cost of redrawing a dozen list
    rows, paid by each pane whose content changed. The glyphs still come from
    Textual's own `ScrollBarRender.render_bar`, so the look is the same.
    """

    _key: tuple | None = None
    _lines: list[Strip] = []

    def render_lines(self, crop: Region) -> list[Strip]:
        bar = self.render() if self.vertical else None
        if not isinstance(bar, ScrollBarRender):
            return super().render_lines(crop)
        style = self.app.console.get_style(bar.style)
        width, height = self.size
        key = (width, height, bar.virtual_size, bar.window_size, bar.position, style)
        if key != self._key:
            kw = {}
            if style.bgcolor is not None:
                kw["back_color"] = style.bgcolor
            if style.color is not None:
                kw["bar_color"] = style.color
            segments = bar.render_bar(
                size=height,
                virtual_size=bar.virtual_size,
                window_size=bar.window_size,
                position=bar.position,
                thickness=width,
                vertical=True,
                **kw,
            ).segments
            self._lines = [Strip([seg], width) for seg in segments]
            self._key = key
        lines = self._lines[crop.y : crop.bottom]
        filters = self.get_line_filters()
        if filters:
            background = self.background_colors[1]
            for f in filters:
                lines = [line.apply_filter(f, background) for line in lines]
        if crop.column_span != (0, width):
            lines = [line.crop(crop.x, crop.right) for line in lines]
        return lines


class QuietScroll(LayoutFreeVirtualSize, ScrollPane):
    """Mix into a ScrollView subclass (before it in the bases)."""

    def render_lines(self, crop: Region) -> list[Strip]:
        """The pane's own strips, when it has no padding, border, outline, tint or
        opacity: what Textual's per-line styling would return for them unchanged, at a
        fraction of its ~40 us per line (the panes cache their strips already).
        Anything decorated goes through Textual as usual."""
        styles = self.styles
        if (
            styles.gutter != _NO_GUTTER
            or styles.tint.a
            or styles.text_opacity != 1.0
            or self.opacity != 1.0
            or any(edge for edge, _ in styles.outline)
            or styles.has_rule("hatch")
        ):
            return super().render_lines(crop)
        base_background, background = self.background_colors
        inner = Style(bgcolor=(base_background + background).rich_color)
        width = self.size.width
        render_line = self.render_line
        lines = [render_line(y).adjust_cell_length(width, inner) for y in crop.line_range]
        for line_filter in self.get_line_filters():
            lines = [line.apply_filter(line_filter, background) for line in lines]
        if crop.column_span != (0, width):
            lines = [line.crop(*crop.column_span) for line in lines]
        return lines

    @property
    def vertical_scrollbar(self) -> ScrollBar:
        """As Textual's, but a `StripScrollBar`."""
        return vertical_scrollbar(self, StripScrollBar)
