"""The status line: counts, files, load progress, follow state and the active filter."""

from __future__ import annotations

from dataclasses import dataclass

from .safe import label
from .text_line import TextLine


@dataclass(slots=True)
class StatusInfo:
    total: int = 0
    matching: int = 0
    files_loaded: int = 0
    files_skipped: int = 0
    files_total: int = 0
    loading: bool = False
    load_fraction: float = 0.0
    filter_text: str = ""
    follow: bool = False
    new_pending: int = 0
    rate_per_min: float | None = None
    busy: bool = False
    gone: int = 0
    tail_mode: str = ""  # "" (not tailing), "watch", "poll" or "rescan" (core.tail.MODES)
    list_note: str = ""  # how the list is sorted, which columns are hidden (EventList.describe)
    transfer: str = ""  # an S3 trail's download under way (objects, bytes, rate)


class StatusLine(TextLine):
    DEFAULT_CSS = """
    StatusLine { height: 1; padding: 0 1; background: $panel; }
    """

    def show(self, s: StatusInfo) -> None:
        parts: list = [
            (f"{s.matching:,}", "bold"),
            (f" / {s.total:,} events", ""),
            ("  ·  files ", "dim"),
            (f"{s.files_loaded:,} loaded", ""),
        ]
        if s.files_skipped:
            parts += [(f", {s.files_skipped:,} skipped", "bold"), (" (S)", "dim")]
        if s.gone:
            parts += [(f", {s.gone:,} gone", "bold")]
        if s.loading:
            pct = int(s.load_fraction * 100)
            parts += [("  ·  ", "dim"), (f"loading {pct}%", "reverse")]
        if s.transfer:
            parts += [("  ·  ", "dim"), (s.transfer, "")]
        if s.busy:
            parts += [("  ·  ", "dim"), ("searching…", "italic")]
        if s.tail_mode == "poll":
            parts += [("  ·  ", "dim"), ("polling", "bold")]
        elif s.tail_mode == "rescan":
            parts += [("  ·  ", "dim"), ("no file watch: rescanning", "bold")]
        if s.follow:
            parts += [("  ·  ", "dim"), ("FOLLOW", "reverse bold")]
        if s.new_pending:
            parts += [("  ·  ", "dim"), (f"+{s.new_pending:,} new (N)", "bold")]
        if s.rate_per_min is not None:
            parts += [("  ·  ", "dim"), (f"{s.rate_per_min:,.0f}/min", "")]
        if s.list_note:
            parts += [("  ·  ", "dim"), (s.list_note, "italic")]
        if s.filter_text:
            parts += [("  ·  filter ", "dim")]
            # The filter text may hold pasted log content: a plain str part is sanitised.
            parts.append(s.filter_text)
        self.update(label(*parts))
