"""`auditpack verify --store`: recompute every blob hash, record hash and run digest (each record and digest in the
canonical version it records, see `core.canonical`), and walk the chain; check
every run's stored findings against their digest and against the verdicts its evidence produces; and, given
a head recorded earlier (`--expected-head`, or a packet's manifest), prove the chain still holds it."""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, select

from core.canonical import CanonicalVersionError, check_version
from core.errors import VerificationError
from evidence.blobstore import BlobStore, blob_store
from evidence.chain import evidence_record_hash, gap_record_hash, run_digest, run_header
from evidence.customer.ledger import LedgerHead
from evidence.customer.verify import CustomerVerification, verify_customer
from evidence.db import session_factory
from evidence.expected_state import check_against_manifest, check_expected_head
from evidence.findings_check import check_findings
from evidence.models import Blob, Evidence, Gap, Run, RunStatus
from evidence.store import EvidenceStore


@dataclass(frozen=True, slots=True)
class StoreProblem:
    """One thing that does not match. `run_id` and `row` say where; `problem` says what was found vs expected."""

    run_id: int | None
    row: str | None
    problem: str

    def __str__(self) -> str:
        where = " ".join(part for part in (f"run {self.run_id}" if self.run_id else None, self.row) if part)
        return f"{where}: {self.problem}" if where else self.problem


@dataclass(frozen=True, slots=True)
class StoreVerification:
    """Result of verifying the whole store.

    intact: every blob, row and run digest matches and the chain links are unbroken.
    problems: what does not match, first broken run (in chain order) and row first.
    unsealed_runs: runs still running, whose rows were checked but which have no digest yet.
    head_seq: the chain position of the newest sealed run (record it with head_digest).
    findings_checked: stored finding rows checked against their evaluation's digest.
    findings_not_rederived: runs whose findings came from other check code (an upgrade), so were checked against
      their digest only; `auditpack findings --reevaluate --run N` re-derives them with today's checks.
    customer: the customer evidence ledger's own result (items, exceptions, events, contents and its head).
    objects_in: with an S3 blob store, where the `blobs_checked` objects were read back from (s3://bucket/prefix).
    """

    intact: bool
    runs_checked: int
    evidence_checked: int
    gaps_checked: int
    blobs_checked: int
    head_digest: str | None
    unsealed_runs: tuple[int, ...] = ()
    problems: tuple[StoreProblem, ...] = field(default_factory=tuple)
    head_seq: int | None = None
    findings_checked: int = 0
    findings_not_rederived: tuple[int, ...] = ()
    customer: CustomerVerification | None = None
    objects_in: str | None = None

    @property
    def ledger_head(self) -> LedgerHead | None:
        """The customer ledger's newest entry (record its digest with `--expected-ledger-head`)."""
        return self.customer.head if self.customer else None

    @property
    def first_problem(self) -> StoreProblem | None:
        return self.problems[0] if self.problems else None


def _unknown_version(version: int, problems: list[StoreProblem], run_id: int, where: str) -> bool:
    """Whether a stored hash names a canonical version this auditpack cannot recompute (reported as a problem)."""
    try:
        check_version(version)
    except CanonicalVersionError as exc:
        problems.append(StoreProblem(run_id, where, f"its hash cannot be recomputed: {exc.message}"))
        return True
    return False


def _bad_blobs(session_rows: object) -> dict[str, str]:
    """Database blob rows whose bytes do not hash to their name: sha256 -> the problem."""
    bad: dict[str, str] = {}
    for sha256, data in session_rows:  # type: ignore[attr-defined]
        try:
            actual = hashlib.sha256(zlib.decompress(data)).hexdigest()
        except zlib.error as exc:
            bad[sha256] = f"payload blob {sha256} was altered: cannot be decompressed ({exc})"
            continue
        if actual != sha256:
            bad[sha256] = f"payload blob {sha256} was altered: content hashes to {actual}"
    return bad


def _bad_objects(blobs: BlobStore, hashes: Sequence[str], *, batch: int = 1000) -> dict[str, str]:
    """Objects of an external blob store that are missing or altered: each is read back and hashed, a batch at a
    time (concurrently within a batch). sha256 -> the problem, naming the object's key."""

    def check(sha256: str) -> str | None:
        try:
            blobs.get(sha256)
        except VerificationError as exc:
            return exc.message
        return None

    pool = blobs.pool  # type: ignore[attr-defined]
    bad: dict[str, str] = {}
    for start in range(0, len(hashes), batch):
        chunk = hashes[start : start + batch]
        bad.update((sha, problem) for sha, problem in zip(chunk, pool.map(check, chunk), strict=True) if problem)
    return bad


