"""The key-hint line at the bottom: the shown bindings of the focused pane, one line.

Textual's `Footer` recomposes a widget per key whenever the bindings change (every
focus move): measured here it added ~50 ms of layout to a filter apply (focus goes from
the bar to the list) and left ~4 FooterKey widgets alive per keypress. This line only
re-renders text: no widgets, no layout.
"""

from __future__ import annotations

from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual import events
from textual.screen import Screen
from textual.strip import Strip
from textual.widget import Widget

__all__ = ["KeyHints"]


class KeyHints(Widget):
    COMPONENT_CLASSES: ClassVar[set[str]] = {"key-hints--key", "key-hints--description"}

    DEFAULT_CSS = """
    KeyHints {
        height: 1;
        background: $footer-background;
        color: $footer-foreground;
        text-wrap: nowrap;
        text-overflow: ellipsis;
        & > .key-hints--key { color: $footer-key-foreground; text-style: bold; }
        & > .key-hints--description { color: $footer-description-foreground; }
    }
    KeyHints:nocolor > .key-hints--key { text-style: bold reverse; }
    """

    def __init__(self, *, name: str | None = None, id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self._spans: list[tuple[int, int, str]] = []  # (x0, x1, key) for clicks
        self._line: Text | None = None
        self._shown: list[tuple[str, str, bool]] | None = None
        self._strip: tuple[int, Strip] | None = None
        self._check_due = False

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Screen) -> None:
        # Textual signals this after most keys, 3-4 times in a filter apply (the focus
        # moves, reactive attributes change): the hints are compared once, after the
        # frame that answers the key (as Textual's Footer recomposes), and the line
        # repainted only when they differ.
        if screen is self.screen and not self._check_due:
            self._check_due = True
            self.call_after_refresh(self._check_hints)

    def _check_hints(self) -> None:
        self._check_due = False
        if not self.is_attached:
            return
        hints = self.hints()
        if hints != self._shown:
            self._shown = hints
            self._line = self._build(hints)
            self._strip = None
            self.refresh()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._line = self._strip = None  # theme change: the key styles differ

    def hints(self) -> list[tuple[str, str, bool]]:
        """(key as shown, description, enabled) for each shown action, in binding order."""
        seen: set[str] = set()
        out = []
        for _node, binding, enabled, _tip in self.screen.active_bindings.values():
            if not binding.show or binding.action in seen:
                continue
            seen.add(binding.action)
            out.append((self.app.get_key_display(binding), binding.description, enabled))
        # The command palette's binding is hidden; Textual's Footer adds it at the end.
        palette = self.screen.active_bindings.get(self.app.COMMAND_PALETTE_BINDING)
        if self.app.ENABLE_COMMAND_PALETTE and palette is not None:
            _node, binding, enabled, _tip = palette
            out.append((self.app.get_key_display(binding), binding.description, enabled))
        return out

    def render(self) -> Text:
        if self._line is None:
            self._shown = self.hints()
            self._line = self._build(self._shown)
        return self._line

    def render_line(self, y: int) -> Strip:
        # One cached strip per width: the compositor asks for this line with every
        # frame that touches it, and rendering the Text each time cost ~0.9 ms.
        width = self.size.width
        if self._strip is None or self._strip[0] != width:
            text = self.render().copy()
            text.truncate(width, overflow="ellipsis", pad=True)
            segments = list(text.render(self.app.console))
            self._strip = (
                width,
                Strip(segments)
                .crop_extend(0, width, self.rich_style)
                .apply_style(self.rich_style)
                .simplify(),
            )
        return self._strip[1] if y == 0 else Strip.blank(width, self.rich_style)

    def _build(self, hints: list[tuple[str, str, bool]]) -> Text:
        key_style = self.get_component_rich_style("key-hints--key")
        desc_style = self.get_component_rich_style("key-hints--description")
        out = Text(no_wrap=True, overflow="ellipsis")
        self._spans = []
        for key, desc, enabled in hints:
            dim = Style(dim=True) if not enabled else Style()
            start = out.cell_len
            out.append(f" {key} ", key_style + dim)
            out.append(f"{desc} ", desc_style + dim)
            self._spans.append((start, out.cell_len, key))
        return out

    def on_click(self, event: events.Click) -> None:
        for x0, x1, key in self._spans:
            if x0 <= event.x < x1:
                self.app.simulate_key(self._key_for(key))
                return

    def _key_for(self, shown: str) -> str:
        for _node, binding, _enabled, _tip in self.screen.active_bindings.values():
            if self.app.get_key_display(binding) == shown:
                return binding.key
        return shown
