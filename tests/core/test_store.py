"""The store on real gzip trail files: order, dedupe, indexes, search, originals."""

from __future__ import annotations

import gzip
import json
import os
import random

import numpy as np
import orjson
import pytest

from tests.trailgen import REALDATA, event, seed_events, trail_path, write_records
from tui.core import kernels, loader
from tui.core.batch import CONFLICT, HOSTILE, parse_file
from tui.core.discovery import discover
from tui.core.fields import FIELD_NAMES
from tui.core.loader import load
from tui.core.normalize import NO_TIME, format_time
from tui.core.query import parse
from tui.core.store import Store


def rows_where(store: Store, text: str) -> list[dict]:
    return [store.event(int(r)) for r in store.ordered(parse(text).evaluate(store))]


def test_time_order_across_unordered_files_ties_by_event_id(tmp_path):
    t = "2026-11-20T10:00:00Z"
    a = [
        event("A", "2026-11-20T10:00:05Z"),
        event("B", t, event_id="bbbb"),
        event("C", t, event_id="aaaa"),
    ]
    b = [event("D", "2026-11-20T09:59:59Z"), event("E", "2026-11-20T10:00:01Z")]
    random.Random(3).shuffle(a)
    write_records(trail_path(tmp_path, when="20261120T1010Z"), a)
    write_records(trail_path(tmp_path, when="20261120T1005Z", suffix="x" * 16), b)
    store = load([tmp_path])
    names = [store.value(int(r), "event") for r in store.ordered()]
    assert names == ["D", "C", "B", "E", "A"]  # C before B: eventID aaaa < bbbb
    assert list(store.times[store.ordered()]) == sorted(store.times)


def test_duplicate_delivery_stored_once_and_counted(tmp_path):
    ev = event("PutObject", source="s3.amazonaws.com")
    other = event("GetObject", source="s3.amazonaws.com")
    write_records(trail_path(tmp_path, suffix="a" * 16), [ev, other])
    write_records(trail_path(tmp_path, suffix="b" * 16), [dict(ev)])
    store = load([tmp_path])
    assert len(store) == 2
    assert store.duplicates == 1
    assert store.conflicts == 0
    assert "repeats" in store.dup_samples[0]
    per_file = sorted((f.records, f.events, f.duplicates) for f in store.files)
    assert per_file == [(1, 0, 1), (2, 2, 0)]


def test_same_event_id_different_content_both_kept_and_flagged(tmp_path):
    ev = event("DeleteTrail", source="cloudtrail.amazonaws.com")
    tampered = dict(ev, sourceIPAddress="203.0.113.66")
    write_records(trail_path(tmp_path, suffix="a" * 16), [ev])
    write_records(trail_path(tmp_path, suffix="b" * 16), [tampered])
    store = load([tmp_path])
    assert len(store) == 2 and store.duplicates == 0 and store.conflicts == 1
    assert (store.flags & CONFLICT).all()
    assert len(rows_where(store, "has:conflict")) == 2


def test_records_without_event_id_are_never_merged(tmp_path):
    ev = event("X")
    del ev["eventID"]
    write_records(trail_path(tmp_path), [ev, dict(ev)])
    store = load([tmp_path])
    assert len(store) == 2 and store.duplicates == 0
    assert len(rows_where(store, "-has:eventid")) == 2


def test_duplicates_within_one_commit_and_across_commits_agree(tmp_path):
    evs = [event(f"E{i}", f"2026-11-20T10:{i % 60:02d}:00Z") for i in range(300)]
    for k in range(6):
        random.Random(k).shuffle(evs)
        write_records(trail_path(tmp_path, suffix=f"{k:016d}"), evs[: 200 + k * 20])
    bulk = load([tmp_path])
    inc = Store()
    for f in discover([tmp_path]).files:
        inc.add(parse_file(f.path, f.kind))
        inc.commit()
    assert len(bulk) == len(inc) == 300
    assert bulk.duplicates == inc.duplicates == sum(200 + k * 20 for k in range(6)) - 300
    canon = lambda s: [s.canonical(int(r)) for r in s.ordered()]  # noqa: E731
    assert canon(bulk) == canon(inc)


def test_parallel_load_equals_serial(tmp_path, monkeypatch):
    for k in range(8):
        write_records(
            trail_path(tmp_path, suffix=f"{k:016d}"),
            [event(f"E{k}-{i}", f"2026-11-2{k % 3}T1{i % 10}:00:00Z") for i in range(50)],
        )
    monkeypatch.setattr(loader, "PARALLEL_MIN_BYTES", 0)
    par = load([tmp_path], jobs=2)
    ser = load([tmp_path], jobs=1)
    assert len(par) == len(ser) == 400
    assert [par.canonical(int(r)) for r in par.ordered()] == [
        ser.canonical(int(r)) for r in ser.ordered()
    ]
    for f in FIELD_NAMES:
        assert par.counts(f) == ser.counts(f)


