"""Engines and schema management for SQLite (embedded default) and PostgreSQL (production)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.orm import Session, sessionmaker

import migrations
from evidence.errors import InputError, SchemaOutOfDateError

if TYPE_CHECKING:
    from alembic.config import Config

SUPPORTED_DIALECTS = ("sqlite", "postgresql")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def check_database_url(url: str) -> str:
    """Validate a database URL, returning it; raise `InputError` saying what is wrong."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise InputError(f"could not parse database URL {url!r}: {exc}") from None
    if parsed.get_backend_name() not in SUPPORTED_DIALECTS:
        raise InputError(
            f"unsupported database {parsed.get_backend_name()!r} in {parsed.render_as_string()!r}; "
            f"use one of: {', '.join(SUPPORTED_DIALECTS)}"
        )
    try:
        parsed.get_dialect()
    except NoSuchModuleError as exc:
        raise InputError(f"no driver for database URL {parsed.render_as_string()!r}: {exc}") from None
    return url


@dataclass(frozen=True, slots=True)
class PoolOptions:
    """The connection pool: `size` kept open, up to `max_overflow` more under load, and how long a caller waits
    for one (`timeout`, seconds) before `sqlalchemy.exc.TimeoutError`. A short wait lets a busy service say
    "retry shortly" (the API answers 503) instead of queueing callers into their own timeouts."""

    size: int = 10
    max_overflow: int = 10
    timeout: float = 5.0


def make_engine(
    url: str, *, connect_args: dict[str, Any] | None = None, echo: bool = False, pool: PoolOptions = PoolOptions()
) -> Engine:
    """Create an engine with the settings each backend needs (SQLite: WAL, foreign keys, threads)."""
    check_database_url(url)
    parsed = make_url(url)
    args = dict(connect_args or {})
    kwargs: dict[str, Any] = {"echo": echo, "future": True}
    sizing = {"pool_size": pool.size, "max_overflow": pool.max_overflow, "pool_timeout": pool.timeout}
    if parsed.get_backend_name() == "sqlite":
        args.setdefault("check_same_thread", False)
        args.setdefault("timeout", 30)
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            kwargs.update(sizing)  # a file database gets a QueuePool; :memory: keeps its single-connection pool
    else:
        kwargs["pool_pre_ping"] = True
        kwargs.update(sizing)
    engine = create_engine(url, connect_args=args, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(engine: Engine | None = None) -> Config:
    """Alembic configuration pointing at the packaged migrations, bound to `engine` when given."""
    from alembic.config import Config  # Alembic is imported only where the schema is touched (CLI start-up)

    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    if engine is not None:
        config.attributes["engine"] = engine
    return config


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships migrations
        raise SchemaOutOfDateError("no migrations are packaged with auditpack")
    return head


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade_schema(engine: Engine, revision: str = "head") -> None:
    """Apply migrations up to `revision` (Alembic)."""
    from alembic import command

    command.upgrade(alembic_config(engine), revision)


def ensure_schema(engine: Engine, *, auto_upgrade: bool) -> None:
    """Make sure the schema is current: create/upgrade it when allowed, otherwise say how to fix it."""
    current = current_revision(engine)
    head = head_revision()
    if current == head:
        return
    if auto_upgrade:
        upgrade_schema(engine)
        return
    where = "empty" if current is None else f"at revision {current}"
    raise SchemaOutOfDateError(
        f"the database schema is {where}, this auditpack needs revision {head}",
        hint="run `auditpack db upgrade`",
    )
