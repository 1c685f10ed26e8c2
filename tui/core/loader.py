"""Load a trail: discover files, parse them (in parallel for big trails), fill a Store.

Parsing is CPU-bound Python (orjson + per-event normalisation), so big loads fan out
to worker processes; each returns a compact FileBatch, and the store is only touched
by the caller's thread.
"""

from __future__ import annotations

import ctypes
import gc
import multiprocessing as mp
import multiprocessing.connection
import os
import signal
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing.connection import Connection

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

from .batch import FileBatch, build_batch
from .discovery import Discovery, TrailFile, discover
from .parser_side import init_parser, parse_task, parser_main
from .reader import DEFAULT_MAX_BYTES, FileState, ReadResult
from .spill import Spills, keep_out_of
from .store import Store

COMMIT_EVERY = 100_000  # events per store commit while loading (see load)

# Below this many bytes on disk, process start-up costs more than it saves.
PARALLEL_MIN_BYTES = int(os.environ.get("TRAILSCOPE_PARALLEL_MIN_BYTES", 16 << 20))


@dataclass(slots=True)
class Progress:
    files_done: int = 0
    files_total: int = 0
    bytes_done: int = 0
    bytes_total: int = 0
    events: int = 0


_ctx: mp.context.BaseContext | None = None


def _context() -> mp.context.BaseContext:
    # spawn: workers start clean, so loading from the explorer (which runs threads)
    # never forks a threaded process. Measured here: forkserver workers ran 4-6x slower
    # than spawn or fork on the same files (benchmarks/bench_engine.py), for reasons we
    # did not pin down; spawn's start-up (~0.3 s) overlaps discovery.
    global _ctx
    if _ctx is None:
        _ctx = mp.get_context("spawn")
    return _ctx


def parser_process(nice: int = 0) -> ProcessPoolExecutor:
    """One parser process for live tail in the explorer: parsing there leaves the UI
    thread the GIL (in a thread, each 500-event file held it for ~7 ms). `nice`: see
    `iter_batches`."""
    return ProcessPoolExecutor(
        1, mp_context=_context(), initializer=init_parser, initargs=("", nice)
    )


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


def iter_batches(
    files: Iterable[TrailFile],
    max_bytes: int = DEFAULT_MAX_BYTES,
    jobs: int | None = None,
    *,
    nice: int = 0,
) -> Generator[FileBatch, None, None]:
    """Parse files, yielding batches in the order given (deterministic store order).
    A file read from elsewhere than its name (`TrailFile.local`) keeps its name.
    `nice`: the parser processes run that many steps nicer than this one (the explorer
    keeps a core for its UI thread while they take the rest)."""
    files = list(files)
    jobs = default_jobs() if jobs is None else jobs
    total = sum(f.size for f in files)
    work = [(f.local or f.path, f.kind, max_bytes) for f in files]
    if jobs <= 1 or len(files) < 4 or total < PARALLEL_MIN_BYTES:
        batches: Iterator[FileBatch] = map(parse_task, work)
    else:
        batches = _parse_parallel(work, jobs, sizes=[f.size for f in files], nice=nice)
    if not any(f.local for f in files):
        yield from batches
        return
    for f, b in zip(files, batches, strict=True):
        if f.local:
            b.path, b.local = f.path, f.local
        yield b


# ------------------------------------------------------------------ parser processes
# Our own small process pool rather than multiprocessing.Pool or ProcessPoolExecutor:
# when a worker dies abnormally (OOM killer, SIGKILL, a segfault in a C library on
# hostile data), Pool.imap waits forever for the task the worker held; and
# ProcessPoolExecutor fails every pending task, and blocks for good if the worker died
# half-way through writing its result to the pipe all workers share (its manager thread
# waits in recv() for the rest). Here each worker has its own pipes, so a death shows
# as end-of-file on that worker's pipe alone, and a shared slot says which file it was
# parsing: that file (only) is retried on another worker, and reported unreadable if it
# kills a worker twice.

WINDOW_PER_JOB = 32  # files handed out but not yet yielded, per worker (bounds memory)
# Measured at 1M: with 4, both workers sat idle through each 100-150 ms commit of the
# main process; 32 (about 4 MB of batches per worker): ingest 5.45 -> 5.04 s (medians of 4).
MAX_DEATHS = 2  # a file that kills this many parser processes is reported unreadable
_MAX_FRUITLESS = 3  # workers in a row dying before parsing anything: not the data's fault


@dataclass(slots=True, eq=False)
class _Worker:
    proc: mp.process.BaseProcess
    tasks: Connection  # parent -> worker: (index, args), then EOF
    results: Connection  # worker -> parent: (index, batch, error)
    current: ctypes.c_longlong  # shared: the index being parsed, -1 between files
    sent: deque[int] = field(default_factory=deque)  # indices handed out, unanswered
    last: int = -1  # the last index handed out
    delivered: int = 0


