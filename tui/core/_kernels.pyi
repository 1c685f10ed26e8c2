"""Types of the optional C kernels (tui/core/_kernels.c, built by setup.py)."""

import numpy as np

def count_at(out: np.ndarray, codes: np.ndarray, at: np.ndarray, /) -> None: ...
def insert_sorted(
    dst: np.ndarray, src: np.ndarray, n: int, pos: np.ndarray, values: np.ndarray, /
) -> None: ...
def sort_by_rank(
    out: np.ndarray, rows: np.ndarray, codes: np.ndarray, table: np.ndarray, nranks: int, /
) -> None: ...
def select_at(
    out: np.ndarray,
    mask: np.ndarray,
    base: int,
    sel: np.ndarray | None,
    srcs: tuple[np.ndarray, ...],
    dsts: tuple[np.ndarray, ...],
    /,
) -> int: ...
