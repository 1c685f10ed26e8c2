"""The events' original JSON: each file's text, decoded when an event of it is shown,
exported or compared (dedupe), with the last few files' texts kept.

A gzip file's own bytes are not kept: they are read back from disk, if the file is
still the one that was loaded. Other files (lookup-events, JSON Lines, lenient reads)
keep their canonical text zstd-compressed in their FileInfo.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import orjson
import zstandard

from .. import deepjson
from ..reader import has_big_int, inflate, read_raw
from .files import FileInfo

__all__ = ["Originals", "OriginalUnavailable", "decode_event", "one_line"]

CACHED_FILES = 48  # decoded texts kept, least recently used first out


class OriginalUnavailable(Exception):
    """The event's original JSON cannot be shown: its file vanished or changed."""


class Originals:
    """Decoded file texts of the store's `files`; event i of a file is
    `text[fi.ostarts[i]:fi.oends[i]]`."""

    def __init__(self, files: list[FileInfo]) -> None:
        self.files = files
        # File name -> where its bytes are (an S3 object's cache copy; see TrailFile.local).
        self.local_paths: dict[str, str] = {}
        self._dctx = zstandard.ZstdDecompressor()
        self._texts: OrderedDict[int, bytes] = OrderedDict()
        # A commit prepared on a thread reads stored records (dedupe) while the owner
        # shows them: the kept texts change under one lock.
        self._lock = threading.Lock()

    def text(self, fid: int) -> bytes:
        """File `fid`'s decoded text (kept among the last CACHED_FILES used)."""
        with self._lock:
            data = self._texts.get(fid)
            if data is not None:
                self._texts.move_to_end(fid)
                return data
        data = self.read(self.files[fid])  # outside the lock: a file's inflate takes ms
        with self._lock:
            self._texts[fid] = data
            if len(self._texts) > CACHED_FILES:
                self._texts.popitem(last=False)
        return data

    def record(self, fid: int, line: int) -> bytes:
        """Record `line` of file `fid`, exactly as it was read."""
        fi = self.files[fid]
        return self.text(fid)[fi.ostarts[line] : fi.oends[line]]  # type: ignore[index]

    def read(self, fi: FileInfo) -> bytes:
        """`fi`'s decoded text, not kept (dedupe reads each pending file once)."""
        blob = fi.orig if fi.orig_codec != "gzip" else self.reread(fi)
        return self.decode(blob, fi.orig_codec)

    def forget(self) -> None:
        """Drop the kept texts: the next read of each goes back to its source."""
        with self._lock:
            self._texts.clear()

    def decode(self, blob: bytes, codec: str) -> bytes:
        if codec == "gzip":
            got = inflate(blob)
            if isinstance(got, tuple):
                return got[0]
            raise OriginalUnavailable(f"stored original no longer inflates: {got.reason}")
        return self._dctx.decompress(blob)

    def reread(self, fi: FileInfo) -> bytes:
        """The file's bytes from disk, if it is still the file that was loaded."""
        got = read_raw(self.local_paths.get(fi.path, fi.path))
        if not isinstance(got, tuple):
            raise OriginalUnavailable(f"{fi.path}: {got.state}: {got.reason}")
        raw, stamp = got
        if (stamp["size"], stamp["mtime_ns"], stamp["inode"]) != (fi.size, fi.mtime_ns, fi.inode):
            raise OriginalUnavailable(f"{fi.path}: changed on disk since it was loaded")
        return raw


def decode_event(raw: bytes, lenient: bool) -> tuple[dict, bool]:
    """(the event, whether it needed the stdlib). The stdlib keeps NaN, lone
    surrogates and integers beyond 64 bits exact (orjson refuses the first two and
    turns big integers into floats). `lenient`: the record was read leniently."""
    if lenient or has_big_int(raw):
        return deepjson.loads(raw), True  # type: ignore[return-value]
    try:
        return orjson.loads(raw), False
    except orjson.JSONDecodeError:
        # A number beyond a double in a field the fast paths skip (they keep the
        # file's own text, `1e999`, exactly; only decoding it needs the stdlib).
        return deepjson.loads(raw), True  # type: ignore[return-value]


def one_line(raw: bytes, lenient: bool) -> bytes:
    """An original on one line, values exact (itself unless it spans lines)."""
    if b"\n" in raw or b"\r" in raw:
        ev, exact = decode_event(raw, lenient)
        if not exact:
            try:
                return orjson.dumps(ev)
            except orjson.JSONEncodeError:  # nested deeper than orjson writes (254)
                pass
        return deepjson.dumps(ev).encode()  # what orjson cannot write unchanged
    return raw
