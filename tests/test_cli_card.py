"""The credential commands run as real processes over real gzip trails: `trailscope card`
(text and JSON, subjects as arguments or -e, hostile values kept inert, usage errors)
and the case report's credential origin."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.core.test_credentials import BOB, S1, chained_trail, session, write_files
from tests.trailgen import REALDATA, event, trail_path, write_records

HOSTILE_UA = "evil\x1b[2J\x9b31m\u202e[@click=app.quit]"


def run(*args: str, rc: int = 0) -> subprocess.CompletedProcess:
    p = subprocess.run(
        [sys.executable, "-m", "tui", "card", *args], capture_output=True, timeout=120
    )
    assert p.returncode == rc, (p.returncode, p.stdout[-2000:], p.stderr[-2000:])
    return p


@pytest.fixture
def trail(tmp_path):
    files = chained_trail()
    hostile = session("222222222222", "Deploy", "bob-deploy", S1["accessKeyId"])
    files.append(
        (
            "222222222222",
            "20261120T1015Z",
            [
                event(
                    "PutObject",
                    "2026-11-20T10:05:00Z",
                    source="s3.amazonaws.com",
                    identity=hostile,
                    account="222222222222",
                    ip="203.0.113.5",
                    userAgent=HOSTILE_UA,
                    error="AccessDenied",
                ),
            ],
        )
    )
    write_files(tmp_path / "trail", files)
    return tmp_path / "trail"


def test_card_text_for_a_principal(trail):
    out = run(str(trail), f"principal:{BOB['arn']}").stdout.decode()
    lines = out.splitlines()
    assert lines[0] == f"card: principal:{BOB['arn']}"
    assert lines[1] == "events 2   first 2026-11-20T10:00:00Z   last 2026-11-20T10:00:00Z"
    assert lines[2] == "errors 0 (0.0%)"
    assert "accounts (2)" in lines
    assert any(
        ln.split()
        == [
            "3",
            S1["accessKeyId"],
            "AssumeRole",
            "2026-11-20T10:00:00Z",
            f"key:{S1['accessKeyId']}",
            f"descends:{S1['accessKeyId']}",
        ]
        for ln in lines
    )  # three uses: DescribeInstances, AssumeRole, PutObject
    # The subject can come after the path or before it, or as -e.
    assert run(f"principal:{BOB['arn']}", str(trail)).stdout.decode() == out
    assert run(str(trail), "-e", f"principal:{BOB['arn']}").stdout.decode() == out


def test_card_json_for_a_key_keeps_hostile_values_inert(trail):
    p = run(str(trail), f"key:{S1['accessKeyId']}", "--json")
    raw = p.stdout
    assert b"\x1b" not in raw and b"\xc2\x9b" not in raw and "\u202e".encode() not in raw
    card = json.loads(raw)
    assert card["kind"] == "key" and card["events"] == 3 and card["errors"] == 1
    uas = [v["value"] for v in card["sections"]["user agents"]["values"]]
    assert HOSTILE_UA in uas  # a JSON parser reads the exact value
    (ua,) = [v for v in card["sections"]["user agents"]["values"] if v["value"] == HOSTILE_UA]
    assert ua["count"] == 1
    assert [ln["caller"] for ln in card["origin"]["links"]] == [
        BOB["arn"],
        "arn:aws:iam::111111111111:user/admin",
    ]
    assert card["descendants"]["events"] == 5
    text = run(str(trail), f"key:{S1['accessKeyId']}").stdout
    assert b"\x1b" not in text and b"\\x1b[2J" in text and b"\\u202e" in text


def test_card_of_a_session_argument(trail):
    """`session:ARN` as an argument names the subject (an STS session, the session field)."""
    out = run(str(trail), f"session:{S1['arn']}").stdout.decode()
    lines = out.splitlines()
    assert lines[0] == f"card: session:{S1['arn']}"
    assert "sessions (1)" not in lines  # the subject itself
    assert any(f"key:{S1['accessKeyId']}" in ln for ln in lines)


def test_card_usage_errors(trail, tmp_path):
    p = run(str(trail), rc=2)
    assert b"give the subject" in p.stderr
    p = run(str(tmp_path / "missing"), "ip:1.2.3.4", rc=2)
    assert b"no such file or directory" in p.stderr
    p = run(str(trail), "-e", "principal:(", rc=2)
    assert b"bad filter" in p.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    run(str(empty), "ip:1.2.3.4", rc=1)
    # A path that exists is a path even when it looks like a subject.
    odd = tmp_path / "ip:10.0.0.1"
    write_records(trail_path(odd), [event("X", ip="10.0.0.1")])
    card = json.loads(run(str(odd), "-e", "event:X", "--json").stdout)
    assert card["events"] == 1


@pytest.mark.realdata
def test_card_over_a_real_trail():
    card = json.loads(
        run(str(REALDATA / "stratus-red-team"), "key:ASIANQQHHS551LWULIWD", "--json").stdout
    )
    assert card["events"] == 30 and card["errorRatio"] == 1.0
    (link,) = card["origin"]["links"]
    assert link["caller"] == "arn:aws:iam::457448411975:user/christophe"
    assert link["callerKey"] == "AKIAWOGXN38MFN92ING5"
    assert card["origin"]["end"] == "missing"


def test_report_shows_where_each_marked_events_credential_came_from(trail, tmp_path):
    from tui.core.annotations import Annotations
    from tui.core.case import Case
    from tui.core.loader import load

    store = load([trail])
    case_path = tmp_path / "case.sqlite"
    with Case.open(case_path) as case:
        ann = Annotations(case, store)
        for r in store.ordered().tolist():
            if store.value(r, "event") in ("GetObject", "PutObject", "ListUsers"):
                ann.mark(r, "suspicious")
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "tui",
            "report",
            "--case",
            str(case_path),
            "--format",
            "jsonl",
            str(trail),
        ],
        capture_output=True,
        timeout=120,
    )
    assert p.returncode == 0, p.stderr
    got = {
        json.loads(ln)["event"]: json.loads(ln)["credentialOrigin"]
        for ln in p.stdout.decode().splitlines()
    }
    assert got["GetObject"].startswith(
        "minted by AssumeRole by arn:aws:sts::222222222222:assumed-role/Deploy/bob-deploy at "
        "2026-11-20T10:02:00Z from 203.0.113.6 <- minted by AssumeRole by "
        f"{BOB['arn']} at 2026-11-20T10:00:00Z"
    )
    assert got["PutObject"].startswith(f"minted by AssumeRole by {BOB['arn']}")
    assert "not in the trail" in got["ListUsers"]  # carol's key: created elsewhere
    md = subprocess.run(
        [sys.executable, "-m", "tui", "report", "--case", str(case_path), str(trail)],
        capture_output=True,
        timeout=120,
    )
    assert md.returncode == 0 and b"Credential origin: `minted by AssumeRole" in md.stdout


def test_credential_terms_work_in_query(trail):
    def query(text: str) -> list[str]:
        p = subprocess.run(
            [sys.executable, "-m", "tui", "query", str(trail), "-e", text, "--format", "jsonl"],
            capture_output=True,
            timeout=120,
        )
        assert p.returncode == 0, p.stderr
        return [json.loads(ln)["eventName"] for ln in p.stdout.decode().splitlines()]

    assert query(f"descends:{S1['accessKeyId']} -event:AssumeRole") == [
        "DescribeInstances",
        "GetObject",
        "ListBuckets",
        "PutObject",
    ]
    assert query(f"minted:{S1['accessKeyId']}") == ["AssumeRole", "AssumeRole"]
    assert query(f"principal:{BOB['arn']} last:1m") == ["AssumeRole", "AssumeRole"]
