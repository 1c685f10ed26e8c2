"""Live tail with real watchfiles on a tmp dir: files land while the engine watches."""

from __future__ import annotations

import asyncio
import gzip
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from tests.trailgen import event, trail_path, write_records
from tui.core.batch import FileBatch
from tui.core.loader import load
from tui.core.store import Store
from tui.core.tail import FollowEvent, TailTracker, follow

ROOT = Path(__file__).resolve().parents[2]


def today(hhmm: str = "0005") -> str:
    """A `when` for trail_path in today's (UTC) day folder: one the tail watches."""
    return datetime.now(UTC).strftime("%Y%m%dT") + hhmm + "Z"


class Harness:
    """Runs follow() into a real Store, the way the app and the CLI do."""

    def __init__(
        self,
        root,
        poll: bool = False,
        rescan_s: float = 1.0,
        give_up_s: float = 30,
        jobs: int | None = None,
    ):
        self.root = root
        self.store = load([root]) if root.exists() else Store()
        self.tracker = TailTracker([root], give_up_s=give_up_s)
        self.tracker.prime(self.store.files)
        self.notes: list[str] = []
        self.gone: list[str] = []
        self.rewritten: list[str] = []
        self.errors: list[tuple[str, str]] = []
        self.delivered: list[list[FileBatch]] = []  # the batches of each event
        self.modes: list[str] = []
        self.poll = poll
        self.rescan_s = rescan_s
        self.jobs = jobs
        self.fail_next = 0

    def on_event(self, ev: FollowEvent) -> None:
        if self.fail_next:
            self.fail_next -= 1
            raise RuntimeError("injected failure")
        if ev.note:
            self.notes.append(ev.note)
        self.modes.append(ev.mode)
        self.errors += ev.changes.errors
        self.store.report_errors(ev.changes.errors)
        for p in ev.changes.gone:
            self.store.mark_gone(p)
            self.gone.append(p)
        self.rewritten += ev.changes.rewritten
        if ev.batches:
            self.delivered.append(list(ev.batches))
        for b in ev.batches:
            self.store.add(b)
        if ev.batches:
            self.store.commit()

    async def __aenter__(self):
        self.stop = asyncio.Event()
        self.task = asyncio.create_task(
            follow(
                self.tracker,
                self.on_event,
                stop=self.stop,
                poll=self.poll,
                rescan_s=self.rescan_s,
                retry_s=0.2,
                jobs=self.jobs,
            )
        )
        await asyncio.sleep(0.3)  # watcher up
        return self

    async def __aexit__(self, *exc):
        self.stop.set()
        await asyncio.wait_for(self.task, 10)

    async def until(self, cond, timeout: float = 10.0) -> float:
        t0 = time.monotonic()
        while not cond():
            if time.monotonic() - t0 > timeout:
                raise AssertionError("condition not met in time")
            await asyncio.sleep(0.02)
        return time.monotonic() - t0

    def names(self) -> list[str]:
        return [self.store.value(int(r), "event") for r in self.store.ordered()]


