"""The Alembic migrations build exactly the schema the models describe, on both backends."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine

from migrations.registry import schema_metadata
from migrations.schema import current_revision, head_revision


def test_migrated_schema_matches_the_models(engine: Engine) -> None:
    metadata = schema_metadata()  # every table-declaring module, whichever tests ran before
    assert current_revision(engine) == head_revision()
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, metadata)
    assert diff == []
