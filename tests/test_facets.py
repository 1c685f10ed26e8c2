"""FacetList / FacetPanel driven with Pilot on a real store and a hostile trail."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pytest
from textual.app import App, ComposeResult
from textual.scroll_view import ScrollView

from tui.core.fields import FIELD_NAMES
from tui.core.loader import load
from tui.core.store import Store
from widgets.facets import NARROW_LIMIT, FacetList, FacetOptions, FacetPanel
from widgets.messages import FilterRequest

ROOT = Path(__file__).resolve().parents[1]
TOP = 5


@pytest.fixture(scope="module")
def store() -> Store:
    return load([str(ROOT / "sample_logs")])


class FacetApp(App):
    """Plays the app's part: counts for the whole store, recomputed on FieldChanged."""

    def __init__(self, store: Store, fields: tuple[str, ...] = ("service", "principal", "ip")):
        super().__init__()
        self.store = store
        self.fields = fields
        self.filters: list[tuple[str | None, str, bool]] = []
        self.field_changes: list[str] = []

    def compose(self) -> ComposeResult:
        yield FacetPanel(self.store, lambda f: self.store.counts(f), self.fields)

    def on_mount(self) -> None:
        panel = self.query_one(FacetPanel)
        panel.set_all({f: self.store.counts(f, top=TOP) for f in panel.fields}, len(self.store))
        panel.lists[0].focus()

    def on_filter_request(self, m: FilterRequest) -> None:
        self.filters.append((m.field, m.value, m.negate))

    def on_facet_list_field_changed(self, m: FacetList.FieldChanged) -> None:
        self.field_changes.append(m.field)
        m.facet.set_counts(self.store.counts(m.field, top=TOP), len(self.store))


def prompts(fl: FacetList) -> list[str]:
    return fl.query_one(FacetOptions).line_texts()


def screen_text(app: App) -> str:
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


async def test_counts_in_order_and_sum(store: Store):
    app = FacetApp(store)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        panel = app.query_one(FacetPanel)
        assert panel.fields == ("service", "principal", "ip")
        assert len(panel.lists) == 3
        svc = panel.lists[0]
        expected = store.counts("service", top=TOP)
        assert svc.rows == expected
        lines = prompts(svc)
        assert len(lines) == len(expected)
        for line, (value, count) in zip(lines, expected, strict=True):
            shown = value if value else "(none)"
            assert line.startswith(shown[: len(line) - 20])
            assert f" {count:,}" in line
        count_rx = re.compile(r" ([\d,]+)[ █▉▊▋▌▍▎▏]*$")
        counts = [int(count_rx.search(line)[1].replace(",", "")) for line in lines]
        assert counts == [c for _, c in expected]
        assert counts == sorted(counts, reverse=True)
        # Every event has exactly one value per field: all counts add up to the store.
        assert sum(c for _, c in store.counts("service")) == len(store)
        title = svc.query_one(".facet-list--title").render().plain
        assert title.startswith("Service  (")


async def test_enter_and_exclude_post_filter_requests(store: Store):
    app = FacetApp(store)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        svc = app.query_one(FacetPanel).lists[0]
        rows = svc.rows
        await pilot.press("enter")
        await pilot.press("down", "enter")
        await pilot.press("j", "x")
        await pilot.press("k", "minus")
        await pilot.pause()
        assert app.filters == [
            ("service", rows[0][0], False),
            ("service", rows[1][0], False),
            ("service", rows[2][0], True),
            ("service", rows[1][0], True),
        ]


async def test_cycle_field_posts_field_changed(store: Store):
    app = FacetApp(store)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        panel = app.query_one(FacetPanel)
        svc = panel.lists[0]
        await pilot.press("]")
        await pilot.pause()
        nxt = FIELD_NAMES[FIELD_NAMES.index("service") + 1]
        assert svc.field == nxt == "event"
        assert app.field_changes == ["event"]
        assert panel.fields == ("event", "principal", "ip")
        assert svc.rows == store.counts("event", top=TOP)
        title = svc.query_one(".facet-list--title").render().plain
        assert title.startswith("Event  (")
        await pilot.press("[", "[")
        await pilot.pause()
        assert svc.field == FIELD_NAMES[-1]  # wraps around
        assert app.field_changes == ["event", "service", FIELD_NAMES[-1]]
        await pilot.press("enter")
        assert app.filters[-1][0] == FIELD_NAMES[-1]


