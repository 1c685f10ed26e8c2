"""`trailscope sql` (a filter as SQL for Athena, CloudTrail Lake or DuckDB) and
`trailscope athena` (run it through the Athena API and open the events it returns).

The translation is tui.core.sqlgen, the API flow tui.core.athena; docs/sql.md documents
both. Exit codes: 0 ok, 1 the query failed or was cancelled in Athena, 2 usage, a bad
filter or one the dialect cannot express.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from .core.query import QueryError, parse
from .core.sanitize import clean
from .core.sqlschema import DIALECTS

if TYPE_CHECKING:
    from .core.sqlgen import SqlError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def add_parsers(
    sub: argparse._SubParsersAction[Any],
    filter_opt: Callable[[argparse.ArgumentParser, str], None],
) -> dict[str, argparse.ArgumentParser]:
    """Register `sql` and `athena` on `sub`; `filter_opt(parser, help)` adds -e/--filter."""
    s = sub.add_parser(
        "sql",
        help="print the SQL form of a filter (Athena, CloudTrail Lake, DuckDB)",
        description="Print the SQL that selects the events FILTER selects, for Athena's "
        "CloudTrail table, a CloudTrail Lake event data store or DuckDB. "
        "See docs/sql.md for what each dialect can express.",
        epilog="Relative times (since:-1h, since:now-1h) count from now.",
    )
    filter_opt(s, "the filter (default: every event)")
    s.add_argument("--dialect", choices=DIALECTS, default="athena")
    s.add_argument(
        "--table",
        default=None,
        help="table name (default cloudtrail_logs; lake: the event data store ID)",
    )
    s.add_argument("--limit", type=int, default=None, help="add LIMIT N")
    s.add_argument(
        "--no-partition",
        action="store_true",
        help="no predicate on the table's `timestamp` day partition",
    )
    s.add_argument(
        "--ddl",
        metavar="S3_LOCATION",
        default=None,
        help="print the CREATE TABLE statement (partition projection) for the "
        "trail at s3://bucket/AWSLogs/ACCOUNT/CloudTrail/REGION/ instead",
    )
    s.add_argument(
        "--view",
        nargs="+",
        metavar="PATH",
        default=None,
        help="duckdb: first print the view that reads the log files under PATH...",
    )

    a = sub.add_parser(
        "athena",
        help="run a filter in Athena and explore the events it returns",
        description="Run FILTER as SQL in Athena over the CloudTrail table, page through "
        "the results into a local file (in trailscope's cache folder) and open it in the "
        "explorer, or print it like `query` (--format) or `stats` (--stats). Credentials "
        "come from the standard AWS chain (profiles, environment, SSO, instance roles).",
        epilog="Athena reports the bytes each query scans; the cost shown is an estimate "
        "at $5 per TB (10 MB minimum). See docs/sql.md.",
    )
    filter_opt(a, "the filter (default: every event: mind the cost)")
    a.add_argument("--database", required=True, help="the Glue database holding the table")
    a.add_argument("--table", default="cloudtrail_logs", help="default cloudtrail_logs")
    a.add_argument("--workgroup", default=None, help="Athena workgroup (default: primary)")
    a.add_argument(
        "--output-location",
        default=None,
        metavar="S3_URI",
        help="s3:// folder for the results (when the workgroup sets none)",
    )
    a.add_argument("--catalog", default=None, help="data catalog (default AwsDataCatalog)")
    a.add_argument("--region", default=None, help="AWS region (default: the profile's)")
    a.add_argument("--profile", default=None, help="AWS profile")
    a.add_argument("--limit", type=int, default=None, help="at most N events")
    a.add_argument(
        "--no-partition",
        action="store_true",
        help="no predicate on the table's `timestamp` day partition",
    )
    a.add_argument(
        "--format",
        choices=("table", "jsonl", "csv", "count"),
        default=None,
        dest="fmt",
        help="print the events as `query` does instead of exploring",
    )
    a.add_argument("--stats", action="store_true", help="summarise the events as `stats` does")
    a.add_argument("--poll-seconds", type=float, default=1.0, help=argparse.SUPPRESS)
    return {"sql": s, "athena": a}


def _filter_error(text: str, e: QueryError | SqlError, kind: str = "bad filter") -> int:
    pad = " " * len(clean(text[: e.position]))
    sys.stderr.write(f"trailscope: {kind}: {clean(str(e))}\n  {clean(text)}\n  {pad}^\n")
    return EXIT_USAGE


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _print_sql(sql: str) -> None:
    # The translator writes control characters as chr(N); clean() is the last guard.
    sys.stdout.write("\n".join(clean(line) for line in sql.splitlines()) + "\n")


def cmd_sql(args: argparse.Namespace) -> int:
    # sqlglot takes ~0.3 s to import: only the commands that translate pay for it.
    from .core.sqlgen import SqlError, to_sql

    if args.ddl is not None:
        from .core.sqlschema import athena_ddl

        _print_sql(athena_ddl(args.table or "cloudtrail_logs", args.ddl))
        return EXIT_OK
    try:
        q = parse(args.filter)
    except QueryError as e:
        return _filter_error(args.filter, e)
    try:
        out = to_sql(
            q,
            args.dialect,
            table=args.table,
            now_ms=_now_ms(),
            limit=args.limit,
            partition=not args.no_partition,
        )
    except SqlError as e:
        return _filter_error(args.filter, e, "cannot express")
    if args.view:
        if args.dialect != "duckdb":
            sys.stderr.write("trailscope: --view goes with --dialect duckdb\n")
            return EXIT_USAGE
        from .core.discovery import discover
        from .core.sqlschema import duckdb_view_sql

        files = [f.path for f in discover(args.view).files if f.kind == "log"]
        if not files:
            sys.stderr.write("trailscope: no CloudTrail log files under the given paths\n")
            return EXIT_USAGE
        _print_sql(duckdb_view_sql(files, view=args.table or "cloudtrail_logs"))
    for note in out.notes:
        sys.stdout.write(f"-- {clean(note)}\n")
    _print_sql(out.sql + ";")
    return EXIT_OK


def _athena_client(args: argparse.Namespace) -> Any:  # a boto3 client (no stubs), or None
    try:
        import boto3
    except ImportError:
        sys.stderr.write("trailscope: `athena` needs boto3: pip install 'trailscope[athena]'\n")
        return None
    session = boto3.session.Session(profile_name=args.profile, region_name=args.region)
    return session.client("athena")


def cmd_athena(args: argparse.Namespace, run_cli: Callable[[Sequence[str] | None], int]) -> int:
    """`run_cli(argv)` runs another trailscope command (cli.main) on the results."""
    from .core import athena
    from .core.sqlgen import SqlError, to_sql

    try:
        q = parse(args.filter)
    except QueryError as e:
        return _filter_error(args.filter, e)
    try:
        out = to_sql(
            q,
            "athena",
            table=args.table,
            now_ms=_now_ms(),
            select="records",
            limit=args.limit,
            partition=not args.no_partition,
        )
    except SqlError as e:
        return _filter_error(args.filter, e, "cannot express")
    client = _athena_client(args)
    if client is None:
        return EXIT_USAGE
    err = sys.stderr.write
    for note in out.notes:
        err(f"trailscope: {clean(note)}\n")
    seen: list[str] = []

    def status(ex: athena.Execution) -> None:
        if not seen or seen[-1] != ex.state:
            seen.append(ex.state)
            err(f"trailscope: athena query {clean(ex.query_id)}: {clean(ex.state)}\n")

    try:
        ex = athena.run_query(
            client,
            out.sql,
            database=args.database,
            workgroup=args.workgroup,
            output_location=args.output_location,
            catalog=args.catalog,
            poll_s=args.poll_seconds,
            on_status=status,
        )
    except KeyboardInterrupt:
        err("trailscope: interrupted: the Athena query was stopped\n")
        return 130
    except athena.AthenaError as e:
        err(f"trailscope: {clean(str(e))}\n")
        return EXIT_FAILED
    except Exception as e:  # botocore's ClientError, no credentials, no endpoint...
        err(f"trailscope: athena: {clean(str(e))}\n")
        return EXIT_FAILED
    try:
        path, n = athena.fetch_to_trail(client, ex)
    except Exception as e:
        err(f"trailscope: athena results of {clean(ex.query_id)}: {clean(str(e))}\n")
        return EXIT_FAILED
    err(
        f"trailscope: {n:,} events; Athena scanned {athena.human_bytes(ex.scanned_bytes)} "
        f"(about ${ex.cost_usd:.4f} at $5/TB, an estimate); saved to {clean(str(path))}\n"
    )
    if args.fmt is not None:
        return run_cli(["query", str(path), "--format", args.fmt])
    if args.stats:
        return run_cli(["stats", str(path)])
    return run_cli(["explore", str(path), "--no-follow"])
