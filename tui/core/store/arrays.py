"""The store's growable arrays: `Column` appends (a column in arrival order),
`SortedArray` takes sorted inserts (an order, an index). Both leave room at the end:
untouched room costs no resident memory."""

from __future__ import annotations

import os
import sys

import numpy as np

from ..kernels import insert_sorted

__all__ = ["Column", "SortedArray"]


def _no_hugepage_advice() -> None:
    """Stop numpy asking for transparent huge pages for its big arrays (MADV_HUGEPAGE,
    on arrays of 4 MB and up), unless NUMPY_MADVISE_HUGEPAGE says otherwise.

    Where the kernel's THP defrag setting is `madvise` (a common default), a fault in
    such an array stalls on memory compaction when no free huge page is at hand (numpy
    issue #31590). Measured here: a first touch of 100 MB took 168 ms with the advice
    and 52 ms without, and the main process of a 1M-event load spent ~0.15 s less CPU
    with no slower queries (docs/performance.md)."""
    if "NUMPY_MADVISE_HUGEPAGE" in os.environ:
        return
    toggle = getattr(getattr(np, "_core", None), "multiarray", None)
    toggle = getattr(toggle, "_set_madvise_hugepage", None)
    if toggle is not None:
        toggle(False)


_no_hugepage_advice()


class Column:
    """A growable numpy array with amortised O(1) append."""

    __slots__ = ("buf", "n")

    def __init__(self, dtype: np.dtype | type, cap: int = 1024) -> None:
        self.buf = np.empty(cap, dtype)
        self.n = 0

    def append(self, arr: np.ndarray) -> None:
        k = len(arr)
        if self.n + k > len(self.buf):
            self.reserve(max(len(self.buf) * 3 // 2, self.n + k))  # 1.5x: less slack at 1M
        self.buf[self.n : self.n + k] = arr
        self.n += k

    def reserve(self, cap: int) -> None:
        if cap > len(self.buf):
            nb = np.empty(cap, self.buf.dtype)
            nb[: self.n] = self.buf[: self.n]
            self.buf = nb

    def widen(self, dtype: np.dtype) -> None:
        """Hold items of the wider `dtype` from now on (the values are kept)."""
        nb = np.empty(len(self.buf), dtype)
        nb[: self.n] = self.buf[: self.n]
        self.buf = nb

    @property
    def view(self) -> np.ndarray:
        return self.buf[: self.n]

    def forked(self) -> Column:
        """A column with these rows, for appending off the owner's thread: it writes
        only past `n` of the shared buffer, or into a new one (see Store.stage)."""
        col = Column.__new__(Column)
        col.buf, col.n = self.buf, self.n
        return col


class SortedArray:
    """An array kept in some order, with room at the end for sorted inserts.

    Live arrivals land among the newest events, so only the part from the first
    insertion point on moves: a commit at ~1.1M events went from ten full copies
    (np.insert, ~1.2 ms each) to moving a short tail. An array handed out by `lend`
    is never changed afterwards (views keep them across commits): the next insert
    moves to a new buffer instead. `room`: the least capacity a new buffer gets (a bulk
    load reserves its size up front, so its commits do not regrow every array)."""

    __slots__ = ("buf", "n", "lent", "room", "spare")

    def __init__(self, arr: np.ndarray, room: int = 0) -> None:
        self.buf = arr
        self.n = len(arr)
        self.lent = False
        self.room = room
        # A buffer this array may take as its next new one, if nothing else holds it
        # then (see forked): its pages are resident already.
        self.spare: np.ndarray | None = None

    @property
    def view(self) -> np.ndarray:
        """The array, for use before the next insert."""
        return self.buf[: self.n]

    def lend(self) -> np.ndarray:
        """The array, for keeping."""
        self.lent = True
        return self.buf[: self.n]

    def forked(self, spare: np.ndarray | None = None) -> SortedArray:
        """The same array, whose inserts go to a new buffer (this one is left as it is:
        readers of it keep it unchanged). `spare`: a buffer this array had before, for
        that new one if nobody holds it any more: a staged commit at 10M events would
        otherwise fault in ~80 MB of fresh pages per array (Store.stage)."""
        got = SortedArray(self.buf, self.room)
        got.n, got.lent = self.n, True
        if spare is not None and spare is not self.buf:
            got.spare = spare
        return got

    def insert(self, pos: np.ndarray, values: np.ndarray) -> None:
        """`np.insert(view, pos, values)`, in place; `pos` is non-decreasing."""
        n, k = self.n, len(values)
        if not k:
            return
        if values.dtype != self.buf.dtype:
            # Codes that outgrew their narrow type: the array widens to theirs.
            wide = np.promote_types(self.buf.dtype, values.dtype)
            if wide != self.buf.dtype:
                self.buf, self.lent = self.buf[:n].astype(wide), False
            values = values.astype(wide)
        grow = self.lent or n + k > len(self.buf)
        # Room to grow: untouched room is not resident.
        cap = max(n + k + (n + k) // 8, self.room)
        dst = self.buf
        if grow:
            spare, self.spare = self.spare, None
            # Held only here (and by getrefcount's argument): no view of it is left.
            if (
                spare is not None
                and spare.dtype == self.buf.dtype
                and len(spare) >= n + k
                and sys.getrefcount(spare) <= 2
            ):
                dst = spare
            else:
                del spare
                dst = np.empty(cap, self.buf.dtype)
        insert_sorted(dst, self.buf, n, pos, values)
        self.buf, self.lent, self.n = dst, False, n + k
