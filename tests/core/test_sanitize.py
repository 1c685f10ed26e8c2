from __future__ import annotations

import random
import time
import unicodedata

import orjson
import pytest

from tui.core import sanitize
from tui.core.sanitize import (
    clean,
    clean_segments,
    hostile_in_json,
    is_clean,
    is_hostile_char,
    replace_hostile,
    replace_hostile_utf8,
)

# The rule from the spec, written out independently of the module's own tables.
_CATEGORIES = {"Cc", "Cf", "Cs", "Zl", "Zp"}
_EXPLICIT = (
    [0x061C, 0x200E, 0x200F, 0x00AD, 0x034F, 0x115F, 0x1160, 0x3164, 0xFFA0, 0x180E]
    + [0x2028, 0x2029, 0xFEFF, 0x7F]
    + list(range(0x00, 0x20))
    + list(range(0x80, 0xA0))
    + list(range(0x202A, 0x202F))
    + list(range(0x2066, 0x206A))
    + list(range(0x200B, 0x200E))
    + list(range(0x2060, 0x2065))
    + list(range(0xFFF9, 0xFFFC))
    + list(range(0xE0000, 0xE0080))
    + list(range(0xFE00, 0xFE10))
    + list(range(0xE0100, 0xE01F0))
    + list(range(0xD800, 0xE000))
)


_EXPLICIT_SET = frozenset(_EXPLICIT)


def _rule(cp: int) -> bool:
    return cp in _EXPLICIT_SET or unicodedata.category(chr(cp)) in _CATEGORIES


