"""Follow a trail directory: notice new, completed, rewritten and deleted files.

Two layers, both headless:
- `TailTracker` is pure bookkeeping over `discover()` and stat: given "these paths
  changed" (from watchfiles) or "rescan everything", it says which files to read, which
  are gone, which were rewritten in place. It never re-reads a file whose size and
  mtime are unchanged, holds back files that look incomplete (empty, truncated gzip)
  until they settle, so each event is loaded exactly once, and reports a file it cannot
  load (or a walk error) once, until the file changes.
- `follow()` drives it with `watchfiles.awatch` plus a periodic rescan, because
  watchfiles silently drops inotify overflow, may miss new folders, stops on
  undecodable names, and sees nothing on network filesystems. It watches only the
  folders that can still receive files (see `TailTracker.watch_folders`). Watcher errors
  restart it with a backoff; where watching keeps failing it falls back to polling, and
  when the OS runs out of watches, to the periodic rescan alone.
"""

from __future__ import annotations

import asyncio
import os
import stat
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import BrokenExecutor, Executor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from .batch import FileBatch, parse_file
from .discovery import TrailFile, classify_name, discover, layout_of, symlink_refusal
from .loader import COMMIT_EVERY, PARALLEL_MIN_BYTES, iter_batches
from .reader import DEFAULT_MAX_BYTES

# A file still empty or truncated after this long is taken as it is (and reported).
SETTLE_GIVE_UP_S = 30.0
INCOMPLETE_STATES = frozenset({"empty", "truncated"})
# Day folders of the S3 layout older than this many days (UTC) get no OS watch: CloudTrail
# delivers into today's folder (yesterday's around midnight). Files landing in an older
# one are found by the periodic rescan, or watched if the folder is new.
RECENT_DAYS = 2
# A round with this many bytes to parse goes to the bulk loader's parser processes, and
# reaches the caller in chunks of about COMMIT_EVERY events, as a load does.
BULK_MIN_BYTES = PARALLEL_MIN_BYTES
BULK_CHUNK_S = 1.0  # ...or whatever is parsed after this long, so arrivals show early

MODES = ("watch", "poll", "rescan")  # OS events / watchfiles polling / full rescans only


@dataclass(slots=True)
class Mark:
    size: int
    mtime_ns: int
    kind: str
    # "loaded": its events are stored (a change means it was rewritten in place);
    # "skipped": stored with a reason and no events (re-read only when it changes);
    # "waiting": incomplete, read again until it settles or SETTLE_GIVE_UP_S passes.
    state: str
    first_seen: float
    verdict: tuple[str, str] = ("", "")  # (state, reason) last delivered


@dataclass(slots=True)
class Changes:
    to_read: list[TrailFile] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)
    rewritten: list[str] = field(default_factory=list)
    missing_roots: list[str] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)  # each reported once
    _queued: set[str] = field(default_factory=set, repr=False)

    def add(self, f: TrailFile) -> None:
        if f.path not in self._queued:
            self._queued.add(f.path)
            self.to_read.append(f)

    def merge(self, other: Changes) -> None:
        for f in other.to_read:
            self.add(f)
        self.gone = list(dict.fromkeys(self.gone + other.gone))
        self.rewritten = list(dict.fromkeys(self.rewritten + other.rewritten))
        self.missing_roots = other.missing_roots or self.missing_roots
        self.errors += other.errors

    def __bool__(self) -> bool:
        return bool(self.to_read or self.gone or self.missing_roots or self.errors)


def _loaded(state: str, records: int) -> bool:
    return state == "loaded" or records > 0


