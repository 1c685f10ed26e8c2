"""Pilot tests for the event detail tree (widgets/detail.py)."""

from __future__ import annotations

import gzip
import json
import time
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from textual.app import App, ComposeResult
from textual.widgets.tree import TreeNode

from tests.trailgen import SEEDS as _SEEDS
from tui.core.batch import CONFLICT, HOSTILE, LENIENT, MALFORMED, NO_ID
from tui.core.loader import load
from tui.core.paths import format_path
from tui.core.sanitize import is_clean
from tui.core.store import Store
from widgets.detail import (
    MAX_CHILDREN,
    ContainerRef,
    DetailPane,
    InfoRef,
    MoreRef,
    NullRef,
    PairRef,
    SectionRef,
    ValueRef,
)
from widgets.messages import CopyRequest, EventRequest, FilterRequest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_logs"
SEEDS = _SEEDS
SIZE = (100, 40)
ACCOUNT = "111122223333"

_BAD_CATEGORIES = {"Cc", "Cf", "Cs", "Zl", "Zp"}
HOSTILE_BITS = ["[@click=app.quit]x[/]", "[/x]", "\x1b[2J", "\x9b", "\u202e"]
HOSTILE_VALUE = "ua " + " ".join(HOSTILE_BITS) + " end"
HOSTILE_KEY = "k[@click=app.quit]x[/][/x]\x1b[2J\x9b\u202e"


# ------------------------------------------------------------------ fixtures/helpers
def _seed(name: str) -> dict:
    return json.loads((SEEDS / name).read_text())


def write_trail(base: Path, records: list[dict], region: str = "us-east-1") -> Path:
    """One delivery file in the real S3 layout; returns the trail root."""
    d = base / "AWSLogs" / ACCOUNT / "CloudTrail" / region / "2026" / "11" / "20"
    d.mkdir(parents=True, exist_ok=True)
    name = f"{ACCOUNT}_CloudTrail_{region}_20261120T1005Z_abcdefghijklmnop.json.gz"
    (d / name).write_bytes(gzip.compress(orjson.dumps({"Records": records})))
    return base


def seed_records() -> list[dict]:
    analyzer = _seed("access-analyzer-CreateAnalyzer.json")
    guard = _seed("guardduty-CreateThreatIntelSet.json")
    denied = json.loads(json.dumps(analyzer))
    denied["eventID"] = "denied-0000-0000-0000-000000000001"
    denied["eventTime"] = "2018-06-14T23:00:00Z"
    denied["errorCode"] = "AccessDenied"
    denied["errorMessage"] = "User is not authorized to perform: access-analyzer:CreateAnalyzer"
    denied["responseElements"] = None
    temp = json.loads(json.dumps(guard))
    temp["eventID"] = "temp-0000-0000-0000-000000000002"
    temp["eventTime"] = "2018-06-14T23:01:00Z"
    temp["userIdentity"]["accessKeyId"] = "ASIAEXAMPLETEMPKEY01"
    temp["userIdentity"]["arn"] = "arn:aws:sts::444455556666:assumed-role/Responder/alice-session"
    temp["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"] = (
        "arn:aws:iam::444455556666:role/Responder"
    )
    temp["userIdentity"]["sessionContext"]["sourceIdentity"] = "alice@example.com"
    temp["sourceIPAddress"] = "ec2.amazonaws.com"
    temp["tlsDetails"] = {"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256"}
    temp["vpcEndpointId"] = "vpce-0123456789abcdef0"
    internal = json.loads(json.dumps(guard))
    internal["eventID"] = "internal-0000-0000-0000-000000000003"
    internal["eventTime"] = "2018-06-14T23:02:00Z"
    internal["sourceIPAddress"] = "AWS Internal"
    internal["userIdentity"]["sessionContext"]["sessionIssuer"]["type"] = "IAMUser"
    return [analyzer, guard, denied, temp, internal]


@pytest.fixture(scope="module")
def seed_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    root = write_trail(tmp_path_factory.mktemp("seeds"), seed_records())
    s = load([str(root)], jobs=1)
    assert len(s) == 5
    return s


def row_of(store: Store, event_id: str) -> int:
    for r in range(len(store)):
        if store.event(r).get("eventID") == event_id:
            return r
    raise AssertionError(event_id)


class DetailApp(App[None]):
    """A bare app around one DetailPane, recording what it posts."""

    def __init__(self, store: Store) -> None:
        super().__init__()
        self.store = store
        self.filters: list[FilterRequest] = []
        self.copies: list[CopyRequest] = []
        self.requests: list[EventRequest] = []

    def compose(self) -> ComposeResult:
        yield DetailPane(self.store, id="detail")

    def on_mount(self) -> None:
        self.query_one(DetailPane).focus()

    def on_filter_request(self, message: FilterRequest) -> None:
        self.filters.append(message)

    def on_copy_request(self, message: CopyRequest) -> None:
        self.copies.append(message)

    def on_event_request(self, message: EventRequest) -> None:
        self.requests.append(message)


def walk(node: TreeNode) -> Iterator[TreeNode]:
    for child in node.children:
        yield child
        yield from walk(child)


def section(pane: DetailPane, name: str) -> TreeNode:
    for node in pane.root.children:
        if isinstance(node.data, SectionRef) and node.data.name == name:
            return node
    raise AssertionError(f"no section {name}")


def json_root(pane: DetailPane) -> TreeNode:
    node = pane.root.children[-1]
    assert isinstance(node.data, ContainerRef) and node.data.path == ""
    return node


def fact(pane: DetailPane, sec: str, label: str) -> TreeNode:
    # Summary labels are padded to the section's longest label plus two spaces.
    for node in section(pane, sec).children:
        if str(node.label).startswith(label + "  "):
            return node
    raise AssertionError(f"no {label!r} in {sec}")


def fact_text(pane: DetailPane, sec: str, label: str) -> str:
    return str(fact(pane, sec, label).label)[len(label) :].strip()


def by_path(pane: DetailPane, path: str) -> TreeNode:
    for node in walk(json_root(pane)):
        data = node.data
        if isinstance(data, (ValueRef, ContainerRef)) and data.path == path:
            return node
    raise AssertionError(f"no JSON node {path!r}")


