"""The field table (fields.py), compiled for each ingest path.

- `Derivation.general`: a Python function over a parsed record (a dict) giving the
  indexed values, generated from the table as flat code (one local per member read, one
  if/elif chain per field), the way dataclasses generate `__init__`: as fast as the
  hand-written function it replaces, with no per-field call.
- `Derivation.fast`: msgspec structs typed from the same members (and from the record
  shape, SHAPES, so a mistyped member refuses the file to the general reader), and the
  same function generated over them.
- `Derivation.native`: what `_scan.Schema` takes: the member tree to capture (names ->
  slots, nested objects), per-slot rules for when the C scan must leave a record to
  Python, and one small program per field that its interpreter runs (see `_scan.c`,
  "programs").

`shape_problems` reads SHAPES directly (it runs per record only on the general path).
"""

from __future__ import annotations

import keyword
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

import msgspec

from .fields import FIELDS, ID_PATH, SHAPES, TIME_PATH, Field, Shape
from .normalize import NO_TIME, json_type, parse_time_ms, readonly_ok, text, version_ok
from .rules import (
    AnyOf,
    At,
    Cases,
    Cond,
    Empty,
    Is,
    IsObject,
    Lookup,
    Lowered,
    Present,
    Result,
    When,
    conditions,
    paths_read,
)

__all__ = ["DERIVED", "Derivation", "compile_fields", "event_values", "shape_problems"]

# ------------------------------------------------------------------ the member tree


@dataclass(eq=False)
class Node:
    """A member of the record that some rule, shape or batch column reads."""

    key: str  # member name ('' for the record)
    path: str
    parent: Node | None
    children: dict[str, Node] = field(default_factory=dict)
    is_object: bool = False  # descended into, or tested for being an object
    strict: bool = False  # must be an object (or null): SHAPES says so
    shape: str | None = None  # a leaf's SHAPES kind
    reads: set[str] = field(default_factory=set)  # how rules read a leaf (rules.paths_read)
    used: bool = False  # a field's rule reads it (or a member inside it)
    index: int = -1  # leaves: slot number; objects: node number

    def walk(self):
        yield self
        for c in self.children.values():
            yield from c.walk()


class TableError(ValueError):
    """A field table the compilers cannot take."""


def _build_tree(fields: Sequence[Field], shapes: Sequence[Shape], columns: Sequence[str]) -> Node:
    root = Node("", "", None, is_object=True, strict=True)

    def node(path: str, used: bool = False) -> Node:
        n = root
        for key in path.split("."):
            if not key:
                raise TableError(f"bad path {path!r}")
            child = n.children.get(key)
            if child is None:
                child = n.children[key] = Node(key, f"{n.path}.{key}" if n.path else key, n)
            n.is_object = True
            n = child
            n.used |= used
        return n

    for f in fields:
        for item in f.rule.cases:
            for k in _ci_constants(item):
                if not (k.isascii() and k == k.lower()):
                    raise TableError(
                        f"{f.name}: {k!r}: constants compared ignoring case are ASCII lower case"
                    )
        for path, how in paths_read(f.rule):
            n = node(path, used=True)
            if how == "object":
                n.is_object = True
            else:
                n.reads.add(how)
    for s in shapes:
        n = node(s.path)
        if s.kind == "object":
            n.is_object = n.strict = True
        else:
            n.shape = s.kind
    for path in columns:
        node(path).reads.add("column")
    leaves = objects = 0
    for n in root.walk():
        if n.is_object and (n.reads or n.shape):
            raise TableError(f"{n.path} is read both as a value and as an object")
        if n.shape is not None and "lowered" in n.reads and n.shape != "boolean":
            raise TableError(f"{n.path}: a lowered value must be a boolean member")
        if n.is_object:
            n.index = objects
            objects += 1
        else:
            n.index = leaves
            leaves += 1
    return root


def _ci_constants(item: When | Lookup) -> list[str]:
    if isinstance(item, Lookup):
        return [k for k, _ in item.table] if item.ci else []
    return [
        v
        for top in item.conds
        for c in conditions(top)
        if isinstance(c, Is) and c.ci
        for v in c.values
    ]


# ------------------------------------------------------------------ generated Python


def _lowered_expr(v: str) -> str:
    return (
        f"('true' if {v} is True else 'false' if {v} is False else "
        f"{v}.lower() if {v}.__class__ is str else text({v}))"
    )


