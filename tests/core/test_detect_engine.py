"""The detection engine: rules read from candidate events agree with the filter language
run over the whole store; runs over arrivals (commit by commit, files out of order)
agree with one run over everything; the aggregates agree with a brute-force count;
`rule:` and `has:detection` select what the rules flagged."""

from __future__ import annotations

import random

import numpy as np
import pytest

from tests.trailgen import REALDATA, event, trail_path, write_records
from tui.core.batch import parse_file
from tui.core.detect import Detections, load_pack
from tui.core.detect import aggregate as agg
from tui.core.detect.rules import RuleError, rule_from_dict
from tui.core.discovery import discover
from tui.core.loader import load
from tui.core.normalize import NO_TIME
from tui.core.query import parse
from tui.core.store import Store
from tui.core.view import compute_view

PACK = load_pack()


def rule(filter_text: str, rid: str = "t", **extra) -> object:
    d = {
        "id": rid,
        "title": "t",
        "severity": "low",
        "filter": filter_text,
        "description": "d",
        "tactics": ["discovery"],
        "techniques": ["T1580"],
        **extra,
    }
    return rule_from_dict(d)


# Filters that exercise every kind of term the engine reads from candidate events:
# paths (arrays, objects, numbers, booleans, missing), free text, globs, regexes,
# networks, NOT and OR mixing indexed and read terms.
FILTERS = [
    "event:ConsoleLogin additionalEventData.MFAUsed:No",
    "event:ConsoleLogin -additionalEventData.MFAUsed:Yes",
    "service:s3* has:requestParameters.bucketName",
    'service:s3* requestParameters.bucketName:""',
    "resources.ARN:arn:aws:s3:::* service:s3.amazonaws.com",
    '(event:Describe* OR event:List*) "AccessDenied"',
    "event:AssumeRole requestParameters.durationSeconds:3600",
    "event:AssumeRole (requestParameters.roleSessionName:*stratus* OR -has:.requestParameters)",
    "readonly:false requestParameters.userName:/^stratus-/",
    'service:ec2* -(requestParameters.instanceId:i-* OR "dryrun")',
    "ip:10.0.0.0/8 OR ip:192.168.0.0/16 OR (event:Get* tlsDetails.tlsVersion:TLSv1.2)",
    "type:IAMUser userIdentity.sessionContext.attributes.mfaAuthenticated:*",
    "eventtype:AwsConsoleSignIn responseElements.ConsoleLogin:Success",
    '"arn:aws:iam::" error:*',
]


@pytest.fixture(scope="module")
def realstore():
    return load([REALDATA])


@pytest.mark.realdata
@pytest.mark.parametrize("text", FILTERS)
def test_rules_read_from_candidates_agree_with_the_whole_store(realstore, text):
    store = realstore
    det = Detections(store, [rule(text)])
    want = np.flatnonzero(parse(text).evaluate(store))
    assert np.array_equal(det.hits("t"), want)


def test_a_rule_without_indexed_terms_is_evaluated_on_the_whole_store(tmp_path, monkeypatch):
    from tui.core.detect import engine

    monkeypatch.setattr(engine, "WHOLE_STORE_MIN", 1)
    recs = [event("A", requestParameters={"x": "yes"}), event("B", requestParameters={"x": "no"})]
    write_records(trail_path(tmp_path), recs)
    store = load([tmp_path])
    det = Detections(store, [rule("requestParameters.x:yes")])
    assert [store.value(int(r), "event") for r in det.hits("t")] == ["A"]


def _arrive_one_by_one(paths, rules, order_seed: int | None):
    """A store filled a file per commit (in shuffled order with a seed), the rules
    synced after each commit."""
    files = sorted(discover(paths).files, key=lambda f: f.path)
    if order_seed is not None:
        random.Random(order_seed).shuffle(files)
    store = Store()
    det = Detections(store, rules)
    new = []
    for f in files:
        store.add(parse_file(f.path, f.kind))
        store.commit()
        new.extend(h.rows for h in det.take_new())
    return store, det, new


@pytest.mark.realdata
@pytest.mark.parametrize("seed", [None, 7])
def test_arrivals_one_commit_at_a_time_agree_with_one_run(seed):
    paths = [REALDATA / "stratus-red-team", REALDATA / "grycap-cloudtrail-tracker"]
    whole = load(paths)
    full = Detections(whole, PACK)
    store, det, new = _arrive_one_by_one(paths, PACK, seed)

    def keyed(s, rows):
        return sorted(
            (s.time_ms(int(r)), s.value(int(r), "event"), bytes(s.id_prefixes[int(r)]))
            for r in rows
        )

    for r in PACK:
        assert keyed(store, det.hits(r.id)) == keyed(whole, full.hits(r.id)), r.id
    # each hit is announced once
    flat = np.concatenate(new) if new else np.empty(0)
    assert len(flat) >= len(det.rows_of_rule())


