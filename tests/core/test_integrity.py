"""`tui.core.integrity`: a copy of a trail checked against digest chains built as the AWS
documentation describes them (tests/digestgen.py, with the test's own RSA key), then
tampered with."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import tracemalloc
from pathlib import Path

import pytest

from tests.digestgen import T0, Chain, Signer, rechain, write_chain
from tests.trailgen import SEEDS, event, trail_path, write_records
from tui.core import digest_files
from tui.core.digest_signing import KeyRing, load_public_keys, load_signatures
from tui.core.integrity import DigestState, FileState, SignatureState, verify

DOCS = SEEDS / "integrity"  # the AWS documentation's digest and key examples


@pytest.fixture(scope="module")
def signer() -> Signer:
    return Signer.new()


@pytest.fixture(scope="module")
def attacker() -> Signer:
    return Signer.new()


@pytest.fixture
def chain(tmp_path: Path, signer: Signer) -> Chain:
    return write_chain(tmp_path / "copy", signer, hours=4)


def keyring(tmp_path: Path, signer: Signer) -> KeyRing:
    p = tmp_path / "keys.json"
    p.write_text(json.dumps(signer.list_public_keys()))
    return load_public_keys([p])


def head_object_file(tmp_path: Path, chain: Chain, i: int = -1) -> Path:
    p = tmp_path / "sigs" / f"{chain.digests[i].name}.head.json"
    p.parent.mkdir(exist_ok=True)
    p.write_text(json.dumps(chain.head_object(i)))
    return p


def states(rep) -> dict[str, str]:
    return {Path(f.path).name: str(f.state) for f in rep.files}


def kinds(rep, severity: str = "fail") -> list[str]:
    return sorted(f.kind for f in rep.findings if f.severity == severity)


def gz(records: list) -> bytes:
    return gzip.compress(json.dumps({"Records": records}).encode(), mtime=0)


# ------------------------------------------------------------------ consistent copies


def test_an_untouched_chain_is_consistent_but_not_called_signed(chain: Chain) -> None:
    rep = verify([chain.root])
    assert rep.verdict == "consistent" and not rep.failed
    assert len(rep.present) == 4
    assert all(d.state is DigestState.OK for d in rep.present)
    assert [d.chain for d in rep.digests] == ["start", "linked", "linked", "linked"]
    assert all(d.signature is SignatureState.NOT_CHECKED for d in rep.digests)
    assert {str(f.state) for f in rep.files} == {"verified"} and len(rep.files) == 8
    assert not any(f.signed for f in rep.files)
    assert kinds(rep, "note") == ["chain-start"]


def test_with_keys_and_the_newest_signature_every_digest_is_signed(
    tmp_path: Path, chain: Chain, signer: Signer
) -> None:
    rep = verify(
        [chain.root],
        keys=keyring(tmp_path, signer),
        signatures=load_signatures([head_object_file(tmp_path, chain)]),
    )
    assert rep.verdict == "signed", rep.findings
    assert all(d.signature is SignatureState.VERIFIED for d in rep.digests)
    assert all(f.signed for f in rep.files)


def test_older_digests_are_signed_by_their_successors_copy_of_the_signature(
    tmp_path: Path, chain: Chain, signer: Signer
) -> None:
    """Only the newest digest's signature lives solely in S3 metadata."""
    rep = verify([chain.root], keys=keyring(tmp_path, signer))
    assert [d.signature for d in rep.digests] == [SignatureState.VERIFIED] * 3 + [
        SignatureState.NO_SIGNATURE
    ]
    assert rep.verdict == "consistent"
    assert [f.signed for f in rep.files] == [True] * 6 + [False] * 2
    assert "no-signature" in kinds(rep, "note")


