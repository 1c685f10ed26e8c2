"""The SQL translation selects exactly the events the in-memory engine selects.

Each filter runs twice over the same real gzip trail: through the store
(`load` + `parse(f).evaluate`) and through DuckDB, which reads the same files into a
view with the Athena table's columns (sqlschema.duckdb_view_sql) and runs the DuckDB
form of the SQL tree (sqlgen.to_sql). The sets of events must be equal. The Athena form
of the same tree differs only in the engine functions test_sqlgen.py checks.
"""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from tests.trailgen import REALDATA, event, trail_path, write_records
from tui.core.loader import load
from tui.core.normalize import parse_time_ms
from tui.core.query import parse
from tui.core.sqlgen import SqlError, to_sql
from tui.core.sqlschema import duckdb_view_sql

duckdb = pytest.importorskip("duckdb")

ACCT = "111122223333"


def _ev(n: int, **kw) -> dict:
    kw.setdefault("event_id", f"ev-{n:03d}")
    return event(**kw)


def hostile_records() -> dict[str, list[dict]]:
    """Files (by delivery time) of records covering every field's derivation, hostile
    values, missing and null members and odd shapes."""
    role_ui = {
        "type": "AssumedRole",
        "principalId": "AROAEXAMPLE:deploy",
        "arn": f"arn:aws:sts::{ACCT}:assumed-role/ci-deploy/run-42",
        "accountId": ACCT,
        "accessKeyId": "ASIAEXAMPLE",
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "principalId": "AROAEXAMPLE",
                "arn": f"arn:aws:iam::{ACCT}:role/ci-deploy",
                "accountId": ACCT,
                "userName": "ci-deploy",
            },
            "attributes": {"mfaAuthenticated": "false", "creationDate": "2026-11-20T09:00:00Z"},
            "sourceIdentity": "alice@example.com",
        },
    }
    a = [
        _ev(1),
        _ev(
            2,
            name="GetSessionToken",
            source="sts.amazonaws.com",
            ip="203.0.113.5",
            error="AccessDenied",
            identity={
                "type": "Root",
                "principalId": ACCT,
                "arn": f"arn:aws:iam::{ACCT}:root",
                "accountId": ACCT,
            },
            userAgent="50%_off*agent",
            time="2026-11-20T10:01:00Z",
        ),
        _ev(
            3,
            name="PutObject",
            source="s3.amazonaws.com",
            region="eu-west-1",
            identity=role_ui,
            readOnly=False,
            time="2026-11-20T10:02:00.250Z",
            eventCategory="Data",
            requestParameters={
                "bucketName": "Prod-Bucket",
                "key": 'a"b\\c',
                "x-amz-acl": "private",
                "nested": {"list": [{"v": 1}, {"v": [2, "Three"]}, [{"v": "deep"}]]},
                "num": 1e5,
                "flag": True,
                "empty": "",
                "nul": None,
                "obj": {},
                "arr": [],
                "MiXeD": "CaseKey",
            },
            resources=[
                {
                    "ARN": "arn:aws:s3:::Prod-Bucket/key",
                    "accountId": ACCT,
                    "type": "AWS::S3::Object",
                },
                {"ARN": "arn:aws:s3:::Prod-Bucket", "type": "AWS::S3::Bucket"},
            ],
            tlsDetails={
                "tlsVersion": "TLSv1.2",
                "cipherSuite": "ECDHE-RSA-AES128-GCM-SHA256",
                "clientProvidedHostHeader": "s3.eu-west-1.amazonaws.com",
            },
            additionalEventData={"MFAUsed": "No", "bytesTransferredIn": 0},
            vpcEndpointId="vpce-0abc1234",
            sessionCredentialFromConsole="true",
        ),
        _ev(
            4,
            name="[@click=app.quit]",
            ip="2001:db8::1",
            identity={
                "type": "IAMUser",
                "arn": f"arn:aws:iam::{ACCT}:user/Ünïcode-ÉVE",
                "accountId": ACCT,
                "userName": "Ünïcode-ÉVE",
                "accessKeyId": "AKIAUNICODE",
                "sourceIdentity": "Ünïcode-src",
            },
            userAgent="evil\x1b[31m\u202eagent",
            errorMessage="line1\nline2",
            time="2026-11-20T10:03:00Z",
        ),
        _ev(
            5,
            name="GetObject",
            source="s3.amazonaws.com",
            ip="198.51.100.9",
            identity={"type": "AWSAccount", "accountId": "ANONYMOUS_PRINCIPAL", "principalId": ""},
            time="2026-11-20T10:04:00Z",
            readOnly="TRUE",
            sessionCredentialFromConsole="TRUE",
        ),
        _ev(
            6,
            name="AssumeRole",
            source="sts.amazonaws.com",
            ip="ec2.amazonaws.com",
            identity={"invokedBy": "ec2.amazonaws.com"},
            time="2026-11-20T10:05:00Z",
        ),
        _ev(
            7,
            ip="AWS Internal",
            identity={"type": "AWSService", "invokedBy": "cloudtrail.amazonaws.com"},
            time="2026-11-20T10:06:00Z",
            recipientAccountId="",
        ),
        _ev(
            8,
            ip="010.1.2.3",
            time="2026-11-20T10:07:00Z",
            errorCode=None,
            userAgent="",
            eventType="AwsConsoleAction",
        ),
        _ev(
            9,
            ip="::ffff:192.0.2.1",
            time="2026-11-20T10:08:00Z",
            identity={
                "type": "IAMUser",
                "arn": "arn:aws:iam::*:user/star*",
                "accountId": ACCT,
                "userName": "star*",
            },
            eventType="AwsConsoleSignin",
            additionalEventData={"MFAUsed": "Yes"},
        ),
        _ev(10, time="not a time"),
        _ev(
            11,
            name="ConsoleLogin",
            source="signin.amazonaws.com",
            time="2026-11-20T11:00:00Z",
            additionalEventData={"MFAUsed": "NO"},
            eventType="AwsConsoleSignIn",
            responseElements={"ConsoleLogin": "Success"},
        ),
        _ev(
            12,
            name="ListBuckets",
            source="s3.amazonaws.com",
            time="2026-11-20T12:00:00Z",
            identity={
                "type": "FederatedUser",
                "principalId": "p1",
                "arn": "arn:aws:sts::999988887777:federated-user/bob",
                "onBehalfOf": {"userId": "user-from-idc"},
                "accountId": "999988887777",
            },
            requestParameters={"say": 'say "hi"', "path": "C:\\Tools\\x", "pct": "100%_sure"},
        ),
    ]
    # An event with hardly anything, and one whose userIdentity is not an object.
    bare = {"eventID": "ev-013", "eventTime": "2026-11-20T12:30:00Z", "eventVersion": "1.08"}
    odd = _ev(14, time="2026-11-20T12:31:00Z")
    odd["userIdentity"] = "oops"
    odd["readOnly"] = None
    odd["errorCode"] = None
    nul = _ev(
        15, time="2026-11-20T12:32:00Z", identity={"type": "Unknown", "principalId": "anonymous"}
    )
    nul["eventSource"] = None
    nul["sourceIPAddress"] = None
    nul["awsRegion"] = None
    no_time = _ev(16)
    del no_time["eventTime"]
    # Delivered after midnight: filed under the next day's folder.
    late = _ev(
        17, name="DeleteTrail", source="cloudtrail.amazonaws.com", time="2026-11-20T23:59:50Z"
    )
    next_day = _ev(
        18,
        name="StopLogging",
        source="cloudtrail.amazonaws.com",
        time="2026-11-21T00:10:00Z",
        ip="2001:DB8:0:0:0:0:0:2",
    )
    old = _ev(
        19,
        name="RunInstances",
        time="2026-11-19T08:00:00Z",
        identity={
            "type": "SAMLUser",
            "principalId": "SAML:alice@example.com",
            "userName": "alice@example.com",
            "accountId": ACCT,
            "sessionContext": {"attributes": {"mfaAuthenticated": "TRUE"}},
        },
    )
    return {
        "20261120T1010Z": a,
        "20261120T1240Z": [bare, odd, nul, no_time],
        "20261121T0005Z": [late, next_day],
        "20261119T0805Z": [old],
    }


