"""The web interface: server-rendered pages for compliance officers and auditors, at /ui.

A sub-application mounted into the API's app (`mount`), so the API's middleware (security headers, body limits,
admission control, metrics, the auditor access log) wraps every page, while the pages get their own error pages
(HTML, not JSON), their own Content-Security-Policy and stay out of the API's OpenAPI schema. Pages call the same
services as the JSON API (`api.services`, `evidence.customer.service`, the frameworks and findings sources), and
for downloads and reviews the API's route functions themselves, so no rule is written twice.

    views/      one router per area: sign-in, dashboard, controls, findings, runs, owners, packets, evidence
    templates/  Jinja2, autoescaped; htmx asks for single blocks (jinja2-fragments)
    static/     app.css and the vendored htmx (static/VENDORED.md): nothing is loaded from another site
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from api.context import ApiContext
from api.ui import errors
from api.ui.background import Background
from api.ui.board import StatusBoard, TrendBoard
from api.ui.customer_snapshot import CustomerSnapshot
from api.ui.queries import FacetsCache
from api.ui.security import UiHeadersMiddleware
from api.ui.session import SessionKeys

STATIC = Path(__file__).parent / "static"
PREFIX = "/ui"
UPLOAD_PATH = f"{PREFIX}/evidence-items"  # the one multipart route: streamed past the small body limit


def create_ui(context: ApiContext, *, secret: bytes) -> FastAPI:
    from api.ui.views import controls, dashboard, evidence, findings, owners, packets, runs, signin

    ui = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    ui.state.context = context
    ui.state.keys = SessionKeys(secret)
    # What pages share between requests (api.ui.board, api.ui.customer_snapshot): evaluated statuses and the
    # trend, refreshed by one background thread, the customer evidence rows and the control-list facets.
    background = Background()
    ui.state.board = StatusBoard(background.submit)
    ui.state.trend = TrendBoard(background.submit)
    ui.state.customer = CustomerSnapshot(context.engine, context.clock)
    ui.state.facets = FacetsCache()
    if context.config.ui_warm_statuses and context.frameworks is not None:
        source = context.frameworks
        ui.state.board.warm(source, [catalog.id for catalog in source.catalogs()], engine=context.engine)
    errors.install(ui)
    ui.mount("/static", StaticFiles(directory=STATIC), name="static")
    for view in (signin, dashboard, controls, findings, runs, owners, packets, evidence):
        ui.include_router(view.router)
    ui.add_middleware(UiHeadersMiddleware)
    return ui


def mount(app: FastAPI, context: ApiContext, *, secret: bytes) -> None:
    app.mount(PREFIX, create_ui(context, secret=secret))
