"""The error body every failure shares, and helpers to document each route's error responses."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ErrorInfo(BaseModel):
    code: str = Field(description="Machine-readable reason, e.g. not_found, unauthenticated, rate_limited.")
    message: str = Field(description="What was wrong: what was found and what was expected.")
    hint: str | None = Field(default=None, description="What to do about it, when known.")
    details: list[dict[str, Any]] | None = Field(default=None, description="Per-field problems of invalid input.")


class ErrorBody(BaseModel):
    error: ErrorInfo


class Model(BaseModel):
    """Response models read ORM rows directly."""

    model_config = ConfigDict(from_attributes=True)


class StrictInput(BaseModel):
    """Request bodies refuse unknown fields, so a typo is an error rather than silently ignored."""

    model_config = ConfigDict(extra="forbid")


_DESCRIPTIONS = {
    400: "Invalid input (e.g. a cursor from another query)",
    401: "Missing, malformed, unknown, expired or revoked bearer token (with `WWW-Authenticate: Bearer`)",
    403: "The token's role may not do this, or the caller may not (e.g. review their own submission)",
    404: "No such resource, or not visible to this token (auditors see only what was granted to them)",
    409: "Conflicts with the stored state",
    413: "Request body over the size limit",
    415: "The uploaded content is not of an accepted type (sniffed from its bytes)",
    422: "Invalid request parameters or body, or an Idempotency-Key reused for a different request",
    429: "Too many failed authentication attempts from this address (see `Retry-After`)",
    503: "Not available on this deployment or right now",
}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for the given error statuses, all with the shared error body."""
    return {status: {"model": ErrorBody, "description": _DESCRIPTIONS[status]} for status in statuses}


AUTH = (401, 429)  # every route that needs a token
READ = (*AUTH, 422)  # plus parameter validation
