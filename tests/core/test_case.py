"""The case file on its own: marks, notes, saved filters, its schema, where it may live."""

from __future__ import annotations

import os
import pathlib
import shutil
import sqlite3
import stat
import time

import pytest

from tui.core.case import (
    APPLICATION_ID,
    DEFAULT_LABELS,
    SCHEMA_VERSION,
    Case,
    CaseError,
    CaseUnreadable,
    EventKey,
    EventRecord,
    check_case_location,
    default_case_path,
    normalize_label,
    open_case_for,
)

KEY = EventKey("0c1d2e3f-aaaa-bbbb-cccc-000000000001", 1_795_000_000_000, "CreateAccessKey")
REC = EventRecord(
    KEY,
    event_time="2026-11-20T10:00:00Z",
    principal="arn:aws:iam::1:user/a",
    source_ip="203.0.113.9",
    original=b'{"eventID":"x"}',
    sha256="ab" * 32,
)


@pytest.fixture
def case(tmp_path):
    with Case.open(tmp_path / "case.sqlite") as c:
        yield c


def test_marks_add_once_and_remove(case):
    assert case.mark(REC, "Suspicious", found_with="event:CreateAccessKey")
    assert not case.mark(REC, "suspicious")  # labels ignore case: already there
    time.sleep(0.002)  # marks are timed in ms; those of one millisecond list by label
    assert case.mark(REC, "ioc")
    (ev,) = case.events()
    assert ev.labels == ("suspicious", "ioc")
    assert ev.found_with == "event:CreateAccessKey"
    assert ev.record == REC
    assert case.unmark(KEY, "IOC") and not case.unmark(KEY, "ioc")
    assert case.events()[0].labels == ("suspicious",)
    assert case.unmark(KEY, "suspicious")
    assert case.events() == []  # no mark and no note: the event leaves the case


def test_first_snapshot_and_found_with_stay(case):
    case.mark(REC, "ioc", found_with="first filter")
    later = EventRecord(KEY, principal="someone else")
    case.mark(later, "benign", found_with="second filter")
    (ev,) = case.events()
    assert ev.record.principal == REC.principal and ev.found_with == "first filter"


def test_notes_set_replace_and_clear(case):
    n1 = case.set_note(REC, "line one\nline two", found_with="has:error")
    assert n1 is not None and n1.text == "line one\nline two"
    n2 = case.set_note(REC, "replaced")
    assert n2 is not None and n2.text == "replaced" and n2.created_at == n1.created_at
    assert n2.updated_at >= n1.updated_at
    (ev,) = case.events()
    assert ev.note == n2 and ev.labels == ()
    case.mark(REC, "ioc")
    assert case.set_note(REC, "  \n ") is None  # blank removes the note, the mark stays
    (ev,) = case.events()
    assert ev.note is None and ev.labels == ("ioc",)


def test_events_come_in_time_order_and_keys_stay_apart(case):
    a = EventRecord(EventKey("b-id", 2000, "X"))
    b = EventRecord(EventKey("a-id", 2000, "X"))
    c = EventRecord(EventKey("c-id", 1000, "X"))
    same_id_other_time = EventRecord(EventKey("c-id", 3000, "X"))
    no_id_1 = EventRecord(EventKey("", 1000, "X", "1" * 64))
    no_id_2 = EventRecord(EventKey("", 1000, "X", "2" * 64))
    for r in (a, b, c, same_id_other_time, no_id_1, no_id_2):
        case.mark(r, "ioc")
    got = [(e.key.event_id, e.key.time_ms, e.key.no_id_sha256[:1]) for e in case.events()]
    assert got == [
        ("", 1000, "1"),
        ("", 1000, "2"),
        ("c-id", 1000, ""),
        ("a-id", 2000, ""),
        ("b-id", 2000, ""),
        ("c-id", 3000, ""),
    ]


