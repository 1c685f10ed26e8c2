"""Reading a trail straight from S3, against a real S3 API on localhost (moto's server).

Objects are laid out as CloudTrail writes them (organisation trail, a key prefix, log,
Insight and digest folders). The S3 API calls trailscope makes are recorded through its
boto3 session's events, so the tests assert what was listed and fetched.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.s3server import log_key, put, record_calls, records_gz
from tests.trailgen import event
from tui.core.loader import load
from tui.core.s3cache import ObjectCache
from tui.core.s3layout import Window
from tui.core.s3source import S3Options, S3Trail

BUCKET = "org-trail"
ORG = "o-abcdefghij"
ACCOUNTS = ("111122223333", "222233334444")
REGIONS = ("us-east-1", "eu-west-1")
DAYS = ("20261119", "20261120", "20261121", "20261122")
PREFIX = "corp/"


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


def when_iso(day: str, h: int) -> str:
    return f"{day[:4]}-{day[4:6]}-{day[6:]}T{h:02d}:00:00Z"


def put_trail(client) -> dict[str, dict]:
    """2 accounts x 2 regions x 4 days x 2 files, Insight files, digests: key -> event."""
    client.create_bucket(Bucket=BUCKET)
    events = {}
    for acct in ACCOUNTS:
        for region in REGIONS:
            for day in DAYS:
                for h in (1, 13):
                    key = log_key(
                        acct,
                        region,
                        f"{day}T{h:02d}05Z",
                        f"k{h:02d}{acct[:4]}abcdefgh",
                        org=ORG,
                        prefix=PREFIX,
                    )
                    ev = event(f"Call{day}{h}", when_iso(day, h), account=acct, region=region)
                    put(client, BUCKET, key, records_gz([ev]))
                    events[key] = ev
            day = DAYS[1]
            ins = log_key(
                acct,
                "us-east-1",
                f"{day}T0500Z",
                "insightinsight01",
                org=ORG,
                prefix=PREFIX,
                service="CloudTrail-Insight",
            )
            ev = event("UpdateTrail", when_iso(day, 5), account=acct)
            put(client, BUCKET, ins, records_gz([ev]))
            events[ins] = ev
            dig = (
                f"{PREFIX}AWSLogs/{ORG}/{acct}/CloudTrail-Digest/us-east-1/2026/11/20/"
                f"{acct}_CloudTrail-Digest_us-east-1_org_us-east-1_20261120T010000Z.json.gz"
            )
            put(client, BUCKET, dig, b"not read when loading", metadata={"signature": "ab"})
    return events


def trail(s3, session, **opts) -> S3Trail:
    return S3Trail(
        [f"s3://{BUCKET}/"], S3Options(endpoint_url=s3.endpoint, **opts), session=session
    )


def test_time_account_and_region_prune_the_listing(s3) -> None:
    events = put_trail(s3.client())
    session = s3.session()
    calls = record_calls(session)
    t = trail(
        s3,
        session,
        window=Window(ms("2026-11-20T00:00:00"), ms("2026-11-20T12:00:00")),
        accounts=frozenset({"222233334444"}),
        regions=frozenset({"eu-west-1"}),
    )
    store = load((), discovered=t.discover(), jobs=1)

    base = f"{PREFIX}AWSLogs/{ORG}/"
    region = f"{base}222233334444/CloudTrail/eu-west-1/"
    assert calls.listed() == [
        ("", "/"),
        (PREFIX, "/"),
        (f"{PREFIX}AWSLogs/", "/"),
        (base, "/"),
        (f"{base}222233334444/", "/"),  # CloudTrail, CloudTrail-Digest, CloudTrail-Insight
        (f"{base}222233334444/CloudTrail-Insight/", "/"),  # only us-east-1 there
        (f"{base}222233334444/CloudTrail/", "/"),
        (region, "/"),
        (f"{region}2026/", "/"),
        (f"{region}2026/11/", "/"),
        # the window's day, and the next (events of its last minutes are delivered then)
        (f"{region}2026/11/20/", None),
        (f"{region}2026/11/21/", None),
    ]
    # Nothing of the other account, the other region, other days or the digests.
    listed = " ".join(p for p, _ in calls.listed())
    assert "111122223333" not in listed and "us-east-1" not in listed
    assert "CloudTrail-Digest" not in listed and "/19/" not in listed and "/22/" not in listed
    got = {store.file_of(r).path for r in range(len(store))}
    want = {
        f"s3://{BUCKET}/{k}"
        for k in events
        if "222233334444/CloudTrail/eu-west-1/2026/11/2" in k and ("/20/" in k or "/21/" in k)
    }
    assert got == want and len(store) == 4
    assert len(calls.of("GetObject")) == 4


def test_no_pruning_loads_everything_and_counts_digests(s3) -> None:
    events = put_trail(s3.client())
    t = trail(s3, s3.session())
    store = load((), discovered=t.discover(), jobs=1)
    assert len(store) == len(events)
    assert {fi.path for fi in store.files if fi.kind == "insight"} == {
        f"s3://{BUCKET}/{log_key(a, 'us-east-1', '20261120T0500Z', 'insightinsight01', org=ORG, prefix=PREFIX, service='CloudTrail-Insight')}"  # noqa: E501
        for a in ACCOUNTS
    }
    # Digest files are not listed for a load (the folder is not walked).
    assert store.digests == []


def test_a_prefix_inside_the_layout_starts_there(s3) -> None:
    put_trail(s3.client())
    session = s3.session()
    calls = record_calls(session)
    region = f"{PREFIX}AWSLogs/{ORG}/111122223333/CloudTrail/us-east-1/"
    t = S3Trail(
        [f"s3://{BUCKET}/{region}2026/11/"],
        S3Options(endpoint_url=s3.endpoint, window=Window(ms("2026-11-22T00:00:00"), None)),
        session=session,
    )
    store = load((), discovered=t.discover(), jobs=1)
    assert calls.listed() == [(f"{region}2026/11/", "/"), (f"{region}2026/11/22/", None)]
    assert len(store) == 2


def test_second_open_transfers_nothing(s3) -> None:
    put_trail(s3.client())
    first = load((), discovered=trail(s3, s3.session()).discover(), jobs=1)
    session = s3.session()
    calls = record_calls(session)
    s3.log.clear()
    again = trail(s3, session)
    store = load((), discovered=again.discover(), jobs=1)
    assert calls.of("GetObject") == [] and s3.log.gets() == []
    assert len(store) == len(first) == 34
    # Users see the object's URL, never the cache path; the original reads from the cache.
    row = 0
    assert store.location(row).startswith(f"s3://{BUCKET}/{PREFIX}AWSLogs/")
    assert json.loads(store.original(row))["eventID"] == store.event(row)["eventID"]
    assert all(str(again.cache.root) not in fi.path for fi in store.files)


def test_an_object_rewritten_in_s3_is_fetched_again(s3) -> None:
    client = s3.client()
    client.create_bucket(Bucket=BUCKET)
    key = log_key("111122223333", "us-east-1", "20261120T0105Z", "rewrittenabcdefg")
    put(client, BUCKET, key, records_gz([event("Before")]))
    assert (
        load((), discovered=trail(s3, s3.session()).discover(), jobs=1).event(0)["eventName"]
        == "Before"
    )
    put(client, BUCKET, key, records_gz([event("After")]))  # a new ETag
    store = load((), discovered=trail(s3, s3.session()).discover(), jobs=1)
    assert [store.event(r)["eventName"] for r in range(len(store))] == ["After"]


def test_an_object_deleted_between_listing_and_download(s3) -> None:
    events = put_trail(s3.client())
    t = trail(s3, s3.session(), accounts=frozenset({"111122223333"}))
    lst = t.list()
    gone = lst.objects[3]
    s3.client().delete_object(Bucket=gone.bucket, Key=gone.key)
    store = load((), discovered=t.discovery(lst, t.fetch(lst.objects)), jobs=1)
    ((path, reason),) = store.skipped()
    assert path == gone.url and "no longer exists" in reason
    want = sum(1 for k in events if "111122223333" in k) - 1
    assert len(store) == want


def test_access_denied_on_one_prefix(s3) -> None:
    """IAM enforced by the server: a user who may list the bucket and read every object
    but those of one account's prefix."""
    events = put_trail(s3.client())
    iam = s3.session().client("iam", endpoint_url=s3.endpoint)
    iam.create_user(UserName="responder")
    denied = f"arn:aws:s3:::{BUCKET}/{PREFIX}AWSLogs/{ORG}/222233334444/*"
    iam.put_user_policy(
        UserName="responder",
        PolicyName="read-but-one",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": ["s3:List*", "s3:GetObject"],
                        "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"],
                    },
                    {"Effect": "Deny", "Action": "s3:GetObject", "Resource": denied},
                ],
            }
        ),
    )
    key = iam.create_access_key(UserName="responder")["AccessKey"]
    s3.enforce_iam(True)
    try:
        session = s3.session(key=key["AccessKeyId"], secret=key["SecretAccessKey"])
        store = load((), discovered=trail(s3, session).discover(), jobs=1)
    finally:
        s3.enforce_iam(False)
    skipped = dict(store.skipped())
    assert skipped and all("222233334444" in p for p in skipped)
    assert all("access denied (AccessDenied" in r for r in skipped.values())
    assert len(skipped) == sum(1 for k in events if "222233334444" in k)
    assert len(store) == sum(1 for k in events if "111122223333" in k)