def visible_lines(pane: DetailPane) -> list[str]:
    return [pane.render_line(y).text for y in range(pane.size.height)]


async def cursor_to(pilot, pane: DetailPane, node: TreeNode) -> None:
    await pilot.pause()
    pane.move_cursor(node, animate=False)
    await pilot.pause()
    assert pane.cursor_node is node


async def open_everything(pilot, pane: DetailPane) -> None:
    """Expand every container (filled lazily) until nothing new appears."""
    seen = -1
    while True:
        nodes = list(walk(pane.root))
        if len(nodes) == seen:
            return
        seen = len(nodes)
        for node in nodes:
            if node.allow_expand:
                node.expand()
        await pilot.pause()


def no_controls(s: str) -> bool:
    return all(unicodedata.category(c) not in _BAD_CATEGORIES for c in s if c != "\n")


# ------------------------------------------------------------------ summary
async def test_summary_sections(seed_store: Store) -> None:
    store = seed_store
    app = DetailApp(store)
    async with app.run_test(size=SIZE) as pilot:
        pane = app.query_one(DetailPane)
        pane.show(row_of(store, "33333333-bcde-5555-bcde-444444444444"))
        await pilot.pause()
        titles = [str(n.label) for n in pane.root.children]
        assert titles[:5] == ["Who", "What", "Where", "When", "Outcome"]
        assert titles[-1].startswith("Event JSON {")
        assert "Flags" not in titles  # a clean event has no flags
        assert all(n.is_expanded for n in pane.root.children)

        assert fact_text(pane, "who", "Principal") == "arn:aws:iam::111122223333:user/Alice"
        assert fact_text(pane, "who", "Identity type") == "AssumedRole"
        assert fact_text(pane, "who", "Credential") == "role-session"
        assert fact_text(pane, "who", "Access key") == "AKIAI44QH8DHBEXAMPLE  long-term (AKIA)"
        # MFA is the mfa field (yes/no), from the session's mfaAuthenticated "false"
        assert fact_text(pane, "who", "MFA") == "no  (session)"
        assert fact(pane, "who", "MFA").data == (
            "mfa",
            "no",
            "userIdentity.sessionContext.attributes.mfaAuthenticated",
        )
        assert fact_text(pane, "who", "Account") == "111122223333"
        assert fact_text(pane, "what", "Service") == "access-analyzer.amazonaws.com"
        assert fact_text(pane, "what", "Event") == "CreateAnalyzer"
        assert fact_text(pane, "what", "Read-only") == "false"
        assert fact_text(pane, "where", "Source IP") == "198.51.100.179"
        assert fact_text(pane, "where", "Region") == "us-west-2"
        assert fact_text(pane, "when", "Event time") == "2018-06-14T22:57:36Z"
        assert fact_text(pane, "when", "UTC") == "2018-06-14T22:57:36Z"
        assert fact_text(pane, "when", "File").endswith("abcdefghijklmnop.json.gz record 1")
        assert fact_text(pane, "outcome", "Result") == "success"
        req = fact(pane, "what", "Request")
        assert isinstance(req.data, ContainerRef) and req.data.path == ".requestParameters"
        assert str(req.label).endswith("{3}") and req.is_expanded
        assert [str(c.label) for c in req.children][0] == 'analyzerName: "test"'
        assert str(fact(pane, "outcome", "Response").label).endswith("{1}")

        # data tuples: indexed field, value as indexed, JSON path
        assert fact(pane, "who", "Principal").data == (
            "principal",
            "arn:aws:iam::111122223333:user/Alice",
            "userIdentity.arn",
        )
        assert fact(pane, "where", "Source IP").data == ("ip", "198.51.100.179", ".sourceIPAddress")
        assert fact(pane, "who", "Credential").data[:2] == ("cred", "role-session")
        assert fact(pane, "what", "Event ID").data[0] is None  # free text
        assert fact(pane, "outcome", "Result").data == ("error", "", ".errorCode")
        assert isinstance(fact(pane, "when", "UTC").data, InfoRef)

        # the screen shows it too
        screen = "\n".join(visible_lines(pane))
        assert "Who" in screen and "arn:aws:iam::111122223333:user/Alice" in screen


async def test_error_temporary_key_and_where(seed_store: Store) -> None:
    store = seed_store
    app = DetailApp(store)
    async with app.run_test(size=SIZE) as pilot:
        pane = app.query_one(DetailPane)
        pane.show(row_of(store, "denied-0000-0000-0000-000000000001"))
        await pilot.pause()
        assert fact_text(pane, "outcome", "Error") == "AccessDenied"
        assert fact(pane, "outcome", "Error").data == ("error", "AccessDenied", ".errorCode")
        assert fact_text(pane, "outcome", "Message").startswith("User is not authorized")
        assert fact_text(pane, "outcome", "Response") == "null"
        assert isinstance(fact(pane, "outcome", "Response").data, NullRef)

        pane.show(row_of(store, "temp-0000-0000-0000-000000000002"))
        await pilot.pause()
        assert fact_text(pane, "who", "Access key") == "ASIAEXAMPLETEMPKEY01  temporary (ASIA)"
        assert fact_text(pane, "who", "Session name") == "alice-session"
        assert fact_text(pane, "who", "Role / issuer") == (
            "arn:aws:iam::444455556666:role/Responder  (Role)"
        )
        assert fact(pane, "who", "Role / issuer").data[0] == "role"
        assert fact_text(pane, "who", "Source identity") == "alice@example.com"
        assert fact_text(pane, "where", "Source IP") == (
            "ec2.amazonaws.com  (not an IP: AWS service)"
        )
        assert fact_text(pane, "where", "VPC endpoint") == "vpce-0123456789abcdef0"
        tls = fact(pane, "where", "TLS")
        assert [str(c.label) for c in tls.children] == [
            'tlsVersion: "TLSv1.3"',
            'cipherSuite: "TLS_AES_128_GCM_SHA256"',
        ]

        pane.show(row_of(store, "internal-0000-0000-0000-000000000003"))
        await pilot.pause()
        assert fact_text(pane, "where", "Source IP") == "AWS Internal  (AWS Internal)"
        # the issuer is not a Role here, so the store has no role: do not claim the field
        assert fact_text(pane, "who", "Role / issuer").endswith("  (IAMUser)")
        assert fact(pane, "who", "Role / issuer").data[0] is None
        await open_everything(pilot, pane)
        assert by_path(pane, "userIdentity.sessionContext.sessionIssuer.arn").data[0] is None


