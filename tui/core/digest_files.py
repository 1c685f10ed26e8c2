"""CloudTrail digest files and the content they vouch for: parsing, file names, hashing,
and where an S3 object of the trail sits in a local copy.

A digest (``[prefix/]AWSLogs/[o-id/]account/CloudTrail-Digest/region/Y/M/D/account_
CloudTrail-Digest_region_trail_home-region_YYYYMMDDTHHMMSSZ[_backfill].json.gz``) lists the
log files delivered in its hour with the hex SHA-256 of their uncompressed content, and its
previous digest with the hex SHA-256 of that file's uncompressed content. The field names
are those of the AWS "CloudTrail digest file structure" page.

Read-only: files are opened for reading and hashed as a stream. Engine code: no Textual.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass

import orjson
from zlib_ng import zlib_ng

from .normalize import NO_TIME, parse_time_ms
from .reader import DEFAULT_MAX_BYTES

DIGEST_MAX_BYTES = 256 << 20  # uncompressed; a real digest is kilobytes to a few megabytes
HASH_ALGORITHM = "SHA-256"

_CHUNK = 1 << 20  # compressed bytes read at a time
_OUT = 4 << 20  # uncompressed bytes produced at a time
_GZIP_MAGIC = b"\x1f\x8b"

_DIGEST_NAME = re.compile(
    r"(\d{12})_CloudTrail-Digest_([^_/]+)_(.+)_([^_/]+)_(\d{8}T\d{6}Z)(_backfill)?\.json\.gz"
)
# The organization (if any), account and region of a digest's key.
DIGEST_KEY_LAYOUT = re.compile(
    r"AWSLogs/(?:(o-[a-z0-9]{10,32})/)?(\d{12})/CloudTrail-Digest/([^/]+)/"
)
_LOG_STAMP = re.compile(r"_(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)Z_")


class DigestFormatError(ValueError):
    """The bytes are not a CloudTrail digest file; the message says what is wrong."""


# --------------------------------------------------------------------------- digest files


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One element of a digest's ``logFiles``."""

    s3_bucket: str
    s3_object: str
    hash_value: str  # lower-case hex
    hash_algorithm: str


@dataclass(frozen=True, slots=True)
class DigestBody:
    """The fields of a digest file that verification uses."""

    account: str | None
    start: str  # digestStartTime as written (the signing string uses the end time verbatim)
    end: str
    start_ms: int
    end_ms: int
    bucket: str
    key: str
    fingerprint: str
    algorithm: str
    prev_bucket: str | None
    prev_key: str | None  # None in a starting digest
    prev_hash: str | None  # lower-case hex
    prev_hash_algorithm: str | None
    prev_signature: str | None
    log_files: tuple[LogEntry, ...]


def parse_digest(data: bytes) -> DigestBody:
    """The digest in `data` (uncompressed JSON). Raises DigestFormatError saying why not."""
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as e:
        raise DigestFormatError(f"not JSON ({e})") from None
    if not isinstance(doc, dict):
        raise DigestFormatError("not a JSON object")

    def optional_text(name: str) -> str | None:
        """The string `name`; None when absent (empty or not a string is an error)."""
        v = doc.get(name)
        if v is None:
            return None
        if v == "":
            raise DigestFormatError(f"{name} is missing")
        if not isinstance(v, str):
            raise DigestFormatError(f"{name} is not a string")
        return v

    def text(name: str) -> str:
        v = optional_text(name)
        if v is None:
            raise DigestFormatError(f"{name} is missing")
        return v

    start, end = text("digestStartTime"), text("digestEndTime")
    files = doc.get("logFiles")
    if not isinstance(files, list):
        raise DigestFormatError("logFiles is missing or not a list")
    entries = []
    for i, lf in enumerate(files, 1):
        if not isinstance(lf, dict):
            raise DigestFormatError(f"logFiles item {i} is not an object")
        keys = ("s3Bucket", "s3Object", "hashValue", "hashAlgorithm")
        vals = [v for k in keys if isinstance(v := lf.get(k), str) and v]
        if len(vals) != len(keys):
            raise DigestFormatError(
                f"logFiles item {i} lacks s3Bucket, s3Object, hashValue or hashAlgorithm"
            )
        entries.append(LogEntry(vals[0], vals[1], vals[2].strip().lower(), vals[3]))
    account = doc.get("awsAccountId")
    prev_hash = optional_text("previousDigestHashValue")
    return DigestBody(
        account=account if isinstance(account, str) else None,
        start=start,
        end=end,
        start_ms=parse_time_ms(start),
        end_ms=parse_time_ms(end),
        bucket=text("digestS3Bucket"),
        key=text("digestS3Object"),
        fingerprint=text("digestPublicKeyFingerprint"),
        algorithm=text("digestSignatureAlgorithm"),
        prev_bucket=optional_text("previousDigestS3Bucket"),
        prev_key=optional_text("previousDigestS3Object"),
        prev_hash=prev_hash.strip().lower() if prev_hash else None,
        prev_hash_algorithm=optional_text("previousDigestHashAlgorithm"),
        prev_signature=optional_text("previousDigestSignature"),
        log_files=tuple(entries),
    )


