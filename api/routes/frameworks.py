"""Frameworks: the catalogs, their controls, and control status as of a moment. Registered when the app is given
a `FrameworksSource` (the frameworks package's loader and evaluator)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, Path, Query
from fastapi.exceptions import RequestValidationError

from api.deps import ContextDep, OfficerPrincipal
from api.errors import InvalidCursorError, NotConfiguredError
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
from api.schemas.history import ControlHistoryOut, FrameworkHistoryPage
from api.schemas.types import AccountId, Day, InstantOrDay, count
from api.services import cursor as cursors
from api.sources import FrameworksSource
from frameworks import expiring
from frameworks.history import Captures
from frameworks.operation import ControlOperation, PeriodOperation
from frameworks.period_render import controls_to_dicts, period_to_dict
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


MAX_PERIOD_DAYS = 731  # two years of nightly captures: longer periods are a packet's job, not a request's


def _invalid(field: str, message: str) -> RequestValidationError:
    """A 422 naming the query parameter, shaped like every other parameter error."""
    return RequestValidationError([{"loc": ("query", field), "msg": message, "type": "value_error"}])


def _check_period(first: dt.date, last: dt.date, today: dt.date) -> None:
    if first > last:
        raise _invalid("to", f"{last.isoformat()} is before from {first.isoformat()}: a period ends after it starts")
    if last > today:
        raise _invalid("to", f"{last.isoformat()} is in the future (today is {today.isoformat()} UTC)")
    if (last - first).days + 1 > MAX_PERIOD_DAYS:
        raise _invalid(
            "to",
            f"the period from {first.isoformat()} to {last.isoformat()} has {(last - first).days + 1} days; "
            f"at most {MAX_PERIOD_DAYS} are served here (build a packet for a longer period)",
        )


def _history_items(period: PeriodOperation, page: Sequence[ControlOperation]) -> list[ControlHistoryOut]:
    rendered = controls_to_dicts(period, [control.control_id for control in page])
    return [
        ControlHistoryOut.model_validate(
            {
                "control_id": control.control_id,
                "title": control.info.title,
                "family_id": control.info.family_id,
                "heading": control.info.heading,
                **rendered[control.control_id],
            }
        )
        for control in page
    ]


def _captures_fingerprint(period: PeriodOperation) -> str:
    """Ties a cursor to the captures its first page was computed from."""
    runs = [[capture.run_id, capture.run.digest] for capture in period.history.captures]
    return hashlib.sha256(json.dumps(runs).encode()).hexdigest()[:16]


@router.get(
    "/{framework_id}/history",
    response_model=FrameworkHistoryPage,
    summary="Every capture of a period evaluated: each control's history and operation (paged by control)",
    responses=errors(*READ, 400, 404),
)
async def framework_history(
    framework_id: FrameworkId,
    context: ContextDep,
    _principal: OfficerPrincipal,
    date_from: Annotated[Day, Query(alias="from", description="First day of the period (UTC), YYYY-MM-DD.")],
    date_to: Annotated[Day, Query(alias="to", description="Last day of the period (UTC), inclusive, YYYY-MM-DD.")],
    captures: Annotated[
        Captures | None,
        Query(description="all: every complete or partial run; daily: the last of each UTC day (default: setting)."),
    ] = None,
    account: Annotated[
        list[AccountId],
        Query(max_length=100, description="Evaluate only these accounts (repeatable; default every account)."),
    ] = [],  # noqa: B006 - FastAPI copies query defaults
    limit: Annotated[count(1, 500), Query(description="Controls per page.")] = 50,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> FrameworkHistoryPage:
    source = _source(context.frameworks)
    _check_period(date_from, date_to, context.clock().date())
    accounts = tuple(sorted(set(account)))
    chosen = captures.value if captures is not None else None
    key = {"framework": framework_id, "from": date_from, "to": date_to, "captures": chosen, "accounts": accounts}
    position = context.cursors.decode(cursor, filters=key) if cursor else None
    period = await anyio.to_thread.run_sync(
        lambda: source.history(framework_id, since=date_from, until=date_to, captures=chosen, accounts=accounts)
    )
    fingerprint = _captures_fingerprint(period)
    start = 0
    if position is not None:
        start = cursors.int_position(position, "after")
        if cursors.str_position(position, "captures", max_length=16) != fingerprint:
            raise InvalidCursorError(
                "the period's captures changed since the first page (a run was sealed or failed in it); "
                "start again without a cursor"
            )
    page = period.controls[start : start + limit]
    more = start + limit < len(period.controls)
    summary = period_to_dict(period)
    return FrameworkHistoryPage.model_validate(
        {
            "framework_id": period.history.framework_id,
            "name": period.history.name,
            "version": period.history.version,
            "from_": date_from,
            "to": date_to,
            "captures": summary["captures"],
            "runs": summary["runs"],
            "days": summary["days"],
            "days_without_capture": summary["days_without_capture"],
            "unusable_runs": summary["unusable_runs"],
            "requirements_failed": summary["requirements_failed"],
            "longest_failing_streak": summary["longest_failing_streak"],
            "items": _history_items(period, page),
            "next_cursor": (
                context.cursors.encode({"after": start + limit, "captures": fingerprint}, filters=key) if more else None
            ),
        }
    )
