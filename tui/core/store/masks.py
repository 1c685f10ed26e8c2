"""The query-target masks (`query.QueryTarget`): one bool per event, for each kind of
term, over columns in store order (`Store`) or in time order (`TimeOrdered`)."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

import numpy as np

from ..batch import CONFLICT, HOSTILE, LENIENT, MALFORMED, NO_ID
from ..fields import FIELD_INDEX, FIELDS
from ..normalize import NO_TIME
from ..paths import Path
from .dictionaries import ValueDict
from .ordered import TIME_MAX

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
    "ip_kind",
]

_NO_ROWS = np.empty(0, np.int64)


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

    def __init__(self, values: list[str]) -> None:
        self.values = values
        self._kinds = np.zeros(0, np.uint8)

    def table(self) -> np.ndarray:
        vals = self.values
        if len(self._kinds) < len(vals):
            old = self._kinds
            new = np.zeros(len(vals), np.uint8)
            new[: len(old)] = old
            for c in range(len(old), len(vals)):
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
            d = self.dicts[FIELD_INDEX["readonly"]]
            return self.mask_codes("readonly", d.codes_folded("true"))
        if name == "insight":
            d = self.dicts[FIELD_INDEX["eventtype"]]
            return self.mask_codes("eventtype", d.codes_folded("awscloudtrailinsight"))
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
        return self.store.newest_time_ms()

    def mask_text(self, phrase: str) -> np.ndarray:
        return self.store.mask_text(phrase)[self.time_order.order.view]

    def mask_path(self, path: Path, matcher) -> np.ndarray:
        store = self.store
        col = store.path_column(path)
        dense = store.path_dense(col)
        if dense is not None:
            return col.mask_dense(dense, matcher)
        return col.mask(len(store), matcher, store.path_positions(col))