def test_hashes_are_of_the_uncompressed_content(chain: Chain) -> None:
    """Recompressing a log file (other gzip bytes, same JSON) or keeping it gunzipped
    changes nothing; CloudTrail hashes the uncompressed content."""
    first, second = chain.logs[0]
    first.write_bytes(
        gzip.compress(gzip.decompress(first.read_bytes()), compresslevel=1, mtime=12345)
    )
    plain = second.with_name(second.name[:-3])
    plain.write_bytes(gzip.decompress(second.read_bytes()))
    second.unlink()
    rep = verify([chain.root])
    assert rep.verdict == "consistent", rep.findings
    by_name = {Path(f.path).name: f for f in rep.files}
    assert by_name[first.name].state is FileState.VERIFIED
    assert by_name[plain.name].state is FileState.VERIFIED
    assert "without its .gz" in by_name[plain.name].reason


# ------------------------------------------------------------------ the tamper matrix


def test_a_modified_log_file(chain: Chain) -> None:
    victim = chain.logs[1][0]
    recs = json.loads(gzip.decompress(victim.read_bytes()))["Records"]
    recs[0]["sourceIPAddress"] = "10.0.0.1"  # the attacker's IP, hidden
    victim.write_bytes(gz(recs))
    rep = verify([chain.root])
    assert rep.verdict == "inconsistent"
    f = next(f for f in rep.files if Path(f.path) == victim)
    assert f.state is FileState.MODIFIED and f.fails
    assert f.expected == chain.bodies[1]["logFiles"][0]["hashValue"]
    assert f.actual == hashlib.sha256(gzip.decompress(victim.read_bytes())).hexdigest()
    assert kinds(rep) == ["modified"]
    assert sum(s == "verified" for s in states(rep).values()) == 7


def test_a_deleted_log_file(chain: Chain) -> None:
    victim = chain.logs[2][1]
    victim.unlink()
    rep = verify([chain.root])
    assert rep.verdict == "inconsistent"
    assert states(rep)[victim.name] == "missing"
    assert kinds(rep) == ["missing"]


def test_a_deleted_digest_inside_the_chain(chain: Chain) -> None:
    chain.digests[1].unlink()
    rep = verify([chain.root])
    assert rep.verdict == "inconsistent"
    assert kinds(rep) == ["missing-digest"]
    missing = [d for d in rep.digests if d.state is DigestState.MISSING]
    assert [Path(d.path) for d in missing] == [chain.digests[1]]
    assert next(d for d in rep.digests if Path(d.path) == chain.digests[2]).chain == (
        "previous missing"
    )
    # What it listed is now unverified, not called verified.
    assert {states(rep)[p.name] for p in chain.logs[1]} == {"not covered"}
    assert {f.reason for f in rep.files if Path(f.path) in chain.logs[1]} == {
        "delivered in the hours of a digest missing from the copy"
    }


def test_two_deleted_digests_in_a_row(chain: Chain) -> None:
    """aws-cli issue 7054: deleting two consecutive digests must still be noticed."""
    chain.digests[1].unlink()
    chain.digests[2].unlink()
    rep = verify([chain.root])
    assert rep.verdict == "inconsistent"
    assert kinds(rep) == ["missing-digest"]


def test_deleting_the_oldest_digest_looks_like_the_copy_starting_later(chain: Chain) -> None:
    """A documented limit: the oldest digest of a copy has no local witness."""
    chain.digests[0].unlink()
    rep = verify([chain.root])
    assert rep.verdict == "consistent"
    assert "copy-starts" in kinds(rep, "note")
    assert {states(rep)[p.name] for p in chain.logs[0]} == {"not covered"}


def test_a_deleted_newest_digest_shows_through_its_exported_signature(
    tmp_path: Path, chain: Chain, signer: Signer
) -> None:
    """Offline, the newest digest's deletion leaves no trace in the chain; the signature
    exported from S3 for it then names a digest the copy lacks."""
    sig = head_object_file(tmp_path, chain)
    chain.digests[-1].unlink()
    rep = verify([chain.root], keys=keyring(tmp_path, signer), signatures=load_signatures([sig]))
    assert rep.verdict == "consistent"  # nothing in the copy contradicts the rest
    assert "signature-unused" in kinds(rep, "note")
    assert {states(rep)[p.name] for p in chain.logs[-1]} == {"not covered"}


