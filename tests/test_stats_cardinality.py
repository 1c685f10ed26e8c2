"""Facets of high-cardinality fields (a temporary key per session, unique request IDs):
`stats --json` maps equal a direct count over the events, and top-N and complete
orderings agree with a plain sort by (count desc, value)."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from collections import Counter

import numpy as np
import pytest

from tests.trailgen import event, trail_path, write_records
from tui.core.store import dictionaries
from tui.core.store.dictionaries import count_map, top_values

B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def _key(rnd: random.Random) -> str:
    return "ASIA" + "".join(rnd.choice(B32) for _ in range(16))


def _high_cardinality_trail(root, files: int = 12, per_file: int = 400) -> list[dict]:
    """Events where most role sessions have a key of their own, a few long-lived keys
    carry many events, and source IPs, agents and errors repeat with ties."""
    rnd = random.Random(21)
    long_lived = [_key(rnd) for _ in range(5)]
    recs_all: list[dict] = []
    for f in range(files):
        recs = []
        for i in range(per_file):
            r = rnd.random()
            ident = {
                "type": "AssumedRole",
                "accountId": "111122223333",
                "arn": f"arn:aws:sts::111122223333:assumed-role/app/s{rnd.randrange(900)}",
                "principalId": "AROAEXAMPLE:s",
            }
            if r < 0.7:
                ident["accessKeyId"] = _key(rnd)  # a session of its own
            elif r < 0.95:
                ident["accessKeyId"] = rnd.choice(long_lived)
            # else: no key at all (an AWS service calling)
            ev = event(
                rnd.choice(("GetObject", "PutObject", "Decrypt", "AssumeRole")),
                f"2026-11-20T10:{f:02d}:{i % 60:02d}Z",
                ip=f"10.0.{rnd.randrange(4)}.{rnd.randrange(200)}",
                region=rnd.choice(("us-east-1", "eu-west-1")),
                identity=ident,
                error=rnd.choice(("AccessDenied", "Throttling")) if rnd.random() < 0.05 else None,
                userAgent=f"agent/{rnd.randrange(300)}",
            )
            recs.append(ev)
        write_records(trail_path(root, when=f"20261120T10{f:02d}Z", suffix=f"f{f:015d}"), recs)
        recs_all += recs
    return recs_all


def test_stats_json_maps_equal_a_direct_count_on_a_high_cardinality_trail(tmp_path):
    recs = _high_cardinality_trail(tmp_path)
    p = subprocess.run(
        [sys.executable, "-m", "tui", "stats", str(tmp_path), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    assert d["events"] == len(recs)
    direct = {
        "key": Counter(r["userIdentity"].get("accessKeyId", "") for r in recs),
        "ip": Counter(r["sourceIPAddress"] for r in recs),
        "event": Counter(r["eventName"] for r in recs),
        "region": Counter(r["awsRegion"] for r in recs),
        "ua": Counter(r["userAgent"] for r in recs),
        "error": Counter(r.get("errorCode", "") for r in recs),
    }
    assert len(direct["key"]) > 3000  # high cardinality indeed
    for name, want in direct.items():
        got = d[f"by_{name}"]
        assert got == dict(want), name
        # Most frequent first, ties by value.
        items = list(got.items())
        assert items == sorted(items, key=lambda vc: (-vc[1], vc[0])), name


def _reference(bins: np.ndarray, values: list[str]) -> list[tuple[str, int]]:
    return sorted(
        ((values[c], int(n)) for c, n in enumerate(bins) if n), key=lambda vc: (-vc[1], vc[0])
    )


@pytest.mark.parametrize("seed", range(6))
def test_top_values_equal_a_full_sort_for_any_cut(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 3000))
    # Few distinct counts (many ties, as with one-event sessions) or many.
    hi = 3 if seed % 2 else 10_000
    bins = rng.integers(0, hi, n)
    if seed >= 4:  # mostly zeros, as in a filtered view's counts
        bins[rng.random(n) < 0.8] = 0
    values = [f"v{int(x):06d}" for x in rng.permutation(n)]  # value order != code order
    ref = _reference(bins, values)
    assert top_values(bins, values, None) == (ref, len(ref))
    assert list(count_map(bins, values).items()) == ref
    for top in (0, 1, 2, 7, 100, len(ref) - 1, len(ref), len(ref) + 5):
        if top >= 0:
            assert top_values(bins, values, top) == (ref[:top], len(ref)), top


def test_ties_beyond_the_budget_keep_first_seen_order_and_the_same_counts(monkeypatch):
    """Past TIES_BY_VALUE tied values, ties stay in code (first-seen) order: the counts
    and the chosen values' counts are still exact."""
    monkeypatch.setattr(dictionaries, "TIES_BY_VALUE", 50)
    rng = np.random.default_rng(7)
    n = 2000
    bins = rng.integers(0, 4, n)
    bins[:5] = [90, 80, 80, 70, 60]
    values = [f"v{int(x):06d}" for x in rng.permutation(n)]
    ref = _reference(bins, values)
    full = count_map(bins, values)
    assert full == dict(ref)
    counts = list(full.values())
    assert counts == sorted(counts, reverse=True)
    # A tie group of 1,000+ values is past the budget: first seen (code order) first.
    ones = [v for v, c in full.items() if c == 1]
    index = {v: i for i, v in enumerate(values)}
    assert [index[v] for v in ones] == sorted(index[v] for v in ones)
    for top in (3, 10, 600):
        got, distinct = top_values(bins, values, top)
        assert distinct == len(ref) and len(got) == top
        assert [c for _, c in got] == [c for _, c in ref[:top]]
        assert all(bins[index[v]] == c for v, c in got)
        assert len({v for v, _ in got}) == top


def test_facets_over_every_event_follow_commits(tmp_path):
    """The store-wide facet is kept between commits (clearing the filter at 10M): a
    commit of new events shows in it, and a caller changing its list changes nothing."""
    from tui.core.batch import parse_file
    from tui.core.loader import load
    from tui.core.query import parse
    from tui.core.view import compute_view

    recs = _high_cardinality_trail(tmp_path / "a", files=2, per_file=200)
    store = load([tmp_path / "a"])
    view = compute_view(store, parse(""), ())
    first, distinct = view.facet(store, "ip", 5)
    assert (first, distinct) == store.facet("ip", None, 5)
    first.clear()  # the caller's own list
    assert store.facet("ip", None, 5)[0]
    # 500 events from one new address: it leads the facet after the commit.
    more = [
        event("GetObject", f"2026-11-21T00:00:{i % 60:02d}Z", ip="192.0.2.250") for i in range(500)
    ]
    path = write_records(trail_path(tmp_path / "b", suffix="z" * 16), more)
    store.add(parse_file(str(path)))
    store.commit()
    got, distinct2 = compute_view(store, parse(""), ()).facet(store, "ip", 5)
    assert got[0] == ("192.0.2.250", 500) and distinct2 == distinct + 1
    want = Counter(r["sourceIPAddress"] for r in recs + more)
    assert dict(store.facet("ip", None, None)[0]) == dict(want)
