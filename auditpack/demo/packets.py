"""The demo's second half: a signed packet and bundle per framework (the `auditpack packet` use case), built in
parallel processes, then every file and the evidence store verified."""

from __future__ import annotations

import multiprocessing
import os
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from auditpack.demo.collect import FRAMEWORKS, REQUESTED_BY, DemoPaths, settings_for
from auditpack.packets import Window, make_packet, signer_from_settings
from auditpack.wiring import open_store
from evidence.verification import StoreVerification, verify_store
from frameworks.results import AutomatedResult, OverallStatus
from reports.verify import PacketVerification, verify_file

# Largest first, so that the longest render starts at once and the two shorter ones share the other core.
BUILD_ORDER = ("pci-dss", "soc2", "hipaa")


@dataclass(frozen=True, slots=True)
class PacketJob:
    overrides: dict[str, object]
    framework: str
    as_of: datetime
    pdf: Path
    bundle: Path


@dataclass(frozen=True, slots=True)
class PacketOutcome:
    """What one framework's packet says and where it is (plain values: it crosses a process boundary)."""

    framework_id: str
    name: str
    version: str
    packet_id: str
    pdf: Path
    bundle: Path
    pdf_sha256: str
    bundle_sha256: str
    pages: int
    run_ids: tuple[int, ...]
    by_status: dict[str, int]
    evidence_needed_checks_pass: int  # controls waiting only for the customer's evidence: their checks pass
    evidence_needed: tuple[str, ...]  # the requirements still waiting for documents or attestations, in order
    gap_count: int
    stale_count: int
    signer: str
    self_signed: bool
    warnings: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Verified:
    packets: dict[str, tuple[PacketVerification, PacketVerification]]  # framework -> (PDF, bundle)
    store: StoreVerification

    @property
    def ok(self) -> bool:
        return self.store.intact and all(pdf.ok and bundle.ok for pdf, bundle in self.packets.values())


def build_packet(job: PacketJob) -> PacketOutcome:
    """One framework's packet and bundle (runs in a worker process; opens its own store)."""
    settings = settings_for(job.overrides)
    store = open_store(settings, recover=False)
    try:
        result, status = make_packet(
            settings,
            store,
            framework=job.framework,
            window=Window(until=job.as_of),
            out_pdf=job.pdf,
            out_bundle=job.bundle,
            packet_id=str(uuid.uuid4()),
            generated_by=REQUESTED_BY,
        )
    finally:
        store.engine.dispose()
    assert result.bundle_path is not None and result.bundle_sha256 is not None
    return PacketOutcome(
        framework_id=status.framework_id,
        name=status.name,
        version=status.version,
        packet_id=result.packet_id,
        pdf=result.pdf_path,
        bundle=result.bundle_path,
        pdf_sha256=result.pdf_sha256,
        bundle_sha256=result.bundle_sha256,
        pages=result.pages,
        run_ids=tuple(run.id for run in status.runs),
        by_status=dict(status.by_status),
        evidence_needed_checks_pass=sum(
            1
            for control in status.controls
            if not control.heading
            and control.status is OverallStatus.EVIDENCE_NEEDED
            and control.automated is AutomatedResult.PASS
        ),
        evidence_needed=tuple(
            control.control_id
            for control in status.controls
            if not control.heading and control.status is OverallStatus.EVIDENCE_NEEDED
        ),
        gap_count=status.gap_count,
        stale_count=status.stale_count,
        signer=result.signer_identity,
        self_signed=result.self_signed,
        warnings=tuple(status.warnings),
    )


def write_packets(
    overrides: dict[str, object],
    paths: DemoPaths,
    *,
    as_of: datetime,
    on_done: Callable[[PacketOutcome], None] | None = None,
    workers: int | None = None,
) -> list[PacketOutcome]:
    """Every framework's packet as of `as_of`, in parallel processes when there is more than one core. Files of
    an earlier demo run in the same directory are replaced (each is written beside its target, then renamed)."""
    settings = settings_for(overrides)
    signer_from_settings(settings)  # the local CA is generated once, here, before the workers load it
    jobs = [
        PacketJob(overrides, framework, as_of, paths.pdf(framework), paths.bundle(framework))
        for framework in BUILD_ORDER
    ]
    workers = workers if workers is not None else min(len(jobs), os.cpu_count() or 1)
    outcomes: dict[str, PacketOutcome] = {}
    if workers <= 1:
        for job in jobs:
            outcomes[job.framework] = build_packet(job)
            if on_done is not None:
                on_done(outcomes[job.framework])
    else:
        # spawn, not fork: the parent has threads (progress display, SQLAlchemy pool) that fork would copy mid-state.
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            futures: dict[Future[PacketOutcome], str] = {pool.submit(build_packet, job): job.framework for job in jobs}
            for future in as_completed(futures):
                outcome = future.result()
                outcomes[futures[future]] = outcome
                if on_done is not None:
                    on_done(outcome)
    return [outcomes[framework] for framework in FRAMEWORKS]


def verify_outputs(paths: DemoPaths, packets: Sequence[PacketOutcome], overrides: dict[str, object]) -> Verified:
    """Verify every PDF and bundle against the demo's local CA, and the whole evidence store's hash chain."""
    trust = [paths.ca_certificate]
    checked = {
        packet.framework_id: (verify_file(packet.pdf, trust=trust), verify_file(packet.bundle, trust=trust))
        for packet in packets
    }
    store = open_store(settings_for(overrides), recover=False)
    try:
        return Verified(packets=checked, store=verify_store(store.engine))
    finally:
        store.engine.dispose()
