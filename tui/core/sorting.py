"""The event list's sort orders: matching rows re-ordered by a column, headless.

A view's rows come in time order. Sorting them by a field is one stable sort of
small integers: each value code is mapped to the rank of its value (dictionary codes
are in order of first sight, not of value), and a stable sort over time-ordered input
leaves events with equal values in time order -- the tie-break, with no second key.
The ranks are few (a field's distinct values), so the sort is a counting sort
(`kernels.sort_by_rank`, O(n), without the GIL: `prepare_sort` lets the event list
run it on a thread). Ranks are cached per field and rebuilt only when the field's
dictionary grows.

Empty values (no error, no IP...) sort last in both directions: a column sorted
either way shows the events that have the value first.
"""

from __future__ import annotations

import heapq
import threading
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .fields import FIELD_INDEX
from .kernels import sort_by_rank
from .store import Store

__all__ = ["ERRORS_FIRST", "TIME", "SortKey", "Ranks", "prepare_sort", "sort_rows", "SORTABLE"]

TIME = "time"
ERRORS_FIRST = "errors"  # failed calls first, each group in time order
SORTABLE = frozenset({TIME, ERRORS_FIRST, *FIELD_INDEX})


@dataclass(frozen=True, slots=True)
class SortKey:
    """How the list is ordered: a column (`time`, a field name, or `errors` for failed
    calls first) and a direction."""

    column: str = TIME
    descending: bool = False

    @property
    def is_time_order(self) -> bool:
        """The view's own order: nothing to sort."""
        return self.column == TIME and not self.descending

    def label(self, titles: dict[str, str] | None = None) -> str:
        """`Principal ↑`, `errors first`: for the header and the status line."""
        if self.column == ERRORS_FIRST:
            return "errors first"
        name = (titles or {}).get(self.column, self.column)
        return f"{name} {'↓' if self.descending else '↑'}"


