#!/usr/bin/env python3
"""Synthetic CloudTrail trail for benchmarks.

    python benchmarks/gen_trail.py --events 1000000 [--out benchmarks/data/trail-1m]
        [--seed 1] [--per-file 500] [--jobs 2] [--start 2026-11-01T00:00:00Z] [--hours 168]

Writes the real S3 layout (an organization trail ``AWSLogs/o-.../<acct>/CloudTrail/...`` plus
two accounts with their own trails), gzip level 6, ~500 records per file, records unordered
within a file. Field values follow skewed (Zipf-like) distributions: ~60 services and ~440
event names paired with them, ~2,000 principals of every common identity type, ~50,000
source IPs plus "AWS Internal" and service-name callers, ~300 user agents, ~3% errors,
~70% read-only, management and data events, request/response payloads of varied sizes.
Cardinalities are those of a busy organisation: eventID and requestID are unique per
event, and temporary credentials belong to sessions (instance roles rotate hourly, SSO
sessions last 8 h, most Lambda, ECS task, CI and service-linked sessions make one call), so
the access key field holds a distinct value for ~40% of events and ECS task and CI role
sessions have names of their own.

Speed: records are assembled from pre-serialized JSON fragments (orjson) picked with
vectorized numpy draws, files are built in a process pool, and gzip uses zlib-ng when it is
installed (a project dependency) -- 3x faster than stdlib zlib at the same level.

Deterministic for a given seed: each file has its own RNG seeded by (seed, file index), so
the content does not depend on --jobs. Compressed bytes also depend on the deflate library.

Importable: ``generate(out_dir, events, ...)`` and ``write_file(dir_root, account, region,
when, events, rng_seed)`` (the latter for live-tail benchmarks).
"""

from __future__ import annotations

import argparse
import base64
import math
import multiprocessing as mp
import os
import random
import re
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import orjson

try:  # a project dependency; stdlib zlib is the fallback
    from zlib_ng import zlib_ng as _zlib
except ImportError:  # pragma: no cover
    import zlib as _zlib

ORG_ID = "o-a1b2c3d4e5"
# (S3 prefix under AWSLogs/, account id): six accounts of an organization trail and two
# accounts with trails of their own delivering into the same bucket.
ACCOUNTS: tuple[tuple[str, str], ...] = tuple(
    [
        (f"{ORG_ID}/{a}", a)
        for a in (
            "123456789012",
            "210987654321",
            "345678901234",
            "456789012345",
            "567890123456",
            "678901234567",
        )
    ]
    + [(a, a) for a in ("111122223333", "444455556666")]
)
ACCOUNT_WEIGHTS = (0.30, 0.20, 0.14, 0.10, 0.07, 0.05, 0.09, 0.05)
REGIONS = (
    "us-east-1",
    "us-west-2",
    "eu-west-1",
    "eu-central-1",
    "ap-southeast-2",
    "ap-northeast-1",
)
REGION_WEIGHTS = (0.42, 0.20, 0.15, 0.10, 0.07, 0.06)
DEFAULT_START = "2026-11-01T00:00:00Z"
GZIP_LEVEL = 6
SEP = "|"

