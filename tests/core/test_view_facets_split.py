"""Facet counts and top-N taken with the view (`compute_view(..., facet_top=N)`): the
counts in slices of the view's positions on the view pool, summed, and the top values
kept on the view. Each is checked against a direct count over the matching rows, on a
real gzip trail with many distinct principals and ties."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from tests.trailgen import event, trail_path, write_records
from tui.core import view as view_mod
from tui.core.batch import parse_file
from tui.core.query import parse
from tui.core.store import Store
from tui.core.view import compute_view

FIELDS = ("service", "principal", "ip", "event")
FILTERS = (
    "service:s3.amazonaws.com",
    "-service:s3.amazonaws.com",
    "has:error",
    "event:GetObject OR event:RunInstances",
    "service:nope",
    "",
)


@pytest.fixture
def store(tmp_path) -> Store:
    rng = random.Random(11)
    st = Store()
    for b, n in enumerate((900, 60)):
        evs = []
        for i in range(n):
            ev = event(
                rng.choice(["GetObject", "PutObject", "RunInstances", "ListBuckets"]),
                f"2026-11-20T1{rng.randrange(3)}:{rng.randrange(60):02d}:00Z",
                source=rng.choice(["s3.amazonaws.com", "ec2.amazonaws.com", "iam.amazonaws.com"]),
                error=rng.choice([None, None, "AccessDenied"]),
                event_id=f"id-{b}-{i:04d}",
            )
            # Many principals, most seen once (ties at the cut of the top N).
            ev["userIdentity"]["arn"] = f"arn:aws:iam::123456789012:user/u{rng.randrange(400)}"
            ev["sourceIPAddress"] = f"10.0.{rng.randrange(4)}.{rng.randrange(30)}"
            evs.append(ev)
        path = write_records(trail_path(tmp_path, suffix=f"{b:016d}"), evs)
        st.add(parse_file(str(path)))
        st.commit()
    return st


def direct(store: Store, rows, name: str) -> Counter:
    return Counter(store.value(int(r), name) for r in rows)


def expected_top(counts: Counter, top: int) -> list[tuple[str, int]]:
    # Most first, ties by value (TIES_BY_VALUE covers this fixture's ties).
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top]


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_split_counts_and_kept_tops_equal_a_direct_count(store, monkeypatch, workers):
    monkeypatch.setattr(view_mod, "COUNT_SPLIT_MIN", 10)
    monkeypatch.setattr(view_mod, "_workers", lambda: workers)
    monkeypatch.setattr(view_mod, "_pool", None)
    for text in FILTERS:
        v = compute_view(store, parse(text), FIELDS, facet_top=7)
        assert v.has_tops(FIELDS, 7) or not FIELDS
        for name in FIELDS:
            want = direct(store, v.rows, name)
            bins = v.counts(store, name)
            values = store.values(name)
            got = Counter({values[c]: int(n) for c, n in enumerate(bins.tolist()) if n})
            assert got == want, (text, name)
            pairs, distinct = v.facet(store, name, 7)
            assert distinct == len(want)
            assert pairs == expected_top(want, 7), (text, name)
            # The kept answer is the one a fresh view computes when the facet is drawn.
            fresh = compute_view(store, parse(text))
            assert fresh.facet(store, name, 7) == (pairs, distinct)


@pytest.mark.parametrize("workers", [2, 3])
@pytest.mark.parametrize(
    ("split_min", "share"),
    [
        (10, 0),  # a big view: every field in slices of the positions
        (10, 10**9),  # a big view: no field has values few enough to be sliced
        (10**9, 0),  # a view under COUNT_SPLIT_MIN: each field whole on a thread
    ],
)
def test_counts_by_field_or_in_slices_equal_a_direct_count(
    store, monkeypatch, workers, split_min, share
):
    """A view's facets counted on the view pool, each field whole on a thread of its
    own or in slices of the positions: the counts are the direct ones either way."""
    monkeypatch.setattr(view_mod, "COUNT_SPLIT_MIN", split_min)
    monkeypatch.setattr(view_mod, "COUNT_FIELDS_MIN", 10)
    monkeypatch.setattr(view_mod, "COUNT_SLICE_SHARE", share)
    monkeypatch.setattr(view_mod, "_workers", lambda: workers)
    monkeypatch.setattr(view_mod, "_pool", None)
    for text in FILTERS:
        v = compute_view(store, parse(text), FIELDS, facet_top=7)
        for name in FIELDS:
            want = direct(store, v.rows, name)
            values = store.values(name)
            got = Counter({values[c]: n for c, n in enumerate(v.counts(store, name).tolist()) if n})
            assert got == want, (text, name)


def test_share_runs_every_item_once_in_order(monkeypatch):
    monkeypatch.setattr(view_mod, "_workers", lambda: 2)
    monkeypatch.setattr(view_mod, "_pool", None)
    assert view_mod._share(lambda x: x * x, list(range(50))) == [x * x for x in range(50)]
    assert view_mod._share(lambda x: x, []) == []


def test_share_raises_what_an_item_raises(monkeypatch):
    monkeypatch.setattr(view_mod, "_workers", lambda: 2)
    monkeypatch.setattr(view_mod, "_pool", None)

    def boom(x: int) -> int:
        if x == 3:
            raise ValueError("item 3")
        return x

    with pytest.raises(ValueError, match="item 3"):
        view_mod._share(boom, list(range(8)))


FAULTS = """
import resource, sys
import numpy as np
from tui.core.view import big_buffers_returned, keep_big_buffers
kept = keep_big_buffers() if sys.argv[1] == "keep" else False
if sys.argv[1] == "keep-during-analysis":  # kept from the end of the analysis on
    with big_buffers_returned():
        kept = keep_big_buffers()
