"""every stored hash records the canonical JSON version it was computed in (1 legacy, 2 RFC 8785)

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

# Every table whose rows carry a hash over canonical JSON (see core.canonical).
TABLES = (
    "runs",
    "evidence",
    "gaps",
    "finding_sets",
    "customer_items",
    "customer_exceptions",
    "customer_events",
    "customer_ledger",
    "api_access_log",
)


def upgrade() -> None:
    # Every existing row was hashed with auditpack's own form, version 1: the server default says so, and stays, so
    # a replica still running the previous auditpack during a rolling upgrade writes rows that are right as well.
    # A plain ADD COLUMN on both backends: no table is rebuilt (SQLite batch mode would copy the append-only tables
    # and drop their triggers), and neither database fires UPDATE triggers for it.
    for table in TABLES:
        op.add_column(table, sa.Column("canonical_version", sa.SmallInteger(), nullable=False, server_default="1"))


def downgrade() -> None:
    bind = op.get_bind()
    for table in TABLES:
        newer = bind.execute(sa.text(f"SELECT COUNT(*) FROM {table} WHERE canonical_version <> 1")).scalar()  # noqa: S608 - table names are the constants above
        if newer:
            raise RuntimeError(
                f"cannot go back to 0011: {table} holds {newer} row(s) hashed with canonical version 2 (RFC 8785), "
                "which an auditpack before 0012 would recompute with version 1 and report as altered"
            )
    for table in TABLES:
        op.drop_column(table, "canonical_version")
