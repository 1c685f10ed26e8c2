"""Path columns: the values of one JSON path for every stored event, computed on first
use and kept, so later filters and facets on the path cost what an indexed field costs.

A column is built from each file's lower-cased free-text corpus (the same text free
text searches): the C scan (`_scan.PathTable`) finds the events holding the path's last
key, walks them along the path and numbers the values, two files at a time without the
GIL; the few events it cannot be sure of, and every event without the C scan, go
through the Python walk (`paths.values`) over their originals, which numbers values the
same way. A column
then holds one (row, code) entry per distinct value per event, rows ascending; events
without a value have none.

Commits do not touch columns: a column notes the files it covers and catches up with
the files committed since when next used (for a live tail, a few new files: ms).

Values are kept lower-cased (matching ignores case). A facet shows each value as an
event spelt it: the original of one event holding it is read when the value is first
shown. Columns are kept least-recently-used first, at most MAX_COLUMNS of them and
about MEMORY_BUDGET bytes in all.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from typing import TYPE_CHECKING

import numpy as np

from . import batch
from .kernels import count_codes
from .paths import CONTAINER, Path, decode_event, needles, raw_key, raw_value, value_in, values
from .textsearch import find_all, inflate, pipelined

if TYPE_CHECKING:
    from .store import Store

try:  # the C scan (tui/core/_scan.c)
    from ._scan import PathTable as _CTable
except ImportError:  # pragma: no cover - built by `pip install`, absent without a compiler
    _CTable = None

__all__ = ["MAX_COLUMNS", "MEMORY_BUDGET", "PathColumn", "PathColumns"]

MAX_COLUMNS = 8
MEMORY_BUDGET = 512 << 20
SPELL_MAX = 2_000  # values spelt from originals at once (see PathColumn.display)
ALL_MAX = 20_000  # "every value" of a path facet (narrowing): the most frequent these
TRIM_AFTER = 64  # files: a scan of more gives back the table's spare room (not a tail's)


class PyTable:
    """`_scan.PathTable` in Python: the same numbering; its scan only picks the candidate
    events, which the Python walk then reads from their originals. Used without the C
    scan, and by tests as the reference."""

    def __init__(self) -> None:
        self.keys: list[bytes] = []
        self.index: dict[bytes, int] = {}
        self.nbytes = 0  # about: the keys and their dict and list entries
        self._lock = threading.Lock()  # scans of two files number values at once

    def __len__(self) -> int:
        return len(self.keys)

    def insert(self, raw: bytes) -> int:
        code = self.index.get(raw)
        if code is None:
            with self._lock:
                code = self.index.get(raw)
                if code is None:
                    code = self.index[raw] = len(self.keys)
                    self.keys.append(raw)
                    self.nbytes += len(raw) + 120
        return code

    def lookup(self, raw: bytes) -> int:
        return self.index.get(raw, -1)

    def raw(self, code: int) -> bytes:
        return self.keys[code]

    def kinds(self, start: int) -> bytes:
        return bytes(k[0] for k in self.keys[start:])

    def blob(self, start: int) -> tuple[bytes, bytes]:
        keys = self.keys[start:]
        lens = np.fromiter((len(k) + 1 for k in keys), np.int64, len(keys))
        offs = np.zeros(len(keys) + 1, np.int64)
        np.cumsum(lens, out=offs[1:])
        return b"".join(k + b"\n" for k in keys), offs.tobytes()

    def scan(self, text: bytes, starts, ends, key: tuple, finds: tuple[bytes, ...]):
        """Only the prefilter: every candidate event goes to the Python walk."""
        s, e = np.frombuffer(starts, np.int64), np.frombuffer(ends, np.int64)
        return b"", b"", _candidates(text, s, e, finds)


def _candidates(text: bytes, s: np.ndarray, e: np.ndarray, finds: tuple[bytes, ...]) -> list[int]:
    if not finds:
        return list(range(len(s)))
    marked = np.zeros(len(s), bool)
    for nd in finds:
        for at in find_all(text, nd):
            k = int(np.searchsorted(s, at, "right")) - 1
            if k >= 0 and at + len(nd) <= e[k]:
                marked[k] = True
    return np.flatnonzero(marked).tolist()


def _scan_file(job: tuple) -> tuple:
    """Worker: one file's (events, codes, fallback events, the text if it is needed)."""
    table, blob, ls, le, segs, finds = job
    text = inflate(blob)
    starts = np.ascontiguousarray(ls, np.int64).tobytes()
    ends = np.ascontiguousarray(le, np.int64).tobytes()
    ev, codes, fallback = table.scan(text, starts, ends, segs, finds)
    return ev, codes, fallback, text if fallback else None


