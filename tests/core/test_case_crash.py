"""Kill a real process with SIGKILL while it writes, many times at random moments: the
case file (and the filter history) must stay intact and lose at most the last action.

The child (crash_writer.py) acknowledges each action on stdout after it returned. If it
acknowledged k actions before dying, the file must hold exactly the first k actions'
result, or the first k+1 (the action in flight may or may not have reached the file).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.core.crash_writer import (
    HISTORY_LIMIT,
    case_actions,
    case_model,
    case_state,
    history_actions,
    history_model,
)
from tui.core.case import Case
from tui.core.history import FilterHistory

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")


def _line(child: subprocess.Popen) -> str:
    """One line of the child's output, read a byte at a time from the pipe itself: a
    buffered readline could take later lines that `communicate` (which reads the pipe,
    not the buffer) would then never see."""
    fd = child.stdout.fileno()  # type: ignore[union-attr]
    got = b""
    while not got.endswith(b"\n"):
        b = os.read(fd, 1)
        if not b:
            break
        got += b
    return got.decode()


def _kill_at_random(kind: str, path: Path, seed: int, rng: random.Random) -> tuple[int, bool]:
    """Start the child, kill it after a random delay; (actions acknowledged, whether a
    write was caught in flight: a hot journal or a temporary file left behind)."""
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.core.crash_writer", kind, str(path), str(seed)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    head = ""
    moment = rng.random()
    if moment < 0.2:
        # Any time from the start: while the interpreter starts or the file is created.
        time.sleep(rng.uniform(0.0, 0.3))
    else:
        head = _line(child)
        assert head == "ready\n", child.communicate()[1][-2000:]
        if moment >= 0.5:
            # After the first acknowledged action: on a loaded machine a random delay
            # alone may end before any write, and the trials would test only the start.
            head += _line(child)
        time.sleep(rng.uniform(0.0, 0.25))
    child.send_signal(signal.SIGKILL)
    out, err = child.communicate(timeout=30)
    assert child.returncode == -signal.SIGKILL, (child.returncode, err[-2000:])
    acks = [int(x) for x in (head + out).split() if x.isdigit()]
    assert acks == list(range(len(acks)))  # in order, none skipped
    in_flight = any(
        p.name.endswith("-journal") or p.name.endswith(".tmp") for p in path.parent.iterdir()
    )
    return len(acks), in_flight


def test_case_file_survives_sigkill_at_random_moments(tmp_path):
    rng = random.Random(20261120)
    trials, landed_mid_write, after_writes = 24, 0, 0
    for trial in range(trials):
        d = tmp_path / f"t{trial}"
        d.mkdir()
        path = d / "case.sqlite"
        k, in_flight = _kill_at_random("case", path, trial, rng)
        landed_mid_write += in_flight
        after_writes += k > 0
        if not path.exists():
            assert k == 0
            continue
        # Intact: it opens (rolling back an interrupted action), SQLite finds no damage,
        # and it holds the first k actions, or the first k+1.
        with Case.open(path) as case:
            assert case.integrity_check() == "ok"
            got = case_state(case)
        actions = case_actions(trial, k + 1)
        allowed = [case_model(actions[:k]), case_model(actions[: k + 1])]
        assert got in allowed, f"trial {trial}: {k} actions acknowledged, the file disagrees"
        # And it stays usable: the next action works, after which the case is one file
        # again (a journal killed before it was valid is not "hot": SQLite ignored it,
        # and removes it with the next write).
        with Case.open(path) as case:
            case.save_filter("after", "has:error")
            assert case.saved_filter("after") is not None
        assert sorted(p.name for p in d.iterdir()) == ["case.sqlite"]
    # The kills did land where it matters: after some writes, and inside a transaction.
    assert after_writes >= trials // 2
    assert landed_mid_write >= 1


def test_filter_history_survives_sigkill_at_random_moments(tmp_path):
    rng = random.Random(7)
    trials, after_writes = 10, 0
    for trial in range(trials):
        d = tmp_path / f"t{trial}"
        d.mkdir()
        path = d / "history"
        k, _ = _kill_at_random("history", path, trial, rng)
        after_writes += k > 0
        got = FilterHistory(path, limit=HISTORY_LIMIT).entries()
        adds = history_actions(trial, k + 1)
        assert got in (history_model(adds[:k]), history_model(adds[: k + 1])), trial
        # Every line is whole: the file is only ever replaced by a rename.
        if path.exists():
            raw = path.read_bytes()
            assert raw == b"" or raw.endswith(b"\n")
            assert raw.isascii() and b"\x1b" not in raw
        # A temporary file a killed writer left behind is not read as the history.
        leftovers = [p for p in d.iterdir() if p.name.endswith(".tmp")]
        if leftovers:
            assert got == FilterHistory(path, limit=HISTORY_LIMIT).entries()
    assert after_writes >= trials // 2
    assert os.listdir(tmp_path)
