"""The value dictionaries' C table (`_scan.StrTable`) against the Python list and dict it
replaces: the same codes, the same values back, and a store loaded either way the same."""

from __future__ import annotations

import random
import threading

import numpy as np
import pytest

from tests.trailgen import event, trail_path, write_records
from tui.core import loader
from tui.core.fields import FIELD_NAMES
from tui.core.loader import load
from tui.core.query import parse
from tui.core.store.dictionaries import ValueDict, native_tables

_scan = pytest.importorskip("tui.core._scan", reason="the C scan is not built")

# Values a log can hold: empty, ASCII, multi-byte UTF-8, a lone surrogate (JSON's
# "\ud800" escape), NUL and controls, long ones, and ones equal but for case.
ODD = ["", "a", "A", "é", "e\u0301", "\ud800", "x\udfffy", "\x00", "\x1b[31m", "💥", "a" * 5000]


def _random_values(rng: random.Random, n: int) -> list[str]:
    alphabet = "abcAKIA0123456789/:-_é💥\u202e\x1b"
    return [
        "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 24))) for _ in range(n)
    ] + ODD


@pytest.fixture
def python_tables():
    before = native_tables(False)
    yield
    native_tables(before)


def test_codes_and_values_match_a_list_and_dict():
    rng = random.Random(7)
    table = _scan.StrTable()
    ref: dict[str, int] = {}
    for _ in range(30):  # batches with repeats inside and across them
        batch = rng.sample(_random_values(rng, 300), 200) + ODD
        got = np.frombuffer(table.codes(batch), np.int32).tolist()
        want = [ref.setdefault(v, len(ref)) for v in batch]
        assert got == want
    values = list(ref)
    assert len(table) == len(values)
    assert list(table) == values  # every value read back as it was given
    assert table[-1] == values[-1] and table[3:40:7] == values[3:40:7]
    for v in ODD + ["never seen", "\udc80"]:
        assert table.get(v) == ref.get(v, -1)
        assert (v in table) == (v in ref)
    assert table.index("é") == ref["é"]
    with pytest.raises(ValueError):
        table.index("never seen")
    with pytest.raises(IndexError):
        table[len(values)]


def test_codes_without_adding_and_bad_input_change_nothing():
    table = _scan.StrTable()
    table.codes(["a", "b"])
    assert np.frombuffer(table.codes(["b", "z"], add=False), np.int32).tolist() == [1, -1]
    with pytest.raises(TypeError):
        table.codes(["c", 5])  # the str before the bad item is not added either
    with pytest.raises(TypeError):
        table.code(b"bytes")
    assert list(table) == ["a", "b"] and table.get(5) == -1


def test_growing_past_a_million_values_keeps_every_code():
    # Doubling the slots of a big table runs without the GIL: a reader on another
    # thread meanwhile must still find every value added before.
    table = _scan.StrTable()
    first = [f"ASIA{i:016d}" for i in range(100_000)]
    table.codes(first)
    stop = threading.Event()
    misses: list[int] = []

    def read() -> None:
        k = 0
        while not stop.is_set():
            k = (k * 7919 + 1) % len(first)
            if table.get(first[k]) != k or table[k] != first[k]:
                misses.append(k)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for lo in range(100_000, 1_100_000, 100_000):
            more = [f"ASIA{i:016d}" for i in range(lo, lo + 100_000)]
            assert np.frombuffer(table.codes(more), np.int32)[-1] == lo + 99_999
    finally:
        stop.set()
        reader.join()
    assert not misses
    assert table.get("ASIA0000000000999999") == 999_999 and len(table) == 1_100_000


