"""Parse one trail file into a compact, picklable batch of columns.

This is the per-file unit of ingest work. It runs in worker processes for bulk loads
(so it must not touch the store) and in-process for small loads and for tailing.
"""

from __future__ import annotations

import json
import os
import zlib
from dataclasses import dataclass, field
from itertools import islice

import numpy as np
import orjson
import zstandard

from .fields import FIELDS
from .normalize import event_values, parse_time_ms
from .fastpath import decode_records, values
from .reader import DEFAULT_MAX_BYTES, FileState, ReadResult, decode_bytes, inflate, read_raw
from .sanitize import hostile_in_json

NFIELDS = len(FIELDS)

# Per-event flag bits (the store adds CONFLICT).
HOSTILE = 1  # some string in the event holds control/invisible characters
LENIENT = 2  # the file needed the lenient decoder (NaN, invalid UTF-8, huge ints...)
CONFLICT = 4  # another record shares this eventID but differs
NO_ID = 8  # the record has no eventID (never deduplicated)

# Level 1: measured on the benchmark trail, 11% of the text at ~750 MB/s, where the
# negative (fast) levels gave 16-17% at about the same speed here.
_ZLEVEL = 1
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
    # Per field: the values the codes index. Without an encoder token, the file's own
    # distinct values; with one, only the values that encoder saw first in this file,
    # numbered from enc_base[field] (see Encoder).
    uniques: list[list[str]] = field(default_factory=list)
    enc_token: int = 0
    enc_base: list[int] = field(default_factory=list)
    codes: np.ndarray = field(default_factory=lambda: np.empty((NFIELDS, 0), np.int32))
    # The originals: `orig` decoded by `orig_codec` ("gzip": the file's own bytes;
    # "zstd": compressed text) gives a text in which event i is [ostarts[i], oends[i]).
    orig: bytes = b""
    orig_codec: str = "zstd"
    ostarts: np.ndarray = field(default_factory=lambda: np.empty(0, np.int32))
    oends: np.ndarray = field(default_factory=lambda: np.empty(0, np.int32))
    # The free-text corpus: zstd of lower-cased text, event i at [lstarts[i], lends[i]).
    text_low: bytes = b""
    lstarts: np.ndarray = field(default_factory=lambda: np.empty(0, np.int32))
    lends: np.ndarray = field(default_factory=lambda: np.empty(0, np.int32))


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
    """Read and parse one file, by the fast path when it has the common shape."""
    got = read_raw(path, max_bytes)
    if isinstance(got, ReadResult):
        return build_batch(path, kind, got)
    raw, stamp = got
    inflated = inflate(raw, max_bytes)
    if not isinstance(inflated, ReadResult) and not inflated[1]:
        data = inflated[0]
        fast = decode_records(data)
        if fast is not None:
            return _fast_batch(path, kind, raw, data, stamp, *fast)
    r = decode_bytes(raw, max_bytes)
    r.size, r.mtime_ns, r.inode, r.dev = (
        stamp["size"], stamp["mtime_ns"], stamp["inode"], stamp["dev"]
    )
    return build_batch(path, kind, r)


def _new_batch(path: str, kind: str, state: str, reason: str, **kw) -> FileBatch:
    return FileBatch(path=path, kind=kind, state=state, reason=reason, **kw)


class Encoder:
    """Value numbering that persists across the files one parser process handles.

    Each batch then carries only the values its process had not sent before, so the
    store maps codes with one numpy take instead of a dict lookup per distinct value
    per file (measured: most of the main process's ingest time). Only for batches that
    all reach the store in the order they were made: the bulk loader's workers.
    """

    def __init__(self) -> None:
        self.token = int.from_bytes(os.urandom(8), "little") | 1
        self.dicts: list[dict[str, int]] = [{} for _ in range(NFIELDS)]


_encoder: Encoder | None = None


def use_persistent_encoder() -> None:
    """Called in bulk-loader worker processes (see loader._worker_init)."""
    global _encoder
    _encoder = Encoder()


def _encode(b: FileBatch, rows: list[tuple[str, ...]]) -> None:
    """Per field: each event's code, and the values those codes stand for."""
    n = len(rows)
    codes = np.empty((NFIELDS, n), np.int32)
    uniques: list[list[str]] = []
    enc = _encoder
    if enc is not None:
        b.enc_token = enc.token
        b.enc_base = [len(d) for d in enc.dicts]
    for f, col in enumerate(zip(*rows, strict=True)):
        if enc is None:
            u = dict.fromkeys(col)
            index = {v: i for i, v in enumerate(u)}
            uniques.append(list(u))
        else:
            index = enc.dicts[f]
            base = len(index)
            for v in dict.fromkeys(col):
                if v not in index:
                    index[v] = len(index)
            uniques.append(list(islice(index, base, None)))
        codes[f] = np.fromiter(map(index.__getitem__, col), np.int32, n)
    b.codes = codes
    b.uniques = uniques


