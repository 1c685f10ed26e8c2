"""Command line: `trailscope [explore] PATH...`, `trailscope stats`, `trailscope query`,
`trailscope report` (the case commands live in case_cmd.py), `verify` (verify_cmd.py),
`detect` and `rules` (detect_cmd.py), `trailscope help`.

Exit codes like a Unix tool: 0 ok, 1 nothing readable, 2 usage, path or filter error.
Positional arguments are always paths; the filter is the value of -e/--filter.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import shlex
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, NoReturn, TextIO, TypeVar

import numpy as np

from .case_cmd import (
    QueryCase,
    add_query_case_options,
    add_report_parser,
    case_exit_code,
    cmd_report,
)
from .core import export
from .core.case import CaseError
from .core.discovery import absolute_paths
from .core.fields import FIELD_NAMES, FIELDS
from .core.loader import Progress, load
from .core.normalize import format_time
from .core.query import Query, QueryError, parse
from .core.reader import DEFAULT_MAX_BYTES
from .core.sanitize import clean
from .core.store import OriginalUnavailable, Store
from .help import TOPICS, topic_text
from .s3_cmd import add_options as add_s3_options
from .s3_cmd import split_paths

if TYPE_CHECKING:
    from .app import TrailscopeApp  # imported when the explorer is wanted (Textual)
    from .core.store import CommitResult

_T = TypeVar("_T")

EXIT_OK, EXIT_NOTHING, EXIT_USAGE = 0, 1, 2
COMMANDS = (
    "explore",
    "stats",
    "query",
    "report",
    "verify",
    "sql",
    "athena",
    "cache",
    "detect",
    "rules",
    "card",
    "help",
)
FILTER_OPTIONS = ("-e", "-f", "--filter")


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
    p.add_argument(
        "--follow-symlinks",
        action="store_true",
        help="follow symlinks that lead outside the given folders (never into /proc, /sys, /dev)",
    )
    add_s3_options(p, _size)


class _Exit(Exception):
    """Stop a command with this exit code (its reason already printed)."""

    def __init__(self, code: int):
        super().__init__(code)
        self.code = code


class _ArgumentParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # argparse quotes some arguments in its messages, but not all (an unrecognized
        # one is shown as typed): escape them like any other text from outside.
        super().error(clean(message))


def _filter_opt(p: argparse.ArgumentParser, help: str) -> None:
    # One option, given at most once; `_glue_filters` lets its value start with '-'.
    p.add_argument(*FILTER_OPTIONS, dest="filter", action="append", metavar="FILTER", help=help)


def _glue_filters(argv: list[str]) -> list[str]:
    """`-e VALUE` -> `--filter=VALUE`, so that a filter starting with '-' (a negation:
    `-e '-error:""'`) is taken as the value, as grep takes `-e -x`. Not past `--`."""
    out: list[str] = []
    it = iter(argv)
    for a in it:
        if a == "--":
            out.append(a)
            out.extend(it)
            break
        if a in FILTER_OPTIONS:
            value = next(it, None)
            out.append(a if value is None else f"--filter={value}")
        else:
            out.append(a)
    return out


def _follow_opts(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--poll", action="store_true", help="poll instead of OS file events (NFS, sshfs)"
    )
    p.add_argument(
        "--rescan",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="full rescan interval while following (default 5)",
    )


def version_line() -> str:
    """`trailscope --version`: the version, and whether loading runs the C scan."""
    from importlib.metadata import PackageNotFoundError, version

    from .core.batch import native_status

    try:
        v = version("trailscope")
    except PackageNotFoundError:  # run from a source tree that was never installed
        v = "(not installed)"
    return f"trailscope {v}; C scan: {native_status()[1]}"


# Commands that load trails: the ones a missing C scan slows down.
_LOADING = frozenset({"explore", "stats", "query", "report", "athena", "detect", "card"})


def _say_if_python_scan(command: str) -> None:
    """Once per run, on stderr: loading runs in Python because the C scan is missing
    (a user without a compiler would otherwise get a loader twice as slow, silently).
    Not said when the user turned it off (TRAILSCOPE_NATIVE=0)."""
    from .core.batch import native_available, native_status

    active, what = native_status()
    if command in _LOADING and not active and not native_available():
        sys.stderr.write(
            f"trailscope: the C scan is {what}: loading runs in Python, about half as fast "
            "(installing with a C compiler and the Python headers builds it)\n"
        )


def build_parser() -> argparse.ArgumentParser:
    return _parsers()[0]


def _parsers() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    """The top-level parser and each command's own."""
    ap = _ArgumentParser(
        prog="trailscope",
        description="Explore AWS CloudTrail logs in the terminal.",
        epilog="Run `trailscope PATH...` to open the explorer; `trailscope help query` for "
        "the filter language.",
    )
    ap.add_argument("--version", action="version", version=version_line())
    sub = ap.add_subparsers(
        dest="command",
        metavar="{explore,stats,query,report,verify,sql,athena,cache,detect,rules,card,help}",
    )
    ex = sub.add_parser(
        "explore",
        help="open the explorer (the default command)",
        description="Open the explorer on the trail under PATH... and keep watching it.",
    )
    ex.add_argument("paths", nargs="+", metavar="PATH")
    _filter_opt(ex, "initial filter")
    ex.add_argument("--no-follow", action="store_true", help="do not watch for new files")
    ex.add_argument(
        "--case",
        default=None,
        metavar="PATH",
        help="case file for marks, notes and saved filters (default: one per trail in "
        "$XDG_DATA_HOME/trailscope/cases, created at the first mark)",
    )
    from . import detect_cmd

    detect_cmd.rule_options(ex)
    _follow_opts(ex)
    _common(ex)

    st = sub.add_parser(
        "stats",
        help="summarise a trail",
        description="Summarise the trail under PATH...: events, files by state, value counts.",
    )
    st.add_argument("paths", nargs="+", metavar="PATH")
    st.add_argument("--json", action="store_true", help="print one JSON object")
    st.add_argument("--top", type=int, default=10, help="values per field in text output")
    _common(st)

    q = sub.add_parser(
        "query",
        help="print matching events in time order",
        description="Print the events under PATH... that match FILTER (every event without "
        "one), in time order. Every PATH must exist.",
        epilog="A filter may start with '-': -e '-error:\"\"'. Filter language: "
        "`trailscope help query`.",
    )
    q.add_argument("paths", nargs="+", metavar="PATH")
    _filter_opt(q, "the filter (default: every event)")
    q.add_argument(
        "--format",
        choices=("jsonl", "csv", "table", "count"),
        default="table",
        dest="fmt",
        help="table (default), jsonl (the events), csv (the indexed fields) or count",
    )
    q.add_argument(
        "--raw",
        action="store_true",
        help="jsonl/csv: exact values, with control characters and spreadsheet formulas "
        "left as they are (unsafe on a terminal)",
    )
    q.add_argument("--limit", type=int, default=None, help="at most N events")
    q.add_argument(
        "--follow",
        action="store_true",
        help="keep watching and print new matching events (with count: a new total each "
        "time it changes)",
    )
    q.add_argument(
        "--new-only", action="store_true", help="with --follow: skip events already present"
    )
    add_query_case_options(q)
    _follow_opts(q)
    _common(q)
    from . import card_cmd, detect_cmd, s3_cmd, sql_cmd, verify_cmd

    commands = {
        "explore": ex,
        "stats": st,
        "query": q,
        "report": add_report_parser(sub, _common),
        "verify": verify_cmd.add_parser(sub, _common),
        **sql_cmd.add_parsers(sub, _filter_opt),
        "cache": s3_cmd.add_cache_parser(sub, _size),
        **detect_cmd.add_parsers(sub, _common, _follow_opts),
        "card": card_cmd.add_parser(sub, _common, _filter_opt),
    }
    hp = sub.add_parser(
        "help",
        help="print a reference (the filter language) or a command's help",
        description="Print a reference text shipped with trailscope, or a command's help.",
        epilog="Topics: " + "; ".join(f"{t}: {line}" for t, (_, line) in TOPICS.items()) + ".",
    )
    topics = list(dict.fromkeys((*TOPICS, *commands)))  # `help query`: the reference
    hp.add_argument(
        "topic", nargs="?", choices=topics, metavar="TOPIC", help=f"one of: {', '.join(topics)}"
    )
    commands["help"] = hp
    return ap, commands


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """The command line as `main` reads it (`command` None when none is given). Raises
    SystemExit on a usage error, argparse's way, having printed the message."""
    argv = list(argv)
    if argv and argv[0] not in COMMANDS and not argv[0].startswith("-"):
        argv.insert(0, "explore")
    elif argv and (argv[0] in FILTER_OPTIONS or argv[0].startswith("--filter=")):
        argv.insert(0, "explore")
    argv = _glue_filters(argv)
    ap, commands = _parsers()
    if not argv or argv[0] not in commands:
        args = ap.parse_args(argv)  # --help, or an error
        if args.command is None:
            ap.print_usage(sys.stderr)
            raise SystemExit(EXIT_USAGE)
        return args
    # Paths and options in any order (`query DIR -e F DIR2`): argparse parses
    # intermixed arguments per parser, not across subcommands.
    cmd = commands[argv[0]]
    args = cmd.parse_intermixed_args(argv[1:])
    args.command = argv[0]
    filters = getattr(args, "filter", None) or [""]
    if len(filters) > 1:
        cmd.error("give the filter once (it can hold many terms: -e 'a b')")
    args.filter = filters[0]
    return args


