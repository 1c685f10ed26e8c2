"""The event list's views in the real app: sorting (keys, header, status), through
filter changes and arrivals; the column chooser and its config file; the 80x24 layout
and the detail pane beside the list by ctrl+d."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import (
    make_app,
    painted_frames,
    paste,
    run,
    screen_text,
    settle,
    status_text,
    wait_for,
    wait_loaded,
)
from tests.trailgen import event, trail_path, write_records
from tui.column_screen import ColumnScreen
from tui.core.batch import parse_file
from tui.core.listconfig import columns_path, load_columns
from widgets.detail import DetailPane
from widgets.event_list import EventList


def _header(app) -> str:
    """The list's title line, as on screen."""
    return next(
        line for line in screen_text(app).splitlines() if "Event" in line and "Time" in line
    )


def _values(app, field: str) -> list[str]:
    lst = app.events_list
    return [app.store.value(int(r), field) for r in lst.rows]


def _is_sorted(app, field: str, descending: bool = False) -> bool:
    vals = [v for v in _values(app, field) if v]
    return vals == sorted(vals, reverse=descending)


async def test_sort_keys_header_and_status(explorer) -> None:
    pilot, app = explorer, explorer.app
    lst = app.events_list
    lst.move_to_index(5)
    await pilot.press("o")  # time -> service (the next shown column)
    await pilot.pause()
    assert lst.sort_key.column == "service" and _is_sorted(app, "service")
    assert lst.cursor_index == 0  # a new order is read from its top
    assert "Service ↑" in _header(app)  # the header's arrow
    assert "sorted Service ↑" in status_text(app)
    await pilot.press("R")
    await pilot.pause()
    assert lst.sort_key.descending and _is_sorted(app, "service", descending=True)
    assert "Service ↓" in _header(app) and "sorted Service ↓" in status_text(app)
    # Ties stay in time order: within each service, times ascend.
    svc, times = _values(app, "service"), [app.store.time_ms(int(r)) for r in lst.rows]
    for a in range(len(svc) - 1):
        if svc[a] == svc[a + 1]:
            assert times[a] <= times[a + 1]
    assert sorted(lst.rows.tolist()) == sorted(app.view.rows.tolist())  # each row once

    # Errors first: one key; every failed call before every other, each in time order.
    await pilot.press("E")
    await pilot.pause()
    errs = [v != "" for v in _values(app, "error")]
    n = sum(errs)
    assert n and errs == [True] * n + [False] * (len(errs) - n)
    assert "✗" in screen_text(app).split("Time (UTC)")[1].splitlines()[1]  # an error on top
    assert "errors first" in status_text(app)
    await pilot.press("E")  # again: time order
    await pilot.pause()
    assert not lst.sorted and np.array_equal(lst.rows, app.view.rows)
    assert "sorted" not in status_text(app)


async def test_sort_survives_filter_changes(explorer) -> None:
    pilot, app = explorer, explorer.app
    lst = app.events_list
    await pilot.press("o", "o", "o")  # service, event, principal
    await pilot.pause()
    assert lst.sort_key.column == "principal"
    app.set_filter("-region:us-east-2")
    await settle(pilot)
    assert lst.sort_key.column == "principal" and _is_sorted(app, "principal")
    assert len(lst.rows) == len(app.view.rows) and "us-east-2" not in _values(app, "region")
    row = lst.cursor_row
    app.set_filter("")  # the cursor's event is still listed: it stays on it
    await settle(pilot)
    assert lst.cursor_row == row and _is_sorted(app, "principal")


async def test_arrivals_land_in_their_sorted_place(tmp_path: Path) -> None:
    write_records(
        trail_path(tmp_path, suffix="base000000000000"),
        [
            event("Bravo", "2026-11-20T10:00:00Z"),
            event("Delta", "2026-11-20T10:00:01Z"),
            event("Foxtrot", "2026-11-20T10:00:02Z"),
        ],
    )
    app = make_app([tmp_path])
    async with run(app, (120, 30)) as pilot:
        await wait_loaded(pilot)
        lst = app.events_list
        lst.set_sort(type(lst.sort_key)("event"))
        lst.move_to_index(1)
        await settle(pilot)
        assert _values(app, "event") == ["Bravo", "Delta", "Foxtrot"]
        assert lst.cursor_row is not None
        on = app.store.value(lst.cursor_row, "event")
        more = write_records(
            trail_path(tmp_path, suffix="more000000000000"),
            [
                event("Alpha", "2026-11-20T11:00:00Z"),
                event("Charlie", "2026-11-20T09:00:00Z"),
                event("Echo", "2026-11-20T10:30:00Z"),
            ],
        )
        app.store.add(parse_file(str(more)))
        app.pump()
        await settle(pilot)
        assert _values(app, "event") == ["Alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot"]
        assert app.store.value(lst.cursor_row, "event") == on == "Delta"


