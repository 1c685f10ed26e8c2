"""Identity and IP cards: everything a trail says about one principal, access key, role,
user, account or IP (or the events of any filter), each line with the filter term that
pivots to it. The explorer's card pane and `trailscope card` both draw a `Card`.

Counts come from the view machinery (one evaluation of the subject, then a bincount
per field over the matching positions), so a card costs what a few facets cost. The
card holds raw values; whoever shows it sanitises at its edge (the CLI through
`sanitize.clean` and `export.dumps`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .credentials import Chain, credentials_of
from .normalize import NO_TIME, format_time
from .query import Term, add_term, parse, term_for
from .store import Store
from .view import compute_view

__all__ = [
    "CARD_SECTIONS",
    "SUBJECT_FIELDS",
    "Card",
    "CardLine",
    "CardSection",
    "MintedLine",
    "build_card",
    "subject_of",
]

# Fields a card is "of" (a term on one of them, exact, names the subject).
SUBJECT_FIELDS: tuple[str, ...] = ("principal", "key", "ip", "role", "user", "account", "session")
# (title, field) of each section, in order.
CARD_SECTIONS: tuple[tuple[str, str], ...] = (
    ("services", "service"),
    ("event names", "event"),
    ("regions", "region"),
    ("source IPs", "ip"),
    ("user agents", "ua"),
    ("access keys", "key"),
    ("principals", "principal"),
    ("sessions", "session"),
    ("roles", "role"),
    ("accounts", "account"),
    ("error codes", "error"),
)


@dataclass(frozen=True, slots=True)
class CardLine:
    value: str
    count: int
    term: str  # the filter term selecting this value alone (`service:s3.amazonaws.com`)
    filter: str  # the card's subject narrowed by it


@dataclass(slots=True)
class CardSection:
    title: str
    field: str
    lines: list[CardLine]
    distinct: int  # values in all (lines holds the most frequent)


@dataclass(frozen=True, slots=True)
class MintedLine:
    """A credential minted by one of the card's events."""

    key: str
    event: str  # the minting event's name
    time_ms: int
    row: int  # the minting event (jump here)
    uses: int  # events made with the key
    term: str  # `key:K`: what this credential did
    descends: str  # `descends:K`: what it and the keys it minted did


@dataclass(slots=True)
class Card:
    subject: str  # the filter the card is of
    kind: str  # a SUBJECT_FIELDS name, or "filter"
    value: str  # the subject's value ('' for a filter)
    events: int
    errors: int
    first_ms: int | None
    last_ms: int | None
    sections: list[CardSection]
    minted: list[MintedLine]
    minted_total: int
    origin: Chain | None = None  # a key card: where the key came from
    descendant_keys: int = 0  # a key card: keys minted from it, transitively
    descendant_events: int = 0  # events done with it or them (`descends:KEY`)
    descends_term: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def error_ratio(self) -> float:
        return self.errors / self.events if self.events else 0.0

    def to_dict(self) -> dict:
        """Plain data for JSON (raw values: write it with `export.dumps`)."""
        out: dict = {
            "subject": self.subject,
            "kind": self.kind,
            "value": self.value,
            "events": self.events,
            "errors": self.errors,
            "errorRatio": round(self.error_ratio, 6),
            "firstSeen": None if self.first_ms is None else format_time(self.first_ms),
            "lastSeen": None if self.last_ms is None else format_time(self.last_ms),
            "sections": {
                s.title: {
                    "field": s.field,
                    "distinct": s.distinct,
                    "values": [
                        {"value": ln.value, "count": ln.count, "term": ln.term, "filter": ln.filter}
                        for ln in s.lines
                    ],
                }
                for s in self.sections
            },
            "minted": {
                "total": self.minted_total,
                "keys": [
                    {
                        "key": m.key,
                        "event": m.event,
                        "time": format_time(m.time_ms),
                        "uses": m.uses,
                        "term": m.term,
                        "descends": m.descends,
                    }
                    for m in self.minted
                ],
            },
        }
        if self.kind == "key":
            out["origin"] = (
                None
                if self.origin is None
                else {
                    "links": [
                        {
                            "key": ln.key,
                            "event": ln.event,
                            "time": format_time(ln.time_ms),
                            "caller": ln.caller,
                            "callerKey": ln.caller_key,
                            "callerType": ln.caller_type,
                            "sourceIP": ln.ip,
                            "account": ln.account,
                            "otherRecords": ln.copies,
                            "recordedAfterUse": ln.after_use,
                            "term": f"minted:{ln.key}",
                        }
                        for ln in self.origin.links
                    ],
                    "end": self.origin.end,
                    "top": self.origin.end_text(),
                    "record": [{"label": k, "value": v} for k, v in self.origin.record],
                }
            )
            out["descendants"] = {
                "keys": self.descendant_keys,
                "events": self.descendant_events,
                "term": self.descends_term,
            }
        return out

    def text_lines(self) -> list[str]:
        """The card as text, raw (sanitise each line at the edge)."""
        w: list[str] = [f"card: {self.subject}"]
        span = ""
        if self.first_ms is not None and self.last_ms is not None:
            span = f"   first {format_time(self.first_ms)}   last {format_time(self.last_ms)}"
        w.append(f"events {self.events:,}{span}")
        w.append(f"errors {self.errors:,} ({self.error_ratio:.1%})")
        w.extend(self.notes)
        if self.kind == "key":
            w.append("")
            w.append("origin")
            if self.origin is not None:
                w.extend(f"  {line}" for line in self.origin.lines())
            w.append(
                f"  descendants: {self.descendant_keys:,} keys, "
                f"{self.descendant_events:,} events   {self.descends_term}"
            )
        for s in self.sections:
            if not s.lines:
                continue
            w.append("")
            more = f", top {len(s.lines)}" if s.distinct > len(s.lines) else ""
            w.append(f"{s.title} ({s.distinct:,}{more})")
            for ln in s.lines:
                w.append(f"  {ln.count:>10,}  {ln.value or '(empty)'}   {ln.term}")
        if self.minted_total:
            w.append("")
            more = f", top {len(self.minted)}" if self.minted_total > len(self.minted) else ""
            w.append(f"credentials minted ({self.minted_total:,}{more})")
            for m in self.minted:
                w.append(
                    f"  {m.uses:>10,}  {m.key}  {m.event} {format_time(m.time_ms)}   "
                    f"{m.term}   {m.descends}"
                )
        return w