# Services in popularity order: "service | read names | write names"; "*" marks data events.
# Names within a list are in rough popularity order too.
CATALOG = """
sts | AssumeRole GetCallerIdentity AssumeRoleWithWebIdentity GetSessionToken AssumeRoleWithSAML
    GetFederationToken DecodeAuthorizationMessage GetAccessKeyInfo |
s3 | *GetObject *HeadObject ListBuckets GetBucketAcl *ListObjects GetBucketLocation
    *ListObjectsV2 GetBucketPolicy GetBucketVersioning GetBucketEncryption GetBucketTagging
    *GetObjectTagging GetBucketPublicAccessBlock GetBucketOwnershipControls GetBucketLogging
    GetBucketLifecycle GetBucketNotification *GetObjectAcl | *PutObject *DeleteObject
    *CopyObject *CreateMultipartUpload *UploadPart *CompleteMultipartUpload *DeleteObjects
    CreateBucket PutBucketPolicy PutBucketTagging PutBucketEncryption PutBucketPublicAccessBlock
ec2 | DescribeInstances DescribeNetworkInterfaces DescribeSecurityGroups DescribeVolumes
    DescribeSubnets DescribeVpcs DescribeInstanceStatus DescribeSnapshots DescribeImages
    DescribeRegions DescribeAvailabilityZones DescribeTags DescribeLaunchTemplates
    DescribeRouteTables DescribeAddresses DescribeKeyPairs DescribeInstanceTypes
    DescribeVpcEndpoints | CreateNetworkInterface DeleteNetworkInterface CreateTags RunInstances
    TerminateInstances StartInstances StopInstances CreateSnapshot DeleteSnapshot CreateVolume
    AttachVolume DetachVolume AuthorizeSecurityGroupIngress RevokeSecurityGroupIngress
    ModifyInstanceAttribute CreateLaunchTemplateVersion DeleteTags
kms | Decrypt GenerateDataKey Encrypt DescribeKey ListAliases ListKeys GetKeyPolicy
    GetKeyRotationStatus ReEncrypt GenerateDataKeyWithoutPlaintext ListGrants | CreateGrant
    RetireGrant CreateKey ScheduleKeyDeletion PutKeyPolicy EnableKeyRotation CreateAlias
iam | GetRole GetPolicy GetPolicyVersion ListRoles ListAttachedRolePolicies ListRolePolicies
    GetUser ListUsers ListPolicies ListAccessKeys GetAccountSummary ListMFADevices
    GetAccessKeyLastUsed ListGroups GetInstanceProfile GenerateCredentialReport
    GetCredentialReport ListInstanceProfilesForRole GetRolePolicy | CreateRole AttachRolePolicy
    PutRolePolicy DeleteRole DetachRolePolicy CreatePolicy CreatePolicyVersion TagRole
    CreateUser CreateAccessKey UpdateAccessKey DeleteAccessKey UpdateAssumeRolePolicy
    DeletePolicyVersion CreateServiceLinkedRole
logs | DescribeLogGroups DescribeLogStreams FilterLogEvents GetLogEvents DescribeMetricFilters
    StartQuery GetQueryResults DescribeSubscriptionFilters ListTagsForResource | CreateLogStream
    CreateLogGroup PutRetentionPolicy PutSubscriptionFilter DeleteLogGroup TagResource
    PutMetricFilter
monitoring | GetMetricData DescribeAlarms ListMetrics GetMetricStatistics DescribeAlarmHistory
    ListDashboards GetDashboard DescribeAlarmsForMetric | PutMetricAlarm SetAlarmState
    DeleteAlarms PutDashboard TagResource
lambda | GetFunction20150331v2 ListFunctions20150331 GetFunctionConfiguration20150331v2
    ListVersionsByFunction20150331 GetPolicy20150331v2 ListEventSourceMappings20150331
    ListTags20170331 ListAliases20150331 GetFunctionUrlConfig | *Invoke
    UpdateFunctionCode20150331v2 UpdateFunctionConfiguration20150331v2 PublishVersion20150331
    CreateFunction20150331 AddPermission20150331v2 DeleteFunction20150331
    CreateEventSourceMapping20150331 UpdateAlias20150331
ecr | GetAuthorizationToken BatchGetImage GetDownloadUrlForLayer BatchCheckLayerAvailability
    DescribeImages DescribeRepositories ListImages DescribeImageScanFindings GetLifecyclePolicy
    | InitiateLayerUpload UploadLayerPart CompleteLayerUpload PutImage BatchDeleteImage
    CreateRepository SetRepositoryPolicy
ssm | GetParameter GetParameters GetParametersByPath DescribeInstanceInformation
    DescribeParameters ListCommands GetCommandInvocation ListAssociations DescribeAssociation
    GetDocument ListInstanceAssociations | UpdateInstanceInformation PutParameter SendCommand
    StartSession UpdateInstanceAssociationStatus DeleteParameter CreateAssociation PutInventory
dynamodb | DescribeTable ListTables DescribeContinuousBackups DescribeTimeToLive
    ListTagsOfResource *GetItem *Query *BatchGetItem *Scan | *PutItem *UpdateItem
    *BatchWriteItem *DeleteItem UpdateTable CreateTable DeleteTable
ecs | DescribeServices DescribeTasks ListTasks DescribeTaskDefinition ListServices
    DescribeClusters ListClusters DiscoverPollEndpoint ListTaskDefinitions
    DescribeContainerInstances | SubmitTaskStateChange SubmitContainerStateChange UpdateService
    RegisterTaskDefinition RunTask StopTask CreateService DeregisterTaskDefinition
secretsmanager | GetSecretValue DescribeSecret ListSecrets GetResourcePolicy
    ListSecretVersionIds | PutSecretValue UpdateSecret CreateSecret RotateSecret TagResource
    DeleteSecret
elasticloadbalancing | DescribeTargetHealth DescribeLoadBalancers DescribeTargetGroups
    DescribeListeners DescribeRules DescribeLoadBalancerAttributes DescribeTags
    DescribeTargetGroupAttributes | RegisterTargets DeregisterTargets ModifyRule
    CreateTargetGroup ModifyTargetGroupAttributes AddTags
autoscaling | DescribeAutoScalingGroups DescribeScalingActivities DescribeLifecycleHooks
    DescribePolicies DescribeLaunchConfigurations DescribeAutoScalingInstances |
    CompleteLifecycleAction SetDesiredCapacity UpdateAutoScalingGroup
    TerminateInstanceInAutoScalingGroup PutScalingPolicy RecordLifecycleActionHeartbeat
cloudformation | DescribeStacks DescribeStackEvents DescribeStackResources ListStacks
    GetTemplate ListStackResources DescribeChangeSet GetTemplateSummary ValidateTemplate
    DescribeStackResource | CreateChangeSet ExecuteChangeSet UpdateStack CreateStack DeleteStack
    SignalResource
sqs | GetQueueAttributes GetQueueUrl ListQueues ListQueueTags | SetQueueAttributes CreateQueue
    TagQueue PurgeQueue DeleteQueue
sns | GetTopicAttributes ListTopics ListSubscriptionsByTopic ListSubscriptions
    GetSubscriptionAttributes ListTagsForResource | *Publish Subscribe SetTopicAttributes
    CreateTopic Unsubscribe DeleteTopic
rds | DescribeDBInstances DescribeDBClusters DescribeEvents DescribeDBSnapshots
    DescribeDBClusterSnapshots ListTagsForResource DescribeDBParameterGroups
    DescribeDBSubnetGroups DescribeDBEngineVersions | CreateDBSnapshot ModifyDBInstance
    AddTagsToResource RebootDBInstance CreateDBClusterSnapshot DeleteDBSnapshot
config | DescribeConfigurationRecorderStatus DescribeConfigRules DescribeComplianceByConfigRule
    GetComplianceDetailsByConfigRule DescribeConfigurationRecorders SelectResourceConfig |
    PutEvaluations StartConfigRulesEvaluation PutConfigRule PutConfigurationRecorder
cloudtrail | LookupEvents DescribeTrails GetTrailStatus GetEventSelectors ListTrails
    GetInsightSelectors GetTrail | PutEventSelectors UpdateTrail CreateTrail StartLogging
    StopLogging DeleteTrail
sso | ListAccountRoles ListAccounts GetRoleCredentials ListInstances ListPermissionSets
    DescribePermissionSet ListAccountAssignments | CreateAccountAssignment
    DeleteAccountAssignment ProvisionPermissionSet Logout
signin | | ConsoleLogin SwitchRole CheckMfa ExitRole
eks | DescribeCluster ListClusters ListNodegroups DescribeNodegroup ListAddons
    DescribeAddonVersions ListAccessEntries | CreateNodegroup UpdateNodegroupConfig
    CreateAccessEntry UpdateClusterVersion
events | DescribeRule ListRules ListTargetsByRule DescribeEventBus ListEventBuses | PutEvents
    PutRule PutTargets RemoveTargets DeleteRule
states | DescribeExecution DescribeStateMachine ListExecutions GetExecutionHistory
    ListStateMachines | StartExecution StopExecution UpdateStateMachine CreateStateMachine
guardduty | ListDetectors GetDetector ListFindings GetFindings GetFindingsStatistics ListIPSets
    | ArchiveFindings UpdateDetector CreateIPSet CreateThreatIntelSet
securityhub | GetFindings DescribeHub GetEnabledStandards DescribeStandardsControls |
    BatchImportFindings BatchUpdateFindings UpdateStandardsControl
organizations | DescribeOrganization ListAccounts ListRoots ListOrganizationalUnitsForParent
    ListPoliciesForTarget DescribePolicy ListDelegatedAdministrators DescribeAccount |
    AttachPolicy MoveAccount CreateAccount
glue | GetTable GetTables GetDatabase GetPartitions GetDatabases GetJobRuns GetCrawler GetJob |
    BatchCreatePartition StartJobRun UpdateTable CreateTable StartCrawler
athena | GetQueryExecution GetQueryResults GetWorkGroup ListWorkGroups ListQueryExecutions
    GetDataCatalog | StartQueryExecution StopQueryExecution CreateNamedQuery
route53 | ListHostedZones GetHostedZone ListResourceRecordSets GetChange ListHealthChecks |
    ChangeResourceRecordSets CreateHostedZone
elasticfilesystem | DescribeFileSystems DescribeMountTargets DescribeAccessPoints
    DescribeBackupPolicy | CreateMountTarget PutLifecycleConfiguration CreateFileSystem
apigateway | GetRestApis GetRestApi GetStages GetResources GetDeployments | CreateDeployment
    UpdateStage PutMethod
kinesis | DescribeStreamSummary DescribeStream ListStreams ListShards | AddTagsToStream
    IncreaseStreamRetentionPeriod CreateStream
firehose | DescribeDeliveryStream ListDeliveryStreams | UpdateDestination CreateDeliveryStream
elasticache | DescribeCacheClusters DescribeReplicationGroups DescribeEvents DescribeSnapshots |
    ModifyReplicationGroup CreateSnapshot
es | DescribeDomain ListDomainNames DescribeDomainConfig | UpdateDomainConfig CreateDomain
redshift | DescribeClusters DescribeClusterSnapshots DescribeLoggingStatus |
    CreateClusterSnapshot ModifyCluster
cognito-idp | AdminGetUser DescribeUserPool ListUserPools ListUsers DescribeUserPoolClient |
    AdminCreateUser AdminUpdateUserAttributes AdminDisableUser UpdateUserPool
cognito-identity | GetId GetCredentialsForIdentity DescribeIdentityPool | SetIdentityPoolRoles
acm | DescribeCertificate ListCertificates GetCertificate ListTagsForCertificate |
    RequestCertificate DeleteCertificate
wafv2 | GetWebACL ListWebACLs GetIPSet ListIPSets GetSampledRequests | UpdateWebACL UpdateIPSet
cloudfront | ListDistributions GetDistribution GetDistributionConfig ListInvalidations |
    CreateInvalidation UpdateDistribution
codebuild | BatchGetBuilds BatchGetProjects ListProjects ListBuildsForProject | StartBuild
    UpdateProject
codepipeline | GetPipelineState GetPipeline ListPipelines ListPipelineExecutions
    GetPipelineExecution | PutJobSuccessResult StartPipelineExecution UpdatePipeline
codedeploy | GetDeployment ListDeployments GetApplication BatchGetDeploymentTargets |
    PutLifecycleEventHookExecutionStatus CreateDeployment
health | DescribeEvents DescribeEventDetails DescribeAffectedEntities DescribeEventAggregates |
trustedadvisor | DescribeTrustedAdvisorChecks DescribeCheckSummaries DescribeCheckItems |
    RefreshCheck
support | DescribeCases DescribeSeverityLevels DescribeServices | CreateCase
    AddCommunicationToCase
ce | GetCostAndUsage GetCostForecast GetDimensionValues GetReservationUtilization |
    CreateAnomalyMonitor
backup | ListBackupJobs ListBackupPlans DescribeBackupVault ListRecoveryPointsByBackupVault
    GetBackupPlan | StartBackupJob CreateBackupPlan UpdateBackupPlan
ram | GetResourceShares ListResources GetResourceShareAssociations | CreateResourceShare
    AssociateResourceShare
access-analyzer | ListAnalyzers ListFindings GetFinding GetAnalyzer | UpdateFindings
    StartResourceScan CreateAnalyzer
inspector2 | ListFindings ListCoverage BatchGetAccountStatus ListFindingAggregations |
    UpdateConfiguration Enable
macie2 | GetMacieSession ListFindings GetFindings DescribeBuckets | CreateClassificationJob
bedrock | InvokeModel ListFoundationModels GetFoundationModel ListCustomModels
    GetModelInvocationLoggingConfiguration | PutModelInvocationLoggingConfiguration
    CreateModelCustomizationJob
sagemaker | DescribeEndpoint ListEndpoints ListTrainingJobs DescribeTrainingJob
    ListNotebookInstances | CreatePresignedNotebookInstanceUrl CreateTrainingJob UpdateEndpoint
application-autoscaling | DescribeScalableTargets DescribeScalingPolicies
    DescribeScalingActivities | RegisterScalableTarget PutScalingPolicy
tagging | GetResources GetTagKeys GetTagValues | TagResources
servicequotas | GetServiceQuota ListServiceQuotas GetAWSDefaultServiceQuota |
    RequestServiceQuotaIncrease
account | GetContactInformation GetAlternateContact ListRegions | PutAlternateContact
xray | GetSamplingRules GetSamplingTargets GetServiceGraph GetTraceSummaries |
    UpdateSamplingRule
"""
# Logged in us-east-1 whatever region the caller used.
GLOBAL_SERVICES = {
    "iam",
    "organizations",
    "route53",
    "cloudfront",
    "signin",
    "ce",
    "support",
    "health",
    "account",
    "trustedadvisor",
}
# What AWS services do on their own (identity type AWSService).
SERVICE_COMBOS = (
    ("sts", "AssumeRole", 35),
    ("kms", "Decrypt", 20),
    ("kms", "GenerateDataKey", 10),
    ("s3", "GetBucketAcl", 6),
    ("s3", "PutObject", 5),
    ("logs", "CreateLogStream", 5),
    ("ec2", "DescribeNetworkInterfaces", 4),
    ("ec2", "CreateNetworkInterface", 3),
    ("events", "PutEvents", 3),
    ("s3", "GetBucketLocation", 3),
    ("ecr", "BatchGetImage", 3),
)
INVOKERS = (
    "lambda.amazonaws.com",
    "ec2.amazonaws.com",
    "ecs-tasks.amazonaws.com",
    "cloudtrail.amazonaws.com",
    "config.amazonaws.com",
    "elasticloadbalancing.amazonaws.com",
    "autoscaling.amazonaws.com",
    "events.amazonaws.com",
    "states.amazonaws.com",
    "firehose.amazonaws.com",
    "backup.amazonaws.com",
    "ssm.amazonaws.com",
    "glue.amazonaws.com",
    "codebuild.amazonaws.com",
    "sso.amazonaws.com",
    "guardduty.amazonaws.com",
    "securityhub.amazonaws.com",
    "access-analyzer.amazonaws.com",
    "monitoring.amazonaws.com",
    "logs.amazonaws.com",
    "dynamodb.amazonaws.com",
    "rds.amazonaws.com",
    "elasticmapreduce.amazonaws.com",
    "apigateway.amazonaws.com",
    "sagemaker.amazonaws.com",
    "eks.amazonaws.com",
    "athena.amazonaws.com",
    "kinesis.amazonaws.com",
    "sns.amazonaws.com",
    "s3.amazonaws.com",
)
ERRORS = {
    "ec2": (
        (
            "Client.UnauthorizedOperation",
            "You are not authorized to perform this operation. "
            "User: {arn} is not authorized to perform: ec2:{name} because no identity-based "
            "policy allows the ec2:{name} action",
        ),
        ("Client.InvalidInstanceID.NotFound", "The instance ID 'i-0{hex}' does not exist"),
        ("Client.RequestLimitExceeded", "Request limit exceeded."),
        ("Client.DryRunOperation", "Request would have succeeded, but DryRun flag is set."),
    ),
    "s3": (
        ("AccessDenied", "Access Denied"),
        ("NoSuchKey", "The specified key does not exist."),
        ("NoSuchBucket", "The specified bucket does not exist"),
        ("NoSuchBucketPolicy", "The bucket policy does not exist"),
        (
            "ServerSideEncryptionConfigurationNotFoundError",
            "The server side encryption configuration was not found",
        ),
    ),
    "iam": (
        (
            "AccessDenied",
            "User: {arn} is not authorized to perform: iam:{name} on resource: "
            "arn:aws:iam::{acct}:role/{word} because no identity-based policy allows the "
            "iam:{name} action",
        ),
        ("NoSuchEntityException", "The role with name {word} cannot be found."),
        ("EntityAlreadyExistsException", "Role with name {word} already exists."),
    ),
    "*": (
        (
            "AccessDenied",
            "User: {arn} is not authorized to perform: {svc}:{name} because no "
            "identity-based policy allows the {svc}:{name} action",
        ),
        ("ThrottlingException", "Rate exceeded"),
        ("ResourceNotFoundException", "Requested resource not found: {word}-{hex}"),
        (
            "ValidationException",
            "1 validation error detected: Value at '{word}' failed to "
            "satisfy constraint: Member must have length less than or equal to 128",
        ),
        (
            "AccessDenied",
            "User: {arn} is not authorized to perform: {svc}:{name} with an "
            "explicit deny in a service control policy",
        ),
    ),
}
WORDS = (
    "orders",
    "payments",
    "billing",
    "search",
    "catalog",
    "auth",
    "users",
    "inventory",
    "shipping",
    "reports",
    "analytics",
    "ingest",
    "etl",
    "web",
    "api",
    "worker",
    "batch",
    "ml",
    "data",
    "logs",
    "audit",
    "backup",
    "metrics",
    "notifications",
    "checkout",
    "cart",
    "images",
    "media",
    "gateway",
    "admin",
    "platform",
    "infra",
    "network",
    "security",
    "edge",
    "cache",
    "queue",
    "stream",
    "events",
    "scheduler",
)
ENVS = ("prod", "staging", "dev", "qa", "sandbox")


