"""Findings: one verdict per check and resource, filtered and paginated. Registered when the app is given a
`FindingsSource` (the stored findings of the collectors' checks)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from api.deps import ContextDep, OfficerPrincipal
from api.errors import NotConfiguredError
from api.schemas.common import READ, errors
from api.schemas.findings import FindingOut, FindingPage
from api.services import cursor as cursors
from api.sources import FindingFilter, StoredFinding
from evidence.canonical import rfc3339
from evidence.checks.types import FindingStatus

router = APIRouter(prefix="/v1/findings", tags=["findings"])
Text = Annotated[str | None, Query(min_length=1, max_length=128)]


def _out(stored: StoredFinding) -> FindingOut:
    finding = stored.finding
    return FindingOut(
        id=stored.id,
        run_id=stored.run_id,
        check_id=finding.check_id,
        status=finding.status.value,
        account_id=finding.account_id,
        region=finding.region,
        resource_id=finding.resource_id,
        resource_type=finding.resource_type,
        reason=finding.reason,
        evidence=list(finding.evidence),
        observed_at=finding.observed_at,
        owner=finding.owner,
    )


@router.get(
    "",
    response_model=FindingPage,
    summary="List findings, newest first",
    responses=errors(*READ, 400, 404),
)
def list_findings(
    context: ContextDep,
    _principal: OfficerPrincipal,
    run_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    check: Annotated[str | None, Query(pattern=r"^[a-z0-9_]{1,128}$")] = None,
    status: FindingStatus | None = None,
    account: Annotated[str | None, Query(pattern=r"^\d{12}$")] = None,
    region: Text = None,
    service: Text = None,
    observed_from: AwareDatetime | None = None,
    observed_to: AwareDatetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> FindingPage:
    if context.findings is None:  # pragma: no cover - the router is only mounted with a source
        raise NotConfiguredError("no findings source is configured")
    filters = FindingFilter(
        run_id=run_id,
        check_id=check,
        status=status,
        account_id=account,
        region=region,
        service=service,
        observed_from=observed_from,
        observed_to=observed_to,
    )
    key = {
        "run_id": run_id,
        "check": check,
        "status": status.value if status else None,
        "account": account,
        "region": region,
        "service": service,
        "from": rfc3339(observed_from) if observed_from else None,
        "to": rfc3339(observed_to) if observed_to else None,
    }
    before = cursors.int_position(cursors.decode(cursor, filters=key), "before") if cursor else None
    rows = list(context.findings.page(filters=filters, before_id=before, limit=limit + 1))
    next_cursor = cursors.encode({"before": rows[limit - 1].id}, filters=key) if len(rows) > limit else None
    return FindingPage(items=[_out(row) for row in rows[:limit]], next_cursor=next_cursor)