async def test_column_chooser_applies_and_saves(explorer) -> None:
    pilot, app = explorer, explorer.app
    lst = app.events_list
    await pilot.press("c")
    await wait_for(pilot, lambda: isinstance(app.screen, ColumnScreen), 3, what="chooser")
    assert "Columns of the event list" in screen_text(app)
    # Entries: the 7 default columns, then the others. Hide Service (entry 1: it moves
    # to the others, the cursor with it); move Principal (now entry 2) first; widen it;
    # add the account.
    await pilot.press("down", "space")
    assert app.screen.chosen[1][0] == "event" and app.screen.others[0] == "service"
    await pilot.press("home", "down", "down", "K", "K")  # principal -> entry 0
    for _ in range(3):
        await pilot.press("plus")
    chooser = app.screen
    assert chooser.chosen[0][0] == "principal" and chooser.chosen[0][1] is not None
    width = chooser.chosen[0][1]
    account = 6 + [n for n in chooser.others].index("account")  # 6 chosen now
    for _ in range(account):
        await pilot.press("down")
    await pilot.press("space")
    await pilot.press("enter")
    await wait_for(pilot, lambda: not isinstance(app.screen, ColumnScreen), 3, what="close")
    await pilot.pause()
    names = [n for n, _ in lst.column_specs]
    assert names == ["principal", "time", "event", "ip", "region", "error", "account"]
    assert dict(lst.column_widths())["principal"] == width
    assert "Account" in _header(app)
    # Kept for the next run, in the user's config dir (never beside the trail).
    saved = load_columns()
    assert saved is not None and [c.name for c in saved] == names
    assert saved[0].width == width
    assert str(columns_path()).startswith(os.environ["XDG_CONFIG_HOME"])
    assert "hidden: Service" in status_text(app)


async def test_saved_columns_are_used_and_a_bad_file_reported(tmp_path: Path) -> None:
    cfg = columns_path()
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text(
        json.dumps(
            {"columns": [{"name": "time"}, {"name": "event"}, {"name": "user", "width": 12}]}
        )
    )
    app = make_app()
    async with run(app, (120, 30)) as pilot:
        await wait_loaded(pilot)
        assert app.events_list.column_widths()[2] == ("user", 12)
        assert "User name" in screen_text(app)
    cfg.write_text('{"columns": [{"name": "no pe"}]}')
    app = make_app()
    async with run(app, (120, 30)) as pilot:
        await wait_loaded(pilot)
        await wait_for(
            pilot,
            lambda: any("not a column" in str(n.message) for n in app._notifications),
            3,
            what="toast",
        )
        assert [n for n, _ in app.events_list.column_specs][:3] == ["time", "service", "event"]
    assert cfg.read_text() == '{"columns": [{"name": "no pe"}]}'  # left as it was


@pytest.mark.size(80, 24)
async def test_80x24_keeps_the_essential_columns_and_detail_beside(explorer) -> None:
    pilot, app = explorer, explorer.app
    lst = app.events_list
    header = _header(app)
    for title in ("Time", "Event", "Principal", "Source IP", "Error"):
        assert title in header, header
    shown = lst.shown_columns
    assert {"time", "event", "principal", "ip", "error"} <= set(shown)
    assert "hidden:" in status_text(app)  # region, service
    detail = app.query_one(DetailPane)
    assert detail.region.y >= lst.region.bottom  # below the list by default
    await pilot.press("ctrl+d")
    await pilot.pause()
    assert detail.region.x >= lst.region.right and detail.region.y < lst.region.bottom
    assert detail.region.width >= 30 and lst.region.width >= 45
    await pilot.press("ctrl+d")
    await pilot.pause()
    assert detail.region.y >= lst.region.bottom
    # With the facets shown there is no room beside: ctrl+d says so.
    await pilot.press("ctrl+t")
    await pilot.pause()
    assert app.query_one("#facets").display
    await pilot.press("ctrl+d")
    await wait_for(
        pilot,
        lambda: any("too narrow" in str(n.message) for n in app._notifications),
        3,
        what="toast",
    )
    assert detail.region.y >= lst.region.bottom
    assert isinstance(lst, EventList)


