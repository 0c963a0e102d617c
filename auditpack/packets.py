"""One packet use case for every caller (`auditpack packet`, the API's packet jobs, `auditpack demo`): resolve the
framework, the period and the account scope, evaluate stored evidence, sign with the configured signer, write."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING

from auditpack.drift import packet_changes
from auditpack.settings import Settings
from auditpack.wiring import framework_status, load_framework_catalog, period_operation, verified_findings_provider
from core.canonical import rfc3339
from core.errors import ConflictError, InputError
from evidence.checks.types import Finding
from evidence.customer.ledger import ledger_head as customer_ledger_head
from evidence.customer.service import customer_evidence
from evidence.findings import finding_set
from evidence.store import EvidenceStore
from frameworks.asof import end_of_day
from frameworks.results import FrameworkStatus

if TYPE_CHECKING:  # WeasyPrint and pyHanko load only when a packet is built, not for every CLI command
    from reports.packet import PacketResult
    from reports.signing import PacketSigner


class NoEvidenceError(ConflictError):
    """There is no usable run for the requested date or period: a packet would have nothing to show."""

    def __init__(self, window: Window) -> None:
        super().__init__(
            f"no complete or partial evidence run for {window.describe()}: there is nothing to put in a packet",
            hint="run `auditpack collect` first (or pick a later date)",
        )


@dataclass(frozen=True, slots=True)
class Window:
    """The moment a packet is as of, and the start of its period when it covers one."""

    until: datetime
    since: datetime | None = None

    @classmethod
    def of(cls, *, as_of: date | None = None, period: tuple[date, date] | None = None) -> Window:
        if as_of is not None and period is not None:
            raise InputError("give either an as-of date or a period (from, to), not both")
        if period is not None:
            start, end = period
            if start > end:
                raise InputError(f"the period starts {start.isoformat()}, after it ends {end.isoformat()}")
            return cls(until=end_of_day(end), since=datetime.combine(start, time.min, tzinfo=UTC))
        return cls(until=end_of_day(as_of) if as_of is not None else datetime.now(UTC))

    def has_evidence(self, store: EvidenceStore) -> bool:
        """Whether a usable run exists for this window (the run a packet would rest on), without evaluating."""
        if self.since is not None:
            return bool(store.usable_runs(since=self.since, until=self.until))
        return store.latest_run(as_of=self.until) is not None

    def describe(self) -> str:
        if self.since is not None:
            return f"the period {self.since.date().isoformat()} to {self.until.date().isoformat()}"
        if self.until.timetz() == time.max.replace(tzinfo=UTC):  # a day: its end
            return self.until.date().isoformat()
        return rfc3339(self.until)


def signer_from_settings(settings: Settings) -> PacketSigner:
    """The configured signer: a KMS key, a PKCS#12/PEM key, or (first use, demo) the local CA in the data dir."""
    from reports.signing import load_signer

    password = settings.signing_key_password.get_secret_value() if settings.signing_key_password else None
    return load_signer(
        key_path=settings.signing_key,
        cert_path=settings.signing_cert,
        chain_path=settings.signing_chain,
        password=password,
        kms_key_id=settings.signing_kms_key_id,
        kms_cert_path=settings.signing_kms_cert,
        data_dir=settings.data_dir,
    )


def make_packet(
    settings: Settings,
    store: EvidenceStore,
    *,
    framework: str,
    window: Window,
    accounts: Sequence[str] = (),
    out_pdf: Path,
    out_bundle: Path | None,
    packet_id: str,
    generated_by: str,
    signer: PacketSigner | None = None,
    captures: str | None = None,
) -> tuple[PacketResult, FrameworkStatus]:
    """Evaluate `framework` over `window` and `accounts` from stored evidence and write the signed packet.

    For a period, every capture in it is evaluated too (`captures`: all or daily, default the setting): the
    packet's "Operation over the period". Its statuses rest on each capture's stored findings (the newest run's
    re-derived just before, so both agree), whose digests the manifest records."""
    from reports.packet import build_packet
    from reports.signing import timestamper_for

    catalog = load_framework_catalog(settings, framework)
    findings: dict[int, list[Finding]] = {}
    verified = verified_findings_provider(settings)

    def findings_once(store: EvidenceStore, run_id: int) -> list[Finding]:
        # Re-derived from the hashed evidence, never read back as stored: a packet carries only verdicts that
        # the evidence it cites produces (altered stored findings refuse the packet).
        if run_id not in findings:
            findings[run_id] = verified(store, run_id)
        return findings[run_id]

    status = framework_status(
        settings,
        store,
        catalog,
        as_of=window.until,
        since=window.since,
        accounts=accounts,
        findings_for=findings_once,
    )
    if not status.runs:
        raise NoEvidenceError(window)
    run_id = status.runs[0].id
    operation = None
    if window.since is not None:
        operation = period_operation(
            settings, store, catalog, since=window.since, until=window.until, captures=captures, accounts=accounts
        )
    captured = [capture.run_id for capture in operation.history.captures] if operation is not None else []
    changes = None
    if window.since is not None:  # a period packet says what changed in it
        changes = packet_changes(
            settings,
            store,
            catalog,
            status,
            since=window.since,
            until=window.until,
            accounts=accounts,
            findings_for=findings_once,
        )
    scope = set(accounts)
    packet_findings = [f for f in findings_once(store, run_id) if not scope or f.account_id in scope]
    gaps = [g for g in store.gaps(run_id) if not scope or g.account_id in scope]
    result = build_packet(
        store=store,
        status=status,
        findings=packet_findings,
        gaps=gaps,
        signer=signer or signer_from_settings(settings),
        out_pdf=out_pdf,
        out_bundle=out_bundle,
        packet_id=packet_id,
        org_name=settings.org_name,
        generated_by=generated_by,
        period=(window.since, window.until) if window.since is not None else None,
        accounts=list(accounts) or None,
        timestamper=timestamper_for(settings.tsa_url),
        owner_tag_keys=settings.owner_tag_keys,
        store_state=store_state(store, sorted({run_id, *captured})),
        customer=customer_evidence(store.engine, as_of=window.until),
        operation=operation,
        changes=changes,
    )
    return result, status


def store_state(store: EvidenceStore, run_ids: Sequence[int]) -> dict[str, object]:
    """The chain head, the findings digest of each run a packet rests on and the customer ledger head, recorded in
    its manifest."""
    head = store.chain_head()
    ledger = customer_ledger_head(store.engine)
    findings: dict[str, str | None] = {}
    versions: dict[str, int | None] = {}
    for run_id in run_ids:
        recorded = finding_set(store, run_id)
        findings[str(run_id)] = recorded.digest if recorded is not None else None
        versions[str(run_id)] = recorded.canonical_version if recorded is not None else None
    # Each digest with the canonical version it was computed in (core.canonical: 1 legacy, 2 RFC 8785).
    return {
        "chain_head": (
            {"seq": head.chain_seq, "digest": head.digest, "canonical_version": head.canonical_version}
            if head is not None
            else None
        ),
        "findings": findings,
        "findings_canonical_versions": versions,
        "customer_ledger_head": (
            {"seq": ledger.seq, "digest": ledger.digest, "canonical_version": ledger.canonical_version}
            if ledger is not None
            else None
        ),
    }
