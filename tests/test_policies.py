"""The explorer's scheduling policies (tui/policies.py), on their own: time is an
argument, so no sleeps; the stores are real ones loaded from gzip trails."""

from __future__ import annotations

import gc
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.trailgen import event, trail_path, write_records
from tui.core.loader import load
from tui.policies import (
    ArrivalRate,
    CommitPacer,
    FilterUndo,
    FrameHold,
    FreshMarks,
    FreshValues,
    GcPolicy,
    HeldKeys,
    LoaderBacklog,
    RedrawPacer,
    ViewRequests,
    fill_status,
)
from widgets.status import StatusInfo


@pytest.fixture
def store(tmp_path: Path):
    write_records(
        trail_path(tmp_path),
        [
            event("A", ip="198.51.100.1"),
            event("B", ip="198.51.100.2", error="AccessDenied"),
        ],
    )
    return load([str(tmp_path)])


# ------------------------------------------------------------------------ commits
def test_commits_while_loading_wait_for_a_good_share_of_the_store() -> None:
    p = CommitPacer()
    # The first batch is committed at once: nothing to show yet.
    assert p.due(0.0, loading=True, stored=0, pending=10)
    p.committed(0.0, 0.01)
    # Then a small batch waits (each commit merges in O(store))...
    assert not p.due(0.5, loading=True, stored=100_000, pending=5_000)
    # ...until it is a quarter of the store, or at least 20,000 events,
    assert p.due(0.5, loading=True, stored=100_000, pending=25_000)
    assert p.due(0.5, loading=True, stored=10_000, pending=20_000)
    # ...or 2 s have passed since the last commit.
    assert p.due(2.0, loading=True, stored=100_000, pending=5_000)


def test_commits_while_tailing_are_spaced_by_their_cost() -> None:
    p = CommitPacer(share=1 / 10, max_gap=0.75)
    p.committed(10.0, 0.02)  # a 20 ms commit: the next one waits 200 ms
    assert p.gap == pytest.approx(0.2)
    assert not p.due(10.1, loading=False, stored=10**6, pending=1)
    assert p.due(10.21, loading=False, stored=10**6, pending=1)
    p.committed(11.0, 1.0)  # never more than max_gap apart
    assert p.gap == 0.75 and p.due(11.75, loading=False, stored=10**6, pending=1)
    p.next_at_once()
    assert p.due(11.0, loading=False, stored=10**6, pending=1)


def test_arrival_rate_counts_the_last_window() -> None:
    r = ArrivalRate(window=60)
    r.add(0.0, 100)
    r.add(30.0, 20)
    assert r.per_window(30.0) == 120
    assert r.per_window(61.0) == 20  # the first fell out of the window
    r.trim(61.0)
    assert r.per_window(0.0) == 20  # trimmed: gone for good


