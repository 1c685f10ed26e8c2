"""The indexed fields of an event: one table shared by the store, the query language,
the CLI and the explorer, so their names never disagree."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Field:
    name: str  # the short name used in queries and JSON output
    label: str  # a column or facet title
    source: str  # where the value comes from (for help and docs)
    aliases: tuple[str, ...] = ()


# Order matters: it is the column order of the store's code matrix and of
# `normalize.event_values`.
FIELDS: tuple[Field, ...] = (
    Field("service", "Service", "eventSource (Insights events: insightDetails.eventSource)",
          ("source", "eventsource")),
    Field("event", "Event", "eventName (Insights events: insightDetails.eventName)",
          ("name", "eventname")),
    Field(
        "principal",
        "Principal",
        "first non-empty of userIdentity.arn, invokedBy, onBehalfOf.userId, userName, "
        "principalId, accountId; else 'CloudTrail Insights' for an Insights event, "
        "'unknown' for others",
        ("who",),
    ),
    Field("ip", "Source IP", "sourceIPAddress (verbatim)", ("sourceip", "sourceipaddress")),
    Field("region", "Region", "awsRegion", ("awsregion",)),
    Field("account", "Account", "recipientAccountId, else userIdentity.accountId", ("acct",)),
    Field("error", "Error", "errorCode", ("errorcode",)),
    Field("type", "Identity type", "userIdentity.type", ("identity", "idtype")),
    Field("cred", "Credential kind", "derived from userIdentity (see docs)", ("credential",)),
    Field("key", "Access key", "userIdentity.accessKeyId", ("accesskey", "akid")),
    Field("role", "Role", "sessionContext.sessionIssuer.arn when the issuer is a Role",
          ("issuer",)),
    Field("ua", "User agent", "userAgent", ("useragent", "agent")),
    Field("user", "User name", "userIdentity.userName, else sessionIssuer.userName", ()),
    Field("eventtype", "Event type", "eventType", ()),
    Field("category", "Category", "eventCategory", ("eventcategory",)),
    Field("readonly", "Read-only", "readOnly as 'true'/'false' ('' when absent)", ("ro",)),
)

FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in FIELDS)
FIELD_INDEX: dict[str, int] = {f.name: i for i, f in enumerate(FIELDS)}
FIELD_BY_NAME: dict[str, Field] = {f.name: f for f in FIELDS}

# Every accepted spelling (lower-case) -> canonical field name.
ALIASES: dict[str, str] = {}
for _f in FIELDS:
    ALIASES[_f.name] = _f.name
    for _a in _f.aliases:
        ALIASES[_a] = _f.name


def resolve_field(name: str) -> str | None:
    """Canonical field name for a query spelling, or None."""
    return ALIASES.get(name.lower())


# Credential kinds, as the CloudTrail userIdentity documentation frames them.
CRED_ROOT = "root"
CRED_IAM_USER = "iam-user"
CRED_ROLE = "role-session"
CRED_FEDERATED = "federated"
CRED_SERVICE = "aws-service"
CRED_ANONYMOUS = "anonymous"
CRED_OTHER = "other"
CRED_KINDS = (
    CRED_ROOT,
    CRED_IAM_USER,
    CRED_ROLE,
    CRED_FEDERATED,
    CRED_SERVICE,
    CRED_ANONYMOUS,
    CRED_OTHER,
)

# Fields whose values trailscope derives itself, from a closed set: a filter naming
# another value (a typo such as `cred:roots`) is an error that lists these, unless the
# data holds it (a malformed readOnly string is still found). eventType and
# eventCategory stay open: AWS adds values to them.
CLOSED_VALUES: dict[str, tuple[str, ...]] = {
    "cred": CRED_KINDS,
    "readonly": ("true", "false"),
}
