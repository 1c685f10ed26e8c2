"""Parse one trail file into a compact, picklable batch of columns.

This is the per-file unit of ingest work. It runs in worker processes for bulk loads
(so it must not touch the store) and in-process for small loads and for tailing.
"""

from __future__ import annotations

import os
import zlib
from dataclasses import dataclass, field
from itertools import islice

import numpy as np
import orjson
import zstandard

from . import deepjson
from .derive import DERIVED, event_values, shape_problems
from .fastpath import decode_records, malformed, values
from .normalize import NO_TIME, parse_time_ms
from .reader import (
    DEFAULT_MAX_BYTES,
    MAX_BAD_SAMPLES,
    FileState,
    ReadResult,
    decode_bytes,
    inflate,
    read_raw,
    record_lenient,
)
from .sanitize import HOSTILE_RANGES, hostile_in_json
from .spill import Spilled, SpillWriter

try:  # the C scan (tui/core/_scan.c); optional, the Python path does the same work
    from . import _scan
except ImportError:  # pragma: no cover - built by `pip install`, absent without a compiler
    _scan = None
    _scan_missing = "not built"
else:
    _scan_missing = ""

NFIELDS = len(DERIVED.fields)
if _scan is not None and not hasattr(_scan, "Schema"):  # pragma: no cover - a stale build
    _scan = None
    _scan_missing = "built from older sources (reinstall to rebuild it)"
if _scan is not None:
    # The C scan takes what to capture and how to derive each field from the table.
    _scan.set_hostile_ranges(HOSTILE_RANGES)
    _SCHEMA = DERIVED.native(_scan)
_native = _scan is not None and os.environ.get("TRAILSCOPE_NATIVE", "1") != "0"


def native_available() -> bool:
    """Whether the C scan is built and importable."""
    return _scan is not None


def native_status() -> tuple[bool, str]:
    """(whether the C scan runs, a few words on it): for `--version` and the one-time
    notice that loading runs in Python."""
    if _native:
        return True, "active"
    if _scan is not None:
        return False, "off (TRAILSCOPE_NATIVE=0)"
    return False, _scan_missing


def use_native(flag: bool) -> None:
    """Turn the C scan on or off (tests compare the two; TRAILSCOPE_NATIVE=0 at start)."""
    global _native
    _native = bool(flag) and _scan is not None


# Per-event flag bits (the store adds CONFLICT).
HOSTILE = 1  # some string in the event holds control/invisible characters
LENIENT = 2  # the event needed, or was changed by, the lenient decoder (NaN, invalid UTF-8...)
CONFLICT = 4  # another record shares this eventID but differs
NO_ID = 8  # the record has no eventID (never deduplicated)
MALFORMED = 16  # the record breaks the CloudTrail format (derive.shape_problems)

# Level 1 for what stays in memory: measured on the benchmark trail, 12% of the text.
# A corpus going to a spill file (disk, not memory) takes level -3: 18% of the text,
# 1.10 us/event to compress against 1.34 at level 1 and a little quicker to inflate
# (0.37 against 0.44 us/event; 198k events of the 1M trail, median of 5). lz4 was no
# quicker on this text (1.25 us/event at 24%; 1.04 at 27% with acceleration 8).
_ZLEVEL = 1
_SPILL_ZLEVEL = -3
_cctx: zstandard.ZstdCompressor | None = None
_spill_cctx: zstandard.ZstdCompressor | None = None


def _compressor() -> zstandard.ZstdCompressor:
    global _cctx
    if _cctx is None or _cctx_pid != os.getpid():
        _set_cctx()
    return _cctx  # type: ignore[return-value]


def _spill_compressor() -> zstandard.ZstdCompressor:
    if _cctx is None or _cctx_pid != os.getpid():
        _set_cctx()
    return _spill_cctx  # type: ignore[return-value]


_cctx_pid = -1


