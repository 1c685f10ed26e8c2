"""A commit prepared on a thread (Store.stage / StagedCommit.prepare / Store.publish)
equals Store.commit, and the store reads as it did at `stage` until the publish.

Real gzip trails (tests/trailgen.py via test_store_deferred's tricky trail: files out of
time order, ties on the sort key, re-deliveries across files, conflicts with stored
rows, events without a time or an eventID)."""

from __future__ import annotations

import threading
import weakref

import numpy as np
import pytest

from tests.core.test_store_deferred import _tricky_trail
from tui.core import view as view_mod
from tui.core.batch import parse_file
from tui.core.fields import FIELD_INDEX
from tui.core.query import parse
from tui.core.store import Store
from tui.core.view import compute_view


def _state(store: Store) -> dict:
    """What a reader of the store can see: rows, order, columns, dedupe, placement."""
    to = store.time_order
    return {
        "len": len(store),
        "generation": store.generation,
        "order": store.time_order.order.view.tolist(),
        "keys": to.keys.view.tolist(),
        "columns": [c.view.tolist() for c in store.columns.all()],
        "dups": (store.duplicates, store.conflicts, list(store.dup_samples)),
        "placed": [
            (fi.events, fi.duplicates, None if fi.line_rows is None else fi.line_rows.tolist())
            for fi in store.files
        ],
        "ids": sorted(
            (int(h), tuple(store.rows_with_id_hash(int(h)))) for h in set(store.id_hashes)
        ),
        "committed_files": store.committed_files(),
        "events": [store.event(int(r)) for r in store.ordered()],
    }


def _ordered_columns(store: Store) -> dict:
    return {
        "times": store.times_in_order().tolist(),
        "event": store.time_order.column(FIELD_INDEX["event"]).tolist(),
        "flags": store.time_order.column("flags").tolist(),
        "positions": store.positions_in_order(np.arange(len(store))).tolist(),
    }


def _staged(store: Store) -> object:
    """Stage the pending events and prepare them on another thread."""
    staged = store.stage()
    assert staged is not None
    t = threading.Thread(target=staged.prepare)
    t.start()
    t.join()
    assert staged.ready
    return staged


@pytest.mark.parametrize("more", [False, True])
@pytest.mark.parametrize("groups", [(1, 3, 6, 14), (2, 4, 5, 9, 14)])
def test_staged_commits_equal_direct_ones(tmp_path, groups, more):
    paths = _tricky_trail(tmp_path)
    plain, staged = Store(), Store()
    start = 0
    for g, end in enumerate(groups):
        for p in paths[start:end]:
            plain.add(parse_file(p))
            staged.add(parse_file(p))
        start = end
        if g == 1:  # time-ordered columns built before a commit are kept current by it
            for s in (plain, staged):
                s.prepare_in_order(["event", "service"])
                s.time_order.column("flags")
        want = plain.commit()
        got = staged.publish(_staged(staged), more=more)
        assert got.rows.tolist() == want.rows.tolist()
        assert (got.duplicates, got.conflicts) == (want.duplicates, want.conflicts)
        assert got.new_values == want.new_values
        assert _state(staged) == _state(plain)
        if g >= 1:  # built ones stay built (a direct commit's full sort drops them)
            assert staged.time_order.built(FIELD_INDEX["event"])
    assert plain.duplicates and plain.conflicts  # the trail has both, across commits
    assert _ordered_columns(staged) == _ordered_columns(plain)


def test_staged_and_direct_commits_mix(tmp_path):
    paths = _tricky_trail(tmp_path, files=10)
    plain, mixed = Store(), Store()
    for i, p in enumerate(paths):
        plain.add(parse_file(p))
        mixed.add(parse_file(p))
        plain.commit()
        if i % 3 == 1:
            mixed.commit()  # a tail's small commit: in place, after staged ones
        else:
            mixed.publish(_staged(mixed), more=True)
    assert _state(mixed) == _state(plain)
    assert _ordered_columns(mixed) == _ordered_columns(plain)


def test_the_store_reads_as_before_until_the_publish(tmp_path, monkeypatch):
    monkeypatch.setattr(view_mod, "LAZY_MIN", 1)  # every view lazy: it reads the order
    paths = _tricky_trail(tmp_path)
    store = Store()
    for p in paths[:6]:
        store.add(parse_file(p))
    store.commit()
    store.prepare_in_order(["event"])
    query = parse("event:A")
    lazy = compute_view(store, query, ())
    assert lazy.lazy
    for p in paths[6:]:
        store.add(parse_file(p))
    before = _state(store)
    before_ordered = _ordered_columns(store)
    pending = store.pending_events
    staged = _staged(store)  # prepared: the new rows are in its forks only
    assert _state(store) == before
    assert _ordered_columns(store) == before_ordered
    assert store.pending_events == pending  # still pending until published
    with pytest.raises(RuntimeError):
        store.commit()
    with pytest.raises(RuntimeError):
        store.stage()
    eager_before = compute_view(store, query, ()).rows.tolist()
    store.publish(staged)
    assert store.staged is None and store.pending_events == 0
    # The lazy view made before reads the order as it was (nothing wrote into it).
    assert lazy.rows.tolist() == eager_before
    assert store.generation == before["generation"] + 1
    plain = Store()
    for p in paths:
        plain.add(parse_file(p))
    plain.commit()
    plain.commit()  # same generation count: one commit before, one after
    twice = Store()
    for p in paths[:6]:
        twice.add(parse_file(p))
    twice.commit()
    for p in paths[6:]:
        twice.add(parse_file(p))
    twice.commit()
    assert _state(store) == _state(twice)


