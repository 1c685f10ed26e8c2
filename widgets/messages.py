"""Messages widgets post to the app (attributes down, messages up)."""

from __future__ import annotations

from textual.message import Message


class FilterRequest(Message):
    """Add `field:value` to the filter, or its negation: `field` is an indexed field, a
    JSON path as tui.core.paths spells it, or None for free text. `replace`: the term
    becomes the whole filter."""

    def __init__(
        self, field: str | None, value: str, negate: bool = False, replace: bool = False
    ) -> None:
        super().__init__()
        self.field = field
        self.value = value
        self.negate = negate
        self.replace = replace


class FacetRequest(Message):
    """Show `name` (an indexed field, or a JSON path as spelt) in a facet list."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name


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
