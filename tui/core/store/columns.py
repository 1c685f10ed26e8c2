"""The per-event columns: one entry per stored event (a row), in arrival order."""

from __future__ import annotations

import numpy as np

from ..fields import FIELD_INDEX, FIELDS
from .arrays import Column

__all__ = ["EventColumns"]

_ERROR = FIELD_INDEX["error"]
# A field's codes take the narrowest of these that holds its dictionary: most fields
# have a few hundred values at most, and the code columns were 64 of a row's ~120 bytes.
CODE_TYPES = (np.dtype(np.uint8), np.dtype(np.uint16), np.dtype(np.int32))


def code_type(top: int) -> np.dtype:
    """The narrowest code type that holds codes up to `top`."""
    return next(t for t in CODE_TYPES if top <= np.iinfo(t).max)


class EventColumns:
    """Per row: each indexed field's code (into that field's ValueDict; uint8, uint16
    or int32, widened by the append that outgrows it: see CODE_TYPES), the
    time (ms since 1970, NO_TIME for none), the sort key (see ordered.sort_keys), the
    first 16 bytes of the eventID and its 64-bit hash (0: no eventID), the file (its
    id in the file registry) and the record's number in it, and the flags (batch
    HOSTILE, CONFLICT, ...)."""

    __slots__ = ("codes", "times", "keys", "eid", "idh", "file", "line", "flags")

    def __init__(self) -> None:
        self.codes = [Column(CODE_TYPES[0]) for _ in FIELDS]
        self.times = Column(np.int64)
        self.keys = Column(np.uint64)
        self.eid = Column(np.dtype("S16"))
        self.idh = Column(np.uint64)
        self.file = Column(np.int32)
        self.line = Column(np.int32)
        self.flags = Column(np.uint8)

    def __len__(self) -> int:
        return self.times.n

    def all(self) -> tuple[Column, ...]:
        return (
            *self.codes,
            self.times,
            self.keys,
            self.eid,
            self.idh,
            self.file,
            self.line,
            self.flags,
        )

    def forked(self) -> EventColumns:
        """These columns for appending off the owner's thread (`Column.forked`); `adopt`
        takes the appended ones back."""
        got = EventColumns.__new__(EventColumns)
        got.codes = [c.forked() for c in self.codes]
        for name in ("times", "keys", "eid", "idh", "file", "line", "flags"):
            setattr(got, name, getattr(self, name).forked())
        return got

    def adopt(self, fork: EventColumns) -> None:
        """Take the buffers and lengths of `fork` (these columns, appended to)."""
        for mine, theirs in zip(self.all(), fork.all(), strict=True):
            mine.buf, mine.n = theirs.buf, theirs.n

    def reserve(self, rows: int) -> None:
        """Room for `rows` rows in all (each regrowth copies every column)."""
        for col in self.all():
            col.reserve(rows)

    def append(
        self,
        codes: np.ndarray,
        times: np.ndarray,
        keys: np.ndarray,
        eid: np.ndarray,
        idh: np.ndarray,
        flags: np.ndarray,
        file: np.ndarray,
        line: np.ndarray,
    ) -> None:
        """Add rows; `codes` is (fields, rows)."""
        tops = codes.max(axis=1).tolist() if codes.shape[1] else ()
        for f, col in enumerate(self.codes):
            if tops and tops[f] > np.iinfo(col.buf.dtype).max:
                col.widen(code_type(tops[f]))
            col.append(codes[f])
        self.times.append(times)
        self.keys.append(keys)
        self.eid.append(eid)
        self.idh.append(idh)
        self.flags.append(flags)
        self.file.append(file)
        self.line.append(line)

    def values_of(self, name: str | int, rows: np.ndarray) -> np.ndarray:
        """'times', 'errors' (has:error), 'flags' or field index `name` at `rows`."""
        if name == "times":
            return self.times.view[rows]
        if name == "errors":
            return self.codes[_ERROR].view[rows] != 0
        if name == "flags":
            return self.flags.view[rows]
        return self.codes[name].view[rows]  # type: ignore[index]