def land(path, records, temp_suffix: str | None = ".1a2b3c4d"):
    """Write like `aws s3 sync`: a temp name, then rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = gzip.compress(orjson.dumps({"Records": records}), mtime=0)
    if temp_suffix is None:
        path.write_bytes(data)
        return
    tmp = path.with_name(path.name + temp_suffix)
    tmp.write_bytes(data)
    os.rename(tmp, path)


async def test_new_file_new_folder_and_temp_rename(tmp_path):
    write_records(trail_path(tmp_path), [event("Old")])
    async with Harness(tmp_path) as h:
        assert h.names() == ["Old"]
        land(
            trail_path(tmp_path, when="20261120T1010Z", suffix="n" * 16),
            [event("New", "2026-11-20T10:05:00Z")],
        )
        await h.until(lambda: len(h.store) == 2)
        # a new day folder, a new region and a new account appear
        land(
            trail_path(tmp_path, when="20261121T0005Z", region="eu-west-1", account="444455556666"),
            [event("NextDay", "2026-11-21T00:01:00Z", account="444455556666")],
        )
        await h.until(lambda: len(h.store) == 3)
        assert h.names() == ["Old", "New", "NextDay"]
        # the temp name alone is never loaded
        tmp = trail_path(tmp_path, suffix="t" * 16)
        tmp = tmp.with_name(tmp.name + ".0badf00d")
        tmp.write_bytes(gzip.compress(orjson.dumps({"Records": [event("Temp")]})))
        await asyncio.sleep(0.5)
        assert "Temp" not in h.names()
        os.rename(tmp, trail_path(tmp_path, suffix="t" * 16))
        await h.until(lambda: "Temp" in h.names())
        await asyncio.sleep(1.2)  # a rescan passes: nothing is loaded twice
        assert sorted(h.names()) == ["New", "NextDay", "Old", "Temp"]
        assert h.store.duplicates == 0


async def test_truncated_then_completed_loads_once(tmp_path):
    tmp_path.joinpath("AWSLogs").mkdir()
    async with Harness(tmp_path) as h:
        p = trail_path(tmp_path)
        p.parent.mkdir(parents=True)
        full = gzip.compress(orjson.dumps({"Records": [event(f"E{i}") for i in range(50)]}))
        p.write_bytes(full[: len(full) // 2])  # the writer is half way
        await asyncio.sleep(1.0)
        assert len(h.store) == 0 and p.as_posix() in h.tracker.waiting()
        p.write_bytes(full)
        await h.until(lambda: len(h.store) == 50)
        await asyncio.sleep(1.2)
        assert len(h.store) == 50 and h.store.duplicates == 0
        assert [f.state for f in h.store.files] == ["loaded"]


async def test_truncated_forever_is_reported_after_give_up(tmp_path):
    tmp_path.joinpath("AWSLogs").mkdir()
    async with Harness(tmp_path, give_up_s=0.5) as h:
        p = trail_path(tmp_path)
        p.parent.mkdir(parents=True)
        p.write_bytes(gzip.compress(b'{"Records":[{"a":1}]}')[:15])
        await h.until(lambda: any(f.state == "truncated" for f in h.store.files), 8)
        assert [p for p, _ in h.store.skipped()] == [str(p)]


async def test_deleted_file_keeps_events_and_is_reported(tmp_path):
    p = write_records(trail_path(tmp_path), [event("A"), event("B")])
    async with Harness(tmp_path) as h:
        os.remove(p)
        await h.until(lambda: h.gone == [str(p)])
        assert len(h.store) == 2 and h.store.files[0].gone


async def test_duplicates_across_files_counted_once(tmp_path):
    ev = event("Twice")
    write_records(trail_path(tmp_path), [ev])
    async with Harness(tmp_path) as h:
        land(trail_path(tmp_path, suffix="d" * 16), [ev, event("Other")])
        await h.until(lambda: len(h.store) == 2)
        assert h.store.duplicates == 1


async def test_rewritten_in_place_is_detected(tmp_path):
    p = write_records(trail_path(tmp_path), [event("A")])
    async with Harness(tmp_path) as h:
        await asyncio.sleep(0.1)
        write_records(p, [event("A2"), event("B2")])
        await h.until(lambda: h.rewritten == [str(p)])
        await h.until(lambda: len(h.store) == 3)


async def test_burst_of_2000_files_all_load(tmp_path):
    tmp_path.joinpath("AWSLogs").mkdir()
    async with Harness(tmp_path, rescan_s=2.0) as h:
        t0 = time.monotonic()
        for i in range(2000):
            land(
                trail_path(
                    tmp_path, when=f"20261120T{i // 60 % 24:02d}{i % 60:02d}Z", suffix=f"{i:016d}"
                ),
                [event(f"E{i}", f"2026-11-20T{i // 60 % 24:02d}:{i % 60:02d}:00Z")],
                temp_suffix=None,
            )
        await h.until(lambda: len(h.store) == 2000, timeout=60)
        print(f"2000 files landed and loaded in {time.monotonic() - t0:.2f}s")
        assert h.store.duplicates == 0 and len(h.store.files) == 2000


async def test_watcher_restarts_after_an_error(tmp_path):
    write_records(trail_path(tmp_path), [event("A")])
    async with Harness(tmp_path) as h:
        h.fail_next = 1
        land(trail_path(tmp_path, suffix="x" * 16), [event("B")])
        await h.until(lambda: any("restarted" in n for n in h.notes))
        # after the restart the rescan picks up what the failed round dropped
        land(trail_path(tmp_path, suffix="y" * 16), [event("C")])
        await h.until(lambda: sorted(h.names()) == ["A", "B", "C"])


async def test_root_disappears_and_comes_back(tmp_path):
    root = tmp_path / "trail"
    write_records(trail_path(root), [event("A")])
    async with Harness(root) as h:
        shutil.move(str(root), str(tmp_path / "away"))
        await h.until(lambda: any("come back" in n for n in h.notes))
        assert h.gone == []  # the root is away, the files are not "deleted"
        shutil.move(str(tmp_path / "away"), str(root))
        land(trail_path(root, suffix="z" * 16), [event("B")])
        await h.until(lambda: sorted(h.names()) == ["A", "B"])
        assert h.store.duplicates == 0


async def test_full_rescans_do_not_stop_the_event_loop(tmp_path):
    """The periodic rescan walks the whole tree (35 ms over the 1M benchmark trail):
    it must run beside the loop, which in the explorer is the UI thread."""
    write_records(trail_path(tmp_path), [event("A")])
    h = Harness(tmp_path, rescan_s=0.2)
    real = h.tracker.rescan
    slow: list[tuple[float, float]] = []

    def slow_rescan():
        t0 = time.monotonic()
        time.sleep(0.25)  # a slow walk, as on a huge tree or a network filesystem
        got = real()
        slow.append((t0, time.monotonic()))
        return got

    h.tracker.rescan = slow_rescan
    ticks: list[float] = []

    async def ticker():
        while True:
            ticks.append(time.monotonic())
            await asyncio.sleep(0.01)

    tick_task = asyncio.create_task(ticker())
    async with h:
        land(trail_path(tmp_path, suffix="r" * 16), [event("B")])
        await h.until(lambda: len(h.store) == 2 and len(slow) >= 3)
    tick_task.cancel()
    # The loop ticked all through every walk: no gap anywhere near a walk's length.
    for t0, t1 in slow:
        inside = [t for t in ticks if t0 <= t <= t1]
        assert len(inside) >= 5
        assert max(b - a for a, b in zip(inside, inside[1:], strict=False)) < 0.15
    assert sorted(h.names()) == ["A", "B"] and h.store.duplicates == 0


async def test_polling_mode_works(tmp_path):
    write_records(trail_path(tmp_path), [event("A")])
    async with Harness(tmp_path, poll=True) as h:
        land(trail_path(tmp_path, suffix="p" * 16), [event("B")])
        await h.until(lambda: len(h.store) == 2)


@pytest.mark.timeout(60)
def test_cli_follow_streams_through_a_pipe(tmp_path):
    write_records(trail_path(tmp_path), [event("Old", source="s3.amazonaws.com")])
    p = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tui",
            "query",
            "--follow",
            str(tmp_path),
            "-e",
            "service:s3.amazonaws.com",
            "--format",
            "jsonl",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        first = orjson.loads(p.stdout.readline())
        assert first["eventName"] == "Old"
        land(
            trail_path(tmp_path, suffix="q" * 16),
            [event("Skip"), event("Fresh", "2026-11-20T11:00:00Z", source="s3.amazonaws.com")],
        )
        line = p.stdout.readline()  # arrives without the process exiting: flushed per event
        assert orjson.loads(line)["eventName"] == "Fresh"
    finally:
        p.terminate()
        p.wait(10)
    assert p.returncode in (0, -15)


@pytest.mark.timeout(60)
def test_cli_follow_new_only(tmp_path):
    write_records(trail_path(tmp_path), [event("Old")])
    p = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tui",
            "query",
            "--follow",
            "--new-only",
            str(tmp_path),
            "--format",
            "jsonl",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        time.sleep(1.5)
        land(trail_path(tmp_path, suffix="q" * 16), [event("New")])
        assert orjson.loads(p.stdout.readline())["eventName"] == "New"
    finally:
        p.terminate()
        p.wait(10)


# ------------------------------------------------------------- paths as given
async def test_relative_root_keeps_one_name_per_file(tmp_path, monkeypatch):
    """`cd /some/dir; trailscope live`: the watcher names files by absolute path,
    discovery by the root as given. Each arrival must keep one name, or the next rescan
    took it for deleted and read it again under the other name."""
    monkeypatch.chdir(tmp_path)
    live = Path("live")
    first = write_records(trail_path(live, when=today()), [event("A")])
    async with Harness(live, rescan_s=0.3) as h:
        land(trail_path(live, when=today("0010"), suffix="b" * 16), [event("B")])
        land(trail_path(live, when=today("0015"), suffix="c" * 16), [event("C")])
        await h.until(lambda: len(h.store) == 3)
        await asyncio.sleep(1.0)  # rescans pass
        assert h.gone == [] and h.store.file_counts() == (3, 0, 0)
        os.remove(first)
        await h.until(lambda: h.gone)
        await asyncio.sleep(0.7)
    assert h.gone == [str(first)]
    assert h.store.file_counts() == (3, 0, 1)
    assert sorted(h.names()) == ["A", "B", "C"] and h.store.duplicates == 0
    assert all(not os.path.isabs(f.path) for f in h.store.files)


@pytest.mark.timeout(60)
def test_cli_follow_relative_path(tmp_path):
    """`trailscope query --follow live` from the trail's parent folder: arrivals are
    printed once and never reported deleted; a real deletion is, once."""
    old = write_records(trail_path(tmp_path / "live", when=today()), [event("Old")])
    p = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tui",
            "query",
            "--follow",
            "live",
            "--format",
            "jsonl",
            "--rescan",
            "0.3",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},  # this tree's code, from another folder
    )
    try:
        assert orjson.loads(p.stdout.readline())["eventName"] == "Old"
        time.sleep(1.0)  # the watcher is up: the arrival is the watcher's to report
        land(trail_path(tmp_path / "live", when=today("0010"), suffix="n" * 16), [event("New")])
        assert orjson.loads(p.stdout.readline())["eventName"] == "New"
        time.sleep(1.2)  # rescans pass
        os.remove(old)
        time.sleep(1.2)
    finally:
        p.terminate()
        _, err = p.communicate(timeout=10)
    deleted = [ln for ln in err.decode().splitlines() if "file deleted" in ln]
    assert deleted == [f"trailscope: file deleted (its events stay): {old}"]


# --------------------------------------------------------- reported once
async def test_walk_error_reported_once_and_cleared_when_the_file_loads(tmp_path):
    """A path that cannot be read (here a dangling symlink under a trail file name) is
    reported once, not on every rescan; once it resolves, the file loads and leaves
    the skipped list."""
    live = tmp_path / "live"
    write_records(trail_path(live, when=today()), [event("A")])
    link = trail_path(live, when=today("0010"), suffix="l" * 16)
    # Inside the trail (a link leading out of it is never followed), under a dot-name
    # that discovery leaves alone, so the file is read once, through the link.
    target = live / ".elsewhere.json.gz"
    async with Harness(live, rescan_s=0.2) as h:
        os.symlink(target, link)
        await h.until(lambda: h.errors)
        await asyncio.sleep(1.2)  # several rescans
        assert h.errors == [(str(link), "broken symlink")]
        assert h.store.skipped() == [(str(link), "error: broken symlink")]
        write_records(target, [event("Linked")])
        await h.until(lambda: len(h.store) == 2)
    assert h.store.skipped() == [] and h.store.file_counts() == (2, 0, 0)


class FollowerAsNobody:
    """`trailscope ARGS` in a forked child that gives up root first (when the tests run
    as root, which reads mode-000 files): then an unreadable file is really unreadable.
    Forked rather than exec'd, as `nobody` may not be able to open the interpreter."""

    def __init__(self, args: list[str]) -> None:
        # Imported before giving up root: `nobody` may not read the interpreter's files.
        from tui.cli import main

        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:  # pragma: no cover - the child
            code = 70
            try:
                os.dup2(out_w, 1)
                os.dup2(err_w, 2)
                if os.geteuid() == 0:
                    os.setgroups([])
                    os.setgid(65534)
                    os.setuid(65534)
                sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115
                sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
                code = main(args)
                sys.stdout.flush()
                sys.stderr.flush()
            finally:
                os._exit(code)
        os.close(out_w)
        os.close(err_w)
        self.stdout = os.fdopen(out_r, "rb")
        self.stderr = os.fdopen(err_r, "rb")

    def stop(self) -> str:
        os.kill(self.pid, signal.SIGTERM)
        os.waitpid(self.pid, 0)
        self.stdout.close()
        with self.stderr:
            return self.stderr.read().decode()


