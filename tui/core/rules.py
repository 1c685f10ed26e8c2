"""How a field's value is derived from a record: a few rule kinds, as plain data.

`tui/core/fields.py` writes every indexed field as one of these; `tui/core/derive.py`
compiles them for the three ingest paths (Python over dicts, Python over msgspec
structs, the C scan). `evaluate` is the reference reading of a rule: slow, and the
only one that also says which path a value came from (the detail pane shows it).

A path is the member names from the record down, joined with '.' (no member name the
rules read holds a '.'). A value "is empty" when Python reads it as false: missing,
null, "", and also 0, false, [] and {}; the C scan reads only strings and null in the
members it captures and leaves any other value to the Python paths.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from .normalize import text

# ------------------------------------------------------------------ conditions


@dataclass(frozen=True, slots=True)
class Empty:
    """The value at `path` is empty (missing, null, "", or another false value)."""

    path: str


@dataclass(frozen=True, slots=True)
class Present:
    """The value at `path` is not empty."""

    path: str


@dataclass(frozen=True, slots=True)
class Is:
    """The value at `path` is a string equal to one of `values` (ASCII case ignored
    when `ci`; the values are then written in lower case)."""

    path: str
    values: tuple[str, ...]
    ci: bool = False


@dataclass(frozen=True, slots=True)
class IsObject:
    """The value at `path` is a JSON object."""

    path: str


@dataclass(frozen=True, slots=True)
class AnyOf:
    """At least one of `conds` holds."""

    conds: tuple[Cond, ...]


Cond = Empty | Present | Is | IsObject | AnyOf

# ------------------------------------------------------------------ results


@dataclass(frozen=True, slots=True)
class At:
    """The value at `path`, as text (null and missing: ''; a number or container: its
    JSON text, as `normalize.text` writes it)."""

    path: str


@dataclass(frozen=True, slots=True)
class Lowered:
    """The value at `path` lower-cased: a boolean as 'true'/'false', a string
    lower-cased, anything else as `At` gives it (readOnly)."""

    path: str


Result = str | At | Lowered  # a str is a constant

# ------------------------------------------------------------------ rules


@dataclass(frozen=True, slots=True)
class When:
    """`then` when every one of `conds` holds."""

    conds: tuple[Cond, ...]
    then: Result


@dataclass(frozen=True, slots=True)
class Lookup:
    """When the value at `path` is a string that `table` lists (its keys in lower case
    when `ci`), the value the table maps it to."""

    path: str
    table: tuple[tuple[str, str], ...]
    ci: bool = False


@dataclass(frozen=True, slots=True)
class Cases:
    """The first of `cases` that applies, else `default`. Every rule is one of these."""

    cases: tuple[When | Lookup, ...]
    default: Result


def when(*conds: Cond, then: Result) -> When:
    return When(tuple(conds), then)


def is_(path: str, *values: str, ci: bool = False) -> Is:
    return Is(path, tuple(values), ci)


def any_of(*conds: Cond) -> AnyOf:
    return AnyOf(tuple(conds))


def lookup(path: str, table: dict[str, str], ci: bool = False) -> Lookup:
    return Lookup(path, tuple(table.items()), ci)


def cases(*items: When | Lookup, default: Result = "") -> Cases:
    return Cases(tuple(items), default)


def value(path: str) -> Cases:
    """The value at `path`, as text."""
    return Cases((), At(path))


def first(*paths: str, default: Result = "") -> Cases:
    """The first non-empty value of `paths`, else `default`."""
    return Cases(first_of(*paths), default)


def first_of(*paths: str) -> tuple[When, ...]:
    """The cases of `first`, to put ahead of others."""
    return tuple(When((Present(p),), At(p)) for p in paths)


def lowered(path: str) -> Cases:
    return Cases((), Lowered(path))


# ------------------------------------------------------------------ reading rules


def conditions(cond: Cond) -> Iterator[Cond]:
    """`cond` and the conditions inside it."""
    yield cond
    if isinstance(cond, AnyOf):
        for c in cond.conds:
            yield from conditions(c)


def paths_read(rule: Cases) -> Iterator[tuple[str, str]]:
    """(path, how) for every path the rule reads: how is 'value' (its text is used or
    tested), 'compared' (compared with constants), 'lowered' or 'object'."""
    for item in rule.cases:
        if isinstance(item, Lookup):
            yield item.path, "compared"
            continue
        for top in item.conds:
            for c in conditions(top):
                if isinstance(c, (Empty, Present)):
                    yield c.path, "value"
                elif isinstance(c, Is):
                    yield c.path, "compared"
                elif isinstance(c, IsObject):
                    yield c.path, "object"
        yield from _result_paths(item.then)
    yield from _result_paths(rule.default)


def _result_paths(r: Result) -> Iterator[tuple[str, str]]:
    if isinstance(r, At):
        yield r.path, "value"
    elif isinstance(r, Lowered):
        yield r.path, "lowered"


def primary_path(rule: Cases) -> str | None:
    """The path whose value the field is, in the usual case: the default's path, else
    the first case's (None when the field is a constant of a closed set)."""
    for r in (rule.default, *(c.then for c in rule.cases if isinstance(c, When))):
        if isinstance(r, (At, Lowered)):
            return r.path
    return None


# ------------------------------------------------------------------ the reference reading


def get(rec: object, path: str) -> object:
    """The value at `path` in a parsed record (None when any step is not an object)."""
    v = rec
    for key in path.split("."):
        if v.__class__ is not dict:
            return None
        v = v.get(key)
    return v


def _holds(cond: Cond, rec: object) -> bool:
    if isinstance(cond, Empty):
        return not get(rec, cond.path)
    if isinstance(cond, Present):
        return bool(get(rec, cond.path))
    if isinstance(cond, Is):
        v = get(rec, cond.path)
        if v.__class__ is not str:
            return False
        if cond.ci:
            return v.isascii() and v.lower() in cond.values
        return v in cond.values
    if isinstance(cond, IsObject):
        return get(rec, cond.path).__class__ is dict
    return any(_holds(c, rec) for c in cond.conds)


def _result(r: Result, rec: object) -> tuple[str, str]:
    if isinstance(r, str):
        return r, ""
    v = get(rec, r.path)
    if isinstance(r, Lowered):
        if v is True or v is False:
            return ("true" if v else "false"), r.path
        if v.__class__ is str:
            return v.lower(), r.path
    return text(v), r.path


def evaluate(rule: Cases, rec: object) -> tuple[str, str]:
    """(value, the path it came from) for one parsed record: the path whose value was
    taken or looked up; '' for a constant a condition chose."""
    for item in rule.cases:
        if isinstance(item, Lookup):
            v = get(rec, item.path)
            if v.__class__ is str:
                if item.ci:
                    v = v.lower() if v.isascii() else None
                for key, out in item.table:
                    if v == key:
                        return out, item.path
            continue
        if all(_holds(c, rec) for c in item.conds):
            return _result(item.then, rec)
    return _result(rule.default, rec)