def test_swapped_digests_are_not_where_they_say_they_were_delivered(chain: Chain) -> None:
    a, b = chain.digests[1], chain.digests[2]
    data_a, data_b = a.read_bytes(), b.read_bytes()
    a.write_bytes(data_b)
    b.write_bytes(data_a)
    rep = verify([chain.root])
    assert rep.verdict == "inconsistent"
    assert kinds(rep).count("moved-digest") == 2
    assert {d.state for d in rep.digests if Path(d.path) in (a, b)} == {DigestState.MOVED}


def test_a_chain_relinked_around_a_digest(chain: Chain, signer: Signer) -> None:
    """Digest 3 is rewritten to name digest 1 as its previous (with a correct hash), so the
    chain skips digest 2."""
    body = chain.bodies[2]
    body["previousDigestS3Object"] = chain.keys[0]
    body["previousDigestHashValue"] = hashlib.sha256(
        gzip.decompress(chain.digests[0].read_bytes())
    ).hexdigest()
    chain.digests[2].write_bytes(gzip.compress(json.dumps(body).encode()))
    rep = verify([chain.root])
    assert rep.verdict == "inconsistent"
    fails = kinds(rep)
    assert "skipped-digest" in fails and "forked-chain" in fails
    assert "modified-digest" in fails  # digest 4 recorded digest 3's old hash
    assert "time-gap" in kinds(rep, "note")


def test_an_added_log_file(chain: Chain) -> None:
    extra = trail_path(
        chain.root,
        when=(T0.replace(hour=10, minute=40)).strftime("%Y%m%dT%H%MZ"),
        suffix="EXTRAextraEXTRA1",
    )
    write_records(extra, [event("CreateUser", "2026-11-20T10:35:00Z")])
    late = trail_path(chain.root, when="20261120T1800Z", suffix="LATElateLATElate")
    write_records(late, [event("DescribeInstances", "2026-11-20T17:55:00Z")])
    rep = verify([chain.root])
    assert rep.verdict == "inconsistent"
    assert kinds(rep) == ["unlisted"]
    by_name = {Path(f.path).name: f for f in rep.files}
    assert by_name[extra.name].state is FileState.NOT_COVERED and by_name[extra.name].fails
    # After the newest digest: not verifiable, but not evidence of tampering either.
    assert by_name[late.name].state is FileState.NOT_COVERED and not by_name[late.name].fails
    assert "after the newest digest" in by_name[late.name].reason


def test_a_wrong_signature(tmp_path: Path, chain: Chain, signer: Signer) -> None:
    sigs = tmp_path / "sigs.jsonl"
    sigs.write_text(json.dumps({"digest": chain.keys[-1], "signature": chain.signatures[0]}) + "\n")
    rep = verify([chain.root], keys=keyring(tmp_path, signer), signatures=load_signatures([sigs]))
    assert rep.verdict == "inconsistent"
    assert kinds(rep) == ["bad-signature", "unverifiable", "unverifiable"]
    newest = rep.digests[-1]
    assert newest.signature is SignatureState.FAILED
    assert newest.state is DigestState.BAD_SIGNATURE
    # Its files match it, but a digest that fails its signature vouches for nothing.
    assert {states(rep)[p.name] for p in chain.logs[-1]} == {"unverifiable"}


