"""Per built-in rule: events it must flag and a near miss it must not (tests/core/
test_detect_pack.py writes each into a real gzip trail and runs the engine over it).

Events are written as CloudTrail writes them (field names and shapes from the AWS API
references and the real samples in ../shared/realdata). An aggregate rule's cases are
whole bursts: the near miss is one event short, or spread past the window.
"""

from __future__ import annotations

import json

from tests.trailgen import event

ACCOUNT = "111122223333"
OTHER = "999988887777"

ALICE = {
    "type": "IAMUser",
    "principalId": "AIDAALICE",
    "arn": f"arn:aws:iam::{ACCOUNT}:user/alice",
    "accountId": ACCOUNT,
    "accessKeyId": "AKIAALICE",
    "userName": "alice",
}
ROOT = {
    "type": "Root",
    "principalId": ACCOUNT,
    "arn": f"arn:aws:iam::{ACCOUNT}:root",
    "accountId": ACCOUNT,
    "accessKeyId": "ASIAROOT",
}
ROLE = {
    "type": "AssumedRole",
    "principalId": "AROAEXAMPLE:deploy",
    "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/deploy/ci",
    "accountId": ACCOUNT,
    "accessKeyId": "ASIADEPLOY",
    "sessionContext": {
        "sessionIssuer": {
            "type": "Role",
            "principalId": "AROAEXAMPLE",
            "arn": f"arn:aws:iam::{ACCOUNT}:role/deploy",
            "accountId": ACCOUNT,
            "userName": "deploy",
        },
        "attributes": {"creationDate": "2026-11-20T09:00:00Z", "mfaAuthenticated": "false"},
    },
}
SERVICE = {"type": "AWSService", "invokedBy": "cloudtrail.amazonaws.com"}


def e(name: str, source: str, **kw) -> dict:
    """A management write event (readOnly false) by alice unless told otherwise."""
    kw.setdefault("readOnly", False)
    return event(name, source=f"{source}.amazonaws.com", **kw)


def rp(**params) -> dict:
    return {"requestParameters": params}


def at(minute: int, second: int = 0) -> str:
    return f"2026-11-20T10:{minute:02d}:{second:02d}Z"


def policy(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)}, indent=2)


def trust(principal: dict) -> str:
    return policy({"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"})


def login(
    result: str,
    mfa: str,
    identity: dict | None = None,
    ip: str = "198.51.100.7",
    time: str = "2026-11-20T10:00:00Z",
    error: str | None = None,
) -> dict:
    ev = event(
        "ConsoleLogin",
        time,
        source="signin.amazonaws.com",
        ip=ip,
        identity=identity or ALICE,
        eventType="AwsConsoleSignIn",
        readOnly=False,
        responseElements={"ConsoleLogin": result},
        additionalEventData={
            "LoginTo": "https://console.aws.amazon.com/console/home",
            "MobileVersion": "No",
            "MFAUsed": mfa,
        },
    )
    if error:
        ev["errorMessage"] = error
    return ev


def burst(make, n: int, every_s: int = 20) -> list[dict]:
    """n events made by make(time), `every_s` seconds apart from 10:00."""
    return [
        make(
            f"2026-11-20T{10 + (i * every_s) // 3600:02d}:"
            f"{(i * every_s) // 60 % 60:02d}:{i * every_s % 60:02d}Z"
        )
        for i in range(n)
    ]