class TailTracker:
    def __init__(
        self,
        paths: Iterable[str | os.PathLike],
        give_up_s: float = SETTLE_GIVE_UP_S,
        recent_days: int = RECENT_DAYS,
        follow_symlinks: bool = False,
    ):
        self.paths = [os.fsdecode(os.fspath(p)) for p in paths]
        self.follow_symlinks = follow_symlinks
        # A watcher names what it sees by the absolute path (a relative root joined to
        # the current folder). Its paths are mapped back to the form discovery gives
        # under that root, so one file never shows up under two names (entry points
        # pass absolute paths anyway: discovery.absolute_paths).
        try:
            cwd = os.getcwd()
        except OSError:
            cwd = os.sep
        self._anchors = [(os.path.normpath(os.path.join(cwd, p)), p) for p in self.paths]
        self.marks: dict[str, Mark] = {}
        self.give_up_s = give_up_s
        self.recent_days = recent_days
        self.gone: set[str] = set()
        self.folders: set[str] = set()  # every folder under the roots, as last seen
        self._new_folders: set[str] = set()  # appeared after the first scan: watched
        self._scanned = False
        self._waiting: set[str] = set()
        self._errors: dict[str, str] = {}  # path -> reason already reported
        self.folders_changed = False  # set when the folder set changes (watch set)

    def prime(self, files: Iterable) -> None:
        """Mark already-loaded files so they are not re-read: a store's FileInfo
        objects, or (path, kind, size, mtime_ns) tuples (taken as loaded)."""
        now = time.monotonic()
        for f in files:
            if isinstance(f, tuple):
                path, kind, size, mtime = f
                state, reason, records = "loaded", "", 1
            else:
                path, kind, size, mtime = f.path, f.kind, f.size, f.mtime_ns
                state, reason, records = f.state, f.reason, f.records
            verdict = (state, reason)
            self.marks[path] = Mark(
                size,
                mtime,
                kind,
                "loaded" if _loaded(state, records) else "skipped",
                now,
                verdict=verdict,
            )

    def local(self, path: str) -> str:
        """A path as a watcher reports it, in the form discovery gives for its root."""
        p = os.path.normpath(path)
        for anchor, given in self._anchors:
            if p == anchor:
                return given
            if p.startswith(anchor) and p[len(anchor) : len(anchor) + 1] == os.sep:
                return os.path.join(given, p[len(anchor) + 1 :])
            if anchor == os.sep and p.startswith(os.sep):
                return os.path.join(given, p[1:])
        return path

    # ----------------------------------------------------------- decisions
    def rescan(self) -> Changes:
        """Compare the whole tree with what is known."""
        disc = discover(self.paths, follow_symlinks=self.follow_symlinks)
        ch = Changes()
        missing = {p for p, reason in disc.errors if p in self.paths}
        ch.missing_roots = sorted(missing)
        errors = [(p, r) for p, r in disc.errors if p not in missing]
        self._report_errors(errors, ch)
        # A walk error that is gone (fixed, or the path went away) is reported again
        # should it come back.
        now_failing = {p for p, _ in errors}
        for p in [p for p in self._errors if p not in now_failing]:
            if not any(_under(p, root) for root in missing):
                del self._errors[p]
        folders = set(disc.folders)
        if not missing:
            self._set_folders(folders)
        seen = set()
        for f in disc.files:
            seen.add(f.path)
            self._consider(f, ch)
        for path, mark in self.marks.items():
            if path in seen or path in self.gone or mark.state == "waiting":
                continue
            if any(_under(path, root) for root in missing):
                continue  # the root is away (unmounted?), not every file deleted
            self.gone.add(path)
            if mark.state == "loaded":
                ch.gone.append(path)
        return ch

    def _set_folders(self, folders: set[str]) -> None:
        if folders == self.folders:
            return
        if self._scanned:
            self._new_folders |= folders - self.folders
        self.folders = folders
        self.folders_changed = True

    def _report_errors(self, errors: Iterable[tuple[str, str]], ch: Changes) -> None:
        for p, r in errors:
            if self._errors.get(p) != r:
                self._errors[p] = r
                ch.errors.append((p, r))

    def changes_for(self, paths: Iterable[str], *, walk_known: bool = False) -> Changes:
        """Look only at the paths a watcher reported (files or new folders). A folder
        already known is walked only with `walk_known` (its files have events of
        their own once it is watched)."""
        ch = Changes()
        for p in sorted({self.local(p) for p in paths}):
            try:
                st = os.stat(p)
            except FileNotFoundError:
                m = self.marks.get(p)
                if m is not None and m.state == "waiting":
                    self.forget(p)  # an in-flight file taken away before it settled
                elif m is not None and p not in self.gone:
                    self.gone.add(p)
                    if m.state == "loaded":
                        ch.gone.append(p)
                if p in self.folders:
                    self._set_folders({d for d in self.folders if not _under(d, p)})
                continue
            except OSError as e:
                self._report_errors([(p, (e.strerror or str(e)).lower())], ch)
                continue
            if os.path.islink(p):  # met inside the trees: followed as a walk would
                why = symlink_refusal(p, self.paths, self.follow_symlinks)
                if why:
                    self._report_errors([(p, why)], ch)
                    continue
            if stat.S_ISDIR(st.st_mode):
                if p in self.folders and not walk_known:
                    continue  # known: its files come with their own events (or a rescan)
                sub = discover([p], follow_symlinks=self.follow_symlinks, within=self.paths)
                for f in sub.files:
                    self._consider(f, ch)
                self._report_errors(sub.errors, ch)
                if not set(sub.folders) <= self.folders:
                    self._set_folders(self.folders | set(sub.folders))
                continue
            if not stat.S_ISREG(st.st_mode):
                continue  # FIFOs, sockets: discovery leaves them out too
            kind, _why = classify_name(p)
            if kind is None or kind == "digest":
                continue  # in-flight temp names, dot-files, digests
            self._consider(TrailFile(p, kind, st.st_size, st.st_mtime_ns), ch)
        return ch

    def _consider(self, f: TrailFile, ch: Changes) -> None:
        m = self.marks.get(f.path)
        self.gone.discard(f.path)  # if it was gone, it came back
        if m is None:
            ch.add(f)
            return
        if (m.size, m.mtime_ns) == (f.size, f.mtime_ns) and m.state != "waiting":
            return
        if m.state == "loaded" and f.path not in ch.rewritten:
            ch.rewritten.append(f.path)
        ch.add(f)

    def accept(self, b: FileBatch, seen: TrailFile | None = None, now: float | None = None) -> bool:
        """After reading: True to put the batch in the store, False to hold it back
        (incomplete: read again later; or a verdict already delivered for this file).
        `seen`: the file as listed, whose size and mtime stand in when it could not
        even be opened (then the batch has none)."""
        now = time.monotonic() if now is None else now
        m = self.marks.get(b.path)
        if m is None:
            m = self.marks[b.path] = Mark(b.size, b.mtime_ns, b.kind, "waiting", now)
        if b.mtime_ns or seen is None:
            m.size, m.mtime_ns = b.size, b.mtime_ns
        else:  # never opened (e.g. permission denied): remember it as listed
            m.size, m.mtime_ns = seen.size, seen.mtime_ns
        if b.state == "vanished":
            self.forget(b.path)
            return False
        if b.state in INCOMPLETE_STATES and now - m.first_seen < self.give_up_s:
            m.state = "waiting"  # probably still being written: read again when it changes
            self._waiting.add(b.path)
            return False
        self._waiting.discard(b.path)
        verdict = (b.state, b.reason)
        if not _loaded(b.state, b.n):
            if m.state == "skipped" and m.verdict == verdict:
                return False  # changed on disk, but the same reason: said already
            m.state, m.verdict = "skipped", verdict
            return True
        m.state, m.verdict = "loaded", verdict
        return True

    def forget(self, path: str) -> None:
        self.marks.pop(path, None)
        self._waiting.discard(path)

    def waiting(self) -> list[str]:
        return sorted(self._waiting)

    def watch_folders(self, today: datetime | None = None) -> list[str]:
        """The folders worth an OS watch: all but the day folders of the S3 layout
        older than `recent_days` (and anything under them) that were there from the
        start; the roots themselves always (files included). A year-long trail has a
        folder per day per region; watching them all can exhaust the OS's watches."""
        self.folders_changed = False
        day = (today or datetime.now(UTC)) - timedelta(days=self.recent_days)
        cutoff = day.strftime("%Y-%m-%d")
        roots = set(self.paths)
        out = []
        for d in self.folders:
            if d in self._new_folders or d in roots:
                out.append(d)
                continue
            folder_day = layout_of(d)[3]
            if folder_day is None or folder_day >= cutoff:
                out.append(d)
        out += [p for p in self.paths if p not in self.folders and os.path.isfile(p)]
        return sorted(out)

    def new_folder_roots(self) -> list[str]:
        """The folders that appeared after the first scan, without those inside another
        (walking one walks what is inside)."""
        new = self._new_folders & self.folders
        return sorted(d for d in new if os.path.dirname(d) not in new)

    def scanned(self) -> None:
        """The first full scan is done: folders that appear from now on are new."""
        self._scanned = True


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def read_files(files: Iterable[TrailFile], max_bytes: int = DEFAULT_MAX_BYTES) -> list[FileBatch]:
    return [parse_file(f.path, f.kind, max_bytes) for f in files]


