"""The pause gate (tui/core/pause.py): the analysis paused and resumed at its checkpoints
computes what an unpaused run computes; a closed gate holds it until opened, or until
its bound lets it run; a thread waiting on the paused run's results opens it."""

from __future__ import annotations

import random
import sys
import threading
import time

import numpy as np
import pytest

from benchmarks.gen_trail import generate
from tui.core.credentials import credentials_of
from tui.core.detect import Detections, load_pack
from tui.core.loader import load
from tui.core.pause import GatedLock, PauseGate, WorkStopped

PACK = load_pack()


@pytest.fixture(scope="module")
def trail(tmp_path_factory):
    root = tmp_path_factory.mktemp("trail")
    generate(root, 6000, seed=5, per_file=150)  # 40 files: the search threads read ahead
    return root


def _analysed(root, gate: PauseGate | None):
    store = load([root])
    det = Detections(store, PACK)
    det.sync(gate)
    index = credentials_of(store)
    index.catch_up(gate)
    return det, index


class RandomPauses(PauseGate):
    """Closes itself at random checkpoints and opens 0-3 ms later from another thread,
    so the run really waits there; notes which threads waited."""

    def __init__(self, seed: int) -> None:
        super().__init__(hold_s=3600.0)  # only the timers open it
        self.rnd = random.Random(seed)
        self.lock = threading.Lock()
        self.waited_in: set[str] = set()

    def checkpoint(self) -> bool:
        with self.lock:
            pause = self.rnd.random() < 0.3
            delay = self.rnd.random() * 0.003
        if pause:
            self.close()
            threading.Timer(delay, self.open).start()
        waited = super().checkpoint()
        if waited:
            with self.lock:
                self.waited_in.add(threading.current_thread().name)
        return waited


