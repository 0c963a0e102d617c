"""findings: check verdicts per run, indexed for paging by check, status and account/region

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

# Frozen copies of the model types: migrations must not change when the models do.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "findings",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("run_id", BigId, nullable=False),
        sa.Column("check_id", sa.String(length=128), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("region", sa.String(length=32), nullable=False),
        sa.Column("resource_id", sa.String(length=2048), nullable=False),
        sa.Column("resource_type", sa.String(length=128), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("observed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("owner", sa.String(length=256), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("findings", schema=None) as batch_op:
        batch_op.create_index("ix_findings_run_id", ["run_id", "id"], unique=False)
        batch_op.create_index("ix_findings_run_check", ["run_id", "check_id", "id"], unique=False)
        batch_op.create_index("ix_findings_run_status", ["run_id", "status", "id"], unique=False)
        batch_op.create_index("ix_findings_run_account_region", ["run_id", "account_id", "region", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("findings", schema=None) as batch_op:
        batch_op.drop_index("ix_findings_run_account_region")
        batch_op.drop_index("ix_findings_run_status")
        batch_op.drop_index("ix_findings_run_check")
        batch_op.drop_index("ix_findings_run_id")
    op.drop_table("findings")