class Ranks:
    """Per field, each value code's rank in value order (the empty value after every
    other, in both directions), for one store. Dictionaries only grow: values first
    seen since the last call are sorted and merged into the known order (while
    tailing, a commit brings a few new IPs or principals, and re-sorting a field's
    1.5M values at 10M events costs seconds), and the rank tables rebuilt from that
    order in numpy. Safe to use from several threads (the event list sorts big views
    on one); one field's work holds only that field."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._fields: dict[str, _ValueOrder] = {}
        self._lock = threading.Lock()  # guards _fields

    def of(self, field: str, descending: bool = False, n: int | None = None) -> np.ndarray:
        """The rank of each of the field's first `n` value codes (all of them by default:
        a sort on a thread passes the count it saw, the dictionary may grow meanwhile)."""
        with self._lock:
            got = self._fields.get(field)
            if got is None:
                got = self._fields[field] = _ValueOrder()
        values = self.store.values(field)
        with got.lock:
            return got.table(values, descending, len(values) if n is None else n)

    def ready(self, field: str, descending: bool = False) -> bool:
        """Whether `of` answers quickly: little to sort (a small dictionary, or few new
        values) and to rebuild. A sort that must first order 1.5M principals (seconds)
        is better run on a thread."""
        n = len(self.store.values(field))
        got = self._fields.get(field)
        seen = got.seen if got is not None else 0
        new = n - seen
        work = n if new * _REBUILD_SHARE > seen else new  # values to sort
        if got is None or new or descending not in got.tables:
            work += n  # the table from the order (a list to numpy)
        return work <= _QUICK


_REBUILD_SHARE = 8  # more new values than 1/8 of the known: sort them all afresh
# sorted() holds the GIL throughout (0.8-1.4 s for the 1.5M principals of 10M
# events), freezing the UI while the list's thread sorts. Sets of more than _ONE_SORT
# values are sorted in runs of _RUN merged by a generator, which gives the GIL up: for
# 1.5M ARN-like values 1.8 s in all against 0.8 s, but the longest hold 38 ms.
_ONE_SORT = 1 << 16  # one sorted(): ~20-40 ms
_RUN = 1 << 13
_QUICK = 50_000  # values to sort or convert that `ready` calls quick (~20 ms)


def _by_value(values: Sequence[str], codes: range | list[int]) -> list[int]:
    """`codes` ordered by their values (distinct: a dictionary's)."""
    key = values.__getitem__
    if len(codes) <= _ONE_SORT:
        return sorted(codes, key=key)
    runs = [sorted(codes[i : i + _RUN], key=key) for i in range(0, len(codes), _RUN)]
    return list(heapq.merge(*runs, key=key))


class _ValueOrder:
    """One field's non-empty value codes in value order, kept up to date."""

    def __init__(self) -> None:
        self.codes: list[int] = []  # the non-empty values' codes, ascending by value
        self.seen = 0  # codes [0, seen) are placed
        self.empty: int | None = None  # the code of ""
        self.tables: dict[bool, np.ndarray] = {}
        self.lock = threading.Lock()

    def table(self, values: Sequence[str], descending: bool, n: int) -> np.ndarray:
        if n > self.seen:
            self._place(values, n)
        got = self.tables.get(descending)
        if got is None:
            got = self.tables[descending] = self._build(self.seen, descending)
        return got

    def _place(self, values: Sequence[str], n: int) -> None:
        new = range(self.seen, n)
        if len(new) * _REBUILD_SHARE > self.seen:
            self.codes = _by_value(values, range(n))
        else:
            # One merge pass of slices, O(known + new): inserting each new value into
            # the list moved the rest once per value (1,000 new principals into 1.5M
            # known: seconds with the GIL held). The places are found by the values of
            # the codes (no list of the values beside: the store's dictionary is it).
            add = _by_value(values, new)
            value = values.__getitem__
            at = [bisect_right(self.codes, value(c), key=value) for c in add]
            codes: list[int] = []
            prev = 0
            for i, c in zip(at, add, strict=True):
                codes += self.codes[prev:i]
                codes.append(c)
                prev = i
            self.codes = codes + self.codes[prev:]
        if self.empty is None and "" in values[self.seen : n]:
            self.empty = self.seen + values[self.seen : n].index("")
        if self.empty is not None and self.codes and self.codes[0] == self.empty:
            del self.codes[0]
        self.seen = n
        self.tables.clear()

    def _build(self, n: int, descending: bool) -> np.ndarray:
        # The smallest dtype that holds the ranks: numpy's stable sort is a radix sort
        # for 16-bit integers (~4x faster than merging int32 at 1M rows).
        dtype = np.uint16 if n < (1 << 16) else np.uint32
        ranks = np.empty(n, dtype)
        m = len(self.codes)
        order = np.arange(m, dtype=dtype)
        ranks[np.asarray(self.codes, np.int64)] = order[::-1] if descending else order
        if self.empty is not None:
            ranks[self.empty] = m  # last both ways
        return ranks


def sort_rows(
    store: Store,
    rows: np.ndarray,
    key: SortKey,
    *,
    ranks: Ranks | None = None,
    sel: np.ndarray | None = None,
) -> np.ndarray:
    """`rows` (store rows in time order) ordered by `key`; ties stay in time order.

    `sel`: the rows' positions in the store's time order, when known and current (a
    view's `sel`; None with every row listed): the codes are then read from the
    time-ordered columns, sequentially, instead of gathered at scattered rows.
    """
    return prepare_sort(store, rows, key, ranks=ranks, sel=sel)()


def prepare_sort(
    store: Store,
    rows: np.ndarray,
    key: SortKey,
    *,
    ranks: Ranks | None = None,
    sel: np.ndarray | None = None,
    lend: bool = False,
) -> Callable[[], np.ndarray]:
    """`sort_rows` as a call to make later, on any thread (the work releases the GIL).
    With `lend`, the call may run while the store grows (its result is then for the
    rows given, not the ones committed since): a time-ordered column it reads is taken
    now as one that later commits leave alone (they copy it instead of inserting in
    place), and one not built yet is not built (a gather over every event, 30-60 ms
    at 10M, on the caller's thread): the codes are gathered by row in the call."""
    rows = np.asarray(rows, np.int64)
    if key.is_time_order or len(rows) < 2:
        return lambda: rows
    if key.column == TIME:
        return lambda: rows[::-1].copy()
    if key.column == ERRORS_FIRST:
        failed = _errors_source(store, rows, sel, lend)
        # A rank sort of the flags, failed (1) ranked 0: both groups keep time order.
        return lambda: sort_by_rank(rows, np.asarray(failed(), bool).view(np.uint8), _FAILED_FIRST)
    if key.column not in FIELD_INDEX:
        raise ValueError(f"cannot sort by {key.column!r}")
    codes = _codes_source(store, key.column, rows, sel, lend)
    ranks = ranks or Ranks(store)
    n_values = len(store.values(key.column))
    field, descending = key.column, key.descending

    def run() -> np.ndarray:
        table = ranks.of(field, descending, n_values)
        return sort_by_rank(rows, np.ascontiguousarray(codes()), table)

    return run


_FAILED_FIRST = np.array([1, 0], np.uint16)  # the rank of "not failed", "failed"


def _codes_source(
    store: Store, field: str, rows: np.ndarray, sel: np.ndarray | None, lend: bool
) -> Callable[[], np.ndarray]:
    full = len(rows) == len(store)
    if (sel is not None or full) and not (lend and not store.time_order.built(FIELD_INDEX[field])):
        col = store.time_order.column(FIELD_INDEX[field], lend=lend)
        if full and sel is None:
            if len(col) == len(rows):
                return lambda: col
        elif sel is not None and len(col) > int(sel[-1]):
            return lambda: col[sel]
    by_row = store.codes(field)  # appended to, never changed in place
    return lambda: by_row[rows]


def _errors_source(
    store: Store, rows: np.ndarray, sel: np.ndarray | None, lend: bool
) -> Callable[[], np.ndarray]:
    if (sel is not None or len(rows) == len(store)) and not (
        lend and not store.time_order.built("errors")
    ):
        col = store.time_order.column("errors", lend=lend)
        if sel is not None:
            return lambda: col[sel]
        return lambda: col
    by_row = store.codes("error")
    return lambda: by_row[rows] != 0
