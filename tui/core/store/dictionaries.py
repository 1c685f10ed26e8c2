"""The value dictionaries of the indexed fields: each distinct value numbered once, so
a column holds int32 codes, a filter compares codes and a facet is a bincount.

Batches arrive with codes of their own: a file's own distinct values, or the numbering
of a parser process's persistent encoder (`batch.Encoder`), which sends each value once,
with the first batch that saw it. `Dictionaries` maps both to the store's codes.
"""

from __future__ import annotations

import heapq
import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from ..batch import FileBatch
from ..fields import FIELDS
from ..kernels import work_threads
from ..pause import PauseGate, checkpoint

__all__ = [
    "NFIELDS",
    "Dictionaries",
    "ValueDict",
    "count_map",
    "native_tables",
    "ranked_codes",
    "top_values",
]

NFIELDS = len(FIELDS)
# Values a wildcard or regex is tested against between two pause checkpoints: ~1-2 ms
# of Python (testing the 60k source IPs of a 10M trail against a regex took ~20 ms).
MATCH_STEP = 4096
# The same for a glob tested in C (`StrTable.glob_scan`, on SCAN_THREADS threads): ~2-4 ms.
NATIVE_MATCH_STEP = 1 << 18
# Threads a glob scan of the C table runs on (it splits stretches of 64k values or more):
# on a synthetic table of 1.7M principals, 19.5 ms on one thread, 14.0 on two.
SCAN_THREADS = work_threads()


try:  # tui/core/_scan.c: the values in one arena; a list and a dict otherwise
    from .._scan import StrTable as _StrTable
except ImportError:  # pragma: no cover - built by `pip install`, absent without a compiler
    _StrTable = None  # mypy's idiom for an optional module

_native = _StrTable is not None
if _StrTable is not None:  # a read-only sequence of str, as the list it replaces
    Sequence.register(_StrTable)


def native_tables(flag: bool | None = None) -> bool:
    """Whether new `ValueDict`s keep their values in C (`_scan.StrTable`) or in a Python
    list and dict; with `flag`, set it (when built) and return the previous setting.
    Tests compare the two."""
    global _native
    before = _native
    if flag is not None:
        _native = bool(flag) and _StrTable is not None
    return before


# A key no value equals, put in every Python `ValueDict` index. A dict whose keys are
# all str keeps no hashes in its entries (CPython 3.11+): each probe then reads the hash
# from the key object, one more cache miss per probe on a dict of 100k+ values that
# arrive in no order. With one key of another type the dict keeps the hashes beside the
# keys. Measured replaying the 1M trail's batches from two parsers (834k fresh values):
# `learn` ~500 -> ~400 ns per value.
_NOT_A_VALUE = object()


