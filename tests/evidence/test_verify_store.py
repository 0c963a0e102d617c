"""`auditpack verify --store` detects every kind of tampering, naming the first broken run and row."""

import zlib

import pytest
from sqlalchemy import Engine, select, text, update

from evidence.models import Blob, Evidence, Run
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