async def test_event_json_tree(seed_store: Store) -> None:
    store = seed_store
    row = row_of(store, "81337b11-e5c8-4f91-b141-deb405625bc9")
    app = DetailApp(store)
    async with app.run_test(size=SIZE) as pilot:
        pane = app.query_one(DetailPane)
        pane.show(row)
        await pilot.pause()
        top = json_root(pane)
        assert top.is_expanded
        assert str(top.label) == f"Event JSON {{{len(store.event(row))}}}"
        labels = [str(c.label) for c in top.children]
        assert 'eventName: "CreateThreatIntelSet"' in labels
        assert "readOnly: false" in labels
        assert "userIdentity {6}" in labels
        assert by_path(pane, ".eventSource").data == (
            "service",
            "guardduty.amazonaws.com",
            ".eventSource",
        )
        assert by_path(pane, ".readOnly").data == ("readonly", "false", ".readOnly")
        assert by_path(pane, "userIdentity.accessKeyId").data[0] == "key"
        assert by_path(pane, "userIdentity.type").data[0] == "type"
        assert by_path(pane, "userIdentity.arn").data[0] == "principal"
        assert by_path(pane, "requestParameters.activate").data == (
            None,
            "false",
            "requestParameters.activate",
        )
        sc = by_path(pane, "userIdentity.sessionContext")
        assert sc.is_expanded  # depth 2, small
        attrs = by_path(pane, "userIdentity.sessionContext.attributes")
        assert attrs.is_expanded  # depth 3 but tiny
        issuer = by_path(pane, "userIdentity.sessionContext.sessionIssuer")
        assert not issuer.is_expanded and not issuer.children  # depth 3: collapsed, unfilled
        # collapsed containers fill on expand
        await cursor_to(pilot, pane, issuer)
        await pilot.press("right")
        await pilot.pause()
        assert issuer.is_expanded
        assert [str(c.label) for c in issuer.children][:2] == [
            'type: "Role"',
            'principalId: "AIDACKCEVSQ6C2EXAMPLE"',
        ]
        await pilot.press("right")  # at an open node: to its first child
        assert pane.cursor_node is issuer.children[0]
        await pilot.press("left")  # at a leaf: to the parent
        await pilot.press("left_square_bracket")  # collapse
        assert not issuer.is_expanded
        await pilot.press("right_square_bracket")
        assert issuer.is_expanded
        await pilot.press("left", "left")
        assert not issuer.is_expanded
        assert pane.cursor_node is sc


# ------------------------------------------------------------------ keys
async def test_filter_exclude_copy_keys(seed_store: Store) -> None:
    store = seed_store
    row = row_of(store, "33333333-bcde-5555-bcde-444444444444")
    app = DetailApp(store)
    async with app.run_test(size=SIZE) as pilot:
        pane = app.query_one(DetailPane)
        pane.show(row)
        await cursor_to(pilot, pane, fact(pane, "where", "Source IP"))
        await pilot.press("f", "x", "c")
        await pilot.pause()
        assert [(m.field, m.value, m.negate) for m in app.filters] == [
            ("ip", "198.51.100.179", False),
            ("ip", "198.51.100.179", True),
        ]
        assert [(m.text, m.what) for m in app.copies] == [("198.51.100.179", "value")]

        # a raw JSON leaf without an indexed field: its exact path, never free text
        app.filters.clear()
        app.copies.clear()
        await cursor_to(pilot, pane, by_path(pane, ".requestID"))
        await pilot.press("f", "c")
        await pilot.pause()
        assert [(m.field, m.value, m.negate) for m in app.filters] == [
            (".requestID", "22222222-dcba-4444-dcba-333333333333", False)
        ]
        assert app.copies[-1].text == "22222222-dcba-4444-dcba-333333333333"

        # an indexed raw leaf
        app.filters.clear()
        await cursor_to(pilot, pane, by_path(pane, ".awsRegion"))
        await pilot.press("x")
        await pilot.pause()
        assert [(m.field, m.value, m.negate) for m in app.filters] == [
            ("region", "us-west-2", True)
        ]

        # "success" filters on error:""
        app.filters.clear()
        await cursor_to(pilot, pane, fact(pane, "outcome", "Result"))
        await pilot.press("f")
        await pilot.pause()
        assert [(m.field, m.value) for m in app.filters] == [("error", "")]

        # a container copies its compact JSON; f/x do nothing there
        app.filters.clear()
        app.copies.clear()
        await cursor_to(pilot, pane, by_path(pane, ".requestParameters"))
        await pilot.press("f", "c")
        await pilot.pause()
        assert app.filters == []
        assert json.loads(app.copies[-1].text) == store.event(row)["requestParameters"]
        assert app.copies[-1].text == orjson.dumps(store.event(row)["requestParameters"]).decode()

        # derived facts copy but do not filter
        await cursor_to(pilot, pane, fact(pane, "when", "File"))
        await pilot.press("f", "c")
        await pilot.pause()
        assert app.filters == []
        assert app.copies[-1].text == store.location(row)

        # C copies the whole event, exactly as stored
        await pilot.press("C")
        await pilot.pause()
        assert app.copies[-1].what == "event JSON"
        assert app.copies[-1].text == store.canonical(row).decode()
        assert json.loads(app.copies[-1].text) == store.event(row)


