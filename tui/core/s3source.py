"""Read a trail straight from S3: list what is wanted, fetch it into the cache, follow it.

Listing walks the CloudTrail layout a level at a time (`Delimiter='/'`), so accounts,
regions and day folders outside what was asked for are never listed: `--account` and
`--region` choose folders, a time window chooses `YYYY/MM/DD` folders (years and months
first, so a region that was quiet for months costs a request or two). Without a window a
region folder is listed whole, which takes fewer requests than a day at a time. A prefix
with no `AWSLogs/` near it is listed whole, as a local folder is walked whole.

Objects are fetched by a bounded pool of threads into the `s3cache.ObjectCache` and handed
to the loader as local files that carry their s3:// URL as their name (`TrailFile.local`):
every message, list and export shows the URL, never the cache path.

Following lists each day folder still receiving files after the newest key seen there
(`StartAfter`, with a look-back: see `s3layout.start_after`) at an interval; every
object is loaded once, since keys already loaded or reported are remembered.

Engine code: no Textual. boto3 is optional and imported on first use.
"""

from __future__ import annotations

import asyncio
import builtins
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from .discovery import Discovery, TrailFile, classify_name, layout_of
from .reader import DEFAULT_MAX_BYTES
from .s3cache import DEFAULT_LIMIT, ObjectCache, entry_name
from .s3layout import (
    DIGEST_SERVICE,
    LOG_SERVICES,
    S3URL,
    Window,
    child_level,
    day_prefix,
    is_object_name,
    parse_url,
    position,
    recent_days,
    start_after,
)

NEEDS_BOTO3 = "reading s3:// paths needs boto3: pip install 'trailscope[s3]'"
DEFAULT_CONNECTIONS = 16
# How many folders below the given prefix to look for AWSLogs/ (`[prefix/]AWSLogs/`, and
# one more level for buckets that hold several trails' prefixes).
SEARCH_DEPTH = 2
FOLLOW_INTERVAL_S = 30.0
FOLLOW_LOOKBACK = timedelta(hours=1)
REWALK_EVERY = 10  # follow rounds between walks of the whole layout (new accounts, regions)
_CHUNK = 1 << 20
_POLL_S = 0.2  # how soon a fetch notices it was cancelled while nothing lands
CANCELLED = "download cancelled"
_TRANSIENT = ("download failed", "cannot write the cache copy", CANCELLED)


class S3Error(Exception):
    """Nothing can be read (no boto3, no credentials, no endpoint): the message says why."""


@dataclass(frozen=True, slots=True)
class S3Options:
    profile: str | None = None
    endpoint_url: str | None = None
    window: Window = Window()
    accounts: frozenset[str] | None = None
    regions: frozenset[str] | None = None
    connections: int = DEFAULT_CONNECTIONS
    cache_dir: str | None = None
    cache_limit: int = DEFAULT_LIMIT
    logs: bool = True  # list log and Insight files
    digests: bool = False  # list (and fetch) digest files: `verify`
    interval: float = FOLLOW_INTERVAL_S
    lookback: timedelta = FOLLOW_LOOKBACK


@dataclass(frozen=True, slots=True)
class S3Object:
    bucket: str
    key: str
    size: int
    etag: str
    modified_ns: int
    kind: str  # 'log' | 'insight' | 'digest'

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


@dataclass(slots=True)
class Listing:
    objects: list[S3Object] = field(default_factory=list)
    ignored: list[tuple[str, str]] = field(default_factory=list)  # (url, reason)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (url, reason)
    listed: list[str] = field(default_factory=list)  # every prefix listed, as a URL
    leaves: list[tuple[str, str]] = field(default_factory=list)  # region folders
    whole: list[tuple[str, str]] = field(default_factory=list)  # prefixes listed whole


