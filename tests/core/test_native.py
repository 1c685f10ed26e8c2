"""The C scan (tui.core._scan) must never change a result: for every input, the FileBatch
parse_file gives with it enabled equals the one the Python paths give with it disabled.

The scan may accept a file or bail (return None, leaving it to Python); either way the
batch must be the same, so every test here is differential. Inputs: the repo's samples,
the shared real trails, a synthetic trail, hand-made edge cases written as exact bytes,
and seeded random mutations of a valid document.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
import zstandard

from benchmarks import gen_trail
from tests.trailgen import REALDATA, event, seed_events, trail_path, write_records
from tui.core import batch
from tui.core.batch import FileBatch, parse_file
from tui.core.loader import load

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_logs"

# ------------------------------------------------------------------ comparison


def _unzstd(blob: bytes) -> bytes:
    return zstandard.ZstdDecompressor().decompress(blob) if blob else b""


def assert_same_batch(a: FileBatch, b: FileBatch) -> None:
    """Every dataclass field equal (a: native on, b: native off)."""
    where = f"{a.path} (state {a.state!r} vs {b.state!r})"
    for name in ("state", "n", "orig_codec"):  # the telling differences first
        assert getattr(a, name) == getattr(b, name), f"{name} differs: {where}"
    for f in dataclasses.fields(FileBatch):
        name = f.name
        x, y = getattr(a, name), getattr(b, name)
        if name == "enc_token":  # random per Encoder: only "has one" must agree
            assert (x == 0) == (y == 0), f"{name} differs: {where}"
            continue
        assert type(x) is type(y), f"{name}: {type(x).__name__} vs {type(y).__name__}: {where}"
        if isinstance(x, np.ndarray):
            assert x.dtype == y.dtype, f"{name}: dtype {x.dtype} vs {y.dtype}: {where}"
            assert x.shape == y.shape, f"{name}: shape {x.shape} vs {y.shape}: {where}"
            # read-only views over the scan's buffers would break in-place consumers
            assert x.flags.writeable == y.flags.writeable, f"{name}: writeable differs: {where}"
            if not np.array_equal(x, y):
                bad = np.argwhere(x != y)[:5].tolist()
                raise AssertionError(f"{name} differs at {bad}: {where}")
        elif name == "text_low" or (name == "orig" and a.orig_codec == "zstd"):
            # zstd frames need not be byte-identical; the text they hold must be
            assert _unzstd(x) == _unzstd(y), f"{name} text differs: {where}"
        elif name == "uniques":
            assert len(x) == len(y), f"uniques: {len(x)} vs {len(y)} fields: {where}"
            for i, (u, v) in enumerate(zip(x, y, strict=True)):
                msg = f"uniques[{i}] differs: {where}\n{u[:8]!r}\n{v[:8]!r}"
                assert type(u) is type(v) and u == v, msg
                assert all(s.__class__ is str for s in u), f"uniques[{i}] holds a non-str: {where}"
        else:
            assert x == y, f"{name} differs: {x!r:.200} vs {y!r:.200}: {where}"


@pytest.fixture(autouse=True)
def restore_switches() -> Iterator[None]:
    """Every test starts without a persistent encoder; the toggle and the encoder global
    are put back afterwards, whatever the test did."""
    native, encoder = batch._native, batch._encoder
    batch._encoder = None
    try:
        yield
    finally:
        batch._native, batch._encoder = native, encoder


def _parse(path: str | Path) -> FileBatch | str:
    """The batch, or what parse_file raised (as text, so the two runs can be compared)."""
    try:
        return parse_file(str(path))
    except Exception as e:
        return f"{type(e).__name__}: {e}"


def assert_same_outcome(a: FileBatch | str, b: FileBatch | str) -> None:
    # A raise is a bug of its own (test_invalid_utf8_in_skipped_strings_does_not_raise);
    # here only sameness counts, so both runs raising alike is "the same".
    if isinstance(a, str) or isinstance(b, str):
        assert a == b, f"native: {a!r:.300}\npython: {b!r:.300}"
    else:
        assert_same_batch(a, b)


def check_file(path: str | Path) -> FileBatch | str:
    """parse_file with the C scan on, then off (the fixture restores the toggle)."""
    batch.use_native(True)
    a = _parse(path)
    batch.use_native(False)
    b = _parse(path)
    assert_same_outcome(a, b)
    return b


def check_sequence(paths: list[Path]) -> None:
    """Persistent-encoder mode (bulk-loader workers): the same files in the same order
    through a fresh encoder each way; codes, uniques and enc_base must agree file by file,
    which also shows a bail leaves nothing behind in the encoder's tables."""
    batch.use_native(True)
    batch.use_persistent_encoder()  # its tables follow the toggle at construction
    on = [_parse(p) for p in paths]
    batch.use_native(False)
    batch.use_persistent_encoder()
    off = [_parse(p) for p in paths]
    assert any(isinstance(b, FileBatch) and b.enc_token for b in off)
    for a, b in zip(on, off, strict=True):
        assert_same_outcome(a, b)


@pytest.fixture
def native_calls(monkeypatch) -> list[str]:
    """Paths of the batches the C scan built (so a test can show it was not vacuous)."""
    calls: list[str] = []
    real = batch._native_batch

    def counted(path, *rest):
        calls.append(path)
        return real(path, *rest)

    monkeypatch.setattr(batch, "_native_batch", counted)
    return calls


def _write(path: Path, data: bytes, gz: bool) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data, mtime=0) if gz else data)
    return path


# ------------------------------------------------------------------ the extension is built


def test_native_scan_is_built():
    assert batch.native_available(), (
        "tui.core._scan is not importable (or is a stale build): build it with "
        "`pip install -e .` on a machine with a C compiler"
    )


# ------------------------------------------------------------------ raw JSON builders

DROP = object()  # as a member value: leave the member out


def j(v: object) -> bytes:
    return json.dumps(v, ensure_ascii=False).encode()


def obj(members: dict, raw: bytes = b"") -> bytes:
    """A JSON object from members whose values are raw bytes (kept exactly), dicts
    (recursed) or plain values; `raw` is appended inside the braces verbatim."""
    parts = []
    for k, v in members.items():
        if v is DROP:
            continue
        val = v if isinstance(v, bytes) else obj(v) if isinstance(v, dict) else j(v)
        parts.append(j(k) + b":" + val)
    return b"{" + b",".join(parts) + raw + b"}"


ACCT = "111122223333"
IAM_USER = {
    "type": "IAMUser",
    "principalId": "AIDAJ45Q7YFFAREXAMPLE",
    "arn": f"arn:aws:iam::{ACCT}:user/alice",
    "accountId": ACCT,
    "accessKeyId": "AKIAIOSFODNN7EXAMPLE",
    "userName": "alice",
}
ROLE_ISSUER = {
    "type": "Role",
    "principalId": "AROAEXAMPLEID",
    "arn": f"arn:aws:iam::{ACCT}:role/Admin",
    "accountId": ACCT,
    "userName": "Admin",
}


def assumed(issuer: object = ROLE_ISSUER, **over) -> dict:
    ui = {
        "type": "AssumedRole",
        "principalId": "AROAEXAMPLEID:alice",
        "arn": f"arn:aws:sts::{ACCT}:assumed-role/Admin/alice",
        "accountId": ACCT,
        "accessKeyId": "ASIAEXAMPLEKEY",
        "sessionContext": {
            "sessionIssuer": issuer,
            "webIdFederationData": {},
            "attributes": {"creationDate": "2024-05-01T11:00:00Z", "mfaAuthenticated": "false"},
        },
    }
    ui.update(over)
    return ui


