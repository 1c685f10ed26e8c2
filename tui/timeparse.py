"""Parse a time typed by a user (jump to time) with the filter language's time forms."""

from __future__ import annotations

import time

from .core.query import QueryError, Time, parse


def parse_jump_time(text: str, newest_ms: int | None, now_ms: int | None = None) -> int | None:
    """ms since epoch for anything `since:` accepts (ISO at any precision, `-2h` before
    the newest event, `now-15m`), or None."""
    text = text.strip()
    if not text:
        return None
    try:
        root = parse(f'since:"{text}"' if " " in text else f"since:{text}").root
    except QueryError:
        return None
    if not isinstance(root, Time):
        return None
    if root.anchor == "abs":
        return root.ms
    if root.anchor == "newest":
        return None if newest_ms is None else newest_ms + root.ms
    return (round(time.time() * 1000) if now_ms is None else now_ms) + root.ms
