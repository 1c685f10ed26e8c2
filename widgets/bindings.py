"""Textual key bindings built from the action table (tui/actions.py)."""

from __future__ import annotations

from textual.binding import Binding, BindingType

from tui.actions import by_scope


def bindings(scope: str) -> list[BindingType]:
    """The bindings of one scope of the action table, with the rows' ids so users can
    remap them. Typed as Textual types `BINDINGS` (a list is invariant)."""
    return [Binding(a.keys, a.action, a.title, show=a.show, id=a.id) for a in by_scope(scope)]
