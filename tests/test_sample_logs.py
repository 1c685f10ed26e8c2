"""The committed sample_logs/ is exactly what scripts/make_sample_logs.py writes, and it has
the properties the demo and the other tests rely on."""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import json
import re
import subprocess
import sys
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.trailgen import SEEDS  # the AWS-documentation examples

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_logs"
SCRIPT = ROOT / "scripts" / "make_sample_logs.py"

ACCOUNTS = {"111122223333", "444455556666"}
LOG_RE = re.compile(
    r"AWSLogs/(?P<acct>\d{12})/(?P<kind>CloudTrail|CloudTrail-Insight)/(?P<region>[a-z0-9-]+)/"
    r"(?P<y>\d{4})/(?P<m>\d\d)/(?P<d>\d\d)/(?P=acct)_(?P=kind)_(?P=region)_"
    r"(?P<stamp>\d{8}T\d{4}Z)_[A-Za-z0-9]{16}\.json\.gz"
)
DIGEST_RE = re.compile(
    r"AWSLogs/(?P<acct>\d{12})/CloudTrail-Digest/(?P<region>[a-z0-9-]+)/"
    r"(?P<y>\d{4})/(?P<m>\d\d)/(?P<d>\d\d)/(?P=acct)_CloudTrail-Digest_(?P=region)_"
    r"(?P<trail>[A-Za-z0-9_.-]+)_(?P<home>[a-z0-9-]+)_(?P<stamp>\d{8}T\d{6}Z)\.json\.gz"
)


def parse_time(s: str) -> datetime:
    return datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def files() -> dict[str, bytes]:
    """Relative path -> decompressed bytes of every .json.gz in sample_logs."""
    assert SAMPLE.is_dir(), "run: python scripts/make_sample_logs.py"
    return {
        rel: gzip.decompress(data) for rel, data in tree(SAMPLE).items() if rel.endswith(".json.gz")
    }


@pytest.fixture(scope="module")
def logs(files: dict[str, bytes]) -> dict[str, list[dict]]:
    """Delivery log files (CloudTrail/) -> records."""
    return {
        rel: json.loads(body)["Records"] for rel, body in files.items() if "/CloudTrail/" in rel
    }


@pytest.fixture(scope="module")
def records(logs: dict[str, list[dict]]) -> list[dict]:
    return [r for recs in logs.values() for r in recs]


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location("make_sample_logs", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_regenerates_byte_identical(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(tmp_path)], check=True, capture_output=True
    )
    committed, fresh = tree(SAMPLE), tree(tmp_path)
    assert sorted(fresh) == sorted(committed)
    for rel in committed:
        if rel.endswith(".gz"):
            assert gzip.decompress(fresh[rel]) == gzip.decompress(committed[rel]), rel
        else:
            assert fresh[rel] == committed[rel], rel
    differ = [rel for rel in committed if fresh[rel] != committed[rel]]
    if differ:
        # Same content, same fixed gzip framing: only the deflate library can differ
        # (e.g. a zlib-ng based system zlib). Not a reproducibility bug of the script.
        pytest.skip(f"content identical but this zlib deflates differently ({len(differ)} files)")


def test_gzip_headers_are_stable() -> None:
    for rel, data in tree(SAMPLE).items():
        if rel.endswith(".gz"):
            assert data[:10] == b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff", rel


