"""`Store`: the event store the rest of the code uses, wiring the parts of this package.

Mutation (`add`, `commit`, `stage`, `publish`) happens on one thread; readers on that
same thread. The explorer honours that by committing from its UI thread; a big commit
is prepared on another (`StagedCommit.prepare`) without changing what readers see.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from ..batch import LENIENT, FileBatch
from ..fields import FIELD_INDEX, FIELDS
from ..kernels import count_codes
from ..normalize import NO_TIME
from ..pathcols import PathColumn, PathColumns
from ..paths import Path
from ..reader import record_lenient
from .columns import EventColumns
from .dedupe import Deduper, IdIndex, Sifted
from .dictionaries import Dictionaries, count_map, top_values
from .files import FileInfo, FileRegistry
from .masks import (
    AnnotationSource,
    CredentialSource,
    DetectionSource,
    IntegritySource,
    IpKinds,
    Masks,
    TimeOrdered,
)
from .ordered import TimeOrder, sort_keys
from .originals import Originals, OriginalUnavailable, decode_event, one_line
from .text import TextSearches

__all__ = ["CommitResult", "StagedCommit", "Store"]


@dataclass(slots=True)
class CommitResult:
    rows: np.ndarray  # new rows (arrival order)
    duplicates: int
    conflicts: int
    new_values: dict[str, range]  # field -> codes first seen in this commit


_IP = FIELD_INDEX["ip"]


@dataclass(frozen=True, slots=True)
class _Counted:
    """One field's count per value code over rows [0, rows), and how many are nonzero."""

    rows: int
    bins: np.ndarray
    distinct: int

    def extended(self, codes: np.ndarray, size: int) -> _Counted:
        """These counts and those of `codes` (the rows after `rows`), over `size` values:
        a new array (the old one may be in use), O(values + rows added)."""
        bins = np.zeros(size, np.int64)
        bins[: len(self.bins)] = self.bins
        if len(codes) >= size:
            added = np.bincount(codes, minlength=size)
            seen = np.flatnonzero(added)
            fresh = int(np.count_nonzero(bins[seen] == 0))
            bins += added
        else:  # few rows: their distinct codes, no array of every value
            seen, n = np.unique(codes, return_counts=True)
            fresh = int(np.count_nonzero(bins[seen] == 0))
            bins[seen] += n
        return _Counted(self.rows + len(codes), bins, self.distinct + fresh)


@dataclass(frozen=True, slots=True)
class _Top:
    """A facet over every event: its pairs and distinct values, from `bins`; `cut`, the
    count of its last value when it holds `top` of them (a bound for the next one)."""

    bins: np.ndarray
    cut: int | None
    pairs: list[tuple[str, int]]
    distinct: int


