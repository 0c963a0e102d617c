"""evidence and findings: indexes in resource order, for diffing two runs as one streamed merge

`auditpack diff` (and the API's run diff, the capture notifications and the change lookups of a collection) read
two runs' evidence and findings ordered by (account, region, resource, kind or check) and merge them as they
stream. These indexes serve that order without sorting a whole run, and let a page of the API's diff start at its
cursor's resource instead of at the run's first row.

A plain CREATE INDEX on both backends: no table is rebuilt (SQLite batch mode would copy the tables). On a large
PostgreSQL store the upgrade takes a while (the index is built over every stored row).

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_evidence_run_resource": ("evidence", ["run_id", "account_id", "region", "resource_id", "kind"]),
    "ix_findings_run_resource": ("findings", ["run_id", "account_id", "region", "resource_id", "check_id"]),
}


def upgrade() -> None:
    for name, (table, columns) in INDEXES.items():
        op.create_index(name, table, columns, unique=False)


def downgrade() -> None:
    for name, (table, _columns) in INDEXES.items():
        op.drop_index(name, table_name=table)
