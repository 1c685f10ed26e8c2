from tui.core.normalize import parse_time_ms
from tui.timeparse import parse_jump_time


def test_jump_time_accepts_the_filter_language_time_forms():
    assert parse_jump_time("2026-11-20T10:05", None) == parse_time_ms("2026-11-20T10:05:00Z")
    assert parse_jump_time("2026-11-20 10:05", None) == parse_time_ms("2026-11-20T10:05:00Z")
    assert parse_jump_time("2026-11-20", None) == parse_time_ms("2026-11-20T00:00:00Z")
    newest = parse_time_ms("2026-11-20T12:00:00Z")
    assert parse_jump_time("-2h", newest) == parse_time_ms("2026-11-20T10:00:00Z")
    assert parse_jump_time("-2h", None) is None
    assert parse_jump_time("now-1m", None, now_ms=120_000) == 60_000
    for bad in ("", "yesterday", "2026-13-01", "service:x"):
        assert parse_jump_time(bad, newest) is None
