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
    scope: str  # a key of SCOPES
    show: bool = False  # show in the footer
    palette: bool = True  # offer in the command palette


SCOPES = {
    "app": "Everywhere",
    "filter": "Filter bar",
    "list": "Event list",
    "facets": "Facets",
    "facet-rows": "Facet values",
    "detail": "Detail tree",
    "timeline": "Timeline",
    "help-screen": "This help",
    "skipped-screen": "Skipped files",
    "jump-screen": "Jump to time",
    "card-screen": "Card",
    "mark-screen": "Mark",
    "note-screen": "Note",
    "name-screen": "Save filter",
    "export-screen": "Export",
    "columns": "Column chooser",
}

ACTIONS: tuple[ActionSpec, ...] = (
    # --- app
    ActionSpec("focus-filter", "slash", "focus_filter", "Filter", "Edit the filter, cursor at its end (Enter applies, Esc leaves)", "app", True),
    ActionSpec("help", "question_mark", "help", "Help", "Show every action and its keys", "app", True),
    ActionSpec("skipped", "S", "skipped", "Skipped files", "List files that were not (fully) loaded, with reasons", "app", True),
    ActionSpec("jump-time", "t", "jump_time", "Jump to time", "Move the list cursor to the first event at or after a time", "app"),
    ActionSpec("undo-filter", "u", "undo_filter", "Undo filter", "Go back to the previous filter", "app"),
    ActionSpec("clear-filter", "ctrl+x", "clear_filter", "Clear filter", "Clear the filter (in the filter bar too): show every event", "app"),
    ActionSpec("follow", "F", "toggle_follow", "Follow", "Follow new events as they arrive (live tail)", "app", True),
    ActionSpec("newest", "N", "jump_newest", "Newest", "Jump to the newest event", "app"),
    ActionSpec("layout", "ctrl+d", "toggle_layout", "Detail layout", "Put the detail pane beside or below the list", "app"),
    ActionSpec("facets-toggle", "ctrl+t", "toggle_facets", "Facets", "Show or hide the facet column", "app"),
    ActionSpec("focus-list", "ctrl+l", "focus_list", "Focus list", "Move focus to the event list", "app"),
    ActionSpec("mark", "m", "mark", "Mark", "Mark the event with a label (again: unmark); kept in the case file", "app"),
    ActionSpec("note", "a", "note", "Note", "Attach a note to the event (kept in the case file)", "app"),
    ActionSpec("label-facet", "M", "label_facet", "Labels facet", "Show the labels of marked events in a facet (Enter filters mark:LABEL)", "app"),
    ActionSpec("save-filter", "s", "save_filter", "Save filter", "Save the filter under a name (recall it from ctrl+p)", "app"),
    ActionSpec("export", "e", "export", "Export", "Export the listed events (JSONL, CSV, .json.gz) with a manifest", "app"),
    # investigation pivots from the event under the cursor (tui/pivots.py)
    ActionSpec("pivot-credential", "K", "credential_events", "This credential", "Everything done with this event's access key (key:)", "app"),
    ActionSpec("pivot-descends", "D", "credential_descendants", "Descended credentials", "Everything done with it and keys minted from it (descends:)", "app"),
    ActionSpec("pivot-origin", "O", "origin_jump", "Origin", "Go to the event that minted this credential (again: up the chain)", "app"),
    ActionSpec("pivot-window", "w", "time_window", "Time window", "The filter within ±10 min of this event (time terms replaced)", "app"),
    ActionSpec("pivot-widen", "greater_than_sign", "widen_window", "Widen window", "Widen the filter's time window one step", "app"),
    ActionSpec("pivot-narrow", "less_than_sign", "narrow_window", "Narrow window", "Narrow the filter's time window one step", "app"),
    ActionSpec("pivot-actor", "A", "actor_window", "Same actor", "This principal in the window (again: its IP, then its key)", "app"),
    ActionSpec("pivot-card", "i", "open_card", "Card", "Card of the principal, key, role or IP (Enter filters to a line)", "app"),
    ActionSpec("detections", "exclamation_mark", "detections_facet", "Detections", "Detections facet: events by severity (] by rule)", "app"),
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
    ActionSpec("list-sort", "o", "sort_next", "Sort", "Sort by the next shown column; clicking a column title sorts by it", "list"),
    ActionSpec("list-sort-reverse", "R", "sort_reverse", "Reverse sort", "Sort the other way (ties stay in time order; empty values last)", "list"),
    ActionSpec("list-errors-first", "E", "errors_first", "Errors first", "Failed calls first, each group in time order; again for time order", "list"),
    ActionSpec("list-columns", "c", "choose_columns", "Columns", "Choose, order and size the list's columns (kept between runs)", "list"),
    # --- facets
    ActionSpec("facet-pick", "enter", "pick", "Filter", "Add field:value to the filter", "facets", True, palette=False),
    ActionSpec("facet-only", "equals_sign", "only", "Only this", "Replace the filter with field:value", "facets", palette=False),
    ActionSpec("facet-exclude", "x,minus", "exclude", "Exclude", "Add -field:value to the filter", "facets", True, palette=False),
    ActionSpec("facet-prev", "left_square_bracket", "prev_field", "Previous field", "Show another field in this facet", "facets", palette=False),
    ActionSpec("facet-next", "right_square_bracket", "next_field", "Next field", "Show another field in this facet", "facets", palette=False),
    ActionSpec("facet-narrow", "n", "narrow", "Narrow", "Type to search all values of this field", "facets", palette=False),
    ActionSpec("facet-leave-narrow", "escape", "leave_narrow", "Stop narrowing", "Leave the narrowing input (back to the top values)", "facets", palette=False),
    ActionSpec("facet-to-list", "down", "to_list", "To values", "From the narrowing input down to the values", "facets", palette=False),
    # --- facet values (the rows of one facet)
    ActionSpec("facet-down", "down,j", "cursor_down", "Down", "Next value", "facet-rows", palette=False),
    ActionSpec("facet-up", "up,k", "cursor_up", "Up", "Previous value", "facet-rows", palette=False),
    ActionSpec("facet-pgdn", "pagedown,ctrl+f", "page_down", "Page down", "Scroll a page on, the cursor with it", "facet-rows", palette=False),
    ActionSpec("facet-pgup", "pageup,ctrl+b", "page_up", "Page up", "Scroll a page back, the cursor with it", "facet-rows", palette=False),
    ActionSpec("facet-first", "home,g", "first", "First", "First value", "facet-rows", palette=False),
    ActionSpec("facet-last", "end,G,shift+g", "last", "Last", "Last value", "facet-rows", palette=False),
    ActionSpec("facet-select", "enter", "select", "Filter", "Add field:value to the filter", "facet-rows", palette=False),
    # --- detail
    ActionSpec("detail-down", "down,j", "cursor_down", "Down", "Next line", "detail", palette=False),
    ActionSpec("detail-up", "up,k", "cursor_up", "Up", "Previous line", "detail", palette=False),
    ActionSpec("detail-pgdn", "pagedown,ctrl+f", "page_down", "Page down", "Scroll a page on, the cursor with it", "detail", palette=False),
    ActionSpec("detail-pgup", "pageup,ctrl+b", "page_up", "Page up", "Scroll a page back, the cursor with it", "detail", palette=False),
    ActionSpec("detail-first", "home,g", "first", "First", "First line", "detail", palette=False),
    ActionSpec("detail-last", "end,G,shift+g", "last", "Last", "Last line", "detail", palette=False),
    ActionSpec("detail-filter", "f", "filter_value", "Filter", "Filter on the value under the cursor (its field, or its exact JSON path)", "detail", True, palette=False),
    ActionSpec("detail-only", "equals_sign", "only_value", "Only this", "Replace the filter with the value under the cursor", "detail", palette=False),
    ActionSpec("detail-exclude", "x", "exclude_value", "Exclude", "Exclude the value under the cursor", "detail", True, palette=False),
    ActionSpec("detail-copy", "c", "copy_value", "Copy", "Copy the value under the cursor (OSC 52 works over SSH)", "detail", True, palette=False),
    ActionSpec("detail-copy-event", "C", "copy_event", "Copy event", "Copy the whole event JSON", "detail", palette=False),
    ActionSpec("detail-collapse", "left,left_square_bracket", "collapse_node", "Collapse", "Collapse the node, or go to its parent", "detail", palette=False),
    ActionSpec("detail-expand", "right,right_square_bracket", "expand_node", "Expand", "Expand the node, or go to its first child", "detail", palette=False),
    ActionSpec("detail-pick", "enter", "pick", "Filter / open", "Filter on a value (as f); open or close a node", "detail", palette=False),
    ActionSpec("detail-open", "space", "select_cursor", "Open", "Expand/collapse; show a long value wrapped in full", "detail", palette=False),
    ActionSpec("detail-facet", "o", "facet_value", "Facet", "Show the field or JSON path under the cursor in a facet", "detail", palette=False),
    # --- timeline
    ActionSpec("tl-left", "left,h", "cursor_left", "Earlier", "Previous bucket", "timeline"),
    ActionSpec("tl-right", "right,l", "cursor_right", "Later", "Next bucket", "timeline"),
    ActionSpec("tl-left10", "shift+left,H", "move(-10)", "10 earlier", "Ten buckets earlier", "timeline"),
    ActionSpec("tl-right10", "shift+right,L", "move(10)", "10 later", "Ten buckets later", "timeline"),
    ActionSpec("tl-pgup", "pageup,ctrl+b", "page(-1)", "Page earlier", "A pane of buckets earlier (zoomed: the view pans, the cursor with it)", "timeline"),
    ActionSpec("tl-pgdn", "pagedown,ctrl+f", "page(1)", "Page later", "A pane of buckets later (zoomed: the view pans, the cursor with it)", "timeline"),
    ActionSpec("tl-first", "home,g", "edge(0)", "First bucket", "The first bucket of the data", "timeline"),
    ActionSpec("tl-last", "end,G,shift+g", "edge(-1)", "Last bucket", "The last bucket of the data", "timeline"),
    ActionSpec("tl-zoom-in", "plus,equals_sign", "zoom_in", "Zoom in", "Finer buckets around the cursor, filling the pane", "timeline"),
    ActionSpec("tl-zoom-out", "minus", "zoom_out", "Zoom out", "Coarser buckets around the cursor", "timeline"),
    ActionSpec("tl-reset", "0", "zoom_reset", "Reset zoom", "Show the default range (isolated outliers are counted at the edges)", "timeline"),
    ActionSpec("tl-mode", "r", "cycle_mode", "Timeline mode", "Plot events, the error rate, or errors stacked on events", "timeline"),
    ActionSpec("tl-peak", "p", "peak", "Highest bucket", "Cursor to the highest bucket on screen (of what the mode plots)", "timeline"),
    ActionSpec("tl-next-above", "right_square_bracket", "next_above(1)", "Next above threshold", "Next bucket at or above the threshold (default: half the highest)", "timeline"),
    ActionSpec("tl-prev-above", "left_square_bracket", "next_above(-1)", "Previous above threshold", "Previous bucket at or above the threshold", "timeline"),
    ActionSpec("tl-threshold", "T", "set_threshold", "Set threshold", "The cursor bucket's value becomes the threshold for ] and [", "timeline"),
    ActionSpec("tl-mark", "space,v", "mark", "Mark range", "Start or end a range selection", "timeline"),
    ActionSpec("tl-apply", "enter", "apply", "Filter to bucket/range", "Turn the bucket or range into since:/until:", "timeline"),
    ActionSpec("tl-clear", "escape", "clear_mark", "Clear mark", "Clear the range selection", "timeline"),
    # --- column chooser
    ActionSpec("col-toggle", "space,x", "toggle", "Show/hide", "Show or hide the column under the cursor", "columns", palette=False),
    ActionSpec("col-up", "shift+up,K", "move_up", "Move up", "Move the column left in the list", "columns", palette=False),
    ActionSpec("col-down", "shift+down,J", "move_down", "Move down", "Move the column right in the list", "columns", palette=False),
    ActionSpec("col-wider", "plus,equals_sign,right", "wider", "Wider", "Fix the column one cell wider", "columns", palette=False),
    ActionSpec("col-narrower", "minus,left", "narrower", "Narrower", "Fix the column one cell narrower", "columns", palette=False),
    ActionSpec("col-auto", "a", "auto_width", "Auto width", "Let the column take its share of the room again", "columns", palette=False),
    ActionSpec("col-path", "p", "add_path", "Add path", "Add a column for a JSON path, e.g. requestParameters.bucketName", "columns", palette=False),
    ActionSpec("col-defaults", "d", "defaults", "Defaults", "Back to the default columns", "columns", palette=False),
    ActionSpec("col-apply", "enter", "apply", "Apply", "Use these columns and keep them for the next run", "columns", palette=False),
    ActionSpec("col-cancel", "escape", "cancel", "Cancel", "Close without changing the columns", "columns", palette=False),
    # --- modal screens
    ActionSpec("help-close", "escape,q,question_mark", "dismiss", "Close", "Close the help", "help-screen", True, palette=False),
    ActionSpec("help-query", "f", "show('help-query')", "Filter language", "Show the filter language reference", "help-screen", True, palette=False),
    ActionSpec("help-keys", "k", "show('help-keys')", "Keys", "Show the keys", "help-screen", True, palette=False),
    ActionSpec("skipped-close", "escape,q,S", "dismiss", "Close", "Close the list of skipped files", "skipped-screen", True, palette=False),
    ActionSpec("card-close", "escape,q,i", "dismiss_none", "Close", "Close the card", "card-screen", True, palette=False),
    ActionSpec("card-narrow", "n", "narrow", "Narrow", "A card of the subject narrowed by the line's value", "card-screen", True, palette=False),
    ActionSpec("mark-cancel", "escape", "cancel", "Cancel", "Close without marking (1-9 or Enter pick a label)", "mark-screen", True, palette=False),
    ActionSpec("note-cancel", "escape", "cancel", "Cancel", "Close without changing the note", "note-screen", True, palette=False),
    ActionSpec("name-cancel", "escape", "cancel", "Cancel", "Close without saving the filter", "name-screen", True, palette=False),
    ActionSpec("export-cancel", "escape", "cancel", "Cancel / close", "Stop a running export (nothing is left behind), or close", "export-screen", True, palette=False),
    ActionSpec("jump-cancel", "escape", "dismiss_none", "Cancel", "Close without jumping", "jump-screen", True, palette=False),
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
    "greater_than_sign": ">",
    "exclamation_mark": "!",
    "less_than_sign": "<",
    "space": "space",
}


def key_label(keys: str) -> str:
    """Human form of a binding's keys: `pagedown,ctrl+f` -> `pagedown / ctrl+f`."""
    return " / ".join(_KEY_NAMES.get(k.strip(), k.strip()) for k in keys.split(","))
