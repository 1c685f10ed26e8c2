"""Where credentials come from: the events that minted access keys, the chain from an
event's credential back to the first identity the trail knows, and the credentials
descended from a key (what `minted:`, `descends:` and the Origin section read).

Minting events (MINTERS): STS's AssumeRole family, GetSessionToken,
GetFederationToken and AssumeRoot write the new key at
`responseElements.credentials.accessKeyId`; IAM's CreateAccessKey at
`responseElements.accessKey.accessKeyId`; the Identity Center portal's
GetRoleCredentials at `responseElements.roleCredentials.accessKeyId`, when the record
holds the response (without it, an Identity Center session ends at its record's
`sessionIssuer`, an `AWSReservedSSO_*` role, which the chain names). GetSigninToken
is not one: the key in its response is the caller's own, turned into a console
sign-in token.

The index is built from the lower-cased corpus free text searches: each committed
file with minting events (found through the `event` column) is inflated and the C
path scan walks only those events' lines along the paths, two files at a time without
the GIL; events it cannot be sure of, and every event without the C scan, are walked
in Python over their originals. Keys are numbered in one table together with every value of the
`key` field (userIdentity.accessKeyId), lower-cased, so a key is one code whether an
event used it or minted it, and matching ignores case like every other filter.

It catches up with the files committed since its last use (while tailing: the few
new files), so an event that arrived before the event that minted its key finds
its origin as soon as that event is committed.

A key minted by several records: a cross-account AssumeRole is written to the trails
of both accounts, the same response each time. The origin of a use is the latest
minting record at or before the use (ties: one whose caller had a key, so the chain
goes on; then the first loaded); when every record is later than the use (clock skew,
or a file that is not there yet) the earliest is taken and the link says so.
`descends:` follows every minting record (a superset, as a blast radius should be).
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from . import batch
from .fields import FIELD_BY_NAME, FIELD_INDEX
from .normalize import NO_TIME, format_time, parse_time_ms
from .pathcols import PyTable
from .paths import CONTAINER, decode_event, raw_key, raw_value, values
from .pause import GatedLock, PauseGate, checkpoint, checkpointed
from .rules import evaluate
from .textsearch import inflate, pipelined

if TYPE_CHECKING:
    from .report import OriginLookup
    from .store import Store

try:  # the C scan (tui/core/_scan.c)
    from ._scan import PathTable as _CTable
except ImportError:  # pragma: no cover - built by `pip install`, absent without a compiler
    _CTable = None

__all__ = [
    "MINTERS",
    "Chain",
    "CredentialIndex",
    "Link",
    "credentials_of",
    "origin_lookup",
]

# Where each minting event writes the new key (keys lower-cased, as paths.values walks).
_CREDENTIALS = ("responseelements", "credentials", "accesskeyid")
MINTERS: dict[str, tuple[str, ...]] = {
    "AssumeRole": _CREDENTIALS,
    "AssumeRoleWithSAML": _CREDENTIALS,
    "AssumeRoleWithWebIdentity": _CREDENTIALS,
    "GetSessionToken": _CREDENTIALS,
    "GetFederationToken": _CREDENTIALS,
    "AssumeRoot": _CREDENTIALS,
    "CreateAccessKey": ("responseelements", "accesskey", "accesskeyid"),
    "GetRoleCredentials": ("responseelements", "rolecredentials", "accesskeyid"),
}
_PATHS: tuple[tuple[str, ...], ...] = tuple(dict.fromkeys(MINTERS.values()))
_MAX_DEPTH = 64  # links followed up a chain (a loop is caught earlier)


class _ByCode:
    """Entry numbers sorted by a code (stable: arrival order within a code), kept by
    merging the new entries in: O(n) per update instead of a re-sort."""

    __slots__ = ("codes", "entries")

    def __init__(self) -> None:
        self.codes = np.empty(0, np.int32)
        self.entries = np.empty(0, np.int64)

    def add(self, codes: np.ndarray, first_entry: int) -> None:
        s = np.argsort(codes, kind="stable")
        new_codes = codes[s]
        pos = np.searchsorted(self.codes, new_codes, side="right")
        self.codes = np.insert(self.codes, pos, new_codes)
        self.entries = np.insert(self.entries, pos, first_entry + s)

    def of(self, code: int) -> np.ndarray:
        # As the codes' own type: numpy would cast the whole array to a Python int's
        # int64 for each search (1.2 ms per detail pane at 10M events, 3M entries).
        typed = self.codes.dtype.type(code)
        lo = np.searchsorted(self.codes, typed, "left")
        hi = np.searchsorted(self.codes, typed, "right")
        return self.entries[lo:hi]

    def of_many(self, codes: np.ndarray) -> np.ndarray:
        """Entries of any of `codes`."""
        lo = np.searchsorted(self.codes, codes, "left")
        hi = np.searchsorted(self.codes, codes, "right")
        n = hi - lo
        if not n.sum():
            return np.empty(0, np.int64)
        starts = np.repeat(lo - np.cumsum(np.r_[0, n[:-1]]), n)
        return self.entries[starts + np.arange(int(n.sum()))]


@dataclass(frozen=True, slots=True)
class Link:
    """One step up a chain: `key` was minted by the event at store row `row`."""

    key: str  # the minted key, as the events spell it
    row: int  # the minting event (jump here)
    event: str  # its eventName
    time_ms: int
    caller: str  # its principal
    caller_key: str  # the credential it was made with ('' when the record has none)
    caller_type: str  # its userIdentity.type
    ip: str
    account: str
    copies: int = 0  # other records minting the same key (e.g. the other account's copy)
    after_use: bool = False  # every minting record is later than the use

    def describe(self) -> str:
        """One line, raw (sanitise at the edge): `ASIA… minted by AssumeRole at T by
        arn… (key AKIA…) from IP in account A`."""
        text = f"{self.key} minted by {self.event} at {format_time(self.time_ms)} by {self.caller}"
        if self.caller_key:
            text += f" (key {self.caller_key})"
        if self.ip:
            text += f" from {self.ip}"
        if self.account:
            text += f" in account {self.account}"
        if self.copies:
            text += f" (also in {self.copies} more record{'s' if self.copies > 1 else ''})"
        if self.after_use:
            text += " [recorded after the use]"
        return text


# Why a chain stops (Chain.end).
END_IDENTITY = "identity"  # the top caller made its call without an access key
END_MISSING = "missing"  # the event that minted the top key is not in the trail
END_NO_KEY = "no-key"  # the event itself carries no access key
END_LOOP = "loop"  # a key appears twice up the chain (a malformed or placeholder trail)
END_DEPTH = "depth"  # more than _MAX_DEPTH links


@dataclass(slots=True)
class Chain:
    """From an event's credential up to the first identity the trail knows: `links`
    nearest first; `end` says why it stops; `record` holds what the record at the top
    carries about the identity (sessionIssuer, sourceIdentity, onBehalfOf, invokedBy,
    ...), as (label, value) pairs, for a missing link or a caller without a key."""

    row: int | None  # the event the chain is for (None: a key asked about directly)
    key: str  # its credential ('' none)
    links: list[Link]
    end: str
    top_key: str  # the key whose minting event is missing (END_MISSING), else ''
    top_identity: str  # the first identity the trail knows: the top caller's principal
    top_row: int | None  # the record `record` describes
    record: list[tuple[str, str]] = field(default_factory=list)

    def end_text(self) -> str:
        """What the top of the chain is, in words."""
        who = self.top_identity or "unknown"
        if self.end == END_MISSING:
            prefix = self.top_key[:4].upper()
            kind = {"AKIA": "long-term key", "ASIA": "temporary key"}.get(prefix, "key")
            return f"{kind} {self.top_key} of {who}: the event that minted it is not in the trail"
        if self.end == END_NO_KEY:
            return f"no access key in the record ({who})"
        if self.end == END_LOOP:
            return f"stopped: {self.top_key} appears twice up the chain"
        if self.end == END_DEPTH:
            return f"stopped after {len(self.links)} links"
        return f"called without an access key by {who}"

    def lines(self) -> list[str]:
        """The chain as text lines, raw (sanitise at the edge)."""
        out = [link.describe() for link in self.links]
        out.append(self.end_text())
        out.extend(f"  {label}: {value}" for label, value in self.record)
        return out

    def summary(self) -> str:
        """One line: each link's `minted by EVENT by CALLER at T from IP`, then the top."""
        parts = []
        for link in self.links:
            p = f"minted by {link.event} by {link.caller} at {format_time(link.time_ms)}"
            if link.ip:
                p += f" from {link.ip}"
            parts.append(p)
        parts.append(self.end_text())
        hints = "; ".join(f"{label} {value}" for label, value in self.record)
        return " <- ".join(parts) + (f" ({hints})" if hints else "")


