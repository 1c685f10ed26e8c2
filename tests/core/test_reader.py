"""reader.py on real files: every state and shape, hostile input, and the real samples."""

from __future__ import annotations

import gzip
import json
import os
import time
from pathlib import Path

import pytest

from tests.trailgen import REALDATA
from tui.core.discovery import discover
from tui.core.reader import (
    DEFAULT_MAX_BYTES,
    FileState,
    ReadResult,
    decode_bytes,
    read_path,
)


def ev(i: int, **extra) -> dict:
    return {
        "eventVersion": "1.08",
        "eventTime": f"2024-01-02T03:04:{i % 60:02d}Z",
        "eventSource": "s3.amazonaws.com",
        "eventName": f"GetObject{i}",
        "awsRegion": "us-east-1",
        **extra,
    }


def records_doc(n: int = 3) -> bytes:
    return json.dumps({"Records": [ev(i) for i in range(n)]}).encode()


def write(tmp_path: Path, name: str, data: bytes, gz: bool = False) -> Path:
    p = tmp_path / name
    p.write_bytes(gzip.compress(data) if gz else data)
    return p


def load(tmp_path: Path, data: bytes, gz: bool = False, name: str = "f.json", **kw) -> ReadResult:
    r = read_path(write(tmp_path, name + (".gz" if gz else ""), data, gz), **kw)
    # The store's contract: re-decoding the stored raw bytes gives the same records.
    assert decode_bytes(r.raw, **kw).records == r.records
    return r


# --------------------------------------------------------------------------- shapes


def test_gz_records(tmp_path):
    p = write(tmp_path, "a.json.gz", records_doc(3), gz=True)
    r = read_path(p)
    st = os.stat(p)
    assert r.state is FileState.LOADED and r.reason == "" and r.fmt == "records"
    assert [e["eventName"] for e in r.records] == ["GetObject0", "GetObject1", "GetObject2"]
    assert r.raw == p.read_bytes()
    assert (r.size, r.mtime_ns, r.inode, r.dev) == (
        st.st_size,
        st.st_mtime_ns,
        st.st_ino,
        st.st_dev,
    )
    assert r.bad_records == 0 and r.bad_samples == [] and r.lenient == ""


def test_plain_json_records(tmp_path):
    r = load(tmp_path, records_doc(2))
    assert (r.state, r.fmt, len(r.records)) == (FileState.LOADED, "records", 2)


def test_gzip_detected_by_content_not_name(tmp_path):
    gz_named_json = write(tmp_path, "x.json", records_doc(2), gz=True)
    plain_named_gz = write(tmp_path, "y.json.gz", records_doc(2))
    assert len(read_path(gz_named_json).records) == 2
    assert len(read_path(plain_named_gz).records) == 2


def test_multi_member_gzip_and_zero_padding(tmp_path):
    doc = records_doc(4)
    half = len(doc) // 2
    data = gzip.compress(doc[:half]) + gzip.compress(doc[half:]) + b"\0" * 16
    r = read_path(write(tmp_path, "m.json.gz", data))
    assert r.state is FileState.LOADED and len(r.records) == 4 and r.lenient == ""


def test_trailing_garbage_after_gzip_is_noted(tmp_path):
    r = read_path(write(tmp_path, "g.json.gz", gzip.compress(records_doc(1)) + b"junk"))
    assert r.state is FileState.LOADED and "trailing bytes" in r.lenient


def test_lookup_events(tmp_path):
    items = [{"EventId": str(i), "CloudTrailEvent": json.dumps(ev(i))} for i in range(3)]
    items.append({"EventId": "bad", "CloudTrailEvent": "{not json"})
    items.append({"EventId": "nostring"})
    r = load(tmp_path, json.dumps({"Events": items, "NextToken": "x"}).encode())
    assert r.state is FileState.LOADED and r.fmt == "lookup-events"
    assert [e["eventName"] for e in r.records] == ["GetObject0", "GetObject1", "GetObject2"]
    assert r.bad_records == 2
    assert r.bad_samples[0].startswith("record 4: CloudTrailEvent is not valid JSON")
    assert r.bad_samples[1] == "record 5: no CloudTrailEvent string"
    assert r.reason.startswith("2 of 5 records skipped")


