"""`auditpack verify --store` detects every kind of tampering, naming the first broken run and row."""

import zlib
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, select, text, update

from evidence.chain import gap_record_hash
from evidence.models import Blob, Evidence, Gap, Run
from evidence.store import EvidenceStore
from evidence.verification import verify_store
from tests.evidence.helpers import record_run


@pytest.fixture
def chain(store: EvidenceStore, cli_env: dict[str, str]) -> list[Run]:
    """Three sealed runs; the middle one is the victim in most tests."""
    return [
        record_run(store, [{"n": 1}, {"n": 2}]),
        record_run(store, [{"n": 3}, {"n": 4}, {"n": 5}], gaps=[{}]),
        record_run(store, [{"n": 6}]),
    ]


def _evidence_ids(engine: Engine, run_id: int) -> list[int]:
    with engine.connect() as connection:
        return list(connection.scalars(select(Evidence.id).where(Evidence.run_id == run_id).order_by(Evidence.id)))


def test_an_untouched_store_verifies(chain: list[Run], run_cli) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("verify", "--store")
    assert result.code == 0, result
    assert "store intact" in result.stdout and chain[-1].digest in result.stdout
    assert "3 runs, 6 evidence rows, 1 gaps" in result.stdout


def test_a_changed_blob_byte_is_detected(chain: list[Run], engine: Engine, run_cli) -> None:  # type: ignore[no-untyped-def]
    victim_row = _evidence_ids(engine, chain[1].id)[1]
    with engine.begin() as connection:
        sha = connection.scalar(select(Evidence.sha256).where(Evidence.id == victim_row))
        data = zlib.decompress(connection.scalar(select(Blob.data).where(Blob.sha256 == sha)))
        tampered = data.replace(b"4", b"9")
        assert tampered != data
        connection.execute(update(Blob).where(Blob.sha256 == sha).values(data=zlib.compress(tampered)))
    result = run_cli("verify", "--store")
    assert result.code == 1
    assert f"run {chain[1].id} evidence {victim_row}: payload blob {sha} was altered" in result.stderr


def test_a_changed_evidence_sha256_is_detected(chain: list[Run], engine: Engine, run_cli) -> None:  # type: ignore[no-untyped-def]
    first, other = _evidence_ids(engine, chain[1].id)[:2]
    with engine.begin() as connection:
        other_sha = connection.scalar(select(Evidence.sha256).where(Evidence.id == other))
        connection.execute(update(Evidence).where(Evidence.id == first).values(sha256=other_sha))
    result = run_cli("verify", "--store")
    assert result.code == 1
    assert f"run {chain[1].id} evidence {first}: fields were changed" in result.stderr


def test_a_deleted_evidence_row_is_detected(chain: list[Run], engine: Engine, run_cli) -> None:  # type: ignore[no-untyped-def]
    victim = _evidence_ids(engine, chain[1].id)[0]
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM evidence WHERE id = :id"), {"id": victim})
    result = run_cli("verify", "--store")
    assert result.code == 1
    assert f"run {chain[1].id}: 2 evidence rows stored but 3 were sealed: rows deleted" in result.stderr


def test_a_row_inserted_into_an_old_run_is_detected(chain: list[Run], engine: Engine, run_cli) -> None:  # type: ignore[no-untyped-def]
    template = _evidence_ids(engine, chain[0].id)[0]
    with engine.begin() as connection:
        row = connection.execute(select(Evidence).where(Evidence.id == template)).mappings().one()
        values = {key: value for key, value in row.items() if key != "id"}
        values["resource_id"] = "arn:aws:s3:::forged"
        inserted = connection.execute(Evidence.__table__.insert().values(**values)).inserted_primary_key[0]
    result = run_cli("verify", "--store")
    assert result.code == 1
    assert f"run {chain[0].id} evidence {inserted}: fields were changed" in result.stderr
    assert "was added after the run was sealed" in result.stderr


def test_a_rewritten_run_digest_is_detected(chain: list[Run], engine: Engine, run_cli) -> None:  # type: ignore[no-untyped-def]
    with engine.begin() as connection:
        connection.execute(update(Run).where(Run.id == chain[1].id).values(digest="0" * 64))
    result = run_cli("verify", "--store")
    assert result.code == 1
    assert f"run {chain[1].id}: digest mismatch: stored {'0' * 64}" in result.stderr
    # The next run's link no longer matches either, but the first broken run is reported first.
    assert result.stderr.index(f"run {chain[1].id}") < result.stderr.index(f"run {chain[2].id}")


