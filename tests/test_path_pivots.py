"""Pilot tests of path pivots in the explorer: f / x / Enter on any leaf of the event
JSON filters on its exact path (never free text), derived lines filter on the field or
path they came from, and `o` opens any path as a facet."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import (
    explore,
    make_app,
    screen_text,
    settle,
    status_text,
    wait_for,
)
from tests.trailgen import REALDATA, event, trail_path, write_records
from tui.core.paths import format_path, parse_path
from tui.core.query import parse, term_for
from tui.core.sanitize import is_clean
from widgets.detail import ContainerRef, DetailPane, ValueRef
from widgets.facets import FacetOptions, FacetPanel

MINTED = "ASIAMINTEDKEY00001"
ODD_KEY = "x[@click=app.quit]\x1b[2J\u202e"


def _login(n: int, ip: str, mfa: str) -> dict:
    return event(
        "ConsoleLogin",
        f"2026-11-20T10:{n:02d}:00Z",
        source="signin.amazonaws.com",
        ip=ip,
        event_id=f"login-{n:04d}",
        additionalEventData={"MFAUsed": mfa, "MobileVersion": "No"},
        responseElements={"ConsoleLogin": "Success"},
    )


def _trail(root: Path) -> Path:
    recs = [
        _login(1, "203.0.113.1", "No"),
        _login(2, "203.0.113.1", "No"),
        _login(3, "203.0.113.2", "No"),
        _login(4, "203.0.113.3", "Yes"),
        _login(5, "203.0.113.3", "Yes"),
        event(
            "AssumeRole",
            "2026-11-20T10:10:00Z",
            source="sts.amazonaws.com",
            event_id="mint-0001",
            responseElements={"credentials": {"accessKeyId": MINTED, "expiration": "x"}},
            resources=[{"ARN": "arn:aws:iam::111122223333:role/ops", "type": "AWS::IAM::Role"}],
        ),
        event(
            "GetObject",
            "2026-11-20T10:11:00Z",
            source="s3.amazonaws.com",
            event_id="get-0001",
            error="NoSuchKey",
            requestParameters={"bucketName": "prod-logs", ODD_KEY: "v\x1b[31m"},
            identity={
                "type": "AssumedRole",
                "accessKeyId": MINTED,
                "arn": "arn:aws:sts::111122223333:assumed-role/ops/alice",
            },
        ),
        event(
            "ListBuckets",
            "2026-11-20T10:12:00Z",
            source="s3.amazonaws.com",
            event_id="list-0001",
            identity={
                "type": "AssumedRole",
                "accessKeyId": MINTED,
                "arn": "arn:aws:sts::111122223333:assumed-role/ops/alice",
            },
        ),
    ]
    write_records(trail_path(root), recs)
    return root


def _walk(node):
    yield node
    for c in node.children:
        yield from _walk(c)


def json_leaf(pane: DetailPane, path: str):
    """The leaf of the Event JSON tree (not a summary line) at `path`."""
    json_root = pane.root.children[-1]
    for node in _walk(json_root):
        if isinstance(node.data, ValueRef) and node.data.path == path:
            return node
    raise AssertionError(f"no JSON leaf {path!r}")


def summary_line(pane: DetailPane, label: str):
    for sec in pane.root.children[:-1]:
        for node in sec.children:
            if str(node.label).startswith(label + "  "):
                return node
    raise AssertionError(f"no summary line {label!r}")


async def to_event(pilot, event_id: str | int) -> DetailPane:
    """Put the list cursor on the event (by eventID, or store row) and focus the detail
    pane on it."""
    app = pilot.app
    rows = app.view.rows.tolist()
    row = (
        event_id
        if isinstance(event_id, int)
        else next(r for r in rows if app.store.event(r).get("eventID") == event_id)
    )
    app.events_list.move_to_index(rows.index(row))
    await settle(pilot)
    pane = app.query_one(DetailPane)
    pane.focus()
    await pilot.pause()
    assert pane.row == row
    return pane


async def cursor_to(pilot, pane: DetailPane, node) -> None:
    pane.move_cursor(node, animate=False)
    await pilot.pause()
    assert pane.cursor_node is node


def ids(app) -> list[str]:
    return [app.store.event(int(r))["eventID"] for r in app.view.rows]


@pytest.fixture
async def pivots(tmp_path: Path):
    app = make_app([_trail(tmp_path)])
    async with explore(app) as pilot:
        yield pilot
        await settle(pilot)


async def test_f_on_a_json_leaf_filters_on_its_exact_path(pivots) -> None:
    pilot, app = pivots, pivots.app
    pane = await to_event(pilot, "login-0002")
    await cursor_to(pilot, pane, json_leaf(pane, "additionalEventData.MFAUsed"))
    await pilot.press("f")
    await settle(pilot)
    assert app.query_obj.text == "additionalEventData.MFAUsed:No"
    assert app.filter_input.value == "additionalEventData.MFAUsed:No"
    assert ids(app) == ["login-0001", "login-0002", "login-0003"]
    # Free text "No" would have matched every login (MobileVersion) and the NoSuchKey.
    assert parse('"No"').evaluate(app.store).sum() == 6
    assert "3 / 8 events" in status_text(app)
    assert app.focused is pane and pane.row == app.events_list.cursor_row

    # x excludes the exact path term; events without the path stay.
    await pilot.press("u")
    await settle(pilot)
    pane = await to_event(pilot, "login-0004")
    await cursor_to(pilot, pane, json_leaf(pane, "additionalEventData.MFAUsed"))
    await pilot.press("x")
    await settle(pilot)
    assert app.query_obj.text == "-additionalEventData.MFAUsed:Yes"
    assert len(app.view.rows) == 6  # three Noes and the three events without a login


async def test_enter_on_a_json_leaf_pins_the_minting_event(pivots) -> None:
    pilot, app = pivots, pivots.app
    pane = await to_event(pilot, "mint-0001")
    await cursor_to(pilot, pane, json_leaf(pane, "responseElements.credentials.accessKeyId"))
    await pilot.press("enter")
    await settle(pilot)
    assert app.query_obj.text == f"responseElements.credentials.accessKeyId:{MINTED}"
    assert ids(app) == ["mint-0001"]  # not the three events made with the key
    assert parse(f'"{MINTED}"').evaluate(app.store).sum() == 3
    # Enter on a container still opens and closes it.
    pane = app.query_one(DetailPane)
    node = next(
        n
        for n in _walk(pane.root.children[-1])
        if isinstance(n.data, ContainerRef) and n.data.path == "responseElements.credentials"
    )
    await cursor_to(pilot, pane, node)
    was = node.is_expanded
    await pilot.press("enter")
    await pilot.pause()
    assert node.is_expanded is not was
    assert app.query_obj.text == f"responseElements.credentials.accessKeyId:{MINTED}"


async def test_derived_lines_filter_on_their_source(pivots) -> None:
    pilot, app = pivots, pivots.app
    pane = await to_event(pilot, "login-0003")
    await cursor_to(pilot, pane, summary_line(pane, "MFA"))
    await pilot.press("f")
    await settle(pilot)
    # The MFA line is the mfa field (MFAUsed "No" on a sign-in), not free text.
    assert app.query_obj.text == "mfa:no"
    assert ids(app) == ["login-0001", "login-0002", "login-0003"]
    await pilot.press("ctrl+x")
    await settle(pilot)

    # The leaf itself is its exact path.
    pane = await to_event(pilot, "login-0003")
    await cursor_to(pilot, pane, json_leaf(pane, "additionalEventData.MFAUsed"))
    await pilot.press("f")
    await settle(pilot)
    assert app.query_obj.text == "additionalEventData.MFAUsed:No"
    await pilot.press("ctrl+x")
    await settle(pilot)

    pane = await to_event(pilot, "get-0001")
    await cursor_to(pilot, pane, summary_line(pane, "Session name"))
    assert "alice" in str(pane.cursor_node.label)
    await pilot.press("f")
    await settle(pilot)
    # The session line is the session field: the whole session ARN (role and name).
    assert app.query_obj.text == "session:arn:aws:sts::111122223333:assumed-role/ops/alice"
    assert ids(app) == ["get-0001", "list-0001"]
    await pilot.press("ctrl+x")
    await settle(pilot)

    pane = await to_event(pilot, "get-0001")
    await cursor_to(pilot, pane, summary_line(pane, "Request ID"))
    await pilot.press("f")
    await settle(pilot)
    rid = app.store.event(pane.row)["requestID"]
    assert app.query_obj.text == f".requestID:{rid}"
    assert ids(app) == ["get-0001"]


async def test_hostile_key_and_value_pivot_stay_inert(pivots) -> None:
    pilot, app = pivots, pivots.app
    pane = await to_event(pilot, "get-0001")
    path = format_path(("requestParameters", ODD_KEY))
    await cursor_to(pilot, pane, json_leaf(pane, path))
    await pilot.press("f")
    await settle(pilot)
    assert app.query_obj.text == term_for(path, "v\x1b[31m")
    assert is_clean(app.query_obj.text) and is_clean(app.filter_input.value)
    assert ids(app) == ["get-0001"]
    shown = screen_text(app)
    assert "\x1b" not in shown and "\u202e" not in shown
    assert app.is_running


async def test_o_opens_any_path_as_a_facet(pivots) -> None:
    pilot, app = pivots, pivots.app
    pane = await to_event(pilot, "login-0001")
    await cursor_to(pilot, pane, json_leaf(pane, "additionalEventData.MFAUsed"))
    await pilot.press("o")
    await settle(pilot)
    panel = app.query_one(FacetPanel)
    fl = panel.lists[0]
    assert fl.field == "additionalEventData.MFAUsed"
    await wait_for(pilot, lambda: fl.rows != [], what="the path facet's counts")
    assert fl.rows == [("", 3), ("No", 3), ("Yes", 2)]  # "" = events without it
    app.warm_columns()  # due after loading: it prepares fields' columns, not paths
    assert "additionalEventData.MFAUsed" in screen_text(app)
    # Pick "Yes" in the facet: the exact path term.
    options = fl.query_one(FacetOptions)
    options.focus()
    await pilot.pause()
    options.highlighted = [v for v, _ in fl.rows].index("Yes")
    await pilot.press("enter")
    await settle(pilot)
    assert app.query_obj.text == "additionalEventData.MFAUsed:Yes"
    assert ids(app) == ["login-0004", "login-0005"]
    assert fl.rows == [("Yes", 2)]
    # The facet follows later filters; ] goes back to the indexed fields.
    ip = next(x for x in panel.lists if x.field == "ip")
    assert dict(ip.rows) == {"203.0.113.3": 2}
    options.focus()
    await pilot.press("right_square_bracket")
    await settle(pilot)
    assert fl.field == "service"


@pytest.mark.realdata
async def test_mfa_pivot_on_real_samples(tmp_path: Path) -> None:
    """On the real samples: the ConsoleLogin without MFA, from the detail tree."""
    app = make_app([REALDATA])
    async with explore(app, timeout=60) as pilot:
        store = app.store
        want = np.flatnonzero(parse("additionalEventData.MFAUsed:No").evaluate(store))
        assert len(want) > 5
        pane = await to_event(pilot, int(want[0]))
        await cursor_to(pilot, pane, json_leaf(pane, "additionalEventData.MFAUsed"))
        await pilot.press("f")
        await settle(pilot)
        assert app.query_obj.text == "additionalEventData.MFAUsed:No"
        assert sorted(app.view.rows.tolist()) == want.tolist()
        await pilot.press("o")
        await settle(pilot)
        fl = app.query_one(FacetPanel).lists[0]
        await wait_for(pilot, lambda: fl.rows != [], what="the path facet's counts")
        assert fl.rows == [("No", len(want))]


async def test_a_new_path_is_scanned_off_the_ui_thread(tmp_path: Path, monkeypatch) -> None:
    """Over more unscanned files than SYNC_TEXT_FILES, the first use of a path (a filter
    or a facet) runs in the view's thread; the result lands as with indexed fields."""
    import tui.app

    monkeypatch.setattr(tui.app, "SYNC_TEXT_FILES", 0)
    app = make_app([_trail(tmp_path)])
    async with explore(app) as pilot:
        pane = await to_event(pilot, "login-0001")
        await cursor_to(pilot, pane, json_leaf(pane, "additionalEventData.MobileVersion"))
        threaded = app.views.threaded
        await pilot.press("o")
        await settle(pilot)
        fl = app.query_one(FacetPanel).lists[0]
        await wait_for(pilot, lambda: fl.rows != [], what="the path facet's counts")
        assert app.views.threaded > threaded and fl.rows == [("No", 5), ("", 3)]
        threaded = app.views.threaded
        await cursor_to(pilot, pane, json_leaf(pane, "responseElements.ConsoleLogin"))
        await pilot.press("f")
        await settle(pilot)
        assert app.views.threaded > threaded  # a path not scanned yet: the thread
        assert app.query_obj.text == "responseElements.ConsoleLogin:Success"
        assert len(app.view.rows) == 5