FILTERS = [
    "",
    # indexed fields, wildcards, negation with missing values, empty
    "service:ec2.amazonaws.com",
    "service:EC2*",
    "-service:ec2*",
    'service:""',
    "service:*",
    "event:Describe*",
    "event:[@click=app.quit]",
    f"principal:arn:aws:iam::{ACCT}:user/alice",
    "principal:*alice*",
    "principal:unknown",
    "principal:user-from-idc",
    r"principal:arn:aws:iam::\*:user/star\*",
    "principal:*star*",
    "cred:root",
    "cred:iam-user",
    "cred:role-session",
    "cred:federated",
    "cred:anonymous",
    "cred:aws-service",
    "cred:other",
    "cred:r*",
    "-cred:other",
    "ip:203.0.113.*",
    "region:eu-west-1",
    'region:""',
    f"account:{ACCT}",
    f"-account:{ACCT}",
    "account:999988887777",
    "error:AccessDenied",
    '-error:""',
    "has:error",
    "type:Root",
    "type:root",
    "key:AKIA*",
    "role:*role/ci-deploy",
    "-has:role",
    "ua:*50%_off*",
    "ua:50%_off\\*agent",
    r"ua:*\x1b*",
    r"ua:*\u202e*",
    "user:*ünïcode*",
    "user:ÜNÏCODE-ÉVE",
    "user:ci-deploy",
    "user:alice@example.com",
    "eventtype:AwsApiCall",
    "category:Data",
    "readonly:true",
    "readonly:false",
    "-readonly:true",
    'readonly:""',
    "is:readonly",
    # paths
    "requestParameters.bucketName:prod-bucket",
    r'requestParameters.key:"a\"b\\c"',
    'requestParameters["x-amz-acl"]:private',
    "requestParameters.nested.list.v:three",
    "requestParameters.nested.list.v:2",
    "requestParameters.nested.list.v:deep",
    "requestParameters.nested.list[1].v:2",
    "requestParameters.nested.list[0].v:*",
    "requestParameters.num:100000.0",
    "requestParameters.flag:true",
    "has:requestParameters.empty",
    'requestParameters.empty:""',
    "has:requestParameters.obj",
    "has:requestParameters.arr",
    "has:requestParameters.nul",
    "has:requestParameters.nested",
    "requestParameters.nested:*",
    "-requestParameters.bucketName:prod*",
    "requestparameters.BUCKETNAME:PROD-BUCKET",
    "requestParameters.mixed:casekey",
    'requestParameters.say:"say \\"hi\\""',
    r"requestParameters.path:C:\Tools\x",
    "requestParameters.pct:100%_sure",
    "requestParameters.pct:100*",
    "requestParameters.pct:1_0*",
    "resources.ARN:arn:aws:s3:::*",
    "resources.ARN:arn:aws:s3:::prod-bucket",
    "resources[0].ARN:*/key",
    "resources[1].ARN:*/key",
    "resources.type:AWS::S3::Bucket",
    "has:.resources",
    "has:resources.accountId",
    "-has:.resources",
    "tlsDetails.tlsVersion:TLSv1.2",
    "has:.tlsDetails",
    'tlsDetails.tlsVersion:""',
    ".eventName:ConsoleLogin",
    ".eventName.x:y",
    "-.eventName.x:y",
    "userIdentity.sessionContext.sessionIssuer.type:Role",
    "userIdentity.userName:alice",
    "has:userIdentity.sessionContext.attributes",
    "additionalEventData.MFAUsed:No",
    "-additionalEventData.MFAUsed:No",
    "responseElements.ConsoleLogin:success",
    "has:additionalEventData.bytesTransferredIn",
    ".eventID:ev-00*",
    # is:
    "is:ip",
    "is:ipv4",
    "is:ipv6",
    "is:service-ip",
    "is:internal",
    "-is:ip",
    "is:insight",
    # time
    "since:2026-11-20",
    "until:2026-11-20",
    "since:2026-11-20T10:00 until:2026-11-20T10:05",
    "since:2026-11-21",
    "-since:2026-11-20T12",
    "has:time",
    "-has:time",
    "since:2026-11-20T10:02:00.250Z until:2026-11-20T10:02:00.250Z",
    "until:2026-11-20T10:02:00.249Z",
    "since:now-1h",
    "since:-1h",
    "until:-30m",
    "since:2026-11-20T23:00 until:2026-11-20",
    "(since:2026-11-21 OR until:2026-11-19)",
    "since:2026-11-20 until:2026-11-19",
    # has:
    "has:eventid",
    "has:principal",
    "has:key",
    "-has:key",
    "has:ua",
    "has:useragent",
    # free text
    "AccessDenied",
    "accessdenied",
    '"access"',
    "Run*Instances",
    '"50%_off"',
    r'"\x1b"',
    r'"\u202e"',
    '"[@click"',
    '"say \\"hi\\""',
    '"C:\\\\Tools"',
    "ünïcode",
    '"eventName"',
    # boolean structure
    '(service:s3* OR service:sts*) -error:""',
    "NOT (cred:root OR cred:iam-user)",
    "cred:root OR (cred:iam-user has:error)",
    "-(-region:eu-west-1)",
    "service:s3* | event:Describe* since:2026-11-20T10:03",
    # the fields of mfa, session, sourceidentity, vpce, console; the path fields
    "mfa:yes",
    "mfa:no",
    "-mfa:no",
    'mfa:""',
    "has:mfa",
    "session:*",
    "session:*/run-42",
    "-session:*",
    "session:*federated-user*",
    "sourceidentity:alice*",
    "srcid:*",
    "sourceidentity:ünïcode-src",
    "vpce:vpce-0abc1234",
    "has:vpce",
    "console:sign-in",
    "console:action",
    "console:session",
    "console:*",
    "-console:*",
    "console:s*",
    "requestid:*",
    "resource:arn:aws:s3:::prod-bucket",
    "has:resource",
]


