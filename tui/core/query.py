"""The filter language shared by the CLI and the explorer's filter bar.

    service:ec2* -error:"" (event:Run* OR event:Start*) since:-2h "AccessDenied"

Pipeline: `_tokenize` (quotes, escapes, parentheses, operators) -> `_Parser` (recursive
descent into a small AST of frozen dataclasses) -> `Query.evaluate`, which combines the numpy
bool masks a `QueryTarget` (the store) hands back for each leaf. The grammar is documented
for users in tui/query.md (`trailscope help query`; docs/query.md is a copy); keep
them in step.
"""

from __future__ import annotations

import ipaddress
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Protocol

import numpy as np

from .fields import CLOSED_VALUES, FIELD_NAMES, PATH_FIELDS, resolve_field, resolve_path_field
from .paths import RECORD_KEYS, Path, PathError, looks_like_path, parse_path
from .sanitize import is_clean

__all__ = [
    "And",
    "Cred",
    "Has",
    "Is",
    "Last",
    "Mark",
    "Node",
    "Not",
    "Or",
    "PathTerm",
    "Query",
    "QueryError",
    "RuleTerm",
    "SEVERITY_NAMES",
    "Severity",
    "QueryTarget",
    "Term",
    "Text",
    "Time",
    "ValueMatcher",
    "add_term",
    "conjuncts",
    "parse",
    "quote_value",
    "term_for",
    "time_range_term",
]

# Credential and selection-relative terms (their section is at the end).
PIVOT_KEYWORDS: tuple[str, ...] = ("minted", "descends", "last")
# Keywords that take a value like a field but are not store columns.
KEYWORDS: tuple[str, ...] = (
    "has",
    "is",
    "mark",
    "rule",
    "severity",
    "since",
    "until",
    *PIVOT_KEYWORDS,
)
# Detection rules' severities, least first (tui/core/detect reads them from here).
SEVERITY_NAMES: tuple[str, ...] = ("info", "low", "medium", "high", "critical")
# `has:` names that come from the case (marks and notes), not from the events.
ANNOTATION_HAS: tuple[str, ...] = ("mark", "note")
# `has:` names that come from the detection rules (tui/core/detect).
DETECTION_HAS: tuple[str, ...] = ("detection",)


class QueryError(ValueError):
    """A query that cannot be parsed or evaluated; `position` is a 0-based char offset."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(message, position)
        self.message = message
        self.position = position

    def __str__(self) -> str:
        return f"column {self.position + 1}: {self.message}"


class QueryTarget(Protocol):
    """What a query is evaluated against (the store): every method returns a bool mask of
    length `row_count()` that the evaluator treats as read-only."""

    def row_count(self) -> int: ...
    def mask_all(self) -> np.ndarray: ...
    def mask_field(self, field: str, matcher: ValueMatcher) -> np.ndarray: ...
    def mask_path(self, path: Path, matcher: ValueMatcher) -> np.ndarray: ...
    def mask_text(self, phrase: str) -> np.ndarray: ...
    def mask_time(self, lo_ms: int | None, hi_ms: int | None) -> np.ndarray: ...
    def mask_has(self, name: str) -> np.ndarray: ...
    def has_names(self) -> Sequence[str]: ...
    def mask_is(self, name: str) -> np.ndarray: ...
    def is_names(self) -> Sequence[str]: ...
    def mask_mark(self, matcher: ValueMatcher) -> np.ndarray: ...
    def mask_rule(self, matcher: ValueMatcher) -> np.ndarray: ...
    def mask_severity(self, lo: int, hi: int) -> np.ndarray: ...
    def newest_time_ms(self) -> int | None: ...
    def mask_minted(self, matcher: ValueMatcher) -> np.ndarray: ...
    def mask_descends(self, matcher: ValueMatcher) -> np.ndarray: ...
    def newest_time_in(self, mask: np.ndarray) -> int | None: ...


class TimeSpans(QueryTarget, Protocol):
    """A target in time order (store.masks.TimeOrdered): a time range is a contiguous
    stretch of its rows, and any stretch is a target of its own."""

    def time_span(self, lo_ms: int | None, hi_ms: int | None) -> tuple[int, int, bool]: ...
    def part(self, start: int, stop: int) -> QueryTarget: ...


def _escape_literal(s: str) -> str:
    s = s.replace("\\", "\\\\").replace('"', '\\"').replace("*", "\\*")
    if is_clean(s):
        return s
    return "".join(_hex_form(ch) if not is_clean(ch) else ch for ch in s)


def _hex_form(ch: str) -> str:
    cp = ord(ch)
    if cp < 0x100:
        return f"\\x{cp:02x}"
    if cp < 0x10000:
        return f"\\u{cp:04x}"
    return f"\\U{cp:08x}"


@dataclass(frozen=True)
class ValueMatcher:
    """A field value test: exact (case-insensitive) equality, a glob where '*' is any run,
    a regular expression (`field:/re/`, searched ignoring case) or an IP network
    (`ip:10.0.0.0/8`).

    The store applies it to each distinct value of a column (thousands, not millions), so
    `matches` only needs to be reasonably fast, not vectorised. A regex or network keeps
    its text in `parts` too, so columns treat it like a glob (test each distinct value
    with `matches`) rather than look an exact value up.
    """

    text: str  # the literal when exact; the glob (literal '*', '\\', '"' escaped) otherwise
    parts: tuple[str, ...] | None = None  # None = exact; else the literal pieces between '*'s
    kind: str = ""  # "" (exact or glob), "regex" or "cidr"
    _regex: re.Pattern[str] | None = dc_field(default=None, init=False, compare=False, repr=False)
    _folded: str = dc_field(default="", init=False, compare=False, repr=False)
    _net: object = dc_field(default=None, init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_folded", self.text.casefold())
        if self.kind == "regex":
            object.__setattr__(self, "_regex", re.compile(self.text, re.IGNORECASE))
        elif self.kind == "cidr":
            object.__setattr__(self, "_net", ipaddress.ip_network(self.text, strict=False))
        elif self.parts is not None and any(self.parts):
            # Both sides are casefolded (not IGNORECASE) so exact and glob matching agree
            # on tricky letters such as 'ß' == 'SS'.
            rx = ".*".join(re.escape(p.casefold()) for p in self.parts)
            object.__setattr__(self, "_regex", re.compile(rx, re.DOTALL))

    @classmethod
    def exact(cls, value: str) -> ValueMatcher:
        return cls(value, None)

    @classmethod
    def glob(cls, parts: Sequence[str]) -> ValueMatcher:
        parts = tuple(parts)
        if len(parts) < 2:
            return cls(parts[0] if parts else "", None)
        return cls("*".join(_escape_literal(p) for p in parts), parts)

    @classmethod
    def regex(cls, pattern: str) -> ValueMatcher:
        """Raises re.error for a pattern Python's `re` rejects."""
        return cls(pattern, (pattern,), "regex")

    @classmethod
    def cidr(cls, network: str) -> ValueMatcher:
        """Raises ValueError when `network` is not an IP network."""
        return cls(network, (network,), "cidr")

    @property
    def wildcard(self) -> bool:
        return self.parts is not None

    @property
    def folded(self) -> str:
        return self._folded

    @property
    def matches_any_nonempty(self) -> bool:
        """True for a pattern of only '*'s, which means "the field has a value"."""
        return self.parts is not None and not self.kind and not any(self.parts)

    def matches(self, value: str) -> bool:
        if self.parts is None:
            return value.casefold() == self._folded
        if self.kind == "regex":
            return self._regex.search(value) is not None  # type: ignore[union-attr]
        if self.kind == "cidr":
            try:
                return ipaddress.ip_address(value) in self._net  # type: ignore[operator]
            except ValueError:  # not an address ('AWS Internal', a service name)
                return False
        if self._regex is None:
            # `field:*` means "has a value", so the empty value is excluded: that is the
            # useful reading, and `field:""` already selects the empty ones.
            return value != ""
        return self._regex.fullmatch(value.casefold()) is not None