async def test_a_json_path_column(explorer) -> None:
    pilot, app = explorer, explorer.app
    lst = app.events_list
    await pilot.press("c")
    await wait_for(pilot, lambda: isinstance(app.screen, ColumnScreen), 3, what="chooser")
    await pilot.press("p")
    await paste(pilot, "requestParameters.bucketName")
    await pilot.press("enter")  # added to the chosen columns
    await pilot.pause()
    assert app.screen.chosen[-1] == ("requestParameters.bucketName", None)
    await pilot.press("enter")  # applied
    await wait_for(pilot, lambda: not isinstance(app.screen, ColumnScreen), 3, what="close")
    app.set_filter("service:s3.amazonaws.com has:requestParameters.bucketName")
    await settle(pilot)
    await wait_for(
        pilot,
        lambda: "…" not in _cells(app, "requestParameters.bucketName"),
        5,
        what="the path column",
    )
    assert "bucketName" in _header(app)
    shown = _cells(app, "requestParameters.bucketName")
    want = {app.store.event(int(r))["requestParameters"]["bucketName"] for r in lst.rows[:5]}
    assert shown and all(any(v.startswith(c.rstrip("…")) for v in want) for c in shown)
    saved = load_columns()
    assert saved is not None and saved[-1].name == "requestParameters.bucketName"


def _cells(app, key: str) -> list[str]:
    """The values the list draws in column `key`, top rows first (as on screen)."""
    lst = app.events_list
    left = 1
    for k, w in lst.column_widths():
        if k == key:
            break
        left += w + 1
    else:
        return []
    lines = [str(lst.render_line(y).text) for y in range(1, 6)]
    return [line[left + 1 : left + 1 + w].strip() for line in lines if line.strip()]


async def test_80_columns_one_year_trail_reads_errors_in_full(tmp_path: Path) -> None:
    """Every event in one year: the header names it, the time drops it, and the room
    goes to the event, principal and error (AccessDenied in full, not AccessD…)."""
    role = "arn:aws:sts::111122223333:assumed-role/deploy-pipeline-role/role-session-pipeline"
    write_records(
        trail_path(tmp_path),
        [
            event(
                "PutBucketPolicy",
                f"2026-11-20T10:00:0{i}Z",
                error="AccessDenied",
                identity={"type": "AssumedRole", "arn": role, "accountId": "111122223333"},
            )
            for i in range(3)
        ],
    )
    app = make_app([tmp_path])
    async with run(app, (80, 24)) as pilot:
        await wait_loaded(pilot)
        header = _header(app)
        assert "Time (2026)" in header and "Source IP" in header and "Error" in header
        text = screen_text(app)
        assert "AccessDenied" in text and "AccessD…" not in text
        assert "11-20 10:00:01" in text
        assert "role-session-pi…" in text  # the session name first, not the role


async def test_palette_runs_the_lists_commands(explorer) -> None:
    from textual.command import CommandPalette

    pilot, app = explorer, explorer.app
    await pilot.press("ctrl+p")
    await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette), 3, what="palette")
    await paste(pilot, "Errors first")
    await wait_for(pilot, lambda: "Errors first  (E)" in screen_text(app), 5, what="command")
    await pilot.press("enter")
    await wait_for(
        pilot, lambda: app.events_list.sort_key.column == "errors", 3, what="errors first"
    )
    await pilot.press("ctrl+p")
    await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette), 3, what="palette")
    await paste(pilot, "Columns")
    await wait_for(pilot, lambda: "Columns  (c)" in screen_text(app), 5, what="command")
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(app.screen, ColumnScreen), 3, what="chooser")
    await pilot.press("escape")  # cancel: nothing changes, nothing is saved
    await wait_for(pilot, lambda: not isinstance(app.screen, ColumnScreen), 3, what="close")
    assert load_columns() is None


# ------------------------------------------------------- big views sort on a thread
def _plain_order(app, rows, field: str, descending: bool = False) -> list[int]:
    """By definition: filled values by value, then empty ones; ties in time order."""
    val = app.store.value
    filled = [int(r) for r in rows if val(int(r), field)]
    empty = [int(r) for r in rows if not val(int(r), field)]
    return sorted(filled, key=lambda r: val(r, field), reverse=descending) + empty


async def _sorts_done(pilot, app) -> None:
    """Wait until no sort thread runs (a superseded one included) and the app settled."""
    await wait_for(
        pilot,
        lambda: not any(w.group == "sort" and not w.is_finished for w in app.workers),
        10,
        what="the sort threads",
    )
    await settle(pilot)


