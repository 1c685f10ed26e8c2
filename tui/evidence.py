"""The explorer's evidence: the case (marks, notes, saved filters), the filter history
that survives restarts, and exports. `Evidence` holds them; `EvidenceActions` is the
app's keys for them (a mixin of TrailscopeApp, so app.py only wires it in).

The case file is opened at start when it exists, and created at the first mark, note or
saved filter: opening a trail writes nothing anywhere until the user keeps something.
Each action is one transaction in the case file (tui/core/case.py), on the UI thread
(~1 ms). History is written by one background thread, in order, off the keys' path.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from textual import work
from textual.app import SystemCommand

from widgets.safe import markup_literal

from .core.annotations import Annotations
from .core.case import Case, CaseError, SavedFilter, open_case_for
from .core.export_job import ExportCancelled, ExportError, ExportResult, run_export
from .core.history import FilterHistory
from .core.integrity_view import FileIntegrity, check
from .core.query import Is, Query, _walk
from .core.sanitize import clean
from .core.store import Store
from .core.view import LABEL_FACET
from .evidence_screens import ExportScreen, MarkScreen, NameScreen, NoteScreen

if TYPE_CHECKING:
    import numpy as np

    from .app_host import AppHost
else:
    AppHost = object  # the mixin's real host is TrailscopeApp (tui/app_host.py says why)

__all__ = ["Evidence", "EvidenceActions"]


class Evidence:
    """The case and the filter history of one explorer session."""

    def __init__(
        self,
        store: Store,
        trail_paths: list[str],
        case_path: str | os.PathLike | None,
        history: FilterHistory | None,
    ) -> None:
        self.store = store
        self.trail_paths = trail_paths
        self.case_path = Path(case_path) if case_path is not None else None
        self.case: Case | None = None
        self.annotations: Annotations | None = None
        self.history = history
        self.integrity: FileIntegrity | str | None = None  # a str: checking, or why not
        self.integrity_wanted = False  # asked for while the trail was loading
        self.integrity_running = False
        self._history_writer = ThreadPoolExecutor(1, "history") if history else None
        self._last_write: Future | None = None
        self._failed: str | None = None  # set by the writer thread
        self._told = False

    # ------------------------------------------------------------------ case
    def open_existing(self) -> str | None:
        """Open the case if its file exists; the reason when it cannot be used."""
        if self.case_path is None or not self.case_path.exists():
            return None
        try:
            self._bind(open_case_for(self.trail_paths, self.case_path, create=False))
        except CaseError as e:
            return str(e)
        return None

    def ensure_case(self) -> Annotations:
        """The case's annotations, creating the case file on first use. Raises CaseError."""
        if self.annotations is None:
            if self.case_path is None:
                raise CaseError("no case file: start trailscope with --case PATH")
            self._bind(open_case_for(self.trail_paths, self.case_path, create=True))
        assert self.annotations is not None
        return self.annotations

    def _bind(self, case: Case) -> None:
        self.case = case
        self.annotations = Annotations(case, self.store)

    def saved_filters(self) -> list[SavedFilter]:
        return [] if self.case is None else self.case.saved_filters()

    def close(self) -> None:
        if self._history_writer is not None:
            self._history_writer.shutdown(wait=True)
        if self.case is not None:
            self.case.close()

    # --------------------------------------------------------------- history
    def past_filters(self) -> list[str]:
        return [] if self.history is None else self.history.entries()

    def remember_filter(self, text: str) -> str | None:
        """Add an applied filter to the history file (in the background, in order).
        Returns, once, why an earlier write failed (the history in memory still works)."""
        if self._history_writer is not None and text.strip():
            self._last_write = self._history_writer.submit(self._add, text)
        if self._failed and not self._told:
            self._told = True
            return self._failed
        return None

    def _add(self, text: str) -> None:
        assert self.history is not None
        if not self.history.add(text):
            self._failed = self.history.error or "cannot save the filter history"

    def flush_history(self) -> None:
        """Wait for the history writes asked so far (tests; closing)."""
        if self._last_write is not None:
            self._last_write.result()


