"""JSON paths into an event: how filters spell them, and which values a path selects.

Spelling (docs/query.md, "Paths"): `additionalEventData.MFAUsed`, `resources[0].ARN`,
`requestParameters["x-amz-acl"]`, and a lone top-level key with a leading dot,
`.requestID` (without it the name would read as an indexed field). A bracket holds an
array index or a quoted key; the quoted form takes the filter language's escapes (`\\"`,
`\\\\`, `\\xHH`, `\\uHHHH`, `\\UHHHHHHHH`) and JSON's (`\\n`, `\\t`, `\\/` ...).
`format_path` writes the one canonical spelling the detail tree and the filter share.

What a path selects in an event (`values`), the one rule the C scan and the Python
walk both follow:
- keys match ignoring case (`str.lower` on both sides); where an object holds keys
  that differ only in case, each of them counts (a key repeated exactly counts once,
  with its last value, as the JSON decoder and the detail tree keep it);
- a key step looks through arrays: it applies to every element, nested arrays too, so
  `resources.ARN` holds the ARN of each resource; `[N]` picks one element;
- an array at the end yields its elements;
- a string is its text, a number or boolean its JSON text (`true`, `3600`); null, "",
  {} and [] are no value; a non-empty object at the end is present (`has:`) but has
  no value to match.
Values are kept lower-cased (matching ignores case); `value_in` finds a value's
original spelling in an event for display.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

import orjson

from . import deepjson
from .normalize import text
from .reader import has_big_int
from .sanitize import is_clean

__all__ = [
    "CONTAINER",
    "RECORD_KEYS",
    "Path",
    "PathError",
    "child_path",
    "format_path",
    "looks_like_path",
    "parse_path",
    "raw_key",
    "raw_value",
    "value_in",
    "values",
]

Seg = str | int

# The top-level keys of a CloudTrail record, as spelt (the record reference's fields):
# a name that is one of them is meant as a path (`.requestID`).
RECORD_KEYS: tuple[str, ...] = (
    "eventVersion",
    "userIdentity",
    "eventTime",
    "eventSource",
    "eventName",
    "awsRegion",
    "sourceIPAddress",
    "userAgent",
    "errorCode",
    "errorMessage",
    "requestParameters",
    "responseElements",
    "additionalEventData",
    "requestID",
    "eventID",
    "readOnly",
    "resources",
    "eventType",
    "apiVersion",
    "managementEvent",
    "recipientAccountId",
    "serviceEventDetails",
    "sharedEventID",
    "vpcEndpointId",
    "vpcEndpointAccountId",
    "eventCategory",
    "addendum",
    "sessionCredentialFromConsole",
    "edgeDeviceDetails",
    "tlsDetails",
    "insightDetails",
    "eventContext",
)


class PathError(ValueError):
    """A path that cannot be parsed; `offset` is a 0-based char offset into it."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message, offset)
        self.message = message
        self.offset = offset


@dataclass(frozen=True)
class Path:
    """A parsed path. Equal (and hashed) by `key`: paths differing only in key case are
    the same path."""

    key: tuple[Seg, ...]  # keys lower-cased
    segs: tuple[Seg, ...] = field(compare=False)  # as written
    text: str = field(compare=False)  # canonical spelling of `segs`

    @classmethod
    def of(cls, segs: tuple[Seg, ...]) -> Path:
        key = tuple(s.lower() if isinstance(s, str) else s for s in segs)
        return cls(key, segs, format_path(segs))

    def __str__(self) -> str:
        return self.text


# ---------------------------------------------------------------------------- spelling

_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
# Characters a bare key may hold; the rest need the quoted form.
_BARE_CHARS = re.compile(r"[\w$@-]+")
# The start of a path: a dot, a bracket, or a bare first key followed by one of them.
_PATH_START = re.compile(r"\.|\[|[A-Za-z_][\w$@-]*[.\[]")
_HEX_LEN = {"x": 2, "u": 4, "U": 8}
_JSON_ESC = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "/": "/"}


def looks_like_path(src: str) -> bool:
    """Whether a name before ':' is spelled as a path (the rule that tells a path from a
    field name: it starts with '.' or '[', or a bare key is followed by '.' or '[')."""
    return _PATH_START.match(src) is not None


def _quote_key(key: str) -> str:
    out = ['["']
    for ch in key:
        if ch in '"\\':
            out.append("\\" + ch)
        elif is_clean(ch):
            out.append(ch)
        else:
            cp = ord(ch)
            if cp < 0x100:
                out.append(f"\\x{cp:02x}")
            else:
                out.append(f"\\u{cp:04x}" if cp < 0x10000 else f"\\U{cp:08x}")
    out.append('"]')
    return "".join(out)


