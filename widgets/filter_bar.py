"""The filter bar: one line of query text, history, and an inline error line."""

from __future__ import annotations

from typing import Any

from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, Static

from .bindings import bindings
from .safe import label
from .textual_private import LayoutFreeVirtualSize


class FilterInput(LayoutFreeVirtualSize, Input):
    """The filter's text. Its box is fixed (one line, the bar's width): a new text
    width scrolls it rather than reflowing the screen (Textual's Input sets its
    virtual size on every change of the text: each typed character, ctrl+x, a facet
    pick's new term cost a whole-screen layout, ~10 ms at 160x50)."""

    BINDINGS = bindings("filter")

    class Applied(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class Left(Message):
        pass

    def __init__(self, **kw: Any) -> None:
        # Focus leaves the text unselected (`/` puts the cursor at its end): what is
        # typed adds to the filter instead of replacing it.
        kw.setdefault("select_on_focus", False)
        super().__init__(
            placeholder='filter: / to edit — e.g. service:s3.amazonaws.com -error:"" since:-1h',
            **kw,
        )
        self.history: list[str] = []
        self._hist_pos: int | None = None

    def action_apply(self) -> None:
        self.post_message(self.Applied(self.value))

    def action_cut(self) -> None:
        # ctrl+x cuts a selection; with nothing selected it is the app's "clear filter"
        # (SkipAction hands the key on), as the help screen says, focus or not.
        if not self.selected_text:
            raise SkipAction()
        super().action_cut()

    def action_leave(self) -> None:
        self.post_message(self.Left())

    def remember(self, text: str) -> None:
        if text and (not self.history or self.history[-1] != text):
            self.history.append(text)
            del self.history[:-200]
        self._hist_pos = None

    def action_history_prev(self) -> None:
        if not self.history:
            return
        pos = len(self.history) if self._hist_pos is None else self._hist_pos
        pos = max(0, pos - 1)
        self._hist_pos = pos
        self.value = self.history[pos]
        self.cursor_position = len(self.value)

    def action_history_next(self) -> None:
        if self._hist_pos is None:
            return
        pos = self._hist_pos + 1
        if pos >= len(self.history):
            self._hist_pos = None
            self.value = ""
        else:
            self._hist_pos = pos
            self.value = self.history[pos]
        self.cursor_position = len(self.value)


class FilterBar(Vertical):
    DEFAULT_CSS = """
    FilterBar { height: auto; }
    FilterBar FilterInput { border: none; height: 1; padding: 0 1; }
    FilterBar FilterInput:focus { border: none; }
    FilterBar #filter-error { height: auto; display: none; padding: 0 1; color: $error; }
    FilterBar.-error #filter-error { display: block; }
    """

    def compose(self) -> ComposeResult:
        yield FilterInput(id="filter-input")
        yield Static(id="filter-error")

    @property
    def input(self) -> FilterInput:
        return self.query_one(FilterInput)

    def show_error(self, message: str, position: int | None, text: str) -> None:
        """Show a parse error under the input, with the caret at its column."""
        self.query_one("#filter-error", Static).update(label(("✗ ", "bold"), message))
        if position is not None:
            self.input.cursor_position = min(position, len(text))
        self.add_class("-error")

    def clear_error(self) -> None:
        if self.has_class("-error"):  # each update of the line costs a screen layout
            self.remove_class("-error")
            self.query_one("#filter-error", Static).update("")