def subject_of(filter_text: str) -> tuple[str, str]:
    """(kind, value) of a card's subject: a SUBJECT_FIELDS name and its exact value when
    the filter is one such term, else ("filter", ""). Raises QueryError."""
    root = parse(filter_text).root
    if isinstance(root, Term) and root.field in SUBJECT_FIELDS and root.matcher.parts is None:
        return root.field, root.matcher.text
    return "filter", ""


def _section(store: Store, view, title: str, name: str, subject: str, top: int) -> CardSection:
    pairs, distinct = view.facet(store, name, top + 1)
    lines = []
    for value, count in pairs:
        if value == "":
            distinct -= 1  # events without a value: the totals above say how many
            continue
        term = term_for(name, value)
        lines.append(CardLine(value, count, term, add_term(subject, name, value)))
    return CardSection(title, name, lines[:top], distinct)


def build_card(store: Store, subject: str, top: int = 10, now_ms: int | None = None) -> Card:
    """The card of the events `subject` (a filter) matches; `top` values per section.
    Raises QueryError."""
    query = parse(subject)
    kind, value = subject_of(subject)
    view = compute_view(store, query, (), now_ms=now_ms)
    times = view.times[view.times != NO_TIME]
    first = int(times[0]) if len(times) else None
    last = int(times[-1]) if len(times) else None
    sections: list[CardSection] = []
    for title, name in CARD_SECTIONS:
        if name == kind:
            continue  # the subject itself
        sections.append(_section(store, view, title, name, subject, top))
    index = credentials_of(store)
    rows, codes = index.minted_in(view.mask)
    # One line per key (a cross-account call is recorded twice: its first record shows).
    codes, earliest = np.unique(codes, return_index=True)
    rows = rows[earliest]
    uses = index.uses()[codes]
    pick = np.lexsort((codes, -store.times[rows], -uses))[:top]
    minted: list[MintedLine] = []
    for i in pick.tolist():
        row = int(rows[i])
        key = index.spell(int(codes[i]), row)
        minted.append(
            MintedLine(
                key,
                store.value(row, "event"),
                store.time_ms(row),
                row,
                int(uses[i]),
                term_for("key", key),
                term_for("descends", key),
            )
        )
    card = Card(
        subject,
        kind,
        value,
        len(view),
        int(np.count_nonzero(view.errors)),
        first,
        last,
        sections,
        minted,
        len(codes),
    )
    if kind == "key":
        card.origin = index.chain_for_key(value, first if first is not None else NO_TIME)
        card.descends_term = term_for("descends", value)
        matcher = parse(card.descends_term).root.matcher  # type: ignore[union-attr]
        roots = index.codes_matching(matcher)
        card.descendant_keys = int(index.descendant_codes(roots).sum()) - len(roots)
        descended = index.key_codes_descending(matcher)
        counts = store.value_counts("key")
        card.descendant_events = int(counts[descended].sum()) if len(descended) else 0
        if not card.events and card.origin is not None and not card.origin.links:
            card.notes.append("this key is neither used nor minted in the trail")
    return card
