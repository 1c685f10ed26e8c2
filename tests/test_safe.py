from __future__ import annotations

import unicodedata

import pytest
from rich.console import Console
from rich.style import Style
from rich.text import Text
from textual.app import App, ComposeResult
from textual.content import Content
from textual.widgets import Label, Static

from widgets.safe import label, safe_content, safe_text

HOSTILE = [
    "[@click=app.quit]quit[/]",
    "[/x]",
    "[bold red]x[/]",
    "[aws-cli/2.15.0 Python/3.11]",
    "\x1b[2J",
    "\x9b31m",
    "\u202eevil",
    "zero\u200bwidth\u200d\ufeff",
    "tab\tnew\nline\rcr\x07bell\x08bs",
    ":smile: emoji code",
    "[link=https://evil.example]x[/link]",
]

_BAD_CATEGORIES = {"Cc", "Cf", "Cs", "Zl", "Zp"}


def _no_controls(s: str) -> bool:
    return all(unicodedata.category(c) not in _BAD_CATEGORIES for c in s)


def _literal_brackets(raw: str, plain: str) -> None:
    # Every bracketed run of the input survives verbatim.
    assert plain.count("[") == raw.count("[")
    assert plain.count("]") == raw.count("]")


@pytest.mark.parametrize("raw", HOSTILE)
def test_safe_text_is_literal(raw: str) -> None:
    t = safe_text(raw, "bold")
    assert isinstance(t, Text)
    assert _no_controls(t.plain)
    _literal_brackets(raw, t.plain)
    if raw.isprintable():
        assert t.plain == raw
    # Rendering through a real console keeps the literal text and emits no stray controls
    # beyond SGR styling.
    console = Console(force_terminal=True, color_system="truecolor", width=200)
    with console.capture() as cap:
        console.print(t)
    out = cap.get()
    assert "\x9b" not in out and "\u202e" not in out and "\x07" not in out
    assert "\x1b[2J" not in out


@pytest.mark.parametrize("raw", HOSTILE)
def test_safe_content_is_literal(raw: str) -> None:
    c = safe_content(raw, "bold")
    assert isinstance(c, Content)
    assert _no_controls(c.plain)
    _literal_brackets(raw, c.plain)
    assert c.plain == safe_text(raw).plain


def test_specific_plains() -> None:
    assert safe_text("[@click=app.quit]quit[/]").plain == "[@click=app.quit]quit[/]"
    assert safe_text("[aws-cli/2.15.0 Python/3.11]").plain == "[aws-cli/2.15.0 Python/3.11]"
    assert safe_text("\x1b[2J").plain == "\\x1b[2J"
    assert safe_text("\x9b31m").plain == "\\x9b31m"
    assert safe_text("\u202eevil").plain == "\\u202eevil"
    assert safe_content("a\u200bb").plain == "a\\u200bb"
    assert safe_text(None).plain == "None"
    assert safe_text(42).plain == "42"


def test_escape_spans_are_styled() -> None:
    t = safe_text("a\x1bb", "green")
    assert t.plain == "a\\x1bb"
    escape_spans = [(s.start, s.end) for s in t.spans if s.style == "reverse"]
    assert escape_spans == [(1, 5)]
    assert any(s.style == "green" and (s.start, s.end) == (0, 6) for s in t.spans)
    # A literal backslash in the data is not styled as an escape.
    t = safe_text("a\\x1bb")
    assert t.plain == "a\\x1bb" and not t.spans
    c = safe_content("a\x1bb", "green")
    assert [(s.start, s.end, s.style) for s in c.spans] == [(0, 6, "green"), (1, 5, "reverse")]
    t = safe_text("x\x1b", Style(bold=True), escape_style="red")
    assert [(s.start, s.end) for s in t.spans if s.style == "red"] == [(1, 5)]


def test_max_len() -> None:
    t = safe_text("abc\x1bdef", max_len=6)
    assert t.plain == "abc…"
    assert not [s for s in t.spans if s.style == "reverse"]
    c = safe_content("x" * 100, max_len=10)
    assert c.plain == "x" * 9 + "…"


def test_label_mixes_trusted_and_untrusted() -> None:
    t = label(("User: ", "bold"), "[bold]mallory\x1b[/]", (" | ", "dim"), safe_text("x", "red"))
    assert t.plain == "User: [bold]mallory\\x1b[/] | x"
    styles = {(s.start, s.end): s.style for s in t.spans}
    assert styles[(0, 6)] == "bold"
    assert "reverse" in styles.values()
    assert "red" in styles.values()
    # A trusted literal is still never parsed as markup.
    assert label(("[b]x[/b]", "")).plain == "[b]x[/b]"


class _Hostile(App[None]):
    def compose(self) -> ComposeResult:
        yield Static(safe_text("[@click=app.quit]quit[/]"), id="static")
        yield Label(safe_content("[@click=app.quit]also[/] \x1b[2J\u202e"), id="label")


async def test_pilot_shows_literal_and_click_does_not_quit() -> None:
    app = _Hostile()
    async with app.run_test(size=(80, 10)) as pilot:
        await pilot.pause()
        svg = app.export_screenshot()
        assert "[@click=app.quit]quit[/]" in svg
        assert "[@click=app.quit]also[/]" in svg
        assert "\x1b[2J" not in svg and "\u202e" not in svg
        static = app.query_one("#static", Static)
        assert str(static.render()) == "[@click=app.quit]quit[/]"
        for offset in ((1, 0), (18, 0)):  # where a parsed link would be; on "quit"
            await pilot.click("#static", offset=offset)
            await pilot.click("#label", offset=offset)
        await pilot.pause()
        assert app.is_running
        assert app.return_code is None


class _Markup(App[None]):
    def compose(self) -> ComposeResult:
        yield Static("[@click=app.quit]quit[/]", id="static")


async def test_pilot_control_markup_str_would_quit() -> None:
    # Shows the test above has teeth: the same string passed as a bare str is parsed
    # as markup, renders without brackets and quits the app when clicked.
    app = _Markup()
    async with app.run_test(size=(80, 10)) as pilot:
        await pilot.pause()
        assert "[@click" not in app.export_screenshot()
        await pilot.click("#static", offset=(1, 0))
        await pilot.pause()
        assert app.return_code == 0 and not app.is_running


def test_is_plain_only_for_printable_ascii_that_sanitising_leaves_alone():
    from widgets.safe import is_plain

    assert is_plain("arn:aws:iam::111122223333:user/[@click=app.quit]")  # markup is text here
    for hostile in ("a\x1b[2Jb", "tab\there", "x\x7f", "rtl\u202eevil", "zero\u200bwidth"):
        assert not is_plain(hostile)
    assert not is_plain("ünïcode")  # may be wide or need escaping: the Text path decides
    assert is_plain("x" * 4096) and not is_plain("x" * 4097)
