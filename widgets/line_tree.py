"""A collapsible tree drawn with the Line API: only visible lines are rendered, each
from a strip cache, and adding nodes costs a list append.

Textual's `Tree` measured ~0.45 ms per drawn line here (it re-reads three component
styles and rebuilds guides and label for every line) and ~7 ms to build a typical event's
~100 nodes (each add invalidates the widget); with the detail pane redrawn on every list
move, that was most of a keypress's frame. This tree keeps the part of the `Tree`/
`TreeNode` API the detail pane uses (`root`, `add`, `add_leaf`, `expand`, `collapse`,
`cursor_node`, `move_cursor`, `get_node_at_line`, `last_line`) and calls hook methods
instead of posting messages.

Labels are `rich.text.Text` whose span styles may be tokens: component class names
(resolved with `get_component_rich_style`, so a theme change restyles without a
rebuild) or plain style strings such as "reverse" (the sanitiser's escape marks).
Never `str` labels: nothing here parses markup.
"""

from __future__ import annotations

from typing import ClassVar, Generic, TypeVar

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Span, Text
from textual import events
from textual.geometry import Region, Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from .paging import page_move
from .quiet_scroll import QuietScroll
from .strip_cache import StripCache

__all__ = ["LineTree", "TreeItem"]

T = TypeVar("T")

ICON_OPEN = "▼ "
ICON_CLOSED = "▶ "
GUIDE_WIDTH = 2  # cells per depth level
_CACHE_SIZE = 256


def _shown(node: TreeItem, lines: list) -> bool:
    # _line is stale for nodes inside closed containers: check against the line list.
    return 0 <= node._line < len(lines) and lines[node._line][0] is node


class TreeItem(Generic[T]):
    """One node: a label, its data and children. Structure changes tell the tree."""

    __slots__ = (
        "_tree",
        "parent",
        "label",
        "data",
        "_children",
        "_allow_expand",
        "_expanded",
        "_line",
        "_version",
        "id",
    )

    def __init__(
        self,
        tree: LineTree[T],
        parent: TreeItem[T] | None,
        label: Text,
        data: T | None,
        *,
        allow_expand: bool,
        expanded: bool,
    ) -> None:
        self._tree = tree
        self.parent = parent
        self.label = label
        self.data = data
        self._children: list[TreeItem[T]] = []
        self._allow_expand = allow_expand
        self._expanded = expanded
        self._line = -1  # index among the visible lines, -1 when hidden
        self._version = 0  # bumped when the label changes (strip cache key)
        tree._next_id += 1
        self.id = tree._next_id

    @property
    def children(self) -> list[TreeItem[T]]:
        return self._children

    @property
    def allow_expand(self) -> bool:
        return self._allow_expand

    @allow_expand.setter
    def allow_expand(self, value: bool) -> None:
        if value != self._allow_expand:
            self._allow_expand = value
            self._version += 1  # the toggle icon shows or goes
            self._tree._structure_changed()

    @property
    def is_expanded(self) -> bool:
        return self._expanded

    @property
    def line(self) -> int:
        """Index among the visible lines; -1 when an ancestor is closed."""
        lines = self._tree._get_lines()
        return self._line if _shown(self, lines) else -1

    @property
    def depth(self) -> int:
        """0 for the root's children."""
        d, p = -1, self.parent
        while p is not None:
            d, p = d + 1, p.parent
        return d

    def add(
        self, label: Text, data: T | None = None, *, expand: bool = False, allow_expand: bool = True
    ) -> TreeItem[T]:
        node = TreeItem(
            self._tree,
            self,
            label,
            data,
            allow_expand=allow_expand,
            expanded=expand and allow_expand,
        )
        self._children.append(node)
        self._tree._structure_changed()
        return node

    def add_leaf(self, label: Text, data: T | None = None) -> TreeItem[T]:
        return self.add(label, data, allow_expand=False)

    def expand(self) -> None:
        if self.allow_expand and not self._expanded:
            self._expanded = True
            self._version += 1
            self._tree._structure_changed()
            self._tree.node_expanded(self)

    def collapse(self) -> None:
        if self._expanded:
            self._expanded = False
            self._version += 1
            self._tree._structure_changed()
            self._tree.node_collapsed(self)

    def toggle(self) -> None:
        if self._expanded:
            self.collapse()
        else:
            self.expand()

    def remove(self) -> None:
        if self.parent is not None:
            self.parent._children.remove(self)
            self.parent = None
            self._tree._structure_changed()

    def __repr__(self) -> str:
        return f"TreeItem({self.label.plain!r})"


