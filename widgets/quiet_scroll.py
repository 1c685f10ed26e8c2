"""Scrolling panes whose content changes without re-laying out the screen.

Textual treats any change of a widget's virtual size as a layout change: the whole
screen is reflowed and every widget re-rendered (at 160x50, ~17 ms per layout measured
here; a filter apply used to trigger about four). For panes whose box is fixed by CSS
(the event list, facet rows, the detail tree) only their scrollbars depend on the
content size, so this mixin updates those and repaints the pane. A scrollbar appearing
or disappearing still changes the pane's content region, and Textual lays out for that
as usual.
"""

from __future__ import annotations

from textual.geometry import Size
from textual.reactive import Reactive

__all__ = ["QuietScroll"]


class QuietScroll:
    """Mix into a ScrollView subclass (before it in the bases)."""

    virtual_size: Reactive[Size] = Reactive(Size(0, 0), layout=False)

    def watch_virtual_size(self, size: Size) -> None:
        if self.is_mounted and self.container_size:  # type: ignore[attr-defined]
            self._scroll_update(size)  # type: ignore[attr-defined]  # scrollbars + clamp