def _expected_escape(cp: int) -> str:
    special = {0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r"}
    if cp in special:
        return special[cp]
    if cp <= 0xFF:
        return f"\\x{cp:02x}"
    if cp <= 0xFFFF:
        return f"\\u{cp:04x}"
    return f"\\U{cp:08x}"


def test_every_code_point_matches_rule() -> None:
    # One pass over the whole code space: find what clean escapes, compare with the rule.
    everything = "".join(map(chr, range(0x110000)))
    segs = clean_segments(everything)
    escaped: list[int] = []
    pos = 0
    for text, is_esc in segs:
        if is_esc:
            escaped.append(pos)
            pos += 1
        else:
            pos += len(text)
    assert pos == 0x110000
    expected = [cp for cp in range(0x110000) if _rule(cp)]
    assert escaped == expected
    # The module's own per-character rule agrees too (spot check; it is slow).
    for cp in expected[::50] + [0x41, 0x5B, 0x4E2D, 0x1F600]:
        assert is_hostile_char(cp) == _rule(cp)
    # Every escape uses the documented spelling.
    for cp, (text, _is_esc) in zip(expected, [s for s in segs if s[1]], strict=True):
        assert text == _expected_escape(cp)


def test_category_table_matches_unicode_database() -> None:
    # The precomputed table (when this Unicode version has one) equals a full scan.
    known = sanitize._KNOWN_CATEGORY_RANGES.get(unicodedata.unidata_version)
    if known is None:
        pytest.skip(f"no table for Unicode {unicodedata.unidata_version}; scanned at import")
    assert list(known) == sanitize._scan_category_ranges()


@pytest.mark.parametrize(
    ("raw", "want"),
    [
        ("plain", "plain"),
        ("", ""),
        ("a\tb\nc\rd", "a\\tb\\nc\\rd"),
        ("\x1b[2J", "\\x1b[2J"),
        ("\x00\x7f", "\\x00\\x7f"),
        ("\x9b31m", "\\x9b31m"),
        ("\u202eevil", "\\u202eevil"),
        ("a\u200bb\ufeff", "a\\u200bb\\ufeff"),
        ("soft\xadhyphen", "soft\\xadhyphen"),
        ("tag\U000e0041", "tag\\U000e0041"),
        ("vs\ufe0f", "vs\\ufe0f"),
        ("lone\ud800", "lone\\ud800"),
        ("line\u2028para\u2029", "line\\u2028para\\u2029"),
        ("fill\u3164er", "fill\\u3164er"),
        ("[aws-cli/2.15.0 Python/3.11]", "[aws-cli/2.15.0 Python/3.11]"),
        ("[@click=app.quit]quit[/]", "[@click=app.quit]quit[/]"),
        ("中文 émoji 😀 ok", "中文 émoji 😀 ok"),
        ("back\\slash\\x1b", "back\\slash\\x1b"),  # backslashes are left alone
    ],
)
def test_clean(raw: str, want: str) -> None:
    assert clean(raw) == want
    assert is_clean(raw) == (raw == want)
    assert "".join(t for t, _ in clean_segments(raw)) == want


def test_fast_path_returns_same_object() -> None:
    s = "arn:aws:iam::123456789012:role/[admin]"
    assert clean(s) is s
    assert clean(s, max_len=100) is s


def test_max_len_plain() -> None:
    assert clean("abcdef", 6) == "abcdef"
    assert clean("abcdefg", 6) == "abcde…"
    assert len(clean("x" * 1000, 10)) == 10
    assert clean("abc", 1) == "…"
    assert clean("abc", 0) == ""
    assert clean("", 3) == ""


def test_max_len_never_cuts_an_escape() -> None:
    # "ab" + "\x1b" (4 chars) = 6 cleaned chars; a 5-char budget leaves room for "ab" + "…".
    assert clean("ab\x1bcd", 5) == "ab…"
    assert clean("ab\x1bcd", 7) == "ab\\x1b…"
    assert clean("ab\x1bcd", 8) == "ab\\x1bcd"
    assert clean("\U000e0041", 5) == "…"
    assert clean("\x1b" * 10, 9) == "\\x1b\\x1b…"
    # The cleaned text may outgrow max_len even when the input does not.
    out = clean("\x1b\x1b", 7)
    assert out == "\\x1b…"
    for n in range(0, 30):
        s = "a\x1bb\u202ec\U000e0041d" * 2
        out = clean(s, n)
        full = clean(s)
        assert len(out) <= n
        if len(full) <= n:
            assert out == full
        elif n:
            assert out.endswith("…")
            assert full.startswith(out[:-1])
            # the kept part ends on an escape boundary
            head = out[:-1]
            segs = clean_segments(s)
            boundaries = {0}
            pos = 0
            for text, is_esc in segs:
                if is_esc:
                    boundaries.add(pos)
                    boundaries.add(pos + len(text))
                    pos += len(text)
                else:
                    boundaries.update(range(pos, pos + len(text) + 1))
                    pos += len(text)
            assert len(head) in boundaries


def test_segments_match_clean_with_max_len() -> None:
    rng = random.Random(7)
    pool = ["a", "b", "[", "\\", "\x1b", "\x9b", "\u202e", "中", "\U000e0041", "\n"]
    for _ in range(500):
        s = "".join(rng.choice(pool) for _ in range(rng.randrange(0, 20)))
        n = rng.choice([None, *range(0, 25)])
        segs = clean_segments(s, n)
        assert "".join(t for t, _ in segs) == clean(s, n)
        assert all(t for t, _ in segs)
        for t, is_esc in segs:
            if is_esc:
                assert t.startswith("\\")


# --- hostile_in_json ------------------------------------------------------------------------

_NASTY = [
    "\x00",
    "\x01",
    "\x08",
    "\t",
    "\n",
    "\x0b",
    "\x0c",
    "\r",
    "\x1b",
    "\x1f",
    "\x7f",
    "\x80",
    "\x85",
    "\x9b",
    "\x9f",
    "\xad",
    "\u034f",
    "\u061c",
    "\u115f",
    "\u180e",
    "\u200b",
    "\u200d",
    "\u200e",
    "\u2028",
    "\u2029",
    "\u202e",
    "\u2060",
    "\u2066",
    "\u3164",
    "\ufe0f",
    "\ufeff",
    "\uffa0",
    "\ufff9",
    "\U000e0001",
    "\U000e0041",
    "\U000e007f",
    "\U000e0100",
    "\U000110bd",
    "\U0001d173",
]
_NORMAL = [
    "a",
    "n",
    "t",
    "b",
    "f",
    "r",
    "u",
    "0",
    "1",
    "7",
    "f",
    "d",
    "\\",
    "\\",
    "\\",
    '"',
    "/",
    "[",
    "]",
    " ",
    "é",
    "\xa0",
    "\xae",
    "中",
    "€",
    "…",
    "\u2027",
    "\u202f",
    "\u3000",
    "\ufe10",
    "\uffa1",
    "😀",
    "\U000e0080",
    "\U000e01f0",
    "\U0010ffff",
]


def _strings(obj: object) -> list[str]:
    if isinstance(obj, str):
        return [obj]
    if isinstance(obj, dict):
        out: list[str] = []
        for k, v in obj.items():
            out.append(k)
            out.extend(_strings(v))
        return out
    if isinstance(obj, list):
        return [s for v in obj for s in _strings(v)]
    return []


def _random_string(rng: random.Random, nasty_rate: float) -> str:
    n = rng.randrange(0, 12)
    return "".join(
        rng.choice(_NASTY) if rng.random() < nasty_rate else rng.choice(_NORMAL) for _ in range(n)
    )


def _random_obj(rng: random.Random, nasty_rate: float, depth: int = 0) -> object:
    r = rng.random()
    if depth < 3 and r < 0.3:
        return {
            _random_string(rng, nasty_rate): _random_obj(rng, nasty_rate, depth + 1)
            for _ in range(rng.randrange(0, 4))
        }
    if depth < 3 and r < 0.45:
        return [_random_obj(rng, nasty_rate, depth + 1) for _ in range(rng.randrange(0, 4))]
    if r < 0.55:
        return rng.choice([None, True, 12, -3.5])
    return _random_string(rng, nasty_rate)


def test_hostile_in_json_round_trip() -> None:
    rng = random.Random(1234)
    seen = {True: 0, False: 0}
    for i in range(6000):
        rate = (0.0, 0.005, 0.02, 0.1)[i % 4]
        obj = {"k": _random_obj(rng, rate)}
        canon = orjson.dumps(obj)
        want = any(not is_clean(s) for s in _strings(obj))
        assert hostile_in_json(canon) == want, (obj, canon)
        seen[want] += 1
    assert seen[True] > 500 and seen[False] > 500


@pytest.mark.parametrize(
    ("obj", "want"),
    [
        ({"a": "\\n"}, False),  # escaped backslash then "n"
        ({"a": "\\\\n"}, False),
        ({"a": "\\\n"}, True),  # escaped backslash then a real newline
        ({"a": "\n"}, True),
        ({"a": "\\u001b"}, False),  # literal text, not an escape
        ({"a": "\x1b"}, True),
        ({"\x1b": "key"}, True),
        ({"\u202e": 1}, True),
        ({"a": '"\\"'}, False),
        ({"a": "\\"}, False),
        ({"a": "é\\n"}, False),  # non-ASCII path, same parity rule
        ({"a": "é\\\n"}, True),
        ({"a": "é", "b": "\x7f"}, True),
        ({"a": "\x7f"}, True),
        ({"a": "\xad"}, True),
        ({"a": "\u3000\u2027"}, False),
        ({"a": ["x", {"b": "\U000e0041"}]}, True),
        ({}, False),
    ],
)
def test_hostile_in_json_targeted(obj: object, want: bool) -> None:
    assert hostile_in_json(orjson.dumps(obj)) is want


def test_hostile_in_json_every_hostile_char() -> None:
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF or not _rule(cp):
            continue
        ch = chr(cp)
        assert hostile_in_json(orjson.dumps({"a": "x" + ch})), hex(cp)
        assert hostile_in_json(orjson.dumps({"é" + ch: 1})), hex(cp)
    # Neighbours of hostile ranges are not flagged.
    for cp in (
        0x20,
        0x7E,
        0xA0,
        0xAE,
        0x200A,
        0x2010,
        0x2027,
        0x202F,
        0x205F,
        0x206A,
        0xFDFF,
        0xFE10,
        0xFEFE,
        0xFF00,
        0xFFF8,
        0xFFFC,
        0xE0080,
        0xE00FF,
        0xE01F0,
    ):
        if not _rule(cp):
            assert not hostile_in_json(orjson.dumps({"a": chr(cp)})), hex(cp)


def _sample_events() -> list[dict]:
    base = {
        "eventVersion": "1.08",
        "userIdentity": {
            "type": "AssumedRole",
            "principalId": "AROAEXAMPLE:alice",
            "arn": "arn:aws:sts::123456789012:assumed-role/Admin/alice",
            "accountId": "123456789012",
            "sessionContext": {"attributes": {"creationDate": "2023-11-20T10:00:00Z"}},
        },
        "eventTime": "2023-11-20T10:05:00Z",
        "eventSource": "s3.amazonaws.com",
        "eventName": "GetObject",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "203.0.113.7",
        "userAgent": "[aws-cli/2.15.0 Python/3.11.6 Linux/5.10 exe/x86_64.amzn.2]",
        "requestParameters": {"bucketName": "logs", "key": "a/b/c.txt"},
        "responseElements": None,
        "requestID": "0123456789ABCDEF",
        "eventID": "6f1c0c1e-3a5f-4d2e-9a4b-1c2d3e4f5a6b",
        "readOnly": True,
        "eventType": "AwsApiCall",
        "recipientAccountId": "123456789012",
    }
    with_policy = dict(
        base,
        eventName="PutBucketPolicy",
        requestParameters={
            "bucketName": "logs",
            "policy": orjson.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"AWS": "arn:aws:iam::1:root"},
                            "Action": "s3:GetObject",
                            "Resource": "arn:aws:s3:::logs/*",
                        }
                    ],
                }
            ).decode(),
        },
    )
    return [
        base,
        base,
        with_policy,
        dict(base, errorCode="AccessDenied", errorMessage="User is not authorized"),
    ]


