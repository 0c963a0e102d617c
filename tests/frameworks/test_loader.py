"""Loading catalogs: a malformed catalog fails naming the file (and line), the control id and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from frameworks.errors import CatalogError, UnknownFrameworkError
from frameworks.loader import load_catalog, load_catalog_file, load_catalogs

VALID = """\
id: acme
name: ACME internal controls
version: "2026"
publisher: ACME security team
families:
  - id: AC
    title: Access
  - id: LG
    title: Logging
scopes:
  - id: cloud
    title: Cloud estate
controls:
  - id: AC-1
    family: AC
    heading: true
    title: Access management
    description: Groups the access controls.
    responsibility: {default: customer}
  - id: AC-1.1
    family: AC
    parent: AC-1
    title: Root is protected
    description: The root user needs MFA.
    automation: automated
    responsibility: {default: customer}
    checks:
      - id: iam.root_mfa_enabled
        relevance: Root MFA is what this control asks for.
  - id: LG-1
    family: LG
    scope: cloud
    title: Trail everywhere
    description: A multi-region trail exists.
    automation: automated
    responsibility: {default: customer, s3: shared}
    aws_evidence:
      - name: AWS SOC 2 Type II report
        covers: CloudTrail delivery.
    checks:
      - id: cloudtrail.multi_region_trail
        relevance: It is the trail.
