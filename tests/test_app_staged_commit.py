"""The explorer prepares big commits on a thread (Store.stage, tui/app.py `_stage`):
keys are answered while one is prepared, from the store as it was, which the UI reads
unchanged until the publish; the store then equals one committed directly."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from tests.conftest import make_app, run, settle, wait_for, wait_loaded
from tests.trailgen import event, trail_path, write_records
from tui.core.batch import parse_file
from tui.core.store import StagedCommit, Store
from tui.policies import CommitPacer
from widgets.detail import DetailPane


def _events(n: int, tag: str, hour: int) -> list[dict]:
    return [
        event(
            ("GetObject", "PutObject", "RunInstances")[i % 3],
            f"2026-11-20T{hour + i % 2:02d}:{i % 60:02d}:{(7 * i) % 60:02d}Z",
            source=("s3.amazonaws.com", "ec2.amazonaws.com")[i % 2],
            event_id=f"{tag}-{i:04d}",
        )
        for i in range(n)
    ]


def _first_and_later(
    tmp_path: Path, first_events: int, later: tuple[int, str, int]
) -> tuple[Path, list[Path]]:
    """A trail loaded at the start (its folder) and files for later commits: `later` is
    (events per file, a tag for their names, files)."""
    first = tmp_path / "first"
    write_records(trail_path(first, suffix="a" * 16), _events(first_events, "a", 10))
    per_file, tag, files = later
    paths = [
        write_records(
            trail_path(tmp_path / "later", suffix=f"{i:016d}"), _events(per_file, f"{tag}{i}", 9)
        )
        for i in range(files)
    ]
    return first, paths


def _committed(groups: list[list[Path]]) -> Store:
    """A store of the files parsed in place, one commit per group (what the app's
    staged commits must equal)."""
    plain = Store()
    for group in groups:
        for p in group:
            plain.add(parse_file(str(p)))
        plain.commit()
    return plain


def _orders(store: Store) -> list[dict]:
    return [store.event(int(r)) for r in store.time_order.order.view]


@pytest.fixture
def held(monkeypatch):
    """StagedCommit.prepare waits for `release` once `hold` is set (`started` tells it
    is waiting)."""
    hold, started, release = threading.Event(), threading.Event(), threading.Event()
    prepare = StagedCommit.prepare

    def held_prepare(self) -> None:
        if hold.is_set():
            started.set()
            release.wait(20)
        prepare(self)

    monkeypatch.setattr(StagedCommit, "prepare", held_prepare)
    monkeypatch.setattr(CommitPacer, "STAGE_MIN", 1)  # every commit staged
    yield hold, started, release
    release.set()


async def test_keys_are_answered_while_a_commit_is_prepared(tmp_path: Path, held) -> None:
    hold, started, release = held
    first, later = _first_and_later(tmp_path, 120, (80, "b", 3))
    app = make_app([first])
    async with run(app, (160, 50)) as pilot:
        await wait_loaded(pilot)  # (staged too: STAGE_MIN 1)
        store = app.store
        lst, pane = app.events_list, app.query_one(DetailPane)
        hold.set()
        for p in later:  # as a loader's files arrive; the pump stages them
            store.add(parse_file(str(p)))
        app.commits.next_at_once()
        app.pump()
        await wait_for(pilot, started.is_set, what="the commit to be prepared")
        staged = store.staged
        assert staged is not None and not staged.ready
        before = (len(store), store.generation, _orders(store))
        assert before[0] == 120

        # A list key, answered while the commit waits on its thread.
        lst.focus()
        await pilot.pause()
        cursor = lst.cursor_index
        await pilot.press("j")
        await wait_for(pilot, lambda: lst.cursor_index == cursor + 1, what="the cursor")
        await wait_for(pilot, lambda: pane.row == lst.cursor_row, what="the detail pane")
        # A filter typed and applied: its view is of the store as it was.
        await pilot.press("slash")
        for ch in "event:PutObject":
            await pilot.press(ch)
        await pilot.press("enter")
        await wait_for(
            pilot,
            lambda: app.view is not None and app.view.query.text == "event:PutObject",
            what="the filter's view",
        )
        assert len(app.view) == 40  # of the 120 committed events, not the 240 pending
        assert store.staged is staged and not staged.ready
        assert (len(store), store.generation, _orders(store)) == before

        release.set()
        await wait_for(pilot, lambda: store.staged is None, what="the publish")
        await settle(pilot)
        assert len(store) == 360 and store.generation == before[1] + 1
        puts = sum(1 for e in _orders(store) if e["eventName"] == "PutObject")
        assert len(app.view) == puts > 40  # the filter's view now over every event

    plain = _committed([sorted(first.rglob("*.json.gz")), later])
    assert _orders(store) == _orders(plain)


async def test_the_analysis_waits_for_events_still_pending_after_a_publish(
    tmp_path: Path, held
) -> None:
    """Files that arrive while a commit is prepared are committed next; the analysis
    (rules, credential index) starts once nothing is pending, over every event (it used
    to start at the publish, and the pump then waited for it to end)."""
    hold, started, release = held
    first, later = _first_and_later(tmp_path, 60, (50, "c", 2))
    app = make_app([first])
    async with run(app, (160, 50)) as pilot:
        await wait_loaded(pilot)
        await wait_for(pilot, lambda: not app.analysing, what="the first analysis")
        store = app.store
        hold.set()
        store.add(parse_file(str(later[0])))
        app.commits.next_at_once()
        app.pump()
        await wait_for(pilot, started.is_set, what="the commit to be prepared")
        hold.clear()
        store.add(parse_file(str(later[1])))  # arrives while the first is prepared
        starts: list[tuple[int, int]] = []
        start_analysis = app.start_analysis

        def noted() -> None:
            starts.append((len(store), store.pending_events))
            start_analysis()

        app.start_analysis = noted  # type: ignore[method-assign]
        release.set()
        await wait_for(pilot, lambda: len(store) == 160, what="both commits")
        await settle(pilot)
        assert starts and all(pending == 0 for _, pending in starts)
        assert starts[-1][0] == 160
        assert app._analysed_rows == 160


async def test_a_published_commit_s_files_are_freed_off_the_ui_thread(
    tmp_path: Path, held, monkeypatch
) -> None:
    """The files a staged commit took are let go of on a thread once it is published
    (freeing a 10M load's commit's ~1,000 files held the UI thread 5-28 ms), without
    being formatted on the way (a worker's default description is its arguments' repr:
    seconds at 1M events); the store is the same as one committed directly."""
    import weakref

    from tui.core.batch import FileBatch

    formatted: list[str] = []
    monkeypatch.setattr(FileBatch, "__repr__", lambda b: formatted.append(b.path) or "batch")
    first, later = _first_and_later(tmp_path, 40, (30, "d", 4))
    app = make_app([first])
    freed_on: list[int] = []
    async with run(app, (160, 50)) as pilot:
        await wait_loaded(pilot)
        store = app.store
        watched = []
        for p in later:
            b = parse_file(str(p))
            watched.append(weakref.ref(b.times, lambda _r: freed_on.append(threading.get_ident())))
            store.add(b)
        del b
        app.commits.next_at_once()
        app.pump()
        await wait_for(pilot, lambda: len(store) == 160, what="the staged commit")
        await wait_for(pilot, lambda: len(freed_on) == 4, what="the files to be freed")
        assert threading.get_ident() not in freed_on  # (the UI thread runs the test)
        assert formatted == []
        plain = _committed([[*first.rglob("*.json.gz"), *later]])
        assert _orders(store) == _orders(plain)


async def test_a_filtered_view_of_arrivals_is_computed_in_a_thread(
    tmp_path: Path, monkeypatch
) -> None:
    """A commit's redraw of a filtered view over a big store (THREAD_ARRIVALS_MIN) is
    computed in a thread, not on the UI thread; the view and its facet counts equal
    the ones computed in place."""
    import tui.app
    from tui.core.query import parse
    from tui.core.view import compute_view
    from widgets.facets import FacetPanel

    monkeypatch.setattr(tui.app, "THREAD_ARRIVALS_MIN", 0)
    first, later = _first_and_later(tmp_path, 60, (40, "e", 3))
    app = make_app([first])
    async with run(app, (160, 50)) as pilot:
        await wait_loaded(pilot)
        store = app.store
        assert app.set_filter("event:GetObject")
        await settle(pilot)
        threaded = app.views.threaded
        for p in later:
            store.add(parse_file(str(p)))
        app.commits.next_at_once()
        app.pump()
        await wait_for(pilot, lambda: len(store) == 180, what="the commit")
        await settle(pilot)
        assert app.views.threaded == threaded + 1
        assert not app.status.busy
        view = app.view
        assert view is not None and view.generation == store.generation
        want = compute_view(store, parse("event:GetObject"))
        assert view.rows.tolist() == want.rows.tolist() and 0 < len(want) < 180
        assert app.events_list.rows.tolist() == want.rows.tolist()
        for f in app.query_one(FacetPanel).fields:
            assert view.facet(store, f, None) == want.facet(store, f, None), f


async def test_column_buffers_a_publish_replaces_are_freed_off_the_ui_thread(
    tmp_path: Path, held
) -> None:
    """A commit that regrows the columns replaces their buffers at the publish: the old
    ones (at 10M events hundreds of MB) are freed on a thread, not the UI thread."""
    import weakref

    first, later = _first_and_later(tmp_path, 20, (500, "g", 3))
    app = make_app([first])
    freed_on: list[int] = []
    async with run(app, (160, 50)) as pilot:
        await wait_loaded(pilot)
        store = app.store
        old = store.columns.times.buf
        room = len(old)
        watched = weakref.ref(old, lambda _r: freed_on.append(threading.get_ident()))
        del old
        for p in later:
            store.add(parse_file(str(p)))
        assert store.pending_events > room  # the commit regrows the columns
        app.commits.next_at_once()
        app.pump()
        await wait_for(pilot, lambda: len(store) == 1520, what="the staged commit")
        await wait_for(pilot, lambda: watched() is None, what="the old buffer to be freed")
        assert freed_on and threading.get_ident() not in freed_on
