"""Vulnerability management: whether Amazon Inspector scans EC2, ECR and Lambda, which critical findings it holds
open, and how ECR repositories scan the images pushed to them."""

from __future__ import annotations

from typing import Any

from evidence.collectors.context import CollectorContext
from evidence.collectors.registry import Scope, collector

INSPECTOR_FINDING = "inspector2.critical_finding"
# What an auditor needs of a finding (what, where, since when, fixable); descriptions, remediation text and the
# affected resources' details (instance profiles, image layers, function settings) are left out.
_FINDING_FIELDS = (
    "findingArn",
    "awsAccountId",
    "type",
    "title",
    "severity",
    "status",
    "firstObservedAt",
    "lastObservedAt",
    "updatedAt",
    "inspectorScore",
    "fixAvailable",
    "exploitAvailable",
)
_RESOURCE_FIELDS = ("type", "id", "region", "partition")
_PACKAGE_FIELDS = ("name", "version", "fixedInVersion", "packageManager")
_CODE_FIELDS = ("detectorId", "detectorName", "cwes")


def _pick(item: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    return {key: item[key] for key in fields if key in item}


def kept_finding(finding: dict[str, Any]) -> dict[str, Any]:
    """The fields of an Inspector finding that are stored."""
    kept = _pick(finding, _FINDING_FIELDS)
    kept["resources"] = [_pick(r, _RESOURCE_FIELDS) for r in finding.get("resources") or []]
    package = finding.get("packageVulnerabilityDetails")
    if isinstance(package, dict):
        kept["packageVulnerabilityDetails"] = {
            **_pick(package, ("vulnerabilityId", "source")),
            "vulnerablePackages": [_pick(p, _PACKAGE_FIELDS) for p in package.get("vulnerablePackages") or []],
        }
    code = finding.get("codeVulnerabilityDetails")
    if isinstance(code, dict):
        kept["codeVulnerabilityDetails"] = _pick(code, _CODE_FIELDS)
    return kept


def _scans_anything(answer: dict[str, Any], account_id: str) -> bool:
    for account in answer.get("accounts") or []:
        if account.get("accountId") == account_id:
            states = (account.get("resourceState") or {}).values()
            return any((state or {}).get("status") == "ENABLED" for state in states)
    return False


@collector(
    "inspector2",
    produces=("inspector2.account_status", INSPECTOR_FINDING),
    domain="patching",
    scope=Scope.REGIONAL,
    calls=("inspector2.BatchGetAccountStatus", "inspector2.ListFindings"),
)
def collect_inspector2(ctx: CollectorContext) -> None:
    # The account is named: moto, and tools built on it, answer nothing for an empty accountIds.
    status = ctx.setting(
        "inspector2.BatchGetAccountStatus",
        kind="inspector2.account_status",
        resource_type="inspector2-account-status",
        name="inspector2",
        accountIds=[ctx.account_id],
    )
    if not isinstance(status, dict) or not _scans_anything(status, ctx.account_id):
        return  # where Inspector scans nothing there are no findings to list, and the check says so
    # Open critical findings of this account only: a delegated administrator also sees its members' findings,
    # which their own collection records.
    findings = ctx.paginate(
        "inspector2.ListFindings",
        kind=INSPECTOR_FINDING,
        result_key="findings",
        filterCriteria={
            "awsAccountId": [{"comparison": "EQUALS", "value": ctx.account_id}],
            "findingStatus": [{"comparison": "EQUALS", "value": "ACTIVE"}],
            "severity": [{"comparison": "EQUALS", "value": "CRITICAL"}],
        },
    )
    if findings is None:
        return
    for finding in findings:
        ctx.record(
            kind=INSPECTOR_FINDING,
            resource_type="inspector-finding",
            resource_id=finding["findingArn"],
            payload=kept_finding(finding),
            tags={},
        )
    ctx.listing(
        kind=INSPECTOR_FINDING, call="inspector2.ListFindings", resource_ids=[f["findingArn"] for f in findings]
    )


@collector(
    "ecr",
    produces=("ecr.registry_scanning", "ecr.repository"),
    domain="patching",
    scope=Scope.REGIONAL,
    calls=("ecr.GetRegistryScanningConfiguration", "ecr.DescribeRepositories"),
)
def collect_ecr(ctx: CollectorContext) -> None:
    """The registry's scanning configuration (basic or enhanced, and which repositories its rules scan on push)
    and every repository with its own scan-on-push flag."""
    ctx.setting(
        "ecr.GetRegistryScanningConfiguration",
        kind="ecr.registry_scanning",
        resource_type="registry-scanning-configuration",
        name="ecr-registry-scanning",
    )
    repositories = ctx.paginate("ecr.DescribeRepositories", kind="ecr.repository", result_key="repositories")
    if repositories is None:
        return
    for repository in repositories:
        arn = repository["repositoryArn"]
        ctx.record(kind="ecr.repository", resource_type="repository", resource_id=arn, payload=repository, tag_arn=arn)
    ctx.listing(
        kind="ecr.repository",
        call="ecr.DescribeRepositories",
        resource_ids=[r["repositoryArn"] for r in repositories],
    )
