"""Sigma rules for AWS CloudTrail, converted into rules over the store.

Each file is parsed by pySigma (the reference Sigma library). A rule whose logsource is
AWS CloudTrail (`product: aws`, `service: cloudtrail`) is converted by `FilterBackend`, a
pySigma backend whose target language is trailscope's filter language (docs/query.md):

- field names: the CloudTrail fields trailscope indexes become those fields
  (`eventSource` -> `service`, `eventName` -> `event`, `sourceIPAddress` -> `ip`, ...);
  any other name is a JSON path of the event (`userIdentity.arn`, `requestParameters.x`,
  `.errorMessage`). A name whose first key is not a CloudTrail record key cannot match
  any event: the rule is skipped, saying which.
- values: plain and wildcard strings (`contains`, `startswith`, `endswith`, `*`) become
  exact values and globs (matching ignores case, as Sigma's default does); `?` and the
  `re` modifier become `/regex/` values; `cidr` on the source address becomes
  `ip:NETWORK`; numbers and booleans their JSON text; `null` and `exists` the empty
  and `has:` forms. `all`, `1 of`/`all of` selections, `not`, and keywords (free text)
  follow from the condition.
- approximations (the rule loads, with a note saying so): `cased` values and regexes
  without the `i` flag are matched ignoring case; `contains` on a field that holds an
  object (`requestParameters`) searches the whole event's text.
- not supported (the rule is skipped with the reason): `fieldref` (comparing two
  fields), numeric comparisons (`lt`, `gt`...), timestamp parts, `cidr` on other
  fields, placeholders, correlation rules.

`load_dir` never skips a file silently: every file and rule comes back as loaded or
skipped with the reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import ClassVar

from .. import paths
from ..paths import PathError, parse_path
from ..query import QueryError, parse
from ..sanitize import is_clean
from .attack import TACTIC_BY_SLUG, TACTICS
from .rules import Rule, RuleError, check_filter

__all__ = ["FIELD_MAP", "Outcome", "backend", "convert_text", "load_dir", "load_paths"]

# CloudTrail field -> the indexed field that holds exactly its value.
FIELD_MAP = {
    "eventsource": "service",
    "eventname": "event",
    "sourceipaddress": "ip",
    "awsregion": "region",
    "errorcode": "error",
    "useragent": "ua",
    "useridentity.type": "type",
    "useridentity.accesskeyid": "key",
    "eventtype": "eventtype",
    "eventcategory": "category",
}
# Top-level keys of a CloudTrail record, lower-cased (a Sigma field naming one is a path).
RECORD_KEYS = frozenset(k.lower() for k in paths.RECORD_KEYS)
# Fields that hold objects: a Sigma `contains` on them means "its JSON text contains".
OBJECT_FIELDS = frozenset(
    {
        "requestparameters",
        "responseelements",
        "additionaleventdata",
        "useridentity",
        "resources",
        "serviceeventdetails",
        "tlsdetails",
        "insightdetails",
        "addendum",
        "edgedevicedetails",
        "eventcontext",
        "useridentity.sessioncontext",
        "useridentity.sessioncontext.sessionissuer",
        "useridentity.sessioncontext.attributes",
    }
)
LEVELS = {
    "informational": "info",
    "low": "low",
    "medium": "medium",
    "high": "high",
    "critical": "critical",
}


class Unsupported(Exception):
    """A construct the filter language cannot express; the message says which."""


@dataclass
class Outcome:
    """One Sigma rule (or a file that holds none): loaded as `rule`, or skipped."""

    path: str
    title: str
    rule: Rule | None = None
    reason: str = ""  # why it was skipped
    notes: tuple[str, ...] = field(default=())


def _escape(piece: str) -> str:
    """A literal inside a quoted filter value: `\\`, `"` and `*` escaped, control and
    invisible characters as `\\xHH`/`\\uHHHH` (so a rule's text is safe to show)."""
    out = piece.replace("\\", "\\\\").replace('"', '\\"').replace("*", "\\*")
    if is_clean(out):
        return out
    return "".join(
        c
        if is_clean(c)
        else (
            f"\\x{ord(c):02x}"
            if ord(c) < 0x100
            else f"\\u{ord(c):04x}"
            if ord(c) < 0x10000
            else f"\\U{ord(c):08x}"
        )
        for c in out
    )


def _regex_term(name: str, pattern: str) -> str:
    return f"{name}:/{pattern.replace('/', chr(92) + '/')}/"


def backend():
    """A pySigma backend (a `sigma.conversion.base.Backend`) converting Sigma detections
    into filter text. The class is built on first use, so that importing this module
    does not import pySigma."""
    return _backend_class()()


_CLASS: list[type] = []


def _backend_class() -> type:
    if _CLASS:
        return _CLASS[0]
    from sigma.conversion.base import Backend
    from sigma.conversion.state import ConversionState
    from sigma.processing.pipeline import ProcessingPipeline
    from sigma.types import SigmaRegularExpressionFlag, SpecialChars

    class _FilterBackend(Backend):
        name: ClassVar[str] = "trailscope filter language"
        formats: ClassVar[dict[str, str]] = {"default": "trailscope filter"}
        requires_pipeline: ClassVar[bool] = False

        def __init__(self) -> None:
            super().__init__(ProcessingPipeline())
            self.notes: list[str] = []

        def note(self, text: str) -> None:
            if text not in self.notes:
                self.notes.append(text)

        # ---------------------------------------------------------- structure
        def convert_condition_or(self, cond, state: ConversionState) -> str:
            parts = [self.convert_condition(a, state) for a in cond.args]
            return parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"

        def convert_condition_and(self, cond, state: ConversionState) -> str:
            parts = [self.convert_condition(a, state) for a in cond.args]
            return parts[0] if len(parts) == 1 else "(" + " ".join(parts) + ")"

        def convert_condition_not(self, cond, state: ConversionState) -> str:
            inner = self.convert_condition(cond.args[0], state)
            return "-" + inner if inner.startswith("(") else "-(" + inner + ")"

        def convert_condition_as_in_expression(self, cond, state):  # never chosen
            raise Unsupported("in-expressions")

        # ---------------------------------------------------------- fields
        def target(self, field_name: str) -> tuple[str, bool]:
            """(the filter's name for a Sigma field, whether it holds an object)."""
            low = field_name.lower()
            if low in FIELD_MAP:
                return FIELD_MAP[low], False
            first = re.split(r"[.\[]", low, maxsplit=1)[0]
            if first not in RECORD_KEYS:
                raise Unsupported(f"field {field_name!r} is not in CloudTrail records")
            try:
                p = parse_path(
                    field_name if ("." in field_name or "[" in field_name) else "." + field_name
                )
            except PathError as e:
                raise Unsupported(f"field {field_name!r}: {e.message}") from None
            return p.text, low in OBJECT_FIELDS

        def string_term(self, field_name: str, value) -> str:
            name, is_object = self.target(field_name)
            parts = list(value.iter_parts())
            if any(p == SpecialChars.WILDCARD_SINGLE for p in parts):
                return _regex_term(name, "^" + self.regex_of(parts) + "$")
            pieces = [""]
            for p in parts:
                if p == SpecialChars.WILDCARD_MULTI:
                    pieces.append("")
                elif isinstance(p, str):
                    pieces[-1] += p
                else:
                    raise Unsupported(f"placeholder or special value in {field_name!r}")
            if is_object:
                # The field holds an object: its text is searched in the whole event.
                self.note(
                    f"{field_name} holds an object: its value is searched as text "
                    "anywhere in the event"
                )
                words = [f'"{_escape(p)}"' for p in pieces if p]
                return "(" + " ".join([f"has:{name}", *words]) + ")"
            return f'{name}:"' + "*".join(_escape(p) for p in pieces) + '"'

        @staticmethod
        def regex_of(parts) -> str:
            out = []
            for p in parts:
                if p == SpecialChars.WILDCARD_MULTI:
                    out.append(".*")
                elif p == SpecialChars.WILDCARD_SINGLE:
                    out.append(".")
                else:
                    out.append(re.escape(p))
            return "".join(out)

        def convert_condition_field_eq_val_str(self, cond, state) -> str:
            return self.string_term(cond.field, cond.value)

        def convert_condition_field_eq_val_str_case_sensitive(self, cond, state) -> str:
            self.note(f"{cond.field}|cased is matched ignoring case")
            return self.string_term(cond.field, cond.value)

        def convert_condition_field_eq_val_num(self, cond, state) -> str:
            name, _ = self.target(cond.field)
            return f"{name}:{cond.value}"

        def convert_condition_field_eq_val_bool(self, cond, state) -> str:
            name, _ = self.target(cond.field)
            return f"{name}:{'true' if cond.value.boolean else 'false'}"

        def convert_condition_field_eq_val_re(self, cond, state) -> str:
            name, _ = self.target(cond.field)
            flags = cond.value.flags
            pattern = str(cond.value.regexp)
            if SigmaRegularExpressionFlag.IGNORECASE not in flags:
                self.note(f"{cond.field}|re is matched ignoring case")
            inline = "".join(
                f
                for flag, f in (
                    (SigmaRegularExpressionFlag.MULTILINE, "m"),
                    (SigmaRegularExpressionFlag.DOTALL, "s"),
                )
                if flag in flags
            )
            if inline:
                pattern = f"(?{inline})" + pattern
            try:
                re.compile(pattern)
            except re.error as e:
                raise Unsupported(f"{cond.field}|re: Python's re rejects it ({e.msg})") from None
            return _regex_term(name, pattern)

        def convert_condition_field_eq_val_cidr(self, cond, state) -> str:
            name, _ = self.target(cond.field)
            if name != "ip":
                raise Unsupported(
                    f"{cond.field}|cidr: networks are matched on sourceIPAddress only"
                )
            return f"ip:{cond.value.network}"

        def convert_condition_field_eq_val_null(self, cond, state) -> str:
            name, _ = self.target(cond.field)
            return f'{name}:""'

        def convert_condition_field_exists(self, cond, state) -> str:
            name, _ = self.target(cond.field)
            return f"{name}:*" if name in FIELD_MAP.values() else f"has:{name}"

        def convert_condition_field_not_exists(self, cond, state) -> str:
            return "-" + self.convert_condition_field_exists(cond, state)

        def convert_condition_field_eq_field(self, cond, state) -> str:
            raise Unsupported(
                f"{cond.field}|fieldref: comparing two fields is not in the filter language"
            )

        def convert_condition_field_compare_op_val(self, cond, state) -> str:
            raise Unsupported(
                f"{cond.field}: numeric comparisons (lt, gt...) are not in the filter language"
            )

        def convert_condition_field_eq_val_timestamp_part(self, cond, state) -> str:
            raise Unsupported(f"{cond.field}: timestamp parts are not supported")

        def convert_condition_field_eq_query_expr(self, cond, state) -> str:
            raise Unsupported(f"{cond.field}: query expressions are not supported")

        # ---------------------------------------------------------- keywords
        def convert_condition_val_str(self, cond, state) -> str:
            parts = list(cond.value.iter_parts())
            if any(p == SpecialChars.WILDCARD_SINGLE for p in parts):
                raise Unsupported("keywords with '?' (free text has no single-character wildcard)")
            multi = SpecialChars.WILDCARD_MULTI
            words = "".join(
                "*" if p == multi else p for p in parts if isinstance(p, str) or p == multi
            )
            pieces = [w for w in words.split("*") if w]
            if not pieces:
                raise Unsupported("a keyword that is only wildcards")
            quoted = [f'"{_escape(w)}"' for w in pieces]
            return quoted[0] if len(quoted) == 1 else "(" + " ".join(quoted) + ")"

        def convert_condition_val_num(self, cond, state) -> str:
            return f'"{cond.value}"'

        def convert_condition_val_re(self, cond, state) -> str:
            raise Unsupported("a regular expression without a field")

        def convert_condition_query_expr(self, cond, state) -> str:
            raise Unsupported("query expressions are not supported")

    # Correlation rules (bursts across rules) are refused before conversion; pySigma
    # still asks a backend for each kind.
    def _no_correlation(self, *args, **kwargs):
        raise Unsupported("correlation rules are not supported")

    for kind in (
        "event_count",
        "value_count",
        "temporal",
        "temporal_ordered",
        "extended_temporal",
        "extended_temporal_ordered",
        "value_sum",
        "value_avg",
        "value_percentile",
        "value_median",
    ):
        setattr(_FilterBackend, f"convert_correlation_{kind}_rule", _no_correlation)
    _FilterBackend.__abstractmethods__ = frozenset()
    _CLASS.append(_FilterBackend)
    return _FilterBackend


# ---------------------------------------------------------------------------- loading
def _is_cloudtrail(rule) -> bool:
    ls = rule.logsource
    return (ls.product or "").lower() == "aws" and (ls.service or "").lower() == "cloudtrail"


def _attack(tags) -> tuple[tuple[str, ...], tuple[str, ...]]:
    tactics, techniques = [], []
    for t in tags:
        if str(t.namespace).lower() != "attack":
            continue
        name = str(t.name).lower()
        if re.fullmatch(r"t\d{4}(\.\d{3})?", name):
            techniques.append(name.upper())
        elif name.upper() in TACTICS:
            tactics.append(name.upper())
        elif name in TACTIC_BY_SLUG:
            tactics.append(TACTIC_BY_SLUG[name])
    return tuple(dict.fromkeys(tactics)), tuple(dict.fromkeys(techniques))


def _rule_id(path: str, taken: set[str]) -> str:
    stem = (
        re.sub(
            r"[^a-z0-9._-]+",
            "-",
            FsPath(path).name.lower().removesuffix(".yml").removesuffix(".yaml"),
        ).strip("-")
        or "rule"
    )
    rid = f"sigma.{stem}"
    n = 2
    while rid in taken:
        rid = f"sigma.{stem}-{n}"
        n += 1
    taken.add(rid)
    return rid


def convert_text(text: str, path: str = "<text>", taken: set[str] | None = None) -> list[Outcome]:
    """The rules of one Sigma YAML text (a file may hold several documents)."""
    from sigma.collection import SigmaCollection
    from sigma.correlations import SigmaCorrelationRule
    from sigma.exceptions import SigmaError
    from sigma.rule import SigmaRule

    taken = set() if taken is None else taken
    try:
        coll = SigmaCollection.from_yaml(text, collect_errors=True)
    except Exception as e:  # YAML syntax, or something pySigma raises regardless
        return [Outcome(path, "", reason=f"not a Sigma file: {_first_line(e)}")]
    out: list[Outcome] = []
    for err in coll.errors:
        out.append(Outcome(path, "", reason=f"pySigma: {_first_line(err)}"))
    conv = backend()
    for sr in coll.rules:
        title = str(getattr(sr, "title", "") or "")
        if isinstance(sr, SigmaCorrelationRule):
            out.append(Outcome(path, title, reason="correlation rules are not supported"))
            continue
        if not isinstance(sr, SigmaRule):
            out.append(Outcome(path, title, reason=f"{type(sr).__name__} is not supported"))
            continue
        if sr.errors:
            out.append(Outcome(path, title, reason=f"pySigma: {_first_line(sr.errors[0])}"))
            continue
        if not _is_cloudtrail(sr):
            ls = sr.logsource
            out.append(
                Outcome(
                    path,
                    title,
                    reason=(
                        f"logsource is not AWS CloudTrail (product: {ls.product}, service: "
                        f"{ls.service}, category: {ls.category})"
                    ),
                )
            )
            continue
        if not getattr(sr, "_output", True):
            out.append(
                Outcome(
                    path,
                    title,
                    reason=("only part of a correlation rule (Sigma's generate: false)"),
                )
            )
            continue
        conv.notes = []
        try:
            queries = conv.convert_rule(sr)
        except Unsupported as e:
            out.append(Outcome(path, title, reason=_reason(e)))
            continue
        except SigmaError as e:
            out.append(Outcome(path, title, reason=f"pySigma: {_first_line(e)}"))
            continue
        if not queries:
            out.append(Outcome(path, title, reason="the rule converted to no query"))
            continue
        text_filter = queries[0] if len(queries) == 1 else " OR ".join(f"({q})" for q in queries)
        try:
            q = parse(text_filter)
            check_filter(q)
        except (QueryError, RuleError) as e:
            out.append(Outcome(path, title, reason=f"converted filter rejected: {e}"))
            continue
        tactics, techniques = _attack(sr.tags)
        level = LEVELS.get(str(sr.level).lower() if sr.level else "", "medium")
        notes = tuple(conv.notes)
        rule = Rule(
            id=_rule_id(path, taken),
            title=title or FsPath(path).stem,
            severity=level,
            filter=text_filter,
            query=q,
            description=" ".join(str(sr.description or "").split()),
            tactics=tactics,
            techniques=techniques,
            references=tuple(str(r) for r in sr.references),
            false_positives="; ".join(str(f) for f in sr.falsepositives),
            source=path,
            notes=notes,
        )
        out.append(Outcome(path, title, rule=rule, notes=notes))
    if not out:
        out.append(Outcome(path, "", reason="no rule in the file"))
    return out


def _first_line(e: BaseException) -> str:
    text = str(e).strip() or type(e).__name__
    return _reason(text.splitlines()[0])


def _reason(e: BaseException | str) -> str:
    # pySigma appends " (while converting rule …)" to what a backend raises.
    return re.sub(r" \(while [a-z ]+ rule [^)]*\)$", "", str(e))


def load_paths(paths: Iterable[str]) -> list[Outcome]:
    """Every Sigma rule under `paths` (folders, searched recursively for .yml/.yaml, or
    files), each loaded or skipped with its reason."""
    files: list[str] = []
    out: list[Outcome] = []
    for p in paths:
        fp = FsPath(p)
        if fp.is_dir():
            files.extend(
                sorted(
                    str(f) for f in fp.rglob("*") if f.suffix in (".yml", ".yaml") and f.is_file()
                )
            )
        elif fp.is_file():
            files.append(str(fp))
        else:
            out.append(Outcome(str(p), "", reason="no such file or folder"))
    taken: set[str] = set()
    for f in files:
        try:
            text = FsPath(f).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            out.append(Outcome(f, "", reason=f"unreadable: {e}"))
            continue
        out.extend(convert_text(text, f, taken))
    return out


def load_dir(path: str) -> list[Outcome]:
    return load_paths([path])