def verify_store(
    engine: Engine,
    *,
    expected_head: str | None = None,
    against: Mapping[str, Any] | None = None,
    expected_ledger_head: str | None = None,
    run_ids: Collection[int] | None = None,
) -> StoreVerification:
    """Verify the whole store.

    expected_head: a chain head recorded earlier, which must still be in the chain (deleting the newest runs
      leaves a consistent but shorter chain that only a recorded head can expose).
    against: a verified packet's manifest header: the store must still hold the runs, chain head, findings and
      customer ledger head that packet saw.
    expected_ledger_head: a customer ledger head recorded earlier, which must still be in the ledger.
    run_ids: with an external blob store (S3), read back only the objects these runs' evidence names (default:
      every object the blobs table names); rows, digests and the chain are always checked whole.
    """
    sessions = session_factory(engine)
    problems: list[StoreProblem] = []
    evidence_checked = gaps_checked = blobs_checked = 0
    with sessions() as session:
        blobs = blob_store(engine)
        if blobs.external:
            named = select(Blob.sha256).order_by(Blob.sha256)
            if run_ids is not None:
                named = named.where(Blob.sha256.in_(select(Evidence.sha256).where(Evidence.run_id.in_(run_ids))))
            hashes = list(session.scalars(named))
            bad_blobs = _bad_objects(blobs, hashes)
            blobs_checked = len(hashes)
        else:
            blob_rows = session.execute(select(Blob.sha256, Blob.data).execution_options(yield_per=1000))
            bad_blobs = _bad_blobs(blob_rows)
            blobs_checked = session.query(Blob).count()
        runs = list(session.scalars(select(Run).order_by(Run.chain_seq.is_(None), Run.chain_seq, Run.id)))
        previous: Run | None = None
        unsealed: list[int] = []
        for run in runs:
            run_problems: list[StoreProblem] = []
            evidence_hashes: list[str] = []
            rows = session.execute(
                select(Evidence, Blob.sha256.label("blob"))
                .outerjoin(Blob, Blob.sha256 == Evidence.sha256)
                .where(Evidence.run_id == run.id)
                .order_by(Evidence.id)
                .execution_options(yield_per=2000)
            )
            for row, blob in rows:
                evidence_checked += 1
                where = f"evidence {row.id}"
                # A version this auditpack cannot recompute is a problem; its stored hash still goes into the digest
                # so the rest of the run is checked as usual.
                unknown = _unknown_version(row.canonical_version, run_problems, run.id, where)
                computed = (
                    row.record_sha256
                    if unknown
                    else evidence_record_hash(
                        run_id=row.run_id,
                        account_id=row.account_id,
                        region=row.region,
                        service=row.service,
                        resource_type=row.resource_type,
                        resource_id=row.resource_id,
                        kind=row.kind,
                        observed_at=row.observed_at,
                        owner=row.owner,
                        sha256=row.sha256,
                        canonical_version=row.canonical_version,
                    )
                )
                evidence_hashes.append(computed)
                if computed != row.record_sha256:
                    run_problems.append(
                        StoreProblem(
                            run.id,
                            where,
                            "fields were changed: record hash "
                            f"{row.record_sha256[:16]}… does not match {computed[:16]}…",
                        )
                    )
                if blob is None:
                    run_problems.append(StoreProblem(run.id, where, f"payload blob {row.sha256} is missing"))
                elif row.sha256 in bad_blobs:
                    run_problems.append(StoreProblem(run.id, where, bad_blobs[row.sha256]))
                if run.max_evidence_id is not None and row.id > run.max_evidence_id:
                    run_problems.append(
                        StoreProblem(
                            run.id,
                            where,
                            f"was added after the run was sealed (sealed ids end at {run.max_evidence_id})",
                        )
                    )
            gap_hashes: list[str] = []
            for gap in session.scalars(select(Gap).where(Gap.run_id == run.id).order_by(Gap.id)):
                gaps_checked += 1
                unknown = _unknown_version(gap.canonical_version, run_problems, run.id, f"gap {gap.id}")
                computed = (
                    gap.record_sha256
                    if unknown
                    else gap_record_hash(
                        run_id=gap.run_id,
                        account_id=gap.account_id,
                        region=gap.region,
                        service=gap.service,
                        operation=gap.operation,
                        kind=gap.kind,
                        resource_id=gap.resource_id,
                        error_code=gap.error_code,
                        message=gap.message,
                        observed_at=gap.observed_at,
                        canonical_version=gap.canonical_version,
                    )
                )
                gap_hashes.append(computed)
                if computed != gap.record_sha256:
                    run_problems.append(StoreProblem(run.id, f"gap {gap.id}", "fields were changed"))
                if run.max_gap_id is not None and gap.id > run.max_gap_id:
                    run_problems.append(StoreProblem(run.id, f"gap {gap.id}", "was added after the run was sealed"))
            if run.status == RunStatus.RUNNING.value and run.digest is None:
                unsealed.append(run.id)
                problems.extend(run_problems)
                continue
            run_problems.extend(_check_seal(run, previous, len(evidence_hashes), len(gap_hashes)))
            if run.digest is not None and not _unknown_version(run.canonical_version, run_problems, run.id, "digest"):
                recomputed = run_digest(
                    run_header(run), evidence_hashes, gap_hashes, canonical_version=run.canonical_version
                )
                if recomputed != run.digest:
                    run_problems.append(
                        StoreProblem(run.id, None, f"digest mismatch: stored {run.digest}, recomputed {recomputed}")
                    )
            problems.extend(run_problems)
            previous = run
    sealed = [run for run in runs if run.digest is not None]
    findings_checked, not_rederived, findings_problems = _verify_findings(EvidenceStore(engine), sealed)
    problems.extend(findings_problems)
    problems.extend(StoreProblem(None, None, p) for p in check_expected_head(expected_head, sealed))
    customer = verify_customer(engine, expected_head=expected_ledger_head)
    problems.extend(StoreProblem(None, p.where, p.problem) for p in customer.problems)
    if against is not None:
        problems.extend(StoreProblem(None, None, p) for p in check_against_manifest(against, sealed, engine))
    return StoreVerification(
        intact=not problems,
        runs_checked=len(runs),
        evidence_checked=evidence_checked,
        gaps_checked=gaps_checked,
        blobs_checked=blobs_checked,
        head_digest=previous.digest if previous else None,
        unsealed_runs=tuple(unsealed),
        problems=tuple(problems),
        head_seq=previous.chain_seq if previous else None,
        findings_checked=findings_checked,
        findings_not_rederived=not_rederived,
        customer=customer,
        objects_in=_where(blob_store(engine)),
    )


