"""Frameworks: the catalogs, their controls, and control status as of a moment. Registered when the app is given
a `FrameworksSource` (the frameworks package's loader and evaluator)."""

from __future__ import annotations

from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, Path, Query

from api.deps import ContextDep, OfficerPrincipal
from api.errors import NotConfiguredError
from api.parsing import as_of_instant
from api.schemas.common import READ, errors
from api.schemas.frameworks import (
    AwsEvidenceOut,
    CheckVerdictOut,
    ControlList,
    ControlOut,
    ControlStatusOut,
    CustomerEvidenceOut,
    ExpiringListsOut,
    ExpiringOut,
    FrameworkList,
    FrameworkOut,
    FrameworkStatusOut,
    RunRefOut,
)
from api.schemas.types import AccountId, InstantOrDay
from api.sources import FrameworksSource
from frameworks import expiring
from frameworks.results import CheckVerdict, ControlResult, ExpiringRef, FrameworkStatus
from frameworks.schema import Catalog

router = APIRouter(prefix="/v1/frameworks", tags=["frameworks"])
FrameworkId = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]


def _source(source: FrameworksSource | None) -> FrameworksSource:
    if source is None:  # pragma: no cover - the router is only mounted with a source
        raise NotConfiguredError("no frameworks source is configured")
    return source


def _framework_out(catalog: Catalog) -> FrameworkOut:
    return FrameworkOut(
        id=catalog.id,
        name=catalog.name,
        version=catalog.version,
        publisher=catalog.publisher,
        description=catalog.description,
        control_count=sum(1 for control in catalog.controls if not control.heading),
    )


@router.get("", response_model=FrameworkList, summary="The framework catalogs", responses=errors(*READ, 404))
def list_frameworks(context: ContextDep, _principal: OfficerPrincipal) -> FrameworkList:
    return FrameworkList(items=[_framework_out(c) for c in _source(context.frameworks).catalogs()])


@router.get(
    "/{framework_id}/controls",
    response_model=ControlList,
    summary="A framework's controls, with responsibility and the checks behind them",
    responses=errors(*READ, 404),
)
def list_controls(framework_id: FrameworkId, context: ContextDep, _principal: OfficerPrincipal) -> ControlList:
    catalog = _source(context.frameworks).catalog(framework_id)
    return ControlList(
        framework_id=catalog.id,
        items=[ControlOut.model_validate(control.model_dump(mode="json")) for control in catalog.controls],
    )


def _verdict(verdict: CheckVerdict) -> CheckVerdictOut:
    return CheckVerdictOut(
        check_id=verdict.check_id,
        title=verdict.title,
        severity=verdict.severity.value,
        status=verdict.status.value,
        passed=verdict.passed,
        failed=verdict.failed,
        errors=verdict.errors,
        not_applicable=verdict.not_applicable,
        stale=verdict.stale,
        excepted=len(verdict.excepted),
    )


def _control_status(result: ControlResult) -> ControlStatusOut:
    """Renders the statuses `frameworks` computed; no rule is applied here."""
    return ControlStatusOut(
        control_id=result.control_id,
        title=result.title,
        family_id=result.family_id,
        heading=result.heading,
        automation=result.automation.value,
        overall_responsibility=result.overall_responsibility.value,
        responsibility={service: r.value for service, r in result.responsibility.items()},
        status=result.status.value,
        status_reason=result.status_reason,
        automated=result.automated.value,
        customer_evidence=CustomerEvidenceOut(
            state=result.evidence.value,
            items=list(result.evidence_items),
            submitted=list(result.evidence_submitted),
            expired=list(result.evidence_expired),
        ),
        exceptions=list(result.exceptions),
        passed=result.passed,
        failed=result.failed,
        excepted=result.excepted,
        checks=[_verdict(verdict) for verdict in result.checks],
        aws_evidence=[AwsEvidenceOut.model_validate(a) for a in result.aws_evidence],
        guidance=result.guidance,
        expected_evidence=result.expected_evidence,
        customer_attestation=result.customer_attestation,
    )


def _expiring(refs: tuple[ExpiringRef, ...]) -> list[ExpiringOut]:
    return [ExpiringOut(id=r.id, title=r.title, expires_at=r.expires_at, controls=list(r.controls)) for r in refs]


def status_out(status: FrameworkStatus) -> FrameworkStatusOut:
    return FrameworkStatusOut(
        framework_id=status.framework_id,
        name=status.name,
        version=status.version,
        as_of=status.as_of,
        runs=[RunRefOut.model_validate(run) for run in status.runs],
        services_in_use=sorted(status.services_in_use),
        gap_count=status.gap_count,
        stale_count=status.stale_count,
        freshness_hours=status.freshness_hours,
        by_status=dict(status.by_status),
        by_responsibility=dict(status.by_responsibility),
        controls=[_control_status(control) for control in status.controls],
        expiring=ExpiringListsOut(
            within_days=expiring.WINDOW.days,
            items=_expiring(status.expiring_items),
            exceptions=_expiring(status.expiring_exceptions),
        ),
        accounts=list(status.accounts),
        warnings=list(status.warnings),
    )


@router.get(
    "/{framework_id}/status",
    response_model=FrameworkStatusOut,
    summary="Control statuses from the latest usable evidence at as_of (default now)",
    responses=errors(*READ, 404),
)
async def framework_status(
    framework_id: FrameworkId,
    context: ContextDep,
    _principal: OfficerPrincipal,
    as_of: Annotated[
        InstantOrDay | None,
        Query(description="RFC 3339 with a zone, or YYYY-MM-DD for the end of that day (UTC); default now."),
    ] = None,
    account: Annotated[
        list[AccountId],
        Query(max_length=100, description="Evaluate only these accounts (repeatable; default every account)."),
    ] = [],  # noqa: B006 - FastAPI copies query defaults
) -> FrameworkStatusOut:
    source = _source(context.frameworks)
    accounts = tuple(sorted(set(account)))
    moment = as_of_instant(as_of, now=context.clock())
    status = await anyio.to_thread.run_sync(lambda: source.status(framework_id, as_of=moment, accounts=accounts))
    return status_out(status)
