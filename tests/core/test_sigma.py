"""The Sigma backend: each construct it supports, in a Sigma rule written here, converts
to a filter that selects exactly the real sample events a plain Python predicate picks
(written from the rule by hand); unsupported constructs are skipped with their reason."""

from __future__ import annotations

import ipaddress
import textwrap

import numpy as np
import pytest

from tests.trailgen import REALDATA
from tui.core.detect import Detections
from tui.core.detect.sigma import convert_text
from tui.core.loader import load

SAMPLES = [
    REALDATA / "stratus-red-team",
    REALDATA / "grycap-cloudtrail-tracker",
    REALDATA / "awsdocs-examples",
]


def sigma(detection: str, **extra: str) -> str:
    head = {
        "title": "t",
        "id": "5f0b1b1e-0000-4000-8000-000000000001",
        "status": "test",
        "level": "medium",
        **extra,
    }
    meta = "\n".join(f"{k}: {v}" for k, v in head.items())
    return (
        f"{meta}\nlogsource:\n    product: aws\n    service: cloudtrail\n"
        f"detection:\n{textwrap.indent(textwrap.dedent(detection).strip(), '    ')}\n"
    )


def convert(detection: str, **extra: str):
    (out,) = convert_text(sigma(detection, **extra), "t.yml")
    return out


def get(ev: dict, dotted: str):
    cur: object = ev
    for k in dotted.split("."):
        if not isinstance(cur, dict):
            return None
        cur = cur.get(k)
    return cur


def low(v) -> str:
    return str(v).lower() if v is not None else ""


# construct -> (Sigma detection, the events it selects, by hand)
CONSTRUCTS = {
    "plain value": (
        """
        selection:
            eventName: ConsoleLogin
        condition: selection
        """,
        lambda ev: low(ev.get("eventName")) == "consolelogin",
    ),
    "list of values (OR)": (
        """
        selection:
            eventName:
                - StopLogging
                - DeleteTrail
        condition: selection
        """,
        lambda ev: low(ev.get("eventName")) in ("stoplogging", "deletetrail"),
    ),
    "contains": (
        """
        selection:
            userAgent|contains: Boto3
        condition: selection
        """,
        lambda ev: "boto3" in low(ev.get("userAgent")),
    ),
    "startswith": (
        """
        selection:
            eventName|startswith: Describe
            eventSource: ec2.amazonaws.com
        condition: selection
        """,
        lambda ev: (
            low(ev.get("eventName")).startswith("describe")
            and low(ev.get("eventSource")) == "ec2.amazonaws.com"
        ),
    ),
    "endswith": (
        """
        selection:
            userIdentity.arn|endswith: ':root'
        condition: selection
        """,
        lambda ev: low(get(ev, "userIdentity.arn")).endswith(":root"),
    ),
    "wildcards * and ?": (
        """
        selection:
            eventName: 'Get*Data'
            sourceIPAddress: '2?0.*'
        condition: selection
        """,
        lambda ev: (
            low(ev.get("eventName")).startswith("get")
            and low(ev.get("eventName")).endswith("data")
            and len(low(ev.get("sourceIPAddress"))) > 4
            and low(ev.get("sourceIPAddress"))[0] == "2"
            and low(ev.get("sourceIPAddress"))[2:4] == "0."
        ),
    ),
    "contains|all": (
        """
        selection:
            userAgent|contains|all:
                - stratus
                - red
        condition: selection
        """,
        lambda ev: "stratus" in low(ev.get("userAgent")) and "red" in low(ev.get("userAgent")),
    ),
    "re": (
        """
        selection:
            userIdentity.arn|re: 'assumed-role/stratus-red-team-[a-z0-9-]+-role/aws-go-sdk'
        condition: selection
        """,
        lambda ev: (
            "assumed-role/stratus-red-team-" in low(get(ev, "userIdentity.arn"))
            and "-role/aws-go-sdk" in low(get(ev, "userIdentity.arn"))
        ),
    ),
    "re|i": (
        """
        selection:
            eventName|re|i: '^(create|delete)(user|accesskey)$'
        condition: selection
        """,
        lambda ev: (
            low(ev.get("eventName"))
            in ("createuser", "deleteuser", "createaccesskey", "deleteaccesskey")
        ),
    ),
    "cidr": (
        """
        selection:
            sourceIPAddress|cidr: 158.42.0.0/16
        condition: selection
        """,
        lambda ev: _in_net(ev.get("sourceIPAddress"), "158.42.0.0/16"),
    ),
    "1 of selection*": (
        """
        selection_stop:
            eventName: StopLogging
        selection_delete:
            eventName: DeleteTrail
        condition: 1 of selection_*
        """,
        lambda ev: low(ev.get("eventName")) in ("stoplogging", "deletetrail"),
    ),
    "all of selection*": (
        """
        selection_source:
            eventSource: iam.amazonaws.com
        selection_write:
            eventName|startswith: Create
        condition: all of selection_*
        """,
        lambda ev: (
            low(ev.get("eventSource")) == "iam.amazonaws.com"
            and low(ev.get("eventName")).startswith("create")
        ),
    ),
    "not filter": (
        """
        selection:
            eventSource: sts.amazonaws.com
        filter:
            eventName: AssumeRole
        condition: selection and not filter
        """,
        lambda ev: (
            low(ev.get("eventSource")) == "sts.amazonaws.com"
            and low(ev.get("eventName")) != "assumerole"
        ),
    ),
    "keywords": (
        """
        keywords:
            - 'stratus-red-team-malicious'
        condition: keywords
        """,
        lambda ev: "stratus-red-team-malicious" in _text(ev),
    ),
    "null": (
        """
        selection:
            eventName: ConsoleLogin
            errorCode: null
        condition: selection
        """,
        lambda ev: low(ev.get("eventName")) == "consolelogin" and not ev.get("errorCode"),
    ),
    "exists": (
        """
        selection:
            eventSource: iam.amazonaws.com
            requestParameters.userName|exists: true
        condition: selection
        """,
        lambda ev: (
            low(ev.get("eventSource")) == "iam.amazonaws.com"
            and bool(get(ev, "requestParameters.userName"))
        ),
    ),
    "boolean": (
        """
        selection:
            requestParameters.withDecryption: true
        condition: selection
        """,
        lambda ev: get(ev, "requestParameters.withDecryption") is True,
    ),
    "number": (
        """
        selection:
            requestParameters.toPort: 22
        condition: selection
        """,
        lambda ev: get(ev, "requestParameters.toPort") == 22,
    ),
}


