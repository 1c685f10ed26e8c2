"""Views (rows, timeline inputs, facet counts) against a brute-force recomputation, on
real trail files, including the incremental path used while tailing."""

from __future__ import annotations

import random
from collections import Counter

import numpy as np
import pytest

from tests.trailgen import event, trail_path, write_records
from tui.core.batch import parse_file
from tui.core.fields import FIELD_INDEX
from tui.core.loader import load
from tui.core.query import QueryError, parse
from tui.core.store import Store
from tui.core.view import compute_view, top_values

SERVICES = ["s3.amazonaws.com", "ec2.amazonaws.com", "iam.amazonaws.com", "sts.amazonaws.com"]
IPS = ["198.51.100.7", "203.0.113.9", "AWS Internal", "192.0.2.44", "198.51.100.8"]


def random_events(rng: random.Random, n: int, day: int = 20) -> list[dict]:
    out = []
    for _ in range(n):
        out.append(
            event(
                rng.choice(["GetObject", "PutObject", "RunInstances", "AssumeRole"]),
                f"2026-11-{day:02d}T{rng.randrange(24):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}Z",
                source=rng.choice(SERVICES),
                ip=rng.choice(IPS),
                error=rng.choice([None, None, "AccessDenied"]),
            )
        )
    return out


@pytest.fixture()
def trail(tmp_path):
    rng = random.Random(11)
    for i in range(6):
        write_records(trail_path(tmp_path, suffix=f"{i:016d}"), random_events(rng, 80))
    return tmp_path


def brute(store: Store, text: str, name: str) -> tuple[list[int], Counter]:
    mask = parse(text).evaluate(store)
    rows = [int(r) for r in store.ordered() if mask[r]]
    return rows, Counter(store.value(r, name) for r in rows)


@pytest.mark.parametrize(
    "text",
    ["", "service:s3.amazonaws.com", '-ip:"AWS Internal" has:error', "getobject", "service:nope"],
)
def test_view_matches_brute_force(trail, text):
    store = load([trail])
    view = compute_view(store, parse(text), ("service", "ip"))
    rows, by_ip = brute(store, text, "ip")
    assert view.rows.tolist() == rows
    assert view.times.tolist() == [store.time_ms(r) for r in rows]
    assert view.errors.tolist() == [store.value(r, "error") != "" for r in rows]
    counts, distinct = view.facet(store, "ip", None)
    assert dict(counts) == dict(by_ip)
    assert distinct == len(by_ip)
    # A field not asked for up front is counted on demand, the same way.
    _, by_event = brute(store, text, "event")
    assert dict(view.facet(store, "event", None)[0]) == dict(by_event)


def test_view_errors_propagate(trail):
    store = load([trail])
    with pytest.raises(QueryError):
        compute_view(store, parse("has:nosuchthing"))


def test_incremental_counts_after_commit_equal_a_full_recount(trail, tmp_path_factory):
    store = load([trail])
    q = parse("has:error")
    before = compute_view(store, q, ("service", "ip"))
    # New events land (older and newer than what is loaded), including a new IP value.
    rng = random.Random(5)
    more = random_events(rng, 50, day=19) + random_events(rng, 50, day=21)
    more.append(event("GetObject", "2026-11-21T00:00:00Z", ip="192.0.2.250", error="Denied"))
    extra = tmp_path_factory.mktemp("more")
    path = write_records(trail_path(extra, suffix="z" * 16), more)
    store.add(parse_file(str(path)))
    store.commit()
    after = compute_view(store, q, ("service", "ip"), previous=before)
    fresh = compute_view(store, q, ("service", "ip"))
    assert after.rows.tolist() == fresh.rows.tolist()
    for name in ("service", "ip"):
        assert np.array_equal(after.bins[name], fresh.bins[name])
    assert dict(after.facet(store, "ip", None)[0])["192.0.2.250"] == 1
    # The incremental path really ran: a mark in the old counts is carried over.
    before.bins["service"][0] += 1000
    marked = compute_view(store, q, ("service",), previous=before)
    assert marked.bins["service"][0] == fresh.bins["service"][0] + 1000


