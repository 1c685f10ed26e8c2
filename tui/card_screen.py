"""The card of a principal, access key, role, user, account or IP (`core.cards`) as a
modal screen: every line that names a value is a pivot. Enter replaces the filter with
that value alone, `n` with the card's subject narrowed by it (on a minted key: with
everything descended from that key). Values are data: they
reach the screen through `widgets.safe`, never as markup."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from widgets.bindings import bindings
from widgets.safe import label, safe_text

from .core.cards import Card, build_card
from .core.normalize import format_time
from .core.store import Store

MAX_VALUE = 120  # characters of a value shown on a line


class CardScreen(ModalScreen[str | None]):
    """Dismissed with the filter to apply (None: closed)."""

    DEFAULT_CSS = """
    CardScreen { align: center middle; }
    CardScreen > Vertical { width: 95%; height: 90%; border: round $accent; background: $surface; }
    CardScreen #card-title { height: auto; padding: 0 1; }
    CardScreen OptionList { height: 1fr; border: none; }
    """
    BINDINGS = bindings("card-screen")

    def __init__(self, store: Store, subject: str) -> None:
        super().__init__()
        self.card: Card = build_card(store, subject)  # raises QueryError
        # Per option: (the value alone, the subject narrowed by it); None: not a pivot.
        self.pivots: list[tuple[str, str] | None] = []

    def compose(self) -> ComposeResult:
        c = self.card
        span = ""
        if c.first_ms is not None and c.last_ms is not None:
            span = f"   first {format_time(c.first_ms)}   last {format_time(c.last_ms)}"
        with Vertical():
            yield Static(
                label(
                    ("card ", "bold"),
                    safe_text(c.subject, "bold", max_len=200),
                    (
                        f"\n{c.events:,} events{span}   errors {c.errors:,} ({c.error_ratio:.1%})",
                        "",
                    ),
                    (
                        "\nEnter: filter to the value   n: the subject narrowed by it   Esc: close",
                        "dim",
                    ),
                ),
                id="card-title",
            )
            yield OptionList(*self._options(), id="card-lines")

    def _add(self, opts: list[Option], text: Text, pivot: tuple[str, str] | None) -> None:
        opts.append(Option(text, disabled=pivot is None))
        self.pivots.append(pivot)

    def _head(self, opts: list[Option], title: str) -> None:
        self._add(opts, Text(title, "bold reverse"), None)

    def _options(self) -> list[Option]:
        c = self.card
        opts: list[Option] = []
        for note in c.notes:
            self._add(opts, safe_text(note, "italic"), None)
        if c.kind == "key" and c.origin is not None:
            self._head(opts, "origin")
            for link in c.origin.links:
                term = f"minted:{link.key}"
                self._add(opts, safe_text(f"  ← {link.describe()}", max_len=400), (term, term))
            self._add(opts, safe_text(f"  {c.origin.end_text()}", "italic", max_len=400), None)
            for k, v in c.origin.record:
                self._add(opts, safe_text(f"    {k}: {v}", "dim", max_len=400), None)
            self._add(
                opts,
                Text(f"  descendants: {c.descendant_keys:,} keys, {c.descendant_events:,} events"),
                (c.descends_term, c.descends_term),
            )
        for s in c.sections:
            if not s.lines:
                continue
            more = f", top {len(s.lines)}" if s.distinct > len(s.lines) else ""
            self._head(opts, f"{s.title} ({s.distinct:,}{more})")
            for ln in s.lines:
                text = Text(f"  {ln.count:>9,}  ")
                text.append_text(safe_text(ln.value or "(empty)", max_len=MAX_VALUE))
                self._add(opts, text, (ln.term, ln.filter))
        if c.minted_total:
            more = f", top {len(c.minted)}" if c.minted_total > len(c.minted) else ""
            self._head(opts, f"credentials minted ({c.minted_total:,}{more})")
            for m in c.minted:
                text = Text(f"  {m.uses:>9,}  ")
                text.append_text(
                    safe_text(f"{m.key}  {m.event} {format_time(m.time_ms)}", max_len=MAX_VALUE)
                )
                self._add(opts, text, (m.term, m.descends))
        if not opts:
            self._add(opts, Text("no events", "dim"), None)
        return opts

    def _picked(self) -> tuple[str, str] | None:
        i = self.query_one(OptionList).highlighted
        return None if i is None else self.pivots[i]

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        pivot = self.pivots[event.option_index]
        if pivot is not None:
            self.dismiss(pivot[0])

    def action_narrow(self) -> None:
        pivot = self._picked()
        if pivot is not None:
            self.dismiss(pivot[1])

    def action_dismiss_none(self) -> None:
        self.dismiss(None)