def ev(n: int = 0, raw: bytes = b"", **over) -> bytes:
    """One realistic event; `over` replaces members (DROP removes one)."""
    uid = f"{n:08x}-1f2e-4d3c-8b4a-{n:012x}"
    m: dict = {
        "eventVersion": "1.09",
        "userIdentity": IAM_USER,
        "eventTime": "2024-05-01T12:00:00Z",
        "eventSource": "ec2.amazonaws.com",
        "eventName": "DescribeInstances",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "198.51.100.7",
        "userAgent": "aws-cli/2.15.0 Python/3.11.6 Linux/6.1 botocore/2.0",
        "errorCode": DROP,
        "requestParameters": {"instancesSet": {}, "filterSet": {"items": [{"name": "tag:env"}]}},
        "responseElements": None,
        "requestID": f"req-{uid}",
        "eventID": uid,
        "readOnly": True,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": ACCT,
        "eventCategory": "Management",
    }
    m.update(over)
    return obj(m, raw)


def doc(*recs: bytes, head=b'{"Records":[', sep=b",", tail=b"]}") -> bytes:
    return head + sep.join(recs) + tail


def odd(**over) -> bytes:
    """The usual case shape: the odd record between two plain ones."""
    return doc(ev(1), ev(2, **over), ev(3))


def with_ui(ui: object) -> bytes:
    return odd(userIdentity=ui)


def pretty(d: bytes, indent: int | str = 2, nl: bytes = b"\n") -> bytes:
    text = json.dumps(json.loads(d), indent=indent, ensure_ascii=False).encode()
    return text.replace(b"\n", nl)


def nest(depth: int, leaf: bytes = b"1", kind: str = "array") -> bytes:
    if kind == "array":
        return b"[" * depth + leaf + b"]" * depth
    return b'{"a":' * depth + leaf + b"}" * depth


# ------------------------------------------------------------------ hand-made cases

CASES: dict[str, bytes] = {}

CASES["plain"] = doc(ev(1), ev(2), ev(3))
CASES["single-record"] = doc(ev(1))

# -- identity types (credential kind, principal)
IDENTITIES = {
    "Root": {
        "type": "Root",
        "principalId": ACCT,
        "arn": f"arn:aws:iam::{ACCT}:root",
        "accountId": ACCT,
        "accessKeyId": "ASIAROOTKEY",
    },
    "IAMUser": IAM_USER,
    "AssumedRole": assumed(),
    "Role": {
        "type": "Role",
        "principalId": "AROAEXAMPLEID",
        "arn": f"arn:aws:iam::{ACCT}:role/Admin",
        "accountId": ACCT,
    },
    "FederatedUser": {
        "type": "FederatedUser",
        "principalId": f"{ACCT}:bob",
        "arn": f"arn:aws:sts::{ACCT}:federated-user/bob",
        "accountId": ACCT,
        "accessKeyId": "ASIAFEDKEY",
        "sessionContext": {
            "sessionIssuer": {
                "type": "IAMUser",
                "principalId": "AIDABOB",
                "arn": f"arn:aws:iam::{ACCT}:user/bob",
                "accountId": ACCT,
                "userName": "bob",
            }
        },
    },
    "SAMLUser": {
        "type": "SAMLUser",
        "principalId": "SAMLExample:alice@example.com",
        "userName": "alice@example.com",
        "identityProvider": "Okta",
    },
    "WebIdentityUser": {
        "type": "WebIdentityUser",
        "principalId": "accounts.google.com:1234",
        "userName": "1234",
        "identityProvider": "accounts.google.com",
    },
    "IdentityCenterUser": {
        "type": "IdentityCenterUser",
        "accountId": ACCT,
        "credentialId": "EXAMPLE",
        "onBehalfOf": {
            "userId": "906757a2-0061-70d4-ba2e-6c1c3e9a0001",
            "identityStoreArn": f"arn:aws:identitystore::{ACCT}:identitystore/d-1",
        },
    },
    "AWSService": {"type": "AWSService", "invokedBy": "ec2.amazonaws.com"},
    "AnonymousPrincipal": {"type": "AnonymousPrincipal", "principalId": "Anonymous"},
    "AWSAccount-anonymous": {
        "type": "AWSAccount",
        "principalId": "",
        "accountId": "ANONYMOUS_PRINCIPAL",
    },
    "AWSAccount-anonymous-pid": {"type": "AWSAccount", "principalId": "Anonymous"},
    "AWSAccount-other": {
        "type": "AWSAccount",
        "principalId": "AIDAOTHER",
        "accountId": "444455556666",
    },
    "no-type-invokedBy": {"invokedBy": "AWS Internal"},
    "no-type-anonymous": {"accountId": "ANONYMOUS_PRINCIPAL"},
    # cred:anonymous: AWSAccount / Unknown / no type, with an anonymous account or
    # principal id in any ASCII case
    "AWSAccount-anonymous-real": {
        "type": "AWSAccount",
        "principalId": "",
        "accountId": "anonymous",
    },
    "AWSAccount-ANONYMOUS": {"type": "AWSAccount", "principalId": "ANONYMOUS"},
    "AWSAccount-anonymous_principal": {"type": "AWSAccount", "accountId": "anonymous_principal"},
    "Unknown-anonymous": {"type": "Unknown", "principalId": "anonymous"},
    "IAMUser-anonymous": {"type": "IAMUser", "accountId": "anonymous", "userName": "anonymous"},
    "Root-anonymous": {"type": "Root", "principalId": "anonymous"},
    "anonymous-long-s": {"type": "AWSAccount", "accountId": "anonymou\u017f"},
    "anonymous-kelvin": {"type": "AWSAccount", "accountId": "\u212aanonymous"},
    "anonymous-escaped": obj({"type": "AWSAccount", "accountId": b'"anonym\\u006fus"'}),
    "anonymous-number": {"type": "AWSAccount", "accountId": 0, "principalId": "anonymous"},
    "anonymous1": {"type": "AWSAccount", "accountId": "anonymous1"},
    "unknown-type-other": {"type": "Unknown", "principalId": "AIDAX", "accountId": ACCT},
    "empty-type-invokedBy": {"type": "", "invokedBy": "s3.amazonaws.com"},
    "null-type-invokedBy": {"type": None, "invokedBy": "s3.amazonaws.com"},
    "false-type-invokedBy": {"type": False, "invokedBy": "s3.amazonaws.com"},
    "unknown-type": {"type": "User", "userName": "templated"},
    "Unknown": {"type": "Unknown", "principalId": "AIDAUNKNOWN", "accountId": ACCT},
    "lowercase-root": {"type": "root", "arn": f"arn:aws:iam::{ACCT}:root"},
    "type-number": {"type": 7, "arn": "a"},
    "type-object": {"type": {"Root": 1}, "arn": "a"},
    "empty-object": {},
}
for name, ui in IDENTITIES.items():
    CASES[f"identity-{name}"] = with_ui(ui)

