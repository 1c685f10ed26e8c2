"""Filters on any JSON path of the event: the spelling, the parse, and path columns over
real gzip trails (arrays, missing paths, null, numbers, hostile keys and values, case,
commits while tailing), with the C scan and the Python walk compared."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.trailgen import REALDATA, event, trail_path, write_records
from tui.core import batch
from tui.core.loader import load
from tui.core.pathcols import PathColumn
from tui.core.paths import (
    CONTAINER,
    PathError,
    child_path,
    format_path,
    looks_like_path,
    parse_path,
    raw_key,
    raw_value,
    values,
)
from tui.core.query import PathTerm, QueryError, Text, add_term, parse, term_for
from tui.core.sanitize import is_clean
from tui.core.store import Store
from tui.core.view import compute_view

HOSTILE_KEY = 'k"\\[@click=app.quit]\x1b[2J\x9b\u202e:*'
HOSTILE_VALUE = 'v[@click=app.quit]\x1b]0;x\x07"\\\u202e*'


@pytest.fixture(autouse=True)
def restore_native() -> Iterator[None]:
    was = batch._native
    yield
    batch.use_native(was)


# ------------------------------------------------------------------ spelling
@pytest.mark.parametrize(
    ("src", "segs", "canonical"),
    [
        (
            "additionalEventData.MFAUsed",
            ("additionalEventData", "MFAUsed"),
            "additionalEventData.MFAUsed",
        ),
        (".requestID", ("requestID",), ".requestID"),
        (
            ".additionalEventData.MFAUsed",
            ("additionalEventData", "MFAUsed"),
            "additionalEventData.MFAUsed",
        ),
        ("resources[0].ARN", ("resources", 0, "ARN"), "resources[0].ARN"),
        (
            'requestParameters["x-amz-acl"]',
            ("requestParameters", "x-amz-acl"),
            "requestParameters.x-amz-acl",
        ),
        (
            "requestParameters.x-amz-acl",
            ("requestParameters", "x-amz-acl"),
            "requestParameters.x-amz-acl",
        ),
        ('["odd key"].b', ("odd key", "b"), '["odd key"].b'),
        ('a["a.b"]["c]"][""]', ("a", "a.b", "c]", ""), 'a["a.b"]["c]"][""]'),
        ('a["\\"\\\\\\n\\u00e9\\x41\\/"]', ("a", '"\\\né' + "A/"), 'a["\\"\\\\\\x0aéA/"]'),
        ('a["\\ud83d\\ude00"]', ("a", "\U0001f600"), 'a["\U0001f600"]'),
        ("a.日本", ("a", "日本"), 'a["日本"]'),
        ("a[007]", ("a", 7), "a[7]"),
    ],
)
def test_parse_and_canonical_spelling(src: str, segs: tuple, canonical: str) -> None:
    p = parse_path(src)
    assert p.segs == segs
    assert p.text == canonical
    assert parse_path(canonical).segs == segs  # the canonical spelling parses back


def test_paths_differing_in_key_case_are_one_path() -> None:
    assert parse_path("A.mfaUSED") == parse_path("a.MFAUsed")
    assert hash(parse_path("A.mfaUSED")) == hash(parse_path("a.MFAUsed"))
    assert parse_path("A.b").text == "A.b"  # shown as written
    assert parse_path("a[0]") != parse_path('a["0"]')


@pytest.mark.parametrize(
    "key",
    [
        HOSTILE_KEY,
        "",
        " ",
        "0",
        "a.b",
        "[0]",
        '"',
        "\\",
        "\n\t\r",
        "\x00\x7f\x85",
        "\u200b\u2028",
        "日本語",
        "\U0001f600",
        "a]b[c",
        "x-amz-id-2",
        "aws:SourceIp",
        "*",
        "\ud800",
    ],
)
def test_hostile_keys_round_trip_and_stay_inert(key: str) -> None:
    for segs in (("requestParameters", key), (key,), (key, 3, key)):
        spelt = format_path(segs)
        assert parse_path(spelt).segs == segs
        assert is_clean(spelt)  # no raw control, bidi or zero-width characters
        assert looks_like_path(spelt)


def test_child_path_matches_format_path() -> None:
    assert child_path("", "requestID") == ".requestID"
    assert child_path(".requestParameters", "bucketName") == "requestParameters.bucketName"
    assert child_path("resources", 0) == "resources[0]"
    assert child_path("", "odd key") == '["odd key"]'
    assert child_path(child_path("", HOSTILE_KEY), 2) == format_path((HOSTILE_KEY, 2))


@pytest.mark.parametrize(
    ("src", "offset"),
    [
        ("", 0),
        (".", 1),
        ("a.", 2),
        ("a..b", 2),
        ("a[x]", 2),
        ("a[", 2),
        ('a["x', 2),
        ('a["x"', 5),
        ("[0].a", 0),
        ("a[-1]", 2),
        ("a b", 1),
        (".[0]", 1),
        ("1a.b", 0),
    ],
)
def test_bad_paths_say_where(src: str, offset: int) -> None:
    with pytest.raises(PathError) as e:
        parse_path(src)
    assert e.value.offset == offset


# ------------------------------------------------------------------ the language
def test_the_rule_that_tells_a_path_from_a_field() -> None:
    assert isinstance(parse("additionalEventData.MFAUsed:No").root, PathTerm)
    assert isinstance(parse(".requestID:abc").root, PathTerm)
    assert isinstance(parse('["odd key"]:abc').root, PathTerm)
    assert isinstance(parse("resources[0].ARN:arn:aws:s3:::*").root, PathTerm)
    # Fields and their aliases never contain '.' or '[': unchanged.
    assert parse("sourceIPAddress:1.2.3.4").root.field == "ip"  # type: ignore[union-attr]
    # Text that merely has a colon stays free text.
    assert isinstance(parse("10.0.0.1:443").root, Text)
    assert isinstance(parse("arn:aws:iam::1:root").root, Text)
    assert isinstance(parse('"a.b:c"').root, Text)
    # Typos of field names are still errors; a top-level key gets the path hint.
    with pytest.raises(QueryError, match="unknown field 'servce'"):
        parse("servce:ec2")
    with pytest.raises(QueryError, match=r"own key is a path: \.errorMessage:x"):
        parse("errorMessage:x")
    # a path field: requestid (any case) is the path .requestID
    assert parse("requestID:x").root == parse(".requestID:x").root
    assert parse("has:resource").root.path == parse_path("resources.ARN")  # type: ignore[union-attr]
    with pytest.raises(QueryError) as e:
        parse("event:X a..b:c")
    assert e.value.position == 10
    with pytest.raises(QueryError, match="expected a value"):
        parse("a.b:")
    with pytest.raises(QueryError, match=r"own key is a path: has:\.requestParameters"):
        parse("has:requestParameters").evaluate(Store())


def test_path_terms_compose_like_field_terms() -> None:
    q = parse('-a.b:x (has:c[0].d OR .e:"") event:Foo')
    assert q.paths() == {parse_path("a.b"), parse_path("c[0].d"), parse_path(".e")}
    has = parse("has:c[0].d").root
    assert isinstance(has, PathTerm) and has.matcher.matches_any_nonempty
    assert parse("has:error").root.__class__.__name__ == "Has"
    assert parse("A.B:x").root.path == parse("a.b:x").root.path  # type: ignore[union-attr]


def test_term_for_and_add_term_on_paths() -> None:
    assert term_for("additionalEventData.MFAUsed", "No") == "additionalEventData.MFAUsed:No"
    assert term_for(".requestID", "a b", negate=True) == '-.requestID:"a b"'
    assert term_for("event", "ConsoleLogin") == "event:ConsoleLogin"
    f = add_term("event:ConsoleLogin", "additionalEventData.MFAUsed", "No")
    assert f == "event:ConsoleLogin additionalEventData.MFAUsed:No"
    assert add_term(f, "additionalEventData.mfaused", "no") == f  # already there
    assert add_term("a OR b", ".x", "1") == "(a OR b) .x:1"
    with pytest.raises(ValueError, match="unknown field"):
        term_for("errorMessage", "x")
    assert term_for("requestID", "x") == "requestid:x"
    with pytest.raises(ValueError, match="bad path"):
        term_for("a..b", "x")


# ------------------------------------------------------------------ the walk
def test_values_follow_the_documented_rule() -> None:
    ev = {
        "a": [{"b": "X"}, {"b": ["y", ["z"]]}, {"B": "w"}, {"c": 1}],
        "n": None,
        "e": "",
        "o": {},
        "l": [],
        "full": {"k": 1},
        "num": [3600, 1.5, True, False, None],
        "Dup": "one",
        "dup": "two",
    }
    assert values(ev, parse_path("a.b").key) == ["x", "y", "z", "w"]
    assert values(ev, parse_path("a.b").key, lower=False) == ["X", "y", "z", "w"]
    assert values(ev, parse_path("a[1].b").key) == ["y", "z"]
    assert values(ev, parse_path("a[9].b").key) == []
    assert values(ev, parse_path(".n").key) == []
    assert values(ev, parse_path(".e").key) == []
    assert values(ev, parse_path(".o").key) == []
    assert values(ev, parse_path(".l").key) == []
    assert values(ev, parse_path(".full").key) == [CONTAINER]
    assert values(ev, parse_path(".num").key) == ["3600", "1.5", "true", "false"]
    assert values(ev, parse_path(".dup").key) == ["one", "two"]  # keys differing in case
    assert values(ev, parse_path(".missing").key) == []


def test_raw_keys_decode_to_their_values() -> None:
    for v in ("abc", "true", "3600", 'a"b', "é", "\x1b", CONTAINER, "x" * 1000):
        assert raw_value(raw_key(v)) == v
    assert raw_key("abc") == b"sabc" and raw_key("é")[:1] == b"v"
    assert raw_value(b"j\\u00c9t\\u00e9") == "été"
    assert raw_value(b"n1E5") == "100000.0"


# ------------------------------------------------------------------ columns over trails
def _ev(n: int, **extra) -> dict:
    return event(f"E{n}", f"2026-11-20T10:00:{n:02d}Z", event_id=f"ev-{n:04d}", **extra)


EVENTS = [
    _ev(
        1,
        additionalEventData={"MFAUsed": "No", "LoginTo": "https://x"},
        eventName="ConsoleLogin",
        resources=[
            {"ARN": "arn:aws:s3:::prod-a", "type": "AWS::S3::Bucket"},
            {"ARN": "arn:aws:s3:::LOGS"},
        ],
    ),
    _ev(
        2,
        additionalEventData={"MFAUsed": "Yes"},
        eventName="ConsoleLogin",
        resources=[{"ARN": "arn:aws:iam::1:role/x"}],
    ),
    _ev(
        3,
        additionalEventData=None,
        readOnly=False,
        requestParameters={"durationSeconds": 3600, "flag": False, "ratio": 1.5, "obj": {"x": 1}},
    ),
    _ev(
        4,
        additionalEventData={"MFAUsed": ""},
        requestParameters={"a": [[{"b": "x"}], [{"b": "Y"}, {"b": None}]], "obj": {}},
    ),
    _ev(5, additionalEventData={"mfaused": "NO"}),
    _ev(
        6,
        requestParameters={
            HOSTILE_KEY: HOSTILE_VALUE,
            "日本": "値",
            "Key": "upper",
            "key": "lower",
        },
    ),
    _ev(7, readOnly="true", responseElements={"credentials": {"accessKeyId": "ASIAEXAMPLEKEY01"}}),
]


def _ids(store: Store, q: str) -> set[str]:
    """The eventIDs `q` selects, checked the same through both query targets."""
    query = parse(q)
    by_row = {store.event(int(r))["eventID"] for r in np.flatnonzero(query.evaluate(store))}
    by_view = {store.event(int(r))["eventID"] for r in compute_view(store, query).rows}
    assert by_row == by_view, q
    return {i[3:].lstrip("0") for i in by_row}


@pytest.fixture(params=["native", "python"])
def store(request, tmp_path: Path) -> Store:
    if request.param == "native":
        if not batch.native_available():
            pytest.skip("the C scan is not built")
        batch.use_native(True)
    else:
        batch.use_native(False)
    write_records(trail_path(tmp_path), EVENTS[:4])
    write_records(trail_path(tmp_path, when="20261120T1010Z"), EVENTS[4:])
    return load([tmp_path])


ALL = {str(n) for n in range(1, 8)}


@pytest.mark.parametrize(
    ("q", "want"),
    [
        ("additionalEventData.MFAUsed:No", {"1", "5"}),  # key and value ignore case
        ("additionalEventData.mfaused:no", {"1", "5"}),
        ("-additionalEventData.MFAUsed:No", ALL - {"1", "5"}),  # events without it too
        ("has:additionalEventData.MFAUsed", {"1", "2", "5"}),  # "" and null are no value
        ("additionalEventData.MFAUsed:*", {"1", "2", "5"}),
        ('additionalEventData.MFAUsed:""', ALL - {"1", "2", "5"}),
        ("-has:additionalEventData.MFAUsed", ALL - {"1", "2", "5"}),
        ("additionalEventData.MFAUsed:Y*", {"2"}),
        ("additionalEventData.MFAUsed:*o", {"1", "5"}),
        ("resources.ARN:arn:aws:s3:::*", {"1"}),  # any element
        ("resources.ARN:*logs", {"1"}),
        ("resources[1].ARN:arn:aws:s3:::logs", {"1"}),  # one element
        ("resources[0].ARN:arn:aws:s3:::logs", set()),
        ("resources.type:AWS::S3::Bucket", {"1"}),
        ("requestParameters.durationSeconds:3600", {"3"}),
        ("requestParameters.ratio:1.5", {"3"}),
        ("requestParameters.flag:false", {"3"}),
        ("requestParameters.a.b:y", {"4"}),  # nested arrays are looked through
        ("requestParameters.a[1].b:y", {"4"}),
        ("requestParameters.a[0].b:y", set()),
        ("has:requestParameters.obj", {"3"}),  # a non-empty object is present...
        ('requestParameters.obj:{"x":1}', set()),  # ...but has no value to match
        (".readOnly:true", ALL - {"3"}),  # the boolean and the string "true"
        (".readOnly:false", {"3"}),
        ('requestParameters["日本"]:値', {"6"}),
        ("requestParameters.日本:値", {"6"}),
        ("requestParameters.key:UPPER", {"6"}),  # keys that differ in case both count
        ("requestParameters.Key:lower", {"6"}),
        ("responseElements.credentials.accessKeyId:asiaexamplekey01", {"7"}),
        (
            "(additionalEventData.MFAUsed:Yes OR resources.ARN:*prod*) event:ConsoleLogin",
            {"1", "2"},
        ),
        ("additionalEventData.MFAUsed:No -event:ConsoleLogin", {"5"}),
        ("no.such.path:x", set()),
        ('no.such.path:""', ALL),
    ],
)
def test_path_terms_select(store: Store, q: str, want: set[str]) -> None:
    assert _ids(store, q) == want


def test_term_for_round_trips_hostile_keys_and_values(store: Store) -> None:
    path = format_path(("requestParameters", HOSTILE_KEY))
    term = term_for(path, HOSTILE_VALUE)
    assert is_clean(term)  # the filter bar never holds raw controls
    assert _ids(store, term) == {"6"}
    assert _ids(store, term_for(path, HOSTILE_VALUE, negate=True)) == ALL - {"6"}
    # Every leaf of every event: the term for its path and value selects it.
    for row in range(len(store)):
        ev = store.event(row)
        for segs, v in _leaves(ev):
            if v is None or v == "" or isinstance(v, (dict, list)):
                continue
            text = v if isinstance(v, str) else json.dumps(v)
            got = _ids(store, term_for(format_path(segs), text))
            assert ev["eventID"][3:].lstrip("0") in got, (segs, v)


def _leaves(v: object, segs: tuple = ()) -> Iterator[tuple[tuple, object]]:
    if isinstance(v, dict):
        for k, x in v.items():
            yield from _leaves(x, (*segs, k))
    elif isinstance(v, list):
        for i, x in enumerate(v):
            yield from _leaves(x, (*segs, i))
    else:
        yield segs, v


def test_facets_over_a_path_show_values_as_spelt(store: Store) -> None:
    top, distinct = compute_view(store, parse("")).facet(store, "additionalEventData.MFAUsed", 10)
    # "No" and "NO" are one value (matching ignores case), shown as an event spelt it.
    assert dict(top) == {"": 4, "Yes": 1, "No": 2} or dict(top) == {"": 4, "Yes": 1, "NO": 2}
    assert distinct == 3
    view = compute_view(store, parse("event:ConsoleLogin"))
    top, _ = view.facet(store, "resources.ARN", 10)
    assert dict(top) == {
        "arn:aws:s3:::prod-a": 1,
        "arn:aws:s3:::LOGS": 1,
        "arn:aws:iam::1:role/x": 1,
    }
    top, _ = view.facet(store, "requestParameters.durationSeconds", 10)
    assert top == [("", 2)]  # neither ConsoleLogin has it
    # Counts from the dense time-ordered column (a path with one value per event) and
    # from the entries by row agree, for single- and many-valued paths.
    for q in ("event:ConsoleLogin", "-additionalEventData.MFAUsed:yes", "has:.requestParameters"):
        for name in (
            "additionalEventData.MFAUsed",
            "resources.ARN",
            ".readOnly",
            "requestParameters.a.b",
        ):
            fast = compute_view(store, parse(q))
            slow = compute_view(store, parse(q))
            slow.sel = None  # as if the store had moved on: counted by row
            assert fast.facet(store, name, None) == slow.facet(store, name, None), (q, name)
    assert not store.path_column(parse_path("additionalEventData.MFAUsed")).multi


def test_every_value_of_a_path_facet_is_capped(store: Store, monkeypatch) -> None:
    from tui.core import pathcols

    monkeypatch.setattr(pathcols, "ALL_MAX", 2)
    top, distinct = compute_view(store, parse("")).facet(store, "resources.ARN", None)
    assert len(top) == 2 and distinct == 4  # three ARNs and the events without one
    assert top[0] == ("", 5)
    assert store.path_column(parse_path("resources.ARN")).multi


def test_a_column_is_kept_and_follows_commits(tmp_path: Path) -> None:
    """Tailing: files added and committed later are covered when the column is next
    used, and the column is not rebuilt."""
    write_records(trail_path(tmp_path), EVENTS[:3])
    store = load([tmp_path])
    path = parse_path("additionalEventData.MFAUsed")
    assert _ids(store, "additionalEventData.MFAUsed:no") == {"1"}
    col = store.path_column(path)
    assert store.path_backlog(path) == 0
    for n, e in enumerate(EVENTS[3:]):
        f = write_records(trail_path(tmp_path, when=f"20261120T11{n:02d}Z"), [e])
        store.add(batch.parse_file(str(f)))
        assert store.path_backlog(path) == n  # pending files are not committed yet
        store.commit()
        assert store.path_backlog(path) == n + 1
    assert _ids(store, "additionalEventData.MFAUsed:no") == {"1", "5"}
    assert store.path_column(path) is col and store.path_backlog(path) == 0
    assert col.files_done == len(store.files)
    # A re-delivered file adds no entries (its events are duplicates).
    again = write_records(trail_path(tmp_path, when="20261120T1200Z"), [EVENTS[4]])
    store.add(batch.parse_file(str(again)))
    store.commit()
    assert _ids(store, "additionalEventData.MFAUsed:no") == {"1", "5"}
    assert len(col.rows) == len(set(col.rows.tolist())) == 3


def test_columns_are_bounded(tmp_path: Path) -> None:
    write_records(trail_path(tmp_path), EVENTS)
    store = load([tmp_path])
    store.path_columns.max_columns = 3
    for k in "abcde":
        _ids(store, f"requestParameters.{k}:x")
    assert len(store.path_columns) == 3
    assert parse_path("requestParameters.e") in store.path_columns
    assert parse_path("requestParameters.a") not in store.path_columns
    assert _ids(store, "requestParameters.a.b:x") == {"4"}  # rebuilt when asked again


# ------------------------------------------------------------------ C and Python agree
def _raw_trail(tmp_path: Path) -> Path:
    """Records the C walk must hand back or handle exactly: escaped keys, repeated keys,
    odd number tokens, deep nesting, pretty-printing, NaN (a lenient file)."""
    recs = [
        '{"eventID":"r1","eventTime":"2026-11-20T10:00:01Z","requestParameters":{"k\\u0065y":"escaped"}}',
        '{"eventID":"r2","eventTime":"2026-11-20T10:00:02Z","requestParameters":{"key":"first","key":"second"}}',
        '{"eventID":"r3","eventTime":"2026-11-20T10:00:03Z","requestParameters":{"Key":"A","kEy":"B"}}',
        '{"eventID":"r4","eventTime":"2026-11-20T10:00:04Z","requestParameters":{"key":[1E5,-0,1.50,7e0,12345678901234567890123]}}',
        '{"eventID":"r5","eventTime":"2026-11-20T10:00:05Z","requestParameters":{"key":'
        + "[" * 300
        + '"deep"'
        + "]" * 300
        + "}}",
        '{ "eventID" : "r6" , "eventTime":"2026-11-20T10:00:06Z",\n "requestParameters" : {\n  "key" : [ "a" , { "x" : 1 } , "" , null , true ] ,\n  "other" : "key" } }',
        '{"eventID":"r7","eventTime":"2026-11-20T10:00:07Z","requestParameters":{"key":"\\u00c9t\\u00e9 \\"q\\" \\\\ \\/"}}',
        '{"eventID":"r8","eventTime":"2026-11-20T10:00:08Z","requestParameters":{"key":"Straße İ ǅ"}}',
        '{"eventID":"r9","eventTime":"2026-11-20T10:00:09Z","requestParameters":{"key":"x"},"requestparameters":{"key":"y"}}',
    ]
    doc = '{"Records":[' + ",".join(recs) + "]}"
    p = trail_path(tmp_path, suffix="raw0000000000000")
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(gzip.compress(doc.encode()))
    lenient = '{"Records":[{"eventID":"r10","eventTime":"2026-11-20T10:00:10Z","requestParameters":{"key":NaN,"Key":"v"}}]}'
    q = trail_path(tmp_path, when="20261120T1010Z", suffix="raw1111111111111")
    q.write_bytes(gzip.compress(lenient.encode()))
    # Deeper than the C walk goes (it hands the event back), in a file of its own.
    deep = (
        '{"Records":[{"eventID":"r11","eventTime":"2026-11-20T10:00:11Z","requestParameters":'
        '{"key":' + "[" * 450 + '"deep"' + "]" * 450 + "}}]}"
    )
    d = trail_path(tmp_path, when="20261120T1015Z", suffix="raw2222222222222")
    d.write_bytes(gzip.compress(deep.encode()))
    # Deeper than Python's recursion limit (the engine takes up to 1,024 levels).
    deeper = (
        '{"Records":[{"eventID":"r12","eventTime":"2026-11-20T10:00:12Z","requestParameters":'
        '{"key":' + "[" * 1000 + '"deeper"' + "]" * 1000 + "}}]}"
    )
    d = trail_path(tmp_path, when="20261120T1020Z", suffix="raw3333333333333")
    d.write_bytes(gzip.compress(deeper.encode()))
    return tmp_path


def _per_row(store: Store, col: PathColumn) -> dict[str, set]:
    out: dict[str, set] = {}
    for r, c in zip(col.rows.tolist(), col.codes.tolist(), strict=True):
        out.setdefault(store.event(r).get("eventID", r), set()).add(col.value(c))
    return out


def _both(tmp_path: Path, paths: list[str]) -> Iterator[tuple[str, dict, dict]]:
    store = load([tmp_path])
    for p in paths:
        path = parse_path(p)
        c = PathColumn(path, native=True)
        c.catch_up(store)
        py = PathColumn(path, native=False)
        py.catch_up(store)
        yield p, _per_row(store, c), _per_row(store, py)


@pytest.mark.skipif(not batch.native_available(), reason="the C scan is not built")
def test_c_scan_and_python_walk_agree_on_odd_json(tmp_path: Path) -> None:
    _raw_trail(tmp_path)
    for p, c, py in _both(
        tmp_path,
        [
            "requestParameters.key",
            ".requestParameters",
            "requestParameters.other",
            "requestParameters.key.x",
            "requestParameters.key[0]",
            ".eventID",
        ],
    ):
        assert c == py, p
    got = dict(_both(tmp_path, ["requestParameters.key"]).__next__()[2])
    assert got["r1"] == {"escaped"}
    assert got["r2"] == {"second"}  # an exact repeat: its last value, as decoded
    assert got["r3"] == {"a", "b"}  # keys differing in case: both
    assert got["r4"] == {"100000.0", "0", "1.5", "7.0", "12345678901234567890123"}
    assert got["r5"] == {"deep"}
    assert got["r6"] == {"a", CONTAINER, "true"}
    assert got["r7"] == {'été "q" \\ /'}
    assert got["r8"] == {"Straße İ ǅ".lower()}
    assert got["r9"] == {"x", "y"}
    assert got["r10"] == {"nan", "v"}
    assert got["r11"] == {"deep"}
    assert got["r12"] == {"deeper"}


@pytest.mark.skipif(not batch.native_available(), reason="the C scan is not built")
def test_c_scan_and_python_walk_agree_on_the_benchmark_trail(tmp_path: Path) -> None:
    from benchmarks.gen_trail import generate

    generate(tmp_path, 3000, seed=7, per_file=300)
    paths = [
        "additionalEventData.MFAUsed",
        "requestParameters.bucketName",
        "resources.ARN",
        "responseElements.credentials.accessKeyId",
        "tlsDetails.tlsVersion",
        ".readOnly",
        "requestParameters.instancesSet.items.imageId",
        "userIdentity.sessionContext",
        "requestParameters.filters.values",
        "resources[1].ARN",
        ".eventID",
    ]
    for p, c, py in _both(tmp_path, paths):
        assert c == py, p
        if p in paths[:5]:
            assert c, p  # the trail has these
    store = load([tmp_path])
    mfa = compute_view(store, parse("")).facet(store, "additionalEventData.MFAUsed", None)[0]
    assert {v for v, _ in mfa} == {"", "Yes", "No"}  # original case, from the originals


# ------------------------------------------------------------------ real samples
@pytest.mark.realdata
def test_console_logins_without_mfa_in_real_trails() -> None:
    store = load([REALDATA])
    got = parse("additionalEventData.MFAUsed:No").evaluate(store)
    rows = np.flatnonzero(got)
    assert len(rows) > 5
    for r in rows.tolist():
        ev = store.event(int(r))
        assert ev["additionalEventData"]["MFAUsed"] == "No"
    # The free-text search for "No" matches far more than the path does.
    assert parse('"No"').evaluate(store).sum() > len(rows)

    def mfa(ev: dict) -> object:
        extra = ev.get("additionalEventData")
        return extra.get("MFAUsed") if isinstance(extra, dict) else None  # a string in some

    every = [r for r in range(len(store)) if mfa(store.event(r)) == "No"]
    assert sorted(every) == rows.tolist()
    # Paths agree between the C scan and the Python walk on every real sample.
    if batch.native_available():
        for p in (
            "additionalEventData.MFAUsed",
            "resources.ARN",
            "requestParameters.bucketName",
            "userIdentity.sessionContext.attributes.mfaAuthenticated",
            ".readOnly",
            "responseElements.credentials.accessKeyId",
            "tlsDetails.tlsVersion",
        ):
            path = parse_path(p)
            c, py = PathColumn(path, native=True), PathColumn(path, native=False)
            c.catch_up(store)
            py.catch_up(store)
            assert _per_row(store, c) == _per_row(store, py), p


@pytest.mark.skipif(not batch.native_available(), reason="the C scan is not built")
def test_path_table_numbers_keys_like_the_python_table() -> None:
    from tui.core._scan import PathTable

    from tui.core.pathcols import PyTable

    keys = [b"s" + str(i).encode() * (i % 7 + 1) for i in range(5000)] + [
        b"o",
        b"j\\u0041",
        b"v\xc3\xa9",
    ]
    c, py = PathTable(), PyTable()
    for k in keys + keys[::3]:
        assert c.insert(k) == py.insert(k)
    before = c.nbytes
    c.trim()  # gives back spare room; numbering and lookups unchanged
    assert c.nbytes <= before
    more = [b"s-new" + str(i).encode() for i in range(3000)]
    for k in more:
        assert c.insert(k) == py.insert(k)
    assert len(c) == len(py) == len(keys) + len(more)
    for k in keys + more:
        assert c.lookup(k) == py.lookup(k) >= 0
        assert c.raw(c.lookup(k)) == k
    assert c.lookup(b"sabsent") == -1
    assert c.blob(0) == py.blob(0)
    assert c.blob(4000) == py.blob(4000)
    assert c.kinds(0) == py.kinds(0) and c.kinds(4999)[:4] == b"sojv"


@pytest.mark.skipif(not batch.native_available(), reason="the C scan is not built")
def test_c_scan_survives_garbage_and_agrees_on_any_valid_mutation() -> None:
    """Random byte edits of real-looking events: the scan never reads past an event or
    crashes; where the edit left valid JSON, its values are the Python walk's (or the
    event is handed back to it)."""
    import random

    import orjson
    from tui.core._scan import PathTable

    from tui.core.paths import decode_event, needles

    rnd = random.Random(17)
    base = [orjson.dumps(e).lower() for e in EVENTS] + [
        b'{"a":[{"b":"x"},{"b":["y",{"c":1}]}],"b":{"b":"z"}}'
    ]
    alphabet = b'{}[]",:\\ abcu0123456789.-etrnfl\n'
    paths = ["a.b", "requestparameters.a.b", ".readonly", "resources.arn", "b.b", "a[1].b"]
    for _ in range(3000):
        src = bytearray(rnd.choice(base))
        for _ in range(rnd.randint(1, 4)):
            i = rnd.randrange(len(src) + 1)
            op = rnd.random()
            if op < 0.4 and len(src) > 1:
                del src[i % len(src)]
            elif op < 0.8:
                src[i:i] = bytes([rnd.choice(alphabet)])
            else:
                src = src[:i]  # truncated
        text = bytes(src)
        starts = np.array([0], np.int64).tobytes()
        ends = np.array([len(text)], np.int64).tobytes()
        key = parse_path(rnd.choice(paths)).key
        segs = tuple(s.encode() if isinstance(s, str) else s for s in key)
        table = PathTable()
        ev, codes, fallback = table.scan(text, starts, ends, segs, rnd.choice([(), needles(key)]))
        try:
            event = decode_event(text)
        except ValueError:
            continue  # not JSON: only "no crash" applies
        if fallback:
            continue
        got = {raw_value(table.raw(c)) for c in np.frombuffer(codes, np.int32).tolist()}
        assert got == set(values(event, key)), (text, key)


@pytest.mark.skipif(not batch.native_available(), reason="the C scan is not built")
def test_path_table_keeps_every_code_across_grows_with_threads_inserting() -> None:
    """Inserts that double a big table rehash it without the GIL (under the table's
    lock): codes stay dense and each key keeps its code while two threads insert the
    same keys at once."""
    import threading

    from tui.core._scan import PathTable

    table = PathTable()
    keys = [b"sasia%07d" % i for i in range(300_000)]
    got: dict[int, list[int]] = {}

    def fill(name: int) -> None:
        got[name] = [table.insert(k) for k in keys]

    threads = [threading.Thread(target=fill, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert got[0] == got[1]
    assert sorted(got[0]) == list(range(len(keys)))
    assert all(table.lookup(k) == c for k, c in zip(keys, got[0], strict=True))
    assert table.lookup(b"sasia-none") == -1 and len(table) == len(keys)


@pytest.mark.skipif(not batch.native_available(), reason="the C scan is not built")
def test_a_reserved_path_table_numbers_like_a_growing_one_and_never_doubles() -> None:
    """`reserve(n)` makes room for n entries at once (the credential index presizes its
    table so no insert rehashes it mid-run) and `prefault` maps it in steps: the codes,
    lookups and raw keys are a growing table's, and inserting up to n keys leaves the
    slots as reserved. Reserving a table that holds keys rehashes them, codes kept."""
    from tui.core._scan import PathTable

    keys = [b"sasia%07d" % i for i in range(40_000)] + [b"o", b"j\\u0041", b"v\xc3\xa9"]
    grown, reserved = PathTable(), PathTable()
    half = [grown.insert(k) for k in keys[:1000]]
    assert [reserved.insert(k) for k in keys[:1000]] == half
    reserved.reserve(len(keys))  # a rehash of the 1000 held
    assert all(reserved.lookup(k) == c for k, c in zip(keys[:1000], half, strict=True))
    steps = 1
    while not reserved.prefault(64 << 10):
        steps += 1
    assert steps > 4
    size = reserved.nbytes
    codes = [reserved.insert(k) for k in keys]
    assert codes == [grown.insert(k) for k in keys] == list(range(len(keys)))
    assert reserved.nbytes - size < 1 << 21  # the arena and offsets grow; slots did not
    assert reserved.blob(0) == grown.blob(0) and reserved.kinds(0) == grown.kinds(0)
    assert reserved.lookup(b"sasia-none") == -1
    reserved.reserve(10)  # smaller than held: nothing changes
    assert reserved.nbytes >= size and len(reserved) == len(keys)
    with pytest.raises(ValueError):
        reserved.reserve(-1)


@pytest.mark.skipif(not batch.native_available(), reason="the C scan is not built")
def test_path_table_slots_take_eight_bytes() -> None:
    """A slot holds the top of the key's hash and its code (8 bytes), and the slots are
    at most 3/4 full: at 10M events the credential index's 5.6M keys take 8M slots.
    Trimmed, the table holds its slots, the keys (kind, bytes, a newline each) and one
    offset per key."""
    from tui.core._scan import PathTable

    table = PathTable()
    keys = [b"sasia%07d" % i for i in range(300_000)]
    codes = [table.insert(k) for k in keys]
    table.trim()
    slots = 1024
    while len(keys) * 4 > slots * 3:
        slots *= 2
    keys_bytes = sum(len(k) + 1 for k in keys)
    assert table.nbytes == 8 * slots + keys_bytes + 8 * (len(keys) + 2)
    assert [table.lookup(k) for k in keys] == codes == list(range(len(keys)))
