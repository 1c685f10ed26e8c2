"""`trailscope detect PATH...`: the events detection rules flag, and `trailscope rules`:
which rules would run, loaded or skipped and why (docs/detections.md).

Rules: the built-in pack, the Sigma rules in the config file's folders and in `--rules`
(tui/core/detect). Output goes through the sanitiser (table) and core/export.py (JSON
Lines, CSV), so log content stays inert. Exit codes: 0 the rules ran (hits or not), 1
nothing readable, 2 usage, unreadable config, or (`rules`) a folder that does not exist.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TextIO

import numpy as np

from .core import export
from .core.batch import HOSTILE
from .core.detect import SEVERITIES, Detections, Hit, Rule, by_severity
from .core.detect.attack import TACTICS, technique_name
from .core.detect.config import ConfigError, RuleSet, config_path, rule_set
from .core.normalize import format_time
from .core.sanitize import clean
from .core.store import OriginalUnavailable, Store

if TYPE_CHECKING:
    from .core.store import CommitResult

# What the CLI hands the commands (tui/cli.py: _load, _check_paths, follow_commits...).
Load = Callable[[argparse.Namespace, Sequence[str]], Store]
FollowCommits = Callable[
    [Store, Sequence[str], argparse.Namespace, Callable[["CommitResult"], bool]], int
]

EXIT_OK, EXIT_NOTHING, EXIT_USAGE = 0, 1, 2
HIT_COLUMNS = (
    "time",
    "severity",
    "rule",
    "title",
    "principal",
    "ip",
    "event",
    "service",
    "region",
    "account",
    "error",
)


def rule_options(p: argparse.ArgumentParser) -> None:
    """`--rules DIR`, `--no-builtin`, `--no-config` (detect and the explorer)."""
    p.add_argument(
        "--rules",
        action="append",
        default=[],
        metavar="DIR",
        help="also load the Sigma rules (YAML) in DIR or file (repeatable; see also "
        f"{config_path()})",
    )
    p.add_argument("--no-builtin", action="store_true", help="leave the built-in rules out")
    p.add_argument(
        "--no-config", action="store_true", help="ignore the rule folders of the config file"
    )


def add_parsers(
    sub: argparse._SubParsersAction[Any],
    common: Callable[[argparse.ArgumentParser], None],
    follow_opts: Callable[[argparse.ArgumentParser], None],
) -> dict[str, argparse.ArgumentParser]:
    """Register `detect` and `rules` on `sub`; `common`/`follow_opts` add the shared
    options."""
    d = sub.add_parser(
        "detect",
        help="print the events detection rules flag, in time order",
        description="Run the detection rules (built-in, and Sigma rules from --rules and "
        "the config file) over the trail under PATH... and print each hit: rule, time, "
        "principal, source IP, event. See docs/detections.md.",
        epilog="exit codes: 0 the rules ran (whether or not they flagged anything), 1 "
        "nothing readable, 2 usage or config error. A summary goes to stderr.",
    )
    d.add_argument("paths", nargs="+", metavar="PATH")
    d.add_argument(
        "--format",
        choices=("table", "jsonl", "csv"),
        default="table",
        dest="fmt",
        help="table (default), jsonl (each hit with its rule and the event) or csv",
    )
    d.add_argument(
        "--min-severity",
        choices=SEVERITIES,
        default="info",
        help="only rules of this severity or above (default: all)",
    )
    d.add_argument(
        "--follow", action="store_true", help="keep watching and print new hits as files land"
    )
    d.add_argument(
        "--new-only", action="store_true", help="with --follow: skip the hits already present"
    )
    rule_options(d)
    follow_opts(d)
    common(d)

    r = sub.add_parser(
        "rules",
        help="list the detection rules, loaded or skipped and why",
        description="List the rules `detect` would run: the built-in pack, and each Sigma "
        "rule under DIR... and the config file's folders, loaded or skipped with the reason.",
    )
    r.add_argument("dirs", nargs="*", metavar="DIR", help="Sigma rule folders or files")
    r.add_argument("--format", choices=("table", "jsonl"), default="table", dest="fmt")
    r.add_argument("--no-builtin", action="store_true", help="leave the built-in rules out")
    r.add_argument(
        "--no-config", action="store_true", help="ignore the rule folders of the config file"
    )
    return {"detect": d, "rules": r}


def _say(msg: str) -> None:
    sys.stderr.write(f"trailscope: {clean(msg)}\n")


# -------------------------------------------------------------------- rules
def cmd_rules(args: argparse.Namespace) -> int:
    rs = _chosen_rules(args.dirs, args)
    if isinstance(rs, int):
        return rs
    sigma_ids = {o.rule.id for o in rs.outcomes if o.rule is not None}
    builtin = [r for r in rs.rules if r.id not in sigma_ids]
    out = sys.stdout
    if args.fmt == "jsonl":
        out.flush()
        buf = out.buffer
        for r in builtin:
            buf.write(export.dumps({"status": "loaded", **_rule_dict(r)}) + b"\n")
        for o in rs.outcomes:
            row = (
                {"status": "loaded", **_rule_dict(o.rule)}
                if o.rule is not None
                else {"status": "skipped", "source": o.path, "title": o.title, "reason": o.reason}
            )
            buf.write(export.dumps(row) + b"\n")
        buf.flush()
    else:
        out.write(f"{'status':8} {'severity':8} {'id':44} source / title / reason\n")
        for r in builtin:
            out.write(
                f"{'loaded':8} {r.severity:8} {clean(r.id, 44):44} built-in: {clean(r.title)}\n"
            )
        for o in rs.outcomes:
            if o.rule is not None:
                r = o.rule
                note = f" [approximated: {'; '.join(o.notes)}]" if o.notes else ""
                out.write(
                    f"{'loaded':8} {r.severity:8} {clean(r.id, 44):44} {clean(o.path)}: "
                    f"{clean(r.title)}{clean(note)}\n"
                )
            else:
                what = f"{o.title}: " if o.title else ""
                out.write(
                    f"{'skipped':8} {'-':8} {'-':44} {clean(o.path)}: {clean(what)}"
                    f"{clean(o.reason)}\n"
                )
    loaded_sigma = len(sigma_ids)
    sys.stderr.write(
        f"trailscope: {len(builtin)} built-in rules, {loaded_sigma} Sigma rules "
        f"loaded, {len(rs.skipped)} skipped\n"
    )
    return EXIT_OK


def _rule_dict(r: Rule) -> dict:
    return {
        "id": r.id,
        "title": r.title,
        "severity": r.severity,
        "source": r.source,
        "tactics": [TACTICS.get(t, t) for t in r.tactics],
        "techniques": [f"{t} {technique_name(t)}".strip() for t in r.techniques],
        "filter": r.filter,
        "aggregate": r.aggregate.describe() if r.aggregate else None,
        "checks": [c.describe() for c in r.checks],
        "description": r.description,
        "references": list(r.references),
        "false_positives": r.false_positives,
        "notes": list(r.notes),
    }


def explorer_rules(
    args: argparse.Namespace,
) -> tuple[list[Rule], list] | int | None:
    """The rules the explorer runs when `--rules`, `--no-builtin` or `--no-config` is
    given: (rules, skipped Sigma outcomes), or an exit code (a missing DIR, an unreadable
    config). None: the options were not used (the explorer loads the default set)."""
    if not (args.rules or args.no_builtin or args.no_config):
        return None
    rs = _chosen_rules(args.rules, args)
    return rs if isinstance(rs, int) else (rs.rules, rs.skipped)


def _chosen_rules(dirs: Sequence[str], args: argparse.Namespace) -> RuleSet | int:
    """The rule set `dirs` and `--no-builtin`/`--no-config` choose, or EXIT_USAGE (said
    on stderr) when a DIR does not exist or the config cannot be read."""
    import os

    missing = [d for d in dirs if not os.path.exists(d)]
    for d in missing:
        _say(f"no such file or directory: {d}")
    if missing:
        return EXIT_USAGE
    try:
        return rule_set(dirs, builtin=not args.no_builtin, use_config=not args.no_config)
    except ConfigError as e:
        _say(str(e))
        return EXIT_USAGE


# -------------------------------------------------------------------- detect
def cmd_detect(
    args: argparse.Namespace,
    load: Load,
    check_paths: Callable[[Sequence[str]], bool],
    nothing_readable: Callable[[Store], bool],
    follow_commits: FollowCommits,
) -> int:
    from .core.discovery import absolute_paths

    try:
        rs = rule_set(args.rules, builtin=not args.no_builtin, use_config=not args.no_config)
    except ConfigError as e:
        _say(str(e))
        return EXIT_USAGE
    rules = by_severity(rs.rules, args.min_severity)
    if not check_paths(args.paths):
        return EXIT_USAGE
    paths = absolute_paths(args.paths)
    store = load(args, paths)
    if nothing_readable(store):
        _say("nothing readable in the given paths")
        for p, r in store.skipped()[:20]:
            sys.stderr.write(f"  {clean(p)}: {clean(r)}\n")
        return EXIT_NOTHING
    det = Detections(store, rules)
    hits = _hits(det.take_new())
    if not (args.follow and args.new_only):
        write_hits(store, det, hits, args.fmt, sys.stdout)
    _summary(store, det, rules, rs)
    if not args.follow:
        return EXIT_OK

    def on_commit(_res: CommitResult) -> bool:
        new = _hits(det.take_new())
        if new:
            write_hits(store, det, new, args.fmt, sys.stdout, header=False)
        return False

    return follow_commits(store, paths, args, on_commit)


def _hits(found: list[Hit]) -> list[tuple[Rule, int]]:
    return [(h.rule, int(r)) for h in found for r in h.rows.tolist()]


def _in_time_order(store: Store, hits: list[tuple[Rule, int]]) -> list[tuple[Rule, int]]:
    if not hits:
        return hits
    rows = np.array([r for _, r in hits], np.int64)
    pos = store.positions_in_order(rows)
    order = sorted(range(len(hits)), key=lambda i: (int(pos[i]), -hits[i][0].rank, hits[i][0].id))
    return [hits[i] for i in order]


def write_hits(
    store: Store,
    det: Detections,
    hits: list[tuple[Rule, int]],
    fmt: str,
    out: TextIO,
    header: bool = True,
) -> None:
    """Print hits in time order: a table (sanitised, cut), JSON Lines (the rule, the hit
    and the event, inert) or CSV (inert cells)."""
    hits = _in_time_order(store, hits)
    if fmt == "jsonl":
        out.flush()
        buf = out.buffer
        for rule, row in hits:
            buf.write(_hit_json(store, det, rule, row) + b"\n")
            buf.flush()
        return
    if fmt == "csv":
        wr = csv.writer(out, lineterminator="\n")
        if header:
            wr.writerow(HIT_COLUMNS)
        for rule, row in hits:
            wr.writerow([export.csv_cell(v) for v in _hit_cells(store, rule, row)])
        out.flush()
        return
    widths = (20, 8, 36, 44, 18, 30)
    if header:
        out.write(
            " ".join(
                h.ljust(w)
                for h, w in zip(
                    ("time", "severity", "rule", "principal", "ip", "event"), widths, strict=True
                )
            ).rstrip()
            + "\n"
        )
    for rule, row in hits:
        cells = (
            format_time(store.time_ms(row)),
            rule.severity,
            rule.id,
            store.value(row, "principal"),
            store.value(row, "ip"),
            store.value(row, "event"),
        )
        out.write(
            " ".join(clean(c, w).ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()
            + "\n"
        )
    out.flush()


def _hit_cells(store: Store, rule: Rule, row: int) -> list[str]:
    return [
        format_time(store.time_ms(row)),
        rule.severity,
        rule.id,
        rule.title,
        *(
            store.value(row, f)
            for f in ("principal", "ip", "event", "service", "region", "account", "error")
        ),
    ]


def _hit_json(store: Store, det: Detections, rule: Rule, row: int) -> bytes:
    meta = {
        "time": format_time(store.time_ms(row)),
        "rule": rule.id,
        "title": rule.title,
        "severity": rule.severity,
        "tactics": [TACTICS.get(t, t) for t in rule.tactics],
        "techniques": list(rule.techniques),
        "why": det.explain(row, rule),
        "principal": store.value(row, "principal"),
        "ip": store.value(row, "ip"),
        "event_name": store.value(row, "event"),
        "service": store.value(row, "service"),
        "location": store.location(row),
    }
    head = export.dumps(meta)
    try:
        ev = export.event_json(store.canonical(row), bool(store.flags[row] & HOSTILE))
    except OriginalUnavailable as e:
        return head[:-1] + b',"event":null,"event_unavailable":' + export.dumps(str(e)) + b"}"
    return head[:-1] + b',"event":' + ev + b"}"


def _summary(store: Store, det: Detections, rules: Sequence[Rule], rs: RuleSet) -> None:
    counts = det.counts()
    total = sum(n for _, n in counts)
    flagged = len(det.rows_of_rule())
    sev = ", ".join(f"{n:,} {s}" for s, n in det.severity_counts()) or "none"
    sigma = sum(1 for o in rs.outcomes if o.rule is not None)
    line = (
        f"trailscope: {total:,} hits on {flagged:,} of {len(store):,} events "
        f"(by most severe rule: {sev}); {len(rules)} rules ran"
    )
    if rs.outcomes:
        line += (
            f", {sigma} of them Sigma; {len(rs.skipped)} Sigma rules skipped "
            "(trailscope rules DIR says why)"
        )
    sys.stderr.write(clean(line) + "\n")
    for rule, n in counts:
        sys.stderr.write(f"  {n:>8,}  {rule.severity:8} {clean(rule.id)}: {clean(rule.title)}\n")
