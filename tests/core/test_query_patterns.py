"""`/regex/` values and IP networks in the filter language: parsing, errors, and the
same selection from the store, its time order, path columns and dense path columns."""

from __future__ import annotations

import numpy as np
import pytest

from tests.trailgen import event, trail_path, write_records
from tui.core.loader import load
from tui.core.query import QueryError, parse, quote_value, term_for
from tui.core.view import compute_view


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("trail")
    recs = [
        event(
            "A",
            ip="10.1.2.3",
            userAgent="aws-cli/1.16.0 Python/2.7",
            requestParameters={"path": "/admin/", "tags": ["x-prod", "y"]},
        ),
        event(
            "B",
            ip="192.168.0.9",
            userAgent="Boto3/1.34 Python/3.11",
            requestParameters={"path": "/administrators/", "tags": ["dev"]},
        ),
        event("C", ip="2001:db8::7", userAgent="AWS-CLI/2.15", requestParameters={"path": "/"}),
        event("D", ip="AWS Internal", userAgent="console.amazonaws.com"),
        event("E", ip="10.200.0.1", userAgent="aws-cli/1.18.0"),
    ]
    write_records(trail_path(root), recs)
    return load([root])


def names(store, text: str) -> list[str]:
    rows = np.flatnonzero(parse(text).evaluate(store))
    got = sorted(store.value(int(r), "event") for r in rows)
    view = compute_view(store, parse(text))  # the explorer's time-ordered evaluation
    assert sorted(store.value(int(r), "event") for r in view.rows) == got
    return got


@pytest.mark.parametrize(
    "text, want",
    [
        ("ip:10.0.0.0/8", ["A", "E"]),
        ("ip:10.1.0.0/16", ["A"]),
        ("ip:2001:db8::/32", ["C"]),
        ("-ip:10.0.0.0/8 is:ip", ["B", "C"]),
        ('ip:"10.0.0.0/8"', []),  # quoted: the literal text
        ("ua:/^aws-cli\\/1\\.(16|18)/", ["A", "E"]),
        ("ua:/python\\/[23]/", ["A", "B"]),  # ignoring case, anywhere in the value
        ("requestParameters.path:/^\\/admin/", ["A", "B"]),
        ('requestParameters.path:"/admin/"', ["A"]),
        ("requestParameters.path:/^\\/$/", ["C"]),
        ("requestParameters.tags:/^x-/", ["A"]),  # any element of an array
        ("-requestParameters.tags:/prod|dev/", ["C", "D", "E"]),
        ("event:/^[a-c]$/ ua:*cli*", ["A", "C"]),
    ],
)
def test_patterns_select(store, text, want):
    assert names(store, text) == want


@pytest.mark.parametrize(
    "text, col, message",
    [
        ("ua:/(/", 5, "bad regex"),
        ("has:/x/", 5, "applies to fields and paths"),
        ("ua://", 4, "empty /regex/"),
    ],
)
def test_pattern_errors(text, col, message):
    with pytest.raises(QueryError) as e:
        parse(text)
    assert message in e.value.message and e.value.position == col - 1


def test_slashes_that_are_not_a_regex_stay_literal():
    assert parse("x.y:/a/b").root.matcher.kind == ""  # text follows the closing slash
    assert parse("x.y:/a").root.matcher.text == "/a"  # no closing slash
    assert parse('"https://example.com/"').root.phrase == "https://example.com/"


def test_picked_values_that_look_like_a_regex_are_quoted(store):
    assert quote_value("/admin/") == '"/admin/"'
    assert names(store, term_for("requestParameters.path", "/admin/")) == ["A"]
