"""What a responder reads first about one event, as plain data: sections (who, what,
where, when, outcome, flags, and an Insights event's insight) of labelled facts.

Each fact says where it came from: the indexed field it filters on (claimed only when
the store indexed this very value for the row, so a filter on it selects the event),
and the JSON path of its value. The detail pane renders these; the CLI and reports can
use them as they are. Values, hints and notes may hold log text: sanitise on output.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .batch import CONFLICT, HOSTILE, LENIENT, MALFORMED, NO_ID
from .derive import shape_problems
from .fields import CRED_ANONYMOUS, FIELD_BY_NAME, LEAF_FIELDS
from .insight import Insight, insight_of, paired_row
from .normalize import NO_TIME, format_time, text
from .paths import child_path, format_path
from .rules import evaluate
from .store import Store, ip_kind

__all__ = ["Fact", "Note", "Section", "leaf_field", "summarize"]

# How a fact reads (the pane maps tones to styles).
VALUE, STRING, ALERT, EMPTY, LITERAL, HINT = "value", "string", "alert", "empty", "literal", "hint"


@dataclass(frozen=True, slots=True)
class Fact:
    label: str
    value: str  # what filtering (on `field`, else on `path`) and copying use
    field: str | None = None  # the indexed field the value filters on
    path: str = ""  # the JSON path the value came from ('' when derived)
    kind: str = "value"  # value | info (derived: copied, not filtered) | pair (see `row`)
    display: str | None = None  # shown instead of the value
    hint: str = ""  # a note shown after it
    tone: str = VALUE
    row: int | None = None  # kind "pair": the store row it leads to


@dataclass(frozen=True, slots=True)
class Note:
    text: str
    tone: str = ALERT


@dataclass(slots=True)
class Section:
    name: str  # who | what | where | when | outcome | flags | insight
    title: str
    facts: list[Fact] = field(default_factory=list)
    subtrees: list[tuple[str, str, object]] = field(default_factory=list)  # label, path, JSON
    notes: list[Note] = field(default_factory=list)


def spell(path: str) -> str:
    """A fields.py path ('userIdentity.arn') as the detail tree and filters spell it."""
    return format_path(tuple(path.split("."))) if path else ""


# The JSON leaf a field usually is, as spelt in the tree -> the field.
_LEAF_FIELDS = {spell(p): f for p, f in LEAF_FIELDS.items()}


def claim(store: Store, row: int, f: str | None, value: str) -> str | None:
    """`f` when the store indexed `value` for `row` in it (matching ignores case, as
    filters do), else None: a line claims a field only when filtering on it selects
    the event (a sessionIssuer that is not a Role is not the 'role' field)."""
    if f is None:
        return None
    return f if store.value(row, f).casefold() == value.casefold() else None


def leaf_field(store: Store, row: int, path: str, value: str) -> str | None:
    """The indexed field a JSON leaf (spelt as paths.format_path writes it) filters on."""
    return claim(store, row, _LEAF_FIELDS.get(path), value)


def _d(v: object) -> dict:
    return v if isinstance(v, dict) else {}


def _cut(s: str, n: int) -> str:
    return s if len(s) <= n else s[:n] + "…"


def _key_hint(key: str) -> str:
    if key.startswith("AKIA"):
        return "long-term (AKIA)"
    if key.startswith("ASIA"):
        return "temporary (ASIA)"
    return ""


def _ip_hint(ip: str) -> str:
    if not ip:
        return ""
    k = ip_kind(ip)
    if k & 8:
        return "(AWS Internal)"
    if k & 4:
        return "(not an IP: AWS service)"
    if not k & 3:
        return "(not an IP address)"
    return ""


_ASSUMED = re.compile(r"arn:[^:]*:sts::[^:]*:assumed-role/[^/]+/(.+)")

_FLAG_TEXT: tuple[tuple[int, str], ...] = (
    (HOSTILE, "values contain control characters, shown as escapes"),
    (CONFLICT, "shares its eventID with a different record"),
    (LENIENT, "lenient decode: {lenient}"),
    (NO_ID, "no eventID (never deduplicated)"),
)


class _Builder:
    """Facts for one row; `add` skips empty values unless told."""

    def __init__(self, store: Store, row: int, event: dict) -> None:
        self.store = store
        self.row = row
        self.e = event

    def add(
        self,
        sec: Section,
        label: str,
        value: object,
        path: str,
        f: str | None = None,
        *,
        hint: str = "",
        tone: str = VALUE,
        always: bool = False,
        kind: str = "value",
        display: str | None = None,
    ) -> None:
        vs = text(value)
        if not vs and not always:
            return
        sec.facts.append(
            Fact(label, vs, claim(self.store, self.row, f, vs), path, kind, display, hint, tone)
        )

    def derived(self, sec: Section, label: str, name: str, **kw) -> None:
        """A field's own value, from the path its rule took it from."""
        _, source = evaluate(FIELD_BY_NAME[name].rule, self.e)
        self.add(sec, label, self.store.value(self.row, name), spell(source), name, **kw)


