"""Alembic environment: uses the engine auditpack hands over, or AUDITPACK_DATABASE_URL for plain `alembic`."""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import Engine

from evidence.db import make_engine
from migrations.registry import is_ours, schema_metadata

config = context.config
target_metadata = schema_metadata()  # every table, so autogenerate sees the whole schema


def _engine() -> Engine:
    engine = config.attributes.get("engine")
    if engine is not None:
        return engine
    url = config.get_main_option("sqlalchemy.url") or os.environ.get("AUDITPACK_DATABASE_URL", "sqlite:///auditpack.db")
    return make_engine(url)


def run_migrations_online() -> None:
    engine = _engine()
    with engine.begin() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
            include_name=is_ours,
        )
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("auditpack migrations run online only: use `auditpack db upgrade`")
run_migrations_online()
