"""SVG snapshots of the timeline pane in the explorer at 80x24 and 120x40: the cursor
bucket's readout in each mode, and zoom at the edges of the data (see
tests/test_snapshots.py for how they are kept deterministic and regenerated)."""

from __future__ import annotations

import pytest

from tests.conftest import ROOT, settle, wait_loaded
from tui.app import TrailscopeApp
from widgets.filter_bar import FilterInput
from widgets.timeline import Timeline

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]


@pytest.fixture(autouse=True)
def _repo_cwd(monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("NO_COLOR", raising=False)


def _shot(keys: list[str]):
    async def run_before(pilot) -> None:
        pilot.app.query_one(FilterInput).cursor_blink = False
        await wait_loaded(pilot)
        await settle(pilot)
        pilot.app.query_one(Timeline).focus()
        await pilot.pause()
        for key in keys:
            await pilot.press(key)
            await settle(pilot)

    return run_before


def _app() -> TrailscopeApp:
    return TrailscopeApp(["sample_logs"], watch=False)


@pytest.mark.parametrize("size", SIZES)
def test_readout_events(snap_compare, size) -> None:
    # The busiest bucket: its range, events, errors, rate and top principal.
    assert snap_compare(_app(), terminal_size=size, run_before=_shot(["p"]))


@pytest.mark.parametrize("size", SIZES)
def test_readout_error_rate(snap_compare, size) -> None:
    assert snap_compare(_app(), terminal_size=size, run_before=_shot(["r", "p"]))


@pytest.mark.parametrize("size", SIZES)
def test_readout_errors_stacked(snap_compare, size) -> None:
    assert snap_compare(_app(), terminal_size=size, run_before=_shot(["r", "r", "p"]))


@pytest.mark.parametrize("size", SIZES)
def test_zoom_at_the_first_bucket(snap_compare, size) -> None:
    assert snap_compare(_app(), terminal_size=size, run_before=_shot(["home", "plus", "plus"]))


@pytest.mark.parametrize("size", SIZES)
def test_zoom_at_the_last_bucket(snap_compare, size) -> None:
    assert snap_compare(_app(), terminal_size=size, run_before=_shot(["end", "plus", "plus"]))
