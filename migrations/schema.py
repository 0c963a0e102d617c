"""Schema management: the Alembic configuration of the packaged migrations, the revision a database is at, and
upgrading it. Called by the CLI and the service start-up (`auditpack`), never by `evidence` or `api`: running the
migrations loads every model module (`migrations.registry`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from core.errors import SchemaOutOfDateError

if TYPE_CHECKING:
    from alembic.config import Config

_SCRIPTS = Path(__file__).resolve().parent


def alembic_config(engine: Engine | None = None) -> Config:
    """Alembic configuration pointing at the packaged migrations, bound to `engine` when given."""
    from alembic.config import Config  # Alembic is imported only where the schema is touched (CLI start-up)

    config = Config()
    config.set_main_option("script_location", str(_SCRIPTS))
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
