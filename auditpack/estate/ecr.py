"""Amazon ECR: the registry's scanning configuration and repositories (with their own scan-on-push setting)."""

from __future__ import annotations

from typing import Literal

from auditpack.estate.target import Spec, Target, owner_tags


class Repository(Spec):
    name: str
    scan_on_push: bool = True  # the repository's own setting (what counts when the registry has no scanning rules)
    owner: str | None = None


class RegistryScanning(Spec):
    """A registry scanning configuration: one rule scanning the repositories matching `filters`."""

    scan_type: Literal["BASIC", "ENHANCED"] = "ENHANCED"
    frequency: Literal["SCAN_ON_PUSH", "CONTINUOUS_SCAN"] = "CONTINUOUS_SCAN"
    filters: tuple[str, ...] = ("*",)


def plant_registry_scanning(target: Target, scanning: RegistryScanning) -> None:
    filters = [{"filter": name, "filterType": "WILDCARD"} for name in scanning.filters]
    target.client("ecr").put_registry_scanning_configuration(
        scanType=scanning.scan_type, rules=[{"scanFrequency": scanning.frequency, "repositoryFilters": filters}]
    )


def plant_repository(target: Target, repository: Repository) -> str:
    answer = target.client("ecr").create_repository(
        repositoryName=repository.name,
        imageScanningConfiguration={"scanOnPush": repository.scan_on_push},
        tags=owner_tags(repository.owner),
    )
    target.count("ECR repositories")
    return str(answer["repository"]["repositoryArn"])