def test_cli_query_takes_path_terms(tmp_path: Path) -> None:
    """`trailscope query PATH 'additionalEventData.MFAUsed:No'`: the same engine."""
    _trail(tmp_path)

    def query(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "tui", "query", str(tmp_path), *args],
            capture_output=True,
            text=True,
            timeout=120,
        )

    got = query("-e", "additionalEventData.MFAUsed:No", "--format", "jsonl")
    assert got.returncode == 0, got.stderr
    assert [json.loads(x)["eventID"] for x in got.stdout.splitlines()] == [
        "login-0001",
        "login-0002",
        "login-0003",
    ]
    got = query(
        "-e",
        f"responseElements.credentials.accessKeyId:{MINTED} OR has:resources.ARN",
        "--format",
        "count",
    )
    assert got.stdout.strip() == "1"
    got = query("-e", "errorMessage:x", "--format", "count")
    assert got.returncode == 2 and ".errorMessage:x" in got.stderr
    # requestid names the path .requestID (unique per event: not indexed at ingest)
    rid = json.loads(query("-e", "event:GetObject", "--format", "jsonl").stdout)["requestID"]
    for term in (f"requestid:{rid}", f"requestID:{rid}", f".requestID:{rid}"):
        got = query("-e", term, "--format", "jsonl")
        assert [json.loads(x)["eventID"] for x in got.stdout.splitlines()] == ["get-0001"], term
    got = query("-e", "resource:arn:aws:iam::*:role/ops", "--format", "jsonl")
    assert [json.loads(x)["eventID"] for x in got.stdout.splitlines()] == ["mint-0001"]


