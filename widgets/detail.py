"""The selected event's detail: the facts a responder reads first (who, what, where,
when, outcome, flags) above the full original JSON, as one keyboard-driven tree.

Every string from the log reaches the tree through `widgets.safe` as a `Text`; labels
are never `str`. Styles are semantic tokens (the component class names below) resolved
at render time (see `widgets.line_tree`), so a theme change restyles the tree without a
rebuild.

Big events must not freeze the UI: containers fill lazily (on first expand) and at most
`MAX_CHILDREN` at a time, strings are cut at `MAX_STR` characters with a visible length,
and `enter` on a long value shows it wrapped (up to `FULL_CAP` characters).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import islice
from typing import ClassVar, NamedTuple

import orjson
from rich.text import Text
from textual.binding import BindingType

from tui.core import deepjson
from tui.core.cards import SUBJECT_FIELDS as CARD_SUBJECTS
from tui.core.credentials import credentials_of
from tui.core.detect import detections_of
from tui.core.detect.attack import TACTICS, TECHNIQUES
from tui.core.fields import FIELDS
from tui.core.normalize import NO_TIME, format_time, text
from tui.core.paths import child_path
from tui.core.store import Store
from tui.core.summary import (
    ALERT,
    EMPTY,
    HINT,
    LITERAL,
    STRING,
    VALUE,
    Fact,
    Note,
    Section,
    leaf_field,
    summarize,
)

from .bindings import bindings
from .line_tree import LineTree
from .line_tree import TreeItem as TreeNode
from .messages import CopyRequest, EventRequest, FacetRequest, FilterRequest
from .safe import safe_text

__all__ = [
    "ContainerRef",
    "DetailPane",
    "InfoRef",
    "MoreRef",
    "NullRef",
    "PairRef",
    "SectionRef",
    "ValueRef",
]

MAX_STR = 300  # characters of a string shown inline
MAX_KEY = 100  # characters of a JSON key shown
MAX_CHILDREN = 200  # children added per container (and per "more" step)
FULL_CAP = 65_536  # characters shown when a long value is opened with enter
FULL_MAX_LINES = 2_000
WRAP_MIN = 20  # a long value opens (enter) when longer than this or multi-line

# Style tokens: component class names, resolved when a line is drawn (LineTree).
S_SECTION = "detail--section"
S_LABEL = "detail--label"
S_VALUE = "detail--value"
S_KEY = "detail--key"
S_INDEX = "detail--index"
S_STRING = "detail--string"
S_NUMBER = "detail--number"
S_LITERAL = "detail--literal"
S_COUNT = "detail--count"
S_HINT = "detail--hint"
S_ALERT = "detail--alert"
S_EMPTY = "detail--empty"


class ValueRef(NamedTuple):
    """Data of a node whose value is a scalar: the indexed field it filters on (None =
    free text), the value as the store indexes it, and its JSON path ('' if derived)."""

    field: str | None
    value: str
    path: str


class NullRef(ValueRef):
    """A JSON null (value ''; copies as 'null')."""

    __slots__ = ()


class InfoRef(ValueRef):
    """A derived fact (formatted time, file location): copyable, not filterable."""

    __slots__ = ()


@dataclass(eq=False, slots=True)
class ContainerRef:
    """Data of an object/array node; children are added lazily."""

    obj: dict | list
    path: str
    depth: int
    shown: int = 0  # children added so far
    built: bool = False


@dataclass(eq=False, slots=True)
class MoreRef:
    """The "… N more" leaf of a capped container: enter adds the next batch."""

    container: ContainerRef


@dataclass(eq=False, slots=True)
class SectionRef:
    name: str


@dataclass(eq=False, slots=True)
class PairRef:
    """The line naming an Insights event's other half: enter moves the list there."""

    row: int


NodeData = ValueRef | ContainerRef | MoreRef | SectionRef | PairRef | None

# How the summary's tones are drawn.
_TONES = {
    VALUE: S_VALUE,
    STRING: S_STRING,
    ALERT: S_ALERT,
    EMPTY: S_EMPTY,
    LITERAL: S_LITERAL,
    HINT: S_HINT,
}


def _compact(obj: object) -> str:
    try:
        return orjson.dumps(obj).decode()
    except (TypeError, orjson.JSONEncodeError):  # ints beyond 64 bits, NaN, deep nesting
        try:
            return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), default=str)
        except RecursionError:
            return deepjson.dumps(obj)


