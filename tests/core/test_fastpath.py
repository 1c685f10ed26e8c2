"""The msgspec fast path must index exactly what the general (dict) path indexes."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest

from tests.trailgen import REALDATA, event, trail_path, write_records
from tui.core import batch
from tui.core.batch import HOSTILE, build_batch, parse_file
from tui.core.discovery import discover
from tui.core.loader import load
from tui.core.reader import read_path


def same_batches(path: str) -> None:
    fast = parse_file(path)
    slow = build_batch(path, "log", read_path(path))
    assert fast.n == slow.n and fast.state == slow.state
    if not fast.n:
        return
    for f in range(len(fast.uniques)):
        fv = [fast.uniques[f][c] for c in fast.codes[f]]
        sv = [slow.uniques[f][c] for c in slow.codes[f]]
        assert fv == sv, (path, f)
    assert np.array_equal(fast.times, slow.times)
    assert fast.eid16 == slow.eid16 and np.array_equal(fast.idh, slow.idh)
    assert np.array_equal(fast.flags, slow.flags), path


def test_fast_path_is_taken_for_records_documents(tmp_path):
    p = write_records(trail_path(tmp_path), [event("A"), event("B")])
    b = parse_file(str(p))
    assert b.orig_codec == "gzip" and b.orig == b""  # the original is the file itself


@pytest.mark.realdata
def test_fast_and_general_paths_agree_on_every_public_sample():
    files = [f.path for f in discover([REALDATA]).files if not f.path.endswith("manifest.json")]
    assert len(files) > 1000
    for path in files:
        same_batches(path)


def test_odd_records_fall_back_and_still_agree(tmp_path):
    recs = [
        event("A", userIdentity="not an object"),  # typed decode refuses: general path
        event("B", readOnly="TRUE", eventSource=12, userAgent={"x": [1]}),
        {"eventName": "NoIdentity", "userIdentity": None},
        event("C", userIdentity={"type": "AWSAccount", "accountId": "ANONYMOUS_PRINCIPAL"}),
        event("D", userIdentity={"invokedBy": "ec2.amazonaws.com"}),
        event(
            "E",
            userIdentity={
                "type": "AssumedRole",
                "sessionContext": None,
                "onBehalfOf": {"userId": "u1"},
            },
        ),
        event("Hostile\x1b[2J", userAgent="\u202e[@click=app.quit]"),
    ]
    for i, r in enumerate(recs):
        same_batches(str(write_records(trail_path(tmp_path, suffix=f"{i:016d}"), [r, event("Z")])))
    same_batches(str(write_records(trail_path(tmp_path, suffix="all" + "x" * 13), recs)))


def test_pretty_printed_file_keeps_exact_originals_and_one_line_export(tmp_path):
    recs = [event("A"), event("B", "2026-11-20T10:00:01Z", requestParameters={"k": [1, 2.50, "x"]})]
    p = trail_path(tmp_path)
    p.parent.mkdir(parents=True)
    text = json.dumps({"Records": recs}, indent=2).replace('"2.5"', '"2.5"')
    p.write_bytes(gzip.compress(text.replace("2.5", "2.50").encode()))
    store = load([tmp_path])
    assert store.files[0].orig_codec == "gzip"
    rows = store.ordered().tolist()
    assert [store.event(r)["eventName"] for r in rows] == ["A", "B"]
    assert b"2.50" in store.original(rows[1])  # the file's own bytes, as written
    assert b"\n" not in store.canonical(rows[1])
    assert json.loads(store.canonical(rows[1])) == recs[1]


@pytest.fixture
def native_switch():
    """Restores the C scan toggle after a test flips it."""
    before = batch._native
    yield batch.use_native
    batch._native = before


@pytest.mark.parametrize("native", [True, False], ids=["c-scan", "python"])
def test_escaped_hostile_characters_flag_the_event(tmp_path, native_switch, native):
    # Files may carry hostile characters as \u escapes (ensure_ascii writers), which
    # a byte-level look for raw controls misses: a bidi override, a zero-width space
    # in a key, a tag character (surrogate pair), next to harmless escapes.
    recs = [
        event("A", userAgent="\u202eevil"),
        event("B", userAgent='caf\u00e9 \U0001f600 "q" \\ /'),
        event("C", requestParameters={"k\u200b": 1}),
        event("D", userAgent="\U000e0041tag"),
        event("E", userAgent="tab\there"),
        event("F", userAgent="\\u202e is just text here"),
    ]
    p = trail_path(tmp_path)
    p.parent.mkdir(parents=True)
    p.write_bytes(gzip.compress(json.dumps({"Records": recs}, ensure_ascii=True).encode()))
    native_switch(native)
    b = parse_file(str(p))
    assert b.orig_codec == "gzip"  # a fast path (C or msgspec), not the general one
    hostile = [bool(f & HOSTILE) for f in b.flags]
    assert hostile == [True, False, True, True, True, False]
    same_batches(str(p))  # and the general path (orjson's raw UTF-8) agrees
