"""The explorer says so on screen when its parsers could not write the free-text corpus
to disk (a full disk): the corpus stays in memory and nothing is lost."""

from __future__ import annotations

import tui.app
from tests.conftest import make_app, run, settle, toasts, wait_loaded
from tests.core.test_spill import parse_with_a_small_file_limit, write_trail
from tui.core import loader
from tui.core.loader import load


async def test_a_failed_spill_write_is_said_in_a_toast_once_and_loses_nothing(
    tmp_path, monkeypatch
) -> None:
    root = tmp_path / "trail"
    write_trail(root, files=10, per_file=40)
    monkeypatch.setenv("TRAILSCOPE_SPILL_DIR", "off")
    expected = int(load([root], jobs=1).mask_text("shared-in-both").sum())
    monkeypatch.setenv("TRAILSCOPE_SPILL_DIR", str(tmp_path / "spill"))

    def parse_on_a_full_disk(files, max_bytes, jobs, nice=0):
        work = [(f.path, f.kind, max_bytes) for f in files]
        return loader._parse_parallel(work, 2, parse=parse_with_a_small_file_limit, nice=nice)

    monkeypatch.setattr(tui.app, "iter_batches", parse_on_a_full_disk)
    app = make_app([root])
    async with run(app, (160, 40)) as pilot:
        await wait_loaded(pilot)
        await settle(pilot)
        said = [t for t in toasts(app) if "free-text corpus is kept in memory" in t]
        assert len(said) == 1, toasts(app)
        assert "File too large" in said[0]
        assert len(app.store) == 400
        app.set_filter('"shared-in-both"')
        await settle(pilot)
        assert len(app.view.rows) == expected > 0  # read back from memory
