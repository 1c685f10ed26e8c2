"""The time order: every row sorted by (eventTime, eventID, arrival), kept current by
commits, and the columns views read gathered in that order."""

from __future__ import annotations

import threading
import weakref
from typing import Protocol

import numpy as np

from .arrays import SortedArray
from .columns import EventColumns

__all__ = ["KEY_TIME_SHIFT", "TIME_MAX", "TimeOrder", "sort_keys", "time_key"]

# Sort key: 44 bits of milliseconds since 1970 (to the year 2527; NO_TIME and earlier
# times clamp to 0) above the first 20 bits of the eventID. Integer argsort is several
# times faster than sorting (time, id) records; the rare rows whose keys tie are then
# put in exact (time, eventID, arrival) order by `TimeOrder._fix_ties`.
_TIME_BITS = 44
_ID_BITS = 20
TIME_MAX = (1 << _TIME_BITS) - 1  # the latest time a sort key holds (year 2527)
KEY_TIME_SHIFT = _ID_BITS  # key >> KEY_TIME_SHIFT: the key's (clamped) time


def time_key(t: int) -> np.uint64:
    """The least sort key of time `t` (0 <= t <= TIME_MAX)."""
    return np.uint64(t) << np.uint64(_ID_BITS)


def sort_keys(times: np.ndarray, eid16: np.ndarray) -> np.ndarray:
    """uint64 keys that order like (time, eventID) except inside rare ties."""
    t = np.clip(times, 0, TIME_MAX).astype(np.uint64)
    prefix = np.frombuffer(eid16.tobytes(), ">u8")[::2] if len(eid16) else np.empty(0, ">u8")
    return (t << np.uint64(_ID_BITS)) | (prefix.astype(np.uint64) >> np.uint64(64 - _ID_BITS))


class Lazy(Protocol):
    def take_all(self) -> None: ...


