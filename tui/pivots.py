"""The explorer's investigation pivots: one key from the event under the cursor to a
filter (its credential, the credentials descended from it, a time window around it,
the same actor in that window) or to a card. The filter text comes from the engine
(`core.query.term_for`, `core.timewindow`); this mixin only picks the event and the
value and applies the result, which `u` undoes like any filter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .core.cards import SUBJECT_FIELDS
from .core.credentials import credentials_of
from .core.normalize import NO_TIME
from .core.query import QueryError, term_for
from .core.sanitize import clean
from .core.timewindow import (
    ACTOR_FIELDS,
    DEFAULT_HALF_MS,
    actor_window_filter,
    step_window,
    window_filter,
    window_of,
)

if TYPE_CHECKING:
    from .app_host import AppHost
else:
    AppHost = object  # the mixin's real host is TrailscopeApp (tui/app_host.py says why)


class PivotActions(AppHost):
    """App actions (`tui/actions.py` binds them) that pivot from the cursor's event.
    Mixed into TrailscopeApp: it uses the app's store, filter and panes."""

    _actor_cycle: tuple[int | None, int] = (None, -1)  # (row, ACTOR_FIELDS index) of `a`

    # --------------------------------------------------------------- helpers
    def cursor_event_row(self) -> int | None:
        """The store row of the event the list cursor is on (the detail pane shows it)."""
        return self.events_list.cursor_row

    def _say(self, text: str, error: bool = False) -> None:
        self.notify(
            clean(text), severity="error" if error else "information", markup=False, timeout=4
        )

    def replace_filter(self, text: str) -> None:
        """Make `text` the filter (the previous one stays a `u` away)."""
        self.filter_input.value = text
        self.set_filter(text)

    # --------------------------------------------------------- credentials
    def _cursor_key(self) -> str | None:
        row = self.cursor_event_row()
        if row is None:
            self._say("no event under the cursor")
            return None
        key = self.store.value(row, "key")
        if not key:
            self._say("this event was made without an access key", error=True)
            return None
        return key

    def action_credential_events(self) -> None:
        """Everything done with the cursor event's access key: `key:K`."""
        key = self._cursor_key()
        if key is not None:
            self.replace_filter(term_for("key", key))

    def action_credential_descendants(self) -> None:
        """Everything done with the key or any credential minted from it, transitively:
        `descends:K`."""
        key = self._cursor_key()
        if key is not None:
            self.replace_filter(term_for("descends", key))

    def action_origin_jump(self) -> None:
        """To the event that minted the cursor event's credential (the Origin's first
        link): the list cursor moves there, or, when the filter hides it, the filter
        becomes `minted:K`. Pressed again, it climbs the chain."""
        key = self._cursor_key()
        row = self.cursor_event_row()
        if key is None or row is None:
            return
        chain = credentials_of(self.store).chain(row)
        if not chain.links:
            self._say(f"origin: {chain.end_text()}")
            return
        if not self.events_list.move_to_row(chain.links[0].row):
            self.replace_filter(term_for("minted", key))

    # -------------------------------------------------------------- windows
    def _cursor_time(self) -> int | None:
        row = self.cursor_event_row()
        if row is None:
            self._say("no event under the cursor")
            return None
        ms = self.store.time_ms(row)
        if ms == NO_TIME:
            self._say("this event has no usable time", error=True)
            return None
        return ms

    def action_time_window(self) -> None:
        """± 10 min around the cursor's event, replacing the filter's time terms."""
        ms = self._cursor_time()
        if ms is None:
            return
        self.extend_filter(lambda t: window_filter(t, ms, DEFAULT_HALF_MS))

    def _step_window(self, wider: bool) -> None:
        row = self.cursor_event_row()
        center = None if row is None else self.store.time_ms(row)
        if center == NO_TIME:
            center = None
        try:
            text = step_window(self.query_obj.text, wider, center)
        except QueryError as e:
            self._say(str(e), error=True)
            return
        if text is None:
            self._say("no window in the filter and no event under the cursor")
            return
        self.replace_filter(text)

    def action_widen_window(self) -> None:
        self._step_window(True)

    def action_narrow_window(self) -> None:
        self._step_window(False)

    def action_actor_window(self) -> None:
        """The cursor event's principal within the window (the filter's, else ± 10 min);
        pressed again on the same event: its source IP, then its access key."""
        row = self.cursor_event_row()
        ms = self._cursor_time()
        if row is None or ms is None:
            return
        last_row, last_i = self._actor_cycle
        start = last_i + 1 if last_row == row else 0
        for step in range(len(ACTOR_FIELDS)):
            i = (start + step) % len(ACTOR_FIELDS)
            name = ACTOR_FIELDS[i]
            value = self.store.value(row, name)
            if value:
                break
        else:
            self._say("this event has no principal, source IP or key", error=True)
            return
        try:
            win = window_of(self.query_obj.text)
        except QueryError:
            win = None
        # The window the filter holds when it is around this event, else the default.
        around = win is not None and abs(win.center_ms - ms) <= win.half_ms
        half = win.half_ms if win is not None and around else DEFAULT_HALF_MS
        self._actor_cycle = (row, i)
        self.replace_filter(actor_window_filter(name, value, ms, half))

    # ---------------------------------------------------------------- cards
    def card_subject(self) -> tuple[str, str] | None:
        """(field, value) the card key opens: the focused line (a detail line or facet
        row on a principal, key, role, user, account or IP), else the cursor event's
        principal (its source IP when it has none)."""
        from widgets.detail import DetailPane

        focused = self.focused
        if isinstance(focused, DetailPane):
            got = focused.subject_under_cursor()
            if got is not None:
                return got
        elif focused is not None:
            for fl in self.main.facet_panel.lists:
                if fl.has_focus_within and fl.field in SUBJECT_FIELDS:
                    v = fl.highlighted_value
                    if v:
                        return fl.field, v
        row = self.cursor_event_row()
        if row is None:
            return None
        for name in ("principal", "ip"):
            v = self.store.value(row, name)
            if v:
                return name, v
        return None

    def action_open_card(self) -> None:
        from .card_screen import CardScreen

        subject = self.card_subject()
        if subject is None:
            self._say("nothing to open a card on")
            return
        name, value = subject

        def done(picked: str | None) -> None:
            if picked:
                self.replace_filter(picked)
                self.events_list.focus()

        try:
            screen = CardScreen(self.store, term_for(name, value))
        except (QueryError, ValueError) as e:
            self._say(str(e), error=True)
            return
        self.push_screen(screen, done)

    # ------------------------------------------------------------ detections
    def action_detections_facet(self) -> None:
        if self.store.detections is None:
            self._say("detection rules are off")
            return
        self.main.show_detection_facet()
