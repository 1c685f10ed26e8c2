"""Bad input: no crash, no loss, the real reason (issue 15). Real files on disk: gzip
written here, trails in the real S3 layout (tests/trailgen.py).

- several gzip members / several documents in one file: every record, on every path
- deep nesting: bounded everywhere, the load goes on, the file or record says why
- symlinks: the walk stays inside the folders named unless asked, never into /proc...
- duplicates decided on content, not bytes
- per-file reasons (lenient reading, gzip damage) reach skipped() with counts
"""

from __future__ import annotations

import contextlib
import gzip
import json
import math
import os
import random
import struct
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import orjson
import pytest

from tests.trailgen import event, trail_path, write_records
from tui.core import batch, deepjson
from tui.core.batch import LENIENT, parse_file
from tui.core.discovery import discover
from tui.core.loader import load
from tui.core.query import parse
from tui.core.reader import FileState, read_path
from tui.core.store import Store
from tui.core.tail import TailTracker


@pytest.fixture(autouse=True)
def restore_native():
    native = batch._native
    yield
    batch._native = native


PATHS = [True, False] if batch.native_available() else [False]


@contextlib.contextmanager
def recursion_room():
    """For the tests' own oracle (stdlib json and ==) on deep values only; the code
    under test always runs with the default limit."""
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(10_000)
    try:
        yield
    finally:
        sys.setrecursionlimit(old)


def gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def doc(recs: list) -> bytes:
    return orjson.dumps({"Records": recs})


def ids(store: Store) -> list[str]:
    return sorted(store.event(r)["eventID"] for r in range(len(store)))


# ----------------------------------------------------------------- several gzip members


def two_member_trail(tmp_path: Path) -> tuple[Path, list[dict]]:
    """`cat a.json.gz b.json.gz > c.json.gz`: each member holds a whole document."""
    a = [event("A1", "2026-11-20T10:00:00Z"), event("A2", "2026-11-20T10:00:01Z")]
    b = [
        event("B1", "2026-11-20T10:00:02Z", userAgent="café 😀"),
        event("B2", "2026-11-20T10:00:03Z"),
    ]
    p = trail_path(tmp_path)
    p.parent.mkdir(parents=True)
    p.write_bytes(gz(doc(a)) + gz(doc(b)))
    return p, a + b


def zcat_jq(path: Path) -> list[dict]:
    """What `zcat FILE | jq -c '.Records[]'` prints, with the stdlib only."""
    text = gzip.decompress(path.read_bytes()).decode()
    dec, pos, out = json.JSONDecoder(), 0, []
    while pos < len(text):
        value, pos = dec.raw_decode(text, pos)
        out += value["Records"]
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return out


@pytest.mark.parametrize("native", PATHS)
def test_two_gzip_members_load_every_record_on_every_path(tmp_path, native):
    p, recs = two_member_trail(tmp_path)
    assert zcat_jq(p) == recs
    batch.use_native(native)
    b = parse_file(str(p))
    assert (b.state, b.n, b.reason) == ("loaded", 4, "")
    assert b.orig_codec == "gzip"  # a fast path: originals are the file's own bytes
    r = read_path(p)  # the general reader
    assert (r.state, r.records) == (FileState.LOADED, recs)
    store = load([tmp_path], jobs=1)
    assert len(store) == 4 and store.skipped() == []
    # The store reads each event back from the file's gzip bytes, every member.
    by_id = {e["eventID"]: e for e in recs}
    for row in range(len(store)):
        ev = store.event(row)
        assert ev == by_id[ev["eventID"]]
        assert orjson.loads(store.original(row)) == ev
        assert orjson.loads(store.canonical(row)) == ev


def test_two_gzip_members_through_the_general_path(tmp_path):
    # One member needs the lenient decoder: the general path reads both documents.
    p = trail_path(tmp_path)
    p.parent.mkdir(parents=True)
    a, b = event("A", event_id="a"), event("B", event_id="b")
    p.write_bytes(gz(doc([a])) + gz(doc([b])[:-3] + b',"n":NaN}]}'))
    store = load([tmp_path], jobs=1)
    assert ids(store) == ["a", "b"]
    nan = store.event([r for r in range(2) if store.event(r)["eventID"] == "b"][0])
    assert math.isnan(nan["n"])
    assert store.files[0].lenient == "NaN literal"


