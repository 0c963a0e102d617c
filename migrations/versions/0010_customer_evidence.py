"""customer evidence and exceptions: chunked content, items, exceptions, review events, the ledger

Revision ID: 0010
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

# Frozen copies of the model types: migrations must not change when the models do.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = sa.DateTime(timezone=True)

revision = "0010"
down_revision = "0006"
branch_labels = None
depends_on = None

# Every customer table is append-only: the database refuses to change or delete a row, so a review is an appended
# event and content never changes under its hash (the ledger catches anyone who gets around the triggers).
APPEND_ONLY_TABLES = (
    "customer_contents",
    "customer_content_chunks",
    "customer_items",
    "customer_exceptions",
    "customer_events",
    "customer_ledger",
)
_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION customer_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP;
END;
$$ LANGUAGE plpgsql
"""


def _pg_trigger(table: str) -> str:
    return (
        f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION customer_append_only()"
    )


def _sqlite_triggers(table: str) -> tuple[str, str]:
    return tuple(  # type: ignore[return-value]
        f"CREATE TRIGGER {table}_no_{op_name.lower()} BEFORE {op_name} ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {op_name} refused'); END"
        for op_name in ("UPDATE", "DELETE")
    )


def upgrade() -> None:
    op.create_table(
        "customer_contents",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("media_type", sa.String(length=128), nullable=False),
        sa.Column("chunk_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("sha256"),
    )
    op.create_table(
        "customer_content_chunks",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["sha256"], ["customer_contents.sha256"], ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("sha256", "seq"),
    )
    op.create_table(
        "customer_items",
        sa.Column("id", BigId, autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("controls", sa.JSON(), nullable=False),
        sa.Column("owner", sa.String(length=256), nullable=False),
        sa.Column("submitted_by", sa.String(length=256), nullable=False),
        sa.Column("submitted_at", When, nullable=False),
        sa.Column("valid_from", When, nullable=False),
        sa.Column("valid_until", When, nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("media_type", sa.String(length=128), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=True),
        sa.Column("supersedes", BigId, nullable=True),
        sa.Column("statement_by", sa.String(length=256), nullable=True),
        sa.Column("record_url", sa.String(length=2048), nullable=True),
        sa.Column("import_path", sa.String(length=1024), nullable=True),
        sa.Column("record_sha256", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["content_sha256"], ["customer_contents.sha256"], ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["supersedes"], ["customer_items.id"], ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("customer_items", schema=None) as batch_op:
        batch_op.create_index("ix_customer_items_supersedes", ["supersedes"], unique=True)
        batch_op.create_index("ix_customer_items_import_path", ["import_path"], unique=False)
    op.create_table(
        "customer_exceptions",
        sa.Column("id", BigId, autoincrement=False, nullable=False),
        sa.Column("check_id", sa.String(length=128), nullable=True),
        sa.Column("control", sa.String(length=256), nullable=True),
        sa.Column("resource_ids", sa.JSON(), nullable=False),
        sa.Column("account_id", sa.String(length=32), nullable=True),
        sa.Column("justification", sa.Text(), nullable=False),
        sa.Column("compensating", sa.Text(), nullable=False),
        sa.Column("requested_by", sa.String(length=256), nullable=False),
        sa.Column("requested_at", When, nullable=False),
        sa.Column("expires_at", When, nullable=False),
        sa.Column("record_sha256", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "customer_events",
        sa.Column("id", BigId, autoincrement=False, nullable=False),
        sa.Column("item_id", BigId, nullable=True),
        sa.Column("exception_id", BigId, nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=256), nullable=False),
        sa.Column("at", When, nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("record_sha256", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["customer_items.id"], ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["exception_id"], ["customer_exceptions.id"], ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("customer_events", schema=None) as batch_op:
        batch_op.create_index("ix_customer_events_item", ["item_id", "id"], unique=False)
        batch_op.create_index("ix_customer_events_exception", ["exception_id", "id"], unique=False)
    op.create_table(
        "customer_ledger",
        sa.Column("seq", BigId, autoincrement=False, nullable=False),
        sa.Column("entry_type", sa.String(length=16), nullable=False),
        sa.Column("entry_id", BigId, nullable=False),
        sa.Column("record_sha256", sa.String(length=64), nullable=False),
        sa.Column("previous_digest", sa.String(length=64), nullable=True),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("entry_type", "entry_id", name="uq_customer_ledger_entry"),
    )

    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_FUNCTION)
        for table in APPEND_ONLY_TABLES:
            op.execute(_pg_trigger(table))
    else:
        for table in APPEND_ONLY_TABLES:
            for statement in _sqlite_triggers(table):
                op.execute(statement)


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for table in reversed(APPEND_ONLY_TABLES):
        if postgres:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
    if postgres:
        op.execute("DROP FUNCTION IF EXISTS customer_append_only()")
    op.drop_table("customer_ledger")
    with op.batch_alter_table("customer_events", schema=None) as batch_op:
        batch_op.drop_index("ix_customer_events_exception")
        batch_op.drop_index("ix_customer_events_item")
    op.drop_table("customer_events")
    op.drop_table("customer_exceptions")
    with op.batch_alter_table("customer_items", schema=None) as batch_op:
        batch_op.drop_index("ix_customer_items_import_path")
        batch_op.drop_index("ix_customer_items_supersedes")
    op.drop_table("customer_items")
    op.drop_table("customer_content_chunks")
    op.drop_table("customer_contents")