# ------------------------------------------------------------------------------------------
# Tables: everything a file builder needs, derived from the seed once per process.
# ------------------------------------------------------------------------------------------
def _zipf(n: int, s: float) -> np.ndarray:
    w = 1.0 / np.arange(1, n + 1) ** s
    return w / w.sum()


def _cum(weights: np.ndarray) -> np.ndarray:
    c = np.cumsum(weights, dtype=np.float64)
    c /= c[-1]
    return c


def _dumps(obj: object) -> bytes:
    return orjson.dumps(obj)


def _camel(s: str) -> str:
    return s[:1].lower() + s[1:]


class Tables:
    def __init__(self, seed: int) -> None:
        self.seed = seed
        rnd = random.Random(seed)
        nrng = np.random.default_rng(seed)
        self._rnd = rnd
        self._build_catalog(rnd)
        self._build_ips(nrng, rnd)
        self._build_agents(rnd)
        self._build_principals(rnd, nrng)
        self._frag_cache: dict[tuple, tuple[bytes, bytes, bytes]] = {}
        self._mid_cache: dict[tuple, tuple[bytes, bytes, bytes]] = {}
        # "HH:MM:SSZ" plus the closing quote, for every second of a day.
        self.hms = [
            f'{h:02d}:{m:02d}:{s:02d}Z"'.encode()
            for h in range(24)
            for m in range(60)
            for s in range(60)
        ]

    # -- events ----------------------------------------------------------------------------
    def _build_catalog(self, rnd: random.Random) -> None:
        combos = []  # (svc, name, readOnly, data)
        weights = []
        # Indented lines continue the previous one.
        lines = CATALOG.strip().replace("\n    ", " ").splitlines()
        svc_w = _zipf(len(lines), 0.95)
        p_read = 0.6
        for rank, line in enumerate(lines):
            svc, reads, writes = (part.split() for part in line.split(SEP))
            svc = svc[0]
            # The less a service is used, the fewer of its calls show up.
            reads, writes = reads[: max(4, 16 - rank)], writes[: max(2, 12 - rank)]
            for group, ro, share in ((reads, True, p_read), (writes, False, 1 - p_read)):
                if not group:
                    continue
                if not (reads and writes):
                    share = 1.0
                nw = _zipf(len(group), 1.15)
                for i, raw in enumerate(group):
                    data = raw.startswith("*")
                    combos.append((svc, raw.lstrip("*"), ro, data))
                    weights.append(svc_w[rank] * share * nw[i])
        self.combos = combos
        # Each service writes one eventVersion; a few still write pre-1.08 events, which
        # have no tlsDetails.
        self.svc_version = {}
        for rank, line in enumerate(lines):
            svc = line.split(SEP)[0].strip()
            old = 0.2 if rank >= 12 else 0.0  # only some less-used services lag behind
            self.svc_version[svc] = rnd.choices(
                ("1.05", "1.08", "1.09", "1.10", "1.11"), (old, 0.3, 0.3, 0.17, 0.08)
            )[0]
        w = np.array(weights)
        is_global = np.array([c[0] in GLOBAL_SERVICES for c in combos])
        self.cum_main = {True: _cum(w), False: _cum(np.where(is_global, 0.0, w))}
        index = {(c[0], c[1]): i for i, c in enumerate(combos)}
        sw = np.zeros(len(combos))
        for svc, name, weight in SERVICE_COMBOS:
            sw[index[(svc, name)]] = weight
        self.cum_service = {True: _cum(sw), False: _cum(np.where(is_global, 0.0, sw))}
        self.variants = 8
        # The shape of each combo's payload, built lazily: (svc, name) -> list of variants.
        self._shapes: dict[int, list[tuple]] = {}

    def shapes(self, ci: int) -> list[tuple]:
        got = self._shapes.get(ci)
        if got is None:
            svc, name, ro, data = self.combos[ci]
            rnd = random.Random(f"{self.seed}/{svc}/{name}")
            got = [_shape(rnd, svc, name, ro, data) for _ in range(self.variants)]
            self._shapes[ci] = got
        return got

    # -- source IPs, user agents ----------------------------------------------------------
    def _build_ips(self, nrng: np.random.Generator, rnd: random.Random) -> None:
        n = 60_000
        first = np.array(
            [
                3,
                13,
                18,
                20,
                23,
                34,
                35,
                44,
                52,
                54,
                63,
                66,
                71,
                73,
                81,
                82,
                85,
                86,
                88,
                91,
                92,
                94,
                95,
                98,
                99,
                104,
                107,
                108,
                109,
                136,
                142,
                146,
                151,
                154,
                162,
                172,
                174,
                176,
                178,
                181,
                185,
                188,
                193,
                194,
                195,
                203,
                212,
                213,
            ]
        )
        octets = nrng.integers(0, 256, size=(n, 3))
        octets[:, 2] = nrng.integers(1, 255, size=n)
        heads = first[nrng.integers(0, len(first), size=n)]
        ips = [
            f"{a}.{b}.{c}.{d}" for a, (b, c, d) in zip(heads.tolist(), octets.tolist(), strict=True)
        ]
        kind = nrng.random(n)
        for i in np.nonzero(kind < 0.07)[0].tolist():  # IPv6 callers
            pre = rnd.choice(
                (
                    "2600:1f18",
                    "2600:1f14",
                    "2a05:d018",
                    "2a05:d014",
                    "2406:da14",
                    "2001:4860",
                    "2a02:26f0",
                    "2603:1030",
                )
            )
            ips[i] = (
                f"{pre}:{rnd.randrange(65536):x}:{rnd.randrange(65536):x}::{rnd.randrange(65536):x}"
            )
        for i in np.nonzero((kind >= 0.07) & (kind < 0.12))[0].tolist():  # via VPC endpoints
            ips[i] = f"10.{rnd.randrange(256)}.{rnd.randrange(256)}.{rnd.randrange(1, 255)}"
        self.ips = [x.encode() for x in ips]
        rank = nrng.permutation(n)  # popularity unrelated to address
        w = _zipf(n, 0.75)[rank]
        self.cum_ip = _cum(w)

    def _build_agents(self, rnd: random.Random) -> None:
        oses = (
            "Linux/5.10.228-219.884.amzn2.x86_64",
            "Linux/6.1.115-126.197.amzn2023.x86_64",
            "Linux/6.8.0-1016-aws",
            "Linux/5.15.0-1051-aws",
            "Darwin/23.6.0",
            "Darwin/24.1.0",
            "Windows/10",
            "Linux/6.5.0-1025-azure",
        )
        ri, ch = rnd.randint, rnd.choice
        agents: list[str] = []
        for _ in range(60):
            distro = ch(("amzn.2023", "ubuntu.22", "ubuntu.24", "macos"))
            cmd = f"{ch(WORDS)}.{ch(('list', 'describe', 'get', 'put'))}"
            agents.append(
                f"aws-cli/2.{ri(9, 22)}.{ri(0, 40)} Python/3.{ch((11, 12))}.{ri(1, 9)} "
                f"{ch(oses)} exe/x86_64.{distro} prompt/off command/{cmd}"
            )
        for _ in range(70):
            v = f"1.{ri(28, 35)}.{ri(0, 99)}"
            os_name, os_ver = ch(oses).split("/", 1)
            env = ch(("", "", " exec-env/AWS_Lambda_python3.12", " exec-env/AWS_ECS_FARGATE"))
            agents.append(
                f"Boto3/{v} md/Botocore#{v} ua/2.0 os/{os_name.lower()}#{os_ver} "
                f"md/arch#x86_64 lang/python#3.{ch((9, 10, 11, 12))}.{ri(1, 9)} "
                f"md/pyimpl#CPython cfg/retry-mode#legacy Botocore/{v}{env}"
            )
        for _ in range(50):
            api = ch(("ec2", "s3", "sts", "kms", "ecr", "dynamodb"))
            agents.append(
                f"aws-sdk-go-v2/1.{ri(24, 32)}.{ri(0, 9)} os/linux "
                f"lang/go#1.{ri(21, 23)}.{ri(0, 9)} md/GOOS#linux md/GOARCH#amd64 "
                f"api/{api}#1.{ri(10, 190)}.{ri(0, 9)}"
            )
        for _ in range(45):
            jvm, java = ch(
                (
                    ("17.0.9+8-LTS", "17.0.9"),
                    ("21.0.5+11-LTS", "21.0.5"),
                    ("11.0.21+9-LTS", "11.0.21"),
                )
            )
            agents.append(
                f"aws-sdk-java/2.{ri(20, 29)}.{ri(0, 40)} {ch(oses)} "
                f"OpenJDK_64-Bit_Server_VM/{jvm} Java/{java} vendor/Amazon.com_Inc. "
                "md/internal io/sync http/Apache cfg/retry-mode/legacy"
            )
        for _ in range(30):
            os_name, os_ver = ch(oses).split("/", 1)
            node = ch(("18.20.4", "20.18.0", "22.11.0"))
            api = ch(("s3", "dynamodb", "sqs", "lambda"))
            agents.append(
                f"aws-sdk-js/3.{ri(400, 700)}.0 ua/2.1 os/{os_name.lower()}#{os_ver} "
                f"lang/js md/nodejs#{node} api/{api}#3.{ri(400, 700)}.0"
            )
        for _ in range(15):
            agents.append(
                f"APN/1.0 HashiCorp/1.0 Terraform/1.{ri(5, 9)}.{ri(0, 6)} "
                "(+https://www.terraform.io) "
                f"terraform-provider-aws/5.{ri(30, 80)}.0 "
                "(+https://registry.terraform.io/providers/hashicorp/aws) "
                f"aws-sdk-go-v2/1.{ri(24, 32)}.0 os/linux lang/go#1.22.{ri(0, 8)} "
                "md/GOOS#linux md/GOARCH#amd64"
            )
        webkit = "AppleWebKit/537.36 (KHTML, like Gecko)"
        browsers = (
            f"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) {webkit} "
            "Chrome/{v}.0.0.0 Safari/537.36",
            f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) {webkit} "
            "Chrome/{v}.0.0.0 Safari/537.36 Edg/{v}.0.0.0",
            "Mozilla/5.0 (X11; Linux x86_64; rv:{v}.0) Gecko/20100101 Firefox/{v}.0",
        )
        for _ in range(20):
            agents.append(ch(browsers).format(v=ri(118, 132)))
        agents += [
            "AWS Internal",
            "console.amazonaws.com",
            "signin.amazonaws.com",
            "S3Console/0.4, aws-internal/3 aws-sdk-java/1.12.750 Linux/5.10.228-198.884."
            "amzn2int.x86_64 OpenJDK_64-Bit_Server_VM/25.432-b06 java/1.8.0_432 "
            "vendor/Oracle_Corporation cfg/retry-mode/standard",
            "aws-internal/3 aws-sdk-java/1.12.770 Linux/5.10.227-219.884.amzn2.x86_64 "
            "OpenJDK_64-Bit_Server_VM/25.432-b06 java/1.8.0_432 vendor/Oracle_Corporation "
            "cfg/retry-mode/standard",
            "Coral/Netty4",
            "Coral/Jakarta",
            "aws-cdk/2.170.0",
            "python-requests/2.32.3",
            "curl/8.5.0",
        ]
        agents = list(dict.fromkeys(agents))  # unique, order kept
        self.uas = [_dumps(a) for a in agents]
        self.uas_s3 = [_dumps(a if a.startswith("[") else f"[{a}]") for a in agents]
        self.cum_ua = _cum(
            _zipf(len(agents), 1.0)[np.random.default_rng(self.seed + 1).permutation(len(agents))]
        )
        self.n_ua = len(agents)

    # -- principals -------------------------------------------------------------------------
    def _build_principals(self, rnd: random.Random, nrng: np.random.Generator) -> None:
        """Per account: identity JSON, ARN (for error messages), fixed ip/ua, home IP."""
        self.principals: list[dict] = []
        for _prefix, acct in ACCOUNTS:
            p = _principals_for(acct, rnd, self)
            n = len(p["ident"])
            kinds = np.array(p["kind"])
            w = np.empty(n)
            # Category shares of traffic, then Zipf within each category.
            # Workloads make most calls; people (SSO sessions, root, federation) few.
            for k, share in (
                ("svc", 0.23),
                ("internal", 0.05),
                ("app", 0.37),
                ("user", 0.27),
                ("sso", 0.05),
                ("other", 0.03),
            ):
                idx = np.nonzero(kinds == k)[0]
                w[idx] = share * _zipf(len(idx), 1.1)[nrng.permutation(len(idx))]
            p["cum"] = _cum(w)
            p["is_svc"] = kinds == "svc"
            p["home_ip"] = nrng.integers(0, len(self.ips) - 8, size=n)
            p["pref_ua"] = np.searchsorted(self.cum_ua, nrng.random(n))
            self.principals.append(p)

    # -- cached fragments -------------------------------------------------------------------
    def mid(self, ci: int, region: str) -> tuple[bytes, bytes, bytes, bytes]:
        """(record head, ',"eventSource":...,"sourceIPAddress":"', TLS 1.3 and 1.2 tails)."""
        key = (ci, region)
        got = self._mid_cache.get(key)
        if got is None:
            svc, name, _ro, _data = self.combos[ci]
            mid = (
                f',"eventSource":"{svc}.amazonaws.com","eventName":"{name}",'
                f'"awsRegion":"{region}","sourceIPAddress":"'
            ).encode()
            host = (
                f"{svc}.amazonaws.com"
                if svc in GLOBAL_SERVICES or svc == "sts" and region == "us-east-1"
                else f"{svc}.{region}.amazonaws.com"
            )
            tls13 = (
                b',"tlsDetails":{"tlsVersion":"TLSv1.3",'
                b'"cipherSuite":"TLS_AES_128_GCM_SHA256",'
                b'"clientProvidedHostHeader":"' + host.encode() + b'"}}'
            )
            tls12 = (
                b',"tlsDetails":{"tlsVersion":"TLSv1.2","cipherSuite":'
                b'"ECDHE-RSA-AES128-GCM-SHA256","clientProvidedHostHeader":"'
                + host.encode()
                + b'"}}'
            )
            version = self.svc_version[svc]
            head = f'{{"eventVersion":"{version}","userIdentity":'.encode()
            if version < "1.08":
                tls13 = tls12 = b"}"
            got = (head, mid, tls13, tls12)
            self._mid_cache[key] = got
        return got

    def body(self, ci: int, variant: int, acct: str, region: str) -> tuple[bytes, bytes, bytes]:
        """(request/response/additional data + ',"requestID":"', same for an error, tail)."""
        key = (ci, variant, acct, region)
        got = self._frag_cache.get(key)
        if got is None:
            if len(self._frag_cache) > 200_000:
                self._frag_cache.clear()
            svc, name, ro, data = self.combos[ci]
            req, resp, extra, res = self.shapes(ci)[variant]
            a_b, r_b = acct.encode(), region.encode()

            def sub(b: bytes) -> bytes:
                return b.replace(b"{A}", a_b).replace(b"{R}", r_b)

            ok = (
                b',"requestParameters":'
                + sub(_dumps(req))
                + b',"responseElements":'
                + sub(_dumps(resp))
            )
            if extra is not None:
                ok += b',"additionalEventData":' + sub(_dumps(extra))
            err = b',"requestParameters":' + sub(_dumps(req)) + b',"responseElements":null'
            tail = b'","readOnly":' + (b"true" if ro else b"false")
            if res is not None:
                tail += b',"resources":' + sub(_dumps(res))
            etype = "AwsConsoleSignIn" if svc == "signin" else "AwsApiCall"
            tail += (
                f',"eventType":"{etype}","managementEvent":{"false" if data else "true"},'
                f'"recipientAccountId":"{acct}","eventCategory":'
                f'"{"Data" if data else "Management"}"'
            ).encode()
            got = (ok + b',"requestID":"', err + b',"requestID":"', tail)
            self._frag_cache[key] = got
        return got