def uses_unverified(q: Query) -> bool:
    return q.root is not None and any(
        isinstance(n, Is) and n.name.lower() == "unverified" for n in _walk(q.root)
    )


class EvidenceActions(AppHost):
    """The keys for marks, notes, saved filters and export (see tui/actions.py)."""

    def _row(self) -> int | None:
        row = self.events_list.cursor_row
        if row is None:
            self.notify("no event under the cursor", timeout=3)
        return row

    def _annotations(self) -> Annotations | None:
        try:
            return self.evidence.ensure_case()
        except CaseError as e:
            self.notify(clean(str(e)), severity="error", markup=False)
            return None

    def _annotated(self) -> None:
        """Marks or notes changed: redraw the list's markers and the detail pane's Case
        section, re-run a filter using them."""
        self.events_list.refresh_rows()
        detail = self.main.detail_pane
        detail.show(detail.row, force=True)
        if self.query_obj.uses_marks:
            self.request_view()
        elif self.view is not None:
            self.main.panels_pending = self.view
            self.main.show_panels()  # the label facet

    def evidence_start(self) -> None:
        """At start: past filters into the filter bar's history, the case if it exists."""
        ev = self.evidence
        self.filter_input.history[:0] = ev.past_filters()
        for problem in (ev.history.error if ev.history else None, ev.open_existing()):
            if problem:
                self.notify(clean(problem), severity="error", markup=False)

    # ----------------------------------------------------------------- marks
    def action_mark(self) -> None:
        row = self._row()
        if row is None or (ann := self._annotations()) is None:
            return
        current = ann.labels_of(row)

        def done(label: str | None) -> None:
            if not label:
                return
            try:
                on = ann.toggle(row, label, self.query_obj.text)
            except CaseError as e:
                self.notify(clean(str(e)), severity="error", markup=False)
                return
            self.notify(f"{'marked' if on else 'unmarked'} {clean(label)}", timeout=2, markup=False)
            self._annotated()

        self.push_screen(MarkScreen(ann.labels(), current), done)

    def action_note(self) -> None:
        row = self._row()
        if row is None or (ann := self._annotations()) is None:
            return
        note = ann.note_of(row)

        def done(text: str | None) -> None:
            if text is None:
                return
            try:
                got = ann.set_note(row, text, self.query_obj.text)
            except CaseError as e:
                self.notify(clean(str(e)), severity="error", markup=False)
                return
            self.notify("note saved" if got is not None else "note removed", timeout=2)
            self._annotated()

        self.push_screen(NoteScreen("" if note is None else note.text), done)

    def action_label_facet(self) -> None:
        self.main.query_one("#facets").display = True
        fl = self.main.facet_panel.show(LABEL_FACET)
        if fl is not None:
            fl.focus()

    # -------------------------------------------------------- saved filters
    def action_save_filter(self) -> None:
        text = self.query_obj.text
        if not text.strip():
            self.notify("no filter to save: apply one first", timeout=3)
            return

        def done(name: str | None) -> None:
            if not name:
                return
            try:
                if self._annotations() is None:
                    return
                assert self.evidence.case is not None
                self.evidence.case.save_filter(name, text)
            except CaseError as e:
                self.notify(clean(str(e)), severity="error", markup=False)
                return
            self.notify(f"saved filter {clean(name.strip())}", timeout=2, markup=False)

        self.push_screen(NameScreen("Save the filter as (a name; recall it from ctrl+p):"), done)

    def recall_filter(self, name: str) -> None:
        case = self.evidence.case
        saved = None if case is None else case.saved_filter(name)
        if saved is None:
            self.notify(f"no saved filter {clean(name)}", severity="error", markup=False)
            return
        self.filter_input.value = saved.filter
        self.set_filter(saved.filter)

    def evidence_commands(self) -> Iterator[SystemCommand]:
        """Palette entries: each saved filter."""
        for f in self.evidence.saved_filters():
            yield SystemCommand(  # the palette reads both as markup
                f"Saved filter: {markup_literal(f.name)}",
                markup_literal(f.filter),
                lambda name=f.name: self.recall_filter(name),
            )

    # ------------------------------------------------------------- integrity
    def check_integrity(self) -> None:
        """Check the loaded files against their digests in a worker (asked for by the
        Files screen or an is:unverified filter; after the load if asked during it), and
        again when files arrived since the last check (the old states stay meanwhile)."""
        ev = self.evidence
        if self.source is not None:
            ev.integrity = "not checked for a trail read from S3 (run trailscope verify)"
            return
        if ev.integrity_running or (
            isinstance(ev.integrity, FileIntegrity) and ev.integrity.files >= len(self.store.files)
        ):
            return
        if self.loading:
            ev.integrity_wanted = True
            return
        if ev.integrity is None:
            ev.integrity = "checking the files against the digest files…"
        ev.integrity_running = True
        self._integrity_job()

    @work(thread=True, group="integrity")
    def _integrity_job(self) -> None:
        got = check(self.store, self.paths, self.jobs)
        self.call_from_thread(self._integrity_done, got)

    def _integrity_done(self, got: FileIntegrity) -> None:
        from .screens import SkippedScreen

        self.evidence.integrity_running = False
        self.evidence.integrity = got
        self.store.integrity = got
        if uses_unverified(self.query_obj):
            self.request_view()
        if isinstance(self.screen, SkippedScreen):
            self.screen.show_integrity(got)

    def integrity_after_load(self) -> None:
        if self.evidence.integrity_wanted:
            self.evidence.integrity_wanted = False
            self.check_integrity()

    # ---------------------------------------------------------------- export
    def action_export(self) -> None:
        if self.view is None or self.loading:
            self.notify("wait for the trail to load before exporting", timeout=3)
            return
        rows = self.events_list.rows.copy()
        query = self.view.query  # what the list shows (a new filter may still be computing)
        columns = self.events_list.visible_columns()
        screen = ExportScreen(len(rows), self.evidence.trail_paths)

        def start(path: str, fmt: str) -> None:
            self.exporting = True  # before the thread starts: no commit comes between
            self.export_job(screen, rows, query, path, fmt, columns)

        screen.on_start = start
        self.push_screen(screen)

    @work(thread=True, exclusive=True, group="export")
    def export_job(
        self,
        screen: ExportScreen,
        rows: np.ndarray,
        query: Query,
        path: str,
        fmt: str,
        columns: list[str],
    ) -> None:
        """Runs in a thread. The store is only appended to by commits, which the pump
        holds off while `exporting` is set, so the rows read here do not move."""
        cancel = screen.cancel_flag
        try:
            res: ExportResult | str = run_export(
                self.store,
                rows,
                path,
                fmt,
                trail_paths=self.evidence.trail_paths,
                filter_text=query.text,
                columns=columns,
                case_path=(
                    str(self.evidence.case_path)
                    if self.evidence.case_path is not None and query.uses_marks
                    else None
                ),
                progress=lambda done, total: self.call_from_thread(screen.progress, done, total),
                cancel=cancel,
            )
        except ExportCancelled:
            res = "export cancelled: nothing was written"
        except ExportError as e:
            res = str(e)
        except Exception as e:  # noqa: BLE001 - a bug must not leave commits held
            res = f"export failed: {type(e).__name__}: {e}"
        self.call_from_thread(self._export_done, screen, res)

    def _export_done(self, screen: ExportScreen, res: ExportResult | str) -> None:
        self.exporting = False
        self.pump()  # what arrived meanwhile
        if screen.is_attached:
            screen.finished(res)
        elif isinstance(res, str):
            self.notify(clean(res), severity="warning", markup=False)