def test_identity_types_principal_and_credential_kind(tmp_path):
    ids = {
        "root": {
            "type": "Root",
            "principalId": "111122223333",
            "arn": "arn:aws:iam::111122223333:root",
            "accountId": "111122223333",
        },
        "iam-user": {
            "type": "IAMUser",
            "userName": "bob",
            "principalId": "AIDA1",
            "accountId": "111122223333",
        },
        "role-session": {
            "type": "AssumedRole",
            "arn": "arn:aws:sts::111122223333:assumed-role/Admin/s1",
            "accessKeyId": "ASIA1",
            "sessionContext": {
                "sessionIssuer": {
                    "type": "Role",
                    "arn": "arn:aws:iam::111122223333:role/Admin",
                    "userName": "Admin",
                }
            },
        },
        "federated": {
            "type": "FederatedUser",
            "principalId": "111122223333:fed",
            "arn": "arn:aws:sts::111122223333:federated-user/fed",
        },
        "aws-service": {"type": "AWSService", "invokedBy": "ec2.amazonaws.com"},
        "anonymous": {"type": "AWSAccount", "accountId": "ANONYMOUS_PRINCIPAL", "principalId": ""},
        "other": {"type": "SomeFutureType", "principalId": "p1"},
    }
    recs = [event(f"E-{k}", identity=v) for k, v in ids.items()]
    recs.append({"eventName": "NoIdentity", "eventTime": "2026-11-20T10:00:00Z", "eventID": "z"})
    write_records(trail_path(tmp_path), recs)
    store = load([tmp_path])
    got = {
        store.value(r, "event"): (store.value(r, "cred"), store.value(r, "principal"))
        for r in range(len(store))
    }
    assert got["E-root"] == ("root", "arn:aws:iam::111122223333:root")
    assert got["E-iam-user"] == ("iam-user", "bob")
    assert got["E-role-session"] == (
        "role-session",
        "arn:aws:sts::111122223333:assumed-role/Admin/s1",
    )
    assert got["E-federated"][0] == "federated"
    assert got["E-aws-service"] == ("aws-service", "ec2.amazonaws.com")
    assert got["E-anonymous"] == ("anonymous", "ANONYMOUS_PRINCIPAL")
    assert got["E-other"] == ("other", "p1")
    assert got["NoIdentity"] == ("other", "unknown")
    role_rows = rows_where(store, "role:arn:aws:iam::111122223333:role/Admin")
    assert [e["eventName"] for e in role_rows] == ["E-role-session"]
    assert [e["eventName"] for e in rows_where(store, "key:ASIA1")] == ["E-role-session"]


def test_seed_events_from_cloudtrail_docs(tmp_path):
    seeds = seed_events()
    assert len(seeds) == 2
    write_records(trail_path(tmp_path, region="us-west-2", when="20180614T2305Z"), seeds)
    store = load([tmp_path])
    assert len(store) == 2
    by_name = {store.value(r, "event"): r for r in range(len(store))}
    gd = by_name["CreateThreatIntelSet"]
    assert store.value(gd, "service") == "guardduty.amazonaws.com"
    assert store.value(gd, "ip") == "54.240.230.177"
    assert store.value(gd, "cred") == "role-session"
    assert store.value(gd, "account") == "444455556666"
    aa = by_name["CreateAnalyzer"]
    assert store.value(aa, "principal") == "arn:aws:iam::111122223333:user/Alice"
    assert format_time(store.time_ms(aa)) == "2018-06-14T22:57:36Z"
    # The original event is value-exact.
    assert {store.event(r)["eventID"] for r in range(2)} == {s["eventID"] for s in seeds}
    for r in range(2):
        assert store.event(r) in seeds


def test_indexed_filters_and_facet_counts(tmp_path):
    recs = []
    for i in range(200):
        recs.append(
            event(
                "GetObject" if i % 4 else "PutObject",
                f"2026-11-20T10:{i % 60:02d}:{i % 7:02d}Z",
                source="s3.amazonaws.com" if i % 2 else "ec2.amazonaws.com",
                ip=f"10.0.0.{i % 5}",
                error="AccessDenied" if i % 10 == 0 else None,
            )
        )
    write_records(trail_path(tmp_path), recs)
    store = load([tmp_path])
    assert dict(store.counts("service")) == {"s3.amazonaws.com": 100, "ec2.amazonaws.com": 100}
    m = parse("service:S3.AMAZONAWS.COM has:error").evaluate(store)
    expect = [e for e in recs if e["eventSource"].startswith("s3") and "errorCode" in e]
    assert int(m.sum()) == len(expect)
    counts = dict(store.counts("ip", parse("event:PutObject").evaluate(store)))
    brute: dict[str, int] = {}
    for e in recs:
        if e["eventName"] == "PutObject":
            brute[e["sourceIPAddress"]] = brute.get(e["sourceIPAddress"], 0) + 1
    assert counts == brute
    assert store.counts("error")[0] == ("", 180)
    assert int(parse("ip:10.0.0.* -ip:10.0.0.4").evaluate(store).sum()) == 160


