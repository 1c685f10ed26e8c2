"""Parse a time typed by a user (jump-to-time): ISO at any precision, or relative."""

from __future__ import annotations

import re
from datetime import UTC, datetime

_REL = re.compile(r"^-(\d+)([smhdw])$")
_UNIT_MS = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}


def parse_jump_time(text: str, newest_ms: int | None) -> int | None:
    """ms since epoch, or None. `-2h` counts back from the newest event."""
    t = text.strip()
    m = _REL.match(t)
    if m:
        if newest_ms is None:
            return None
        return newest_ms - int(m.group(1)) * _UNIT_MS[m.group(2)]
    t = t.replace(" ", "T", 1) if len(t) > 10 else t
    if t.endswith(("Z", "z")):
        t = t[:-1] + "+00:00"
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}", t):
        t += ":00"
    try:
        d = datetime.fromisoformat(t)
    except ValueError:
        return None
    if d.tzinfo is None:
        d = d.replace(tzinfo=UTC)
    return round(d.timestamp() * 1000)
