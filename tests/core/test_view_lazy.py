"""Lazy views: a view of many rows keeps its positions in the time order (`sel`) and
takes its rows, times and error flags from the store's time-ordered columns when first
asked for. Each check is against the same view taken at once (LAZY_MIN above every
view) and the plain evaluation, on real gzip trails, including commits that insert
into the middle of the time order after the view was made (tailing) and sorted lists."""

from __future__ import annotations

import random

import numpy as np
import pytest

from tests.trailgen import event, trail_path, write_records
from tui.core import view as view_mod
from tui.core.batch import parse_file
from tui.core.query import parse
from tui.core.sorting import SortKey, sort_rows
from tui.core.store import Store
from tui.core.timebuckets import core_span, top_value
from tui.core.timeline import OrderedTimes, histogram
from tui.core.view import View, compute_view

SERVICES = ["s3.amazonaws.com", "ec2.amazonaws.com", "iam.amazonaws.com"]
FILTERS = (
    "service:s3.amazonaws.com",
    "has:error",
    "-service:iam.amazonaws.com event:GetObject",
    "since:2026-11-20T10:30:00Z",
    "since:2026-11-20T10:30:00Z until:2026-11-20T11:30:00Z has:error",
    "service:nope",
    "getobject",
)
EAGER = 1 << 60  # LAZY_MIN above every view: rows, times and errors taken at once


def events(rng: random.Random, n: int, batch: int, odd: bool) -> list[dict]:
    out = []
    for i in range(n):
        t = f"2026-11-20T{rng.randrange(10, 13):02d}:{rng.randrange(60):02d}:{rng.randrange(3):02d}Z"
        ev = event(
            rng.choice(["GetObject", "PutObject", "RunInstances"]),
            t,
            source=rng.choice(SERVICES),
            ip=f"198.51.100.{rng.randrange(20)}",
            error=rng.choice([None, None, "AccessDenied"]),
            event_id=f"id-{batch}-{i:04d}",
        )
        if odd and rng.random() < 0.05:
            del ev["eventTime"]  # a clamped sort key: the times do not ascend
        out.append(ev)
    return out


def add_commit(store: Store, root, rng: random.Random, batch: int, n: int, odd: bool) -> None:
    path = write_records(trail_path(root, suffix=f"{batch:016d}"), events(rng, n, batch, odd))
    store.add(parse_file(str(path)))
    store.commit()


def make_store(root, seed: int, odd: bool) -> Store:
    rng = random.Random(seed)
    st = Store()
    for b, n in enumerate((500, 60, 30)):  # later commits land in the middle of the order
        add_commit(st, root, rng, b, n, odd)
    return st


def plain_rows(store: Store, text: str, now_ms: int) -> list[int]:
    by_row = parse(text).evaluate(store, now_ms)
    return [int(r) for r in store.order if by_row[r]]


def same(lazy: View, eager: View) -> None:
    assert len(lazy) == len(eager)
    assert np.array_equal(lazy.rows, eager.rows)
    assert np.array_equal(lazy.times, eager.times)
    assert np.array_equal(lazy.errors, eager.errors)
    assert lazy.rows.dtype == eager.rows.dtype and lazy.errors.dtype == bool
    assert np.array_equal(lazy.mask, eager.mask)


NOW = 1_800_000_000_000


@pytest.mark.parametrize(("seed", "odd"), [(1, False), (2, True), (3, False)])
def test_lazy_views_equal_the_views_taken_at_once(tmp_path, monkeypatch, seed, odd):
    store = make_store(tmp_path, seed, odd)
    fields = ("service", "event", "ip")
    for text in FILTERS:
        monkeypatch.setattr(view_mod, "LAZY_MIN", EAGER)
        eager = compute_view(store, parse(text), fields, now_ms=NOW, facet_top=5)
        monkeypatch.setattr(view_mod, "LAZY_MIN", 0)
        lazy = compute_view(store, parse(text), fields, now_ms=NOW, facet_top=5)
        assert lazy.lazy and not eager.lazy, text
        assert lazy.sel is not None and np.array_equal(lazy.sel, eager.sel)
        # Counted, top values and the page of the list without taking anything.
        assert len(lazy) == len(eager)
        for name in fields:
            assert lazy.facet(store, name, 5) == eager.facet(store, name, 5)
            assert np.array_equal(lazy.counts(store, name), eager.counts(store, name))
        page = lazy.row_list()
        assert [int(page[i]) for i in range(min(20, len(page)))] == eager.rows[:20].tolist()
        assert lazy.lazy, text
        same(lazy, eager)
        assert not lazy.lazy
        assert lazy.rows.tolist() == plain_rows(store, text, NOW), text


