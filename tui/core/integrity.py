"""Check a local copy of a trail against CloudTrail's digest files (log file integrity).

With log file validation on, CloudTrail delivers for each trail and region an hourly digest
under ``[prefix/]AWSLogs/[o-id/]account/CloudTrail-Digest/region/Y/M/D/``. It lists the log
files delivered in its hour with the SHA-256 of their uncompressed content, and names the
previous digest with the SHA-256 of that file's uncompressed content: a chain that goes back
to a starting digest (null previous fields: validation began, or was turned back on).
Backfill digests (``..._backfill.json.gz``) list late files and form chains of their own.

`verify` checks what a copy can show without AWS:

* each digest parses and sits where its ``digestS3Object`` says, from ``AWSLogs/`` on (the
  S3 prefix before it may have been dropped or renamed by the copy);
* each log file a digest names is at that place in the copy and its SHA-256 matches;
* each digest matches the hash its successor recorded; a successor naming a digest the copy
  lacks while older digests of the chain are present means a digest was deleted; chain
  starts, restarts, links that skip hours and digests the chain bypasses are reported;
* log files no digest names: inside the hours the digests of their account and region
  cover (an added file), or outside them (not verifiable here);
* signatures, when public keys are given (`digest_signing`).

Without verified signatures the result means "consistent with the digests": whoever could
rewrite the log files could have rewritten the digests to match. Only a signature that
verifies with AWS's public key shows that AWS wrote a digest.

Read-only: files are opened for reading and hashed as a stream (a 50 MB log file is never
held in memory; see `digest_files`); nothing is written anywhere. Engine code: no Textual.
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import StrEnum

from .digest_files import (
    DIGEST_KEY_LAYOUT,
    DIGEST_MAX_BYTES,
    HASH_ALGORITHM,
    ContentHash,
    DigestBody,
    DigestFormatError,
    DigestName,
    delivery_ms,
    hash_content,
    locate,
    map_key,
    parse_digest,
    parse_digest_name,
)
from .digest_signing import (
    SIGNATURE_ALGORITHM,
    KeyRing,
    SignatureBook,
    signing_string,
    verify_signature,
)
from .discovery import discover
from .normalize import NO_TIME, format_time, parse_time_ms
from .reader import DEFAULT_MAX_BYTES

# A file whose delivery time (from its name, minute precision) lies this far inside the
# hours its account's and region's digests cover should have been listed by one of them.
UNLISTED_MARGIN_MS = 10 * 60_000

_KEY_DATE = re.compile(r"/\d{4}/\d\d/\d\d/")
_KEY_STAMP = re.compile(r"\d{8}T\d{6}Z")


class FileState(StrEnum):
    VERIFIED = "verified"  # the SHA-256 a digest records for it matches
    MODIFIED = "modified"  # it does not
    MISSING = "missing"  # a digest lists it; the copy does not have it
    NOT_COVERED = "not covered"  # no digest lists it
    UNVERIFIABLE = "unverifiable"  # listed, but it cannot be hashed or its digest is bad


class DigestState(StrEnum):
    OK = "ok"
    MODIFIED = "modified"  # differs from the hash its successor recorded
    MOVED = "moved"  # its path in the copy is not its digestS3Object
    UNREADABLE = "unreadable"  # not gzip/JSON, not a digest, or cannot be read
    MISSING = "missing"  # named as previous by a digest, absent from the copy
    BAD_SIGNATURE = "bad signature"


class SignatureState(StrEnum):
    VERIFIED = "verified"
    FAILED = "failed"
    NO_SIGNATURE = "no signature"  # none supplied and no successor in the copy repeats it
    NO_KEY = "no key"  # no supplied public key has its fingerprint
    UNSUPPORTED = "unsupported"  # not SHA256withRSA
    NOT_CHECKED = "not checked"  # no public keys given


# --------------------------------------------------------------------------- results


@dataclass(slots=True)
class DigestCheck:
    """One digest file of the copy (or one the chain names that the copy lacks)."""

    path: str
    state: DigestState = DigestState.OK
    reason: str = ""
    body: DigestBody | None = None
    name: DigestName | None = None
    sha256: str | None = None  # of the uncompressed content
    md5: str | None = None  # of the file's bytes, to match an S3 ETag
    root: str | None = None  # see `locate`
    prefix: str = ""
    org: str | None = None
    account: str | None = None
    region: str | None = None
    chain: str = ""  # how it links to its previous digest (a short phrase)
    signature: SignatureState = SignatureState.NOT_CHECKED
    files_listed: int = 0
    files_verified: int = 0

    @property
    def end(self) -> str:
        if self.body is not None:
            return self.body.end
        return _stamp_iso(self.name.stamp) if self.name else ""

    @property
    def trustworthy(self) -> bool:
        return self.state is DigestState.OK


@dataclass(slots=True)
class FileCheck:
    path: str
    state: FileState
    reason: str = ""
    digest: str | None = None  # the digest that lists it
    s3_object: str | None = None
    expected: str | None = None  # SHA-256 in the digest
    actual: str | None = None  # SHA-256 of the copy
    signed: bool = False  # the digest that lists it has a verified signature
    fails: bool = False  # counts against the verdict
    account: str | None = None
    region: str | None = None
    delivered: str | None = None  # delivery time from its name


@dataclass(frozen=True, slots=True)
class Finding:
    severity: str  # "fail" (inconsistent with the digests) | "note"
    kind: str  # a short stable word, e.g. "modified", "missing-digest"
    path: str  # the file concerned
    message: str


@dataclass(slots=True)
class Report:
    digests: list[DigestCheck] = field(default_factory=list)
    files: list[FileCheck] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    keys_given: bool = False

    def fail(self, kind: str, path: str, message: str) -> None:
        self.findings.append(Finding("fail", kind, path, message))

    def note(self, kind: str, path: str, message: str) -> None:
        self.findings.append(Finding("note", kind, path, message))

    @property
    def failed(self) -> bool:
        return any(f.severity == "fail" for f in self.findings)

    @property
    def present(self) -> list[DigestCheck]:
        return [d for d in self.digests if d.state is not DigestState.MISSING]

    @property
    def verdict(self) -> str:
        """'inconsistent', 'nothing to verify', 'signed' (every digest's signature
        verified) or 'consistent' (with the digests; not proof that AWS wrote them)."""
        if self.failed:
            return "inconsistent"
        present = self.present
        if not present:
            return "nothing to verify"
        if self.keys_given and all(d.signature is SignatureState.VERIFIED for d in present):
            return "signed"
        return "consistent"


# --------------------------------------------------------------------------- verify


def verify(
    paths: Iterable[str | os.PathLike],
    *,
    keys: KeyRing | None = None,
    signatures: SignatureBook | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    jobs: int | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> Report:
    """Check the trail copies under `paths` against their digest files (module docstring).

    `keys` and `signatures` come from `digest_signing.load_public_keys` / `load_signatures`.
    `on_progress(done, total)` is called as log files are hashed. Never raises on data.
    """
    rep = Report(keys_given=keys is not None)
    found = discover(paths)
    for path, reason in found.errors:
        rep.fail("unreadable", path, f"cannot be read: {reason}")

    digests = _pmap(lambda tf: read_digest(tf.path), found.digests, jobs)
    by_path: dict[str, DigestCheck] = {}
    for d in digests:
        by_path[_key(d.path)] = d
        if d.state is DigestState.UNREADABLE:
            rep.fail("unreadable-digest", d.path, f"digest file unusable: {d.reason}")
    listed = _locate_all(digests, rep)
    successors, missing = _check_chains(digests, by_path, rep)
    _check_signatures(digests, successors, keys, signatures, rep)
    rep.digests = digests + missing

    targets = list(listed.items())
    hashes = _pmap(lambda kv: _hash_listed(kv[1][0], max_bytes), targets, jobs, on_progress)
    named = set(listed)
    for (_, (path, entries)), got in zip(targets, hashes, strict=True):
        rep.files.append(_file_check(path, entries, got, rep))
        named.add(_key(got[0]))  # the file hashed, maybe the listed one without .gz
    _check_unlisted(found.files, named, digests, missing, rep)
    rep.digests.sort(key=_digest_order)
    rep.files.sort(key=lambda f: f.path)
    return rep


def read_digest(path: str) -> DigestCheck:
    d = DigestCheck(path, name=parse_digest_name(path))
    got = hash_content(path, DIGEST_MAX_BYTES, keep=True, md5=True)
    if got.sha256 is None:
        d.state, d.reason = DigestState.UNREADABLE, got.error
        return d
    d.sha256, d.md5 = got.sha256, got.md5
    try:
        d.body = parse_digest(got.data or b"")
    except DigestFormatError as e:
        d.state, d.reason = DigestState.UNREADABLE, f"not a digest file: {e}"
        return d
    d.name = parse_digest_name(d.body.key) or d.name
    m = DIGEST_KEY_LAYOUT.search(d.body.key)
    if m:
        d.org, d.account, d.region = m.groups()
    return d


def _locate_all(digests: list[DigestCheck], rep: Report) -> dict[str, tuple[str, list]]:
    """Place each digest in the copy and collect the log files each names:
    {normalised path: (path, [(digest, LogEntry)])}."""
    listed: dict[str, tuple[str, list]] = {}
    for d in digests:
        if d.body is None:
            continue
        where = locate(d.path, d.body.key)
        if where is None:
            d.state = DigestState.MOVED
            d.reason = f"its path is not its digestS3Object {d.body.key}"
            rep.fail(
                "moved-digest",
                d.path,
                f"digest is not where its content says it was "
                f"delivered ({d.body.key}); its log files are not checked",
            )
            continue
        d.root, d.prefix, gunzipped = where
        if gunzipped:
            rep.note(
                "gunzipped",
                d.path,
                "digest kept without its .gz (hashes are of the "
                "uncompressed content, so this changes nothing)",
            )
        for e in d.body.log_files:
            d.files_listed += 1
            lp = map_key(d.root, d.prefix, e.s3_object)
            if lp is None:
                rep.fail(
                    "unsafe-key",
                    d.path,
                    f"lists an object key that is not a place in the copy: {e.s3_object}",
                )
                continue
            listed.setdefault(_key(lp), (lp, []))[1].append((d, e))
    return listed


def _chain_id(d: DigestCheck) -> tuple:
    tail = d.body.key[len(d.prefix) :] if d.body else d.path
    masked = _KEY_STAMP.sub("*", _KEY_DATE.sub("/*/", tail))
    return (_key(d.root or ""), masked)


class _Chains:
    """Links between the digests of a copy, built by `_check_chains`."""

    def __init__(self) -> None:
        self.successors: dict[str, list[DigestCheck]] = defaultdict(list)  # by previous
        self.missing: dict[str, DigestCheck] = {}  # named as previous, absent


def _check_chains(
    digests: list[DigestCheck], by_path: dict[str, DigestCheck], rep: Report
) -> tuple[dict[str, list[DigestCheck]], list[DigestCheck]]:
    """Follow each digest's previous link, chain by chain (trail, region, backfill or not).
    Returns {normalised path: digests naming it as previous} and the digests named as
    previous that the copy lacks."""
    groups: dict[tuple, list[DigestCheck]] = defaultdict(list)
    for d in digests:
        if d.body is not None and d.root is not None:
            groups[_chain_id(d)].append(d)
    chains = _Chains()
    for group in groups.values():
        group.sort(key=lambda d: (d.body.end_ms, d.path))  # type: ignore[union-attr]
        for i, d in enumerate(group):
            d.chain = _link(d, group[i - 1] if i else None, by_path, chains, rep)
        _check_bypassed(group, chains, rep)
    return chains.successors, list(chains.missing.values())


def _link(
    d: DigestCheck,
    older: DigestCheck | None,
    by_path: dict[str, DigestCheck],
    chains: _Chains,
    rep: Report,
) -> str:
    """Check `d` against the previous digest it names; return how it links (a phrase).
    `older` is the chain's digest just before `d` in time, if the copy has one."""
    b = d.body
    assert b is not None and d.root is not None
    if b.prev_key is None:
        if older is None:
            rep.note(
                "chain-start",
                d.path,
                "starting digest: the chain begins here (validation was turned on)",
            )
            return "start"
        rep.note(
            "restart",
            d.path,
            f"starting digest after {older.end}: validation or "
            f"logging was off; no digest covers {older.end} .. {b.start}",
        )
        return "restart"
    prev = map_key(d.root, d.prefix, b.prev_key)
    if prev is None:
        rep.fail(
            "unsafe-key",
            d.path,
            f"names a previous digest that is not a place in the copy: {b.prev_key}",
        )
        return "previous key unusable"
    p = by_path.get(_key(prev))
    if p is None:
        if os.path.lexists(prev):
            rep.note(
                "previous-outside",
                d.path,
                f"its previous digest {prev} is not under "
                "the paths given; that link is not checked",
            )
            return "previous outside the paths"
        if older is None:
            rep.note(
                "copy-starts",
                d.path,
                f"the copy starts here: its previous digest {prev} is not in the copy",
            )
            return "previous not in copy"
        rep.fail(
            "missing-digest",
            prev,
            f"digest missing: {d.path} names it as its "
            "previous, and older digests of the chain are present (deleted?)",
        )
        chains.missing.setdefault(
            _key(prev),
            DigestCheck(
                prev,
                DigestState.MISSING,
                f"named as previous by {d.path}",
                name=parse_digest_name(prev),
                root=d.root,
                org=d.org,
                account=d.account,
                region=d.region,
                chain="missing",
            ),
        )
        return "previous missing"
    chains.successors[_key(p.path)].append(d)
    if p.body is None:
        return "previous unreadable"
    if p.body.end_ms != b.start_ms:
        rep.note(
            "time-gap", d.path, f"starts at {b.start} but its previous digest ends at {p.body.end}"
        )
    if (b.prev_hash_algorithm or HASH_ALGORITHM).upper() != HASH_ALGORITHM:
        rep.fail(
            "unsupported-hash",
            d.path,
            f"previous digest hash algorithm {b.prev_hash_algorithm} is not SHA-256",
        )
        return "previous unchecked"
    if p.sha256 != b.prev_hash:
        if p.state is DigestState.OK:
            p.state = DigestState.MODIFIED
            p.reason = f"differs from the SHA-256 {d.path} records"
        rep.fail(
            "modified-digest",
            p.path,
            f"digest modified: SHA-256 {p.sha256}, its successor {d.path} records {b.prev_hash}",
        )
        return "previous modified"
    if b.prev_bucket is not None and b.prev_bucket != p.body.bucket:
        rep.fail(
            "bucket-mismatch",
            d.path,
            f"names its previous digest in bucket "
            f"{b.prev_bucket}, but that digest says {p.body.bucket}",
        )
        return "previous in another bucket"
    return "linked"


