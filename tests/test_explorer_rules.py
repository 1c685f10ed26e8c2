"""The explorer's rule options, as on `detect`: `--rules DIR` adds Sigma rules (a
rule that cannot be loaded is counted in a toast), `--no-builtin` leaves the built-in
pack out, a missing DIR is a usage error before the explorer opens."""

from __future__ import annotations

import pytest

from tests.conftest import run, settle, toasts, wait_for, wait_loaded
from tests.test_cli_detect import sigma_dir
from tests.trailgen import event, trail_path, write_records
from tui.cli import explorer_app, parse_args


def _trail(tmp_path):
    root = tmp_path / "trail"
    recs = [
        event("StopLogging", "2026-11-20T10:01:00Z", source="cloudtrail.amazonaws.com"),
        event("ListBuckets", "2026-11-20T10:00:00Z", source="s3.amazonaws.com"),
        event("GetObject", "2026-11-20T10:02:00Z", source="s3.amazonaws.com"),
    ]
    write_records(trail_path(root), recs)
    return root


async def _rows(pilot, app, text: str) -> int:
    app.set_filter(text)
    await settle(pilot)
    return len(app.view.rows)


async def test_explorer_runs_the_sigma_rules_given_with_rules(tmp_path) -> None:
    root, rules = _trail(tmp_path), sigma_dir(tmp_path)
    app = explorer_app(
        parse_args([str(root), "--rules", str(rules), "--no-builtin", "--no-follow"])
    )
    async with run(app, (160, 40)) as pilot:
        await wait_loaded(pilot)
        await wait_for(pilot, lambda: not app.rules_pending, what="the rules to run")
        assert await _rows(pilot, app, "rule:sigma.list_buckets") == 1
        assert await _rows(pilot, app, "has:detection") == 1  # no built-in rules
        assert any("3 Sigma rules skipped" in t for t in toasts(app)), toasts(app)


async def test_explorer_keeps_the_built_in_rules_beside_the_given_ones(tmp_path) -> None:
    root, rules = _trail(tmp_path), sigma_dir(tmp_path)
    app = explorer_app(parse_args([str(root), "--rules", str(rules), "--no-follow"]))
    async with run(app, (160, 40)) as pilot:
        await wait_loaded(pilot)
        await wait_for(pilot, lambda: not app.rules_pending, what="the rules to run")
        assert await _rows(pilot, app, "has:detection") == 2  # StopLogging too


def test_a_missing_rules_folder_is_a_usage_error(tmp_path, capsys) -> None:
    root = _trail(tmp_path)
    gone = tmp_path / "no-such-rules"
    assert explorer_app(parse_args([str(root), "--rules", str(gone)])) == 2
    assert f"no such file or directory: {gone}" in capsys.readouterr().err


async def test_the_analysis_runs_with_a_short_switch_interval_then_restores_it(
    tmp_path, monkeypatch
) -> None:
    """While the rules and the credential index run in their worker, a thread waiting
    for the GIL (the UI's) gets it after SWITCH_INTERVAL_S; the interval is put back when
    the run ends, and the rules' results are those of a run without it. The young-
    generation threshold is raised for the run the same way."""
    import gc
    import sys

    from tui import analysis
    from tui.core.credentials import CredentialIndex

    seen: list[float] = []
    young: list[int] = []
    real = CredentialIndex.catch_up

    def catch_up(self, gate=None) -> None:
        seen.append(sys.getswitchinterval())
        young.append(gc.get_threshold()[0])
        real(self, gate)

    monkeypatch.setattr(CredentialIndex, "catch_up", catch_up)
    before = sys.getswitchinterval()
    app = explorer_app(parse_args([str(_trail(tmp_path)), "--no-follow"]))
    async with run(app, (160, 40)) as pilot:
        await wait_loaded(pilot)
        await wait_for(pilot, lambda: not app.rules_pending, what="the rules to run")
        assert seen and seen[0] == pytest.approx(min(before, analysis.SWITCH_INTERVAL_S))
        assert sys.getswitchinterval() == before
        # The young-generation threshold is raised for the run and the explorer's put back.
        assert young[0] == analysis.ANALYSIS_YOUNG_THRESHOLD
        assert gc.get_threshold()[0] == app.gc_policy.young_threshold
        assert await _rows(pilot, app, "has:detection") == 1  # StopLogging