class _Gen:
    """Writes one values function; `leaf(path)` and `obj(path)` give the expressions
    for a member's value and for "it is an object"."""

    def __init__(self, consts: dict[str, object]) -> None:
        self.consts = consts
        self.lines: list[str] = []

    def const(self, value: object) -> str:
        name = f"_K{len(self.consts)}"
        self.consts[name] = value
        return name

    def leaf(self, path: str) -> str:
        raise NotImplementedError

    def obj(self, path: str) -> str:
        raise NotImplementedError

    def cond(self, c: Cond) -> str:
        if isinstance(c, Empty):
            return f"not {self.leaf(c.path)}"
        if isinstance(c, Present):
            return f"{self.leaf(c.path)}"
        if isinstance(c, IsObject):
            return self.obj(c.path)
        if isinstance(c, Is):
            v = self.leaf(c.path)
            if c.ci:
                # The usual spellings match at once; lower() (a new str) only for a
                # value as long as one of the constants.
                usual = self.const(frozenset(s for x in c.values for s in _spellings(x)))
                lens = self.const(frozenset(len(x) for x in c.values))
                lower = self.const(frozenset(c.values))
                return (
                    f"({v}.__class__ is str and ({v} in {usual} or (len({v}) in {lens} "
                    f"and {v}.isascii() and {v}.lower() in {lower})))"
                )
            if len(c.values) == 1:
                return f"{v} == {c.values[0]!r}"
            return f"({v}.__class__ is str and {v} in {self.const(frozenset(c.values))})"
        assert isinstance(c, AnyOf)
        return "(" + " or ".join(self.cond(x) for x in c.conds) + ")"

    def result(self, r: Result) -> str:
        if isinstance(r, str):
            return repr(r)
        if isinstance(r, At):
            return self.leaf(r.path)
        assert isinstance(r, Lowered)
        return _lowered_expr(self.leaf(r.path))

    def rule(self, out: str, rule: Cases) -> None:
        """Assign the field's value (not yet made text) to local `out`."""
        ind = "    "
        chain = False  # an if/elif chain is open at `ind`
        for item in rule.cases:
            if isinstance(item, Lookup):
                v = self.leaf(item.path)
                if item.ci:  # the usual spellings at once, lower() for the rest
                    usual = self.const({s: out for k, out in item.table for s in _spellings(k)})
                    table = self.const(dict(item.table))
                    lens = self.const(frozenset(len(k) for k, _ in item.table))
                    expr = (
                        f"({usual}.get({v}) or ({table}.get({v}.lower()) if len({v}) in "
                        f"{lens} and {v}.isascii() else None)) if {v}.__class__ is str "
                        f"else None"
                    )
                else:
                    table = self.const(dict(item.table))
                    expr = f"{table}.get({v}) if {v}.__class__ is str else None"
                if chain:
                    self.lines.append(f"{ind}else:")
                    ind += "    "
                self.lines.append(f"{ind}{out} = {expr}")
                self.lines.append(f"{ind}if {out} is None:")
                ind += "    "
                chain = False
                continue
            assert isinstance(item, When)
            test = " and ".join(self.cond(c) for c in item.conds) or "True"
            self.lines.append(f"{ind}{'elif' if chain else 'if'} {test}:")
            self.lines.append(f"{ind}    {out} = {self.result(item.then)}")
            chain = True
        if chain:
            self.lines.append(f"{ind}else:")
            ind += "    "
        self.lines.append(f"{ind}{out} = {self.result(rule.default)}")


def _spellings(lower: str) -> set[str]:
    """A lower-case constant as logs usually write it: no, No, NO."""
    return {lower, lower.upper(), lower.capitalize()}


def _always_text(rule: Cases) -> bool:
    """Whether every result of the rule is a str already (constants, lowered values)."""
    results = [rule.default, *(c.then for c in rule.cases if isinstance(c, When))]
    return not any(isinstance(r, At) for r in results)


