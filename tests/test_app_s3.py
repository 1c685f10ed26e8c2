"""The explorer on a trail read from S3 (moto's server on localhost): every place that
names a file shows its s3:// URL, never the cache copy it was read from; events show as
objects land, with the download's progress; a bad network (tests.s3server.FlakyNetwork:
downloads held or cut off) is reported per object and never holds up quitting; the
trail is followed, new objects arriving as new events."""

from __future__ import annotations

import json
import sys
import time
import traceback
from datetime import UTC, datetime

from tests.conftest import make_app, run, screen_text, settle, status_text, wait_for, wait_loaded
from tests.s3server import log_key, put, records_gz
from tests.test_detail import fact_text
from tests.trailgen import event
from tui.cli import explorer_app, parse_args
from tui.core.s3source import S3Options, S3Source, S3Trail
from tui.screens import SkippedScreen
from widgets.detail import DetailPane

BUCKET = "acme-trail"


async def test_explorer_names_s3_objects_by_url(s3) -> None:
    client = s3.client()
    client.create_bucket(Bucket=BUCKET)
    good = log_key(suffix="goodgoodgoodgood")
    put(client, BUCKET, good, records_gz([event("A"), event("B", "2026-11-20T10:01:00Z")]))
    bad = log_key(when="20261120T1010Z", suffix="corruptcorruptco")
    put(client, BUCKET, bad, b"\x1f\x8b\x08\x00garbage, not deflate data" * 4)
    trail = S3Trail([f"s3://{BUCKET}"], S3Options(endpoint_url=s3.endpoint))
    disc = trail.discover()
    app = make_app([f"s3://{BUCKET}"], source=disc)
    async with run(app, (250, 40)) as pilot:
        await wait_loaded(pilot)
        assert len(app.store) == 2
        assert "files 1 loaded, 1 skipped (S)" in status_text(app)
        pane = app.query_one(DetailPane)
        pane.show(0)
        await pilot.pause()
        assert fact_text(pane, "when", "File") == f"s3://{BUCKET}/{good} record 1"
        # The event's JSON is read back from the cache copy (gzip files are not kept).
        fi = app.store.file_of(0)
        assert fi.orig_codec == "gzip" and app.store.local_paths[fi.path].startswith(
            str(trail.cache.root)
        )
        assert json.loads(app.store.original(0))["eventName"] in ("A", "B")
        await pilot.press("S")
        await pilot.pause()
        assert isinstance(app.screen, SkippedScreen)
        assert [p for p, _ in app.screen.skipped] == [f"s3://{BUCKET}/{bad}"]
        shown = screen_text(app)
        assert f"s3://{BUCKET}/{bad}" in shown and "not valid gzip" in shown
        assert str(trail.cache.root) not in shown


# ------------------------------------------------------------ loading as objects land


def _trail_source(endpoint: str, **opts) -> S3Source:
    trail = S3Trail([f"s3://{BUCKET}"], S3Options(endpoint_url=endpoint, **opts))
    return S3Source(trail, trail.list())


def _put_logs(client, n: int, day: str = "20261120") -> list[str]:
    client.create_bucket(Bucket=BUCKET)
    keys = []
    for i in range(n):
        key = log_key(when=f"{day}T10{i:02d}Z", suffix=f"object{i:02d}{'x' * 8}")
        put(
            client,
            BUCKET,
            key,
            records_gz([event(f"Call{i}", f"{day[:4]}-{day[4:6]}-{day[6:]}T10:{i:02d}:00Z")]),
        )
        keys.append(key)
    return keys


async def test_events_show_while_the_rest_downloads(s3, flaky) -> None:
    """The first events are on screen, with the download's progress in the status line
    and the loading text, while one object is still on its way; it lands when the
    network lets it through, and the progress goes."""
    keys = _put_logs(s3.client(), 3)
    flaky.hold.add(keys[1])
    app = make_app([f"s3://{BUCKET}"], source=_trail_source(flaky.endpoint))
    async with run(app, (250, 40)) as pilot:
        await wait_for(
            pilot,
            lambda: len(app.store) == 2 and app.view is not None and len(app.view.rows) == 2,
            what="the first two objects' events",
        )
        assert app.loading and flaky.held == [f"/{BUCKET}/{keys[1]}"]
        await wait_for(
            pilot,
            lambda: "s3 2/3 objects" in status_text(app),
            what="the progress in the status line",
        )
        assert "MB/s" in status_text(app)
        assert "s3 2/3 objects" in app.events_list.loading_text
        assert {app.store.value(r, "event") for r in range(2)} == {"Call0", "Call2"}
        flaky.release()
        await wait_loaded(pilot)
        assert sorted(app.store.value(r, "event") for r in range(3)) == ["Call0", "Call1", "Call2"]
        assert "s3 " not in status_text(app) and "files 3 loaded" in status_text(app)