def _ids_memory(store, text: str, now_ms: int) -> set[str]:
    mask = parse(text).evaluate(store, now_ms=now_ms)
    out = set()
    for r in mask.nonzero()[0].tolist():
        ev = orjson.loads(store.canonical(r))
        out.add(ev.get("eventID") or ev.get("requestID"))
    return out


def _ids_sql(con, text: str, now_ms: int) -> set[str]:
    q = to_sql(parse(text), "duckdb", now_ms=now_ms)
    where = q.where or "TRUE"
    rows = con.execute(
        f"SELECT coalesce(eventid, requestid) FROM cloudtrail_logs WHERE {where}"
    ).fetchall()
    return {r[0] for r in rows}


def _duck_over(files: list[Path]):
    con = duckdb.connect()
    con.execute(duckdb_view_sql([str(f) for f in files], view="trail_files"))
    # Read the files once; every filter then runs over the same rows.
    con.execute("CREATE TABLE cloudtrail_logs AS SELECT * FROM trail_files")
    return con


@pytest.fixture(scope="module")
def hostile_trail(tmp_path_factory):
    root = tmp_path_factory.mktemp("sqltrail")
    files = []
    for when, recs in hostile_records().items():
        files.append(
            write_records(trail_path(root, when=when, suffix=f"s{when[-5:-1]}xxxxxxxxxxx"), recs)
        )
    store = load([str(root)])
    newest = max(
        t
        for t in (
            parse_time_ms(r.get("eventTime")) for recs in hostile_records().values() for r in recs
        )
        if t > 0
    )
    return store, _duck_over(files), newest


