"""Shared fixtures: a database per test on SQLite and, when AUDITPACK_TEST_DATABASE_URL is set, on PostgreSQL.

PostgreSQL tests share one database: each pytest session migrates its own schema once (so parallel sessions never
meet) and empties its tables before every test.
"""

from __future__ import annotations

import functools
import os
import shutil
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from evidence.db import make_engine
from evidence.store import EvidenceStore
from migrations.schema import upgrade_schema
from tests.db_snapshots import Snapshots

# Fake AWS credentials and one moto_server per session, shared by every test package; botocore models decoded once.
pytest_plugins = ["tests.botocore_models", "tests.moto_server", "tests.scenario"]

PG_URL = os.environ.get("AUDITPACK_TEST_DATABASE_URL", "").strip()
T = TypeVar("T")
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(autouse=True)
def _isolated_settings(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No test reads or writes ./auditpack.db or ./auditpack-data by accident: defaults point at a temp dir
    (tests that need the real defaults, or their own values, set or delete these variables themselves)."""
    home = tmp_path_factory.mktemp("settings")
    monkeypatch.setenv("AUDITPACK_DATA_DIR", str(home / "data"))
    monkeypatch.setenv("AUDITPACK_DATABASE_URL", f"sqlite:///{home / 'auditpack.db'}")
    # The tests that build the whole service on PostgreSQL run its jobs in-process, as on SQLite; the procrastinate
    # workers have their own tests (tests/api/test_procrastinate.py), which set this back to auto.
    monkeypatch.setenv("AUDITPACK_JOB_QUEUE", "in-process")
    # No background evaluation at start-up beside what a test asks (tests count evaluations); the warm-up has its
    # own test (tests/ui/test_board.py).
    monkeypatch.setenv("AUDITPACK_UI_WARM_STATUSES", "false")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if PG_URL:
        return
    skip = pytest.mark.skip(reason="AUDITPACK_TEST_DATABASE_URL is not set (make test sets it)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


def schema_url(base_url: str, schema: str) -> str:
    """The base URL with every connection's search_path set to `schema`."""
    url = make_url(base_url).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (migrating every time would be slow)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade_schema(engine)
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def pg_schema() -> Iterator[str]:
    """Create this session's schema, migrate it once, drop it at the end."""
    if not PG_URL:
        pytest.skip("AUDITPACK_TEST_DATABASE_URL is not set")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(schema_url(PG_URL, schema))
    upgrade_schema(engine)
    engine.dispose()
    try:
        yield schema
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
        _pg_admin().dispose()


def _empty_pg_schema(schema: str) -> None:
    """Delete every row and restart every sequence, as `TRUNCATE ... RESTART IDENTITY` would. DELETE with triggers
    and foreign-key checks off (`session_replication_role = replica`: the append-only guards would refuse it) costs
    a few milliseconds; TRUNCATE gives each table and index a new file and took 0.2-1.5 s per test on a busy
    machine. It needs a superuser (as `make test` connects); any other role gets the TRUNCATE."""
    select_tables = text(
        "SELECT tablename FROM pg_tables WHERE schemaname = :schema AND tablename <> 'alembic_version'"
    )
    try:
        with _pg_admin().begin() as connection:
            tables = connection.execute(select_tables, {"schema": schema}).scalars().all()
            connection.execute(text("SET LOCAL session_replication_role = replica"))
            for name in tables:
                connection.execute(text(f'DELETE FROM "{schema}"."{name}"'))
            connection.execute(
                text(
                    "SELECT setval(format('%I.%I', schemaname, sequencename)::regclass, start_value, false) "
                    "FROM pg_sequences WHERE schemaname = :schema AND last_value IS NOT NULL"
                ),
                {"schema": schema},
            )
    except DBAPIError as error:
        if "session_replication_role" not in str(error):
            raise
        with _pg_admin().begin() as connection:
            tables = connection.execute(select_tables, {"schema": schema}).scalars().all()
            names = ", ".join(f'"{schema}"."{name}"' for name in tables)
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@functools.cache
def _pg_admin() -> Engine:
    """One engine on the base URL for the session (disposed with the schema): a connection per test costs more than
    the DELETEs."""
    return create_engine(PG_URL)


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database for one test, on each backend."""
    if request.param == "sqlite":
        path = tmp_path / "auditpack.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    schema = request.getfixturevalue("pg_schema")
    _empty_pg_schema(schema)
    return schema_url(PG_URL, schema)


@pytest.fixture(scope="session")
def _snapshots(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Snapshots]:
    snapshots = Snapshots(tmp_path_factory.mktemp("snapshots"), _pg_admin)
    yield snapshots
    snapshots.close()


@pytest.fixture
def db_snapshot(
    request: pytest.FixtureRequest, db_url: str, _snapshots: Snapshots
) -> Callable[[str, Callable[[], T]], T]:
    """`db_snapshot(key, build)`: run `build` (it writes into this test's database and returns a value) once per
    backend and session; later tests asking for the same key get a copy of those rows and the same value. Ask before
    the test writes anything else: the copy replaces the database's contents. The value is shared: don't change it."""
    schema = None if db_url.startswith("sqlite") else request.getfixturevalue("pg_schema")

    def snapshot(key: str, build: Callable[[], T]) -> T:
        return _snapshots.get(key, db_url, schema, build)  # type: ignore[no-any-return]

    return snapshot


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def store(engine: Engine) -> EvidenceStore:
    return EvidenceStore(engine)


@pytest.fixture
def cli_env(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Point the CLI at this test's database and a fresh data directory."""
    env = {"AUDITPACK_DATABASE_URL": db_url, "AUDITPACK_DATA_DIR": str(tmp_path / "data")}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


class CliResult:
    def __init__(self, code: int, stdout: str, stderr: str) -> None:
        self.code, self.stdout, self.stderr = code, stdout, stderr

    def __repr__(self) -> str:
        return f"CliResult(code={self.code}, stdout={self.stdout!r}, stderr={self.stderr!r})"


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    """Run `auditpack ARGS...` in-process; returns exit code and captured output."""
    from auditpack.cli.app import main

    def run(*args: str) -> CliResult:
        capsys.readouterr()
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


@pytest.fixture
def sqlite_only(db_url: str) -> None:
    """For tests whose subject is not the database: run them on SQLite only."""
    if not db_url.startswith("sqlite"):
        pytest.skip("backend-independent; covered on SQLite")


@pytest.fixture(scope="session")
def month_template(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """tests/frameworks/period_store.py's month of captures, recorded once per session into a SQLite file."""
    from tests.frameworks.period_store import build_month

    path = tmp_path_factory.mktemp("month") / "month.db"
    shutil.copyfile(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    yield build_month(engine, f"sqlite:///{path}")
    engine.dispose()


@pytest.fixture(scope="module", params=BACKENDS)
def month_store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A month of nightly captures at controlled times (tests/frameworks/period_store.py), per test module and
    backend, shared by its tests (reading it evaluates its unevaluated runs, as in use): on SQLite a copy of the
    session's recording, on PostgreSQL recorded again."""
    from tests.frameworks.period_store import build_month

    if request.param == "sqlite":
        template = request.getfixturevalue("month_template")
        path = tmp_path_factory.mktemp("month") / "month.db"
        with sqlite3.connect(template.url.removeprefix("sqlite:///")) as source, sqlite3.connect(path) as target:
            source.backup(target)  # consistent even with pages still in the template's WAL
        url = f"sqlite:///{path}"
        engine = make_engine(url)
        yield replace(template, engine=engine, url=url)
    else:
        schema = request.getfixturevalue("pg_schema")
        _empty_pg_schema(schema)
        url = schema_url(PG_URL, schema)
        engine = make_engine(url)
        yield build_month(engine, url)
    engine.dispose()