def summarize(store: Store, row: int, event: object) -> list[Section]:
    """The sections for store row `row` whose parsed original is `event`. Empty
    sections are included (the pane skips them)."""
    e = _d(event)
    b = _Builder(store, row, e)
    ui = _d(e.get("userIdentity"))
    sc = _d(ui.get("sessionContext"))
    issuer = _d(sc.get("sessionIssuer"))
    attrs = _d(sc.get("attributes"))

    who = Section("who", "Who")
    b.derived(who, "Principal", "principal", always=True, tone=STRING)
    b.add(who, "Identity type", ui.get("type"), "userIdentity.type", "type")
    cred = store.value(row, "cred")
    b.add(
        who,
        "Credential",
        cred,
        "",
        "cred",
        hint="(unsigned request: no credentials)" if cred == CRED_ANONYMOUS else "",
    )
    key = text(ui.get("accessKeyId"))
    b.add(who, "Access key", key, "userIdentity.accessKeyId", "key", hint=_key_hint(key))
    itype = text(issuer.get("type"))
    b.add(
        who,
        "Role / issuer",
        issuer.get("arn"),
        "userIdentity.sessionContext.sessionIssuer.arn",
        "role",
        hint=f"({_cut(itype, 40)})" if itype else "",
    )
    arn = text(ui.get("arn"))
    m = _ASSUMED.fullmatch(arn)
    if m:  # a role session is its whole ARN (role and session name): f filters on that
        b.add(who, "Session name", arn, "userIdentity.arn", "session", display=m.group(1))
    if store.value(row, "mfa"):
        _, source = evaluate(FIELD_BY_NAME["mfa"].rule, e)
        hint = "(sign-in)" if source.startswith("additionalEventData") else "(session)"
        b.add(who, "MFA", store.value(row, "mfa"), spell(source), "mfa", hint=hint)
    else:  # a value the field does not read (e.g. a placeholder): the path's own
        mfa = attrs.get("mfaAuthenticated")
        if mfa is not None:
            b.add(who, "MFA", mfa, "userIdentity.sessionContext.attributes.mfaAuthenticated")
        else:
            b.add(
                who,
                "MFA",
                _d(e.get("additionalEventData")).get("MFAUsed"),
                "additionalEventData.MFAUsed",
                hint="(sign-in)",
            )
    b.add(
        who,
        "Session start",
        attrs.get("creationDate"),
        "userIdentity.sessionContext.attributes.creationDate",
    )
    b.derived(who, "Source identity", "sourceidentity")
    b.add(who, "Invoked by", ui.get("invokedBy"), "userIdentity.invokedBy")
    b.derived(who, "User name", "user")
    b.add(who, "Principal ID", ui.get("principalId"), "userIdentity.principalId")
    b.add(who, "Account", ui.get("accountId"), "userIdentity.accountId", "account")

    ins = insight_of(e)
    what = Section("what", "What")
    if ins is None:  # an Insights event names its API in its own section
        b.add(what, "Service", e.get("eventSource"), ".eventSource", "service", always=True)
        b.add(what, "Event", e.get("eventName"), ".eventName", "event", always=True, tone=STRING)
    b.add(what, "Event type", e.get("eventType"), ".eventType", "eventtype")
    b.add(what, "Category", e.get("eventCategory"), ".eventCategory", "category")
    b.add(what, "Read-only", store.value(row, "readonly"), ".readOnly", "readonly")
    b.derived(what, "Console", "console")
    b.add(what, "Event ID", e.get("eventID"), ".eventID")
    b.add(what, "Request ID", e.get("requestID"), ".requestID")
    for title, k in (("Request", "requestParameters"), ("Resources", "resources")):
        if k in e:
            what.subtrees.append((title, child_path("", k), e[k]))

    where = Section("where", "Where")
    ip = text(e.get("sourceIPAddress"))
    b.add(
        where,
        "Source IP",
        ip,
        ".sourceIPAddress",
        "ip",
        hint=_ip_hint(ip),
        always=ins is None,
        tone=STRING,
    )
    b.add(where, "Region", e.get("awsRegion"), ".awsRegion", "region")
    b.add(where, "Recipient", e.get("recipientAccountId"), ".recipientAccountId", "account")
    b.add(where, "User agent", e.get("userAgent"), ".userAgent", "ua")
    b.add(where, "VPC endpoint", e.get("vpcEndpointId"), ".vpcEndpointId", "vpce")
    b.add(where, "Endpoint acct", e.get("vpcEndpointAccountId"), ".vpcEndpointAccountId")
    if "tlsDetails" in e:
        where.subtrees.append(("TLS", ".tlsDetails", e["tlsDetails"]))

    when = Section("when", "When")
    b.add(when, "Event time", e.get("eventTime"), ".eventTime", always=True)
    ms = store.time_ms(row)
    b.add(when, "UTC", format_time(ms), "", kind="info", hint="(unparsed)" if ms == NO_TIME else "")
    b.add(when, "File", store.location(row), "", kind="info")

    outcome = Section("outcome", "Outcome")
    code = text(e.get("errorCode"))
    b.add(outcome, "Error", code, ".errorCode", "error", tone=ALERT)
    b.add(outcome, "Message", e.get("errorMessage"), ".errorMessage")
    if not code and not text(e.get("errorMessage")) and ins is None:
        # Filtering on it narrows to successful calls: error:"".
        b.add(
            outcome,
            "Result",
            "",
            ".errorCode",
            "error",
            always=True,
            display="success",
            tone=STRING,
        )
    if "responseElements" in e:
        outcome.subtrees.append(("Response", ".responseElements", e["responseElements"]))

    flags = Section("flags", "Flags")
    fv = int(store.flags[row])
    lenient = ", ".join(store.lenient_reasons(row)) if fv & LENIENT else ""
    flags.notes = [Note(msg.format(lenient=lenient)) for bit, msg in _FLAG_TEXT if fv & bit]
    fi = store.file_of(row)
    if fi.state == "damaged":
        flags.notes.append(Note(f"from a damaged file: {fi.reason}"))
    if fv & MALFORMED:
        flags.notes.append(Note("malformed: not the CloudTrail record format"))
        flags.notes += [Note(f"  · {_cut(p, 200)}") for p in shape_problems(e)]
    if ins is None:
        return [who, what, where, when, outcome, flags]
    sections = [_insight(b, ins), what, where, when, outcome, flags]
    if ui:  # Insights events have no caller; show one if the record has it
        sections.insert(1, who)
    return sections


