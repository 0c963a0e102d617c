"""The errors the API adds to the tree, and the one table that turns any auditpack error into an HTTP status.

    AuditpackError                     (core.errors)                         HTTP
    +-- InputError                     bad input                                 400
    |   +-- NotFoundError              no such id, or not visible to the caller  404
    |   +-- InvalidCursorError         a cursor this server did not sign as is   400 (code invalid_cursor)
    |   +-- ConflictError              contradicts stored state                  409
    |   |   +-- IdempotencyKeyReused   same Idempotency-Key, different request   422
    |   +-- ForbiddenError             the actor may not (e.g. approve their own) 403
    |   +-- UnsupportedMediaError      content not of an accepted type (sniffed) 415
    |   +-- PayloadTooLarge            request body over the limit               413
    +-- AuthenticationError            missing, malformed, expired, revoked      401 + WWW-Authenticate: Bearer
    +-- PermissionDenied               valid token without the right             403
    +-- RateLimited                    too many authentication failures          429 + Retry-After
    +-- NotConfigured                  this deployment has no such executor      503
    +-- StoreError                     the database failed us                    503
    |   +-- Overloaded                 no connection / request place came free   503 + Retry-After
    +-- VerificationError              a stored file no longer matches its hash  500

Domain and service code raises these; `api.handlers` maps them, once (and maps SQLAlchemy's pool timeout to
`Overloaded` there). Nothing raises `HTTPException`.
"""

from __future__ import annotations

from core.errors import (
    AuditpackError,
    ConflictError,
    ForbiddenError,
    InputError,
    NotFoundError,
    StoreError,
    VerificationError,
)
from evidence.customer.sniff import UnsupportedMediaError


class IdempotencyKeyReusedError(ConflictError):
    """An Idempotency-Key was used before with a different request."""


class InvalidCursorError(InputError):
    """A pagination cursor that is malformed, altered, unsigned, or belongs to another query."""


class PayloadTooLargeError(InputError):
    """The request body is larger than the configured limit."""


class AuthenticationError(AuditpackError):
    """No usable credentials: the token is missing, malformed, unknown, expired or revoked."""


class PermissionDeniedError(AuditpackError):
    """The token is valid but its role may not do this."""


class RateLimitedError(AuditpackError):
    """Too many failed authentication attempts from one client address."""

    def __init__(self, message: str, *, retry_after: int, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.retry_after = retry_after


class OverloadedError(StoreError):
    """The service is at capacity: no pooled database connection, or no place among the requests handled at
    once, came free within its short wait. Shed at once with Retry-After rather than queue into a timeout."""

    def __init__(self, message: str, *, retry_after: int = 1, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.retry_after = retry_after


class NotConfiguredError(AuditpackError):
    """The operation needs an executor (collector, packet builder, verifier) this deployment was not given."""


# Most specific first: the first class an error is an instance of decides. (status, machine-readable code)
STATUS_BY_ERROR: tuple[tuple[type[AuditpackError], int, str], ...] = (
    (IdempotencyKeyReusedError, 422, "idempotency_key_reused"),
    (PayloadTooLargeError, 413, "payload_too_large"),
    (UnsupportedMediaError, 415, "unsupported_media_type"),
    (ForbiddenError, 403, "forbidden"),
    (InvalidCursorError, 400, "invalid_cursor"),
    (NotFoundError, 404, "not_found"),
    (ConflictError, 409, "conflict"),
    (InputError, 400, "bad_request"),
    (AuthenticationError, 401, "unauthenticated"),
    (PermissionDeniedError, 403, "forbidden"),
    (RateLimitedError, 429, "rate_limited"),
    (NotConfiguredError, 503, "not_configured"),
    (OverloadedError, 503, "overloaded"),
    (StoreError, 503, "store_unavailable"),
    (VerificationError, 500, "verification_failed"),
    (AuditpackError, 500, "internal_error"),
)


def status_for(error: AuditpackError) -> tuple[int, str]:
    for cls, status, code in STATUS_BY_ERROR:
        if isinstance(error, cls):
            return status, code
    return 500, "internal_error"  # pragma: no cover - AuditpackError is last in the table