# -- principal: first non-empty of arn, invokedBy, onBehalfOf.userId, userName, principalId,
# accountId; else "unknown"
PRINCIPALS = {
    "arn-empty": {"type": "IAMUser", "arn": "", "userName": "alice", "accountId": ACCT},
    "invokedBy-only": {"invokedBy": "lambda.amazonaws.com"},
    "onBehalfOf-only": {"onBehalfOf": {"userId": "u-1"}},
    "userName-only": {"userName": "bob"},
    "principalId-only": {"principalId": "AIDAONLY"},
    "accountId-only": {"accountId": ACCT},
    "none": {"type": "IAMUser"},
    "all-empty": {
        "arn": "",
        "invokedBy": "",
        "onBehalfOf": {"userId": ""},
        "userName": "",
        "principalId": "",
        "accountId": "",
    },
    "arn-null": {"arn": None, "principalId": "p"},
    "arn-zero": {"arn": 0, "principalId": "p"},
    "arn-one": {"arn": 1},
    "arn-float": {"arn": 2.5},
    "arn-false": {"arn": False, "userName": "u"},
    "arn-true": {"arn": True},
    "arn-empty-list": {"arn": [], "userName": "u"},
    "arn-list": {"arn": ["x", 1]},
    "arn-empty-object": {"arn": {}, "userName": "u"},
    "arn-object": {"arn": {"k": "v"}},
    "invokedBy-list": {"invokedBy": ["ec2"]},
    "onBehalfOf-string": {"onBehalfOf": "u-1", "userName": "u"},
    "onBehalfOf-null": {"onBehalfOf": None, "userName": "u"},
    "onBehalfOf-list": {"onBehalfOf": [{"userId": "u"}], "userName": "u"},
    "onBehalfOf-userId-number": {"onBehalfOf": {"userId": 5}},
    "onBehalfOf-userId-zero": {"onBehalfOf": {"userId": 0}, "userName": "u"},
    "userName-number": {"userName": 5.5},
    "accountId-number": {"accountId": 111122223333},
}
for name, ui in PRINCIPALS.items():
    CASES[f"principal-{name}"] = with_ui(ui)

# -- account: recipientAccountId, else userIdentity.accountId
CASES["account-recipient-only"] = odd(userIdentity={"type": "AWSService", "invokedBy": "x"})
CASES["account-from-identity"] = odd(recipientAccountId=DROP)
CASES["account-recipient-empty"] = odd(recipientAccountId="")
CASES["account-recipient-null"] = odd(recipientAccountId=None)
CASES["account-recipient-number"] = odd(recipientAccountId=111122223333)
CASES["account-recipient-zero"] = odd(recipientAccountId=0)
CASES["account-none"] = odd(recipientAccountId=DROP, userIdentity={"type": "Root"})
CASES["account-identity-number"] = odd(recipientAccountId=DROP, userIdentity={"accountId": 42})
CASES["account-differs"] = odd(recipientAccountId="444455556666")

# -- role: the issuer's arn only when its type is "Role"; user: userName, else issuer.userName
ROLES = {
    "Role": ROLE_ISSUER,
    "IAMUser": {**ROLE_ISSUER, "type": "IAMUser"},
    "lowercase": {**ROLE_ISSUER, "type": "role"},
    "no-type": {k: v for k, v in ROLE_ISSUER.items() if k != "type"},
    "no-arn": {"type": "Role", "userName": "Admin"},
    "arn-null": {"type": "Role", "arn": None},
    "arn-number": {"type": "Role", "arn": 12},
    "arn-object": {"type": "Role", "arn": {"a": [1]}},
    "type-number": {"type": 1, "arn": "x"},
    "userName-number": {"type": "Role", "arn": "x", "userName": 3},
}
for name, issuer in ROLES.items():
    CASES[f"role-{name}"] = with_ui(assumed(issuer))
CASES["user-from-userName"] = with_ui(assumed(userName="carol"))
CASES["user-from-issuer"] = with_ui(assumed())
CASES["user-empty-userName-issuer"] = with_ui(assumed(userName=""))
CASES["user-null-userName-issuer"] = with_ui(assumed(userName=None))
CASES["user-neither"] = with_ui(assumed({"type": "Role", "arn": "x"}))

# -- nested shapes that are not objects
CASES["ui-string"] = with_ui("alice")
CASES["ui-empty-string"] = with_ui("")
CASES["ui-array"] = with_ui([IAM_USER])
CASES["ui-null"] = with_ui(None)
CASES["ui-number"] = with_ui(7)
CASES["ui-true"] = with_ui(True)
CASES["ui-missing"] = odd(userIdentity=DROP)
CASES["session-null"] = with_ui(assumed(sessionContext=None))
CASES["session-array"] = with_ui(assumed(sessionContext=[{"sessionIssuer": ROLE_ISSUER}]))
CASES["session-string"] = with_ui(assumed(sessionContext="s"))
CASES["session-empty"] = with_ui(assumed(sessionContext={}))
CASES["issuer-null"] = with_ui(assumed(None))
CASES["issuer-array"] = with_ui(assumed([ROLE_ISSUER]))
CASES["issuer-string"] = with_ui(assumed("Role"))
CASES["issuer-empty"] = with_ui(assumed({}))

# -- readOnly as 'true'/'false' ('' when absent), strings lower-cased
READONLY = {
    "true": True,
    "false": False,
    "TRUE": "TRUE",
    "False": "False",
    "null": None,
    "missing": DROP,
    "one": 1,
    "zero": 0,
    "float": 1.0,
    "empty": "",
    "AeB": "ÄB",
    "dotted-I": "İ",
    "sigma": "ΣΑΣ",
    "kelvin": "\u212a",
    "sharp-s": "\u1e9e",
    "titlecase": "\u01c5",
    "object": {"v": True},
    "array": [True],
    "escaped": b'"TR\\u0055E"',
}
for name, v in READONLY.items():
    CASES[f"readonly-{name}"] = odd(readOnly=v)
CASES["readonly-tRuE"] = odd(readOnly="tRuE")
CASES["readonly-maybe"] = odd(readOnly="maybe")
CASES["readonly-true-padded"] = odd(readOnly=" true")
CASES["readonly-all-strings"] = doc(
    ev(1, readOnly="true"), ev(2, readOnly="False"), ev(3, readOnly="no")
)

# -- eventVersion: `1.<digits>` is well formed, anything else is malformed
VERSIONS = {
    "1.0": "1.0",
    "1.05": "1.05",
    "1.10": "1.10",
    "2.0": "2.0",
    "10.1": "10.1",
    "placeholder": "...",
    "no-minor": "1",
    "dot-only": "1.",
    "leading-zero": "01.05",
    "letter": "1.0a",
    "arabic-digit": "1.\u0661",
    "fullwidth-digit": "1.\uff10",
    "space": "1.05 ",
    "empty": "",
    "null": None,
    "missing": DROP,
    "number": 1.08,
    "true": True,
    "object": {"v": "1.08"},
    "escaped": b'"1\\u002e05"',
    "long": "1." + "0" * 70,
}
for name, v in VERSIONS.items():
    CASES[f"version-{name}"] = odd(eventVersion=v)
CASES["version-mixed"] = doc(
    ev(1, eventVersion="1.08"),
    ev(2, eventVersion="2.1"),
    ev(3, eventVersion="1.08"),
    ev(4, eventVersion=DROP),
)

# -- members that must be objects (or null): a string, array, number... is malformed
for member in ("requestParameters", "responseElements", "insightDetails"):
    for name, v in {
        "string": "x",
        "empty-string": "",
        "array": [1],
        "empty-array": [],
        "number": 3,
        "true": True,
        "null": None,
        "empty-object": {},
        "missing": DROP,
    }.items():
        CASES[f"shape-{member}-{name}"] = odd(**{member: v})
