"""The query-target masks (`query.QueryTarget`): one bool per event, for each kind of
term, over columns in store order (`Store`) or in time order (`TimeOrdered`)."""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Sequence
from types import SimpleNamespace
from typing import TYPE_CHECKING, Protocol

import numpy as np

from ..batch import CONFLICT, HOSTILE, LENIENT, MALFORMED, NO_ID
from ..fields import FIELD_INDEX, FIELDS
from ..normalize import NO_TIME
from ..paths import Path
from .dictionaries import ValueDict
from .ordered import KEY_TIME_SHIFT as _ID_SHIFT
from .ordered import TIME_MAX, time_key

if TYPE_CHECKING:
    from ..case import Note
    from .store import Store

__all__ = [
    "AnnotationSource",
    "CredentialSource",
    "DetectionSource",
    "IntegritySource",
    "IpKinds",
    "Masks",
    "TimeOrdered",
    "TimeOrderedPart",
    "ip_kind",
]

_NO_ROWS = np.empty(0, np.int64)
# Exact, folded values for is:readonly and is:insight (`_field_codes` reads .parts and
# .folded of a query.ValueMatcher; not imported: query imports this package's users).
_TRUE = SimpleNamespace(parts=None, folded="true")
_INSIGHT = SimpleNamespace(parts=None, folded="awscloudtrailinsight")
# Parts of one view evaluated by a thread pool share the store's lazily built lookups
# (dictionaries' matches, time-ordered columns, the IP kinds): one builds at a time.
_LOOKUPS = threading.RLock()


class AnnotationSource(Protocol):
    """Marks and notes over store rows (`annotations.Annotations` binds a case file):
    what `mark:`, `has:mark` and `has:note` select. Rows are sorted, unique, and below
    the store's row count at the time of the call."""

    def rows_marked(self, matcher=None) -> np.ndarray: ...
    def rows_noted(self) -> np.ndarray: ...
    def label_counts(self, mask: np.ndarray | None = None) -> list[tuple[str, int]]: ...
    def labels_of(self, row: int) -> tuple[str, ...]: ...
    def note_of(self, row: int) -> Note | None: ...


class IntegritySource(Protocol):
    """Each file's state against the trail's digest files (`integrity_view.FileIntegrity`):
    what `is:unverified` selects. Rows are sorted, unique, below the row count."""

    def rows_unverified(self) -> np.ndarray: ...


class DetectionSource(Protocol):
    """Rows flagged by detection rules (`detect.Detections` binds rules to a store): what
    `rule:` and `has:detection` select. Rows are sorted, unique, below the row count."""

    def rows_of_rule(self, matcher=None) -> np.ndarray: ...
    def rows_of_severity(self, lo: int, hi: int) -> np.ndarray: ...
    def counts(self, mask: np.ndarray | None = None) -> list: ...
    def severity_counts(self, mask: np.ndarray | None = None) -> list[tuple[str, int]]: ...


class CredentialSource(Protocol):
    """Minted access keys over store rows (`credentials.CredentialIndex`, made on first
    use): what `minted:` and `descends:` select."""

    def rows_minting(self, matcher) -> np.ndarray: ...
    def key_codes_descending(self, matcher) -> np.ndarray: ...


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


class IpKinds:
    """`ip_kind` of each value of the ip field, by code; extended as values arrive."""

    def __init__(self, values: Sequence[str]) -> None:
        self.values = values
        self._kinds = np.zeros(0, np.uint8)

    def table(self) -> np.ndarray:
        vals = self.values
        n = len(vals)  # once: the loader's thread may add values meanwhile
        if len(self._kinds) < n:
            old = self._kinds
            new = np.zeros(n, np.uint8)
            new[: len(old)] = old
            for c in range(len(old), n):
                new[c] = ip_kind(vals[c])
            self._kinds = new
        return self._kinds


