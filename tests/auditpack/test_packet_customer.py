"""Customer evidence and exceptions in packets, end to end: submitted and reviewed through the service by two
people, built by `auditpack packet` over the collected store, checked with auditpack, pdfsig, qpdf, pdfdetach and
openssl, then tampered with."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pypdf import PdfReader, PdfWriter

from auditpack.settings import Settings
from auditpack.wiring import customer_policy
from evidence.customer import service
from evidence.customer.policy import Actor, CustomerPolicy, Role
from evidence.db import make_engine
from tests.scenario import Collected

ALICE = Actor("alice@example.com", Role.OFFICER)  # submits and requests
BOB = Actor("bob@example.com", Role.OFFICER)  # reviews
DAY = timedelta(days=1)
STATEMENT = (
    "Every workforce member with access to production completed security awareness training in 2026.\n"
    "Records are kept by HR for six years."
)
CSV = b"user,reviewed_by,decision\nalice,bob,keep\ncarol,bob,revoke\n"


def _pdf(text: str) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    writer.add_metadata({"/Title": text})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.fixture
def packet_env(collected: Collected, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    database = collected.copy_to(tmp_path / "estate.db")
    monkeypatch.setenv("AUDITPACK_DATABASE_URL", f"sqlite:///{database}")
    monkeypatch.setenv("AUDITPACK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("AUDITPACK_ORG_NAME", "Scenario Health")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@dataclass
class Seeded:
    ids: dict[str, int]
    bytes_of: dict[str, bytes]


def _document(engine, policy: CustomerPolicy, data: bytes, name: str, at: datetime, **extra):  # type: ignore[no-untyped-def]
    args = {"title": name, "controls": ["soc2:CC6.1"], "owner": "CISO", "filename": name, "now": at} | extra
    return service.submit_document(engine, policy=policy, actor=ALICE, stream=io.BytesIO(data), **args)


def _seed(now: datetime) -> Seeded:
    engine = make_engine(Settings().database_url)
    policy = customer_policy(Settings())
    data = {"policy": _pdf("Access control policy v3"), "procedure": b"Onboarding: request, approve, provision.\n"}
    ids: dict[str, int] = {}
    ids["policy"] = _document(engine, policy, data["policy"], "Access Control Policy (v3).pdf", now - 20 * DAY).id
    ids["procedure"] = _document(
        engine, policy, data["procedure"], "onboarding.txt", now - 20 * DAY, valid_until=now + 10 * DAY
    ).id
    ids["record"] = service.submit_record(
        engine,
        policy=policy,
        actor=ALICE,
        url="https://jira.example.com/browse/SEC-12",
        stream=io.BytesIO(CSV),
        filename="q4 access review.csv",
        title="Q4 access review",
        controls=["soc2:CC6.2"],
        owner="IT",
        now=now - 15 * DAY,
    ).id
    ids["attestation"] = service.submit_attestation(
        engine,
        policy=policy,
        actor=ALICE,
        statement=STATEMENT,
        statement_by="Dana Smith, Security Officer",
        title="Security awareness training 2026",
        controls=["soc2:CC6.1"],
        owner="HR",
        now=now - 15 * DAY,
    ).id
    ids["hipaa_only"] = _document(
        engine, policy, _pdf("BAA"), "baa.pdf", now - 15 * DAY, controls=["hipaa:164.308(a)(1)(ii)(A)"]
    ).id
    for key in ("policy", "procedure", "record", "attestation", "hipaa_only"):
        service.approve(engine, item_id=ids[key], actor=BOB, now=now - 10 * DAY)
    ids["rejected"] = _document(engine, policy, _pdf("Draft policy"), "draft.pdf", now - 5 * DAY).id
    reason = "draft, not the adopted version"
    service.reject(engine, item_id=ids["rejected"], actor=BOB, reason=reason, now=now - 4 * DAY)
    request = {
        "policy": policy,
        "actor": ALICE,
        "check_id": "iam.root_mfa_enabled",
        "justification": "Break-glass account pending hardware token delivery (ticket SEC-40).",
        "compensating": "Root credentials sealed in a safe; CloudTrail alarms.",
    }
    active = service.request_exception(engine, **request, expires_at=now + 60 * DAY, now=now - 5 * DAY)
    service.approve_exception(engine, exception_id=active.id, actor=BOB, now=now - 4 * DAY)
    expired = service.request_exception(engine, **request, expires_at=now - 10 * DAY, now=now - 60 * DAY)
    service.approve_exception(engine, exception_id=expired.id, actor=BOB, now=now - 59 * DAY)
    ids["active_exception"], ids["expired_exception"] = active.id, expired.id
    engine.dispose()
    data |= {"record": CSV, "attestation": STATEMENT.encode()}
    return Seeded(ids, data)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_a_packet_carries_reviewed_customer_evidence_and_exceptions(  # type: ignore[no-untyped-def]
    packet_env: Path, run_cli
) -> None:
    seeded = _seed(datetime.now(UTC))
    ids = seeded.ids
    result = run_cli("packet", "--framework", "soc2", "--out", "soc2.pdf", "--bundle", "soc2.zip", "--format", "json")
    assert result.code == 0, result
    pdf, bundle = packet_env / "soc2.pdf", packet_env / "soc2.zip"

    reader = PdfReader(pdf)
    manifest = json.loads(reader.attachments["manifest.json"][0])
    relied = {entry["id"]: entry for entry in manifest["customer_evidence"]}
    assert set(relied) == {ids[k] for k in ("policy", "procedure", "record", "attestation")}
    assert [(o["id"], o["state"], o["reason"]) for o in manifest["customer_evidence_not_relied_on"]] == [
        (ids["rejected"], "rejected", "draft, not the adopted version")
    ]
    policy = relied[ids["policy"]]
    assert (policy["submitted_by"], policy["approved_by"], policy["version"]) == (ALICE.name, BOB.name, 1)
    assert policy["controls"] == ["CC6.1"] and policy["state"] == "approved" and policy["flags"] == []
    assert policy["file"] == f"customer-evidence-{ids['policy']}-Access_Control_Policy_v3.pdf"
    assert policy["bundle_file"] == f"customer-evidence/{ids['policy']}-Access_Control_Policy_v3.pdf"
    assert relied[ids["procedure"]]["flags"] == ["expires_within_30_days"]
    assert relied[ids["record"]]["record_url"] == "https://jira.example.com/browse/SEC-12"
    assert relied[ids["attestation"]]["statement"] == STATEMENT
    exceptions = {entry["id"]: entry for entry in manifest["exceptions"]}
    assert exceptions[ids["active_exception"]]["state"] == "approved"
    assert exceptions[ids["active_exception"]]["approved_by"] == BOB.name
    assert exceptions[ids["active_exception"]]["scope"]["check_id"] == "iam.root_mfa_enabled"
    assert (exceptions[ids["expired_exception"]]["state"], exceptions[ids["expired_exception"]]["flags"]) == (
        "expired",
        ["expired"],
    )
    # Both axes of each control are signed too, with the items they rest on: CC6.1 is supported by the policy,
    # the procedure and the attestation, CC6.2 by the record.
    controls = {entry["id"]: entry for entry in manifest["controls"]}
    cc61, cc62 = controls["CC6.1"]["customer_evidence"], controls["CC6.2"]["customer_evidence"]
    assert cc61["state"] == "approved" and set(cc61["items"]) == {
        ids[k] for k in ("policy", "procedure", "attestation")
    }
    assert ids["rejected"] not in cc61["items"] + cc61["submitted"]
    assert cc62["state"] == "approved" and cc62["items"] == [ids["record"]]
    assert {entry["automated"] for entry in controls.values()} <= {
        "pass",
        "fail",
        "excepted",
        "incomplete",
        "not_applicable",
        "none",
    }

    # Every relied-on item's content is attached, hashes to its entry and to `files`; the rejected one is not.
    attachments = reader.attachments
    for key in ("policy", "procedure", "record", "attestation"):
        entry = relied[ids[key]]
        content = attachments[entry["file"]][0]
        assert content == seeded.bytes_of[key]
        assert _sha(content) == entry["sha256"] == manifest["files"][entry["file"]]["sha256"]
    assert not [name for name in attachments if name.startswith(f"customer-evidence-{ids['rejected']}-")]
    assert not [name for name in attachments if name.startswith(f"customer-evidence-{ids['hipaa_only']}-")]
    detached = packet_env / "detached"
    detached.mkdir()
    subprocess.run(["pdfdetach", "-saveall", "-o", str(detached), str(pdf)], check=True)
    for entry in relied.values():
        assert _sha((detached / entry["file"]).read_bytes()) == entry["sha256"]

    text = " ".join(" ".join(page.extract_text().split()) for page in reader.pages)
    assert "Customer evidence" in text and "Submitted but not relied on" in text and "Exceptions" in text
    assert " ".join(STATEMENT.split()) in text
    assert "expires within 30 days" in text and "Break-glass account pending hardware token" in text

    # The bundle holds the same files under customer-evidence/, listed and under the CMS signature.
    with zipfile.ZipFile(bundle) as zf:
        bundled = json.loads(zf.read("manifest.json"))
        for entry in relied.values():
            assert _sha(zf.read(entry["bundle_file"])) == entry["sha256"]
            assert bundled["bundle_files"][entry["bundle_file"]]["sha256"] == entry["sha256"]
        assert sorted(n for n in zf.namelist() if n.startswith("customer-evidence/")) == sorted(
            e["bundle_file"] for e in relied.values()
        )
        zf.extractall(packet_env / "unzipped")
    ca = packet_env / "data" / "signing" / "local-ca.pem"
    unzipped = packet_env / "unzipped"
    cms = subprocess.run(
        ["openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", str(unzipped / "manifest.json.p7s"),
         "-content", str(unzipped / "manifest.json"), "-CAfile", str(ca), "-purpose", "any", "-out", "/dev/null"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert cms.returncode == 0 and "Verification successful" in cms.stderr, cms.stderr

    pdfsig = subprocess.run(["pdfsig", str(pdf)], capture_output=True, text=True)
    assert "Signature is Valid" in pdfsig.stdout and "Total document signed" in pdfsig.stdout, pdfsig.stdout
    assert subprocess.run(["qpdf", "--check", str(pdf)], capture_output=True).returncode == 0
    assert run_cli("verify", str(pdf)).code == 0
    assert run_cli("verify", str(bundle)).code == 0

    # Tampering: a customer document swapped in a later update of the PDF, or in the bundle, is named.
    name = relied[ids["policy"]]["file"]
    swapped = _swap_attachment(pdf, name, _pdf("Lenient access policy"), packet_env / "swapped.pdf")
    failed = run_cli("verify", str(swapped))
    assert failed.code == 1 and f"{name}: sha256" in failed.stderr and "does not match manifest.json" in failed.stderr
    member = relied[ids["policy"]]["bundle_file"]
    rezipped = _rezip(bundle, packet_env / "swapped.zip", member, _pdf("Lenient access policy"))
    failed = run_cli("verify", str(rezipped))
    assert failed.code == 1 and f"{member}: sha256" in failed.stderr, failed


def _swap_attachment(source: Path, name: str, data: bytes, target: Path) -> Path:
    writer = IncrementalPdfFileWriter(io.BytesIO(source.read_bytes()))
    names = writer.root["/Names"]["/EmbeddedFiles"]["/Names"]
    index = [str(names[i]) for i in range(0, len(names), 2)].index(name) * 2
    spec_ref = names.raw_get(index + 1)
    fake = writer.add_object(generic.StreamObject(stream_data=data))
    spec_ref.get_object()["/EF"] = generic.DictionaryObject(
        {generic.NameObject("/F"): fake, generic.NameObject("/UF"): fake}
    )
    writer.mark_update(spec_ref)
    with target.open("wb") as out:
        writer.write(out)
    return target


def _rezip(source: Path, target: Path, member: str, data: bytes) -> Path:
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, data if info.filename == member else zin.read(info.filename))
    return target


def test_a_period_packet_includes_evidence_valid_during_part_of_the_period(  # type: ignore[no-untyped-def]
    packet_env: Path, collected: Collected, run_cli
) -> None:
    now = datetime.now(UTC)
    engine = make_engine(Settings().database_url)
    policy = customer_policy(Settings())
    lapsed = _document(engine, policy, b"Vendor list, Q3.\n", "q3.txt", now - 50 * DAY, valid_until=now - 20 * DAY)
    service.approve(engine, item_id=lapsed.id, actor=BOB, now=now - 49 * DAY)
    before = _document(engine, policy, b"Vendor list, Q2.\n", "q2.txt", now - 90 * DAY, valid_until=now - 70 * DAY)
    service.approve(engine, item_id=before.id, actor=BOB, now=now - 89 * DAY)
    v1 = _document(engine, policy, b"Password standard v1.\n", "passwords.txt", now - 45 * DAY)
    service.approve(engine, item_id=v1.id, actor=BOB, now=now - 44 * DAY)
    v2 = _document(engine, policy, b"Password standard v2.\n", "passwords.txt", now - 30 * DAY, supersedes=v1.id)
    service.approve(engine, item_id=v2.id, actor=BOB, now=now - 29 * DAY)
    engine.dispose()

    start, end = (now - 60 * DAY).date().isoformat(), collected.run.finished_at.date().isoformat()
    result = run_cli("packet", "--framework", "soc2", "--from", start, "--to", end, "--out", "q.pdf")
    assert result.code == 0, result
    reader = PdfReader("q.pdf")
    manifest = json.loads(reader.attachments["manifest.json"][0])
    relied = {entry["id"]: entry for entry in manifest["customer_evidence"]}
    assert set(relied) == {lapsed.id, v1.id, v2.id}  # `before` expired before the period began
    assert relied[lapsed.id]["flags"] == ["expired", "part_of_period"] and relied[lapsed.id]["state"] == "expired"
    assert relied[v1.id]["flags"] == ["retracted", "part_of_period"]
    assert relied[v1.id]["reason"] == f"superseded by item {v2.id}"
    assert (relied[v1.id]["version"], relied[v2.id]["version"]) == (1, 2)
    assert relied[v2.id]["flags"] == ["part_of_period"]
    assert reader.attachments[relied[lapsed.id]["file"]][0] == b"Vendor list, Q3.\n"
    assert run_cli("verify", "q.pdf").code == 0