async def test_null_leaf_and_section_keys(seed_store: Store) -> None:
    store = seed_store
    app = DetailApp(store)
    async with app.run_test(size=SIZE) as pilot:
        pane = app.query_one(DetailPane)
        pane.show(row_of(store, "denied-0000-0000-0000-000000000001"))
        node = by_path(pane, ".responseElements")
        assert isinstance(node.data, NullRef) and node.data == (None, "", ".responseElements")
        await cursor_to(pilot, pane, node)
        await pilot.press("f", "c")
        await pilot.pause()
        # null counts as missing: the term selects events where it is null or absent
        assert [(m.field, m.value) for m in app.filters] == [(".responseElements", "")]
        assert app.copies[-1].text == "null"
        assert pane.check_action("filter_value", ()) is True
        await cursor_to(pilot, pane, section(pane, "who"))
        assert pane.check_action("copy_value", ()) is None
        assert pane.check_action("copy_event", ()) is True
        await pilot.press("enter")  # sections collapse and stay collapsed across events
        await pilot.pause()
        assert not section(pane, "who").is_expanded
        pane.show(row_of(store, "33333333-bcde-5555-bcde-444444444444"))
        await pilot.pause()
        assert not section(pane, "who").is_expanded
        assert section(pane, "what").is_expanded
        await cursor_to(pilot, pane, section(pane, "who"))
        await pilot.press("space")  # space toggles too (as in Textual's Tree)
        assert section(pane, "who").is_expanded


async def test_cursor_stays_on_same_fact(seed_store: Store) -> None:
    store = seed_store
    app = DetailApp(store)
    async with app.run_test(size=SIZE) as pilot:
        pane = app.query_one(DetailPane)
        pane.show(row_of(store, "33333333-bcde-5555-bcde-444444444444"))
        await cursor_to(pilot, pane, fact(pane, "where", "Region"))
        pane.show(row_of(store, "81337b11-e5c8-4f91-b141-deb405625bc9"))
        await pilot.pause()
        assert pane.cursor_node is fact(pane, "where", "Region")


async def test_empty_state(seed_store: Store) -> None:
    app = DetailApp(seed_store)
    async with app.run_test(size=SIZE) as pilot:
        pane = app.query_one(DetailPane)
        await pilot.pause()
        assert [str(n.label) for n in pane.root.children] == ["no event selected"]
        assert "no event selected" in visible_lines(pane)[0]
        await pilot.press("f", "c", "C")
        await pilot.pause()
        assert app.filters == [] and app.copies == []
        assert pane.check_action("copy_event", ()) is False
        pane.show(0)
        await pilot.pause()
        pane.show(None)
        await pilot.pause()
        assert [str(n.label) for n in pane.root.children] == ["no event selected"]
        assert pane.row is None


async def test_original_unavailable_falls_back_to_indexed_fields(tmp_path: Path) -> None:
    """The file was rewritten after loading (evidence changed): the pane says so and
    still shows what the store indexed, and those values still filter and copy."""
    root = write_trail(tmp_path, seed_records())
    store = load([root])
    row = int(store.ordered()[0])
    name, ip = store.value(row, "event"), store.value(row, "ip")
    path = next(root.rglob("*.json.gz"))
    path.write_bytes(gzip.compress(orjson.dumps({"Records": []})))  # changed on disk
    app = DetailApp(store)
    async with app.run_test(size=SIZE) as pilot:
        pane = app.query_one(DetailPane)
        pane.show(row)
        await pilot.pause()
        text = "\n".join(str(n.label) for n in walk(pane.root))
        assert "original unavailable" in text and "changed on disk" in text
        assert "Indexed fields" in text and name in text and ip in text
        assert str(path) in text  # the location, to go and look
        assert "Indexed fields" in "\n".join(visible_lines(pane))
        assert pane.row == row
        leaf = next(
            n for n in walk(pane.root) if isinstance(n.data, ValueRef) and n.data.field == "ip"
        )
        pane.move_cursor(leaf, animate=False)
        await pilot.press("f", "c")
        await pilot.pause()
        assert [(m.field, m.value, m.negate) for m in app.filters] == [("ip", ip, False)]
        assert [m.text for m in app.copies] == [ip]
        assert pane.check_action("copy_event", ()) is False
        await pilot.press("C")  # no original to copy: nothing happens, nothing breaks
        await pilot.pause()
        assert len(app.copies) == 1 and app.is_running


# ------------------------------------------------------------------ hostile
def hostile_event() -> dict:
    ev = _seed("access-analyzer-CreateAnalyzer.json")
    ev["eventID"] = "hostile-0000-0000-0000-000000000001"
    ev["userAgent"] = HOSTILE_VALUE
    ev["errorCode"] = "[bold red]Denied[/]"
    ev["errorMessage"] = "line1\nline2\r\x07[/x]"
    ev["userIdentity"]["userName"] = "\u202eevil[/]"
    ev["requestParameters"] = {HOSTILE_KEY: HOSTILE_VALUE, "plain": "[@click=app.quit]x[/]"}
    ev[HOSTILE_KEY] = {"nested[/x]": "\x1b]52;c;AAAA\x07"}
    return ev


