#!/usr/bin/env python3
"""Write the demo trail in ``sample_logs/``.

Usage: python scripts/make_sample_logs.py [--out DIR]

The output is a small CloudTrail bucket excerpt in the real S3 layout: two accounts, four
regions, 2026-11-18..20, log files grouped per account/region/5-minute window and named by
a delivery time 5-15 minutes later, one Insights file, two chained digest files and the two
example events of the GuardDuty and IAM Access Analyzer user guides. It tells a small
incident story (a leaked CI access key used for recon and a cross-account hop) among
ordinary traffic, and carries the edge cases the explorer must handle: every userIdentity
type, errors, IPv6 and service-name source IPs, a duplicate delivery, an eventID conflict
and a hostile user agent.

Everything is derived from one seeded RNG and fixed times, and gzip framing is written
by hand, so re-running the script gives byte-identical files. Only the standard library is
used so the script runs on any Python 3.11+.
"""

from __future__ import annotations

import argparse
import base64
import copy
import hashlib
import json
import random
import shutil
import struct
import sys
import uuid
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

SEED = 20261118
ACCT_A = "111122223333"  # workloads; also hosts IAM Identity Center
ACCT_B = "444455556666"  # data; also holds the trail bucket
TRAIL = "management-events"
TRAIL_HOME = "us-east-1"
TRAIL_BUCKET = "acme-cloudtrail-logs-444455556666"
DAY0 = datetime(2026, 11, 18, tzinfo=UTC)

ATTACKER_IP = "203.0.113.66"
ATTACKER_IP6 = "2001:db8:bad:1::66"
OFFICE_IP = "198.51.100.23"
OFFICE_IP6 = "2001:db8:85a3::8a2e:370:7334"
JENKINS_IP = "198.51.100.20"
PARTNER_IP = "192.0.2.44"

UA_CHROME = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
UA_FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0"
UA_CLI = "aws-cli/2.15.0 Python/3.11.6 Linux/5.15.0-1051-aws exe/x86_64.ubuntu.22"
UA_BOTO3 = (
    "Boto3/1.35.60 md/Botocore#1.35.60 ua/2.0 os/linux#6.1.112-124.190.amzn2023.x86_64 "
    "md/arch#x86_64 lang/python#3.12.6 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.35.60"
)
UA_JAVA = (
    "aws-sdk-java/2.29.15 Linux/6.1.112-124.190.amzn2023.x86_64 OpenJDK_64-Bit_Server_VM/"
    "21.0.5+11-LTS Java/21.0.5 vendor/Amazon.com_Inc. md/internal io/sync http/Apache "
    "cfg/retry-mode/standard"
)
UA_GHA = (
    "aws-sdk-js/3.693.0 ua/2.1 os/linux#6.5.0-1025-azure lang/js md/nodejs#20.18.0 "
    "api/sts#3.693.0 m/E configure-aws-credentials-for-github-actions"
)
UA_S3CONSOLE = (
    "[S3Console/0.4, aws-internal/3 aws-sdk-java/1.12.750 Linux/5.10.228-198.884.amzn2int."
    "x86_64 OpenJDK_64-Bit_Server_VM/25.432-b06 java/1.8.0_432 vendor/Oracle_Corporation "
    "cfg/retry-mode/standard]"
)
UA_ATTACKER = "aws-cli/1.33.4 Python/3.11.9 Linux/6.8.11-amd64 botocore/1.34.122"
# Fixture: terminal escape (CSI SGR), a raw C1 CSI, a bidi override and Textual markup.
# The explorer must show these as visible escapes and never let them act.
UA_HOSTILE = (
    "aws-cli/1.33.4 \u001b[31mGRANTED\u001b[0m \u009b2J "
    "\u202etxt.exe [@click=app.quit]quit[/] botocore/1.34.122"
)

REGION_HOST = "{svc}.{region}.amazonaws.com"


def s3_ua(ua: str) -> str:
    """S3 wraps the caller's user agent in brackets (console agents come pre-wrapped)."""
    return ua if ua.startswith("[") else f"[{ua}]"


def gzip_bytes(data: bytes) -> bytes:
    """gzip with a fixed header (mtime 0, no name, OS unknown).

    gzip.compress's header bytes changed between Python releases; framing it here keeps
    the output identical on any Python that links the same deflate library.
    """
    co = zlib.compressobj(9, zlib.DEFLATED, -15, 9)
    body = co.compress(data) + co.flush()
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    return header + body + struct.pack("<II", zlib.crc32(data), len(data) & 0xFFFFFFFF)


def dumps(obj: object) -> bytes:
    # Compact like CloudTrail; keep non-ASCII as UTF-8 (the hostile UA must stay raw).
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def expiry(t: datetime) -> str:
    """STS credential expiration, in the Java date style CloudTrail logs."""
    hour = t.hour % 12 or 12
    ampm = "AM" if t.hour < 12 else "PM"
    return f"{t.strftime('%b')} {t.day}, {t.year}, {hour}:{t.minute:02d}:{t.second:02d} {ampm}"


def at(day: int, hh: int, mm: int, ss: int = 0) -> datetime:
    return DAY0 + timedelta(days=day, hours=hh, minutes=mm, seconds=ss)


# ----------------------------------------------------------------------------------------
# The two example events of the seed documents, embedded unchanged (values and key order).
# Sources: "Logging Amazon GuardDuty API calls with AWS CloudTrail" (GuardDuty User Guide)
# and "Logging Access Analyzer API Calls with AWS CloudTrail" (IAM Access Analyzer / IAM
# User Guide). They are AWS documentation examples, used here as fixtures.
# ----------------------------------------------------------------------------------------
DOC_ACCESS_ANALYZER = {
    "eventVersion": "1.05",
    "userIdentity": {
        "type": "AssumedRole",
        "principalId": "AIDACKCEVSQ6C2EXAMPLE",
        "arn": "arn:aws:iam::111122223333:user/Alice",
        "accountId": "111122223333",
        "accessKeyId": "AKIAI44QH8DHBEXAMPLE",
        "sessionContext": {
            "attributes": {"mfaAuthenticated": "false", "creationDate": "2018-06-14T22:54:20Z"},
            "sessionIssuer": {
                "type": "Role",
                "principalId": "AIDACKCEVSQ6C2EXAMPLE",
                "arn": "arn:aws:iam::111122223333:user/Alice",
                "accountId": "111122223333",
                "userName": "Alice",
            },
        },
    },
    "eventTime": "2018-06-14T22:57:36Z",
    "eventSource": "access-analyzer.amazonaws.com",
    "eventName": "CreateAnalyzer",
    "awsRegion": "us-west-2",
    "sourceIPAddress": "198.51.100.179",
    "userAgent": "aws-cli/1.16.205 Python/2.7.16 Darwin/17.7.0 botocore/1.12.195",
    "requestParameters": {
        "analyzerName": "test",
        "type": "ACCOUNT",
        "clientToken": "11111111-abcd-2222-abcd-222222222222",
    },
    "responseElements": {"arn": "arn:aws:access-analyzer:us-west-2:111122223333:analyzer/test"},
    "requestID": "22222222-dcba-4444-dcba-333333333333",
    "eventID": "33333333-bcde-5555-bcde-444444444444",
    "readOnly": False,
    "eventType": "AwsApiCall",
    "recipientAccountId": "111122223333",
}

DOC_GUARDDUTY = {
    "eventVersion": "1.05",
    "userIdentity": {
        "type": "AssumedRole",
        "principalId": "AIDACKCEVSQ6C2EXAMPLE",
        "arn": "arn:aws:iam::444455556666:user/Alice",
        "accountId": "444455556666",
        "accessKeyId": "AKIAI44QH8DHBEXAMPLE",
        "sessionContext": {
            "attributes": {"mfaAuthenticated": "false", "creationDate": "2018-06-14T22:54:20Z"},
            "sessionIssuer": {
                "type": "Role",
                "principalId": "AIDACKCEVSQ6C2EXAMPLE",
                "arn": "arn:aws:iam::444455556666:user/Alice",
                "accountId": "444455556666",
                "userName": "Alice",
            },
        },
    },
    "eventTime": "2018-06-14T22:57:56Z",
    "eventSource": "guardduty.amazonaws.com",
    "eventName": "CreateThreatIntelSet",
    "awsRegion": "us-west-2",
    "sourceIPAddress": "54.240.230.177",
    "userAgent": "console.amazonaws.com",
    "requestParameters": {
        "detectorId": "5ab04b1110c865eecf516eee2435ede7",
        "name": "Example",
        "format": "TXT",
        "activate": False,
        "location": "https://s3.amazonaws.com/bucket.name/file.txt",
    },
    "responseElements": {"threatIntelSetId": "1ab200428351c99d859bf61992460d24"},
    "requestID": "5f6bf981-7026-11e8-a9fc-5b37d2684c5c",
    "eventID": "81337b11-e5c8-4f91-b141-deb405625bc9",
    "readOnly": False,
    "eventType": "AwsApiCall",
    "recipientAccountId": "444455556666",
}

B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
UPPER_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


