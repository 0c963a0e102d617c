"""Migration 0012 on a store written before canonical versions existed (both backends): every existing row reads as
version 1 and the whole store still verifies; what is written afterwards is RFC 8785 (version 2), in the same chain
and ledgers, and verifies too; a packet manifest over both says which version each payload is in; and going back
is refused once version 2 rows exist."""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import rfc8785
from sqlalchemy import Engine, insert, text, update
from sqlalchemy.exc import DBAPIError

from api.models import AccessLogEntry
from api.services import access_log
from api.services.access_log import AccessEvent
from core.canonical import JCS, LEGACY, canonical_json, content_address
from evidence.chain import evidence_record_hash, gap_record_hash, run_digest, run_header
from evidence.checks.thresholds import Thresholds
from evidence.customer.ledger import entry_digest, exception_record_hash
from evidence.customer.models import LedgerEntry, RiskExceptionRow
from evidence.findings_digest import findings_digest, set_header, thresholds_record
from evidence.findings_model import FindingSet
from evidence.models import Blob, Evidence, Gap, Run
from evidence.store import EvidenceStore
from evidence.verification import verify_store
from migrations.registry import schema_metadata
from migrations.schema import alembic_config, upgrade_schema
from reports.export import write_manifest, write_payloads
from reports.streams import ExportWriter
from tests.conftest import BACKENDS
from tests.migration_db import scratch_database

VERSIONED = (
    "runs",
    "evidence",
    "gaps",
    "finding_sets",
    "customer_items",
    "customer_exceptions",
    "customer_events",
    "customer_ledger",
    "api_access_log",
)
T0 = datetime(2026, 1, 2, 3, 0, tzinfo=UTC)
# Written differently by the two versions (floats, keys beyond the Basic Multilingual Plane).
PAYLOAD = {"ratio": 0.5, "count": 3.0, "Tags": {"\U0001f512": "locked", "\ufb01": "fi"}}
SCOPE = {"accounts": ["111111111111"], "weights": {"\U0001f512": 1.0, "\ufb01": 0.5}}


def _rows(engine: Engine, table: Any, *rows: dict[str, Any]) -> None:
    """Insert only the columns given: the schema at 0011 has no canonical_version yet."""
    with engine.begin() as connection:
        connection.execute(insert(table), list(rows))


