"""Regional detection services: an AWS Config recorder delivering to a bucket, a GuardDuty detector (with malware
protection and runtime monitoring, optionally administered by a delegated administrator), Security Hub with the
threat findings it holds, and Macie switched off (moto starts with it on).

moto has no GuardDuty publishing destinations (ListPublishingDestinations): no estate can plant a findings
export, so `guardduty.findings_exported` is a gap (`error`) against moto and is tested with botocore's Stubber.
Nor does moto run GuardDuty's analysis: the threat findings GuardDuty would send Security Hub are imported into
Security Hub with BatchImportFindings, which moto keeps and GetFindings returns."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, Literal
from unittest import mock

from auditpack.estate.target import Spec, Target

CONFIG_SERVICE_ROLE = "aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig"
PROTECTION_FEATURES = ("EBS_MALWARE_PROTECTION", "RUNTIME_MONITORING")


def plant_config_recorder(
    target: Target, *, bucket: str, role_arn: str | None = None, global_resources: bool = True
) -> None:
    """A recorder of every supported resource type (and the global ones), delivering to `bucket`, recording.
    `role_arn` defaults to Config's service-linked role."""
    config = target.client("config")
    group = {"allSupported": True, **({"includeGlobalResourceTypes": True} if global_resources else {})}
    config.put_configuration_recorder(
        ConfigurationRecorder={
            "name": "default",
            "roleARN": role_arn or f"arn:aws:iam::{target.account_id}:role/{CONFIG_SERVICE_ROLE}",
            "recordingGroup": group,
        }
    )
    config.put_delivery_channel(DeliveryChannel={"name": "default", "s3BucketName": bucket})
    config.start_configuration_recorder(ConfigurationRecorderName="default")


def plant_guardduty(target: Target, *, enabled: bool = True, protection: bool = True) -> None:
    """A detector (suspended unless `enabled`), with EBS malware protection and runtime monitoring if `protection`."""
    features = [{"Name": name, "Status": "ENABLED"} for name in PROTECTION_FEATURES] if protection else []
    target.client("guardduty").create_detector(
        Enable=enabled, FindingPublishingFrequency="SIX_HOURS", Features=features
    )
    target.count("GuardDuty detectors")


def plant_guardduty_administrator(target: Target, *, administrator: str) -> None:
    """Make `administrator` the delegated GuardDuty administrator of `target`'s detector. In AWS the management
    account designates it once for the Organization; moto keeps an account's administrator in that account's own
    backend, so it is designated from the member (answered by GetAdministratorAccount there)."""
    target.client("guardduty").enable_organization_admin_account(AdminAccountId=administrator)


@contextmanager
def guardduty_administrator_as_aws() -> Iterator[None]:
    """moto answers GetAdministratorAccount with capitalised JSON keys ("Administrator", "AccountId") that
    botocore does not read (AWS writes "administrator", "accountId"), so every detector would look standalone:
    answer with AWS's own field names, in-process."""
    from moto.guardduty.responses import GuardDutyResponse

    def get_administrator_account(self: Any) -> str:
        detector_id = self.path.split("/")[-2]
        answer = self.guardduty_backend.get_administrator_account(detector_id)
        administrator = answer.get("Administrator")
        if administrator is None:
            return json.dumps({})
        names = {"AccountId": "accountId", "RelationshipStatus": "relationshipStatus"}
        return json.dumps({"administrator": {names[k]: v for k, v in administrator.items() if k in names}})

    with mock.patch.object(GuardDutyResponse, "get_administrator_account", get_administrator_account):
        yield


def plant_security_hub(target: Target) -> None:
    target.client("securityhub").enable_security_hub(EnableDefaultStandards=True)


def disable_macie(target: Target) -> None:
    target.client("macie2").disable_macie()  # moto starts with Macie enabled in every account and region


class ThreatFinding(Spec):
    """A threat GuardDuty detected and sent to Security Hub, and where its triage stands. The defaults describe one
    that was dealt with (workflow RESOLVED)."""

    type: str  # ASFF type, e.g. "TTPs/Initial Access/UnauthorizedAccess:EC2-SSHBruteForce"
    title: str
    resource: str  # the resource's ARN; {account} and {region} stand for the target's
    resource_type: str = "AwsEc2Instance"
    severity: Literal["LOW", "MEDIUM", "HIGH", "CRITICAL"] = "HIGH"
    days_old: int = 1  # days since GuardDuty created it
    workflow: Literal["NEW", "NOTIFIED", "RESOLVED", "SUPPRESSED"] = "RESOLVED"


def threat_finding_document(target: Target, finding: ThreatFinding, *, now: datetime) -> dict[str, Any]:
    """The finding in the AWS Security Finding Format, as GuardDuty writes it (ids derived from its content)."""
    resource = finding.resource.format(account=target.account_id, region=target.region)
    digest = hashlib.sha256(f"{target.account_id}/{target.region}/{finding.type}/{resource}".encode()).hexdigest()
    detector, finding_id = digest[:32], digest[32:]
    created = (now - timedelta(days=finding.days_old)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    labels = {"LOW": 1.0, "MEDIUM": 4.0, "HIGH": 7.0, "CRITICAL": 9.0}
    return {
        "SchemaVersion": "2018-10-08",
        "Id": f"arn:aws:guardduty:{target.region}:{target.account_id}:detector/{detector}/finding/{finding_id}",
        "ProductArn": f"arn:aws:securityhub:{target.region}::product/aws/guardduty",
        "ProductName": "GuardDuty",
        "CompanyName": "Amazon",
        "GeneratorId": f"arn:aws:guardduty:{target.region}:{target.account_id}:detector/{detector}",
        "AwsAccountId": target.account_id,
        "Region": target.region,
        "Types": [finding.type],
        "FirstObservedAt": created,
        "LastObservedAt": created,
        "CreatedAt": created,
        "UpdatedAt": created,
        "Severity": {"Label": finding.severity, "Product": labels[finding.severity]},
        "Title": finding.title,
        "Description": finding.title,
        "Resources": [{"Type": finding.resource_type, "Id": resource, "Region": target.region}],
        "Workflow": {"Status": finding.workflow},
        "RecordState": "ACTIVE",
    }


def plant_threat_findings(target: Target, findings: Sequence[ThreatFinding], *, now: datetime) -> list[str]:
    """Import the findings into the region's Security Hub (one BatchImportFindings); their ids. In AWS the workflow
    status is set with BatchUpdateFindings, which moto lacks: moto keeps the imported one."""
    documents = [threat_finding_document(target, finding, now=now) for finding in findings]
    target.client("securityhub").batch_import_findings(Findings=documents)  # findings, not resources: not counted
    return [str(d["Id"]) for d in documents]
