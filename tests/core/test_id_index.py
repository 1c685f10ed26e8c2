"""The eventID index (dedupe.IdIndex): levels merged by size answer like one list of
(hash, row) pairs, whatever the commits' sizes."""

from __future__ import annotations

import math
import random

import numpy as np

from tui.core.store.dedupe import IdIndex


def _add(index: IdIndex, model: dict[int, list[int]], hashes: list[int], first_row: int) -> None:
    rows = np.arange(first_row, first_row + len(hashes), dtype=np.int64)
    h = np.array(hashes, np.uint64)
    s = np.lexsort((rows, h))  # (hash, row) order, as Deduper.sift gives them
    index.add(h[s], rows[s])
    for hv, r in zip(hashes, rows.tolist(), strict=True):
        model.setdefault(hv, []).append(r)


def test_levels_answer_like_one_index_for_bulk_and_tail_sized_commits():
    rng = random.Random(5)
    index, model = IdIndex(), {}
    index.reserve(50_000)
    row = 0
    # A bulk load's big commits, then a tail's small ones, then a big one again.
    sizes = [4000] * 9 + [rng.randrange(1, 40) for _ in range(300)] + [5000, 1, 3000]
    pool = [rng.getrandbits(64) for _ in range(20_000)]
    most = 0
    for size in sizes:
        # Re-used hashes (re-deliveries and collisions) within and across commits.
        hashes = [
            rng.choice(pool) if rng.random() < 0.3 else rng.getrandbits(64) for _ in range(size)
        ]
        _add(index, model, hashes, row)
        row += size
        most = max(most, len(index.young))
        assert len(index) == row
        # Each younger level is at most half the one before it.
        sizes_now = [index.big_h.n] + [h.n for h, _ in index.young]
        assert all(a > 2 * b for a, b in zip(sizes_now, sizes_now[1:], strict=False))
    assert most <= math.log2(row) + 1
    for hv in rng.sample(sorted(model), 2000) + pool[:200]:
        assert index.rows(hv) == model.get(hv, [])  # oldest first
    probe = np.array(
        sorted(rng.sample(sorted(model), 3000) + [rng.getrandbits(64) for _ in range(3000)]),
        np.uint64,
    )
    assert index.contains(probe).tolist() == [int(x) in model for x in probe.tolist()]
