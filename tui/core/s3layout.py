"""Where CloudTrail puts objects in S3, as far as choosing what to list goes.

`[prefix/]AWSLogs/[o-id/]<account>/CloudTrail[-Insight|-Digest]/<region>/YYYY/MM/DD/<name>`:
s3://URLs, the level of the layout a prefix stands at, which day folders a time window
needs, and the delivery stamp in an object's name (for listing after the newest key seen).
Pure functions: no boto3, no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

SCHEME = "s3://"
ORG = re.compile(r"o-[a-z0-9]{10,32}\Z")
ACCOUNT = re.compile(r"\d{12}\Z")
REGION = re.compile(r"[a-z]{2,}(?:-[a-z0-9]+)+\Z")
LOG_SERVICES = ("CloudTrail", "CloudTrail-Insight")
DIGEST_SERVICE = "CloudTrail-Digest"
# <account>_CloudTrail[-Insight|-Digest]_<region>_[...]<YYYYMMDDTHHmm[ss]>Z...
_NAME_STAMP = re.compile(r"_(\d{8}T\d{4}(?:\d\d)?)Z(?:[_.]|$)")
# Events reach S3 some minutes after they happen (a file per ~5 minutes, later when
# delayed), so an event near midnight lies in the next day's folder: a window's last day
# folder is the one after its end.
DELIVERY_LAG = timedelta(days=1)


class BadURL(ValueError):
    pass


def is_s3_url(text: str) -> bool:
    return text[:5].lower() == SCHEME


@dataclass(frozen=True, slots=True)
class S3URL:
    bucket: str
    prefix: str  # '' (the bucket), a folder ending in '/', or an object key

    def __str__(self) -> str:
        return f"{SCHEME}{self.bucket}/{self.prefix}"

    def url(self, key: str) -> str:
        return f"{SCHEME}{self.bucket}/{key}"


# Bucket names: 3-63 of lower-case letters, digits, dots and hyphens (S3's rules; older
# buckets in us-east-1 may hold capitals and underscores, so those are let through).
_BUCKET = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{1,254}\Z")


def parse_url(text: str) -> S3URL:
    """`s3://bucket[/prefix]`. A prefix is a folder (given '/' at the end if it lacks
    one) unless its last part is a log file name (.json, .json.gz...): then one object."""
    if not is_s3_url(text):
        raise BadURL(f"not an s3:// URL: {text}")
    rest = text[len(SCHEME) :]
    bucket, _, prefix = rest.partition("/")
    if not _BUCKET.match(bucket):
        raise BadURL(f"not a bucket name: {bucket!r} in {text}")
    if prefix and not prefix.endswith("/") and not is_object_name(prefix):
        prefix += "/"
    return S3URL(bucket, prefix)


def is_object_name(key: str) -> bool:
    last = key.rsplit("/", 1)[-1].lower()
    return last.endswith((".json", ".json.gz", ".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz"))


# --------------------------------------------------------------------------- levels


@dataclass(frozen=True, slots=True)
class Position:
    """Where a folder prefix stands in the layout.

    level: 'above' (no AWSLogs/ in it), 'awslogs' (at AWSLogs/), 'org', 'account',
    'service', 'region' or 'date' (inside a region: `fixed` holds the Y/M/D parts given),
    'other' (inside AWSLogs/ but not the CloudTrail layout: listed as it is)."""

    level: str
    fixed: tuple[str, ...] = ()


def position(prefix: str) -> Position:
    parts = prefix.rstrip("/").split("/") if prefix else []
    if "AWSLogs" not in parts:
        return Position("above")
    rest = parts[len(parts) - parts[::-1].index("AWSLogs") :]
    level = "awslogs"
    for i, p in enumerate(rest):
        nxt = _next_level(level, p)
        if nxt is None:
            return Position("other")
        level = nxt
        if level == "region":
            dates = tuple(rest[i + 1 :])
            if not dates:
                return Position("region")
            if not _date_parts_ok(dates):
                return Position("other")
            return Position("date", dates)
    return Position(level)


def _next_level(level: str, part: str) -> str | None:
    if level == "awslogs":
        if ORG.match(part):
            return "org"
        return "account" if ACCOUNT.match(part) else None
    if level == "org":
        return "account" if ACCOUNT.match(part) else None
    if level == "account":
        return "service" if part in (*LOG_SERVICES, DIGEST_SERVICE) else None
    if level == "service":
        return "region" if REGION.match(part) else None
    return None


def child_level(level: str, name: str) -> str | None:
    """The level of child folder `name` of a folder at `level`, None if it is not part
    of the layout."""
    return _next_level(level, name)


def _date_parts_ok(parts: tuple[str, ...]) -> bool:
    if len(parts) > 3:
        return False
    widths = (4, 2, 2)
    return all(p.isdigit() and len(p) == widths[i] for i, p in enumerate(parts))


# --------------------------------------------------------------------------- days


@dataclass(frozen=True, slots=True)
class Window:
    """Event times wanted, ms since the epoch (None: unbounded), and what it takes to
    choose day folders for them."""

    since_ms: int | None = None
    until_ms: int | None = None  # exclusive

    @property
    def bounded(self) -> bool:
        return self.since_ms is not None or self.until_ms is not None

    def first_day(self) -> date | None:
        if self.since_ms is None:
            return None
        return datetime.fromtimestamp(self.since_ms / 1000, UTC).date()

    def last_day(self) -> date | None:
        if self.until_ms is None:
            return None
        end = datetime.fromtimestamp(max(0, self.until_ms - 1) / 1000, UTC) + DELIVERY_LAG
        return end.date()

    def wants(self, y: str, m: str | None = None, d: str | None = None) -> bool:
        """Whether the folder of year y (month m, day d) can hold wanted events."""
        lo, hi = self.first_day(), self.last_day()
        try:
            start = date(int(y), int(m or 1), int(d or 1))
            if d is not None:
                end = start
            elif m is not None:
                end = (start.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(1)
            else:
                end = date(int(y), 12, 31)
        except ValueError:
            return True  # not a date: let the listing show what it is
        return (lo is None or end >= lo) and (hi is None or start <= hi)


def day_prefix(day: date) -> str:
    return f"{day.year:04d}/{day.month:02d}/{day.day:02d}/"


def recent_days(now: datetime, days: int = 2) -> list[date]:
    """Today and the days before it (UTC), oldest first: the folders CloudTrail is still
    delivering into."""
    today = now.astimezone(UTC).date()
    return [today - timedelta(days=i) for i in range(days - 1, -1, -1)]


# --------------------------------------------------------------------------- names


def name_stamp(key: str) -> str | None:
    """`YYYYMMDDTHHmm` from a CloudTrail object name (seconds dropped), or None."""
    m = _NAME_STAMP.search(key.rsplit("/", 1)[-1])
    return m.group(1)[:13] if m else None


def start_after(keys: list[str], lookback: timedelta) -> str | None:
    """The key to list a day folder after, given the (sorted) keys already seen there.

    Names sort by their delivery stamp within one folder, but an object can land after
    one with a later stamp (deliveries run in parallel), so listing starts `lookback`
    before the newest stamp seen: the last key seen stamped before that. None (list the
    whole folder) when a name has no stamp, since then the order says nothing."""
    stamps: list[str] = []
    for k in keys:
        s = name_stamp(k)
        if s is None:
            return None
        stamps.append(s)
    if not stamps:
        return None
    newest = max(stamps)
    cut = (datetime.strptime(newest, "%Y%m%dT%H%M").replace(tzinfo=UTC) - lookback).strftime(
        "%Y%m%dT%H%M"
    )
    before = [k for k, s in zip(keys, stamps, strict=True) if s < cut]
    return max(before) if before else None