def test_loader_backlog_counts_across_threads() -> None:
    b = LoaderBacklog()
    threads = [threading.Thread(target=lambda: [b.posted() for _ in range(1000)]) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(b) == 4000
    for _ in range(4000):
        b.handled()
    assert len(b) == 0


# ------------------------------------------------------------------------- views
def test_view_requests_wait_for_the_running_one() -> None:
    v = ViewRequests()
    assert not v.defer() and v.next() == 1 and not v.pending
    v.started_in_thread()
    assert v.pending and v.threaded == 1
    assert v.defer() and v.defer()  # asked for twice while it runs: once after
    v.finished()
    assert v.pending  # the deferred request
    assert v.take_dirty() and not v.take_dirty()
    assert not v.pending and v.next() == 2


def test_redraw_waits_for_a_pause_in_the_keys_while_tailing() -> None:
    r = RedrawPacer(quiet_s=0.3, max_view_defer_s=1.0, max_panels_defer_s=3.0)
    r.key(10.0)
    assert r.keys_recent(10.2) and not r.keys_recent(10.3)
    r.view_redrawn(9.5)
    assert r.defer_view(10.2, tailing=True)
    assert not r.defer_view(10.2, tailing=False)  # loading: arrivals show at once
    assert not r.defer_view(10.6, tailing=True)  # a second since the last redraw
    r.view_redrawn(10.6)
    assert not r.stale
    # Panels: one wait (one timer) at a time; it goes on while keys come, up to 3 s.
    assert r.defer_panels(10.6) and not r.defer_panels(10.7)
    r.key(12.0)
    assert r.panels_wait_on(12.1)
    r.key(13.5)
    assert not r.panels_wait_on(13.7)  # 3 s after the wait began


def test_a_commit_due_before_a_filters_frame_runs_after_it() -> None:
    r = RedrawPacer(filter_frame_hold_s=0.25)
    assert not r.commit_waits_for_frame(5.0)
    r.filter_shown(5.0)
    assert r.commit_waits_for_frame(5.1)
    assert r.frame_drawn()  # the frame: run the commit now
    assert not r.frame_drawn() and not r.commit_waits_for_frame(5.1)
    r.filter_shown(6.0)
    assert not r.commit_waits_for_frame(6.3)  # no frame came: it waits 0.25 s at most
    assert not r.frame_drawn()


def test_a_move_is_held_by_when_its_key_came_not_when_it_was_handled() -> None:
    held = HeldKeys(within_s=0.1, key_life_s=0.5)
    # Two keys 150 ms apart, handled 20 ms apart (the first one late): not held.
    held.key(came_at=10.0, now=10.13)
    assert held.moved(10.13) is False
    held.key(came_at=10.15, now=10.15)
    assert held.moved(10.15) is False
    # Two keys 30 ms apart, handled 200 ms apart: held.
    held.key(came_at=11.0, now=11.0)
    assert held.moved(11.0) is False
    held.key(came_at=11.03, now=11.2)
    assert held.moved(11.2) is True
    # Moves without keys of their own: by how close they are handled.
    assert held.moved(11.25) is True
    assert held.moved(11.5) is False
    # A key whose move never came (j on the last row) does not judge a click later.
    held.key(came_at=12.0, now=12.0)
    held.key(came_at=12.02, now=12.02)
    assert held.moved(13.0) is False


def test_frame_hold_spans_two_calls_and_releases_once() -> None:
    log: list[str] = []

    @contextmanager
    def batch():
        log.append("begin")
        try:
            yield
        finally:
            log.append("end")

    hold = FrameHold(batch, released=lambda: log.append("redraw"))
    assert hold.hold() and hold.held
    assert not hold.hold()  # already held: no second batch
    hold.release()
    hold.release()  # the time limit after the detail pane released it: nothing
    assert log == ["begin", "end", "redraw"] and not hold.held


# ----------------------------------------------------------------- garbage collection
@pytest.fixture
def gc_state():
    enabled, threshold = gc.isenabled(), gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)
    (gc.enable if enabled else gc.disable)()


def test_gc_is_off_while_loading_then_frozen_and_paced(gc_state) -> None:
    p = GcPolicy(young_threshold=40_000)
    p.pause()
    assert not gc.isenabled()
    p.settle()
    assert gc.isenabled() and gc.get_threshold()[0] == 40_000
    assert gc.get_freeze_count() > 0  # what lived through the load is not scanned again


def test_gc_during_a_load_frees_the_garbage_and_freezes_the_rest_at_each_commit(
    gc_state,
) -> None:
    """While loading, each commit's checkpoint collects the cycles that became garbage
    and freezes what lives, so the collection at the load's end walks only what came
    after the last commit (not every value the store learned)."""
    import weakref

    class Node:
        def __init__(self) -> None:
            self.me = self

    p = GcPolicy()
    p.pause()
    kept = [[i] for i in range(5_000)]  # the store's growth: tracked, alive
    cycle = Node()
    dead = weakref.ref(cycle)
    del cycle  # garbage only a collection finds (the collector is off)
    assert dead() is not None
    p.part_loaded()
    assert dead() is None  # collected at the commit, not kept to the load's end
    assert gc.get_freeze_count() >= len(kept)
    assert len(gc.get_objects()) < 1_000  # what the last collection walks
    after = [[i] for i in range(100)]
    assert len(gc.get_objects()) < 1_000 + len(after)
    p.settle()
    assert gc.isenabled() and len(kept) == 5_000


