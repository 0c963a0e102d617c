"""Findings in the AWS Security Finding Format (ASFF), ready for Security Hub's `BatchImportFindings`.

Each finding is imported through the account's default custom-integration product,
`arn:<partition>:securityhub:<region>:<account>:product/<account>/default`, where the account is the finding's own
(Security Hub takes default-product findings only from the account they are about) and the region is the Security
Hub region the findings go to; the partition is that region's. How our verdicts map:

| verdict | Compliance.Status | Severity.Label |
| --- | --- | --- |
| pass | PASSED | INFORMATIONAL |
| fail | FAILED | the check's severity |
| error (the evidence is a gap) | NOT_AVAILABLE, reason EVIDENCE_GAP | the check's severity |
| not_applicable | NOT_AVAILABLE, reason NOT_APPLICABLE | INFORMATIONAL |

A gap is never PASSED. The `Id` is the finding's stable id (the OCSF export's `finding_info.uid`): importing the
next run's findings updates the ones Security Hub holds. Fields with a length limit are cut to it (with "…").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

from core.canonical import rfc3339
from core.errors import InputError
from evidence.aws.partition import arn, parse_arn, partition_for_region
from evidence.aws.scope import ScopeError
from evidence.checks.types import CheckMeta, Finding, FindingStatus
from reports.findings_export import PRODUCT_NAME, ComplianceIndex, ExportRun, clip, finding_uid

SCHEMA_VERSION = "2018-10-08"
STANDARDS_TYPE = "Software and Configuration Checks/Industry and Regulatory Standards"
# Limits of the ASFF fields we fill (Security Hub rejects a finding beyond them).
MAX_TITLE, MAX_DESCRIPTION, MAX_RECOMMENDATION = 256, 1024, 512
MAX_RELATED_REQUIREMENTS, MAX_PRODUCT_FIELD = 32, 2048
# Partitions ASFF accepts in Resources[].Partition.
_RESOURCE_PARTITIONS = frozenset({"aws", "aws-cn", "aws-us-gov", "aws-us-iso", "aws-us-iso-b"})
_STATUS = {
    FindingStatus.PASS: ("PASSED", None),
    FindingStatus.FAIL: ("FAILED", None),
    FindingStatus.ERROR: ("NOT_AVAILABLE", "EVIDENCE_GAP"),
    FindingStatus.NOT_APPLICABLE: ("NOT_AVAILABLE", "NOT_APPLICABLE"),
}


@dataclass(frozen=True, slots=True)
class SecurityHubTarget:
    """The Security Hub region findings are imported into, and its partition."""

    region: str
    partition: str

    @classmethod
    def for_region(cls, region: str) -> SecurityHubTarget:
        try:
            return cls(region=region, partition=partition_for_region(region))
        except ScopeError as exc:
            raise InputError(f"Security Hub region {region!r}: {exc}") from None

    def product_arn(self, account_id: str) -> str:
        return arn(self.partition, "securityhub", self.region, account_id, f"product/{account_id}/default")


@cache
def _table() -> dict[str, Any]:
    text = resources.files("reports").joinpath("asff_types.yaml").read_text("utf-8")
    return dict(yaml.safe_load(text))


def resource_type(finding: Finding) -> str:
    """The ASFF resource type (AwsS3Bucket, AwsIamUser, ...), or Other when ASFF has none for it."""
    return str(_table()["resource_types"].get(finding.resource_type, "Other"))


def finding_types(index: ComplianceIndex, check_id: str) -> list[str]:
    """One type per framework the check is evidence for, in ASFF's namespace/category/classifier form."""
    classifiers = _table()["standards"]
    frameworks = dict.fromkeys(r.framework for r in index.requirements(check_id))
    types = [f"{STANDARDS_TYPE}/{classifiers[f]}" for f in frameworks if f in classifiers]
    return types or [STANDARDS_TYPE]


def _resource_partition(finding: Finding, target: SecurityHubTarget) -> str:
    parsed = parse_arn(finding.resource_id)
    if parsed is not None and parsed.partition in _RESOURCE_PARTITIONS:
        return parsed.partition
    if finding.region != "global":
        try:
            return partition_for_region(finding.region)
        except ScopeError:
            pass
    return target.partition