async def test_hostile_event_renders_literally(tmp_path: Path) -> None:
    store = load([str(write_trail(tmp_path, [hostile_event()]))], jobs=1)
    assert store.flags[0] & HOSTILE
    quits: list[str] = []

    class Guard(DetailApp):
        def action_quit(self) -> None:  # a markup click would land here
            quits.append("quit")

    app = Guard(store)
    async with app.run_test(size=(200, 80)) as pilot:
        pane = app.query_one(DetailPane)
        pane.show(0)
        await pilot.pause()
        await open_everything(pilot, pane)

        labels = [str(n.label) for n in walk(pane.root)]
        flat = "\n".join(labels)
        assert no_controls(flat)
        assert "values contain control characters, shown as escapes" in flat
        ua = fact_text(pane, "where", "User agent")
        assert ua == "ua [@click=app.quit]x[/] [/x] \\x1b[2J \\x9b \\u202e end"
        assert fact_text(pane, "outcome", "Error") == "[bold red]Denied[/]"
        assert fact_text(pane, "outcome", "Message") == "line1\\nline2\\r\\x07[/x]"
        key_line = 'k[@click=app.quit]x[/][/x]\\x1b[2J\\x9b\\u202e: "' + ua + '"'
        assert key_line in labels
        assert 'plain: "[@click=app.quit]x[/]"' in labels
        assert "k[@click=app.quit]x[/][/x]\\x1b[2J\\x9b\\u202e {1}" in labels
        assert 'nested[/x]: "\\x1b]52;c;AAAA\\x07"' in labels

        # escapes added by sanitising are styled (visible without colour)
        node = fact(pane, "where", "User agent")
        spans = [s for s in node.label.spans if s.style == "reverse"]
        assert {str(node.label)[s.start : s.end] for s in spans} == {"\\x1b", "\\x9b", "\\u202e"}

        # what reaches the terminal: no raw controls, no click actions, brackets literal
        screen = "\n".join(visible_lines(pane))
        assert no_controls(screen)
        assert "[@click=app.quit]x[/]" in screen
        for y in range(pane.size.height):
            for seg in pane.render_line(y):
                assert not (seg.style and seg.style.meta and "@click" in seg.style.meta)
        svg = app.export_screenshot()
        assert not any(c in svg for c in ("\x1b", "\x9b", "\u202e", "\x07"))

        # keys still carry the raw value (the clipboard gets the evidence as-is)
        hostile_path = format_path(("requestParameters", HOSTILE_KEY))
        assert "\\x1b" in hostile_path and "\\u202e" in hostile_path and is_clean(hostile_path)
        await cursor_to(pilot, pane, by_path(pane, hostile_path))
        await pilot.press("c", "f")
        await pilot.pause()
        assert app.copies[-1].text == HOSTILE_VALUE
        assert (app.filters[-1].field, app.filters[-1].value) == (hostile_path, HOSTILE_VALUE)
        await cursor_to(pilot, pane, fact(pane, "where", "User agent"))
        await pilot.press("f", "enter")
        await pilot.pause()
        assert (app.filters[-1].field, app.filters[-1].value) == ("ua", HOSTILE_VALUE)
        assert no_controls("\n".join(visible_lines(pane)))
        assert quits == []
        assert app.is_running


# ------------------------------------------------------------------ malformed / anonymous
async def test_malformed_event_says_what(tmp_path: Path) -> None:
    bad = _seed("access-analyzer-CreateAnalyzer.json")
    bad["eventID"] = "malformed-0000-0000-0000-000000000001"
    bad["userIdentity"] = ["not", "an object"]
    bad["readOnly"] = "maybe\x1b[2J"
    bad["eventVersion"] = "2.0"
    good = _seed("access-analyzer-CreateAnalyzer.json")
    store = load([str(write_trail(tmp_path, [bad, good]))], jobs=1)
    row = row_of(store, bad["eventID"])
    assert store.flags[row] & MALFORMED and not store.flags[1 - row] & MALFORMED
    app = DetailApp(store)
    async with app.run_test(size=(120, 50)) as pilot:
        pane = app.query_one(DetailPane)
        pane.show(row)
        await pilot.pause()
        notes = [str(n.label) for n in section(pane, "flags").children]
        assert notes[0] == "values contain control characters, shown as escapes"
        assert notes[1] == "malformed: not the CloudTrail record format"
        assert notes[2:] == [  # each problem, its value escaped
            '  · eventVersion "2.0" has an unknown major version (known: 1.x)',
            "  · userIdentity is an array, not an object",
            '  · readOnly is the string "maybe\\u001b[2J", not true or false',
        ]
        assert no_controls("\n".join(visible_lines(pane)))
        pane.show(1 - row)
        await pilot.pause()
        assert "Flags" not in [str(n.label) for n in pane.root.children]


async def test_anonymous_caller_credential(tmp_path: Path) -> None:
    ev = _seed("access-analyzer-CreateAnalyzer.json")
    ev["userIdentity"] = {"type": "AWSAccount", "principalId": "", "accountId": "anonymous"}
    store = load([str(write_trail(tmp_path, [ev]))], jobs=1)
    app = DetailApp(store)
    async with app.run_test(size=SIZE) as pilot:
        pane = app.query_one(DetailPane)
        pane.show(0)
        await pilot.pause()
        assert fact(pane, "who", "Principal").data[:2] == ("principal", "anonymous")
        assert fact(pane, "who", "Credential").data == ("cred", "anonymous", "")
        assert fact_text(pane, "who", "Credential").startswith("anonymous  (unsigned request")


# ------------------------------------------------------------------ Insights
def _insight_rows(store: Store) -> dict[str, int]:
    rows = {}
    for r in range(len(store)):
        d = store.event(r).get("insightDetails")
        if isinstance(d, dict):
            rows[d["state"]] = r
    return rows


async def test_insight_section_and_pair(real_store: Store) -> None:
    store = real_store  # sample_logs: a Start/End pair about ec2 DescribeInstances
    rows = _insight_rows(store)
    assert set(rows) == {"Start", "End"}
    app = DetailApp(store)
    async with app.run_test(size=(140, 50)) as pilot:
        pane = app.query_one(DetailPane)
        pane.show(rows["End"])
        await pilot.pause()
        titles = [str(n.label) for n in pane.root.children]
        assert titles[:4] == ["Insight", "What", "Where", "When"]
        assert "Who" not in titles and "Outcome" not in titles  # no caller, no outcome
        assert fact_text(pane, "insight", "Insight") == "ApiCallRateInsight  (API call rate)"
        assert fact_text(pane, "insight", "State").startswith("End")
        assert fact(pane, "insight", "Service").data[:2] == ("service", "ec2.amazonaws.com")
        assert fact(pane, "insight", "API").data[:2] == ("event", "DescribeInstances")
        assert fact_text(pane, "insight", "Rate").startswith(
            "2.25 calls/min, 840× the baseline of 0.00268"
        )
        assert fact_text(pane, "insight", "Duration") == "8 min"
        assert fact_text(pane, "insight", "Baseline").startswith("10,079 min (7.0 days)")
        caller = fact(pane, "insight", "By caller")
        assert caller.data[:2] == ("principal", "arn:aws:iam::111122223333:user/ci-deploy")
        assert "not in the baseline" in str(caller.label)
        assert fact(pane, "insight", "By error code").data[:2] == ("error", "")  # "null"
        shared = fact(pane, "insight", "Shared ID")
        assert shared.data == (None, "833d271d-702a-4337-bf45-f232fc213fdb", ".sharedEventID")

        pair = fact(pane, "insight", "Paired Start")
        assert isinstance(pair.data, PairRef) and pair.data.row == rows["Start"]
        assert "2026-11-19T14:23:00Z" in str(pair.label)
        await cursor_to(pilot, pane, pair)
        await pilot.press("enter")
        await pilot.pause()
        assert [m.row for m in app.requests] == [rows["Start"]]

        await cursor_to(pilot, pane, caller)  # f: the calls that made the spike
        await pilot.press("f")
        await pilot.pause()
        assert (app.filters[-1].field, app.filters[-1].value) == (
            "principal",
            "arn:aws:iam::111122223333:user/ci-deploy",
        )

        pane.show(rows["Start"])
        await pilot.pause()
        assert fact_text(pane, "insight", "State").startswith("Start")
        assert fact(pane, "insight", "Paired End").data.row == rows["End"]


