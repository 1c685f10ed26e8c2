"""The tables the SQL dialects query (sqlgen.py), and a DuckDB view that gives local trail
files the same shape.

Athena: the table AWS documents for CloudTrail logs (`CREATE EXTERNAL TABLE ...
cloudtrail_logs`, CloudTrail SerDe, partition projection on the day folder
`timestamp` = 'yyyy/MM/dd'): top-level keys as lower-cased columns, `userIdentity`,
`resources`, `tlsDetails` and `addendum` as structs, `requestParameters`,
`responseElements`, `additionalEventData`, `serviceEventDetails` as JSON text.
`athena_ddl` prints that statement with the columns trailscope expects.

CloudTrail Lake: the event data store schema (eventTime a timestamp, readOnly a boolean,
the request/response members as map<string,string>).

DuckDB: `duckdb_view_sql` reads `{"Records":[...]}` files (gzip'd or not) into a view
with the Athena table's columns, plus `ts_raw` (each record's JSON text, as DuckDB
writes it), which is what lets the tests run the DuckDB form of a filter over the files
the in-memory engine loads.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

# The SQL dialects `trailscope sql` writes (the translation is sqlgen).
DIALECTS = ("athena", "lake", "duckdb")

# Column kinds: "str" a string; "json" JSON text; "struct" a struct of `fields`;
# "array" an array of such structs; "map" map<string,string> (Lake); "bool" and "time"
# (Lake's readOnly and eventTime).


@dataclass(frozen=True)
class Column:
    name: str  # the SQL name (lower case, as Hive and Trino keep it)
    key: str  # the record's key, as CloudTrail spells it
    kind: str = "str"
    fields: tuple[Column, ...] = ()

    def field(self, key: str) -> Column | None:
        low = key.lower()
        return next((f for f in self.fields if f.name == low), None)


def _s(key: str) -> Column:
    return Column(key.lower(), key)


def _struct(key: str, *fields: Column, kind: str = "struct") -> Column:
    return Column(key.lower(), key, kind, fields)


_ISSUER = _struct(
    "sessionIssuer", _s("type"), _s("principalId"), _s("arn"), _s("accountId"), _s("userName")
)
_USER_IDENTITY = _struct(
    "userIdentity",
    _s("type"),
    _s("principalId"),
    _s("arn"),
    _s("accountId"),
    _s("invokedBy"),
    _s("accessKeyId"),
    _s("userName"),
    # Not in the AWS documentation's table: the source identity of a role session that
    # some records keep here rather than in sessionContext (the `sourceidentity` field).
    _s("sourceIdentity"),
    _struct("onBehalfOf", _s("userId"), _s("identityStoreArn")),
    _struct(
        "sessionContext",
        _struct("attributes", _s("mfaAuthenticated"), _s("creationDate")),
        _ISSUER,
        _s("ec2RoleDelivery"),
        _s("sourceIdentity"),
    ),
)

ATHENA_COLUMNS: tuple[Column, ...] = (
    _s("eventVersion"),
    _USER_IDENTITY,
    _s("eventTime"),
    _s("eventSource"),
    _s("eventName"),
    _s("awsRegion"),
    _s("sourceIPAddress"),
    _s("userAgent"),
    _s("errorCode"),
    _s("errorMessage"),
    Column("requestparameters", "requestParameters", "json"),
    Column("responseelements", "responseElements", "json"),
    Column("additionaleventdata", "additionalEventData", "json"),
    _s("requestID"),
    _s("eventID"),
    _s("readOnly"),
    _struct("resources", Column("arn", "ARN"), _s("accountId"), _s("type"), kind="array"),
    _s("eventType"),
    _s("apiVersion"),
    _s("recipientAccountId"),
    Column("serviceeventdetails", "serviceEventDetails", "json"),
    _s("sharedEventID"),
    _s("vpcEndpointId"),
    _s("vpcEndpointAccountId"),
    _s("eventCategory"),
    _struct(
        "addendum",
        _s("reason"),
        _s("updatedFields"),
        _s("originalRequestID"),
        _s("originalEventID"),
    ),
    _s("sessionCredentialFromConsole"),
    _struct("tlsDetails", _s("tlsVersion"), _s("cipherSuite"), _s("clientProvidedHostHeader")),
)

# The event data store schema of CloudTrail Lake (docs: "Supported SQL schemas for event
# data stores"): the same names, a few other types.
_LAKE_TYPES = {
    "eventtime": "time",
    "readonly": "bool",
    "requestparameters": "map",
    "responseelements": "map",
    "additionaleventdata": "map",
}
LAKE_COLUMNS: tuple[Column, ...] = tuple(
    Column(c.name, c.key, _LAKE_TYPES.get(c.name, c.kind), c.fields)
    for c in ATHENA_COLUMNS
    if c.name not in ("serviceeventdetails",)
)
# Lake keeps serviceEventDetails as a map as well.
LAKE_COLUMNS += (Column("serviceeventdetails", "serviceEventDetails", "map"),)

DATE_PARTITION = "timestamp"  # the documented partition column: the day folder, yyyy/MM/dd
RAW_COLUMN = "ts_raw"  # the DuckDB view's record text (free text searches it)


def column(columns: Sequence[Column], key: str) -> Column | None:
    """The column for a record key (keys and names compare ignoring case)."""
    low = key.lower()
    return next((c for c in columns if c.name == low), None)


# ---------------------------------------------------------------------------- DDL


def _hive_type(c: Column) -> str:
    if c.kind == "str" or c.kind == "json":
        return "STRING"
    inner = ", ".join(f"{f.name}: {_hive_type(f)}" for f in c.fields)
    return f"ARRAY<STRUCT<{inner}>>" if c.kind == "array" else f"STRUCT<{inner}>"


def athena_ddl(table: str, location: str, start_day: str = "2020/01/01") -> str:
    """The CREATE TABLE statement (partition projection on the day folders) whose columns
    the Athena dialect expects; `location` is s3://bucket/AWSLogs/ACCOUNT/CloudTrail/REGION/."""
    cols = ",\n".join(f"  {c.name} {_hive_type(c)}" for c in ATHENA_COLUMNS)
    loc = location.rstrip("/") + "/"
    return (
        f"CREATE EXTERNAL TABLE {table} (\n{cols}\n)\n"
        f"PARTITIONED BY (`{DATE_PARTITION}` STRING)\n"
        "ROW FORMAT SERDE 'com.amazon.emr.hive.serde.CloudTrailSerde'\n"
        "STORED AS INPUTFORMAT 'com.amazon.emr.cloudtrail.CloudTrailInputFormat'\n"
        "OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'\n"
        f"LOCATION '{_sql_str(loc)}'\n"
        "TBLPROPERTIES (\n"
        "  'projection.enabled'='true',\n"
        f"  'projection.{DATE_PARTITION}.type'='date',\n"
        f"  'projection.{DATE_PARTITION}.format'='yyyy/MM/dd',\n"
        f"  'projection.{DATE_PARTITION}.range'='{_sql_str(start_day)},NOW',\n"
        f"  'projection.{DATE_PARTITION}.interval'='1',\n"
        f"  'projection.{DATE_PARTITION}.interval.unit'='DAYS',\n"
        f"  'storage.location.template'='{_sql_str(loc)}${{{DATE_PARTITION}}}'\n"
        ");"
    )


