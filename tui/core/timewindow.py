"""Time windows around an event, as filter text: what the explorer's window keys write
into the filter bar.

`window_filter` replaces the time terms of a filter's top-level AND group (`since:`,
`until:`, `last:`; negated ones are logic and stay) with a window of ±`half_ms`
around an event; `step_window` widens or narrows the window a filter already holds
along WINDOW_STEPS_MS; `actor_window_filter` is "the same principal (or IP, or key)
in that window". A window is written at second precision (CloudTrail times are whole
seconds): `since:` the second `center - half`, `until:` the second `center + half`,
both included.
"""

from __future__ import annotations

from dataclasses import dataclass

from .normalize import NO_TIME
from .query import Last, Or, Time, add_term, conjuncts, parse, term_for, time_range_term

__all__ = [
    "ACTOR_FIELDS",
    "DEFAULT_HALF_MS",
    "WINDOW_STEPS_MS",
    "Window",
    "actor_window_filter",
    "step_window",
    "strip_time_terms",
    "window_filter",
    "window_of",
]

_MIN = 60_000
_HOUR = 60 * _MIN
_DAY = 24 * _HOUR
DEFAULT_HALF_MS = 10 * _MIN
# Half-widths a window widens and narrows through (± each).
WINDOW_STEPS_MS: tuple[int, ...] = (
    _MIN,
    2 * _MIN,
    5 * _MIN,
    10 * _MIN,
    30 * _MIN,
    _HOUR,
    2 * _HOUR,
    6 * _HOUR,
    12 * _HOUR,
    _DAY,
    3 * _DAY,
    7 * _DAY,
)
# The fields "the same actor in that window" offers, in the order a key cycles them.
ACTOR_FIELDS: tuple[str, ...] = ("principal", "ip", "key")


@dataclass(frozen=True, slots=True)
class Window:
    """± `half_ms` around `center_ms` (ms since the epoch, UTC)."""

    center_ms: int
    half_ms: int = DEFAULT_HALF_MS

    def bounds(self) -> tuple[int, int]:
        """[lo, hi) in ms: whole seconds, `center ± half` included."""
        lo = (self.center_ms - self.half_ms) // 1000 * 1000
        hi = (self.center_ms + self.half_ms) // 1000 * 1000 + 1000
        return lo, hi

    def term(self) -> str:
        """`since:… until:…` selecting the window."""
        return time_range_term(*self.bounds())

    def wider(self) -> Window:
        bigger = [s for s in WINDOW_STEPS_MS if s > self.half_ms]
        return Window(self.center_ms, bigger[0] if bigger else self.half_ms)

    def narrower(self) -> Window:
        smaller = [s for s in WINDOW_STEPS_MS if s < self.half_ms]
        return Window(self.center_ms, smaller[-1] if smaller else self.half_ms)


def _is_time_term(node) -> bool:
    return isinstance(node, (Time, Last))


def strip_time_terms(filter_text: str) -> str:
    """`filter_text` without the time terms of its top-level AND group (`since:`,
    `until:`, `last:`), the other terms as written. Raises QueryError."""
    parts = conjuncts(filter_text)
    if parts is None:  # an OR at the top: its time terms are part of its logic
        return filter_text.strip()
    return " ".join(filter_text[a:b] for node, a, b in parts if not _is_time_term(node))


def window_filter(filter_text: str, center_ms: int, half_ms: int = DEFAULT_HALF_MS) -> str:
    """`filter_text` narrowed to ± `half_ms` around `center_ms`, replacing its top-level
    time terms. Raises QueryError when the filter does not parse, ValueError when the
    center is not a usable time (an event without one: `normalize.NO_TIME`)."""
    if center_ms <= NO_TIME or half_ms <= 0:
        raise ValueError("a window needs an event with a usable time")
    base = strip_time_terms(filter_text)
    term = Window(center_ms, half_ms).term()
    if not base:
        return term
    if isinstance(parse(base).root, Or):
        base = f"({base})"  # the window applies to every branch
    return f"{base} {term}"


def window_of(filter_text: str) -> Window | None:
    """The window a filter's top-level `since:`/`until:` pair (absolute times) holds, or
    None. Raises QueryError."""
    parts = conjuncts(filter_text)
    if not parts:
        return None
    lo = hi = None
    for node, _, _ in parts:
        if isinstance(node, Time) and node.anchor == "abs":
            if node.bound == "since":
                lo = node.ms if lo is None else max(lo, node.ms)
            else:
                hi = node.ms if hi is None else min(hi, node.ms)
    if lo is None or hi is None or hi <= lo:
        return None
    # `until:` names its last second: the window's last included second is hi - 1000.
    last = max(lo, hi - 1000)
    return Window((lo + last) // 2, (last - lo) // 2)


def step_window(filter_text: str, wider: bool, center_ms: int | None = None) -> str | None:
    """The filter with its window one step wider (or narrower). Without a window in
    the filter, a default window around `center_ms` (None: nothing to do, None is
    returned). Raises QueryError."""
    win = window_of(filter_text)
    if win is None:
        if center_ms is None:
            return None
        win = Window(center_ms)
    else:
        win = win.wider() if wider else win.narrower()
    return window_filter(filter_text, win.center_ms, win.half_ms)


def actor_window_filter(
    field: str, value: str, center_ms: int, half_ms: int = DEFAULT_HALF_MS, base: str = ""
) -> str:
    """`field:value` (an ACTOR_FIELDS field, or any field) within ± `half_ms` of
    `center_ms`: what else that principal (IP, key) did around an event. `base`: a
    filter to narrow instead of starting afresh (its time terms are replaced)."""
    rest = strip_time_terms(base) if base.strip() else ""
    narrowed = add_term(rest, field, value) if rest else term_for(field, value)
    return window_filter(narrowed, center_ms, half_ms)