async def test_narrow_over_all_values_then_escape(store: Store):
    all_ips = store.counts("ip")
    top = store.counts("ip", top=TOP)
    top_values = {v for v, _ in top}
    # A value outside the top N with a substring that picks it out.
    target = next(v for v, _ in reversed(all_ips) if v and v not in top_values)
    # The shortest tail of it that few values share (typed upper-case: case-insensitive).
    folded = [v.casefold() for v, _ in all_ips]
    needle = next(
        target[-k:].upper()
        for k in range(3, len(target) + 1)
        if sum(target[-k:].casefold() in f for f in folded) <= 3
    )
    app = FacetApp(store, fields=("ip", "service", "event"))
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        ips = app.query_one(FacetPanel).lists[0]
        assert target not in [v for v, _ in ips.rows]
        await pilot.press("n")
        assert ips.narrowing
        await pilot.press(*needle)
        await pilot.pause()
        matches = [(v, c) for v, c in all_ips if needle.casefold() in v.casefold()]
        assert ips.rows == matches[:NARROW_LIMIT]
        assert target in [v for v, _ in ips.rows]
        assert all(needle.casefold() in v.casefold() for v, _ in ips.rows)
        title = ips.query_one(".facet-list--title").render().plain
        assert f"{len(matches)} match" in title
        # Enter in the input moves to the list; enter there filters on the narrowed row.
        await pilot.press("enter")
        idx = [v for v, _ in ips.rows].index(target)
        await pilot.press(*["down"] * idx, "enter")
        assert app.filters[-1] == ("ip", target, False)
        # Escape leaves narrowing and restores the top counts.
        await pilot.press("escape")
        await pilot.pause()
        assert not ips.narrowing
        assert ips.rows == top
        assert prompts(ips)[0].startswith(top[0][0][:10] or "(none)")
        # A second escape is not ours: nothing breaks, nothing is posted.
        await pilot.press("escape")
        n = len(app.filters)
        # Narrowing to nothing shows a disabled placeholder; enter posts nothing.
        await pilot.press("n", *"qq~", "enter", "enter")
        assert ips.rows == []
        assert [p.rstrip() for p in prompts(ips)] == ["no matching values"]
        assert ips.query_one(FacetOptions).highlighted is None
        assert len(app.filters) == n


async def test_narrow_refreshes_when_counts_change(store: Store):
    app = FacetApp(store)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        svc = app.query_one(FacetPanel).lists[0]
        await pilot.press("n")
        first = svc.rows
        # The app's filter changes: counter now reports only one value.
        svc._counter = lambda f: [("only.amazonaws.com", 3)]
        svc.set_counts([("only.amazonaws.com", 3)], 3)
        await pilot.pause()
        assert svc.rows == [("only.amazonaws.com", 3)] != first


def _hostile_trail(tmp_path: Path) -> Path:
    d = tmp_path / "AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/20"
    d.mkdir(parents=True)
    base = {
        "eventVersion": "1.08",
        "eventTime": "2026-11-20T10:01:00Z",
        "eventName": "GetObject",
        "awsRegion": "us-east-1",
        "recipientAccountId": "111122223333",
        "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/alice"},
    }
    hostile = [
        ("[@click=app.quit]", "[/x]", "evil\x1b[2Juser"),
        ("bad\x9bsvc", "rtl\u202eexe.gpj", "[bold]x[/bold]"),
    ]
    records = []
    for i, (svc, ip, arn) in enumerate(hostile):
        rec = dict(base, eventID=f"00000000-0000-0000-0000-00000000000{i}")
        rec.update(eventSource=svc, sourceIPAddress=ip)
        rec["userIdentity"] = {"type": "IAMUser", "arn": arn}
        records.append(rec)
    records.append(dict(base, eventID="00000000-0000-0000-0000-000000000009", eventSource=""))
    name = "111122223333_CloudTrail_us-east-1_20261120T1005Z_abcdefghijklmnop.json.gz"
    (d / name).write_bytes(gzip.compress(json.dumps({"Records": records}).encode()))
    return tmp_path


