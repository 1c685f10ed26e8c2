"""The timeline's headless parts: default range without outliers, zoomed views that fill
the pane, plotted series, threshold jumps, and a bucket's top value (on a real store)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from tui.core.timebuckets import (
    core_span,
    level_heights,
    next_at_or_above,
    series,
    step_coarser,
    step_finer,
    top_value,
    zoomed_view,
)
from tui.core.timeline import NICE_STEPS_MS

ROOT = Path(__file__).resolve().parents[2]
MIN = 60_000
H = 60 * MIN
D = 24 * H
T0 = int(datetime(2026, 11, 18, tzinfo=UTC).timestamp() * 1000)


def minutes(n: int) -> np.ndarray:
    return T0 + np.arange(n, dtype=np.int64) * MIN


def test_no_outliers_keeps_the_whole_span():
    t = minutes(3 * 24 * 60)
    s = core_span(t)
    assert (s.lo, s.hi, s.earlier, s.later) == (int(t[0]), int(t[-1]) + 1, 0, 0)
    assert core_span(np.zeros(0, np.int64)) is None
    one = core_span(np.array([T0]))
    assert (one.lo, one.hi, one.earlier, one.later) == (T0, T0 + 1, 0, 0)


def test_a_few_events_years_away_are_left_out_at_either_end():
    t = minutes(3 * 24 * 60)
    old = np.array([T0 - 8 * 365 * D, T0 - 8 * 365 * D + 5 * MIN])
    future = np.array([T0 + 400 * D])
    s = core_span(np.concatenate([old, t, future]))
    assert (s.lo, s.hi) == (int(t[0]), int(t[-1]) + 1)
    assert (s.earlier, s.later) == (2, 1)


def test_many_events_far_away_are_not_outliers():
    # 2% of the events 200 days before the rest: a real part of the trail, kept.
    t = minutes(4000)
    old = T0 - 200 * D + np.arange(100, dtype=np.int64) * MIN
    s = core_span(np.concatenate([old, t]))
    assert (s.lo, s.earlier) == (int(old[0]), 0)


def test_a_gap_comparable_to_the_span_is_not_an_outlier():
    # One event two days before a three-day trail: the bucket size barely changes.
    t = minutes(3 * 24 * 60)
    s = core_span(np.concatenate([[T0 - 2 * D], t]))
    assert (s.lo, s.earlier) == (T0 - 2 * D, 0)


def test_outliers_on_a_tiny_trail():
    # Three events in one second, one a year later: the lone event is the outlier.
    t = np.array([T0, T0 + 10, T0 + 20, T0 + 365 * D])
    s = core_span(t)
    assert (s.lo, s.hi, s.earlier, s.later) == (T0, T0 + 21, 0, 1)


def test_real_sample_logs_outliers():
    from tui.core.loader import load
    from tui.core.normalize import NO_TIME

    store = load([str(ROOT / "sample_logs")])
    t = np.sort(store.times[store.times != NO_TIME])
    s = core_span(t)
    assert (s.earlier, s.later) == (2, 0)
    assert datetime.fromtimestamp(int(t[0]) / 1000, tz=UTC).year == 2018
    assert datetime.fromtimestamp(s.lo / 1000, tz=UTC).year > 2018
    assert s.hi - s.lo < 30 * D


def test_step_finer_and_coarser_walk_the_nice_steps():
    assert step_finer(H) == 30 * MIN and step_coarser(H) == 2 * H
    assert step_finer(NICE_STEPS_MS[0]) is None
    assert step_coarser(NICE_STEPS_MS[-1]) == 2 * NICE_STEPS_MS[-1]


@pytest.mark.parametrize("center", [T0, T0 + 36 * H + 7, T0 + 72 * H - 1])
def test_zoomed_view_fills_the_columns_inside_the_data(center: int):
    bounds = (T0, T0 + 72 * H)
    lo, hi = zoomed_view(center, 30 * MIN, 98, bounds)
    assert hi - lo == 98 * 30 * MIN and lo % (30 * MIN) == 0
    assert bounds[0] <= lo and hi <= bounds[1]
    assert lo <= center < hi


def test_zoomed_view_centres_the_cursor():
    lo, hi = zoomed_view(T0 + 36 * H, 30 * MIN, 98, (T0, T0 + 72 * H))
    assert (T0 + 36 * H - lo) // (30 * MIN) == 49


def test_zoomed_view_wider_than_the_data_starts_at_the_data():
    lo, hi = zoomed_view(T0 + 5 * MIN, MIN, 100, (T0, T0 + 10 * MIN))
    assert lo == T0 and hi == T0 + 100 * MIN


def test_series_per_mode():
    counts = np.array([10, 0, 4, 2])
    errors = np.array([1, 0, 4, 0])
    assert series("count", counts, errors).tolist() == [10, 0, 4, 2]
    assert series("rate", counts, errors).tolist() == [0.1, 0.0, 1.0, 0.0]
    assert series("stack", counts, errors).tolist() == [1, 0, 4, 0]


def test_level_heights():
    assert level_heights(np.array([0.0, 0.01, 0.5, 1.0]), 8).tolist() == [0, 1, 4, 8]
    assert level_heights(np.array([1.0, 2.0]), 8, top=8.0).tolist() == [1, 2]
    assert level_heights(np.zeros(3), 8).tolist() == [0, 0, 0]


def test_next_at_or_above_both_ways():
    v = np.array([5.0, 0, 3, 9, 0, 4, 0])
    assert next_at_or_above(v, 0, 4, 1) == 3
    assert next_at_or_above(v, 3, 4, 1) == 5
    assert next_at_or_above(v, 5, 4, 1) is None
    assert next_at_or_above(v, 5, 4, -1) == 3
    assert next_at_or_above(v, 0, 4, -1) is None
    assert next_at_or_above(v, 2, 0, 1) == 3  # a zero threshold still skips empty buckets


def test_top_value_on_a_real_store():
    from tui.core.loader import load

    store = load([str(ROOT / "sample_logs")])
    order = np.argsort(store.times, kind="stable")
    rows, times = order, store.times[order]
    lo, hi = int(times[-40]), int(times[-1]) + 1
    got = top_value(store, "principal", rows, times, lo, hi)
    inside = [store.value(int(r), "principal") for r in rows if lo <= store.times[r] < hi]
    best = max(set(inside), key=inside.count)
    assert got is not None and got[1] == inside.count(best)
    assert inside.count(got[0]) == got[1]
    assert top_value(store, "principal", rows, times, 0, 1) is None
