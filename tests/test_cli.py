"""The headless CLI, run as a real process: output formats, JSON keys, exit codes."""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import queue
import subprocess
import sys
import threading
import time

import orjson
import pytest

from tests.trailgen import event, trail_path, write_records


def run(*args: str, check_rc: int | None = 0, timeout: float = 120) -> subprocess.CompletedProcess:
    p = subprocess.run(
        [sys.executable, "-m", "tui", *args], capture_output=True, text=True, timeout=timeout
    )
    if check_rc is not None:
        assert p.returncode == check_rc, (p.returncode, p.stdout[-2000:], p.stderr[-2000:])
    return p


@pytest.fixture
def trail(tmp_path):
    recs = [
        event("ListBuckets", "2026-11-20T10:00:00Z", source="s3.amazonaws.com", ip="203.0.113.9"),
        event(
            "GetObject",
            "2026-11-20T10:01:00Z",
            source="s3.amazonaws.com",
            ip="203.0.113.9",
            error="AccessDenied",
        ),
        event(
            "DescribeInstances",
            "2026-11-20T10:02:00Z",
            ip="198.51.100.1",
            requestParameters={"n": 1.5, "big": 12345678901234, "s": "line\nbreak"},
        ),
    ]
    write_records(trail_path(tmp_path, when="20261120T1005Z"), recs)
    write_records(trail_path(tmp_path, suffix="b" * 16), [recs[0]])  # a re-delivery
    bad = trail_path(tmp_path, suffix="c" * 16)
    bad.write_bytes(b"\x1f\x8b\x08\x00garbage")
    digest = (
        tmp_path
        / "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/11/20/x_CloudTrail-Digest_y.json.gz"
    )
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
    for key in (
        "by_event",
        "by_account",
        "by_region",
        "by_error",
        "by_type",
        "by_cred",
        "by_key",
        "by_role",
        "by_ua",
    ):
        assert key in d
    assert d["by_error"] == {"": 2, "AccessDenied": 1}


def test_stats_text(trail):
    root, _ = trail
    out = run("stats", str(root)).stdout
    assert "events      3" in out and "duplicates  1" in out
    assert "skipped or partly loaded (1)" in out


def test_query_jsonl_prints_original_events_exactly_in_time_order(trail):
    root, recs = trail
    p = run("query", str(root), "--format", "jsonl")
    lines = p.stdout.splitlines()
    assert [json.loads(x) for x in lines] == recs  # values exact, time order
    one = run("query", str(root), "-e", "has:error", "--format", "jsonl").stdout
    assert json.loads(one)["eventName"] == "GetObject"


def test_query_formats_count_csv_table_and_limit(trail):
    root, _ = trail
    s3 = run("query", str(root), "-e", "service:s3.amazonaws.com", "--format", "count")
    assert s3.stdout == "2\n"
    rows = list(csv.reader(io.StringIO(run("query", str(root), "--format", "csv").stdout)))
    assert rows[0][:3] == ["time", "service", "event"]
    assert [r[2] for r in rows[1:]] == ["ListBuckets", "GetObject", "DescribeInstances"]
    table = run("query", str(root), "-e", "ip:203.0.113.9", "--limit", "1").stdout.splitlines()
    assert len(table) == 2 and "ListBuckets" in table[1]
    assert (
        run("query", str(root), "--filter", '"line\\nbreak" OR zzz', "--format", "count").stdout
        == "0\n"
    )


def test_exit_codes(trail, tmp_path_factory):
    root, _ = trail
    p = run("query", str(root), "-e", "service:(", check_rc=2)
    assert "column" in p.stderr and "^" in p.stderr
    run("query", str(root), "-e", "has:nonsense", check_rc=2)
    empty = tmp_path_factory.mktemp("empty")
    (empty / "junk.json").write_text("not json")
    p = run("stats", str(empty), check_rc=1)
    p = run("query", str(empty), check_rc=1)
    assert "nothing readable" in p.stderr
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
        stdout=subprocess.PIPE,
        stderr=slave,
        timeout=120,
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
    nan.write_bytes(
        gzip.compress(
            b'{"Records":['
            + orjson.dumps(event("N"))[:-1]
            + b',"v":NaN},'
            + orjson.dumps(event("P"))
            + b"]}"
        )
    )
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
    assert d["skipped"] == [
        {
            "path": str(mine / "link"),
            "reason": (
                f"error: symlink to {theirs} not followed: it leads outside the folders given "
                "(--follow-symlinks follows it)"
            ),
        }
    ]
    d = json.loads(run("stats", str(mine), "--json", "--follow-symlinks").stdout)
    assert d["events"] == 2 and d["skipped"] == []
    assert run("query", str(mine), "--format", "count").stdout == "1\n"
    assert run("query", str(mine), "--format", "count", "--follow-symlinks").stdout == "2\n"
    for command in ("explore", "stats", "query"):
        assert "--follow-symlinks" in run(command, "--help").stdout


