"""finding_ranges: per block of 1024 finding row ids, the earliest and latest observed_at (time-window listings)

A listing of one run's findings filtered by observed_from/observed_to pages in row-id order; it now starts at the
first block whose observation times overlap the window (evidence.finding_ranges) instead of reading every earlier
row. The ranges of findings already stored are computed here, with the same grouping save_findings uses.

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

# Frozen copies of the model types: migrations must not change when the models do.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "finding_ranges",
        sa.Column("run_id", BigId, nullable=False),
        sa.Column("first_id", BigId, nullable=False, autoincrement=False),
        sa.Column("last_id", BigId, nullable=False),
        sa.Column("observed_min", sa.DateTime(timezone=True), nullable=True),
        sa.Column("observed_max", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("run_id", "first_id"),
    )
    # Integer division on both backends (ids are integers): the blocks of evidence.finding_ranges.BLOCK (1024).
    op.execute(
        sa.text(
            "INSERT INTO finding_ranges (run_id, first_id, last_id, observed_min, observed_max) "
            "SELECT run_id, MIN(id), MAX(id), MIN(observed_at), MAX(observed_at) FROM findings "
            "GROUP BY run_id, id / 1024"
        )
    )


def downgrade() -> None:
    op.drop_table("finding_ranges")