def test_a_commit_while_a_lazy_view_is_live(tmp_path, monkeypatch):
    """A lazy view made after the stage (from the store as it was) and one made after
    the publish each give what an eager view of their store gives."""
    monkeypatch.setattr(view_mod, "LAZY_MIN", 1)
    paths = _tricky_trail(tmp_path, files=8)
    store, plain = Store(), Store()
    for p in paths[:3]:
        store.add(parse_file(p))
        plain.add(parse_file(p))
    store.commit()
    plain.commit()
    for p in paths[3:]:
        store.add(parse_file(p))
        plain.add(parse_file(p))
    staged = store.stage()
    assert staged is not None
    query = parse("-event:B")
    during = compute_view(store, query, ())  # while it is prepared
    staged.prepare()
    monkeypatch.setattr(view_mod, "LAZY_MIN", 1 << 60)
    want_during = compute_view(plain, query, ()).rows.tolist()
    store.publish(staged)
    plain.commit()
    assert during.rows.tolist() == want_during
    monkeypatch.setattr(view_mod, "LAZY_MIN", 1)
    after = compute_view(store, query, ())
    assert after.lazy
    monkeypatch.setattr(view_mod, "LAZY_MIN", 1 << 60)
    assert after.rows.tolist() == compute_view(plain, query, ()).rows.tolist()
    assert after.times.tolist() == compute_view(plain, query, ()).times.tolist()


def test_an_empty_stage_and_a_commit_of_redeliveries(tmp_path):
    paths = _tricky_trail(tmp_path, files=3)
    store, plain = Store(), Store()
    assert store.stage() is None
    for s in (store, plain):
        s.add(parse_file(paths[0]))
        s.commit()
        s.add(parse_file(paths[0]))  # the same file again: every record a duplicate
    res = store.publish(_staged(store))
    want = plain.commit()
    # Only the records without an eventID are stored again (nothing to dedupe them by).
    assert res.rows.tolist() == want.rows.tolist()
    assert res.duplicates == want.duplicates == 40 - len(want.rows) > 0
    assert _state(store) == _state(plain)


def test_the_time_range_is_kept_across_commits(tmp_path):
    """Store.time_range() over every event is kept and extended by the rows committed
    since (staged or direct); it equals a pass over every time."""
    from tui.core.normalize import NO_TIME

    paths = _tricky_trail(tmp_path, files=8)
    store = Store()
    assert store.time_range() is None
    for i, p in enumerate(paths):
        store.add(parse_file(p))
        if i % 2:
            store.commit()
        else:
            store.publish(_staged(store))
        t = store.times[store.times != NO_TIME]
        assert store.time_range() == (int(t.min()), int(t.max()))
        assert store.newest_time_ms() == int(t.max())


def test_a_spare_buffer_is_taken_only_when_nobody_holds_it():
    from tui.core.store.arrays import SortedArray

    base = SortedArray(np.arange(0, 20, 2, dtype=np.int64))
    spare = np.full(64, -1, np.int64)
    fork = base.forked(spare)
    del spare
    fork.insert(np.array([1, 5]), np.array([1, 9], np.int64))
    assert fork.spare is None and len(fork.buf) == 64  # the spare's buffer
    assert fork.view.tolist() == [0, 1, 2, 4, 6, 8, 9, 10, 12, 14, 16, 18]
    assert base.view.tolist() == list(range(0, 20, 2))  # the forked array: unchanged
    held = np.full(64, -1, np.int64)
    view = held[:8]  # a reader's view of it
    fork = base.forked(held)
    fork.insert(np.array([0]), np.array([-5], np.int64))
    assert fork.buf is not held and view.tolist() == [-1] * 8