def _where(blobs: BlobStore) -> str | None:
    location = getattr(blobs, "location", None)
    return f"s3://{location.bucket}/{location.prefix}" if blobs.external and location is not None else None


def _verify_findings(store: EvidenceStore, runs: list[Run]) -> tuple[int, tuple[int, ...], list[StoreProblem]]:
    checked = 0
    not_rederived: list[int] = []
    problems: list[StoreProblem] = []
    for run in runs:
        try:
            result = check_findings(store, run.id)
        except VerificationError as exc:  # an altered payload: already reported as a blob problem above
            problems.append(StoreProblem(run.id, "findings", f"cannot be re-derived: {exc.message}"))
            continue
        checked += result.findings_checked
        if result.evaluated and not result.rederived:
            not_rederived.append(run.id)
        problems.extend(StoreProblem(run.id, "findings", problem) for problem in result.problems)
    return checked, tuple(not_rederived), problems


def _check_seal(run: Run, previous: Run | None, evidence_rows: int, gap_rows: int) -> list[StoreProblem]:
    found: list[StoreProblem] = []
    if run.digest is None:
        found.append(StoreProblem(run.id, None, f"ended as {run.status} but has no digest (never sealed, or erased)"))
        return found
    expected_seq = (previous.chain_seq or 0) + 1 if previous else 1
    if run.chain_seq != expected_seq:
        found.append(
            StoreProblem(
                run.id,
                None,
                f"chain position is {run.chain_seq}, expected {expected_seq}: a sealed run is missing",
            )
        )
    expected_previous = previous.digest if previous else None
    if run.previous_digest != expected_previous:
        found.append(
            StoreProblem(
                run.id,
                None,
                f"previous_digest {run.previous_digest} does not match the prior run's digest {expected_previous}",
            )
        )
    if evidence_rows != run.evidence_count:
        change = "deleted" if evidence_rows < run.evidence_count else "added"
        found.append(
            StoreProblem(
                run.id,
                None,
                f"{evidence_rows} evidence rows stored but {run.evidence_count} were sealed: rows {change}",
            )
        )
    if gap_rows != run.gap_count:
        found.append(StoreProblem(run.id, None, f"{gap_rows} gaps stored but {run.gap_count} were sealed"))
    return found
