"""The scenario estate, built and collected once per test session (a pytest plugin: every package's tests use it).

Building the Organization in moto and collecting it takes seconds, and every check test only reads what was
stored, so one collection (into a SQLite file) serves them all. A botocore `before-call` hook on the base
session records every operation the collection made (member-account sessions inherit it).
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from auditpack.estate.detection import guardduty_administrator_as_aws
from evidence.aws.scope import CollectionScope
from evidence.checks.types import Finding
from evidence.db import make_engine
from evidence.findings import load_findings
from evidence.models import Run
from evidence.orchestrator import collect
from evidence.store import EvidenceStore
from tests.evidence.estate import REGIONS, Estate, build_estate
from tests.moto_server import fake_aws_env


@dataclass
class Collected:
    store: EvidenceStore
    run: Run
    estate: Estate
    path: Path
    operations: set[tuple[str, str]] = field(default_factory=set)  # (client, Operation) made while collecting

    def copy_to(self, path: Path) -> Path:
        """A consistent copy of the collected database (SQLite's backup API: the WAL may hold recent pages)."""
        with sqlite3.connect(self.path) as source, sqlite3.connect(path) as target:
            source.backup(target)
        return path

    def findings(self, check_id: str) -> list[Finding]:
        return load_findings(self.store, self.run.id, check_id=check_id)

    def finding(self, check_id: str, resource: str) -> Finding:
        """The one finding of `check_id` whose resource id ends with `resource`."""
        matches = [f for f in self.findings(check_id) if f.resource_id.endswith(resource)]
        assert len(matches) == 1, f"{check_id}: {len(matches)} findings for {resource}: {matches}"
        return matches[0]


@pytest.fixture(scope="session")
def collected(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Collected]:
    path = tmp_path_factory.mktemp("estate") / "estate.db"
    shutil.copyfile(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    store = EvidenceStore(engine)
    operations: set[tuple[str, str]] = set()

    def record_call(model: Any, **_: Any) -> None:
        operations.add((model.service_model.service_name, model.name))

    with fake_aws_env(), mock_aws(), guardduty_administrator_as_aws():
        base = boto3.Session(region_name="us-east-1")
        estate = build_estate(base)
        base.events.register("before-call", record_call)
        scope = CollectionScope(session=base, org=True, regions=REGIONS, max_attempts=2)
        run = collect(store, scope, trigger="cli", requested_by="tests")
    yield Collected(store=store, run=run, estate=estate, path=path, operations=operations)
    engine.dispose()


@pytest.fixture
def sqlite_store(sqlite_template: Path, tmp_path: Path) -> Iterator[EvidenceStore]:
    """A fresh SQLite store, for tests whose subject is AWS behaviour rather than the database backend."""
    path = tmp_path / "auditpack.db"
    shutil.copyfile(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    yield EvidenceStore(engine)
    engine.dispose()