# How a digest links when it names no digest the copy holds: the digest before it in time
# then legitimately has no successor.
_UNLINKED = ("restart", "previous missing", "previous outside the paths", "previous key unusable")


def _check_bypassed(group: list[DigestCheck], chains: _Chains, rep: Report) -> None:
    """Each digest but a chain's last is the previous of exactly one digest."""
    for i, d in enumerate(group):
        names = chains.successors.get(_key(d.path), [])
        if len(names) > 1:
            rep.fail(
                "forked-chain",
                d.path,
                f"named as previous by {len(names)} digests: " + ", ".join(n.path for n in names),
            )
        nxt = group[i + 1] if i + 1 < len(group) else None
        if not names and nxt is not None and nxt.chain not in _UNLINKED:
            rep.fail(
                "skipped-digest",
                d.path,
                f"no digest names it as previous, though {nxt.path} follows it: the chain skips it",
            )


def _check_signatures(
    digests: list[DigestCheck],
    successors: dict[str, list[DigestCheck]],
    keys: KeyRing | None,
    book: SignatureBook | None,
    rep: Report,
) -> None:
    if keys is None:
        if book is not None and book.count:
            rep.note("no-keys", "", "signatures were given without public keys: not checked")
        return
    for d in digests:
        if d.body is not None and d.sha256 is not None and d.state is not DigestState.MOVED:
            d.signature = _check_signature(d, keys, _signatures_for(d, successors, book, rep), rep)
    if book is not None:
        # A signature exported for a digest the copy lacks: the newest digest of a chain
        # deleted from the copy shows only this way.
        here = {os.path.basename(d.body.key) for d in digests if d.body is not None}
        here |= {os.path.basename(d.path) for d in digests}
        for name in sorted(set(book.by_name) - here):
            rep.note(
                "signature-unused",
                "",
                f"a signature was given for digest {name}, "
                "which is not in the copy (not copied, outside the paths given, or "
                "deleted)",
            )


