"""Messages widgets post to the app (attributes down, messages up)."""

from __future__ import annotations

from textual.message import Message


class FilterRequest(Message):
    """Add `field:value` (free text when field is None) to the filter, or its negation."""

    def __init__(self, field: str | None, value: str, negate: bool = False) -> None:
        super().__init__()
        self.field = field
        self.value = value
        self.negate = negate


class TimeRangeRequest(Message):
    """Restrict the filter to events with lo_ms <= time < hi_ms."""

    def __init__(self, lo_ms: int, hi_ms: int) -> None:
        super().__init__()
        self.lo_ms = lo_ms
        self.hi_ms = hi_ms


class CopyRequest(Message):
    """Copy `text` to the clipboard (OSC 52 works over SSH); `what` names it for the toast."""

    def __init__(self, text: str, what: str) -> None:
        super().__init__()
        self.text = text
        self.what = what


class EventHighlighted(Message):
    """The event list's cursor is on store row `row` (None when the list is empty)."""

    def __init__(self, row: int | None) -> None:
        super().__init__()
        self.row = row


class EventRequest(Message):
    """Move the event list's cursor to store row `row` (e.g. an Insights event's pair)."""

    def __init__(self, row: int) -> None:
        super().__init__()
        self.row = row