def test_lookup_events_bare_array(tmp_path):
    # `aws cloudtrail lookup-events --query Events` prints the list without the wrapper.
    items = [{"EventId": str(i), "CloudTrailEvent": json.dumps(ev(i))} for i in range(2)]
    r = load(tmp_path, json.dumps(items).encode())
    assert (r.state, r.fmt, len(r.records)) == (FileState.LOADED, "lookup-events", 2)


@pytest.mark.parametrize("gz", [False, True])
def test_jsonl_with_bad_and_blank_lines(tmp_path, gz):
    lines = [
        json.dumps(ev(0)),
        "",
        "not json at all",
        "  ",
        json.dumps(ev(1)),
        "[1, 2]",
        json.dumps({"EventId": "e", "CloudTrailEvent": json.dumps(ev(2))}),
    ]
    r = load(tmp_path, "\r\n".join(lines).encode() + b"\n", gz=gz, name="e.jsonl")
    assert r.state is FileState.LOADED and r.fmt == "jsonl"
    assert [e["eventName"] for e in r.records] == ["GetObject0", "GetObject1", "GetObject2"]
    assert r.bad_records == 2
    assert r.bad_samples[0].startswith("line 3: not JSON")
    assert r.bad_samples[1] == "line 6: not a JSON object (list)"


def test_jsonl_last_line_cut_off(tmp_path):
    data = (json.dumps(ev(0)) + "\n" + json.dumps(ev(1))[:-10]).encode()
    r = load(tmp_path, data, name="e.jsonl")
    assert r.state is FileState.LOADED and len(r.records) == 1
    assert len(r.bad_samples) == 1 and r.bad_samples[0].startswith("line 2: cut off")


def test_jsonl_of_non_objects_and_of_garbage(tmp_path):
    assert load(tmp_path, b"1\n2\n", name="a.jsonl").state is FileState.NOT_CLOUDTRAIL
    r = load(tmp_path, b"{oops\n{also bad\n", name="b.jsonl")
    assert r.state is FileState.NOT_JSON
    r = load(tmp_path, b'{"Records": []} trailing', name="c.json")
    assert r.state is FileState.NOT_JSON and "unexpected content" in r.reason


def test_jsonl_of_concatenated_records_documents(tmp_path):
    data = records_doc(2) + b"\n" + records_doc(3) + b"\n"
    r = load(tmp_path, data, name="cat.json")
    assert (r.state, r.fmt, len(r.records)) == (FileState.LOADED, "jsonl", 5)


def test_single_event(tmp_path):
    r = load(tmp_path, json.dumps(ev(7)).encode())
    assert (r.state, r.fmt, r.records) == (FileState.LOADED, "event", [ev(7)])


def test_top_level_array(tmp_path):
    r = load(tmp_path, json.dumps([ev(0), ev(1)]).encode())
    assert (r.state, r.fmt, len(r.records)) == (FileState.LOADED, "records", 2)


@pytest.mark.parametrize("gz", [False, True])
def test_utf8_bom(tmp_path, gz):
    r = load(tmp_path, b"\xef\xbb\xbf" + records_doc(2), gz=gz)
    assert r.state is FileState.LOADED and len(r.records) == 2


def test_utf16_export_is_converted(tmp_path):
    r = load(tmp_path, json.dumps({"Records": [ev(0)]}).encode("utf-16"))
    assert r.state is FileState.LOADED and r.records == [ev(0)]
    assert r.lenient == "UTF-16 text converted"


# --------------------------------------------------------------------------- empty & broken


