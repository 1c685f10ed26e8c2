"""Spill files: each file's free-text corpus (zstd of its lower-cased text) kept on
disk instead of in the main process's memory.

At 10M events the corpus is ~1.5 GB, the largest part of the main process. Parser
processes of a bulk load append their files' blobs to one spill file each and send
the main process a `Spilled` place (file, offset, length) instead of the bytes; free
text and the scans over the corpus read them back with `os.pread`, which releases the
GIL, in their worker threads.

Where: a private folder (mode 0700) made for each bulk load under
`$TRAILSCOPE_SPILL_DIR`, else `$XDG_CACHE_HOME/trailscope/tmp` (`~/.cache/...`), else
the system's temp folder; never the trail's folder. The main process opens each spill
file when its first blob arrives and unlinks it at once: the data lives as long as the
open file (as long as the store that refers to it), and the kernel frees it when the
process ends, however it ends. The folder is removed when the load ends; a parser
process whose parent died removes its own file. `TRAILSCOPE_SPILL_DIR=off` keeps the
corpus in memory.

A write that fails (a full disk, a file size limit) is not an error: that parser keeps
the rest of its blobs in memory, and the main process says so once (on stderr; the
explorer in a toast).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import weakref
from pathlib import Path

from .sanitize import clean

__all__ = [
    "SpillFile",
    "SpillWriter",
    "Spilled",
    "Spills",
    "keep_out_of",
    "read_blob",
    "spill_root",
]


class SpillFile:
    """An open spill file in the main process (already unlinked): `read` by place."""

    __slots__ = ("__weakref__", "_fd", "name")

    def __init__(self, path: str) -> None:
        self.name = path
        self._fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        weakref.finalize(self, os.close, self._fd)

    def read(self, offset: int, length: int) -> bytes:
        data = os.pread(self._fd, length, offset)
        if len(data) == length:
            return data
        parts, got = [data], len(data)  # a short read: go on until it all came
        while got < length:
            more = os.pread(self._fd, length - got, offset + got)
            if not more:
                raise OSError(f"spill file {self.name}: {length - got} bytes missing")
            parts.append(more)
            got += len(more)
        return b"".join(parts)


class Spilled:
    """Where one blob lies: in a parser process `file` is the spill file's path; the
    main process swaps it for the open `SpillFile` when the batch arrives (Spills.adopt).
    `len()` is the blob's length, so a spilled corpus is truthy like a non-empty one."""

    __slots__ = ("file", "length", "offset")

    def __init__(self, file: str | SpillFile, offset: int, length: int) -> None:
        self.file = file
        self.offset = offset
        self.length = length

    def __len__(self) -> int:
        return self.length

    def __reduce__(self):
        file = self.file.name if isinstance(self.file, SpillFile) else self.file
        return Spilled, (file, self.offset, self.length)

    def read(self) -> bytes:
        if not isinstance(self.file, SpillFile):
            raise RuntimeError(f"spilled corpus not adopted by this process: {self.file}")
        return self.file.read(self.offset, self.length)


def read_blob(blob: bytes | Spilled) -> bytes:
    """A corpus blob's bytes, wherever they are kept."""
    return blob if isinstance(blob, bytes) else blob.read()


class SpillWriter:
    """In a parser process: appends blobs to one spill file in `folder`. `put` gives
    the blob's `Spilled` place, or the blob itself once writing has failed (`error`
    says why; `fresh_error` is set once, for the batch that carries the news)."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self.path = ""
        self.error = ""
        self.fresh_error = ""
        self._fd = -1
        self._size = 0

    def put(self, blob: bytes) -> bytes | Spilled:
        if self.error or not blob:
            return blob
        try:
            if self._fd < 0:
                self._fd, self.path = tempfile.mkstemp(
                    prefix=f"corpus-{os.getpid()}-", suffix=".zst", dir=self.folder
                )
            view, at = memoryview(blob), self._size
            while view:
                n = os.pwrite(self._fd, view, at)
                view, at = view[n:], at + n
        except OSError as e:
            self.error = self.fresh_error = f"{e.strerror or e} ({self.path or self.folder})"
            if self._fd >= 0:
                try:
                    os.ftruncate(self._fd, self._size)  # give back the part written
                except OSError:
                    pass
            return blob
        place = Spilled(self.path, self._size, len(blob))
        self._size = at
        return place

    def take_error(self) -> str:
        """The failure not yet reported, once."""
        e, self.fresh_error = self.fresh_error, ""
        return e

    def abandon(self) -> None:
        """At a parser's exit: remove the file, if the main process has not already
        (it unlinks it on opening; it remains only when the main process died)."""
        if self.path:
            try:
                os.unlink(self.path)
            except OSError:
                pass
            try:
                os.rmdir(self.folder)  # the last one out, when the main process died
            except OSError:
                pass


def spill_root() -> Path | None:
    """Where spill folders are made; None when spilling is turned off."""
    env = os.environ.get("TRAILSCOPE_SPILL_DIR", "")
    if env.lower() in ("off", "0", "none"):
        return None
    if env:
        return Path(env)
    cache = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(cache) if cache and os.path.isabs(cache) else Path.home() / ".cache"
    return base / "trailscope" / "tmp"


_KEEP_OUT: dict[str, None] = {}  # trail paths (evidence): no spill folder goes inside one


def keep_out_of(paths) -> None:
    """Spill folders of this process stay out of these trail paths (a spill root inside
    one is passed over, as a case file or an export there is refused)."""
    # A dict: a process that loads the same trail again (tailing, tests) adds nothing.
    _KEEP_OUT.update(dict.fromkeys(str(p) for p in paths if not str(p).startswith("s3://")))


class Spills:
    """The main process's side of one bulk load: the private folder the parsers write
    in, and the spill files opened so far (by path)."""

    _noted = False  # the stderr note on a failed write: once per process

    def __init__(self) -> None:
        self.folder = ""
        self._open: dict[str, SpillFile] = {}
        root = spill_root()
        if root is None:
            return
        err: OSError | str = "no folder outside the trail"
        for where in (root, Path(tempfile.gettempdir())):
            if _inside_a_trail(where):
                continue
            try:
                where.mkdir(parents=True, exist_ok=True)
                self.folder = tempfile.mkdtemp(prefix="spill-", dir=where)  # mode 0700
                return
            except OSError as e:
                err = e
        self._note(f"no folder to write it in ({err})")

    def adopt(self, batch) -> None:
        """A batch from a parser: its spilled corpus now refers to the open file."""
        t = batch.text_low
        if isinstance(t, Spilled) and isinstance(t.file, str):
            f = self._open.get(t.file)
            if f is None:
                f = self._open[t.file] = SpillFile(t.file)
                try:
                    os.unlink(t.file)  # lives on while open
                except OSError:
                    pass  # removed already: the folder goes at close() anyway
            t.file = f
        if batch.spill_error:
            self._note(batch.spill_error)

    def close(self) -> None:
        """The load is over: remove the folder and whatever is left in it (the files
        of parsers that died or were stopped before their blobs arrived)."""
        self._open.clear()
        if self.folder:
            shutil.rmtree(self.folder, ignore_errors=True)

    @classmethod
    def _note(cls, why: str) -> None:
        if not cls._noted:
            cls._noted = True
            sys.stderr.write(
                f"trailscope: the free-text corpus is kept in memory, not on disk: {clean(why)}\n"
            )


def _inside_a_trail(folder: Path) -> bool:
    if not _KEEP_OUT:
        return False
    from .case import evidence_root_of

    return evidence_root_of(folder / "spill-", _KEEP_OUT) is not None
