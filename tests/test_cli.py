"""The headless CLI, run as a real process: output formats, JSON keys, exit codes."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import pytest

from tests.trailgen import event, trail_path, write_records


def run(*args: str, check_rc: int | None = 0) -> subprocess.CompletedProcess:
    p = subprocess.run(
        [sys.executable, "-m", "tui", *args], capture_output=True, text=True, timeout=120
    )
    if check_rc is not None:
        assert p.returncode == check_rc, (p.returncode, p.stdout[-2000:], p.stderr[-2000:])
    return p


@pytest.fixture
def trail(tmp_path):
    recs = [
        event("ListBuckets", "2026-11-20T10:00:00Z", source="s3.amazonaws.com", ip="203.0.113.9"),
        event("GetObject", "2026-11-20T10:01:00Z", source="s3.amazonaws.com", ip="203.0.113.9",
              error="AccessDenied"),
        event("DescribeInstances", "2026-11-20T10:02:00Z", ip="198.51.100.1",
              requestParameters={"n": 1.5, "big": 12345678901234, "s": "line\nbreak"}),
    ]
    write_records(trail_path(tmp_path, when="20261120T1005Z"), recs)
    write_records(trail_path(tmp_path, suffix="b" * 16), [recs[0]])  # a re-delivery
    bad = trail_path(tmp_path, suffix="c" * 16)
    bad.write_bytes(b"\x1f\x8b\x08\x00garbage")
    digest = tmp_path / "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/11/20/x_CloudTrail-Digest_y.json.gz"
    digest.parent.mkdir(parents=True)
    digest.write_bytes(b"{}")
    (trail_path(tmp_path).parent / "inflight.json.gz.1a2b3c4d").write_bytes(b"")
    return tmp_path, recs


def test_stats_json_has_the_documented_keys(trail):
    root, recs = trail
    p = run("stats", str(root), "--json")
    d = json.loads(p.stdout)
    assert d["events"] == 3 and d["duplicates"] == 1
    assert d["files"]["loaded"] == 2 and d["files"]["digest"] == 1 and d["files"]["ignored"] == 1
    assert [s["path"] for s in d["skipped"]] == [str(trail_path(root, suffix="c" * 16))]
    assert "gzip" in d["skipped"][0]["reason"]
    assert d["time_range"] == {"start": "2026-11-20T10:00:00Z", "end": "2026-11-20T10:02:00Z"}
    assert d["by_service"] == {"s3.amazonaws.com": 2, "ec2.amazonaws.com": 1}
    assert d["by_ip"] == {"203.0.113.9": 2, "198.51.100.1": 1}
    assert d["by_principal"] == {"arn:aws:iam::111122223333:user/alice": 3}
    for key in ("by_event", "by_account", "by_region", "by_error", "by_type", "by_cred",
                "by_key", "by_role", "by_ua"):
        assert key in d
    assert d["by_error"] == {"": 2, "AccessDenied": 1}


def test_stats_text(trail):
    root, _ = trail
    out = run("stats", str(root)).stdout
    assert "events      3" in out and "duplicates  1" in out
    assert "skipped or partly loaded (1)" in out


def test_query_jsonl_prints_original_events_exactly_in_time_order(trail):
    root, recs = trail
    p = run("query", str(root), "", "--format", "jsonl")
    lines = p.stdout.splitlines()
    assert [json.loads(x) for x in lines] == recs  # values exact, time order
    one = run("query", str(root), "has:error", "--format", "jsonl").stdout
    assert json.loads(one)["eventName"] == "GetObject"


def test_query_formats_count_csv_table_and_limit(trail):
    root, _ = trail
    assert run("query", str(root), "service:s3.amazonaws.com", "--format", "count").stdout == "2\n"
    rows = list(csv.reader(io.StringIO(run("query", str(root), "--format", "csv").stdout)))
    assert rows[0][:3] == ["time", "service", "event"]
    assert [r[2] for r in rows[1:]] == ["ListBuckets", "GetObject", "DescribeInstances"]
    table = run("query", str(root), "ip:203.0.113.9", "--limit", "1").stdout.splitlines()
    assert len(table) == 2 and "ListBuckets" in table[1]
    assert run("query", str(root), "--filter", '"line\\nbreak" OR zzz', "--format", "count").stdout == "0\n"


def test_exit_codes(trail, tmp_path_factory):
    root, _ = trail
    p = run("query", str(root), "service:(", check_rc=2)
    assert "column" in p.stderr and "^" in p.stderr
    run("query", str(root), "has:nonsense", check_rc=2)
    empty = tmp_path_factory.mktemp("empty")
    (empty / "junk.json").write_text("not json")
    p = run("stats", str(empty), check_rc=1)
    p = run("query", str(empty / "nope"), check_rc=1)
    run("stats", check_rc=2)
    run("--bogus-flag", check_rc=2)


def test_table_output_is_sanitised(tmp_path):
    write_records(trail_path(tmp_path), [event("Evil\x1b[2J\u202e[@click=app.quit]")])
    out = run("query", str(tmp_path)).stdout
    assert "\x1b" not in out and "\u202e" not in out
    assert "Evil\\x1b[2J\\u202e[@click=ap…" in out


def test_jsonl_reports_events_whose_file_changed_and_exports_the_rest(tmp_path):
    """A file changed after loading cannot give back its originals: the export says
    which events are missing (stderr) and still prints every other event."""
    import os

    from tui.cli import write_rows
    from tui.core.loader import load

    a = write_records(trail_path(tmp_path, suffix="a" * 16), [event("A", "2026-11-20T10:00:00Z")])
    write_records(trail_path(tmp_path, suffix="b" * 16), [event("B", "2026-11-20T10:00:01Z")])
    store = load([tmp_path])
    os.remove(a)
    out = io.StringIO()
    write_rows(store, store.ordered(), "jsonl", out)
    assert [json.loads(x)["eventName"] for x in out.getvalue().splitlines()] == ["B"]


def test_progress_goes_to_stderr_only_when_it_is_a_terminal(trail):
    import os
    import pty

    root, _ = trail
    master, slave = pty.openpty()
    p = subprocess.run(
        [sys.executable, "-m", "tui", "stats", str(root), "--json"],
        stdout=subprocess.PIPE, stderr=slave, timeout=120,
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    assert p.returncode == 0 and json.loads(p.stdout)["events"] == 3  # stdout stays clean
    assert b"loading" in b"".join(chunks) and b"files" in b"".join(chunks)
    piped = run("stats", str(root), "--json")
    assert "loading" not in piped.stderr


# ------------------------------------------------------------------ bad input (issue 15)
def test_stats_on_a_deeply_nested_trail_finishes(tmp_path):
    from tests.core.test_bad_input import deep_trail

    deep_trail(tmp_path)  # records nested 985, 1000 and 1021 levels deep
    p = run("stats", str(tmp_path))  # used to die of RecursionError
    assert "events      10" in p.stdout and "RecursionError" not in p.stderr


def test_stats_names_lenient_and_damaged_files_with_counts(tmp_path):
    import gzip

    import orjson

    from tests.core.test_bad_input import gzip_with_crc_of

    nan = trail_path(tmp_path, suffix="nan0000000000000")
    nan.parent.mkdir(parents=True)
    nan.write_bytes(gzip.compress(
        b'{"Records":[' + orjson.dumps(event("N"))[:-1] + b',"v":NaN},'
        + orjson.dumps(event("P")) + b"]}"))
    bom = trail_path(tmp_path, suffix="bom0000000000000")
    bom.write_bytes(gzip.compress(b"\xef\xbb\xbf" + orjson.dumps({"Records": [event("B")]})))
    text = orjson.dumps({"Records": [event("D"), event("E")]})
    damaged = trail_path(tmp_path, suffix="damaged000000000")
    damaged.write_bytes(gzip_with_crc_of(text[:-40] + b"garbage" + text[-33:], text))
    want = {
        str(nan): "loaded 2 records, read leniently: NaN literal (1 flagged has:lenient)",
        str(bom): "loaded 1 record, read leniently: UTF-8 byte-order mark skipped",
        str(damaged): "damaged: gzip CRC mismatch: file altered or damaged; "
                      "the 1 complete record before the damage kept",
    }
    d = json.loads(run("stats", str(tmp_path), "--json").stdout)
    assert d["events"] == 4 and d["files"]["damaged"] == 1
    assert {s["path"]: s["reason"] for s in d["skipped"]} == want
    out = run("stats", str(tmp_path)).stdout
    for path, reason in want.items():
        assert f"  {path}: {reason}\n" in out


def test_follow_symlinks_is_an_option_of_every_command(tmp_path):
    mine = tmp_path / "mine"
    write_records(trail_path(mine), [event("Mine")])
    theirs = tmp_path / "theirs"
    write_records(trail_path(theirs), [event("Theirs")])
    (mine / "link").symlink_to(theirs, target_is_directory=True)
    d = json.loads(run("stats", str(mine), "--json").stdout)
    assert d["events"] == 1
    assert d["skipped"] == [{"path": str(mine / "link"), "reason": (
        f"error: symlink to {theirs} not followed: it leads outside the folders given "
        "(--follow-symlinks follows it)")}]
    d = json.loads(run("stats", str(mine), "--json", "--follow-symlinks").stdout)
    assert d["events"] == 2 and d["skipped"] == []
    assert run("query", str(mine), "--format", "count").stdout == "1\n"
    assert run("query", str(mine), "--format", "count", "--follow-symlinks").stdout == "2\n"
    for command in ("explore", "stats", "query"):
        assert "--follow-symlinks" in run(command, "--help").stdout