def _str_text(value: str, style: str, *, quoted: bool) -> Text:
    """A data string, cut at MAX_STR with a visible '… (N chars)'."""
    q = '"' if quoted else ""
    out = Text(q, style)
    if len(value) > MAX_STR:
        out.append(safe_text(value[:MAX_STR], style))
        out.append(f"… ({len(value):,} chars)", S_HINT)
        return out
    out.append(safe_text(value, style))
    out.append(q, style)
    return out


def scalar_text(v: object) -> Text:
    if isinstance(v, str):
        return _str_text(v, S_STRING, quoted=True)
    if v is None:
        return Text("null", S_LITERAL)
    if isinstance(v, bool):
        return Text("true" if v else "false", S_LITERAL)
    if isinstance(v, (int, float)):
        try:
            return Text(text(v), S_NUMBER)
        except ValueError:  # an int too long for str()
            return Text("<huge number>", S_HINT)
    return _str_text(text(v), S_VALUE, quoted=False)


def _count_text(obj: dict | list) -> Text:
    n = len(obj)
    return Text(f"{{{n:,}}}" if isinstance(obj, dict) else f"[{n:,}]", S_COUNT)


def _auto_expand(depth: int, n: int) -> bool:
    # Top level open; nested objects open while shallow and small; deeper ones only
    # when tiny, so a big event opens to one screen of structure.
    return depth <= 0 or (depth <= 2 and n <= 25) or (depth <= 4 and n <= 3)


def _ref(fact: Fact) -> ValueRef | PairRef:
    if fact.kind == "pair" and fact.row is not None:
        return PairRef(fact.row)
    if fact.kind == "info":
        return InfoRef(None, fact.value, fact.path)
    return ValueRef(fact.field, fact.value, fact.path)


