"""Keys come first: while the post-load analysis runs, a key, click or paste closes its
pause gate, and the gate opens once the frame answering the input is drawn and no more
input came for PAUSE_GRACE_S (tui/analysis.py); the analysis waits at its checkpoints
meanwhile and still ends with the same results."""

from __future__ import annotations

import threading
import time

from textual import events

from tests.conftest import is_loaded, run, wait_for
from tests.trailgen import event, trail_path, write_records
from tui import analysis
from tui.cli import explorer_app, parse_args
from tui.core.detect import Detections
from tui.core.pause import PauseGate, WorkStopped


def _trail(tmp_path):
    root = tmp_path / "trail"
    for f in range(6):  # files enough for the search threads to read ahead
        recs = [
            event("GetObject", f"2026-11-20T10:{f:02d}:{k:02d}Z", source="s3.amazonaws.com")
            for k in range(20)
        ]
        if f == 3:
            recs.append(
                event("StopLogging", "2026-11-20T10:03:30Z", source="cloudtrail.amazonaws.com")
            )
        write_records(trail_path(root, suffix=f"{f:016d}"), recs)
    return root


async def _loaded(pilot) -> None:
    """The trail is committed and on screen (the analysis is held: not `settled`)."""
    app = pilot.app
    await wait_for(pilot, lambda: is_loaded(app) and not app.store.pending_events)
    await pilot.pause()


class LoggedGate(PauseGate):
    """Notes when it closes and opens (monotonic seconds)."""

    def __init__(self) -> None:
        super().__init__()
        self.log: list[tuple[str, float]] = []

    def close(self) -> None:
        self.log.append(("close", time.monotonic()))
        super().close()

    def open(self) -> None:
        self.log.append(("open", time.monotonic()))
        super().open()


def _held_explorer(tmp_path, monkeypatch, grace_s: float):
    """The explorer over `_trail`, its analysis held until `go` is set and its gate
    logged; inputs keep the gate closed `grace_s` after their frame."""
    go = threading.Event()
    real_sync = Detections.sync

    def held_sync(self, gate=None) -> None:
        go.wait(30)  # the analysis is under way (the app's `analysing`) until released
        real_sync(self, gate)

    monkeypatch.setattr(Detections, "sync", held_sync)
    monkeypatch.setattr(analysis, "PAUSE_GRACE_S", grace_s)
    app = explorer_app(parse_args([str(_trail(tmp_path)), "--no-follow"]))
    gate = app.pause_gate = LoggedGate()
    return app, gate, go


async def test_input_closes_the_gate_and_the_frame_answering_it_reopens_it(
    tmp_path, monkeypatch
) -> None:
    app, gate, go = _held_explorer(tmp_path, monkeypatch, grace_s=0.4)  # a window to look in
    frames: list[float] = []
    try:
        async with run(app, (160, 40)) as pilot:
            await _loaded(pilot)
            app.main.frame_callbacks.append(lambda: frames.append(time.monotonic()))
            assert app.analysing and not gate.closed

            # A key: closed at once; opened PAUSE_GRACE_S after a frame drawn after it.
            t_key = time.monotonic()
            await pilot.press("j")
            assert gate.closed
            go.set()  # the analysis goes on to its first checkpoint and waits there
            await wait_for(pilot, lambda: gate.waiting > 0, what="the analysis to wait")
            await wait_for(pilot, lambda: not gate.closed, what="the gate to reopen")
            t_close = next(t for k, t in gate.log if k == "close")
            t_open = next(t for k, t in gate.log if k == "open" and t >= t_close)
            assert t_close >= t_key
            drawn = [f for f in frames if t_close <= f <= t_open]
            assert drawn and t_open - drawn[0] >= 0.4 - 0.02
            await wait_for(pilot, lambda: not app.rules_pending, what="the rules to run")
            assert gate.pauses >= 1 and not gate.closed
            app.set_filter("has:detection")
            await wait_for(pilot, lambda: app.view is not None and len(app.view.rows) == 1)
    finally:
        go.set()


async def test_a_click_and_a_paste_close_the_gate_while_the_analysis_runs(
    tmp_path, monkeypatch
) -> None:
    app, gate, go = _held_explorer(tmp_path, monkeypatch, grace_s=0.4)
    try:
        async with run(app, (160, 40)) as pilot:
            await _loaded(pilot)
            await pilot.click("#events")  # the event list
            assert gate.closed
            await wait_for(pilot, lambda: not gate.closed, what="the gate to reopen")
            app.post_message(events.Paste("x"))  # as the terminal driver sends it
            await wait_for(pilot, lambda: gate.closed, what="the paste to close the gate")
            go.set()
            await wait_for(pilot, lambda: not app.rules_pending, what="the rules to run")
            assert [k for k, _ in gate.log].count("close") >= 2
            # Once the analysis has ended, input leaves the gate alone.
            n = len(gate.log)
            await pilot.press("j")
            assert len(gate.log) == n and not gate.closed
    finally:
        go.set()


async def test_closing_the_app_stops_the_analysis(tmp_path, monkeypatch) -> None:
    """The key that closes the explorer held the analysis; closing stops it, so its
    worker ends at its next checkpoint rather than running on to its end (at 10M events
    up to ~15 s, which closing waited for)."""
    app, gate, go = _held_explorer(tmp_path, monkeypatch, grace_s=5.0)
    ended = threading.Event()
    stopped: list[BaseException] = []
    real_sync = Detections.sync

    def sync_noting_the_end(self, gate=None) -> None:
        try:
            real_sync(self, gate)
        except BaseException as e:
            stopped.append(e)
            raise
        finally:
            ended.set()

    monkeypatch.setattr(Detections, "sync", sync_noting_the_end)
    try:
        async with run(app, (160, 40)) as pilot:
            await _loaded(pilot)
            await pilot.press("j")
            assert gate.closed and app.analysing
    finally:
        go.set()  # the held analysis goes on: into the stopped gate
    assert ended.wait(10)
    assert [type(e) for e in stopped] == [WorkStopped]


async def test_the_analysis_runs_with_its_big_temporaries_given_back(tmp_path, monkeypatch) -> None:
    """The detections and the credential index run under `big_buffers_returned` (their
    temporaries are unmapped when freed: tests/core/test_view_facets_split.py), and it
    ends with the run."""
    from tui.core import credentials
    from tui.core import view as view_mod

    seen: list[tuple[str, int]] = []
    real_sync, real_catch_up = Detections.sync, credentials.CredentialIndex.catch_up

    def sync(self, gate=None) -> None:
        seen.append(("detections", view_mod._returning))
        real_sync(self, gate)

    def catch_up(self, gate=None) -> None:
        if threading.current_thread() is not threading.main_thread():
            seen.append(("credentials", view_mod._returning))
        real_catch_up(self, gate)

    monkeypatch.setattr(Detections, "sync", sync)
    monkeypatch.setattr(credentials.CredentialIndex, "catch_up", catch_up)
    app = explorer_app(parse_args([str(_trail(tmp_path)), "--no-follow"]))
    async with run(app, (160, 40)) as pilot:
        await _loaded(pilot)
        await wait_for(pilot, lambda: app.analysis_runs)
        assert ("detections", 1) in seen and ("credentials", 1) in seen
        assert view_mod._returning == 0
