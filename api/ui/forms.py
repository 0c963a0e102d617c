"""Form posts: the fields into the API's own request models (the same validation as a JSON body), the answer as a
redirect back to the page the form was on with a one-time message (post/redirect/get)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar
from urllib.parse import quote

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse

from api.ui.render import FLASH_COOKIE
from api.ui.security import CSRF_FIELD

M = TypeVar("M", bound=BaseModel)


def fields(form: FormData, *, lists: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The form's fields without the CSRF token and the return address; empty fields are absent (a browser sends
    every field of a form, filled or not)."""
    data: dict[str, Any] = {}
    for name in form:
        if name in (CSRF_FIELD, "next"):
            continue
        values = [v for v in form.getlist(name) if isinstance(v, str) and v.strip()]
        if name in lists:
            data[name] = values
        elif values:
            data[name] = values[0] if len(values) == 1 else values
    return data


def parse(model: type[M], data: Mapping[str, Any]) -> M:
    try:
        return model.model_validate(dict(data))
    except ValidationError as exc:
        raise RequestValidationError(
            [{**error, "loc": ("body", *error["loc"])} for error in exc.errors(include_url=False)]
        ) from None


def local(target: object, default: str) -> str:
    """A return address inside the interface, or `default`: a form never sends the browser to another site."""
    if isinstance(target, str) and target.startswith("/ui/") and not target.startswith("//") and "\\" not in target:
        return target
    return default


def done(request: Request, target: str, message: str) -> RedirectResponse:
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(FLASH_COOKIE, quote(message[:300]), max_age=60, path="/ui", httponly=True, samesite="strict")
    return response
