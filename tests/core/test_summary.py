"""The event summary as plain engine data (tui/core/summary.py): what the detail pane
renders, usable without a terminal."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.trailgen import event, trail_path, write_records
from tui.core.loader import load
from tui.core.summary import Fact, leaf_field, summarize

ACCT = "111122223333"
ROLE_SESSION = {
    "type": "AssumedRole",
    "principalId": "AROAEXAMPLE:dana",
    "arn": f"arn:aws:sts::{ACCT}:assumed-role/Deploy/dana",
    "accountId": ACCT,
    "accessKeyId": "ASIAEXAMPLEKEY000001",
    "sessionContext": {
        "sessionIssuer": {
            "type": "Role",
            "principalId": "AROAEXAMPLE",
            "arn": f"arn:aws:iam::{ACCT}:role/Deploy",
            "accountId": ACCT,
            "userName": "Deploy",
        },
        "attributes": {"creationDate": "2026-11-20T09:00:00Z", "mfaAuthenticated": "true"},
        "sourceIdentity": "dana@example.com",
    },
}


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("summary")
    recs = [
        event(
            "ConsoleLogin",
            event_id="login",
            source="signin.amazonaws.com",
            eventType="AwsConsoleSignIn",
            additionalEventData={"MFAUsed": "No", "LoginTo": "https://console"},
            responseElements={"ConsoleLogin": "Success"},
        ),
        event(
            "PutObject",
            event_id="put",
            source="s3.amazonaws.com",
            identity=ROLE_SESSION,
            vpcEndpointId="vpce-0a1b2c3d",
            sessionCredentialFromConsole="true",
            readOnly=False,
        ),
        event(
            "Decrypt",
            event_id="svc",
            source="kms.amazonaws.com",
            ip="AWS Internal",
            identity={"type": "AWSService", "invokedBy": "lambda.amazonaws.com"},
        ),
        event(
            "GetObject",
            event_id="anon",
            source="s3.amazonaws.com",
            error="AccessDenied",
            identity={"type": "AWSAccount", "principalId": "", "accountId": "anonymous"},
        ),
    ]
    write_records(trail_path(Path(root)), recs)
    return load([root], jobs=1)


def facts(store, event_id: str) -> dict[tuple[str, str], Fact]:
    row = next(r for r in range(len(store)) if store.event(r)["eventID"] == event_id)
    return {(s.name, f.label): f for s in summarize(store, row, store.event(row)) for f in s.facts}


def test_derived_lines_name_the_field_and_the_path_they_came_from(store):
    login = facts(store, "login")
    mfa = login["who", "MFA"]
    assert (mfa.field, mfa.value, mfa.path, mfa.hint) == (
        "mfa",
        "no",
        "additionalEventData.MFAUsed",
        "(sign-in)",
    )
    console = login["what", "Console"]
    assert (console.field, console.value, console.path) == ("console", "sign-in", ".eventType")

    put = facts(store, "put")
    assert (put["who", "MFA"].value, put["who", "MFA"].hint) == ("yes", "(session)")
    session = put["who", "Session name"]
    assert (session.field, session.value, session.display, session.path) == (
        "session",
        f"arn:aws:sts::{ACCT}:assumed-role/Deploy/dana",
        "dana",
        "userIdentity.arn",
    )
    src = put["who", "Source identity"]
    assert (src.field, src.value, src.path) == (
        "sourceidentity",
        "dana@example.com",
        "userIdentity.sessionContext.sourceIdentity",
    )
    assert put["where", "VPC endpoint"].field == "vpce"
    assert put["what", "Console"].value == "session"
    assert put["what", "Read-only"].value == "false"
    assert put["who", "Role / issuer"].hint == "(Role)"
    assert put["who", "Access key"].hint == "temporary (ASIA)"

    svc = facts(store, "svc")
    principal = svc["who", "Principal"]
    assert (principal.field, principal.value, principal.path) == (
        "principal",
        "lambda.amazonaws.com",
        "userIdentity.invokedBy",
    )
    assert svc["where", "Source IP"].hint == "(AWS Internal)"
    assert ("who", "MFA") not in svc and ("what", "Console") not in svc

    anon = facts(store, "anon")
    assert anon["who", "Credential"].hint == "(unsigned request: no credentials)"
    assert (anon["outcome", "Error"].field, anon["outcome", "Error"].tone) == ("error", "alert")
    assert ("outcome", "Result") not in anon
    ok = login["outcome", "Result"]
    assert (ok.field, ok.value, ok.display) == ("error", "", "success")
    assert login["when", "File"].kind == "info"


def test_leaves_filter_on_the_field_they_are(store):
    row = next(r for r in range(len(store)) if store.event(r)["eventID"] == "put")
    assert leaf_field(store, row, ".eventSource", "s3.amazonaws.com") == "service"
    assert leaf_field(store, row, ".vpcEndpointId", "vpce-0a1b2c3d") == "vpce"
    assert leaf_field(store, row, "userIdentity.arn", ROLE_SESSION["arn"]) == "principal"
    # a leaf whose value is not the field's for this event: its path, not the field
    assert leaf_field(store, row, ".eventSource", "ec2.amazonaws.com") is None
    assert leaf_field(store, row, "additionalEventData.MFAUsed", "No") is None
