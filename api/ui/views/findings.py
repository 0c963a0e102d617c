"""The findings browser (the API's filters and cursor paging) and a resource's history across runs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from api.deps import ContextDep, SessionDep
from api.routes import findings as api_findings
from api.schemas.types import AccountId, Id
from api.ui import queries
from api.ui.deps import UiOfficer
from api.ui.render import page
from evidence.checks.types import FindingStatus

router = APIRouter()


@router.get("/findings")
def findings(
    request: Request,
    context: ContextDep,
    principal: UiOfficer,
    run_id: Annotated[Id | None, Query()] = None,  # type: ignore[valid-type]
    check: Annotated[str | None, Query(pattern=r"^[a-z0-9_.]{1,128}$")] = None,
    status: FindingStatus | None = None,
    account: Annotated[AccountId | None, Query()] = None,  # type: ignore[valid-type]
    region: Annotated[str | None, Query(pattern=r"^[a-z0-9-]{1,32}$")] = None,
    service: Annotated[str | None, Query(pattern=r"^[a-z0-9-]{1,64}$")] = None,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> Response:
    queries.findings_source(context)
    found = api_findings.list_findings(
        context,
        principal,
        run_id=run_id,
        check=check,
        status=status,
        account=account,
        region=region,
        service=service,
        observed_from=None,
        observed_to=None,
        limit=100,
        cursor=cursor,
    )
    params = {k: v for k, v in request.query_params.items() if v and k != "cursor"}
    return page(
        request,
        "findings.html",
        {"found": found, "params": params, "statuses": [s.value for s in FindingStatus], "more": bool(cursor)},
        block="rows" if cursor else "results",
    )


@router.get("/resources")
def resource(
    request: Request,
    context: ContextDep,
    session: SessionDep,
    principal: UiOfficer,
    id: Annotated[str, Query(min_length=1, max_length=2048)],
) -> Response:
    source = queries.findings_source(context)
    recent = queries.recent_runs(session, principal)
    session.close()
    history = queries.resource_history(source, id, recent)
    return page(request, "resource.html", {"resource_id": id, "history": history})