def _scan_file(job: tuple) -> tuple:
    """Worker: one file's scans, one per path over the lines of the events that write
    their key there: [(events, codes, fallback)], and the text when any event needs
    the Python walk."""
    table, blob, lstarts, lends, scans, finds, gate = job
    checkpoint(gate)
    text = inflate(blob)
    out = []
    need_text = False
    for segs, lines, _path in scans:
        starts = np.ascontiguousarray(lstarts[lines], np.int64).tobytes()
        ends = np.ascontiguousarray(lends[lines], np.int64).tobytes()
        got = table.scan(text, starts, ends, segs, finds[segs])
        out.append(got)
        need_text = need_text or bool(got[2])
    return out, (text if need_text else None)


def _text(v: object) -> str:
    if v is None:
        return ""
    return v if isinstance(v, str) else str(v)


def _dict(v: object) -> dict:
    return v if isinstance(v, dict) else {}


def record_hints(event: object) -> list[tuple[str, str]]:
    """What a record says about the identity behind its credential, for a chain whose
    next link is not in the trail: (label, value) pairs, raw."""
    ui = _dict(_dict(event).get("userIdentity"))
    ctx = _dict(ui.get("sessionContext"))
    issuer = _dict(ctx.get("sessionIssuer"))
    attrs = _dict(ctx.get("attributes"))
    out: list[tuple[str, str]] = []

    def add(label: str, v: object) -> None:
        t = _text(v)
        if t:
            out.append((label, t))

    add("identity type", ui.get("type"))
    if issuer:
        what = _text(issuer.get("arn")) or _text(issuer.get("principalId"))
        kind = _text(issuer.get("type"))
        add("session issuer", f"{kind} {what}".strip())
        name = _text(issuer.get("userName"))
        if name.startswith("AWSReservedSSO_"):
            add("Identity Center permission set", name[len("AWSReservedSSO_") :].rsplit("_", 1)[0])
    add("source identity", ui.get("sourceIdentity") or ctx.get("sourceIdentity"))
    obo = _dict(ui.get("onBehalfOf"))
    if obo:
        add(
            "on behalf of",
            " ".join(
                x for x in (_text(obo.get("userId")), _text(obo.get("identityStoreArn"))) if x
            ),
        )
    add("invoked by", ui.get("invokedBy"))
    add("identity provider", ui.get("identityProvider"))
    web = _dict(ctx.get("webIdFederationData"))
    add("web identity provider", web.get("federatedProvider"))
    add("credential id", ui.get("credentialId"))
    add("session created", attrs.get("creationDate"))
    add("MFA", attrs.get("mfaAuthenticated"))
    if ui.get("type") == "IAMUser":
        add("user", ui.get("userName"))
    return out


