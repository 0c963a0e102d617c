"""The issue's coverage targets, computed from the catalogs: at least as many requirements with automated or
partial evidence as the leading open-source scanner maps on AWS, using only our checks."""

from __future__ import annotations

from evidence.checks.registry import check_ids
from frameworks.coverage import coverage
from frameworks.loader import load_catalogs


def test_hipaa_at_least_25_of_the_42_specifications_in_164_308_to_164_312() -> None:
    cov = coverage(load_catalogs().get("hipaa"), families={"164.308", "164.310", "164.312"})
    assert cov.requirements == 42
    assert cov.with_checks >= 25, cov.by_automation


def test_soc2_at_least_27_criteria() -> None:
    cov = coverage(load_catalogs().get("soc2"))
    assert cov.requirements == 61
    assert cov.with_checks >= 27, cov.by_automation


def test_pci_dss_at_least_105_requirements() -> None:
    cov = coverage(load_catalogs().get("pci-dss"))
    assert cov.with_checks >= 105, cov.by_automation


def test_coverage_uses_only_registered_checks_and_counts_every_requirement_once() -> None:
    for entry in load_catalogs():
        cov = coverage(entry.catalog)
        assert set(cov.checks_used) <= check_ids()
        assert sum(cov.by_automation.values()) == cov.requirements
        assert cov.requirements + cov.headings == len(entry.catalog.controls)
        assert sum(f.requirements for f in cov.families) == cov.requirements
