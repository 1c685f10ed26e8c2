"""Turn one CloudTrail record (a dict) into the values the store indexes.

Runs once per event in the ingest hot loop, so it is written flat: no per-field helper
calls on the common path where every value is already a str.
"""

from __future__ import annotations

from datetime import UTC, datetime

import orjson

from .fields import (
    CRED_ANONYMOUS,
    CRED_FEDERATED,
    CRED_IAM_USER,
    CRED_OTHER,
    CRED_ROLE,
    CRED_ROOT,
    CRED_SERVICE,
)

# Sorts before every real time; shown as "?" and excluded by since:/until:.
NO_TIME = -(2**62)

_CRED_BY_TYPE = {
    "Root": CRED_ROOT,
    "IAMUser": CRED_IAM_USER,
    "AssumedRole": CRED_ROLE,
    "Role": CRED_ROLE,
    "FederatedUser": CRED_FEDERATED,
    "SAMLUser": CRED_FEDERATED,
    "WebIdentityUser": CRED_FEDERATED,
    "IdentityCenterUser": CRED_FEDERATED,
    "AWSService": CRED_SERVICE,
    "AnonymousPrincipal": CRED_ANONYMOUS,
}

_EMPTY: dict = {}


def text(v: object) -> str:
    """A field value as the str the index holds: '' for missing/null, JSON for containers."""
    if v is None:
        return ""
    if v.__class__ is str:
        return v  # type: ignore[return-value]
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, (int, float)):
        return repr(v) if isinstance(v, float) else str(v)
    try:
        return orjson.dumps(v, option=orjson.OPT_NON_STR_KEYS).decode()
    except (TypeError, orjson.JSONEncodeError):
        return str(v)


def _dict(v: object) -> dict:
    return v if v.__class__ is dict else _EMPTY  # type: ignore[return-value]


_day_cache: dict[str, int] = {}


def parse_time_ms(v: object) -> int:
    """eventTime -> milliseconds since the epoch (UTC), or NO_TIME.

    Fast path for CloudTrail's own form `YYYY-MM-DDTHH:MM:SSZ` (optionally with
    fractional seconds); anything else goes through `datetime.fromisoformat`, which also
    takes lookup-events' `2022-02-08 09:23:37+11:00`. A time without zone counts as UTC.
    """
    if v.__class__ is not str:
        return NO_TIME
    s: str = v  # type: ignore[assignment]
    if len(s) == 20 and s[19] == "Z" and s[10] == "T" and s[13] == ":" and s[16] == ":":
        day = _day_cache.get(s[:10])
        if day is None:
            day = _parse_day(s[:10])
            if day is not None and len(_day_cache) < 100_000:
                _day_cache[s[:10]] = day
        if day is not None:
            hh, mm, ss = s[11:13], s[14:16], s[17:19]
            if hh.isdigit() and mm.isdigit() and ss.isdigit():
                h, m, sec = int(hh), int(mm), int(ss)
                if h < 24 and m < 60 and sec < 61:
                    return day + (h * 3600 + m * 60 + sec) * 1000
    return _parse_time_slow(s)


