"""`trailscope card PATH... SUBJECT [--json]`: an identity or IP card on the command
line (tui/core/cards.py builds it).

The subject is a term on a principal, access key, IP, role, user or account, given as
an argument (`principal:arn:aws:iam::1:user/alice`, `key:AKIA…`, `ip:203.0.113.7`) or
as the filter (`-e FILTER`, any filter: the card is then of the events it matches).
An argument that exists on disk is always a path; one of the form FIELD:VALUE with a
subject field that does not exist is the subject.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import Any

from .core.fields import resolve_field
from .core.query import QueryError, Term, parse, term_for
from .core.sanitize import clean

EXIT_OK, EXIT_NOTHING, EXIT_USAGE = 0, 1, 2


def add_parser(
    sub: argparse._SubParsersAction[Any],
    common: Callable[[argparse.ArgumentParser], None],
    filter_opt: Callable[[argparse.ArgumentParser, str], None],
) -> argparse.ArgumentParser:
    """Register the subcommand on `sub`; `common` adds the shared loading options and
    `filter_opt` the -e/--filter option."""
    c = sub.add_parser(
        "card",
        help="what the trail says about one principal, key, role or IP",
        description="Print the card of a principal, access key, IP, role, user, account or STS "
        "session (or of the events a filter matches): first and last seen, events, error ratio, "
        "services, event names, regions, source IPs, user agents, keys, sessions, "
        "credentials it minted and accounts, each with counts and the filter term that "
        "selects it; for a key, where it came from and what descends from it.",
        epilog="examples: trailscope card trail/ principal:arn:aws:iam::111122223333:user/alice; "
        "trailscope card trail/ key:ASIA...; trailscope card trail/ -e 'ip:203.0.113.*'",
    )
    c.add_argument(
        "paths",
        nargs="+",
        metavar="PATH|SUBJECT",
        help="trail paths, and the subject as FIELD:VALUE (principal, key, ip, "
        "role, user, account, session)",
    )
    filter_opt(c, "the subject as a filter (any filter)")
    c.add_argument("--json", action="store_true", help="print one JSON object")
    c.add_argument("--top", type=int, default=10, help="values per section (default 10)")
    common(c)
    return c


def _subject_term(arg: str) -> str | None:
    """The filter term an argument names, or None when it is not a subject."""
    if os.path.exists(arg) or ":" not in arg:
        return None
    name, _, value = arg.partition(":")
    field = resolve_field(name)
    from .core.cards import SUBJECT_FIELDS

    if field not in SUBJECT_FIELDS or not value:
        return None
    try:
        root = parse(arg).root
    except QueryError:
        root = None
    if isinstance(root, Term) and root.field == field:
        return arg  # as written: wildcards and quoting keep their meaning
    return term_for(field, value)  # an exact value the filter syntax would misread


def split_args(args: list[str], filter_text: str) -> tuple[list[str], str]:
    """(paths, subject filter) from the positional arguments and -e."""
    paths: list[str] = []
    terms: list[str] = []
    for a in args:
        t = _subject_term(a)
        if t is None:
            paths.append(a)
        else:
            terms.append(t)
    if filter_text.strip():
        terms.insert(0, f"({filter_text})" if terms else filter_text)
    return paths, " ".join(terms)


def run(args: argparse.Namespace, load: Callable) -> int:
    """`trailscope card`; `load(args, paths)` loads a trail into a store."""
    from . import cli
    from .core import export
    from .core.cards import build_card

    paths, subject = split_args(list(args.paths), args.filter or "")
    if not subject:
        sys.stderr.write(
            "trailscope card: give the subject: principal:ARN, key:KEY, ip:IP, "
            "role:ARN, user:NAME, account:ID, session:ARN, or -e FILTER\n"
        )
        return EXIT_USAGE
    if not paths:
        sys.stderr.write("trailscope card: give the trail PATHs\n")
        return EXIT_USAGE
    try:
        parse(subject)
    except QueryError as e:
        cli._bad_filter(subject, e)
        return EXIT_USAGE
    if not cli._check_paths(paths):
        return EXIT_USAGE
    store = load(args, paths)
    if cli._nothing_readable(store):
        sys.stderr.write("trailscope: nothing readable in the given paths\n")
        for p, r in store.skipped()[:20]:
            sys.stderr.write(f"  {clean(p)}: {clean(r)}\n")
        return EXIT_NOTHING
    try:
        card = build_card(store, subject, top=max(1, args.top))
    except QueryError as e:
        cli._bad_filter(subject, e)
        return EXIT_USAGE
    if args.json:
        sys.stdout.flush()
        sys.stdout.buffer.write(export.dumps(card.to_dict()) + b"\n")
    else:
        sys.stdout.write("".join(clean(line) + "\n" for line in card.text_lines()))
    return EXIT_OK
