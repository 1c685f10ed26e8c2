"""The file registry: every file the store was given (loaded or not), the walk errors,
and the counts and reasons the status line and the Skipped list show."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from ..batch import LENIENT, FileBatch
from ..reader import counted
from ..spill import Spilled

__all__ = ["FileInfo", "FileRegistry"]


@dataclass(slots=True)
class FileInfo:
    path: str
    kind: str
    state: str
    reason: str
    fmt: str = ""
    events: int = 0  # events stored from this file (after dedupe)
    records: int = 0  # good records read
    bad_records: int = 0
    bad_samples: list[str] = field(default_factory=list)
    duplicates: int = 0
    lenient: str = ""
    size: int = 0
    mtime_ns: int = 0
    inode: int = 0
    dev: int = 0
    orig: bytes = b""  # see FileBatch: originals, decoded by orig_codec
    orig_codec: str = "zstd"
    ostarts: np.ndarray | None = None
    oends: np.ndarray | None = None
    text_low: bytes | Spilled = b""  # see FileBatch: the free-text corpus
    lstarts: np.ndarray | None = None
    lends: np.ndarray | None = None
    line_rows: np.ndarray | None = None  # row per canonical line, -1 if dropped as duplicate
    gone: bool = False  # deleted from disk after loading (the events stay)
    # A later read of the same path (rewritten, or skipped and then complete) took its
    # place in the counts and the skipped list; its events, if any, stay.
    superseded: bool = False

    @classmethod
    def of(cls, b: FileBatch) -> FileInfo:
        fi = cls(
            path=b.path,
            kind=b.kind,
            state=b.state,
            reason=b.reason,
            fmt=b.fmt,
            records=b.n,
            bad_records=b.bad_records,
            bad_samples=b.bad_samples,
            lenient=b.lenient,
            size=b.size,
            mtime_ns=b.mtime_ns,
            inode=b.inode,
            dev=b.dev,
        )
        if b.n:
            # A file's own gzip bytes are not kept: originals are read back from disk
            # when shown (the issue allows it; it halves memory). Other originals
            # (lookup-events, JSON Lines, lenient files) are canonical text kept here.
            if b.orig_codec != "gzip":
                fi.orig = b.orig
            fi.orig_codec = b.orig_codec
            fi.ostarts, fi.oends = b.ostarts, b.oends
            fi.text_low, fi.lstarts, fi.lends = b.text_low, b.lstarts, b.lends
        return fi


def needs_a_word(fi: FileInfo) -> bool:
    """Whether a file belongs on the Skipped list: not (fully) loaded, or loaded only
    by accepting something a strict reading would not (see reader lenient labels)."""
    return fi.state != "loaded" or bool(fi.bad_records) or bool(fi.lenient)


class FileRegistry:
    """`files` by id (a file's position, which rows refer to), `index` by path (the
    latest read of each), and `errors`: walk errors as (path, reason), appended by
    discovery and by tailing. The digest files and the paths discovery ignored (with
    reasons) are kept for the stats."""

    def __init__(self) -> None:
        self.files: list[FileInfo] = []
        self.index: dict[str, int] = {}
        self.errors: list[tuple[str, str]] = []
        self.digests: list[str] = []
        self.ignored: list[tuple[str, str]] = []
        # Kept as files come and go: the status line reads them several times a second
        # while tailing, and a pass over every file took ~0.5 ms per 2,600 files.
        self._loaded = 0
        self._problems = 0  # not (fully) loaded or read leniently: see skipped()
        self._gone = 0
        self._error_paths: tuple[int, set[str]] = (-1, set())  # see _drop_errors

    def add(self, b: FileBatch) -> int:
        """Register a read of a file; returns its id. A later read of the same path
        takes the earlier one's place in the counts."""
        fid = len(self.files)
        prev = self.index.get(b.path)
        if prev is not None:
            self._supersede(self.files[prev])
        if self.errors:
            self._drop_errors(b.path)
        fi = FileInfo.of(b)
        self.files.append(fi)
        self._count(fi, 1)
        self.index[b.path] = fid
        return fid

    def _count(self, fi: FileInfo, sign: int) -> None:
        self._loaded += sign * (fi.state == "loaded")
        self._problems += sign * needs_a_word(fi)
        self._gone += sign * fi.gone

    def _supersede(self, fi: FileInfo) -> None:
        if not fi.superseded:
            self._count(fi, -1)
            fi.superseded = True

    def _drop_errors(self, path: str) -> None:
        """A walk error for `path` is over once the file itself is read."""
        n, paths = self._error_paths
        if n != len(self.errors):  # errors are appended by discovery and by tailing
            paths = {p for p, _ in self.errors}
            self._error_paths = (len(self.errors), paths)
        if path in paths:
            self.errors[:] = [(p, r) for p, r in self.errors if p != path]
            self._error_paths = (-1, set())

    def report_errors(self, errors: Iterable[tuple[str, str]]) -> None:
        """Walk errors found while following: each path keeps its latest reason."""
        errors = list(errors)
        if errors:
            paths = {p for p, _ in errors}
            self.errors[:] = [(p, r) for p, r in self.errors if p not in paths] + errors
            self._error_paths = (-1, set())

    def mark_gone(self, path: str) -> bool:
        """The file was deleted after loading: its events stay, the status says so."""
        fid = self.index.get(path)
        if fid is None or self.files[fid].gone:
            return False
        self.files[fid].gone = True
        self._gone += 1
        return True

    def place_rows(
        self, sizes: list[tuple[int, int]], file: np.ndarray, line: np.ndarray, rows: np.ndarray
    ) -> None:
        """After a commit: each committed file's record -> row map (-1 for a record
        dropped as a duplicate) and its event and duplicate counts. `sizes`: (file id,
        records) per committed file; `file`, `line`, `rows`: the stored records, the
        rows of one file contiguous and in record order."""
        self.set_rows(self.line_rows(sizes, file, line, rows))

    @staticmethod
    def line_rows(
        sizes: list[tuple[int, int]], file: np.ndarray, line: np.ndarray, rows: np.ndarray
    ) -> dict[int, np.ndarray]:
        """`place_rows`' record -> row maps, by file id (changing nothing)."""
        k = len(rows)
        # int32 while rows fit it: 4 bytes per event less (40 MB at 10M events).
        dtype = np.int64 if k and int(rows.max()) >= 2**31 else np.int32
        maps: dict[int, np.ndarray] = {fid: np.full(n, -1, dtype) for fid, n in sizes}
        if k:
            cuts = np.flatnonzero(file[1:] != file[:-1]) + 1
            for lo, hi in zip(np.r_[0, cuts].tolist(), np.r_[cuts, k].tolist(), strict=True):
                maps[int(file[lo])][line[lo:hi]] = rows[lo:hi]
        return maps

    def set_rows(self, maps: dict[int, np.ndarray]) -> None:
        """Each file's record -> row map (`line_rows`) and its event and duplicate counts."""
        for fid, placed in maps.items():
            fi = self.files[fid]
            fi.line_rows = placed
            fi.events = int(np.count_nonzero(placed >= 0))
            fi.duplicates = fi.records - fi.events

    def location(self, fid: int, line: int) -> str:
        """Where a record was read: its file and 1-based record number."""
        return f"{self.files[fid].path} record {line + 1}"

    # ------------------------------------------------------------------ stats
    def states(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for fi in self.files:
            if not fi.superseded:
                out[fi.state] = out.get(fi.state, 0) + 1
        return out

    def counts(self) -> tuple[int, int, int]:
        """(files loaded, entries in skipped(), files deleted since loading)."""
        return self._loaded, self._problems + len(self.errors), self._gone

    def skipped(self, flags: np.ndarray) -> list[tuple[str, str]]:
        """Files not (fully) loaded or read leniently, with reasons and counts, and walk
        errors. `flags`: the store's flags by row (to count the flagged events)."""
        out = [
            (fi.path, self._verdict(fi, flags))
            for fi in self.files
            if needs_a_word(fi) and not fi.superseded
        ]
        out.extend((p, f"error: {r}") for p, r in self.errors)
        return out

    @staticmethod
    def _verdict(fi: FileInfo, flags: np.ndarray) -> str:
        if fi.state != "loaded" or fi.bad_records:
            text = f"{fi.state}: {fi.reason}" if fi.reason else fi.state
            if fi.lenient:
                text += f"; read leniently: {fi.lenient}"
            return text
        text = f"loaded {counted(fi.records, 'record')}, read leniently: {fi.lenient}"
        rows = fi.line_rows
        if rows is not None:
            rows = rows[rows >= 0]
            flagged = int(np.count_nonzero(flags[rows] & LENIENT))
            if flagged:
                text += f" ({flagged:,} flagged has:lenient)"
        return text
