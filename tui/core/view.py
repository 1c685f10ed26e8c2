"""What a pane set shows for one filter: the matching rows in time order, per-field value
counts, and the timeline's inputs -- computed from a Store and a Query, headless.

The explorer recomputes a view on every filter change and, while tailing, on every
commit, so both paths are kept to a few vectorised passes over the store:

- the query is evaluated over the store's time-ordered columns, so the matching
  positions are already in view order: rows, the timeline's times and error flags and
  (while the store has not grown) the facet counts are sequential takes at those
  positions, instead of gathers at scattered row numbers;
- facet counts are full `bincount`s per shown field, so when only new rows were added
  and the old rows' verdicts did not change (any filter without relative time), a
  refresh counts only the new rows and adds;
- the unfiltered view evaluates nothing; a time range is a stretch of the order (a
  binary search), the other terms are tested over it only; a big view is tested in
  slices on a small thread pool; a filter that narrows the view on screen is tested
  at that view's positions only.
"""

from __future__ import annotations

import ctypes
import platform
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from .fields import FIELD_INDEX
from .kernels import count_codes, select_at, work_threads
from .paths import parse_path
from .query import Query, QueryError, parse
from .store import Store, top_values
from .store.ordered import KEY_TIME_SHIFT, TIME_MAX
from .timeline import OrderedTimes

__all__ = [
    "LABEL_FACET",
    "View",
    "ViewRows",
    "compute_view",
    "big_buffers_returned",
    "keep_big_buffers",
    "warm_view_heap",
    "prepare_filter",
    "take_facets",
    "top_values",
]

# The facet of the case's labels (counted by `label_counts`; picking one adds mark:LABEL).
LABEL_FACET = "mark"


