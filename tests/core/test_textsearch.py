"""Free-text search primitives: memmem-based finding against bytes.find, and the
mapping of hits to events inside compressed per-file text."""

from __future__ import annotations

import random

import numpy as np
import pytest
import zstandard

from tui.core import textsearch
from tui.core.textsearch import find_all, finder, search_blobs


def py_find_all(data: bytes, needle: bytes) -> list[int]:
    out, at = [], data.find(needle)
    while at >= 0:
        out.append(at)
        at = data.find(needle, at + 1)
    return out


@pytest.mark.parametrize("size", [50, 5000, 300_000])
def test_find_all_agrees_with_bytes_find(size):
    rng = random.Random(size)
    data = bytes(rng.choice(b"ab\x00c") for _ in range(size))
    for needle in (b"a", b"ab", b"aba", b"\x00c", b"cccccccccccc", data[-3:], data[:5]):
        assert list(find_all(data, needle)) == py_find_all(data, needle), needle


def test_finder_from_offsets_and_edges():
    data = b"x" * 5000 + b"needle" + b"y" * 5000 + b"needle"
    find = finder(data, b"needle")
    first = data.find(b"needle")
    assert find(0) == first
    assert find(first) == first
    assert find(first + 1) == len(data) - 6
    assert find(len(data) - 6) == len(data) - 6
    assert find(len(data) - 5) == -1
    assert find(len(data) + 10) == -1
    with pytest.raises(ValueError):
        finder(data, b"")


def test_memmem_is_used_here():
    # The fast path is the point of the module; on this platform (glibc) it must load.
    assert textsearch._memmem is not None


def blob_of(events: list[bytes]) -> tuple[bytes, np.ndarray, np.ndarray]:
    text, starts, ends = b"", [], []
    for ev in events:
        text += b"\n" if text else b""
        starts.append(len(text))
        text += ev
        ends.append(len(text))
    return zstandard.ZstdCompressor(level=1).compress(text), np.array(starts), np.array(ends)


def test_search_blobs_maps_hits_to_events_in_order():
    rng = random.Random(4)
    files, expected = [], []
    for _ in range(12):
        events = []
        for _ in range(rng.randrange(0, 40)):
            body = "".join(rng.choice("abc") for _ in range(rng.randrange(0, 3000)))
            if rng.random() < 0.2:
                body += "needle" * rng.randrange(1, 3)  # several hits in one event
            events.append(body.encode())
        files.append(blob_of(events))
        expected.append([i for i, ev in enumerate(events) if b"needle" in ev])
    assert list(search_blobs(files, b"needle")) == expected
    assert list(search_blobs(files[:2], b"needle")) == expected[:2]  # the inline path
    # A needle spanning the separator between two events matches neither.
    assert list(search_blobs([blob_of([b"abcnee", b"dleabc"])], b"nee\ndle")) == [[]]
