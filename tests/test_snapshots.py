"""SVG snapshots of the explorer (pytest-textual-snapshot).

Regenerate after an intended visual change with
`pytest tests/test_snapshots.py --snapshot-update` and review the SVGs under
tests/__snapshots__/test_snapshots/.

Deterministic by construction: fixed terminal sizes, no tailing, the trail given as a
relative path from the repo root (the detail pane shows file paths), everything loaded
and the view settled before the shot, no blinking cursor. Nothing on screen shows the
wall clock.
"""

from __future__ import annotations

import pytest

from tests.conftest import ROOT, settle, wait_loaded
from tui.app import TrailscopeApp
from widgets.detail import DetailPane, ValueRef
from widgets.filter_bar import FilterInput


@pytest.fixture(autouse=True)
def _repo_cwd(monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("NO_COLOR", raising=False)


def make_app() -> TrailscopeApp:
    return TrailscopeApp(["sample_logs"], watch=False)


async def loaded(pilot) -> None:
    pilot.app.query_one(FilterInput).cursor_blink = False
    await wait_loaded(pilot)
    await settle(pilot)


def test_main_screen(snap_compare) -> None:
    assert snap_compare(make_app(), terminal_size=(160, 45), run_before=loaded)


def test_detail_view(snap_compare) -> None:
    async def run_before(pilot) -> None:
        await loaded(pilot)
        app = pilot.app
        store = app.store
        # The event with the hostile user agent: its escapes show in the detail pane.
        row = next(r for r in range(len(store)) if "\x1b" in store.value(r, "ua"))
        assert app.events_list.move_to_row(row)
        await settle(pilot)  # the detail pane shows that row (it may wait for a rest)
        await pilot.press("tab", "tab")  # list -> timeline -> detail
        detail = app.query_one(DetailPane)
        assert app.focused is detail
        node = next(
            n for n in _walk(detail.root) if isinstance(n.data, ValueRef) and n.data.field == "ua"
        )
        detail.move_cursor(node, animate=False)
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=(160, 45), run_before=run_before)


def test_help_screen(snap_compare) -> None:
    assert snap_compare(
        make_app(), terminal_size=(120, 40), run_before=loaded, press=["question_mark"]
    )


def test_small_terminal_layout(snap_compare) -> None:
    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=loaded)


def _walk(node):
    yield node
    for child in node.children:
        yield from _walk(child)


# The event list sorted (errors first; by principal, descending) and with chosen
# columns, at 80x24 (facets hidden, the five essential columns kept) and 120x40.
async def _sorted(pilot) -> None:
    await loaded(pilot)
    await pilot.press("E")  # errors first
    await settle(pilot)


async def _custom_columns(pilot) -> None:
    from tui.core.sorting import SortKey

    await loaded(pilot)
    lst = pilot.app.events_list
    lst.set_columns(
        [("time", None), ("principal", 30), ("event", None), ("account", None), ("error", None)]
    )
    lst.set_sort(SortKey("principal", descending=True))
    await settle(pilot)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_list_sorted(snap_compare, size) -> None:
    assert snap_compare(make_app(), terminal_size=size, run_before=_sorted)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_list_custom_columns(snap_compare, size) -> None:
    assert snap_compare(make_app(), terminal_size=size, run_before=_custom_columns)
