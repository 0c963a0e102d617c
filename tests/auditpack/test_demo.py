"""`auditpack demo` as a new user runs it (`python -m auditpack demo --out DIR`, twice, in a separate process with no
AWS credentials or AUDITPACK_* configuration): three packets and bundles that verify, a summary that matches the
database, a second run that extends the chain, and a planted secret that appears nowhere."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import sqlite3
import subprocess
import sys
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from auditpack.demo.customer_spec import load_customer_evidence
from auditpack.demo.spec import load_estate
from auditpack.settings import load_settings
from auditpack.wiring import framework_status, load_framework_catalogs, open_store
from evidence.db import make_engine
from evidence.store import EvidenceStore
from frameworks.render import status_to_dict
from migrations.schema import upgrade_schema
from reports.verify import verify_file

FRAMEWORKS = ("hipaa", "pci-dss", "soc2")
CANARY = load_estate().canary
ROW_LABELS = {
    "met": "met",
    "not_met": "not met (a check fails)",
    "excepted": "excepted (risk accepted)",
    "evidence_needed": "evidence needed (documents or attestations)",
    "incomplete": "incomplete (gap, error, stale)",
    "inherited": "inherited (AWS attestation)",
    "not_applicable": "not applicable",
    "evidence_needed_checks_pass": "of which automated checks pass",
    "gaps": "gaps",
}


@dataclass
class Demo:
    out: Path
    first: subprocess.CompletedProcess[str]  # the table summary
    first_manifests: dict[str, dict[str, Any]]  # framework -> manifest.json of the first run's packet
    second: subprocess.CompletedProcess[str]  # --format json

    @property
    def summary(self) -> dict[str, Any]:
        return json.loads(self.second.stdout)

    def store(self) -> EvidenceStore:
        return EvidenceStore(make_engine(f"sqlite:///{self.out / 'auditpack.db'}"))


def _environment() -> dict[str, str]:
    """No AWS credentials or configuration and no AUDITPACK_* settings: what a new user's shell has."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "AUDITPACK_", "MOTO_"))}
    return {**env, "COLUMNS": "160"}


def _demo(out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "auditpack", "demo", "--out", str(out), *args],
        env=_environment(),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def _manifest(pdf: Path) -> dict[str, Any]:
    return json.loads(PdfReader(pdf).attachments["manifest.json"][0])


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    out = tmp_path_factory.mktemp("demo") / "acme"
    first = _demo(out)
    assert first.returncode == 0, first.stderr
    manifests = {framework: _manifest(out / f"{framework}.pdf") for framework in FRAMEWORKS}
    second = _demo(out, "--format", "json")
    assert second.returncode == 0, second.stderr
    return Demo(out=out, first=first, first_manifests=manifests, second=second)


@pytest.fixture
def demo_env(demo: Demo, monkeypatch: pytest.MonkeyPatch) -> Demo:
    """The CLI pointed at the demo's store, as the demo's printed `export` line does."""
    monkeypatch.setenv("AUDITPACK_DATABASE_URL", f"sqlite:///{demo.out / 'auditpack.db'}")
    monkeypatch.setenv("AUDITPACK_DATA_DIR", str(demo.out / "data"))
    return demo


def test_the_three_packets_and_bundles_verify(demo_env: Demo, run_cli) -> None:  # type: ignore[no-untyped-def]
    out, ca = demo_env.out, demo_env.out / "data" / "signing" / "local-ca.pem"
    for framework in FRAMEWORKS:
        for path in (out / f"{framework}.pdf", out / f"{framework}-bundle.zip"):
            result = verify_file(path, trust=[ca])
            assert result.ok, (path, result.problems)
            assert result.trusted and result.covers_whole_file
            cli = run_cli("verify", str(path))
            assert cli.code == 0, cli
    # Signed with the demo's own local CA, and it says so
    assert all(fw["self_signed"] for fw in demo_env.summary["frameworks"].values())
    assert "local CA" in demo_env.first.stdout and "self-signed" in demo_env.first.stdout