def _finish(gen: _Gen, name: str, arg: str, fields: Sequence[Field], consts: dict) -> Callable:
    outs = [
        f"f{i}" if _always_text(f.rule) else f"f{i} if f{i}.__class__ is str else text(f{i})"
        for i, f in enumerate(fields)
    ]
    gen.lines.append("    return (\n" + "".join(f"        {x},\n" for x in outs) + "    )")
    src = f"def {name}({arg}):\n" + "\n".join(gen.lines) + "\n"
    ns: dict[str, Any] = {"text": text, **consts}
    exec(compile(src, f"<trailscope fields: {name}>", "exec"), ns)
    fn = ns[name]
    fn.source = src  # for reading and for tests
    return fn


class _DictGen(_Gen):
    """Over a parsed record: rec.get, with {} standing for any member that is not an
    object."""

    def __init__(self, root: Node, consts: dict) -> None:
        super().__init__(consts)
        self.names: dict[str, str] = {}
        self.consts["_EMPTY"] = {}
        self._declare(root, "rec")

    def _declare(self, n: Node, holder: str) -> None:
        getter = f"{holder}.get"
        if len(n.children) > 1:
            getter = f"g{n.index}"
            self.lines.append(f"    {getter} = {holder}.get")
        for c in n.children.values():
            if c.is_object:
                raw, d = f"o{c.index}", f"d{c.index}"
                self.lines.append(f"    {raw} = {getter}({c.key!r})")
                self.lines.append(f"    {d} = {raw} if {raw}.__class__ is dict else _EMPTY")
                self.names[c.path] = raw
                self._declare(c, d)
            else:
                v = f"v{c.index}"
                self.lines.append(f"    {v} = {getter}({c.key!r})")
                self.names[c.path] = v

    def leaf(self, path: str) -> str:
        return self.names[path]

    def obj(self, path: str) -> str:
        return f"{self.names[path]}.__class__ is dict"


def _rule_tree(fields: Sequence[Field]) -> Node:
    return _build_tree(fields, (), ())


def compile_general(fields: Sequence[Field]) -> Callable[[dict], tuple[str, ...]]:
    """The values function over a parsed record (fields in table order)."""
    consts: dict[str, object] = {}
    gen = _DictGen(_rule_tree(fields), consts)
    for i, f in enumerate(fields):
        gen.lines.append(f"    # {f.name}")
        gen.rule(f"f{i}", f.rule)
    return _finish(gen, "event_values", "rec", fields, consts)


# ------------------------------------------------------------------ msgspec structs


class _Object(msgspec.Struct, gc=False):
    """Any JSON object (its members are skipped): a member that must be an object."""


_SHAPE_TYPES: dict[str, Any] = {
    "string": str | None,
    "version": str | None,
    "boolean": bool | str | None,
    "time": Any,
}


# Members in the order CloudTrail writes them. msgspec looks a key up from the field
# after the last one it matched, so structs in document order decode faster (measured:
# ~3% of the decode for the record struct).
_DOCUMENT_ORDER = {
    k: i
    for i, k in enumerate(
        (
            "eventVersion",
            "userIdentity",
            "type",
            "principalId",
            "arn",
            "accountId",
            "accessKeyId",
            "userName",
            "sessionContext",
            "sessionIssuer",
            "webIdFederationData",
            "attributes",
            "creationDate",
            "mfaAuthenticated",
            "sourceIdentity",
            "invokedBy",
            "onBehalfOf",
            "userId",
            "eventTime",
            "eventSource",
            "eventName",
            "awsRegion",
            "sourceIPAddress",
            "userAgent",
            "errorCode",
            "errorMessage",
            "requestParameters",
            "responseElements",
            "additionalEventData",
            "requestID",
            "eventID",
            "readOnly",
            "resources",
            "eventType",
            "apiVersion",
            "managementEvent",
            "recipientAccountId",
            "sharedEventID",
            "vpcEndpointId",
            "vpcEndpointAccountId",
            "eventCategory",
            "sessionCredentialFromConsole",
            "tlsDetails",
            "insightDetails",
            "state",
        )
    )
}


def _in_document_order(nodes) -> list[Node]:
    return sorted(nodes, key=lambda n: _DOCUMENT_ORDER.get(n.key, len(_DOCUMENT_ORDER)))


def _attr(key: str, taken: set[str]) -> str:
    name = (
        key
        if key.isidentifier() and not keyword.iskeyword(key)
        else "m_" + "".join(ch if ch.isalnum() else "_" for ch in key)
    )
    while name in taken:
        name += "_"
    taken.add(name)
    return name


