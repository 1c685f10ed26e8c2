"""Detections and credential chains in the explorer, worked out off the UI thread.

The detection rules (tui/core/detect) and the credential index (core.credentials) both
catch up with the rows committed since their last run. The explorer runs them in a
worker thread once the load is committed, and again after each commit of arrivals
while tailing; the pump commits nothing while that runs (the store only changes while
nobody else reads it), so arrivals wait for the rules, keys do not. The list's
markers read a copy of the results made when a run ends, so drawing never waits on
the rules' lock.

Keys come first: a key, click or paste closes the run's pause gate (tui/core/pause.py),
and the run waits at its next checkpoint (between rules, files, slices) until the frame
answering the input is drawn and no more input came for PAUSE_GRACE_S.
"""

from __future__ import annotations

import gc
import sys
import time
from typing import TYPE_CHECKING

import numpy as np
from textual import work
from textual.message import Message

from .core.credentials import credentials_of
from .core.detect import detections_of
from .core.pause import PauseGate, WorkStopped
from .core.sanitize import clean
from .core.view import big_buffers_returned

if TYPE_CHECKING:
    from collections.abc import Sequence

    from .app_host import AppHost
    from .core.detect import Rule
else:
    AppHost = object  # the mixin's real host is TrailscopeApp (tui/app_host.py says why)

# While the analysis runs, a thread waiting for the GIL has it after this long instead
# of CPython's 5 ms: the UI thread lets the GIL go at each big numpy call of a key and
# waits for it again after each while the analysis runs Python. The price is more
# switches while both run.
SWITCH_INTERVAL_S = 0.0002
# While the analysis runs, a young collection waits for this many new container objects
# (the explorer's own threshold: tui.policies.GcPolicy). The analysis makes ~45k short-
# lived tuples and lists per million events (per-file work lists), freed as it goes; at
# 10M its threshold collections took up to 23 ms each, holding the GIL, and none runs
# with this threshold (benchmarks/bench_analysis.py --gen0). The explorer's collections
# between keys and after frames still run meanwhile.
ANALYSIS_YOUNG_THRESHOLD = 1_000_000
# The gate stays closed this long after the frame answering an input, so the next key of
# a burst (typing, key repeat ~30/s) finds the analysis still paused.
PAUSE_GRACE_S = 0.06
# An input that draws no frame reopens the gate after this long.
PAUSE_FRAMELESS_S = 0.25


class AnalysisDone(Message):
    def __init__(self, seconds: float, error: str | None = None) -> None:
        super().__init__()
        self.seconds = seconds
        self.error = error