def _hexid(rnd: random.Random, n: int) -> str:
    return f"{rnd.getrandbits(4 * n):0{n}x}"


def _b32(rnd: random.Random, n: int) -> str:
    return "".join(rnd.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(n))


def _principals_for(acct: str, rnd: random.Random, t: Tables) -> dict:
    """~250 principals of one account, as pre-serialized userIdentity objects."""
    ident: list[bytes] = []
    arns: list[str] = []
    kind: list[str] = []
    fixed_ip: list[bytes | None] = []
    fixed_ua: list[int | None] = []
    life: list[int] = []  # seconds one set of temporary credentials is used (0: no ASIA key)
    fresh: list[float] = []  # share of events in a session of their own (cold start, CI job)
    named: list[bool] = []  # the role session name changes with the session

    def add(
        obj: dict,
        arn: str,
        k: str,
        ip: str | None = None,
        ua: str | None = None,
        session: tuple[int, float, bool] = (3600, 0.0, False),
    ) -> None:
        ident.append(_dumps(obj))
        arns.append(arn)
        kind.append(k)
        temporary = str(obj.get("accessKeyId", "")).startswith("ASIA")
        life.append(session[0] if temporary else 0)
        fresh.append(session[1] if temporary else 0.0)
        named.append(session[2] and temporary)
        fixed_ip.append(ip.encode() if ip else None)
        fixed_ua.append(len(t.uas) if ua else None)
        if ua:
            t.uas.append(_dumps(ua))
            t.uas_s3.append(_dumps(ua))

    def created() -> str:
        return (
            f"2026-10-{rnd.randint(20, 31):02d}T{rnd.randint(0, 23):02d}:"
            f"{rnd.randint(0, 59):02d}:{rnd.randint(0, 59):02d}Z"
        )

    def role_ident(
        role: str,
        session: str,
        path: str = "",
        extra: dict | None = None,
        invoked: str | None = None,
        ctx_extra: dict | None = None,
    ) -> tuple[dict, str]:
        rid = "AROA" + _b32(rnd, 17)
        ctx = {
            "sessionIssuer": {
                "type": "Role",
                "principalId": rid,
                "arn": f"arn:aws:iam::{acct}:role/{path}{role}",
                "accountId": acct,
                "userName": role,
            },
            "webIdFederationData": {},
            "attributes": {
                "creationDate": created(),
                "mfaAuthenticated": "true" if rnd.random() < 0.05 else "false",
            },
        }
        if ctx_extra:
            ctx.update(ctx_extra)
        arn = f"arn:aws:sts::{acct}:assumed-role/{role}/{session}"
        obj = {
            "type": "AssumedRole",
            "principalId": f"{rid}:{session}",
            "arn": arn,
            "accountId": acct,
            "accessKeyId": "ASIA" + _b32(rnd, 16),
            "sessionContext": ctx,
        }
        if invoked:
            obj["invokedBy"] = invoked
        if extra:
            obj.update(extra)
        return obj, arn

    # Application and automation roles, a few sessions each.
    # Each session has keys of its own: instance roles rotate hourly; ECS tasks, Lambda
    # cold starts and CI jobs mostly start new sessions (a new key, and for tasks and CI
    # jobs a new session name).
    for _ in range(55):
        w = rnd.choice(WORDS)
        env = rnd.choice(ENVS)
        style = rnd.random()
        if style < 0.2:
            role = f"{w}-{env}-{rnd.choice(('task', 'service', 'app'))}-role"
            sessions = [_hexid(rnd, 32) for _ in range(rnd.randint(1, 4))]  # ECS task ids
            model = (3600, 0.95, True)
        elif style < 0.6:
            role = f"{w}-{env}-lambda-role"
            sessions = [f"{w}-{env}-{rnd.choice(WORDS)}"]
            model = (3600, 0.97, False)
        elif style < 0.85:
            role = f"{w}-{env}-instance-role"
            sessions = ["i-0" + _hexid(rnd, 16) for _ in range(rnd.randint(1, 5))]
            model = (3600, 0.8, False)  # fleets: mostly short-lived instances
        else:
            role = f"{w}-{env}-deploy"
            sessions = [
                "GitHubActions",
                f"botocore-session-{rnd.randint(1762000000, 1763000000)}",
                f"aws-go-sdk-{rnd.randint(1762000000000, 1763000000000)}",
            ]
            model = (900, 0.98, True)
        for s in sessions:
            extra = {"ec2RoleDelivery": "2.0"} if s.startswith("i-") else None
            si = {"sourceIdentity": f"{rnd.choice(WORDS)}-bot"} if rnd.random() < 0.05 else None
            obj, arn = role_ident(role, s, ctx_extra={**(extra or {}), **(si or {})})
            add(obj, arn, "app", session=model)
    # People through IAM Identity Center permission sets.
    first = (
        "ana",
        "ben",
        "chen",
        "dara",
        "eli",
        "fatima",
        "gus",
        "hana",
        "ivan",
        "jo",
        "kofi",
        "lena",
        "marco",
        "nia",
        "omar",
        "pia",
        "raj",
        "sofia",
        "tomas",
        "uma",
        "vik",
        "wen",
        "yara",
        "zoe",
    )
    for perm in (
        "AdministratorAccess",
        "PowerUserAccess",
        "ReadOnlyAccess",
        "SecurityAudit",
        "DataEngineer",
        "Billing",
    ):
        role = f"AWSReservedSSO_{perm}_{_hexid(rnd, 16)}"
        for _ in range(rnd.randint(4, 9)):
            user = f"{rnd.choice(first)}.{rnd.choice(first)}{rnd.randint(1, 99)}@example.com"
            obj, arn = role_ident(role, user, path="aws-reserved/sso.amazonaws.com/")
            add(obj, arn, "sso", session=(8 * 3600, 0.0, False))
    # Service-linked roles acting from inside AWS.
    for svc in (
        "config",
        "autoscaling",
        "elasticloadbalancing",
        "ecs",
        "rds",
        "guardduty",
        "securityhub",
        "inspector2",
        "backup",
        "organizations",
        "trustedadvisor",
        "access-analyzer",
        "compute-optimizer",
        "sso",
        "cloudtrail",
    ):
        pretty = svc.replace("-", " ").title().replace(" ", "")
        role = f"AWSServiceRoleFor{pretty}"
        for s in (f"{pretty}-{_hexid(rnd, 8)}", f"{pretty}Session"):
            obj, arn = role_ident(
                role, s, path=f"aws-service-role/{svc}.amazonaws.com/", invoked="AWS Internal"
            )
            add(
                obj,
                arn,
                "internal",
                ip="AWS Internal",
                ua="AWS Internal",
                session=(3600, 0.95, False),
            )
    # IAM users: long-term keys, and console sessions with temporary keys.
    for i in range(28):
        name = (
            f"{rnd.choice(WORDS)}-{rnd.choice(('ci', 'svc', 'bot', 'sync', 'legacy'))}"
            if i < 18
            else f"{rnd.choice(first)}.{rnd.choice(first)}"
        )
        aid = "AIDA" + _b32(rnd, 17)
        base = {
            "type": "IAMUser",
            "principalId": aid,
            "arn": f"arn:aws:iam::{acct}:user/{name}",
            "accountId": acct,
        }
        if i < 18:
            add(
                {**base, "accessKeyId": "AKIA" + _b32(rnd, 16), "userName": name},
                base["arn"],
                "user",
            )
        else:
            add(
                {
                    **base,
                    "accessKeyId": "ASIA" + _b32(rnd, 16),
                    "userName": name,
                    "sessionContext": {
                        "sessionIssuer": {},
                        "webIdFederationData": {},
                        "attributes": {"creationDate": created(), "mfaAuthenticated": "true"},
                    },
                },
                base["arn"],
                "user",
            )
    # AWS services calling on their own.
    for svc in INVOKERS:
        add({"type": "AWSService", "invokedBy": svc}, "", "svc", ip=svc, ua=svc)
    # The rest: root, federation, web identity, SAML, other accounts, anonymous.
    add(
        {
            "type": "Root",
            "principalId": acct,
            "arn": f"arn:aws:iam::{acct}:root",
            "accountId": acct,
            "accessKeyId": "ASIA" + _b32(rnd, 16),
            "sessionContext": {
                "sessionIssuer": {},
                "webIdFederationData": {},
                "attributes": {"creationDate": created(), "mfaAuthenticated": "true"},
            },
        },
        f"arn:aws:iam::{acct}:root",
        "other",
    )
    for _ in range(3):
        fed = f"{rnd.choice(WORDS)}-partner"
        add(
            {
                "type": "FederatedUser",
                "principalId": f"{acct}:{fed}",
                "arn": f"arn:aws:sts::{acct}:federated-user/{fed}",
                "accountId": acct,
                "accessKeyId": "ASIA" + _b32(rnd, 16),
                "sessionContext": {
                    "sessionIssuer": {
                        "type": "IAMUser",
                        "principalId": "AIDA" + _b32(rnd, 17),
                        "arn": f"arn:aws:iam::{acct}:user/broker",
                        "accountId": acct,
                        "userName": "broker",
                    },
                    "webIdFederationData": {},
                    "attributes": {"creationDate": created(), "mfaAuthenticated": "false"},
                },
            },
            f"arn:aws:sts::{acct}:federated-user/{fed}",
            "other",
        )
    oidc = f"arn:aws:iam::{acct}:oidc-provider/token.actions.githubusercontent.com"
    for _ in range(4):
        sub = f"repo:acme-corp/{rnd.choice(WORDS)}-{rnd.choice(WORDS)}:ref:refs/heads/main"
        add(
            {
                "type": "WebIdentityUser",
                "principalId": f"{oidc}:sts.amazonaws.com:{sub}",
                "userName": sub,
                "identityProvider": oidc,
            },
            "",
            "other",
        )
    idp = f"{_hexid(rnd, 27)}="
    for _ in range(4):
        user = f"{rnd.choice(first)}.{rnd.choice(first)}@example.com"
        add(
            {
                "type": "SAMLUser",
                "principalId": f"{idp}:{user}",
                "userName": user,
                "identityProvider": idp,
            },
            "",
            "other",
        )
    for other, _ in ACCOUNTS[:4]:
        other = other.rsplit("/", 1)[-1]
        if other != acct:
            add(
                {"type": "AWSAccount", "principalId": "AIDA" + _b32(rnd, 17), "accountId": other},
                "",
                "other",
            )
    add({"type": "AWSAccount", "principalId": "", "accountId": "ANONYMOUS_PRINCIPAL"}, "", "other")
    return {
        "ident": ident,
        "arn": arns,
        "kind": kind,
        "fixed_ip": fixed_ip,
        "fixed_ua": fixed_ua,
        **_session_templates(ident, arns, life, fresh, named),
    }


