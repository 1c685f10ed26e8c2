"""The one place where a log string becomes something a widget renders.

Textual parses ``[...]`` in any ``str`` handed to Static, Label, DataTable, Tree, notify
or border titles: attacker-chosen CloudTrail text could then crash rendering (``[/x]``),
bind a click to an action (``[@click=app.quit]``) or vanish (a user agent such as
``[aws-cli/2.15.0 Python/3.11]`` is parsed as a style). Textual also passes control
bytes straight to the terminal. So every displayed value goes through
`tui.core.sanitize.clean` and into widgets as a rich `Text` or textual `Content` built
piece by piece -- never via ``from_markup`` and never as a bare ``str``.
"""

from __future__ import annotations

from typing import TypeVar

from rich.style import Style
from rich.text import Span as TextSpan
from rich.text import Text
from textual.content import Content
from textual.content import Span as ContentSpan

from tui.core.sanitize import clean_segments, is_clean

S = TypeVar("S")  # a span's style: Rich's Text and Textual's Content each take their own

__all__ = ["is_plain", "label", "markup_literal", "safe_content", "safe_text"]

ESCAPE_STYLE = "reverse"


def markup_literal(value: object) -> str:
    """`value` sanitised, for the few Textual APIs that only take a markup string (the
    command palette's titles and help): every ``[`` escaped, so ``from_markup`` gives
    back the exact text and never a style or an action."""
    from tui.core.sanitize import clean

    return clean(_as_str(value)).replace("[", "\\[")


def is_plain(value: str, limit: int = 4096) -> bool:
    """True for printable ASCII of at most `limit` characters: sanitising would leave it
    unchanged and each character is one cell, so a renderer may fit it as a plain
    string instead of building a `safe_text` (several times cheaper per value)."""
    return len(value) <= limit and value.isascii() and is_clean(value)


def _as_str(value: object) -> str:
    return value if isinstance(value, str) else str(value)


def _pieces(
    value: object, style: S, max_len: int | None, escape_style: S
) -> tuple[str, list[tuple[int, int, S]]]:
    """The sanitised text and its (start, end, style) spans: the base style over all
    of it, the escape style layered over each escape that sanitising added."""
    segments = clean_segments(_as_str(value), max_len)
    plain = "".join(piece for piece, _ in segments)
    spans: list[tuple[int, int, S]] = []
    if style and plain:
        spans.append((0, len(plain), style))
    pos = 0
    for piece, is_escape in segments:
        if is_escape and escape_style:
            spans.append((pos, pos + len(piece), escape_style))
        pos += len(piece)
    return plain, spans


def safe_text(
    value: object,
    style: str | Style = "",
    *,
    max_len: int | None = None,
    escape_style: str | Style = ESCAPE_STYLE,
) -> Text:
    """`str(value)` sanitised into a Text; escapes added by sanitising get `escape_style`.

    `style` and `escape_style` come from code, never from data. Styles are layered as
    spans (base first, escapes on top) so theme names keep working in either.
    """
    plain, spans = _pieces(value, style, max_len, escape_style)
    # Text(plain) is literal: the constructor never parses markup or emoji codes.
    return Text(plain, spans=[TextSpan(a, b, st) for a, b, st in spans])


def safe_content(
    value: object,
    style: str = "",
    *,
    max_len: int | None = None,
    escape_style: str = ESCAPE_STYLE,
) -> Content:
    """Like `safe_text`, as textual Content (for Label, Static, DataTable cells...)."""
    plain, spans = _pieces(value, style, max_len, escape_style)
    return Content(plain, [ContentSpan(a, b, st) for a, b, st in spans])


def label(*parts: tuple[str, str | Style] | str | Text) -> Text:
    """Join trusted UI text with untrusted values into one Text.

    - ``(text, style)`` tuples are trusted literals from code (styled, not sanitised);
      never put data into them.
    - plain ``str`` parts are UNTRUSTED values and go through `safe_text`.
    - `Text` parts (e.g. from `safe_text` with a custom style) are appended as they are.

    Nothing is parsed as markup either way.
    """
    out = Text()
    for part in parts:
        if isinstance(part, tuple):
            text, style = part
            out.append(Text(text, style=style or ""))
        elif isinstance(part, Text):
            out.append(part)
        else:
            out.append(safe_text(part))
    return out
