"""The case report (Markdown and JSON Lines) over a real trail whose values are hostile:
control and bidi characters, Textual markup, Markdown specials, newlines in notes.

The Markdown is checked by rendering it the way a paste target would (markdown-it in its
GFM-like mode, with tables and autolinks): the structure must be the report's own, and
every hostile value must come out as literal text."""

from __future__ import annotations

import gzip
import json
import re
from html.parser import HTMLParser

import pytest
from markdown_it import MarkdownIt

from tests.trailgen import event, trail_path, write_records
from tui.core import report
from tui.core.annotations import Annotations
from tui.core.case import Case
from tui.core.loader import load
from tui.core.report import jsonl_report, markdown_report, report_items
from tui.core.sanitize import HOSTILE_RANGES, clean

HOSTILE_IP = "1.2.3.4|*x*|[a](http://evil.example)`tick`<b>&amp;"
HOSTILE_NAME = "Put_*Obj*_\x1b[2J\u202eevil"
HOSTILE_ARN = "arn:aws:iam::1:user/[@click=app.quit]|# @admin ~~x~~ $m$ \x9b31m"
NOTE = (
    "- not a list | not a cell\n# not a heading\n1. not numbered\n***\n> not quoted\n"
    "<script>alert(1)</script> &#x202e; `code` [@click=app.quit] **b** _i_\n"
    "===\nraw esc \x1b[31m, bidi \u202e, zero-width \u200b, \u2028 sep\r\nlast"
)
FILTER = 'ua:"*\\x1b*" OR principal:*[@click*'


def hostile_chars(text: str) -> list[str]:
    out = []
    for ch in text:
        cp = ord(ch)
        if ch != "\n" and any(lo <= cp <= hi for lo, hi in HOSTILE_RANGES):
            out.append(ch)
    return out