def _set_cctx() -> None:
    global _cctx, _spill_cctx, _cctx_pid
    _cctx = zstandard.ZstdCompressor(level=_ZLEVEL)
    _spill_cctx = zstandard.ZstdCompressor(level=_SPILL_ZLEVEL)
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
    learnt: bool = False  # its values are in a store's dictionaries (Store.learn_ahead)
    codes: np.ndarray = field(default_factory=lambda: np.empty((NFIELDS, 0), np.int32))
    # The originals: `orig` decoded by `orig_codec` ("gzip": the file's own bytes;
    # "zstd": compressed text) gives a text in which event i is [ostarts[i], oends[i]).
    orig: bytes = b""
    orig_codec: str = "zstd"
    ostarts: np.ndarray = field(default_factory=lambda: np.empty(0, np.int32))
    oends: np.ndarray = field(default_factory=lambda: np.empty(0, np.int32))
    # The free-text corpus: zstd of lower-cased text, event i at [lstarts[i], lends[i]);
    # from a bulk load's parser processes, its place in a spill file (see spill.py).
    text_low: bytes | Spilled = b""
    lstarts: np.ndarray = field(default_factory=lambda: np.empty(0, np.int32))
    lends: np.ndarray = field(default_factory=lambda: np.empty(0, np.int32))
    # Where the file was read from when `path` names it otherwise (an S3 object's cache
    # copy: loader.iter_batches); the store re-reads originals from there.
    local: str = ""
    spill_error: str = ""  # why this parser's spill file took no more (said once)


def _canonical_lenient(rec: dict) -> bytes:
    # Records that needed the stdlib decoder may hold NaN, >64-bit ints or lone
    # surrogates, which orjson cannot write without changing them (nor nesting past
    # 254 levels). ensure_ascii keeps every value exact (surrogates become \\udXXX).
    return deepjson.dumps(rec).encode()


def parse_file(path: str, kind: str = "log", max_bytes: int = DEFAULT_MAX_BYTES) -> FileBatch:
    """Read and parse one file, by the fast path when it has the common shape."""
    got = read_raw(path, max_bytes)
    if isinstance(got, ReadResult):
        return build_batch(path, kind, got)
    raw, stamp = got
    try:
        return _parse_raw(path, kind, raw, stamp, max_bytes)
    except RecursionError:
        # A backstop: every walk over event JSON here is bounded (deepjson, the C scan's
        # depth cap, orjson's 1,024 levels), so this is a bug; still, one file's depth
        # must never stop a load.
        r = ReadResult(FileState.UNREADABLE, "nested too deeply to index", [], **stamp)
        return build_batch(path, kind, r)


