"""`auditpack findings --format asff`: Security Hub findings that BatchImportFindings accepts (botocore's own model
of the operation validates them), with our verdicts mapped so that a gap is never PASSED."""

from __future__ import annotations

from datetime import UTC, datetime

import botocore.session
import pytest
from botocore.validate import ParamValidator

from evidence.checks.registry import check_metadata
from evidence.checks.types import Finding, FindingStatus
from frameworks.loader import load_catalogs
from reports.asff import AsffRenderer, SecurityHubTarget
from reports.findings_export import ComplianceIndex, ExportRun, finding_uid
from tests.moto_server import fake_aws_env
from tests.reports.conftest import Interchange, cli

RUN = ExportRun(
    run_id=7, evaluated_at=datetime(2026, 11, 20, 3, 0, tzinfo=UTC), findings_digest="d" * 64, product_version="0.1.0"
)


def _import_errors(findings: list[dict]) -> str:
    model = botocore.session.get_session().get_service_model("securityhub")
    shape = model.operation_model("BatchImportFindings").input_shape
    return ParamValidator().validate({"Findings": findings}, shape).generate_report()


def test_every_finding_is_accepted_by_the_batch_import_findings_model(interchange: Interchange) -> None:
    assert len(interchange.asff) == len(interchange.findings)
    for start in range(0, len(interchange.asff), 100):
        assert _import_errors(interchange.asff[start : start + 100]) == ""
    for document in interchange.asff:  # limits botocore does not check
        assert len(document["Title"]) <= 256 and len(document["Description"]) <= 1024
        assert len(document["Remediation"]["Recommendation"]["Text"]) <= 512
        assert len(document["Compliance"].get("RelatedRequirements", [])) <= 32
        assert all(len(r.get("Region", "")) <= 16 for r in document["Resources"])
        assert all(len(v) <= 2048 for v in document["ProductFields"].values())
    broken = {**interchange.asff[0], "Resources": "arn:aws:s3:::x"}
    del broken["Title"]
    assert "Missing required parameter" in _import_errors([broken])  # the validation bites


def test_verdicts_map_to_compliance_status_and_a_gap_is_never_passed(interchange: Interchange) -> None:
    meta = check_metadata()
    expected = {"pass": "PASSED", "fail": "FAILED", "error": "NOT_AVAILABLE", "not_applicable": "NOT_AVAILABLE"}
    seen = set()
    for finding, document in zip(interchange.findings, interchange.asff, strict=True):
        seen.add(finding.status)
        compliance = document["Compliance"]
        assert compliance["Status"] == expected[finding.status]
        assert document["Id"] == finding_uid(finding)  # the OCSF export's finding_info.uid
        assert document["GeneratorId"] == f"auditpack/{finding.check_id}"
        assert document["AwsAccountId"] == finding.account_id
        account = finding.account_id
        assert document["ProductArn"] == f"arn:aws:securityhub:us-east-1:{account}:product/{account}/default"
        assert document["Resources"][0]["Id"] == finding.resource_id
        assert document["ProductFields"].get("auditpack/evidence_sha256", "").split() == list(finding.evidence)
        if finding.status == "error":
            assert compliance["StatusReasons"] == [{"ReasonCode": "EVIDENCE_GAP", "Description": finding.reason}]
            assert document["Severity"]["Label"] == meta[finding.check_id].severity.value.upper()
        if finding.status == "pass":
            assert document["Severity"]["Label"] == "INFORMATIONAL" and "StatusReasons" not in compliance
    assert {"pass", "fail", "error"} <= seen


def test_types_requirements_and_resource_types(interchange: Interchange) -> None:
    root = next(d for d in interchange.asff if d["GeneratorId"] == "auditpack/iam.root_mfa_enabled")
    assert root["Types"] == [
        "Software and Configuration Checks/Industry and Regulatory Standards/HIPAA Controls (USA)",
        "Software and Configuration Checks/Industry and Regulatory Standards/PCI-DSS",
        "Software and Configuration Checks/Industry and Regulatory Standards/SOC 2",
    ]
    assert "PCI DSS 8.4.1" in root["Compliance"]["RelatedRequirements"]
    bucket = next(d for d in interchange.asff if d["GeneratorId"] == "auditpack/s3.default_encryption")
    assert bucket["Resources"][0]["Type"] == "AwsS3Bucket" and bucket["Resources"][0]["Partition"] == "aws"


def _finding(**overrides: object) -> Finding:
    fields: dict = {
        "check_id": "s3.default_encryption",
        "status": FindingStatus.FAIL,
        "account_id": "123456789012",
        "region": "us-gov-west-1",
        "resource_id": "arn:aws-us-gov:s3:::records",
        "reason": "no default encryption",
        "evidence": ("a" * 64,),
        "observed_at": datetime(2026, 11, 20, 2, 0, tzinfo=UTC),
        "resource_type": "bucket",
    }
    return Finding(**{**fields, **overrides})


def _renderer(region: str) -> AsffRenderer:
    index = ComplianceIndex(entry.catalog for entry in load_catalogs())
    return AsffRenderer(check_metadata(), index, RUN, SecurityHubTarget.for_region(region))


@pytest.mark.parametrize(
    ("region", "resource", "partition"),
    [("us-gov-west-1", "arn:aws-us-gov:s3:::records", "aws-us-gov"), ("cn-north-1", "arn:aws-cn:s3:::r", "aws-cn")],
)
def test_the_product_arn_is_in_the_partition_of_the_security_hub_region(
    region: str, resource: str, partition: str
) -> None:
    document = _renderer(region)(_finding(region=region, resource_id=resource))
    assert document["ProductArn"] == f"arn:{partition}:securityhub:{region}:123456789012:product/123456789012/default"
    assert document["Resources"][0]["Partition"] == partition
    assert _import_errors([document]) == ""


def test_long_fields_are_cut_to_their_limits_and_counts_kept() -> None:
    many = tuple(f"{n:064x}" for n in range(40))  # 40 hashes do not fit one 2,048-character value
    document = _renderer("us-east-1")(_finding(region="us-east-1", reason="x" * 3000, evidence=many))
    assert len(document["Description"]) == 1024 and document["Description"].endswith("…")
    kept = document["ProductFields"]["auditpack/evidence_sha256"].split()
    assert kept == list(many[: len(kept)]) and len(kept) == 31
    assert document["ProductFields"]["auditpack/evidence_count"] == "40"
    global_finding = _finding(region="global", resource_id="arn:aws:iam::123456789012:root", resource_type="account")
    document = _renderer("us-east-1")(global_finding)
    assert "Region" not in document["Resources"][0] and document["Resources"][0]["Type"] == "AwsAccount"


def test_asff_needs_a_security_hub_region(interchange: Interchange, tmp_path, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    with fake_aws_env():
        for name in ("AWS_DEFAULT_REGION", "AWS_REGION"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
        assert cli(interchange.env(), "findings", "--format", "asff") == 2
        assert "no Security Hub region" in capsys.readouterr().err
        assert cli(interchange.env(), "findings", "--format", "asff", "--region", "mars-1") == 2
        assert "belongs to no AWS partition" in capsys.readouterr().err
