"""The case on the command line: `trailscope report`, and `--case` / `--saved` for
`trailscope query` (docs/case.md)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from .core.case import (
    Case,
    CaseError,
    CaseUnreadable,
    default_case_path,
    now_iso,
    open_case_for,
    tool_version,
)
from .core.sanitize import clean

if TYPE_CHECKING:
    from .core.query import Query
    from .core.report import OriginLookup
    from .core.store import Store

EXIT_OK, EXIT_NOTHING, EXIT_USAGE = 0, 1, 2


def add_query_case_options(q: argparse.ArgumentParser) -> None:
    q.add_argument(
        "--case",
        default=None,
        metavar="PATH",
        help="case file for mark:/has:mark/has:note and --saved "
        "(default: the paths' own case, when there is one)",
    )
    q.add_argument(
        "--saved",
        default=None,
        metavar="NAME",
        help="use the filter saved under NAME in the case (a FILTER given too narrows it)",
    )


def add_report_parser(
    sub: argparse._SubParsersAction[Any], common: Callable[[argparse.ArgumentParser], None]
) -> argparse.ArgumentParser:
    r = sub.add_parser(
        "report",
        help="the case's marked and annotated events, in time order",
        description="Print a report of the case's marked and annotated events. With PATHs "
        "and no --case, the paths' default case; with PATHs, each event is also checked "
        "against the loaded trail.",
    )
    r.add_argument("paths", nargs="*", metavar="PATH")
    r.add_argument("--case", default=None, metavar="PATH", help="the case file")
    r.add_argument("--format", choices=("md", "jsonl"), default="md", dest="fmt")
    common(r)
    return r


def _say(msg: str) -> None:
    sys.stderr.write(f"trailscope: {clean(msg)}\n")


def case_exit_code(e: CaseError) -> int:
    """1 for a file that is not a readable case (like an unreadable trail), else 2."""
    return EXIT_NOTHING if isinstance(e, CaseUnreadable) else EXIT_USAGE


# -------------------------------------------------------------------- query


class QueryCase:
    """The case a `trailscope query` reads (never writes): `--case PATH`, else the
    paths' default case if one exists, else none (`mark:` then matches nothing)."""

    def __init__(self, case: Case | None) -> None:
        self.case = case

    @classmethod
    def from_args(cls, args: argparse.Namespace, paths: Sequence[str]) -> QueryCase:
        """Raises CaseError when --case names no usable case, or --saved needs one."""
        if args.case is not None:
            return cls(open_case_for(paths, args.case, create=False))
        if not paths:
            return cls(None)
        try:
            return cls(open_case_for(paths, None, create=False))
        except CaseUnreadable:
            raise
        except CaseError:
            if args.saved is not None:
                raise CaseError(
                    f"--saved needs a case: none at {default_case_path(paths)} (give --case PATH)"
                ) from None
            return cls(None)

    def filter_text(self, saved: str | None, text: str) -> str:
        """The filter to run: the saved one (narrowed by `text`), or `text`."""
        if saved is None:
            return text
        assert self.case is not None  # from_args made sure
        got = self.case.saved_filter(saved)
        if got is None:
            names = ", ".join(f.name for f in self.case.saved_filters()) or "none"
            raise CaseError(f"no saved filter {saved!r} in {self.case.path} (saved: {names})")
        if not text.strip():
            return got.filter
        if not got.filter.strip():
            return text
        return f"({got.filter}) ({text})"

    def attach(self, store: Store, query: Query) -> None:
        """Give the store the case's marks and notes before the query runs."""
        if self.case is not None:
            from .core.annotations import Annotations

            Annotations(self.case, store)
        elif query.uses_marks:
            _say("no case for these paths, so nothing is marked (give --case PATH)")


# -------------------------------------------------------------------- report


def credential_origin_lookup(store: Store | None) -> OriginLookup | None:
    """The report's credential-origin column: a `report.OriginLookup` over the loaded
    trail (the chain of the event's access key, on one line: `minted by AssumeRole by
    CALLER at TIME from IP <- ...`), or None without a trail, which leaves it out."""
    if store is None:
        return None
    from .core.credentials import origin_lookup

    return origin_lookup(store)


def cmd_report(args: argparse.Namespace, load: Callable) -> int:
    """`trailscope report`; `load(args, paths)` loads a trail into a store."""
    from .core import report

    paths = list(args.paths)
    if args.case is None and not paths:
        _say("report needs a case: give --case PATH, or the trail PATHs whose case it is")
        return EXIT_USAGE
    try:
        case = open_case_for(paths, args.case, create=False)
    except CaseError as e:
        if args.case is None and not isinstance(e, CaseUnreadable):
            _say(f"no case for these paths at {default_case_path(paths)} (give --case PATH)")
        else:
            _say(str(e))
        return case_exit_code(e)
    with case:
        annotations = None
        store = None
        if paths:
            from .core.annotations import Annotations

            store = load(args, paths)
            if len(store) == 0 and not any(fi.state in ("loaded", "empty") for fi in store.files):
                _say("nothing readable in the given paths")
                for p, r in store.skipped()[:20]:
                    sys.stderr.write(f"  {clean(p)}: {clean(r)}\n")
                return EXIT_NOTHING
            annotations = Annotations(case, store)
        origin_of = credential_origin_lookup(store)
        items = report.report_items(case.events(), annotations, origin_of)
        if args.fmt == "jsonl":
            text = report.jsonl_report(items, with_origin=origin_of is not None)
        else:
            text = report.markdown_report(
                items,
                case_path=str(case.path),
                trails=case.trails(),
                generated_at=now_iso(),
                version=tool_version(),
                with_origin=origin_of is not None,
                checked_paths=paths or None,
            )
    sys.stdout.write(text)
    sys.stdout.flush()
    return EXIT_OK