class Trail:
    """Builds the events in a fixed order from one RNG, then lays them out as files."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.events: list[dict] = []
        self._actors()

    # -- random identifiers --------------------------------------------------------------
    def chars(self, n: int, alphabet: str) -> str:
        return "".join(self.rng.choice(alphabet) for _ in range(n))

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def akid(self, prefix: str) -> str:
        return prefix + self.chars(16, B32)

    def pid(self, prefix: str) -> str:
        return prefix + self.chars(17, B32)

    def amz_id2(self) -> str:
        return base64.b64encode(self.rng.getrandbits(8 * 57).to_bytes(57, "big")).decode()

    # -- principals ------------------------------------------------------------------------
    def _actors(self) -> None:
        r = self
        self.ids = {
            "maria": r.pid("AIDA"),
            "ci-deploy": r.pid("AIDA"),
            "broker-svc": r.pid("AIDA"),
            "sso-admin-A": r.pid("AROA"),
            "sso-ro-A": r.pid("AROA"),
            "sso-audit-B": r.pid("AROA"),
            "sso-admin-B": r.pid("AROA"),
            "gha-deploy": r.pid("AROA"),
            "orders-api": r.pid("AROA"),
            "thumbnailer": r.pid("AROA"),
            "config-A": r.pid("AROA"),
            "config-B": r.pid("AROA"),
            "backup": r.pid("AROA"),
            "okta-analyst": r.pid("AROA"),
            "xacct": r.pid("AROA"),
            "grants": r.pid("AROA"),
            "ops-admin": r.pid("AROA"),
        }
        self.ci_key = r.akid("AKIA")  # the long-term key that leaks
        self.broker_key = r.akid("AKIA")
        self.sso_suffix = {k: r.chars(16, "0123456789abcdef") for k in ("admin", "ro", "audit")}
        self.idstore = "arn:aws:identitystore::111122223333:identitystore/d-9067c1a2b3"
        self.priya_uid = r.uuid()
        self.dana_uid = r.uuid()
        self.okta_idp = base64.b64encode(hashlib.sha1(b"okta-acme").digest()).decode()
        self.kms_key_A = r.uuid()
        self.kms_key_B = r.uuid()
        self.instances = {
            "use1": "i-0" + r.chars(16, "0123456789abcdef"),
            "euw1": "i-0" + r.chars(16, "0123456789abcdef"),
        }

    def iam_user(
        self,
        acct: str,
        name: str,
        key: str | None = None,
        *,
        console_since: datetime | None = None,
        mfa: bool = False,
    ) -> dict:
        ident: dict = {
            "type": "IAMUser",
            "principalId": self.ids[name],
            "arn": f"arn:aws:iam::{acct}:user/{name}",
            "accountId": acct,
        }
        if key is not None:
            ident["accessKeyId"] = key
        ident["userName"] = name
        if console_since is not None:
            # Console sessions use temporary ASIA credentials bound to the user.
            ident["sessionContext"] = {
                "sessionIssuer": {},
                "webIdFederationData": {},
                "attributes": {
                    "creationDate": iso(console_since),
                    "mfaAuthenticated": "true" if mfa else "false",
                },
            }
        return ident

    def role(
        self,
        acct: str,
        role_name: str,
        session: str,
        key: str,
        since: datetime,
        *,
        id_key: str,
        path: str = "",
        mfa: bool = False,
        source_identity: str | None = None,
        web_provider: str | None = None,
        ec2: bool = False,
        invoked_by: str | None = None,
        on_behalf_of: dict | None = None,
    ) -> dict:
        rid = self.ids[id_key]
        ctx: dict = {
            "sessionIssuer": {
                "type": "Role",
                "principalId": rid,
                "arn": f"arn:aws:iam::{acct}:role/{path}{role_name}",
                "accountId": acct,
                "userName": role_name,
            },
            "webIdFederationData": (
                {"federatedProvider": web_provider, "attributes": {}} if web_provider else {}
            ),
            "attributes": {
                "creationDate": iso(since),
                "mfaAuthenticated": "true" if mfa else "false",
            },
        }
        if source_identity:
            ctx["sourceIdentity"] = source_identity
        if ec2:
            ctx["ec2RoleDelivery"] = "2.0"
        ident: dict = {
            "type": "AssumedRole",
            "principalId": f"{rid}:{session}",
            "arn": f"arn:aws:sts::{acct}:assumed-role/{role_name}/{session}",
            "accountId": acct,
            "accessKeyId": key,
            "sessionContext": ctx,
        }
        if invoked_by:
            ident["invokedBy"] = invoked_by
        if on_behalf_of:
            ident["onBehalfOf"] = on_behalf_of
        return ident

    def sso(
        self,
        acct: str,
        perm: str,
        kind: str,
        user: str,
        key: str,
        since: datetime,
        region: str = "us-east-1",
    ) -> dict:
        name = f"AWSReservedSSO_{perm}_{self.sso_suffix[kind]}"
        id_key = {"admin": "sso-admin-A", "ro": "sso-ro-A", "audit": "sso-audit-B"}[kind]
        if acct == ACCT_B and kind == "admin":
            id_key = "sso-admin-B"
        return self.role(
            acct,
            name,
            user,
            key,
            since,
            id_key=id_key,
            path=f"aws-reserved/sso.amazonaws.com/{region}/",
        )

    @staticmethod
    def service(name: str) -> dict:
        return {"type": "AWSService", "invokedBy": name}

    @staticmethod
    def root(acct: str, key: str = "", since: datetime | None = None) -> dict:
        ident: dict = {
            "type": "Root",
            "principalId": acct,
            "arn": f"arn:aws:iam::{acct}:root",
            "accountId": acct,
            "accessKeyId": key,
        }
        if since is not None:
            ident["sessionContext"] = {
                "sessionIssuer": {},
                "webIdFederationData": {},
                "attributes": {"creationDate": iso(since), "mfaAuthenticated": "true"},
            }
        return ident

    # -- events ------------------------------------------------------------------------------
    def event(
        self,
        t: datetime,
        acct: str,
        region: str,
        ident: dict,
        source: str,
        name: str,
        *,
        ip: str,
        ua: str,
        req: dict | None = None,
        resp: dict | None = None,
        ro: bool = True,
        data: bool = False,
        etype: str = "AwsApiCall",
        error: tuple[str, str] | None = None,
        extra: dict | None = None,
        resources: list | None = None,
        version: str = "1.09",
        host: str | None = "",
        shared: str | None = None,
        console: bool = False,
        service_details: dict | None = None,
        vpce: str | None = None,
        request_id: str | None = None,
    ) -> dict:
        """One record with CloudTrail's own key order; host "" = default endpoint, None = no TLS."""
        ev: dict = {
            "eventVersion": version,
            "userIdentity": ident,
            "eventTime": iso(t),
            "eventSource": source,
            "eventName": name,
            "awsRegion": region,
            "sourceIPAddress": ip,
            "userAgent": ua,
        }
        if error:
            ev["errorCode"], ev["errorMessage"] = error
        ev["requestParameters"] = req
        ev["responseElements"] = resp
        if extra is not None:
            ev["additionalEventData"] = extra
        svc = source.split(".")[0]
        if request_id is None:
            request_id = self.chars(16, UPPER_ALNUM) if svc == "s3" else self.uuid()
        ev["requestID"] = request_id
        ev["eventID"] = self.uuid()
        ev["readOnly"] = ro
        if resources is not None:
            ev["resources"] = resources
        ev["eventType"] = etype
        ev["managementEvent"] = not data
        ev["recipientAccountId"] = acct
        if service_details is not None:
            ev["serviceEventDetails"] = service_details
        if shared is not None:
            ev["sharedEventID"] = shared
        if vpce is not None:
            ev["vpcEndpointId"] = vpce
        ev["eventCategory"] = "Data" if data else "Management"
        if host is not None and ip != "AWS Internal" and not ip.endswith(".amazonaws.com"):
            if host == "":
                host = (
                    f"{svc}.amazonaws.com"
                    if svc in ("iam", "sts", "s3")
                    else REGION_HOST.format(svc=svc, region=region)
                )
            ev["tlsDetails"] = {
                "tlsVersion": "TLSv1.3",
                "cipherSuite": "TLS_AES_128_GCM_SHA256",
                "clientProvidedHostHeader": host,
            }
        if console:
            ev["sessionCredentialFromConsole"] = "true"
        self.events.append(ev)
        return ev

    def s3_object(
        self,
        t: datetime,
        acct: str,
        region: str,
        ident: dict,
        name: str,
        bucket: str,
        key: str,
        owner: str,
        *,
        ip: str,
        ua: str,
        size: int,
        error: tuple[str, str] | None = None,
        anonymous: bool = False,
        vpce: str | None = None,
    ) -> dict:
        """An S3 object-level data event (GetObject/PutObject/HeadObject/ListObjects)."""
        write = name in ("PutObject", "DeleteObject")
        req: dict = {"bucketName": bucket, "Host": f"{bucket}.s3.{region}.amazonaws.com"}
        if name == "ListObjects":
            req.update({"prefix": key, "delimiter": "/", "encoding-type": "url"})
        else:
            req["key"] = key
        resp = None
        if name == "PutObject" and not error:
            resp = {
                "x-amz-server-side-encryption": "aws:kms",
                "x-amz-server-side-encryption-aws-kms-key-id": (
                    f"arn:aws:kms:{region}:{owner}:key/{self.kms_key_B}"
                ),
                "x-amz-version-id": self.chars(32, ALNUM[:62]),
            }
        extra: dict = {}
        if not anonymous:
            extra["SignatureVersion"] = "SigV4"
        extra["CipherSuite"] = "TLS_AES_128_GCM_SHA256"
        extra["bytesTransferredIn"] = size if write else 0
        if not anonymous:
            extra["AuthenticationMethod"] = "AuthHeader"
        extra["x-amz-id-2"] = self.amz_id2()
        extra["bytesTransferredOut"] = 0 if (write or error) else size
        res: list = []
        if name != "ListObjects":
            res.append({"type": "AWS::S3::Object", "ARN": f"arn:aws:s3:::{bucket}/{key}"})
        res.append({"accountId": owner, "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{bucket}"})
        return self.event(
            t,
            owner,
            region,
            ident,
            "s3.amazonaws.com",
            name,
            ip=ip,
            ua=s3_ua(ua),
            req=req,
            resp=resp,
            ro=not write,
            data=True,
            error=error,
            extra=extra,
            resources=res,
            version="1.10",
            host=req["Host"],
            vpce=vpce,
        )

    def s3_mgmt(
        self,
        t: datetime,
        acct: str,
        ident: dict,
        name: str,
        bucket: str | None,
        *,
        ip: str,
        ua: str,
        sub: str = "",
        region: str = "us-east-1",
        error: tuple[str, str] | None = None,
        console: bool = False,
        owner: str | None = None,
    ) -> dict:
        """A bucket-level S3 management event (ListBuckets, GetBucketAcl, ...)."""
        if bucket is None:
            req = {"Host": f"s3.{region}.amazonaws.com"}
            res = None
        else:
            req = {"bucketName": bucket, "Host": f"{bucket}.s3.{region}.amazonaws.com"}
            if sub:
                req[sub] = ""
            res = [{"type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{bucket}"}]
            if owner:
                res[0] = {"accountId": owner, **res[0]}
        extra = {
            "SignatureVersion": "SigV4",
            "CipherSuite": "TLS_AES_128_GCM_SHA256",
            "bytesTransferredIn": 0,
            "AuthenticationMethod": "AuthHeader",
            "x-amz-id-2": self.amz_id2(),
            "bytesTransferredOut": 0 if error else self.rng.randint(180, 2400),
        }
        internal = ip == "AWS Internal"
        return self.event(
            t,
            acct,
            region,
            ident,
            "s3.amazonaws.com",
            name,
            ip=ip,
            ua=ua if internal else s3_ua(ua),
            req=req,
            error=error,
            extra=extra,
            resources=res,
            version="1.10",
            host=req["Host"],
            console=console,
        )

    def assume_role(
        self,
        t: datetime,
        acct: str,
        ident: dict,
        role_arn: str,
        session: str,
        new_key: str,
        *,
        ip: str,
        ua: str,
        region: str = "us-east-1",
        source_identity: str | None = None,
        shared: str | None = None,
        role_id: str = "",
        duration: int = 3600,
    ) -> dict:
        req: dict = {"roleArn": role_arn, "roleSessionName": session, "durationSeconds": duration}
        if source_identity:
            req["sourceIdentity"] = source_identity
        role_acct = role_arn.split(":")[4]
        role_name = role_arn.rsplit("/", 1)[1]
        session_arn = f"arn:aws:sts::{role_acct}:assumed-role/{role_name}/{session}"
        resp: dict = {
            "credentials": {
                "accessKeyId": new_key,
                "expiration": expiry(t + timedelta(seconds=duration)),
            },
            "assumedRoleUser": {"assumedRoleId": f"{role_id}:{session}", "arn": session_arn},
        }
        if source_identity:
            resp["sourceIdentity"] = source_identity
        host = None if ip.endswith(".amazonaws.com") else f"sts.{region}.amazonaws.com"
        return self.event(
            t,
            acct,
            region,
            ident,
            "sts.amazonaws.com",
            "AssumeRole",
            ip=ip,
            ua=ua,
            req=req,
            resp=resp,
            resources=[{"accountId": role_acct, "type": "AWS::IAM::Role", "ARN": role_arn}],
            shared=shared,
            host=host,
            version="1.08",
        )

    def console_login(
        self, t: datetime, acct: str, ident: dict, *, ip: str, ua: str, ok: bool, mfa: bool
    ) -> dict:
        state = self.chars(16, "0123456789abcdef")
        extra = {
            "LoginTo": "https://console.aws.amazon.com/console/home?hashArgs=%23&isauthcode"
            f"=true&state=hashArgsFromTB_us-east-1_{state}",
            "MobileVersion": "No",
            "MFAUsed": "Yes" if mfa else "No",
        }
        if mfa:
            extra["MFAIdentifier"] = f"arn:aws:iam::{acct}:mfa/" + (
                ident.get("userName", "root-account-mfa-device") + "-phone"
                if ident["type"] == "IAMUser"
                else "root-account-mfa-device"
            )
        return self.event(
            t,
            acct,
            "us-east-1",
            ident,
            "signin.amazonaws.com",
            "ConsoleLogin",
            ip=ip,
            ua=ua,
            resp={"ConsoleLogin": "Success" if ok else "Failure"},
            ro=False,
            etype="AwsConsoleSignIn",
            extra=extra,
            host="signin.aws.amazon.com",
        )

    def fail_login(
        self, t: datetime, acct: str, ident: dict, *, ip: str, ua: str, message: str
    ) -> dict:
        ev = self.console_login(t, acct, ident, ip=ip, ua=ua, ok=False, mfa=False)
        # A failed sign-in carries errorMessage without errorCode, right after userAgent.
        rebuilt: dict = {}
        for k, v in ev.items():
            rebuilt[k] = v
            if k == "userAgent":
                rebuilt["errorMessage"] = message
        ev.clear()
        ev.update(rebuilt)
        return ev

    def when(self, start: datetime, *gaps: int) -> list[datetime]:
        """Times of a burst of calls: each gap in seconds, jittered."""
        out, t = [], start + timedelta(seconds=self.rng.randint(0, 40))
        for g in gaps:
            t += timedelta(seconds=max(1, g + self.rng.randint(-g // 3, g // 3)))
            out.append(t)
        return out

    # -- the story ----------------------------------------------------------------------------
    def build(self) -> None:
        for day in range(3):
            self.day_background(day)
        self.incident(1)
        self.response(1)
        self.aftermath(2)
        self.events.append(copy.deepcopy(DOC_ACCESS_ANALYZER))
        self.events.append(copy.deepcopy(DOC_GUARDDUTY))

    def day_background(self, d: int) -> None:
        rng = self.rng
        # IAM Identity Center portal: Priya picks accounts and roles every morning.
        priya_ic = {
            "type": "IdentityCenterUser",
            "accountId": ACCT_A,
            "onBehalfOf": {"userId": self.priya_uid, "identityStoreArn": self.idstore},
            "credentialId": base64.urlsafe_b64encode(hashlib.sha512(f"priya-{d}".encode()).digest())
            .decode()
            .rstrip("="),
        }
        t0 = at(d, 8, 52)
        ts = self.when(t0, 5, 9, 14, 20, 12)
        portal = [
            ("ListAccounts", {"maxResults": 100}),
            ("ListAccountRoles", {"accountId": ACCT_A, "maxResults": 50}),
            ("GetRoleCredentials", {"roleName": "AdministratorAccess", "accountId": ACCT_A}),
            ("ListAccountRoles", {"accountId": ACCT_B, "maxResults": 50}),
            ("GetRoleCredentials", {"roleName": "SecurityAudit", "accountId": ACCT_B}),
        ]
        for t, (name, req) in zip(ts, portal, strict=True):
            self.event(
                t,
                ACCT_A,
                "us-east-1",
                priya_ic,
                "sso.amazonaws.com",
                name,
                ip=OFFICE_IP,
                ua=UA_CHROME,
                req=req,
                host="portal.sso.us-east-1.amazonaws.com",
                version="1.10",
            )

        # Priya's admin console session in account A.
        since = ts[2]
        key = self.akid("ASIA")
        admin = self.sso(
            ACCT_A, "AdministratorAccess", "admin", "priya.shah@example.com", key, since
        )
        t = ts[-1]
        calls = [
            (
                "ec2.amazonaws.com",
                "DescribeInstances",
                {"instancesSet": {}, "filterSet": {}, "maxResults": 1000},
                "us-east-1",
            ),
            (
                "ec2.amazonaws.com",
                "DescribeSecurityGroups",
                {"securityGroupSet": {}, "securityGroupIdSet": {}, "filterSet": {}},
                "us-east-1",
            ),
            ("cloudwatch.amazonaws.com", "DescribeAlarms", {"maxRecords": 100}, "us-east-1"),
            (
                "ec2.amazonaws.com",
                "DescribeInstances",
                {"instancesSet": {}, "filterSet": {}, "maxResults": 1000},
                "eu-west-1",
            ),
            ("rds.amazonaws.com", "DescribeDBInstances", {"maxRecords": 100}, "eu-west-1"),
            ("lambda.amazonaws.com", "ListFunctions20150331", {"maxItems": 50}, "us-west-2"),
        ]
        for src, name, req, region in calls:
            t += timedelta(seconds=rng.randint(15, 70))
            self.event(
                t,
                ACCT_A,
                region,
                admin,
                src,
                name,
                ip=OFFICE_IP,
                ua=UA_CHROME,
                req=req,
                console=True,
                version="1.10",
            )
        t += timedelta(seconds=40)
        self.s3_mgmt(
            t, ACCT_A, admin, "ListBuckets", None, ip=OFFICE_IP, ua=UA_S3CONSOLE, console=True
        )

        # Tom: read-only SSO role from the CLI over IPv6, in us-west-2.
        tk = self.akid("ASIA")
        tsince = at(d, 9, 30, 4)
        ro_id = self.sso(ACCT_A, "ReadOnlyAccess", "ro", "tom.becker@example.com", tk, tsince)
        ts = self.when(tsince, 20, 6, 8, 30)
        cli_calls = [
            ("sts.amazonaws.com", "GetCallerIdentity", None),
            ("ecs.amazonaws.com", "ListClusters", {"maxResults": 100}),
            (
                "ecs.amazonaws.com",
                "DescribeServices",
                {"cluster": "orders", "services": ["orders-api"]},
            ),
            (
                "logs.amazonaws.com",
                "FilterLogEvents",
                {
                    "logGroupName": "/ecs/orders-api",
                    "startTime": 1763456400000 + d * 86400000,
                    "filterPattern": "ERROR",
                    "interleaved": True,
                },
            ),
        ]
        for t, (src, name, req) in zip(ts, cli_calls, strict=True):
            self.event(
                t,
                ACCT_A,
                "us-west-2",
                ro_id,
                src,
                name,
                ip=OFFICE_IP6,
                ua=UA_CLI + f" prompt/off command/{src.split('.')[0]}.{name.lower()}",
                req=req,
                host=None if src.startswith("sts") else "",
            )
        if d == 0:
            # A read-only role cannot change bucket policy.
            self.s3_mgmt(
                ts[-1] + timedelta(seconds=50),
                ACCT_A,
                ro_id,
                "PutBucketPolicy",
                "acme-orders-artifacts",
                ip=OFFICE_IP6,
                ua=UA_CLI,
                sub="policy",
                region="us-west-2",
                error=("AccessDenied", "Access Denied"),
            )

        # Maria: IAM user, console with MFA.
        mt = at(d, 10, 14, 9)
        self.console_login(
            mt,
            ACCT_A,
            self.iam_user(ACCT_A, "maria"),
            ip=OFFICE_IP,
            ua=UA_FIREFOX,
            ok=True,
            mfa=True,
        )
        mk = self.akid("ASIA")
        maria = self.iam_user(ACCT_A, "maria", mk, console_since=mt, mfa=True)
        ts = self.when(mt, 25, 30, 10, 45, 20)
        mcalls = [
            ("iam.amazonaws.com", "GetAccountSummary", None, True),
            ("iam.amazonaws.com", "ListRoles", {"maxItems": 100}, True),
            (
                "lambda.amazonaws.com",
                "GetFunction20150331v2",
                {"functionName": "thumbnailer"},
                True,
            ),
            (
                "lambda.amazonaws.com",
                "UpdateFunctionConfiguration20150331v2",
                {"functionName": "thumbnailer", "timeout": 30, "memorySize": 512},
                False,
            ),
            (
                "cloudwatch.amazonaws.com",
                "GetMetricData",
                {
                    "metricDataQueries": [
                        {
                            "id": "m1",
                            "metricStat": {
                                "metric": {
                                    "namespace": "AWS/Lambda",
                                    "metricName": "Errors",
                                    "dimensions": [
                                        {"name": "FunctionName", "value": "thumbnailer"}
                                    ],
                                },
                                "period": 300,
                                "stat": "Sum",
                            },
                        }
                    ],
                    "startTime": iso(mt - timedelta(hours=3)),
                    "endTime": iso(mt),
                },
                True,
            ),
        ]
        for t, (src, name, req, ro) in zip(ts, mcalls, strict=True):
            region = "us-east-1" if src.startswith("iam") else "us-west-2"
            resp = None
            if name.startswith("Update"):
                resp = {
                    "functionName": "thumbnailer",
                    "functionArn": f"arn:aws:lambda:us-west-2:{ACCT_A}:function:thumbnailer",
                    "runtime": "python3.12",
                    "timeout": 30,
                    "memorySize": 512,
                    "lastUpdateStatus": "InProgress",
                }
            self.event(
                t,
                ACCT_A,
                region,
                maria,
                src,
                name,
                ip=OFFICE_IP,
                ua="AWS Internal" if src.startswith("cloudwatch") else UA_FIREFOX,
                req=req,
                resp=resp,
                ro=ro,
                console=True,
            )

        # Maria switches role (with MFA) to ops-admin to tag volumes.
        st = ts[-1] + timedelta(seconds=rng.randint(60, 200))
        ok_ = self.akid("ASIA")
        self.assume_role(
            st,
            ACCT_A,
            maria,
            f"arn:aws:iam::{ACCT_A}:role/ops-admin",
            "maria",
            ok_,
            ip=OFFICE_IP,
            ua=UA_FIREFOX,
            role_id=self.ids["ops-admin"],
        )
        ops = self.role(ACCT_A, "ops-admin", "maria", ok_, st, id_key="ops-admin", mfa=True)
        ts2 = self.when(st, 20, 35)
        vol = "vol-0" + self.chars(16, "0123456789abcdef")
        self.event(
            ts2[0],
            ACCT_A,
            "eu-west-1",
            ops,
            "ec2.amazonaws.com",
            "DescribeVolumes",
            ip=OFFICE_IP,
            ua=UA_FIREFOX,
            req={
                "volumeSet": {},
                "filterSet": {
                    "items": [{"name": "tag:team", "valueSet": {"items": [{"value": "orders"}]}}]
                },
            },
            console=True,
        )
        self.event(
            ts2[1],
            ACCT_A,
            "eu-west-1",
            ops,
            "ec2.amazonaws.com",
            "CreateTags",
            ip=OFFICE_IP,
            ua=UA_FIREFOX,
            ro=False,
            req={
                "resourcesSet": {"items": [{"resourceId": vol}]},
                "tagSet": {"items": [{"key": "cost-center", "value": "orders-4410"}]},
            },
            resp={"_return": True},
            console=True,
        )

        # Jenkins with the long-term ci-deploy key: three builds a day from its fixed IP.
        ci = self.iam_user(ACCT_A, "ci-deploy", self.ci_key)
        for hh in (6, 13, 20):
            bt = at(d, hh, rng.randint(0, 3) * 5 + 1, rng.randint(0, 59))
            ts = self.when(bt, 2, 5, 9, 4)
            build = self.rng.randint(1100, 1999) + 10 * d
            artifact = f"builds/orders-api/{build}/app.zip"
            self.event(
                ts[0],
                ACCT_A,
                "us-east-1",
                ci,
                "sts.amazonaws.com",
                "GetCallerIdentity",
                ip=JENKINS_IP,
                ua=UA_CLI + " prompt/off command/sts.get-caller-identity",
                host="sts.us-east-1.amazonaws.com",
            )
            self.s3_object(
                ts[1],
                ACCT_A,
                "us-east-1",
                ci,
                "PutObject",
                "acme-orders-artifacts",
                artifact,
                ACCT_A,
                ip=JENKINS_IP,
                ua=UA_CLI + " prompt/off command/s3.cp",
                size=rng.randint(4_000_000, 9_000_000),
            )
            self.event(
                ts[2],
                ACCT_A,
                "us-east-1",
                ci,
                "cloudformation.amazonaws.com",
                "DescribeStacks",
                ip=JENKINS_IP,
                ua=UA_CLI + " prompt/off command/cloudformation.describe-stacks",
                req={"stackName": "orders-api-prod"},
            )
            if hh == 13:
                self.event(
                    ts[3],
                    ACCT_A,
                    "us-east-1",
                    ci,
                    "cloudformation.amazonaws.com",
                    "UpdateStack",
                    ip=JENKINS_IP,
                    ro=False,
                    ua=UA_CLI + " prompt/off command/cloudformation.deploy",
                    req={
                        "stackName": "orders-api-prod",
                        "usePreviousTemplate": True,
                        "parameters": [{"parameterKey": "ArtifactKey", "parameterValue": artifact}],
                        "capabilities": ["CAPABILITY_IAM"],
                    },
                    resp={
                        "stackId": f"arn:aws:cloudformation:us-east-1:{ACCT_A}:stack/"
                        "orders-api-prod/6f0d6a40-2b1e-11ef-9c47-0affd1c3b8a1"
                    },
                )

        # GitHub Actions: OIDC web identity -> gha-deploy role -> ECR/ECS.
        oidc = f"arn:aws:iam::{ACCT_A}:oidc-provider/token.actions.githubusercontent.com"
        subject = "repo:acme-corp/orders-api:ref:refs/heads/main"
        for hh in (11, 16):
            gt = at(d, hh, rng.randint(0, 11) * 5 + 2, rng.randint(0, 59))
            gk = self.akid("ASIA")
            web = {
                "type": "WebIdentityUser",
                "principalId": f"{oidc}:sts.amazonaws.com:{subject}",
                "userName": subject,
                "identityProvider": oidc,
            }
            role_arn = f"arn:aws:iam::{ACCT_A}:role/gha-deploy"
            self.event(
                gt,
                ACCT_A,
                "us-east-1",
                web,
                "sts.amazonaws.com",
                "AssumeRoleWithWebIdentity",
                ip=f"20.{rng.randint(36, 60)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
                ua=UA_GHA,
                req={
                    "roleArn": role_arn,
                    "roleSessionName": "GitHubActions",
                    "durationSeconds": 3600,
                },
                resp={
                    "credentials": {
                        "accessKeyId": gk,
                        "expiration": expiry(gt + timedelta(hours=1)),
                    },
                    "subjectFromWebIdentityToken": subject,
                    "assumedRoleUser": {
                        "assumedRoleId": f"{self.ids['gha-deploy']}:GitHubActions",
                        "arn": f"arn:aws:sts::{ACCT_A}:assumed-role/gha-deploy/GitHubActions",
                    },
                    "provider": oidc,
                    "audience": "sts.amazonaws.com",
                },
                resources=[{"accountId": ACCT_A, "type": "AWS::IAM::Role", "ARN": role_arn}],
                host="sts.us-east-1.amazonaws.com",
                version="1.08",
            )
            gha = self.role(
                ACCT_A,
                "gha-deploy",
                "GitHubActions",
                gk,
                gt,
                id_key="gha-deploy",
                web_provider=oidc,
            )
            runner_ip = f"52.{rng.randint(160, 191)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
            ts = self.when(gt, 3, 40, 30, 5, 60)
            tag = self.chars(7, "0123456789abcdef")
            digest = "sha256:" + hashlib.sha256(tag.encode()).hexdigest()
            steps = [
                ("ecr.amazonaws.com", "GetAuthorizationToken", None, None, True),
                (
                    "ecr.amazonaws.com",
                    "PutImage",
                    {
                        "repositoryName": "orders-api",
                        "imageTag": tag,
                        "imageManifestMediaType": "application/vnd.oci.image.manifest.v1+json",
                    },
                    {
                        "image": {
                            "registryId": ACCT_A,
                            "repositoryName": "orders-api",
                            "imageId": {"imageDigest": digest, "imageTag": tag},
                        }
                    },
                    False,
                ),
                (
                    "ecs.amazonaws.com",
                    "RegisterTaskDefinition",
                    {
                        "family": "orders-api",
                        "networkMode": "awsvpc",
                        "cpu": "512",
                        "memory": "1024",
                        "containerDefinitions": [
                            {
                                "name": "app",
                                "image": f"{ACCT_A}.dkr.ecr.us-east-1.amazonaws.com/"
                                f"orders-api:{tag}",
                                "essential": True,
                                "portMappings": [{"containerPort": 8080, "protocol": "tcp"}],
                            }
                        ],
                    },
                    {
                        "taskDefinition": {
                            "family": "orders-api",
                            "revision": 200 + 2 * d + hh % 2,
                            "status": "ACTIVE",
                        }
                    },
                    False,
                ),
                (
                    "ecs.amazonaws.com",
                    "UpdateService",
                    {
                        "cluster": "orders",
                        "service": "orders-api",
                        "taskDefinition": f"orders-api:{200 + 2 * d + hh % 2}",
                        "forceNewDeployment": False,
                    },
                    None,
                    False,
                ),
                (
                    "ecs.amazonaws.com",
                    "DescribeServices",
                    {"cluster": "orders", "services": ["orders-api"]},
                    None,
                    True,
                ),
            ]
            for t, (src, name, req, resp, ro) in zip(ts, steps, strict=True):
                self.event(
                    t,
                    ACCT_A,
                    "us-east-1",
                    gha,
                    src,
                    name,
                    ip=runner_ip,
                    ua=UA_GHA.replace(
                        "api/sts#3.693.0 m/E configure-aws-credentials-for-github-actions",
                        f"api/{src.split('.')[0]}#3.693.0",
                    ),
                    req=req,
                    resp=resp,
                    ro=ro,
                )

        # The orders-api instance role (EC2), with EC2 refreshing its credentials.
        for region, inst, hours in (
            ("us-east-1", self.instances["use1"], (3, 9, 15, 21)),
            ("eu-west-1", self.instances["euw1"], (7, 19)),
        ):
            for hh in hours:
                it = at(d, hh, rng.randint(0, 11) * 5 + 1, rng.randint(0, 30))
                ik = self.akid("ASIA")
                role_arn = f"arn:aws:iam::{ACCT_A}:role/orders-api-instance-role"
                self.assume_role(
                    it,
                    ACCT_A,
                    self.service("ec2.amazonaws.com"),
                    role_arn,
                    inst,
                    ik,
                    ip="ec2.amazonaws.com",
                    ua="ec2.amazonaws.com",
                    region=region,
                    role_id=self.ids["orders-api"],
                    duration=21600,
                )
                app = self.role(
                    ACCT_A, "orders-api-instance-role", inst, ik, it, id_key="orders-api", ec2=True
                )
                ts = self.when(it, 20, 40, 30)
                bucket = f"acme-orders-data-{region}"
                order = self.uuid()[:8]
                self.event(
                    ts[0],
                    ACCT_A,
                    region,
                    app,
                    "kms.amazonaws.com",
                    "GenerateDataKey",
                    ip="AWS Internal",
                    ua="AWS Internal",
                    req={
                        "keyId": f"arn:aws:kms:{region}:{ACCT_A}:key/{self.kms_key_A}",
                        "keySpec": "AES_256",
                        "encryptionContext": {
                            "aws:s3:arn": f"arn:aws:s3:::{bucket}/orders/{order}.json"
                        },
                    },
                    resources=[
                        {
                            "accountId": ACCT_A,
                            "type": "AWS::KMS::Key",
                            "ARN": f"arn:aws:kms:{region}:{ACCT_A}:key/{self.kms_key_A}",
                        }
                    ],
                    version="1.08",
                )
                self.s3_object(
                    ts[1],
                    ACCT_A,
                    region,
                    app,
                    "PutObject",
                    bucket,
                    f"orders/{order}.json",
                    ACCT_A,
                    ip=f"3.{rng.randint(80, 95)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
                    ua=UA_JAVA,
                    size=rng.randint(900, 6000),
                )
                # Through the S3 gateway endpoint: a private source IP and vpcEndpointId.
                self.s3_object(
                    ts[2],
                    ACCT_A,
                    region,
                    app,
                    "GetObject",
                    bucket,
                    f"config/pricing-{region}.json",
                    ACCT_A,
                    ip=f"10.20.{rng.randint(0, 15)}.{rng.randint(4, 254)}",
                    ua=UA_JAVA,
                    size=rng.randint(2000, 40000),
                    vpce="vpce-03f1c2a9b8d7e6f50"
                    if region == "us-east-1"
                    else "vpce-06a2b4c8d0e1f2345",
                )

        # The thumbnailer Lambda in us-west-2: S3 in, S3 out, KMS via S3 (AWS Internal).
        for hh in (2, 8, 12, 17):
            lt = at(d, hh, rng.randint(0, 11) * 5 + 3, rng.randint(0, 40))
            lk = self.akid("ASIA")
            lam = self.role(
                ACCT_A,
                "thumbnailer-role",
                "thumbnailer",
                lk,
                lt - timedelta(minutes=rng.randint(5, 50)),
                id_key="thumbnailer",
                path="service-role/",
            )
            lip = f"44.{rng.randint(224, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
            img = self.chars(12, "0123456789abcdef")
            ts = self.when(lt, 1, 1, 2)
            self.s3_object(
                ts[0],
                ACCT_A,
                "us-west-2",
                lam,
                "GetObject",
                "acme-uploads-usw2",
                f"raw/{img}.jpg",
                ACCT_A,
                ip=lip,
                ua=UA_BOTO3 + " exec-env/AWS_Lambda_python3.12",
                size=rng.randint(800_000, 6_000_000),
            )
            kms_user = dict(lam, invokedBy="s3.amazonaws.com")
            self.event(
                ts[1],
                ACCT_A,
                "us-west-2",
                kms_user,
                "kms.amazonaws.com",
                "Decrypt",
                ip="s3.amazonaws.com",
                ua="s3.amazonaws.com",
                req={
                    "encryptionContext": {
                        "aws:s3:arn": f"arn:aws:s3:::acme-uploads-usw2/thumbs/{img}.jpg"
                    },
                    "encryptionAlgorithm": "SYMMETRIC_DEFAULT",
                },
                resources=[
                    {
                        "accountId": ACCT_A,
                        "type": "AWS::KMS::Key",
                        "ARN": f"arn:aws:kms:us-west-2:{ACCT_A}:key/{self.kms_key_A}",
                    }
                ],
                version="1.08",
            )
            self.s3_object(
                ts[2],
                ACCT_A,
                "us-west-2",
                lam,
                "PutObject",
                "acme-uploads-usw2",
                f"thumbs/{img}.jpg",
                ACCT_A,
                ip=lip,
                ua=UA_BOTO3 + " exec-env/AWS_Lambda_python3.12",
                size=rng.randint(20_000, 90_000),
            )

        # AWS Config sweeps the bucket configuration through its service-linked role.
        for acct, region, hh in (
            (ACCT_A, "us-east-1", 4),
            (ACCT_A, "eu-west-1", 4),
            (ACCT_B, "us-east-1", 5),
        ):
            ct = at(d, hh, 20 + rng.randint(0, 5) * 5, rng.randint(0, 30))
            cfg = self.role(
                acct,
                "AWSServiceRoleForConfig",
                "AWSConfig-Describe",
                self.akid("ASIA"),
                ct - timedelta(minutes=2),
                id_key="config-A" if acct == ACCT_A else "config-B",
                path="aws-service-role/config.amazonaws.com/",
                invoked_by="AWS Internal",
            )
            bucket = TRAIL_BUCKET if acct == ACCT_B else f"acme-orders-data-{region}"
            probes = (
                ("GetBucketAcl", "acl"),
                ("GetBucketVersioning", "versioning"),
                ("GetBucketPolicy", "policy"),
            )
            for t, (name, sub) in zip(self.when(ct, 1, 1, 2), probes, strict=True):
                self.s3_mgmt(
                    t,
                    acct,
                    cfg,
                    name,
                    bucket,
                    ip="AWS Internal",
                    ua="AWS Internal",
                    sub=sub,
                    region=region,
                    owner=acct,
                )

        # CloudTrail checks its bucket ACL before delivering (account B owns the bucket).
        for hh in (2, 14):
            self.s3_mgmt(
                at(d, hh, 10 + rng.randint(0, 8) * 5, rng.randint(0, 59)),
                ACCT_B,
                self.service("cloudtrail.amazonaws.com"),
                "GetBucketAcl",
                TRAIL_BUCKET,
                ip="cloudtrail.amazonaws.com",
                ua="cloudtrail.amazonaws.com",
                sub="acl",
                owner=ACCT_B,
            )

        # Nightly backups at 23:56 (delivered after midnight, into the next day's folder).
        if d < 2:
            bt = at(d, 23, 56, rng.randint(0, 20))
            bk = self.akid("ASIA")
            role_arn = f"arn:aws:iam::{ACCT_A}:role/service-role/AWSBackupDefaultServiceRole"
            self.assume_role(
                bt,
                ACCT_A,
                self.service("backup.amazonaws.com"),
                role_arn,
                "AWSBackup-AWSBackupDefaultServiceRole",
                bk,
                ip="backup.amazonaws.com",
                ua="backup.amazonaws.com",
                role_id=self.ids["backup"],
            )
            bak = self.role(
                ACCT_A,
                "AWSBackupDefaultServiceRole",
                "AWSBackup-AWSBackupDefaultServiceRole",
                bk,
                bt,
                id_key="backup",
                path="service-role/",
                invoked_by="backup.amazonaws.com",
            )
            vol = "vol-0" + self.chars(16, "0123456789abcdef")
            snap = "snap-0" + self.chars(16, "0123456789abcdef")
            ts = self.when(bt, 4, 2)
            self.event(
                ts[0],
                ACCT_A,
                "us-east-1",
                bak,
                "ec2.amazonaws.com",
                "CreateSnapshot",
                ip="backup.amazonaws.com",
                ua="backup.amazonaws.com",
                ro=False,
                req={
                    "volumeId": vol,
                    "description": "This snapshot is created by the AWS Backup service.",
                    "tagSpecificationSet": {
                        "items": [
                            {
                                "resourceType": "snapshot",
                                "tags": [
                                    {
                                        "key": "aws:backup:source-resource",
                                        "value": f"{vol}:{at(d, 23, 56).strftime('%Y%m%d')}",
                                    }
                                ],
                            }
                        ]
                    },
                },
                resp={
                    "snapshotId": snap,
                    "volumeId": vol,
                    "status": "pending",
                    "startTime": (bt.timestamp() + 5) * 1000 // 1,
                    "progress": "",
                    "ownerId": ACCT_A,
                    "volumeSize": 100,
                    "encrypted": True,
                },
            )
            self.event(
                ts[1],
                ACCT_A,
                "us-east-1",
                bak,
                "ec2.amazonaws.com",
                "DescribeSnapshots",
                ip="backup.amazonaws.com",
                ua="backup.amazonaws.com",
                req={"snapshotSet": {"items": [{"snapshotId": snap}]}, "filterSet": {}},
            )

        # Account B: the partner broker vends federation tokens for nightly uploads.
        pt = at(d, 2, 31, rng.randint(0, 40))
        broker = self.iam_user(ACCT_B, "broker-svc", self.broker_key)
        fk = self.akid("ASIA")
        self.event(
            pt,
            ACCT_B,
            "us-east-1",
            broker,
            "sts.amazonaws.com",
            "GetFederationToken",
            ip=PARTNER_IP,
            ua=UA_BOTO3,
            req={
                "name": "partner-upload",
                "durationSeconds": 3600,
                "policy": json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Action": "s3:PutObject",
                                "Resource": "arn:aws:s3:::acme-partner-inbox/incoming/*",
                            }
                        ],
                    }
                ),
            },
            resp={
                "credentials": {"accessKeyId": fk, "expiration": expiry(pt + timedelta(hours=1))},
                "federatedUser": {
                    "federatedUserId": f"{ACCT_B}:partner-upload",
                    "arn": f"arn:aws:sts::{ACCT_B}:federated-user/partner-upload",
                },
                "packedPolicySize": 11,
            },
            host="sts.us-east-1.amazonaws.com",
            version="1.08",
        )
        fed = {
            "type": "FederatedUser",
            "principalId": f"{ACCT_B}:partner-upload",
            "arn": f"arn:aws:sts::{ACCT_B}:federated-user/partner-upload",
            "accountId": ACCT_B,
            "accessKeyId": fk,
            "sessionContext": {
                "sessionIssuer": {
                    "type": "IAMUser",
                    "principalId": self.ids["broker-svc"],
                    "arn": f"arn:aws:iam::{ACCT_B}:user/broker-svc",
                    "accountId": ACCT_B,
                    "userName": "broker-svc",
                },
                "webIdFederationData": {},
                "attributes": {"creationDate": iso(pt), "mfaAuthenticated": "false"},
            },
        }
        for i, t in enumerate(self.when(pt, 25, 9, 11)):
            self.s3_object(
                t,
                ACCT_B,
                "eu-west-1",
                fed,
                "PutObject",
                "acme-partner-inbox",
                f"incoming/{(DAY0 + timedelta(days=d)).strftime('%Y%m%d')}/batch-{i:03d}.csv",
                ACCT_B,
                ip=PARTNER_IP,
                ua=UA_BOTO3,
                size=rng.randint(200_000, 2_000_000),
            )

        # Account B: anonymous reads of the public assets bucket.
        for hh, ip in (
            (1, f"2001:db8:{rng.randint(0x1000, 0xFFFF):x}::{rng.randint(1, 0xFFF):x}"),
            (12, f"192.0.2.{rng.randint(100, 199)}"),
            (18, f"198.51.100.{rng.randint(100, 199)}"),
        ):
            anon = {"type": "AWSAccount", "principalId": "", "accountId": "ANONYMOUS_PRINCIPAL"}
            self.s3_object(
                at(d, hh, rng.randint(0, 11) * 5 + 2, rng.randint(0, 59)),
                ACCT_B,
                "us-east-1",
                anon,
                "GetObject",
                "acme-public-assets",
                f"img/logo-{rng.randint(1, 4)}.svg",
                ACCT_B,
                ip=ip,
                ua=UA_CHROME,
                size=rng.randint(3000, 9000),
                anonymous=True,
            )

        # Account B: Dana (Okta SAML) runs analytics on days 1 and 3.
        if d in (0, 2):
            st = at(d, 15, 12, rng.randint(0, 30))
            sk = self.akid("ASIA")
            role_arn = f"arn:aws:iam::{ACCT_B}:role/OktaDataAnalyst"
            saml = {
                "type": "SAMLUser",
                "principalId": f"{self.okta_idp}:dana.lee@example.com",
                "userName": "dana.lee@example.com",
                "identityProvider": self.okta_idp,
            }
            self.event(
                st,
                ACCT_B,
                "us-east-1",
                saml,
                "sts.amazonaws.com",
                "AssumeRoleWithSAML",
                ip=OFFICE_IP,
                ua="aws-internal/3 aws-sdk-java/1.12.770 Linux/5.10.227-"
                "219.884.amzn2.x86_64 OpenJDK_64-Bit_Server_VM/25.432-b06 java/1.8.0_432 "
                "vendor/Oracle_Corporation cfg/retry-mode/standard",
                req={
                    "sAMLAssertionID": "id" + self.chars(20, "0123456789"),
                    "roleSessionName": "dana.lee@example.com",
                    "durationSeconds": 3600,
                    "roleArn": role_arn,
                    "sourceIdentity": "dana.lee@example.com",
                    "principalArn": f"arn:aws:iam::{ACCT_B}:saml-provider/Okta",
                },
                resp={
                    "credentials": {
                        "accessKeyId": sk,
                        "expiration": expiry(st + timedelta(hours=1)),
                    },
                    "assumedRoleUser": {
                        "assumedRoleId": f"{self.ids['okta-analyst']}:dana.lee@example.com",
                        "arn": f"arn:aws:sts::{ACCT_B}:assumed-role/OktaDataAnalyst/"
                        "dana.lee@example.com",
                    },
                    "subjectType": "unspecified",
                    "issuer": "http://www.okta.com/exk1a2b3c4d5e6f7g8h9",
                    "audience": "https://signin.aws.amazon.com/saml",
                    "subject": "dana.lee@example.com",
                    "nameQualifier": self.okta_idp,
                    "sourceIdentity": "dana.lee@example.com",
                },
                resources=[
                    {"accountId": ACCT_B, "type": "AWS::IAM::Role", "ARN": role_arn},
                    {
                        "accountId": ACCT_B,
                        "type": "AWS::IAM::SAMLProvider",
                        "ARN": f"arn:aws:iam::{ACCT_B}:saml-provider/Okta",
                    },
                ],
                host=None,
                version="1.08",
            )
            dana = self.role(
                ACCT_B,
                "OktaDataAnalyst",
                "dana.lee@example.com",
                sk,
                st,
                id_key="okta-analyst",
                source_identity="dana.lee@example.com",
            )
            ts = self.when(st, 60, 20, 8, 5)
            qid = self.uuid()
            self.event(
                ts[0],
                ACCT_B,
                "us-west-2",
                dana,
                "glue.amazonaws.com",
                "GetTable",
                ip=OFFICE_IP,
                ua="AWS Internal",
                req={"databaseName": "exports", "name": "customer_orders"},
                console=True,
            )
            self.event(
                ts[1],
                ACCT_B,
                "us-west-2",
                dana,
                "athena.amazonaws.com",
                "StartQueryExecution",
                ip=OFFICE_IP,
                ua=UA_CHROME,
                ro=False,
                req={
                    "queryString": "SELECT region, count(*) FROM customer_orders WHERE "
                    "dt >= date '2026-11-01' GROUP BY 1 ORDER BY 2 DESC",
                    "queryExecutionContext": {"database": "exports", "catalog": "AwsDataCatalog"},
                    "resultConfiguration": {
                        "outputLocation": "s3://acme-athena-results-444455556666/"
                    },
                    "workGroup": "primary",
                },
                resp={"queryExecutionId": qid},
                console=True,
            )
            self.event(
                ts[2],
                ACCT_B,
                "us-west-2",
                dana,
                "athena.amazonaws.com",
                "GetQueryExecution",
                ip=OFFICE_IP,
                ua=UA_CHROME,
                req={"queryExecutionId": qid},
                console=True,
            )
            self.s3_object(
                ts[3],
                ACCT_B,
                "us-west-2",
                dana,
                "GetObject",
                "acme-athena-results-444455556666",
                f"{qid}.csv",
                ACCT_B,
                ip="athena.amazonaws.com",
                ua="athena.amazonaws.com",
                size=rng.randint(800, 3000),
            )

    def incident(self, d: int) -> None:
        """Day 2: password spraying, then the leaked ci-deploy key does recon and hops."""
        rng = self.rng
        # 14:02 failed console sign-ins (unknown names, then Maria's password).
        ts = self.when(at(d, 14, 2), 8, 11, 40, 9)
        unknown = {
            "type": "Unknown",
            "principalId": ACCT_B,
            "arn": "",
            "accountId": ACCT_B,
            "accessKeyId": "",
            "userName": "HIDDEN_DUE_TO_SECURITY_REASONS",
        }
        for t in ts[:2]:
            self.fail_login(
                t,
                ACCT_B,
                unknown,
                ip=ATTACKER_IP,
                ua=UA_FIREFOX,
                message="No username found in supplied account",
            )
        maria = self.iam_user(ACCT_A, "maria", "")
        for t in ts[2:]:
            self.fail_login(
                t, ACCT_A, maria, ip=ATTACKER_IP, ua=UA_FIREFOX, message="Failed authentication"
            )

        # 14:21 the leaked key appears from the attacker's host.
        ci = self.iam_user(ACCT_A, "ci-deploy", self.ci_key)
        ua = UA_ATTACKER
        ts = self.when(at(d, 14, 21), 3, 4, 6, 5)
        self.event(
            ts[0],
            ACCT_A,
            "us-east-1",
            ci,
            "sts.amazonaws.com",
            "GetCallerIdentity",
            ip=ATTACKER_IP,
            ua=ua,
        )
        self.s3_mgmt(ts[1], ACCT_A, ci, "ListBuckets", None, ip=ATTACKER_IP, ua=ua)
        arn = f"arn:aws:iam::{ACCT_A}:user/ci-deploy"
        self.event(
            ts[2],
            ACCT_A,
            "us-east-1",
            ci,
            "iam.amazonaws.com",
            "ListUsers",
            ip=ATTACKER_IP,
            ua=ua,
            req={"maxItems": 1000},
            error=(
                "AccessDenied",
                f"User: {arn} is not authorized to perform: "
                f"iam:ListUsers on resource: arn:aws:iam::{ACCT_A}:user/ because no "
                "identity-based policy allows the iam:ListUsers action",
            ),
        )
        self.event(
            ts[3],
            ACCT_A,
            "us-east-1",
            ci,
            "iam.amazonaws.com",
            "ListRoles",
            ip=ATTACKER_IP,
            ua=ua,
            req={"maxItems": 1000},
            error=(
                "AccessDenied",
                f"User: {arn} is not authorized to perform: "
                f"iam:ListRoles on resource: arn:aws:iam::{ACCT_A}:role/ because no "
                "identity-based policy allows the iam:ListRoles action",
            ),
        )
        # 14:23-14:30 a DescribeInstances sweep (this is what the Insight catches).
        t = at(d, 14, 23, 4)
        for i in range(18):
            req: dict = {"instancesSet": {}, "filterSet": {}}
            if i % 3:
                req["maxResults"] = 5
            self.event(
                t,
                ACCT_A,
                "us-east-1",
                ci,
                "ec2.amazonaws.com",
                "DescribeInstances",
                ip=ATTACKER_IP,
                ua=ua,
                req=req,
            )
            t += timedelta(seconds=rng.randint(14, 30))
        scp = (
            "You are not authorized to perform this operation. User: {arn} is not "
            "authorized to perform: ec2:DescribeInstances with an explicit deny in a service "
            "control policy"
        )
        for region in ("us-west-2", "eu-west-1", "ap-southeast-2"):
            t += timedelta(seconds=rng.randint(3, 9))
            self.event(
                t,
                ACCT_A,
                region,
                ci,
                "ec2.amazonaws.com",
                "DescribeInstances",
                ip=ATTACKER_IP,
                ua=ua,
                req={"instancesSet": {}, "filterSet": {}},
                error=("Client.UnauthorizedOperation", scp.format(arn=arn)),
            )
        ts = self.when(at(d, 14, 33), 10, 50, 40, 30)
        self.event(
            ts[0],
            ACCT_A,
            "us-east-1",
            ci,
            "iam.amazonaws.com",
            "CreateAccessKey",
            ip=ATTACKER_IP,
            ua=ua,
            ro=False,
            req={"userName": "admin-break-glass"},
            error=(
                "AccessDenied",
                f"User: {arn} is not authorized to perform: "
                f"iam:CreateAccessKey on resource: user admin-break-glass because no "
                "identity-based policy allows the iam:CreateAccessKey action",
            ),
        )
        self.s3_object(
            ts[1],
            ACCT_A,
            "us-east-1",
            ci,
            "ListObjects",
            "acme-terraform-state",
            "prod/",
            ACCT_A,
            ip=ATTACKER_IP,
            ua=ua,
            size=1840,
        )
        self.s3_object(
            ts[2],
            ACCT_A,
            "us-east-1",
            ci,
            "GetObject",
            "acme-terraform-state",
            "prod/terraform.tfstate",
            ACCT_A,
            ip=ATTACKER_IP,
            ua=ua,
            size=184_312,
        )
        # 14:38 the hop into account B through a role that trusts ci-deploy.
        shared = self.uuid()
        xkey = self.akid("ASIA")
        role_arn = f"arn:aws:iam::{ACCT_B}:role/ci-cross-account-deploy"
        tx = ts[3] + timedelta(minutes=2)
        self.assume_role(
            tx,
            ACCT_A,
            ci,
            role_arn,
            "ci-deploy",
            xkey,
            ip=ATTACKER_IP,
            ua=ua,
            shared=shared,
            role_id=self.ids["xacct"],
        )
        self.assume_role(
            tx,
            ACCT_B,
            {"type": "AWSAccount", "principalId": self.ids["ci-deploy"], "accountId": ACCT_A},
            role_arn,
            "ci-deploy",
            xkey,
            ip=ATTACKER_IP,
            ua=ua,
            shared=shared,
            role_id=self.ids["xacct"],
        )

        # 14:41-15:05 in account B, now over IPv6.
        x = self.role(ACCT_B, "ci-cross-account-deploy", "ci-deploy", xkey, tx, id_key="xacct")
        ip6 = ATTACKER_IP6
        ts = self.when(at(d, 14, 41), 5, 7, 12, 20)
        self.event(
            ts[0],
            ACCT_B,
            "us-east-1",
            x,
            "sts.amazonaws.com",
            "GetCallerIdentity",
            ip=ip6,
            ua=UA_HOSTILE,
        )
        self.s3_mgmt(ts[1], ACCT_B, x, "ListBuckets", None, ip=ip6, ua=ua)
        for t, b in zip(ts[2:], ("acme-backups-prod", "acme-db-dumps"), strict=True):
            self.s3_mgmt(
                t,
                ACCT_B,
                x,
                "GetBucketAcl",
                b,
                ip=ip6,
                ua=ua,
                sub="acl",
                error=("NoSuchBucket", "The specified bucket does not exist"),
            )
        ts = self.when(at(d, 14, 44), 9, 14, 11, 16, 13, 12)
        self.s3_object(
            ts[0],
            ACCT_B,
            "us-west-2",
            x,
            "ListObjects",
            "acme-customer-exports",
            "exports/2026-11/",
            ACCT_B,
            ip=ip6,
            ua=ua,
            size=5120,
        )
        for i, t in enumerate(ts[1:]):
            self.s3_object(
                t,
                ACCT_B,
                "us-west-2",
                x,
                "GetObject",
                "acme-customer-exports",
                f"exports/2026-11/customers-{i + 1:02d}.csv.gz",
                ACCT_B,
                ip=ip6,
                ua=ua,
                size=rng.randint(8_000_000, 30_000_000),
            )
        ts = self.when(at(d, 14, 52), 4, 1, 1, 1, 1)
        self.event(
            ts[0],
            ACCT_B,
            "us-west-2",
            x,
            "ssm.amazonaws.com",
            "DescribeParameters",
            ip=ip6,
            ua=ua,
            req={"maxResults": 50},
        )
        for i, t in enumerate(ts[1:]):
            names = [f"/prod/orders/{n}" for n in ("db-password", "stripe-key", "jwt-secret")]
            err = ("ThrottlingException", "Rate exceeded") if i >= 2 else None
            self.event(
                t,
                ACCT_B,
                "us-west-2",
                x,
                "ssm.amazonaws.com",
                "GetParameters",
                ip=ip6,
                ua=ua,
                req={"names": names, "withDecryption": True},
                error=err,
            )
        xarn = f"arn:aws:sts::{ACCT_B}:assumed-role/ci-cross-account-deploy/ci-deploy"
        ts = self.when(at(d, 14, 57), 20, 30, 40)
        self.event(
            ts[0],
            ACCT_B,
            "eu-west-1",
            x,
            "ec2.amazonaws.com",
            "DescribeInstances",
            ip=ip6,
            ua=ua,
            req={"instancesSet": {}, "filterSet": {}},
            error=(
                "Client.UnauthorizedOperation",
                "You are not authorized to perform "
                f"this operation. User: {xarn} is not authorized to perform: "
                "ec2:DescribeInstances because no identity-based policy allows the "
                "ec2:DescribeInstances action",
            ),
        )
        self.event(
            ts[1],
            ACCT_B,
            "us-east-1",
            x,
            "iam.amazonaws.com",
            "ListUsers",
            ip=ip6,
            ua=ua,
            req={"maxItems": 1000},
            error=(
                "AccessDenied",
                f"User: {xarn} is not authorized to perform: "
                f"iam:ListUsers on resource: arn:aws:iam::{ACCT_B}:user/ because no "
                "identity-based policy allows the iam:ListUsers action",
            ),
        )
        self.event(
            ts[2],
            ACCT_B,
            "us-east-1",
            x,
            "iam.amazonaws.com",
            "CreateAccessKey",
            ip=ip6,
            ua=ua,
            ro=False,
            req={"userName": "broker-svc"},
            error=(
                "AccessDenied",
                f"User: {xarn} is not authorized to perform: "
                f"iam:CreateAccessKey on resource: user broker-svc because no "
                "identity-based policy allows the iam:CreateAccessKey action",
            ),
        )
        # 15:03 the attacker's IPv4 pokes the public bucket anonymously.
        anon = {"type": "AWSAccount", "principalId": "", "accountId": "ANONYMOUS_PRINCIPAL"}
        ts = self.when(at(d, 15, 3), 5, 6)
        self.s3_object(
            ts[0],
            ACCT_B,
            "us-east-1",
            anon,
            "GetObject",
            "acme-public-assets",
            "img/logo-1.svg",
            ACCT_B,
            ip=ATTACKER_IP,
            ua="curl/8.5.0",
            size=4211,
            anonymous=True,
        )
        self.s3_object(
            ts[1],
            ACCT_B,
            "us-east-1",
            anon,
            "ListObjects",
            "acme-public-assets",
            "",
            ACCT_B,
            ip=ATTACKER_IP,
            ua="curl/8.5.0",
            size=0,
            anonymous=True,
            error=("AccessDenied", "Access Denied"),
        )

    def response(self, d: int) -> None:
        """Day 2, 16:10: Priya disables the key and locks the cross-account role."""
        since = at(d, 16, 8, 31)
        admin = self.sso(
            ACCT_A,
            "AdministratorAccess",
            "admin",
            "priya.shah@example.com",
            self.akid("ASIA"),
            since,
        )
        ts = self.when(at(d, 16, 10), 10, 30, 45, 60)
        key = self.ci_key
        self.event(
            ts[0],
            ACCT_A,
            "us-east-1",
            admin,
            "iam.amazonaws.com",
            "ListAccessKeys",
            ip=OFFICE_IP6,
            ua=UA_CHROME,
            req={"userName": "ci-deploy"},
            console=True,
        )
        self.event(
            ts[1],
            ACCT_A,
            "us-east-1",
            admin,
            "iam.amazonaws.com",
            "GetAccessKeyLastUsed",
            ip=OFFICE_IP6,
            ua=UA_CHROME,
            req={"accessKeyId": key},
            console=True,
        )
        self.event(
            ts[2],
            ACCT_A,
            "us-east-1",
            admin,
            "iam.amazonaws.com",
            "UpdateAccessKey",
            ip=OFFICE_IP6,
            ua=UA_CHROME,
            ro=False,
            req={"userName": "ci-deploy", "accessKeyId": key, "status": "Inactive"},
            console=True,
        )
        self.event(
            ts[3],
            ACCT_A,
            "us-east-1",
            admin,
            "iam.amazonaws.com",
            "PutUserPolicy",
            ip=OFFICE_IP6,
            ua=UA_CHROME,
            ro=False,
            req={
                "userName": "ci-deploy",
                "policyName": "AWSRevokeOlderSessions",
                "policyDocument": json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Deny",
                                "Action": ["*"],
                                "Resource": ["*"],
                                "Condition": {"DateLessThan": {"aws:TokenIssueTime": iso(ts[3])}},
                            }
                        ],
                    }
                ),
            },
            console=True,
        )
        bk = self.akid("ASIA")
        audit = self.sso(
            ACCT_B, "SecurityAudit", "audit", "priya.shah@example.com", bk, at(d, 16, 20, 2)
        )
        ts = self.when(at(d, 16, 21), 15, 40, 20)
        self.event(
            ts[0],
            ACCT_B,
            "us-east-1",
            audit,
            "iam.amazonaws.com",
            "GetRole",
            ip=OFFICE_IP6,
            ua=UA_CHROME,
            req={"roleName": "ci-cross-account-deploy"},
            console=True,
        )
        self.s3_mgmt(
            ts[1],
            ACCT_B,
            audit,
            "GetBucketPolicy",
            "acme-customer-exports",
            ip=OFFICE_IP6,
            ua=UA_S3CONSOLE,
            sub="policy",
            region="us-west-2",
            console=True,
        )
        trust = json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{ACCT_A}:role/gha-deploy"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        )
        self.event(
            ts[2],
            ACCT_B,
            "us-east-1",
            audit,
            "iam.amazonaws.com",
            "UpdateAssumeRolePolicy",
            ip=OFFICE_IP6,
            ua=UA_CHROME,
            ro=False,
            req={"roleName": "ci-cross-account-deploy", "policyDocument": trust},
            error=(
                "AccessDenied",
                "User: arn:aws:sts::444455556666:assumed-role/"
                f"AWSReservedSSO_SecurityAudit_{self.sso_suffix['audit']}/"
                "priya.shah@example.com is not authorized to perform: "
                "iam:UpdateAssumeRolePolicy on resource: role ci-cross-account-deploy "
                "because no identity-based policy allows the iam:UpdateAssumeRolePolicy "
                "action",
            ),
            console=True,
        )
        bk2 = self.akid("ASIA")
        badmin = self.sso(
            ACCT_B, "AdministratorAccess", "admin", "priya.shah@example.com", bk2, at(d, 16, 24, 40)
        )
        self.event(
            at(d, 16, 25, 12),
            ACCT_B,
            "us-east-1",
            badmin,
            "iam.amazonaws.com",
            "UpdateAssumeRolePolicy",
            ip=OFFICE_IP6,
            ua=UA_CHROME,
            ro=False,
            req={"roleName": "ci-cross-account-deploy", "policyDocument": trust},
            console=True,
        )

    def aftermath(self, d: int) -> None:
        """Day 3: root checks in on account B; the leaked key is deleted; service events."""
        rt = at(d, 8, 3, 17)
        self.console_login(
            rt, ACCT_B, self.root(ACCT_B), ip=OFFICE_IP, ua=UA_CHROME, ok=True, mfa=True
        )
        root = self.root(ACCT_B, self.akid("ASIA"), rt)
        ts = self.when(rt, 30, 20, 25)
        for t, (name, req) in zip(
            ts,
            (("GetAccountSummary", None), ("ListMFADevices", None), ("ListAccessKeys", None)),
            strict=True,
        ):
            self.event(
                t,
                ACCT_B,
                "us-east-1",
                root,
                "iam.amazonaws.com",
                name,
                ip=OFFICE_IP,
                ua=UA_CHROME,
                req=req,
                console=True,
            )
        admin = self.sso(
            ACCT_A,
            "AdministratorAccess",
            "admin",
            "priya.shah@example.com",
            self.akid("ASIA"),
            at(d, 9, 40, 0),
        )
        self.event(
            at(d, 9, 41, 33),
            ACCT_A,
            "us-east-1",
            admin,
            "iam.amazonaws.com",
            "DeleteAccessKey",
            ip=OFFICE_IP,
            ua=UA_CHROME,
            ro=False,
            req={"userName": "ci-deploy", "accessKeyId": self.ci_key},
            console=True,
        )
        # KMS rotates a key on its own: AwsServiceEvent, identity without a "type".
        self.event(
            at(d, 4, 12, 9),
            ACCT_A,
            "us-east-1",
            {"accountId": ACCT_A, "invokedBy": "kms.amazonaws.com"},
            "kms.amazonaws.com",
            "RotateKey",
            ip="kms.amazonaws.com",
            ua="kms.amazonaws.com",
            ro=False,
            etype="AwsServiceEvent",
            version="1.08",
            extra={"keyId": self.kms_key_A},
            resources=[
                {
                    "accountId": ACCT_A,
                    "type": "AWS::KMS::Key",
                    "ARN": f"arn:aws:kms:us-east-1:{ACCT_A}:key/{self.kms_key_A}",
                }
            ],
            shared=self.uuid(),
        )
        # S3 Access Grants: an identity-enhanced role session acting for an Identity Center user.
        gk = self.akid("ASIA")
        gt = at(d, 11, 6, 40)
        grants = self.role(
            ACCT_B,
            "s3-access-grants-location-role",
            "access-grants-" + self.chars(8, "0123456789abcdef"),
            gk,
            gt - timedelta(seconds=3),
            id_key="grants",
            on_behalf_of={"userId": self.dana_uid, "identityStoreArn": self.idstore},
        )
        self.s3_object(
            gt,
            ACCT_B,
            "us-west-2",
            grants,
            "GetObject",
            "acme-customer-exports",
            "exports/2026-11/summary.parquet",
            ACCT_B,
            ip=OFFICE_IP,
            ua=UA_BOTO3,
            size=912_004,
        )