CASES["dup-requestParameters-string-then-object"] = odd(
    requestParameters="s", raw=b',"requestParameters":{"a":1}'
)
CASES["dup-requestParameters-object-then-string"] = odd(raw=b',"requestParameters":"s"')

# -- Insights events: service/event from insightDetails, principal "CloudTrail Insights"
INSIGHT_DETAILS = {
    "state": "Start",
    "eventSource": "ec2.amazonaws.com",
    "eventName": "DescribeInstances",
    "insightType": "ApiCallRateInsight",
    "insightContext": {
        "statistics": {
            "baseline": {"average": 0.0026785714},
            "insight": {"average": 2.25},
            "baselineDuration": 10079,
        },
        "attributions": [
            {
                "attribute": "userAgent",
                "insight": [{"value": "aws-cli/1.33.4", "average": 2.25}],
                "baseline": [],
            }
        ],
    },
}


def insight(n: int = 0, **over) -> bytes:
    m = {
        "eventVersion": "1.08",
        "eventTime": f"2024-05-01T12:0{n % 10}:00Z",
        "awsRegion": "us-east-1",
        "eventID": f"{n:08x}-0000-4000-8000-insight00000",
        "eventType": "AwsCloudTrailInsight",
        "recipientAccountId": ACCT,
        "sharedEventID": "833d271d-702a-4337-bf45-f232fc213fdb",
        "insightDetails": INSIGHT_DETAILS,
        "eventCategory": "Insight",
    }
    m.update(over)
    return obj(m)


CASES["insight-pair"] = doc(
    insight(1), insight(2, insightDetails=INSIGHT_DETAILS | {"state": "End"})
)
CASES["insight-among-calls"] = doc(ev(1), insight(2), ev(3))
CASES["insight-own-eventSource"] = doc(insight(1, eventSource="cloudtrail.amazonaws.com"))
CASES["insight-own-eventName-empty"] = doc(insight(1, eventName="", eventSource=None))
CASES["insight-details-empty"] = doc(insight(1, insightDetails={}))
CASES["insight-details-null"] = doc(insight(1, insightDetails=None))
CASES["insight-details-array"] = doc(insight(1, insightDetails=[INSIGHT_DETAILS]))
for name, v in {"number": 5, "null": None, "empty": "", "array": ["ec2"]}.items():
    details = INSIGHT_DETAILS | {"eventSource": v}
    CASES[f"insight-source-{name}"] = doc(insight(1, insightDetails=details))
CASES["insight-name-escaped"] = doc(
    insight(1, insightDetails=obj(INSIGHT_DETAILS | {"eventName": rb'"Describe\u0049nstances"'}))
)
CASES["insight-with-identity"] = doc(insight(1, userIdentity=IAM_USER))
CASES["insight-with-empty-identity"] = doc(insight(1, userIdentity={}))
CASES["insight-dup-details"] = doc(insight(1, raw=b',"insightDetails":{"eventName":"Other"}'))
CASES["insight-key-escaped"] = doc(
    insight(1, insightDetails=DROP, raw=b',"insight\\u0044etails":{"eventName":"E"}')
)

# -- escapes in an indexed value (eventName), in a skipped value and in keys
ESCAPES = {
    "quote": rb'"Describe\"Instances"',
    "backslash": rb'"Describe\\Instances"',
    "slash": rb'"Describe\/Instances"',
    "newline": rb'"Describe\nInstances"',
    "tab": rb'"Describe\tInstances"',
    "bfr": rb'"\b\f\r"',
    "esc-1b": rb'"\u001b[2J"',
    "e-acute": rb'"caf\u00e9"',
    "e-acute-upper-hex": rb'"caf\u00E9"',
    "rlo": rb'"\u202eevil"',
    "pair": rb'"smile \ud83d\ude00"',
    "pair-upper-hex": rb'"\uD83D\uDE00"',
    "max-pair": rb'"\udbff\udfff"',
    "tag-pair": rb'"\udb40\udc41"',
    "hieroglyph-13439": rb'"\ud80d\udc39"',
    "lone-high": rb'"x\ud800"',
    "lone-high-only": rb'"\ud800"',
    "lone-low": rb'"\udc00y"',
    "reversed-pair": rb'"\ude00\ud83d"',
    "high-then-bmp": rb'"\ud83d\u0041"',
    "high-then-raw": rb'"\ud83dA"',
    "nul": rb'"a\u0000b"',
    "ascii-as-escape": rb'"\u0044escribeInstances"',
    "all-escaped": rb'"\u0044\u0065\u0073"',
    "escaped-backslash-u": rb'"\\u202e"',
    "backslash-then-escape": rb'"\\\u202e"',
    "bom": rb'"\ufeffx"',
    "line-separator": rb'"\u2028"',
    "zwsp": rb'"\u200b"',
    "soft-hyphen": rb'"\u00ad"',
    "c1": rb'"\u0085"',
    "del": rb'"\u007f"',
    "nbsp": rb'"\u00a0"',
    "fe0f": rb'"\ufe0f"',
    "fe10": rb'"\ufe10"',
    "upper-I-lower": rb'"\u0130"',
    "bad-x": rb'"\x41"',
    "bad-short": rb'"\u12"',
    "bad-nonhex": rb'"\u12G4"',
    "bad-upper-U": rb'"\U0041"',
    "unterminated": b'"abc\\"',
}
for name, s in ESCAPES.items():
    CASES[f"escape-{name}"] = odd(eventName=s)
for name in (
    "quote",
    "rlo",
    "pair",
    "lone-high",
    "nul",
    "zwsp",
    "tag-pair",
    "escaped-backslash-u",
    "bad-x",
):
    s = ESCAPES[name]
    CASES[f"escape-skipped-{name}"] = odd(requestParameters=b'{"k":' + s + b"}")
    CASES[f"escape-key-{name}"] = odd(requestParameters=b"{" + s + b":1}")
CASES["escape-in-eventID"] = odd(eventID=rb'"\u0061bc-123"')
CASES["escape-in-eventTime"] = odd(eventTime=rb'"\u0032024-05-01T12:00:00Z"')
CASES["escape-in-ui-type"] = with_ui(b'{"type":"\\u0052oot","arn":"a"}')
CASES["escape-in-issuer-type"] = with_ui(assumed(b'{"type":"R\\u006fle","arn":"r"}'))

# -- keys spelled with escapes (same key once decoded)
CASES["key-escape-eventSource"] = odd(eventSource=DROP, raw=b',"event\\u0053ource":"s3.a.com"')
CASES["key-escape-userIdentity"] = odd(userIdentity=DROP, raw=b',"user\\u0049dentity":{"arn":"a"}')
CASES["key-escape-ui-type"] = with_ui(b'{"\\u0074ype":"Root","arn":"a"}')
CASES["key-escape-Records"] = b'{"\\u0052ecords":[' + ev(1) + b"]}"
CASES["key-escape-skipped"] = odd(requestParameters=DROP, raw=b',"request\\u0050arameters":{}')
CASES["key-escape-not-a-field"] = odd(raw=b',"event\\u0053ourcex":"nope"')