def test_cache_limit_evicts_least_recently_used_but_not_what_is_open(tmp_path) -> None:
    cache = ObjectCache(tmp_path / "c", limit=250)
    paths = [cache.store(f"{i:064x}", [b"x" * 100])[0] for i in range(4)]
    # used in the order 2, 0, 3, 1 (1 last)
    for n, i in enumerate((2, 0, 3, 1)):
        import os

        os.utime(paths[i], ns=(1_000_000_000 * (n + 1), os.stat(paths[i]).st_mtime_ns))
    removed, freed = cache.evict(keep=[paths[2]])
    assert (removed, freed) == (2, 200)
    assert [p.exists() for p in paths] == [False, True, True, False]
    assert cache.info().entries == 2
    assert cache.clear() == (2, 200) and cache.info().entries == 0


def test_follow_loads_each_new_object_once(s3) -> None:
    """Objects added while following, one of them out of stamp order, are each
    delivered once; listings after the first carry StartAfter."""
    client = s3.client()
    client.create_bucket(Bucket=BUCKET)
    now = datetime.now(UTC)

    def key_at(minutes_ago: int, tag: str) -> str:
        # Shortly after midnight the older keys land in yesterday's folder, which
        # following lists too.
        t = now - timedelta(minutes=minutes_ago)
        return log_key("111122223333", "us-east-1", t.strftime("%Y%m%dT%H%MZ"), f"{tag:a<16}"[:16])

    def add(key: str) -> None:
        put(client, BUCKET, key, records_gz([event(key[-20:], now.strftime("%Y-%m-%dT%H:%M:%SZ"))]))

    old = [key_at(m, f"old{m}") for m in (200, 120, 90)]
    for k in old:
        add(k)
    session = s3.session()
    calls = record_calls(session)
    # A look-back shorter than the keys' spread, whatever the time of day: listings
    # after the first start after a key seen.
    t = trail(s3, session, interval=0.2, lookback=timedelta(minutes=5))
    store = load((), discovered=t.discover(), jobs=1)
    assert len(store) == 3
    calls.clear()

    delivered: list[str] = []
    plan = [[key_at(30, "new30")], [key_at(5, "new5"), key_at(20, "late20")], []]

    async def run() -> None:
        stop = asyncio.Event()
        rounds = 0

        def on_event(ev) -> None:
            delivered.extend(b.path for b in ev.batches)
            assert not ev.changes.errors

        async def feeder() -> None:
            nonlocal rounds
            for batch in plan:
                for k in batch:
                    add(k)
                await asyncio.sleep(0.6)
                rounds += 1
            stop.set()

        await asyncio.gather(t.follow(on_event, stop=stop), feeder())

    asyncio.run(run())
    want = [f"s3://{BUCKET}/{k}" for k in (plan[0] + plan[1])]
    assert sorted(delivered) == sorted(want) and len(delivered) == len(set(delivered))
    follow_lists = calls.of("ListObjectsV2")
    assert follow_lists and any("StartAfter" in p for p in follow_lists)
    # The day folders still receiving files, nothing else (no walk of the layout).
    assert {p["Prefix"] for p in follow_lists} <= {
        log_key("111122223333", "us-east-1", d.strftime("%Y%m%dT0000Z"), "x").rsplit("/", 1)[0]
        + "/"
        for d in (now - timedelta(days=1), now)
    }


