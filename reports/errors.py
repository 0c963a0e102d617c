"""Errors of the reports package (all derive from the one tree in `evidence.errors`)."""

from __future__ import annotations

from evidence.errors import AuditpackError, InputError


class SignerConfigError(InputError):
    """The signing key, certificate or KMS key cannot be used: what was found and what was expected."""


class PacketInputError(InputError):
    """A packet cannot be built from what was given (a missing directory, a file that is not a packet)."""


class PacketBuildError(AuditpackError):
    """Rendering, embedding or signing failed; nothing was written to the output path."""