class LineTree(QuietScroll, ScrollView, Generic[T], can_focus=True):
    """The tree widget. Subclasses override the `node_*` hooks and `resolve_style`."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "line-tree--cursor",
        "line-tree--guides",
        "line-tree--toggle",
    }

    DEFAULT_CSS = """
    LineTree {
        overflow-x: hidden;
        overflow-y: scroll;  /* never toggled: a toggle lays out the whole screen */
        background: $surface;
        color: $foreground;
        & > .line-tree--guides { color: $surface-lighten-2; }
        & > .line-tree--toggle { }
        & > .line-tree--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
        &:focus > .line-tree--cursor {
            background: $block-cursor-background;
            color: $block-cursor-foreground;
            text-style: $block-cursor-text-style;
        }
        &:nocolor > .line-tree--cursor { text-style: bold reverse; }
    }
    """

    def __init__(
        self, *, name: str | None = None, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._next_id = 0
        self.root: TreeItem[T] = TreeItem(
            self, None, Text(""), None, allow_expand=True, expanded=True
        )
        self._lines: list[tuple[TreeItem[T], str]] | None = []
        self._cursor_line = -1
        self._cursor_node: TreeItem[T] | None = None
        self._cache = StripCache(_CACHE_SIZE)
        self._styles: dict[object, Style] = {}
        self._repaint_asked = False
        self._styles_version: tuple = ()
        self._base = Style.null()

    # ------------------------------------------------------------------ hooks
    def node_expanded(self, node: TreeItem[T]) -> None:
        """Called after `node` opened (by key or code)."""

    def node_collapsed(self, node: TreeItem[T]) -> None:
        """Called after `node` closed."""

    def cursor_moved(self, node: TreeItem[T] | None) -> None:
        """Called when the cursor lands on another node."""

    # ------------------------------------------------------------------ tree API
    def clear(self) -> None:
        self.root = TreeItem(self, None, Text(""), None, allow_expand=True, expanded=True)
        self._cursor_line = -1
        self._cursor_node = None
        self._structure_changed()

    @property
    def last_line(self) -> int:
        return len(self._get_lines()) - 1

    @property
    def cursor_line(self) -> int:
        self._get_lines()
        return self._cursor_line

    @property
    def cursor_node(self) -> TreeItem[T] | None:
        self._get_lines()
        return self._cursor_node

    def get_node_at_line(self, line: int) -> TreeItem[T] | None:
        lines = self._get_lines()
        return lines[line][0] if 0 <= line < len(lines) else None

    def move_cursor(self, node: TreeItem[T] | None, animate: bool = False) -> None:
        """Put the cursor on `node`, opening its closed ancestors, and scroll to it."""
        if node is not None:
            p = node.parent
            while p is not None and p is not self.root:
                p.expand()
                p = p.parent
        self._set_cursor(-1 if node is None else node.line)

    def indent_of(self, node: TreeItem[T]) -> int:
        """Cells before the labels of `node`'s children."""
        return (node.depth + 1) * GUIDE_WIDTH

    # ------------------------------------------------------------------ actions
    def action_cursor_down(self) -> None:
        self._set_cursor(self.cursor_line + 1 if self.cursor_line >= 0 else 0)

    def action_cursor_up(self) -> None:
        self._set_cursor(max(0, self.cursor_line - 1))

    def action_page_down(self) -> None:
        self._page_by(1)

    def action_page_up(self) -> None:
        self._page_by(-1)

    def _page_by(self, direction: int) -> None:
        cursor, top = page_move(
            self.cursor_line, int(self.scroll_offset.y), self._page(), self.last_line + 1, direction
        )
        self.scroll_to(y=top, animate=False, force=True)
        self._set_cursor(cursor)

    def action_first(self) -> None:
        self._set_cursor(0)

    def action_last(self) -> None:
        self._set_cursor(self.last_line)

    def action_select_cursor(self) -> None:
        node = self.cursor_node
        if node is not None and node.allow_expand:
            node.toggle()

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        line = int(self.scroll_offset.y) + offset.y
        node = self.get_node_at_line(line)
        if node is None:
            return
        self._set_cursor(line)
        toggle_at = node.depth * GUIDE_WIDTH
        if node.allow_expand and toggle_at <= offset.x < toggle_at + len(ICON_OPEN):
            self.action_select_cursor()

    # ------------------------------------------------------------------ internals
    def _structure_changed(self) -> None:
        self._lines = None
        if not self._repaint_asked:
            self._repaint_asked = True
            self.refresh()

    def _page(self) -> int:
        return max(1, self.scrollable_content_region.height)

    def _get_lines(self) -> list[tuple[TreeItem[T], str]]:
        lines = self._lines
        if lines is None:
            lines = self._lines = self._build()
        return lines

    def _build(self) -> list[tuple[TreeItem[T], str]]:
        """The visible lines, each with its guide prefix (e.g. "│ ├ ")."""
        lines: list[tuple[TreeItem[T], str]] = []
        add = lines.append
        # Iterative walk: deep JSON must not hit the recursion limit.
        # Entries: (node, guides above it, last child?, top level?).
        stack: list[tuple[TreeItem[T], str, bool, bool]] = [
            (child, "", False, True) for child in reversed(self.root._children)
        ]
        while stack:
            node, above, last, top = stack.pop()
            if top:  # the root is not drawn: its children carry no guides
                prefix = below = ""
            else:
                prefix = above + ("└ " if last else "├ ")
                below = above + ("  " if last else "│ ")
            node._line = len(lines)
            add((node, prefix))
            if node._expanded and node._children:
                kids = node._children
                stack.extend(
                    (kids[i], below, i == len(kids) - 1, False)
                    for i in range(len(kids) - 1, -1, -1)
                )
        # The cursor stays on its node; a node now hidden (or removed) hands it to its
        # nearest visible ancestor, else the cursor keeps its line.
        keep = self._cursor_node
        while keep is not None and not _shown(keep, lines):
            keep = keep.parent if keep.parent is not self.root else None
        if keep is None:
            line = min(self._cursor_line, len(lines) - 1)
            keep = lines[line][0] if line >= 0 else None
        else:
            line = keep._line
        self._cursor_line, self._cursor_node = line, keep
        self.virtual_size = Size(0, len(lines))
        return lines

    def _set_cursor(self, line: int) -> None:
        lines = self._get_lines()
        line = max(-1, min(line, len(lines) - 1))
        node = lines[line][0] if line >= 0 else None
        if line != self._cursor_line or node is not self._cursor_node:
            old = self._cursor_line
            self._cursor_line, self._cursor_node = line, node
            self._refresh_line(old)
            self._refresh_line(line)
            self.cursor_moved(node)
        self._scroll_cursor_visible()

    def _scroll_cursor_visible(self) -> None:
        line = self._cursor_line
        if line < 0:
            return
        top, page = int(self.scroll_offset.y), self._page()
        if line < top:
            self.scroll_to(y=line, animate=False, force=True)
        elif line >= top + page:
            self.scroll_to(y=line - page + 1, animate=False, force=True)

    def _refresh_line(self, line: int) -> None:
        y = line - int(self.scroll_offset.y)
        if 0 <= y < self.size.height:
            self.refresh(Region(0, y, self.size.width, 1))

    def on_focus(self) -> None:
        self._refresh_line(self._cursor_line)

    def on_blur(self) -> None:
        self._refresh_line(self._cursor_line)

    def on_resize(self, event: events.Resize) -> None:
        self._cache.clear()
        self._scroll_cursor_visible()

    def notify_style_update(self) -> None:
        # Focus moves change only the cursor's look (its strips are keyed by it), so
        # the other cached lines are dropped only when another style changed.
        super().notify_style_update()
        self._styles = {}
        version = tuple(
            self.resolve_style(name)
            for name in sorted(self._component_names())
            if name != "line-tree--cursor"
        ) + (self.rich_style,)
        if version != self._styles_version:
            self._styles_version = version
            self._cache.clear()
        self.refresh()

    def resolve_style(self, token: object) -> Style:
        """A span's style: component class names via CSS, other strings parsed."""
        style = self._styles.get(token)
        if style is None:
            if isinstance(token, Style):
                return token
            name = str(token)
            if name in self._component_names():
                style = self.get_component_rich_style(name, partial=True, default=Style.null())
            else:
                style = Style.parse(name) if name else Style.null()
            self._styles[token] = style
        return style

    @classmethod
    def _component_names(cls) -> set[str]:
        names: set[str] = set()
        for base in cls.__mro__:
            names |= getattr(base, "COMPONENT_CLASSES", set())
        return names

    # ------------------------------------------------------------------ rendering
    def render_lines(self, crop: Region) -> list[Strip]:
        self._repaint_asked = False
        self._base = self.rich_style  # computing it costs ~50 us: once per paint
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        lines = self._get_lines()
        width = self.scrollable_content_region.width
        i = int(self.scroll_offset.y) + y
        if i >= len(lines):
            return Strip.blank(width, self._base)
        node, prefix = lines[i]
        cursor = 0 if i != self._cursor_line else (2 if self.has_focus else 1)
        look = self.resolve_style("line-tree--cursor") if cursor else None
        key = (node.id, node._version, prefix, cursor, width, look)
        return self._cache.get(key, lambda: self._render_node(node, prefix, cursor, width))

    def _render_node(self, node: TreeItem[T], prefix: str, cursor: int, width: int) -> Strip:
        # One Strip per line: Strip's crop/apply_style/simplify each build another
        # (with its caches), which measured as most of a line's cost.
        resolve = self.resolve_style
        base = self._base + resolve("line-tree--cursor") if cursor else self._base
        pieces: list[Segment] = []
        if prefix:
            pieces.append(Segment(prefix, resolve("line-tree--guides")))
        if node._allow_expand:
            icon = ICON_OPEN if node._expanded else ICON_CLOSED
            pieces.append(Segment(icon, resolve("line-tree--toggle")))
        label = node.label
        if label.spans or label.style:
            text = Text(
                label.plain,
                style=resolve(label.style) if label.style else "",
                spans=[Span(s.start, s.end, resolve(s.style)) for s in label.spans],
                end="",
            )
            pieces.extend(text.render(self.app.console))
        else:
            pieces.append(Segment(label.plain))
        segments = [Segment(t, base + st if st else base) for t, st, _ in pieces]
        used = sum(cell_len(t) for t, _, _ in segments)
        if used > width:
            return Strip(segments, used).crop(0, width)
        if used < width:
            segments.append(Segment(" " * (width - used), base))
        return Strip(segments, width)
