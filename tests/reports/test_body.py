"""The body stays bounded: failing resources and gaps are capped per control, the rest counted and pointed to."""

from __future__ import annotations

import io
import json
from pathlib import Path

from pypdf import PdfReader

from evidence.db import make_engine
from evidence.store import EvidenceStore
from migrations.schema import upgrade_schema
from reports import view
from reports.manifest import EVIDENCE_FIELDS, FOOTER, ManifestFormatError, entry_bytes, header_bytes, read_manifest
from reports.packet import build_packet
from reports.signing import load_signer
from tests.reports.builders import scenario


def test_failing_resources_are_capped_and_the_rest_counted(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    upgrade_schema(engine)
    store = EvidenceStore(engine)
    data = scenario(store, buckets=40)  # 10 failing buckets
    limits = view.Limits(failing_per_control=3)
    control = data.status.controls[0]
    shown = view.control_view(control, limits)
    assert len(shown["failing"]) == 3 and shown["failing_hidden"] == 7
    result = build_packet(
        store=store,
        status=data.status,
        findings=data.findings,
        gaps=data.gaps,
        signer=load_signer(data_dir=tmp_path / "data"),
        out_pdf=tmp_path / "packet.pdf",
        packet_id="PKT-BOUNDED",
        org_name="Example",
        generated_by="tests",
        limits=limits,
    )
    text = " ".join(" ".join(page.extract_text().split()) for page in PdfReader(result.pdf_path).pages)
    assert "and 7 more failing resource(s), listed in findings.csv" in text
    failing_arns = [f"arn:aws:s3:::bucket-{i:03d}" for i in range(0, 40, 4)]
    assert sum(arn in text for arn in failing_arns) == 3
    engine.dispose()


def test_gaps_are_mapped_to_the_controls_whose_checks_errored(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    upgrade_schema(engine)
    data = scenario(EvidenceStore(engine))
    groups, hidden = view.gap_groups(data.status, data.gaps, limit=10)
    by_operation = {g["operation"]: g for g in groups}
    assert hidden == 0
    assert (
        by_operation["GetBucketEncryption"]["controls"] == ["3.5.1"]
        and by_operation["GetBucketEncryption"]["confirmed"]
    )
    assert by_operation["DescribeInstances"]["controls"] == []  # no ec2 check in this framework status
    engine.dispose()


def test_manifest_round_trip_and_malformed_manifests() -> None:
    body = header_bytes({"packet_id": "x", "note": 'a "evidence":[ in a string'})
    body += b"".join(
        entry_bytes((f"{i:064x}", 1, "1", "r", "s", "t", "ü" * i, "k", "t", None, 2), i == 0) for i in range(500)
    )
    body += FOOTER
    header, entries = read_manifest(io.BytesIO(body), chunk_size=17)
    assert header["note"] == 'a "evidence":[ in a string'
    assert [e["resource_id"] for e in entries] == ["ü" * i for i in range(500)]
    assert json.loads(body)["packet_id"] == "x"
    for broken, message in (
        (body[:-4], "ends inside the evidence array"),
        (body.replace(b"},\n{", b"}\n{", 1), "expected ',' or ']'"),
        (body + b"trailing", "after the evidence array"),
        (body.replace(b"auditpack-manifest/1", b"other/9"), "expected 'auditpack-manifest/1'"),
    ):
        try:
            _, items = read_manifest(io.BytesIO(broken), chunk_size=64)
            list(items)
        except ManifestFormatError as exc:
            assert message in str(exc)
        else:
            raise AssertionError(f"no error for {message}")


def test_excepted_findings_are_listed_with_their_exception_and_evidence(tmp_path: Path) -> None:
    from dataclasses import replace
    from datetime import timedelta

    from frameworks.results import AutomatedResult, ExceptedFinding, OverallStatus
    from reports.render import environment

    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    upgrade_schema(engine)
    data = scenario(EvidenceStore(engine))
    control = data.status.controls[0]  # 3.5.1: 3 failing buckets
    verdict = control.checks[0]
    until = data.status.as_of + timedelta(days=20)
    waived = tuple(
        ExceptedFinding(f, 3, until, f"{f.reason}; excepted by exception 3 until {until:%Y-%m-%d %H:%M} UTC")
        for f in verdict.failing
    )
    excepted = replace(
        control,
        status=OverallStatus.EXCEPTED,
        automated=AutomatedResult.EXCEPTED,
        exceptions=(3,),
        failed=0,
        excepted=len(waived),
        checks=(replace(verdict, failing=(), failed=0, excepted=waived, status=AutomatedResult.EXCEPTED),),
    )
    shown = view.control_view(excepted, view.Limits(excepted_per_control=2))
    assert len(shown["excepted"]) == 2 and shown["excepted_hidden"] == 1 and shown["detail"]
    html = (
        environment()
        .get_template("_controls.html")
        .render(
            families=view.families(replace(data.status, controls=(excepted,)), view.Limits()),
            limits=view.Limits(),
            remediation=[],
        )
    )
    text = " ".join(html.split())
    assert "<em>Excepted under</em> exception(s) 3" in text
    assert text.count("Excepted (exception 3, until") == 3
    assert data.evidence[waived[0].finding.resource_id][:12] in text  # the excepted finding keeps its evidence
    engine.dispose()


def test_manifest_entries_are_the_standard_compact_json_of_their_fields() -> None:
    """Manifests written before orjson (and any JSON tool) agree byte for byte on an entry, whatever its text holds."""
    awkward = "".join(chr(i) for i in range(0x80)) + 'é\u2028\u2029\ufeff😀"\\/'
    values = (
        "a" * 64,
        7,
        "123456789012",
        "us-east-1",
        "s3",
        awkward,
        f"arn:{awkward}",
        "k",
        "2026-11-20T02:00:00Z",
        None,
        2,
    )
    standard = json.dumps(dict(zip(EVIDENCE_FIELDS, values, strict=True)), ensure_ascii=False, separators=(",", ":"))
    assert entry_bytes(values, True) == standard.encode("utf-8")
    assert entry_bytes(values, False) == b",\n" + standard.encode("utf-8")