def _cmd_verify(args: argparse.Namespace) -> int:
    from . import s3_cmd, verify_cmd

    if s3_cmd.mixed(args.paths):
        return EXIT_USAGE
    if split_paths(args.paths)[1]:
        return s3_cmd.verify(args, args.paths)
    return verify_cmd.run(args)


def _cmd_sql(args: argparse.Namespace) -> int:
    from . import sql_cmd

    return sql_cmd.cmd_sql(args)


def _cmd_athena(args: argparse.Namespace) -> int:
    from . import sql_cmd

    return sql_cmd.cmd_athena(args, main)


def _cmd_cache(args: argparse.Namespace) -> int:
    from . import s3_cmd

    return s3_cmd.run_cache(args)


def _cmd_detect(args: argparse.Namespace) -> int:
    from . import detect_cmd

    return detect_cmd.cmd_detect(args, _load, _check_paths, _nothing_readable, follow_commits)


def _cmd_rules(args: argparse.Namespace) -> int:
    from . import detect_cmd

    return detect_cmd.cmd_rules(args)


def _cmd_card(args: argparse.Namespace) -> int:
    from . import card_cmd

    return card_cmd.run(args, _load)


def _cmd_report(args: argparse.Namespace) -> int:
    return cmd_report(args, _load)


# Each command's runner (the explorer is the default); command modules are imported
# only when their command runs.
_COMMAND_RUNNERS = {
    "stats": lambda args: cmd_stats(args),
    "query": lambda args: cmd_query(args),
    "report": _cmd_report,
    "verify": _cmd_verify,
    "sql": _cmd_sql,
    "athena": _cmd_athena,
    "cache": _cmd_cache,
    "detect": _cmd_detect,
    "rules": _cmd_rules,
    "card": _cmd_card,
    "help": lambda args: cmd_help(args),
}