def test_a_chain_rewritten_without_the_key(
    tmp_path: Path, chain: Chain, signer: Signer, attacker: Signer
) -> None:
    """Logs altered and every digest recomputed and re-signed with another key under the
    real key's fingerprint: consistent with the digests, but the signatures give it away."""
    victim = chain.logs[0][0]
    victim.write_bytes(gz([event("Nothing", "2026-11-20T09:05:00Z")]))
    rechain(chain, attacker, fingerprint=signer.fingerprint)
    assert verify([chain.root]).verdict == "consistent"

    sig = head_object_file(tmp_path, chain)
    rep = verify([chain.root], keys=keyring(tmp_path, signer), signatures=load_signatures([sig]))
    assert rep.verdict == "inconsistent"
    assert kinds(rep).count("bad-signature") == 4
    assert {str(f.state) for f in rep.files} == {"unverifiable"}

    # Under the attacker's own fingerprint: no key for it among those given.
    rechain(chain, attacker, fingerprint=attacker.fingerprint)
    rep = verify(
        [chain.root],
        keys=keyring(tmp_path, signer),
        signatures=load_signatures([head_object_file(tmp_path, chain)]),
    )
    assert {d.signature for d in rep.digests} == {SignatureState.NO_KEY}
    assert rep.verdict == "consistent"  # nothing contradicts; nothing is signed either


def test_a_modified_digest_is_caught_by_its_successor(chain: Chain) -> None:
    """A log file changed and its digest's hashValue updated to match: the next digest
    still holds the old digest's hash."""
    victim = chain.logs[1][1]
    victim.write_bytes(gz([event("Forged", "2026-11-20T10:45:00Z")]))
    body = chain.bodies[1]
    body["logFiles"][1]["hashValue"] = hashlib.sha256(
        gzip.decompress(victim.read_bytes())
    ).hexdigest()
    chain.digests[1].write_bytes(gzip.compress(json.dumps(body).encode()))
    rep = verify([chain.root])
    assert rep.verdict == "inconsistent"
    assert kinds(rep) == ["modified-digest", "unverifiable", "unverifiable"]
    d = next(d for d in rep.digests if Path(d.path) == chain.digests[1])
    assert d.state is DigestState.MODIFIED
    assert states(rep)[victim.name] == "unverifiable"


def test_an_unreadable_digest(chain: Chain) -> None:
    chain.digests[3].write_bytes(gzip.compress(b"{}")[:10] + b"\xff" * 64)
    chain.digests[2].write_bytes(gzip.compress(b'{"Records": []}'))
    rep = verify([chain.root])
    assert rep.verdict == "inconsistent"
    bad = {Path(d.path).name: d.reason for d in rep.digests if d.state is DigestState.UNREADABLE}
    assert "not valid gzip" in bad[chain.digests[3].name]
    assert "not a digest file" in bad[chain.digests[2].name]


# ------------------------------------------------------------------ chain shapes and layouts


def test_a_restarted_chain_and_an_empty_hour(tmp_path: Path, signer: Signer) -> None:
    root = tmp_path / "copy"
    write_chain(root, signer, hours=2, empty_hours=frozenset({1}))
    later = T0.replace(hour=15)
    second = write_chain(root, signer, hours=2, start=later)  # a new starting digest
    rep = verify([root])
    assert rep.verdict == "consistent", rep.findings
    assert [d.chain for d in rep.digests] == ["start", "linked", "restart", "linked"]
    assert rep.digests[1].files_listed == 0
    assert "restart" in kinds(rep, "note")
    # A file delivered while validation was off is not verifiable, and not an addition.
    gap = trail_path(root, when="20261120T1300Z", suffix="GAPgapGAPgapGAPg")
    write_records(gap, [event()])
    rep = verify([root])
    assert rep.verdict == "consistent"
    f = next(f for f in rep.files if Path(f.path) == gap)
    assert f.state is FileState.NOT_COVERED and "no digest was being written" in f.reason
    assert second.digests[0].exists()


def test_an_organization_trail_under_a_prefix(tmp_path: Path, signer: Signer) -> None:
    root = tmp_path / "bucket"
    chain = write_chain(root, signer, org="o-exampleorg1", prefix="audit/cloudtrail/")
    assert chain.digests[0].relative_to(root).parts[:4] == (
        "audit",
        "cloudtrail",
        "AWSLogs",
        "o-exampleorg1",
    )
    rep = verify([root])
    assert rep.verdict == "consistent" and len(rep.files) == 6
    # The same objects synced from inside the prefix (the copy lacks it) still map.
    flat = tmp_path / "flat"
    shutil.copytree(root / "audit" / "cloudtrail", flat)
    rep = verify([flat])
    assert rep.verdict == "consistent", rep.findings
    assert {str(f.state) for f in rep.files} == {"verified"}
    assert rep.digests[0].prefix == "audit/cloudtrail/" and rep.digests[0].org == "o-exampleorg1"


