"""What runs inside a parser process: parse files, send their batches back.

Kept apart from the loader so a parser process imports only the parsing modules
(batch and what it needs), not the store, query or discovery code: spawn starts each
process afresh, and its imports are time both cores spend before the first batch.
"""

from __future__ import annotations

import ctypes
import gc
import os
import queue
import signal
import threading
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection

from .batch import FileBatch, parse_file, spill_writer, use_persistent_encoder, use_spill


def parse_task(args: tuple[str, str, int]) -> FileBatch:
    return parse_file(*args)


def init_parser(spill_folder: str = "", nice: int = 0) -> None:
    """Set up a parser process; `nice`: run it that many steps nicer than its parent."""
    if nice and hasattr(os, "nice"):  # POSIX
        try:
            os.nice(nice)
        except OSError:  # refused: parse at the parent's priority
            pass
    # Parsing allocates millions of short-lived, acyclic containers (decoded events):
    # the cyclic GC only burns time on them (measured ~30% of parse time).
    gc.disable()
    use_persistent_encoder()
    use_spill(spill_folder)


def parser_main(
    tasks: Connection,
    results: Connection,
    current: ctypes.c_longlong,
    parse: Callable[[tuple[str, str, int]], FileBatch],
    spill_folder: str = "",
    nice: int = 0,
) -> None:
    """A parser process: parse (index, args) tasks until the parent closes `tasks`;
    free-text corpora go to a spill file in `spill_folder` ("": in the batches)."""
    # Ctrl-C reaches the whole process group; the parent handles it and stops us.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    init_parser(spill_folder, nice)
    # Results go out from a thread so parsing goes on while the parent is busy (e.g.
    # committing) and not reading; how far ahead is bounded by the parent's window.
    out: queue.SimpleQueue = queue.SimpleQueue()
    sender = threading.Thread(target=_send_results, args=(out, results), daemon=True)
    sender.start()
    try:
        while True:
            idx, args = tasks.recv()
            current.value = idx  # read by the parent if we die here
            res: tuple[int, FileBatch | None, tuple[Exception, str] | None]
            try:
                res = (idx, parse(args), None)
            except Exception as e:
                res = (idx, None, (e, traceback.format_exc()))
            current.value = -1
            out.put(res)
    except (EOFError, OSError):
        pass  # the parent closed our pipe (all done) or went away
    out.put(None)
    sender.join()
    spill = spill_writer()
    if spill is not None:
        spill.abandon()  # the parent has it open already, unless it died


def _send_results(out: queue.SimpleQueue, results: Connection) -> None:
    while (res := out.get()) is not None:
        try:
            results.send(res)  # pickles before writing: a failure here writes nothing
        except OSError:
            return  # the parent went away
        except Exception as e:  # an unpicklable batch or exception: say so, never go silent
            try:
                results.send((res[0], None, (RuntimeError(repr(e)), traceback.format_exc())))
            except OSError:
                return
