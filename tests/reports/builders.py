"""Builders for report tests: a recorded evidence run, and a FrameworkStatus/Finding set that rests on it.

The frameworks and collectors are built in parallel, so tests construct their result types directly; the
evidence itself is recorded through the real EvidenceStore API.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from evidence.checks.types import Finding, FindingStatus, Remediation, Severity
from evidence.models import Gap, Run
from evidence.store import EvidenceStore
from frameworks.results import (
    AutomatedResult,
    Automation,
    AwsAttestation,
    CheckVerdict,
    ControlResult,
    EvidenceState,
    FrameworkStatus,
    OverallStatus,
    Responsibility,
    ResponsibilityMatrix,
    RunRef,
)

OBSERVED = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
ACCOUNTS = ("111111111111", "222222222222")


@dataclass
class Scenario:
    run: Run
    status: FrameworkStatus
    findings: list[Finding]
    gaps: list[Gap]
    evidence: dict[str, str]  # resource id -> sha256 of its encryption evidence


def record_estate(store: EvidenceStore, *, buckets: int = 12, instances: int = 6) -> tuple[Run, dict[str, str]]:
    """A run with S3 buckets (some unencrypted, one unowned), EC2 instances, an IAM summary and two gaps."""
    run = store.start_run(trigger="cli", requested_by="tests", scope={"accounts": list(ACCOUNTS)})
    hashes: dict[str, str] = {}
    with store.recorder(run.id) as recorder:
        for index in range(buckets):
            account = ACCOUNTS[index % 2]
            arn = f"arn:aws:s3:::bucket-{index:03d}"
            encrypted = index % 4 != 0
            hashes[arn] = recorder.add(
                account_id=account,
                region="us-east-1",
                service="s3",
                resource_type="bucket",
                resource_id=arn,
                kind="s3.bucket_encryption",
                payload={"Bucket": f"bucket-{index:03d}", "Rules": [{"SSEAlgorithm": "aws:kms"}] if encrypted else []},
                observed_at=OBSERVED,
                owner=None if index == 5 else ("data-platform" if index % 3 else "payments"),
            )
        for index in range(instances):
            arn = f"arn:aws:ec2:eu-west-1:{ACCOUNTS[0]}:instance/i-{index:017x}"
            hashes[arn] = recorder.add(
                account_id=ACCOUNTS[0],
                region="eu-west-1",
                service="ec2",
                resource_type="instance",
                resource_id=arn,
                kind="ec2.instance",
                payload={"InstanceId": f"i-{index:017x}", "Patched": index != 2, "Name": "web — ünïcode"},
                observed_at=OBSERVED + timedelta(minutes=index),
                owner="web-team",
            )
        hashes["iam"] = recorder.add(
            account_id=ACCOUNTS[0],
            region="global",
            service="iam",
            resource_type="account",
            resource_id=f"arn:aws:iam::{ACCOUNTS[0]}:root",
            kind="iam.account_summary",
            payload={"AccountMFAEnabled": 1, "AccountAccessKeysPresent": 0},
            observed_at=OBSERVED,
            owner="security",
        )
        recorder.add_gap(
            account_id=ACCOUNTS[1],
            region="ap-southeast-2",
            service="s3",
            operation="GetBucketEncryption",
            error_code="AccessDenied",
            message="User: arn:aws:sts::222222222222:assumed-role/audit is not authorized to perform "
            "s3:GetEncryptionConfiguration",
            kind="s3.bucket_encryption",
            resource_id="arn:aws:s3:::locked-bucket",
        )
        recorder.add_gap(
            account_id=ACCOUNTS[1],
            region="ap-southeast-2",
            service="ec2",
            operation="DescribeInstances",
            error_code="RequestLimitExceeded",
            message="Rate exceeded after 10 retries",
            kind="ec2.instance",
        )
    return store.finish_run(run.id), hashes


def _finding(
    check: str, status: FindingStatus, arn: str, sha: str | None, account: str, region: str, owner: str | None
) -> Finding:
    return Finding(
        check_id=check,
        status=status,
        account_id=account,
        region=region,
        resource_id=arn,
        reason={
            FindingStatus.PASS: "default encryption is enabled with aws:kms",
            FindingStatus.FAIL: "no default encryption configuration",
            FindingStatus.ERROR: "GetBucketEncryption was denied (AccessDenied)",
            FindingStatus.NOT_APPLICABLE: "not applicable",
        }[status],
        evidence=(sha,) if sha else (),
        observed_at=OBSERVED if sha else None,
        owner=owner,
        resource_type="bucket",
    )


def scenario(store: EvidenceStore, *, buckets: int = 12) -> Scenario:
    run, hashes = record_estate(store, buckets=buckets)
    findings: list[Finding] = []
    for index in range(buckets):
        arn = f"arn:aws:s3:::bucket-{index:03d}"
        status = FindingStatus.FAIL if index % 4 == 0 else FindingStatus.PASS
        owner = None if index == 5 else ("data-platform" if index % 3 else "payments")
        findings.append(
            _finding("s3.default_encryption", status, arn, hashes[arn], ACCOUNTS[index % 2], "us-east-1", owner)
        )
    errored = _finding(
        "s3.default_encryption",
        FindingStatus.ERROR,
        "arn:aws:s3:::locked-bucket",
        None,
        ACCOUNTS[1],
        "ap-southeast-2",
        None,
    )
    findings.append(errored)
    failing = tuple(f for f in findings if f.status is FindingStatus.FAIL)
    mfa = Finding(
        check_id="iam.root_mfa_enabled",
        status=FindingStatus.PASS,
        account_id=ACCOUNTS[0],
        region="global",
        resource_id=f"arn:aws:iam::{ACCOUNTS[0]}:root",
        reason="the root user has an MFA device",
        evidence=(hashes["iam"],),
        observed_at=OBSERVED,
        owner="security",
        resource_type="account",
    )
    findings.append(mfa)
    encryption = CheckVerdict(
        check_id="s3.default_encryption",
        title="S3 buckets encrypt data at rest by default",
        severity=Severity.HIGH,
        relevance="Default bucket encryption protects stored data at rest.",
        passed=sum(1 for f in findings if f.check_id == "s3.default_encryption" and f.status is FindingStatus.PASS),
        failed=len(failing),
        errors=1,
        not_applicable=0,
        stale=0,
        failing=failing,
        errored=(errored,),
        remediation=Remediation(
            console="S3 > bucket > Properties > Default encryption > Edit; choose SSE-KMS.",
            cli="aws s3api put-bucket-encryption --bucket BUCKET --server-side-encryption-configuration ...",
        ),
        status=AutomatedResult.FAIL,
    )
    mfa_verdict = CheckVerdict(
        check_id="iam.root_mfa_enabled",
        title="Root user is protected by MFA",
        severity=Severity.CRITICAL,
        relevance="The root user must require a second factor.",
        passed=1,
        failed=0,
        errors=0,
        not_applicable=0,
        stale=0,
        failing=(),
        errored=(),
        remediation=Remediation(console="Assign an MFA device to the root user.", cli="n/a"),
        status=AutomatedResult.PASS,
    )
    services = {"s3": Responsibility.CUSTOMER, "ec2": Responsibility.CUSTOMER}
    controls = (
        ControlResult(
            control_id="3.5.1",
            title="Stored account data is unreadable",
            description="Account data at rest is rendered unreadable with strong cryptography.",
            family_id="3",
            family_title="Protect stored account data",
            automation=Automation.AUTOMATED,
            responsibility=services,
            overall_responsibility=Responsibility.CUSTOMER,
            status=OverallStatus.NOT_MET,
            status_reason=f"{len(failing)} bucket(s) have no default encryption.",
            automated=AutomatedResult.FAIL,
            checks=(encryption,),
            passed=encryption.passed,
            failed=encryption.failed,
            guidance=None,
            aws_evidence=(),
        ),
        ControlResult(
            control_id="8.4.2",
            title="MFA for all access into the cardholder data environment",
            description="Multi-factor authentication protects every non-console and console access.",
            family_id="8",
            family_title="Identify users and authenticate access",
            automation=Automation.PARTIAL,
            responsibility={"s3": Responsibility.SHARED, "ec2": Responsibility.CUSTOMER},
            overall_responsibility=Responsibility.SHARED,
            status=OverallStatus.MET,
            status_reason="Every checked identity requires MFA; approved evidence: item(s) 4.",
            automated=AutomatedResult.PASS,
            evidence=EvidenceState.APPROVED,
            evidence_items=(4,),
            attestation_required=True,
            checks=(mfa_verdict,),
            passed=1,
            failed=0,
            guidance="Provide the MFA policy for workforce identity providers.",
            aws_evidence=(AwsAttestation(name="AWS SOC 2 Type II report", covers="MFA for AWS operators"),),
        ),
        ControlResult(
            control_id="12.1.1",
            title="Information security policy is established",
            description="An information security policy is established, published, maintained and disseminated.",
            family_id="12",
            family_title="Support information security with policies",
            automation=Automation.MANUAL,
            responsibility={"s3": Responsibility.CUSTOMER, "ec2": Responsibility.CUSTOMER},
            overall_responsibility=Responsibility.CUSTOMER,
            status=OverallStatus.EVIDENCE_NEEDED,
            status_reason="Item(s) 5 await review; item(s) expired: 2 on 2026-10-01.",
            evidence=EvidenceState.SUBMITTED,
            evidence_submitted=(5,),
            evidence_expired=(2,),
            expected_evidence="Information security policy, approved by management and published to all personnel",
            attestation_required=True,
            checks=(),
            passed=0,
            failed=0,
            guidance="Upload the approved information security policy and its last review record.",
            aws_evidence=(),
        ),
        ControlResult(
            control_id="9.4.7",
            title="Media is destroyed when no longer needed",
            description="Physical media with account data is destroyed when no longer needed.",
            family_id="9",
            family_title="Restrict physical access",
            automation=Automation.INHERITED,
            responsibility={"s3": Responsibility.AWS, "ec2": Responsibility.AWS},
            overall_responsibility=Responsibility.AWS,
            status=OverallStatus.INHERITED,
            status_reason="AWS destroys storage media; covered by AWS's attestation.",
            checks=(),
            passed=0,
            failed=0,
            guidance=None,
            customer_attestation="No facility of ours holds media with account data: all of it is on AWS.",
            aws_evidence=(
                AwsAttestation(
                    name="AWS PCI DSS Attestation of Compliance", covers="media destruction in AWS data centres"
                ),
            ),
        ),
    )
    families = (
        ("3", "Protect stored account data"),
        ("8", "Identify users and authenticate access"),
        ("9", "Restrict physical access"),
        ("12", "Support information security with policies"),
    )
    cells = {}
    for control in controls:
        for service, responsibility in control.responsibility.items():
            cells[(control.family_id, service)] = responsibility
    status = FrameworkStatus(
        framework_id="pci-dss",
        name="PCI DSS",
        version="4.0.1",
        as_of=OBSERVED + timedelta(hours=1),
        runs=(
            RunRef(
                id=run.id, status=run.status, started_at=run.started_at, finished_at=run.finished_at, digest=run.digest
            ),
        ),
        services_in_use=frozenset({"s3", "ec2"}),
        controls=controls,
        matrix=ResponsibilityMatrix(services=("ec2", "s3"), families=families, cells=cells),
        gap_count=2,
        stale_count=0,
        freshness_hours=48,
        by_status={"met": 1, "not_met": 1, "evidence_needed": 1, "inherited": 1},
        by_responsibility={"customer": 2, "shared": 1, "aws": 1},
        aws_role="AWS is a third-party service provider (TPSP) with its own Attestation of Compliance.",
    )
    return Scenario(run=run, status=status, findings=findings, gaps=store.gaps(run.id), evidence=hashes)