class ValueDict:
    """Distinct values of one field; code = position in `values` (a sequence of str:
    `_scan.StrTable` when built, else a list). Look values up with `get`.

    The C table holds a value in its UTF-8 bytes plus ~20 (the list and dict ~150: the
    str, the dict entry, the code's int, the list's pointer): at 10M events the key,
    principal and session fields' 7.5M values took 1.1 GB as Python objects, and every
    full collection walked the lists' pointers. A value read from it is a new str."""

    __slots__ = ("values", "_index", "_folded", "_folded_n", "_globs")

    def __init__(self) -> None:
        self.values: Sequence[str]
        self._index: dict[str, int] | None
        if _native:
            self.values, self._index = _StrTable(), None
        else:
            self.values, self._index = [], {_NOT_A_VALUE: -1}  # type: ignore[dict-item]
        self._folded: dict[str, list[int]] = {}
        self._folded_n = 0
        # Wildcard matcher -> (values tested, codes that matched): a view is recomputed
        # on every commit while tailing, and testing ~50k source IPs against a glob
        # costs ~20 ms, so each value is tested once per pattern.
        self._globs: OrderedDict[object, tuple[int, list[int]]] = OrderedDict()

    def get(self, v: str) -> int | None:
        """The code of `v`, or None when it never occurred."""
        if self._index is None:
            c = self.values.get(v)  # type: ignore[attr-defined]
            return None if c < 0 else c
        return self._index.get(v)

    def code(self, v: str) -> int:
        """The code of `v`, added when new."""
        if self._index is None:
            return self.values.code(v)  # type: ignore[attr-defined]
        c = self._index.get(v)
        if c is None:  # the value before its code: a reader never finds a code unfilled
            c = len(self.values)
            self.values.append(v)  # type: ignore[attr-defined]
            self._index[v] = c
        return c

    def lut(self, values: Sequence[str]) -> np.ndarray:
        """int32 codes for `values`, adding the ones not seen before (in order)."""
        if self._index is None:
            return np.frombuffer(self.values.codes(values), np.int32)  # type: ignore[attr-defined]
        index = self._index
        out = list(map(index.get, values))
        if None in out:
            code = self.code
            out = [code(v) if c is None else c for v, c in zip(values, out, strict=True)]
        return np.array(out, np.int32)

    def codes_matching(self, matcher, gate: PauseGate | None = None) -> list[int]:
        """Codes whose value `matcher` (a wildcard `query.ValueMatcher`) accepts. With
        `gate` (work that yields to keys), MATCH_STEP values are tested at a time with
        a checkpoint between; a thread asking meanwhile takes up what is tested."""
        done, codes = self._globs.pop(matcher, (0, []))
        values = self.values
        test = matcher.matches
        # A glob over the C table is tested there, but for the few values that are not
        # ASCII (casefolding can change them): ~15 ns a value against ~100 ns in Python.
        native = self._index is None and not matcher.kind and matcher.parts is not None
        parts = tuple(p.casefold() for p in matcher.parts) if native else ()
        step = NATIVE_MATCH_STEP if native else MATCH_STEP
        found: list[int] = []  # matched after `codes` (which is shared: never extended)
        while done < len(values):
            hi = len(values) if gate is None else min(len(values), done + step)
            if native:
                hits, wide = values.glob_scan(parts, done, hi, SCAN_THREADS)  # type: ignore[attr-defined]
                if wide:
                    hits = sorted(hits + [c for c in wide if test(values[c])])
                found += hits
            else:
                found += [c for c in range(done, hi) if test(values[c])]
            done = hi
            if gate is not None and done < len(values):
                closed = gate.closed
                if closed:  # what is tested so far, for a thread that asks meanwhile
                    codes, found = codes + found, []
                    self._globs[matcher] = (done, codes)
                checkpoint(gate)
                got = self._globs.pop(matcher, None) if closed else None
                if got is not None and got[0] > done:  # it went on from there
                    done, codes = got
        if found:
            codes = codes + found
        # `done`, not len(values): values the loader's thread added since were not tested
        return self._remember(matcher, done, codes)

    def _remember(self, key: object, done: int, codes: list[int]) -> list[int]:
        """Keep what a test found over the first `done` values (the 32 latest tests)."""
        self._globs[key] = (done, codes)
        if len(self._globs) > 32:
            self._globs.popitem(last=False)
        return codes

    def codes_folded(self, folded: str) -> list[int]:
        """Codes whose value equals `folded` case-insensitively (ascending)."""
        if self._index is None:
            return self._codes_folded_native(folded)
        n = len(self.values)  # once: the loader's thread may add values meanwhile
        if self._folded_n < n:
            for c in range(self._folded_n, n):
                self._folded.setdefault(self.values[c].casefold(), []).append(c)
            self._folded_n = n
        return self._folded.get(folded, [])

    def _codes_folded_native(self, folded: str) -> list[int]:
        # A scan of the values added since this value was last asked for (the C table's
        # lengths first: ~2 ms per million values), kept per value like the wildcards'.
        key = ("=", folded)
        done, codes = self._globs.pop(key, (0, []))
        stop, hits, wide = self.values.fold_scan(folded, done)  # type: ignore[attr-defined]
        values = self.values
        hits += [c for c in wide if values[c].casefold() == folded]
        if hits:
            codes = sorted(codes + hits)
        return self._remember(key, stop, codes)