# ------------------------------------------------------------ a Unix tool
TUI = [sys.executable, "-m", "tui"]


def land(path, records) -> None:
    """Deliver a file the way `aws s3 sync` does: a temp name, then a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".1a2b3c4d")
    tmp.write_bytes(gzip.compress(orjson.dumps({"Records": records}), mtime=0))
    os.rename(tmp, path)


class Lines:
    """Lines of a child's pipe, read in a thread so a test can wait with a timeout."""

    def __init__(self, stream) -> None:
        self.q: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream) -> None:
        for line in stream:
            self.q.put(line)
        self.q.put(None)

    def next(self, timeout: float = 20) -> str | None:
        return self.q.get(timeout=timeout)


def test_a_path_that_does_not_exist_is_an_error_naming_it(trail):
    root, _ = trail
    r = str(root)
    # Each was read before as a filter or dropped for a partial answer, with exit 0.
    p = run("query", r, "typo_dir", check_rc=2)
    assert p.stdout == "" and "no such file or directory: typo_dir" in p.stderr
    p = run("query", r, "service:s3*", "other_dir", check_rc=2)
    assert (
        "no such file or directory: 'service:s3*' (a filter goes after -e: -e 'service:s3*')"
    ) in p.stderr
    assert "no such file or directory: other_dir" in p.stderr
    p = run("query", r, "nonexist", "-e", "service:s3*", "--format", "count", check_rc=2)
    assert p.stdout == "" and "no such file or directory: nonexist" in p.stderr
    p = run("stats", r, "typo_dir", "--json", check_rc=2)
    assert p.stdout == "" and "typo_dir" in p.stderr
    # The explorer checks before it takes the terminal.
    p = run(r, "typo_dir", check_rc=2, timeout=30)
    assert "no such file or directory: typo_dir" in p.stderr
    assert run("query", r, r, "--format", "count").stdout == "3\n"  # a path twice: once


def test_the_filter_is_given_with_e_and_may_start_with_a_dash(trail):
    root, _ = trail
    r = str(root)

    def count(*args: str) -> str:
        return run("query", *args, "--format", "count").stdout

    assert count(r, "-e", "-service:s3.amazonaws.com") == "1\n"
    assert count("-e", "-service:s3.amazonaws.com", r) == "1\n"
    assert count(r, "--filter", "-service:s3.amazonaws.com") == "1\n"
    assert count(r, "--filter=-service:s3.amazonaws.com") == "1\n"
    assert count(r, "-f", 'service:s3* -error:""') == "1\n"
    p = run("query", r, "-e", "a", "-e", "b", check_rc=2)
    assert "give the filter once" in p.stderr
    p = run("query", r, "-e", check_rc=2)
    assert "expected one argument" in p.stderr


def test_explorer_arguments_take_the_same_filter_option():
    from tui.cli import parse_args

    a = parse_args(["-e", "-error:x", "dir1", "dir2"])
    assert (a.command, a.paths, a.filter) == ("explore", ["dir1", "dir2"], "-error:x")
    a = parse_args(["dir1", "--filter", "-x", "--no-follow"])
    assert (a.command, a.paths, a.filter, a.no_follow) == ("explore", ["dir1"], "-x", True)
    a = parse_args(["query", "d", "--format", "count", "--", "-odd-dir"])
    assert (a.paths, a.filter, a.fmt) == (["d", "-odd-dir"], "", "count")


def test_usage_line_says_what_query_does():
    out = run("query", "--help").stdout
    usage = out.split("\n\n")[0]
    assert usage.startswith("usage: trailscope query [-h] [-e FILTER]")
    assert usage.rstrip().endswith("PATH [PATH ...]") and "[FILTER]" not in usage
    assert "-e FILTER, -f FILTER, --filter FILTER" in out and "-e '-error:\"\"'" in out