def test_several_accounts_regions_and_trails(tmp_path: Path, signer: Signer) -> None:
    root = tmp_path / "copy"
    write_chain(root, signer, hours=2)
    write_chain(root, signer, hours=2, region="eu-west-1")
    write_chain(root, signer, hours=2, account="444455556666")
    other = write_chain(
        root, signer, hours=2, trail="second_trail_with_underscores", start=T0.replace(minute=31)
    )
    rep = verify([root])
    assert len(rep.digests) == 8
    # Two trails log the same account and region: each chain stands on its own.
    assert [d.chain for d in rep.digests].count("start") == 4
    assert rep.verdict == "consistent", rep.findings
    assert {d.name.trail for d in rep.digests} == {"mgmt", "second_trail_with_underscores"}
    # The second trail's copy starts an hour later: the files of its first hour lie in
    # hours the first trail covers, yet they may be the second trail's.
    other.digests[0].unlink()
    rep = verify([root])
    assert rep.verdict == "consistent", rep.findings
    assert {f.reason for f in rep.files if Path(f.path) in other.logs[0]} == {
        "delivered in hours the digests of only some of the trails logging here cover"
    }
    # A file no trail lists, in hours every trail covers, is an addition.
    extra = trail_path(root, when="20261120T1050Z", suffix="EXTRAextraEXTRA2")
    write_records(extra, [event()])
    assert kinds(verify([root])) == ["unlisted"]


def test_a_backfill_digest_has_a_chain_of_its_own(tmp_path: Path, signer: Signer) -> None:
    root = tmp_path / "copy"
    main = write_chain(root, signer, hours=3)
    late = write_chain(
        root, signer, hours=1, backfill=True, start=T0.replace(hour=10), files_per_hour=1
    )
    rep = verify([root])
    assert rep.verdict == "consistent", rep.findings
    back = [d for d in rep.digests if d.name.backfill]
    assert len(back) == 1 and back[0].chain == "start"
    assert all(states(rep)[p.name] == "verified" for p in late.logs[0] + main.logs[1])


def test_digests_given_alone_still_check_their_files(chain: Chain) -> None:
    """The path may be just the digest folder: listed files are found from the layout."""
    rep = verify([chain.root / "AWSLogs" / "111122223333" / "CloudTrail-Digest"])
    assert rep.verdict == "consistent"
    assert {str(f.state) for f in rep.files} == {"verified"} and len(rep.files) == 8


def test_nothing_to_verify(tmp_path: Path) -> None:
    write_records(trail_path(tmp_path), [event()])
    rep = verify([tmp_path])
    assert rep.verdict == "nothing to verify"
    assert [str(f.state) for f in rep.files] == ["not covered"]


# ------------------------------------------------------------------ hostile and broken input


def test_gzip_details(chain: Chain) -> None:
    appended, padded, cut = chain.logs[0][0], chain.logs[0][1], chain.logs[1][0]
    # A second gzip member with an extra event: trailscope (like gzip -dc) reads it.
    appended.write_bytes(appended.read_bytes() + gz([event("Hidden")]))
    padded.write_bytes(padded.read_bytes() + b"\0" * 512)
    cut.write_bytes(cut.read_bytes()[:-9])
    rep = verify([chain.root])
    by = {Path(f.path).name: f for f in rep.files}
    assert by[appended.name].state is FileState.MODIFIED
    assert by[padded.name].state is FileState.VERIFIED and not by[padded.name].reason
    assert by[cut.name].state is FileState.UNVERIFIABLE
    assert "truncated" in by[cut.name].reason


