"""What a record is, whatever path reads it: malformed shapes (has:malformed),
anonymous callers (cred:anonymous) and Insights events (service/event/principal).

Each case is checked on all three ingest paths: the C scan, the msgspec fast path and
the general reader (dicts). test_native.py holds the differential cases (the paths
agree); these say what they must agree on.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.trailgen import REALDATA, event, trail_path, write_records
from tui.core import batch
from tui.core.batch import MALFORMED, FileBatch, build_batch, parse_file
from tui.core.derive import shape_problems
from tui.core.fields import FIELD_INDEX, INSIGHTS_PRINCIPAL
from tui.core.loader import load
from tui.core.query import parse
from tui.core.reader import read_path

PATHS = ("native", "msgspec", "general")
SAMPLE_INSIGHTS = (
    Path(__file__).resolve().parents[2] / "sample_logs/AWSLogs/111122223333/CloudTrail-Insight"
)


@pytest.fixture(autouse=True)
def _restore_native():
    native, encoder = batch._native, batch._encoder
    batch._encoder = None
    yield
    batch._native, batch._encoder = native, encoder


def batch_by(path: Path, how: str, built_by: list[str] | None = None) -> FileBatch:
    """The file's batch as one ingest path builds it. `built_by` gets the name of the
    path that actually built it (the fast paths hand files they refuse on)."""
    if how == "general":
        if built_by is not None:
            built_by.append("general")
        return build_batch(str(path), "log", read_path(str(path)))
    assert batch.native_available()
    batch.use_native(how == "native")
    real_native, real_fast = batch._native_batch, batch._fast_batch

    def native(*a):
        if built_by is not None:
            built_by.append("native")
        return real_native(*a)

    def fast(*a):
        if built_by is not None:
            built_by.append("msgspec")
        return real_fast(*a)

    batch._native_batch, batch._fast_batch = native, fast
    try:
        return parse_file(str(path))
    finally:
        batch._native_batch, batch._fast_batch = real_native, real_fast


def column(b: FileBatch, field: str) -> list[str]:
    f = FIELD_INDEX[field]
    if b.enc_token:  # pragma: no cover - no persistent encoder here
        raise AssertionError("expected file-local value numbering")
    return [b.uniques[f][c] for c in b.codes[f]]


def write(tmp_path: Path, name: str, records: list[dict]) -> Path:
    return write_records(trail_path(tmp_path, suffix=name.ljust(16, "x")[:16]), records)


# ------------------------------------------------------------------ malformed shapes

# (record overrides, malformed?) -- a clean record between each, so a file mixes both.
SHAPES: dict[str, tuple[dict, bool]] = {
    "clean": ({}, False),
    "userIdentity-string": ({"userIdentity": "alice"}, True),
    "userIdentity-list": ({"userIdentity": [{"type": "IAMUser"}]}, True),
    "userIdentity-null": ({"userIdentity": None}, False),
    "identity-type-number": ({"userIdentity": {"type": 7, "arn": "a"}}, True),
    "readOnly-string-maybe": ({"readOnly": "maybe"}, True),
    "readOnly-empty-string": ({"readOnly": ""}, True),
    "readOnly-number": ({"readOnly": 1}, True),
    "readOnly-string-true": ({"readOnly": "true"}, False),  # a pipeline's re-encoding
    "readOnly-string-FALSE": ({"readOnly": "FALSE"}, False),
    "readOnly-null": ({"readOnly": None}, False),
    "version-2": ({"eventVersion": "2.0"}, True),
    "version-10": ({"eventVersion": "10.1"}, True),
    "version-placeholder": ({"eventVersion": "..."}, True),
    "version-no-minor": ({"eventVersion": "1"}, True),
    "version-number": ({"eventVersion": 1.08}, True),
    "version-1.10": ({"eventVersion": "1.10"}, False),
    "version-1.0": ({"eventVersion": "1.0"}, False),
    "version-missing": ({"eventVersion": None}, False),
    "time-unparseable": ({"eventTime": "yesterday"}, True),
    "time-number": ({"eventTime": 1700000000}, True),
    "time-missing": ({"eventTime": None}, True),
    "time-lookup-events-form": ({"eventTime": "2026-11-20 10:00:00+00:00"}, False),
    "eventName-number": ({"eventName": 5}, True),
    "eventSource-object": ({"eventSource": {"s": 1}}, True),
    "requestParameters-string": ({"requestParameters": '{"a":1}'}, True),
    "requestParameters-list": ({"requestParameters": [1]}, True),
    "requestParameters-null": ({"requestParameters": None}, False),
    "responseElements-string": ({"responseElements": "ok"}, True),
    "insightDetails-string": ({"insightDetails": "Start"}, True),
}


def shaped(name: str, i: int) -> dict:
    over, _ = SHAPES[name]
    rec = event(f"Op{i}", event_id=f"id-{name}-{i}")
    for k, v in over.items():
        if v is None and k in ("eventVersion", "eventTime"):
            del rec[k]
        else:
            rec[k] = v
    return rec


@pytest.mark.parametrize("how", PATHS)
@pytest.mark.parametrize("name", list(SHAPES))
def test_malformed_flag_on_every_path(tmp_path, name, how):
    p = write(tmp_path, name, [shaped("clean", 0), shaped(name, 1), shaped("clean", 2)])
    b = batch_by(p, how)
    assert b.state == "loaded" and b.n == 3  # loaded: malformed is a flag, not a loss
    flagged = [bool(f & MALFORMED) for f in b.flags]
    assert flagged == [False, SHAPES[name][1], False]


def test_fast_paths_flag_what_they_accept(tmp_path):
    # The malformed values the fast paths take (an odd eventVersion or readOnly
    # string) are flagged by them, not only by the general reader.
    recs = [
        shaped("version-2", 0),
        shaped("readOnly-string-maybe", 1),
        shaped("clean", 2),
        shaped("readOnly-string-true", 3),
    ]
    p = write(tmp_path, "fastshaped", recs)
    for how in ("native", "msgspec"):
        built_by: list[str] = []
        b = batch_by(p, how, built_by)
        assert built_by == [how]
        assert [bool(f & MALFORMED) for f in b.flags] == [True, True, False, False]


def test_has_malformed_filter_and_nothing_lost(tmp_path):
    recs = [shaped(name, i) for i, name in enumerate(SHAPES)]
    write(tmp_path, "all", recs)
    store = load([tmp_path])
    assert len(store) == len(SHAPES)  # every record loads
    rows = np.flatnonzero(parse("has:malformed").evaluate(store))
    got = {store.event(int(r))["eventID"] for r in rows}
    assert got == {f"id-{name}-{i}" for i, (name, (_, bad)) in enumerate(SHAPES.items()) if bad}
    assert int(parse("-has:malformed").evaluate(store).sum()) == len(SHAPES) - len(got)


def test_shape_problems_say_what(tmp_path):
    assert shape_problems(shaped("clean", 0)) == []
    assert shape_problems(shaped("userIdentity-list", 0)) == [
        "userIdentity is an array, not an object"
    ]
    assert shape_problems(shaped("readOnly-string-maybe", 0)) == [
        'readOnly is the string "maybe", not true or false'
    ]
    assert shape_problems(shaped("version-2", 0)) == [
        'eventVersion "2.0" has an unknown major version (known: 1.x)'
    ]
    assert shape_problems(shaped("time-number", 0)) == ["eventTime is a number, not a string"]
    assert shape_problems(shaped("requestParameters-string", 0)) == [
        "requestParameters is a string, not an object"
    ]
    two = shaped("clean", 0) | {"userIdentity": "x", "eventVersion": "..."}
    assert len(shape_problems(two)) == 2


@pytest.mark.realdata
def test_real_trail_with_string_readonly_is_not_malformed():
    # cribl's captured Control Tower trail writes readOnly (and managementEvent) as
    # "true"/"false" strings on every event: it loads whole, and is not flagged.
    store = load([REALDATA / "cribl-aws-cloudtrail-pack"])
    assert len(store) == 205
    assert int(parse("has:malformed").evaluate(store).sum()) == 0
    assert int(parse("readonly:true").evaluate(store).sum()) > 0


# ------------------------------------------------------------------ anonymous callers

ANONYMOUS = {
    # What AWS writes for an unsigned S3 request (the documented form).
    "aws-anonymous": {"type": "AWSAccount", "principalId": "", "accountId": "anonymous"},
    "principal-Anonymous": {"type": "AWSAccount", "principalId": "Anonymous"},
    "principal-ANONYMOUS": {"type": "AWSAccount", "principalId": "ANONYMOUS", "accountId": ""},
    "unknown-type": {"type": "Unknown", "principalId": "anonymous"},
    "account-ANONYMOUS_PRINCIPAL": {"type": "AWSAccount", "accountId": "ANONYMOUS_PRINCIPAL"},
    "no-type": {"accountId": "anonymous"},
}
NOT_ANONYMOUS = {
    "iam-user-named-anonymous": {
        "type": "IAMUser",
        "userName": "anonymous",
        "accountId": "anonymous",
        "arn": "arn:aws:iam::1:user/anonymous",
    },
    "other-account": {"type": "AWSAccount", "principalId": "AIDAX", "accountId": "444455556666"},
    "almost": {"type": "AWSAccount", "accountId": "anonymous1"},
    "non-ascii-lookalike": {"type": "AWSAccount", "accountId": "anonymou\u017f"},  # long s
}


@pytest.mark.parametrize("how", PATHS)
def test_anonymous_credential_kind_on_every_path(tmp_path, how):
    cases = {**ANONYMOUS, **NOT_ANONYMOUS}
    recs = [event(name, identity=ui) for name, ui in cases.items()]
    b = batch_by(write(tmp_path, "anon", recs), how)
    creds = dict(zip(column(b, "event"), column(b, "cred"), strict=True))
    assert {n for n, c in creds.items() if c == "anonymous"} == set(ANONYMOUS)


def test_cred_anonymous_agrees_with_principal_anonymous(tmp_path):
    # The reported trail: principal:anonymous matched, cred:anonymous matched nothing.
    anon = {"type": "AWSAccount", "principalId": "", "accountId": "anonymous"}
    recs = [
        event("GetObject", source="s3.amazonaws.com", identity=anon, event_id=f"a{i}")
        for i in range(3)
    ] + [event("ListBuckets", event_id="b0")]
    write(tmp_path, "anon", recs)
    store = load([tmp_path])
    by_principal = parse("principal:anonymous").evaluate(store)
    assert by_principal.sum() == 3
    assert np.array_equal(parse("cred:anonymous").evaluate(store), by_principal)


# ------------------------------------------------------------------ Insights events


def insight_record(state: str = "Start", **over) -> dict:
    rec = {
        "eventVersion": "1.08",
        "eventTime": "2026-11-19T14:23:00Z" if state == "Start" else "2026-11-19T14:31:00Z",
        "awsRegion": "us-east-1",
        "eventID": f"ins-{state}",
        "eventType": "AwsCloudTrailInsight",
        "recipientAccountId": "111122223333",
        "sharedEventID": "833d271d-702a-4337-bf45-f232fc213fdb",
        "insightDetails": {
            "state": state,
            "eventSource": "ec2.amazonaws.com",
            "eventName": "DescribeInstances",
            "insightType": "ApiCallRateInsight",
            "insightContext": {
                "statistics": {"baseline": {"average": 0.5}, "insight": {"average": 20.0}}
            },
        },
        "eventCategory": "Insight",
    }
    rec.update(over)
    return rec


@pytest.mark.parametrize("how", PATHS)
def test_insight_fields_on_every_path(tmp_path, how):
    recs = [
        insight_record("Start"),
        insight_record("End"),
        # a record that names its own eventSource keeps it
        insight_record("Start", eventSource="cloudtrail.amazonaws.com", eventID="own"),
        insight_record("Start", insightDetails=None, eventID="null-details"),
        event("RunInstances"),
    ]
    b = batch_by(write(tmp_path, "insights", recs), how)
    assert column(b, "service") == [
        "ec2.amazonaws.com",
        "ec2.amazonaws.com",
        "cloudtrail.amazonaws.com",
        "",
        "ec2.amazonaws.com",
    ]
    assert column(b, "event") == ["DescribeInstances"] * 3 + ["", "RunInstances"]
    assert column(b, "principal")[:4] == [INSIGHTS_PRINCIPAL] * 3 + ["unknown"]
    assert not any(f & MALFORMED for f in b.flags)


def test_sample_insight_pair_is_found_by_its_api():
    # sample_logs holds a Start/End pair about ec2 DescribeInstances (test_sample_logs).
    store = load([SAMPLE_INSIGHTS])
    q = (
        "is:insight service:ec2.amazonaws.com event:DescribeInstances "
        'principal:"CloudTrail Insights"'
    )
    assert int(parse(q).evaluate(store).sum()) == 2


@pytest.mark.realdata
def test_real_insights_read_as_their_api():
    store = load([REALDATA / "awsdocs-examples", REALDATA / "airbnb-streamalert"])
    rows = np.flatnonzero(parse("is:insight").evaluate(store))
    assert len(rows) == 6
    for r in rows.tolist():
        d = store.event(r)["insightDetails"]
        assert store.value(r, "service") == d["eventSource"]
        assert store.value(r, "event") == d["eventName"]
        assert store.value(r, "principal") == INSIGHTS_PRINCIPAL
