"""The timeline and the panes' keys in the real app on sample_logs/: the cursor bucket's
readout (with its top principal from the view), timeline actions from the command
palette, every binding from the action table, and paging in every pane."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import numpy as np
import pytest
from textual.binding import Binding
from textual.command import CommandPalette

import tui
import widgets
from tests.conftest import paste, screen_text, settle, wait_for
from tui.actions import ACTIONS
from widgets.detail import DetailPane
from widgets.event_list import EventList
from widgets.facets import FacetOptions, FacetPanel
from widgets.timeline import Timeline


async def _focus_timeline(pilot) -> Timeline:
    tl = pilot.app.query_one(Timeline)
    tl.focus()
    await pilot.pause()
    return tl


def _top_principal(app, lo: int, hi: int) -> tuple[str, int]:
    v = app.view
    inside = [
        app.store.value(int(r), "principal")
        for r, t in zip(v.rows, v.times, strict=True)
        if lo <= t < hi
    ]
    best = max(sorted(set(inside)), key=inside.count)
    return best, inside.count(best)


async def test_readout_follows_the_cursor_with_the_top_principal(explorer) -> None:
    pilot, app = explorer, explorer.app
    tl = await _focus_timeline(pilot)
    assert tl.outliers == (2, 0)  # the two 2018 events are counted at the edge...
    assert "◂ 2 earlier" in screen_text(app)
    assert tl.hist.bucket_ms <= 3_600_000  # ...not squeezing the trail into one bar
    await pilot.press("p")  # the busiest bucket
    await settle(pilot)
    lo, hi = tl.cursor_range()
    value, count = _top_principal(app, lo, hi)
    readout = tl.readout()
    assert readout.startswith("▲ ")
    assert f"{int(tl.hist.counts[tl.cursor]):,} events" in readout
    shown = readout.split("top ")[1].split(" (")[0].lstrip("…")
    assert f"({count:,})" in readout and value.endswith(shown)
    assert readout in screen_text(app)
    # Another bucket: the readout (and its top principal) follows.
    await pilot.press("home")
    await settle(pilot)
    lo2, hi2 = tl.cursor_range()
    assert lo2 < lo and tl.readout() != readout
    if tl.hist.counts[tl.cursor]:
        assert f"({_top_principal(app, lo2, hi2)[1]:,})" in tl.readout()
    # Enter still filters to the bucket.
    await pilot.press("enter")
    await settle(pilot)
    assert "since:" in app.query_obj.text and "until:" in app.query_obj.text


async def test_timeline_actions_run_from_the_palette(explorer) -> None:
    pilot, app = explorer, explorer.app
    tl = app.query_one(Timeline)
    assert tl.mode == "count"
    await pilot.press("ctrl+p")
    await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette), 3, what="palette")
    await paste(pilot, "Timeline mode")
    await wait_for(
        pilot, lambda: "Timeline mode  (r)" in screen_text(app), 5, what="the Timeline mode command"
    )
    await pilot.press("enter")
    await wait_for(pilot, lambda: tl.mode == "rate", 3, what="the rate mode")
    assert app.focused is tl
    assert "error rate" in screen_text(app)


def _our_classes():
    for pkg in (tui, widgets):
        for info in pkgutil.iter_modules(pkg.__path__):
            if pkg is tui and info.name == "core":
                continue
            mod = importlib.import_module(f"{pkg.__name__}.{info.name}")
            for _, cls in inspect.getmembers(mod, inspect.isclass):
                if cls.__module__ == mod.__name__ and "BINDINGS" in cls.__dict__:
                    yield cls


def test_every_binding_of_every_widget_and_screen_is_in_the_action_table() -> None:
    specs = {a.id: a for a in ACTIONS}
    classes = list(_our_classes())
    names = {c.__name__ for c in classes}
    assert {
        "Timeline",
        "FacetList",
        "FacetOptions",
        "DetailPane",
        "EventList",
        "HelpScreen",
        "SkippedScreen",
        "JumpScreen",
        "TrailscopeApp",
    } <= names
    for cls in classes:
        for b in cls.__dict__["BINDINGS"]:
            assert isinstance(b, Binding) and b.id in specs, (cls.__name__, b)
            spec = specs[b.id]
            assert (b.key, b.action) == (spec.keys, spec.action), (cls.__name__, b)
            method = "action_" + spec.action.split("(")[0]
            assert hasattr(cls, method), (cls.__name__, method)
    assert len(specs) == len(ACTIONS)  # ids are unique


# ------------------------------------------------------------------ paging, as in less
@pytest.mark.size(120, 40)
async def test_paging_in_the_event_list(explorer) -> None:
    pilot, app = explorer, explorer.app
    lst = app.query_one(EventList)
    await pilot.press("g", "down", "down")
    top0 = int(lst.scroll_offset.y)
    row0 = lst.cursor_index - top0  # the cursor's line on screen
    await pilot.press("pagedown")
    page = int(lst.scroll_offset.y) - top0
    assert page > 1 and lst.cursor_index - int(lst.scroll_offset.y) == row0
    await pilot.press("pageup")
    assert int(lst.scroll_offset.y) == top0 and lst.cursor_index - top0 == row0
    await pilot.press("G")
    assert lst.cursor_index == len(app.view.rows) - 1
    await pilot.press("g")
    assert lst.cursor_index == 0


@pytest.mark.size(120, 40)
async def test_paging_in_the_detail_pane(explorer) -> None:
    pilot, app = explorer, explorer.app
    detail = app.query_one(DetailPane)
    detail.focus()
    await pilot.pause()
    page = detail.scrollable_content_region.height
    assert detail.last_line + 1 > 2 * page  # an event longer than two pages
    await pilot.press("g", "down", "down")
    assert (detail.cursor_line, detail.scroll_offset.y) == (2, 0)
    await pilot.press("pagedown")
    assert (detail.cursor_line, detail.scroll_offset.y) == (2 + page, page)
    await pilot.press("pageup")
    assert (detail.cursor_line, detail.scroll_offset.y) == (2, 0)
    await pilot.press("G")
    assert detail.cursor_line == detail.last_line


@pytest.mark.size(120, 40)
async def test_paging_in_a_facet(explorer) -> None:
    pilot, app = explorer, explorer.app
    panel = app.query_one(FacetPanel)
    fl = next(f for f in panel.lists if len(f.query_one(FacetOptions).line_texts()) > 1)
    opts = fl.query_one(FacetOptions)
    opts.focus()
    await pilot.pause()
    page = opts.scrollable_content_region.height
    n = len(opts.line_texts())
    await pilot.press("g", "down")
    await pilot.press("pagedown")
    if n > 2 * page:
        assert (opts.highlighted, opts.scroll_offset.y) == (1 + page, page)
    else:
        assert opts.highlighted == min(n - 1, 1 + page)
    await pilot.press("G")
    assert opts.highlighted == n - 1


async def test_paging_in_the_timeline(explorer) -> None:
    pilot, app = explorer, explorer.app
    tl = await _focus_timeline(pilot)
    await pilot.press("home", "plus", "plus")
    assert tl.zoomed and tl.hist.n == tl.content_size.width  # the bars fill the pane
    # ...from the first bucket of the data on (the 2018 outliers only counted).
    assert tl.hist.start_ms <= tl.full_range[0] < tl.hist.start_ms + tl.hist.bucket_ms
    assert tl.outside[0] == 2 and screen_text(app).count("◂ 2 earlier") == 1
    start = tl.hist.start_ms
    col = tl.cursor
    await pilot.press("pagedown")
    assert tl.hist.start_ms == start + tl.hist.n * tl.hist.bucket_ms and tl.cursor == col
    await pilot.press("pageup")
    assert tl.hist.start_ms == start and tl.cursor == col
    assert np.all(tl.hist.counts >= 0)
