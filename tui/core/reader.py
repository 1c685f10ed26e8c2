"""Decode one trail file into event records, with a final state and a reason.

The happy path (a gzip'd `{"Records": [...]}` document) is one inflate and one
`orjson.loads`; it is the hot loop of ingest, so no per-record work happens there beyond
a type check done in C (`set(map(type, ...))`). Everything else in this module exists to
say precisely why a file did not load - without crashing, hanging, or allocating without
bound on hostile input.

JSON semantics worth knowing:
* Duplicate keys: the last one wins (both orjson and the stdlib fallback do this).
* Integers beyond 64 bits: orjson (>= 3.10) silently parses them as floats, so they load
  without the lenient fallback, with float precision.
* Record numbers in reasons are 1-based ("record 1" is the first), as are line numbers.
* Several documents one after another (`cat a.json b.json`, a gzip file of several
  members) are read as a stream, as `zcat | jq` reads them.
* Nesting: orjson reads up to 1,024 levels; `deepjson` gives the stdlib's results to the
  same depth without recursion, so no path here raises RecursionError.
"""

from __future__ import annotations

import os
import re
import stat
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import NamedTuple, cast

import orjson
from zlib_ng import zlib_ng

from . import deepjson

DEFAULT_MAX_BYTES = 1 << 30  # decompressed-size cap per file (configurable by caller)
MAX_BAD_SAMPLES = 5

_GZIP_MAGIC = b"\x1f\x8b"
_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
# Any of these marks a bare dict as a single CloudTrail event.
_EVENT_KEYS = ("eventTime", "eventName", "eventSource", "eventVersion")
# A \uD800-\uDFFF escape in JSON text: the only way the stdlib decoder yields surrogates.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_MISSING = object()
UTF8_REPLACED = "invalid UTF-8 replaced"  # a lenient label (see ReadResult.lenient)


class FileState(str, Enum):  # noqa: UP042 -- StrEnum would change str() of a state
    """Final state of one file; the values are the strings shown to users."""

    LOADED = "loaded"
    EMPTY = "empty"
    TRUNCATED = "truncated"
    # Failed an integrity check (gzip CRC, length or deflate data): what could be read
    # before the damage is loaded, and the file is reported.
    DAMAGED = "damaged"
    NOT_JSON = "not-json"
    NOT_CLOUDTRAIL = "not-cloudtrail"
    TOO_LARGE = "too-large"
    PERMISSION_DENIED = "permission-denied"
    VANISHED = "vanished"
    UNREADABLE = "unreadable"

    def __str__(self) -> str:  # f-strings and str() show the user-facing value
        return self.value


@dataclass(slots=True)
class ReadResult:
    state: FileState
    reason: str  # '' for a clean full load; otherwise one human sentence
    records: list[dict]  # the good event objects, in file order
    bad_records: int = 0  # records skipped inside an otherwise readable file
    bad_samples: list[str] = field(default_factory=list)  # up to MAX_BAD_SAMPLES reasons
    fmt: str = ""  # 'records' | 'lookup-events' | 'jsonl' | 'event' | ''
    raw: bytes = b""  # exactly the bytes read from disk
    size: int = 0  # size/mtime/inode/dev come from fstat of the opened fd
    mtime_ns: int = 0
    inode: int = 0
    dev: int = 0
    lenient: str = ""  # what the lenient fallback decoder had to accept, if it was needed


# --------------------------------------------------------------------------- reading


def read_path(path: str | os.PathLike, max_bytes: int = DEFAULT_MAX_BYTES) -> ReadResult:
    """Open, fstat and read one file (read-only), then decode it with `decode_bytes`."""
    got = read_raw(path, max_bytes)
    if isinstance(got, ReadResult):
        return got
    raw, stamp = got
    return _stamped(decode_bytes(raw, max_bytes), stamp)


def _stamped(result: ReadResult, stamp: dict[str, int]) -> ReadResult:
    """`result` with the file's fstat stamp (`read_raw`)."""
    result.size = stamp["size"]
    result.mtime_ns = stamp["mtime_ns"]
    result.inode = stamp["inode"]
    result.dev = stamp["dev"]
    return result