# -- duplicate keys
CASES["dup-eventName"] = odd(raw=b',"eventName":"Second"')
CASES["dup-eventName-types"] = odd(raw=b',"eventName":5')
CASES["dup-eventName-string-after-number"] = odd(eventName=5, raw=b',"eventName":"Later"')
CASES["dup-eventTime"] = odd(raw=b',"eventTime":"2024-05-02T00:00:00Z"')
CASES["dup-eventID"] = odd(raw=b',"eventID":"other-id"')
CASES["dup-readOnly"] = odd(raw=b',"readOnly":false')
CASES["dup-userIdentity"] = odd(raw=b',"userIdentity":{"type":"Root","arn":"r"}')
CASES["dup-userIdentity-string"] = odd(raw=b',"userIdentity":"s"')
CASES["dup-ui-type"] = with_ui(b'{"type":"Root","arn":"a","type":"IAMUser"}')
CASES["dup-issuer"] = with_ui(assumed(b'{"type":"Role","arn":"a","arn":"b"}'))
CASES["dup-session"] = with_ui(obj(assumed(), raw=b',"sessionContext":{}'))
CASES["dup-skipped"] = odd(raw=b',"requestParameters":{"x":1}')
CASES["dup-Records"] = b'{"Records":[' + ev(1) + b'],"Records":[' + ev(2) + b"," + ev(3) + b"]}"
CASES["dup-Records-second-empty"] = b'{"Records":[' + ev(1) + b'],"Records":[]}'
CASES["dup-Records-second-null"] = b'{"Records":[' + ev(1) + b'],"Records":null}'
CASES["dup-identical-records"] = doc(ev(1), ev(1), ev(2))
CASES["dup-eventID-different-content"] = doc(ev(1), ev(1, eventName="Other"), ev(2))

# -- non-string values in indexed fields
NONSTR = {
    "int": b"12",
    "neg-int": b"-7",
    "big-int": b"123456789012345678901234567890",
    "u64": b"18446744073709551616",
    "i64-min": b"-9223372036854775808",
    "float": b"1.5",
    "float-exp": b"1.5e-7",
    "float-1e16": b"1e16",
    "inf": b"1e999",
    "neg-zero-int": b"-0",
    "neg-zero-float": b"-0.0",
    "tiny": b"5e-324",
    "true": b"true",
    "false": b"false",
    "null": b"null",
    "object": b'{"a":[1,"x"]}',
    "empty-object": b"{}",
    "array": b'[1,"x",null]',
    "empty-array": b"[]",
    "nested-unicode": '{"é":"\u202e"}'.encode(),
}
for fld in ("eventSource", "userAgent", "errorCode", "eventTime", "eventID", "recipientAccountId"):
    for name, v in NONSTR.items():
        CASES[f"nonstr-{fld}-{name}"] = odd(**{fld: v})
for name in ("int", "float", "true", "false", "null", "object", "array", "big-int"):
    CASES[f"nonstr-arn-{name}"] = with_ui(obj(IAM_USER | {"arn": NONSTR[name]}))
    CASES[f"nonstr-type-{name}"] = with_ui(obj(IAM_USER | {"type": NONSTR[name]}))
    CASES[f"nonstr-accessKeyId-{name}"] = with_ui(obj(IAM_USER | {"accessKeyId": NONSTR[name]}))

# -- eventTime variants
TIMES = {
    "fraction-ms": "2024-05-01T12:00:00.123Z",
    "fraction-us": "2024-05-01T12:00:00.123456Z",
    "fraction-1": "2024-05-01T12:00:00.5Z",
    "offset-zero": "2024-05-01T12:00:00+00:00",
    "offset-plus2": "2024-05-01T14:00:00+02:00",
    "space-sep": "2024-05-01 12:00:00",
    "no-zone": "2024-05-01T12:00:00",
    "date-only": "2024-05-01",
    "lowercase-tz": "2024-05-01t12:00:00z",
    "feb29-2023": "2023-02-29T12:00:00Z",
    "feb29-2024": "2024-02-29T12:00:00Z",
    "feb29-2100": "2100-02-29T00:00:00Z",
    "feb29-2000": "2000-02-29T00:00:00Z",
    "month-13": "2024-13-01T00:00:00Z",
    "month-00": "2024-00-10T00:00:00Z",
    "day-00": "2024-05-00T00:00:00Z",
    "day-32": "2024-05-32T00:00:00Z",
    "apr-31": "2024-04-31T00:00:00Z",
    "leap-second": "2024-05-01T23:59:60Z",
    "second-61": "2024-05-01T12:00:61Z",
    "hour-24": "2024-05-01T24:00:00Z",
    "minute-60": "2024-05-01T12:60:00Z",
    "year-0": "0000-01-01T00:00:00Z",
    "year-1": "0001-01-01T00:00:00Z",
    "year-9999": "9999-12-31T23:59:59Z",
    "before-epoch": "1969-12-31T23:59:59Z",
    "empty": "",
    "spaces": "    ",
    "padded": " 2024-05-01T12:00:00Z",
    "short": "2024-5-1T12:00:00Z",
    "fullwidth-digits": "２０２４-05-01T12:00:00Z",
    "arabic-digits": "٢٠٢٤-05-01T12:00:00Z",
    "fullwidth-second": "2024-05-01T12:00:0５Z",
    "non-ascii-20": "2024-05-01T12:00:00Ж",
    "letter-digit": "2024-05-01T12:0a:00Z",
    "comma-fraction": "2024-05-01T12:00:00,5Z",
    "plus-year": "+2024-05-01T12:00:00Z",
    "long": "2024-05-01T12:00:00Z" + "0" * 60,
    "slashes": "2024/05/01T12:00:00Z",
    "colons-swapped": "2024-05-01T12-00-00Z",
}
for name, t in TIMES.items():
    CASES[f"time-{name}"] = odd(eventTime=t)
CASES["time-missing"] = odd(eventTime=DROP)
CASES["time-all-odd"] = doc(*(ev(i, eventTime=t) for i, t in enumerate(TIMES.values())))

# -- eventID variants (eid16 is the first 16 UTF-8 bytes; idh a hash; NO_ID flag)
IDS = {
    "empty": "",
    "len-16": "a" * 16,
    "len-17": "b" * 17,
    "len-40": "c" * 40,
    "len-41": "d" * 41,
    "len-200": "e" * 200,
    "non-ascii": "évènement-1",
    "multibyte-at-16": "abcdefghijklmno€xyz",
    "emoji": "😀" * 5,
    "nul": b'"abc\\u0000def"',
    "nul-end-40": b'"' + b"f" * 39 + b'\\u0000"',
    "lone-surrogate": b'"id-\\ud800"',
    "spaces": "   ",
}
for name, e in IDS.items():
    CASES[f"eventID-{name}"] = odd(eventID=e)
CASES["eventID-missing"] = odd(eventID=DROP)
CASES["eventID-all-missing"] = doc(ev(1, eventID=DROP), ev(2, eventID=None))