def test_labels_at_hand_and_label_rules(case):
    assert case.labels() == list(DEFAULT_LABELS)
    case.mark(REC, "lateral-movement")
    assert case.labels() == [*DEFAULT_LABELS, "lateral-movement"]
    assert normalize_label("  IOC ") == "ioc"
    for bad in ("", "two words", "a" * 41, "-lead", "x\u202ey", "x\x1by", "mark:x", "\u3164"):
        with pytest.raises(CaseError, match="label"):
            case.mark(REC, bad)
    (ev,) = case.events()
    assert ev.labels == ("lateral-movement",)  # nothing half-written


def test_saved_filters(case):
    case.save_filter("root use", "cred:root OR type:Root")
    case.save_filter("denied", "error:AccessDenied*")
    case.save_filter("denied", "error:*Denied*")  # replaces
    assert [(f.name, f.filter) for f in case.saved_filters()] == [
        ("denied", "error:*Denied*"),
        ("root use", "cred:root OR type:Root"),
    ]
    assert case.saved_filter("ROOT USE").filter == "cred:root OR type:Root"
    assert case.saved_filter("nope") is None
    with pytest.raises(CaseError, match="bad filter.*column"):
        case.save_filter("broken", "service:(")
    for bad in ("", "   ", "x" * 65, "a\x1bb"):
        with pytest.raises(CaseError, match="filter name"):
            case.save_filter(bad, "has:error")
    assert case.delete_filter("denied") and not case.delete_filter("denied")
    assert [f.name for f in case.saved_filters()] == ["root use"]


def test_everything_survives_reopening(tmp_path):
    p = tmp_path / "c.sqlite"
    with Case.open(p) as c:
        c.mark(REC, "ioc", "f")
        c.set_note(REC, "kept")
        c.save_filter("n", "has:error")
        c.record_trails(["/evidence/a", "/evidence/b"])
    with Case.open(p, create=False) as c:
        (ev,) = c.events()
        assert ev.labels == ("ioc",) and ev.note.text == "kept" and ev.record == REC
        assert c.saved_filter("n").filter == "has:error"
        assert c.trails() == ["/evidence/a", "/evidence/b"]
        assert c.meta()["created_by"].startswith("trailscope ")


def test_schema_is_versioned_and_marked_as_a_case(tmp_path):
    p = tmp_path / "c.sqlite"
    Case.open(p).close()
    db = sqlite3.connect(p)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert db.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # one file at rest
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_schema WHERE type = 'table'")}
    assert tables == {"meta", "trails", "events", "marks", "notes", "saved_filters"}
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.commit()
    db.close()
    with pytest.raises(CaseUnreadable, match="newer trailscope"):
        Case.open(p)


def test_files_that_are_not_cases_are_refused_and_left_alone(tmp_path):
    junk = tmp_path / "junk"
    junk.write_bytes(b"not a database at all" * 50)
    with pytest.raises(CaseUnreadable, match="not a usable case file"):
        Case.open(junk)
    assert junk.read_bytes() == b"not a database at all" * 50
    other = tmp_path / "other.sqlite"
    db = sqlite3.connect(other)
    db.execute("CREATE TABLE t (x)")
    db.commit()
    db.close()
    with pytest.raises(CaseUnreadable, match="not a trailscope case"):
        Case.open(other)
    with pytest.raises(CaseError, match="no such case file"):
        Case.open(tmp_path / "missing.sqlite", create=False)
    assert not (tmp_path / "missing.sqlite").exists()
    with pytest.raises(CaseError, match="is a folder"):
        Case.open(tmp_path)


def test_an_empty_file_becomes_a_case(tmp_path):
    # What a kill between creating the file and its first transaction leaves.
    p = tmp_path / "c.sqlite"
    p.write_bytes(b"")
    with Case.open(p) as c:
        c.mark(REC, "ioc")
        assert len(c.events()) == 1


def test_case_file_is_private(tmp_path):
    p = tmp_path / "sub" / "c.sqlite"
    Case.open(p).close()
    assert stat.S_IMODE(p.stat().st_mode) == 0o600


