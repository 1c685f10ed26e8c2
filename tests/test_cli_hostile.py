"""Hostile log content through every CLI output, run as a real process over a real trail.

Every format (table, jsonl, csv, count, stats, stats --json, error messages, and each of
them while following) goes through ONE check, `assert_inert`: nothing on stdout or stderr
that a terminal could act on. The data carries terminal controls (title, clear screen,
OSC 52 clipboard, 8-bit CSI), bidi and invisible characters, line separators, lone
surrogates and invalid UTF-8, in values, keys and file names, and spreadsheet formulas.
The machine formats must still give the exact values back.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import orjson
import pytest

from tests.core.test_sanitize import _rule
from tests.trailgen import event, trail_path, write_records

TITLE = "\x1b]0;PWNED\x07"  # sets the terminal title
CLEAR = "\x1b[2J"  # clears the screen
OSC52 = "\x1b]52;c;cHduZWQ=\x07"  # writes the clipboard
CSI8 = "\x9b31m"  # an 8-bit CSI
BIDI, LSEP, TAG, ZW = "\u202e", "\u2028", "\U000e0041", "\u200b"
FORMULA = '=HYPERLINK("http://x","y")'

# The three bytes of an 8-bit CSI, an ESC and a BEL, not UTF-8: a file name on disk.
BAD_NAME = b"bad\xff\x9b\x1b]0;T\x07.json.gz"


def hostile_event(name: str, time_: str = "2026-11-20T10:00:00Z") -> dict:
    return event(
        name + CLEAR + BIDI,
        time_,
        source="s3.amazonaws.com" + TAG,
        ip="203.0.113.9" + BIDI,
        region="us-east-1" + CSI8,
        identity={
            "type": "IAMUser" + ZW,
            "arn": "arn:aws:iam::111122223333:user/" + BIDI + "eve",
            "accountId": "111122223333",
            "accessKeyId": "AKIA" + LSEP,
            "userName": "eve" + "\x7f",
        },
        error=CLEAR,
        userAgent=TITLE,
        errorMessage=OSC52 + LSEP,
        requestParameters={
            "key" + BIDI + CSI8: "value\x7f" + TAG,
            ZW + "k": [TITLE, "\x85", "\x00"],
        },
    )


def formula_event() -> dict:
    return event("-2+3", "2026-11-20T10:01:00Z", userAgent=FORMULA, error="@SUM(1)")


def lone_surrogate_event() -> dict:
    return event("Lone\ud800", "2026-11-20T10:02:00Z", userAgent="ua\udfff" + BIDI)


def day_dir(root: Path) -> Path:
    return trail_path(root).parent


def build_trail(root: Path) -> dict[str, dict]:
    """Write the hostile trail; returns the records by eventName, as written."""
    recs = {}
    h = hostile_event("Get")
    f = formula_event()
    write_records(trail_path(root), [h, f])
    recs[h["eventName"]] = h
    recs[f["eventName"]] = f
    # Pretty-printed, so the export is re-serialised (raw bidi and C1 in the file).
    pretty = hostile_event("Pretty", "2026-11-20T10:03:00Z")
    path = trail_path(root, suffix="p" * 16)
    path.write_bytes(
        gzip.compress(
            json.dumps({"Records": [pretty]}, indent=2, ensure_ascii=False).encode(), mtime=0
        )
    )
    recs[pretty["eventName"]] = pretty
    # A lone surrogate escape: read by the lenient decoder, kept exactly.
    lone = lone_surrogate_event()
    path = trail_path(root, suffix="l" * 16)
    path.write_bytes(gzip.compress(json.dumps({"Records": [lone]}).encode(), mtime=0))
    recs[lone["eventName"]] = lone
    # Invalid UTF-8 inside a string (the lenient decoder replaces it).
    bad = event("BadBytes", "2026-11-20T10:04:00Z", userAgent="INVALID")
    data = orjson.dumps({"Records": [bad]}).replace(b"INVALID", b"ua\xff\x9b[31m")
    trail_path(root, suffix="u" * 16).write_bytes(gzip.compress(data, mtime=0))
    # Hostile file names: one loaded, one skipped (not UTF-8 either), one ignored.
    named = event("Named", "2026-11-20T10:05:00Z")
    write_records(day_dir(root) / f"named{TITLE}{BIDI}.json.gz", [named])
    recs["Named"] = named
    with open(os.fsencode(day_dir(root)) + b"/" + BAD_NAME, "wb") as fh:
        fh.write(b"\x1f\x8b garbage")
    (day_dir(root) / f"sync{CLEAR}.json.gz.1a2b3c4d").write_bytes(b"")
    return recs


def assert_inert(data: bytes, what: str) -> str:
    """THE check: the bytes are UTF-8 (a stray 0x9b is a CSI on an 8-bit terminal) and
    hold no character a terminal acts on: no C0 or C1 control, DEL, bidi or invisible
    character, line or paragraph separator, surrogate. Line ends are the one exception."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        near = data[max(0, e.start - 20) : e.end + 20]
        raise AssertionError(f"{what}: not UTF-8 at byte {e.start}: {near!r}") from None
    bad = sorted({f"U+{ord(c):04X}" for c in text if c != "\n" and _rule(ord(c))})
    assert not bad, f"{what}: raw {', '.join(bad)} reach the terminal"
    return text