def test_narrowed_and_split_lazy_views_equal_the_plain_ones(tmp_path, monkeypatch):
    store = make_store(tmp_path, 5, False)
    monkeypatch.setattr(view_mod, "SPLIT_MIN", 40)
    monkeypatch.setattr(view_mod, "_workers", lambda: 3)
    monkeypatch.setattr(view_mod, "_pool", None)
    monkeypatch.setattr(view_mod, "LAZY_MIN", 0)
    for base, extra in (
        ("-event:PutObject", "has:error"),
        ("-service:iam.amazonaws.com", "service:s3.amazonaws.com"),
    ):
        b = compute_view(store, parse(base), now_ms=NOW)
        v = compute_view(store, parse(f"{base} {extra}"), base=b, now_ms=NOW)
        assert b.lazy and v.lazy
        assert v.rows.tolist() == plain_rows(store, f"{base} {extra}", NOW)
        assert v.times.tolist() == [store.time_ms(r) for r in v.rows.tolist()]
        assert v.errors.tolist() == [store.value(r, "error") != "" for r in v.rows.tolist()]
        assert b.rows.tolist() == plain_rows(store, base, NOW)


@pytest.mark.parametrize("lazy_min", [0, EAGER])
def test_split_views_equal_the_plain_ones_on_either_kernel_path(
    tmp_path, monkeypatch, kernel_path, lazy_min
):
    """The matching positions of a big view's slices, written by the selection kernel
    (C, or numpy) straight into one array with the error flags taken there (and the
    rows and times under LAZY_MIN), equal the plain evaluation; so do the narrowed."""
    store = make_store(tmp_path, 5, True)
    monkeypatch.setattr(view_mod, "SPLIT_MIN", 40)
    monkeypatch.setattr(view_mod, "_workers", lambda: 3)
    monkeypatch.setattr(view_mod, "_pool", None)
    monkeypatch.setattr(view_mod, "LAZY_MIN", lazy_min)
    for base, extra in (
        ("-event:PutObject", "has:error"),
        ("-service:iam.amazonaws.com", "service:s3.amazonaws.com"),
        ("service:nope", "has:error"),
    ):
        b = compute_view(store, parse(base), now_ms=NOW)
        v = compute_view(store, parse(f"{base} {extra}"), base=b, now_ms=NOW)
        for view, text in ((b, base), (v, f"{base} {extra}")):
            assert view.lazy == (lazy_min == 0), text
            want = plain_rows(store, text, NOW)
            assert view.errors.tolist() == [store.value(r, "error") != "" for r in want]
            assert view.rows.tolist() == want, text
            assert view.times.tolist() == [store.time_ms(r) for r in want]


@pytest.mark.parametrize("taken", ["nothing", "rows", "times"])
def test_a_lazy_view_keeps_its_rows_across_commits(tmp_path, monkeypatch, taken):
    """A commit inserts into the time order and its columns in place; a lazy view made
    before it takes its rows first, so it still lists what it matched then."""
    store = make_store(tmp_path, 7, False)
    rng = random.Random(70)
    views = []
    for text in FILTERS:
        monkeypatch.setattr(view_mod, "LAZY_MIN", EAGER)
        eager = compute_view(store, parse(text), now_ms=NOW)
        monkeypatch.setattr(view_mod, "LAZY_MIN", 0)
        lazy = compute_view(store, parse(text), now_ms=NOW)
        if taken == "rows":
            lazy.rows  # noqa: B018 - taken before the commit, times and errors after
        elif taken == "times":
            lazy.times  # noqa: B018
        views.append((text, eager, lazy, lazy.row_list()))
    for b in range(3, 7):  # tailing: events of every hour, into the middle of the order
        add_commit(store, tmp_path, rng, b, 25, False)
    for text, eager, lazy, page in views:
        assert not lazy.lazy, text
        same(lazy, eager)
        assert [int(page[i]) for i in range(len(page))] == eager.rows.tolist()
        # Its successor over the grown store, counted from it.
        again = compute_view(store, parse(text), ("service",), previous=lazy, now_ms=NOW)
        assert again.rows.tolist() == plain_rows(store, text, NOW), text
        assert np.array_equal(
            again.counts(store, "service"),
            np.bincount(store.codes("service")[again.rows], minlength=len(store.values("service"))),
        )