async def test_insight_without_its_pair(tmp_path: Path) -> None:
    src = next(SAMPLE.rglob("*CloudTrail-Insight*.json.gz"))
    recs = [
        r
        for r in json.loads(gzip.decompress(src.read_bytes()))["Records"]
        if r["insightDetails"]["state"] == "Start"
    ]
    store = load([str(write_trail(tmp_path, recs))], jobs=1)
    app = DetailApp(store)
    async with app.run_test(size=(140, 50)) as pilot:
        pane = app.query_one(DetailPane)
        pane.show(0)
        await pilot.pause()
        assert fact_text(pane, "insight", "Paired End") == "not loaded"
        assert isinstance(fact(pane, "insight", "Paired End").data, InfoRef)


# ------------------------------------------------------------------ huge
async def test_huge_event_is_capped(tmp_path: Path) -> None:
    ev = _seed("guardduty-CreateThreatIntelSet.json")
    ev["requestParameters"] = {f"key{i:05d}": f"value {i}" for i in range(5_000)}
    ev["requestParameters"]["key00001"] = {"deep": [list(range(50))] * 10}
    big = "A" * 1_000_000
    ev["userAgent"] = big
    ev["responseElements"] = {"blob": big, "items": list(range(1_000))}
    store = load([str(write_trail(tmp_path, [ev]))], jobs=1)
    app = DetailApp(store)
    async with app.run_test(size=SIZE) as pilot:
        pane = app.query_one(DetailPane)
        await pilot.pause()
        t0 = time.perf_counter()
        pane.show(0)
        await pilot.pause()
        assert time.perf_counter() - t0 < 1.0

        ua = fact_text(pane, "where", "User agent")
        assert ua == "A" * 300 + "… (1,000,000 chars)"
        req = fact(pane, "what", "Request")
        assert str(req.label).endswith("{5,000}")
        assert not req.is_expanded  # too big to open by itself
        await cursor_to(pilot, pane, req)
        t0 = time.perf_counter()
        await pilot.press("enter")
        await pilot.pause()
        assert time.perf_counter() - t0 < 1.0
        assert req.is_expanded
        assert len(req.children) == MAX_CHILDREN + 1
        more = req.children[-1]
        assert isinstance(more.data, MoreRef)
        assert str(more.label).startswith("… 4,800 more")
        # enter on the marker adds the next batch
        await cursor_to(pilot, pane, more)
        await pilot.press("enter")
        await pilot.pause()
        assert len(req.children) == 2 * MAX_CHILDREN + 1
        assert str(req.children[-1].label).startswith("… 4,600 more")
        assert pane.cursor_node is req.children[MAX_CHILDREN]
        assert str(pane.cursor_node.label) == 'key00200: "value 200"'

        blob = by_path(pane, "responseElements.blob")
        assert str(blob.label) == 'blob: "' + "A" * 300 + "… (1,000,000 chars)"
        # space opens a long value wrapped (capped); c still copies all of it
        await cursor_to(pilot, pane, blob)
        t0 = time.perf_counter()
        await pilot.press("space")
        await pilot.pause()
        assert time.perf_counter() - t0 < 2.0
        assert blob.is_expanded and len(blob.children) > 10
        assert str(blob.children[-1].label).startswith("… (1,000,000 chars in all")
        await pilot.press("c")
        await pilot.pause()
        assert app.copies[-1].text == big
        items = by_path(pane, "responseElements.items")
        assert str(items.label) == "items [1,000]"

        t0 = time.perf_counter()
        await pilot.press("C")
        await pilot.pause()
        assert len(app.copies[-1].text) > 2_000_000
        assert time.perf_counter() - t0 < 1.0


async def test_long_value_opens_wrapped(seed_store: Store) -> None:
    store = seed_store
    app = DetailApp(store)
    async with app.run_test(size=(40, 40)) as pilot:
        pane = app.query_one(DetailPane)
        pane.show(row_of(store, "denied-0000-0000-0000-000000000001"))
        node = fact(pane, "outcome", "Message")
        await cursor_to(pilot, pane, node)
        await pilot.press("space")
        await pilot.pause()
        assert node.is_expanded
        joined = "".join(str(c.label) for c in node.children)
        assert joined.replace(" ", "") == (
            "User is not authorized to perform: access-analyzer:CreateAnalyzer".replace(" ", "")
        )
        assert all(c.data == node.data for c in node.children)
        await cursor_to(pilot, pane, node.children[0])
        await pilot.press("c")
        await pilot.pause()
        assert app.copies[-1].text.startswith("User is not authorized")
        await cursor_to(pilot, pane, node)
        await pilot.press("space")
        await pilot.pause()
        assert not node.is_expanded


# ------------------------------------------------------------------ real data
def _trail_dir() -> Path:
    return SAMPLE


@pytest.fixture(scope="module")
def real_store() -> Store:
    s = load([str(_trail_dir())])
    assert len(s) > 50
    return s


