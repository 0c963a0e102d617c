"""A store written before RFC 8785 (canonical version 1) keeps verifying once new records are written in version 2,
in one chain; every row says which version its hash was computed in; tampering is found in either version.

The version 1 rows are written by the real writers with `core.canonical.CURRENT_VERSION` set back to 1, which
is what the previous auditpack did (tests/test_migration_0012.py starts instead from a database at revision 0011,
written with the legacy serialiser).
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
import rfc8785
from sqlalchemy import Engine, select, text, update

from core import canonical
from core.canonical import JCS, LEGACY, CanonicalizationError
from evidence.checks.thresholds import Thresholds
from evidence.customer.models import Item, LedgerEntry
from evidence.customer.verify import verify_customer
from evidence.findings import load_findings
from evidence.findings_check import ensure_findings
from evidence.findings_model import FindingRow, FindingSet
from evidence.models import Blob, Evidence, Gap, Run
from evidence.store import EvidenceStore
from evidence.verification import verify_store
from tests.evidence.customer.conftest import BOB, T0, submit
from tests.evidence.helpers import replay_run
from tests.scenario import Collected

# A payload the two versions write differently: floats (1.0 is "1" in RFC 8785, 1e-07 is "1e-7") and keys beyond
# the Basic Multilingual Plane (sorted by code point in version 1, by UTF-16 code unit in version 2).
PAYLOAD = {"ratio": 0.5, "count": 3.0, "small": 1e-7, "Tags": {"\U0001f512": "locked", "\ufb01": "fi"}}
LEGACY_BYTES = json.dumps(PAYLOAD, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
SAME = {"Name": "plain"}  # ASCII text only: the same bytes, so one blob for both versions
# A run scope the versions also write differently, so the run digest depends on the version it was computed in.
SCOPE = {"accounts": ["111111111111"], "weights": {"\U0001f512": 1.0, "\ufb01": 0.5}}


def _record(store: EvidenceStore) -> Run:
    run = store.start_run(trigger="cli", requested_by="tests", scope=SCOPE)
    with store.recorder(run.id) as recorder:
        for index, payload in enumerate((PAYLOAD, SAME)):
            recorder.add(
                account_id="111111111111",
                region="us-east-1",
                service="s3",
                resource_type="bucket",
                resource_id=f"arn:aws:s3:::bucket-{index}",
                kind="s3.bucket_tagging",
                payload=payload,
            )
        recorder.add_gap(
            account_id="111111111111",
            region="eu-west-1",
            service="s3",
            operation="GetBucketTagging",
            error_code="AccessDenied",
            message="not authorized",
        )
    return store.finish_run(run.id)


@dataclass(frozen=True)
class Written:
    """What one auditpack version wrote: the scenario estate's evidence, evaluated, and a run holding PAYLOAD."""

    estate: Run
    payload: Run


@pytest.fixture
def written(collected: Collected, store: EvidenceStore, db_snapshot) -> dict[int, Written]:  # type: ignore[no-untyped-def]
    """Written in version 1 (before the upgrade), then in version 2, into one chain (once per backend: a copy)."""

    def write() -> dict[int, Written]:
        out = {}
        with pytest.MonkeyPatch.context() as patch:
            for version in (LEGACY, JCS):
                patch.setattr(canonical, "CURRENT_VERSION", version)
                estate = replay_run(collected.store, collected.run.id, store)
                ensure_findings(store, estate.id, thresholds=Thresholds())
                out[version] = Written(estate, _record(store))
        return out

    return db_snapshot("canonical-versions", write)  # type: ignore[no-any-return]


def _versions(engine: Engine, run_id: int) -> dict[str, set[int]]:
    with engine.connect() as connection:
        return {
            model.__tablename__: set(connection.scalars(select(model.canonical_version).where(key == run_id)))
            for model, key in (
                (Run, Run.id),
                (Evidence, Evidence.run_id),
                (Gap, Gap.run_id),
                (FindingSet, FindingSet.run_id),
            )
        }


