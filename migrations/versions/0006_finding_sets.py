"""finding_sets: one row per evaluated run (parameters, check code, digest); existing findings re-derived

Findings written before this revision have no record of the thresholds and check code that produced them, so
they cannot be checked against their evidence: they are deleted here and re-derived from the hashed evidence the
first time they are read (findings are a cache of pure checks over sealed evidence; nothing is lost).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

# Frozen copies of the model types: migrations must not change when the models do.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "finding_sets",
        sa.Column("run_id", BigId, nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("finding_count", BigId, nullable=False),
        sa.Column("thresholds", sa.JSON(), nullable=False),
        sa.Column("checks_version", sa.String(length=64), nullable=False),
        sa.Column("evaluated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("run_id"),
    )
    op.execute(sa.text("DELETE FROM findings"))


def downgrade() -> None:
    op.drop_table("finding_sets")
