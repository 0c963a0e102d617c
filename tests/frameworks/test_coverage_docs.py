"""Coverage figures in the docs are generated (`make docs-coverage`), never typed: this fails when they are stale."""

from __future__ import annotations

from pathlib import Path

import pytest

from evidence.checks.registry import check_ids
from frameworks.coverage import coverage, headline
from frameworks.coverage_report import CoverageDocsError, rewrite_docs
from frameworks.loader import load_catalogs
from frameworks.schema import Catalog

ROOT = Path(__file__).resolve().parents[2]
DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])
GENERATED = [path for path in DOCS if "\n<!-- coverage:start" in path.read_text(encoding="utf-8")]


def _packaged() -> dict[str, Catalog]:
    return {entry.catalog.id: entry.catalog for entry in load_catalogs()}


def test_the_docs_quoting_coverage_carry_generated_blocks() -> None:
    assert {"frameworks.md", "pci-dss.md"} <= {path.name for path in GENERATED}


@pytest.mark.parametrize("path", GENERATED, ids=lambda path: path.name)
def test_generated_coverage_in_the_docs_is_current(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert rewrite_docs(text, _packaged(), check_ids()) == text, f"{path.name} is stale: run `make docs-coverage`"


def test_the_summary_block_gives_each_catalogs_headline_figure() -> None:
    catalogs = _packaged()
    text = rewrite_docs("intro\n<!-- coverage:start -->\nold figures\n<!-- coverage:end -->\nafter\n", catalogs, {"a"})
    assert text.startswith("intro\n<!-- coverage:start -->\n| framework |")
    assert text.endswith("<!-- coverage:end -->\nafter\n")
    assert "old figures" not in text
    hipaa = headline(catalogs["hipaa"])
    assert hipaa.requirements == 42  # 164.308-164.312 only, as the catalog's coverage measure says
    assert f"| `hipaa` | specifications in 164.308-164.312 | **{hipaa.with_checks} of 42** |" in text
    pci = coverage(catalogs["pci-dss"])
    assert f"| `pci-dss` | requirements | **{pci.with_checks} of {pci.requirements}** |" in text
    assert rewrite_docs(text, catalogs, {"a"}) == text  # idempotent


def test_a_framework_block_lists_its_families_and_unused_checks() -> None:
    catalogs = _packaged()
    text = rewrite_docs("<!-- coverage:start soc2 -->\n<!-- coverage:end -->\n", catalogs, check_ids() | {"x.unused"})
    assert "| `CC6` | Logical and physical access |" in text
    soc2 = coverage(catalogs["soc2"])
    levels = " | ".join(str(soc2.by_automation[level]) for level in ("automated", "partial", "manual", "inherited"))
    assert f"| **all** |  | 61 | {levels} | {soc2.with_checks} |" in text
    assert "`x.unused`" in text.split("not used here:")[1]


def test_markers_quoted_in_prose_are_left_alone() -> None:
    text = "Use `<!-- coverage:start -->` blocks.\n<!-- coverage:start -->\n<!-- coverage:end -->\n"
    assert rewrite_docs(text, _packaged(), set()).startswith("Use `<!-- coverage:start -->` blocks.\n")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("no markers here\n", "no <!-- coverage:start -->"),
        ("<!-- coverage:start -->\n", "unbalanced"),
        ("<!-- coverage:start nist -->\n<!-- coverage:end -->\n", "unknown framework 'nist'"),
    ],
)
def test_blocks_that_cannot_be_filled_are_refused(text: str, problem: str) -> None:
    with pytest.raises(CoverageDocsError, match=problem) as raised:
        rewrite_docs(text, _packaged(), set())
    assert raised.value.exit_code == 2
