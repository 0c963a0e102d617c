"""Small real read sources for the findings and frameworks seams: in-memory data, the protocol's semantics."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from api.sources import FindingFilter, FindingSlice, StoredFinding
from core.errors import NotFoundError
from evidence.checks.types import Finding, FindingStatus, Remediation, Severity
from frameworks.results import (
    AutomatedResult,
    Automation,
    AwsAttestation,
    CheckVerdict,
    ControlResult,
    ExpiringRef,
    FrameworkStatus,
    OverallStatus,
    Responsibility,
    ResponsibilityMatrix,
    RunRef,
)
from frameworks.schema import Catalog

CHECK_SERVICE = {"s3.default_encryption": "s3", "iam.root_mfa_enabled": "iam"}


def findings(count: int, *, run_id: int, first_id: int = 1) -> list[StoredFinding]:
    rows = []
    for index in range(1, count + 1):
        check = "s3.default_encryption" if index % 2 else "iam.root_mfa_enabled"
        rows.append(
            StoredFinding(
                id=first_id + index - 1,
                run_id=run_id,
                finding=Finding(
                    check_id=check,
                    status=FindingStatus.FAIL if index % 3 == 0 else FindingStatus.PASS,
                    account_id="111111111111" if index % 4 else "222222222222",
                    region="us-east-1" if check.startswith("s3") else "global",
                    resource_id=f"arn:aws:s3:::bucket-{index}",
                    reason=f"reason {index}",
                    evidence=(f"{index:064x}",),
                    observed_at=datetime(2026, 11, 1, tzinfo=UTC),
                    resource_type="bucket",
                ),
            )
        )
    return rows


@dataclass
class ListFindings:
    """Run 1 with 10 findings (ids 1-10), then run 2, the latest, with 25 (ids 11-35)."""

    rows: list[StoredFinding] = field(
        default_factory=lambda: findings(10, run_id=1) + findings(25, run_id=2, first_id=11)
    )

    def page(self, *, filters: FindingFilter, after_id: int | None, limit: int) -> FindingSlice:
        runs = {row.run_id for row in self.rows}
        if filters.run_id is not None and filters.run_id not in runs:
            raise NotFoundError(f"run {filters.run_id} does not exist")
        run_id = filters.run_id if filters.run_id is not None else max(runs, default=None)

        def keep(row: StoredFinding) -> bool:
            f = row.finding
            return all(
                (
                    row.run_id == run_id,
                    after_id is None or row.id > after_id,
                    filters.check_id is None or f.check_id == filters.check_id,
                    filters.status is None or f.status == filters.status,
                    filters.account_id is None or f.account_id == filters.account_id,
                    filters.region is None or f.region == filters.region,
                    filters.service is None or CHECK_SERVICE.get(f.check_id) == filters.service,
                    filters.resource_id is None or f.resource_id == filters.resource_id,
                )
            )

        return FindingSlice(run_id=run_id, items=sorted((r for r in self.rows if keep(r)), key=lambda r: r.id)[:limit])


CATALOG = Catalog.model_validate(
    {
        "id": "hipaa",
        "name": "HIPAA Security Rule",
        "version": "2013",
        "publisher": "HHS",
        "families": [{"id": "164.312", "title": "Technical safeguards"}],
        "controls": [
            {
                "id": "164.312(a)(2)(iv)",
                "family": "164.312",
                "title": "Encryption and decryption",
                "description": "Encrypt ePHI at rest where reasonable.",
                "automation": "automated",
                "responsibility": {"default": "customer"},
                "checks": [{"id": "s3.default_encryption", "relevance": "S3 buckets holding ePHI are encrypted."}],
                "requirement_type": "addressable",
            }
        ],
    }
)


@dataclass
class OneFramework:
    data: Catalog = CATALOG

    def catalogs(self) -> Sequence[Catalog]:
        return [self.data]

    def catalog(self, framework_id: str) -> Catalog:
        if framework_id != self.data.id:
            raise NotFoundError(f"framework {framework_id!r} does not exist")
        return self.data

    def status(self, framework_id: str, *, as_of: datetime | None, accounts: Sequence[str] = ()) -> FrameworkStatus:
        catalog = self.catalog(framework_id)
        control = catalog.controls[0]
        verdict = CheckVerdict(
            check_id="s3.default_encryption",
            title="S3 buckets are encrypted",
            severity=Severity.HIGH,
            relevance=control.checks[0].relevance,
            passed=3,
            failed=1,
            errors=0,
            not_applicable=0,
            stale=0,
            failing=(),
            errored=(),
            remediation=Remediation(console="Enable default encryption", cli="aws s3api put-bucket-encryption ..."),
            status=AutomatedResult.FAIL,
        )
        result = ControlResult(
            control_id=control.id,
            title=control.title,
            description=control.description,
            family_id=control.family,
            family_title="Technical safeguards",
            automation=Automation.AUTOMATED,
            responsibility={"s3": Responsibility.CUSTOMER},
            overall_responsibility=Responsibility.CUSTOMER,
            status=OverallStatus.NOT_MET,
            status_reason="1 of 4 buckets is not encrypted.",
            automated=AutomatedResult.FAIL,
            evidence_items=(7,),
            exceptions=(2,),
            checks=(verdict,),
            passed=3,
            failed=1,
            guidance=None,
            aws_evidence=(AwsAttestation(name="AWS SOC 2 Type II report", covers="physical security"),),
        )
        moment = as_of or datetime.now(UTC)
        return FrameworkStatus(
            framework_id=catalog.id,
            name=catalog.name,
            version=catalog.version,
            as_of=moment,
            runs=(RunRef(id=1, status="complete", started_at=moment, finished_at=moment, digest="ab" * 32),),
            services_in_use=frozenset({"s3"}),
            controls=(result,),
            matrix=ResponsibilityMatrix(services=("s3",), families=(("164.312", "Technical safeguards"),), cells={}),
            gap_count=0,
            stale_count=0,
            freshness_hours=48,
            by_status={"not_met": 1},
            expiring_exceptions=(
                ExpiringRef("exception", 2, "s3.default_encryption", moment + timedelta(days=3), (control.id,)),
            ),
            by_responsibility={"customer": 1},
            accounts=tuple(accounts),
        )
