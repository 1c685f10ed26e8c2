"""Marks and notes over a real store (gzip trails on disk): the `mark:`, `has:mark` and
`has:note` filters, the label facet, and marks that survive reloads, re-downloads and
tailing."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from tests.trailgen import event, trail_path, write_records
from tui.core.annotations import Annotations
from tui.core.batch import parse_file
from tui.core.case import Case, CaseError
from tui.core.loader import load
from tui.core.query import QueryError, add_term, parse
from tui.core.store import Store
from tui.core.view import compute_view


def names(store: Store, mask: np.ndarray) -> list[str]:
    return [store.value(int(r), "event") for r in store.ordered(mask)]


def where(store: Store, text: str) -> list[str]:
    """Event names matching `text`, checked the two ways the engine evaluates a query:
    by store row (the CLI) and in time order (the explorer's views)."""
    by_row = parse(text).evaluate(store)
    in_order = parse(text).evaluate(store.time_ordered())
    assert np.array_equal(in_order, by_row[store.order]), text
    return names(store, by_row)


def row_of(store: Store, name: str) -> int:
    (r,) = [int(r) for r in store.ordered() if store.value(int(r), "event") == name]
    return r


@pytest.fixture
def trail(tmp_path):
    recs = [
        event(f"Call{i}", f"2026-11-20T10:00:{i:02d}Z", event_id=f"id-{i:04d}") for i in range(8)
    ]
    write_records(trail_path(tmp_path / "trail"), recs)
    return tmp_path / "trail", recs


@pytest.fixture
def case(tmp_path):
    with Case.open(tmp_path / "case.sqlite") as c:
        yield c


def test_mark_and_note_filters(trail, case):
    root, _ = trail
    store = load([root])
    ann = Annotations(case, store)
    assert store.annotations is ann
    assert where(store, "has:mark") == []
    assert where(store, 'mark:""') == [f"Call{i}" for i in range(8)]
    ann.mark(row_of(store, "Call2"), "suspicious", found_with="event:Call2")
    ann.mark(row_of(store, "Call5"), "IOC")
    ann.mark(row_of(store, "Call5"), "suspicious")
    ann.mark(row_of(store, "Call6"), "benign")
    ann.set_note(row_of(store, "Call6"), "checked with the owner")
    ann.set_note(row_of(store, "Call7"), "a note, no mark")
    assert where(store, "has:mark") == ["Call2", "Call5", "Call6"]
    assert where(store, "has:note") == ["Call6", "Call7"]
    assert where(store, "mark:suspicious") == ["Call2", "Call5"]
    assert where(store, "MARK:Ioc") == ["Call5"]
    assert where(store, "mark:sus*") == ["Call2", "Call5"]
    assert where(store, "mark:*") == where(store, "has:mark")
    assert where(store, 'mark:""') == ["Call0", "Call1", "Call3", "Call4", "Call7"]
    assert where(store, "-has:mark has:note") == ["Call7"]
    assert where(store, "mark:benign OR (has:note -mark:*)") == ["Call6", "Call7"]
    assert where(store, "mark:suspicious -mark:ioc event:Call*") == ["Call2"]
    assert where(store, "mark:nothing-like-this") == []
    assert ann.labels_of(row_of(store, "Call5")) == ("ioc", "suspicious")
    assert ann.note_of(row_of(store, "Call6")).text == "checked with the owner"
    assert ann.labels_of(row_of(store, "Call0")) == ()
    assert ann.note_of(row_of(store, "Call0")) is None


def test_unmark_toggle_and_clearing_notes(trail, case):
    store = load([trail[0]])
    ann = Annotations(case, store)
    r = row_of(store, "Call3")
    v0 = ann.version
    assert ann.toggle(r, "ioc") is True
    assert ann.toggle(r, "ioc") is False
    assert where(store, "has:mark") == [] and case.events() == []
    assert not ann.unmark(r, "ioc")
    assert ann.mark(r, "ioc") and not ann.mark(r, "ioc")
    ann.set_note(r, "x")
    ann.set_note(r, "   ")
    assert where(store, "has:note") == [] and where(store, "mark:ioc") == ["Call3"]
    assert ann.version > v0
    with pytest.raises(CaseError, match="label"):
        ann.mark(r, "not a label")


def test_label_facet_counts_the_view(trail, case):
    store = load([trail[0]])
    ann = Annotations(case, store)
    marks = (("Call1", "ioc"), ("Call2", "ioc"), ("Call2", "suspicious"), ("Call5", "benign"))
    for name, label in marks:
        ann.mark(row_of(store, name), label)
    everything = compute_view(store, parse(""))
    assert everything.label_counts(store) == [("ioc", 2), ("benign", 1), ("suspicious", 1)]
    some = compute_view(store, parse("event:Call2 OR event:Call5 OR event:Call0"))
    assert some.label_counts(store) == [("benign", 1), ("ioc", 1), ("suspicious", 1)]
    marked = compute_view(store, parse("mark:ioc"))
    assert [store.value(int(r), "event") for r in marked.rows] == ["Call1", "Call2"]
    assert marked.label_counts(store) == [("ioc", 2), ("suspicious", 1)]
    ann.unmark(row_of(store, "Call1"), "ioc")  # marks change without a commit
    assert marked.label_counts(store) == [("ioc", 1), ("suspicious", 1)]
    assert compute_view(Store(), parse("")).label_counts(Store()) == []


def test_without_a_case_nothing_is_marked(trail):
    store = load([trail[0]])
    assert store.annotations is None
    assert where(store, "has:mark") == [] and where(store, "has:note") == []
    assert where(store, "mark:ioc") == [] and len(where(store, 'mark:""')) == 8


def test_filter_syntax(trail):
    assert parse("mark:ioc").uses_marks and parse("-has:NOTE").uses_marks
    assert parse("x OR (has:mark)").uses_marks
    assert not parse("has:error mark").uses_marks and not parse("").uses_marks
    with pytest.raises(QueryError, match="expected a value after 'mark:'"):
        parse("mark:")
    # A facet pick of a label narrows the filter like a field value.
    assert add_term("has:error", "mark", "ioc") == "has:error mark:ioc"
    assert add_term("a OR b", "mark", "ioc", negate=True) == "(a OR b) -mark:ioc"
    store = load([trail[0]])
    with pytest.raises(QueryError, match="unknown has:marks .*mark, note"):
        parse("has:marks").evaluate(store)


def test_marks_survive_a_reload_and_a_redownload(tmp_path, trail, case):
    root, recs = trail
    ann = Annotations(case, load([root]))
    ann.mark(row_of(ann.store, "Call4"), "ioc")
    ann.set_note(row_of(ann.store, "Call1"), "n")
    case.close()
    # The same trail loaded again, with a case opened again.
    with Case.open(case.path) as again:
        store = load([root])
        Annotations(again, store)
        assert where(store, "has:mark") == ["Call4"] and where(store, "has:note") == ["Call1"]
    # A fresh download of the events, in another shape (JSON Lines, other order, and a
    # copy of one event): the marks follow the events, not the files.
    copy = tmp_path / "redownload"
    copy.mkdir()
    lines = [json.dumps(r) for r in reversed(recs)] + [json.dumps(recs[4])]
    (copy / "events.jsonl").write_text("\n".join(lines) + "\n")
    with Case.open(case.path) as again:
        store = load([copy])
        assert len(store) == 8 and store.duplicates == 1
        Annotations(again, store)
        assert where(store, "mark:ioc") == ["Call4"] and where(store, "has:note") == ["Call1"]


def test_a_mark_applies_when_its_event_arrives_later(tmp_path, trail, case):
    """Tailing: the case knows an event the store has not loaded yet; the commit that
    brings it in makes it marked, whichever way the new rows are matched."""
    root, recs = trail
    ann = Annotations(case, load([root]))
    ann.mark(row_of(ann.store, "Call6"), "suspicious")
    ann.set_note(row_of(ann.store, "Call0"), "n")

    live = tmp_path / "live"
    store = Store()
    Annotations(case, store)
    assert where(store, "has:mark") == []
    # A big first commit (many rows per key: matched through the id index)...
    filler = [event("Other", f"2026-11-20T09:{i // 60:02d}:{i % 60:02d}Z") for i in range(400)]
    f1 = write_records(trail_path(live, when="20261120T0955Z"), filler + [recs[0]])
    store.add(parse_file(str(f1)))
    store.commit()
    assert where(store, "has:note") == ["Call0"] and where(store, "has:mark") == []
    # ...then a small one (few rows: one vectorised search over them).
    f2 = write_records(trail_path(live, when="20261120T1010Z"), [recs[6], event("Late")])
    store.add(parse_file(str(f2)))
    store.commit()
    assert where(store, "mark:suspicious") == ["Call6"]
    view = compute_view(store, parse("has:mark OR has:note"))
    assert view.label_counts(store) == [("suspicious", 1)]


def test_twins_with_one_key_share_marks(tmp_path, case):
    """Records with the same eventID, time and name but different content (has:conflict)
    cannot be told apart by the key: both carry the mark."""
    ev = event("DeleteTrail", event_id="dup-1", source="cloudtrail.amazonaws.com")
    twin = dict(ev, sourceIPAddress="203.0.113.66")
    other_time = dict(ev, eventTime="2026-11-20T11:00:00Z", sourceIPAddress="192.0.2.1")
    write_records(trail_path(tmp_path / "t", suffix="a" * 16), [ev, event("X")])
    write_records(trail_path(tmp_path / "t", suffix="b" * 16), [twin, other_time])
    store = load([tmp_path / "t"])
    assert store.conflicts == 2
    ann = Annotations(case, store)
    first = int(parse("ip:198.51.100.7 event:DeleteTrail").evaluate(store).nonzero()[0][0])
    ann.mark(first, "ioc")
    got = store.ordered(parse("mark:ioc").evaluate(store))
    assert sorted(store.value(int(r), "ip") for r in got) == ["198.51.100.7", "203.0.113.66"]
    assert len(ann.rows_of_key(case.events()[0].key)) == 2


def test_records_without_an_event_id(tmp_path, case):
    a = event("Anon", "2026-11-20T10:00:00Z", requestID="a")
    b = event("Anon", "2026-11-20T10:00:00Z", requestID="b")
    for r in (a, b):
        del r["eventID"]
    write_records(trail_path(tmp_path / "t"), [a, b, event("WithId")])
    store = load([tmp_path / "t"])
    ann = Annotations(case, store)
    rows = store.ordered(parse("-has:eventid").evaluate(store))
    target = next(int(r) for r in rows if store.event(int(r))["requestID"] == "b")
    ann.mark(target, "ioc")
    (ev,) = case.events()
    assert ev.key.event_id == "" and len(ev.key.no_id_sha256) == 64
    again = load([tmp_path / "t"])
    Annotations(case, again)
    (r,) = again.ordered(parse("has:mark").evaluate(again))
    assert again.event(int(r))["requestID"] == "b"


def test_time_order_masks_agree_with_row_masks_among_ties(tmp_path, case):
    """Many events share a millisecond and the start of their eventID, so their sort
    keys tie and the store orders them by the full key: the marks' positions in time
    order must still be exact."""
    rng = random.Random(5)
    recs = [
        event(
            f"E{i}",
            f"2026-11-20T10:00:0{i % 3}Z",
            event_id=f"abcdef-{rng.randrange(10**6):06d}-{i}",
        )
        for i in range(300)
    ]
    rng.shuffle(recs)
    for k in range(3):
        write_records(trail_path(tmp_path / "t", suffix=f"{k}" * 16), recs[k::3])
    store = load([tmp_path / "t"])
    ann = Annotations(case, store)
    for r in rng.sample(range(len(store)), 40):
        ann.mark(r, rng.choice(["ioc", "benign"]))
    for r in rng.sample(range(len(store)), 20):
        ann.set_note(r, "n")
    for q in ("has:mark", "mark:ioc", "has:note -mark:benign", 'mark:""'):
        where(store, q)  # asserts the two evaluations agree
    assert len(where(store, "has:mark")) == 40


def test_an_event_whose_file_changed_cannot_be_annotated(tmp_path, case):
    f = write_records(trail_path(tmp_path / "t"), [event("A"), event("B")])
    store = load([tmp_path / "t"])
    ann = Annotations(case, store)
    f.write_bytes(b"")  # the file was replaced after loading: the full event is gone
    with pytest.raises(CaseError, match="cannot annotate this event.*changed"):
        ann.mark(row_of(store, "A"), "ioc")
    assert case.events() == [] and where(store, "has:mark") == []
