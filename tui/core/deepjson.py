"""The stdlib's JSON semantics at any nesting depth the engine accepts.

Values that need the stdlib (NaN, integers beyond 64 bits, lone surrogates: orjson
refuses or changes them) are decoded and encoded with `json`, whose C code recurses once
per level against the interpreter's recursion limit: a record nested ~990 levels deep
raised RecursionError and aborted a whole load. Here the C code is tried first (it is
fast) and an explicit-stack version with the same results takes over when it runs out of
recursion. Nothing here is deeper than MAX_DEPTH (orjson's own limit), so every value the
engine holds can be decoded and encoded (and compared, as sorted-key text).

Pure module: no textual/rich imports.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable

# typeshed's json.decoder omits scanstring (the stdlib decoder's own string reader).
from json.decoder import JSONDecodeError, scanstring  # type: ignore[attr-defined]
from json.encoder import encode_basestring_ascii
from typing import cast

__all__ = ["MAX_DEPTH", "JSONDecodeError", "dumps", "loads", "raw_decode"]

MAX_DEPTH = 1024  # nesting levels; orjson refuses deeper documents too
DEPTH_ERROR = f"nesting too deep (over {MAX_DEPTH:,} levels)"

# JSON whitespace at a position: it matches the empty string, so never returns None.
_ws_at = cast(Callable[[str, int], re.Match[str]], re.compile(r"[ \t\n\r]*").match)
_NUMBER = re.compile(r"(-?(?:0|[1-9]\d*))(\.\d+)?([eE][-+]?\d+)?")
_CONSTANTS = (("NaN", math.nan), ("Infinity", math.inf), ("-Infinity", -math.inf))
_DECODER = json.JSONDecoder()
_END = object()


def loads(text: str | bytes) -> object:
    """`json.loads(text)` (exact integers, NaN/Infinity, lone surrogates), at any depth up
    to MAX_DEPTH; deeper raises JSONDecodeError."""
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("utf-8", "surrogatepass")
    try:
        return json.loads(text)
    except RecursionError:
        pass
    pos = _ws_at(text, 0).end()
    value, end = _decode_iter(text, pos)
    end = _ws_at(text, end).end()
    if end != len(text):
        raise JSONDecodeError("Extra data", text, end)
    return value


def raw_decode(text: str, pos: int = 0) -> tuple[object, int]:
    """One JSON value starting exactly at text[pos] -> (value, end), as
    `json.JSONDecoder().raw_decode`, at any depth up to MAX_DEPTH."""
    try:
        return _DECODER.raw_decode(text, pos)
    except RecursionError:
        return _decode_iter(text, pos)


def dumps(value: object, *, sort_keys: bool = False) -> str:
    """Compact, ASCII-only JSON text of `value` that the stdlib reads back exactly
    (`json.dumps(value, ensure_ascii=True, separators=(",", ":"), allow_nan=True)`)."""
    try:
        return json.dumps(
            value, ensure_ascii=True, separators=(",", ":"), allow_nan=True, sort_keys=sort_keys
        )
    except RecursionError:
        return _encode_iter(value, sort_keys)


# --------------------------------------------------------------------------- decoding


def _decode_iter(s: str, pos: int) -> tuple[object, int]:
    ws = _ws_at
    stack: list[dict | list] = []  # open containers, innermost last
    keys: list[str] = []  # per open container, the key its next value goes to
    while True:
        # A value starts at `pos`.
        ch = s[pos : pos + 1]
        if ch == '"':
            value, pos = scanstring(s, pos + 1, True)
        elif ch == "{" or ch == "[":
            if len(stack) >= MAX_DEPTH:
                raise JSONDecodeError(DEPTH_ERROR, s, pos)
            pos = ws(s, pos + 1).end()
            if s.startswith("}" if ch == "{" else "]", pos):
                value, pos = ({} if ch == "{" else []), pos + 1
            else:
                stack.append({} if ch == "{" else [])
                if ch == "{":
                    key, pos = _key(s, pos)
                else:
                    key = ""
                keys.append(key)
                continue
        elif s.startswith("null", pos):
            value, pos = None, pos + 4
        elif s.startswith("true", pos):
            value, pos = True, pos + 4
        elif s.startswith("false", pos):
            value, pos = False, pos + 5
        else:
            value, pos = _scalar(s, pos)
        # The value is complete: put it in its container; close what it completes.
        while stack:
            top = stack[-1]
            if top.__class__ is dict:
                top[keys[-1]] = value
                close = "}"
            else:
                top.append(value)  # type: ignore[union-attr]
                close = "]"
            pos = ws(s, pos).end()
            ch = s[pos : pos + 1]
            if ch == ",":
                pos = ws(s, pos + 1).end()
                if close == "}":
                    keys[-1], pos = _key(s, pos)
                break  # the next value of the same container
            if ch != close:
                raise JSONDecodeError("Expecting ',' delimiter", s, pos)
            value = stack.pop()
            keys.pop()
            pos += 1
        else:
            return value, pos


def _key(s: str, pos: int) -> tuple[str, int]:
    if not s.startswith('"', pos):
        raise JSONDecodeError("Expecting property name enclosed in double quotes", s, pos)
    key, pos = scanstring(s, pos + 1, True)
    pos = _ws_at(s, pos).end()
    if not s.startswith(":", pos):
        raise JSONDecodeError("Expecting ':' delimiter", s, pos)
    return key, _ws_at(s, pos + 1).end()


def _scalar(s: str, pos: int) -> tuple[object, int]:
    m = _NUMBER.match(s, pos)
    if m is not None:
        whole, frac, exp = m.groups()
        if frac or exp:
            return float(whole + (frac or "") + (exp or "")), m.end()
        return int(whole), m.end()
    for word, value in _CONSTANTS:
        if s.startswith(word, pos):
            return value, pos + len(word)
    raise JSONDecodeError("Expecting value", s, pos)


# --------------------------------------------------------------------------- encoding


def _encode_iter(value: object, sort_keys: bool) -> str:
    out: list[str] = []
    stack: list[tuple[object, bool]] = []  # (iterator over a container, is it an object)
    first = True  # the next item is the first of its container
    while True:
        if isinstance(value, dict):
            out.append("{")
            items = sorted(value.items()) if sort_keys else value.items()
            stack.append((iter(items), True))
            first = True
        elif isinstance(value, (list, tuple)):
            out.append("[")
            stack.append((iter(value), False))
            first = True
        else:
            out.append(_encode_scalar(value))
            first = False
        # Find the next value to write, closing the containers that are done.
        while stack:
            it, is_obj = stack[-1]
            item = next(it, _END)  # type: ignore[call-overload]
            if item is _END:
                stack.pop()
                out.append("}" if is_obj else "]")
                first = False
                continue
            if not first:
                out.append(",")
            if is_obj:
                key, value = item
                out.append(_encode_key(key))
                out.append(":")
            else:
                value = item
            break
        else:
            return "".join(out)


def _encode_key(key: object) -> str:
    if isinstance(key, str):
        return encode_basestring_ascii(key)
    return encode_basestring_ascii(json.dumps(key))  # as json.dumps writes other keys


def _encode_scalar(v: object) -> str:
    if isinstance(v, str):
        return encode_basestring_ascii(v)
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, int):
        return int.__repr__(v)
    if isinstance(v, float):
        if v != v:
            return "NaN"
        if v in (math.inf, -math.inf):
            return "Infinity" if v > 0 else "-Infinity"
        return float.__repr__(v)
    raise TypeError(f"Object of type {type(v).__name__} is not JSON serializable")
