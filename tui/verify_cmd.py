"""`trailscope verify PATH...`: check a local copy of a trail against its digest files.

The command's options, its two outputs (tables for a terminal, one JSON object) and its exit
codes; the checking itself is `tui.core.integrity`. Exit codes: 0 everything checked is
consistent (and, with --require-signed, every digest's signature verified), 1 no digest file
found, 2 usage or an unusable key/signature file, 3 problems found.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TextIO

from .core.sanitize import clean

if TYPE_CHECKING:
    from .core.digest_signing import SignatureBook
    from .core.integrity import DigestCheck, FileCheck, Report

EXIT_OK, EXIT_NOTHING, EXIT_USAGE, EXIT_PROBLEMS = 0, 1, 2, 3

MEANING = {
    "signed": "every digest's signature verified with the public keys given: AWS wrote the "
    "digests, and the verified log files are as AWS delivered them",
    "consistent": "the log files are consistent with the digests; without verified "
    "signatures that is not proof that AWS wrote the digests",
    "inconsistent": "some files do not match the digests, or the chain of digests is broken",
    "nothing to verify": "no digest file was found in the given paths",
}


def add_parser(
    sub: argparse._SubParsersAction[Any], common: Callable[[argparse.ArgumentParser], None]
) -> argparse.ArgumentParser:
    """Register the subcommand on `sub` (argparse subparsers); `common` adds the shared
    --max-file-size/--jobs options."""
    v = sub.add_parser(
        "verify",
        help="check log files against CloudTrail's digest files",
        description="Check a local copy of a trail (e.g. from `aws s3 sync`) against the "
        "digest files CloudTrail writes when log file validation is on: every listed log file "
        "present with the recorded SHA-256, every digest matching what the next one recorded, "
        "gaps and unlisted files reported. Signatures are checked when public keys are given. "
        "See docs/verify.md.",
        epilog="exit codes: 0 consistent, 1 no digest files found, 2 usage or unusable "
        "key/signature file, 3 problems found",
    )
    v.add_argument(
        "paths",
        nargs="+",
        metavar="PATH",
        help="the copy's root (the folder holding AWSLogs/) or folders inside it",
    )
    v.add_argument("--json", action="store_true", help="print one JSON object")
    v.add_argument(
        "--public-keys",
        action="append",
        default=[],
        metavar="FILE",
        help="PEM public keys, or the JSON of `aws cloudtrail list-public-keys` (repeatable)",
    )
    v.add_argument(
        "--signatures",
        action="append",
        default=[],
        metavar="PATH",
        help='digest signatures: JSON lines of {"digest": KEY, "signature": HEX}, or the '
        "output of `aws s3api head-object` saved as <digest file name>.head.json; a file or "
        "a folder of them (repeatable)",
    )
    v.add_argument(
        "--problems",
        action="store_true",
        help="list only the files and digests that are not verified",
    )
    v.add_argument(
        "--all-files",
        action="store_true",
        help="list each file no digest names (default: counts per account and region)",
    )
    v.add_argument(
        "--require-signed",
        action="store_true",
        help="exit 3 unless every digest's signature verifies",
    )
    common(v)
    for action in v._actions:  # the shared option means something else here
        if "--jobs" in action.option_strings:
            action.help = "threads hashing files (default: cores, at most 8)"
    return v


def run(
    args: argparse.Namespace,
    *,
    paths: Sequence[str] | None = None,
    signatures: SignatureBook | None = None,
    rename: Callable[[Report], None] | None = None,
    unreadable: Sequence[tuple[str, str]] = (),
) -> int:
    """`paths`, `signatures`, `rename` and `unreadable` come from an S3 trail
    (s3_cmd.verify): its copy in the cache, the signatures fetched with its digests, a
    function turning the copy's paths in the report into URLs, objects it could not read."""
    import os

    from .core.digest_signing import InputError, load_public_keys, load_signatures
    from .core.integrity import verify

    paths = args.paths if paths is None else paths
    if not any(os.path.lexists(p) for p in paths):
        sys.stderr.write(f"trailscope verify: no such path: {clean(', '.join(paths))}\n")
        return EXIT_NOTHING
    try:
        keys = load_public_keys(args.public_keys) if args.public_keys else None
        book = load_signatures(args.signatures) if args.signatures else None
    except InputError as e:
        sys.stderr.write(f"trailscope verify: {clean(str(e))}\n")
        return EXIT_USAGE
    if signatures is not None:
        from .core.s3verify import merge

        book = merge(book, signatures)
    rep = verify(
        paths,
        keys=keys,
        signatures=book,
        max_bytes=args.max_file_size,
        jobs=args.jobs,
        on_progress=_progress_printer(),
    )
    for path, reason in unreadable:
        rep.fail("unreadable", path, f"cannot be read: {reason}")
    if rename is not None:
        rename(rep)
    notes = keys.notes if keys is not None else []
    if args.json:
        from .core import export  # the store's imports, only for this output

        sys.stdout.buffer.write(export.dumps(report_dict(rep, notes)) + b"\n")
        sys.stdout.flush()
    else:
        write_text(rep, notes, sys.stdout, problems_only=args.problems, all_files=args.all_files)
    verdict = rep.verdict
    if verdict == "inconsistent":
        return EXIT_PROBLEMS
    if verdict == "nothing to verify":
        return EXIT_NOTHING
    if args.require_signed and verdict != "signed":
        return EXIT_PROBLEMS
    return EXIT_OK