def test_value_dict_answers_the_same_either_way(python_tables):
    rng = random.Random(11)
    batches = [_random_values(rng, 100) for _ in range(5)]
    plain = ValueDict()  # the Python list and dict (the fixture)
    native_tables(True)
    native = ValueDict()
    assert isinstance(plain.values, list) and not isinstance(native.values, list)
    for b in batches:
        assert plain.lut(b).tolist() == native.lut(b).tolist()
    assert list(plain.values) == list(native.values)
    for v in ODD + ["never seen"]:
        assert plain.get(v) == native.get(v)
        assert plain.code(v) == native.code(v)
    # Case-insensitive exact matches, asked again after more values arrive: non-ASCII
    # values that fold to ASCII ('\u212a' Kelvin sign to 'k', 'ß' to 'ss') included.
    folds = ["a", "é", "ss", "key", "k", "x\udfffy", "", "never seen"]
    for more in (["KEY", "\u212aey", "Key"], ["ß", "SS", "A"]):
        for b in (more, batches[0]):
            assert plain.lut(b).tolist() == native.lut(b).tolist()
        for f in folds:
            assert plain.codes_folded(f) == native.codes_folded(f), f
    assert native.codes_folded("key") == [native.get(v) for v in ("KEY", "\u212aey", "Key")]


def _trail(tmp_path):
    rng = random.Random(5)
    for k in range(6):
        records = []
        for i in range(120):
            session = f"s-{rng.randint(0, 40)}-\u00e9"
            records.append(
                event(
                    rng.choice(["GetObject", "PutObject", "AssumeRole", "\x1b[2JList"]),
                    f"2026-11-2{k % 3}T1{i % 10}:0{i % 6}:00Z",
                    ip=f"10.0.{rng.randint(0, 3)}.{rng.randint(0, 255)}",
                    identity={
                        "type": "AssumedRole",
                        "arn": f"arn:aws:sts::111122223333:assumed-role/R{k}/{session}",
                        "accountId": "111122223333",
                        "accessKeyId": f"ASIA{rng.randint(0, 10**12):016d}",
                        "principalId": f"AROAEXAMPLE:{session}",
                    },
                )
            )
        write_records(trail_path(tmp_path, suffix=f"{k:016d}"), records)
    return tmp_path


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_store_loads_the_same_with_either_table(tmp_path, python_tables, monkeypatch, jobs):
    # jobs=2: parser processes with persistent encoders (`Dictionaries.learn`); 1: each
    # file's own values (`own_tables`).
    monkeypatch.setattr(loader, "PARALLEL_MIN_BYTES", 0)
    root = _trail(tmp_path)
    plain = load([root], jobs=jobs)
    native_tables(True)
    native = load([root], jobs=jobs)
    assert len(native) == len(plain) == 720
    for f in FIELD_NAMES:
        assert list(native.values(f)) == list(plain.values(f)), f
        assert native.counts(f) == plain.counts(f), f
        assert np.array_equal(native.codes(f), plain.codes(f)), f
    for text in ("key:ASIA0*", "principal:*R3*", "event:getobject", "ip:10.0.1.0/24"):
        q = parse(text)
        assert np.array_equal(q.evaluate(native), q.evaluate(plain)), text
    some = plain.value(0, "key")
    assert native.code_of("key", some) == plain.code_of("key", some) is not None
    assert native.code_of("key", "nothing") is plain.code_of("key", "nothing") is None


