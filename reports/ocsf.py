"""Findings as OCSF Compliance Finding events (class 2003), one JSON object per finding.

Targets OCSF `OCSF_VERSION` with the `cloud` and `datetime` profiles (listed in `metadata.profiles`); the tests
validate every event against that class's JSON Schema, pinned in tests/fixtures/ocsf/. How our verdicts map:

| verdict | compliance.status_id | severity_id |
| --- | --- | --- |
| pass | 1 Pass | 1 Informational |
| fail | 3 Fail | the check's severity |
| error (a gap) | 2 Warning ("did not yield a result due to missing information") | the check's severity |
| not_applicable | 99 Other, status "Not Applicable" | 1 Informational |

A gap is never a pass. The check itself is `compliance.checks[0]` (its own severity, whatever the verdict);
`compliance.requirements` lists the framework requirements it is evidence for; `evidences` carries the SHA-256
of every payload the verdict rests on, the address `GET /v1/evidence/{sha256}` and packet bundles use.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.canonical import rfc3339
from evidence.aws.partition import parse_arn
from evidence.checks.types import CheckMeta, Finding, FindingStatus, Severity
from reports.findings_export import PRODUCT_NAME, ComplianceIndex, ExportRun, epoch_ms, finding_uid

OCSF_VERSION = "1.6.0"
PROFILES = ("cloud", "datetime")

CLASS_UID = 2003
CATEGORY_UID = 2  # Findings
ACTIVITY_CREATE = 1
TYPE_UID = CLASS_UID * 100 + ACTIVITY_CREATE

_SEVERITY = {Severity.LOW: (2, "Low"), Severity.MEDIUM: (3, "Medium"), Severity.HIGH: (4, "High")}
_SEVERITY[Severity.CRITICAL] = (5, "Critical")
_INFORMATIONAL = (1, "Informational")
_COMPLIANCE_STATUS = {
    FindingStatus.PASS: (1, "Pass"),
    FindingStatus.FAIL: (3, "Fail"),
    FindingStatus.ERROR: (2, "Warning"),
    FindingStatus.NOT_APPLICABLE: (99, "Not Applicable"),
}


def event_severity(status: FindingStatus, meta: CheckMeta) -> tuple[int, str]:
    """A failure or a gap weighs what the check weighs; a pass or not-applicable is informational."""
    if status in (FindingStatus.FAIL, FindingStatus.ERROR):
        return _SEVERITY[meta.severity]
    return _INFORMATIONAL


def _resource(finding: Finding, meta: CheckMeta) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "uid": finding.resource_id,
        "type": f"{meta.service}.{finding.resource_type}" if finding.resource_type else meta.service,
    }
    parsed = parse_arn(finding.resource_id)
    if parsed is not None:
        resource["cloud_partition"] = parsed.partition
        resource["name"] = parsed.resource.rsplit("/", 1)[-1] or finding.resource_id
    if finding.region != "global":
        resource["region"] = finding.region
    if finding.owner:
        resource["owner"] = {"name": finding.owner}
    return resource


def _evidence(sha256: str) -> dict[str, Any]:
    return {
        "uid": sha256,
        "name": "evidence payload",
        "file": {
            "name": f"{sha256}.json",
            "type_id": 1,
            "type": "Regular File",
            "mime_type": "application/json",
            "hashes": [{"algorithm_id": 3, "algorithm": "SHA-256", "value": sha256}],
        },
    }


class OcsfRenderer:
    """Renders findings of one run as events. What depends only on the check and the verdict (the compliance
    object, the check's description and remediation) is built once per pair and shared by every event that
    has it: an export of a million findings spends its time on what differs."""

    def __init__(self, meta: Mapping[str, CheckMeta], index: ComplianceIndex, run: ExportRun) -> None:
        self.meta, self.index, self.run = meta, index, run
        self._created = epoch_ms(run.evaluated_at)
        self._created_dt = rfc3339(run.evaluated_at)
        self._metadata_product = {"name": PRODUCT_NAME, "vendor_name": PRODUCT_NAME, "version": run.product_version}
        self._unmapped = {"run_id": run.run_id, "findings_digest": run.findings_digest}
        self._static: dict[tuple[str, FindingStatus], dict[str, Any]] = {}

    def _shared(self, check_id: str, status: FindingStatus) -> dict[str, Any]:
        key = (check_id, status)
        found = self._static.get(key)
        if found is not None:
            return found
        meta = self.meta[check_id]
        status_id, status_name = _COMPLIANCE_STATUS[status]
        check_severity_id, check_severity = _SEVERITY[meta.severity]
        standards = self.index.standards(check_id)
        compliance = {
            "control": check_id,
            "desc": meta.description,
            "category": meta.domain,
            "standards": standards,
            "requirements": [r.label for r in self.index.requirements(check_id)],
            "status_id": status_id,
            "status": status_name,
            "status_code": status.value,
            "checks": [
                {
                    "uid": check_id,
                    "name": meta.title,
                    "desc": meta.description,
                    "severity_id": check_severity_id,
                    "severity": check_severity,
                    "status_id": status_id,
                    "status": status_name,
                    "standards": standards,
                }
            ],
        }
        found = {
            "severity": event_severity(status, meta),
            "compliance": compliance,
            "analytic": {"uid": check_id, "name": check_id, "type_id": 1, "type": "Rule"},
            "remediation": {"desc": f"{meta.remediation.console}\nAWS CLI: {meta.remediation.cli}"},
        }
        self._static[key] = found
        return found

    def __call__(self, finding: Finding) -> dict[str, Any]:
        """The Compliance Finding event of one finding."""
        status = FindingStatus(finding.status)
        meta = self.meta[finding.check_id]
        shared = self._shared(finding.check_id, status)
        severity_id, severity = shared["severity"]
        uid = finding_uid(finding)
        account = {"uid": finding.account_id, "type_id": 10, "type": "AWS Account"}
        cloud: dict[str, Any] = {"provider": "AWS", "account": account}
        if finding.region != "global":
            cloud["region"] = finding.region
        event: dict[str, Any] = {
            "class_uid": CLASS_UID,
            "class_name": "Compliance Finding",
            "category_uid": CATEGORY_UID,
            "category_name": "Findings",
            "activity_id": ACTIVITY_CREATE,
            "activity_name": "Create",
            "type_uid": TYPE_UID,
            "type_name": "Compliance Finding: Create",
            "severity_id": severity_id,
            "severity": severity,
            "status_id": 1,
            "status": "New",
            "status_code": status.value,
            "status_detail": finding.reason,
            "time": self._created,
            "time_dt": self._created_dt,
            "message": f"{meta.title}: {finding.reason}",
            "metadata": {
                "version": OCSF_VERSION,
                "profiles": list(PROFILES),
                "uid": f"{uid}:run-{self.run.run_id}",
                "product": self._metadata_product,
                "log_name": f"run {self.run.run_id}",
            },
            "finding_info": {
                "uid": uid,
                "title": meta.title,
                "desc": meta.description,
                "types": [meta.domain],
                "created_time": self._created,
                "created_time_dt": self._created_dt,
                "analytic": shared["analytic"],
            },
            "compliance": {**shared["compliance"], "status_details": [finding.reason]},
            "cloud": cloud,
            "resources": [_resource(finding, meta)],
            "remediation": shared["remediation"],
            "unmapped": self._unmapped,
        }
        if finding.evidence:
            event["evidences"] = [_evidence(sha) for sha in finding.evidence]
        if finding.observed_at is not None:
            event["start_time"] = epoch_ms(finding.observed_at)
            event["start_time_dt"] = rfc3339(finding.observed_at)
        return event
