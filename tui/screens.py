"""The modal screens: help (from the action table), skipped files, jump to time.
The main screen is tui/main_screen.py."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.markdown import Markdown
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static, TabbedContent, TabPane
from textual.widgets.option_list import Option

from widgets.bindings import bindings
from widgets.safe import label, safe_text

from .actions import SCOPES, by_scope, key_label
from .help import topic_text

if TYPE_CHECKING:
    from .core.integrity_view import FileIntegrity


class HelpScreen(ModalScreen[None]):
    """Every key (from the action table), and the filter language (tui/query.md, the
    text `trailscope help query` prints), rendered from Markdown: no markup is read
    from it."""

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > TabbedContent {
        width: 90%; max-width: 110; height: 90%; border: round $accent; background: $surface;
    }
    HelpScreen TabPane { padding: 0 1; }
    HelpScreen VerticalScroll { height: 1fr; }
    """
    BINDINGS = bindings("help-screen")
    AUTO_FOCUS = "#help-keys VerticalScroll"

    def compose(self) -> ComposeResult:
        with TabbedContent(initial="help-keys"):
            with TabPane("Keys", id="help-keys"):
                with VerticalScroll():
                    yield Static(self._table(), id="help-table")
            with TabPane("Filter language (f)", id="help-query"):
                with VerticalScroll():
                    yield Static(
                        Markdown(topic_text("query"), hyperlinks=False), id="help-query-text"
                    )

    def action_show(self, pane: str) -> None:
        self.query_one(TabbedContent).active = pane
        self.query_one(f"#{pane} VerticalScroll").focus()

    @staticmethod
    def _table() -> Table:
        t = Table(
            title="trailscope — keys", expand=True, box=None, show_header=False, padding=(0, 1)
        )
        t.add_column("key", style="bold", no_wrap=True, width=22)
        t.add_column("action")
        for scope, title in SCOPES.items():
            t.add_row(Text(""), Text(""))
            t.add_row(Text(title, style="reverse"), Text(""))
            for a in by_scope(scope):
                t.add_row(Text(key_label(a.keys)), Text(a.help))
        t.add_row(Text(""), Text(""))
        t.add_row(Text("Tab / Shift+Tab"), Text("Move between panes"))
        t.add_row(Text("ctrl+p"), Text("Command palette (every action above)"))
        t.add_row(
            Text("f  (in this help)"),
            Text(
                "The filter language, e.g. cred:root has:error since:-1h "
                "(also: trailscope help query)"
            ),
        )
        return t


class SkippedScreen(ModalScreen[None]):
    """Files not (fully) loaded or read leniently, each with its reason; then each
    file's integrity state against the trail's digest files (`integrity`: a
    `core.integrity_view.FileIntegrity`, or a line saying why there is none yet).
    Paths and reasons are data."""

    DEFAULT_CSS = """
    SkippedScreen { align: center middle; }
    SkippedScreen > Vertical {
        width: 95%; height: 90%; border: round $warning; background: $surface;
    }
    SkippedScreen #skipped-title { height: auto; padding: 0 1; }
    SkippedScreen OptionList { height: 1fr; border: none; }
    """
    BINDINGS = bindings("skipped-screen")

    def __init__(
        self,
        skipped: list[tuple[str, str]],
        extra: list[tuple[str, str]],
        integrity: FileIntegrity | str | None = None,  # a str: checking, or why not
    ) -> None:
        super().__init__()
        self.skipped = skipped
        self.extra = extra
        self.integrity = integrity

    def show_integrity(self, integrity: FileIntegrity | str | None) -> None:
        self.integrity = integrity
        lst = self.query_one(OptionList)
        lst.clear_options()
        lst.add_options(self._options())

    def _integrity_options(self) -> list[Option]:
        ig = self.integrity
        if ig is None:
            return []
        if isinstance(ig, str):
            return [Option(Text(f"integrity: {ig}", style="bold"), disabled=True)]
        rows = ig.rows()
        counts: dict[str, int] = {}
        for _, state, _ in rows:
            counts[state.value] = counts.get(state.value, 0) + 1
        summary = ", ".join(f"{n:,} {s}" for s, n in counts.items())
        opts = [
            Option(
                Text(
                    f"integrity against the digest files: {ig.verdict} ({summary}); "
                    "is:unverified filters the events of files not verified",
                    style="bold",
                ),
                disabled=True,
            )
        ]
        for path, state, reason in rows:
            style = "green" if state.value == "verified" else "bold red"
            line = label((f"{state.value:<13}", style), path)
            if reason:
                line = label(
                    (f"{state.value:<13}", style), path, ("\n    ", ""), safe_text(reason, "italic")
                )
            opts.append(Option(line))
        return opts

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(
                label(
                    (
                        f"{len(self.skipped):,} file(s) skipped, partly loaded or read leniently",
                        "bold",
                    ),
                    (f"   ·   {len(self.extra):,} ignored by name", "dim"),
                    ("   (Esc to close)", "dim"),
                ),
                id="skipped-title",
            )
            yield OptionList(*self._options(), id="skipped-list")

    def _options(self) -> list[Option]:
        opts: list[Option] = []
        for path, reason in self.skipped:
            opts.append(Option(label(path, ("\n    ", ""), safe_text(reason, "italic"))))
        for path, reason in self.extra:
            opts.append(Option(label(path, ("\n    ", ""), safe_text(reason, "dim italic"))))
        if not opts:
            opts.append(Option(Text("nothing was skipped", style="dim"), disabled=True))
        return opts + self._integrity_options()


class JumpScreen(ModalScreen[str | None]):
    DEFAULT_CSS = """
    JumpScreen { align: center middle; }
    JumpScreen > Vertical {
        width: 70; height: auto; border: round $accent; background: $surface; padding: 0 1;
    }
    """
    BINDINGS = bindings("jump-screen")

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(
                Text("Jump to time (UTC): 2026-11-20T10:05, 2026-11-20, -2h (from newest)")
            )
            yield Input(placeholder="time", id="jump-input")
            yield Static(id="jump-error")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_dismiss_none(self) -> None:
        self.dismiss(None)
