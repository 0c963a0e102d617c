"""Migration 0005 widens the actor columns on a populated database: every value kept, the findings still attached
to their run, the access log still append-only, and a 292-character token name now fits (both backends)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from migrations.schema import upgrade_schema
from tests.conftest import BACKENDS
from tests.migration_db import scratch_database

LONG_NAME = "officer token 9223372036854775807 (" + "n" * 256 + ")"
_ROWS = (
    "INSERT INTO runs (id, trigger, requested_by, scope, started_at, status, evidence_count, gap_count, stats,"
    " worker) VALUES (1, 'api', 'officer token 1 (alice)', '{}', '2026-01-01 00:00:00', 'complete', 0, 0, '{}', '')",
    "INSERT INTO findings (run_id, check_id, status, severity, account_id, region, resource_id, resource_type,"
    " reason, evidence) VALUES (1, 'x.y', 'pass', 'low', '111111111111', 'us-east-1', 'r', 't', 'ok', '[]')",
    "INSERT INTO api_access_log (seq, at, principal, action, method, path, status_code, bytes_sent, entry_sha256)"
    " VALUES (1, '2026-01-01 00:00:00', 'auditor token 2 (Acme LLP)', 'request', 'GET', '/', 200, 0, 'h')",
)


@pytest.fixture(params=BACKENDS)
def at_0004(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A database migrated to 0004 with a run, its finding and an access log entry."""
    with scratch_database(request.param, tmp_path, prefix="t_m5") as engine:
        upgrade_schema(engine, "0004")
        with engine.begin() as connection:
            for statement in _ROWS:
                connection.execute(text(statement))
        yield engine


def test_0005_keeps_every_value_and_guard_and_takes_the_longest_name(at_0004: Engine) -> None:
    upgrade_schema(at_0004, "0005")
    with at_0004.begin() as connection:
        assert connection.execute(text("SELECT requested_by FROM runs")).scalar() == "officer token 1 (alice)"
        assert connection.execute(text("SELECT COUNT(*) FROM findings WHERE run_id = 1")).scalar() == 1
        assert connection.execute(text("SELECT principal FROM api_access_log")).scalar() == "auditor token 2 (Acme LLP)"
        connection.execute(text("UPDATE runs SET requested_by = :name"), {"name": LONG_NAME})
        assert connection.execute(text("SELECT requested_by FROM runs")).scalar() == LONG_NAME
    for statement in ("UPDATE api_access_log SET principal = 'forged'", "DELETE FROM api_access_log"):
        with pytest.raises(DBAPIError, match="append-only"), at_0004.begin() as connection:
            connection.execute(text(statement))


def test_0005_goes_back_unless_a_longer_name_is_stored(at_0004: Engine) -> None:
    upgrade_schema(at_0004, "0005")
    from alembic import command

    from migrations.schema import alembic_config

    command.downgrade(alembic_config(at_0004), "0004")
    with at_0004.begin() as connection:
        assert connection.execute(text("SELECT requested_by FROM runs")).scalar() == "officer token 1 (alice)"
    upgrade_schema(at_0004, "0005")
    with at_0004.begin() as connection:
        connection.execute(text("UPDATE runs SET requested_by = :name"), {"name": LONG_NAME})
    with pytest.raises(RuntimeError, match="cannot go back to 256"):
        command.downgrade(alembic_config(at_0004), "0004")