def test_a_consistently_forged_row_still_breaks_the_run_digest(chain: list[Run], engine: Engine) -> None:
    """An attacker who also recomputes the row's record hash is caught by the run digest."""
    from evidence.chain import evidence_record_hash

    victim = _evidence_ids(engine, chain[1].id)[0]
    with engine.begin() as connection:
        row = dict(connection.execute(select(Evidence).where(Evidence.id == victim)).mappings().one())
        row["region"] = "ap-south-1"
        fields = {k: row[k] for k in row if k not in ("id", "record_sha256")}
        connection.execute(
            update(Evidence)
            .where(Evidence.id == victim)
            .values(region="ap-south-1", record_sha256=evidence_record_hash(**fields))
        )
    result = verify_store(engine)
    assert not result.intact
    assert result.first_problem is not None and result.first_problem.run_id == chain[1].id
    assert "digest mismatch" in result.first_problem.problem


def test_json_output_lists_problems(chain: list[Run], engine: Engine, run_cli) -> None:  # type: ignore[no-untyped-def]
    import json

    with engine.begin() as connection:
        connection.execute(update(Run).where(Run.id == chain[2].id).values(previous_digest="f" * 64))
    result = run_cli("verify", "--store", "--format", "json")
    assert result.code == 1
    report = json.loads(result.stdout)
    assert report["intact"] is False
    assert report["problems"][0]["run_id"] == chain[2].id
    assert "previous_digest" in report["problems"][0]["problem"]


# -- a sealed run's own fields, its gaps and its blobs (issue 21: each of these once went unnoticed) ----------

FIXED = datetime(2020, 1, 1, tzinfo=UTC)
RUN_EDITS: dict[str, Any] = {
    "trigger": "api",
    "requested_by": "someone-else",
    "scope": {"accounts": ["222222222222"]},
    "started_at": FIXED,
    "finished_at": FIXED,
    "status": "failed",
    "error": "rewritten after the fact",
    "evidence_count": 99,
    "gap_count": 7,
    "max_evidence_id": 10_000,
    "max_gap_id": 10_000,
}


def _problems(engine: Engine) -> list[str]:
    result = verify_store(engine)
    assert result.intact == (not result.problems)
    return [str(problem) for problem in result.problems]


def _gap_id(engine: Engine, run_id: int) -> int:
    with engine.connect() as connection:
        return connection.scalars(select(Gap.id).where(Gap.run_id == run_id)).one()


@pytest.mark.parametrize(("column", "value"), list(RUN_EDITS.items()), ids=list(RUN_EDITS))
def test_a_rewritten_field_of_a_sealed_run_breaks_its_digest(
    chain: list[Run], engine: Engine, column: str, value: Any
) -> None:
    """Status, error, trigger, counts...: what the run header says is sealed, not only the rows under it."""
    victim = chain[1]
    with engine.begin() as connection:
        connection.execute(update(Run).where(Run.id == victim.id).values({column: value}))
    result = verify_store(engine)
    assert not result.intact
    expected = f"run {victim.id}: digest mismatch: stored {victim.digest}, recomputed "
    assert any(str(problem).startswith(expected) for problem in result.problems), result.problems


def test_the_cli_reports_a_rewritten_run_error(chain: list[Run], engine: Engine, run_cli) -> None:  # type: ignore[no-untyped-def]
    with engine.begin() as connection:
        connection.execute(update(Run).where(Run.id == chain[1].id).values(error=None, status="complete"))
    result = run_cli("verify", "--store")
    assert result.code == 1
    assert f"FAILED at run {chain[1].id}: digest mismatch: stored {chain[1].digest}" in result.stderr


GAP_EDITS: dict[str, Any] = {
    "account_id": "222222222222",
    "region": "us-west-2",
    "service": "kms",
    "operation": "ListKeys",
    "kind": "kms.key_rotation",
    "resource_id": "arn:aws:s3:::hidden",
    "error_code": "Throttling",
    "message": "rate exceeded",
    "observed_at": FIXED,
}