def test_globs_tested_in_c_match_the_python_test(python_tables):
    from tui.core.query import ValueMatcher

    rng = random.Random(3)
    values = _random_values(rng, 400) + [
        "aba",
        "ab",
        "ABBA",
        "Straße",
        "STRASSE",
        "\u212aey",
        "key",
        "x*y",
        "a\\b",
        "a.b",
        "a\nb",
    ]
    plain = ValueDict()
    plain.lut(values)
    native_tables(True)
    native = ValueDict()
    native.lut(values)
    globs = [
        ("", ""),
        ("a", ""),
        ("", "a"),
        ("ab", "ba"),
        ("a", "b", "a"),
        ("", "ss", ""),
        ("", "ß", ""),
        ("k", ""),
        ("", "é", ""),
        ("AKIA", ""),
        ("", "💥"),
        ("x", "y"),
        ("a", "", "b"),
        ("", ".", ""),
        ("a\\", "b"),
        ("", "\n", ""),
        ("", "\x1b[", ""),
    ]
    for parts in globs:
        m = ValueMatcher.glob(parts)
        want = plain.codes_matching(m)
        assert native.codes_matching(m) == want, parts
        assert want == [c for c, v in enumerate(plain.values) if m.matches(v)]
    more = ["ABA", "Aba", "kEY"]  # tested again once more values arrived
    assert plain.lut(more).tolist() == native.lut(more).tolist()
    for parts in (("a", "a"), ("k", "")):
        m = ValueMatcher.glob(parts)
        assert native.codes_matching(m) == plain.codes_matching(m), parts


def test_session_shares_the_principal_values_and_answers_as_its_own(tmp_path):
    # A role session's ARN is its principal: one value table for both fields. The
    # session field must still answer only for the values its events hold.
    users = [
        event("GetObject", f"2026-11-20T10:0{i}:00Z", source="s3.amazonaws.com") for i in range(3)
    ]  # IAM user alice: a principal, no session
    arns = [f"arn:aws:sts::111122223333:assumed-role/R/s{i % 2}" for i in range(4)]
    roles = [
        event(
            "PutObject",
            f"2026-11-20T11:0{i}:00Z",
            identity={"type": "AssumedRole", "arn": arn, "accountId": "111122223333"},
        )
        for i, arn in enumerate(arns)
    ]
    write_records(trail_path(tmp_path), users + roles)
    store = load([tmp_path])
    from tui.core.fields import FIELD_INDEX

    assert store.dicts[FIELD_INDEX["session"]] is store.dicts[FIELD_INDEX["principal"]]
    alice = "arn:aws:iam::111122223333:user/alice"
    assert dict(store.counts("principal")) == {alice: 3, arns[0]: 2, arns[1]: 2}
    assert dict(store.counts("session")) == {"": 3, arns[0]: 2, arns[1]: 2}
    top, distinct = store.facet("session", None, 10)
    assert dict(top) == {"": 3, arns[0]: 2, arns[1]: 2} and distinct == 3
    assert not parse(f'session:"{alice}"').evaluate(store).any()
    assert int(parse(f"session:{arns[1]}").evaluate(store).sum()) == 2
    assert int(parse("session:*user/alice").evaluate(store).sum()) == 0
    assert int(parse("principal:*user/alice").evaluate(store).sum()) == 3


@pytest.mark.parametrize("native", [True, False])
def test_values_learnt_on_the_loaders_thread_load_the_same(tmp_path, monkeypatch, native):
    """The explorer's loader thread puts each batch's new values in the dictionaries as
    it arrives (`Store.learn_ahead`), while other threads read them and the owner adds
    and commits: the store ends as a plain load's, code for code."""
    import queue

    from tui.core.discovery import discover
    from tui.core.store import Store

    monkeypatch.setattr(loader, "PARALLEL_MIN_BYTES", 0)
    before = native_tables(native)
    try:
        root = _trail(tmp_path)
        plain = load([root], jobs=2)
        store = Store()
        arrived: queue.Queue = queue.Queue()
        done = threading.Event()
        reads: list[int] = []

        def loader_thread() -> None:
            for b in loader.iter_batches(discover([root]).files, jobs=2):
                store.learn_ahead(b)
                assert b.learnt and b.uniques == []
                arrived.put(b)
            arrived.put(None)

        def reader() -> None:  # as views, facets and filters read meanwhile
            d = store.dicts[FIELD_NAMES.index("key")]
            while not done.is_set():
                n = len(d.values)
                assert all(d.get(d.values[c]) == c for c in range(max(0, n - 50), n))
                d.codes_folded("asia0")
                reads.append(n)

        threads = [threading.Thread(target=loader_thread), threading.Thread(target=reader)]
        for t in threads:
            t.start()
        try:
            while (b := arrived.get(timeout=60)) is not None:
                store.add(b)
                if len(store.pending) >= 2:
                    store.commit()
            store.commit()
        finally:
            done.set()
            for t in threads:
                t.join(60)
        assert len(reads) > 1
        assert len(store) == len(plain) == 720
        for f in FIELD_NAMES:
            assert list(store.values(f)) == list(plain.values(f)), f
            assert np.array_equal(store.codes(f), plain.codes(f)), f
    finally:
        native_tables(before)