class Dictionaries:
    """One `ValueDict` per indexed field (in FIELDS order; code 0 is always ""), and
    per persistent encoder the translation of its codes into the store's."""

    def __init__(self) -> None:
        # A field with `values_of` shares that field's ValueDict: its codes index the
        # same values (a value that only the other field holds has no rows in it).
        own = {f.name: ValueDict() for f in FIELDS if f.values_of is None}
        self.dicts = [own[f.values_of or f.name] for f in FIELDS]
        for d in own.values():
            d.code("")
        # Per persistent encoder, per field: (buffer, length), its codes' store codes in
        # buffer[:length]. The buffer grows by doubling into a new one, and the pair is
        # replaced at once: a commit prepared on another thread takes the pairs as they
        # were, and what it holds is never written again.
        self._encoders: dict[int, list[tuple[np.ndarray, int]]] = {}
        # Values are added by one thread at a time: a load's batches are learnt on the
        # loader's thread (Store.learn_ahead), other files' at their commit.
        self._adding = threading.Lock()

    def learn(self, b: FileBatch) -> None:
        """Extend the encoder's code translation with the values it sent first here
        (an encoder's batches come in order, each value once; any thread)."""
        with self._adding:
            self._learn(b)

    def _learn(self, b: FileBatch) -> None:
        empty = np.empty(0, np.int32)
        trans = self._encoders.setdefault(b.enc_token, [(empty, 0)] * NFIELDS)
        for f in range(NFIELDS):
            buf, n = trans[f]
            if b.enc_base[f] != n:
                raise RuntimeError("encoder batches arrived out of order")
            new = b.uniques[f]
            if not new:
                continue
            codes = self.dicts[f].lut(new)
            if n + len(codes) > len(buf):
                grown = np.empty(max(1024, 2 * (n + len(codes))), np.int32)
                grown[:n] = buf[:n]
                buf = grown
            buf[n : n + len(codes)] = codes
            trans[f] = (buf, n + len(codes))

    def own_tables(self, batches: list[FileBatch]) -> dict[int, list[np.ndarray]]:
        """Per batch without a persistent encoder (by its index in `batches`), the store
        codes of its own values, per field: the values new to the store are added here.
        `store_codes` then reads no dictionary (it can run off the owner's thread)."""
        with self._adding:
            return {
                j: [self.dicts[f].lut(b.uniques[f]) for f in range(NFIELDS)]
                for j, b in enumerate(batches)
                if not b.enc_token
            }

    def store_codes(
        self, batches: list[FileBatch], own: dict[int, list[np.ndarray]] | None = None
    ) -> np.ndarray:
        """The batches' codes, (NFIELDS, events), mapped to the store's values.

        Per field, one lookup table for the whole commit: the translation of each
        persistent encoder (shared by all its batches) and a table of each other
        batch's own values, end to end. Each event's code is shifted to its table's
        part, then mapped in one take per field. With two parser processes' batches
        interleaved, mapping each encoder's columns apart (a gather and a scatter
        through a column index) took 10.5 ms per 100k events, this 2.7 ms. `own`: the
        tables of the batches without an encoder, made before (`own_tables`)."""
        P = np.concatenate([b.codes for b in batches], axis=1)
        parts: list[list[np.ndarray]] = [[] for _ in range(NFIELDS)]
        starts: list[list[int]] = []  # per part, per field: where its table starts
        by_token: dict[int, int] = {}  # encoder -> its part
        part_of = np.empty(len(batches), np.int32)  # per batch
        size = [0] * NFIELDS
        for j, b in enumerate(batches):
            part = by_token.get(b.enc_token, -1) if b.enc_token else -1
            if part < 0:
                part = len(starts)
                if b.enc_token:
                    tables = self._enc_arrays(b.enc_token)
                    by_token[b.enc_token] = part
                elif own is not None:
                    tables = own[j]
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
        event_part = np.repeat(part_of, [b.n for b in batches]) if len(starts) > 1 else None
        for f in range(NFIELDS):
            if event_part is not None:
                P[f] += shifts[f][event_part]
            table = parts[f][0] if len(parts[f]) == 1 else np.concatenate(parts[f])
            np.take(table, P[f], out=P[f])
        return P

    def _enc_arrays(self, token: int) -> list[np.ndarray]:
        return [buf[:n] for buf, n in self._encoders[token]]


# Ties on a count are ordered by value while at most this many values (over all tied
# groups) need it; the rest keep first-seen order (code order: the order of the trail's
# files and records, deterministic). Sorting 850k session keys by value in Python cost
# 2.2 s of `stats --json` at 1M; 100k cost ~40 ms.
TIES_BY_VALUE = 100_000


def _order_ties(codes: list[int], counts: np.ndarray, values: Sequence[str]) -> list[int]:
    """`codes` (sorted by count, most first, ties in code order) with each run of equal
    counts sorted by value, as long as the TIES_BY_VALUE budget lasts."""
    bounds = np.flatnonzero(np.diff(counts)) + 1
    starts = [0, *bounds.tolist()]
    ends = [*bounds.tolist(), len(codes)]
    budget = TIES_BY_VALUE
    for a, b in zip(starts, ends, strict=True):
        if b - a > 1 and b - a <= budget:
            codes[a:b] = sorted(codes[a:b], key=values.__getitem__)
            budget -= b - a
    return codes


# Count arrays of at least this many values look for the top among candidates first.
CANDIDATES_MIN = 1 << 16
_SAMPLE = 1 << 14  # counts sampled (evenly spaced) to choose the candidates' bound