@pytest.mark.timeout(60)
def test_cli_follow_reports_an_unreadable_file_once(tmp_path):
    """A file its reader may not open (mode 000) is reported once, and not re-read on
    every rescan as "rewritten in place"."""
    base = Path(tempfile.mkdtemp(prefix="trailscope-test-"))  # a folder `nobody` may enter
    try:
        os.chmod(base, 0o755)
        live = base / "live"
        write_records(trail_path(live, when=today()), [event("Readable")])
        locked = write_records(trail_path(live, when=today("0010"), suffix="k" * 16), [event("L")])
        os.chmod(locked, 0)
        p = FollowerAsNobody(
            ["query", "--follow", str(live), "--format", "jsonl", "--rescan", "0.2"]
        )
        try:
            assert orjson.loads(p.stdout.readline())["eventName"] == "Readable"
            # Another unreadable file arrives while following (renamed into place).
            late = trail_path(live, when=today("0015"), suffix="z" * 16)
            tmp = late.with_name(late.name + ".0badf00d")
            tmp.write_bytes(gzip.compress(orjson.dumps({"Records": [event("Late")]})))
            os.chmod(tmp, 0)
            os.rename(tmp, late)
            time.sleep(2.5)  # a dozen rescans
        finally:
            err = p.stop()
        lines = err.splitlines()
        assert not [ln for ln in lines if "rewritten" in ln], lines
        assert [ln for ln in lines if str(late) in ln] == [
            f"trailscope: skipped {late}: permission-denied: permission denied"
        ]
        assert not [ln for ln in lines if str(locked) in ln]  # skipped at load, said there
    finally:
        shutil.rmtree(base, ignore_errors=True)