class TimeOrder:
    """`order`: the rows in time order, and `keys`: their sort keys, ascending.

    Also the time-ordered columns (`column`): a column of `columns` gathered through
    the order, built on first use and kept current by each commit's inserts. Views
    select from these: masks and counts over them are sequential passes, where the
    same work in store order gathers at 1M random rows."""

    def __init__(self, columns: EventColumns) -> None:
        self.columns = columns
        self._order = SortedArray(np.empty(0, np.int64))
        self._keys = SortedArray(np.empty(0, np.uint64))
        self.room = 0  # rows reserved by a bulk load (see reserve)
        self._columns: dict[str | int, SortedArray] = {}  # built, current
        self._ranks: np.ndarray | None = None  # see ranks
        self._deferring = False
        # Rows noted by merges while deferring: always the newest rows of `columns`
        # (commits append them), so they are known by their count alone.
        self._deferred = 0
        # Views that read the order and time-ordered columns as they are now, to take
        # what they need from them before a merge changes them in place (keep_current).
        self._readers: weakref.WeakSet[Lazy] = weakref.WeakSet()
        self._readers_lock = threading.Lock()  # views may be made on a worker thread
        # Buffers replaced by the last staged commit, for the next one's (see adopt).
        self._spares: dict[str | int, np.ndarray] = {}

    @property
    def order(self) -> SortedArray:
        if self._deferred:
            self._catch_up()
        return self._order

    @property
    def keys(self) -> SortedArray:
        if self._deferred:
            self._catch_up()
        return self._keys

    def reserve(self, rows: int) -> None:
        # The order, its keys and the time-ordered columns grow by inserts: they take
        # the room at their next new buffer (measured at 1M: growing 1/8 at a time,
        # each commit faulted in ~20 MB of fresh pages for them).
        self.room = max(self.room, rows)
        self._order.room = self._keys.room = self.room

    # ------------------------------------------------------------------ merging
    def defer(self, flag: bool) -> None:
        """While deferring, `merge` only notes its rows; they are merged in one go at
        the first read of the order (or when deferring ends). A bulk load that nobody
        reads until it ends: each merge into an order of millions moves most of it
        (at 10M events, 100 commits of 100k cost ~1.7 s), where one sort at the end
        costs ~1 s. The result is the same: the order is (key, time, eventID, row)
        whichever way it is reached."""
        self._deferring = flag
        if not flag and self._deferred:
            self._catch_up()

    def _catch_up(self) -> None:
        start, self._deferred = self._order.n, 0
        if start == 0 or len(self.columns) - start > start:
            self._sort_all()  # what _merge would do, without making the rows
        else:
            self._merge(np.arange(start, len(self.columns)), self.columns.keys.view[start:])

    def merge(self, rows: np.ndarray, keys: np.ndarray) -> None:
        """Take in newly stored `rows` (with their sort `keys`): the rows appended to
        `columns` since the last merge."""
        self._ranks = None
        if self._deferring:
            if len(rows) and rows[0] != self._order.n + self._deferred:
                raise ValueError("merge: rows are not the newest of the store")
            self._deferred += len(rows)
            return
        if self._deferred:
            self._catch_up()
        self._merge(rows, keys)

    def forked(self, columns: EventColumns) -> TimeOrder:
        """This order over `columns` (a fork of this order's, appended to), for a merge
        off the owner's thread: its inserts go to new buffers, so readers of this one
        (lazy views, the owner's thread) see it unchanged; `adopt` takes it back."""
        if self._deferring or self._deferred:
            raise RuntimeError("a deferred time order is merged on the owner's thread")
        spares, self._spares = self._spares, {}
        got = TimeOrder(columns)
        got.room = self.room
        got._order = self._order.forked(spares.pop("order", None))
        got._keys = self._keys.forked(spares.pop("keys", None))
        got._columns = {
            name: col.forked(spares.pop(name, None)) for name, col in self._columns.items()
        }
        return got

    def merged_apart(self, rows: np.ndarray, keys: np.ndarray, built: list[str | int]) -> None:
        """`merge` in a fork (`forked`), then the time-ordered columns `built` (those the
        forked order had) made again if a full sort dropped them."""
        self.merge(rows, keys)
        for name in built:
            self.column(name, lend=False)

    def adopt(self, fork: TimeOrder, keep_spares: bool = False) -> None:
        """Take the merged order, keys and time-ordered columns of `fork` (of this
        order). Readers of the arrays replaced keep them as they were: nothing wrote
        into them, so `keep_current` readers need not take anything. `keep_spares`:
        the replaced buffers are kept for the next fork's new ones (more staged
        commits are coming: a load), when nobody holds them by then."""
        if keep_spares:
            old = {"order": self._order, "keys": self._keys, **self._columns}
            new = {"order": fork._order, "keys": fork._keys, **fork._columns}
            self._spares = {
                name: arr.buf
                for name, arr in old.items()
                if name in new and new[name].buf is not arr.buf
            }
        else:
            self._spares = {}
        self._order, self._keys = fork._order, fork._keys
        self._columns = fork._columns
        self._ranks = None

    def let_go_of_spares(self) -> None:
        """No more staged commits are coming: the buffers kept for them go."""
        self._spares = {}

    def keep_current(self, reader: Lazy) -> None:
        """`reader` reads the order and time-ordered columns as they are now (without
        copying them): before the next merge changes them in place, its `take_all` is
        called (then it is forgotten). Held weakly: a view dropped costs nothing."""
        with self._readers_lock:
            self._readers.add(reader)

    def _readers_take_all(self) -> None:
        with self._readers_lock:
            readers, self._readers = list(self._readers), weakref.WeakSet()
        for r in readers:
            r.take_all()

    def _merge(self, rows: np.ndarray, keys: np.ndarray) -> None:
        # Inserts and tie fixes below write into the order and columns in place.
        self._readers_take_all()
        self._spares = {}
        n_old = self._order.n
        # Inserting a sorted chunk is O(n + k log n); a full sort only pays when the
        # chunk outweighs the store (measured at 1M: chunks of 100k went 0.38 -> 0.17 s
        # in total against re-sorting whenever a chunk was over 1/8 of the store).
        if n_old == 0 or len(rows) > n_old:
            self._sort_all()
            return
        s = np.argsort(keys, kind="stable")
        pos = np.searchsorted(self._keys.view, keys[s], side="right")
        self._order.insert(pos, rows[s])
        self._keys.insert(pos, keys[s])
        resorted = self._fix_ties(pos + np.arange(len(pos)))
        # The time-ordered columns: insert too (a fresh gather over the whole store
        # costs ~7 ms at 1M), then redo the re-sorted tie runs (in one take per column:
        # at 5k events/s most events share their second with others, and a loop over
        # the runs cost ~10 ms per commit while tailing).
        tied_rows = self._order.view[resorted]
        values_of = self.columns.values_of
        for name, arr in self._columns.items():
            arr.insert(pos, values_of(name, rows[s]))
            if len(resorted):
                arr.view[resorted] = values_of(name, tied_rows)

    def _sort_all(self) -> None:
        """The order made afresh from every stored row's key."""
        self._readers_take_all()  # (they would keep the old arrays alive otherwise)
        allkeys = self.columns.keys.view
        order = np.argsort(allkeys, kind="stable")
        self._order = SortedArray(order, self.room)
        self._keys = SortedArray(allkeys[order], self.room)
        sk = self._keys.view
        self._fix_ties(np.flatnonzero(sk[1:] == sk[:-1]))  # each tie run, once
        self._columns = {}  # rebuilt on next use

    def _fix_ties(self, positions: np.ndarray) -> np.ndarray:
        """Exact (time, eventID, row) order inside runs of equal sort keys that touch
        `positions` (positions in `order`); returns the positions of those runs (their
        rows were re-sorted). Only the neighbours of those positions are compared, and
        all touched runs are sorted in one lexsort (a Python sort per run cost ~7% of
        the UI thread while tailing)."""
        sk = self._keys.view
        order = self._order.view  # not lent: a new buffer, or one nobody kept
        n = len(sk)
        none = np.empty(0, np.int64)
        if n < 2 or not len(positions):
            return none
        p = np.asarray(positions, np.int64)
        tied = np.zeros(len(p), bool)
        tied[p > 0] |= sk[p[p > 0] - 1] == sk[p[p > 0]]
        tied[p < n - 1] |= sk[p[p < n - 1] + 1] == sk[p[p < n - 1]]
        if not tied.any():
            return none
        keys = np.unique(sk[p[tied]])
        lo = np.searchsorted(sk, keys, "left")
        hi = np.searchsorted(sk, keys, "right")
        lens = hi - lo
        run = np.repeat(np.arange(len(keys)), lens)
        pos = np.repeat(lo - np.cumsum(np.r_[0, lens[:-1]]), lens) + np.arange(lens.sum())
        rows = order[pos]
        # Within each run: by time, then eventID bytes, then row (arrival).
        cols = self.columns
        s = np.lexsort((rows, cols.eid.view[rows], cols.times.view[rows], run))
        order[pos] = rows[s]
        return pos

    # ------------------------------------------------------------------ reading
    def column(
        self, name: str | int, sel: np.ndarray | None = None, *, lend: bool = True
    ) -> np.ndarray:
        """Column `name` of EventColumns.values_of ('times', 'errors', 'flags' or a field
        index) in time order (built now if it is not). With `sel`, just those
        positions (a copy). Without, the whole column: with `lend`, kept unchanged by
        later commits (so the next commit copies it rather than inserting in place);
        without, only for use before the next commit."""
        if self._deferred:
            self._catch_up()
        col = self._columns.get(name)
        if col is None:
            col = SortedArray(self.columns.values_of(name, self.order.view), self.room)
            self._columns[name] = col
        if sel is not None:
            return col.view[sel]
        return col.lend() if lend else col.view

    def built(self, name: str | int) -> bool:
        """Whether `column(name)` is built (and so current)."""
        if self._deferred:
            self._catch_up()
        return name in self._columns

    def forget(self, name: str | int) -> None:
        """The column's values changed at stored rows (flags): rebuild it on next use."""
        self._columns.pop(name, None)

    def positions(self, rows: np.ndarray) -> np.ndarray:
        """Where each of `rows` stands in the order (`order[pos] == row`), by binary
        search on the sort keys: O(k log n) for k rows, where inverting the order would
        touch every row."""
        rows = np.asarray(rows, np.int64)
        sk = self.keys.view
        keys = self.columns.keys.view[rows]
        lo = np.searchsorted(sk, keys, "left")
        hi = np.searchsorted(sk, keys, "right")
        pos = lo.copy()
        order = self.order.view
        for i in np.flatnonzero(hi - lo > 1).tolist():  # rare: equal keys (see _fix_ties)
            run = order[lo[i] : hi[i]]
            pos[i] = lo[i] + int(np.flatnonzero(run == rows[i])[0])
        return pos

    def ranks(self) -> np.ndarray:
        """Each row's position in the order (the inverse of `order`; kept until the
        next commit)."""
        if self._ranks is None:
            order = self.order.view
            ranks = np.empty(len(order), np.int32 if len(order) < 2**31 else np.int64)
            ranks[order] = np.arange(len(order), dtype=ranks.dtype)
            self._ranks = ranks
        return self._ranks

    def sort(self, rows: np.ndarray) -> np.ndarray:
        """`rows` sorted like the order (time, eventID, arrival)."""
        rows = np.asarray(rows, np.int64)
        if len(rows) < 2:
            return rows
        times, eid = self.columns.times.buf, self.columns.eid.buf
        return np.array(
            sorted(rows.tolist(), key=lambda r: (int(times[r]), bytes(eid[r]), r)), np.int64
        )
