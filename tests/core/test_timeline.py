from __future__ import annotations

import time
from datetime import UTC, datetime

import numpy as np
import pytest

from tui.core.normalize import NO_TIME
from tui.core.timeline import (
    NICE_STEPS_MS,
    Histogram,
    axis_labels,
    choose_bucket,
    format_bucket_ms,
    histogram,
    sparkline_levels,
    zoom,
)

S, M, H, D = 1000, 60_000, 3_600_000, 86_400_000
T0 = int(datetime(2023, 11, 20, 10, 5, 17, tzinfo=UTC).timestamp() * 1000)


def _ms(*args: int) -> int:
    return int(datetime(*args, tzinfo=UTC).timestamp() * 1000)


def test_nice_steps() -> None:
    assert NICE_STEPS_MS[0] == S
    assert NICE_STEPS_MS[-1] == 365 * D
    assert list(NICE_STEPS_MS) == sorted(set(NICE_STEPS_MS))
    assert len(NICE_STEPS_MS) == 24
    assert [format_bucket_ms(s) for s in NICE_STEPS_MS] == [
        "1s", "2s", "5s", "10s", "15s", "30s", "1m", "2m", "5m", "10m", "15m", "30m",
        "1h", "2h", "3h", "6h", "12h", "1d", "2d", "7d", "14d", "30d", "90d", "365d",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("span", "maxb", "want"),
    [
        (0, 100, S),
        (1, 100, S),
        (100 * S, 100, S),
        (100 * S + 1, 100, 2 * S),
        (H, 60, M),
        (H, 59, 2 * M),
        (D, 24, H),
        (D, 23, 2 * H),
        (30 * D, 10, 7 * D),
        (3 * 365 * D, 3, 365 * D),
        (10 * 365 * D, 3, 4 * 365 * D),  # beyond the table: multiples of a year
        (10 * D, 0, 14 * D),  # max_buckets < 1 is treated as 1
    ],
)
def test_choose_bucket(span: int, maxb: int, want: int) -> None:
    assert choose_bucket(span, maxb) == want