def main(argv: Sequence[str] | None = None) -> int:
    # Values may hold lone surrogates (kept exactly from lenient files): never crash on
    # them when printing.
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    try:
        try:
            args = parse_args(sys.argv[1:] if argv is None else argv)
        except SystemExit as e:
            sys.stdout.flush()  # `trailscope -h | head -1`
            return int(e.code or 0) and EXIT_USAGE
        _say_if_python_scan(args.command)
        rc = _COMMAND_RUNNERS.get(args.command, cmd_explore)(args)
        sys.stdout.flush()  # here, so that a closed pipe is caught below
        return rc
    except _Exit as e:
        return e.code
    except BrokenPipeError:
        return _stdout_closed()
    except KeyboardInterrupt:
        return 130


def _stdout_closed() -> int:
    """`trailscope query ... | head`: the reader is gone; stop quietly like other Unix
    tools. What is still buffered goes to /dev/null, so the exit flush cannot fail."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return EXIT_OK


def _check_paths(paths: Sequence[str]) -> bool:
    """Every path the user named must exist: a missing one is an error naming it, never
    dropped (other paths would give a partial answer) or read as something else.
    s3:// URLs are checked when listed; they cannot be mixed with local paths."""
    from . import s3_cmd

    if s3_cmd.mixed(paths):
        return False
    missing = [p for p in split_paths(paths)[0] if not os.path.exists(p)]
    for p in missing:
        hint = ""
        if ":" in p or p.startswith("-") or any(c.isspace() or c in '"()' for c in p):
            hint = f" (a filter goes after -e: -e {_shell_quote(p)})"
        sys.stderr.write(f"trailscope: no such file or directory: {_shell_quote(p)}{hint}\n")
    return not missing


def _shell_quote(s: str) -> str:
    return clean(shlex.quote(s))


def _progress_printer() -> Callable[[Progress], None] | None:
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