_KEY_AT = b'"accessKeyId":"ASIA'


def _session_templates(
    ident: list[bytes], arns: list[str], life: list[int], fresh: list[float], named: list[bool]
) -> dict:
    """Per principal: where its temporary key's 16 characters stand in the identity JSON
    (-1: none), and for principals whose session name changes, the identity and ARN split
    around that name."""
    kpos = np.array(
        [b.find(_KEY_AT) + len(_KEY_AT) if lf else -1 for b, lf in zip(ident, life, strict=True)],
        np.int64,
    )
    split: list[tuple[list[bytes], list[str]] | None] = []
    for b, arn, nm in zip(ident, arns, named, strict=True):
        if not nm:
            split.append(None)
            continue
        session = arn.rsplit("/", 1)[1]
        split.append((b.split(session.encode()), arn.split(session)))
    return {
        "kpos": kpos,
        "life": np.maximum(np.array(life, np.int64), 1),
        "fresh": np.array(fresh),
        "named_split": split,
    }


_B32 = np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", dtype=np.uint8)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser, vectorised (uint64 wraps)."""
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _session_ids(
    t: Tables, rng: np.random.Generator, acct_i: int, pidx: np.ndarray, secs: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per event two 64-bit words naming its credential session: the same for events of
    one principal within one credential lifetime, fresh for a one-event session."""
    p = t.principals[acct_i]
    n = len(pidx)
    with np.errstate(over="ignore"):
        base = (
            np.uint64(t.seed) * np.uint64(0x9E3779B97F4A7C15)
            ^ (np.uint64(acct_i) << np.uint64(56))
            ^ (pidx.astype(np.uint64) << np.uint64(40))
            ^ (secs // p["life"][pidx]).astype(np.uint64)
        )
        own = rng.integers(0, 2**63, n, dtype=np.int64).astype(np.uint64) | np.uint64(1 << 63)
        base = np.where(rng.random(n) < p["fresh"][pidx], own, base)
        h1 = _mix(base)
        h2 = _mix(h1 ^ np.uint64(0xD6E8FEB86659FD93))
    return h1, h2


def _key_chars(h1: np.ndarray, h2: np.ndarray) -> bytes:
    """16 base32 characters per event (80 bits: all of h1, 16 of h2), end to end."""
    shifts = np.arange(0, 60, 5, dtype=np.uint64)
    idx = np.concatenate(
        [(h1[:, None] >> shifts) & np.uint64(31), (h2[:, None] >> shifts[:4]) & np.uint64(31)],
        axis=1,
    )
    return _B32[idx.astype(np.intp)].tobytes()


_VERB = re.compile(
    r"^(Describe|List|Get|Batch(?:Get|Check|Create|Delete|Import|Update|Write)?|"
    r"Create|Delete|Update|Put|Modify|Start|Stop|Set|Register|Deregister|Submit|"
    r"Attach|Detach|Add|Remove|Tag|Untag|Enable|Disable|Run|Terminate|Reboot|"
    r"Authorize|Revoke|Complete|Initiate|Upload|Change|Execute|Publish|Invoke|"
    r"Admin(?:Get|Create|Update|Disable)?|Search|Select|Filter|Lookup|Generate|"
    r"Retire|Schedule|Rotate|Archive|Associate|Move|Provision|Refresh|Request|"
    r"Increase|Discover|Decode|Validate|Signal|Record|Purge|Subscribe|Unsubscribe|"
    r"Assume|Head|Copy|Query|Scan|Decrypt|Encrypt|ReEncrypt|Send|Retrieve)?(.*)$"
)


def _noun(name: str) -> str:
    name = re.sub(r"\d{8}(v\d)?$", "", name)
    m = _VERB.match(name)
    noun = (m.group(2) if m and m.group(2) else name) or "Resource"
    return noun


def _shape(rnd: random.Random, svc: str, name: str, ro: bool, data: bool) -> tuple:
    """(requestParameters, responseElements, additionalEventData, resources) with "{A}" for
    the account and "{R}" for the region. Sizes vary a lot, like real payloads."""
    w = rnd.choice(WORDS)
    env = rnd.choice(ENVS)
    noun = _noun(name)
    key = _camel(noun.rstrip("s") or "resource")

    if svc == "s3":
        bucket = f"acme-{w}-{env}-{{A}}"
        host = f"{bucket}.s3.{{R}}.amazonaws.com"
        if data:
            obj = (
                f"{rnd.choice(WORDS)}/{rnd.randint(2024, 2026)}/{_hexid(rnd, 12)}."
                f"{rnd.choice(('json', 'parquet', 'csv.gz', 'jpg', 'zip', 'log'))}"
            )
            req = {"bucketName": bucket, "Host": host, "key": obj}
            if name.startswith("List"):
                req = {
                    "bucketName": bucket,
                    "Host": host,
                    "prefix": obj.split("/")[0] + "/",
                    "list-type": "2" if name.endswith("V2") else None,
                    "encoding-type": "url",
                }
                req = {k: v for k, v in req.items() if v is not None}
            if name in ("UploadPart", "CompleteMultipartUpload"):
                req.update({"uploadId": _hexid(rnd, 64), "partNumber": rnd.randint(1, 40)})
            resp = None
            if name in ("PutObject", "CompleteMultipartUpload", "CopyObject"):
                resp = {
                    "x-amz-server-side-encryption": "aws:kms",
                    "x-amz-server-side-encryption-aws-kms-key-id": f"arn:aws:kms:{{R}}:{{A}}:key/{_uuid(rnd)}",
                    "x-amz-version-id": _hexid(rnd, 32),
                }
            size = int(rnd.lognormvariate(9, 2.5))
            extra = {
                "SignatureVersion": "SigV4",
                "CipherSuite": "TLS_AES_128_GCM_SHA256",
                "bytesTransferredIn": 0 if ro else size,
                "AuthenticationMethod": "AuthHeader",
                "x-amz-id-2": _b64(rnd, 57),
                "bytesTransferredOut": size if ro else 0,
            }
            res = [
                {"type": "AWS::S3::Object", "ARN": f"arn:aws:s3:::{bucket}/{obj}"},
                {"accountId": "{A}", "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{bucket}"},
            ]
            if name.startswith("List"):
                res = res[1:]
            return req, resp, extra, res
        if name == "ListBuckets":
            return (
                {"Host": "s3.{R}.amazonaws.com"},
                None,
                {
                    "SignatureVersion": "SigV4",
                    "CipherSuite": "TLS_AES_128_GCM_SHA256",
                    "bytesTransferredIn": 0,
                    "AuthenticationMethod": "AuthHeader",
                    "x-amz-id-2": _b64(rnd, 57),
                    "bytesTransferredOut": rnd.randint(400, 9000),
                },
                None,
            )
        sub = _camel(noun.replace("Bucket", "") or "acl").lower()
        req = {"bucketName": bucket, "Host": host, sub: ""}
        if not ro and "Policy" in name:
            req["bucketPolicy"] = _policy(rnd, rnd.randint(1, 4))
        extra = {
            "SignatureVersion": "SigV4",
            "CipherSuite": "TLS_AES_128_GCM_SHA256",
            "bytesTransferredIn": 0,
            "AuthenticationMethod": "AuthHeader",
            "x-amz-id-2": _b64(rnd, 57),
            "bytesTransferredOut": rnd.randint(100, 3000),
        }
        return (
            req,
            None,
            extra,
            [{"accountId": "{A}", "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{bucket}"}],
        )

    if svc == "sts" and name.startswith("AssumeRole"):
        role = f"{w}-{env}-{rnd.choice(('role', 'deploy', 'readonly', 'admin'))}"
        role_arn = f"arn:aws:iam::{{A}}:role/{role}"
        session = rnd.choice(
            (
                f"i-0{_hexid(rnd, 16)}",
                "GitHubActions",
                f"{w}-session",
                f"botocore-session-{rnd.randint(1762000000, 1763000000)}",
            )
        )
        req = {
            "roleArn": role_arn,
            "roleSessionName": session,
            "durationSeconds": rnd.choice((900, 3600, 3600, 43200)),
        }
        if rnd.random() < 0.2:
            req["externalId"] = _hexid(rnd, 20)
        # Every AssumeRole mints a key of its own: "{K}" is filled in per event.
        creds = {
            "accessKeyId": "ASIA{K}",
            "expiration": f"Nov {rnd.randint(1, 8)}, 2026, {rnd.randint(1, 12)}:"
            f"{rnd.randint(0, 59):02d}:{rnd.randint(0, 59):02d} "
            f"{rnd.choice(('AM', 'PM'))}",
        }
        if rnd.random() < 0.12:  # some trails carry the (long) session token
            creds["sessionToken"] = _b64(rnd, rnd.choice((180, 420)))
        resp = {
            "credentials": creds,
            "assumedRoleUser": {
                "assumedRoleId": f"AROA{_b32(rnd, 17)}:{session}",
                "arn": f"arn:aws:sts::{{A}}:assumed-role/{role}/{session}",
            },
        }
        if name == "AssumeRoleWithWebIdentity":
            resp["provider"] = "arn:aws:iam::{A}:oidc-provider/token.actions.githubusercontent.com"
            resp["audience"] = "sts.amazonaws.com"
        return req, resp, None, [{"accountId": "{A}", "type": "AWS::IAM::Role", "ARN": role_arn}]

    if svc == "kms" and ro:
        key_arn = f"arn:aws:kms:{{R}}:{{A}}:key/{_uuid(rnd)}"
        req: dict | None = {"keyId": key_arn} if rnd.random() < 0.6 else {}
        if name in ("Decrypt", "GenerateDataKey", "Encrypt", "ReEncrypt"):
            req["encryptionAlgorithm"] = "SYMMETRIC_DEFAULT"
            req["encryptionContext"] = rnd.choice(
                (
                    {
                        "aws:s3:arn": f"arn:aws:s3:::acme-{w}-{env}/{rnd.choice(WORDS)}/{_hexid(rnd, 16)}"
                    },
                    {"aws:lambda:FunctionArn": f"arn:aws:lambda:{{R}}:{{A}}:function:{w}-{env}"},
                    {
                        "SecretARN": f"arn:aws:secretsmanager:{{R}}:{{A}}:secret:{env}/{w}-{_b32(rnd, 6)}",
                        "SecretVersionId": _uuid(rnd),
                    },
                    {"aws:ebs:id": f"vol-0{_hexid(rnd, 16)}"},
                )
            )
            if name == "GenerateDataKey":
                req["keySpec"] = "AES_256"
        return (
            req or None,
            None,
            None,
            [{"accountId": "{A}", "type": "AWS::KMS::Key", "ARN": key_arn}],
        )

    if svc == "signin":
        return (
            None,
            {name: "Success"},
            {
                "LoginTo": "https://console.aws.amazon.com/console/home?hashArgs=%23&isauthcode=true",
                "MobileVersion": "No",
                "MFAUsed": rnd.choice(("Yes", "No")),
            },
            None,
        )

    if svc == "iam" and name in (
        "PutRolePolicy",
        "CreatePolicy",
        "CreatePolicyVersion",
        "UpdateAssumeRolePolicy",
        "CreateRole",
    ):
        doc = _policy(rnd, rnd.randint(1, 12))
        req = {
            "roleName" if "Role" in name else "policyName": f"{w}-{env}-{_camel(noun)}",
            "policyDocument" if name != "CreateRole" else "assumeRolePolicyDocument": doc,
        }
        resp = None
        if name.startswith("Create"):
            resp = {
                key: {
                    "arn": f"arn:aws:iam::{{A}}:{'role' if 'Role' in name else 'policy'}/{w}-{env}",
                    "createDate": "Nov 1, 2026, 10:11:12 AM",
                    "path": "/",
                    f"{key}Id": "ANPA" + _b32(rnd, 17),
                }
            }
        return req, resp, None, None

    if name in (
        "RunInstances",
        "RegisterTaskDefinition",
        "CreateStack",
        "UpdateStack",
        "CreateChangeSet",
        "PutDashboard",
        "UpdateFunctionConfiguration20150331v2",
        "CreateFunction20150331",
        "PutMetricAlarm",
        "ChangeResourceRecordSets",
        "StartQueryExecution",
        "PutEvents",
        "BatchImportFindings",
    ):
        return _big(rnd, svc, name, w, env)

    # Everything else: a generic but plausible payload.
    roll = rnd.random()
    if ro:
        if roll < 0.45:
            req = None
        elif roll < 0.8:
            req = {f"{key}Name" if rnd.random() < 0.5 else f"{key}Id": _ident(rnd, noun, w, env)}
        else:
            req = {"maxResults": rnd.choice((20, 50, 100, 1000))}
            if rnd.random() < 0.5:
                req["filters"] = [
                    {
                        "name": rnd.choice(("tag:env", "tag:team", "state", "vpc-id")),
                        "values": [rnd.choice(ENVS), rnd.choice(WORDS)],
                    }
                ]
            if rnd.random() < 0.2:
                req["nextToken"] = _b64(rnd, rnd.choice((48, 96, 240)))
        return req, None, None, None
    req = {f"{key}Name": f"{w}-{env}-{_hexid(rnd, 6)}"}
    if roll < 0.5:
        req["tags"] = [
            {
                "key": rnd.choice(("env", "team", "owner", "cost-center", "app")),
                "value": rnd.choice(WORDS + ENVS),
            }
            for _ in range(rnd.randint(0, 4))
        ]
    if roll > 0.5:
        req["description"] = (
            f"Managed by {rnd.choice(('Terraform', 'CDK', 'CloudFormation'))} "
            f"for the {w} team ({env})"
        )
    if roll > 0.7:
        req["configuration"] = {
            _camel(
                rnd.choice(("Timeout", "Retention", "Capacity", "Size", "Interval"))
            ): rnd.randint(1, 3600),
            "enabled": rnd.random() < 0.8,
        }
    resp = None
    if rnd.random() < 0.6:
        resp = {
            f"{key}Arn": f"arn:aws:{svc}:{{R}}:{{A}}:{key.lower()}/{w}-{env}-{_hexid(rnd, 8)}",
            f"{key}Id": _ident(rnd, noun, w, env),
        }
        if rnd.random() < 0.4:
            resp["creationTime"] = f"Nov {rnd.randint(1, 8)}, 2026, 9:{rnd.randint(10, 59)}:00 AM"
    return req, resp, None, None


def _ident(rnd: random.Random, noun: str, w: str, env: str) -> str:
    return rnd.choice(
        (
            f"{w}-{env}",
            f"{noun.lower()[:6]}-0{_hexid(rnd, 16)}",
            f"{w}-{env}-{_hexid(rnd, 8)}",
            _uuid(rnd),
        )
    )


def _uuid(rnd: random.Random) -> str:
    h = _hexid(rnd, 32)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"


def _b64(rnd: random.Random, n: int) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    s = "".join(rnd.choice(alphabet) for _ in range(n - n % 4))
    return s + "=" * (n % 4)


def _policy(rnd: random.Random, statements: int) -> str:
    return orjson.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": f"S{i}",
                    "Effect": rnd.choice(("Allow", "Allow", "Deny")),
                    "Action": [
                        rnd.choice(("s3", "kms", "dynamodb", "sqs", "logs", "ssm"))
                        + ":"
                        + rnd.choice(
                            ("Get*", "List*", "PutObject", "Decrypt", "Query", "SendMessage")
                        )
                        for _ in range(rnd.randint(1, 6))
                    ],
                    "Resource": [
                        f"arn:aws:s3:::acme-{rnd.choice(WORDS)}-{rnd.choice(ENVS)}/*"
                        for _ in range(rnd.randint(1, 4))
                    ],
                }
                for i in range(statements)
            ],
        }
    ).decode()


def _big(rnd: random.Random, svc: str, name: str, w: str, env: str) -> tuple:
    """The few calls whose payloads run to kilobytes."""
    if name == "RunInstances":
        n = rnd.randint(1, 3)
        items = [
            {
                "instanceId": f"i-0{_hexid(rnd, 16)}",
                "imageId": f"ami-0{_hexid(rnd, 16)}",
                "instanceState": {"code": 0, "name": "pending"},
                "privateDnsName": f"ip-10-{rnd.randint(0, 255)}-{rnd.randint(0, 255)}-"
                f"{rnd.randint(1, 254)}.ec2.internal",
                "amiLaunchIndex": i,
                "productCodes": {},
                "instanceType": rnd.choice(("t3.micro", "m6i.large", "c7g.xlarge", "r6i.2xlarge")),
                "launchTime": 1762000000000 + rnd.randint(0, 10**9),
                "placement": {"availabilityZone": "{R}a", "tenancy": "default"},
                "monitoring": {"state": "disabled"},
                "subnetId": f"subnet-0{_hexid(rnd, 16)}",
                "vpcId": f"vpc-0{_hexid(rnd, 16)}",
                "privateIpAddress": "10.0.1.23",
                "stateReason": {"code": "pending", "message": "pending"},
                "architecture": "x86_64",
                "rootDeviceType": "ebs",
                "rootDeviceName": "/dev/xvda",
                "blockDeviceMapping": {},
                "virtualizationType": "hvm",
                "hypervisor": "xen",
                "tagSet": {"items": [{"key": "Name", "value": f"{w}-{env}"}]},
                "groupSet": {
                    "items": [{"groupId": f"sg-0{_hexid(rnd, 16)}", "groupName": f"{w}-{env}"}]
                },
                "networkInterfaceSet": {
                    "items": [
                        {
                            "networkInterfaceId": f"eni-0{_hexid(rnd, 16)}",
                            "status": "in-use",
                            "macAddress": "0e:12:34:56:78:9a",
                        }
                    ]
                },
                "ebsOptimized": False,
                "enaSupport": True,
                "metadataOptions": {
                    "state": "pending",
                    "httpTokens": "required",
                    "httpPutResponseHopLimit": 2,
                    "httpEndpoint": "enabled",
                },
            }
            for i in range(n)
        ]
        req = {
            "instancesSet": {
                "items": [{"imageId": items[0]["imageId"], "minCount": n, "maxCount": n}]
            },
            "instanceType": items[0]["instanceType"],
            "blockDeviceMapping": {},
            "monitoring": {"enabled": False},
            "disableApiTermination": False,
            "clientToken": _uuid(rnd),
            "tagSpecificationSet": {
                "items": [
                    {"resourceType": "instance", "tags": [{"key": "Name", "value": f"{w}-{env}"}]}
                ]
            },
        }
        resp = {
            "requestId": _uuid(rnd),
            "reservationId": f"r-0{_hexid(rnd, 16)}",
            "ownerId": "{A}",
            "groupSet": {},
            "instancesSet": {"items": items},
        }
        return req, resp, None, None
    if name in ("CreateStack", "UpdateStack", "CreateChangeSet"):
        body = {
            "Resources": {
                f"{rnd.choice(WORDS).title()}{i}": {
                    "Type": rnd.choice(
                        (
                            "AWS::S3::Bucket",
                            "AWS::Lambda::Function",
                            "AWS::IAM::Role",
                            "AWS::SQS::Queue",
                            "AWS::DynamoDB::Table",
                        )
                    ),
                    "Properties": {"Tags": [{"Key": "env", "Value": env}]},
                }
                for i in range(rnd.randint(2, 25))
            }
        }
        req = {
            "stackName": f"{w}-{env}",
            "templateBody": orjson.dumps(body).decode(),
            "capabilities": ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"],
            "parameters": [{"parameterKey": "Env", "parameterValue": env}],
        }
        resp = {"stackId": f"arn:aws:cloudformation:{{R}}:{{A}}:stack/{w}-{env}/{_uuid(rnd)}"}
        return req, resp, None, None
    if name == "RegisterTaskDefinition":
        req = {
            "family": f"{w}-{env}",
            "networkMode": "awsvpc",
            "cpu": "512",
            "memory": "1024",
            "containerDefinitions": [
                {
                    "name": c,
                    "image": f"{{A}}.dkr.ecr.{{R}}.amazonaws.com/{w}:{_hexid(rnd, 7)}",
                    "essential": True,
                    "environment": [
                        {
                            "name": f"{rnd.choice(WORDS).upper()}_URL",
                            "value": f"https://{rnd.choice(WORDS)}.{env}.internal",
                        }
                        for _ in range(rnd.randint(2, 12))
                    ],
                    "logConfiguration": {
                        "logDriver": "awslogs",
                        "options": {
                            "awslogs-group": f"/ecs/{w}-{env}",
                            "awslogs-region": "{R}",
                            "awslogs-stream-prefix": c,
                        },
                    },
                }
                for c in ("app", "sidecar")[: rnd.randint(1, 2)]
            ],
        }
        resp = {
            "taskDefinition": {
                "taskDefinitionArn": f"arn:aws:ecs:{{R}}:{{A}}:task-definition/{w}-{env}:"
                f"{rnd.randint(1, 400)}",
                "status": "ACTIVE",
                "revision": rnd.randint(1, 400),
            }
        }
        return req, resp, None, None
    # Medium-sized generic writes.
    req = {
        f"{_camel(_noun(name))}Name": f"{w}-{env}",
        "definition": {
            f"{rnd.choice(WORDS)}": rnd.choice(WORDS) * rnd.randint(1, 6)
            for _ in range(rnd.randint(3, 20))
        },
    }
    resp = {"arn": f"arn:aws:{svc}:{{R}}:{{A}}:{w}/{_uuid(rnd)}"} if rnd.random() < 0.5 else None
    return req, resp, None, None


# ------------------------------------------------------------------------------------------
# Building files
# ------------------------------------------------------------------------------------------
_TABLES: Tables | None = None


def _tables(seed: int) -> Tables:
    global _TABLES
    if _TABLES is None or _TABLES.seed != seed:
        _TABLES = Tables(seed)
    return _TABLES


def _records(
    t: Tables, rng: np.random.Generator, acct_i: int, region: str, t0: int, span: int, n: int
) -> list[bytes]:
    """n compact JSON records for one account/region, eventTime in [t0, t0 + span)."""
    acct = ACCOUNTS[acct_i][1]
    p = t.principals[acct_i]
    is_global_region = region == "us-east-1"
    pidx = np.searchsorted(p["cum"], rng.random(n))
    pidx = np.minimum(pidx, len(p["ident"]) - 1)
    u = rng.random(n)
    svc_mask = p["is_svc"][pidx]
    combo = np.where(
        svc_mask,
        np.searchsorted(t.cum_service[is_global_region], u),
        np.searchsorted(t.cum_main[is_global_region], u),
    )
    combo = np.minimum(combo, len(t.combos) - 1)
    variant = rng.integers(0, t.variants, n)
    # Source IP: mostly a principal's own few addresses, else the global skewed pool.
    own = p["home_ip"][pidx] + rng.geometric(0.45, n) - 1
    pool = np.searchsorted(t.cum_ip, rng.random(n))
    ip = np.where(rng.random(n) < 0.6, own, pool)
    ip = np.minimum(ip, len(t.ips) - 1)
    ua = np.where(rng.random(n) < 0.7, p["pref_ua"][pidx], np.searchsorted(t.cum_ua, rng.random(n)))
    ua = np.minimum(ua, t.n_ua - 1)
    err = (rng.random(n) < 0.038) & ~svc_mask
    secs = t0 + rng.integers(0, span, n)
    tls12 = rng.random(n) < 0.15
    raw = rng.integers(0, 256, size=(n, 32), dtype=np.uint8)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40  # uuid4 version and variant bits
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    hexes = raw.tobytes().hex()
    h1, h2 = _session_ids(t, rng, acct_i, pidx, secs)
    keys = _key_chars(h1, h2)
    names = h2.tobytes().hex()  # a session name's 16 hex digits per event

    day_cache: dict[int, bytes] = {}
    ident, arns, fixed_ip, fixed_ua = p["ident"], p["arn"], p["fixed_ip"], p["fixed_ua"]
    kpos, named_split = p["kpos"].tolist(), p["named_split"]
    out: list[bytes] = []
    for i, (pi, ci, vi, ipi, uai, e, s, t12) in enumerate(
        zip(
            pidx.tolist(),
            combo.tolist(),
            variant.tolist(),
            ip.tolist(),
            ua.tolist(),
            err.tolist(),
            secs.tolist(),
            tls12.tolist(),
            strict=True,
        )
    ):
        day = s // 86400
        date = day_cache.get(day)
        if date is None:
            date = datetime.fromtimestamp(day * 86400, UTC).strftime("%Y-%m-%dT").encode()
            day_cache[day] = date
        svc, name, _ro, _data = t.combos[ci]
        head, mid, tls13b, tls12b = t.mid(ci, region)
        ok, errb, tail = t.body(ci, vi, acct, region)
        h = hexes[i * 64 : (i + 1) * 64]
        eid = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}".encode()
        rid = (
            h[32:48].upper()
            if svc == "s3"
            else f"{h[32:40]}-{h[40:44]}-4{h[45:48]}-a{h[49:52]}-{h[52:64]}"
        ).encode()
        fip = fixed_ip[pi]
        fua = fixed_ua[pi]
        if fua is not None:
            uab = t.uas[fua]
        else:
            uab = t.uas_s3[uai] if svc == "s3" else t.uas[uai]
        who, arn = ident[pi], arns[pi]
        split = named_split[pi]
        if split is not None:  # a session name of this session's own
            sn = names[i * 16 : (i + 1) * 16]
            who, arn = sn.encode().join(split[0]), sn.join(split[1])
        k = kpos[pi]
        if k >= 0:
            k = who.find(_KEY_AT) + len(_KEY_AT) if split is not None else k
            who = who[:k] + keys[i * 16 : (i + 1) * 16] + who[k + 16 :]
        parts = [
            head,
            who,
            b',"eventTime":"',
            date,
            t.hms[s % 86400],
            mid,
            fip if fip is not None else t.ips[ipi],
            b'","userAgent":',
            uab,
        ]
        if e:
            code, msg = _error(svc, name, arn, acct, h)
            parts += [b',"errorCode":', code, b',"errorMessage":', msg, errb]
        else:
            parts.append(ok if b"{K}" not in ok else ok.replace(b"{K}", _minted(h)))
        parts += [rid, b'","eventID":"', eid, tail]
        parts.append(b"}" if fip is not None else (tls12b if t12 else tls13b))
        out.append(b"".join(parts))
    return out


def _minted(h: str) -> bytes:
    """16 base32 characters of an access key id, from an event's random hex."""
    return base64.b32encode(bytes.fromhex(h[40:60]))[:16]


def _error(svc: str, name: str, arn: str, acct: str, h: str) -> tuple[bytes, bytes]:
    choices = ERRORS.get(svc, ERRORS["*"])
    code, msg = choices[int(h[60:62], 16) % len(choices)]
    msg = msg.format(
        arn=arn or f"arn:aws:iam::{acct}:root",
        name=name,
        svc=svc,
        acct=acct,
        word=WORDS[int(h[56:58], 16) % len(WORDS)],
        hex=h[40:56],
    )
    return _dumps(code), _dumps(msg)


def _file_body(records: list[bytes]) -> bytes:
    return b'{"Records":[' + b",".join(records) + b"]}"


def _gzip(data: bytes) -> bytes:
    co = _zlib.compressobj(GZIP_LEVEL, _zlib.DEFLATED, 31)
    return co.compress(data) + co.flush()


def _key(prefix: str, acct: str, region: str, delivered: datetime, suffix: str) -> str:
    return (
        f"AWSLogs/{prefix}/CloudTrail/{region}/{delivered:%Y/%m/%d}/"
        f"{acct}_CloudTrail_{region}_{delivered:%Y%m%dT%H%MZ}_{suffix}.json.gz"
    )


_ALNUM = np.frombuffer(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", dtype=np.uint8
)


def _suffix(rng: np.random.Generator) -> str:
    return _ALNUM[rng.integers(0, len(_ALNUM), 16)].tobytes().decode()


def _build_file(job: tuple) -> tuple[int, int, int]:
    """Worker: write one file. job = (out_dir, seed, index, acct_i, region, t0, n)."""
    out_dir, seed, index, acct_i, region, t0, n = job
    t = _tables(seed)
    rng = np.random.default_rng([seed, index])
    recs = _records(t, rng, acct_i, region, t0, 300, n)
    body = _file_body(recs)
    gz = _gzip(body)
    delivered = datetime.fromtimestamp(t0 + 300 + 60 * int(rng.choice((5, 5, 10, 10, 15))), UTC)
    delivered = delivered.replace(minute=delivered.minute - delivered.minute % 5, second=0)
    prefix, acct = ACCOUNTS[acct_i]
    path = Path(out_dir) / _key(prefix, acct, region, delivered, _suffix(rng))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gz)
    return n, len(body), len(gz)