@dataclass(frozen=True)
class FastPath:
    """The msgspec side of a derivation."""

    records: msgspec.json.Decoder  # {"Records": [Rec, ...]}
    raws: msgspec.json.Decoder  # {"Records": [Raw, ...]}
    values: Callable[[Any], tuple[str, ...]]
    time_of: Callable[[Any], Any]  # eventTime
    id_of: Callable[[Any], Any]  # eventID
    checks: tuple[tuple[Callable[[Any], Any], Callable[[Any], bool]], ...]  # (get, ok)


class _StructGen(_Gen):
    """Over decoded structs: attribute reads, a default struct for a member that is
    missing (or, where it need not be one, not an object)."""

    def __init__(self, root: Node, consts: dict) -> None:
        super().__init__(consts)
        self.names: dict[str, str] = {}
        self.types: dict[str, type] = {}
        self.attrs: dict[str, str] = {}
        self.strict = {n.path: n.strict for n in root.walk()}
        self.rec_type = self._struct(root)
        self._declare(root, "r")

    def _struct(self, n: Node) -> type:
        taken: set[str] = set()
        members = []
        for c in _in_document_order(n.children.values()):
            attr = self.attrs[c.path] = _attr(c.key, taken)
            if c.is_object:
                # A member the rules look into need not be an object unless SHAPES says
                # so: any JSON value decodes there, and only an object is looked into.
                t: Any = self._struct(c) if c.children else _Object
                t = t | None if c.strict else t | str | int | float | bool | list | None
            else:
                t = _SHAPE_TYPES.get(c.shape or "", Any)
            default = None if attr == c.key else msgspec.field(default=None, name=c.key)
            members.append((attr, t, default))
        name = "Rec" if n.parent is None else f"S_{n.path.replace('.', '_')}"
        st = msgspec.defstruct(name, members, module=__name__)
        self.types[n.path] = st
        return st

    def _declare(self, n: Node, holder: str) -> None:
        for c in n.children.values():
            if not c.used:
                continue
            read = f"{holder}.{self.attrs[c.path]}"
            if c.is_object:
                raw = f"o{c.index}"
                self.lines.append(f"    {raw} = {read}")
                self.names[c.path] = raw
                if not c.children:
                    continue
                st, dflt = self.const(self.types[c.path]), self.const(self.types[c.path]())
                if c.strict:
                    test = f"{raw} is not None"
                else:
                    test = f"{raw}.__class__ is {st}"
                self.lines.append(f"    n{c.index} = {raw} if {test} else {dflt}")
                self._declare(c, f"n{c.index}")
            else:
                self.names[c.path] = v = f"v{c.index}"
                self.lines.append(f"    {v} = {read}")

    def leaf(self, path: str) -> str:
        return self.names[path]

    def obj(self, path: str) -> str:
        n = self.names[path]
        if self.strict[path]:  # an object or None (the types refuse anything else)
            return f"{n} is not None"
        st = self.types.get(path)
        if st is None:  # no members read: decoded as _Object when an object
            return f"{n}.__class__ is _Object"
        return f"{n}.__class__ is {self.const(st)}"


def _getter(attrs: dict[str, str], path: str) -> Callable[[Any], Any]:
    if "." in path:
        raise TableError(f"{path}: batch columns and value checks read top-level members")
    return attrgetter(attrs[path])


def compile_fast(fields: Sequence[Field], shapes: Sequence[Shape] = SHAPES) -> FastPath:
    tree = _build_tree(fields, shapes, (TIME_PATH, ID_PATH))
    consts: dict[str, object] = {"_Object": _Object}
    gen = _StructGen(tree, consts)
    for i, f in enumerate(fields):
        gen.lines.append(f"    # {f.name}")
        gen.rule(f"f{i}", f.rule)
    fn = _finish(gen, "values", "r", fields, consts)
    rec = gen.rec_type
    records = list[rec]  # type: ignore[valid-type]
    typed = msgspec.defstruct("Typed", [("Records", records)], module=__name__)
    raw = msgspec.defstruct("RawRecords", [("Records", list[msgspec.Raw])], module=__name__)
    oks = {"version": version_ok, "boolean": readonly_ok}
    checks = tuple((_getter(gen.attrs, s.path), oks[s.kind]) for s in shapes if s.kind in oks)
    return FastPath(
        msgspec.json.Decoder(typed),
        msgspec.json.Decoder(raw),
        fn,
        _getter(gen.attrs, TIME_PATH),
        _getter(gen.attrs, ID_PATH),
        checks,
    )