def is_watch_limit(e: BaseException) -> bool:
    """The OS ran out of file watches (inotify's max_user_watches / max_user_instances);
    watchfiles raises a plain OSError naming the limit."""
    text = str(e).lower()
    return isinstance(e, OSError) and (
        "watch limit" in text or "too many open files" in text or "no space left on device" in text
    )


@dataclass(slots=True)
class FollowEvent:
    """What one round of following produced (passed to the callback)."""

    batches: list[FileBatch]
    changes: Changes
    note: str = ""  # watcher restarts, fallbacks to polling or rescans, missing roots
    mode: str = "watch"  # how new files are noticed now: one of MODES


async def follow(
    tracker: TailTracker,
    on_event: Callable[[FollowEvent], None],
    *,
    stop: asyncio.Event,
    poll: bool = False,
    debounce_ms: int = 50,
    rescan_s: float = 5.0,
    retry_s: float = 0.5,
    max_bytes: int = DEFAULT_MAX_BYTES,
    executor: Executor | None = None,
    jobs: int | None = None,
    nice: int = 0,
) -> None:
    """Watch until `stop` is set, calling `on_event` with every accepted batch.

    Files are parsed in `executor` when given (the explorer passes a worker process, so
    parsing never competes with its UI thread for the GIL), else in a thread; a round
    of BULK_MIN_BYTES or more goes to `jobs` parser processes, as a load does (`nice`:
    see loader.iter_batches)."""
    import watchfiles  # imported here: the rest of the engine does not need it

    mode = "poll" if poll else "watch"
    last_rescan = 0.0
    rescan_cost = 0.0
    failures = 0

    async def rescan() -> Changes:
        # A full walk takes tens of ms on a big trail (35 ms over the 2,000-file 1M
        # benchmark trail: ~22 listing and stat-ing, ~13 comparing). In a thread it
        # shares the interpreter with the loop (the explorer's UI) instead of holding it
        # for the whole walk. Nothing else uses the tracker until it is done.
        nonlocal last_rescan, rescan_cost
        t0 = time.monotonic()
        ch = await asyncio.to_thread(tracker.rescan)
        tracker.scanned()
        last_rescan, rescan_cost = t0, time.monotonic() - t0
        return ch

    def rescan_due() -> bool:
        # Adaptive: on a huge tree a full walk must not eat the CPU.
        return time.monotonic() - last_rescan >= max(rescan_s, 10 * rescan_cost)

    def deliver(files: list[TrailFile], batches: list[FileBatch], ch: Changes, note: str) -> None:
        accepted = [b for f, b in zip(files, batches, strict=True) if tracker.accept(b, f)]
        if accepted or ch or note:
            try:
                on_event(FollowEvent(accepted, ch, note, mode))
            except BaseException:
                # Not delivered: forget them so the next round reads them again.
                for b in accepted:
                    tracker.forget(b.path)
                raise

    async def process(ch: Changes, note: str = "") -> None:
        nonlocal executor
        files = ch.to_read
        if sum(f.size for f in files) >= BULK_MIN_BYTES:
            await _bulk(files, ch, note, deliver, stop, max_bytes, jobs, nice)
            return
        batches = None
        if executor is not None and files:
            loop = asyncio.get_running_loop()
            try:
                batches = await loop.run_in_executor(executor, read_files, files, max_bytes)
            except BrokenExecutor as e:  # the worker died: go on in a thread
                executor = None
                note = (
                    note + "; " if note else ""
                ) + f"parser process failed ({e}); parsing in a thread"
        if batches is None:
            batches = await asyncio.to_thread(read_files, files, max_bytes)
        deliver(files, batches, ch, note)

    note = ""
    need_rescan = True  # a full rescan once the watcher is up
    recheck: list[str] = []  # new folders to look into again once the watcher is up
    while not stop.is_set():
        roots = [p for p in tracker.paths if os.path.exists(p)]
        if not roots:
            await process(await rescan(), "waiting for the trail folder to come back")
            await _sleep_or_stop(stop, min(rescan_s, 1.0))
            need_rescan = True
            continue
        if mode == "rescan":
            # No watcher: full rescans, plus quick looks at files still settling.
            if need_rescan or rescan_due():
                ch = await rescan()
                need_rescan = False
            else:
                ch = Changes()
            if tracker.waiting():
                ch.merge(tracker.changes_for(tracker.waiting()))
            await process(ch, note)
            note = ""
            await _sleep_or_stop(stop, retry_s)
            continue
        try:
            if need_rescan:
                # Catches whatever landed while no watcher was running, and lists the
                # folders to watch.
                await process(await rescan(), note)
                note = ""
            # A folder removed since it was listed fails the watcher's start; the rescan
            # after the restart forgets it.
            targets = [t for t in tracker.watch_folders() if os.path.exists(t)]
            first = True
            async for changes in watchfiles.awatch(
                *targets,
                stop_event=stop,
                debounce=debounce_ms,
                step=20,
                force_polling=mode == "poll" or None,
                poll_delay_ms=250,
                rust_timeout=int(min(rescan_s, retry_s) * 1000),
                yield_on_timeout=True,
                recursive=False,
                # With errors ignored, watchfiles also drops the OS's "out of watches"
                # error, leaving folders unwatched without a word. The folders come from
                # a walk that could list them, so a permission error is a rare race.
                ignore_permission_denied=False,
            ):
                paths = {p for _, p in changes}
                ch = tracker.changes_for(paths) if paths else Changes()
                if first:
                    # The watcher is up: what landed in the new folders before is on disk.
                    first, need_rescan = False, False
                    if recheck:
                        ch.merge(tracker.changes_for(recheck, walk_known=True))
                    recheck = []
                if tracker.waiting():  # incomplete files: look again even without an event
                    ch.merge(tracker.changes_for(tracker.waiting()))
                if rescan_due():
                    ch.merge(await rescan())
                await process(ch, note)
                note = ""
                failures = 0
                if any(not os.path.exists(r) for r in roots):
                    need_rescan = True
                    break  # a root vanished: restart (waits for it to come back)
                if tracker.folders_changed:
                    wanted = [t for t in tracker.watch_folders() if os.path.exists(t)]
                    if wanted != targets:
                        # New folders to watch: restart the watcher on the new set. What
                        # it had not yet reported, and what lands until the new one is
                        # up, is on disk: the new folders are walked again then (the
                        # rest of the tree waits for the periodic rescan).
                        recheck = tracker.new_folder_roots()
                        break
        except FileNotFoundError:
            # A folder went away as the watcher started: list the tree again and go on.
            need_rescan = True
            await _sleep_or_stop(stop, retry_s)
        except Exception as e:  # noqa: BLE001 - any watcher failure: report and restart
            failures += 1
            need_rescan = True
            if is_watch_limit(e):
                mode = "rescan"
                note = (
                    "the OS ran out of file watches (inotify max_user_watches): new "
                    "files are found by a full rescan every "
                    f"{max(rescan_s, 10 * rescan_cost):.3g} s instead"
                )
                on_event(FollowEvent([], Changes(), note, mode))
                note = ""
                continue
            if mode == "watch" and failures >= 2:
                mode = "poll"
                note = f"file watching failed ({type(e).__name__}: {e}); polling instead"
            else:
                note = f"watcher restarted after {type(e).__name__}: {e}"
            on_event(FollowEvent([], Changes(), note, mode))
            note = ""
            await _sleep_or_stop(stop, min(5.0, 0.2 * 2**failures))


