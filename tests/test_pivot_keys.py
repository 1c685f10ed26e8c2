"""Pilot tests of the investigation keys (issues 17 and 20 in the explorer): the filter
bar's `/` and ctrl+x, `=` (this value alone), K / D (this credential, its descendants),
w < > (a window around the event), a (the same actor in it), i (cards), the Origin and
Detections sections of the detail pane, the list's detection marker and `!` (the
Detections facet). Hermetic trails from tests/trailgen.py; the same keys on the real
samples at the end."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import OptionList

from tests.conftest import make_app, run, screen_text, settle, wait_for, wait_loaded
from tests.test_path_pivots import cursor_to, ids, summary_line, to_event
from tests.trailgen import REALDATA, event, trail_path, write_records
from tui.card_screen import CardScreen
from tui.core.query import QueryError, Severity, parse, term_for
from tui.core.sanitize import is_clean
from widgets.detail import DetailPane, PairRef
from widgets.facets import FacetOptions

HOSTILE = "\x1b[2J[@click=app.quit]\u202e"
ACCT = "111122223333"


def _user(name: str, key: str, account: str = ACCT) -> dict:
    return {
        "type": "IAMUser",
        "principalId": f"AIDA{name.upper()}",
        "accountId": account,
        "arn": f"arn:aws:iam::{account}:user/{name}",
        "accessKeyId": key,
        "userName": name,
    }


def _session(role: str, session: str, key: str, account: str = ACCT) -> dict:
    return {
        "type": "AssumedRole",
        "principalId": f"AROA:{session}",
        "accountId": account,
        "arn": f"arn:aws:sts::{account}:assumed-role/{role}/{session}",
        "accessKeyId": key,
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "principalId": "AROA",
                "accountId": account,
                "arn": f"arn:aws:iam::{account}:role/{role}",
                "userName": role,
            }
        },
    }


def _creds(key: str) -> dict:
    return {"credentials": {"accessKeyId": key, "sessionToken": "t", "expiration": "x"}}


def _chain_trail(root: Path) -> Path:
    """An admin (its own key minted outside the trail) creates a key for bob; bob's key
    assumes role ops (session alice), which assumes role deep in another account. Carol
    works beside them; dave signs in without MFA; someone stops CloudTrail."""
    admin = _user("admin" + HOSTILE, "AKIAADMIN0000001")
    bob = _user("bob", "AKIALEAKED000001")
    alice = _session("ops", "alice", "ASIAOPS000000001")
    deep = _session("deep", "alice", "ASIADEEP00000001", account="444455556666")
    carol = _user("carol", "AKIACAROL0000001")
    recs = [
        event(
            "CreateAccessKey",
            "2026-11-20T09:00:00Z",
            source="iam.amazonaws.com",
            identity=admin,
            ip="203.0.113.9",
            event_id="mint-leaked",
            responseElements={
                "accessKey": {
                    "accessKeyId": "AKIALEAKED000001",
                    "userName": "bob",
                    "status": "Active",
                }
            },
        ),
        event(
            "ListBuckets",
            "2026-11-20T10:00:00Z",
            source="s3.amazonaws.com",
            identity=bob,
            ip="198.51.100.66",
            event_id="bob-list",
        ),
        event(
            "AssumeRole",
            "2026-11-20T10:01:00Z",
            source="sts.amazonaws.com",
            identity=bob,
            ip="198.51.100.66",
            event_id="mint-ops",
            responseElements=_creds("ASIAOPS000000001"),
        ),
        event(
            "DescribeInstances",
            "2026-11-20T10:03:00Z",
            identity=alice,
            ip="198.51.100.66",
            event_id="alice-describe",
        ),
        event(
            "AssumeRole",
            "2026-11-20T10:04:00Z",
            source="sts.amazonaws.com",
            identity=alice,
            ip="198.51.100.67",
            event_id="mint-deep",
            responseElements=_creds("ASIADEEP00000001"),
        ),
        event(
            "GetObject",
            "2026-11-20T10:05:00Z",
            source="s3.amazonaws.com",
            identity=deep,
            ip="198.51.100.67",
            account="444455556666",
            event_id="deep-get",
        ),
        event(
            "StopLogging",
            "2026-11-20T10:06:00Z",
            source="cloudtrail.amazonaws.com",
            identity=alice,
            ip="198.51.100.66",
            event_id="stop",
            requestParameters={"name": "main"},
        ),
        event(
            "DescribeInstances",
            "2026-11-20T10:10:00Z",
            identity=carol,
            ip="192.0.2.5",
            event_id="carol-near",
        ),
        event(
            "DescribeInstances",
            "2026-11-20T10:40:00Z",
            identity=carol,
            ip="192.0.2.5",
            event_id="carol-far",
        ),
        event(
            "ListBuckets",
            "2026-11-20T12:00:00Z",
            source="s3.amazonaws.com",
            identity=bob,
            ip="198.51.100.99",
            event_id="bob-later",
        ),
        event(
            "ConsoleLogin",
            "2026-11-20T10:02:00Z",
            source="signin.amazonaws.com",
            identity=_user("dave", ""),
            ip="203.0.113.50",
            event_id="dave-login",
            additionalEventData={"MFAUsed": "No"},
            responseElements={"ConsoleLogin": "Success"},
        ),
    ]
    write_records(trail_path(root), recs)
    return root


@pytest.fixture
async def chain(tmp_path: Path):
    app = make_app([_chain_trail(tmp_path)])
    async with run(app) as pilot:
        await wait_loaded(pilot)
        yield pilot
        await settle(pilot)


async def _list(pilot, event_id: str) -> None:
    """The list cursor on the event, the list focused."""
    await to_event(pilot, event_id)
    pilot.app.events_list.focus()
    await pilot.pause()


async def _press(pilot, *keys: str) -> None:
    await pilot.press(*keys)
    await settle(pilot)


# ------------------------------------------------------------------ filter bar
async def test_slash_puts_the_cursor_at_the_end_and_ctrl_x_clears(chain) -> None:
    pilot, app = chain, chain.app
    app.set_filter("service:s3.amazonaws.com")
    app.filter_input.value = "service:s3.amazonaws.com"
    await settle(pilot)
    app.events_list.focus()
    await pilot.press("slash")
    inp = app.filter_input
    assert inp.has_focus and inp.selected_text == ""
    assert inp.cursor_position == len(inp.value)
    await pilot.press(*" ip:198.51.100.99")
    await _press(pilot, "enter")
    assert app.query_obj.text == "service:s3.amazonaws.com ip:198.51.100.99"
    assert ids(app) == ["bob-later"]
    await pilot.press("slash")
    await _press(pilot, "ctrl+x")
    assert app.query_obj.text == "" and inp.value == ""
    assert len(app.view.rows) == 11


# ------------------------------------------------------------------ = replaces
async def test_equals_replaces_the_filter_with_the_value(chain) -> None:
    pilot, app = chain, chain.app
    app.set_filter("service:s3.amazonaws.com")
    await settle(pilot)
    pane = await to_event(pilot, "bob-later")
    await cursor_to(pilot, pane, summary_line(pane, "Source IP"))
    await _press(pilot, "equals_sign")
    assert app.query_obj.text == "ip:198.51.100.99"
    assert app.filter_input.value == "ip:198.51.100.99"
    await _press(pilot, "u")  # the previous filter is one undo away
    assert app.query_obj.text == "service:s3.amazonaws.com"


async def test_equals_on_a_facet_row_replaces_the_filter(chain) -> None:
    pilot, app = chain, chain.app
    app.set_filter("event:DescribeInstances")
    await settle(pilot)
    fl = app.main.facet_panel.lists[0]  # service
    fl.focus()
    await pilot.pause()
    await _press(pilot, "equals_sign")
    assert app.query_obj.text == f"service:{fl.rows[0][0]}"


# --------------------------------------------------------------- credentials
async def test_K_filters_to_this_credential_and_D_to_its_descendants(chain) -> None:
    pilot, app = chain, chain.app
    await _list(pilot, "bob-list")
    await _press(pilot, "K")
    assert app.query_obj.text == "key:AKIALEAKED000001"
    assert ids(app) == ["bob-list", "mint-ops", "bob-later"]
    await _press(pilot, "D")
    assert app.query_obj.text == "descends:AKIALEAKED000001"
    # bob's key, the ops session it minted, the deep session that one minted
    assert ids(app) == [
        "bob-list",
        "mint-ops",
        "alice-describe",
        "mint-deep",
        "deep-get",
        "stop",
        "bob-later",
    ]


async def test_K_on_an_event_without_a_key_says_so(chain) -> None:
    pilot, app = chain, chain.app
    await _list(pilot, "dave-login")
    before = app.query_obj.text
    await _press(pilot, "K")
    assert app.query_obj.text == before
    from tests.conftest import toasts

    assert any("without an access key" in t for t in toasts(app))


# -------------------------------------------------------------------- windows
async def test_w_sets_a_window_and_angle_brackets_widen_and_narrow(chain) -> None:
    pilot, app = chain, chain.app
    app.set_filter("service:ec2.amazonaws.com since:2026-11-01")
    await settle(pilot)
    await _list(pilot, "alice-describe")  # 10:03
    await _press(pilot, "w")
    # the time term is replaced, the rest kept
    assert app.query_obj.text == (
        "service:ec2.amazonaws.com since:2026-11-20T09:53:00Z until:2026-11-20T10:13:00Z"
    )
    assert ids(app) == ["alice-describe", "carol-near"]
    await _press(pilot, "greater_than_sign")  # ± 30 min
    assert app.query_obj.text.endswith("since:2026-11-20T09:33:00Z until:2026-11-20T10:33:00Z")
    await _press(pilot, "greater_than_sign")  # ± 1 h
    assert ids(app) == ["alice-describe", "carol-near", "carol-far"]
    await _press(pilot, "less_than_sign", "less_than_sign", "less_than_sign")  # ± 5 min
    assert app.query_obj.text.endswith("since:2026-11-20T09:58:00Z until:2026-11-20T10:08:00Z")
    assert ids(app) == ["alice-describe"]


async def test_a_restricts_to_the_same_actor_in_the_window_then_ip_then_key(chain) -> None:
    pilot, app = chain, chain.app
    app.set_filter("event:StopLogging")
    await settle(pilot)
    await _list(pilot, "stop")  # 10:06 by the ops session, from .66
    await _press(pilot, "A")
    assert app.query_obj.text == (
        "principal:arn:aws:sts::111122223333:assumed-role/ops/alice "
        "since:2026-11-20T09:56:00Z until:2026-11-20T10:16:00Z"
    )
    assert ids(app) == ["alice-describe", "mint-deep", "stop"]
    await _list(pilot, "stop")
    await _press(pilot, "A")  # the same event again: its source IP
    assert app.query_obj.text.startswith("ip:198.51.100.66 ")
    assert ids(app) == ["bob-list", "mint-ops", "alice-describe", "stop"]
    await _list(pilot, "stop")
    await _press(pilot, "A")  # then its key
    assert app.query_obj.text.startswith("key:ASIAOPS000000001 ")


# --------------------------------------------------------------------- origin
def _section(pane: DetailPane, name: str):
    for sec in pane.root.children:
        if getattr(sec.data, "name", None) == name:
            return sec
    raise AssertionError(f"no section {name!r}")


async def test_origin_shows_the_chain_and_enter_jumps_to_each_link(chain) -> None:
    pilot, app = chain, chain.app
    pane = await to_event(pilot, "deep-get")
    origin = _section(pane, "origin")
    lines = [str(n.label) for n in origin.children]
    links = [n for n in origin.children if isinstance(n.data, PairRef)]
    # deep session <- AssumeRole by the ops session <- AssumeRole by bob's key
    # <- CreateAccessKey by admin, whose own key was minted outside the trail
    assert [app.store.event(n.data.row)["eventID"] for n in links] == [
        "mint-deep",
        "mint-ops",
        "mint-leaked",
    ]
    assert "198.51.100.67" in lines[0] and "2026-11-20T10:04:00" in lines[0]
    top = next(t for t in lines if t.startswith("Top"))
    assert "AKIAADMIN0000001" in top and "not in the trail" in top
    assert any("identity type" in t and "IAMUser" in t for t in lines)  # the record's
    for t in lines:  # the admin's hostile name is inert
        assert is_clean(t), t
    await cursor_to(pilot, pane, links[1])
    await _press(pilot, "enter")
    assert app.store.event(app.events_list.cursor_row)["eventID"] == "mint-ops"


async def test_origin_of_an_event_without_a_key_is_absent(chain) -> None:
    pilot = chain
    pane = await to_event(pilot, "dave-login")
    assert all(getattr(s.data, "name", None) != "origin" for s in pane.root.children)


# ---------------------------------------------------------------------- cards
async def test_i_opens_the_principal_card_and_enter_filters_to_a_line(chain) -> None:
    pilot, app = chain, chain.app
    await _list(pilot, "bob-list")
    await pilot.press("i")
    await wait_for(pilot, lambda: isinstance(app.screen, CardScreen), what="the card")
    card = app.screen
    assert card.card.subject == "principal:arn:aws:iam::111122223333:user/bob"
    assert card.card.events == 3
    text = screen_text(app)
    assert "source IPs (2)" in text and "198.51.100.99" in text
    assert "credentials minted (1" in text and "ASIAOPS000000001" in text
    options = card.query_one(OptionList)
    i = next(k for k, p in enumerate(card.pivots) if p and p[0] == "ip:198.51.100.99")
    options.highlighted = i
    await pilot.pause()
    await _press(pilot, "enter")
    assert not isinstance(app.screen, CardScreen)
    assert app.query_obj.text == "ip:198.51.100.99"
    assert ids(app) == ["bob-later"]


async def test_i_on_a_key_line_opens_the_key_card_with_its_origin(chain) -> None:
    pilot, app = chain, chain.app
    pane = await to_event(pilot, "alice-describe")
    await cursor_to(pilot, pane, summary_line(pane, "Access key"))
    await pilot.press("i")
    await wait_for(pilot, lambda: isinstance(app.screen, CardScreen), what="the card")
    card = app.screen
    assert card.card.kind == "key" and card.card.value == "ASIAOPS000000001"
    text = screen_text(app)
    assert "origin" in text and "AssumeRole" in text
    assert is_clean(text.replace("\n", ""))
    # n on the descendants line: everything descended from the key
    i = next(k for k, p in enumerate(card.pivots) if p and p[0].startswith("descends:"))
    card.query_one(OptionList).highlighted = i
    await pilot.pause()
    await _press(pilot, "n")
    assert app.query_obj.text == "descends:ASIAOPS000000001"
    assert ids(app) == ["alice-describe", "mint-deep", "deep-get", "stop"]


async def test_escape_closes_the_card_without_a_filter(chain) -> None:
    pilot, app = chain, chain.app
    await _list(pilot, "bob-list")
    await pilot.press("i")
    await wait_for(pilot, lambda: isinstance(app.screen, CardScreen), what="the card")
    await _press(pilot, "escape")
    assert not isinstance(app.screen, CardScreen) and app.query_obj.text == ""


# ----------------------------------------------------------------- detections
async def test_detections_marker_section_facet_and_severity_filter(chain) -> None:
    pilot, app = chain, chain.app
    assert app.store.detections is not None
    # the list marks the flagged rows
    lst = app.events_list
    stop_row = next(r for r in app.view.rows.tolist() if app.store.event(r)["eventID"] == "stop")
    assert lst.detection_ranks[stop_row] >= 3  # high
    # the detail pane: what matched, why, ATT&CK, as plain text
    pane = await to_event(pilot, "stop")
    det = _section(pane, "detections")
    lines = [str(n.label) for n in det.children]
    assert any("CloudTrail logging stopped" in t for t in lines)
    assert any(t.lstrip().startswith("why: matched") for t in lines)
    assert any("ATT&CK: " in t and "T1562" in t for t in lines)
    # f on the rule line filters on rule:ID
    rule_line = next(n for n in det.children if getattr(n.data, "field", None) == "rule")
    await cursor_to(pilot, pane, rule_line)
    await _press(pilot, "f")
    assert app.query_obj.text == "rule:cloudtrail-logging-stopped"
    assert ids(app) == ["stop"]
    await _press(pilot, "ctrl+x")
    # ! shows the Detections facet by severity, focused; Enter filters on it
    app.events_list.focus()
    await _press(pilot, "exclamation_mark")
    fl = next(f for f in app.main.facet_panel.lists if f.field == "severity")
    assert isinstance(app.focused, FacetOptions)
    assert fl.rows[0][0] == "high"
    assert dict(fl.rows)["medium"] >= 1  # dave's sign-in without MFA
    await _press(pilot, "enter")
    assert app.query_obj.text == "severity:high"
    assert ids(app) == ["stop"]
    # ] shows the facet by rule
    await _press(pilot, "ctrl+x")
    fl.focus()
    await _press(pilot, "right_square_bracket")
    assert fl.field == "rule"
    assert "console-login-without-mfa" in dict(fl.rows)


def test_severity_terms_parse_to_rank_ranges() -> None:
    assert parse("severity:high").root == Severity(3, 3)
    assert parse("severity:>=medium").root == Severity(2, 4)
    assert parse("severity:>low").root == Severity(2, 4)
    assert parse("severity:<=low").root == Severity(0, 1)
    assert parse("severity:<high").root == Severity(0, 2)
    assert parse("severity:>=medium").uses_detections
    with pytest.raises(QueryError, match="bad severity"):
        parse("severity:urgent")
    with pytest.raises(QueryError, match="bad severity"):
        parse("severity:=>high")


def test_severity_names_are_the_rules_severities() -> None:
    from tui.core.detect import SEVERITIES
    from tui.core.query import SEVERITY_NAMES

    assert SEVERITIES == SEVERITY_NAMES


def test_severity_terms_select_by_the_flagging_rules(tmp_path: Path) -> None:
    from tui.core.detect import Detections, load_pack
    from tui.core.loader import load

    store = load([_chain_trail(tmp_path)])
    Detections(store, load_pack())

    def got(text: str) -> list[str]:
        mask = parse(text).evaluate(store)
        return sorted(store.event(int(r))["eventID"] for r in mask.nonzero()[0])

    assert got("severity:high") == ["stop"]
    assert "dave-login" in got("severity:medium")
    assert got("severity:>=medium") == sorted(set(got("severity:medium") + ["stop"]))
    assert "stop" not in got("severity:<high")
    assert got("severity:critical") == []


async def test_O_goes_to_the_minting_event_and_up_the_chain(chain) -> None:
    pilot, app = chain, chain.app

    def at() -> str:
        return app.store.event(app.events_list.cursor_row)["eventID"]

    await _list(pilot, "deep-get")
    await _press(pilot, "O")
    assert at() == "mint-deep"
    await _press(pilot, "O")
    assert at() == "mint-ops"
    await _press(pilot, "O")
    assert at() == "mint-leaked"
    # the filter hides the minting event: the filter becomes minted:K
    app.set_filter("service:s3.amazonaws.com")
    await settle(pilot)
    await _list(pilot, "deep-get")
    await _press(pilot, "O")
    assert app.query_obj.text == "minted:ASIADEEP00000001"
    assert ids(app) == ["mint-deep"]


# ------------------------------------------------------------------ tailing
async def test_detections_and_origins_follow_arrivals_while_tailing(tmp_path: Path) -> None:
    from tests.test_app import _deliver

    _chain_trail(tmp_path)
    app = make_app([tmp_path], watch=True, rescan_s=1.0)
    async with run(app) as pilot:
        await wait_loaded(pilot)
        await wait_for(pilot, lambda: app.tailing, 5, what="tailing")
        app.set_filter("severity:>=high")
        await settle(pilot)
        assert ids(app) == ["stop"]
        # a trail deleted by a session of a key minted in a file not there yet
        late = _session("ops", "eve", "ASIALATE00000001")
        _deliver(
            trail_path(tmp_path, when="20261120T1200Z", suffix="late000000000000"),
            [
                event(
                    "DeleteTrail",
                    "2026-11-20T11:30:00Z",
                    source="cloudtrail.amazonaws.com",
                    identity=late,
                    event_id="delete-trail",
                    requestParameters={"name": "main"},
                )
            ],
        )
        await wait_for(
            pilot,
            lambda: len(app.store) == 12 and not app.rules_pending,
            10,
            what="the arrival's rules",
        )
        await settle(pilot)
        assert ids(app) == ["stop", "delete-trail"]  # the filter follows the new hits
        row = next(
            r for r in app.view.rows.tolist() if app.store.event(r)["eventID"] == "delete-trail"
        )
        assert app.events_list.detection_ranks[row] >= 3
        pane = await to_event(pilot, "delete-trail")
        top = [str(n.label) for n in _section(pane, "origin").children]
        assert any("not in the trail" in t for t in top)
        # its minting event arrives: the Origin finds it
        _deliver(
            trail_path(tmp_path, when="20261120T1205Z", suffix="mint000000000000"),
            [
                event(
                    "AssumeRole",
                    "2026-11-20T11:29:00Z",
                    source="sts.amazonaws.com",
                    identity=_user("bob", "AKIALEAKED000001"),
                    event_id="mint-late",
                    responseElements=_creds("ASIALATE00000001"),
                )
            ],
        )
        await wait_for(
            pilot,
            lambda: len(app.store) == 13 and not app.rules_pending,
            10,
            what="the minting event",
        )
        await settle(pilot)
        pane.show(pane.row, force=True)
        links = [n for n in _section(pane, "origin").children if isinstance(n.data, PairRef)]
        assert [app.store.event(n.data.row)["eventID"] for n in links] == [
            "mint-late",
            "mint-leaked",
        ]


# ----------------------------------------------------------------- real samples
STRATUS = REALDATA / "stratus-red-team"
CRIBL = REALDATA / "cribl-aws-cloudtrail-pack"


async def _real(paths, size=(160, 45)):
    app = make_app(paths)
    return app, run(app, size)


@pytest.mark.realdata
@pytest.mark.skipif(not REALDATA.is_dir(), reason="no real samples")
async def test_real_mfa_less_console_logins_and_their_ips() -> None:
    """! ] n m f a Enter Enter: the sign-ins without MFA, and the ip facet lists their
    addresses."""
    app = make_app([REALDATA])
    async with run(app) as pilot:
        await wait_loaded(pilot, timeout=60)
        await settle(pilot)
        keys = ["exclamation_mark", "right_square_bracket", "n", "m", "f", "a", "enter", "enter"]
        for k in keys:
            await pilot.press(k)
            await settle(pilot)
        assert len(keys) <= 10
        assert app.query_obj.text == "rule:console-login-without-mfa"
        rows = app.view.rows.tolist()
        assert rows
        for r in rows:
            e = app.store.event(r)
            assert e["eventName"] == "ConsoleLogin"
            assert e["additionalEventData"]["MFAUsed"] == "No"
        ip_facet = next(f for f in app.main.facet_panel.lists if f.field == "ip")
        want = {app.store.value(r, "ip") for r in rows} - {""}
        assert {v for v, _ in ip_facet.rows} == want


@pytest.mark.realdata
@pytest.mark.skipif(not CRIBL.is_dir(), reason="no real samples")
async def test_real_who_minted_a_sessions_credentials() -> None:
    """The session's event under the cursor: its Origin names the AssumeRole and its
    caller; O goes to that event."""
    app = make_app([CRIBL])
    async with run(app) as pilot:
        await wait_loaded(pilot, timeout=60)
        app.set_filter("principal:*ConfigResourceCompositionSession event:ListBackupVaults")
        await settle(pilot)
        assert len(app.view.rows)
        row = int(app.view.rows[0])
        key = app.store.value(row, "key")
        assert key.startswith("ASIA")
        pane = app.query_one(DetailPane)
        origin = [str(n.label) for n in _section(pane, "origin").children]
        assert any("AssumeRole" in t and "config.amazonaws.com" in t for t in origin)
        await _press(pilot, "O")
        minted = app.events_list.cursor_row
        assert app.query_obj.text == f"minted:{key}"
        e = app.store.event(minted)
        assert e["eventName"] == "AssumeRole"
        assert e["responseElements"]["credentials"]["accessKeyId"] == key


@pytest.mark.realdata
@pytest.mark.skipif(not STRATUS.is_dir(), reason="no real samples")
async def test_real_leaked_key_descendants_window_and_high_detections() -> None:
    app = make_app([STRATUS])
    async with run(app) as pilot:
        await wait_loaded(pilot, timeout=60)
        await settle(pilot)
        # ! Enter: every high-severity detection (the facet's first row is the most severe)
        await _press(pilot, "exclamation_mark")
        fl = next(f for f in app.main.facet_panel.lists if f.field == "severity")
        top = fl.rows[0][0]
        await _press(pilot, "enter")
        assert app.query_obj.text == f"severity:{top}"
        det = app.store.detections
        want = {int(r) for r in det.rows_of_severity(3, 3 if top == "high" else 4)}
        if top == "high":
            assert {int(r) for r in app.view.rows} == want
        # the list marks every one of them
        assert all(app.events_list.detection_ranks[r] >= 3 for r in app.view.rows.tolist())
        # D on a flagged event with a key: everything it and its descendants did
        app.events_list.focus()
        row = next((r for r in app.view.rows.tolist() if app.store.value(r, "key")), None)
        assert row is not None
        app.events_list.move_to_row(row)
        await settle(pilot)
        key = app.store.value(row, "key")
        await _press(pilot, "D")
        assert app.query_obj.text == f"descends:{key}"
        assert row in app.view.rows.tolist()
        # w: ± 10 minutes around it
        app.events_list.move_to_row(row)
        await settle(pilot)
        await _press(pilot, "w")
        ms = app.store.time_ms(row)
        times = app.store.times[app.view.rows]
        assert times.min() >= ms - 600_000 - 1000 and times.max() <= ms + 600_000 + 1000
        assert "descends:" in app.query_obj.text and "since:" in app.query_obj.text


async def test_hostile_rule_text_stays_inert_in_the_detections_section(tmp_path: Path) -> None:
    """A rule's title, description and references (a Sigma file is data too) reach the
    detail pane as plain text: escapes shown, markup never run."""
    from tui.core.detect.rules import rule_from_dict

    rule = rule_from_dict(
        {
            "id": "hostile-rule",
            "title": f"t{HOSTILE}",
            "severity": "critical",
            "filter": "event:StopLogging",
            "description": f"d{HOSTILE}",
            "tactics": ["defense-evasion"],
            "techniques": ["T1562.008"],
            "references": [f"https://example.com/{HOSTILE}"],
            "false_positives": f"fp{HOSTILE}",
        }
    )
    app = make_app([_chain_trail(tmp_path)], rules=[rule])
    async with run(app) as pilot:
        await wait_loaded(pilot)
        pane = await to_event(pilot, "stop")
        det = _section(pane, "detections")
        lines = [str(n.label) for n in det.children]
        assert lines[0].startswith("Critical") and "hostile-rule" in lines[0]
        assert any(
            t.startswith("reference: https://example.com/") for t in (x.strip() for x in lines)
        )
        for t in lines:
            assert is_clean(t), t
        text = screen_text(app)
        assert "\x1b" not in text and "\u202e" not in text
        assert app.is_running  # the [@click=app.quit] in the title did nothing
        await _press(pilot, "exclamation_mark")
        fl = next(f for f in app.main.facet_panel.lists if f.field == "severity")
        assert fl.rows == [("critical", 1)]


async def test_i_on_a_facet_row_opens_that_values_card(chain) -> None:
    pilot, app = chain, chain.app
    fl = next(f for f in app.main.facet_panel.lists if f.field == "ip")
    fl.focus()
    await pilot.pause()
    value = fl.highlighted_value
    assert value
    await pilot.press("i")
    await wait_for(pilot, lambda: isinstance(app.screen, CardScreen), what="the card")
    assert app.screen.card.subject == f"ip:{value}"


@pytest.mark.realdata
@pytest.mark.skipif(not STRATUS.is_dir(), reason="no real samples")
async def test_real_K_a_window_steps_equals_slash_and_card() -> None:
    """The other pivot keys on the Stratus Red Team logs, from a flagged event."""
    app = make_app([STRATUS])
    async with run(app) as pilot:
        await wait_loaded(pilot, timeout=60)
        app.set_filter("severity:high")
        await settle(pilot)
        row = next(r for r in app.view.rows.tolist() if app.store.value(r, "key"))
        app.events_list.move_to_row(row)
        app.events_list.focus()
        await settle(pilot)
        store = app.store
        key, principal, ip = (store.value(row, f) for f in ("key", "principal", "ip"))
        ms = store.time_ms(row)
        # K: everything done with its key
        await _press(pilot, "K")
        assert app.query_obj.text == f"key:{key}"
        assert {store.value(r, "key") for r in app.view.rows.tolist()} == {key}
        # a: its principal within ± 10 min, then > and < step the window
        app.events_list.move_to_row(row)
        await settle(pilot)
        await _press(pilot, "A")
        assert app.query_obj.text.startswith("principal:")
        assert {store.value(r, "principal") for r in app.view.rows.tolist()} == {principal}
        t = store.times[app.view.rows]
        assert t.min() >= ms - 601_000 and t.max() <= ms + 601_000
        n10 = len(app.view.rows)
        await _press(pilot, "greater_than_sign")
        assert len(app.view.rows) >= n10
        await _press(pilot, "less_than_sign", "less_than_sign")
        assert len(app.view.rows) <= n10
        # / appends to the filter; ctrl+x clears it
        await pilot.press("slash")
        await pilot.press(*" has:error")
        await _press(pilot, "enter")
        assert app.query_obj.text.endswith(" has:error")
        await pilot.press("slash")
        await _press(pilot, "ctrl+x")
        assert app.query_obj.text == ""
        # = on the detail's Source IP line: that address alone
        app.events_list.move_to_row(row)
        await settle(pilot)
        pane = app.query_one(DetailPane)
        pane.focus()
        await pilot.pause()
        await cursor_to(pilot, pane, summary_line(pane, "Source IP"))
        await _press(pilot, "equals_sign")
        assert app.query_obj.text == term_for("ip", ip)
        # i on the same line: the IP's card
        await pilot.press("i")
        await wait_for(pilot, lambda: isinstance(app.screen, CardScreen), what="the card")
        assert app.screen.card.subject == term_for("ip", ip)
        assert app.screen.card.events == len(app.view.rows)
        assert is_clean(screen_text(app).replace("\n", ""))