@dataclass(slots=True, eq=False, weakref_slot=True)
class View:
    query: Query
    size: int  # store rows at `generation`
    # The matching rows in time order, their times and error flags: see `rows`,
    # `times`, `errors` (None until taken from `_src`).
    _rows: np.ndarray | None
    _times: np.ndarray | None
    _errors: np.ndarray | None
    generation: int
    bins: dict[str, np.ndarray] = field(default_factory=dict)  # field -> count per code
    # path (as spelt) -> (count per code of its column, matching rows with a value)
    path_bins: dict[str, tuple[np.ndarray, int]] = field(default_factory=dict)
    seq: int = 0  # the app's request number
    # Positions of `rows` in the store's time order (None: every row), while
    # `generation` is the store's: counts then read the time-ordered code columns
    # sequentially instead of gathering codes at scattered rows.
    sel: np.ndarray | None = None
    # `times` ascend (no event's sort key was clamped: every time is after 1970 and
    # before 2527): the timeline can take them as sorted without checking 10M pairs.
    ascending: bool = False
    # (field, top) -> `facet`'s answer, kept: the counts and top-N selection of the
    # facets shown are taken with the view (`compute_view(..., top=N)`), so drawing
    # them is cheap enough to go out in the same frame as the list.
    tops: dict[tuple[str, int | None], tuple[list[tuple[str, int]], int]] = field(
        default_factory=dict
    )
    _mask: np.ndarray | None = None
    # The store's time order and its time-ordered times and error flags as of
    # `generation` (None: `rows`, `times`, `errors` are taken). A view of millions
    # of rows takes them at `sel` on first use: the first frame needs a page of rows
    # (`row_list`), the count and the timeline, whose times are binary-searched
    # (`ordered_times`). The store's time order has its lazy views take them before
    # a commit changes those columns (`TimeOrder.keep_current`).
    _src: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def __len__(self) -> int:
        return len(self.sel) if self._rows is None else len(self._rows)  # type: ignore[arg-type]

    @property
    def rows(self) -> np.ndarray:
        """The matching rows in time order."""
        if self._rows is None:
            self._rows = self._take(0)
        return self._rows

    @property
    def times(self) -> np.ndarray:
        """times_ms of `rows`, same order."""
        if self._times is None:
            self._times = self._take(1)
        return self._times

    @property
    def errors(self) -> np.ndarray:
        """bool: rows[i] failed."""
        if self._errors is None:
            self._errors = self._take(2)
        return self._errors

    def _take(self, i: int) -> np.ndarray:
        src, sel = self._src, self.sel
        assert src is not None and sel is not None
        got = _take_at(src[i], sel)
        if sum(x is None for x in (self._rows, self._times, self._errors)) == 1:
            self._src = None  # the last of the three: the store's columns are let go
        return got

    @property
    def mask(self) -> np.ndarray:
        """The verdicts by store row (len `size`). Built from `rows` when first asked
        for (incremental updates, most-rows counts): a new filter's view seldom needs
        it, and scattering 400k rows into 1M cost ~2 ms of the keypress."""
        if self._mask is None:
            if len(self) == self.size:
                self._mask = np.ones(self.size, bool)
            else:
                self._mask = np.zeros(self.size, bool)
                self._mask[self.rows] = True
        return self._mask

    @property
    def lazy(self) -> bool:
        """Whether `rows` (or `times`, `errors`) are still to be taken."""
        return self._src is not None

    def take_all(self) -> None:
        """Take `rows`, `times` and `errors` now (the store's time order is about to
        change under `_src`)."""
        if self._src is not None:
            self._rows, self._times, self._errors = self.rows, self.times, self.errors
            self._src = None

    def row_list(self) -> ViewRows:
        """`rows` as a sequence that takes only the rows asked for while the view is
        lazy (a page of the list), and all of them when used as an array."""
        return ViewRows(self)

    def ordered_times(self) -> np.ndarray | OrderedTimes:
        """`times`, or while the view is lazy and its times ascend, the same times read
        through `sel` by binary searches (`OrderedTimes`), for the timeline."""
        if self._times is not None or self._src is None or not self.ascending:
            return self.times
        assert self.sel is not None
        return OrderedTimes(self._src[1], self.sel)

    def counts(self, store: Store, name: str) -> np.ndarray:
        """Count per value code of `name` (a field, or a JSON path as spelt) among the
        matching rows (computed once)."""
        if name not in FIELD_INDEX:
            return self._path_counts(store, name)[0]
        got = self.bins.get(name)
        if got is None:
            # The store may have grown since (the explorer defers redraws while keys
            # come in): count over the rows this view was computed on.
            col, size = store.codes(name)[: self.size], len(store.values(name))
            if len(self) == len(store) and self.generation == store.generation:
                got = store.value_counts(name)  # every event matches: shared, cached
            elif len(self) == len(col):
                got = np.bincount(col, minlength=size)
            elif self.sel is not None and self.generation == store.generation:
                got = store.count_in_order(name, self.sel)
            elif len(self) * 2 <= len(col):
                # Counting by row number beats a boolean selection (1 vs 3.5 ms at 1M).
                got = count_codes(col, self.rows, size)
            else:  # most rows match: count the few that do not, and subtract
                got = np.bincount(col, minlength=size)
                got -= count_codes(col, np.flatnonzero(~self.mask), size)
            self.bins[name] = got
        return got

    def label_counts(self, store: Store) -> list[tuple[str, int]]:
        """The label facet: (label, events) among the matching rows, most first (ties
        by label); empty without a case. Computed afresh: marks change without a
        commit."""
        ann = store.annotations
        return [] if ann is None else ann.label_counts(self.mask)

    def detection_counts(self, store: Store) -> tuple[list, list[tuple[str, int]]]:
        """The Detections facet: ([(rule, events)], [(severity, events)]) among the
        matching rows, most severe first; empty without rules bound to the store
        (`store.detections`, tui/core/detect). Computed afresh: rules run on commits."""
        det = store.detections
        if det is None:
            return [], []
        return det.counts(self.mask), det.severity_counts(self.mask)

    def facet(self, store: Store, name: str, top: int | None) -> tuple[list[tuple[str, int]], int]:
        """The `top` (value, count) pairs, most first, and the number of distinct values.
        `name` may be a JSON path as spelt (its column is built on first use)."""
        if name == LABEL_FACET:
            labels = self.label_counts(store)
            return (labels if top is None else labels[:top]), len(labels)
        if name not in FIELD_INDEX:
            bins, with_values = self._path_counts(store, name)
            col = store.path_column(parse_path(name))
            return col.top(bins, with_values, len(self), top, store)
        got = self.tops.get((name, top))
        if got is None:
            if len(self) == len(store) and self.generation == store.generation:
                got = store.facet(name, None, top)  # every event: kept per commit
            else:
                got = top_values(self.counts(store, name), store.values(name), top)
            self.tops[(name, top)] = got
        return got

    def has_tops(self, names: Iterable[str], top: int | None) -> bool:
        """Whether `facet(name, top)` is already taken for every one of `names`."""
        return all((name, top) in self.tops for name in names)

    def _path_counts(self, store: Store, name: str) -> tuple[np.ndarray, int]:
        got = self.path_bins.get(name)
        if got is None:
            col = store.path_column(parse_path(name))
            current = self.generation == store.generation
            dense = store.path_dense(col) if current and self.sel is not None else None
            if len(self) == self.size == len(store):
                got = col.counts(None)  # every event: kept per column
            elif dense is not None:
                got = col.counts_dense(dense, self.sel)  # type: ignore[arg-type]
            else:
                got = col.counts(self.mask)
            self.path_bins[name] = got
        return got