def test_changed_verdicts_fall_back_to_a_full_recount(trail, tmp_path_factory):
    """`has:conflict` flips old rows when a conflicting record arrives: the old
    counts must not be reused."""
    store = load([trail])
    q = parse("has:conflict")
    before = compute_view(store, q, ("event",))
    assert len(before) == 0
    victim = store.event(int(store.order[0]))
    tampered = dict(victim, sourceIPAddress="203.0.113.66")
    extra = tmp_path_factory.mktemp("tamper")
    path = write_records(trail_path(extra, suffix="t" * 16), [tampered])
    store.add(parse_file(str(path)))
    store.commit()
    before.bins["event"][0] += 1000  # would show up if the old counts were reused
    after = compute_view(store, q, ("event",), previous=before)
    assert len(after) == 2
    assert dict(after.facet(store, "event", None)[0]) == {victim["eventName"]: 2}


def test_top_values_order_ties_and_cut():
    values = ["", "a", "b", "c", "d"]
    bins = np.array([0, 5, 7, 5, 1])
    assert top_values(bins, values, None) == ([("b", 7), ("a", 5), ("c", 5), ("d", 1)], 4)
    # Ties at the cut are broken by value, never arbitrarily.
    assert top_values(bins, values, 2) == ([("b", 7), ("a", 5)], 4)
    assert top_values(np.zeros(3, np.int64), ["", "x", "y"], 2) == ([], 0)


def test_time_ordered_columns_stay_exact_across_commits(tmp_path):
    """The store keeps times/errors in time order by inserting each commit's rows; after
    many commits (ties on the same millisecond included) they equal a fresh gather."""
    rng = random.Random(2)
    store = Store()
    base = random_events(rng, 400)
    path = write_records(trail_path(tmp_path, suffix="0" * 16), base)
    store.add(parse_file(str(path)))
    store.commit()
    store.times_in_order(), store.errors_in_order()  # cached, then kept up to date
    for i in range(1, 8):
        evs = random_events(rng, 20)
        # Same time as a loaded event and as each other: ties the sort keys may not break.
        evs += [event("Tie", base[i]["eventTime"], error=rng.choice([None, "X"])) for _ in range(3)]
        path = write_records(trail_path(tmp_path, suffix=f"{i:016d}"), evs)
        store.add(parse_file(str(path)))
        store.commit()
        assert np.array_equal(store.times_in_order(), store.times[store.order])
        assert np.array_equal(store.errors_in_order(), store.codes("error")[store.order] != 0)
    keys = [(store.time_ms(r), store.id_prefixes[r].tobytes(), r) for r in store.order.tolist()]
    assert keys == sorted(keys)


