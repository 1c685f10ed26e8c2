"""Every use of Textual's private API, in one place.

Textual is pinned exactly in pyproject.toml (`TEXTUAL_VERSION`). Each hook below says
what it buys, with the measurement; `HOOKS` lists the private names they rely on, and
tests/test_textual_private.py checks that each still exists with the signature used
here, so an upgrade that removes or renames one fails that test by name instead of
leaving a slow or broken screen. To upgrade Textual: bump the pin here, in
pyproject.toml and in constraints.txt, run that test, then re-measure what each hook
claims (benchmarks/bench_app.py) and drop the hooks Textual no longer needs.

Nothing outside this module touches a Textual name that starts with `_`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.app import App
from textual.geometry import Size
from textual.reactive import Reactive
from textual.screen import Screen
from textual.scrollbar import ScrollBar
from textual.widget import Widget

__all__ = [
    "HOOKS",
    "TEXTUAL_VERSION",
    "FrameHookScreen",
    "LayoutFreeVirtualSize",
    "Hook",
    "vertical_scrollbar",
]

TEXTUAL_VERSION = "8.2.8"


class Hook:
    """One Textual name this module relies on: where it lives and how it is used.

    kind: "method" (called or overridden with `params`), "attribute" (set on each
    instance by the owner's __init__) or "reactive" (a public reactive redeclared here
    with other flags: Textual must still declare it as a reactive)."""

    __slots__ = ("owner", "name", "kind", "params")

    def __init__(self, owner: type, name: str, kind: str, params: tuple[str, ...] = ()) -> None:
        self.owner, self.name, self.kind, self.params = owner, name, kind, params

    def __repr__(self) -> str:
        return f"{self.owner.__name__}.{self.name}"


HOOKS: tuple[Hook, ...] = (
    Hook(Screen, "_compositor_refresh", "method", ("self",)),
    Hook(Screen, "focused", "reactive"),
    Hook(Widget, "virtual_size", "reactive"),
    Hook(Widget, "_scroll_update", "method", ("self", "virtual_size")),
    Hook(Widget, "_vertical_scrollbar", "attribute"),
    Hook(App, "_start_widget", "method", ("self", "parent", "widget")),
)


# ------------------------------------------------------------------ the main screen
class FrameHookScreen(Screen):
    """A screen that calls `frame_callbacks` after each frame it composes, and whose
    focus changes repaint only what they change.

    `_compositor_refresh` (overridden): the app collects young objects and runs a commit
    it put off right after a frame, rather than inside the next key (while tailing at
    5k events/s a threshold collection took 13-44 ms, often within a key). Textual has
    no public "frame drawn" event.

    `focused` (redeclared without repaint): Textual's is a repainting reactive, so every
    focus change (applying a filter moves it from the bar to the list) redrew every
    widget on the screen. The widgets whose look depends on focus repaint themselves
    through their `:focus`/`:focus-within` styles, so the whole-screen repaint only
    cost time: measured at 160x50 on a filter apply, the frame went from 20-32 ms to
    ~16 ms.
    """

    focused: Reactive[Widget | None] = Reactive(None, repaint=False)

    def __init__(
        self, name: str | None = None, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(name, id, classes)
        self.frame_callbacks: list[Callable[[], None]] = []

    def _compositor_refresh(self) -> None:
        super()._compositor_refresh()
        for callback in self.frame_callbacks:
            callback()


# ------------------------------------------------------------------ scrolling panes
class LayoutFreeVirtualSize:
    """Mix into a ScrollView subclass whose box is fixed by CSS (before it in the bases):
    a change of its virtual size updates its scrollbars and scroll limits only.

    Textual treats any change of a widget's virtual size as a layout change: the whole
    screen is reflowed and every widget re-rendered (at 160x50, ~17 ms per layout
    measured here; a filter apply used to trigger about four). `virtual_size` is
    redeclared without `layout`, and its watcher does what Textual's layout pass would
    have done for this widget, through `Widget._scroll_update` (scrollbars + clamping
    the scroll offset). A scrollbar appearing or disappearing still changes the pane's
    content region, and Textual lays out for that as usual.
    """

    virtual_size: Reactive[Size] = Reactive(Size(0, 0), layout=False)

    def watch_virtual_size(self, size: Size) -> None:
        widget: Any = self
        if widget.is_mounted and widget.container_size:
            widget._scroll_update(size)


def vertical_scrollbar(widget: Widget, bar_class: type[ScrollBar]) -> ScrollBar:
    """`Widget.vertical_scrollbar` with a ScrollBar subclass of ours: what Textual's
    property does with its own `ScrollBar`, through `Widget._vertical_scrollbar` and
    `App._start_widget`. The panes' bars draw from cached strips
    (widgets/quiet_scroll.StripScrollBar): Textual's went through Rich for every line
    of every frame that touched it, ~1.3 ms for a 21-line bar."""
    w: Any = widget
    bar = w._vertical_scrollbar
    if bar is None:
        bar = w._vertical_scrollbar = bar_class(
            vertical=True, name="vertical", thickness=w.scrollbar_size_vertical
        )
        bar.display = False
        w.app._start_widget(widget, bar)
    return bar
