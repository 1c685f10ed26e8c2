"""Aggregate rules over the events a rule's filter selected, vectorised with numpy.

Each function takes parallel arrays of those events, in time order -- store rows,
times (ms), the code of the grouping field and (where values count) of the counted
field -- and returns the rows it flags, sorted. Events without a time are left out.

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

__all__ = ["distinct", "first_seen", "group_first_times", "lower_first_times", "threshold"]

_NONE = np.empty(0, np.int64)
_TIME_BITS = 44  # ms since 1970 fit in 44 bits to the year 2527


def _timed(rows, times, *cols):
    keep = times != NO_TIME
    if keep.all():
        return (rows, times, *cols)
    return (rows[keep], times[keep], *(c[keep] for c in cols))


def threshold(
    rows: np.ndarray, times: np.ndarray, groups: np.ndarray, count: int, window_ms: int
) -> np.ndarray:
    rows, times, groups = _timed(rows, times, groups)
    if len(rows) < count:
        return _NONE
    o = np.argsort(groups, kind="stable")  # (group, time) order
    # Times shifted to start one window above 0, so that key - window stays in the group.
    g, t = groups[o].astype(np.int64), times[o] - times.min() + window_ms
    key = (g << _TIME_BITS) | t
    # First event of the same group no earlier than t - window.
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


def _pair_keys(groups: np.ndarray, values: np.ndarray) -> np.ndarray:
    span = int(values.max()) + 1 if len(values) else 1
    return groups.astype(np.int64) * span + values.astype(np.int64)


def distinct(
    rows: np.ndarray,
    times: np.ndarray,
    groups: np.ndarray,
    values: np.ndarray,
    count: int,
    window_ms: int,
) -> np.ndarray:
    rows, times, groups, values = _timed(rows, times, groups, values)
    if len(rows) < count:
        return _NONE
    vspan = int(values.max()) + 1
    out = []
    for phase in (0, window_ms // 2):
        bucket = (times + phase) // window_ms
        bucket -= bucket.min()
        bspan = int(bucket.max()) + 1
        # (group, bucket, value) in one integer; its first index is the first event of
        # that value in that window (np.unique sorts stably, and the input is in time
        # order).
        gb = groups.astype(np.int64) * bspan + bucket
        key = gb * vspan + values.astype(np.int64)
        _, first = np.unique(key, return_index=True)
        _, inverse, sizes = np.unique(gb[first], return_inverse=True, return_counts=True)
        out.append(rows[first[sizes[inverse] >= count]])
    both = np.concatenate(out)
    both.sort(kind="stable")
    keep = np.ones(len(both), bool)
    keep[1:] = both[1:] != both[:-1]
    return both[keep]


def first_seen(
    rows: np.ndarray,
    times: np.ndarray,
    groups: np.ndarray,
    values: np.ndarray,
    after_ms: int,
    group_first: np.ndarray | None = None,
) -> np.ndarray:
    """`group_first`: each group's first time, by group code, when `rows` hold only
    some of its events (a live update); else taken from `rows`."""
    rows, times, groups, values = _timed(rows, times, groups, values)
    if not len(rows):
        return _NONE
    _, first = np.unique(_pair_keys(groups, values), return_index=True)  # first event of each pair
    if group_first is None:
        gcodes, gfirst = np.unique(groups, return_index=True)  # first event of each group
        start = times[gfirst][np.searchsorted(gcodes, groups[first])]
    else:
        start = group_first[groups[first]]
    since = times[first] - start
    return np.sort(rows[first[since >= after_ms]])


def group_first_times(
    times: np.ndarray, groups: np.ndarray, size: int, into: np.ndarray | None = None
) -> np.ndarray:
    """Each group's first time by group code (`size` codes), lowered by these events
    when `into` holds earlier ones; groups without a timed event hold the maximum."""
    out = np.full(size, np.iinfo(np.int64).max, np.int64)
    if into is not None:
        out[: len(into)] = into
    lower_first_times(out, times, groups)
    return out


def lower_first_times(first: np.ndarray, times: np.ndarray, groups: np.ndarray) -> None:
    """Lower `first` (each group's first time, by group code) in place by these events'
    times (events without a time left out): a run over events in parts, one at a time,
    ends where one run over all of them does."""
    keep = times != NO_TIME
    np.minimum.at(first, groups[keep], times[keep])