def test_time_ordered_target_gives_the_store_masks_in_time_order(tmp_path):
    """Queries evaluated over the time-ordered columns (what views use) give exactly the
    store-order verdicts gathered through `order`, for every kind of term, across
    commits that insert rows in the middle and flag stored rows as conflicting."""
    rng = random.Random(5)
    store = Store()
    queries = [
        "service:s3.amazonaws.com",
        '-ip:"AWS Internal" has:error',
        "ip:198.51.100.*",
        "is:ipv4",
        "is:internal",
        "has:conflict",
        "is:dup-id",
        "has:eventid",
        "readonly:true",
        "getobject OR event:AssumeRole",
        "since:2026-11-20T06:00:00Z until:2026-11-20T18:00:00Z",
        "(service:ec2.amazonaws.com OR service:iam.amazonaws.com) -error:AccessDenied",
        "",
    ]
    loaded: list[dict] = []
    for i in range(6):
        # Later commits are small next to the store: their rows are inserted into the
        # time-ordered columns (the path that must keep them exact).
        evs = random_events(rng, 600 if i == 0 else 20)
        for j, ev in enumerate(evs):
            ev["eventID"] = f"id-{i}-{j}"
            ev["readOnly"] = rng.choice([True, False])
        if loaded:  # same eventID as a stored event, different content: both flagged
            clash = dict(rng.choice(loaded))
            clash["eventName"] = "Clash"
            clash["eventTime"] = "2026-11-21T00:00:00Z"  # sorts apart from its twin
            evs.append(clash)
        loaded += evs
        path = write_records(trail_path(tmp_path, suffix=f"{i:016d}"), evs)
        store.add(parse_file(str(path)))
        store.commit()
        ordered = store.time_ordered()
        for text in queries:
            q = parse(text)
            want = q.evaluate(store)[store.order]
            assert np.array_equal(q.evaluate(ordered), want), (i, text)
            view = compute_view(store, q, ("ip", "service"))
            assert view.rows.tolist() == [int(r) for r in store.order[want]]
            assert np.array_equal(np.flatnonzero(view.mask), np.sort(view.rows))
            for name in ("ip", "service", "event"):
                got = view.counts(store, name)
                assert (
                    got.tolist()
                    == np.bincount(
                        store.codes(name)[view.rows], minlength=len(store.values(name))
                    ).tolist()
                )
        in_order = store.time_order.column(FIELD_INDEX["ip"])
        assert np.array_equal(in_order, store.codes("ip")[store.order])
    assert store.conflicts > 0


def test_new_values_reported_for_batches_from_the_parser_process(tmp_path):
    """Live tail in the explorer parses in a worker process whose persistent encoder
    teaches the store new values at add() time; commit must still report them as new
    (the explorer highlights never-seen IPs and principals from this)."""
    from tui.core.discovery import TrailFile
    from tui.core.loader import parser_process
    from tui.core.tail import read_files

    store = Store()
    first = write_records(trail_path(tmp_path, suffix="a" * 16), [event(ip="198.51.100.7")])
    second = write_records(
        trail_path(tmp_path, suffix="b" * 16), [event(ip="198.51.100.7"), event(ip="203.0.113.250")]
    )
    with parser_process() as pool:
        for path, expect in ((first, {"198.51.100.7"}), (second, {"203.0.113.250"})):
            tf = TrailFile(str(path), "log", path.stat().st_size, path.stat().st_mtime_ns)
            (batch,) = pool.submit(read_files, [tf]).result(timeout=60)
            assert batch.enc_token  # really the persistent-encoder path
            store.add(batch)
            res = store.commit()
            assert {store.values("ip")[c] for c in res.new_values["ip"]} == expect


@pytest.mark.parametrize("text", ["has:error", "-has:error"])  # few rows match / most do
def test_counts_of_a_view_after_the_store_grew(trail, tmp_path_factory, text):
    """The explorer keeps showing a view while newer events are committed; counting a
    field for it then covers the rows it was computed on, not the new ones."""
    store = load([trail])
    q = parse(text)
    view = compute_view(store, q)
    before = dict(view.facet(store, "ip", None)[0])
    extra = tmp_path_factory.mktemp("grow")
    path = write_records(
        trail_path(extra, suffix="g" * 16),
        [event(ip="192.0.2.99", error="Denied") for _ in range(5)],
    )
    store.add(parse_file(str(path)))
    store.commit()
    assert dict(view.facet(store, "ip", None)[0]) == before
    assert dict(view.facet(store, "service", None)[0]) == dict(
        Counter(store.value(int(r), "service") for r in view.rows)
    )