def _parse_raw(path: str, kind: str, raw: bytes, stamp: dict, max_bytes: int) -> FileBatch:
    inflated = inflate(raw, max_bytes)
    if not isinstance(inflated, ReadResult) and not inflated.damage:
        # Notes on the file itself (a BOM, UTF-16, bytes after the gzip data) do not
        # change its JSON: the fast paths read it and pass the notes on.
        data = inflated.data
        b = None
        if _native:
            enc = _encoder.native if _encoder is not None else None
            got = (enc or _scan.Encoder(_SCHEMA)).scan(data)
            if got is not None:
                b = _native_batch(path, kind, raw, data, stamp, got)
        if b is None:
            fast = decode_records(data)
            if fast is not None:
                try:
                    b = _fast_batch(path, kind, raw, data, stamp, *fast)
                except RecursionError:  # an indexed value nested too deeply: see _indexable
                    b = None
        if b is not None:
            b.lenient = ", ".join(inflated.notes)
            return b
    r = decode_bytes(raw, max_bytes)
    r.size, r.mtime_ns, r.inode, r.dev = (
        stamp["size"],
        stamp["mtime_ns"],
        stamp["inode"],
        stamp["dev"],
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
        # With the C scan, its tables number every value (the Python paths included).
        seed = int.from_bytes(os.urandom(8), "little")
        self.native = _scan.Encoder(_SCHEMA, seed=seed) if _native else None
        self.dicts: list[dict[str, int]] = [{} for _ in range(NFIELDS)]


_encoder: Encoder | None = None
_spill: SpillWriter | None = None


def use_spill(folder: str) -> None:
    """Called in bulk-loader parser processes: corpora go to a spill file in `folder`
    (spill.py); "" keeps them in the batch."""
    global _spill
    _spill = SpillWriter(folder) if folder else None


def spill_writer() -> SpillWriter | None:
    return _spill


def use_persistent_encoder() -> None:
    """Called in bulk-loader worker processes (see parser_side.init_parser)."""
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
        b.enc_base = enc.native.sizes() if enc.native else [len(d) for d in enc.dicts]
    for f, col in enumerate(zip(*rows, strict=True)):
        if enc is not None and enc.native is not None:
            got, fresh = enc.native.encode(f, list(col))
            codes[f] = np.frombuffer(got, np.int32)
            uniques.append(fresh)
            continue
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


def _times_and_ids(b: FileBatch, times_in: list, ids_in: list) -> np.ndarray:
    """Fill times/eid16/idh; returns the flags array (NO_ID set where needed)."""
    n = b.n
    b.times = times_ms(times_in)
    flags = np.zeros(n, np.uint8)
    fast = _ids_fast(ids_in)
    if fast is not None:
        b.eid16, b.idh = fast
        return flags
    eids = bytearray(16 * n)
    idh = np.zeros(n, np.uint64)
    for i, e in enumerate(ids_in):
        if e and e.__class__ is str:
            eb = e.encode("utf-8", "surrogatepass")
            eids[16 * i : 16 * i + min(16, len(eb))] = eb[:16]
            idh[i] = id_hash(eb)
        else:
            flags[i] = NO_ID
    b.eid16 = bytes(eids)
    b.idh = idh
    return flags


# ---------------------------------------------------------------- vectorised parts
# Per-event Python work is what bounds ingest, so the two per-event conversions that
# have a fixed common form (eventTime, eventID) are done on whole columns with numpy,
# with the scalar code as the fallback for anything unusual.

_ID_WIDTH = 40
_FNV_PRIME = np.uint64(0x100000001B3)
_FNV_SEED = np.uint64(0xCBF29CE484222325)


def _hash_padded(words: np.ndarray) -> np.ndarray:
    """64-bit FNV-style hash of (n, 5) uint64 words (an id NUL-padded to 40 bytes)."""
    h = np.full(len(words), _FNV_SEED, np.uint64)
    for k in range(words.shape[1]):
        h ^= words[:, k]
        h *= _FNV_PRIME
    h[h == 0] = 1  # 0 means "no eventID"
    return h


def id_hash(eb: bytes) -> int:
    """The eventID hash (stable across processes, unlike hash()); 0 is never returned.
    Equality is confirmed on the bytes before anything is dropped as a duplicate."""
    if len(eb) <= _ID_WIDTH and eb.isascii() and b"\0" not in eb:
        words = np.frombuffer(eb.ljust(_ID_WIDTH, b"\0"), np.uint64).reshape(1, -1)
        return int(_hash_padded(words)[0])
    h = (zlib.crc32(eb) << 32) | zlib.adler32(eb)
    return h or 1


def _ids_fast(ids: list) -> tuple[bytes, np.ndarray] | None:
    """(eid16, idh) for a column of ASCII ids up to 40 bytes, else None."""
    if not ids or not all(e.__class__ is str and e for e in ids):
        return None
    if max(map(len, ids)) > _ID_WIDTH:
        return None
    try:
        arr = np.array(ids, dtype=f"S{_ID_WIDTH}")  # raises on non-ASCII
    except UnicodeEncodeError:
        return None
    raw = arr.view(np.uint8).reshape(len(ids), _ID_WIDTH)
    if (raw == 0).sum() != sum(_ID_WIDTH - len(e) for e in ids):
        return None  # an id holding NUL bytes: let the scalar path decide
    return raw[:, :16].tobytes(), _hash_padded(arr.view(np.uint64).reshape(len(ids), -1))


_DAYS_BEFORE_MONTH = np.array([0, 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334], np.int64)
_DAYS_IN_MONTH = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], np.int64)
_DIGIT_COLS = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18]


