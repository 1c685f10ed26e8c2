"""Filters as SQL: a parsed filter (query.py) translated for Athena, CloudTrail Lake and
DuckDB.

One translator walks the filter and builds one SQL tree (sqlglot expressions) over the
columns of the CloudTrail table (sqlschema.py). What differs between engines is kept in
an `Engine`: a handful of leaf functions (JSON access, list functions, time parsing)
and the table's column types; sqlglot writes the tree in each dialect. The tests run
the DuckDB form over the files the in-memory engine loads and compare the events
(tests/core/test_sql_equivalence.py), so the rules below must stay those of
docs/query.md; where an engine cannot follow them, docs/sql.md says how it differs.

Every predicate is two-valued (never NULL): SQL's NULL would turn `NOT` into "unknown",
where the filter language's `-field:x` includes events without the field.

The indexed fields' derivations (`FIELD_SQL`) follow the rules of tui/core/fields.py,
written by hand per field: a field added there needs its entry here (an assert below
says so at import).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import orjson
from sqlglot import exp

from .fields import CLOSED_VALUES, FIELD_NAMES
from .paths import Path
from .query import (
    And,
    Has,
    Is,
    Node,
    Not,
    Or,
    PathTerm,
    Query,
    Term,
    Text,
    Time,
    ValueMatcher,
)
from .sanitize import is_hostile_char
from .sqlschema import (
    ATHENA_COLUMNS,
    DATE_PARTITION,
    DIALECTS,
    LAKE_COLUMNS,
    RAW_COLUMN,
    Column,
    column,
)

__all__ = ["DIALECTS", "SqlError", "SqlQuery", "cost_usd", "to_sql"]

DEFAULT_TABLE = "cloudtrail_logs"
# Keys after an array are looked up through nested arrays this deep (docs/sql.md).
ARRAY_DEPTH = 2
_DAY_MS = 86_400_000


class SqlError(ValueError):
    """A filter (or part of one) that a dialect cannot express; `position` is the
    0-based offset of the term in the filter, as in QueryError."""

    def __init__(self, message: str, position: int = 0) -> None:
        super().__init__(message, position)
        self.message = message
        self.position = position

    def __str__(self) -> str:
        return f"column {self.position + 1}: {self.message}"


@dataclass
class SqlQuery:
    sql: str  # the whole statement
    where: str  # its WHERE condition alone ('' when the filter is empty)
    notes: list[str] = field(default_factory=list)  # how relative times were resolved...


# ---------------------------------------------------------------------------- helpers


def _fn(name: str, *args: exp.Expression) -> exp.Expression:
    return exp.Anonymous(this=name, expressions=list(args))


def _lam(var: str, body: exp.Expression) -> exp.Lambda:
    return exp.Lambda(this=body, expressions=[exp.to_identifier(var)])


def _col(*parts: str) -> exp.Expression:
    """A column or a struct field: `useridentity.sessioncontext.sessionissuer.arn`."""
    node: exp.Expression = exp.column(parts[0], quoted=parts[0] == DATE_PARTITION)
    for p in parts[1:]:
        node = exp.Dot(this=node, expression=exp.to_identifier(p))
    return node


def lit(s: str) -> exp.Expression:
    """A string literal that prints inert: control and invisible characters are written
    as chr(N), joined with ||, so the SQL text never carries them."""
    pieces: list[exp.Expression] = []
    run: list[str] = []
    for ch in s:
        if is_hostile_char(ord(ch)):
            if run:
                pieces.append(exp.Literal.string("".join(run)))
                run = []
            pieces.append(_fn("chr", exp.Literal.number(ord(ch))))
        else:
            run.append(ch)
    if run or not pieces:
        pieces.append(exp.Literal.string("".join(run)))
    node = pieces[0]
    for p in pieces[1:]:
        node = exp.DPipe(this=node, expression=p)
    return exp.Paren(this=node) if len(pieces) > 1 else node


def _false() -> exp.Expression:
    return exp.false()


def _true() -> exp.Expression:
    return exp.true()


def _coalesce_false(e: exp.Expression) -> exp.Expression:
    return exp.Coalesce(this=e, expressions=[_false()])


def _nonempty(v: exp.Expression) -> exp.Expression:
    return exp.NEQ(
        this=exp.Coalesce(this=v, expressions=[exp.Literal.string("")]),
        expression=exp.Literal.string(""),
    )


def _empty(v: exp.Expression) -> exp.Expression:
    return exp.EQ(
        this=exp.Coalesce(this=v, expressions=[exp.Literal.string("")]),
        expression=exp.Literal.string(""),
    )


def _first_nonempty(values: Sequence[exp.Expression], default: str | None) -> exp.Expression:
    args: list[exp.Expression] = [
        exp.Nullif(this=v, expression=exp.Literal.string("")) for v in values
    ]
    if default is not None:
        args.append(exp.Literal.string(default))
    return exp.Coalesce(this=args[0], expressions=args[1:]) if len(args) > 1 else args[0]


def _like_escape(s: str) -> str:
    return s.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _or(items: Sequence[exp.Expression]) -> exp.Expression:
    if not items:
        return _false()
    node = items[0]
    for it in items[1:]:
        node = exp.Or(this=node, expression=it)
    return exp.Paren(this=node) if len(items) > 1 else node


def _and(items: Sequence[exp.Expression]) -> exp.Expression:
    if not items:
        return _true()
    node = items[0]
    for it in items[1:]:
        node = exp.And(this=node, expression=it)
    return exp.Paren(this=node) if len(items) > 1 else node


def match_text(v: exp.Expression, m: ValueMatcher) -> exp.Expression:
    """`field:value` on a string expression `v` (NULL is no value): whole value, ignoring
    case (SQL lower(), see docs/sql.md), `*` globs as LIKE, `*` alone any value, `""` none."""
    if m.matches_any_nonempty:
        return _nonempty(v)
    if m.parts is None:
        if m.text == "":
            return _empty(v)
        return _coalesce_false(exp.EQ(this=exp.Lower(this=v), expression=lit(m.text.lower())))
    pattern = "%".join(_like_escape(p.lower()) for p in m.parts)
    like = exp.Escape(
        this=exp.Like(this=exp.Lower(this=v), expression=lit(pattern)),
        expression=exp.Literal.string("\\"),
    )
    return _coalesce_false(like)


# ---------------------------------------------------------------------------- engines


class Engine:
    """What one SQL engine needs spelt its own way. The translator calls only these for
    JSON, lists and times; everything else in the tree is common SQL."""

    name = ""
    sqlglot_dialect = ""
    columns: tuple[Column, ...] = ATHENA_COLUMNS
    has_raw = False  # the table holds each record's text (free text can search it)
    has_partition = True

    def transform(self, arr: exp.Expression, var: str, body: exp.Expression) -> exp.Expression:
        return _fn("transform", arr, _lam(var, body))

    def filter(self, arr: exp.Expression, var: str, body: exp.Expression) -> exp.Expression:
        return _fn("filter", arr, _lam(var, body))

    def any_match(self, arr: exp.Expression, var: str, body: exp.Expression) -> exp.Expression:
        return _coalesce_false(_fn("any_match", arr, _lam(var, body)))

    def element(self, arr: exp.Expression, index0: int) -> exp.Expression:
        return _fn("element_at", arr, exp.Literal.number(index0 + 1))

    def json_parse(self, text: exp.Expression) -> exp.Expression:
        return _fn("json_parse", text)

    def json_member(self, v: exp.Expression, key: str) -> exp.Expression:
        return _fn("json_extract", v, exp.Literal.string(f'$["{key}"]'))

    def json_index(self, v: exp.Expression, index0: int) -> exp.Expression:
        return _fn("json_extract", v, exp.Literal.string(f"$[{index0}]"))

    def json_is_array(self, v: exp.Expression) -> exp.Expression:
        return exp.Not(this=exp.Is(this=_fn("json_array_length", v), expression=exp.Null()))

    def json_as_array(self, v: exp.Expression) -> exp.Expression:
        return exp.Cast(this=v, to=exp.DataType.build("ARRAY(JSON)", dialect="trino"))

    def json_scalar(self, v: exp.Expression) -> exp.Expression:
        """A scalar's text (strings unquoted, numbers and booleans as JSON writes them);
        NULL for null, objects and arrays."""
        return _fn("json_extract_scalar", v, exp.Literal.string("$"))

    def json_nonempty_object(self, v: exp.Expression) -> exp.Expression:
        return exp.GT(
            this=_fn("json_size", v, exp.Literal.string("$")), expression=exp.Literal.number(0)
        )

    def event_time(self) -> exp.Expression:
        return _fn("try", _fn("from_iso8601_timestamp", _col("eventtime")))

    def time_literal(self, ms: int) -> exp.Expression:
        return _fn("from_iso8601_timestamp", exp.Literal.string(_iso_ms(ms)))

    def readonly(self) -> exp.Expression:
        return exp.Lower(this=_col("readonly"))


class AthenaEngine(Engine):
    name = "athena"
    sqlglot_dialect = "athena"


class LakeEngine(Engine):
    name = "lake"
    sqlglot_dialect = "trino"
    columns = LAKE_COLUMNS
    has_partition = False

    def event_time(self) -> exp.Expression:
        return _col("eventtime")

    def time_literal(self, ms: int) -> exp.Expression:
        return exp.Cast(
            this=exp.Literal.string(_iso_ms(ms, sep=" ", zone="")),
            to=exp.DataType.build("TIMESTAMP"),
        )

    def readonly(self) -> exp.Expression:
        return exp.Lower(this=exp.Cast(this=_col("readonly"), to=exp.DataType.build("VARCHAR")))


class DuckEngine(Engine):
    name = "duckdb"
    sqlglot_dialect = "duckdb"
    has_raw = True

    def transform(self, arr, var, body):
        return _fn("list_transform", arr, _lam(var, body))

    def filter(self, arr, var, body):
        return _fn("list_filter", arr, _lam(var, body))

    def any_match(self, arr, var, body):
        return _coalesce_false(
            exp.GT(this=_fn("len", self.filter(arr, var, body)), expression=exp.Literal.number(0))
        )

    def element(self, arr, index0):
        return _fn("list_extract", arr, exp.Literal.number(index0 + 1))

    def json_parse(self, text):
        return _fn("json", text)

    def json_member(self, v, key):
        return _fn("json_extract", v, exp.Literal.string(f'$."{key}"'))

    def json_is_array(self, v):
        return exp.EQ(this=_fn("json_type", v), expression=exp.Literal.string("ARRAY"))

    def json_as_array(self, v):
        return exp.Cast(this=v, to=exp.DataType.build("JSON[]", dialect="duckdb"))

    def json_scalar(self, v):
        kind = _fn("json_type", v)
        return exp.Case(
            ifs=[
                exp.If(
                    this=exp.In(
                        this=kind,
                        expressions=[exp.Literal.string("OBJECT"), exp.Literal.string("ARRAY")],
                    ),
                    true=exp.Null(),
                )
            ],
            default=_fn("json_extract_string", v, exp.Literal.string("$")),
        )

    def json_nonempty_object(self, v):
        return exp.And(
            this=exp.EQ(this=_fn("json_type", v), expression=exp.Literal.string("OBJECT")),
            expression=exp.GT(
                this=_fn("len", _fn("json_keys", v)), expression=exp.Literal.number(0)
            ),
        )

    def event_time(self):
        return exp.TryCast(this=_col("eventtime"), to=exp.DataType.build("TIMESTAMPTZ"))

    def time_literal(self, ms):
        return exp.Cast(this=exp.Literal.string(_iso_ms(ms)), to=exp.DataType.build("TIMESTAMPTZ"))


ENGINES: dict[str, type[Engine]] = {
    "athena": AthenaEngine,
    "lake": LakeEngine,
    "duckdb": DuckEngine,
}


def _iso_ms(ms: int, sep: str = "T", zone: str = "Z") -> str:
    d = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return d.strftime(f"%Y-%m-%d{sep}%H:%M:%S.") + f"{ms % 1000:03d}{zone}"


def _day(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y/%m/%d")


# ---------------------------------------------------------------------------- fields

_UI = ("useridentity",)
_ISSUER = ("useridentity", "sessioncontext", "sessionissuer")


def _c(*parts: str) -> exp.Expression:
    return _col(*parts)


def _cred(e: Engine) -> exp.Expression:
    """fields.py `cred`: by userIdentity.type, then anonymous and invokedBy callers."""
    t = _c(*_UI, "type")
    by_type = {
        "Root": "root",
        "IAMUser": "iam-user",
        "AssumedRole": "role-session",
        "Role": "role-session",
        "FederatedUser": "federated",
        "SAMLUser": "federated",
        "WebIdentityUser": "federated",
        "IdentityCenterUser": "federated",
        "AWSService": "aws-service",
        "AnonymousPrincipal": "anonymous",
    }
    ifs = [
        exp.If(this=exp.EQ(this=t, expression=exp.Literal.string(k)), true=exp.Literal.string(v))
        for k, v in by_type.items()
    ]
    no_type = _empty(t)
    anon_type = exp.Or(
        this=exp.In(
            this=t, expressions=[exp.Literal.string("AWSAccount"), exp.Literal.string("Unknown")]
        ),
        expression=no_type,
    )
    anon_ids = [exp.Literal.string("anonymous"), exp.Literal.string("anonymous_principal")]

    def anon(v: exp.Expression) -> exp.Expression:
        # ASCII-only lower-casing in trailscope: a non-ASCII value never names anonymous.
        return _coalesce_false(exp.In(this=exp.Lower(this=v), expressions=anon_ids))

    ifs.append(
        exp.If(
            this=exp.And(
                this=exp.Paren(this=anon_type),
                expression=exp.Paren(
                    this=exp.Or(
                        this=anon(_c(*_UI, "accountid")), expression=anon(_c(*_UI, "principalid"))
                    )
                ),
            ),
            true=exp.Literal.string("anonymous"),
        )
    )
    ifs.append(
        exp.If(
            this=exp.And(this=no_type, expression=_nonempty(_c(*_UI, "invokedby"))),
            true=exp.Literal.string("aws-service"),
        )
    )
    return exp.Case(ifs=ifs, default=exp.Literal.string("other"))


def _role(e: Engine) -> exp.Expression:
    return exp.Case(
        ifs=[
            exp.If(
                this=exp.EQ(this=_c(*_ISSUER, "type"), expression=exp.Literal.string("Role")),
                true=_c(*_ISSUER, "arn"),
            )
        ],
    )


def _lookup_ci(v: exp.Expression, table: dict[str, str]) -> list[exp.If]:
    """rules.lookup(..., ci=True): the lower-cased value's entry."""
    return [
        exp.If(
            this=_coalesce_false(exp.EQ(this=exp.Lower(this=v), expression=exp.Literal.string(k))),
            true=exp.Literal.string(out),
        )
        for k, out in table.items()
    ]


