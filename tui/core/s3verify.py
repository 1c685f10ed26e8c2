"""`verify` for a trail read from S3: the fetched objects laid out as a local copy.

The integrity check (`integrity.verify`) works on a copy in the S3 layout. Objects fetched
from S3 sit in the cache under content-addressed names, so they are hard-linked (copied
where the file system cannot link) into a private folder of the cache, at `<bucket>/<key>`,
checked there, and every path in the report is turned back into its s3:// URL. The
signatures come from the digests' own S3 metadata (`x-amz-meta-signature`), fetched with
them. The folder is removed afterwards. Engine code: no Textual.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import fields, is_dataclass, replace
from pathlib import Path

from .digest_signing import InputError, SignatureBook
from .discovery import Discovery

_VIEWS = "views"
_STALE_S = 24 * 3600  # a view left by a process that died is removed after a day


def safe_parts(key: str) -> list[str] | None:
    """The key's parts as local folder and file names, or None when it cannot be one
    without stepping out of the copy or losing its meaning (empty, `.`, `..`, NUL)."""
    parts = key.split("/")
    if any(
        p in ("", ".", "..") or "\0" in p or len(p.encode("utf-8", "surrogatepass")) > 255
        for p in parts
    ):
        return None
    return parts


class SignedCopy:
    """A context manager: `roots` to verify, `signatures` from S3 metadata, `rename`."""

    def __init__(
        self, cache_root: str | os.PathLike, disc: Discovery, metadata: dict[str, dict[str, str]]
    ):
        self.disc = disc
        self.metadata = metadata
        self.base = Path(cache_root) / _VIEWS
        self.dir: Path | None = None
        self.roots: list[str] = []
        self.unplaced: list[tuple[str, str]] = []  # (url, reason)
        self.signatures = SignatureBook()

    def __enter__(self) -> SignedCopy:
        self.base.mkdir(parents=True, exist_ok=True)
        _remove_stale(self.base)
        self.dir = Path(tempfile.mkdtemp(prefix=f"{os.getpid()}-", dir=self.base))
        roots: dict[str, None] = {}
        for tf in [*self.disc.files, *self.disc.digests]:
            if not tf.local:
                continue
            bucket, _, key = tf.path[len("s3://") :].partition("/")
            parts = safe_parts(key)
            if parts is None or not safe_parts(bucket):
                self.unplaced.append(
                    (
                        tf.path,
                        "its key cannot be laid out as a local path (empty, '.' or '..' parts)",
                    )
                )
                continue
            dest = self.dir.joinpath(bucket, *parts)
            dest.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(tf.local, dest)
            except OSError:
                shutil.copyfile(tf.local, dest)
            roots[str(self.dir / bucket)] = None
        self.roots = list(roots)
        for url, meta in sorted(self.metadata.items()):
            sig = meta.get("signature")
            if sig:
                try:
                    self.signatures.add(
                        url, sig, meta.get("signature-algorithm"), f"{url} (x-amz-meta-signature)"
                    )
                except InputError:
                    pass  # a malformed signature verifies nothing: the digest shows "no signature"
        return self

    def __exit__(self, *exc) -> None:
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)

    def rename(self, report) -> None:
        """Every path of the copy in `report` (files, digests, findings) as its URL."""
        assert self.dir is not None
        prefix = str(self.dir) + os.sep

        def fix(v):
            if isinstance(v, str) and prefix in v:
                return v.replace(prefix, "s3://")
            return v

        for name in ("files", "digests"):
            for item in getattr(report, name):
                for f in fields(item):
                    setattr(item, f.name, fix(getattr(item, f.name)))
        report.findings = [
            replace(x, **{f.name: fix(getattr(x, f.name)) for f in fields(x)})
            if is_dataclass(x) and not isinstance(x, type)
            else x
            for x in report.findings
        ]


def listed_keys(disc: Discovery) -> set[tuple[str, str]]:
    """(bucket, key) of every log file the fetched digests list, in the bucket each
    digest was read from (a replica's digests still name the original bucket)."""
    from .integrity import read_digest

    out: set[tuple[str, str]] = set()
    for tf in disc.digests:
        if tf.local:
            d = read_digest(tf.local)
            if d.body is not None:
                bucket = tf.path[len("s3://") :].partition("/")[0]
                out.update((bucket, e.s3_object) for e in d.body.log_files)
    return out


def merge(book: SignatureBook | None, extra: SignatureBook) -> SignatureBook:
    if book is None:
        return extra
    for name, sigs in extra.by_name.items():
        book.by_name.setdefault(name, []).extend(sigs)
        book.count += len(sigs)
    return book


def _remove_stale(base: Path) -> None:
    now = time.time()
    try:
        entries = list(os.scandir(base))
    except OSError:
        return
    for e in entries:
        try:
            if now - e.stat(follow_symlinks=False).st_mtime > _STALE_S:
                shutil.rmtree(e.path, ignore_errors=True)
        except OSError:
            continue
