"""The case on the command line, run as real processes: `report`, and `query` with
`--case` and `--saved` (marks made through the engine, read back by the CLI)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.trailgen import event, trail_path, write_records
from tui.core.annotations import Annotations
from tui.core.case import default_case_path, open_case_for
from tui.core.loader import load


@pytest.fixture
def env(tmp_path, monkeypatch):
    """A private data dir, for this process (which makes the cases) and the CLI's."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    return {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data")}


def run(env, *args: str, rc: int = 0) -> subprocess.CompletedProcess:
    p = subprocess.run(
        [sys.executable, "-m", "tui", *args], capture_output=True, text=True, timeout=120, env=env
    )
    assert p.returncode == rc, (p.returncode, p.stdout[-2000:], p.stderr[-2000:])
    return p


@pytest.fixture
def trail(tmp_path, env):
    root = tmp_path / "trail"
    recs = [
        event("ListBuckets", "2026-11-20T10:00:00Z", source="s3.amazonaws.com", event_id="e1"),
        event(
            "GetObject",
            "2026-11-20T10:01:00Z",
            source="s3.amazonaws.com",
            event_id="e2",
            error="AccessDenied",
            ip="203.0.113.9",
        ),
        event("RunInstances", "2026-11-20T10:02:00Z", event_id="e3", ip="198.51.100.1"),
        event(
            "CreateUser",
            "2026-11-20T10:03:00Z",
            source="iam.amazonaws.com",
            event_id="e4",
            ip="\x1b[2J|*203.0.113.66",
        ),
    ]
    write_records(trail_path(root), recs)
    return root, recs


def annotate(paths, case_path=None):
    """Marks and notes made the way the explorer makes them; returns the case path."""
    store = load(paths)
    with open_case_for(paths, case_path) as case:
        ann = Annotations(case, store)
        rows = {store.value(int(r), "event"): int(r) for r in store.ordered()}
        ann.mark(rows["CreateUser"], "suspicious", found_with="service:iam*")
        ann.mark(rows["GetObject"], "ioc", found_with="has:error")
        ann.set_note(rows["GetObject"], "denied | *twice*\nsee ticket #12")
        ann.set_note(rows["RunInstances"], "unrelated")
        case.save_filter("s3 errors", "service:s3* has:error")
        case.save_filter("all s3", "service:s3*")
        return case.path


def test_query_reads_marks_from_the_default_case_and_from_case(trail, env, tmp_path):
    root, _ = trail
    p = run(env, "query", str(root), "-e", "has:mark", "--format", "count")
    assert p.stdout == "0\n" and "no case for these paths" in p.stderr
    default = annotate([root])
    assert default == default_case_path([root])
    p = run(env, "query", str(root), "-e", "has:mark", "--format", "jsonl")
    got = [json.loads(x)["eventName"] for x in p.stdout.splitlines()]
    assert got == ["GetObject", "CreateUser"]
    assert (
        run(env, "query", str(root), "-e", "mark:ioc OR has:note", "--format", "count").stdout
        == "2\n"
    )
    # An explicit case elsewhere, and the default one moved there.
    other = tmp_path / "elsewhere" / "case.sqlite"
    other.parent.mkdir()
    os.replace(default, other)
    assert run(env, "query", str(root), "-e", "has:mark", "--format", "count").stdout == "0\n"
    p = run(env, "query", str(root), "-e", "mark:sus*", "--case", str(other), "--format", "count")
    assert p.stdout == "1\n"


def test_query_saved_filters(trail, env):
    root, _ = trail
    p = run(env, "query", str(root), "--saved", "s3 errors", rc=2)
    assert "--saved needs a case" in p.stderr and str(default_case_path([root])) in p.stderr
    annotate([root])
    p = run(env, "query", str(root), "--saved", "s3 errors", "--format", "jsonl")
    assert [json.loads(x)["eventName"] for x in p.stdout.splitlines()] == ["GetObject"]
    # A filter given too narrows the saved one.
    p = run(
        env, "query", str(root), "--filter=-has:error", "--saved", "All S3", "--format", "jsonl"
    )
    assert [json.loads(x)["eventName"] for x in p.stdout.splitlines()] == ["ListBuckets"]
    p = run(env, "query", str(root), "--saved", "nope", rc=2)
    assert "no saved filter 'nope'" in p.stderr and "all s3, s3 errors" in p.stderr


def test_report_markdown_and_jsonl(trail, env, tmp_path):
    root, recs = trail
    case = annotate([root])
    md = run(env, "report", "--case", str(case)).stdout
    assert md.startswith("# trailscope case report")
    assert "| # | Time (UTC) | Event | Principal | Source IP | Marks |" in md
    assert "`\\x1b[2J\\|*203.0.113.66`" in md  # in the table: escaped, inert
    assert "> denied \\| \\*twice\\*" in md and "> see ticket \\#12" in md
    assert "- Found with: `service:iam*`" in md
    assert "In the loaded trail" not in md  # no trail given: from the case alone
    assert "\x1b" not in md
    lines = run(env, "report", "--case", str(case), "--format", "jsonl").stdout.splitlines()
    got = [json.loads(x) for x in lines]
    assert [x["event"] for x in got] == ["GetObject", "RunInstances", "CreateUser"]
    assert got[2]["ip"] == "\x1b[2J|*203.0.113.66" and "\\u001b" in lines[2]
    assert got[0]["note"]["text"] == "denied | *twice*\nsee ticket #12"
    assert got[0]["record"] == recs[1]
    # With the trail: the default case, each event checked against it.
    md = run(env, "report", str(root)).stdout
    assert md.count("- In the loaded trail: present") == 3


def test_report_and_case_errors(trail, env, tmp_path):
    root, _ = trail
    p = run(env, "report", rc=2)
    assert "give --case PATH" in p.stderr
    p = run(env, "report", str(root), rc=2)
    assert "no case for these paths" in p.stderr
    junk = tmp_path / "junk.sqlite"
    junk.write_text("not a case")
    p = run(env, "report", "--case", str(junk), rc=1)
    assert "not a usable case file" in p.stderr
    p = run(env, "query", str(root), "--case", str(junk), rc=1)
    p = run(env, "query", str(root), "--case", str(tmp_path / "none.sqlite"), rc=2)
    assert "no such case file" in p.stderr
    inside = root / "case.sqlite"
    p = run(env, "query", str(root), "-e", "has:mark", "--case", str(inside), rc=2)
    assert "inside the trail" in p.stderr and not inside.exists()
    p = run(env, "report", str(root), "--case", str(inside), rc=2)
    assert "evidence" in p.stderr and not inside.exists()
    empty = tmp_path / "empty-trail"
    empty.mkdir()
    case = annotate([root], tmp_path / "c.sqlite")
    p = run(env, "report", str(empty), "--case", str(case), rc=1)
    assert "nothing readable" in p.stderr