@pytest.mark.parametrize("seed", [1, 2])
def test_an_analysis_paused_at_random_checkpoints_equals_an_unpaused_run(trail, seed):
    plain_det, plain_index = _analysed(trail, None)
    gate = RandomPauses(seed)
    det, index = _analysed(trail, gate)
    assert gate.pauses > 20
    # The worker (this thread) and the search threads reading files both waited.
    assert "MainThread" in gate.waited_in and len(gate.waited_in) >= 2
    flagged = 0
    for rule in PACK:
        assert np.array_equal(det.hits(rule.id), plain_det.hits(rule.id)), rule.id
        flagged += len(det.hits(rule.id))
    assert flagged > 0
    assert len(index) == len(plain_index) > 100
    for name in ("_rows", "_times"):
        assert np.array_equal(getattr(index, name), getattr(plain_index, name)), name
    # Key codes are numbered in the order the two search threads meet the keys, which
    # varies from run to run: the keys they stand for do not.
    for name in ("_codes", "_parents", "_key2code"):
        assert _keys(index, name) == _keys(plain_index, name), name
    store = det.store
    for row in np.flatnonzero(store.codes("key") >= 0)[:: max(1, len(store) // 200)].tolist():
        assert index.chain(row).summary() == plain_index.chain(row).summary()


def _keys(index, name: str) -> list[bytes | None]:
    raw = index.table.raw
    return [raw(c) if c >= 0 else None for c in getattr(index, name).tolist()]


def _run_in_thread(fn) -> threading.Thread:
    t = threading.Thread(target=fn, daemon=True)
    t.start()
    return t


def _parked(gate: PauseGate, timeout: float = 30.0) -> None:
    """Until some thread waits at the gate."""
    end = time.monotonic() + timeout
    while not gate.waiting:
        assert time.monotonic() < end, "nothing reached a checkpoint"
        time.sleep(0.002)


def test_a_closed_gate_holds_the_run_until_it_opens(trail):
    plain_det, _ = _analysed(trail, None)
    store = load([trail])
    det = Detections(store, PACK)
    gate = PauseGate(hold_s=3600.0)
    gate.close()
    worker = _run_in_thread(lambda: det.sync(gate))
    _parked(gate)
    time.sleep(0.2)
    assert worker.is_alive() and gate.waiting
    gate.open()
    worker.join(60)
    assert not worker.is_alive()
    assert gate.pauses >= 1
    for rule in PACK:
        assert np.array_equal(det.hits(rule.id), plain_det.hits(rule.id)), rule.id


def test_a_stopped_gate_ends_the_run_at_once_waiting_or_not(trail):
    """The explorer closing stops its analysis: a run waiting at a closed gate wakes and
    ends (WorkStopped), and so does one running at its next checkpoint."""
    store = load([trail])
    gate = PauseGate(hold_s=3600.0)
    gate.close()
    ended: list[BaseException] = []

    def run() -> None:
        try:
            Detections(store, PACK).sync(gate)
        except WorkStopped as e:
            ended.append(e)

    worker = _run_in_thread(run)
    _parked(gate)
    t0 = time.monotonic()
    gate.stop()
    worker.join(10)
    assert not worker.is_alive() and len(ended) == 1
    assert time.monotonic() - t0 < 2.0
    ungated = PauseGate()
    ungated.stop()  # open, but stopped
    with pytest.raises(WorkStopped):
        Detections(load([trail]), PACK).sync(ungated)


def test_the_bound_lets_work_through_a_gate_that_never_opens(trail):
    """A held key keeps the gate closed: after hold_s the work runs for run_s, then is
    held again, so it ends."""
    store = load([trail])
    det = Detections(store, PACK)
    gate = PauseGate(hold_s=0.02, run_s=0.01)
    gate.close()
    worker = _run_in_thread(lambda: det.sync(gate))
    worker.join(120)
    assert not worker.is_alive()
    assert gate.closed and gate.pauses >= 1
    assert det.version > 0  # the pack flags events of this trail


def test_a_reader_waiting_on_a_paused_run_opens_the_gate(trail):
    """The UI thread asking for the rules' hits waits on their lock; the run holding it
    is paused by a gate that would never open by itself: the reader opens it while it
    waits, so neither waits on the other."""
    plain_det, plain_index = _analysed(trail, None)
    store = load([trail])
    det = Detections(store, PACK)
    index = credentials_of(store)
    gate = PauseGate(hold_s=3600.0)
    gate.close()
    worker = _run_in_thread(lambda: (det.sync(gate), index.catch_up(gate)))
    _parked(gate)
    got: dict[str, object] = {}
    reader = _run_in_thread(lambda: got.update(hits=det.hits(PACK[0].id), n=len(index)))
    reader.join(60)
    assert not reader.is_alive(), "the reader waited on the paused run"
    assert np.array_equal(got["hits"], plain_det.hits(PACK[0].id))
    assert got["n"] == len(plain_index)
    gate.open()
    worker.join(60)
    assert not worker.is_alive()


def test_bound_turns_follow_a_clock():
    """Closed at 0: held until hold_s, let through for run_s, then held again."""
    now = [0.0]
    gate = PauseGate(hold_s=0.5, run_s=0.1, clock=lambda: now[0])
    gate.checkpoint()  # open: returns
    gate.close()
    now[0] = 0.55  # within the work's turn
    gate.checkpoint()
    now[0] = 0.58
    gate.close()  # closing again keeps counting from the first close
    gate.checkpoint()
    now[0] = 0.65  # past the turn: a new stretch of holding begins, until opened
    t = _run_in_thread(gate.checkpoint)
    _parked(gate, 5)
    assert t.is_alive()
    gate.open()
    t.join(5)
    assert not t.is_alive()


def test_a_gated_lock_is_reentrant_and_plain_when_ungated():
    lock = GatedLock()
    with lock.holding(None), lock, lock:
        pass
    gate = PauseGate()
    with lock.holding(gate):
        with lock:
            assert not gate.waiting


@pytest.mark.parametrize("arrivals", [False, True])
def test_aggregates_run_per_slice_of_their_groups_equal_one_run(trail, monkeypatch, arrivals):
    """An aggregate over many rows runs per slice of its groups, with checkpoints
    between slices: with slices of a few rows (and the trail arriving a file per
    commit, late files first, each later run's passes over the rows matched before in
    steps of a few rows), every rule flags what one unsliced run flags."""
    from tests.core.test_detect_engine import _arrive_one_by_one
    from tui.core.detect import engine

    plain_det, _ = _analysed(trail, None)
    if arrivals:  # and the later runs' passes over what matched before, in steps
        _small_steps(monkeypatch)
    monkeypatch.setattr(engine, "AGG_SLICE_ROWS", 7)
    if arrivals:
        store, det, _new = _arrive_one_by_one([trail], PACK, 3)

        def keyed(s, rows):
            return sorted((s.time_ms(int(r)), bytes(s.id_prefixes[int(r)])) for r in rows)

        for rule in PACK:
            want = keyed(plain_det.store, plain_det.hits(rule.id))
            assert keyed(store, det.hits(rule.id)) == want, rule.id
    else:
        gate = RandomPauses(4)
        det, _ = _analysed(trail, gate)
        for rule in PACK:
            assert np.array_equal(det.hits(rule.id), plain_det.hits(rule.id)), rule.id
    assert sum(len(det.hits(r.id)) for r in PACK if r.aggregate is not None) > 0


def test_rules_tested_over_stretches_of_rows_equal_one_run(trail, monkeypatch):
    """The first pass tests each rule's indexed part over stretches of rows with
    checkpoints between: with stretches of 97 rows, the pack and filters of every kind
    of term (paths, text, NOT, OR) flag what one pass over all rows flags."""
    from tests.core.test_detect_engine import FILTERS, rule
    from tui.core.detect import engine

    rules = [*PACK, *(rule(t, f"f{i}") for i, t in enumerate(FILTERS))]
    store = load([trail])
    plain = Detections(store, rules)
    plain.sync()
    monkeypatch.setattr(engine, "SUPERSET_SLICE_ROWS", 97)
    det = Detections(load([trail]), rules)
    det.sync(RandomPauses(5))
    for r in rules:
        assert np.array_equal(det.hits(r.id), plain.hits(r.id)), r.id
    assert sum(len(det.hits(r.id)) for r in rules) > 0


class SitePauses(RandomPauses):
    """RandomPauses that also notes the functions on the stack at each checkpoint."""

    def __init__(self, seed: int) -> None:
        super().__init__(seed)
        self.sites: set[str] = set()

    def checkpoint(self) -> bool:
        f = sys._getframe(1)
        names = set()
        while f is not None:
            names.add(f.f_code.co_name)
            f = f.f_back
        with self.lock:
            self.sites |= names
        return super().checkpoint()


def _small_steps(monkeypatch) -> None:
    """Every stepped pass of the analysis takes many steps over the small trail."""
    from tui.core import credentials, pause
    from tui.core.detect import engine
    from tui.core.store import dictionaries

    monkeypatch.setattr(engine, "STEP_ROWS", 8)
    monkeypatch.setattr(engine, "POSITIONS_STEP", 3)
    monkeypatch.setattr(engine, "AGG_SLICE_ROWS", 40)
    monkeypatch.setattr(engine, "SUPERSET_SLICE_ROWS", 97)
    monkeypatch.setattr(dictionaries, "MATCH_STEP", 7)
    monkeypatch.setattr(credentials, "_PREFAULT_BYTES", 4096)
    monkeypatch.setattr(pause, "CHECK_EVERY", 2)


# Where the analysis's passes over many rows or values step (what --stretches found long
# at 10M), each with checkpoints between steps.
STEPPED = {
    "_time_ordered",  # both ways: positions of a few rows, a pass over the order for many
    "_by_groups",  # dealing rows to slices, and between slices
    "_merged",  # the union of the slices' hits
    "_take",  # the matched rows' group codes
    "_first_seen",  # each group's first time
    "_candidates",  # a rule's indexed part per stretch of rows
    "_joined",  # its candidates copied
    "codes_matching",  # a regex over a field's values (first-seen-ip's ip:/.../)
    "run_check",  # a rule's checks, event by event
    "_reserve",  # the key table's memory mapped
}


@pytest.mark.parametrize("seed", [3, 4])
def test_every_stepped_pass_pauses_and_the_run_equals_an_unpaused_one(trail, monkeypatch, seed):
    """With steps small enough that each stepped pass takes many, paused at random
    checkpoints: the rules flag and the index finds what one unpaused run with the
    default steps does, and every stepped pass was paused in."""
    plain_det, plain_index = _analysed(trail, None)
    _small_steps(monkeypatch)
    gate = SitePauses(seed)
    det, index = _analysed(trail, gate)
    assert STEPPED <= gate.sites, STEPPED - gate.sites
    for rule in PACK:
        assert np.array_equal(det.hits(rule.id), plain_det.hits(rule.id)), rule.id
    assert sum(len(det.hits(r.id)) for r in PACK if r.aggregate is not None) > 0
    assert len(index) == len(plain_index) > 100
    for name in ("_rows", "_times"):
        assert np.array_equal(getattr(index, name), getattr(plain_index, name)), name
    for name in ("_codes", "_parents", "_key2code"):
        assert _keys(index, name) == _keys(plain_index, name), name


def test_the_bound_ends_a_stepped_run_under_a_held_key(trail, monkeypatch):
    """A key held throughout (the gate never opens) over a run of many small steps, the
    rules and the credential index: the bound lets it through to the end, and it finds
    what an unpaused run finds."""
    plain_det, plain_index = _analysed(trail, None)
    _small_steps(monkeypatch)
    store = load([trail])
    det = Detections(store, PACK)
    index = credentials_of(store)
    gate = PauseGate(hold_s=0.01, run_s=0.005)
    gate.close()
    worker = _run_in_thread(lambda: (det.sync(gate), index.catch_up(gate)))
    worker.join(300)
    assert not worker.is_alive()
    assert gate.closed and gate.pauses >= 10
    for rule in PACK:
        assert np.array_equal(det.hits(rule.id), plain_det.hits(rule.id)), rule.id
    assert len(index) == len(plain_index)


def test_a_wildcard_tested_in_steps_equals_one_pass_and_hands_on_its_progress(monkeypatch):
    """A regex or glob over a field's values, tested a few values at a time with
    checkpoints: the codes one pass finds. A thread asking while the stepped test is
    paused takes up what it tested, and the test then goes on from there."""
    from tui.core.query import parse
    from tui.core.store import dictionaries
    from tui.core.store.dictionaries import ValueDict

    rnd = random.Random(8)
    values = [
        rnd.choice(
            [
                f"10.{rnd.randrange(256)}.{rnd.randrange(256)}.{rnd.randrange(256)}",
                f"2001:db8::{rnd.randrange(1 << 16):x}",
                f"{rnd.choice(['ec2', 's3', 'sts'])}.amazonaws.com",
                "AWS Internal",
            ]
        )
        for _ in range(3000)
    ]
    for text in ("ip:/^[0-9a-f:.]+$/", "ip:10.1*", "ip:*amazonaws.com"):
        matcher = parse(text).root.matcher
        plain = ValueDict()
        plain.lut(values)
        want = plain.codes_matching(matcher)
        assert want == [c for c, v in enumerate(plain.values) if matcher.matches(v)]

        monkeypatch.setattr(dictionaries, "MATCH_STEP", 50)
        monkeypatch.setattr(dictionaries, "NATIVE_MATCH_STEP", 50)  # globs tested in C
        d = ValueDict()
        d.lut(values)
        gate = PauseGate(hold_s=3600.0)
        gate.close()
        got: list[list[int]] = []
        worker = _run_in_thread(
            lambda d=d, m=matcher, g=gate, out=got: out.append(d.codes_matching(m, g))
        )
        _parked(gate)
        assert d._globs[matcher][0] == 50  # its progress, for whoever asks
        assert d.codes_matching(matcher) == want  # a reader meanwhile
        gate.open()
        worker.join(30)
        assert got == [want]
        assert d._globs[matcher] == (len(d.values), want)
        alone = ValueDict()  # paused, then let go on without a reader meanwhile
        alone.lut(values)
        gate.close()
        worker = _run_in_thread(
            lambda d=alone, m=matcher, g=gate, out=got: out.append(d.codes_matching(m, g))
        )
        _parked(gate)
        gate.open()
        worker.join(30)
        assert got == [want, want] and alone._globs[matcher] == (len(alone.values), want)
        d.lut(["10.1.2.3", "nothing"])  # values that arrive later are tested too
        plain.lut(["10.1.2.3", "nothing"])
        assert d.codes_matching(matcher, gate) == plain.codes_matching(matcher)
        monkeypatch.undo()