def _start_worker(
    parse: Callable[[tuple[str, str, int]], FileBatch], spill: str, nice: int = 0
) -> _Worker:
    ctx = _context()
    task_r, task_w = ctx.Pipe(duplex=False)
    res_r, res_w = ctx.Pipe(duplex=False)
    _widen_pipe(res_w)
    current = ctx.RawValue("q", -1)
    proc = ctx.Process(
        target=parser_main,
        args=(task_r, res_w, current, parse, spill, nice),
        name="trailscope-parser",
        daemon=True,
    )
    proc.start()
    # Only the worker may hold its ends: then its death is end-of-file on `res_r`.
    task_r.close()
    res_w.close()
    return _Worker(proc, task_w, res_r, current)


# A batch is ~160 kB pickled: through the default 64 kB pipe each took several
# write/wake-up/read rounds between a parser and the main process.
_PIPE_BYTES = 1 << 20


def _widen_pipe(conn: Connection) -> None:
    """Ask for a bigger pipe buffer (Linux; the system's limit may refuse it: then the
    pipe keeps its size, which only costs time)."""
    setsize = getattr(fcntl, "F_SETPIPE_SZ", None) if fcntl is not None else None
    if setsize is None:
        return
    try:
        fcntl.fcntl(conn.fileno(), setsize, _PIPE_BYTES)
    except OSError:
        pass


def _stop_workers(workers: Iterable[_Worker], now: bool) -> None:
    """`now`: terminate (stopped early); otherwise let idle workers exit on EOF."""
    workers = list(workers)
    for w in workers:
        if now and w.proc.is_alive():
            w.proc.terminate()
        w.tasks.close()
    for w in workers:
        w.proc.join(5)
        if w.proc.is_alive():  # pragma: no cover - a worker stuck in C code
            w.proc.kill()
            w.proc.join()
        w.results.close()


def _how(exitcode: int | None) -> str:
    if exitcode is None:
        return "cause unknown"
    if exitcode < 0:
        try:
            return signal.Signals(-exitcode).name
        except ValueError:
            return f"signal {-exitcode}"
    return f"exit code {exitcode}"


def death_verdict(deaths: list[int | None]) -> str | None:
    """The reason to report a file as unreadable, given the exit codes of the parser
    processes that died while parsing it; None while it should be tried again."""
    if len(deaths) < MAX_DEATHS:
        return None
    times = "twice" if len(deaths) == 2 else f"{len(deaths)} times"
    how = ", then ".join(dict.fromkeys(map(_how, deaths)))
    return f"parser process died {times} on this file ({how})"


