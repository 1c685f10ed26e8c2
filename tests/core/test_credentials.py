"""Credential origins over real gzip trails: the minted-key index, the chain from an
event's credential back to the first identity the trail knows, `minted:` and
`descends:`, and the case report's origin line. Chains are hand-built (role chaining
across accounts, a missing link, a key minted twice, a loop) and checked on the real
public samples."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest

from tests.trailgen import REALDATA, event, trail_path, write_records
from tui.core import batch
from tui.core.batch import parse_file
from tui.core.credentials import (
    END_IDENTITY,
    END_LOOP,
    END_MISSING,
    END_NO_KEY,
    CredentialIndex,
    credentials_of,
    origin_lookup,
)
from tui.core.loader import load
from tui.core.query import QueryError, parse, term_for
from tui.core.store import Store

A, B, C = "111111111111", "222222222222", "333333333333"


def user(account: str, name: str, key: str) -> dict:
    return {
        "type": "IAMUser",
        "principalId": f"AIDA{name.upper()}",
        "accountId": account,
        "arn": f"arn:aws:iam::{account}:user/{name}",
        "accessKeyId": key,
        "userName": name,
    }


def session(account: str, role: str, name: str, key: str, **extra) -> dict:
    return {
        "type": "AssumedRole",
        "principalId": f"AROA{role.upper()}:{name}",
        "accountId": account,
        "arn": f"arn:aws:sts::{account}:assumed-role/{role}/{name}",
        "accessKeyId": key,
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "principalId": f"AROA{role.upper()}",
                "arn": f"arn:aws:iam::{account}:role/{role}",
                "accountId": account,
                "userName": role,
            },
            "attributes": {"creationDate": "2026-11-20T10:00:00Z", "mfaAuthenticated": "false"},
        },
        **extra,
    }


def assume_role(
    caller: dict,
    account: str,
    role: str,
    name: str,
    new_key: str,
    time: str,
    ip: str,
    recipient: str,
    **kw,
) -> dict:
    """An AssumeRole as the trail of `recipient` records it."""
    arn = f"arn:aws:iam::{account}:role/{role}"
    return event(
        "AssumeRole",
        time,
        source="sts.amazonaws.com",
        ip=ip,
        identity=caller,
        account=recipient,
        requestParameters={"roleArn": arn, "roleSessionName": name},
        responseElements={
            "credentials": {
                "accessKeyId": new_key,
                "expiration": "Nov 20, 2026, 11:00:00 AM",
                "sessionToken": "IQo" + "x" * 40,
            },
            "assumedRoleUser": {
                "assumedRoleId": f"AROA{role.upper()}:{name}",
                "arn": f"arn:aws:sts::{account}:assumed-role/{role}/{name}",
            },
        },
        **kw,
    )


def create_access_key(caller: dict, target: str, new_key: str, time: str, ip: str) -> dict:
    return event(
        "CreateAccessKey",
        time,
        source="iam.amazonaws.com",
        ip=ip,
        identity=caller,
        account=caller["accountId"],
        requestParameters={"userName": target},
        responseElements={
            "accessKey": {
                "accessKeyId": new_key,
                "status": "Active",
                "userName": target,
                "createDate": "Nov 20, 2026 9:00:00 AM",
            }
        },
    )


ADMIN = user(A, "admin", "AKIAADMIN0000000001")
BOB = user(A, "bob", "AKIABOB000000000002")
S1 = session(B, "Deploy", "bob-deploy", "ASIAS1S1S1S1S1S1S1S1")
S2 = session(C, "Audit", "chained", "ASIAS2S2S2S2S2S2S2S2", sourceIdentity="bob@example.com")


def chained_trail() -> list[tuple[str, str, list[dict]]]:
    """(account, delivery time, records) per file: admin creates bob's key; bob assumes
    a role in B (recorded in A and B); that session assumes a role in C; the C session
    reads a bucket. Plus an unrelated user."""
    carol = user(A, "carol", "AKIACAROL0000000003")
    return [
        (
            A,
            "20261120T0905Z",
            [
                create_access_key(
                    ADMIN, "bob", BOB["accessKeyId"], "2026-11-20T09:00:00Z", "198.51.100.1"
                ),
                event(
                    "ListUsers",
                    "2026-11-20T09:01:00Z",
                    source="iam.amazonaws.com",
                    identity=carol,
                    ip="198.51.100.9",
                ),
            ],
        ),
        (
            A,
            "20261120T1005Z",
            [
                assume_role(
                    BOB,
                    B,
                    "Deploy",
                    "bob-deploy",
                    S1["accessKeyId"],
                    "2026-11-20T10:00:00Z",
                    "203.0.113.5",
                    A,
                ),
            ],
        ),
        (
            B,
            "20261120T1005Z",
            [
                assume_role(
                    BOB,
                    B,
                    "Deploy",
                    "bob-deploy",
                    S1["accessKeyId"],
                    "2026-11-20T10:00:00Z",
                    "203.0.113.5",
                    B,
                ),
                event(
                    "DescribeInstances",
                    "2026-11-20T10:01:00Z",
                    identity=S1,
                    account=B,
                    ip="203.0.113.5",
                ),
                assume_role(
                    S1,
                    C,
                    "Audit",
                    "chained",
                    S2["accessKeyId"],
                    "2026-11-20T10:02:00Z",
                    "203.0.113.6",
                    B,
                ),
            ],
        ),
        (
            C,
            "20261120T1010Z",
            [
                event(
                    "GetObject",
                    "2026-11-20T10:03:00Z",
                    source="s3.amazonaws.com",
                    identity=S2,
                    account=C,
                    ip="203.0.113.6",
                ),
                event(
                    "ListBuckets",
                    "2026-11-20T10:04:00Z",
                    source="s3.amazonaws.com",
                    identity=S2,
                    account=C,
                    ip="203.0.113.6",
                ),
            ],
        ),
    ]


def write_files(root, files) -> list:
    out = []
    for i, (acct, when, recs) in enumerate(files):
        out.append(
            write_records(trail_path(root, account=acct, when=when, suffix=f"{i:016d}"), recs)
        )
    return out


def row_of(store: Store, name: str, account: str | None = None) -> int:
    (r,) = [
        int(r)
        for r in store.ordered()
        if store.value(int(r), "event") == name
        and (account is None or store.value(int(r), "account") == account)
    ]
    return r


def names(store: Store, text: str) -> list[str]:
    """Event names (time order) a filter selects, checked both ways the engine evaluates
    a query: by store row (the CLI) and in time order (the explorer's views)."""
    by_row = parse(text).evaluate(store)
    in_order = parse(text).evaluate(store.time_ordered())
    assert np.array_equal(in_order, by_row[store.order]), text
    return [store.value(int(r), "event") for r in store.ordered(by_row)]


# The index reads the minted keys with the C scan, or without it with the Python walk:
# every test runs both.
MODES = ["native", "python"]


@pytest.fixture(params=MODES)
def native(request):
    if request.param == "native" and not batch.native_available():
        pytest.skip("the C scan is not built")
    return request.param


def index_for(store: Store, mode: str) -> CredentialIndex:
    store.credentials = CredentialIndex(store, native=mode == "native")
    return store.credentials


def loaded(root, mode: str) -> Store:
    store = load([root])
    index_for(store, mode)
    return store


# ------------------------------------------------------------------ chains
def test_role_chain_across_accounts_back_to_the_admin(tmp_path, native):
    write_files(tmp_path, chained_trail())
    store = loaded(tmp_path, native)
    chain = credentials_of(store).chain(row_of(store, "GetObject"))
    assert chain.key == S2["accessKeyId"]
    assert [ln.key for ln in chain.links] == [
        S2["accessKeyId"],
        S1["accessKeyId"],
        BOB["accessKeyId"],
    ]
    c_link, b_link, bob_link = chain.links
    # Each link: the minting event's row, time, caller, its key and source IP.
    assert store.value(c_link.row, "principal") == S1["arn"]
    assert (c_link.event, c_link.caller, c_link.caller_key, c_link.ip, c_link.account) == (
        "AssumeRole",
        S1["arn"],
        S1["accessKeyId"],
        "203.0.113.6",
        B,
    )
    assert store.time_ms(c_link.row) == c_link.time_ms
    assert store.event(c_link.row)["eventTime"] == "2026-11-20T10:02:00Z"
    # The cross-account AssumeRole is in the trails of both accounts: one is taken, the
    # other counted.
    assert (b_link.event, b_link.caller, b_link.caller_key, b_link.copies) == (
        "AssumeRole",
        BOB["arn"],
        BOB["accessKeyId"],
        1,
    )
    assert store.value(b_link.row, "account") in (A, B)
    assert (bob_link.event, bob_link.caller, bob_link.caller_key, bob_link.ip) == (
        "CreateAccessKey",
        ADMIN["arn"],
        ADMIN["accessKeyId"],
        "198.51.100.1",
    )
    assert bob_link.row == row_of(store, "CreateAccessKey")
    # The admin's own key was minted outside the trail: the chain says so, and what the
    # record carries about it.
    assert chain.end == END_MISSING and chain.top_key == ADMIN["accessKeyId"]
    assert chain.top_identity == ADMIN["arn"]
    assert ("user", "admin") in chain.record
    assert "not in the trail" in chain.end_text()
    line = chain.summary()
    assert line.startswith(
        f"minted by AssumeRole by {S1['arn']} at 2026-11-20T10:02:00Z from 203.0.113.6 <- "
    )
    assert "minted by CreateAccessKey by arn:aws:iam::111111111111:user/admin" in line


def test_missing_link_falls_back_to_the_record(tmp_path, native):
    orphan = session(B, "Ops", "laptop", "ASIAORPHAN0000000000", sourceIdentity="alice@corp")
    orphan["onBehalfOf"] = {"userId": "u-123", "identityStoreArn": "arn:aws:identitystore::1:x"}
    write_records(
        trail_path(tmp_path),
        [
            event("PutObject", source="s3.amazonaws.com", identity=orphan),
            event(
                "GetCallerIdentity",
                source="sts.amazonaws.com",
                identity={"type": "AWSService", "invokedBy": "ec2.amazonaws.com"},
            ),
        ],
    )
    store = loaded(tmp_path, native)
    idx = credentials_of(store)
    chain = idx.chain(row_of(store, "PutObject"))
    assert chain.links == [] and chain.end == END_MISSING
    assert chain.top_key == "ASIAORPHAN0000000000" and chain.top_row == row_of(store, "PutObject")
    rec = dict(chain.record)
    assert rec["session issuer"] == f"Role arn:aws:iam::{B}:role/Ops"
    assert rec["source identity"] == "alice@corp"
    assert rec["on behalf of"] == "u-123 arn:aws:identitystore::1:x"
    none = idx.chain(row_of(store, "GetCallerIdentity"))
    assert none.end == END_NO_KEY and dict(none.record)["invoked by"] == "ec2.amazonaws.com"


def test_service_assumed_role_ends_at_the_service(tmp_path, native):
    svc = {"type": "AWSService", "invokedBy": "lambda.amazonaws.com"}
    fn = session(A, "fn-role", "my-function", "ASIALAMBDA0000000001")
    write_records(
        trail_path(tmp_path),
        [
            assume_role(
                svc,
                A,
                "fn-role",
                "my-function",
                fn["accessKeyId"],
                "2026-11-20T10:00:00Z",
                "lambda.amazonaws.com",
                A,
            ),
            event("PutItem", "2026-11-20T10:00:05Z", source="dynamodb.amazonaws.com", identity=fn),
        ],
    )
    store = loaded(tmp_path, native)
    chain = credentials_of(store).chain(row_of(store, "PutItem"))
    assert [ln.caller for ln in chain.links] == ["lambda.amazonaws.com"]
    assert chain.end == END_IDENTITY
    assert dict(chain.record)["invoked by"] == "lambda.amazonaws.com"
    assert chain.end_text() == "called without an access key by lambda.amazonaws.com"


def test_key_minted_twice_takes_the_record_before_the_use(tmp_path, native):
    p1, p2 = user(A, "first", "AKIAFIRST0000000001"), user(A, "second", "AKIASECOND000000002")
    s = session(A, "R", "s", "ASIATWICE00000000001")
    write_records(
        trail_path(tmp_path),
        [
            assume_role(p1, A, "R", "s", s["accessKeyId"], "2026-11-20T10:00:00Z", "192.0.2.1", A),
            assume_role(p2, A, "R", "s", s["accessKeyId"], "2026-11-20T12:00:00Z", "192.0.2.2", A),
            event("Early", "2026-11-20T09:00:00Z", identity=s),
            event("Middle", "2026-11-20T11:00:00Z", identity=s),
            event("Late", "2026-11-20T13:00:00Z", identity=s),
            event("AtTheSecond", "2026-11-20T12:00:00Z", identity=s),
        ],
    )
    store = loaded(tmp_path, native)
    idx = credentials_of(store)

    def first_link(name):
        return idx.chain(row_of(store, name)).links[0]

    assert (first_link("Middle").caller, first_link("Middle").after_use) == (p1["arn"], False)
    assert first_link("Late").caller == p2["arn"]
    assert first_link("AtTheSecond").caller == p2["arn"]  # at the same second: minted then
    early = first_link("Early")
    assert (early.caller, early.after_use, early.copies) == (p1["arn"], True, 1)
    assert "recorded after the use" in early.describe()
    # Both records show under minted:, and descends: follows both callers' keys.
    assert names(store, f"minted:{s['accessKeyId']}") == ["AssumeRole", "AssumeRole"]
    assert "Middle" in names(store, f"descends:{p2['accessKeyId']}")


def test_a_key_that_mints_itself_stops(tmp_path, native):
    """A documentation example has a user whose AssumeRole returns its own key."""
    u = user(A, "loop", "AKIALOOP00000000000")
    write_records(
        trail_path(tmp_path),
        [
            assume_role(u, A, "R", "s", u["accessKeyId"], "2026-11-20T10:00:00Z", "192.0.2.1", A),
            event("After", "2026-11-20T10:01:00Z", identity=u),
        ],
    )
    store = loaded(tmp_path, native)
    chain = credentials_of(store).chain(row_of(store, "After"))
    assert len(chain.links) == 1 and chain.end == END_LOOP
    assert names(store, "descends:AKIALOOP00000000000") == ["AssumeRole", "After"]


def test_chain_resolves_when_the_minting_event_arrives_later(tmp_path, native):
    """While tailing, uses can land before the AssumeRole that minted their key: the
    chain and descends: pick it up at the commit that brings it."""
    files = write_files(tmp_path, chained_trail())
    store = Store()
    idx = index_for(store, native)
    # The C account's file (the uses of S2) first, then the CreateAccessKey's.
    for f in (files[3], files[0]):
        store.add(parse_file(str(f)))
    store.commit()
    chain = idx.chain(row_of(store, "GetObject"))
    assert chain.end == END_MISSING and chain.top_key == S2["accessKeyId"]
    assert names(store, f"descends:{ADMIN['accessKeyId']}") == ["CreateAccessKey"]
    assert idx.backlog() == 0
    # The B account's file: S1 minted S2; the chain climbs to bob, but not further yet.
    store.add(parse_file(str(files[2])))
    assert idx.backlog() == 0  # added, not committed: nothing to scan
    store.commit()
    assert idx.backlog() == 1
    chain = idx.chain(row_of(store, "GetObject"))
    assert [ln.key for ln in chain.links] == [
        S2["accessKeyId"],
        S1["accessKeyId"],
        BOB["accessKeyId"],
    ]
    assert chain.links[1].copies == 0  # A's copy of the cross-account call is not in yet
    assert names(store, f"descends:{ADMIN['accessKeyId']}") == [
        "CreateAccessKey",
        "AssumeRole",
        "DescribeInstances",
        "AssumeRole",
        "GetObject",
        "ListBuckets",
    ]
    store.add(parse_file(str(files[1])))
    store.commit()
    assert idx.chain(row_of(store, "GetObject")).links[1].copies == 1


# ------------------------------------------------------------------ filter terms
def test_descends_and_minted_terms(tmp_path, native):
    write_files(tmp_path, chained_trail())
    store = loaded(tmp_path, native)
    everything_bob = [
        "AssumeRole",
        "AssumeRole",
        "DescribeInstances",
        "AssumeRole",
        "GetObject",
        "ListBuckets",
    ]
    assert names(store, f"descends:{BOB['accessKeyId']}") == everything_bob
    assert names(store, f"descends:{ADMIN['accessKeyId']}") == ["CreateAccessKey", *everything_bob]
    # A session's blast radius is what it and the sessions it spawned did.
    assert names(store, f"descends:{S1['accessKeyId']}") == [
        "DescribeInstances",
        "AssumeRole",
        "GetObject",
        "ListBuckets",
    ]
    # Case does not matter; the terms combine with the rest of the language.
    assert names(store, f"descends:{S1['accessKeyId'].lower()} service:s3.amazonaws.com") == [
        "GetObject",
        "ListBuckets",
    ]
    assert names(store, f"descends:{BOB['accessKeyId']} -event:AssumeRole account:{B}") == [
        "DescribeInstances"
    ]
    assert names(store, f"-descends:{ADMIN['accessKeyId']}") == ["ListUsers"]
    assert names(store, f"minted:{S1['accessKeyId']}") == ["AssumeRole", "AssumeRole"]
    assert names(store, f"minted:{BOB['accessKeyId']}") == ["CreateAccessKey"]
    assert names(store, "minted:ASIAS2*") == ["AssumeRole"]
    assert names(store, "minted:*") == ["CreateAccessKey", "AssumeRole", "AssumeRole", "AssumeRole"]
    assert names(store, "descends:AKIANEVERSEEN") == []
    assert names(store, "descends:AKIAADMIN* OR minted:ASIAS1*") == [
        "CreateAccessKey",
        "AssumeRole",
        "AssumeRole",
        "DescribeInstances",
        "AssumeRole",
        "GetObject",
        "ListBuckets",
    ]
    assert parse(f"descends:{BOB['accessKeyId']}").uses_credentials
    assert not parse("key:x").uses_credentials


def test_credential_terms_reject_empty_values():
    for bad in ('minted:""', 'descends:""'):
        with pytest.raises(QueryError, match="needs an access key"):
            parse(bad)
    with pytest.raises(QueryError, match="expected a value"):
        parse("descends:")


def test_hostile_and_escaped_keys(tmp_path, native):
    """A minted key written with JSON escapes is the same key as its plain spelling; a key
    holding control characters and markup is matched exactly and stays data."""
    plain = "ASIAESCAPED000000001"
    hostile = "ASIA\x1b[31m[@click=app.quit]\u202e"
    raw_file = trail_path(tmp_path, suffix="e" * 16)
    raw_file.parent.mkdir(parents=True, exist_ok=True)
    u = user(A, "u", "AKIAESC0000000000001")
    mint = assume_role(u, A, "R", "s", "PLACEHOLDER", "2026-11-20T10:00:00Z", "192.0.2.1", A)
    text = json.dumps({"Records": [mint]}).replace("PLACEHOLDER", "ASIA\\u0045SCAPED000000001")
    raw_file.write_bytes(gzip.compress(text.encode(), mtime=0))
    write_records(
        trail_path(tmp_path, suffix="f" * 16),
        [
            event("Use", "2026-11-20T10:01:00Z", identity=session(A, "R", "s", plain)),
            assume_role(u, A, "R", "h", hostile, "2026-11-20T10:02:00Z", "192.0.2.1", A),
            event("HostileUse", "2026-11-20T10:03:00Z", identity=session(A, "R", "h", hostile)),
        ],
    )
    store = loaded(tmp_path, native)
    idx = credentials_of(store)
    assert idx.chain(row_of(store, "Use")).links[0].caller == u["arn"]
    assert names(store, f"minted:{plain}") == ["AssumeRole"]
    chain = idx.chain(row_of(store, "HostileUse"))
    assert chain.links[0].key == hostile and chain.links[0].caller == u["arn"]
    assert names(store, term_for("descends", hostile)) == ["HostileUse"]
    assert names(store, term_for("minted", hostile)) == ["AssumeRole"]


def test_a_minted_key_is_spelt_as_the_events_that_used_it(tmp_path, native):
    """The chain names a minted key as an event used it: upper case (the lookup tried
    first) or in another case (found case-blind), else as its minting record wrote it."""
    u = user(A, "u", "AKIASPELL00000000001")
    upper, mixed, unused = "ASIAUPPER00000000001", "ASIAMixed00000000002", "ASIAunused0000000003"
    write_records(
        trail_path(tmp_path),
        [
            assume_role(u, A, "R", "a", upper.lower(), "2026-11-20T10:00:00Z", "192.0.2.1", A),
            assume_role(u, A, "R", "b", mixed.upper(), "2026-11-20T10:01:00Z", "192.0.2.1", A),
            assume_role(u, A, "R", "c", unused, "2026-11-20T10:02:00Z", "192.0.2.1", A),
            event("UseA", "2026-11-20T10:03:00Z", identity=session(A, "R", "a", upper)),
            event("UseB", "2026-11-20T10:04:00Z", identity=session(A, "R", "b", mixed)),
        ],
    )
    store = loaded(tmp_path, native)
    idx = credentials_of(store)
    rows, codes = idx.minted_in(np.ones(len(store), bool))
    spelt = sorted(idx.spell(c, r) for r, c in zip(rows.tolist(), codes.tolist(), strict=True))
    assert spelt == sorted([upper, mixed, unused])


def test_index_is_built_once_and_catches_up(tmp_path):
    files = write_files(tmp_path, chained_trail())
    store = Store()
    for f in files[:2]:
        store.add(parse_file(str(f)))
    store.commit()
    idx = credentials_of(store)
    assert credentials_of(store) is idx and store.credentials is idx
    assert len(idx) == 2 and idx.backlog() == 0
    for f in files[2:]:
        store.add(parse_file(str(f)))
    store.commit()
    assert idx.backlog() == 2
    assert len(idx) == 4 and idx.backlog() == 0


# ------------------------------------------------------------------ report hook
def test_case_report_origin_line(tmp_path):
    from tui.case_cmd import credential_origin_lookup

    write_files(tmp_path, chained_trail())
    store = load([tmp_path])
    assert credential_origin_lookup(None) is None  # no trail loaded
    origin_of = credential_origin_lookup(store)
    ev = store.event(row_of(store, "DescribeInstances"))
    line = origin_of(ev)
    assert line.startswith(
        f"minted by AssumeRole by {BOB['arn']} at 2026-11-20T10:00:00Z "
        "from 203.0.113.5 <- minted by CreateAccessKey by "
    )
    assert origin_of(event("X", identity={"type": "AWSService", "invokedBy": "s3"})) is None
    orphan = event("Y", identity=session(B, "Ops", "x", "ASIANOTMINTED0000000"))
    assert "the event that minted it is not in the trail" in origin_of(orphan)
    assert f"session issuer Role arn:aws:iam::{B}:role/Ops" in origin_lookup(store)(orphan)


# ------------------------------------------------------------------ real samples
@pytest.mark.realdata
def test_stratus_red_team_chain():
    """A role session of a detonation, back to the IAM user's long-term key."""
    store = load([REALDATA / "stratus-red-team"])
    idx = credentials_of(store)
    uses = np.flatnonzero(parse("key:ASIANQQHHS551LWULIWD").evaluate(store))
    assert len(uses) == 30
    for r in uses.tolist():
        chain = idx.chain(r)
        (link,) = chain.links
        assert (link.event, link.caller, link.caller_key, link.ip) == (
            "AssumeRole",
            "arn:aws:iam::457448411975:user/christophe",
            "AKIAWOGXN38MFN92ING5",
            "200.249.253.51",
        )
        assert store.event(link.row)["responseElements"]["credentials"]["accessKeyId"] == (
            "ASIANQQHHS551LWULIWD"
        )
        assert chain.end == END_MISSING and chain.top_key == "AKIAWOGXN38MFN92ING5"
    # The blast radius of the user's key: its own calls and everything its sessions did.
    radius = parse("descends:AKIAWOGXN38MFN92ING5").evaluate(store)
    own = parse("key:AKIAWOGXN38MFN92ING5").evaluate(store)
    assert radius.sum() == own.sum() + 30 and not (own & ~radius).any()
    # The persistence key a detonation created, and the federation token.
    made = np.flatnonzero(parse("minted:AKIAXAFZN8JEPF6L682H").evaluate(store))
    assert [store.value(int(r), "event") for r in made] == ["CreateAccessKey"]
    fed = np.flatnonzero(parse("minted:ASIASTJKC5GCM7ZE6LUP").evaluate(store))
    assert [store.value(int(r), "event") for r in fed] == ["GetFederationToken"]
    # Every minting record the index holds names its key where MINTERS says.
    assert len(idx) == 11


@pytest.mark.realdata
def test_real_service_roles_and_cross_account_copies():
    store = load([REALDATA / "cribl-aws-cloudtrail-pack"])
    idx = credentials_of(store)
    rows = np.flatnonzero(parse("key:ASIAZPERN54NJAXIP2M4").evaluate(store))
    assert len(rows) == 2
    chain = idx.chain(int(rows[0]))
    assert chain.end == END_IDENTITY and chain.links[0].caller_type == "AWSService"
    assert dict(chain.record)["invoked by"] == chain.links[0].caller
    docs = load([REALDATA / "opensearch-catalog"])
    link = credentials_of(docs).minting_record("ASIAVBW53AN5EZSWT2UV")
    assert link is not None and link.copies == 1  # recorded by two accounts


@pytest.mark.realdata
def test_every_real_minting_record_is_found():
    """With the C scan and without, the index agrees with a plain walk of every real
    sample."""
    from tui.core.credentials import MINTERS
    from tui.core.paths import CONTAINER, values

    store = load([REALDATA])
    expected = set()
    for r in range(len(store)):
        path = MINTERS.get(store.value(r, "event"))
        if path is not None:
            expected |= {(r, v) for v in values(store.event(r), path) if v is not CONTAINER}
    assert len(expected) > 200
    for mode in MODES:
        if mode == "native" and not batch.native_available():
            continue
        idx = index_for(store, mode)
        rows, codes = idx.minted_in(np.ones(len(store), bool))
        pairs = zip(rows.tolist(), codes.tolist(), strict=True)
        got = {(r, idx.spell(c, r).lower()) for r, c in pairs}
        assert got == expected and len(rows) == len(expected), mode


# ------------------------------------------------------------------ key numbering
def test_lower_raw_keys_equal_the_per_value_keys():
    """The whole-list path gives what raw_key(v.lower()) gives value by value, on random
    lists of plain keys mixed (or not) with values it must hand to the per-value path."""
    import random

    from tui.core.credentials import _lower_raw_keys
    from tui.core.paths import raw_key

    rnd = random.Random(21)
    odd = ["", "ASIA\x1b[31m", 'a"b', "a\\b", "é", "İ", "a\nb", "\x7f", "\u202e", "tab\t"]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcxyz-_/:+= "
    for _ in range(300):
        vals = [
            "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 24)))
            for _ in range(rnd.randint(0, 40))
        ]
        if rnd.random() < 0.5:
            vals.insert(rnd.randint(0, len(vals)), rnd.choice(odd))
        assert _lower_raw_keys(vals) == [raw_key(v.lower()) for v in vals]


def test_key_codes_numbered_in_slices_equal_one_by_one(tmp_path, native, monkeypatch):
    """`key` values numbered in slices (here of 2) get the code each value's own raw key
    has in the table, '' gets -1, and chains read the same."""
    from tui.core import credentials as creds
    from tui.core.paths import raw_key

    monkeypatch.setattr(creds, "_KEYS_SLICE", 2)
    write_files(tmp_path, chained_trail())
    store = loaded(tmp_path, native)
    idx = store.credentials
    idx.catch_up()
    vals = store.values("key")
    assert len(vals) > 4 and "" in vals
    want = [int(idx.table.lookup(raw_key(v.lower()))) if v else -1 for v in vals]
    assert idx._key2code.tolist() == want
    assert all(c >= 0 for v, c in zip(vals, want, strict=True) if v)
    monkeypatch.setattr(creds, "_KEYS_SLICE", 8192)
    whole = loaded(tmp_path, native)
    for row in range(len(store)):
        assert idx.chain(row).lines() == whole.credentials.chain(row).lines()


def test_entries_of_a_code_are_found_as_by_a_scan():
    from tui.core.credentials import _ByCode

    rng = np.random.default_rng(5)
    by = _ByCode()
    codes = []
    for _ in range(4):  # merged in four updates, as commits add minting records
        more = rng.integers(0, 50, 300).astype(np.int32)
        by.add(more, len(codes))
        codes.extend(more.tolist())
    for code in (*range(-1, 52), np.int64(7), np.int32(9)):
        want = [i for i, c in enumerate(codes) if c == code]
        assert by.of(code).tolist() == want  # arrival order within a code


def test_minting_rows_ordered_by_one_packed_key_as_by_lexsort():
    """The scan's order of minting rows (file, path, line) from one stable sort of a
    packed key: lexsort's, with the files in order (as a load commits them) or not."""
    from tui.core.credentials import _by_file_path_line

    rng = np.random.default_rng(3)
    for sorted_files in (True, False):
        n = 20_000
        fids = rng.integers(0, 3000, n).astype(np.int32)
        if sorted_files:
            fids.sort()
        kinds = rng.integers(0, 3, n).astype(np.int8)
        lines = rng.integers(0, 2**31 - 1, n).astype(np.int32)
        lines[: n // 2] = rng.integers(0, 40, n // 2)  # ties on every part
        want = np.lexsort((lines, kinds, fids))
        assert np.array_equal(_by_file_path_line(fids, kinds, lines), want)
    empty = np.empty(0, np.int32)
    assert len(_by_file_path_line(empty, empty.astype(np.int8), empty)) == 0


@pytest.mark.skipif(not batch.native_available(), reason="the C scan is not built")
def test_an_index_with_its_table_presized_equals_one_grown_by_doubling(tmp_path, monkeypatch):
    """The index reserves its key table's room for a run (and maps it in steps) before
    it scans: each minting record, key code and chain is what an index whose table grows
    by doubling finds (test_paths: a reserved table never doubles)."""
    from tui.core import credentials as creds

    write_files(tmp_path, chained_trail())
    monkeypatch.setattr(creds, "_PREFAULT_BYTES", 4096)
    store = loaded(tmp_path, "native")
    idx = store.credentials
    idx.catch_up()
    monkeypatch.setattr(creds.CredentialIndex, "_reserve", lambda self, more: None)
    grown = loaded(tmp_path, "native")
    gidx = grown.credentials
    gidx.catch_up()
    assert len(idx) == len(gidx) > 0
    for name in ("_rows", "_codes", "_times", "_parents", "_key2code"):
        assert np.array_equal(getattr(idx, name), getattr(gidx, name)), name
    assert idx.table.blob(0) == gidx.table.blob(0)
    for row in range(len(store)):
        assert idx.chain(row).lines() == grown.credentials.chain(row).lines()
