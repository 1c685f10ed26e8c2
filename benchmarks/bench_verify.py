#!/usr/bin/env python3
"""`trailscope verify` speed: hashing a trail's log files against hourly digests.

    python benchmarks/bench_verify.py [--events 1000000] [--jobs N ...] [--repeat 3]

Generates (once) a synthetic trail with gen_trail.py under benchmarks/data/verify-<n>,
then writes one digest per account, region and hour (starting digest first, each naming
its predecessor with its SHA-256, unsigned: a made-up fingerprint) beside it, as
CloudTrail lays them out. Then it times `tui.core.integrity.verify` over the whole copy
for each --jobs value (threads hashing files) and prints wall time, files and
uncompressed MB per second, and the process's peak RSS.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import resource
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.gen_trail import generate  # noqa: E402
from tui.core.digest_files import delivery_ms, hash_content  # noqa: E402
from tui.core.discovery import discover  # noqa: E402
from tui.core.integrity import verify  # noqa: E402

BUCKET = "bench-trail-bucket"


def iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def add_digests(root: Path) -> tuple[int, int]:
    """One digest per (org/account, region, hour) of the trail's files; returns
    (digests written, uncompressed bytes they cover)."""
    groups: dict[tuple, list] = defaultdict(list)
    for tf in discover([root]).files:
        rel = Path(tf.path).relative_to(root).as_posix()
        head = rel[: rel.index("/CloudTrail/")]  # AWSLogs/[o-id/]account
        t = delivery_ms(tf.path)
        hour = datetime.fromtimestamp(t / 1000, UTC).replace(minute=0, second=0)
        groups[(head, tf.region)].append((hour, rel, tf.path))
    written = covered = 0
    for (head, region), files in sorted(groups.items()):
        account = head.rsplit("/", 1)[-1]
        by_hour: dict[datetime, list] = defaultdict(list)
        for hour, rel, path in files:
            by_hour[hour].append((rel, path))
        prev = None
        hour, last = min(by_hour), max(by_hour)
        while hour <= last:
            end = hour + timedelta(hours=1)
            entries = []
            for rel, path in sorted(by_hour.get(hour, [])):
                h = hash_content(path)
                covered += os.path.getsize(path)
                entries.append(
                    {
                        "s3Bucket": BUCKET,
                        "s3Object": rel,
                        "hashValue": h.sha256,
                        "hashAlgorithm": "SHA-256",
                    }
                )
            key = (
                f"{head}/CloudTrail-Digest/{region}/{end:%Y/%m/%d}/{account}_CloudTrail-"
                f"Digest_{region}_bench_us-east-1_{end:%Y%m%dT%H%M%SZ}.json.gz"
            )
            body = {
                "awsAccountId": account,
                "digestStartTime": iso(hour),
                "digestEndTime": iso(end),
                "digestS3Bucket": BUCKET,
                "digestS3Object": key,
                "digestPublicKeyFingerprint": "0" * 32,
                "digestSignatureAlgorithm": "SHA256withRSA",
                "previousDigestS3Bucket": BUCKET if prev else None,
                "previousDigestS3Object": prev[0] if prev else None,
                "previousDigestHashValue": prev[1] if prev else None,
                "previousDigestHashAlgorithm": "SHA-256" if prev else None,
                "previousDigestSignature": "ab" * 256 if prev else None,
                "logFiles": entries,
            }
            data = json.dumps(body).encode()
            out = root / key
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(gzip.compress(data, mtime=0))
            prev = (key, hashlib.sha256(data).hexdigest())
            written += 1
            hour = end
    return written, covered


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--jobs", type=int, nargs="*", default=[1, 2, 4])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    root = ROOT / "benchmarks" / "data" / f"verify-{args.events}"
    if not (root / "AWSLogs").is_dir():
        print(f"generating {args.events:,} events in {root} ...", flush=True)
        generate(root, args.events, jobs=os.cpu_count() or 2)
        n, _ = add_digests(root)
        print(f"wrote {n:,} digests", flush=True)
    rep = verify([root], jobs=1)
    files = len(rep.files)
    raw = sum(os.path.getsize(f.path) for f in rep.files)
    content = sum(len(gzip.decompress(Path(f.path).read_bytes())) for f in rep.files[:50])
    ratio = content / max(1, sum(os.path.getsize(f.path) for f in rep.files[:50]))
    print(
        f"{len(rep.digests):,} digests, {files:,} log files, {raw / 1e6:.0f} MB gzip "
        f"(~{raw * ratio / 1e6:.0f} MB uncompressed); verdict {rep.verdict}"
    )
    for jobs in args.jobs:
        times = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            verify([root], jobs=jobs)
            times.append(time.perf_counter() - t)
        best = min(times)
        print(
            f"jobs={jobs}: best {best:.2f} s of {args.repeat} "
            f"({', '.join(f'{x:.2f}' for x in times)}); {files / best:,.0f} files/s, "
            f"{raw * ratio / 1e6 / best:,.0f} MB/s uncompressed"
        )
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
