"""Filter history: the filters a user applied, kept across runs, per user and bounded.

The file (`$XDG_STATE_HOME/trailscope/history`, else `~/.local/state/trailscope/history`)
holds one filter per line, each written as a JSON string: any character round-trips,
and the file itself is plain ASCII, safe to `cat`. Oldest first, at most `limit` lines,
no repeats (using a filter again moves it to the end).

Each addition rewrites the file atomically (a temporary file beside it, fsync, rename),
so a crash leaves the old or the new history, never a torn one. Two explorers adding at
once take turns under an advisory lock and merge: each re-reads the file before writing.
Only the standard library.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from .atomic import write_atomic

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: no lock, still atomic
    fcntl = None  # type: ignore[assignment]

__all__ = ["DEFAULT_LIMIT", "FilterHistory", "default_history_path"]

DEFAULT_LIMIT = 500


def default_history_path() -> Path:
    env = os.environ.get("XDG_STATE_HOME", "")
    base = Path(env) if env and os.path.isabs(env) else Path.home() / ".local" / "state"
    return base / "trailscope" / "history"


def _read(path: Path) -> list[str]:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    out = []
    for line in data.splitlines():
        try:
            v = json.loads(line)
        except ValueError:
            continue  # a hand-edited or foreign line: skipped, the rest stays usable
        if isinstance(v, str) and v.strip():
            out.append(v)
    return out


class FilterHistory:
    """The history file, read at start; `add` records a filter (oldest first)."""

    def __init__(self, path: str | os.PathLike | None = None, limit: int = DEFAULT_LIMIT) -> None:
        self.path = Path(path) if path is not None else default_history_path()
        self.limit = max(1, limit)
        self.error: str | None = None  # why the last read or write failed, for the user
        try:
            self._entries = _read(self.path)[-self.limit :]
        except OSError as e:
            self._entries = []
            self.error = f"cannot read filter history {self.path}: {e.strerror or e}"

    def entries(self) -> list[str]:
        """Oldest first."""
        return list(self._entries)

    def add(self, text: str) -> bool:
        """Record `text` (blank is ignored). Returns False, with `error` set, when the
        file cannot be written; the history in memory is updated either way."""
        text = text.strip()
        if not text:
            return True
        self._entries = self._merged(self._entries, text)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            with _Lock(self.path.with_name(self.path.name + ".lock")):
                entries = self._merged(_read(self.path), text)
                _write_atomic(self.path, entries)
        except OSError as e:
            self.error = f"cannot save filter history {self.path}: {e.strerror or e}"
            return False
        self._entries = entries
        self.error = None
        return True

    def _merged(self, entries: list[str], text: str) -> list[str]:
        out = [e for e in entries if e != text]
        out.append(text)
        return out[-self.limit :]


class _Lock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd = -1

    def __enter__(self) -> _Lock:
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        if fcntl is not None:
            fcntl.flock(self.fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc: object) -> None:
        os.close(self.fd)  # closing releases the lock


def _write_atomic(path: Path, entries: list[str]) -> None:
    data = "".join(json.dumps(e, ensure_ascii=True) + "\n" for e in entries).encode("ascii")
    write_atomic(path, data)