@pytest.mark.parametrize("text", FILTERS)
def test_duckdb_selects_what_the_store_selects(hostile_trail, text):
    store, con, newest = hostile_trail
    # Relative times: SQL counts from now; with now at the newest event both agree.
    mem = _ids_memory(store, text, newest)
    sql = _ids_sql(con, text, newest)
    assert sql == mem, (
        f"{text!r}: only in SQL {sorted(sql - mem)}, only in memory {sorted(mem - sql)}"
    )


def test_the_battery_is_not_trivial(hostile_trail):
    """Filters that select nothing or everything prove little: most select some events."""
    store, con, newest = hostile_trail
    total = len(store)
    sizes = [len(_ids_memory(store, f, newest)) for f in FILTERS]
    assert total == 19
    assert sum(1 for s in sizes if 0 < s < total) > len(FILTERS) * 0.7


def test_late_delivery_is_found_through_the_partition(hostile_trail):
    """An event of 23:59:50 delivered after midnight sits in the next day's folder: the
    partition predicate must still reach it."""
    store, con, newest = hostile_trail
    q = to_sql(parse("until:2026-11-20 event:DeleteTrail"), "duckdb", now_ms=newest)
    assert "\"timestamp\" <= '2026/11/21'" in q.sql
    assert _ids_sql(con, "until:2026-11-20 event:DeleteTrail", newest) == {"ev-017"}