class ViewRows:
    """A view's rows as a sequence (`View.row_list`): while the view is lazy, indexing
    takes just the rows asked for (a page of the list: `order[sel[i]]`); used as an
    array (`np.asarray`), it is `View.rows` (all taken)."""

    __slots__ = ("view",)

    def __init__(self, view: View) -> None:
        self.view = view

    def __len__(self) -> int:
        return len(self.view)

    def __getitem__(self, i):
        v = self.view
        src = v._src
        if v._rows is not None or src is None:
            return v.rows[i]
        return src[0][v.sel[i]]  # type: ignore[index]

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        rows = self.view.rows
        return rows if dtype is None else rows.astype(dtype, copy=False)


# glibc serves an allocation above its mmap threshold (which adapts up to 32 MiB) with a
# fresh mapping, every page of it faulted in and zeroed on first touch, and unmaps it when
# freed. At 10M events a view of 4.1M rows makes three such arrays (positions, rows,
# times: 33 MB each) on every key: ~24,000 page faults, 70 ms of a 22 ms view
# (benchmarks/bench_view.py, `region:us-east-1`). Above these thresholds the arrays come
# from the heap, and a freed view's memory is reused by the next.
BIG_BUFFER_MMAP_MIN = 128 << 20  # M_MMAP_THRESHOLD: allocations below it use the heap
BIG_BUFFER_TRIM_MIN = 256 << 20  # M_TRIM_THRESHOLD: free memory kept at the heap's top
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters
# While a run whose temporaries no view reuses is under way (the explorer's analysis,
# `big_buffers_returned`), allocations of this size or more are mapped afresh and
# unmapped when freed: the analysis runs in threads of their own, whose glibc arenas the
# views never allocate from, and what its temporaries left there was kept for nothing
# (at 10M events 184-214 MB free in the worker's arena, 41-62 MB in each search
# thread's; now 134-141 and 11). The price: each mapping's pages are faulted in afresh
# (4 KiB at a time: the store turns numpy's huge-page advice off). glibc maps only when
# no free chunk fits, so the views' warmed heap serves keys meanwhile as before.
RETURNED_MMAP_MIN = 4 << 20
_GLIBC_MMAP_MAX = 32 << 20  # the most glibc's adaptive threshold rises to (64-bit)
_mallopt_lock = threading.Lock()
_big_kept = False  # keep_big_buffers took effect
_returning = 0  # runs under big_buffers_returned


def _mallopt(param: int, value: int) -> bool:
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    return bool(mallopt(param, value))


def keep_big_buffers() -> bool:
    """Have the C allocator keep and reuse big freed buffers (views' arrays) instead of
    mapping fresh pages for each (see BIG_BUFFER_MMAP_MIN): glibc only, process-wide,
    so the explorer calls it once a trail is loaded. Returns whether it took effect.
    Under `big_buffers_returned` the mmap threshold is raised when that run ends."""
    global _big_kept
    with _mallopt_lock:
        if not _mallopt(_M_TRIM_THRESHOLD, BIG_BUFFER_TRIM_MIN):
            return False
        _big_kept = _returning > 0 or _mallopt(_M_MMAP_THRESHOLD, BIG_BUFFER_MMAP_MIN)
        return _big_kept


