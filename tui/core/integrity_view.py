"""A store's files against the trail's digest files: each loaded file's integrity state
(from `integrity.verify`, the engine of `trailscope verify`) and the rows `is:unverified`
selects. Files no digest lists (added later, or outside the hours the digests cover)
are "not covered"; only "verified" files vouch for their events.

Engine code: no Textual. `check` reads every listed file once (hashing), so the explorer
runs it in a worker thread.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from .integrity import FileCheck, FileState, Report, verify
from .store import Store

__all__ = ["FileIntegrity", "check"]

_NOT_LISTED = "no digest under the loaded paths lists it"


def _norm(path: str) -> str:
    return os.path.normpath(os.path.abspath(path))


class FileIntegrity:
    """The states of `report` bound to `store`'s files; sets nothing by itself (the
    caller assigns `store.integrity`)."""

    def __init__(self, store: Store, report: Report, files: int | None = None) -> None:
        self.store = store
        self.report = report
        # The store's files when the check began: files added since are new to it.
        self.files = len(store.files) if files is None else files
        self._by_path: dict[str, FileCheck] = {_norm(f.path): f for f in report.files}

    @property
    def verdict(self) -> str:
        return self.report.verdict

    def state_of(self, path: str) -> tuple[FileState, str]:
        got = self._by_path.get(_norm(path))
        if got is None:
            return FileState.NOT_COVERED, _NOT_LISTED
        return got.state, got.reason

    def rows(self) -> list[tuple[str, FileState, str]]:
        """(path, state, reason) of each loaded trail file, then each file a digest
        lists that the copy lacks; failures first, then by path."""
        out: dict[str, tuple[str, FileState, str]] = {}
        for f in self.store.files:
            state, reason = self.state_of(f.path)
            out[_norm(f.path)] = (f.path, state, reason)
        for fc in self.report.files:
            if fc.state is FileState.MISSING:
                out.setdefault(_norm(fc.path), (fc.path, fc.state, fc.reason))
        order = {
            s: i
            for i, s in enumerate(
                (
                    FileState.MODIFIED,
                    FileState.MISSING,
                    FileState.UNVERIFIABLE,
                    FileState.NOT_COVERED,
                    FileState.VERIFIED,
                )
            )
        }
        return sorted(out.values(), key=lambda r: (order[r[1]], r[0]))

    def rows_unverified(self) -> np.ndarray:
        """Store rows read from files that are not verified (sorted, unique)."""
        bad = [
            i
            for i, f in enumerate(self.store.files)
            if self.state_of(f.path)[0] is not FileState.VERIFIED
        ]
        n = len(self.store)
        if not bad or not n:
            return np.empty(0, np.int64)
        files = self.store.columns.file.view[:n]
        return np.flatnonzero(np.isin(files, np.array(bad, files.dtype))).astype(np.int64)


def check(store: Store, paths: Sequence[str], jobs: int | None = None) -> FileIntegrity:
    """Verify the local trail under `paths` (never raises on data)."""
    files = len(store.files)
    return FileIntegrity(store, verify(paths, jobs=jobs), files)
