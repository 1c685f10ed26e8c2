"""Machine-readable output (JSON Lines, JSON, CSV) that a parser reads exactly and that
stays inert on a terminal and in a spreadsheet.

Log strings are attacker-chosen (see sanitize.py), and an export usually passes through a
terminal or a pager before it reaches a parser, or opens in a spreadsheet. So by default:

- JSON: every character `sanitize.clean` escapes (C0, DEL, C1, bidi and invisible
  characters, line and paragraph separators, surrogates) is written as a JSON ``\\uXXXX``
  escape. A JSON parser reads back the exact value; a terminal sees only ASCII escapes. A
  lone surrogate (a lenient file's ``\\ud800``, or a non-UTF-8 file name, which Python
  decodes with surrogateescape) becomes a ``\\udXXX`` escape: Python's `json` reads it
  back as the same string, and `os.fsencode` then gives back the name's original bytes.
- CSV: each value as the explorer shows it (`sanitize.clean`: ``\\x1b``, ``\\u202e``), and
  a cell a spreadsheet would run as a formula (first character ``=``, ``+``, ``-``, ``@``,
  tab or CR: OWASP's CSV-injection list) starts with an added ``'``.

``raw=True`` gives the exact values instead, for a user who asks (`query --raw`).

Pure module: no textual/rich imports.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Sequence
from typing import BinaryIO, TextIO

import numpy as np
import orjson

from .batch import HOSTILE
from .fields import FIELD_NAMES
from .normalize import format_time
from .sanitize import clean, replace_hostile, replace_hostile_utf8
from .store import OriginalUnavailable, Store

__all__ = [
    "CSV_COLUMNS",
    "FORMULA_LEADS",
    "csv_cell",
    "dumps",
    "event_json",
    "inert_json",
    "write_csv",
    "write_jsonl",
]

CSV_COLUMNS: tuple[str, ...] = ("time", *FIELD_NAMES)
# First characters that make a spreadsheet evaluate a cell (OWASP, CSV injection).
FORMULA_LEADS = frozenset("=+-@\t\r")
_CSV_CHUNK = 1 << 16  # rows per batch of columns: bounded memory on a big export
_JSONL_CHUNK = 1024  # events per write


# --------------------------------------------------------------------------- JSON
def _json_escape(ch: str) -> str:
    if ch in "\t\n\r":
        # Raw, these only ever stand between tokens (a string holds them escaped).
        return " "
    cp = ord(ch)
    if cp > 0xFFFF:  # JSON spells a character beyond the BMP as a surrogate pair
        cp -= 0x10000
        return f"\\u{0xD800 + (cp >> 10):04x}\\u{0xDC00 + (cp & 0x3FF):04x}"
    return f"\\u{cp:04x}"


def inert_json(text: bytes | str) -> bytes:
    """JSON text with every hostile character written as an escape, standing for the
    same value.

    JSON's grammar makes this a plain substitution: outside strings only whitespace may
    occur, so a raw tab, LF or CR is whitespace (it becomes a space), and any other
    hostile character is inside a string, where its ``\\uXXXX`` escape means the same.
    Bytes that are not UTF-8 are read as surrogateescape code points and come out as
    ``\\udc80``-``\\udcff`` escapes, never as an error.
    """
    if isinstance(text, bytes):
        return replace_hostile_utf8(text, _json_escape)
    return replace_hostile(text, _json_escape).encode("utf-8")


def event_json(canon: bytes, hostile: bool) -> bytes:
    """One event's JSON text (`Store.canonical`) made inert, as `write_jsonl` writes it
    (that does the same a chunk of events at a time).

    `hostile` is the event's HOSTILE flag, set at ingest when some string in it holds a
    hostile character, raw or escaped. Without it, the text (valid UTF-8 by then) can
    hold no hostile character but a tab between tokens, which becomes a space.
    """
    if hostile:
        return inert_json(canon)
    if b"\t" in canon:
        return canon.replace(b"\t", b" ")
    return canon


def dumps(obj: object) -> bytes:
    """`obj` as one line of inert JSON (see `inert_json`), without a newline. Its
    strings, keys included, may hold lone surrogates."""
    text: bytes | str
    try:
        text = orjson.dumps(obj)
    except orjson.JSONEncodeError:  # lone surrogates: the stdlib writes them as they are
        text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    return inert_json(text)


def write_jsonl(
    store: Store,
    rows: np.ndarray,
    out: BinaryIO,
    *,
    raw: bool = False,
    on_unavailable: Callable[[int, OriginalUnavailable], None] | None = None,
) -> int:
    """Write the rows' events as JSON Lines (`event_json`, or the exact stored text with
    `raw`). An event whose original can no longer be read is passed to `on_unavailable`
    and skipped. Returns the number of events written."""
    rows = np.asarray(rows)
    hostile = [False] * len(rows) if raw else ((store.flags[rows] & HOSTILE) != 0).tolist()
    canonical = store.canonical
    parts: list[bytes] = []
    written = 0

    def emit() -> None:
        # `event_json` for a chunk of events at once: one join, one memchr for a tab,
        # one write (this loop runs a million times for a big export).
        parts.append(b"")
        data = b"\n".join(parts)
        if not raw and b"\t" in data:
            data = data.replace(b"\t", b" ")
        out.write(data)
        parts.clear()

    for r, h in zip(rows.tolist(), hostile, strict=True):
        try:
            canon = canonical(r)
        except OriginalUnavailable as e:
            if on_unavailable is not None:
                on_unavailable(r, e)
            continue
        parts.append(inert_json(canon) if h else canon)
        written += 1
        if len(parts) >= _JSONL_CHUNK:
            emit()
    if parts:
        emit()
    return written


# --------------------------------------------------------------------------- CSV
def csv_cell(value: str) -> str:
    """A value for a CSV cell: control and invisible characters escaped as `clean`
    shows them, and a leading ``'`` where a spreadsheet would see a formula."""
    cell = clean(value)
    if cell[:1] in FORMULA_LEADS:
        return "'" + cell
    return cell


def _column(values: Sequence[str], codes: np.ndarray, cell: Callable[[str], str]) -> list[str]:
    # Each distinct value is converted once: a column holds thousands of distinct
    # values against a million rows.
    table = np.empty(len(values), dtype=object)
    for c in np.flatnonzero(np.bincount(codes, minlength=len(values))).tolist():
        table[c] = cell(values[c])
    return table[codes].tolist()


def write_csv(
    store: Store,
    rows: np.ndarray,
    out: TextIO,
    *,
    header: bool = True,
    raw: bool = False,
    columns: Sequence[str] | None = None,
) -> None:
    """Write the rows as CSV: `columns` ("time" and indexed field names; default
    CSV_COLUMNS, the event time then every indexed field). Cells are `csv_cell` values,
    or exact with `raw`; lines end with LF."""
    rows = np.asarray(rows)
    columns = CSV_COLUMNS if columns is None else tuple(columns)
    unknown = [c for c in columns if c != "time" and c not in FIELD_NAMES]
    if unknown:
        raise ValueError(f"not CSV columns: {', '.join(unknown)}")
    cell: Callable[[str], str] = str if raw else csv_cell
    wr = csv.writer(out, lineterminator="\n")
    if header:
        wr.writerow(columns)
    times = store.times
    for at in range(0, len(rows), _CSV_CHUNK):
        part = rows[at : at + _CSV_CHUNK]
        cols = [
            [format_time(t) for t in times[part].tolist()]
            if c == "time"
            else _column(store.values(c), store.codes(c)[part], cell)
            for c in columns
        ]
        wr.writerows(zip(*cols, strict=True))
