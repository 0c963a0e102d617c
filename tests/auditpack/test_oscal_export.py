"""`auditpack export oscal` on a demo-like store: the scenario estate collected once per session, plus customer
evidence reviewed by two people (a document per framework, a record, an attestation, a rejected draft) and an
approved exception for a failing finding. Every document of every framework validates with compliance-trestle (its
own CLI, in-process), references only what it defines, and says what the evaluation says."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from auditpack.oscal_export import OscalExport, export_oscal
from auditpack.packets import Window
from auditpack.settings import Settings, load_settings
from auditpack.wiring import customer_policy, open_store
from evidence.customer import service
from evidence.customer.policy import Actor, Role
from evidence.models import Evidence
from frameworks.results import OverallStatus, Responsibility
from reports.oscal import DOCUMENTS, NS, OSCAL_VERSION
from tests.scenario import Collected

FRAMEWORKS = ("hipaa", "pci-dss", "soc2")
ALICE = Actor("alice@example.com", Role.OFFICER)
BOB = Actor("bob@example.com", Role.OFFICER)
DAY = timedelta(days=1)
EXCEPTED_CHECK = "iam.root_mfa_enabled"
TRESTLE_DIRS = {  # trestle's workspace folder and file name per OSCAL model
    "catalog": ("catalogs", "catalog"),
    "ssp": ("system-security-plans", "system-security-plan"),
    "assessment-results": ("assessment-results", "assessment-results"),
    "poam": ("plan-of-action-and-milestones", "plan-of-action-and-milestones"),
}


@dataclass
class Exported:
    settings: Settings
    database: Path
    out: Path
    day: str  # the --as-of of every export
    results: dict[str, OscalExport]
    item_ids: dict[str, int]
    exception_id: int
    exception_expires: datetime
    member_account: str  # an account of the estate other than the management account

    def doc(self, framework: str, name: str) -> dict[str, Any]:
        root = DOCUMENTS[name].root
        return json.loads((self.out / framework / DOCUMENTS[name].filename).read_text("utf-8"))[root]


def _pdf(title: str) -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    writer.add_metadata({"/Title": title})
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def _seed(settings: Settings, now: datetime) -> tuple[dict[str, int], int, datetime]:
    store = open_store(settings, recover=False)
    engine, policy = store.engine, customer_policy(settings)
    common = {"policy": policy, "actor": ALICE, "owner": "CISO", "now": now - 20 * DAY}
    ids = {}
    for key, control in (
        ("hipaa_policy", "hipaa:164.308(a)(1)(ii)(A)"),
        ("pci_policy", "pci-dss:12.1.1"),
        ("soc2_policy", "soc2:CC6.1"),
    ):
        data = io.BytesIO(_pdf(key))
        item = service.submit_document(
            engine, stream=data, filename=f"{key}.pdf", title=key, controls=[control], **common
        )
        ids[key] = item.id
    ids["record"] = service.submit_record(
        engine,
        url="https://tickets.example.com/SEC-12",
        stream=io.BytesIO(b"user,decision\nalice,keep\n"),
        filename="access-review.csv",
        title="Q4 access review",
        controls=["soc2:CC6.2", "pci-dss:7.2.4"],
        **common,
    ).id
    ids["attestation"] = service.submit_attestation(
        engine,
        statement="Every workforce member completed security awareness training this year.",
        statement_by="Dana Smith, Security Officer",
        title="Security awareness training",
        controls=["hipaa:164.308(a)(5)(i)", "pci-dss:12.6.1", "soc2:CC1.4"],
        **common,
    ).id
    for item_id in ids.values():
        service.approve(engine, item_id=item_id, actor=BOB, now=now - 19 * DAY)
    ids["rejected"] = service.submit_document(
        engine, stream=io.BytesIO(_pdf("draft")), filename="draft.pdf", title="Draft", controls=["soc2:CC6.1"], **common
    ).id
    service.reject(engine, item_id=ids["rejected"], actor=BOB, reason="a draft", now=now - 18 * DAY)
    expires = now + 60 * DAY
    exception = service.request_exception(
        engine,
        policy=policy,
        actor=ALICE,
        check_id=EXCEPTED_CHECK,
        justification="Break-glass account pending hardware token delivery (ticket SEC-40).",
        compensating="Root credentials sealed in a safe; CloudTrail alarms on any root sign-in.",
        expires_at=expires,
        now=now - 5 * DAY,
    )
    service.approve_exception(engine, exception_id=exception.id, actor=BOB, now=now - 4 * DAY)
    store.engine.dispose()
    return ids, exception.id, expires


@pytest.fixture(scope="module")
def exported(collected: Collected, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Exported]:
    home = tmp_path_factory.mktemp("oscal")
    database = collected.copy_to(home / "store.db")
    settings = load_settings(database_url=f"sqlite:///{database}", data_dir=home / "data", org_name="Scenario Health")
    now = datetime.now(UTC)
    item_ids, exception_id, expires = _seed(settings, now)
    day = now.date()
    store = open_store(settings, recover=False)
    results = {
        framework: export_oscal(
            settings, store, framework=framework, window=Window.of(as_of=day), out_dir=home / "out" / framework
        )
        for framework in FRAMEWORKS
    }
    store.engine.dispose()
    yield Exported(
        settings,
        database,
        home / "out",
        day.isoformat(),
        results,
        item_ids,
        exception_id,
        expires,
        collected.estate.member_a,
    )


# -- validation ----------------------------------------------------------------------------------------------------


def _trestle(*args: str) -> int:
    from trestle.cli import Trestle  # compliance-trestle's command line, run in this process (it loads in seconds)

    return int(Trestle().run(list(args)))


def test_every_document_of_every_framework_validates_with_trestle(
    exported: Exported, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "workspace"
    root.mkdir()
    monkeypatch.chdir(root)
    assert _trestle("init") == 0
    for framework in FRAMEWORKS:
        for name, (folder, model) in TRESTLE_DIRS.items():
            target = root / folder / framework
            target.mkdir(parents=True)
            shutil.copyfile(exported.out / framework / DOCUMENTS[name].filename, target / f"{model}.json")
        # The SSP's baseline is `catalog.json` beside it: trestle resolves a relative path from the working directory.
        shutil.copyfile(
            exported.out / framework / "catalog.json", root / "system-security-plans" / framework / "catalog.json"
        )
    for framework in FRAMEWORKS:
        monkeypatch.chdir(root / "system-security-plans" / framework)
        for folder, model in TRESTLE_DIRS.values():
            path = f"{folder}/{framework}/{model}.json"
            capsys.readouterr()
            code = _trestle("validate", "-tr", str(root), "-f", path)
            said = capsys.readouterr()
            assert code == 0, f"{path}: trestle validate exited {code}:\n{said.out[-2000:]}{said.err[-2000:]}"
            assert f"VALID: Model {root / path} passed" in said.out
    # ...and trestle does reject a document that breaks the model (the check can fail)
    broken = json.loads((root / "assessment-results/soc2/assessment-results.json").read_text())
    broken["assessment-results"]["results"][0]["findings"][0]["target"]["status"]["state"] = "passed"
    (root / "assessment-results/soc2/assessment-results.json").write_text(json.dumps(broken))
    assert _trestle("validate", "-tr", str(root), "-f", "assessment-results/soc2/assessment-results.json") != 0


def _references(node: Any, found: dict[str, set[str]]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "uuid" and isinstance(value, str):
                found["defined"].add(value)
            elif key.endswith("-uuid") and isinstance(value, str):
                found["used"].add(value)
            elif key == "party-uuids":
                found["used"].update(value)
            elif key == "href" and isinstance(value, str) and value.startswith("#"):
                found["used"].add(value[1:])
            elif key == "role-id":
                found["roles"].add(value)
            _references(value, found)
    elif isinstance(node, list):
        for value in node:
            _references(value, found)


def test_every_reference_in_a_document_resolves_inside_it(exported: Exported) -> None:
    for framework in FRAMEWORKS:
        for name in DOCUMENTS:
            doc = exported.doc(framework, name)
            found: dict[str, set[str]] = {"defined": set(), "used": set(), "roles": set()}
            _references(doc, found)
            missing = found["used"] - found["defined"]
            assert not missing, f"{framework} {name}: {len(missing)} dangling references, e.g. {sorted(missing)[:3]}"
            assert found["roles"] <= {role["id"] for role in doc["metadata"]["roles"]}
            assert doc["metadata"]["oscal-version"] == OSCAL_VERSION


# -- what the documents say ---------------------------------------------------------------------------------------


def _props(node: dict[str, Any], name: str) -> list[str]:
    return [p["value"] for p in node.get("props", []) if p["name"] == name and p.get("ns") == NS]


def test_an_observation_per_evidence_item_with_its_subjects_and_payload_hash(exported: Exported) -> None:
    from sqlalchemy import select

    store = open_store(exported.settings, recover=False)
    run_id = exported.results["hipaa"].status.runs[0].id
    with store.sessions() as session:
        rows = session.execute(
            select(Evidence.id, Evidence.sha256, Evidence.observed_at, Evidence.resource_id, Evidence.account_id).where(
                Evidence.run_id == run_id
            )
        ).all()
    store.engine.dispose()
    result = exported.doc("hipaa", "assessment-results")["results"][0]
    resources = {r["uuid"]: r for r in exported.doc("hipaa", "assessment-results")["back-matter"]["resources"]}
    inventory = {i["uuid"]: i for i in result["local-definitions"]["inventory-items"]}
    tested = {int(_props(o, "evidence-id")[0]): o for o in result["observations"] if _props(o, "evidence-id")}
    assert sorted(tested) == sorted(row.id for row in rows)  # one per evidence item, no more
    for row in rows:
        observation = tested[row.id]
        assert observation["methods"] == ["TEST"]
        assert datetime.fromisoformat(observation["collected"]) == row.observed_at
        payload = resources[observation["relevant-evidence"][0]["href"][1:]]
        assert payload["rlinks"][0]["hashes"] == [{"algorithm": "SHA-256", "value": row.sha256}]
        subject = inventory[observation["subjects"][0]["subject-uuid"]]
        assert [p["value"] for p in subject["props"] if p["name"] == "asset-id"] == [row.resource_id]
        assert _props(subject, "account-id") == [row.account_id]
        assert [s["type"] for s in observation["subjects"]] == ["inventory-item", "component", "location"]


def test_customer_evidence_is_examined_or_interviewed_with_its_document_hash(exported: Exported) -> None:
    ids = exported.item_ids
    doc = exported.doc("pci-dss", "assessment-results")
    observations = {
        int(_props(o, "customer-item-id")[0]): o
        for o in doc["results"][0]["observations"]
        if _props(o, "customer-item-id")
    }
    # The PCI DSS packet relies on the PCI policy, the record and the attestation; never the rejected draft.
    assert set(observations) == {ids["pci_policy"], ids["record"], ids["attestation"]}
    assert observations[ids["pci_policy"]]["methods"] == ["EXAMINE"]
    assert observations[ids["record"]]["methods"] == ["EXAMINE"]
    assert observations[ids["attestation"]]["methods"] == ["INTERVIEW"]
    resources = {r["uuid"]: r for r in doc["back-matter"]["resources"]}
    policy = resources[observations[ids["pci_policy"]]["relevant-evidence"][0]["href"][1:]]
    assert policy["rlinks"][0]["hashes"][0]["value"] == hashlib.sha256(_pdf("pci_policy")).hexdigest()
    assert policy["rlinks"][0]["href"] == f"/v1/evidence-items/{ids['pci_policy']}/content"


def test_a_finding_per_requirement_with_the_overall_status_beside_the_target_status(exported: Exported) -> None:
    seen: dict[str, set[str]] = {}
    for framework in FRAMEWORKS:
        status = exported.results[framework].status
        requirements = {c.control_id: c for c in status.controls if not c.heading}
        result = exported.doc(framework, "assessment-results")["results"][0]
        findings = {_props(f, "control-id")[0]: f for f in result["findings"]}
        assert set(findings) == set(requirements)
        reviewed = result["reviewed-controls"]["control-selections"][0]["include-controls"]
        assert len(reviewed) == len(requirements)
        for control_id, control in requirements.items():
            finding = findings[control_id]
            assert _props(finding, "overall-status") == [control.status.value]
            satisfied = control.status in (OverallStatus.MET, OverallStatus.INHERITED, OverallStatus.NOT_APPLICABLE)
            state = finding["target"]["status"]["state"]
            assert state == ("satisfied" if satisfied else "not-satisfied")
            seen.setdefault(state, set()).add(control.status.value)
        counted = {s.value: sum(1 for c in requirements.values() if c.status is s) for s in OverallStatus}
        assert {k: v for k, v in counted.items() if v} == {k: v for k, v in status.by_status.items() if v}
    # the store shows both sides of the mapping
    assert seen["satisfied"] >= {"met", "inherited"}
    assert seen["not-satisfied"] >= {"not_met", "evidence_needed", "incomplete"}


def test_risks_are_failing_results_and_the_excepted_one_is_an_approved_deviation(exported: Exported) -> None:
    status = exported.results["pci-dss"].status
    failing = {
        (f.check_id, f.resource_id)
        for c in status.controls
        if not c.heading and c.in_scope
        for v in c.checks
        for f in (*v.failing, *(e.finding for e in v.excepted))
    }
    result = exported.doc("pci-dss", "assessment-results")["results"][0]
    risks = {(_props(r, "check-id")[0], _props(r, "resource-id")[0]): r for r in result["risks"]}
    assert set(risks) == failing and failing
    deviations = [key for key, risk in risks.items() if risk["status"] == "deviation-approved"]
    assert deviations and {check for check, _ in deviations} == {EXCEPTED_CHECK}
    assert all(risk["status"] == "open" for key, risk in risks.items() if key[0] != EXCEPTED_CHECK)
    deviation = risks[deviations[0]]
    assert datetime.fromisoformat(deviation["deadline"]) == exported.exception_expires
    assert "Root credentials sealed in a safe" in deviation["mitigating-factors"][0]["description"]
    assert [e["status-change"] for e in deviation["risk-log"]["entries"]] == [
        "deviation-requested",
        "deviation-approved",
    ]
    assert _props(deviation, "exception-id") == [str(exported.exception_id)]
    # the failing findings' controls point at their risks
    findings = {_props(f, "control-id")[0]: f for f in result["findings"]}
    for risk in risks.values():
        for control_id in _props(risk, "control-id"):
            assert {"risk-uuid": risk["uuid"]} in findings[control_id]["related-risks"]


def test_the_poam_has_an_item_per_open_control_and_failing_result(exported: Exported) -> None:
    status = exported.results["pci-dss"].status
    open_controls = {
        c.control_id
        for c in status.controls
        if not c.heading
        and c.status
        in (OverallStatus.NOT_MET, OverallStatus.EXCEPTED, OverallStatus.EVIDENCE_NEEDED, OverallStatus.INCOMPLETE)
    }
    poam = exported.doc("pci-dss", "poam")
    items = poam["poam-items"]
    per_control = {_props(i, "control-id")[0] for i in items if not _props(i, "check-id")}
    assert per_control == open_controls
    results = [i for i in items if _props(i, "check-id")]
    assert len(results) == len(exported.doc("pci-dss", "assessment-results")["results"][0]["risks"])
    excepted = [i for i in results if _props(i, "check-id") == [EXCEPTED_CHECK]]
    assert excepted and all(_props(i, "poam-status") == ["deviation-approved"] for i in excepted)
    assert all(
        datetime.fromisoformat(_props(i, "deviation-expires")[0]) == exported.exception_expires for i in excepted
    )
    assert all(_props(i, "owner") for i in results)  # every failing result names its owner (or "unassigned")
    assert all("CLI:" in i["remarks"] for i in results)  # and how to remediate it


def test_the_ssp_splits_each_control_per_aws_service_in_use(exported: Exported) -> None:
    status = exported.results["hipaa"].status
    ssp = exported.doc("hipaa", "ssp")
    components = ssp["system-implementation"]["components"]
    services = {_props(c, "service")[0]: c["uuid"] for c in components if c["type"] == "service"}
    assert set(services) == set(status.matrix.services) and services
    assert [c["type"] for c in components].count("this-system") == 1
    requirements = {c.control_id: c for c in status.controls if not c.heading}
    implemented = {_props(r, "control-id")[0]: r for r in ssp["control-implementation"]["implemented-requirements"]}
    assert set(implemented) == set(requirements)
    seen = set()
    for control_id, control in requirements.items():
        for by in implemented[control_id]["by-components"]:
            service = next(s for s, uuid in services.items() if uuid == by["component-uuid"])
            who = control.responsibility[service]
            seen.add(who)
            provided = {p["uuid"]: p for p in by["export"].get("provided", [])}
            responsibilities = {r["uuid"] for r in by["export"].get("responsibilities", [])}
            if who in (Responsibility.AWS, Responsibility.SHARED):
                (inherited,) = by["inherited"]
                assert inherited["provided-uuid"] in provided
                for attestation in control.aws_evidence:  # names the AWS attestation that covers AWS's part
                    assert attestation.name in provided[inherited["provided-uuid"]]["description"]
            else:
                assert "inherited" not in by and not provided
            if who in (Responsibility.SHARED, Responsibility.CUSTOMER):
                (satisfied,) = by["satisfied"]
                assert satisfied["responsibility-uuid"] in responsibilities
                assert _props(satisfied, "overall-status") == [control.status.value]
            else:
                assert "satisfied" not in by and not responsibilities
    assert seen == set(Responsibility)


# -- determinism and the command line -----------------------------------------------------------------------------


def test_the_same_export_twice_is_byte_identical(exported: Exported, run_cli, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("AUDITPACK_DATABASE_URL", exported.settings.database_url)
    monkeypatch.setenv("AUDITPACK_DATA_DIR", str(exported.settings.data_dir))
    monkeypatch.setenv("AUDITPACK_ORG_NAME", "Scenario Health")
    args = ("export", "oscal", "--framework", "soc2", "--as-of", exported.day, "--format", "json")
    first = run_cli(*args, "--out", str(tmp_path / "a"))
    assert first.code == 0, first
    assert run_cli(*args, "--out", str(tmp_path / "b")).code == 0
    summary = json.loads(first.stdout)
    assert summary["oscal_version"] == OSCAL_VERSION and set(summary["documents"]) == set(DOCUMENTS)
    for name, document in DOCUMENTS.items():
        ours = (tmp_path / "a" / document.filename).read_bytes()
        assert ours == (tmp_path / "b" / document.filename).read_bytes(), name
        assert ours == (exported.out / "soc2" / document.filename).read_bytes(), name  # the use case, the same
        assert hashlib.sha256(ours).hexdigest() == summary["documents"][name]["sha256"]
    # Another scope is another export: other UUIDs, and only that account's evidence
    scoped = run_cli(*args, "--account", exported.member_account, "--out", str(tmp_path / "c"))
    assert scoped.code == 0, scoped
    whole, part = (json.loads((tmp_path / d / "assessment-results.json").read_bytes()) for d in ("a", "c"))
    assert whole["assessment-results"]["uuid"] != part["assessment-results"]["uuid"]
    observations = part["assessment-results"]["results"][0]["observations"]
    accounts = {s["title"] for o in observations for s in o["subjects"] if s["type"] == "component"}
    assert accounts == {f"AWS account {exported.member_account}"}


def test_bad_input_is_refused_and_existing_documents_are_kept(
    exported: Exported, run_cli, tmp_path: Path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("AUDITPACK_DATABASE_URL", exported.settings.database_url)
    out = tmp_path / "out"
    out.mkdir()
    (out / "poam.json").write_text("mine")
    cases = [
        (("--framework", "nist"), "unknown framework"),
        (("--framework", "soc2", "--from", "2026-01-01"), "--from and --to go together"),
        (("--framework", "soc2", "--as-of", "2026-13-01"), "is not a date"),
        (("--framework", "soc2"), "already holds poam.json"),
    ]
    for args, message in cases:
        result = run_cli("export", "oscal", *args, "--out", str(out))
        assert result.code == 2, (args, result)
        assert message in " ".join(result.stderr.split()), (args, result.stderr)
    assert (out / "poam.json").read_text() == "mine" and sorted(p.name for p in out.iterdir()) == ["poam.json"]
    too_early = run_cli("export", "oscal", "--framework", "soc2", "--as-of", "2001-01-01", "--out", str(tmp_path / "e"))
    assert too_early.code == 2 and "no complete or partial evidence run for 2001-01-01" in too_early.stderr
