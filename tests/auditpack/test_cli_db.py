from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from migrations.schema import head_revision
from tests.conftest import PG_URL, schema_url


def test_first_use_of_a_fresh_sqlite_file_creates_the_schema(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli
) -> None:  # type: ignore[no-untyped-def]
    database = tmp_path / "nested" / "fresh.db"
    monkeypatch.setenv("AUDITPACK_DATABASE_URL", f"sqlite:///{database}")
    monkeypatch.setenv("AUDITPACK_DATA_DIR", str(tmp_path / "data"))
    result = run_cli("verify", "--store")
    assert result.code == 0, result
    tables = set(inspect(create_engine(f"sqlite:///{database}")).get_table_names())
    assert {"runs", "blobs", "evidence", "gaps", "alembic_version"} <= tables


@pytest.mark.postgres
def test_postgres_needs_db_upgrade_and_says_so(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    schema = f"t_upgrade_{tmp_path.name[-8:].replace('-', '_')}"
    admin = create_engine(PG_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        monkeypatch.setenv("AUDITPACK_DATABASE_URL", schema_url(PG_URL, schema))
        monkeypatch.setenv("AUDITPACK_DATA_DIR", str(tmp_path / "data"))
        refused = run_cli("verify", "--store")
        assert refused.code == 2
        assert "the database schema is empty" in refused.stderr and "auditpack db upgrade" in refused.stderr

        upgraded = run_cli("db", "upgrade")
        assert upgraded.code == 0, upgraded
        assert f"upgraded from empty to revision {head_revision()}" in upgraded.stdout
        assert run_cli("db", "upgrade").stdout.strip() == f"database already at revision {head_revision()}"
        assert run_cli("verify", "--store").code == 0
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
