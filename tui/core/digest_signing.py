"""Signatures of CloudTrail digest files: public keys, signatures the user supplies, the RSA check.

CloudTrail signs each digest file with an RSA key of its region (SHA256withRSA, PKCS #1
v1.5) over this string, UTF-8, lines joined by a newline and no newline at the end::

    digestEndTime
    digestS3Bucket/digestS3Object
    hex SHA-256 of the uncompressed digest file
    previousDigestSignature       (the word ``null`` in a starting digest)

and puts the hex signature in the digest object's S3 metadata (``x-amz-meta-signature``),
which ``aws s3 sync`` does not copy. A digest's successor repeats the signature as
``previousDigestSignature``, so in a local copy only the newest digest of each chain needs
its signature from elsewhere. ``digestPublicKeyFingerprint`` is the hex MD5 of the key's DER
bytes as ``aws cloudtrail list-public-keys`` gives them (PKCS #1 RSAPublicKey); the three
example keys in the AWS "custom validation" guide have exactly those fingerprints.

Engine code: no Textual. `cryptography` is imported only when a key is loaded.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

# Key and signature files are small; a cap keeps a wrong path (a disk image) from being read.
_MAX_INPUT_BYTES = 16 << 20
SIGNATURE_ALGORITHM = "SHA256withRSA"

_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----\r?\n.*?-----END \1-----", re.DOTALL)
_HEX = re.compile(r"[0-9a-fA-F]+")


class InputError(ValueError):
    """A key or signature file the user gave cannot be used; the message says where and why."""


# --------------------------------------------------------------------------- signing string


def signing_string(
    end_time: str, bucket: str, key: str, content_sha256: str, previous_signature: str | None
) -> bytes:
    """The bytes CloudTrail signs for one digest (see the module docstring)."""
    prev = "null" if previous_signature is None else previous_signature
    return f"{end_time}\n{bucket}/{key}\n{content_sha256}\n{prev}".encode()


def verify_signature(public_key: object, signature_hex: str, message: bytes) -> bool:
    """True when `signature_hex` is a valid SHA256withRSA signature of `message`."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    try:
        signature = bytes.fromhex(signature_hex)
    except ValueError:
        return False
    try:
        public_key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())  # type: ignore[attr-defined]
    except InvalidSignature:
        return False
    return True


# --------------------------------------------------------------------------- public keys


@dataclass(frozen=True, slots=True)
class PublicKey:
    key: object  # a cryptography RSAPublicKey
    fingerprints: frozenset[str]  # hex MD5 of its PKCS #1 DER and of its SubjectPublicKeyInfo DER
    source: str  # where it came from, for messages


@dataclass(slots=True)
class KeyRing:
    """Public keys by fingerprint, and remarks about the files they came from."""

    by_fingerprint: dict[str, PublicKey] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len({id(k) for k in self.by_fingerprint.values()})

    def find(self, fingerprint: str) -> PublicKey | None:
        return self.by_fingerprint.get(fingerprint.strip().lower())

    def add(self, key: object, source: str, stated: str | None = None) -> PublicKey:
        from cryptography.hazmat.primitives.asymmetric import rsa
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        if not isinstance(key, rsa.RSAPublicKey):
            raise InputError(f"{source}: not an RSA public key")
        pkcs1 = key.public_bytes(Encoding.DER, PublicFormat.PKCS1)
        spki = key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
        fps = {
            hashlib.md5(pkcs1, usedforsecurity=False).hexdigest(),
            hashlib.md5(spki, usedforsecurity=False).hexdigest(),
        }
        if stated:
            stated = stated.strip().lower()
            if stated not in fps:
                self.notes.append(
                    f"{source}: stated fingerprint {stated} is not the MD5 of the key "
                    f"({sorted(fps)[0]}); the key is used for both"
                )
            fps.add(stated)
        pk = PublicKey(key, frozenset(fps), source)
        for fp in fps:
            self.by_fingerprint[fp] = pk
        return pk


