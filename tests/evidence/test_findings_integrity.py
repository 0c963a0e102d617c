"""Stored findings are checked against the evidence that produces them (issue 11, defects 2 and 5).

An attacker with database access flips verdicts (`UPDATE findings SET status='pass' WHERE status='fail'`):
`verify --store` must say so, and no packet may sign the false verdicts. A run sealed by a process that died
before storing its findings must not read as "no findings".
"""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, delete, func, select, update

from api.sources import FindingFilter
from auditpack.api_sources import StoredFindings
from evidence.checks.evaluate import evaluate_run
from evidence.checks.thresholds import Thresholds
from evidence.findings import finding_set, iter_stored_findings, load_findings, save_findings
from evidence.findings_check import FindingsIntegrityError, ensure_findings, verified_findings
from evidence.findings_digest import (
    finding_record_hash,
    findings_digest,
    set_header,
    verdict_line,
    verdicts_fingerprint,
)
from evidence.findings_model import FindingRow, FindingSet
from evidence.models import Run
from evidence.store import EvidenceStore
from evidence.verification import verify_store
from tests.evidence.helpers import replay_run
from tests.scenario import Collected


@pytest.fixture
def evaluated(collected: Collected, store: EvidenceStore, db_snapshot) -> Run:  # type: ignore[no-untyped-def]
    """The scenario Organization's evidence in this test's database (each backend), evaluated and stored."""

    def evaluate() -> Run:
        run = replay_run(collected.store, collected.run.id, store)
        save_findings(store, run.id, evaluate_run(store, run.id, thresholds=Thresholds()), thresholds=Thresholds())
        return run

    return db_snapshot("findings-integrity-evaluated", evaluate)  # type: ignore[no-any-return]


def _flip_fail_to_pass(engine: Engine, run_id: int) -> int:
    with engine.begin() as connection:
        result = connection.execute(
            update(FindingRow).where(FindingRow.run_id == run_id, FindingRow.status == "fail").values(status="pass")
        )
    assert result.rowcount > 0, "the scenario has failing findings to flip"
    return result.rowcount


def _recompute_set_digest(store: EvidenceStore, run_id: int) -> None:
    """What a careful attacker adds: the finding set's digest (and its verdicts fingerprint) recomputed over the
    altered rows."""
    recorded = finding_set(store, run_id)
    assert recorded is not None
    rows = list(iter_stored_findings(store, run_id))
    header = set_header(
        run_id=run_id, thresholds=recorded.thresholds, checks_version=recorded.checks_version, count=len(rows)
    )
    version = recorded.canonical_version
    hashes = [finding_record_hash(run_id, finding, canonical_version=version) for _, finding in rows]
    digest = findings_digest(header, hashes, canonical_version=version)
    fingerprint = verdicts_fingerprint(verdict_line(finding) for _, finding in rows)
    with store.sessions.begin() as session:
        session.execute(
            update(FindingSet)
            .where(FindingSet.run_id == run_id)
            .values(digest=digest, finding_count=len(rows), verdicts_sha256=fingerprint)
        )


def test_untouched_findings_verify_and_are_counted(evaluated: Run, store: EvidenceStore) -> None:
    result = verify_store(store.engine)
    assert result.intact, result.problems
    assert result.findings_checked == len(load_findings(store, evaluated.id)) > 0
    assert result.findings_not_rederived == ()


def test_flipped_verdicts_fail_verify_store_naming_run_and_verdict(
    evaluated: Run, engine: Engine, cli_env, run_cli
) -> None:  # type: ignore[no-untyped-def]
    flipped = _flip_fail_to_pass(engine, evaluated.id)
    result = run_cli("verify", "--store")
    assert result.code == 1, result
    assert f"run {evaluated.id} findings: stored findings do not match the digest" in result.stderr
    assert f"{flipped} verdicts differ from the evidence" in result.stderr
    assert "is stored as pass, the evidence gives fail" in result.stderr
    assert flipped > 5 and "; …" in result.stderr  # five are named, the count says how many more


def test_flipped_verdicts_with_a_recomputed_digest_are_still_caught(evaluated: Run, store: EvidenceStore) -> None:
    flipped = _flip_fail_to_pass(store.engine, evaluated.id)
    _recompute_set_digest(store, evaluated.id)
    problems = [str(p) for p in verify_store(store.engine).problems]
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"run {evaluated.id} findings: {flipped} verdicts differ from the evidence")


def test_a_changed_verdicts_fingerprint_is_caught(evaluated: Run, store: EvidenceStore) -> None:
    """Period history groups runs by the fingerprint their finding set records: one pointed at another run's
    verdicts would make a capture read as that run's, so verify --store checks it against the rows."""
    with store.sessions.begin() as session:
        session.execute(update(FindingSet).where(FindingSet.run_id == evaluated.id).values(verdicts_sha256="0" * 64))
    problems = [str(p) for p in verify_store(store.engine).problems]
    assert problems == [
        f"run {evaluated.id} findings: the verdicts fingerprint recorded with the evaluation does not match the "
        "stored rows"
    ]


def test_a_running_run_is_not_evaluated(store: EvidenceStore) -> None:
    running = store.start_run(trigger="cli", requested_by="tests", scope={})
    ensure_findings(store, running.id, thresholds=Thresholds())  # findings come once it is sealed; no error
    assert finding_set(store, running.id) is None


