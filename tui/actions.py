"""The one table of actions: key bindings, the help screen, the footer and the command
palette are all built from it, so they never disagree.

Each scope is a widget class (or the app); a widget declares
`BINDINGS = bindings("list")` (widgets/bindings.py turns these rows into Textual
bindings) and implements `action_<action>` for its rows. This module is plain data: the
widgets and the app both read it, so it imports neither (tests/test_layers.py).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ActionSpec:
    id: str  # binding id: stable name for remapping
    keys: str  # Textual key names, comma-separated
    action: str  # action name (method action_<name> on the scope's widget/app)
    title: str  # short title (footer, palette)
    help: str  # one line for the help screen
    scope: str  # "app" | "filter" | "list" | "facets" | "detail" | "timeline"
    show: bool = False  # show in the footer
    palette: bool = True  # offer in the command palette


SCOPES = {
    "app": "Everywhere",
    "filter": "Filter bar",
    "list": "Event list",
    "facets": "Facets",
    "detail": "Detail tree",
    "timeline": "Timeline",
}

ACTIONS: tuple[ActionSpec, ...] = (
    # --- app
    ActionSpec("focus-filter", "slash", "focus_filter", "Filter", "Edit the filter (Enter applies, Esc leaves)", "app", True),
    ActionSpec("help", "question_mark", "help", "Help", "Show every action and its keys", "app", True),
    ActionSpec("skipped", "S", "skipped", "Skipped files", "List files that were not (fully) loaded, with reasons", "app", True),
    ActionSpec("jump-time", "t", "jump_time", "Jump to time", "Move the list cursor to the first event at or after a time", "app"),
    ActionSpec("undo-filter", "u", "undo_filter", "Undo filter", "Go back to the previous filter", "app"),
    ActionSpec("clear-filter", "ctrl+x", "clear_filter", "Clear filter", "Show every event", "app"),
    ActionSpec("follow", "F", "toggle_follow", "Follow", "Follow new events as they arrive (live tail)", "app", True),
    ActionSpec("newest", "N", "jump_newest", "Newest", "Jump to the newest event", "app"),
    ActionSpec("layout", "ctrl+d", "toggle_layout", "Detail layout", "Put the detail pane beside or below the list", "app"),
    ActionSpec("facets-toggle", "ctrl+t", "toggle_facets", "Facets", "Show or hide the facet column", "app"),
    ActionSpec("focus-list", "ctrl+l", "focus_list", "Focus list", "Move focus to the event list", "app"),
    ActionSpec("quit", "q", "quit", "Quit", "Quit trailscope", "app", True),
    # --- filter bar
    ActionSpec("filter-apply", "enter", "apply", "Apply", "Apply the filter; a bad filter shows the error and keeps the result", "filter", palette=False),
    ActionSpec("filter-leave", "escape", "leave", "Leave", "Leave the filter bar (the text stays)", "filter", palette=False),
    ActionSpec("filter-prev", "up", "history_prev", "Older filter", "Previous filter from history", "filter", palette=False),
    ActionSpec("filter-next", "down", "history_next", "Newer filter", "Next filter from history", "filter", palette=False),
    # --- event list
    ActionSpec("list-down", "down,j", "cursor_down", "Down", "Next event", "list", palette=False),
    ActionSpec("list-up", "up,k", "cursor_up", "Up", "Previous event", "list", palette=False),
    ActionSpec("list-pgdn", "pagedown,ctrl+f", "page_down", "Page down", "Next page", "list", palette=False),
    ActionSpec("list-pgup", "pageup,ctrl+b", "page_up", "Page up", "Previous page", "list", palette=False),
    ActionSpec("list-first", "home,g", "first", "First", "Oldest matching event", "list", palette=False),
    ActionSpec("list-last", "end,G,shift+g", "last", "Last", "Newest matching event", "list", True, palette=False),
    # --- facets
    ActionSpec("facet-pick", "enter", "pick", "Filter", "Add field:value to the filter", "facets", True, palette=False),
    ActionSpec("facet-exclude", "x,minus", "exclude", "Exclude", "Add -field:value to the filter", "facets", True, palette=False),
    ActionSpec("facet-prev", "left_square_bracket", "prev_field", "Previous field", "Show another field in this facet", "facets", palette=False),
    ActionSpec("facet-next", "right_square_bracket", "next_field", "Next field", "Show another field in this facet", "facets", palette=False),
    ActionSpec("facet-narrow", "n", "narrow", "Narrow", "Type to search all values of this field", "facets", palette=False),
    # --- detail
    ActionSpec("detail-down", "down,j", "cursor_down", "Down", "Next line", "detail", palette=False),
    ActionSpec("detail-up", "up,k", "cursor_up", "Up", "Previous line", "detail", palette=False),
    ActionSpec("detail-pgdn", "pagedown,ctrl+f", "page_down", "Page down", "Next page", "detail", palette=False),
    ActionSpec("detail-pgup", "pageup,ctrl+b", "page_up", "Page up", "Previous page", "detail", palette=False),
    ActionSpec("detail-first", "home,g", "first", "First", "First line", "detail", palette=False),
    ActionSpec("detail-last", "end,G,shift+g", "last", "Last", "Last line", "detail", palette=False),
    ActionSpec("detail-filter", "f", "filter_value", "Filter", "Filter on the value under the cursor (its field, or its exact JSON path)", "detail", True, palette=False),
    ActionSpec("detail-exclude", "x", "exclude_value", "Exclude", "Exclude the value under the cursor", "detail", True, palette=False),
    ActionSpec("detail-copy", "c", "copy_value", "Copy", "Copy the value under the cursor (OSC 52 works over SSH)", "detail", True, palette=False),
    ActionSpec("detail-copy-event", "C", "copy_event", "Copy event", "Copy the whole event JSON", "detail", palette=False),
    ActionSpec("detail-collapse", "left,left_square_bracket", "collapse_node", "Collapse", "Collapse the node, or go to its parent", "detail", palette=False),
    ActionSpec("detail-expand", "right,right_square_bracket", "expand_node", "Expand", "Expand the node, or go to its first child", "detail", palette=False),
    ActionSpec("detail-pick", "enter", "pick", "Filter / open", "Filter on a value (as f); open or close a node", "detail", palette=False),
    ActionSpec("detail-open", "space", "select_cursor", "Open", "Expand/collapse; show a long value wrapped in full", "detail", palette=False),
    ActionSpec("detail-facet", "o", "facet_value", "Facet", "Show the field or JSON path under the cursor in a facet", "detail", palette=False),
    # --- timeline
    ActionSpec("tl-left", "left,h", "cursor_left", "Earlier", "Previous bucket", "timeline", palette=False),
    ActionSpec("tl-right", "right,l", "cursor_right", "Later", "Next bucket", "timeline", palette=False),
    ActionSpec("tl-zoom-in", "plus,equals_sign", "zoom_in", "Zoom in", "Zoom in around the cursor", "timeline", palette=False),
    ActionSpec("tl-zoom-out", "minus", "zoom_out", "Zoom out", "Zoom out", "timeline", palette=False),
    ActionSpec("tl-reset", "0", "zoom_reset", "Reset zoom", "Show the whole span", "timeline", palette=False),
    ActionSpec("tl-mark", "space,v", "mark", "Mark range", "Start or end a range selection", "timeline", palette=False),
    ActionSpec("tl-apply", "enter", "apply", "Filter to bucket/range", "Turn the bucket or range into since:/until:", "timeline", palette=False),
    ActionSpec("tl-clear", "escape", "clear_mark", "Clear mark", "Clear the range selection", "timeline", palette=False),
)


def by_scope(scope: str) -> list[ActionSpec]:
    return [a for a in ACTIONS if a.scope == scope]


_KEY_NAMES = {
    "slash": "/",
    "question_mark": "?",
    "left_square_bracket": "[",
    "right_square_bracket": "]",
    "minus": "-",
    "plus": "+",
    "equals_sign": "=",
    "space": "space",
}


def key_label(keys: str) -> str:
    """Human form of a binding's keys: `pagedown,ctrl+f` -> `pagedown / ctrl+f`."""
    return " / ".join(_KEY_NAMES.get(k.strip(), k.strip()) for k in keys.split(","))
