"""End-to-end Pilot tests of the explorer (tui/app.py): the real app, real trails, real keys.

Each test asserts on the app's state (filter, view rows, focus, clipboard...) and on what
is on screen (status line, rendered terminal text). Expected numbers are computed
independently from the store with the query engine, never read back from the widgets.
"""

from __future__ import annotations

import gzip
import os
import time
from pathlib import Path

import numpy as np
import orjson
import pytest
from rich.cells import cell_len
from textual import events
from textual.command import CommandPalette
from textual.widgets import Input

from tests.conftest import (
    SAMPLE,
    explore,
    make_app,
    painted_frames,
    paste,
    run,
    screen_text,
    settle,
    status_text,
    toasts,
    wait_for,
    wait_loaded,
)
from tests.trailgen import event, trail_path, write_records
from tui.actions import ACTIONS, key_label
from tui.core.fields import FIELD_NAMES
from tui.core.query import add_term, parse, quote_value, time_range_term
from tui.screens import HelpScreen, JumpScreen, SkippedScreen
from tui.timeparse import parse_jump_time
from widgets.detail import DetailPane, InfoRef, PairRef, ValueRef
from widgets.event_list import EventList
from widgets.facets import FacetOptions, FacetPanel
from widgets.filter_bar import FilterBar, FilterInput
from widgets.key_hints import KeyHints
from widgets.timeline import Timeline

HOSTILE_MARKUP = "[@click=app.quit]"
RAW_CONTROLS = ("\x1b", "\x9b", "\u202e")


# ------------------------------------------------------------------------ helpers
def expected_rows(app, text: str) -> int:
    return int(parse(text).evaluate(app.store).sum())


def walk(node):
    yield node
    for child in node.children:
        yield from walk(child)


def find_node(tree: DetailPane, pred):
    """The first node (in tree order) whose data satisfies `pred`."""
    for node in walk(tree.root):
        if pred(node.data):
            return node
    raise AssertionError("no such node in the detail tree")


async def tree_cursor_to(pilot, tree: DetailPane, node) -> None:
    """Put the detail cursor on `node`: jump next to it, then the last step by key."""
    assert tree.has_focus
    assert node.line > 0
    tree.move_cursor(tree.get_node_at_line(node.line - 1), animate=False)
    await pilot.pause()
    await pilot.press("down")
    assert tree.cursor_node is node


async def apply_filter(pilot, text: str) -> None:
    """Type (paste) `text` into the filter bar and apply it."""
    await pilot.press("slash", "end", "ctrl+u")
    await paste(pilot, text)
    await pilot.press("enter")
    await settle(pilot)
    assert not pilot.app.query_one(FilterBar).has_class("-error")
    assert pilot.app.query_obj.text == text
    assert isinstance(pilot.app.focused, EventList)


def hostile_row(store) -> int:
    rows = [r for r in range(len(store)) if "\x1b" in store.value(r, "ua")]
    assert len(rows) == 1, rows
    return rows[0]


def write_trail(root: Path, files: int, per_file: int) -> int:
    """`files` gzip trail files of `per_file` events each, over a few hours."""
    n = 0
    for f in range(files):
        recs = []
        for i in range(per_file):
            s = f * per_file + i
            recs.append(
                event(
                    name=("GetObject", "PutObject", "ListBuckets", "AssumeRole")[s % 4],
                    time=f"2026-11-20T{s // 3600 % 24:02d}:{s // 60 % 60:02d}:{s % 60:02d}Z",
                    ip=f"198.51.100.{s % 200}",
                    error="AccessDenied" if s % 17 == 0 else None,
                )
            )
        minute = f % 60
        write_records(
            trail_path(
                root, when=f"20261120T{10 + f // 60:02d}{minute:02d}Z", suffix=f"file{f:012d}"
            ),
            recs,
        )
        n += per_file
    return n


def line_of_cursor(lst: EventList) -> int:
    """Screen y of the list's cursor row."""
    return lst.content_region.y + 1 + lst.cursor_index - int(lst.scroll_offset.y)


# ------------------------------------------------------------------------- 1. load
async def test_load_shows_counts_in_status(explorer) -> None:
    app = explorer.app
    assert len(app.store) == 394
    assert len(app.view.rows) == 394
    status = status_text(app)
    assert "394 / 394 events" in status
    assert "files 139 loaded" in status
    assert "loading" not in status and "skipped" not in status
    assert isinstance(app.focused, EventList)
    shown = screen_text(app)
    assert "394 / 394 events" in shown
    assert "Time (UTC)" in shown and "Source IP" in shown
    # The first (oldest) event is on screen and in the detail pane.
    first = int(app.view.rows[0])
    assert app.events_list.cursor_row == first
    assert app.query_one(DetailPane).row == first
    assert app.store.value(first, "event") in shown


async def test_first_frame_before_loading_finishes(tmp_path: Path, monkeypatch) -> None:
    import threading

    import tui.app as app_module

    total = write_trail(tmp_path, files=60, per_file=150)
    # The parser holds its first file until the first frame has been checked, so a fast
    # machine cannot finish loading before the test looks.
    first_frame_seen = threading.Event()
    parse = app_module.iter_batches

    def held(*args, **kw):
        first_frame_seen.wait(10)
        yield from parse(*args, **kw)

    monkeypatch.setattr(app_module, "iter_batches", held)
    app = make_app([tmp_path])
    async with run(app, (120, 36)) as pilot:
        # run_test hands over once the screen is up: the loader is still at work.
        assert app.loading
        assert app.query_one(EventList).is_mounted
        first = screen_text(app)
        assert "Time (UTC)" in first
        assert "loading" in first  # "loading…" in the list and/or "loading N%" in status
        assert "loading" in status_text(app)
        first_frame_seen.set()
        await wait_loaded(pilot)
        assert len(app.store) == total
        assert f"{total:,} / {total:,} events" in status_text(app)
        assert "files 60 loaded" in status_text(app)
        assert "loading" not in screen_text(app)


async def test_closing_the_explorer_mid_load_ends_the_load(tmp_path: Path, monkeypatch) -> None:
    """Quitting while a trail loads ends the load: the loader's thread stops taking
    batches and closes the parsing (its parser processes stop), rather than the process
    waiting for the rest of the load (at 10M events `q` took 29 s to return)."""
    import threading

    import tui.app as app_module
    import tui.core.loader as loader_module

    monkeypatch.setattr(loader_module, "PARALLEL_MIN_BYTES", 0)  # parse in processes
    write_trail(tmp_path, files=60, per_file=50)
    taken: list[int] = []
    started, ended = threading.Event(), threading.Event()
    parse = app_module.iter_batches

    def slow(*args, **kw):  # batches come 0.1 s apart: the app closes among them
        try:
            for b in parse(*args, **kw):
                taken.append(b.n)
                started.set()
                time.sleep(0.1)
                yield b
        finally:
            ended.set()

    monkeypatch.setattr(app_module, "iter_batches", slow)
    app = make_app([tmp_path])
    async with run(app, (120, 36)) as pilot:
        await wait_for(pilot, started.is_set, 20, what="the first batch")
    assert ended.wait(3), "the parsing went on after the explorer closed"
    assert len(taken) < 60


@pytest.mark.skipif(not hasattr(os, "getpriority"), reason="POSIX niceness")
async def test_the_parser_processes_of_a_load_run_nicer_than_the_explorer(
    tmp_path: Path, monkeypatch
) -> None:
    """While a load keeps every core busy, the explorer's UI thread gets one when it
    wants it: its parser processes run PARSER_NICE steps nicer than it."""
    import tui.app as app_module
    import tui.core.loader as loader_module
    from tests.core.test_loader_robust import parse_and_tell_niceness

    monkeypatch.setattr(loader_module, "PARALLEL_MIN_BYTES", 0)  # parse in processes
    total = write_trail(tmp_path, files=8, per_file=50)
    # Each batch says the niceness of the process that parsed it: the processes this
    # load started, not another test's (a closed app's loader thread can run on).
    told: list[str] = []
    parallel = loader_module._parse_parallel

    def telling(work, jobs, **kw):
        for b in parallel(work, jobs, **{**kw, "parse": parse_and_tell_niceness}):
            told.append(b.reason)
            b.reason = ""
            yield b

    monkeypatch.setattr(loader_module, "_parse_parallel", telling)
    app = make_app([tmp_path])
    async with explore(app, (120, 36)):
        assert len(app.store) == total
    assert app_module.PARSER_NICE > 0
    assert len(told) == 8
    assert set(told) == {f"nice {min(19, os.nice(0) + app_module.PARSER_NICE)}"}


async def test_a_loads_new_values_are_learnt_on_the_loaders_thread(
    tmp_path: Path, monkeypatch
) -> None:
    """The values new in each batch of a load go into the dictionaries on the loader's
    thread as the batch arrives, not on the UI thread when it is added (at 10M events
    that took 1.4 s of the UI thread's time, in stalls up to 77 ms)."""
    import threading

    import tui.core.loader as loader_module
    from tui.core.store.dictionaries import Dictionaries

    monkeypatch.setattr(loader_module, "PARALLEL_MIN_BYTES", 0)  # encoders' batches
    total = write_trail(tmp_path, files=8, per_file=50)
    threads: list[threading.Thread] = []
    learn = Dictionaries.learn

    def spied(self, b) -> None:
        threads.append(threading.current_thread())
        learn(self, b)

    monkeypatch.setattr(Dictionaries, "learn", spied)
    app = make_app([tmp_path])
    async with explore(app, (120, 36)):
        assert len(app.store) == total
        assert len(app.store.values("event")) == 1 + 4  # "" and the four names
    assert len(threads) == 8
    assert threading.main_thread() not in threads


