"""Patching checks: SSM-managed instances and their patch compliance, RDS minor upgrades, Lambda runtimes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from functools import cache
from importlib import resources
from typing import Any

import yaml

from evidence.checks.registry import check
from evidence.checks.thresholds import Thresholds
from evidence.checks.types import Finding
from evidence.checks.verdicts import ERROR, FAIL, NA, PASS, listed_records, place_setting, verdict
from evidence.checks.view import EvidenceView
from evidence.store import EvidenceRecord

INSTANCE, INFORMATION, PATCH_STATE = "ec2.instance", "ssm.instance_information", "ssm.patch_state"


def _instances(view: EvidenceView, check_id: str) -> Iterator[EvidenceRecord | Finding]:
    return listed_records(view, check_id, INSTANCE, resource_type="instance", what="instance details")


def _information(
    view: EvidenceView, check_id: str, account_id: str, region: str, resource_id: str
) -> EvidenceRecord | Finding:
    return place_setting(
        view,
        check_id,
        INFORMATION,
        account_id=account_id,
        region=region,
        resource_id=resource_id,
        resource_type="instance",
        what="SSM managed-instance list",
    )


def _managed(information: EvidenceRecord) -> dict[str, dict[str, Any]]:
    return {
        item["InstanceId"]: item
        for item in information.payload.get("InstanceInformationList", [])
        if "InstanceId" in item
    }


@check("ssm.instance_managed", kinds=(INSTANCE, INFORMATION), regional=True)
def instance_managed(view: EvidenceView, thresholds: Thresholds, now: datetime) -> Iterator[Finding]:
    check_id = "ssm.instance_managed"
    for instance in _instances(view, check_id):
        if isinstance(instance, Finding):
            yield instance
            continue
        state = (instance.payload.get("State") or {}).get("Name")
        if state != "running":
            yield verdict(check_id, NA, instance, f"the instance is {state}, not running")
            continue
        information = _information(view, check_id, instance.account_id, instance.region, instance.resource_id)
        if isinstance(information, Finding):
            yield information
            continue
        managed = _managed(information).get(instance.payload.get("InstanceId", ""))
        if managed is None:
            yield verdict(
                check_id, FAIL, instance, "the instance is not registered with Systems Manager", also=[information]
            )
        elif managed.get("PingStatus") == "Online":
            yield verdict(
                check_id,
                PASS,
                instance,
                f"managed by SSM (agent {managed.get('AgentVersion', '?')}, online)",
                also=[information],
            )
        else:
            yield verdict(
                check_id,
                FAIL,
                instance,
                f"registered with SSM but the agent is {managed.get('PingStatus')}",
                also=[information],
            )


def missing_security_patches(state: dict[str, Any]) -> list[str]:
    """What an instance patch state says is missing (critical and security patches; older answers lack those
    counts, and then any missing or failed patch counts)."""
    problems = []
    for field, label in (("CriticalNonCompliantCount", "critical"), ("SecurityNonCompliantCount", "security")):
        if (state.get(field) or 0) > 0:
            problems.append(f"{state[field]} missing {label} patch(es)")
    if "CriticalNonCompliantCount" not in state and "SecurityNonCompliantCount" not in state:
        for field, label in (("MissingCount", "missing"), ("FailedCount", "failed")):
            if (state.get(field) or 0) > 0:
                problems.append(f"{state[field]} {label} patch(es)")
    return problems


@check("ssm.patch_compliant", kinds=(INSTANCE, INFORMATION, PATCH_STATE), regional=True)
def patch_compliant(view: EvidenceView, thresholds: Thresholds, now: datetime) -> Iterator[Finding]:
    """One finding per managed instance. Where the managed-instance list itself is missing, every running
    instance of the region is an error: whether it is managed (and patched) is unknown."""
    check_id = "ssm.patch_compliant"
    seen: set[tuple[str, str]] = set()
    for instance in _instances(view, check_id):
        if isinstance(instance, Finding):
            yield instance
            continue
        if (instance.payload.get("State") or {}).get("Name") != "running":
            continue
        information = _information(view, check_id, instance.account_id, instance.region, instance.resource_id)
        if isinstance(information, Finding):
            yield information
            seen.add((instance.account_id, instance.resource_id))
    for information in view.items(INFORMATION):
        prefix = f"arn:aws:{{}}:{information.region}:{information.account_id}:"
        patch_listing = view.listing(PATCH_STATE, information.account_id, information.region)
        for instance_id, managed in sorted(_managed(information).items()):
            service, noun = ("ssm", "managed-instance") if instance_id.startswith("mi-") else ("ec2", "instance")
            arn = prefix.format(service) + f"{noun}/{instance_id}"
            if (information.account_id, arn) in seen:
                continue
            base = view.one(INSTANCE, information.account_id, arn) or information
            state = view.one(PATCH_STATE, information.account_id, arn)
            common: dict[str, Any] = {"resource_id": arn, "resource_type": "instance", "region": information.region}
            if state is not None:
                problems = missing_security_patches(state.payload)
                status = FAIL if problems else PASS
                reason = "; ".join(problems) or "no missing critical or security patches"
                yield verdict(check_id, status, base, reason, also=[information, state], **common)
                continue
            gaps = view.gaps(PATCH_STATE, account_id=information.account_id, region=information.region)
            if gaps or patch_listing is None:
                cause = gaps[0].describe() if gaps else "no patch state listing was collected"
                yield verdict(check_id, ERROR, base, f"evidence missing: {cause}", also=[information], **common)
            else:
                yield verdict(
                    check_id,
                    FAIL,
                    base,
                    f"Patch Manager has no compliance data for {managed.get('ComputerName') or instance_id}"
                    " (never scanned)",
                    also=[information, patch_listing],
                    **common,
                )


@check("rds.auto_minor_version_upgrade", kinds=("rds.db_instance",), regional=True)
def auto_minor_version_upgrade(view: EvidenceView, thresholds: Thresholds, now: datetime) -> Iterator[Finding]:
    check_id = "rds.auto_minor_version_upgrade"
    for db in listed_records(
        view, check_id, "rds.db_instance", resource_type="db-instance", what="DB instance details"
    ):
        if isinstance(db, Finding):
            yield db
        elif db.payload.get("AutoMinorVersionUpgrade") is True:
            yield verdict(check_id, PASS, db, "minor engine upgrades are applied automatically")
        else:
            yield verdict(check_id, FAIL, db, "auto minor version upgrade is off")


@cache
def runtime_deprecations() -> dict[str, date]:
    raw = yaml.safe_load(resources.files("evidence.checks").joinpath("lambda_runtimes.yaml").read_text("utf-8"))
    return {str(name): value for name, value in raw["runtimes"].items()}


@check("lambda.runtime_supported", kinds=("lambda.function",), regional=True)
def runtime_supported(view: EvidenceView, thresholds: Thresholds, now: datetime) -> Iterator[Finding]:
    check_id = "lambda.runtime_supported"
    table = runtime_deprecations()
    for function in listed_records(
        view, check_id, "lambda.function", resource_type="function", what="function configuration"
    ):
        if isinstance(function, Finding):
            yield function
            continue
        runtime = function.payload.get("Runtime")
        if not runtime:
            kind = function.payload.get("PackageType", "Image")
            yield verdict(check_id, NA, function, f"a {kind} function: its runtime comes with its container image")
        elif runtime not in table:
            yield verdict(
                check_id, ERROR, function, f"runtime {runtime} is not in auditpack's runtime table; cannot decide"
            )
        elif table[runtime] <= now.date():
            yield verdict(check_id, FAIL, function, f"runtime {runtime} was deprecated on {table[runtime].isoformat()}")
        else:
            yield verdict(
                check_id, PASS, function, f"runtime {runtime} is supported until {table[runtime].isoformat()}"
            )