def _signatures_for(
    d: DigestCheck,
    successors: dict[str, list[DigestCheck]],
    book: SignatureBook | None,
    rep: Report,
) -> list[tuple[str, str]]:
    """(hex signature, where it came from) for `d`: exported by the user, and repeated by
    the digests that name it as previous (as good as the S3 metadata: either verifies)."""
    b = d.body
    assert b is not None
    found: list[tuple[str, str]] = []
    if book is not None:
        for s in book.lookup(os.path.basename(b.key), d.md5):
            if s.algorithm and s.algorithm != SIGNATURE_ALGORITHM:
                rep.note(
                    "signature-algorithm",
                    d.path,
                    f"{s.source}: algorithm {s.algorithm} is not {SIGNATURE_ALGORITHM}; ignored",
                )
                continue
            found.append((s.signature, s.source))
    for succ in successors.get(_key(d.path), []):
        if succ.body is not None and succ.body.prev_signature:
            found.append(
                (
                    succ.body.prev_signature.strip().lower(),
                    f"previousDigestSignature of {succ.path}",
                )
            )
    return found


def _check_signature(
    d: DigestCheck, keys: KeyRing, candidates: list[tuple[str, str]], rep: Report
) -> SignatureState:
    b = d.body
    assert b is not None and d.sha256 is not None
    if b.algorithm != SIGNATURE_ALGORITHM:
        rep.note(
            "signature-algorithm",
            d.path,
            f"signed with {b.algorithm}, which trailscope cannot check",
        )
        return SignatureState.UNSUPPORTED
    if not candidates:
        rep.note(
            "no-signature",
            d.path,
            "no signature for this digest: none was given and no "
            "later digest in the copy repeats it (export its x-amz-meta-signature)",
        )
        return SignatureState.NO_SIGNATURE
    key = keys.find(b.fingerprint)
    if key is None:
        rep.note("no-key", d.path, f"no public key given has fingerprint {b.fingerprint}")
        return SignatureState.NO_KEY
    message = signing_string(b.end, b.bucket, b.key, d.sha256, b.prev_signature)
    results = {
        sig: (verify_signature(key.key, sig, message), src) for sig, src in reversed(candidates)
    }  # one check per distinct signature
    if any(ok for ok, _ in results.values()):
        for ok, src in results.values():
            if not ok:
                rep.fail(
                    "bad-signature",
                    d.path,
                    f"signature from {src} does not verify (another one does)",
                )
        return SignatureState.VERIFIED
    if d.state is DigestState.OK:
        d.state, d.reason = DigestState.BAD_SIGNATURE, "signature does not verify"
    srcs = "; ".join(src for _, src in results.values())
    rep.fail(
        "bad-signature", d.path, f"signature does not verify with key {b.fingerprint} ({srcs})"
    )
    return SignatureState.FAILED