def _load(args: argparse.Namespace, paths: Sequence[str], query: Query | None = None) -> Store:
    """The store of the trail under `paths`. For s3:// URLs, the trail (S3Trail) is left
    in `args.s3_trail` (following needs it); _Exit when it cannot be read at all."""
    if split_paths(paths)[1]:
        from . import s3_cmd

        got = s3_cmd.load(args, paths, query)
        if got[0] is None:
            raise _Exit(got[1])
        store, trail = got
        args.s3_trail = trail
        return _kept(store)
    return _kept(
        load(
            paths,
            max_bytes=args.max_file_size,
            jobs=args.jobs,
            on_progress=_progress_printer(),
            follow_symlinks=args.follow_symlinks,
        )
    )


# What the command loaded, while the process is to end with the command (the
# `trailscope` entry point sets a list; cli.main called in-process does not):
# `leave_to_exit` then lets the process end without freeing it. At 10M events,
# freeing a store's millions of values takes ~0.9 s before the shell prompt returns.
_loaded: list[object] | None = None


def _kept(obj: _T) -> _T:
    if _loaded is not None:
        _loaded.append(obj)
    return obj


def keep_loaded() -> None:
    """Keep what the command loads until `leave_to_exit` (the process ends after it)."""
    global _loaded
    _loaded = []


def leave_to_exit() -> None:
    """Give up what the command loaded without freeing it: one reference each that no
    one owns, so neither the command's return nor the interpreter's finalisation walks
    millions of objects, and out of the collector's sight, so its last collection at
    exit does not walk them either; the kernel takes the memory back when the process
    ends (open files are closed by their finalizers at exit as before). CPython only."""
    global _loaded
    kept, _loaded = _loaded or [], None
    if not kept or platform.python_implementation() != "CPython":
        return
    import ctypes
    import gc

    for obj in kept:
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(obj))
    gc.freeze()  # the collection at exit would walk them all (~2 s at 10M)


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
        "time_range": None
        if tr is None
        else {"start": format_time(tr[0]), "end": format_time(tr[1])},
        "bad_records": sum(fi.bad_records for fi in store.files),
    }
    for name in FIELD_NAMES:
        out[f"by_{name}"] = store.count_map(name)
    return out


def cmd_stats(args: argparse.Namespace) -> int:
    if not _check_paths(args.paths):
        return EXIT_USAGE
    store = _load(args, args.paths)
    if args.json:
        sys.stdout.flush()
        sys.stdout.buffer.write(export.dumps(stats_dict(store)) + b"\n")
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
    w(
        f"files       {len(store.files):,} ({states or 'none'}); digest {len(store.digests):,};"
        f" ignored {len(store.ignored):,}\n"
    )
    skipped = store.skipped()
    if skipped:
        w(f"\nskipped or partly loaded ({len(skipped)}):\n")
        for p, r in skipped:
            w(f"  {clean(p)}: {clean(r)}\n")
    for f in FIELDS:
        counts, distinct = store.facet(f.name, None, max(args.top, 0))
        w(f"\n{f.label} ({f.name}) — {distinct:,} distinct\n")
        for v, c in counts:
            w(f"  {c:>10,}  {clean(v, 100) if v else '(empty)'}\n")
    return EXIT_NOTHING if _nothing_readable(store) else EXIT_OK


# -------------------------------------------------------------------- query
TABLE_FIELDS = ("service", "event", "principal", "ip", "region", "error")


def _bad_filter(text: str, e: QueryError) -> None:
    # The filter is shown escaped; the caret counts the escaped text before the error.
    pad = " " * len(clean(text[: e.position]))
    sys.stderr.write(f"trailscope: bad filter: {clean(str(e))}\n  {clean(text)}\n  {pad}^\n")


