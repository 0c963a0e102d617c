"""Builds the objects every command needs from settings: the store (schema checked, runs recovered), the framework
catalogs, and the providers that turn a stored run into findings and service usage."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from auditpack.settings import Settings
from auditpack.thresholds import thresholds_from_settings
from evidence.blobstore import S3BlobStore, S3Location, attach
from evidence.checks.registry import check_ids
from evidence.checks.types import Finding, ServiceUsage
from evidence.customer.policy import CustomerPolicy
from evidence.customer.service import customer_evidence
from evidence.customer.types import CustomerEvidence, ItemKind
from evidence.db import make_engine
from evidence.findings import load_findings
from evidence.findings_check import ensure_findings, verified_findings
from evidence.inventory import service_usage
from evidence.store import EvidenceStore
from frameworks import expiring
from frameworks.asof import FindingsProvider, status_as_of
from frameworks.history import Captures, period_history
from frameworks.loader import Catalogs, load_catalog, load_catalogs
from frameworks.operation import PeriodOperation, operation
from frameworks.results import FrameworkStatus
from frameworks.schema import Catalog
from migrations.schema import ensure_schema


def open_store(settings: Settings, *, recover: bool = True) -> EvidenceStore:
    """Open the evidence store. A SQLite file is created/upgraded on first use; PostgreSQL needs `db upgrade`.

    Start-up recovery marks runs whose process died as interrupted, so none stays `running` forever.
    """
    engine = make_engine(settings.database_url, pool=settings.pool())
    ensure_schema(engine, auto_upgrade=settings.is_sqlite)
    if settings.blob_store:
        attach(engine, s3_blob_store(settings))
    store = EvidenceStore(engine)
    if recover:
        store.recover_interrupted()
    return store


def s3_blob_store(settings: Settings) -> S3BlobStore:
    """The S3 blob store of AUDITPACK_BLOB_STORE; refuses (StoreError) a bucket without Object Lock."""
    import boto3  # only for an S3 blob store
    import botocore.config

    session = boto3.Session(profile_name=settings.blob_store_profile)
    client = session.client("s3", config=botocore.config.Config(max_pool_connections=settings.blob_store_workers * 2))
    return S3BlobStore(
        client,
        S3Location.parse(settings.blob_store),
        retention_days=settings.blob_retention_days or 0,  # required with a blob store: see the settings
        workers=settings.blob_store_workers,
    )


def customer_policy(settings: Settings, catalogs: Catalogs | None = None) -> CustomerPolicy:
    """What customer evidence and exceptions are checked against: the loaded catalogs' control ids, the
    registered check ids, and the configured validity, size and expiry limits."""
    catalogs = catalogs if catalogs is not None else load_framework_catalogs(settings)
    return CustomerPolicy(
        known_controls=frozenset(
            f"{entry.catalog.id}:{control.id}" for entry in catalogs for control in entry.catalog.controls
        ),
        known_checks=check_ids(),
        validity={
            ItemKind.DOCUMENT: timedelta(days=settings.evidence_validity_days_document),
            ItemKind.ATTESTATION: timedelta(days=settings.evidence_validity_days_attestation),
            ItemKind.RECORD: timedelta(days=settings.evidence_validity_days_record),
        },
        max_bytes=settings.evidence_max_bytes,
        exception_max=timedelta(days=settings.exception_max_days),
    )


def expiring_soon(store: EvidenceStore, *, now: datetime | None = None) -> dict[str, list[dict[str, object]]]:
    """Approved customer evidence and active exceptions lapsing within 30 days: renew them before a control stops
    being met or excepted findings fail again (the run summary of `collect` and of the nightly capture)."""
    moment = now or datetime.now(UTC)
    return expiring.soon(customer_evidence(store.engine, as_of=moment), moment)


def load_framework_catalogs(settings: Settings) -> Catalogs:
    """The packaged catalogs plus the user catalogs in AUDITPACK_CATALOG_DIR."""
    return load_catalogs(settings.catalog_dir)


def load_framework_catalog(settings: Settings, framework: str) -> Catalog:
    """One framework's catalog (`load_framework_catalogs(settings).get(framework)`, reading less)."""
    return load_catalog(framework, settings.catalog_dir)


def stored_findings(settings: Settings) -> FindingsProvider:
    """The stored findings of a run (provider for `frameworks.asof.status_as_of`).

    They were derived when the run was collected; a run without stored findings (its evaluation never ran,
    e.g. the process stopped right after sealing) is evaluated now, with the configured thresholds, and stored.
    """
    thresholds = thresholds_from_settings(settings)

    def provider(store: EvidenceStore, run_id: int) -> list[Finding]:
        ensure_findings(store, run_id, thresholds=thresholds)
        return load_findings(store, run_id)

    return provider


def verified_findings_provider(settings: Settings) -> FindingsProvider:
    """The verdicts a packet may carry: derived from the run's evidence now and checked against the stored ones."""
    thresholds = thresholds_from_settings(settings)

    def provider(store: EvidenceStore, run_id: int) -> list[Finding]:
        return verified_findings(store, run_id, thresholds=thresholds)

    return provider


def stored_service_usage(store: EvidenceStore, run_id: int) -> ServiceUsage:
    """Resources in use per service type in a stored run (provider for `frameworks.asof.status_as_of`)."""
    return service_usage(store, run_id)


def stored_customer_evidence(store: EvidenceStore, as_of: datetime) -> CustomerEvidence:
    """Customer evidence items and exceptions as of `as_of` (provider for `frameworks.asof.status_as_of`)."""
    return customer_evidence(store.engine, as_of=as_of)


def framework_status(
    settings: Settings,
    store: EvidenceStore,
    catalog: Catalog,
    *,
    as_of: datetime,
    since: datetime | None = None,
    accounts: Sequence[str] = (),
    scopes: Sequence[str] = (),
    findings_for: FindingsProvider | None = None,
) -> FrameworkStatus:
    """Evaluate a framework from stored evidence, with the configured freshness window and scopes."""
    return status_as_of(
        store,
        catalog,
        as_of=as_of,
        since=since,
        accounts=accounts or None,
        freshness_hours=settings.freshness_hours,
        findings_for=findings_for or stored_findings(settings),
        usage_for=stored_service_usage,
        customer_for=stored_customer_evidence,
        scopes=list(scopes) or settings.scopes_for(catalog.id),
    )


def period_operation(
    settings: Settings,
    store: EvidenceStore,
    catalog: Catalog,
    *,
    since: datetime,
    until: datetime,
    captures: str | None = None,
    accounts: Sequence[str] = (),
    scopes: Sequence[str] = (),
) -> PeriodOperation:
    """Every capture of [since, until] evaluated from stored findings (a run never evaluated is evaluated now),
    and what the captures say about each control's operation. `captures`: all or daily (default: the setting).

    The per-capture history (`PeriodOperation.history`, `PeriodHistory.control_history`) is what an export
    giving one observation per capture reads."""
    customer = customer_evidence(store.engine, as_of=until)
    history = period_history(
        store,
        catalog,
        since=since,
        until=until,
        selection=Captures(captures or settings.period_captures),
        freshness_hours=settings.freshness_hours,
        customer=customer,
        findings_for=stored_findings(settings),
        usage_for=stored_service_usage,
        scopes=list(scopes) or settings.scopes_for(catalog.id),
        accounts=accounts or None,
    )
    return operation(history, customer)
