"""A case file: the marks, notes and saved filters of an investigation, in one SQLite file.

Events are keyed by (eventID, eventTime, eventName), so an annotation survives reloads,
re-downloads and tailing; each annotated event also keeps a snapshot (its indexed values,
where it was read from, and its JSON), so a report needs no trail. docs/case.md documents
the schema for users; keep the two in step.

Every user action is one transaction. The file uses SQLite's rollback journal with
synchronous=FULL: a process killed at any moment leaves the file intact, holding every
action that returned (an interrupted one is rolled back from the `-journal` file on the
next open), and a completed action also survives a power cut. At rest the case is this
one file (a WAL would keep recent actions in a separate `-wal` file until checkpointed).
Measured with benchmarks/bench_case.py: ~0.6 ms per action here, against ~0.15 ms in WAL
mode -- nothing next to a keypress.

Only the standard library: a process that just writes a case (the crash test's child,
a script) does not pay for numpy.
"""

from __future__ import annotations

import hashlib
import os
import re
import sqlite3
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from .s3layout import BadURL, is_s3_url, parse_url
from .sanitize import is_clean

__all__ = [
    "DEFAULT_LABELS",
    "SCHEMA_VERSION",
    "Case",
    "CaseError",
    "CaseEvent",
    "CaseUnreadable",
    "EventKey",
    "EventRecord",
    "Mark",
    "Note",
    "SavedFilter",
    "check_case_location",
    "default_case_path",
    "evidence_root_of",
    "normalize_label",
    "open_case_for",
    "tool_version",
]

SCHEMA_VERSION = 1
# `PRAGMA application_id`: marks the file as a trailscope case ("tsca").
APPLICATION_ID = int.from_bytes(b"tsca", "big")
DEFAULT_LABELS: tuple[str, ...] = ("suspicious", "benign", "ioc")
NO_TIME = -(2**62)  # as tui.core.normalize.NO_TIME (not imported: it pulls in orjson)

_SCHEMA = """
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE trails (
    path       TEXT PRIMARY KEY,
    first_used TEXT NOT NULL,
    last_used  TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE events (
    id           INTEGER PRIMARY KEY,
    event_id     TEXT NOT NULL,
    time_ms      INTEGER NOT NULL,
    event_name   TEXT NOT NULL,
    no_id_sha256 TEXT NOT NULL DEFAULT '',
    event_time   TEXT NOT NULL,
    event_source TEXT NOT NULL,
    principal    TEXT NOT NULL,
    source_ip    TEXT NOT NULL,
    account      TEXT NOT NULL,
    region       TEXT NOT NULL,
    error_code   TEXT NOT NULL,
    cred         TEXT NOT NULL,
    access_key   TEXT NOT NULL,
    location     TEXT NOT NULL,
    original     BLOB,
    sha256       TEXT,
    found_with   TEXT NOT NULL,
    added_at     TEXT NOT NULL,
    UNIQUE (event_id, time_ms, event_name, no_id_sha256)
);
CREATE TABLE marks (
    event      INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    label      TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (event, label)
) WITHOUT ROWID;
CREATE TABLE notes (
    event      INTEGER PRIMARY KEY REFERENCES events(id) ON DELETE CASCADE,
    text       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE saved_filters (
    name       TEXT PRIMARY KEY,
    filter     TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
) WITHOUT ROWID;
"""

_EVENT_COLUMNS = (
    "event_id", "time_ms", "event_name", "no_id_sha256", "event_time", "event_source",
    "principal", "source_ip", "account", "region", "error_code", "cred", "access_key",
    "location", "original", "sha256",
)  # fmt: skip

_LABEL_RE = re.compile(r"\w[\w.-]{0,39}")
MAX_FILTER_NAME = 64


class CaseError(Exception):
    """A case file that cannot be used, or an annotation that cannot be written; the
    message says why, for the user."""


class CaseUnreadable(CaseError):
    """The file is there but is not a case this trailscope can read."""


