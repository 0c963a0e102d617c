"""The packet PDF as an auditor receives it: parsed with pypdf and checked with pyHanko, pdfsig and qpdf."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import subprocess
from pathlib import Path

import pytest
from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from pypdf import PdfReader

from evidence.canonical import rfc3339
from evidence.db import make_engine
from evidence.store import EvidenceStore
from reports.verify import verify_file
from tests.reports.conftest import Built

SECTIONS = [
    "Executive summary",
    "Shared responsibility matrix",
    "Ownership",
    "Control by control",
    "Customer evidence",
    "Exceptions",
    "AWS-inherited controls",
    "Evidence gaps",
    "Evidence index and verification",
]


@pytest.fixture(scope="module")
def reader(built: Built) -> PdfReader:
    return PdfReader(built.result.pdf_path)


@pytest.fixture(scope="module")
def pages(reader: PdfReader) -> list[str]:
    return [page.extract_text() for page in reader.pages]


def _roots(built: Built) -> list[asn1_x509.Certificate]:
    from reports.verify import load_trust_roots

    return load_trust_roots(built.roots)


def test_every_section_appears_in_order_with_the_controls(pages: list[str]) -> None:
    starts = [next(n for n, text in enumerate(pages) if section in text.splitlines()) for section in SECTIONS]
    assert starts == sorted(starts) and starts[0] == 1
    text = "\n".join(pages)
    for control_id in ("3.5.1", "8.4.2", "12.1.1", "9.4.7"):
        assert re.search(rf"\b{re.escape(control_id)}\b", text), control_id


def test_cover_names_organisation_framework_scope_runs_and_self_signed_signer(built: Built, pages: list[str]) -> None:
    cover = pages[0]
    for expected in (
        "Example Health Ltd",
        "PCI DSS evidence packet",
        "PCI DSS, version 4.0.1",
        "PKT-2026-11-20-0001",
        "20 Nov 2026 03:30 UTC",
        "alice@example.com",
        "111111111111, 222222222222",
        "Self-signed packet",
        "auditpack local packet signer",
    ):
        assert expected in cover, expected
    digest = built.scenario.run.digest
    assert digest is not None
    assert digest[:40] in cover.replace("\n", "")
    assert built.signer.fingerprint[:32] in cover.replace("\n", "")


def test_page_count_headers_footers_and_landscape_tables(built: Built, reader: PdfReader, pages: list[str]) -> None:
    total = len(reader.pages)
    assert total == built.result.pages
    for number, text in enumerate(pages, start=1):
        assert f"Page {number} of {total}" in text
        if number > 1:
            assert "Evidence packet PKT-2026-11-20-0001" in text and "PCI DSS 4.0.1" in text
    orientation = {
        number: float(page.mediabox.width) > float(page.mediabox.height)
        for number, page in enumerate(reader.pages, start=1)
    }
    assert orientation[1] is False  # cover: portrait
    controls_page = next(n for n, text in enumerate(pages, start=1) if "Control by control" in text.splitlines())
    summary_page = next(n for n, text in enumerate(pages, start=1) if "Executive summary" in text.splitlines())
    assert orientation[summary_page] is False
    assert orientation[controls_page] is True


def test_outline_has_sections_and_control_families(reader: PdfReader) -> None:
    def flatten(items: list, depth: int = 1) -> list[tuple[int, str]]:  # type: ignore[type-arg]
        out: list[tuple[int, str]] = []
        for item in items:
            if isinstance(item, list):
                out.extend(flatten(item, depth + 1))
            else:
                out.append((depth, item.title))
        return out

    outline = flatten(reader.outline)
    top = [title for depth, title in outline if depth == 1]
    assert top == ["Cover", *SECTIONS]
    families = [title for depth, title in outline if depth == 2]
    assert "3 Protect stored account data" in families and "9 Restrict physical access" in families
    assert all(depth <= 2 for depth, _ in outline)


def test_no_raw_python_values_in_the_text(pages: list[str]) -> None:
    text = "\n".join(pages)
    leaks = ("OverallStatus.", "AutomatedResult.", "EvidenceState.", "Responsibility.", "FindingStatus.", "Automation.")
    for leak in (*leaks, "None", "datetime(", "{'", "[]"):
        assert leak not in text, leak


def test_controls_show_both_axes_the_item_ids_and_the_evidence_an_auditor_expects(pages: list[str]) -> None:
    start = next(n for n, text in enumerate(pages) if "Control by control" in text.splitlines())
    flat = " ".join(" ".join(text.split()) for text in pages[start:])
    assert "Automated: Checks pass; evidence: approved (approved item(s) 4)" in flat  # 8.4.2, met
    assert "evidence: submitted, awaiting review (submitted, awaiting review: 5; expired: 2)" in flat  # 12.1.1
    assert "Evidence an auditor expects: Information security policy, approved by management" in flat
    assert "Automated: Checks fail; evidence: not needed" in flat  # 3.5.1, automated


def test_the_executive_summary_counts_by_overall_status(pages: list[str]) -> None:
    summary = " ".join(next(text for text in pages if "Executive summary" in text.splitlines()).split())
    assert "1 are met and 1 are not met; 0 are excepted under approved risk acceptances; 1 need evidence" in summary
    assert "controls met" in summary and "controls needing evidence" in summary


def test_inherited_controls_show_the_aws_attestation_never_a_check(pages: list[str]) -> None:
    section = next(text for text in pages if "AWS-inherited controls" in text and "AWS Artifact" in text)
    flat = " ".join(section.split())
    assert "9.4.7" in flat and "AWS PCI DSS Attestation of Compliance" in flat
    assert "Nothing in this section is a check auditpack ran" in flat
    # AWS's role in the framework's own terms, and the optional customer statement on an inherited control
    assert "AWS's role in PCI DSS: AWS is a third-party service provider (TPSP)" in flat
    assert "Customer statement: No facility of ours holds media with account data" in flat
    assert "Not attested (optional" in flat


def test_gaps_name_operation_error_and_the_controls_left_unproven(pages: list[str]) -> None:
    section = next(text for text in pages if text.count("Evidence gaps") and "AccessDenied" in text)
    flat = section.replace("\n", " ")
    assert "s3:GetBucketEncryption" in flat and "AccessDenied" in flat and "3.5.1" in flat
    assert "ec2:DescribeInstances" in flat and "RequestLimitExceeded" in flat


def test_unowned_resources_are_listed_as_a_finding(pages: list[str]) -> None:
    section = next(text for text in pages if "Finding: resources without a named owner" in text)
    assert "arn:aws:s3:::bucket-005" in section
    assert "1 resource(s)" in section


def test_attachments_hold_manifest_findings_and_payloads(built: Built, reader: PdfReader) -> None:
    attachments = {name: data[0] for name, data in reader.attachments.items()}
    assert set(attachments) == {"manifest.json", "findings.csv", "evidence.ndjson"}
    manifest = json.loads(attachments["manifest.json"])
    store = EvidenceStore(make_engine(f"sqlite:///{built.directory / 'store.db'}"))
    records = list(store.iter_evidence(built.scenario.run.id))
    assert [e["sha256"] for e in manifest["evidence"]] == [r.sha256 for r in records]
    first = manifest["evidence"][0]
    assert first == {
        "sha256": records[0].sha256,
        "run_id": built.scenario.run.id,
        "account_id": records[0].account_id,
        "region": records[0].region,
        "service": records[0].service,
        "resource_type": records[0].resource_type,
        "resource_id": records[0].resource_id,
        "kind": records[0].kind,
        "observed_at": rfc3339(records[0].observed_at),
        "owner": records[0].owner,
    }
    assert manifest["runs"][0]["digest"] == built.scenario.run.digest
    assert len(manifest["gaps"]) == 2
    for name in ("findings.csv", "evidence.ndjson"):
        assert manifest["files"][name]["sha256"] == hashlib.sha256(attachments[name]).hexdigest()
    lines = attachments["evidence.ndjson"].splitlines()
    assert {hashlib.sha256(line).hexdigest() for line in lines} == {r.sha256 for r in records}
    assert store.payload_bytes(records[0].sha256) in lines
    rows = list(csv.DictReader(io.StringIO(attachments["findings.csv"].decode())))
    assert len(rows) == len(built.scenario.findings)
    failing = [row for row in rows if row["status"] == "fail"]
    assert failing and all(row["controls"] == "3.5.1" for row in failing)
    assert (
        failing[0]["evidence_sha256"] in manifest["evidence"][0]["sha256"] or len(failing[0]["evidence_sha256"]) == 64
    )


def test_pdfa_3b_metadata_fonts_and_associated_files(built: Built, reader: PdfReader) -> None:
    root = reader.trailer["/Root"]
    xmp = root["/Metadata"].get_object().get_data().decode()
    assert 'pdfaid:part="3"' in xmp and 'pdfaid:conformance="B"' in xmp
    assert "/OutputIntents" in root
    info = reader.trailer["/Info"].get_object()
    assert f'pdf:Producer="{info["/Producer"]}"' in xmp or f"<pdf:Producer>{info['/Producer']}</pdf:Producer>" in xmp
    assert info["/Title"] in xmp and info["/Creator"] in xmp
    af = [spec.get_object() for spec in root["/AF"]]
    assert sorted(spec["/F"] for spec in af) == ["evidence.ndjson", "findings.csv", "manifest.json"]
    for spec in af:
        assert spec["/AFRelationship"] == "/Data" and spec["/UF"] == spec["/F"] and spec["/Desc"]
        stream = spec["/EF"]["/F"].get_object()
        assert stream["/Subtype"].startswith("/") and "/ModDate" in stream["/Params"]
    fonts = subprocess.run(["pdffonts", str(built.result.pdf_path)], capture_output=True, text=True, check=True)
    rows = fonts.stdout.splitlines()[2:]
    assert rows and all(" yes yes yes " in row for row in rows), fonts.stdout


def test_pyhanko_validates_signature_intact_valid_trusted_timestamped(built: Built) -> None:
    with built.result.pdf_path.open("rb") as handle:
        signature = PdfFileReader(handle).embedded_signatures[0]
        assert signature.field_name == "AuditpackSignature"
        assert "Audit evidence packet" in signature.sig_object["/Reason"]
        assert signature.sig_object["/Location"] == "Example Health Ltd"
        status = validate_pdf_signature(signature, ValidationContext(trust_roots=_roots(built), allow_fetching=False))
        assert (status.intact, status.valid, status.trusted) == (True, True, True)
        assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE
        assert status.timestamp_validity is not None and status.timestamp_validity.trusted
        only_other_root = ValidationContext(trust_roots=_roots(built)[1:], allow_fetching=False)
        assert validate_pdf_signature(signature, only_other_root).trusted is False


def test_pdfsig_and_qpdf_accept_the_file(built: Built) -> None:
    pdfsig = subprocess.run(["pdfsig", str(built.result.pdf_path)], capture_output=True, text=True, check=False)
    assert "Signature Field Name: AuditpackSignature" in pdfsig.stdout
    assert "Signature Validation: Signature is Valid." in pdfsig.stdout
    assert "Total document signed" in pdfsig.stdout
    qpdf = subprocess.run(["qpdf", "--check", str(built.result.pdf_path)], capture_output=True, text=True, check=False)
    assert qpdf.returncode == 0, qpdf.stdout + qpdf.stderr
    assert "No syntax or stream encoding errors found" in qpdf.stdout


def test_verify_file_accepts_the_packet_and_reports_what_it_checked(built: Built) -> None:
    result = verify_file(built.result.pdf_path, trust=built.roots)
    assert result.ok, result.problems
    assert result.kind == "pdf" and result.packet_id == "PKT-2026-11-20-0001"
    assert set(result.files_checked) == {"manifest.json", "findings.csv", "evidence.ndjson"}
    assert result.evidence_checked == 19
    assert result.signer_fingerprint == built.signer.fingerprint == built.result.signer_fingerprint
    assert result.timestamp is not None and result.warnings == ()


def test_without_the_ca_the_packet_is_intact_but_not_trusted(built: Built) -> None:
    result = verify_file(built.result.pdf_path)
    assert (result.intact, result.valid, result.trusted, result.ok) == (True, True, False, False)
    assert any("no trust root was given" in problem for problem in result.problems)
    only_local = verify_file(built.result.pdf_path, trust=[built.local_ca])
    assert only_local.ok and any("time-stamping authority" in w for w in only_local.warnings)


def test_result_describes_the_written_files(built: Built) -> None:
    result = built.result
    assert hashlib.sha256(result.pdf_path.read_bytes()).hexdigest() == result.pdf_sha256
    assert result.pdf_size == result.pdf_path.stat().st_size
    assert result.bundle_path is not None and result.bundle_sha256 is not None
    assert hashlib.sha256(result.bundle_path.read_bytes()).hexdigest() == result.bundle_sha256
    assert result.self_signed and result.signer_identity == built.signer.identity
    leftovers = [p.name for p in Path(result.pdf_path.parent).iterdir() if p.name.startswith(".")]
    assert leftovers == []
