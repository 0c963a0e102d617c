"""Snapshots of a test's database: rows that take seconds to write (a whole estate replayed and evaluated) are
written once per backend, by the first test that asks, and copied into every later test's empty database.

SQLite: the file, through SQLite's backup API. PostgreSQL: each table copied into a schema of its own
(`<session schema>_snap<N>`, dropped at the end of the session) and back, with triggers and foreign-key checks off
while copying, and the sequences where the first test left them. Each test still gets its own database to change.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

_TABLES = text("SELECT tablename FROM pg_tables WHERE schemaname = :schema AND tablename <> 'alembic_version'")


@dataclass
class _Taken:
    value: Any
    where: str  # the SQLite snapshot file, or the PostgreSQL snapshot schema
    sequences: dict[str, int] = field(default_factory=dict)  # PostgreSQL: sequence -> last value


class Snapshots:
    def __init__(self, directory: Path, pg_admin: Callable[[], Engine]) -> None:
        self.directory = directory
        self.pg_admin = pg_admin
        self._taken: dict[tuple[str, str], _Taken] = {}
        self._schemas: list[str] = []

    def get(self, key: str, db_url: str, schema: str | None, build: Callable[[], Any]) -> Any:
        """The value `build` returned, with the rows it wrote: built here, or copied from the first build."""
        backend = "sqlite" if schema is None else schema
        taken = self._taken.get((key, backend))
        if taken is not None:
            self._restore(taken, db_url, schema)
            return taken.value
        value = build()
        self._taken[(key, backend)] = self._take(value, db_url, schema)
        return value

    def close(self) -> None:
        if not self._schemas:
            return
        with self.pg_admin().begin() as connection:
            for schema in self._schemas:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))

    def _take(self, value: Any, db_url: str, schema: str | None) -> _Taken:
        if schema is None:
            path = self.directory / f"snapshot-{len(self._taken)}.db"
            _sqlite_backup(_sqlite_path(db_url), path)
            return _Taken(value, str(path))
        copy = f"{schema}_snap{len(self._schemas)}"
        self._schemas.append(copy)
        with self.pg_admin().begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{copy}"'))
            for table in connection.execute(_TABLES, {"schema": schema}).scalars().all():
                connection.execute(text(f'CREATE TABLE "{copy}"."{table}" AS TABLE "{schema}"."{table}"'))
            sequences = connection.execute(
                text(
                    "SELECT sequencename, last_value FROM pg_sequences "
                    "WHERE schemaname = :schema AND last_value IS NOT NULL"
                ),
                {"schema": schema},
            ).all()
        return _Taken(value, copy, dict(sequences))  # type: ignore[arg-type]

    def _restore(self, taken: _Taken, db_url: str, schema: str | None) -> None:
        if schema is None:
            _sqlite_backup(Path(taken.where), _sqlite_path(db_url))
            return
        with self.pg_admin().begin() as connection:
            connection.execute(text("SET LOCAL session_replication_role = replica"))
            for table in connection.execute(_TABLES, {"schema": taken.where}).scalars().all():
                connection.execute(
                    text(f'INSERT INTO "{schema}"."{table}" OVERRIDING SYSTEM VALUE TABLE "{taken.where}"."{table}"')
                )
            for sequence, last in taken.sequences.items():
                connection.execute(
                    text("SELECT setval(CAST(:sequence AS regclass), :last, true)"),
                    {"sequence": f'"{schema}"."{sequence}"', "last": last},
                )


def _sqlite_path(db_url: str) -> Path:
    database = make_url(db_url).database
    assert database, db_url
    return Path(database)


def _sqlite_backup(source: Path, target: Path) -> None:
    """A consistent copy (the WAL may hold recent pages), safe while the test's engine has the target open."""
    with sqlite3.connect(source) as read, sqlite3.connect(target) as write:
        read.backup(write)
    read.close()
    write.close()
