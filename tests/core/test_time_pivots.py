"""Time relative to the selection (`last:`) and windows around an event (timewindow.py),
over real gzip trails: each result is checked against the times computed directly."""

from __future__ import annotations

import numpy as np
import pytest

from tests.trailgen import REALDATA, event, trail_path, write_records
from tui.core.batch import parse_file
from tui.core.loader import load
from tui.core.normalize import NO_TIME, parse_time_ms
from tui.core.query import QueryError, parse
from tui.core.store import Store
from tui.core.timewindow import (
    DEFAULT_HALF_MS,
    WINDOW_STEPS_MS,
    Window,
    actor_window_filter,
    step_window,
    strip_time_terms,
    window_filter,
    window_of,
)
from tui.core.view import compute_view

MIN = 60_000


def ident(name: str) -> dict:
    return {
        "type": "IAMUser",
        "arn": f"arn:aws:iam::111122223333:user/{name}",
        "accountId": "111122223333",
        "accessKeyId": f"AKIA{name.upper():0<16}",
        "userName": name,
    }


@pytest.fixture
def trail(tmp_path):
    """alice works 08:00-09:30 (errors at 08:10, 09:00, 09:20); bob until 12:00."""
    recs = []
    for m in range(0, 91, 10):
        err = "AccessDenied" if m in (10, 60, 80) else None
        recs.append(
            event(
                f"A{m}",
                f"2026-11-20T{8 + m // 60:02d}:{m % 60:02d}:00Z",
                identity=ident("alice"),
                error=err,
                ip="203.0.113.1",
            )
        )
    for h in range(8, 13):
        recs.append(
            event(f"B{h}", f"2026-11-20T{h:02d}:00:00Z", identity=ident("bob"), ip="198.51.100.2")
        )
    write_records(trail_path(tmp_path), recs)
    return tmp_path


def names(store: Store, text: str) -> list[str]:
    by_row = parse(text).evaluate(store)
    in_order = parse(text).evaluate(store.time_ordered())
    assert np.array_equal(in_order, by_row[store.order]), text
    assert len(compute_view(store, parse(text)).rows) == by_row.sum()
    return [store.value(int(r), "event") for r in store.ordered(by_row)]


def direct(store: Store, keep) -> list[str]:
    return [store.value(int(r), "event") for r in store.ordered() if keep(int(r))]


ALICE = "principal:arn:aws:iam::111122223333:user/alice"


# ------------------------------------------------------------------ last:
def test_last_is_anchored_to_the_rest_of_its_group(trail):
    store = load([trail])
    # since:-1h counts back from the newest event of the whole trail (bob's, 12:00).
    assert names(store, f"{ALICE} since:-1h") == []
    # last:1h counts back from alice's newest event (09:30): 08:30 to 09:30.
    got = names(store, f"{ALICE} last:1h")
    newest = max(
        store.time_ms(r) for r in range(len(store)) if "alice" in store.value(r, "principal")
    )
    assert got == direct(
        store,
        lambda r: (
            "alice" in store.value(r, "principal")
            and newest - 3_600_000 <= store.time_ms(r) <= newest
        ),
    )
    assert got == ["A30", "A40", "A50", "A60", "A70", "A80", "A90"]
    # Anchored to what the whole group matches: alice's errors' newest is 09:20.
    assert names(store, f"{ALICE} has:error last:30m") == ["A60", "A80"]
    assert names(store, f"last:30m {ALICE} has:error") == ["A60", "A80"]  # order is free
    assert names(store, f"{ALICE} last:1h last:15m") == ["A80", "A90"]  # the smaller wins


def test_last_alone_and_under_or_not(trail):
    store = load([trail])
    # Alone, it is the last stretch of the whole trail, like since:-1h.
    assert names(store, "last:1h") == names(store, "since:-1h") == ["B11", "B12"]
    # In an OR branch on its own: also the whole trail's last stretch.
    assert names(store, f"({ALICE} has:error) OR last:1h") == ["A10", "A60", "A80", "B11", "B12"]
    # Inside a group of the OR: that group's anchor.
    assert names(store, f"({ALICE} last:10m) OR event:B8") == ["B8", "A80", "A90"]
    # Negated: the group's events before its last stretch.
    assert names(store, f"{ALICE} -last:1h") == ["A0", "A10", "A20"]
    assert names(store, f"{ALICE} NOT last:1h") == ["A0", "A10", "A20"]
    # Nothing matches the rest: nothing to anchor to.
    assert names(store, "principal:nobody last:1d") == []


def test_last_follows_new_events_while_tailing(tmp_path):
    store = Store()
    f1 = write_records(
        trail_path(tmp_path, when="20261120T0905Z"),
        [
            event("Old", "2026-11-20T08:00:00Z", identity=ident("alice")),
            event("Mid", "2026-11-20T08:50:00Z", identity=ident("alice")),
            event("New", "2026-11-20T09:00:00Z", identity=ident("alice")),
        ],
    )
    store.add(parse_file(str(f1)))
    store.commit()
    q = parse(f"{ALICE} last:30m")
    assert q.is_relative
    first = compute_view(store, q)
    assert [store.value(int(r), "event") for r in first.rows] == ["Mid", "New"]
    f2 = write_records(
        trail_path(tmp_path, when="20261120T0935Z"),
        [
            event("Newer", "2026-11-20T09:30:00Z", identity=ident("alice")),
            event("Bob", "2026-11-20T10:30:00Z", identity=ident("bob")),
        ],
    )
    store.add(parse_file(str(f2)))
    store.commit()
    view = compute_view(store, q, ("event",), previous=first)
    assert [store.value(int(r), "event") for r in view.rows] == ["New", "Newer"]
    assert view.facet(store, "event", None)[0] == [("New", 1), ("Newer", 1)]