async def test_quit_while_a_download_hangs(s3, flaky) -> None:
    """`q` ends the explorer at once while a download is stalled on the network, and
    its loader stops (no thread left waiting for the download)."""
    keys = _put_logs(s3.client(), 2)
    flaky.hold.add(keys[0])
    app = make_app([f"s3://{BUCKET}"], source=_trail_source(flaky.endpoint))
    async with run(app, (250, 40)) as pilot:
        await wait_for(
            pilot,
            lambda: len(app.store) == 1 and bool(flaky.held),
            what="one object loaded, the other held",
        )
        t0 = time.monotonic()
        await pilot.press("q")
        await wait_for(
            pilot, lambda: app.return_code is not None, timeout=5, what="the app to quit"
        )
    assert time.monotonic() - t0 < 5 and not flaky.released.is_set()
    deadline = time.monotonic() + 5
    while _threads_in("_load_s3") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _threads_in("_load_s3"), "the loader still waits for the download"


def _threads_in(function: str) -> list[int]:
    """Threads running `function` now (anywhere on their stack)."""
    return [
        tid
        for tid, frame in sys._current_frames().items()
        if any(f.f_code.co_name == function for f, _ in traceback.walk_stack(frame))
    ]


async def test_a_download_cut_off_is_reported_with_its_reason(s3, flaky) -> None:
    """A connection that drops half-way through one object: that object is listed with
    the skipped files, by URL, with why; the others load; nothing hangs."""
    client = s3.client()
    keys = _put_logs(client, 2)
    big = [event(f"Big{i}", "2026-11-20T11:00:00Z", detail="x" * 200) for i in range(200)]
    cut_key = log_key(when="20261120T1100Z", suffix="cutcutcutcutcutc")
    put(client, BUCKET, cut_key, records_gz(big))
    flaky.cut[cut_key] = 100
    app = make_app([f"s3://{BUCKET}"], source=_trail_source(flaky.endpoint))
    async with run(app, (250, 40)) as pilot:
        await wait_loaded(pilot, timeout=60)
        assert sorted(app.store.value(r, "event") for r in range(len(app.store))) == [
            "Call0",
            "Call1",
        ]
        assert "files 2 loaded, 1 skipped (S)" in status_text(app)
        skipped = dict(app.store.skipped())
        reason = skipped[f"s3://{BUCKET}/{cut_key}"]
        assert "download failed: 100 read, but total bytes expected is" in reason, reason
        await pilot.press("S")
        await pilot.pause()
        assert isinstance(app.screen, SkippedScreen)
        assert f"s3://{BUCKET}/{cut_key}" in screen_text(app)
    assert {f"/{BUCKET}/{k}" for k in keys} | {f"/{BUCKET}/{cut_key}"} <= set(s3.log.gets())


# ------------------------------------------------------------ following


def _today_trail(client) -> tuple[datetime, str, str]:
    """A bucket with one object in today's folder (where following looks): now, the
    day as the key spells it, and now as an eventTime."""
    now = datetime.now(UTC)
    day, stamp = now.strftime("%Y%m%d"), now.strftime("%Y-%m-%dT%H:%M:%SZ")
    client.create_bucket(Bucket=BUCKET)
    put(
        client,
        BUCKET,
        log_key(when=f"{day}T0000Z", suffix="firstfirstfirstf"),
        records_gz([event("Before", stamp)]),
    )
    return now, day, stamp


async def test_follow_loads_a_new_object_as_an_arrival(s3) -> None:
    """Following an S3 trail: an object put into today's folder after the load comes in
    as a local arrival does (counted in the rate, queryable), once."""
    client = s3.client()
    now, day, stamp = _today_trail(client)
    app = make_app([f"s3://{BUCKET}"], source=_trail_source(s3.endpoint, interval=0.2), watch=True)
    async with run(app, (250, 40)) as pilot:
        await wait_loaded(pilot)
        await wait_for(pilot, lambda: app.tailing, what="following to start")
        assert len(app.store) == 1
        put(
            client,
            BUCKET,
            log_key(when=now.strftime("%Y%m%dT%H%MZ"), suffix="secondsecondseco"),
            records_gz(
                [
                    event("StopLogging", stamp, source="cloudtrail.amazonaws.com"),
                    event("After", stamp),
                ]
            ),
        )
        await wait_for(
            pilot,
            lambda: len(app.store) == 3 and not app.store.pending_events,
            what="the new object's events",
        )
        await wait_for(pilot, lambda: "2/min" in status_text(app), what="the arrival rate")
        assert "polling" in status_text(app)
        await pilot.pause(1.0)  # more rounds: nothing is read twice
        assert len(app.store) == 3
        app.set_filter("event:StopLogging")
        await settle(pilot)
        assert len(app.view.rows) == 1