def test_choose_bucket_is_smallest() -> None:
    for span in (0, 999, 12_345, 7 * H + 3, 45 * D, 400 * D):
        for maxb in (1, 7, 40, 200):
            b = choose_bucket(span, maxb)
            assert -(-span // b) <= maxb
            smaller = [s for s in NICE_STEPS_MS if s < b]
            assert all(-(-span // s) > maxb for s in smaller)


def test_empty_input() -> None:
    h = histogram(np.array([], dtype=np.int64), None, 50)
    assert h.counts.size == 0 and h.errors.size == 0
    assert h.bucket_of(T0) is None
    assert h.end_ms == h.start_ms
    h = histogram(np.array([NO_TIME, NO_TIME]), np.array([True, False]), 50)
    assert h.counts.size == 0
    # an explicit range with no events: empty buckets over the range
    h = histogram(np.array([], dtype=np.int64), None, 60, lo_ms=T0, hi_ms=T0 + H)
    assert h.counts.sum() == 0 and 0 < len(h.counts) <= 60


def test_single_event_and_same_ms() -> None:
    h = histogram(np.array([T0]), np.array([True]), 50)
    assert h.counts.tolist() == [1] and h.errors.tolist() == [1]
    assert h.bucket_ms == S and h.start_ms == T0 // S * S
    h = histogram(np.full(1000, T0), None, 50)
    assert h.counts.tolist() == [1000] and h.errors.tolist() == [0]
    assert h.bucket_of(T0) == 0


def test_counts_and_errors_unsorted_with_no_time() -> None:
    rng = np.random.default_rng(3)
    times = rng.integers(T0, T0 + 6 * H, 10_000)
    times[::97] = NO_TIME
    errs = rng.random(10_000) < 0.2
    h = histogram(times, errs, 80)
    assert len(h.counts) <= 80
    valid = times != NO_TIME
    assert h.counts.sum() == valid.sum()
    assert h.errors.sum() == (errs & valid).sum()
    assert h.counts.dtype == np.int64 and h.errors.dtype == np.int64
    # every bar equals a direct count over its bucket_range
    for i in range(len(h.counts)):
        lo, hi = h.bucket_range(i)
        inside = (times >= lo) & (times < hi)
        assert h.counts[i] == inside.sum()
        assert h.errors[i] == (inside & errs).sum()
        assert h.bucket_of(lo) == i and h.bucket_of(hi - 1) == i
    assert h.start_ms <= int(times[valid].min()) < h.start_ms + h.bucket_ms
    assert h.end_ms > int(times.max())


def test_alignment() -> None:
    h = histogram(np.array([_ms(2023, 11, 20, 10, 7), _ms(2023, 11, 20, 13, 2)]), None, 4)
    assert h.bucket_ms == H
    assert h.start_ms == _ms(2023, 11, 20, 10)
    h = histogram(np.array([_ms(2023, 11, 3, 17), _ms(2023, 11, 20, 2)]), None, 20)
    assert h.bucket_ms == D
    assert h.start_ms == _ms(2023, 11, 3)  # UTC midnight
    # aligned bucket count never exceeds max_buckets, even when alignment adds one
    for maxb in range(1, 40):
        for lo in (T0, T0 + 123_457, _ms(2024, 1, 1)):
            h = histogram(np.array([lo, lo + 7 * H + 11]), None, maxb)
            assert 1 <= len(h.counts) <= maxb
            assert h.start_ms % h.bucket_ms == 0


def test_explicit_range_and_bucket() -> None:
    times = np.array([T0 - H, T0, T0 + 10 * M, T0 + 2 * H, NO_TIME])
    h = histogram(times, None, 100, lo_ms=T0, hi_ms=T0 + H)
    assert h.counts.sum() == 2
    assert h.start_ms <= T0 and h.end_ms >= T0 + H
    h = histogram(times, None, 100, lo_ms=T0 - 2 * H, hi_ms=T0 + 3 * H, bucket_ms=H)
    assert h.bucket_ms == H and h.counts.sum() == 4 and len(h.counts) == 6
    # hi defaults to the last event, lo explicit
    h = histogram(times, None, 100, lo_ms=T0)
    assert h.counts.sum() == 3
    with pytest.raises(ValueError):
        histogram(times, None, 10, bucket_ms=0)
    with pytest.raises(ValueError):
        histogram(times, np.array([True]), 10)


def test_histogram_is_readonly() -> None:
    h = histogram(np.array([T0]), None, 10)
    assert isinstance(h, Histogram)
    with pytest.raises(ValueError):
        h.counts[0] = 5
    with pytest.raises(AttributeError):
        h.bucket_ms = 5  # type: ignore[misc]


def test_bucket_range_and_of() -> None:
    h = histogram(np.array([T0, T0 + 59 * S]), None, 60)
    assert h.bucket_ms == S and len(h.counts) == 60
    assert h.bucket_range(0) == (h.start_ms, h.start_ms + S)
    assert h.bucket_range(-1) == (h.end_ms - S, h.end_ms)
    assert h.bucket_of(h.end_ms) is None
    assert h.bucket_of(h.start_ms - 1) is None
    with pytest.raises(IndexError):
        h.bucket_range(60)


@pytest.mark.timing
def test_speed() -> None:
    rng = np.random.default_rng(0)
    times = rng.integers(T0, T0 + 30 * D, 1_000_000)
    errs = rng.random(1_000_000) < 0.05
    best = min(_timed(lambda: histogram(times, errs, 200)) for _ in range(5))
    assert best < 0.020, best
    best = min(
        _timed(lambda: histogram(times, errs, 200, lo_ms=T0 + D, hi_ms=T0 + 3 * D))
        for _ in range(5)
    )
    assert best < 0.020, best


def _timed(fn) -> float:  # type: ignore[no-untyped-def]
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def test_zoom() -> None:
    assert zoom(0, 100_000, 50_000, 0.5) == (25_000, 75_000)
    assert zoom(0, 100_000, 50_000, 2) == (-50_000, 150_000)
    # center keeps its relative position
    lo, hi = zoom(0, 100_000, 80_000, 0.5)
    assert (lo, hi) == (40_000, 90_000)
    # center outside the view is clamped into it
    assert zoom(0, 100_000, 500_000, 0.5) == (50_000, 100_000)
    # never narrower than one second
    lo, hi = zoom(T0, T0 + 1500, T0 + 700, 0.1)
    assert hi - lo == S and lo <= T0 + 700 < hi
    with pytest.raises(ValueError):
        zoom(0, 10, 5, 0)


def test_format_bucket_ms() -> None:
    assert format_bucket_ms(S) == "1s"
    assert format_bucket_ms(5 * M) == "5m"
    assert format_bucket_ms(H) == "1h"
    assert format_bucket_ms(D) == "1d"
    assert format_bucket_ms(7 * D) == "7d"
    assert format_bucket_ms(90 * M) == "90m"
    assert format_bucket_ms(1500) == "1500ms"


def _check_axis(labels: list[tuple[int, str]], width: int) -> None:
    prev_end = -1
    for col, text in labels:
        assert col > prev_end  # at least one space between labels
        assert col + len(text) <= width
        prev_end = col + len(text)


def test_axis_labels_minutes() -> None:
    start = _ms(2023, 11, 20, 10, 0)
    labels = axis_labels(start, M, 60, 120)
    _check_axis(labels, 120)
    assert labels[0] == (0, "11-20 10:00")
    assert all(len(t) == 5 and t[2] == ":" for _, t in labels[1:])
    assert len(labels) >= 5


def test_axis_labels_day_change_and_days() -> None:
    start = _ms(2023, 11, 20, 22, 0)
    labels = axis_labels(start, 5 * M, 48, 96)
    _check_axis(labels, 96)
    texts = [t for _, t in labels]
    assert texts[0].startswith("11-20 ")
    assert any(t.startswith("11-21 ") for t in texts)  # the new day carries its date
    start = _ms(2023, 11, 1)
    labels = axis_labels(start, D, 30, 90)
    _check_axis(labels, 90)
    assert labels[0] == (0, "11-01")
    assert all(len(t) == 5 and t[2] == "-" for _, t in labels)
    labels = axis_labels(_ms(2023, 11, 20, 10, 5), S, 30, 60)
    _check_axis(labels, 60)
    assert labels[0][1] == "11-20 10:05:00"


def test_axis_labels_never_overlap() -> None:
    for bucket in NICE_STEPS_MS:
        for n, width in ((1, 10), (10, 10), (50, 200), (200, 80), (7, 300), (300, 300)):
            start = (T0 // bucket) * bucket
            labels = axis_labels(start, bucket, n, width)
            _check_axis(labels, width)
            cols = [c for c, _ in labels]
            assert cols == sorted(cols)
    assert axis_labels(T0, M, 0, 80) == []
    assert axis_labels(T0, M, 10, 0) == []


def test_sparkline_levels() -> None:
    out = sparkline_levels(np.array([0, 1, 2, 50, 100, 0]))
    assert out.tolist() == [0, 1, 1, 4, 8, 0]
    out = sparkline_levels(np.array([0, 1, 1000000]), levels=4)
    assert out.tolist() == [0, 1, 4]
    assert sparkline_levels(np.zeros(5, dtype=np.int64)).tolist() == [0] * 5
    assert sparkline_levels(np.array([], dtype=np.int64)).size == 0
    rng = np.random.default_rng(1)
    c = rng.integers(0, 1000, 500)
    lv = sparkline_levels(c)
    assert ((lv == 0) == (c == 0)).all()
    assert lv.max() == 8 and lv.min() >= 0


@pytest.mark.parametrize("seed", range(6))
def test_presorted_path_counts_like_the_general_one(seed: int) -> None:
    """The binary-search path for time-ordered input gives the same histogram as the
    bincount path, with NO_TIME rows (first in a view), errors, ranges and fixed steps."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 5_000))
    times = np.sort(rng.integers(T0, T0 + int(rng.integers(1, 40)) * H, n))
    times[: int(rng.integers(0, 5))] = NO_TIME  # views put untimed rows first
    errs = rng.random(n) < 0.1
    cases = [
        dict(),
        dict(lo_ms=T0 + H, hi_ms=T0 + 3 * H),
        dict(bucket_ms=5 * 60_000),
        dict(lo_ms=T0 - 7 * H, hi_ms=T0 - H),
    ]
    for kw in cases:
        for e in (errs, None):
            want = histogram(times, e, 120, **kw)
            got = histogram(times, e, 120, presorted=True, **kw)
            assert (got.start_ms, got.bucket_ms) == (want.start_ms, want.bucket_ms)
            assert np.array_equal(got.counts, want.counts), kw
            assert np.array_equal(got.errors, want.errors), kw
