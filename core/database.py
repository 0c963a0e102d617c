"""The declarative base every table is declared on, and the column types the models share.

One `Base` (one `MetaData`) for all packages: `evidence` declares its tables on it, `api` its own, and
`migrations.registry` imports every model module so Alembic sees the whole schema. Nothing here knows any table.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Integer, SmallInteger, TypeDecorator
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit key for large estates.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive UTC and we re-attach the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} given to the store; use UTC-aware times")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else stored_utc(value)


def stored_utc(value: datetime | str) -> datetime:
    """A moment as the database returned it, as an aware UTC datetime: SQLite keeps naive UTC, and hands back text
    where the column type is bypassed (aggregates, `type_coerce`)."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON()}


def canonical_version_column() -> Mapped[int]:
    """The canonical JSON version (`core.canonical`) a row's stored hash was computed with.

    The server default is 1: rows that existed before versions were recorded, and rows written by an auditpack
    that does not know the column (a replica during a rolling upgrade), were all hashed with version 1. Writers
    that know it always set it, to the version they hashed with, so there is no Python-side default to forget.
    """
    return mapped_column(SmallInteger, nullable=False, server_default="1")
