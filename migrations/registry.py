"""Every module that declares tables on `core.database.Base`: the whole schema, for Alembic and its tests.

This registry lives with the migrations, above the packages whose models it names, so no package has to load
another's models: `evidence` imports only its own tables, and only the schema's owner (this package, which the
CLI and the service start-up call) imports them all.
"""

from __future__ import annotations

import importlib

from sqlalchemy import MetaData

from core.database import Base

MODEL_MODULES = (
    "evidence.models",
    "evidence.findings_model",
    "evidence.customer.models",
    "api.models",
    "api.webhooks.models",
)


def schema_metadata() -> MetaData:
    """The metadata of every table, with all model modules imported."""
    for module in MODEL_MODULES:
        importlib.import_module(module)
    return Base.metadata


def is_ours(name: str | None, type_: str, _parents: object) -> bool:
    """Alembic's `include_name`: procrastinate's tables (migration 0018) are its own, not our models'."""
    return not (type_ == "table" and (name or "").startswith("procrastinate_"))
