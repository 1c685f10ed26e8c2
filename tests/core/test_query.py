"""Tests for the filter language (tui/core/query.py).

`ListTarget` is a small, honest QueryTarget over plain dict rows so the parser and
evaluator are tested without the real store.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

import numpy as np
import pytest

from tui.core.fields import FIELD_NAMES
from tui.core.normalize import NO_TIME, parse_time_ms
from tui.core.query import (
    And,
    Has,
    Is,
    Not,
    Or,
    Query,
    QueryError,
    Term,
    Text,
    Time,
    ValueMatcher,
    add_term,
    parse,
    quote_value,
    time_range_term,
)

_IP_RE = re.compile(r"\d{1,3}(\.\d{1,3}){3}|[0-9a-fA-F:]*:[0-9a-fA-F:]+")


class ListTarget:
    """QueryTarget over dict rows: field name -> str, plus `_time` (ms) and `_raw`."""

    def __init__(self, rows: list[dict]) -> None:
        self.rows = rows
        self.calls: list[tuple] = []
        self._all = np.ones(len(rows), dtype=bool)

    def _mask(self, pred) -> np.ndarray:
        return np.array([bool(pred(r)) for r in self.rows], dtype=bool)

    def row_count(self) -> int:
        return len(self.rows)

    def mask_all(self) -> np.ndarray:
        self.calls.append(("all",))
        return self._all  # shared on purpose: the evaluator must not modify it

    def mask_field(self, field: str, matcher: ValueMatcher) -> np.ndarray:
        assert field in FIELD_NAMES, field
        self.calls.append(("field", field, matcher.text))
        # Like the store: test each distinct value once, then map back to rows.
        values = [r.get(field, "") for r in self.rows]
        hit = {v for v in set(values) if matcher.matches(v)}
        return np.array([v in hit for v in values], dtype=bool)

    def mask_text(self, phrase: str) -> np.ndarray:
        self.calls.append(("text", phrase))
        p = phrase.casefold()
        return self._mask(lambda r: p in self.raw(r).casefold())

    def raw(self, r: dict) -> str:
        return r.get("_raw") or json.dumps({k: v for k, v in r.items() if k[0] != "_"})

    def mask_time(self, lo: int | None, hi: int | None) -> np.ndarray:
        self.calls.append(("time", lo, hi))

        def ok(r: dict) -> bool:
            t = r.get("_time", NO_TIME)
            return t != NO_TIME and (lo is None or t >= lo) and (hi is None or t < hi)

        return self._mask(ok)

    def mask_has(self, name: str) -> np.ndarray:
        self.calls.append(("has", name))
        return self._mask(lambda r: r.get(name, "") != "")

    def has_names(self) -> Sequence[str]:
        return ("error", "key", "role", "ua")

    def mask_is(self, name: str) -> np.ndarray:
        self.calls.append(("is", name))
        if name == "ip":
            return self._mask(lambda r: _IP_RE.fullmatch(r.get("ip", "")) is not None)
        if name == "readonly":
            return self._mask(lambda r: r.get("readonly") == "true")
        raise AssertionError(name)

    def is_names(self) -> Sequence[str]:
        return ("ip", "readonly")

    def newest_time_ms(self) -> int | None:
        ts = [r["_time"] for r in self.rows if r.get("_time", NO_TIME) != NO_TIME]
        return max(ts) if ts else None


def T(s: str) -> int:
    t = parse_time_ms(s)
    assert t != NO_TIME, s
    return t


ALICE = "arn:aws:iam::111122223333:user/Alice"
BOB = "arn:aws:sts::111122223333:assumed-role/Admin/bob"
ROWS: list[dict] = [
    {  # 0
        "service": "ec2.amazonaws.com",
        "event": "RunInstances",
        "principal": ALICE,
        "ip": "203.0.113.5",
        "region": "us-east-1",
        "error": "",
        "readonly": "false",
        "ua": "aws-cli/2.15.0 Python/3.11.6 Linux",
        "key": "AKIAEXAMPLE",
        "_time": T("2026-11-20T10:00:00Z"),
    },
    {  # 1
        "service": "s3.amazonaws.com",
        "event": "GetObject",
        "principal": BOB,
        "ip": "AWS Internal",
        "region": "eu-west-1",
        "error": "AccessDenied",
        "readonly": "true",
        "ua": "aws-cli/2.15.1 Python/3.12 exec-env/CloudShell",
        "role": "arn:aws:iam::111122223333:role/Admin",
        "_time": T("2026-11-20T10:05:00.250Z"),
    },
    {  # 2
        "service": "iam.amazonaws.com",
        "event": "CreateUser",
        "principal": "arn:aws:iam::111122223333:root",
        "ip": "198.51.100.7",
        "region": "us-east-1",
        "error": "",
        "readonly": "false",
        "ua": "console.amazonaws.com",
        "_time": T("2026-11-20T23:59:59.999Z"),
    },
    {  # 3
        "service": "ec2.amazonaws.com",
        "event": "StartInstances",
        "principal": BOB,
        "ip": "2001:db8::1",
        "region": "us-west-2",
        "error": "Client.UnauthorizedOperation",
        "readonly": "false",
        "ua": "Boto3/1.34 Python/3.11",
        "_time": T("2026-11-21T00:00:00Z"),
    },
    {  # 4: no event time
        "service": "sts.amazonaws.com",
        "event": "AssumeRole",
        "principal": "ec2.amazonaws.com",
        "ip": "ec2.amazonaws.com",
        "region": "us-east-1",
        "error": "",
        "readonly": "true",
        "ua": "ec2.amazonaws.com",
    },
    {  # 5
        "service": "kms.amazonaws.com",
        "event": "Decrypt",
        "principal": ALICE,
        "ip": "203.0.113.5",
        "region": "us-east-1",
        "error": "",
        "readonly": "true",
        "ua": 'Mozilla "quoted" back\\slash star*',
        "_time": T("2026-11-19T23:59:59Z"),
    },
    {  # 6
        "service": "EC2.AMAZONAWS.COM",
        "event": "runinstances",
        "principal": "AIDAEXAMPLE",
        "ip": "10.0.0.1",
        "region": "ap-south-1",
        "error": "AccessDenied",
        "readonly": "",
        "ua": "",
        "_time": T("2026-11-20T10:04:59Z"),
    },
]
ALL = list(range(len(ROWS)))


def ids(q: str, rows: list[dict] | None = None, now_ms: int | None = None) -> list[int]:
    m = parse(q).evaluate(ListTarget(ROWS if rows is None else rows), now_ms=now_ms)
    assert m.dtype == np.bool_ and m.shape == (len(ROWS if rows is None else rows),)
    return [int(i) for i in np.flatnonzero(m)]


def err(q: str) -> QueryError:
    with pytest.raises(QueryError) as ei:
        parse(q)
    return ei.value


# ---------------------------------------------------------------------------- AST shape


def term(field: str, value: str) -> Term:
    return Term(field, ValueMatcher.exact(value))


def test_empty_query_matches_everything():
    for q in ("", "   ", "\t\n"):
        assert parse(q).root is None
        assert ids(q) == ALL


def test_field_term_and_aliases_are_case_insensitive():
    assert parse("service:ec2").root == term("service", "ec2")
    for spelling in ("SERVICE", "Source", "eventSource", "eventsource"):
        assert parse(f"{spelling}:ec2").root == term("service", "ec2")
    assert parse("Name:RunInstances").root == term("event", "RunInstances")
    assert parse("who:x").root == term("principal", "x")


def test_implicit_and_explicit_and_or_pipe():
    a, b, c = term("service", "a"), term("event", "b"), term("region", "c")
    assert parse("service:a event:b").root == And((a, b))
    assert parse("service:a AND event:b").root == And((a, b))
    assert parse("service:a OR event:b").root == Or((a, b))
    assert parse("service:a | event:b").root == Or((a, b))
    # AND binds tighter than OR, implicit or explicit.
    assert parse("service:a event:b OR region:c").root == Or((And((a, b)), c))
    assert parse("service:a OR event:b region:c").root == Or((a, And((b, c))))
    assert parse("service:a OR event:b AND region:c").root == Or((a, And((b, c))))
    assert parse("(service:a OR event:b) region:c").root == And((Or((a, b)), c))


def test_nested_parens_and_flattening():
    a, b, c, d = (term("service", x) for x in "abcd")
    q = "((service:a OR (service:b)) OR (service:c service:d))"
    assert parse(q).root == Or((a, b, And((c, d))))
    assert parse("(((service:a)))").root == a
    assert parse("service:a (service:b service:c)").root == And((a, b, c))


def test_negation_forms():
    a, b = term("service", "a"), term("event", "b")
    assert parse("-service:a").root == Not(a)
    assert parse("NOT service:a").root == Not(a)
    assert parse("-(service:a OR event:b)").root == Not(Or((a, b)))
    assert parse("NOT (service:a event:b)").root == Not(And((a, b)))
    assert parse("--service:a").root == Not(Not(a))
    assert parse("NOT -service:a").root == Not(Not(a))
    assert parse("service:a NOT event:b").root == And((a, Not(b)))
    assert parse("service:a -event:b").root == And((a, Not(b)))
    # NOT binds to one term only.
    assert parse("NOT service:a event:b").root == And((Not(a), b))
    assert parse('-"free text"').root == Not(Text("free text", ("free text",)))


def test_lowercase_operators_are_words():
    assert parse("a and b").root == And(
        (Text("a", ("a",)), Text("and", ("and",)), Text("b", ("b",)))
    )
    assert parse("or").root == Text("or", ("or",))
    assert parse("not").root == Text("not", ("not",))
    # Quoted or escaped operators and `-AND` are words too.
    assert parse('"AND"').root == Text("AND", ("AND",))
    assert parse("-AND").root == Not(Text("AND", ("AND",)))
    assert parse("a|b").root == Text("a|b", ("a|b",))


def test_value_may_contain_colons_arns():
    assert parse(f"principal:{ALICE}").root == term("principal", ALICE)
    assert ids(f"principal:{ALICE}") == [0, 5]
    assert ids(f"principal:{ALICE.upper()}") == [0, 5]
    assert ids("ip:2001:db8::1") == [3]
    assert ids("principal:arn:aws:sts::*:assumed-role/Admin/*") == [1, 3]


def test_bare_arn_and_non_identifier_prefixes_are_free_text():
    assert parse(ALICE).root == Text(ALICE, (ALICE,))
    assert ids("arn:aws:iam::111122223333:root") == [2]
    assert parse("10:05").root == Text("10:05", ("10:05",))
    assert parse("::1").root == Text("::1", ("::1",))
    assert parse('"foo:bar"').root == Text("foo:bar", ("foo:bar",))
    assert parse('"foo":bar').root == Text("foo:bar", ("foo:bar",))
    assert parse("foo\\*:bar").root == Text("foo*:bar", ("foo*:bar",))


def test_quoted_values_and_escapes():
    assert parse('ua:"a b"').root == term("ua", "a b")
    assert parse('ua:"say \\"hi\\""').root == term("ua", 'say "hi"')
    assert parse('ua:"back\\\\slash"').root == term("ua", "back\\slash")
    assert parse("ua:back\\\\slash").root == term("ua", "back\\slash")
    assert parse('ua:\\"x').root == term("ua", '"x')
    assert parse("ua:star\\*").root == term("ua", "star*")
    # Other backslashes are literal (Windows paths survive).
    assert parse("ua:C:\\Users\\x").root == term("ua", "C:\\Users\\x")
    assert parse("ua:trail\\").root == term("ua", "trail\\")
    # Quoted segments glue onto bare ones, shell-style.
    assert parse('ua:aws-cli"/2.15 "Python').root == term("ua", "aws-cli/2.15 Python")
    assert parse('ua:"(x)" service:y').root == And((term("ua", "(x)"), term("service", "y")))
    assert parse('ua:"-lead"').root == term("ua", "-lead")
    assert parse("ua:-lead").root == term("ua", "-lead")
    assert ids('ua:"Mozilla \\"quoted\\" back\\\\slash star\\*"') == [5]


def test_empty_quoted_value_means_empty_or_missing():
    assert parse('error:""').root == term("error", "")
    assert ids('error:""') == [0, 2, 4, 5]
    assert ids('-error:""') == [1, 3, 6]
    assert ids('role:""') == [0, 2, 3, 4, 5, 6]  # missing counts as empty
    assert ids('readonly:""') == [6]


def test_wildcards():
    assert parse("service:ec2*").root == Term("service", ValueMatcher("ec2*", ("ec2", "")))
    assert ids("service:ec2*") == [0, 3, 6]
    assert ids("service:*.amazonaws.com") == ALL
    assert ids("service:*3*") == [1]
    assert ids("event:*Instances") == [0, 3, 6]
    assert ids("event:R*s") == [0, 6]
    assert ids("event:R*n*s") == [0, 6]
    assert ids("ua:aws-cli/2.15*") == [0, 1]
    assert ids('ua:"aws-cli/2.15* Python/3.12*"') == [1]
    assert ids('ua:"*star\\*"') == [5]
    assert ids("ua:*star\\*") == [5]
    assert ids("ua:*star") == []  # the value ends with a literal '*'
    # Only stars: "has a value".
    assert ids("error:*") == [1, 3, 6]
    assert ids("error:**") == [1, 3, 6]
    assert ids("-ua:*") == [6]
    # A wildcard inside quotes is still a wildcard.
    assert ids('service:"ec2*"') == [0, 3, 6]


def test_field_value_matching_is_case_insensitive_exact():
    assert ids("service:ec2.amazonaws.com") == [0, 3, 6]
    assert ids("SERVICE:Ec2.AmazonAws.Com") == [0, 3, 6]
    assert ids("service:ec2") == []  # exact, not substring
    assert ids("event:RUNINSTANCES") == [0, 6]


def test_value_matcher_unit():
    m = ValueMatcher.exact("Straße")
    assert m.matches("STRASSE") and m.matches("straße") and not m.matches("strass")
    assert m.folded == "strasse"
    g = ValueMatcher.glob(["a", "b.c", ""])
    assert g.wildcard and g.text == "a*b.c*"
    assert g.matches("AxxB.C") and g.matches("ab.cdef") and not g.matches("abxc")
    assert g.matches("a\nb.c")  # DOTALL
    assert ValueMatcher.glob(["", ""]).matches("x") and not ValueMatcher.glob(["", ""]).matches("")
    assert ValueMatcher.glob(["x*y", ""]).text == "x\\*y*"
    assert ValueMatcher.glob(["only"]) == ValueMatcher.exact("only")
    # Regex metacharacters are literal.
    assert ValueMatcher.glob(["a.", "(b)"]).matches("a.zz(B)")
    assert not ValueMatcher.glob(["a.", "(b)"]).matches("ax(b)")


def test_free_text():
    assert parse("accessdenied").root == Text("accessdenied", ("accessdenied",))
    assert ids("accessdenied") == [1, 6]
    assert ids('"aws-cli/2.15.1 Python"') == [1]
    assert ids("Python/3.11") == [0, 3]
    assert ids('"AWS Internal"') == [1]
    assert ids("AWS Internal") == [1]  # two words, both present
    assert ids("nothing-here-xyz") == []
    # In free text '*' splits pieces that must all occur.
    assert parse("run*ances").root == Text("run*ances", ("run", "ances"))
    assert ids("RunI*ances") == [0, 6]
    assert ids("*") == ALL
    assert ids('""') == ALL
    # A bare word ends at parentheses.
    assert parse("foo(bar)").root == And((Text("foo", ("foo",)), Text("bar", ("bar",))))


def test_has_and_is():
    assert parse("has:error").root == Has("error")
    assert parse("HAS:Error").root == Has("Error")
    assert parse("is:ip").root == Is("ip")
    assert ids("has:error") == [1, 3, 6]
    assert ids("has:ERROR") == [1, 3, 6]
    assert ids("has:errorcode") == [1, 3, 6]  # field alias of a has: name
    assert ids("-has:role") == [0, 2, 3, 4, 5, 6]
    assert ids("is:ip") == [0, 2, 3, 5, 6]
    assert ids("is:ip -ip:10.*") == [0, 2, 3, 5]


def test_has_is_unknown_name_errors_at_evaluation():
    q = parse("service:nomatch-at-all has:bogus")  # parses fine
    with pytest.raises(QueryError) as ei:
        q.evaluate(ListTarget(ROWS))
    e = ei.value
    assert e.position == 23
    assert "unknown has:bogus" in e.message and "error, key, role, ua" in e.message
    with pytest.raises(QueryError, match=r"unknown is:dup \(known: ip, readonly\)"):
        parse("(x OR is:dup)").evaluate(ListTarget(ROWS))


def test_readonly_field():
    assert ids("readonly:true") == [1, 4, 5]
    assert ids("ro:FALSE") == [0, 2, 3]
    assert ids("-readonly:true") == [0, 2, 3, 6]


def test_evaluation_boolean_combinations():
    assert ids("service:ec2* error:accessdenied") == [6]
    assert ids("service:ec2* AND error:accessdenied") == [6]
    assert ids("service:kms* OR error:accessdenied") == [1, 5, 6]
    assert ids("service:kms* | error:accessdenied") == [1, 5, 6]
    assert ids("service:ec2* -error:accessdenied") == [0, 3]
    assert ids("-(service:ec2* OR service:s3*)") == [2, 4, 5]
    assert ids("NOT (service:ec2* error:*)") == [0, 1, 2, 4, 5]
    assert ids("region:us-east-1 (event:Decrypt OR event:CreateUser) -has:error") == [2, 5]
    assert ids("region:us-east-1 event:Decrypt OR event:CreateUser") == [2, 5]
    assert ids("event:CreateUser OR region:us-east-1 event:Decrypt") == [2, 5]
    assert ids("(service:ec2* OR service:s3*) (error:accessdenied OR readonly:false)") == [
        0,
        1,
        3,
        6,
    ]
    assert ids("--service:s3*") == [1]


def test_evaluate_returns_a_fresh_array():
    target = ListTarget(ROWS)
    for q in ("", "*", "ua:*", "has:error", "service:ec2* service:ec2*"):
        m = parse(q).evaluate(target)
        m[:] = False
        assert target._all.all()
        assert parse("has:error").evaluate(target).sum() == 3


def test_cheap_terms_first_and_short_circuit():
    target = ListTarget(ROWS)
    parse('"aws-cli" has:error service:ec2* since:2026-11-20').evaluate(target)
    kinds = [c[0] for c in target.calls]
    assert kinds == ["time", "has", "field", "text"]
    target.calls.clear()
    parse("service:nothing accessdenied").evaluate(target)
    assert [c[0] for c in target.calls] == ["field"]  # text scan skipped: already empty
    target.calls.clear()
    parse("since:2026-11-20 until:2026-11-20T12 x").evaluate(target)
    assert target.calls[0] == ("time", T("2026-11-20T00:00:00Z"), T("2026-11-20T13:00:00Z"))
    target.calls.clear()
    parse("service:ec2* OR *").evaluate(target)
    assert target.calls == [("field", "service", "ec2*"), ("all",)]


def test_fields():
    q = parse('SOURCE:ec2 -(who:x OR "text" OR has:error) ua:* since:-1h is:ip')
    assert q.fields() == {"service", "principal", "ua"}
    assert parse("").fields() == set()


# ---------------------------------------------------------------------------- time


TIME_ROWS = [
    {"_time": T(s)}
    for s in (
        "2026-11-19T23:59:59.999Z",  # 0
        "2026-11-20T00:00:00Z",  # 1
        "2026-11-20T10:00:00Z",  # 2
        "2026-11-20T10:04:59.999Z",  # 3
        "2026-11-20T10:05:00Z",  # 4
        "2026-11-20T10:05:00.250Z",  # 5
        "2026-11-20T10:05:00.999Z",  # 6
        "2026-11-20T10:05:59.999Z",  # 7
        "2026-11-20T10:06:00Z",  # 8
        "2026-11-20T10:59:59.999Z",  # 9
        "2026-11-20T11:00:00Z",  # 10
        "2026-11-20T23:59:59.999Z",  # 11
        "2026-11-21T00:00:00Z",  # 12
    )
] + [{}]  # 13: no time


def tids(q: str, now_ms: int | None = None, rows: list[dict] = TIME_ROWS) -> list[int]:
    return ids(q, rows, now_ms)


@pytest.mark.parametrize(
    ("spec", "since", "until"),
    [
        ("2026-11-20", list(range(1, 13)), list(range(0, 12))),
        ("2026-11-20T10", list(range(2, 13)), list(range(0, 10))),
        ("2026-11-20 10", list(range(2, 13)), list(range(0, 10))),
        ("2026-11-20T10:05", list(range(4, 13)), list(range(0, 8))),
        ("2026-11-20T10:05Z", list(range(4, 13)), list(range(0, 8))),
        ("2026-11-20T10:05:00", list(range(4, 13)), list(range(0, 7))),
        ("2026-11-20t10:05:00z", list(range(4, 13)), list(range(0, 7))),
        ("2026-11-20T10:05:00Z", list(range(4, 13)), list(range(0, 7))),
        ("2026-11-20T10:05:00.250Z", list(range(5, 13)), list(range(0, 6))),
        ("2026-11-20T10:05:00,250Z", list(range(5, 13)), list(range(0, 6))),
        ("2026-11-20T10:05:00.25Z", list(range(5, 13)), list(range(0, 6))),
        ("2026-11-20T10:05:00.2Z", list(range(5, 13)), list(range(0, 6))),  # < .300
        ("2026-11-20T10:05:00.2500Z", list(range(5, 13)), list(range(0, 6))),
        ("2026-11-20T10:05:00.000Z", list(range(4, 13)), list(range(0, 5))),
        ("2026-11-20T10:04:59.9995Z", list(range(4, 13)), list(range(0, 4))),
        ("2026-11-20T12:05:00+02:00", list(range(4, 13)), list(range(0, 7))),
        ("2026-11-20T12:05:00+0200", list(range(4, 13)), list(range(0, 7))),
        ("2026-11-20T12:05+02", list(range(4, 13)), list(range(0, 8))),
        ("2026-11-20T05:05:00-05:00", list(range(4, 13)), list(range(0, 7))),
        ("2026-11-20T15:35:00.250+05:30", list(range(5, 13)), list(range(0, 6))),
    ],
)
def test_absolute_times_inclusive_at_precision(spec: str, since: list[int], until: list[int]):
    quoted = f'"{spec}"'
    assert tids(f"since:{quoted}") == since
    assert tids(f"until:{quoted}") == until
    if " " not in spec:
        assert tids(f"since:{spec}") == since
        assert tids(f"until:{spec}") == until


def test_space_separated_time_unquoted():
    assert parse("since:2026-11-20 10:05").root == Time(
        "since", "abs", T("2026-11-20T10:05:00Z"), "2026-11-20 10:05"
    )
    assert tids("until:2026-11-20 10:05:00") == list(range(0, 7))
    assert tids("until:2026-11-20 10:05:00.250Z") == list(range(0, 6))
    assert tids("since:2026-11-20 12:05:00+02:00") == list(range(4, 13))
    # lookup-events style, the clock glued back on then ANDed with the rest
    assert tids("since:2026-11-20 10:05 until:2026-11-20 10:05") == [4, 5, 6, 7]
    # A word that is not a clock stays a separate term.
    q = parse("since:2026-11-20 foo")
    assert isinstance(q.root, And) and q.root.children[1] == Text("foo", ("foo",))
    # Two spaces: no gluing.
    assert isinstance(parse("since:2026-11-20  10:05").root, And)


def test_since_and_until_combined_and_reversed():
    assert tids("since:2026-11-20T10:05 until:2026-11-20T10:05") == [4, 5, 6, 7]
    assert tids("since:2026-11-20 until:2026-11-20") == list(range(1, 12))
    assert tids("until:2026-11-20T10 since:2026-11-20T11") == []  # reversed: empty, no error
    assert tids("-since:2026-11-20T10:05") == [0, 1, 2, 3, 13]  # NOT includes untimed rows
    assert tids("since:2026-11-21 OR until:2026-11-19") == [0, 12]


def test_relative_times_from_newest_event():
    newest = T("2026-11-21T00:00:00Z")
    rows = TIME_ROWS
    assert tids("since:-1m") == [11, 12]
    assert tids("since:-13h") == [10, 11, 12]
    assert tids("since:-13h55m") == list(range(4, 13))
    assert tids("since:-13h55m0s") == list(range(4, 13))
    assert tids("since:-55m13h") == list(range(4, 13))
    assert tids("since:-14h") == list(range(2, 13))
    assert tids("since:-1d") == list(range(1, 13))
    assert tids("since:-1w") == list(range(0, 13))
    assert tids("since:-30s") == [11, 12]
    assert tids("since:-1s") == [11, 12]
    assert tids("since:-0s") == [12]
    # until: is inclusive of the exact instant
    assert tids("until:-0s") == list(range(0, 13))
    assert tids("until:-13h") == list(range(0, 11))
    extra = rows + [{"_time": newest - 13 * 3_600_000 + 1}]
    assert ids("until:-13h", extra) == list(range(0, 11))
    # now_ms does not matter for newest-relative bounds
    assert tids("since:-1m", now_ms=0) == [11, 12]


def test_relative_times_with_no_timed_events_match_nothing():
    rows = [{"service": "a"}, {"service": "b"}]
    assert ids("since:-1h", rows) == []
    assert ids("until:-1h", rows) == []
    assert ids("-since:-1h", rows) == [0, 1]
    assert ids("service:a since:-1h", rows) == []
    assert ids("service:a OR since:-1h", rows) == [0]
    assert ids("since:2020-01-01", rows) == []
    assert ids("since:now-1h", rows, now_ms=0) == []


def test_now_relative_times():
    now = T("2026-11-20T10:05:00.250Z")
    assert tids("since:now-5m", now_ms=now) == list(range(3, 13))  # from 10:00:00.250
    assert tids("until:now", now_ms=now) == [0, 1, 2, 3, 4, 5]
    assert tids("until:NOW", now_ms=now) == [0, 1, 2, 3, 4, 5]
    assert tids("since:now-1h until:now-5m", now_ms=now) == [2]
    assert tids("since:now-1h30m until:now", now_ms=now) == [2, 3, 4, 5]
    q = parse("since:now-15m")
    assert q.root == Time("since", "now", -15 * 60_000, "now-15m")
    assert q.is_relative and parse("since:-1h").is_relative
    assert not parse("since:2026-01-01 x").is_relative and not parse("").is_relative
    # Default now is the wall clock, far after these rows.
    assert tids("since:now-1h") == []
    assert tids("until:now") == list(range(0, 13))


@pytest.mark.parametrize(
    "spec",
    [
        "2026-13-01",
        "2026-02-30",
        "2026-11-20T24",
        "2026-11-20T10:60",
        "2026-11-20T10:05:61",
        "2026-11-20T10:05:00+25:00",
        "2026/11/20",
        "20261120",
        "2026-11-2",
        "yesterday",
        "15m",
        "-15",
        "-15x",
        "-15M",
        "now+5m",
        "now-",
        "2026-11-20T10:05:00.1234567890Z",
        "2026-11-20Z",
        "-1h-30m",
        "*",
        "now-250ms",
    ],
)
def test_bad_times(spec: str):
    e = err(f"service:x since:{spec}")
    assert e.position == 16
    assert f"bad time {spec!r} for since:" in e.message
    assert "2026-11-20T10:05" in e.message and "-15m" in e.message and "now-15m" in e.message
    assert str(e).startswith("column 17: bad time")
    e = err(f'until:"{spec}"')
    assert e.position == 6 and "for until:" in e.message


# ---------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("q", "message", "position"),
    [
        ("event:Foo   service:", "expected a value after 'service:'", 20),
        ("Source:", "expected a value after 'Source:'", 7),
        ("has: x", "expected a value after 'has:'", 4),
        ("service:(a OR b)", "(to match several values write (service:a OR service:b))", 8),
        ("foo:bar", "unknown field 'foo' (known: service, event,", 0),
        ("a -servce:ec2", "unknown field 'servce'", 3),
        ("http://x", 'quote it, e.g. "http://x"', 0),
        ("(a OR b", "expected ')' to close '(' at column 1", 7),
        ("x (a (b)", "expected ')' to close '(' at column 3", 8),
        ("(a b c", "expected ')' to close '(' at column 1", 6),
        ("(", "expected ')' to close '(' at column 1", 1),
        ("()", "expected a term after '(' (empty parentheses)", 1),
        ("a)", "unexpected ')' without a matching '('", 1),
        (") a", "unexpected ')' without a matching '('", 0),
        ("(a))", "unexpected ')' without a matching '('", 3),
        ("a OR", "expected a term after OR", 4),
        ("a |", "expected a term after OR", 3),
        ("a OR OR b", "expected a term after OR", 5),
        ("a OR AND b", "expected a term after OR", 5),
        ("(a OR) b", "expected a term after OR", 5),
        ("OR a", "expected a term before OR", 0),
        ("(OR a)", "expected a term before OR", 1),
        ("a AND", "expected a term after AND", 5),
        ("AND a", "expected a term before AND", 0),
        ("a AND OR b", "expected a term after AND", 6),
        ("NOT", "expected a term after NOT", 3),
        ("a NOT", "expected a term after NOT", 5),
        ("NOT OR a", "expected a term after NOT", 4),
        ("(NOT)", "expected a term after NOT", 4),
        ("-", "expected a term right after '-'", 0),
        ("a - b", "expected a term right after '-'", 2),
        ("(a -)", "expected a term right after '-'", 3),
        ('"abc', "unterminated quote", 0),
        ('ua:"abc', "unterminated quote", 3),
        ('ua:"abc\\"', "unterminated quote", 3),
        ('x "a" "b', "unterminated quote", 6),
        ("since:tomorrow", "bad time 'tomorrow' for since:", 6),
    ],
)
def test_parse_errors(q: str, message: str, position: int):
    e = err(q)
    assert message in e.message, e.message
    assert e.position == position, (e.position, e.message)
    assert str(e) == f"column {position + 1}: {e.message}"
    assert isinstance(e, ValueError)


def test_unknown_field_lists_known_fields():
    e = err("nope:1")
    for name in (*FIELD_NAMES, "has", "is", "since", "until"):
        assert name in e.message


def test_error_example_from_spec():
    assert str(err("event:Foo   service:")) == "column 21: expected a value after 'service:'"
    assert str(err("event:X (a OR b")).endswith("expected ')' to close '(' at column 9")


# ---------------------------------------------------------------------------- quote / add_term

NASTY = [
    "",
    " ",
    "a b",
    "  lead and trail  ",
    'say "hi"',
    '"',
    '""',
    "back\\slash",
    "trailing\\",
    "\\",
    "\\\\",
    "\\*",
    '\\"',
    "*",
    "**",
    "a*b",
    "*a",
    "a*",
    "-lead",
    "-",
    "--x",
    "(paren",
    "paren)",
    "()",
    "(a OR b)",
    "ünïcödé",
    "Straße",
    "STRASSE",
    "日本語 テキスト",
    "tab\there",
    "new\nline",
    "nb\u00a0sp",
    "AND",
    "OR",
    "NOT",
    "|",
    "a:b",
    ":",
    "x:",
    ALICE,
    "ec2.amazonaws.com",
    "since:2026",
    "10:05",
    "'single'",
    "-15m",
    "has:error",
    "a|b",
    "é\u0301",
    "\u2028",
    "\x1c",
    "\u3000ideo",
    "emoji 🚀*",
    "a\\*b",
    'q"*"',
    "x\\",
]


def test_quote_value_simple_tokens_stay_bare():
    for v in (
        "ec2.amazonaws.com",
        ALICE,
        "AccessDenied",
        "10.0.0.1",
        "2001:db8::1",
        "a|b",
        "us-east-1",
        "aws-cli/2.15.0",
        "ünïcödé",
        "AND",
    ):
        assert quote_value(v) == v


def test_quote_value_examples():
    assert quote_value("") == '""'
    assert quote_value("a b") == '"a b"'
    assert quote_value("-lead") == '"-lead"'
    assert quote_value("a*b") == "a\\*b"
    assert quote_value('say "hi"') == '"say \\"hi\\""'
    assert quote_value("back\\slash") == "back\\\\slash"
    assert quote_value("(x)") == '"(x)"'


def _value_rows(values: list[str]) -> list[dict]:
    return [{"ua": v, "service": "s" if i % 2 else "t"} for i, v in enumerate(values)]


def test_quote_value_add_term_round_trip():
    pool = NASTY + [v.upper() for v in NASTY] + [v + "x" for v in NASTY] + ["x" + v for v in NASTY]
    rows = _value_rows(pool)
    target = ListTarget(rows)
    for v in NASTY:
        expect = [i for i, r in enumerate(rows) if r["ua"].casefold() == v.casefold()]
        q = add_term("", "ua", v)
        assert q == f"ua:{quote_value(v)}"
        got = [int(i) for i in np.flatnonzero(parse(q).evaluate(target))]
        assert got == expect, (v, q)
        neg = add_term("", "useragent", v, negate=True)
        assert neg == f"-ua:{quote_value(v)}"
        got = [int(i) for i in np.flatnonzero(parse(neg).evaluate(target))]
        assert got == [i for i in range(len(rows)) if i not in expect], (v, neg)
        # Appended to an existing filter with a top-level OR, it ANDs with all of it.
        q2 = add_term("service:s OR service:t", "ua", v)
        got = [int(i) for i in np.flatnonzero(parse(q2).evaluate(target))]
        assert got == expect, (v, q2)
        # Appending the same term again is a no-op.
        assert add_term(q, "ua", v) == q
        assert add_term(neg, "ua", v, negate=True) == neg


def test_add_term_composition():
    assert add_term("", "service", "ec2.amazonaws.com") == "service:ec2.amazonaws.com"
    assert add_term("  ", "Source", "x") == "service:x"
    assert add_term("event:A", "service", "x") == "event:A service:x"
    assert add_term("event:A OR event:B", "service", "x") == "(event:A OR event:B) service:x"
    assert add_term("a | b", "service", "x", negate=True) == "(a | b) -service:x"
    assert add_term("(event:A OR event:B) y", "service", "x") == "(event:A OR event:B) y service:x"
    assert add_term("x OR y", "has", "error") == "(x OR y) has:error"
    assert add_term("service:x", "service", "X") == "service:x"  # same term, any case
    assert add_term("service:x", "service", "x", negate=True) == "service:x -service:x"
    assert add_term("since:2026-11-20", "until", "2026-11-20 10:05") == (
        'since:2026-11-20 until:"2026-11-20 10:05"'
    )
    assert ids(add_term("service:kms* OR error:accessdenied", "region", "us-east-1")) == [5]
    with pytest.raises(ValueError, match="unknown field 'nope'"):
        add_term("", "nope", "x")
    with pytest.raises(QueryError):
        add_term("(broken", "service", "x")


# ---------------------------------------------------------------------------- time_range_term


def test_time_range_term_examples():
    lo, hi = T("2026-11-20T10:00:00Z"), T("2026-11-20T10:05:00Z")
    assert time_range_term(lo, hi) == "since:2026-11-20T10:00:00Z until:2026-11-20T10:04:59Z"
    assert time_range_term(lo + 250, hi + 1) == (
        "since:2026-11-20T10:00:00.250Z until:2026-11-20T10:05:00.000Z"
    )
    assert time_range_term(lo, hi + 500) == (
        "since:2026-11-20T10:00:00Z until:2026-11-20T10:05:00.499Z"
    )


def test_time_range_term_round_trip():
    base = T("2026-11-20T10:00:00Z")
    for lo_off, hi_off in [
        (0, 1000),
        (0, 1),
        (1, 2),
        (999, 1001),
        (0, 300_000),
        (123, 86_400_000),
        (0, 86_400_000 * 3 + 7),
        (-5, 5),
    ]:
        lo, hi = base + lo_off, base + hi_off
        times = [lo - 1000, lo - 1, lo, lo + 1, hi - 1, hi, hi + 1, hi + 1000]
        rows = [{"_time": t} for t in times]
        q = time_range_term(lo, hi)
        assert ids(q, rows) == [i for i, t in enumerate(times) if lo <= t < hi], q


def test_parse_is_cached_and_query_is_frozen():
    assert parse("service:x") is parse("service:x")
    q = parse("service:x")
    assert isinstance(q, Query) and q.text == "service:x"
    with pytest.raises(AttributeError):
        q.text = "y"  # type: ignore[misc]


def test_fuzz_only_query_errors_with_positions_in_range():
    import random

    alphabet = [*'ab:*"\\()-| ', "AND", "OR", "NOT", "service:", "since:", "has:", "is:"]
    alphabet += ["-1h", "2026-11-20", " 10:05", "ua:", "arn:", "foo:", "now-5m"]
    rnd = random.Random(7)
    target = ListTarget(ROWS)
    for _ in range(5000):
        q = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 12)))
        try:
            parsed = parse(q)
        except QueryError as e:
            assert 0 <= e.position <= len(q), (q, e.position)
            continue
        try:
            mask = parsed.evaluate(target, now_ms=0)
        except QueryError as e:
            assert e.message.startswith(("unknown has:", "unknown is:")), (q, e)
            continue
        assert mask.dtype == np.bool_ and mask.shape == (len(ROWS),)


def test_docs_list_every_field_and_alias():
    from pathlib import Path

    from tui.core.fields import FIELDS, PATH_FIELDS

    doc = (Path(__file__).resolve().parents[2] / "docs" / "query.md").read_text("utf-8")
    for f in (*FIELDS, *PATH_FIELDS):
        for name in (f.name, *f.aliases):
            assert f"`{name}`" in doc, f"docs/query.md does not mention field {name!r}"
    for f in FIELDS:  # a closed field's values are listed
        for v in f.values or ():
            assert f"`{v}`" in doc, f"docs/query.md does not list {f.name}'s value {v!r}"


def test_control_characters_round_trip_as_visible_escapes():
    """Values with control/invisible characters become \\x/\\u escapes in filter text, so
    the filter bar never holds raw control bytes, and parse() turns them back."""
    from tui.core.sanitize import is_clean

    for v in ["a\x1bb", "x\u202ey", "\x9b31m", "tab\there", "\U000e0041z", "nul\x00", "C:\\x41"]:
        text = add_term("", "ua", v)
        assert is_clean(text), text
        root = parse(text).root
        assert root.matcher.parts is None and root.matcher.text == v
    assert parse(r'"\u202e"').root.phrase == "\u202e"
    assert parse(r"\xZZ").root.phrase == r"\xZZ"  # not an escape: stays literal


def test_unknown_value_of_a_closed_field_is_an_error_listing_the_valid_ones():
    from tui.core.fields import FIELD_BY_NAME

    kinds = FIELD_BY_NAME["cred"].values
    assert kinds == (
        "root",
        "iam-user",
        "role-session",
        "federated",
        "aws-service",
        "anonymous",
        "other",
    )
    target = ListTarget(ROWS)
    with pytest.raises(QueryError) as ei:
        parse("cred:roots").evaluate(target)
    assert ei.value.position == 0
    assert ei.value.message == f"unknown value 'roots' for cred: (valid: {', '.join(kinds)})"
    # Even where evaluation would stop early, under NOT, and through an alias.
    for q, pos in [("service:nomatch -readonly:maybe", 17), ("(x OR credential:Roots)", 6)]:
        with pytest.raises(QueryError, match=r"unknown value .* \(valid: ") as ei:
            parse(q).evaluate(target)
        assert ei.value.position == pos
    with pytest.raises(QueryError, match=r"\(valid: true, false\)"):
        parse("ro:yes").evaluate(target)
    # The fields added with the field table: mfa is yes/no whatever the log wrote.
    with pytest.raises(QueryError, match=r"unknown value 'true' for mfa: \(valid: yes, no\)"):
        parse("mfa:true").evaluate(target)
    with pytest.raises(QueryError, match=r"\(valid: sign-in, action, session\)"):
        parse("console:signin").evaluate(target)
    assert parse("mfa:NO console:Sign-In").evaluate(target).sum() == 0  # accepted


def test_closed_fields_keep_globs_case_empty_and_values_the_data_holds():
    assert ids("cred:ROOT") == [] and ids("cred:r*") == [] and ids("cred:*") == []
    assert ids("readonly:TRUE") == [1, 4, 5] and ids('readonly:""') == [6]
    # A malformed readOnly string that a record really holds is found, not rejected.
    rows = [*ROWS, {"readonly": "maybe"}]
    assert ids("readonly:maybe", rows) == [7]
    # Open fields: AWS adds event types and categories, so any value is a search.
    assert ids("eventtype:AwsSomethingNew") == [] and ids("category:Whatever") == []
