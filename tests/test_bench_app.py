"""benchmarks/bench_app.py's harness drives the real explorer: its typed-filter pass
must follow one filter with another, and a wait that cannot end must stop the run at
once instead of waiting out its timeout (no timing is asserted here)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from benchmarks import bench_app
from benchmarks.bench_app import Bench, FrameClock, WaitFailed
from tests.conftest import explore, make_app, settle
from tests.trailgen import event, trail_path, write_records


def _trail(root: Path) -> Path:
    recs = [
        event(
            "GetObject" if i % 2 else "DescribeInstances",
            f"2026-11-20T10:{i:02d}:00Z",
            source="s3.amazonaws.com" if i % 2 else "ec2.amazonaws.com",
            region="us-east-1" if i % 3 else "eu-west-1",
        )
        for i in range(40)
    ]
    write_records(trail_path(root), recs)
    return root


@pytest.fixture
async def bench(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(bench_app, "KEY_GAP_S", 0.0)  # no need to type like a person here
    app = make_app([_trail(tmp_path)])
    clock = FrameClock(app)
    async with explore(app) as pilot:
        app.filter_input.cursor_blink = False
        b = Bench(app, pilot, clock)
        try:
            yield b
        finally:
            b.close()
            await settle(pilot)


@pytest.mark.parametrize("mode", ["direct", "pilot"])
async def test_typed_filters_follow_one_another(bench: Bench, mode: str) -> None:
    # `/` keeps the applied filter in the bar; the second filter's keys must still type
    # exactly its text (they used to be appended, and each key waited 60 s).
    first, second = "region:us-east-1", "service:s3.amazonaws.com"
    await asyncio.wait_for(bench.filter_apply(first, mode), 60)
    await asyncio.wait_for(bench.filter_apply(second, mode), 60)
    app = bench.app
    assert app.query_obj.text == second
    assert app.filter_input.value == second
    assert len(app.view.rows) == 20  # the s3 events, whatever their region
    typed = bench.results["filter typing (1 char)"]
    kind = "frame" if mode == "direct" else "pilot"
    assert len(typed[kind]) == len(first) + len(second)
    assert len(bench.results["filter apply (enter, indexed)"][kind]) == 2
    assert bench.timeouts == {}


@pytest.mark.parametrize("mode", ["direct", "pilot"])
async def test_a_wait_that_cannot_end_stops_the_run(bench: Bench, mode: str, monkeypatch) -> None:
    monkeypatch.setattr(bench_app, "STALL_S", 1.0)
    inp = bench.app.filter_input
    await bench.focus(bench.lst)
    await bench.sample("focus filter (/)", "slash", lambda: inp.has_focus, mode)
    # A condition no key can meet: the input never holds this after typing "x".
    with pytest.raises(WaitFailed) as err:
        await asyncio.wait_for(
            bench.sample(
                "typing", "x", lambda: inp.value == "never", mode, wait_state=mode == "pilot"
            ),
            20,  # well under TIMEOUT_S: the harness must not wait that out
        )
    message = str(err.value)
    assert "typing ['x'" in message
    assert "holding 'x'" in message  # what the focused filter bar holds instead