# ----------------------------------------------------------------------------------------
# Layout: group into delivery files, Insights, digests.
# ----------------------------------------------------------------------------------------
def floor5(t: datetime) -> datetime:
    return t.replace(minute=t.minute - t.minute % 5, second=0)


def parse_time(s: str) -> datetime:
    return datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def log_key(
    acct: str, region: str, delivered: datetime, suffix: str, kind: str = "CloudTrail"
) -> str:
    return (
        f"AWSLogs/{acct}/{kind}/{region}/{delivered:%Y/%m/%d}/"
        f"{acct}_{kind}_{region}_{delivered:%Y%m%dT%H%MZ}_{suffix}.json.gz"
    )


def layout(trail: Trail) -> dict[str, bytes]:
    """Map S3 keys to uncompressed file bodies."""
    rng = trail.rng
    # (account, region, 5-minute window, part): part 1 is a second file for the same
    # window, which is how a re-delivered record shows up.
    groups: dict[tuple[str, str, datetime, int], list[dict]] = {}

    def window(ev: dict, part: int = 0) -> tuple[str, str, datetime, int]:
        return (
            ev["recipientAccountId"],
            ev["awsRegion"],
            floor5(parse_time(ev["eventTime"])),
            part,
        )

    for ev in trail.events:
        groups.setdefault(window(ev), []).append(ev)

    # An exact duplicate delivered twice, and a different record that reuses an eventID.
    dup = next(
        ev
        for ev in trail.events
        if ev["eventName"] == "PutObject" and ev["recipientAccountId"] == ACCT_B
    )
    groups.setdefault(window(dup, 1), []).append(copy.deepcopy(dup))
    clash = copy.deepcopy(next(ev for ev in trail.events if ev["eventName"] == "DescribeAlarms"))
    clash["requestParameters"] = {"maxRecords": 100, "stateValue": "ALARM"}
    groups.setdefault(window(clash, 1), []).append(clash)

    files: dict[str, bytes] = {}
    for key in sorted(groups):
        acct, region, _, part = key
        recs = groups[key]
        rng.shuffle(recs)  # CloudTrail does not sort records within a file
        newest = max(parse_time(r["eventTime"]) for r in recs)
        delay = rng.choice((10, 10, 15)) + 10 * part
        delivered = floor5(newest) + timedelta(minutes=delay)
        files[log_key(acct, region, delivered, trail.chars(16, ALNUM))] = dumps({"Records": recs})
    return files