class _Html(HTMLParser):
    """Tags and the text inside <code>, <td> and <blockquote> of rendered Markdown."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.rows: list[int] = []  # cells per table row
        self.code: list[str] = []
        self.quote: list[str] = []
        self._stack: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self._stack.append(tag)
        if tag == "tr":
            self.rows.append(0)
        if tag in ("td", "th"):
            self.rows[-1] += 1
        if tag == "code":
            self.code.append("")

    def handle_endtag(self, tag):
        while self._stack and self._stack.pop() != tag:
            pass

    def handle_data(self, data):
        if "code" in self._stack:
            self.code[-1] += data
        if "blockquote" in self._stack:
            self.quote.append(data)


def render(md: str) -> _Html:
    p = _Html()
    p.feed(MarkdownIt("gfm-like").render(md))
    return p


@pytest.fixture
def setup(tmp_path):
    root = tmp_path / "trail\x1b]0;pwned\x07|*"  # a hostile folder name: it is in locations
    recs = [
        event("Quiet", "2026-11-20T10:00:00Z", event_id="e-quiet"),
        event(
            HOSTILE_NAME,
            "2026-11-20T10:05:00Z",
            ip=HOSTILE_IP,
            event_id="e-hostile",
            identity={"type": "IAMUser", "arn": HOSTILE_ARN, "accountId": "1"},
            userAgent="\x1b[31mred [@click=app.quit]",
        ),
        event(
            "ConsoleLogin",
            "2026-11-20T09:00:00Z",
            event_id="e-login",
            error="Failed|Auth",
            requestParameters={"big": 123456789012345678901234567890},
        ),
    ]
    path = trail_path(root)
    path.parent.mkdir(parents=True)
    # The stdlib writes the big integer exactly (orjson cannot).
    path.write_bytes(gzip.compress(json.dumps({"Records": recs}).encode(), mtime=0))
    store = load([root])
    case = Case.open(tmp_path / "case.sqlite")
    ann = Annotations(case, store)
    rows = {store.value(int(r), "event"): int(r) for r in store.ordered()}
    # Marked out of time order: the report sorts by time.
    ann.mark(rows[HOSTILE_NAME], "suspicious", found_with=FILTER)
    ann.mark(rows[HOSTILE_NAME], "ioc", found_with="ignored: the first filter stays")
    ann.set_note(rows[HOSTILE_NAME], NOTE)
    ann.mark(rows["ConsoleLogin"], "benign", found_with="event:ConsoleLogin")
    ann.set_note(rows["Quiet"], "only a note")
    yield case, store, ann, recs
    case.close()


def test_markdown_report_is_inert_and_complete(setup):
    case, store, ann, recs = setup
    items = report_items(case.events(), ann)
    md = markdown_report(
        items,
        case_path=str(case.path) + "\x1b[7m",
        trails=case.trails(),
        generated_at="2026-11-21T00:00:00.000Z",
        version="0.1.0",
        checked_paths=["/x"],
    )
    assert hostile_chars(md) == []
    doc = render(md)
    # Structure: the report's own headings and table, nothing from the data.
    assert doc.tags.count("h1") == 1 and doc.tags.count("h2") == 3
    assert doc.rows == [6, 6, 6, 6]  # header + 3 events, 6 cells each: no "|" split a cell
    for tag in ("em", "strong", "a", "img", "script", "b", "del", "s", "h3", "ol", "hr", "ul"):
        if tag == "ul":
            continue  # the report's own bullet lists
        assert tag not in doc.tags, tag
    # Every hostile value is shown literally (control characters as visible escapes).
    for value in (HOSTILE_IP, HOSTILE_NAME, HOSTILE_ARN, FILTER, "Failed|Auth"):
        assert clean(value) in doc.code, value
    quoted = "".join(doc.quote)
    for line in NOTE.replace("\r\n", "\n").split("\n"):
        assert clean(line) in quoted, line
    # Time order, labels, notes, where each was found and the check against the trail.
    order = [
        m.start()
        for m in (re.search(re.escape(x), md) for x in ("`ConsoleLogin`", "`Quiet`", "`Put_*Obj*_"))
    ]
    assert order == sorted(order)
    assert "suspicious" in md and "ioc" in md and "benign" in md
    assert "only a note" in md
    assert md.count("In the loaded trail: present") == 3
    assert "Credential origin" not in md  # no lookup given: no column


def test_jsonl_report_round_trips_values_and_holds_no_raw_controls(setup):
    case, store, ann, recs = setup
    out = jsonl_report(report_items(case.events(), ann))
    assert hostile_chars(out) == [] and out.count("\n") == 3
    lines = [json.loads(x) for x in out.splitlines()]
    assert [x["event"] for x in lines] == ["ConsoleLogin", "Quiet", HOSTILE_NAME]
    login, quiet, hostile = lines
    assert hostile["ip"] == HOSTILE_IP and hostile["principal"] == HOSTILE_ARN
    # Labels in the order they were put on (marks in the same millisecond: by label).
    labels = [(lab["at"], lab["label"]) for lab in hostile["labels"]]
    assert {label for _, label in labels} == {"suspicious", "ioc"} and labels == sorted(labels)
    assert hostile["note"]["text"] == NOTE and hostile["foundWith"] == FILTER
    assert hostile["record"] == recs[1]  # the event itself, value-exact
    assert login["record"]["requestParameters"]["big"] == 123456789012345678901234567890
    assert login["error"] == "Failed|Auth" and login["labels"][0]["label"] == "benign"
    assert quiet["labels"] == [] and quiet["note"]["text"] == "only a note"
    assert all(x["inTrail"] == "present" for x in lines)
    assert "credentialOrigin" not in hostile
    for x in lines:
        assert len(x["sha256"]) == 64
        assert x["source"].endswith((" record 1", " record 2", " record 3"))


def test_report_from_the_case_alone_and_against_another_trail(setup, tmp_path):
    case, store, ann, recs = setup
    alone = jsonl_report(report_items(case.events()))
    assert all("inTrail" not in json.loads(x) for x in alone.splitlines())
    # Another copy where one event is missing and one was altered (same key).
    altered = dict(recs[2], sourceIPAddress="192.0.2.99", requestParameters=None)
    write_records(trail_path(tmp_path / "other"), [recs[1], altered])
    other = load([tmp_path / "other"])
    with Case.open(case.path) as again:
        items = report_items(again.events(), Annotations(again, other))
        status = {it.event.key.event_id: it.in_trail for it in items}
    assert status == {"e-hostile": "present", "e-login": "changed", "e-quiet": "not found"}


def test_the_credential_origin_hook(setup):
    case, store, ann, recs = setup
    seen = []

    def origin(ev: dict) -> str | None:
        seen.append(ev["eventID"])
        return "via \x1b[1mAssumeRole|x" if ev["eventID"] == "e-hostile" else None

    items = report_items(case.events(), None, origin)
    assert sorted(seen) == ["e-hostile", "e-login", "e-quiet"]
    lines = [json.loads(x) for x in jsonl_report(items, with_origin=True).splitlines()]
    assert [x["credentialOrigin"] for x in lines] == [None, None, "via \x1b[1mAssumeRole|x"]
    md = markdown_report(
        items, case_path="c", trails=[], generated_at="t", version="v", with_origin=True
    )
    assert hostile_chars(md) == []
    assert md.count("- Credential origin: unknown") == 2
    assert clean("via \x1b[1mAssumeRole|x") in render(md).code


def test_an_empty_case_reports_so(tmp_path):
    with Case.open(tmp_path / "c.sqlite") as case:
        md = markdown_report(
            report_items(case.events()), case_path="c", trails=[], generated_at="t", version="v"
        )
        assert "No marked or annotated events." in md
        assert jsonl_report([]) == ""


def test_jsonl_report_is_written_by_the_one_inert_json_path():
    """Reports write JSON through export.dumps: every hostile character an escape,
    lone surrogates included, reading back as the same value."""
    from tui.core.export import dumps

    s = "a\x7fb\x85c\u202ed\u2028e\U000e0041f\ud800g жq"
    esc = dumps(s).decode()
    assert esc == '"a\\u007fb\\u0085c\\u202ed\\u2028e\\udb40\\udc41f\\ud800g жq"'
    assert json.loads(esc) == s
    assert report._dumps(s) == esc


def test_lookup_events_and_events_without_a_usable_time(tmp_path):
    looked = event("Looked", "2026-11-20T10:00:00Z", event_id="lk-1")
    timeless = event("NoTime", "not a time", event_id="nt-1")
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "lookup.json").write_text(
        json.dumps(
            {
                "Events": [
                    {
                        "EventId": "lk-1",
                        "EventName": "Looked",
                        "CloudTrailEvent": json.dumps(looked),
                    }
                ]
            }
        )
    )
    (tmp_path / "t" / "x.jsonl").write_text(json.dumps(timeless) + "\n")
    store = load([tmp_path / "t"])
    with Case.open(tmp_path / "c.sqlite") as case:
        ann = Annotations(case, store)
        for r in store.ordered():
            ann.mark(int(r), "ioc")
        items = report_items(case.events(), Annotations(case, load([tmp_path / "t"])))
    assert [it.in_trail for it in items] == ["present", "present"]
    lines = [json.loads(x) for x in jsonl_report(items).splitlines()]
    assert [(x["event"], x["time"]) for x in lines] == [
        ("NoTime", None),
        ("Looked", "2026-11-20T10:00:00Z"),
    ]
    assert lines[1]["record"] == looked and lines[0]["eventTime"] == "not a time"
    md = markdown_report(items, case_path="c", trails=[], generated_at="t", version="v")
    assert "| 1 | `?` | `NoTime` |" in md