class Masks:
    """The masks of every term, over columns a subclass supplies by the hooks below."""

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

    def _detections(self) -> DetectionSource | None:
        raise NotImplementedError

    def _integrity(self) -> IntegritySource | None:
        raise NotImplementedError

    def _credentials(self) -> CredentialSource:
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

    def _field_codes(self, field: str, matcher) -> list[int]:
        """The codes of `field` whose value `matcher` accepts (the dictionaries keep
        what they looked up)."""
        d = self.dicts[FIELD_INDEX[field]]
        if matcher.parts is None:
            return d.codes_folded(matcher.folded)
        return d.codes_matching(matcher)

    def mask_field(self, field: str, matcher) -> np.ndarray:
        return self.mask_codes(field, self._field_codes(field, matcher))

    def mask_time(self, lo_ms: int | None, hi_ms: int | None) -> np.ndarray:
        t = self._col_times()
        m = t != NO_TIME
        if lo_ms is not None:
            m &= t >= lo_ms
        if hi_ms is not None:
            m &= t < hi_ms
        return m

    _HAS_FLAGS = {
        "controls": HOSTILE,
        "conflict": CONFLICT,
        "lenient": LENIENT,
        "malformed": MALFORMED,
    }

    def has_names(self) -> Sequence[str]:
        return [f.name for f in FIELDS] + [
            "eventid",
            "time",
            *self._HAS_FLAGS,
            "mark",
            "note",
            "detection",
        ]

    def mask_has(self, name: str) -> np.ndarray:
        if name in ("mark", "note"):
            ann = self._annotations()
            if ann is None:
                return self._mask_of_rows(_NO_ROWS)
            return self._mask_of_rows(ann.rows_marked() if name == "mark" else ann.rows_noted())
        if name == "detection":
            return self.mask_rule(None)
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

    def mask_rule(self, matcher) -> np.ndarray:
        """`rule:ID` (a `query.ValueMatcher` on rule ids; None: any rule); `rule:""`
        selects the events no rule flagged. Without detections nothing is flagged."""
        det = self._detections()
        none = matcher is not None and matcher.parts is None and matcher.text == ""
        rows = _NO_ROWS if det is None else det.rows_of_rule(None if none else matcher)
        m = self._mask_of_rows(rows)
        return ~m if none else m

    def mask_severity(self, lo: int, hi: int) -> np.ndarray:
        """`severity:` (ranks [lo, hi] of query.SEVERITY_NAMES): events a rule of such
        a severity flagged. Without detections nothing is flagged."""
        det = self._detections()
        rows = _NO_ROWS if det is None else det.rows_of_severity(lo, hi)
        return self._mask_of_rows(rows)

    # Credential terms (credentials.py): `minted:KEY` the records that minted a key,
    # `descends:KEY` everything done with a key or the keys it minted, transitively.
    def mask_minted(self, matcher) -> np.ndarray:
        return self._mask_of_rows(self._credentials().rows_minting(matcher))

    def mask_descends(self, matcher) -> np.ndarray:
        return self.mask_codes("key", self._credentials().key_codes_descending(matcher).tolist())

    def newest_time_in(self, mask: np.ndarray) -> int | None:
        """The newest event time among the rows of `mask` (for `last:`), or None."""
        t = self._col_times()[mask]
        t = t[t != NO_TIME]
        return int(t.max()) if len(t) else None

    _IS = (
        "ip",
        "ipv4",
        "ipv6",
        "service-ip",
        "internal",
        "readonly",
        "insight",
        "dup-id",
        "unverified",
    )

    def is_names(self) -> Sequence[str]:
        return self._IS

    def mask_is(self, name: str) -> np.ndarray:
        if name in ("ip", "ipv4", "ipv6", "service-ip", "internal"):
            bit = {"ipv4": 1, "ipv6": 2, "ip": 3, "service-ip": 4, "internal": 8}[name]
            return (self._ip_kinds()[self._col_codes(FIELD_INDEX["ip"])] & bit) != 0
        if name == "readonly":
            return self.mask_field("readonly", _TRUE)
        if name == "insight":
            return self.mask_field("eventtype", _INSIGHT)
        if name == "dup-id":
            return (self._col_flags() & CONFLICT) != 0
        if name == "unverified":
            # From files whose digests do not vouch for them; before any check, every
            # event (none has been verified).
            src = self._integrity()
            return self.mask_all() if src is None else self._mask_of_rows(src.rows_unverified())
        raise KeyError(name)