def _hash_listed(path: str, max_bytes: int) -> tuple[str, ContentHash]:
    """(path hashed, hash): the listed path, or the same without .gz if only that exists."""
    got = hash_content(path, max_bytes)
    if got.missing and path.endswith(".gz"):
        alt = hash_content(path[:-3], max_bytes)
        if not alt.missing:
            alt.note = "kept without its .gz" + (f"; {alt.note}" if alt.note else "")
            return path[:-3], alt
    return path, got


def _file_check(path: str, entries: list, got: tuple[str, ContentHash], rep: Report) -> FileCheck:
    where, h = got
    digest, first = entries[0]
    fc = FileCheck(
        where,
        FileState.VERIFIED,
        digest=digest.path,
        s3_object=first.s3_object,
        expected=first.hash_value,
        actual=h.sha256,
        account=digest.account,
        region=digest.region,
        delivered=_delivered(where),
    )
    if h.missing:
        fc.state, fc.fails = FileState.MISSING, True
        fc.reason = "listed in the digest, not in the copy"
        rep.fail("missing", path, f"log file missing (listed in {digest.path})")
        return fc
    if h.sha256 is None:
        fc.state, fc.reason, fc.fails = FileState.UNVERIFIABLE, h.error, True
        rep.fail("unverifiable", where, f"cannot hash the log file: {h.error}")
        return fc
    for d, e in entries:
        if e.hash_algorithm.upper() != HASH_ALGORITHM:
            fc.state, fc.fails = FileState.UNVERIFIABLE, True
            fc.reason = f"{d.path} gives a {e.hash_algorithm} hash, not SHA-256"
            rep.fail("unsupported-hash", where, fc.reason)
            return fc
        if e.hash_value != h.sha256:
            fc.state, fc.fails = FileState.MODIFIED, True
            fc.digest, fc.expected = d.path, e.hash_value
            fc.reason = "content differs from the SHA-256 in its digest"
            rep.fail(
                "modified",
                where,
                f"log file modified: SHA-256 {h.sha256}, {d.path} records {e.hash_value}",
            )
            return fc
    bad = [d for d, _ in entries if not d.trustworthy]
    if bad:
        fc.state, fc.fails, fc.digest = FileState.UNVERIFIABLE, True, bad[0].path
        fc.reason = f"matches its digest, but the digest is {bad[0].state}"
        rep.fail(
            "unverifiable",
            where,
            f"log file matches {bad[0].path}, which is {bad[0].state}: not verified",
        )
        return fc
    fc.reason = h.note
    fc.signed = all(d.signature is SignatureState.VERIFIED for d, _ in entries)
    for d, _ in entries:
        d.files_verified += 1
    if len(entries) > 1:
        fc.reason = (fc.reason + "; " if fc.reason else "") + f"listed by {len(entries)} digests"
    return fc