async def _bulk(files, ch, note, deliver, stop, max_bytes, jobs, nice=0) -> None:
    """Parse a big round as a load does (the loader's parser processes, in order) and
    deliver it in chunks of about COMMIT_EVERY events (or BULK_CHUNK_S of parsing)."""
    loop = asyncio.get_running_loop()
    chunks: asyncio.Queue = asyncio.Queue()
    room = threading.Semaphore(2)  # chunks parsed ahead of delivery (bounds memory)
    cancel = threading.Event()

    def put(item) -> None:
        loop.call_soon_threadsafe(chunks.put_nowait, item)

    def produce() -> None:
        gen = iter_batches(files, max_bytes, jobs, nice=nice)
        chunk: list[FileBatch] = []
        events, since = 0, time.monotonic()
        try:
            for b in gen:
                if cancel.is_set():
                    return
                chunk.append(b)
                events += b.n
                if events >= COMMIT_EVERY or time.monotonic() - since >= BULK_CHUNK_S:
                    room.acquire()
                    if cancel.is_set():
                        return
                    put(chunk)
                    chunk, events, since = [], 0, time.monotonic()
            put(chunk)
            put(None)
        except BaseException as e:  # noqa: BLE001 - handed to the loop, raised there
            put(e)
        finally:
            gen.close()  # stops the parser processes if we stopped early

    worker = asyncio.ensure_future(asyncio.to_thread(produce))
    done = 0
    first = True
    try:
        while True:
            item = await chunks.get()
            if item is None:
                break
            if isinstance(item, BaseException):
                raise item
            room.release()
            part = files[done : done + len(item)]
            done += len(item)
            # The round's other changes go with the first chunk; every chunk carries
            # the rewritten list so each batch is labelled.
            deliver(
                part, item, ch if first else Changes(rewritten=ch.rewritten), note if first else ""
            )
            first = False
            if stop.is_set():
                break  # what is left is read again after a restart (not marked)
    finally:
        cancel.set()
        room.release()
        await worker


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        pass