def cmd_query(args: argparse.Namespace) -> int:
    paths = list(args.paths)
    text = args.filter
    if args.raw and args.fmt not in ("jsonl", "csv"):
        sys.stderr.write(
            f"trailscope: --raw applies to --format jsonl or csv ({args.fmt} is always escaped)\n"
        )
        return EXIT_USAGE
    try:
        qcase = QueryCase.from_args(args, paths)
        text = qcase.filter_text(args.saved, text)
    except CaseError as e:
        sys.stderr.write(f"trailscope: {clean(str(e))}\n")
        return case_exit_code(e)
    try:
        q = parse(text)
    except QueryError as e:
        _bad_filter(text, e)
        return EXIT_USAGE
    if not _check_paths(paths):
        return EXIT_USAGE
    if not split_paths(paths)[1]:
        paths = absolute_paths(paths)  # a follower compares them with a watcher's
    store = _load(args, paths, q)
    if _nothing_readable(store):
        sys.stderr.write("trailscope: nothing readable in the given paths\n")
        for p, r in store.skipped()[:20]:
            sys.stderr.write(f"  {clean(p)}: {clean(r)}\n")
        return EXIT_NOTHING
    qcase.attach(store, q)
    if q.uses_detections and (rc := _attach_detections(store)) is not None:
        return rc
    try:
        mask = q.evaluate(store)
    except QueryError as e:
        _bad_filter(text, e)
        return EXIT_USAGE
    rows = store.ordered(mask)
    if args.follow and args.new_only:
        rows = rows[:0]
    if args.limit is not None:
        rows = rows[: max(0, args.limit)]
    write_rows(store, rows, args.fmt, sys.stdout, raw=args.raw)
    if args.follow:
        return follow_query(store, q, paths, args, shown=len(rows))
    return EXIT_OK


def _attach_detections(store: Store) -> int | None:
    """Bind the built-in and configured rules to the store, for `rule:` and
    `has:detection` (docs/detections.md); an exit code when the config is unusable."""
    from .core.detect import Detections
    from .core.detect.config import ConfigError, rule_set

    try:
        Detections(store, rule_set().rules)
    except ConfigError as e:
        sys.stderr.write(f"trailscope: {clean(str(e))}\n")
        return EXIT_USAGE
    return None


def follow_query(
    store: Store, q: Query, paths: Sequence[str], args: argparse.Namespace, shown: int = 0
) -> int:
    """Stream new matching events as files land, like `tail -f | jq`, until interrupted,
    the --limit is reached or the reader of stdout goes away. `shown`: events already
    printed (with --format count, the total already printed)."""
    raw = getattr(args, "raw", False)
    printed = shown

    def on_commit(res: CommitResult) -> bool:
        nonlocal printed
        mask = q.evaluate(store)
        new = res.rows[mask[res.rows]]
        new = store.in_time_order(new)
        if args.limit is not None:
            new = new[: max(0, args.limit - printed)]
        if not len(new):
            return False
        printed += len(new)
        if args.fmt == "count":
            sys.stdout.write(f"{printed}\n")  # the new total
            sys.stdout.flush()
        else:
            for r in new.tolist():  # flushed per event so pipes see each one at once
                write_rows(store, np.array([r]), args.fmt, sys.stdout, header=False, raw=raw)
        return args.limit is not None and printed >= args.limit

    if args.limit is not None and printed >= args.limit:
        return EXIT_OK
    return follow_commits(store, paths, args, on_commit)


def follow_commits(
    store: Store,
    paths: Sequence[str],
    args: argparse.Namespace,
    on_commit: Callable[[CommitResult], bool],
) -> int:
    """Watch `paths` and commit each arrival into `store`, calling `on_commit(result)`
    after each commit that added events (it returns True to stop), until interrupted or
    the reader of stdout goes away. Skipped, rewritten and deleted files are reported on
    stderr as they happen."""
    import asyncio
    import signal

    from .core.tail import FollowEvent, TailTracker, follow

    s3_trail = getattr(args, "s3_trail", None)
    if s3_trail is None:
        tracker = TailTracker(paths, follow_symlinks=args.follow_symlinks)
        tracker.prime(store.files)
    closed = False

    def on_event(ev: FollowEvent) -> None:
        nonlocal closed
        try:
            report(ev)
        except BrokenPipeError:
            # The follower would report the error and restart; there is no one left to
            # print for, so stop instead.
            closed = True
            stop.set()

    def report(ev: FollowEvent) -> None:
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
                sys.stderr.write(
                    f"trailscope: skipped {clean(b.path)}: {clean(b.state)}"
                    + (f": {clean(b.reason)}\n" if b.reason else "\n")
                )
            store.add(b)
        if not ev.batches:
            return
        res = store.commit()
        if len(res.rows) and on_commit(res):
            stop.set()

    async def main_loop() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, stop.set)
            except (NotImplementedError, RuntimeError):
                pass
        if s3_trail is not None:  # lists the day folders after the newest key seen
            await s3_trail.follow(
                on_event, stop=stop, max_bytes=args.max_file_size, jobs=getattr(args, "jobs", None)
            )
            return
        await follow(
            tracker,
            on_event,
            stop=stop,
            poll=args.poll,
            rescan_s=args.rescan,
            max_bytes=args.max_file_size,
            jobs=getattr(args, "jobs", None),
        )

    stop = asyncio.Event()
    asyncio.run(main_loop())
    if closed:
        raise BrokenPipeError  # main() ends quietly
    return EXIT_OK