@pytest.mark.parametrize(
    "args",
    [
        ["stats"],
        ["stats", "--json"],
        ["query"],
        ["query", "--format", "jsonl"],
        ["query", "--format", "csv"],
        ["query", "--format", "count"],
        ["query", "--follow", "--format", "jsonl"],
    ],
    ids=" ".join,
)
def test_a_closed_stdout_ends_every_command_quietly(trail, args):
    # A guard: these already ended quietly. Following with files arriving is below.
    root, _ = trail
    p = subprocess.Popen(
        [*TUI, *args[:1], str(root), *args[1:]], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    p.stdout.close()  # the reader is gone before the first byte is written
    err = p.stderr.read()
    assert p.wait(60) == 0 and err == b""


@pytest.mark.timeout(90)
def test_follow_into_head_exits_once_head_has_its_lines(trail):
    """`trailscope query --follow ... | head -2` with files arriving: the follower ends
    at its first write after head is gone, with nothing on stderr."""
    root, _ = trail
    follower = subprocess.Popen(
        [*TUI, "query", "--follow", str(root), "--format", "jsonl"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    head = subprocess.Popen(["head", "-n", "2"], stdin=follower.stdout, stdout=subprocess.PIPE)
    follower.stdout.close()  # head holds the only read end
    head_done = None
    try:
        deadline = time.monotonic() + 45
        i = 0
        while follower.poll() is None and time.monotonic() < deadline:
            land(trail_path(root, suffix=f"{i:016d}"), [event(f"New{i}", "2026-11-20T11:00:00Z")])
            i += 1
            time.sleep(0.25)
            if head_done is None and head.poll() is not None:
                head_done = time.monotonic()
        exited = time.monotonic()
    finally:
        if follower.poll() is None:
            follower.kill()
        follower.wait(10)
    lines = head.stdout.read().splitlines()
    assert [json.loads(x)["eventName"] for x in lines] == ["ListBuckets", "GetObject"]
    assert head_done is not None
    assert follower.returncode == 0, "the follower kept running after head exited"
    assert exited - head_done < 10
    assert follower.stderr.read() == b""


@pytest.mark.timeout(90)
def test_follow_count_prints_a_running_total(trail):
    root, _ = trail
    p = subprocess.Popen(
        [
            *TUI,
            "query",
            "--follow",
            str(root),
            "-e",
            "service:s3.amazonaws.com",
            "--format",
            "count",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out = Lines(p.stdout)
    try:
        assert out.next() == "2\n"  # the total so far
        land(
            trail_path(root, suffix="n" * 16),
            [
                event("PutObject", "2026-11-20T11:00:00Z", source="s3.amazonaws.com"),
                event("Other", "2026-11-20T11:00:01Z"),
                event("GetObject", "2026-11-20T11:00:02Z", source="s3.amazonaws.com"),
            ],
        )
        assert out.next() == "4\n"  # a new total, not the events
    finally:
        p.terminate()
        p.wait(10)


def test_follow_with_a_limit_already_reached_ends(trail):
    root, _ = trail
    p = run("query", "--follow", str(root), "--limit", "2", "--format", "count", timeout=60)
    assert p.stdout == "2\n"


# ------------------------------------------------------------- the C scan, said aloud
def _without_c_scan(*args: str) -> subprocess.CompletedProcess:
    """`trailscope ARGS` in a process where the C scan cannot be imported, as on a
    machine that installed without a compiler."""
    code = (
        "import sys; sys.modules['tui.core._scan'] = None\n"
        "from tui.cli import main; sys.exit(main(sys.argv[1:]))"
    )
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120
    )


def test_version_says_whether_the_c_scan_runs():
    from tui.core.batch import native_available

    out = run("--version").stdout
    assert out.startswith("trailscope ")
    assert ("C scan: active" if native_available() else "C scan: not built") in out
    off = subprocess.run(
        [sys.executable, "-m", "tui", "--version"],
        capture_output=True,
        text=True,
        env={**os.environ, "TRAILSCOPE_NATIVE": "0"},
    )
    assert "C scan: off (TRAILSCOPE_NATIVE=0)" in off.stdout
    assert "C scan: not built" in _without_c_scan("--version").stdout


def test_loading_in_python_is_said_once_on_stderr(trail):
    root, _ = trail
    p = _without_c_scan("query", str(root), "--format", "count")
    assert p.returncode == 0
    notes = [ln for ln in p.stderr.splitlines() if "C scan" in ln]
    assert notes == [
        "trailscope: the C scan is not built: loading runs in Python, about half "
        "as fast (installing with a C compiler and the Python headers builds it)"
    ]
    assert p.stdout.strip().isdigit()
    # Not for a command that loads nothing, nor when the user turned the scan off.
    assert "C scan" not in _without_c_scan("--help").stderr
    off = subprocess.run(
        [sys.executable, "-m", "tui", "query", str(root), "--format", "count"],
        capture_output=True,
        text=True,
        env={**os.environ, "TRAILSCOPE_NATIVE": "0"},
    )
    assert "C scan" not in off.stderr
