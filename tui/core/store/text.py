"""Free-text search over the committed files' lower-cased corpora, each phrase's answer
kept and extended with the files committed since it was asked."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import orjson

from ..textsearch import search_blobs
from .files import FileInfo

__all__ = ["TextSearches"]

KEPT = 16  # phrases whose answers are kept, least recently asked first out


class TextSearches:
    def __init__(self, files: list[FileInfo]) -> None:
        self.files = files
        self._kept: OrderedDict[str, tuple[int, np.ndarray]] = OrderedDict()

    def mask(self, phrase: str, rows: int, committed: int) -> np.ndarray:
        """Rows (of `rows`) whose canonical JSON contains `phrase`, case-insensitively;
        `committed`: the files, from the first, whose events are stored.

        The phrase is matched as it would appear inside a JSON string, so quotes and
        backslashes in it match the escaped form in the text.
        """
        needle = orjson.dumps(phrase)[1:-1].decode().lower().encode()
        cached = self._kept.get(phrase)
        start, mask = (0, np.zeros(rows, bool)) if cached is None else cached
        if len(mask) < rows:
            grown = np.zeros(rows, bool)
            grown[: len(mask)] = mask
            mask = grown
        if not needle:
            mask[:] = True
            return mask
        files = self.files
        todo = [
            files[fid]
            for fid in range(start, len(files))
            if files[fid].line_rows is not None and files[fid].text_low
        ]
        blobs = [(fi.text_low, fi.lstarts, fi.lends) for fi in todo]
        for fi, hits in zip(todo, search_blobs(blobs, needle), strict=True):  # type: ignore[arg-type]
            if hits:
                hit_rows = fi.line_rows[hits]  # type: ignore[index]
                mask[hit_rows[hit_rows >= 0]] = True
        self._kept[phrase] = (committed, mask)
        if len(self._kept) > KEPT:
            self._kept.popitem(last=False)
        return mask.copy()

    def backlog(self, phrase: str, committed: int) -> int:
        """How many committed files `mask(phrase)` would still have to search (the
        rest is kept): 0 means it answers at once."""
        cached = self._kept.get(phrase)
        return committed - (0 if cached is None else cached[0])

    def forget(self) -> None:
        """Drop the kept answers: the next search of each phrase reads every file."""
        self._kept.clear()
