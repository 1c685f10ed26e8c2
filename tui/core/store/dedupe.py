"""Dedupe: a record delivered again (same eventID, same content) is stored once; records
that share an eventID but differ are all kept, flagged CONFLICT."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import orjson

from .. import deepjson
from ..batch import CONFLICT, LENIENT
from .arrays import SortedArray
from .columns import EventColumns
from .files import FileRegistry
from .originals import Originals, OriginalUnavailable

__all__ = ["Deduper", "IdIndex", "Sifted", "hash_order"]

SAMPLES = 20  # duplicates described in Deduper.samples


class IdIndex:
    """eventID hash -> rows, to spot duplicates. Hashes are random, so an insert into
    one sorted array moved nearly all of it (~3 ms a commit at 1.1M events while
    tailing): new ids go into a small level, folded into the big one when it reaches
    1/16 of it. Within a hash, rows come in arrival order."""

    __slots__ = ("big_h", "big_r", "new_h", "new_r", "_seen", "_seen_shift", "spares")

    def __init__(self) -> None:
        self.big_h = SortedArray(np.empty(0, np.uint64))
        self.big_r = SortedArray(np.empty(0, np.int64))
        self._clear_new()
        # A bit per slice of the hash space, set for each hash held: most hashes a
        # commit asks about are new, and their clear bit answers at one memory read,
        # where a binary search into millions of hashes costs ~20 (measured at 10M
        # events in commits of 100k: 1.43 s of binary searches in all).
        self._seen = np.zeros(0, np.uint8)
        self._seen_shift = 64
        self.spares: tuple[np.ndarray | None, np.ndarray | None] = (None, None)  # see forked

    def reserve(self, rows: int) -> None:
        self.big_h.room = self.big_r.room = rows
        self._size_seen(rows)

    def _size_seen(self, rows: int) -> None:
        """At least 8 bits per hash (a clear bit for ~7/8 of the hashes not held); the
        map doubles as the index outgrows it, rebuilt from the hashes held."""
        bits = 1 << max(16, (8 * max(rows, 1) - 1).bit_length())
        if bits <= 8 * len(self._seen):
            return
        self._seen = np.zeros(bits // 8, np.uint8)
        self._seen_shift = 64 - (bits.bit_length() - 1)
        for level in (self.big_h.view, self.new_h.view):
            self._mark(level)

    def _mark(self, h: np.ndarray) -> None:
        """Set the bits of sorted hashes `h` (sorted: each byte's bits are or-ed
        together first, so no byte is written twice in one fancy assignment)."""
        if not len(h):
            return
        slot = h >> np.uint64(self._seen_shift)
        byte = slot >> np.uint64(3)
        bits = np.left_shift(np.uint8(1), (slot & np.uint64(7)).astype(np.uint8))
        first = np.flatnonzero(np.r_[True, byte[1:] != byte[:-1]])
        self._seen[byte[first]] |= np.bitwise_or.reduceat(bits, first)

    def _maybe(self, h: np.ndarray) -> np.ndarray:
        slot = h >> np.uint64(self._seen_shift)
        return (self._seen[slot >> np.uint64(3)] >> (slot & 7).astype(np.uint8)) & 1 != 0

    def forked(self) -> IdIndex:
        """This index, for adding to off the owner's thread: its arrays go to new
        buffers on the first insert (this one's are unchanged). The bit map is shared:
        a bit set for a hash this index does not hold only costs `contains` a binary
        search, and only commits (none meanwhile) read it."""
        spare_h, spare_r = self.spares
        self.spares = (None, None)
        got = IdIndex.__new__(IdIndex)
        got.big_h, got.big_r = self.big_h.forked(spare_h), self.big_r.forked(spare_r)
        got.new_h, got.new_r = self.new_h.forked(), self.new_r.forked()
        got._seen, got._seen_shift = self._seen, self._seen_shift
        got.spares = (None, None)
        return got

    def keep_spares(self, old: IdIndex) -> None:
        """`old`'s big level's buffers (this index replaced it) for the next fork's new
        ones (see SortedArray.forked)."""
        self.spares = (
            None if old.big_h.buf is self.big_h.buf else old.big_h.buf,
            None if old.big_r.buf is self.big_r.buf else old.big_r.buf,
        )

    def _clear_new(self) -> None:
        self.new_h = SortedArray(np.empty(0, np.uint64))
        self.new_r = SortedArray(np.empty(0, np.int64))

    def __len__(self) -> int:
        return self.big_h.n + self.new_h.n

    def add(self, h: np.ndarray, rows: np.ndarray) -> None:
        """Add (hash, row) pairs, in (hash, row) order, rows newer than any held."""
        self.spares = (None, None)  # (a fork's, once taken, or a direct commit's)
        if not len(h):
            return
        if len(self) + len(h) > len(self._seen):  # fewer than 8 bits per hash
            self._size_seen(2 * (len(self) + len(h)))
        self._mark(h)
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
    def _merge(hs: SortedArray, rs: SortedArray, h: np.ndarray, rows: np.ndarray) -> None:
        # side="right": a hash's rows stay oldest first.
        pos = np.searchsorted(hs.view, h, side="right")
        hs.insert(pos, h)
        rs.insert(pos, rows)

    def contains(self, hs: np.ndarray) -> np.ndarray:
        """Per hash of sorted `hs`: is it held?"""
        found = np.zeros(len(hs), bool)
        if not len(self):
            return found
        maybe = np.flatnonzero(self._maybe(hs))
        q = hs[maybe]
        for level in (self.big_h.view, self.new_h.view):
            if len(level):
                # Sorted queries: numpy's binary search narrows from the previous hit.
                pos = np.minimum(np.searchsorted(level, q), len(level) - 1)
                found[maybe[level[pos] == q]] = True
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


@dataclass(slots=True)
class Sifted:
    """What `Deduper.sift` found among a commit's pending records."""

    keep: np.ndarray  # bool per pending record: not a duplicate
    duplicates: int
    conflicts: int  # pending records that share an eventID with another, content differs
    stored_flagged: bool  # a stored row was flagged CONFLICT
    # Stored rows that now share an eventID with a pending record (to flag CONFLICT),
    # the duplicates' descriptions (Deduper.samples) and the index with the kept
    # records' ids: what `Deduper.apply` makes part of the store.
    stored_conflicts: list[int] = field(default_factory=list)
    samples: list[str] = field(default_factory=list)
    ids: IdIndex | None = None


class Deduper:
    """Recognises re-deliveries among pending records and against the stored rows, by
    an index of the stored rows' eventID hashes."""

    def __init__(self, columns: EventColumns, files: FileRegistry, originals: Originals) -> None:
        self.columns = columns
        self.files = files
        self.originals = originals
        self.ids = IdIndex()
        self.samples: list[str] = []  # the first duplicates: "<where> repeats <where>"

    def sift(
        self,
        idh: np.ndarray,
        eid: np.ndarray,
        flags: np.ndarray,
        file: np.ndarray,
        line: np.ndarray,
    ) -> Sifted:
        """`sifted`, then `apply`: the store's flags and index changed at once."""
        got = self.sifted(idh, eid, flags, file, line, self.ids)
        self.apply(got)
        return got

    def apply(self, got: Sifted, keep_spares: bool = False) -> None:
        """Make a sift's outcome part of the store: the stored rows it flags CONFLICT,
        its duplicates' descriptions, its index (`keep_spares`: a fork's, the index it
        replaces keeps its buffers for the next fork: IdIndex.keep_spares)."""
        if got.stored_conflicts:
            self.columns.flags.buf[got.stored_conflicts] |= CONFLICT
        self.samples.extend(got.samples[: max(0, SAMPLES - len(self.samples))])
        if got.ids is not None:
            if keep_spares and got.ids is not self.ids:
                got.ids.keep_spares(self.ids)
            self.ids = got.ids

    def sifted(
        self,
        idh: np.ndarray,
        eid: np.ndarray,
        flags: np.ndarray,
        file: np.ndarray,
        line: np.ndarray,
        index: IdIndex,
    ) -> Sifted:
        """Drop re-deliveries; flag records that share an eventID but differ (in
        `flags`; the stored ones are listed in `stored_conflicts`); then index the kept
        records' ids as the rows they will be stored at (after the stored ones, in
        order), in `index` (the store's own, or a fork of it: `IdIndex.forked`).
        Nothing of the store changes here but `ids`.

        A record is a duplicate when an earlier one has the same eventID and the same
        content, whatever its formatting (pretty-printed, keys in another order).
        Candidates come from a 64-bit id hash; equality is then confirmed on the eventID
        prefix and on the original bytes, and only where those differ on the decoded
        JSON (see content_key).
        """
        n = len(idh)
        keep = np.ones(n, bool)
        ids = np.flatnonzero(idh != 0)
        if not len(ids):
            return Sifted(keep, 0, 0, False)
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
        existing[s] = index.contains(hs)
        cand = ids[within | existing]
        got = Sifted(keep, 0, 0, False, ids=index)
        if len(cand):
            self._compare(cand, got, idh, eid, flags, file, line, index)
        # The kept records with an eventID, in hash order, join the index.
        id_pos = by_hash[keep[by_hash]]
        rank = (np.cumsum(keep) - 1)[id_pos]
        index.add(idh[id_pos], len(self.columns) + rank)
        return got

    def _compare(
        self, cand: np.ndarray, got: Sifted, idh, eid, flags, file, line, index: IdIndex
    ) -> None:
        """Settle each candidate against the earlier records with its id hash: the
        stored rows ("row", r) and the pending records before it ("p", i)."""
        keep = got.keep
        seen: dict[int, list[tuple[str, int]]] = {}  # hash -> [("row", r) | ("p", i)]
        texts: dict[int, bytes] = {}
        cols, files, originals = self.columns, self.files, self.originals
        stored_eid, stored_flags = cols.eid.buf, cols.flags.buf

        def read(kind: str, ref: int) -> bytes | None:
            """The record's original, None when it cannot be read."""
            try:
                if kind == "row":
                    return originals.record(int(cols.file.buf[ref]), int(cols.line.buf[ref]))
                fid, ln = int(file[ref]), int(line[ref])
                data = texts.get(fid)
                if data is None:
                    data = texts[fid] = originals.read(files.files[fid])
                fi = files.files[fid]
                return data[fi.ostarts[ln] : fi.oends[ln]]  # type: ignore[index]
            except OriginalUnavailable:
                return None

        def where(kind: str, ref: int) -> str:
            if kind == "row":
                return files.location(int(cols.file.buf[ref]), int(cols.line.buf[ref]))
            return files.location(int(file[ref]), int(line[ref]))

        for i in cand.tolist():
            hv = int(idh[i])
            members = seen.get(hv)
            if members is None:
                members = seen[hv] = [("row", r) for r in index.rows(hv)]
            mine = read("p", i)
            mine_keys: dict[bool, object] = {}  # content key of `mine`, per way
            same_id = []
            duplicate_of = None
            for kind, ref in members:
                other_eid = stored_eid[ref] if kind == "row" else eid[ref]
                if other_eid != eid[i]:
                    continue  # hash collision between different ids
                same_id.append((kind, ref))
                other = read(kind, ref)
                if mine is None or other is None:
                    continue  # cannot prove it is the same: keep both, flagged
                if other != mine:
                    other_flags = stored_flags[ref] if kind == "row" else flags[ref]
                    lenient = bool((flags[i] | other_flags) & LENIENT)
                    if not _same_content(mine, other, lenient, mine_keys):
                        continue
                duplicate_of = (kind, ref)
                break
            if duplicate_of is not None:
                keep[i] = False
                got.duplicates += 1
                if len(self.samples) + len(got.samples) < SAMPLES:
                    got.samples.append(f"{where('p', i)} repeats {where(*duplicate_of)}")
                continue
            if same_id:
                got.conflicts += 1
                flags[i] |= CONFLICT
                for kind, ref in same_id:
                    if kind == "row":
                        got.stored_conflicts.append(ref)
                        got.stored_flagged = True
                    else:
                        flags[ref] |= CONFLICT
            members.append(("p", i))


def _same_content(mine: bytes, other: bytes, lenient: bool, mine_keys: dict) -> bool:
    """Whether two originals with different bytes are the same record (pretty-printed,
    keys in another order): compares what they decode to. Rare, so the common case
    stays a bytes compare. `mine_keys` keeps `mine`'s content key per way."""
    exact = lenient or _digit_run(mine)
    if exact not in mine_keys:
        mine_keys[exact] = content_key(mine, exact)
    key = mine_keys[exact]
    return key is not _UNPARSED and key == content_key(other, exact)


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


_UNPARSED = object()


def content_key(raw: bytes, exact: bool) -> bytes | object:
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