# ------------------------------------------------------------------------ 2. filter
async def test_filter_apply_and_bad_filter(explorer) -> None:
    pilot, app = explorer, explorer.app
    await pilot.press("slash")
    assert isinstance(app.focused, FilterInput)
    await pilot.press(*"has:error", "enter")
    await settle(pilot)
    want = expected_rows(app, "has:error")
    assert want == 16
    assert len(app.view.rows) == want
    assert app.query_obj.text == "has:error"
    assert (app.store.codes("error")[app.view.rows] != 0).all()
    assert isinstance(app.focused, EventList)  # the list has focus again
    assert f"{want} / 394 events" in status_text(app)
    assert "filter has:error" in status_text(app)
    shown = screen_text(app)
    assert f"{want} / 394 events" in shown
    assert "✗" in shown  # error rows are marked in the gutter

    # A bad filter: the error shows inline and the result stays.
    rows_before = app.view.rows.copy()
    bar = app.query_one(FilterBar)
    inp = app.filter_input
    assert not bar.has_class("-error")

    await pilot.press("slash", "ctrl+u", *"service:(", "enter")
    await settle(pilot)
    assert bar.has_class("-error")
    err = str(bar.query_one("#filter-error").render())
    assert "column 9" in err and "service:" in err
    assert "column 9" in screen_text(app)  # the error line is displayed
    assert inp.cursor_position == 8  # the caret sits at the error
    assert np.array_equal(app.view.rows, rows_before)
    assert app.query_obj.text == "has:error"
    assert isinstance(app.focused, FilterInput)  # stays in the bar to fix it
    assert inp.value == "service:("
    assert "filter has:error" in status_text(app)

    # An unknown has: name fails at evaluation time: same contract.
    await pilot.press("end", "ctrl+u")
    await paste(pilot, "has:nope")
    await pilot.press("enter")
    await settle(pilot)
    assert bar.has_class("-error")
    assert isinstance(app.focused, FilterInput)
    assert "nope" in str(bar.query_one("#filter-error").render())
    assert np.array_equal(app.view.rows, rows_before)
    assert app.query_obj.text == "has:error"
    assert "filter has:error" in status_text(app)

    # A good filter clears the error line.
    await pilot.press("end", "ctrl+u")
    await paste(pilot, "has:error")
    await pilot.press("enter")
    await settle(pilot)
    assert not bar.has_class("-error")
    assert "column" not in screen_text(app)
    assert isinstance(app.focused, EventList)


async def test_free_text_searches_in_a_worker_then_from_cache(explorer, monkeypatch) -> None:
    """Uncached free text over many files runs in the view worker thread (the UI keeps
    answering); once cached, the same phrase is answered inline."""
    import tui.app as app_module

    pilot, app = explorer, explorer.app
    monkeypatch.setattr(app_module, "SYNC_TEXT_FILES", 0)  # sample_logs has ~140 files
    threaded = app.views.threaded
    await pilot.press("slash", *'"getcalleridentity"', "enter")
    await settle(pilot)
    assert app.views.threaded == threaded + 1
    want = int(
        sum(
            1
            for r in range(len(app.store))
            if "getcalleridentity" in app.store.canonical(r).decode().lower()
        )
    )
    assert want > 0 and len(app.view.rows) == want
    assert all(app.store.value(int(r), "event") == "GetCallerIdentity" for r in app.view.rows)
    # The same phrase again (after another filter): cached, so computed inline.
    await pilot.press("slash", "ctrl+u", *"has:error", "enter")
    await settle(pilot)
    await pilot.press("slash", "ctrl+u", *'"getcalleridentity"', "enter")
    await settle(pilot)
    assert app.views.threaded == threaded + 1 and len(app.view.rows) == want


async def test_filter_history_escape_undo_clear(explorer) -> None:
    pilot, app = explorer, explorer.app
    s3 = "service:s3.amazonaws.com"
    inp = app.filter_input
    await apply_filter(pilot, "has:error")
    await apply_filter(pilot, s3)
    assert len(app.view.rows) == expected_rows(app, s3)

    # Up/down walk the history in the input.
    await pilot.press("slash", "ctrl+u")
    assert inp.value == ""
    await pilot.press("up")
    assert inp.value == s3
    await pilot.press("up")
    assert inp.value == "has:error"
    await pilot.press("up")
    assert inp.value == "has:error"  # oldest: stays
    await pilot.press("down")
    assert inp.value == s3
    await pilot.press("down")
    assert inp.value == ""

    # Escape leaves the bar without applying what is typed.
    await pilot.press(*"x:y", "escape")
    await settle(pilot)
    assert isinstance(app.focused, EventList)
    assert app.query_obj.text == s3
    assert inp.value == "x:y"  # the text stays

    # u: back to the previous filter; u again: back to no filter.
    await pilot.press("u")
    await settle(pilot)
    assert app.query_obj.text == "has:error"
    assert inp.value == "has:error"
    assert len(app.view.rows) == 16
    assert "16 / 394 events" in status_text(app)
    await pilot.press("u")
    await settle(pilot)
    assert app.query_obj.text == ""
    assert len(app.view.rows) == 394
    await pilot.press("u")  # nothing earlier
    await wait_for(pilot, lambda: "no earlier filter" in screen_text(app), 3, what="toast")

    # ctrl+x clears.
    await apply_filter(pilot, "has:error")
    assert len(app.view.rows) == 16
    await pilot.press("ctrl+x")
    await settle(pilot)
    assert app.query_obj.text == "" and inp.value == ""
    assert len(app.view.rows) == 394
    assert "filter" not in status_text(app)

    # ... also from inside the filter bar, where ctrl+x would otherwise be Input's cut.
    await apply_filter(pilot, "has:error")
    await pilot.press("slash", "end", *"abc")  # focusing selects all; end keeps the text
    assert inp.has_focus and inp.value == "has:errorabc"
    await pilot.press("ctrl+x")
    await settle(pilot)
    assert app.query_obj.text == "" and inp.value == ""
    assert len(app.view.rows) == 394


# ------------------------------------------------------------------------ 3. facets
async def test_facet_pick_and_exclude(explorer) -> None:
    pilot, app = explorer, explorer.app
    panel = app.query_one(FacetPanel)
    fl = panel.lists[0]
    assert fl.field == "service"
    top = app.store.counts("service", None)
    assert [v for v, _ in fl.rows[:5]] == [v for v, _ in top[:5]]

    fl.focus()
    await pilot.pause()
    assert fl.has_focus_within
    await pilot.press("down")
    value = fl.highlighted_value
    assert value == top[1][0]
    await pilot.press("enter")
    await settle(pilot)
    assert app.query_obj.text == f"service:{quote_value(value)}"
    assert len(app.view.rows) == top[1][1] == expected_rows(app, app.query_obj.text)
    assert all(app.store.value(int(r), "service") == value for r in app.view.rows)
    assert f"{top[1][1]} / 394 events" in status_text(app)

    await pilot.press("ctrl+x")
    await settle(pilot)
    fl.focus()
    await pilot.pause()
    # The highlight stays on the value while the counts change under it.
    assert fl.highlighted_value == value
    await pilot.press("x")
    await settle(pilot)
    assert app.query_obj.text == f"-service:{quote_value(value)}"
    assert len(app.view.rows) == 394 - top[1][1]
    assert not any(app.store.value(int(r), "service") == value for r in app.view.rows)
    # The facet now counts under the new filter: the excluded value is gone from it.
    assert value not in [v for v, _ in fl.rows]


async def test_facet_switch_field_and_narrow(explorer) -> None:
    pilot, app = explorer, explorer.app
    fl = app.query_one(FacetPanel).lists[0]
    fl.focus()
    await pilot.pause()
    await pilot.press("right_square_bracket")
    await settle(pilot)
    assert fl.field == FIELD_NAMES[FIELD_NAMES.index("service") + 1] == "event"
    all_events = app.store.counts("event", None)
    assert [v for v, _ in fl.rows[:10]] == [v for v, _ in all_events[:10]]
    # 60 APIs; the two Insights events count under the API they are about.
    assert " Event  (60)" in screen_text(app)
    await pilot.press("left_square_bracket")
    await settle(pilot)
    assert fl.field == "service"
    await pilot.press(*["right_square_bracket"] * 3)
    await settle(pilot)
    assert fl.field == "ip"

    # A value the facet does not list (it shows the top values only).
    all_ips = app.store.counts("ip", None)
    shown = {v for v, _ in fl.rows}
    hidden = [(v, c) for v, c in all_ips if v not in shown]
    assert hidden, "the sample has more source IPs than a facet lists"
    value, count = hidden[-1]
    # Type a short tail of it, as a user would (narrowing ignores case).
    part = next(
        value[-k:].lower()
        for k in range(3, len(value) + 1)
        if sum(value[-k:].lower() in v.lower() for v, _ in all_ips) <= 3
    )
    await pilot.press("n")
    assert fl.narrowing
    assert isinstance(app.focused, Input)
    await pilot.press(*part)
    await pilot.pause()
    assert value in [v for v, _ in fl.rows]
    assert all(part in v.lower() for v, _ in fl.rows)
    assert sorted(fl.rows) == sorted((v, c) for v, c in all_ips if part in v.lower())
    assert "match" in screen_text(app)  # the title counts the matches
    await pilot.press("enter")  # done typing: back to the rows
    assert isinstance(app.focused, FacetOptions)
    for _ in range(len(fl.rows)):
        if fl.highlighted_value == value:
            break
        await pilot.press("down")
    assert fl.highlighted_value == value
    await pilot.press("enter")
    await settle(pilot)
    assert app.query_obj.text == f"ip:{quote_value(value)}"
    assert len(app.view.rows) == count == expected_rows(app, app.query_obj.text)
    await pilot.press("escape")  # stop narrowing
    assert not fl.narrowing