async def test_skipped_file_that_later_loads_leaves_the_skipped_list(tmp_path):
    """A file truncated at load time, and one that arrives empty and is given up on,
    both complete later: they load, leave the skipped list, and are not "rewritten"."""
    p = trail_path(tmp_path, when=today())
    p.parent.mkdir(parents=True)
    full = gzip.compress(orjson.dumps({"Records": [event(f"E{i}") for i in range(50)]}))
    p.write_bytes(full[: len(full) // 2])  # the writer is half way
    async with Harness(tmp_path, rescan_s=0.3, give_up_s=0.3) as h:
        assert [q for q, _ in h.store.skipped()] == [str(p)]
        p.write_bytes(full)
        await h.until(lambda: len(h.store) == 50)
        assert h.store.skipped() == [] and h.store.file_counts() == (1, 0, 0)

        q = trail_path(tmp_path, when=today("0010"), suffix="e" * 16)
        q.write_bytes(b"")
        await h.until(lambda: [x for x, _ in h.store.skipped()] == [str(q)])
        await asyncio.sleep(0.7)
        write_records(q, [event("Late")])
        await h.until(lambda: len(h.store) == 51)
        await asyncio.sleep(0.7)  # rescans pass
    assert h.store.skipped() == []
    assert h.store.file_counts() == (2, 0, 0)
    assert h.store.file_states() == {"loaded": 2}
    assert h.rewritten == [] and h.store.duplicates == 0


# ------------------------------------------------------------------- bursts
async def test_a_burst_goes_to_the_parser_processes_in_chunks(tmp_path, monkeypatch):
    """A round with much to parse is handed to the loader's parser processes (their
    batches carry a persistent encoder's token) and delivered in load-sized chunks;
    every event is loaded once."""
    import tui.core.loader as loader_mod
    import tui.core.tail as tail_mod

    monkeypatch.setattr(tail_mod, "BULK_MIN_BYTES", 1)  # every round is "big"
    monkeypatch.setattr(loader_mod, "PARALLEL_MIN_BYTES", 1)
    monkeypatch.setattr(tail_mod, "COMMIT_EVERY", 400)  # events per chunk
    write_records(trail_path(tmp_path / "live", when=today()), [event("First")])
    staging = tmp_path / "staging"
    for i in range(300):
        when = today(f"{i // 60:02d}{i % 60:02d}")
        write_records(
            trail_path(staging, when=when, suffix=f"{i:016d}"),
            [event(f"E{i}-{k}") for k in range(5)],
        )
    async with Harness(tmp_path / "live", rescan_s=30.0, jobs=2) as h:
        # A whole account folder arrives at once, as `mv` or a sync tool makes it.
        os.rename(
            staging / "AWSLogs" / "111122223333", tmp_path / "live" / "AWSLogs" / "222233334444"
        )
        await h.until(lambda: len(h.store) == 1501, timeout=60)
    burst = [b for batches in h.delivered for b in batches]
    assert len(burst) == 300 and all(b.enc_token for b in burst)
    assert len(h.delivered) >= 3  # 1,500 events in chunks of about 400
    assert h.store.duplicates == 0 and h.store.file_counts() == (301, 0, 0)


# ------------------------------------------------------------ what is watched
def test_only_folders_that_can_receive_files_are_watched(tmp_path):
    """A year-long trail has a folder per day: only recent day folders, the folders
    above them, and folders that appear later get an OS watch."""
    now = datetime.now(UTC)
    for d in range(365):
        day = now - timedelta(days=d)
        write_records(
            trail_path(tmp_path, when=day.strftime("%Y%m%dT0000Z"), suffix=f"{d:016d}"),
            [event(f"D{d}")],
        )
    tracker = TailTracker([tmp_path])
    tracker.rescan()
    tracker.scanned()
    watched = tracker.watch_folders()
    region = tmp_path / "AWSLogs" / "111122223333" / "CloudTrail" / "us-east-1"
    recent = {str(region / (now - timedelta(days=d)).strftime("%Y/%m/%d")) for d in range(3)}
    assert recent <= set(watched)
    depth = str(region).count("/") + 3  # region/YYYY/MM/DD
    days = [w for w in watched if w.startswith(f"{region}/") and w.count("/") == depth]
    assert sorted(days) == sorted(recent)
    assert len(watched) < 30 and len(tracker.folders) > 365
    # A folder that appears later (a sync filling in an old day) is watched.
    old = region / (now - timedelta(days=400)).strftime("%Y/%m/%d")
    write_records(
        trail_path(tmp_path, when=(now - timedelta(days=400)).strftime("%Y%m%dT0000Z")),
        [event("Old")],
    )
    tracker.changes_for([str(old.parent)])  # the new month folder, as a watcher reports it
    assert str(old) in tracker.watch_folders()
    # An old day folder named as the root is watched: the user asked for it.
    day_root = TailTracker([str(region / (now - timedelta(days=100)).strftime("%Y/%m/%d"))])
    day_root.rescan()
    assert day_root.watch_folders() == day_root.paths


def _userns_watch_limit(limit: int) -> list[str] | None:
    """A command prefix that runs a process with a real inotify watch limit of `limit`
    (a user namespace of its own, whose limit it may set; the machine's sysctl is not
    touched), or None where user namespaces are not available."""
    prefix = [
        "unshare",
        "--user",
        "--map-root-user",
        "sh",
        "-c",
        f'echo {limit} > /proc/sys/user/max_inotify_watches && exec "$@"',
        "sh",
    ]
    try:
        ok = subprocess.run([*prefix, "true"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return None
    return prefix if ok else None


FOLLOW_PROBE = """
import asyncio, json, os, sys, time
from tui.core.loader import load
from tui.core.tail import TailTracker, follow

root, staged, final = sys.argv[1:4]
store = load([root])
tracker = TailTracker([root])
tracker.prime(store.files)
notes, modes = [], []

def on_event(ev):
    if ev.note:
        notes.append(ev.note)
    modes.append(ev.mode)
    for b in ev.batches:
        store.add(b)
    store.commit()

async def main():
    stop = asyncio.Event()
    task = asyncio.create_task(follow(tracker, on_event, stop=stop, rescan_s=float(sys.argv[4]),
                                      retry_s=0.2))
    await asyncio.sleep(1.0)
    before = len(store)
    os.rename(staged, final)
    t0 = time.monotonic()
    while len(store) == before and time.monotonic() - t0 < 20:
        await asyncio.sleep(0.02)
    found = time.monotonic() - t0
    await asyncio.sleep(1.5)  # more rescans: nothing is said twice
    stop.set()
    await task
    print(json.dumps({"events": len(store), "found_s": found, "notes": notes,
                      "mode": modes[-1] if modes else None}))

asyncio.run(main())
"""


def _year_of_folders(root: Path, days: int = 120) -> tuple[Path, Path]:
    now = datetime.now(UTC)
    for d in range(1, days):
        day = now - timedelta(days=d)
        write_records(
            trail_path(root, when=day.strftime("%Y%m%dT0000Z"), suffix=f"{d:016d}"),
            [event(f"D{d}")],
        )
    final = trail_path(root, when=today(), suffix="n" * 16)
    final.parent.mkdir(parents=True, exist_ok=True)
    staged = final.with_name(final.name + ".1a2b3c4d")  # an in-flight name: ignored
    staged.write_bytes(gzip.compress(orjson.dumps({"Records": [event("New")]})))
    return staged, final


def _probe(prefix: list[str], root: Path, staged: Path, final: Path, rescan_s: float) -> dict:
    out = subprocess.run(
        [
            *prefix,
            sys.executable,
            "-c",
            FOLLOW_PROBE,
            str(root),
            str(staged),
            str(final),
            str(rescan_s),
        ],
        capture_output=True,
        timeout=60,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr.decode()
    return orjson.loads(out.stdout.splitlines()[-1])


@pytest.mark.timeout(90)
def test_a_long_trail_fits_a_low_watch_limit(tmp_path):
    """With 40 watches allowed (a real inotify limit, in a user namespace), a trail with
    120 day folders is still watched: a new file is seen at once, long before the
    rescan (30 s) would find it."""
    prefix = _userns_watch_limit(40)
    if prefix is None:
        pytest.skip("no user namespaces here: cannot set a real inotify watch limit")
    staged, final = _year_of_folders(tmp_path)
    got = _probe(prefix, tmp_path, staged, final, rescan_s=30.0)
    assert got["notes"] == [] and got["mode"] == "watch"
    assert got["events"] == 120 and got["found_s"] < 5


@pytest.mark.timeout(90)
def test_watch_limit_falls_back_to_rescans_and_says_so_once(tmp_path):
    """With 3 watches allowed, watching fails with the OS's own limit error: the
    follower says so once and finds new files by rescanning."""
    prefix = _userns_watch_limit(3)
    if prefix is None:
        pytest.skip("no user namespaces here: cannot set a real inotify watch limit")
    staged, final = _year_of_folders(tmp_path, days=10)
    got = _probe(prefix, tmp_path, staged, final, rescan_s=0.3)
    assert got["events"] == 10 and got["mode"] == "rescan"
    assert len(got["notes"]) == 1 and "ran out of file watches" in got["notes"][0]
    # The interval given (--rescan 0.3), or longer when a rescan itself takes long (a
    # busy machine): rescans are spaced to ten times their cost.
    every = re.search(r"rescan every ([0-9.]+) s", got["notes"][0])
    assert every is not None and float(every.group(1)) >= 0.3


@pytest.mark.timeout(90)
def test_cli_says_once_when_the_watch_limit_is_reached(tmp_path):
    prefix = _userns_watch_limit(3)
    if prefix is None:
        pytest.skip("no user namespaces here: cannot set a real inotify watch limit")
    staged, final = _year_of_folders(tmp_path, days=10)
    p = subprocess.Popen(
        [
            *prefix,
            sys.executable,
            "-m",
            "tui",
            "query",
            "--follow",
            str(tmp_path),
            "--format",
            "jsonl",
            "--new-only",
            "--rescan",
            "0.3",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )
    try:
        # The note comes when following starts, after the initial load: only a file
        # that lands after it is new (a fixed sleep raced the load on a busy machine).
        first = p.stderr.readline().decode()
        os.rename(staged, final)
        assert orjson.loads(p.stdout.readline())["eventName"] == "New"
        time.sleep(1.0)
    finally:
        p.terminate()
        _, err = p.communicate(timeout=10)
    lines = [first, *err.decode().splitlines()]
    assert len(lines) == 1 and "ran out of file watches" in lines[0], lines