@pytest.mark.parametrize("native", PATHS)
@pytest.mark.parametrize("sep", [b"", b"\n", b"\r\n\t "])
@pytest.mark.parametrize("pretty", [False, True])
def test_concatenated_documents_load_like_zcat_and_jq_read_them(tmp_path, native, sep, pretty):
    docs = [[event(f"E{i}{j}") for j in range(i + 1)] for i in range(3)]
    dump = (lambda d: json.dumps({"Records": d}, indent=2).encode()) if pretty else doc
    data = sep.join(dump(d) for d in docs)
    batch.use_native(native)
    for name, raw in (("plain.json", data), ("one-member.json.gz", gz(data))):
        p = tmp_path / name
        p.write_bytes(raw)
        b = parse_file(str(p))
        assert (b.state, b.n) == ("loaded", 6), (name, b.reason)
        r = read_path(p)
        assert r.records == [e for d in docs for e in d]


def test_document_then_junk_keeps_the_records_and_says_so(tmp_path):
    p = tmp_path / "x.json"
    p.write_bytes(doc([event("A"), event("B")]) + b"<html>oops</html>")
    r = read_path(p)
    assert r.state is FileState.LOADED and len(r.records) == 2 and r.bad_records == 1
    assert "after document 1: the rest is not JSON" in r.reason


# ----------------------------------------------------------------- deep nesting


def deep_record(depth: int, name: str = "Deep", **extra) -> dict:
    value: object = 1
    for _ in range(depth - 1):  # the record itself is one level
        value = [value]
    return event(name, requestParameters=value, **extra)


def deep_trail(tmp_path: Path, depths=(985, 1000, 1021)) -> dict[str, dict]:
    """One file per depth (a deep record between two plain ones), and a plain file."""
    want = {}
    for k, depth in enumerate(depths):
        recs = [event("Before"), deep_record(depth), event("After")]
        text = b'{"Records":[' + b",".join(map(_dumps_deep, recs)) + b"]}"
        p = trail_path(tmp_path, suffix=f"deep{k:012d}")
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(gz(text))
        want.update((e["eventID"], e) for e in recs)
    plain = [event("Plain")]
    write_records(trail_path(tmp_path, suffix="plain00000000000"), plain)
    want.update((e["eventID"], e) for e in plain)
    return want


def _dumps_deep(v: object) -> bytes:
    with recursion_room():
        return json.dumps(v, separators=(",", ":")).encode()


@pytest.mark.parametrize("native", PATHS)
def test_deep_records_load_and_read_back_without_recursion_errors(tmp_path, native):
    want = deep_trail(tmp_path)
    batch.use_native(native)
    store = load([tmp_path], jobs=1)  # used to raise RecursionError
    assert len(store) == len(want) == 10 and store.skipped() == []
    for row in range(len(store)):
        ev = store.event(row)
        canon = store.canonical(row)
        with recursion_room():
            assert ev == want[ev["eventID"]]
            assert json.loads(canon) == ev


def test_deep_records_in_parser_processes(tmp_path, monkeypatch):
    want = deep_trail(tmp_path)
    monkeypatch.setattr("tui.core.loader.PARALLEL_MIN_BYTES", 0)
    store = load([tmp_path], jobs=2)
    assert len(store) == len(want)