# ------------------------------------------------------------------- 4/5. detail
async def test_detail_pivot_filter_and_exclude(explorer) -> None:
    pilot, app = explorer, explorer.app
    await pilot.press("G")
    await settle(pilot)
    lst = app.events_list
    assert lst.cursor_index == 393
    row = lst.cursor_row
    ip = app.store.value(row, "ip")
    detail = app.query_one(DetailPane)
    assert detail.row == row
    await pilot.press("tab", "tab")  # list -> timeline -> detail
    assert app.focused is detail

    node = find_node(detail, lambda d: isinstance(d, ValueRef) and d.field == "ip")
    assert node.data.value == ip and node.data.path == ".sourceIPAddress"
    await tree_cursor_to(pilot, detail, node)
    await pilot.press("f")
    await settle(pilot)
    assert app.query_obj.text == f"ip:{quote_value(ip)}"
    want = expected_rows(app, app.query_obj.text)
    assert len(app.view.rows) == want >= 1
    assert all(app.store.value(int(r), "ip") == ip for r in app.view.rows)
    assert row in app.view.rows and detail.row == row
    assert app.focused is detail
    assert f"filter ip:{ip}" in status_text(app)

    await pilot.press("u")
    await settle(pilot)
    assert app.query_obj.text == ""
    assert detail.cursor_node.data.field == "ip"
    await pilot.press("x")
    await settle(pilot)
    assert app.query_obj.text == f"-ip:{quote_value(ip)}"
    assert len(app.view.rows) == 394 - want
    assert all(app.store.value(int(r), "ip") != ip for r in app.view.rows)


async def test_insight_row_and_its_pair(explorer) -> None:
    # The sample's Insights pair lists as the API it is about, and enter on the
    # detail's "Paired End" line moves the list to the End event.
    pilot, app = explorer, explorer.app
    store = app.store
    await apply_filter(pilot, "is:insight")
    rows = [int(r) for r in app.view.rows]
    assert len(rows) == 2
    for r in rows:
        assert (
            store.value(r, "service"),
            store.value(r, "event"),
            store.value(r, "principal"),
        ) == ("ec2.amazonaws.com", "DescribeInstances", "CloudTrail Insights")
    assert "CloudTrail Insights" in screen_text(app)
    start, end = sorted(rows, key=store.time_ms)
    await apply_filter(pilot, "")
    lst = app.events_list
    assert lst.move_to_row(start)
    await settle(pilot)
    detail = app.query_one(DetailPane)
    assert detail.row == start
    await pilot.press("tab", "tab")
    assert app.focused is detail
    node = find_node(detail, lambda d: isinstance(d, PairRef))
    await tree_cursor_to(pilot, detail, node)
    await pilot.press("enter")
    await settle(pilot)
    assert lst.cursor_row == end and detail.row == end
    # hidden by the filter: the list stays, the user is told why
    await apply_filter(pilot, "is:insight until:2026-11-19T14:25")
    assert [int(r) for r in app.view.rows] == [start] and detail.row == start
    await pilot.press("tab", "tab")
    await tree_cursor_to(pilot, detail, find_node(detail, lambda d: isinstance(d, PairRef)))
    await pilot.press("enter")
    await settle(pilot)
    assert lst.cursor_row == start
    assert any("filter hides it" in n for n in toasts(app))


async def test_detail_copy_value_and_event(explorer) -> None:
    pilot, app = explorer, explorer.app
    await pilot.press("down", "down", "down")
    await settle(pilot)
    row = app.events_list.cursor_row
    detail = app.query_one(DetailPane)
    assert detail.row == row
    detail.focus()
    await pilot.pause()

    node = find_node(detail, lambda d: isinstance(d, ValueRef) and d.field == "event")
    await tree_cursor_to(pilot, detail, node)
    await pilot.press("c")
    await pilot.pause()
    assert app.clipboard == app.store.value(row, "event") == node.data.value
    await wait_for(pilot, lambda: "copied value" in screen_text(app), 3, what="the toast")

    # A derived fact (the file location) copies its text but does not filter.
    info = find_node(detail, lambda d: isinstance(d, InfoRef) and d.value.startswith(str(SAMPLE)))
    await tree_cursor_to(pilot, detail, info)
    await pilot.press("c")
    await pilot.pause()
    assert app.clipboard == app.store.location(row)
    await pilot.press("f")
    await settle(pilot)
    assert app.query_obj.text == ""

    await pilot.press("C")
    await pilot.pause()
    canonical = app.store.canonical(row).decode()
    assert app.clipboard == canonical
    assert orjson.loads(app.clipboard)["eventName"] == app.store.value(row, "event")
    await wait_for(pilot, lambda: "copied event JSON" in screen_text(app), 3, what="the toast")


# ---------------------------------------------------------------------- 6. timeline
async def _focus_timeline(pilot) -> Timeline:
    await pilot.press("tab")  # from the list
    tl = pilot.app.query_one(Timeline)
    assert pilot.app.focused is tl
    return tl


def _count_in(app, lo: int, hi: int) -> int:
    t = app.store.times
    return int(((t >= lo) & (t < hi)).sum())


async def _to_busy_bucket(pilot, tl: Timeline, key: str = "left", limit: int = 12) -> None:
    """Move the timeline cursor (by key) until its bucket holds events."""
    for _ in range(limit):
        if tl.hist.counts[tl.cursor] > 0:
            return
        await pilot.press(key)
    assert tl.hist.counts[tl.cursor] > 0


async def test_timeline_zoom_move_and_filter_bucket(explorer) -> None:
    pilot, app = explorer, explorer.app
    # The 2018 guide examples stretch the span to 8 years: look at the 2026 story only.
    await apply_filter(pilot, "since:2026-11-18")
    await pilot.press("G")
    tl = await _focus_timeline(pilot)
    bucket = tl.hist.bucket_ms
    assert tl.hist.counts[tl.cursor] > 0  # the cursor starts on the selected event
    assert "bucket" in screen_text(app)
    await pilot.press("plus")
    assert tl.zoomed and tl.hist.bucket_ms < bucket
    assert "zoom " in screen_text(app)
    await _to_busy_bucket(pilot, tl)
    start = tl.cursor_range()
    step = tl.hist.bucket_ms
    there, back, sign = ("left", "right", -1) if tl.cursor > 0 else ("right", "left", 1)
    await pilot.press(there)
    assert tl.cursor_range() == (start[0] + sign * step, start[1] + sign * step)
    await pilot.press(back)
    assert tl.cursor_range() == start
    lo, hi = tl.cursor_range()
    in_bucket = int(tl.hist.counts[tl.cursor])

    await pilot.press("enter")
    await settle(pilot)
    term = time_range_term(lo, hi)
    assert app.query_obj.text == f"since:2026-11-18 {term}"
    times = app.store.times[app.view.rows]
    assert len(times) == in_bucket == _count_in(app, lo, hi)
    assert ((times >= lo) & (times < hi)).all()
    assert f"filter since:2026-11-18 {term}" in status_text(app)


async def test_timeline_range_filter(explorer) -> None:
    pilot, app = explorer, explorer.app
    await apply_filter(pilot, "since:2026-11-18")
    await pilot.press("G")
    tl = await _focus_timeline(pilot)
    await pilot.press("plus", "left", "left", "left")
    await _to_busy_bucket(pilot, tl)
    first = tl.cursor_range()
    await pilot.press("space")
    assert "range" in screen_text(app)  # the scale line reads out the range
    await pilot.press("right", "right")
    last = tl.cursor_range()
    assert last[0] > first[0]
    await pilot.press("enter")
    await settle(pilot)
    lo, hi = first[0], last[1]
    assert app.query_obj.text == f"since:2026-11-18 {time_range_term(lo, hi)}"
    times = app.store.times[app.view.rows]
    assert len(times) == _count_in(app, lo, hi) > 0
    assert ((times >= lo) & (times < hi)).all()


# ---------------------------------------------------------------- 7. help / palette
async def test_help_and_command_palette(explorer) -> None:
    pilot, app = explorer, explorer.app
    await pilot.press("question_mark")
    await pilot.pause()
    assert isinstance(app.screen, HelpScreen)
    pages = [screen_text(app)]
    assert "trailscope — keys" in pages[0]
    for _ in range(12):  # scroll the help through its pages
        await pilot.press("pagedown")
        await pilot.pause()
        pages.append(screen_text(app))
        if pages[-1] == pages[-2]:
            break
    seen = "\n".join(pages)
    for spec in ACTIONS:
        assert spec.help in seen, spec.id
    for title in ("Everywhere", "Filter bar", "Event list", "Facets", "Detail tree", "Timeline"):
        assert title in seen
    for spec in ACTIONS:  # every key is listed, in its human spelling
        assert key_label(spec.keys) in seen, spec.id
    for keys in ("ctrl+x", "x / -", "end / G / shift+g", "+ / =", "space / v"):
        assert keys in seen
    await pilot.press("escape")
    await pilot.pause()
    assert not isinstance(app.screen, HelpScreen)
    assert "trailscope — keys" not in screen_text(app)

    # The command palette offers the same actions.
    await pilot.press("ctrl+p")
    await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette), 3, what="palette")
    await pilot.press(*"Skipped")
    await wait_for(
        pilot, lambda: "Skipped files  (S)" in screen_text(app), 5, what="the Skipped files command"
    )
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(app.screen, SkippedScreen), 3, what="the screen")
    shown = screen_text(app)
    assert "0 file(s) skipped, partly loaded or read leniently" in shown
    assert "README.md" in shown  # sample_logs/README.md is ignored by name
    await pilot.press("escape")
    await pilot.pause()
    assert not isinstance(app.screen, SkippedScreen)


async def test_list_move_and_detail_pane_share_one_frame(explorer) -> None:
    """A single list move draws the list and the detail pane in the same frame (the
    frame is held until the detail pane has the event); a key that moves nothing does
    not stall drawing."""
    pilot, app = explorer, explorer.app
    lst, pane = app.events_list, app.query_one(DetailPane)
    frames: list[tuple[int | None, int | None]] = []

    def record() -> None:
        frames.append((lst.cursor_row, pane.row))

    app.main.frame_callbacks.append(record)  # after each frame
    for key in ("j", "j", "pagedown", "k"):
        await pilot.pause(0.2)  # separate presses, not a held key
        frames.clear()
        before = lst.cursor_row
        await pilot.press(key)
        await wait_for(
            pilot, lambda before=before: pane.row == lst.cursor_row != before, 3, what="the move"
        )
        await pilot.pause(0.1)
        moved = [f for f in frames if f[0] != before]
        assert moved and all(c == d for c, d in moved), (key, frames)
    await pilot.press("g")
    await pilot.pause(0.2)
    frames.clear()
    await pilot.press("k")  # at the top: nothing moves, nothing posted
    await pilot.press("slash")
    await wait_for(pilot, lambda: len(frames) > 0, 3, what="a frame after the no-op key")
    assert isinstance(app.focused, FilterInput)