def _brute_threshold(t, g, count, w):
    out = set()
    for i in range(len(t)):
        if t[i] == NO_TIME:
            continue
        win = [
            j
            for j in range(len(t))
            if g[j] == g[i] and t[j] != NO_TIME and t[i] - w <= t[j] <= t[i]
        ]
        if len(win) >= count:
            out.update(win)
    return out


def _brute_first_seen(t, g, v, after):
    out = set()
    idx = sorted((k for k in range(len(t)) if t[k] != NO_TIME), key=lambda k: (t[k], k))
    seen, start = set(), {}
    for k in idx:
        start.setdefault(g[k], t[k])
        if (g[k], v[k]) not in seen:
            seen.add((g[k], v[k]))
            if t[k] - start[g[k]] >= after:
                out.add(k)
    return out


def _brute_distinct(t, g, v, count, w):
    out = set()
    for phase in (0, w // 2):
        buckets: dict = {}
        for k in sorted(range(len(t)), key=lambda k: (t[k], k)):
            if t[k] == NO_TIME:
                continue
            firsts = buckets.setdefault((g[k], (t[k] + phase) // w), {})
            firsts.setdefault(v[k], k)
        for firsts in buckets.values():
            if len(firsts) >= count:
                out.update(firsts.values())
    return out


@pytest.mark.parametrize("seed", range(6))
def test_aggregates_agree_with_brute_force(seed):
    rng = np.random.default_rng(seed)
    n = 300
    t = np.sort(rng.integers(0, 3_600_000, n)).astype(np.int64)
    t[rng.random(n) < 0.03] = NO_TIME
    g = rng.integers(0, 4, n).astype(np.int32)
    v = rng.integers(0, 12, n).astype(np.int32)
    rows = np.arange(n, dtype=np.int64)
    timed = np.argsort(np.where(t == NO_TIME, -1, t), kind="stable")  # time order
    r, tt, gg, vv = rows[timed], t[timed], g[timed], v[timed]
    got = set(agg.threshold(r, tt, gg, 6, 300_000).tolist())
    assert got == _brute_threshold(t, g, 6, 300_000)
    got = set(agg.first_seen(r, tt, gg, vv, 600_000).tolist())
    assert got == _brute_first_seen(t, g, v, 600_000)
    got = set(agg.distinct(r, tt, gg, vv, 5, 240_000).tolist())
    assert got == _brute_distinct(t, g, v, 5, 240_000)


def test_rule_and_has_detection_select_the_hits(tmp_path):
    recs = [
        event("StopLogging", source="cloudtrail.amazonaws.com", readOnly=False),
        event("CreateUser", source="iam.amazonaws.com", readOnly=False),
        event("ListUsers", source="iam.amazonaws.com"),
    ]
    write_records(trail_path(tmp_path), recs)
    store = load([tmp_path])

    def names(text, target=store):
        if target is store:
            rows = np.flatnonzero(parse(text).evaluate(store))
            return sorted(store.value(int(r), "event") for r in rows)
        view = compute_view(store, parse(text))
        return sorted(store.value(int(r), "event") for r in view.rows)

    assert names("has:detection") == []  # no rules bound: nothing flagged
    assert names('rule:""') == ["CreateUser", "ListUsers", "StopLogging"]
    Detections(store, PACK)
    assert names("has:detection") == ["CreateUser", "StopLogging"]
    assert names("rule:cloudtrail-logging-stopped") == ["StopLogging"]
    assert names("rule:iam-*") == ["CreateUser"]
    assert names("rule:/^IAM-USER/") == ["CreateUser"]
    assert names('rule:""') == ["ListUsers"]
    assert names("-has:detection service:iam*") == ["ListUsers"]
    for text in ("has:detection", "rule:iam-*", 'rule:""'):  # the explorer's time order
        assert names(text, target=None) == names(text)
    assert parse("rule:x").uses_detections and parse("has:detection").uses_detections
    assert not parse("has:error").uses_detections


def test_new_rows_are_run_as_they_commit(tmp_path):
    write_records(
        trail_path(tmp_path, suffix="a" * 16), [event("ListUsers", source="iam.amazonaws.com")]
    )
    store = load([tmp_path])
    det = Detections(store, PACK)
    assert det.take_new() == []
    p = write_records(
        trail_path(tmp_path, suffix="b" * 16),
        [event("DeleteTrail", source="cloudtrail.amazonaws.com", readOnly=False)],
    )
    store.add(parse_file(str(p)))
    store.commit()
    new = det.take_new()
    assert [(h.rule.id, store.value(int(h.rows[0]), "event")) for h in new] == [
        ("cloudtrail-trail-deleted", "DeleteTrail")
    ]
    assert det.take_new() == []
    assert [r.id for r in det.rules_of(int(new[0].rows[0]))] == ["cloudtrail-trail-deleted"]


def test_counts_by_rule_and_severity(tmp_path):
    recs = [
        event("StopLogging", source="cloudtrail.amazonaws.com", readOnly=False),
        event("CreateUser", source="iam.amazonaws.com", readOnly=False),
        event("CreateUser", source="iam.amazonaws.com", readOnly=False, error="AccessDenied"),
    ]
    write_records(trail_path(tmp_path), recs)
    store = load([tmp_path])
    det = Detections(store, PACK)
    assert [(r.id, n) for r, n in det.counts()] == [
        ("cloudtrail-logging-stopped", 1),
        ("iam-user-created", 2),
    ]
    assert det.severity_counts() == [("high", 1), ("low", 2)]
    mask = parse("has:error").evaluate(store)
    assert [(r.id, n) for r, n in det.counts(mask)] == [("iam-user-created", 1)]
    row = int(det.hits("iam-user-created")[0])
    assert "CreateUser" in det.explain(row, det.by_id["iam-user-created"])


@pytest.mark.parametrize(
    "bad, why",
    [
        ("mark:suspicious", "marks"),
        ("has:detection", "detections"),
        ("rule:x", "other rules"),
        ("since:-1h event:X", "since:"),
        ("", "filter: required"),
    ],
)
def test_rules_refuse_filters_that_are_not_about_events(bad, why):
    with pytest.raises(RuleError, match=why):
        rule(bad)


def test_rule_file_mistakes_are_named():
    with pytest.raises(RuleError, match="severity"):
        rule("event:X", severity="urgent")
    with pytest.raises(RuleError, match="T9999"):
        rule("event:X", techniques=["T9999"])
    with pytest.raises(RuleError, match="aggregate.group"):
        rule(
            "event:X", aggregate={"kind": "threshold", "group": "nope", "count": 3, "window": "5m"}
        )
    with pytest.raises(RuleError, match="duration"):
        rule(
            "event:X", aggregate={"kind": "threshold", "group": "ip", "count": 3, "window": "soon"}
        )


def test_view_facet_and_list_markers(tmp_path):
    recs = [
        event("StopLogging", source="cloudtrail.amazonaws.com", readOnly=False),
        event("CreateUser", source="iam.amazonaws.com", readOnly=False),
        event("ListUsers", source="iam.amazonaws.com"),
    ]
    write_records(trail_path(tmp_path), recs)
    store = load([tmp_path])
    view = compute_view(store, parse("service:iam*"))
    assert view.detection_counts(store) == ([], [])
    det = Detections(store, PACK)
    by_rule, by_sev = view.detection_counts(store)
    assert [(r.id, n) for r, n in by_rule] == [("iam-user-created", 1)] and by_sev == [("low", 1)]
    marks = det.severity_of(view.rows)
    shown = [store.value(int(r), "event") for r in view.rows]
    assert sorted(zip(shown, marks, strict=True)) == [("CreateUser", "low"), ("ListUsers", "")]


def test_candidates_read_over_many_files_with_parts_joined_often_agree(tmp_path, monkeypatch):
    """Evidence.gather joins its per-file parts every _JOIN_EVERY files and drops each
    file's job once read: with a join every 2 files, over 40 files of random events, the
    path and free-text rules select what the same filters select over the whole store."""
    from tui.core.detect import engine

    rnd = random.Random(21)
    names = ["GetObject", "PutObject", "RunInstances", "DescribeInstances", "ConsoleLogin"]
    for f in range(40):
        recs = [
            event(
                rnd.choice(names),
                f"2026-11-20T10:{f:02d}:{k:02d}Z",
                source=rnd.choice(["s3.amazonaws.com", "ec2.amazonaws.com"]),
                ip=rnd.choice(["10.1.2.3", "192.168.4.5", "198.51.100.7"]),
                requestParameters={
                    "instanceId": rnd.choice(["i-0abc", "i-0def", "dryrun", ""]),
                    "bucketName": rnd.choice(["logs", "secret-data", "arn:aws:iam::x"]),
                },
            )
            for k in range(rnd.randint(1, 15))
        ]
        write_records(trail_path(tmp_path, suffix=f"{f:016d}"), recs)
    store = load([tmp_path])
    texts = FILTERS + ["requestParameters.bucketName:secret*", '"dryrun" service:ec2*']
    rules = [rule(t, f"r{i}") for i, t in enumerate(texts)]
    monkeypatch.setattr(engine, "_JOIN_EVERY", 2)
    det = Detections(store, rules)
    for i, t in enumerate(texts):
        want = np.flatnonzero(parse(t).evaluate(store))
        assert np.array_equal(det.hits(f"r{i}"), want), t
    assert any(len(det.hits(f"r{i}")) for i in range(len(texts)))


def _burst_and_spread() -> list:
    """A threshold and a distinct-values rule over GetObject, grouped by source IP."""
    return [
        rule(
            "event:GetObject",
            rid="burst",
            aggregate={"kind": "threshold", "group": "ip", "count": 3, "window": "5m"},
        ),
        rule(
            "event:GetObject",
            rid="spread",
            aggregate={
                "kind": "distinct",
                "group": "ip",
                "field": "region",
                "count": 2,
                "window": "5m",
            },
        ),
    ]


def _s3_burst(rnd: random.Random) -> list[dict]:
    """25 S3 calls within half an hour from three IPs in two regions (late ones too)."""
    ips, regions = ["198.51.100.1", "198.51.100.2", "203.0.113.9"], ["us-east-1", "eu-west-1"]
    return [
        event(
            rnd.choice(["GetObject", "GetObject", "ListBuckets"]),
            f"2026-11-20T10:{rnd.randrange(30):02d}:{rnd.randrange(60):02d}Z",
            source="s3.amazonaws.com",
            ip=rnd.choice(ips),
            region=rnd.choice(regions),
        )
        for _ in range(25)
    ]


def test_explanations_of_aggregate_hits_count_what_a_direct_count_finds(tmp_path):
    """`explain` reads the group codes kept beside each rule's matched rows; after
    arrivals in several commits (late events included) its counts equal a count over
    the whole store."""
    rnd = random.Random(3)
    thr, dist = _burst_and_spread()
    store = Store()
    det = Detections(store, [thr, dist])
    for k in range(6):
        recs = _s3_burst(rnd)
        store.add(parse_file(str(write_records(trail_path(tmp_path, suffix=f"{k:016x}"), recs))))
        store.commit()
        det.take_new()
    times, ipc, regc = store.times, store.codes("ip"), store.codes("region")
    gets = np.flatnonzero(parse("event:GetObject").evaluate(store))
    assert len(det.hits("burst")) and len(det.hits("spread"))
    for r in det.hits("burst"):
        r = int(r)
        near = gets[(ipc[gets] == ipc[r]) & (np.abs(times[gets] - times[r]) <= 300_000)]
        assert det.explain(r, thr).startswith(f"{len(near)} such events by ip ")
    for r in det.hits("spread"):
        r = int(r)
        near = gets[(ipc[gets] == ipc[r]) & (np.abs(times[gets] - times[r]) <= 300_000)]
        n = len(np.unique(regc[near]))
        assert det.explain(r, dist).startswith(f"{n} distinct region values by ip ")


def test_the_explorers_detections_keep_less_and_find_the_same(tmp_path):
    """The explorer's detections (keep_new=False) keep no new hits for take_new, their
    aggregates' matched rows as int32 and no files' line maps between runs; commit by
    commit (late events included) their hits and explanations equal the detect
    command's (keep_new)."""
    rnd = random.Random(5)
    rules = [
        *_burst_and_spread(),
        rule(
            "event:ListBuckets",
            rid="first",
            aggregate={"kind": "first-seen", "group": "ip", "field": "region", "after": "1m"},
        ),
        rule('event:ListBuckets "eu-west-1"', rid="plain"),
    ]
    kept, lean = Store(), Store()
    det_kept, det_lean = Detections(kept, rules), Detections(lean, rules, keep_new=False)
    for k in range(6):
        recs = _s3_burst(rnd)
        path = write_records(trail_path(tmp_path, suffix=f"{k:016x}"), recs)
        for store in (kept, lean):
            store.add(parse_file(str(path)))
            store.commit()
        det_kept.sync()
        det_lean.sync()
        assert det_lean.take_new() == [] and det_kept.take_new()
        for r in rules:
            hits = det_lean.hits(r.id)
            assert np.array_equal(hits, det_kept.hits(r.id)), r.id
            for row in hits.tolist():
                assert det_lean.explain(row, r) == det_kept.explain(row, r)
        assert {m.dtype for m in det_lean._matched.values()} == {np.dtype(np.int32)}
        assert not det_lean._files._lines
    assert all(len(det_lean.hits(r.id)) for r in rules)
