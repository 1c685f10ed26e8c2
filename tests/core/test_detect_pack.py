"""The built-in rule pack: each rule flags its positive case and not its near miss (real
gzip trails), the pack is well formed, and over the real samples in ../shared/realdata
every Stratus Red Team technique a rule targets is flagged, while anything else a
high-severity rule flags there carries a note saying why."""

from __future__ import annotations

import pytest

from tests.core.detect_cases import CASES, FLAGGED
from tests.trailgen import REALDATA, trail_path, write_records
from tui.core.detect import Detections, load_pack
from tui.core.detect.attack import TACTICS, TECHNIQUES
from tui.core.loader import load

PACK = load_pack()
BY_ID = {r.id: r for r in PACK}


def run(tmp_path, records: list[dict], name: str = "t"):
    root = tmp_path / name
    write_records(trail_path(root), records)
    store = load([root])
    assert len(store) == len(records)
    return store, Detections(store, PACK)


def event_ids(store, rows) -> set[str]:
    return {store.event(int(r))["eventID"] for r in rows}


def test_every_rule_has_a_case_and_every_case_a_rule():
    assert set(CASES) == set(BY_ID)


def test_pack_is_well_formed():
    assert len(PACK) >= 40
    for r in PACK:
        assert r.description and r.title and r.references, r.id
        assert r.tactics and all(t in TACTICS for t in r.tactics), r.id
        assert r.techniques and all(t in TECHNIQUES for t in r.techniques), r.id
        assert r.false_positives, r.id


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_rule_flags_its_case_and_not_the_near_miss(tmp_path, rule_id):
    positive, negative = CASES[rule_id]
    store, det = run(tmp_path, positive, "pos")
    want = FLAGGED.get(rule_id, range(len(positive)))
    assert event_ids(store, det.hits(rule_id)) == {positive[i]["eventID"] for i in want}
    store, det = run(tmp_path, negative, "neg")
    assert not len(det.hits(rule_id)), f"{rule_id} flagged its near miss"


# ---------------------------------------------------------------- real samples
STRATUS = REALDATA / "stratus-red-team"
# The Stratus Red Team detonations (one account each; the technique read from the calls
# each account's file holds, as the publisher names techniques) that built-in rules
# target, and the rule that must flag them.
TARGETED = {
    "143434273843": ("aws.defense-evasion.cloudtrail-stop", "cloudtrail-logging-stopped"),
    "847129010505": ("aws.defense-evasion.cloudtrail-delete", "cloudtrail-trail-deleted"),
    "958312252124": (
        "aws.defense-evasion.cloudtrail-event-selectors",
        "cloudtrail-selectors-drop-management",
    ),
    "498376118699": ("aws.defense-evasion.vpc-remove-flow-logs", "vpc-flow-logs-deleted"),
    "206821776919": ("aws.defense-evasion.dns-delete-logs", "dns-query-logging-removed"),
    "307578594326": ("aws.defense-evasion.organizations-leave", "organizations-leave"),
    "946986569305": ("aws.persistence.iam-backdoor-user", "iam-access-key-for-other-user"),
    "229654561268": ("aws.persistence.iam-create-admin-user", "iam-admin-policy-attached"),
    "070411556318": ("aws.persistence.iam-create-user-login-profile", "iam-login-profile-created"),
    "763751499319": (
        "aws.privilege-escalation.iam-update-user-login-profile",
        "iam-login-profile-updated",
    ),
    "751203476945": ("aws.persistence.iam-backdoor-role", "iam-role-trust-opened"),
    "609418236337": (
        "aws.persistence.iam-create-backdoor-role",
        "iam-role-created-trusting-outsiders",
    ),
    "903144391865": (
        "aws.credential-access.secretsmanager-retrieve-secrets",
        "secrets-retrieval-burst",
    ),
    "165109126369": (
        "aws.credential-access.secretsmanager-batch-retrieve-secrets",
        "secrets-batch-retrieval",
    ),
    "457448411975": ("aws.credential-access.ec2-get-password-data", "ec2-password-data-burst"),
    "933175858973": (
        "aws.credential-access.ssm-retrieve-securestring-parameters",
        "ssm-secure-parameters-burst",
    ),
    "118238665043": ("aws.exfiltration.ec2-share-ami", "ec2-ami-shared"),
    "756680937392": ("aws.exfiltration.ec2-share-ebs-snapshot", "ec2-snapshot-shared"),
    "171471557522": ("aws.exfiltration.rds-share-snapshot", "rds-snapshot-shared"),
    "032092706103": (
        "aws.exfiltration.ec2-security-group-open-port-22-ingress",
        "ec2-security-group-open-to-world",
    ),
    "562283505220": ("aws.initial-access.console-login-without-mfa", "console-login-without-mfa"),
    "880896431042": ("aws.persistence.lambda-backdoor-function", "lambda-permission-outsiders"),
    "791182566784": (
        "aws.persistence.rolesanywhere-create-trust-anchor",
        "rolesanywhere-trust-anchor",
    ),
    "309303190113": ("aws.execution.ec2-user-data", "ec2-user-data-modified"),
    "844015365555": (
        "aws.lateral-movement.ec2-serial-console-send-ssh-public-key",
        "ec2-serial-console-enabled",
    ),
    "572910899909": (
        "aws.lateral-movement.ec2-instance-connect",
        "ec2-instance-connect-key-pushed",
    ),
    "742491224508": ("aws.persistence.sts-federation-token", "sts-federation-token"),
}
# Detonations no built-in rule targets (benign-looking alone, or no rule yet): listed so
# that a new sample is a decision, not an oversight.
NOT_TARGETED = {
    "017622104382": "aws.credential-access.ec2-steal-instance-credentials (SSM SendCommand)",
    "056392974792": "aws.execution.ssm-send-command",
    "294599468799": "aws.execution.ssm-start-session",
    "321848314756": "aws.discovery.ec2-download-user-data (flagged as a burst of denials)",
    "900138736586": "aws.execution.ec2-launch-unusual-instances (one denied RunInstances)",
    "494659789341": "aws.impact.bedrock-invoke-model",
    "266106314375": "aws.persistence.lambda-overwrite-code",
    "712967571683": "aws.persistence.lambda-layer-extension (a layer of the same account)",
}