def _member(e: Engine, col: str, key: str) -> exp.Expression:
    """One key of a JSON-text column (Athena, DuckDB) or map column (Lake), by its exact
    spelling, as the store's rules read it."""
    kind = column(e.columns, col).kind  # type: ignore[union-attr]
    if kind == "map":
        return _fn("element_at", _col(col), exp.Literal.string(key))
    return e.json_scalar(e.json_member(e.json_parse(_col(col)), key))


def _mfa(e: Engine) -> exp.Expression:
    """fields.py `mfa`: a sign-in's MFAUsed (Yes/No), else the session's mfaAuthenticated."""
    return exp.Case(
        ifs=[
            *_lookup_ci(_member(e, "additionaleventdata", "MFAUsed"), {"yes": "yes", "no": "no"}),
            *_lookup_ci(
                _c(*_UI, "sessioncontext", "attributes", "mfaauthenticated"),
                {"true": "yes", "false": "no"},
            ),
        ]
    )


def _session(e: Engine) -> exp.Expression:
    """fields.py `session`: the caller's ARN when it is a role or federated session."""
    kinds = [exp.Literal.string("AssumedRole"), exp.Literal.string("FederatedUser")]
    return exp.Case(
        ifs=[
            exp.If(
                this=_coalesce_false(exp.In(this=_c(*_UI, "type"), expressions=kinds)),
                true=_c(*_UI, "arn"),
            )
        ]
    )


