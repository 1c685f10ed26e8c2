"""Pilot tests for the Line-API tree under the detail pane (widgets/line_tree.py)."""

from __future__ import annotations

from rich.text import Text
from textual.app import App, ComposeResult

from widgets.line_tree import LineTree, TreeItem


class TreeApp(App):
    CSS = "LineTree { height: 1fr; }"
    AUTO_FOCUS = None  # tests choose when the tree has focus

    def __init__(self) -> None:
        super().__init__()
        self.events: list[tuple[str, str]] = []

    def compose(self) -> ComposeResult:
        yield Probe(id="tree")


class Probe(LineTree[str]):
    BINDINGS = [
        ("down", "cursor_down"),
        ("up", "cursor_up"),
        ("pagedown", "page_down"),
        ("pageup", "page_up"),
        ("home", "first"),
        ("end", "last"),
        ("enter", "select_cursor"),
    ]

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self.drawn = 0

    def node_expanded(self, node: TreeItem[str]) -> None:
        self.app.events.append(("expanded", node.data))

    def node_collapsed(self, node: TreeItem[str]) -> None:
        self.app.events.append(("collapsed", node.data))

    def cursor_moved(self, node: TreeItem[str] | None) -> None:
        self.app.events.append(("cursor", None if node is None else node.data))

    def render_line(self, y: int):
        self.drawn += 1
        return super().render_line(y)


def build(tree: Probe) -> dict[str, TreeItem[str]]:
    n: dict[str, TreeItem[str]] = {}
    n["a"] = tree.root.add(Text("a"), "a", expand=True)
    n["a1"] = n["a"].add_leaf(Text("a1"), "a1")
    n["a2"] = n["a"].add(Text("a2"), "a2", expand=True)
    n["a2x"] = n["a2"].add_leaf(Text("a2x"), "a2x")
    n["a3"] = n["a"].add_leaf(Text("a3"), "a3")
    n["b"] = tree.root.add(Text("b"), "b")
    n["b1"] = n["b"].add_leaf(Text("b1"), "b1")
    return n


def screen_lines(tree: Probe) -> list[str]:
    return [tree.render_line(y).text.rstrip() for y in range(tree.size.height)]


async def test_lines_guides_and_icons():
    app = TreeApp()
    async with app.run_test(size=(40, 10)) as pilot:
        tree = app.query_one(Probe)
        build(tree)
        await pilot.pause()
        assert screen_lines(tree)[:6] == [
            "▼ a",
            "├ a1",
            "├ ▼ a2",
            "│ └ a2x",
            "└ a3",
            "▶ b",  # closed: its child is not a line
        ]
        assert tree.last_line == 5
        assert [tree.get_node_at_line(i).data for i in range(6)] == [
            "a",
            "a1",
            "a2",
            "a2x",
            "a3",
            "b",
        ]


async def test_cursor_keys_and_hooks():
    app = TreeApp()
    async with app.run_test(size=(40, 4)) as pilot:
        tree = app.query_one(Probe)
        n = build(tree)
        tree.focus()
        tree.move_cursor(n["a"])
        await pilot.pause()
        await pilot.press("down", "down", "down")
        assert tree.cursor_node is n["a2x"]
        assert ("cursor", "a2x") in app.events
        assert tree.scroll_offset.y == 0
        await pilot.press("down")  # line 4 is below a 4-line window: scrolls
        assert tree.cursor_node is n["a3"] and tree.scroll_offset.y == 1
        await pilot.press("end")
        assert tree.cursor_node is n["b"]
        await pilot.press("enter")  # opens b
        assert n["b"].is_expanded and ("expanded", "b") in app.events
        await pilot.press("end")
        assert tree.cursor_node is n["b1"]
        await pilot.press("home")
        assert tree.cursor_node is n["a"] and tree.scroll_offset.y == 0
        await pilot.press("pagedown")
        assert tree.cursor_line == 4
        await pilot.press("pageup")
        assert tree.cursor_line == 0


