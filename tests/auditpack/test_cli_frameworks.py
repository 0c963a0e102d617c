"""`auditpack frameworks list|show|coverage`: catalogs and their coverage, in tables, Markdown and JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditpack.cli import output
from frameworks.coverage import coverage, headline
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
    assert shown["coverage"]["with_checks"] >= 32
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


def test_list_shows_each_catalogs_headline_coverage(run_cli, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    listed = {item["id"]: item for item in json.loads(run_cli("frameworks", "list", "--format", "json").stdout)}
    hipaa = headline(load_catalogs().get("hipaa"))
    assert listed["hipaa"]["headline"] == {
        "counts": "specifications in 164.308-164.312",
        "requirements": 42,
        "with_automated_evidence": hipaa.with_checks,
    }
    assert listed["soc2"]["headline"]["counts"] == "criteria" and listed["soc2"]["headline"]["requirements"] == 61
    monkeypatch.setattr(output.out, "width", 250)  # a wide terminal: rows stay on one line
    table = run_cli("frameworks", "list")
    assert f"{hipaa.with_checks} of 42 specifications in 164.308-164.312" in table.stdout


def test_coverage_json_counts_requirements_with_automated_evidence(run_cli) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("frameworks", "coverage", "--format", "json")
    assert result.code == 0, result
    rows = {row["id"]: row for row in json.loads(result.stdout)}
    for framework_id in ("hipaa", "pci-dss", "soc2"):
        catalog = load_catalogs().get(framework_id)
        top, whole = headline(catalog), coverage(catalog)
        assert rows[framework_id]["with_automated_evidence"] == top.with_checks
        assert rows[framework_id]["requirements"] == top.requirements
        assert rows[framework_id]["catalog"]["with_automated_evidence"] == whole.with_checks
        assert rows[framework_id]["checks_used"] == list(whole.checks_used)
    assert rows["hipaa"]["families_counted"] == ["164.308", "164.310", "164.312"]
    assert (rows["hipaa"]["requirements"], rows["hipaa"]["catalog"]["requirements"]) == (42, 50)


def test_coverage_markdown_is_the_table_the_docs_carry(run_cli) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("frameworks", "coverage", "--format", "markdown")
    assert result.code == 0, result
    docs = (Path(__file__).resolve().parents[2] / "docs" / "frameworks.md").read_text(encoding="utf-8")
    block = docs.split("\n<!-- coverage:start -->\n")[1].split("<!-- coverage:end -->")[0]
    assert result.stdout == block


def test_coverage_write_docs_fills_the_blocks_and_refuses_a_file_without_any(  # type: ignore[no-untyped-def]
    run_cli, tmp_path: Path
) -> None:
    page = tmp_path / "page.md"
    page.write_text("# Page\n<!-- coverage:start soc2 -->\nstale\n<!-- coverage:end -->\n", encoding="utf-8")
    first = run_cli("frameworks", "coverage", "--write-docs", str(page))
    assert first.code == 0 and "updated" in first.stdout
    assert "| `CC7` | System operations |" in page.read_text(encoding="utf-8")
    again = run_cli("frameworks", "coverage", "--write-docs", str(page))
    assert again.code == 0 and "up to date" in again.stdout
    (tmp_path / "plain.md").write_text("# nothing generated\n", encoding="utf-8")
    refused = run_cli("frameworks", "coverage", "--write-docs", str(tmp_path / "plain.md"))
    assert refused.code == 2 and "no <!-- coverage:start -->" in refused.stderr
