"""The Alembic migrations build exactly the schema the models describe, on both backends."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine

from migrations.registry import is_ours, schema_metadata
from migrations.schema import current_revision, head_revision


def test_migrated_schema_matches_the_models(engine: Engine) -> None:
    metadata = schema_metadata()  # every table-declaring module, whichever tests ran before
    assert current_revision(engine) == head_revision()
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True, "include_name": is_ours})
        diff = compare_metadata(context, metadata)
    assert diff == []


def test_the_quick_schema_check_agrees_with_alembic(engine: Engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`ensure_schema` first reads the version table against the head the migration files declare (without
    loading Alembic); that head must be Alembic's, and an empty database is never taken as current."""
    from evidence.db import make_engine
    from migrations.schema import _declared_head, _is_current

    assert _declared_head() == head_revision()
    assert _is_current(engine)
    empty = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    assert not _is_current(empty)
    empty.dispose()
