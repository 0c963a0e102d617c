"""The server secret that signs pagination cursors, when AUDITPACK_CURSOR_SECRET does not give one.

It is generated once, at random, into `<data dir>/cursor-secret` (mode 0600) and read by every later start, so
replicas sharing the data directory (as they must for packet files) sign and accept the same cursors. The file is
written under a temporary name and linked into place: of two replicas starting at once one link wins, the other
reads the winner's secret, and nobody ever reads a half-written file. Its content is never logged or shown.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from pathlib import Path

from api.errors import NotConfiguredError

CURSOR_SECRET_FILE = "cursor-secret"  # noqa: S105 - a file name, not a secret
_CONTENT = re.compile(rb"[0-9a-f]{64}\n?")


def _read(path: Path) -> bytes:
    content = path.read_bytes()
    if not _CONTENT.fullmatch(content):
        # Say where, never what: the content is the secret (or a damaged copy of it).
        raise NotConfiguredError(
            f"{path} does not hold a cursor secret (expected 64 hexadecimal characters)",
            hint="delete it to have a new one generated, or set AUDITPACK_CURSOR_SECRET",
        )
    return content.strip()


def load_or_create_cursor_secret(data_dir: Path) -> bytes:
    """The secret in `data_dir`, generating it on first use."""
    path = data_dir / CURSOR_SECRET_FILE
    if path.exists():
        return _read(path)
    data_dir.mkdir(parents=True, exist_ok=True)
    temporary = data_dir / f".{CURSOR_SECRET_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(secrets.token_hex(32).encode("ascii") + b"\n")
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):  # another replica linked its secret first: use that one
            os.link(temporary, path)  # atomic
    finally:
        temporary.unlink(missing_ok=True)
    return _read(path)
