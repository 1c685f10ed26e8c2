"""Follow a trail directory: notice new, completed, rewritten and deleted files.

Two layers, both headless:
- `TailTracker` is pure bookkeeping over `discover()` and stat: given "these paths
  changed" (from watchfiles) or "rescan everything", it says which files to read, which
  are gone, which were rewritten in place. It never re-reads a file whose size and
  mtime are unchanged, and holds back files that look incomplete (empty, truncated
  gzip) until they settle, so each event is loaded exactly once.
- `follow()` drives it with `watchfiles.awatch` plus a periodic rescan, because
  watchfiles silently drops inotify overflow, may miss new folders, stops on
  undecodable names, and sees nothing on network filesystems. Watcher errors restart
  it with a backoff; where watching is impossible it falls back to polling.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Iterable
from concurrent.futures import BrokenExecutor, Executor
from dataclasses import dataclass, field

from .batch import FileBatch, parse_file
from .discovery import TrailFile, classify_name, discover, symlink_refusal
from .reader import DEFAULT_MAX_BYTES

# A file still empty or truncated after this long is taken as it is (and reported).
SETTLE_GIVE_UP_S = 30.0
INCOMPLETE_STATES = frozenset({"empty", "truncated"})


@dataclass(slots=True)
class Mark:
    size: int
    mtime_ns: int
    kind: str
    state: str  # "loaded" | "waiting" (incomplete, will retry)
    first_seen: float
    attempts: int = 0


@dataclass(slots=True)
class Changes:
    to_read: list[TrailFile] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)
    rewritten: list[str] = field(default_factory=list)
    missing_roots: list[str] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)

    def add(self, f: TrailFile) -> None:
        if all(x.path != f.path for x in self.to_read):
            self.to_read.append(f)

    def merge(self, other: Changes) -> None:
        for f in other.to_read:
            self.add(f)
        self.gone += [p for p in other.gone if p not in self.gone]
        self.rewritten += [p for p in other.rewritten if p not in self.rewritten]
        self.missing_roots = other.missing_roots or self.missing_roots
        self.errors += other.errors

    def __bool__(self) -> bool:
        return bool(self.to_read or self.gone or self.missing_roots or self.errors)


class TailTracker:
    def __init__(
        self,
        paths: Iterable[str | os.PathLike],
        give_up_s: float = SETTLE_GIVE_UP_S,
        follow_symlinks: bool = False,
    ):
        self.paths = [os.fsdecode(os.fspath(p)) for p in paths]
        self.follow_symlinks = follow_symlinks
        self.marks: dict[str, Mark] = {}
        self.give_up_s = give_up_s
        self.gone: set[str] = set()

    def prime(self, files: Iterable[tuple[str, str, int, int]]) -> None:
        """Mark already-loaded files (path, kind, size, mtime_ns) so they are not re-read."""
        now = time.monotonic()
        for path, kind, size, mtime in files:
            self.marks[path] = Mark(size, mtime, kind, "loaded", now)

    # ----------------------------------------------------------- decisions
    def rescan(self) -> Changes:
        """Compare the whole tree with what is known."""
        disc = discover(self.paths, follow_symlinks=self.follow_symlinks)
        ch = Changes()
        missing = {p for p, reason in disc.errors if p in self.paths}
        ch.missing_roots = sorted(missing)
        ch.errors = [(p, r) for p, r in disc.errors if p not in missing]
        seen = set()
        for f in disc.files:
            seen.add(f.path)
            self._consider(f, ch)
        for path, mark in self.marks.items():
            if path in seen or path in self.gone or mark.state != "loaded":
                continue
            if any(_under(path, root) for root in missing):
                continue  # the root is away (unmounted?), not every file deleted
            self.gone.add(path)
            ch.gone.append(path)
        return ch

    def changes_for(self, paths: Iterable[str]) -> Changes:
        """Look only at the paths a watcher reported (files or new folders)."""
        ch = Changes()
        for p in sorted(set(paths)):
            try:
                st = os.stat(p)
            except FileNotFoundError:
                if p in self.marks and p not in self.gone and self.marks[p].state == "loaded":
                    self.gone.add(p)
                    ch.gone.append(p)
                continue
            except OSError as e:
                ch.errors.append((p, e.strerror or str(e)))
                continue
            if os.path.islink(p):  # met inside the trees: followed as a walk would
                why = symlink_refusal(p, self.paths, self.follow_symlinks)
                if why:
                    ch.errors.append((p, why))
                    continue
            if os.path.isdir(p):
                sub = discover([p], follow_symlinks=self.follow_symlinks, within=self.paths)
                for f in sub.files:
                    self._consider(f, ch)
                ch.errors.extend(sub.errors)
                continue
            kind, _why = classify_name(p)
            if kind is None or kind == "digest":
                continue  # in-flight temp names, dot-files, digests
            self._consider(TrailFile(p, kind, st.st_size, st.st_mtime_ns), ch)
        return ch

    def _consider(self, f: TrailFile, ch: Changes) -> None:
        m = self.marks.get(f.path)
        if f.path in self.gone:
            self.gone.discard(f.path)  # it came back
        if m is None:
            ch.add(f)
            return
        if (m.size, m.mtime_ns) == (f.size, f.mtime_ns) and m.state == "loaded":
            return
        if m.state == "loaded" and f.path not in ch.rewritten:
            ch.rewritten.append(f.path)
        ch.add(f)

    def accept(self, b: FileBatch, now: float | None = None) -> bool:
        """After reading: True to put the batch in the store, False to retry later."""
        now = time.monotonic() if now is None else now
        m = self.marks.get(b.path)
        if m is None:
            m = self.marks[b.path] = Mark(b.size, b.mtime_ns, b.kind, "waiting", now)
        m.attempts += 1
        m.size, m.mtime_ns = b.size, b.mtime_ns
        if b.state in INCOMPLETE_STATES and now - m.first_seen < self.give_up_s:
            m.state = "waiting"  # probably still being written: read again when it changes
            return False
        if b.state == "vanished":
            self.marks.pop(b.path, None)
            return False
        m.state = "loaded"
        return True

    def forget(self, path: str) -> None:
        self.marks.pop(path, None)

    def waiting(self) -> list[str]:
        return [p for p, m in self.marks.items() if m.state == "waiting"]


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def read_files(files: Iterable[TrailFile], max_bytes: int = DEFAULT_MAX_BYTES) -> list[FileBatch]:
    return [parse_file(f.path, f.kind, max_bytes) for f in files]


@dataclass(slots=True)
class FollowEvent:
    """What one round of following produced (passed to the callback)."""

    batches: list[FileBatch]
    changes: Changes
    note: str = ""  # watcher restarts, fallbacks to polling, missing roots


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
) -> None:
    """Watch until `stop` is set, calling `on_event` with every accepted batch.

    Files are parsed in `executor` when given (the explorer passes a worker process, so
    parsing never competes with its UI thread for the GIL), else in a thread."""
    import watchfiles  # imported here: the rest of the engine does not need it

    last_rescan = 0.0
    rescan_cost = 0.0
    failures = 0

    async def rescan() -> Changes:
        # A full walk takes tens of ms on a big trail (35 ms over the 2,000-file 1M
        # benchmark trail: ~22 listing and stat-ing, ~13 comparing). In a thread it
        # shares the interpreter with the loop (the explorer's UI) instead of holding it
        # for the whole walk. Nothing else uses the tracker until it is done.
        return await asyncio.to_thread(tracker.rescan)

    async def process(ch: Changes, note: str = "") -> None:
        nonlocal executor
        batches = None
        if executor is not None and ch.to_read:
            loop = asyncio.get_running_loop()
            try:
                batches = await loop.run_in_executor(executor, read_files, ch.to_read, max_bytes)
            except BrokenExecutor as e:  # the worker died: go on in a thread
                executor = None
                note = (note + "; " if note else "") + f"parser process failed ({e}); parsing in a thread"
        if batches is None:
            batches = await asyncio.to_thread(read_files, ch.to_read, max_bytes)
        accepted = [b for b in batches if tracker.accept(b)]
        if accepted or ch or note:
            try:
                on_event(FollowEvent(accepted, ch, note))
            except BaseException:
                # Not delivered: forget them so the next round reads them again.
                for b in accepted:
                    tracker.forget(b.path)
                raise

    while not stop.is_set():
        roots = [p for p in tracker.paths if os.path.exists(p)]
        if not roots:
            ch = await rescan()
            await process(ch, "waiting for the trail folder to come back")
            await _sleep_or_stop(stop, min(rescan_s, 1.0))
            continue
        note = ""
        try:
            # A first rescan catches whatever landed while no watcher was running.
            await process(await rescan(), note)
            last_rescan = time.monotonic()
            async for changes in watchfiles.awatch(
                *roots,
                stop_event=stop,
                debounce=debounce_ms,
                step=20,
                force_polling=poll or None,
                poll_delay_ms=250,
                rust_timeout=int(min(rescan_s, retry_s) * 1000),
                yield_on_timeout=True,
                recursive=True,
                ignore_permission_denied=True,
            ):
                paths = {p for _, p in changes}
                now = time.monotonic()
                ch = tracker.changes_for(paths) if paths else Changes()
                waiting = tracker.waiting()
                if waiting:  # incomplete files: look again even without an event
                    ch.merge(tracker.changes_for(waiting))
                if now - last_rescan >= max(rescan_s, 10 * rescan_cost):
                    # Adaptive: on a huge tree a full walk must not eat the CPU.
                    ch.merge(await rescan())
                    rescan_cost = time.monotonic() - now
                    last_rescan = now
                await process(ch)
                failures = 0
                if any(not os.path.exists(r) for r in roots):
                    break  # a root vanished: restart (waits for it to come back)
        except Exception as e:  # noqa: BLE001 - any watcher failure: report and restart
            failures += 1
            if not poll and failures >= 2:
                poll = True
                note = f"file watching failed ({type(e).__name__}: {e}); polling instead"
            else:
                note = f"watcher restarted after {type(e).__name__}: {e}"
            on_event(FollowEvent([], Changes(), note))
            await _sleep_or_stop(stop, min(5.0, 0.2 * 2**failures))


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        pass