def test_a_lazy_view_keeps_its_rows_when_the_order_is_made_afresh(tmp_path, monkeypatch):
    """A commit bigger than the store sorts the order anew (new arrays): the lazy view
    takes its rows then too, and does not keep the old arrays."""
    store = make_store(tmp_path, 8, False)
    monkeypatch.setattr(view_mod, "LAZY_MIN", 0)
    v = compute_view(store, parse("has:error"), now_ms=NOW)
    want = plain_rows(store, "has:error", NOW)
    add_commit(store, tmp_path, random.Random(80), 9, 2 * len(store), False)
    assert not v.lazy and v._src is None
    assert v.rows.tolist() == want


def test_view_rows_and_ordered_times_read_through_the_positions(tmp_path, monkeypatch):
    store = make_store(tmp_path, 9, False)
    monkeypatch.setattr(view_mod, "LAZY_MIN", 0)
    for text in FILTERS[:5]:
        v = compute_view(store, parse(text), now_ms=NOW)
        assert v.ascending and v.lazy
        rows, times = v.row_list(), v.ordered_times()
        assert isinstance(times, OrderedTimes)
        want_rows = plain_rows(store, text, NOW)
        want_times = np.array([store.time_ms(r) for r in want_rows], np.int64)
        n = len(want_rows)
        assert len(rows) == len(times) == times.size == n
        for i in (0, 1, n // 2, n - 1, -1, -n):
            assert int(rows[i]) == want_rows[i] and int(times[i]) == want_times[i]
        assert rows[3:17].tolist() == want_rows[3:17]
        assert np.asarray(times[5:40]).tolist() == want_times[5:40].tolist()
        probes = np.unique(
            np.concatenate(
                [want_times, want_times - 1, want_times + 1, [0, 2**62, int(want_times[0])]]
            )
        )
        for side in ("left", "right"):
            assert np.array_equal(
                np.searchsorted(times, probes, side=side),  # type: ignore[call-overload]
                np.searchsorted(want_times, probes, side=side),
            )
        assert core_span(times) == core_span(want_times)
        errors = v.errors
        for width, lo, hi, step in ((150, None, None, None), (40, None, None, None),
                                    (30, int(want_times[n // 3]), int(want_times[-1]), 60_000)):  # fmt: skip
            got = histogram(times, errors, width, lo, hi, step, presorted=True)
            exp = histogram(want_times, errors, width, lo, hi, step, presorted=True)
            assert (got.start_ms, got.bucket_ms) == (exp.start_ms, exp.bucket_ms)
            assert np.array_equal(got.counts, exp.counts) and np.array_equal(got.errors, exp.errors)
        lo, hi = int(want_times[n // 4]), int(want_times[n // 2]) + 1
        got_top = top_value(store, "principal", rows, times, lo, hi)  # type: ignore[arg-type]
        assert got_top == top_value(store, "principal", np.array(want_rows), want_times, lo, hi)
        assert v.lazy  # none of the above took the rows or times
    with pytest.raises(IndexError):
        OrderedTimes(np.arange(5), np.arange(3))[::2]


@pytest.mark.parametrize("column", ["principal", "service", "errors"])
def test_a_lazy_views_rows_sort_as_the_taken_ones(tmp_path, monkeypatch, column):
    store = make_store(tmp_path, 11, True)
    key = SortKey(column, descending=column != "errors")
    for text in FILTERS[:4]:
        monkeypatch.setattr(view_mod, "LAZY_MIN", EAGER)
        eager = compute_view(store, parse(text), now_ms=NOW)
        monkeypatch.setattr(view_mod, "LAZY_MIN", 0)
        lazy = compute_view(store, parse(text), now_ms=NOW)
        got = sort_rows(store, np.asarray(lazy.row_list()), key, sel=lazy.sel)
        assert np.array_equal(got, sort_rows(store, eager.rows, key, sel=eager.sel))