# ------------------------------------------------------------------ the C scan's schema

# Per-slot rules (see _scan.c check_record): when the C scan must leave a record to
# the Python paths. A string compared with constants must be unescaped; a lowered
# one ASCII; booleans are read only where a rule or shape reads them as such.
SLOT_NO_ESCAPE = 1
SLOT_ASCII = 2
SLOT_BOOL = 4


@dataclass(frozen=True)
class NativeSchema:
    """The arguments of `_scan.Schema`, built from a field table."""

    nodes: list[tuple[bool, list[tuple[bytes, int, int]]]]  # (strict, [(name, slot, child)])
    slot_flags: bytes
    programs: list[list[int]]
    consts: list[bytes]
    time_slot: int
    id_slot: int
    checks: list[tuple[int, int]]  # (slot, 0: eventVersion form, 1: readOnly form)

    def build(self, scan: Any) -> Any:
        return scan.Schema(
            self.nodes,
            self.slot_flags,
            self.programs,
            self.consts,
            self.time_slot,
            self.id_slot,
            self.checks,
        )


class _Program:
    def __init__(
        self,
        ops: dict[str, int],
        slots: dict[str, int],
        objects: dict[str, int],
        consts: dict[str, int],
    ) -> None:
        self.op = ops
        self.slots = slots
        self.objects = objects
        self.consts = consts

    def const(self, s: str) -> int:
        return self.consts.setdefault(s, len(self.consts))

    def cond(self, c: Cond) -> list[int]:
        op = self.op
        if isinstance(c, Empty):
            return [op["C_EMPTY"], self.slots[c.path]]
        if isinstance(c, Present):
            return [op["C_PRESENT"], self.slots[c.path]]
        if isinstance(c, IsObject):
            return [op["C_OBJECT"], self.objects[c.path]]
        if isinstance(c, Is):
            return [
                op["C_IS"],
                self.slots[c.path],
                int(c.ci),
                len(c.values),
                *(self.const(v) for v in c.values),
            ]
        assert isinstance(c, AnyOf)
        out = [op["C_ANY"], len(c.conds)]
        for x in c.conds:
            out += self.cond(x)
        return out

    def result(self, r: Result) -> list[int]:
        if isinstance(r, str):
            return [self.op["R_CONST"], self.const(r)]
        if isinstance(r, At):
            return [self.op["R_SLOT"], self.slots[r.path]]
        return [self.op["R_LOWER"], self.slots[r.path]]

    def case(self, prog: list[int], conds: Sequence[Cond], then: Result) -> None:
        body: list[int] = []
        for c in conds:
            body += self.cond(c)
        at = len(prog)
        res = self.result(then)
        # [OP_CASE, next, result_at, ncond, conds..., result...]
        prog += [
            self.op["OP_CASE"],
            at + 4 + len(body) + len(res),
            at + 4 + len(body),
            len(conds),
            *body,
            *res,
        ]

    def rule(self, rule: Cases) -> list[int]:
        prog: list[int] = []
        for item in rule.cases:
            if isinstance(item, Lookup):
                # [OP_LOOKUP, next, slot, ci, n, key, value, ...]
                pairs = [self.const(x) for kv in item.table for x in kv]
                prog += [
                    self.op["OP_LOOKUP"],
                    len(prog) + 5 + len(pairs),
                    self.slots[item.path],
                    int(item.ci),
                    len(item.table),
                    *pairs,
                ]
            else:
                self.case(prog, item.conds, item.then)
        prog += [self.op["OP_DEFAULT"], *self.result(rule.default)]
        return prog


