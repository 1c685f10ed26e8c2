"""A bulk load merges the time order once, at its end (TimeOrder.defer): the order and
everything read through it equal the order kept current at every commit."""

from __future__ import annotations

import random

import numpy as np

from tests.trailgen import event, trail_path, write_records
from tui.core.batch import CONFLICT, parse_file
from tui.core.fields import FIELD_INDEX
from tui.core.loader import load
from tui.core.store import Store


def _tricky_trail(tmp_path, files: int = 14, per_file: int = 40) -> list[str]:
    """Files out of time order whose events tie on time and on the eventID prefix the
    sort key holds, with re-deliveries across files, conflicts (same eventID, other
    content), events without a time and events without an eventID."""
    rng = random.Random(21)
    kept: list[dict] = []
    paths = []
    for f in range(files):
        recs = []
        for i in range(per_file):
            roll = rng.random()
            if kept and roll < 0.12:  # a re-delivery of an earlier event
                recs.append(dict(rng.choice(kept)))
                continue
            if kept and roll < 0.18:  # a conflict: an earlier eventID, other content
                other = rng.choice([e for e in kept if "eventID" in e])
                recs.append(event("Conflicting", other["eventTime"], event_id=other["eventID"]))
                continue
            minute = rng.randrange(3)  # few distinct times: many ties
            ev = event(
                rng.choice("ABCD"),
                f"2026-11-20T10:0{minute}:00Z",
                # One shared prefix: keys tie, the full eventID decides.
                event_id=f"same-prefix-{rng.randrange(10**6):06d}-{f}-{i}",
            )
            if roll > 0.97:
                ev["eventTime"] = "not a time"
            elif roll > 0.94:
                del ev["eventID"]
            kept.append(ev)
            recs.append(ev)
        rng.shuffle(recs)
        when = f"20261120T{10 + rng.randrange(8):02d}{rng.randrange(6) * 10:02d}Z"
        paths.append(str(write_records(trail_path(tmp_path, when=when, suffix=f"{f:016d}"), recs)))
    return paths


def _snapshot(store: Store) -> dict:
    to = store.time_order
    return {
        "order": store.ordered().tolist(),
        "keys": to.keys.view.tolist(),
        "times": store.times_in_order().tolist(),
        "event": to.column(FIELD_INDEX["event"]).tolist(),
        "flags": store.time_order.column("flags").tolist(),
        "positions": store.positions_in_order(np.arange(len(store))).tolist(),
        "events": [store.event(int(r)) for r in store.ordered()],
    }


def test_deferred_order_equals_the_order_kept_at_every_commit(tmp_path):
    paths = _tricky_trail(tmp_path)
    plain, deferred = Store(), Store()
    deferred.time_order.defer(True)
    for i, p in enumerate(paths):
        for s in (plain, deferred):
            s.add(parse_file(p))
            s.commit()
        if i in (5, 8, 11):
            # A read while deferring merges what was noted so far (into an empty order,
            # then into a longer one); later commits are noted again.
            assert _snapshot(deferred) == _snapshot(plain)
    assert deferred.time_order._deferred  # the commits after the read wait
    deferred.time_order.defer(False)
    assert not deferred.time_order._deferred
    assert deferred.duplicates == plain.duplicates > 0
    assert deferred.conflicts == plain.conflicts > 0
    assert int((deferred.flags & CONFLICT).astype(bool).sum()) > 0
    assert _snapshot(deferred) == _snapshot(plain)
    # Ties were there to put in order: equal sort keys with different times or ids.
    keys = plain.time_order.keys.view
    assert int((keys[1:] == keys[:-1]).sum()) > 10


def test_a_column_built_before_deferring_stays_current(tmp_path):
    """The time-ordered columns a reader built are merged into with the order (or
    rebuilt, when what was deferred outweighs what was merged)."""
    paths = _tricky_trail(tmp_path, files=6)
    plain, deferred = Store(), Store()
    for s in (plain, deferred):
        s.add(parse_file(paths[0]))
        s.commit()
        s.time_order.column("times")
    deferred.time_order.defer(True)
    for p in paths[1:]:
        for s in (plain, deferred):
            s.add(parse_file(p))
            s.commit()
    assert deferred.times_in_order().tolist() == plain.times_in_order().tolist()
    deferred.time_order.defer(False)
    assert _snapshot(deferred) == _snapshot(plain)


def test_load_defers_and_equals_per_commit_merges(tmp_path):
    """`load` (deferred, small commits) gives the order of a store that merged at every
    file's commit, and ends with nothing deferred."""
    paths = _tricky_trail(tmp_path)
    loaded = load([tmp_path], commit_every=50, jobs=1)
    assert not loaded.time_order._deferred and not loaded.time_order._deferring
    plain = Store()
    for p in sorted(paths, key=lambda p: [f.path for f in loaded.files].index(p)):
        plain.add(parse_file(p))
        plain.commit()
    assert len(loaded) == len(plain)
    assert _snapshot(loaded) == _snapshot(plain)


def test_a_load_stopped_part_way_leaves_the_order_merged(tmp_path):
    """A load that ends by an exception (Ctrl-C in the progress callback) still leaves
    a store whose order holds every committed row, and no longer defers."""
    _tricky_trail(tmp_path)
    seen = []

    def stop_after_some(progress) -> None:
        seen.append(progress.files_done)
        if progress.files_done == 9:
            raise KeyboardInterrupt

    store = Store()
    try:
        load([tmp_path], store=store, commit_every=50, jobs=1, on_progress=stop_after_some)
    except KeyboardInterrupt:
        pass
    assert seen[-1] == 9
    to = store.time_order
    assert not to._deferring and not to._deferred
    assert 0 < len(to.order.view) == len(store)
    assert sorted(to.order.view.tolist()) == list(range(len(store)))
    keys = store.columns.keys.view[to.order.view]
    assert (keys[1:] >= keys[:-1]).all()
