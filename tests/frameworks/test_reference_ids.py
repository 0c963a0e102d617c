"""Every id of the three reference lists is in its catalog, and nothing else is (0 missing, 0 extra), with the
structure the shared conventions fix (HIPAA headings and R/A, SOC 2 families and scopes, PCI DSS levels)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from frameworks.loader import load_catalog_file, load_catalogs
from frameworks.schema import Catalog
from tests.frameworks.helpers import REFERENCE

CATALOGS = {
    "hipaa": ("hipaa-security-rule.tsv", "hipaa.yaml"),
    "soc2": ("soc2-2017-ids.tsv", "soc2.yaml"),
    "pci-dss": ("pci-dss-4.0.1-ids.tsv", "pci-dss-4.0.1.yaml"),
}


def _rows(name: str) -> list[dict[str, str]]:
    with (REFERENCE / name).open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def _catalog(framework_id: str) -> Catalog:
    return load_catalogs().get(framework_id)


@pytest.mark.parametrize("framework_id", sorted(CATALOGS))
def test_catalog_has_exactly_the_reference_ids(framework_id: str) -> None:
    reference_file, catalog_file = CATALOGS[framework_id]
    catalog = _catalog(framework_id)
    expected = [row["id"] for row in _rows(reference_file)]
    actual = [control.id for control in catalog.controls]
    assert len(expected) == len(set(expected))
    missing = sorted(set(expected) - set(actual))
    extra = sorted(set(actual) - set(expected))
    assert (missing, extra) == ([], []), f"{catalog_file}: missing {missing}, extra {extra}"


def test_the_id_comparison_catches_a_missing_and_an_extra_id(tmp_path: Path) -> None:
    """The reference test must be able to fail: drop one HIPAA id and add a made-up one."""
    text = (Path(load_catalogs().entry("hipaa").source)).read_text()
    text = text.replace('"164.312(a)(2)(iii)"', '"164.312(a)(2)(ix)"')
    broken = tmp_path / "hipaa.yaml"
    broken.write_text(text)
    actual = {control.id for control in load_catalog_file(broken).controls}
    expected = {row["id"] for row in _rows("hipaa-security-rule.tsv")}
    assert expected - actual == {"164.312(a)(2)(iii)"}
    assert actual - expected == {"164.312(a)(2)(ix)"}


def test_hipaa_requirement_types_headings_and_parents_follow_the_rule() -> None:
    catalog = _catalog("hipaa")
    controls = {control.id: control for control in catalog.controls}
    rows = _rows("hipaa-security-rule.tsv")
    groups: dict[tuple[str, str], list[dict[str, str]]] = {}
    for row in rows:
        groups.setdefault((row["section"], row["standard"]), []).append(row)
    for members in groups.values():
        standard = next((row for row in members if row["type"] == "standard"), None)
        specs = [row for row in members if row["type"] != "standard"]
        if standard is not None:
            control = controls[standard["id"]]
            if specs:  # a standard with implementation specifications groups them
                assert control.heading, standard["id"]
                assert control.automation is None
            else:  # a standard with no separate specification is itself required (164.316(a))
                assert not control.heading and control.requirement_type == "required", standard["id"]
        for row in specs:
            control = controls[row["id"]]
            assert not control.heading
            assert control.requirement_type == {"R": "required", "A": "addressable"}[row["type"]], row["id"]
            assert control.parent == (standard["id"] if standard else None), row["id"]
    for control in catalog.controls:
        assert control.family == control.id.split("(")[0]


def test_soc2_families_and_scopes_match_the_categories() -> None:
    catalog = _catalog("soc2")
    controls = {control.id: control for control in catalog.controls}
    scope_of_group = {"A1": "availability", "C1": "confidentiality", "PI1": "processing-integrity"}
    for row in _rows("soc2-2017-ids.tsv"):
        control = controls[row["id"]]
        assert control.family == row["group"]
        group = row["group"]
        expected = "security" if group.startswith("CC") else scope_of_group.get(group, "privacy")
        assert control.scope == expected, row["id"]
    scopes = {scope.id: scope for scope in catalog.scopes}
    assert scopes["security"].always
    assert [s for s in scopes.values() if s.default or (s.always and s.id != "security")] == []
    assert {f.id for f in catalog.families} == {row["group"] for row in _rows("soc2-2017-ids.tsv")}


def test_pci_dss_levels_parents_families_and_appendix_scopes() -> None:
    catalog = _catalog("pci-dss")
    controls = {control.id: control for control in catalog.controls}
    sections = {row["id"] for row in _rows("pci-dss-4.0.1-ids.tsv") if row["level"] == "0"}
    for row in _rows("pci-dss-4.0.1-ids.tsv"):
        control, level = controls[row["id"]], int(row["level"])
        assert control.level == level, row["id"]
        assert control.family == row["id"].split(".")[0], row["id"]
        if level == 0:
            assert control.heading and control.parent is None, row["id"]
        elif level == 1:
            assert control.parent in sections and row["id"].startswith(f"{control.parent}."), row["id"]
        else:
            assert control.parent == row["id"].rsplit(".", 1)[0], row["id"]
    scopes = {scope.id: scope for scope in catalog.scopes}
    assert {"A1", "A3"} <= set(scopes)
    assert not scopes["A1"].default and not scopes["A3"].default
    for control in catalog.controls:
        appendix = control.family if control.family in ("A1", "A3") else None
        effective, current = control.scope, control
        while effective is None and current.parent is not None:
            current = controls[current.parent]
            effective = current.scope
        assert effective == appendix, control.id
