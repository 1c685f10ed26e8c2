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


def cred_kind(ui: dict) -> str:
    t = ui.get("type")
    kind = _CRED_BY_TYPE.get(t) if t.__class__ is str else None  # type: ignore[arg-type]
    if kind is not None:
        return kind
    if t == "AWSAccount" or not t:
        # Anonymous S3 requests arrive as AWSAccount with this account id.
        if ui.get("accountId") == "ANONYMOUS_PRINCIPAL" or ui.get("principalId") == "Anonymous":
            return CRED_ANONYMOUS
        if not t and ui.get("invokedBy"):
            return CRED_SERVICE
    return CRED_OTHER


def principal_of(ui: dict) -> str:
    """First non-empty of arn, invokedBy, onBehalfOf.userId, userName, principalId,
    accountId; else 'unknown'."""
    g = ui.get
    v = g("arn")
    if v:
        return v if v.__class__ is str else text(v)
    for v in (
        g("invokedBy"),
        ui.get("invokedBy"),
        _dict(g("onBehalfOf")).get("userId"),
        g("userName"),
        g("principalId"),
        g("accountId"),
    ):
        if v:
            return text(v)
    return "unknown"


def event_values(rec: dict) -> tuple[str, ...]:
    """The indexed values of one record, in `fields.FIELDS` order."""
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
    # Inline str fast path: nearly every value is already a str.
    vals = [
        g("eventSource"),
        g("eventName"),
        principal_of(ui),
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