def _printed_table(stdout: str) -> dict[str, dict[str, int]]:
    """framework -> row -> number, from the first run's Rich table."""
    header = next(line for line in stdout.splitlines() if re.search(r"hipaa\s*┃\s*pci-dss\s*┃\s*soc2", line))
    order = re.findall(r"(hipaa|pci-dss|soc2)", header)
    table: dict[str, dict[str, int]] = {framework: {} for framework in order}
    for key, label in ROW_LABELS.items():
        match = re.search(rf"│\s*{re.escape(label)}\s*│\s*(\d+)\s*│\s*(\d+)\s*│\s*(\d+)\s*│", stdout)
        assert match, f"row {label!r} not found in:\n{stdout}"
        for framework, value in zip(order, match.groups(), strict=True):
            table[framework][key] = int(value)
    return table


def _status(out: Path, framework: str, as_of: datetime) -> dict[str, Any]:
    settings = load_settings(database_url=f"sqlite:///{out / 'auditpack.db'}", data_dir=out / "data")
    store = open_store(settings, recover=False)
    catalog = load_framework_catalogs(settings).get(framework)
    try:
        return status_to_dict(framework_status(settings, store, catalog, as_of=as_of))
    finally:
        store.engine.dispose()


def _requirements_by_status(status: dict[str, Any]) -> tuple[Counter[str], int]:
    requirements = [c for c in status["controls"] if not c["heading"]]
    manual_pass = sum(1 for c in requirements if c["status"] == "evidence_needed" and c["automated"] == "pass")
    return Counter(c["status"] for c in requirements), manual_pass


def test_the_printed_summary_matches_the_database(demo_env: Demo, run_cli) -> None:  # type: ignore[no-untyped-def]
    store = demo_env.store()
    first_run, second_run = sorted(store.list_runs(), key=lambda run: run.id)

    # First run (table): the run line and every number of the table, against the store and the signed manifests.
    printed = re.search(r"evidence run (\d+): (\w+), (\d+) evidence items, (\d+) gaps", demo_env.first.stdout)
    assert printed, demo_env.first.stdout
    assert printed.groups() == (
        str(first_run.id),
        first_run.status,
        str(first_run.evidence_count),
        str(len(store.gaps(first_run.id))),
    )
    table = _printed_table(demo_env.first.stdout)
    for framework in FRAMEWORKS:
        manifest = demo_env.first_manifests[framework]
        assert [run["id"] for run in manifest["runs"]] == [first_run.id]
        assert manifest["runs"][0]["digest"] == first_run.digest
        assert table[framework]["gaps"] == len(manifest["gaps"]) == len(store.gaps(first_run.id))
        # The same evaluation recomputed from the store as `auditpack status` does, as of the first run's end
        status = _status(demo_env.out, framework, first_run.finished_at)
        assert [run["id"] for run in status["runs"]] == [first_run.id]
        by_status, manual_pass = _requirements_by_status(status)
        assert {k: table[framework][k] for k in status["summary"]["by_status"]} == status["summary"]["by_status"]
        assert status["summary"]["by_status"] == {k: by_status.get(k, 0) for k in status["summary"]["by_status"]}
        assert table[framework]["evidence_needed_checks_pass"] == manual_pass
        needed = [c["id"] for c in status["controls"] if not c["heading"] and c["status"] == "evidence_needed"]
        assert f"still need evidence: {', '.join(needed[:8])}" in " ".join(demo_env.first.stdout.split())
        requirement_ids = {c["id"] for c in status["controls"] if not c["heading"]}
        signed = Counter(c["status"] for c in manifest["controls"] if c["id"] in requirement_ids)
        assert {k: v for k, v in status["summary"]["by_status"].items() if v} == dict(signed)

    # Second run (JSON): the same comparisons, and the signed manifests agree with what was printed.
    summary = demo_env.summary
    assert summary["run"] == {
        "id": second_run.id,
        "status": second_run.status,
        "evidence": second_run.evidence_count,
        "gaps": len(store.gaps(second_run.id)),
        "digest": second_run.digest,
    }
    assert summary["runs_in_store"] == 2 and summary["store"]["intact"]
    for framework in FRAMEWORKS:
        shown = summary["frameworks"][framework]
        status = json.loads(run_cli("status", "--framework", framework, "--format", "json").stdout)
        assert [run["id"] for run in status["runs"]] == [second_run.id] == shown["runs"]
        by_status, manual_pass = _requirements_by_status(status)
        assert shown["controls"] == {k: by_status.get(k, 0) for k in shown["controls"]}
        assert shown["controls"] == status["summary"]["by_status"]
        assert shown["evidence_needed_checks_pass"] == manual_pass
        # Which requirements still need evidence: exactly those the status says, in catalog order.
        assert shown["evidence_needed"] == [
            c["id"] for c in status["controls"] if not c["heading"] and c["status"] == "evidence_needed"
        ]
        assert shown["gaps"] == status["summary"]["gaps"] == len(store.gaps(second_run.id))
        manifest = _manifest(Path(shown["pdf"]))
        assert manifest["packet_id"] == shown["packet_id"]
        requirement_ids = {c["id"] for c in status["controls"] if not c["heading"]}
        signed = Counter(c["status"] for c in manifest["controls"] if c["id"] in requirement_ids)
        assert {k: v for k, v in shown["controls"].items() if v} == dict(signed)
    store.engine.dispose()


