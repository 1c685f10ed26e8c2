"""What the timeline pane shows besides the bars, headless: the default range (without
isolated outliers), a zoomed view that fills the pane, the series each display mode plots,
jumps to peaks, and the cursor bucket's readout figures.

Times are int64 milliseconds since the epoch, UTC, sorted ascending where a function
says so (a view's times are). Pure numpy (no textual/rich).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .timeline import NICE_STEPS_MS

if TYPE_CHECKING:
    from .store import Store

__all__ = [
    "MODES",
    "BucketStats",
    "Span",
    "level_heights",
    "core_span",
    "next_at_or_above",
    "series",
    "step_finer",
    "step_coarser",
    "top_value",
    "zoomed_view",
]

# Display modes: events per bucket (errors hang below), error rate, errors stacked on events.
MODES = ("count", "rate", "stack")

# An end group of events is an outlier group when the gap that separates it from the rest
# is at least this many times the rest's own span: the bucket size would otherwise be
# chosen for the gap (sample_logs/: two 2018 events beside a 2026 trail made 90-day bars).
OUTLIER_GAP_FACTOR = 3
MIN_CORE_MS = 60_000  # a trail within one minute still treats hours away as outliers


@dataclass(frozen=True, slots=True)
class Span:
    """[lo, hi) of the times to show by default; `earlier`/`later` events lie outside."""

    lo: int
    hi: int
    earlier: int = 0
    later: int = 0


def _max_outliers(n: int) -> int:
    # "A few" events: never more than 1% of the trail (at least 1, at most 1000).
    return max(1, min(1000, n // 100))


def core_span(times: np.ndarray) -> Span | None:
    """The default range of sorted valid `times`, leaving out a few isolated events at
    either end (each end at most 1% of the events) when the gap to the rest is at least
    OUTLIER_GAP_FACTOR times the rest's span. None for no times."""
    n = int(times.size)
    if n == 0:
        return None
    lo_i, hi_i = 0, n  # the core is times[lo_i:hi_i]
    k = _max_outliers(n)
    if n >= 3:
        for _ in range(2):  # trimming one end shrinks the core: look at the other again
            changed = False
            # Leading group: a cut before index i (1..k) leaves times[i:hi_i].
            head = times[lo_i : lo_i + k + 1]
            if head.size >= 2 and hi_i - lo_i > 2:
                gaps = np.diff(head)
                i = int(np.argmax(gaps))
                cut = lo_i + i + 1
                rest = max(MIN_CORE_MS, int(times[hi_i - 1] - times[cut]))
                if cut < hi_i - 1 and int(gaps[i]) >= OUTLIER_GAP_FACTOR * rest:
                    lo_i, changed = cut, True
            # Trailing group: a cut after index j leaves times[lo_i:j+1].
            tail = times[max(lo_i, hi_i - k - 1) : hi_i]
            if tail.size >= 2 and hi_i - lo_i > 2:
                gaps = np.diff(tail)
                j = int(np.argmax(gaps[::-1]))  # the gap nearest the end on ties
                cut = hi_i - 1 - j  # first index of the trailing group
                rest = max(MIN_CORE_MS, int(times[cut - 1] - times[lo_i]))
                if cut - 1 > lo_i and int(gaps[gaps.size - 1 - j]) >= OUTLIER_GAP_FACTOR * rest:
                    hi_i, changed = cut, True
            if not changed:
                break
    return Span(int(times[lo_i]), int(times[hi_i - 1]) + 1, lo_i, n - hi_i)


def step_finer(bucket_ms: int) -> int | None:
    """The next smaller nice bucket size, or None at the smallest."""
    smaller = [s for s in NICE_STEPS_MS if s < bucket_ms]
    return smaller[-1] if smaller else None


def step_coarser(bucket_ms: int) -> int:
    """The next larger nice bucket size (whole years past the largest)."""
    bigger = [s for s in NICE_STEPS_MS if s > bucket_ms]
    return bigger[0] if bigger else bucket_ms + NICE_STEPS_MS[-1]


def zoomed_view(
    center_ms: int, bucket_ms: int, columns: int, bounds: tuple[int, int]
) -> tuple[int, int]:
    """[lo, hi) of exactly `columns` aligned buckets of `bucket_ms`, with `center_ms` in
    the middle column, shifted (keeping its size) to stay inside `bounds` [lo, hi) where
    the data allows, so the bars fill the pane up to the edge of the data."""
    columns = max(1, columns)
    width = columns * bucket_ms
    lo = (center_ms // bucket_ms - columns // 2) * bucket_ms
    first = (bounds[0] // bucket_ms) * bucket_ms
    last = -(-bounds[1] // bucket_ms) * bucket_ms  # end of the last data bucket
    if lo + width > last:
        lo = last - width
    lo = max(lo, first)
    return lo, lo + width


def series(mode: str, counts: np.ndarray, errors: np.ndarray) -> np.ndarray:
    """What `mode` plots per bucket (float64): events, error rate (0..1) or errors."""
    if mode == "rate":
        c = counts.astype(np.float64)
        out = np.zeros(c.shape, dtype=np.float64)
        np.divide(errors, c, out=out, where=c > 0)
        return out
    if mode == "stack":
        return errors.astype(np.float64)
    return counts.astype(np.float64)


def level_heights(values: np.ndarray, levels: int, top: float | None = None) -> np.ndarray:
    """Bar height 0..levels per value, `top` (default: the maximum) at full height; any
    value above zero gets at least 1, zero or less gets 0."""
    v = np.asarray(values, dtype=np.float64)
    if top is None:
        top = float(v.max()) if v.size else 0.0
    if top <= 0 or levels <= 0:
        return np.zeros(v.shape, dtype=np.int64)
    h = np.ceil(np.clip(v, 0, None) / top * levels)
    return np.clip(h, 0, levels).astype(np.int64)


def next_at_or_above(values: np.ndarray, start: int, threshold: float, step: int) -> int | None:
    """First index from `start` going by `step` (+1 or -1), excluding `start`, whose value
    is at least `threshold` (and above zero); None if there is none."""
    if step > 0:
        idx = np.flatnonzero(values[start + 1 :] >= threshold)
        hit = [i + start + 1 for i in idx.tolist() if values[i + start + 1] > 0][:1]
    else:
        idx = np.flatnonzero(values[: max(0, start)] >= threshold)
        hit = [i for i in idx.tolist()[::-1] if values[i] > 0][:1]
    return hit[0] if hit else None


@dataclass(frozen=True, slots=True)
class BucketStats:
    lo: int
    hi: int
    events: int
    errors: int

    @property
    def rate(self) -> float:
        return self.errors / self.events if self.events else 0.0


def top_value(
    store: Store, field: str, rows: np.ndarray, times: np.ndarray, lo: int, hi: int
) -> tuple[str, int] | None:
    """The most frequent value of `field` (ties: the lowest code) among `rows` whose
    sorted `times` fall in [lo, hi), with its count; None when none are there."""
    a, b = (int(x) for x in np.searchsorted(times, [lo, hi]))
    if b <= a:
        return None
    codes = store.codes(field)[rows[a:b]]
    counts = np.bincount(codes)
    code = int(np.argmax(counts))
    return store.values(field)[code], int(counts[code])
