"""Views computed by parts of the time order: a time range as a stretch of the order
(binary search on the sort keys), big views evaluated in slices on the view pool, a
filter that narrows the view on screen tested at that view's positions only, and the
unfiltered view. Each is checked against the plain evaluation over the store's own
row order (no stretches, no slices), on real gzip trails."""

from __future__ import annotations

import random

import numpy as np
import pytest

from tests.trailgen import event, trail_path, write_records
from tui.core import view as view_mod
from tui.core.batch import parse_file
from tui.core.loader import load
from tui.core.normalize import NO_TIME
from tui.core.query import And, Not, Query, Term, Time, ValueMatcher, parse
from tui.core.store import Store
from tui.core.store.ordered import TIME_MAX
from tui.core.view import View, compute_view

SERVICES = ["s3.amazonaws.com", "ec2.amazonaws.com", "iam.amazonaws.com"]
# Times the sort keys clamp (before 1970, past 2527, none) next to ordinary ones, and
# many events per second (equal times: ordered by eventID inside).
ODD_TIMES = ["1960-05-01T00:00:00Z", "1969-12-31T23:59:59.999Z", "2600-01-01T00:00:00Z", None]


def events(rng: random.Random, n: int, batch: int) -> list[dict]:
    out = []
    for i in range(n):
        if rng.random() < 0.08:
            t = rng.choice(ODD_TIMES)
        else:
            t = f"2026-11-20T{rng.randrange(10, 13):02d}:{rng.randrange(3):02d}:00Z"
        ev = event(
            rng.choice(["GetObject", "PutObject", "RunInstances"]),
            t or "",
            source=rng.choice(SERVICES),
            error=rng.choice([None, None, "AccessDenied"]),
            event_id=f"id-{batch}-{i:04d}",
        )
        if t is None:
            del ev["eventTime"]
        out.append(ev)
    return out


@pytest.fixture
def store(tmp_path) -> Store:
    rng = random.Random(3)
    st = Store()
    # A big first commit, then small ones inserted in the middle of the time order.
    for b, n in enumerate((700, 40, 40)):
        path = write_records(trail_path(tmp_path, suffix=f"{b:016d}"), events(rng, n, b))
        st.add(parse_file(str(path)))
        st.commit()
    return st


def plain(store: Store, q: Query) -> list[int]:
    """The matching rows in time order, from a mask over the store's own row order."""
    by_row = q.evaluate(store)
    return [int(r) for r in store.order if by_row[r]]


def check_view(store: Store, q: Query, **kw) -> View:
    want = plain(store, q)
    v = compute_view(store, q, **kw)
    assert v.rows.tolist() == want, q.text
    assert v.times.tolist() == [store.time_ms(r) for r in want]
    assert v.errors.tolist() == [store.value(r, "error") != "" for r in want]
    if v.sel is not None:
        assert np.array_equal(store.order[v.sel], v.rows)
    in_order = q.evaluate(store.time_ordered())
    assert np.array_equal(in_order, q.evaluate(store)[store.order]), q.text
    return v


def window(lo: int | None, hi: int | None, *rest) -> Query:
    times = ([Time("since", "abs", lo)] if lo is not None else []) + (
        [Time("until", "abs", hi)] if hi is not None else []
    )
    kids = (*times, *rest)
    return Query("window", kids[0] if len(kids) == 1 else And(kids))


S3 = Term("service", ValueMatcher.exact("s3.amazonaws.com"))


def test_time_ranges_are_stretches_of_the_order(store):
    times = sorted({store.time_ms(r) for r in range(len(store))} - {NO_TIME})
    assert len(times) > 10
    edges = [None, -(2**63) + 1, -1, 0, 1, TIME_MAX, TIME_MAX + 1, 2**62]
    for t in times[::3]:
        edges += [t - 1, t, t + 1]  # on, just before and just after events (many share t)
    rng = random.Random(7)
    ordered = store.time_ordered()
    for _ in range(300):
        lo, hi = rng.choice(edges), rng.choice(edges)
        q = window(lo, hi)
        if lo is None and hi is None:
            continue
        want = q.evaluate(store)[store.order]
        start, stop, exact = ordered.time_span(lo, hi)
        assert not want[:start].any() and not want[stop:].any(), (lo, hi)
        if exact:
            assert want[start:stop].all(), (lo, hi)
        check_view(store, q)
        check_view(store, window(lo, hi, S3))
        check_view(store, window(lo, hi, Not(S3), parse("has:error").root))


