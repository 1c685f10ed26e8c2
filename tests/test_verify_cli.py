"""`trailscope verify`, run as a real process: tables, JSON, exit codes, hostile names."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.digestgen import Chain, Signer, rechain, write_chain
from tests.trailgen import event, trail_path, write_records

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_logs"


def run(*args: str | os.PathLike, rc: int | None = 0) -> subprocess.CompletedProcess:
    p = subprocess.run(
        [sys.executable, "-m", "tui", "verify", *map(str, args)], capture_output=True, timeout=120
    )
    if rc is not None:
        assert p.returncode == rc, (p.returncode, p.stdout[-3000:], p.stderr[-3000:])
    return p


@pytest.fixture(scope="module")
def signer() -> Signer:
    return Signer.new()


@pytest.fixture
def chain(tmp_path: Path, signer: Signer) -> Chain:
    return write_chain(tmp_path / "copy", signer, hours=3)


def test_sample_logs_verify() -> None:
    """The committed demo trail's two digests chain and match their files."""
    p = run(SAMPLE, "--json")
    d = json.loads(p.stdout)
    assert d["verdict"] == "consistent" and d["signatures_checked"] is False
    assert d["counts"]["digests"] == 2 and d["counts"]["files_verified"] == 6
    assert [x["chain"] for x in d["digests"]] == ["previous not in copy", "linked"]
    assert not [x for x in d["findings"] if x["severity"] == "fail"]
    text = run(SAMPLE).stdout.decode()
    assert "Result: CONSISTENT" in text and "not proof that AWS wrote" in text
    assert "Log files checked against the digests" in text
    assert "6 verified" in text


def test_text_output_of_a_tampered_copy(chain: Chain) -> None:
    victim = chain.logs[1][0]
    victim.write_bytes(gzip.compress(b'{"Records": []}'))
    chain.logs[2][1].unlink()
    out = run(chain.root, rc=3).stdout.decode()
    assert "Result: INCONSISTENT" in out
    assert f"modified  {victim}" in out and "expected SHA-256" in out
    assert f"missing   {chain.logs[2][1]}" in out
    assert out.count("  FAIL  ") == 2
    problems = run(chain.root, "--problems", rc=3).stdout.decode()
    assert "verified  " not in problems and "modified  " in problems


def test_signed_and_require_signed(tmp_path: Path, chain: Chain, signer: Signer) -> None:
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps(signer.list_public_keys()))
    heads = tmp_path / "heads"
    heads.mkdir()
    (heads / f"{chain.digests[-1].name}.head.json").write_text(json.dumps(chain.head_object()))
    run(chain.root, "--require-signed", rc=3)  # consistent, but nothing is signed
    out = run(
        chain.root, "--public-keys", keys, "--signatures", heads, "--require-signed"
    ).stdout.decode()
    assert "Result: SIGNED" in out and "signatures: 3 of 3 digest(s) verified" in out
    assert "verified (signed)" in out
    d = json.loads(run(chain.root, "--public-keys", keys, "--json").stdout)
    assert d["verdict"] == "consistent" and d["counts"]["digests_signed"] == 2


def test_exit_codes_for_nothing_and_for_bad_inputs(tmp_path: Path, chain: Chain) -> None:
    write_records(trail_path(tmp_path / "plain"), [event()])
    p = run(tmp_path / "plain", rc=1)
    assert b"NOTHING TO VERIFY" in p.stdout
    bad = tmp_path / "bad.pem"
    bad.write_text("hello")
    p = run(chain.root, "--public-keys", bad, rc=2)
    assert b"neither PEM nor" in p.stderr and not p.stdout
    run(chain.root, "--signatures", tmp_path / "absent.jsonl", rc=2)
    run(rc=2)  # no PATH


def test_hostile_names_stay_inert(tmp_path: Path, chain: Chain, signer: Signer) -> None:
    """File names are data: ESC, C1, bidi controls and undecodable bytes never reach the
    terminal raw, and the JSON decodes to the exact names."""
    old = chain.logs[0][0]
    hostile = old.with_name(old.name.replace(".json.gz", "\x1b[31m\x9b\u202eevil.json.gz"))
    old.rename(hostile)
    entry = chain.bodies[0]["logFiles"][0]
    entry["s3Object"] = entry["s3Object"].replace(".json.gz", "\x1b[31m\x9b\u202eevil.json.gz")
    chain.logs[0][0] = hostile
    rechain(chain, signer)
    raw_name = os.fsencode(str(chain.logs[1][0].parent)) + b"/1_CloudTrail_\xff\x1b_x.json.gz"
    with open(raw_name, "wb") as f:
        f.write(gzip.compress(b'{"Records": []}'))

    out = run(chain.root, "--all-files").stdout
    for byte in (b"\x1b", b"\xc2\x9b", "\u202e".encode(), b"\xff"):
        assert byte not in out
    assert b"\\x1b[31m\\x9b\\u202eevil" in out

    p = run(chain.root, "--json")
    for byte in (b"\x1b", b"\xc2\x9b", "\u202e".encode(), b"\xff", b"\x7f"):
        assert byte not in p.stdout
    assert b"\\u001b[31m\\u009b\\u202eevil" in p.stdout
    d = json.loads(p.stdout)
    assert str(hostile) in {f["path"] for f in d["files"]}
    assert os.fsdecode(raw_name) in {f["path"] for f in d["files"]}


def test_json_has_the_documented_keys(chain: Chain) -> None:
    d = json.loads(run(chain.root, "--json").stdout)
    assert set(d) == {
        "verdict",
        "meaning",
        "signatures_checked",
        "counts",
        "digests",
        "files",
        "findings",
        "key_notes",
    }
    assert set(d["digests"][0]) == {
        "path",
        "state",
        "reason",
        "start",
        "end",
        "org",
        "account",
        "region",
        "trail",
        "home_region",
        "backfill",
        "s3_bucket",
        "s3_object",
        "chain",
        "signature",
        "files_listed",
        "files_verified",
    }
    assert set(d["files"][0]) == {
        "path",
        "state",
        "reason",
        "digest",
        "s3_object",
        "expected_sha256",
        "sha256",
        "signed",
    }
    assert d["digests"][0]["end"] == chain.bodies[0]["digestEndTime"]
    assert d["files"][0]["expected_sha256"] == d["files"][0]["sha256"]


@pytest.mark.realdata
def test_the_real_samples_have_no_digests_and_nothing_breaks() -> None:
    """The public samples hold no digest file: every log file is 'not covered', exit 1."""
    from tests.trailgen import REALDATA

    d = json.loads(run(REALDATA, "--json", rc=1).stdout)
    assert d["verdict"] == "nothing to verify" and d["counts"]["digests"] == 0
    assert d["counts"]["files"] > 1000
    assert {f["state"] for f in d["files"]} == {"not covered"}