def test_the_estate_is_mostly_compliant_with_the_planted_problems(demo_env: Demo, run_cli) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("findings", "--format", "json")
    assert result.code == 0, result
    findings = json.loads(result.stdout)
    statuses = Counter(f["status"] for f in findings)
    assert statuses["pass"] > 5 * statuses["fail"] > 0
    failing = {
        (f["check_id"], f["resource_id"].rsplit("/", 1)[-1].rsplit(":", 1)[-1])
        for f in findings
        if f["status"] == "fail"
    }
    for planted in (
        ("iam.user_mfa_enabled", "j.smith-contractor"),
        ("iam.access_keys_rotated", "billing-export"),
        ("rds.storage_encrypted", "staging-patient-records"),
        ("s3.public_access_blocked", "acme-prod-portal-assets"),
        ("cloudtrail.log_file_validation", "acme-staging-trail"),
        ("lambda.runtime_supported", "claims-export"),
        ("guardduty.enabled", "guardduty"),
        ("lambda.no_secrets_in_environment", "claims-export"),
        ("tagging.data_classification", "acme-staging-test-fixtures"),
        ("rds.log_exports_enabled", "staging-patient-records"),
        ("rds.snapshots_not_public", "staging-records-for-vendor"),
        ("s3.access_logging_on_classified", "acme-prod-eu-patient-documents"),
        ("s3.cmk_on_classified", "acme-prod-eu-patient-documents"),
        ("s3.log_bucket_lifecycle_expiry", "acme-staging-cloudtrail-logs"),
        ("dynamodb.cmk_on_classified", "portal-sessions"),
        ("iam.policies_attached_to_groups_and_roles", "etl-batch"),
        ("iam.no_privilege_escalation_actions", "StagingDeploy"),
        ("iam.human_access_through_identity_center", "root"),
    ):
        assert planted in failing, planted
    assert any(c == "secretsmanager.rotation_enabled" and r.startswith("clearinghouse-sftp-") for c, r in failing)
    assert {"ec2.ebs_volume_encrypted", "ec2.ebs_snapshots_encrypted", "ec2.ebs_snapshots_not_public"} <= {
        c for c, _ in failing
    }  # the staging disk and its public snapshot
    failed = [f for f in findings if f["status"] == "fail"]
    by_reason = {(f["check_id"], f["reason"]) for f in failed}
    assert ("ec2.sg_no_admin_ports_open", "ingress allows tcp 22 from 0.0.0.0/0") in by_reason
    assert ("elbv2.access_logs_enabled", "access logging is off") in by_reason  # the EU portal
    leak = "public zone publishes internal addresses: db.staging.acme-health.example. A 10.40.2.15"
    assert ("route53.no_private_addresses_in_public_zones", leak) in by_reason
    spoofable = "staging.acme-health.example's DMARC policy is p=none, which only reports: spoofed mail is delivered"
    assert ("route53.mail_domains_dmarc_enforced", spoofable) in by_reason
    [untriaged] = [f for f in failed if f["check_id"] == "securityhub.threat_findings_triaged"]
    assert untriaged["reason"].startswith("'Anomalous reads of acme-prod-patient-documents' (HIGH)")
    assert "has waited 11 days untriaged" in untriaged["reason"]
    assert any(c == "acm.certificate_not_expiring" and "staging.portal" in r for c, r in by_reason)
    assert [f["owner"] for f in failed if f["check_id"] == "ec2.imdsv2_required"] == [None]  # the unowned bastion
    # moto lacks SSM, Security Hub's standards, Artifact and Macie's findings: those checks are errors (gaps), never
    # passes
    sad = ("macie.no_full_track_data_stored", "macie.no_card_verification_codes_stored")
    for moto_gap in ("ssm.", "securityhub.standards_enabled", "artifact.hipaa_baa_accepted", *sad):
        assert {f["status"] for f in findings if f["check_id"].startswith(moto_gap)} <= {"error", "not_applicable"}
    # GuardDuty: the members' detectors are administered by management (their GuardDuty Organization's delegated
    # administrator); management's own, and any standalone one, rest on ListMembers, which moto lacks; findings
    # export rests on ListPublishingDestinations, which moto lacks too
    managed = Counter(f["status"] for f in findings if f["check_id"] == "guardduty.managed_by_organization")
    assert managed == {"pass": 3, "error": 2, "fail": 1}  # the fail: production's EU region has no detector
    exported = {f["status"] for f in findings if f["check_id"] == "guardduty.findings_exported"}
    assert exported == {"error", "fail"}  # fail: the region GuardDuty is not enabled in
    # Identity Center serves production and staging (their permission sets' roles), not management
    people = {
        f["resource_id"]: f["status"] for f in findings if f["check_id"] == "iam.human_access_through_identity_center"
    }
    assert sorted(people.values()) == ["fail", "pass", "pass"]
    # IAM evidence is fresh (the credential report's real generation time), so no finding is stale
    assert all(fw["stale"] == 0 for fw in demo_env.summary["frameworks"].values())