@dataclass(frozen=True, slots=True)
class DigestName:
    """What a digest's file name says: ``acct_CloudTrail-Digest_region_trail_home_stamp``."""

    account: str
    region: str
    trail: str
    home_region: str
    stamp: str  # YYYYMMDDTHHMMSSZ, the end of its hour
    backfill: bool


def parse_digest_name(key_or_path: str) -> DigestName | None:
    m = _DIGEST_NAME.fullmatch(re.split(r"[/\\]", key_or_path)[-1])
    if not m:
        return None
    acct, region, trail, home, stamp, backfill = m.groups()
    return DigestName(acct, region, trail, home, stamp, bool(backfill))


# --------------------------------------------------------------------------- hashing


@dataclass(slots=True)
class ContentHash:
    """SHA-256 of a file's uncompressed content (gunzipped when gzip by magic)."""

    sha256: str | None  # None when it could not be computed
    error: str = ""  # why not
    missing: bool = False  # the file does not exist
    note: str = ""  # something worth saying that leaves the hash valid
    md5: str | None = None  # of the file's bytes (an S3 ETag), when asked for
    data: bytes | None = None  # the uncompressed content, when asked for


class _TooLarge(Exception):
    pass


def hash_content(
    path: str, max_bytes: int = DEFAULT_MAX_BYTES, *, keep: bool = False, md5: bool = False
) -> ContentHash:
    """Hash one file as a stream: at most a few MiB are in memory whatever its size.

    All gzip members are inflated in order (what `gzip -dc` and trailscope's reader read);
    zero padding or other bytes after the last member are noted, not hashed. `max_bytes`
    caps the uncompressed size (against gzip bombs).
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        return ContentHash(None, "no such file", missing=True)
    except OSError as e:
        return ContentHash(None, _os_reason(e))
    with os.fdopen(fd, "rb", buffering=0) as f:
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                return ContentHash(None, "not a regular file")
            return _hash_stream(f, max_bytes, keep, md5)
        except OSError as e:
            return ContentHash(None, _os_reason(e))


def _hash_stream(f, max_bytes: int, keep: bool, want_md5: bool) -> ContentHash:
    h = hashlib.sha256()
    parts: list[bytes] = []
    raw_md5 = hashlib.md5(usedforsecurity=False) if want_md5 else None

    def read() -> bytes:
        chunk = f.read(_CHUNK)
        if raw_md5 is not None and chunk:
            raw_md5.update(chunk)
        return chunk

    def sink(b: bytes) -> None:
        h.update(b)
        if keep:
            parts.append(b)

    first = read()
    error = note = ""
    try:
        if first[:2] != _GZIP_MAGIC:  # already uncompressed: the file is the content
            total, buf = 0, first
            while buf:
                total += len(buf)
                if total > max_bytes:
                    raise _TooLarge
                sink(buf)
                buf = read()
        else:
            error, note = _gunzip_stream(first, read, sink, max_bytes)
    except _TooLarge:
        error = f"content is larger than the {_human(max_bytes)} cap"
    if error:
        return ContentHash(None, error)
    return ContentHash(
        h.hexdigest(),
        note=note,
        md5=raw_md5.hexdigest() if raw_md5 else None,
        data=b"".join(parts) if keep else None,
    )


def _gunzip_stream(
    buf: bytes, read: Callable[[], bytes], sink: Callable[[bytes], None], cap: int
) -> tuple[str, str]:
    """Inflate every gzip member into `sink`; (error, note)."""
    total = 0
    d = zlib_ng.decompressobj(31)
    while True:
        if not buf:
            buf = read()
            if not buf:
                return "gzip data ends early (the file is truncated)", ""
        try:
            total = _inflate(d, buf, sink, total, cap)
        except zlib_ng.error as e:  # type: ignore[misc]  # its stub types `error` as an instance
            return f"not valid gzip: {e}", ""
        if not d.eof:
            buf = b""
            continue
        buf = d.unused_data
        while len(buf) < 2:
            more = read()
            if not more:
                break
            buf += more
        if not buf:
            return "", ""
        if buf[:2] == _GZIP_MAGIC:  # another member: concatenated gzip files
            d = zlib_ng.decompressobj(31)
            continue
        extra, nonzero = len(buf), bool(buf.strip(b"\0"))
        while more := read():
            extra += len(more)
            nonzero = nonzero or bool(more.strip(b"\0"))
        note = f"{extra:,} bytes after the gzip data (not part of the content)" if nonzero else ""
        return "", note


def _inflate(d, data: bytes, sink: Callable[[bytes], None], total: int, cap: int) -> int:
    while True:
        out = d.decompress(data, _OUT)
        total += len(out)
        if total > cap:
            raise _TooLarge
        if out:
            sink(out)
        if d.eof:
            return total
        data = d.unconsumed_tail
        if not data and len(out) < _OUT:
            return total


# --------------------------------------------------------------------------- S3 keys -> copy


def locate(path: str, key: str) -> tuple[str, str, bool] | None:
    """Where `path` (a file in the copy) puts the bucket's ``AWSLogs/`` folder, given that
    the file is the object `key`: ``(root, key prefix, gunzipped)``.

    ``root`` joined with the key's part from ``AWSLogs/`` on gives `path` back; the key
    prefix (the part before ``AWSLogs/``) may be missing from, or different in, the copy.
    `gunzipped` says the copy holds the file without its ``.gz``. None: `path` is not `key`.
    """
    p = path.replace(os.sep, "/") if os.sep != "/" else path
    start = 0
    while (j := key.find("AWSLogs/", start)) >= 0:
        start = j + 1
        if j and key[j - 1] != "/":
            continue
        tail = key[j:]
        for t, gunzipped in ((tail, False), (tail[:-3], True)):
            if gunzipped and not tail.endswith(".gz"):
                continue
            if p == t or p.endswith("/" + t):
                return path[: len(path) - len(t)], key[:j], gunzipped
    return None


def map_key(root: str, prefix: str, key: str) -> str | None:
    """The path in the copy of object `key`, under `root` (see `locate`). None for a key
    that has no ``AWSLogs/`` part or would step out of the copy (``..``, empty parts)."""
    if prefix and key.startswith(prefix + "AWSLogs/"):
        tail = key[len(prefix) :]
    else:
        j = key.find("AWSLogs/")
        while j > 0 and key[j - 1] != "/":
            j = key.find("AWSLogs/", j + 1)
        if j < 0:
            return None
        tail = key[j:]
    parts = tail.split("/")
    seps = {s for s in (os.sep, os.altsep) if s and s != "/"}
    for part in parts:
        if part in ("", ".", "..") or "\0" in part or any(s in part for s in seps):
            return None
    return os.path.join(root, *parts)


def delivery_ms(path: str) -> int | None:
    """The delivery time a log file's name gives (``..._YYYYMMDDTHHmmZ_...``), or None."""
    m = _LOG_STAMP.search(os.path.basename(path))
    if not m:
        return None
    y, mo, d, h, mi = m.groups()
    t = parse_time_ms(f"{y}-{mo}-{d}T{h}:{mi}:00Z")
    return None if t == NO_TIME else t


def _os_reason(e: OSError) -> str:
    return (e.strerror or str(e) or type(e).__name__).lower()


def _human(n: int) -> str:
    for unit, div in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= div:
            return f"{n / div:g} {unit}"
    return f"{n:,} bytes"
