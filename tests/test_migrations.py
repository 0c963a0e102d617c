"""The Alembic migrations build exactly the schema the models describe, on both backends."""

import ast
import importlib
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine

from evidence.db import current_revision, head_revision
from evidence.models import Base


def _model_modules() -> list[str]:
    """MODEL_MODULES as migrations/env.py lists them (importing env.py would run the migrations)."""
    tree = ast.parse((Path(__file__).resolve().parents[1] / "migrations" / "env.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "MODEL_MODULES" for t in node.targets):
            return list(ast.literal_eval(node.value))
    raise AssertionError("migrations/env.py has no MODEL_MODULES")


def test_migrated_schema_matches_the_models(engine: Engine) -> None:
    for module in _model_modules():  # every table-declaring module, whatever this test process imported so far
        importlib.import_module(module)
    assert current_revision(engine) == head_revision()
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []
