"""The CloudTrail key layout as trailscope reads it from S3 (pure functions)."""

from datetime import UTC, date, datetime, timedelta

import pytest

from tui.core.s3layout import (
    BadURL,
    Position,
    Window,
    parse_url,
    position,
    recent_days,
    start_after,
)


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


def test_urls() -> None:
    assert str(parse_url("s3://bkt")) == "s3://bkt/"
    assert parse_url("s3://bkt/pre").prefix == "pre/"
    assert parse_url("s3://bkt/pre/AWSLogs/").prefix == "pre/AWSLogs/"
    key = "AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/20/x.json.gz"
    assert parse_url(f"s3://bkt/{key}").prefix == key  # one object
    for bad in ("s3://", "s3:///key", "http://b/k"):
        with pytest.raises(BadURL):
            parse_url(bad)


def test_positions() -> None:
    assert position("") == Position("above")
    assert position("pre/") == Position("above")
    assert position("pre/AWSLogs/") == Position("awslogs")
    assert position("AWSLogs/o-abcdefghij/") == Position("org")
    assert position("AWSLogs/o-abcdefghij/111122223333/") == Position("account")
    assert position("AWSLogs/111122223333/CloudTrail/") == Position("service")
    assert position("AWSLogs/111122223333/CloudTrail/eu-west-1/") == Position("region")
    assert position("AWSLogs/111122223333/CloudTrail/eu-west-1/2026/11/") == Position(
        "date", ("2026", "11")
    )
    assert position("AWSLogs/111122223333/vpcflowlogs/") == Position("other")
    assert position("AWSLogs/111122223333/CloudTrail/eu-west-1/x/") == Position("other")


def test_window_chooses_day_folders_with_delivery_lag() -> None:
    w = Window(ms("2026-11-20T10:00:00"), ms("2026-11-21T00:00:00"))
    assert w.first_day() == date(2026, 11, 20)
    # Events up to the end of the 20th are delivered until early on the 21st.
    assert w.last_day() == date(2026, 11, 21)
    assert w.wants("2026") and w.wants("2026", "11") and not w.wants("2026", "10")
    assert not w.wants("2026", "11", "19") and w.wants("2026", "11", "20")
    assert w.wants("2026", "11", "21") and not w.wants("2026", "11", "22")
    assert not w.wants("2025") and Window().wants("1999", "01", "01")


def test_start_after_looks_back_from_the_newest_stamp() -> None:
    folder = "AWSLogs/1/CloudTrail/us-east-1/2026/11/20/"
    keys = [
        f"{folder}111122223333_CloudTrail_us-east-1_20261120T{hm}Z_{s}.json.gz"
        for hm, s in (("0905", "a"), ("0950", "b"), ("1005", "c"), ("1010", "d"))
    ]
    # an hour before 10:10 is 09:10: listing starts after the last key stamped before it
    assert start_after(keys, timedelta(hours=1)) == keys[0]
    assert start_after(keys, timedelta(minutes=10)) == keys[1]
    assert start_after(keys, timedelta(hours=3)) is None
    assert start_after([], timedelta(hours=1)) is None
    assert start_after([*keys, f"{folder}odd-name.json.gz"], timedelta(minutes=1)) is None


def test_recent_days() -> None:
    now = datetime(2026, 11, 20, 0, 5, tzinfo=UTC)
    assert recent_days(now) == [date(2026, 11, 19), date(2026, 11, 20)]


def test_the_default_case_of_an_s3_trail_is_named_by_its_url(tmp_path, monkeypatch) -> None:
    """Not by the folder it was opened from: `s3://b/p` is no local path."""
    from tui.core.case import default_case_path

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    here = default_case_path(["s3://bkt/pre"])
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert default_case_path(["s3://bkt/pre/"]) == here
    assert here.name.startswith("pre-")
    assert default_case_path(["s3://bkt/other/"]) != here
