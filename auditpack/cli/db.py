"""`auditpack db ...`: schema management."""

from __future__ import annotations

import typer

from auditpack.cli.output import out

app = typer.Typer(help="Database schema management (Alembic).", no_args_is_help=True)


@app.command("upgrade")
def upgrade() -> None:
    """Apply all migrations to AUDITPACK_DATABASE_URL (creates the schema on an empty database)."""
    from auditpack.settings import load_settings
    from evidence.db import make_engine
    from migrations.schema import current_revision, upgrade_schema

    settings = load_settings()
    engine = make_engine(settings.database_url)
    before = current_revision(engine)
    upgrade_schema(engine)
    after = current_revision(engine)
    if before == after:
        out.print(f"database already at revision {after}")
    else:
        out.print(f"database upgraded from {before or 'empty'} to revision {after}")


@app.command("current")
def current() -> None:
    """Show the database's schema revision and the revision this auditpack needs."""
    from auditpack.settings import load_settings
    from evidence.db import make_engine
    from migrations.schema import current_revision, head_revision

    settings = load_settings()
    engine = make_engine(settings.database_url)
    out.print(f"database revision: {current_revision(engine) or 'empty'}; required: {head_revision()}")
