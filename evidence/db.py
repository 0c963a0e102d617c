"""Engines and sessions for SQLite (embedded default) and PostgreSQL (production).

Schema management (Alembic) is not here: it loads every package's models, so it belongs to `migrations.schema`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.orm import Session, sessionmaker

from core.errors import InputError

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
