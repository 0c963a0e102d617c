"""Builds the objects every command needs from settings: the store (schema checked, runs recovered), the framework
catalogs, and the providers that turn a stored run into findings and service usage."""

from __future__ import annotations

from auditpack.settings import Settings
from evidence.checks.types import Finding, ServiceUsage
from evidence.db import ensure_schema, make_engine
from evidence.errors import StoreError
from evidence.store import EvidenceStore
from frameworks.loader import Catalogs, load_catalogs


def open_store(settings: Settings, *, recover: bool = True) -> EvidenceStore:
    """Open the evidence store. A SQLite file is created/upgraded on first use; PostgreSQL needs `db upgrade`.

    Start-up recovery marks runs whose process died as interrupted, so none stays `running` forever.
    """
    engine = make_engine(settings.database_url)
    ensure_schema(engine, auto_upgrade=settings.is_sqlite)
    store = EvidenceStore(engine)
    if recover:
        store.recover_interrupted()
    return store


def load_framework_catalogs(settings: Settings) -> Catalogs:
    """The packaged catalogs plus the user catalogs in AUDITPACK_CATALOG_DIR."""
    return load_catalogs(settings.catalog_dir)


class CollectorsUnavailableError(StoreError):
    """Evaluating stored evidence needs the collectors' checks and inventory, which this build lacks."""


def stored_findings(store: EvidenceStore, run_id: int) -> list[Finding]:
    """The findings of a stored run (provider for `frameworks.asof.status_as_of`).

    Wired to `evidence.checks.evaluate.evaluate_run` when the collectors module is merged; until then it
    refuses precisely rather than returning no findings (which would read as missing evidence, not as a
    missing module).
    """
    raise CollectorsUnavailableError(
        f"cannot evaluate the evidence of run {run_id}: evaluation of stored evidence needs the collectors "
        "module (evidence.checks.evaluate.evaluate_run), which is not part of this build"
    )


def stored_service_usage(store: EvidenceStore, run_id: int) -> ServiceUsage:
    """Resources in use per service type in a stored run (provider for `frameworks.asof.status_as_of`).

    Wired to `evidence.inventory.service_usage` when the collectors module is merged.
    """
    raise CollectorsUnavailableError(
        f"cannot read the service inventory of run {run_id}: it needs the collectors module "
        "(evidence.inventory.service_usage), which is not part of this build"
    )