def _hashes(evidence: tuple[str, ...]) -> str:
    """As many whole hashes as fit a ProductFields value (the OCSF export always carries them all)."""
    kept: list[str] = []
    for sha in evidence:
        if len(" ".join([*kept, sha])) > MAX_PRODUCT_FIELD:
            break
        kept.append(sha)
    return " ".join(kept)


class AsffRenderer:
    """Renders findings of one run as ASFF for `target`; what depends only on the check and the verdict is built
    once per pair and shared (see reports.ocsf.OcsfRenderer)."""

    def __init__(
        self, meta: Mapping[str, CheckMeta], index: ComplianceIndex, run: ExportRun, target: SecurityHubTarget
    ) -> None:
        self.meta, self.index, self.run, self.target = meta, index, run, target
        self._at = rfc3339(run.evaluated_at)
        self._static: dict[tuple[str, FindingStatus], dict[str, Any]] = {}

    def _shared(self, check_id: str, status: FindingStatus) -> dict[str, Any]:
        key = (check_id, status)
        found = self._static.get(key)
        if found is not None:
            return found
        meta = self.meta[check_id]
        failing = status in (FindingStatus.FAIL, FindingStatus.ERROR)
        requirements = [r.label for r in self.index.requirements(check_id)]
        compliance: dict[str, Any] = {"Status": _STATUS[status][0]}
        if requirements:
            compliance["RelatedRequirements"] = requirements[:MAX_RELATED_REQUIREMENTS]
        fields = {
            "auditpack/check_id": check_id,
            "auditpack/status": status.value,
            "auditpack/run_id": str(self.run.run_id),
            "auditpack/findings_digest": self.run.findings_digest,
        }
        if len(requirements) > MAX_RELATED_REQUIREMENTS:
            fields["auditpack/related_requirements_total"] = str(len(requirements))
        found = {
            "GeneratorId": f"auditpack/{check_id}",
            "Types": finding_types(self.index, check_id),
            "Severity": {
                "Label": meta.severity.value.upper() if failing else "INFORMATIONAL",
                "Original": meta.severity.value.upper(),
            },
            "Title": clip(meta.title, MAX_TITLE),
            "Remediation": {
                "Recommendation": {
                    "Text": clip(f"{meta.remediation.console} AWS CLI: {meta.remediation.cli}", MAX_RECOMMENDATION)
                }
            },
            "Compliance": compliance,
            "ProductFields": fields,
        }
        self._static[key] = found
        return found

    def __call__(self, finding: Finding) -> dict[str, Any]:
        """The ASFF document of one finding."""
        status = FindingStatus(finding.status)
        shared = self._shared(finding.check_id, status)
        reason_code = _STATUS[status][1]
        resource: dict[str, Any] = {
            "Type": resource_type(finding),
            "Id": finding.resource_id,
            "Partition": _resource_partition(finding, self.target),
        }
        if finding.region != "global":
            resource["Region"] = finding.region
        compliance = shared["Compliance"]
        if reason_code is not None:
            reasons = [{"ReasonCode": reason_code, "Description": clip(finding.reason, MAX_PRODUCT_FIELD)}]
            compliance = {**compliance, "StatusReasons": reasons}
        fields = {**shared["ProductFields"], "auditpack/evidence_count": str(len(finding.evidence))}
        if finding.evidence:
            fields["auditpack/evidence_sha256"] = _hashes(finding.evidence)
        if finding.owner:
            fields["auditpack/owner"] = clip(finding.owner, MAX_PRODUCT_FIELD)
        document: dict[str, Any] = {
            "SchemaVersion": SCHEMA_VERSION,
            "Id": finding_uid(finding),
            "ProductArn": self.target.product_arn(finding.account_id),
            "ProductName": PRODUCT_NAME,
            "CompanyName": PRODUCT_NAME,
            "GeneratorId": shared["GeneratorId"],
            "AwsAccountId": finding.account_id,
            "Types": shared["Types"],
            "CreatedAt": self._at,
            "UpdatedAt": self._at,
            "Severity": shared["Severity"],
            "Title": shared["Title"],
            "Description": clip(finding.reason or self.meta[finding.check_id].description, MAX_DESCRIPTION),
            "Remediation": shared["Remediation"],
            "ProductFields": fields,
            "Resources": [resource],
            "Compliance": compliance,
            "RecordState": "ACTIVE",
        }
        if finding.observed_at is not None:
            document["FirstObservedAt"] = document["LastObservedAt"] = rfc3339(finding.observed_at)
        return document