def _parse_start(start: str | datetime) -> datetime:
    when = start if isinstance(start, datetime) else datetime.fromisoformat(start)
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _plan(events: int, seed: int, per_file: int, start: datetime, hours: float) -> list[tuple]:
    """(index, account index, region, window start, records) for every file."""
    rng = np.random.default_rng([seed, 0x7A11])
    n_files = max(1, math.ceil(events / per_file))
    # Sizes vary +-50% around per_file but add up exactly.
    w = 0.5 + rng.random(n_files)
    sizes = np.floor(w / w.sum() * events).astype(np.int64)
    sizes[: events - int(sizes.sum())] += 1
    # Windows: 5-minute slots, busier in working hours (UTC), sorted for tidy output.
    t_start = int(start.timestamp()) // 300 * 300
    n_slots = max(1, int(hours * 12))
    hour = (np.arange(n_slots) * 300 + t_start) % 86400 / 3600
    slot_w = 0.55 + 0.45 * np.cos((hour - 15) / 24 * 2 * np.pi)
    slots = np.sort(np.searchsorted(_cum(slot_w), rng.random(n_files)))
    acct = np.searchsorted(_cum(np.array(ACCOUNT_WEIGHTS)), rng.random(n_files))
    region = np.searchsorted(_cum(np.array(REGION_WEIGHTS)), rng.random(n_files))
    return [
        (i, int(acct[i]), REGIONS[int(region[i])], t_start + 300 * int(slots[i]), int(sizes[i]))
        for i in range(n_files)
        if sizes[i] > 0
    ]