class Store(Masks):
    """Events in rows (arrival order), by way of `add` (a parsed file) and `commit`.

    The parts, each in its own module of this package: `columns` (per-row columns),
    `dictionaries` (the indexed fields' values), `registry` (the files and walk
    errors), `deduper` (with the eventID index), `originals` (the events' JSON),
    `time_order` (the order and the time-ordered columns), `text` (free-text searches)
    and `path_columns` (pathcols). As a query target (`Masks`) its masks are in store
    order; `time_ordered()` gives them in time order.
    """

    def __init__(self) -> None:
        self.dictionaries = Dictionaries()
        self.dicts = self.dictionaries.dicts
        self.columns = EventColumns()
        self.registry = FileRegistry()
        # The registry's lists, at hand (the loader and the app extend them).
        self.files = self.registry.files
        self.errors = self.registry.errors
        self.digests = self.registry.digests
        self.ignored = self.registry.ignored
        self.originals = Originals(self.files)
        self.local_paths = self.originals.local_paths
        self.deduper = Deduper(self.columns, self.registry, self.originals)
        self.time_order = TimeOrder(self.columns)
        self.text = TextSearches(self.files)
        self.path_columns = PathColumns()
        self.ip_kinds = IpKinds(self.dicts[_IP].values)
        self._pending: list[tuple[int, FileBatch]] = []
        self._values_known = [len(d.values) for d in self.dicts]  # at the last commit
        self._staged: StagedCommit | None = None  # see stage
        self.generation = 0  # commits so far
        self.duplicates = 0
        self.conflicts = 0
        self._value_counts: dict[str, _Counted] = {}  # see value_counts
        self._facets_all: dict[tuple[str, int | None], _Top] = {}  # see facet
        self._time_range: tuple[int, tuple[int, int] | None] | None = None  # rows, range
        # Marks and notes (a case), for mark:/has:mark/has:note; None: nothing marked.
        self.annotations: AnnotationSource | None = None
        # Detection rules' hits, for rule:/has:detection; None: nothing flagged.
        self.detections: DetectionSource | None = None
        # Files' states against their digests, for is:unverified; None: not checked.
        self.integrity: IntegritySource | None = None
        # Minted keys, for minted:/descends: and credential chains (credentials_of).
        self.credentials: CredentialSource | None = None

    # ------------------------------------------------------------------ ingest
    def add(self, batch: FileBatch) -> int:
        """Register a parsed file; its events become visible at the next commit."""
        if batch.local:
            self.local_paths[batch.path] = batch.local
        fid = self.registry.add(batch)
        self.learn_ahead(batch)
        if batch.n:
            self._pending.append((fid, batch))
        return fid

    def learn_ahead(self, batch: FileBatch) -> None:
        """Put a parser process's batch's new values in the dictionaries before `add`
        (on any thread; an encoder's batches in the order it sent them). The explorer's
        loader thread does this as batches arrive: on the UI thread, at 10M events, it
        took 1.4 s of the load in stalls of up to 77 ms."""
        if batch.enc_token and not batch.learnt:
            self.dictionaries.learn(batch)
            batch.learnt = True
            # Its values are the store's now (an encoder's batch is coded through its
            # translation): dropped, they are no longer walked by each of a load's
            # young collections (GcPolicy.part_loaded) while the batch waits.
            batch.uniques = []

    @property
    def pending(self) -> tuple[FileBatch, ...]:
        """The files `add` took whose events are not committed yet, oldest first."""
        staged = [] if self._staged is None else self._staged.pending
        return tuple(b for _, b in (*staged, *self._pending))

    @property
    def pending_events(self) -> int:
        """Events added and not committed (a staged commit's included)."""
        staged = 0 if self._staged is None else self._staged.events
        return staged + sum(b.n for _, b in self._pending)

    @property
    def dup_samples(self) -> list[str]:
        """The first duplicates dropped: "<file> record <n> repeats <file> record <m>"."""
        return self.deduper.samples

    def reserve(self, rows: int) -> None:
        """Room for `rows` events in all, so a bulk load does not regrow its columns
        (each regrowth copies every column; untouched room costs no resident memory)."""
        self.columns.reserve(rows)
        self.time_order.reserve(rows)
        self.deduper.ids.reserve(self.time_order.room)

    def commit(self) -> CommitResult:
        """Dedupe pending events against the store, append them and merge the order."""
        if self._staged is not None:
            raise RuntimeError("commit: a staged commit is not published yet")
        pending, self._pending = self._pending, []
        if not pending:
            return CommitResult(np.empty(0, np.int64), 0, 0, {})
        got = _Gathered(self, pending, None, self.deduper.ids)
        self.deduper.apply(got.sifted)
        if got.sifted.stored_flagged:
            self.time_order.forget("flags")
        self.columns.append(*got.appended())
        self.registry.place_rows(got.sizes, got.file, got.line, got.rows)
        self.time_order.merge(got.rows, got.keys)
        return self._committed(got)

    def _committed(self, got: _Gathered) -> CommitResult:
        self.duplicates += got.sifted.duplicates
        self.conflicts += got.sifted.conflicts
        self.generation += 1
        return CommitResult(
            got.rows, got.sifted.duplicates, got.sifted.conflicts, self._new_values()
        )

    def _new_values(self) -> dict[str, range]:
        """Field -> the codes first seen since the last commit (values are only
        appended). As ranges: a load's commit at 10M events meets ~0.5M new values, and
        a list of them cost the UI thread 10-27 ms at each publish."""
        before, self._values_known = self._values_known, [len(d.values) for d in self.dicts]
        return {
            FIELDS[f].name: range(before[f], n)
            for f, n in enumerate(self._values_known)
            if n > before[f]
        }

    # A commit prepared off the owner's thread (the explorer's UI thread): `stage` takes
    # the pending events, `StagedCommit.prepare` (any thread) does the work of `commit`
    # into forks of the columns, id index and time order, and `publish` (owner's thread)
    # swaps them in, O(new rows). Until then the store reads as it did at `stage`: the
    # preparation writes only into new buffers, or past the committed length of the
    # columns' buffers, and never into what the store's readers hold.
    @property
    def staged(self) -> StagedCommit | None:
        """The commit staged and not published yet, if any."""
        return self._staged

    def stage(self) -> StagedCommit | None:
        """Take the pending events into a commit to prepare off this thread (None when
        none are pending). No other commit until it is published."""
        if self._staged is not None:
            raise RuntimeError("stage: a staged commit is not published yet")
        if not self._pending:
            return None
        pending, self._pending = self._pending, []
        own = self.dictionaries.own_tables([b for _, b in pending])
        self._staged = StagedCommit(self, pending, own)
        return self._staged

    def let_go_of_spares(self) -> None:
        """Drop the buffers kept for the next staged commit (`publish(more=True)`): the
        load ended after its last commit was published (at 10M events the id index's
        and time order's, ~180 MB)."""
        if self._staged is None:
            self.deduper.ids.spares = (None, None)
            self.time_order.let_go_of_spares()

    def publish(self, staged: StagedCommit, more: bool = False) -> CommitResult:
        """Make a prepared commit part of the store (on the owner's thread). `more`:
        more staged commits are coming (a load): the buffers replaced are kept for the
        next one's new ones, if nobody holds them by then (resident pages: faulting in
        fresh ones cost a staged commit at 10M events ~0.1-0.2 s of CPU)."""
        if staged is not self._staged or staged.got is None or staged.order is None:
            raise RuntimeError("publish: not this store's prepared commit")
        got, columns = staged.got, staged.columns
        assert columns is not None
        self._staged = None
        self.deduper.apply(got.sifted, keep_spares=more)
        self.columns.adopt(columns)
        self.registry.set_rows(staged.line_rows)
        self.time_order.adopt(staged.order, keep_spares=more)
        if got.sifted.stored_flagged:
            self.time_order.forget("flags")
        res = self._committed(got)
        staged.release()
        return res

    def committed_files(self) -> int:
        """How many of `files`, from the first, are committed (pending files are always
        the newest: add() appends and commit() takes them all)."""
        first = self._staged.pending if self._staged is not None else self._pending
        return first[0][0] if first else len(self.files)

    def report_errors(self, errors: Iterable[tuple[str, str]]) -> None:
        """Walk errors found while following: each path keeps its latest reason."""
        self.registry.report_errors(errors)

    def mark_gone(self, path: str) -> bool:
        """The file was deleted after loading: its events stay, the status says so."""
        return self.registry.mark_gone(path)

    # ------------------------------------------------------------ plain access
    def __len__(self) -> int:
        return self.columns.times.n

    def row_count(self) -> int:
        return self.columns.times.n

    @property
    def times(self) -> np.ndarray:
        return self.columns.times.view

    @property
    def flags(self) -> np.ndarray:
        return self.columns.flags.view

    def codes(self, field: str) -> np.ndarray:
        return self.columns.codes[FIELD_INDEX[field]].view

    def value(self, row: int, field: str) -> str:
        f = FIELD_INDEX[field]
        return self.dicts[f].values[self.columns.codes[f].buf[row]]

    def values(self, field: str) -> Sequence[str]:
        """The field's distinct values by code (read only; a read gives a new str)."""
        return self.dicts[FIELD_INDEX[field]].values

    def code_of(self, field: str, value: str) -> int | None:
        """The code of `value` in `field`, None if the store has never seen it."""
        return self.dicts[FIELD_INDEX[field]].get(value)

    def time_ms(self, row: int) -> int:
        return int(self.columns.times.buf[row])

    # The eventID columns, for finding events again by key (annotations.py).
    @property
    def id_hashes(self) -> np.ndarray:
        """Per row: the eventID hash (`batch.id_hash`), 0 for a record without one."""
        return self.columns.idh.view

    @property
    def id_prefixes(self) -> np.ndarray:
        """Per row: the first 16 bytes of the eventID (S16, NUL padded)."""
        return self.columns.eid.view

    def rows_with_id_hash(self, hv: int) -> list[int]:
        """Committed rows whose eventID hash is `hv`, oldest first."""
        return self.deduper.ids.rows(hv)

    def file_lines(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(file index, line in that file's batch) of each of `rows`."""
        return self.columns.file.view[rows], self.columns.line.view[rows]

    def file_of(self, row: int) -> FileInfo:
        return self.files[int(self.columns.file.buf[row])]

    def location(self, row: int) -> str:
        """Where the event was read: its file and 1-based record number."""
        return self.registry.location(
            int(self.columns.file.buf[row]), int(self.columns.line.buf[row])
        )

    def original(self, row: int) -> bytes:
        """The event's JSON exactly as it was read (a file's own bytes where possible).
        Raises OriginalUnavailable."""
        return self.originals.record(
            int(self.columns.file.buf[row]), int(self.columns.line.buf[row])
        )

    def canonical(self, row: int) -> bytes:
        """The event's JSON on one line, values exact (the original unless it spans lines)."""
        return one_line(self.original(row), bool(self.columns.flags.buf[row] & LENIENT))

    def event(self, row: int) -> dict:
        return decode_event(self.original(row), bool(self.columns.flags.buf[row] & LENIENT))[0]

    def lenient_reasons(self, row: int) -> list[str]:
        """What the lenient reading did to this event (NaN kept, invalid UTF-8 replaced,
        ...); [] when it was read like any other."""
        if not self.columns.flags.buf[row] & LENIENT:
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
        return self.time_order.order.lend()

    def ordered(self, mask: np.ndarray | None = None) -> np.ndarray:
        """Rows (optionally only those in `mask`) in time order."""
        if mask is None:
            return self.order
        order = self.time_order.order.view
        return order[mask[order]]

    def order_at(self, sel: np.ndarray) -> np.ndarray:
        """`order[sel]` (positions in time order -> rows)."""
        return self.time_order.order.view[sel]

    # The time-ordered columns views select from (commits keep them up to date). With
    # `sel`, just those positions (a copy); without, the whole column, kept unchanged
    # by later commits (so the next commit copies it rather than inserting in place).
    def times_in_order(self, sel: np.ndarray | None = None) -> np.ndarray:
        """`times[order]`."""
        return self.time_order.column("times", sel)

    def errors_in_order(self, sel: np.ndarray | None = None) -> np.ndarray:
        """`has:error` per row of `order`."""
        return self.time_order.column("errors", sel)

    def count_in_order(self, field: str, sel: np.ndarray) -> np.ndarray:
        """Count per value code of `field` at positions `sel` of the time order
        (`bincount(codes(field)[order][sel])`, without the copies)."""
        f = FIELD_INDEX[field]
        col = self.time_order.column(f, lend=False)
        return count_codes(col, sel, len(self.dicts[f].values))

    def prepare_in_order(self, fields: Iterable[str]) -> None:
        """Build the time-ordered columns of `fields` now (each costs a gather over the
        whole store; commits keep built ones current)."""
        for f in fields:
            self.time_order.column(FIELD_INDEX[f], lend=False)

    def time_ordered(self) -> TimeOrdered:
        """The store as a query target whose masks are in time order (position i is
        row `order[i]`); see `TimeOrdered`."""
        return TimeOrdered(self)

    def positions_in_order(self, rows: np.ndarray) -> np.ndarray:
        """Where each of `rows` stands in the time order (`order[pos] == row`)."""
        return self.time_order.positions(rows)

    def in_time_order(self, rows: np.ndarray) -> np.ndarray:
        """`rows` sorted like the store order (time, eventID, arrival)."""
        return self.time_order.sort(rows)

    def counts(
        self, field: str, mask: np.ndarray | None = None, top: int | None = None
    ) -> list[tuple[str, int]]:
        """(value, count) pairs, most frequent first (ties by value)."""
        return self.facet(field, mask, top)[0]

    def value_counts(self, field: str) -> np.ndarray:
        """Count per value code of `field` over every event (read-only; one per field
        value added). Kept, and brought up to date from the rows committed since: after
        a commit (a tail's few hundred events) clearing the filter counts those rows,
        not every event again (a bincount of each facet's 10M codes: 145-155 ms for the
        three facets at 10M events)."""
        return self._counted(field).bins

    def _counted(self, field: str) -> _Counted:
        # Rows are only appended and their codes never change, so the counts of the
        # rows counted before plus those of the rows since are the counts of all.
        f = FIELD_INDEX[field]
        col = self.columns.codes[f].view  # before the size: every code in it is below
        size = len(self.dicts[f].values)
        got = self._value_counts.get(field)
        if got is not None and got.rows == len(col) and len(got.bins) == size:
            return got
        if got is None or got.rows > len(col):
            bins = np.bincount(col, minlength=size)
            got = _Counted(len(col), bins, int(np.count_nonzero(bins)))
        else:
            got = got.extended(col[got.rows :], size)
        got.bins.flags.writeable = False
        self._value_counts[field] = got
        return got

    def count_map(self, field: str) -> dict[str, int]:
        """Every value of `field` -> its events, most first (a complete facet)."""
        return count_map(self.value_counts(field), self.dicts[FIELD_INDEX[field]].values)

    def facet(
        self, field: str, mask: np.ndarray | None = None, top: int | None = None
    ) -> tuple[list[tuple[str, int]], int]:
        """The top (value, count) pairs and the number of distinct values, from one
        bincount."""
        f = FIELD_INDEX[field]
        vals = self.dicts[f].values
        if mask is None:
            # Kept while the counts are, like value_counts: clearing the filter at 10M
            # events redraws facets whose top-N selection over 1.5M principals costs
            # 5-10 ms each. After a commit the counts have only grown: the codes that
            # reach the former top-N's cut hold the new top-N (`ranked_codes`).
            counted = self._counted(field)
            got = self._facets_all.get((field, top))
            if got is None or got.bins is not counted.bins:
                if len(self._facets_all) > 64:
                    self._facets_all.clear()
                pairs, distinct = top_values(
                    counted.bins,
                    vals,
                    top,
                    bound=None if got is None else got.cut,
                    distinct=counted.distinct,
                )
                cut = pairs[-1][1] if top is not None and len(pairs) == top else None
                got = self._facets_all[(field, top)] = _Top(counted.bins, cut, pairs, distinct)
            return list(got.pairs), got.distinct
        bins = np.bincount(self.columns.codes[f].view[mask], minlength=len(vals))
        return top_values(bins, vals, top)

    def time_range(self, mask: np.ndarray | None = None) -> tuple[int, int] | None:
        if mask is None:
            return self._time_range_all()
        t = self.times[mask]
        t = t[t != NO_TIME]
        if not len(t):
            return None
        return int(t.min()), int(t.max())

    def _time_range_all(self) -> tuple[int, int] | None:
        # Kept, and brought up to date from the rows committed since (rows are only
        # appended, their times never change): the list asks on every view it shows,
        # and a pass over every time held the UI thread 50-150 ms at 10M events.
        n = len(self)
        got = self._time_range
        if got is not None and got[0] == n:
            return got[1]
        start, r = (0, None) if got is None or got[0] > n else got
        t = self.columns.times.view[start:n]
        t = t[t != NO_TIME]
        if len(t):
            lo, hi = int(t.min()), int(t.max())
            r = (lo, hi) if r is None else (min(r[0], lo), max(r[1], hi))
        self._time_range = (n, r)
        return r

    # ------------------------------------------------- query target (Masks)
    def _col_codes(self, f: int) -> np.ndarray:
        return self.columns.codes[f].view

    def _col_times(self) -> np.ndarray:
        return self.columns.times.view

    def _col_flags(self) -> np.ndarray:
        return self.columns.flags.view

    def _mask_of_rows(self, rows: np.ndarray) -> np.ndarray:
        m = np.zeros(len(self), bool)
        m[rows] = True
        return m

    def _annotations(self) -> AnnotationSource | None:
        return self.annotations

    def _detections(self) -> DetectionSource | None:
        return self.detections

    def _integrity(self) -> IntegritySource | None:
        return self.integrity

    def _credentials(self) -> CredentialSource:
        from ..credentials import credentials_of  # it imports this module

        return credentials_of(self)

    def _ip_kinds(self) -> np.ndarray:
        return self.ip_kinds.table()

    def newest_time_ms(self) -> int | None:
        r = self.time_range()
        return None if r is None else r[1]

    def mask_text(self, phrase: str) -> np.ndarray:
        """Rows whose canonical JSON contains `phrase`, case-insensitively (see
        TextSearches.mask)."""
        return self.text.mask(phrase, len(self), self.committed_files())

    def text_backlog(self, phrase: str) -> int:
        """How many committed files `mask_text(phrase)` would still have to search (the
        rest is kept): 0 means it answers at once."""
        return self.text.backlog(phrase, self.committed_files())

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
        return self.committed_files() - (0 if col is None else col.files_done)

    def mask_path(self, path: Path, matcher) -> np.ndarray:
        """Rows where `path` holds a value `matcher` accepts (see pathcols.PathColumn.mask)."""
        return self.path_column(path).mask(len(self), matcher)

    def path_positions(self, col: PathColumn) -> np.ndarray:
        """The time-order position of each entry of `col` (kept until the next commit):
        masks in time order are then one scatter, without a gather through `order`."""
        got = col.positions
        if got is None or got[0] != self.generation or got[1] != len(col.rows):
            positions = self.time_order.ranks()[col.rows]
            got = col.positions = (self.generation, len(col.rows), positions)
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

    # ------------------------------------------------------------------ stats
    def file_states(self) -> dict[str, int]:
        return self.registry.states()

    def file_counts(self) -> tuple[int, int, int]:
        """(files loaded, entries in skipped(), files deleted since loading)."""
        return self.registry.counts()

    def skipped(self) -> list[tuple[str, str]]:
        """Files not (fully) loaded or read leniently, with reasons and counts, and walk
        errors."""
        return self.registry.skipped(self.flags)


class _Gathered:
    """A commit's pending events, coded, concatenated and sifted (dedupe against the
    store and among themselves, the kept ones' ids added to `ids`): what `commit`
    appends and merges. Reads the store, changes nothing of it but `ids`."""

    def __init__(
        self,
        store: Store,
        pending: list[tuple[int, FileBatch]],
        own: dict[int, list[np.ndarray]] | None,
        ids: IdIndex,
    ) -> None:
        batches = [b for _, b in pending]
        self.sizes = [(fid, b.n) for fid, b in pending]
        codes = store.dictionaries.store_codes(batches, own)
        times = np.concatenate([b.times for b in batches])
        eid = np.frombuffer(b"".join(b.eid16 for b in batches), "S16")
        idh = np.concatenate([b.idh for b in batches])
        flags = np.concatenate([b.flags for b in batches])
        file = np.concatenate([np.full(b.n, fid, np.int32) for fid, b in pending])
        line = np.concatenate([np.arange(b.n, dtype=np.int32) for b in batches])
        self.sifted: Sifted = store.deduper.sifted(idh, eid, flags, file, line, ids)
        keep = self.sifted.keep
        if not keep.all():
            codes = codes[:, keep]
            times, eid, idh = times[keep], eid[keep], idh[keep]
            flags, file, line = flags[keep], file[keep], line[keep]
        base = len(store.columns)
        self.rows = np.arange(base, base + len(times), dtype=np.int64)
        self.keys = sort_keys(times, eid)
        self.codes, self.times, self.eid, self.idh = codes, times, eid, idh
        self.flags, self.file, self.line = flags, file, line

    def let_go_of_columns(self) -> None:
        """Drop the concatenated columns once appended (the columns hold copies), so
        they are freed where the commit is prepared: dropped at the publish, they cost
        the UI thread 5-20 ms per commit of a 10M load (~60 MB unmapped). `rows` and
        `sifted` stay for the publish."""
        del self.codes, self.times, self.eid, self.idh, self.flags, self.file, self.line
        del self.keys

    def appended(self) -> tuple[np.ndarray, ...]:
        """`EventColumns.append`'s arguments."""
        return (
            self.codes,
            self.times,
            self.keys,
            self.eid,
            self.idh,
            self.flags,
            self.file,
            self.line,
        )


class StagedCommit:
    """A commit taken by `Store.stage`, prepared by `prepare` on any thread while the
    store's owner keeps reading the store as it was, and made part of it by
    `Store.publish`. `prepare` changes nothing the store's readers can see: the pending
    events are sifted against a fork of the id index, appended to forks of the columns
    (past their committed length, or into new buffers) and merged into a fork of the
    time order (new buffers)."""

    def __init__(
        self,
        store: Store,
        pending: list[tuple[int, FileBatch]],
        own: dict[int, list[np.ndarray]],
    ) -> None:
        self.store = store
        self.pending = pending
        self.own = own
        self.events = sum(b.n for _, b in pending)
        # Forks made here, on the owner's thread (the time order's columns may be built
        # there meanwhile: a fork made in `prepare` could miss one half-way).
        self._columns = store.columns.forked()
        self._order = store.time_order.forked(self._columns)
        self._built = list(store.time_order._columns)
        self.got: _Gathered | None = None
        self.columns: EventColumns | None = None
        self.order: TimeOrder | None = None
        self.line_rows: dict[int, np.ndarray] = {}

    @property
    def ready(self) -> bool:
        """`prepare` has ended: `Store.publish` can take it."""
        return self.order is not None

    def prepare(self) -> None:
        """The work of `Store.commit`, apart from the store (any thread, once)."""
        store = self.store
        if self.order is not None:
            raise RuntimeError("prepare: already prepared")
        got = _Gathered(store, self.pending, self.own, store.deduper.ids.forked())
        columns, order = self._columns, self._order
        columns.append(*got.appended())
        self.line_rows = FileRegistry.line_rows(got.sizes, got.file, got.line, got.rows)
        order.merged_apart(got.rows, got.keys, self._built)
        got.let_go_of_columns()  # freed here, not on the publishing (UI) thread
        self.own = {}  # the value tables: only `_Gathered` read them
        # Columns the owner built meanwhile (a filter typed: `prepare_filter`) would be
        # dropped at the publish and built again in the key that needs them: built
        # here instead. (list() of a dict takes its keys at once, under the GIL.)
        for name in list(store.time_order._columns):
            order.column(name, lend=False)
        self.got, self.columns, self.order = got, columns, order

    def release(self) -> None:
        """Let go of the events and buffers, once published. The explorer's loading
        keeps the garbage collector off, and a thread worker's objects form cycles: a
        published commit they still reached kept its files' events (~1 KB each) and the
        buffers it replaced until the load's end (at 10M events 2.5 GB more at the
        peak)."""
        self.pending, self.own, self.line_rows = [], {}, {}
        self.got = self.columns = self.order = None
        self._columns = self._order = None  # type: ignore[assignment]