# The key table's memory is mapped this much at a time (~5 ms of a core).
_PREFAULT_BYTES = 16 << 20
# Key values numbered per slice: each slice's inserts are one C loop holding the GIL
# (~3 ms), so a waiting UI thread gets it between slices.
_KEYS_SLICE = 8192
_PLAIN_LINES = re.compile(r"[\x20-\x7e\n]*")


def _lower_raw_keys(vals: Sequence[str]) -> list[bytes]:
    """`raw_key(v.lower())` of each value, made for the whole list at once when every
    value is plain printable ASCII (the access keys of a trail): one join, lower and
    split instead of a Python call per value."""
    text = "\n".join(vals)
    if (
        text.isascii()
        and '"' not in text
        and "\\" not in text
        and text.count("\n") == len(vals) - 1
        and _PLAIN_LINES.fullmatch(text)
    ):
        return ("s" + text.lower().replace("\n", "\ns")).encode().split(b"\n")
    return [raw_key(v.lower()) for v in vals]


def _by_file_path_line(fids: np.ndarray, kinds: np.ndarray, lines: np.ndarray) -> np.ndarray:
    """The order of minting rows by (file, path, line): one scan per file and path, in
    line order. `np.lexsort((lines, kinds, fids))`, as a stable sort of one packed key:
    the rows come in file order, so the sort finds one run (at 10M, 2M rows: 2.6 ms
    against the lexsort's 144)."""
    f = fids.astype(np.int64)
    if len(f) and (int(f.max()) >= 1 << 28 or int(f.min()) < 0):  # pragma: no cover
        return np.lexsort((lines, kinds, fids))
    key = (f << 35) | (kinds.astype(np.int64) << 32) | lines.astype(np.int64)
    return np.argsort(key, kind="stable")