async def test_hostile_values_render_literally(tmp_path: Path):
    hstore = load([str(_hostile_trail(tmp_path))])
    assert len(hstore) == 3
    app = FacetApp(hstore, fields=("service", "ip", "principal"))
    async with app.run_test(size=(90, 36)) as pilot:
        await pilot.pause()
        panel = app.query_one(FacetPanel)
        svc, ip, who = panel.lists
        text = screen_text(app)
        assert "[@click=app.quit]" in text
        assert "[/x]" in text
        assert "[bold]x[/bold]" in text
        assert "\\x1b" in text and "\\x9b" in text and "\\u202e" in text
        for raw in ("\x1b", "\x9b", "\u202e"):
            assert raw not in text
        assert "(none)" in text  # the empty eventSource
        # Clicking the hostile value does not run its "action"; it posts its exact value.
        await pilot.click(svc.query_one("FacetOptions"), offset=(2, 0))
        await pilot.pause()
        assert app.is_running
        assert app.filters[-1][0] == "service"
        assert app.filters[-1][1] in {v for v, _ in hstore.counts("service")}
        ip.focus()
        await pilot.press("home", "enter")
        assert app.filters[-1] == ("ip", ip.rows[0][0], False)
        assert {v for v, _ in ip.rows} == {"", "[/x]", "rtl\u202eexe.gpj"}
        # Narrowing on an escaped value's visible text matches its raw value too.
        await pilot.press("n", *"x]")
        await pilot.pause()
        assert [v for v, _ in ip.rows] == ["[/x]"]
        await pilot.press("escape")
        # Narrow widths do not crash and keep one line per row.
        await pilot.resize_terminal(30, 36)
        await pilot.pause()
        assert all(len(p) <= 30 for p in prompts(who))
        assert app.is_running


async def test_widths_and_long_values(store: Store):
    for width in (24, 40, 160):
        app = FacetApp(store)
        async with app.run_test(size=(width, 30)) as pilot:
            await pilot.pause()
            for fl in app.query_one(FacetPanel).lists:
                opts = fl.query_one("FacetOptions")
                w = opts.scrollable_content_region.width
                for line in prompts(fl):
                    assert len(line) == w  # exactly one line, padded to the width


def _cells(strip) -> list[tuple[str, object]]:
    """(character, effective style) per cell: how a terminal would show the line."""
    from rich.style import Style

    out = []
    for seg in strip:
        style = seg.style or Style.null()
        out += [(ch, style) for ch in seg.text]
    return out


async def test_fast_rows_look_like_the_text_path(store: Store, monkeypatch):
    """Plain ASCII rows are built as segments directly (the common case, fast); they
    must be cell for cell what the general Rich Text path draws, cursor row included."""
    arn = "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_AdministratorAccess/priya.shah"
    rows = [
        ("s3.amazonaws.com", 1_234_567),
        ("x" * 300, 5_000),
        (arn, 321),
        ("fresh.example.com", 7),
        ("", 3),  # "(none)": the Text path
        ("ünïcode.example", 2),  # the Text path
        ("tab\there", 1),  # escapes: the Text path
    ]
    for width in (24, 30, 44, 80):
        app = FacetApp(store)
        async with app.run_test(size=(width, 30)) as pilot:
            await pilot.pause()
            fl = app.query_one(FacetPanel).lists[0]
            fl.fresh = {"fresh.example.com", "x" * 300}
            fl.set_counts(rows, 1_300_000)
            await pilot.pause()
            opts = fl.query_one(FacetOptions)
            w = opts.scrollable_content_region.width
            fast_used = 0
            for i in range(len(rows)):
                for cursor in (False, True):
                    fast = opts._render_row(i, w, cursor)
                    fast_used += fl._line_segments(i, w) is not None
                    with monkeypatch.context() as m:
                        m.setattr(FacetList, "_line_segments", lambda *a: None)
                        slow = opts._render_row(i, w, cursor)
                    assert fast.cell_length == slow.cell_length == w
                    assert _cells(fast) == _cells(slow), (width, rows[i][0][:20], cursor)
            assert fast_used >= 8  # the first four rows took the fast path


