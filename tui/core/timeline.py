"""Event-time histograms for the timeline pane and `since:`/`until:` pivots.

Pure numpy (no textual/rich). Times are int64 milliseconds since the epoch, UTC. Bucket
edges are multiples of the bucket size since the epoch, so buckets of a day or a divisor
of a day start on UTC midnight / whole hours, and the same instant always lands in the same
bucket whatever range is shown (panning does not shift counts between bars).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from .normalize import NO_TIME

__all__ = [
    "NICE_STEPS_MS",
    "Histogram",
    "OrderedTimes",
    "axis_labels",
    "choose_bucket",
    "format_bucket_ms",
    "histogram",
    "sparkline_levels",
    "zoom",
]

_S = 1000
_M = 60 * _S
_H = 60 * _M
_D = 24 * _H

NICE_STEPS_MS: tuple[int, ...] = (
    _S, 2 * _S, 5 * _S, 10 * _S, 15 * _S, 30 * _S,
    _M, 2 * _M, 5 * _M, 10 * _M, 15 * _M, 30 * _M,
    _H, 2 * _H, 3 * _H, 6 * _H, 12 * _H,
    _D, 2 * _D, 7 * _D, 14 * _D, 30 * _D, 90 * _D, 365 * _D,
)  # fmt: skip

# Narrowest range zoom() will produce: one smallest bucket; finer shows nothing new.
MIN_ZOOM_MS = NICE_STEPS_MS[0]


def choose_bucket(span_ms: int, max_buckets: int) -> int:
    """Smallest nice step that splits `span_ms` into at most `max_buckets` buckets.

    Spans too long for 365 days use whole multiples of 365 days.
    """
    max_buckets = max(1, max_buckets)
    span_ms = max(0, span_ms)
    for step in NICE_STEPS_MS:
        if -(-span_ms // step) <= max_buckets:
            return step
    year = NICE_STEPS_MS[-1]
    years = -(-span_ms // (year * max_buckets))
    return year * max(1, years)


def _aligned_count(lo: int, hi: int, step: int) -> tuple[int, int]:
    start = (lo // step) * step
    return start, max(1, -(-(hi - start) // step))


@dataclass(frozen=True, eq=False)  # eq would compare arrays element-wise; identity is enough
class Histogram:
    start_ms: int
    bucket_ms: int
    counts: np.ndarray  # int64 per bucket
    errors: np.ndarray  # int64 per bucket: events with an error

    @property
    def n(self) -> int:
        return len(self.counts)

    @property
    def end_ms(self) -> int:
        """Exclusive end of the last bucket."""
        return self.start_ms + self.n * self.bucket_ms

    def bucket_of(self, t_ms: int) -> int | None:
        """Index of the bucket holding `t_ms`, or None outside the histogram."""
        if t_ms < self.start_ms or t_ms >= self.end_ms:
            return None
        return (t_ms - self.start_ms) // self.bucket_ms

    def bucket_range(self, i: int) -> tuple[int, int]:
        """[lo, hi) in ms of bucket `i` (negative indexes count from the end)."""
        n = self.n
        if not -n <= i < n:
            raise IndexError(f"bucket {i} out of range for {n} buckets")
        if i < 0:
            i += n
        lo = self.start_ms + i * self.bucket_ms
        return lo, lo + self.bucket_ms


class OrderedTimes:
    """The ascending times `col[sel]` (`col` ascending, `sel` ascending positions in
    it), read through `sel` instead of taken whole: what the timeline asks of a view's
    sorted times is binary searches (bucket edges, ranges) and a few values near its
    ends. `histogram(presorted=True)` and the timeline take it for an int64 array;
    `np.asarray` takes every time."""

    __slots__ = ("col", "sel")

    def __init__(self, col: np.ndarray, sel: np.ndarray) -> None:
        self.col, self.sel = col, sel

    def __len__(self) -> int:
        return len(self.sel)

    @property
    def size(self) -> int:
        return len(self.sel)

    @property
    def shape(self) -> tuple[int]:
        return (len(self.sel),)

    def searchsorted(self, v, side: str = "left", sorter=None) -> Any:
        """`np.searchsorted(col[sel], v, side)`: where `v` falls in `col`, then where
        that position falls among `sel` (`col[p] < x` exactly when p is before x's
        place in `col`, and both ascend)."""
        return np.searchsorted(self.sel, np.searchsorted(self.col, v, side))  # type: ignore[call-overload]

    def __getitem__(self, i) -> Any:
        if isinstance(i, slice):
            if i.step not in (None, 1):
                raise IndexError("OrderedTimes: only contiguous slices")
            return OrderedTimes(self.col, self.sel[i])
        return self.col[self.sel[i]]

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        got = self.col[self.sel]
        return got if dtype is None else got.astype(dtype, copy=False)


def _readonly(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


def histogram(
    times_ms: np.ndarray | OrderedTimes,
    error_mask: np.ndarray | None,
    max_buckets: int,
    lo_ms: int | None = None,
    hi_ms: int | None = None,
    bucket_ms: int | None = None,
    *,
    presorted: bool = False,
) -> Histogram:
    """Count events per bucket for the aligned buckets covering [lo_ms, hi_ms).

    `times_ms` may be unsorted; NO_TIME entries and times outside those buckets are
    ignored. Buckets are counted whole, so the first/last bar may include events just
    outside [lo_ms, hi_ms) but inside its own bucket_range().
    `lo_ms`/`hi_ms` default to the earliest/latest valid time (the latest is included).
    Without `bucket_ms` the smallest nice step giving at most `max_buckets` aligned
    buckets is used; an explicit `bucket_ms` is used as given (e.g. to keep bar width
    steady while panning). `error_mask` is a bool array parallel to `times_ms`.
    """
    # Sorted times read through a view's positions are binary-searched, not taken.
    ordered = isinstance(times_ms, OrderedTimes) and presorted
    times: Any = times_ms if ordered else np.asarray(times_ms, np.int64)
    errs = None if error_mask is None else np.asarray(error_mask, dtype=bool)
    if errs is not None and errs.shape != times.shape:
        raise ValueError("error_mask must have the same shape as times_ms")
    if bucket_ms is not None and bucket_ms <= 0:
        raise ValueError("bucket_ms must be positive")

    if lo_ms is None or hi_ms is None:
        valid: Any = times
        if presorted:
            valid = times[int(np.searchsorted(times, NO_TIME, side="right")) :]
        # Only pay for a mask when NO_TIME is actually present (it sorts below all times).
        elif times.size and times.min() == NO_TIME:
            valid = times[times != NO_TIME]
        if valid.size:
            if lo_ms is None:
                lo_ms = int(valid[0] if presorted else valid.min())
            if hi_ms is None:
                hi_ms = int(valid[-1] if presorted else valid.max()) + 1
        elif hi_ms is not None:
            lo_ms = hi_ms - 1
        elif lo_ms is not None:
            hi_ms = lo_ms + 1
        else:
            empty = _readonly(np.zeros(0, dtype=np.int64))
            return Histogram(0, bucket_ms or NICE_STEPS_MS[0], empty, empty)
    lo, hi = int(lo_ms), int(hi_ms)
    if hi <= lo:
        hi = lo + 1

    if bucket_ms is not None:
        step = int(bucket_ms)
        start, n = _aligned_count(lo, hi, step)
    else:
        step = choose_bucket(hi - lo, max_buckets)
        start, n = _aligned_count(lo, hi, step)
        # Alignment can add one bucket beyond the span estimate; step up until it fits.
        while n > max(1, max_buckets):
            bigger = [s for s in NICE_STEPS_MS if s > step]
            step = bigger[0] if bigger else step + NICE_STEPS_MS[-1]
            start, n = _aligned_count(lo, hi, step)

    if presorted:
        edges = start + step * np.arange(n + 1, dtype=np.int64)
        pos = np.searchsorted(times, edges)
        counts = np.diff(pos).astype(np.int64)
        if errs is not None:
            # Per bucket, its slice of the flags (no copy of times[errs]: at 10M events
            # that selection cost more than the rest of the histogram).
            ends = pos.tolist()
            spans = zip(ends, ends[1:], strict=False)
            errors = np.array([np.count_nonzero(errs[a:b]) for a, b in spans], np.int64).reshape(n)
        else:
            errors = np.zeros(n, dtype=np.int64)
        return Histogram(start, step, _readonly(counts), _readonly(errors))

    # Whole buckets are counted, so a bar always equals the events in its bucket_range()
    # (what a since:/until: pivot on that bar will show). Out-of-range times (NO_TIME
    # included) are clipped into two overflow slots that are dropped, which avoids a
    # boolean-mask copy of the whole column.
    idx = times - start
    idx //= step
    np.clip(idx, -1, n, out=idx)
    idx += 1
    counts = np.bincount(idx, minlength=n + 2)[1 : n + 1].astype(np.int64)
    if errs is not None:
        errors = np.bincount(idx[errs], minlength=n + 2)[1 : n + 1].astype(np.int64)
    else:
        errors = np.zeros(n, dtype=np.int64)
    return Histogram(start, step, _readonly(counts), _readonly(errors))


def zoom(h_lo: int, h_hi: int, center_ms: int, factor: float) -> tuple[int, int]:
    """New [lo, hi) scaled by `factor` around `center_ms` (0.5 zooms in, 2 zooms out).

    The center keeps its relative position in the view, so the time under the cursor
    stays under the cursor. The result is never narrower than one second.
    """
    if factor <= 0:
        raise ValueError("factor must be positive")
    if h_hi <= h_lo:
        h_hi = h_lo + 1
    center = min(max(center_ms, h_lo), h_hi)
    width = max(MIN_ZOOM_MS, round((h_hi - h_lo) * factor))
    frac = (center - h_lo) / (h_hi - h_lo)
    lo = center - round(width * frac)
    return lo, lo + width


def format_bucket_ms(ms: int) -> str:
    """Bucket size in the largest unit that divides it: "1s", "5m", "1h", "1d", "7d"."""
    for unit, suffix in ((_D, "d"), (_H, "h"), (_M, "m"), (_S, "s")):
        if ms >= unit and ms % unit == 0:
            return f"{ms // unit}{suffix}"
    return f"{ms}ms"


def _utc(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def _formats(tick_ms: int) -> tuple[str, str]:
    """(usual, with-date) strftime formats for labels `tick_ms` apart."""
    if tick_ms >= 30 * _D:
        return "%Y-%m-%d", "%Y-%m-%d"
    if tick_ms >= _D:
        return "%m-%d", "%m-%d"
    if tick_ms >= _M:
        return "%H:%M", "%m-%d %H:%M"
    return "%H:%M:%S", "%m-%d %H:%M:%S"


def axis_labels(start_ms: int, bucket_ms: int, n: int, width: int) -> list[tuple[int, str]]:
    """(column, label) pairs for an axis `width` columns wide under `n` buckets.

    Ticks fall on round UTC times that are whole buckets apart; each label starts at the
    column of its bucket. The first label, and any label on a new day, carries the date
    ("11-20 10:05") for sub-day ticks. Labels never overlap (at least one space apart)
    and never run past `width`.
    """
    if n <= 0 or width <= 0 or bucket_ms <= 0:
        return []
    cols_per_bucket = width / n
    # Tick candidates: nice steps that are whole multiples of the bucket, then multiples.
    candidates = [s for s in NICE_STEPS_MS if s >= bucket_ms and s % bucket_ms == 0]
    top = candidates[-1] if candidates else bucket_ms
    candidates += [top * k for k in (2, 5, 10, 20, 50, 100)]
    tick = candidates[-1]
    for step in candidates:
        usual, _ = _formats(step)
        need = len(_utc(start_ms).strftime(usual)) + 1
        if (step // bucket_ms) * cols_per_bucket >= need:
            tick = step
            break
    usual, dated = _formats(tick)
    end = start_ms + n * bucket_ms
    t = -(-start_ms // tick) * tick
    out: list[tuple[int, str]] = []
    next_free = 0  # first column a new label may start at
    last_day: tuple[int, int, int] | None = None
    while t < end:
        dt = _utc(t)
        day = (dt.year, dt.month, dt.day)
        text = dt.strftime(dated if last_day != day else usual)
        col = int(((t - start_ms) // bucket_ms) * cols_per_bucket)
        if col >= next_free and col + len(text) <= width:
            out.append((col, text))
            next_free = col + len(text) + 1
            last_day = day
        t += tick
    return out


def sparkline_levels(counts: np.ndarray, levels: int = 8) -> np.ndarray:
    """Bar height 0..levels per bucket, scaled to the maximum; only empty buckets get 0."""
    c = np.clip(np.asarray(counts, dtype=np.int64), 0, None)
    if c.size == 0:
        return np.zeros(0, dtype=np.int64)
    top = int(c.max())
    if top == 0 or levels <= 0:
        return np.zeros(c.shape, dtype=np.int64)
    # Ceiling division: any non-zero count reaches at least level 1, the max reaches `levels`.
    return (c * levels + top - 1) // top
