"""The column chooser: which of the indexed fields the event list shows, in which
order and how wide. It returns the new choice; the main screen applies and saves it
(tui/core/listconfig.py)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from widgets.bindings import bindings
from widgets.event_list import DEFAULT_COLUMNS, column_title, is_path_column

from .actions import by_scope, key_label
from .core.fields import FIELD_NAMES
from .core.listconfig import MAX_WIDTH, MIN_WIDTH
from .core.sanitize import clean

Choice = list[tuple[str, int | None]]  # (column, fixed width or None), in list order


class ColumnScreen(ModalScreen[Choice | None]):
    """Every column the list can show: the chosen ones first, in order (ticked), then
    the others."""

    DEFAULT_CSS = """
    ColumnScreen { align: center middle; }
    ColumnScreen > Vertical {
        width: 64; max-width: 100%; height: 90%; max-height: 30;
        border: round $accent; background: $surface; padding: 0 1;
    }
    ColumnScreen #columns-help { height: auto; color: $text-muted; }
    ColumnScreen OptionList { height: 1fr; border: none; }
    ColumnScreen #columns-path { display: none; }
    ColumnScreen #columns-path.-open { display: block; }
    """
    BINDINGS = bindings("columns")
    AUTO_FOCUS = "#columns-list"

    def __init__(self, chosen: Choice, widths: dict[str, int]) -> None:
        super().__init__()
        self.chosen: Choice = list(chosen)
        self.widths = widths  # the widths on screen now: where +/- start from
        self.others = [n for n in ("time", *FIELD_NAMES) if n not in dict(chosen)]

    def compose(self) -> ComposeResult:
        keys = "  ".join(
            f"{key_label(a.keys).split(' / ')[0]} {a.title.lower()}" for a in by_scope("columns")
        )
        with Vertical():
            yield Static(Text("Columns of the event list", style="bold"))
            yield Static(Text(keys), id="columns-help")
            yield OptionList(id="columns-list")
            yield Input(
                placeholder="JSON path, e.g. requestParameters.bucketName (Esc: back)",
                id="columns-path",
            )

    def on_mount(self) -> None:
        self._redraw(0)

    @property
    def _list(self) -> OptionList:
        return self.query_one("#columns-list", OptionList)

    def _entries(self) -> list[tuple[str, int | None, bool]]:
        return [(n, w, True) for n, w in self.chosen] + [(n, None, False) for n in self.others]

    def _redraw(self, highlight: int) -> None:
        opts = []
        for name, width, shown in self._entries():
            line = Text("[x] " if shown else "[ ] ", style="bold" if shown else "dim")
            line.append(f"{clean(column_title(name)):<18}")
            line.append(f" {clean(name):<10}", style="dim")
            if shown:
                line.append(f" width {width}" if width else " auto width", style="italic")
            opts.append(Option(line))
        lst = self._list
        lst.clear_options()
        lst.add_options(opts)
        lst.highlighted = max(0, min(highlight, len(opts) - 1))

    def _cursor(self) -> int:
        return self._list.highlighted or 0

    # ---------------------------------------------------------------- actions
    def action_toggle_column(self) -> None:
        i = self._cursor()
        if i < len(self.chosen):
            if len(self.chosen) == 1:
                self.notify("the list needs at least one column", timeout=3)
                return
            name, _ = self.chosen.pop(i)
            self.others.insert(0, name)
            self._redraw(len(self.chosen))  # the cursor follows the entry
        else:
            name = self.others.pop(i - len(self.chosen))
            self.chosen.append((name, None))
            self._redraw(len(self.chosen) - 1)

    def _move(self, step: int) -> None:
        i = self._cursor()
        j = i + step
        if i >= len(self.chosen) or not 0 <= j < len(self.chosen):
            return
        self.chosen[i], self.chosen[j] = self.chosen[j], self.chosen[i]
        self._redraw(j)

    def action_move_up(self) -> None:
        self._move(-1)

    def action_move_down(self) -> None:
        self._move(1)

    def _resize(self, step: int | None) -> None:
        i = self._cursor()
        if i >= len(self.chosen):
            return
        name, width = self.chosen[i]
        if step is not None:
            start = width or self.widths.get(name) or len(column_title(name))
            width = max(MIN_WIDTH, min(MAX_WIDTH, start + step))
        self.chosen[i] = (name, width)
        self._redraw(i)

    def action_wider(self) -> None:
        self._resize(1)

    def action_narrower(self) -> None:
        self._resize(-1)

    def action_auto_width(self) -> None:
        self._resize(None)

    def action_add_path(self) -> None:
        box = self.query_one("#columns-path", Input)
        box.add_class("-open")
        box.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        name = event.value.strip()
        if not is_path_column(name):
            self.notify(
                f"not a JSON path: {clean(name)}", severity="error", markup=False, timeout=4
            )
            return
        if name not in dict(self.chosen):
            self.chosen.append((name, None))
        event.input.value = ""
        self._close_path()
        self._redraw(len(self.chosen) - 1)

    def _close_path(self) -> None:
        self.query_one("#columns-path", Input).remove_class("-open")
        self._list.focus()

    def action_defaults(self) -> None:
        self.chosen = [(n, None) for n in DEFAULT_COLUMNS]
        self.others = [n for n in ("time", *FIELD_NAMES) if n not in DEFAULT_COLUMNS]
        self._redraw(0)

    def action_apply(self) -> None:
        self.dismiss(list(self.chosen))

    def action_cancel(self) -> None:
        if self.query_one("#columns-path", Input).has_class("-open"):
            self._close_path()  # Esc in the path box: back to the list
            return
        self.dismiss(None)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()  # enter applies (the binding), it does not toggle
        self.action_apply()
