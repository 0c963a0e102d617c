"""Re-export of `kernel.errors` for `evidence/checks`, which is being restructured in parallel; remove once it
imports `kernel.errors` itself."""

from kernel.errors import (
    AuditpackError,
    ConflictError,
    ForbiddenError,
    InputError,
    NotFoundError,
    SchemaOutOfDateError,
    StoreError,
    VerificationError,
)

__all__ = [
    "AuditpackError",
    "ConflictError",
    "ForbiddenError",
    "InputError",
    "NotFoundError",
    "SchemaOutOfDateError",
    "StoreError",
    "VerificationError",
]