def test_keys_that_would_leave_the_copy_are_refused(tmp_path: Path, chain: Chain) -> None:
    secret = tmp_path / "secret.json"
    secret.write_text("{}")
    body = chain.bodies[3]
    body["logFiles"][0]["s3Object"] = "AWSLogs/../../secret.json"
    body["logFiles"][1]["s3Object"] = "no-layout/x.json.gz"
    chain.digests[3].write_bytes(gzip.compress(json.dumps(body).encode()))
    rep = verify([chain.root])
    assert kinds(rep).count("unsafe-key") == 2
    assert not any(f.path.endswith("secret.json") for f in rep.files)


def test_a_gzip_bomb_is_capped(chain: Chain) -> None:
    bomb = chain.logs[0][0]
    bomb.write_bytes(gzip.compress(b"{" + b" " * (8 << 20) + b"}"))
    rep = verify([chain.root], max_bytes=1 << 20)
    f = next(f for f in rep.files if Path(f.path) == bomb)
    assert f.state is FileState.UNVERIFIABLE and "cap" in f.reason


def test_hashing_streams(tmp_path: Path) -> None:
    """A 48 MiB log file is hashed in a few MiB of memory, never held whole."""
    content = b'{"Records":[' + b" " * (48 << 20) + b"]}"
    p = tmp_path / "big.json.gz"
    p.write_bytes(gzip.compress(content, compresslevel=1))
    tracemalloc.start()
    try:
        got = digest_files.hash_content(str(p))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert got.sha256 == hashlib.sha256(content).hexdigest()
    assert peak < 16 << 20, peak


def test_nothing_is_written_into_the_copy(tmp_path: Path, chain: Chain, signer: Signer) -> None:
    def snapshot() -> dict:
        return {p: (p.stat().st_mtime_ns, p.stat().st_size) for p in chain.root.rglob("*")}

    before = snapshot()
    os.chmod(chain.root, 0o555)
    try:
        verify(
            [chain.root],
            keys=keyring(tmp_path, signer),
            signatures=load_signatures([head_object_file(tmp_path, chain)]),
        )
    finally:
        os.chmod(chain.root, 0o755)
    assert snapshot() == before


def test_the_aws_documentation_digests_parse() -> None:
    """The example digest files of the AWS "digest file structure" page."""
    full = digest_files.parse_digest((DOCS / "digest-file-example.json").read_bytes())
    assert full.end == "2015-08-17T15:01:31Z" and full.fingerprint == (
        "31e8b5433410dfb61a9dc45cc65b22ff"
    )
    assert full.prev_key.endswith("_20150817T140131Z.json.gz") and len(full.log_files) == 1
    assert full.log_files[0].hash_value == (
        "9bb6196fc6b84d6f075a56548feca262bd99ba3c2de41b618e5b6e22c1fc71f6"
    )
    name = digest_files.parse_digest_name(full.key)
    assert (name.account, name.region, name.trail, name.home_region) == (
        "111122223333",
        "us-east-2",
        "your-trail-name",
        "us-east-2",
    )
    empty = digest_files.parse_digest((DOCS / "digest-file-empty-example.json").read_bytes())
    assert empty.log_files == () and empty.prev_signature.startswith("82705525")


def test_the_aws_documentation_keys_have_the_fingerprints_stated() -> None:
    """`digestPublicKeyFingerprint` is the MD5 of the key's DER: the three example keys of
    the AWS custom-validation page (two PKCS #1, one SubjectPublicKeyInfo) agree."""
    ring = load_public_keys([DOCS / "list-public-keys-example.json"])
    assert ring.notes == [] and len(ring) == 3
    for fp in (
        "8eba5db5bea9b640d1c96a77256fe7f2",
        "8933b39ddc64d26d8e14ffbf6566fee4",
        "31e8b5433410dfb61a9dc45cc65b22ff",
    ):
        assert ring.find(fp) is not None