def _console(e: Engine) -> exp.Expression:
    """fields.py `console`: by eventType (ignoring case), else a console session's call."""
    return exp.Case(
        ifs=[
            *_lookup_ci(
                _c("eventtype"), {"awsconsolesignin": "sign-in", "awsconsoleaction": "action"}
            ),
            *_lookup_ci(_c("sessioncredentialfromconsole"), {"true": "session"}),
        ]
    )


# Field -> its value from the table's columns (fields.py's rules): most are the first
# non-empty of some columns (with a default), three are derived.
_SOURCES: dict[str, tuple[tuple[tuple[str, ...], ...], str | None]] = {
    "service": ((("eventsource",),), None),
    "event": ((("eventname",),), None),
    "principal": (
        (
            _UI + ("arn",),
            _UI + ("invokedby",),
            _UI + ("onbehalfof", "userid"),
            _UI + ("username",),
            _UI + ("principalid",),
            _UI + ("accountid",),
        ),
        "unknown",
    ),
    "ip": ((("sourceipaddress",),), None),
    "region": ((("awsregion",),), None),
    "account": ((("recipientaccountid",), _UI + ("accountid",)), None),
    "error": ((("errorcode",),), None),
    "type": ((_UI + ("type",),), None),
    "key": ((_UI + ("accesskeyid",),), None),
    "ua": ((("useragent",),), None),
    "user": ((_UI + ("username",), _ISSUER + ("username",)), None),
    "eventtype": ((("eventtype",),), None),
    "category": ((("eventcategory",),), None),
    "sourceidentity": (
        (_UI + ("sessioncontext", "sourceidentity"), _UI + ("sourceidentity",)),
        None,
    ),
    "vpce": ((("vpcendpointid",),), None),
}
_DERIVED: dict[str, Callable[[Engine], exp.Expression]] = {
    "cred": _cred,
    "role": _role,
    "readonly": lambda e: e.readonly(),
    "mfa": _mfa,
    "session": _session,
    "console": _console,
}


