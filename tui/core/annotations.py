"""A case's marks and notes bound to a store's rows: what `mark:`, `has:mark` and
`has:note` select, the label facet, and the actions the explorer's keys call.

The case keys events by (eventID, time, name); the store finds rows by an eventID hash.
Rows are only ever appended, so resolving keys to rows is incremental: the rows added
since the last query are matched against the case's keys (vectorised over the new
rows, or through the store's id index when the new rows far outnumber the keys), and
a key added by a new mark is looked up through the id index once. A mark on an event
that is not loaded yet therefore applies as soon as a commit brings it in (tailing, a
re-download). Records that share a key (`has:conflict` twins: same eventID, time and
name, different content) share their marks and note.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field

import numpy as np

from .batch import NO_ID, id_hash
from .case import Case, CaseError, EventKey, EventRecord, Note, normalize_label
from .normalize import text as value_text
from .store import OriginalUnavailable, Store

__all__ = ["Annotations"]

_NO_ROWS = np.empty(0, np.int64)
# Match the new rows against the keys one hash at a time (id index lookups) when they
# outnumber the keys by this much; else one vectorised search over the new rows.
_PER_KEY_RATIO = 64


@dataclass(slots=True)
class _Entry:
    key: EventKey
    labels: set[str]
    note: Note | None
    rows: list[int] = field(default_factory=list)


def _prefix(event_id: str) -> bytes:
    # What the store keeps of an eventID (its first 16 UTF-8 bytes); numpy drops the
    # NUL padding when an S16 item is read, so compare without it.
    return event_id.encode("utf-8", "surrogatepass")[:16].rstrip(b"\0")


class Annotations:
    """Marks and notes of `case` over the rows of `store`; sets `store.annotations`.

    Reads (masks, labels of a row, facet counts) are answered from memory; each action
    (mark, unmark, note) is one transaction in the case file, then updates memory. A
    lock makes the two safe to use from the explorer's UI thread and its view worker.
    """

    def __init__(self, case: Case, store: Store) -> None:
        self.case = case
        self.store = store
        self.version = 0  # bumped by every change of marks or notes
        self._lock = threading.RLock()
        self._entries: dict[EventKey, _Entry] = {}
        self._by_hash: dict[int, list[EventKey]] = {}
        self._no_id: dict[int, list[EventKey]] = {}  # time_ms -> keys without an eventID
        self._hashes = np.empty(0, np.uint64)  # sorted keys of _by_hash
        self._upto = 0  # store rows matched against every key
        self._by_row: dict[int, _Entry] | None = None  # built on demand
        for ev in case.events():
            self._entries[ev.key] = _Entry(ev.key, set(ev.labels), ev.note)
            self._index_key(ev.key)
        self._rebuild_hashes()
        store.annotations = self

    # -------------------------------------------------------------- keys -> rows
    def _index_key(self, key: EventKey) -> None:
        if key.event_id:
            h = id_hash(key.event_id.encode("utf-8", "surrogatepass"))
            self._by_hash.setdefault(h, []).append(key)
        else:
            self._no_id.setdefault(key.time_ms, []).append(key)

    def _unindex_key(self, key: EventKey) -> None:
        table, k = (
            (self._by_hash, id_hash(key.event_id.encode("utf-8", "surrogatepass")))
            if key.event_id
            else (self._no_id, key.time_ms)
        )
        keys = table.get(k, [])
        if key in keys:
            keys.remove(key)
        if not keys:
            table.pop(k, None)

    def _rebuild_hashes(self) -> None:
        self._hashes = np.array(sorted(self._by_hash), np.uint64)

    def _row_matches(self, row: int, key: EventKey) -> bool:
        """The row is the keyed event: time and name equal, eventID equal as far as the
        store keeps it (16 bytes and a 64-bit hash of all of it, already equal)."""
        s = self.store
        return (
            s.time_ms(row) == key.time_ms
            and s.value(row, "event") == key.event_name
            and bytes(s.id_prefixes[row]).rstrip(b"\0") == _prefix(key.event_id)
        )

    def _no_id_matches(self, row: int, key: EventKey) -> bool:
        s = self.store
        if s.value(row, "event") != key.event_name:
            return False
        try:
            return hashlib.sha256(s.canonical(row)).hexdigest() == key.no_id_sha256
        except OriginalUnavailable:
            return False

    def _resolve(
        self,
        keys_by_hash: dict[int, list[EventKey]],
        no_id: dict[int, list[EventKey]],
        lo: int,
        hi: int,
        hashes: np.ndarray,
    ) -> bool:
        """Match store rows [lo, hi) against the given keys; True when any matched."""
        found = False
        s = self.store
        if len(hashes) and hi > lo:
            if hi - lo > _PER_KEY_RATIO * len(hashes):
                cands = [r for h in hashes.tolist() for r in s.rows_with_id_hash(h) if lo <= r < hi]
            else:
                idh = s.id_hashes[lo:hi]
                pos = np.minimum(np.searchsorted(hashes, idh), len(hashes) - 1)
                cands = (lo + np.flatnonzero(hashes[pos] == idh)).tolist()
            idh_all = s.id_hashes
            for r in cands:
                for key in keys_by_hash.get(int(idh_all[r]), ()):
                    if self._row_matches(r, key):
                        self._entries[key].rows.append(r)
                        found = True
        if no_id and hi > lo:
            times = s.times[lo:hi]
            noid = (s.flags[lo:hi] & NO_ID) != 0
            want = np.fromiter(no_id, np.int64, len(no_id))
            for r in (lo + np.flatnonzero(noid & np.isin(times, want))).tolist():
                for key in no_id.get(s.time_ms(r), ()):
                    if self._no_id_matches(r, key):
                        self._entries[key].rows.append(r)
                        found = True
        return found

    def _sync(self) -> None:
        """Match the rows committed since the last call against every key."""
        n = len(self.store)
        if n <= self._upto:
            return
        lo, self._upto = self._upto, n
        if self._resolve(self._by_hash, self._no_id, lo, n, self._hashes):
            self._by_row = None

    def _add_entry(self, key: EventKey) -> _Entry:
        """A key new to memory: matched against the rows already seen, once."""
        entry = self._entries[key] = _Entry(key, set(), None)
        self._index_key(key)
        self._rebuild_hashes()
        if key.event_id:
            h = id_hash(key.event_id.encode("utf-8", "surrogatepass"))
            self._resolve({h: [key]}, {}, 0, self._upto, np.array([h], np.uint64))
        else:
            self._resolve({}, {key.time_ms: [key]}, 0, self._upto, _NO_ROWS.astype(np.uint64))
        entry.rows.sort()
        return entry

    def _drop_if_bare(self, entry: _Entry) -> None:
        if not entry.labels and entry.note is None:
            del self._entries[entry.key]
            self._unindex_key(entry.key)
            self._rebuild_hashes()

    def _row_index(self) -> dict[int, _Entry]:
        self._sync()
        if self._by_row is None:
            self._by_row = {r: e for e in self._entries.values() for r in e.rows}
        return self._by_row

    def _changed(self) -> None:
        self._by_row = None
        self.version += 1

    # -------------------------------------------------------------- reads
    def rows_marked(self, matcher=None) -> np.ndarray:
        """Rows marked with a label `matcher` (a `query.ValueMatcher`) accepts; with
        None, rows with any mark. Sorted, unique."""
        with self._lock:
            self._sync()
            rows = [
                r
                for e in self._entries.values()
                if e.labels and (matcher is None or any(map(matcher.matches, e.labels)))
                for r in e.rows
            ]
        return np.unique(np.array(rows, np.int64)) if rows else _NO_ROWS

    def rows_noted(self) -> np.ndarray:
        with self._lock:
            self._sync()
            rows = [r for e in self._entries.values() if e.note is not None for r in e.rows]
        return np.unique(np.array(rows, np.int64)) if rows else _NO_ROWS

    def labels_of(self, row: int) -> tuple[str, ...]:
        """The row's labels, sorted (the list draws them)."""
        with self._lock:
            e = self._row_index().get(row)
            return tuple(sorted(e.labels)) if e is not None else ()

    def note_of(self, row: int) -> Note | None:
        with self._lock:
            e = self._row_index().get(row)
            return None if e is None else e.note

    def label_counts(self, mask: np.ndarray | None = None) -> list[tuple[str, int]]:
        """(label, events) among the rows where `mask` (by store row) is True, or among
        all rows; most first, ties by label. Rows past the mask's end are not counted."""
        counts: dict[str, int] = {}
        with self._lock:
            for row, e in self._row_index().items():
                if mask is not None and (row >= len(mask) or not mask[row]):
                    continue
                for label in e.labels:
                    counts[label] = counts.get(label, 0) + 1
        return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))

    def labels(self) -> list[str]:
        """The labels at hand: the default ones, then the others in use."""
        return self.case.labels()

    def rows_of_key(self, key: EventKey) -> list[int]:
        """The loaded rows of an annotated event (several for `has:conflict` twins)."""
        with self._lock:
            self._sync()
            e = self._entries.get(key)
            return sorted(e.rows) if e is not None else []

    def unresolved(self) -> int:
        """Annotated events that match no loaded row (not loaded yet, or not in this trail)."""
        with self._lock:
            self._sync()
            return sum(1 for e in self._entries.values() if not e.rows)

    # -------------------------------------------------------------- actions
    def record_of(self, row: int) -> EventRecord:
        """The case's snapshot of a store row. Raises CaseError when its JSON cannot be
        read (its file changed on disk since loading): its full eventID is there."""
        s = self.store
        try:
            ev = s.event(row)
            canon = s.canonical(row)
        except OriginalUnavailable as e:
            raise CaseError(f"cannot annotate this event: {e}") from e
        eid = ev.get("eventID")
        eid = eid if isinstance(eid, str) and eid else ""  # as the store's NO_ID
        sha = hashlib.sha256(canon).hexdigest()
        key = EventKey(eid, s.time_ms(row), s.value(row, "event"), "" if eid else sha)
        return EventRecord(
            key,
            event_time=value_text(ev.get("eventTime")),
            event_source=s.value(row, "service"),
            principal=s.value(row, "principal"),
            source_ip=s.value(row, "ip"),
            account=s.value(row, "account"),
            region=s.value(row, "region"),
            error_code=s.value(row, "error"),
            cred=s.value(row, "cred"),
            access_key=s.value(row, "key"),
            location=s.location(row),
            original=canon,
            sha256=sha,
        )

    def _key_of(self, row: int) -> EventKey | None:
        """The key of an annotated row without reading its JSON; None if not annotated."""
        e = self._row_index().get(row)
        return None if e is None else e.key

    def mark(self, row: int, label: str, found_with: str = "") -> bool:
        """Mark the row's event with `label` (in the case file first); False when it
        already carried it. Raises CaseError."""
        label = normalize_label(label)
        with self._lock:
            key = self._key_of(row)
            if key is not None and label in self._entries[key].labels:
                return False
            # An event already in the case keeps its first snapshot: only the key is needed.
            rec = self.record_of(row) if key is None else EventRecord(key)
            added = self.case.mark(rec, label, found_with)
            entry = self._entries.get(rec.key) or self._add_entry(rec.key)
            entry.labels.add(label)
            self._changed()
            return added

    def unmark(self, row: int, label: str) -> bool:
        label = normalize_label(label)
        with self._lock:
            key = self._key_of(row)
            if key is None or label not in self._entries[key].labels:
                return False
            self.case.unmark(key, label)
            entry = self._entries[key]
            entry.labels.discard(label)
            self._drop_if_bare(entry)
            self._changed()
            return True

    def toggle(self, row: int, label: str, found_with: str = "") -> bool:
        """Mark or unmark; returns whether the row carries `label` afterwards."""
        with self._lock:
            if normalize_label(label) in self.labels_of(row):
                self.unmark(row, label)
                return False
            self.mark(row, label, found_with)
            return True

    def set_note(self, row: int, text: str, found_with: str = "") -> Note | None:
        """Attach, replace or (blank text) remove the row's note. Raises CaseError."""
        with self._lock:
            key = self._key_of(row)
            if not text.strip():
                if key is None or self._entries[key].note is None:
                    return None
                self.case.set_note(EventRecord(key), "")
                entry = self._entries[key]
                entry.note = None
                self._drop_if_bare(entry)
                self._changed()
                return None
            rec = self.record_of(row) if key is None else EventRecord(key)
            note = self.case.set_note(rec, text, found_with)
            entry = self._entries.get(rec.key) or self._add_entry(rec.key)
            entry.note = note
            self._changed()
            return note