def _realdata_files(source: Path) -> list[Path]:
    # The Athena table reads the CloudTrail/ folders (Insights have their own prefix).
    return sorted(p for p in (source / "AWSLogs").rglob("*.json.gz") if "/CloudTrail/" in str(p))


REAL_FILTERS = [
    "cred:root",
    "cred:aws-service",
    "cred:role-session",
    "cred:federated",
    "cred:anonymous",
    "cred:other",
    "-cred:other",
    "has:error",
    '-error:""',
    "error:AccessDenied",
    "is:ipv4",
    "is:ip",
    "is:service-ip",
    "is:internal",
    "readonly:true",
    "-readonly:false",
    "principal:*root*",
    "principal:unknown",
    "service:s3*",
    "event:Get* OR event:List*",
    "type:AssumedRole",
    "user:*",
    "role:*",
    "account:111122223333",
    "key:ASIA*",
    "requestParameters.bucketName:*",
    "resources.ARN:*",
    "has:.tlsDetails",
    "userIdentity.sessionContext.attributes.mfaAuthenticated:true",
    "since:2020-01-01",
    "until:2019-12-31",
    "has:time",
    "mfa:yes",
    "mfa:no",
    '-mfa:""',
    "console:*",
    "console:sign-in",
    "console:session",
    "session:*",
    "sourceidentity:*",
    "vpce:*",
    "resource:*",
    "requestid:*",
]


@pytest.mark.realdata
@pytest.mark.parametrize(
    "source",
    [
        "grycap-cloudtrail-tracker",
        "cribl-aws-cloudtrail-pack",
        "stratus-red-team",
        "opensearch-catalog",
        "awsdocs-examples",
        "otrf-security-datasets",
    ],
)
def test_realdata_duckdb_selects_what_the_store_selects(source):
    files = _realdata_files(REALDATA / source)
    assert files
    store = load([str(f) for f in files])
    con = _duck_over(files)
    assert (
        con.execute("SELECT count(*) FROM cloudtrail_logs").fetchone()[0]
        == len(store) + store.duplicates
    )
    now = 2_000_000_000_000
    for text in REAL_FILTERS:
        try:
            sql = _ids_sql(con, text, now)
        except SqlError:
            raise
        assert sql == _ids_memory(store, text, now), text