def write_rows(
    store: Store,
    rows: np.ndarray,
    fmt: str,
    out: TextIO,
    header: bool = True,
    raw: bool = False,
) -> None:
    """Print rows in one of the query formats. jsonl and csv are made safe by
    core/export.py (exact values with `raw`); table cells are `clean`ed and cut."""
    if fmt == "count":
        out.write(f"{len(rows)}\n")
        out.flush()
        return
    if fmt == "jsonl":
        out.flush()
        buf = out.buffer if hasattr(out, "buffer") else io.BytesIO()

        def unavailable(r: int, e: OriginalUnavailable) -> None:
            # Say which event could not be exported, and go on with the rest.
            sys.stderr.write(f"trailscope: {clean(store.location(r))}: {clean(str(e))}\n")

        export.write_jsonl(store, rows, buf, raw=raw, on_unavailable=unavailable)
        if isinstance(buf, io.BytesIO):
            out.write(buf.getvalue().decode("utf-8", "surrogateescape"))
        out.flush()
        return
    if fmt == "csv":
        export.write_csv(store, rows, out, header=header, raw=raw)
        out.flush()
        return
    # table: sanitised for the terminal, one event per line
    widths = {"service": 24, "event": 28, "principal": 48, "ip": 18, "region": 14, "error": 24}
    if header:
        titles = " ".join(f.ljust(widths[f]) for f in TABLE_FIELDS)
        out.write("time                  " + titles + "\n")
    for r in rows.tolist():
        cells = [clean(store.value(r, f), widths[f]).ljust(widths[f]) for f in TABLE_FIELDS]
        out.write(f"{format_time(store.time_ms(r)):<21} " + " ".join(cells).rstrip() + "\n")
    out.flush()


# --------------------------------------------------------------------- help
def cmd_help(args: argparse.Namespace) -> int:
    """`trailscope help`: the overview; `help query`: the filter language (Markdown, as
    tui/query.md holds it); `help COMMAND`: that command's --help."""
    ap, commands = _parsers()
    topic = args.topic
    if topic in TOPICS:
        sys.stdout.write(topic_text(topic))
    elif topic in commands:
        commands[topic].print_help(sys.stdout)
    else:
        ap.print_help(sys.stdout)
        sys.stdout.write("\nreference topics (trailscope help TOPIC):\n")
        for t, (_, line) in TOPICS.items():
            sys.stdout.write(f"  {t:<10} {line}\n")
    return EXIT_OK


# ------------------------------------------------------------------ explore
def cmd_explore(args: argparse.Namespace) -> int:
    app = explorer_app(args)
    if isinstance(app, int):
        return app
    _kept(app)  # its store: quitting at 10M would free it before the prompt returns
    app.run()
    return app.return_code or EXIT_OK


def explorer_app(args: argparse.Namespace) -> TrailscopeApp | int:
    """The explorer for the command line's paths (an S3 trail listed first, fetched as
    it loads), or an exit code when it cannot open."""
    if not _check_paths(args.paths):
        return EXIT_USAGE
    source = None
    if split_paths(args.paths)[1]:
        from . import s3_cmd

        listed = s3_cmd.explorer_source(args, args.paths)
        if isinstance(listed, int):
            return listed
        source = listed
    else:
        args.paths = absolute_paths(args.paths)  # the tail compares them with a watcher's
    from . import detect_cmd

    chosen = detect_cmd.explorer_rules(args)
    if isinstance(chosen, int):
        return chosen
    rules, rules_skipped = chosen if chosen is not None else (None, [])
    from .app import TrailscopeApp  # Textual only when the explorer is wanted
    from .core.case import check_case_location, default_case_path
    from .core.history import FilterHistory

    try:
        case_path = args.case or str(default_case_path(args.paths))
        check_case_location(case_path, args.paths)
    except CaseError as e:
        sys.stderr.write(f"trailscope: {clean(str(e))}\n")
        return EXIT_USAGE

    return TrailscopeApp(
        args.paths,
        initial_filter=args.filter,
        max_bytes=args.max_file_size,
        jobs=args.jobs,
        watch=not args.no_follow,
        poll=args.poll,
        rescan_s=args.rescan,
        follow_symlinks=args.follow_symlinks,
        source=source,
        case_path=case_path,
        history=FilterHistory(),
        rules=rules,
        rules_skipped=len(rules_skipped),
    )
