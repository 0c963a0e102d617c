"""Acme Health's customer evidence and exceptions, submitted and reviewed through `evidence.customer.service` as
two people would: the compliance officer submits, the CISO approves (or rejects one), and two risk acceptances
cover planted failing findings, one active and one that expired before the demo.

Everything is dated in the weeks before `now` (the data says how many days), so the history predates the
collection and a status or packet at any moment after it sees the same evidence. Idempotent: an item is known by
its kind and title and an exception by its check, resource and justification; a second demo run in the same
directory renders and submits nothing that is already there.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine

from auditpack.demo.customer_documents import document_pdfs, record_csv
from auditpack.demo.customer_spec import (
    AttestationSpec,
    CustomerEvidenceSpec,
    DocumentSpec,
    ExceptionSpec,
    RecordSpec,
    load_customer_evidence,
)
from auditpack.settings import Settings
from auditpack.wiring import customer_policy, stored_findings
from core.errors import InputError
from evidence.checks.types import Finding, FindingStatus
from evidence.customer import service
from evidence.customer.policy import Actor, CustomerPolicy, Role
from evidence.customer.types import CustomerItem, ItemKind
from evidence.store import EvidenceStore

ItemSpec = DocumentSpec | RecordSpec | AttestationSpec


@dataclass(slots=True)
class CustomerSeed:
    """What one demo run added (a second run in the same directory adds nothing)."""

    approved: list[int] = field(default_factory=list)
    rejected: list[int] = field(default_factory=list)
    exceptions: list[int] = field(default_factory=list)
    already_there: int = 0

    @property
    def added(self) -> int:
        return len(self.approved) + len(self.rejected) + len(self.exceptions)


def planned(now: datetime) -> int:
    """How many items and exceptions the demo has (for a progress bar)."""
    spec = load_customer_evidence(now)
    return len(spec.documents) + len(spec.records) + len(spec.attestations) + len(spec.exceptions)


def seed_customer_evidence(
    settings: Settings, store: EvidenceStore, *, now: datetime, on_step: Callable[[], None] | None = None
) -> CustomerSeed:
    """Submit, review and request everything in `customer_evidence.yaml` that the store does not hold yet."""
    spec = load_customer_evidence(now)
    seeding = _Seeding(store.engine, spec, customer_policy(settings), now)
    existing = service.customer_evidence(store.engine, as_of=now)
    known = {(item.kind, item.title) for item in existing.items}
    new_documents = [entry for entry in spec.documents if (ItemKind.DOCUMENT, entry.title) not in known]
    dated = [(entry, seeding.submitted_at(entry)) for entry in new_documents]
    seeding.pdfs = dict(zip(new_documents, document_pdfs(dated, approver=spec.reviewed_by), strict=True))
    for kind, entries in (
        (ItemKind.DOCUMENT, spec.documents),
        (ItemKind.RECORD, spec.records),
        (ItemKind.ATTESTATION, spec.attestations),
    ):
        for entry in entries:
            if (kind, entry.title) in known:
                seeding.result.already_there += 1
            else:
                seeding.item(entry)
            if on_step is not None:
                on_step()
    requested = {(e.check_id, e.resource_ids, e.justification) for e in existing.exceptions}
    findings = _failing(settings, store) if spec.exceptions else []
    for wanted in spec.exceptions:
        finding = _finding(findings, wanted)
        if (wanted.check, (finding.resource_id,), wanted.justification.strip()) in requested:
            seeding.result.already_there += 1
        else:
            seeding.exception(wanted, finding)
        if on_step is not None:
            on_step()
    return seeding.result


@dataclass(slots=True)
class _Seeding:
    engine: Engine
    spec: CustomerEvidenceSpec
    policy: CustomerPolicy
    now: datetime
    result: CustomerSeed = field(default_factory=CustomerSeed)
    pdfs: dict[DocumentSpec, bytes] = field(default_factory=dict)  # rendered in one go, before submitting

    @property
    def submitter(self) -> Actor:
        return Actor(self.spec.submitted_by, Role.OFFICER)

    @property
    def reviewer(self) -> Actor:
        return Actor(self.spec.reviewed_by, Role.OFFICER)

    def submitted_at(self, entry: ItemSpec) -> datetime:
        return self.now - timedelta(days=entry.submitted_days_ago)

    def item(self, entry: ItemSpec) -> None:
        at = self.submitted_at(entry)
        common = {
            "policy": self.policy,
            "actor": self.submitter,
            "title": entry.title,
            "controls": list(entry.controls),
            "owner": entry.owner,
            "valid_until": at + timedelta(days=entry.valid_days) if entry.valid_days else None,
            "now": at,
        }
        submitted: CustomerItem
        if isinstance(entry, DocumentSpec):
            stream = io.BytesIO(self.pdfs[entry])
            submitted = service.submit_document(self.engine, stream=stream, filename=entry.file, **common)
        elif isinstance(entry, RecordSpec):
            stream = io.BytesIO(record_csv(entry))
            submitted = service.submit_record(self.engine, url=entry.url, stream=stream, filename=entry.file, **common)
        else:
            submitted = service.submit_attestation(
                self.engine, statement=entry.statement, statement_by=entry.statement_by, **common
            )
        reviewed_at = at + timedelta(days=1)
        if entry.review == "approve":
            service.approve(self.engine, item_id=submitted.id, actor=self.reviewer, now=reviewed_at)
            self.result.approved.append(submitted.id)
        else:
            reason = entry.review.reject
            service.reject(self.engine, item_id=submitted.id, actor=self.reviewer, reason=reason, now=reviewed_at)
            self.result.rejected.append(submitted.id)

    def exception(self, wanted: ExceptionSpec, finding: Finding) -> None:
        requested_at = self.now - timedelta(days=wanted.requested_days_ago)
        requested = service.request_exception(
            self.engine,
            policy=self.policy,
            actor=self.submitter,
            justification=wanted.justification,
            compensating=wanted.compensating,
            expires_at=self.now + timedelta(days=wanted.expires_in_days),
            check_id=wanted.check,
            resource_ids=[finding.resource_id],
            now=requested_at,
        )
        reviewed_at = self.now - timedelta(days=wanted.reviewed_days_ago)
        service.approve_exception(self.engine, exception_id=requested.id, actor=self.reviewer, now=reviewed_at)
        self.result.exceptions.append(requested.id)


def _failing(settings: Settings, store: EvidenceStore) -> list[Finding]:
    run = store.latest_run()
    if run is None:
        return []
    findings = stored_findings(settings)(store, run.id)
    return [finding for finding in findings if finding.status == FindingStatus.FAIL]


def _finding(findings: list[Finding], wanted: ExceptionSpec) -> Finding:
    """The failing finding an exception covers: its resource id (an ARN with the seeded account id) comes from
    the collection, not the data file, so the exception matches what the checks report."""
    for finding in findings:
        tail = finding.resource_id.rsplit("/", 1)[-1].rsplit(":", 1)[-1]
        if finding.check_id == wanted.check and tail == wanted.resource:
            return finding
    raise InputError(
        f"demo exception for {wanted.check} on {wanted.resource}: no such failing finding in the latest run",
        hint="the planted problem in auditpack/demo/estate.yaml and customer_evidence.yaml must agree",
    )
