"""`auditpack findings --format ocsf`: every event of the scenario estate's run is a valid OCSF Compliance Finding
(validated against the class's JSON Schema pinned in tests/fixtures/ocsf/) and says what the store says."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator

from evidence.checks.registry import check_metadata
from evidence.checks.types import FindingStatus
from frameworks.loader import load_catalogs
from reports.findings_export import finding_uid
from reports.ocsf import OCSF_VERSION
from tests.reports.conftest import Interchange, cli, ndjson

SCHEMA = Path(__file__).resolve().parents[1] / "fixtures" / "ocsf" / f"compliance_finding-{OCSF_VERSION}.json"


@pytest.fixture(scope="module")
def validator() -> Draft7Validator:
    schema = json.loads(SCHEMA.read_text("utf-8"))
    Draft7Validator.check_schema(schema)
    return Draft7Validator(schema)


def _problems(validator: Draft7Validator, event: dict[str, Any]) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(event)]


def test_every_event_validates_against_the_pinned_ocsf_class_schema(
    interchange: Interchange, validator: Draft7Validator
) -> None:
    assert len(interchange.ocsf) == len(interchange.findings) > 100
    statuses = Counter(f.status for f in interchange.findings)
    assert {FindingStatus.PASS, FindingStatus.FAIL, FindingStatus.ERROR} <= set(statuses)  # every mapping is met
    for event in interchange.ocsf:
        assert _problems(validator, event) == [], event["finding_info"]["uid"]
        # What the generic schema leaves open (type_uid has no enum there), OCSF defines:
        assert event["type_uid"] == event["class_uid"] * 100 + event["activity_id"] == 200301
        assert event["category_uid"] == 2 and event["metadata"]["version"] == OCSF_VERSION
        assert set(event["metadata"]["profiles"]) == {"cloud", "datetime"}


def test_the_pinned_schema_catches_what_a_consumer_would_refuse(
    interchange: Interchange, validator: Draft7Validator
) -> None:
    """The validation is not vacuous: events missing required parts or using undefined values fail it."""
    event = json.loads(json.dumps(interchange.ocsf[0]))
    del event["compliance"]
    event["cloud"].pop("provider")
    event["severity_id"] = 9
    event["resources"][0]["colour"] = "red"
    assert sorted(_problems(validator, event)) == [
        ": 'compliance' is a required property",
        "cloud: 'provider' is a required property",
        "resources/0: Additional properties are not allowed ('colour' was unexpected)",
        "severity_id: 9 is not one of [0, 1, 2, 3, 4, 5, 6, 99]",
    ]


def test_each_event_carries_its_findings_verdict_resource_evidence_and_remediation(interchange: Interchange) -> None:
    meta = check_metadata()
    expected_status = {"pass": (1, "Pass"), "fail": (3, "Fail"), "error": (2, "Warning")}
    expected_status["not_applicable"] = (99, "Not Applicable")
    for finding, event in zip(interchange.findings, interchange.ocsf, strict=True):
        compliance = event["compliance"]
        assert (compliance["status_id"], compliance["status"]) == expected_status[finding.status]
        assert compliance["status_code"] == event["status_code"] == finding.status
        assert compliance["control"] == finding.check_id and compliance["status_details"] == [finding.reason]
        check = compliance["checks"][0]
        assert (check["uid"], check["name"]) == (finding.check_id, meta[finding.check_id].title)
        assert check["severity"] == meta[finding.check_id].severity.value.title()
        assert event["finding_info"]["uid"] == finding_uid(finding)
        assert event["cloud"]["account"]["uid"] == finding.account_id
        assert event["resources"][0]["uid"] == finding.resource_id
        hashes = [e["file"]["hashes"][0] for e in event.get("evidences", [])]
        assert [h["value"] for h in hashes] == list(finding.evidence)
        assert all(h["algorithm_id"] == 3 and h["algorithm"] == "SHA-256" for h in hashes)
        assert meta[finding.check_id].remediation.cli in event["remediation"]["desc"]
        assert event["unmapped"]["run_id"] == interchange.run_id
        if finding.status in ("pass", "not_applicable"):
            assert event["severity_id"] == 1
        else:  # a gap weighs what a failure of the check would
            assert event["severity"] == meta[finding.check_id].severity.value.title()


def test_a_gap_is_a_warning_never_a_pass(interchange: Interchange) -> None:
    gaps = [e for f, e in zip(interchange.findings, interchange.ocsf, strict=True) if f.status == "error"]
    assert gaps
    assert {e["compliance"]["status"] for e in gaps} == {"Warning"}


def test_requirements_are_the_catalog_controls_that_name_the_check(interchange: Interchange) -> None:
    """Checked against the catalogs read directly; PCI DSS A1 (multi-tenant providers) is out of scope by default,
    so its controls are not claimed."""
    catalogs = {entry.catalog.id: entry.catalog for entry in load_catalogs()}
    event = next(e for e in interchange.ocsf if e["compliance"]["control"] == "iam.root_mfa_enabled")
    assert event["compliance"]["requirements"] == [
        "HIPAA Security Rule 164.312(a)(2)(ii)",
        "HIPAA Security Rule 164.312(d)",
        "PCI DSS 2.2.2",
        "PCI DSS 8.2.2",
        "PCI DSS 8.4.1",
        "PCI DSS 8.4.3",
        "SOC 2 (Trust Services Criteria) CC5.2",
        "SOC 2 (Trust Services Criteria) CC6.1",
    ]
    assert event["compliance"]["standards"] == [f"{c.name} {c.version}" for c in catalogs.values()]
    for event in interchange.ocsf:
        check_id = event["compliance"]["control"]
        named = {
            f"{c.name} {control.id}"
            for c in catalogs.values()
            for control in c.controls
            if any(ref.id == check_id for ref in control.checks)
        }
        assert set(event["compliance"]["requirements"]) <= named
    trail = next(e for e in interchange.ocsf if e["compliance"]["control"] == "cloudtrail.multi_region_trail")
    assert "PCI DSS 10.2.1" in trail["compliance"]["requirements"]
    assert "PCI DSS A1.2.1" not in trail["compliance"]["requirements"]


def test_scopes_and_framework_narrow_the_export(interchange: Interchange, tmp_path: Path) -> None:
    out = tmp_path / "pci.ndjson"
    env = interchange.env(AUDITPACK_SCOPES="pci-dss:A1")
    assert cli(env, "findings", "--format", "ocsf", "--framework", "pci-dss", "--out", str(out)) == 0
    events = ndjson(out)
    pci_checks = {ref.id for c in load_catalogs().get("pci-dss").controls for ref in c.checks}
    assert {e["compliance"]["control"] for e in events} <= pci_checks
    assert len(events) == sum(f.check_id in pci_checks for f in interchange.findings)
    assert all(r.startswith("PCI DSS ") for e in events for r in e["compliance"]["requirements"])
    trail = next(e for e in events if e["compliance"]["control"] == "cloudtrail.multi_region_trail")
    assert "PCI DSS A1.2.1" in trail["compliance"]["requirements"]  # the scope is selected now


def test_the_export_is_deterministic_and_filters_like_the_table(interchange: Interchange, tmp_path: Path) -> None:
    again = tmp_path / "again.ndjson"
    assert cli(interchange.env(), "findings", "--format", "ocsf", "--out", str(again)) == 0
    assert again.read_bytes() == interchange.ocsf_bytes
    failing = tmp_path / "fail.ndjson"
    assert cli(interchange.env(), "findings", "--format", "ocsf", "--status", "fail", "--out", str(failing)) == 0
    assert [e["finding_info"]["uid"] for e in ndjson(failing)] == [
        finding_uid(f) for f in interchange.findings if f.status == "fail"
    ]
    ids = [e["finding_info"]["uid"] for e in interchange.ocsf]
    assert len(ids) == len(set(ids))  # one id per check and resource


def test_a_failed_export_leaves_the_previous_file_alone(interchange: Interchange, tmp_path: Path) -> None:
    out = tmp_path / "kept.ndjson"
    out.write_text("previous export\n")
    assert cli(interchange.env(), "findings", "--format", "ocsf", "--framework", "nist", "--out", str(out)) == 2
    assert cli(interchange.env(), "findings", "--format", "ocsf", "--out", str(tmp_path / "no" / "x.ndjson")) == 2
    assert out.read_text() == "previous export\n"
    assert [p.name for p in tmp_path.iterdir()] == ["kept.ndjson"]
