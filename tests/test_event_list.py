"""Pilot tests for the virtualised event list (widgets/event_list.py)."""

from __future__ import annotations

import gzip
import math
import time
import unicodedata
from pathlib import Path

import numpy as np
import orjson
import pytest
from textual.app import App, ComposeResult

from tui.core.batch import CONFLICT, HOSTILE
from tui.core.loader import load
from tui.core.normalize import format_time
from tui.core.store import Store
from widgets.event_list import (
    EventList,
    column_layout,
    principal_label,
    short_service,
)
from widgets.messages import EventHighlighted

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_logs"
SIZE = (120, 30)


def _trail_dir() -> Path:
    return SAMPLE


@pytest.fixture(scope="module")
def store() -> Store:
    s = load([str(_trail_dir())])
    assert len(s) > 100
    return s


class ListApp(App[None]):
    """A bare app around one EventList, recording what it posts."""

    def __init__(self, store: Store) -> None:
        super().__init__()
        self.store = store
        self.highlighted: list[int | None] = []

    def compose(self) -> ComposeResult:
        yield EventList(self.store, id="events")

    def on_mount(self) -> None:
        self.query_one(EventList).focus()

    def on_event_highlighted(self, message: EventHighlighted) -> None:
        self.highlighted.append(message.row)


def screen_lines(el: EventList) -> list[str]:
    return [el.render_line(y).text for y in range(el.scrollable_content_region.height)]


def cursor_visible(el: EventList) -> bool:
    top = int(el.scroll_offset.y)
    return top <= el.cursor_index < top + el._page()


# ----------------------------------------------------------------- pure helpers
def test_short_service() -> None:
    assert short_service("s3.amazonaws.com") == "s3"
    assert short_service("custom.example") == "custom.example"


@pytest.mark.parametrize("width", [60, 76, 79, 100, 120, 160, 250])
def test_layout_fits(width: int) -> None:
    cols = column_layout(width)
    used = 1 + sum(w for _, w in cols) + len(cols)
    assert used == width
    keys = [k for k, _ in cols]
    assert [k for k in keys if k in ("time", "event", "principal")] == [
        "time",
        "event",
        "principal",
    ]
    if width < 100:
        assert "region" not in keys
    if width >= 76:  # an 80-column terminal, facets hidden: the five that matter
        assert {"time", "event", "principal", "ip", "error"} <= set(keys)
    if width >= 100:
        assert keys[:4] == ["time", "service", "event", "principal"]
        assert dict(cols)["time"] == 20  # with its year
    if width >= 120:
        assert {"ip", "region", "error"} <= set(keys)


def test_layout_gives_way_in_rank_order() -> None:
    # Region and service go before the year of the time, which goes before IP and error.
    widths = [dict(column_layout(w)) for w in range(40, 130)]
    for a, b in zip(widths, widths[1:], strict=False):
        assert set(a) <= set(b)  # a wider list never loses a column
    at = {w: dict(column_layout(w)) for w in (60, 70, 76, 90)}
    assert "ip" not in at[60] and "error" in at[60] and "service" not in at[76]
    assert at[60]["time"] == at[70]["time"] == 14 and "ip" in at[70]
    assert at[76]["time"] == at[90]["time"] == 20


def test_principal_label_keeps_the_name_and_the_account() -> None:
    arn = "arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_AdministratorAccess/priya.shah"
    assert (
        principal_label(arn, 80) == "priya.shah · AWSReservedSSO_AdministratorAccess · 111122223333"
    )
    assert principal_label(arn, 36) == "priya.shah · AWSRese… · 111122223333"
    assert principal_label(arn, 28) == "priya.shah · 111122223333"
    assert principal_label(arn, 20) == "priya.shah · …223333"
    assert principal_label(arn, 8) == "priya.s…"
    for w in range(1, 90):
        assert len(principal_label(arn, w)) <= w
    assert principal_label("arn:aws:iam::111122223333:user/ops/Bob", 40) == (
        "Bob · user/ops · 111122223333"
    )
    assert principal_label("arn:aws:iam::111122223333:root", 40) == "root · 111122223333"
    assert principal_label("ec2.amazonaws.com", 40) == "ec2.amazonaws.com"
    assert principal_label("ANONYMOUS_PRINCIPAL", 10) == "ANONYMOUS…"