@pytest.mark.parametrize("where", ["lenient", "pretty"])
def test_deep_records_on_the_exact_decoder_paths(tmp_path, where):
    # NaN makes the file lenient (stdlib decoder and encoder); pretty-printing makes
    # canonical() re-encode. Both used to recurse past the limit.
    rec = deep_record(1000, event_id="deep")
    text = _dumps_deep(rec)
    if where == "lenient":
        text = text[:-1] + b',"n":NaN}'
        data = b'{"Records":[' + text + b"]}"
    else:
        with recursion_room():
            data = json.dumps({"Records": [rec]}, indent=1).encode()
    write = trail_path(tmp_path)
    write.parent.mkdir(parents=True)
    write.write_bytes(gz(data))
    store = load([tmp_path], jobs=1)
    assert len(store) == 1
    ev = store.event(0)
    canon = store.canonical(0)
    assert b"\n" not in canon
    with recursion_room():
        assert ev["requestParameters"] == rec["requestParameters"]
        assert json.loads(canon)["requestParameters"] == rec["requestParameters"]
    if where == "lenient":
        assert math.isnan(ev["n"]) and store.lenient_reasons(0) == ["NaN literal"]


def test_a_record_deeper_than_any_reader_goes_costs_only_itself(tmp_path):
    recs = [event("Before", event_id="before"), deep_record(5000), event("After", event_id="after")]
    p = trail_path(tmp_path)
    p.parent.mkdir(parents=True)
    p.write_bytes(gz(b'{"Records":[' + b",".join(map(_dumps_deep, recs)) + b"]}"))
    t = time.perf_counter()
    r = read_path(p)
    assert time.perf_counter() - t < 2.0
    assert r.state is FileState.LOADED
    assert [e["eventID"] for e in r.records] == ["before", "after"]
    why = "record 2: nesting too deep (over 1,024 levels)"
    assert r.bad_samples == [why] and r.reason == f"1 of 3 records skipped; first: {why}"
    store = load([tmp_path], jobs=1)
    assert sorted(store.event(r)["eventID"] for r in range(2)) == ["after", "before"]
    assert store.skipped() == [(str(p), f"loaded: 1 of 3 records skipped; first: {why}")]


def test_deep_duplicates_are_compared_without_recursion_errors(tmp_path):
    rec = deep_record(1000, event_id="same")
    with recursion_room():
        pretty = json.dumps({"Records": [rec]}, indent=1).encode()
    write_one = trail_path(tmp_path, suffix="a" * 16)
    write_one.parent.mkdir(parents=True)
    write_one.write_bytes(gz(b'{"Records":[' + _dumps_deep(rec) + b"]}"))
    trail_path(tmp_path, suffix="b" * 16).write_bytes(gz(pretty))
    store = load([tmp_path], jobs=1)
    assert (len(store), store.duplicates, store.conflicts) == (1, 1, 0)


@pytest.mark.parametrize("native", PATHS)
def test_an_indexed_value_too_deep_to_index_costs_only_its_record(tmp_path, native):
    # An indexed field holding a 1,000-level container: orjson will not write it and
    # `repr` runs out of recursion, so the record cannot be indexed; the others can.
    deep: object = "x"
    for _ in range(1000):
        deep = [deep]
    recs = [
        event("Before", event_id="b"),
        event(deep, event_id="deep"),
        event("After", event_id="a"),
    ]
    p = trail_path(tmp_path)
    p.parent.mkdir(parents=True)
    p.write_bytes(gz(b'{"Records":[' + b",".join(map(_dumps_deep, recs)) + b"]}"))
    batch.use_native(native)
    b = parse_file(str(p))
    assert (b.state, b.n, b.bad_records) == ("loaded", 2, 1)
    assert b.bad_samples == ["record 2: a value nested too deeply to index"]
    assert b.reason == "1 of 3 records skipped: a value nested too deeply to index"
    store = load([tmp_path], jobs=1)
    assert ids(store) == ["a", "b"]


# deepjson: the stdlib's results at every depth up to its cap


def _random_value(rng: random.Random, depth: int) -> object:
    leaf = rng.choice([1, -0.5, 2**70, float("nan"), float("inf"), "x\ud800y", "é", None, True])
    value: object = leaf
    for _ in range(depth):
        value = rng.choice([lambda v: [v, 1], lambda v: {"k": v, "a": [2]}, lambda v: [v]])(value)
    return value