def insight_file(trail: Trail) -> tuple[str, bytes]:
    """ApiCallRateInsight for the attacker's DescribeInstances sweep (account A, us-east-1)."""
    shared = trail.uuid()
    ua = UA_ATTACKER
    arn = f"arn:aws:iam::{ACCT_A}:user/ci-deploy"
    baseline_avg = 0.0026785714
    recs = []
    for state, when, duration in (("Start", at(1, 14, 23), None), ("End", at(1, 14, 31), 8)):
        stats: dict = {"baseline": {"average": baseline_avg}, "insight": {"average": 2.25}}
        if duration is not None:
            stats["insightDuration"] = duration
        stats["baselineDuration"] = 10079
        recs.append(
            {
                "eventVersion": "1.08",
                "eventTime": iso(when),
                "awsRegion": "us-east-1",
                "eventID": trail.uuid(),
                "eventType": "AwsCloudTrailInsight",
                "recipientAccountId": ACCT_A,
                "sharedEventID": shared,
                "insightDetails": {
                    "state": state,
                    "eventSource": "ec2.amazonaws.com",
                    "eventName": "DescribeInstances",
                    "insightType": "ApiCallRateInsight",
                    "insightContext": {
                        "statistics": stats,
                        "attributions": [
                            {
                                "attribute": "userIdentityArn",
                                "insight": [{"value": arn, "average": 2.25}],
                                "baseline": [
                                    {
                                        "value": f"arn:aws:sts::{ACCT_A}:assumed-role/AWSReserved"
                                        f"SSO_AdministratorAccess_{trail.sso_suffix['admin']}"
                                        "/priya.shah@example.com",
                                        "average": baseline_avg,
                                    }
                                ],
                            },
                            {
                                "attribute": "userAgent",
                                "insight": [{"value": ua, "average": 2.25}],
                                "baseline": [{"value": UA_CHROME, "average": baseline_avg}],
                            },
                            {
                                "attribute": "errorCode",
                                "insight": [{"value": "null", "average": 2.25}],
                                "baseline": [{"value": "null", "average": baseline_avg}],
                            },
                        ],
                    },
                },
                "eventCategory": "Insight",
            }
        )
    trail.rng.shuffle(recs)
    key = log_key(ACCT_A, "us-east-1", at(1, 14, 45), trail.chars(16, ALNUM), "CloudTrail-Insight")
    return key, dumps({"Records": recs})


