"""Keys typed ahead across focus changes: keys read from the terminal together (typed
fast, pasted, batched by a slow SSH link) go where the key before them left the focus.

Each test posts its burst to the app in one go, as the driver does with one read of the
terminal, so every key is queued before any widget has handled the first; then it
checks where each key went. (Pilot's `press` waits after each key and cannot show it.)
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual import events
from textual.widgets import Input, Static

from tests.conftest import explore, make_app, settle, wait_for
from tests.trailgen import event, trail_path, write_records
from tui.core.case import Case
from tui.core.history import FilterHistory
from tui.policies import KeyGate
from widgets.detail import DetailPane
from widgets.event_list import EventList
from widgets.facets import FacetOptions
from widgets.filter_bar import FilterBar, FilterInput

S3 = "service:s3.amazonaws.com"
# Key names of the characters the bursts use (the others are their own names).
_NAMES = {"/": "slash", ":": "colon", ".": "full_stop", "-": "minus", "^": "circumflex_accent"}
_NAMES |= {"\\": "backslash", "(": "left_parenthesis", " ": "space"}


def typed(text: str) -> list[events.Key]:
    return [events.Key(_NAMES.get(c, c), c) for c in text]


def key(name: str) -> events.Key:
    return events.Key(name, None)


async def burst(pilot, keys: list[events.Key]) -> None:
    """Post `keys` to the app at once (one read of the terminal), then let them land."""
    app = pilot.app
    for k in keys:
        app.post_message(k)
    await pilot.pause()  # the app reads them (holding those whose turn has not come)
    await wait_for(pilot, lambda: not app.key_gate.busy, what="the burst to be handled")
    await settle(pilot)


def write_trail(root: Path) -> None:
    """Ten events a minute apart from 10:00, every other one S3."""
    recs = [
        event(
            f"Call{i}",
            f"2026-11-20T10:{i:02d}:00Z",
            source="s3.amazonaws.com" if i % 2 else "ec2.amazonaws.com",
        )
        for i in range(10)
    ]
    write_records(trail_path(root), recs)


def app_on(tmp_path: Path):
    trail = tmp_path / "trail"
    write_trail(trail)
    return make_app(
        [trail],
        case_path=str(tmp_path / "case.sqlite"),
        history=FilterHistory(tmp_path / "state" / "history"),
    )


async def on_list(pilot) -> None:
    pilot.app.events_list.focus()
    await pilot.pause()
    assert isinstance(pilot.app.focused, EventList)
    assert pilot.app.events_list.cursor_index == 0


# ------------------------------------------------------------------ the filter bar
async def test_keys_typed_after_enter_in_the_filter_go_to_the_list(tmp_path: Path) -> None:
    """`/service:s3…` Enter `jj` in one burst: the filter applied is the typed one and the
    two `j` move the list cursor (they went into the filter text: 'service:…comjj')."""
    async with explore(app_on(tmp_path)) as pilot:
        app = pilot.app
        await on_list(pilot)
        await burst(pilot, [key("slash"), *typed(S3), key("enter"), *typed("jj")])
        assert app.query_obj.text == S3
        assert app.filter_input.value == S3
        assert len(app.view) == 5
        assert isinstance(app.focused, EventList)
        assert app.events_list.cursor_index == 2


async def test_keys_typed_after_escape_in_the_filter_go_to_the_list(tmp_path: Path) -> None:
    async with explore(app_on(tmp_path)) as pilot:
        app = pilot.app
        await on_list(pilot)
        await burst(pilot, [key("slash"), *typed("abc"), key("escape"), *typed("jj")])
        assert app.filter_input.value == "abc"
        assert app.query_obj.text == ""  # Esc leaves the text unapplied
        assert isinstance(app.focused, EventList)
        assert app.events_list.cursor_index == 2


async def test_list_keys_typed_before_slash_move_the_list(tmp_path: Path) -> None:
    """`jj/x`: the two `j` move the list cursor before `/` takes the focus to the bar
    (they came back up from the list after it, and were looked up in the bar's keys)."""
    async with explore(app_on(tmp_path)) as pilot:
        app = pilot.app
        await on_list(pilot)
        await burst(pilot, typed("jj/x"))
        assert app.events_list.cursor_index == 2
        assert isinstance(app.focused, FilterInput)
        assert app.filter_input.value == "x"


async def test_two_filters_typed_ahead_in_one_burst(tmp_path: Path) -> None:
    """`/` held behind the keys before it is still the filter key when its turn comes:
    `/S3` Enter `j` `/abc` Esc `j`."""
    async with explore(app_on(tmp_path)) as pilot:
        app = pilot.app
        await on_list(pilot)
        first = [key("slash"), *typed(S3), key("enter"), *typed("j")]
        second = [key("slash"), *typed("abc"), key("escape"), *typed("j")]
        await burst(pilot, first + second)
        assert app.query_obj.text == S3
        assert app.filter_input.value == S3 + "abc"  # `/` puts the cursor at the end
        assert isinstance(app.focused, EventList)
        assert app.events_list.cursor_index == 2


async def test_keys_after_a_filter_that_does_not_parse_stay_in_the_bar(tmp_path: Path) -> None:
    """A bad filter keeps the focus in the bar (the error shown): what follows in the
    burst is still filter text."""
    async with explore(app_on(tmp_path)) as pilot:
        app = pilot.app
        await on_list(pilot)
        await burst(pilot, [key("slash"), *typed("service:("), key("enter"), *typed("jj")])
        assert app.query_one(FilterBar).has_class("-error")
        assert isinstance(app.focused, FilterInput)
        assert app.filter_input.value == "service:jj("  # at the caret the error put on `(`
        assert app.query_obj.text == ""
        assert app.events_list.cursor_index == 0


async def test_a_regex_with_slashes_typed_ahead_is_applied_whole(tmp_path: Path) -> None:
    regex = r"ip:/^198\.51\./"
    async with explore(app_on(tmp_path)) as pilot:
        app = pilot.app
        await on_list(pilot)
        await burst(pilot, [key("slash"), *typed(regex), key("enter"), *typed("j")])
        assert app.query_obj.text == regex
        assert len(app.view) == 10
        assert app.events_list.cursor_index == 1


async def test_history_keys_typed_ahead_run_in_order(tmp_path: Path) -> None:
    """`/` Up Enter `j`: the older filter from history is applied, then `j` moves the
    list (the `j` went into the bar before Up ran, and Up's history entry replaced it)."""
    async with explore(app_on(tmp_path)) as pilot:
        app = pilot.app
        app.filter_input.value = S3
        app.set_filter(S3)
        await settle(pilot)
        app.action_clear_filter()
        await settle(pilot)
        app.events_list.focus()
        await pilot.pause()
        lst = app.events_list
        assert app.store.event(lst.cursor_row)["eventName"] == "Call1"  # kept from S3's view
        await burst(pilot, [key("slash"), key("up"), key("enter"), *typed("j")])
        assert app.query_obj.text == S3
        assert isinstance(app.focused, EventList)
        assert app.store.event(lst.cursor_row)["eventName"] == "Call3"


async def test_keys_typed_after_ctrl_l_in_the_filter_go_to_the_list(tmp_path: Path) -> None:
    async with explore(app_on(tmp_path)) as pilot:
        app = pilot.app
        await on_list(pilot)
        await burst(pilot, [key("slash"), *typed("xy")])
        assert isinstance(app.focused, FilterInput)
        await burst(pilot, [key("ctrl+l"), *typed("jj")])
        assert app.filter_input.value == "xy"
        assert isinstance(app.focused, EventList)
        assert app.events_list.cursor_index == 2


# ------------------------------------------------------------- other focus moves
async def test_keys_typed_after_tab_into_the_filter_are_filter_text(tmp_path: Path) -> None:
    """Tab from the detail pane (the last in the focus chain) to the filter bar, then
    `service` typed: text in the bar. They ran as the app's keys (`e` exported, `s`
    saved the filter...) against the bar's bindings once Tab had moved the focus."""
    async with explore(app_on(tmp_path)) as pilot:
        app = pilot.app
        app.query_one(DetailPane).focus()
        await pilot.pause()
        main = app.screen
        await burst(pilot, [key("tab"), *typed("service")])
        assert app.screen is main
        assert isinstance(app.focused, FilterInput)
        assert app.filter_input.value == "service"


async def test_keys_typed_after_opening_a_dialog_go_to_its_field(tmp_path: Path) -> None:
    """`t`, a time, Enter, `j`: the time goes into the jump dialog's field, the list
    jumps to it, and `j` moves on from there."""
    async with explore(app_on(tmp_path)) as pilot:
        app = pilot.app
        await on_list(pilot)
        main = app.screen
        await burst(pilot, [*typed("t2026-11-20T10:05"), key("enter"), *typed("j")])
        assert app.screen is main
        assert isinstance(app.focused, EventList)
        row = app.events_list.cursor_row
        assert app.store.event(row)["eventTime"] == "2026-11-20T10:06:00Z"


async def test_keys_typed_after_a_dialogs_enter_go_back_to_the_list(tmp_path: Path) -> None:
    """`s`, a name, Enter, `jj`: the filter is saved under the name, and `jj` move the
    list cursor instead of going into the closing dialog's field."""
    async with explore(app_on(tmp_path)) as pilot:
        app = pilot.app
        app.filter_input.value = S3
        app.set_filter(S3)
        await settle(pilot)
        await on_list(pilot)
        main = app.screen
        await burst(pilot, [*typed("smine"), key("enter"), *typed("jj")])
        assert app.screen is main
        assert app.events_list.cursor_index == 2
        app.evidence.close()
    with Case.open(tmp_path / "case.sqlite", create=False) as case:
        assert [(f.name, f.filter) for f in case.saved_filters()] == [("mine", S3)]


async def test_keys_typed_while_narrowing_a_facet_go_where_each_leaves_focus(
    tmp_path: Path,
) -> None:
    """On the service facet: `n`, `s3`, Enter (done narrowing: to the values), Enter
    (filter by the value under the cursor): the filter is service:s3.amazonaws.com."""
    async with explore(app_on(tmp_path)) as pilot:
        app = pilot.app
        facet = app.query(FacetOptions).first()
        facet.focus()
        await pilot.pause()
        await burst(pilot, [*typed("ns3"), key("enter"), key("enter")])
        assert app.query_obj.text == S3
        assert not isinstance(app.focused, Input)


# ------------------------------------------------------------------------ the gate
async def test_a_key_whose_end_never_comes_holds_the_next_one_no_longer(tmp_path: Path) -> None:
    """Keys sent to a widget that never answers the echo (one not running: its queue is
    never read) hold the next key for `max_wait_s`, not for ever."""
    async with explore(app_on(tmp_path)) as pilot:
        app = pilot.app
        await on_list(pilot)
        app.key_gate.max_wait_s = 0.2
        app.key_gate.unconfirmed = (Static(), 2)
        app.post_message(key("j"))
        await pilot.pause(0.05)
        assert app.events_list.cursor_index == 0  # held
        await wait_for(pilot, lambda: app.events_list.cursor_index == 1, timeout=3)
        assert not app.key_gate.busy


def test_key_gate_holds_keys_until_the_one_before_is_done() -> None:
    gate: KeyGate[str] = KeyGate(max_wait_s=1.0)
    assert not gate.busy
    first = gate.sent(10.0)
    assert gate.busy
    gate.held.extend(["b", "c"])
    assert gate.next() is None  # the first is being handled
    assert not gate.done(first + 1)  # another key's end: still waiting
    assert gate.next() is None
    assert gate.done(first)
    assert gate.next() == "b"
    second = gate.sent(10.1)
    assert not gate.overdue(11.0)
    assert gate.overdue(11.2)
    assert not gate.done(first)  # a late end of the first key
    assert gate.next() is None
    assert gate.done(second)
    assert gate.busy  # "c" waits
    assert gate.next() == "c"
    assert not gate.busy  # nothing held; "c" not sent yet (a key the app takes itself)
    assert gate.next() is None


async def state_after(tmp_path: Path, keys: list[str], *, at_once: bool) -> tuple:
    """Where the explorer is after `keys` from the list: sent in one burst, or one at a
    time with the app settled between them (as a person types)."""
    async with explore(app_on(tmp_path)) as pilot:
        app = pilot.app
        await on_list(pilot)
        if at_once:
            await burst(pilot, [key(k) for k in keys])
        else:
            for k in keys:
                await pilot.press(k)
                await settle(pilot)
        return (
            type(app.screen).__name__,
            type(app.focused).__name__,
            app.query_obj.text,
            app.filter_input.value,
            app.store.event(app.events_list.cursor_row)["eventName"],
            app.query_one(DetailPane).cursor_line,
            [(e.labels, e.note and e.note.text) for e in case.events()]
            if (case := app.evidence.case)
            else [],
        )


async def test_keys_typed_after_a_cards_enter_go_back_to_the_list(tmp_path: Path) -> None:
    """`i` (the card of the event's principal), Enter (filter to its first line), `jj`:
    as if typed one at a time."""
    keys = ["i", "enter", "j", "j"]
    slow = await state_after(tmp_path / "slow", keys, at_once=False)
    assert slow[:2] == ("MainScreen", "EventList") and slow[2]
    assert await state_after(tmp_path / "burst", keys, at_once=True) == slow


@pytest.mark.parametrize(
    "keys",
    [
        ["m", "1", "j", "j"],  # mark with the first label, then move
        ["a", "x", "enter", "j"],  # a note "x", then move
        ["tab", "tab", "j", "j"],  # to the detail pane, then move its cursor
        ["tab", "tab", "j", "j", "tab", "s"],  # ... then on to the filter bar, and type
        ["shift+tab", "down", "enter", "j"],  # to the facets, filter by the second value
        ["question_mark", "escape", "j"],  # help opened and closed
        ["e", "escape", "j"],  # export dialog opened and closed
    ],
    ids=lambda keys: "-".join(keys),
)
async def test_a_burst_goes_where_the_same_keys_one_at_a_time_go(
    tmp_path: Path, keys: list[str]
) -> None:
    """The mark dialog's digit and the note dialog's text were lost in a burst (sent to
    the list before the dialog was up), and the `s` typed after Tab into the bar ran as
    the app's key. The others held before too (a bound key's action is looked up once
    the key is back at the app, after the focus move before it): kept."""
    slow = await state_after(tmp_path / "slow", keys, at_once=False)
    assert await state_after(tmp_path / "burst", keys, at_once=True) == slow


async def test_a_path_typed_ahead_in_the_column_chooser_becomes_a_column(tmp_path: Path) -> None:
    """`c` (columns), `p` (add a JSON path), the path, Enter (added), Enter (apply): the
    list shows the path's column. The path's letters ran as the chooser's keys (`a` auto
    width, `d` defaults...) before its field had the focus."""
    path = "requestParameters.bucketName"
    async with explore(app_on(tmp_path)) as pilot:
        app = pilot.app
        await on_list(pilot)
        main = app.screen
        await burst(pilot, [*typed("cp" + path), key("enter"), key("enter")])
        assert app.screen is main
        assert path in [name for name, _ in app.events_list.column_specs]