def field_sql(name: str, engine: Engine) -> exp.Expression:
    """The SQL value of an indexed field (NULL or '' when the event has none)."""
    if name in _DERIVED:
        return _DERIVED[name](engine)
    sources, default = _SOURCES[name]
    cols = [_c(*s) for s in sources]
    if len(cols) == 1 and default is None:
        return cols[0]
    return _first_nonempty(cols, default)


FIELD_SQL = {name: (lambda e, n=name: field_sql(n, e)) for name in FIELD_NAMES}
assert set(_SOURCES) | set(_DERIVED) == set(FIELD_NAMES), "every field needs its SQL"

_IPV4_OCTET = "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
IPV4_RE = rf"^({_IPV4_OCTET}\.){{3}}{_IPV4_OCTET}$"
_H = "[0-9a-fA-F]{1,4}"
_V4 = rf"({_IPV4_OCTET}\.){{3}}{_IPV4_OCTET}"
# RFC 4291 text forms (with an embedded IPv4 tail and a %scope, as Python's ipaddress
# accepts them).
IPV6_RE = (
    "^("
    + "|".join(
        [
            rf"({_H}:){{7}}{_H}",
            rf"({_H}:){{1,7}}:",
            rf"({_H}:){{1,6}}:{_H}",
            rf"({_H}:){{1,5}}(:{_H}){{1,2}}",
            rf"({_H}:){{1,4}}(:{_H}){{1,3}}",
            rf"({_H}:){{1,3}}(:{_H}){{1,4}}",
            rf"({_H}:){{1,2}}(:{_H}){{1,5}}",
            rf"{_H}:(:{_H}){{1,6}}",
            rf":((:{_H}){{1,7}}|:)",
            rf"({_H}:){{6}}{_V4}",
            rf"({_H}:){{1,5}}:{_V4}",
            rf"({_H}:){{1,4}}:({_H}:){{1}}{_V4}",
            rf"({_H}:){{1,3}}:({_H}:){{1,2}}{_V4}",
            rf"({_H}:){{1,2}}:({_H}:){{1,3}}{_V4}",
            rf"{_H}::({_H}:){{1,4}}{_V4}",
            rf"::({_H}:){{0,5}}{_V4}",
        ]
    )
    + ")(%[^%/]+)?$"
)


