"""Builds the objects every command needs from settings: the engine, the store (schema checked, runs recovered)."""

from __future__ import annotations

from auditpack.settings import Settings
from evidence.db import ensure_schema, make_engine
from evidence.store import EvidenceStore


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