@pytest.mark.parametrize(("column", "value"), list(GAP_EDITS.items()), ids=list(GAP_EDITS))
def test_a_changed_gap_field_is_detected(chain: list[Run], engine: Engine, column: str, value: Any) -> None:
    gap = _gap_id(engine, chain[1].id)
    with engine.begin() as connection:
        connection.execute(update(Gap).where(Gap.id == gap).values({column: value}))
    assert f"run {chain[1].id} gap {gap}: fields were changed" in _problems(engine)


@pytest.mark.parametrize(
    ("column", "value"),
    [(c, GAP_EDITS[c]) for c in ("message", "operation", "observed_at")],
    ids=["message", "operation", "observed_at"],
)
def test_a_consistently_forged_gap_still_breaks_the_run_digest(
    chain: list[Run], engine: Engine, column: str, value: Any
) -> None:
    """Rewriting what could not be read, and its record hash with it, is caught by the run digest."""
    gap = _gap_id(engine, chain[1].id)
    with engine.begin() as connection:
        row = dict(connection.execute(select(Gap).where(Gap.id == gap)).mappings().one())
        row[column] = value
        fields = {k: row[k] for k in row if k not in ("id", "record_sha256")}
        forged = {column: value, "record_sha256": gap_record_hash(**fields)}
        connection.execute(update(Gap).where(Gap.id == gap).values(forged))
    problems = _problems(engine)
    assert problems[0].startswith(f"run {chain[1].id}: digest mismatch: stored {chain[1].digest}"), problems
    assert not any("fields were changed" in problem for problem in problems)


EVIDENCE_EDITS: dict[str, Any] = {
    "account_id": "222222222222",
    "region": "us-west-2",
    "service": "kms",
    "resource_type": "key",
    "resource_id": "arn:aws:s3:::forged",
    "kind": "s3.bucket_versioning",
    "observed_at": FIXED,
    "owner": "someone-else",
}


@pytest.mark.parametrize(("column", "value"), list(EVIDENCE_EDITS.items()), ids=list(EVIDENCE_EDITS))
def test_a_changed_evidence_field_is_detected(chain: list[Run], engine: Engine, column: str, value: Any) -> None:
    victim = _evidence_ids(engine, chain[1].id)[2]
    with engine.begin() as connection:
        connection.execute(update(Evidence).where(Evidence.id == victim).values({column: value}))
    problems = _problems(engine)
    assert problems[0].startswith(f"run {chain[1].id} evidence {victim}: fields were changed: record hash "), problems


def test_an_evidence_row_moved_to_another_run_is_detected(chain: list[Run], engine: Engine) -> None:
    victim = _evidence_ids(engine, chain[1].id)[0]
    with engine.begin() as connection:
        connection.execute(update(Evidence).where(Evidence.id == victim).values(run_id=chain[0].id))
    problems = _problems(engine)
    assert problems[0].startswith(f"run {chain[0].id} evidence {victim}: fields were changed"), problems
    assert f"run {chain[0].id}: 3 evidence rows stored but 2 were sealed: rows added" in problems
    assert f"run {chain[1].id}: 2 evidence rows stored but 3 were sealed: rows deleted" in problems


def test_a_missing_payload_blob_is_detected(chain: list[Run], engine: Engine) -> None:
    """The foreign key forbids this, but SQLite enforces it only when asked to (a copy of the file, another tool)."""
    if engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL always enforces the foreign key")
    victim = _evidence_ids(engine, chain[1].id)[1]
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        sha = connection.scalar(select(Evidence.sha256).where(Evidence.id == victim))
        connection.execute(text("DELETE FROM blobs WHERE sha256 = :sha"), {"sha": sha})
        connection.commit()
        connection.exec_driver_sql("PRAGMA foreign_keys=ON")
    result = verify_store(engine)
    assert not result.intact
    assert [str(p) for p in result.problems] == [f"run {chain[1].id} evidence {victim}: payload blob {sha} is missing"]
    assert result.blobs_checked == 5


