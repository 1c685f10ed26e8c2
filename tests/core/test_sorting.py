"""The event list's sort orders (tui/core/sorting.py), on real gzip trails."""

from __future__ import annotations

import numpy as np
import pytest

from tests.trailgen import event, trail_path, write_records
from tui.core import kernels
from tui.core.loader import load
from tui.core.query import parse
from tui.core.sorting import ERRORS_FIRST, Ranks, SortKey, prepare_sort, sort_rows
from tui.core.view import compute_view

# Event names in first-seen order deliberately unlike their value order, so sorting by
# dictionary code would give a different answer than sorting by value.
_SPEC = [
    ("10:00:05", "Zeta", "203.0.113.9", None),
    ("10:00:01", "Alpha", "198.51.100.2", "AccessDenied"),
    ("10:00:03", "Mid", "", None),
    ("10:00:02", "Zeta", "198.51.100.2", None),
    ("10:00:04", "Alpha", "203.0.113.9", "Throttling"),
    ("10:00:00", "Mid", "10.0.0.1", None),
    ("10:00:06", "Alpha", "10.0.0.1", None),
]


@pytest.fixture
def store(tmp_path):
    records = [event(name, f"2026-11-20T{t}Z", ip=ip, error=err) for t, name, ip, err in _SPEC]
    write_records(trail_path(tmp_path), records)
    return load([str(tmp_path)])


def _names(store, rows, field="event"):
    return [store.value(int(r), field) for r in rows]


def _times(store, rows):
    return [store.time_ms(int(r)) for r in rows]


def test_time_order_is_the_views_own(store) -> None:
    rows = store.order
    assert sort_rows(store, rows, SortKey()) is not None
    assert np.array_equal(sort_rows(store, rows, SortKey()), rows)
    back = sort_rows(store, rows, SortKey("time", descending=True))
    assert _times(store, back) == sorted(_times(store, rows), reverse=True)


def test_by_value_not_by_code_with_time_tie_break(store) -> None:
    rows = store.order
    got = sort_rows(store, rows, SortKey("event"))
    assert _names(store, got) == ["Alpha"] * 3 + ["Mid"] * 2 + ["Zeta"] * 2
    for name in ("Alpha", "Mid", "Zeta"):  # ties stay in time order
        ts = [store.time_ms(int(r)) for r in got if store.value(int(r), "event") == name]
        assert ts == sorted(ts)
    down = sort_rows(store, rows, SortKey("event", descending=True))
    assert _names(store, down) == ["Zeta"] * 2 + ["Mid"] * 2 + ["Alpha"] * 3
    ts = [store.time_ms(int(r)) for r in down if store.value(int(r), "event") == "Zeta"]
    assert ts == sorted(ts)


def test_empty_values_sort_last_both_ways(store) -> None:
    rows = store.order
    for descending in (False, True):
        got = _names(store, sort_rows(store, rows, SortKey("ip", descending)), "ip")
        assert got[-1] == ""
        filled = [v for v in got if v]
        assert filled == sorted(filled, reverse=descending)
        errs = _names(store, sort_rows(store, rows, SortKey("error", descending)), "error")
        assert errs[:2] == sorted(["AccessDenied", "Throttling"], reverse=descending)
        assert errs[2:] == [""] * 5


def test_errors_first_then_time(store) -> None:
    got = sort_rows(store, store.order, SortKey(ERRORS_FIRST))
    assert _names(store, got, "error")[:2] == ["AccessDenied", "Throttling"]
    assert _times(store, got[:2]) == sorted(_times(store, got[:2]))
    assert _times(store, got[2:]) == sorted(_times(store, got[2:]))


def test_a_filtered_view_sorts_the_same_with_and_without_positions(store) -> None:
    view = compute_view(store, parse("-event:Mid"))
    assert view.sel is not None and len(view.rows) == 5
    for key in (SortKey("event"), SortKey("ip", True), SortKey(ERRORS_FIRST)):
        a = sort_rows(store, view.rows, key, sel=view.sel)
        b = sort_rows(store, view.rows, key)
        assert np.array_equal(a, b), key
        assert sorted(a.tolist()) == sorted(view.rows.tolist())  # each row once


def test_ranks_follow_a_growing_dictionary(tmp_path) -> None:
    write_records(trail_path(tmp_path), [event("Bravo"), event("Delta")])
    store = load([str(tmp_path)])
    ranks = Ranks(store)
    assert _names(store, sort_rows(store, store.order, SortKey("event"), ranks=ranks)) == [
        "Bravo",
        "Delta",
    ]
    # A new value that sorts between the old ones arrives (as while tailing).
    more = tmp_path / "more"
    write_records(trail_path(more), [event("Charlie", "2026-11-20T09:00:00Z")])
    load([str(more)], store=store)
    got = sort_rows(store, store.order, SortKey("event"), ranks=ranks)
    assert _names(store, got) == ["Bravo", "Charlie", "Delta"]