def touch():
    a = np.empty(40 << 17, np.int64)  # 40 MiB: above glibc's adaptive mmap threshold
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    a.fill(1)
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
touch()
print(kept, touch())
"""


@pytest.mark.skipif(
    not __import__("platform").libc_ver()[0] == "glibc", reason="glibc's mallopt only"
)
def _script_output(script: str, *mode: str) -> list[str]:
    """The words a fresh interpreter prints running `script` with argument `mode`
    (allocator settings and page faults are per process)."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", script, *mode], cwd=root, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.split()


def test_kept_big_buffers_are_reused_without_page_faults():
    def run(mode: str) -> tuple[str, int]:
        kept, faults = _script_output(FAULTS, mode)
        return kept, int(faults)

    kept, faults = run("keep")
    assert kept == "True"
    assert faults < 1000  # the freed 40 MiB is reused: its pages are already there
    plain = run("plain")
    assert plain[0] == "False" and plain[1] > 5000  # a fresh mapping: a fault per page
    kept, faults = run("keep-during-analysis")
    assert kept == "True" and faults < 1000


# The page faults a thread takes writing a fresh array of `nbytes` (child scripts).
FAULTS_PROBE = """
def faults(nbytes):
    before = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt
    a = np.ones(nbytes, np.uint8)
    got = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt - before
    del a
    return got
"""

WARM_FAULTS = """
import resource, sys
import numpy as np
from tui.core import view
view._workers = lambda: 2  # one pool thread, as on two cores
assert view.keep_big_buffers()
if sys.argv[1] == "warm":
    view.touch_heaps(96 << 20, 48 << 20)
{FAULTS_PROBE}pool = view._view_pool().submit(faults, 40 << 20).result()
print(faults(80 << 20), pool)
""".replace("{FAULTS_PROBE}", FAULTS_PROBE)


@pytest.mark.skipif(
    not __import__("platform").libc_ver()[0] == "glibc", reason="glibc's mallopt only"
)
def test_touched_heaps_give_views_arrays_without_page_faults():
    """After `touch_heaps`, big arrays on this thread and on the view pool's come from
    memory already faulted in; without it, each page of them is faulted in on first use."""

    def run(mode: str) -> tuple[int, int]:
        main, pool = _script_output(WARM_FAULTS, mode)
        return int(main), int(pool)

    main, pool = run("warm")
    assert main < 1000 and pool < 1000, (main, pool)
    main, pool = run("cold")
    assert main > 15000 and pool > 7500, (main, pool)  # 80 and 40 MiB: a fault per page


