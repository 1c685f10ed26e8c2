"""The parallel loader survives parser processes that die (OOM killer, SIGKILL, a
segfault on hostile data): every readable event loads exactly once, a file that keeps
killing its parser is reported unreadable with a reason, and nothing hangs or lingers.

The parse functions below run in spawned parser processes, which import this module to
find them by name; a file called `poison*` is the hostile one.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.trailgen import event, trail_path, write_records
from tui.core import loader
from tui.core.batch import FileBatch
from tui.core.discovery import discover
from tui.core.loader import death_verdict, load
from tui.core.parser_side import parse_task
from tui.core.store import Store

WORKER = "trailscope-parser"  # the name loader gives its parser processes


# ------------------------------------------------ parse functions run in the workers


def _die(path: str) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def parse_poison_always_dies(args: tuple[str, str, int]) -> FileBatch:
    if os.path.basename(args[0]).startswith("poison"):
        _die(args[0])
    return parse_task(args)


def parse_poison_dies_once(args: tuple[str, str, int]) -> FileBatch:
    if os.path.basename(args[0]).startswith("poison"):
        time.sleep(0.5)  # dies late: the other worker has parsed later files by then
        try:  # the marker is shared by every process, so only the first attempt dies
            os.close(os.open(args[0] + ".died", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            pass
        else:
            _die(args[0])
    return parse_task(args)


def parse_poison_raises(args: tuple[str, str, int]) -> FileBatch:
    if os.path.basename(args[0]).startswith("poison"):
        raise ValueError("parser bug")
    return parse_task(args)


def parse_and_tell_niceness(args: tuple[str, str, int]) -> FileBatch:
    b = parse_task(args)
    b.reason = f"nice {os.nice(0)}"
    return b


def parse_and_mark(args: tuple[str, str, int]) -> FileBatch:
    Path(args[0] + ".parsed").touch()
    return parse_task(args)


# ------------------------------------------------------------------------- helpers


def write_trail(root: Path, files: int, per_file: int) -> None:
    for k in range(files):
        write_records(
            trail_path(root, suffix=f"{k:016d}"),
            [
                event(f"E{i % 7}", f"2026-11-20T1{i % 10}:00:00Z", event_id=f"{k:04d}-{i:06d}")
                for i in range(per_file)
            ],
        )


def work_list(root: Path, poison: int | None = None) -> list[tuple[str, str, int]]:
    """(path, kind, max_bytes) per trail file, in discovery order; file `poison` is
    renamed so the parse functions above pick it out."""
    files = discover([root]).files
    work = []
    for k, f in enumerate(files):
        path = f.path
        if k == poison:
            path = os.path.join(os.path.dirname(path), "poison-" + os.path.basename(path))
            os.rename(f.path, path)
        work.append((path, f.kind, loader.DEFAULT_MAX_BYTES))
    return work


def bounded(fn: Callable[[], object], timeout: float = 60.0) -> object:
    """fn() in a thread: a hang fails the test instead of freezing the run."""
    out: dict[str, object] = {}

    def run() -> None:
        try:
            out["value"] = fn()
        except BaseException as e:  # re-raised in the test's thread
            out["error"] = e

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(timeout)
    assert not t.is_alive(), f"still running after {timeout}s: hung"
    if "error" in out:
        raise out["error"]  # type: ignore[misc]
    return out["value"]


def parsers() -> list[mp.process.BaseProcess]:
    return [c for c in mp.active_children() if c.name == WORKER]


def assert_gone(pids: list[int]) -> None:
    assert not parsers()
    for pid in pids:  # reaped, not just dead: no zombies either
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def ids_in_order(store: Store) -> list[str]:
    return [store.event(int(r))["eventID"] for r in store.ordered()]


@pytest.fixture(autouse=True)
def _parallel(monkeypatch):
    monkeypatch.setattr(loader, "PARALLEL_MIN_BYTES", 0)


# --------------------------------------------------------------------------- tests


def test_worker_killed_mid_load_loses_and_repeats_nothing(tmp_path):
    write_trail(tmp_path, files=16, per_file=2000)
    serial = load([tmp_path], jobs=1)
    killed: list[int] = []

    def on_progress(p: loader.Progress) -> None:
        if not killed:  # after the first file: the workers hold the next ones
            victim = parsers()[0]
            os.kill(victim.pid, signal.SIGKILL)
            killed.append(victim.pid)

    par = bounded(lambda: load([tmp_path], jobs=2, on_progress=on_progress))
    assert killed
    assert len(par) == len(serial) == 32_000
    assert par.duplicates == serial.duplicates == 0  # nothing parsed and added twice
    assert ids_in_order(par) == ids_in_order(serial)
    assert [(f.path, f.state, f.records) for f in par.files] == [
        (f.path, f.state, f.records) for f in serial.files
    ]
    assert_gone(killed)


@pytest.mark.parametrize("poison", [0, 3])
def test_file_that_kills_its_parser_once_is_retried_and_loaded(tmp_path, poison):
    write_trail(tmp_path, files=8, per_file=50)
    work = work_list(tmp_path, poison=poison)
    got = bounded(lambda: list(loader._parse_parallel(work, 2, parse=parse_poison_dies_once)))
    assert os.path.exists(work[poison][0] + ".died")  # it did kill a worker
    assert [b.path for b in got] == [w[0] for w in work]
    assert [(b.state, b.n) for b in got] == [("loaded", 50)] * 8
    # A worker's batches share value numbering and must reach the store in the order
    # it made them: a retried file must not go to a worker that has parsed later ones.
    store = Store()
    for b in got:
        store.add(b)  # raises "encoder batches arrived out of order" otherwise
    store.commit()
    assert len(store) == 400
    assert not parsers()


def test_file_that_always_kills_its_parser_is_reported_and_the_rest_load(tmp_path):
    write_trail(tmp_path, files=8, per_file=50)
    work = work_list(tmp_path, poison=2)
    got = bounded(
        lambda: list(
            loader._parse_parallel(
                work,
                2,
                sizes=[os.path.getsize(w[0]) for w in work],
                parse=parse_poison_always_dies,
            )
        )
    )
    assert [b.path for b in got] == [w[0] for w in work]
    bad = got[2]
    assert bad.state == "unreadable"
    assert bad.reason == "parser process died twice on this file (SIGKILL)"
    assert bad.n == 0 and bad.size == os.path.getsize(work[2][0])
    assert [(b.state, b.n) for i, b in enumerate(got) if i != 2] == [("loaded", 50)] * 7
    # and the store takes it like any unreadable file
    store = Store()
    for b in got:
        store.add(b)
    store.commit()
    assert len(store) == 350 and store.files[2].state == "unreadable"
    assert not parsers()


def test_death_verdict():
    assert death_verdict([-signal.SIGKILL]) is None  # once may be the OOM killer: retry
    assert death_verdict([-9, -9]) == "parser process died twice on this file (SIGKILL)"
    assert death_verdict([-9, -11]) == (
        "parser process died twice on this file (SIGKILL, then SIGSEGV)"
    )
    assert death_verdict([1, None]) == (
        "parser process died twice on this file (exit code 1, then cause unknown)"
    )


def test_closing_early_stops_every_parser(tmp_path):
    write_trail(tmp_path, files=12, per_file=500)
    gen = loader.iter_batches(discover([tmp_path]).files, jobs=2)
    assert next(gen).state == "loaded"
    pids = [p.pid for p in parsers()]
    assert len(pids) == 2
    t = time.monotonic()
    gen.close()
    assert time.monotonic() - t < 5  # terminated, not left to finish their files
    assert_gone(pids)


def test_consumer_error_stops_every_parser(tmp_path):
    write_trail(tmp_path, files=12, per_file=500)
    pids: list[int] = []
    with pytest.raises(KeyError):
        for _ in loader.iter_batches(discover([tmp_path]).files, jobs=2):
            pids = [p.pid for p in parsers()]
            raise KeyError("consumer failed")
    assert pids
    assert_gone(pids)


def test_parser_exception_is_raised_in_the_caller(tmp_path):
    write_trail(tmp_path, files=6, per_file=20)
    work = work_list(tmp_path, poison=4)
    with pytest.raises(ValueError, match="parser bug") as info:
        bounded(lambda: list(loader._parse_parallel(work, 2, parse=parse_poison_raises)))
    assert any("poison-" in note for note in info.value.__notes__)
    assert not parsers()


def test_parsers_run_at_most_a_window_ahead_of_the_consumer(tmp_path):
    write_trail(tmp_path, files=12, per_file=20)
    work = work_list(tmp_path)
    gen = loader._parse_parallel(work, 2, parse=parse_and_mark, window=4)
    try:
        next(gen)
        time.sleep(1.0)  # the workers finish whatever they were given
        parsed = sum(os.path.exists(w[0] + ".parsed") for w in work)
        assert 1 <= parsed <= 4
        assert len(list(gen)) == 11
    finally:
        gen.close()


@pytest.mark.skipif(not hasattr(os, "nice"), reason="POSIX niceness")
def test_parser_processes_run_as_much_nicer_as_asked(tmp_path):
    """The explorer's parsers yield the CPU to its UI thread: asked to, every parser
    process (the load's and the tail's) runs that many steps nicer than its parent."""
    from tui.core.loader import parser_process

    write_trail(tmp_path, files=6, per_file=5)
    mine = os.nice(0)
    want = {f"nice {min(19, mine + 7)}"}
    got = bounded(
        lambda: list(
            loader._parse_parallel(work_list(tmp_path), 2, nice=7, parse=parse_and_tell_niceness)
        )
    )
    assert {b.reason for b in got} == want and len(got) == 6  # type: ignore[attr-defined]
    plain = bounded(
        lambda: list(loader._parse_parallel(work_list(tmp_path), 2, parse=parse_and_tell_niceness))
    )
    assert {b.reason for b in plain} == {f"nice {mine}"}  # type: ignore[attr-defined]
    with parser_process(7) as pool:
        assert pool.submit(os.nice, 0).result(timeout=60) == min(19, mine + 7)
    assert os.nice(0) == mine  # the parent's own is untouched


@pytest.mark.skipif(not hasattr(__import__("fcntl"), "F_GETPIPE_SZ"), reason="Linux pipes")
def test_result_pipes_hold_a_whole_batch():
    """A parser's results pipe is widened (when the system allows it), so a batch of a
    few hundred kB goes through in one write rather than 64 kB at a time."""
    import fcntl

    r, w = os.pipe()
    try:
        fcntl.fcntl(w, fcntl.F_SETPIPE_SZ, loader._PIPE_BYTES)
    except OSError:
        pytest.skip("this system refuses bigger pipes")
    finally:
        os.close(r)
        os.close(w)
    worker = loader._start_worker(parse_task, "")  # "": the corpus stays in the batches
    try:
        assert fcntl.fcntl(worker.results.fileno(), fcntl.F_GETPIPE_SZ) >= loader._PIPE_BYTES
    finally:
        loader._stop_workers([worker], now=True)