def _in_net(v, net) -> bool:
    try:
        return ipaddress.ip_address(v) in ipaddress.ip_network(net)
    except (TypeError, ValueError):
        return False


def _text(ev) -> str:
    import orjson

    return orjson.dumps(ev).decode().lower()


@pytest.fixture(scope="module")
def samples():
    store = load(SAMPLES)
    events = [store.event(r) for r in range(len(store))]
    return store, events


@pytest.mark.realdata
@pytest.mark.parametrize("name", sorted(CONSTRUCTS))
def test_construct_selects_the_hand_computed_events(samples, name):
    store, events = samples
    detection, pick = CONSTRUCTS[name]
    out = convert(detection)
    assert out.rule is not None, out.reason
    want = [r for r, ev in enumerate(events) if pick(ev)]
    assert want, f"{name}: the samples hold no event for this construct"
    det = Detections(store, [out.rule])
    assert det.hits(out.rule.id).tolist() == want, out.rule.filter
    assert np.flatnonzero(out.rule.query.evaluate(store)).tolist() == want


def test_converted_filters_read_as_expected():
    f = {k: convert(d).rule.filter for k, (d, _) in CONSTRUCTS.items()}
    assert f["plain value"] == 'event:"ConsoleLogin"'
    assert f["startswith"] == '(event:"Describe*" service:"ec2.amazonaws.com")'
    assert f["wildcards * and ?"] == '(event:"Get*Data" ip:/^2.0\\..*$/)'
    assert f["cidr"] == "ip:158.42.0.0/16"
    assert f["not filter"] == '(service:"sts.amazonaws.com" -(event:"AssumeRole"))'
    assert f["keywords"] == '"stratus-red-team-malicious"'
    assert f["exists"] == '(service:"iam.amazonaws.com" has:requestParameters.userName)'
    assert f["null"] == '(event:"ConsoleLogin" error:"")'


def test_approximations_load_with_a_note():
    out = convert("""
        selection:
            requestParameters|contains: '"s3:GetObject"'
            eventName|cased: PutBucketPolicy
            userIdentity.arn|re: 'root$'
        condition: selection
        """)
    assert out.rule is not None
    assert any("requestParameters holds an object" in n for n in out.notes)
    assert any("cased" in n for n in out.notes)
    assert any("|re is matched ignoring case" in n for n in out.notes)
    assert 'has:.requestParameters "\\"s3:GetObject\\""' in out.rule.filter


@pytest.mark.parametrize(
    "detection, why",
    [
        (
            """
     selection:
         userIdentity.arn|fieldref: requestParameters.userName
     condition: selection
     """,
            "fieldref",
        ),
        (
            """
     selection:
         requestParameters.durationSeconds|gt: 3600
     condition: selection
     """,
            "numeric comparisons",
        ),
        (
            """
     selection:
         requestParameters.cidrIp|cidr: 10.0.0.0/8
     condition: selection
     """,
            "sourceIPAddress only",
        ),
        (
            """
     selection:
         src_ip: 10.0.0.1
     condition: selection
     """,
            "'src_ip' is not in CloudTrail records",
        ),
        (
            """
     selection:
         eventName: X
     condition: selection | count() > 5
     """,
            "pySigma",
        ),
    ],
)
def test_unsupported_constructs_are_skipped_with_the_reason(detection, why):
    out = convert(detection)
    assert out.rule is None and why in out.reason


def test_other_logsources_and_correlations_are_listed_not_dropped():
    other = sigma("""
        selection:
            eventName: X
        condition: selection
        """).replace("service: cloudtrail", "service: guardduty")
    (out,) = convert_text(other, "g.yml")
    assert out.rule is None and "not AWS CloudTrail" in out.reason
    correlation = sigma(
        """
        selection:
            eventName: ConsoleLogin
        condition: selection
        """,
        name="base",
    ) + textwrap.dedent("""
        ---
        title: many logins
        id: 5f0b1b1e-0000-4000-8000-000000000002
        correlation:
            type: event_count
            rules:
                - base
            group-by:
                - sourceIPAddress
            timespan: 10m
            condition:
                gte: 5
        """)
    outs = convert_text(correlation, "c.yml")
    assert [(o.rule is not None, o.reason) for o in outs] == [
        (False, "only part of a correlation rule (Sigma's generate: false)"),
        (False, "correlation rules are not supported"),
    ]


def test_metadata_comes_across():
    out = convert(
        """
        selection:
            eventName: StopLogging
        condition: selection
        """,
        level="high",
        description="Stops the trail.",
        tags="\n    - attack.defense-evasion\n    - attack.t1562.008",
        falsepositives="\n    - planned changes",
    )
    r = out.rule
    assert (r.severity, r.tactics, r.techniques) == ("high", ("TA0005",), ("T1562.008",))
    assert r.description == "Stops the trail." and r.false_positives == "planned changes"
    assert r.id == "sigma.t" and r.source == "t.yml"
