"""Liveness and readiness probes: no authentication, nothing secret in them."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from api.deps import ContextDep
from api.schemas.health import Health, Readiness

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, summary="Liveness: the process answers")
def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Readiness,
    summary="Readiness: the database answers",
    responses={503: {"model": Readiness, "description": "The database is unreachable"}},
)
def readyz(context: ContextDep) -> Readiness | JSONResponse:
    try:
        with context.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError:
        return JSONResponse(Readiness(status="unavailable", database="unreachable").model_dump(), status_code=503)
    return Readiness(status="ready", database="ok")