def test_the_packets_split_container_services_by_what_hosts_them(demo: Demo) -> None:
    # Production's ECS service runs on Fargate and its EKS pods on a managed node group, staging's EKS pods on a
    # Fargate profile: the responsibility matrix has a column for each, none for ECS or EKS with hosting unknown.
    status = _status(demo.out, "pci-dss", datetime.now(UTC))
    services = status["matrix"]["services"]
    assert {"ecs-fargate", "eks-ec2", "eks-fargate"} <= set(services) and not {"ecs", "eks"} & set(services)
    patching = next(c for c in status["controls"] if c["id"] == "6.3.3")["responsibility"]
    assert (patching["ecs-fargate"], patching["eks-fargate"], patching["eks-ec2"]) == ("shared", "shared", "customer")
    reader = PdfReader(demo.out / "pci-dss.pdf")
    matrix = next(t for page in reader.pages if "Shared responsibility matrix" in (t := page.extract_text()))
    assert "EKS on EC2" in matrix and "ECS on" in matrix


def test_a_second_run_extends_the_chain_and_replaces_the_packets(demo_env: Demo, run_cli) -> None:  # type: ignore[no-untyped-def]
    store = demo_env.store()
    first_run, second_run = sorted(store.list_runs(), key=lambda run: run.id)
    assert first_run.digest and second_run.previous_digest == first_run.digest
    # Seeded ids: the same estate both times
    assert {e.resource_id for e in store.iter_evidence(first_run.id)} == {
        e.resource_id for e in store.iter_evidence(second_run.id)
    }
    verified = run_cli("verify", "--store")
    assert verified.code == 0, verified
    assert "2 runs" in verified.stdout
    for framework in FRAMEWORKS:
        now = _manifest(demo_env.out / f"{framework}.pdf")
        assert now["packet_id"] != demo_env.first_manifests[framework]["packet_id"]
        assert [run["id"] for run in now["runs"]] == [second_run.id]
    assert sorted(p.name for p in demo_env.out.glob("*.pdf")) == [f"{f}.pdf" for f in sorted(FRAMEWORKS)]
    store.engine.dispose()


# -- customer evidence -------------------------------------------------------------------------------------------