def _parse_parallel(
    work: list[tuple[str, str, int]],
    jobs: int,
    *,
    sizes: list[int] | None = None,
    parse: Callable[[tuple[str, str, int]], FileBatch] = parse_task,
    window: int | None = None,
    nice: int = 0,
) -> Iterator[FileBatch]:
    """Parse `work` in `jobs` worker processes, yielding batches in order.

    At most `window` files are handed out but not yet yielded. A worker that dies is
    replaced; the file it was parsing is retried and, once it has killed MAX_DEATHS
    workers, yields an "unreadable" batch; the files it held but had not started go
    back in the queue. `parse` must be a module-level function (pickled by name)."""
    n = len(work)
    window = max(1, window or WINDOW_PER_JOB * jobs)
    depth = max(2, -(-window // jobs))  # per worker: one parsing, the rest queued
    todo: deque[int] = deque(range(n))  # not handed out; kept sorted
    done: dict[int, FileBatch] = {}
    deaths: dict[int, list[int | None]] = {}
    workers: list[_Worker] = []
    nxt = fruitless = 0
    finished = False
    spills = Spills()  # the parsers' free-text corpora, on disk
    try:
        while nxt < n:
            if nxt in done:
                b = done.pop(nxt)
                nxt += 1
                yield b
                continue
            while todo and len(workers) < jobs:
                workers.append(_start_worker(parse, spills.folder, nice))
            # Hand out files in order, to the least loaded worker first. A worker's
            # batches share its value numbering (batch.Encoder), so it must make them in
            # the order they are yielded: it only takes files after its last one (a
            # retried file goes to a fresh worker, or one that is not yet past it).
            while todo and todo[0] < nxt + window:
                free = [w for w in workers if w.last < todo[0] and len(w.sent) < depth]
                if not free:
                    break
                w = min(free, key=lambda w: len(w.sent))
                i = w.last = todo.popleft()
                w.sent.append(i)
                try:
                    w.tasks.send((i, work[i]))
                except OSError:
                    pass  # it died: seen below, and its files go back in the queue
            by_obj = {}
            for w in workers:
                by_obj[w.results] = by_obj[w.proc.sentinel] = w
            ready = mp.connection.wait(list(by_obj))
            for w in dict.fromkeys(by_obj[r] for r in ready):
                dead = w.proc.sentinel in ready
                err = None
                try:
                    # poll() is also true at end-of-file; a partial message is either
                    # completed by a live worker or ends in EOFError/OSError.
                    while err is None and w.results.poll():
                        idx, batch, err = w.results.recv()
                        w.sent.remove(idx)
                        if err is None:
                            spills.adopt(batch)
                            done[idx] = batch
                            w.delivered += 1
                            fruitless = 0
                except (EOFError, OSError):
                    dead = True
                if err is not None:  # parse_file raised: a bug, surfaced as in-process
                    exc, tb = err
                    exc.add_note(f"in a parser process, on {work[idx][0]}:\n{tb}")
                    raise exc
                if not dead:
                    continue
                workers.remove(w)
                culprit, code = _bury(w)
                if culprit is not None:
                    codes = deaths.setdefault(culprit, [])
                    codes.append(code)
                    reason = death_verdict(codes)
                    if reason is None:
                        w.sent.append(culprit)  # try again, on another worker
                    else:
                        r = ReadResult(
                            FileState.UNREADABLE, reason, [], size=sizes[culprit] if sizes else 0
                        )
                        done[culprit] = build_batch(work[culprit][0], work[culprit][1], r)
                elif not w.delivered:
                    fruitless += 1
                    if fruitless >= _MAX_FRUITLESS:
                        raise RuntimeError(
                            f"parser processes keep dying before parsing anything ({_how(code)})"
                        )
                todo = deque(sorted([*todo, *w.sent]))
        finished = True
    finally:
        _stop_workers(workers, now=not finished)
        spills.close()


def _bury(w: _Worker) -> tuple[int | None, int | None]:
    """Reap a dead worker: (the index it was parsing, if any, taken out of w.sent; its
    exit code)."""
    w.proc.join(5)
    code = w.proc.exitcode
    culprit = w.current.value
    _stop_workers([w], now=True)
    if culprit in w.sent:
        w.sent.remove(culprit)
        return culprit, code
    return None, code


def load(
    paths: Iterable[str | os.PathLike],
    *,
    store: Store | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    jobs: int | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    commit_every: int | None = COMMIT_EVERY,
    follow_symlinks: bool = False,
    discovered: Discovery | None = None,
) -> Store:
    """Discover and load every file under `paths` into a store (new or given), or the
    files of `discovered` when given (an S3 trail's, fetched into the cache).

    `commit_every` commits after that many pending events (None: once at the end).
    Committing in chunks bounds the commit's temporaries and lets the parsed batches
    go as they are merged: measured at 1M events, peak RSS 669 MB in one commit,
    426 MB in chunks of 100k, in the same time (15.7 s). `follow_symlinks`: see
    discovery (symlinks that leave the given folders are followed only when asked)."""
    paths = list(paths)
    keep_out_of(paths)  # the trail is evidence: no spill folder inside it
    disc = discovered or discover(paths, follow_symlinks=follow_symlinks)
    store = store if store is not None else Store()
    record_discovery(store, disc)
    # The cyclic GC is off while loading: what a load keeps (batches, arrays, lists of
    # values) holds no cycles, and each full pass walks every value in the value lists
    # (millions at 10M): measured 1.2 s of the main process's CPU at 10M events.
    # Restored as it was, however the load ends.
    collecting = gc.isenabled()
    gc.disable()
    # Nothing reads the time order until the load ends: it is merged once, at the end
    # (or at a read, should one come), not at every commit (see TimeOrder.defer).
    store.time_order.defer(True)
    try:
        _fill(store, disc, max_bytes, jobs, on_progress, commit_every)
    finally:
        store.time_order.defer(False)
        if collecting:
            gc.enable()
    return store


def _fill(
    store: Store,
    disc: Discovery,
    max_bytes: int,
    jobs: int | None,
    on_progress: Callable[[Progress], None] | None,
    commit_every: int | None,
) -> None:
    prog = Progress(files_total=len(disc.files), bytes_total=sum(f.size for f in disc.files))
    pending = 0
    for b in iter_batches(disc.files, max_bytes, jobs):
        store.add(b)
        prog.files_done += 1
        prog.bytes_done += b.size
        prog.events += b.n
        pending += b.n
        if commit_every is not None and pending >= commit_every:
            if prog.events == pending and prog.bytes_done:
                # First commit: room for the whole load, estimated from its bytes.
                est = prog.events * prog.bytes_total // prog.bytes_done
                store.reserve(len(store) + est * 9 // 8)
            store.commit()
            pending = 0
        if on_progress is not None:
            on_progress(prog)
    store.commit()


def record_discovery(store: Store, disc: Discovery) -> None:
    store.digests.extend(f.path for f in disc.digests)
    store.ignored.extend(disc.ignored)
    store.errors.extend(disc.errors)
