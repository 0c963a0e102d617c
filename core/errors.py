"""The one exception tree of auditpack.

    AuditpackError                 root; every error a user may see derives from it
    +-- InputError                 bad input from the user: exit code 2, HTTP 4xx
    |   +-- NotFoundError          an id that does not exist (HTTP 404)
    |   +-- ConflictError          the request contradicts stored state (HTTP 409)
    |   +-- ForbiddenError         the actor may not do this (self-approval, wrong role) (HTTP 403)
    +-- StoreError                 the evidence store cannot do what was asked
    |   +-- SchemaOutOfDateError   the database schema is behind the code
    +-- VerificationError          something that was signed or hash-chained does not match

Every package subclasses these (`frameworks`, `reports` and `api` have their own errors module); `api` maps them to
HTTP once, in one handler, and the CLI maps them to exit codes once, in its entry point.
"""

from __future__ import annotations


class AuditpackError(Exception):
    """Root of every auditpack error."""

    exit_code: int = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def diagnostics(self) -> str:
        """A human-readable explanation: the message, then what to do about it when we know."""
        if self.hint:
            return f"{self.message}\n  hint: {self.hint}"
        return self.message


class InputError(AuditpackError):
    """The user gave us something we cannot use (bad date, unknown framework, malformed file)."""

    exit_code = 2


class NotFoundError(InputError):
    """A requested id does not exist."""


class ConflictError(InputError):
    """The request contradicts what is stored (e.g. sealing a run twice)."""


class ForbiddenError(InputError):
    """The actor may not do this: approving their own submission, or reviewing without the role to."""


class StoreError(AuditpackError):
    """The evidence store failed to do what was asked."""


class SchemaOutOfDateError(StoreError):
    """The database schema is older than this version of auditpack."""

    exit_code = 2


class VerificationError(AuditpackError):
    """A signature, hash or chain link does not match: what was found and what was expected."""
