"""Prometheus metrics. Token-protected (officer or admin): route names, job and packet counts are
operational detail an anonymous caller has no need for. Scrape with `authorization: {credentials_file: ...}`."""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.deps import ContextDep, OfficerPrincipal
from api.schemas.common import AUTH, errors

router = APIRouter(tags=["health"])


@router.get(
    "/metrics",
    summary="Prometheus metrics (officer or admin token)",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}}}, **errors(*AUTH, 404)},
)
def metrics(context: ContextDep, _principal: OfficerPrincipal) -> Response:
    return Response(generate_latest(context.metrics.registry), media_type=CONTENT_TYPE_LATEST)