def test_all_events_view_uses_the_stores_cached_counts(trail, tmp_path_factory):
    store = load([trail])
    q = parse("")
    v1 = compute_view(store, q, ("service",))
    v2 = compute_view(store, q, ("service",))
    assert v1.bins["service"] is v2.bins["service"]  # counted once per generation
    assert not v1.bins["service"].flags.writeable
    want = Counter(store.value(r, "service") for r in range(len(store)))
    assert dict(v1.facet(store, "service", None)[0]) == dict(want)
    # A commit makes a new generation: counted again, including the new rows.
    extra = tmp_path_factory.mktemp("more")
    more = [event("GetObject", "2026-11-21T00:00:00Z", source="brandnew.amazonaws.com")]
    store.add(parse_file(str(write_records(trail_path(extra, suffix="y" * 16), more))))
    store.commit()
    v3 = compute_view(store, q, ("service",))
    assert v3.bins["service"] is not v1.bins["service"]
    assert dict(v3.facet(store, "service", None)[0])["brandnew.amazonaws.com"] == 1
    assert sum(c for _, c in v3.facet(store, "service", None)[0]) == len(store)


def test_wildcard_terms_see_values_added_by_later_commits(tmp_path):
    """Wildcard terms remember which values matched (views are recomputed on every
    commit while tailing); values that arrive later are tested too."""
    store = Store()
    q = parse("ip:198.51.100.* -ip:*.8")
    for i, ips in enumerate(
        [
            ["198.51.100.7", "203.0.113.9"],
            ["198.51.100.99", "198.51.100.8"],
            ["192.0.2.1", "198.51.100.123"],
        ]
    ):
        evs = [
            event("GetObject", f"2026-11-20T10:0{i}:{j:02d}Z", ip=ip) for j, ip in enumerate(ips)
        ]
        store.add(parse_file(str(write_records(trail_path(tmp_path, suffix=f"{i:016d}"), evs))))
        store.commit()
        got = sorted(store.value(int(r), "ip") for r in compute_view(store, q).rows)
        want = sorted(
            store.value(r, "ip")
            for r in range(len(store))
            if store.value(r, "ip").startswith("198.51.100.")
            and not store.value(r, "ip").endswith(".8")
        )
        assert got == want
    assert got == ["198.51.100.123", "198.51.100.7", "198.51.100.99"]


def test_count_codes_matches_bincount(kernel_path: str) -> None:
    """The facet-count kernel (C when built, numpy otherwise) counts exactly what
    np.bincount of the gathered codes does, for the shapes views pass it."""
    from tui.core import kernels
    from tui.core.batch import native_available
    from tui.core.kernels import count_codes

    assert kernels.available() == native_available()  # `make test` builds both
    rng = np.random.default_rng(5)
    for n, size, share in [(0, 1, 0.5), (1, 1, 1.0), (1000, 7, 0.1), (200_000, 5000, 0.3)]:
        codes = rng.integers(0, size, n).astype(np.int32)
        at = np.flatnonzero(rng.random(n) < share)
        want = np.bincount(codes[at], minlength=size)
        got = count_codes(codes, at, size)
        assert got.dtype == want.dtype and np.array_equal(got, want)
        # Other dtypes and strided arrays take numpy's path, with the same answer.
        assert np.array_equal(count_codes(codes.astype(np.int64), at, size), want)
        assert np.array_equal(count_codes(codes, at.astype(np.int32), size), want)
    if kernel_path == "kernel":  # the kernel checks its input rather than trusting it
        codes = np.array([0, 1, 2], np.int32)
        with pytest.raises(IndexError):
            count_codes(codes, np.array([3], np.int64), 3)  # a position past the column
        with pytest.raises(IndexError):
            count_codes(codes, np.array([2], np.int64), 2)  # a code past the counts
        with pytest.raises(IndexError):
            count_codes(codes, np.array([-1], np.int64), 3)


# Mask sizes around select_at's blocks (2048 entries) and its 64-entry runs of misses.
SELECT_SIZES = [0, 1, 7, 63, 64, 65, 127, 2047, 2048, 2049, 4096, 5000, 20_001]