async def test_panels_leave_a_path_being_scanned_to_its_thread(tmp_path: Path, monkeypatch) -> None:
    """While the view thread scans a new path facet, redrawing the panels for the view
    before does not scan it on the UI thread (it would wait for the thread's lock)."""
    import threading

    import tui.app

    monkeypatch.setattr(tui.app, "SYNC_TEXT_FILES", 0)
    gate = threading.Event()
    real = tui.app.compute_view

    def slow_compute_view(*a, **kw):
        gate.wait(10)
        return real(*a, **kw)

    app = make_app([_trail(tmp_path)])
    async with explore(app) as pilot:
        monkeypatch.setattr(tui.app, "compute_view", slow_compute_view)
        pane = await to_event(pilot, "login-0001")
        await cursor_to(pilot, pane, json_leaf(pane, "additionalEventData.MFAUsed"))
        await pilot.press("o")
        await pilot.pause(0.1)
        assert app.views.running
        path = parse_path("additionalEventData.MFAUsed")
        app.main.panels_pending = app.view
        app.main.show_panels()  # the previous view's panels, as after a redraw
        assert app.store.path_backlog(path) > 0  # not scanned here
        gate.set()
        fl = app.query_one(FacetPanel).lists[0]
        await wait_for(pilot, lambda: fl.rows != [], what="the path facet's counts")
        assert fl.rows == [("", 3), ("No", 3), ("Yes", 2)]
