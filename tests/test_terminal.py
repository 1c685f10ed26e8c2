"""The real app in a real terminal (tmux) on a hostile trail: the screen and the pane
title stay intact, values show as literal text with visible escapes."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import uuid

import pytest

from tests.trailgen import event, trail_path, write_records

HOSTILE_UA = "\x1b]2;PWNED\x07\x1b[2J\x1b[31mred\x9b31m\u202eevil[@click=app.quit]q[/]"

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is installed by .ci/run")


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, check=True).stdout


def capture(session: str) -> str:
    return tmux("capture-pane", "-p", "-t", session)


def wait_for(session: str, needle: str, timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = capture(session)
        if needle in screen:
            return screen
        time.sleep(0.2)
    raise AssertionError(f"{needle!r} not on screen:\n{screen}")


def test_hostile_trail_in_tmux_keeps_screen_and_title_intact(tmp_path):
    recs = [
        event("Normal", "2026-11-20T10:00:00Z"),
        event(
            "Evil\x1b[2J[/x]",
            "2026-11-20T10:00:01Z",
            userAgent=HOSTILE_UA,
            sourceIPAddress="[@click=app.quit]",
            errorCode="[bold]Denied[/bold]",
        ),
    ]
    write_records(trail_path(tmp_path), recs)
    for k in range(4):  # enough files for the parallel loader (forced on below)
        write_records(
            trail_path(tmp_path, suffix=f"{k:016d}"), [event(f"More{k}", "2026-11-20T09:00:00Z")]
        )
    session = f"ts-{uuid.uuid4().hex[:8]}"
    cmd = f"{sys.executable} -m tui {tmp_path} --no-follow"
    # Parser processes forced on: starting them under Textual's redirected stderr
    # once left the app stuck on "loading..." (multiprocessing's resource tracker).
    env_cmd = f"env -u COLUMNS -u LINES TERM=xterm-256color TRAILSCOPE_PARALLEL_MIN_BYTES=0 {cmd}"  # pytest sets them
    # Size the window first, then start the app in it (a detached session may start
    # at tmux's default 80x24 whatever -x/-y say).
    tmux("new-session", "-d", "-s", session, "-x", "200", "-y", "50", "sleep 120")
    try:
        tmux("set-option", "-t", session, "window-size", "manual")
        tmux("resize-window", "-t", session, "-x", "200", "-y", "50")
        tmux("respawn-pane", "-k", "-t", session, env_cmd)
        tmux("select-pane", "-t", session, "-T", "trailscope-test")
        screen = wait_for(session, "6 / 6 events")
        # the list shows the hostile event name with visible escapes, brackets literal
        assert "Evil\\x1b[2J[/x]" in screen, screen
        # go to the hostile event: the detail pane shows the UA escaped, the IP literal
        tmux("send-keys", "-t", session, "G")
        screen = wait_for(session, "\\x1b]2;PWNED\\x07")  # the UA, escaped, in the detail
        assert "Source IP   [@click=app.quit]" in screen
        assert "Error     [bold]Denied[/bold]" in screen
        assert "values contain control characters" in screen
        # filter by the hostile value from the detail pane: the status line shows it
        # escaped, not interpreted
        tmux("send-keys", "-t", session, "-l", "/")
        time.sleep(0.5)  # the filter bar takes focus
        tmux("send-keys", "-t", session, "-l", "has:controls")
        tmux("send-keys", "-t", session, "Enter")
        screen = wait_for(session, "1 / 6 events")
        assert "filter has:controls" in screen
        # nothing changed the pane title, and the screen was not cleared by ESC[2J
        assert (
            tmux("display-message", "-p", "-t", session, "#{pane_title}").strip()
            == "trailscope-test"
        )
        assert "PWNED" not in tmux("display-message", "-p", "-t", session, "#{window_name}")
        # the app was alive all along: q quits it normally
        tmux("send-keys", "-t", session, "q")
        deadline = time.monotonic() + 10
        gone = False
        while time.monotonic() < deadline and not gone:
            p = subprocess.run(["tmux", "has-session", "-t", session], capture_output=True)
            gone = p.returncode != 0
            time.sleep(0.2)
        assert gone, "q did not quit the app"
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