"""


def _write(tmp_path: Path, text: str, name: str = "acme.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _error(tmp_path: Path, text: str) -> CatalogError:
    path = _write(tmp_path, text)
    with pytest.raises(CatalogError) as info:
        load_catalog_file(path)
    error = info.value
    assert error.file == str(path)
    assert error.message.startswith(str(path))
    return error


def test_a_valid_user_catalog_loads(tmp_path: Path) -> None:
    catalog = load_catalog_file(_write(tmp_path, VALID))
    assert [c.id for c in catalog.controls] == ["AC-1", "AC-1.1", "LG-1"]


def test_malformed_yaml_names_the_line(tmp_path: Path) -> None:
    error = _error(tmp_path, VALID.replace("    title: Root is protected", "    title: [Root is protected"))
    assert error.line is not None and 24 <= error.line <= 27
    assert "malformed YAML" in error.message and f":{error.line}:" in error.message


def test_a_key_given_twice_is_refused_not_silently_overwritten(tmp_path: Path) -> None:
    text = VALID.replace(
        "    automation: automated\n    responsibility: {default: customer}\n    checks:",
        "    automation: automated\n    automation: manual\n    responsibility: {default: customer}\n    checks:",
        1,
    )
    error = _error(tmp_path, text)
    assert "duplicate key 'automation' (first given on line 25)" in error.message and error.line == 26


@pytest.mark.parametrize(
    ("old", "new", "control_id", "field", "words", "line"),
    [
        (
            "      - id: iam.root_mfa_enabled",
            "      - id: iam.root_mfa_enable",
            "AC-1.1",
            "checks[0].id",
            ["unknown check id 'iam.root_mfa_enable'", "did you mean 'iam.root_mfa_enabled'"],
            28,
        ),
        (
            "  - id: LG-1\n",
            "  - id: AC-1.1\n",
            "AC-1.1",
            "id",
            ["duplicate control id", "first defined at controls[1]"],
            30,
        ),
        (
            "{default: customer, s3: shared}",
            "{default: customer, s3: amazon}",
            "LG-1",
            "responsibility.s3",
            ["got 'amazon'", "'aws', 'shared' or 'customer'"],
            36,
        ),
        (
            "{default: customer, s3: shared}",
            "{default: customer, s4: shared}",
            "LG-1",
            "responsibility",
            ["unknown service type(s) ['s4']"],
            36,
        ),
        ("    title: Root is protected\n", "", "AC-1.1", "title", ["missing (this field is required)"], 20),
        ("    family: LG\n", "    family: LOG\n", "LG-1", "family", ["'LOG' is not a declared family", "AC, LG"], 31),
        (
            "    parent: AC-1\n",
            "    parent: AC-9\n",
            "AC-1.1",
            "parent",
            ["'AC-9' is not a control in this catalog"],
            22,
        ),
        ("    scope: cloud\n", "    scope: onprem\n", "LG-1", "scope", ["'onprem' is not a declared scope"], 32),
        (
            "    automation: automated\n    responsibility: {default: customer}\n",
            "    automation: automated\n    responsibility: {default: customer}\n    colour: blue\n",
            "AC-1.1",
            "colour",
            ["unknown field"],
            27,
        ),
    ],
    ids=[
        "unknown-check",
        "duplicate-id",
        "bad-responsibility",
        "unknown-service",
        "missing-title",
        "unknown-family",
        "unknown-parent",
        "unknown-scope",
        "unknown-field",
    ],
)
def test_each_error_names_file_control_and_field(
    tmp_path: Path, old: str, new: str, control_id: str, field: str, words: list[str], line: int
) -> None:
    assert old in VALID
    error = _error(tmp_path, VALID.replace(old, new, 1))
    assert (error.control_id, error.field) == (control_id, field)
    assert f"control {control_id}: field {field}: " in error.message
    for word in words:
        assert word in error.message
    assert error.line == line, error.message


def test_cross_field_rules_name_the_field_they_are_about(tmp_path: Path) -> None:
    text = VALID.replace(
        "    checks:\n      - id: iam.root_mfa_enabled\n        relevance: Root MFA is what this control asks for.\n",
        "",
    )
    error = _error(tmp_path, text)
    assert (error.control_id, error.field) == ("AC-1.1", "checks")
    assert "an automated control must name at least one check" in error.message


def test_shared_control_without_aws_attestation_is_refused(tmp_path: Path) -> None:
    text = VALID.replace(
        "    aws_evidence:\n      - name: AWS SOC 2 Type II report\n        covers: CloudTrail delivery.\n", ""
    )
    error = _error(tmp_path, text)
    assert (error.control_id, error.field) == ("LG-1", "aws_evidence")


def test_parent_cycle_and_childless_heading_are_refused(tmp_path: Path) -> None:
    cycle = VALID.replace("    heading: true\n", "    heading: true\n    parent: AC-1.1\n", 1)
    error = _error(tmp_path, cycle)
    assert error.field == "parent" and "parent cycle" in error.message
    childless = VALID.replace("    parent: AC-1\n", "")
    error = _error(tmp_path, childless)
    assert (error.control_id, error.field) == ("AC-1", "heading")
    assert "no control names it as parent" in error.message


def test_catalog_header_errors_name_the_field(tmp_path: Path) -> None:
    error = _error(tmp_path, VALID.replace("name: ACME internal controls\n", ""))
    assert error.field == "name" and error.control_id is None
    error = _error(tmp_path, VALID.replace("id: acme\n", "id: ACME Corp\n"))
    assert error.field == "id" and "got 'ACME Corp'" in error.message
    error = _error(tmp_path, "- just\n- a list\n")
    assert "a catalog is a mapping" in error.message
    error = _error(tmp_path, VALID.replace("  - id: LG\n    title: Logging\n", "  - id: AC\n    title: Logging\n"))
    assert error.field == "families[1].id" and "duplicate family id 'AC'" in error.message


def test_user_catalogs_join_the_packaged_ones_and_are_addressed_by_id(tmp_path: Path) -> None:
    _write(tmp_path, VALID)
    catalogs = load_catalogs(tmp_path)
    assert {"hipaa", "soc2", "acme"} <= set(catalogs.ids())
    assert catalogs.get("acme").name == "ACME internal controls"
    assert not catalogs.entry("acme").packaged and catalogs.entry("hipaa").packaged


def test_unknown_framework_lists_the_known_ones() -> None:
    with pytest.raises(UnknownFrameworkError) as info:
        load_catalogs().get("iso27001")
    assert info.value.exit_code == 2
    assert "unknown framework 'iso27001'" in info.value.message
    assert "hipaa" in info.value.message and "soc2" in info.value.message


def test_one_framework_loads_as_the_whole_set_gives_it(tmp_path: Path) -> None:
    """`load_catalog` (what status, packet and export use) reads only the packaged file asked for, and gives the
    catalog `load_catalogs().get` gives; with user catalogs it loads them all, so their errors fail it alike."""
    for framework in ("hipaa", "pci-dss", "soc2"):
        assert load_catalog(framework) == load_catalogs().get(framework)
    with pytest.raises(UnknownFrameworkError, match="known frameworks: hipaa, pci-dss, soc2"):
        load_catalog("iso27001")
    _write(tmp_path, VALID)
    assert load_catalog("acme", tmp_path).name == "ACME internal controls"
    _write(tmp_path, VALID.replace("id: acme\n", "id: hipaa\n"), name="my-hipaa.yaml")
    with pytest.raises(CatalogError, match="already used by the packaged catalog"):
        load_catalog("soc2", tmp_path)


def test_a_user_catalog_may_not_reuse_a_packaged_id(tmp_path: Path) -> None:
    path = _write(tmp_path, VALID.replace("id: acme\n", "id: hipaa\n"), name="my-hipaa.yaml")
    with pytest.raises(CatalogError) as info:
        load_catalogs(tmp_path)
    assert str(path) in info.value.message and "hipaa.yaml" in info.value.message.replace(str(path), "")
    assert "already used by the packaged catalog" in info.value.message and info.value.field == "id"


def test_two_user_catalogs_may_not_share_an_id(tmp_path: Path) -> None:
    _write(tmp_path, VALID, name="a.yaml")
    second = _write(tmp_path, VALID, name="b.yml")
    with pytest.raises(CatalogError) as info:
        load_catalogs(tmp_path)
    assert info.value.file == str(second) and "a.yaml" in info.value.message


def test_a_broken_user_catalog_fails_the_load_instead_of_being_skipped(tmp_path: Path) -> None:
    _write(tmp_path, VALID, name="good.yaml")
    bad = _write(
        tmp_path, VALID.replace("id: acme\n", "id: other\n").replace("iam.root_mfa_enabled", "nope"), "bad.yaml"
    )
    with pytest.raises(CatalogError) as info:
        load_catalogs(tmp_path)
    assert info.value.file == str(bad)


def test_catalog_dir_must_be_a_directory(tmp_path: Path) -> None:
    with pytest.raises(CatalogError) as info:
        load_catalogs(tmp_path / "missing")
    assert "not a directory" in info.value.message
