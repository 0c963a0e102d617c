"""Errors of the reports package (all derive from the one tree in `core.errors`)."""

from __future__ import annotations

from core.errors import AuditpackError, InputError


class SignerConfigError(InputError):
    """The signing key, certificate or KMS key cannot be used: what was found and what was expected."""


class PacketInputError(InputError):
    """A packet cannot be built from what was given (a missing directory, a file that is not a packet)."""


class PacketBuildError(AuditpackError):
    """Rendering, embedding or signing failed; nothing was written to the output path."""


def describe(exc: BaseException) -> str:
    """An exception from parsing an untrusted file, as text for a problem message.

    pyHanko's own messages are kept (minus the doubled prefix of its 'at byte 0x0x14dc3'); a bare error such as a
    KeyError from a damaged structure gets its type, since its text alone ('/Type') says little."""
    text = str(exc).replace("0x0x", "0x")
    if type(exc).__module__.startswith(("pyhanko", "zipfile")) and text:
        return text
    kind = type(exc).__qualname__
    if type(exc).__module__ != "builtins":
        kind = f"{type(exc).__module__}.{kind}"  # 'zlib.error', not a bare 'error'
    return f"{kind}: {text}" if text else kind