def test_the_packets_rely_on_acme_customer_evidence_and_show_its_exceptions(demo: Demo) -> None:
    spec = load_customer_evidence(datetime.now(UTC))
    approved = {e.title for e in (*spec.documents, *spec.records, *spec.attestations) if e.review == "approve"}
    rejected = next(e for e in spec.documents if e.review != "approve")
    for framework in FRAMEWORKS:
        pdf = demo.out / f"{framework}.pdf"
        manifest, attachments = _manifest(pdf), PdfReader(pdf).attachments
        relied = manifest["customer_evidence"]
        assert len(relied) >= 10 and {item["title"] for item in relied} <= approved
        assert {item["kind"] for item in relied} == {"document", "record", "attestation"}
        for item in relied:  # every approved item is attached, and it is the content the store holds
            assert item["state"] == "approved" and item["approved_by"] == spec.reviewed_by != item["submitted_by"]
            (content,) = attachments[item["file"]]
            assert hashlib.sha256(content).hexdigest() == item["sha256"] and len(content) == item["size"]
            if item["kind"] == "document":
                assert content.startswith(b"%PDF-") and item["media_type"] == "application/pdf"
                assert item["title"] in " ".join(PdfReader(io.BytesIO(content)).pages[0].extract_text().split())
        assert [(i["title"], i["state"]) for i in manifest["customer_evidence_not_relied_on"]] == [
            (rejected.title, "rejected")
        ]
        exceptions = {e["scope"]["check_id"]: e for e in manifest["exceptions"]}
        assert exceptions["lambda.runtime_supported"]["state"] == "approved"
        assert exceptions["lambda.runtime_supported"]["scope"]["resource_ids"][0].endswith(":function:claims-export")
        assert exceptions["iam.access_keys_rotated"]["state"] == "expired"
        assert exceptions["iam.access_keys_rotated"]["flags"] == ["expired"]


def test_customer_evidence_meets_controls_and_the_expired_exception_fails_again(demo_env: Demo, run_cli) -> None:  # type: ignore[no-untyped-def]
    for framework in FRAMEWORKS:
        assert demo_env.summary["frameworks"][framework]["controls"]["met"] > 0, framework
    assert demo_env.summary["frameworks"]["pci-dss"]["controls"]["excepted"] >= 1  # 12.3.4: only the excepted runtime
    findings = json.loads(run_cli("findings", "--status", "fail", "--format", "json").stdout)
    failing = {(f["check_id"], f["resource_id"].rsplit("/", 1)[-1]) for f in findings}
    assert ("iam.access_keys_rotated", "billing-export") in failing  # its exception expired: it counts again


def test_a_second_run_submits_no_customer_evidence_twice(demo: Demo) -> None:
    spec = load_customer_evidence(datetime.now(UTC))
    entries = [*spec.documents, *spec.records, *spec.attestations]
    with sqlite3.connect(demo.out / "auditpack.db") as connection:
        titles = [title for (title,) in connection.execute("SELECT title FROM customer_items")]
        exceptions = connection.execute("SELECT count(*) FROM customer_exceptions").fetchone()[0]
    assert sorted(titles) == sorted(entry.title for entry in entries)
    assert exceptions == len(spec.exceptions) == 2
    assert demo.summary["seconds"]["customer evidence"] < 5  # nothing to render or submit the second time


# -- the planted secret ------------------------------------------------------------------------------------------


def _pdf_texts(data: bytes) -> Iterator[bytes]:
    """The PDF's bytes, every stream decompressed (attachments, object streams) and its rendered text."""
    yield data
    for stream in re.finditer(rb"stream\r?\n(.*?)endstream", data, re.S):
        try:
            yield zlib.decompressobj().decompress(stream.group(1))
        except zlib.error:
            continue  # not a Flate stream (images may use other filters): the raw bytes were searched
    text = subprocess.run(["pdftotext", "-", "-"], input=data, capture_output=True, check=True).stdout
    yield text


def _texts(data: bytes, seen: set[str]) -> Iterator[bytes]:
    """`data` and everything inside it; content already searched (a bundle's copy of a packet) is skipped."""
    digest = hashlib.sha256(data).hexdigest()
    if digest in seen:
        return
    seen.add(digest)
    yield data
    if data.startswith(b"%PDF"):
        yield from _pdf_texts(data)
    elif data.startswith(b"PK"):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for member in archive.namelist():
                yield from _texts(archive.read(member), seen)


def _database_texts(path: Path) -> Iterator[bytes]:
    with sqlite3.connect(path) as connection:
        for (data,) in connection.execute("SELECT data FROM blobs"):
            yield zlib.decompress(data)
        for line in connection.iterdump():
            yield line.encode()


def _where(needle: str, root: Path) -> list[str]:
    found, seen = [], set()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        if any(needle.encode() in text for text in _texts(path.read_bytes(), seen)):
            found.append(str(path.relative_to(root)))
        if path.suffix == ".db" and any(needle.encode() in text for text in _database_texts(path)):
            found.append(f"{path.relative_to(root)} (decompressed)")
    return found


