"""The explorer on a trail read from S3 (moto's server on localhost): every place that
names a file shows its s3:// URL, never the cache copy it was read from."""

from __future__ import annotations

import json

from tests.conftest import make_app, run, screen_text, status_text, wait_loaded
from tests.s3server import log_key, put, records_gz
from tests.test_detail import fact_text
from tests.trailgen import event
from tui.core.s3source import S3Options, S3Trail
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
            str(trail.cache.root))
        assert json.loads(app.store.original(0))["eventName"] in ("A", "B")
        await pilot.press("S")
        await pilot.pause()
        assert isinstance(app.screen, SkippedScreen)
        assert [p for p, _ in app.screen.skipped] == [f"s3://{BUCKET}/{bad}"]
        shown = screen_text(app)
        assert f"s3://{BUCKET}/{bad}" in shown and "not valid gzip" in shown
        assert str(trail.cache.root) not in shown