@pytest.mark.parametrize(
    "data,gz,why",
    [
        (b"", False, "0 bytes"),
        (b"", True, "decompresses to nothing"),
        (b" \n\t\r\n", False, "whitespace"),
        (b"\n\n", True, "whitespace"),
        (b'{"Records": []}', False, "no records"),
        (b'{"Records": []}', True, "no records"),
        (b"[]", False, "no records"),
        (b"\xef\xbb\xbf", False, "whitespace"),
    ],
)
def test_empty(tmp_path, data, gz, why):
    r = load(tmp_path, data, gz=gz)
    assert r.state is FileState.EMPTY and why in r.reason and r.records == []


def test_truncated_gzip(tmp_path):
    full = gzip.compress(records_doc(200))
    cut = full[: len(full) // 2]
    r = read_path(write(tmp_path, "t.json.gz", cut))
    assert r.state is FileState.TRUNCATED and r.records == []
    assert r.reason == f"gzip stream ends early after {len(cut):,} bytes"
    assert r.raw == cut
    # Only the 10-byte header: still a truncated stream, not garbage.
    assert decode_bytes(full[:10]).state is FileState.TRUNCATED


@pytest.mark.parametrize("gz", [False, True])
def test_truncated_json(tmp_path, gz):
    doc = records_doc(50)
    r = load(tmp_path, doc[: len(doc) - 37], gz=gz)
    assert r.state is FileState.TRUNCATED and r.reason.startswith("JSON ends early")
    assert r.records == []


def test_truncated_json_with_invalid_utf8_is_still_truncated(tmp_path):
    r = load(tmp_path, b'{"Records": [{"eventName": "caf\xe9"')
    assert r.state is FileState.TRUNCATED


def test_corrupt_gzip_keeps_the_complete_records_before_the_damage(tmp_path):
    full = bytearray(gzip.compress(records_doc(200)))
    mid = len(full) // 2
    for i in range(mid, mid + 8):
        full[i] ^= 0xFF
    r = read_path(write(tmp_path, "c.json.gz", bytes(full)))
    assert r.state is FileState.DAMAGED and r.reason.startswith("gzip data corrupt (")
    assert "file altered or damaged" in r.reason
    n = len(r.records)
    assert 0 < n < 200 and r.records == [ev(i) for i in range(n)]
    assert f"the {n:,} complete records before the damage kept" in r.reason
    # Nothing decodes at all: not gzip, as before.
    bad_method = b"\x1f\x8b" + b"x" * 40
    r = decode_bytes(bad_method)
    assert r.state is FileState.NOT_JSON and r.reason.startswith("not valid gzip: ")


def test_not_json_text(tmp_path):
    r = load(tmp_path, b"hello, this is a README\n", name="x.json")
    assert r.state is FileState.NOT_JSON and r.reason.startswith("not JSON: ")
    assert load(tmp_path, b"{'Records': []}", name="y.json").state is FileState.NOT_JSON
    assert load(tmp_path, b"\x00\x01\x02binary", name="z.json").state is FileState.NOT_JSON


@pytest.mark.parametrize(
    "doc,why",
    [
        (b'{"foo": 1, "bar": 2}', "a JSON object without Records/Events (keys: foo, bar)"),
        (b'"just a string"', "a JSON string"),
        (b"42", "a JSON number"),
        (b"null", "a JSON null"),
        (b"true", "a JSON boolean"),
        (b'{"Records": {"a": 1}}', "Records is a JSON object, not a list"),
        (b'{"Records": null}', "Records is a JSON null, not a list"),
        (b'{"Events": "x"}', "Events is a JSON string, not a list"),
    ],
)
def test_valid_json_not_cloudtrail(tmp_path, doc, why):
    r = load(tmp_path, doc)
    assert (r.state, r.reason, r.records) == (FileState.NOT_CLOUDTRAIL, why, [])


def test_all_records_bad_is_not_cloudtrail(tmp_path):
    r = load(tmp_path, b'{"Records": [1, "two", null]}')
    assert r.state is FileState.NOT_CLOUDTRAIL and r.bad_records == 3
    assert "record 1: not a JSON object (int)" in r.reason


def test_mixed_good_and_bad_records(tmp_path):
    recs: list = [ev(0), 17, "s", ev(1), None, [1], 2.5, True, ev(2)]
    r = load(tmp_path, json.dumps({"Records": recs}).encode(), gz=True)
    assert r.state is FileState.LOADED
    assert [e["eventName"] for e in r.records] == ["GetObject0", "GetObject1", "GetObject2"]
    assert r.bad_records == 6
    assert r.reason == "6 of 9 records are not JSON objects"
    assert r.bad_samples == [  # capped at 5
        "record 2: not a JSON object (int)",
        "record 3: not a JSON object (str)",
        "record 5: not a JSON object (NoneType)",
        "record 6: not a JSON object (list)",
        "record 7: not a JSON object (float)",
    ]


# --------------------------------------------------------------------------- lenient & hostile


def test_nan_literal(tmp_path):
    r = load(tmp_path, b'{"Records": [{"eventName": "A", "n": NaN, "i": -Infinity}]}')
    assert r.state is FileState.LOADED and r.lenient == "NaN literal"
    assert r.records[0]["n"] != r.records[0]["n"] and r.records[0]["i"] == float("-inf")


def test_invalid_utf8_in_string(tmp_path):
    r = load(tmp_path, b'{"Records": [{"eventName": "caf\xe9 \xff"}]}', gz=True)
    assert r.state is FileState.LOADED and r.lenient == "invalid UTF-8 replaced"
    assert r.records[0]["eventName"] == "caf\ufffd \ufffd"


def test_lone_surrogate_escape(tmp_path):
    r = load(tmp_path, b'{"Records": [{"eventName": "x\\ud800y", "\\udc00k": ["\\udbff"]}]}')
    assert r.state is FileState.LOADED and r.lenient == "lone surrogate escape"
    rec = r.records[0]
    assert rec == {"eventName": "x\ud800y", "\udc00k": ["\udbff"]}  # kept exactly


def test_valid_surrogate_pair_is_not_lenient(tmp_path):
    r = load(tmp_path, b'{"Records": [{"eventName": "\\ud83d\\ude00"}]}')
    assert r.records[0]["eventName"] == "\U0001f600" and r.lenient == ""


def test_big_integer_kept_exact(tmp_path):
    # orjson reads integers beyond 64 bits as floats; the reader re-parses such text
    # with the stdlib so the value stays exact, and says so.
    r = load(
        tmp_path,
        json.dumps({"Records": [{"eventName": "A", "n": 2**70, "m": [-(2**80)]}]}).encode(),
    )
    assert r.state is FileState.LOADED and r.lenient == "integer beyond 64 bits"
    assert r.records[0]["n"] == 2**70 and type(r.records[0]["n"]) is int
    assert r.records[0]["m"] == [-(2**80)]
    # JSON Lines: per line
    lines = json.dumps(ev(0)).encode() + b"\n" + json.dumps(ev(1, n=10**25)).encode() + b"\n"
    r = load(tmp_path, lines, name="b.jsonl")
    assert r.records[1]["n"] == 10**25 and r.lenient == "integer beyond 64 bits"
    # A 20-digit run inside a string alone takes the slow parse but changes nothing.
    r = load(
        tmp_path,
        json.dumps({"Records": [{"eventName": "A", "s": "x:12345678901234567890,"}]}).encode(),
    )
    assert r.records[0]["s"] == "x:12345678901234567890,"
    r = load(tmp_path, b'{"Records": [{"eventName": "A", "n": 1e400}]}')
    assert r.state is FileState.LOADED and r.lenient == "number beyond double range"
    assert r.records[0]["n"] == float("inf")


def test_duplicate_keys_last_wins(tmp_path):
    r = load(tmp_path, b'{"Records": [{"eventName": "first", "eventName": "last"}]}')
    assert r.records == [{"eventName": "last"}]
    # Same rule on the lenient path.
    r = load(tmp_path, b'{"Records": [{"eventName": "first", "eventName": "last", "n": NaN}]}')
    assert r.records[0]["eventName"] == "last" and r.lenient == "NaN literal"


@pytest.mark.parametrize("closed", [False, True])
def test_deep_nesting(tmp_path, closed):
    doc = b"[" * 100_000 + (b"]" * 100_000 if closed else b"")
    t = time.perf_counter()
    r = load(tmp_path, doc)
    assert time.perf_counter() - t < 1.0
    assert r.state is FileState.NOT_JSON and "nesting too deep" in r.reason


def test_deep_nesting_in_jsonl_line(tmp_path):
    data = json.dumps(ev(0)).encode() + b"\n" + b"[" * 5000 + b"]" * 5000 + b"\n"
    r = load(tmp_path, data, name="d.jsonl")
    assert r.state is FileState.LOADED and r.bad_records == 1
    assert "nesting too deep" in r.bad_samples[0]


@pytest.mark.parametrize("bad_utf8", [False, True])
def test_huge_string_field(tmp_path, bad_utf8):
    big = b"A" * 20_000_000 + (b"\xff" if bad_utf8 else b"")
    t = time.perf_counter()
    r = load(tmp_path, b'{"Records": [{"eventName": "x", "blob": "' + big + b'"}]}', gz=True)
    assert time.perf_counter() - t < 2.0
    assert r.state is FileState.LOADED and len(r.records[0]["blob"]) == 20_000_000 + bad_utf8


def test_gzip_bomb(tmp_path):
    body = b'{"Records": [{"eventName": "x", "pad": "' + b"0" * 50_000_000 + b'"}]}'
    bomb = write(tmp_path, "bomb.json.gz", body, gz=True)
    assert bomb.stat().st_size < 200_000
    t = time.perf_counter()
    r = read_path(bomb, max_bytes=1 << 20)
    assert time.perf_counter() - t < 1.0
    assert r.state is FileState.TOO_LARGE and "1 MiB cap" in r.reason and r.records == []


def test_plain_file_over_cap(tmp_path):
    p = write(tmp_path, "big.json", records_doc(100))
    r = read_path(p, max_bytes=100)
    assert r.state is FileState.TOO_LARGE and "over the 100 bytes cap" in r.reason
    assert r.raw == b""  # nothing past the cap is read
    assert decode_bytes(p.read_bytes(), max_bytes=100).state is FileState.TOO_LARGE
    assert read_path(p, max_bytes=p.stat().st_size).state is FileState.LOADED
    assert DEFAULT_MAX_BYTES == 1 << 30


# --------------------------------------------------------------------------- file system


def _denied_file(tmp_path: Path) -> Path | None:
    """A file this process cannot open for reading (root ignores chmod, so fall back to
    /proc/sys files that are write-only even for root)."""
    p = write(tmp_path, "secret.json", records_doc(1))
    p.chmod(0)
    for cand in (p, Path("/proc/sys/vm/drop_caches"), Path("/proc/sys/vm/compact_memory")):
        try:
            os.close(os.open(cand, os.O_RDONLY | os.O_NONBLOCK))
        except PermissionError:
            return cand
        except OSError:
            continue
    return None


def test_permission_denied(tmp_path):
    chmodded = tmp_path / "secret.json"
    target = _denied_file(tmp_path)
    try:
        if os.access(chmodded, os.R_OK):
            # Running as root: chmod 000 does not stop reading; the file loads normally.
            assert read_path(chmodded).state is FileState.LOADED
        if target is None:
            pytest.skip("no path here refuses reading to this user")
        r = read_path(target)
        assert r.state is FileState.PERMISSION_DENIED and r.reason == "permission denied"
        assert r.records == [] and r.raw == b""
    finally:
        chmodded.chmod(0o644)


def test_vanished(tmp_path):
    r = read_path(tmp_path / "gone.json.gz")
    assert r.state is FileState.VANISHED and r.records == []


def test_directory_is_unreadable(tmp_path):
    r = read_path(tmp_path)
    assert r.state is FileState.UNREADABLE and r.reason


def test_fifo_is_unreadable_without_hanging(tmp_path):
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    r = read_path(fifo)
    assert r.state is FileState.UNREADABLE and r.reason == "not a regular file"


def test_file_state_values():
    assert [s.value for s in FileState] == [
        "loaded",
        "empty",
        "truncated",
        "damaged",
        "not-json",
        "not-cloudtrail",
        "too-large",
        "permission-denied",
        "vanished",
        "unreadable",
    ]
    assert FileState("truncated") is FileState.TRUNCATED
    assert f"{FileState.NOT_JSON}" == str(FileState.NOT_JSON) == "not-json"


# --------------------------------------------------------------------------- determinism


DETERMINISM_INPUTS = [
    records_doc(5),
    gzip.compress(records_doc(5)),
    b'{"Records": [{"a": NaN}, 1, {"b": "\\ud800"}]}',
    b'{"Records": [{"a": "\xff"}]}',
    json.dumps({"Events": [{"CloudTrailEvent": json.dumps(ev(1))}, {"x": 1}]}).encode(),
    gzip.compress(b"\n".join(json.dumps(ev(i)).encode() for i in range(4)) + b"\nbad\n"),
    json.dumps(ev(0)).encode(),
    b"[1, {}, 2]",
]


@pytest.mark.parametrize("raw", DETERMINISM_INPUTS)
def test_decode_is_deterministic(tmp_path, raw):
    r = read_path(write(tmp_path, "d.json", raw))
    again = decode_bytes(r.raw)
    assert r.raw == raw
    assert (again.records, again.state, again.reason, again.bad_samples, again.lenient) == (
        r.records,
        r.state,
        r.reason,
        r.bad_samples,
        r.lenient,
    )


# --------------------------------------------------------------------------- real samples


def _independent_count(path: Path) -> int:
    """Good records in one file, counted with the stdlib only."""
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    text = data.decode("utf-8-sig")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError:  # JSON Lines of lookup-events wrappers
        n = 0
        for line in text.splitlines():
            if line.strip():
                obj = json.loads(line)
                inner = obj.get("CloudTrailEvent")
                n += isinstance(json.loads(inner) if inner else obj, dict)
        return n
    return sum(isinstance(r, dict) for r in doc["Records"])


def _sources() -> list[Path]:
    if not REALDATA.is_dir():
        return []
    return sorted(p for p in REALDATA.iterdir() if (p / "manifest.json").is_file())


@pytest.mark.realdata
def test_all_real_samples_load():
    grand_total = expected_total = 0
    for src in _sources():
        d = discover([src])
        assert d.errors == [] and d.digests == [], src
        loaded_in_trail = 0  # events under AWSLogs/ and nonconforming/, as the manifest counts
        jsonl_ids: set[str] = set()
        trail_ids: set[str] = set()
        for f in d.files:
            p = Path(f.path)
            r = read_path(p)
            if p.name == "manifest.json":
                # The dataset's own summary, picked up because it ends in .json.
                assert r.state is FileState.NOT_CLOUDTRAIL, r.reason
                continue
            assert r.state is FileState.LOADED, (f.path, r.state, r.reason)
            assert r.bad_records == 0 and r.lenient == "", f.path
            assert len(r.records) == _independent_count(p), f.path
            assert decode_bytes(r.raw).records == r.records
            grand_total += len(r.records)
            if "lookup-events-jsonl" in p.parts:
                assert r.fmt == "jsonl"
                jsonl_ids |= {e["eventID"] for e in r.records}
            else:
                assert r.fmt == "records"
                loaded_in_trail += len(r.records)
                trail_ids |= {e.get("eventID") for e in r.records}
            if "CloudTrail-Insight" in p.parts:
                assert f.kind == "insight"
        manifest = json.loads((src / "manifest.json").read_text())
        assert loaded_in_trail == manifest["event_count"], src.name
        # The lookup-events copy outside AWSLogs/ repeats events of the trail files.
        assert jsonl_ids <= trail_ids
        expected_total += manifest["event_count"] + len(jsonl_ids)
    assert grand_total == expected_total >= 16_587