def test_free_text_matches_brute_force_over_raw_events(tmp_path):
    rng = random.Random(5)
    words = ["Alpha", "beta", 'quo"te', "back\\slash", "ÜNÏCODE", "Café", "[@click=app.quit]"]
    recs = []
    for i in range(300):
        ev = event(f"E{i}", f"2026-11-20T10:{i % 60:02d}:00Z")
        ev["requestParameters"] = {"note": " ".join(rng.sample(words, 2))}
        recs.append(ev)
    write_records(trail_path(tmp_path, suffix="a" * 16), recs[:150])
    write_records(trail_path(tmp_path, suffix="b" * 16), recs[150:])
    store = load([tmp_path])
    for w in ["alpha", "BETA", 'quo"te', "back\\slash", "café", "ünïcode", "[@click", "e1", "zzz"]:
        got = {store.event(int(r))["eventID"] for r in np.flatnonzero(store.mask_text(w))}
        want = {e["eventID"] for e in recs if any(w.lower() in s.lower() for s in strings(e))}
        assert got == want, w
    q = parse('"alpha beta" OR quo*te')
    assert int(q.evaluate(store).sum()) > 0


def strings(v):
    """Every string in a JSON value, keys included."""
    if isinstance(v, str):
        yield v
    elif isinstance(v, dict):
        for k, x in v.items():
            yield k
            yield from strings(x)
    elif isinstance(v, list):
        for x in v:
            yield from strings(x)


def test_hostile_events_are_flagged(tmp_path):
    recs = [event("Clean"), event("Bad", userAgent="x\x1b[31mred\u202e")]
    write_records(trail_path(tmp_path), recs)
    store = load([tmp_path])
    flagged = [store.value(r, "event") for r in range(len(store)) if store.flags[r] & HOSTILE]
    assert flagged == ["Bad"]
    assert [e["eventName"] for e in rows_where(store, "has:controls")] == ["Bad"]


def test_missing_time_sorts_first_and_is_excluded_by_bounds(tmp_path):
    recs = [event("Timed"), event("NoTime", time="not a time")]
    write_records(trail_path(tmp_path), recs)
    store = load([tmp_path])
    first = int(store.ordered()[0])
    assert store.value(first, "event") == "NoTime" and store.time_ms(first) == NO_TIME
    assert [e["eventName"] for e in rows_where(store, "since:2000-01-01")] == ["Timed"]


def test_loading_never_writes_into_the_trail(tmp_path):
    write_records(trail_path(tmp_path), [event()])
    (tmp_path / "AWSLogs" / "bad.json.gz").write_bytes(b"\x1f\x8b garbage")

    def snapshot():
        out = {}
        for dp, dn, fn in os.walk(tmp_path):
            for n in dn + fn:
                st = os.stat(os.path.join(dp, n))
                out[os.path.join(dp, n)] = (st.st_mtime_ns, st.st_size)
            out[dp] = os.stat(dp).st_mtime_ns
        return out

    before = snapshot()
    store = load([tmp_path])
    assert len(store) == 1
    assert snapshot() == before


def _direct_count(path) -> int:
    """Count events in one file independently of the engine (stdlib only)."""
    raw = open(path, "rb").read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    text = raw.decode("utf-8-sig")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError:
        return sum(1 for line in text.splitlines() if line.strip())
    if isinstance(doc, dict) and isinstance(doc.get("Records"), list):
        return sum(isinstance(r, dict) for r in doc["Records"])
    return 0