def test_boto3_missing_is_a_clear_error(monkeypatch) -> None:
    import builtins

    from tui.core.s3source import NEEDS_BOTO3, S3Error

    real = builtins.__import__

    def no_boto3(name, *a, **kw):
        if name.split(".")[0] in ("boto3", "botocore"):
            raise ImportError(name)
        return real(name, *a, **kw)

    monkeypatch.setattr(builtins, "__import__", no_boto3)
    with pytest.raises(S3Error, match="pip install 'trailscope\\[s3\\]'") as e:
        S3Trail(["s3://bucket/x/"]).list()
    assert str(e.value) == NEEDS_BOTO3


def test_follow_tries_again_an_object_it_could_not_store(s3) -> None:
    """A download that fails on the way (here: the cache cannot be written) is reported
    once and fetched again next round; its events arrive once."""
    from tui.core.s3cache import entry_name

    client = s3.client()
    client.create_bucket(Bucket=BUCKET)
    now = datetime.now(UTC)
    t = trail(s3, s3.session(), interval=0.2)
    t.discover()
    key = log_key(when=now.strftime("%Y%m%dT%H%MZ"), suffix="blockedblockedbl")
    etag = client.put_object(Bucket=BUCKET, Key=key, Body=records_gz([event("Blocked")]))["ETag"]
    shard = t.cache.path(entry_name(BUCKET, key, etag)).parent
    shard.parent.mkdir(parents=True, exist_ok=True)
    shard.write_bytes(b"")  # a file where the entry's folder must go
    events: list = []

    async def run() -> None:
        stop = asyncio.Event()

        async def unblock() -> None:
            while not any(ev.changes.errors for ev in events):
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.5)  # more rounds, still blocked: reported only once
            shard.unlink()
            while not any(ev.batches for ev in events):
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.5)
            stop.set()

        await asyncio.wait_for(asyncio.gather(t.follow(events.append, stop=stop), unblock()), 30)

    asyncio.run(run())
    errors = [e for ev in events for e in ev.changes.errors]
    assert len(errors) == 1 and errors[0][0] == f"s3://{BUCKET}/{key}"
    assert "cannot write the cache copy" in errors[0][1]
    assert [b.path for ev in events for b in ev.batches] == [f"s3://{BUCKET}/{key}"]
