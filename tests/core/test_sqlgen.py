"""The SQL forms of a filter: what Athena's differs from DuckDB's by (the engine functions
listed in docs/sql.md, nothing else), what no dialect can express, and inert output."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

import pytest
import sqlglot

from tests.core.test_sql_equivalence import FILTERS
from tui.core.query import And, Query, Term, ValueMatcher, parse
from tui.core.sqlgen import IPV4_RE, IPV6_RE, SqlError, to_sql

NOW = 1_795_000_000_000

# Athena (Trino) function -> the DuckDB functions the same tree uses in its place; the
# table in docs/sql.md says the same.
ENGINE_FUNCTIONS = {
    "ANY_MATCH": {"LEN", "LIST_FILTER"},
    "TRANSFORM": {"LIST_TRANSFORM"},
    "FILTER": {"LIST_FILTER"},
    "ELEMENT_AT": {"LIST_EXTRACT"},
    "JSON_PARSE": {"JSON"},
    "JSON_ARRAY_LENGTH": {"JSON_TYPE"},
    "JSON_EXTRACT_SCALAR": {"JSON_TYPE", "JSON_EXTRACT_STRING"},
    "JSON_SIZE": {"JSON_TYPE", "JSON_KEYS", "LEN"},
    "TRY": set(),
    "FROM_ISO8601_TIMESTAMP": set(),  # TRY_CAST / CAST AS TIMESTAMPTZ
}


def _functions(sql: str) -> set[str]:
    return set(re.findall(r"\b([A-Z_][A-Z0-9_]*)\(", sql))


SQL_FILTERS = [
    f
    for f in FILTERS
    if f and not any(t in f for t in ('"', "AccessDenied", "accessdenied", "Run*", "ünïcode"))
]


@pytest.mark.parametrize("text", SQL_FILTERS)
def test_athena_differs_from_duckdb_only_in_engine_functions(text):
    athena = to_sql(parse(text), "athena", now_ms=NOW)
    duck = to_sql(parse(text), "duckdb", now_ms=NOW)
    sqlglot.parse_one(athena.sql, read="athena")  # it parses as Athena SQL
    sqlglot.parse_one(duck.sql, read="duckdb")
    a, d = _functions(athena.sql), _functions(duck.sql)
    mapped = set()
    for f in a:
        mapped |= ENGINE_FUNCTIONS.get(f, {f})
    # What DuckDB uses is what Athena uses, with the engine functions swapped.
    extra = d - mapped - {"TRY_CAST", "CAST", "REGEXP_MATCHES", "REGEXP_LIKE"}
    assert not extra, (text, extra)
    assert athena.notes == duck.notes


def test_free_text_is_duckdb_only():
    q = parse('service:s3* "AccessDenied"')
    assert "ts_raw" in to_sql(q, "duckdb", now_ms=NOW).sql
    for dialect in ("athena", "lake"):
        with pytest.raises(SqlError, match="raw record") as e:
            to_sql(q, dialect, now_ms=NOW, table="eds")
        assert e.value.position == 12


@pytest.mark.parametrize(
    "text,why",
    [
        ("mark:suspicious", "case file"),
        ("has:mark", "case file"),
        ("has:note", "case file"),
        ("has:conflict", "eventID"),
        ("has:lenient", "decoded"),
        ("has:malformed", "shape"),
        ("is:dup-id", "duplicate"),
        ("is:unverified", "digests"),
        ("cred:roots", "unknown value"),
        (".insightDetails.state:Start", "no column"),
        ("userIdentity.foo:x", "not a field"),
        ('requestParameters["a\\"b"]:x', "key"),
        ("has:nothing", "unknown has:"),
    ],
)
def test_what_sql_cannot_express_is_a_clear_error(text, why):
    with pytest.raises(SqlError, match=why):
        to_sql(parse(text), "athena", now_ms=NOW)


def test_unknown_node_kinds_are_an_error_not_a_crash():
    """Terms added to the language later (credential chains, last:...) get an error
    until the translator learns them."""

    @dataclass(frozen=True)
    class Last:
        n: int
        pos: int = 7

    q = Query("x", And((Term("service", ValueMatcher.exact("s3.amazonaws.com")), Last(3))))
    with pytest.raises(SqlError, match="'Last' has no SQL form") as e:
        to_sql(q, "duckdb", now_ms=NOW)
    assert e.value.position == 7


def test_lake_uses_its_own_types():
    sql = to_sql(
        parse("readonly:true since:2026-11-20 requestParameters.bucketName:b"),
        "lake",
        table="eds-0123",
        now_ms=NOW,
    ).sql
    assert "CAST(readonly AS VARCHAR)" in sql
    assert "eventtime >= CAST('2026-11-20 00:00:00.000' AS TIMESTAMP)" in sql
    assert "ELEMENT_AT(requestparameters, 'bucketName')" in sql
    assert '"timestamp"' not in sql  # an event data store has no partitions
    with pytest.raises(SqlError, match="needs --table"):
        to_sql(parse(""), "lake", now_ms=NOW)
    with pytest.raises(SqlError, match="map of strings"):
        to_sql(parse("requestParameters.a.b:x"), "lake", table="e", now_ms=NOW)


def test_hostile_values_print_inert():
    sql = to_sql(parse('ua:"\\x1b[2J\\u202e*" requestParameters.k:it\'s'), "athena", now_ms=NOW).sql
    assert not any(ord(c) < 0x20 and c != "\n" for c in sql)
    assert "\u202e" not in sql
    assert "CHR(27)" in sql and "CHR(8238)" in sql and "'it''s'" in sql


def test_partition_only_for_top_level_bounds():
    top = to_sql(parse("since:2026-11-20T10 until:2026-11-21 cred:root"), "athena", now_ms=NOW)
    assert "\"timestamp\" >= '2026/11/20' AND \"timestamp\" <= '2026/11/22'" in top.sql
    for text in ("since:2026-11-20 OR cred:root", "-since:2026-11-20", "cred:root"):
        assert '"timestamp"' not in to_sql(parse(text), "athena", now_ms=NOW).sql
    assert (
        '"timestamp"'
        not in to_sql(parse("since:2026-11-20"), "athena", now_ms=NOW, partition=False).sql
    )


def test_relative_times_count_from_now_and_say_so():
    q = to_sql(parse("since:-1h"), "athena", now_ms=NOW)
    assert q.notes and "counted from now" in q.notes[0]
    assert "2026-11-18T10:06:40.000Z" in q.sql  # NOW - 1h


@pytest.mark.parametrize(
    "value",
    [
        "1.2.3.4",
        "255.255.255.255",
        "256.1.1.1",
        "01.2.3.4",
        "1.2.3",
        "1.2.3.4.5",
        "",
        "::1",
        "::",
        "2001:db8::1",
        "2001:DB8:0:0:0:0:0:2",
        "::ffff:192.0.2.1",
        "fe80::1%eth0",
        "1:2:3:4:5:6:7:8",
        "1:2:3:4:5:6:7:8:9",
        "1::2::3",
        "12345::1",
        "::ffff:1.2.3.256",
        "1:2:3:4:5:6:1.2.3.4",
        "ec2.amazonaws.com",
        "AWS Internal",
        "g::1",
        "1.2.3.4 ",
    ],
)
def test_ip_patterns_agree_with_ipaddress(value):
    try:
        a = ipaddress.ip_address(value)
        want4, want6 = a.version == 4, a.version == 6
    except ValueError:
        want4 = want6 = False
    assert bool(re.search(IPV4_RE, value)) == want4
    assert bool(re.search(IPV6_RE, value)) == want6
