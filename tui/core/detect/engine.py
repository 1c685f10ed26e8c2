"""The detection engine: rules run over a store's rows, at index speed.

A rule's filter is split in two. Its indexed part (fields, flags, `is:`) is a superset
of what it selects and costs what a filter costs (vectorised over code columns). Only
the events that pass it -- the candidates, a few hundred or thousand among a million --
are read for the rest: the JSON paths and free text the filter tests, scanned from those
events' compressed text alone (each file inflated once for every rule), never a path
column over the whole store. The exact filter then runs over the candidates.

Rows are only ever appended to a store, so the engine keeps the rows it has seen and
runs each rule over the new ones: per-event rules over the rows of a commit, aggregate
rules over the groups and times the new matching events touch (aggregate.py).

`Detections` binds rules to a store (`store.detections`): it answers `rule:` and
`has:detection`, the hit counts by rule and severity a facet shows, and what each rule
says about one event (the detail pane).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import orjson

from ..fields import FIELD_INDEX, FIELDS
from ..normalize import NO_TIME, format_time
from ..pathcols import PathColumn
from ..paths import CONTAINER, Path, decode_event
from ..pause import GatedLock, PauseGate, checkpoint, checkpointed
from ..query import And, Not, Or, PathTerm, Query, Text, ValueMatcher
from ..store import Store
from ..store.masks import Masks
from ..textsearch import inflate, pipelined
from . import aggregate as agg_fns
from .checks import run_check
from .rules import SEVERITIES, Rule, severity_rank

__all__ = ["Detections", "Hit"]

_NONE = np.empty(0, np.int64)
_NO_CODES = np.empty(0, np.int32)


def _narrow(rows: np.ndarray, n: int) -> np.ndarray:
    """`rows` (of a store of `n` rows) as int32 when every row number fits."""
    return rows.astype(np.int32) if n <= np.iinfo(np.int32).max else rows


# A rule whose indexed part leaves more candidates than this (at load: a rule testing
# only paths or text) is evaluated over the whole store, through its path columns and
# free-text cache, instead of candidate by candidate.
WHOLE_STORE_MIN = 200_000
_JOIN_EVERY = 64  # Evidence.gather: per-file parts joined this often
# An aggregate over more matched rows than this is run per slice of its groups (groups
# are independent; first-seen pairs too), with a pause checkpoint between slices: one
# np.unique over 10M rows took ~1 s of a core; a `distinct` over 50k rows takes ~9 ms.
AGG_SLICE_ROWS = 50_000
# Passes over an aggregate's matched rows (millions at 10M: gathers of their codes and
# times, the time-order pass, the split into slices) go this many rows at a time, with a
# pause checkpoint between: over 8M rows at once, each kept a core 100-450 ms.
STEP_ROWS = 1 << 18
# ... and where rows stand in the time order is looked up this many at a time (binary
# searches over 10M sort keys, ties resolved in Python: ~1 us a row).
POSITIONS_STEP = 1 << 13
# first-seen pairs (group, value) are dealt to slices by this mix of their two codes.
_PAIR_MIX = 1_000_003
# A rule's indexed part is tested over this many rows at a time, with a pause checkpoint
# between (each term's mask is the row's own): over 1M rows, a rule's test kept a core
# up to ~25 ms.
SUPERSET_SLICE_ROWS = 1 << 19


@dataclass(frozen=True)
class Hit:
    """New hits of one rule (`Detections.take_new`)."""

    rule: Rule
    rows: np.ndarray


# ---------------------------------------------------------------------------- rows
class RowSet(Masks):
    """Some rows of a store (sorted) as a query target: masks are over those rows.
    Indexed fields, flags and times are the store's columns at those rows; path and
    free-text terms are answered from `evidence`, scanned from these events only."""

    def __init__(
        self,
        store: Store,
        rows: np.ndarray,
        evidence: Evidence | None = None,
        span: tuple[int, int] | None = None,
        gate: PauseGate | None = None,
    ) -> None:
        self.store = store
        self.rows = rows
        self.dicts = store.dicts
        self.evidence = evidence
        self.gate = gate  # a wildcard's first test over a field's values yields to it
        # `rows` are the stretch [lo, hi) of the store: columns are sliced, not copied
        # (a take of every code column over 10M rows, rule by rule, was most of the
        # first pass's memory traffic).
        self._span = span
        self._cols: dict[object, np.ndarray] = {}

    def _at(self, col: np.ndarray) -> np.ndarray:
        return col[self._span[0] : self._span[1]] if self._span else col[self.rows]

    def _col_codes(self, f: int) -> np.ndarray:
        got = self._cols.get(f)
        if got is None:
            got = self._cols[f] = self._at(self.store.codes(FIELDS[f].name))
        return got

    def _col_times(self) -> np.ndarray:
        got = self._cols.get("t")
        if got is None:
            got = self._cols["t"] = self._at(self.store.times)
        return got

    def _col_flags(self) -> np.ndarray:
        got = self._cols.get("f")
        if got is None:
            got = self._cols["f"] = self._at(self.store.flags)
        return got

    def _ip_kinds(self) -> np.ndarray:
        return self.store.ip_kinds.table()

    def _field_codes(self, field: str, matcher) -> list[int]:
        if matcher.parts is None:
            return super()._field_codes(field, matcher)
        return self.dicts[FIELD_INDEX[field]].codes_matching(matcher, self.gate)

    def _mask_of_rows(self, rows: np.ndarray) -> np.ndarray:
        return np.isin(self.rows, rows)

    def _annotations(self):
        return self.store.annotations

    def _detections(self):
        return None  # rules never test rules (rules.check_filter)

    def row_count(self) -> int:
        return len(self.rows)

    def newest_time_ms(self) -> int | None:
        return self.store.newest_time_ms()

    def mask_path(self, path: Path, matcher: ValueMatcher) -> np.ndarray:
        if self.evidence is None:
            raise RuntimeError("path terms need evidence")
        return self.evidence.mask_path(path, matcher, self.rows)

    def mask_text(self, phrase: str) -> np.ndarray:
        if self.evidence is None:
            raise RuntimeError("free text needs evidence")
        return self.evidence.mask_text(phrase, self.rows)


def _needle(phrase: str) -> bytes:
    # As Store.mask_text: the phrase as it appears inside a JSON string, lower-cased.
    return orjson.dumps(phrase)[1:-1].decode().lower().encode()


class _FileRows:
    """Row -> (file, line) for committed files, from their public line -> row maps.
    A file's events take one contiguous run of rows at the commit that adds them."""

    def __init__(self) -> None:
        self.firsts = np.empty(0, np.int64)  # first row of each indexed file, ascending
        self.fids = np.empty(0, np.int64)
        self._seen = 0  # files looked at; a file without line_rows yet is looked at again
        self._waiting: list[int] = []
        self._lines: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def update(self, store: Store) -> None:
        fresh = self._waiting + list(range(self._seen, len(store.files)))
        self._seen = len(store.files)
        firsts, fids, waiting = [], [], []
        for fid in fresh:
            lr = store.files[fid].line_rows
            if lr is None:
                waiting.append(fid)
                continue
            kept = lr[lr >= 0]
            if len(kept):
                firsts.append(int(kept[0]))
                fids.append(fid)
        self._waiting = waiting
        if firsts:
            f = np.concatenate([self.firsts, np.array(firsts, np.int64)])
            i = np.concatenate([self.fids, np.array(fids, np.int64)])
            o = np.argsort(f, kind="stable")
            self.firsts, self.fids = f[o], i[o]

    def split(
        self, store: Store, rows: np.ndarray, gate: PauseGate | None = None
    ) -> list[tuple[int, np.ndarray, np.ndarray]]:
        """[(file id, lines, rows)] for sorted `rows`, by file."""
        if not len(rows):
            return []
        at = np.searchsorted(self.firsts, rows, side="right") - 1
        out = []
        cuts = np.flatnonzero(at[1:] != at[:-1]) + 1
        bounds = zip(np.r_[0, cuts].tolist(), np.r_[cuts, len(rows)].tolist(), strict=True)
        for lo, hi in checkpointed(bounds, gate):
            fid = int(self.fids[at[lo]])
            lines, frows = self._file_lines(store, fid)
            part = rows[lo:hi]
            out.append((fid, lines[np.searchsorted(frows, part)], part))
        return out

    def forget_lines(self) -> None:
        """Drop the files' line maps kept during a run (33 MB at 10M events): a file's
        rows come with one commit, so a later run's candidates are in other files."""
        self._lines = {}

    def _file_lines(self, store: Store, fid: int) -> tuple[np.ndarray, np.ndarray]:
        got = self._lines.get(fid)
        if got is None:
            lr = store.files[fid].line_rows
            assert lr is not None  # a file with rows has its lines placed
            lines = np.flatnonzero(lr >= 0)
            got = self._lines[fid] = (lines, lr[lines].astype(np.int64))
            if len(self._lines) > 4096:
                self._lines.pop(next(iter(self._lines)))
        return got