@pytest.mark.parametrize("version", [LEGACY, JCS])
def test_every_row_records_the_version_it_was_hashed_in(
    written: dict[int, Written], engine: Engine, version: int
) -> None:
    assert _versions(engine, written[version].estate.id) == {
        name: {version} for name in ("runs", "evidence", "gaps", "finding_sets")
    }
    assert _versions(engine, written[version].payload.id)["evidence"] == {version}


def test_one_chain_runs_across_the_versions(written: dict[int, Written]) -> None:
    assert written[LEGACY].payload.canonical_version == LEGACY
    assert written[JCS].estate.previous_digest == written[LEGACY].payload.digest


def test_payloads_are_stored_in_the_version_of_their_row(written: dict[int, Written], store: EvidenceStore) -> None:
    (old_sha, old_same), (new_sha, new_same) = (
        [record.sha256 for record in store.iter_evidence(written[version].payload.id)] for version in (LEGACY, JCS)
    )
    assert store.payload_bytes(old_sha) == LEGACY_BYTES and old_sha == hashlib.sha256(LEGACY_BYTES).hexdigest()
    assert store.payload_bytes(new_sha) == rfc8785.dumps(PAYLOAD) != LEGACY_BYTES
    assert new_sha == hashlib.sha256(rfc8785.dumps(PAYLOAD)).hexdigest()
    assert old_same == new_same  # identical bytes in both versions: stored once
    assert store.load_payload(old_sha) == store.load_payload(new_sha) == PAYLOAD


def test_a_store_written_in_both_versions_verifies(written: dict[int, Written], engine: Engine) -> None:
    result = verify_store(engine)
    assert result.intact, result.problems
    assert result.runs_checked == 4
    assert result.findings_checked == 2 * len(load_findings(EvidenceStore(engine), written[JCS].estate.id)) > 0
    assert result.findings_not_rederived == ()


@pytest.mark.parametrize("version", [LEGACY, JCS])
@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (update(Evidence).values(region="ap-south-1"), "fields were changed: record hash"),
        (update(Gap).values(message="fine"), "fields were changed"),
        (update(Run).values(requested_by="someone else"), "digest mismatch"),
        (update(FindingRow).values(reason="forged"), "do not match the digest recorded"),
    ],
    ids=["evidence", "gap", "run", "finding"],
)
def test_tampering_is_found_in_either_version(
    written: dict[int, Written], engine: Engine, version: int, change: Any, expected: str
) -> None:
    table = change.table
    run = written[version].estate if table.name == "findings" else written[version].payload
    key = table.c.id if table.name == "runs" else table.c.run_id
    with engine.begin() as connection:
        connection.execute(change.where(key == run.id))
    problems = verify_store(engine).problems
    assert any(p.run_id == run.id and expected in p.problem for p in problems), problems
    assert all(p.run_id == run.id or "previous_digest" in p.problem for p in problems), problems


@pytest.mark.parametrize("version", [LEGACY, JCS])
def test_an_altered_payload_is_found_in_either_version(
    written: dict[int, Written], store: EvidenceStore, version: int
) -> None:
    sha = next(store.iter_evidence(written[version].payload.id)).sha256
    forged = json.dumps({**PAYLOAD, "ratio": 0.0}).encode()
    with store.engine.begin() as connection:
        connection.execute(update(Blob).where(Blob.sha256 == sha).values(data=zlib.compress(forged)))
    problems = [str(p) for p in verify_store(store.engine).problems]
    assert any(f"payload blob {sha} was altered" in p for p in problems), problems


@pytest.mark.parametrize(("version", "flipped"), [(LEGACY, JCS), (JCS, LEGACY)])
def test_a_run_digest_is_recomputed_in_its_recorded_version(
    written: dict[int, Written], engine: Engine, version: int, flipped: int
) -> None:
    """The scope is written differently by the two versions: recomputing in the other one does not match."""
    run = written[version].payload
    with engine.begin() as connection:
        connection.execute(update(Run).where(Run.id == run.id).values(canonical_version=flipped))
    problems = [str(p) for p in verify_store(engine).problems]
    assert problems == [f"run {run.id}: digest mismatch: stored {run.digest}, recomputed " + problems[0][-64:]]