def _write_as_before(engine: Engine) -> dict[str, str]:
    """What the auditpack before 0012 stored: a sealed run with a payload, a gap and its findings digest, an
    exception sealed into the customer ledger, an access log entry; every hash in the legacy canonical form."""
    sha, data = content_address(PAYLOAD, version=LEGACY)
    evidence = {
        "run_id": 1,
        "account_id": "111111111111",
        "region": "us-east-1",
        "service": "s3",
        "resource_type": "bucket",
        "resource_id": "arn:aws:s3:::audit-logs",
        "kind": "s3.bucket_tagging",
        "observed_at": T0,
        "owner": None,
        "sha256": sha,
    }
    gap = {
        "run_id": 1,
        "account_id": "111111111111",
        "region": "eu-west-1",
        "service": "s3",
        "operation": "GetBucketTagging",
        "kind": "s3.bucket_tagging",
        "resource_id": None,
        "error_code": "AccessDenied",
        "message": "not authorized",
        "observed_at": T0,
    }
    evidence["record_sha256"] = evidence_record_hash(**evidence, canonical_version=LEGACY)
    gap["record_sha256"] = gap_record_hash(**gap, canonical_version=LEGACY)
    run = {
        "id": 1,
        "trigger": "cli",
        "requested_by": "before the upgrade",
        "scope": SCOPE,
        "started_at": T0,
        "finished_at": T0 + timedelta(minutes=5),
        "status": "partial",
        "error": None,
        "evidence_count": 1,
        "gap_count": 1,
        "max_evidence_id": 1,
        "max_gap_id": 1,
        "chain_seq": 1,
        "previous_digest": None,
        "stats": {},
        "worker": "",
    }
    run["digest"] = run_digest(
        run_header(SimpleNamespace(**run)),
        [evidence["record_sha256"]],
        [gap["record_sha256"]],
        canonical_version=LEGACY,
    )
    thresholds = thresholds_record(Thresholds())
    older_checks = "0" * 64  # findings of earlier check code: checked against their digest
    header = set_header(run_id=1, thresholds=thresholds, checks_version=older_checks, count=0)
    exception = {
        "id": 1,
        "check_id": "iam.root_mfa_enabled",
        "control": None,
        "resource_ids": [],
        "account_id": None,
        "justification": "Break-glass only.",
        "compensating": "Credentials in a safe.",
        "requested_by": "alice",
        "requested_at": T0,
        "expires_at": T0 + timedelta(days=30),
    }
    exception["record_sha256"] = exception_record_hash(RiskExceptionRow(**exception, canonical_version=LEGACY))
    entry = {
        "seq": 1,
        "entry_type": "exception",
        "entry_id": 1,
        "record_sha256": exception["record_sha256"],
        "previous_digest": None,
    }
    entry["digest"] = entry_digest(**entry, canonical_version=LEGACY)
    logged = {
        "seq": 1,
        "at": T0,
        "principal": "auditor token 2 (Acme LLP)",
        "token_id": 2,
        "role": "auditor",
        "action": "download.pdf",
        "method": "GET",
        "path": "/v1/packets/p/pdf",
        "packet_id": None,
        "status_code": 200,
        "client": "203.0.113.9",
        "bytes_sent": 10,
        "sha256": "ab" * 32,
        "previous_sha256": None,
    }
    logged["entry_sha256"] = access_log.entry_hash(logged)  # no version: an entry from before versions
    _rows(engine, Blob.__table__, {"sha256": sha, "size": len(data), "data": zlib.compress(data)})
    # Ids from the sequences (PostgreSQL would not move them past explicit ones): 1 in the empty database.
    _rows(engine, Run.__table__, {name: value for name, value in run.items() if name != "id"})
    _rows(engine, Evidence.__table__, evidence)
    _rows(engine, Gap.__table__, gap)
    _rows(
        engine,
        FindingSet.__table__,
        {
            "run_id": 1,
            "digest": findings_digest(header, [], canonical_version=LEGACY),
            "finding_count": 0,
            "thresholds": thresholds,
            "checks_version": older_checks,
            "evaluated_at": T0 + timedelta(minutes=6),
        },
    )
    _rows(engine, RiskExceptionRow.__table__, exception)
    _rows(engine, LedgerEntry.__table__, entry)
    _rows(engine, AccessLogEntry.__table__, logged)
    return {"payload": sha, "run_digest": run["digest"]}