# ---------------------------------------------------------------------------- evidence
class Evidence:
    """The values of JSON paths and the free-text hits of chosen events, scanned from
    their files' lower-cased text (each file inflated once): what the candidates of
    every rule need, gathered in one pass."""

    def __init__(self, store: Store, files: _FileRows, gate: PauseGate | None = None) -> None:
        self.store = store
        self.files = files
        self.gate = gate  # checked before each file is read and after each is taken in
        self.cols: dict[Path, PathColumn] = {}
        self.text_hits: dict[bytes, np.ndarray] = {}  # needle -> sorted rows holding it
        self._want_paths: dict[Path, list[np.ndarray]] = {}
        self._want_text: dict[bytes, list[np.ndarray]] = {}
        self._want_events: list[np.ndarray] = []
        self._events: dict[int, bytes] = {}

    def want(
        self, rows: np.ndarray, paths: Iterable[Path], phrases: Iterable[str], events: bool = False
    ) -> None:
        """Gather the values of `paths`, the hits of `phrases` and (with `events`) the
        whole events, of `rows`, at the next `gather`."""
        for p in paths:
            self._want_paths.setdefault(p, []).append(rows)
        for ph in phrases:
            self._want_text.setdefault(_needle(ph), []).append(rows)
        if events:
            self._want_events.append(rows)

    def event(self, row: int) -> object:
        """A gathered event, decoded from its lower-cased text (keys and values lower-
        cased); {} if it does not decode."""
        try:
            return decode_event(self._events[row])
        except (KeyError, ValueError):
            return {}

    def gather(self) -> None:
        if not self._want_paths and not self._want_text and not self._want_events:
            return
        store = self.store
        paths = {p: merge(v) for p, v in self._want_paths.items()}
        texts = {n: merge(v) for n, v in self._want_text.items()}
        whole = merge(self._want_events)
        self._want_paths, self._want_text, self._want_events = {}, {}, []
        # Per file, what to read in it: (path, lines) to scan, (needle, lines, rows) to
        # search, (lines, rows) to keep whole.
        work: dict[int, tuple[list, list, list]] = {}
        gate = self.gate
        for p, want in paths.items():
            col = self.cols.setdefault(p, PathColumn(p))
            for fid, lines, _rows in self.files.split(store, want, gate):
                work.setdefault(fid, ([], [], []))[0].append((col, lines))
        for needle, want in texts.items():
            for fid, lines, rows in self.files.split(store, want, gate):
                work.setdefault(fid, ([], [], []))[1].append((needle, lines, rows))
        for fid, lines, rows in self.files.split(store, whole, gate):
            work.setdefault(fid, ([], [], []))[2].append((lines, rows))
        checkpoint(gate)
        jobs: list[tuple | None] = [
            (store.files[fid], *w) for fid, w in sorted(work.items()) if store.files[fid].text_low
        ]
        del work  # the jobs hold its lists now: each is freed once its file is read

        def read(job):
            # In a worker thread: inflating and the C scans run without the GIL.
            checkpoint(gate)
            fi, scans, finds, keeps = job
            text = inflate(fi.text_low)
            ls, le = fi.lstarts, fi.lends
            found = [(col, col.scan_lines(store, fi, text, lines)) for col, lines in scans]
            hits = [
                (
                    needle,
                    rows[[text.find(needle, int(ls[k]), int(le[k])) >= 0 for k in lines.tolist()]],
                )
                for needle, lines, rows in finds
            ]
            kept = [
                (int(r), text[int(ls[k]) : int(le[k])])
                for lines, rows in keeps
                for k, r in zip(lines.tolist(), rows.tolist(), strict=True)
            ]
            return found, hits, kept

        # Tens of thousands of small arrays per 1M events (a file's values per path, its
        # lines per scan): freed at the end in one go they held the GIL ~30 ms at 1M and
        # ~250 ms at 10M, so each file's job is dropped once read and the parts are
        # joined every _JOIN_EVERY files.
        by_col: dict[int, tuple[PathColumn, list, list]] = {}
        by_needle: dict[bytes, list[np.ndarray]] = {}
        for i, (found, hits, kept) in enumerate(pipelined(read, jobs)):
            jobs[i] = None  # submitted already (pipelined reads ahead of this)
            checkpoint(gate)
            for col, (r, c) in found:
                got = by_col.setdefault(id(col), (col, [], []))
                got[1].append(r)
                got[2].append(c)
                if len(got[1]) >= _JOIN_EVERY:
                    got[1][:] = [np.concatenate(got[1])]
                    got[2][:] = [np.concatenate(got[2])]
            for needle, rows in hits:
                parts = by_needle.setdefault(needle, [])
                parts.append(rows)
                if len(parts) >= _JOIN_EVERY:
                    parts[:] = [np.concatenate(parts)]
            self._events.update(kept)
        for col, rs, cs in by_col.values():
            col.extend(np.concatenate(rs), np.concatenate(cs))
        for needle, parts in by_needle.items():
            old = self.text_hits.get(needle, _NONE)
            self.text_hits[needle] = merge([old, *parts])

    def _entries(self, path: Path, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(position in `rows`, code) of each value of `path` in those rows."""
        col = self.cols.get(path)
        if col is None or not len(col.rows):
            return _NONE, _NONE
        crows = col.rows.astype(np.int64)
        pos = np.searchsorted(rows, crows)
        pos_ok = np.minimum(pos, len(rows) - 1)
        inside = (pos < len(rows)) & (rows[pos_ok] == crows)
        return pos[inside], col.codes[inside]

    def mask_path(self, path: Path, matcher: ValueMatcher, rows: np.ndarray) -> np.ndarray:
        """As `PathColumn.mask`, over `rows` (whose values were gathered)."""
        pos, codes = self._entries(path, rows)
        m = np.zeros(len(rows), bool)
        if matcher.matches_any_nonempty or (matcher.parts is None and matcher.folded == ""):
            m[pos] = True
            return m if matcher.matches_any_nonempty else ~m
        if len(codes):
            want = self.cols[path].codes_matching(matcher)
            m[pos[np.isin(codes, want)]] = True
        return m

    def mask_text(self, phrase: str, rows: np.ndarray) -> np.ndarray:
        needle = _needle(phrase)
        if not needle:
            return np.ones(len(rows), bool)
        return np.isin(rows, self.text_hits.get(needle, _NONE))

    def values(self, path: Path, rows: np.ndarray) -> list[list[str]]:
        """The lower-cased values of `path` in each of `rows` (objects left out)."""
        out: list[list[str]] = [[] for _ in range(len(rows))]
        pos, codes = self._entries(path, rows)
        col = self.cols.get(path)
        for p, c in zip(pos.tolist(), codes.tolist(), strict=True):
            v = col.value(c)  # type: ignore[union-attr]
            if v is not CONTAINER:
                out[p].append(v)
        return out


def merge(parts: Sequence[np.ndarray]) -> np.ndarray:
    """The sorted union of row arrays. Sorting and dropping repeats: numpy 2's
    hash-based `np.unique` took ~17 ms for 200k rows here, a sort of sorted runs ~2."""
    parts = [p for p in parts if len(p)]
    if not parts:
        return _NONE
    if len(parts) == 1:
        return parts[0]
    c = np.concatenate(parts)
    c.sort(kind="stable")
    keep = np.ones(len(c), bool)
    keep[1:] = c[1:] != c[:-1]
    return c[keep]


def member(values: np.ndarray, few: np.ndarray) -> np.ndarray:
    """`np.isin(values, few)` for a few wanted values among many: a binary search per
    value instead of sorting them all (the new events' groups among a million)."""
    few = np.unique(few)
    if not len(few):
        return np.zeros(len(values), bool)
    pos = np.minimum(np.searchsorted(few, values), len(few) - 1)
    return few[pos] == values


# ---------------------------------------------------------------------------- superset
def _expensive(node) -> bool:
    if isinstance(node, (PathTerm, Text)):
        return True
    if isinstance(node, Not):
        return _expensive(node.child)
    if isinstance(node, (And, Or)):
        return any(_expensive(c) for c in node.children)
    return False


def superset(node, target) -> np.ndarray | None:
    """A mask of the rows `node` may select, from its indexed part alone (None: no
    limit). Exact when the node tests no path and no free text."""
    if not _expensive(node):
        return Query("", node).evaluate(target)
    if isinstance(node, And):
        cheap = [c for c in node.children if not _expensive(c)]
        acc = superset(And(tuple(cheap)) if len(cheap) > 1 else cheap[0], target) if cheap else None
        for c in node.children:
            if _expensive(c) and (acc is None or acc.any()):
                m = superset(c, target)
                if m is not None:
                    acc = m if acc is None else acc & m
        return acc
    if isinstance(node, Or):
        acc = None
        for c in node.children:
            m = superset(c, target)
            if m is None:
                return None
            acc = m if acc is None else acc | m
        return acc
    return None  # a path or free-text term, or NOT of one


# ---------------------------------------------------------------------------- engine
class Detections:
    """`rules` over the rows of `store`; sets `store.detections`.

    Reads sync first: rows committed since the last read are run through every rule, so
    results are current whenever they are asked for. A lock makes reads safe from the
    explorer's view worker while its UI thread commits (the store itself is only ever
    mutated by one thread)."""

    def __init__(self, store: Store, rules: Sequence[Rule], keep_new: bool = True) -> None:
        """`keep_new`: keep each run's new hits for `take_new` (the detect command's
        follow mode); the explorer reads the hits themselves and keeps none."""
        self.store = store
        self.rules: list[Rule] = sorted(rules, key=lambda r: (-r.rank, r.id))
        self.by_id = {r.id: r for r in self.rules}
        self.version = 0  # bumped whenever hits change
        self.seconds: dict[str, float] = {}  # time spent per rule (all syncs), for benchmarks
        self._lock = GatedLock()  # held by a run; a reader waiting on it opens its gate
        self._gate: PauseGate | None = None  # the gate of the run under way
        self._hits: dict[str, np.ndarray] = {r.id: _NONE for r in self.rules}
        # Aggregate rules: the rows their filter selects, int32 when the store's rows fit
        # (`_narrow`: 72 of 144 MB at 10M events); each run works on them as int64.
        self._matched: dict[str, np.ndarray] = {}
        # ... and those rows' group codes, extended with them: `explain` compares these
        # instead of gathering a code per matched row (millions at 10M) on the UI thread.
        self._matched_groups: dict[str, np.ndarray] = {}
        self._group_first: dict[str, np.ndarray] = {}  # first-seen: first time per group code
        self._upto = 0
        self._files = _FileRows()
        self._keep_new = keep_new
        self._fresh: list[Hit] = []
        self._union: tuple[int, np.ndarray] | None = None
        self._best: tuple[int, np.ndarray] | None = None
        store.detections = self

    # ---------------------------------------------------------------- running
    def sync(self, gate: PauseGate | None = None) -> None:
        """Run the rules over the rows committed since the last call; with `gate`, the
        run waits at its checkpoints while the gate is closed (tui/core/pause.py)."""
        with self._lock.holding(gate):
            n = len(self.store)
            if n <= self._upto:
                return
            lo, self._upto = self._upto, n
            outer, self._gate = self._gate, gate
            try:
                self._run(lo, n)
            finally:
                self._gate = outer

    def take_new(self) -> list[Hit]:
        """Hits found since the last call (each hit once), by rule."""
        with self._lock:
            self.sync()
            fresh, self._fresh = self._fresh, []
        by: dict[str, list[np.ndarray]] = {}
        for h in fresh:
            by.setdefault(h.rule.id, []).append(h.rows)
        return [Hit(self.by_id[k], merge(v)) for k, v in by.items()]

    def _run(self, lo: int, hi: int) -> None:
        store = self.store
        gate = self._gate
        self._files.update(store)
        rows = np.arange(lo, hi, dtype=np.int64)
        step = SUPERSET_SLICE_ROWS
        bases = [
            RowSet(
                store, rows[a - lo : min(hi, a + step) - lo], span=(a, min(hi, a + step)), gate=gate
            )
            for a in range(lo, hi, step)
        ]
        evidence = Evidence(store, self._files, gate)
        plans: list[tuple[Rule, np.ndarray, bool]] = []  # (rule, candidates, exact yet)
        for rule in self.rules:
            checkpoint(gate)
            t0 = time.perf_counter()
            root = rule.query.root
            cands = self._candidates(root, bases, rows)
            needs_scan = _expensive(root)
            if needs_scan and len(cands) > WHOLE_STORE_MIN:
                cands = rows[rule.query.evaluate(store)[lo:hi]]
                needs_scan = False
            if len(cands) and (needs_scan or rule.checks):
                evidence.want(
                    cands,
                    rule.paths() if needs_scan else {p for c in rule.checks for p in c.paths},
                    rule.query.text_pieces() if needs_scan else (),
                    events=any(c.kind == "public-policy" for c in rule.checks),
                )
            plans.append((rule, cands, not needs_scan))
            self._clock(rule, t0)
        t0 = time.perf_counter()
        evidence.gather()
        self.seconds["(reading candidates)"] = (
            self.seconds.get("(reading candidates)", 0.0) + time.perf_counter() - t0
        )
        changed = False
        for rule, cands, exact in plans:
            checkpoint(gate)
            t0 = time.perf_counter()
            if len(cands) and not exact:
                cands = cands[rule.query.evaluate(RowSet(store, cands, evidence, gate=gate))]
            for check in rule.checks:
                if len(cands):
                    cands = cands[run_check(check, store, evidence, cands, gate)]
            if rule.aggregate is None:
                if len(cands):
                    self._hits[rule.id] = np.concatenate([self._hits[rule.id], cands])
                    self._note_new(rule, cands)
                    changed = True
            else:
                changed |= self._aggregate(rule, cands)
            self._clock(rule, t0)
        self._files.forget_lines()  # the next run's candidates are in newer files
        if changed:
            self.version += 1
            self._union = None

    def _note_new(self, rule: Rule, rows: np.ndarray) -> None:
        if self._keep_new:
            self._fresh.append(Hit(rule, rows))

    def _candidates(self, root, bases: list[RowSet], rows: np.ndarray) -> np.ndarray:
        """`rows[superset(root, ...)]` (`rows` when it sets no limit), over the rows of
        `bases` (consecutive stretches of `rows`), one stretch at a time."""
        parts = []
        for i, base in enumerate(bases):
            if i:
                checkpoint(self._gate)
            m = superset(root, base)
            if m is None:
                return rows  # no limit: the same for every stretch
            parts.append(base.rows[m])
        return self._joined(parts)

    def _joined(self, parts: list[np.ndarray]) -> np.ndarray:
        """`np.concatenate(parts)`, copied STEP_ROWS at a time with checkpoints between
        (8M candidates at once: ~50 ms of a core)."""
        total = sum(len(p) for p in parts)
        if len(parts) == 1 or total <= STEP_ROWS:
            return parts[0] if len(parts) == 1 else np.concatenate(parts)
        out = np.empty(total, parts[0].dtype)
        at = 0
        for p in parts:
            for lo in range(0, len(p), STEP_ROWS):
                checkpoint(self._gate)
                piece = p[lo : lo + STEP_ROWS]
                out[at : at + len(piece)] = piece
                at += len(piece)
        return out

    def _clock(self, rule: Rule, t0: float) -> None:
        self.seconds[rule.id] = self.seconds.get(rule.id, 0.0) + time.perf_counter() - t0

    def _aggregate(self, rule: Rule, new: np.ndarray) -> bool:
        a = rule.aggregate
        assert a is not None
        old_matched = self._matched.get(rule.id, _NONE)
        if not len(new):
            self._matched.setdefault(rule.id, old_matched)
            return False
        store = self.store
        gcol = store.codes(a.group)
        new_groups = self._take(gcol, new)
        old_groups = self._matched_groups.get(rule.id, _NO_CODES)
        first = not len(old_matched)
        with self._lock:  # at first the new rows are all (no copy of millions)
            matched = new if first else np.concatenate([old_matched, new])
            matched = matched.astype(np.int64, copy=False)
            self._matched[rule.id] = _narrow(matched, len(store))
            self._matched_groups[rule.id] = (
                new_groups if first else np.concatenate([old_groups, new_groups])
            )
        times = store.times
        affected = None if first else np.unique(new_groups)
        if a.kind == "first-seen":
            return self._first_seen(rule, matched, new, new_groups, first)
        if affected is None:
            sel = matched
        else:  # the affected groups' rows, found in steps (millions matched at 10M)
            groups = self._matched_groups[rule.id]
            sel = matched[self._stepped(len(matched), lambda a, b: member(groups[a:b], affected))]
        checkpoint(self._gate)
        if not first:
            tn = times[new]
            tn = tn[tn != NO_TIME]
            if not len(tn):
                return False
            span = 2 * a.window_ms
            t = times[sel]
            sel = sel[(t >= tn.min() - span) & (t <= tn.max() + span)]
        sel = self._time_ordered(sel)
        checkpoint(self._gate)
        if a.kind == "threshold":
            found = self._by_groups(agg_fns.threshold, sel, (times, gcol), a.count, a.window_ms)
        else:
            cols = (times, gcol, store.codes(a.field))
            found = self._by_groups(agg_fns.distinct, sel, cols, a.count, a.window_ms)
        checkpoint(self._gate)
        old = self._hits[rule.id]
        if not len(old):
            return self._set_hits(rule, old, found, found)
        if a.kind == "threshold":
            return self._set_hits(rule, old, merge([old, found]), found)  # windows only fill
        # A late event may come before a value's first use in a window: the affected
        # groups' hits are replaced over the windows the new events touch (whose events
        # `sel` holds whole).
        assert affected is not None  # old hits: not the first run
        drop = member(gcol[old], affected)
        lo_t, hi_t = tn.min() - a.window_ms, tn.max() + a.window_ms
        ot, ft = times[old], times[found]
        drop &= (ot >= lo_t) & (ot <= hi_t)
        found = found[(ft >= lo_t) & (ft <= hi_t)]
        return self._set_hits(rule, old, merge([old[~drop], found]), found)

    def _set_hits(self, rule: Rule, old: np.ndarray, hits: np.ndarray, found: np.ndarray) -> bool:
        fresh = np.setdiff1d(found, old, assume_unique=True) if len(old) else found
        self._hits[rule.id] = hits
        if len(fresh):
            self._note_new(rule, fresh)
        return len(fresh) > 0 or len(hits) != len(old)

    def _first_seen(
        self, rule: Rule, matched: np.ndarray, new: np.ndarray, new_groups: np.ndarray, first: bool
    ) -> bool:
        """First-seen values. At first over every matching event; later, only the pairs
        (group, value) the new events hold, and the groups whose first time they moved
        earlier, are counted again (their old hits replaced): a late event may come
        before a value's first use. Each group's first time is kept (`_group_first`), so
        pairs are independent: they are dealt to slices, not their groups (a principal
        with 250k events at 10M would be one slice)."""
        a = rule.aggregate
        assert a is not None
        store = self.store
        gcol, vcol, times = store.codes(a.group), store.codes(a.field), store.times
        size = len(store.values(a.group))
        old_first = self._group_first.get(rule.id)
        gfirst = agg_fns.group_first_times(_NONE, _NO_CODES, size, old_first)
        for lo in range(0, len(new), STEP_ROWS):
            checkpoint(self._gate)
            part = new[lo : lo + STEP_ROWS]
            agg_fns.lower_first_times(gfirst, times[part], new_groups[lo : lo + STEP_ROWS])
        self._group_first[rule.id] = gfirst
        old = self._hits[rule.id]
        checkpoint(self._gate)
        cols = (times, gcol, vcol)
        if first:
            sel = self._time_ordered(matched)
            checkpoint(self._gate)
            found = self._by_groups(agg_fns.first_seen, sel, cols, a.after_ms, gfirst, pairs=True)
            return self._set_hits(rule, old, found, found)
        assert old_first is not None  # set by the first run
        new_pairs = (new_groups.astype(np.int64) << 32) | vcol[new]
        moved = np.flatnonzero(gfirst[: len(old_first)] < old_first)  # groups seen earlier now
        groups = self._matched_groups[rule.id]

        def touched(a: int, b: int) -> np.ndarray:
            g = groups[a:b]
            hit = member((g.astype(np.int64) << 32) | vcol[matched[a:b]], new_pairs)
            if len(moved):
                hit |= member(g, moved)
            return hit

        sel = self._time_ordered(matched[self._stepped(len(matched), touched)])
        checkpoint(self._gate)
        found = self._by_groups(agg_fns.first_seen, sel, cols, a.after_ms, gfirst, pairs=True)
        old_pairs = (gcol[old].astype(np.int64) << 32) | vcol[old]
        drop = member(old_pairs, new_pairs)
        if len(moved):
            drop |= member(gcol[old], moved)
        return self._set_hits(rule, old, merge([old[~drop], found]), found)

    def _by_groups(
        self, fn, rows: np.ndarray, cols: tuple[np.ndarray, ...], *args, pairs: bool = False
    ) -> np.ndarray:
        """`fn(rows, times, groups, *values, *args)` (an aggregate.py function: sorted
        rows) over `rows` (in time order) and the store columns `cols` (times, groups,
        values...) at those rows, run over each slice of the groups (with `pairs`, of
        the (group, value) pairs) when the rows are many, with a pause checkpoint
        between slices; what each group (pair) flags depends on its own events alone,
        so the union of the slices' rows is the whole run's."""
        if len(rows) <= AGG_SLICE_ROWS:
            return fn(rows, *(c[rows] for c in cols), *args)
        k = min(-(-len(rows) // AGG_SLICE_ROWS), 1 << 15)
        # Each slice's rows, in time order: dealt out STEP_ROWS at a time (a stable sort
        # of 16-bit slice numbers is a radix sort).
        pieces: list[list[np.ndarray]] = [[] for _ in range(k)]
        for lo in range(0, len(rows), STEP_ROWS):
            checkpoint(self._gate)
            r = rows[lo : lo + STEP_ROWS]
            key = cols[1][r].astype(np.int64)
            if pairs:
                key = key * _PAIR_MIX + cols[2][r]
            part = (key % k).astype(np.uint16)
            o = np.argsort(part, kind="stable")
            cuts = np.cumsum(np.bincount(part, minlength=k))[:-1]
            for i, piece in enumerate(np.split(r[o], cuts)):
                pieces[i].append(piece)
        out = []
        for i in range(k):
            checkpoint(self._gate)
            at = np.concatenate(pieces[i])
            pieces[i] = []
            if len(at):
                out.append(fn(at, *(c[at] for c in cols), *args))
        return self._merged(out)

    def _merged(self, parts: list[np.ndarray]) -> np.ndarray:
        """The sorted union of row arrays (`merge`), STEP_ROWS at a time when they are
        many: marked in a mask over the store, then read back in order (sorting a
        million flagged rows at once kept a core ~60 ms at 10M)."""
        total = sum(len(p) for p in parts)
        if total <= STEP_ROWS:
            checkpoint(self._gate)
            return merge(parts)
        n = len(self.store)
        m = np.zeros(n, bool)
        for p in parts:
            for lo in range(0, len(p), STEP_ROWS):
                checkpoint(self._gate)
                m[p[lo : lo + STEP_ROWS]] = True
        out = np.empty(total, np.int64)
        at = 0
        for lo in range(0, n, STEP_ROWS * 4):
            checkpoint(self._gate)
            got = lo + np.flatnonzero(m[lo : lo + STEP_ROWS * 4])
            out[at : at + len(got)] = got
            at += len(got)
        return out[:at]

    def _stepped(self, n: int, part) -> np.ndarray:
        """A mask of n rows, `part(a, b)` giving rows [a, b): STEP_ROWS at a time with
        checkpoints between."""
        out = np.empty(n, bool)
        for lo in range(0, n, STEP_ROWS):
            checkpoint(self._gate)
            hi = min(n, lo + STEP_ROWS)
            out[lo:hi] = part(lo, hi)
        return out

    def _take(self, col: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """`col[rows]`, STEP_ROWS at a time with checkpoints between."""
        if len(rows) <= STEP_ROWS:
            return col[rows]
        out = np.empty(len(rows), col.dtype)
        for lo in range(0, len(rows), STEP_ROWS):
            checkpoint(self._gate)
            np.take(col, rows[lo : lo + STEP_ROWS], out=out[lo : lo + STEP_ROWS])
        return out

    def _time_ordered(self, rows: np.ndarray) -> np.ndarray:
        """`rows` (unique) in the store's time order (time, eventID, arrival), worked
        out STEP_ROWS at a time with checkpoints between."""
        store = self.store
        n = len(store)
        gate = self._gate
        if len(rows) * 64 <= n:  # few: sorted by where each stands in the order
            pos = np.empty(len(rows), np.int64)
            for lo in range(0, len(rows), POSITIONS_STEP):
                checkpoint(gate)
                pos[lo : lo + POSITIONS_STEP] = store.positions_in_order(
                    rows[lo : lo + POSITIONS_STEP]
                )
            checkpoint(gate)
            return rows[np.argsort(pos, kind="stable")]
        # Many: a pass over the store's order picking them.
        m = np.zeros(n, bool)
        for lo in range(0, len(rows), STEP_ROWS):
            checkpoint(gate)
            m[rows[lo : lo + STEP_ROWS]] = True
        out = np.empty(len(rows), np.int64)  # filled as it goes (its pages too)
        at = 0
        for lo in range(0, n, STEP_ROWS):
            checkpoint(gate)
            o = store.order_at(np.arange(lo, min(n, lo + STEP_ROWS)))
            got = o[m[o]]
            out[at : at + len(got)] = got
            at += len(got)
        return out[:at]

    # ---------------------------------------------------------------- reads
    def hits(self, rule_id: str) -> np.ndarray:
        """The rows the rule flagged, sorted."""
        with self._lock:
            self.sync()
            return self._hits[rule_id]

    def rows_of_rule(self, matcher: ValueMatcher | None = None) -> np.ndarray:
        """Rows flagged by any rule whose id `matcher` accepts (None: any rule); sorted,
        unique. What `rule:` and `has:detection` select."""
        with self._lock:
            self.sync()
            if matcher is None:
                if self._union is None or self._union[0] != self.version:
                    self._union = (self.version, merge(list(self._hits.values())))
                return self._union[1]
            parts = [h for rid, h in self._hits.items() if len(h) and matcher.matches(rid)]
        return merge(parts)

    def rows_of_severity(self, lo: int, hi: int) -> np.ndarray:
        """Rows flagged by any rule whose severity rank is in [lo, hi]; sorted, unique.
        What `severity:` selects."""
        with self._lock:
            self.sync()
            parts = [h for r in self.rules if lo <= r.rank <= hi and len(h := self._hits[r.id])]
        return merge(parts)

    def rules_of(self, row: int) -> list[Rule]:
        """The rules that flagged the row, most severe first."""
        with self._lock:
            self.sync()
            out = []
            for r in self.rules:
                h = self._hits[r.id]
                if len(h):
                    k = int(np.searchsorted(h, row))
                    if k < len(h) and h[k] == row:
                        out.append(r)
            return out

    def counts(self, mask: np.ndarray | None = None) -> list[tuple[Rule, int]]:
        """(rule, flagged events) among the rows where `mask` (store order) is True, or
        among all rows; rules without hits left out; most severe, then most hits first."""
        with self._lock:
            self.sync()
            out = []
            for r in self.rules:
                h = self._hits[r.id]
                if mask is not None:
                    h = h[h < len(mask)]
                    h = h[mask[h]]
                if len(h):
                    out.append((r, len(h)))
        out.sort(key=lambda rc: (-rc[0].rank, -rc[1], rc[0].id))
        return out

    def _ranks(self) -> np.ndarray:
        """Per store row: the rank of the most severe rule that flagged it, -1 for none
        (kept until the hits or the store change)."""
        n = len(self.store)
        got = self._best
        if got is None or got[0] != self.version or len(got[1]) != n:
            best = np.full(n, -1, np.int8)
            for r in sorted(self.rules, key=lambda r: r.rank):  # the most severe last
                h = self._hits[r.id]
                best[h[h < n]] = r.rank
            got = self._best = (self.version, best)
        return got[1]

    def severity_of(self, rows: np.ndarray) -> list[str]:
        """Per row, the severity of the most severe rule that flagged it, '' for none:
        the list's marker, for the rows on screen at once."""
        with self._lock:
            self.sync()
            ranks = self._ranks()[np.asarray(rows, np.int64)]
        return [SEVERITIES[k] if k >= 0 else "" for k in ranks.tolist()]

    def severity_counts(self, mask: np.ndarray | None = None) -> list[tuple[str, int]]:
        """(severity, flagged events), most severe first: an event flagged by several
        rules counts once, under the most severe."""
        with self._lock:
            self.sync()
            ranks = self._ranks()
        if mask is not None:
            ranks = ranks[: len(mask)][mask[: len(ranks)]]
        tally = np.bincount(ranks[ranks >= 0].astype(np.int64), minlength=len(SEVERITIES))
        return [
            (SEVERITIES[i], int(tally[i])) for i in range(len(SEVERITIES) - 1, -1, -1) if tally[i]
        ]

    def explain(self, row: int, rule: Rule) -> str:
        """Why `rule` flagged `row`, in a sentence (values are raw: sanitise to show)."""
        a = rule.aggregate
        if a is None:
            text = f"matched {rule.filter}"
            if rule.checks:
                text += "; " + "; ".join(c.describe() for c in rule.checks)
            return text
        store = self.store
        with self._lock:
            matched = self._matched.get(rule.id, _NONE)
            groups = self._matched_groups.get(rule.id, _NO_CODES)
        gcode = store.codes(a.group)[row]
        who = store.value(row, a.group)
        mine = matched[groups == gcode]
        t = store.times[mine]
        tr = store.time_ms(row)
        if a.kind == "first-seen":
            first = int(t[t != NO_TIME].min()) if len(t) else tr
            return (
                f"first {a.field} {store.value(row, a.field)!r} for {a.group} {who!r}, "
                f"seen since {format_time(first)} ({a.describe()})"
            )
        near = mine[(t >= tr - a.window_ms) & (t <= tr + a.window_ms)]
        if a.kind == "threshold":
            return (
                f"{len(near)} such events by {a.group} {who!r} within "
                f"{format_time(tr - a.window_ms)} .. {format_time(tr + a.window_ms)} "
                f"({a.describe()})"
            )
        vals = np.unique(store.codes(a.field)[near])
        return (
            f"{len(vals)} distinct {a.field} values by {a.group} {who!r} within "
            f"{format_time(tr - a.window_ms)} .. {format_time(tr + a.window_ms)} "
            f"({a.describe()})"
        )


def detections_of(store: Store) -> Detections | None:
    """The rules bound to `store`. `store.detections` is typed by the little the store's
    masks ask of it; Detections is the one thing that binds there."""
    det = store.detections
    return det if isinstance(det, Detections) else None


def by_severity(rules: Iterable[Rule], minimum: str) -> list[Rule]:
    """The rules at `minimum` severity or above."""
    floor = severity_rank(minimum)
    return [r for r in rules if r.rank >= floor]