@pytest.mark.parametrize("apart_s, held", [(0.15, False), (0.02, True)])
async def test_a_key_handled_late_is_judged_held_by_when_it_came(
    explorer, monkeypatch, apart_s, held
) -> None:
    """Two `j` keys that came `apart_s` apart from the terminal but are handled back to
    back (the UI thread was busy when the first came, as during a big load): the detail
    pane waits for the cursor to rest only when the keys themselves came close together
    (a held key). Keys pressed separately show their event at once."""
    pilot, app = explorer, explorer.app
    lst, pane = app.events_list, app.query_one(DetailPane)
    await pilot.pause(0.2)
    start = lst.cursor_index
    deferred: list[float] = []
    defer = app.main.show_detail_after
    monkeypatch.setattr(app.main, "show_detail_after", lambda s: (deferred.append(s), defer(s)))
    first, second = events.Key("j", "j"), events.Key("j", "j")
    first.time = time.monotonic() - 0.3
    second.time = first.time + apart_s
    app.post_message(first)
    app.post_message(second)
    await wait_for(pilot, lambda: lst.cursor_index == start + 2, 3, what="the two moves")
    await settle(pilot)
    assert bool(deferred) is held, deferred
    assert pane.row == lst.cursor_row


async def test_key_hints_are_compared_once_after_the_frame(explorer, monkeypatch) -> None:
    """Textual signals changed bindings several times in one key (a focus move, each
    reactive change); the hint line compares its hints once, after the frame that
    answers the key, rather than once per signal."""
    pilot, app = explorer, explorer.app
    hints = app.query_one(KeyHints)
    await pilot.pause()
    calls = []
    real = KeyHints.hints
    monkeypatch.setattr(KeyHints, "hints", lambda self: calls.append(1) or real(self))
    for _ in range(5):
        app.screen.refresh_bindings()
    await pilot.pause()
    await pilot.pause()
    assert len(calls) == 1
    assert "Quit" in hints.render().plain


async def test_key_hints_follow_focus_without_new_widgets(explorer) -> None:
    """The bottom line lists the focused pane's keys; a focus move re-renders text only
    (Textual's Footer mounted new key widgets on every focus move and kept some)."""
    pilot, app = explorer, explorer.app
    hints = app.query_one(KeyHints)

    def line() -> str:
        return hints.render().plain

    assert app.focused is app.events_list
    assert "Last" in line() and "Quit" in line() and "Follow" in line()
    assert "Last" in screen_text(app).splitlines()[-1]
    widgets = len(list(app.query("*")))
    await pilot.press("slash")
    await pilot.pause()
    # The bar takes printable keys, so only the others' hints remain.
    assert "Last" not in line() and "Quit" not in line() and "Filter" in line()
    app.query_one(FacetPanel).lists[0].focus()
    await pilot.pause()
    assert "Exclude" in line()
    for _ in range(5):
        await pilot.press("slash", "escape")
    await pilot.pause()
    assert app.focused is app.events_list
    assert len(list(app.query("*"))) == widgets
    # A click on a hint presses its key.
    x = line().index("Last")
    await pilot.click(hints, offset=(x, 0))
    await pilot.pause()
    assert app.events_list.cursor_index == len(app.view.rows) - 1


