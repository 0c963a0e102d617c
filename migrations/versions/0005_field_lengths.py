"""field lengths: actor columns take the longest derived label (320 characters, see evidence.labels)

"officer token N (note)" with a 256-character note is 292 characters: VARCHAR(256) refused it on PostgreSQL, so a
token with a long note could not request packets, runs or grants, and an auditor's requests went unlogged.

PostgreSQL widens a VARCHAR in place (no rewrite). SQLite cannot change a column's type, and recreating these
tables (Alembic's batch mode) would drop `runs` under the findings' ON DELETE CASCADE and the access log's
append-only triggers; so on SQLite each column is copied into a new one, the old dropped and the new renamed
(SQLite 3.35 or later), with the access log's triggers lifted for the copy and put back in the same transaction.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlite3

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

OLD_LENGTH = 256
NEW_LENGTH = 320  # frozen copy of evidence.labels.ACTOR_MAX_LENGTH
COLUMNS = (
    ("runs", "requested_by"),
    ("api_tokens", "created_by"),
    ("api_packets", "requested_by"),
    ("api_grants", "created_by"),
    ("api_access_log", "principal"),
    ("api_jobs", "requested_by"),
)
# As migration 0003 created them.
_SQLITE_APPEND_ONLY = (
    "CREATE TRIGGER api_access_log_no_update BEFORE UPDATE ON api_access_log "
    "BEGIN SELECT RAISE(ABORT, 'api_access_log is append-only: UPDATE refused'); END",
    "CREATE TRIGGER api_access_log_no_delete BEFORE DELETE ON api_access_log "
    "BEGIN SELECT RAISE(ABORT, 'api_access_log is append-only: DELETE refused'); END",
)


def _sqlite_retype(table: str, column: str, length: int) -> None:
    """Give `table.column` (NOT NULL text) the type VARCHAR(length), keeping every value."""
    staging = f"{column}__retyped"
    op.execute(f"ALTER TABLE {table} ADD COLUMN {staging} VARCHAR({length}) NOT NULL DEFAULT ''")
    op.execute(f"UPDATE {table} SET {staging} = {column}")  # noqa: S608 - names from COLUMNS, constants
    op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    op.execute(f"ALTER TABLE {table} RENAME COLUMN {staging} TO {column}")


def _resize(length: int) -> None:
    if op.get_bind().dialect.name != "sqlite":
        for table, column in COLUMNS:
            op.alter_column(table, column, type_=sa.String(length=length), existing_nullable=False)
        return
    if sqlite3.sqlite_version_info < (3, 35, 0):
        raise RuntimeError(f"migration 0005 needs SQLite 3.35 or later (DROP COLUMN); this is {sqlite3.sqlite_version}")
    op.execute("DROP TRIGGER IF EXISTS api_access_log_no_update")
    op.execute("DROP TRIGGER IF EXISTS api_access_log_no_delete")
    for table, column in COLUMNS:
        _sqlite_retype(table, column, length)
    for statement in _SQLITE_APPEND_ONLY:
        op.execute(statement)


def upgrade() -> None:
    _resize(NEW_LENGTH)


def downgrade() -> None:
    # A label longer than 256 characters would not fit back: refuse rather than cut what an audit trail says.
    bind = op.get_bind()
    for table, column in COLUMNS:
        query = f"SELECT MAX(LENGTH({column})) FROM {table}"  # noqa: S608 - names from COLUMNS, constants
        longest = bind.execute(sa.text(query)).scalar()
        if longest is not None and longest > OLD_LENGTH:
            raise RuntimeError(f"{table}.{column} holds a value of {longest} characters: cannot go back to 256")
    _resize(OLD_LENGTH)