# Insights: what an attribution's attribute is, and the field its value filters on.
_ATTRIBUTED: dict[str, tuple[str, str]] = {
    "userIdentityArn": ("By caller", "principal"),
    "userAgent": ("By user agent", "ua"),
    "errorCode": ("By error code", "error"),
}
MAX_ATTRIBUTED = 10  # values listed per attribute (the JSON below has them all)


def _num(x: float | None) -> str:
    """A rate or duration as CloudTrail gives it, to 3 significant digits."""
    return "?" if x is None else f"{x:.3g}"


def _minutes(x: float) -> str:
    return f"{x:,.0f}" if x == int(x) else f"{x:,.1f}"


def _ratio(r: float) -> str:
    return f"{r:,.0f}×" if r >= 10 else f"{r:.1f}×"


def _insight(b: _Builder, ins: Insight) -> Section:
    """The Insights section: what went unusual, how far, who drove it, its pair."""
    sec = Section("insight", "Insight")
    base = "insightDetails"
    stats = f"{base}.insightContext.statistics"
    kind = {"ApiCallRateInsight": "API call rate", "ApiErrorRateInsight": "API error rate"}
    b.add(
        sec,
        "Insight",
        ins.kind,
        f"{base}.insightType",
        always=True,
        tone=STRING,
        hint=f"({kind[ins.kind]})" if ins.kind in kind else "",
    )
    began = {"Start": "(the unusual activity began)", "End": "(the unusual activity ended)"}
    b.add(
        sec,
        "State",
        ins.state,
        f"{base}.state",
        always=True,
        tone=STRING,
        hint=began.get(ins.state, ""),
    )
    b.add(sec, "Service", ins.source, f"{base}.eventSource", "service", always=True)
    b.add(sec, "API", ins.name, f"{base}.eventName", "event", always=True, tone=STRING)
    if ins.error:  # the calls that fail with it: error:<code>
        sec.facts.append(Fact("Error code", ins.error, "error", f"{base}.errorCode", tone=ALERT))
    per_min = "errors/min" if ins.kind == "ApiErrorRateInsight" else "calls/min"
    if ins.average is not None or ins.baseline is not None:
        rate = f"{_num(ins.average)} {per_min}, "
        if ins.average is not None and ins.baseline is not None and ins.baseline > 0:
            rate += f"{_ratio(ins.average / ins.baseline)} "
        rate += f"the baseline of {_num(ins.baseline)}"
        when = {"Start": "(in its first minute)", "End": "(over the whole insight)"}
        sec.facts.append(Fact("Rate", rate, None, stats, "info", hint=when.get(ins.state, "")))
    if ins.duration is not None:
        sec.facts.append(
            Fact(
                "Duration",
                f"{_minutes(ins.duration)} min",
                None,
                f"{stats}.insightDuration",
                "info",
            )
        )
    if ins.baseline_duration is not None:
        days = ins.baseline_duration / 1440
        sec.facts.append(
            Fact(
                "Baseline",
                f"{_minutes(ins.baseline_duration)} min ({days:.1f} days) before the start",
                None,
                f"{stats}.baselineDuration",
                "info",
            )
        )
    shown: dict[str, int] = {}
    for a in ins.attributions:
        label, f = _ATTRIBUTED.get(a.attribute, ("By other", None))
        shown[label] = shown.get(label, 0) + 1
        if shown[label] > MAX_ATTRIBUTED:
            continue
        value = "" if (f == "error" and a.value == "null") else a.value
        # an attribute CloudTrail does not document is named in the hint
        named = "" if f is not None else f"{_cut(a.attribute, 40)}: "
        if a.baseline is None:
            hint = f"({named}{_num(a.average)} {per_min}; not in the baseline)"
        else:
            hint = f"({named}{_num(a.average)} {per_min}; baseline {_num(a.baseline)})"
        # Not an indexed field: the value lies somewhere in an attribution's nested
        # lists, under no one path, so f gives free text.
        where = f"{base}.insightContext.attributions" if f else ""
        sec.facts.append(
            Fact(
                label,
                value,
                f,
                where,
                hint=hint,
                display="null (no error)" if value != a.value else None,
                tone=LITERAL if value != a.value else VALUE,
            )
        )
    for label, n in shown.items():
        if n > MAX_ATTRIBUTED:
            sec.notes.append(Note(f"{label}: {n - MAX_ATTRIBUTED:,} more in the Event JSON", HINT))
    b.add(sec, "Shared ID", ins.shared_id, ".sharedEventID")
    other = ins.other_state
    if other:
        pair = paired_row(b.store, b.row, ins)
        if pair is None:
            sec.facts.append(Fact(f"Paired {other}", "not loaded", None, "", "info", tone=EMPTY))
        else:
            ms = b.store.time_ms(pair)
            at = format_time(ms) if ms != NO_TIME else "?"
            sec.facts.append(
                Fact(
                    f"Paired {other}",
                    at,
                    None,
                    "",
                    "pair",
                    display=at,
                    hint="(enter: go to it)",
                    tone=STRING,
                    row=pair,
                )
            )
    return sec