# -- numbers elsewhere (skipped fields): JSON-valid and not
NUMBERS = {
    "big-int": b"123456789012345678901234567890",
    "inf-literal": b"1e999",
    "neg-zero": b"-0",
    "small": b"1.5e-7",
    "exp-upper": b"1E+2",
    "zero-exp": b"0e0",
    "digits-63": b"9" * 63,
    "digits-64": b"9" * 64,
    "digits-65": b"9" * 65,
    "digits-400": b"7" * 400,
    "frac-70": b"0." + b"1" * 70,
    "NaN": b"NaN",
    "Infinity": b"Infinity",
    "neg-Infinity": b"-Infinity",
    "leading-zero": b"01",
    "bare-minus": b"-",
    "trailing-dot": b"1.",
    "leading-dot": b".5",
    "plus": b"+1",
    "exp-no-digits": b"1e",
    "hex": b"0x10",
}
for name, num in NUMBERS.items():
    CASES[f"number-{name}"] = odd(requestParameters=b'{"n":' + num + b',"list":[' + num + b"]}")

# -- deep nesting (the scan caps depth; around the cap and far beyond)
for depth in (10, 390, 396, 397, 398, 399, 400, 401, 402, 600, 1100, 3000):
    CASES[f"deep-array-{depth}"] = odd(requestParameters=nest(depth))
for depth in (10, 398, 399, 400, 401, 600, 3000):
    CASES[f"deep-object-{depth}"] = odd(requestParameters=nest(depth, kind="object"))
CASES["deep-in-userAgent-10"] = odd(userAgent=nest(10))
CASES["deep-in-userAgent-600"] = odd(userAgent=nest(600))
CASES["deep-in-identity-600"] = with_ui(obj(IAM_USER | {"extra": nest(600)}))
CASES["deep-in-extra-key-600"] = b'{"Meta":' + nest(600) + b',"Records":[' + ev(1) + b"]}"

# -- layout
PLAIN = CASES["plain"]
CASES["pretty-indent-2"] = pretty(PLAIN)
CASES["pretty-tabs"] = pretty(PLAIN, "\t")
CASES["pretty-crlf"] = pretty(PLAIN, 2, b"\r\n")
CASES["pretty-records-only"] = doc(
    pretty(ev(1)), pretty(ev(2)), head=b'{"Records": [\n', sep=b",\n", tail=b"\n]}\n"
)
CASES["space-between-records"] = doc(ev(1), ev(2), ev(3), sep=b" \n\t ,\r\n  ")
CASES["space-around-everything"] = b' \n{ "Records" : [ ' + ev(1) + b" , " + ev(2) + b" ] } \n"
CASES["space-in-record"] = doc(ev(1).replace(b'":"', b'" :  "').replace(b'","', b'" ,\n"'), ev(2))
CASES["trailing-whitespace"] = PLAIN + b" \r\n\t\n"
CASES["trailing-nul"] = PLAIN + b"\x00"
CASES["bom"] = b"\xef\xbb\xbf" + PLAIN
CASES["bom-twice"] = b"\xef\xbb\xbf\xef\xbb\xbf" + PLAIN
CASES["utf16-le-bom"] = b"\xff\xfe" + PLAIN.decode().encode("utf-16-le")
CASES["extra-key-before"] = doc(ev(1), ev(2), head=b'{"V":"1","D":{"Records":[1]},"Records":[')
CASES["extra-key-after"] = doc(ev(1), ev(2), tail=b'],"Note":"Records","More":[{"Records":[]}]}')
CASES["extra-key-nan"] = doc(ev(1), tail=b'],"x":NaN}')
CASES["records-empty"] = b'{"Records":[]}'