def _check_unlisted(
    files: Sequence,
    named: set[str],
    digests: list[DigestCheck],
    missing: list[DigestCheck],
    rep: Report,
) -> None:
    """Log files of the copy that no digest names.

    A file's name gives its account, region and delivery time, not its trail. Where several
    trails with digests log the same account and region, a file is an addition only if the
    digests of every one of them cover its delivery time (its own trail would list it).
    """
    per_trail: dict[tuple, dict[tuple, list[list[int]]]] = defaultdict(lambda: defaultdict(list))
    for d in digests:
        if d.body is not None and d.root is not None and d.body.start_ms != NO_TIME:
            place = (_key(d.root), d.org, d.account, d.region)
            per_trail[place][_trail_id(d)].append([d.body.start_ms, d.body.end_ms])
    missing_ends: dict[tuple, list[int]] = defaultdict(list)  # deleted digests' hours
    for d in missing:
        if d.name is not None and d.root is not None:
            missing_ends[(_key(d.root), d.org, d.account, d.region)].append(
                parse_time_ms(_stamp_iso(d.name.stamp))
            )
    outside = 0
    for tf in files:
        if _key(tf.path) in named:
            continue
        p = tf.path.replace(os.sep, "/") if os.sep != "/" else tf.path
        i = p.rfind("/AWSLogs/")
        root = tf.path[: i + 1] if i >= 0 else ("" if p.startswith("AWSLogs/") else None)
        # () when the file is outside an AWSLogs/ tree: no trail or digest is keyed so.
        where = (_key(root), tf.org, tf.account, tf.region) if root is not None else ()
        trails = per_trail.get(where, {})
        t = delivery_ms(tf.path)
        fc = FileCheck(
            tf.path,
            FileState.NOT_COVERED,
            account=tf.account,
            region=tf.region,
            delivered=None if t is None else format_time(t),
        )
        if not trails:
            fc.reason = "no digest of its account and region is in the copy"
        elif tf.kind != "log":
            fc.reason = "an Insights file no digest lists"
        elif t is None:
            fc.reason = "its name has no delivery time"
        elif all(_inside(t, _merge(iv)) for iv in trails.values()):
            fc.fails = True
            fc.reason = "delivered within the hours the digests cover, yet no digest lists it"
            rep.fail(
                "unlisted",
                tf.path,
                f"log file no digest lists, delivered "
                f"{format_time(t)} within the hours the digests of its account and region "
                "cover: an added file (or a file of another trail without digests)",
            )
        else:
            union = _merge([iv for ivs in trails.values() for iv in ivs])
            if _inside(t, union):
                fc.reason = (
                    "delivered in hours the digests of only some of the trails logging here cover"
                )
            elif t < union[0][0] + UNLISTED_MARGIN_MS:
                fc.reason = "delivered before the first digest of its account and region"
            elif t > union[-1][1] - UNLISTED_MARGIN_MS:
                fc.reason = "delivered after the newest digest of its account and region"
            elif _in_missing_hours(t, union, missing_ends.get(where, ())):
                fc.reason = "delivered in the hours of a digest missing from the copy"
            else:
                fc.reason = "delivered while no digest was being written"
        if not fc.fails:
            outside += 1
        rep.files.append(fc)
    if outside:
        rep.note(
            "not-covered",
            "",
            f"{outside:,} log file(s) that no digest lists and that none had to list: not verified",
        )


