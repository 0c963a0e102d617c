"""Findings: one verdict per check and resource of one run (the latest usable run unless `run_id` says which),
filtered and paginated in storage order. Registered when the app is given a `FindingsSource` (the stored findings
of the collectors' checks). The cursor pins the run, so a run finishing mid-listing does not mix two runs."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import ContextDep, OfficerPrincipal
from api.errors import NotConfiguredError
from api.schemas.common import READ, errors
from api.schemas.findings import FindingOut, FindingPage
from api.schemas.types import AccountId, Id, Instant, count
from api.services import cursor as cursors
from api.sources import FindingFilter, StoredFinding
from core.canonical import rfc3339
from evidence.checks.types import FindingStatus

router = APIRouter(prefix="/v1/findings", tags=["findings"])


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
    summary="List one run's findings (default: the latest complete or partial run)",
    responses=errors(*READ, 400, 404),
)
def list_findings(
    context: ContextDep,
    _principal: OfficerPrincipal,
    run_id: Annotated[Id | None, Query()] = None,
    check: Annotated[
        str | None, Query(pattern=r"^[a-z0-9_.]{1,128}$", description="A check id, e.g. s3.default_encryption.")
    ] = None,
    status: FindingStatus | None = None,
    account: Annotated[AccountId | None, Query()] = None,
    region: Annotated[str | None, Query(pattern=r"^[a-z0-9-]{1,32}$")] = None,
    service: Annotated[
        str | None, Query(pattern=r"^[a-z0-9-]{1,64}$", description="The checks of one AWS service, e.g. s3.")
    ] = None,
    observed_from: Annotated[Instant | None, Query(description="Inclusive, RFC 3339 with a zone.")] = None,
    observed_to: Annotated[Instant | None, Query(description="Exclusive, RFC 3339 with a zone.")] = None,
    limit: Annotated[count(1, 1000), Query()] = 100,
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
    after: int | None = None
    if cursor:  # the cursor carries the run of its first page: later pages stay on that run
        position = context.cursors.decode(cursor, filters=key)
        after = cursors.int_position(position, "after")
        filters = replace(filters, run_id=cursors.int_position(position, "run"))
    found = context.findings.page(filters=filters, after_id=after, limit=limit + 1)
    rows = list(found.items)
    next_cursor = (
        context.cursors.encode({"after": rows[limit - 1].id, "run": found.run_id}, filters=key)
        if len(rows) > limit
        else None
    )
    return FindingPage(run_id=found.run_id, items=[_out(row) for row in rows[:limit]], next_cursor=next_cursor)