MARKER = ".trailscope-synthetic"


def generate(
    out_dir: str | os.PathLike,
    events: int,
    seed: int = 1,
    per_file: int = 500,
    jobs: int = 2,
    start: str | datetime = DEFAULT_START,
    hours: float = 168.0,
    quiet: bool = True,
) -> dict:
    """Write a synthetic trail under out_dir/AWSLogs; returns counts, sizes and timings."""
    t_begin = time.perf_counter()
    out = Path(out_dir)
    logs = out / "AWSLogs"
    if logs.exists():
        if not (out / MARKER).exists():
            raise FileExistsError(f"{logs} exists and was not written by gen_trail.py")
        shutil.rmtree(logs)  # never mix two runs
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text(f"events={events} seed={seed} per_file={per_file}\n")
    plan = _plan(events, seed, per_file, _parse_start(start), hours)
    jobs_list = [(str(out), seed, i, a, r, t0, n) for i, a, r, t0, n in plan]
    tables = _tables(seed)  # built once here; forked workers inherit it
    for ci in range(len(tables.combos)):
        tables.shapes(ci)
    n_ev = raw = comp = 0
    if jobs <= 1 or len(jobs_list) < 4:
        results = map(_build_file, jobs_list)
        for n, b, c in results:
            n_ev, raw, comp = n_ev + n, raw + b, comp + c
    else:
        methods = mp.get_all_start_methods()
        ctx = mp.get_context("fork" if "fork" in methods else None)
        with ctx.Pool(jobs) as pool:
            for n, b, c in pool.imap_unordered(_build_file, jobs_list, chunksize=8):
                n_ev, raw, comp = n_ev + n, raw + b, comp + c
    elapsed = time.perf_counter() - t_begin
    # Record bytes exclude the '{"Records":[' wrapper and separators.
    overhead = len(plan) * len(b'{"Records":[]}') + (n_ev - len(plan))
    stats = {
        "out_dir": str(out),
        "events": n_ev,
        "files": len(plan),
        "bytes_uncompressed": raw,
        "bytes_compressed": comp,
        "avg_event_bytes": (raw - overhead) / max(1, n_ev),
        "elapsed_s": elapsed,
        "seed": seed,
        "jobs": jobs,
    }
    if not quiet:
        print(_report(stats))
    return stats


