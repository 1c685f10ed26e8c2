"""The list columns' config file (tui/core/listconfig.py)."""

from __future__ import annotations

import os

import pytest

from tui.core.listconfig import (
    ColumnSpec,
    ListConfigError,
    columns_path,
    load_columns,
    save_columns,
    valid_column,
)


def test_path_follows_xdg_config_home(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    assert columns_path() == tmp_path / "cfg" / "trailscope" / "columns.json"
    monkeypatch.delenv("XDG_CONFIG_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert columns_path() == tmp_path / "home" / ".config" / "trailscope" / "columns.json"


def test_round_trip(tmp_path) -> None:
    path = tmp_path / "trailscope" / "columns.json"
    assert load_columns(path) is None  # no file: the defaults
    cols = [
        ColumnSpec("principal", 30),
        ColumnSpec("time"),
        ColumnSpec("ua"),
        ColumnSpec("account", 20),
        ColumnSpec("requestParameters.bucketName"),
    ]
    assert save_columns(cols, path) == path
    assert load_columns(path) == cols
    # Rewritten in place: the new choice replaces the old, no temporary file is left.
    save_columns(cols[:2], path)
    assert load_columns(path) == cols[:2]
    assert os.listdir(path.parent) == ["columns.json"]


def test_a_failed_write_keeps_the_old_file(tmp_path, monkeypatch) -> None:
    path = tmp_path / "columns.json"
    save_columns([ColumnSpec("time")], path)
    before = path.read_bytes()

    def fail(*_a, **_k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", fail)
    with pytest.raises(OSError, match="No space"):
        save_columns([ColumnSpec("event")], path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["columns.json"]


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("{not json", "columns.json"),
        ('{"columns": []}', "expected"),
        ('["time"]', "expected"),
        ('{"columns": [{"name": "no pe"}]}', "not a column"),
        ('{"columns": [{"name": "time", "width": 2}]}', "width of time"),
        ('{"columns": [{"name": "time", "width": true}]}', "width of time"),
        ('{"columns": [{"name": "time"}, {"name": "time"}]}', "twice"),
        ('{"columns": [{"name": 3}]}', "not a column"),
    ],
)
def test_bad_files_are_reported_by_name(tmp_path, text: str, why: str) -> None:
    path = tmp_path / "columns.json"
    path.write_text(text)
    with pytest.raises(ListConfigError, match=why) as e:
        load_columns(path)
    assert str(path) in str(e.value)


def test_valid_columns() -> None:
    assert (
        valid_column("time")
        and valid_column("principal")
        and valid_column("requestParameters.a[0]")
    )
    assert not valid_column("no pe") and not valid_column(".[") and not valid_column("")
