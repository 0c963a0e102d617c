"""The ssm.* checks: instances managed by Systems Manager and their patch compliance (metadata in ssm.yaml)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from evidence.checks.types import Finding
from evidence.checks.unit import Check, custom, each
from evidence.store import EvidenceRecord

INSTANCE, INFORMATION, PATCH_STATE = "ec2.instance", "ssm.instance_information", "ssm.patch_state"


def _information(c: Check, instance: EvidenceRecord) -> EvidenceRecord:
    return c.setting(
        INFORMATION,
        instance.account_id,
        instance.region,
        resource_id=instance.resource_id,
        resource_type="instance",
        what="SSM managed-instance list",
    )


def _managed(information: EvidenceRecord) -> dict[str, dict[str, Any]]:
    return {
        item["InstanceId"]: item
        for item in information.payload.get("InstanceInformationList", [])
        if "InstanceId" in item
    }


@each(INSTANCE, resource_type="instance", what="instance details", reads=(INFORMATION,))
def instance_managed(c: Check, instance: EvidenceRecord) -> Finding:
    state = (instance.payload.get("State") or {}).get("Name")
    if state != "running":
        return c.not_applicable(instance, f"the instance is {state}, not running")
    information = _information(c, instance)
    managed = _managed(information).get(instance.payload.get("InstanceId", ""))
    if managed is None:
        return c.failed(instance, "the instance is not registered with Systems Manager", also=[information])
    if managed.get("PingStatus") == "Online":
        return c.passed(
            instance, f"managed by SSM (agent {managed.get('AgentVersion', '?')}, online)", also=[information]
        )
    return c.failed(instance, f"registered with SSM but the agent is {managed.get('PingStatus')}", also=[information])


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


@custom(kinds=(INSTANCE, INFORMATION, PATCH_STATE), regional=True)
def patch_compliant(c: Check) -> Iterator[Finding]:
    """One finding per managed instance. Where the managed-instance list itself is missing, every running
    instance of the region is an error: whether it is managed (and patched) is unknown."""
    unknown: set[tuple[str, str]] = set()
    for instance in c.records(INSTANCE, resource_type="instance", what="instance details"):
        running = (instance.payload.get("State") or {}).get("Name") == "running"
        if running and not c.view.at(INFORMATION, instance.account_id, instance.region):
            unknown.add((instance.account_id, instance.resource_id))
            with c.item():
                _information(c, instance)  # raises: the error standing in for the missing list
    for information in c.view.items(INFORMATION):
        patch_listing = c.view.listing(PATCH_STATE, information.account_id, information.region)
        for instance_id, managed in sorted(_managed(information).items()):
            service, noun = ("ssm", "managed-instance") if instance_id.startswith("mi-") else ("ec2", "instance")
            arn = c.view.arn(information.account_id, service, information.region, f"{noun}/{instance_id}")
            if (information.account_id, arn) in unknown:
                continue
            base = c.view.one(INSTANCE, information.account_id, arn) or information
            state = c.view.one(PATCH_STATE, information.account_id, arn)
            where: dict[str, Any] = {"resource_id": arn, "resource_type": "instance", "region": information.region}
            if state is not None:
                problems = missing_security_patches(state.payload)
                if problems:
                    yield c.failed(base, "; ".join(problems), also=[information, state], **where)
                else:
                    yield c.passed(base, "no missing critical or security patches", also=[information, state], **where)
                continue
            gaps = c.view.gaps(PATCH_STATE, account_id=information.account_id, region=information.region)
            if gaps or patch_listing is None:
                cause = gaps[0].describe() if gaps else "no patch state listing was collected"
                yield c.error(base, f"evidence missing: {cause}", also=[information], **where)
            else:
                yield c.failed(
                    base,
                    f"Patch Manager has no compliance data for {managed.get('ComputerName') or instance_id}"
                    " (never scanned)",
                    also=[information, patch_listing],
                    **where,
                )