def test_a_database_failure_while_evaluating_is_not_taken_for_a_concurrent_evaluation(
    collected: Collected, store: EvidenceStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy.exc import IntegrityError

    from evidence import findings_check

    run = replay_run(collected.store, collected.run.id, store)

    def failing(*_: object, **__: object) -> None:
        raise IntegrityError("INSERT INTO findings", {}, Exception("check constraint violated"))

    monkeypatch.setattr(findings_check, "save_findings", failing)
    with pytest.raises(IntegrityError):
        ensure_findings(store, run.id, thresholds=Thresholds())


@pytest.mark.parametrize("change", ["delete", "insert", "reason", "orphan rows"])
def test_deleted_added_or_edited_findings_are_caught(evaluated: Run, store: EvidenceStore, change: str) -> None:
    with store.sessions.begin() as session:
        first = session.scalars(select(FindingRow).where(FindingRow.run_id == evaluated.id).limit(1)).one()
        if change == "delete":
            session.delete(first)
        elif change == "insert":
            columns = {c.key: getattr(first, c.key) for c in FindingRow.__table__.columns if c.key != "id"}
            session.add(FindingRow(**{**columns, "resource_id": "arn:aws:s3:::invented"}))
        elif change == "reason":
            first.reason = "looks fine to me"
        else:
            session.execute(delete(FindingSet).where(FindingSet.run_id == evaluated.id))
    problems = "\n".join(str(p) for p in verify_store(store.engine).problems)
    expected = {
        "delete": "verdicts the evidence produces are missing",
        "insert": "1 stored verdicts the evidence does not produce: ",
        "reason": "differs from what the evidence gives (reason, evidence or owner)",
        "orphan rows": "finding rows are stored without an evaluation record",
    }[change]
    assert f"run {evaluated.id} findings" in problems and expected in problems, problems
    if change == "insert":
        assert "on arn:aws:s3:::invented" in problems
    if change == "reason":
        assert "; …" not in problems  # one difference: named, nothing left out


def test_a_packet_never_uses_altered_findings(evaluated: Run, store: EvidenceStore) -> None:
    derived = evaluate_run(store, evaluated.id, thresholds=Thresholds())
    assert verified_findings(store, evaluated.id, thresholds=Thresholds()) == derived
    _flip_fail_to_pass(store.engine, evaluated.id)
    _recompute_set_digest(store, evaluated.id)
    with pytest.raises(FindingsIntegrityError, match=f"stored findings of run {evaluated.id} do not match"):
        verified_findings(store, evaluated.id, thresholds=Thresholds())


def test_findings_of_other_check_code_are_replaced_by_what_the_evidence_gives(
    evaluated: Run, store: EvidenceStore
) -> None:
    """After an upgrade the stored verdicts may legitimately differ: verify checks their digest only, and a
    packet re-derives them (never carrying the old, here falsified, ones) and stores today's."""
    _flip_fail_to_pass(store.engine, evaluated.id)
    with store.sessions.begin() as session:
        session.execute(update(FindingSet).where(FindingSet.run_id == evaluated.id).values(checks_version="0" * 64))
    _recompute_set_digest(store, evaluated.id)
    result = verify_store(store.engine)
    assert result.intact and result.findings_not_rederived == (evaluated.id,)

    packet_findings = verified_findings(store, evaluated.id, thresholds=Thresholds())
    assert any(f.status == "fail" for f in packet_findings)
    assert load_findings(store, evaluated.id) == packet_findings
    assert verify_store(store.engine).findings_not_rederived == ()


def test_changed_thresholds_re_evaluate_for_the_packet(evaluated: Run, store: EvidenceStore) -> None:
    stricter = Thresholds(password_min_length=64)
    findings = verified_findings(store, evaluated.id, thresholds=stricter)
    recorded = finding_set(store, evaluated.id)
    assert recorded is not None and recorded.thresholds["password_min_length"] == 64
    assert load_findings(store, evaluated.id) == findings
    assert verify_store(store.engine).intact


def test_a_run_sealed_without_its_findings_is_evaluated_when_read(collected: Collected, store: EvidenceStore) -> None:
    """kill -9 between sealing and storing findings: the listing evaluates it instead of showing nothing."""
    run = replay_run(collected.store, collected.run.id, store)  # sealed, never evaluated
    assert finding_set(store, run.id) is None
    page = StoredFindings(store).page(filters=FindingFilter(run_id=run.id), after_id=None, limit=1000)
    expected = evaluate_run(store, run.id, thresholds=Thresholds())
    assert [item.finding for item in page.items] == expected[:1000] and page.items
    recorded = finding_set(store, run.id)
    assert recorded is not None and recorded.finding_count == len(expected)


def test_evaluating_twice_keeps_one_evaluation(collected: Collected, store: EvidenceStore) -> None:
    run = replay_run(collected.store, collected.run.id, store)
    ensure_findings(store, run.id, thresholds=Thresholds())
    first = finding_set(store, run.id)
    ensure_findings(store, run.id, thresholds=Thresholds())
    second = finding_set(store, run.id)
    assert first is not None and second is not None and second.evaluated_at == first.evaluated_at  # not redone
    with store.sessions() as session:
        rows = session.scalar(select(func.count()).select_from(FindingRow).where(FindingRow.run_id == run.id))
    recorded = finding_set(store, run.id)
    assert recorded is not None and rows == recorded.finding_count
    assert verify_store(store.engine).intact
