"""A gate that pauses background work while the user waits on the screen.

The explorer's post-load analysis (detections, credential index) and its search threads
call `PauseGate.checkpoint()` between short stretches of work (rules, files, slices);
the app closes the gate when a key, click or paste arrives and opens it once the frame
answering it is drawn. While it is closed, those threads wait at their next checkpoint,
so the key's Python has the GIL and both cores to itself. Where they wait changes only
when the work is done, never what it computes.

Two things keep a closed gate from stopping the work for good:

- a bound: after `hold_s` of being closed, the gate lets the work through for `run_s`,
  then holds it again (a held key or a stream of clicks still leaves the analysis
  `run_s / (hold_s + run_s)` of the time);
- readers: a thread that blocks on a lock the paused work holds (`GatedLock`) opens the
  gate while it waits, since what it waits for is that work.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

__all__ = ["GatedLock", "PauseGate", "WorkStopped", "checkpoint", "checkpointed"]

_T = TypeVar("_T")


class WorkStopped(Exception):
    """Raised at a checkpoint of a stopped gate: nobody wants the work's results any
    more (the explorer is closing)."""


class PauseGate:
    """Open: `checkpoint()` returns at once. Closed: it waits until the gate opens, a
    reader waits on the work (`reader_waiting`), or the bound lets the work through.
    Stopped: it raises WorkStopped."""

    def __init__(
        self, hold_s: float = 0.5, run_s: float = 0.1, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.hold_s = hold_s  # longest the work is held at a stretch...
        self.run_s = run_s  # ...before it runs this long (then may be held again)
        self._clock = clock
        self._cond = threading.Condition(threading.Lock())
        self._closed = False
        self._stopped = False
        self._since = 0.0  # when the current stretch of holding began
        self._readers = 0
        self.waiting = 0  # threads waiting at a checkpoint now
        self.pauses = 0  # checkpoints that waited
        self.paused_s = 0.0  # time spent waiting, summed over the threads that waited

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Hold the work at its next checkpoint (a key arrived). Closing a closed gate
        keeps its bound counting from the first close."""
        with self._cond:
            if not self._closed:
                self._closed = True
                self._since = self._clock()

    def open(self) -> None:
        """Let the work go on (the frame answering the keys is drawn)."""
        with self._cond:
            self._closed = False
            self._cond.notify_all()

    def stop(self) -> None:
        """End the work at its next checkpoint (WorkStopped), a waiting one at once: at
        10M events the explorer's analysis runs ~15 s after the load, and closing the
        explorer meanwhile waited for it."""
        with self._cond:
            self._stopped = True
            self._cond.notify_all()

    @contextmanager
    def reader_waiting(self) -> Iterator[None]:
        """While a thread waits for the work's results, the work is not held."""
        with self._cond:
            self._readers += 1
            self._cond.notify_all()
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1

    def checkpoint(self) -> bool:
        """Called by the work between stretches: waits while the gate holds it. True
        if it waited; WorkStopped once the gate is stopped."""
        if not self._closed:  # the common case, without the lock
            if self._stopped:
                raise WorkStopped
            return False
        t0 = time.perf_counter()
        waited = False
        with self._cond:
            while self._closed and not self._readers:
                if self._stopped:
                    raise WorkStopped
                held = self._clock() - self._since
                if held >= self.hold_s:
                    if held < self.hold_s + self.run_s:
                        break  # the work's turn under a gate held this long
                    self._since = self._clock()  # a new stretch of holding
                    continue
                waited = True
                self.waiting += 1
                self._cond.wait(self.hold_s - held)
                self.waiting -= 1
            if waited:
                self.pauses += 1
                self.paused_s += time.perf_counter() - t0
        return waited


def checkpoint(gate: PauseGate | None) -> None:
    """`gate.checkpoint()`, or nothing when the work runs ungated."""
    if gate is not None:
        gate.checkpoint()


# Steps of a loop of short ones (a file's worth of bookkeeping) between checkpoints:
# ~1 ms of Python.
CHECK_EVERY = 256


def checkpointed(items: Iterable[_T], gate: PauseGate | None) -> Iterator[_T]:
    """`items`, with a checkpoint of `gate` every CHECK_EVERY of them."""
    for k, item in enumerate(items):
        if k % CHECK_EVERY == CHECK_EVERY - 1:
            checkpoint(gate)
        yield item


class GatedLock:
    """A re-entrant lock held by work that may be paused: a thread that would block on
    it opens the holder's gate while it waits, so it never waits on a pause that waits
    on it. `holding(gate)` takes it for gated work; `with lock:` for anything else."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._gate: PauseGate | None = None

    def __enter__(self) -> GatedLock:
        if not self._lock.acquire(blocking=False):
            gate = self._gate
            if gate is None:
                self._lock.acquire()
            else:
                with gate.reader_waiting():
                    self._lock.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self._lock.release()

    @contextmanager
    def holding(self, gate: PauseGate | None) -> Iterator[None]:
        # The gate is set before taking the lock: a thread that finds the lock taken
        # by this work then finds its gate too.
        outer = self._gate
        if gate is not None:
            self._gate = gate
        try:
            with self:
                yield
        finally:
            self._gate = outer
