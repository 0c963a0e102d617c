"""api service: tokens, packets, grants, access log, jobs

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

# Frozen copies of the model types: migrations must not change when the models do.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = sa.DateTime(timezone=True)

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# The access log is append-only: the database itself refuses to change or delete an entry (the hash chain then
# catches anyone who gets around the triggers, e.g. by dropping them).
_PG_APPEND_ONLY = """
CREATE OR REPLACE FUNCTION api_access_log_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'api_access_log is append-only: % refused', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER api_access_log_no_update BEFORE UPDATE OR DELETE ON api_access_log
    FOR EACH ROW EXECUTE FUNCTION api_access_log_append_only();
"""
_SQLITE_APPEND_ONLY = (
    "CREATE TRIGGER api_access_log_no_update BEFORE UPDATE ON api_access_log "
    "BEGIN SELECT RAISE(ABORT, 'api_access_log is append-only: UPDATE refused'); END",
    "CREATE TRIGGER api_access_log_no_delete BEFORE DELETE ON api_access_log "
    "BEGIN SELECT RAISE(ABORT, 'api_access_log is append-only: DELETE refused'); END",
)

_EVIDENCE_INDEXES = (
    ("ix_evidence_observed", ["observed_at", "id"]),
    ("ix_evidence_account_observed", ["account_id", "observed_at", "id"]),
    ("ix_evidence_kind_observed", ["kind", "observed_at", "id"]),
    ("ix_evidence_run_observed", ["run_id", "observed_at", "id"]),
)


def upgrade() -> None:
    op.create_table(
        "api_access_log",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("seq", BigId, nullable=False),
        sa.Column("at", When, nullable=False),
        sa.Column("principal", sa.String(length=256), nullable=False),
        sa.Column("token_id", BigId, nullable=True),
        sa.Column("role", sa.String(length=16), nullable=True),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("path", sa.String(length=2048), nullable=False),
        sa.Column("packet_id", sa.String(length=36), nullable=True),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("client", sa.String(length=64), nullable=True),
        sa.Column("bytes_sent", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("previous_sha256", sa.String(length=64), nullable=True),
        sa.Column("entry_sha256", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("seq"),
    )
    with op.batch_alter_table("api_access_log", schema=None) as batch_op:
        batch_op.create_index("ix_api_access_log_packet", ["packet_id", "seq"], unique=False)

    op.create_table(
        "api_jobs",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("requested_by", sa.String(length=256), nullable=False),
        sa.Column("idempotency_key", sa.String(length=300), nullable=True),
        sa.Column("worker", sa.String(length=256), nullable=True),
        sa.Column("heartbeat_at", When, nullable=True),
        sa.Column("created_at", When, nullable=False),
        sa.Column("started_at", When, nullable=True),
        sa.Column("finished_at", When, nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "idempotency_key", name="uq_api_jobs_idempotency"),
    )
    with op.batch_alter_table("api_jobs", schema=None) as batch_op:
        batch_op.create_index("ix_api_jobs_status", ["status", "id"], unique=False)

    op.create_table(
        "api_packets",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("framework", sa.String(length=64), nullable=False),
        sa.Column("as_of", When, nullable=True),
        sa.Column("period_from", sa.Date(), nullable=True),
        sa.Column("period_to", sa.Date(), nullable=True),
        sa.Column("scope", sa.JSON(), nullable=False),
        sa.Column("requested_by", sa.String(length=256), nullable=False),
        sa.Column("requested_by_token_id", BigId, nullable=True),
        sa.Column("idempotency_key", sa.String(length=255), nullable=True),
        sa.Column("request_sha256", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("job_id", BigId, nullable=True),
        sa.Column("run_ids", sa.JSON(), nullable=False),
        sa.Column("pdf_path", sa.String(length=512), nullable=True),
        sa.Column("pdf_sha256", sa.String(length=64), nullable=True),
        sa.Column("pdf_size", sa.BigInteger(), nullable=True),
        sa.Column("bundle_path", sa.String(length=512), nullable=True),
        sa.Column("bundle_sha256", sa.String(length=64), nullable=True),
        sa.Column("bundle_size", sa.BigInteger(), nullable=True),
        sa.Column("pages", sa.Integer(), nullable=True),
        sa.Column("signer_fingerprint", sa.String(length=128), nullable=True),
        sa.Column("signer_identity", sa.String(length=512), nullable=True),
        sa.Column("self_signed", sa.Boolean(), nullable=True),
        sa.Column("created_at", When, nullable=False),
        sa.Column("finished_at", When, nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("requested_by_token_id", "idempotency_key", name="uq_api_packets_idempotency"),
    )
    with op.batch_alter_table("api_packets", schema=None) as batch_op:
        batch_op.create_index("ix_api_packets_status", ["status"], unique=False)

    op.create_table(
        "api_tokens",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("secret_sha256", sa.String(length=64), nullable=False),
        sa.Column("hint", sa.String(length=16), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("note", sa.String(length=256), nullable=True),
        sa.Column("created_by", sa.String(length=256), nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.Column("expires_at", When, nullable=True),
        sa.Column("revoked_at", When, nullable=True),
        sa.Column("packet_id", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(["packet_id"], ["api_packets.id"], ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("secret_sha256"),
    )
    op.create_table(
        "api_grants",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("packet_id", sa.String(length=36), nullable=False),
        sa.Column("token_id", BigId, nullable=False),
        sa.Column("expires_at", When, nullable=False),
        sa.Column("note", sa.String(length=256), nullable=True),
        sa.Column("created_by", sa.String(length=256), nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.Column("revoked_at", When, nullable=True),
        sa.ForeignKeyConstraint(["packet_id"], ["api_packets.id"], ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["token_id"], ["api_tokens.id"], ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("api_grants", schema=None) as batch_op:
        batch_op.create_index("ix_api_grants_packet", ["packet_id"], unique=False)
        batch_op.create_index("ix_api_grants_token", ["token_id"], unique=False)

    # The API lists evidence newest observation first, paged by (observed_at, id): see api.models.
    with op.batch_alter_table("evidence", schema=None) as batch_op:
        for name, columns in _EVIDENCE_INDEXES:
            batch_op.create_index(name, columns, unique=False)

    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_APPEND_ONLY)
    else:
        for statement in _SQLITE_APPEND_ONLY:
            op.execute(statement)


def downgrade() -> None:
    with op.batch_alter_table("evidence", schema=None) as batch_op:
        for name, _columns in _EVIDENCE_INDEXES:
            batch_op.drop_index(name)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS api_access_log_no_update ON api_access_log")
        op.execute("DROP FUNCTION IF EXISTS api_access_log_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS api_access_log_no_update")
        op.execute("DROP TRIGGER IF EXISTS api_access_log_no_delete")
    with op.batch_alter_table("api_grants", schema=None) as batch_op:
        batch_op.drop_index("ix_api_grants_token")
        batch_op.drop_index("ix_api_grants_packet")
    op.drop_table("api_grants")
    op.drop_table("api_tokens")
    with op.batch_alter_table("api_packets", schema=None) as batch_op:
        batch_op.drop_index("ix_api_packets_status")
    op.drop_table("api_packets")
    with op.batch_alter_table("api_jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_api_jobs_status")
    op.drop_table("api_jobs")
    with op.batch_alter_table("api_access_log", schema=None) as batch_op:
        batch_op.drop_index("ix_api_access_log_packet")
    op.drop_table("api_access_log")