def _parse_day(s: str) -> int | None:
    try:
        d = datetime.strptime(s, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        return None
    return int(d.timestamp()) * 1000


def _parse_time_slow(s: str) -> int:
    s = s.strip()
    if not s or len(s) > 64:
        return NO_TIME
    try:
        d = datetime.fromisoformat(s)
    except ValueError:
        return NO_TIME
    if d.tzinfo is None:
        d = d.replace(tzinfo=UTC)
    try:
        return round(d.timestamp() * 1000)
    except (OverflowError, OSError, ValueError):
        return NO_TIME


def format_time(ms: int) -> str:
    """ISO-8601 UTC with a Z, second precision unless there are milliseconds."""
    if ms == NO_TIME:
        return "?"
    try:
        d = datetime.fromtimestamp(ms / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return "?"
    if ms % 1000:
        return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"
    return d.strftime("%Y-%m-%dT%H:%M:%SZ")


# Anonymous callers (unsigned requests, e.g. to a public S3 bucket) arrive as
# `AWSAccount` (or `Unknown`, or no type) whose accountId or principalId names them:
# AWS writes accountId "anonymous"; "ANONYMOUS_PRINCIPAL" and "Anonymous" are seen too.
# Compared ASCII-case-insensitively (the C scan does the same).
_ANON_IDS = ("anonymous", "anonymous_principal")
_ANON_TYPES = ("AWSAccount", "Unknown")


def _anon_id(v: object) -> bool:
    return v.__class__ is str and v.isascii() and v.lower() in _ANON_IDS  # type: ignore[union-attr]


def cred_kind(ui: dict) -> str:
    """The credential kind (fields.CRED_KINDS) of a userIdentity object."""
    t = ui.get("type")
    kind = _CRED_BY_TYPE.get(t) if t.__class__ is str else None  # type: ignore[arg-type]
    if kind is not None:
        return kind
    if t in _ANON_TYPES or not t:
        if _anon_id(ui.get("accountId")) or _anon_id(ui.get("principalId")):
            return CRED_ANONYMOUS
        if not t and ui.get("invokedBy"):
            return CRED_SERVICE
    return CRED_OTHER


# The principal of an Insights event, which has no caller: CloudTrail wrote it.
INSIGHTS_PRINCIPAL = "CloudTrail Insights"


def principal_of(ui: dict, none: str = "unknown") -> str:
    """First non-empty of arn, invokedBy, onBehalfOf.userId, userName, principalId,
    accountId; else `none`."""
    g = ui.get
    v = g("arn")
    if v:
        return v if v.__class__ is str else text(v)
    for v in (
        g("invokedBy"),
        _dict(g("onBehalfOf")).get("userId"),
        g("userName"),
        g("principalId"),
        g("accountId"),
    ):
        if v:
            return text(v)
    return none


def event_values(rec: dict) -> tuple[str, ...]:
    """The indexed values of one record, in `fields.FIELDS` order.

    An Insights event (an `insightDetails` object) has no caller and no top-level
    eventSource/eventName: its service and event are the API the insight is about, and
    its principal is INSIGHTS_PRINCIPAL.
    """
    g = rec.get
    ui = g("userIdentity")
    if ui.__class__ is not dict:
        ui = _EMPTY
    ug = ui.get
    sc = ug("sessionContext")
    issuer = sc.get("sessionIssuer") if sc.__class__ is dict else None
    if issuer.__class__ is not dict:
        issuer = _EMPTY
    role = issuer.get("arn") if issuer.get("type") == "Role" else ""
    account = g("recipientAccountId") or ug("accountId") or ""
    user = ug("userName") or issuer.get("userName") or ""
    ro = g("readOnly")
    if ro is True:
        ro_s = "true"
    elif ro is False:
        ro_s = "false"
    elif ro.__class__ is str:
        ro_s = ro.lower()  # type: ignore[union-attr]
    else:
        ro_s = text(ro)
    source = g("eventSource")
    name = g("eventName")
    insight = g("insightDetails")
    if insight.__class__ is dict:
        if source is None or source == "":
            source = insight.get("eventSource")  # type: ignore[union-attr]
        if name is None or name == "":
            name = insight.get("eventName")  # type: ignore[union-attr]
        principal = principal_of(ui, INSIGHTS_PRINCIPAL)
    else:
        principal = principal_of(ui)
    # Inline str fast path: nearly every value is already a str.
    vals = [
        source,
        name,
        principal,
        g("sourceIPAddress"),
        g("awsRegion"),
        account,
        g("errorCode"),
        ug("type"),
        cred_kind(ui),
        ug("accessKeyId"),
        role,
        g("userAgent"),
        user,
        g("eventType"),
        g("eventCategory"),
        ro_s,
    ]
    for i, v in enumerate(vals):
        if v.__class__ is not str:
            vals[i] = text(v)
    return tuple(vals)


# ------------------------------------------------------------------ record shape
# What makes a record "malformed" (has:malformed; docs/query.md lists the same rules):
# a member whose JSON type is not the one CloudTrail writes, an eventVersion whose major
# is not 1, or no usable eventTime. Absent members are not malformed (records from
# pipelines that drop fields are common), and readOnly as the string "true"/"false" (any
# case) is accepted: a real trail re-encoded by a log pipeline writes it so, and the
# value reads the same.

_OBJECT_OR_NULL = ("requestParameters", "responseElements", "insightDetails")


def json_type(v: object) -> str:
    """The JSON name of a parsed value's type."""
    if v is None:
        return "null"
    if v is True or v is False:
        return "boolean"
    if isinstance(v, str):
        return "a string"
    if isinstance(v, (int, float)):
        return "a number"
    if isinstance(v, list):
        return "an array"
    if isinstance(v, dict):
        return "an object"
    return type(v).__name__


def version_ok(v: object) -> bool:
    """eventVersion as CloudTrail writes it: `1.<digits>` (every version so far)."""
    return (
        v.__class__ is str and v[:2] == "1." and len(v) > 2  # type: ignore[index]
        and v[2:].isascii() and v[2:].isdigit()  # type: ignore[index,union-attr]
    )


def readonly_ok(v: object) -> bool:
    """readOnly as CloudTrail writes it (a boolean), or re-encoded as "true"/"false"."""
    if v is None or v is True or v is False:
        return True
    return v.__class__ is str and v.isascii() and v.lower() in ("true", "false")  # type: ignore



def _quoted(v: object) -> str:
    s = v if isinstance(v, str) else text(v)
    return orjson.dumps(s[:60] + ("…" if len(s) > 60 else "")).decode()


def shape_problems(rec: dict, *, check_time: bool = True) -> list[str]:
    """Why `rec` is malformed, one line per problem ([] when it is not).

    Ingest flags a record when this is not empty (its time is checked there on the
    parsed times column, hence `check_time`); the detail pane shows the lines. Values
    in the lines are raw log text: sanitise before display.
    """
    out: list[str] = []
    g = rec.get
    if check_time and parse_time_ms(t := g("eventTime")) == NO_TIME:
        if t is None:
            out.append("eventTime is missing" if "eventTime" not in rec else "eventTime is null")
        elif t.__class__ is not str:
            out.append(f"eventTime is {json_type(t)}, not a string")
        else:
            out.append(f"eventTime {_quoted(t)} is not a time")
    v = g("eventVersion")
    if v is not None and not version_ok(v):
        if v.__class__ is not str:
            out.append(f"eventVersion is {json_type(v)}, not a string")
        elif v[:1].isdigit() and "." in v:
            out.append(f"eventVersion {_quoted(v)} has an unknown major version (known: 1.x)")
        else:
            out.append(f"eventVersion {_quoted(v)} is not a version number")
    for k in ("eventSource", "eventName"):
        v = g(k)
        if v is not None and v.__class__ is not str:
            out.append(f"{k} is {json_type(v)}, not a string")
    ui = g("userIdentity")
    if ui is not None:
        if ui.__class__ is not dict:
            out.append(f"userIdentity is {json_type(ui)}, not an object")
        else:
            t = ui.get("type")
            if t is not None and t.__class__ is not str:
                out.append(f"userIdentity.type is {json_type(t)}, not a string")
    ro = g("readOnly")
    if not readonly_ok(ro):
        if ro.__class__ is str:
            out.append(f"readOnly is the string {_quoted(ro)}, not true or false")
        else:
            out.append(f"readOnly is {json_type(ro)}, not true or false")
    for k in _OBJECT_OR_NULL:
        v = g(k)
        if v is not None and v.__class__ is not dict:
            out.append(f"{k} is {json_type(v)}, not an object")
    return out