# ------------------------------------------------------------------- 8. skipped
async def test_skipped_files_screen(tmp_path: Path) -> None:
    write_records(
        trail_path(tmp_path, suffix="good000000000000"),
        [event("A"), event("B", "2026-11-20T10:01:00Z")],
    )
    corrupt = trail_path(tmp_path, when="20261120T1010Z", suffix="corrupt000000000")
    corrupt.write_bytes(b"\x1f\x8b\x08\x00garbage, not deflate data" * 4)
    truncated = trail_path(tmp_path, when="20261120T1015Z", suffix="truncated0000000")
    whole = gzip.compress(orjson.dumps({"Records": [event("C")] * 40}), mtime=0)
    truncated.write_bytes(whole[: len(whole) // 2])
    final = trail_path(tmp_path, when="20261120T1020Z", suffix="inflight00000000")
    inflight = final.with_name(final.name + ".1a2b3c4d")  # aws s3 sync temp name
    inflight.write_bytes(b"half a download")

    app = make_app([tmp_path])
    async with explore(app, (250, 40)) as pilot:  # wide enough for the whole tmp paths
        assert len(app.store) == 2
        status = status_text(app)
        assert "2 / 2 events" in status
        assert "files 1 loaded, 2 skipped (S)" in status
        await pilot.press("S")
        await pilot.pause()
        assert isinstance(app.screen, SkippedScreen)
        assert sorted(p for p, _ in app.screen.skipped) == sorted([str(corrupt), str(truncated)])
        shown = screen_text(app)
        assert "2 file(s) skipped, partly loaded or read leniently" in shown
        assert "1 ignored by name" in shown
        assert corrupt.name in shown and truncated.name in shown
        assert "not valid gzip" in shown
        assert "truncated: gzip stream ends early" in shown
        assert "in-flight download" in shown  # listed, but not counted as skipped
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, SkippedScreen)


async def test_deep_nesting_stops_neither_the_load_nor_the_keys(tmp_path: Path) -> None:
    # Records nested ~985-1021 levels deep used to raise RecursionError in the loader:
    # the explorer sat at "loading 0%" and ignored q.
    from tests.core.test_bad_input import deep_trail

    want = deep_trail(tmp_path)
    app = make_app([tmp_path])
    async with explore(app) as pilot:
        assert len(app.store) == len(want)
        assert "loading" not in status_text(app) and "skipped" not in status_text(app)
        pane = app.query_one(DetailPane)
        for row in range(len(app.store)):
            pane.show(row)
            await pilot.pause()
            assert pane.row == row and pane._event is not None
        await pilot.press("q")
        await pilot.pause()
        assert app.return_code == 0 and not app.is_running


async def test_skipped_screen_shows_lenient_and_damaged_files(tmp_path: Path) -> None:
    from tests.core.test_bad_input import gzip_with_crc_of

    write_records(trail_path(tmp_path, suffix="good000000000000"), [event("A")])
    nan = trail_path(tmp_path, when="20261120T1010Z", suffix="nan0000000000000")
    nan.write_bytes(gzip.compress(b'{"Records":[' + orjson.dumps(event("N"))[:-1] + b',"v":NaN}]}'))
    text = orjson.dumps({"Records": [event(f"D{i}") for i in range(3)]})
    damaged = trail_path(tmp_path, when="20261120T1015Z", suffix="damaged000000000")
    damaged.write_bytes(gzip_with_crc_of(text.replace(b'"D1"', b'"X1"'), text))
    app = make_app([tmp_path])
    async with explore(app, (250, 40)) as pilot:
        assert len(app.store) == 5  # the damaged file's events are kept and counted
        assert "files 2 loaded, 2 skipped (S)" in status_text(app)
        await pilot.press("S")
        await pilot.pause()
        assert isinstance(app.screen, SkippedScreen)
        shown = screen_text(app)
        assert "2 file(s) skipped, partly loaded or read leniently" in shown
        assert "loaded 1 record, read leniently: NaN literal (1 flagged has:lenient)" in shown
        assert (
            "damaged: gzip CRC mismatch: file altered or damaged; 3 records read "
            "(their content may be altered)"
        ) in shown


# ------------------------------------------------------------------ 9. jump to time
async def test_jump_to_time(explorer) -> None:
    pilot, app = explorer, explorer.app
    await pilot.press("t")
    assert isinstance(app.screen, JumpScreen)
    await paste(pilot, "2026-11-19T12:00")
    await pilot.press("enter")
    await pilot.pause()
    assert not isinstance(app.screen, JumpScreen)
    target = parse_jump_time("2026-11-19T12:00", None)
    lst = app.events_list
    i = lst.cursor_index
    times = app.store.times[app.view.rows]
    assert times[i] >= target
    assert i > 0 and times[i - 1] < target  # the first such event
    assert isinstance(app.focused, EventList)
    assert app.query_one(DetailPane).row == lst.cursor_row
    line = screen_text(app).splitlines()[line_of_cursor(lst)]
    assert "2026-11-19T12:" in line  # the cursor row is on screen

    await pilot.press("t")
    await paste(pilot, "yesterday")
    await pilot.press("enter")
    await wait_for(pilot, lambda: "not a time" in screen_text(app), 3, what="the error toast")
    assert lst.cursor_index == i


# ----------------------------------------------------------------------- 10. layout
@pytest.mark.size(200, 50)
async def test_layout_beside_below_and_toggle(explorer) -> None:
    pilot, app = explorer, explorer.app
    work = app.query_one("#work")
    lst, detail = app.query_one(EventList), app.query_one(DetailPane)

    def beside() -> bool:
        return detail.region.x >= lst.region.right and detail.region.y < lst.region.bottom

    def below() -> bool:
        return detail.region.y >= lst.region.bottom and detail.region.width >= lst.region.width

    # Wide: the detail sits beside the list; ctrl+d puts it below and back.
    assert not work.has_class("-stacked") and beside()
    await pilot.press("ctrl+d")
    await pilot.pause()
    assert work.has_class("-stacked") and below()
    await pilot.press("ctrl+d")
    await pilot.pause()
    assert not work.has_class("-stacked") and beside()
    # 80x24: below the list.
    await pilot.resize_terminal(80, 24)
    await pilot.pause()
    assert app.size == (80, 24)
    assert work.has_class("-stacked") and below()
    assert "Time (UTC)" in screen_text(app) and "Detail" in screen_text(app)
    await pilot.resize_terminal(200, 50)
    await pilot.pause()
    assert not work.has_class("-stacked") and beside()


# ---------------------------------------------------------------------- 11. hostile
async def test_hostile_event_through_every_pane(explorer) -> None:
    pilot, app = explorer, explorer.app
    quits: list[int] = []
    real_quit = app.action_quit

    async def spy_quit() -> None:
        quits.append(1)
        await real_quit()

    app.action_quit = spy_quit  # what a [@click=app.quit] would run

    row = hostile_row(app.store)
    ua = app.store.value(row, "ua")
    assert HOSTILE_MARKUP in ua and all(c in ua for c in RAW_CONTROLS)

    # List: select it.
    lst = app.events_list
    assert lst.move_to_row(row)
    await pilot.pause()
    assert lst.cursor_row == row
    cursor_line = screen_text(app).splitlines()[line_of_cursor(lst)]
    assert "⚠" in cursor_line and app.store.value(row, "event") in cursor_line

    # Detail: shown escaped; f filters on it.
    await settle(pilot)
    detail = app.query_one(DetailPane)
    assert detail.row == row
    detail.focus()
    await pilot.pause()
    node = find_node(detail, lambda d: isinstance(d, ValueRef) and d.field == "ua")
    assert node.data.value == ua
    await tree_cursor_to(pilot, detail, node)
    await pilot.press("f")
    await settle(pilot)
    assert app.query_obj.text == add_term("", "ua", ua)
    assert list(app.view.rows) == [row]
    status = status_text(app)
    assert "1 / 394 events" in status
    assert 'filter ua:"aws-cli/1.33.4 \\x1b[31mGRANTED\\x1b[0m \\x9b2J \\u202etxt.exe' in status
    assert not any(c in status for c in RAW_CONTROLS)

    # Facets: show the ua field in the first facet ([ steps back through the fields).
    fl = app.query_one(FacetPanel).lists[0]
    fl.focus()
    await pilot.pause()
    steps = (FIELD_NAMES.index("service") - FIELD_NAMES.index("ua")) % len(FIELD_NAMES)
    await pilot.press(*["left_square_bracket"] * steps)
    await settle(pilot)
    assert fl.field == "ua"
    assert [v for v, _ in fl.rows] == [ua]

    def check_screen() -> str:
        shown = screen_text(app)
        svg = app.export_screenshot()
        for out in (shown, svg):
            assert HOSTILE_MARKUP in out
            for c in RAW_CONTROLS:
                assert c not in out
        return shown

    shown = check_screen()
    lines = shown.splitlines()
    assert "\\x1b[31mGRANTED" in shown and "\\u202etxt.exe" in shown
    # The filter bar, the detail's User agent line and the status line show the markup
    # as text; the (narrow) facet row shows the value's escaped start.
    assert shown.count(HOSTILE_MARKUP) == 3
    assert any("User agent" in ln and HOSTILE_MARKUP in ln for ln in lines)
    assert any(ln.startswith("aws-cli/1.33.4 \\x1b") for ln in lines)
    markup_at = [
        (cell_len(ln[:x]) + 1, y)
        for y, ln in enumerate(lines)
        for x in [ln.find(HOSTILE_MARKUP)]
        if x >= 0
    ]
    assert len(markup_at) == 3

    # A toast over it all (copy: the clipboard gets the raw value, escapes and all).
    detail.focus()
    await pilot.pause()
    assert detail.cursor_node is node
    await pilot.press("c")
    await pilot.pause()
    assert app.clipboard == ua
    await wait_for(pilot, lambda: "copied value" in screen_text(app), 3, what="the toast")
    check_screen()

    # Click on every place the markup was drawn: nothing happens.
    for col, y in markup_at:
        await pilot.click(offset=(col, y))
        await pilot.pause()
    await pilot.click(EventList, offset=(10, 1))  # and the event's own list row
    await pilot.pause(0.1)
    assert app.is_running and app.return_code is None
    assert quits == []


# ---------------------------------------------------------------------- 12. NO_COLOR
async def test_no_color_cursor_still_visible(monkeypatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app()
    async with explore(app, (120, 30)) as pilot:
        assert app.no_color
        await pilot.press("down", "down")
        await pilot.pause()
        lst = app.events_list
        strips = app.screen._compositor.render_strips()
        x0, x1 = lst.content_region.x, lst.content_region.right

        def styles(y: int) -> list:
            out, x = [], 0
            for seg in strips[y]:
                if x0 <= x < x1 and seg.text.strip():
                    out.append(seg.style)
                x += seg.cell_length
            return out

        cur = line_of_cursor(lst)
        assert any(s is not None and s.reverse for s in styles(cur))
        assert not any(s is not None and s.reverse for s in styles(cur + 1))
        assert not any(s is not None and s.reverse for s in styles(cur - 1))


async def test_sixteen_colour_terminal_keeps_text_and_cursor_visible() -> None:
    """On a 16-colour terminal every colour is mapped to the nearest of the 16: no
    text may land on its own background colour, and the cursor row must still stand
    out from its neighbours (mapped with Rich's standard palette)."""
    from rich.color import ColorSystem

    def std(color):
        if color is None or color.is_default:
            return None
        return color.downgrade(ColorSystem.STANDARD).number

    app = make_app()
    async with explore(app, (120, 30)) as pilot:
        await pilot.press("down", "down")
        await pilot.pause()
        strips = app.screen._compositor.render_strips()
        checked = 0
        for y, strip in enumerate(strips):
            for seg in strip:
                st = seg.style
                if st is None or not seg.text.strip() or st.reverse:
                    continue
                fg, bg = std(st.color), std(st.bgcolor)
                if fg is not None and bg is not None:
                    checked += 1
                    assert fg != bg, f"row {y}: {seg.text!r} unreadable in 16 colours"
        assert checked > 100  # the screen really was looked at

        lst = app.events_list
        x0, x1 = lst.content_region.x, lst.content_region.right

        def row_bgs(y: int) -> set:
            out, x = set(), 0
            for seg in strips[y]:
                if x0 <= x < x1 and seg.style is not None:
                    out.add(std(seg.style.bgcolor))
                x += seg.cell_length
            return out

        cur = line_of_cursor(lst)
        assert row_bgs(cur) != row_bgs(cur + 1)
        assert row_bgs(cur) != row_bgs(cur - 1)


# ---------------------------------------------------------------------- 13. live tail
def _deliver(final: Path, records: list[dict]) -> None:
    """Write a trail file the way `aws s3 sync` does: temp name, then rename."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(final.name + ".0a1b2c3d")
    tmp.write_bytes(gzip.compress(orjson.dumps({"Records": records}), mtime=0))
    os.rename(tmp, final)


async def test_costly_commits_are_spaced_while_tailing(tmp_path: Path) -> None:
    """Each commit costs the UI thread O(store); on a big store the pump spaces them so
    they take at most CommitPacer.share of its time (and wait CommitPacer.max_gap at most)."""
    from tui.core.batch import parse_file

    write_records(trail_path(tmp_path, suffix="base000000000000"), [event("Base")])
    app = make_app([tmp_path])
    async with explore(app, (120, 30)) as pilot:
        store = app.store
        real_commit = store.commit

        def slow_commit():  # as a commit on a ~1M-event store
            time.sleep(0.03)
            return real_commit()

        store.commit = slow_commit
        paths = [
            write_records(trail_path(tmp_path, suffix=f"more{k:012d}"), [event(f"E{k}")])
            for k in range(3)
        ]
        store.add(parse_file(str(paths[0])))
        app.pump()
        assert not store.pending_events  # committed, and measured
        gap = app.commits.gap
        assert 0.03 / app.commits.share <= gap <= app.commits.max_gap
        store.add(parse_file(str(paths[1])))
        app.pump()
        assert store.pending_events  # too soon after a costly commit: left for later
        await pilot.pause(gap)
        app.pump()
        assert not store.pending_events
        assert len(store) == 3


async def test_commits_wait_for_a_new_filters_frame(tmp_path: Path) -> None:
    """A commit due between a filter's handler and its frame runs after the frame (it
    would add its cost to the key); with no frame coming (another screen is up), it
    waits RedrawPacer.filter_frame_hold_s at most."""
    from tui.core.batch import parse_file

    write_records(trail_path(tmp_path, suffix="base000000000000"), [event("Base")])
    app = make_app([tmp_path])
    async with explore(app, (120, 30)) as pilot:
        store = app.store
        frames = []
        # Before the app's own frame callback, which may run the commit.
        app.main.frame_callbacks.insert(0, lambda: frames.append(store.pending_events))
        paths = [
            write_records(trail_path(tmp_path, suffix=f"late{k:012d}"), [event(f"Late{k}")])
            for k in range(2)
        ]
        store.add(parse_file(str(paths[0])))
        app.set_filter("event:Base")  # the view is applied now; its frame comes later
        app.pump()
        assert store.pending_events  # held for the frame
        await wait_for(
            pilot, lambda: not store.pending_events, 3, what="the commit after the frame"
        )
        assert frames and frames[0] == 1  # the filter's frame was drawn before the commit
        assert len(store) == 2 and len(app.view.rows) == 1

        await pilot.press("question_mark")  # the main screen stops drawing
        assert isinstance(app.screen, HelpScreen)
        store.add(parse_file(str(paths[1])))
        app.set_filter("event:Late0")
        app.pump()
        assert store.pending_events
        await pilot.pause(app.redraw.filter_frame_hold_s + 0.05)
        app.pump()
        assert not store.pending_events and len(store) == 3


async def test_new_value_marks_redraw_the_list_only_when_needed(tmp_path: Path) -> None:
    """More marks for a field the list already watches leave its cached rows alone
    (they are for values no drawn row holds); a field's first marks and expiring
    marks redraw every row."""
    write_records(
        trail_path(tmp_path, suffix="base000000000000"),
        [event(f"E{i}", f"2026-11-20T10:{i:02d}:00Z", ip=f"203.0.113.{i}") for i in range(5)],
    )
    app = make_app([tmp_path])
    async with explore(app, (160, 40)) as pilot:
        lst = app.events_list
        store = app.store
        ips = store.values("ip")
        fresh, t0 = app.fresh, time.monotonic()
        fresh.add({"ip": [ips.index("203.0.113.1")]}, t0)
        gen = lst._generation
        app.main.show_fresh(fresh.live(), expired=False)  # the field's first marks
        assert lst._generation == gen + 1
        await pilot.pause()
        assert lst._get_styles()["fresh"].underline

        def underlined(ip: str) -> bool:
            rows = [store.value(int(r), "ip") for r in app.view.rows]
            y = rows.index(ip) + 1  # below the header line
            return any(seg.style is not None and seg.style.underline for seg in lst.render_line(y))

        assert underlined("203.0.113.1") and not underlined("203.0.113.3")
        fresh.add({"ip": [ips.index("203.0.113.2")]}, t0 + 1)
        app.main.show_fresh(fresh.live(), expired=False)
        assert lst._generation == gen + 1  # cached rows kept
        assert fresh.expire(t0 + fresh.seconds + 0.5)  # the first mark only
        assert set(fresh.live()["ip"]) == {ips.index("203.0.113.2")}
        app.main.show_fresh(fresh.live(), expired=True)
        assert lst._generation == gen + 2


async def test_live_tail_follow_new_and_fresh(tmp_path: Path) -> None:
    base = [
        event("GetObject", f"2026-11-20T10:{i:02d}:00Z", source="s3.amazonaws.com")
        for i in range(20)
    ]
    write_records(trail_path(tmp_path, when="20261120T1025Z", suffix="first00000000000"), base)
    app = make_app([tmp_path], watch=True, rescan_s=1.0)
    async with explore(app, (160, 40)) as pilot:
        await wait_for(pilot, lambda: app.tailing, 5, what="tailing")
        lst = app.events_list
        assert len(app.view.rows) == 20 and lst.cursor_index == 0

        await pilot.press("F")
        assert app.follow
        assert lst.cursor_index == 19
        assert "FOLLOW" in status_text(app)
        focused = app.focused
        assert isinstance(focused, EventList)

        new_ip = "203.0.113.250"
        new_key = "AKIAFRESHKEY0001"
        identity = {
            "type": "IAMUser",
            "principalId": "AIDANEW",
            "accountId": "111122223333",
            "arn": "arn:aws:iam::111122223333:user/mallory",
            "userName": "mallory",
            "accessKeyId": new_key,
        }
        _deliver(
            trail_path(tmp_path, when="20261120T1100Z", suffix="second0000000000"),
            [
                event(
                    "CreateAccessKey",
                    "2026-11-20T10:59:00Z",
                    ip=new_ip,
                    identity=identity,
                    source="iam.amazonaws.com",
                )
            ],
        )
        await wait_for(
            pilot,
            lambda: app.view is not None and len(app.view.rows) == 21,
            10,
            what="the new event",
        )
        await settle(pilot)
        assert len(app.store) == 21
        newest = int(app.view.rows[-1])
        assert app.store.value(newest, "ip") == new_ip
        # Follow with the cursor at the end: the cursor moves to the newest row.
        assert lst.cursor_index == 20 and lst.cursor_row == newest
        assert app.query_one(DetailPane).row == newest
        assert app.focused is focused
        await wait_for(pilot, lambda: "21 / 21 events" in status_text(app), 3, what="status")
        assert "/min" in status_text(app)
        assert "new (N)" not in status_text(app)
        # Values first seen while tailing are marked.
        ip_code = app.store.values("ip").index(new_ip)
        old_ip_code = app.store.values("ip").index("198.51.100.7")
        assert ip_code in lst.fresh_codes["ip"]
        assert old_ip_code not in lst.fresh_codes["ip"]
        assert app.store.values("principal").index(identity["arn"]) in lst.fresh_codes["principal"]
        assert app.store.values("key").index(new_key) in lst.fresh_codes["key"]
        ip_facet = app.query_one(FacetPanel).lists[2]
        assert ip_facet.field == "ip" and new_ip in ip_facet.fresh

        # Scrolled away (g), with the filter bar focused: arrivals are counted, the
        # cursor and the focus stay put.
        await pilot.press("g")
        assert lst.cursor_index == 0
        first_row = lst.cursor_row
        await pilot.press("slash", "end", *"abc")  # focusing selects all; end keeps the text
        focused = app.focused
        assert isinstance(focused, FilterInput)
        _deliver(
            trail_path(tmp_path, when="20261120T1105Z", suffix="third00000000000"),
            [
                event("GetObject", "2026-11-20T11:01:00Z", source="s3.amazonaws.com"),
                event("GetObject", "2026-11-20T11:02:00Z", source="s3.amazonaws.com"),
            ],
        )
        await wait_for(pilot, lambda: len(app.view.rows) == 23, 10, what="two more events")
        await settle(pilot)
        assert lst.cursor_index == 0 and lst.cursor_row == first_row
        assert app.focused is focused and focused.value == "abc"
        await wait_for(pilot, lambda: "+2 new (N)" in status_text(app), 3, what="+2 new")
        assert "23 / 23 events" in status_text(app)

        await pilot.press("escape", "N")
        assert lst.cursor_index == 22
        assert lst.cursor_row == int(app.view.rows[-1])
        assert "new (N)" not in status_text(app)

        # The facet row of a new value is drawn marked; once the marks expire, the mark
        # goes from the facet row and the list (they watch the app's marks live).
        def ip_row_marked() -> bool:
            y = [v for v, _ in ip_facet._shown].index(new_ip)
            return any(
                seg.style is not None
                and seg.style.bold
                and seg.style.underline
                and seg.text.strip()
                and new_ip.startswith(seg.text.strip())
                for seg in ip_facet.query_one(FacetOptions).render_line(y)
            )

        assert ip_row_marked()
        app.tick(now=time.monotonic() + app.fresh.seconds + 1)  # two minutes on
        await settle(pilot)
        assert not ip_row_marked()
        assert new_ip not in ip_facet.fresh
        assert ip_code not in lst.fresh_codes.get("ip", ())


async def test_live_tail_without_follow_keeps_cursor(tmp_path: Path) -> None:
    base = [event("ListBuckets", f"2026-11-20T10:{i:02d}:00Z") for i in range(5)]
    write_records(trail_path(tmp_path, when="20261120T1010Z", suffix="first00000000000"), base)
    app = make_app([tmp_path], watch=True, rescan_s=1.0)
    async with explore(app, (120, 30)) as pilot:
        await wait_for(pilot, lambda: app.tailing, 5, what="tailing")
        lst = app.events_list
        await pilot.press("G")
        assert lst.cursor_index == 4 and not app.follow
        row = lst.cursor_row
        # A new day folder: found by the watcher or the periodic rescan.
        _deliver(
            trail_path(tmp_path, when="20261121T0005Z", suffix="second0000000000"),
            [event("ListBuckets", "2026-11-21T00:01:00Z")],
        )
        await wait_for(pilot, lambda: len(app.view.rows) == 6, 10, what="the new event")
        await settle(pilot)
        assert lst.cursor_row == row and lst.cursor_index == 4
        await wait_for(pilot, lambda: "+1 new (N)" in status_text(app), 3, what="+1 new")
        await pilot.press("N")
        assert lst.cursor_index == 5
        assert "new (N)" not in status_text(app)


async def test_live_tail_redraw_waits_for_keys_but_commits(tmp_path: Path) -> None:
    """While keys come in, arrivals are committed (queryable) but the panes are redrawn
    only once the keys pause (or after RedrawPacer.max_view_defer_s); once the list shows
    them, facets and timeline still wait for the pause (or max_panels_defer_s)."""
    base = [event("ListBuckets", f"2026-11-20T10:{i:02d}:00Z") for i in range(30)]
    write_records(trail_path(tmp_path, when="20261120T1030Z", suffix="first00000000000"), base)
    app = make_app([tmp_path], watch=True, rescan_s=1.0)
    app.redraw.max_view_defer_s = 60.0
    app.redraw.max_panels_defer_s = 60.0
    app.redraw.quiet_s = 1.5  # slack for a slow machine
    async with explore(app, (120, 30)) as pilot:
        await wait_for(pilot, lambda: app.tailing, 5, what="tailing")
        _deliver(
            trail_path(tmp_path, when="20261120T1035Z", suffix="second0000000000"),
            [event("PutObject", "2026-11-20T10:31:00Z") for _ in range(4)],
        )
        deadline = time.monotonic() + 10
        while len(app.store) < 34 and time.monotonic() < deadline:
            await pilot.press("j", "k")
            await pilot.pause(0.05)
        assert len(app.store) == 34  # committed: a query sees them
        for _ in range(8):  # keys keep coming: the list is not redrawn under them
            await pilot.press("j", "k")
            await pilot.pause(0.05)
            assert len(app.view.rows) == 30
        # Keys pause: the arrivals show up.
        await wait_for(pilot, lambda: len(app.view.rows) == 34, 5, what="the deferred redraw")
        await wait_for(pilot, lambda: "34 / 34 events" in status_text(app), 3, what="status")

        # With the default cap, a key held down forever still lets arrivals in.
        app.redraw.max_view_defer_s = 0.5
        _deliver(
            trail_path(tmp_path, when="20261120T1040Z", suffix="third00000000000"),
            [event("PutObject", "2026-11-20T10:32:00Z")],
        )
        deadline = time.monotonic() + 10
        while len(app.view.rows) < 35 and time.monotonic() < deadline:
            await pilot.press("j")
            await pilot.pause(0.05)
        assert len(app.view.rows) == 35
        # The list has them; facets and timeline wait until the keys pause.
        facet = app.query_one(FacetPanel).lists[0]
        timeline = app.query_one(Timeline)
        for _ in range(6):
            await pilot.press("j")
            await pilot.pause(0.05)
            assert facet._total == 34 and len(timeline._times) == 34
        await wait_for(
            pilot,
            lambda: facet._total == 35 and len(timeline._times) == 35,
            5,
            what="the facets after the keys pause",
        )


async def test_filter_draws_list_detail_facets_and_timeline_in_one_frame(explorer) -> None:
    """A new filter reaches the list, the detail pane, the facets and the timeline in
    the same frame (whatever the trail size: a second frame costs a screen tick)."""
    pilot, app = explorer, explorer.app
    lst, pane = app.events_list, app.query_one(DetailPane)
    facet = app.query_one(FacetPanel).lists[0]
    timeline = app.query_one(Timeline)
    frames: list[tuple[int, int, int, int]] = []  # list rows, facet total, timeline n, pane

    def record() -> None:
        frames.append((len(lst.rows), facet._total, len(timeline._times), pane.row))

    app.main.frame_callbacks.append(record)  # after each frame
    await apply_filter(pilot, "has:error")
    n = len(app.view.rows)
    assert 0 < n < len(app.store)
    first = next(f for f in frames if f[0] == n)
    done = (n, n, n, lst.cursor_row)
    assert frames[-1] == done
    assert first == done, frames


async def test_a_big_views_facets_and_timeline_follow_the_first_frame(
    explorer, monkeypatch
) -> None:
    """Over a view too big to count in a frame's budget (PANELS_INLINE_MAX rows) whose
    facets are not all taken with the view (here a JSON-path facet, counted when drawn),
    a new filter's first frame has the list, the detail pane and the status line; the
    facets and the timeline come in a later frame, with the view's counts, and the app
    is not settled until they have."""
    import tui.main_screen

    monkeypatch.setattr(tui.main_screen, "PANELS_INLINE_MAX", 5)
    pilot, app = explorer, explorer.app
    lst, pane = app.events_list, app.query_one(DetailPane)
    app.query_one(FacetPanel).lists[-1].set_field("requestParameters.bucketName")
    await settle(pilot)
    facet = app.query_one(FacetPanel).lists[0]
    timeline = app.query_one(Timeline)
    frames: list[tuple[int, int, int, int, int]] = []
    settled: list[bool] = []

    def record() -> None:
        frames.append(
            (len(lst.rows), app.status.matching, pane.row, facet._total, len(timeline._times))
        )
        settled.append(app.settled)

    app.main.frame_callbacks.append(record)
    total = len(app.store)
    await apply_filter(pilot, "has:error")
    v = app.view
    n = len(v.rows)
    assert 5 < n < total
    i = next(i for i, f in enumerate(frames) if f[0] == n)
    assert frames[i] == (n, n, lst.cursor_row, total, total), frames
    assert not settled[i]
    assert frames[-1] == (n, n, lst.cursor_row, n, n)
    # The facet's counts are the view's, counted directly.
    direct: dict[str, int] = {}
    for r in v.rows.tolist():
        value = app.store.value(r, facet.field)
        direct[value] = direct.get(value, 0) + 1
    assert dict(facet.rows) == direct


async def test_a_big_views_facets_taken_with_the_view_go_out_in_its_first_frame(
    explorer, monkeypatch
) -> None:
    """Over a view of more than PANELS_INLINE_MAX rows whose facets are stored fields,
    the counts and top values are taken with the view (compute_view's facet_top), so
    the list, detail pane, status line, facets and timeline go out in one frame, with
    the view's counts."""
    import tui.main_screen

    monkeypatch.setattr(tui.main_screen, "PANELS_INLINE_MAX", 5)
    pilot, app = explorer, explorer.app
    lst, pane = app.events_list, app.query_one(DetailPane)
    facets = app.query_one(FacetPanel).lists
    timeline = app.query_one(Timeline)
    frames: list[tuple[int, int, int, tuple[int, ...], int]] = []
    app.main.frame_callbacks.append(
        lambda: frames.append(
            (
                len(lst.rows),
                app.status.matching,
                pane.row,
                tuple(fl._total for fl in facets),
                len(timeline._times),
            )
        )
    )
    total = len(app.store)
    await apply_filter(pilot, "has:error")
    v = app.view
    n = len(v.rows)
    assert 5 < n < total
    first = next(f for f in frames if f[0] == n)
    assert first == (n, n, lst.cursor_row, (n,) * len(facets), n), frames
    for fl in facets:
        direct: dict[str, int] = {}
        for r in v.rows.tolist():
            value = app.store.value(r, fl.field)
            direct[value] = direct.get(value, 0) + 1
        assert dict(fl.rows) == direct, fl.field


async def test_the_view_of_every_event_goes_out_in_one_frame_at_any_size(
    explorer, monkeypatch
) -> None:
    """Clearing the filter: however many events, the facets come from the store's
    per-commit counts, so they and the timeline go out with the list, in one frame."""
    import tui.main_screen

    monkeypatch.setattr(tui.main_screen, "PANELS_INLINE_MAX", 5)
    pilot, app = explorer, explorer.app
    lst = app.events_list
    facet = app.query_one(FacetPanel).lists[0]
    timeline = app.query_one(Timeline)
    frames: list[tuple[int, int, int, int]] = []
    app.main.frame_callbacks.append(
        lambda: frames.append(
            (len(lst.rows), app.status.matching, facet._total, len(timeline._times))
        )
    )
    total = len(app.store)
    await apply_filter(pilot, "has:error")
    assert 5 < len(app.view.rows) < total
    frames.clear()
    lst.focus()
    await pilot.press("ctrl+x")
    await settle(pilot)
    assert app.query_obj.text == "" and len(app.view.rows) == total
    first = next(f for f in frames if f[0] == total)
    assert first == (total, total, total, total), frames


async def test_a_keys_panes_reach_the_terminal_in_one_frame(explorer) -> None:
    """What is painted, not only what the panes hold when a frame is drawn: the frame
    that repaints the list after a list key repaints the detail pane too, and a new
    filter's frame repaints the list, facets, timeline, detail pane and the bar's focus
    (handled in the screen's own task, they once went out in two frames)."""
    pilot, app = explorer, explorer.app
    frames = painted_frames(app)

    def first_with(name: str) -> set[str]:
        return next(f for f in frames if name in f or "*" in f)

    for key in ("j", "j", "pagedown"):
        await pilot.pause(0.2)  # separate presses, not a held key
        frames.clear()
        before = app.events_list.cursor_row
        await pilot.press(key)
        await wait_for(
            pilot, lambda before=before: app.query_one(DetailPane).row != before, 3, what="the move"
        )
        await pilot.pause(0.1)
        first = first_with("EventList")
        assert "*" in first or "DetailPane" in first, (key, frames)
    await pilot.press("slash", "end", "ctrl+u")
    await paste(pilot, "has:error")
    await pilot.pause(0.2)
    frames.clear()
    row = app.events_list.cursor_row
    await pilot.press("enter")
    await settle(pilot)
    assert app.events_list.cursor_row != row  # the detail pane changes too
    first = first_with("EventList")
    assert "*" in first or {"FacetOptions", "Timeline", "DetailPane", "FilterInput"} <= first, (
        frames
    )


async def test_focus_moves_do_not_redraw_the_whole_screen(explorer) -> None:
    """Applying a filter moves the focus from the bar to the list; Textual's Screen
    would repaint every widget for that (a full update). Only what changed is drawn."""
    pilot, app = explorer, explorer.app
    compositor = app.screen._compositor
    full = partial = 0
    full_update, partial_update = compositor.render_full_update, compositor.render_partial_update

    def count_full(*a, **kw):
        nonlocal full
        full += 1
        return full_update(*a, **kw)

    def count_partial(*a, **kw):
        nonlocal partial
        partial += 1
        return partial_update(*a, **kw)

    compositor.render_full_update, compositor.render_partial_update = count_full, count_partial
    await pilot.press("slash")
    await pilot.pause()
    assert app.filter_input.has_focus
    await apply_filter(pilot, "has:error")
    assert app.events_list.has_focus
    await pilot.press("tab")
    await pilot.pause()
    assert full == 0 and partial > 0


async def test_filter_shows_the_cursor_event_at_once_even_with_a_detail_update_pending(
    explorer,
) -> None:
    """Held keys (and arrivals' cursor moves while tailing) put the detail pane's update
    off until the cursor rests; a new filter must not wait for that: its first frame
    has the pane on the cursor's event (measured while tailing: one frame later)."""
    pilot, app = explorer, explorer.app
    lst, pane = app.events_list, app.query_one(DetailPane)
    frames: list[tuple[int, int | None, int | None]] = []

    def record() -> None:
        frames.append((len(lst.rows), pane.row, lst.cursor_row))

    await pilot.press("slash", "end", "ctrl+u")
    await paste(pilot, "has:error")
    # A deferred detail update, as a held key leaves behind (far in the future here).
    app.main.show_detail_after(30.0)
    app.main.frame_callbacks.append(record)  # after each frame
    await pilot.press("enter")
    await settle(pilot)
    n = len(app.view.rows)
    assert 0 < n < len(app.store)
    first = next(f for f in frames if f[0] == n)
    assert first[1] == first[2] is not None, frames
    assert not app.main.detail_pending


async def test_young_objects_are_collected_while_keys_pause(explorer) -> None:
    """Once loaded, young-generation collections (tens of ms with a busy heap) run in
    the pauses between keys rather than in the middle of handling one."""
    import gc

    pilot, app = explorer, explorer.app
    policy = app.gc_policy
    assert gc.get_threshold()[0] == policy.young_threshold
    keep = [[i] for i in range(policy.idle_min * 2)]  # young, tracked, alive
    assert gc.get_count()[0] >= policy.idle_min
    await pilot.press("j")  # a key: nothing is collected right after it
    await pilot.pause(policy.idle_s * 3)
    assert gc.get_count()[0] < policy.idle_min
    assert len(keep) == policy.idle_min * 2


async def test_facet_columns_built_after_load_and_kept_current_while_tailing(
    tmp_path: Path,
) -> None:
    """The facet fields' time-ordered columns are built once the trail is loaded (not in
    the first filter's keypress) and stay equal to codes[order] as events arrive."""
    write_records(
        trail_path(tmp_path, suffix="first00000000000"),
        [event("GetObject", f"2026-11-20T10:{i:02d}:00Z", ip=f"10.0.0.{i}") for i in range(20)],
    )
    app = make_app([tmp_path], watch=True, rescan_s=1.0)
    async with explore(app, (160, 40)) as pilot:
        store = app.store
        fields = app.query_one(FacetPanel).fields

        def built() -> bool:
            return all(store.time_order.built(FIELD_NAMES.index(f)) for f in fields)

        await wait_for(pilot, built, 5, what="the facet columns")
        await wait_for(pilot, lambda: app.tailing, 5, what="tailing")
        _deliver(
            trail_path(tmp_path, when="20261120T1100Z", suffix="second0000000000"),
            [event("PutObject", "2026-11-20T10:05:30Z", ip="203.0.113.9")],
        )
        await wait_for(pilot, lambda: len(store) == 21, 10, what="the new event")
        order = store.ordered()
        for f in fields:
            in_order = store.time_order.column(FIELD_NAMES.index(f))
            assert np.array_equal(in_order, store.codes(f)[order])


# ------------------------------------------------------- live tail: what it counts
def _today(hhmm: str = "0005") -> str:
    """A `when` for trail_path in today's (UTC) day folder: one the tail watches."""
    from datetime import UTC, datetime

    return datetime.now(UTC).strftime("%Y%m%dT") + hhmm + "Z"


async def test_live_tail_with_a_relative_path(tmp_path: Path, monkeypatch) -> None:
    """The explorer on `live`, opened from its parent folder: each arrival keeps one
    name (the status once showed "files 16 loaded, 4 gone" for 12 files, 1 deleted)."""
    monkeypatch.chdir(tmp_path)
    live = Path("live")
    first = write_records(trail_path(live, when=_today()), [event("A")])
    app = make_app([live], watch=True, rescan_s=0.3)
    async with explore(app, (160, 40)) as pilot:
        await wait_for(pilot, lambda: app.tailing, 5, what="tailing")
        for i, name in enumerate("BC"):
            _deliver(trail_path(live, when=_today(f"001{i}"), suffix=name * 16), [event(name)])
        await wait_for(pilot, lambda: len(app.store) == 3, 10, what="the arrivals")
        await pilot.pause(1.0)  # rescans pass
        assert "files 3 loaded" in status_text(app) and "gone" not in status_text(app)
        os.remove(first)
        await wait_for(pilot, lambda: "gone" in status_text(app), 5, what="the deletion")
        await pilot.pause(0.7)
        assert "files 3 loaded, 1 gone" in status_text(app)
        assert not [n for n in toasts(app) if "rewritten" in n]


async def test_the_load_is_not_counted_as_arrivals(tmp_path: Path) -> None:
    """Events still uncommitted when loading ends are part of the load: on a trail that
    does not change, the status shows no "+N new" and a rate of 0/min (it once showed
    "+45,000 new · 45,000/min" on 200k events); only later files count."""
    # Every commit is followed by the longest pause before the next (as on a big store).
    for f in range(600):
        write_records(
            trail_path(tmp_path, when=f"20261120T{f // 60:02d}{f % 60:02d}Z", suffix=f"{f:016d}"),
            [event(f"E{f}", f"2026-11-20T{f // 60:02d}:{f % 60:02d}:0{k}Z") for k in range(5)],
        )
    app = make_app([tmp_path], watch=True, rescan_s=1.0)
    app.commits.share, app.commits.max_gap = 1e-9, 3.0
    async with run(app, (160, 40)) as pilot:
        await wait_for(pilot, lambda: app.tailing, 30, what="tailing")
        await wait_for(
            pilot,
            lambda: len(app.store) == 3000 and not app.store.pending_events,
            10,
            what="every loaded event committed",
        )
        await pilot.pause(1.0)
        await settle(pilot)
        assert app.status.new_pending == 0 and not app.fresh.live()
        assert "new (N)" not in status_text(app) and "  0/min" in status_text(app)
        # A file that lands now is an arrival.
        _deliver(
            trail_path(tmp_path, when=_today(), suffix="late000000000000"),
            [event("Late", "2026-11-20T09:00:00Z", ip=f"203.0.113.{i}") for i in range(3)],
        )
        await wait_for(pilot, lambda: "+3 new (N)" in status_text(app), 10, what="+3 new")
        assert "  3/min" in status_text(app)


async def test_skipped_file_that_completes_leaves_the_skipped_screen(tmp_path: Path) -> None:
    """A file truncated when the explorer loaded it, and complete later, loads and
    leaves the Skipped screen (S) and the status's count; it was never "rewritten"."""
    write_records(trail_path(tmp_path, when=_today()), [event("Whole")])
    p = trail_path(tmp_path, when=_today("0010"), suffix="t" * 16)
    full = gzip.compress(orjson.dumps({"Records": [event(f"E{i}") for i in range(50)]}))
    p.write_bytes(full[: len(full) // 2])
    app = make_app([tmp_path], watch=True, rescan_s=0.3)
    async with explore(app, (160, 40)) as pilot:
        await wait_for(pilot, lambda: app.tailing, 5, what="tailing")
        await wait_for(
            pilot,
            lambda: "files 1 loaded, 1 skipped" in status_text(app),
            5,
            what="the truncated file counted as skipped",
        )
        p.write_bytes(full)
        await wait_for(pilot, lambda: len(app.store) == 51, 10, what="the completed file")
        await pilot.pause(0.7)  # rescans pass
        await wait_for(
            pilot,
            lambda: "skipped" not in status_text(app) and "files 2 loaded" in status_text(app),
            5,
            what="the status line to drop the skipped file",
        )
        await pilot.press("S")
        assert isinstance(app.screen, SkippedScreen) and app.screen.skipped == []
        assert "0 file(s) skipped" in screen_text(app)
        assert not [n for n in toasts(app) if "rewritten" in n]


async def test_polling_shows_in_the_status_line(tmp_path: Path) -> None:
    write_records(trail_path(tmp_path, when=_today()), [event("A")])
    app = make_app([tmp_path], watch=True, poll=True, rescan_s=30.0)
    async with explore(app, (160, 40)) as pilot:
        await wait_for(pilot, lambda: app.tailing, 5, what="tailing")
        # The status line is redrawn on the next tick after tailing starts.
        await wait_for(pilot, lambda: "polling" in status_text(app), 5, what="'polling' shown")
        _deliver(trail_path(tmp_path, when=_today("0010"), suffix="p" * 16), [event("B")])
        await wait_for(pilot, lambda: len(app.store) == 2, 10, what="a file found by polling")
    app = make_app([tmp_path], watch=True, rescan_s=30.0)
    async with run(app, (160, 40)) as pilot:
        await wait_for(pilot, lambda: app.tailing, 10, what="tailing")
        assert "polling" not in status_text(app)


APP_WATCH_LIMIT_PROBE = """
import asyncio, json, sys
from tests.conftest import status_text, toasts
from tui.app import TrailscopeApp

async def main():
    app = TrailscopeApp([sys.argv[1]], watch=True, rescan_s=0.3)
    async with app.run_test(size=(160, 40), notifications=True) as pilot:
        for _ in range(300):
            await pilot.pause(0.05)
            if app.tailing and app.status.tail_mode == "rescan":
                break
        await pilot.pause(1.5)  # rescans pass: nothing is said twice
        print(json.dumps({"status": status_text(app),
                          "notes": toasts(app)}))

asyncio.run(main())
"""


@pytest.mark.timeout(90)
def test_watch_limit_shows_in_the_status_line(tmp_path: Path) -> None:
    """Out of OS file watches (a real inotify limit of 3, in a user namespace of the
    explorer's own): one toast says so, the status line says it is rescanning."""
    import subprocess
    import sys

    from tests.core.test_tail import _userns_watch_limit

    prefix = _userns_watch_limit(3)
    if prefix is None:
        pytest.skip("no user namespaces here: cannot set a real inotify watch limit")
    for d in range(1, 8):
        write_records(
            trail_path(tmp_path, when=f"202611{d:02d}T0000Z", suffix=f"{d:016d}"), [event(f"D{d}")]
        )
    out = subprocess.run(
        [*prefix, sys.executable, "-c", APP_WATCH_LIMIT_PROBE, str(tmp_path)],
        capture_output=True,
        timeout=80,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert out.returncode == 0, out.stderr.decode()[-2000:]
    got = orjson.loads(out.stdout.splitlines()[-1])
    assert "no file watch: rescanning" in got["status"]
    assert len(got["notes"]) == 1 and "ran out of file watches" in got["notes"][0]


async def test_a_status_update_after_the_panes_are_gone_is_dropped(tmp_path: Path) -> None:
    """The once-a-second tick can come while the explorer closes, after its panes are
    removed: it must not raise (a raise there failed the app's exit)."""
    write_records(trail_path(tmp_path), [event("A")])
    app = make_app([tmp_path])
    async with explore(app) as pilot:
        assert len(app.store) == 1
        app.tailing = True  # the tick updates the status line while following
        await app.events_list.remove()
        await pilot.pause()
        app.tick()


async def test_keys_typed_ahead_after_slash_go_to_the_filter(tmp_path: Path) -> None:
    """`/` and the filter typed in one burst (one read of the terminal: typed ahead,
    pasted, batched by SSH) all reach the filter bar: none runs as a list action (`e`
    exports, `i` opens a card, `s` saves the filter)."""
    write_records(trail_path(tmp_path), [event("A"), event("B", "2026-11-20T10:01:00Z")])
    app = make_app([tmp_path])
    async with explore(app) as pilot:
        app.events_list.focus()
        await pilot.pause()
        main = app.screen
        burst = [events.Key("slash", "/")] + [events.Key(c, c) for c in "service"]
        for key in burst:
            app.post_message(key)
        await pilot.pause()
        await pilot.pause()
        assert app.screen is main  # no export dialog, card or prompt
        assert app.focused is app.filter_input
        assert app.filter_input.value == "service"