def _sql_str(s: str) -> str:
    return s.replace("'", "''")


# ---------------------------------------------------------------------------- DuckDB view


def _json_path(keys: Sequence[str]) -> str:
    return "$" + "".join(f".{k}" for k in keys)


def _duck_value(src: str, c: Column, keys: tuple[str, ...]) -> str:
    path = _json_path((*keys, c.key))
    if c.kind == "str":
        # `->>` gives a string's text, and a number's or boolean's JSON text (as the
        # SerDe reads a scalar into a STRING column); null gives NULL.
        return f"{src}->>'{path}'"
    if c.kind == "json":
        v = f"json_extract({src}, '{path}')"
        return f"CASE WHEN json_type({v}) = 'OBJECT' THEN CAST({v} AS VARCHAR) END"
    if c.kind == "array":
        v = f"json_extract({src}, '{path}')"
        inner = _duck_struct("e", c.fields, ())
        return (
            f"CASE WHEN json_type({v}) = 'ARRAY' THEN "
            f"list_transform(CAST({v} AS JSON[]), lambda e: {inner}) END"
        )
    return _duck_struct(src, c.fields, (*keys, c.key))


def _duck_struct(src: str, fields: Sequence[Column], keys: tuple[str, ...]) -> str:
    parts = ", ".join(f"{f.name} := {_duck_value(src, f, keys)}" for f in fields)
    return f"struct_pack({parts})"


_DAY_RX = r"/(\d{4}/\d{2}/\d{2})/[^/]*$"


def duckdb_view_sql(files: Sequence[str], view: str = "cloudtrail_logs") -> str:
    """SQL that makes `view` over CloudTrail log files (`{"Records":[...]}`, gzip'd or
    not): the Athena table's columns, its `timestamp` partition (the file's day folder;
    a file outside the layout stands in its events' own day) and `ts_raw`. Times
    without a zone read as UTC, as trailscope reads them."""
    if not files:
        raise ValueError("no files for the view")
    listed = ", ".join(f"'{_sql_str(f)}'" for f in files)
    cols = ",\n  ".join(f"{_duck_value('rec', c, ())} AS {c.name}" for c in ATHENA_COLUMNS)
    return (
        "SET TimeZone = 'UTC';\n"
        f"CREATE OR REPLACE VIEW {view} AS\n"
        "WITH src AS (\n"
        "  SELECT filename, unnest(Records) AS rec\n"
        f"  FROM read_json([{listed}], columns = {{'Records': 'JSON[]'}},\n"
        "                 format = 'unstructured', filename = true,\n"
        "                 maximum_object_size = 1073741824)\n"
        ")\n"
        "SELECT\n"
        f"  {cols},\n"
        f"  CAST(rec AS VARCHAR) AS {RAW_COLUMN},\n"
        f"  coalesce(nullif(regexp_extract(filename, '{_DAY_RX}', 1), ''),\n"
        "           strftime(TRY_CAST(rec->>'$.eventTime' AS TIMESTAMPTZ), '%Y/%m/%d'))\n"
        f'    AS "{DATE_PARTITION}"\n'
        "FROM src;"
    )
