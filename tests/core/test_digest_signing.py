"""`tui.core.digest_signing`: the key and signature files a responder can actually get, and
the documented signing string."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from tests.digestgen import Chain, Signer, write_chain
from tui.core.digest_signing import (
    InputError,
    fingerprint,
    load_public_keys,
    load_signatures,
    signing_string,
    verify_signature,
)
from tui.core.integrity import SignatureState, verify


@pytest.fixture(scope="module")
def signer() -> Signer:
    return Signer.new()


@pytest.fixture
def chain(tmp_path: Path, signer: Signer) -> Chain:
    return write_chain(tmp_path / "copy", signer, hours=2)


def test_signing_string_is_the_documented_one(signer: Signer) -> None:
    """Four lines, no trailing newline; a starting digest signs the word null."""
    s = signing_string("2015-08-12T04:01:31Z", "b", "AWSLogs/1/x.json.gz", "ab" * 32, None)
    assert s == b"2015-08-12T04:01:31Z\nb/AWSLogs/1/x.json.gz\n" + b"ab" * 32 + b"\nnull"
    sig = signer.sign(s)
    key = signer.private.public_key()
    assert verify_signature(key, sig, s)
    assert not verify_signature(key, sig, s + b"\n")
    assert not verify_signature(key, "zz" + sig[2:], s)  # not hex: a plain no
    assert fingerprint(key) == signer.fingerprint


@pytest.mark.parametrize("form", ["spki", "pkcs1", "json", "two-in-one-pem"])
def test_public_key_files(tmp_path: Path, signer: Signer, form: str) -> None:
    p = tmp_path / "key"
    if form == "json":
        p.write_text(json.dumps(signer.list_public_keys(), indent=2))
    elif form == "two-in-one-pem":
        p.write_bytes(Signer.new().pem() + b"\n" + signer.pem("pkcs1"))
    else:
        p.write_bytes(signer.pem(form))
    ring = load_public_keys([p])
    assert ring.find(signer.fingerprint) is not None
    assert ring.find(signer.fingerprint.upper()) is not None


def test_a_stated_fingerprint_that_is_not_the_keys_is_noted(tmp_path: Path, signer: Signer) -> None:
    doc = signer.list_public_keys()
    doc["PublicKeyList"][0]["Fingerprint"] = "00" * 16
    p = tmp_path / "keys.json"
    p.write_text(json.dumps(doc))
    ring = load_public_keys([p])
    assert len(ring.notes) == 1 and "00000000" in ring.notes[0]
    assert ring.find(signer.fingerprint) is ring.find("00" * 16)


@pytest.mark.parametrize(
    "content, why",
    [
        (b"not a key", "neither PEM nor"),
        (b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "not a public key"),
        (b'{"PublicKeyList": [{"Value": "!!!"}]}', "not a base64 DER"),
        (b'{"Keys": []}', "without a PublicKeyList"),
    ],
)
def test_unusable_key_files_say_why(tmp_path: Path, content: bytes, why: str) -> None:
    p = tmp_path / "k"
    p.write_bytes(content)
    with pytest.raises(InputError, match=why):
        load_public_keys([p])
    with pytest.raises(InputError, match="no such file"):
        load_public_keys([tmp_path / "absent.pem"])


def test_an_ec_key_is_refused(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    pub = ec.generate_private_key(ec.SECP256R1()).public_key()
    p = tmp_path / "ec.pem"
    p.write_bytes(
        pub.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    with pytest.raises(InputError, match="not an RSA public key"):
        load_public_keys([p])


def _keys(tmp_path: Path, signer: Signer):
    p = tmp_path / "keys.pem"
    p.write_bytes(signer.pem())
    return load_public_keys([p])


def _newest_signature_state(tmp_path: Path, chain: Chain, signer: Signer, sig_path: Path):
    rep = verify([chain.root], keys=_keys(tmp_path, signer), signatures=load_signatures([sig_path]))
    return rep.digests[-1].signature, rep.verdict


@pytest.mark.parametrize("ident", ["key", "s3-uri", "local-path"])
def test_json_lines_of_signatures(tmp_path: Path, chain: Chain, signer: Signer, ident: str) -> None:
    digest = {
        "key": chain.keys[-1],
        "s3-uri": f"s3://{chain.bucket}/{chain.keys[-1]}",
        "local-path": str(chain.digests[-1]),
    }[ident]
    p = tmp_path / "signatures.jsonl"
    p.write_text(
        "\n" + json.dumps({"digest": digest, "signature": chain.signatures[-1].upper()}) + "\n\n"
    )
    assert _newest_signature_state(tmp_path, chain, signer, p) == (
        SignatureState.VERIFIED,
        "signed",
    )


def test_head_object_output_named_after_the_digest(
    tmp_path: Path, chain: Chain, signer: Signer
) -> None:
    folder = tmp_path / "heads"
    folder.mkdir()
    for i in range(2):
        (folder / f"{chain.digests[i].name}.head.json").write_text(
            json.dumps(chain.head_object(i), indent=4)
        )
    book = load_signatures([folder])
    assert book.count == 2
    assert _newest_signature_state(tmp_path, chain, signer, folder) == (
        SignatureState.VERIFIED,
        "signed",
    )


def test_head_object_output_with_only_an_etag(tmp_path: Path, chain: Chain, signer: Signer) -> None:
    """Named anything: matched by the ETag, the MD5 of the digest file (no SSE-KMS)."""
    p = tmp_path / "head.json"
    p.write_text(json.dumps(chain.head_object(-1)))
    assert _newest_signature_state(tmp_path, chain, signer, p)[0] is SignatureState.VERIFIED
    # An SSE-KMS ETag is not the MD5: that output names no digest.
    head = chain.head_object(-1) | {"ETag": '"' + "0" * 32 + '-3"'}
    p.write_text(json.dumps(head))
    with pytest.raises(InputError, match="cannot tell which digest"):
        load_signatures([p])


def test_head_object_output_with_a_key_added(tmp_path: Path, chain: Chain, signer: Signer) -> None:
    """e.g. `jq --arg k "$KEY" '. + {Key: $k}'`, or several objects in one JSON array."""
    p = tmp_path / "all.json"
    items = [chain.head_object(i) | {"Key": chain.keys[i], "ETag": '"x"'} for i in range(2)]
    p.write_text(json.dumps(items))
    assert _newest_signature_state(tmp_path, chain, signer, p)[0] is SignatureState.VERIFIED


@pytest.mark.parametrize(
    "content, why",
    [
        ('{"digest": "x.json.gz", "signature": "abc"}', "not hex"),
        ('{"digest": "x.json.gz"}', "no signature"),
        ('{"Metadata": {}, "ETag": "\\"0123456789abcdef0123456789abcdef\\""}', "no signature"),
        ('{"signature": "abcd"}', "cannot tell which digest"),
        ('{"digest": "a", "signature": "ab"}\nnot json\n', r":2: not JSON"),
        ("[1]", "expected a JSON object"),
    ],
)
def test_unusable_signature_files_say_why(tmp_path: Path, content: str, why: str) -> None:
    p = tmp_path / "s.jsonl"
    p.write_text(content)
    with pytest.raises(InputError, match=why):
        load_signatures([p])


def test_an_empty_signature_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no .json or .jsonl files"):
        load_signatures([tmp_path])


def test_a_supplied_signature_for_an_older_digest_that_disagrees(
    tmp_path: Path, chain: Chain, signer: Signer
) -> None:
    """Two signatures for one digest (exported, and its successor's copy): one is wrong."""
    p = tmp_path / "s.jsonl"
    p.write_text(json.dumps({"digest": chain.keys[0], "signature": "ab" * 256}))
    rep = verify([chain.root], keys=_keys(tmp_path, signer), signatures=load_signatures([p]))
    assert rep.digests[0].signature is SignatureState.VERIFIED
    assert [f.kind for f in rep.findings if f.severity == "fail"] == ["bad-signature"]
    assert (
        "another one does"
        in rep.findings[[f.kind for f in rep.findings].index("bad-signature")].message
    )


def test_the_signature_covers_the_digest_location(
    tmp_path: Path, chain: Chain, signer: Signer
) -> None:
    """A genuine digest copied into another bucket's name fails its signature."""
    path = chain.digests[-1]
    body = json.loads(gzip.decompress(path.read_bytes()))
    body["digestS3Bucket"] = "another-bucket"
    path.write_bytes(gzip.compress(json.dumps(body).encode()))
    p = tmp_path / "s.jsonl"
    p.write_text(json.dumps({"digest": chain.keys[-1], "signature": chain.signatures[-1]}))
    rep = verify([chain.root], keys=_keys(tmp_path, signer), signatures=load_signatures([p]))
    assert rep.digests[-1].signature is SignatureState.FAILED
    assert rep.verdict == "inconsistent"
