"""procrastinate: its job queue's tables, types and functions, on PostgreSQL only (SQLite runs jobs in-process)

The SQL is procrastinate's own schema file of the installed version (procrastinate>=3.10,<4), applied in the
schema the connection's search_path names first, like our tables. A later procrastinate release that changes its
schema gets its own Alembic migration running that release's migration files.

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

_TABLES = ("procrastinate_events", "procrastinate_periodic_defers", "procrastinate_jobs", "procrastinate_workers")
_TYPES = ("procrastinate_job_to_defer_v1", "procrastinate_job_event_type", "procrastinate_job_status")
# Every procrastinate function of this schema, whatever its version suffix and arguments.
_DROP_FUNCTIONS = """
DO $$
DECLARE f record;
BEGIN
    FOR f IN SELECT p.oid::regprocedure AS signature FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
             WHERE p.proname LIKE 'procrastinate\\_%' AND n.nspname = current_schema()
    LOOP
        EXECUTE 'DROP FUNCTION ' || f.signature || ' CASCADE';
    END LOOP;
END $$;
"""


def _execute_raw(sql: str) -> None:
    """Through the driver itself: the SQL holds `%` and `:name` that SQLAlchemy or psycopg would take for
    parameters."""
    cursor = op.get_bind().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql)
    finally:
        cursor.close()


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    from procrastinate.schema import SchemaManager

    _execute_raw(SchemaManager.get_schema())


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    _execute_raw(f"DROP TABLE IF EXISTS {', '.join(_TABLES)} CASCADE")
    _execute_raw(_DROP_FUNCTIONS)
    _execute_raw(f"DROP TYPE IF EXISTS {', '.join(_TYPES)} CASCADE")
