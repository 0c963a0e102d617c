"""The ecr.* checks: container images are scanned for vulnerabilities when pushed (metadata in ecr.yaml)."""

from __future__ import annotations

import re
from typing import Any

from evidence.checks.types import Finding
from evidence.checks.unit import Check, each
from evidence.checks.verdicts import setting_id
from evidence.store import EvidenceRecord

REPOSITORY = "ecr.repository"
REGISTRY = "ecr.registry_scanning"


def filter_matches(pattern: str, name: str) -> bool:
    """ECR's repository filter rule: without a wildcard the filter matches names that contain it; with `*` it
    matches the whole name, each `*` standing for zero or more characters."""
    if "*" not in pattern:
        return pattern in name
    regex = ".*".join(re.escape(part) for part in pattern.split("*"))
    return re.fullmatch(regex, name) is not None


def _rule_for(rules: list[dict[str, Any]], name: str, frequency: str) -> str | None:
    """The first filter of a `frequency` rule that selects repository `name`."""
    for rule in rules:
        if rule.get("scanFrequency") != frequency:
            continue
        for repository_filter in rule.get("repositoryFilters") or []:
            pattern = str(repository_filter.get("filter", ""))
            if filter_matches(pattern, name):
                return pattern
    return None


@each(
    REPOSITORY,
    resource_type="repository",
    what="ECR repository details",
    reads=(REGISTRY,),
    empty="no ECR repositories in this region",
)
def scan_on_push(c: Check, repository: EvidenceRecord) -> Finding:
    registry = c.setting(
        REGISTRY,
        repository.account_id,
        repository.region,
        resource_id=setting_id(repository.account_id, repository.region, "ecr-registry-scanning"),
        resource_type="registry-scanning-configuration",
        what="ECR registry scanning configuration",
    )
    config = registry.payload.get("scanningConfiguration") or {}
    rules = config.get("rules") or []
    name = str(repository.payload.get("repositoryName", ""))
    flag = (repository.payload.get("imageScanningConfiguration") or {}).get("scanOnPush") is True
    also = [registry]
    if config.get("scanType") == "ENHANCED":
        # Continuous scanning wins over scan on push where both match; both scan every image pushed.
        for frequency, how in (("CONTINUOUS_SCAN", "continuously, and on push"), ("SCAN_ON_PUSH", "on push")):
            pattern = _rule_for(rules, name, frequency)
            if pattern is not None:
                return c.passed(
                    repository, f"Inspector enhanced scanning scans its images {how} (filter {pattern!r})", also=also
                )
        ignored = " (its own scan-on-push setting does not apply under enhanced scanning)" if flag else ""
        return c.failed(
            repository,
            f"no enhanced scanning rule selects this repository: its images are not scanned{ignored}",
            also=also,
        )
    pattern = _rule_for(rules, name, "SCAN_ON_PUSH")
    if pattern is not None:
        return c.passed(repository, f"basic scanning scans its images on push (registry filter {pattern!r})", also=also)
    if rules:
        # With registry scan filters, a repository that no filter matches is scanned only on demand.
        return c.failed(
            repository,
            "no registry scan-on-push filter selects this repository: images are scanned only on demand",
            also=also,
        )
    if flag:
        return c.passed(repository, "basic scanning scans its images on push (repository setting)", also=also)
    return c.failed(repository, "images are scanned only when someone starts a scan (no scan on push)", also=also)