async def test_a_threaded_sort_shows_the_old_order_until_the_new_one_lands(explorer) -> None:
    pilot, app = explorer, explorer.app
    lst = app.events_list
    lst.sort_thread_min = 0  # every view is "big"
    lst.move_to_index(7)
    row, old = lst.cursor_row, lst.rows.copy()
    with lst._ranks._lock:  # the thread waits for the field's ranks
        lst.set_sort(type(lst.sort_key)("principal", descending=True), keep=True)
        await pilot.pause(0.1)
        assert lst.sorting and np.array_equal(lst.rows, old) and lst.cursor_row == row
        assert "sorting by Principal ↓…" in status_text(app)
        assert "Principal ↓" in _header(app)
        await pilot.press("j")  # the list still answers: the cursor moves in the old order
        assert lst.cursor_index == 8
        row = lst.cursor_row
    await _sorts_done(pilot, app)
    assert not lst.sorting
    assert lst.rows.tolist() == _plain_order(app, app.view.rows, "principal", descending=True)
    assert lst.cursor_row == row  # kept on its event
    assert "sorted Principal ↓" in status_text(app) and "sorting" not in status_text(app)


async def test_a_threaded_sorts_key_is_drawn_without_waiting_for_the_order(
    explorer, monkeypatch
) -> None:
    """A list key holds the screen's updates until the detail pane follows the cursor
    (FrameHold); a sort on a thread moves no cursor until its order lands, so the
    answer of one not expected to land at once (the header's arrow, "sorting by…")
    goes out at once, not at the hold's time limit (made 30 s here, and
    SORT_LANDING_S too: only a release can end it)."""
    import tui.app
    import tui.main_screen

    pilot, app = explorer, explorer.app
    monkeypatch.setattr(tui.app, "FRAME_HOLD_MAX_S", 30.0)
    monkeypatch.setattr(tui.main_screen, "SORT_LANDING_S", 30.0)
    lst = app.events_list
    lst.sort_thread_min = 0
    lst.quick_sort_max = 0  # as a 10M-row view
    lst.focus()
    await pilot.pause()
    frames = painted_frames(app)
    with lst._ranks._lock:  # the thread waits for the field's ranks
        await pilot.press("o")
        await pilot.pause(0.1)
        assert lst.sorting and not lst.landing_soon and lst.sort_key.column == "service"
        assert not app.frame_hold.held
        assert any("EventList" in f or "*" in f for f in frames)  # the arrow drawn
        assert "Service ↑" in _header(app) and "sorting by Service ↑…" in status_text(app)
    await _sorts_done(pilot, app)
    assert lst.rows.tolist() == _plain_order(app, app.view.rows, "service")
    assert app.query_one(DetailPane).row == lst.cursor_row == lst.rows[0]


async def test_a_quick_threaded_sort_lands_in_the_keys_frame(explorer, monkeypatch) -> None:
    """A sort on the list's thread that lands within SORT_LANDING_S (made 30 s here,
    and the hold's own limit too) goes out with the key's answer: no frame shows the
    old order under the new arrow."""
    import threading

    import tui.app
    import tui.main_screen

    pilot, app = explorer, explorer.app
    monkeypatch.setattr(tui.main_screen, "SORT_LANDING_S", 30.0)
    monkeypatch.setattr(tui.app, "FRAME_HOLD_MAX_S", 30.0)
    lst = app.events_list
    lst.sort_thread_min = 0
    lst.focus()
    await pilot.pause()
    shown: list[tuple[bool, bool]] = []  # per frame: sorting, sorted
    display = app._display

    def record(screen, update) -> None:
        if update is not None:
            shown.append((lst.sorting, lst.sorted))
        display(screen, update)

    app._display = record
    assert lst._ranks.ready("service")
    lock = lst._ranks._lock  # the thread waits for the field's ranks: 0.3 s, longer
    lock.acquire()  # than a frame takes to come
    threading.Timer(0.3, lock.release).start()
    await pilot.press("o")
    await _sorts_done(pilot, app)
    assert lst.rows.tolist() == _plain_order(app, app.view.rows, "service")
    assert shown and shown[0] == (False, True) and (True, True) not in shown
    assert not app.frame_hold.held