@dataclass(slots=True)
class S3Progress:
    objects_total: int = 0
    objects_done: int = 0
    bytes_total: int = 0  # listed sizes
    bytes_done: int = 0
    cached: int = 0  # objects found in the cache
    transferred: int = 0  # bytes downloaded
    failed: int = 0

    def text(self, seconds: float) -> str:
        """One line for a fetch under way `seconds`: objects and bytes done of the
        total, the transfer rate, objects from the cache and failed."""
        rate = self.transferred / seconds if seconds > 0 else 0.0
        text = (
            f"s3 {self.objects_done:,}/{self.objects_total:,} objects, "
            f"{_mb(self.bytes_done)} of {_mb(self.bytes_total)}, {_mb(rate)}/s"
        )
        if self.cached:
            text += f", {self.cached:,} cached"
        if self.failed:
            text += f", {self.failed:,} failed"
        return text


def _mb(n: float) -> str:
    return f"{n / 1e6:,.1f} MB"


@dataclass(slots=True)
class Fetched:
    files: list[TrailFile] = field(default_factory=list)  # log/Insight files, in the cache
    digests: list[TrailFile] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (url, reason)
    metadata: dict[str, dict[str, str]] = field(default_factory=dict)  # url -> S3 metadata
    progress: S3Progress = field(default_factory=S3Progress)


@dataclass(slots=True)
class S3Source:
    """A trail in S3 for the explorer: listed before it opens (a trail that cannot be
    read at all ends the command with the reason), fetched while it loads."""

    trail: S3Trail
    listing: Listing


def _credential_errors() -> tuple[type[BaseException], ...]:
    from botocore import exceptions as bx

    names = (
        "NoCredentialsError",
        "PartialCredentialsError",
        "ProfileNotFound",
        "SSOError",
        "SSOTokenLoadError",
        "UnauthorizedSSOTokenError",
        "TokenRetrievalError",
        "CredentialRetrievalError",
        "NoRegionError",
        "EndpointConnectionError",
        "ConnectTimeoutError",
        "InvalidConfigError",
    )
    return tuple(getattr(bx, n) for n in names if hasattr(bx, n))


def _fatal_message(e: BaseException) -> str:
    name = type(e).__name__
    if name in ("NoCredentialsError", "PartialCredentialsError"):
        return (
            "no usable AWS credentials (looked in the environment, the shared "
            f"config and credentials files, SSO and the instance role): {e}"
        )
    if "SSO" in name or name == "TokenRetrievalError":
        return f"AWS SSO session unusable ({e}); `aws sso login` renews it"
    return str(e)


def client_error_reason(e: BaseException) -> str:
    """One sentence for a failed S3 request."""
    resp = getattr(e, "response", None)
    if isinstance(resp, dict):
        err = resp.get("Error") or {}
        code = str(err.get("Code") or "")
        status = (resp.get("ResponseMetadata") or {}).get("HTTPStatusCode")
        msg = str(err.get("Message") or "")
        if code in ("NoSuchKey", "404") or (status == 404 and code != "NoSuchBucket"):
            return "object no longer exists (deleted after it was listed)"
        if code in ("AccessDenied", "403") or status == 403:
            return f"access denied ({code or 403}{': ' + msg if msg else ''})"
        if code == "NoSuchBucket":
            return "no such bucket"
        return f"{code or status}: {msg}".rstrip(": ")
    return f"{type(e).__name__}: {e}"