def test_gc_checkpoints_only_while_loading(gc_state) -> None:
    p = GcPolicy()
    gc.enable()
    gc.collect()
    objs = [[i] for i in range(3_000)]
    frozen = gc.get_freeze_count()
    p.part_loaded()  # the collector is on: not a load
    assert gc.get_freeze_count() == frozen and len(objs) == 3_000


def test_gc_collects_young_objects_after_frames_and_in_pauses(gc_state) -> None:
    p = GcPolicy(young_threshold=10**6, idle_s=0.1, idle_min=1_000, frame_min=5_000)
    gc.set_threshold(10**6)
    gc.collect()
    keep = [[i] for i in range(6_000)]  # young, tracked, alive
    assert gc.get_count()[0] >= 5_000
    p.after_frame(frame_held=True)  # a held frame is not over: not now
    assert gc.get_count()[0] >= 5_000
    p.after_frame(frame_held=False)
    assert gc.get_count()[0] < 1_000
    keep += [[i] for i in range(2_000)]
    p.when_idle(now=10.05, last_input=10.0)  # a key 50 ms ago: not now
    assert gc.get_count()[0] >= 1_000
    p.when_idle(now=10.2, last_input=10.0)
    assert gc.get_count()[0] < 1_000 and len(keep) == 8_000


# ------------------------------------------------------------------- new values
def test_fresh_marks_expire_in_order_and_only_for_watched_fields(store) -> None:
    m = FreshMarks(fields=("ip", "principal"), seconds=120)
    ip1, ip2 = store.code_of("ip", "198.51.100.1"), store.code_of("ip", "198.51.100.2")
    m.add({"ip": [ip1], "event": [0]}, now=0.0)
    assert m.changed and set(m.marks) == {"ip"}  # event is not watched
    m.add({"ip": [ip2]}, now=60.0)
    live = m.live()["ip"]
    assert not m.expire(119.0)
    assert m.expire(120.0) and set(live) == {ip2}  # the live dict the panes hold
    values = FreshValues(store, "ip", live)
    assert "198.51.100.2" in values and "198.51.100.1" not in values
    assert "203.0.113.9" not in values and 5 not in values  # unknown, not a str
    assert m.expire(180.0) and m.live() == {}


def test_filter_undo_steps_back_once_per_change() -> None:
    u = FilterUndo()
    u.push("")
    u.push("")  # applied again: one step back is enough
    u.push("has:error")
    assert len(u) == 2
    u.forget("cred:x")  # not the last step: kept
    u.forget("has:error")  # the filter that replaced it failed
    assert u.pop() == "" and u.pop() is None


def test_status_facts_from_the_store_and_view(store) -> None:
    import numpy as np

    s = StatusInfo()
    fill_status(
        s,
        store,
        np.array([1]),
        loading=False,
        load_fraction=1.0,
        filter_text="has:error",
        follow=True,
        tail_mode="watch",
        rate_per_min=12.0,
    )
    assert (s.total, s.matching, s.files_loaded, s.files_skipped, s.gone) == (2, 1, 1, 0, 0)
    assert s.filter_text == "has:error" and s.follow and s.tail_mode == "watch"
    assert s.rate_per_min == 12.0
    fill_status(
        s,
        store,
        None,
        loading=True,
        load_fraction=0.5,
        filter_text="",
        follow=False,
        tail_mode=None,
        rate_per_min=None,
    )
    assert s.matching == 0 and s.loading and s.tail_mode == "" and s.rate_per_min is None