def fingerprint(key: object) -> str:
    """CloudTrail's fingerprint of an RSA public key: hex MD5 of its PKCS #1 DER."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    der = key.public_bytes(Encoding.DER, PublicFormat.PKCS1)  # type: ignore[attr-defined]
    return hashlib.md5(der, usedforsecurity=False).hexdigest()


def load_public_keys(paths: Iterable[str | os.PathLike]) -> KeyRing:
    """Read PEM files (``PUBLIC KEY`` or ``RSA PUBLIC KEY`` blocks, any number per file) and
    the JSON that ``aws cloudtrail list-public-keys`` prints. Raises InputError."""
    from cryptography.hazmat.primitives.serialization import (
        load_der_public_key,
        load_pem_public_key,
    )

    ring = KeyRing()
    for p in paths:
        name = os.fsdecode(p)
        data = _read_small(name)
        blocks = [m.group(0) for m in _PEM_BLOCK.finditer(data)]
        if blocks:
            for i, block in enumerate(blocks, 1):
                src = f"{name} (PEM block {i})"
                try:
                    key = load_pem_public_key(block)
                except (ValueError, TypeError) as e:
                    raise InputError(f"{src}: not a public key ({_short(e)})") from None
                ring.add(key, src)
            continue
        try:
            doc = json.loads(data)
        except (ValueError, UnicodeDecodeError):
            raise InputError(
                f"{name}: neither PEM nor the JSON of `aws cloudtrail list-public-keys`"
            ) from None
        items = _key_items(doc)
        if items is None:
            raise InputError(f"{name}: JSON without a PublicKeyList")
        for i, item in enumerate(items, 1):
            src = f"{name} (key {i})"
            value = _ci_get(item, "value") if isinstance(item, dict) else None
            if not isinstance(value, str):
                raise InputError(f"{src}: no Value")
            try:
                der = base64.b64decode("".join(value.split()), validate=True)
                key = load_der_public_key(der)
            except (binascii.Error, ValueError, TypeError) as e:
                raise InputError(
                    f"{src}: Value is not a base64 DER public key ({_short(e)})"
                ) from None
            stated = _ci_get(item, "fingerprint")
            ring.add(key, src, stated if isinstance(stated, str) else None)
    return ring


def _key_items(doc: object) -> list | None:
    if isinstance(doc, list):
        return doc
    if isinstance(doc, dict):
        listed = _ci_get(doc, "publickeylist")
        if isinstance(listed, list):
            return listed
        if _ci_get(doc, "value") is not None:
            return [doc]
    return None


# --------------------------------------------------------------------------- signatures


@dataclass(frozen=True, slots=True)
class SuppliedSignature:
    signature: str  # lower-case hex
    algorithm: str | None  # x-amz-meta-signature-algorithm when given
    source: str  # "file:line" or "file", for messages


@dataclass(slots=True)
class SignatureBook:
    """Signatures the user exported, found by the digest's file name (the last part of its
    S3 key, unique per trail, region and hour) or, for a bare ``head-object`` output, by
    its ETag (the MD5 of the object when it was not uploaded with SSE-KMS)."""

    by_name: dict[str, list[SuppliedSignature]] = field(default_factory=dict)
    by_etag: dict[str, list[SuppliedSignature]] = field(default_factory=dict)
    count: int = 0

    def lookup(self, digest_name: str, file_md5: str | None) -> list[SuppliedSignature]:
        found = list(self.by_name.get(digest_name, ()))
        if file_md5:
            found += [s for s in self.by_etag.get(file_md5, ()) if s not in found]
        return found

    def add(self, digest: str, signature: str, algorithm: str | None, source: str) -> None:
        """A signature known from elsewhere (an S3 object's metadata, fetched with it)
        for the digest whose key or URL is `digest`. Raises InputError if not hex."""
        sig = signature.strip()
        if not sig or len(sig) % 2 or not _HEX.fullmatch(sig):
            raise InputError(f"{source}: signature is not hex")
        self._add(_last_part(digest), None, SuppliedSignature(sig.lower(), algorithm, source))

    def _add(self, name: str | None, etag: str | None, sig: SuppliedSignature) -> None:
        if name:
            self.by_name.setdefault(name, []).append(sig)
        elif etag:
            self.by_etag.setdefault(etag, []).append(sig)
        else:
            raise InputError(
                f"{sig.source}: cannot tell which digest this signature is for "
                '(give "digest", or name the file after the digest)'
            )
        self.count += 1


def load_signatures(paths: Iterable[str | os.PathLike]) -> SignatureBook:
    """Read signature files (or every ``*.json``/``*.jsonl`` in a folder, recursively).

    Accepted, per file:
    * JSON Lines, a JSON array, or one object of ``{"digest": ID, "signature": HEX}``;
      ID is the digest's S3 key, ``s3://bucket/key`` or local path (its last part counts);
    * the JSON ``aws s3api head-object --bucket B --key K`` prints (``Metadata.signature``),
      named after the digest (``<digest file name>.head.json``) or carrying ``"Key"``; if
      neither, it is matched by its ETag.
    Raises InputError.
    """
    book = SignatureBook()
    for p in paths:
        name = os.fsdecode(p)
        if os.path.isdir(name):
            files = sorted(
                os.path.join(d, f)
                for d, _, fs in os.walk(name)
                for f in fs
                if f.lower().endswith((".json", ".jsonl"))
            )
            if not files:
                raise InputError(f"{name}: no .json or .jsonl files in this folder")
        else:
            files = [name]
        for f in files:
            _load_signature_file(f, book)
    return book


def _load_signature_file(path: str, book: SignatureBook) -> None:
    data = _read_small(path)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text") from None
    base = os.path.basename(path)
    hint = base[: base.find(".json.gz") + 8] if ".json.gz" in base else None
    try:
        doc = json.loads(text)
    except ValueError:
        doc = None
    if doc is not None:
        items = doc if isinstance(doc, list) else [doc]
        for i, item in enumerate(items, 1):
            src = path if len(items) == 1 else f"{path} (item {i})"
            _add_entry(book, item, src, hint if len(items) == 1 else None)
        return
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError as e:
            raise InputError(f"{path}:{n}: not JSON ({_short(e)})") from None
        _add_entry(book, item, f"{path}:{n}", None)


def _add_entry(book: SignatureBook, item: object, src: str, name_hint: str | None) -> None:
    if not isinstance(item, dict):
        raise InputError(f"{src}: expected a JSON object")
    meta = _ci_get(item, "metadata")
    if isinstance(meta, dict):  # head-object output
        sig = _ci_get(meta, "signature", "x-amz-meta-signature")
        alg = _ci_get(meta, "signature-algorithm", "x-amz-meta-signature-algorithm")
        ident = _ci_get(item, "digest", "key")
        etag = _ci_get(item, "etag")
        etag = etag.strip().strip('"').lower() if isinstance(etag, str) else None
        if etag and not re.fullmatch(r"[0-9a-f]{32}", etag):
            etag = None  # a multipart or SSE-KMS ETag is not the MD5 of the object
    else:
        sig = _ci_get(item, "signature")
        alg = _ci_get(item, "algorithm", "signature-algorithm")
        ident = _ci_get(item, "digest", "key")
        etag = None
    if not isinstance(sig, str) or not sig.strip():
        raise InputError(
            f"{src}: no signature (head-object output with no "
            "Metadata.signature is from an object that is not a digest file)"
        )
    sig = sig.strip()
    if len(sig) % 2 or not _HEX.fullmatch(sig):
        raise InputError(f"{src}: signature is not hex")
    name = _last_part(ident) if isinstance(ident, str) and ident.strip() else name_hint
    book._add(
        name, etag, SuppliedSignature(sig.lower(), alg if isinstance(alg, str) else None, src)
    )


def _last_part(ident: str) -> str:
    return re.split(r"[/\\]", ident.strip())[-1]


# --------------------------------------------------------------------------- helpers


def _read_small(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            data = f.read(_MAX_INPUT_BYTES + 1)
    except OSError as e:
        raise InputError(f"{path}: {(e.strerror or str(e)).lower()}") from None
    if len(data) > _MAX_INPUT_BYTES:
        raise InputError(
            f"{path}: larger than {_MAX_INPUT_BYTES >> 20} MiB; not a key or signature file"
        )
    return data


def _ci_get(d: dict, *names: str) -> object:
    """d[name] with the name compared case-insensitively (the CLI and the API differ)."""
    wanted = {n.lower() for n in names}
    for k, v in d.items():
        if isinstance(k, str) and k.lower() in wanted:
            return v
    return None


def _short(e: Exception) -> str:
    return str(e).splitlines()[0][:120] if str(e) else type(e).__name__