# ------------------------------------------------------------------- navigation
async def test_first_row_and_render(store: Store) -> None:
    app = ListApp(store)
    async with app.run_test(size=SIZE) as pilot:
        el = app.query_one(EventList)
        order = store.ordered()
        el.set_rows(order)
        await pilot.pause()
        first = int(order[0])
        assert store.time_ms(first) == int(store.times.min())  # the earliest event
        assert el.cursor_index == 0 and el.cursor_row == first
        assert app.highlighted == [first]
        lines = screen_lines(el)
        assert "Time (UTC)" in lines[0] and "Principal" in lines[0]
        ms = store.time_ms(first)
        assert format_time(ms - ms % 1000) in lines[1]
        assert short_service(store.value(first, "service"))[:8] in lines[1]
        assert store.value(first, "event")[:10] in lines[1]
        # every visible row shows its own time, in order
        for y in range(1, len(lines)):
            r = int(order[y - 1])
            t = store.time_ms(r)
            assert format_time(t - t % 1000) in lines[y]
        assert all(len(line) == el.scrollable_content_region.width for line in lines)
        # the screenshot path renders too
        assert "Principal" in app.export_screenshot()


async def test_keys_move_and_post(store: Store) -> None:
    app = ListApp(store)
    async with app.run_test(size=SIZE) as pilot:
        el = app.query_one(EventList)
        order = store.ordered()
        el.set_rows(order)
        await pilot.pause()
        await pilot.press("j")
        assert el.cursor_index == 1 and app.highlighted[-1] == int(order[1])
        await pilot.press("down")
        assert el.cursor_index == 2 and app.highlighted[-1] == int(order[2])
        await pilot.press("k", "up")
        assert el.cursor_index == 0
        n_before = len(app.highlighted)
        await pilot.press("up", "k")  # already at the top: no move, no repeat message
        assert el.cursor_index == 0 and len(app.highlighted) == n_before
        assert app.highlighted == [int(order[i]) for i in (0, 1, 2, 1, 0)]

        await pilot.press("G")
        assert el.cursor_index == len(order) - 1 and el.at_end
        assert app.highlighted[-1] == int(order[-1])
        assert cursor_visible(el)
        await pilot.pause()
        last_line = screen_lines(el)[-1]
        t = store.time_ms(int(order[-1]))
        assert format_time(t - t % 1000) in last_line
        await pilot.press("g")
        assert el.cursor_index == 0 and el.scroll_offset.y == 0
        await pilot.press("end")
        assert el.cursor_index == len(order) - 1
        await pilot.press("home")
        assert el.cursor_index == 0 and not el.at_end


async def test_paging(store: Store) -> None:
    app = ListApp(store)
    async with app.run_test(size=SIZE) as pilot:
        el = app.query_one(EventList)
        order = store.ordered()
        el.set_rows(order)
        await pilot.pause()
        page = el._page()
        assert page == SIZE[1] - 1  # full height minus the header
        await pilot.press("pagedown")
        assert el.cursor_index == page and cursor_visible(el)
        assert el.scroll_offset.y == page
        await pilot.press("ctrl+f")
        assert el.cursor_index == 2 * page and cursor_visible(el)
        await pilot.press("pageup")
        assert el.cursor_index == page and cursor_visible(el)
        await pilot.press("ctrl+b", "ctrl+b")
        assert el.cursor_index == 0 and el.scroll_offset.y == 0
        # j past the bottom of the screen scrolls one line
        for _ in range(page):
            await pilot.press("j")
        assert el.cursor_index == page and el.scroll_offset.y == 1 and cursor_visible(el)