def format_path(segs: tuple[Seg, ...] | list[Seg]) -> str:
    """The canonical spelling: `a.b[0]["odd key"]`; a single plain key is `.key`."""
    out: list[str] = []
    for i, s in enumerate(segs):
        if isinstance(s, int):
            out.append(f"[{s}]")
        elif _PLAIN_KEY.fullmatch(s):
            out.append(f".{s}" if i or len(segs) == 1 else s)
        else:
            out.append(_quote_key(s))
    return "".join(out)


def child_path(parent: str, key: Seg) -> str:
    """The spelling of `parent`'s child `key` ('' is the event itself)."""
    if not parent:
        return format_path((key,))
    if parent.startswith("."):  # a lone plain key drops its dot once it has company
        parent = parent[1:]
    if isinstance(key, int):
        return f"{parent}[{key}]"
    return f"{parent}.{key}" if _PLAIN_KEY.fullmatch(key) else parent + _quote_key(key)


def parse_path(src: str) -> Path:
    """Parse a path spelling; raises PathError."""
    segs: list[Seg] = []
    i, n = 0, len(src)
    if n == 0:
        raise PathError("empty path", 0)
    if src[0] == ".":
        i = 1
        if i >= n or src[i] == "[":
            raise PathError("expected a key after '.'", i)
    elif src[0] != "[" and not (src[0].isascii() and (src[0].isalpha() or src[0] == "_")):
        raise PathError("a path starts with a key, '.' or '['", 0)
    first = True
    while i < n:
        c = src[i]
        if c == "[":
            i, seg = _bracket(src, i)
            segs.append(seg)
        else:
            if c == ".":
                if first and src[0] != ".":
                    raise PathError("expected a key", i)
                i += 1
            elif not first:
                raise PathError("expected '.' or '[' between keys", i)
            m = _BARE_CHARS.match(src, i)
            if m is None:
                what = "the end" if i >= n else repr(src[i])
                raise PathError(
                    f"expected a key after '.', found {what} (quote odd keys: [\"...\"])", i
                )
            segs.append(m.group())
            i = m.end()
        first = False
    if isinstance(segs[0], int):
        raise PathError("a path starts with a key (an event is an object)", 0)
    return Path.of(tuple(segs))


def _bracket(src: str, i: int) -> tuple[int, Seg]:
    """`[N]` or `["key"]` at src[i] == '['; returns (offset after ']', segment)."""
    n = len(src)
    j = i + 1
    if j < n and src[j] == '"':
        j, key = _quoted(src, j)
        if j >= n or src[j] != "]":
            raise PathError("expected ']' after the quoted key", j)
        return j + 1, key
    k = j
    while k < n and src[k].isdigit() and src[k].isascii():
        k += 1
    if k == j or k >= n or src[k] != "]":
        raise PathError('expected an index or a quoted key in [...]: [0] or ["key"]', j)
    return k + 1, int(src[j:k])


def _quoted(src: str, j: int) -> tuple[int, str]:
    """The quoted key starting at src[j] == '"'; returns (offset after the quote, key)."""
    out: list[str] = []
    n = len(src)
    i = j + 1
    while True:
        if i >= n:
            raise PathError('unterminated quote in the path: add the closing "', j)
        c = src[i]
        if c == '"':
            return i + 1, "".join(out)
        if c == "\\" and i + 1 < n:
            e = src[i + 1]
            if e in '"\\*':
                out.append(e)
                i += 2
                continue
            if e in _JSON_ESC:
                out.append(_JSON_ESC[e])
                i += 2
                continue
            k = _HEX_LEN.get(e)
            digits = src[i + 2 : i + 2 + k] if k else ""
            if k and len(digits) == k and all(d in "0123456789abcdefABCDEF" for d in digits):
                cp = int(digits, 16)
                if e == "u" and 0xD800 <= cp <= 0xDBFF and src[i + 6 : i + 8] == "\\u":
                    lo = src[i + 8 : i + 12]
                    if len(lo) == 4 and all(d in "0123456789abcdefABCDEF" for d in lo):
                        lv = int(lo, 16)
                        if 0xDC00 <= lv <= 0xDFFF:  # a JSON surrogate pair
                            out.append(chr(0x10000 + ((cp - 0xD800) << 10) + (lv - 0xDC00)))
                            i += 12
                            continue
                if cp <= 0x10FFFF:
                    out.append(chr(cp))
                    i += 2 + k
                    continue
        out.append(c)
        i += 1


