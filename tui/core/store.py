"""The in-memory event store: dictionary-coded columns, time order, dedupe, search.

Layout: one row per stored event, in arrival order. Each indexed field is an int32
column of codes into that field's value dictionary, so a filter is a vectorised
compare and a facet is a bincount. `order` lists rows sorted by (eventTime, eventID).
Each file keeps its events' canonical JSON twice, zstd-compressed: in original case
(the detail view and jsonl export slice it) and ASCII-lowercased (free-text search).

Mutation (`add`, `commit`) happens on one thread; readers on that same thread. The
explorer honours that by committing from its UI thread.
"""

from __future__ import annotations

import ipaddress
import os
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import orjson
import zstandard

from . import deepjson
from .batch import CONFLICT, HOSTILE, LENIENT, MALFORMED, NO_ID, FileBatch
from .fields import FIELD_INDEX, FIELDS
from .normalize import NO_TIME
from .pathcols import PathColumn, PathColumns
from .paths import Path
from .reader import counted, has_big_int, inflate, read_raw, record_lenient
from .textsearch import search_blobs

try:  # the C kernels (tui/core/_scan.c); numpy does the same, slower
    from ._scan import count_at as _count_at, insert_sorted as _insert_sorted
except ImportError:  # pragma: no cover - built by `pip install`, absent without a compiler
    _count_at = _insert_sorted = None


def _no_hugepage_advice() -> None:
    """Stop numpy asking for transparent huge pages for its big arrays (MADV_HUGEPAGE,
    on arrays of 4 MB and up), unless NUMPY_MADVISE_HUGEPAGE says otherwise.

    Where the kernel's THP defrag setting is `madvise` (a common default), a fault in
    such an array stalls on memory compaction when no free huge page is at hand (numpy
    issue #31590). Measured here: a first touch of 100 MB took 168 ms with the advice
    and 52 ms without, and the main process of a 1M-event load spent ~0.15 s less CPU
    with no slower queries (docs/benchmarks.md)."""
    if "NUMPY_MADVISE_HUGEPAGE" in os.environ:
        return
    toggle = getattr(getattr(np, "_core", None), "multiarray", None)
    toggle = getattr(toggle, "_set_madvise_hugepage", None)
    if toggle is not None:
        toggle(False)


_no_hugepage_advice()


class OriginalUnavailable(Exception):
    """The event's original JSON cannot be shown: its file vanished or changed."""

NFIELDS = len(FIELDS)
# Sort key: 44 bits of milliseconds since 1970 (to the year 2527; NO_TIME and earlier
# times clamp to 0) above the first 20 bits of the eventID. Integer argsort is several
# times faster than sorting (time, id) records; the rare rows whose keys tie are then
# put in exact (time, eventID, arrival) order by `_fix_ties`.
_TIME_BITS = 44
_ID_BITS = 20
_TIME_MAX = (1 << _TIME_BITS) - 1


