"""What an event is: the one table of indexed fields, and the record shape they rest on.

Each `Field` says where its value comes from as a rule (`tui/core/rules.py`: the value at
a path, the first non-empty of paths, ordered cases of conditions, a lookup table, a
lower-cased value). `tui/core/derive.py` compiles the table for every ingest path: the
Python function over parsed dicts (the general reader), the msgspec structs and the
function over them (the fast path), and the program the C scan (`_scan.c`) runs, handed
to it when `tui/core/batch.py` is imported. The store, the query language, the CLI, the
facets and the detail pane read the same table, so their names never disagree.

Adding a field (mfa, session, sourceidentity, vpce and console were added so):
1. Add a `Field` to `FIELDS`, at the end (the order is the store's column order): name,
   label, rule, doc (where the value comes from, for users), aliases, and `values` when
   trailscope derives it from a closed set (a filter naming another value is then an
   error). Write the rule with the kinds in rules.py: `value`, `first`, `lowered`,
   `cases` of `when(conditions, then=...)` and `lookup`. A rule that needs a kind they
   lack needs it in rules.py, derive.py and the interpreter in `_scan.c`.
   A value unique per event, or many per event, belongs in `PATH_FIELDS` instead.
2. Document it in tui/query.md (`trailscope help query`; the Fields table, and a
   paragraph if its rule needs one; tests/core/test_query.py checks the names and
   values are there) and copy that to docs/query.md.
3. Give it its SQL in tui/core/sqlgen.py (`_SOURCES` or `_DERIVED`, written by hand
   from the rule; the import fails without it), and a column in sqlschema.py if it
   reads a member the table lacks; add filters on it to the DuckDB equivalence battery
   (tests/core/test_sql_equivalence.py), which proves the SQL selects what the store
   does.
4. Test it: tests/core/test_fields.py derives every entry on the three ingest paths and
   by the reference reading (`rules.evaluate`) and compares them; add records to its
   RECORDS that take the new rule down each of its cases, with values of each JSON type
   where it reads them, and a test of what the field means. The C scan, the msgspec
   structs and the generated functions follow from the table; the store, filters,
   facets, CSV/JSON output and `stats` from `FIELDS`. The detail pane shows the field
   where tui/core/summary.py puts a line for it.

A value that is unique per event or many per event (`requestid`, `resource`) is not a
column: `PATH_FIELDS` names JSON paths that the path columns compute on first use.
"""

from __future__ import annotations

from dataclasses import dataclass

from .rules import (
    At,
    Cases,
    Empty,
    IsObject,
    Present,
    any_of,
    cases,
    first,
    first_of,
    is_,
    lookup,
    lowered,
    primary_path,
    value,
    when,
)


@dataclass(frozen=True, slots=True)
class Field:
    name: str  # the short name used in queries and JSON output
    label: str  # a column or facet title
    rule: Cases  # how the value is derived (rules.py)
    doc: str  # where the value comes from, for users (help, docs/query.md)
    aliases: tuple[str, ...] = ()
    values: tuple[str, ...] | None = None  # a closed set (see CLOSED_VALUES)
    # The field whose value dictionary this one's codes index: one table for two fields
    # whose values are mostly the same strings (store.dictionaries).
    values_of: str | None = None

    @property
    def leaf(self) -> str | None:
        """The record path whose value this field usually is (the detail tree filters
        on the field from that leaf)."""
        return primary_path(self.rule)


# Credential kinds, as the CloudTrail userIdentity documentation frames them.
CRED_ROOT = "root"
CRED_IAM_USER = "iam-user"
CRED_ROLE = "role-session"
CRED_FEDERATED = "federated"
CRED_SERVICE = "aws-service"
CRED_ANONYMOUS = "anonymous"
CRED_OTHER = "other"

# The principal of an Insights event, which has no caller: CloudTrail wrote it.
INSIGHTS_PRINCIPAL = "CloudTrail Insights"

UI = "userIdentity"
SC = "userIdentity.sessionContext"
ISSUER = "userIdentity.sessionContext.sessionIssuer"

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
# Anonymous callers (unsigned requests, e.g. to a public S3 bucket) arrive as
# `AWSAccount` (or `Unknown`, or no type) whose accountId or principalId names them:
# AWS writes accountId "anonymous"; "ANONYMOUS_PRINCIPAL" and "Anonymous" are seen too.
_ANON_IDS = ("anonymous", "anonymous_principal")


def _insight_or(path: str) -> Cases:
    """An Insights event has no eventSource/eventName of its own: it names the API it
    is about in insightDetails."""
    return cases(
        when(Empty(path), IsObject("insightDetails"), then=At(f"insightDetails.{path}")),
        default=At(path),
    )


