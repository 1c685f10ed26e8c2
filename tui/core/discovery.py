"""Walk the paths a user gave and classify what is found there.

Runs before any file is opened, so it is kept to one scandir per folder and one stat per
candidate file (via DirEntry.stat): a few microseconds per file, about a second for
100,000 files on a slow VM. Nothing is opened or written here; reading is `reader.py`'s job.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from operator import itemgetter

# Names that are worth decoding (compared lower-cased).
_CANDIDATE_SUFFIXES = (
    ".json.gz",
    ".json",
    ".jsonl",
    ".jsonl.gz",
    ".ndjson",
    ".ndjson.gz",
)
# `aws s3 sync`/`cp` downloads into `<name>.<8 random hex digits>` and renames when done.
_S3_TEMP = re.compile(r"\.(?:json|jsonl|ndjson)(?:\.gz)?\.[0-9a-fA-F]{8}$", re.IGNORECASE)
_IN_FLIGHT_SUFFIXES = (".partial", ".tmp", ".crdownload")

_DIGEST_DIR = "CloudTrail-Digest"
_INSIGHT_DIR = "CloudTrail-Insight"

# AWSLogs/[o-xxxxxxxxxx/]<12 digits>/CloudTrail(-Insight|-Digest)?/<region>/YYYY/MM/DD/
# Each level is optional from the right, so a folder given half-way down still yields what
# it can. The region pattern is loose on purpose (real samples use made-up region names).
_LAYOUT = re.compile(
    r"(?:^|/)AWSLogs"
    r"(?:/(o-[a-z0-9]{10,32}))?"
    r"/(\d{12})(?=/|$)"
    r"(?:/CloudTrail(?:-Insight|-Digest)?(?=/|$)"
    r"(?:/([a-z]{2,}(?:-[a-z0-9]+)+)(?=/|$)"
    r"(?:/(\d{4})/(0[1-9]|1[0-2])/(0[1-9]|[12]\d|3[01])(?=/|$))?"
    r")?)?"
)
# <account>_CloudTrail[-Insight|-Digest]_<region>_[<trail>_<region>_]<YYYYMMDD>T<time>Z...
_NAME_LAYOUT = re.compile(
    r"^(\d{12})_CloudTrail(?:-Insight|-Digest)?_([a-z]{2,}(?:-[a-z0-9]+)+)_"
    r"(?:.*_)?(\d{4})(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])T\d{4}(?:\d\d)?Z"
)

Layout = tuple[str | None, str | None, str | None, str | None]
_NO_LAYOUT: Layout = (None, None, None, None)


@dataclass(frozen=True, slots=True)
class TrailFile:
    path: str  # os.path.join of the walked path (not resolved)
    kind: str  # 'log' | 'insight' | 'digest'
    size: int
    mtime_ns: int
    org: str | None = None  # from the S3 layout (or the file name) when recognisable
    account: str | None = None
    region: str | None = None
    day: str | None = None  # 'YYYY-MM-DD'
    # Where the bytes are read from when `path` is not a local file: an S3 object's copy
    # in the cache (`path` is then its s3:// URL, the name every message shows).
    local: str | None = None


@dataclass(slots=True)
class Discovery:
    files: list[TrailFile] = field(default_factory=list)  # 'log'/'insight' to load, by path
    digests: list[TrailFile] = field(default_factory=list)  # recognised, never loaded
    ignored: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    folders: list[str] = field(default_factory=list)  # every folder listed (for watchers)


# --------------------------------------------------------------------------- names


def _dir_kind(dirpath: str) -> str:
    """'digest' / 'insight' / 'log' implied by the folders of a path."""
    parts = dirpath.replace(os.sep, "/").split("/") if os.sep != "/" else dirpath.split("/")
    if _DIGEST_DIR in parts:
        return "digest"
    if _INSIGHT_DIR in parts:
        return "insight"
    return "log"


def _name_kind(name: str, dir_kind: str) -> tuple[str | None, str]:
    """Classify a bare file name, given what its folders already imply."""
    if name.startswith("."):
        return None, "hidden file"
    # Candidate suffixes first: the common case then costs one endswith call.
    if not (name.endswith(".json.gz") or name.lower().endswith(_CANDIDATE_SUFFIXES)):
        if _S3_TEMP.search(name):
            return None, "in-flight download (aws s3 sync temp name)"
        if name.lower().endswith(_IN_FLIGHT_SUFFIXES):
            return None, "in-flight download"
        return None, "not a log file name"
    if dir_kind == "digest" or "_CloudTrail-Digest_" in name:
        return "digest", ""
    if dir_kind == "insight" or "_CloudTrail-Insight_" in name:
        return "insight", ""
    return "log", ""


def classify_name(path: str) -> tuple[str | None, str]:
    """(kind, '') for a loadable or digest file name, else (None, why it is ignored)."""
    path = os.fsdecode(path)
    head, name = os.path.split(path)
    return _name_kind(name, _dir_kind(head))


def _dir_layout(dirpath: str) -> Layout:
    m = _LAYOUT.search(dirpath.replace(os.sep, "/") if os.sep != "/" else dirpath)
    if not m:
        return _NO_LAYOUT
    org, account, region, y, mo, d = m.groups()
    return org, account, region, (f"{y}-{mo}-{d}" if y else None)


def _with_name(base: Layout, name: str) -> Layout:
    """Fill parts the folders did not give from the file name (flat downloads)."""
    org, account, region, day = base
    if account and region and day:
        return base
    m = _NAME_LAYOUT.match(name)
    if not m:
        return base
    n_acct, n_region, y, mo, d = m.groups()
    return org, account or n_acct, region or n_region, day or f"{y}-{mo}-{d}"


def layout_of(path: str) -> Layout:
    """(org, account, region, day) from the S3 layout of `path`; None for unknown parts.

    Folders take precedence; a CloudTrail-style file name fills what they lack.
    """
    path = os.fsdecode(path)
    # The whole path is parsed (each level must be a full component), so a folder path
    # works as well as a file path.
    return _with_name(_dir_layout(path), os.path.basename(path))


# --------------------------------------------------------------------------- symlinks
# A path the user names is followed wherever it leads (that is them asking). A symlink
# met while walking is followed only if it stays inside the folders they named, unless
# they ask for more (--follow-symlinks): one link to / made a walk read the whole
# machine, /proc included, and other users' files. Pseudo file systems are never
# entered from a walk: they hold kernel state, not logs, and are huge or endless.
SYSTEM_DIRS = ("/proc", "/sys", "/dev")


def _under(path: str, tree: str) -> bool:
    return path == tree or path.startswith(tree.rstrip("/") + "/")


def _system_dir(real: str) -> str | None:
    return next((d for d in SYSTEM_DIRS if _under(real, d)), None)


def _trees(roots: Iterable[str]) -> tuple[str, ...]:
    """The real paths of the folders among `roots` (the trees a walk may stay in)."""
    return tuple(os.path.realpath(r) for r in roots if os.path.isdir(r))


def _refusal(path: str, trees: tuple[str, ...], follow: bool) -> str:
    target = os.path.realpath(path)
    if any(_under(target, t) for t in trees):
        return ""  # it stays inside what the user named (a trail copied to /dev/shm too)
    system = _system_dir(target)
    if system is not None:
        return f"symlink to {target} not followed: {system} is a system folder"
    if follow:
        return ""
    return (
        f"symlink to {target} not followed: it leads outside the folders given "
        "(--follow-symlinks follows it)"
    )


def symlink_refusal(path: str, roots: Iterable[str], follow: bool = False) -> str:
    """Why the symlink `path`, found inside the trees `roots` the user named, is not
    followed ('' when it is). For callers that meet single paths (live tail)."""
    return _refusal(path, _trees(roots), follow)


# --------------------------------------------------------------------------- paths


def absolute_path(path: str | os.PathLike) -> str:
    """`path` made absolute against the current folder, as the user meant it.

    Watchers report absolute paths, so every path a follower compares must be absolute
    from the start. Only `.` and repeated separators are dropped lexically: a `..`
    is resolved by the file system (`realpath` of the part up to it), because after a
    symlink it does not mean "the folder above" (`os.path.abspath` would be wrong
    there). Symlinks after the last `..` are kept as named."""
    p = os.fsdecode(os.fspath(path))
    if not os.path.isabs(p):
        try:
            p = os.path.join(os.getcwd(), p)
        except OSError:  # the current folder was deleted: nothing to anchor it to
            return p
    parts = p.split(os.sep)
    if ".." in parts:
        cut = len(parts) - parts[::-1].index("..")
        head = os.path.realpath(os.sep.join(parts[:cut]) or os.sep)
        p = os.path.join(head, *parts[cut:])
    return os.path.normpath(p)


def absolute_paths(paths: Iterable[str | os.PathLike]) -> list[str]:
    return [absolute_path(p) for p in paths]


# --------------------------------------------------------------------------- walking


def discover(
    paths: Iterable[str | os.PathLike],
    *,
    follow_symlinks: bool = False,
    within: Iterable[str] | None = None,
) -> Discovery:
    """Walk `paths` (files and folders). `within`: the trees the user named, when
    `paths` are places found inside them (a new folder seen by live tail): symlinks
    among `paths` are then judged like any met while walking."""
    out = Discovery()
    found: list[tuple[str, str, os.stat_result, Layout]] = []  # (path, kind, stat, layout)
    visited_dirs: set[tuple[int, int]] = set()
    roots = [os.fsdecode(os.fspath(p)) for p in paths]
    trees = _trees(roots if within is None else within)
    walk = _Walk(follow_symlinks, trees)

    for root in roots:
        if within is not None and os.path.islink(root):
            why = _refusal(root, trees, follow_symlinks)
            if why:
                out.errors.append((root, why))
                continue
        try:
            st = os.stat(root)
        except FileNotFoundError:
            out.errors.append((root, "no such file or folder"))
            continue
        except PermissionError:
            out.errors.append((root, "permission denied"))
            continue
        except OSError as e:
            out.errors.append((root, _os_reason(e)))
            continue
        if stat.S_ISDIR(st.st_mode):
            key = (st.st_dev, st.st_ino)
            if key in visited_dirs:
                out.ignored.append((root, "same folder already walked"))
                continue
            visited_dirs.add(key)
            _walk(root, key, visited_dirs, out, found, walk)
        elif stat.S_ISREG(st.st_mode):
            # A file named explicitly is always loaded, whatever its name, unless a digest.
            kind, _ = classify_name(root)
            found.append(
                (root, "digest" if kind == "digest" else (kind or "log"), st, layout_of(root))
            )
        else:
            out.errors.append((root, "not a regular file or folder"))

    # Dedupe the same real file (dev, inode) reached by several paths, keeping the first
    # path in sort order so the result does not depend on the order of the walk.
    found.sort(key=itemgetter(0))
    first_path: dict[tuple[int, int], str] = {}
    for path, kind, st, layout in found:
        key = (st.st_dev, st.st_ino)
        first = first_path.get(key)
        if first is not None:
            if first != path:  # the very same path given twice is just listed once
                out.ignored.append((path, f"same file as {first}"))
            continue
        first_path[key] = path
        tf = TrailFile(path, kind, st.st_size, st.st_mtime_ns, *layout)
        (out.digests if kind == "digest" else out.files).append(tf)
    out.ignored.sort()
    out.errors.sort()
    return out


@dataclass(frozen=True, slots=True)
class _Walk:
    follow: bool  # --follow-symlinks
    trees: tuple[str, ...]  # real paths of the folders the user named


def _walk(
    root: str,
    root_key: tuple[int, int],
    visited_dirs: set[tuple[int, int]],
    out: Discovery,
    found: list[tuple[str, str, os.stat_result, Layout]],
    walk: _Walk,
) -> None:
    # Explicit stack of (folder, its real path, keys of its ancestors); ancestors tell a
    # real loop from a folder merely reached twice (two symlinks to it, or a root given
    # inside another).
    stack: list[tuple[str, str, tuple[tuple[int, int], ...]]] = [
        (root, os.path.realpath(root), (root_key,))
    ]
    errors, ignored = out.errors, out.ignored
    while stack:
        dirpath, real, ancestors = stack.pop()
        try:
            with os.scandir(dirpath) as it:
                entries = list(it)
        except PermissionError:
            errors.append((dirpath, "permission denied"))
            continue
        except FileNotFoundError:
            errors.append((dirpath, "folder vanished while walking"))
            continue
        except OSError as e:
            errors.append((dirpath, _os_reason(e)))
            continue
        out.folders.append(dirpath)
        dir_kind = _dir_kind(dirpath)
        dir_layout: Layout | None = None  # parsed lazily, once per folder
        layout_complete = False
        subdirs: list[tuple[str, str, tuple[int, int]]] = []
        for entry in entries:
            try:
                is_dir = entry.is_dir()  # follows symlinks; no syscall unless a symlink
            except OSError:
                is_dir = False
            if is_dir:
                # Dot-folders are walked too: real mirrors contain names like "...".
                if entry.is_symlink():
                    why = _refusal(entry.path, walk.trees, walk.follow)
                    if why:
                        errors.append((entry.path, why))
                        continue
                    sub_real = os.path.realpath(entry.path)
                else:
                    sub_real = os.path.join(real, entry.name)
                    system = _system_dir(sub_real)
                    if system is not None and _system_dir(real) is None:  # walking into it
                        ignored.append((entry.path, f"system folder ({system}), not walked"))
                        continue
                try:
                    st = entry.stat()
                except OSError as e:
                    errors.append((entry.path, f"stat failed: {_os_reason(e)}"))
                    continue
                subdirs.append((entry.path, sub_real, (st.st_dev, st.st_ino)))
                continue
            name = entry.name
            kind, why = _name_kind(name, dir_kind)
            if kind is None:
                # is_dir() is False for a symlink it cannot follow (e.g. to a folder we
                # may not enter); report that rather than call it an odd file name.
                if entry.is_symlink():
                    problem = _symlink_problem(entry)
                    if problem and problem != "broken symlink":
                        errors.append((entry.path, problem))
                        continue
                ignored.append((entry.path, why))
                continue
            try:
                st = entry.stat()  # the one syscall per candidate
            except OSError:
                errors.append((entry.path, _symlink_problem(entry) or "vanished while walking"))
                continue
            if not stat.S_ISREG(st.st_mode):
                ignored.append((entry.path, "not a regular file"))
                continue
            if entry.is_symlink():
                why = _refusal(entry.path, walk.trees, walk.follow)
                if why:
                    errors.append((entry.path, why))
                    continue
            if dir_layout is None:
                dir_layout = _dir_layout(dirpath)
                layout_complete = None not in dir_layout[1:]
            found.append(
                (
                    entry.path,
                    kind,
                    st,
                    dir_layout if layout_complete else _with_name(dir_layout, name),
                )
            )
        # Visit sub-folders in name order so which path wins for a folder reached twice
        # does not depend on the order the file system lists them.
        subdirs.sort()
        push = []
        for path, sub_real, key in subdirs:
            if key in ancestors:
                errors.append((path, "symlink loop"))
            elif key in visited_dirs:
                ignored.append((path, "same folder already walked"))
            else:
                visited_dirs.add(key)
                push.append((path, sub_real, ancestors + (key,)))
        stack.extend(reversed(push))  # popped in name order, depth first


def _symlink_problem(entry: os.DirEntry) -> str:
    """Why a directory entry cannot be stat'ed through its symlink ('' if it can)."""
    try:
        os.stat(entry.path)
        return ""
    except FileNotFoundError:
        return "broken symlink" if entry.is_symlink() else "vanished while walking"
    except PermissionError:
        return "permission denied"
    except OSError as e:
        if e.errno == errno.ELOOP:
            return "symlink loop"
        return f"stat failed: {_os_reason(e)}"


def _os_reason(e: OSError) -> str:
    return (e.strerror or str(e) or type(e).__name__).lower()