def test_last_rejects_what_is_not_a_duration():
    for bad in ("last:1", "last:-1h", "last:0m", "last:yesterday", "last:1h30"):
        with pytest.raises(QueryError, match="bad duration"):
            parse(bad)
    assert parse("last:1h30m").root.ms == 5_400_000


# ------------------------------------------------------------------ windows
def test_window_around_an_event_replaces_time_terms(trail):
    store = load([trail])
    (row,) = np.flatnonzero(parse("event:A60").evaluate(store))
    center = store.time_ms(int(row))
    text = window_filter(f"since:-2h {ALICE} until:2026-11-21 last:5m has:error", center)
    assert text == (f"{ALICE} has:error since:2026-11-20T08:50:00Z until:2026-11-20T09:10:00Z")
    assert names(store, text) == ["A60"]
    plain = window_filter("", center)
    near = direct(store, lambda r: abs(store.time_ms(r) - center) <= 10 * MIN)
    assert names(store, plain) == near
    assert sorted(names(store, plain)) == ["A50", "A60", "A70", "B9"]
    # Negated time terms are logic, not the window: they stay.
    kept = window_filter("-since:2026-11-20T09:00 x", center)
    assert kept.startswith("-since:2026-11-20T09:00 x ")
    # An OR keeps its own time terms and gets the window as a whole.
    assert window_filter("a OR since:-1h", center) == (
        "(a OR since:-1h) since:2026-11-20T08:50:00Z until:2026-11-20T09:10:00Z"
    )
    with pytest.raises(QueryError):
        window_filter("(unclosed", center)


def test_window_widens_and_narrows(trail):
    store = load([trail])
    center = parse_time_ms("2026-11-20T09:00:00Z")
    text = window_filter("", center)
    assert window_of(text) == Window(center, DEFAULT_HALF_MS)
    wider = step_window(text, wider=True)
    assert window_of(wider) == Window(center, 30 * MIN)
    near = direct(store, lambda r: abs(store.time_ms(r) - center) <= 30 * MIN)
    assert names(store, wider) == near
    narrower = step_window(text, wider=False)
    assert window_of(narrower) == Window(center, 5 * MIN)
    assert sorted(names(store, narrower)) == ["A60", "B9"]  # same second
    # At the ends of the ladder a step keeps the width.
    widest = window_filter("", center, WINDOW_STEPS_MS[-1])
    assert window_of(step_window(widest, wider=True)).half_ms == WINDOW_STEPS_MS[-1]
    # Without a window in the filter a step needs a center, and sets the default.
    assert step_window("x", wider=True) is None
    assert window_of(step_window("x", wider=True, center_ms=center)) == Window(center)
    assert strip_time_terms("since:2026-11-20 10:05 until:2026-11-21 x last:1h") == "x"
    with pytest.raises(ValueError, match="usable time"):
        window_filter("x", NO_TIME)


def test_same_actor_in_the_window(trail):
    store = load([trail])
    (row,) = np.flatnonzero(parse("event:A60").evaluate(store))
    center = store.time_ms(int(row))
    for field in ("principal", "ip", "key"):
        text = actor_window_filter(field, store.value(int(row), field), center, 20 * MIN)
        assert names(store, text) == ["A40", "A50", "A60", "A70", "A80"], field
    # On top of an existing filter (its time terms replaced, its other terms kept).
    text = actor_window_filter("ip", "203.0.113.1", center, base="has:error since:-1h")
    assert names(store, text) == ["A60"]
    # Values the filter syntax would misread are quoted.
    odd = actor_window_filter("principal", 'a "b" (c)', center)
    assert parse(odd).root.children[0].matcher.text == 'a "b" (c)'


@pytest.mark.realdata
def test_window_and_last_on_a_real_trail():
    store = load([REALDATA / "stratus-red-team"])
    (stop,) = np.flatnonzero(parse("event:GetPasswordData").evaluate(store))[:1]
    center = store.time_ms(int(stop))
    got = parse(window_filter("", center)).evaluate(store)
    want = np.array([abs(store.time_ms(r) - center) <= 10 * MIN for r in range(len(store))])
    assert np.array_equal(got, want)
    p = store.value(int(stop), "principal")
    text = actor_window_filter("principal", p, center)
    rows = np.flatnonzero(parse(text).evaluate(store))
    assert len(rows) and all(store.value(int(r), "principal") == p for r in rows)
    # last: over one principal: its own last hour, not the trail's.
    mine = parse(f'principal:"{p}"').evaluate(store)
    newest = int(store.times[mine].max())
    got = parse(f'principal:"{p}" last:1h').evaluate(store)
    assert np.array_equal(got, mine & (store.times >= newest - 3_600_000) & (store.times <= newest))
    assert got.any() and not (parse(f'principal:"{p}" since:-1h').evaluate(store) & mine).all()