# Order matters: it is the column order of the store's code matrix and of every
# derivation's output.
FIELDS: tuple[Field, ...] = (
    Field(
        "service",
        "Service",
        _insight_or("eventSource"),
        "eventSource (Insights events: insightDetails.eventSource)",
        ("source", "eventsource"),
    ),
    Field(
        "event",
        "Event",
        _insight_or("eventName"),
        "eventName (Insights events: insightDetails.eventName)",
        ("name", "eventname"),
    ),
    Field(
        "principal",
        "Principal",
        cases(
            *first_of(
                f"{UI}.arn",
                f"{UI}.invokedBy",
                f"{UI}.onBehalfOf.userId",
                f"{UI}.userName",
                f"{UI}.principalId",
                f"{UI}.accountId",
            ),
            when(IsObject("insightDetails"), then=INSIGHTS_PRINCIPAL),
            default="unknown",
        ),
        "first non-empty of userIdentity.arn, invokedBy, onBehalfOf.userId, userName, "
        "principalId, accountId; else 'CloudTrail Insights' for an Insights event, "
        "'unknown' for others",
        ("who",),
    ),
    Field(
        "ip",
        "Source IP",
        value("sourceIPAddress"),
        "sourceIPAddress (verbatim)",
        ("sourceip", "sourceipaddress"),
    ),
    Field("region", "Region", value("awsRegion"), "awsRegion", ("awsregion",)),
    Field(
        "account",
        "Account",
        first("recipientAccountId", f"{UI}.accountId"),
        "recipientAccountId, else userIdentity.accountId",
        ("acct",),
    ),
    Field("error", "Error", value("errorCode"), "errorCode", ("errorcode",)),
    Field(
        "type", "Identity type", value(f"{UI}.type"), "userIdentity.type", ("identity", "idtype")
    ),
    Field(
        "cred",
        "Credential kind",
        cases(
            lookup(f"{UI}.type", _CRED_BY_TYPE),
            when(
                any_of(is_(f"{UI}.type", "AWSAccount", "Unknown"), Empty(f"{UI}.type")),
                any_of(
                    is_(f"{UI}.accountId", *_ANON_IDS, ci=True),
                    is_(f"{UI}.principalId", *_ANON_IDS, ci=True),
                ),
                then=CRED_ANONYMOUS,
            ),
            when(Empty(f"{UI}.type"), Present(f"{UI}.invokedBy"), then=CRED_SERVICE),
            default=CRED_OTHER,
        ),
        "derived from userIdentity.type (and an anonymous accountId/principalId, or "
        "invokedBy without a type): see docs/query.md, Credential kinds",
        ("credential",),
        values=(
            CRED_ROOT,
            CRED_IAM_USER,
            CRED_ROLE,
            CRED_FEDERATED,
            CRED_SERVICE,
            CRED_ANONYMOUS,
            CRED_OTHER,
        ),
    ),
    Field(
        "key",
        "Access key",
        value(f"{UI}.accessKeyId"),
        "userIdentity.accessKeyId",
        ("accesskey", "akid"),
    ),
    Field(
        "role",
        "Role",
        cases(when(is_(f"{ISSUER}.type", "Role"), then=At(f"{ISSUER}.arn"))),
        "sessionContext.sessionIssuer.arn when the issuer is a Role",
        ("issuer",),
    ),
    Field("ua", "User agent", value("userAgent"), "userAgent", ("useragent", "agent")),
    Field(
        "user",
        "User name",
        first(f"{UI}.userName", f"{ISSUER}.userName"),
        "userIdentity.userName, else sessionIssuer.userName",
    ),
    Field("eventtype", "Event type", value("eventType"), "eventType"),
    Field("category", "Category", value("eventCategory"), "eventCategory", ("eventcategory",)),
    Field(
        "readonly",
        "Read-only",
        lowered("readOnly"),
        "readOnly as 'true'/'false' ('' when absent)",
        ("ro",),
        values=("true", "false"),
    ),
    Field(
        "mfa",
        "MFA",
        cases(
            lookup("additionalEventData.MFAUsed", {"yes": "yes", "no": "no"}, ci=True),
            lookup(f"{SC}.attributes.mfaAuthenticated", {"true": "yes", "false": "no"}, ci=True),
        ),
        "whether MFA was used: a sign-in's additionalEventData.MFAUsed (Yes/No), else the "
        "session's sessionContext.attributes.mfaAuthenticated (true/false); '' when the "
        "record says neither",
        values=("yes", "no"),
    ),
    Field(
        "session",
        "Session",
        cases(when(is_(f"{UI}.type", "AssumedRole", "FederatedUser"), then=At(f"{UI}.arn"))),
        "the STS session that made the call: userIdentity.arn of a role session "
        "(arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION-NAME: the issuing role and the "
        "session name) or of a federated user session",
        # A session's ARN is its principal: at 10M events 1.7M values, 160 MB twice.
        values_of="principal",
    ),
    Field(
        "sourceidentity",
        "Source identity",
        first(f"{SC}.sourceIdentity", f"{UI}.sourceIdentity"),
        "the source identity set when the role was assumed, kept through role chaining: "
        "sessionContext.sourceIdentity, else userIdentity.sourceIdentity",
        ("srcid",),
    ),
    Field(
        "vpce",
        "VPC endpoint",
        value("vpcEndpointId"),
        "vpcEndpointId: the VPC endpoint the request came through",
        ("vpcendpointid",),
    ),
    Field(
        "console",
        "Console",
        cases(
            lookup(
                "eventType", {"awsconsolesignin": "sign-in", "awsconsoleaction": "action"}, ci=True
            ),
            when(is_("sessionCredentialFromConsole", "true", ci=True), then="session"),
        ),
        "console activity: 'sign-in' (eventType AwsConsoleSignIn: ConsoleLogin and the "
        "other sign-in events), 'action' (eventType AwsConsoleAction), 'session' (a call "
        "made with console session credentials: sessionCredentialFromConsole true)",
        values=("sign-in", "action", "session"),
    ),
)

FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in FIELDS)
FIELD_INDEX: dict[str, int] = {f.name: i for i, f in enumerate(FIELDS)}
FIELD_BY_NAME: dict[str, Field] = {f.name: f for f in FIELDS}


@dataclass(frozen=True, slots=True)
class PathField:
    """A name for a JSON path term (`requestid:X` is `.requestID:X`): values that are
    unique per event or many per event, kept by the path columns once used rather
    than indexed at ingest."""

    name: str
    path: str  # as tui/core/paths.py spells it
    label: str
    doc: str
    aliases: tuple[str, ...] = ()


PATH_FIELDS: tuple[PathField, ...] = (
    PathField(
        "requestid",
        ".requestID",
        "Request ID",
        "requestID: the service's id of the request (one per event)",
    ),
    PathField(
        "resource",
        "resources.ARN",
        "Resource",
        "the ARN of any element of resources[] (an event may name several)",
    ),
)
PATH_FIELD_BY_NAME: dict[str, PathField] = {p.name: p for p in PATH_FIELDS}

# Every accepted spelling (lower-case) -> canonical field name.
ALIASES: dict[str, str] = {}
_every: tuple[Field | PathField, ...] = (*FIELDS, *PATH_FIELDS)
for _f in _every:
    ALIASES[_f.name] = _f.name
    for _a in _f.aliases:
        ALIASES[_a] = _f.name


def resolve_field(name: str) -> str | None:
    """Canonical indexed field name for a query spelling, or None."""
    got = ALIASES.get(name.lower())
    return got if got in FIELD_INDEX else None


def resolve_path_field(name: str) -> PathField | None:
    """The path field a query spelling names, or None."""
    got = ALIASES.get(name.lower())
    return PATH_FIELD_BY_NAME.get(got) if got is not None else None


# Fields whose values trailscope derives itself, from a closed set: a filter naming
# another value (a typo such as `cred:roots`) is an error that lists these, unless the
# data holds it (a malformed readOnly string is still found). eventType and
# eventCategory stay open: AWS adds values to them.
CLOSED_VALUES: dict[str, tuple[str, ...]] = {f.name: f.values for f in FIELDS if f.values}

# Each JSON leaf a field usually is -> that field (the first in table order).
LEAF_FIELDS: dict[str, str] = {}
for _f in FIELDS:
    if _f.leaf is not None:
        LEAF_FIELDS.setdefault(_f.leaf, _f.name)


# ------------------------------------------------------------------ record shape
# What makes a record "malformed" (has:malformed; docs/query.md lists the same rules): a
# member whose JSON type is not the one CloudTrail writes, an eventVersion whose major is
# not 1, or no usable eventTime. A nested member is checked when its parent is an object.
# The fast paths type these members so (and refuse the file otherwise, leaving it to the
# general reader, which says why), and the C scan does the same.


@dataclass(frozen=True, slots=True)
class Shape:
    path: str
    kind: str  # time | version | string | boolean | object


SHAPES: tuple[Shape, ...] = (
    Shape("eventTime", "time"),
    Shape("eventVersion", "version"),
    Shape("eventSource", "string"),
    Shape("eventName", "string"),
    Shape("userIdentity", "object"),
    Shape("userIdentity.type", "string"),
    Shape("readOnly", "boolean"),
    Shape("requestParameters", "object"),
    Shape("responseElements", "object"),
    Shape("insightDetails", "object"),
)

# The members the batch keeps per event besides the fields.
TIME_PATH = "eventTime"
ID_PATH = "eventID"
