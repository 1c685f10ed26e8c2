"""Parse one trail file into a compact, picklable batch of columns.

This is the per-file unit of ingest work. It runs in worker processes for bulk loads
(so it must not touch the store) and in-process for small loads and for tailing.
"""

from __future__ import annotations

import json
import os
import zlib
from dataclasses import dataclass, field

import numpy as np
import orjson
import zstandard

from .fields import FIELDS
from .normalize import event_values, parse_time_ms
from .reader import DEFAULT_MAX_BYTES, FileState, ReadResult, read_path
from .sanitize import hostile_in_json

NFIELDS = len(FIELDS)

# Per-event flag bits (the store adds CONFLICT).
HOSTILE = 1  # some string in the event holds control/invisible characters
LENIENT = 2  # the file needed the lenient decoder (NaN, invalid UTF-8, huge ints...)
CONFLICT = 4  # another record shares this eventID but differs
NO_ID = 8  # the record has no eventID (never deduplicated)

# Negative zstd levels: measured ~2x faster than level 1 for ~1.5x the size, and both
# corpora are inflated on every free-text search, where speed matters more.
_ZLEVEL = -3
_cctx: zstandard.ZstdCompressor | None = None


def _compressor() -> zstandard.ZstdCompressor:
    global _cctx
    if _cctx is None or _cctx_pid != os.getpid():
        _set_cctx()
    return _cctx  # type: ignore[return-value]


_cctx_pid = -1


def _set_cctx() -> None:
    global _cctx, _cctx_pid
    _cctx = zstandard.ZstdCompressor(level=_ZLEVEL)
    _cctx_pid = os.getpid()


@dataclass(slots=True)
class FileBatch:
    """Everything the store needs from one file, without the parsed dicts."""

    path: str
    kind: str
    state: str
    reason: str
    fmt: str = ""
    bad_records: int = 0
    bad_samples: list[str] = field(default_factory=list)
    lenient: str = ""
    size: int = 0
    mtime_ns: int = 0
    inode: int = 0
    dev: int = 0
    n: int = 0
    times: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    eid16: bytes = b""  # n * 16 bytes: the first 16 UTF-8 bytes of each eventID, NUL padded
    idh: np.ndarray = field(default_factory=lambda: np.empty(0, np.uint64))  # 0 = no eventID
    flags: np.ndarray = field(default_factory=lambda: np.empty(0, np.uint8))
    uniques: list[list[str]] = field(default_factory=list)  # per field: distinct values
    codes: np.ndarray = field(default_factory=lambda: np.empty((NFIELDS, 0), np.int32))
    offsets: np.ndarray = field(default_factory=lambda: np.zeros(1, np.int64))
    low_offsets: np.ndarray | None = None  # when lower-casing changed byte lengths
    text_orig: bytes = b""  # zstd of the canonical JSON lines, original case
    text_low: bytes = b""  # zstd of the same lines, ASCII-lowercased (same offsets)


def _id_hash(b: bytes) -> int:
    # crc32 and adler32 side by side: 64 bits, stable across processes (unlike hash()),
    # and cheap on short ids. Equality is confirmed on the bytes before anything is dropped.
    h = (zlib.crc32(b) << 32) | zlib.adler32(b)
    return h or 1


def _canonical_lenient(rec: dict) -> bytes:
    # Records that needed the stdlib decoder may hold NaN, >64-bit ints or lone
    # surrogates, which orjson cannot write without changing them. ensure_ascii keeps
    # every value exact (surrogates become \\udXXX escapes).
    return json.dumps(rec, ensure_ascii=True, separators=(",", ":"), allow_nan=True).encode()


def parse_file(path: str, kind: str = "log", max_bytes: int = DEFAULT_MAX_BYTES) -> FileBatch:
    return build_batch(path, kind, read_path(path, max_bytes))


def build_batch(path: str, kind: str, r: ReadResult) -> FileBatch:
    b = FileBatch(
        path=path,
        kind=kind,
        state=r.state.value if isinstance(r.state, FileState) else str(r.state),
        reason=r.reason,
        fmt=r.fmt,
        bad_records=r.bad_records,
        bad_samples=list(r.bad_samples),
        lenient=r.lenient,
        size=r.size,
        mtime_ns=r.mtime_ns,
        inode=r.inode,
        dev=r.dev,
    )
    recs = r.records
    n = len(recs)
    if not n:
        b.uniques = [[] for _ in range(NFIELDS)]
        return b
    b.n = n

    rows = [event_values(x) for x in recs]
    codes = np.empty((NFIELDS, n), np.int32)
    uniques: list[list[str]] = []
    for f, col in enumerate(zip(*rows, strict=True)):
        u = dict.fromkeys(col)
        if len(u) == 1:
            codes[f] = 0
        else:
            index = {v: i for i, v in enumerate(u)}
            codes[f] = np.fromiter(map(index.__getitem__, col), np.int32, n)
        uniques.append(list(u))
    b.codes = codes
    b.uniques = uniques

    times = np.empty(n, np.int64)
    eids = bytearray(16 * n)
    idh = np.zeros(n, np.uint64)
    flags = np.zeros(n, np.uint8)
    for i, x in enumerate(recs):
        times[i] = parse_time_ms(x.get("eventTime"))
        e = x.get("eventID")
        if e and e.__class__ is str:
            eb = e.encode("utf-8", "surrogatepass")
            eids[16 * i : 16 * i + min(16, len(eb))] = eb[:16]
            idh[i] = _id_hash(eb)
        else:
            flags[i] = NO_ID
    b.times = times
    b.eid16 = bytes(eids)
    b.idh = idh

    if r.lenient:
        canons = [_canonical_lenient(x) for x in recs]
        flags |= LENIENT
    else:
        dumps = orjson.dumps
        canons = []
        for x in recs:
            try:
                canons.append(dumps(x))
            except orjson.JSONEncodeError:  # e.g. nesting orjson reads but won't write
                canons.append(_canonical_lenient(x))
    blob = b"\n".join(canons) + b"\n"
    offsets = np.zeros(n + 1, np.int64)
    np.cumsum(np.fromiter(map(len, canons), np.int64, n) + 1, out=offsets[1:])
    if hostile_in_json(blob):
        for i, c in enumerate(canons):
            if hostile_in_json(c):
                flags[i] |= HOSTILE
    b.flags = flags
    b.offsets = offsets
    cctx = _compressor()
    b.text_orig = cctx.compress(blob)
    if blob.isascii():
        low = blob.lower()  # same length, so the same offsets
    else:
        # Unicode lower-casing can change byte lengths: keep separate line offsets.
        lows = [c.decode("utf-8", "surrogatepass").lower().encode("utf-8", "surrogatepass") for c in canons]
        low = b"\n".join(lows) + b"\n"
        if len(low) != len(blob):
            lo = np.zeros(n + 1, np.int64)
            np.cumsum(np.fromiter(map(len, lows), np.int64, n) + 1, out=lo[1:])
            b.low_offsets = lo
    b.text_low = cctx.compress(low)
    return b