# High-severity hits in the other real samples, and why each is right.
HIGH_NOTES = {
    (
        "airbnb-streamalert",
        "cloudtrail-logging-stopped",
    ): "StreamAlert's fixture for its own CloudTrail-stopped rule",
    ("airbnb-streamalert", "config-recording-stopped"): "StreamAlert's Config-stopped fixture",
    ("airbnb-streamalert", "ec2-ami-shared"): "StreamAlert's public-AMI fixtures",
    ("airbnb-streamalert", "ec2-snapshot-shared"): "StreamAlert's public-snapshot fixture",
    ("airbnb-streamalert", "rds-snapshot-shared"): "StreamAlert's public RDS snapshot fixtures",
    ("airbnb-streamalert", "guardduty-detector-deleted"): "StreamAlert's GuardDuty fixture",
    ("airbnb-streamalert", "guardduty-detector-disabled"): "StreamAlert's GuardDuty fixture",
    ("airbnb-streamalert", "s3-bucket-acl-public"): "StreamAlert's public-bucket ACL fixture",
    ("airbnb-streamalert", "s3-bucket-policy-public"): "StreamAlert's public bucket policy fixture",
    (
        "awsdocs-examples",
        "root-console-login",
    ): "AWS's documentation examples of root console sign-ins",
    (
        "awsdocs-examples",
        "config-recording-stopped",
    ): "AWS Config's documentation example of DeleteDeliveryChannel",
    (
        "cloudtrail2sightings-datadog-export",
        "cloudtrail-trail-deleted",
    ): "a Stratus Red Team detonation exported from Datadog (cloudtrail-delete)",
    (
        "cloudtrail2sightings-datadog-export",
        "ec2-snapshot-shared",
    ): "a Stratus Red Team detonation exported from Datadog (ec2-share-ebs-snapshot)",
    (
        "grycap-cloudtrail-tracker",
        "root-console-login",
    ): "the university account's owner signing in as root (real, and worth the question)",
    (
        "permiso-cloudconsolecartographer",
        "cloudtrail-logging-stopped",
    ): "console sessions recorded while exercising CloudTrail settings",
    (
        "permiso-cloudconsolecartographer",
        "cloudtrail-trail-deleted",
    ): "console sessions recorded while exercising CloudTrail settings",
    (
        "permiso-cloudconsolecartographer",
        "iam-access-key-for-other-user",
    ): "console sessions creating keys for other users",
}


@pytest.mark.realdata
def test_every_targeted_stratus_technique_is_flagged():
    assert set(TARGETED).isdisjoint(NOT_TARGETED)
    store = load([STRATUS])
    det = Detections(store, PACK)
    accounts = {store.value(r, "account") for r in range(len(store))}
    assert accounts == set(TARGETED) | set(NOT_TARGETED)
    for account, (technique, rule_id) in TARGETED.items():
        rows = det.hits(rule_id)
        assert any(store.value(int(r), "account") == account for r in rows), (
            f"{technique} ({account}) not flagged by {rule_id}"
        )


@pytest.mark.realdata
def test_other_high_severity_hits_in_real_samples_have_notes():
    seen = set()
    for src in sorted(p for p in REALDATA.iterdir() if p.is_dir()):
        if src.name == STRATUS.name:
            continue
        store = load([src])
        det = Detections(store, PACK)
        for rule, _count in det.counts():
            if rule.rank >= 3:  # high and critical
                key = (src.name, rule.id)
                assert key in HIGH_NOTES, f"{key}: a high-severity hit without a note"
                seen.add(key)
    assert seen == set(HIGH_NOTES), "a note for a hit that is gone"