# ---------------------------------------------------------------------------- paths


@dataclass
class _PathSql:
    """What a path selects: `values` (a string, or a list of strings; NULL/'' are no
    value), and `present` (it has a value, objects included)."""

    values: exp.Expression | None  # None: it selects no matchable value
    is_list: bool
    present: exp.Expression


class _Translator:
    def __init__(self, engine: Engine, now_ms: int) -> None:
        self.e = engine
        self.now_ms = now_ms
        self.notes: list[str] = []
        self._vars = 0

    def var(self) -> str:
        self._vars += 1
        return f"x{self._vars}"

    # ------------------------------------------------------------------ nodes
    def node(self, n: Node) -> exp.Expression:
        if isinstance(n, Term):
            return self.term(n)
        if isinstance(n, PathTerm):
            return self.path_term(n)
        if isinstance(n, Text):
            return self.text(n)
        if isinstance(n, Time):
            lo, hi = self.bounds(n)
            return self.time_range(lo, hi)
        if isinstance(n, Has):
            return self.has(n)
        if isinstance(n, Is):
            return self.is_(n)
        if isinstance(n, Not):
            return exp.Not(this=exp.Paren(this=self.node(n.child)))
        if isinstance(n, And):
            return self.and_(n)
        if isinstance(n, Or):
            return _or([self.node(c) for c in n.children])
        # mark:, and any term added to the language later: say so rather than guess.
        kind = type(n).__name__
        what = (
            "marks and notes live in the case file, not in the table"
            if kind == "Mark"
            else f"the term kind {kind!r} has no SQL form"
        )
        raise SqlError(f"not expressible in SQL: {what}", getattr(n, "pos", 0))

    def and_(self, n: And) -> exp.Expression:
        # Sibling since:/until: bounds become one range, as the in-memory engine does.
        times = [c for c in n.children if isinstance(c, Time)]
        parts: list[exp.Expression] = []
        if times:
            lo = hi = None
            for t in times:
                b_lo, b_hi = self.bounds(t)
                if b_lo is not None:
                    lo = b_lo if lo is None else max(lo, b_lo)
                if b_hi is not None:
                    hi = b_hi if hi is None else min(hi, b_hi)
            parts.append(self.time_range(lo, hi))
        parts.extend(self.node(c) for c in n.children if not isinstance(c, Time))
        return _and(parts)

    def term(self, n: Term) -> exp.Expression:
        allowed = CLOSED_VALUES.get(n.field)
        m = n.matcher
        if (
            allowed
            and not m.wildcard
            and m.text
            and m.folded not in {v.casefold() for v in allowed}
        ):
            raise SqlError(
                f"unknown value {m.text!r} for {n.field}: (valid: {', '.join(allowed)})", n.pos
            )
        return match_text(field_sql(n.field, self.e), m)

    def text(self, n: Text) -> exp.Expression:
        if not n.pieces:
            return _true()
        if not self.e.has_raw:
            raise SqlError(
                f"free text ({n.phrase!r}) needs each event's raw record, which the "
                f"{self.e.name} table does not keep: use a field or a path term "
                "(e.g. errorMessage:*denied*)",
                n.pos,
            )
        raw = exp.Lower(this=_col(RAW_COLUMN))
        parts = []
        for p in n.pieces:
            needle = orjson.dumps(p)[1:-1].decode().lower()
            parts.append(
                exp.GT(this=_fn("strpos", raw, lit(needle)), expression=exp.Literal.number(0))
            )
        return _coalesce_false(_and(parts)) if len(parts) > 1 else _coalesce_false(parts[0])

    # ------------------------------------------------------------------ time
    def bounds(self, n: Time) -> tuple[int | None, int | None]:
        if n.anchor == "abs":
            base = n.ms
        else:
            base = self.now_ms + n.ms
            when = _iso_ms(base)
            if n.anchor == "newest":
                self.notes.append(
                    f"{n.bound}:{n.spec} counted from now ({when}): SQL has no newest event "
                    "without scanning the table"
                )
            else:
                self.notes.append(f"{n.bound}:{n.spec} = {when}")
        if n.bound == "since":
            return base, None
        return None, (base if n.anchor == "abs" else base + 1)

    def time_range(self, lo: int | None, hi: int | None) -> exp.Expression:
        t = self.e.event_time()
        conds: list[exp.Expression] = [exp.Not(this=exp.Is(this=t, expression=exp.Null()))]
        if lo is not None:
            conds.append(exp.GTE(this=t, expression=self.e.time_literal(lo)))
        if hi is not None:
            conds.append(exp.LT(this=t, expression=self.e.time_literal(hi)))
        return _coalesce_false(_and(conds))

    # ------------------------------------------------------------------ has: / is:
    def has(self, n: Has) -> exp.Expression:
        name = n.name.lower()
        indexed = name if name in FIELD_NAMES else _field_alias(name)
        if indexed:
            return _nonempty(field_sql(indexed, self.e))
        if name == "eventid":
            return _nonempty(_col("eventid"))
        if name == "time":
            return self.time_range(None, None)
        if name in _HAS_NOT_SQL:
            raise SqlError(f"not expressible in SQL: has:{name} ({_HAS_NOT_SQL[name]})", n.pos)
        known = ", ".join((*FIELD_NAMES, "eventid", "time"))
        raise SqlError(f"unknown has:{n.name} (known in SQL: {known})", n.pos)

    def is_(self, n: Is) -> exp.Expression:
        name = n.name.lower()
        ip = field_sql("ip", self.e)
        v4 = _coalesce_false(exp.RegexpLike(this=ip, expression=exp.Literal.string(IPV4_RE)))
        v6 = _coalesce_false(exp.RegexpLike(this=ip, expression=exp.Literal.string(IPV6_RE)))
        # `$` may match before a final newline (Java's regex): no newline is an IP.
        newline = _fn("strpos", ip, _fn("chr", exp.Literal.number(10)))
        no_nl = _coalesce_false(exp.EQ(this=newline, expression=exp.Literal.number(0)))
        if name == "ipv4":
            return _and([v4, no_nl])
        if name == "ipv6":
            return _and([v6, no_nl])
        if name == "ip":
            return _and([_or([v4, v6]), no_nl])
        if name == "service-ip":
            ends = exp.Like(this=ip, expression=exp.Literal.string("%.amazonaws.com"))
            return _coalesce_false(ends)
        if name == "internal":
            return _coalesce_false(exp.EQ(this=ip, expression=exp.Literal.string("AWS Internal")))
        if name == "readonly":
            return match_text(field_sql("readonly", self.e), ValueMatcher.exact("true"))
        if name == "insight":
            return match_text(
                field_sql("eventtype", self.e), ValueMatcher.exact("AwsCloudTrailInsight")
            )
        if name == "dup-id":
            raise SqlError(
                "not expressible in SQL: is:dup-id (trailscope finds duplicate "
                "eventIDs while loading)",
                n.pos,
            )
        if name == "unverified":
            raise SqlError(
                "not expressible in SQL: is:unverified (trailscope checks local "
                "files against their digests: trailscope verify)",
                n.pos,
            )
        raise SqlError(
            f"unknown is:{n.name} (known in SQL: ip, ipv4, ipv6, service-ip, "
            "internal, readonly, insight)",
            n.pos,
        )

    # ------------------------------------------------------------------ paths
    def path_term(self, n: PathTerm) -> exp.Expression:
        ps = self.path(n.path, n.pos)
        m = n.matcher
        if m.matches_any_nonempty:
            return ps.present
        if m.parts is None and m.text == "":
            return exp.Not(this=exp.Paren(this=ps.present))
        if ps.values is None:
            return _false()
        if not ps.is_list:
            return match_text(ps.values, m)
        v = self.var()
        return self.e.any_match(ps.values, v, match_text(exp.column(v), m))

    def path(self, path: Path, pos: int) -> _PathSql:
        segs = path.segs
        first = segs[0]
        col = column(self.e.columns, first)  # type: ignore[arg-type]
        if col is None:
            raise SqlError(
                f"not expressible in SQL: {path.text} (the {self.e.name} table has no column "
                f"{first!r}; its columns: {', '.join(c.key for c in self.e.columns)})",
                pos,
            )
        rest = segs[1:]
        if col.kind in ("str", "bool", "time"):
            if rest:
                return _PathSql(None, False, _false())
            v = field_sql("readonly", self.e) if col.name == "readonly" else _col(col.name)
            if col.kind == "time":
                v = exp.Cast(this=v, to=exp.DataType.build("VARCHAR"))
            return _PathSql(v, False, _nonempty(v))
        if col.kind == "json":
            return self.json_path(exp.Lower(this=_col(col.name)), rest, pos)
        if col.kind == "map":
            return self.map_path(col, rest, path, pos)
        if col.kind == "array":
            return self.array_path(col, rest, path, pos)
        return self.struct_path(_col(col.name), col, rest, path, pos)

    def struct_path(self, node: exp.Expression, col: Column, rest, path: Path, pos: int):
        for i, seg in enumerate(rest):
            if isinstance(seg, int):
                return _PathSql(None, False, _false())
            sub = col.field(seg)
            if sub is None:
                raise SqlError(
                    f"not expressible in SQL: {path.text} ({seg!r} is not a field of "
                    f"{col.key} in the {self.e.name} table)",
                    pos,
                )
            node = exp.Dot(this=node, expression=exp.to_identifier(sub.name))
            col = sub
            if col.kind != "struct" and i + 1 < len(rest):
                return _PathSql(None, False, _false())
        if col.kind == "struct":
            return _PathSql(None, False, self.struct_present(node, col))
        return _PathSql(node, False, _nonempty(node))

    def struct_present(self, node: exp.Expression, col: Column) -> exp.Expression:
        """A struct has a value when any field under it has one."""
        leaves = []
        for f in col.fields:
            sub = exp.Dot(this=node, expression=exp.to_identifier(f.name))
            leaves.append(self.struct_present(sub, f) if f.kind == "struct" else _nonempty(sub))
        return _or(leaves)

    def array_path(self, col: Column, rest, path: Path, pos: int) -> _PathSql:
        arr = _col(col.name)
        elem_col = Column(col.name, col.key, "struct", col.fields)
        if rest and isinstance(rest[0], int):
            elem = self.e.element(arr, rest[0])
            return self.struct_path(elem, elem_col, rest[1:], path, pos)
        v = self.var()
        inner = self.struct_path(exp.column(v), elem_col, rest, path, pos)
        present = self.e.any_match(arr, v, inner.present)
        if inner.values is None:
            return _PathSql(None, False, present)
        return _PathSql(self.e.transform(arr, v, inner.values), True, present)

    def map_path(self, col: Column, rest, path: Path, pos: int) -> _PathSql:
        if len(rest) != 1 or not isinstance(rest[0], str):
            raise SqlError(
                f"not expressible in SQL: {path.text} (the {self.e.name} table "
                f"keeps {col.key} as a map of strings: name one key in it)",
                pos,
            )
        v = _fn("element_at", _col(col.name), exp.Literal.string(rest[0]))
        return _PathSql(v, False, _nonempty(v))

    def json_path(self, text: exp.Expression, rest, pos: int) -> _PathSql:
        """Walk JSON text by the rule of paths.py: keys look through arrays; values are
        the scalars (arrays at the end give their elements); objects are present only.
        The text is lower-cased first, so keys match ignoring case."""
        e = self.e
        lst: exp.Expression = exp.Array(expressions=[e.json_parse(text)])
        # The column holds an object (or nothing): no array to look through at the root.
        at_root = True
        for seg in rest:
            if isinstance(seg, int):
                step = lambda v, s=seg: e.json_index(v, s)  # noqa: E731
            else:
                key = seg.lower()
                if not _json_key_ok(key):
                    raise SqlError(
                        f"not expressible in SQL: the key {seg!r} (quotes, "
                        "backslashes and control characters)",
                        pos,
                    )
                if not at_root:
                    lst = self.unwrap(lst)
                step = lambda v, k=key: e.json_member(v, k)  # noqa: E731
            v = self.var()
            w = self.var()
            lst = e.filter(
                e.transform(lst, v, step(exp.column(v))),
                w,
                exp.Not(this=exp.Is(this=exp.column(w), expression=exp.Null())),
            )
            at_root = False
        ends = self.unwrap(lst)
        v = self.var()
        s = self.var()
        values = e.filter(
            e.transform(ends, v, exp.Lower(this=e.json_scalar(exp.column(v)))),
            s,
            _nonempty(exp.column(s)),
        )
        p = self.var()
        present = e.any_match(
            ends,
            p,
            exp.Or(
                this=_nonempty(e.json_scalar(exp.column(p))),
                expression=_coalesce_false(e.json_nonempty_object(exp.column(p))),
            ),
        )
        return _PathSql(values, True, present)

    def unwrap(self, lst: exp.Expression) -> exp.Expression:
        """Arrays in the list replaced by their elements, ARRAY_DEPTH levels deep."""
        e = self.e
        for _ in range(ARRAY_DEPTH):
            v = self.var()
            item = exp.column(v)
            lst = _fn(
                "flatten",
                e.transform(
                    lst,
                    v,
                    exp.Case(
                        ifs=[
                            exp.If(
                                this=_coalesce_false(e.json_is_array(item)),
                                true=e.json_as_array(item),
                            )
                        ],
                        default=exp.Array(expressions=[item]),
                    ),
                ),
            )
        return lst

    # ------------------------------------------------------------------ partitions
    def partition(self, root: Node | None) -> exp.Expression | None:
        """The day folders that can hold the events a filter's top-level time bounds
        select: from the since: day to a day after the until: day (CloudTrail files an
        event under the day it delivers it, minutes after the event)."""
        if root is None or not self.e.has_partition:
            return None
        tops = root.children if isinstance(root, And) else (root,)
        lo = hi = None
        for t in tops:
            if isinstance(t, Time):
                b_lo, b_hi = self.bounds_quiet(t)
                if b_lo is not None:
                    lo = b_lo if lo is None else max(lo, b_lo)
                if b_hi is not None:
                    hi = b_hi if hi is None else min(hi, b_hi)
        conds: list[exp.Expression] = []
        part = _col(DATE_PARTITION)
        if lo is not None:
            conds.append(exp.GTE(this=part, expression=exp.Literal.string(_day(lo))))
        if hi is not None:
            conds.append(exp.LTE(this=part, expression=exp.Literal.string(_day(hi - 1 + _DAY_MS))))
        return _and(conds) if conds else None

    def bounds_quiet(self, t: Time) -> tuple[int | None, int | None]:
        notes = list(self.notes)
        try:
            return self.bounds(t)
        finally:
            self.notes = notes