def _progress_printer() -> Callable[[int, int], None] | None:
    if not sys.stderr.isatty():
        return None

    def show(done: int, total: int) -> None:
        if done % 50 and done != total:
            return
        sys.stderr.write(
            f"\rhashing {done:,}/{total:,} log files" + ("\n" if done == total else "")
        )
        sys.stderr.flush()

    return show


# -------------------------------------------------------------------- JSON


def report_dict(rep: Report, key_notes: Sequence[str] = ()) -> dict:
    files = Counter(str(f.state) for f in rep.files)
    present = rep.present
    return {
        "verdict": rep.verdict,
        "meaning": MEANING[rep.verdict],
        "signatures_checked": rep.keys_given,
        "counts": {
            "digests": len(present),
            "digests_missing": len(rep.digests) - len(present),
            "digests_ok": sum(d.state.value == "ok" for d in present),
            "digests_signed": sum(d.signature.value == "verified" for d in present),
            "files": len(rep.files),
            **{f"files_{k.replace(' ', '_')}": v for k, v in sorted(files.items())},
        },
        "digests": [_digest_dict(d) for d in rep.digests],
        "files": [
            {
                "path": f.path,
                "state": str(f.state),
                "reason": f.reason,
                "digest": f.digest,
                "s3_object": f.s3_object,
                "expected_sha256": f.expected,
                "sha256": f.actual,
                "signed": f.signed,
            }
            for f in rep.files
        ],
        "findings": [
            {"severity": x.severity, "kind": x.kind, "path": x.path, "message": x.message}
            for x in rep.findings
        ],
        "key_notes": list(key_notes),
    }


def _digest_dict(d: DigestCheck) -> dict:
    b, n = d.body, d.name
    return {
        "path": d.path,
        "state": str(d.state),
        "reason": d.reason,
        "start": b.start if b else None,
        "end": d.end or None,
        "org": d.org,
        "account": d.account or (n.account if n else None),
        "region": d.region or (n.region if n else None),
        "trail": n.trail if n else None,
        "home_region": n.home_region if n else None,
        "backfill": n.backfill if n else False,
        "s3_bucket": b.bucket if b else None,
        "s3_object": b.key if b else None,
        "chain": d.chain,
        "signature": str(d.signature),
        "files_listed": d.files_listed,
        "files_verified": d.files_verified,
    }


# -------------------------------------------------------------------- text