# ------------------------------------------------------------ FacetOptions (Line API)
def _many(n: int = 60) -> list[tuple[str, int]]:
    return [(f"svc{i:02d}.amazonaws.com", 1000 - i) for i in range(n)]


async def _sixty(pilot, app: FacetApp) -> tuple[FacetList, FacetOptions, list[tuple[str, int]]]:
    await pilot.pause()
    svc = app.query_one(FacetPanel).lists[0]
    rows = _many()
    svc.set_counts(rows, sum(c for _, c in rows))
    await pilot.pause()
    return svc, svc.query_one(FacetOptions), rows


def _visible(opts: FacetOptions, index: int) -> bool:
    top = int(opts.scroll_offset.y)
    return top <= index < top + opts.scrollable_content_region.height


async def test_keys_move_and_clamp(store: Store):
    app = FacetApp(store)
    async with app.run_test(size=(100, 30)) as pilot:
        svc, opts, rows = await _sixty(pilot, app)
        page = opts.scrollable_content_region.height
        last = len(rows) - 1
        assert 1 < page < len(rows)
        assert opts.highlighted == 0
        await pilot.press("up", "k")  # no wrap-around
        assert opts.highlighted == 0
        await pilot.press("down", "j", "j", "k")
        assert opts.highlighted == 2
        await pilot.press("pagedown")
        assert opts.highlighted == 2 + page and _visible(opts, 2 + page)
        await pilot.press("end")
        assert opts.highlighted == last and svc.highlighted_value == rows[-1][0]
        await pilot.press("pagedown", "down", "j")
        assert opts.highlighted == last
        assert opts.scroll_offset.y == len(rows) - page  # the last row on the last line
        assert rows[-1][0] in screen_text(app)
        await pilot.press("pageup")
        assert opts.highlighted == last - page and _visible(opts, last - page)
        await pilot.press("home", "pageup", "up")
        assert opts.highlighted == 0 and opts.scroll_offset.y == 0
        await pilot.press("end", "enter")
        assert app.filters[-1] == ("service", rows[-1][0], False)
        # A click picks the row under the mouse, scrolled or not.
        opts.scroll_to(y=10, animate=False)
        await pilot.pause()
        await pilot.click(opts, offset=(2, 3))
        assert opts.highlighted == 13
        assert app.filters[-1] == ("service", rows[13][0], False)
        # Another field starts at its first row.
        await pilot.press("down", "right_square_bracket")
        await pilot.pause()
        assert svc.field == "event" and opts.highlighted == 0


async def test_paging_scrolls_the_pane_and_the_cursor_with_it(store: Store):
    """PageDown/PageUp as in `less`: the rows move a page and the cursor keeps its line
    on screen (it used to scroll only as far as the cursor); g/G as in vim."""
    app = FacetApp(store)
    async with app.run_test(size=(100, 30)) as pilot:
        svc, opts, rows = await _sixty(pilot, app)
        page = opts.scrollable_content_region.height
        await pilot.press("j", "j")
        assert (opts.highlighted, opts.scroll_offset.y) == (2, 0)
        await pilot.press("pagedown")
        assert (opts.highlighted, opts.scroll_offset.y) == (2 + page, page)
        await pilot.press("pageup")
        assert (opts.highlighted, opts.scroll_offset.y) == (2, 0)
        await pilot.press("G")
        assert opts.highlighted == len(rows) - 1
        assert opts.scroll_offset.y == len(rows) - page
        await pilot.press("pageup")
        assert opts.highlighted == len(rows) - 1 - page
        assert opts.scroll_offset.y == len(rows) - 2 * page
        await pilot.press("g")
        assert (opts.highlighted, opts.scroll_offset.y) == (0, 0)


async def test_empty_list_has_no_cursor_and_posts_nothing(store: Store):
    app = FacetApp(store)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        svc = app.query_one(FacetPanel).lists[0]
        opts = svc.query_one(FacetOptions)
        svc.set_counts([], 0)
        await pilot.pause()
        assert opts.highlighted is None and svc.highlighted_value is None
        assert [t.rstrip() for t in opts.line_texts()] == ["no events"]
        assert "no events" in screen_text(app)
        await pilot.press("down", "end", "pagedown", "home", "enter", "x")
        await pilot.click(opts, offset=(2, 0))
        await pilot.pause()
        assert opts.highlighted is None
        assert app.filters == []
        opts.highlighted = 3  # nothing to highlight
        assert opts.highlighted is None