@pytest.mark.parametrize("share", [0.0, 0.003, 0.4, 0.97, 1.0])
def test_select_at_equals_flatnonzero_and_take(kernel_path: str, share: float) -> None:
    """The selection kernel (C when built, numpy otherwise) writes exactly the
    positions flatnonzero finds (offset by `base`, or read through `sel`) into a
    stretch of a bigger array, and takes the columns there as fancy indexing does,
    at every size around its block boundaries."""
    from tui.core.kernels import select_at

    rng = np.random.default_rng(int(share * 1000) + 7)
    col_bool = rng.random(60_000) < 0.3
    col_i64 = rng.integers(-(2**40), 2**40, 60_000)
    col_i32 = rng.integers(-(2**31), 2**31 - 1, 60_000).astype(np.int32)  # 4-byte items
    for n in SELECT_SIZES:
        mask = rng.random(n) < share
        want_at = np.flatnonzero(mask)
        for base, sel in [
            (0, None),
            (17, None),
            (0, np.sort(rng.choice(60_000, n, replace=False)).astype(np.int64)),
        ]:
            want = want_at + base if sel is None else sel[want_at]
            k = len(want)
            out = np.full(k + 6, -1, np.int64)  # the positions go to out[3:-3]
            dsts = [np.zeros(k, c.dtype) for c in (col_bool, col_i64, col_i32)]
            take = list(zip((col_bool, col_i64, col_i32), dsts, strict=True))
            select_at(out[3 : 3 + k], mask, base, sel, take)
            assert out[3 : 3 + k].tolist() == want.tolist()
            assert out[:3].tolist() == [-1] * 3 and out[3 + k :].tolist() == [-1] * 3
            for (src, _), dst in zip(take, dsts, strict=True):
                assert np.array_equal(dst, src[want])


def test_select_at_refuses_what_does_not_fit(kernel_path: str) -> None:
    """A wrong count of places, a position past a column taken: an error, not a write
    out of bounds."""
    from tui.core.kernels import select_at

    mask = np.array([True, False, True, True] * 600)
    with pytest.raises((ValueError, IndexError)):
        select_at(np.empty(10, np.int64), mask)  # 1800 positions
    with pytest.raises((ValueError, IndexError)):
        select_at(np.empty(2000, np.int64), mask)
    col = np.zeros(2399, bool)  # the last position, 2399, is past it
    with pytest.raises(IndexError):
        select_at(np.empty(1800, np.int64), mask, 0, None, [(col, np.empty(1800, bool))])
    sel = np.arange(2400, dtype=np.int64)
    sel[-1] = 5000  # read through sel: past the column too
    with pytest.raises(IndexError):
        select_at(
            np.empty(1800, np.int64), mask, 0, sel, [(np.zeros(2400, bool), np.empty(1800, bool))]
        )


def test_an_encoder_batch_lets_go_of_its_values_once_learned(tmp_path):
    """A parser process's batch (persistent encoder) teaches the store its values at
    add(), then drops them (a load's young collections walked them while it waited);
    its events read the same as the same file parsed here."""
    from tui.core.discovery import TrailFile
    from tui.core.loader import parser_process
    from tui.core.tail import read_files

    paths = [
        write_records(
            trail_path(tmp_path, suffix=f"{i:016d}"),
            [event(ip=f"198.51.100.{i * 3 + k}", user=f"u{k}") for k in range(3)],
        )
        for i in range(2)
    ]
    store, plain = Store(), Store()
    with parser_process() as pool:
        for path in paths:
            tf = TrailFile(str(path), "log", path.stat().st_size, path.stat().st_mtime_ns)
            (batch,) = pool.submit(read_files, [tf]).result(timeout=60)
            assert batch.enc_token and batch.uniques
            store.add(batch)
            assert batch.uniques == []
            plain.add(parse_file(str(path)))
    store.commit()
    plain.commit()
    assert len(store) == 6
    assert [store.event(r) for r in range(6)] == [plain.event(r) for r in range(6)]
    for f in ("ip", "principal"):
        assert [store.value(r, f) for r in range(6)] == [plain.value(r, f) for r in range(6)]