# ---------------------------------------------------------------------------- AST


@dataclass(frozen=True)
class Term:
    field: str  # canonical field name
    matcher: ValueMatcher
    pos: int = dc_field(default=0, compare=False)


@dataclass(frozen=True)
class PathTerm:
    """A value of a JSON path of the event (paths.py has the rule); `has:path` is the
    matcher `*`."""

    path: Path
    matcher: ValueMatcher
    pos: int = dc_field(default=0, compare=False)


@dataclass(frozen=True)
class Text:
    phrase: str  # as the user wrote it (escapes resolved), for display
    pieces: tuple[str, ...]  # non-empty literals that must all occur; () = everything
    pos: int = dc_field(default=0, compare=False)


@dataclass(frozen=True)
class Time:
    bound: str  # "since" | "until"
    anchor: str  # "abs": ms is the boundary; "newest"/"now": ms is an offset (<= 0)
    ms: int  # abs since = first included ms; abs until = first excluded ms
    spec: str = ""  # the value as written
    pos: int = dc_field(default=0, compare=False)


@dataclass(frozen=True)
class Has:
    name: str
    pos: int = dc_field(default=0, compare=False)


@dataclass(frozen=True)
class Is:
    name: str
    pos: int = dc_field(default=0, compare=False)


@dataclass(frozen=True)
class Mark:
    """`mark:LABEL`: events marked with a matching label in the case."""

    matcher: ValueMatcher
    pos: int = dc_field(default=0, compare=False)


@dataclass(frozen=True)
class Not:
    child: Node


