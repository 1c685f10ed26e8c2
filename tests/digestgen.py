"""Build CloudTrail digest chains for tests, the way the AWS documentation describes them.

Log files are real gzip'd trail files in the S3 layout (tests/trailgen.py); each hourly
digest lists the files delivered in its hour with the SHA-256 of their uncompressed content,
names its previous digest with the SHA-256 of that digest's uncompressed content and its
signature, and is signed with the test's own RSA key over the documented string
(end time, bucket/key, hex SHA-256 of the digest, previous signature or ``null``).
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.trailgen import event, trail_path, write_records

T0 = datetime(2026, 11, 20, 9, 1, 31, tzinfo=UTC)  # digest hours start at hh:01:31


@dataclass
class Signer:
    """An RSA key pair standing in for CloudTrail's regional key."""

    private: rsa.RSAPrivateKey

    @classmethod
    def new(cls) -> Signer:
        return cls(rsa.generate_private_key(public_exponent=65537, key_size=2048))

    @property
    def pkcs1_der(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.PKCS1
        )

    @property
    def fingerprint(self) -> str:
        return hashlib.md5(self.pkcs1_der).hexdigest()

    def sign(self, message: bytes) -> str:
        return self.private.sign(message, padding.PKCS1v15(), hashes.SHA256()).hex()

    def pem(self, fmt: str = "spki") -> bytes:
        pub = self.private.public_key()
        form = (
            serialization.PublicFormat.SubjectPublicKeyInfo
            if fmt == "spki"
            else serialization.PublicFormat.PKCS1
        )
        return pub.public_bytes(serialization.Encoding.PEM, form)

    def list_public_keys(self) -> dict:
        """What `aws cloudtrail list-public-keys` prints for this key."""
        return {
            "PublicKeyList": [
                {
                    "Value": base64.b64encode(self.pkcs1_der).decode(),
                    "ValidityStartTime": "2026-11-01T00:00:00+00:00",
                    "ValidityEndTime": "2026-12-01T00:00:00+00:00",
                    "Fingerprint": self.fingerprint,
                }
            ]
        }


def iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def signing_string(body: dict, content: bytes) -> bytes:
    prev = body["previousDigestSignature"]
    return "\n".join(
        [
            body["digestEndTime"],
            f"{body['digestS3Bucket']}/{body['digestS3Object']}",
            hashlib.sha256(content).hexdigest(),
            "null" if prev is None else prev,
        ]
    ).encode()


def uncompressed_sha256(path: Path) -> str:
    data = path.read_bytes()
    return hashlib.sha256(gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data).hexdigest()


@dataclass
class Chain:
    root: Path  # the folder standing for the bucket (holding the prefix, then AWSLogs/)
    bucket: str
    local_prefix: str
    keys: list[str] = field(default_factory=list)  # digest S3 keys, oldest first
    digests: list[Path] = field(default_factory=list)
    bodies: list[dict] = field(default_factory=list)
    signatures: list[str] = field(default_factory=list)
    logs: list[list[Path]] = field(default_factory=list)  # per digest, the files it lists

    def local(self, key: str) -> Path:
        tail = key[key.index("AWSLogs/") :]
        return self.root / self.local_prefix / tail

    def head_object(self, i: int = -1) -> dict:
        """What `aws s3api head-object` prints for digest i (its metadata carries the
        signature; the key is not in the output)."""
        data = self.digests[i].read_bytes()
        return {
            "AcceptRanges": "bytes",
            "LastModified": "2026-11-20T12:00:00+00:00",
            "ContentLength": len(data),
            "ETag": f'"{hashlib.md5(data).hexdigest()}"',
            "ContentType": "application/json",
            "ServerSideEncryption": "AES256",
            "Metadata": {"signature": self.signatures[i], "signature-algorithm": "SHA256withRSA"},
        }


def digest_key(
    prefix: str,
    account: str,
    region: str,
    trail: str,
    home: str,
    end: datetime,
    org: str | None = None,
    backfill: bool = False,
) -> str:
    base = f"{prefix}AWSLogs/" + (f"{org}/" if org else "") + account
    name = (
        f"{account}_CloudTrail-Digest_{region}_{trail}_{home}_{end:%Y%m%dT%H%M%SZ}"
        + ("_backfill" if backfill else "")
        + ".json.gz"
    )
    return f"{base}/CloudTrail-Digest/{region}/{end:%Y/%m/%d}/{name}"