async def test_highlighted_value_kept_across_updates(store: Store):
    app = FacetApp(store)
    async with app.run_test(size=(100, 30)) as pilot:
        svc, opts, rows = await _sixty(pilot, app)
        total = sum(c for _, c in rows)
        await pilot.press("down", "down", "down")
        value = rows[3][0]
        others = rows[:3] + rows[4:]
        svc.set_counts([rows[3], *others], total)  # now first
        await pilot.pause()
        assert svc.highlighted_value == value and opts.highlighted == 0
        svc.set_counts([*others[:50], rows[3], *others[50:]], total)  # far down: scrolled to
        await pilot.pause()
        assert opts.highlighted == 50 and _visible(opts, 50)
        assert value in screen_text(app)
        svc.set_counts(others, total)  # gone: back to the first row
        await pilot.pause()
        assert opts.highlighted == 0 and svc.highlighted_value == others[0][0]
        # Shorter lists clamp the view.
        svc.set_counts(others[:2], total)
        await pilot.pause()
        assert opts.scroll_offset.y == 0 and len(opts.line_texts()) == 2


async def test_updates_repaint_without_mounting_or_layout(store: Store, monkeypatch):
    app = FacetApp(store)
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        panel = app.query_one(FacetPanel)
        opts = [fl.query_one(FacetOptions) for fl in panel.lists]
        assert all(isinstance(o, ScrollView) for o in opts)

        def counts(i: int) -> dict[str, list[tuple[str, int]]]:
            return {f: [(f"{f}-{i}-{j}", 1000 - j) for j in range(60)] for f in panel.fields}

        panel.set_all(counts(0), 60_000)  # the first long list brings scrollbars (a layout)
        await pilot.pause()
        widgets = len(list(app.query("*")))
        layouts = built = 0
        refresh_layout = app.screen._refresh_layout  # Textual-private: the screen reflow

        def count_layout(*args, **kwargs):
            nonlocal layouts
            layouts += 1
            return refresh_layout(*args, **kwargs)

        row_prompt = FacetList._row_prompt
        row_segments = FacetList._line_segments

        def count_prompt(self, *args):
            nonlocal built
            built += 1
            return row_prompt(self, *args)

        def count_segments(self, *args):
            nonlocal built
            got = row_segments(self, *args)
            built += got is not None  # otherwise _row_prompt builds it (counted there)
            return got

        monkeypatch.setattr(app.screen, "_refresh_layout", count_layout)
        monkeypatch.setattr(FacetList, "_row_prompt", count_prompt)
        monkeypatch.setattr(FacetList, "_line_segments", count_segments)
        for i in range(1, 6):
            panel.set_all(counts(i), 60_000)
            await pilot.pause()
        assert len(list(app.query("*"))) == widgets
        assert layouts == 0
        # Only the lines on screen were built, once per update.
        assert 0 < built <= 5 * sum(o.scrollable_content_region.height for o in opts)
        assert opts[0].line_texts()[0].startswith("service-5-0 ")


async def test_theme_change_restyles_cursor(store: Store):
    app = FacetApp(store)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        opts = app.query_one(FacetPanel).lists[0].query_one(FacetOptions)
        assert app.focused is opts and opts.highlighted == 0

        def cursor_bg():
            return list(opts.render_line(0))[-1].style.bgcolor

        before = cursor_bg()
        app.theme = "textual-light" if app.theme != "textual-light" else "nord"
        await pilot.pause()
        assert cursor_bg() != before


async def test_direct_lines_match_textuals_styled_lines(store: Store):
    """Facet rows skip Textual's per-line styling (no box decoration): same drawing."""
    from textual.widget import Widget

    app = FacetApp(store)
    async with app.run_test(size=(60, 30)) as pilot:
        await pilot.pause()
        for fl in app.query_one(FacetPanel).lists:
            opts = fl.query_one(FacetOptions)
            crop = opts.size.region
            direct = opts.render_lines(crop)
            opts._styles_cache.clear()
            assert [_cells(s) for s in direct] == [
                _cells(s) for s in Widget.render_lines(opts, crop)
            ]