@pytest.mark.parametrize("width", [40, 100, 200])
async def test_every_real_event_renders(real_store: Store, width: int) -> None:
    store = real_store
    app = DetailApp(store)
    async with app.run_test(size=(width, 30)) as pilot:
        pane = app.query_one(DetailPane)
        await pilot.pause()
        rows = range(len(store)) if width == 100 else range(0, len(store), 7)
        for row in rows:
            pane.show(row)
            lines = visible_lines(pane)
            insight = store.value(row, "eventtype") == "AwsCloudTrailInsight"
            # An Insights event has no caller: its own section comes first instead.
            assert any(("Insight" if insight else "Who") in line for line in lines)
            assert no_controls("\n".join(lines))
            ev = store.event(row)
            assert str(json_root(pane).label) == f"Event JSON {{{len(ev)}}}"
            if not insight:
                principal = store.value(row, "principal")
                assert fact(pane, "who", "Principal").data[:2] == ("principal", principal)
        await pilot.pause()


@pytest.mark.timing
async def test_every_real_event_shows_quickly(real_store: Store) -> None:
    store = real_store
    app = DetailApp(store)
    async with app.run_test(size=SIZE) as pilot:
        pane = app.query_one(DetailPane)
        await pilot.pause()
        slowest = 0.0
        for row in range(len(store)):
            t0 = time.perf_counter()
            pane.show(row)
            visible_lines(pane)
            slowest = max(slowest, time.perf_counter() - t0)
        assert slowest < 0.5


async def test_real_identity_kinds(real_store: Store) -> None:
    store = real_store
    app = DetailApp(store)
    async with app.run_test(size=SIZE) as pilot:
        pane = app.query_one(DetailPane)
        seen: set[str] = set()
        for row in range(len(store)):
            kind = store.value(row, "cred")
            if kind in seen or store.value(row, "eventtype") == "AwsCloudTrailInsight":
                continue  # (an Insights event has no caller: no Who section)
            seen.add(kind)
            pane.show(row)
            await pilot.pause()
            assert fact(pane, "who", "Credential").data == ("cred", kind, "")
            flags = int(store.flags[row])
            titles = [str(n.label) for n in pane.root.children]
            shown = HOSTILE | LENIENT | CONFLICT | NO_ID | MALFORMED
            assert ("Flags" in titles) == bool(flags & shown)
        assert {"root", "iam-user", "role-session"} <= seen


async def test_real_conflict_and_hostile_flags(real_store: Store) -> None:
    store = real_store
    rows = [r for r in range(len(store)) if store.flags[r] & (CONFLICT | HOSTILE)]
    if not rows:
        pytest.skip("no flagged events in this trail")
    app = DetailApp(store)
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.query_one(DetailPane)
        for row in rows:
            pane.show(row)
            await pilot.pause()
            notes = [str(n.label) for n in section(pane, "flags").children]
            if store.flags[row] & CONFLICT:
                assert "shares its eventID with a different record" in notes
            if store.flags[row] & HOSTILE:
                assert "values contain control characters, shown as escapes" in notes
            await open_everything(pilot, pane)
            assert no_controls("\n".join(str(n.label) for n in walk(pane.root)))
            assert no_controls("\n".join(visible_lines(pane)))


# ------------------------------------------------------------------ state and styling
async def test_reshow_keeps_open_nodes(seed_store: Store) -> None:
    store = seed_store
    row = row_of(store, "81337b11-e5c8-4f91-b141-deb405625bc9")
    app = DetailApp(store)
    async with app.run_test(size=SIZE) as pilot:
        pane = app.query_one(DetailPane)
        pane.show(row)
        issuer = by_path(pane, "userIdentity.sessionContext.sessionIssuer")
        issuer.expand()
        await pilot.pause()
        pane.show(row)  # a view refresh re-sends the same row: nothing changes
        await pilot.pause()
        assert by_path(pane, "userIdentity.sessionContext.sessionIssuer") is issuer
        assert issuer.is_expanded
        pane.show(row, force=True)
        await pilot.pause()
        assert not by_path(pane, "userIdentity.sessionContext.sessionIssuer").is_expanded


async def test_no_color_keeps_distinctions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    store = load([str(write_trail(tmp_path, [hostile_event()]))], jobs=1)
    app = DetailApp(store)
    async with app.run_test(size=(160, 60)) as pilot:
        assert app.no_color
        pane = app.query_one(DetailPane)
        pane.show(0)
        await pilot.pause()
        filters = app.get_line_filters()
        assert filters

        def segments(node: TreeNode) -> list:
            strip = pane.render_line(node.line - pane.scroll_offset.y)
            for f in filters:
                strip = strip.apply_filter(f, app.screen.styles.background)
            return list(strip)

        ua = segments(fact(pane, "where", "User agent"))
        escapes = [s for s in ua if s.text in ("\\x1b", "\\x9b", "\\u202e")]
        assert escapes and all(s.style.reverse for s in escapes)
        key = segments(by_path(pane, ".eventName"))
        assert any(s.text.startswith("eventName") and s.style.bold for s in key)
        title = segments(section(pane, "who"))
        assert any("Who" in s.text and s.style.bold for s in title)
        # a theme change restyles without a rebuild
        app.theme = "textual-light"
        await pilot.pause()
        assert "Who" in "\n".join(visible_lines(pane))


