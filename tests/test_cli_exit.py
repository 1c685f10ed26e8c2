"""A `trailscope` process leaves what its command loaded to the process's end instead of
freeing it (tui/cli.py `leave_to_exit`); `cli.main` called in-process frees it as usual."""

from __future__ import annotations

import gc
import subprocess
import sys
import weakref

import orjson

from tests.trailgen import event, trail_path, write_records
from tui import cli


def _trail(tmp_path, n: int = 5):
    recs = [
        event("GetObject", f"2026-11-20T10:0{i}:00Z", source="s3.amazonaws.com") for i in range(n)
    ]
    write_records(trail_path(tmp_path, "2026/11/20", "a.json.gz"), recs)
    return tmp_path


def _store_refs(monkeypatch) -> list[weakref.ref]:
    """Weak references to every store the command loads."""
    refs: list[weakref.ref] = []
    real = cli.load

    def load(*a, **kw):
        store = real(*a, **kw)
        refs.append(weakref.ref(store))
        return store

    monkeypatch.setattr(cli, "load", load)
    return refs


def test_the_entry_point_leaves_the_loaded_store_alive_to_the_end(tmp_path, monkeypatch, capsys):
    refs = _store_refs(monkeypatch)
    monkeypatch.setattr(
        sys, "argv", ["trailscope", "query", str(_trail(tmp_path)), "--format", "count"]
    )
    from tui.__main__ import main

    try:
        assert main() == 0
        assert gc.get_freeze_count() > 0  # out of the last collection's sight
    finally:
        gc.unfreeze()  # this process goes on with other tests
    assert capsys.readouterr().out.strip() == "5"
    gc.collect()
    assert len(refs) == 1 and refs[0]() is not None  # not freed: the process ends now
    assert cli._loaded is None  # and nothing more is kept for later commands


def test_cli_main_in_process_frees_the_store(tmp_path, monkeypatch, capsys):
    refs = _store_refs(monkeypatch)
    assert cli.main(["query", str(_trail(tmp_path)), "--format", "count"]) == 0
    assert capsys.readouterr().out.strip() == "5"
    gc.collect()
    assert len(refs) == 1 and refs[0]() is None


def test_a_trailscope_process_writes_all_its_output_and_exits_cleanly(tmp_path):
    root = _trail(tmp_path, 7)
    p = subprocess.run(
        [sys.executable, "-m", "tui", "query", str(root), "--format", "jsonl"],
        capture_output=True,
        timeout=120,
    )
    assert p.returncode == 0, p.stderr[-2000:]
    lines = p.stdout.splitlines()
    assert len(lines) == 7 and all(orjson.loads(line)["eventName"] == "GetObject" for line in lines)
    assert b"Traceback" not in p.stderr
