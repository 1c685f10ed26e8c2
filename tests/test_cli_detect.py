"""`trailscope detect` and `trailscope rules`, run as real processes: hits in time order
in each format (inert), severity floor, Sigma rules from --rules and the config file,
skipped rules listed with reasons, exit codes, and a live feed with --follow."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys

import pytest

from tests.test_cli import TUI, Lines, land
from tests.trailgen import event, trail_path, write_records

HOSTILE = "evil\x1b[2J\u202e=cmd|' /C calc'!A0"


def run(*args: str, rc: int | None = 0, env: dict | None = None) -> subprocess.CompletedProcess:
    p = subprocess.run(
        [sys.executable, "-m", "tui", *args], capture_output=True, text=True, timeout=120, env=env
    )
    if rc is not None:
        assert p.returncode == rc, (p.returncode, p.stdout[-2000:], p.stderr[-2000:])
    return p


def isolated_env(tmp_path, config: str | None = None) -> dict:
    """No user config unless given: XDG_CONFIG_HOME points into tmp_path."""
    home = tmp_path / "config-home"
    if config is not None:
        (home / "trailscope").mkdir(parents=True)
        (home / "trailscope" / "config.toml").write_text(config)
    return {**os.environ, "XDG_CONFIG_HOME": str(home)}


@pytest.fixture
def attack(tmp_path):
    root = tmp_path / "trail"
    recs = [
        event(
            "CreateUser",
            "2026-11-20T10:05:00Z",
            source="iam.amazonaws.com",
            readOnly=False,
            requestParameters={"userName": HOSTILE},
        ),
        event(
            "StopLogging",
            "2026-11-20T10:01:00Z",
            source="cloudtrail.amazonaws.com",
            readOnly=False,
            userAgent=HOSTILE,
            requestParameters={"name": "main"},
        ),
        event("ListBuckets", "2026-11-20T10:00:00Z", source="s3.amazonaws.com"),
    ]
    write_records(trail_path(root), recs)
    return root, recs


def test_detect_table_in_time_order_with_a_summary(attack, tmp_path):
    root, _ = attack
    p = run("detect", str(root), env=isolated_env(tmp_path))
    lines = p.stdout.splitlines()
    assert lines[0].split() == ["time", "severity", "rule", "principal", "ip", "event"]
    assert [ln.split()[:3] for ln in lines[1:]] == [
        ["2026-11-20T10:01:00Z", "high", "cloudtrail-logging-stopped"],
        ["2026-11-20T10:05:00Z", "low", "iam-user-created"],
    ]
    assert "2 hits on 2 of 3 events" in p.stderr
    assert "1 high, 1 low" in p.stderr


def test_detect_min_severity(attack, tmp_path):
    root, _ = attack
    p = run("detect", str(root), "--min-severity", "medium", env=isolated_env(tmp_path))
    assert [ln.split()[2] for ln in p.stdout.splitlines()[1:]] == ["cloudtrail-logging-stopped"]


def test_detect_jsonl_holds_the_rule_and_the_exact_event_inert(attack, tmp_path):
    root, recs = attack
    p = subprocess.run(
        [*TUI, "detect", str(root), "--format", "jsonl"],
        capture_output=True,
        env=isolated_env(tmp_path),
        timeout=120,
    )
    assert p.returncode == 0
    assert b"\x1b" not in p.stdout and "\u202e".encode() not in p.stdout
    hits = [json.loads(x) for x in p.stdout.splitlines()]
    assert [h["rule"] for h in hits] == ["cloudtrail-logging-stopped", "iam-user-created"]
    assert hits[0]["event"] == recs[1]  # the event itself, values exact after parsing
    assert hits[0]["severity"] == "high" and hits[0]["techniques"] == ["T1562.008"]
    assert hits[0]["tactics"] == ["Defense Evasion"] and "StopLogging" in hits[0]["why"]
    assert hits[1]["event"]["requestParameters"]["userName"] == HOSTILE


def test_detect_csv_cells_are_inert(tmp_path):
    root = tmp_path / "trail"
    bad_principal = {
        "type": "IAMUser",
        "arn": '=HYPERLINK("x")',
        "accountId": "111122223333",
        "userName": "x",
    }
    write_records(
        trail_path(root),
        [
            event(
                "DeleteTrail",
                source="cloudtrail.amazonaws.com",
                readOnly=False,
                identity=bad_principal,
                ip="\x1b]52;c;evil\x07",
            )
        ],
    )
    p = run("detect", str(root), "--format", "csv", env=isolated_env(tmp_path))
    rows = list(csv.reader(io.StringIO(p.stdout)))
    assert rows[0][:4] == ["time", "severity", "rule", "title"]
    assert rows[1][2] == "cloudtrail-trail-deleted"
    assert rows[1][4] == '\'=HYPERLINK("x")'
    assert rows[1][5] == "\\x1b]52;c;evil\\x07"


SIGMA_RULE = """
title: Bucket listing by a test
id: 5f0b1b1e-0000-4000-8000-000000000001
status: test
logsource:
    product: aws
    service: cloudtrail
detection:
    selection:
        eventSource: s3.amazonaws.com
        eventName|startswith: List
    condition: selection
level: high
tags:
    - attack.discovery
    - attack.t1619
