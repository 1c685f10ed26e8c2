"""Identity and IP cards over real gzip trails: every count equals a direct count over
the events, every line's term selects exactly what it counts."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from tests.core.test_credentials import ADMIN, BOB, S1, S2, chained_trail, write_files
from tests.trailgen import REALDATA
from tui.core.cards import CARD_SECTIONS, build_card, subject_of
from tui.core.loader import load
from tui.core.normalize import NO_TIME
from tui.core.query import QueryError, parse


def check_counts(store, card) -> None:
    """Each section's counts are a direct count over the subject's events, and each
    line's filter selects exactly that many."""
    rows = [int(r) for r in np.flatnonzero(parse(card.subject).evaluate(store))]
    assert card.events == len(rows)
    assert card.errors == sum(1 for r in rows if store.value(r, "error"))
    times = sorted(store.time_ms(r) for r in rows if store.time_ms(r) != NO_TIME)
    assert (card.first_ms, card.last_ms) == ((times[0], times[-1]) if times else (None, None))
    for section in card.sections:
        want = Counter(store.value(r, section.field) for r in rows)
        want.pop("", None)
        assert section.distinct == len(want), section.title
        assert {ln.value: ln.count for ln in section.lines} == {
            v: n for v, n in want.items() if v in {ln.value for ln in section.lines}
        }
        assert [ln.count for ln in section.lines] == sorted(want.values(), reverse=True)[
            : len(section.lines)
        ]
        for ln in section.lines:
            assert parse(ln.term).evaluate(store)[rows].sum() == ln.count if rows else True
            assert parse(ln.filter).evaluate(store).sum() == ln.count, ln.filter


def test_principal_card(tmp_path):
    write_files(tmp_path, chained_trail())
    store = load([tmp_path])
    card = build_card(store, f"principal:{BOB['arn']}")
    assert (card.kind, card.value) == ("principal", BOB["arn"])
    check_counts(store, card)
    assert card.events == 2 and card.errors == 0
    assert "principals" not in [s.title for s in card.sections]  # the subject itself
    accounts = next(s for s in card.sections if s.title == "accounts")
    assert sorted(ln.value for ln in accounts.lines) == ["111111111111", "222222222222"]
    # Credentials it minted: the session key, with its uses and its pivots.
    (m,) = card.minted
    assert (m.key, m.event, m.uses, card.minted_total) == (S1["accessKeyId"], "AssumeRole", 2, 1)
    assert m.term == f"key:{S1['accessKeyId']}" and m.descends == f"descends:{S1['accessKeyId']}"
    assert parse(m.term).evaluate(store).sum() == m.uses
    assert store.value(m.row, "event") == "AssumeRole"


def test_key_card_has_origin_and_descendants(tmp_path):
    write_files(tmp_path, chained_trail())
    store = load([tmp_path])
    card = build_card(store, f"key:{S1['accessKeyId']}")
    check_counts(store, card)
    assert [ln.key for ln in card.origin.links] == [S1["accessKeyId"], BOB["accessKeyId"]]
    assert card.origin.top_key == ADMIN["accessKeyId"]
    assert (card.descendant_keys, card.descendant_events) == (1, 4)
    assert card.descends_term == f"descends:{S1['accessKeyId']}"
    sessions = next(s for s in card.sections if s.title == "sessions")
    assert [ln.value for ln in sessions.lines] == [S1["arn"]]
    d = card.to_dict()
    assert d["origin"]["links"][0]["caller"] == BOB["arn"]
    assert d["descendants"] == {"keys": 1, "events": 4, "term": card.descends_term}
    assert d["minted"]["keys"][0]["key"] == S2["accessKeyId"]
    text = "\n".join(card.text_lines())
    assert "origin" in text and "minted by AssumeRole" in text


def test_ip_and_filter_cards(tmp_path):
    write_files(tmp_path, chained_trail())
    store = load([tmp_path])
    ip = build_card(store, "ip:203.0.113.6")
    check_counts(store, ip)
    assert ip.kind == "ip" and ip.events == 3
    loose = build_card(store, "service:s3.amazonaws.com OR has:error", top=1)
    assert loose.kind == "filter"
    check_counts(store, loose)
    assert all(len(s.lines) <= 1 for s in loose.sections)
    none = build_card(store, "principal:nobody")
    assert none.events == 0 and none.first_ms is None and not any(s.lines for s in none.sections)
    assert subject_of("ip:10.*") == ("filter", "")
    with pytest.raises(QueryError):
        build_card(store, "principal:(")


def test_session_card_and_sessions_section(tmp_path):
    """A role session is a card subject (`session:ARN`), and a card's sessions section
    lists the `session` field: its lines' filters select what they count."""
    write_files(tmp_path, chained_trail())
    store = load([tmp_path])
    card = build_card(store, f"session:{S1['arn']}")
    assert (card.kind, card.value) == ("session", S1["arn"])
    check_counts(store, card)
    assert card.events == int(parse(f"principal:{S1['arn']}").evaluate(store).sum()) > 0
    assert "sessions" not in [s.title for s in card.sections]  # the subject itself
    acct = build_card(store, f"account:{S1['accountId']}")
    sessions = next(s for s in acct.sections if s.title == "sessions")
    assert S1["arn"] in [ln.value for ln in sessions.lines]
    assert all(ln.term.startswith("session:") for ln in sessions.lines)


@pytest.mark.realdata
def test_cards_on_real_samples():
    store = load([REALDATA / "stratus-red-team"])
    card = build_card(store, "principal:arn:aws:iam::457448411975:user/christophe", top=50)
    check_counts(store, card)
    assert "ASIANQQHHS551LWULIWD" in {m.key for m in card.minted}
    assert {m.key: m.uses for m in card.minted}["ASIANQQHHS551LWULIWD"] == 30
    key = build_card(store, "key:AKIAWOGXN38MFN92ING5", top=50)
    check_counts(store, key)
    assert key.origin.end == "missing" and key.descendant_events == key.events + 30
    big = load([REALDATA / "grycap-cloudtrail-tracker"])
    top_ip = big.counts("ip", top=1)[0][0]
    ipcard = build_card(big, f'ip:"{top_ip}"', top=5)
    check_counts(big, ipcard)
    assert [t for t, _ in CARD_SECTIONS][:2] == ["services", "event names"]