@dataclass(frozen=True, slots=True)
class EventKey:
    """What identifies an event across loads. `no_id_sha256` is '' for events with an
    eventID; for the rare records without one it is the SHA-256 of the event's JSON,
    so two such records at the same time and name stay apart."""

    event_id: str
    time_ms: int
    event_name: str
    no_id_sha256: str = ""


@dataclass(frozen=True, slots=True)
class EventRecord:
    """An event as the case keeps it: its key and a snapshot for reports."""

    key: EventKey
    event_time: str = ""  # eventTime as recorded
    event_source: str = ""
    principal: str = ""
    source_ip: str = ""
    account: str = ""
    region: str = ""
    error_code: str = ""
    cred: str = ""
    access_key: str = ""
    location: str = ""  # the file and record it was read from
    original: bytes | None = None  # its JSON (None: could not be read)
    sha256: str | None = None  # of `original`


@dataclass(frozen=True, slots=True)
class Mark:
    label: str
    created_at: str


@dataclass(frozen=True, slots=True)
class Note:
    text: str
    created_at: str
    updated_at: str


@dataclass(frozen=True, slots=True)
class CaseEvent:
    pk: int
    record: EventRecord
    found_with: str
    added_at: str
    marks: tuple[Mark, ...]
    note: Note | None

    @property
    def key(self) -> EventKey:
        return self.record.key

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(m.label for m in self.marks)


@dataclass(frozen=True, slots=True)
class SavedFilter:
    name: str
    filter: str
    created_at: str
    updated_at: str


def now_iso() -> str:
    d = datetime.now(UTC)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond // 1000:03d}Z"


def normalize_label(label: str) -> str:
    """A label as stored: lower case, 1-40 letters, digits, '_', '-' or '.' (so it can be
    written in `mark:LABEL` without quotes). Raises CaseError."""
    low = label.strip().casefold()
    if not _LABEL_RE.fullmatch(low) or not is_clean(low):
        raise CaseError(
            "a label is 1-40 letters, digits, '_', '-' or '.', starting with a letter or "
            f"digit (got {label!r})"
        )
    return low


def _filter_name(name: str) -> str:
    n = name.strip()
    if not n or len(n) > MAX_FILTER_NAME or not is_clean(n):
        raise CaseError(
            f"a filter name is 1-{MAX_FILTER_NAME} characters without control or "
            f"invisible characters (got {name!r})"
        )
    return n


# ------------------------------------------------------------------ where cases live


def _data_home() -> Path:
    env = os.environ.get("XDG_DATA_HOME", "")
    # The XDG spec: a relative path is invalid and must be ignored.
    return Path(env) if env and os.path.isabs(env) else Path.home() / ".local" / "share"


