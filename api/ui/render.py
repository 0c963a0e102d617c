"""Templates: Jinja2 with autoescaping on for every template, rendered whole or as one block (jinja2-fragments)
when htmx asks for a part of a page (`HX-Request`)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlencode

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from jinja2_fragments.fastapi import Jinja2Blocks
from starlette.requests import Request
from starlette.responses import Response

from frameworks.results import OverallStatus

TEMPLATES = Path(__file__).parent / "templates"
FLASH_COOKIE = "auditpack_flash"  # a one-time message after a form post (api.ui.forms.done)
# The order statuses are shown in, with their labels (bars, filters, badges).
STATUS_LABELS: dict[str, str] = {
    OverallStatus.MET.value: "met",
    OverallStatus.NOT_MET.value: "not met",
    OverallStatus.EXCEPTED.value: "excepted",
    OverallStatus.EVIDENCE_NEEDED.value: "evidence needed",
    OverallStatus.INCOMPLETE.value: "incomplete",
    OverallStatus.INHERITED.value: "inherited",
    OverallStatus.NOT_APPLICABLE.value: "not applicable",
}


def when(value: datetime | None) -> str:
    """A moment as people read it in an audit: UTC, to the minute."""
    if value is None:
        return "—"
    return value.strftime("%Y-%m-%d %H:%M UTC")


def day(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d") if value is not None else "—"


def size(value: int | None) -> str:
    if value is None:
        return "—"
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:,} {unit}" if unit == "bytes" else f"{value:,.1f} {unit}"
        value /= 1024  # type: ignore[assignment]
    return str(value)  # pragma: no cover


def query(params: Mapping[str, Any], **changes: Any) -> str:
    """`?a=1&b=2` from the current filters with some changed; empty values are left out."""
    merged = {**params, **changes}
    pairs = [(k, v) for k, v in merged.items() if v not in (None, "")]
    return "?" + urlencode(pairs) if pairs else ""


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,  # every template, whatever its name
        undefined=StrictUndefined,  # a missing value is a bug to see, not an empty cell
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(when=when, day=day, size=size, path=lambda v: quote(str(v), safe=""))
    env.globals.update(STATUS_LABELS=STATUS_LABELS, query=query)
    return env


templates = Jinja2Blocks(env=_environment())


def wants_fragment(request: Request) -> bool:
    return request.headers.get("hx-request") == "true" and request.headers.get("hx-boosted") != "true"


def page(
    request: Request,
    name: str,
    context: dict[str, Any],
    *,
    block: str | None = None,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """Render `name`; only its `block` when htmx asked for part of the page."""
    state = request.state
    context.setdefault("principal", getattr(state, "principal", None))
    context.setdefault("csrf", getattr(state, "csrf", ""))
    sources = request.app.state.context.frameworks
    context.setdefault("nav_frameworks", [(c.id, c.name) for c in sources.catalogs()] if sources else [])
    message = request.cookies.get(FLASH_COOKIE)
    context.setdefault("flash", unquote(message)[:300] if message else None)
    if block is not None and wants_fragment(request):
        return templates.TemplateResponse(
            request, name, context, status_code=status_code, headers=headers, block_name=block
        )
    response = templates.TemplateResponse(request, name, context, status_code=status_code, headers=headers)
    if message:
        response.delete_cookie(FLASH_COOKIE, path="/ui")  # shown once
    return response