@pytest.mark.parametrize("depth", [0, 1, 10, 500, 990, 1000, 1023])
def test_deepjson_matches_the_stdlib(depth):
    rng = random.Random(depth)
    value = _random_value(rng, depth)
    with recursion_room():
        want = json.dumps(value, ensure_ascii=True, separators=(",", ":"))
        want_sorted = json.dumps(value, ensure_ascii=True, separators=(",", ":"), sort_keys=True)
    text = deepjson.dumps(value)
    assert text == want
    assert deepjson.dumps(value, sort_keys=True) == want_sorted
    back = deepjson.loads(text)
    assert deepjson.dumps(back) == want
    again, end = deepjson.raw_decode(" " + text + "xyz", 1)
    assert end == len(text) + 1 and deepjson.dumps(again) == want


def test_deepjson_errors_and_cap():
    with pytest.raises(deepjson.JSONDecodeError, match="nesting too deep"):
        deepjson.loads("[" * 1100 + "]" * 1100)
    assert deepjson.loads("[" * 1024 + "]" * 1024) is not None
    for bad in ("[1,]", '{"a" 1}', "[1 2]", '{"a":1,}', "[", "nul", '"\x01"'):
        with pytest.raises(ValueError):
            json.loads(bad)
        with pytest.raises(ValueError):
            deepjson.loads("[" * 995 + bad + "]" * 995)


# ----------------------------------------------------------------- symlinks


def outside_tree(tmp_path: Path) -> tuple[Path, Path, Path]:
    """The trail the user names, and someone else's folder and file beside it."""
    tree = tmp_path / "tree"
    write_records(trail_path(tree), [event("Mine", event_id="mine")])
    other = tmp_path / "other-user"
    write_records(trail_path(other), [event("Theirs", event_id="theirs")])
    secret = tmp_path / "secret.json.gz"
    write_records(secret, [event("Secret", event_id="secret")])
    return tree, other, secret


def test_symlinks_out_of_the_named_folders_are_not_followed_and_are_reported(tmp_path):
    tree, other, secret = outside_tree(tmp_path)
    (tree / "to-other").symlink_to(other, target_is_directory=True)
    (tree / "to-root").symlink_to("/", target_is_directory=True)
    (tree / "secret.json.gz").symlink_to(secret)
    t = time.perf_counter()
    d = discover([tree])
    assert time.perf_counter() - t < 1.0  # not the whole machine
    assert [f.path for f in d.files] == [str(trail_path(tree))]
    why = "not followed: it leads outside the folders given (--follow-symlinks follows it)"
    assert sorted(d.errors) == sorted(
        [
            (str(tree / "secret.json.gz"), f"symlink to {secret} {why}"),
            (str(tree / "to-other"), f"symlink to {other} {why}"),
            (str(tree / "to-root"), f"symlink to / {why}"),
        ]
    )
    store = load([tree], jobs=1)
    assert ids(store) == ["mine"]
    skipped = dict(store.skipped())
    assert skipped[str(tree / "to-root")] == f"error: symlink to / {why}"


def test_follow_symlinks_follows_them_once_and_never_into_system_folders(tmp_path):
    tree, other, secret = outside_tree(tmp_path)
    (tree / "to-other").symlink_to(other, target_is_directory=True)
    (tree / "again").symlink_to(other, target_is_directory=True)  # the same folder twice
    (tree / "secret.json.gz").symlink_to(secret)
    (other / "back").symlink_to(tree, target_is_directory=True)  # a loop through both
    for system in ("/proc", "/sys", "/dev"):
        if os.path.isdir(system):
            (tree / f"to{system.replace('/', '-')}").symlink_to(system, target_is_directory=True)
    (tree / "to-environ.json").symlink_to("/proc/self/environ")
    d = discover([tree], follow_symlinks=True)
    assert sorted(os.path.basename(f.path)[:32] for f in d.files) == sorted(
        [trail_path(tree).name[:32]] * 2 + ["secret.json.gz"]
    )
    refused = {p: r for p, r in d.errors}
    for system in ("/proc", "/sys", "/dev"):
        if os.path.isdir(system):
            assert refused[str(tree / f"to{system.replace('/', '-')}")] == (
                f"symlink to {system} not followed: {system} is a system folder"
            )
    assert refused[str(tree / "to-environ.json")].endswith("/proc is a system folder")
    assert "same folder already walked" in {r for _, r in d.ignored} or any(
        r == "symlink loop" for r in refused.values()
    )
    store = load([tree], jobs=1, follow_symlinks=True)
    assert ids(store) == ["mine", "secret", "theirs"]