def _resolved(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """The local trail paths, resolved (s3:// URLs are not local: left out)."""
    return sorted(
        {Path(os.path.abspath(p)).resolve() for p in paths if not is_s3_url(os.fsdecode(p))}
    )


def _trail_names(paths: Iterable[str | os.PathLike]) -> list[str]:
    """Each trail path resolved, each s3:// URL as its canonical form: what names a case."""
    paths = list(paths)
    urls = set()
    for u in map(os.fsdecode, paths):
        if is_s3_url(u):
            try:
                urls.add(str(parse_url(u)))
            except BadURL:
                urls.add(u)  # reported when the trail is read
    return sorted({*map(str, _resolved(paths)), *urls})


def default_case_path(trail_paths: Iterable[str | os.PathLike]) -> Path:
    """`$XDG_DATA_HOME/trailscope/cases/<name>-<hash>.sqlite` for this set of trail
    paths (resolved, order ignored); `~/.local/share` when XDG_DATA_HOME is unset."""
    paths = _trail_names(trail_paths)
    if not paths:
        raise CaseError("no trail paths to name a default case after: give --case PATH")
    digest = hashlib.sha256("\n".join(paths).encode("utf-8", "surrogateescape"))
    last = paths[0].rstrip("/").rsplit("/", 1)[-1]
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", last)[:40].strip("._") or "trail"
    return _data_home() / "trailscope" / "cases" / f"{slug}-{digest.hexdigest()[:16]}.sqlite"


def _evidence_roots(trail_paths: Iterable[str | os.PathLike]) -> list[tuple[Path, bool]]:
    """(path, is_dir) that a case must stay out of: each given path, and the folder
    holding an `AWSLogs` folder above it (the bucket copy it belongs to)."""
    out: list[tuple[Path, bool]] = []
    for p in _resolved(trail_paths):
        out.append((p, p.is_dir()))
        for parent in (p, *p.parents):
            if parent.name == "AWSLogs":
                out.append((parent.parent, True))
                break
    return out


def check_case_location(
    case_path: str | os.PathLike, trail_paths: Iterable[str | os.PathLike]
) -> None:
    """Raise CaseError when the case file would sit inside a trail (trails are
    evidence: nothing is written there)."""
    target = Path(os.path.abspath(case_path))
    target = target.parent.resolve() / target.name
    root = evidence_root_of(target, trail_paths)
    if root is not None:
        raise CaseError(
            f"refusing case file {target}: it is inside the trail {root}, and nothing "
            "is written into a trail (it is evidence); choose a path outside it"
        )


def evidence_root_of(
    path: str | os.PathLike, trail_paths: Iterable[str | os.PathLike]
) -> Path | None:
    """The trail (or the bucket copy around it) that `path` would be written into, or
    None when it is outside every one. Case files and exports use it."""
    target = Path(os.path.abspath(path))
    target = target.parent.resolve() / target.name
    for root, is_dir in _evidence_roots(trail_paths):
        if target == root or (is_dir and target.is_relative_to(root)):
            return root
    return None


def open_case_for(
    trail_paths: Iterable[str | os.PathLike],
    case_path: str | os.PathLike | None = None,
    *,
    create: bool = True,
) -> Case:
    """The case for these trail paths: `case_path`, or the default one. Raises CaseError
    (inside a trail, not a case file, missing when `create` is False...)."""
    paths = list(trail_paths)
    path = Path(case_path) if case_path is not None else default_case_path(paths)
    check_case_location(path, paths)
    case = Case.open(path, create=create)
    if create and paths:
        case.record_trails(_trail_names(paths))
    return case


# ------------------------------------------------------------------ the file


class Case:
    """One case file. Not thread-safe: use it from one thread (the explorer's UI thread)."""

    # How long a write waits for another process writing the same case.
    BUSY_TIMEOUT_MS = 5000

    def __init__(self, path: Path, conn: sqlite3.Connection) -> None:
        self.path = path
        self._db = conn

    # -------------------------------------------------------------- opening
    @classmethod
    def open(cls, path: str | os.PathLike, *, create: bool = True) -> Case:
        """Open (or with `create`, create) a case file. Raises CaseError with the reason."""
        p = Path(path)
        try:
            st = p.stat()
        except FileNotFoundError:
            st = None
        except OSError as e:  # e.g. another user's data folder: say so, never crash
            raise CaseError(f"{p}: cannot reach the case file: {e.strerror or e}") from e
        if st is not None and stat.S_ISDIR(st.st_mode):
            raise CaseError(f"{p}: is a folder, not a case file")
        if st is None:
            if not create:
                raise CaseError(f"{p}: no such case file")
            try:
                p.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                # Created private before SQLite opens it: notes may be sensitive (SQLite
                # gives its journal the same permissions).
                os.close(os.open(p, os.O_WRONLY | os.O_CREAT, 0o600))
            except OSError as e:
                raise CaseError(f"{p}: cannot create the case file: {e.strerror or e}") from e
        try:
            conn = sqlite3.connect(
                f"file:{_uri_path(p)}?mode=rw",
                uri=True,
                isolation_level=None,
                check_same_thread=False,
            )
        except sqlite3.Error as e:
            raise CaseError(f"{p}: cannot open the case file: {e}") from e
        case = cls(p, conn)
        try:
            case._prepare()
        except sqlite3.OperationalError as e:  # locked, read-only, I/O: not the content
            conn.close()
            raise CaseError(f"{p}: cannot open the case file: {e}") from e
        except sqlite3.DatabaseError as e:
            conn.close()
            raise CaseUnreadable(f"{p}: not a usable case file: {e}") from e
        except CaseError:
            conn.close()
            raise
        return case

    def _prepare(self) -> None:
        db = self._db
        db.execute(f"PRAGMA busy_timeout = {int(self.BUSY_TIMEOUT_MS)}")
        db.execute("PRAGMA journal_mode = DELETE")
        db.execute("PRAGMA synchronous = FULL")
        db.execute("PRAGMA foreign_keys = ON")
        with self._tx():
            app_id = db.execute("PRAGMA application_id").fetchone()[0]
            version = db.execute("PRAGMA user_version").fetchone()[0]
            tables = db.execute("SELECT count(*) FROM sqlite_schema").fetchone()[0]
            if app_id == 0 and version == 0 and tables == 0:
                # A new (or never initialised) file: the schema in the same transaction,
                # so a kill here leaves an empty file that the next open initialises.
                # (executescript would commit first: the statements run one by one)
                for stmt in _SCHEMA.split(";"):
                    if stmt.strip():
                        db.execute(stmt)
                db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                db.execute(
                    "INSERT INTO meta VALUES ('created_at', ?), ('created_by', ?)",
                    (now_iso(), f"trailscope {tool_version()}"),
                )
                return
            if app_id != APPLICATION_ID:
                raise CaseUnreadable(f"{self.path}: an SQLite file, but not a trailscope case")
            if version > SCHEMA_VERSION:
                raise CaseUnreadable(
                    f"{self.path}: written by a newer trailscope (case schema {version}, "
                    f"this one reads up to {SCHEMA_VERSION}); upgrade trailscope"
                )
            if version < 1:
                raise CaseUnreadable(f"{self.path}: case schema {version} is not supported")

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Case:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _tx(self) -> _Transaction:
        """One transaction: all of it reaches the file, or none of it."""
        return _Transaction(self._db)

    def _write(self) -> _Transaction:
        """A transaction for a user action; SQLite errors (disk full, a read-only file,
        locked by another process for too long) become CaseError."""
        return _Transaction(self._db, self.path)

    # -------------------------------------------------------------- reads
    def meta(self) -> dict[str, str]:
        return dict(self._db.execute("SELECT key, value FROM meta"))

    def trails(self) -> list[str]:
        return [r[0] for r in self._db.execute("SELECT path FROM trails ORDER BY first_used, path")]

    def events(self) -> list[CaseEvent]:
        """Every annotated event, in time order (then eventID)."""
        db = self._db
        marks: dict[int, list[Mark]] = {}
        for pk, label, at in db.execute(
            "SELECT event, label, created_at FROM marks ORDER BY created_at, label"
        ):
            marks.setdefault(pk, []).append(Mark(label, at))
        notes = {
            pk: Note(text, c, u)
            for pk, text, c, u in db.execute(
                "SELECT event, text, created_at, updated_at FROM notes"
            )
        }
        cols = ", ".join(_EVENT_COLUMNS)
        out = []
        for row in db.execute(
            f"SELECT id, found_with, added_at, {cols} FROM events "
            "ORDER BY time_ms, event_id, event_name, id"
        ):
            pk, found_with, added_at, *vals = row
            out.append(
                CaseEvent(
                    pk, _record(vals), found_with, added_at, tuple(marks.get(pk, ())), notes.get(pk)
                )
            )
        return out

    def event(self, key: EventKey) -> CaseEvent | None:
        pk = self._pk(key)
        if pk is None:
            return None
        return next(e for e in self.events() if e.pk == pk)

    def labels(self) -> list[str]:
        """The labels at hand: the defaults, then any others in use."""
        used = [r[0] for r in self._db.execute("SELECT DISTINCT label FROM marks ORDER BY label")]
        return list(DEFAULT_LABELS) + [x for x in used if x not in DEFAULT_LABELS]

    def saved_filters(self) -> list[SavedFilter]:
        return [
            SavedFilter(*r)
            for r in self._db.execute(
                "SELECT name, filter, created_at, updated_at FROM saved_filters ORDER BY name"
            )
        ]

    def saved_filter(self, name: str) -> SavedFilter | None:
        """By name; a case-insensitive match when the exact one is not there and only one
        name matches."""
        all_ = self.saved_filters()
        for f in all_:
            if f.name == name:
                return f
        folded = [f for f in all_ if f.name.casefold() == name.strip().casefold()]
        return folded[0] if len(folded) == 1 else None

    def _pk(self, key: EventKey) -> int | None:
        row = self._db.execute(
            "SELECT id FROM events WHERE event_id = ? AND time_ms = ? AND event_name = ? "
            "AND no_id_sha256 = ?",
            (key.event_id, key.time_ms, key.event_name, key.no_id_sha256),
        ).fetchone()
        return None if row is None else row[0]

    # -------------------------------------------------------------- writes
    def _ensure_event(
        self, db: sqlite3.Connection, rec: EventRecord, found_with: str, at: str
    ) -> int:
        pk = self._pk(rec.key)
        if pk is not None:
            return pk  # the first snapshot, and the filter it was first found with, stay
        k = rec.key
        vals = (
            k.event_id, k.time_ms, k.event_name, k.no_id_sha256, rec.event_time,
            rec.event_source, rec.principal, rec.source_ip, rec.account, rec.region,
            rec.error_code, rec.cred, rec.access_key, rec.location, rec.original, rec.sha256,
        )  # fmt: skip
        cur = db.execute(
            f"INSERT INTO events ({', '.join(_EVENT_COLUMNS)}, found_with, added_at) "
            f"VALUES ({', '.join('?' * len(_EVENT_COLUMNS))}, ?, ?)",
            (*vals, found_with, at),
        )
        return int(cur.lastrowid)  # type: ignore[arg-type]

    @staticmethod
    def _drop_if_bare(db: sqlite3.Connection, pk: int) -> None:
        """An event with no mark and no note leaves the case."""
        db.execute(
            "DELETE FROM events WHERE id = ? AND NOT EXISTS (SELECT 1 FROM marks WHERE event = ?) "
            "AND NOT EXISTS (SELECT 1 FROM notes WHERE event = ?)",
            (pk, pk, pk),
        )

    def mark(self, rec: EventRecord, label: str, found_with: str = "") -> bool:
        """Mark the event with `label`; False when it already was."""
        label = normalize_label(label)
        at = now_iso()
        with self._write() as db:
            pk = self._ensure_event(db, rec, found_with, at)
            cur = db.execute(
                "INSERT OR IGNORE INTO marks (event, label, created_at) VALUES (?, ?, ?)",
                (pk, label, at),
            )
            return cur.rowcount > 0

    def unmark(self, key: EventKey, label: str) -> bool:
        """Remove one label; False when the event did not carry it."""
        label = normalize_label(label)
        with self._write() as db:
            pk = self._pk(key)
            if pk is None:
                return False
            cur = db.execute("DELETE FROM marks WHERE event = ? AND label = ?", (pk, label))
            self._drop_if_bare(db, pk)
            return cur.rowcount > 0

    def set_note(self, rec: EventRecord, text: str, found_with: str = "") -> Note | None:
        """Attach (or replace) the event's note; blank text removes it. Returns the note
        as stored (None when removed)."""
        at = now_iso()
        with self._write() as db:
            if not text.strip():
                pk = self._pk(rec.key)
                if pk is not None:
                    db.execute("DELETE FROM notes WHERE event = ?", (pk,))
                    self._drop_if_bare(db, pk)
                return None
            pk = self._ensure_event(db, rec, found_with, at)
            db.execute(
                "INSERT INTO notes (event, text, created_at, updated_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (event) DO UPDATE SET text = excluded.text, "
                "updated_at = excluded.updated_at",
                (pk, text, at, at),
            )
            got = db.execute(
                "SELECT text, created_at, updated_at FROM notes WHERE event = ?", (pk,)
            ).fetchone()
            return Note(*got)

    def save_filter(self, name: str, text: str) -> None:
        """Save `text` under `name` (replacing a filter of that name). Raises CaseError
        when the filter does not parse."""
        name = _filter_name(name)
        from .query import QueryError, parse  # here, not at the top: it imports numpy

        try:
            parse(text)
        except QueryError as e:
            raise CaseError(f"not saved: bad filter: {e}") from e
        at = now_iso()
        with self._write() as db:
            db.execute(
                "INSERT INTO saved_filters (name, filter, created_at, updated_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET "
                "filter = excluded.filter, updated_at = excluded.updated_at",
                (name, text, at, at),
            )

    def delete_filter(self, name: str) -> bool:
        with self._write() as db:
            return db.execute("DELETE FROM saved_filters WHERE name = ?", (name,)).rowcount > 0

    def record_trails(self, paths: Iterable[str]) -> None:
        """Note which trail paths the case was used with (the report lists them)."""
        at = now_iso()
        with self._write() as db:
            db.executemany(
                "INSERT INTO trails (path, first_used, last_used) VALUES (?, ?, ?) "
                "ON CONFLICT (path) DO UPDATE SET last_used = excluded.last_used",
                [(p, at, at) for p in paths],
            )

    def integrity_check(self) -> str:
        """SQLite's own check of the file: 'ok', or what is wrong."""
        return "; ".join(r[0] for r in self._db.execute("PRAGMA integrity_check"))


class _Transaction:
    """`with ...:` around BEGIN IMMEDIATE ... COMMIT, rolled back on any exception. With
    `path`, SQLite errors are raised as CaseError naming the file."""

    def __init__(self, db: sqlite3.Connection, path: Path | None = None) -> None:
        self.db = db
        self.path = path

    def _fail(self, e: sqlite3.Error) -> None:
        if self.path is not None:
            raise CaseError(f"{self.path}: cannot write: {e}") from e
        raise e

    def _rollback(self) -> None:
        if self.db.in_transaction:
            try:
                self.db.execute("ROLLBACK")
            except sqlite3.Error:
                pass  # the connection rolls back on its own when it cannot

    def __enter__(self) -> sqlite3.Connection:
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as e:
            self._fail(e)
        return self.db

    def __exit__(self, et, ev, tb) -> Literal[False]:
        if et is None:
            try:
                self.db.execute("COMMIT")
            except sqlite3.Error as e:
                self._rollback()
                self._fail(e)
            return False
        self._rollback()
        if isinstance(ev, sqlite3.Error):
            self._fail(ev)
        return False


def _record(vals: list) -> EventRecord:
    (eid, t, name, nosha, etime, src, principal, ip, acct, region, err, cred, akid, loc,
     original, sha) = vals  # fmt: skip
    return EventRecord(
        EventKey(eid, t, name, nosha),
        etime,
        src,
        principal,
        ip,
        acct,
        region,
        err,
        cred,
        akid,
        loc,
        None if original is None else bytes(original),
        sha,
    )


def _uri_path(p: Path) -> str:
    from urllib.parse import quote

    return quote(str(p.absolute()), safe="/")


def tool_version() -> str:
    try:
        from importlib.metadata import version

        return version("trailscope")
    except Exception:  # noqa: BLE001 - a source checkout without metadata
        return "unknown"
