"""Lazy views in the real app (every view lazy: LAZY_MIN 0): the list, status line,
timeline and detail pane show a new filter's view without taking its rows, times or
error flags whole; sorting, exports, arrivals (a commit into the middle of the time
order) and clearing the filter then see the same rows as a view taken at once."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tests.conftest import make_app, run, settle, status_text, wait_loaded
from tests.trailgen import event, trail_path, write_records
from tui.core import view as view_mod
from tui.core.batch import parse_file
from tui.core.query import parse
from tui.core.sorting import SortKey, sort_rows
from tui.core.timeline import histogram
from tui.core.view import ViewRows
from widgets.timeline import Timeline

SERVICES = ("s3.amazonaws.com", "ec2.amazonaws.com", "iam.amazonaws.com")


def _events(n: int, tag: str, hour0: int) -> list[dict]:
    return [
        event(
            ("GetObject", "PutObject", "RunInstances")[i % 3],
            f"2026-11-20T{hour0 + i % 3:02d}:{i % 60:02d}:{(7 * i) % 60:02d}Z",
            source=SERVICES[(i // 3) % 3],
            ip=f"198.51.100.{i % 11}",
            error="AccessDenied" if i % 4 == 0 else None,
            event_id=f"{tag}-{i:04d}",
        )
        for i in range(n)
    ]


def _expected(app, text: str) -> list[int]:
    by_row = parse(text).evaluate(app.store)
    # (not `store.order`: lent, it would make the next commit copy the order)
    return [int(r) for r in app.store.time_order.order.view if by_row[r]]


async def test_a_lazy_view_in_the_app(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(view_mod, "LAZY_MIN", 0)
    write_records(trail_path(tmp_path, suffix="a" * 16), _events(300, "a", 10))
    app = make_app([tmp_path])
    async with run(app, (160, 50)) as pilot:
        await wait_loaded(pilot)
        lst = app.events_list
        text = "service:s3.amazonaws.com"
        app.set_filter(text)
        await settle(pilot)
        v = app.view
        want = _expected(app, text)
        # Drawn without taking the view's rows or times: a page of rows, the count,
        # the timeline by binary searches, the timeline cursor's top principal.
        assert isinstance(lst._rows, ViewRows) and v._rows is None and v._times is None
        assert len(lst.rows) == len(want) and f"{len(want):,}" in status_text(app)
        assert lst.cursor_row == want[0]
        hist = app.screen.query_one(Timeline).hist
        assert hist is not None
        times = np.array([app.store.time_ms(r) for r in want], np.int64)
        exp = histogram(times, v.errors, hist.n, hist.start_ms, hist.end_ms, hist.bucket_ms)
        assert np.array_equal(hist.counts, exp.counts) and np.array_equal(hist.errors, exp.errors)
        assert lst.rows.tolist() == want  # (taken here)

        # Sorted, then a new filter while sorted, then back to time order.
        lst.set_sort(SortKey("principal"))
        await settle(pilot)
        text = "has:error"
        app.set_filter(text)
        await settle(pilot)
        want = _expected(app, text)
        rows = app.view.rows
        assert rows.tolist() == want
        assert np.array_equal(lst.rows, sort_rows(app.store, rows, SortKey("principal")))
        lst.set_sort(SortKey())
        await settle(pilot)
        assert lst.rows.tolist() == want

        # A view, untaken, when events arrive in the middle of the time order. (The
        # first arrivals' commit copies the order the unfiltered view kept; the second
        # would insert into it in place.)
        # (the second small enough for the room the first left: inserted in place)
        for tag, n, text in (("b", 90, "-service:iam.amazonaws.com"), ("c", 20, "has:error")):
            app.set_filter(text)
            await settle(pilot)
            lazy = app.view
            assert lazy._rows is None and lazy._times is None
            lst.move_to_index(7)
            on = lst.cursor_row
            before = _expected(app, text)
            more = write_records(trail_path(tmp_path, suffix=tag * 16), _events(n, tag, 10))
            app.store.add(parse_file(str(more)))
            app.pump()
            await settle(pilot)
            assert lazy.rows.tolist() == before  # taken before the commit changed the order
            assert np.array_equal(lazy.times, [app.store.time_ms(r) for r in before])
            assert app.view is not lazy and app.view.rows.tolist() == _expected(app, text)
            assert lst.rows.tolist() == _expected(app, text) and lst.cursor_row == on

        app.set_filter("")
        await settle(pilot)
        assert np.array_equal(lst.rows, app.store.order)