def test_unknown_column_is_refused(store) -> None:
    with pytest.raises(ValueError, match="cannot sort"):
        sort_rows(store, store.order, SortKey("nonsense"))


def test_ranks_placed_as_values_arrive_match_a_fresh_sort(tmp_path) -> None:
    """Values first seen in later commits (a few: placed by binary search; many: all
    sorted afresh), the empty value arriving late: the tables equal fresh ones."""
    import random

    rnd = random.Random(7)
    words = [f"{rnd.choice('abcxyz')}{rnd.randrange(10**6):06d}" for _ in range(400)]
    store = None
    kept = None
    for stage, (count, with_empty) in enumerate(
        [(200, False), (10, False), (3, True), (150, False)]
    ):
        names = [rnd.choice(words) for _ in range(count)]
        records = [
            event(
                n,
                f"2026-11-20T10:{i % 60:02d}:00Z",
                ip="" if with_empty and i == 0 else f"10.0.{stage}.{i % 250}",
            )
            for i, n in enumerate(names)
        ]
        d = tmp_path / f"s{stage}"
        write_records(trail_path(d), records)
        store = load([str(d)], store=store)
        kept = kept or Ranks(store)
        fresh = Ranks(store)
        for field in ("event", "ip"):
            for desc in (False, True):
                assert np.array_equal(kept.of(field, desc), fresh.of(field, desc)), (stage, field)
        got = sort_rows(store, store.order, SortKey("ip"), ranks=kept)
        ips = [store.value(int(r), "ip") for r in got]
        filled = [v for v in ips if v]
        assert filled == sorted(filled) and ips[len(filled) :] == [""] * (len(ips) - len(filled))


