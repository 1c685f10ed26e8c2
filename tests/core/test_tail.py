"""Live tail with real watchfiles on a tmp dir: files land while the engine watches."""

from __future__ import annotations

import asyncio
import gzip
import os
import shutil
import subprocess
import sys
import time

import orjson
import pytest

from tests.trailgen import event, trail_path, write_records
from tui.core.loader import load
from tui.core.store import Store
from tui.core.tail import FollowEvent, TailTracker, follow


class Harness:
    """Runs follow() into a real Store, the way the app and the CLI do."""

    def __init__(self, root, poll: bool = False, rescan_s: float = 1.0, give_up_s: float = 30):
        self.root = root
        self.store = load([root]) if root.exists() else Store()
        self.tracker = TailTracker([root], give_up_s=give_up_s)
        self.tracker.prime((f.path, f.kind, f.size, f.mtime_ns) for f in self.store.files)
        self.notes: list[str] = []
        self.gone: list[str] = []
        self.rewritten: list[str] = []
        self.poll = poll
        self.rescan_s = rescan_s
        self.fail_next = 0

    def on_event(self, ev: FollowEvent) -> None:
        if self.fail_next:
            self.fail_next -= 1
            raise RuntimeError("injected failure")
        if ev.note:
            self.notes.append(ev.note)
        for p in ev.changes.gone:
            self.store.mark_gone(p)
            self.gone.append(p)
        self.rewritten += ev.changes.rewritten
        for b in ev.batches:
            self.store.add(b)
        if ev.batches:
            self.store.commit()

    async def __aenter__(self):
        self.stop = asyncio.Event()
        self.task = asyncio.create_task(
            follow(self.tracker, self.on_event, stop=self.stop, poll=self.poll,
                   rescan_s=self.rescan_s, retry_s=0.2)
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
        land(trail_path(tmp_path, when="20261120T1010Z", suffix="n" * 16), [event("New", "2026-11-20T10:05:00Z")])
        await h.until(lambda: len(h.store) == 2)
        # a new day folder, a new region and a new account appear
        land(trail_path(tmp_path, when="20261121T0005Z", region="eu-west-1", account="444455556666"),
             [event("NextDay", "2026-11-21T00:01:00Z", account="444455556666")])
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
            land(trail_path(tmp_path, when=f"20261120T{i // 60 % 24:02d}{i % 60:02d}Z", suffix=f"{i:016d}"),
                 [event(f"E{i}", f"2026-11-20T{i // 60 % 24:02d}:{i % 60:02d}:00Z")], temp_suffix=None)
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
        [sys.executable, "-m", "tui", "query", "--follow", str(tmp_path), "-e", "service:s3.amazonaws.com",
         "--format", "jsonl"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        first = orjson.loads(p.stdout.readline())
        assert first["eventName"] == "Old"
        land(trail_path(tmp_path, suffix="q" * 16),
             [event("Skip"), event("Fresh", "2026-11-20T11:00:00Z", source="s3.amazonaws.com")])
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
        [sys.executable, "-m", "tui", "query", "--follow", "--new-only", str(tmp_path), "--format", "jsonl"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        time.sleep(1.5)
        land(trail_path(tmp_path, suffix="q" * 16), [event("New")])
        assert orjson.loads(p.stdout.readline())["eventName"] == "New"
    finally:
        p.terminate()
        p.wait(10)
