"""Modal screens for the evidence keys: mark picker, note, a name, export (tui/evidence.py).
Labels, notes, names and paths may come from logs or the case: shown through safe_text,
never parsed as markup."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, OptionList, ProgressBar, RadioButton, RadioSet, Static
from textual.widgets.option_list import Option

from widgets.bindings import bindings
from widgets.safe import label, safe_text

from .core.export_job import FORMATS, ExportError, ExportResult, check_target, manifest_path
from .core.sanitize import clean

_BOX = """
    align: center middle;
}
%s > Vertical {
    width: 80; max-width: 95%%; height: auto; border: round $accent;
    background: $surface; padding: 0 1;
}
%s .error { color: $error; height: auto; }
"""


def _css(name: str) -> str:
    return name + " {" + _BOX % (name, name)


class MarkScreen(ModalScreen[str | None]):
    """Pick a label (1-9, or Enter on one) or type a new one; a label the event carries
    is taken off again."""

    DEFAULT_CSS = _css("MarkScreen") + "MarkScreen OptionList { height: auto; max-height: 12; }"
    BINDINGS = bindings("mark-screen")

    def __init__(self, labels: Sequence[str], current: Sequence[str]) -> None:
        super().__init__()
        self.labels = list(labels)
        self.current = set(current)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text("Mark the event (1-9 or Enter; a ✓ label is taken off; Esc cancels)"))
            opts = []
            for i, lab in enumerate(self.labels):
                key = f"{i + 1} " if i < 9 else "  "
                tick = "✓ " if lab in self.current else "  "
                opts.append(Option(label((key, "bold"), tick, safe_text(lab)), id=f"l{i}"))
            yield OptionList(*opts, id="mark-labels")
            yield Input(placeholder="or a new label: letters, digits, _ - .", id="mark-new")

    def on_key(self, event: events.Key) -> None:
        if event.character and event.character.isdigit() and not isinstance(self.focused, Input):
            i = int(event.character) - 1
            if 0 <= i < min(9, len(self.labels)):
                event.stop()
                self.dismiss(self.labels[i])

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.labels[event.option_index])  # the options are the labels, in order

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)

    def action_cancel(self) -> None:
        self.dismiss(None)


class NoteScreen(ModalScreen[str | None]):
    """Edit the event's note; Enter saves (empty removes it), Esc cancels."""

    DEFAULT_CSS = _css("NoteScreen")
    BINDINGS = bindings("note-screen")

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text("Note on this event (Enter saves, empty removes it, Esc cancels)"))
            yield Input(value=self.text, id="note-input")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)


class NameScreen(ModalScreen[str | None]):
    DEFAULT_CSS = _css("NameScreen")
    BINDINGS = bindings("name-screen")

    def __init__(self, prompt: str) -> None:
        super().__init__()
        self.prompt = prompt

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(self.prompt))
            yield Input(id="name-input")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)

    def action_cancel(self) -> None:
        self.dismiss(None)


def default_export_path(fmt: str) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return os.path.join(os.getcwd(), f"trailscope-export-{stamp}{FORMATS[fmt]}")


class ExportScreen(ModalScreen[None]):
    """Where and how to export the list; then its progress, cancellable. The export runs
    in the app's worker (`on_start(path, fmt)`), which reports back through `progress`
    and `finished`."""

    DEFAULT_CSS = (
        _css("ExportScreen")
        + """
    ExportScreen RadioSet { height: auto; layout: horizontal; border: none; }
    ExportScreen ProgressBar { height: 1; }
    ExportScreen Horizontal { height: auto; }
    """
    )
    BINDINGS = bindings("export-screen")

    def __init__(self, count: int, trail_paths: Sequence[str]) -> None:
        super().__init__()
        self.count = count
        self.trail_paths = list(trail_paths)
        self.on_start: Callable[[str, str], None] | None = None
        self.cancel_flag = threading.Event()
        self.running = False
        self.result: ExportResult | str | None = None
        self._confirm: str | None = None  # the path the user agreed to replace

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(f"Export the {self.count:,} listed events, in the list's order"))
            with RadioSet(id="export-format"):
                for i, fmt in enumerate(FORMATS):
                    yield RadioButton(fmt, value=i == 0, id=f"fmt-{fmt.replace('.', '-')}")
            yield Input(value=default_export_path("jsonl"), id="export-path")
            yield Static(
                Text(
                    "jsonl: the events' JSON · csv: the list's columns · json.gz: "
                    'a CloudTrail file ({"Records":[…]})',
                    style="dim",
                )
            )
            yield Static("", id="export-message", classes="error")
            yield ProgressBar(total=max(self.count, 1), id="export-progress", show_eta=False)
            with Horizontal():
                yield Button("Export", id="export-go", variant="primary")
                yield Button("Cancel", id="export-cancel")

    def on_mount(self) -> None:
        self.query_one("#export-progress").display = False
        self.query_one("#export-path", Input).focus()

    @property
    def fmt(self) -> str:
        pressed = self.query_one(RadioSet).pressed_index
        return list(FORMATS)[max(pressed, 0)]

    def on_radio_set_changed(self, event: RadioSet.Changed) -> None:
        inp = self.query_one("#export-path", Input)
        for ext in sorted(FORMATS.values(), key=len, reverse=True):
            if inp.value.endswith(ext):
                inp.value = inp.value[: -len(ext)] + FORMATS[self.fmt]
                break
        self._confirm = None
        inp.focus()

    def on_input_changed(self, _event: Input.Changed) -> None:
        self._confirm = None

    def on_input_submitted(self, _event: Input.Submitted) -> None:
        self.start()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "export-go":
            self.start()
        else:
            self.action_cancel()

    def _say(self, message: str) -> None:
        self.query_one("#export-message", Static).update(Text(clean(message)))

    def start(self) -> None:
        if self.running:
            return
        path = self.query_one("#export-path", Input).value
        try:
            target = check_target(path, self.trail_paths)
        except ExportError as e:
            self._say(str(e))
            return
        existing = [p for p in (target, manifest_path(target)) if p.exists()]
        if existing and self._confirm != str(target):
            self._confirm = str(target)
            self._say(f"{existing[0]} exists: Enter again replaces it (Esc cancels)")
            return
        self.running = True
        self._say("")
        bar = self.query_one("#export-progress", ProgressBar)
        bar.display = True
        bar.update(progress=0)
        self.query_one("#export-go", Button).disabled = True
        self.query_one("#export-cancel", Button).focus()
        assert self.on_start is not None
        self.on_start(str(target), self.fmt)

    def progress(self, done: int, total: int) -> None:
        self.query_one("#export-progress", ProgressBar).update(total=max(total, 1), progress=done)

    def finished(self, result: ExportResult | str) -> None:
        self.running = False
        if isinstance(result, str):  # cancelled or failed: nothing written; may retry
            self._say(result)
            self.app.notify(clean(result), severity="warning", markup=False)
        else:
            msg = (
                f"exported {result.events:,} events to {result.path} "
                f"(manifest {result.manifest.name})"
            )
            if result.unavailable:
                msg += f"; {len(result.unavailable):,} could not be read (listed in the manifest)"
            self.result = result
            self.app.notify(clean(msg), markup=False, timeout=6)
            self.dismiss(None)
            return
        self.query_one("#export-go", Button).disabled = False
        self.query_one("#export-progress", ProgressBar).display = False

    def action_cancel(self) -> None:
        if self.running:
            self.cancel_flag.set()
            self._say("cancelling…")
            return
        self.dismiss(None)