def fake_signature(data: bytes) -> str:
    """512 hex digits, the length of an RSA-2048 signature (not a valid one)."""
    return "".join(hashlib.sha512(data + bytes([i])).hexdigest() for i in range(4))


def digest_files(trail: Trail, files: dict[str, bytes]) -> dict[str, bytes]:
    """Two chained hourly digests for account A, us-east-1, around the incident.

    hashValue is the SHA-256 of each log file's uncompressed content, and
    previousDigestHashValue that of the previous digest file's uncompressed content, as
    CloudTrail log file integrity validation defines them. Signatures cannot be real (they
    need AWS's private key); in S3 the current file's signature is object metadata anyway.
    """
    fingerprint = hashlib.md5(b"trailscope demo digest key").hexdigest()
    prefix = f"AWSLogs/{ACCT_A}/CloudTrail/us-east-1/"
    edges = [at(1, 13, 21, 7), at(1, 14, 21, 7), at(1, 15, 21, 7)]
    prev_key = (
        f"AWSLogs/{ACCT_A}/CloudTrail-Digest/us-east-1/{edges[0]:%Y/%m/%d}/{ACCT_A}_"
        f"CloudTrail-Digest_us-east-1_{TRAIL}_{TRAIL_HOME}_{edges[0]:%Y%m%dT%H%M%SZ}.json.gz"
    )
    prev_hash = hashlib.sha256(b"digest outside the sample").hexdigest()
    prev_sig = fake_signature(b"digest outside the sample")
    out: dict[str, bytes] = {}
    for start, end in zip(edges, edges[1:], strict=False):
        logs = []
        for k in sorted(files):
            if not k.startswith(prefix):
                continue
            stamp = datetime.strptime(k.rsplit("_", 2)[1], "%Y%m%dT%H%MZ").replace(tzinfo=UTC)
            if start <= stamp < end:
                times = [r["eventTime"] for r in json.loads(files[k])["Records"]]
                logs.append(
                    {
                        "s3Bucket": TRAIL_BUCKET,
                        "s3Object": k,
                        "hashValue": hashlib.sha256(files[k]).hexdigest(),
                        "hashAlgorithm": "SHA-256",
                        "newestEventTime": max(times),
                        "oldestEventTime": min(times),
                    }
                )
        key = (
            f"AWSLogs/{ACCT_A}/CloudTrail-Digest/us-east-1/{end:%Y/%m/%d}/{ACCT_A}_"
            f"CloudTrail-Digest_us-east-1_{TRAIL}_{TRAIL_HOME}_{end:%Y%m%dT%H%M%SZ}.json.gz"
        )
        body = {
            "awsAccountId": ACCT_A,
            "digestStartTime": iso(start),
            "digestEndTime": iso(end),
            "digestS3Bucket": TRAIL_BUCKET,
            "digestS3Object": key,
            "digestPublicKeyFingerprint": fingerprint,
            "digestSignatureAlgorithm": "SHA256withRSA",
            "newestEventTime": max((lf["newestEventTime"] for lf in logs), default=None),
            "oldestEventTime": min((lf["oldestEventTime"] for lf in logs), default=None),
            "previousDigestS3Bucket": TRAIL_BUCKET,
            "previousDigestS3Object": prev_key,
            "previousDigestHashValue": prev_hash,
            "previousDigestHashAlgorithm": "SHA-256",
            "previousDigestSignature": prev_sig,
            "logFiles": logs,
        }
        data = dumps(body)
        out[key] = data
        prev_key, prev_hash = key, hashlib.sha256(data).hexdigest()
        prev_sig = fake_signature(data)
    return out


