"""finding_sets record a fingerprint of their verdicts and their oldest observation (period history)

Evaluating every capture of a quarter or a year (`frameworks.history`) groups runs whose verdicts are the same and
evaluates each group once. `verdicts_sha256` (SHA-256 over the sorted (check, status, account, region, resource,
observed-or-not) of every finding) and `oldest_observed_at` let it group runs from one row per run instead of
reading every finding of every run. Sets evaluated before this revision have neither (NULL): their runs are read
in full, as before; `auditpack verify --store` checks both against the stored rows wherever they are set.

Revision ID: 0015
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN (nullable, no default) on both backends: no table rebuild, existing sets read as NULL.
    op.add_column("finding_sets", sa.Column("verdicts_sha256", sa.String(length=64), nullable=True))
    op.add_column("finding_sets", sa.Column("oldest_observed_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("finding_sets", "oldest_observed_at")
    op.drop_column("finding_sets", "verdicts_sha256")