# -- several documents one after another (`cat a.json b.json`, or the text of a gzip
# file of several members): every document's records load
CASES["documents-two"] = doc(ev(1)) + doc(ev(2), ev(3))
CASES["documents-two-lines"] = doc(ev(1)) + b"\n" + doc(ev(2)) + b"\n"
CASES["documents-pretty"] = pretty(doc(ev(1), ev(2))) + b"\n" + pretty(doc(ev(3)), 4, b"\r\n")
CASES["documents-three-spaced"] = (
    b" " + doc(ev(1)) + b"\r\n\t" + doc(ev(2)) + b"  " + doc(ev(3)) + b"\n"
)
CASES["documents-non-ascii"] = odd(userAgent="café 😀") + odd(eventName="ключ", eventID="ид")
CASES["documents-same-records"] = doc(ev(1), ev(2)) + doc(ev(1), ev(2))
CASES["documents-second-empty"] = doc(ev(1)) + b'{"Records":[]}'
CASES["documents-second-not-records"] = doc(ev(1)) + b'{"foo":1}'
CASES["documents-second-array"] = doc(ev(1)) + b"[" + ev(2) + b"]"
CASES["documents-second-cut"] = doc(ev(1)) + doc(ev(2))[:-5]
CASES["documents-second-nan"] = doc(ev(1)) + doc(ev(2), tail=b'],"x":NaN}')
CASES["documents-second-odd"] = doc(ev(1)) + odd(userIdentity="alice")
CASES["documents-then-junk"] = doc(ev(1), ev(2)) + b"junk"
CASES["documents-nul-between"] = doc(ev(1)) + b"\x00" + doc(ev(2))
CASES["documents-comma-between"] = doc(ev(1)) + b"," + doc(ev(2))
CASES["records-empty-spaced"] = b'{ "Records" : [ ] }'
CASES["records-null"] = b'{"Records":null}'
CASES["records-object"] = b'{"Records":' + ev(1) + b"}"
CASES["records-string"] = b'{"Records":"none"}'
CASES["records-number"] = b'{"Records":5}'
CASES["records-nested-list"] = b'{"Records":[[' + ev(1) + b"]]}"
CASES["record-number"] = doc(ev(1), b"5", ev(2))
CASES["record-string"] = doc(ev(1), b'"x"')
CASES["record-null"] = doc(b"null", ev(1))
CASES["record-array"] = doc(ev(1), b"[]")
CASES["record-empty-object"] = doc(ev(1), b"{}")
CASES["only-empty-objects"] = doc(b"{}", b"{}")
CASES["no-records-key"] = b'{"records":[' + ev(1) + b"]}"
CASES["empty-object"] = b"{}"
CASES["json-null"] = b"null"
CASES["bare-array"] = b"[" + ev(1) + b"," + ev(2) + b"]"
CASES["single-event"] = ev(1)
CASES["jsonl"] = ev(1) + b"\n" + ev(2) + b"\n"
CASES["lookup-events"] = b'{"Events":[{"EventId":"x","CloudTrailEvent":%s}]}' % j(ev(1).decode())
CASES["whitespace-only"] = b" \n\t "
CASES["truncated-half"] = PLAIN[: len(PLAIN) // 2]
CASES["truncated-last-byte"] = PLAIN[:-1]
CASES["truncated-last-two"] = PLAIN[:-2]
CASES["truncated-in-string"] = PLAIN[: PLAIN.index(b"DescribeInstances") + 5]
CASES["truncated-after-comma"] = doc(ev(1), ev(2))[: len(b'{"Records":[') + len(ev(1)) + 1]
CASES["garbage-after"] = PLAIN + b"x"
CASES["garbage-brackets"] = PLAIN + b"]}"
CASES["garbage-object"] = PLAIN + b"{}"
CASES["garbage-comma"] = PLAIN + b","
CASES["two-documents"] = PLAIN + b"\n" + doc(ev(9))
CASES["trailing-comma-records"] = doc(ev(1), ev(2))[:-2] + b",]}"
CASES["trailing-comma-object"] = doc(ev(1)[:-1] + b",}")
CASES["missing-comma"] = doc(ev(1), ev(2), sep=b"")
CASES["single-quotes"] = doc(ev(1).replace(b'"eventName"', b"'eventName'"))
CASES["comment"] = b"// trail\n" + PLAIN

# -- raw bytes inside strings: non-ASCII UTF-8, invalid UTF-8, raw controls
RAW_TEXT = {
    "e-acute": "café",
    "emoji": "smile 😀",
    "rlo": "\u202eevil",
    "del": "a\x7fb",
    "c1": "a\x85b",
    "nbsp": "a\xa0b",
    "line-separator": "a\u2028b",
    "bom": "\ufeffa",
    "tag": "a\U000e0041b",
    "zwsp": "a\u200bb",
    "soft-hyphen": "a\xadb",
    "fe0f": "\u2764\ufe0f",
    "e0100": "a\U000e0100",
    "e01f0": "a\U000e01f0",
    "hieroglyph-13439": "a\U00013439",
    "cjk": "東京",
    "combining": "e\u0301",
    "dotted-I": "İstanbul",
    "sigma": "ΟΔΟΣ ΣΑΣ",
    "kelvin": "\u212aelvin",
    "ohm": "\u2126",
    "ligature": "ﬀ",
    "sharp-s": "\u1e9e",
    "upper-ascii": "AWS-CLI/2 Python",
}
for name, s in RAW_TEXT.items():
    CASES[f"raw-{name}"] = odd(userAgent=s, eventName=s)
CASES["raw-in-readonly-and-key"] = odd(readOnly="ÉÈ", requestParameters={"ключ\u202e": "знач"})
BAD_UTF8 = {
    "ff": b"\xff",
    "overlong-c0af": b"\xc0\xaf",
    "surrogate-eda080": b"\xed\xa0\x80",
    "above-max-f4908080": b"\xf4\x90\x80\x80",
    "truncated-e282": b"\xe2\x82",
    "lone-continuation": b"\x80",
    "f8": b"\xf8\x88\x80\x80\x80",
    "c3-at-end": b"\xc3",
}
for name, bad in BAD_UTF8.items():
    CASES[f"bad-utf8-skipped-{name}"] = odd(requestParameters=b'{"k":"a' + bad + b'"}')
    CASES[f"bad-utf8-indexed-{name}"] = odd(userAgent=b'"a' + bad + b'"')
CASES["bad-utf8-in-key"] = odd(requestParameters=b'{"k\xff":1}')
CASES["bad-utf8-outside-strings"] = odd(raw=b" \xff")
for name, c in {
    "01": b"\x01",
    "1b": b"\x1b",
    "00": b"\x00",
    "1f": b"\x1f",
    "tab": b"\t",
    "newline": b"\n",
    "cr": b"\r",
}.items():
    CASES[f"raw-control-indexed-{name}"] = odd(userAgent=b'"a' + c + b'b"')
    CASES[f"raw-control-skipped-{name}"] = odd(requestParameters=b'{"k":"a' + c + b'b"}')

# -- size
CASES["long-user-agent-1mb"] = odd(userAgent="Mozilla/5.0 (X11; Linux) " * 42_000)
CASES["long-user-agent-1mb-non-ascii"] = odd(userAgent="Mozilla/5.0 (X11; Linux) " * 42_000 + "é")
CASES["records-5000"] = doc(
    *(
        ev(
            i,
            eventName=f"Op{i % 37}",
            sourceIPAddress=f"10.0.{i % 256}.{i % 199}",
            userIdentity=IDENTITIES[list(IDENTITIES)[i % 12]],
        )
        for i in range(5000)
    )
)

# Not documents: whole files as written (never gzip'd again).
MEMBER = gzip.compress(PLAIN, mtime=0)
FILE_CASES: dict[str, bytes] = {
    "empty-file": b"",
    "gzip-of-nothing": gzip.compress(b"", mtime=0),
    "gzip-two-members": gzip.compress(doc(ev(1)), mtime=0) + gzip.compress(doc(ev(2)), mtime=0),
    "gzip-split-document": gzip.compress(PLAIN[:50], mtime=0) + gzip.compress(PLAIN[50:], mtime=0),
    "gzip-truncated": MEMBER[:-9],
    "gzip-zero-padding": MEMBER + b"\x00" * 16,
    "gzip-trailing-junk": MEMBER + b"junk",
    "gzip-corrupt": MEMBER[:20] + bytes(b ^ 0x5A for b in MEMBER[20:40]) + MEMBER[40:],
    "gzip-magic-only": b"\x1f\x8b",
    "gzip-three-members": b"".join(gzip.compress(doc(ev(i)), mtime=0) for i in range(3)),
    "gzip-members-pretty": gzip.compress(pretty(doc(ev(1))), mtime=0)
    + gzip.compress(pretty(doc(ev(2), ev(3))), mtime=0),
    "gzip-crc-mismatch": MEMBER[:-8] + bytes([MEMBER[-8] ^ 1]) + MEMBER[-7:],
    "gzip-length-mismatch": MEMBER[:-4] + bytes([MEMBER[-4] ^ 1]) + MEMBER[-3:],
    "gzip-crc-mismatch-then-member": MEMBER[:-8]
    + bytes([MEMBER[-8] ^ 1])
    + MEMBER[-7:]
    + gzip.compress(doc(ev(4)), mtime=0),
}


# ------------------------------------------------------------------ the tests


@pytest.mark.parametrize("gz", [True, False], ids=["gz", "json"])
@pytest.mark.parametrize("name", list(CASES))
def test_edge_case(tmp_path, name, gz):
    check_file(_write(tmp_path / f"{name}.json{'.gz' if gz else ''}", CASES[name], gz))


@pytest.mark.parametrize("name", list(FILE_CASES))
def test_file_case(tmp_path, name):
    check_file(_write(tmp_path / f"{name}.json.gz", FILE_CASES[name], gz=False))


def test_the_scan_reads_several_documents(tmp_path, native_calls):
    # `cat a.json b.json`, and gzip files of several members: the scan reads every
    # document itself (and agrees with the Python paths, which split the text).
    expect = {
        "documents-two": 3,
        "documents-two-lines": 2,
        "documents-pretty": 3,
        "documents-three-spaced": 3,
        "documents-same-records": 4,
    }
    for name, n in expect.items():
        b = check_file(_write(tmp_path / f"{name}.json", CASES[name], gz=False))
        assert (b.state, b.n) == ("loaded", n), name
    for name, n in {
        "gzip-two-members": 2,
        "gzip-three-members": 3,
        "gzip-members-pretty": 3,
    }.items():
        b = check_file(_write(tmp_path / f"{name}.json.gz", FILE_CASES[name], gz=False))
        assert (b.state, b.n, b.orig_codec) == ("loaded", n, "gzip"), name
    assert len(native_calls) == len(expect) + 3


def test_missing_path_and_folder(tmp_path):
    check_file(tmp_path / "nope.json.gz")
    check_file(tmp_path)


def test_sample_logs(tmp_path):
    files = sorted(p for p in SAMPLE.rglob("*") if p.name.endswith((".json.gz", ".json")))
    assert len(files) > 100, f"sample_logs not found at {SAMPLE}"
    for p in files:
        check_file(p)
        check_file(_write(tmp_path / "plain.json", _inflated(p), gz=False))  # zstd originals


def _inflated(p: Path) -> bytes:
    data = p.read_bytes()
    if data[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(data)
        except (OSError, EOFError):
            return data
    return data


REAL_SOURCES = sorted(p.name for p in REALDATA.iterdir()) if REALDATA.is_dir() else ["absent"]


@pytest.mark.realdata
@pytest.mark.parametrize("source", REAL_SOURCES)
def test_realdata(tmp_path, source):
    root = REALDATA / source
    files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    assert files
    for p in files:  # every file, CloudTrail or not: only sameness matters
        check_file(p)
        if p.name.endswith(".gz"):
            check_file(_write(tmp_path / "plain.json", _inflated(p), gz=False))


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory) -> list[Path]:
    """A small synthetic trail: benchmark-generator files, trailgen files, seed events."""
    root = tmp_path_factory.mktemp("synthetic")
    paths = [
        gen_trail.write_file(root, acct, region, datetime(2026, 11, 20, 10, m, tzinfo=UTC), n, seed)
        for acct, region, m, n, seed in [
            ("123456789012", "us-east-1", 5, 300, 1),
            ("o-exampleorg/123456789012", "eu-west-1", 10, 200, 2),
            ("210987654321", "ap-southeast-2", 15, 150, 3),
        ]
    ]
    recs = [event("A"), event("B", error="AccessDenied"), event("C", readOnly=False)]
    paths.append(write_records(trail_path(root), recs))
    plain = trail_path(root, suffix="plainjsonfile000").with_suffix("")  # .json, not gzip'd
    paths.append(write_records(plain, recs, gz=False))
    seeds = json.dumps({"Records": seed_events()}).encode()  # the project's seed examples
    paths.append(_write(root / "seeds.json.gz", seeds, gz=True))
    return paths


def test_synthetic_trail(synthetic):
    for p in synthetic:
        assert check_file(p).state == "loaded"


def test_persistent_encoder_sequence(tmp_path, synthetic, native_calls):
    # Everything through one encoder, shuffled so accepted and bailed files interleave.
    paths = list(synthetic)
    paths += sorted(p for p in SAMPLE.rglob("*.json*"))
    if REALDATA.is_dir():  # more variety where the real samples are present
        paths += sorted(p for p in REALDATA.rglob("*") if p.is_file())
    for i, name in enumerate(CASES):
        gz = bool(i % 2)
        paths.append(_write(tmp_path / f"{name}.json{'.gz' if gz else ''}", CASES[name], gz))
    paths += [_write(tmp_path / f"{n}.file", d, gz=False) for n, d in FILE_CASES.items()]
    random.Random(20240501).shuffle(paths)
    paths += paths[:50]  # seen again: their values are numbered already

    check_sequence(paths)
    assert 0 < len(native_calls) < len(paths), "the sequence must mix accepted and bailed files"


def test_persistent_encoder_alternating(tmp_path):
    # A bail right between accepted files that share values with it.
    seq = []
    names = [
        "plain",
        "escape-lone-high",
        "plain",
        "dup-eventName",
        "identity-Root",
        "nonstr-userAgent-big-int",
        "records-empty",
        "identity-Root",
        "raw-sigma",
        "truncated-half",
        "raw-sigma",
        "deep-array-600",
        "plain",
    ]
    for i, name in enumerate(names):
        seq.append(_write(tmp_path / f"{i:02d}-{name}.json.gz", CASES[name], gz=True))
    check_sequence(seq)


# ------------------------------------------------------------------ mutations


def _fuzz_bases() -> list[bytes]:
    """Valid documents the scan accepts, touching most of what it handles: compact and
    pretty-printed with CRLF."""
    ids = list(IDENTITIES.values())
    recs = [ev(i, userIdentity=ids[i % 12]) for i in range(6)]
    recs += [
        ev(19, eventName=ESCAPES["quote"], userAgent="café 😀 \u202e"),
        ev(20, readOnly="TRUE", errorCode="AccessDenied", eventTime="2024-02-29T23:59:60Z"),
        ev(21, requestParameters={"a": [1, 2.5, -0, 1e10, None, True, {"b": "\u202e"}]}),
        ev(22, userAgent=ESCAPES["pair"], eventID="x" * 40, recipientAccountId=DROP),
        ev(
            23,
            eventVersion="2.0",
            readOnly="maybe",
            userIdentity=IDENTITIES["AWSAccount-anonymous-real"],
        ),
        insight(24),
    ]
    compact = doc(*recs)
    return [compact, pretty(compact, 1, b"\r\n")]


MUTATIONS = (b"\\", b'"', b"{", b"]", b",")


def _mutate(data: bytes, rnd: random.Random) -> bytes:
    b = bytearray(data)
    for _ in range(rnd.randint(1, 3)):
        i = rnd.randrange(len(b))
        op = rnd.randrange(5)
        if op == 0:
            b[i] ^= 1 << rnd.randrange(8)
        elif op == 1:
            b[i:i] = rnd.choice(MUTATIONS)
        elif op == 2:
            del b[i]
        elif op == 3:
            n = rnd.randint(1, 40)
            b[i:i] = b[i : i + n]
        else:
            b[i] = rnd.choice(b"0123456789aeE-+.:tfnu\x00\x80\xff ")
    return bytes(b)


def test_mutations(tmp_path, native_calls):
    rnd = random.Random(1729)
    texts = _fuzz_bases()
    bases = [_write(tmp_path / f"base{i}.json", t, gz=False) for i, t in enumerate(texts)]
    for b in bases:
        assert check_file(b).state == "loaded"
    assert len(native_calls) == len(bases), "the scan should accept the unmutated bases"
    deadline = time.monotonic() + 6.0  # bounded whatever the machine's speed
    mutants, raised = [], []
    for k in range(500):
        if time.monotonic() > deadline:
            break
        gz = k % 4 == 0
        text = _mutate(texts[k % 2], rnd)
        p = _write(tmp_path / f"m{k:03d}.json{'.gz' if gz else ''}", text, gz)
        got = check_file(p)  # sameness first, so a difference is reported as one
        if isinstance(got, str):
            raised.append(f"{p.name}: {got}")
        mutants.append(p)
    assert len(mutants) >= 100
    assert len(native_calls) > len(bases) + 20, "too few mutants reached the scan's output"
    # Persistent mode, each mutant after a valid base: a bail part way through a
    # mutant must leave the encoder's tables as they were.
    check_sequence([q for i, p in enumerate(mutants) for q in (bases[i % 2], p)])
    assert not raised, "parse_file raised (alike both ways: a Python-path bug):\n" + "\n".join(
        raised[:5]
    )


def test_invalid_utf8_in_skipped_strings_does_not_raise(tmp_path):
    # msgspec skips the strings it does not decode without checking their UTF-8; the
    # Python fast path used to accept such files and then raise UnicodeDecodeError while
    # lower-casing (so load() of a trail holding one failed as a whole). Both fast paths
    # now leave them to the general reader, which reads them leniently and says so.
    names = [n for n in CASES if n.startswith("bad-utf8-skipped-")] + ["bad-utf8-in-key"]
    raised = []
    for name in names:
        got = check_file(_write(tmp_path / f"{name}.json.gz", CASES[name], gz=True))
        if isinstance(got, str):
            raised.append(f"{name}: {got[:90]}")
        else:
            assert got.state == "loaded" and got.n and got.lenient, name
    assert not raised, "parse_file raised on:\n" + "\n".join(raised)
    store = load([tmp_path])  # the cases share eventIDs: some are exact re-deliveries
    records = sum(check_file(tmp_path / f"{n}.json.gz").n for n in names)
    assert len(store) + store.duplicates == records and len(store) > 1