@contextmanager
def big_buffers_returned() -> Iterator[None]:
    """Within it, allocations of RETURNED_MMAP_MIN or more that no free chunk holds are
    mapped afresh and unmapped when freed (process-wide; glibc only): for a run whose
    temporaries no view reuses. On leaving, the threshold `keep_big_buffers` set (or
    glibc's adaptive maximum, when it was not called) is back."""
    global _returning
    with _mallopt_lock:
        _returning += 1
        if _returning == 1:
            _mallopt(_M_MMAP_THRESHOLD, RETURNED_MMAP_MIN)
    try:
        yield
    finally:
        with _mallopt_lock:
            _returning -= 1
            if not _returning:
                _mallopt(_M_MMAP_THRESHOLD, BIG_BUFFER_MMAP_MIN if _big_kept else _GLIBC_MMAP_MAX)


# The heap `warm_view_heap` touches on the view pool's threads stays below a thread
# arena's heap (64 MiB on 64-bit glibc): a thread's allocations that outgrow its first
# heap go to a new one, which glibc unmaps again when it is wholly free.
WARM_POOL_MAX = 56 << 20


def warm_view_heap(store: Store, fields: Iterable[str]) -> tuple[int, int]:
    """Fault in once, after a load, the heap a big view's arrays come from: on this
    thread and on each of the view pool's, as much as a view of half the events takes
    there (its slice's compare and positions, the facet counters, and here the joined
    positions), then free it. With `keep_big_buffers` in effect freed memory stays with
    the process, so the first views do not pay those pages: at 10M events the first
    filter applies faulted in up to 6,300 pages each (none once warmed:
    `bench_app.py --filters-only [--no-warm-heap]`). Returns the bytes touched here
    and on each pool thread."""
    n = len(store)
    k = _workers()
    if n < SPLIT_MIN or k < 2:
        return 0, 0  # views this small are not split, and take little
    m = n // k
    counters = sum(8 * len(store.values(f)) for f in fields if f in FIELD_INDEX)
    pool_bytes = min(9 * m + counters, WARM_POOL_MAX)
    main_bytes = min(9 * m + 8 * (n // 2) + counters, BIG_BUFFER_TRIM_MIN // 2)
    with _heap_for_views():
        touch_heaps(main_bytes, pool_bytes)
    return main_bytes, pool_bytes


@contextmanager
def _heap_for_views() -> Iterator[None]:
    """Big allocations come from the heap meanwhile, also while the analysis runs under
    `big_buffers_returned` (the explorer warms the views' heap during it): mapped, the
    warmed memory would be unmapped when freed."""
    with _mallopt_lock:
        if _returning and _big_kept:
            _mallopt(_M_MMAP_THRESHOLD, BIG_BUFFER_MMAP_MIN)
    try:
        yield
    finally:
        with _mallopt_lock:
            if _returning and _big_kept:
                _mallopt(_M_MMAP_THRESHOLD, RETURNED_MMAP_MIN)


def touch_heaps(main_bytes: int, pool_bytes: int) -> None:
    """Write and free `main_bytes` on this thread and `pool_bytes` on each thread of the
    view pool (glibc gives each thread an arena of its own)."""
    k = _workers()
    if k < 2:
        np.ones(main_bytes, np.uint8)
        return
    held = threading.Barrier(k - 1)  # each pool thread touches its own arena's heap

    def touch(nbytes: int) -> None:
        buf = np.ones(nbytes, np.uint8)  # written: every page is faulted in
        if threading.current_thread() is not main:
            try:
                held.wait(timeout=1.0)
            except threading.BrokenBarrierError:
                pass  # only the head start is lost
        del buf

    main = threading.current_thread()
    _map(touch, [main_bytes, *([pool_bytes] * (k - 1))])


# A view over at least this many positions of the time order is evaluated in slices,
# one per worker: the compares, the search for matching positions and the takes are
# numpy loops that release the GIL, and at 10M events they are memory-bound passes.
SPLIT_MIN = 1 << 21
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _workers() -> int:
    """Slices a big view is split into (tests set it)."""
    return work_threads()


def _view_pool() -> ThreadPoolExecutor:
    """The threads beside the caller's that big views are computed on (made once)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(_workers() - 1 or 1, thread_name_prefix="view")
        return _pool


def _map(fn, items: list) -> list:
    """`fn` over `items`, the first on this thread and the rest on the view pool."""
    if len(items) == 1:
        return [fn(items[0])]
    pool = _view_pool()
    later = [pool.submit(fn, it) for it in items[1:]]
    first = fn(items[0])
    return [first, *(f.result() for f in later)]


def _share(fn, items: list) -> list:
    """`fn` over `items` on this thread and the view pool's, each taking the next item
    as it is free (`_map` gives the pool's one thread all but the first on 2 cores)."""
    if len(items) < 2 or _workers() < 2:
        return [fn(it) for it in items]
    pool = _view_pool()
    results: list = [None] * len(items)
    queue = iter(range(len(items)))
    lock = threading.Lock()

    def work() -> None:
        while True:
            with lock:
                i = next(queue, None)
            if i is None:
                return
            results[i] = fn(items[i])

    helpers = [pool.submit(work) for _ in range(min(_workers() - 1, len(items) - 1))]
    work()
    for h in helpers:
        if not h.cancel():  # not started (the pool busy elsewhere): nothing left to take
            h.result()
    return results


# A view of at least COUNT_FIELDS_MIN rows counts its facets on both cores, each field
# on a thread of its own (at 10M events each field's count over a 74k-row view is
# ~0.8 ms: its codes are read at scattered positions); from COUNT_SPLIT_MIN rows a
# field of few values is also counted in slices of the positions (the slices' counts
# then added). The principal facet's count over 4.1M positions into 1.5M values is
# ~5 ms on one core.
COUNT_FIELDS_MIN = 1 << 15
COUNT_SPLIT_MIN = 1 << 19
# A field is counted in slices only if its values are at most this share of the
# positions each slice counts: every slice zeroes an array of counts and the sum
# reads them all again, which for the principal's 1.5M values (12 MB) cost more CPU
# than the slice saved (service:s3 at 10M: ~3 ms of zeroing and adding for a 2.5 ms
# count).
COUNT_SLICE_SHARE = 16


def _count_fields(store: Store, view: View, names: list[str]) -> None:
    """`view.counts` of the stored fields `names`, on the view pool when the view is
    big: each field on a thread of its own, the fields of few values of a view of
    COUNT_SPLIT_MIN rows in slices of the positions (each slice a `count_in_order` of
    its positions; the sum is the count). The most values first: the longest job
    starts first."""
    todo = [n for n in names if n not in view.bins]
    sel = view.sel
    k = _workers()
    big = sel is not None and len(sel) >= COUNT_SPLIT_MIN
    if (
        sel is None
        or view.generation != store.generation
        or k < 2
        or not (big or (len(sel) >= COUNT_FIELDS_MIN and len(todo) > 1))
    ):
        for name in todo:
            view.counts(store, name)
        return
    todo.sort(key=lambda name: -len(store.values(name)))
    jobs: list[tuple[str, int, int]] = []
    for name in todo:
        few = len(store.values(name)) * COUNT_SLICE_SHARE * k <= len(sel)
        parts = k if few and big else 1
        edges = [len(sel) * i // parts for i in range(parts + 1)]
        jobs += [(name, edges[i], edges[i + 1]) for i in range(parts)]
    counted = _share(lambda job: store.count_in_order(job[0], sel[job[1] : job[2]]), jobs)
    for (name, _, _), got in zip(jobs, counted, strict=True):
        if name in view.bins:
            view.bins[name] += got
        else:
            view.bins[name] = got


def _slices(start: int, stop: int, splittable: bool) -> list[tuple[int, int]]:
    k = min(_workers(), (stop - start) // SPLIT_MIN) if splittable else 1
    if k < 2:
        return [(start, stop)]
    edges = [start + (stop - start) * i // k for i in range(k + 1)]
    return list(zip(edges[:-1], edges[1:], strict=True))


# A view of at least this many rows takes its rows, times and error flags when first
# asked for (`View.rows`); a smaller one at once (a few ms of takes at 10M events and
# 4M matches, well under a millisecond below this).
LAZY_MIN = 1 << 16

# sel, rows, times, errors: the positions in the time order (None: every row) and the
# columns at them, or None for each column still to be taken at `sel` (see LAZY_MIN).
Selection = tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None, np.ndarray | None]


def _every_row(store: Store) -> Selection:
    return None, store.order, store.times_in_order(), store.errors_in_order()


def _columns(store: Store) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The order and the time-ordered times and error flags, for copying from until the
    next commit (not lent: lending would make the next commit copy them whole)."""
    to = store.time_order
    return to.order.view, to.column("times", lend=False), to.column("errors", lend=False)


def _ascending(store: Store) -> bool:
    """Whether the times in time order ascend: sort keys hold each time exactly unless
    it is clamped (none, before 1970, after 2527), and only the clamped ones can be out
    of order (ordered by eventID among themselves)."""
    keys = store.time_order.keys.view
    if not len(keys):
        return True
    return int(keys[0]) >> KEY_TIME_SHIFT > 0 and int(keys[-1]) >> KEY_TIME_SHIFT < TIME_MAX


def _take_at(col: np.ndarray, sel: np.ndarray) -> np.ndarray:
    """`col[sel]`, in slices on the view pool when `sel` is big."""
    pieces = _slices(0, len(sel), True)
    if len(pieces) == 1:
        return col[sel]
    out = np.empty(len(sel), col.dtype)

    def take(piece: tuple[int, int]) -> None:
        a, b = piece
        np.take(col, sel[a:b], out=out[a:b], mode="clip")  # "raise" would buffer `out`

    _map(take, pieces)
    return out


def _at(store: Store, sel: np.ndarray) -> Selection:
    """Positions `sel` of the time order, with the columns at them taken now when they
    are few (else by the view when first asked for: LAZY_MIN)."""
    if len(sel) >= LAZY_MIN:
        return sel, None, None, None
    order, times, errors = _columns(store)
    return sel, order[sel], times[sel], errors[sel]


def _stretch(store: Store, start: int, stop: int) -> Selection:
    """Every position in [start, stop)."""
    if (start, stop) == (0, len(store)):
        return _every_row(store)
    return _at(store, np.arange(start, stop, dtype=np.int64))


def _select(store: Store, query: Query, now_ms: int) -> Selection:
    """The matching positions of the time order (and the rows, times and error flags
    at them, or those to be taken: `_matches`). A time range is a stretch of the order
    (binary search); the rest of the query is tested over that stretch only, in
    slices on the view pool when it is big."""
    target = store.time_ordered()
    start, stop, rest = query.span(target, now_ms)
    if rest is None:
        return _stretch(store, start, stop)
    whole = (start, stop) == (0, len(store))
    pieces = _slices(start, stop, not rest.has_last)

    def tested(piece: tuple[int, int]) -> Tested:
        a, b = piece
        part = target if whole and len(pieces) == 1 else target.part(a, b)
        mask = rest.test(part, now_ms)
        return mask, int(np.count_nonzero(mask)), a, None

    parts = _map(tested, pieces)
    if sum(p[1] for p in parts) == len(store):
        return _every_row(store)
    return _matches(store, parts)


# One slice's test: its mask, how many it holds, and what its mask index i stands for
# in the time order: position base + i, or sel[i] (a view's positions, narrowed).
Tested = tuple[np.ndarray, int, int, np.ndarray | None]


def _matches(store: Store, parts: list[Tested]) -> Selection:
    """The positions where the slices' masks hold, each slice's on the view pool
    straight into its stretch of the result (`select_at`), with the error flags there
    taken in the same pass (the timeline draws them with the first frame); also the
    rows and times under LAZY_MIN rows, else they are taken when first asked for."""
    total = sum(p[1] for p in parts)
    out = np.empty(total, np.int64)
    order, times, errors = _columns(store)
    srcs = [errors] if total >= LAZY_MIN else [order, times, errors]
    taken = [np.empty(total, src.dtype) for src in srcs]
    offsets = np.cumsum([0, *(p[1] for p in parts)]).tolist()

    def put(i: int) -> None:
        mask, _, base, sel = parts[i]
        lo, hi = offsets[i], offsets[i + 1]
        take = [(src, dst[lo:hi]) for src, dst in zip(srcs, taken, strict=True)]
        select_at(out[lo:hi], mask, base, sel, take)

    _map(put, list(range(len(parts))))
    if len(taken) == 1:
        return out, None, None, taken[0]
    return out, taken[0], taken[1], taken[2]


def _narrowed(store: Store, query: Query, base: View | None, now_ms: int) -> Selection | None:
    """When `query` is `base.query` AND more terms (a facet pick, a pivot) and `base`
    is of the current commit, its matches are `base`'s where those terms hold: they
    are tested at `base`'s positions only."""
    if base is None or base.sel is None or base.generation != store.generation:
        return None
    extra = query.narrowing(base.query)
    if extra is None:
        return None
    target, sel = store.time_ordered(), base.sel
    # A big view is tested in slices of its positions on the view pool, as in _select.
    pieces = _slices(0, len(sel), not extra.has_last)

    def tested(piece: tuple[int, int]) -> Tested:
        a, b = piece
        mask = extra.test(target.at(sel[a:b]), now_ms)
        return mask, int(np.count_nonzero(mask)), 0, sel[a:b]

    return _matches(store, _map(tested, pieces))


def prepare_filter(store: Store, text: str) -> list[str]:
    """Build now the time-ordered code columns of the stored fields `text` (a filter
    being typed) tests, those not built yet; returns their names. A filter's first
    view of a field otherwise builds its column on `enter` (a gather over every event:
    8-20 ms at 10M events); while typing, the key that names the field pays it."""
    try:
        q = parse(text)
    except QueryError:
        return []
    to = store.time_order
    todo = sorted(f for f in q.fields() if f in FIELD_INDEX and not to.built(FIELD_INDEX[f]))
    store.prepare_in_order(todo)
    return todo


def compute_view(
    store: Store,
    query: Query,
    fields: Iterable[str] = (),
    previous: View | None = None,
    now_ms: int | None = None,
    base: View | None = None,
    facet_top: int | None = None,
) -> View:
    """Evaluate `query` over `store` and count `fields`. Raises QueryError.

    `previous` (a view of the same query on an earlier generation) lets the counts be
    updated from the new rows only, when every old row kept its verdict. `base` (the
    view on screen) spares a query that only narrows it the terms they share.
    `facet_top`: also take the top `facet_top` values of the stored fields among
    `fields` (`View.facet`), so that drawing the facets costs little.
    """
    if now_ms is None:
        now_ms = time.time_ns() // 1_000_000
    n = len(store)
    if query.root is None:
        # Every event: the time order and its columns as they are (nothing evaluated).
        sel, rows, times, errors = _every_row(store)
    else:
        query.check(store.time_ordered())
        got = _narrowed(store, query, base, now_ms)
        sel, rows, times, errors = got if got is not None else _select(store, query, now_ms)
    lazy = rows is None
    view = View(
        query,
        n,
        rows,
        times,
        errors,
        store.generation,
        sel=sel,
        ascending=_ascending(store),
        _src=_columns(store) if lazy else None,
    )
    if lazy:
        store.time_order.keep_current(view)
    old = previous if previous is not None and previous.query == query else None
    if old is not None and old.size <= n and np.array_equal(old.mask, view.mask[: old.size]):
        start = old.size
        new_mask = view.mask[start:]
        for name, bins in list(old.bins.items()):  # the UI thread may add to it
            added = np.bincount(
                store.codes(name)[start:][new_mask], minlength=len(store.values(name))
            )
            added[: len(bins)] += bins
            view.bins[name] = added
    take_facets(store, view, fields, facet_top)
    return view


def take_facets(store: Store, view: View, fields: Iterable[str], top: int | None) -> None:
    """Count `fields` under `view` (the stored ones in slices on the view pool when the
    view is big) and, with `top`, keep the stored fields' top values (`View.facet`)."""
    fields = list(fields)
    stored = [name for name in fields if name in FIELD_INDEX]
    _count_fields(store, view, stored)
    for name in fields:
        if name != LABEL_FACET and name not in FIELD_INDEX:  # labels: counted when drawn
            view.counts(store, name)  # (marks change without a commit)
    if top is not None and stored:
        if len(view) >= COUNT_SPLIT_MIN:
            _share(lambda name: view.facet(store, name, top), stored)
        else:
            for name in stored:
                view.facet(store, name, top)