def times_ms(values: list) -> np.ndarray:
    """eventTime column -> ms since epoch (NO_TIME where unusable); the common
    `YYYY-MM-DDTHH:MM:SSZ` form is parsed with numpy, the rest by `parse_time_ms`."""
    n = len(values)
    out = np.empty(n, np.int64)
    ok = np.fromiter((v.__class__ is str and len(v) == 20 for v in values), bool, n)
    idx = np.flatnonzero(ok)
    if len(idx):
        try:
            arr = np.array([values[i] for i in idx.tolist()], dtype="S20")
        except UnicodeEncodeError:
            arr = None
            ok[:] = False
        if arr is not None:
            c = arr.view(np.uint8).reshape(len(idx), 20).astype(np.int64)
            d = c - 48
            good = (
                (c[:, 4] == 45)
                & (c[:, 7] == 45)
                & (c[:, 10] == 84)
                & (c[:, 13] == 58)
                & (c[:, 16] == 58)
                & (c[:, 19] == 90)
                & ((d[:, _DIGIT_COLS] >= 0) & (d[:, _DIGIT_COLS] <= 9)).all(axis=1)
            )
            y = d[:, 0] * 1000 + d[:, 1] * 100 + d[:, 2] * 10 + d[:, 3]
            mo = d[:, 5] * 10 + d[:, 6]
            dd = d[:, 8] * 10 + d[:, 9]
            hh = d[:, 11] * 10 + d[:, 12]
            mi = d[:, 14] * 10 + d[:, 15]
            ss = d[:, 17] * 10 + d[:, 18]
            leap = ((y % 4 == 0) & (y % 100 != 0)) | (y % 400 == 0)
            mo_c = np.clip(mo, 0, 12)
            dim = _DAYS_IN_MONTH[mo_c] + ((mo_c == 2) & leap)
            good &= (mo >= 1) & (mo <= 12) & (dd >= 1) & (dd <= dim) & (y >= 1)
            good &= (hh < 24) & (mi < 60) & (ss < 61)
            # days since 1970-01-01 for the proleptic Gregorian calendar
            yp = y - 1
            days = (
                yp * 365
                + yp // 4
                - yp // 100
                + yp // 400
                - 719162
                + _DAYS_BEFORE_MONTH[mo_c]
                + ((mo_c > 2) & leap)
                + dd
                - 1
            )
            ms = ((days * 86400) + hh * 3600 + mi * 60 + ss) * 1000
            out[idx[good]] = ms[good]
            ok[idx[~good]] = False
    for i in np.flatnonzero(~ok).tolist():
        out[i] = parse_time_ms(values[i])
    return out


def _flag_hostile(flags: np.ndarray, text: bytes, starts, ends) -> None:
    if hostile_in_json(text):
        for i, (s, e) in enumerate(zip(starts.tolist(), ends.tolist(), strict=True)):
            if hostile_in_json(text[s:e]):
                flags[i] |= HOSTILE


def _lowered(b: FileBatch, text: bytes, starts: np.ndarray, ends: np.ndarray) -> None:
    """The free-text corpus: ASCII text lowers in place (same spans); otherwise each
    event is lower-cased as Unicode and spans are recomputed."""
    low = _scan.lower_ascii(text) if _native else (text.lower() if text.isascii() else None)
    if low is not None:
        b.lstarts, b.lends = starts, ends
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
    if _spill is None or _spill.error:
        b.text_low = _compressor().compress(low)
    else:
        b.text_low = _spill.put(_spill_compressor().compress(low))
        b.spill_error = _spill.take_error()


def _span32(a: np.ndarray) -> np.ndarray:
    # Offsets within one file's text: files are capped well below 2 GiB by default;
    # int64 only when a bigger cap lets a bigger file in.
    return a.astype(np.int32) if (not len(a) or a[-1] < 2**31) else a


def _with_texts(b: FileBatch, raw: bytes, data: bytes, starts, ends) -> FileBatch:
    """The fast paths' originals and free-text corpus for a Records document."""
    if raw[:2] == b"\x1f\x8b":
        # The original is the file itself: nothing to carry, read back when needed.
        b.orig, b.orig_codec = b"", "gzip"
    else:
        b.orig, b.orig_codec = _compressor().compress(data), "zstd"
    b.ostarts, b.oends = _span32(starts), _span32(ends)
    _lowered(b, data, b.ostarts, b.oends)
    return b


