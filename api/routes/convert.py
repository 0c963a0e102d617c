"""ORM rows to response models, where a row does not map field for field.

Two rules of what a caller is shown live here, once: error texts never carry server paths (`api.redact`), and an
auditor sees no operator detail: who requested a packet or run, and which job built it, are null for auditors."""

from __future__ import annotations

from api.models import Job, Packet
from api.principal import Principal
from api.redact import without_paths
from api.schemas.packets import FileOut, PacketOut, PeriodOut, SignerOut
from api.schemas.runs import GapOut, JobOut, RunDetail, RunOut
from api.services.runs import RunView


def job_out(job: Job) -> JobOut:
    out = JobOut.model_validate(job)
    run_id = (job.result or {}).get("run_id")
    packet_id = (job.payload or {}).get("packet_id")
    return out.model_copy(
        update={
            "error": without_paths(job.error),
            "run_id": int(run_id) if run_id is not None else None,
            "packet_id": str(packet_id) if packet_id else None,
        }
    )


def packet_out(packet: Packet, principal: Principal) -> PacketOut:
    base = f"/v1/packets/{packet.id}"
    ready = packet.status == "ready"
    pdf = bundle = None
    if ready and packet.pdf_sha256 and packet.pdf_size is not None:
        pdf = FileOut(sha256=packet.pdf_sha256, size=packet.pdf_size, url=f"{base}/pdf")
    if ready and packet.bundle_sha256 and packet.bundle_size is not None:
        bundle = FileOut(sha256=packet.bundle_sha256, size=packet.bundle_size, url=f"{base}/bundle")
    period = None
    if packet.period_from and packet.period_to:
        period = PeriodOut(from_=packet.period_from, to=packet.period_to)
    signer = None
    if ready and (packet.signer_fingerprint or packet.signer_identity):
        signer = SignerOut(
            fingerprint=packet.signer_fingerprint, identity=packet.signer_identity, self_signed=packet.self_signed
        )
    return PacketOut(
        id=packet.id,
        framework=packet.framework,
        as_of=packet.as_of,
        period=period,
        scope={"accounts": list((packet.scope or {}).get("accounts") or [])},
        requested_by=None if principal.is_auditor else packet.requested_by,
        status=packet.status,
        error=without_paths(packet.error),
        job_id=None if principal.is_auditor else packet.job_id,
        run_ids=list(packet.run_ids or []),
        pdf=pdf,
        bundle=bundle,
        pages=packet.pages,
        signer=signer,
        created_at=packet.created_at,
        finished_at=packet.finished_at,
    )


def run_out(view: RunView, principal: Principal) -> RunOut:
    run = view.run
    return RunOut(
        id=run.id,
        trigger=run.trigger,
        requested_by=None if principal.is_auditor else run.requested_by,
        scope=view.scope,
        status=run.status,
        started_at=run.started_at,
        finished_at=run.finished_at,
        evidence_count=view.evidence_count,
        gap_count=view.gap_count,
        error=None if principal.is_auditor else without_paths(run.error),
        digest=run.digest,
        previous_digest=run.previous_digest,
    )


def run_detail(view: RunView, principal: Principal) -> RunDetail:
    return RunDetail(
        **run_out(view, principal).model_dump(),
        gaps=[GapOut.model_validate(gap) for gap in view.gaps],
        gaps_truncated=view.gaps_truncated,
    )