def test_layout_and_delivery_times(files: dict[str, bytes], logs: dict[str, list[dict]]) -> None:
    kinds = Counter()
    for rel in files:
        m = LOG_RE.fullmatch(rel) or DIGEST_RE.fullmatch(rel)
        assert m, rel
        assert m["acct"] in ACCOUNTS
        kinds[rel.split("/")[2]] += 1
        if "stamp" in m.groupdict() and len(m["stamp"]) == 14:
            stamp = datetime.strptime(m["stamp"], "%Y%m%dT%H%MZ").replace(tzinfo=UTC)
            # The folder date is the delivery date in the name.
            assert (m["y"], m["m"], m["d"]) == (f"{stamp:%Y}", f"{stamp:%m}", f"{stamp:%d}")
            assert stamp.minute % 5 == 0
    assert kinds == {"CloudTrail": len(logs), "CloudTrail-Insight": 1, "CloudTrail-Digest": 2}

    delays = []
    for rel, recs in logs.items():
        m = LOG_RE.fullmatch(rel)
        stamp = datetime.strptime(m["stamp"], "%Y%m%dT%H%MZ").replace(tzinfo=UTC)
        times = [parse_time(r["eventTime"]) for r in recs]
        assert all(r["recipientAccountId"] == m["acct"] for r in recs), rel
        assert all(r["awsRegion"] == m["region"] for r in recs), rel
        # One account/region/5-minute window per file, delivered minutes later.
        assert max(times) - min(times) < timedelta(minutes=5), rel
        delays.append(stamp - max(times))
        assert timedelta(0) < stamp - max(times) <= timedelta(minutes=30), rel
    assert sorted(delays)[len(delays) // 2] <= timedelta(minutes=15)

    # Some files cross midnight: events of one day delivered into the next day's folder.
    crossing = [
        rel
        for rel, recs in logs.items()
        if any(r["eventTime"][:10].replace("-", "/") not in rel for r in recs)
    ]
    assert crossing

    # Records are not sorted within files.
    assert any(
        len(recs) > 2 and recs != sorted(recs, key=lambda r: r["eventTime"])
        for recs in logs.values()
    )


def test_accounts_regions_days(records: list[dict]) -> None:
    assert 300 <= len(records) <= 600
    recent = [r for r in records if r["eventTime"] >= "2026"]
    assert {r["recipientAccountId"] for r in recent} == ACCOUNTS
    assert {"us-east-1", "us-west-2", "eu-west-1"} <= {r["awsRegion"] for r in recent}
    assert {r["eventTime"][:10] for r in recent} == {"2026-11-18", "2026-11-19", "2026-11-20"}


def test_every_identity_type(records: list[dict]) -> None:
    by_type = defaultdict(list)
    for r in records:
        by_type[r["userIdentity"].get("type")].append(r["userIdentity"])
    assert {
        "Root",
        "IAMUser",
        "AssumedRole",
        "FederatedUser",
        "SAMLUser",
        "WebIdentityUser",
        "AWSService",
        "AWSAccount",
        "IdentityCenterUser",
        "Unknown",
    } <= set(by_type)

    iam_keys = {u.get("accessKeyId", "")[:4] for u in by_type["IAMUser"]}
    assert {"AKIA", "ASIA"} <= iam_keys
    roles = by_type["AssumedRole"]
    assert all(u["sessionContext"]["sessionIssuer"]["type"] == "Role" for u in roles)
    assert {u["sessionContext"]["attributes"]["mfaAuthenticated"] for u in roles} == {
        "true",
        "false",
    }
    assert any("sourceIdentity" in u["sessionContext"] for u in roles)
    assert any("onBehalfOf" in u for u in roles)
    assert all(
        u["sessionContext"]["sessionIssuer"]["type"] == "IAMUser" for u in by_type["FederatedUser"]
    )
    assert all(u["invokedBy"].endswith(".amazonaws.com") for u in by_type["AWSService"])
    assert any(u["accountId"] == "ANONYMOUS_PRINCIPAL" for u in by_type["AWSAccount"])
    assert any(u["accountId"] not in ("ANONYMOUS_PRINCIPAL",) for u in by_type["AWSAccount"])
    assert all("onBehalfOf" in u for u in by_type["IdentityCenterUser"])
    assert all(u["userName"] == "HIDDEN_DUE_TO_SECURITY_REASONS" for u in by_type["Unknown"])


def test_errors_and_failed_login(records: list[dict]) -> None:
    codes = {r["errorCode"] for r in records if r.get("errorCode")}
    assert {
        "AccessDenied",
        "Client.UnauthorizedOperation",
        "NoSuchBucket",
        "ThrottlingException",
    } <= codes
    assert all(r.get("errorMessage") for r in records if r.get("errorCode"))
    failed = [
        r
        for r in records
        if r["eventName"] == "ConsoleLogin" and r["responseElements"] == {"ConsoleLogin": "Failure"}
    ]
    assert any(r.get("errorMessage") == "Failed authentication" for r in failed)
    assert any(r["userIdentity"]["type"] == "Unknown" for r in failed)


def test_sources_and_agents(records: list[dict]) -> None:
    ips = {r["sourceIPAddress"] for r in records}
    assert any(re.fullmatch(r"\d+\.\d+\.\d+\.\d+", ip) for ip in ips)
    assert any(":" in ip for ip in ips)
    assert "AWS Internal" in ips
    assert "ec2.amazonaws.com" in ips
    uas = {r["userAgent"] for r in records}
    assert any(ua.startswith("[aws-cli/2.15.0 Python/3.11.6 Linux/") for ua in uas)
    assert any(ua.startswith("[S3Console/0.4, aws-internal/3 ") for ua in uas)
    hostile = [ua for ua in uas if "\x1b[31m" in ua]
    assert len(hostile) == 1
    assert "\x9b" in hostile[0] and "\u202e" in hostile[0]
    assert "[@click=app.quit]quit[/]" in hostile[0]
    assert {"AwsApiCall", "AwsConsoleSignIn", "AwsServiceEvent"} <= {
        r.get("eventType") for r in records
    }
    assert {True, False} <= {r.get("readOnly") for r in records}


def test_data_events(records: list[dict]) -> None:
    data = [r for r in records if r.get("eventCategory") == "Data"]
    assert {"GetObject", "PutObject"} <= {r["eventName"] for r in data}
    assert {True, False} <= {r["readOnly"] for r in data}
    assert all(r["resources"] and r["managementEvent"] is False for r in data)


def test_attacker_story(records: list[dict]) -> None:
    attacker = [
        r for r in records if r["sourceIPAddress"] in ("203.0.113.66", "2001:db8:bad:1::66")
    ]
    names = {r["eventName"] for r in attacker}
    assert {
        "ListBuckets",
        "GetCallerIdentity",
        "DescribeInstances",
        "ListUsers",
        "CreateAccessKey",
        "AssumeRole",
        "GetObject",
    } <= names
    assert {r["recipientAccountId"] for r in attacker} == ACCOUNTS
    assert len({r["awsRegion"] for r in attacker}) >= 3
    assert any(r.get("errorCode") == "AccessDenied" for r in attacker)


def test_duplicate_and_eventid_conflict(logs: dict[str, list[dict]]) -> None:
    seen: dict[str, list[tuple[str, bytes]]] = defaultdict(list)
    for rel, recs in logs.items():
        for r in recs:
            seen[r["eventID"]].append((rel, json.dumps(r, sort_keys=True).encode()))
    repeated = {k: v for k, v in seen.items() if len(v) > 1}
    assert len(repeated) == 2
    exact = [v for v in repeated.values() if v[0][1] == v[1][1]]
    clash = [v for v in repeated.values() if v[0][1] != v[1][1]]
    assert len(exact) == 1 and len(clash) == 1
    for v in repeated.values():
        assert len(v) == 2 and v[0][0] != v[1][0]  # delivered in two different files


def test_insight_file(files: dict[str, bytes]) -> None:
    (rel,) = [k for k in files if "/CloudTrail-Insight/" in k]
    recs = json.loads(files[rel])["Records"]
    assert sorted(r["insightDetails"]["state"] for r in recs) == ["End", "Start"]
    assert len({r["sharedEventID"] for r in recs}) == 1
    for r in recs:
        assert r["eventType"] == "AwsCloudTrailInsight" and r["eventCategory"] == "Insight"
        d = r["insightDetails"]
        assert d["insightType"] == "ApiCallRateInsight"
        assert d["eventSource"] and d["eventName"]
        assert "baseline" in d["insightContext"]["statistics"]


def test_digest_chain(files: dict[str, bytes]) -> None:
    digests = sorted(k for k in files if "/CloudTrail-Digest/" in k)
    assert len(digests) == 2
    bodies = [json.loads(files[k]) for k in digests]
    for key, body in zip(digests, bodies, strict=True):
        assert body["digestS3Object"] == key
        assert body["awsAccountId"] == DIGEST_RE.fullmatch(key)["acct"]
        assert body["logFiles"]
        start, end = parse_time(body["digestStartTime"]), parse_time(body["digestEndTime"])
        for lf in body["logFiles"]:
            # CloudTrail hashes the uncompressed log file.
            assert lf["hashAlgorithm"] == "SHA-256"
            assert lf["hashValue"] == hashlib.sha256(files[lf["s3Object"]]).hexdigest()
        # It lists every file of its account/region delivered in its period.
        prefix = f"AWSLogs/{body['awsAccountId']}/CloudTrail/us-east-1/"
        expected = []
        for k in files:
            m = LOG_RE.fullmatch(k)
            if k.startswith(prefix) and m:
                stamp = datetime.strptime(m["stamp"], "%Y%m%dT%H%MZ").replace(tzinfo=UTC)
                if start <= stamp < end:
                    expected.append(k)
        assert sorted(lf["s3Object"] for lf in body["logFiles"]) == sorted(expected)
    first, second = bodies
    assert second["digestStartTime"] == first["digestEndTime"]
    assert second["previousDigestS3Object"] == digests[0]
    assert second["previousDigestHashValue"] == hashlib.sha256(files[digests[0]]).hexdigest()
    assert second["previousDigestHashAlgorithm"] == "SHA-256"


def test_documentation_examples(logs: dict[str, list[dict]], script) -> None:
    docs = {
        "access-analyzer-CreateAnalyzer.json": script.DOC_ACCESS_ANALYZER,
        "guardduty-CreateThreatIntelSet.json": script.DOC_GUARDDUTY,
    }
    for name, doc in docs.items():
        placed = [
            (rel, recs)
            for rel, recs in logs.items()
            if doc["eventID"] in {r["eventID"] for r in recs}
        ]
        assert len(placed) == 1
        rel, recs = placed[0]
        assert recs == [doc]
        assert rel.startswith(
            f"AWSLogs/{doc['recipientAccountId']}/CloudTrail/us-west-2/2018/06/14/"
        )
        seed = json.loads((SEEDS / name).read_text())
        # Same values and same key order.
        assert json.dumps(doc) == json.dumps(seed)


def test_small_enough() -> None:
    assert sum(len(b) for b in tree(SAMPLE).values()) < 300 * 1024
    assert (SAMPLE / "README.md").is_file()
