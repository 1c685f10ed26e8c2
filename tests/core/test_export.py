"""Machine formats (tui/core/export.py): exact for a parser, inert on a terminal and in
a spreadsheet."""

from __future__ import annotations

import csv
import io
import json
import os

import orjson
import pytest

from tests.core.test_sanitize import _rule
from tests.trailgen import event, trail_path, write_records
from tui.core.batch import HOSTILE
from tui.core.export import (
    CSV_COLUMNS,
    csv_cell,
    dumps,
    event_json,
    inert_json,
    write_csv,
    write_jsonl,
)
from tui.core.loader import load
from tui.core.sanitize import HOSTILE_RANGES, is_clean

HOSTILE_CPS = [cp for lo, hi in HOSTILE_RANGES for cp in range(lo, hi + 1)]


def inert(text: str) -> bool:
    """No character a terminal could act on (line ends aside)."""
    return not any(_rule(ord(c)) for c in text.replace("\n", ""))


def test_every_hostile_character_becomes_an_escape_of_the_same_value():
    for cp in HOSTILE_CPS:
        ch = chr(cp)
        obj = {"k" + ch: ["é" + ch + "x", ch]}
        # What dumps writes, whichever encoder it needs (lone surrogates: the stdlib).
        out = dumps(obj)
        assert inert(out.decode("utf-8")), hex(cp)
        assert json.loads(out) == obj, hex(cp)
        if 0xD800 <= cp <= 0xDFFF:
            continue  # not UTF-8: see the invalid UTF-8 test
        # JSON text as a trail file or orjson holds it (raw UTF-8 where JSON allows).
        raw = json.dumps(obj, ensure_ascii=False).encode("utf-8")
        out = inert_json(raw)
        assert inert(out.decode("utf-8")), hex(cp)
        assert json.loads(out) == obj, hex(cp)


def test_characters_beyond_the_bmp_are_written_as_surrogate_pairs():
    assert inert_json('{"a":"\U000e0041"}'.encode()) == b'{"a":"\\udb40\\udc41"}'
    assert inert_json('{"a":"\u202e\x9b\x7f"}'.encode()) == b'{"a":"\\u202e\\u009b\\u007f"}'


def test_clean_text_is_returned_untouched():
    text = '{"ua":"aws-cli/2.15 Python/3.11","who":"Zoë 漢字 😀","n":1.5}'.encode()
    assert inert_json(text) is text
    assert event_json(text, False) is text


def test_raw_tab_newline_cr_between_tokens_become_spaces():
    text = b'{"a":\t1,\r\n "b":"\\t"}'
    out = inert_json(text)
    assert out == b'{"a": 1,   "b":"\\t"}' and json.loads(out) == json.loads(text)
    # The common (unflagged) path only needs the tab: canonical text never spans lines.
    assert event_json(b'{"a":\t"x"}', False) == b'{"a": "x"}'


def test_invalid_utf8_round_trips_as_the_original_bytes():
    text = b'{"p":"a\xff\x9bb\xc3"}'  # 0x9b alone is CSI on an 8-bit terminal
    out = inert_json(text)
    assert out.isascii() and inert(out.decode())
    value = json.loads(out)["p"]
    assert value == "a\udcff\udc9bb\udcc3"
    assert value.encode("utf-8", "surrogateescape") == b"a\xff\x9bb\xc3"


def test_dumps_keeps_lone_surrogates_and_non_utf8_file_names():
    name = os.fsdecode(b"/trail/x\xff\x1b]0;T\x07.json.gz")
    obj = {"path": name, "value": "Get\ud800", "\udfffkey": 1}
    out = dumps(obj)
    assert out.isascii() and b"\n" not in out
    back = json.loads(out)
    assert back == obj
    assert os.fsencode(back["path"]) == b"/trail/x\xff\x1b]0;T\x07.json.gz"


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(1)", "'@SUM(1)"),
        ("\t=1", "\\t=1"),  # the escape leads, not a tab
        ("\r=1", "\\r=1"),
        ("\x1b]0;PWNED\x07", "\\x1b]0;PWNED\\x07"),
        ("a\u202eb", "a\\u202eb"),
        ("aws-cli/2.15", "aws-cli/2.15"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_csv_cell_escapes_controls_and_neutralises_formulas(value, cell):
    assert csv_cell(value) == cell


HOSTILE_UA = "\x1b]0;PWNED\x07"
OSC52 = "\x1b]52;c;cHduZWQ=\x07"


@pytest.fixture
def store(tmp_path):
    recs = [
        event("Plain", "2026-11-20T10:00:00Z"),
        event(
            "Evil\u202e",
            "2026-11-20T10:01:00Z",
            userAgent=HOSTILE_UA,
            error="\x1b[2J",
            errorMessage=OSC52,
            requestParameters={"k\x9b": "v\u2028\x7f"},
        ),
        event("Formula", "2026-11-20T10:02:00Z", userAgent='=HYPERLINK("x")', error="-1"),
        event("Escaped", "2026-11-20T10:03:00Z", requestParameters={"s": "\x00\x1b"}),
    ]
    write_records(trail_path(tmp_path), recs)
    return load([tmp_path]), recs


def test_jsonl_is_exact_and_inert(store):
    st, recs = store
    rows = st.ordered()
    assert ((st.flags[rows] & HOSTILE) != 0).tolist() == [False, True, False, True]
    buf = io.BytesIO()
    assert write_jsonl(st, rows, buf) == 4
    text = buf.getvalue().decode("utf-8")
    assert inert(text)
    assert [json.loads(line) for line in text.splitlines()] == recs
    raw = io.BytesIO()
    write_jsonl(st, rows, raw, raw=True)
    assert "\u202e".encode() in raw.getvalue()  # --raw: the stored text as it is
    assert [orjson.loads(line) for line in raw.getvalue().splitlines()] == recs


def test_unflagged_events_hold_no_hostile_character(store):
    # What lets write_jsonl skip the scan for them.
    st, _ = store
    for r in range(len(st)):
        if not st.flags[r] & HOSTILE:
            assert is_clean(st.canonical(r).decode("utf-8").replace("\t", " "))


def test_csv_is_escaped_and_formula_safe_unless_raw(store):
    st, _ = store
    out = io.StringIO()
    write_csv(st, st.ordered(), out)
    assert inert(out.getvalue()) and "\r" not in out.getvalue()
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows[0] == list(CSV_COLUMNS)
    by_event = {r[2]: dict(zip(CSV_COLUMNS, r, strict=True)) for r in rows[1:]}
    assert CSV_COLUMNS[2] == "event"
    assert set(by_event) == {"Plain", "Evil\\u202e", "Formula", "Escaped"}
    assert by_event["Evil\\u202e"]["ua"] == "\\x1b]0;PWNED\\x07"
    assert by_event["Evil\\u202e"]["error"] == "\\x1b[2J"
    assert by_event["Formula"]["ua"] == '\'=HYPERLINK("x")'
    assert by_event["Formula"]["error"] == "'-1"
    raw = io.StringIO()
    write_csv(st, st.ordered(), raw, raw=True, header=False)
    raw_rows = list(csv.reader(io.StringIO(raw.getvalue())))
    assert raw_rows[1][CSV_COLUMNS.index("ua")] == HOSTILE_UA
    assert raw_rows[2][CSV_COLUMNS.index("ua")] == '=HYPERLINK("x")'


def test_csv_of_no_rows_is_the_header(store):
    st, _ = store
    out = io.StringIO()
    write_csv(st, st.ordered()[:0], out)
    assert out.getvalue() == ",".join(CSV_COLUMNS) + "\n"