def write_text(
    rep: Report,
    key_notes: Sequence[str],
    out: TextIO,
    problems_only: bool = False,
    all_files: bool = False,
) -> None:
    """Tables for a terminal; every string from the copy goes through `clean`."""
    w = out.write
    digests = [
        d
        for d in rep.digests
        if not problems_only or d.state.value != "ok" or d.signature.value == "failed"
    ]
    w("Digests (one per trail, region and hour)\n")
    if digests:
        rows = [
            ("END (UTC)", "ACCOUNT", "REGION", "TRAIL", "FILES OK", "CHAIN", "SIGNATURE", "STATE")
        ]
        for d in digests:
            n = d.name
            trail = (n.trail + (" (backfill)" if n.backfill else "")) if n else "?"
            rows.append(
                (
                    clean(d.end or "?", 24),
                    clean(d.account or (n.account if n else "?"), 14),
                    clean(d.region or (n.region if n else "?"), 20),
                    clean(trail, 40),
                    f"{d.files_verified}/{d.files_listed}",
                    d.chain or "-",
                    str(d.signature),
                    str(d.state),
                )
            )
        _table(rows, w)
        for d in digests:
            if d.state.value != "ok":
                w(
                    f"  {d.state}: {clean(d.path)}"
                    + (f" ({clean(d.reason)})" if d.reason else "")
                    + "\n"
                )
    else:
        w("  none\n" if not problems_only else "  no problems\n")

    named = [f for f in rep.files if f.digest is not None or f.fails]
    if problems_only:
        named = [f for f in named if f.state.value != "verified"]
    w("\nLog files checked against the digests\n")
    if named:
        lines = [("STATE", "FILE")]
        for f in named:
            lines.append((f"{f.state}{' (signed)' if f.signed else ''}", clean(f.path)))
        width = max(len(r[0]) for r in lines)
        for (state, path), fc in zip(lines, [None, *named], strict=True):
            line = f"  {state:<{width}}  {path}"
            if fc is not None and fc.reason:
                line += f"  ({clean(fc.reason)})"
            w(line + "\n")
            if fc is not None and fc.state.value == "modified":
                w(f"  {'':<{width}}  expected SHA-256 {fc.expected}, found {fc.actual}\n")
    else:
        w("  none\n" if not problems_only else "  no problems\n")

    _write_not_covered([f for f in rep.files if f.digest is None and not f.fails], w, all_files)

    findings = [x for x in rep.findings if x.severity == "fail"] + [
        x for x in rep.findings if x.severity == "note"
    ]
    if findings or key_notes:
        w("\nFindings\n")
        for x in findings:
            where = f"{clean(x.path)}: " if x.path else ""
            w(f"  {'FAIL' if x.severity == 'fail' else 'note'}  {where}{clean(x.message)}\n")
        for note in key_notes:
            w(f"  note  {clean(note)}\n")

    c = Counter(str(f.state) for f in rep.files)
    present = rep.present
    counts = ", ".join(
        f"{c[k]:,} {k}"
        for k in ("verified", "modified", "missing", "unverifiable", "not covered")
        if c[k]
    )
    w(f"\n{len(present):,} digest file(s); log files: {counts or 'none'}\n")
    if rep.keys_given:
        signed = sum(d.signature.value == "verified" for d in present)
        w(f"signatures: {signed:,} of {len(present):,} digest(s) verified\n")
    w(f"Result: {rep.verdict.upper()}: {MEANING[rep.verdict]}.\n")
    if rep.verdict == "consistent" and not rep.keys_given:
        w(
            "To check that AWS signed the digests, give --public-keys and --signatures "
            "(docs/verify.md).\n"
        )
    out.flush()


def _write_not_covered(files: list[FileCheck], w: Callable[[str], object], each: bool) -> None:
    """Files no digest names and that need not be named: one line per account, region and
    reason (or per file with `each`)."""
    if not files:
        return
    w("\nLog files no digest names (not verified)\n")
    if each:
        for f in files:
            w(f"  {clean(f.path)}  ({clean(f.reason)})\n")
        return
    groups: dict[tuple, list] = {}
    for f in files:
        groups.setdefault((f.account or "?", f.region or "?", f.reason), []).append(f)
    rows = [("ACCOUNT", "REGION", "FILES", "DELIVERED", "WHY")]
    for (acct, region, why), fs in sorted(groups.items()):
        times = sorted(f.delivered for f in fs if f.delivered)
        span = f"{times[0]} .. {times[-1]}" if times else "?"
        rows.append((clean(acct, 14), clean(region, 20), f"{len(fs):,}", span, clean(why)))
    _table(rows, w)
    w("  (--all-files lists each file)\n")


def _table(rows: Sequence[tuple[str, ...]], w: Callable[[str], object]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        w("  " + "  ".join(c.ljust(widths[i]) for i, c in enumerate(r)).rstrip() + "\n")
