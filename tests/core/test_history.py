"""Filter history: kept across runs, per user, bounded, any text, never torn."""

from __future__ import annotations

from tui.core.history import DEFAULT_LIMIT, FilterHistory, default_history_path


def test_history_survives_a_restart_newest_last_without_repeats(tmp_path):
    p = tmp_path / "history"
    h = FilterHistory(p)
    for text in ("service:s3*", "has:error", "  service:s3*  ", "", "   ", "cred:root"):
        assert h.add(text)
    assert h.entries() == ["has:error", "service:s3*", "cred:root"]
    assert FilterHistory(p).entries() == ["has:error", "service:s3*", "cred:root"]


def test_history_is_bounded(tmp_path):
    p = tmp_path / "history"
    h = FilterHistory(p, limit=5)
    for i in range(12):
        h.add(f"event:E{i}")
    assert h.entries() == [f"event:E{i}" for i in range(7, 12)]
    assert len(p.read_text().splitlines()) == 5
    assert FilterHistory(p, limit=3).entries() == [f"event:E{i}" for i in range(9, 12)]
    assert DEFAULT_LIMIT == 500


def test_any_text_round_trips_and_the_file_stays_plain_ascii(tmp_path):
    p = tmp_path / "history"
    hostile = 'ua:"\x1b[31m" \u202e [@click=app.quit] "a\\"b" \ud800 line\nbreak ж'
    FilterHistory(p).add(hostile)
    assert FilterHistory(p).entries() == [hostile.strip()]
    raw = p.read_bytes()
    assert raw.isascii() and raw.count(b"\n") == 1 and b"\x1b" not in raw


def test_two_explorers_adding_at_once_keep_both(tmp_path):
    p = tmp_path / "history"
    a, b = FilterHistory(p), FilterHistory(p)
    a.add("from-a")
    b.add("from-b")  # b read the file before a wrote: it merges on write
    a.add("again-a")
    assert FilterHistory(p).entries() == ["from-a", "from-b", "again-a"]


def test_foreign_lines_are_skipped(tmp_path):
    p = tmp_path / "history"
    p.write_bytes(b'"ok one"\nnot json\n{"a": 1}\n\n"ok two"\n\xff\xfe\n')
    h = FilterHistory(p)
    assert h.entries() == ["ok one", "ok two"]
    h.add("three")
    assert FilterHistory(p).entries() == ["ok one", "ok two", "three"]


def test_an_unwritable_history_says_why_and_keeps_working_in_memory(tmp_path):
    blocker = tmp_path / "state"
    blocker.write_text("a file where the folder should be")
    h = FilterHistory(blocker / "trailscope" / "history")
    assert not h.add("has:error")
    assert h.error is not None and "cannot save filter history" in h.error
    assert h.entries() == ["has:error"]


def test_default_path_follows_xdg_state_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "st"))
    assert default_history_path() == tmp_path / "st" / "trailscope" / "history"
    monkeypatch.delenv("XDG_STATE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_history_path() == tmp_path / "home" / ".local/state/trailscope/history"
    h = FilterHistory()
    h.add("x")
    assert (tmp_path / "home/.local/state/trailscope/history").read_text() == '"x"\n'