def read_raw(
    path: str | os.PathLike, max_bytes: int = DEFAULT_MAX_BYTES
) -> tuple[bytes, dict[str, int]] | ReadResult:
    """The file's bytes and its fstat stamp, or a ReadResult saying why not."""
    try:
        # O_NONBLOCK: opening a FIFO given by mistake must not block waiting for a writer;
        # it has no effect on regular files.
        f = open(path, "rb", opener=_open_nonblocking)  # closed by the `with` below
    except FileNotFoundError:
        return ReadResult(FileState.VANISHED, "file no longer exists", [])
    except PermissionError:
        return ReadResult(FileState.PERMISSION_DENIED, "permission denied", [])
    except IsADirectoryError:
        return ReadResult(FileState.UNREADABLE, "is a folder, not a file", [])
    except OSError as e:
        return ReadResult(FileState.UNREADABLE, _os_reason(e), [])
    with f:
        try:
            st = os.fstat(f.fileno())
            stamp = dict(size=st.st_size, mtime_ns=st.st_mtime_ns, inode=st.st_ino, dev=st.st_dev)
            if not stat.S_ISREG(st.st_mode):
                return _stamped(ReadResult(FileState.UNREADABLE, "not a regular file", []), stamp)
            if st.st_size > max_bytes:
                return _stamped(
                    ReadResult(
                        FileState.TOO_LARGE,
                        f"file is {st.st_size:,} bytes, over the {_human(max_bytes)} cap",
                        [],
                    ),
                    stamp,
                )
            raw = _read_capped(f, st.st_size, max_bytes)
        except PermissionError:
            return ReadResult(FileState.PERMISSION_DENIED, "permission denied", [])
        except OSError as e:
            return ReadResult(FileState.UNREADABLE, _os_reason(e), [])
    if len(raw) > max_bytes:  # the file grew past the cap after fstat
        return _stamped(
            ReadResult(FileState.TOO_LARGE, f"file grew past the {_human(max_bytes)} cap", []),
            stamp,
        )
    return raw, stamp


def _open_nonblocking(path: str, flags: int) -> int:
    return os.open(path, flags | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))


def _read_capped(f, size: int, max_bytes: int) -> bytes:
    """Read the whole file but never more than max_bytes + 1 bytes.

    Asks for size + 1 first so a small file never makes Python allocate a cap-sized buffer;
    only a file that grew since fstat needs the (rare) chunked loop.
    """
    want = min(size, max_bytes) + 1
    data = f.read(want)
    if len(data) < want or len(data) > max_bytes:
        return data
    parts = [data]
    total = len(data)
    while total <= max_bytes:
        chunk = f.read(min(1 << 20, max_bytes + 1 - total))
        if not chunk:
            break
        parts.append(chunk)
        total += len(chunk)
    return b"".join(parts)


def _os_reason(e: OSError) -> str:
    return e.strerror or str(e) or type(e).__name__


def _human(n: int) -> str:
    for unit, div in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= div:
            v = n / div
            return f"{v:.0f} {unit}" if v == int(v) else f"{v:.1f} {unit}"
    return f"{n:,} bytes"


# --------------------------------------------------------------------------- decoding