"""
NOT_CLOUDTRAIL = SIGMA_RULE.replace("service: cloudtrail", "service: guardduty")
FIELDREF = SIGMA_RULE.replace(
    "eventName|startswith: List", "userIdentity.arn|fieldref: requestParameters.userName"
)


def sigma_dir(tmp_path):
    d = tmp_path / "sigma"
    d.mkdir()
    (d / "list_buckets.yml").write_text(SIGMA_RULE)
    (d / "guardduty.yml").write_text(NOT_CLOUDTRAIL)
    (d / "fieldref.yml").write_text(FIELDREF)
    (d / "broken.yml").write_text("title: [unclosed\n")
    return d


def test_detect_with_sigma_rules(attack, tmp_path):
    root, _ = attack
    d = sigma_dir(tmp_path)
    p = run("detect", str(root), "--rules", str(d), "--no-builtin", env=isolated_env(tmp_path))
    assert [ln.split()[2] for ln in p.stdout.splitlines()[1:]] == ["sigma.list_buckets"]
    assert "3 Sigma rules skipped" in p.stderr


def test_rules_lists_loaded_and_skipped_with_reasons(tmp_path):
    d = sigma_dir(tmp_path)
    p = run("rules", str(d), "--no-builtin", env=isolated_env(tmp_path))
    by_file = {}
    for ln in p.stdout.splitlines()[1:]:
        status, rest = ln.split(None, 1)
        name = next(w for w in rest.split() if w.startswith(str(d)))
        by_file[os.path.basename(name.rstrip(":"))] = (status, ln)
    assert by_file["list_buckets.yml"][0] == "loaded"
    assert "sigma.list_buckets" in by_file["list_buckets.yml"][1]
    assert by_file["guardduty.yml"][0] == "skipped"
    assert "logsource is not AWS CloudTrail" in by_file["guardduty.yml"][1]
    assert "fieldref" in by_file["fieldref.yml"][1]
    assert by_file["broken.yml"][0] == "skipped" and "not a Sigma file" in by_file["broken.yml"][1]
    assert "1 Sigma rules loaded, 3 skipped" in p.stderr
    j = run("rules", str(d), "--format", "jsonl", env=isolated_env(tmp_path))
    rows = [json.loads(x) for x in j.stdout.splitlines()]
    assert (
        len([r for r in rows if r["status"] == "loaded"])
        == len(
            [
                ln
                for ln in run("rules", env=isolated_env(tmp_path)).stdout.splitlines()
                if ln.startswith("loaded")
            ]
        )
        + 1
    )


def test_config_file_rules_setting(attack, tmp_path):
    root, _ = attack
    d = sigma_dir(tmp_path)
    env = isolated_env(tmp_path, f'rules = ["{d}"]\n')
    p = run("detect", str(root), "--no-builtin", env=env)
    assert [ln.split()[2] for ln in p.stdout.splitlines()[1:]] == ["sigma.list_buckets"]
    p = run("detect", str(root), "--no-builtin", "--no-config", env=env)
    assert p.stdout.splitlines()[1:] == []
    bad = isolated_env(tmp_path / "b", "rules = 3\n")
    p = run("detect", str(root), env=bad, rc=2)
    assert "config.toml" in p.stderr and "rules" in p.stderr


def test_detect_exit_codes(tmp_path):
    env = isolated_env(tmp_path)
    run("detect", str(tmp_path / "missing"), rc=2, env=env)
    empty = tmp_path / "empty"
    (empty / "x.json.gz").parent.mkdir(parents=True)
    (empty / "x.json.gz").write_bytes(b"not gzip")
    run("detect", str(empty), rc=1, env=env)
    run("rules", str(tmp_path / "missing"), rc=2, env=env)


@pytest.mark.timeout(90)
def test_detect_follow_prints_new_hits_as_files_land(attack, tmp_path):
    root, _ = attack
    p = subprocess.Popen(
        [*TUI, "detect", "--follow", str(root), "--format", "jsonl"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=isolated_env(tmp_path),
    )
    out = Lines(p.stdout)
    try:
        assert json.loads(out.next())["rule"] == "cloudtrail-logging-stopped"
        assert json.loads(out.next())["rule"] == "iam-user-created"
        land(
            trail_path(root, suffix="n" * 16),
            [
                event("ListUsers", "2026-11-20T11:00:00Z", source="iam.amazonaws.com"),
                event(
                    "DeleteDetector",
                    "2026-11-20T11:00:01Z",
                    source="guardduty.amazonaws.com",
                    readOnly=False,
                ),
            ],
        )
        hit = json.loads(out.next())
        assert (hit["rule"], hit["event"]["eventName"]) == (
            "guardduty-detector-deleted",
            "DeleteDetector",
        )
    finally:
        p.terminate()
        p.wait(10)


def test_query_with_rule_terms_runs_the_rules(attack, tmp_path):
    root, _ = attack
    env = isolated_env(tmp_path)
    p = run("query", str(root), "-e", "has:detection", "--format", "count", env=env)
    assert p.stdout == "2\n"
    p = run("query", str(root), "-e", "rule:cloudtrail-*", "--format", "jsonl", env=env)
    assert [json.loads(x)["eventName"] for x in p.stdout.splitlines()] == ["StopLogging"]
    p = run("query", str(root), "-e", 'rule:""', "--format", "count", env=env)
    assert p.stdout == "1\n"