@pytest.mark.parametrize("victim", [1, 2], ids=["middle run", "newest run"])
def test_an_erased_digest_is_not_taken_for_an_unsealed_run(chain: list[Run], engine: Engine, victim: int) -> None:
    """Erasing the newest run's digest must not turn it into 'still running' and the store into 'intact'."""
    run = chain[victim]
    with engine.begin() as connection:
        connection.execute(update(Run).where(Run.id == run.id).values(digest=None))
    result = verify_store(engine)
    assert not result.intact and result.unsealed_runs == ()
    expected = [f"run {run.id}: ended as {run.status} but has no digest (never sealed, or erased)"]
    if victim == 1:  # the next run still pins the erased digest
        expected.append(f"run {chain[2].id}: previous_digest {run.digest} does not match the prior run's digest None")
    assert [str(p) for p in result.problems] == expected


def test_a_running_run_is_checked_but_not_yet_sealed(chain: list[Run], store: EvidenceStore, engine: Engine) -> None:
    running = store.start_run(trigger="cli", requested_by="tests", scope={})
    with store.recorder(running.id) as recorder:
        recorder.add(
            account_id="1",
            region="us-east-1",
            service="s3",
            resource_type="bucket",
            resource_id="b",
            kind="k",
            payload={"n": 7},
        )
    result = verify_store(engine)
    assert result.intact and result.unsealed_runs == (running.id,)
    assert result.head_digest == chain[-1].digest  # the chain head is the newest sealed run
    assert (result.runs_checked, result.evidence_checked, result.gaps_checked, result.blobs_checked) == (4, 7, 1, 7)
    # Its rows are hash-checked already: tampering before the seal is still found.
    row = _evidence_ids(engine, running.id)[0]
    with engine.begin() as connection:
        connection.execute(update(Evidence).where(Evidence.id == row).values(region="eu-west-1"))
    assert [str(p).split(":")[0] for p in verify_store(engine).problems] == [f"run {running.id} evidence {row}"]


def test_a_blob_that_is_not_zlib_data_is_detected(chain: list[Run], engine: Engine) -> None:
    victim = _evidence_ids(engine, chain[0].id)[0]
    with engine.begin() as connection:
        sha = connection.scalar(select(Evidence.sha256).where(Evidence.id == victim))
        connection.execute(update(Blob).where(Blob.sha256 == sha).values(data=b'{"n": 1}'))
    problems = _problems(engine)
    assert len(problems) == 1
    assert problems[0].startswith(f"run {chain[0].id} evidence {victim}: payload blob {sha} was altered: cannot be ")


def test_a_gap_added_to_a_sealed_run_is_detected(chain: list[Run], engine: Engine) -> None:
    template = _gap_id(engine, chain[1].id)
    with engine.begin() as connection:
        row = connection.execute(select(Gap).where(Gap.id == template)).mappings().one()
        values = {key: value for key, value in row.items() if key != "id"}
        inserted = connection.execute(Gap.__table__.insert().values(**values)).inserted_primary_key[0]
    problems = _problems(engine)
    # An exact copy keeps its record hash; its id after the seal gives it away, and so does the count.
    assert f"run {chain[1].id} gap {inserted}: was added after the run was sealed" in problems
    assert f"run {chain[1].id}: 2 gaps stored but 1 were sealed" in problems


def test_a_deleted_gap_is_detected(chain: list[Run], engine: Engine) -> None:
    """Hiding that something could not be read would turn a partial run into a clean one."""
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM gaps WHERE id = :id"), {"id": _gap_id(engine, chain[1].id)})
    problems = _problems(engine)
    assert problems[0] == f"run {chain[1].id}: 0 gaps stored but 1 were sealed", problems


def test_a_deleted_sealed_run_is_named_as_missing(chain: list[Run], engine: Engine) -> None:
    """A whole run removed with its rows leaves no row to fail: the next run's chain position gives it away."""
    victim = chain[1].id
    with engine.begin() as connection:
        for table in ("evidence", "gaps"):
            connection.execute(text(f"DELETE FROM {table} WHERE run_id = :id"), {"id": victim})
        connection.execute(text("DELETE FROM runs WHERE id = :id"), {"id": victim})
    problems = _problems(engine)
    assert problems[0] == f"run {chain[2].id}: chain position is 3, expected 2: a sealed run is missing", problems
    assert problems[1].startswith(f"run {chain[2].id}: previous_digest {chain[1].digest} does not match"), problems