@pytest.fixture(params=BACKENDS)
def at_0011(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A database migrated to 0011 (a schema of its own on PostgreSQL)."""
    with scratch_database(request.param, tmp_path, prefix="t_m12") as engine:
        schema_metadata()  # every model module loaded, as the migration environment does
        upgrade_schema(engine, "0011")
        yield engine


def _versions(engine: Engine) -> dict[str, list[int]]:
    with engine.connect() as connection:
        return {
            table: list(connection.scalars(text(f"SELECT canonical_version FROM {table} ORDER BY 1")))
            for table in VERSIONED
        }


def _event(at: datetime) -> AccessEvent:
    return AccessEvent(
        at=at,
        principal="auditor token 2 (Acme LLP)",
        token_id=2,
        role="auditor",
        action="download.bundle",
        method="GET",
        path="/v1/packets/p/bundle",
        packet_id=None,
        status_code=200,
        client="203.0.113.9",
        bytes_sent=20,
    )


def _export(work: Path, name: str, write: Any) -> bytes:
    out = ExportWriter(
        work, name=name, media_type="application/json", description=name, modified=T0, bundle=False, keep_raw=True
    )
    write(out)
    exported = out.finish()
    assert exported.raw_path is not None
    return exported.raw_path.read_bytes()


def test_a_store_from_before_0012_verifies_after_it_and_grows_in_rfc_8785(at_0011: Engine, tmp_path: Path) -> None:
    before = _write_as_before(at_0011)
    upgrade_schema(at_0011)

    # Every existing row is version 1, and everything verifies in it.
    assert _versions(at_0011) == {
        table: [LEGACY] if table not in {"customer_items", "customer_events"} else [] for table in VERSIONED
    }
    result = verify_store(at_0011)
    assert result.intact, result.problems
    assert (result.evidence_checked, result.gaps_checked, result.customer.exceptions_checked) == (1, 1, 1)  # type: ignore[union-attr]
    assert result.findings_not_rederived == (1,)
    assert access_log.verify_database(at_0011).intact

    # New writes are version 2: the same payload is another blob (RFC 8785 bytes), the run chains to the old one.
    store = EvidenceStore(at_0011)
    run = store.start_run(trigger="cli", requested_by="after the upgrade", scope=SCOPE)
    with store.recorder(run.id) as recorder:
        new_sha = recorder.add(
            account_id="111111111111",
            region="us-east-1",
            service="s3",
            resource_type="bucket",
            resource_id="arn:aws:s3:::audit-logs",
            kind="s3.bucket_tagging",
            payload=PAYLOAD,
        )
    sealed = store.finish_run(run.id)
    assert (sealed.canonical_version, sealed.previous_digest) == (JCS, before["run_digest"])
    assert new_sha != before["payload"] and store.payload_bytes(new_sha) == rfc8785.dumps(PAYLOAD)
    access_log.append(at_0011, _event(T0 + timedelta(days=1)))
    result = verify_store(at_0011)
    assert result.intact, result.problems
    assert access_log.verify_database(at_0011).intact
    assert [r["canonical_version"] for r in access_log.iter_records(at_0011)] == [LEGACY, JCS]

    # A manifest over both runs says which version each payload is in; each line re-serialises to itself in it.
    manifest = json.loads(_export(tmp_path, "manifest.json", lambda out: write_manifest(store, [1, run.id], {}, out)))
    stated = {entry["sha256"]: entry["canonical_version"] for entry in manifest["evidence"]}
    assert stated == {before["payload"]: LEGACY, new_sha: JCS}
    lines = _export(tmp_path, "evidence.ndjson", lambda out: write_payloads(store, [1, run.id], out)).splitlines()
    assert len(lines) == 2
    for line in lines:
        assert canonical_json(json.loads(line), version=stated[hashlib.sha256(line).hexdigest()]) == line


def test_tampering_with_rows_from_before_0012_is_still_found(at_0011: Engine) -> None:
    _write_as_before(at_0011)
    upgrade_schema(at_0011)
    with at_0011.begin() as connection:
        connection.execute(update(Evidence).where(Evidence.id == 1).values(region="ap-south-1"))
        connection.execute(update(Run).where(Run.id == 1).values(requested_by="someone else"))
    problems = [str(p) for p in verify_store(at_0011).problems]
    assert any(p.startswith("run 1 evidence 1: fields were changed") for p in problems), problems
    assert any(p.startswith("run 1: digest mismatch") for p in problems), problems


def test_going_back_is_refused_once_rfc_8785_rows_exist_and_keeps_the_guards_otherwise(at_0011: Engine) -> None:
    from alembic import command

    _write_as_before(at_0011)
    upgrade_schema(at_0011)
    command.downgrade(alembic_config(at_0011), "0011")  # only version 1 rows: nothing is lost going back
    with pytest.raises(DBAPIError, match="append-only"), at_0011.begin() as connection:
        connection.execute(text("UPDATE api_access_log SET bytes_sent = 1"))
    upgrade_schema(at_0011)
    access_log.append(at_0011, _event(T0 + timedelta(days=1)))
    with pytest.raises(RuntimeError, match="api_access_log holds 1 row\\(s\\) hashed with canonical version 2"):
        command.downgrade(alembic_config(at_0011), "0011")
