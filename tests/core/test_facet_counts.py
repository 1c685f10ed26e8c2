"""The store's counts over every event (`value_counts`, `facet`, `count_map`) follow
commits: after each commit they equal a direct count of the stored events, and the
top-N a plain ordering by (count desc, value), though a commit adds only the new rows'
counts to the kept ones."""

from __future__ import annotations

import random
from collections import Counter

import numpy as np
import pytest

from tests.trailgen import event, trail_path, write_records
from tui.core.batch import parse_file
from tui.core.store import Store, dictionaries
from tui.core.store.dictionaries import ranked_codes

FIELDS = ("event", "ip", "principal", "key", "error", "region")
TOPS = (1, 3, 10, 60, None)


def _file(root, name: str, recs: list[dict]):
    return parse_file(str(write_records(trail_path(root, suffix=f"{name:0>16}"[:16]), recs)))


def _events(rnd: random.Random, n: int, minute: int) -> list[dict]:
    """Events whose IPs keep coming (450 of them: the ip codes widen past uint8), with
    ties among event names, a few principals and keys, some errors."""
    out = []
    for i in range(n):
        who = rnd.randrange(6)
        out.append(
            event(
                rnd.choice(("GetObject", "PutObject", "Decrypt", "AssumeRole", "ListBuckets")),
                f"2026-11-20T10:{minute:02d}:{i % 60:02d}Z",
                ip=f"10.0.{rnd.randrange(3)}.{rnd.randrange(150)}",
                region=rnd.choice(("us-east-1", "eu-west-1", "ap-south-1")),
                identity={
                    "type": "AssumedRole",
                    "accountId": "111122223333",
                    "arn": f"arn:aws:sts::111122223333:assumed-role/app/s{who}",
                    "principalId": "AROAEXAMPLE:s",
                    "accessKeyId": f"ASIAKEY{rnd.randrange(40):04d}",
                },
                error=rnd.choice(("AccessDenied", "Throttling")) if rnd.random() < 0.1 else None,
            )
        )
    return out


def _direct(store: Store, field: str) -> Counter:
    return Counter(store.value(r, field) for r in range(len(store)))


def _plain_top(counts: Counter, top: int | None) -> list[tuple[str, int]]:
    pairs = sorted(((v, c) for v, c in counts.items() if c), key=lambda p: (-p[1], p[0]))
    return pairs if top is None else pairs[:top]


def _check(store: Store, written: list[dict]) -> None:
    for field in FIELDS:
        want = _direct(store, field)
        bins = store.value_counts(field)
        values = store.values(field)
        assert len(bins) == len(values)
        assert {values[c]: int(n) for c, n in enumerate(bins) if n} == want
        for top in TOPS:
            pairs, distinct = store.facet(field, None, top)
            assert pairs == _plain_top(want, top), (field, top)
            assert distinct == len(want)
        assert list(store.count_map(field).items()) == _plain_top(want, None)
    # Not only the store against itself: the addresses the files hold.
    assert _direct(store, "ip") == Counter(e["sourceIPAddress"] for e in written)


def test_counts_and_top_n_over_every_event_follow_commits(tmp_path) -> None:
    rnd = random.Random(3)
    store = Store()
    written: list[dict] = []
    handed: list[tuple[np.ndarray, np.ndarray]] = []
    for f in range(14):
        recs = _events(rnd, rnd.randrange(20, 80), f)
        again = rnd.sample(written, 5) if f % 4 == 3 else []  # redelivered: stored once
        written += recs
        recs += again
        store.add(_file(tmp_path, f"f{f}", recs))
        if f % 3 != 1:  # some commits take two files
            store.commit()
            _check(store, written)
            handed += [(a, a.copy()) for a in (store.value_counts(n) for n in FIELDS)]
    store.commit()
    _check(store, written)
    # A commit of nothing new, then one of only redelivered events: the same answers.
    store.commit()
    store.add(_file(tmp_path, "again", rnd.sample(written, 7)))
    assert len(store.commit().rows) == 0
    _check(store, written)
    assert store.codes("ip").dtype == np.uint16  # the codes widened along the way
    # Counts handed out earlier are not changed by later commits (a view keeps them).
    for arr, copy in handed:
        assert np.array_equal(arr, copy) and not arr.flags.writeable


def test_counts_after_a_commit_count_only_its_rows(tmp_path, monkeypatch) -> None:
    """The every-event counts and top-N after a commit read the new rows' codes, not
    every event's again (at 10M events the three facets' recount took 145-155 ms)."""
    rnd = random.Random(8)
    store = Store()
    written = _events(rnd, 3000, 1)
    store.add(_file(tmp_path, "big", written))
    store.commit()
    for field in FIELDS:
        store.facet(field, None, 10)
    more = _events(rnd, 40, 2)
    written += more
    store.add(_file(tmp_path, "more", more))
    added = len(store.commit().rows)

    counted: list[int] = []
    for name in ("bincount", "unique"):
        real = getattr(np, name)

        def spy(a, *args, _real=real, **kw):
            counted.append(len(a))
            return _real(a, *args, **kw)

        monkeypatch.setattr(np, name, spy)
    got = {f: store.facet(f, None, 10) for f in FIELDS}
    monkeypatch.undo()
    assert counted and max(counted) <= added
    for field in FIELDS:
        want = _direct(store, field)
        assert got[field] == (_plain_top(want, 10), len(want))
    _check(store, written)


@pytest.mark.parametrize("ties_budget", [dictionaries.TIES_BY_VALUE, 3])
def test_a_top_n_from_an_earlier_cut_equals_the_plain_one(monkeypatch, ties_budget) -> None:
    """Counts that only grew: the codes reaching the former top-N's cut give the same
    top-N as the whole array, ties included (by value within the budget, else in code
    order)."""
    monkeypatch.setattr(dictionaries, "TIES_BY_VALUE", ties_budget)
    rng = np.random.default_rng(4)
    for trial in range(200):
        n = int(rng.integers(5, 400))
        values = [f"v{int(x):05d}" for x in rng.permutation(n)]
        bins = rng.integers(0, 4, n).astype(np.int64)  # many ties
        for _ in range(4):
            top = int(rng.integers(1, 30))
            first, distinct = ranked_codes(bins, values, top)
            if len(first) < top:
                break
            cut = int(bins[first[-1]])
            grown = bins.copy()
            grown[rng.integers(0, n, int(rng.integers(0, 50)))] += rng.integers(0, 3, 1).item()
            want = ranked_codes(grown, values, top)
            got = ranked_codes(grown, values, top, bound=cut, distinct=int(np.count_nonzero(grown)))
            assert np.array_equal(got[0], want[0]) and got[1] == want[1], trial
            bins = grown