def test_a_version_this_auditpack_does_not_know_is_reported_not_guessed(
    written: dict[int, Written], engine: Engine
) -> None:
    run = written[LEGACY].payload
    with engine.begin() as connection:
        connection.execute(update(Evidence).where(Evidence.run_id == run.id).values(canonical_version=9))
    problems = [str(p) for p in verify_store(engine).problems]
    # One problem per row; the run's digest still checks out over their stored hashes.
    assert len(problems) == 2, problems
    assert all(p.startswith(f"run {run.id} evidence") and "canonical version 9 is unknown" in p for p in problems)


def test_an_integer_beyond_doubles_is_refused_where_it_is_recorded(store: EvidenceStore) -> None:
    """RFC 8785 cannot carry it exactly: the recorder refuses it by path (the collector's guard makes that a gap)
    instead of storing a number another implementation would hash differently."""
    run = store.start_run(trigger="cli", requested_by="tests", scope={})
    with store.recorder(run.id) as recorder:
        with pytest.raises(CanonicalizationError, match=r"^\$\.Volume\.SizeBytes: integer 9007199254740993 is beyond"):
            recorder.add(
                account_id="111111111111",
                region="us-east-1",
                service="ec2",
                resource_type="volume",
                resource_id="vol-1",
                kind="ec2.volume",
                payload={"Volume": {"SizeBytes": 2**53 + 1}},
            )
        assert recorder.evidence_added == 0


# -- the customer ledger --------------------------------------------------------------------------------------------


@pytest.fixture
def ledger(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """Two items submitted and reviewed: the first (item, event, entries) in version 1, the second in version 2."""
    from evidence.customer import service

    for version in (LEGACY, JCS):
        monkeypatch.setattr(canonical, "CURRENT_VERSION", version)
        item = submit(engine, data=b"%PDF-1.7\n" + bytes([version]) * 100, title=f"Policy written in version {version}")
        service.approve(engine, actor=BOB, item_id=item.id, now=T0 + timedelta(hours=1))
    yield engine
    if engine.dialect.name == "postgresql":  # the session's schema is shared: put the guard back
        with engine.begin() as connection:
            connection.execute(text("ALTER TABLE customer_items ENABLE TRIGGER customer_items_append_only"))


def _unguard_items(engine: Engine) -> None:
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("ALTER TABLE customer_items DISABLE TRIGGER customer_items_append_only"))
        else:
            connection.execute(text("DROP TRIGGER customer_items_no_update"))


def test_a_ledger_written_in_both_versions_verifies(ledger: Engine) -> None:
    with ledger.connect() as connection:
        items = dict(connection.execute(select(Item.id, Item.canonical_version).order_by(Item.id)).all())
        entries = list(connection.scalars(select(LedgerEntry.canonical_version).order_by(LedgerEntry.seq)))
    assert items == {1: LEGACY, 2: JCS}
    assert entries == [LEGACY] * 3 + [JCS] * 3  # each item and its review events (submitted, approved)
    result = verify_customer(ledger)
    assert result.intact, result.problems
    assert result.head is not None and result.head.canonical_version == JCS


@pytest.mark.parametrize("item_id", [1, 2], ids=["version 1", "version 2"])
def test_a_changed_customer_item_is_found_in_either_version(ledger: Engine, item_id: int) -> None:
    _unguard_items(ledger)
    with ledger.begin() as connection:
        connection.execute(update(Item).where(Item.id == item_id).values(owner="someone else"))
    problems = [str(p) for p in verify_customer(ledger).problems]
    assert problems and problems[0].startswith(f"customer item {item_id}: fields were changed"), problems