def _trail_id(d: DigestCheck) -> tuple:
    """The trail a digest belongs to; its backfill digests count as the same trail."""
    if d.name is not None:
        return (d.name.account, d.name.region, d.name.trail, d.name.home_region)
    return _chain_id(d)


def _merge(intervals: list[list[int]]) -> list[list[int]]:
    """Sorted, merged intervals; digests of consecutive hours touch and merge."""
    out: list[list[int]] = []
    for lo, hi in sorted(intervals):
        if out and lo <= out[-1][1] + 60_000:
            out[-1][1] = max(out[-1][1], hi)
        else:
            out.append([lo, hi])
    return out


def _in_missing_hours(t: int, merged: list[list[int]], missing_ends: Sequence[int]) -> bool:
    """Whether `t` lies in a hole between covered hours that a missing digest closed."""
    hole_lo = max((hi for _, hi in merged if hi <= t), default=None)
    hole_hi = min((lo for lo, _ in merged if lo >= t), default=None)
    if hole_lo is None or hole_hi is None:
        return False
    return any(hole_lo < end <= hole_hi + UNLISTED_MARGIN_MS for end in missing_ends)


def _inside(t: int, merged: list[list[int]]) -> bool:
    return any(lo + UNLISTED_MARGIN_MS <= t <= hi - UNLISTED_MARGIN_MS for lo, hi in merged)


