"""Liveness and readiness probes: no authentication, nothing secret in them."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import ContextDep
from api.schemas.health import Health, Readiness
from api.services.health import data_dir_writable, database_answers

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, summary="Liveness: the process answers")
def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Readiness,
    summary="Readiness: the database answers and the data directory can be written",
    responses={
        503: {"model": Readiness, "description": "The database is unreachable or the data directory unwritable"}
    },
)
def readyz(context: ContextDep) -> Readiness | JSONResponse:
    database = database_answers(context.engine)
    writable = data_dir_writable(context.data_dir)
    readiness = Readiness(
        status="ready" if database and writable else "unavailable",
        database="ok" if database else "unreachable",
        data_dir="ok" if writable else "unwritable",
    )
    return readiness if database and writable else JSONResponse(readiness.model_dump(), status_code=503)
