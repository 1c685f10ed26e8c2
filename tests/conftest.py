"""Shared fixtures and helpers for the explorer (TrailscopeApp) tests.

The one way to start the app on a trail: `explore(make_app(paths, ...), size)`, which
yields the Pilot once the trail is loaded and the first view is on screen; the
`explorer` fixture is that on sample_logs (no tailing). `settle` waits for the view
worker after a filter change. Every wait is a poll with short pauses, bounded by a
timeout.
"""

from __future__ import annotations

import io
import os
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from rich.console import Console
from textual.pilot import Pilot

# The `s3` fixture: moto's S3 server on localhost (tests/s3server.py).
pytest_plugins = ("tests.s3server",)

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_logs"
DEFAULT_SIZE = (160, 45)


async def wait_for(
    pilot: Pilot,
    cond: Callable[[], bool],
    timeout: float = 10.0,
    step: float = 0.05,
    what: str = "condition",
) -> None:
    """Pause the pilot until `cond()` holds; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await pilot.pause(step)


def is_loaded(app) -> bool:
    return not app.loading and app.view is not None and not app.views.running


async def wait_loaded(pilot: Pilot, timeout: float = 20.0) -> None:
    app = pilot.app
    await wait_for(
        pilot,
        lambda: is_loaded(app) and not app.store.pending_events,
        timeout,
        what="the trail to load",
    )
    await settle(pilot)


async def settle(pilot: Pilot, app=None, timeout: float = 10.0) -> None:
    """Wait until the app has settled (no view being computed, nothing waiting to be
    committed or drawn), then let the resulting messages (ViewReady -> set_rows ->
    EventHighlighted) run and the detail pane follow the cursor."""
    app = app or pilot.app
    await pilot.pause(0.02)  # let bubbling messages (e.g. FieldChanged) start the worker
    await wait_for(pilot, lambda: app.settled, timeout, step=0.02, what="the view to settle")
    await pilot.pause()
    # the detail pane follows the list cursor once it rests (see DETAIL_DELAY)
    from widgets.detail import DetailPane

    def detail_synced() -> bool:
        return app.settled and (app.query_one(DetailPane).row == app.events_list.cursor_row)

    await wait_for(
        pilot, detail_synced, timeout, step=0.02, what="the detail pane to follow the cursor"
    )
    await pilot.pause()


def status_text(app) -> str:
    from widgets.status import StatusLine

    return str(app.query_one(StatusLine).render())


def toasts(app) -> list[str]:
    """The messages of the notifications shown so far (Textual keeps them privately:
    tests/test_textual_private.py checks the name)."""
    return [n.message for n in app._notifications]


def painted_frames(app) -> list[set[str]]:
    """From now on, for each frame sent to the terminal, the class names of the widgets
    it repainted ("*" for a full-screen update). Reads Textual's display call and dirty
    set (tests/test_textual_private.py checks the names)."""
    from textual._compositor import LayoutUpdate

    frames: list[set[str]] = []
    display = app._display

    def record(screen, update) -> None:
        if update is not None:
            frames.append(
                {"*"}
                if isinstance(update, LayoutUpdate)
                else {type(w).__name__ for w in screen._dirty_widgets}
            )
        display(screen, update)

    app._display = record
    return frames


def screen_text(app) -> str:
    """The whole terminal as plain text (modal screens over their background), built the
    way `App.export_screenshot` builds its SVG."""
    width, height = app.size
    console = Console(
        width=width,
        height=height,
        file=io.StringIO(),
        force_terminal=True,
        color_system="truecolor",
        record=True,
        legacy_windows=False,
        safe_box=False,
    )
    update = app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    console.print(update)
    return console.export_text(styles=False)


async def paste(pilot: Pilot, text: str) -> None:
    """Paste `text` into the focused widget (a bracketed paste, as a terminal sends it)."""
    from textual import events

    focused = pilot.app.focused
    assert focused is not None
    focused.post_message(events.Paste(text))
    await pilot.pause()


@pytest.fixture(autouse=True)
def _own_config_dir(tmp_path_factory, monkeypatch) -> None:
    """The user's config (saved list columns, rule folders) never reaches a test, and a
    test never writes into it: XDG_CONFIG_HOME is an empty folder of its own."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("config")))


@pytest.fixture(autouse=True, scope="session")
def _own_spill_dir(tmp_path_factory) -> None:
    """Bulk loads' spill files (tui/core/spill.py) go to the run's temp folder, not the
    user's cache."""
    os.environ.setdefault("TRAILSCOPE_SPILL_DIR", str(tmp_path_factory.mktemp("spill")))


def run(app, size=DEFAULT_SIZE):
    """`app.run_test` with notifications on (toasts are part of what is tested)."""
    return app.run_test(size=size, notifications=True)


def make_app(paths=None, **kw):
    from tui.app import TrailscopeApp

    kw.setdefault("watch", False)
    return TrailscopeApp([str(p) for p in (paths or [SAMPLE])], **kw)


@asynccontextmanager
async def explore(app, size=DEFAULT_SIZE, timeout: float = 20.0) -> AsyncIterator[Pilot]:
    """Run `app` (from `make_app`) and yield its Pilot once the trail is loaded."""
    async with run(app, size) as pilot:
        await wait_loaded(pilot, timeout)
        yield pilot


@pytest.fixture
async def explorer(request) -> AsyncIterator[Pilot]:
    """The app on sample_logs, loaded. Size via `@pytest.mark.size(w, h)` if needed."""
    marker = request.node.get_closest_marker("size")
    size = tuple(marker.args) if marker else DEFAULT_SIZE
    async with explore(make_app(), size) as pilot:
        yield pilot
        # Let in-flight work land before run_test tears the screen down (a handler
        # running after the teardown would find no widgets).
        await settle(pilot)


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "size(width, height): terminal size for `explorer`")
    config.addinivalue_line(
        "markers", "realdata: needs the real public samples in ../shared/realdata"
    )


def pytest_collection_modifyitems(config, items) -> None:
    """Tests marked `realdata` skip, saying why, when the samples are not beside the
    checkout; CI sets TRAILSCOPE_REQUIRE_REALDATA=1, where their absence is an error."""
    import os

    from tests.trailgen import REALDATA

    if REALDATA.is_dir():
        return
    if os.environ.get("TRAILSCOPE_REQUIRE_REALDATA") == "1":
        raise pytest.UsageError(f"TRAILSCOPE_REQUIRE_REALDATA=1 but {REALDATA} is missing")
    skip = pytest.mark.skip(reason=f"real samples not present at {REALDATA} (see tests/README.md)")
    for item in items:
        if "realdata" in item.keywords:
            item.add_marker(skip)