# --------------------------------------------------------------------------- helpers


def _pmap(fn, items: Sequence, jobs: int | None, on_progress=None) -> list:
    """fn over items in threads (inflate and SHA-256 release the GIL), in order."""
    workers = jobs or min(8, os.cpu_count() or 1)
    total = len(items)
    if workers <= 1 or total < 2:
        out = []
        for i, it in enumerate(items, 1):
            out.append(fn(it))
            if on_progress:
                on_progress(i, total)
        return out
    out = []
    with ThreadPoolExecutor(max_workers=workers) as ex:
        for i, r in enumerate(ex.map(fn, items), 1):
            out.append(r)
            if on_progress:
                on_progress(i, total)
    return out


def _key(path: str) -> str:
    return os.path.normcase(os.path.abspath(path))


def _delivered(path: str) -> str | None:
    t = delivery_ms(path)
    return None if t is None else format_time(t)


def _stamp_iso(stamp: str) -> str:
    s = stamp
    return f"{s[0:4]}-{s[4:6]}-{s[6:8]}T{s[9:11]}:{s[11:13]}:{s[13:15]}Z"


def _digest_order(d: DigestCheck) -> tuple:
    n = d.name
    ident = (
        (n.account, n.region, n.trail, n.home_region, n.backfill) if n else ("", "", "", "", False)
    )
    return (d.root or "", *ident, d.end, d.path)