def write_file(
    dir_root: str | os.PathLike,
    account: str,
    region: str,
    when: datetime,
    events: int,
    rng_seed: int,
) -> Path:
    """Write one delivery file named for `when` (events from the 5 minutes before it).

    `account` is "123456789012" or "o-xxxxxxxxxx/123456789012". Written to
    `<final>.<8 hex>` and renamed, like `aws s3 sync`, so a watcher never sees half a file.
    """
    t = _tables(1)
    rng = np.random.default_rng([rng_seed, 0x11FE])
    prefix = account
    acct = account.rsplit("/", 1)[-1]
    known = [a for _p, a in ACCOUNTS]
    acct_i = known.index(acct) if acct in known else int(rng_seed) % len(ACCOUNTS)
    when = when.astimezone(UTC).replace(second=0, microsecond=0)
    t0 = int(when.timestamp()) - 600
    recs = _records(t, rng, acct_i, region, t0, 300, events)
    body = _file_body(recs)
    if acct not in known:  # borrow another account's principals, relabelled
        body = body.replace(ACCOUNTS[acct_i][1].encode(), acct.encode())
    final = Path(dir_root) / _key(prefix, acct, region, when, _suffix(rng))
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(f"{final.name}.{int(rng.integers(0, 2**32)):08x}")
    tmp.write_bytes(_gzip(body))
    os.rename(tmp, final)
    return final


def _report(s: dict) -> str:
    mb = 1024 * 1024
    return (
        f"events {s['events']:,}  files {s['files']:,}  "
        f"uncompressed {s['bytes_uncompressed'] / mb:,.1f} MiB  "
        f"compressed {s['bytes_compressed'] / mb:,.1f} MiB "
        f"(x{s['bytes_uncompressed'] / max(1, s['bytes_compressed']):.1f})  "
        f"avg {s['avg_event_bytes']:,.0f} B/event  elapsed {s['elapsed_s']:.1f} s "
        f"({s['jobs']} jobs)\n-> {s['out_dir']}"
    )


def _default_out(events: int) -> Path:
    if events % 1_000_000 == 0:
        tag = f"{events // 1_000_000}m"
    elif events % 1000 == 0:
        tag = f"{events // 1000}k"
    else:
        tag = str(events)
    return Path(__file__).resolve().parent / "data" / f"trail-{tag}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Write a synthetic CloudTrail trail.")
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--out", type=Path, help="default: benchmarks/data/trail-<count>")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--per-file", type=int, default=500)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--start", default=DEFAULT_START, help="UTC, e.g. 2026-11-01T00:00:00Z")
    ap.add_argument("--hours", type=float, default=168.0, help="time span (default 7 days)")
    a = ap.parse_args(argv)
    if a.events < 1 or a.per_file < 1:
        ap.error("--events and --per-file must be positive")
    generate(
        a.out or _default_out(a.events),
        a.events,
        seed=a.seed,
        per_file=a.per_file,
        jobs=a.jobs,
        start=a.start,
        hours=a.hours,
        quiet=False,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
