"""Load a trail: discover files, parse them (in parallel for big trails), fill a Store.

Parsing is CPU-bound Python (orjson + per-event normalisation), so big loads fan out
to worker processes; each returns a compact FileBatch, and the store is only touched
by the caller's thread.
"""

from __future__ import annotations

import gc
import multiprocessing as mp
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from .batch import FileBatch, parse_file, use_persistent_encoder
from .discovery import Discovery, TrailFile, discover
from .reader import DEFAULT_MAX_BYTES
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


def _parse(args: tuple[str, str, int]) -> FileBatch:
    return parse_file(*args)


def _worker_init() -> None:
    # Parsing allocates millions of short-lived, acyclic containers (decoded events):
    # the cyclic GC only burns time on them (measured ~30% of parse time).
    gc.disable()
    use_persistent_encoder()


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


def parser_process() -> ProcessPoolExecutor:
    """One parser process for live tail in the explorer: parsing there leaves the UI
    thread the GIL (in a thread, each 500-event file held it for ~7 ms)."""
    return ProcessPoolExecutor(1, mp_context=_context(), initializer=_worker_init)


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


def iter_batches(
    files: Iterable[TrailFile],
    max_bytes: int = DEFAULT_MAX_BYTES,
    jobs: int | None = None,
) -> Iterator[FileBatch]:
    """Parse files, yielding batches in the order given (deterministic store order)."""
    files = list(files)
    jobs = default_jobs() if jobs is None else jobs
    total = sum(f.size for f in files)
    work = [(f.path, f.kind, max_bytes) for f in files]
    if jobs <= 1 or len(files) < 4 or total < PARALLEL_MIN_BYTES:
        for w in work:
            yield _parse(w)
        return
    with _context().Pool(jobs, initializer=_worker_init) as pool:
        yield from pool.imap(_parse, work, chunksize=1)


def load(
    paths: Iterable[str | os.PathLike],
    *,
    store: Store | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    jobs: int | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    commit_every: int | None = COMMIT_EVERY,
) -> Store:
    """Discover and load every file under `paths` into a store (new or given).

    `commit_every` commits after that many pending events (None: once at the end).
    Committing in chunks bounds the commit's temporaries and lets the parsed batches
    go as they are merged: measured at 1M events, peak RSS 669 MB in one commit,
    426 MB in chunks of 100k, in the same time (15.7 s)."""
    disc = discover(paths)
    store = store if store is not None else Store()
    record_discovery(store, disc)
    prog = Progress(files_total=len(disc.files), bytes_total=sum(f.size for f in disc.files))
    pending = 0
    for b in iter_batches(disc.files, max_bytes, jobs):
        store.add(b)
        prog.files_done += 1
        prog.bytes_done += b.size
        prog.events += b.n
        pending += b.n
        if commit_every is not None and pending >= commit_every:
            store.commit()
            pending = 0
        if on_progress is not None:
            on_progress(prog)
    store.commit()
    return store


def record_discovery(store: Store, disc: Discovery) -> None:
    store.digests.extend(f.path for f in disc.digests)
    store.ignored.extend(disc.ignored)
    store.errors.extend(disc.errors)