async def test_click_selects(store: Store) -> None:
    app = ListApp(store)
    async with app.run_test(size=SIZE) as pilot:
        el = app.query_one(EventList)
        el.set_rows(store.ordered())
        await pilot.pause()
        await pilot.click(EventList, offset=(30, 4))
        assert el.cursor_index == 3
        left = 1 + sum(w + 1 for _, w in el.column_widths()[:2])  # the third title: Event
        assert el.column_widths()[2][0] == "event"
        await pilot.click(EventList, offset=(left + 2, 0))  # a title sorts by its column
        assert el.sort_key.column == "event" and not el.sort_key.descending
        assert el.cursor_index == 0  # a new order is read from its top
        await pilot.click(EventList, offset=(left + 2, 0))  # again: the other way
        assert el.sort_key.column == "event" and el.sort_key.descending
        row = el.cursor_row
        el.set_sort(type(el.sort_key)("principal"), keep=True)
        assert el.cursor_row == row  # kept: the cursor stays on its event


# --------------------------------------------------------------------- set_rows
async def test_set_rows_keeps_cursor(store: Store) -> None:
    app = ListApp(store)
    async with app.run_test(size=SIZE) as pilot:
        el = app.query_one(EventList)
        order = store.ordered()
        el.set_rows(order)
        await pilot.pause()
        el.move_to_index(min(200, len(order) - 20))  # far enough down to have scrolled
        await pilot.pause()
        row = el.cursor_row
        screen_pos = el.cursor_index - int(el.scroll_offset.y)

        # subset that still contains the row: cursor stays on it, at the same screen line
        keep = order[(np.arange(len(order)) % 2 == 0) | (order == row)]
        el.set_rows(keep)
        await pilot.pause()
        assert el.cursor_row == row
        assert el.cursor_index - int(el.scroll_offset.y) == screen_pos
        n_msgs = len(app.highlighted)
        el.set_rows(keep)  # same rows again: nothing new to announce
        await pilot.pause()
        assert len(app.highlighted) == n_msgs

        # subset without it: nearest by time
        without = order[order != row]
        el.set_rows(without)
        await pilot.pause()
        t = store.time_ms(row)
        best = np.abs(store.times[without] - t).min()
        assert abs(store.time_ms(el.cursor_row) - t) == best
        assert app.highlighted[-1] == el.cursor_row
        assert cursor_visible(el)

        # a far-away subset (only late events): cursor on its first (nearest) row
        late = order[len(order) // 2 :]
        el.move_to_index(0)
        el.set_rows(late)
        await pilot.pause()
        assert el.cursor_index == 0 and cursor_visible(el)

        # keep=False: a fresh view starts at the top
        el.set_rows(order)
        el.move_to_index(100)
        el.set_rows(order[::3], keep=False)
        await pilot.pause()
        assert el.cursor_index == 0 and el.scroll_offset.y == 0


async def test_set_rows_with_positions_keeps_cursor(store: Store) -> None:
    """With the rows' positions in the time order (what a view passes), the cursor's
    event is found by binary search: kept when listed, else the nearest in time; and
    without positions, every event's place is its position."""
    app = ListApp(store)
    async with app.run_test(size=SIZE) as pilot:
        el = app.query_one(EventList)
        order = store.order
        el.set_rows(order)
        el.move_to_index(len(order) // 2)
        await pilot.pause()
        row = el.cursor_row
        assert row is not None
        pos = np.arange(len(order))
        keep = pos[(pos % 3 == 0) | (order == row)]
        el.set_rows(order[keep], sel=keep)
        assert el.cursor_row == row
        without = pos[order != row][::2]
        el.set_rows(order[without], sel=without)
        t = store.time_ms(row)
        assert (
            abs(store.time_ms(el.cursor_row) - t) == np.abs(store.times[order[without]] - t).min()
        )
        now = el.cursor_row
        el.set_rows(order)  # every event, no positions: straight to its place
        await pilot.pause()
        assert el.cursor_row == now
        assert el.cursor_index == int(np.flatnonzero(order == now)[0])


async def test_empty_and_loading(store: Store) -> None:
    app = ListApp(store)
    async with app.run_test(size=SIZE) as pilot:
        el = app.query_one(EventList)
        el.set_rows(store.ordered())
        await pilot.pause()
        el.set_rows(np.empty(0, np.int64))
        await pilot.pause()
        assert el.cursor_row is None and app.highlighted[-1] is None
        assert any("no events match" in line for line in screen_lines(el))
        await pilot.press("j", "G", "pagedown")  # keys on an empty list are harmless
        el.jump_to_time(0)
        assert el.cursor_row is None
        el.loading_text = "loading…"
        await pilot.pause()
        lines = screen_lines(el)
        assert any("loading…" in line for line in lines)
        assert not any("no events match" in line for line in lines)


async def test_jump_and_move_to_row(store: Store) -> None:
    app = ListApp(store)
    async with app.run_test(size=SIZE) as pilot:
        el = app.query_one(EventList)
        order = store.ordered()
        times = store.times[order]
        el.set_rows(order)
        await pilot.pause()
        target = int(times[len(order) // 2]) + 1
        el.jump_to_time(target)
        expected = int(np.searchsorted(times, target, side="left"))
        assert el.cursor_index == expected and cursor_visible(el)
        assert store.time_ms(el.cursor_row) >= target
        el.jump_to_time(int(times[-1]) + 10_000)  # after everything: last row
        assert el.cursor_index == len(order) - 1
        el.jump_to_time(-(2**62))
        assert el.cursor_index == 0
        row = int(order[77])
        assert el.move_to_row(row) and el.cursor_index == 77 and cursor_visible(el)
        assert not el.move_to_row(len(store) + 5)
        assert el.cursor_index == 77


async def test_markers_and_refresh(store: Store) -> None:
    app = ListApp(store)
    async with app.run_test(size=SIZE) as pilot:
        el = app.query_one(EventList)
        order = store.ordered()
        el.set_rows(order)
        await pilot.pause()
        errs = [int(r) for r in order if store.value(int(r), "error") and not store.flags[r]]
        if errs:
            el.move_to_row(errs[0])
            await pilot.pause()
            y = el.cursor_index - int(el.scroll_offset.y) + 1
            line = el.render_line(y).text
            assert line.startswith("✗")
            assert store.value(errs[0], "error")[:8] in line
        conflicts = [int(r) for r in order if store.flags[r] & CONFLICT]
        if conflicts:
            el.move_to_row(conflicts[0])
            await pilot.pause()
            y = el.cursor_index - int(el.scroll_offset.y) + 1
            assert el.render_line(y).text[0] in "≠⚠"
        before = screen_lines(el)
        el.refresh_rows()
        await pilot.pause()
        assert screen_lines(el) == before  # re-rendered from scratch, same content


async def test_follow_keeps_the_end(store: Store) -> None:
    app = ListApp(store)
    async with app.run_test(size=SIZE) as pilot:
        el = app.query_one(EventList)
        order = store.ordered()
        el.follow = True
        el.set_rows(order[:100])
        el.action_last()
        assert el.at_end
        el.set_rows(order[:150])  # new events arrived: stay on the newest
        await pilot.pause()
        assert el.cursor_index == 149 and el.at_end and cursor_visible(el)
        el.move_to_index(10)
        el.set_rows(order[:200])  # not at the end: stay put
        assert el.cursor_index == 10 and not el.at_end


async def test_no_color_cursor_is_reverse(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = ListApp(store)
    async with app.run_test(size=SIZE) as pilot:
        el = app.query_one(EventList)
        el.set_rows(store.ordered())
        await pilot.pause()
        assert app.no_color
        assert el.get_component_rich_style("event-list--cursor").reverse
        assert el.get_component_rich_style("event-list--header").bold


# ------------------------------------------------------------------ hostile data
PAYLOAD_EVENT = "[@click=app.quit]x[/]"
PAYLOAD_UA = "[/x] \x1b[31mred\x9b2J \u202eevil"


def _write_trail(root: Path, records: list[dict]) -> Path:
    path = (
        root
        / "AWSLogs"
        / "111122223333"
        / "CloudTrail"
        / "us-east-1"
        / "2026"
        / "11"
        / "20"
        / "111122223333_CloudTrail_us-east-1_20261120T1005Z_abcdefghijklmnop.json.gz"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(orjson.dumps({"Records": records}), mtime=0))
    return root


def _event(i: int, name: str, arn: str, ua: str, error: str | None = None) -> dict:
    ev = {
        "eventVersion": "1.08",
        "userIdentity": {"type": "IAMUser", "arn": arn, "accountId": "111122223333"},
        "eventTime": f"2026-11-20T10:0{i}:00Z",
        "eventSource": "iam.amazonaws.com",
        "eventName": name,
        "awsRegion": "us-east-1",
        "sourceIPAddress": "198.51.100.7",
        "userAgent": ua,
        "eventID": f"00000000-0000-0000-0000-00000000000{i}",
        "eventType": "AwsApiCall",
        "recipientAccountId": "111122223333",
    }
    if error:
        ev["errorCode"] = error
    return ev


def _has_control(s: str) -> bool:
    return any(unicodedata.category(c) in ("Cc", "Cf") for c in s)


async def test_hostile_content(tmp_path: Path) -> None:
    records = [
        _event(1, PAYLOAD_EVENT, "arn:aws:iam::111122223333:user/[/x]", PAYLOAD_UA),
        _event(2, "Get\x1b[31mUser", "arn:aws:iam::111122223333:user/\u202eevil\x9b", "ua"),
        _event(
            3,
            "ListUsers",
            "arn:aws:iam::111122223333:user/[@click=app.quit]q[/]",
            "ua",
            error="[/error]\x1b[0m",
        ),
        _event(4, "ListRoles", "arn:aws:iam::111122223333:user/bob", "ua"),
    ]
    store = load([str(_write_trail(tmp_path, records))])
    assert len(store) == 4
    assert (store.flags & HOSTILE).any()
    app = ListApp(store)
    async with app.run_test(size=SIZE) as pilot:
        el = app.query_one(EventList)
        order = store.ordered()
        el.set_rows(order)
        await pilot.pause()
        lines = screen_lines(el)
        joined = "\n".join(lines)
        assert PAYLOAD_EVENT in lines[1]  # markup shown literally, not parsed
        assert "x] · 111122223333" in lines[1]  # the name first, brackets literal
        assert "] · us… · 111122223333" in joined  # cut to the column, still literal
        assert "[/error]" in joined
        for line in lines:
            assert not _has_control(line), repr(line)
        for y in range(len(lines)):  # the segments carry no click actions either
            for seg in el.render_line(y):
                assert not _has_control(seg.text)
                assert seg.style is None or not (seg.style.meta or {}).get("@click")
        hostile = [i for i, r in enumerate(order) if store.flags[r] & HOSTILE]
        assert hostile and all(lines[i + 1].startswith("⚠") for i in hostile)
        err_i = next(i for i, r in enumerate(order) if store.value(int(r), "error"))
        assert lines[err_i + 1][0] in "✗⚠"
        # clicking the hostile rows selects them and does not quit
        await pilot.click(EventList, offset=(40, 1))
        await pilot.click(EventList, offset=(60, 3))
        await pilot.pause()
        assert app.is_running and app.return_code is None
        assert el.cursor_index == 2
        svg = app.export_screenshot()
        assert "\x1b" not in svg and "\u202e" not in svg and "\x9b" not in svg
        # every row in cursor style too
        for i in range(len(order)):
            el.move_to_index(i)
            await pilot.pause()
            assert not any(_has_control(line) for line in screen_lines(el))


# ------------------------------------------------------------------------ scale
async def test_million_rows(store: Store) -> None:
    order = store.ordered()
    n = 1_000_000
    # np.repeat keeps time order (each event repeated), which jump/nearest rely on.
    rows = np.repeat(order, math.ceil(n / len(order)))[:n]
    app = ListApp(store)
    async with app.run_test(size=SIZE) as pilot:
        el = app.query_one(EventList)
        await pilot.pause()
        t0 = time.perf_counter()
        el.set_rows(rows)
        t_set = time.perf_counter() - t0
        t0 = time.perf_counter()
        await pilot.pause()
        t_paint = time.perf_counter() - t0
        assert el.virtual_size.height == n + 1

        el._cache.clear()
        t0 = time.perf_counter()
        screen = screen_lines(el)
        t_screen = time.perf_counter() - t0
        t0 = time.perf_counter()
        screen_lines(el)
        t_cached = time.perf_counter() - t0

        t0 = time.perf_counter()
        await pilot.press("end")
        await pilot.pause()
        t_end = time.perf_counter() - t0
        assert el.cursor_index == n - 1
        assert el.scroll_offset.y == n + 1 - SIZE[1]
        last = screen_lines(el)[-1]
        t = store.time_ms(int(rows[-1]))
        assert format_time(t - t % 1000) in last

        # filtering the 1M list: keep the cursor (vectorised search), then lose it
        half = rows[::2].copy()
        t0 = time.perf_counter()
        el.set_rows(half)
        t_keep = time.perf_counter() - t0
        assert el.cursor_row == int(rows[-1])
        el.move_to_index(250_000)
        target_row = el.cursor_row
        others = rows[rows != target_row]
        t0 = time.perf_counter()
        el.set_rows(others)
        t_nearest = time.perf_counter() - t0
        assert el.cursor_row is not None
        t0 = time.perf_counter()
        el.jump_to_time(store.time_ms(int(rows[n // 3])))
        t_jump = time.perf_counter() - t0
        assert store.time_ms(el.cursor_row) == store.time_ms(int(rows[n // 3]))
        await pilot.pause()
        assert len(screen) == SIZE[1]

        # The repeated rows above hit the row cache; time a screen of distinct rows.
        el.set_rows(order, keep=False)
        await pilot.pause()
        el._cache.clear()
        t0 = time.perf_counter()
        screen_lines(el)
        t_distinct = time.perf_counter() - t0
        t0 = time.perf_counter()
        await pilot.pause()
        t_idle = time.perf_counter() - t0
    print(
        f"\n1M rows: set_rows {t_set * 1e3:.1f} ms, first paint {t_paint * 1e3:.1f} ms, "
        f"screen render (repeated rows) {t_screen * 1e3:.1f} ms, "
        f"(distinct rows, cold) {t_distinct * 1e3:.1f} ms, (cached) {t_cached * 1e3:.2f} ms, "
        f"idle pilot.pause {t_idle * 1e3:.1f} ms, "
        f"end key {t_end * 1e3:.1f} ms, set_rows keep {t_keep * 1e3:.1f} ms, "
        f"set_rows nearest {t_nearest * 1e3:.1f} ms, jump_to_time {t_jump * 1e3:.2f} ms"
    )


async def test_new_rows_repaint_without_laying_out_the_screen(store: Store) -> None:
    """Changing the row count updates the scrollbar and scroll range without a screen
    layout (QuietScroll): layouts re-render every widget and cost ~17 ms each."""
    app = ListApp(store)
    async with app.run_test(size=SIZE) as pilot:
        el = app.query_one(EventList)
        order = store.ordered()
        el.set_rows(order)
        await pilot.pause()
        layouts = []
        original = app.screen._refresh_layout
        app.screen._refresh_layout = lambda *a, **k: (layouts.append(1), original(*a, **k))
        for n in (len(order) // 2, len(order), 200):
            el.set_rows(order[:n])
            await pilot.pause()
            assert el.vertical_scrollbar.window_virtual_size == n + 1
            await pilot.press("end")
            await pilot.pause()
            assert el.cursor_index == n - 1
            assert (
                el.scroll_offset.y == el.max_scroll_y == n + 1 - el.scrollable_content_region.height
            )
            last = int(order[n - 1])
            assert format_time(store.time_ms(last))[:19] in screen_lines(el)[-1]
        # Fewer rows than the screen: the scrollbar stays (a scrollbar appearing or
        # going would change the content region and need a layout).
        el.set_rows(order[:3])
        await pilot.pause()
        assert el.show_vertical_scrollbar
        assert el.vertical_scrollbar.window_virtual_size == 4
        assert layouts == []


async def test_focus_moves_rerender_only_the_cursor_row(store: Store) -> None:
    """Focus in/out changes the cursor's look; the other cached rows stay (a focus move
    used to re-render a screenful of rows). A theme change still redraws them all."""
    app = ListApp(store)
    async with app.run_test(size=SIZE) as pilot:
        el = app.query_one(EventList)
        el.set_rows(store.ordered())
        await pilot.pause()
        calls: list[int] = []
        original = el._render_row
        el._render_row = lambda row, cursor, width: (
            calls.append(row),
            original(row, cursor, width),
        )[1]
        focused = el.render_line(1)
        el.blur()
        await pilot.pause()
        assert not el.has_focus
        blurred = el.render_line(1)
        assert calls == [int(store.ordered()[0])]  # the cursor row only
        assert focused.text == blurred.text and list(focused) != list(blurred)
        el.focus()
        await pilot.pause()
        assert list(el.render_line(1)) == list(focused)
        calls.clear()
        app.theme = "textual-light" if app.theme != "textual-light" else "nord"
        await pilot.pause()
        assert len(calls) >= el.scrollable_content_region.height - 2


async def test_a_move_within_the_page_repaints_only_the_two_cursor_rows(store: Store) -> None:
    app = ListApp(store)
    async with app.run_test(size=SIZE) as pilot:
        el = app.query_one(EventList)
        el.set_rows(store.ordered())
        el.focus()
        await pilot.pause()
        built: list[int] = []  # rows whose strip was built (not taken from the cache)
        original = el._render_row

        def counting(row: int, cursor: bool, width: int):
            built.append(row)
            return original(row, cursor, width)

        el._render_row = counting  # type: ignore[method-assign]
        first_two = [int(r) for r in el.rows[:2]]
        await pilot.press("j")
        await pilot.pause()
        assert sorted(built) == sorted(first_two), built  # the old and new cursor rows
        el._cache.clear()
        full = [el.render_line(y).text for y in range(el.scrollable_content_region.height)]
        on_screen = [s.text[: len(full[0])] for s in app.screen._compositor.render_strips()]
        assert on_screen[1:3] == full[1:3]  # what is drawn is what a full repaint draws
        built.clear()
        el.move_to_index(len(el.rows) - 1)  # off the page: scrolls, every row rebuilt
        await pilot.pause()
        assert len(set(built)) >= el.scrollable_content_region.height - 2


async def test_plain_cells_look_like_the_text_path(tmp_path: Path, monkeypatch) -> None:
    """Printable ASCII cells are fitted as plain strings (fast); each must be cell for
    cell what the Rich Text path draws: ellipses, principal tails, the error style."""
    from rich.style import Style

    def cells(segments) -> list[tuple[str, Style]]:
        return [(ch, seg.style or Style.null()) for seg in segments for ch in seg.text]

    role = "arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_AdministratorAccess_0123456789abcdef/priya.shah@example.com"
    values = {
        "principal": [
            role,
            "arn:aws:iam::111122223333:user/Bob",
            "arn:aws:iam::111122223333:root",
            "AWSService" * 9,
            "a/" + "b" * 80,
            "x" * 5000,
            "ünïcode/user",
        ],
        "service": ["s3.amazonaws.com", "averyveryverylongservicename.amazonaws.com", ""],
        "error": ["AccessDenied", "Client.UnauthorizedOperation.WithAVeryLongSuffix", ""],
        "ip": ["198.51.100.7", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", "tab\there"],
    }
    records = []
    for i, (field, value) in enumerate((f, v) for f, vs in values.items() for v in vs):
        ev = _event(i % 10, "GetObject", "arn:aws:iam::111122223333:user/u", "ua")
        ev["eventID"] = f"id-{i}"
        if field == "principal":
            ev["userIdentity"]["arn"] = value
        elif field == "service":
            ev["eventSource"] = value
        elif field == "error":
            ev["errorCode"] = value
        else:
            ev["sourceIPAddress"] = value
        records.append(ev)
    st = load([str(_write_trail(tmp_path, records))])
    app = ListApp(st)
    async with app.run_test(size=SIZE):
        el = app.query_one(EventList)
        plain_used = 0
        for field, vals in values.items():
            codes = {v: i for i, v in enumerate(st.values(field))}
            for v in vals:
                for width in (3, 8, 12, 20, 40):
                    fast = el._plain_cell(field, v, width)
                    slow = el._text_cell(field, v, width)
                    if fast is None:
                        assert not v.isascii() or len(v) > 4096 or "\t" in v
                        continue
                    plain_used += 1
                    assert sum(len(s.text) for s in fast) == width
                    assert cells(fast) == cells(slow), (field, v[:30], width)
                    assert el._cell(field, codes[v], width) is not None
        assert plain_used > 40


async def test_direct_lines_match_textuals_styled_lines(store: Store) -> None:
    """The list (and facet rows) hand their strips to the compositor directly when they
    have no box decoration; that must draw exactly what Textual's styling path draws."""
    from rich.style import Style
    from textual.widget import Widget

    def cells(strips) -> list[list[tuple[str, Style]]]:
        return [[(ch, seg.style or Style.null()) for seg in s for ch in seg.text] for s in strips]

    app = ListApp(store)
    async with app.run_test(size=SIZE) as pilot:
        el = app.query_one(EventList)
        el.set_rows(store.ordered())
        await pilot.press("j", "j")
        await pilot.pause()
        region = el.size.region
        for crop in (region, region.crop_size((30, 5))):
            direct = el.render_lines(crop)
            el._styles_cache.clear()
            styled = Widget.render_lines(el, crop)
            assert len(direct) == crop.height
            assert cells(direct) == cells(styled)


async def test_commits_redraw_only_rows_whose_flags_changed(tmp_path: Path) -> None:
    """Drawn rows stay cached across commits (while tailing there are several a
    second); a row a later commit marks as a conflict is drawn again, with its mark."""
    from tests.trailgen import event, trail_path, write_records
    from tui.core.batch import parse_file

    evs = [
        event(f"Call{i}", f"2026-11-20T10:{i:02d}:00Z", event_id=f"id-{i:04d}") for i in range(12)
    ]
    write_records(trail_path(tmp_path, suffix="first00000000000"), evs)
    store = load([str(tmp_path)])
    app = ListApp(store)
    async with app.run_test(size=SIZE) as pilot:
        el = app.query_one(EventList)
        el.set_rows(store.ordered())
        await pilot.pause()
        first = screen_lines(el)
        assert not any(line.startswith("≠") for line in first)
        drawn: list[int] = []
        real = el._render_row
        el._render_row = lambda row, *a: (drawn.append(row), real(row, *a))[1]

        # Same eventID as row 3, other content: both are kept and both flagged.
        twin = event("CallTwin", "2026-11-20T10:03:00Z", event_id="id-0003")
        late = event("Late", "2026-11-20T11:00:00Z", event_id="id-late")
        store.add(
            parse_file(
                str(write_records(trail_path(tmp_path, suffix="second0000000000"), [twin, late]))
            )
        )
        res = store.commit()
        assert store.conflicts == 1
        el.set_rows(store.ordered())
        await pilot.pause()
        lines = screen_lines(el)
        flagged = [i for i, line in enumerate(lines) if line.startswith("≠")]
        assert len(flagged) == 2  # the first delivery and its twin
        old = next(r for r in range(len(evs)) if store.flags[r] & CONFLICT)
        # Drawn again: the newly flagged old row and the two new rows, nothing else.
        assert sorted(drawn) == sorted([old, *map(int, res.rows)])
