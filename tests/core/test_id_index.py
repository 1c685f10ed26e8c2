"""The eventID index (dedupe.IdIndex): its two levels and the bit map that answers
most "is it held?" questions answer like one list of (hash, row) pairs, whatever the
commits' sizes, with room reserved or not (the map then grows)."""

from __future__ import annotations

import random

import numpy as np
import pytest

from tui.core.store.dedupe import IdIndex


def _add(index: IdIndex, model: dict[int, list[int]], hashes: list[int], first_row: int) -> None:
    rows = np.arange(first_row, first_row + len(hashes), dtype=np.int64)
    h = np.array(hashes, np.uint64)
    s = np.lexsort((rows, h))  # (hash, row) order, as Deduper.sift gives them
    index.add(h[s], rows[s])
    for hv, r in zip(hashes, rows.tolist(), strict=True):
        model.setdefault(hv, []).append(r)


@pytest.mark.parametrize("reserve", [50_000, 0])
def test_the_index_answers_like_one_list_for_bulk_and_tail_sized_commits(reserve):
    rng = random.Random(5)
    index, model = IdIndex(), {}
    if reserve:
        index.reserve(reserve)
    row = 0
    # A bulk load's big commits, then a tail's small ones, then a big one again.
    sizes = [4000] * 9 + [rng.randrange(1, 40) for _ in range(300)] + [5000, 1, 3000]
    pool = [rng.getrandbits(64) for _ in range(20_000)]
    for size in sizes:
        # Re-used hashes (re-deliveries and collisions) within and across commits.
        hashes = [
            rng.choice(pool) if rng.random() < 0.3 else rng.getrandbits(64) for _ in range(size)
        ]
        _add(index, model, hashes, row)
        row += size
        assert len(index) == row
        if size in (4000, 3000):  # every hash just added is found
            h = np.unique(np.array(hashes, np.uint64))
            assert index.contains(h).all()
    assert len(index._seen) >= len(index)  # at least 8 bits per hash held
    # The map answers most questions about hashes not held without a search.
    fresh = np.sort(np.array([rng.getrandbits(64) | 1 for _ in range(5000)], np.uint64))
    assert index._maybe(fresh).mean() < 0.2
    for hv in rng.sample(sorted(model), 2000) + pool[:200]:
        assert index.rows(hv) == model.get(hv, [])  # oldest first
    probe = np.array(
        sorted(rng.sample(sorted(model), 3000) + [rng.getrandbits(64) for _ in range(3000)]),
        np.uint64,
    )
    assert index.contains(probe).tolist() == [int(x) in model for x in probe.tolist()]
