"""A one-line text widget drawn from a cached strip (status line, facet titles).

`Static` renders its content through Textual's visual pipeline on every frame that
touches it: ~0.45 ms for one line here, paid by each facet title and the status line
whenever a filter changes their counts. This widget renders its `Text` once per update
and width.
"""

from __future__ import annotations

from rich.text import Text
from textual.strip import Strip
from textual.widget import Widget

__all__ = ["TextLine"]


class TextLine(Widget):
    """One line of `Text` (built with `widgets.safe`; never markup), cut with `…`."""

    DEFAULT_CSS = "TextLine { height: 1; }"

    def __init__(
        self, text: Text | None = None, *, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(id=id, classes=classes)
        self._text = text if text is not None else Text()
        self._strip: tuple[int, Strip] | None = None

    def update(self, text: Text) -> None:
        if text != self._text:
            self._text = text
            self._strip = None
            self.refresh()

    def render(self) -> Text:
        return self._text

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strip = None  # theme or pseudo-class change: the base style differs

    def render_line(self, y: int) -> Strip:
        width = self.size.width  # the content area (padding excluded)
        base = self.rich_style
        if y != 0:
            return Strip.blank(width, base)
        if self._strip is None or self._strip[0] != width:
            text = self._text.copy()
            text.truncate(width, overflow="ellipsis", pad=True)
            strip = Strip(text.render(self.app.console)).crop_extend(0, width, None)
            self._strip = (width, strip.apply_style(base).simplify())
        return self._strip[1]
