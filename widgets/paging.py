"""Paging as `less` does it, for panes with a cursor: a page key scrolls the pane by a
page and the cursor moves with it, keeping its row on screen; at either end the pane
stops and the cursor goes on to the first or last line."""

from __future__ import annotations

__all__ = ["page_move"]


def page_move(cursor: int, top: int, page: int, count: int, direction: int) -> tuple[int, int]:
    """(cursor, top line) after paging `direction` (+1 on, -1 back) over `count` lines
    with `page` lines on screen. A cursor below 0 (none yet) starts from the top line."""
    if count <= 0:
        return -1, 0
    page = max(1, page)
    if cursor < 0:
        cursor = top
    new_top = min(max(0, count - page), max(0, top + direction * page))
    new_cursor = min(count - 1, max(0, cursor + direction * page))
    return new_cursor, new_top