def test_symlinks_inside_the_named_folders_are_followed(tmp_path):
    tree, _, _ = outside_tree(tmp_path)
    day = trail_path(tree).parent
    (tree / "latest").symlink_to(day, target_is_directory=True)
    (tree / "latest.json.gz").symlink_to(trail_path(tree))
    d = discover([tree])
    assert d.errors == [] and len(d.files) == 1
    assert {r for _, r in d.ignored} >= {"same folder already walked"}


def test_a_symlink_named_on_the_command_line_is_followed(tmp_path):
    tree, other, secret = outside_tree(tmp_path)
    link = tmp_path / "link-to-other"
    link.symlink_to(other, target_is_directory=True)
    file_link = tmp_path / "link.json.gz"
    file_link.symlink_to(secret)
    store = load([link, file_link], jobs=1)
    assert ids(store) == ["secret", "theirs"] and store.errors == []


def test_a_walk_does_not_enter_system_folders(tmp_path, monkeypatch):
    # Walking / (named directly: the user asked) must not enter /proc, /sys or /dev. A
    # walk of the whole machine is too slow for a test: a folder here stands in for them.
    tree, _, _ = outside_tree(tmp_path)
    fake_proc = tree / "proc"
    write_records(trail_path(fake_proc), [event("Kernel", event_id="kernel")])
    monkeypatch.setattr("tui.core.discovery.SYSTEM_DIRS", (str(fake_proc),))
    d = discover([tree])
    assert (str(fake_proc), f"system folder ({fake_proc}), not walked") in d.ignored
    assert [f.path for f in d.files] == [str(trail_path(tree))]
    # Named directly, it is walked, sub-folders included.
    assert [f.path for f in discover([fake_proc]).files] == [str(trail_path(fake_proc))]


def test_live_tail_judges_new_symlinks_like_the_walk(tmp_path):
    tree, other, secret = outside_tree(tmp_path)
    tracker = TailTracker([str(tree)])
    tracker.prime([(str(trail_path(tree)), "log", 0, 0)])
    link_dir = tree / "new-folder"
    link_dir.symlink_to(other, target_is_directory=True)
    link_file = tree / "new.json.gz"
    link_file.symlink_to(secret)
    ch = tracker.changes_for([str(link_dir), str(link_file)])
    assert ch.to_read == []
    assert sorted(p for p, _ in ch.errors) == sorted([str(link_dir), str(link_file)])
    ch = tracker.rescan()
    assert all("theirs" not in f.path and f.path != str(link_file) for f in ch.to_read)
    follower = TailTracker([str(tree)], follow_symlinks=True)
    ch = follower.changes_for([str(link_dir), str(link_file)])
    assert len(ch.to_read) == 2 and ch.errors == []


# ----------------------------------------------------------------- duplicates by content


def shuffled_keys(rec: dict, seed: int) -> dict:
    keys = list(rec)
    random.Random(seed).shuffle(keys)
    return {k: rec[k] for k in keys}


@pytest.mark.parametrize("native", PATHS)
def test_the_same_record_in_any_formatting_is_stored_once(tmp_path, native):
    recs = [event(f"E{i}", f"2026-11-20T10:00:0{i}Z") for i in range(4)]
    write_records(trail_path(tmp_path, suffix="compact000000000"), recs)
    pretty = trail_path(tmp_path, suffix="pretty0000000000")
    pretty.write_bytes(gz(json.dumps({"Records": recs}, indent=2).encode()))
    reordered = trail_path(tmp_path, suffix="reordered0000000")
    reordered.write_bytes(gz(doc([shuffled_keys(r, i) for i, r in enumerate(recs)])))
    lookup = tmp_path / "lookup.json"  # lookup-events output: the general reader
    lookup.write_text(
        json.dumps(
            {
                "Events": [
                    {
                        "EventId": r["eventID"],
                        "CloudTrailEvent": json.dumps(shuffled_keys(r, 9), indent=1),
                    }
                    for r in recs
                ]
            }
        )
    )
    batch.use_native(native)
    for store in (load([tmp_path], jobs=1), _incremental(tmp_path)):
        assert len(store) == 4, store.dup_samples
        assert (store.duplicates, store.conflicts) == (12, 0)
        assert not parse("has:conflict").evaluate(store).any()