def _field_alias(name: str) -> str | None:
    from .fields import resolve_field

    return resolve_field(name)


def _json_key_ok(key: str) -> bool:
    return key != "" and not any(ch in '"\\' or is_hostile_char(ord(ch)) for ch in key)


_HAS_NOT_SQL = {
    "controls": "trailscope flags control characters while loading",
    "conflict": "trailscope compares records with the same eventID while loading",
    "lenient": "it is about how trailscope decoded the file",
    "malformed": "trailscope checks each record's shape while loading",
    "mark": "marks live in the case file, not in the table",
    "note": "notes live in the case file, not in the table",
}


# ---------------------------------------------------------------------------- public


def to_sql(
    query: Query,
    dialect: str = "athena",
    *,
    table: str | None = None,
    now_ms: int,
    select: str = "*",
    limit: int | None = None,
    partition: bool = True,
) -> SqlQuery:
    """The SQL statement for `query` in `dialect`. `select`: "*" every column, "records"
    what rebuilds each event (sqlschema.RECORD for Athena; the record text for DuckDB).
    Relative times count from `now_ms`. Raises SqlError for what the dialect cannot say."""
    if dialect not in ENGINES:
        raise SqlError(f"unknown dialect {dialect!r} (known: {', '.join(DIALECTS)})")
    engine = ENGINES[dialect]()
    tr = _Translator(engine, now_ms)
    if table is None:
        if dialect == "lake":
            raise SqlError("the lake dialect needs --table: the event data store ID")
        table = DEFAULT_TABLE
    conds: list[exp.Expression] = []
    if query.root is not None:
        part = tr.partition(query.root) if partition else None
        if part is not None:
            conds.append(part)
        conds.append(tr.node(query.root))
    where = _and(conds) if conds else None
    cols = _select_list(engine, select)
    stmt = exp.select(*cols).from_(exp.to_table(table, dialect=engine.sqlglot_dialect))
    if where is not None:
        stmt = stmt.where(where.unnest() if isinstance(where, exp.Paren) else where)
    if limit is not None:
        stmt = stmt.limit(limit)
    d = engine.sqlglot_dialect
    return SqlQuery(
        sql=stmt.sql(dialect=d, pretty=True),
        where="" if where is None else where.sql(dialect=d),
        notes=tr.notes,
    )


