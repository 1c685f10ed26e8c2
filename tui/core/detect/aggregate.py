"""Aggregate rules over the events a rule's filter selected, vectorised with numpy.

Each function takes parallel arrays of those events -- store rows, times (ms), the code
of the grouping field and (where it counts values) of the counted field -- in any
order, and returns the rows it flags, sorted. Events without a time are left out.

- `threshold`: at least `count` events of one group within `window` (a sliding
  window ending at each event); every event of such a window is flagged.
- `distinct`: at least `count` distinct values of one group within a window. Windows
  are fixed, `window` long, starting at every multiple of half a window (so any burst
  that fits in half a window lies wholly inside one, and no flagged burst spans more
  than a window); in each such window the first event of each value is flagged.
- `first_seen`: the first event of each (group, value) pair, when the group's first
  event is at least `after` earlier.
"""

from __future__ import annotations

import numpy as np

from ..normalize import NO_TIME

__all__ = ["distinct", "first_seen", "threshold"]

_NONE = np.empty(0, np.int64)
_TIME_BITS = 44  # ms since 1970 fit in 44 bits to the year 2527


def _timed(rows, times, *cols):
    keep = times != NO_TIME
    if keep.all():
        return (rows, times, *cols)
    return (rows[keep], times[keep], *(c[keep] for c in cols))


def _by_group_time(rows, times, groups):
    """Order by (group, time, row)."""
    return np.lexsort((rows, times, groups))


def threshold(rows: np.ndarray, times: np.ndarray, groups: np.ndarray, count: int,
              window_ms: int) -> np.ndarray:
    rows, times, groups = _timed(rows, times, groups)
    if len(rows) < count:
        return _NONE
    o = _by_group_time(rows, times, groups)
    g, t = groups[o].astype(np.int64), np.clip(times[o], window_ms, None)
    key = (g << _TIME_BITS) | t
    # First event of the same group no earlier than t - window (key - window stays in
    # the group: times are clipped to at least one window).
    start = np.searchsorted(key, key - window_ms, side="left")
    idx = np.arange(len(key))
    full = (idx - start + 1) >= count
    if not full.any():
        return _NONE
    # Every event of a full window [start, idx]: +1 at each start, -1 past each end.
    diff = np.zeros(len(key) + 1, np.int64)
    np.add.at(diff, start[full], 1)
    np.add.at(diff, idx[full] + 1, -1)
    covered = np.cumsum(diff[:-1]) > 0
    return np.sort(rows[o][covered])


def distinct(rows: np.ndarray, times: np.ndarray, groups: np.ndarray, values: np.ndarray,
             count: int, window_ms: int) -> np.ndarray:
    rows, times, groups, values = _timed(rows, times, groups, values)
    if len(rows) < count:
        return _NONE
    half = window_ms // 2
    out = []
    for phase in (0, half):
        bucket = (times + phase) // window_ms
        # First event of each (group, bucket, value), in time order.
        o = np.lexsort((rows, times, values, bucket, groups))
        g, b, v = groups[o], bucket[o], values[o]
        first = np.ones(len(o), bool)
        first[1:] = (g[1:] != g[:-1]) | (b[1:] != b[:-1]) | (v[1:] != v[:-1])
        fo = o[first]
        fg, fb = groups[fo], bucket[fo]
        # Distinct values per (group, bucket): runs of equal (group, bucket) among firsts.
        cut = np.ones(len(fo), bool)
        cut[1:] = (fg[1:] != fg[:-1]) | (fb[1:] != fb[:-1])
        run = np.cumsum(cut) - 1
        sizes = np.bincount(run)
        hit = sizes[run] >= count
        out.append(rows[fo[hit]])
    return np.unique(np.concatenate(out)) if out else _NONE


def first_seen(rows: np.ndarray, times: np.ndarray, groups: np.ndarray, values: np.ndarray,
               after_ms: int) -> np.ndarray:
    rows, times, groups, values = _timed(rows, times, groups, values)
    if not len(rows):
        return _NONE
    o = np.lexsort((rows, times, values, groups))
    g, v = groups[o], values[o]
    first = np.ones(len(o), bool)
    first[1:] = (g[1:] != g[:-1]) | (v[1:] != v[:-1])
    # The group's first time (over all its events).
    og = np.lexsort((times, groups))
    gs = groups[og]
    gfirst = np.ones(len(og), bool)
    gfirst[1:] = gs[1:] != gs[:-1]
    uniq, start_t = gs[gfirst], times[og][gfirst]
    fo = o[first]
    since = times[fo] - start_t[np.searchsorted(uniq, groups[fo])]
    return np.sort(rows[fo[since >= after_ms]])