README = """\
# sample_logs

A small, synthetic CloudTrail bucket excerpt for the demo (`make demo`) and the tests.
Generated by `python scripts/make_sample_logs.py` (deterministic: re-running it gives
byte-identical files; `tests/test_sample_logs.py` checks that). Do not edit by hand.

Layout is the real S3 one: `AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/...json.gz`,
one file per account/region/5-minute window named by its delivery time, records unordered.

- Accounts 111122223333 and 444455556666; us-east-1, us-west-2, eu-west-1, ap-southeast-2;
  2026-11-18..20 (nightly backup files are delivered after midnight into the next day).
- A story: password spraying, then a leaked CI access key (ci-deploy, from 203.0.113.66)
  doing recon (GetCallerIdentity, ListBuckets, DescribeInstances, ListUsers,
  CreateAccessKey; AccessDenied and SCP denials), reading Terraform state, hopping into the
  second account with AssumeRole and exfiltrating S3 objects over IPv6; then the response.
- Every userIdentity type (Root, IAMUser key and console, AssumedRole incl. sourceIdentity
  and onBehalfOf, FederatedUser, SAMLUser, WebIdentityUser, AWSService, AWSAccount incl.
  ANONYMOUS_PRINCIPAL, IdentityCenterUser, Unknown) and one service event with no type.
- Edge cases: a record delivered twice, two different records sharing an eventID, and a
  user agent with an ANSI escape, a C1 control, a bidi override and Textual markup.
- `CloudTrail-Insight/`: an ApiCallRateInsight start/end pair for the DescribeInstances sweep.
- `CloudTrail-Digest/`: two chained digests; hashes are real SHA-256 of the uncompressed
  files, signatures are placeholders.
- The example events of the GuardDuty and IAM Access Analyzer user guides' CloudTrail
  chapters, unchanged, under 2018/06/14.
"""


