"""`auditpack frameworks list|show`: catalogs and their coverage, in tables and JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from frameworks.coverage import coverage
from frameworks.loader import load_catalogs
from tests.frameworks.test_loader import VALID


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AUDITPACK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("AUDITPACK_CATALOG_DIR", raising=False)


def test_list_json_gives_coverage_per_catalog(run_cli) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("frameworks", "list", "--format", "json")
    assert result.code == 0, result
    listed = {item["id"]: item for item in json.loads(result.stdout)}
    assert {"hipaa", "soc2"} <= set(listed)
    for framework_id, item in listed.items():
        expected = coverage(load_catalogs().get(framework_id))
        assert item["coverage"]["requirements"] == expected.requirements
        assert item["coverage"]["by_automation"] == expected.by_automation
        assert item["packaged"] is True
    assert listed["soc2"]["coverage"]["requirements"] == 61


def test_list_table_names_each_catalog(run_cli) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("frameworks", "list")
    assert result.code == 0 and "hipaa" in result.stdout and "soc2" in result.stdout


def test_show_json_has_scopes_families_coverage_and_every_control(run_cli) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("frameworks", "show", "soc2", "--format", "json")
    assert result.code == 0, result
    shown = json.loads(result.stdout)
    assert shown["id"] == "soc2" and len(shown["controls"]) == 61
    assert shown["scopes"][0]["id"] == "security" and shown["scopes"][0]["always"] is True
    assert sum(f["requirements"] for f in shown["families"]) == 61
    assert shown["coverage"]["with_checks"] >= 25
    cc64 = next(c for c in shown["controls"] if c["id"] == "CC6.4")
    assert cc64["automation"] == "inherited" and cc64["aws_evidence"][0]["source"] == "AWS Artifact"


def test_show_table_gives_coverage_and_families(run_cli) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("frameworks", "show", "hipaa", "--controls")
    assert result.code == 0, result
    cov = coverage(load_catalogs().get("hipaa"))
    assert f"{cov.requirements} requirements ({cov.by_automation['automated']} automated" in result.stdout
    assert "164.310" in result.stdout and "164.312(a)(2)(iv)" in result.stdout


def test_show_unknown_framework_exits_2_listing_known_ones(run_cli) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("frameworks", "show", "nist-800-53")
    assert result.code == 2
    assert "unknown framework 'nist-800-53'" in result.stderr and "hipaa" in result.stderr


def test_user_catalogs_are_listed_and_broken_ones_are_reported(
    run_cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    catalogs = tmp_path / "catalogs"
    catalogs.mkdir()
    (catalogs / "acme.yaml").write_text(VALID)
    monkeypatch.setenv("AUDITPACK_CATALOG_DIR", str(catalogs))
    listed = json.loads(run_cli("frameworks", "list", "--format", "json").stdout)
    acme = next(item for item in listed if item["id"] == "acme")
    assert acme["packaged"] is False and acme["source"] == str(catalogs / "acme.yaml")
    (catalogs / "acme.yaml").write_text(VALID.replace("{default: customer, s3: shared}", "{default: amazon}"))
    broken = run_cli("frameworks", "list")
    assert broken.code == 2
    assert "acme.yaml:36: control LG-1: field responsibility.default: got 'amazon'" in broken.stderr