def _fast_batch(path, kind, raw, data, stamp, recs, starts, ends) -> FileBatch:
    b = _new_batch(path, kind, "loaded", "", fmt="records", **stamp)
    b.n = len(recs)
    _encode(b, [values(r) for r in recs])
    fast = DERIVED.fast
    flags = _times_and_ids(b, list(map(fast.time_of, recs)), list(map(fast.id_of, recs)))
    bad = malformed(recs)
    if bad is not None:
        flags[bad] |= MALFORMED
    _flag_untimed(flags, b.times)
    _flag_hostile(flags, data, starts, ends)
    b.flags = flags
    return _with_texts(b, raw, data, starts, ends)


def _flag_untimed(flags: np.ndarray, times: np.ndarray) -> None:
    # No usable eventTime is malformed too (the C scan only accepts usable ones).
    flags[times == NO_TIME] |= MALFORMED


def _native_batch(path, kind, raw, data, stamp, got) -> FileBatch:
    """A FileBatch from the C scan's columns; the same as `_fast_batch` would give."""
    base, fresh, codes, starts, ends, times, eid16, idh, noid, hostile, bad = got
    b = _new_batch(path, kind, "loaded", "", fmt="records", **stamp)
    b.n = n = len(times) // 8
    if _encoder is not None:
        b.enc_token, b.enc_base = _encoder.token, base
    b.uniques = fresh
    b.codes = np.frombuffer(codes, np.int32).reshape(NFIELDS, n)
    b.times = np.frombuffer(times, np.int64)
    b.eid16 = bytes(eid16)
    b.idh = np.frombuffer(idh, np.uint64)
    b.flags = (
        (np.frombuffer(noid, np.uint8) * np.uint8(NO_ID))
        | (np.frombuffer(hostile, np.uint8) * np.uint8(HOSTILE))
        | (np.frombuffer(bad, np.uint8) * np.uint8(MALFORMED))
    )
    starts = np.frombuffer(starts, np.int64)
    ends = np.frombuffer(ends, np.int64)
    return _with_texts(b, raw, data, starts, ends)


def _indexable(b: FileBatch, recs: list[dict]) -> tuple[list[dict], list[tuple[str, ...]]]:
    """The records and their indexed values. A record whose indexed value is a container
    nested too deeply for `repr` (orjson writes only 254 levels) is left out, counted
    and named, rather than costing the file's other records."""
    try:
        return recs, [event_values(x) for x in recs]
    except RecursionError:
        pass
    kept, rows, why = [], [], "a value nested too deeply to index"
    for i, x in enumerate(recs, 1):
        try:
            rows.append(event_values(x))
        except RecursionError:
            b.bad_records += 1
            if len(b.bad_samples) < MAX_BAD_SAMPLES:
                b.bad_samples.append(f"record {i}: {why}")
            continue
        kept.append(x)
    dropped = len(recs) - len(kept)
    b.reason = "; ".join(
        x for x in (b.reason, f"{dropped:,} of {len(recs):,} records skipped: {why}") if x
    )
    if not kept:
        b.state = FileState.NOT_CLOUDTRAIL.value
    return kept, rows


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
    recs, rows = _indexable(b, r.records)
    n = len(recs)
    if not n:
        b.uniques = [[] for _ in range(NFIELDS)]
        return b
    b.n = n
    _encode(b, rows)
    flags = _times_and_ids(b, [x.get("eventTime") for x in recs], [x.get("eventID") for x in recs])
    for i, x in enumerate(recs):
        if shape_problems(x, check_time=False):
            flags[i] |= MALFORMED
    _flag_untimed(flags, b.times)
    if r.lenient:
        canons = [_canonical_lenient(x) for x in recs]
        # Flag the events the lenient reading touched (not every event of the file).
        for i, c in enumerate(canons):
            if record_lenient(c, r.lenient):
                flags[i] |= LENIENT
    else:
        dumps = orjson.dumps
        canons = []
        for x in recs:
            try:
                canons.append(dumps(x))
            except orjson.JSONEncodeError:  # nesting orjson reads (1,024) but won't write (254)
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