def test_a_write_that_cannot_happen_says_why_and_changes_nothing(tmp_path, monkeypatch):
    p = tmp_path / "c.sqlite"
    monkeypatch.setattr(Case, "BUSY_TIMEOUT_MS", 50)
    with Case.open(p) as c:
        other = sqlite3.connect(p, isolation_level=None)
        other.execute("BEGIN EXCLUSIVE")  # another process holding the file
        with pytest.raises(CaseError, match=f"{p}: cannot write: database is locked"):
            c.mark(REC, "ioc")
        other.execute("ROLLBACK")
        other.close()
        assert c.events() == []
        assert c.mark(REC, "ioc")  # and it works again once the file is free


def test_default_case_path_is_per_trail_in_the_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    a, b = tmp_path / "trailA", tmp_path / "trailB"
    a.mkdir()
    b.mkdir()
    pa = default_case_path([a])
    assert pa.parent == tmp_path / "data" / "trailscope" / "cases"
    assert pa.name.startswith("trailA-") and pa.suffix == ".sqlite"
    assert default_case_path([b, a]) == default_case_path([a, b, a / "."]) != pa
    assert default_case_path([str(a) + "/"]) == pa
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_case_path([a]).parent == tmp_path / "home/.local/share/trailscope/cases"
    monkeypatch.setenv("XDG_DATA_HOME", "relative/dir")  # invalid per the spec: ignored
    assert default_case_path([a]).parent == tmp_path / "home/.local/share/trailscope/cases"


def test_a_case_inside_a_trail_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    bucket = tmp_path / "bucket"
    region = bucket / "AWSLogs" / "111122223333" / "CloudTrail" / "us-east-1"
    region.mkdir(parents=True)
    log = region / "x.json.gz"
    log.write_bytes(b"")
    for inside in (region / "case.sqlite", region / "sub" / "c.sqlite", log):
        with pytest.raises(CaseError, match="inside the trail"):
            check_case_location(inside, [region])
    # Anywhere in the bucket copy the path belongs to, even above the folder given.
    with pytest.raises(CaseError, match="evidence"):
        check_case_location(bucket / "case.sqlite", [region])
    with pytest.raises(CaseError, match="inside the trail"):
        open_case_for([region], region / "c.sqlite")
    assert not (region / "c.sqlite").exists()
    check_case_location(tmp_path / "case.sqlite", [region])  # beside the bucket: fine
    plain = tmp_path / "plain"
    plain.mkdir()
    f = plain / "events.json"
    f.write_text("{}")
    check_case_location(plain / "case.sqlite", [f])  # a file given: only the file itself
    # The default case, opened for writing, records the trail it serves.
    with open_case_for([region]) as c:
        assert c.path == default_case_path([region])
        assert c.trails() == [str(region.resolve())]


def test_no_time_is_the_stores():
    from tui.core import case, normalize

    assert case.NO_TIME == normalize.NO_TIME


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give up root (setuid nobody)")
def test_a_case_folder_the_user_cannot_enter_is_a_reason_not_a_crash(tmp_path):
    """Another user's data folder (here root's, entered as `nobody`): opening a case
    there raises CaseError with the reason, which the CLI reports or treats as no case."""
    import tempfile

    base = pathlib.Path(tempfile.mkdtemp(prefix="trailscope-test-"))  # `nobody` may enter
    os.chmod(base, 0o755)
    (base / "trail").mkdir(mode=0o755)
    private = base / "private"
    private.mkdir(mode=0o700)
    case_path = private / "x.sqlite"
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        msg = b"no error"
        try:
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            try:
                open_case_for([str(base / "trail")], case_path, create=False)
            except CaseError as e:
                msg = f"CaseError: {e}".encode()
            except BaseException as e:  # noqa: BLE001 - reported to the parent
                msg = f"{type(e).__name__}: {e}".encode()
        finally:
            os.write(w, msg)
            os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        got = f.read().decode()
    os.waitpid(pid, 0)
    shutil.rmtree(base)
    assert got == f"CaseError: {case_path}: cannot reach the case file: Permission denied"
