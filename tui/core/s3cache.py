"""A local cache of S3 objects: content-addressed, size-limited, least recently used out.

An object is stored once per (bucket, key, ETag) under
``$XDG_CACHE_HOME/trailscope/s3/objects/<aa>/<sha256 of bucket, key and ETag>``: a second
open of the same objects costs no transfer, and an object rewritten in S3 (a new ETag) is
a new entry, never a stale copy. It lives in the user's cache folder, never beside a trail.

Entries are written to a temporary name and renamed, so a reader never sees a partial
object and two processes fetching the same object both end with the same complete file.
"Last used" is the entry's access time, set explicitly on each use (mounts with noatime
or relatime would not keep it); the modification time is left alone, because the store
compares it to tell whether a file it loaded has changed. When the cache grows past its
limit, the least recently used entries go first; the entries an open trail uses are
kept, even if they alone exceed the limit. Digest objects keep their S3 user metadata
(the signature) in a small JSON file beside the entry.

Engine code: no Textual, no boto3.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

DEFAULT_LIMIT = 10 << 30  # bytes
_META = ".meta.json"
_TMP = ".part-"


def cache_home() -> Path:
    """`$XDG_CACHE_HOME/trailscope/s3` (`~/.cache/trailscope/s3` when unset or relative)."""
    env = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(env) if env and os.path.isabs(env) else Path.home() / ".cache"
    return base / "trailscope" / "s3"


def entry_name(bucket: str, key: str, etag: str) -> str:
    """The hex SHA-256 naming an object's entry. NUL separates the parts (no bucket name,
    key or ETag holds one), so two different triples never share a name."""
    h = hashlib.sha256()
    for part in (bucket, key, etag.strip('"')):
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\0")
    return h.hexdigest()


@dataclass(frozen=True, slots=True)
class CacheInfo:
    root: str
    entries: int
    bytes: int
    limit: int
    oldest_use: float | None  # seconds since the epoch
    newest_use: float | None


class ObjectCache:
    def __init__(self, root: str | os.PathLike | None = None, limit: int = DEFAULT_LIMIT):
        self.root = Path(root) if root is not None else cache_home()
        self.limit = limit
        self.objects = self.root / "objects"

    def path(self, name: str) -> Path:
        return self.objects / name[:2] / name

    def lookup(self, name: str) -> Path | None:
        """The entry's path if present (marking it used), else None."""
        p = self.path(name)
        try:
            st = p.stat()
        except OSError:
            return None
        self._touch(p, st)
        return p

    def metadata(self, name: str) -> dict[str, str] | None:
        """The S3 user metadata kept with an entry (digests only), or None."""
        try:
            doc = json.loads(self.path(name).with_name(name + _META).read_bytes())
        except (OSError, ValueError):
            return None
        meta = doc.get("metadata") if isinstance(doc, dict) else None
        if not isinstance(meta, dict):
            return None
        return {str(k): str(v) for k, v in meta.items()}

    def store(
        self,
        name: str,
        chunks: Iterable[bytes],
        *,
        expected_size: int | None = None,
        metadata: dict[str, str] | None = None,
    ) -> tuple[Path, int]:
        """Write an entry from `chunks` (an object's body) and return (path, bytes written).

        Raises OSError on a local write failure and ValueError when fewer or more bytes
        than `expected_size` arrive (a cut connection): nothing is left behind then."""
        final = self.path(name)
        final.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=_TMP, dir=final.parent)
        size = 0
        try:
            with os.fdopen(fd, "wb") as f:
                for chunk in chunks:
                    f.write(chunk)
                    size += len(chunk)
            if expected_size is not None and size != expected_size:
                raise ValueError(f"transfer cut short: {size:,} of {expected_size:,} bytes")
            if metadata:
                side = final.with_name(name + _META)
                side_tmp = side.with_name(_TMP + side.name)
                side_tmp.write_text(json.dumps({"metadata": metadata}))
                os.replace(side_tmp, side)
            os.replace(tmp, final)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
        return final, size

    # ------------------------------------------------------------------ size limit

    def _entries(self) -> Iterator[tuple[Path, os.stat_result]]:
        try:
            shards = list(os.scandir(self.objects))
        except OSError:
            return
        for shard in shards:
            if not shard.is_dir(follow_symlinks=False):
                continue
            try:
                with os.scandir(shard.path) as it:
                    for e in it:
                        if e.name.startswith(_TMP) or e.name.endswith(_META):
                            continue
                        try:
                            yield Path(e.path), e.stat(follow_symlinks=False)
                        except OSError:
                            continue
            except OSError:
                continue

    def evict(self, keep: Iterable[str | os.PathLike] = ()) -> tuple[int, int]:
        """Remove least recently used entries until the cache is within its limit, never
        one of `keep` (paths). Returns (entries removed, bytes freed)."""
        entries = list(self._entries())
        total = sum(st.st_size for _, st in entries)
        if total <= self.limit:
            return 0, 0
        kept = {os.fspath(p) for p in keep}
        removed = freed = 0
        for p, st in sorted(entries, key=lambda e: e[1].st_atime_ns):
            if total <= self.limit:
                break
            if os.fspath(p) in kept:
                continue
            try:
                p.unlink()
            except OSError:
                continue
            try:
                p.with_name(p.name + _META).unlink()
            except OSError:
                pass
            total -= st.st_size
            freed += st.st_size
            removed += 1
        return removed, freed

    def info(self) -> CacheInfo:
        entries = list(self._entries())
        uses = [st.st_atime for _, st in entries]
        return CacheInfo(
            str(self.root),
            len(entries),
            sum(st.st_size for _, st in entries),
            self.limit,
            min(uses) if uses else None,
            max(uses) if uses else None,
        )

    def clear(self) -> tuple[int, int]:
        """Remove every entry (and the folders holding them). Returns (entries, bytes)."""
        entries = list(self._entries())
        shutil.rmtree(self.objects, ignore_errors=True)
        return len(entries), sum(st.st_size for _, st in entries)

    @staticmethod
    def _touch(p: Path, st: os.stat_result) -> None:
        try:
            os.utime(p, ns=(time.time_ns(), st.st_mtime_ns))
        except OSError:
            pass  # a read-only cache still serves its entries
