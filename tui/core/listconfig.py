"""The event list's columns as the user chose them, kept between runs.

The file is `$XDG_CONFIG_HOME/trailscope/columns.json` (by default
`~/.config/trailscope/columns.json`), written by the explorer when the columns change:

    {"columns": [{"name": "time"}, {"name": "event", "width": 30},
                 {"name": "user", "width": 16}]}

`name` is `time`, an indexed field (see `trailscope help query`) or a JSON path as
filters spell it (`requestParameters.bucketName`); `width` (cells) is optional --
without it the column gets its share of the room. It is written atomically (a
temporary file beside it, then a rename), and never into a trail folder. A file that
cannot be read or used is reported and the default columns are shown; it is not
overwritten until the columns are changed.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from .atomic import write_atomic
from .fields import FIELD_INDEX
from .paths import PathError, parse_path

__all__ = [
    "ColumnSpec",
    "ListConfigError",
    "columns_path",
    "load_columns",
    "save_columns",
    "valid_column",
]

MIN_WIDTH = 4
MAX_WIDTH = 200


class ListConfigError(ValueError):
    """The columns file cannot be used; the message names it and says why."""


@dataclass(frozen=True, slots=True)
class ColumnSpec:
    name: str  # "time", a field name, or a JSON path ("$.a.b")
    width: int | None = None  # cells; None: a share of the room


def columns_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "trailscope" / "columns.json"


def valid_column(name: str) -> bool:
    """A column the list can show: the time, an indexed field, or a JSON path as
    filters spell it (`requestParameters.bucketName`)."""
    if name == "time" or name in FIELD_INDEX:
        return True
    try:
        parse_path(name)
    except (PathError, ValueError):
        return False
    return True


def load_columns(path: Path | None = None) -> list[ColumnSpec] | None:
    """The saved columns, or None when there is no file. Raises ListConfigError."""
    path = columns_path() if path is None else path
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise ListConfigError(f"{path}: {e}") from None
    cols = data.get("columns") if isinstance(data, dict) else None
    if not isinstance(cols, list) or not cols:
        raise ListConfigError(f'{path}: expected {{"columns": [{{"name": ...}}, ...]}}')
    out: list[ColumnSpec] = []
    for c in cols:
        name = c.get("name") if isinstance(c, dict) else None
        if not isinstance(name, str) or not valid_column(name):
            raise ListConfigError(
                f"{path}: not a column: {name!r} (time, a field name or a JSON path)"
            )
        width = c.get("width")
        if width is not None and (
            not isinstance(width, int)
            or isinstance(width, bool)
            or not MIN_WIDTH <= width <= MAX_WIDTH
        ):
            raise ListConfigError(f"{path}: width of {name} must be {MIN_WIDTH}..{MAX_WIDTH}")
        if any(o.name == name for o in out):
            raise ListConfigError(f"{path}: {name} is listed twice")
        out.append(ColumnSpec(name, width))
    return out


def save_columns(cols: list[ColumnSpec], path: Path | None = None) -> Path:
    """Write `cols` atomically (temporary file, fsync, rename). Raises OSError."""
    path = columns_path() if path is None else path
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {
        "columns": [
            {"name": c.name} if c.width is None else {"name": c.name, "width": c.width}
            for c in cols
        ]
    }
    write_atomic(path, (json.dumps(data, indent=1) + "\n").encode("utf-8"))
    return path