def decode_bytes(raw: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> ReadResult:
    """Decode the bytes of one file. Pure and deterministic: the same raw always gives
    the same records (the store re-decodes stored raw bytes and addresses by index)."""
    res = _decode(raw, max_bytes)
    res.raw = raw
    return res


def _decode(raw: bytes, max_bytes: int) -> ReadResult:
    got = inflate(raw, max_bytes)
    if isinstance(got, ReadResult):
        return got
    data, notes, damage = got
    res = _decode_text(data, notes)
    if damage:
        res = _damaged(res, data, damage)
    if notes:
        labels = notes + (res.lenient.split(", ") if res.lenient else [])
        res.lenient = ", ".join(dict.fromkeys(labels))  # ordered, without repeats
    return res


class Inflated(NamedTuple):
    data: bytes  # the JSON text
    notes: list[str]  # what was accepted about the file itself (BOM, UTF-16, padding...)
    damage: str = ""  # why the gzip data failed its checks ('' when intact)


def inflate(raw: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> Inflated | ReadResult:
    """The JSON text of a file's bytes (gunzipped if gzip by magic, BOM removed), with
    notes on anything lenient, or a ReadResult saying why there is none."""
    if not raw:
        return ReadResult(FileState.EMPTY, "file is empty (0 bytes)", [])
    if len(raw) > max_bytes:
        return ReadResult(FileState.TOO_LARGE, f"file is over the {_human(max_bytes)} cap", [])
    notes: list[str] = []
    damage = ""
    if raw[:2] == _GZIP_MAGIC:  # by content, not by name
        got = _gunzip(raw, max_bytes, notes)
        if isinstance(got, ReadResult):
            return got
        data, damage = got
        if not data:
            if damage:
                return ReadResult(FileState.NOT_JSON, damage, [])
            return ReadResult(FileState.EMPTY, "gzip data decompresses to nothing", [])
    else:
        data = raw

    if data[:3] == _UTF8_BOM:
        data = data[3:]
        notes.append("UTF-8 byte-order mark skipped")
    elif data[:2] in _UTF16_BOMS:
        # e.g. `aws cloudtrail lookup-events > out.json` in Windows PowerShell 5.
        try:
            data = data.decode("utf-16").encode("utf-8")
            notes.append("UTF-16 text converted")
        except UnicodeError:
            pass  # falls through to a NOT_JSON verdict from the parser
    return Inflated(data, notes, damage)


def _gunzip(raw: bytes, max_bytes: int, notes: list[str]) -> tuple[bytes, str] | ReadResult:
    """Inflate all gzip members (what `zcat` reads), never producing more than
    max_bytes + 1 bytes -> (text, damage). A member that fails its checks keeps what it
    decoded (see `_salvage_member`); `damage` then says why, and reading stops unless
    only the trailer's check failed."""
    parts: list[bytes] = []
    total = 0
    buf = raw
    damage = ""
    while True:
        d = zlib_ng.decompressobj(31)
        rest: bytes | None
        try:
            # max_length bounds the allocation: a gzip bomb stops at the cap.
            out = d.decompress(buf, max_bytes + 1 - total)
        except zlib_ng.error as e:  # type: ignore[misc]  # the stub types `error` as an instance
            out, rest, why = _salvage_member(buf, e)
            damage = damage or why
        else:
            rest = None
        total += len(out)
        parts.append(out)
        if total > max_bytes:
            return ReadResult(
                FileState.TOO_LARGE,
                f"decompresses to more than the {_human(max_bytes)} cap",
                [],
            )
        if rest is None:
            if not d.eof:
                return ReadResult(
                    FileState.TRUNCATED,
                    f"gzip stream ends early after {len(raw):,} bytes",
                    [],
                )
            rest = d.unused_data
        if not rest:
            break
        if rest[:2] == _GZIP_MAGIC:  # another member (concatenated gzip files)
            buf = rest
            continue
        if rest.strip(b"\0"):  # zero padding is normal; anything else is worth a note
            notes.append(f"{len(rest):,} trailing bytes after the gzip data ignored")
        break
    return (parts[0] if len(parts) == 1 else b"".join(parts)), damage


_SALVAGE_STEPS = (4096, 64, 1)  # compressed bytes per step, narrowing in on the damage


def _salvage_member(buf: bytes, err: Exception) -> tuple[bytes, bytes, str]:
    """A gzip member zlib refused, decoded again as far as it goes -> (its text up to
    the damage, the bytes after it (only when the deflate data itself was whole), why).

    zlib checks the CRC and length only at the member's end and then raises, dropping
    the whole text; raw deflate (no checks) keeps what decodes, and the trailer is
    checked here. A step that fails is retried in smaller steps from a copy of the
    decoder, so only the output of the last byte before the damage is lost. Only
    reached once zlib has refused the data."""
    head = _gzip_header_len(buf)
    if head is None:
        return b"", b"", f"not valid gzip: {err}"
    d = zlib_ng.decompressobj(-15)
    view = memoryview(buf)
    parts: list[bytes] = []
    pos = head
    problem = None
    for step in _SALVAGE_STEPS:
        problem = None
        while pos < len(buf) and not d.eof:
            saved = d.copy()  # type: ignore[attr-defined]  # zlib-ng's stub lacks copy()
            chunk = view[pos : pos + step]
            try:
                parts.append(d.decompress(chunk))
            except zlib_ng.error as e:  # type: ignore[misc]  # see _gunzip
                problem, d = e, saved
                break
            pos += len(chunk)
        if problem is None:
            break
    out = b"".join(parts)
    if problem is not None or not d.eof:
        if not out:
            return b"", b"", f"not valid gzip: {problem or err}"
        return out, b"", f"gzip data corrupt ({problem or err}): file altered or damaged"
    after = d.unused_data + bytes(view[pos:])
    if len(after) < 8:
        return out, b"", "gzip trailer missing: file altered or damaged"
    crc, size = struct.unpack("<II", after[:8])
    if crc != zlib.crc32(out):
        why = "gzip CRC mismatch: file altered or damaged"
    elif size != len(out) & 0xFFFFFFFF:
        why = "gzip length mismatch: file altered or damaged"
    else:  # pragma: no cover - zlib refused what decodes and checks out
        why = f"not valid gzip: {err}"
    return out, after[8:], why


def _gzip_header_len(buf: bytes) -> int | None:
    """Length of the gzip member header at the start of `buf` (RFC 1952), or None."""
    if len(buf) < 10 or buf[:2] != _GZIP_MAGIC or buf[2] != 8:
        return None
    flags, pos = buf[3], 10
    if flags & 4:  # FEXTRA
        if len(buf) < pos + 2:
            return None
        pos += 2 + int.from_bytes(buf[pos : pos + 2], "little")
    for bit in (8, 16):  # FNAME, FCOMMENT: zero-terminated
        if flags & bit:
            end = buf.find(b"\0", pos)
            if end < 0:
                return None
            pos = end + 1
    if flags & 2:  # FHCRC
        pos += 2
    return pos if pos <= len(buf) else None


def _damaged(res: ReadResult, data: bytes, damage: str) -> ReadResult:
    """The verdict on text that came out of damaged gzip data: what reads from it is
    kept (a Records document cut or garbled by the damage keeps the complete records
    before it) and the file is reported as damaged."""
    if not res.records:
        before = _records_before_damage(data)
        if before is None or not before.records:
            why = f"{damage}; nothing readable before the damage"
            if res.reason:
                why += f" ({res.reason})"
            return ReadResult(FileState.NOT_JSON, why, [], lenient=res.lenient)
        res = before
        what = f"the {counted(len(res.records), 'complete record')} before the damage kept"
    else:
        what = f"{counted(len(res.records), 'record')} read (their content may be altered)"
    res.state = FileState.DAMAGED
    res.reason = f"{damage}; {what}" + (f"; {res.reason}" if res.reason else "")
    return res


_RECORDS_HEAD = re.compile(r'[ \t\n\r]*\{[ \t\n\r]*"Records"[ \t\n\r]*:[ \t\n\r]*\[')
_RECORDS_TAIL = re.compile(r"\][ \t\n\r]*\}[ \t\n\r]*")
# JSON whitespace at a position: it matches the empty string, so never returns None.
_ws_at = cast(Callable[[str, int], re.Match[str]], re.compile(r"[ \t\n\r]*").match)


# A string or a bracket: enough to find where a value ends without parsing it.
_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')


def _records_before_damage(data: bytes) -> ReadResult | None:
    """The complete records of a `{"Records": [...]}` document up to where it stops
    being valid JSON, or None when it does not start like one (or none is complete)."""
    got = _each_record(data, skip_deep=False)
    return None if got is None else got[0]


def _each_record(data: bytes, skip_deep: bool) -> tuple[ReadResult, bool] | None:
    """The records of a `{"Records": [...]}` document read one by one, up to the first
    that does not parse -> (result, whether the document ended properly), or None when
    it does not start like one. `skip_deep`: a record nested deeper than any JSON reader
    here goes (MAX_DEPTH) is skipped by its brackets and counted as bad, so one such
    record does not cost the file's other records."""
    text = data.decode("utf-8", "replace")
    m = _RECORDS_HEAD.match(text)
    if m is None:
        return None
    acc = _Acc()
    pos = m.end()
    if text.startswith("]", pos):
        return None
    while True:
        pos = _ws_at(text, pos).end()
        acc.total += 1
        try:
            value, end = deepjson.raw_decode(text, pos)
        except deepjson.JSONDecodeError as e:
            skip = _value_end(text, pos) if skip_deep and e.msg == deepjson.DEPTH_ERROR else None
            if skip is None:
                acc.total -= 1
                break
            acc.reject(f"record {acc.total}: {deepjson.DEPTH_ERROR}")
            end = skip
        except ValueError:  # an integer with more digits than int() allows
            acc.total -= 1
            break
        else:
            if type(value) is dict:
                acc.good.append(value)
                label = _lenient_label(text[pos:end])
                if label:
                    acc.lenient[label] = None
            else:
                acc.reject(f"record {acc.total}: not a JSON object ({type(value).__name__})", True)
        pos = _ws_at(text, end).end()
        if not text.startswith(",", pos):
            break
        pos += 1
    if not acc.total:
        return None
    closed = _RECORDS_TAIL.fullmatch(text, pos) is not None
    if acc.good and "\ufffd" in text[:pos] and not _valid_utf8(data):
        acc.lenient[UTF8_REPLACED] = None
    return acc.result("records"), closed


def _value_end(text: str, pos: int) -> int | None:
    """Where the object or array at text[pos] ends, by its brackets alone."""
    if not text.startswith(("{", "["), pos):
        return None
    depth = 0
    for m in _TOKEN.finditer(text, pos):
        t = m.group()
        if t == "{" or t == "[":
            depth += 1
        elif t == "}" or t == "]":
            depth -= 1
            if not depth:
                return m.end()
    return None


def counted(n: int, noun: str) -> str:
    """'1 record', '2 records'."""
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def _valid_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


class _Acc:
    """Collects good records and bad-record reasons for the slow (non-Records) shapes."""

    __slots__ = ("good", "bad", "samples", "lenient", "total", "only_non_objects")

    def __init__(self) -> None:
        self.good: list[dict] = []
        self.bad = 0
        self.samples: list[str] = []
        self.lenient: dict[str, None] = {}  # ordered set
        self.total = 0
        self.only_non_objects = True  # picks the wording of the LOADED reason

    def reject(self, why: str, non_object: bool = False) -> None:
        self.bad += 1
        self.only_non_objects &= non_object
        if len(self.samples) < MAX_BAD_SAMPLES:
            self.samples.append(why)

    def wrapped(self, item: object, where: str) -> None:
        """One lookup-events item: {"EventId": ..., "CloudTrailEvent": "<json string>"}."""
        self.total += 1
        if type(item) is not dict:
            self.reject(f"{where}: not a JSON object ({type(item).__name__})", True)
            return
        inner = item.get("CloudTrailEvent")
        if type(inner) is dict:  # some tools store it already parsed
            self.good.append(inner)
            return
        if type(inner) is not str:
            self.reject(f"{where}: no CloudTrailEvent string")
            return
        self.inner(inner, where)

    def one_of_many(self, obj: object, where: str) -> None:
        """One value of JSON Lines or of documents one after another: an event, a
        lookup-events wrapper, or a whole Records document."""
        if type(obj) is not dict:
            self.total += 1
            self.reject(f"{where}: not a JSON object ({type(obj).__name__})", True)
            return
        if obj.get("CloudTrailEvent") is not None:
            self.wrapped(obj, where)
            return
        recs = obj.get("Records")
        if type(recs) is list:  # concatenated trail files
            for i, r in enumerate(recs, 1):
                self.total += 1
                if type(r) is dict:
                    self.good.append(r)
                else:
                    self.reject(f"{where} record {i}: not a JSON object ({type(r).__name__})", True)
            return
        self.total += 1
        self.good.append(obj)

    def inner(self, text: str, where: str) -> None:
        obj, label, err, _ = _loads_one(text)
        if err:
            self.reject(f"{where}: CloudTrailEvent is not valid JSON ({err})")
        elif type(obj) is not dict:
            self.reject(f"{where}: CloudTrailEvent is not a JSON object ({type(obj).__name__})")
        else:
            if label:
                self.lenient[label] = None
            self.good.append(obj)

    def result(self, fmt: str, unit: str = "records") -> ReadResult:
        lenient = ", ".join(self.lenient)
        if self.good:
            reason = ""
            if self.bad:
                if self.only_non_objects:
                    reason = f"{self.bad:,} of {self.total:,} {unit} are not JSON objects"
                else:
                    reason = (
                        f"{self.bad:,} of {self.total:,} {unit} skipped; first: {self.samples[0]}"
                    )
            return ReadResult(
                FileState.LOADED, reason, self.good, self.bad, self.samples, fmt, lenient=lenient
            )
        if self.total:
            return ReadResult(
                FileState.NOT_CLOUDTRAIL,
                f"none of the {self.total:,} {unit} is an event object; first: {self.samples[0]}",
                [],
                self.bad,
                self.samples,
                fmt,
                lenient=lenient,
            )
        return ReadResult(FileState.EMPTY, "no records", [], fmt=fmt, lenient=lenient)


# orjson reads integers beyond 64 bits as floats, silently changing the value. Text
# with a number token of 20+ digits is parsed by the stdlib instead (exact ints); a
# match inside a string only costs the slower parse, never a different value.
BIG_INT_LABEL = "integer beyond 64 bits"
_BIG_INT_B = re.compile(rb"[\[:,]\s*-?\d{20,}\s*[,\]}]")
_BIG_INT_S = re.compile(r"[\[:,]\s*-?\d{20,}\s*[,\]}]")


def has_big_int(text: bytes | str) -> bool:
    if isinstance(text, bytes):
        return _BIG_INT_B.search(text) is not None
    return _BIG_INT_S.search(text) is not None


def _exact(text: bytes | str, value: object) -> tuple[object, str]:
    """`value` (orjson's parse of `text`), re-parsed exactly if it may hold big ints."""
    if not has_big_int(text):
        return value, ""
    try:
        return deepjson.loads(text), BIG_INT_LABEL
    except ValueError:  # e.g. an integer with more digits than int() allows
        return value, ""


def _decode_text(data: bytes, notes: list[str]) -> ReadResult:
    try:
        doc = orjson.loads(data)  # the one call the happy path makes
        doc, label = _exact(data, doc)
        if label:
            notes.append(label)
    except orjson.JSONDecodeError as e:
        if not data or data.isspace():
            return ReadResult(FileState.EMPTY, "only whitespace", [])
        if e.msg.startswith(_AFTER_DOC):
            return _decode_many(data, str(e))
        doc, label, err, truncated = _lenient(data, e)
        if err:
            if err == deepjson.DEPTH_ERROR:
                # One record nested too deeply need not cost the file's other records.
                got = _each_record(data, skip_deep=True)
                if got is not None and got[1] and got[0].records:
                    return got[0]
            if err.startswith(_AFTER_DOC) or err.startswith("Extra data"):
                # Several documents, one needing the lenient decoder.
                return _decode_many(data, err)
            if truncated:
                return ReadResult(
                    FileState.TRUNCATED, f"JSON ends early ({err})", [], lenient=label
                )
            return ReadResult(FileState.NOT_JSON, f"not JSON: {err}", [], lenient=label)
        if label:
            notes.append(label)
    return _from_doc(doc)


# --------------------------------------------------------------------------- several documents
# `cat a.json b.json`, or a gzip file of several members each holding a whole document
# (`cat a.gz b.gz`, some copy tools): the text is documents one after another, which
# `zcat | jq` reads as a stream. Every document's records are loaded.

_AFTER_DOC = "unexpected content after document"


def _documents(text: str) -> tuple[list[tuple[object, int, int]], tuple[int, str, bool] | None]:
    """The JSON values of `text`, one after another -> ([(value, start, end)], None), or,
    where a value does not parse, the ones before it and (where, error, cut off)."""
    docs: list[tuple[object, int, int]] = []
    pos = _ws_at(text, 0).end()
    while pos < len(text):
        try:
            value, end = deepjson.raw_decode(text, pos)
        except deepjson.JSONDecodeError as e:
            cut = not text[e.pos :].strip() or e.msg.startswith("Unterminated string")
            return docs, (pos, str(e), cut)
        except ValueError as e:  # an integer with more digits than int() allows
            return docs, (pos, str(e), False)
        docs.append((value, pos, end))
        pos = _ws_at(text, end).end()
    return docs, None


def split_documents(data: bytes) -> list[tuple[int, int]] | None:
    """Byte spans of the documents when `data` holds several, one after another
    (JSON whitespace between them), else None. For the fast paths, which read each."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    docs, stop = _documents(text)
    if stop is not None or len(docs) < 2:
        return None
    if len(text) == len(data):  # ASCII: characters are bytes
        return [(s, e) for _, s, e in docs]
    spans = []
    at = done = 0  # byte offset of character `done`
    for _, s, e in docs:
        at += len(text[done:s].encode("utf-8"))
        start = at
        at += len(text[s:e].encode("utf-8"))
        spans.append((start, at))
        done = e
    return spans


def _decode_many(data: bytes, whole_err: str) -> ReadResult:
    """Text that holds more than one JSON document (see above), or JSON Lines."""
    label = ""
    if _valid_utf8(data):
        text = data.decode("utf-8")
    else:
        text, label = data.decode("utf-8", "replace"), UTF8_REPLACED
    docs, stop = _documents(text)
    one_per_line = (
        "\n" in text.strip()
        and all("\n" not in text[s:e] for _, s, e in docs)
        and all("\n" in text[a[2] : b[1]] for a, b in zip(docs, docs[1:], strict=False))
    )
    if not docs or (stop is not None and one_per_line):
        # JSON Lines with a bad line: read line by line, so later lines still count.
        return _decode_jsonl(data, whole_err)
    if stop is not None and stop[2]:
        k = len(docs) + 1
        return ReadResult(
            FileState.TRUNCATED, f"JSON ends early in document {k} ({stop[1]})", [], lenient=label
        )
    acc = _Acc()
    if label:
        acc.lenient[label] = None
    for k, (doc, s, e) in enumerate(docs, 1):
        label = _lenient_label(text[s:e])
        if label:
            acc.lenient[label] = None
        acc.one_of_many(doc, f"document {k}")
    if stop is not None:
        acc.total += 1
        acc.reject(f"after document {len(docs)}: the rest is not JSON ({stop[1]})")
    res = acc.result("jsonl", "records")
    if res.state is FileState.NOT_CLOUDTRAIL and stop is not None and not res.records:
        return ReadResult(FileState.NOT_JSON, f"not JSON: {whole_err}", [], lenient=res.lenient)
    return res


def _lenient_label(text: str) -> str:
    """What the stdlib accepted in `text` (one document) that orjson does not read the
    same way; '' when nothing."""
    try:
        orjson.loads(text)
    except orjson.JSONDecodeError as e:
        return _what_orjson_refused(e.msg, text, e.pos) or ""
    return BIG_INT_LABEL if has_big_int(text) else ""


def _from_doc(doc: object) -> ReadResult:
    if type(doc) is dict:
        recs = doc.get("Records", _MISSING)
        if recs is not _MISSING:
            if type(recs) is not list:
                return ReadResult(
                    FileState.NOT_CLOUDTRAIL, f"Records is a JSON {_jtype(recs)}, not a list", []
                )
            return _records(recs)
        events = doc.get("Events", _MISSING)
        if events is not _MISSING:
            if type(events) is not list:
                return ReadResult(
                    FileState.NOT_CLOUDTRAIL, f"Events is a JSON {_jtype(events)}, not a list", []
                )
            return _lookup(events)
        if any(k in doc for k in _EVENT_KEYS):
            return ReadResult(FileState.LOADED, "", [doc], fmt="event")
        keys = ", ".join(list(doc)[:5])
        return ReadResult(
            FileState.NOT_CLOUDTRAIL,
            "a JSON object without Records/Events" + (f" (keys: {keys})" if keys else ""),
            [],
        )
    if type(doc) is list:
        first = doc[0] if doc else None
        # `aws cloudtrail lookup-events --query Events` prints a bare array of wrappers.
        if type(first) is dict and type(first.get("CloudTrailEvent")) is str:
            return _lookup(doc)
        return _records(doc)
    return ReadResult(FileState.NOT_CLOUDTRAIL, f"a JSON {_jtype(doc)}", [])


def _records(recs: list) -> ReadResult:
    if not recs:
        return ReadResult(FileState.EMPTY, "no records", [], fmt="records")
    # One C-level pass; the list is returned as is when every record is an object.
    if set(map(type, recs)) == {dict}:
        return ReadResult(FileState.LOADED, "", recs, fmt="records")
    acc = _Acc()
    acc.total = len(recs)
    for i, r in enumerate(recs, 1):
        if type(r) is dict:
            acc.good.append(r)
        else:
            acc.reject(f"record {i}: not a JSON object ({type(r).__name__})", True)
    return acc.result("records")


def _lookup(events: list) -> ReadResult:
    acc = _Acc()
    for i, item in enumerate(events, 1):
        acc.wrapped(item, f"record {i}")
    return acc.result("lookup-events")


def _decode_jsonl(data: bytes, whole_err: str) -> ReadResult:
    """JSON Lines: one event (or lookup-events wrapper, or Records document) per line."""
    acc = _Acc()
    parsed_any = False
    lines = data.split(b"\n")
    last = len(lines)
    while last > 0 and (not lines[last - 1] or lines[last - 1].isspace()):
        last -= 1
    for n, line in enumerate(lines, 1):
        if not line or line.isspace():
            continue
        obj, label, err, truncated = _loads_one(line)
        if err:
            acc.total += 1
            if truncated and n == last:
                acc.reject(f"line {n}: cut off ({err})")
            else:
                acc.reject(f"line {n}: not JSON ({err})")
            continue
        parsed_any = True
        if label:
            acc.lenient[label] = None
        acc.one_of_many(obj, f"line {n}")
    if not parsed_any:
        # Nothing parsed line by line: the file is not JSON Lines, just broken JSON.
        return ReadResult(FileState.NOT_JSON, f"not JSON: {whole_err}", [])
    return acc.result("jsonl")


# --------------------------------------------------------------------------- lenient path


def _loads_one(text: bytes | str) -> tuple[object, str, str, bool]:
    """Parse one small document -> (value, lenient label, error, looks truncated)."""
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as e:
        return _lenient(text, e)
    value, label = _exact(text, value)
    return value, label, "", False


def _lenient(data: bytes | str, e: orjson.JSONDecodeError) -> tuple[object, str, str, bool]:
    """Retry a document orjson rejected -> (value, label, bare error text, truncated).

    Only reached off the happy path. Truncation is judged from orjson's own error, which
    is reliable ("unexpected end of data"); the stdlib decoder then covers what orjson is
    strict about: NaN/Infinity literals, lone surrogate escapes, numbers beyond a double.
    """
    label = ""
    msg = e.msg
    if isinstance(data, bytes) and "UTF-8" in msg:
        # Re-run the fast parser on replaced text so its precise errors still apply.
        text = data.decode("utf-8", "replace")
        label = UTF8_REPLACED
        try:
            return orjson.loads(text), label, "", False
        except orjson.JSONDecodeError as e2:
            e, msg = e2, e2.msg
    else:
        text = data if isinstance(data, str) else None  # type: ignore[assignment]
    if "depth limit" in msg:
        return None, label, deepjson.DEPTH_ERROR, False
    if "unexpected end" in msg or "EOF" in msg:
        return None, label, str(e), True
    if text is None:
        text = data.decode("utf-8", "replace")
    what = _what_orjson_refused(msg, text, e.pos)
    if what is None:  # plain syntax error: the stdlib would not accept it either
        return None, label, str(e), False
    try:
        value = deepjson.loads(text)
    except deepjson.JSONDecodeError as e3:
        rest_blank = not text[e3.pos :].strip()
        truncated = rest_blank or e3.msg.startswith("Unterminated string")
        return None, label, str(e3), truncated
    except ValueError as e3:  # e.g. an integer with more digits than int() allows
        return None, label, str(e3), False
    # Lone surrogates are kept as they are (evidence): the store re-serialises lenient
    # records with ensure_ascii (\\udXXX escapes) and the display escapes them.
    return value, ", ".join(x for x in (label, what) if x), "", False


# The labels of what only the stdlib reads exactly, and what each leaves in a record's
# canonical text (ensure_ascii JSON, see batch._canonical_lenient).
_STDLIB_ONLY = {
    "NaN literal": b"NaN",
    "Infinity literal": b"Infinity",
    "number beyond double range": b"Infinity",
    "lone surrogate escape": b"\\ud",
}


def record_lenient(canon: bytes, file_labels: str) -> list[str]:
    """Which of its file's lenient labels apply to one record, from the record's
    canonical text: what makes that event need (or be changed by) the lenient reading.
    Cheap when nothing applies; only called for files read leniently."""
    labels = file_labels.split(", ") if file_labels else []
    out = []
    if UTF8_REPLACED in labels and b"\\ufffd" in canon:
        out.append(UTF8_REPLACED)
    if BIG_INT_LABEL in labels and has_big_int(canon):
        out.append(BIG_INT_LABEL)
    stdlib = [x for x in labels if x in _STDLIB_ONLY]
    if stdlib:
        try:
            orjson.loads(canon)
        except orjson.JSONDecodeError:  # it holds one of them: say which where visible
            out += [x for x in stdlib if _STDLIB_ONLY[x] in canon] or stdlib
    return out


def _what_orjson_refused(msg: str, text: str, pos: int) -> str | None:
    if "surrogate" in msg:
        return "lone surrogate escape"
    if "infinity" in msg:
        return "number beyond double range"
    if text.startswith("NaN", pos):
        return "NaN literal"
    if text.startswith("Infinity", pos) or text.startswith("-Infinity", max(pos - 1, 0)):
        return "Infinity literal"
    return None


def _jtype(v: object) -> str:
    if v is None:
        return "null"
    if v is True or v is False:
        return "boolean"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    if isinstance(v, dict):
        return "object"
    return type(v).__name__