def compile_native(
    fields: Sequence[Field], ops: dict[str, int], shapes: Sequence[Shape] = SHAPES
) -> NativeSchema:
    """The C scan's schema; `ops` are its opcode numbers (`_scan.OPCODES`)."""
    tree = _build_tree(fields, shapes, (TIME_PATH, ID_PATH))
    slots: dict[str, int] = {}
    objects: dict[str, int] = {}
    nodes: list[tuple[bool, list[tuple[bytes, int, int]]]] = []
    flags: list[int] = []
    for n in tree.walk():
        if n.is_object:
            objects[n.path] = n.index
            nodes.append(
                (
                    n.strict,
                    [
                        (
                            c.key.encode(),
                            -1 if c.is_object else c.index,
                            c.index if c.is_object else -1,
                        )
                        for c in n.children.values()
                    ],
                )
            )
        else:
            slots[n.path] = n.index
            fl = 0
            if "compared" in n.reads or n.shape in ("version", "boolean"):
                fl |= SLOT_NO_ESCAPE
            if "lowered" in n.reads or n.shape == "boolean":
                fl |= SLOT_NO_ESCAPE | SLOT_ASCII | SLOT_BOOL
            flags.append(fl)
    consts: dict[str, int] = {}
    prog = _Program(ops, slots, objects, consts)
    programs = [prog.rule(f.rule) for f in fields]
    kinds = {"version": 0, "boolean": 1}
    checks = [(slots[s.path], kinds[s.kind]) for s in shapes if s.kind in kinds]
    return NativeSchema(
        nodes,
        bytes(flags),
        programs,
        [s.encode() for s in consts],
        slots[TIME_PATH],
        slots[ID_PATH],
        checks,
    )


# ------------------------------------------------------------------ all three


@dataclass(frozen=True)
class Derivation:
    fields: tuple[Field, ...]
    general: Callable[[dict], tuple[str, ...]]
    fast: FastPath

    def native(self, scan: Any) -> Any:
        """The `_scan.Schema` for these fields (built on demand: the C scan is optional)."""
        return compile_native(self.fields, scan.OPCODES).build(scan)


def compile_fields(fields: Sequence[Field] = FIELDS) -> Derivation:
    fields = tuple(fields)
    return Derivation(fields, compile_general(fields), compile_fast(fields))


DERIVED = compile_fields(FIELDS)
event_values = DERIVED.general
"""The indexed values of one parsed record, in `fields.FIELDS` order."""


# ------------------------------------------------------------------ record shape


def _quoted(v: object) -> str:
    import orjson

    s = v if isinstance(v, str) else text(v)
    return orjson.dumps(s[:60] + ("…" if len(s) > 60 else "")).decode()


_SHAPE_KEYS = tuple((s, tuple(s.path.split("."))) for s in SHAPES)


def shape_problems(rec: dict, *, check_time: bool = True) -> list[str]:
    """Why `rec` is malformed, one line per problem ([] when it is not): fields.SHAPES.

    Ingest flags a record when this is not empty (its time is checked there on the
    parsed times column, hence `check_time`); the detail pane shows the lines. Values
    in the lines are raw log text: sanitise before display.
    """
    out: list[str] = []
    for shape, keys in _SHAPE_KEYS:
        holder: object = rec
        for k in keys[:-1]:
            holder = holder.get(k) if holder.__class__ is dict else None
        if holder.__class__ is not dict:
            continue
        name, kind = shape.path, shape.kind
        present = keys[-1] in holder
        v = holder.get(keys[-1])
        if kind == "time":
            if check_time and parse_time_ms(v) == NO_TIME:
                if v is None:
                    out.append(f"{name} is null" if present else f"{name} is missing")
                elif v.__class__ is not str:
                    out.append(f"{name} is {json_type(v)}, not a string")
                else:
                    out.append(f"{name} {_quoted(v)} is not a time")
        elif v is None:
            continue
        elif kind == "version":
            if not version_ok(v):
                if v.__class__ is not str:
                    out.append(f"{name} is {json_type(v)}, not a string")
                elif v[:1].isdigit() and "." in v:
                    out.append(f"{name} {_quoted(v)} has an unknown major version (known: 1.x)")
                else:
                    out.append(f"{name} {_quoted(v)} is not a version number")
        elif kind == "string":
            if v.__class__ is not str:
                out.append(f"{name} is {json_type(v)}, not a string")
        elif kind == "boolean":
            if not readonly_ok(v):
                if v.__class__ is str:
                    out.append(f"{name} is the string {_quoted(v)}, not true or false")
                else:
                    out.append(f"{name} is {json_type(v)}, not true or false")
        elif kind == "object" and v.__class__ is not dict:
            out.append(f"{name} is {json_type(v)}, not an object")
    return out
