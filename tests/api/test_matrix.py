"""Every registered route against every kind of caller: the status each must get.

Callers: admin, officer, an auditor with a grant, an auditor without one, and expired, revoked, malformed and
missing tokens. Rules: bad credentials get 401 (with WWW-Authenticate) everywhere but the probes; admin may do
everything; officers everything but token management and retracting another's evidence (403); auditors see their
granted packet, its evidence and runs, the customer evidence items and exceptions it lists, and filtered lists;
everything else is 404 to them.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from api.executors import CollectRequest
from api.models import Job, JobKind, JobStatus, Packet, Role
from api.services import grants, jobs, tokens
from auditpack.api_sources import CatalogFrameworks, StoredFindings
from auditpack.settings import load_settings
from auditpack.wiring import customer_policy, load_framework_catalogs
from core.clock import utcnow
from evidence.customer import service
from evidence.customer.policy import Actor
from evidence.customer.policy import Role as CustomerRole
from evidence.db import session_factory
from evidence.models import Evidence
from evidence.store import EvidenceStore
from tests.api.conftest import auth, issue, request_ready_packet
from tests.api.customer import PDF
from tests.api.executors import SigningBuilder, StoreCollector

UPLOAD = [
    ("kind", (None, "document")),
    ("title", (None, "Access control policy")),
    ("controls", (None, "soc2:CC6.1")),
    ("owner", (None, "CISO")),
    ("file", ("policy.pdf", PDF, "application/pdf")),
]
EXCEPTION = {
    "check_id": "s3.default_encryption",
    "justification": "Vendor appliance cannot encrypt until its Q3 replacement.",
    "compensating": "Private bucket behind a VPC endpoint.",
    "expires_at": (utcnow() + timedelta(days=30)).date().isoformat(),
}
_TODAY = utcnow().date().isoformat()
_MONTH_AGO = (utcnow().date() - timedelta(days=30)).isoformat()
CALLERS = ("admin", "officer", "auditor_granted", "auditor_ungranted", "expired", "revoked", "malformed", "none")
BAD = {"expired", "revoked", "malformed", "none"}

# (method, path template, json body, success status, who may: public | list | packet | officer | admin)
ROUTES: list[tuple[str, str, dict | None, int, str]] = [
    ("GET", "/healthz", None, 200, "public"),
    ("GET", "/readyz", None, 200, "public"),
    ("GET", "/metrics", None, 200, "officer"),
    ("POST", "/v1/tokens", {"role": "officer", "expires": "1d"}, 201, "admin"),
    ("GET", "/v1/tokens", None, 200, "admin"),
    ("DELETE", "/v1/tokens/{spare_token}", None, 200, "admin"),
    ("POST", "/v1/runs", {"regions": ["us-east-1"]}, 202, "officer"),
    ("GET", "/v1/runs", None, 200, "list"),
    ("GET", "/v1/runs/{run_a}", None, 200, "packet"),
    ("GET", "/v1/runs/{run_b}", None, 200, "officer"),
    ("GET", "/v1/runs/{run_b}/diff?against={run_a}", None, 200, "officer"),
    ("GET", "/v1/runs/{run_b}/diff/controls?against={run_a}&framework=hipaa", None, 200, "officer"),
    ("GET", "/v1/jobs", None, 200, "officer"),
    ("GET", "/v1/jobs/{job}", None, 200, "officer"),
    ("POST", "/v1/jobs/{failed_job}/retry", None, 202, "officer"),
    ("GET", "/v1/evidence", None, 200, "list"),
    ("GET", "/v1/evidence/{sha_a}", None, 200, "packet"),
    ("GET", "/v1/evidence/{sha_b}", None, 200, "officer"),
    ("POST", "/v1/packets", {"framework": "soc2"}, 202, "officer"),
    ("GET", "/v1/packets", None, 200, "list"),
    ("GET", "/v1/packets/{packet}", None, 200, "packet"),
    ("GET", "/v1/packets/{other_packet}", None, 200, "officer"),
    ("GET", "/v1/packets/{packet}/pdf", None, 200, "packet"),
    ("GET", "/v1/packets/{packet}/bundle", None, 200, "packet"),
    ("GET", "/v1/packets/{packet}/oscal/poam", None, 200, "packet"),
    ("GET", "/v1/packets/{packet}/verify", None, 200, "packet"),
    ("POST", "/v1/packets/{packet}/grants", {"expires_in_days": 1}, 201, "officer"),
    ("GET", "/v1/packets/{packet}/grants", None, 200, "officer"),
    ("DELETE", "/v1/grants/{spare_grant}", None, 204, "officer"),
    ("GET", "/v1/packets/{packet}/access-log", None, 200, "officer"),
    ("GET", "/v1/access-log/export", None, 200, "officer"),
    ("GET", "/v1/access-log/verify", None, 200, "officer"),
    ("GET", "/v1/findings", None, 200, "officer"),
    ("GET", "/v1/frameworks", None, 200, "officer"),
    ("GET", "/v1/frameworks/hipaa/controls", None, 200, "officer"),
    ("GET", "/v1/frameworks/hipaa/status", None, 200, "officer"),
    ("GET", f"/v1/frameworks/hipaa/history?from={_MONTH_AGO}&to={_TODAY}", None, 200, "officer"),
    ("POST", "/v1/evidence-items", {"files": UPLOAD}, 201, "officer"),
    ("GET", "/v1/evidence-items", None, 200, "list"),
    ("GET", "/v1/evidence-items/{item_a}", None, 200, "packet"),
    ("GET", "/v1/evidence-items/{item_b}", None, 200, "officer"),
    ("GET", "/v1/evidence-items/{item_a}/content", None, 200, "packet"),
    ("GET", "/v1/evidence-items/{item_b}/content", None, 200, "officer"),
    ("POST", "/v1/evidence-items/{item_approve}/approve", None, 200, "officer"),
    ("POST", "/v1/evidence-items/{item_reject}/reject", {"reason": "unsigned"}, 200, "officer"),
    # Retracting another's submission is for admins: an officer who did not submit it gets 403.
    ("POST", "/v1/evidence-items/{item_retract}/retract", {"reason": "outdated"}, 200, "admin"),
    ("POST", "/v1/exceptions", EXCEPTION, 201, "officer"),
    ("GET", "/v1/exceptions", None, 200, "list"),
    ("GET", "/v1/exceptions/{exception_a}", None, 200, "packet"),
    ("GET", "/v1/exceptions/{exception_b}", None, 200, "officer"),
    ("POST", "/v1/exceptions/{exception_approve}/approve", None, 200, "officer"),
    ("POST", "/v1/exceptions/{exception_reject}/reject", {"reason": "no"}, 200, "officer"),
    ("POST", "/v1/exceptions/{exception_revoke}/revoke", {"reason": "fixed"}, 200, "officer"),
]
# Review routes change what they act on: each caller gets its own fresh item or exception.
PER_CALLER = (
    "item_approve",
    "item_reject",
    "item_retract",
    "exception_approve",
    "exception_reject",
    "exception_revoke",
)


def expected(caller: str, access: str, success: int) -> int:
    if access == "public":
        return success
    if caller in BAD:
        return 401
    if caller == "admin":
        return success
    if caller == "officer":
        return 403 if access == "admin" else success
    if access == "list" or (access == "packet" and caller == "auditor_granted"):
        return success
    return 404


@dataclass
class World:
    secrets: dict[str, str | None]
    ids: dict[str, str]
    failed_jobs: dict[str, str]
    per_caller: dict[str, dict[str, str]]


def _customer_world(engine: Engine, packet_id: str) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """Items and exceptions by a submitter none of the callers is: `_a` listed by the granted packet, `_b` not,
    and one fresh item and exception per caller for each review route."""
    submitter = Actor("officer token 99 (submitter)", CustomerRole.OFFICER)
    policy = customer_policy(load_settings())

    def item(title: str) -> str:
        stored = service.submit_document(
            engine,
            policy=policy,
            actor=submitter,
            stream=io.BytesIO(PDF),
            title=title,
            controls=["soc2:CC6.1"],
            owner="CISO",
            filename="policy.pdf",
        )
        return str(stored.id)

    def exception() -> str:
        stored = service.request_exception(
            engine,
            policy=policy,
            actor=submitter,
            justification=EXCEPTION["justification"],
            compensating=EXCEPTION["compensating"],
            expires_at=utcnow() + timedelta(days=30),
            check_id=EXCEPTION["check_id"],
        )
        return str(stored.id)

    ids = {
        "item_a": item("Listed"),
        "item_b": item("Not listed"),
        "exception_a": exception(),
        "exception_b": exception(),
    }
    with session_factory(engine).begin() as session:
        packet = session.get(Packet, packet_id)
        packet.customer_item_ids = [int(ids["item_a"])]
        packet.exception_ids = [int(ids["exception_a"])]
    per_caller = {
        caller: {name: item(name) if name.startswith("item") else exception() for name in PER_CALLER}
        for caller in CALLERS
    }
    return ids, per_caller


def _build_world(client: TestClient, engine: Engine, builder: SigningBuilder, collector: StoreCollector) -> World:
    _admin_id, admin = issue(engine, Role.ADMIN)
    run_a = collector(CollectRequest(), "test", trigger="cli")
    run_b = collector(CollectRequest(), "test", trigger="cli")
    builder.run_ids = (run_a,)
    builder.oscal = {"poam": b'{"plan-of-action-and-milestones": {}}'}  # the bundle carries an OSCAL document
    packet = request_ready_packet(client, admin, as_of="2026-01-01")
    builder.run_ids = (run_b,)
    other = request_ready_packet(client, admin, as_of="2026-01-02")
    sessions = session_factory(engine)
    now = utcnow()
    with sessions() as session:
        sha_a = session.scalars(select(Evidence.sha256).where(Evidence.run_id == run_a)).first()
        sha_b = session.scalars(select(Evidence.sha256).where(Evidence.run_id == run_b)).first()
        granted = grants.create_grant(
            session, packet_id=packet["id"], lifetime=timedelta(days=3), note="auditor", created_by="test", now=now
        )
        spare_grant = grants.create_grant(
            session, packet_id=packet["id"], lifetime=timedelta(days=3), note="spare", created_by="test", now=now
        )
        ungranted = tokens.create_token(
            session, role=Role.AUDITOR, created_by="test", now=now, lifetime=timedelta(days=3)
        )
        expired = tokens.create_token(
            session, role=Role.OFFICER, created_by="test", now=now - timedelta(hours=2), lifetime=timedelta(hours=1)
        )
        revoked = tokens.create_token(
            session, role=Role.OFFICER, created_by="test", now=now, lifetime=timedelta(days=1)
        )
        tokens.revoke_token(session, token_id=revoked.token.id, now=now)
        spare_token = tokens.create_token(
            session, role=Role.OFFICER, created_by="test", now=now, lifetime=timedelta(days=1)
        )
        failed_jobs = {}  # one per caller: a retry queues the job, so a second retry would rightly be a 409
        for caller in CALLERS:
            failed, _ = jobs.enqueue(
                session, kind=JobKind.COLLECT, payload={"scope": {}, "requested_by": caller}, requested_by="t", now=now
            )
            job = session.get(Job, failed.id)
            job.status = JobStatus.FAILED.value
            job.error = "AccessDenied"
            session.commit()
            failed_jobs[caller] = str(failed.id)
    _officer_id, officer = issue(engine, Role.OFFICER)
    customer_ids, per_caller = _customer_world(engine, packet["id"])
    return World(
        secrets={
            "admin": admin,
            "officer": officer,
            "auditor_granted": granted.secret,
            "auditor_ungranted": ungranted.secret,
            "expired": expired.secret,
            "revoked": revoked.secret,
            "malformed": "ap_this-is-not-a-token",
            "none": None,
        },
        ids={
            "run_a": str(run_a),
            "run_b": str(run_b),
            "packet": packet["id"],
            "other_packet": other["id"],
            "sha_a": sha_a or "",
            "sha_b": sha_b or "",
            "spare_grant": str(spare_grant.grant.id),
            "spare_token": str(spare_token.token.id),
            "job": str(packet["job_id"]),
            **customer_ids,
        },
        failed_jobs=failed_jobs,
        per_caller=per_caller,
    )


@pytest.fixture
def matrix_app(make_app, store: EvidenceStore) -> FastAPI:  # type: ignore[no-untyped-def]
    """The findings and frameworks routes with the sources `auditpack serve` wires (stored findings, catalogs)."""
    settings = load_settings()
    catalogs = load_framework_catalogs(settings)
    return make_app(
        findings_source=StoredFindings(store),
        frameworks_source=CatalogFrameworks(settings, store, catalogs),
        customer_policy=customer_policy(settings, catalogs),
    )


def test_the_matrix_covers_every_registered_route(matrix_app: FastAPI) -> None:
    registered = {
        (method.upper(), path) for path, operations in matrix_app.openapi()["paths"].items() for method in operations
    }
    covered = set()
    for method, template, *_ in ROUTES:
        path = template.partition("?")[0]
        for name, pattern in (
            ("{spare_token}", "{token_id}"),
            ("{run_a}", "{run_id}"),
            ("{run_b}", "{run_id}"),
            ("{job}", "{job_id}"),
            ("{failed_job}", "{job_id}"),
            ("{sha_a}", "{sha256}"),
            ("{sha_b}", "{sha256}"),
            ("{packet}", "{packet_id}"),
            ("{other_packet}", "{packet_id}"),
            ("{spare_grant}", "{grant_id}"),
            ("/hipaa/", "/{framework_id}/"),
            ("/oscal/poam", "/oscal/{document}"),
            *((f"{{{name}}}", "{item_id}") for name in ("item_a", "item_b", *PER_CALLER[:3])),
            *((f"{{{name}}}", "{exception_id}") for name in ("exception_a", "exception_b", *PER_CALLER[3:])),
        ):
            path = path.replace(name, pattern)
        covered.add((method, path))
    assert registered == covered


def test_every_route_answers_each_caller_as_expected(
    matrix_app: FastAPI, engine: Engine, builder: SigningBuilder, collector: StoreCollector
) -> None:
    with TestClient(matrix_app) as client:
        world = _build_world(client, engine, builder, collector)
        mismatches = []
        for caller in CALLERS:
            secret = world.secrets[caller]
            headers = auth(secret) if secret else {}
            for method, template, body, success, access in ROUTES:
                path = template.format(**world.ids, **world.per_caller[caller], failed_job=world.failed_jobs[caller])
                sent = {"files": body["files"]} if body and "files" in body else {"json": body}
                response = client.request(method, path, headers=headers, **sent)
                want = expected(caller, access, success)
                where = f"{caller}: {method} {template}"
                if response.status_code != want:
                    mismatches.append(f"{where}: got {response.status_code}, want {want}: {response.text[:200]}")
                    continue
                if want >= 400:
                    assert response.json()["error"]["code"], where
                if want == 401:
                    assert response.headers["www-authenticate"].startswith('Bearer realm="auditpack"'), where
                assert response.headers["x-content-type-options"] == "nosniff", where
        assert mismatches == []
