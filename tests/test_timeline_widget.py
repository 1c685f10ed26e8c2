"""Timeline widget driven with Pilot: bucketing, axis, cursor, zoom, range marking."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from textual.app import App, ComposeResult

from tui.core.normalize import NO_TIME
from tui.core.timeline import axis_labels
from widgets.messages import TimeRangeRequest
from widgets.timeline import Timeline

ROOT = Path(__file__).resolve().parents[1]
H = 3_600_000
MIN = 60_000
T0 = int(datetime(2026, 11, 18, tzinfo=UTC).timestamp() * 1000)


def real_store():
    from tui.core.loader import load

    return load([str(ROOT / "sample_logs")])


class TimelineApp(App):
    def __init__(self) -> None:
        super().__init__()
        self.ranges: list[tuple[int, int]] = []
        self.moves: list[Timeline.CursorMoved] = []

    def compose(self) -> ComposeResult:
        yield Timeline()

    def on_mount(self) -> None:
        self.query_one(Timeline).focus()

    def on_time_range_request(self, m: TimeRangeRequest) -> None:
        self.ranges.append((m.lo_ms, m.hi_ms))

    def on_timeline_cursor_moved(self, m: Timeline.CursorMoved) -> None:
        self.moves.append(m)


def three_days() -> tuple[np.ndarray, np.ndarray]:
    """One event a minute from 2026-11-18 00:00 to 2026-11-20 23:59 UTC; every 7th fails."""
    times = T0 + np.arange(3 * 24 * 60, dtype=np.int64) * MIN
    rng = np.random.default_rng(1)
    perm = rng.permutation(times.size)  # unsorted input is fine
    errors = (np.arange(times.size) % 7 == 0)[perm]
    return times[perm], errors


def lines(t: Timeline) -> list[str]:
    return t.render().plain.split("\n")


async def test_known_span_buckets_axis_and_scale():
    times, errors = three_days()
    app = TimelineApp()
    async with app.run_test(size=(100, 12)) as pilot:
        t = app.query_one(Timeline)
        t.set_data(times, errors, None)
        await pilot.pause()
        h = t.hist
        assert h is not None
        assert t.content_size.width == 98
        assert h.bucket_ms == H  # 3 days over 98 columns: 1h buckets
        assert (h.start_ms, h.n) == (T0, 72)
        assert int(h.counts.sum()) == times.size
        assert int(h.errors.sum()) == int(errors.sum())
        assert set(h.counts.tolist()) == {60}
        out = lines(t)
        assert len(out) == 8
        # 4 bar rows: every bucket is full height, nothing past the last bucket.
        for row in out[:4]:
            assert row[:72] == "█" * 72
            assert row[72:].strip() == ""
        assert out[4][:72].strip("▔▀█") == ""  # errors row, hanging glyphs only
        axis = out[5]
        for col, text in axis_labels(T0, H, 98, 98):
            if col < 72:
                assert axis[col : col + len(text)] == text
        assert axis.startswith("11-18 00:00")
        assert "11-19" in axis and "11-20" in axis
        # The readout: the cursor (last) bucket's range, events, errors and rate.
        last = times >= T0 + 71 * H
        errs = int(errors[last].sum())
        assert out[6].startswith(
            f"▲ 11-20 23:00–11-21 00:00 · 60 events · {errs} errors ({errs / 60:.1%})"
        )
        assert axis[71] == "▲" and axis.count("▲") == 1  # the cursor's column
        scale = out[7]
        assert scale.startswith("bucket 1h · max 60/bucket · 4,320 events")
        assert "2026-11-18 00:00 → 2026-11-21 00:00 UTC" in scale
        assert "618 errors" in scale  # ceil(4320 / 7)
        assert "zoom" not in scale


async def test_real_store_counts_sum_to_events():
    store = real_store()
    errs = store.codes("error") != 0
    app = TimelineApp()
    async with app.run_test(size=(120, 12)) as pilot:
        t = app.query_one(Timeline)
        t.set_data(store.times, errs, None)
        await pilot.pause()
        h = t.hist
        assert h is not None and 1 <= h.n <= t.content_size.width
        timed = store.times != NO_TIME
        # Every timed event is in a bar or counted at an edge (sample_logs/ has two
        # events from 2018, years before the rest: outliers, left out of the range).
        assert t.outliers == (2, 0) and t.outside == (2, 0)
        assert int(h.counts.sum()) + 2 == int(np.count_nonzero(timed))
        old = timed & (store.times < h.start_ms)
        assert int(h.errors.sum()) + int(np.count_nonzero(errs & old)) == int(
            np.count_nonzero(errs & timed)
        )
        assert h.bucket_ms == H  # not the 90-day bars the whole span would need
        assert lines(t)[5].startswith("◂ 2 earlier")
        await pilot.press("0")  # reset keeps the default range
        assert t.hist.bucket_ms == H


async def test_cursor_moves_and_enter_posts_bucket_range():
    times, errors = three_days()
    app = TimelineApp()
    async with app.run_test(size=(100, 12)) as pilot:
        t = app.query_one(Timeline)
        t.set_data(times, errors, None)
        await pilot.pause()
        assert t.cursor == 71  # no selection: the latest bucket
        await pilot.press("left", "left", "h", "right", "l", "left")
        assert t.cursor == 69
        last = app.moves[-1]
        assert (last.lo_ms, last.hi_ms, last.count) == (T0 + 69 * H, T0 + 70 * H, 60)
        await pilot.press("enter")
        assert app.ranges == [(T0 + 69 * H, T0 + 70 * H)]
        # Clamped at the edges.
        await pilot.press("end", "right", "right")
        assert t.cursor == 71
        await pilot.press("home", "left")
        assert t.cursor == 0
        await pilot.press("enter")
        assert app.ranges[-1] == (T0, T0 + H)


async def test_zoom_steps_the_bucket_and_keeps_the_pane_full_around_the_cursor():
    times, errors = three_days()
    app = TimelineApp()
    async with app.run_test(size=(100, 12)) as pilot:
        t = app.query_one(Timeline)
        t.set_data(times, errors, None)
        await pilot.pause()
        await pilot.press("home", "shift+right", "shift+right", "shift+right", *["l"] * 6)
        assert t.cursor == 36
        center = T0 + 36 * H  # the cursor's instant: where its bucket starts
        await pilot.press("plus")
        h = t.hist
        assert h.bucket_ms == 30 * MIN and h.n == 98  # every column has its bar
        lo, hi = t.view_range
        assert hi - lo == 98 * 30 * MIN and lo % (30 * MIN) == 0
        assert t.cursor in (48, 49)  # in the middle of the pane
        lo_c, hi_c = t.cursor_range()
        assert lo_c <= center < hi_c  # the cursor stays on the same instant
        assert "zoom 1.5x" in lines(t)[7]
        inside = (times >= h.start_ms) & (times < h.end_ms)
        assert int(h.counts.sum()) == int(inside.sum()) == 98 * 30
        await pilot.press("equals_sign")
        assert t.hist.bucket_ms == 15 * MIN and t.hist.n == 98
        lo_c, hi_c = t.cursor_range()
        assert lo_c <= center < hi_c
        await pilot.press("minus")
        assert t.hist.bucket_ms == 30 * MIN and t.hist.n == 98
        # Enter on a zoomed bucket posts that (smaller) bucket.
        await pilot.press("enter")
        assert app.ranges[-1] == t.cursor_range()
        assert app.ranges[-1][1] - app.ranges[-1][0] == t.hist.bucket_ms
        await pilot.press("0")
        assert not t.zoomed and t.hist.bucket_ms == H
        # Zooming out of the full span is a no-op; zooming out of one step returns to it.
        await pilot.press("plus", "minus")
        assert not t.zoomed and t.view_range == t.full_range


async def test_zoom_at_the_edges_fills_the_pane():
    times, errors = three_days()
    app = TimelineApp()
    async with app.run_test(size=(100, 12)) as pilot:
        t = app.query_one(Timeline)
        t.set_data(times, errors, None)
        await pilot.pause()
        await pilot.press("home", "plus", "plus")  # at the first bucket
        h = t.hist
        assert h.n == 98 and h.start_ms == T0 and t.cursor == 0
        assert int(h.counts.min()) > 0  # no empty columns before the data
        assert lines(t)[5].endswith("later ▸")
        assert t.outside == (0, times.size - int(h.counts.sum()))
        await pilot.press("end")  # the last bucket of the data: the view pans there
        h = t.hist
        assert h.n == 98 and h.end_ms == T0 + 72 * H and t.cursor == 97
        assert lines(t)[5].startswith(f"◂ {t.outside[0]:,} earlier")
        await pilot.press("pageup")  # a pane earlier, the cursor keeps its column
        assert t.hist.end_ms == T0 + 72 * H - 98 * h.bucket_ms and t.cursor == 97
        await pilot.press("pagedown", "pagedown")
        assert t.hist.end_ms == T0 + 72 * H and t.cursor == 97
        await pilot.press("g")
        assert t.hist.start_ms == T0 and t.cursor == 0


async def test_zoomed_pan_past_edge():
    times, errors = three_days()
    app = TimelineApp()
    async with app.run_test(size=(100, 12)) as pilot:
        t = app.query_one(Timeline)
        t.set_data(times, errors, None)
        await pilot.pause()
        await pilot.press("plus")
        lo0, _ = t.view_range
        await pilot.press("home", "left")
        lo1, _ = t.view_range
        assert lo1 < lo0  # panned earlier instead of stopping
        await pilot.press(*["shift+left"] * 8)
        assert t.view_range[0] == t.full_range[0]  # never past the data
        assert t.cursor == 0


async def test_range_mark_posts_whole_range_and_escape_clears():
    times, errors = three_days()
    app = TimelineApp()
    async with app.run_test(size=(100, 12)) as pilot:
        t = app.query_one(Timeline)
        t.set_data(times, errors, None)
        await pilot.pause()
        await pilot.press("left", "space", "left", "left", "left", "left")
        assert t.marked_range() == (T0 + 66 * H, T0 + 71 * H)
        scale = lines(t)[7]
        assert scale.startswith("range 11-20 18:00 → 11-20 23:00: 300 events · bucket 1h")
        await pilot.press("enter")
        assert app.ranges == [(T0 + 66 * H, T0 + 71 * H)]
        assert t.marked_range() is None  # posting consumes the mark
        # The range works in either direction, and `v` marks too.
        await pilot.press("v", "right", "right")
        assert t.marked_range() == (T0 + 66 * H, T0 + 69 * H)
        await pilot.press("escape")
        assert t.marked_range() is None
        await pilot.press("enter")
        assert app.ranges[-1] == (T0 + 68 * H, T0 + 69 * H)
        # A second space ends the range: it filters like enter.
        await pilot.press("space", "left", "space")
        assert app.ranges[-1] == (T0 + 67 * H, T0 + 69 * H)
        assert t.marked_range() is None


async def test_selected_bucket_marker_is_distinct_from_the_cursor():
    times, errors = three_days()
    app = TimelineApp()
    async with app.run_test(size=(100, 12)) as pilot:
        t = app.query_one(Timeline)
        sel = T0 + 10 * H + 5 * MIN
        t.set_data(times, errors, sel)
        await pilot.pause()
        assert t.cursor == 10  # the cursor starts on the selected event
        axis = lines(t)[5]
        assert axis[10] == "▲" and "◆" not in axis  # the cursor's mark covers it
        t.set_selected(T0 + 50 * H)
        await pilot.pause()
        axis = lines(t)[5]
        assert axis[50] == "◆" and axis.count("◆") == 1
        assert axis[10] == "▲" and axis.count("▲") == 1
        await pilot.press("right")
        axis = lines(t)[5]
        assert axis[11] == "▲" and axis[50] == "◆" and axis[10] != "▲"
        assert lines(t)[6].startswith("▲ 11-18 11:00–12:00 · 60 events")
        t.set_selected(None)
        assert "◆" not in lines(t)[5]


async def test_empty_single_and_untimed():
    app = TimelineApp()
    async with app.run_test(size=(60, 12)) as pilot:
        t = app.query_one(Timeline)
        await pilot.pause()
        assert t.render().plain == "no events"  # before any data
        t.set_data(np.zeros(0, np.int64), None, None)
        await pilot.pause()
        assert t.render().plain == "no events"
        await pilot.press("left", "plus", "minus", "0", "space", "enter", "escape")
        assert app.ranges == []

        one = T0 + 1234
        t.set_data(np.array([one]), np.array([True]), one)
        await pilot.pause()
        assert t.hist.n == 1 and t.hist.counts.tolist() == [1]
        out = lines(t)
        assert out[0][0] == "█" and out[4][0] == "█" and out[5][0] == "▲"
        await pilot.press("plus", "enter")  # zoom on one second: nothing finer, no crash
        assert app.ranges[-1][0] <= one < app.ranges[-1][1]

        t.set_data(np.array([NO_TIME, one, NO_TIME]), None, None)
        await pilot.pause()
        assert int(t.hist.counts.sum()) == 1
        assert "2 without time" in lines(t)[7]
        t.set_data(np.array([NO_TIME]), None, None)
        await pilot.pause()
        assert "without a time" in t.render().plain


@pytest.mark.parametrize("width", [40, 57, 140, 300])
async def test_widths(width: int):
    times, errors = three_days()
    times = np.concatenate([times, times[:100] - 200 * 24 * H])  # a long, lumpy span
    errors = np.concatenate([errors, errors[:100]])
    app = TimelineApp()
    async with app.run_test(size=(width, 12)) as pilot:
        t = app.query_one(Timeline)
        t.set_data(times, errors, int(times[0]))
        await pilot.pause()
        cw = t.content_size.width
        assert 1 <= t.hist.n <= cw
        assert int(t.hist.counts.sum()) == times.size
        out = lines(t)
        assert len(out) == 8 and all(len(line) <= cw for line in out)
        assert out[7].startswith("bucket ")
        await pilot.press("plus", "plus", "plus", "left", "space", "left", "enter")
        assert len(app.ranges) == 1


async def test_resize_rebuckets():
    times, errors = three_days()
    app = TimelineApp()
    async with app.run_test(size=(100, 12)) as pilot:
        t = app.query_one(Timeline)
        t.set_data(times, errors, None)
        await pilot.pause()
        assert t.hist.bucket_ms == H
        await pilot.resize_terminal(50, 12)
        await pilot.pause()
        assert t.hist.bucket_ms == 2 * H and t.hist.n == 36
        assert t.cursor == 35  # still the last bucket


async def test_large_input_is_fast():
    import time

    rng = np.random.default_rng(0)
    times = T0 + rng.integers(0, 30 * 24 * H, 1_000_000)
    errs = rng.random(1_000_000) < 0.02
    app = TimelineApp()
    async with app.run_test(size=(200, 12)) as pilot:
        t = app.query_one(Timeline)
        start = time.perf_counter()
        t.set_data(times, errs, None)
        t.render()
        assert time.perf_counter() - start < 0.5
        await pilot.pause()
        assert int(t.hist.counts.sum()) == 1_000_000


async def test_presorted_data_is_checked_and_counted_the_same():
    """set_data(presorted=True) counts as the general path does, and out-of-order input
    (hostile pre-1970 times break the store's order) falls back instead of miscounting."""
    times, errors = three_days()
    order = np.argsort(times, kind="stable")
    st, se = times[order], errors[order]
    app = TimelineApp()
    async with app.run_test(size=(100, 12)) as pilot:
        t = app.query_one(Timeline)
        t.set_data(st, se, None)
        await pilot.pause()
        want = (t.hist.counts.copy(), t.hist.errors.copy(), lines(t))
        t.set_data(st, se, None, presorted=True)
        await pilot.pause()
        assert t._presorted
        assert np.array_equal(t.hist.counts, want[0]) and np.array_equal(t.hist.errors, want[1])
        assert lines(t) == want[2]
        shuffled = st.copy()
        shuffled[[0, -1]] = shuffled[[-1, 0]]
        t.set_data(shuffled, se, None, presorted=True)
        await pilot.pause()
        assert not t._presorted
        assert t.hist.counts.sum() == len(shuffled)


async def test_theme_change_recolours_the_drawn_bars():
    """Component styles are kept between draws; a theme change must still reach them."""
    times, errors = three_days()
    app = TimelineApp()
    async with app.run_test(size=(100, 12)) as pilot:
        t = app.query_one(Timeline)
        t.set_data(times, errors, None)
        await pilot.pause()

        def drawn_bar_colour():
            seg = next(s for s in t.render_line(0) if "█" in s.text)
            return seg.style.color

        def theme_bar_colour():
            return t.get_component_rich_style("timeline--bar").color

        before = drawn_bar_colour()
        assert before == theme_bar_colour()
        app.theme = "textual-light" if app.theme != "textual-light" else "nord"
        await pilot.pause()
        assert theme_bar_colour() != before  # the themes differ here
        assert drawn_bar_colour() == theme_bar_colour()


def ten_hours() -> tuple[np.ndarray, np.ndarray]:
    """Ten busy hours, each at the start of a 4-hour stretch (hour 4i, column 4i at 1h
    buckets), holding 10*(i+1) events. i=2: all 30 fail (the highest rate); i=9: 50 of
    100 fail (the most errors, and the most events)."""
    times, errors = [], []
    fails = {2: 30, 9: 50}
    for i in range(10):
        n = 10 * (i + 1)
        times += [T0 + 4 * i * H + k * (H // n) for k in range(n)]
        errors += [k < fails.get(i, 0) for k in range(n)]
    return np.array(times, dtype=np.int64), np.array(errors)


def cell_colour(t: Timeline, y: int, x: int):
    """The colour drawn at content column `x` of line `y`."""
    col = 0
    for seg in t.render_line(y):
        if col <= x < col + len(seg.text):
            return seg.style.color
        col += len(seg.text)
    raise AssertionError("no such cell")


async def test_modes_peak_and_threshold_jumps():
    times, errors = ten_hours()
    app = TimelineApp()
    async with app.run_test(size=(60, 12)) as pilot:
        t = app.query_one(Timeline)
        t.set_data(times, errors, None, presorted=True)
        await pilot.pause()
        assert t.hist.bucket_ms == H and t.hist.n == 37 and t.mode == "count"
        await pilot.press("home", "p")  # the highest bucket by events
        assert t.cursor == 36
        # Threshold jumps: by default half the highest bucket (50 events).
        await pilot.press("home", "right_square_bracket")
        assert t.cursor == 16
        await pilot.press("right_square_bracket", "left_square_bracket")
        assert t.cursor == 16
        await pilot.press(*["right_square_bracket"] * 3, "T")  # i=7: 80 events
        assert t.cursor == 28 and "threshold ≥ 80" in lines(t)[7]
        await pilot.press("home", "right_square_bracket")
        assert t.cursor == 28
        await pilot.press(*["right_square_bracket"] * 3)
        assert t.cursor == 36  # nothing further: stays

        await pilot.press("r")  # error rate
        assert t.mode == "rate"
        out = lines(t)
        assert len(out) == 8  # five bar rows, no error row: axis, readout, scale
        assert out[0][8] == "█" and out[4][0] == " "  # 100% at i=2, 0% at i=0
        assert "threshold" not in out[7]  # a threshold is per mode
        assert out[7].startswith("error rate · bucket 1h · max 100.0% errors")
        await pilot.press("p")
        assert t.cursor == 8
        assert lines(t)[6].startswith("▲ 11-18 08:00–09:00 · 30 events · 30 errors")
        await pilot.press("right_square_bracket")  # half of 100%: i=9 has 50%
        assert t.cursor == 36
        err = t.get_component_rich_style("timeline--error").color
        assert cell_colour(t, 4, 8) == err  # (the cursor's cell is reversed)

        await pilot.press("r")  # errors stacked on events
        assert t.mode == "stack"
        await pilot.press("home", "p")  # most errors: i=9
        assert t.cursor == 36
        await pilot.press("home")  # (the cursor's cell is reversed)
        bar = t.get_component_rich_style("timeline--bar").color
        assert cell_colour(t, 4, 36) == err and cell_colour(t, 0, 36) == bar  # half failed
        assert cell_colour(t, 4, 8) == err and cell_colour(t, 4, 4) == bar
        await pilot.press("r")
        assert t.mode == "count"
        await pilot.press("home", "enter")  # Enter still filters to the bucket
        assert app.ranges[-1] == (T0, T0 + H)


async def test_top_principal_shows_for_its_bucket_only():
    times, errors = ten_hours()
    app = TimelineApp()
    async with app.run_test(size=(100, 12)) as pilot:
        t = app.query_one(Timeline)
        t.set_data(times, errors, None, presorted=True)
        await pilot.pause()
        lo, hi = t.cursor_range()
        assert app.moves and (app.moves[-1].lo_ms, app.moves[-1].hi_ms) == (lo, hi)
        hostile = "arn:aws:iam::123456789012:role/[@click=app.quit]\x1b[31m-pipeline"
        t.show_top(lo, hi, hostile, 42)
        readout = lines(t)[6]
        assert "top …" in readout and readout.endswith("-pipeline (42)")
        assert "\x1b" not in readout and "[@click=app.quit]" in readout  # inert, visible
        await pilot.press("left")
        assert "top" not in lines(t)[6]  # another bucket: the screen answers anew
