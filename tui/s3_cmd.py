"""s3:// paths on the command line: the S3 options, loading and following a trail in S3,
`trailscope verify s3://...`, and `trailscope cache info|clear` (docs/s3.md).

The engine is `tui.core.s3source`; this module turns options into its S3Options, shows
progress on stderr, and maps its errors to exit codes.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from .core.s3layout import BadURL, Window, is_s3_url
from .core.sanitize import clean

if TYPE_CHECKING:
    from .core.discovery import Discovery
    from .core.query import Query
    from .core.s3source import Fetched, S3Progress, S3Source, S3Trail
    from .core.store import Store

EXIT_OK, EXIT_NOTHING, EXIT_USAGE = 0, 1, 2


def add_options(p: argparse.ArgumentParser, size_type: Callable[[str], int]) -> None:
    g = p.add_argument_group(
        "s3:// paths",
        "read the trail straight from S3 (credentials: the standard AWS chain; see docs/s3.md)",
    )
    g.add_argument(
        "--profile", default=None, metavar="NAME", help="AWS profile (default: the standard chain)"
    )
    g.add_argument(
        "--endpoint-url",
        default=None,
        metavar="URL",
        help="S3 endpoint (an S3-compatible store, a local test server)",
    )
    g.add_argument(
        "--since",
        default=None,
        metavar="TIME",
        help="read only the day folders that can hold events from TIME on "
        "(ISO, or -2h / now-2h: before now)",
    )
    g.add_argument(
        "--until",
        default=None,
        metavar="TIME",
        help="...and up to TIME (its day folder and the next: delivery lags)",
    )
    g.add_argument(
        "--account",
        action="append",
        default=None,
        metavar="ID",
        help="read only these accounts' folders (repeatable, or comma-separated)",
    )
    g.add_argument(
        "--region",
        action="append",
        default=None,
        metavar="NAME",
        help="read only these regions' folders (repeatable, or comma-separated)",
    )
    g.add_argument(
        "--connections", type=int, default=16, metavar="N", help="downloads at a time (default 16)"
    )
    g.add_argument(
        "--cache-size",
        type=size_type,
        default=None,
        metavar="SIZE",
        help="keep the local cache of S3 objects under SIZE (default 10G)",
    )
    g.add_argument(
        "--interval",
        type=float,
        default=None,
        metavar="SECONDS",
        help="following: list the day folders this often (default 30)",
    )


def split_paths(paths: Sequence[str]) -> tuple[list[str], list[str]]:
    local = [p for p in paths if not is_s3_url(p)]
    urls = [p for p in paths if is_s3_url(p)]
    return local, urls


def mixed(paths: Sequence[str]) -> bool:
    local, urls = split_paths(paths)
    if local and urls:
        sys.stderr.write("trailscope: give either local paths or s3:// URLs, not both\n")
        return True
    return False


# -------------------------------------------------------------------- options


class OptionError(ValueError):
    pass


def _time_ms(text: str, bound: str) -> int:
    from .core.query import QueryError, Time, parse

    text = text.strip()
    try:
        root = parse(f'{bound}:"{text}"' if " " in text else f"{bound}:{text}").root
    except QueryError as e:
        raise OptionError(f"--{bound}: not a time: {text} ({e})") from None
    if not isinstance(root, Time):
        raise OptionError(f"--{bound}: not a time: {text}")
    if root.anchor == "abs":
        return root.ms
    now = time.time_ns() // 1_000_000
    return now + root.ms + (1 if bound == "until" else 0)


def filter_window(query: Query | None) -> Window:
    """The absolute time bounds a filter puts on every event it matches (`since:` and
    `until:` at its top level; `since:-1h`, relative to the newest event, gives none)."""
    from .core.query import And, Time

    root = getattr(query, "root", None)
    nodes = (
        [root] if isinstance(root, Time) else (list(root.children) if isinstance(root, And) else [])
    )
    lo = hi = None
    now = time.time_ns() // 1_000_000
    for n in nodes:
        if not isinstance(n, Time) or n.anchor == "newest":
            continue
        base = n.ms if n.anchor == "abs" else now + n.ms
        if n.bound == "since":
            lo = base if lo is None else max(lo, base)
        else:
            base = base if n.anchor == "abs" else base + 1
            hi = base if hi is None else min(hi, base)
    return Window(lo, hi)


def window(args: argparse.Namespace, query: Query | None = None) -> Window:
    lo = _time_ms(args.since, "since") if getattr(args, "since", None) else None
    hi = _time_ms(args.until, "until") if getattr(args, "until", None) else None
    if query is not None:
        fw = filter_window(query)
        if fw.since_ms is not None:
            lo = fw.since_ms if lo is None else max(lo, fw.since_ms)
        if fw.until_ms is not None:
            hi = fw.until_ms if hi is None else min(hi, fw.until_ms)
    return Window(lo, hi)


def _names(values: list[str] | None) -> frozenset[str] | None:
    if not values:
        return None
    return frozenset(v.strip() for vs in values for v in vs.split(",") if v.strip())


def make_trail(
    args: argparse.Namespace,
    urls: Sequence[str],
    query: Query | None = None,
    digests: bool = False,
) -> S3Trail:
    """The S3Trail for `urls` from the command line. Raises OptionError, BadURL."""
    from .core.s3cache import DEFAULT_LIMIT
    from .core.s3source import S3Options, S3Trail

    if args.connections < 1:
        raise OptionError("--connections must be at least 1")
    opts = S3Options(
        profile=args.profile,
        endpoint_url=args.endpoint_url,
        window=window(args, query),
        accounts=_names(args.account),
        regions=_names(args.region),
        connections=args.connections,
        cache_limit=args.cache_size if args.cache_size is not None else DEFAULT_LIMIT,
        digests=digests,
        interval=args.interval if args.interval is not None else 30.0,
    )
    return S3Trail(urls, opts)


# -------------------------------------------------------------------- loading


def _mb(n: int) -> str:
    return f"{n / 1e6:,.1f} MB"


def _progress_printer() -> Callable[[S3Progress], None] | None:
    if not sys.stderr.isatty():
        return None
    started = time.monotonic()
    last = [0.0]

    def show(p: S3Progress) -> None:
        now = time.monotonic()
        if now - last[0] < 0.1 and p.objects_done != p.objects_total:
            return
        last[0] = now
        sys.stderr.write(
            "\r"
            + p.text(now - started)
            + " " * 4
            + ("\n" if p.objects_done == p.objects_total else "")
        )
        sys.stderr.flush()

    return show


def discover(
    trail: S3Trail, on_progress: Callable[[S3Progress], None] | None = None
) -> tuple[Discovery, Fetched]:
    """List and fetch with progress on stderr, then one summary line. Raises S3Error."""
    t0 = time.monotonic()
    lst = trail.list()
    wanted = [o for o in lst.objects if o.kind != "digest" or trail.opts.digests]
    got = trail.fetch(wanted, on_progress or _progress_printer())
    p = got.progress
    sys.stderr.write(
        f"trailscope: s3: {len(wanted):,} objects in {len(lst.listed):,} prefixes "
        f"({trail.requests['list']:,} list requests); {p.objects_total - p.cached - p.failed:,} "
        f"downloaded ({_mb(p.transferred)}), {p.cached:,} from the cache, {p.failed:,} "
        f"failed; {time.monotonic() - t0:.1f} s\n"
    )
    return trail.discovery(lst, got), got


def load(
    args: argparse.Namespace, urls: Sequence[str], query: Query | None = None
) -> tuple[Store, S3Trail] | tuple[None, int]:
    """(store, trail) for `trailscope stats/query/report s3://...`; store None when the
    trail cannot be read at all (the reason is printed)."""
    from .core.loader import load as load_files
    from .core.s3source import S3Error

    try:
        trail = make_trail(args, urls, query)
        disc, _ = discover(trail)
    except (OptionError, BadURL) as e:
        sys.stderr.write(f"trailscope: {clean(str(e))}\n")
        return None, EXIT_USAGE
    except S3Error as e:
        sys.stderr.write(f"trailscope: {clean(str(e))}\n")
        return None, EXIT_NOTHING
    from .cli import _progress_printer as load_progress

    store = load_files(
        (),
        max_bytes=args.max_file_size,
        jobs=args.jobs,
        on_progress=load_progress(),
        discovered=disc,
    )
    return store, trail


def explorer_source(args: argparse.Namespace, urls: Sequence[str]) -> S3Source | int:
    """The explorer's S3 trail, listed before it opens (the explorer fetches it as it
    loads, with progress in its status line): an S3Source, or an exit code when the
    trail cannot be read at all."""
    from .core.s3source import S3Error, S3Source

    try:
        trail = make_trail(args, urls, query=None)
        if sys.stderr.isatty():
            sys.stderr.write(f"trailscope: s3: listing {clean(', '.join(urls))}…\n")
        lst = trail.list()
    except (OptionError, BadURL) as e:
        sys.stderr.write(f"trailscope: {clean(str(e))}\n")
        return EXIT_USAGE
    except S3Error as e:
        sys.stderr.write(f"trailscope: {clean(str(e))}\n")
        return EXIT_NOTHING
    return S3Source(trail, lst)


# -------------------------------------------------------------------- verify


def verify(args: argparse.Namespace, urls: Sequence[str]) -> int:
    """`trailscope verify s3://...`: fetch digests (with their signature metadata) and log
    files into the cache, lay them out under a private folder of hard links in the S3
    layout, and check that as `verify` checks a local copy, naming files by URL."""
    from . import verify_cmd
    from .core.s3source import S3Error
    from .core.s3verify import SignedCopy, listed_keys

    try:
        trail = make_trail(args, urls, digests=True)
        disc, got = discover(trail)
        # The files the digests list, wherever they are: a window or a prefix may leave
        # some out of the listing (the last hour of a day is in its digest of the next).
        have = {tf.path for tf in disc.files}
        more = trail.fetch_keys((b, k) for b, k in listed_keys(disc) if f"s3://{b}/{k}" not in have)
    except (OptionError, BadURL) as e:
        sys.stderr.write(f"trailscope verify: {clean(str(e))}\n")
        return EXIT_USAGE
    except S3Error as e:
        sys.stderr.write(f"trailscope verify: {clean(str(e))}\n")
        return EXIT_NOTHING
    disc.files += more.files
    disc.errors += more.errors
    with SignedCopy(trail.cache.root, disc, got.metadata) as copy:
        if not copy.roots:
            sys.stderr.write(
                f"trailscope verify: nothing could be read from {clean(', '.join(urls))}\n"
            )
            for url, reason in disc.errors[:20]:
                sys.stderr.write(f"  {clean(url)}: {clean(reason)}\n")
            return EXIT_NOTHING
        return verify_cmd.run(
            args,
            paths=copy.roots,
            signatures=copy.signatures,
            rename=copy.rename,
            unreadable=disc.errors + copy.unplaced,
        )


# -------------------------------------------------------------------- cache


def add_cache_parser(
    sub: argparse._SubParsersAction[Any], size_type: Callable[[str], int]
) -> argparse.ArgumentParser:
    c = sub.add_parser(
        "cache",
        help="the local cache of S3 objects: info, clear",
        description="The local cache of objects read from S3 (content-addressed by "
        "bucket, key and ETag, in $XDG_CACHE_HOME/trailscope/s3).",
    )
    c.add_argument("action", choices=("info", "clear"))
    c.add_argument("--json", action="store_true", help="info: print one JSON object")
    c.add_argument(
        "--cache-size",
        type=size_type,
        default=None,
        metavar="SIZE",
        help="info: the limit to report (default 10G)",
    )
    return c


def run_cache(args: argparse.Namespace) -> int:
    from .core import export
    from .core.s3cache import DEFAULT_LIMIT, ObjectCache

    cache = ObjectCache(limit=args.cache_size if args.cache_size is not None else DEFAULT_LIMIT)
    if args.action == "clear":
        n, size = cache.clear()
        sys.stdout.write(
            f"removed {n:,} cached objects ({_mb(size)}) from {clean(str(cache.root))}\n"
        )
        return EXIT_OK
    info = cache.info()
    if args.json:
        sys.stdout.buffer.write(
            export.dumps(
                {
                    "path": info.root,
                    "objects": info.entries,
                    "bytes": info.bytes,
                    "limit": info.limit,
                    "oldest_use": _iso(info.oldest_use),
                    "newest_use": _iso(info.newest_use),
                }
            )
            + b"\n"
        )
        return EXIT_OK
    sys.stdout.write(
        f"path     {clean(info.root)}\nobjects  {info.entries:,}\n"
        f"size     {_mb(info.bytes)} (limit {_mb(info.limit)})\n"
        f"used     {_iso(info.oldest_use) or '-'} .. {_iso(info.newest_use) or '-'}\n"
    )
    return EXIT_OK


def _iso(t: float | None) -> str | None:
    if t is None:
        return None
    from datetime import UTC, datetime

    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
