"""Helpers for tests: write real trail files (gzip, real S3 layout) into a tmp dir."""

from __future__ import annotations

import gzip
import json
import uuid
from pathlib import Path

import orjson

# The larger real public samples live beside the checkout (see its README); tests over
# them carry `@pytest.mark.realdata` and skip when the folder is absent (conftest.py).
REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"
# The two AWS-documentation example events, kept in the repo (see its README).
SEEDS = Path(__file__).resolve().parent / "data" / "aws-docs"


def trail_path(
    root: Path,
    account: str = "111122223333",
    region: str = "us-east-1",
    when: str = "20261120T1005Z",
    suffix: str = "abcdefghijklmnop",
    org: str | None = None,
) -> Path:
    y, m, d = when[:4], when[4:6], when[6:8]
    base = root / "AWSLogs"
    if org:
        base = base / org
    return (
        base
        / account
        / "CloudTrail"
        / region
        / y
        / m
        / d
        / f"{account}_CloudTrail_{region}_{when}_{suffix}.json.gz"
    )


def write_records(path: Path, records: list, *, gz: bool = True) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = orjson.dumps({"Records": records})
    path.write_bytes(gzip.compress(data, mtime=0) if gz else data)
    return path


def event(
    name: str = "DescribeInstances",
    time: str = "2026-11-20T10:00:00Z",
    *,
    source: str = "ec2.amazonaws.com",
    ip: str = "198.51.100.7",
    region: str = "us-east-1",
    account: str = "111122223333",
    identity: dict | None = None,
    event_id: str | None = None,
    error: str | None = None,
    **extra,
) -> dict:
    ev = {
        "eventVersion": "1.08",
        "userIdentity": identity
        or {
            "type": "IAMUser",
            "principalId": "AIDAEXAMPLE",
            "arn": f"arn:aws:iam::{account}:user/alice",
            "accountId": account,
            "accessKeyId": "AKIAEXAMPLE",
            "userName": "alice",
        },
        "eventTime": time,
        "eventSource": source,
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": ip,
        "userAgent": "aws-cli/2.15.0 Python/3.11.6",
        "requestParameters": None,
        "responseElements": None,
        "requestID": str(uuid.uuid4()),
        "eventID": event_id or str(uuid.uuid4()),
        "readOnly": True,
        "eventType": "AwsApiCall",
        "recipientAccountId": account,
    }
    if error:
        ev["errorCode"] = error
        ev["errorMessage"] = f"{error} happened"
    ev.update(extra)
    return ev


def seed_events() -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(SEEDS.glob("*.json"))]