class DetailPane(LineTree[NodeData]):
    """The detail tree. The app calls `show(row)`; keys post FilterRequest, FacetRequest
    and CopyRequest."""

    BINDINGS: ClassVar[list[BindingType]] = bindings("detail")

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        S_SECTION,
        S_LABEL,
        S_VALUE,
        S_KEY,
        S_INDEX,
        S_STRING,
        S_NUMBER,
        S_LITERAL,
        S_COUNT,
        S_HINT,
        S_ALERT,
        S_EMPTY,
    }

    # Bold/italic carry the distinctions when NO_COLOR strips the colours.
    DEFAULT_CSS = """
    DetailPane {
        height: 1fr;
        width: 1fr;
        /* Fixed scrollbars: one appearing or going lays out the whole screen. Lines
           wider than the pane are cut; enter shows a long value wrapped in full. */
        overflow-x: hidden;
        overflow-y: scroll;
        padding: 0 0 0 1;
        & > .detail--section { text-style: bold; color: $text-primary; }
        & > .detail--label { color: $text-muted; }
        & > .detail--value { }
        & > .detail--key { text-style: bold; color: $text-accent; }
        & > .detail--index { color: $text-muted; }
        & > .detail--string { color: $text-success; }
        & > .detail--number { color: $text-warning; }
        & > .detail--literal { text-style: italic; color: $text-secondary; }
        & > .detail--count { color: $text-muted; }
        & > .detail--hint { text-style: italic; color: $text-muted; }
        & > .detail--alert { text-style: bold; color: $text-error; }
        & > .detail--empty { text-style: italic; color: $text-muted; }
    }
    """

    def __init__(
        self,
        store: Store,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.store = store
        self.row: int | None = None
        self._event: object = None
        self._collapsed: set[str] = set()  # section names the user closed (kept across events)
        self._node_keys: dict[object, tuple] = {}  # node id -> stable key (cursor restore)
        self._section_name = ""  # section being built
        self.border_title = "Detail"
        self._shown: tuple[int | None, int | None] | None = None  # (row, flags) on screen
        # Set by the app while rules and the credential index run in a worker: the
        # Detections and Origin sections say so instead of waiting for it.
        self.analysing = False
        self.show(None)

    # ------------------------------------------------------------------ building
    def show(self, row: int | None, *, force: bool = False) -> None:
        """Show store row `row` (None: the empty state).

        Showing the row already shown is a no-op unless its flags changed (a later commit
        can mark a conflict) or `force`, so view refreshes keep the user's open nodes."""
        row = None if row is None else int(row)
        shown = (row, None if row is None else int(self.store.flags[row]))
        if shown == self._shown and not force:
            return
        self._shown = shown
        old_key = self._key_of(self.cursor_node)
        self.row = row
        self.clear()
        self._node_keys = {}
        self._event = None
        first: TreeNode[NodeData] | None = None
        if row is None:
            first = self.root.add_leaf(Text("no event selected", S_EMPTY))
        else:
            try:
                self._event = self.store.event(row)
            except Exception as e:  # a changed/vanished file must not take the app down
                first = self.root.add_leaf(
                    Text.assemble(
                        ("original unavailable: ", S_ALERT), safe_text(str(e), max_len=600)
                    )
                )
                self._add_indexed(row)
            else:
                try:
                    keyed = self._build_event(row, self._event)
                except RecursionError:  # a value nested too deeply to summarise
                    self.clear()
                    self._node_keys = {}
                    first = self.root.add_leaf(
                        Text("event nested too deeply to show as a tree", S_ALERT)
                    )
                    self._add_indexed(row)
                    keyed = {}
                first = keyed.get(old_key) if old_key is not None else first
        self.refresh_bindings()
        # Build now so node line numbers are valid for the cursor move.
        if self.last_line < 0:
            return
        if first is None or first.line < 0:
            first = self.get_node_at_line(0)
            self.scroll_to(0, 0, animate=False)
        self.move_cursor(first, animate=False)

    def _add_indexed(self, row: int) -> None:
        """What the store indexed for `row` (when its original cannot be read back): the
        values still filter, exclude and copy like those of a full event."""
        node = self.root.add(Text("Indexed fields", S_SECTION), SectionRef("indexed"), expand=True)
        width = max(len(f.label) for f in FIELDS) + 2
        ms = self.store.time_ms(row)
        when = format_time(ms) if ms != NO_TIME else "?"
        node.add_leaf(Text("Time".ljust(width), S_LABEL) + safe_text(when), InfoRef(None, when, ""))
        for f in FIELDS:
            value = self.store.value(row, f.name)
            if value:
                label = Text(f.label.ljust(width), S_LABEL)
                label.append(_str_text(value, S_VALUE, quoted=False))
                node.add_leaf(label, ValueRef(f.name, value, ""))
        where = self.store.location(row)
        node.add_leaf(
            Text("Location".ljust(width), S_LABEL) + safe_text(where), InfoRef(None, where, "")
        )

    def _build_event(self, row: int, ev: object) -> dict[tuple, TreeNode[NodeData]]:
        keyed: dict[tuple, TreeNode[NodeData]] = {}
        sections = [
            *self._detections_section(row),
            *self._case_section(row),
            *summarize(self.store, row, ev),
            *self._origin_section(row),
        ]
        for sec in sections:
            if not (sec.facts or sec.subtrees or sec.notes):
                continue
            self._section_name = sec.name
            node = self.root.add(
                Text(sec.title, S_SECTION),
                SectionRef(sec.name),
                expand=sec.name not in self._collapsed,
            )
            self._remember(node, (sec.name,), keyed)
            labels = [f.label for f in sec.facts] + [t for t, _, _ in sec.subtrees]
            width = max(map(len, labels), default=0) + 2
            for fact in sec.facts:
                label = Text(fact.label.ljust(width), S_LABEL)
                shown = fact.value if fact.display is None else fact.display
                label.append(_str_text(shown, _TONES[fact.tone], quoted=False))
                if fact.hint:
                    label.append("  ")
                    label.append(safe_text(fact.hint, S_HINT))
                leaf = node.add_leaf(label, _ref(fact))
                self._remember(leaf, (sec.name, "fact", fact.label), keyed)
            for note in sec.notes:
                node.add_leaf(safe_text(note.text, _TONES[note.tone]))
            for title, path, obj in sec.subtrees:
                self._add_value(
                    node, Text(title.ljust(width), S_LABEL), path, obj, 1, keyed, head=True
                )
        self._section_name = "json"
        json_title = Text("Event JSON", S_SECTION)
        self._add_value(
            self.root, json_title, "", ev, 0, keyed, collapsed="json" in self._collapsed
        )
        return keyed

    def _remember(self, node: TreeNode[NodeData], key: tuple, keyed: dict | None) -> None:
        self._node_keys[node.id] = key
        if keyed is not None:
            keyed.setdefault(key, node)

    def _key_of(self, node: TreeNode[NodeData] | None) -> tuple | None:
        return None if node is None else self._node_keys.get(node.id)

    def _add_value(
        self,
        parent: TreeNode[NodeData],
        key_text: Text,
        path: str,
        v: object,
        depth: int,
        keyed: dict | None = None,
        *,
        collapsed: bool = False,
        head: bool = False,
    ) -> TreeNode[NodeData]:
        """Add `v` under `parent` as a leaf (scalar) or a lazily filled container.

        `head`: `key_text` is an already padded summary label (no ': ' separator)."""
        section = self._section_name
        if isinstance(v, (dict, list)):
            label = key_text.copy()
            if label.plain and not head:
                label.append(" ")
            label.append(_count_text(v))
            ref = ContainerRef(v, path, depth)
            if not v:
                node = parent.add_leaf(label, ref)
            else:
                expand = _auto_expand(depth, len(v)) and not collapsed
                node = parent.add(label, ref, expand=expand)
                if expand:
                    self._fill(node, ref)
            self._remember(node, (section, path), keyed)
            return node
        label = key_text.copy()
        if label.plain and not head:
            label.append(": ", S_KEY)
        label.append(scalar_text(v))
        try:
            vs = text(v)
        except ValueError:  # an int with more digits than int->str allows
            vs = "<huge number>"
        ref_cls = NullRef if v is None else ValueRef
        node = parent.add_leaf(label, ref_cls(self._field_for(path, vs), vs, path))
        self._remember(node, (section, path), keyed)
        return node

    def _fill(self, node: TreeNode[NodeData], ref: ContainerRef) -> None:
        """Add the next MAX_CHILDREN children of a container (and a "more" leaf)."""
        ref.built = True
        obj = ref.obj
        start, stop = ref.shown, ref.shown + MAX_CHILDREN
        items: Iterable[tuple[str | int, object]]
        if isinstance(obj, dict):
            items = islice(obj.items(), start, stop)
        else:
            items = zip(range(start, stop), obj[start:stop], strict=False)
        for k, v in items:
            if isinstance(k, int):
                kt = Text(f"[{k}]", S_INDEX)
            else:
                kt = safe_text(str(k), S_KEY, max_len=MAX_KEY)
            self._add_value(node, kt, child_path(ref.path, k), v, ref.depth + 1)
        ref.shown = min(stop, len(obj))
        rest = len(obj) - ref.shown
        if rest > 0:
            more = Text(f"… {rest:,} more", S_HINT)
            more.append(f" (enter: next {min(rest, MAX_CHILDREN):,})", S_HINT)
            node.add_leaf(more, MoreRef(ref))

    def _field_for(self, path: str, value: str) -> str | None:
        """The indexed field for a raw JSON path, if filtering on it selects this event."""
        return None if self.row is None else leaf_field(self.store, self.row, path, value)

    # ------------------------------------------------------------------ pivots
    def _detections_section(self, row: int) -> list[Section]:
        """What the detection rules say about the event (tui/core/detect): per rule its
        severity and title (f filters on `rule:ID`), why it matched, why it matters,
        its ATT&CK mapping and references, all as plain text."""
        det = detections_of(self.store)
        if det is None:
            return []
        sec = Section("detections", "Detections")
        if self.analysing:
            sec.notes.append(Note("detection rules are running…", HINT))
            return [sec]
        for rule in det.rules_of(row):
            sec.facts.append(
                Fact(
                    rule.severity.capitalize(),
                    rule.id,
                    field="rule",
                    display=rule.title,
                    hint=f"({rule.id})",
                    tone=ALERT if rule.rank >= 3 else STRING,
                )
            )
            lines = [f"why: {det.explain(row, rule)}"]
            if rule.description:
                lines.append(f"matters: {' '.join(rule.description.split())}")
            attack = [f"{t} {TACTICS.get(t, '')}".strip() for t in rule.tactics]
            attack += [f"{t} {TECHNIQUES.get(t, '')}".strip() for t in rule.techniques]
            if attack:
                lines.append("ATT&CK: " + "; ".join(attack))
            if rule.false_positives:
                lines.append(f"false positives: {' '.join(rule.false_positives.split())}")
            lines += [f"reference: {r}" for r in rule.references]
            sec.facts.extend(Fact("", line, kind="info", tone=HINT) for line in lines)
        return [sec] if sec.facts else []

    def _case_section(self, row: int) -> list[Section]:
        """The event's labels in the case (f filters on `mark:LABEL`) and its note."""
        ann = self.store.annotations
        if ann is None:
            return []
        labels, note = ann.labels_of(row), ann.note_of(row)
        sec = Section("case", "Case")
        for label in labels:
            sec.facts.append(Fact("Marked", label, field="mark", tone=STRING))
        if note is not None:
            sec.facts.append(
                Fact("Note", note.text, kind="info", hint=f"(a: edit; {note.updated_at})")
            )
        return [sec] if sec.facts else []

    def _origin_section(self, row: int) -> list[Section]:
        """Where the event's credential came from (credentials.CredentialIndex.chain):
        each minting event (enter goes to it), what stops the chain, and what the
        record at the top says about the identity."""
        if not self.store.value(row, "key"):
            return []
        sec = Section("origin", "Origin")
        if self.analysing:
            sec.notes.append(Note("tracing credentials…", HINT))
            return [sec]
        chain = credentials_of(self.store).chain(row)
        for i, link in enumerate(chain.links):
            what = f"{link.event} at {format_time(link.time_ms)} by {link.caller}"
            if link.caller_key:
                what += f" (key {link.caller_key})"
            if link.ip:
                what += f" from {link.ip}"
            if link.account:
                what += f" in {link.account}"
            if link.after_use:
                what += " [recorded after the use]"
            sec.facts.append(
                Fact(
                    "Minted by" if i == 0 else "  ← minted by",
                    what,
                    kind="pair",
                    row=link.row,
                    hint="(enter: go to it)",
                    tone=STRING,
                )
            )
        end = chain.end_text()
        sec.facts.append(
            Fact("Top", end, kind="info", tone=ALERT if chain.end != "identity" else VALUE)
        )
        for label, value in chain.record:
            sec.facts.append(Fact(f"  {label}", value, kind="info"))
        return [sec]

    # ------------------------------------------------------------------ events
    def node_expanded(self, node: TreeNode[NodeData]) -> None:
        data = node.data
        if isinstance(data, ContainerRef) and not data.built:
            self._section_name = self._section_of(node)
            self._fill(node, data)
        if isinstance(data, SectionRef):
            self._collapsed.discard(data.name)
        elif node.parent is self.root and isinstance(data, ContainerRef):
            self._collapsed.discard("json")

    def node_collapsed(self, node: TreeNode[NodeData]) -> None:
        if isinstance(node.data, SectionRef):
            self._collapsed.add(node.data.name)
        elif node.parent is self.root:
            self._collapsed.add("json")

    def cursor_moved(self, node: TreeNode[NodeData] | None) -> None:
        self.refresh_bindings()

    def _section_of(self, node: TreeNode[NodeData]) -> str:
        while node.parent is not None and node.parent is not self.root:
            node = node.parent
        return node.data.name if isinstance(node.data, SectionRef) else "json"

    def _prepare(self, node: TreeNode[NodeData]) -> bool:
        """Make `node` expandable if it can open: fill a lazy container, or add the
        wrapped full text of a long value. True when it has something to show."""
        data = node.data
        if isinstance(data, ContainerRef):
            if not data.built:
                self._section_name = self._section_of(node)
                self._fill(node, data)
            return bool(node.children)
        if isinstance(data, ValueRef) and not node.allow_expand and not node.children:
            value = data.value
            if isinstance(data, NullRef) or (len(value) <= WRAP_MIN and "\n" not in value):
                return False
            self._add_wrapped(node, value)
            node.allow_expand = True
            return True
        return node.allow_expand

    def _add_wrapped(self, node: TreeNode[NodeData], value: str) -> None:
        indent = self.indent_of(node)
        width = max(WRAP_MIN, self.scrollable_content_region.width - indent)
        console = self.app.console
        lines = 0
        for part in value[:FULL_CAP].split("\n"):
            for line in safe_text(part, S_STRING).wrap(console, width, overflow="fold"):
                if lines >= FULL_MAX_LINES:
                    break
                node.add_leaf(line if line.plain else Text(" "), node.data)
                lines += 1
        if len(value) > FULL_CAP or lines >= FULL_MAX_LINES:
            node.add_leaf(
                Text(f"… ({len(value):,} chars in all; c copies the whole value)", S_HINT),
                node.data,
            )

    # ------------------------------------------------------------------ actions
    def action_select_cursor(self) -> None:
        node = self.cursor_node
        if node is not None:
            data = node.data
            if isinstance(data, MoreRef):
                self._more(node, data)
                return
            if isinstance(data, PairRef):
                self.post_message(EventRequest(data.row))
                return
            self._prepare(node)
        super().action_select_cursor()

    def _more(self, node: TreeNode[NodeData], data: MoreRef) -> None:
        parent = node.parent
        if parent is None:
            return
        first_new = data.container.shown
        node.remove()
        self._section_name = self._section_of(parent)
        self._fill(parent, data.container)
        if self.last_line >= 0 and first_new < len(parent.children):
            self.move_cursor(parent.children[first_new], animate=False)

    def action_expand_node(self) -> None:
        node = self.cursor_node
        if node is None:
            return
        if not node.is_expanded:
            if self._prepare(node):
                node.expand()
        elif node.children:
            self.move_cursor(node.children[0], animate=False)

    def action_collapse_node(self) -> None:
        node = self.cursor_node
        if node is None:
            return
        if node.allow_expand and node.is_expanded:
            node.collapse()
        elif node.parent is not None and node.parent is not self.root:
            self.move_cursor(node.parent, animate=False)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "copy_event":
            return self.row is not None and self._event is not None
        if action in ("filter_value", "exclude_value", "facet_value", "only_value"):
            if self.row is None:
                return False
            return True if self._term_name() is not None else None
        if action == "copy_value":
            if self.row is None:
                return False
            return True if isinstance(self._cursor_data(), (ValueRef, ContainerRef)) else None
        return True

    def _cursor_data(self) -> NodeData:
        node = self.cursor_node
        return None if node is None else node.data

    def _term_name(self) -> str | None:
        """What the line under the cursor filters on: its indexed field, else its JSON
        path as spelt (a term on either is built by the engine: query.term_for)."""
        data = self._cursor_data()
        if not isinstance(data, ValueRef) or isinstance(data, InfoRef):
            return None
        return data.field or data.path or None

    def _filter(self, negate: bool, replace: bool = False) -> None:
        data = self._cursor_data()
        name = self._term_name()
        if name is not None and isinstance(data, ValueRef):
            self.post_message(FilterRequest(name, data.value, negate=negate, replace=replace))

    def action_only_value(self) -> None:
        """The filter becomes the value under the cursor alone."""
        self._filter(False, replace=True)

    def subject_under_cursor(self) -> tuple[str, str] | None:
        """(field, value) of the line under the cursor when it is a card's subject (a
        principal, key, role, user, account or IP), else None."""
        data = self._cursor_data()
        if isinstance(data, ValueRef) and data.field in CARD_SUBJECTS and data.value:
            return data.field, data.value
        return None

    def action_filter_value(self) -> None:
        self._filter(False)

    def action_pick(self) -> None:
        """Enter: a value filters (like f); anything else opens or closes."""
        node = self.cursor_node
        if self._term_name() is not None and node is not None and not node.children:
            self._filter(False)
        else:
            self.action_select_cursor()

    def action_facet_value(self) -> None:
        name = self._term_name()
        if name is not None:
            self.post_message(FacetRequest(name))

    def action_exclude_value(self) -> None:
        self._filter(True)

    def action_copy_value(self) -> None:
        data = self._cursor_data()
        if isinstance(data, NullRef):
            self.post_message(CopyRequest("null", what="value"))
        elif isinstance(data, ValueRef):
            self.post_message(CopyRequest(data.value, what="value"))
        elif isinstance(data, ContainerRef):
            if data.path == "" and self.row is not None:
                self.action_copy_event()
                return
            kind = "object" if isinstance(data.obj, dict) else "array"
            self.post_message(CopyRequest(_compact(data.obj), what=f"{kind} JSON"))

    def action_copy_event(self) -> None:
        if self.row is None or self._event is None:
            return
        raw = self.store.canonical(self.row)
        try:
            js = raw.decode()
        except UnicodeDecodeError:  # lenient files may hold invalid UTF-8
            js = raw.decode("utf-8", "replace")
        self.post_message(CopyRequest(js, what="event JSON"))
