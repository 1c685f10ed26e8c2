"""Command line: `trailscope [explore] PATH...`, `trailscope stats`, `trailscope query`.

Exit codes like a Unix tool: 0 ok, 1 nothing readable, 2 usage or query error.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import sys
from collections.abc import Sequence

import numpy as np
import orjson

from .core.discovery import absolute_paths
from .core.fields import FIELD_NAMES, FIELDS
from .core.loader import Progress, load
from .core.normalize import format_time
from .core.query import QueryError, parse
from .core.reader import DEFAULT_MAX_BYTES
from .core.sanitize import clean
from .core.store import OriginalUnavailable, Store

EXIT_OK, EXIT_NOTHING, EXIT_USAGE = 0, 1, 2
COMMANDS = ("explore", "stats", "query")


def _size(text: str) -> int:
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    t = text.strip().lower().rstrip("b")
    mult = units.get(t[-1:], 1)
    if t[-1:] in units:
        t = t[:-1]
    try:
        return int(float(t) * mult)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 512M, 2G)") from None


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--max-file-size",
        type=_size,
        default=DEFAULT_MAX_BYTES,
        metavar="SIZE",
        help="decompressed-size cap per file, against gzip bombs (default 1G)",
    )
    p.add_argument("--jobs", type=int, default=None, help="parser processes (default: cores)")


def _follow_opts(p: argparse.ArgumentParser) -> None:
    p.add_argument("--poll", action="store_true", help="poll instead of OS file events (NFS, sshfs)")
    p.add_argument(
        "--rescan", type=float, default=5.0, metavar="SECONDS",
        help="full rescan interval while following (default 5)",
    )


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="trailscope",
        description="Explore AWS CloudTrail logs in the terminal.",
        epilog="Run `trailscope PATH...` to open the explorer; see docs/query.md for filters.",
    )
    sub = ap.add_subparsers(dest="command", metavar="{explore,stats,query}")
    ex = sub.add_parser("explore", help="open the explorer (the default command)")
    ex.add_argument("paths", nargs="+", metavar="PATH")
    ex.add_argument("--filter", "-f", default="", help="initial filter")
    ex.add_argument("--no-follow", action="store_true", help="do not watch for new files")
    _follow_opts(ex)
    _common(ex)

    st = sub.add_parser("stats", help="summarise a trail")
    st.add_argument("paths", nargs="+", metavar="PATH")
    st.add_argument("--json", action="store_true", help="print one JSON object")
    st.add_argument("--top", type=int, default=10, help="values per field in text output")
    _common(st)

    q = sub.add_parser(
        "query",
        help="print matching events in time order",
        description="FILTER is the last argument when it is not an existing path "
        "(or give it with --filter).",
    )
    q.add_argument("args", nargs="+", metavar="PATH... [FILTER]")
    q.add_argument("--filter", "-f", default=None, help="the filter (instead of positional)")
    q.add_argument(
        "--format", choices=("jsonl", "csv", "table", "count"), default="table", dest="fmt"
    )
    q.add_argument("--limit", type=int, default=None, help="at most N events")
    q.add_argument(
        "--follow", action="store_true", help="keep watching and print new matching events"
    )
    q.add_argument(
        "--new-only", action="store_true", help="with --follow: skip events already present"
    )
    _follow_opts(q)
    _common(q)
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] not in COMMANDS and not argv[0].startswith("-"):
        argv.insert(0, "explore")
    elif argv and argv[0] in ("-f", "--filter"):
        argv.insert(0, "explore")
    ap = build_parser()
    # Values may hold lone surrogates (kept exactly from lenient files): never crash on
    # them when printing.
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    try:
        args = ap.parse_args(argv)
    except SystemExit as e:
        return int(e.code or 0) and EXIT_USAGE
    if args.command is None:
        ap.print_usage(sys.stderr)
        return EXIT_USAGE
    try:
        if args.command == "stats":
            return cmd_stats(args)
        if args.command == "query":
            return cmd_query(args)
        return cmd_explore(args)
    except BrokenPipeError:
        # `trailscope query ... | head`: stop quietly like other Unix tools.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except KeyboardInterrupt:
        return 130


def _progress_printer():
    if not sys.stderr.isatty():
        return None

    def show(p: Progress) -> None:
        if p.files_done % 20 and p.files_done != p.files_total:
            return
        sys.stderr.write(
            f"\rloading {p.files_done}/{p.files_total} files, {p.events:,} events"
            + (" " * 8)
            + ("\n" if p.files_done == p.files_total else "")
        )
        sys.stderr.flush()

    return show


def _load(args, paths: Sequence[str]) -> Store:
    return load(
        paths, max_bytes=args.max_file_size, jobs=args.jobs, on_progress=_progress_printer()
    )


def _nothing_readable(store: Store) -> bool:
    return len(store) == 0 and not any(fi.state in ("loaded", "empty") for fi in store.files)


# -------------------------------------------------------------------- stats
def stats_dict(store: Store) -> dict:
    states = store.file_states()
    files = {"total": len(store.files), **states}
    files["digest"] = len(store.digests)
    files["ignored"] = len(store.ignored)
    tr = store.time_range()
    out: dict = {
        "events": len(store),
        "duplicates": store.duplicates,
        "conflicts": store.conflicts,
        "files": files,
        "skipped": [{"path": p, "reason": r} for p, r in store.skipped()],
        "ignored": [{"path": p, "reason": r} for p, r in store.ignored],
        "time_range": None if tr is None else {"start": format_time(tr[0]), "end": format_time(tr[1])},
        "bad_records": sum(fi.bad_records for fi in store.files),
    }
    for name in FIELD_NAMES:
        out[f"by_{name}"] = dict(store.counts(name))
    return out


def cmd_stats(args) -> int:
    store = _load(args, args.paths)
    if args.json:
        sys.stdout.buffer.write(orjson.dumps(stats_dict(store)) + b"\n")
        sys.stdout.flush()
        return EXIT_NOTHING if _nothing_readable(store) else EXIT_OK
    w = sys.stdout.write
    tr = store.time_range()
    w(f"events      {len(store):,}\n")
    w(f"duplicates  {store.duplicates:,} (same eventID and content, stored once)\n")
    w(f"conflicts   {store.conflicts:,} (same eventID, different content, all kept)\n")
    bad = sum(fi.bad_records for fi in store.files)
    if bad:
        w(f"bad records {bad:,}\n")
    span = "-" if tr is None else f"{format_time(tr[0])} .. {format_time(tr[1])}"
    w(f"time range  {span}\n")
    states = ", ".join(f"{k} {v:,}" for k, v in sorted(store.file_states().items()))
    w(f"files       {len(store.files):,} ({states or 'none'}); digest {len(store.digests):,};"
      f" ignored {len(store.ignored):,}\n")
    skipped = store.skipped()
    if skipped:
        w(f"\nskipped or partly loaded ({len(skipped)}):\n")
        for p, r in skipped:
            w(f"  {clean(p)}: {clean(r)}\n")
    for f in FIELDS:
        counts = store.counts(f.name)
        w(f"\n{f.label} ({f.name}) — {len(counts):,} distinct\n")
        for v, c in counts[: args.top]:
            w(f"  {c:>10,}  {clean(v, 100) if v else '(empty)'}\n")
    return EXIT_NOTHING if _nothing_readable(store) else EXIT_OK


# -------------------------------------------------------------------- query
TABLE_FIELDS = ("service", "event", "principal", "ip", "region", "error")


def cmd_query(args) -> int:
    positional = list(args.args)
    text = args.filter
    if text is None and len(positional) > 1 and not os.path.exists(positional[-1]):
        text = positional.pop()
    text = text or ""
    positional = absolute_paths(positional)  # a follower compares them with a watcher's
    try:
        q = parse(text)
    except QueryError as e:
        sys.stderr.write(f"trailscope: bad filter: {e}\n  {text}\n  {' ' * e.position}^\n")
        return EXIT_USAGE
    store = _load(args, positional)
    if _nothing_readable(store):
        sys.stderr.write("trailscope: nothing readable in the given paths\n")
        for p, r in store.skipped()[:20]:
            sys.stderr.write(f"  {clean(p)}: {clean(r)}\n")
        return EXIT_NOTHING
    try:
        mask = q.evaluate(store)
    except QueryError as e:
        sys.stderr.write(f"trailscope: bad filter: {e}\n")
        return EXIT_USAGE
    rows = store.ordered(mask)
    if args.limit is not None:
        rows = rows[: max(0, args.limit)]
    if args.follow:
        if args.new_only:
            rows = rows[:0]
        if args.fmt in ("csv", "table", "jsonl"):
            write_rows(store, rows, args.fmt, sys.stdout)
        return follow_query(store, q, positional, args)
    write_rows(store, rows, args.fmt, sys.stdout)
    return EXIT_OK


def follow_query(store: Store, q, paths: Sequence[str], args) -> int:
    """Stream new matching events as files land, like `tail -f | jq`, until interrupted."""
    import asyncio
    import signal

    from .core.tail import FollowEvent, TailTracker, follow

    tracker = TailTracker(paths)
    tracker.prime(store.files)
    fmt = "jsonl" if args.fmt == "count" else args.fmt
    printed = 0

    def on_event(ev: FollowEvent) -> None:
        nonlocal printed
        if ev.note:
            sys.stderr.write(f"trailscope: {clean(ev.note)}\n")
        for p, r in ev.changes.errors:  # each reported once by the tracker
            sys.stderr.write(f"trailscope: {clean(p)}: {clean(r)}\n")
        for p in ev.changes.gone:
            store.mark_gone(p)
            sys.stderr.write(f"trailscope: file deleted (its events stay): {clean(p)}\n")
        rewritten = set(ev.changes.rewritten)
        for b in ev.batches:
            if b.path in rewritten:
                b.reason = ("rewritten in place after loading; " + b.reason).rstrip("; ")
                sys.stderr.write(f"trailscope: file rewritten in place: {clean(b.path)}\n")
            if b.state != "loaded":
                sys.stderr.write(f"trailscope: skipped {clean(b.path)}: {clean(b.state)}"
                                 + (f": {clean(b.reason)}\n" if b.reason else "\n"))
            store.add(b)
        if not ev.batches:
            return
        res = store.commit()
        if not len(res.rows):
            return
        mask = q.evaluate(store)
        new = res.rows[mask[res.rows]]
        new = store.in_time_order(new)
        if args.limit is not None:
            new = new[: max(0, args.limit - printed)]
        printed += len(new)
        for r in new.tolist():  # flushed per event so pipes see each one at once
            write_rows(store, np.array([r]), fmt, sys.stdout, header=False)
        if args.limit is not None and printed >= args.limit:
            stop.set()

    async def main_loop() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, stop.set)
            except (NotImplementedError, RuntimeError):
                pass
        await follow(tracker, on_event, stop=stop, poll=args.poll, rescan_s=args.rescan,
                     max_bytes=args.max_file_size, jobs=getattr(args, "jobs", None))

    stop = asyncio.Event()
    asyncio.run(main_loop())
    return EXIT_OK


def write_rows(store: Store, rows, fmt: str, out, header: bool = True) -> None:
    if fmt == "count":
        out.write(f"{len(rows)}\n")
        return
    if fmt == "jsonl":
        buf = out.buffer if hasattr(out, "buffer") else None
        for r in rows.tolist():
            try:
                raw = store.canonical(r)
            except OriginalUnavailable as e:
                # Say which event could not be exported, and go on with the rest.
                sys.stderr.write(f"trailscope: {clean(store.location(r))}: {clean(str(e))}\n")
                continue
            if buf is not None:
                buf.write(raw + b"\n")
            else:
                out.write(raw.decode("utf-8", "surrogateescape") + "\n")
        out.flush()
        return
    if fmt == "csv":
        # Raw values (no sanitising): CSV is for other tools; the csv module quotes.
        sio = io.StringIO()
        wr = csv.writer(sio)
        if header:
            wr.writerow(["time", *FIELD_NAMES])
        for r in rows.tolist():
            wr.writerow([format_time(store.time_ms(r))] + [store.value(r, f) for f in FIELD_NAMES])
            if sio.tell() > 1 << 16:
                out.write(sio.getvalue())
                sio.seek(0)
                sio.truncate()
        out.write(sio.getvalue())
        out.flush()
        return
    # table: sanitised for the terminal, one event per line
    widths = {"service": 24, "event": 28, "principal": 48, "ip": 18, "region": 14, "error": 24}
    if header:
        out.write("time                  " + " ".join(f.ljust(widths[f]) for f in TABLE_FIELDS) + "\n")
    for r in rows.tolist():
        cells = [
            clean(store.value(r, f), widths[f]).ljust(widths[f]) for f in TABLE_FIELDS
        ]
        out.write(f"{format_time(store.time_ms(r)):<21} " + " ".join(cells).rstrip() + "\n")
    out.flush()


# ------------------------------------------------------------------ explore
def cmd_explore(args) -> int:
    args.paths = absolute_paths(args.paths)  # the tail compares them with a watcher's
    missing = [p for p in args.paths if not os.path.exists(p)]
    if len(missing) == len(args.paths):
        sys.stderr.write(f"trailscope: no such path: {', '.join(missing)}\n")
        return EXIT_NOTHING
    from .app import TrailscopeApp  # Textual only when the explorer is wanted

    app = TrailscopeApp(
        args.paths,
        initial_filter=args.filter,
        max_bytes=args.max_file_size,
        jobs=args.jobs,
        watch=not args.no_follow,
        poll=args.poll,
        rescan_s=args.rescan,
    )
    app.run()
    return app.return_code or EXIT_OK