async def test_odd_insight_renders_safely(tmp_path: Path) -> None:
    # Mistyped parts, hostile strings and non-finite numbers (the lenient decoder
    # reads NaN and 1e999) show as they are, never crash, never reach the terminal raw.
    details = {
        "state": "Start\x1b[2J",
        "eventSource": "ec2.amazonaws.com",
        "eventName": ["x"],
        "insightType": "[@click=app.quit]x[/]",
        "insightContext": {
            "statistics": {
                "baseline": {"average": "NAN_HERE"},
                "insight": {"average": "1"},
                "insightDuration": "INF_HERE",
            },
            "attributions": [
                {
                    "attribute": "\u202e\x1b]0;t\x07",
                    "insight": [{"value": "\x9bvalue", "average": "NAN_HERE"}],
                },
                "bad",
                {"insight": "no"},
                {"attribute": "userAgent", "insight": 5, "baseline": {"a": 1}},
            ],
        },
    }
    rec = {
        "eventVersion": "1.08",
        "eventTime": "2026-11-20T10:00:00Z",
        "eventID": "odd-ins",
        "eventType": "AwsCloudTrailInsight",
        "insightDetails": details,
        "sharedEventID": 7,
    }
    raw = (
        orjson.dumps({"Records": [rec]})
        .replace(b'"NAN_HERE"', b"NaN")
        .replace(b'"INF_HERE"', b"1e999")
    )
    d = tmp_path / "AWSLogs" / ACCOUNT / "CloudTrail-Insight" / "us-east-1" / "2026" / "11" / "20"
    d.mkdir(parents=True)
    (
        d / f"{ACCOUNT}_CloudTrail-Insight_us-east-1_20261120T1005Z_abcdefghijklmnop.json.gz"
    ).write_bytes(gzip.compress(raw))
    store = load([str(tmp_path)], jobs=1)
    assert len(store) == 1 and store.flags[0] & LENIENT
    app = DetailApp(store)
    async with app.run_test(size=(140, 50)) as pilot:
        pane = app.query_one(DetailPane)
        pane.show(0)
        await pilot.pause()
        await open_everything(pilot, pane)
        assert no_controls("\n".join(str(n.label) for n in walk(pane.root)))
        assert no_controls("\n".join(visible_lines(pane)))
        assert fact_text(pane, "insight", "State") == "Start\\x1b[2J"
        assert fact_text(pane, "insight", "Insight") == "[@click=app.quit]x[/]"
        labels = [str(n.label).split("  ")[0] for n in section(pane, "insight").children]
        assert "Rate" not in labels and "Duration" not in labels  # no usable numbers
        other = fact(pane, "insight", "By other")
        assert "\\u202e\\x1b]0;t\\x07" in str(other.label)
        assert app.is_running


# ------------------------------------------------------------------ bad input (issue 15)
async def test_lenient_events_say_why_and_damaged_files_say_so(tmp_path: Path) -> None:
    from tests.core.test_bad_input import gzip_with_crc_of

    base = write_trail(tmp_path, [])
    day = next(base.rglob("*.json.gz")).parent
    # Well-formed records otherwise (an eventTime each), so the flags are only these.
    at = b'"eventTime":"2026-11-20T10:00:00Z",'
    plain = orjson.dumps(
        {
            "eventVersion": "1.08",
            "eventTime": "2026-11-20T10:00:00Z",
            "eventName": "Plain",
            "eventID": "plain",
        }
    )
    (day / "nan.json.gz").write_bytes(
        gzip.compress(
            b'{"Records":[' + plain + b",{" + at + b'"eventName":"N","eventID":"nan","v":NaN}]}'
        )
    )
    (day / "utf8.json.gz").write_bytes(
        gzip.compress(b'{"Records":[{' + at + b'"eventName":"caf\xe9","eventID":"utf8"}]}')
    )
    text = orjson.dumps(
        {"Records": [{"eventTime": "2026-11-20T10:00:00Z", "eventName": "D", "eventID": "damaged"}]}
    )
    (day / "damaged.json.gz").write_bytes(gzip_with_crc_of(text, b"something else"))
    store = load([str(base)], jobs=1)
    app = DetailApp(store)
    async with app.run_test(size=(160, 40)) as pilot:
        pane = app.query_one(DetailPane)
        expect = {
            "nan": ["lenient decode: NaN literal"],
            "utf8": ["lenient decode: invalid UTF-8 replaced"],
            "damaged": [
                "from a damaged file: gzip CRC mismatch: file altered or damaged; "
                "1 record read (their content may be altered)"
            ],
        }
        for event_id, notes in expect.items():
            pane.show(row_of(store, event_id))
            await pilot.pause()
            assert [str(n.label) for n in section(pane, "flags").children] == notes
        pane.show(row_of(store, "plain"))  # beside the NaN: read like any other
        await pilot.pause()
        assert "Flags" not in [str(n.label) for n in pane.root.children]


async def test_deeply_nested_event_shows_and_copies(tmp_path: Path) -> None:
    deep: object = "leaf"
    for _ in range(1000):
        deep = [deep]
    with_deep = {"eventName": "Deep", "eventID": "deep", "requestParameters": {"p": deep}}
    import sys

    old = sys.getrecursionlimit()
    sys.setrecursionlimit(10_000)  # only to write the test's file
    try:
        raw = json.dumps({"Records": [with_deep]}).encode()
    finally:
        sys.setrecursionlimit(old)
    base = write_trail(tmp_path, [])
    next(base.rglob("*.json.gz")).write_bytes(gzip.compress(raw))
    store = load([str(base)], jobs=1)
    app = DetailApp(store)
    async with app.run_test(size=SIZE) as pilot:
        pane = app.query_one(DetailPane)
        pane.show(row_of(store, "deep"))
        await pilot.pause()
        node = by_path(pane, "requestParameters.p")
        await cursor_to(pilot, pane, node)
        await pilot.press("c")
        await pilot.pause()
        copied = app.copies[-1].text
        assert copied.startswith("[" * 1000 + '"leaf"') and copied.endswith("]" * 1000)


async def test_event_too_deep_to_summarise_shows_its_indexed_fields(tmp_path: Path) -> None:
    # The summary formats a few values it does not index (here MFAUsed); one nested
    # past what repr can take must not take the pane (or the app) down.
    deep: object = "yes"
    for _ in range(1000):
        deep = [deep]
    rec = {
        "eventName": "ConsoleLogin",
        "eventID": "deep",
        "eventSource": "signin.amazonaws.com",
        "additionalEventData": {"MFAUsed": deep},
    }
    import sys

    old = sys.getrecursionlimit()
    sys.setrecursionlimit(10_000)  # only to write the test's file
    try:
        raw = json.dumps({"Records": [rec]}).encode()
    finally:
        sys.setrecursionlimit(old)
    base = write_trail(tmp_path, [])
    next(base.rglob("*.json.gz")).write_bytes(gzip.compress(raw))
    store = load([str(base)], jobs=1)
    assert len(store) == 1
    app = DetailApp(store)
    async with app.run_test(size=SIZE) as pilot:
        pane = app.query_one(DetailPane)
        pane.show(0)
        await pilot.pause()
        labels = [str(n.label) for n in pane.root.children]
        assert labels[0] == "event nested too deeply to show as a tree"
        assert "Indexed fields" in labels
        assert any("ConsoleLogin" in line for line in visible_lines(pane))