class CredentialIndex:
    """Minted keys over a store's rows (see the module docstring). Every read catches up
    with the files committed since. A lock keeps the index's own state whole between
    the UI thread and a worker (the store itself is read, never committed to, while a
    worker reads it: the explorer's rule)."""

    def __init__(self, store: Store, native: bool | None = None) -> None:
        self.store = store
        if native is None:
            native = batch._native and _CTable is not None
        self.table = _CTable() if native else PyTable()
        self._segs = {p: tuple(k.encode() for k in p) if native else p for p in _PATHS}
        # No needles: the lines given are the candidates (a needle search would read
        # the whole text to rule out the few events given).
        self._finds = {self._segs[p]: () for p in _PATHS}
        self._lock = GatedLock()  # held by catch_up; a reader waiting on it opens its gate
        self._gate: PauseGate | None = None  # the gate of the catch_up under way
        self.files_done = 0
        self.rows_done = 0
        self.version = 0  # bumped when minting records are added
        # One entry per (minting record, key it minted), in the order they were found:
        self._rows = np.empty(0, np.int64)  # the record's store row
        self._codes = np.empty(0, np.int32)  # the minted key
        self._times = np.empty(0, np.int64)
        self._parents = np.empty(0, np.int32)  # the key the record was made with, or -1
        self._by_code = _ByCode()
        self._by_parent = _ByCode()
        self._key2code = np.empty(0, np.int32)  # store `key` code -> table code (-1: '')
        self._canon: dict[int, int] = {}  # a value's other raw keys -> its code (-1: none)
        self._kinds_done = 0
        self._odd: list[int] = []  # codes of values that are not plain ASCII
        self._globs: OrderedDict[object, tuple[int, np.ndarray]] = OrderedDict()
        self._spelt: dict[int, str] = {}

    def __len__(self) -> int:
        """Minting records found (one per key minted)."""
        self.catch_up()
        return len(self._rows)

    # ------------------------------------------------------------------ building
    def backlog(self) -> int:
        """Committed files not scanned yet: 0 means reads answer at once."""
        return self.store.committed_files() - self.files_done

    def catch_up(self, gate: PauseGate | None = None) -> None:
        """Scan the minting events committed since the last call; with `gate`, the scan
        waits at its checkpoints while the gate is closed (tui/core/pause.py)."""
        with self._lock.holding(gate):
            outer, self._gate = self._gate, gate
            try:
                store = self.store
                n = len(store)
                if self.rows_done < n:
                    self._scan(self.rows_done, n)
                    self.rows_done = n
                # Rows come only with files and files only with commits, so the files
                # committed by now are the ones scanned.
                self.files_done = store.committed_files()
                self._sync_keys()
            finally:
                self._gate = outer

    def _path_of_event_code(self) -> np.ndarray:
        """Per `event` value code: the index in _PATHS of where it writes a key, or -1."""
        which = np.full(len(self.store.values("event")), -1, np.int8)
        events = self.store.dicts[FIELD_INDEX["event"]]
        for name, path in MINTERS.items():
            code = events.get(name)
            if code is not None:
                which[code] = _PATHS.index(path)
        return which

    def _scan(self, lo: int, hi: int) -> None:
        """Find the keys minted by store rows [lo, hi)."""
        store = self.store
        kinds = self._path_of_event_code()[store.codes("event")[lo:hi]]
        rows = lo + np.flatnonzero(kinds >= 0)
        if not len(rows):
            return
        gate = self._gate
        checkpoint(gate)
        # Room for every key this run may number (each minting record's, each new `key`
        # value), made now: a table doubling amid the scans or the key numbering rehashed
        # millions of entries between two checkpoints (~400 ms of a core at 10M).
        self._reserve(len(rows) + len(store.values("key")) - len(self._key2code))
        checkpoint(gate)
        kinds = kinds[rows - lo]
        fids, lines = store.file_lines(rows)
        checkpoint(gate)
        order = _by_file_path_line(fids, kinds, lines)
        checkpoint(gate)
        fids, kinds, lines = fids[order], kinds[order], lines[order].astype(np.int64)
        cuts = np.flatnonzero((fids[1:] != fids[:-1]) | (kinds[1:] != kinds[:-1])) + 1
        jobs: list[tuple] = []
        checkpoint(gate)
        bounds = zip(np.r_[0, cuts].tolist(), np.r_[cuts, len(fids)].tolist(), strict=True)
        for a, b in checkpointed(bounds, gate):
            fid, path = int(fids[a]), _PATHS[int(kinds[a])]
            scan = (self._segs[path], lines[a:b], path)
            if jobs and jobs[-1][6] == fid:
                jobs[-1][4].append(scan)
                continue
            fi = store.files[fid]
            if not fi.text_low or fi.line_rows is None:
                continue
            jobs.append((self.table, fi.text_low, fi.lstarts, fi.lends, [scan], self._finds, fid))
        rows_parts: list[np.ndarray] = []
        codes_parts: list[np.ndarray] = []
        results = pipelined(_scan_file, [(*j[:6], gate) for j in jobs])
        for job, (scans, text) in zip(jobs, results, strict=True):
            checkpoint(gate)
            fi = store.files[job[6]]
            for (_segs, lines, path), (ev, codes, fallback) in zip(job[4], scans, strict=True):
                found = fi.line_rows[lines[np.frombuffer(ev, np.int32)]]
                c = np.frombuffer(codes, np.int32)
                if fallback:
                    fr, fc = self._walk(fi, text, lines[np.array(fallback, np.int64)], path)
                    found, c = np.concatenate([found, fr]), np.concatenate([c, fc])
                rows_parts.append(found)
                codes_parts.append(c)
        checkpoint(gate)
        self._sync_keys()
        if rows_parts:
            self._add(
                np.concatenate(rows_parts).astype(np.int64),
                np.concatenate(codes_parts).astype(np.int32),
            )

    def _walk(
        self, fi, text: bytes, lines: np.ndarray, path: tuple[str, ...]
    ) -> tuple[np.ndarray, np.ndarray]:
        """The Python walk, for the events the C scan handed back (every minting event
        without the C scan): over the original, or the lower-cased text when the
        original is gone."""
        rows: list[int] = []
        codes: list[int] = []
        for k in lines.tolist():
            row = int(fi.line_rows[k])
            if row < 0:
                continue
            event: object
            try:
                event = self.store.event(row)
            except Exception:  # the file vanished or changed since it was loaded
                try:
                    event = decode_event(text[fi.lstarts[k] : fi.lends[k]])
                except ValueError:
                    continue
            for v in dict.fromkeys(values(event, path)):
                if v is not CONTAINER:
                    rows.append(row)
                    codes.append(self.table.insert(raw_key(v)))
        return np.array(rows, np.int64), np.array(codes, np.int32)

    def _reserve(self, more: int) -> None:
        """Room in the table for `more` keys than it holds, its memory mapped in steps
        between checkpoints (the C table; the Python one grows as dicts do)."""
        table = self.table
        if isinstance(table, PyTable):
            return
        table.reserve(len(table) + more)
        while not table.prefault(_PREFAULT_BYTES):
            checkpoint(self._gate)

    def _sync_keys(self) -> None:
        """Number the `key` values the store learnt since the last call."""
        vals = self.store.values("key")
        done = len(self._key2code)
        if done >= len(vals):
            return
        self._reserve(len(vals) - done)
        insert = self.table.insert
        parts = [self._key2code]
        for lo in range(done, len(vals), _KEYS_SLICE):
            part = vals[lo : lo + _KEYS_SLICE]
            keys = _lower_raw_keys(part)
            empty = part.index("") if "" in part else -1  # a dictionary holds it once
            if empty >= 0:
                del keys[empty]
            codes = list(map(insert, keys))
            if empty >= 0:
                codes.insert(empty, -1)
            parts.append(np.array(codes, np.int32))
            time.sleep(0)  # let a waiting UI thread have the GIL between slices
            checkpoint(self._gate)
        self._key2code = np.concatenate(parts)
        self._note_kinds()

    def _note_kinds(self) -> None:
        """Map values the C scan numbered by their JSON text ('j', 'n') to the code of
        their canonical raw key, so that one key has one code; note the codes of values
        that are not plain ASCII (exact matches test them one by one)."""
        table = self.table
        while self._kinds_done < len(table):
            start = self._kinds_done
            kinds = table.kinds(start)
            self._kinds_done = start + len(kinds)
            for i in np.flatnonzero(np.frombuffer(kinds, np.uint8) != ord("s")).tolist():
                c = start + i
                kind = kinds[i : i + 1]
                if kind == b"v":
                    self._odd.append(c)
                elif kind == b"o":
                    self._canon[c] = -1
                else:
                    v = raw_value(table.raw(c))
                    self._canon[c] = -1 if v is CONTAINER else table.insert(raw_key(v))

    def _add(self, rows: np.ndarray, codes: np.ndarray) -> None:
        keep = rows >= 0  # records dropped as duplicates have no row
        rows, codes = rows[keep], codes[keep]
        self._note_kinds()
        if self._canon:
            odd = np.isin(codes, np.fromiter(self._canon, np.int32, len(self._canon)))
            if odd.any():
                codes = codes.copy()
                codes[odd] = [self._canon[c] for c in codes[odd].tolist()]
                keep = codes >= 0
                rows, codes = rows[keep], codes[keep]
        if not len(rows):
            return
        store = self.store
        first = len(self._rows)
        parents = self._key2code[store.codes("key")[rows]]
        self._rows = np.concatenate([self._rows, rows])
        self._codes = np.concatenate([self._codes, codes])
        self._times = np.concatenate([self._times, store.times[rows]])
        self._parents = np.concatenate([self._parents, parents])
        self._by_code.add(codes, first)
        self._by_parent.add(parents, first)
        self.version += 1

    # ------------------------------------------------------------------ matching
    def code_of(self, key: str) -> int:
        """The code of an access key (any case), or -1 when the trail never shows it."""
        if not key:
            return -1
        return int(self.table.lookup(raw_key(key.lower())))

    def codes_matching(self, matcher) -> np.ndarray:
        """Codes of the keys (used or minted) a `query.ValueMatcher` accepts."""
        self.catch_up()
        with self._lock:
            if matcher.parts is None:
                found = [self.code_of(matcher.folded)]
                found += [c for c in self._odd if matcher.matches(raw_value(self.table.raw(c)))]
                return np.unique(np.array([c for c in found if c >= 0], np.int64))
            done, codes = self._globs.pop(matcher, (0, np.empty(0, np.int64)))
            size = len(self.table)
            if done < size:
                rx = re.compile(
                    rb"^s"
                    + rb"[^\n]*".join(
                        re.escape(p.casefold().encode("utf-8", "surrogatepass"))
                        for p in matcher.parts
                    )
                    + rb"$",
                    re.M,
                )
                keys, offs = self.table.blob(done)
                starts = np.frombuffer(offs, np.int64)
                at = np.fromiter((m.start() for m in rx.finditer(keys)), np.int64)
                hits = done + np.searchsorted(starts, at)
                more = [
                    c
                    for c in self._odd
                    if c >= done and matcher.matches(raw_value(self.table.raw(c)))
                ]
                codes = np.concatenate([codes, hits, np.array(more, np.int64)])
            self._globs[matcher] = (size, codes)
            if len(self._globs) > 32:
                self._globs.popitem(last=False)
            # Non-canonical spellings ('j' lines never match '^s'; 's' ones are canonical).
            return codes

    # ------------------------------------------------------------------ query terms
    def rows_minting(self, matcher) -> np.ndarray:
        """`minted:KEY`: rows of the records that minted a key `matcher` accepts
        (sorted, unique)."""
        self.catch_up()
        with self._lock:
            if matcher.matches_any_nonempty:
                return np.unique(self._rows)
            entries = self._by_code.of_many(self.codes_matching(matcher).astype(np.int32))
            return np.unique(self._rows[entries])

    def descendant_codes(self, roots: np.ndarray) -> np.ndarray:
        """The keys minted, transitively, by records made with `roots` (codes), the
        roots included: a bool per table code."""
        with self._lock:
            seen = np.zeros(len(self.table), bool)
            frontier = np.unique(np.asarray(roots, np.int64))
            frontier = frontier[frontier >= 0]
            seen[frontier] = True
            while len(frontier):
                kids = np.unique(self._codes[self._by_parent.of_many(frontier.astype(np.int32))])
                kids = kids[~seen[kids]]
                seen[kids] = True
                frontier = kids
            return seen

    def key_codes_descending(self, matcher) -> np.ndarray:
        """`descends:KEY`: the store's `key` value codes of every key descended from a key
        `matcher` accepts (itself included): what `key:` selects for each of them."""
        self.catch_up()
        with self._lock:
            if matcher.matches_any_nonempty:
                return np.flatnonzero(self._key2code >= 0)
            seen = self.descendant_codes(self.codes_matching(matcher))
            k2c = self._key2code
            return np.flatnonzero((k2c >= 0) & seen[np.maximum(k2c, 0)])

    # ------------------------------------------------------------------ origins
    def _mint_for(self, code: int, use_ms: int) -> tuple[int, int, bool] | None:
        """(entry, other records minting the key, whether all are later than the use)
        for the record that minted `code` for a use at `use_ms` (see the module
        docstring), or None."""
        entries = self._by_code.of(code)
        if not len(entries):
            return None
        times = self._times[entries]
        before = times <= use_ms if use_ms != NO_TIME else np.ones(len(entries), bool)
        after_use = not before.any()
        if after_use:
            pool = entries[times == times.min()]
        else:
            t = times[before]
            pool = entries[before][t == t.max()]
        with_key = pool[self._parents[pool] >= 0]
        pick = int(with_key[0] if len(with_key) else pool[0])
        return pick, len(entries) - 1, after_use

    def minting_record(self, key: str, use_ms: int = NO_TIME) -> Link | None:
        """The record that minted `key` for a use at `use_ms` (NO_TIME: the latest), as
        a link; None when the trail holds none."""
        self.catch_up()
        with self._lock:
            code = self.code_of(key)
            found = self._mint_for(code, use_ms) if code >= 0 else None
            if found is None:
                return None
            return self._link(key, *found)

    def _link(self, key: str, entry: int, copies: int, after_use: bool) -> Link:
        s = self.store
        m = int(self._rows[entry])
        return Link(
            key=key,
            row=m,
            event=s.value(m, "event"),
            time_ms=s.time_ms(m),
            caller=s.value(m, "principal"),
            caller_key=s.value(m, "key"),
            caller_type=s.value(m, "type"),
            ip=s.value(m, "ip"),
            account=s.value(m, "account"),
            copies=copies,
            after_use=after_use,
        )

    def chain(self, row: int) -> Chain:
        """The Origin of store row `row`'s credential (see `Chain`)."""
        s = self.store
        key = s.value(row, "key")
        if not key:
            return Chain(
                row, "", [], END_NO_KEY, "", s.value(row, "principal"), row, self._hints(row)
            )
        return self._climb(row, key, s.time_ms(row), None)

    def chain_for_key(self, key: str, use_ms: int = NO_TIME, event: dict | None = None) -> Chain:
        """The Origin of `key` as used at `use_ms` (NO_TIME: its latest minting). `event`:
        a record that used it, for what the record says when the minting event is
        missing (the report passes the annotated event)."""
        return self._climb(None, key, use_ms, event)

    def _climb(self, row: int | None, key: str, use_ms: int, event: dict | None) -> Chain:
        self.catch_up()
        s = self.store
        links: list[Link] = []
        seen: set[int] = set()
        top_row = row
        top_key = ""
        cur, at = key, use_ms
        with self._lock:
            while True:
                code = self.code_of(cur)
                if code >= 0 and code in seen:
                    end, top_key = END_LOOP, cur
                    break
                seen.add(code)
                found = self._mint_for(code, at) if code >= 0 else None
                if found is None:
                    end, top_key = END_MISSING, cur
                    break
                link = self._link(cur, *found)
                links.append(link)
                top_row = link.row
                if not link.caller_key:
                    end = END_IDENTITY
                    break
                if len(links) >= _MAX_DEPTH:
                    end, top_key = END_DEPTH, link.caller_key
                    break
                cur, at = link.caller_key, link.time_ms
        if top_row is not None:
            who, hints = s.value(top_row, "principal"), self._hints(top_row)
        elif event is not None:
            # The principal rule's reading; "" when no member of the caller named it.
            who, source = evaluate(FIELD_BY_NAME["principal"].rule, event)
            who = who if source else ""
            hints = record_hints(event)
        else:
            who, hints = "", []
        return Chain(row, key, links, end, top_key, who, top_row, hints)

    def _hints(self, row: int) -> list[tuple[str, str]]:
        try:
            return record_hints(self.store.event(row))
        except Exception:  # the original is gone or changed: the chain stands without
            return []

    # ------------------------------------------------------------------ cards
    def minted_in(self, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(rows, key codes) of the keys minted by records where `mask` (store order) is
        true, oldest first (`spell` writes a code as the trail spells it)."""
        self.catch_up()
        with self._lock:
            rows = self._rows
            sel = np.flatnonzero(rows < len(mask))
            sel = sel[mask[rows[sel]]]
            sel = sel[np.lexsort((rows[sel], self._times[sel]))]
            return rows[sel].copy(), self._codes[sel].copy()

    def uses(self) -> np.ndarray:
        """Events made with each key, per code (a key spelt in several cases counts as
        one)."""
        self.catch_up()
        with self._lock:
            counts = self.store.value_counts("key")
            k2c = self._key2code[: len(counts)]
            used = k2c >= 0
            return np.bincount(
                k2c[used], weights=counts[: len(k2c)][used], minlength=len(self.table)
            ).astype(np.int64)

    def spell(self, code: int, row: int) -> str:
        """A key as the trail spells it: as an event used it, else as `row` minted it."""
        got = self._spelt.get(code)
        if got is not None:
            return got
        low = raw_value(self.table.raw(code))
        assert isinstance(low, str)
        spelt = None
        # Access keys are upper case: that spelling is looked up first; a case-blind
        # match scans the field's values (millions at 10M events: ~10 ms).
        keys = self.store.dicts[FIELD_INDEX["key"]]
        used = [c] if (c := keys.get(low.upper())) is not None else []
        if not used:
            used = keys.codes_folded(low.casefold())
        if used:
            spelt = self.store.values("key")[used[0]]
        else:
            try:
                event = self.store.event(row)
            except Exception:
                event = None
            for path in _PATHS:
                for v in values(event, path, lower=False) if event is not None else ():
                    if v is not CONTAINER and v.lower() == low:
                        spelt = v
                        break
                if spelt:
                    break
        spelt = spelt or low
        if len(self._spelt) < 100_000:
            self._spelt[code] = spelt
        return spelt


_make_lock = threading.Lock()


def credentials_of(store: Store) -> CredentialIndex:
    """The store's credential index, made on first use (`store.credentials`)."""
    idx = store.credentials
    if idx is None:
        with _make_lock:
            idx = store.credentials
            if idx is None:
                idx = store.credentials = CredentialIndex(store)
    return idx  # type: ignore[return-value]


def origin_lookup(store: Store) -> OriginLookup:
    """The case report's `OriginLookup` over a loaded trail: an annotated event's JSON ->
    one line saying where its credential came from, or None when it carries no key."""
    index = credentials_of(store)

    def origin_of(event: dict) -> str | None:
        key = _dict(event.get("userIdentity")).get("accessKeyId")
        if not isinstance(key, str) or not key:
            return None
        return index.chain_for_key(key, parse_time_ms(event.get("eventTime")), event).summary()

    return origin_of