def test_lazy_views_keep_their_arrays_across_staged_commits_with_spares(tmp_path, monkeypatch):
    """A load's staged commits hand the buffers they replace to the next one: a lazy
    view made between them still holds those, so they are not reused under it."""
    monkeypatch.setattr(view_mod, "LAZY_MIN", 1)
    paths = _tricky_trail(tmp_path, files=9)
    store, plain = Store(), Store()
    query = parse("-event:C")
    views = []
    for i in range(3):
        for p in paths[3 * i : 3 * i + 3]:
            store.add(parse_file(p))
            plain.add(parse_file(p))
        store.publish(_staged(store), more=True)
        plain.commit()
        store.prepare_in_order(["event"])
        monkeypatch.setattr(view_mod, "LAZY_MIN", 1 << 60)
        want = compute_view(plain, query, ())
        monkeypatch.setattr(view_mod, "LAZY_MIN", 1)
        lazy = compute_view(store, query, ())
        assert lazy.lazy
        views.append((lazy, want.rows.tolist(), want.times.tolist()))
    for lazy, rows, times in views:
        assert lazy.rows.tolist() == rows and lazy.times.tolist() == times
    assert _state(store) == _state(plain)


def test_the_spares_go_when_the_load_ends_after_its_last_publish(tmp_path):
    """A load's commits keep the buffers they replace for the next one; when the load
    ends after its last commit was published, nothing more is coming: they go."""
    paths = _tricky_trail(tmp_path, files=6)
    store = Store()
    for i in range(2):
        for p in paths[3 * i : 3 * i + 3]:
            store.add(parse_file(p))
        store.publish(_staged(store), more=True)
    kept = [a for a in store.deduper.ids.spares if a is not None]
    assert kept or store.time_order._spares  # the second commit replaced buffers
    store.let_go_of_spares()
    assert store.deduper.ids.spares == (None, None) and not store.time_order._spares


def test_columns_built_while_a_commit_is_prepared_are_kept(tmp_path):
    """A time-ordered column the owner builds after the stage (a filter being typed)
    is in the published order too, current (not dropped to be built in a key)."""
    paths = _tricky_trail(tmp_path, files=6)
    store, plain = Store(), Store()
    for s in (store, plain):
        for p in paths[:3]:
            s.add(parse_file(p))
        s.commit()
        for p in paths[3:]:
            s.add(parse_file(p))
    staged = store.stage()
    assert staged is not None
    store.prepare_in_order(["service"])  # after the stage, before the preparation ends
    staged.prepare()
    store.publish(staged)
    plain.commit()
    f = FIELD_INDEX["service"]
    assert store.time_order.built(f)
    assert store.time_order.column(f).tolist() == plain.time_order.column(f).tolist()


def test_a_published_commit_lets_go_of_its_events(tmp_path):
    """Whatever still reaches a published commit (the explorer's thread worker: cycles,
    and no collector while a trail loads) does not keep its files' events alive."""
    paths = _tricky_trail(tmp_path)
    store = Store()
    batches = [parse_file(p) for p in paths]
    held = [weakref.ref(b.times) for b in batches if b.n]
    for b in batches:
        store.add(b)
    del batches, b
    staged = _staged(store)
    store.publish(staged)
    assert len(store) and held
    assert [r() for r in held] == [None] * len(held)  # `staged` is still here


def test_the_concatenated_columns_are_freed_where_the_commit_is_prepared(tmp_path, monkeypatch):
    """The commit's columns, once appended (copied), are let go of by `prepare` on its
    thread: the publish (the explorer's UI thread) frees none of them."""
    from tui.core.store import store as store_mod

    appended: list[weakref.ref] = []
    original = store_mod._Gathered.appended

    def appended_seen(self):  # what `prepare` appends, watched
        arrays = original(self)
        appended.extend(weakref.ref(a) for a in arrays)
        return arrays

    monkeypatch.setattr(store_mod._Gathered, "appended", appended_seen)
    paths = _tricky_trail(tmp_path)
    store, plain = Store(), Store()
    for p in paths:
        store.add(parse_file(p))
        plain.add(parse_file(p))
    staged = _staged(store)
    assert len(appended) == 8
    assert [r() for r in appended] == [None] * 8  # none left for the publish to free
    got = store.publish(staged)
    want = plain.commit()
    assert got.rows.tolist() == want.rows.tolist()
    assert _state(store) == _state(plain)


def test_each_commit_reports_the_values_it_saw_first(tmp_path):
    """`new_values`: per field, the codes of the values no earlier commit had, each
    reported once, whether the commit is direct or staged."""
    paths = _tricky_trail(tmp_path, files=10)
    store = Store()
    seen: dict[str, set[str]] = {}
    for i, p in enumerate(paths):
        store.add(parse_file(p))
        before = len(store)
        res = store.commit() if i % 2 else store.publish(_staged(store), more=True)
        for name in ("ip", "principal", "event"):
            rows = np.arange(before, len(store))
            values = {store.values(name)[c] for c in store.codes(name)[rows]}
            first = values - seen.setdefault(name, {""})
            got = [store.values(name)[c] for c in res.new_values.get(name, ())]
            assert sorted(got) == sorted(first), (i, name)
            seen[name] |= values
    assert len(seen["event"]) > 2 and len(seen["principal"]) > 1