def _incremental(root: Path) -> Store:
    store = Store()
    for f in discover([root]).files:
        store.add(parse_file(f.path, f.kind))
        store.commit()
    return store


def test_same_id_with_different_content_is_still_a_conflict(tmp_path):
    a = event("A", event_id="x", readOnly=True, n=1)
    big = {**a, "n": 2**70}
    for k, (one, other) in enumerate(
        [
            (a, {**a, "readOnly": 1}),  # == would call these equal
            (a, {**a, "n": 1.0}),
            (a, {**a, "eventName": "B"}),
            (big, {**a, "n": 2**70 + 1}),  # the same as doubles
        ]
    ):
        root = tmp_path / str(k)
        first = trail_path(root, suffix="a" * 16)
        first.parent.mkdir(parents=True)
        first.write_bytes(gz(json.dumps({"Records": [one]}, separators=(",", ":")).encode()))
        p = trail_path(root, suffix="b" * 16)
        p.write_bytes(gz(json.dumps({"Records": [shuffled_keys(other, k)]}, indent=2).encode()))
        store = load([root], jobs=1)
        assert (len(store), store.duplicates, store.conflicts) == (2, 0, 1), other


def test_lenient_duplicates_in_other_formatting_are_stored_once(tmp_path):
    one = b'{"Records":[{"eventID":"n","eventName":"A","v":NaN,"s":"\\ud800"}]}'
    two = b'{"Records": [\n  {"s": "\\ud800", "v": NaN,\n   "eventName": "A", "eventID": "n"}\n]}'
    trail_path(tmp_path, suffix="a" * 16).parent.mkdir(parents=True)
    trail_path(tmp_path, suffix="a" * 16).write_bytes(gz(one))
    trail_path(tmp_path, suffix="b" * 16).write_bytes(gz(two))
    store = load([tmp_path], jobs=1)
    assert (len(store), store.duplicates, store.conflicts) == (1, 1, 0)


# ----------------------------------------------------------------- per-file reasons


def test_lenient_reasons_reach_skipped_with_counts_and_flag_only_the_events_touched(tmp_path):
    plain = orjson.dumps(event("Plain", event_id="p"))[:-1]
    files = {
        "nan": b'{"Records":['
        + plain
        + b"},"
        + orjson.dumps(event("N", event_id="nan"))[:-1]
        + b',"v":NaN}]}',
        "utf8": b'{"Records":['
        + plain
        + b"},"
        + orjson.dumps(event("U", event_id="utf8"))[:-1]
        + b',"v":"caf\xe9"}]}',
        "bom": b"\xef\xbb\xbf" + doc([event("B", event_id="bom")]),
        # lookup-events output: read by the general reader
        "double": orjson.dumps(
            {
                "Events": [
                    {
                        "CloudTrailEvent": orjson.dumps(event("D", event_id="double")).decode()[:-1]
                        + ',"v":1e999}'
                    }
                ]
            }
        ),
        "utf16": doc([event("W", event_id="utf16")]).decode().encode("utf-16"),
    }
    for name, data in files.items():
        p = trail_path(tmp_path, suffix=f"{name:0<16}")
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(gz(data))
    junk = trail_path(tmp_path, suffix="junk000000000000")
    junk.write_bytes(gz(doc([event("J", event_id="junk")])) + b"not gzip at all")
    store = load([tmp_path], jobs=1)
    skipped = dict(store.skipped())
    assert len(skipped) == 6 and store.file_counts()[1] == 6

    def reason(name: str) -> str:
        return skipped[str(trail_path(tmp_path, suffix=f"{name:0<16}"))]

    assert reason("nan") == "loaded 2 records, read leniently: NaN literal (1 flagged has:lenient)"
    assert reason("utf8") == (
        "loaded 2 records, read leniently: invalid UTF-8 replaced (1 flagged has:lenient)"
    )
    assert reason("bom") == "loaded 1 record, read leniently: UTF-8 byte-order mark skipped"
    assert reason("double") == (
        "loaded 1 record, read leniently: number beyond double range (1 flagged has:lenient)"
    )
    assert reason("utf16") == "loaded 1 record, read leniently: UTF-16 text converted"
    assert skipped[str(junk)] == (
        "loaded 1 record, read leniently: 15 trailing bytes after the gzip data ignored"
    )
    flagged = sorted(store.event(r)["eventID"] for r in np.flatnonzero(store.flags & LENIENT))
    assert flagged == ["double", "nan", "utf8"]  # not "p", the plain record beside them
    by_id = {store.event(r)["eventID"]: r for r in range(len(store))}
    assert store.lenient_reasons(by_id["nan"]) == ["NaN literal"]
    assert store.lenient_reasons(by_id["utf8"]) == ["invalid UTF-8 replaced"]
    assert store.lenient_reasons(by_id["p"]) == []