def _candidates(bins: np.ndarray, top: int) -> np.ndarray | None:
    """The codes whose count may be among the `top` largest, when few: those with a
    count at least the k-th largest of an even sample of the counts, k chosen so about
    4 x `top` codes reach it. If at least `top` do, the top-th largest count is at or
    above that bound, so every code above or tied with it is a candidate. None: no
    useful bound (a small or sparse array, or too few reach it)."""
    n = len(bins)
    if n < CANDIDATES_MIN:
        return None
    sample = bins[:: max(1, n // _SAMPLE)]
    k = -(-4 * top * len(sample) // n) + 1
    if k >= len(sample) // 4:
        return None
    bound = np.partition(sample, len(sample) - k)[len(sample) - k]
    if bound <= 0:
        return None
    cand = np.flatnonzero(bins >= bound)
    return cand if top <= len(cand) <= n // 8 else None


def _reaching(bins: np.ndarray, top: int, bound: int) -> np.ndarray | None:
    """The codes whose count is at least `bound`, if `top` or more are: the top-th
    largest count is then at least `bound`, so they hold every code above or tied with
    it (a bound known from earlier counts, which only grow)."""
    cand = np.flatnonzero(bins >= max(1, bound))
    return cand if len(cand) >= top else None


def ranked_codes(
    bins: np.ndarray,
    values: Sequence[str],
    top: int | None,
    *,
    bound: int | None = None,
    distinct: int | None = None,
) -> tuple[np.ndarray, int]:
    """The codes with a count, most frequent first (ties by value, see TIES_BY_VALUE),
    at most `top` of them, and how many values occur at all. The top are chosen by a
    partial selection over the counts, and the order is a numpy sort of counts: no
    Python-level work per value beyond the tie budget (at 1.5M values, top 60: 28 ms
    of CPU with a selection over the nonzero counts, ~8 ms over the array as is; but a
    filtered view's counts are mostly zeros, and selecting over all of them then cost
    more than gathering the few counted). Over a big count array the selection is
    among candidates (`_candidates`): at 10M events, the principal facet's top 60 of
    1.5M counts took 7-14 ms over the nonzero counts.

    `bound`: a count that at least `top` codes reach (the cut of an earlier top-N of
    counts that have only grown since): the candidates are the codes reaching it.
    `distinct`: the number of nonzero counts, when known. Neither changes the answer."""
    if distinct is None:
        distinct = int(np.count_nonzero(bins))
    if top is not None and distinct > top:
        if top <= 0:
            return np.empty(0, np.intp), distinct
        # The cut is the top-th largest count: a partial selection (introselect) over
        # the count array. np.partition, as only the value is needed (argpartition
        # costs ~3x); then one pass each for the values above it and tied with it.
        cand = _candidates(bins, top) if bound is None else _reaching(bins, top, bound)
        if cand is not None or distinct * 2 < len(bins):
            # Among the candidates, or (mostly zeros: a filtered view) the counted.
            nz = cand if cand is not None else np.flatnonzero(bins)
            cnt = bins[nz]
            k = len(nz) - top
            cut = np.partition(cnt, k)[k]
            above, ties = nz[cnt > cut], nz[cnt == cut]  # ties in code order
        else:
            k = len(bins) - top
            cut = np.partition(bins, k)[k]  # > 0: more than `top` values have a count
            above = np.flatnonzero(bins > cut)
            ties = np.flatnonzero(bins == cut)  # in code order
        need = top - len(above)
        if len(ties) <= TIES_BY_VALUE:
            # The `need` least values: a heap pass when few of many are wanted (a view
            # of one Lambda role's events: every key tied at 1), else a sort.
            tl = ties.tolist()
            first = (
                heapq.nsmallest(need, tl, key=values.__getitem__)
                if need * 16 < len(tl)
                else sorted(tl, key=values.__getitem__)[:need]
            )
            ties = np.array(first, np.intp)
        nz = np.concatenate([above, ties[:need]])
    else:
        nz = np.flatnonzero(bins)
    cnt = bins[nz]
    order = np.argsort(-cnt, kind="stable")
    nz, cnt = nz[order], cnt[order]
    return np.array(_order_ties(nz.tolist(), cnt, values), np.intp), distinct


def top_values(
    bins: np.ndarray,
    values: Sequence[str],
    top: int | None,
    *,
    bound: int | None = None,
    distinct: int | None = None,
) -> tuple[list[tuple[str, int]], int]:
    """(value, count) pairs from a bincount, most frequent first (ties by value, see
    TIES_BY_VALUE), and how many values occur at all (`bound`, `distinct`: see
    `ranked_codes`)."""
    codes, distinct = ranked_codes(bins, values, top, bound=bound, distinct=distinct)
    cl = codes.tolist()
    return list(zip(map(values.__getitem__, cl), bins[codes].tolist(), strict=True)), distinct


def count_map(bins: np.ndarray, values: Sequence[str]) -> dict[str, int]:
    """Every value with a count -> its count, most frequent first (a complete facet, as
    `stats --json` writes it): built without a pair per value on the way."""
    codes = ranked_codes(bins, values, None)[0]
    return dict(zip(map(values.__getitem__, codes.tolist()), bins[codes].tolist(), strict=True))
