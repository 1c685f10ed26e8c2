"""The store's numpy kernels, in C where `_kernels.c` is built, else in numpy:

- `count_codes`: facet counts at a view's positions (`bincount(codes[at])`);
- `insert_sorted`: `np.insert` of sorted positions into an array that has room, which
  keeps the time order, the id index and the time-ordered columns current as commits
  arrive;
- `sort_by_rank`: rows stably ordered by their values' ranks (the event list's sort);
- `select_at`: the positions where a filter's mask holds and the columns taken at
  them, in one pass (a view's matches and its error flags).

All give the same answers either way (tests run both); the C versions only save time.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

try:  # tui/core/_kernels.c; numpy does the same, slower
    from . import _kernels
except ImportError:  # pragma: no cover - built by `pip install`, absent without a compiler
    _kernels = None  # type: ignore[assignment]  # mypy's idiom for an optional module

__all__ = [
    "available",
    "count_codes",
    "insert_sorted",
    "select_at",
    "set_native",
    "sort_by_rank",
]

_native = _kernels is not None
# The code types count_at reads (the store's narrow code columns, and int32).
_CODE_DTYPES = (np.dtype(np.uint8), np.dtype(np.uint16), np.dtype(np.int32))


def available() -> bool:
    """Whether the C kernels are built."""
    return _kernels is not None


def set_native(flag: bool) -> bool:
    """Use the C kernels (when built) or numpy; returns the previous setting. Tests
    compare the two."""
    global _native
    before, _native = _native, bool(flag) and _kernels is not None
    return before


def count_codes(codes: np.ndarray, at: np.ndarray, size: int) -> np.ndarray:
    """`np.bincount(codes[at], minlength=size)` for codes below `size`: in one pass
    without the gathered copy when the C kernel is built (~0.3 vs 0.8 ms for a 325k
    selection of a 1.3M column)."""
    if (
        not _native
        or codes.dtype not in _CODE_DTYPES
        or at.dtype != np.int64
        or not (codes.flags.c_contiguous and at.flags.c_contiguous)
    ):
        return np.bincount(codes[at], minlength=size)
    out = np.zeros(size, np.int64)
    _kernels.count_at(out, codes, at)
    return out


def insert_sorted(
    dst: np.ndarray, src: np.ndarray, n: int, pos: np.ndarray, values: np.ndarray
) -> None:
    """`dst[:n + k] = np.insert(src[:n], pos, values)` for non-decreasing `pos`; `dst`
    may be `src` (then it needs room for the k values). Only the part from the first
    position on moves."""
    if _native and values.dtype == dst.dtype:
        _kernels.insert_sorted(
            dst, src, n, np.ascontiguousarray(pos, np.int64), np.ascontiguousarray(values)
        )
        return
    p0 = int(pos[0])
    tail = np.insert(src[p0:n], pos - p0, values)
    if dst is not src:
        dst[:p0] = src[:p0]
    dst[p0 : n + len(values)] = tail


_RANK_DTYPES = (np.dtype(np.uint16), np.dtype(np.uint32))


def sort_by_rank(rows: np.ndarray, codes: np.ndarray, table: np.ndarray) -> np.ndarray:
    """`rows[np.argsort(table[codes], kind="stable")]`: `rows` (int64) ordered by the
    rank `table` gives each one's code, equal ranks in their order. In C, a counting
    sort in two passes without the GIL (the ranks are few: a field's distinct values);
    numpy's stable argsort is a radix sort for 16-bit ranks but a merge sort for
    32-bit ones, after a gather of the ranks."""
    if (
        not _native
        or rows.dtype != np.int64
        or codes.dtype not in _CODE_DTYPES
        or table.dtype not in _RANK_DTYPES
        or not (rows.flags.c_contiguous and codes.flags.c_contiguous)
        or not table.flags.c_contiguous
    ):
        return rows[np.argsort(table[codes], kind="stable")]
    out = np.empty(len(rows), np.int64)
    _kernels.sort_by_rank(out, rows, codes, table, len(table) + 1)
    return out


def _plain(a: np.ndarray, dtype: np.dtype | None = None) -> bool:
    return a.flags.c_contiguous and (dtype is None or a.dtype == dtype)


_INT64 = np.dtype(np.int64)


def select_at(
    out: np.ndarray,
    mask: np.ndarray,
    base: int = 0,
    sel: np.ndarray | None = None,
    take: Sequence[tuple[np.ndarray, np.ndarray]] = (),
) -> None:
    """The positions where `mask` holds, into `out` (which has exactly that many
    places): `base + i` for mask index i, or `sel[i]` with `sel`; and for each (src,
    dst) of `take`, `dst[:] = src[out]`. In C, one pass over the mask, straight into
    `out` (a slice of a bigger array), each block's columns taken while its positions
    are in the cache; numpy makes the positions, copies them and reads them again
    for each take."""
    if (
        _native
        and _plain(out, _INT64)
        and _plain(mask, np.dtype(bool))
        and (sel is None or _plain(sel, _INT64))
        and all(_plain(s) and _plain(d, s.dtype) for s, d in take)
    ):
        got = _kernels.select_at(
            out, mask, base, sel, tuple(s for s, _ in take), tuple(d for _, d in take)
        )
        if got != len(out):
            raise ValueError(f"{got} positions for {len(out)} places")
        return
    at = np.flatnonzero(mask)
    if len(at) != len(out):
        raise ValueError(f"{len(at)} positions for {len(out)} places")
    if sel is not None:
        np.take(sel, at, out=out)
    else:
        np.add(at, base, out=out, casting="unsafe")
    for src, dst in take:
        dst[:] = src[out]


def work_threads() -> int:
    """Threads a big piece of work (a view's slices, a wildcard's scan) is split over:
    the cores this process may run on, up to 4."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(4, cores or 1))