# rule id -> (events that must be flagged, events that must not be)
CASES: dict[str, tuple[list[dict], list[dict]]] = {
    # ------------------------------------------------------------ defense evasion
    "cloudtrail-logging-stopped": (
        [e("StopLogging", "cloudtrail", **rp(name="main"))],
        [e("StartLogging", "cloudtrail", **rp(name="main"))],
    ),
    "cloudtrail-trail-deleted": (
        [e("DeleteTrail", "cloudtrail", **rp(name="main"))],
        [e("DeleteEventDataStore", "cloudtrail", **rp(eventDataStore="x"))],
    ),
    "cloudtrail-trail-weakened": (
        [
            e("UpdateTrail", "cloudtrail", **rp(name="main", s3BucketName="elsewhere")),
            e("UpdateTrail", "cloudtrail", **rp(name="main", isMultiRegionTrail=False)),
        ],
        [e("UpdateTrail", "cloudtrail", **rp(name="main", snsTopicName="alerts"))],
    ),
    "cloudtrail-selectors-drop-management": (
        [
            e(
                "PutEventSelectors",
                "cloudtrail",
                **rp(
                    trailName="main",
                    eventSelectors=[
                        {
                            "readWriteType": "All",
                            "includeManagementEvents": False,
                            "dataResources": [],
                        }
                    ],
                ),
            ),
            e(
                "PutEventSelectors",
                "cloudtrail",
                **rp(
                    trailName="main",
                    advancedEventSelectors=[
                        {"fieldSelectors": [{"field": "eventCategory", "equals": ["Data"]}]}
                    ],
                ),
            ),
        ],
        [
            e(
                "PutEventSelectors",
                "cloudtrail",
                **rp(
                    trailName="main",
                    eventSelectors=[
                        {
                            "readWriteType": "All",
                            "includeManagementEvents": True,
                            "dataResources": [],
                        }
                    ],
                ),
            )
        ],
    ),
    "guardduty-detector-deleted": (
        [e("DeleteDetector", "guardduty", **rp(detectorId="12abc"))],
        [e("DeletePublishingDestination", "guardduty", **rp(detectorId="12abc"))],
    ),
    "guardduty-detector-disabled": (
        [e("UpdateDetector", "guardduty", **rp(detectorId="12abc", enable=False))],
        [
            e(
                "UpdateDetector",
                "guardduty",
                **rp(detectorId="12abc", enable=True, findingPublishingFrequency="SIX_HOURS"),
            )
        ],
    ),
    "guardduty-members-detached": (
        [e("DisassociateFromAdministratorAccount", "guardduty", **rp(detectorId="12abc"))],
        [e("AcceptAdministratorInvitation", "guardduty", **rp(detectorId="12abc"))],
    ),
    "securityhub-disabled": (
        [e("DisableSecurityHub", "securityhub")],
        [e("EnableSecurityHub", "securityhub")],
    ),
    "config-recording-stopped": (
        [e("StopConfigurationRecorder", "config", **rp(configurationRecorderName="default"))],
        [e("StartConfigurationRecorder", "config", **rp(configurationRecorderName="default"))],
    ),
    "vpc-flow-logs-deleted": (
        [e("DeleteFlowLogs", "ec2", **rp(DeleteFlowLogsRequest={"FlowLogId": {"tag": 1}}))],
        [e("CreateFlowLogs", "ec2")],
    ),
    "dns-query-logging-removed": (
        [
            e(
                "DeleteResolverQueryLogConfig",
                "route53resolver",
                **rp(resolverQueryLogConfigId="rqlc-1"),
            )
        ],
        [e("CreateResolverQueryLogConfig", "route53resolver", **rp(name="logs"))],
    ),
    "organizations-leave": (
        [e("LeaveOrganization", "organizations", error="AccessDenied")],
        [e("DescribeOrganization", "organizations", readOnly=True)],
    ),
    # ------------------------------------------------------------ credentials, persistence
    "iam-access-key-for-other-user": (
        [e("CreateAccessKey", "iam", **rp(userName="backdoor"))],
        [e("CreateAccessKey", "iam", **rp(userName="alice"))],
    ),
    "iam-login-profile-created": (
        [e("CreateLoginProfile", "iam", **rp(userName="bob", passwordResetRequired=False))],
        [e("GetLoginProfile", "iam", readOnly=True, **rp(userName="bob"))],
    ),
    "iam-login-profile-updated": (
        [e("UpdateLoginProfile", "iam", **rp(userName="bob"))],
        [e("ChangePassword", "iam")],
    ),
    "iam-user-created": (
        [e("CreateUser", "iam", **rp(userName="bob"))],
        [e("CreateGroup", "iam", **rp(groupName="devs"))],
    ),
    "iam-admin-policy-attached": (
        [
            e(
                "AttachUserPolicy",
                "iam",
                **rp(userName="bob", policyArn="arn:aws:iam::aws:policy/AdministratorAccess"),
            )
        ],
        [
            e(
                "AttachUserPolicy",
                "iam",
                **rp(userName="bob", policyArn="arn:aws:iam::aws:policy/ReadOnlyAccess"),
            )
        ],
    ),
    "iam-inline-admin-policy": (
        [
            e(
                "PutUserPolicy",
                "iam",
                **rp(
                    userName="bob",
                    policyName="p",
                    policyDocument=policy({"Effect": "Allow", "Action": "*", "Resource": "*"}),
                ),
            )
        ],
        [
            e(
                "PutUserPolicy",
                "iam",
                **rp(
                    userName="bob",
                    policyName="p",
                    policyDocument=policy({"Effect": "Allow", "Action": "s3:*", "Resource": "*"}),
                ),
            )
        ],
    ),
    "iam-role-trust-opened": (
        [
            e(
                "UpdateAssumeRolePolicy",
                "iam",
                **rp(roleName="admin", policyDocument=trust({"AWS": f"arn:aws:iam::{OTHER}:root"})),
            )
        ],
        [
            e(
                "UpdateAssumeRolePolicy",
                "iam",
                **rp(
                    roleName="admin", policyDocument=trust({"AWS": f"arn:aws:iam::{ACCOUNT}:root"})
                ),
            )
        ],
    ),
    "iam-role-created-trusting-outsiders": (
        [e("CreateRole", "iam", **rp(roleName="x", assumeRolePolicyDocument=trust({"AWS": "*"})))],
        [
            e(
                "CreateRole",
                "iam",
                **rp(
                    roleName="x", assumeRolePolicyDocument=trust({"Service": "ec2.amazonaws.com"})
                ),
            )
        ],
    ),
    "secrets-retrieval-burst": (
        burst(
            lambda t: e(
                "GetSecretValue", "secretsmanager", time=t, readOnly=True, **rp(secretId="db")
            ),
            10,
        ),
        burst(
            lambda t: e(
                "GetSecretValue", "secretsmanager", time=t, readOnly=True, **rp(secretId="db")
            ),
            9,
        ),
    ),
    "secrets-batch-retrieval": (
        [
            e(
                "BatchGetSecretValue",
                "secretsmanager",
                readOnly=True,
                **rp(filters=[{"key": "tag-key", "values": ["prod"]}]),
            )
        ],
        [e("ListSecrets", "secretsmanager", readOnly=True)],
    ),
    "ec2-password-data-burst": (
        burst(
            lambda t: e(
                "GetPasswordData",
                "ec2",
                time=t,
                readOnly=True,
                error="Client.UnauthorizedOperation",
                **rp(instanceId="i-1"),
            ),
            5,
        ),
        # five calls, but 4 minutes apart: never five within ten minutes
        burst(
            lambda t: e("GetPasswordData", "ec2", time=t, readOnly=True, **rp(instanceId="i-1")),
            5,
            every_s=240,
        ),
    ),
    "ssm-secure-parameters-burst": (
        burst(
            lambda t: e(
                "GetParameters",
                "ssm",
                time=t,
                readOnly=True,
                **rp(names=["/db/password"], withDecryption=True),
            ),
            5,
        ),
        burst(
            lambda t: e(
                "GetParameters",
                "ssm",
                time=t,
                readOnly=True,
                **rp(names=["/db/host"], withDecryption=False),
            ),
            5,
        ),
    ),
    "sts-federation-token": (
        [e("GetFederationToken", "sts", readOnly=True, **rp(name="x", durationSeconds=129600))],
        [e("GetSessionToken", "sts", readOnly=True)],
    ),
    "rolesanywhere-trust-anchor": (
        [e("CreateTrustAnchor", "rolesanywhere", **rp(name="anchor", enabled=True))],
        [e("ListTrustAnchors", "rolesanywhere", readOnly=True)],
    ),
    "lambda-permission-outsiders": (
        [
            e(
                "AddPermission20150331v2",
                "lambda",
                **rp(functionName="f", principal="*", action="lambda:InvokeFunction"),
            )
        ],
        [
            e(
                "AddPermission20150331v2",
                "lambda",
                **rp(
                    functionName="f", principal="s3.amazonaws.com", action="lambda:InvokeFunction"
                ),
            )
        ],
    ),
    # ------------------------------------------------------------ exfiltration, exposure
    "s3-bucket-policy-public": (
        [
            e(
                "PutBucketPolicy",
                "s3",
                **rp(
                    bucketName="b",
                    bucketPolicy={
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": "*",
                                "Action": "s3:GetObject",
                                "Resource": "arn:aws:s3:::b/*",
                            }
                        ],
                    },
                ),
            )
        ],
        # a Principal "*" that denies (the usual TLS-only statement) is not public
        [
            e(
                "PutBucketPolicy",
                "s3",
                **rp(
                    bucketName="b",
                    bucketPolicy={
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Deny",
                                "Principal": "*",
                                "Action": "s3:*",
                                "Resource": "arn:aws:s3:::b/*",
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        ],
                    },
                ),
            )
        ],
    ),
    "s3-bucket-acl-public": (
        [
            e(
                "PutBucketAcl",
                "s3",
                **rp(
                    bucketName="b",
                    AccessControlPolicy={
                        "AccessControlList": {
                            "Grant": [
                                {
                                    "Grantee": {
                                        "xsi:type": "Group",
                                        "URI": "http://acs.amazonaws.com/groups/global/AllUsers",
                                    },
                                    "Permission": "READ",
                                }
                            ]
                        }
                    },
                ),
            ),
            e("PutBucketAcl", "s3", **rp(bucketName="b", **{"x-amz-acl": ["public-read"]})),
        ],
        [e("PutBucketAcl", "s3", **rp(bucketName="b", **{"x-amz-acl": ["private"]}))],
    ),
    "s3-public-access-block-removed": (
        [
            e("DeleteBucketPublicAccessBlock", "s3", **rp(bucketName="b")),
            e(
                "PutBucketPublicAccessBlock",
                "s3",
                **rp(
                    bucketName="b",
                    PublicAccessBlockConfiguration={
                        "BlockPublicAcls": True,
                        "IgnorePublicAcls": True,
                        "BlockPublicPolicy": False,
                        "RestrictPublicBuckets": True,
                    },
                ),
            ),
        ],
        [
            e(
                "PutBucketPublicAccessBlock",
                "s3",
                **rp(
                    bucketName="b",
                    PublicAccessBlockConfiguration={
                        "BlockPublicAcls": True,
                        "IgnorePublicAcls": True,
                        "BlockPublicPolicy": True,
                        "RestrictPublicBuckets": True,
                    },
                ),
            )
        ],
    ),
    "ec2-snapshot-shared": (
        [
            e(
                "ModifySnapshotAttribute",
                "ec2",
                **rp(
                    snapshotId="snap-1",
                    attributeType="CREATE_VOLUME_PERMISSION",
                    createVolumePermission={"add": {"items": [{"userId": OTHER}]}},
                ),
            ),
            e(
                "ModifySnapshotAttribute",
                "ec2",
                **rp(
                    snapshotId="snap-1",
                    createVolumePermission={"add": {"items": [{"group": "all"}]}},
                ),
            ),
        ],
        [
            e(
                "ModifySnapshotAttribute",
                "ec2",
                **rp(
                    snapshotId="snap-1",
                    createVolumePermission={"add": {"items": [{"userId": ACCOUNT}]}},
                ),
            )
        ],
    ),
    "ec2-ami-shared": (
        [
            e(
                "ModifyImageAttribute",
                "ec2",
                **rp(
                    imageId="ami-1",
                    attributeType="launchPermission",
                    launchPermission={"add": {"items": [{"userId": OTHER}]}},
                ),
            )
        ],
        [
            e(
                "ModifyImageAttribute",
                "ec2",
                **rp(imageId="ami-1", launchPermission={"remove": {"items": [{"userId": OTHER}]}}),
            )
        ],
    ),
    "rds-snapshot-shared": (
        [
            e(
                "ModifyDBSnapshotAttribute",
                "rds",
                **rp(dBSnapshotIdentifier="s", attributeName="restore", valuesToAdd=["all"]),
            )
        ],
        [
            e(
                "ModifyDBSnapshotAttribute",
                "rds",
                **rp(dBSnapshotIdentifier="s", attributeName="restore", valuesToRemove=[OTHER]),
            )
        ],
    ),
    "s3-replication-to-other-account": (
        [
            e(
                "PutBucketReplication",
                "s3",
                **rp(
                    bucketName="b",
                    ReplicationConfiguration={
                        "Role": "arn:aws:iam::111122223333:role/r",
                        "Rule": {
                            "Status": "Enabled",
                            "Destination": {"Bucket": "arn:aws:s3:::theirs", "Account": OTHER},
                        },
                    },
                ),
            )
        ],
        [
            e(
                "PutBucketReplication",
                "s3",
                **rp(
                    bucketName="b",
                    ReplicationConfiguration={
                        "Role": "arn:aws:iam::111122223333:role/r",
                        "Rule": {
                            "Status": "Enabled",
                            "Destination": {"Bucket": "arn:aws:s3:::mine", "Account": ACCOUNT},
                        },
                    },
                ),
            )
        ],
    ),
    "ec2-security-group-open-to-world": (
        [
            e(
                "AuthorizeSecurityGroupIngress",
                "ec2",
                **rp(
                    groupId="sg-1",
                    ipPermissions={
                        "items": [
                            {
                                "ipProtocol": "tcp",
                                "fromPort": 22,
                                "toPort": 22,
                                "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]},
                            }
                        ]
                    },
                ),
            )
        ],
        [
            e(
                "AuthorizeSecurityGroupIngress",
                "ec2",
                **rp(
                    groupId="sg-1",
                    ipPermissions={
                        "items": [
                            {
                                "ipProtocol": "tcp",
                                "fromPort": 22,
                                "toPort": 22,
                                "ipRanges": {"items": [{"cidrIp": "10.0.0.0/8"}]},
                            }
                        ]
                    },
                ),
            )
        ],
    ),
    # ------------------------------------------------------------ access
    "root-console-login": (
        [login("Success", "Yes", ROOT)],
        [login("Success", "Yes", ALICE)],
    ),
    "root-activity": (
        [e("ListBuckets", "s3", identity=ROOT, readOnly=True)],
        [
            e(
                "ListBuckets",
                "s3",
                identity={**ROOT, "invokedBy": "support.amazonaws.com"},
                readOnly=True,
            )
        ],
    ),
    "console-login-without-mfa": (
        [login("Success", "No")],
        [login("Success", "No", ROLE)],
    ),
    "console-login-failures-burst": (
        burst(lambda t: login("Failure", "No", time=t, error="Failed authentication"), 5),
        burst(lambda t: login("Failure", "No", time=t, error="Failed authentication"), 4),
    ),
    # ------------------------------------------------------------ GuardDuty, Access Analyzer
    "guardduty-threat-intel-set-changed": (
        [e("DeleteThreatIntelSet", "guardduty", **rp(detectorId="d", threatIntelSetId="t"))],
        [e("ListThreatIntelSets", "guardduty", readOnly=True, **rp(detectorId="d"))],
    ),
    "guardduty-ip-set-changed": (
        [
            e(
                "CreateIPSet",
                "guardduty",
                **rp(
                    detectorId="d",
                    name="trusted",
                    format="TXT",
                    location="https://s3.amazonaws.com/b/ips.txt",
                    activate=True,
                ),
            )
        ],
        [e("GetIPSet", "guardduty", readOnly=True, **rp(detectorId="d", ipSetId="i"))],
    ),
    "guardduty-filter-changed": (
        [e("CreateFilter", "guardduty", **rp(detectorId="d", name="hide", action="ARCHIVE"))],
        [e("ListFilters", "guardduty", readOnly=True, **rp(detectorId="d"))],
    ),
    "access-analyzer-deleted": (
        [e("DeleteAnalyzer", "access-analyzer", **rp(analyzerName="org"))],
        [e("GetAnalyzer", "access-analyzer", readOnly=True, **rp(analyzerName="org"))],
    ),
    "access-analyzer-archive-rule": (
        [
            e(
                "CreateArchiveRule",
                "access-analyzer",
                **rp(analyzerName="org", ruleName="all", filter={"isPublic": {"eq": ["true"]}}),
            )
        ],
        [e("ListArchiveRules", "access-analyzer", readOnly=True, **rp(analyzerName="org"))],
    ),
    "access-analyzer-created": (
        [e("CreateAnalyzer", "access-analyzer", **rp(analyzerName="test", type="ACCOUNT"))],
        [e("ListFindings", "access-analyzer", readOnly=True, **rp(analyzerArn="arn:x"))],
    ),
    # ------------------------------------------------------------ execution, lateral
    "ec2-user-data-modified": (
        [
            e(
                "ModifyInstanceAttribute",
                "ec2",
                **rp(instanceId="i-1", userData="<sensitiveDataRemoved>"),
            )
        ],
        [
            e(
                "ModifyInstanceAttribute",
                "ec2",
                **rp(instanceId="i-1", instanceType={"value": "t3.large"}),
            )
        ],
    ),
    "ec2-serial-console-enabled": (
        [e("EnableSerialConsoleAccess", "ec2")],
        [e("DisableSerialConsoleAccess", "ec2")],
    ),
    "ec2-instance-connect-key-pushed": (
        [
            e(
                "SendSSHPublicKey",
                "ec2-instance-connect",
                **rp(instanceId="i-1", instanceOSUser="ec2-user"),
            )
        ],
        [e("SendSSHPublicKey", "ec2", **rp(instanceId="i-1"))],  # not Instance Connect
    ),
    # ------------------------------------------------------------ bursts, first seen
    "access-denied-burst": (
        burst(lambda t: e("ListUsers", "iam", time=t, readOnly=True, error="AccessDenied"), 10),
        burst(
            lambda t: e(
                "ListUsers", "iam", time=t, readOnly=True, error="AccessDenied", identity=SERVICE
            ),
            10,
        ),
    ),
    "discovery-burst": (
        [e(f"Describe{i}", f"svc{i}", time=at(0, 5 * i), readOnly=True) for i in range(10)],
        [e(f"Describe{i}", f"svc{i}", time=at(0, 5 * i), readOnly=True) for i in range(9)]
        + [e("Describe0", "svc0", time=at(1), readOnly=True)],
    ),
    "first-seen-region": (
        [
            e("ListBuckets", "s3", time="2026-11-18T10:00:00Z", readOnly=True),
            e("ListBuckets", "s3", time="2026-11-20T10:00:00Z", readOnly=True, region="ap-east-1"),
        ],
        [
            e("ListBuckets", "s3", time="2026-11-20T09:00:00Z", readOnly=True),
            e("ListBuckets", "s3", time="2026-11-20T10:00:00Z", readOnly=True, region="ap-east-1"),
        ],
    ),
    "first-seen-ip": (
        [
            e("ListBuckets", "s3", time="2026-11-18T10:00:00Z", readOnly=True),
            e("ListBuckets", "s3", time="2026-11-20T10:00:00Z", readOnly=True, ip="203.0.113.9"),
        ],
        [
            e("ListBuckets", "s3", time="2026-11-18T10:00:00Z", readOnly=True),
            e("ListBuckets", "s3", time="2026-11-20T10:00:00Z", readOnly=True, ip="AWS Internal"),
        ],
    ),
}

# The events of an aggregate case that must be flagged (default: all of them).
FLAGGED: dict[str, list[int]] = {
    "first-seen-region": [1],
    "first-seen-ip": [1],
}
