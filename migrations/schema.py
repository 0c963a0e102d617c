"""Schema management: the Alembic configuration of the packaged migrations, the revision a database is at, and
upgrading it. Called by the CLI and the service start-up (`auditpack`), never by `evidence` or `api`: running the
migrations loads every model module (`migrations.registry`)."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

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


_REVISION = re.compile(r"^(down_)?revision\s*(?::[^=]*)?=\s*['\"]([^'\"]+)['\"]", re.MULTILINE)


@cache
def _declared_head() -> str | None:
    """The head as the migration files declare it (`revision = "..."`, `down_revision = "..."`), read as text:
    None when that is not one unambiguous head (then Alembic decides)."""
    revisions: set[str] = set()
    downs: set[str] = set()
    for path in (_SCRIPTS / "versions").glob("*.py"):
        for down, value in _REVISION.findall(path.read_text("utf-8")):
            (downs if down else revisions).add(value)
    heads = revisions - downs
    return heads.pop() if len(heads) == 1 else None


def _is_current(engine: Engine) -> bool:
    """Whether the database is at the declared head, read with one query: most commands open a current store,
    and Alembic's own check imports Alembic and every migration script (about 0.1 s of every command)."""
    head = _declared_head()
    if head is None:
        return False
    try:
        with engine.connect() as connection:
            found = [row[0] for row in connection.execute(text("SELECT version_num FROM alembic_version"))]
    except DBAPIError:  # no version table yet: Alembic creates or reports it
        return False
    return found == [head]


def ensure_schema(engine: Engine, *, auto_upgrade: bool) -> None:
    """Make sure the schema is current: create/upgrade it when allowed, otherwise say how to fix it."""
    if _is_current(engine):
        return
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