def test_empty_and_inverted_ranges_match_nothing(store):
    t = store.time_ms(int(store.order[len(store) // 2]))
    for lo, hi in ((t, t), (t + 5, t), (2**62, None), (None, -(2**62) - 7)):
        v = check_view(store, window(lo, hi))
        assert len(v.rows) == 0


def test_parsed_time_filters_with_other_terms(store):
    for text in (
        "since:2026-11-20T11:00:00Z",
        "until:2026-11-20T11:01:00Z service:s3.amazonaws.com",
        "since:2026-11-20T10:01:00Z until:2026-11-20T12:00:00Z -has:error",
        "since:-30m",
        "since:-1h until:-10m event:GetObject",
        "since:1970-01-01 until:2026-11-20T10:00:00Z",
        "since:2500-01-01",
        "since:-1h OR service:iam.amazonaws.com",
        "(since:-1h) has:error last:10m",
    ):
        check_view(store, parse(text), now_ms=1_800_000_000_000)


def test_newest_time_in_time_order_is_the_stores(store):
    # The newest time is past 2527 (a clamped key): the largest of that run.
    assert store.time_ordered().newest_time_ms() == store.newest_time_ms()
    assert store.newest_time_ms() > TIME_MAX
    plain_times = Store()
    assert plain_times.time_ordered().newest_time_ms() is None


def test_newest_time_of_ordinary_times(tmp_path):
    path = write_records(
        trail_path(tmp_path),
        [event("A", "2026-11-20T10:00:00Z"), event("B", "2026-11-20T10:00:00.250Z")],
    )
    st = load([path.parent])
    assert st.time_ordered().newest_time_ms() == st.newest_time_ms()
    assert st.newest_time_ms() % 1000 == 250


@pytest.mark.parametrize("workers", [2, 3])
def test_views_split_into_slices_equal_the_plain_ones(store, monkeypatch, workers):
    monkeypatch.setattr(view_mod, "SPLIT_MIN", 50)
    monkeypatch.setattr(view_mod, "_workers", lambda: workers)
    monkeypatch.setattr(view_mod, "_pool", None)
    assert len(view_mod._slices(0, len(store), True)) == workers
    for text in (
        "service:s3.amazonaws.com",
        "-service:s3.amazonaws.com has:error",
        "event:GetObject OR event:RunInstances",
        "service:*.amazonaws.com",  # every event: the store's own arrays
        "has:time",
        "service:nope",
        "getobject",
        "since:2026-11-20T10:01:00Z service:ec2.amazonaws.com",
        "has:error last:30m",  # the newest match is over the whole order: one piece
    ):
        v = check_view(store, parse(text), now_ms=1_800_000_000_000)
        if len(v.rows) == len(store):
            assert v.sel is None and v.rows is not None


def test_unfiltered_view_is_the_time_order(store):
    narrow = compute_view(store, parse("service:s3.amazonaws.com"))
    cleared = check_view(store, parse(""), base=narrow)
    assert cleared.sel is None
    assert np.array_equal(cleared.rows, store.order)
    again = compute_view(store, parse(""))
    assert np.array_equal(again.rows, cleared.rows)
    assert again.facet(store, "service", None) == cleared.facet(store, "service", None)


@pytest.mark.parametrize(
    ("base", "pick"),
    [
        ("has:error", "has:error service:s3.amazonaws.com"),
        ("has:error", "service:ec2.amazonaws.com has:error -event:RunInstances"),
        (
            "service:s3.amazonaws.com OR event:RunInstances",
            "(service:s3.amazonaws.com OR event:RunInstances) getobject",
        ),
        ("since:2026-11-20T10:01:00Z", "since:2026-11-20T10:01:00Z service:iam.amazonaws.com"),
        ("-service:iam.amazonaws.com", "-service:iam.amazonaws.com until:2026-11-20T11:00:00Z"),
        ("has:error", "has:error service:nope"),
    ],
)
def test_a_filter_that_narrows_the_view_is_tested_at_its_positions(store, base, pick):
    b = compute_view(store, parse(base))
    assert b.sel is not None
    q = parse(pick)
    assert q.narrowing(b.query) is not None
    check_view(store, q, base=b)


@pytest.mark.parametrize("workers", [2, 3])
def test_a_narrowing_of_a_big_view_tested_in_slices_equals_the_plain_one(
    store, monkeypatch, workers
):
    monkeypatch.setattr(view_mod, "SPLIT_MIN", 50)
    monkeypatch.setattr(view_mod, "_workers", lambda: workers)
    monkeypatch.setattr(view_mod, "_pool", None)
    for base, extra in (
        ("-event:PutObject", "has:error"),
        ("-event:PutObject", "service:s3.amazonaws.com -has:error"),
        ("has:time", "getobject"),
        ("has:time", "service:nope"),
        ("-event:PutObject", "service:*.amazonaws.com"),  # every base row kept
    ):
        b = compute_view(store, parse(base))
        assert b.sel is not None and len(view_mod._slices(0, len(b.sel), True)) == workers
        q = parse(f"{base} {extra}")
        assert q.narrowing(b.query) is not None
        v = check_view(store, q, base=b)
        assert v.sel is not None and np.array_equal(v.sel, compute_view(store, q).sel)


def test_what_is_not_a_narrowing(store, tmp_path):
    q = parse("has:error service:s3.amazonaws.com")
    assert parse("service:s3.amazonaws.com").narrowing(parse("has:error")) is None
    assert parse("has:error").narrowing(parse("has:error")) is None  # the same filter
    assert q.narrowing(parse("has:error OR service:x")) is None
    assert parse("since:-1h has:error").narrowing(parse("since:-1h")) is None  # relative
    assert parse("mark:x has:error").narrowing(parse("mark:x")) is None  # marks change
    assert parse("has:error last:1h").narrowing(parse("has:error")) is None
    # A base view from before the last commit is not used.
    b = compute_view(store, parse("has:error"))
    path = write_records(
        trail_path(tmp_path / "more", suffix="9" * 16),
        [
            event(
                "Late",
                "2026-11-20T10:30:00Z",
                source="s3.amazonaws.com",
                error="AccessDenied",
                event_id="late-1",
            )
        ],
    )
    store.add(parse_file(str(path)))
    store.commit()
    v = check_view(store, q, base=b)
    assert "Late" in {store.value(int(r), "event") for r in v.rows}


def test_views_say_whether_their_times_ascend(store, tmp_path):
    # Clamped times (none, before 1970, after 2527) are ordered by eventID: unknown.
    assert not compute_view(store, parse("")).ascending
    # Clamped keys order by eventID: a time before 1970 can come before a missing one.
    old = event("Old", "1960-01-01T00:00:00Z", event_id="0aaa")
    none = event("None", "2026-11-20T10:00:00Z", event_id="ffff")
    del none["eventTime"]
    odd = load([write_records(trail_path(tmp_path / "odd"), [old, none]).parent])
    v = compute_view(odd, parse(""))
    assert not v.ascending and not bool((v.times[1:] >= v.times[:-1]).all())
    rng = random.Random(4)
    evs = [e for e in events(rng, 300, 0) if e.get("eventTime") not in ODD_TIMES + [""]]
    plain_store = load([write_records(trail_path(tmp_path / "plain"), evs).parent])
    for text in ("", "service:s3.amazonaws.com", "since:2026-11-20T11:00:00Z"):
        v = compute_view(plain_store, parse(text))
        assert v.ascending, text
        assert bool((v.times[1:] >= v.times[:-1]).all())