# ------------------------------------------------- the rank sort against plain sorts
@pytest.mark.parametrize(
    ("code_dtype", "rank_dtype", "n_codes"),
    [(np.uint8, np.uint16, 7), (np.uint16, np.uint16, 3000), (np.int32, np.uint32, 70_000)],
)
def test_sort_by_rank_equals_a_stable_argsort(kernel_path, code_dtype, rank_dtype, n_codes):
    """Random codes and rank tables (many codes sharing a rank, as the empty value and
    equal ranks do): the kernel's order is numpy's stable argsort of the ranks."""
    from tui.core.kernels import sort_by_rank

    rng = np.random.default_rng(n_codes)
    for n in (0, 1, 2, 17, 5000):
        codes = rng.integers(0, n_codes, n).astype(code_dtype)
        table = rng.integers(0, max(2, n_codes // 3), n_codes).astype(rank_dtype)
        rows = rng.permutation(10 * n + 1)[:n].astype(np.int64)
        got = sort_by_rank(rows, codes, table)
        want = rows[np.argsort(table[codes], kind="stable")]
        assert got.dtype == np.int64 and np.array_equal(got, want), (n, code_dtype)


def test_sort_by_rank_refuses_codes_outside_the_table() -> None:
    from tui.core import _kernels  # type: ignore[attr-defined]

    if not kernels.available():  # pragma: no cover - `make test` builds them
        pytest.fail("the C kernels are not built")
    rows = np.arange(3, dtype=np.int64)
    out = np.empty(3, np.int64)
    with pytest.raises(IndexError, match="code out of range"):
        _kernels.sort_by_rank(out, rows, np.array([0, 5, 1], np.uint8), np.zeros(4, np.uint16), 5)
    with pytest.raises(IndexError, match="rank out of range"):
        _kernels.sort_by_rank(
            out, rows, np.array([0, 1, 1], np.uint8), np.array([0, 9], np.uint16), 5
        )
    with pytest.raises(ValueError, match="one length"):
        _kernels.sort_by_rank(out[:2], rows, np.zeros(3, np.uint8), np.zeros(4, np.uint16), 5)


def _plain(store, rows, key: SortKey) -> list[int]:
    """The order by definition, in Python: filled values by value (either way), then
    the empty ones; equal values in time order (`rows` come in time order)."""
    rows = [int(r) for r in rows]
    if key.column == ERRORS_FIRST:
        failed = [r for r in rows if store.value(r, "error")]
        return failed + [r for r in rows if not store.value(r, "error")]
    filled = [r for r in rows if store.value(r, key.column)]
    empty = [r for r in rows if not store.value(r, key.column)]
    # sorted() is stable with reverse too: equal values keep their time order.
    return sorted(filled, key=lambda r: store.value(r, key.column), reverse=key.descending) + empty


@pytest.fixture
def random_store(tmp_path):
    """Two commits of random events: few values and many equal ones, empty IPs and
    errors, equal times (ties broken by the store's time order), values first seen in
    the second commit that sort between the first's."""
    import random

    rnd = random.Random(21)
    store = None
    for part in range(2):
        records = [
            event(
                rnd.choice(["Zeta", "Alpha", "Mid", "Beta", f"New{part}"]),
                f"2026-11-20T10:{rnd.randrange(3):02d}:{rnd.randrange(60):02d}Z",
                ip=rnd.choice(["", "", "10.0.0.1", "203.0.113.9", f"198.51.100.{part}"]),
                error=rnd.choice([None, None, None, "AccessDenied", "Throttling"]),
                region=rnd.choice(["us-east-1", "eu-west-1"]),
            )
            for _ in range(700)
        ]
        d = tmp_path / f"p{part}"
        write_records(trail_path(d), records)
        store = load([str(d)], store=store)
    return store


_KEYS = [
    SortKey(c, d) for c in ("event", "ip", "error", "region", "service") for d in (False, True)
] + [SortKey(ERRORS_FIRST)]


def test_every_key_and_view_equals_the_plain_order(random_store, kernel_path) -> None:
    """Every column both ways and errors first, over every event and over filtered
    views (with and without their positions), with the C rank sort and with numpy."""
    store = random_store
    ranks = Ranks(store)
    views = [compute_view(store, parse(q)) for q in ("region:eu-west-1", '-ip:""', "")]
    for key in _KEYS:
        want = _plain(store, store.order, key)
        # As on the list's thread, first with the column not built (gathered by row).
        lent = prepare_sort(store, store.order, key, ranks=ranks, lend=True)
        assert lent().tolist() == want, key
        assert sort_rows(store, store.order, key, ranks=ranks).tolist() == want, key
        lent = prepare_sort(store, store.order, key, ranks=ranks, lend=True)
        assert lent().tolist() == want, key
        for v in views:
            want = _plain(store, v.rows, key)
            assert sort_rows(store, v.rows, key, ranks=ranks, sel=v.sel).tolist() == want
            lent = prepare_sort(store, v.rows, key, ranks=ranks, sel=v.sel, lend=True)
            assert lent().tolist() == want
            assert sort_rows(store, v.rows, key).tolist() == want


def test_a_prepared_sort_sorts_the_rows_it_was_given(tmp_path) -> None:
    """A sort prepared before a commit and run after it (as on the list's thread):
    the rows it was given, in their order, though the columns grew meanwhile."""
    write_records(trail_path(tmp_path), [event("Delta", "2026-11-20T10:00:01Z"), event("Bravo")])
    store = load([str(tmp_path)])
    ranks = Ranks(store)
    rows = store.order.copy()
    view = compute_view(store, parse(""))
    job = prepare_sort(store, rows, SortKey("event"), ranks=ranks, sel=view.sel, lend=True)
    more = tmp_path / "more"
    write_records(trail_path(more), [event("Alpha", "2026-11-20T09:00:00Z")] * 3)
    load([str(more)], store=store)  # inserts before every old event in the time order
    assert _names(store, job()) == ["Bravo", "Delta"]


@pytest.mark.parametrize("run", [7, 1 << 13])
def test_ranks_sorted_in_runs_match_one_sort(tmp_path, monkeypatch, run) -> None:
    """Value orders built from sorted runs merged (big dictionaries: see _RUN), afresh
    and as values arrive, give the ranks of one sort of every value."""
    import random

    from tui.core import sorting

    monkeypatch.setattr(sorting, "_RUN", run)
    monkeypatch.setattr(sorting, "_ONE_SORT", run)
    rnd = random.Random(run)
    store = None
    kept = None
    for stage, count in enumerate([300, 20, 5]):
        records = [
            event(
                f"{rnd.choice('zZaé-')}{rnd.randrange(10**4)}",
                ip="" if i == stage else f"10.{stage}.{i % 7}.{rnd.randrange(200)}",
            )
            for i in range(count)
        ]
        d = tmp_path / f"s{stage}"
        write_records(trail_path(d), records)
        store = load([str(d)], store=store)
        kept = kept or Ranks(store)
        for field in ("event", "ip"):
            values = store.values(field)
            filled = sorted((v, c) for c, v in enumerate(values) if v)
            for desc in (False, True):
                want = np.empty(len(values), np.int64)
                for rank, (_, c) in enumerate(reversed(filled) if desc else filled):
                    want[c] = rank
                if "" in values:
                    want[values.index("")] = len(filled)
                assert kept.of(field, desc).tolist() == want.tolist(), (stage, field, desc)
                assert kept.ready(field, desc)


def test_ranks_ready_only_when_little_is_left_to_sort(tmp_path, monkeypatch) -> None:
    from tui.core import sorting

    monkeypatch.setattr(sorting, "_QUICK", 30)
    write_records(trail_path(tmp_path), [event(f"E{i:03d}") for i in range(40)])
    store = load([str(tmp_path)])
    ranks = Ranks(store)
    assert not ranks.ready("event")  # 40 values to sort, then a table of 40: 80 > 30
    ranks.of("event")
    assert ranks.ready("event") and not ranks.ready("event", descending=True)
    ranks.of("event", descending=True)
    assert ranks.ready("event", descending=True)