class TimeOrdered(Masks):
    """A store as a query target in time order: mask position i is row `order[i]`.

    A view needs its rows in time order. Masks in store order had to be gathered
    through `order` (1M random reads) and counted by gathering codes at random rows;
    over the store's time-ordered columns (kept up to date by commits, built once per
    column on first use) both become sequential passes.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self.dicts = store.dicts
        self.time_order = store.time_order

    # Masks are new arrays: the columns are only read here, never kept.
    def _col_codes(self, f: int) -> np.ndarray:
        return self.time_order.column(f, lend=False)

    def _col_times(self) -> np.ndarray:
        return self.time_order.column("times", lend=False)

    def _col_flags(self) -> np.ndarray:
        return self.time_order.column("flags", lend=False)

    def _ip_kinds(self) -> np.ndarray:
        return self.store.ip_kinds.table()

    def _mask_of_rows(self, rows: np.ndarray) -> np.ndarray:
        m = np.zeros(len(self.store), bool)
        m[self.time_order.positions(rows)] = True
        return m

    def _annotations(self) -> AnnotationSource | None:
        return self.store.annotations

    def _detections(self) -> DetectionSource | None:
        return self.store.detections

    def _integrity(self) -> IntegritySource | None:
        return self.store.integrity

    def _credentials(self) -> CredentialSource:
        return self.store._credentials()

    def newest_time_in(self, mask: np.ndarray) -> int | None:
        # In time order the newest matching event is at the last True position, unless
        # its sort key was clamped (no time, before 1970, after 2527).
        if not mask.any():
            return None
        t = int(self._col_times()[len(mask) - 1 - int(np.argmax(mask[::-1]))])
        if t <= 0 or t >= TIME_MAX:
            return super().newest_time_in(mask)
        return t

    def row_count(self) -> int:
        return len(self.store)

    def newest_time_ms(self) -> int | None:
        # The newest time is at the end of the order (O(1), where a pass over every
        # row's time cost ~40 ms at 10M), unless the last sort keys are clamped.
        keys = self.time_order.keys.view
        if not len(keys):
            return None
        last = int(keys[-1]) >> _ID_SHIFT
        if 0 < last < TIME_MAX:
            return last
        if last == TIME_MAX:  # times past the year 2527: the largest of that run
            start = int(np.searchsorted(keys, time_key(TIME_MAX), "left"))
            return int(self.time_order.column("times", lend=False)[start:].max())
        return self.store.newest_time_ms()  # every time before 1970 or none

    def time_span(self, lo_ms: int | None, hi_ms: int | None) -> tuple[int, int, bool]:
        """Positions [start, stop) of the order outside which no event is in
        `mask_time(lo_ms, hi_ms)`, by binary search on the sort keys; and whether every
        event inside is (else `mask_time` over the part still decides: events without
        a time, before 1970 or after 2527 share clamped keys at the ends)."""
        keys = self.time_order.keys.view
        if lo_ms is not None and hi_ms is not None and hi_ms <= lo_ms:
            return 0, 0, True
        lo = 0 if lo_ms is None else min(max(lo_ms, 0), TIME_MAX)
        hi = TIME_MAX if hi_ms is None else min(max(hi_ms - 1, 0), TIME_MAX)
        start = int(np.searchsorted(keys, time_key(lo), "left"))
        stop = len(keys) if hi == TIME_MAX else int(np.searchsorted(keys, time_key(hi + 1), "left"))
        stop = max(start, stop)
        # Keys strictly between the clamps are the events' own times.
        exact = start == stop or (
            int(keys[start]) >> _ID_SHIFT > 0 and int(keys[stop - 1]) >> _ID_SHIFT < TIME_MAX
        )
        return start, stop, exact

    def part(self, start: int, stop: int) -> TimeOrderedPart:
        """Positions [start, stop) of the order as a query target (see TimeOrderedPart)."""
        return TimeOrderedPart(self.store, slice(start, stop))

    def at(self, positions: np.ndarray) -> TimeOrderedPart:
        """The ascending `positions` of the order as a query target."""
        return TimeOrderedPart(self.store, positions)

    def mask_text(self, phrase: str) -> np.ndarray:
        return self.store.mask_text(phrase)[self.time_order.order.view]

    def mask_path(self, path: Path, matcher) -> np.ndarray:
        store = self.store
        col = store.path_column(path)
        dense = store.path_dense(col)
        if dense is not None:
            return col.mask_dense(dense, matcher)
        return col.mask(len(store), matcher, store.path_positions(col))


class TimeOrderedPart(TimeOrdered):
    """Some positions of the time order as a query target: mask position i is order
    position `where[i]` (a slice, or ascending positions). A time range's other terms
    are tested over its slice only, a big view's evaluation is split into slices for a
    thread pool, and a term added to a filter is tested at the current view's positions
    only. `last:` needs the newest match over the whole order: not evaluated here."""

    def __init__(self, store: Store, where: slice | np.ndarray) -> None:
        super().__init__(store)
        self.where = where
        if isinstance(where, slice):
            self.start, self.stop = where.start, where.stop
            self.size = where.stop - where.start
        else:
            self.size = len(where)

    def _take(self, col: np.ndarray) -> np.ndarray:
        return col[self.where]

    def _col_codes(self, f: int) -> np.ndarray:
        with _LOOKUPS:
            col = super()._col_codes(f)
        return self._take(col)

    def _col_times(self) -> np.ndarray:
        with _LOOKUPS:
            col = super()._col_times()
        return self._take(col)

    def _col_flags(self) -> np.ndarray:
        with _LOOKUPS:
            col = super()._col_flags()
        return self._take(col)

    def _ip_kinds(self) -> np.ndarray:
        with _LOOKUPS:
            return super()._ip_kinds()

    def _field_codes(self, field: str, matcher) -> list[int]:
        with _LOOKUPS:
            return super()._field_codes(field, matcher)

    def mask_descends(self, matcher) -> np.ndarray:
        with _LOOKUPS:
            codes = self._credentials().key_codes_descending(matcher).tolist()
        return self.mask_codes("key", codes)

    # Terms answered by the case, the rules and the credential index: rows from
    # sources that build what they hold on first use.
    def mask_has(self, name: str) -> np.ndarray:
        if name not in ("mark", "note", "detection"):
            return super().mask_has(name)
        with _LOOKUPS:
            return super().mask_has(name)

    def mask_mark(self, matcher) -> np.ndarray:
        with _LOOKUPS:
            return super().mask_mark(matcher)

    def mask_rule(self, matcher) -> np.ndarray:
        with _LOOKUPS:
            return super().mask_rule(matcher)

    def mask_severity(self, lo: int, hi: int) -> np.ndarray:
        with _LOOKUPS:
            return super().mask_severity(lo, hi)

    def mask_minted(self, matcher) -> np.ndarray:
        with _LOOKUPS:
            return super().mask_minted(matcher)

    def mask_is(self, name: str) -> np.ndarray:
        if name != "unverified":
            return super().mask_is(name)
        with _LOOKUPS:
            return super().mask_is(name)

    def _mask_of_rows(self, rows: np.ndarray) -> np.ndarray:
        with _LOOKUPS:  # the sources' rows, and their places in the order
            pos = self.time_order.positions(rows)
        m = np.zeros(self.size, bool)
        if isinstance(self.where, slice):
            pos = pos[(pos >= self.start) & (pos < self.stop)]
            m[pos - self.start] = True
        else:
            i = np.searchsorted(self.where, pos)
            inside = i < self.size
            i, pos = i[inside], pos[inside]
            m[i[self.where[i] == pos]] = True
        return m

    def row_count(self) -> int:
        return self.size

    def newest_time_in(self, mask: np.ndarray) -> int | None:
        raise NotImplementedError("last: is evaluated over the whole order")

    def mask_text(self, phrase: str) -> np.ndarray:
        with _LOOKUPS:  # searched (and kept) once
            found = self.store.mask_text(phrase)
        return found[self._take(self.time_order.order.view)]

    def mask_path(self, path: Path, matcher) -> np.ndarray:
        store = self.store
        with _LOOKUPS:  # the path's column and its matches are built (and kept) once
            col = store.path_column(path)
            dense = store.path_dense(col)
            if dense is None:
                return self._take(col.mask(len(store), matcher, store.path_positions(col)))
            return col.mask_dense(self._take(dense), matcher)
