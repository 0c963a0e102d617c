"""ecr.scan_on_push against moto: the registry's scanning rules (enhanced or basic) and, where the registry has no
rules, each repository's own scan-on-push setting."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from evidence.checks.ecr import filter_matches
from evidence.checks.types import Finding, FindingStatus
from evidence.store import EvidenceStore
from tests.evidence.collectors.harness import REGION, findings_of, refuse, run_collectors
from tests.moto_server import fake_aws_env
from tests.scenario import Collected

PASS, FAIL, ERROR = FindingStatus.PASS, FindingStatus.FAIL, FindingStatus.ERROR


@pytest.fixture
def aws() -> Iterator[boto3.Session]:
    with fake_aws_env(), mock_aws():
        yield boto3.Session(region_name=REGION)


def _repositories(session: boto3.Session, **flags: bool) -> None:
    for name, on_push in flags.items():
        session.client("ecr").create_repository(
            repositoryName=name.replace("_", "-"), imageScanningConfiguration={"scanOnPush": on_push}
        )


def _by_name(findings: list[Finding]) -> dict[str, Finding]:
    return {f.resource_id.rsplit("/", 1)[-1]: f for f in findings}


def test_without_registry_rules_the_repository_setting_decides(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    _repositories(aws, web=True, batch=False)
    found = _by_name(findings_of(sqlite_store, run_collectors(sqlite_store, aws, ["ecr"]), "ecr.scan_on_push"))
    assert (found["web"].status, found["web"].reason) == (
        PASS,
        "basic scanning scans its images on push (repository setting)",
    )
    assert found["batch"].status == FAIL and "no scan on push" in found["batch"].reason


def test_enhanced_scanning_rules_decide_and_the_repository_setting_no_longer_counts(
    aws: boto3.Session, sqlite_store: EvidenceStore
) -> None:
    _repositories(aws, prod_api=False, prod_jobs=False, web=True)
    aws.client("ecr").put_registry_scanning_configuration(
        scanType="ENHANCED",
        rules=[
            {
                "scanFrequency": "CONTINUOUS_SCAN",
                "repositoryFilters": [{"filter": "prod-api", "filterType": "WILDCARD"}],
            },
            {"scanFrequency": "SCAN_ON_PUSH", "repositoryFilters": [{"filter": "prod-*", "filterType": "WILDCARD"}]},
        ],
    )
    found = _by_name(findings_of(sqlite_store, run_collectors(sqlite_store, aws, ["ecr"]), "ecr.scan_on_push"))
    assert found["prod-api"].status == PASS and "continuously, and on push" in found["prod-api"].reason
    assert found["prod-jobs"].status == PASS and "filter 'prod-*'" in found["prod-jobs"].reason
    assert found["web"].status == FAIL
    assert "its own scan-on-push setting does not apply under enhanced scanning" in found["web"].reason


def test_basic_scan_on_push_filters(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    _repositories(aws, batch=False, web=False)
    aws.client("ecr").put_registry_scanning_configuration(
        scanType="BASIC",
        rules=[{"scanFrequency": "SCAN_ON_PUSH", "repositoryFilters": [{"filter": "bat", "filterType": "WILDCARD"}]}],
    )
    found = _by_name(findings_of(sqlite_store, run_collectors(sqlite_store, aws, ["ecr"]), "ecr.scan_on_push"))
    assert found["batch"].status == PASS and "registry filter 'bat'" in found["batch"].reason
    assert found["web"].status == FAIL and "scanned only on demand" in found["web"].reason


def test_a_refused_registry_configuration_read_is_an_error_for_every_repository(
    aws: boto3.Session, sqlite_store: EvidenceStore
) -> None:
    _repositories(aws, web=True)
    refuse(aws, "ecr.GetRegistryScanningConfiguration")
    [finding] = findings_of(sqlite_store, run_collectors(sqlite_store, aws, ["ecr"]), "ecr.scan_on_push")
    assert finding.status == ERROR and "ecr:GetRegistryScanningConfiguration failed" in finding.reason


def test_a_refused_repository_listing_is_an_error(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    refuse(aws, "ecr.DescribeRepositories")
    [finding] = findings_of(sqlite_store, run_collectors(sqlite_store, aws, ["ecr"]), "ecr.scan_on_push")
    assert finding.status == ERROR and finding.resource_id.endswith(f"/{REGION}/ecr.repository")


@pytest.mark.parametrize(
    ("pattern", "matches"),
    [  # AWS's table (Amazon ECR user guide, "Filters to choose which repositories are scanned")
        ("prod", {"prod", "repo-prod", "prod-repo", "repo-prod-repo", "prodrepo"}),
        ("*prod", {"prod", "repo-prod"}),
        ("prod*", {"prod", "prod-repo", "prodrepo"}),
        ("*prod*", {"prod", "repo-prod", "prod-repo", "repo-prod-repo", "prodrepo"}),
        ("prod*repo", {"prod-repo", "prodrepo"}),
    ],
)
def test_filters_match_as_aws_documents(pattern: str, matches: set[str]) -> None:
    names = ["prod", "repo-prod", "prod-repo", "repo-prod-repo", "prodrepo"]
    assert {name for name in names if filter_matches(pattern, name)} == matches


def test_in_the_scenario_estate(collected: Collected) -> None:
    assert collected.finding("ecr.scan_on_push", collected.estate.ids["scanned_repository"]).status == PASS
    assert collected.finding("ecr.scan_on_push", collected.estate.ids["unscanned_repository"]).status == FAIL
    # a region without repositories is not_applicable on its complete listing
    empty = collected.finding("ecr.scan_on_push", f"{collected.estate.member_b}/eu-west-1/ecr.repository")
    assert empty.status == FindingStatus.NOT_APPLICABLE
