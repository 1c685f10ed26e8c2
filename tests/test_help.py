"""The query reference ships with the package: `trailscope help query` prints it, the
explorer's help screen shows it, and the wheel holds it."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT, screen_text
from tui.help import TOPICS, topic_text

REFERENCE = ROOT / "tui" / "query.md"


def trailscope(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tui", *args], capture_output=True, text=True, timeout=60, cwd=ROOT
    )


def test_docs_copy_is_the_shipped_reference() -> None:
    """docs/query.md is for readers of the repository; the package ships tui/query.md.
    One text: edit tui/query.md and copy it to docs/query.md."""
    assert (ROOT / "docs" / "query.md").read_bytes() == REFERENCE.read_bytes(), (
        "docs/query.md differs from tui/query.md: edit tui/query.md, then copy it over"
    )


def test_help_query_prints_the_reference() -> None:
    got = trailscope("help", "query")
    assert got.returncode == 0, got.stderr
    assert got.stdout == REFERENCE.read_text(encoding="utf-8") == topic_text("query")
    assert "## Time" in got.stdout and "resources[0].ARN" in got.stdout


def test_help_lists_topics_and_gives_a_commands_help() -> None:
    got = trailscope("help")
    assert got.returncode == 0, got.stderr
    assert "usage: trailscope" in got.stdout
    for topic, (_, line) in TOPICS.items():
        assert f"{topic}" in got.stdout and line in got.stdout
    got = trailscope("help", "stats")
    assert got.returncode == 0 and got.stdout.startswith("usage: trailscope stats")
    got = trailscope("help", "nonsense")
    assert got.returncode == 2 and "invalid choice: 'nonsense'" in got.stderr


def test_cli_help_points_to_the_shipped_reference() -> None:
    for args in (("--help",), ("query", "--help")):
        got = trailscope(*args)
        text = " ".join(got.stdout.split())  # argparse wraps lines
        assert got.returncode == 0
        assert "trailscope help query" in text and "docs/query.md" not in text


def test_help_query_into_a_closed_pipe_ends_quietly() -> None:
    got = subprocess.run(
        f"{sys.executable} -m tui help query | head -1",
        shell=True,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert got.stdout == "# Query language\n" and got.stderr == ""


async def test_help_screen_shows_the_filter_language(explorer) -> None:
    """`?` then `f`: the reference, rendered from Markdown with its brackets literal
    (`resources[0].ARN` is not read as markup); `k` goes back to the keys."""
    from tui.screens import HelpScreen

    pilot, app = explorer, explorer.app
    await pilot.press("question_mark")
    await pilot.pause()
    assert isinstance(app.screen, HelpScreen)
    assert "trailscope — keys" in screen_text(app) and "Filter language (f)" in screen_text(app)
    await pilot.press("f")
    await pilot.pause()
    pages = [screen_text(app)]
    assert "Query language" in pages[0] and "trailscope — keys" not in pages[0]
    for _ in range(30):  # page through the whole reference
        await pilot.press("pagedown")
        await pilot.pause()
        pages.append(screen_text(app))
        if pages[-1] == pages[-2]:
            break
    seen = "\n".join(pages)
    assert "resources[0].ARN" in seen and "For developers" in seen
    await pilot.press("k")
    await pilot.pause()
    assert "trailscope — keys" in screen_text(app)
    await pilot.press("escape")
    await pilot.pause()
    assert not isinstance(app.screen, HelpScreen)


@pytest.mark.slow
def test_the_wheel_ships_the_reference(tmp_path: Path) -> None:
    """`pip install trailscope` gets the reference (it was in neither sdist nor wheel)."""
    got = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if got.returncode != 0 and "No matching distribution" in got.stderr:
        pytest.skip("no package index to build a wheel with")
    assert got.returncode == 0, got.stderr[-2000:]
    wheel = next(tmp_path.glob("trailscope-*.whl"))
    with zipfile.ZipFile(wheel) as z:
        assert z.read("tui/query.md") == REFERENCE.read_bytes()
