"""`trailscope ... s3://...` as a real process against moto's S3 server on localhost:
stats and query, the cache across runs, following, `verify` with the digests' S3
signature metadata, `cache info|clear`, and the errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.digestgen import Signer, write_chain
from tests.s3server import log_key, put, records_gz, upload_tree
from tests.trailgen import event

BUCKET = "acme-trail"


def run(s3, *args: str, rc: int | None = 0) -> subprocess.CompletedProcess:
    p = subprocess.run(
        [sys.executable, "-m", "tui", *args, "--endpoint-url", s3.endpoint],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if rc is not None:
        assert p.returncode == rc, (p.returncode, p.stdout[-3000:], p.stderr[-3000:])
    return p


def put_days(client, days=("20261119", "20261120"), accounts=("111122223333",)) -> list[str]:
    client.create_bucket(Bucket=BUCKET)
    keys = []
    for acct in accounts:
        for day in days:
            for h in (2, 14):
                key = log_key(acct, "us-east-1", f"{day}T{h:02d}05Z", f"h{h:02d}abcdefghijklm")
                t = f"{day[:4]}-{day[4:6]}-{day[6:]}T{h:02d}:00:00Z"
                put(client, BUCKET, key, records_gz([event(f"Call{day}T{h}", t, account=acct)]))
                keys.append(key)
    return keys


def test_stats_and_query_read_s3_and_reuse_the_cache(s3) -> None:
    put_days(s3.client())
    s3.log.clear()
    st = json.loads(run(s3, "stats", f"s3://{BUCKET}", "--json").stdout)
    assert st["events"] == 4 and st["files"]["loaded"] == 4
    assert len(s3.log.gets()) == 4

    s3.log.clear()
    q = run(s3, "query", f"s3://{BUCKET}/", "-e", "since:2026-11-20", "--format", "jsonl")
    names = [json.loads(line)["eventName"] for line in q.stdout.splitlines()]
    assert names == ["Call20261120T2", "Call20261120T14"]
    assert s3.log.gets() == []  # all four were cached by the first run
    assert "0 downloaded" in q.stderr and "from the cache" in q.stderr
    # The filter's since: pruned the listing: the 19th's folder was never listed.
    prefixes = [q.get("prefix", "") for q in s3.log.lists()]
    assert any(p.endswith("/2026/11/20/") for p in prefixes)
    assert not any(p.endswith("/2026/11/19/") for p in prefixes)


def test_unreadable_objects_are_named_by_url(s3) -> None:
    client = s3.client()
    put_days(client)
    bad = log_key("111122223333", "us-east-1", "20261120T0905Z", "brokenbrokenbrok")
    put(client, BUCKET, bad, b"\x1f\x8b not gzip [@click=app.quit]")
    p = run(s3, "stats", f"s3://{BUCKET}")
    assert f"\n  s3://{BUCKET}/{bad}: " in p.stdout
    assert "trailscope/s3/objects" not in p.stdout  # never the cache path


def test_errors(s3, tmp_path: Path) -> None:
    put_days(s3.client())
    p = run(s3, "stats", f"s3://{BUCKET}", str(tmp_path), rc=2)
    assert "not both" in p.stderr
    p = run(s3, "stats", "s3://no-such-bucket", rc=1)
    assert "s3://no-such-bucket/: error: cannot list: no such bucket" in p.stdout
    p = run(s3, "query", f"s3://{BUCKET}", "--since", "yesterday-ish", rc=2)
    assert "--since: not a time" in p.stderr
    bare = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("AWS_")
        or k in ("AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_EC2_METADATA_DISABLED")
    }
    p = subprocess.run(
        [sys.executable, "-m", "tui", "stats", f"s3://{BUCKET}", "--endpoint-url", s3.endpoint],
        capture_output=True,
        text=True,
        timeout=60,
        env=bare,
    )
    assert p.returncode == 1 and "no usable AWS credentials" in p.stderr
    # The explorer lists before it opens: the same answer, and no screen.
    p = subprocess.run(
        [sys.executable, "-m", "tui", f"s3://{BUCKET}", "--endpoint-url", s3.endpoint],
        capture_output=True,
        text=True,
        timeout=60,
        env=bare,
    )
    assert p.returncode == 1 and "no usable AWS credentials" in p.stderr
    code = (
        "import builtins, sys\n"
        "real = builtins.__import__\n"
        "def imp(n, *a, **k):\n"
        "    if n.split('.')[0] in ('boto3', 'botocore'): raise ImportError(n)\n"
        "    return real(n, *a, **k)\n"
        "builtins.__import__ = imp\n"
        "from tui.cli import main\n"
        f"sys.exit(main(['stats', 's3://{BUCKET}']))\n"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert p.returncode == 1 and "pip install 'trailscope[s3]'" in p.stderr


def test_query_follow_prints_new_objects_once(s3) -> None:
    client = s3.client()
    client.create_bucket(Bucket=BUCKET)
    now = datetime.now(UTC)

    def add(minutes_ago: int, tag: str) -> None:
        t = max(now - timedelta(minutes=minutes_ago), now.replace(hour=0, minute=0))
        key = log_key("111122223333", "us-east-1", t.strftime("%Y%m%dT%H%MZ"), f"{tag:x<16}"[:16])
        put(client, BUCKET, key, records_gz([event(tag, now.strftime("%Y-%m-%dT%H:%M:%SZ"))]))

    add(90, "first")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tui",
            "query",
            "--follow",
            f"s3://{BUCKET}",
            "--format",
            "jsonl",
            "--interval",
            "0.3",
            "--endpoint-url",
            s3.endpoint,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []

    def reader() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(json.loads(line)["eventName"])

    th = threading.Thread(target=reader, daemon=True)
    th.start()
    try:
        deadline = time.monotonic() + 30
        while lines != ["first"] and time.monotonic() < deadline:
            time.sleep(0.05)
        add(10, "second")
        add(40, "late")  # stamped before "second", delivered after it
        deadline = time.monotonic() + 30
        while len(lines) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.0)  # a few more rounds: nothing is printed twice
    finally:
        proc.terminate()
        proc.wait(10)
        th.join(5)
    assert lines[0] == "first" and sorted(lines[1:]) == ["late", "second"], lines


def test_verify_s3_with_signatures_from_s3_metadata(s3, tmp_path: Path) -> None:
    signer = Signer.new()
    chain = write_chain(tmp_path / "copy", signer, hours=3, bucket=BUCKET)
    client = s3.client()
    client.create_bucket(Bucket=BUCKET)
    upload_tree(client, BUCKET, tmp_path / "copy")
    # CloudTrail keeps each digest's signature in its S3 metadata.
    for key, path, sig in zip(chain.keys, chain.digests, chain.signatures, strict=True):
        put(
            client,
            BUCKET,
            key,
            path.read_bytes(),
            {"signature": sig, "signature-algorithm": "SHA256withRSA"},
        )
    keys = tmp_path / "key.pem"
    keys.write_bytes(signer.pem())
    out = json.loads(
        run(s3, "verify", f"s3://{BUCKET}", "--public-keys", str(keys), "--json").stdout
    )
    assert out["verdict"] == "signed"
    assert out["counts"]["digests_signed"] == 3 and out["counts"]["files_verified"] == 6
    assert all(f["path"].startswith(f"s3://{BUCKET}/AWSLogs/") for f in out["files"])
    assert all(d["path"].startswith(f"s3://{BUCKET}/AWSLogs/") for d in out["digests"])

    # A log file changed in the bucket: named by its URL.
    victim = chain.logs[1][0].relative_to(tmp_path / "copy").as_posix()
    put(client, BUCKET, victim, records_gz([event("Tampered")]))
    p = run(s3, "verify", f"s3://{BUCKET}", "--public-keys", str(keys), rc=3)
    assert any(
        line.split()[:2] == ["modified", f"s3://{BUCKET}/{victim}"]
        for line in p.stdout.splitlines()
        if line.strip()
    )
    assert "views" not in p.stdout  # the private copy's paths never show


def test_cache_info_and_clear(s3) -> None:
    put_days(s3.client())
    run(s3, "stats", f"s3://{BUCKET}")
    info = json.loads(
        subprocess.run(
            [sys.executable, "-m", "tui", "cache", "info", "--json"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    assert info["objects"] == 4 and info["bytes"] > 0
    assert info["path"] == os.path.join(os.environ["XDG_CACHE_HOME"], "trailscope", "s3")
    p = subprocess.run(
        [sys.executable, "-m", "tui", "cache", "clear"], capture_output=True, text=True, check=True
    )
    assert "removed 4 cached objects" in p.stdout
    s3.log.clear()
    run(s3, "stats", f"s3://{BUCKET}")
    assert len(s3.log.gets()) == 4  # fetched again


def test_cache_size_limit(s3) -> None:
    """A limit smaller than the trail keeps what the run uses and evicts the rest."""
    put_days(s3.client(), days=("20261118", "20261119", "20261120"))
    run(s3, "stats", f"s3://{BUCKET}", "--since", "2026-11-18", "--until", "2026-11-18")
    run(
        s3,
        "stats",
        f"s3://{BUCKET}",
        "--since",
        "2026-11-20",
        "--until",
        "2026-11-20",
        "--cache-size",
        "1",
    )
    info = json.loads(
        subprocess.run(
            [sys.executable, "-m", "tui", "cache", "info", "--json"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    # The second run used the 20th (and 21st) folders: 2 objects kept; the 18th/19th's went.
    assert info["objects"] == 2