class S3Trail:
    """The trail under one or more s3:// URLs. Not thread-safe: one caller at a time
    (fetching runs its own threads)."""

    def __init__(
        self,
        urls: Sequence[str],
        options: S3Options | None = None,
        *,
        session: Any = None,  # a boto3.Session (boto3 has no type stubs)
    ):
        self.urls: list[S3URL] = [parse_url(u) for u in urls]  # raises BadURL
        self.opts = options or S3Options()
        self.cache = ObjectCache(self.opts.cache_dir, self.opts.cache_limit)
        self._session = session  # a boto3.Session (tests pass one with event hooks)
        self._client = None
        self._client_lock = threading.Lock()
        self.seen: set[tuple[str, str]] = set()  # (bucket, key) loaded or reported
        self._seen_in: dict[tuple[str, str], list[str]] = {}  # (bucket, folder) -> keys
        self.leaves: list[tuple[str, str]] = []
        self.whole: list[tuple[str, str]] = []
        self.in_use: set[str] = set()  # cache entries this trail's files are read from
        self.requests: Counter[str] = Counter()  # 'list' / 'get', for the caller's summary

    # ------------------------------------------------------------------ client

    def client(self):
        with self._client_lock:
            if self._client is None:
                try:
                    import boto3
                    from botocore.config import Config
                except ImportError:
                    raise S3Error(NEEDS_BOTO3) from None
                try:
                    session = self._session or boto3.Session(profile_name=self.opts.profile)
                    cfg = Config(
                        max_pool_connections=max(1, self.opts.connections),
                        retries={"mode": "standard", "max_attempts": 5},
                        user_agent_extra="trailscope",
                    )
                    self._client = session.client(
                        "s3",
                        endpoint_url=self.opts.endpoint_url,
                        config=cfg,
                        region_name=None if session.region_name else "us-east-1",
                    )
                except _credential_errors() as e:
                    raise S3Error(_fatal_message(e)) from None
            return self._client

    # ------------------------------------------------------------------ listing

    def list(self) -> Listing:
        """Every wanted object under the URLs, sorted by URL; unreadable prefixes in
        `errors`. Raises S3Error when nothing can be listed at all (credentials...)."""
        lst = Listing()
        for u in self.urls:
            if is_object_name(u.prefix):
                self._one_object(lst, u)
                continue
            pos = position(u.prefix)
            if pos.level == "above":
                self._search(lst, u.bucket, u.prefix)
            elif pos.level == "other":
                self._whole(lst, u.bucket, u.prefix)
            elif pos.level == "date":
                region = u.prefix[: len(u.prefix) - len("/".join(pos.fixed)) - 1]
                self._region(lst, u.bucket, region, pos.fixed)
            else:
                self._layout(lst, u.bucket, u.prefix, pos.level)
        uniq = {(o.bucket, o.key): o for o in lst.objects}
        lst.objects = sorted(uniq.values(), key=lambda o: (o.bucket, o.key))
        lst.ignored = sorted(set(lst.ignored))
        self.leaves = list(dict.fromkeys(self.leaves + lst.leaves))
        self.whole = list(dict.fromkeys(self.whole + lst.whole))
        return lst

    def _pages(
        self, lst: Listing, bucket: str, prefix: str, *, delimiter: bool, after: str | None = None
    ) -> tuple[builtins.list[str], builtins.list[dict]] | None:
        """(common prefixes, objects) of one listing, or None with the error recorded."""
        url = f"s3://{bucket}/{prefix}"
        lst.listed.append(url)
        kw: dict = {"Bucket": bucket, "Prefix": prefix}
        if delimiter:
            kw["Delimiter"] = "/"
        if after:
            kw["StartAfter"] = after
        client = self.client()  # first: it says so when boto3 is missing
        from botocore.exceptions import BotoCoreError, ClientError

        cps: list[str] = []
        objs: list[dict] = []
        try:
            for page in client.get_paginator("list_objects_v2").paginate(**kw):
                self.requests["list"] += 1
                cps += [c["Prefix"] for c in page.get("CommonPrefixes", ())]
                objs += page.get("Contents", ())
        except _credential_errors() as e:
            raise S3Error(_fatal_message(e)) from None
        except ClientError as e:
            self.requests["list"] += 1
            lst.errors.append((url, f"cannot list: {client_error_reason(e)}"))
            return None
        except BotoCoreError as e:
            lst.errors.append((url, f"cannot list: {e}"))
            return None
        return cps, objs

    def _add(self, lst: Listing, bucket: str, o: dict) -> None:
        key = o["Key"]
        if key.endswith("/"):
            return  # a console "folder" marker
        kind, why = classify_name(key)
        url = f"s3://{bucket}/{key}"
        if kind is None:
            lst.ignored.append((url, why))
            return
        if kind != "digest" and not self.opts.logs:
            return
        mod = o.get("LastModified")
        lst.objects.append(
            S3Object(
                bucket,
                key,
                int(o.get("Size") or 0),
                str(o.get("ETag") or "").strip('"'),
                int(mod.timestamp() * 1e9) if isinstance(mod, datetime) else 0,
                kind,
            )
        )

    def _one_object(self, lst: Listing, u: S3URL) -> None:
        got = self._pages(lst, u.bucket, u.prefix, delimiter=False)
        if got is None:
            return
        match = [o for o in got[1] if o["Key"] == u.prefix]
        if not match:
            lst.errors.append((str(u), "no such object"))
            return
        kind, _ = classify_name(u.prefix)
        o = match[0]
        mod = o.get("LastModified")
        lst.objects.append(
            S3Object(
                u.bucket,
                u.prefix,
                int(o.get("Size") or 0),
                str(o.get("ETag") or "").strip('"'),
                int(mod.timestamp() * 1e9) if isinstance(mod, datetime) else 0,
                "digest" if kind == "digest" else (kind or "log"),
            )
        )

    def _whole(self, lst: Listing, bucket: str, prefix: str, *, leaf: bool = False) -> None:
        """List everything under `prefix`; `leaf`: a region folder (followed by its day
        folders), else a prefix outside the layout (followed by listing it whole)."""
        if not leaf:
            lst.whole.append((bucket, prefix))
        got = self._pages(lst, bucket, prefix, delimiter=False)
        if got is not None:
            for o in got[1]:
                self._add(lst, bucket, o)

    def _search(self, lst: Listing, bucket: str, prefix: str) -> None:
        """Look for AWSLogs/ up to SEARCH_DEPTH folders down; without one, list the
        prefix whole. Log files met on the way are loaded as loose files."""
        found = False
        deeper: list[tuple[str, str]] = []
        stack = [(prefix, 0)]
        while stack:
            p, depth = stack.pop()
            got = self._pages(lst, bucket, p, delimiter=True)
            if got is None:
                if p == prefix:
                    return  # the error says why; listing it whole would fail the same way
                continue
            cps, objs = got
            for o in objs:
                self._add(lst, bucket, o)
            for cp in sorted(cps, reverse=True):
                if cp[len(p) :] == "AWSLogs/":
                    found = True
                    self._layout(lst, bucket, cp, "awslogs")
                elif depth + 1 < SEARCH_DEPTH:
                    stack.append((cp, depth + 1))
                else:
                    deeper.append(
                        (
                            f"s3://{bucket}/{cp}",
                            "not read: no AWSLogs/ within "
                            f"{SEARCH_DEPTH} folders of the prefix given (give this "
                            "prefix to read it)",
                        )
                    )
        if found:
            lst.ignored += deeper
        else:
            self._whole(lst, bucket, prefix)

    def _layout(self, lst: Listing, bucket: str, prefix: str, level: str) -> None:
        if level == "region":
            self._region(lst, bucket, prefix, ())
            return
        got = self._pages(lst, bucket, prefix, delimiter=True)
        if got is None:
            return
        cps, objs = got
        for o in objs:
            self._add(lst, bucket, o)
        opts = self.opts
        for cp in cps:
            name = cp[len(prefix) : -1]
            nxt = child_level(level, name)
            if nxt is None:
                lst.ignored.append((f"s3://{bucket}/{cp}", "not part of the CloudTrail layout"))
            elif nxt == "account" and opts.accounts is not None and name not in opts.accounts:
                continue
            elif nxt == "service" and not (
                (name in LOG_SERVICES and opts.logs) or (name == DIGEST_SERVICE and opts.digests)
            ):
                continue
            elif nxt == "region" and opts.regions is not None and name not in opts.regions:
                continue
            else:
                self._layout(lst, bucket, cp, nxt)

    def _region(self, lst: Listing, bucket: str, region: str, fixed: tuple[str, ...]) -> None:
        """A region folder: its day folders in the window (all of it without one)."""
        lst.leaves.append((bucket, region))
        w = self.opts.window
        start = region + "".join(p + "/" for p in fixed)
        if not w.bounded:
            self._whole(lst, bucket, start, leaf=True)
            return
        stack: list[tuple[str, tuple[str, ...]]] = [(start, fixed)]
        while stack:
            p, parts = stack.pop()
            if len(parts) == 3:
                if w.wants(*parts):
                    got = self._pages(lst, bucket, p, delimiter=False)
                    for o in got[1] if got else ():
                        self._add(lst, bucket, o)
                continue
            got = self._pages(lst, bucket, p, delimiter=True)
            if got is None:
                continue
            cps, objs = got
            for o in objs:
                self._add(lst, bucket, o)
            for cp in sorted(cps, reverse=True):
                name = cp[len(p) : -1]
                width = (4, 2, 2)[len(parts)]
                if not (name.isdigit() and len(name) == width):
                    lst.ignored.append((f"s3://{bucket}/{cp}", "not a date folder"))
                    continue
                folder = (*parts, name)  # year, month, day so far
                if w.wants(*folder):
                    stack.append((cp, folder))

    # ------------------------------------------------------------------ fetching

    def fetch(
        self,
        objects: Sequence[S3Object],
        on_progress: Callable[[S3Progress], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> Fetched:
        """Bring `objects` into the cache (those already there cost nothing), with at
        most `connections` requests at a time. Per-object failures are in `errors`;
        after a cancel, what landed before it."""
        out = Fetched()
        for group in self.fetch_groups(objects, on_progress=on_progress, cancel=cancel):
            out.files += group.files
            out.digests += group.digests
            out.errors += group.errors
            out.metadata.update(group.metadata)
            out.progress = group.progress
        order = {o.url: i for i, o in enumerate(objects)}  # as listed, not as landed
        out.files.sort(key=lambda f: order[f.path])
        out.digests.sort(key=lambda f: order[f.path])
        out.errors.sort(key=lambda e: order[e[0]])
        return out

    def fetch_groups(
        self,
        objects: Sequence[S3Object],
        *,
        on_progress: Callable[[S3Progress], None] | None = None,
        cancel: threading.Event | None = None,
        every_s: float = 0.0,
    ) -> Iterator[Fetched]:
        """Fetch `objects` as `fetch` does, handing over what has landed as it lands: a
        group at most every `every_s` seconds (0: each object alone), in the order the
        downloads end, each with a copy of the progress so far. Setting `cancel` stops
        it: queued objects are not fetched, downloads under way stop at their next
        chunk, and no more groups come."""
        prog = S3Progress(objects_total=len(objects), bytes_total=sum(o.size for o in objects))
        stop = threading.Event()  # the caller cancelled, or left the loop early

        def stopped() -> bool:
            return stop.is_set() or (cancel is not None and cancel.is_set())

        group, in_group = Fetched(), 0
        last = time.monotonic()
        landed = _fetch_threads(
            self.opts.connections, objects, lambda o: self._fetch_one(o, stopped), stopped
        )
        left = len(objects)
        try:
            while left:
                # Wake up to hand over a group on time and to notice a cancel.
                wait_s = (
                    _POLL_S
                    if not in_group
                    else min(_POLL_S, max(0.0, last + every_s - time.monotonic()))
                )
                try:
                    o, (path, reason, meta, cached, sent) = landed.get(timeout=wait_s)
                except queue.Empty:
                    o = None
                if stopped():
                    return
                if o is not None:
                    left -= 1
                    in_group += 1
                    prog.objects_done += 1
                    prog.bytes_done += o.size
                    prog.cached += cached
                    prog.transferred += sent
                    prog.failed += path is None
                    if path is None:
                        group.errors.append((o.url, reason))
                    else:
                        self.in_use.add(str(path))
                        tf = TrailFile(
                            o.url, o.kind, o.size, o.modified_ns, *layout_of(o.key), local=str(path)
                        )
                        (group.digests if o.kind == "digest" else group.files).append(tf)
                        if meta:
                            group.metadata[o.url] = meta
                    if on_progress is not None:
                        on_progress(prog)
                if in_group and (not left or time.monotonic() - last >= every_s):
                    group.progress = replace(prog)
                    yield group
                    # The next group gathers from now: what landed while the caller
                    # was busy with this one comes as one group, not one by one.
                    group, in_group, last = Fetched(), 0, time.monotonic()
        finally:
            stop.set()  # queued objects are dropped, downloads stop at their next chunk
        if prog.transferred:
            self.cache.evict(keep=self.in_use)

    def _fetch_one(
        self,
        o: S3Object,
        stopped: Callable[[], bool] = lambda: False,
    ) -> tuple[Path | None, str, dict | None, bool, int]:
        """(cache path or None, why not, S3 metadata of a digest, from cache?, bytes)."""
        if stopped():
            return None, CANCELLED, None, False, 0
        name = entry_name(o.bucket, o.key, o.etag)
        hit = self.cache.lookup(name)
        if hit is not None:
            return hit, "", self.cache.metadata(name) if o.kind == "digest" else None, True, 0
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            resp = self.client().get_object(Bucket=o.bucket, Key=o.key)
            self.requests["get"] += 1
            # The entry is named by the ETag of what was fetched: an object rewritten
            # since the listing is stored as what it now is, never under the old name.
            etag = str(resp.get("ETag") or o.etag).strip('"')
            meta = dict(resp.get("Metadata") or {}) if o.kind == "digest" else None
            body = resp["Body"]
            try:
                path, n = self.cache.store(
                    entry_name(o.bucket, o.key, etag),
                    _until(stopped, body.iter_chunks(_CHUNK)),
                    expected_size=resp.get("ContentLength"),
                    metadata=meta,
                )
            finally:
                body.close()
            return path, "", meta, False, n
        except ClientError as e:
            self.requests["get"] += 1
            return None, client_error_reason(e), None, False, 0
        except _Stopped:
            return None, CANCELLED, None, False, 0
        except (BotoCoreError, ValueError) as e:
            return None, f"download failed: {e}", None, False, 0
        except OSError as e:
            return (
                None,
                (
                    f"cannot write the cache copy in {self.cache.root}: "
                    f"{(e.strerror or str(e)).lower()}"
                ),
                None,
                False,
                0,
            )

    def fetch_keys(
        self,
        keys: Iterable[tuple[str, str]],
        on_progress: Callable[[S3Progress], None] | None = None,
    ) -> Fetched:
        """Fetch objects known by key alone (the log files digests list): a HEAD for each
        gives its ETag, then as `fetch`. Keys that do not exist are left out silently:
        whoever named them reports them missing."""
        from botocore.exceptions import BotoCoreError, ClientError

        def head(bk: tuple[str, str]) -> S3Object | tuple[str, str] | None:
            bucket, key = bk
            try:
                r = self.client().head_object(Bucket=bucket, Key=key)
            except ClientError as e:
                reason = client_error_reason(e)
                return (
                    None
                    if reason.startswith("object no longer")
                    else (f"s3://{bucket}/{key}", reason)
                )
            except BotoCoreError as e:
                return (f"s3://{bucket}/{key}", f"cannot read: {e}")
            finally:
                self.requests["head"] += 1
            mod = r.get("LastModified")
            kind = classify_name(key)[0] or "log"
            return S3Object(
                bucket,
                key,
                int(r.get("ContentLength") or 0),
                str(r.get("ETag") or "").strip('"'),
                int(mod.timestamp() * 1e9) if isinstance(mod, datetime) else 0,
                kind,
            )

        keys = sorted(set(keys))
        with ThreadPoolExecutor(max(1, self.opts.connections)) as ex:
            heads = list(ex.map(head, keys))
        objs = [h for h in heads if isinstance(h, S3Object)]
        got = self.fetch(objs, on_progress)
        got.errors += [h for h in heads if isinstance(h, tuple)]
        self._see((o.bucket, o.key) for o in objs)
        return got

    # ------------------------------------------------------------------ loading

    def discover(self, on_progress: Callable[[S3Progress], None] | None = None) -> Discovery:
        """List and fetch: what `discovery.discover` gives for a local folder, with each
        file's s3:// URL as its path and its cache copy as where it is read from."""
        lst = self.list()
        return self.discovery(lst, self.fetch(self.wanted(lst), on_progress))

    def discovery(self, lst: Listing, got: Fetched) -> Discovery:
        self.mark_loaded(lst, got.errors)
        disc = self.listed(lst)
        disc.files = got.files
        disc.errors = sorted(lst.errors + got.errors)
        if self.opts.digests:
            disc.digests = got.digests
        return disc

    def listed(self, lst: Listing) -> Discovery:
        """What a listing alone tells: names ignored, prefixes that could not be listed,
        and the digest files (counted as a local load counts them); no files yet."""
        return Discovery(
            files=[],
            ignored=lst.ignored,
            errors=sorted(lst.errors),
            digests=[
                TrailFile(o.url, "digest", o.size, o.modified_ns, *layout_of(o.key))
                for o in lst.objects
                if o.kind == "digest"
            ],
        )

    def wanted(self, lst: Listing) -> builtins.list[S3Object]:
        """The listed objects a load fetches (digests only for `verify`)."""
        return [o for o in lst.objects if o.kind != "digest" or self.opts.digests]

    def mark_loaded(self, lst: Listing, errors: Iterable[tuple[str, str]]) -> None:
        """Following starts after what a load read: every listed object counts as seen
        except those whose download failed on the way (tried again when following)."""
        retry = {url for url, why in errors if why.startswith(_TRANSIENT)}
        self._see([(o.bucket, o.key) for o in lst.objects if o.url not in retry])

    # ------------------------------------------------------------------ following

    def poll(
        self, now: datetime | None = None, rewalk: bool = False
    ) -> tuple[Listing, builtins.list[S3Object]]:
        """One round of following: list what can have changed; the objects not seen yet."""
        lst = Listing()
        if rewalk:
            recent = recent_days(now or datetime.now(UTC))
            walker = S3Trail(
                [str(u) for u in self.urls],
                _replace_window(self.opts, Window(_day_ms(recent[0]), None)),
                session=self._session,
            )
            walker._client = self.client()
            lst = walker.list()
            self.requests.update(walker.requests)
            self.leaves = list(dict.fromkeys(self.leaves + walker.leaves))
        else:
            days = recent_days(now or datetime.now(UTC))
            for bucket, region in self.leaves:
                for day in days:
                    folder = region + day_prefix(day)
                    after = start_after(
                        sorted(self._seen_in.get((bucket, folder), ())), self.opts.lookback
                    )
                    got = self._pages(lst, bucket, folder, delimiter=False, after=after)
                    for o in got[1] if got else ():
                        self._add(lst, bucket, o)
            for bucket, prefix in self.whole:
                got = self._pages(lst, bucket, prefix, delimiter=False)
                for o in got[1] if got else ():
                    self._add(lst, bucket, o)
        new = [o for o in lst.objects if (o.bucket, o.key) not in self.seen]
        new.sort(key=lambda o: (o.bucket, o.key))
        return lst, list({(o.bucket, o.key): o for o in new}.values())

    async def follow(
        self,
        on_event: Callable,
        *,
        stop: asyncio.Event,
        max_bytes: int = DEFAULT_MAX_BYTES,
        jobs: int | None = None,
        interval: float | None = None,
        **_ignored,
    ) -> None:
        """Poll until `stop` is set, calling `on_event(FollowEvent)` as `tail.follow`
        does: each new object's events once, each failure to list or fetch once."""
        interval = self.opts.interval if interval is None else interval
        # Set when following ends (stopped or cancelled): downloads under way stop.
        cancel = threading.Event()
        try:
            await self._follow(on_event, stop, cancel, max_bytes, jobs, interval)
        finally:
            cancel.set()

    async def _follow(
        self,
        on_event: Callable,
        stop: asyncio.Event,
        cancel: threading.Event,
        max_bytes: int,
        jobs: int | None,
        interval: float,
    ) -> None:
        from .tail import Changes, FollowEvent

        reported: set[tuple[str, str]] = set()
        rounds = 0
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), timeout=interval)
                break
            except TimeoutError:
                pass
            rounds += 1
            try:
                lst, new = await asyncio.to_thread(self.poll, None, rounds % REWALK_EVERY == 0)
                got = await asyncio.to_thread(self.fetch, new, None, cancel)
            except S3Error as e:
                on_event(
                    FollowEvent(
                        [],
                        Changes(),
                        f"S3 unavailable: {e}; trying again in {interval:g} s",
                        "poll",
                    )
                )
                continue
            errors = [e for e in lst.errors + got.errors if e not in reported]
            reported.update(errors)
            batches = (
                await asyncio.to_thread(_parse, got.files, max_bytes, jobs) if got.files else []
            )
            # An object S3 refused or no longer has counts as seen (reported once); one
            # whose download failed on the way (network, local disk) is tried again.
            retry = {url for url, why in got.errors if why.startswith(_TRANSIENT)}
            keys = [(o.bucket, o.key) for o in new if o.url not in retry]
            self._see(keys)
            if batches or errors:
                try:
                    on_event(FollowEvent(batches, Changes(errors=errors), "", "poll"))
                except BaseException:
                    self._unsee(keys)  # not delivered: read again
                    raise

    def _see(self, keys: Iterable[tuple[str, str]]) -> None:
        for bucket, key in keys:
            if (bucket, key) not in self.seen:
                self.seen.add((bucket, key))
                folder = key[: key.rfind("/") + 1]
                self._seen_in.setdefault((bucket, folder), []).append(key)

    def _unsee(self, keys: Iterable[tuple[str, str]]) -> None:
        for bucket, key in keys:
            if (bucket, key) in self.seen:
                self.seen.discard((bucket, key))
                self._seen_in[(bucket, key[: key.rfind("/") + 1])].remove(key)