def gzip_with_crc_of(altered: bytes, original: bytes) -> bytes:
    """A gzip member of `altered` whose trailer holds the CRC of `original`: what a
    file altered after it was written looks like."""
    member = gz(altered)
    return member[:-8] + struct.pack("<II", zlib.crc32(original), len(altered) & 0xFFFFFFFF)


def test_gzip_crc_mismatch_is_named_and_the_records_are_kept_and_counted(tmp_path):
    recs = [event(f"E{i}", event_id=f"id{i:03d}") for i in range(50)]
    text = doc(recs)
    p = trail_path(tmp_path)
    p.parent.mkdir(parents=True)
    # The JSON survives (a value was changed): every record is read, the file flagged.
    p.write_bytes(gzip_with_crc_of(text.replace(b'"E7"', b'"X7"'), text))
    r = read_path(p)
    assert r.state is FileState.DAMAGED and len(r.records) == 50
    assert r.reason == (
        "gzip CRC mismatch: file altered or damaged; 50 records read (their content may be altered)"
    )
    # The JSON itself is broken part-way: the complete records before it are kept.
    cut = text.index(b'"id030"')
    broken = text[:cut] + b"\x00garbage" + text[cut + 9 :]
    p.write_bytes(gzip_with_crc_of(broken, text))
    r = read_path(p)
    assert r.state is FileState.DAMAGED and [e["eventID"] for e in r.records] == [
        f"id{i:03d}" for i in range(30)
    ]
    assert r.reason.startswith("gzip CRC mismatch: file altered or damaged; ")
    assert "the 30 complete records before the damage kept" in r.reason
    for native in PATHS:
        batch.use_native(native)
        store = load([tmp_path], jobs=1)
        assert len(store) == 30
        ((path, why),) = store.skipped()
        assert path == str(p) and why == f"damaged: {r.reason}"
        assert store.file_states() == {"damaged": 1}


@pytest.mark.parametrize("native", PATHS)
def test_a_number_beyond_a_double_in_a_skipped_field_still_shows(tmp_path, native):
    # The fast paths do not parse the fields they skip, and keep the file's own text;
    # showing the event needs the stdlib, which reads the number as infinity.
    text = orjson.dumps(event("D", event_id="d"))[:-1] + b',"v":[1e999,-1E+400]}'
    p = trail_path(tmp_path)
    p.parent.mkdir(parents=True)
    p.write_bytes(gz(b'{"Records":[' + text + b"]}"))
    batch.use_native(native)
    store = load([tmp_path], jobs=1)
    assert store.event(0)["v"] == [math.inf, -math.inf]
    assert store.canonical(0) == text  # the evidence as written