class BackgroundAnalysis(AppHost):
    """Mixed into TrailscopeApp: `attach_rules` at start, `start_analysis` after
    commits; `analysing` gates the pump."""

    analysing = False  # a run is under way in the worker
    _analysis_again = False  # rows were committed during a run: run once more
    _analysed_rows = 0  # rows the last run covered
    analysis_runs: list[float]  # seconds each run took (benchmarks read it)
    pause_gate: PauseGate  # closed while an input waits for its frame
    _input_seq = 0  # inputs seen: a reopen planned before the latest one is void
    _framed = True  # a frame was drawn since the latest input
    rules_skipped = 0  # Sigma rules given on the command line that could not be loaded

    def attach_rules(self, rules: Sequence[Rule] | None = None) -> None:
        """Bind detection rules to the store: `rules`, or the built-in pack and the
        configured Sigma rules (docs/detections.md). A config that cannot be read is
        reported; the built-in rules still run."""
        from .core.detect import Detections
        from .core.detect.config import ConfigError, rule_set

        if rules is None:
            try:
                rules = rule_set().rules
            except ConfigError as e:
                self.notify(
                    clean(f"detection rules: {e}"), severity="error", markup=False, timeout=8
                )
                rules = rule_set(use_config=False).rules
        Detections(self.store, rules, keep_new=False)  # the explorer reads hits, not new ones
        if self.rules_skipped:
            n = self.rules_skipped
            self.notify(
                f"{n} Sigma rule{'s' if n != 1 else ''} skipped: `trailscope rules` says why",
                severity="warning",
                markup=False,
                timeout=8,
            )

    @property
    def rules_pending(self) -> bool:
        """Rules are bound but have not run over what is committed (loading, or a run
        under way): panes show that rather than running them in the UI thread."""
        return self.store.detections is not None and (
            self.analysing or len(self.store) > self._analysed_rows
        )

    def start_analysis(self) -> None:
        """Run the rules and the credential index over the rows committed since the
        last run, in a worker (at once, or when the running one ends)."""
        if len(self.store) <= self._analysed_rows:
            return
        if self.analysing:
            self._analysis_again = True
            return
        self.analysing = True
        self._analysed_rows = len(self.store)
        self._analyse()

    def pause_for_input(self) -> None:
        """An input arrived (key, click, paste): hold the analysis until the frame
        answering it is drawn (`resume_after_frame`) or PAUSE_FRAMELESS_S passed."""
        if not self.analysing:
            return
        self._input_seq += 1
        self._framed = False
        self.pause_gate.close()
        seq = self._input_seq
        self.set_timer(PAUSE_FRAMELESS_S, lambda: self._reopen(seq, unless_framed=True))

    def resume_after_frame(self) -> None:
        """A frame is drawn: the analysis goes on PAUSE_GRACE_S later unless more input
        comes meanwhile."""
        if self.pause_gate.closed and not self._framed:
            self._framed = True
            seq = self._input_seq
            self.set_timer(PAUSE_GRACE_S, lambda: self._reopen(seq))

    def _reopen(self, seq: int, unless_framed: bool = False) -> None:
        # A frame since the input planned its own reopen (resume_after_frame).
        if seq == self._input_seq and not (unless_framed and self._framed):
            self.pause_gate.open()

    @work(thread=True, group="analysis")
    def _analyse(self) -> None:
        t0 = time.perf_counter()
        error = None
        switch = sys.getswitchinterval()
        sys.setswitchinterval(min(switch, SWITCH_INTERVAL_S))
        young, *older = gc.get_threshold()
        raised = max(young, ANALYSIS_YOUNG_THRESHOLD) if young else 0  # 0: left off
        if raised:
            gc.set_threshold(raised, *older)
        try:
            with big_buffers_returned():  # its temporaries go back when freed
                det = detections_of(self.store)
                if det is not None:
                    det.sync(self.pause_gate)
                credentials_of(self.store).catch_up(self.pause_gate)
        except WorkStopped:  # the explorer is closing: nobody waits for the results
            return
        except Exception as e:  # a rule or the index failing must not stop the explorer
            error = f"{type(e).__name__}: {e}"
        finally:
            sys.setswitchinterval(switch)
            if raised and gc.get_threshold()[0] == raised:  # else the explorer set its own
                gc.set_threshold(young, *gc.get_threshold()[1:])
        self.post_message(AnalysisDone(time.perf_counter() - t0, error))

    def on_analysis_done(self, msg: AnalysisDone) -> None:
        self.analysing = False
        self.pause_gate.open()
        self.analysis_runs.append(msg.seconds)
        if msg.error is not None:
            self.notify(
                clean(f"detection rules failed: {msg.error}"),
                severity="error",
                markup=False,
                timeout=8,
            )
        det = detections_of(self.store)
        if det is not None and self.is_running:
            n = len(self.store)
            ranks = np.full(n, -1, np.int8)
            for rule in sorted(det.rules, key=lambda r: r.rank):  # the most severe last
                hits = det.hits(rule.id)
                ranks[hits[hits < n]] = rule.rank
            self.main.show_detections(ranks)
            if self.query_obj.uses_detections:
                self.redraw.stale = True  # the filter's result changed with the hits
        if self._analysis_again:
            self._analysis_again = False
            self.start_analysis()
        self.pump()  # arrivals held back while the rules ran
