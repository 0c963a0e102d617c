"""Drift between two runs: what changed resource by resource, and who changed it (paged), and how each framework's
control statuses moved (officers)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from api.deps import ContextDep, CurrentPrincipal, OfficerPrincipal, SessionDep
from api.errors import InvalidCursorError, NotConfiguredError
from api.schemas.common import READ, errors
from api.schemas.diff import ControlChangeOut, ControlDiff, CustomerChangeOut, DiffPage, DiffRunOut, PlaceOut
from api.schemas.diff import ResourceChangeOut as ResourceOut
from api.schemas.types import Id, count
from api.services import drift
from evidence.diff.jsonable import resource_json
from evidence.diff.order import ResourceKey
from evidence.models import Run
from evidence.store import EvidenceStore

router = APIRouter(prefix="/v1/runs", tags=["runs"])
_KEY_PART = 2048  # the longest resource id the store keeps


def _run(run: Run) -> DiffRunOut:
    return DiffRunOut.model_validate(run)


def _position(position: dict[str, object]) -> ResourceKey:
    value = position.get("after")
    if (
        not isinstance(value, list)
        or len(value) != 3
        or not all(isinstance(part, str) and 0 < len(part) <= _KEY_PART for part in value)
    ):
        raise InvalidCursorError("the cursor's position 'after' is not an (account, region, resource) triple")
    return (value[0], value[1], value[2])


@router.get(
    "/{run_id}/diff",
    response_model=DiffPage,
    summary="What changed between another run and this one, resource by resource, and who changed it",
    description="Resources added, removed, changed (field by field, e.g. `IpPermissions: added tcp 22 from "
    "0.0.0.0/0`) and unread (a gap), with their findings newly failing, resolved, still failing or unverified, and "
    "the CloudTrail events this run recorded for them. In resource order (account, region, resource id); "
    "`against` defaults to the run before this one. Auditors compare runs of their packets, in their accounts.",
    responses=errors(*READ, 400, 404, 409),
)
def run_diff(
    run_id: Annotated[Id, Path()],
    context: ContextDep,
    session: SessionDep,
    principal: CurrentPrincipal,
    against: Annotated[Id | None, Query(description="The older run (default: the run before this one).")] = None,
    limit: Annotated[count(1, 500), Query()] = 100,
    cursor: Annotated[str | None, Query(max_length=8192)] = None,
) -> DiffPage:
    store = EvidenceStore(context.engine)
    older, newer = drift.run_pair(session, store, run_id=run_id, against=against, principal=principal)
    session.close()  # the diff streams on connections of its own
    key = {"run": newer.id, "against": older.id}
    after = _position(context.cursors.decode(cursor, filters=key)) if cursor else None
    found = drift.diff_page(
        store, older, newer, accounts=drift.visible_accounts(principal, older, newer), after=after, limit=limit
    )
    next_cursor = context.cursors.encode({"after": list(found.next_key)}, filters=key) if found.next_key else None
    return DiffPage(
        from_run=_run(older),
        to_run=_run(newer),
        findings_compared=found.diff.findings_compared,
        places_only_in_from=[PlaceOut(account_id=a, region=r) for a, r in found.diff.places_only_before],
        places_only_in_to=[PlaceOut(account_id=a, region=r) for a, r in found.diff.places_only_after],
        items=[ResourceOut.model_validate(resource_json(item)) for item in found.items],
        next_cursor=next_cursor,
    )


@router.get(
    "/{run_id}/diff/controls",
    response_model=ControlDiff,
    summary="How one framework's control statuses moved between another run and this one",
    description="Each run's status as of its end (with the customer evidence known then); requirements whose "
    "overall status changed, with why (the checks' verdict, items and exceptions that lapsed or were approved), and "
    "the customer evidence and exceptions created, reviewed or expired between the two.",
    responses=errors(*READ, 404, 409, 503),
)
def run_control_diff(
    run_id: Annotated[Id, Path()],
    context: ContextDep,
    session: SessionDep,
    principal: OfficerPrincipal,
    framework: Annotated[str, Query(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$", description="e.g. hipaa")],
    against: Annotated[Id | None, Query(description="The older run (default: the run before this one).")] = None,
) -> ControlDiff:
    if context.frameworks is None:
        raise NotConfiguredError("no frameworks source is configured, so control statuses cannot be compared")
    store = EvidenceStore(context.engine)
    older, newer = drift.run_pair(session, store, run_id=run_id, against=against, principal=principal)
    session.close()
    found = drift.control_drift(store, context.frameworks, framework, older, newer)
    return ControlDiff(
        framework=framework,
        from_run=_run(older),
        to_run=_run(newer),
        compared=found.compared,
        note=found.note,
        control_changes=[
            ControlChangeOut(
                control_id=c.control_id,
                title=c.title,
                before=c.before.value,
                after=c.after.value,
                reason=c.reason,
                causes=list(c.causes),
            )
            for c in found.changes
        ],
        customer_changes=[
            CustomerChangeOut(
                kind=c.kind,
                id=c.id,
                title=c.title,
                event=c.event,
                at=c.at,
                actor=c.actor,
                controls=list(c.controls),
            )
            for c in found.customer
        ],
    )
