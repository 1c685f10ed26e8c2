"""Types of the optional C kernels (tui/core/_kernels.c, built by setup.py)."""

import numpy as np

def count_at(out: np.ndarray, codes: np.ndarray, at: np.ndarray, /) -> None: ...
def insert_sorted(
    dst: np.ndarray, src: np.ndarray, n: int, pos: np.ndarray, values: np.ndarray, /
) -> None: ...
