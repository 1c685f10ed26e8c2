"""Reading one CloudTrail value: as the text an index holds, as a time, as a JSON type.

The indexed fields themselves are derived by the code tui/core/derive.py generates
from the table in tui/core/fields.py.
"""

from __future__ import annotations

from datetime import UTC, datetime

import orjson

# Sorts before every real time; shown as "?" and excluded by since:/until:.
NO_TIME = -(2**62)


def text(v: object) -> str:
    """A field value as the str the index holds: '' for missing/null, JSON for containers."""
    if v is None:
        return ""
    if v.__class__ is str:
        return v
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, (int, float)):
        return repr(v) if isinstance(v, float) else str(v)
    try:
        return orjson.dumps(v, option=orjson.OPT_NON_STR_KEYS).decode()
    except (TypeError, orjson.JSONEncodeError):
        return str(v)


_day_cache: dict[str, int] = {}


def parse_time_ms(v: object) -> int:
    """eventTime -> milliseconds since the epoch (UTC), or NO_TIME.

    Fast path for CloudTrail's own form `YYYY-MM-DDTHH:MM:SSZ` (optionally with
    fractional seconds); anything else goes through `datetime.fromisoformat`, which also
    takes lookup-events' `2022-02-08 09:23:37+11:00`. A time without zone counts as UTC.
    """
    if v.__class__ is not str:
        return NO_TIME
    s: str = v
    if len(s) == 20 and s[19] == "Z" and s[10] == "T" and s[13] == ":" and s[16] == ":":
        day = _day_cache.get(s[:10])
        if day is None:
            day = _parse_day(s[:10])
            if day is not None and len(_day_cache) < 100_000:
                _day_cache[s[:10]] = day
        if day is not None:
            hh, mm, ss = s[11:13], s[14:16], s[17:19]
            if hh.isdigit() and mm.isdigit() and ss.isdigit():
                h, m, sec = int(hh), int(mm), int(ss)
                if h < 24 and m < 60 and sec < 61:
                    return day + (h * 3600 + m * 60 + sec) * 1000
    return _parse_time_slow(s)


def _parse_day(s: str) -> int | None:
    try:
        d = datetime.strptime(s, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        return None
    return int(d.timestamp()) * 1000


def _parse_time_slow(s: str) -> int:
    s = s.strip()
    if not s or len(s) > 64:
        return NO_TIME
    try:
        d = datetime.fromisoformat(s)
    except ValueError:
        return NO_TIME
    if d.tzinfo is None:
        d = d.replace(tzinfo=UTC)
    try:
        return round(d.timestamp() * 1000)
    except (OverflowError, OSError, ValueError):
        return NO_TIME


def format_time(ms: int) -> str:
    """ISO-8601 UTC with a Z, second precision unless there are milliseconds."""
    if ms == NO_TIME:
        return "?"
    try:
        d = datetime.fromtimestamp(ms / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return "?"
    if ms % 1000:
        return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"
    return d.strftime("%Y-%m-%dT%H:%M:%SZ")


# ------------------------------------------------------------------ record shape
# The pieces of the malformed-record rules (fields.SHAPES, derive.shape_problems).
# readOnly as the string "true"/"false" (any case) is accepted: a real trail
# re-encoded by a log pipeline writes it so, and the value reads the same.


def json_type(v: object) -> str:
    """The JSON name of a parsed value's type."""
    if v is None:
        return "null"
    if v is True or v is False:
        return "boolean"
    if isinstance(v, str):
        return "a string"
    if isinstance(v, (int, float)):
        return "a number"
    if isinstance(v, list):
        return "an array"
    if isinstance(v, dict):
        return "an object"
    return type(v).__name__


def version_ok(v: object) -> bool:
    """eventVersion as CloudTrail writes it: `1.<digits>` (every version so far)."""
    return (
        v.__class__ is str and v[:2] == "1." and len(v) > 2 and v[2:].isascii() and v[2:].isdigit()
    )


def readonly_ok(v: object) -> bool:
    """readOnly as CloudTrail writes it (a boolean), or re-encoded as "true"/"false"."""
    if v is None or v is True or v is False:
        return True
    return v.__class__ is str and v.isascii() and v.lower() in ("true", "false")