# ---------------------------------------------------------------------------- values

CONTAINER = object()
"""A non-empty object at the end of a path: present, but no value to match."""


def value_text(v: object) -> str:
    """A scalar's value text (as the detail tree shows it)."""
    try:
        return text(v)
    except ValueError:  # an int with more digits than int->str allows
        return "<huge number>"


def values(event: object, key: tuple[Seg, ...], *, lower: bool = True) -> list:
    """The values `key` (a Path.key) selects in a parsed event (its original, decoded as
    the store decodes it): value texts (lower-cased unless `lower=False`) and
    CONTAINER, in document order, repeats included."""
    out: list = []
    n = len(key)
    # An explicit stack: events nest up to deepjson.MAX_DEPTH levels, deeper than
    # Python's recursion limit.
    stack: list[tuple[object, int]] = [(event, 0)]
    while stack:
        v, i = stack.pop()
        if v.__class__ is list:
            if i < n and key[i].__class__ is int:
                if key[i] < len(v):  # type: ignore[operator]
                    stack.append((v[key[i]], i + 1))  # type: ignore[index]
            else:
                stack.extend((x, i) for x in reversed(v))
        elif i == n:
            if v is None or v == "":
                continue
            if v.__class__ is dict:
                if v:
                    out.append(CONTAINER)
                continue
            t = value_text(v)
            out.append(t.lower() if lower else t)
        elif v.__class__ is dict and key[i].__class__ is str:
            k = key[i]
            hits = [x for name, x in v.items() if name.lower() == k]
            stack.extend((x, i + 1) for x in reversed(hits))
    return out


def decode_event(raw: bytes) -> object:
    """A JSON event as the store decodes it (the stdlib where orjson would change a
    value); raises ValueError when it is not JSON."""
    if has_big_int(raw):
        return deepjson.loads(raw)
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return deepjson.loads(raw)  # NaN, lone surrogates, numbers beyond a double


def value_in(event: object, key: tuple[Seg, ...], lowered: str) -> str | None:
    """The original spelling, in `event`, of a value whose lower-cased text is `lowered`."""
    folded = lowered.casefold()
    for v in values(event, key, lower=False):
        if v is not CONTAINER and v.casefold() == folded:
            return v
    return None


# ---------------------------------------------------------------------------- raw keys
# A column numbers values by a raw key: a kind byte and bytes. 's' + ASCII text is the
# one spelling of any value that is plain printable ASCII (strings without escapes,
# booleans, integers written canonically), whichever walk found it; the other kinds
# ('j' JSON string content with escapes or non-ASCII, 'n' other number tokens, 'v' a
# value text from the Python walk) need decoding, and may spell a value twice.

_PLAIN_VALUE = re.compile(r"[\x20-\x7e]*")


def raw_key(value: object) -> bytes:
    """The raw key of a value from `values` (the C scan gives the same for plain values)."""
    if value is CONTAINER:
        return b"o"
    v: str = value  # type: ignore[assignment]
    if v.isascii() and '"' not in v and "\\" not in v and _PLAIN_VALUE.fullmatch(v):
        return b"s" + v.encode()
    return b"v" + v.encode("utf-8", "surrogatepass")


def raw_value(raw: bytes) -> object:
    """The lower-cased value text a raw key stands for (CONTAINER for b'o')."""
    kind, rest = raw[:1], raw[1:]
    if kind == b"s":
        return rest.decode("ascii")
    if kind == b"v":
        return rest.decode("utf-8", "surrogatepass")
    if kind == b"j":
        return json.loads(b'"' + rest + b'"').lower()
    if kind == b"n":
        return value_text(json.loads(rest)).lower()
    if kind == b"o":
        return CONTAINER
    raise ValueError(f"bad raw key {raw[:20]!r}")


def needles(key: tuple[Seg, ...]) -> tuple[bytes, ...]:
    """Byte strings of which a lower-cased event text holds at least one when `key`
    selects a value in it: the last key as JSON writes it, or an escape that could
    spell it another way."""
    last = next(s for s in reversed(key) if isinstance(s, str))
    out = []
    try:
        out.append(orjson.dumps(last))
    except orjson.JSONEncodeError:  # a lone surrogate: only an escape can spell it
        pass
    out.append(b"\\u")
    if "/" in last:
        out.append(b"\\/")
    return tuple(out)