class _Column:
    """A growable numpy array with amortised O(1) append."""

    __slots__ = ("buf", "n")

    def __init__(self, dtype: np.dtype | type, cap: int = 1024) -> None:
        self.buf = np.empty(cap, dtype)
        self.n = 0

    def append(self, arr: np.ndarray) -> None:
        k = len(arr)
        if self.n + k > len(self.buf):
            self.reserve(max(len(self.buf) * 3 // 2, self.n + k))  # 1.5x: less slack at 1M
        self.buf[self.n : self.n + k] = arr
        self.n += k

    def reserve(self, cap: int) -> None:
        if cap > len(self.buf):
            nb = np.empty(cap, self.buf.dtype)
            nb[: self.n] = self.buf[: self.n]
            self.buf = nb

    @property
    def view(self) -> np.ndarray:
        return self.buf[: self.n]


class _Sorted:
    """An array kept in some order, with room at the end for sorted inserts.

    Live arrivals land among the newest events, so only the part from the first
    insertion point on moves: a commit at ~1.1M events went from ten full copies
    (np.insert, ~1.2 ms each) to moving a short tail. An array handed out by `lend`
    is never changed afterwards (views keep them across commits): the next insert
    moves to a new buffer instead. `room`: the least capacity a new buffer gets (a bulk
    load reserves its size up front, so its commits do not regrow every array)."""

    __slots__ = ("buf", "n", "lent", "room")

    def __init__(self, arr: np.ndarray, room: int = 0) -> None:
        self.buf = arr
        self.n = len(arr)
        self.lent = False
        self.room = room

    @property
    def view(self) -> np.ndarray:
        """The array, for use before the next insert."""
        return self.buf[: self.n]

    def lend(self) -> np.ndarray:
        """The array, for keeping."""
        self.lent = True
        return self.buf[: self.n]

    def insert(self, pos: np.ndarray, values: np.ndarray) -> None:
        """`np.insert(view, pos, values)`, in place; `pos` is non-decreasing."""
        n, k = self.n, len(values)
        if not k:
            return
        grow = self.lent or n + k > len(self.buf)
        # Room to grow: untouched room is not resident.
        cap = max(n + k + (n + k) // 8, self.room)
        dst = np.empty(cap, self.buf.dtype) if grow else self.buf
        if _insert_sorted is not None and values.dtype == dst.dtype:
            _insert_sorted(dst, self.buf, n, np.ascontiguousarray(pos, np.int64),
                           np.ascontiguousarray(values))
        else:
            p0 = int(pos[0])
            tail = np.insert(self.buf[p0:n], pos - p0, values)
            if grow:
                dst[:p0] = self.buf[:p0]
            dst[p0 : n + k] = tail
        self.buf, self.lent, self.n = dst, False, n + k


class _IdIndex:
    """eventID hash -> rows, to spot duplicates. Hashes are random, so an insert into
    one sorted array moved nearly all of it (~3 ms a commit at 1.1M events while
    tailing): new ids go into a small level, folded into the big one when it reaches
    1/16 of it. Within a hash, rows come in arrival order."""

    __slots__ = ("big_h", "big_r", "new_h", "new_r")

    def __init__(self) -> None:
        self.big_h = _Sorted(np.empty(0, np.uint64))
        self.big_r = _Sorted(np.empty(0, np.int64))
        self._clear_new()

    def reserve(self, rows: int) -> None:
        self.big_h.room = self.big_r.room = rows

    def _clear_new(self) -> None:
        self.new_h = _Sorted(np.empty(0, np.uint64))
        self.new_r = _Sorted(np.empty(0, np.int64))

    def __len__(self) -> int:
        return self.big_h.n + self.new_h.n

    def add(self, h: np.ndarray, rows: np.ndarray) -> None:
        """Add (hash, row) pairs, in (hash, row) order, rows newer than any held."""
        if not len(h):
            return
        if len(h) * 8 > len(self):  # a bulk load: merge straight into the big level
            self._fold()
            self._merge(self.big_h, self.big_r, h, rows)
            return
        self._merge(self.new_h, self.new_r, h, rows)
        if self.new_h.n * 16 > self.big_h.n:
            self._fold()

    def _fold(self) -> None:
        if self.new_h.n:
            self._merge(self.big_h, self.big_r, self.new_h.view, self.new_r.view)
            self._clear_new()

    @staticmethod
    def _merge(hs: _Sorted, rs: _Sorted, h: np.ndarray, rows: np.ndarray) -> None:
        # side="right": a hash's rows stay oldest first.
        pos = np.searchsorted(hs.view, h, side="right")
        hs.insert(pos, h)
        rs.insert(pos, rows)

    def contains(self, hs: np.ndarray) -> np.ndarray:
        """Per hash of sorted `hs`: is it held?"""
        found = np.zeros(len(hs), bool)
        for level in (self.big_h.view, self.new_h.view):
            if len(level):
                # Sorted queries: numpy's binary search narrows from the previous hit.
                pos = np.minimum(np.searchsorted(level, hs), len(level) - 1)
                found |= level[pos] == hs
        return found

    def rows(self, hv: int) -> list[int]:
        """The rows holding hash `hv`, oldest first."""
        out: list[int] = []
        key = np.uint64(hv)
        for h, r in ((self.big_h, self.big_r), (self.new_h, self.new_r)):
            lo = np.searchsorted(h.view, key, "left")
            hi = np.searchsorted(h.view, key, "right")
            out.extend(r.view[lo:hi].tolist())
        return out


class ValueDict:
    """Distinct values of one field; code = position in `values`."""

    __slots__ = ("values", "index", "_folded", "_folded_n", "_globs")

    def __init__(self) -> None:
        self.values: list[str] = []
        self.index: dict[str, int] = {}
        self._folded: dict[str, list[int]] = {}
        self._folded_n = 0
        # Wildcard matcher -> (values tested, codes that matched): a view is recomputed
        # on every commit while tailing, and testing ~50k source IPs against a glob
        # costs ~20 ms, so each value is tested once per pattern.
        self._globs: OrderedDict[object, tuple[int, list[int]]] = OrderedDict()

    def code(self, v: str) -> int:
        c = self.index.get(v)
        if c is None:
            c = self.index[v] = len(self.values)
            self.values.append(v)
        return c

    def codes_of(self, values: list[str]) -> list[int]:
        """Codes for `values`, adding the ones not seen before."""
        out = list(map(self.index.get, values))
        if None in out:
            code = self.code
            out = [code(v) if c is None else c for v, c in zip(values, out, strict=True)]
        return out  # type: ignore[return-value]

    def lut(self, values: list[str]) -> np.ndarray:
        return np.array(self.codes_of(values), np.int32)

    def codes_matching(self, matcher) -> list[int]:
        """Codes whose value `matcher` (a wildcard `query.ValueMatcher`) accepts."""
        done, codes = self._globs.pop(matcher, (0, []))
        values = self.values
        if done < len(values):
            test = matcher.matches
            codes = codes + [c for c in range(done, len(values)) if test(values[c])]
        self._globs[matcher] = (len(values), codes)
        if len(self._globs) > 32:
            self._globs.popitem(last=False)
        return codes

    def codes_folded(self, folded: str) -> list[int]:
        """Codes whose value equals `folded` case-insensitively."""
        if self._folded_n < len(self.values):
            for c in range(self._folded_n, len(self.values)):
                self._folded.setdefault(self.values[c].casefold(), []).append(c)
            self._folded_n = len(self.values)
        return self._folded.get(folded, [])


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
    text_low: bytes = b""
    lstarts: np.ndarray | None = None
    lends: np.ndarray | None = None
    line_rows: np.ndarray | None = None  # row per canonical line, -1 if dropped as duplicate
    gone: bool = False  # deleted from disk after loading (the events stay)
    # A later read of the same path (rewritten, or skipped and then complete) took its
    # place in the counts and the skipped list; its events, if any, stay.
    superseded: bool = False


@dataclass(slots=True)
class CommitResult:
    rows: np.ndarray  # new rows (arrival order)
    duplicates: int
    conflicts: int
    new_values: dict[str, list[int]]  # field -> codes first seen in this commit


class AnnotationSource(Protocol):
    """Marks and notes over store rows (`annotations.Annotations` binds a case file):
    what `mark:`, `has:mark` and `has:note` select. Rows are sorted, unique, and below
    the store's row count at the time of the call."""

    def rows_marked(self, matcher=None) -> np.ndarray: ...
    def rows_noted(self) -> np.ndarray: ...
    def label_counts(self, mask: np.ndarray | None = None) -> list[tuple[str, int]]: ...


_NO_ROWS = np.empty(0, np.int64)


class _Masks:
    """The query-target masks (see `query.QueryTarget`), over columns the subclass
    supplies: in store order (`Store`) or in time order (`TimeOrdered`)."""

    dicts: list[ValueDict]

    def _col_codes(self, f: int) -> np.ndarray:
        raise NotImplementedError

    def _col_times(self) -> np.ndarray:
        raise NotImplementedError

    def _col_flags(self) -> np.ndarray:
        raise NotImplementedError

    def _ip_kinds(self) -> np.ndarray:
        raise NotImplementedError

    def _mask_of_rows(self, rows: np.ndarray) -> np.ndarray:
        """A mask that is True at store rows `rows`."""
        raise NotImplementedError

    def _annotations(self) -> AnnotationSource | None:
        raise NotImplementedError

    def mask_all(self) -> np.ndarray:
        return np.ones(len(self._col_times()), bool)

    def mask_codes(self, field: str, codes: Sequence[int]) -> np.ndarray:
        col = self._col_codes(FIELD_INDEX[field])
        if len(codes) == 0:
            return np.zeros(len(col), bool)
        if len(codes) == 1:
            return col == codes[0]
        lut = np.zeros(len(self.dicts[FIELD_INDEX[field]].values), bool)
        lut[list(codes)] = True
        return lut[col]

    def mask_field(self, field: str, matcher) -> np.ndarray:
        d = self.dicts[FIELD_INDEX[field]]
        if matcher.parts is None:
            codes = d.codes_folded(matcher.folded)
        else:
            codes = d.codes_matching(matcher)
        return self.mask_codes(field, codes)

    def mask_time(self, lo_ms: int | None, hi_ms: int | None) -> np.ndarray:
        t = self._col_times()
        m = t != NO_TIME
        if lo_ms is not None:
            m &= t >= lo_ms
        if hi_ms is not None:
            m &= t < hi_ms
        return m

    _HAS_FLAGS = {
        "controls": HOSTILE, "conflict": CONFLICT, "lenient": LENIENT, "malformed": MALFORMED,
    }

    def has_names(self) -> Sequence[str]:
        return [f.name for f in FIELDS] + ["eventid", "time", *self._HAS_FLAGS, "mark", "note"]

    def mask_has(self, name: str) -> np.ndarray:
        if name in ("mark", "note"):
            ann = self._annotations()
            if ann is None:
                return self._mask_of_rows(_NO_ROWS)
            return self._mask_of_rows(ann.rows_marked() if name == "mark" else ann.rows_noted())
        if name in self._HAS_FLAGS:
            return (self._col_flags() & self._HAS_FLAGS[name]) != 0
        if name == "eventid":
            return (self._col_flags() & NO_ID) == 0
        if name == "time":
            return self._col_times() != NO_TIME
        return self._col_codes(FIELD_INDEX[name]) != 0

    def mask_mark(self, matcher) -> np.ndarray:
        """`mark:LABEL` (a `query.ValueMatcher`); `mark:""` selects the unmarked events,
        like `field:""`. Without a case nothing is marked."""
        ann = self._annotations()
        unmarked = matcher.parts is None and matcher.text == ""
        rows = _NO_ROWS if ann is None else ann.rows_marked(None if unmarked else matcher)
        m = self._mask_of_rows(rows)
        return ~m if unmarked else m

    _IS = ("ip", "ipv4", "ipv6", "service-ip", "internal", "readonly", "insight", "dup-id")

    def is_names(self) -> Sequence[str]:
        return self._IS

    def mask_is(self, name: str) -> np.ndarray:
        if name in ("ip", "ipv4", "ipv6", "service-ip", "internal"):
            bit = {"ipv4": 1, "ipv6": 2, "ip": 3, "service-ip": 4, "internal": 8}[name]
            return (self._ip_kinds()[self._col_codes(FIELD_INDEX["ip"])] & bit) != 0
        if name == "readonly":
            return self.mask_codes("readonly", self.dicts[FIELD_INDEX["readonly"]].codes_folded("true"))
        if name == "insight":
            d = self.dicts[FIELD_INDEX["eventtype"]]
            return self.mask_codes("eventtype", d.codes_folded("awscloudtrailinsight"))
        if name == "dup-id":
            return (self._col_flags() & CONFLICT) != 0
        raise KeyError(name)


class Store(_Masks):
    def __init__(self) -> None:
        self.dicts = [ValueDict() for _ in FIELDS]
        for d in self.dicts:
            d.code("")  # code 0 is always the empty value
        self._codes = [_Column(np.int32) for _ in FIELDS]
        self._times = _Column(np.int64)
        self._keys = _Column(np.uint64)
        self._eid = _Column(np.dtype("S16"))
        self._idh = _Column(np.uint64)
        self._file = _Column(np.int32)
        self._line = _Column(np.int32)
        self._flags = _Column(np.uint8)
        self._room = 0  # rows reserved by a bulk load (see reserve)
        self._order = _Sorted(np.empty(0, np.int64))  # rows in time order
        self._sorted_keys = _Sorted(np.empty(0, np.uint64))  # their sort keys
        self._ids = _IdIndex()
        self.files: list[FileInfo] = []
        # Kept as files come and go: the status line reads them several times a second
        # while tailing, and a pass over every file took ~0.5 ms per 2,600 files.
        self._loaded_files = 0
        self._problem_files = 0  # not (fully) loaded or read leniently: see skipped()
        self._gone_files = 0
        self._encoders: dict[int, list[list[int]]] = {}
        self._enc_cache: dict[int, list[np.ndarray]] = {}
        self.file_index: dict[str, int] = {}
        self._pending: list[tuple[int, FileBatch]] = []
        self.generation = 0
        self._value_counts: dict[str, tuple[int, np.ndarray]] = {}  # see value_counts
        self.duplicates = 0
        self.conflicts = 0
        self.dup_samples: list[str] = []
        self.digests: list[str] = []
        self.ignored: list[tuple[str, str]] = []
        self.errors: list[tuple[str, str]] = []
        self._error_paths: tuple[int, set[str]] = (-1, set())  # see _drop_errors
        self._dctx = zstandard.ZstdDecompressor()
        self._chunk_cache: OrderedDict[int, bytes] = OrderedDict()
        self._text_cache: OrderedDict[str, tuple[int, np.ndarray]] = OrderedDict()
        self._ip_kind: np.ndarray = np.zeros(0, np.uint8)
        self._ordered_cache: dict[str | int, tuple[int, _Sorted]] = {}
        self._dict_sizes = [len(d.values) for d in self.dicts]
        self.path_columns = PathColumns()
        self._ranks: tuple[int, np.ndarray] | None = None  # see _row_ranks
        # Marks and notes (a case), for mark:/has:mark/has:note; None: nothing marked.
        self.annotations: AnnotationSource | None = None

    # ------------------------------------------------------------------ ingest
    def add(self, batch: FileBatch) -> int:
        """Register a parsed file; its events become visible at the next commit."""
        fi = FileInfo(
            path=batch.path,
            kind=batch.kind,
            state=batch.state,
            reason=batch.reason,
            fmt=batch.fmt,
            records=batch.n,
            bad_records=batch.bad_records,
            bad_samples=batch.bad_samples,
            lenient=batch.lenient,
            size=batch.size,
            mtime_ns=batch.mtime_ns,
            inode=batch.inode,
            dev=batch.dev,
        )
        fid = len(self.files)
        prev = self.file_index.get(batch.path)
        if prev is not None:
            self._supersede(self.files[prev])
        if self.errors:
            self._drop_errors(batch.path)
        self.files.append(fi)
        self._count(fi, 1)
        self.file_index[batch.path] = fid
        if batch.enc_token:
            self._learn(batch)
        if batch.n:
            # A file's own gzip bytes are not kept: originals are read back from disk
            # when shown (the issue allows it; it halves memory). Other originals
            # (lookup-events, JSON Lines, lenient files) are canonical text kept here.
            if batch.orig_codec != "gzip":
                fi.orig = batch.orig
            fi.orig_codec = batch.orig_codec
            fi.ostarts, fi.oends = batch.ostarts, batch.oends
            fi.text_low, fi.lstarts, fi.lends = batch.text_low, batch.lstarts, batch.lends
            self._pending.append((fid, batch))
        return fid

    def _count(self, fi: FileInfo, sign: int) -> None:
        self._loaded_files += sign * (fi.state == "loaded")
        self._problem_files += sign * _needs_a_word(fi)
        self._gone_files += sign * fi.gone

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

    def reserve(self, rows: int) -> None:
        """Room for `rows` events in all, so a bulk load does not regrow its columns
        (each regrowth copies every column; untouched room costs no resident memory)."""
        for col in (*self._codes, self._times, self._keys, self._eid, self._idh,
                    self._file, self._line, self._flags):
            col.reserve(rows)
        # The time order, its keys and the id index grow by inserts: they take the
        # room at their next new buffer (measured at 1M: growing 1/8 at a time, each
        # commit faulted in ~20 MB of fresh pages for them).
        self._room = max(self._room, rows)
        self._order.room = self._sorted_keys.room = self._room
        self._ids.reserve(self._room)

    def _learn(self, b: FileBatch) -> None:
        """Extend the encoder's code translation with the values it sent first here."""
        trans = self._encoders.setdefault(b.enc_token, [[] for _ in range(NFIELDS)])
        for f in range(NFIELDS):
            t = trans[f]
            if b.enc_base[f] != len(t):
                raise RuntimeError("encoder batches arrived out of order")
            t.extend(self.dicts[f].codes_of(b.uniques[f]))

    @property
    def pending(self) -> tuple[FileBatch, ...]:
        """The files `add` took whose events the next commit stores, oldest first."""
        return tuple(b for _, b in self._pending)

    @property
    def pending_events(self) -> int:
        return sum(b.n for _, b in self._pending)

    def commit(self) -> CommitResult:
        """Dedupe pending events against the store, append them and merge the order."""
        pending, self._pending = self._pending, []
        empty = CommitResult(np.empty(0, np.int64), 0, 0, {})
        if not pending:
            return empty
        # Values learnt since the last commit are new: batches from a persistent
        # encoder teach the dicts at add() time, others here.
        before = self._dict_sizes
        P_codes = self._global_codes(pending)
        P_times = np.concatenate([b.times for _, b in pending])
        P_eid = np.frombuffer(b"".join(b.eid16 for _, b in pending), "S16")
        P_idh = np.concatenate([b.idh for _, b in pending])
        P_flags = np.concatenate([b.flags for _, b in pending])
        P_file = np.concatenate([np.full(b.n, fid, np.int32) for fid, b in pending])
        P_line = np.concatenate([np.arange(b.n, dtype=np.int32) for _, b in pending])
        batch_of = {fid: b for fid, b in pending}

        keep, dups, conflicts, by_hash = self._dedupe(
            P_idh, P_eid, P_flags, P_file, P_line, batch_of
        )
        # The kept events with an eventID, in hash order (for the id index below).
        id_pos = by_hash[keep[by_hash]]
        id_hashes = P_idh[id_pos]
        id_rank = (np.cumsum(keep) - 1)[id_pos]

        base = self._times.n
        if not keep.all():
            P_codes = P_codes[:, keep]
            P_times, P_eid, P_idh = P_times[keep], P_eid[keep], P_idh[keep]
            P_flags, P_file, P_line = P_flags[keep], P_file[keep], P_line[keep]
        k = len(P_times)
        rows = np.arange(base, base + k, dtype=np.int64)
        for f in range(NFIELDS):
            self._codes[f].append(P_codes[f])
        self._times.append(P_times)
        keys = sort_keys(P_times, P_eid)
        self._keys.append(keys)
        self._eid.append(P_eid)
        self._idh.append(P_idh)
        self._flags.append(P_flags)
        self._file.append(P_file)
        self._line.append(P_line)

        # Per-file line -> row maps (dropped duplicates stay -1). Rows of one file are
        # contiguous in P, in line order.
        for fid, b in pending:
            self.files[fid].line_rows = np.full(b.n, -1, np.int64)
        if k:
            cuts = np.flatnonzero(P_file[1:] != P_file[:-1]) + 1
            for lo, hi in zip(np.r_[0, cuts].tolist(), np.r_[cuts, k].tolist(), strict=True):
                fi = self.files[int(P_file[lo])]
                fi.line_rows[P_line[lo:hi]] = rows[lo:hi]  # type: ignore[index]
        for fid, _ in pending:
            fi = self.files[fid]
            fi.events = int((fi.line_rows >= 0).sum())  # type: ignore[operator]
            fi.duplicates = fi.records - fi.events

        self._merge_order(rows, keys)
        self._ids.add(id_hashes, base + id_rank)
        self.duplicates += dups
        self.conflicts += conflicts
        self.generation += 1
        new_values = {
            FIELDS[f].name: list(range(before[f], len(self.dicts[f].values)))
            for f in range(NFIELDS)
            if len(self.dicts[f].values) > before[f]
        }
        self._dict_sizes = [len(d.values) for d in self.dicts]
        if len(self._ip_kind) and "ip" in new_values:
            self._ip_kind = np.zeros(0, np.uint8)  # rebuilt lazily
        return CommitResult(rows, dups, conflicts, new_values)

    def _global_codes(self, pending: list[tuple[int, FileBatch]]) -> np.ndarray:
        """The pending batches' codes, (NFIELDS, events), mapped to the store's values.

        Per field, one lookup table for the whole commit: the translation of each
        persistent encoder (shared by all its batches) and a table of each other
        batch's own values, end to end. Each event's code is shifted to its table's
        part, then mapped in one take per field. With two parser processes' batches
        interleaved, mapping each encoder's columns apart (a gather and a scatter
        through a column index) took 10.5 ms per 100k events, this 2.7 ms."""
        P = np.concatenate([b.codes for _, b in pending], axis=1)
        parts: list[list[np.ndarray]] = [[] for _ in range(NFIELDS)]
        starts: list[list[int]] = []  # per part, per field: where its table starts
        by_token: dict[int, int] = {}  # encoder -> its part
        part_of = np.empty(len(pending), np.int32)  # per batch
        size = [0] * NFIELDS
        for j, (_, b) in enumerate(pending):
            part = by_token.get(b.enc_token, -1) if b.enc_token else -1
            if part < 0:
                part = len(starts)
                if b.enc_token:
                    tables = self._enc_arrays(b.enc_token)
                    by_token[b.enc_token] = part
                else:
                    tables = [self.dicts[f].lut(b.uniques[f]) for f in range(NFIELDS)]
                starts.append(size[:])
                for f in range(NFIELDS):
                    parts[f].append(tables[f])
                    size[f] += len(tables[f])
            part_of[j] = part
        if max(size) >= 2**31:  # pragma: no cover - beyond any real store
            raise OverflowError("value tables too large for int32 codes")
        shifts = np.array(starts, np.int32).T  # (NFIELDS, parts)
        event_part = np.repeat(part_of, [b.n for _, b in pending]) if len(starts) > 1 else None
        for f in range(NFIELDS):
            if event_part is not None:
                P[f] += shifts[f][event_part]
            table = parts[f][0] if len(parts[f]) == 1 else np.concatenate(parts[f])
            np.take(table, P[f], out=P[f])
        return P

    def _enc_arrays(self, token: int) -> list[np.ndarray]:
        lists = self._encoders[token]
        cached = self._enc_cache.get(token)
        if cached is None:
            cached = self._enc_cache[token] = [np.array(t, np.int32) for t in lists]
        else:  # the lists only grow: convert just the new tail of each
            for f, (a, t) in enumerate(zip(cached, lists, strict=True)):
                if len(a) != len(t):
                    cached[f] = np.concatenate([a, np.array(t[len(a):], np.int32)])
        return cached

    def _merge_order(self, rows: np.ndarray, keys: np.ndarray) -> None:
        n_old = self._order.n
        # Inserting a sorted chunk is O(n + k log n); a full sort only pays when the
        # chunk outweighs the store (measured at 1M: chunks of 100k went 0.38 -> 0.17 s
        # in total against re-sorting whenever a chunk was over 1/8 of the store).
        if n_old == 0 or len(rows) > n_old:
            allkeys = self._keys.view
            order = np.argsort(allkeys, kind="stable")
            self._order = _Sorted(order, self._room)
            self._sorted_keys = _Sorted(allkeys[order], self._room)
            self._fix_ties(np.arange(len(order)))
            return
        s = np.argsort(keys, kind="stable")
        pos = np.searchsorted(self._sorted_keys.view, keys[s], side="right")
        self._order.insert(pos, rows[s])
        self._sorted_keys.insert(pos, keys[s])
        resorted = self._fix_ties(pos + np.arange(len(pos)))
        # The time-ordered columns views select from: insert too (a fresh gather over
        # the whole store costs ~7 ms at 1M), then redo the re-sorted tie runs (in one
        # take per column: at 5k events/s most events share their second with others,
        # and a loop over the runs cost ~10 ms per commit while tailing).
        tied_rows = self._order.view[resorted]
        cache, self._ordered_cache = self._ordered_cache, {}
        for name, (gen, arr) in cache.items():
            if gen != self.generation:
                continue
            arr.insert(pos, self._values_of(name, rows[s]))
            if len(resorted):
                arr.view[resorted] = self._values_of(name, tied_rows)
            self._ordered_cache[name] = (gen + 1, arr)  # commit() bumps the generation next

    def _fix_ties(self, positions: np.ndarray) -> np.ndarray:
        """Exact (time, eventID, row) order inside runs of equal sort keys that touch
        `positions` (positions in `order`); returns the positions of those runs (their
        rows were re-sorted). Only the neighbours of those positions are compared, and
        all touched runs are sorted in one lexsort (a Python sort per run cost ~7% of
        the UI thread while tailing)."""
        sk = self._sorted_keys.view
        order = self._order.view  # not lent: a new buffer, or one nobody kept
        n = len(sk)
        none = np.empty(0, np.int64)
        if n < 2 or not len(positions):
            return none
        p = np.asarray(positions, np.int64)
        tied = np.zeros(len(p), bool)
        tied[p > 0] |= sk[p[p > 0] - 1] == sk[p[p > 0]]
        tied[p < n - 1] |= sk[p[p < n - 1] + 1] == sk[p[p < n - 1]]
        if not tied.any():
            return none
        keys = np.unique(sk[p[tied]])
        lo = np.searchsorted(sk, keys, "left")
        hi = np.searchsorted(sk, keys, "right")
        lens = hi - lo
        run = np.repeat(np.arange(len(keys)), lens)
        pos = np.repeat(lo - np.cumsum(np.r_[0, lens[:-1]]), lens) + np.arange(lens.sum())
        rows = order[pos]
        # Within each run: by time, then eventID bytes, then row (arrival).
        s = np.lexsort((rows, self._eid.view[rows], self._times.view[rows], run))
        order[pos] = rows[s]
        return pos

    def _dedupe(
        self, idh, eid, flags, file, line, batch_of
    ) -> tuple[np.ndarray, int, int, np.ndarray]:
        """Drop re-deliveries; flag records that share an eventID but differ.

        A record is a duplicate when an earlier one has the same eventID and the same
        content, whatever its formatting (pretty-printed, keys in another order).
        Candidates come from a 64-bit id hash; equality is then confirmed on the eventID
        prefix and on the original bytes, and only where those differ on the decoded
        JSON (see _content_key). Also returns the positions of the records with an
        eventID, stably sorted by hash.
        """
        n = len(idh)
        keep = np.ones(n, bool)
        ids = np.flatnonzero(idh != 0)
        if not len(ids):
            return keep, 0, 0, ids
        h = idh[ids]
        s = hash_order(h)
        by_hash = ids[s]
        hs = h[s]
        within = np.zeros(len(ids), bool)
        if len(hs) > 1:
            eq = hs[1:] == hs[:-1]
            within[s[1:][eq]] = True
            within[s[:-1][eq]] = True
        existing = np.zeros(len(ids), bool)
        existing[s] = self._ids.contains(hs)
        cand = ids[within | existing]
        if not len(cand):
            return keep, 0, 0, by_hash

        dups = conflicts = 0
        seen: dict[int, list[tuple[str, int]]] = {}  # hash -> [("row", r) | ("p", i)]
        cache: dict[int, bytes] = {}
        stored_flags = self._flags.buf

        def pending_canon(i: int) -> bytes:
            fid = int(file[i])
            data = cache.get(fid)
            b = batch_of[fid]
            if data is None:
                blob = b.orig if b.orig_codec != "gzip" else self._reread(self.files[fid])
                data = cache[fid] = self._decode_orig(blob, b.orig_codec)
            ln = int(line[i])
            return data[b.ostarts[ln] : b.oends[ln]]

        for i in cand.tolist():
            hv = int(idh[i])
            members = seen.get(hv)
            if members is None:
                members = seen[hv] = []
                members.extend(("row", r) for r in self._ids.rows(hv))
            try:
                mine = pending_canon(i)
            except OriginalUnavailable:
                mine = None
            mine_keys: dict[bool, object] = {}  # content key of `mine`, per way
            same_id = []
            duplicate_of = None
            for kind, ref in members:
                other_eid = self._eid.buf[ref] if kind == "row" else eid[ref]
                if other_eid != eid[i]:
                    continue  # hash collision between different ids
                same_id.append((kind, ref))
                try:
                    other = self.original(ref) if kind == "row" else pending_canon(ref)
                except OriginalUnavailable:
                    other = None  # cannot prove it is the same: keep both, flagged
                if mine is None or other is None:
                    continue
                if other != mine:
                    # Different bytes may still be the same record (pretty-printed, keys
                    # in another order): compare what they decode to. Rare, so the
                    # common case stays a bytes compare.
                    other_flags = stored_flags[ref] if kind == "row" else flags[ref]
                    exact = bool((flags[i] | other_flags) & LENIENT) or _digit_run(mine)
                    if exact not in mine_keys:
                        mine_keys[exact] = _content_key(mine, exact)
                    key = mine_keys[exact]
                    if key is _UNPARSED or key != _content_key(other, exact):
                        continue
                duplicate_of = (kind, ref)
                break
            if duplicate_of is not None:
                keep[i] = False
                dups += 1
                if len(self.dup_samples) < 20:
                    kind, ref = duplicate_of
                    where = self.location(ref) if kind == "row" else self._ploc(ref, file, line)
                    self.dup_samples.append(f"{self._ploc(i, file, line)} repeats {where}")
                continue
            if same_id:
                conflicts += 1
                flags[i] |= CONFLICT
                for kind, ref in same_id:
                    if kind == "row":
                        self._flags.buf[ref] |= CONFLICT
                        self._ordered_cache.pop("flags", None)  # a stored row changed
                    else:
                        flags[ref] |= CONFLICT
            members.append(("p", i))
        return keep, dups, conflicts, by_hash

    def _ploc(self, i: int, file: np.ndarray, line: np.ndarray) -> str:
        return f"{self.files[int(file[i])].path} record {int(line[i]) + 1}"

    def mark_gone(self, path: str) -> bool:
        """The file was deleted after loading: its events stay, the status says so."""
        fid = self.file_index.get(path)
        if fid is None or self.files[fid].gone:
            return False
        self.files[fid].gone = True
        self._gone_files += 1
        return True

    # ------------------------------------------------------------ plain access
    def __len__(self) -> int:
        return self._times.n

    def row_count(self) -> int:
        return self._times.n

    @property
    def times(self) -> np.ndarray:
        return self._times.view

    @property
    def flags(self) -> np.ndarray:
        return self._flags.view

    def codes(self, field: str) -> np.ndarray:
        return self._codes[FIELD_INDEX[field]].view

    def value(self, row: int, field: str) -> str:
        f = FIELD_INDEX[field]
        return self.dicts[f].values[self._codes[f].buf[row]]

    def values(self, field: str) -> list[str]:
        return self.dicts[FIELD_INDEX[field]].values

    def code_of(self, field: str, value: str) -> int | None:
        """The code of `value` in `field`, None if the store has never seen it."""
        return self.dicts[FIELD_INDEX[field]].index.get(value)

    def time_ms(self, row: int) -> int:
        return int(self._times.buf[row])

    # The eventID columns, for finding events again by key (annotations.py).
    @property
    def id_hashes(self) -> np.ndarray:
        """Per row: the eventID hash (`batch.id_hash`), 0 for a record without one."""
        return self._idh.view

    @property
    def id_prefixes(self) -> np.ndarray:
        """Per row: the first 16 bytes of the eventID (S16, NUL padded)."""
        return self._eid.view

    def rows_with_id_hash(self, hv: int) -> list[int]:
        """Committed rows whose eventID hash is `hv`, oldest first."""
        return self._ids.rows(hv)

    def positions_in_order(self, rows: np.ndarray) -> np.ndarray:
        """Where each of `rows` stands in the time order (`order[pos] == row`), by binary
        search on the sort keys: O(k log n) for k rows, where inverting `order` would
        touch every row."""
        rows = np.asarray(rows, np.int64)
        sk = self._sorted_keys.view
        keys = self._keys.view[rows]
        lo = np.searchsorted(sk, keys, "left")
        hi = np.searchsorted(sk, keys, "right")
        pos = lo.copy()
        order = self._order.view
        for i in np.flatnonzero(hi - lo > 1).tolist():  # rare: equal keys (see _fix_ties)
            run = order[lo[i] : hi[i]]
            pos[i] = lo[i] + int(np.flatnonzero(run == rows[i])[0])
        return pos

    def file_of(self, row: int) -> FileInfo:
        return self.files[int(self._file.buf[row])]

    def location(self, row: int) -> str:
        return f"{self.file_of(row).path} record {int(self._line.buf[row]) + 1}"

    def _decode_orig(self, blob: bytes, codec: str) -> bytes:
        if codec == "gzip":
            got = inflate(blob)
            if isinstance(got, tuple):
                return got[0]
            raise OriginalUnavailable(f"stored original no longer inflates: {got.reason}")
        return self._dctx.decompress(blob)

    def _original_text(self, fid: int) -> bytes:
        data = self._chunk_cache.get(fid)
        if data is None:
            fi = self.files[fid]
            blob = fi.orig if fi.orig_codec != "gzip" else self._reread(fi)
            data = self._decode_orig(blob, fi.orig_codec)
            self._chunk_cache[fid] = data
            if len(self._chunk_cache) > 48:
                self._chunk_cache.popitem(last=False)
        else:
            self._chunk_cache.move_to_end(fid)
        return data

    @staticmethod
    def _reread(fi: FileInfo) -> bytes:
        """The file's bytes from disk, if it is still the file that was loaded."""
        got = read_raw(fi.path)
        if not isinstance(got, tuple):
            raise OriginalUnavailable(f"{fi.path}: {got.state}: {got.reason}")
        raw, stamp = got
        if (stamp["size"], stamp["mtime_ns"], stamp["inode"]) != (fi.size, fi.mtime_ns, fi.inode):
            raise OriginalUnavailable(f"{fi.path}: changed on disk since it was loaded")
        return raw

    def original(self, row: int) -> bytes:
        """The event's JSON exactly as it was read (a file's own bytes where possible)."""
        fid = int(self._file.buf[row])
        ln = int(self._line.buf[row])
        fi = self.files[fid]
        return self._original_text(fid)[fi.ostarts[ln] : fi.oends[ln]]  # type: ignore[index]

    def canonical(self, row: int) -> bytes:
        """The event's JSON on one line, values exact (the original unless it spans lines)."""
        raw = self.original(row)
        if b"\n" in raw or b"\r" in raw:
            ev, exact = self._decode(row, raw)
            if not exact:
                try:
                    return orjson.dumps(ev)
                except orjson.JSONEncodeError:  # nested deeper than orjson writes (254)
                    pass
            return deepjson.dumps(ev).encode()  # what orjson cannot write unchanged
        return raw

    def event(self, row: int) -> dict:
        return self._decode(row, self.original(row))[0]

    def _decode(self, row: int, raw: bytes) -> tuple[dict, bool]:
        """(the event, whether it needed the stdlib). The stdlib keeps NaN, lone
        surrogates and integers beyond 64 bits exact (orjson refuses the first two and
        turns big integers into floats)."""
        if self._flags.buf[row] & LENIENT or has_big_int(raw):
            return deepjson.loads(raw), True  # type: ignore[return-value]
        try:
            return orjson.loads(raw), False
        except orjson.JSONDecodeError:
            # A number beyond a double in a field the fast paths skip (they keep the
            # file's own text, `1e999`, exactly; only decoding it needs the stdlib).
            return deepjson.loads(raw), True  # type: ignore[return-value]

    def lenient_reasons(self, row: int) -> list[str]:
        """What the lenient reading did to this event (NaN kept, invalid UTF-8 replaced,
        ...); [] when it was read like any other."""
        if not self._flags.buf[row] & LENIENT:
            return []
        labels = self.file_of(row).lenient
        try:
            got = record_lenient(self.original(row), labels)
        except OriginalUnavailable:
            got = []
        return got or [x for x in labels.split(", ") if x]

    # ------------------------------------------------------------------ views
    @property
    def order(self) -> np.ndarray:
        """Every row in time order (time, eventID, arrival); unchanged by later commits."""
        return self._order.lend()

    def ordered(self, mask: np.ndarray | None = None) -> np.ndarray:
        """Rows (optionally only those in `mask`) in time order."""
        if mask is None:
            return self.order
        order = self._order.view
        return order[mask[order]]

    def order_at(self, sel: np.ndarray) -> np.ndarray:
        """`order[sel]` (positions in time order -> rows)."""
        return self._order.view[sel]

    # The time-ordered columns views select from (commits keep them up to date). With
    # `sel`, just those positions (a copy); without, the whole column, kept unchanged
    # by later commits (so the next commit copies it rather than inserting in place).
    def times_in_order(self, sel: np.ndarray | None = None) -> np.ndarray:
        """`times[order]`."""
        return self._in_order("times", sel)

    def codes_in_order(self, field: str, sel: np.ndarray | None = None) -> np.ndarray:
        """`codes(field)[order]`."""
        return self._in_order(FIELD_INDEX[field], sel)

    def errors_in_order(self, sel: np.ndarray | None = None) -> np.ndarray:
        """`has:error` per row of `order`."""
        return self._in_order("errors", sel)

    def count_in_order(self, field: str, sel: np.ndarray) -> np.ndarray:
        """Count per value code of `field` at positions `sel` of the time order
        (`bincount(codes_in_order(field, sel))`, without the copy)."""
        f = FIELD_INDEX[field]
        return count_codes(self._in_order(f, lend=False), sel, len(self.dicts[f].values))

    def _values_of(self, name: str | int, rows: np.ndarray) -> np.ndarray:
        """'times', 'errors' (has:error), 'flags' or field index `name` of `rows`."""
        if name == "times":
            return self._times.view[rows]
        if name == "errors":
            return self._codes[FIELD_INDEX["error"]].view[rows] != 0
        if name == "flags":
            return self._flags.view[rows]
        return self._codes[name].view[rows]  # type: ignore[index]

    def prepare_in_order(self, fields: Iterable[str]) -> None:
        """Build the time-ordered columns of `fields` now (each costs a gather over the
        whole store; commits keep built ones current)."""
        for f in fields:
            self._in_order(FIELD_INDEX[f], lend=False)

    def _in_order(self, name: str | int, sel: np.ndarray | None = None, *, lend: bool = True) -> np.ndarray:
        got = self._ordered_cache.get(name)
        if got is None or got[0] != self.generation:
            col = _Sorted(self._values_of(name, self._order.view), self._room)
            got = self._ordered_cache[name] = (self.generation, col)
        if sel is not None:
            return got[1].view[sel]
        return got[1].lend() if lend else got[1].view

    def time_ordered(self) -> TimeOrdered:
        """The store as a query target whose masks are in time order (position i is
        row `order[i]`); see `TimeOrdered`."""
        return TimeOrdered(self)

    def in_time_order(self, rows: np.ndarray) -> np.ndarray:
        """`rows` sorted like the store order (time, eventID, arrival)."""
        rows = np.asarray(rows, np.int64)
        if len(rows) < 2:
            return rows
        return np.array(
            sorted(rows.tolist(), key=lambda r: (int(self._times.buf[r]), bytes(self._eid.buf[r]), r)),
            np.int64,
        )

    def counts(
        self, field: str, mask: np.ndarray | None = None, top: int | None = None
    ) -> list[tuple[str, int]]:
        """(value, count) pairs, most frequent first (ties by value)."""
        return self.facet(field, mask, top)[0]

    def value_counts(self, field: str) -> np.ndarray:
        """Count per value code of `field` over every event (read-only; kept until the
        next commit: clearing the filter at 1M events then costs no bincounts)."""
        got = self._value_counts.get(field)
        if got is None or got[0] != self.generation:
            f = FIELD_INDEX[field]
            bins = np.bincount(self._codes[f].view, minlength=len(self.dicts[f].values))
            bins.flags.writeable = False
            got = self._value_counts[field] = (self.generation, bins)
        return got[1]

    def facet(
        self, field: str, mask: np.ndarray | None = None, top: int | None = None
    ) -> tuple[list[tuple[str, int]], int]:
        """The top (value, count) pairs and the number of distinct values, from one
        bincount."""
        f = FIELD_INDEX[field]
        vals = self.dicts[f].values
        if mask is None:
            return top_values(self.value_counts(field), vals, top)
        return top_values(np.bincount(self._codes[f].view[mask], minlength=len(vals)), vals, top)

    def time_range(self, mask: np.ndarray | None = None) -> tuple[int, int] | None:
        t = self._times.view if mask is None else self._times.view[mask]
        t = t[t != NO_TIME]
        if not len(t):
            return None
        return int(t.min()), int(t.max())

    # ------------------------------------------------- query target protocol
    # (the masks themselves are in _Masks)
    def _col_codes(self, f: int) -> np.ndarray:
        return self._codes[f].view

    def _col_times(self) -> np.ndarray:
        return self._times.view

    def _col_flags(self) -> np.ndarray:
        return self._flags.view

    def _mask_of_rows(self, rows: np.ndarray) -> np.ndarray:
        m = np.zeros(self._times.n, bool)
        m[rows] = True
        return m

    def _annotations(self) -> AnnotationSource | None:
        return self.annotations

    def _ip_kinds(self) -> np.ndarray:
        vals = self.dicts[FIELD_INDEX["ip"]].values
        if len(self._ip_kind) < len(vals):
            old = self._ip_kind
            new = np.zeros(len(vals), np.uint8)
            new[: len(old)] = old
            for c in range(len(old), len(vals)):
                new[c] = ip_kind(vals[c])
            self._ip_kind = new
        return self._ip_kind

    def newest_time_ms(self) -> int | None:
        r = self.time_range()
        return None if r is None else r[1]

    def mask_text(self, phrase: str) -> np.ndarray:
        """Rows whose canonical JSON contains `phrase`, case-insensitively.

        The phrase is matched as it would appear inside a JSON string, so quotes and
        backslashes in it match the escaped form in the text.
        """
        n = self._times.n
        needle = orjson.dumps(phrase)[1:-1].decode().lower().encode()
        cached = self._text_cache.get(phrase)
        start, mask = (0, np.zeros(n, bool)) if cached is None else cached
        if len(mask) < n:
            grown = np.zeros(n, bool)
            grown[: len(mask)] = mask
            mask = grown
        if not needle:
            mask[:] = True
            return mask
        todo = [
            self.files[fid]
            for fid in range(start, len(self.files))
            if self.files[fid].line_rows is not None and self.files[fid].text_low
        ]
        blobs = [(fi.text_low, fi.lstarts, fi.lends) for fi in todo]
        for fi, hits in zip(todo, search_blobs(blobs, needle), strict=True):  # type: ignore[arg-type]
            if hits:
                rows = fi.line_rows[hits]  # type: ignore[index]
                mask[rows[rows >= 0]] = True
        self._text_cache[phrase] = (self._committed_files(), mask)
        if len(self._text_cache) > 16:
            self._text_cache.popitem(last=False)
        return mask.copy()

    def text_backlog(self, phrase: str) -> int:
        """How many committed files `mask_text(phrase)` would still have to search (the
        rest is cached): 0 means it answers at once."""
        cached = self._text_cache.get(phrase)
        return self._committed_files() - (0 if cached is None else cached[0])

    # ------------------------------------------------------------ path columns
    def path_column(self, path: Path) -> PathColumn:
        """The values of `path` for every committed event (see pathcols): built on first
        use, brought up to date with the files committed since on later ones."""
        col = self.path_columns.get(path)
        col.catch_up(self)
        self.path_columns.evict()
        return col

    def path_backlog(self, path: Path) -> int:
        """How many committed files the column of `path` still has to scan: 0 means
        filters and facets on it answer at once."""
        col = self.path_columns.peek(path)
        return self._committed_files() - (0 if col is None else col.files_done)

    def mask_path(self, path: Path, matcher) -> np.ndarray:
        """Rows where `path` holds a value `matcher` accepts (see pathcols.PathColumn.mask)."""
        return self.path_column(path).mask(len(self), matcher)

    def _row_ranks(self) -> np.ndarray:
        """Each row's position in the time order (the inverse of `order`; per commit)."""
        got = self._ranks
        if got is None or got[0] != self.generation:
            order = self._order.view
            ranks = np.empty(len(order), np.int32 if len(order) < 2**31 else np.int64)
            ranks[order] = np.arange(len(order), dtype=ranks.dtype)
            got = self._ranks = (self.generation, ranks)
        return got[1]

    def path_positions(self, col: PathColumn) -> np.ndarray:
        """The time-order position of each entry of `col` (kept until the next commit):
        masks in time order are then one scatter, without a gather through `order`."""
        got = col.positions
        if got is None or got[0] != self.generation or got[1] != len(col.rows):
            got = col.positions = (self.generation, len(col.rows), self._row_ranks()[col.rows])
        return got[2]

    def path_dense(self, col: PathColumn) -> np.ndarray | None:
        """`col` as a dense column in time order (code + 1 per position, 0 for none;
        kept until the next commit), or None when an event holds several values: masks
        and counts are then the compares and the count kernel of an indexed field."""
        if col.multi:
            return None
        got = col.dense
        if got is None or got[0] != self.generation or got[1] != len(col.rows):
            dense = np.zeros(len(self), np.int32)
            dense[self.path_positions(col)] = col.codes + 1
            got = col.dense = (self.generation, len(col.rows), dense)
        return got[2]

    def path_facet(
        self, path: Path, mask: np.ndarray | None = None, top: int | None = None
    ) -> tuple[list[tuple[str, int]], int]:
        """Like `facet`, for a path: the top (value, count) pairs ('' counts the events
        without a value) and the number of distinct values."""
        col = self.path_column(path)
        bins, with_values = col.counts(mask)
        total = len(self) if mask is None else int(np.count_nonzero(mask))
        return col.top(bins, with_values, total, top, self)

    def _committed_files(self) -> int:
        # Files before the first pending one are fully committed (pending files are
        # always the newest, since add() appends and commit() takes them all).
        return self._pending[0][0] if self._pending else len(self.files)

    # ------------------------------------------------------------------ stats
    def file_states(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for fi in self.files:
            if not fi.superseded:
                out[fi.state] = out.get(fi.state, 0) + 1
        return out

    def file_counts(self) -> tuple[int, int, int]:
        """(files loaded, entries in skipped(), files deleted since loading)."""
        return self._loaded_files, self._problem_files + len(self.errors), self._gone_files

    def skipped(self) -> list[tuple[str, str]]:
        """Files not (fully) loaded or read leniently, with reasons and counts, and walk
        errors."""
        out = [
            (fi.path, self._verdict(fi))
            for fi in self.files
            if _needs_a_word(fi) and not fi.superseded
        ]
        out.extend((p, f"error: {r}") for p, r in self.errors)
        return out

    def _verdict(self, fi: FileInfo) -> str:
        if fi.state != "loaded" or fi.bad_records:
            text = f"{fi.state}: {fi.reason}" if fi.reason else fi.state
            if fi.lenient:
                text += f"; read leniently: {fi.lenient}"
            return text
        text = f"loaded {counted(fi.records, 'record')}, read leniently: {fi.lenient}"
        rows = fi.line_rows
        if rows is not None:
            rows = rows[rows >= 0]
            flagged = int(np.count_nonzero(self._flags.buf[rows] & LENIENT))
            if flagged:
                text += f" ({flagged:,} flagged has:lenient)"
        return text


_UNPARSED = object()


def _content_key(raw: bytes, exact: bool) -> bytes | object:
    """What an event's JSON says, whatever its formatting and key order: the decoded
    value written back with sorted keys, or _UNPARSED. Two deliveries are the same
    record when their keys (made the same way) are equal; == would take true for 1 and
    1.0 for 1. `exact`: with the stdlib, for what orjson reads or writes changed (NaN,
    integers beyond 64 bits); measured ~2.5 us an event with orjson, ~11 with it."""
    try:
        if exact:
            return deepjson.dumps(deepjson.loads(raw), sort_keys=True).encode()
        value = orjson.loads(raw)
    except ValueError:
        return _UNPARSED
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:  # nested past the 254 levels orjson writes
        return deepjson.dumps(value, sort_keys=True).encode()


# Digits to "0", every other byte to a space: 20 zeros in a row are what an integer
# beyond 64 bits needs (a cheaper superset of has_big_int's pattern, which took ~30 us
# on a pretty-printed event).
_DIGITS_AS_ZEROS = bytes(48 if 48 <= c <= 57 else 32 for c in range(256))
_TWENTY_DIGITS = b"0" * 20


def _digit_run(raw: bytes) -> bool:
    return _TWENTY_DIGITS in raw.translate(_DIGITS_AS_ZEROS)


def _needs_a_word(fi: FileInfo) -> bool:
    """Whether a file belongs on the Skipped list: not (fully) loaded, or loaded only
    by accepting something a strict reading would not (see reader lenient labels)."""
    return fi.state != "loaded" or bool(fi.bad_records) or bool(fi.lenient)


def count_codes(codes: np.ndarray, at: np.ndarray, size: int) -> np.ndarray:
    """`np.bincount(codes[at], minlength=size)` for codes below `size`: in one pass
    without the gathered copy when the C kernel is built (~0.3 vs 0.8 ms for a 325k
    selection of a 1.3M column)."""
    if (
        _count_at is None
        or codes.dtype != np.int32
        or at.dtype != np.int64
        or not (codes.flags.c_contiguous and at.flags.c_contiguous)
    ):
        return np.bincount(codes[at], minlength=size)
    out = np.zeros(size, np.int64)
    _count_at(out, codes, at)
    return out


def top_values(
    bins: np.ndarray, values: list[str], top: int | None
) -> tuple[list[tuple[str, int]], int]:
    """(value, count) pairs from a bincount, most frequent first (ties by value), and
    how many values occur at all."""
    nz = np.flatnonzero(bins)
    distinct = len(nz)
    if top is not None and len(nz) > top:
        cut = np.partition(bins[nz], len(nz) - top)[len(nz) - top]
        nz = nz[bins[nz] >= cut]  # keeps every tie at the cut, so the value order decides
    order = sorted(nz.tolist(), key=lambda c: (-int(bins[c]), values[c]))
    if top is not None:
        order = order[:top]
    return [(values[c], int(bins[c])) for c in order], distinct


def hash_order(h: np.ndarray) -> np.ndarray:
    """`np.argsort(h, kind="stable")` for random 64-bit hashes: an unstable sort, then
    the rare runs of equal hashes put back in position order (~25% faster at 100k)."""
    s = np.argsort(h)
    hs = h[s]
    tied = np.flatnonzero(hs[1:] == hs[:-1])
    if len(tied):
        at = np.unique(np.concatenate([tied, tied + 1]))  # every member of a run
        s[at] = s[at][np.lexsort((s[at], hs[at]))]
    return s


def sort_keys(times: np.ndarray, eid16: np.ndarray) -> np.ndarray:
    """uint64 keys that order like (time, eventID) except inside rare ties."""
    t = np.clip(times, 0, _TIME_MAX).astype(np.uint64)
    prefix = np.frombuffer(eid16.tobytes(), ">u8")[::2] if len(eid16) else np.empty(0, ">u8")
    return (t << np.uint64(_ID_BITS)) | (prefix.astype(np.uint64) >> np.uint64(64 - _ID_BITS))


def ip_kind(v: str) -> int:
    """Bits: 1 IPv4, 2 IPv6, 4 an AWS service name, 8 'AWS Internal'."""
    if not v:
        return 0
    if v == "AWS Internal":
        return 8
    try:
        a = ipaddress.ip_address(v)
    except ValueError:
        return 4 if v.endswith(".amazonaws.com") else 0
    return 1 if a.version == 4 else 2


class TimeOrdered(_Masks):
    """A store as a query target in time order: mask position i is row `order[i]`.

    A view needs its rows in time order. Masks in store order had to be gathered
    through `order` (1M random reads) and counted by gathering codes at random rows;
    over the store's time-ordered columns (kept up to date by commits, built once per
    column on first use) both become sequential passes.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self.dicts = store.dicts

    # Masks are new arrays: the columns are only read here, never kept.
    def _col_codes(self, f: int) -> np.ndarray:
        return self.store._in_order(f, lend=False)

    def _col_times(self) -> np.ndarray:
        return self.store._in_order("times", lend=False)

    def _col_flags(self) -> np.ndarray:
        return self.store._in_order("flags", lend=False)

    def _ip_kinds(self) -> np.ndarray:
        return self.store._ip_kinds()

    def _mask_of_rows(self, rows: np.ndarray) -> np.ndarray:
        m = np.zeros(len(self.store), bool)
        m[self.store.positions_in_order(rows)] = True
        return m

    def _annotations(self) -> AnnotationSource | None:
        return self.store.annotations

    def row_count(self) -> int:
        return len(self.store)

    def newest_time_ms(self) -> int | None:
        return self.store.newest_time_ms()

    def mask_text(self, phrase: str) -> np.ndarray:
        return self.store.mask_text(phrase)[self.store._order.view]

    def mask_path(self, path: Path, matcher) -> np.ndarray:
        store = self.store
        col = store.path_column(path)
        dense = store.path_dense(col)
        if dense is not None:
            return col.mask_dense(dense, matcher)
        return col.mask(len(store), matcher, store.path_positions(col))

    def text_backlog(self, phrase: str) -> int:
        return self.store.text_backlog(phrase)