def _times_and_ids(b: FileBatch, times_in, ids_in) -> np.ndarray:
    """Fill times/eid16/idh; returns the flags array (NO_ID set where needed)."""
    n = b.n
    times = np.empty(n, np.int64)
    cache: dict[str, int] = {}  # events of one file share most of their seconds
    for i, t in enumerate(times_in):
        ms = cache.get(t) if t.__class__ is str else None
        if ms is None:
            ms = parse_time_ms(t)
            if t.__class__ is str:
                cache[t] = ms
        times[i] = ms
    eids = bytearray(16 * n)
    idh = np.zeros(n, np.uint64)
    flags = np.zeros(n, np.uint8)
    for i, e in enumerate(ids_in):
        if e and e.__class__ is str:
            eb = e.encode("utf-8", "surrogatepass")
            eids[16 * i : 16 * i + min(16, len(eb))] = eb[:16]
            idh[i] = _id_hash(eb)
        else:
            flags[i] = NO_ID
    b.times = times
    b.eid16 = bytes(eids)
    b.idh = idh
    return flags


def _flag_hostile(flags: np.ndarray, text: bytes, starts, ends) -> None:
    if hostile_in_json(text):
        for i, (s, e) in enumerate(zip(starts.tolist(), ends.tolist(), strict=True)):
            if hostile_in_json(text[s:e]):
                flags[i] |= HOSTILE


def _lowered(b: FileBatch, text: bytes, starts: np.ndarray, ends: np.ndarray) -> None:
    """The free-text corpus: ASCII text lowers in place (same spans); otherwise each
    event is lower-cased as Unicode and spans are recomputed."""
    if text.isascii():
        low, b.lstarts, b.lends = text.lower(), starts, ends
    else:
        parts = [
            text[s:e].decode("utf-8", "surrogatepass").lower().encode("utf-8", "surrogatepass")
            for s, e in zip(starts.tolist(), ends.tolist(), strict=True)
        ]
        lens = np.fromiter(map(len, parts), np.int64, len(parts))
        lstarts = np.zeros(len(parts), np.int64)
        np.cumsum(lens[:-1] + 1, out=lstarts[1:])
        b.lstarts, b.lends = _span32(lstarts), _span32(lstarts + lens)
        low = b"\n".join(parts)
    b.text_low = _compressor().compress(low)


def _span32(a: np.ndarray) -> np.ndarray:
    # Offsets within one file's text: files are capped well below 2 GiB by default;
    # int64 only when a bigger cap lets a bigger file in.
    return a.astype(np.int32) if (not len(a) or a[-1] < 2**31) else a


def _fast_batch(path, kind, raw, data, stamp, recs, starts, ends) -> FileBatch:
    b = _new_batch(path, kind, "loaded", "", fmt="records", **stamp)
    b.n = len(recs)
    _encode(b, [values(r) for r in recs])
    flags = _times_and_ids(b, [r.eventTime for r in recs], [r.eventID for r in recs])
    _flag_hostile(flags, data, starts, ends)
    b.flags = flags
    if raw[:2] == b"\x1f\x8b":
        # The original is the file itself: nothing to carry, read back when needed.
        b.orig, b.orig_codec = b"", "gzip"
    else:
        b.orig, b.orig_codec = _compressor().compress(data), "zstd"
    b.ostarts, b.oends = _span32(starts), _span32(ends)
    _lowered(b, data, b.ostarts, b.oends)
    return b


def build_batch(path: str, kind: str, r: ReadResult) -> FileBatch:
    """The general path: any shape the reader accepts, via parsed dicts."""
    b = _new_batch(
        path,
        kind,
        r.state.value if isinstance(r.state, FileState) else str(r.state),
        r.reason,
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
    _encode(b, [event_values(x) for x in recs])
    flags = _times_and_ids(b, [x.get("eventTime") for x in recs], [x.get("eventID") for x in recs])
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
    blob = b"\n".join(canons)
    lens = np.fromiter(map(len, canons), np.int64, n)
    starts = np.zeros(n, np.int64)
    np.cumsum(lens[:-1] + 1, out=starts[1:])
    ends = starts + lens
    _flag_hostile(flags, blob, starts, ends)
    b.flags = flags
    b.orig, b.orig_codec = _compressor().compress(blob), "zstd"
    b.ostarts, b.oends = _span32(starts), _span32(ends)
    _lowered(b, blob, b.ostarts, b.oends)
    return b