@pytest.mark.timing
def test_hostile_in_json_speed() -> None:
    events = _sample_events()
    blob = b""
    while len(blob) < 500_000:
        for e in events:
            blob += orjson.dumps(e) + b"\n"
    assert not hostile_in_json(blob)
    best = float("inf")
    for _ in range(20):
        t = time.perf_counter()
        hostile_in_json(blob)
        best = min(best, time.perf_counter() - t)
    assert best < 1e-3 * len(blob) / 500_000, best


def test_replace_hostile_utf8_agrees_with_replace_hostile() -> None:
    def repl(ch: str) -> str:
        return f"<{ord(ch):x}>"

    assert not any(_rule(b) for b in sanitize._PRINTABLE_ASCII)
    hostile = [chr(cp) for cp in _EXPLICIT if not 0xD800 <= cp <= 0xDFFF]
    benign = ["a", " ", "\\", '"', "é", "漢", "😀", "\u00a0", "\u2027", "z"]
    rnd = random.Random(5)
    for _ in range(3000):
        s = "".join(
            rnd.choice(hostile if rnd.random() < 0.2 else benign) for _ in range(rnd.randint(0, 30))
        )
        data = s.encode("utf-8")
        got = replace_hostile_utf8(data, repl)
        assert got == replace_hostile(s, repl).encode("utf-8"), s
        if got == data:
            assert got is data  # nothing to do: no copy
    every = "x".join(hostile) + "é"
    assert replace_hostile_utf8(every.encode(), repl) == replace_hostile(every, repl).encode()
    # Not UTF-8: each stray byte is a surrogateescape code point, so it is replaced too.
    assert replace_hostile_utf8(b"a\xff\x9b\xc3b", repl) == b"a<dcff><dc9b><dcc3>b"
    assert replace_hostile_utf8(b"\xc3A\xa9", repl) == b"<dcc3>A<dca9>"
