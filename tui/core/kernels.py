"""The store's two numpy kernels, in C where `_kernels.c` is built, else in numpy:

- `count_codes`: facet counts at a view's positions (`bincount(codes[at])`);
- `insert_sorted`: `np.insert` of sorted positions into an array that has room, which
  keeps the time order, the id index and the time-ordered columns current as commits
  arrive.

Both give the same answers either way (tests run both); the C versions only save time.
"""

from __future__ import annotations

import numpy as np

try:  # tui/core/_kernels.c; numpy does the same, slower
    from . import _kernels
except ImportError:  # pragma: no cover - built by `pip install`, absent without a compiler
    _kernels = None  # type: ignore[assignment]  # mypy's idiom for an optional module

__all__ = ["available", "count_codes", "insert_sorted", "set_native"]

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
