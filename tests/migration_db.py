"""A database of its own for a migration test: a SQLite file, or a fresh schema on PostgreSQL, dropped afterwards."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from evidence.db import make_engine
from tests.conftest import PG_URL, schema_url


@contextmanager
def scratch_database(backend: str, tmp_path: Path, *, prefix: str) -> Iterator[Engine]:
    """An empty database on `backend` ("sqlite" or "postgresql"); skips when PostgreSQL is not configured."""
    admin = None
    if backend == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    else:
        if not PG_URL:
            pytest.skip("AUDITPACK_TEST_DATABASE_URL is not set")
        schema = f"{prefix}_{uuid.uuid4().hex[:10]}"
        admin = create_engine(PG_URL)
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        engine = make_engine(schema_url(PG_URL, schema))
    try:
        yield engine
    finally:
        engine.dispose()
        if admin is not None:
            with admin.begin() as connection:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
        shutil.rmtree(tmp_path, ignore_errors=True)