def write_chain(
    root: Path,
    signer: Signer,
    *,
    hours: int = 3,
    files_per_hour: int = 2,
    account: str = "111122223333",
    region: str = "us-east-1",
    trail: str = "mgmt",
    home: str = "us-east-1",
    org: str | None = None,
    prefix: str = "",
    local_prefix: str | None = None,
    bucket: str = "acme-trail",
    start: datetime = T0,
    previous: tuple[str, str, str] | None = None,
    backfill: bool = False,
    empty_hours: frozenset[int] = frozenset(),
) -> Chain:
    """Write `hours` hourly digests (and their log files) under root/<local_prefix>.

    `previous` continues an existing chain: (its newest key, SHA-256, signature); without
    it the first digest is a starting digest. `local_prefix` (default: `prefix`) is where
    the copy put the bucket's prefix folder.
    """
    chain = Chain(root, bucket, prefix if local_prefix is None else local_prefix)
    prev = previous
    for h in range(hours):
        lo, hi = start + timedelta(hours=h), start + timedelta(hours=h + 1)
        files, entries = [], []
        for k in range(0 if h in empty_hours else files_per_hour):
            delivered = lo + timedelta(minutes=10 + 20 * k)
            stamp = delivered.strftime("%Y%m%dT%H%MZ")
            suffix = hashlib.md5(f"{account}{region}{stamp}{k}{backfill}".encode()).hexdigest()[:16]
            rel = trail_path(Path("."), account, region, stamp, suffix, org)
            path = root / chain.local_prefix / rel
            when = iso(delivered - timedelta(minutes=7))
            write_records(path, [event(f"Call{h}x{k}", when, region=region, account=account)])
            files.append(path)
            entries.append(
                {
                    "s3Bucket": bucket,
                    "s3Object": prefix + rel.as_posix(),
                    "hashValue": uncompressed_sha256(path),
                    "hashAlgorithm": "SHA-256",
                    "newestEventTime": when,
                    "oldestEventTime": when,
                }
            )
        key = digest_key(prefix, account, region, trail, home, hi, org, backfill)
        body = {
            "awsAccountId": account,
            "digestStartTime": iso(lo),
            "digestEndTime": iso(hi),
            "digestS3Bucket": bucket,
            "digestS3Object": key,
            "digestPublicKeyFingerprint": signer.fingerprint,
            "digestSignatureAlgorithm": "SHA256withRSA",
            "newestEventTime": entries[-1]["newestEventTime"] if entries else None,
            "oldestEventTime": entries[0]["oldestEventTime"] if entries else None,
            "previousDigestS3Bucket": bucket if prev else None,
            "previousDigestS3Object": prev[0] if prev else None,
            "previousDigestHashValue": prev[1] if prev else None,
            "previousDigestHashAlgorithm": "SHA-256" if prev else None,
            "previousDigestSignature": prev[2] if prev else None,
            "logFiles": entries,
        }
        content, sig = _write_digest(chain.local(key), body, signer)
        chain.keys.append(key)
        chain.digests.append(chain.local(key))
        chain.bodies.append(body)
        chain.signatures.append(sig)
        chain.logs.append(files)
        prev = (key, hashlib.sha256(content).hexdigest(), sig)
    return chain


def _write_digest(path: Path, body: dict, signer: Signer) -> tuple[bytes, str]:
    content = json.dumps(body).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(content, mtime=0))
    return content, signer.sign(signing_string(body, content))


def rechain(chain: Chain, signer: Signer, fingerprint: str | None = None) -> None:
    """Rewrite every digest so it matches the log files as they now are: what someone who
    altered the logs and can write the bucket, but lacks CloudTrail's key, can do."""
    prev = None
    for i, path in enumerate(chain.digests):
        body = chain.bodies[i]
        for e, f in zip(body["logFiles"], chain.logs[i], strict=True):
            e["hashValue"] = uncompressed_sha256(f)
        if fingerprint:
            body["digestPublicKeyFingerprint"] = fingerprint
        if prev is not None:
            body["previousDigestHashValue"], body["previousDigestSignature"] = prev
        content, sig = _write_digest(path, body, signer)
        chain.signatures[i] = sig
        prev = (hashlib.sha256(content).hexdigest(), sig)