def test_warm_view_heap_sizes_follow_the_store_and_leave_views_unchanged(store, monkeypatch):
    """What `warm_view_heap` touches: nothing on a store whose views are not split; else
    a view of half the events' arrays on each thread, within the caps, and the views
    computed after it are the same."""
    monkeypatch.setattr(view_mod, "_workers", lambda: 2)
    assert view_mod.warm_view_heap(store, FIELDS) == (0, 0)  # 960 events < SPLIT_MIN
    before = [compute_view(store, parse(t), FIELDS, facet_top=7) for t in FILTERS]
    monkeypatch.setattr(view_mod, "SPLIT_MIN", 256)
    monkeypatch.setattr(view_mod, "COUNT_SPLIT_MIN", 256)
    main, pool = view_mod.warm_view_heap(store, FIELDS)
    n, m = len(store), len(store) // 2
    counters = sum(8 * len(store.values(f)) for f in FIELDS)
    assert (main, pool) == (9 * m + 8 * (n // 2) + counters, 9 * m + counters)
    monkeypatch.setattr(view_mod, "WARM_POOL_MAX", 1000)
    assert view_mod.warm_view_heap(store, FIELDS)[1] == 1000
    after = [compute_view(store, parse(t), FIELDS, facet_top=7) for t in FILTERS]
    for a, b in zip(before, after, strict=True):
        assert a.rows.tolist() == b.rows.tolist()
        assert all(a.facet(store, f, 7) == b.facet(store, f, 7) for f in FIELDS)


def _ranked_directly(bins, values, top):
    pairs = sorted(
        ((int(c), values[i], i) for i, c in enumerate(bins.tolist()) if c),
        key=lambda x: (-x[0], x[1]),
    )
    return [i for _, _, i in pairs[:top]], len(pairs)


@pytest.mark.parametrize("seed", range(6))
def test_top_values_among_candidates_equal_a_full_ranking(monkeypatch, seed):
    import numpy as np

    from tui.core.store import dictionaries

    rng = np.random.default_rng(seed)
    monkeypatch.setattr(dictionaries, "CANDIDATES_MIN", 64)
    monkeypatch.setattr(dictionaries, "_SAMPLE", 256)
    n = 5000
    # Heavy-tailed counts with many ties (at the cut too), zeros, and a few big ones.
    bins = rng.zipf(1.6, n).astype(np.int64)
    bins[rng.random(n) < [0.1, 0.5, 0.9, 0.3, 0.0, 0.99][seed]] = 0
    bins[rng.integers(0, n, 5)] = 1000
    values = [f"v{rng.integers(0, 10**6):07d}-{i}" for i in range(n)]
    for top in (1, 7, 60, 200):
        want = _ranked_directly(bins, values, top)
        got, distinct = dictionaries.ranked_codes(bins, values, top)
        assert (got.tolist(), distinct) == want, (seed, top)
    if seed < 5:  # the path under test: the selection among candidates
        assert dictionaries._candidates(bins, 60) is not None


@pytest.mark.parametrize("seed", range(4))
def test_presorted_error_counts_equal_a_count_per_bucket(seed):
    """The presorted histogram's errors per bucket (failed events' indexes searched at
    the bucket edges) equal a direct count, with many events on bucket edges and
    equal times, and errors in runs."""
    import numpy as np

    from tui.core.normalize import NO_TIME
    from tui.core.timeline import histogram

    rng = np.random.default_rng(seed)
    step = 60_000
    t0 = 1_790_000_000_000 - 1_790_000_000_000 % step
    n = 4000
    times = np.sort(t0 + step * rng.integers(0, 30, n) + rng.choice([0, 0, 0, 1, step - 1], n))
    times[: rng.integers(0, 4)] = NO_TIME
    errs = rng.random(n) < [0.0, 0.05, 0.5, 1.0][seed]
    errs[100:300] = True
    for lo, hi in ((None, None), (t0 + 3 * step, t0 + 9 * step), (t0 - step, t0 + step)):
        h = histogram(times, errs, 40, lo, hi, step, presorted=True)
        want = [
            int(np.count_nonzero(errs[(times >= a) & (times < a + step)]))
            for a in range(h.start_ms, h.end_ms, step)
        ]
        assert h.errors.tolist() == want
        assert h.errors.dtype == np.int64


RETURNED = """
import contextlib, resource, sys, threading
import numpy as np
from tui.core import view
view._workers = lambda: 2  # one pool thread, as on two cores
assert view.keep_big_buffers()
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("RssAnon"):
            return int(line.split()[1]) >> 10
kept = []
def analysis():  # its own thread: big temporaries, and small results it keeps
    for i in range(24):
        a = np.ones((6 + i % 4) << 20, np.uint8)
        b = np.ones(30 << 20, np.uint8)
        kept.append(a[: 1 << 16].copy())
        del a, b
{FAULTS_PROBE}before = rss()
returned = sys.argv[1] == "returned"
with view.big_buffers_returned() if returned else contextlib.nullcontext():
    # The explorer warms the views' heaps once its analysis started (warm_view_heap).
    heap = view._heap_for_views() if sys.argv[2] == "heap" else contextlib.nullcontext()
    with heap:
        view.touch_heaps(96 << 20, 48 << 20)
    t = threading.Thread(target=analysis)
    t.start()
    t.join()
kept_mb = rss() - before
pool = view._view_pool().submit(faults, 40 << 20).result()
print(kept_mb, faults(80 << 20), pool)
""".replace("{FAULTS_PROBE}", FAULTS_PROBE)


@pytest.mark.skipif(
    not __import__("platform").libc_ver()[0] == "glibc", reason="glibc's mallopt only"
)
def test_an_analysis_gives_back_its_temporaries_and_leaves_the_views_heap_warm():
    """Under `big_buffers_returned` a thread's big temporaries are unmapped when freed
    (kept, its heap held them: 36 MB here); the views' heaps warmed meanwhile
    (`_heap_for_views`, as `warm_view_heap`) stay: views' arrays on the UI thread and on
    the view pool's take no fresh pages after it. Warmed without it, they would."""

    def run(*mode: str) -> tuple[int, int, int]:
        kept, main, pool = _script_output(RETURNED, *mode)
        return int(kept), int(main), int(pool)

    kept, main, pool = run("returned", "heap")
    assert kept - 144 < 12 and main < 1000 and pool < 1000, (kept, main, pool)
    kept, main, pool = run("kept", "heap")
    assert kept - 144 > 24 and main < 1000 and pool < 1000, (kept, main, pool)
    kept, main, pool = run("returned", "plain")
    assert main > 15000 and pool > 7500, (kept, main, pool)  # the warm went back too
