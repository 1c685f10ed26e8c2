"""The case report: every annotated event (a mark or a note), in time order, as Markdown
for people or JSON Lines for tools. Built from the case file alone; with a loaded
trail, each event is also checked against it.

Safe to paste anywhere. Markdown: values from the logs go in code spans (no emphasis,
links, HTML, entities or mentions happen inside one), prose (notes, labels) has every
character Markdown or GitHub gives a meaning backslash-escaped, and control and
invisible characters are shown as visible escapes (`sanitize.clean`) in both. JSON
Lines: those characters are written as \\uXXXX escapes, so the bytes hold none raw.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from .case import NO_TIME, CaseEvent
from .export import dumps
from .normalize import format_time
from .sanitize import clean

__all__ = [
    "OriginLookup",
    "ReportItem",
    "jsonl_report",
    "markdown_report",
    "report_items",
]

# The credential-origin hook: given an annotated event's JSON (decoded), say where its
# credentials came from (e.g. the AssumeRole that issued the session), or None. The
# report shows the column only when a lookup is given.
OriginLookup = Callable[[dict], "str | None"]


@dataclass(frozen=True, slots=True)
class ReportItem:
    event: CaseEvent
    # Checked against a loaded trail (None when none was loaded): "present" (a record
    # with the same key and the same content), "changed" (same key, other content),
    # "not found", or "unreadable" (the record's file changed on disk since loading).
    in_trail: str | None = None
    origin: str | None = None


def _decoded(ev: CaseEvent) -> dict | None:
    raw = ev.record.original
    if raw is None:
        return None
    try:
        got = json.loads(raw)  # the stdlib keeps big integers exact
    except ValueError:
        return None
    return got if isinstance(got, dict) else None


def report_items(
    events: Iterable[CaseEvent], annotations=None, origin_of: OriginLookup | None = None
) -> list[ReportItem]:
    """The report's rows. `annotations` (an `annotations.Annotations` over a loaded
    store) adds the in-trail check; `origin_of` the credential origin."""
    out = []
    for ev in events:
        status = None
        if annotations is not None:
            status = _trail_status(ev, annotations)
        origin = None
        if origin_of is not None:
            data = _decoded(ev)
            origin = origin_of(data) if data is not None else None
        out.append(ReportItem(ev, status, origin))
    return out


def _trail_status(ev: CaseEvent, annotations) -> str:
    from .store import OriginalUnavailable

    rows = annotations.rows_of_key(ev.key)
    if not rows:
        return "not found"
    store = annotations.store
    mine = _decoded(ev)
    unreadable = False
    for r in rows:
        try:
            raw = store.canonical(r)
        except OriginalUnavailable:
            unreadable = True
            continue
        # The same bytes, or the same content written another way (a re-export as
        # JSON Lines or lookup-events output formats it differently).
        if hashlib.sha256(raw).hexdigest() == ev.record.sha256:
            return "present"
        try:
            if mine is not None and json.loads(raw) == mine:
                return "present"
        except ValueError:
            pass
    return "unreadable" if unreadable else "changed"


# ---------------------------------------------------------------- Markdown

# Backslash-escaped in prose: what CommonMark and GFM read as emphasis, code, links,
# HTML and entities, tables, strikethrough, math, headings, mentions and issue links.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|&~$#@!])")
# What starts a block (list, setext underline, numbered list) at the start of a line.
_MD_LINE_START = re.compile(r"^(\s*)([-+=]|\d+[.)])")


def md_text(s: str) -> str:
    """Prose for Markdown: controls shown as escapes, specials backslash-escaped."""
    return _MD_SPECIAL.sub(r"\\\1", clean(s))


def md_line(s: str) -> str:
    """A line of prose that stands at the start of a block line (a note's line)."""
    out = md_text(s)
    m = _MD_LINE_START.match(out)
    if m:
        marker = m.group(2)
        esc = marker[:-1] + "\\" + marker[-1] if marker[0].isdigit() else "\\" + marker
        out = m.group(1) + esc + out[m.end() :]
    return out


def md_code(s: str, *, in_table: bool = False) -> str:
    """A value from the logs as a code span: shown literally by every renderer."""
    s = clean(s)
    if not s:
        return "(empty)"
    longest = max((len(m) for m in re.findall(r"`+", s)), default=0)
    fence = "`" * (longest + 1)
    # A space each side when the value starts or ends with a backtick or a space: the
    # renderer strips exactly one from each side (not when the value is only spaces).
    pad = " " if s.strip(" ") and (s[0] in "` " or s[-1] in "` ") else ""
    if in_table:
        s = s.replace("|", "\\|")  # GFM splits cells first, even inside code spans
    return f"{fence}{pad}{s}{pad}{fence}"


def _labels_md(ev: CaseEvent) -> str:
    return ", ".join(md_text(m.label) for m in ev.marks) or "(none)"


def markdown_report(
    items: list[ReportItem],
    *,
    case_path: str,
    trails: list[str],
    generated_at: str,
    version: str,
    with_origin: bool = False,
    checked_paths: list[str] | None = None,
) -> str:
    w: list[str] = []
    w.append("# trailscope case report\n")
    w.append(f"- Case file: {md_code(case_path)}")
    w.append(f"- Generated: {md_text(generated_at)} by trailscope {md_text(version)}")
    used = ", ".join(md_code(t) for t in trails) or "none recorded"
    w.append(f"- Trails used with this case: {used}")
    if checked_paths is not None:
        w.append("- Checked against: " + (", ".join(md_code(p) for p in checked_paths) or "none"))
    counts: dict[str, int] = {}
    for it in items:
        for m in it.event.marks:
            counts[m.label] = counts.get(m.label, 0) + 1
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    by_label = ", ".join(f"{md_text(k)} {v}" for k, v in ranked)
    noted = sum(1 for it in items if it.event.note is not None)
    w.append(f"- Events: {len(items)} (marks: {by_label or 'none'}; with a note: {noted})")
    w.append("")
    if not items:
        w.append("No marked or annotated events.")
        return "\n".join(w) + "\n"
    w.append("| # | Time (UTC) | Event | Principal | Source IP | Marks |")
    w.append("|--:|---|---|---|---|---|")
    for i, it in enumerate(items, 1):
        r = it.event.record
        cells = [
            str(i),
            md_code(format_time(r.key.time_ms), in_table=True),
            md_code(r.key.event_name, in_table=True),
            md_code(r.principal, in_table=True),
            md_code(r.source_ip, in_table=True),
            _labels_md(it.event).replace("|", "\\|"),  # escaped already; belt and braces
        ]
        w.append("| " + " | ".join(cells) + " |")
    for i, it in enumerate(items, 1):
        w.append("")
        w.extend(_md_event(i, it, with_origin))
    return "\n".join(w) + "\n"


def _md_event(i: int, it: ReportItem, with_origin: bool) -> list[str]:
    ev, r = it.event, it.event.record
    k = r.key
    w = [f"## {i}. {md_code(k.event_name)} at {md_code(format_time(k.time_ms))}", ""]
    marks = ", ".join(f"{md_text(m.label)} ({md_text(m.created_at)})" for m in ev.marks)
    w.append(f"- Marks: {marks or '(none)'}")
    w.append(f"- Service: {md_code(r.event_source)}")
    w.append(f"- Principal: {md_code(r.principal)}")
    w.append(f"- Source IP: {md_code(r.source_ip)}")
    w.append(f"- Account: {md_code(r.account)}; region: {md_code(r.region)}")
    if r.error_code:
        w.append(f"- Error: {md_code(r.error_code)}")
    w.append(f"- Credential kind: {md_code(r.cred)}; access key: {md_code(r.access_key)}")
    if with_origin:
        w.append(f"- Credential origin: {md_code(it.origin) if it.origin else 'unknown'}")
    w.append(f"- Event ID: {md_code(k.event_id) if k.event_id else '(none in the record)'}")
    w.append(f"- eventTime as recorded: {md_code(r.event_time)}")
    w.append(f"- Found with: {md_code(ev.found_with) if ev.found_with.strip() else '(no filter)'}")
    w.append(f"- Read from: {md_code(r.location)}")
    w.append(f"- SHA-256 of the event's JSON: {md_code(r.sha256 or '')}")
    if it.in_trail is not None:
        w.append(f"- In the loaded trail: {md_text(it.in_trail)}")
    w.append(f"- Added to the case: {md_text(ev.added_at)}")
    if ev.note is not None:
        n = ev.note
        when = md_text(n.created_at)
        if n.updated_at != n.created_at:
            when += f", edited {md_text(n.updated_at)}"
        w.append("")
        w.append(f"Note ({when}):")
        w.append("")
        for line in n.text.replace("\r\n", "\n").split("\n"):
            w.append(f"> {md_line(line)}".rstrip())
    return w


# ---------------------------------------------------------------- JSON Lines


def _dumps(obj: object) -> str:
    return dumps(obj).decode("utf-8")


def jsonl_report(items: list[ReportItem], *, with_origin: bool = False) -> str:
    lines = []
    for it in items:
        ev, r = it.event, it.event.record
        k = r.key
        obj: dict = {
            "time": None if k.time_ms == NO_TIME else format_time(k.time_ms),
            "eventTime": r.event_time,
            "eventID": k.event_id,
            "event": k.event_name,
            "service": r.event_source,
            "principal": r.principal,
            "ip": r.source_ip,
            "account": r.account,
            "region": r.region,
            "error": r.error_code,
            "cred": r.cred,
            "key": r.access_key,
            "labels": [{"label": m.label, "at": m.created_at} for m in ev.marks],
            "note": None
            if ev.note is None
            else {
                "text": ev.note.text,
                "createdAt": ev.note.created_at,
                "updatedAt": ev.note.updated_at,
            },
            "foundWith": ev.found_with,
            "source": r.location,
            "sha256": r.sha256,
            "addedAt": ev.added_at,
        }
        if with_origin:
            obj["credentialOrigin"] = it.origin
        if it.in_trail is not None:
            obj["inTrail"] = it.in_trail
        record = _decoded(ev)
        try:
            line = _dumps({**obj, "record": record})
        except ValueError:  # NaN or Infinity in a leniently read record: keep its text
            text = (r.original or b"").decode("utf-8", "surrogateescape")
            line = _dumps({**obj, "recordJson": text})
        lines.append(line + "\n")
    return "".join(lines)
