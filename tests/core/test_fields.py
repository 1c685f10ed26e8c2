"""The field table (tui/core/fields.py) drives every ingest path.

Every entry must be derived alike by the reference reading of its rule
(`rules.evaluate`), the generated function over dicts (the general reader), the
generated msgspec structs and function (the fast path) and the C scan's programs; the
same holds for a temporary table with an extra field, which is what adding a field is.
Then the fields the table added (mfa, session, sourceidentity, vpce, console, and the
path fields requestid/resource) are checked for what they mean, through the store and
the query language.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import orjson
import pytest

from tests.core.test_native import IAM_USER, IDENTITIES, PRINCIPALS, ROLES, assumed
from tests.trailgen import REALDATA, event, trail_path, write_records
from tui.core import batch, derive, rules
from tui.core.derive import TableError, compile_fields, compile_native
from tui.core.fastpath import decode_records
from tui.core.fields import FIELD_INDEX, FIELDS, Field
from tui.core.loader import load
from tui.core.query import QueryError, parse
from tui.core.reader import split_documents
from tui.core.rules import At, Empty, IsObject, Present, any_of, cases, is_, lookup, lowered, when

scan = batch._scan
needs_scan = pytest.mark.skipif(scan is None, reason="the C scan is not built")


# ------------------------------------------------------------------ the four readings


def reference(fields, rec: dict) -> tuple[str, ...]:
    return tuple(rules.evaluate(f.rule, rec)[0] for f in fields)


def native_values(schema, data: bytes) -> list[tuple[str, ...]] | None:
    got = scan.Encoder(schema).scan(data)
    if got is None:
        return None
    fresh, codes = got[1], np.frombuffer(got[2], np.int32)
    n = len(got[5]) // 8
    cols = [[fresh[f][c] for c in codes[f * n : (f + 1) * n]] for f in range(len(fresh))]
    return list(zip(*cols, strict=True))


def check_document(d: derive.Derivation, data: bytes, schema=None) -> dict[str, bool]:
    """Every path that accepts `data` gives the reference values for each record.
    Returns which paths accepted it."""
    recs = [
        r
        for s, e in (split_documents(data) or [(0, len(data))])
        for r in orjson.loads(data[s:e])["Records"]
    ]
    want = [reference(d.fields, r) for r in recs]
    assert [d.general(r) for r in recs] == want, "general"
    fast = decode_records(data, d.fast)
    if fast is not None:
        assert [d.fast.values(r) for r in fast[0]] == want, "msgspec"
    native = None
    if schema is not None:
        native = native_values(schema, data)
        if native is not None:
            assert native == want, "native"
    return {"msgspec": fast is not None, "native": native is not None}


def doc(*recs: dict) -> bytes:
    return orjson.dumps({"Records": list(recs)})


def ev(**over) -> dict:
    rec = event("DescribeInstances", event_id="x")
    for k, v in over.items():
        if v is None:
            rec.pop(k, None)
        else:
            rec[k] = v
    return rec


def with_sc(**sc) -> dict:
    ui = assumed()
    ui["sessionContext"] = {**ui["sessionContext"], **sc}
    return ui


# Records that take every rule of the table down each of its branches, with values of
# each JSON type where the rules read them.
RECORDS: dict[str, dict] = {}
for _name, _ui in {**IDENTITIES, **PRINCIPALS}.items():
    if isinstance(_ui, dict):
        RECORDS[f"identity-{_name}"] = ev(userIdentity=_ui)
for _name, _issuer in ROLES.items():
    RECORDS[f"role-{_name}"] = ev(userIdentity=assumed(_issuer))
for _v in ("Yes", "No", "YES", "no", "...", "", 5, True, ["No"], {"x": 1}):
    RECORDS[f"mfa-used-{_v!r}"] = ev(additionalEventData={"MFAUsed": _v, "LoginTo": "x"})
for _v in ("true", "false", "TRUE", "False", "maybe", "", True, 0, None):
    RECORDS[f"mfa-session-{_v!r}"] = ev(userIdentity=with_sc(attributes={"mfaAuthenticated": _v}))
RECORDS["mfa-both"] = ev(
    userIdentity=with_sc(attributes={"mfaAuthenticated": "true"}),
    additionalEventData={"MFAUsed": "No"},
)
RECORDS["mfa-used-odd-session-yes"] = ev(
    userIdentity=with_sc(attributes={"mfaAuthenticated": "true"}),
    additionalEventData={"MFAUsed": "..."},
)
for _name, _v in {"string": "s", "array": [1], "number": 3, "null": None}.items():
    RECORDS[f"aed-{_name}"] = ev(additionalEventData=_v)
    RECORDS[f"attributes-{_name}"] = ev(userIdentity=with_sc(attributes=_v))
    RECORDS[f"sessionContext-{_name}"] = ev(userIdentity=assumed(sessionContext=_v))
for _t in ("AwsConsoleSignIn", "AwsConsoleSignin", "AWSCONSOLEACTION", "AwsApiCall", "", 7):
    RECORDS[f"console-type-{_t!r}"] = ev(eventType=_t)
for _v in ("true", "TRUE", True, "false", "yes", 1):
    RECORDS[f"console-session-{_v!r}"] = ev(sessionCredentialFromConsole=_v)
RECORDS["console-signin-and-session"] = ev(
    eventType="AwsConsoleSignIn", sessionCredentialFromConsole="true"
)
for _t in ("AssumedRole", "FederatedUser", "IAMUser", "assumedrole"):
    RECORDS[f"session-{_t}"] = ev(userIdentity=assumed(type=_t))
RECORDS["session-no-arn"] = ev(userIdentity={**assumed(), "arn": None})
for _name, _sc, _ui in (
    ("sc", "alice", None),
    ("ui", None, "bob"),
    ("both", "alice", "bob"),
    ("sc-empty", "", "bob"),
    ("sc-number", 5, "bob"),
    ("list", ["a"], None),
):
    ui = with_sc(sourceIdentity=_sc) if _sc is not None else assumed()
    if _ui is not None:
        ui["sourceIdentity"] = _ui
    RECORDS[f"sourceidentity-{_name}"] = ev(userIdentity=ui)
for _v in ("vpce-0123456789abcdef0", "", 12, None):
    RECORDS[f"vpce-{_v!r}"] = ev(vpcEndpointId=_v)
RECORDS["insight"] = {
    "eventVersion": "1.08",
    "eventTime": "2024-05-01T12:00:00Z",
    "eventID": "i",
    "eventType": "AwsCloudTrailInsight",
    "insightDetails": {
        "eventSource": "ec2.amazonaws.com",
        "eventName": "RunInstances",
        "state": "Start",
    },
}
for _v in (True, False, "TRUE", "False", None, 1):
    RECORDS[f"readonly-{_v!r}"] = ev(readOnly=_v)


@pytest.mark.parametrize("name", list(RECORDS))
def test_every_field_is_derived_alike_on_every_path(name):
    d = derive.DERIVED
    schema = batch._SCHEMA if scan is not None else None
    plain = ev(eventID="plain")
    check_document(d, doc(plain, RECORDS[name], plain), schema)


@needs_scan
def test_the_fast_paths_take_odd_shapes_where_they_may():
    # Not vacuous: the fast paths accept these (members the rules look into need not
    # be objects; values of any type are read by Python where the C scan cannot).
    accepted = {"msgspec": 0, "native": 0}
    wellformed = [r for r in RECORDS.values() if not derive.shape_problems(r)]
    for rec in wellformed:
        got = check_document(derive.DERIVED, doc(rec), batch._SCHEMA)
        for k in accepted:
            accepted[k] += got[k]
    assert len(wellformed) > len(RECORDS) * 0.9
    assert accepted["msgspec"] == len(wellformed)  # what is malformed is theirs to refuse
    assert accepted["native"] > len(wellformed) * 0.7
    for name in (
        "aed-string",
        "attributes-array",
        "sessionContext-number",
        "mfa-both",
        "console-signin-and-session",
        "sourceidentity-both",
        "insight",
    ):
        assert check_document(derive.DERIVED, doc(RECORDS[name]), batch._SCHEMA)["native"], name


# ------------------------------------------------------------------ adding a field

# Every rule kind, in a field a test adds to the table.
PROBE = Field(
    "probe",
    "Probe",
    cases(
        lookup("probe.kind", {"a": "alpha", "b": "beta"}, ci=True),
        when(
            any_of(is_("probe.x", "1", "2"), Empty("probe.y")),
            IsObject("probe.obj"),
            then=At("probe.z"),
        ),
        when(Present("probe.w"), then=lowered("probe.flag").default),
        default=At("probe.d"),
    ),
    "a test field",
)
TLS = Field("tls", "TLS", rules.value("tlsDetails.tlsVersion"), "tlsDetails.tlsVersion")
PROBES = [  # (probe object, its expected value)
    ({"kind": "A", "z": "zz", "obj": {}}, "alpha"),
    ({"kind": "b"}, "beta"),
    ({"kind": "c", "x": "1", "y": "set", "obj": {"k": 1}, "z": "from-z"}, "from-z"),
    ({"y": "", "obj": {}, "z": 5}, "5"),
    ({"x": "3", "y": "set", "obj": {}, "z": "no", "d": "dflt"}, "dflt"),
    ({"x": "1", "obj": "not an object", "z": "no", "d": None}, ""),
    ({"w": "yes", "flag": True}, "true"),
    ({"w": "yes", "flag": "FALSE"}, "false"),
    ({"w": 0, "flag": True, "d": ["l"]}, '["l"]'),
    ("not an object", ""),
]


def test_a_field_added_to_the_table_flows_through_every_path():
    d = compile_fields((*FIELDS, PROBE, TLS))
    schema = d.native(scan) if scan is not None else None
    recs = [ev(probe=p, tlsDetails={"tlsVersion": "TLSv1.2"}) for p, _ in PROBES]
    assert check_document(d, doc(*recs), schema)["msgspec"]
    for p, rec in zip(PROBES, recs, strict=True):
        got = check_document(d, doc(rec), schema)
        # the C scan leaves numbers and arrays in the members it reads to Python
        odd = isinstance(p[0], dict) and any(
            isinstance(p[0].get(k), (int, list)) for k in ("z", "d", "w")
        )
        assert got["msgspec"] and (scan is None or got["native"] or odd), p
    # The new columns say what the rules mean; the table's own columns are unchanged.
    assert [d.general(r)[-2:] for r in recs] == [(want, "TLSv1.2") for _, want in PROBES]
    assert [d.general(r)[:-2] for r in recs] == [derive.event_values(r) for r in recs]
    for rec in RECORDS.values():  # and the rest of the corpus agrees too
        check_document(d, doc(rec), schema)


def test_tables_the_compilers_refuse():
    both = Field("both", "Both", cases(when(IsObject("a"), then=At("a"))), "x")
    with pytest.raises(TableError, match="both as a value and as an object"):
        compile_fields((both,))
    with pytest.raises(TableError, match="bad path"):
        compile_fields((Field("dot", "Dot", rules.value("a..b"), "x"),))
    with pytest.raises(TableError, match="ASCII lower case"):
        compile_fields((Field("up", "Up", cases(lookup("a", {"Yes": "y"}, ci=True)), "x"),))
    with pytest.raises(TableError, match="ASCII lower case"):
        compile_fields((Field("nb", "Nb", cases(when(is_("a", "é", ci=True), then="y")), "x"),))


@needs_scan
def test_the_c_scan_checks_the_schema_it_is_given():
    good = compile_native(FIELDS, scan.OPCODES)
    args = [
        good.nodes,
        good.slot_flags,
        good.programs,
        good.consts,
        good.time_slot,
        good.id_slot,
        good.checks,
    ]
    assert scan.Schema(*args).nfields == len(FIELDS)
    bad_cases = {
        "program": [*args[:2], [[scan.OPCODES["OP_CASE"], 99, 99, 0]], *args[3:]],
        "opcode": [*args[:2], [[12345]], *args[3:]],
        "slot": [
            *args[:2],
            [[scan.OPCODES["OP_DEFAULT"], scan.OPCODES["R_SLOT"], 9999]],
            *args[3:],
        ],
        "const": [
            *args[:2],
            [[scan.OPCODES["OP_DEFAULT"], scan.OPCODES["R_CONST"], 9999]],
            *args[3:],
        ],
        "node": [[(True, [(b"x", -1, 5000)])], *args[1:]],
        "time": [*args[:4], 9999, *args[5:]],
        "check": [*args[:6], [(0, 7)]],
    }
    for name, bad in bad_cases.items():
        with pytest.raises(ValueError):
            scan.Schema(*bad)
        assert name
    with pytest.raises(ValueError, match="unbuilt"):
        scan.Encoder(scan.Schema.__new__(scan.Schema))
    half = scan.Schema.__new__(scan.Schema)
    with pytest.raises(ValueError):
        half.__init__(*bad_cases["program"])
    with pytest.raises(ValueError, match="unbuilt"):  # a failed build stays unusable
        scan.Encoder(half)
    with pytest.raises(TypeError, match="built once"):
        scan.Schema(*args).__init__(*args)
    bare = scan.Encoder.__new__(scan.Encoder)
    with pytest.raises(RuntimeError, match="without its schema"):
        bare.scan(b'{"Records":[{}]}')


@pytest.mark.realdata
def test_real_trails_are_derived_alike_on_every_path():
    """Every record of the public samples: the reference reading, the general function,
    the msgspec path and the C scan, record by record (each alone, so a file one path
    refuses is still compared on the rest)."""
    schema = batch._SCHEMA if scan is not None else None
    n = 0
    for p in sorted(REALDATA.rglob("*.json*")):
        if p.name == "manifest.json":
            continue
        data = p.read_bytes()
        if data[:2] == b"\x1f\x8b":
            import gzip

            data = gzip.decompress(data)
        try:
            recs = orjson.loads(data)["Records"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            continue
        for rec in recs:
            if isinstance(rec, dict):
                check_document(derive.DERIVED, doc(rec), schema)
                n += 1
    assert n > 8000


# ------------------------------------------------------------------ what the new fields mean


def _trail(root: Path) -> Path:
    aed = {"MFAUsed": "No", "LoginTo": "https://console.aws.amazon.com/"}
    recs = [
        event(
            "ConsoleLogin",
            event_id="login-no",
            source="signin.amazonaws.com",
            eventType="AwsConsoleSignIn",
            additionalEventData=aed,
        ),
        event(
            "ConsoleLogin",
            event_id="login-yes",
            source="signin.amazonaws.com",
            eventType="AwsConsoleSignIn",
            additionalEventData={**aed, "MFAUsed": "Yes"},
        ),
        event(
            "GetObject",
            event_id="role-call",
            source="s3.amazonaws.com",
            identity=with_sc(attributes={"mfaAuthenticated": "false"}, sourceIdentity="dana"),
            vpcEndpointId="vpce-0a1b2c3d",
            sessionCredentialFromConsole="true",
            resources=[
                {"ARN": "arn:aws:s3:::prod-logs/k", "type": "AWS::S3::Object"},
                {"ARN": "arn:aws:s3:::prod-logs", "type": "AWS::S3::Bucket"},
            ],
            requestID="REQ-1",
        ),
        event("ListUsers", event_id="key-call", identity=IAM_USER, requestID="REQ-2"),
        event("UpdateUserPreference", event_id="console-action", eventType="AwsConsoleAction"),
    ]
    write_records(trail_path(root), recs)
    return root


def ids(store, q: str) -> list[str]:
    return sorted(store.event(int(r))["eventID"] for r in np.flatnonzero(parse(q).evaluate(store)))


@pytest.mark.parametrize("native", [True, False], ids=["c-scan", "python"])
def test_the_new_fields_filter_as_documented(tmp_path, native):
    was = batch._native
    batch.use_native(native)
    try:
        store = load([_trail(tmp_path)], jobs=1)
    finally:
        batch.use_native(was)
    assert ids(store, "mfa:no") == ["login-no", "role-call"]
    assert ids(store, "event:ConsoleLogin mfa:no") == ["login-no"]
    assert ids(store, "mfa:YES") == ["login-yes"]
    assert ids(store, 'mfa:""') == ["console-action", "key-call"]
    assert ids(store, "session:*/alice") == ["role-call"]
    assert store.value(_row(store, "role-call"), "session") == (
        "arn:aws:sts::111122223333:assumed-role/Admin/alice"
    )
    assert ids(store, "sourceidentity:dana") == ids(store, "srcid:DANA") == ["role-call"]
    assert ids(store, "vpce:vpce-0a1b2c3d") == ids(store, "has:vpce") == ["role-call"]
    assert ids(store, "console:sign-in") == ["login-no", "login-yes"]
    assert ids(store, "console:session") == ["role-call"]
    assert ids(store, "console:action") == ["console-action"]
    assert ids(store, "console:*") == ["console-action", "login-no", "login-yes", "role-call"]
    # path fields: computed from the events on first use
    assert ids(store, "requestid:req-1") == ids(store, ".requestID:REQ-1") == ["role-call"]
    assert ids(store, "resource:arn:aws:s3:::prod-logs") == ["role-call"]
    assert ids(store, "has:resource") == ["role-call"]
    with pytest.raises(QueryError, match=r"valid: yes, no"):
        parse("mfa:false").evaluate(store)
    counts = dict(store.counts("console"))
    assert counts == {"sign-in": 2, "session": 1, "action": 1, "": 1}


def _row(store, event_id: str) -> int:
    return next(r for r in range(len(store)) if store.event(r)["eventID"] == event_id)


@pytest.mark.realdata
def test_real_trails_hold_the_new_fields():
    store = load(
        [
            REALDATA / "awsdocs-examples",
            REALDATA / "stratus-red-team",
            REALDATA / "opensearch-catalog",
        ]
    )
    # real sign-ins without MFA, sessions with and without, console sessions, endpoints
    assert parse("event:ConsoleLogin mfa:no").evaluate(store).sum() > 0
    assert parse("mfa:yes").evaluate(store).sum() > 0
    assert parse("console:sign-in").evaluate(store).sum() > 0
    assert parse("console:session").evaluate(store).sum() > 0
    assert parse("has:vpce").evaluate(store).sum() > 0
    assert parse("has:session").evaluate(store).sum() > 0
    sessions = np.flatnonzero(parse("has:session").evaluate(store))
    assert not (parse("has:session -type:AssumedRole -type:FederatedUser").evaluate(store).any())
    assert all(store.value(int(r), "session") == store.value(int(r), "principal") for r in sessions)
    # "YES" (one real record) reads as yes
    assert "YES" in json.dumps(
        [
            store.event(int(r)).get("additionalEventData")
            for r in np.flatnonzero(parse("mfa:yes").evaluate(store))
        ]
    )


def test_field_names_and_columns_follow_the_table():
    assert list(FIELD_INDEX) == [f.name for f in FIELDS]
    assert all(f.doc for f in FIELDS)
    assert batch.NFIELDS == len(FIELDS)
    if scan is not None:
        assert batch._SCHEMA.nfields == len(FIELDS)