def _select_list(engine: Engine, select: str) -> list[exp.Expr]:
    if select == "*":
        return [exp.Star()]
    if engine.name == "duckdb":
        return [exp.alias_(_col(RAW_COLUMN), "record")]
    out: list[exp.Expr] = []
    for c in engine.columns:
        if c.kind in ("struct", "array", "map"):
            js = exp.Cast(this=_col(c.name), to=exp.DataType.build("JSON"))
            out.append(exp.alias_(_fn("json_format", js), c.name))
        elif c.kind in ("bool", "time"):
            out.append(
                exp.alias_(exp.Cast(this=_col(c.name), to=exp.DataType.build("VARCHAR")), c.name)
            )
        else:
            out.append(_col(c.name))
    return out


# Athena's price for SQL queries: $5 per TB scanned (10 MB minimum per query), in most
# regions; an estimate, the bill is the authority.
USD_PER_TB = 5.0
MIN_BILLED_BYTES = 10 * 1024 * 1024


def cost_usd(scanned_bytes: int) -> float:
    """An estimate of what Athena charges for a query that scanned `scanned_bytes`."""
    billed = max(scanned_bytes, MIN_BILLED_BYTES) if scanned_bytes > 0 else 0
    # Billed per MB, rounded up.
    mb = -(-billed // (1024 * 1024))
    return mb * 1024 * 1024 / 1024**4 * USD_PER_TB
