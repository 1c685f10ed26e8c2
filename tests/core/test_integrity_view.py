"""Files' integrity states bound to a store (tui/core/integrity_view.py), and the
`is:unverified` term over store order and time order."""

from __future__ import annotations

import gzip
import json

import numpy as np

from tests.digestgen import Signer, write_chain
from tests.trailgen import event, trail_path, write_records
from tui.core.discovery import discover
from tui.core.integrity import FileState
from tui.core.integrity_view import check
from tui.core.loader import iter_batches
from tui.core.query import parse
from tui.core.store import Store


def _load(paths) -> Store:
    store = Store()
    for b in iter_batches(discover([str(p) for p in paths]).files, 1 << 30, 1):
        store.add(b)
    store.commit()
    return store


def test_is_unverified_selects_the_events_of_files_not_verified(tmp_path) -> None:
    chain = write_chain(tmp_path / "bucket", Signer.new(), hours=2, files_per_hour=2)
    victim = chain.logs[0][1]
    recs = json.loads(gzip.decompress(victim.read_bytes()))["Records"]
    recs.append(event("StopLogging", recs[0]["eventTime"]))  # a record slipped in
    victim.write_bytes(gzip.compress(json.dumps({"Records": recs}).encode()))
    added = write_records(
        trail_path(chain.root, when="20261201T1005Z"),
        [event("DeleteTrail", "2026-12-01T10:00:00Z")],
    )
    store = _load([chain.root])
    q = parse("is:unverified")
    # Not checked yet: nothing is verified.
    assert q.evaluate(store).all()

    store.integrity = got = check(store, [str(chain.root)])
    states = {p: s for p, s, _ in got.rows()}
    assert states[str(victim)] is FileState.MODIFIED
    assert states[str(added)] is FileState.NOT_COVERED
    assert sum(s is FileState.VERIFIED for s in states.values()) == 3
    mask = q.evaluate(store)
    files = {store.file_of(int(r)).path for r in np.flatnonzero(mask)}
    assert files == {str(victim), str(added)}
    assert int(mask.sum()) == len(recs) + 1
    # The same verdicts in time order (what the explorer's views evaluate).
    in_order = q.evaluate(store.time_ordered())
    assert np.array_equal(in_order, mask[store.order])
    assert int((~parse("-is:unverified").evaluate(store)).sum()) == int(mask.sum())