@pytest.mark.realdata
def test_all_public_samples_load_with_exact_counts():
    sources = sorted(p for p in REALDATA.iterdir() if p.is_dir())
    assert len(sources) >= 10
    total_direct = 0
    total_loaded = 0
    dups = 0
    for src in sources:
        manifest = json.loads((src / "manifest.json").read_text())
        store = load([src])
        direct = sum(
            _direct_count(f.path)
            for f in discover([src]).files
            if not f.path.endswith("manifest.json")
        )
        assert len(store) + store.duplicates == direct, src.name
        if src.name != "plaso-testdata":
            assert len(store) == manifest["event_count"], src.name
        else:  # the same 6 events twice: as a trail and as lookup-events JSON lines
            assert len(store) == manifest["event_count"] and store.duplicates == 6
        # every loaded event's original is value-exact with a direct read
        for r in range(0, len(store), max(1, len(store) // 50)):
            ev = store.event(r)
            assert isinstance(ev, dict)
        bad = [
            fi
            for fi in store.files
            if fi.state != "loaded" and not fi.path.endswith("manifest.json")
        ]
        assert not bad, [(b.path, b.state, b.reason) for b in bad]
        total_direct += direct
        total_loaded += len(store)
        dups += store.duplicates
    assert total_loaded + dups == total_direct


@pytest.mark.realdata
def test_canonical_json_round_trips_every_realdata_event():
    src = REALDATA / "cribl-aws-cloudtrail-pack"
    store = load([src])
    originals = []
    for f in discover([src]).files:
        if f.path.endswith(".json.gz"):
            originals += json.loads(gzip.decompress(open(f.path, "rb").read()))["Records"]
    got = sorted(
        orjson.dumps(store.event(r), option=orjson.OPT_SORT_KEYS) for r in range(len(store))
    )
    want = sorted(orjson.dumps(e, option=orjson.OPT_SORT_KEYS) for e in originals)
    assert got == want


def test_lenient_values_stay_exact_through_store_and_export(tmp_path):
    raw = b'{"Records":[{"eventName":"x\\ud800y","eventTime":"2026-11-20T10:00:00Z","n":NaN,"eventID":"a"}]}'
    p = trail_path(tmp_path)
    p.parent.mkdir(parents=True)
    p.write_bytes(gzip.compress(raw))
    store = load([tmp_path])
    assert len(store) == 1 and store.files[0].lenient
    ev = store.event(0)
    assert ev["eventName"] == "x\ud800y" and ev["n"] != ev["n"]  # surrogate kept, NaN kept
    assert (
        store.canonical(0)
        == b'{"eventName":"x\\ud800y","eventTime":"2026-11-20T10:00:00Z","n":NaN,"eventID":"a"}'
    )
    assert [e["eventID"] for e in rows_where(store, "has:lenient")] == ["a"]


def test_ties_on_the_sort_key_resolve_by_full_event_id_in_bulk_and_incremental(tmp_path):
    rng = random.Random(9)
    ids = [f"abc{rng.randrange(16**6):06x}-{i}" for i in range(120)]  # shared 3-char prefix
    files = []
    for k in range(24):  # small files: later commits take the incremental merge path
        recs = [event(f"E{i}", "2026-11-20T10:00:00Z", event_id=ids[i]) for i in range(k, 120, 24)]
        rng.shuffle(recs)
        files.append(write_records(trail_path(tmp_path, suffix=f"{k:016d}"), recs))
    expect = sorted(ids)
    bulk = load([tmp_path])
    assert [bulk.event(int(r))["eventID"] for r in bulk.ordered()] == expect
    inc = Store()
    for f in discover([tmp_path]).files:
        inc.add(parse_file(f.path, f.kind))
        inc.commit()
    assert [inc.event(int(r))["eventID"] for r in inc.ordered()] == expect
    assert list(inc.in_time_order(np.arange(len(inc))[::-1])) == list(inc.ordered())


def test_originals_are_read_back_from_disk_and_changes_are_detected(tmp_path):
    from tui.core.store import OriginalUnavailable

    p = write_records(trail_path(tmp_path), [event("A"), event("B", "2026-11-20T10:00:01Z")])
    store = load([tmp_path])
    assert store.files[0].orig == b""  # not kept in memory: the file is the original
    assert store.event(1)["eventName"] == "B"
    store.originals.forget()
    write_records(p, [event("X")])  # rewritten in place after loading
    os.utime(p, ns=(1, 1))
    with pytest.raises(OriginalUnavailable, match="changed on disk"):
        store.event(0)
    assert store.value(0, "event") == "A"  # the index still knows what was loaded
    os.remove(p)
    with pytest.raises(OriginalUnavailable, match="vanished"):
        store.event(0)


def test_chunked_commits_give_the_same_store(tmp_path, kernel_path):
    """load() commits every COMMIT_EVERY events (bounding peak memory); any chunking
    must give the same order, dedupe and conflict flags as one commit."""
    rng = random.Random(9)
    shared = [event("Shared", f"2026-11-20T10:00:{i:02d}Z") for i in range(10)]
    for f in range(8):
        recs = [
            event(
                rng.choice(["A", "B", "C"]),
                f"2026-11-20T10:00:{rng.randrange(60):02d}Z",
                event_id=f"{rng.randrange(4):x}" * 8 + f"-{f}-{i}",
            )
            for i in range(40)
        ]
        recs += [dict(e) for e in shared[f % 3 :]]  # re-deliveries across files
        if f == 5:
            recs.append(dict(shared[0], sourceIPAddress="203.0.113.66"))  # same id, changed
        write_records(trail_path(tmp_path, suffix=f"{f:016d}"), recs)
    one = load([tmp_path], commit_every=None)
    for chunk in (1, 7, 45):
        many = load([tmp_path], commit_every=chunk)
        assert len(many) == len(one) and many.duplicates == one.duplicates
        assert many.conflicts == one.conflicts
        assert [many.event(int(r)) for r in many.ordered()] == [
            one.event(int(r)) for r in one.ordered()
        ]
        assert np.array_equal(many.flags[many.ordered()], one.flags[one.ordered()])


@pytest.mark.parametrize("name", ["big.json.gz", "big.jsonl"])
def test_integers_beyond_64_bits_stay_exact(tmp_path, name):
    """Value-exact originals: the Records fast path keeps the file's bytes, the general
    path (JSON Lines here) re-serialises exactly, and both parse back to the same int."""
    big = 2**70 + 1
    rec = event("PutObject", "2026-11-20T10:00:00Z", event_id="big-1")
    rec["requestParameters"] = {"n": big, "neg": -(10**30), "s": "12345678901234567890123"}
    root = tmp_path / "trail"
    if name.endswith(".gz"):  # orjson cannot write these ints: the stdlib can
        path = trail_path(root)
        path.parent.mkdir(parents=True)
        path.write_bytes(gzip.compress(json.dumps({"Records": [rec]}).encode()))
    else:
        root.mkdir()
        (root / name).write_text(json.dumps(rec) + "\n")
    store = load([root])
    assert len(store) == 1
    got = store.event(0)["requestParameters"]
    assert got == {"n": big, "neg": -(10**30), "s": "12345678901234567890123"}
    assert type(got["n"]) is int
    assert str(big).encode() in store.canonical(0)


def test_canonical_of_a_pretty_printed_event_with_a_big_integer(tmp_path):
    """A multi-line original is re-serialised for one-line output: big integers stay
    exact there too (orjson cannot write them)."""
    rec = event("PutObject", "2026-11-20T10:00:00Z", event_id="big-2")
    rec["requestParameters"] = {"n": 2**70 + 3}
    root = tmp_path / "trail"
    path = trail_path(root)
    path.parent.mkdir(parents=True)
    path.write_bytes(gzip.compress(json.dumps({"Records": [rec]}, indent=2).encode()))
    store = load([root])
    assert len(store) == 1 and b"\n" in store.original(0)
    line = store.canonical(0)
    assert b"\n" not in line and json.loads(line)["requestParameters"]["n"] == 2**70 + 3


def test_one_commit_of_batches_from_two_encoders_and_plain_ones(tmp_path, monkeypatch):
    """A commit maps codes per encoder in one take per field: batches of two parser
    processes (interleaved, as the loader yields them) and plain batches (live tail)
    in the same commit must give the values, dedupe and order of plain batches alone."""
    from tui.core import batch as batch_mod

    rng = random.Random(4)
    again = [event("Again", "2026-11-20T11:00:00Z", event_id=f"dup-{i}") for i in range(3)]
    paths = []
    for f in range(9):
        recs = [
            event(
                rng.choice(["GetObject", "PutObject", f"Only{f}"]),
                f"2026-11-20T10:{rng.randrange(60):02d}:00Z",
                event_id=f"id-{f}-{i}",
                sourceIPAddress=f"198.51.100.{rng.randrange(9 + f)}",
            )
            for i in range(30)
        ]
        recs += [dict(e) for e in again[: f % 4]]  # re-deliveries across files
        paths.append(str(write_records(trail_path(tmp_path, suffix=f"{f:016d}"), recs)))
    encoders = [batch_mod.Encoder(), batch_mod.Encoder()]
    mixed = Store()
    for f, p in enumerate(paths):
        # files 0,1,3,4,6,7 alternate between the two encoders; 2, 5, 8 are plain
        monkeypatch.setattr(batch_mod, "_encoder", None if f % 3 == 2 else encoders[f % 3 % 2])
        mixed.add(parse_file(p))
    monkeypatch.setattr(batch_mod, "_encoder", None)
    mixed.commit()
    plain = Store()
    for p in paths:
        plain.add(parse_file(p))
    plain.commit()
    assert len(mixed) == len(plain) and mixed.duplicates == plain.duplicates == 9
    rows = lambda s: [  # noqa: E731
        tuple(s.value(int(r), fld) for fld in FIELD_NAMES) for r in s.ordered()
    ]
    assert rows(mixed) == rows(plain)
    for fld in FIELD_NAMES:
        assert mixed.counts(fld) == plain.counts(fld)
    # the id index found the re-deliveries: a later commit of them adds nothing
    mixed.add(parse_file(paths[3]))
    assert len(mixed.commit().rows) == 0


def test_small_commits_on_a_big_store_match_one_commit_and_keep_handed_out_arrays(
    tmp_path, kernel_path
):
    """Tailing: small commits after a bulk one insert into the time order, the
    time-ordered columns and the id index in place. They must give the store one
    commit gives, and arrays handed out before a commit (a view keeps them) must not
    change under their holder."""
    from tui.core.view import compute_view

    rng = random.Random(5)
    stamp = lambda s: f"2026-11-20T{10 + s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}Z"  # noqa: E731
    big = [
        event(
            rng.choice("ABC"),
            stamp(rng.randrange(3600)),
            ip=f"10.0.0.{rng.randrange(9)}",
            error=rng.choice([None, None, "AccessDenied"]),
        )
        for _ in range(2000)
    ]
    write_records(trail_path(tmp_path, suffix="0" * 16), big)
    sent: list[dict] = []
    for f in range(1, 61):  # arrivals among the newest ten minutes, some re-delivered
        recs = [
            event(
                rng.choice("ABD"),
                stamp(3000 + rng.randrange(1200)),
                ip=f"10.0.1.{rng.randrange(50)}",
            )
            for _ in range(20)
        ]
        recs += [dict(rng.choice(big)), *(dict(rng.choice(sent)) for _ in range(2) if sent)]
        if f == 30:
            recs.append(dict(big[7], sourceIPAddress="203.0.113.66"))  # same id, changed
        sent.extend(recs[:20])
        rng.shuffle(recs)
        write_records(
            trail_path(tmp_path, when=f"20261120T11{f // 6:02d}Z", suffix=f"{f:016d}"), recs
        )
    files = discover([tmp_path]).files
    one = load([tmp_path], commit_every=None)

    inc = Store()
    kept: list[tuple[np.ndarray, np.ndarray]] = []
    for i, f in enumerate(sorted(files, key=lambda f: f.path)):
        inc.add(parse_file(f.path, f.kind))
        inc.commit()
        # What the explorer does between commits: a filtered view (reads the
        # time-ordered columns) and, every other time, the unfiltered one (keeps them).
        compute_view(inc, parse("-ip:10.0.0.1"), ("event", "ip"))
        if i % 2:
            v = compute_view(inc, parse(""), ())
            kept += [(a, a.copy()) for a in (v.rows, v.times, v.errors)]
    for arr, copy in kept:
        assert np.array_equal(arr, copy)

    assert len(inc) == len(one) and inc.duplicates == one.duplicates > 0
    assert inc.conflicts == one.conflicts == 1
    order = inc.ordered()
    assert [inc.event(int(r)) for r in order] == [one.event(int(r)) for r in one.ordered()]
    assert np.array_equal(inc.flags[order], one.flags[one.ordered()])
    assert np.array_equal(inc.times_in_order(), inc.times[order])
    assert np.array_equal(inc.errors_in_order(), inc.codes("error")[order] != 0)
    for name in ("event", "ip"):
        in_order = inc.time_order.column(FIELD_NAMES.index(name))
        assert np.array_equal(in_order, inc.codes(name)[order])
    # A third delivery of anything already held is still recognised.
    again = write_records(tmp_path / "again.json.gz", [sent[0], big[1]])
    inc.add(parse_file(str(again)))
    assert len(inc.commit().rows) == 0 and inc.duplicates == one.duplicates + 2


def test_added_files_wait_for_the_commit(tmp_path):
    """`pending` lists the files add() took whose events are not stored yet, oldest
    first; path columns and text searches cover only the files before the first of
    them (committed_files)."""
    a = write_records(trail_path(tmp_path, suffix="a" * 16), [event("A"), event("B")])
    b = write_records(trail_path(tmp_path, suffix="b" * 16), [event("C")])
    store = Store()
    batches = [parse_file(str(a)), parse_file(str(b))]
    for batch in batches:
        store.add(batch)
    assert store.pending == tuple(batches) and store.pending_events == 3
    assert len(store) == 0 and store.committed_files() == 0
    assert len(store.commit().rows) == 3
    assert store.pending == () and store.pending_events == 0 and store.committed_files() == 2
    later = write_records(tmp_path / "later.json.gz", [event("D")])
    store.add(parse_file(str(later)))
    assert [p.path for p in store.pending] == [str(later)] and store.committed_files() == 2


def test_file_counts_kept_as_files_come_and_go(tmp_path):
    """The status line's file counts are kept incrementally: they must equal a pass
    over the files, for every kind of file and after deletions."""
    good = write_records(trail_path(tmp_path, suffix="a" * 16), [event("A")])
    write_records(trail_path(tmp_path, suffix="b" * 16), [event("B")])
    bad_rec = trail_path(tmp_path, suffix="c" * 16)
    bad_rec.write_bytes(
        gzip.compress(b'{"Records":[' + orjson.dumps(event("C")) + b',"not an event"]}')
    )
    corrupt = trail_path(tmp_path, suffix="d" * 16)
    corrupt.write_bytes(b"\x1f\x8bnot really gzip")
    truncated = trail_path(tmp_path, suffix="e" * 16)
    truncated.write_bytes(gzip.compress(orjson.dumps({"Records": [event("E")]}))[:-9])
    store = load([tmp_path, tmp_path / "no-such-folder"])

    def brute() -> tuple[int, int, int]:
        return (
            sum(f.state == "loaded" for f in store.files),
            len(store.skipped()),
            sum(f.gone for f in store.files),
        )

    loaded, skipped, gone = store.file_counts()
    assert (loaded, skipped, gone) == brute()
    assert loaded == 3 and gone == 0
    assert skipped == 4  # a bad record, a corrupt file, a truncated one, a missing path
    assert store.mark_gone(str(good)) and not store.mark_gone(str(good))
    assert not store.mark_gone(str(tmp_path / "never-loaded.json.gz"))
    assert store.file_counts() == brute() == (3, 4, 1)


@pytest.mark.parametrize("dtype", [np.uint64, np.int64, np.int32, np.bool_, "S16"])
def test_sorted_insert_matches_np_insert(kernel_path, dtype):
    """SortedArray.insert (the time order, sort keys, id index and time-ordered columns)
    gives np.insert's array: in place when there is room, into a new buffer when the
    array was handed out or is full; values at one position keep their order."""
    from tui.core.store.arrays import SortedArray

    rng = np.random.default_rng(7)
    for trial in range(200):
        n, k = int(rng.integers(0, 40)), int(rng.integers(0, 15))
        base = rng.integers(0, 60, n)
        vals = rng.integers(0, 60, k)
        pos = np.sort(rng.integers(0, n + 1, k))
        base, vals = base.astype(dtype), vals.astype(dtype)
        want = np.insert(base, pos, vals)
        buf = np.concatenate([base, np.zeros(int(rng.integers(0, 20)), base.dtype)])
        arr = SortedArray(buf)
        arr.n = n
        lent = arr.lend() if trial % 3 == 0 else None
        before = buf.copy()
        arr.insert(pos, vals)
        assert np.array_equal(arr.view, want), trial
        if lent is not None:  # a handed-out array never changes
            assert arr.buf is not buf and np.array_equal(buf, before)
        elif n + k <= len(buf):
            assert arr.buf is buf  # moved in place


def test_insert_kernel_refuses_bad_positions():
    """The kernel checks what it is given instead of writing out of bounds."""
    if not kernels.available():  # pragma: no cover - built by `make test`
        pytest.fail("the C kernels are not built")
    from tui.core._kernels import insert_sorted as ins

    buf, one = np.zeros(8, np.int64), np.zeros(1, np.int64)
    for pos, n in [([3, 2], 5), ([-1], 5), ([6], 5), ([0], 8)]:
        p = np.array(pos, np.int64)
        with pytest.raises(ValueError):
            ins(buf, buf, n, p, np.zeros(len(p), np.int64))
    with pytest.raises(ValueError):  # values of another item size
        ins(buf, buf, 4, np.array([1], np.int64), np.zeros(1, np.int32))
    ins(buf, buf, 4, np.array([4], np.int64), one + 9)
    assert buf[:5].tolist() == [0, 0, 0, 0, 9]


def test_hash_order_is_a_stable_argsort():
    """The dedupe's hash order: equal hashes (re-deliveries) stay in arrival order."""
    from tui.core.store.dedupe import hash_order

    rng = np.random.default_rng(8)
    for trial in range(300):
        n = int(rng.integers(0, 400))
        hi = 2**63 if trial % 2 else int(rng.integers(1, 60))  # few or many ties
        h = rng.integers(0, hi, n).astype(np.uint64)
        assert np.array_equal(hash_order(h), np.argsort(h, kind="stable")), trial


@pytest.mark.parametrize("env", [None, "1"])
def test_store_turns_off_numpys_huge_page_advice_unless_told(env):
    """Importing the store stops numpy's MADV_HUGEPAGE on big arrays (compaction
    stalls on first touch); an explicit NUMPY_MADVISE_HUGEPAGE is left to numpy."""
    import subprocess
    import sys

    code = "import numpy as np, tui.core.store; print(np._core.multiarray._get_madvise_hugepage())"
    environ = {k: v for k, v in os.environ.items() if k != "NUMPY_MADVISE_HUGEPAGE"}
    if env is not None:
        environ["NUMPY_MADVISE_HUGEPAGE"] = env
    out = subprocess.run(
        [sys.executable, "-c", code], env=environ, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == ("True" if env == "1" else "False")


def test_a_reserved_bulk_load_grows_its_order_and_id_index_once(tmp_path):
    """load() reserves room for the whole trail at its first commit: the time order,
    its keys and the id index then take that room at their next new buffer and
    insert in place after, instead of reallocating (and faulting in fresh pages)
    at every commit. The result equals an unreserved store's."""
    rng = random.Random(11)
    paths = []
    for f in range(12):
        recs = [
            event(
                rng.choice("ABC"),
                f"2026-11-20T10:{rng.randrange(60):02d}:00Z",
                event_id=f"id-{f}-{i}",
            )
            for i in range(50)
        ]
        paths.append(str(write_records(trail_path(tmp_path, suffix=f"{f:016d}"), recs)))
    plain, reserved = Store(), Store()
    reserved.reserve(12 * 50)
    bufs, plain_bufs = [], []
    for p in paths:
        for s in (plain, reserved):
            s.add(parse_file(p))
            s.commit()
        ids = reserved.deduper.ids
        bufs.append(
            (
                reserved.time_order.order.buf,
                reserved.time_order.keys.buf,
                ids.big_h.buf,
                ids.big_r.buf,
            )
        )
        plain_bufs.append(plain.time_order.order.buf)
    # From the second commit on (the first sorts into a new array), no new buffers.
    for later in bufs[2:]:
        assert all(a is b for a, b in zip(later, bufs[1], strict=True))
    assert len(bufs[1][0]) >= 12 * 50
    # Without the reservation the order array is reallocated as it grows.
    assert sum(a is not b for a, b in zip(plain_bufs[2:], plain_bufs[1:], strict=False)) >= 3
    assert reserved.ordered().tolist() == plain.ordered().tolist()
    assert [reserved.event(int(r)) for r in reserved.ordered()] == [
        plain.event(int(r)) for r in plain.ordered()
    ]


def test_code_columns_widen_when_a_dictionary_outgrows_them(tmp_path, kernel_path):
    """A field's codes start as uint8 and widen (uint16, then int32) at the commit whose
    values outgrow them. Values, filters and facet counts stay exact, including over the
    time-ordered column built before a widening (later commits insert into it)."""
    from collections import Counter

    from tui.core.fields import FIELD_INDEX
    from tui.core.view import compute_view

    store = Store()
    written: list[dict] = []
    ip_at = FIELD_INDEX["ip"]

    def commit(name: str, first: int, count: int, minute: int) -> None:
        recs = [
            event(
                "E",
                f"2026-11-20T10:{minute:02d}:{i % 60:02d}Z",
                ip=f"10.{i >> 16}.{(i >> 8) & 255}.{i & 255}",
                region="eu-west-1" if i % 3 == 0 else "us-east-1",
            )
            for i in range(first, first + count)
        ]
        path = write_records(trail_path(tmp_path, when="20261120T1005Z", suffix=name * 16), recs)
        store.add(parse_file(str(path)))
        store.commit()
        written.extend(recs)

    def check(dtype) -> None:
        assert store.codes("ip").dtype == dtype
        ordered = store.time_order.column(ip_at, lend=False)
        assert ordered.dtype == dtype
        assert np.array_equal(ordered, store.codes("ip")[store.ordered()])
        assert Counter(store.value(r, "ip") for r in range(len(store))) == Counter(
            e["sourceIPAddress"] for e in written
        )
        view = compute_view(store, parse("region:eu-west-1"), ("ip",))
        want = Counter(e["sourceIPAddress"] for e in written if e["awsRegion"] == "eu-west-1")
        pairs, distinct = view.facet(store, "ip", None)
        assert dict(pairs) == want and distinct == len(want)
        last = written[-1]["sourceIPAddress"]
        assert len(parse(f"ip:{last}").evaluate(store).nonzero()[0]) == 1

    # Later commits hold earlier times too: their codes are inserted inside the order.
    commit("a", 0, 100, 30)
    check(np.uint8)
    commit("b", 100, 200, 10)  # 300 addresses
    check(np.uint16)
    commit("c", 300, 65_300, 20)  # 65,600 addresses
    check(np.int32)


def test_load_pauses_the_cyclic_gc_and_restores_it(tmp_path):
    """load() turns the cyclic GC off while it loads (see loader.load) and leaves it as
    it found it: on, off, or on after a load that failed half-way."""
    import gc

    for f in range(3):
        write_records(trail_path(tmp_path, suffix=f"{f:016d}"), [event("A")])
    during: list[bool] = []

    def watch(_progress) -> None:
        during.append(gc.isenabled())

    assert gc.isenabled()
    assert len(load([tmp_path], on_progress=watch)) == 3
    assert during == [False] * 3 and gc.isenabled()
    gc.disable()
    try:
        load([tmp_path])
        assert not gc.isenabled()
    finally:
        gc.enable()

    def fail(_progress) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        load([tmp_path], on_progress=fail)
    assert gc.isenabled()
