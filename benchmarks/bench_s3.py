#!/usr/bin/env python3
"""Opening a trail from S3: a cold open (empty cache) against a cached one, and a pruned one.

    python benchmarks/bench_s3.py [--events 300000] [--per-file 100] [--connections 16]
                                  [--explorer]

Serves a generated trail (benchmarks/gen_trail.py: organisation trail, 8 accounts,
6 regions, a week) from moto's S3 server on 127.0.0.1, then times in this process:
listing, fetching into an empty cache, parsing; the same open again with everything cached;
and an open pruned to one day of one region. `--explorer` also opens it in the explorer
(headless), cold and cached: when the first events are on screen and when all are. The
server runs in its own process (in this one it would share the interpreter lock with the
downloads); requests are counted by the client. moto is a Python server on the same two
cores, so the cold numbers are a bound of this machine, not of S3 (see docs/s3.md for what
bounds a real open).
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.gen_trail import generate  # noqa: E402
from tests.s3server import aws_env  # noqa: E402


def start_server() -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), 0.1).close()
            return proc, endpoint
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("moto_server did not start")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=300_000)
    ap.add_argument("--per-file", type=int, default=100)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument(
        "--explorer",
        action="store_true",
        help="also time the explorer: first events on screen, all loaded",
    )
    a = ap.parse_args(argv)

    from tui.core.loader import load
    from tui.core.s3layout import Window
    from tui.core.s3source import S3Options, S3Trail

    tmp = Path(tempfile.mkdtemp(prefix="bench-s3-"))
    os.environ.update(aws_env(tmp))
    data = Path(__file__).resolve().parent / "data" / f"s3-{a.events}-{a.per_file}"
    if not data.exists():
        generate(data, a.events, per_file=a.per_file)
    files = sorted(p for p in data.rglob("*.json.gz"))
    size = sum(p.stat().st_size for p in files)
    print(f"trail: {len(files):,} objects, {size / 1e6:.1f} MB, {a.events:,} events")

    import boto3

    proc, endpoint = start_server()
    client = boto3.Session().client("s3", endpoint_url=endpoint)
    client.create_bucket(Bucket="bench")
    t0 = time.perf_counter()
    with ThreadPoolExecutor(8) as ex:
        list(
            ex.map(
                lambda p: client.put_object(
                    Bucket="bench", Key=p.relative_to(data).as_posix(), Body=p.read_bytes()
                ),
                files,
            )
        )
    print(f"upload (not measured below): {time.perf_counter() - t0:.1f} s")

    def open_once(label: str, **opts) -> None:
        t = S3Trail(
            ["s3://bench/"],
            S3Options(
                endpoint_url=endpoint,
                cache_dir=str(tmp / "cache"),
                connections=a.connections,
                **opts,
            ),
        )
        t0 = time.perf_counter()
        lst = t.list()
        t1 = time.perf_counter()
        got = t.fetch(lst.objects)
        t2 = time.perf_counter()
        store = load((), discovered=t.discovery(lst, got))
        t3 = time.perf_counter()
        lists, gets = t.requests["list"], t.requests["get"]
        print(
            f"{label:<22} total {t3 - t0:6.2f} s: list {t1 - t0:5.2f} s ({lists:,} requests), "
            f"fetch {t2 - t1:5.2f} s ({gets:,} GETs, {got.progress.transferred / 1e6:.1f} MB, "
            f"{got.progress.cached:,} cached), parse {t3 - t2:5.2f} s; "
            f"{len(store):,} events"
        )

    if a.explorer:
        import asyncio
        import shutil

        for label, cold, whole_first in (
            ("explorer cold", True, False),
            ("explorer cached", False, False),
            ("fetch all, then open", True, True),
        ):
            if cold:
                shutil.rmtree(tmp / "cache", ignore_errors=True)
            first, loaded, n = asyncio.run(open_explorer(endpoint, tmp, a.connections, whole_first))
            print(
                f"{label:<22} first events on screen {first:5.2f} s, all loaded "
                f"{loaded:5.2f} s; {n:,} events"
            )
        shutil.rmtree(tmp / "cache", ignore_errors=True)
    open_once("cold (empty cache)")
    open_once("cached")
    day = int(time.mktime(time.strptime("2026-11-03", "%Y-%m-%d")) * 1000)
    open_once(
        "one day, one region",
        window=Window(day, day + 86_400_000),
        regions=frozenset({"eu-west-1"}),
    )
    proc.terminate()
    proc.wait(10)
    return 0


async def open_explorer(
    endpoint: str, tmp: Path, connections: int, whole_first: bool
) -> tuple[float, float, int]:
    """(seconds to the first events on screen, to all loaded, events) for the explorer on
    s3://bench/, listing included, not following. `whole_first`: download everything
    before the explorer starts (as it did before it loaded objects as they land)."""
    from tui.app import TrailscopeApp
    from tui.core.s3source import S3Options, S3Source, S3Trail

    t0 = time.perf_counter()
    trail = S3Trail(
        ["s3://bench/"],
        S3Options(endpoint_url=endpoint, connections=connections, cache_dir=str(tmp / "cache")),
    )
    source = trail.discover() if whole_first else S3Source(trail, trail.list())
    app = TrailscopeApp(["s3://bench/"], source=source, watch=False)
    first = None
    async with app.run_test(size=(160, 45)) as pilot:
        while app.loading or app.store.pending_events or not app.settled:
            if first is None and app.view is not None and len(app.view.rows):
                first = time.perf_counter() - t0
            await pilot.pause(0.01)
        loaded = time.perf_counter() - t0
        return first if first is not None else loaded, loaded, len(app.store)


if __name__ == "__main__":
    raise SystemExit(main())
