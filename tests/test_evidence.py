"""The explorer's evidence keys (tui/evidence.py): marks and notes kept in the case file,
filter history and saved filters across restarts, exports read back and compared with
the events they came from. The real app, driven by Pilot, on real gzip trails."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from textual.command import CommandPalette

from tests.conftest import make_app, run, screen_text, settle, toasts, wait_for, wait_loaded
from tests.trailgen import event, trail_path, write_records
from tui.core.case import Case
from tui.core.export_job import ExportCancelled, ExportError, run_export
from tui.core.history import FilterHistory
from tui.core.sanitize import clean
from tui.evidence_screens import ExportScreen, MarkScreen, NoteScreen

HOSTILE_UA = "=cmd|'/c calc'!A1 \x1b[31m[@click=app.quit]\u202e"


def _trail(root: Path) -> Path:
    trail = root / "trail"
    recs = [
        event("RunInstances", "2026-11-20T10:00:01Z", event_id="id-run-1"),
        event(
            "DescribeInstances", "2026-11-20T10:00:02Z", event_id="id-desc-1", userAgent=HOSTILE_UA
        ),
        event("RunInstances", "2026-11-20T10:00:03Z", event_id="id-run-2", error="AccessDenied"),
        event(
            "ListBuckets", "2026-11-20T10:00:04Z", source="s3.amazonaws.com", event_id="id-list-1"
        ),
    ]
    write_records(trail_path(trail), recs)
    return trail


def _cli(*args: str) -> str:
    """`trailscope ARGS` in a child process (as a reviewer runs it); its stdout."""
    got = subprocess.run(
        [sys.executable, "-m", "tui", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert got.returncode == 0, got.stderr
    return got.stdout


def _app(trail: Path, tmp: Path, **kw):
    return make_app(
        [trail],
        case_path=str(tmp / "case.sqlite"),
        history=FilterHistory(tmp / "state" / "history"),
        **kw,
    )


async def _filter(pilot, text: str) -> None:
    app = pilot.app
    await pilot.press("slash")
    app.filter_input.value = text
    await pilot.press("enter")
    await settle(pilot)


def _ids(app) -> list[str]:
    return [app.store.event(int(r))["eventID"] for r in app.view.rows]


async def _cursor_to(pilot, event_id: str) -> None:
    app = pilot.app
    row = next(int(r) for r in app.view.rows if app.store.event(int(r))["eventID"] == event_id)
    assert app.events_list.move_to_row(row)
    app.events_list.focus()
    await settle(pilot)


async def test_marks_notes_and_history_survive_a_restart(tmp_path) -> None:
    trail = _trail(tmp_path)
    app = _app(trail, tmp_path)
    async with run(app) as pilot:
        await wait_loaded(pilot)
        assert not (tmp_path / "case.sqlite").exists()  # nothing written until kept
        await _cursor_to(pilot, "id-run-2")
        await pilot.press("m")
        await wait_for(pilot, lambda: isinstance(app.screen, MarkScreen), what="mark picker")
        await pilot.press("1")  # suspicious
        await wait_for(pilot, lambda: not isinstance(app.screen, MarkScreen), what="close")
        await _cursor_to(pilot, "id-list-1")
        await pilot.press("m")
        await wait_for(pilot, lambda: isinstance(app.screen, MarkScreen), what="mark picker")
        await pilot.pause()
        app.screen.query_one("#mark-new").focus()  # a new label, typed
        app.screen.query_one("#mark-new").value = "exfil"
        await pilot.press("enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, MarkScreen), what="close")
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, NoteScreen), what="note")
        await pilot.press(*"bucket listing from [b]odd[/b] IP")
        await pilot.press("enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, NoteScreen), what="close")
        await settle(pilot)
        # The marked rows show the marker.
        assert screen_text(app).count("●") == 2
        # The labels facet counts them; Enter on a label filters by it.
        await pilot.press("M")
        await settle(pilot)
        facet = app.main.facet_panel.show("mark")
        assert facet.field == "mark" and facet.has_focus_within
        shown = screen_text(app)
        assert "exfil" in shown and "suspicious" in shown
        await pilot.press("enter")  # the first row: exfil (1), before suspicious (1)
        await settle(pilot)
        assert app.query_obj.text == "mark:exfil"
        assert _ids(app) == ["id-list-1"]
        await _filter(pilot, "mark:suspicious")
        assert _ids(app) == ["id-run-2"]
        await _filter(pilot, "event:RunInstances")
        app.evidence.flush_history()

    # The case file holds them, written as they happened.
    with Case.open(tmp_path / "case.sqlite", create=False) as case:
        got = {
            ev.key.event_id: (ev.labels, ev.note.text if ev.note else None) for ev in case.events()
        }
    assert got == {
        "id-run-2": (("suspicious",), None),
        "id-list-1": (("exfil",), "bucket listing from [b]odd[/b] IP"),
    }

    app2 = _app(trail, tmp_path)
    async with run(app2) as pilot:
        await wait_loaded(pilot)
        # History from the first run: up in the filter bar recalls the newest.
        await pilot.press("slash")
        await pilot.press("up")
        assert app2.filter_input.value == "event:RunInstances"
        await pilot.press("up")
        assert app2.filter_input.value == "mark:suspicious"
        await pilot.press("escape")
        await _filter(pilot, "has:mark")
        assert sorted(_ids(app2)) == ["id-list-1", "id-run-2"]
        await _filter(pilot, "has:note")
        assert _ids(app2) == ["id-list-1"]
        await _filter(pilot, "mark:exfil OR mark:suspicious")
        assert len(_ids(app2)) == 2
        # Unmark: the same label again takes it off, and the filter follows.
        await _filter(pilot, "has:mark")
        await _cursor_to(pilot, "id-run-2")
        await pilot.press("m")
        await wait_for(pilot, lambda: isinstance(app2.screen, MarkScreen), what="mark picker")
        assert "✓" in screen_text(app2)
        await pilot.press("1")
        await settle(pilot)
        assert _ids(app2) == ["id-list-1"]
        # The note is shown escaped in the editor, and never parsed as markup.
        await _cursor_to(pilot, "id-list-1")
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app2.screen, NoteScreen), what="note")
        assert app2.screen.query_one("#note-input").value == "bucket listing from [b]odd[/b] IP"
        await pilot.press("escape")
        await settle(pilot)

    history = (tmp_path / "state" / "history").read_text().splitlines()
    assert [json.loads(x) for x in history][-1] == "has:mark"


async def test_saved_filter_recalled_from_the_palette_and_by_query(tmp_path) -> None:
    trail = _trail(tmp_path)
    app = _app(trail, tmp_path)
    async with run(app) as pilot:
        await wait_loaded(pilot)
        await _filter(pilot, "event:RunInstances has:error")
        await pilot.press("s")
        await pilot.pause()
        await pilot.press(*"denied runs")
        await pilot.press("enter")
        await settle(pilot)
    with Case.open(tmp_path / "case.sqlite", create=False) as case:
        assert case.saved_filter("denied runs").filter == "event:RunInstances has:error"

    app2 = _app(trail, tmp_path)
    async with run(app2) as pilot:
        await wait_loaded(pilot)
        assert _ids(app2) == ["id-run-1", "id-desc-1", "id-run-2", "id-list-1"]
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: isinstance(app2.screen, CommandPalette), what="palette")
        await pilot.press(*"denied runs")
        await wait_for(
            pilot,
            lambda: "Saved filter: denied runs" in screen_text(app2),
            5,
            what="the saved filter command",
        )
        await pilot.press("enter")
        await settle(pilot)
        assert app2.query_obj.text == "event:RunInstances has:error"
        assert _ids(app2) == ["id-run-2"]
        # A saved filter's name and text are shown as written, never run as markup.
        app2.evidence.case.save_filter("[@click=app.quit]x", "[b]x[/b] OR has:error")
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: isinstance(app2.screen, CommandPalette), what="palette")
        await pilot.press(*"Saved filter")
        await wait_for(
            pilot,
            lambda: "Saved filter: [@click=app.quit]x" in screen_text(app2),
            5,
            what="the hostile name, literally",
        )
        assert "[b]x[/b] OR has:error" in screen_text(app2)
        await pilot.press("escape")
        await pilot.pause()
        assert app2.is_running

    out = _cli(
        "query",
        str(trail),
        "--case",
        str(tmp_path / "case.sqlite"),
        "--saved",
        "denied runs",
        "--format",
        "jsonl",
    ).splitlines()
    assert [json.loads(x)["eventID"] for x in out] == ["id-run-2"]


async def _export(pilot, path: Path, fmt: str) -> None:
    app = pilot.app
    await pilot.press("e")
    await wait_for(pilot, lambda: isinstance(app.screen, ExportScreen), what="export screen")
    app.screen.query_one(f"#fmt-{fmt.replace('.', '-')}").value = True
    await pilot.pause()
    assert app.screen.fmt == fmt
    inp = app.screen.query_one("#export-path")
    inp.value = str(path)
    inp.focus()
    await pilot.press("enter")


async def test_export_each_format_reads_back_as_the_listed_events(tmp_path) -> None:
    trail = _trail(tmp_path)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    app = _app(trail, tmp_path)
    async with run(app) as pilot:
        await wait_loaded(pilot)
        await _filter(pilot, "-event:ListBuckets")
        rows = [int(r) for r in app.view.rows]
        events = [app.store.event(r) for r in rows]
        assert len(events) == 3
        columns = app.events_list.visible_columns()
        for fmt, name in (("jsonl", "x.jsonl"), ("csv", "x.csv"), ("json.gz", "x.json.gz")):
            await _export(pilot, out_dir / name, fmt)
            await wait_for(
                pilot,
                lambda: not isinstance(app.screen, ExportScreen),
                20,
                what=f"the {fmt} export",
            )
            assert any(f"exported 3 events to {out_dir / name}" in t for t in toasts(app))

        # Refused inside the trail (evidence), saying why; nothing written there.
        before = sorted(p for p in trail.rglob("*"))
        await _export(pilot, trail / "AWSLogs" / "x.jsonl", "jsonl")
        await pilot.pause()
        assert "inside the loaded trail" in screen_text(app)
        await pilot.press("escape")
        assert sorted(p for p in trail.rglob("*")) == before

        # An existing file is replaced only when asked twice.
        (out_dir / "keep.jsonl").write_text("mine\n")
        await _export(pilot, out_dir / "keep.jsonl", "jsonl")
        await pilot.pause()
        assert "exists: Enter again replaces it" in screen_text(app)
        assert (out_dir / "keep.jsonl").read_text() == "mine\n"
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, ExportScreen), what="closed")
        assert (out_dir / "keep.jsonl").read_text() == "mine\n"

    # JSONL: each line is an event, value-exact, no raw control characters.
    data = (out_dir / "x.jsonl").read_bytes()
    assert b"\x1b" not in data and "\u202e".encode() not in data
    assert [json.loads(x) for x in data.splitlines()] == events
    # CSV: the list's columns, cells as the list shows them, formulas defused.
    got = list(csv.reader(io.StringIO((out_dir / "x.csv").read_text())))
    assert got[0] == columns and len(got) == 4
    if "agent" in columns:
        cell = got[2][columns.index("agent")]
        assert cell == "'" + clean(HOSTILE_UA)
    assert "\x1b" not in (out_dir / "x.csv").read_text()
    # json.gz: a CloudTrail file, read back by json and by trailscope itself.
    doc = json.loads(gzip.decompress((out_dir / "x.json.gz").read_bytes()))
    assert doc["Records"] == events
    back = [
        json.loads(x)
        for x in _cli("query", str(out_dir / "x.json.gz"), "--format", "jsonl").splitlines()
    ]
    assert back == events
    # The manifests: what was exported, from what, and its hash.
    for name, fmt in (("x.jsonl", "jsonl"), ("x.csv", "csv"), ("x.json.gz", "json.gz")):
        m = json.loads((out_dir / f"{name}.manifest.json").read_text())
        assert m["sha256"] == hashlib.sha256((out_dir / name).read_bytes()).hexdigest()
        assert m["events"] == 3 and m["format"] == fmt and m["filter"] == "-event:ListBuckets"
        assert m["paths"] == [str(trail)]
        assert (m["first_event"], m["last_event"]) == (
            "2026-11-20T10:00:01Z",
            "2026-11-20T10:00:03Z",
        )
    # ...and `trailscope query` as the manifest says reproduces the JSONL export.
    m = json.loads((out_dir / "x.jsonl.manifest.json").read_text())
    assert m["reproduce"][:2] == ["trailscope", "query"]
    assert _cli(*m["reproduce"][1:]).encode() == data
    assert not list(out_dir.glob(".*partial*"))


def test_export_cancel_leaves_nothing(tmp_path) -> None:
    from tui.core.discovery import discover
    from tui.core.loader import iter_batches
    from tui.core.store import Store

    trail = tmp_path / "trail"
    write_records(
        trail_path(trail),
        [event(time=f"2026-11-20T10:{i // 60:02d}:{i % 60:02d}Z") for i in range(3000)],
    )
    write_records(
        trail_path(trail, when="20261120T1105Z"),
        [event(time=f"2026-11-20T11:{i // 60:02d}:{i % 60:02d}Z") for i in range(3000)],
    )
    store = Store()
    for b in iter_batches(discover([str(trail)]).files, 1 << 30, 1):
        store.add(b)
    store.commit()
    cancel = threading.Event()
    seen: list[tuple[int, int]] = []

    def progress(done: int, total: int) -> None:
        seen.append((done, total))
        cancel.set()  # the user pressed cancel after the first step

    target = tmp_path / "out.jsonl"
    with pytest.raises(ExportCancelled):
        run_export(
            store,
            store.order,
            target,
            "jsonl",
            trail_paths=[str(trail)],
            progress=progress,
            cancel=cancel,
        )
    assert seen == [(4096, 6000)]
    assert list(tmp_path.iterdir()) == [trail]
    with pytest.raises(ExportError, match="inside the loaded trail"):
        run_export(
            store, np.empty(0, np.int64), trail / "x.jsonl", "jsonl", trail_paths=[str(trail)]
        )


async def test_files_screen_states_and_is_unverified_on_a_tampered_trail(tmp_path) -> None:
    from tests.digestgen import Signer, write_chain
    from tui.screens import SkippedScreen

    chain = write_chain(tmp_path / "bucket", Signer.new(), hours=3, files_per_hour=2)
    modified = chain.logs[1][0]
    recs = json.loads(gzip.decompress(modified.read_bytes()))["Records"]
    recs[0]["sourceIPAddress"] = "10.0.0.1"  # the attacker's IP, hidden
    modified.write_bytes(gzip.compress(json.dumps({"Records": recs}).encode()))
    deleted = chain.logs[2][1]
    deleted.unlink()
    # A file no digest lists, delivered long after the digests' hours.
    extra = write_records(
        trail_path(chain.root, when="20261125T1005Z"),
        [event("DeleteTrail", "2026-11-25T10:00:00Z", event_id="id-extra")],
    )
    app = _app(chain.root, tmp_path)
    async with run(app) as pilot:
        await wait_loaded(pilot)
        assert app.store.integrity is None  # checked only when asked for
        await pilot.press("S")
        await wait_for(pilot, lambda: isinstance(app.screen, SkippedScreen), what="Files")
        await wait_for(
            pilot,
            lambda: "integrity against the digest files: inconsistent" in screen_text(app),
            20,
            what="the integrity states",
        )
        text = screen_text(app)

        def state_of(p: Path) -> str:
            # The state is written before the (wrapped) path: the nearest one before it.
            at = text.index(p.name[-30:])
            return max(
                ("modified", "missing", "not covered", "verified", "unverifiable"),
                key=lambda s: text.rfind(s, 0, at),
            )

        assert state_of(modified) == "modified"
        assert state_of(deleted) == "missing"
        assert state_of(extra) == "not covered"
        assert {state_of(p) for p in (*chain.logs[0], chain.logs[1][1], chain.logs[2][0])} == {
            "verified"
        }
        await pilot.press("escape")
        await _filter(pilot, "is:unverified")
        got = sorted({app.store.file_of(int(r)).path for r in app.view.rows})
        assert got == sorted([str(modified), str(extra)])
        await _filter(pilot, "-is:unverified")
        assert len(app.view.rows) == 4  # the verified files' events


async def test_a_history_file_that_cannot_be_written_is_said_once(tmp_path) -> None:
    trail = _trail(tmp_path)
    (tmp_path / "blocker").write_text("a file where the history's folder should be")
    app = make_app([trail], history=FilterHistory(tmp_path / "blocker" / "history"))
    async with run(app) as pilot:
        await wait_loaded(pilot)
        for text in ("has:error", "event:RunInstances", "-has:error"):
            await _filter(pilot, text)
            app.evidence.flush_history()
        said = [t for t in toasts(app) if "cannot save filter history" in t]
        assert len(said) == 1
        # The history of this run still works.
        await pilot.press("slash")
        await pilot.press("up")
        assert app.filter_input.value == "-has:error"
        # Without a case file to write, marking says how to get one.
        await pilot.press("escape")
        await pilot.press("m")
        await pilot.pause()
        assert any("--case PATH" in t for t in toasts(app))


def test_explore_refuses_a_case_file_inside_the_trail(tmp_path) -> None:
    trail = _trail(tmp_path)
    got = subprocess.run(
        [
            sys.executable,
            "-m",
            "tui",
            "explore",
            str(trail),
            "--case",
            str(trail / "AWSLogs" / "case.sqlite"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert got.returncode == 2
    assert "inside the trail" in got.stderr and "evidence" in got.stderr
    assert not (trail / "AWSLogs" / "case.sqlite").exists()


async def test_the_detail_pane_shows_the_events_labels_and_note(tmp_path) -> None:
    """Marking or noting an event shows at once in the detail pane's Case section (the
    note's markup inert); f on a label filters to the events marked with it."""
    from tests.test_detail import fact, fact_text, section
    from widgets.detail import DetailPane

    trail = _trail(tmp_path)
    app = _app(trail, tmp_path)
    async with run(app, (160, 50)) as pilot:
        await wait_loaded(pilot)
        pane = app.query_one(DetailPane)
        await _cursor_to(pilot, "id-list-1")
        with pytest.raises(AssertionError):
            section(pane, "case")  # nothing marked yet: no section
        await pilot.press("m")
        await wait_for(pilot, lambda: isinstance(app.screen, MarkScreen), what="mark picker")
        await pilot.press("1")  # suspicious
        await wait_for(pilot, lambda: not isinstance(app.screen, MarkScreen), what="close")
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, NoteScreen), what="note")
        await pilot.press(*"from [@click=app.quit]odd[/] IP")
        await pilot.press("enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, NoteScreen), what="close")
        await settle(pilot)
        assert fact_text(pane, "case", "Marked") == "suspicious"
        assert fact_text(pane, "case", "Note").startswith("from [@click=app.quit]odd[/] IP")
        assert "[@click=app.quit]" in screen_text(app)  # shown as typed, not run
        pane.focus()
        pane.move_cursor(fact(pane, "case", "Marked"), animate=False)
        await pilot.press("f")
        await settle(pilot)
        assert app.query_obj.text == "mark:suspicious"
        assert _ids(app) == ["id-list-1"]