def build_files(seed: int = SEED) -> dict[str, bytes]:
    """All output files as {relative path: bytes}."""
    trail = Trail(seed)
    trail.build()
    docs = trail.events[-2:]
    del trail.events[-2:]
    files = layout(trail)
    # The documentation examples sit alone in files of their own account/region/day.
    for doc in docs:
        acct, region = doc["recipientAccountId"], doc["awsRegion"]
        delivered = floor5(parse_time(doc["eventTime"])) + timedelta(minutes=10)
        files[log_key(acct, region, delivered, trail.chars(16, ALNUM))] = dumps({"Records": [doc]})
    ikey, ibody = insight_file(trail)
    files[ikey] = ibody
    files.update(digest_files(trail, files))
    out = {k: gzip_bytes(v) for k, v in sorted(files.items())}
    out["README.md"] = README.encode()
    return out


def write(out_dir: Path, files: dict[str, bytes]) -> None:
    # Replace only what this script owns, so stale files never linger.
    shutil.rmtree(out_dir / "AWSLogs", ignore_errors=True)
    for rel, data in files.items():
        path = out_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).resolve().parent.parent / "sample_logs",
        help="output directory (default: sample_logs/ of the repo)",
    )
    args = ap.parse_args(argv)
    files = build_files()
    write(args.out, files)
    gz = [k for k in files if k.endswith(".gz")]
    size = sum(len(v) for v in files.values())
    print(f"wrote {len(gz)} files ({size / 1024:.0f} KiB) to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