async def test_a_threaded_sort_finds_where_the_cursor_lands(explorer) -> None:
    """A view re-sorted on the list's thread (a filter change while sorted) lands with
    the cursor on its event, or, filtered out, on the event nearest to it in time: the
    thread finds the place (the list searched 10M rows for it, 6 ms, on the UI
    thread); with the cursor moved meanwhile, the list finds it itself."""
    pilot, app = explorer, explorer.app
    lst = app.events_list
    lst.sort_thread_min = 0
    key = type(lst.sort_key)
    lst.set_sort(key("principal"))
    await _sorts_done(pilot, app)
    searched: list[str] = []
    for name in ("_index_of", "_nearest"):
        real = getattr(lst, name)
        setattr(lst, name, lambda *a, _real=real, _name=name: searched.append(_name) or _real(*a))
    store = app.store
    lst.move_to_index(len(lst.rows) // 2)
    row = lst.cursor_row
    region = store.value(row, "region")
    other = next(v for v in store.values("region") if v and v != region)
    app.set_filter(f"-region:{other}")  # keeps the cursor's event
    await _sorts_done(pilot, app)
    assert lst.rows.tolist() == _plain_order(app, app.view.rows, "principal")
    assert lst.cursor_row == row and not searched

    # A filter without the cursor's event: the nearest in time (earlier on a tie).
    ms = store.time_ms(row)
    app.set_filter(f"-region:{other} -region:{region}")
    await _sorts_done(pilot, app)
    rows = app.view.rows.tolist()
    assert row not in rows and not searched
    gap = min(abs(store.time_ms(r) - ms) for r in rows)
    assert lst.cursor_row == next(r for r in rows if abs(store.time_ms(r) - ms) == gap)

    # The cursor moved while the thread sorted: the list finds its event.
    with lst._ranks._lock:
        app.set_filter(f"-region:{region}")
        await pilot.pause(0.1)
        assert any(w.group == "sort" and not w.is_finished for w in app.workers)
        lst.move_to_index(lst.cursor_index + 1)
        row = lst.cursor_row
    await _sorts_done(pilot, app)
    assert lst.cursor_row == row and searched == ["_index_of"]


async def test_a_superseded_sort_never_lands(explorer) -> None:
    pilot, app = explorer, explorer.app
    lst = app.events_list
    lst.sort_thread_min = 0
    key = type(lst.sort_key)
    with lst._ranks._lock:
        lst.set_sort(key("event"))  # on a thread, held
        lst.set_sort(key())  # back to time order, at once: the held sort is stale
        assert not lst.sorting and np.array_equal(lst.rows, app.view.rows)
    await _sorts_done(pilot, app)
    assert not lst.sorted and np.array_equal(lst.rows, app.view.rows)

    # A new filter supersedes a sort of the old rows: the sort of the new rows lands.
    with lst._ranks._lock:
        lst.set_sort(key("ip"))
        app.set_filter("-region:us-east-2")
        await pilot.pause(0.1)
    await _sorts_done(pilot, app)
    assert lst.rows.tolist() == _plain_order(app, app.view.rows, "ip")
    assert "us-east-2" not in _values(app, "region") and not lst.sorting


async def test_tailing_while_sorted_on_a_thread_keeps_the_order(tmp_path: Path) -> None:
    """Real watchfiles on a tmp dir: each delivery re-sorts the view on the list's
    thread; the list is in sorted order after each, the cursor on its event."""
    import gzip

    import orjson

    def deliver(name: str, records: list[dict]) -> None:
        final = trail_path(tmp_path, when="20261120T1100Z", suffix=name)
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = final.with_name(final.name + ".0a1b2c3d")
        tmp.write_bytes(gzip.compress(orjson.dumps({"Records": records}), mtime=0))
        os.rename(tmp, final)

    names = ["Kilo", "Bravo", "Kilo", "Alpha", "Echo", "Bravo"]
    write_records(
        trail_path(tmp_path, suffix="base000000000000"),
        [event(n, f"2026-11-20T10:{i:02d}:00Z") for i, n in enumerate(names)],
    )
    app = make_app([tmp_path], watch=True, rescan_s=1.0)
    async with run(app, (120, 30)) as pilot:
        await wait_loaded(pilot)
        await wait_for(pilot, lambda: app.tailing, 5, what="tailing")
        lst = app.events_list
        lst.sort_thread_min = 0
        lst.set_sort(type(lst.sort_key)("event"))
        await _sorts_done(pilot, app)
        lst.move_to_index(2)
        row = lst.cursor_row
        want = 6
        for part, batch in enumerate([["Charlie", "Alpha"], ["Zulu", "Bravo", "Delta"]]):
            deliver(
                f"more{part}0000000000000"[:16],
                [event(n, f"2026-11-20T{9 + part:02d}:{i:02d}:30Z") for i, n in enumerate(batch)],
            )
            want += len(batch)
            await wait_for(pilot, lambda w=want: len(app.view.rows) == w, 10, what="arrivals")
            await _sorts_done(pilot, app)
            assert len(lst.rows) == want
            assert lst.rows.tolist() == _plain_order(app, app.view.rows, "event")
            assert lst.cursor_row == row