def _fetch_threads(
    n: int, objects: Sequence[S3Object], fetch: Callable, stopped: Callable[[], bool]
) -> queue.SimpleQueue:
    """Fetch `objects` on up to `n` threads; (object, result) pairs land in the queue
    returned as each ends. Daemon threads: a download stalled on the network when the
    program quits never holds up its exit (a ThreadPoolExecutor's threads are joined)."""
    todo: queue.SimpleQueue = queue.SimpleQueue()
    for o in objects:
        todo.put(o)
    landed: queue.SimpleQueue = queue.SimpleQueue()

    def worker() -> None:
        while not stopped():
            try:
                o = todo.get_nowait()
            except queue.Empty:
                return
            try:
                got = fetch(o)
            except Exception as e:  # a bug must not leave the reader waiting for it
                got = (None, f"download failed: {type(e).__name__}: {e}", None, False, 0)
            landed.put((o, got))

    for i in range(min(max(1, n), len(objects))):
        threading.Thread(target=worker, name=f"trailscope-s3-{i}", daemon=True).start()
    return landed


class _Stopped(Exception):
    """A download given up half-way because the fetch was cancelled."""


def _until(stopped: Callable[[], bool], chunks: Iterable[bytes]) -> Iterator[bytes]:
    for chunk in chunks:
        if stopped():
            raise _Stopped
        yield chunk


def _parse(files: list[TrailFile], max_bytes: int, jobs: int | None) -> list:
    from .loader import iter_batches

    return list(iter_batches(files, max_bytes, jobs))


def _replace_window(o: S3Options, w: Window) -> S3Options:
    return replace(o, window=w)


def _day_ms(day) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)