def test_the_scanner_finds_a_secret_in_compressed_and_embedded_places(tmp_path: Path) -> None:
    secret = "scanner-self-test-secret-0042"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("evidence/evidence.ndjson", f'{{"x": "{secret}"}}\n' * 50)
    (tmp_path / "bundle.zip").write_bytes(buffer.getvalue())
    stream = zlib.compress(secret.encode() * 10)
    (tmp_path / "packet.pdf").write_bytes(b"%PDF-1.7\n1 0 obj\n<<>>\nstream\n" + stream + b"\nendstream\n%%EOF\n")
    (tmp_path / "plain.txt").write_text("nothing here")
    assert _where(secret, tmp_path) == ["bundle.zip", "packet.pdf"]


def test_the_planted_secret_appears_nowhere(demo: Demo) -> None:
    estate = load_estate()
    functions_planted = {f.name: f for f in estate.account("production").regions["us-east-1"].functions}
    assert functions_planted["claims-export"].environment["SFTP_PASSWORD"] == CANARY  # it was planted...
    store = demo.store()
    run = store.latest_run()
    assert run is not None
    functions = {
        e.resource_id.rsplit(":", 1)[-1]: e.payload for e in store.iter_evidence(run.id, kinds=["lambda.function"])
    }
    # ...read by the collectors (the variable is there) and redacted before it was stored
    assert functions["claims-export"]["Environment"]["Variables"]["SFTP_PASSWORD"] == "[redacted]"
    instances = [e.payload for e in store.iter_evidence(run.id, kinds=["ec2.instance"])]
    bastion_tags = [t for i in instances for t in i.get("Tags", []) if t["Key"] == "legacy_db_password"]
    assert bastion_tags and all(t["Value"] == "[redacted]" for t in bastion_tags)
    store.engine.dispose()

    assert _where(CANARY, demo.out) == []
    for output in (demo.first.stdout, demo.first.stderr, demo.second.stdout, demo.second.stderr):
        assert CANARY not in output


# -- without moto ------------------------------------------------------------------------------------------------


def test_without_moto_the_demo_says_how_to_install_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setitem(sys.modules, "moto", None)  # what `import moto` finds when it is not installed
    result = run_cli("demo", "--out", str(tmp_path / "demo"))
    assert result.code == 2, result
    assert "pip install 'auditpack[demo]'" in result.stderr
    assert not (tmp_path / "demo").exists()


def test_the_simulated_aws_sets_your_aws_environment_aside_and_restores_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from auditpack.demo.simulated import simulated_aws

    monkeypatch.setenv("AWS_PROFILE", "production-admin")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "https://example.invalid")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAREALKEY")
    monkeypatch.delenv("AWS_CONFIG_FILE", raising=False)
    with simulated_aws(seed=1, region="us-east-1") as session:
        assert "AWS_PROFILE" not in os.environ and "AWS_ENDPOINT_URL" not in os.environ
        assert os.environ["AWS_CONFIG_FILE"] == os.devnull
        assert session.client("sts").get_caller_identity()["Account"] == "123456789012"  # moto, not AWS
    assert os.environ["AWS_PROFILE"] == "production-admin"
    assert os.environ["AWS_ENDPOINT_URL"] == "https://example.invalid"
    assert os.environ["AWS_ACCESS_KEY_ID"] == "AKIAREALKEY"
    assert "AWS_CONFIG_FILE" not in os.environ


def test_the_demo_never_adds_its_estate_to_a_real_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli
) -> None:  # type: ignore[no-untyped-def]
    real = EvidenceStore(make_engine(f"sqlite:///{tmp_path / 'auditpack.db'}"))
    upgrade_schema(real.engine)
    run = real.start_run(trigger="cli", requested_by="alice@laptop", scope={})
    real.finish_run(run.id)
    result = run_cli("demo", "--out", str(tmp_path))
    assert result.code == 2, result
    assert "requested by alice@laptop" in result.stderr and "choose another --out" in result.stderr
    assert [r.id for r in real.list_runs()] == [run.id]
    assert {p.name for p in tmp_path.iterdir()} <= {"auditpack.db", "auditpack.db-wal", "auditpack.db-shm"}
    real.engine.dispose()