async def test_collapse_hands_cursor_to_ancestor_and_remove_clamps():
    app = TreeApp()
    async with app.run_test(size=(40, 10)) as pilot:
        tree = app.query_one(Probe)
        n = build(tree)
        tree.move_cursor(n["a2x"])
        assert tree.cursor_line == 3
        n["a2"].collapse()
        await pilot.pause()
        assert ("collapsed", "a2") in app.events
        assert tree.cursor_node is n["a2"]  # hidden node: nearest visible ancestor
        assert n["a2x"].line == -1
        n["a"].collapse()
        assert tree.cursor_node is n["a"] and tree.last_line == 1
        n["a"].expand()
        tree.move_cursor(n["a3"])
        n["a3"].remove()
        assert tree.cursor_node is n["b"]  # same line, next node
        n["a2"].collapse()
        tree.move_cursor(n["a2x"])  # a hidden node: its ancestors open
        assert n["a2"].is_expanded and tree.cursor_node is n["a2x"]
        tree.clear()
        assert tree.cursor_node is None and tree.last_line == -1


async def test_labels_are_literal_and_styled_by_token():
    app = TreeApp()
    async with app.run_test(size=(60, 5)) as pilot:
        tree = app.query_one(Probe)
        label = Text("[@click=app.quit]x[/] [b]bold?[/b]", style="line-tree--toggle")
        label.stylize("reverse", 0, 3)
        tree.root.add_leaf(label, "x")
        await pilot.pause()
        strip = tree.render_line(0)
        assert strip.text.rstrip() == "[@click=app.quit]x[/] [b]bold?[/b]"
        assert strip.cell_length == tree.scrollable_content_region.width
        first = next(seg for seg in strip if seg.text)
        assert first.style is not None and first.style.reverse
        assert not any(seg.style and seg.style.meta.get("@click") for seg in strip)


async def test_cursor_line_changes_look_with_focus():
    app = TreeApp()
    async with app.run_test(size=(40, 5)) as pilot:
        tree = app.query_one(Probe)
        n = build(tree)
        tree.move_cursor(n["a1"])
        await pilot.pause()
        plain, blurred = tree.render_line(0), tree.render_line(1)
        tree.focus()
        await pilot.pause()
        focused = tree.render_line(1)
        assert list(plain)[0].style != list(blurred)[0].style
        assert list(focused)[0].style != list(blurred)[0].style
        assert tree.render_line(0).text == plain.text


async def test_wide_tree_draws_only_visible_lines_and_clicks_toggle():
    app = TreeApp()
    async with app.run_test(size=(40, 8)) as pilot:
        tree = app.query_one(Probe)
        top = tree.root.add(Text("big"), "big", expand=True)
        for i in range(20_000):
            top.add_leaf(Text(f"item {i}"), str(i))
        tree.focus()
        tree.move_cursor(top)
        await pilot.pause()
        tree.drawn = 0
        await pilot.press("end")
        await pilot.pause()
        assert tree.cursor_node.data == "19999"
        assert 0 < tree.drawn <= 2 * tree.size.height
        await pilot.press("home")
        await pilot.click(Probe, offset=(0, 0))  # the ▼ icon of "big"
        await pilot.pause()
        assert not top.is_expanded and tree.last_line == 0


async def test_paging_scrolls_the_pane_and_the_cursor_with_it():
    """PageDown/PageUp as in `less`: the pane moves a page, the cursor keeps its row on
    screen; at the ends the pane stops and the cursor goes on to the first/last line."""
    app = TreeApp()
    async with app.run_test(size=(40, 5)) as pilot:
        tree = app.query_one(Probe)
        for i in range(30):
            tree.root.add_leaf(Text(f"leaf {i}"), str(i))
        tree.focus()
        await pilot.pause()
        await pilot.press("down", "down", "down")
        assert (tree.cursor_line, tree.scroll_offset.y) == (2, 0)
        await pilot.press("pagedown")
        assert (tree.cursor_line, tree.scroll_offset.y) == (7, 5)
        await pilot.press("pagedown", "pagedown", "pagedown", "pagedown")
        assert (tree.cursor_line, tree.scroll_offset.y) == (27, 25)  # the last page
        await pilot.press("pagedown")
        assert (tree.cursor_line, tree.scroll_offset.y) == (29, 25)  # on to the end
        await pilot.press("pageup")
        assert (tree.cursor_line, tree.scroll_offset.y) == (24, 20)
        await pilot.press("home")
        assert (tree.cursor_line, tree.scroll_offset.y) == (0, 0)
        await pilot.press("pageup")
        assert (tree.cursor_line, tree.scroll_offset.y) == (0, 0)