class PathColumn:
    """One path's values over the store's rows (see the module docstring)."""

    def __init__(self, path: Path, native: bool | None = None) -> None:
        self.path = path
        if native is None:
            native = batch._native and _CTable is not None
        self.native = native
        self.table = _CTable() if native else PyTable()
        # The C scan takes keys as lower-cased UTF-8; the Python walk as str.
        self._segs = (
            tuple(s.encode("utf-8", "surrogatepass") if isinstance(s, str) else s for s in path.key)
            if native
            else path.key
        )
        self._finds = needles(path.key)
        self._rows = np.empty(0, np.int32)
        self._codes = np.empty(0, np.int32)
        self._n = 0
        self.first_row = np.empty(0, np.int32)  # per code: a row holding it
        self.files_done = 0  # files [0, files_done) are scanned
        self.lock = threading.Lock()
        self._kinds_done = 0  # codes whose kind was looked at
        self._specials: list[int] = []  # codes matched by decoding (see paths.raw_key)
        self._container = -1  # the code of b"o"
        self._decoded: dict[int, object] = {}
        self._display: dict[int, str] = {}
        self._globs: OrderedDict[object, tuple[int, np.ndarray]] = OrderedDict()
        self._all: tuple[int, np.ndarray, int] | None = None  # (entries, bins, rows with values)
        self.positions: tuple[int, int, np.ndarray] | None = None  # see Store.path_positions
        self.dense: tuple[int, int, np.ndarray] | None = None  # see Store.path_dense
        self.multi = False  # some event holds more than one value

    # ------------------------------------------------------------------ building
    @property
    def rows(self) -> np.ndarray:
        return self._rows[: self._n]

    @property
    def codes(self) -> np.ndarray:
        return self._codes[: self._n]

    @property
    def nbytes(self) -> int:
        return (
            self._rows.nbytes
            + self._codes.nbytes
            + self.first_row.nbytes
            + self.table.nbytes
            + 100 * (len(self._decoded) + len(self._display))
        )

    def backlog(self, store: Store) -> int:
        """Committed files not yet scanned."""
        return store.committed_files() - self.files_done

    def catch_up(self, store: Store) -> None:
        """Scan the files committed since the last call."""
        with self.lock:
            stop = store.committed_files()
            if self.files_done >= stop:
                return
            files = store.files
            todo = [
                fid
                for fid in range(self.files_done, stop)
                if files[fid].line_rows is not None and files[fid].text_low
            ]
            jobs = [
                (
                    self.table,
                    files[f].text_low,
                    files[f].lstarts,
                    files[f].lends,
                    self._segs,
                    self._finds,
                )
                for f in todo
            ]
            parts_r: list[np.ndarray] = []
            parts_c: list[np.ndarray] = []
            scans = pipelined(_scan_file, jobs)
            for fid, (ev, codes, fallback, text) in zip(todo, scans, strict=True):
                fi = files[fid]
                line_rows: np.ndarray = fi.line_rows  # type: ignore[assignment]
                ev_a = np.frombuffer(ev, np.int32)
                rows = line_rows[ev_a]
                c = np.frombuffer(codes, np.int32)
                if fallback:
                    fr, fc = self._walk_fallback(store, fi, text, fallback)
                    rows = np.concatenate([rows, fr])
                    c = np.concatenate([c, fc])
                    order = np.argsort(rows, kind="stable")
                    rows, c = rows[order], c[order]
                keep = rows >= 0  # dropped duplicates
                if not keep.all():
                    rows, c = rows[keep], c[keep]
                if len(rows):
                    parts_r.append(rows.astype(np.int32))
                    parts_c.append(c)
            self.files_done = stop
            if parts_r:
                self._append(np.concatenate(parts_r), np.concatenate(parts_c))
            if len(todo) > TRIM_AFTER and hasattr(self.table, "trim"):
                self.table.trim()  # a first use: up to half its room is spare
            self._note_kinds()

    def scan_lines(
        self, store: Store, fi, text: bytes, lines: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """(rows, codes) of the path's values in some events of one file only: `lines`
        (ascending indexes into the file's events), `text` its inflated lower-cased
        corpus. For a column of chosen events (detection rules' candidates), kept apart
        from the store's; `extend` adds the result. Values are numbered as `catch_up`
        numbers them."""
        ls = np.ascontiguousarray(fi.lstarts[lines], np.int64)
        le = np.ascontiguousarray(fi.lends[lines], np.int64)
        # No needle prefilter: the events are few, and a needle is searched for in the
        # whole text. Thread-safe (the table numbers values under its own lock), so two
        # files can be scanned at once.
        ev, codes, fallback = self.table.scan(text, ls.tobytes(), le.tobytes(), self._segs, ())
        line_rows: np.ndarray = fi.line_rows
        rows = line_rows[lines[np.frombuffer(ev, np.int32)]]
        c = np.frombuffer(codes, np.int32)
        if fallback:
            fr, fc = self._walk_fallback(store, fi, text, lines[fallback].tolist())
            rows = np.concatenate([rows, fr])
            c = np.concatenate([c, fc])
        keep = rows >= 0
        return rows[keep].astype(np.int64), c[keep]

    def extend(self, rows: np.ndarray, codes: np.ndarray) -> None:
        """Add (row, code) entries from `scan_lines`: rows ascending, after those held."""
        order = np.argsort(rows, kind="stable")
        with self.lock:
            self._append(rows[order].astype(np.int32), codes[order].astype(np.int32))
            self._note_kinds()

    def _walk_fallback(
        self, store: Store, fi, text: bytes, events: list[int]
    ) -> tuple[np.ndarray, np.ndarray]:
        """The Python walk over the originals of events the C scan handed back (every
        candidate without the C scan); over the lower-cased text when the original
        is gone."""
        rows: list[int] = []
        codes: list[int] = []
        for k in events:
            row = int(fi.line_rows[k])
            if row < 0:
                continue
            event: object
            try:
                event = store.event(row)
            except Exception:  # the file vanished or changed since it was loaded
                try:
                    event = decode_event(text[fi.lstarts[k] : fi.lends[k]])
                except ValueError:
                    continue
            found = {self.table.insert(raw_key(v)) for v in values(event, self.path.key)}
            for code in sorted(found):
                rows.append(row)
                codes.append(code)
        return np.array(rows, np.int64), np.array(codes, np.int32)

    def _append(self, rows: np.ndarray, codes: np.ndarray) -> None:
        k, n = len(rows), self._n
        if not self.multi and k:
            self.multi = bool((rows[1:] == rows[:-1]).any()) or (
                n > 0 and self._rows[n - 1] == rows[0]
            )
        if n + k > len(self._rows):
            cap = max(n + k, len(self._rows) * 3 // 2)
            for name in ("_rows", "_codes"):
                old = getattr(self, name)
                new = np.empty(cap, np.int32)
                new[:n] = old[:n]
                setattr(self, name, new)
        self._rows[n : n + k] = rows
        self._codes[n : n + k] = codes
        self._n = n + k
        size = len(self.table)
        if len(self.first_row) < size:
            grown = np.full(max(size, len(self.first_row) * 3 // 2), -1, np.int32)
            grown[: len(self.first_row)] = self.first_row
            self.first_row = grown
        fr = self.first_row
        fresh = fr[codes] < 0
        fr[codes[fresh][::-1]] = rows[fresh][::-1]  # the earliest row wins

    # ------------------------------------------------------------------ values
    def _note_kinds(self) -> None:
        size = len(self.table)
        if self._kinds_done >= size:
            return
        kinds = np.frombuffer(self.table.kinds(self._kinds_done), np.uint8)
        special = (kinds == ord("j")) | (kinds == ord("n")) | (kinds == ord("v"))
        self._specials += (self._kinds_done + np.flatnonzero(special)).tolist()
        found = np.flatnonzero(kinds == ord("o"))
        if len(found):
            self._container = self._kinds_done + int(found[0])
        self._kinds_done = size

    def value(self, code: int) -> object:
        """The lower-cased value text of `code` (CONTAINER for a non-empty object)."""
        got = self._decoded.get(code)
        if got is None:
            got = self._decoded[code] = raw_value(self.table.raw(code))
        return got

    def codes_matching(self, matcher) -> np.ndarray:
        """Codes of values `matcher` (a query.ValueMatcher) accepts."""
        self._note_kinds()
        if matcher.parts is None:
            folded = matcher.folded
            found = []
            if raw_key(folded)[:1] == b"s":  # a plain value: one raw key spells it
                c = self.table.lookup(b"s" + folded.encode())
                if c >= 0:
                    found.append(c)
            found += [c for c in self._specials if self._matches_special(c, matcher)]
            return np.array(found, np.int64)
        # Wildcards: a regex over the plain values' raw keys ('s' lines; lower-cased
        # ASCII, where lower-casing and case-folding agree), the others one by one.
        # Codes numbered since the last use of this pattern are the only ones tested.
        done, codes = self._globs.pop(matcher, (0, np.empty(0, np.int64)))
        size = len(self.table)
        kind: str = getattr(matcher, "kind", "")
        if done < size and kind:
            # A /regex/ or a network: each value tested as text (values are lower-cased,
            # and a regex ignores case).
            more = [c for c in range(done, size) if self._matches_special(c, matcher)]
            codes = np.concatenate([codes, np.array(more, np.int64)])
        elif done < size:
            rx = re.compile(
                rb"^s"
                + rb"[^\n]*".join(
                    re.escape(p.casefold().encode("utf-8", "surrogatepass")) for p in matcher.parts
                )
                + rb"$",
                re.M,
            )
            keys, offs = self.table.blob(done)
            starts = np.frombuffer(offs, np.int64)
            at = np.fromiter((m.start() for m in rx.finditer(keys)), np.int64)
            hits = done + np.searchsorted(starts, at)
            more = [c for c in self._specials if c >= done and self._matches_special(c, matcher)]
            codes = np.concatenate([codes, hits, np.array(more, np.int64)])
        self._globs[matcher] = (size, codes)
        if len(self._globs) > 32:
            self._globs.popitem(last=False)
        return codes

    def _matches_special(self, code: int, matcher) -> bool:
        v = self.value(code)
        return v is not CONTAINER and matcher.matches(v)

    # ------------------------------------------------------------------ masks
    def mask(self, n_rows: int, matcher, where: np.ndarray | None = None) -> np.ndarray:
        """Rows (store order, `n_rows` long) whose value `matcher` accepts: `*` any value
        (has:), an exact '' none at all. With `where` (a position per entry, e.g. the
        rows' places in time order), the mask is by those positions instead."""
        rows, codes = (self.rows if where is None else where), self.codes
        if matcher.matches_any_nonempty or (matcher.parts is None and matcher.folded == ""):
            m = np.zeros(n_rows, bool)
            m[rows[rows < n_rows]] = True
            return m if matcher.matches_any_nonempty else ~m
        want = self.codes_matching(matcher)
        m = np.zeros(n_rows, bool)
        if not len(want):
            return m
        if len(want) == 1:
            hit = codes == want[0]
        else:
            lut = np.zeros(len(self.table), bool)
            lut[want] = True
            hit = lut[codes]
        r = rows[hit]
        m[r[r < n_rows]] = True
        return m

    def mask_dense(self, dense: np.ndarray, matcher) -> np.ndarray:
        """`mask` over a dense column (one code + 1 per position, 0 for none; for paths
        with at most one value per event): the compares of an indexed field."""
        if matcher.matches_any_nonempty:
            return dense != 0
        if matcher.parts is None and matcher.folded == "":
            return dense == 0
        want = self.codes_matching(matcher)
        if len(want) == 1:
            return dense == want[0] + 1
        lut = np.zeros(len(self.table) + 1, bool)
        lut[want + 1] = True
        return lut[dense]

    # ------------------------------------------------------------------ facets
    def counts_dense(self, dense: np.ndarray, sel: np.ndarray) -> tuple[np.ndarray, int]:
        """`counts` over the positions `sel` of a dense column (see mask_dense)."""
        c = count_codes(dense, sel, len(self.table) + 1)
        bins = c[1:]
        self._note_kinds()
        if self._container >= 0:
            bins[self._container] = 0
        return bins, len(sel) - int(c[0])

    def counts(self, row_mask: np.ndarray | None) -> tuple[np.ndarray, int]:
        """(count per code, rows with any value) among rows where `row_mask` (store
        order; None: every row) is true. Object values are not counted as values."""
        if row_mask is None:
            if self._all is not None and self._all[0] == self._n:
                return self._all[1], self._all[2]
            bins = np.bincount(self.codes, minlength=len(self.table))
            with_values = _distinct_sorted(self.rows)
            self._note_kinds()
            if self._container >= 0:
                bins[self._container] = 0
            self._all = (self._n, bins, with_values)
            return bins, with_values
        rows = self.rows
        cut = int(np.searchsorted(rows, len(row_mask)))
        sel = row_mask[rows[:cut]]
        bins = np.bincount(self.codes[:cut][sel], minlength=len(self.table))
        self._note_kinds()
        if self._container >= 0:
            bins[self._container] = 0
        return bins, _distinct_sorted(rows[:cut][sel])

    def top(
        self, bins: np.ndarray, with_values: int, total: int, top: int | None, store: Store
    ) -> tuple[list[tuple[str, int]], int]:
        """The `top` (value, count) pairs, most first, each value as an event spelt it,
        '' for the events without a value; and the number of distinct values. `top`
        None stands for ALL_MAX (a path may hold a million values)."""
        top = ALL_MAX if top is None else top
        nz = np.flatnonzero(bins)
        distinct = len(nz)
        if top is not None and len(nz) > top:
            # Ties at the cut are taken first seen first: ordering them by value would
            # decode every tied value (all of them, for a path like requestID).
            cut = np.partition(bins[nz], len(nz) - top)[len(nz) - top]
            above = nz[bins[nz] > cut]
            nz = np.concatenate([above, nz[bins[nz] == cut][: top - len(above)]])
        codes = nz.tolist()
        shown = self.display(codes, store, spell=len(codes) <= SPELL_MAX)
        merged: dict[str, list] = {}  # one row per value (a value may have two raw keys)
        for c in codes:
            v = shown[c]
            row = merged.get(v.casefold())
            if row is None:
                merged[v.casefold()] = [v, int(bins[c])]
            else:
                row[1] += int(bins[c])
        out = [(v, n) for v, n in merged.values()]
        if total > with_values:
            out.append(("", total - with_values))
            distinct += 1
        out.sort(key=lambda vc: (-vc[1], vc[0]))
        return out[:top], distinct

    def display(self, codes: list[int], store: Store, spell: bool = True) -> dict[int, str]:
        """Each code's value as spelt in the original of one event holding it (read once
        per value: originals of files stored as gzip are read back from disk). Without
        `spell`, values not spelt yet are shown lower-cased (every value of a path with
        a million of them, when a facet narrows over all)."""
        out: dict[int, str] = {}
        need: list[tuple[int, int, str]] = []  # (row, code, lower-cased value)
        for c in codes:
            got = self._display.get(c)
            if got is not None:
                out[c] = got
                continue
            v = self.value(c)
            assert isinstance(v, str)  # text: CONTAINER is the one other value
            if v == v.upper():  # nothing a case could change
                out[c] = self._display[c] = v
            elif not spell:
                out[c] = v
            else:
                need.append((int(self.first_row[c]), c, v))
        # By row: events of one file come together and the store reads the file once.
        for row, c, v in sorted(need):
            spelt = None
            try:
                spelt = value_in(store.event(row), self.path.key, v)
            except Exception:  # the original is gone or changed: show it lower-cased
                pass
            out[c] = self._display[c] = spelt if spelt is not None else v
        return out


def _distinct_sorted(rows: np.ndarray) -> int:
    return 0 if not len(rows) else 1 + int(np.count_nonzero(rows[1:] != rows[:-1]))


class PathColumns:
    """The store's path columns, least recently used first, within the limits."""

    def __init__(self, max_columns: int = MAX_COLUMNS, budget: int = MEMORY_BUDGET) -> None:
        self.max_columns = max_columns
        self.budget = budget
        self._cols: OrderedDict[Path, PathColumn] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._cols)

    def __contains__(self, path: Path) -> bool:
        return path in self._cols

    def peek(self, path: Path) -> PathColumn | None:
        return self._cols.get(path)

    def get(self, path: Path) -> PathColumn:
        with self._lock:
            col = self._cols.pop(path, None)
            if col is None:
                col = PathColumn(path)
            self._cols[path] = col
            return col

    def evict(self) -> None:
        """Drop the least recently used columns beyond the limits (never the newest)."""
        with self._lock:
            while len(self._cols) > 1 and (
                len(self._cols) > self.max_columns
                or sum(c.nbytes for c in self._cols.values()) > self.budget
            ):
                self._cols.popitem(last=False)

    def nbytes(self) -> int:
        return sum(c.nbytes for c in self._cols.values())
