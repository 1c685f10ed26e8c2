"""Detection rules: a filter over the store plus what a responder needs to read a hit
(title, severity, ATT&CK mapping, why it matters, references, false positives).

A rule is one of:
- per event: every event its filter (and its `checks`, comparisons the filter language
  cannot spell) selects;
- an aggregate over the events its filter selects, grouped by an indexed field:
  `threshold` (at least `count` of them within `window`), `distinct` (`count` distinct
  values of `field` within a window) or `first-seen` (a value of `field` the group had not
  used before, once the group has been seen for `after`).

The built-in pack is YAML under rules/ (one file per theme); `load_pack` reads it.
Sigma rules are converted into the same `Rule` (sigma.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from importlib import resources

from ..fields import FIELD_NAMES
from ..paths import Path, PathError, parse_path
from ..query import (
    ANNOTATION_HAS,
    DETECTION_HAS,
    SEVERITY_NAMES,
    Has,
    Mark,
    Query,
    QueryError,
    RuleTerm,
    Severity,
    Time,
    parse,
)
from .attack import TACTIC_BY_SLUG, TACTICS, TECHNIQUES

__all__ = [
    "AGGREGATES",
    "CHECKS",
    "SEVERITIES",
    "Aggregate",
    "Check",
    "Rule",
    "RuleError",
    "load_pack",
    "rule_from_dict",
    "severity_rank",
]

SEVERITIES: tuple[str, ...] = SEVERITY_NAMES  # least severe first (the query language's)
AGGREGATES: tuple[str, ...] = ("threshold", "distinct", "first-seen")
# Comparisons between values of an event, for what a filter cannot say:
#   other-than: [A, B]        A has a value, and none of its values is one of B's
#   foreign-account: [A, ...] a path names an AWS account other than the event's own (a
#                             12-digit id, an ARN's account, an `"AWS": "…"` principal),
#                             or everyone (`*`, `all`, a `"Principal": "*"` policy)
#   public-policy: [A]        A is a policy document (an object, or JSON text) with an
#                             Allow statement for any principal and no condition
CHECKS: tuple[str, ...] = ("other-than", "foreign-account", "public-policy")
_ID_RE = re.compile(r"[a-z0-9][a-z0-9._-]*")
_DURATION_RE = re.compile(r"(\d+)([smhd])")
_UNIT_MS = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


class RuleError(ValueError):
    """A rule that cannot be used, with the reason."""


def severity_rank(severity: str) -> int:
    return SEVERITIES.index(severity)


@dataclass(frozen=True)
class Aggregate:
    kind: str  # one of AGGREGATES
    group: str  # an indexed field: the events are counted per value of it
    field: str = ""  # distinct / first-seen: the field whose values count
    count: int = 0  # threshold: events; distinct: distinct values
    window_ms: int = 0  # threshold / distinct
    after_ms: int = 0  # first-seen: how long the group must have been seen before

    def describe(self) -> str:
        if self.kind == "threshold":
            return (
                f"at least {self.count} such events by one {self.group} within "
                f"{_fmt_duration(self.window_ms)}"
            )
        if self.kind == "distinct":
            return (
                f"at least {self.count} distinct {self.field} values by one {self.group} "
                f"within {_fmt_duration(self.window_ms)}"
            )
        return (
            f"a {self.field} this {self.group} had not used before, "
            f"{_fmt_duration(self.after_ms)} or more after its first such event"
        )


@dataclass(frozen=True)
class Check:
    kind: str  # one of CHECKS
    paths: tuple[Path, ...]

    def describe(self) -> str:
        if self.kind == "other-than":
            return f"{self.paths[0].text} differs from {self.paths[1].text}"
        if self.kind == "public-policy":
            return f"{self.paths[0].text} allows anyone, without a condition"
        names = " or ".join(p.text for p in self.paths)
        return f"{names} names another AWS account, or everyone"


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    severity: str
    filter: str
    query: Query = field(compare=False, repr=False)
    description: str = ""
    tactics: tuple[str, ...] = ()  # ATT&CK tactic ids (TA0005)
    techniques: tuple[str, ...] = ()  # ATT&CK technique ids (T1562.008)
    references: tuple[str, ...] = ()  # plain text; never made clickable
    false_positives: str = ""
    aggregate: Aggregate | None = None
    checks: tuple[Check, ...] = ()
    source: str = "built-in"  # or the Sigma file it came from
    notes: tuple[str, ...] = ()  # how a conversion approximates the original

    @property
    def rank(self) -> int:
        return severity_rank(self.severity)

    def paths(self) -> set[Path]:
        """Every JSON path the rule reads (its filter's and its checks')."""
        out = set(self.query.paths())
        for c in self.checks:
            out.update(c.paths)
        return out


def parse_duration(text: str | int) -> int:
    """`10m`, `1h30m`, `2d`, or seconds as a number -> milliseconds."""
    if isinstance(text, int) and not isinstance(text, bool):
        return text * 1000
    s = str(text).strip()
    parts = _DURATION_RE.findall(s)
    if not parts or "".join(n + u for n, u in parts) != s:
        raise RuleError(f"bad duration {text!r} (e.g. 10m, 1h, 7d)")
    return sum(int(n) * _UNIT_MS[u] for n, u in parts)


def _fmt_duration(ms: int) -> str:
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000)):
        if ms % size == 0 and ms >= size:
            return f"{ms // size}{unit}"
    return f"{ms} ms"


def check_filter(q: Query) -> None:
    """A rule's filter selects events by what they hold: not by marks, other rules'
    hits or a time range (which would change with the clock or the data's end)."""
    from ..query import _walk  # the AST walk the query module uses itself

    if q.root is None:
        raise RuleError("the filter is empty: a rule must select some events")
    for n in _walk(q.root):
        if isinstance(n, Mark) or (
            isinstance(n, Has) and n.name.lower() in (*ANNOTATION_HAS, *DETECTION_HAS)
        ):
            raise RuleError("a rule cannot test marks, notes or detections")
        if isinstance(n, (RuleTerm, Severity)):
            raise RuleError("a rule cannot test other rules (rule:)")
        if isinstance(n, Time):
            raise RuleError("a rule cannot hold since:/until: (it runs over any time)")


def _strs(value, what: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise RuleError(f"{what}: expected text or a list of texts")


def _aggregate(d: dict) -> Aggregate:
    if not isinstance(d, dict):
        raise RuleError("aggregate: expected a mapping")
    kind = d.get("kind")
    if kind not in AGGREGATES:
        raise RuleError(f"aggregate.kind: one of {', '.join(AGGREGATES)}")
    unknown = set(d) - {"kind", "group", "field", "count", "window", "after"}
    if unknown:
        raise RuleError(f"aggregate: unknown key(s) {', '.join(sorted(unknown))}")
    group = d.get("group")
    if group not in FIELD_NAMES:
        raise RuleError(f"aggregate.group: an indexed field ({', '.join(FIELD_NAMES)})")
    fld = d.get("field", "")
    if kind != "threshold" and fld not in FIELD_NAMES:
        raise RuleError(f"aggregate.field: an indexed field for {kind}")
    count = d.get("count", 0)
    if kind != "first-seen" and (not isinstance(count, int) or count < 2):
        raise RuleError("aggregate.count: a whole number of at least 2")
    window = parse_duration(d["window"]) if kind != "first-seen" else 0
    if kind != "first-seen" and (window <= 0 or window % 2):
        raise RuleError("aggregate.window: a positive duration")
    after = parse_duration(d.get("after", 0)) if kind == "first-seen" else 0
    return Aggregate(kind, group, fld, count if kind != "first-seen" else 0, window, after)


def _checks(items) -> tuple[Check, ...]:
    if items is None:
        return ()
    if not isinstance(items, list):
        raise RuleError("checks: expected a list")
    out = []
    for it in items:
        if not isinstance(it, dict) or len(it) != 1:
            raise RuleError("checks: each item is one {kind: [paths]}")
        ((kind, paths),) = it.items()
        if kind not in CHECKS:
            raise RuleError(f"checks: unknown check {kind!r} (known: {', '.join(CHECKS)})")
        paths = _strs(paths, f"checks.{kind}")
        if kind == "other-than" and len(paths) != 2:
            raise RuleError(f"checks.{kind}: takes 2 paths")
        if kind == "public-policy" and len(paths) != 1:
            raise RuleError(f"checks.{kind}: takes 1 path")
        if not paths:
            raise RuleError(f"checks.{kind}: takes at least one path")
        try:
            parsed = tuple(parse_path(p if "." in p or "[" in p else "." + p) for p in paths)
        except PathError as e:
            raise RuleError(f"checks.{kind}: bad path: {e.message}") from None
        out.append(Check(kind, parsed))
    return tuple(out)


_KEYS = {
    "id",
    "title",
    "severity",
    "filter",
    "description",
    "tactics",
    "techniques",
    "references",
    "false_positives",
    "aggregate",
    "checks",
}


def rule_from_dict(d: dict, source: str = "built-in") -> Rule:
    """A built-in rule from its YAML mapping; raises RuleError naming what is wrong."""
    if not isinstance(d, dict):
        raise RuleError("a rule is a mapping")
    rid = d.get("id")
    try:
        return _rule(d, source)
    except RuleError as e:
        raise RuleError(f"rule {rid!r}: {e}") from None


def _rule(d: dict, source: str) -> Rule:
    unknown = set(d) - _KEYS
    if unknown:
        raise RuleError(f"unknown key(s) {', '.join(sorted(unknown))}")
    rid = d.get("id")
    if not isinstance(rid, str) or not _ID_RE.fullmatch(rid):
        raise RuleError("id: lower-case letters, digits, '.', '_' and '-'")
    for key in ("title", "filter", "description"):
        if not isinstance(d.get(key), str) or not d[key].strip():
            raise RuleError(f"{key}: required text")
    sev = d.get("severity")
    if sev not in SEVERITIES:
        raise RuleError(f"severity: one of {', '.join(SEVERITIES)}")
    tactics = []
    for t in _strs(d.get("tactics"), "tactics"):
        tid = TACTIC_BY_SLUG.get(t.lower(), t.upper())
        if tid not in TACTICS:
            raise RuleError(f"tactics: unknown ATT&CK tactic {t!r}")
        tactics.append(tid)
    techniques = _strs(d.get("techniques"), "techniques")
    for t in techniques:
        if t not in TECHNIQUES:
            raise RuleError(f"techniques: {t!r} is not in attack.TECHNIQUES")
    if not tactics or not techniques:
        raise RuleError("tactics and techniques: a built-in rule maps to ATT&CK")
    try:
        q = parse(d["filter"])
    except QueryError as e:
        raise RuleError(f"filter: {e}") from None
    check_filter(q)
    agg = _aggregate(d["aggregate"]) if d.get("aggregate") is not None else None
    checks = _checks(d.get("checks"))
    if agg is not None and checks:
        raise RuleError("checks apply to per-event rules")
    return Rule(
        id=rid,
        title=d["title"].strip(),
        severity=sev,
        filter=d["filter"].strip(),
        query=q,
        description=" ".join(d["description"].split()),
        tactics=tuple(tactics),
        techniques=techniques,
        references=_strs(d.get("references"), "references"),
        false_positives=" ".join(str(d.get("false_positives") or "").split()),
        aggregate=agg,
        checks=checks,
        source=source,
    )


def _pack_files() -> Iterator[tuple[str, str]]:
    base = resources.files(__package__).joinpath("rules")
    for entry in sorted(base.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            yield entry.name, entry.read_text(encoding="utf-8")


def load_pack() -> list[Rule]:
    """The built-in rules (rules/*.yaml), in file order. A broken rule is a bug in this
    package: it raises RuleError."""
    import yaml

    rules: list[Rule] = []
    for name, text in _pack_files():
        items = yaml.safe_load(text) or []
        if not isinstance(items, list):
            raise RuleError(f"{name}: expected a list of rules")
        rules.extend(rule_from_dict(d, f"built-in ({name})") for d in items)
    _check_unique(rules)
    return rules


def _check_unique(rules: Iterable[Rule]) -> None:
    seen: set[str] = set()
    for r in rules:
        if r.id in seen:
            raise RuleError(f"two rules have the id {r.id!r}")
        seen.add(r.id)
