"""packets record the customer evidence items and exceptions they list; Idempotency-Keys of customer requests

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

# Frozen copies of the model types: migrations must not change when the models do.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = sa.DateTime(timezone=True)

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing packets list none: an auditor sees no customer evidence through them (a server default, so the
    # columns can be NOT NULL like run_ids on both backends).
    with op.batch_alter_table("api_packets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("customer_item_ids", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("exception_ids", sa.JSON(), nullable=False, server_default="[]"))
    op.create_table(
        "api_idempotency_keys",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("token_id", BigId, nullable=False),
        sa.Column("idempotency_key", sa.String(length=255), nullable=False),
        sa.Column("request_sha256", sa.String(length=64), nullable=False),
        sa.Column("resource_id", BigId, nullable=True),
        sa.Column("created_at", When, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_id", "idempotency_key", name="uq_api_idempotency_keys"),
    )


def downgrade() -> None:
    op.drop_table("api_idempotency_keys")
    with op.batch_alter_table("api_packets", schema=None) as batch_op:
        batch_op.drop_column("exception_ids")
        batch_op.drop_column("customer_item_ids")
