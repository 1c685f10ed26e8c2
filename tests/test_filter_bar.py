"""The filter bar in the real app: a change of its text repaints the bar and scrolls
it, without reflowing the screen."""

from __future__ import annotations

from tests.conftest import make_app, run, settle, wait_loaded


async def test_typing_and_clearing_the_filter_does_not_lay_out_the_screen() -> None:
    app = make_app()
    async with run(app, (120, 24)) as pilot:  # the placeholder fits
        await wait_loaded(pilot)
        await settle(pilot)
        fi = app.filter_input
        layouts: list[int] = []
        original = app.screen._refresh_layout
        app.screen._refresh_layout = lambda *a, **k: (layouts.append(1), original(*a, **k))

        async def type_text(text: str) -> None:
            for ch in text:
                await pilot.press(ch if ch != " " else "space")
            await settle(pilot)

        await pilot.press("slash")  # (the focus moves to the bar: the footer's keys change)
        await settle(pilot)
        layouts.clear()
        short = "service:s3.amazonaws.com has:error"
        await type_text(short)
        assert fi.value == short and layouts == []
        await pilot.press("enter")  # (the focus moves to the list: the footer's keys change)
        await settle(pilot)
        assert app.view is not None and app.view.query.text == short
        layouts.clear()
        await pilot.press("ctrl+x")  # clear: back to every event, the bar empty
        await settle(pilot)
        assert fi.value == "" and len(app.view.rows) == len(app.store)
        assert layouts == []

        # Wider than the bar: it scrolls so that the end of the text (the cursor) shows.
        # (Its hidden scrollbar's state changes once, and Textual lays out for that.)
        await pilot.press("slash")
        await settle(pilot)
        layouts.clear()
        long = short + " -event:GetObject -event:ListBuckets -event:PutObject -principal:root" * 2
        long += " region:us-east-1"
        assert len(long) > fi.content_region.width
        fi.value = long[:-10]  # (typing it all takes a while)
        fi.cursor_position = len(fi.value)
        await type_text(long[-10:])
        assert fi.value == long and len(layouts) <= 1
        assert fi.scroll_x > 0 and fi.scroll_x == fi.max_scroll_x
        shown = "".join(seg.text for seg in fi.render_line(0))
        assert "us-east-1" in shown and "service:" not in shown


async def test_a_typed_filter_builds_its_fields_time_ordered_columns_before_enter() -> None:
    from tui.core.fields import FIELD_INDEX
    from tui.core.query import parse

    app = make_app()
    async with run(app, (120, 24)) as pilot:
        await wait_loaded(pilot)
        await settle(pilot)
        to = app.store.time_order
        region, agent = FIELD_INDEX["region"], FIELD_INDEX["ua"]
        assert not to.built(region) and not to.built(agent)
        await pilot.press("slash")
        for ch in "region:us-west-2 ua:":  # ("ua:" alone does not parse yet)
            await pilot.press(ch if ch != " " else "space")
        await settle(pilot)
        assert to.built(region) and not to.built(agent)
        await pilot.press("a")
        await settle(pilot)
        assert to.built(agent)  # before enter
        text = app.filter_input.value
        await pilot.press("enter")
        await settle(pilot)
        want = parse(text).evaluate(app.store)
        assert app.view is not None and app.view.rows.tolist() == [
            int(r) for r in app.store.time_order.order.view if want[r]
        ]
        await pilot.press("slash")
        for ch in " ((":  # does not parse: nothing built, nothing raised
            await pilot.press(ch if ch != " " else "space")
        await settle(pilot)
        assert app.filter_input.value.endswith("((")