@dataclass(frozen=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class RuleTerm:
    """`rule:ID`: events a detection rule with a matching id flagged (tui/core/detect)."""

    matcher: ValueMatcher
    pos: int = dc_field(default=0, compare=False)


@dataclass(frozen=True)
class Severity:
    """`severity:high`, `severity:>=medium`: events a detection rule of a severity in
    [lo, hi] (ranks in SEVERITY_NAMES) flagged."""

    lo: int
    hi: int
    pos: int = dc_field(default=0, compare=False)


@dataclass(frozen=True)
class Cred:
    """`minted:KEY` (the records that minted a key) or `descends:KEY` (everything done
    with a key or with the keys minted from it, transitively)."""

    kind: str  # "minted" | "descends"
    matcher: ValueMatcher
    pos: int = dc_field(default=0, compare=False)


@dataclass(frozen=True)
class Last:
    """`last:1h`: the last `ms` of the events the rest of its AND group matches."""

    ms: int
    spec: str = ""
    pos: int = dc_field(default=0, compare=False)


Node = (
    Term
    | PathTerm
    | Text
    | Time
    | Has
    | Is
    | Mark
    | RuleTerm
    | Severity
    | Cred
    | Last
    | Not
    | And
    | Or
)


# ---------------------------------------------------------------------------- tokens

_BARE, _QUOTED, _ESCAPED = 0, 1, 2
# Only these follow a backslash as an escape; any other backslash is literal, so Windows
# paths and regex-looking text survive unquoted.
_ESCAPABLE = frozenset('*"\\')


@dataclass
class _Word:
    pos: int  # offset of the first source char
    end: int  # offset just past the last source char
    chars: list[str]
    flags: list[int]  # _BARE / _QUOTED / _ESCAPED per char
    where: list[int]  # source offset of each char
    quotes: list[int]  # len(chars) at each opening quote, to tell `x:""` from `x:`
    regex: tuple[str, int] | None = None  # `name:/re/`: the pattern and its source offset

    def add_escaped(self, ch: str, at: int) -> None:
        self.chars.append(ch)
        self.flags.append(_ESCAPED)
        self.where.append(at)

    def bare_text(self) -> str | None:
        """The word if it has no quotes or escapes at all, else None."""
        if self.quotes or any(self.flags):
            return None
        return "".join(self.chars)


@dataclass
class _Tok:
    kind: str  # "word" "(" ")" "and" "or" "not" "neg"
    pos: int
    end: int
    word: _Word | None = None


_OPERATORS = {"AND": "and", "OR": "or", "|": "or", "NOT": "not"}
_HEX_LEN = {"x": 2, "u": 4, "U": 8}
_HEX = frozenset("0123456789abcdefABCDEF")


def _escape_at(s: str, i: int) -> tuple[str, int] | None:
    """The escape starting at the backslash s[i]: (char, source length), or None when
    that backslash is literal."""
    if i + 1 < len(s) and s[i + 1] in _ESCAPABLE:
        return s[i + 1], 2
    return _hex_escape(s, i)


def _hex_escape(s: str, i: int) -> tuple[str, int] | None:
    """`\\xHH`, `\\uHHHH`, `\\UHHHHHHHH` at s[i] -> (char, source length), else None.

    These are the escapes the display uses for control and invisible characters, so a
    value copied from the screen (or added by a facet pick) round-trips as the same
    character, and filter text never carries raw control bytes to the terminal.
    """
    k = _HEX_LEN.get(s[i + 1]) if i + 1 < len(s) else None
    if k is None:
        return None
    digits = s[i + 2 : i + 2 + k]
    if len(digits) != k or not _HEX.issuperset(digits):
        return None
    cp = int(digits, 16)
    if cp > 0x10FFFF:
        return None
    return chr(cp), 2 + k


def _regex_at(s: str, i: int, w: _Word) -> tuple[str, int] | None:
    """`name:/pattern/` with s[i] the opening slash right after the word's first bare
    colon: (pattern, offset past the closing slash), else None (the slash is literal).
    Inside, `\\/` is a slash and every other character stands as written (spaces and
    parentheses too); the closing slash ends the word."""
    if not w.chars or w.chars[-1] != ":" or w.flags[-1] != _BARE or w.regex is not None:
        return None
    if any(ch == ":" and fl == _BARE for ch, fl in zip(w.chars[:-1], w.flags[:-1], strict=True)):
        return None
    name = s[w.pos : w.where[-1]]
    if not (looks_like_path(name) or (_IDENT_RE.fullmatch(name) and name.lower() != "arn")):
        return None
    out: list[str] = []
    n = len(s)
    j = i + 1
    while j < n:
        c = s[j]
        if c == "\\" and j + 1 < n:
            if s[j + 1] == "/":
                out.append("/")
            else:
                out.append(s[j : j + 2])
            j += 2
            continue
        if c == "/":
            if j + 1 < n and not (s[j + 1].isspace() or s[j + 1] == ")"):
                return None  # `a:/x/y`: a literal value with slashes
            return "".join(out), j + 1
        out.append(c)
        j += 1
    return None


def _tokenize(s: str) -> list[_Tok]:
    toks: list[_Tok] = []
    n = len(s)
    i = 0
    after_neg = False
    while i < n:
        c = s[i]
        if c.isspace():
            i += 1
            after_neg = False
            continue
        if c in "()":
            toks.append(_Tok(c, i, i + 1))
            i += 1
            after_neg = False
            continue
        if c == "-":
            if i + 1 >= n or s[i + 1].isspace() or s[i + 1] == ")":
                raise QueryError("expected a term right after '-' (write -term)", i)
            toks.append(_Tok("neg", i, i + 1))
            i += 1
            after_neg = True
            continue
        w = _Word(i, i, [], [], [], [])
        while i < n:
            c = s[i]
            if c.isspace() or c in "()":
                break
            if c == "\\" and (esc := _escape_at(s, i)) is not None:
                w.add_escaped(esc[0], i)
                i += esc[1]
                continue
            if c == "/" and (got := _regex_at(s, i, w)) is not None:
                w.regex = (got[0], i)
                i = got[1]
                continue
            if c == '"':
                opened = i
                w.quotes.append(len(w.chars))
                i += 1
                while True:
                    if i >= n:
                        raise QueryError('unterminated quote: add the closing "', opened)
                    c = s[i]
                    if c == "\\" and (esc := _escape_at(s, i)) is not None:
                        w.add_escaped(esc[0], i)
                        i += esc[1]
                        continue
                    i += 1
                    if c == '"':
                        break
                    w.chars.append(c)
                    w.flags.append(_QUOTED)
                    w.where.append(i - 1)
                continue
            w.chars.append(c)
            w.flags.append(_BARE)
            w.where.append(i)
            i += 1
        w.end = i
        bare = w.bare_text()
        # `-AND` means the word AND, not a dangling operator.
        if bare in _OPERATORS and not after_neg:
            toks.append(_Tok(_OPERATORS[bare], w.pos, w.end))
        else:
            toks.append(_Tok("word", w.pos, w.end, w))
        after_neg = False
    return toks


# ---------------------------------------------------------------------------- time values

_ABS_RE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:[Tt ](\d{2})(?::(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?"
    r"([Zz]|[+-]\d{2}(?::?\d{2})?)?)?"
)
_DUR_RE = re.compile(r"(?:\d+[smhdw])+")
_DUR_PART_RE = re.compile(r"(\d+)([smhdw])")
_UNIT_MS = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
# A bare `HH:MM...` word right after `since:DATE `, so the space form works unquoted.
_CLOCK_RE = re.compile(r"\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?(?:[Zz]|[+-]\d{2}(?::?\d{2})?)?")
_DATE_ONLY_RE = re.compile(r"\d{4}-\d{2}-\d{2}")

_TIME_FORMS = (
    "accepted: 2026-11-20, 2026-11-20T10, 2026-11-20T10:05, 2026-11-20T10:05:00, "
    "...:00.250, a space instead of T, zone Z or +02:00 (default UTC); "
    "-15m / -2h / -7d / -1w / -1h30m (before the newest event); now, now-15m"
)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_NS_PER_MS = 1_000_000


def _duration_ms(spec: str) -> int:
    return sum(int(n) * _UNIT_MS[u] for n, u in _DUR_PART_RE.findall(spec))


def _abs_time_ns(spec: str) -> tuple[int, int] | None:
    """(start, width) in ns since the epoch for an ISO time at the precision written."""
    m = _ABS_RE.fullmatch(spec)
    if m is None:
        return None
    y, mo, d, hh, mi, ss, frac, zone = m.groups()
    try:
        day = date(int(y), int(mo), int(d)).toordinal() - _EPOCH_ORDINAL
    except ValueError:
        return None
    h, mn, sec = int(hh or 0), int(mi or 0), int(ss or 0)
    if h > 23 or mn > 59 or sec > 59:
        return None
    offset_s = 0
    if zone and zone not in "Zz":
        zd = zone[1:].replace(":", "")
        zh, zm = int(zd[:2]), int(zd[2:] or 0)
        if zh > 23 or zm > 59:
            return None
        offset_s = (zh * 3600 + zm * 60) * (1 if zone[0] == "+" else -1)
    start = (day * 86400 + h * 3600 + mn * 60 + sec - offset_s) * 10**9
    if frac is not None:
        start += int(frac) * 10 ** (9 - len(frac))
        width = 10 ** (9 - len(frac))
    elif ss is not None:
        width = 10**9
    elif mi is not None:
        width = 60 * 10**9
    elif hh is not None:
        width = 3600 * 10**9
    else:
        width = 86400 * 10**9
    return start, width


def _ceil_div(a: int, b: int) -> int:
    return -((-a) // b)


def _time_node(bound: str, spec: str, pos: int) -> Time:
    s = spec.strip()
    if s.startswith("-") and _DUR_RE.fullmatch(s, 1):
        return Time(bound, "newest", -_duration_ms(s[1:]), spec, pos)
    if s[:3].lower() == "now":
        rest = s[3:]
        if rest == "":
            return Time(bound, "now", 0, spec, pos)
        if rest.startswith("-") and _DUR_RE.fullmatch(rest, 1):
            return Time(bound, "now", -_duration_ms(rest[1:]), spec, pos)
    got = _abs_time_ns(s)
    if got is None:
        raise QueryError(f"bad time {spec!r} for {bound}: ({_TIME_FORMS})", pos)
    start, width = got
    # Event times are whole ms, so t >= x <=> t >= ceil(x) and t < x <=> t < ceil(x).
    if bound == "since":
        return Time(bound, "abs", _ceil_div(start, _NS_PER_MS), spec, pos)
    return Time(bound, "abs", _ceil_div(start + width, _NS_PER_MS), spec, pos)


# ---------------------------------------------------------------------------- parser

_IDENT_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


def _known_list() -> str:
    return ", ".join((*FIELD_NAMES, *(p.name for p in PATH_FIELDS), *KEYWORDS))


# Top-level keys of a CloudTrail record (lower-cased -> spelt), for the hint that a
# name which is not a field may be meant as the event's own key (a path: `.requestID`).
_EVENT_KEYS = {k.lower(): k for k in RECORD_KEYS}


class _Parser:
    def __init__(self, text: str, toks: list[_Tok]) -> None:
        self.text = text
        self.toks = toks
        self.i = 0

    def peek(self) -> _Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def here(self) -> int:
        t = self.peek()
        return t.pos if t is not None else len(self.text)

    def take(self) -> _Tok:
        t = self.toks[self.i]
        self.i += 1
        return t

    def need_term_after(self, what: str) -> None:
        t = self.peek()
        if t is None or t.kind in (")", "or", "and"):
            raise QueryError(f"expected a term after {what}", self.here())

    def parse(self) -> Node | None:
        if not self.toks:
            return None
        node = self.or_expr()
        t = self.peek()
        if t is not None:  # only a stray ')' stops or_expr early
            raise QueryError("unexpected ')' without a matching '('", t.pos)
        return node

    def or_expr(self) -> Node:
        items = [self.and_expr()]
        while (t := self.peek()) is not None and t.kind == "or":
            self.take()
            self.need_term_after("OR")
            items.append(self.and_expr())
        return _flat(Or, items)

    def and_expr(self) -> Node:
        items = [self.unary()]
        while (t := self.peek()) is not None and t.kind not in (")", "or"):
            if t.kind == "and":
                self.take()
                self.need_term_after("AND")
            items.append(self.unary())
        return _flat(And, items)

    def unary(self) -> Node:
        t = self.peek()
        if t is None:
            raise QueryError("expected a term", len(self.text))
        if t.kind in ("not", "neg"):
            self.take()
            self.need_term_after("NOT" if t.kind == "not" else "'-'")
            return Not(self.unary())
        if t.kind == "(":
            self.take()
            nt = self.peek()
            if nt is not None and nt.kind == ")":
                raise QueryError("expected a term after '(' (empty parentheses)", nt.pos)
            if nt is None:
                raise QueryError(f"expected ')' to close '(' at column {t.pos + 1}", self.here())
            node = self.or_expr()
            ct = self.peek()
            if ct is None or ct.kind != ")":
                raise QueryError(f"expected ')' to close '(' at column {t.pos + 1}", self.here())
            self.take()
            return node
        if t.kind == ")":
            raise QueryError("unexpected ')' without a matching '('", t.pos)
        if t.kind in ("and", "or"):
            raise QueryError(f"expected a term before {t.kind.upper()}", t.pos)
        self.take()
        assert t.word is not None
        return self.word(t.word)

    def word(self, w: _Word) -> Node:
        colon = -1
        for k, (ch, fl) in enumerate(zip(w.chars, w.flags, strict=True)):
            if ch == ":" and fl == _BARE:
                colon = k
                break
        if colon > 0:
            src = self.text[w.pos : w.where[colon]]
            if looks_like_path(src):
                return self.path_term(w, colon, src, self.path(src, w.pos))
        if colon > 0 and all(f == _BARE for f in w.flags[:colon]):
            prefix = "".join(w.chars[:colon])
            key = prefix.lower()
            canonical = resolve_field(key)
            if canonical is not None or key in KEYWORDS:
                return self.field_term(w, colon, prefix, canonical or key)
            named = resolve_path_field(key)
            if named is not None:  # `requestid:X` is the path term `.requestID:X`
                return self.path_term(w, colon, prefix, parse_path(named.path))
            # ARNs are the commonest colon-bearing free text and never a typo of a field.
            if _IDENT_RE.fullmatch(prefix) and key != "arn":
                src = self.text[w.pos : w.end]
                hint = f', e.g. "{src}"' if '"' not in src and "\\" not in src else ""
                if key in _EVENT_KEYS:  # a key of the event, meant as a path
                    example = f".{src}" if '"' not in src and "\\" not in src else f".{prefix}:…"
                    hint += f"; the event's own key is a path: {example}"
                raise QueryError(
                    f"unknown field {prefix!r} (known: {_known_list()}); "
                    f"to search for text containing ':', quote it{hint}",
                    w.pos,
                )
        return _text_node(w, 0)

    def field_term(self, w: _Word, colon: int, prefix: str, name: str) -> Node:
        vstart = colon + 1
        vpos = w.where[colon] + 1
        if w.regex is not None:
            if name in ("has", "is", "since", "until"):
                raise QueryError(
                    f"a /regex/ value applies to fields and paths, not {prefix}:", vpos
                )
            m = _regex_matcher(w)
            if name == "mark":
                return Mark(m, w.pos)
            return RuleTerm(m, w.pos) if name == "rule" else Term(name, m, w.pos)
        if vstart == len(w.chars) and not any(q >= vstart for q in w.quotes):
            hint = ""
            nt = self.peek()
            if nt is not None and nt.kind == "(" and nt.pos == w.end:
                hint = f" (to match several values write ({prefix}:a OR {prefix}:b))"
            raise QueryError(f"expected a value after '{prefix}:'{hint}", vpos)
        value = "".join(w.chars[vstart:])
        if name in ("since", "until"):
            value = self.join_clock(w, value)
            return _time_node(name, value, vpos)
        if name == "has":
            src = self.text[vpos : w.end]
            if looks_like_path(src):
                return PathTerm(self.path(src, vpos), _ANY, w.pos)
            named = resolve_path_field(value)
            if named is not None:
                return PathTerm(parse_path(named.path), _ANY, w.pos)
            return Has(value, w.pos)
        if name == "is":
            return Is(value, w.pos)
        if name == "mark":
            return Mark(_matcher(w, vstart), w.pos)
        if name == "rule":
            return RuleTerm(_matcher(w, vstart), w.pos)
        if name == "severity":
            return _severity_node(value, w.pos, vpos)
        if name == "ip" and (net := _network(w, vstart)) is not None:
            return Term(name, net, w.pos)
        if name in PIVOT_KEYWORDS:
            return _pivot_node(name, w, vstart, value, vpos)
        return Term(name, _matcher(w, vstart), w.pos)

    def path(self, src: str, pos: int) -> Path:
        try:
            return parse_path(src)
        except PathError as e:
            raise QueryError(f"bad path {src!r}: {e.message}", pos + e.offset) from None

    def path_term(self, w: _Word, colon: int, src: str, path: Path) -> PathTerm:
        vstart = colon + 1
        if w.regex is not None:
            return PathTerm(path, _regex_matcher(w), w.pos)
        if vstart == len(w.chars) and not any(q >= vstart for q in w.quotes):
            raise QueryError(
                f"expected a value after '{src}:' (has:{src} tests that it has one)",
                w.where[colon] + 1,
            )
        return PathTerm(path, _matcher(w, vstart), w.pos)

    def join_clock(self, w: _Word, value: str) -> str:
        """`since:2026-11-20 10:05` arrives as two words; glue the clock back on."""
        nt = self.peek()
        if (
            _DATE_ONLY_RE.fullmatch(value)
            and nt is not None
            and nt.kind == "word"
            and nt.pos == w.end + 1
            and self.text[w.end] == " "
            and nt.word is not None
            and (clock := nt.word.bare_text()) is not None
            and _CLOCK_RE.fullmatch(clock)
        ):
            self.take()
            return f"{value} {clock}"
        return value


def _flat(cls: type[And] | type[Or], items: list[Node]) -> Node:
    if len(items) == 1:
        return items[0]
    out: list[Node] = []
    for it in items:
        # AND and OR are associative, so `(a b) c` is stored as one And of three.
        out.extend(it.children if isinstance(it, cls) else (it,))
    return cls(tuple(out))


def _pieces(w: _Word, start: int) -> list[str]:
    """Literal pieces split at wildcard '*' (bare or quoted, never escaped)."""
    pieces: list[str] = []
    cur: list[str] = []
    for ch, fl in zip(w.chars[start:], w.flags[start:], strict=True):
        if ch == "*" and fl != _ESCAPED:
            pieces.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    pieces.append("".join(cur))
    return pieces


def _matcher(w: _Word, start: int) -> ValueMatcher:
    return ValueMatcher.glob(_pieces(w, start))


_ANY = ValueMatcher.glob(["", ""])  # `*`: has a value


def _regex_matcher(w: _Word) -> ValueMatcher:
    pattern, at = w.regex  # type: ignore[misc]
    if not pattern:
        raise QueryError('empty /regex/ (to match an empty value write "")', at)
    try:
        return ValueMatcher.regex(pattern)
    except re.error as e:
        raise QueryError(f"bad regex /{pattern}/: {e.msg}", at + 1 + (e.pos or 0)) from None


def _network(w: _Word, start: int) -> ValueMatcher | None:
    """`ip:10.0.0.0/8`, `ip:2001:db8::/32`: an unquoted IP network; None otherwise."""
    if w.quotes or any(w.flags[start:]):
        return None
    value = "".join(w.chars[start:])
    if "/" not in value:
        return None
    try:
        return ValueMatcher.cidr(value)
    except ValueError:
        return None


def _text_node(w: _Word, start: int) -> Text:
    pieces = _pieces(w, start)
    shown = "*".join(pieces) if len(pieces) > 1 else pieces[0]
    return Text(shown, tuple(p for p in pieces if p), w.pos)


# ---------------------------------------------------------------------------- evaluation


class _Ctx:
    def __init__(self, target: QueryTarget, now_ms: int) -> None:
        self.t = target
        self.now_ms = now_ms
        self._newest: int | None = None
        self._newest_known = False

    def newest(self) -> int | None:
        if not self._newest_known:
            self._newest = self.t.newest_time_ms()
            self._newest_known = True
        return self._newest

    def bounds(self, node: Time) -> tuple[int | None, int | None] | None:
        """(lo, hi) for mask_time, or None when the bound cannot match anything."""
        if node.anchor == "abs":
            base = node.ms
        elif node.anchor == "now":
            base = self.now_ms + node.ms
        else:
            newest = self.newest()
            if newest is None:
                return None
            base = newest + node.ms
        if node.bound == "since":
            return base, None
        # Relative bounds are instants (ms precision), so `until:` includes that ms.
        return None, (base if node.anchor == "abs" else base + 1)


def _cost(node: Node) -> int:
    # Rough order: time ranges and precomputed flags are cheapest, dictionary lookups next,
    # and free text (a scan of the raw corpus) last.
    if isinstance(node, Time):
        return 0
    if isinstance(node, (Has, Is, Mark, RuleTerm, Severity, Last)):
        return 1
    if isinstance(node, Cred):
        return 3  # the first use scans the minting events
    if isinstance(node, Term):
        return 2
    if isinstance(node, PathTerm):
        return 3  # a column lookup once computed (the first use scans like free text)
    if isinstance(node, Text):
        return 10
    if isinstance(node, Not):
        return _cost(node.child)
    return max(_cost(c) for c in node.children)


def _pick(name: str, names: Sequence[str], kind: str, pos: int) -> str:
    low = name.lower()
    for n in names:
        if n.lower() == low:
            return n
    alias = resolve_field(low)
    if alias is not None:
        for n in names:
            if n.lower() == alias:
                return n
    hint = ""
    if kind == "has" and low in _EVENT_KEYS:
        hint = f"; the event's own key is a path: has:.{name}"
    raise QueryError(f"unknown {kind}:{name} (known: {', '.join(names) or 'none'}){hint}", pos)


def _check_closed(node: Term, target: QueryTarget) -> None:
    """`cred:roots` is a typo, not a search that finds nothing: an exact value outside a
    closed field's set is an error, unless the data holds it. Globs stay allowed."""
    allowed = CLOSED_VALUES.get(node.field)
    m = node.matcher
    if not allowed or m.wildcard or m.text == "":
        return
    if m.folded in {v.casefold() for v in allowed}:
        return
    if target.mask_field(node.field, m).any():  # e.g. a malformed readOnly string
        return
    raise QueryError(
        f"unknown value {m.text!r} for {node.field}: (valid: {', '.join(allowed)})", node.pos
    )


def _conjuncts(node: Node) -> tuple[Node, ...]:
    return node.children if isinstance(node, And) else (node,)


def _walk(node: Node) -> Iterator[Node]:
    yield node
    if isinstance(node, Not):
        yield from _walk(node.child)
    elif isinstance(node, (And, Or)):
        for c in node.children:
            yield from _walk(c)


def _eval(node: Node, ctx: _Ctx) -> tuple[np.ndarray, bool]:
    """(mask, owned): owned masks may be modified in place; others belong to the target."""
    t = ctx.t
    if isinstance(node, Term):
        return t.mask_field(node.field, node.matcher), False
    if isinstance(node, PathTerm):
        return t.mask_path(node.path, node.matcher), True
    if isinstance(node, Text):
        if not node.pieces:
            return t.mask_all(), False
        m, owned = t.mask_text(node.pieces[0]), False
        for p in node.pieces[1:]:
            m, owned = np.logical_and(m, t.mask_text(p)), True
        return m, owned
    if isinstance(node, Time):
        b = ctx.bounds(node)
        if b is None:
            return np.zeros(t.row_count(), dtype=bool), True
        return t.mask_time(*b), False
    if isinstance(node, Has):
        return t.mask_has(_pick(node.name, t.has_names(), "has", node.pos)), False
    if isinstance(node, Is):
        return t.mask_is(_pick(node.name, t.is_names(), "is", node.pos)), False
    if isinstance(node, Mark):
        return t.mask_mark(node.matcher), False
    if isinstance(node, RuleTerm):
        return t.mask_rule(node.matcher), False
    if isinstance(node, Severity):
        return t.mask_severity(node.lo, node.hi), False
    if isinstance(node, Cred):
        if node.kind == "minted":
            return t.mask_minted(node.matcher), False
        return t.mask_descends(node.matcher), False
    if isinstance(node, Last):
        return _eval_last_group([node], None, ctx)
    if isinstance(node, Not):
        m, _ = _eval(node.child, ctx)
        return np.logical_not(m), True
    if isinstance(node, And):
        return _eval_and(node, ctx)
    return _eval_or(node, ctx)


def _eval_and(node: And, ctx: _Ctx) -> tuple[np.ndarray, bool]:
    lasts = [c for c in node.children if _is_last(c)]
    if lasts:
        rest = [c for c in node.children if not _is_last(c)]
        group = None if not rest else rest[0] if len(rest) == 1 else And(tuple(rest))
        return _eval_last_group(lasts, group, ctx)
    # Sibling since:/until: bounds collapse into one range query.
    times = [c for c in node.children if isinstance(c, Time)]
    rest = sorted((c for c in node.children if not isinstance(c, Time)), key=_cost)
    acc: np.ndarray | None = None
    owned = False
    if times:
        lo: int | None = None
        hi: int | None = None
        for tn in times:
            b = ctx.bounds(tn)
            if b is None:
                return np.zeros(ctx.t.row_count(), dtype=bool), True
            if b[0] is not None:
                lo = b[0] if lo is None else max(lo, b[0])
            if b[1] is not None:
                hi = b[1] if hi is None else min(hi, b[1])
        acc = ctx.t.mask_time(lo, hi)
    for child in rest:
        if acc is not None and not acc.any():
            break
        m, m_owned = _eval(child, ctx)
        if acc is None:
            acc, owned = m, m_owned
        elif owned:
            np.logical_and(acc, m, out=acc)
        else:
            acc, owned = np.logical_and(acc, m), True
    assert acc is not None
    return acc, owned


def _eval_or(node: Or, ctx: _Ctx) -> tuple[np.ndarray, bool]:
    acc: np.ndarray | None = None
    owned = False
    for child in sorted(node.children, key=_cost):
        if acc is not None and acc.all():
            break
        m, m_owned = _eval(child, ctx)
        if acc is None:
            acc, owned = m, m_owned
        elif owned:
            np.logical_or(acc, m, out=acc)
        else:
            acc, owned = np.logical_or(acc, m), True
    assert acc is not None
    return acc, owned


# ---------------------------------------------------------------------------- public API


@dataclass(frozen=True)
class Query:
    text: str
    root: Node | None  # None = match everything

    def evaluate(self, target: QueryTarget, now_ms: int | None = None) -> np.ndarray:
        """Bool mask over the target's rows; a fresh array the caller may keep or modify."""
        if now_ms is None:
            now_ms = time.time_ns() // _NS_PER_MS
        if self.root is None:
            return np.array(target.mask_all(), dtype=bool, copy=True)
        self.check(target)
        if hasattr(target, "time_span"):
            spans: TimeSpans = target  # type: ignore[assignment]
            start, stop, rest = self.span(spans, now_ms)
            if (start, stop) != (0, target.row_count()):
                out = np.zeros(target.row_count(), bool)
                if stop > start:
                    part = spans.part(start, stop)
                    out[start:stop] = True if rest is None else rest.test(part, now_ms)
                return out
        return self.test(target, now_ms)

    def check(self, target: QueryTarget) -> None:
        """Raise QueryError for an unknown has:/is: name or closed value. Done up front
        (and over the whole target), so an unknown one fails the same way whether or
        not evaluation would have short-circuited past it."""
        if self.root is None:
            return
        has_names: Sequence[str] | None = None
        is_names: Sequence[str] | None = None
        for node in _walk(self.root):
            if isinstance(node, Term):
                _check_closed(node, target)
            elif isinstance(node, Has):
                has_names = target.has_names() if has_names is None else has_names
                _pick(node.name, has_names, "has", node.pos)
            elif isinstance(node, Is):
                is_names = target.is_names() if is_names is None else is_names
                _pick(node.name, is_names, "is", node.pos)

    def test(self, target: QueryTarget, now_ms: int) -> np.ndarray:
        """`evaluate` without `check`: for parts of a target whose whole was checked
        (a fresh array)."""
        if self.root is None:
            return np.array(target.mask_all(), dtype=bool, copy=True)
        mask, owned = _eval(self.root, _Ctx(target, now_ms))
        if owned and mask.dtype == np.bool_:
            return mask
        return np.array(mask, dtype=bool, copy=True)

    def span(self, target: TimeSpans, now_ms: int) -> tuple[int, int, Query | None]:
        """(start, stop, rest) over a target in time order: the matches are the
        positions in [start, stop) where `rest` holds (None: all of them). The query's
        top-level since:/until: bounds are a contiguous stretch of the order (a binary
        search); without them, [0, rows) and the whole query. `rest` is tested with
        `test` over `target.part(start, stop)` (the whole target was checked)."""
        n = target.row_count()
        root = self.root
        if root is None:
            return 0, n, None
        if isinstance(root, Time):
            times, others = [root], []
        elif isinstance(root, And):
            times = [c for c in root.children if isinstance(c, Time)]
            others = [c for c in root.children if not isinstance(c, Time)]
        else:
            return 0, n, self
        if not times or self.has_last:
            return 0, n, self
        ctx = _Ctx(target, now_ms)
        lo: int | None = None
        hi: int | None = None
        for tn in times:
            b = ctx.bounds(tn)
            if b is None:
                return 0, 0, None
            if b[0] is not None:
                lo = b[0] if lo is None else max(lo, b[0])
            if b[1] is not None:
                hi = b[1] if hi is None else min(hi, b[1])
        start, stop, exact = target.time_span(lo, hi)
        if not exact:  # clamped times in the stretch: the bounds are tested there too
            return start, stop, self
        if not others:
            return start, stop, None
        rest = others[0] if len(others) == 1 else And(tuple(others))
        return start, stop, Query(self.text, rest)

    def narrowing(self, base: Query) -> Query | None:
        """The terms this query adds to `base` when it is `base` AND those terms (a
        facet pick, a pivot): its matches are then `base`'s matches where they hold.
        None when it is not, or when `base`'s matches can change without a commit or
        with the clock (marks, detections, digests, credentials, relative times)."""
        if self.root is None or base.root is None or self.has_last:
            return None
        if base.is_relative or base.uses_marks or base.uses_detections:
            return None
        if base.uses_credentials or any(
            isinstance(n, Is) and n.name.lower() == "unverified" for n in _walk(base.root)
        ):
            return None
        mine = list(_conjuncts(self.root))
        for c in _conjuncts(base.root):
            if c not in mine:
                return None
            mine.remove(c)
        if not mine:
            return None
        return Query(self.text, mine[0] if len(mine) == 1 else And(tuple(mine)))

    @property
    def has_last(self) -> bool:
        """A `last:` term: it looks for the newest match over the whole target, so the
        query is not evaluated by parts."""
        return self.root is not None and any(isinstance(n, Last) for n in _walk(self.root))

    def fields(self) -> set[str]:
        """Canonical field names the query tests (for highlighting columns)."""
        if self.root is None:
            return set()
        return {n.field for n in _walk(self.root) if isinstance(n, Term)}

    def text_pieces(self) -> set[str]:
        """The free-text literals the query searches the raw events for (the slow part of
        evaluating it; see `Store.text_backlog`)."""
        if self.root is None:
            return set()
        return {p for n in _walk(self.root) if isinstance(n, Text) for p in n.pieces}

    def paths(self) -> set[Path]:
        """The JSON paths the query tests (their columns are built on first use; see
        `Store.path_backlog`)."""
        if self.root is None:
            return set()
        return {n.path for n in _walk(self.root) if isinstance(n, PathTerm)}

    @property
    def uses_marks(self) -> bool:
        """True when the result depends on the case's marks or notes (`mark:`,
        `has:mark`, `has:note`): re-evaluate after the user marks or annotates."""
        if self.root is None:
            return False
        return any(
            isinstance(n, Mark) or (isinstance(n, Has) and n.name.lower() in ANNOTATION_HAS)
            for n in _walk(self.root)
        )

    @property
    def uses_detections(self) -> bool:
        """True when the result depends on the detection rules' hits (`rule:`,
        `has:detection`): re-evaluate when the detections change."""
        if self.root is None:
            return False
        return any(
            isinstance(n, (RuleTerm, Severity))
            or (isinstance(n, Has) and n.name.lower() in DETECTION_HAS)
            for n in _walk(self.root)
        )

    @property
    def is_relative(self) -> bool:
        """True when the result depends on the newest event or the clock (re-evaluate on
        new data / periodically)."""
        if self.root is None:
            return False
        return any(
            (isinstance(n, Time) and n.anchor != "abs") or isinstance(n, Last)
            for n in _walk(self.root)
        )

    @property
    def uses_credentials(self) -> bool:
        """True when the query has `minted:` or `descends:` terms: their first use builds
        the store's credential index (`credentials.CredentialIndex.backlog`)."""
        return self.root is not None and any(isinstance(n, Cred) for n in _walk(self.root))


@lru_cache(maxsize=256)
def parse(text: str) -> Query:
    """Parse a filter; raises QueryError. Cached: the filter bar re-parses per keystroke."""
    return Query(text, _Parser(text, _tokenize(text)).parse())


def quote_value(value: str) -> str:
    """Spell `value` so that `field:<result>` matches exactly that value."""
    esc = _escape_literal(value)
    # str.isspace is exactly what the tokenizer splits on.
    # `/x/` unquoted would be a regex.
    regexy = len(value) > 1 and value[0] == "/" and value[-1] == "/"
    if value == "" or value[0] == "-" or regexy or any(c.isspace() or c in '()"' for c in value):
        return f'"{esc}"'
    return esc


def _dedup_key(node: Node | None) -> object:
    if isinstance(node, (Term, PathTerm)):
        m = node.matcher
        parts = None if m.parts is None else tuple(p.casefold() for p in m.parts)
        name = node.field if isinstance(node, Term) else node.path
        return ("term", name, m.folded, parts, m.kind)
    if isinstance(node, Not):
        return ("not", _dedup_key(node.child))
    return node


def term_for(field: str, value: str, negate: bool = False) -> str:
    """The term selecting `value` exactly (negated: excluding it) in an indexed field,
    a keyword or a path field (`requestid`), or in a JSON path spelt as
    paths.format_path writes it (what the detail tree and path facets hold):
    `event:ConsoleLogin`, `additionalEventData.MFAUsed:No`."""
    key = field.lower()
    named = resolve_path_field(key)
    name = resolve_field(key) or (key if key in KEYWORDS else None) or (named and named.name)
    if name is None:
        if not looks_like_path(field):
            raise ValueError(f"unknown field {field!r} (known: {_known_list()})")
        try:
            name = parse_path(field).text
        except PathError as e:
            raise ValueError(f"bad path {field!r}: {e.message}") from None
    return f"{'-' if negate else ''}{name}:{quote_value(value)}"


def add_term(filter_text: str, field: str, value: str, negate: bool = False) -> str:
    """`filter_text` narrowed by `field:value` (or excluding it with negate=True); `field`
    may be a JSON path (see `term_for`)."""
    term = term_for(field, value, negate)
    base = filter_text.strip()
    if not base:
        return term
    root = parse(base).root
    if root is None:
        return term
    new = _dedup_key(parse(term).root)
    conjuncts = root.children if isinstance(root, And) else (root,)
    if any(_dedup_key(c) == new for c in conjuncts):
        return base  # already narrowed by this term (matching ignores case, so does this)
    if isinstance(root, Or):
        # Without parens the new term would bind to the last OR branch only.
        base = f"({base})"
    return f"{base} {term}"


def _fmt_ms(ms: int, with_ms: bool) -> str:
    d = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)
    if with_ms:
        return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"
    return d.strftime("%Y-%m-%dT%H:%M:%SZ")


def time_range_term(lo_ms: int, hi_ms_exclusive: int) -> str:
    """`since:... until:...` selecting lo <= t < hi (until: is inclusive at its precision,
    so it names the last second, or the last ms when hi is not on a whole second)."""
    since = _fmt_ms(lo_ms, lo_ms % 1000 != 0)
    if hi_ms_exclusive % 1000:
        until = _fmt_ms(hi_ms_exclusive - 1, True)
    else:
        until = _fmt_ms(hi_ms_exclusive - 1000, False)
    return f"since:{since} until:{until}"


# ------------------------------------------------- credential and selection-relative terms
# `minted:KEY`, `descends:KEY` (credentials.py answers them through the store) and
# `last:DURATION`, which is anchored to the newest event the rest of its AND group
# matches: `principal:x has:error last:1h` is x's errors in the last hour of x's errors.
# Where `last:` has no siblings (alone, or a branch of an OR), it is the last stretch of
# the whole trail, like `since:-1h`. `-last:1h` in a group keeps the group's events
# before that last stretch.

_LAST_RE = re.compile(r"(?:\d+[smhdw])+")


_SEVERITY_RE = re.compile(r"(>=|<=|>|<)?([a-z]+)")


def _severity_node(value: str, pos: int, vpos: int) -> Severity:
    """`severity:high` (that severity), `>=medium`, `>low`, `<=medium`, `<high`."""
    m = _SEVERITY_RE.fullmatch(value.strip().lower())
    if m is None or m.group(2) not in SEVERITY_NAMES:
        raise QueryError(
            f"bad severity {value!r}: one of {', '.join(SEVERITY_NAMES)}, optionally "
            "after >=, >, <= or < (severity:>=medium)",
            vpos,
        )
    op, k = m.group(1), SEVERITY_NAMES.index(m.group(2))
    top = len(SEVERITY_NAMES) - 1
    lo, hi = {None: (k, k), ">=": (k, top), ">": (k + 1, top), "<=": (0, k), "<": (0, k - 1)}[op]
    return Severity(lo, hi, pos)


def _pivot_node(name: str, w: _Word, vstart: int, value: str, vpos: int) -> Node:
    if name == "last":
        spec = value.strip()
        if not _LAST_RE.fullmatch(spec) or _duration_ms(spec) == 0:
            raise QueryError(
                f"bad duration {value!r} for last: (e.g. last:15m, last:1h, last:2d, "
                "last:1h30m; units s m h d w)",
                vpos,
            )
        return Last(_duration_ms(spec), spec, w.pos)
    m = _matcher(w, vstart)
    if m.parts is None and m.text == "":
        raise QueryError(f"{name}: needs an access key (or a pattern: {name}:ASIA*)", vpos)
    return Cred(name, m, w.pos)


def _is_last(node: Node) -> bool:
    return isinstance(node, Last) or (isinstance(node, Not) and isinstance(node.child, Last))


def _eval_last_group(lasts: list[Node], rest: Node | None, ctx: _Ctx) -> tuple[np.ndarray, bool]:
    """The `last:` terms of one AND group over the group's other terms (`rest`, None:
    every event): each keeps the events within its stretch before the newest event
    `rest` matches (`-last:` the ones before it)."""
    t = ctx.t
    if rest is None:
        acc, owned = t.mask_all(), False
    else:
        acc, owned = _eval(rest, ctx)
    newest = t.newest_time_in(acc) if acc.any() else None
    if newest is None:
        return np.zeros(t.row_count(), dtype=bool), True
    if not owned:
        acc, owned = np.array(acc, dtype=bool, copy=True), True
    for node in lasts:
        last = node.child if isinstance(node, Not) else node
        assert isinstance(last, Last)
        inside = t.mask_time(newest - last.ms, newest + 1)
        if isinstance(node, Not):
            acc &= ~inside
        else:
            acc &= inside
    return acc, owned


def conjuncts(text: str) -> list[tuple[Node, int, int]] | None:
    """The terms of a filter's top-level AND group, each with its [start, end) in
    `text` (a `since:DATE HH:MM` pair spans both words); None when the filter's top
    level is an OR (it is then one term). Raises QueryError."""
    toks = _tokenize(text)
    p = _Parser(text, toks)
    out: list[tuple[Node, int, int]] = []
    while p.peek() is not None:
        t = p.peek()
        assert t is not None
        if t.kind == "and":
            p.take()
            p.need_term_after("AND")
            continue
        if t.kind == "or":
            return None
        if t.kind == ")":
            raise QueryError("unexpected ')' without a matching '('", t.pos)
        start = t.pos
        node = p.unary()
        out.append((node, start, p.toks[p.i - 1].end))
    return out