def _arena_trail_values(rng: random.Random) -> list[str]:
    """Values laid out so that `deploy` falls everywhere the arena pass of a glob_scan
    could miss or double it: across a 64 KiB block's end (inside one value), across two
    values' boundary (no match), in values longer than a block, in odd cases, in values
    that are not ASCII, and not at all."""
    values: list[str] = []
    off = 0

    def add(v: str) -> None:
        nonlocal off
        values.append(v)
        off += len(v.encode("utf-8", "surrogatepass"))

    words = ["deploy", "DePlOy", "depl", "eploy", "sandbox", "x", "", "é", "deploy-é"]
    for block in range(1, 7):
        while off < block * 65536 - 4000:
            add("-".join(rng.choice(words) for _ in range(rng.randint(0, 6))) + f"#{len(values)}")
        add(str(block) + "f" * (block * 65536 - 3 - off - 2))  # the next starts 4 before
        add("xdEploy-" + str(block))  # `deploy` across the block's end
        add(f"ab{block}-dep")  # ...and across two values (no match)
        add(f"loy-cd{block}")
    add("q" * 70000 + "Deploy" + "q" * 70000)  # longer than a block, match in its middle
    add("deploy" + "z" * 140000)  # ...at its start
    add("z" * 140000 + "deploY")  # ...at its end
    add("z" * 140000)
    add("Straße-deploy")  # not ASCII: the caller's to test
    assert len(set(values)) == len(values)  # each stored: the arena is laid out as above
    return values


def test_globs_with_no_anchored_end_scan_the_arena_like_the_python_test(python_tables):
    from tui.core.query import ValueMatcher

    rng = random.Random(11)
    values = _arena_trail_values(rng)
    plain = ValueDict()
    plain.lut(values)
    native_tables(True)
    native = ValueDict()
    native.lut(values)
    table = native.values
    values = list(plain.values)  # each once, by code
    for parts in [
        ("", "deploy", ""),
        ("", "dep", "loy", ""),
        ("", "eploy", "-", ""),
        ("", "sandbox", "deploy", ""),
        ("", "deploy", "x"),
        ("x", "deploy", ""),
        ("", "nothing-here", ""),
        ("", "é-deploy", ""),
        ("", "qqqq", ""),
    ]:
        m = ValueMatcher.glob(parts)
        want = [c for c, v in enumerate(values) if m.matches(v)]
        assert plain.codes_matching(m) == want, parts
        assert native.codes_matching(m) == want, parts
        folded = tuple(p.casefold() for p in parts)
        for _ in range(20):  # stretches of codes, as a paused scan asks for them
            lo = rng.randint(0, len(values))
            hi = rng.randint(lo, len(values))
            threads = rng.choice([1, 2, 3])  # each thread given 500 values or more
            hits, wide = table.glob_scan(folded, lo, hi, threads, 500)
            assert hits == sorted(hits)
            got = sorted(hits + [c for c in wide if m.matches(values[c])])
            assert got == [c for c in want if lo <= c < hi], (parts, lo, hi)
            assert wide == [c for c in range(lo, hi) if not values[c].isascii()]
    assert any(
        "xdEploy" in values[c] for c in native.codes_matching(ValueMatcher.glob(("", "deploy", "")))
    )