@pytest.fixture(scope="module")
def trail(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    return root, build_trail(root)


def tui(*args: str, rc: int = 0) -> tuple[str, str]:
    p = subprocess.run([sys.executable, "-m", "tui", *args], capture_output=True, timeout=120)
    out = assert_inert(p.stdout, f"stdout of {args}")
    err = assert_inert(p.stderr, f"stderr of {args}")
    assert p.returncode == rc, (p.returncode, err[-2000:])
    return out, err


OUTPUTS = {
    "table": ["query", "{root}"],
    "jsonl": ["query", "{root}", "--format", "jsonl"],
    "csv": ["query", "{root}", "--format", "csv"],
    "count": ["query", "{root}", "--format", "count"],
    "stats": ["stats", "{root}", "--top", "100"],
    "stats --json": ["stats", "{root}", "--json"],
}
ERRORS = {
    "missing path": ["query", "{root}", "{root}/" + TITLE + BIDI],
    "bad filter": ["query", "{root}", "-e", "ua:" + CLEAR + BIDI + "("],
    "unknown value": ["query", "{root}", "-e", "cred:" + OSC52],
    "unknown option": ["query", "{root}", "--" + TITLE],
}


@pytest.mark.parametrize("name", [*OUTPUTS, *ERRORS])
def test_no_output_can_act_on_the_terminal(trail, name):
    root, _ = trail
    args = [a.replace("{root}", str(root)) for a in {**OUTPUTS, **ERRORS}[name]]
    out, err = tui(*args, rc=2 if name in ERRORS else 0)
    if name in ERRORS:
        assert "\\x1b" in err  # the hostile part is shown, escaped
    else:
        assert out


def test_jsonl_gives_back_every_value_exactly(trail):
    root, recs = trail
    out, _ = tui("query", str(root), "--format", "jsonl")
    got = [json.loads(line) for line in out.splitlines()]
    by_name = {g["eventName"]: g for g in got}
    for name, rec in recs.items():
        assert by_name[name] == rec, name
    assert by_name["Lone\ud800"]["userAgent"] == "ua\udfff" + BIDI
    # Invalid UTF-8 is what the lenient decoder made of it (and the file says so).
    assert by_name["BadBytes"]["userAgent"] == "ua\ufffd\ufffd[31m"
    assert len(got) == len(recs) + 1


def test_csv_shows_escapes_and_defuses_formulas_unless_raw(trail):
    root, _ = trail
    out, _ = tui("query", str(root), "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    by_ua = {r["ua"]: r for r in rows}
    assert "\\x1b]0;PWNED\\x07" in by_ua and by_ua["\\x1b]0;PWNED\\x07"]["error"] == "\\x1b[2J"
    f = by_ua["'" + FORMULA]
    assert f["event"] == "'-2+3" and f["error"] == "'@SUM(1)"
    assert "ua\\udfff\\u202e" in by_ua  # a lone surrogate, shown as the explorer does
    raw = subprocess.run(
        [sys.executable, "-m", "tui", "query", str(root), "--format", "csv", "--raw"],
        capture_output=True,
        timeout=120,
        check=True,
    ).stdout
    raw_rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8", "backslashreplace"))))
    assert {r["ua"] for r in raw_rows} >= {TITLE, FORMULA}


def test_stats_json_holds_every_value_and_path(trail):
    root, recs = trail
    out, _ = tui("stats", str(root), "--json")
    d = json.loads(out)
    assert d["by_ua"][TITLE] == 2 and d["by_ua"]["ua\udfff" + BIDI] == 1
    assert d["by_event"]["Lone\ud800"] == 1 and d["by_region"]["us-east-1" + CSI8] == 2
    # The file with the undecodable name, by its exact bytes; the others listed are the
    # files read leniently (lone surrogates, invalid UTF-8), each saying so.
    bad = os.fsencode(day_dir(root)) + b"/" + BAD_NAME
    skipped = {os.fsencode(s["path"]): s["reason"] for s in d["skipped"]}
    assert bad in skipped
    assert all("read leniently" in r for p, r in skipped.items() if p != bad)
    assert any(CLEAR in i["path"] for i in d["ignored"])


class Drain:
    """Everything a child writes to one pipe, read in a thread."""

    def __init__(self, stream) -> None:
        self.data = b""
        self._t = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._t.start()

    def _read(self, stream) -> None:
        while chunk := stream.read1(65536):
            self.data += chunk

    def wait_for(self, needle: bytes, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while needle not in self.data:
            assert time.monotonic() < deadline, f"no {needle!r} in {self.data[-500:]!r}"
            time.sleep(0.05)

    def join(self) -> bytes:
        self._t.join(10)
        return self.data


@pytest.mark.timeout(120)
@pytest.mark.parametrize("fmt", ["jsonl", "csv", "table", "count"])
def test_following_keeps_every_output_inert(tmp_path, fmt):
    """New hostile events while following, and a hostile file name in the deletion
    notice on stderr."""
    root = tmp_path
    build_trail(root)
    p = subprocess.Popen(
        [sys.executable, "-m", "tui", "query", "--follow", str(root), "--format", fmt],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = Drain(p.stdout), Drain(p.stderr)
    try:
        out.wait_for(b"\n")  # the initial output is there: the follower is watching
        time.sleep(0.5)
        path = day_dir(root) / f"arrived{OSC52}{BIDI}.json.gz"
        tmp = path.with_name(path.name + ".1a2b3c4d")
        write_records(tmp, [hostile_event("Arrived", "2026-11-20T11:00:00Z")])
        os.rename(tmp, path)
        out.wait_for(b"6\n7\n" if fmt == "count" else b"Arrived")  # count: 6 loaded, then 7
        os.remove(day_dir(root) / f"named{TITLE}{BIDI}.json.gz")
        err.wait_for(b"file deleted")
    finally:
        p.terminate()
        p.wait(10)
    assert_inert(out.join(), f"follow {fmt} stdout")
    text = assert_inert(err.join(), f"follow {fmt} stderr")
    assert "named\\x1b]0;PWNED\\x07\\u202e.json.gz" in text


def test_cache_info_json_is_inert_with_a_hostile_cache_path(tmp_path):
    """The cache's folder comes from XDG_CACHE_HOME, which may name any folder: its JSON
    spelling must stay inert (DEL included) and read back as the exact path."""
    home = tmp_path / f"cache{TITLE}\x7f{BIDI}"
    env = {**os.environ, "XDG_CACHE_HOME": str(home)}
    p = subprocess.run(
        [sys.executable, "-m", "tui", "cache", "info", "--json"],
        capture_output=True,
        timeout=120,
        env=env,
    )
    assert p.returncode == 0, p.stderr[-2000:]
    info = json.loads(assert_inert(p.stdout, "cache info --json"))
    assert info["path"] == os.path.join(str(home), "trailscope", "s3")
