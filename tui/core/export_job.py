"""Export a set of events to a file, with a manifest beside it (the explorer's `e`).

Three formats, written through the CLI's writers (`export.py`) so the bytes are the same
safe bytes `trailscope query` prints:

* ``jsonl``: one event per line, its JSON as read (values exact; hostile characters as
  ``\\uXXXX`` escapes, which a JSON parser reads back as the same value);
* ``csv``: the given columns as the explorer shows them, formula-injection safe;
* ``json.gz``: a CloudTrail log file, ``{"Records":[...]}`` gzip'd, that trailscope (and
  other CloudTrail tools) read back.

The export is written to a hidden temporary file beside the target and renamed over it
only when complete, so a cancelled or failed export leaves nothing behind (and an existing
file the user agreed to replace stays intact until then). Its SHA-256 is taken as it is
written. The manifest (``<export>.manifest.json``) records what `trailscope query` needs to
reproduce it, and when and from what it was made.

Headless: a progress callback and a cancel flag; the explorer runs it in a worker thread.
No Textual here.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from zlib_ng import zlib_ng

from .case import evidence_root_of, tool_version
from .export import write_csv, write_jsonl
from .normalize import NO_TIME, format_time
from .store import Store

__all__ = [
    "FORMATS",
    "ExportCancelled",
    "ExportError",
    "ExportResult",
    "check_target",
    "manifest_path",
    "run_export",
]

# Format name -> the file name ending it suggests.
FORMATS: dict[str, str] = {"jsonl": ".jsonl", "csv": ".csv", "json.gz": ".json.gz"}
CHUNK = 4096  # rows per step: progress and the cancel flag are checked between steps
# gzip level for json.gz: CloudTrail's own files are level 6-ish; 9 took ~3x as long.
GZIP_LEVEL = 6


class ExportError(Exception):
    """The export cannot be written; the message says why, for the user."""


class ExportCancelled(Exception):
    """The user cancelled: nothing was written."""


@dataclass(slots=True)
class ExportResult:
    path: Path
    manifest: Path
    fmt: str
    events: int  # written
    unavailable: list[str] = field(default_factory=list)  # events whose JSON could not be read
    sha256: str = ""


def manifest_path(path: str | os.PathLike) -> Path:
    p = Path(path)
    return p.with_name(p.name + ".manifest.json")


def check_target(path: str | os.PathLike, trail_paths: Sequence[str]) -> Path:
    """The absolute target path. Raises ExportError when it is inside a loaded trail
    (evidence: nothing is written there), names a folder, or its folder is missing."""
    raw = os.fspath(path).strip()
    if not raw:
        raise ExportError("no file name given")
    target = Path(os.path.abspath(os.path.expanduser(raw)))
    if not target.parent.is_dir():
        raise ExportError(f"{target.parent}: no such folder")
    target = target.parent.resolve() / target.name
    if target.is_dir():
        raise ExportError(f"{target}: is a folder; give a file name")
    for p in (target, manifest_path(target)):
        root = evidence_root_of(p, trail_paths)
        if root is not None:
            raise ExportError(
                f"refusing to write {p}: it is inside the loaded trail {root}, and nothing "
                "is written into a trail (it is evidence); choose a folder outside it"
            )
    return target


class _HashingWriter(io.RawIOBase):
    """A binary file that also hashes what goes through it."""

    def __init__(self, f) -> None:
        self.f = f
        self.sha = hashlib.sha256()

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:
        self.sha.update(b)
        return self.f.write(b)


def run_export(
    store: Store,
    rows: np.ndarray,
    path: str | os.PathLike,
    fmt: str,
    *,
    trail_paths: Sequence[str],
    filter_text: str = "",
    columns: Sequence[str] = (),
    case_path: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
) -> ExportResult:
    """Write `rows` (store rows, in the order given) to `path` in `fmt`, and its manifest.
    Replaces an existing file (the caller asked the user). Raises ExportError,
    ExportCancelled. Reads the store only: run it while the store does not change, or
    from the thread that changes it."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r} (one of {', '.join(FORMATS)})")
    target = check_target(path, trail_paths)
    rows = np.asarray(rows, np.int64)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.partial")
    result = ExportResult(target, manifest_path(target), fmt, 0)

    def unavailable(row: int, e: Exception) -> None:
        result.unavailable.append(f"{store.location(row)}: {e}")

    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as e:
        raise ExportError(f"cannot write {target}: {e.strerror or e}") from e
    try:
        with os.fdopen(fd, "wb") as raw:
            out = _HashingWriter(raw)
            result.events = _write(store, rows, out, fmt, columns, unavailable, progress, cancel)
            raw.flush()
            os.fsync(raw.fileno())
        result.sha256 = out.sha.hexdigest()
        manifest = _manifest(store, rows, result, trail_paths, filter_text, columns, case_path)
        data = (json.dumps(manifest, indent=2, ensure_ascii=True) + "\n").encode("ascii")
        mtmp = tmp.with_name(tmp.name + ".manifest")
        with open(mtmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
        os.replace(mtmp, result.manifest)
    except BaseException as e:
        tmp.unlink(missing_ok=True)
        tmp.with_name(tmp.name + ".manifest").unlink(missing_ok=True)
        if isinstance(e, OSError):
            raise ExportError(f"cannot write {target}: {e.strerror or e}") from e
        raise
    return result


def _write(store, rows, out, fmt, columns, unavailable, progress, cancel) -> int:
    total = len(rows)
    written = 0
    gz = None
    if fmt == "json.gz":
        # A gzip stream (wbits 31) with no time in its header: the same events give the
        # same bytes, and the same SHA-256. zlib-ng: ~3x stdlib zlib at the same level.
        gz = zlib_ng.compressobj(GZIP_LEVEL, zlib_ng.DEFLATED, 31)
        out.write(gz.compress(b'{"Records":['))
    text = io.TextIOWrapper(out, "utf-8", newline="", write_through=True) if fmt == "csv" else None
    for at in range(0, max(total, 1), CHUNK):
        if cancel is not None and cancel.is_set():
            raise ExportCancelled()
        part = rows[at : at + CHUNK]
        if fmt == "jsonl":
            written += write_jsonl(store, part, out, on_unavailable=unavailable)
        elif fmt == "csv":
            assert text is not None
            write_csv(store, part, text, header=at == 0, columns=columns or None)
            written += len(part)
        else:
            assert gz is not None
            buf = io.BytesIO()
            n = write_jsonl(store, part, buf, on_unavailable=unavailable)
            if n:
                lines = buf.getvalue().rstrip(b"\n").split(b"\n")
                out.write(gz.compress((b"," if written else b"") + b",".join(lines)))
            written += n
        if progress is not None:
            progress(min(at + CHUNK, total), total)
    if text is not None:
        text.flush()
        text.detach()
    if gz is not None:
        out.write(gz.compress(b"]}\n") + gz.flush())
    return written


def _manifest(store, rows, result, trail_paths, filter_text, columns, case_path) -> dict:
    times = store.times[rows] if len(rows) else np.empty(0, np.int64)
    times = times[times != NO_TIME]
    query = ["trailscope", "query", *trail_paths]
    if filter_text.strip():
        query += ["-e", filter_text]
    if case_path:
        query += ["--case", case_path]
    if result.fmt in ("jsonl", "csv"):
        query += ["--format", result.fmt]
    else:
        query += ["--format", "jsonl"]
    return {
        "export": result.path.name,
        "format": result.fmt,
        "sha256": result.sha256,
        "events": result.events,
        "events_unavailable": result.unavailable,
        "filter": filter_text,
        "paths": list(trail_paths),
        "case": case_path,
        "columns": list(columns) if result.fmt == "csv" else None,
        "first_event": format_time(int(times.min())) if len(times) else None,
        "last_event": format_time(int(times.max())) if len(times) else None,
        "exported_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "tool": f"trailscope {tool_version()}",
        "order": "time (the explorer's list order)",
        "reproduce": query,
        "reproduce_note": (
            "`trailscope query` prints the same events in the same order; its csv has "
            "every indexed column, its jsonl is the Records of a json.gz export, one per "
            "line. Relative times in the filter (since:-1h) count from the time you run it."
        ),
    }