async def test_the_command_line_lists_then_opens_the_trail_to_follow(s3) -> None:
    """`trailscope s3://…`: listed before the explorer opens (no download yet), fetched
    by the explorer, followed unless --no-follow, at --interval."""
    _put_logs(s3.client(), 2)
    s3.log.clear()
    args = [f"s3://{BUCKET}", "--endpoint-url", s3.endpoint, "--interval", "0.5"]
    app = explorer_app(parse_args(args))
    assert isinstance(app.source, S3Source) and len(app.source.listing.objects) == 2
    assert app.watch_paths and app.source.trail.opts.interval == 0.5
    assert s3.log.gets() == []
    async with run(app, (250, 40)) as pilot:
        await wait_loaded(pilot)
        assert len(app.store) == 2
        await wait_for(pilot, lambda: app.tailing, what="following to start")
    assert len(s3.log.gets()) == 2
    assert not explorer_app(parse_args([*args, "--no-follow"])).watch_paths


async def test_quit_while_following_waits_for_no_download(s3, flaky) -> None:
    """A new object's download stalls on the network while following: `q` still ends
    the explorer at once, and the fetch under way stops."""
    client = s3.client()
    now, _, _ = _today_trail(client)
    app = make_app(
        [f"s3://{BUCKET}"], source=_trail_source(flaky.endpoint, interval=0.2), watch=True
    )
    async with run(app, (250, 40)) as pilot:
        await wait_loaded(pilot)
        await wait_for(pilot, lambda: app.tailing, what="following to start")
        key = log_key(when=now.strftime("%Y%m%dT%H%MZ"), suffix="stalledstalledst")
        flaky.hold.add(key)
        put(client, BUCKET, key, records_gz([event("Stalled")]))
        await wait_for(pilot, lambda: bool(flaky.held), what="the download to stall")
        assert _threads_in("fetch_groups")
        t0 = time.monotonic()
        await pilot.press("q")
        await wait_for(
            pilot, lambda: app.return_code is not None, timeout=5, what="the app to quit"
        )
    assert time.monotonic() - t0 < 5 and not flaky.released.is_set()
    deadline = time.monotonic() + 5
    while _threads_in("fetch_groups") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _threads_in("fetch_groups"), "a fetch still waits for the download"


async def _let_through(pilot, app, flaky, key: str, url: str, events: int) -> None:
    """The network recovers for `key`: following retries it, its events load, and the
    Skipped list and the status line stop naming it."""
    del flaky.cut[key]
    await wait_for(
        pilot,
        lambda: len(app.store) == events and not app.store.pending_events,
        timeout=30,
        what=f"the retried events of {key}",
    )
    await settle(pilot)
    assert url not in dict(app.store.skipped()), app.store.skipped()
    assert "skipped" not in status_text(app), status_text(app)


async def test_a_download_that_failed_and_then_loaded_is_no_longer_skipped(s3, flaky) -> None:
    """Following retries an object whose download was cut off; once it loads, the
    Skipped list and the status line stop naming it."""
    client = s3.client()
    _, day, stamp = _today_trail(client)
    cut_key = log_key(when=f"{day}T0005Z", suffix="cutcutcutcutcutc")
    big = [event(f"Big{i}", stamp, detail="x" * 200) for i in range(200)]
    put(client, BUCKET, cut_key, records_gz(big))
    flaky.cut[cut_key] = 100
    app = make_app(
        [f"s3://{BUCKET}"], source=_trail_source(flaky.endpoint, interval=0.2), watch=True
    )
    url = f"s3://{BUCKET}/{cut_key}"
    async with run(app, (250, 40)) as pilot:
        await wait_loaded(pilot, timeout=60)
        assert url in dict(app.store.skipped())
        assert "1 skipped" in status_text(app)
        await _let_through(pilot, app, flaky, cut_key, url, 201)
        # The same while following: a new object cut off, then let through.
        late_key = log_key(when=f"{day}T0010Z", suffix="latelatelatelate")
        flaky.cut[late_key] = 100
        late_events = [event(f"Late{i}", stamp, detail="x" * 200) for i in range(200)]
        put(client, BUCKET, late_key, records_gz(late_events))
        late = f"s3://{BUCKET}/{late_key}"
        await wait_for(pilot, lambda: late in dict(app.store.skipped()), what="the cut-off arrival")
        await _let_through(pilot, app, flaky, late_key, late, 401)
