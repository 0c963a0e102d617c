from __future__ import annotations

from datetime import datetime

from pydantic import Field

from api.schemas.common import Model


class AccessLogEntryOut(Model):
    seq: int
    at: datetime
    principal: str
    token_id: int | None
    role: str | None
    action: str = Field(description="download.pdf | download.bundle | download.evidence | request")
    method: str
    path: str
    packet_id: str | None
    status_code: int = Field(description="499 when the client went away before the download completed.")
    client: str | None
    bytes_sent: int
    sha256: str | None = Field(description="SHA-256 of the bytes served (downloads).")
    previous_sha256: str | None
    entry_sha256: str
    canonical_version: int = Field(
        description="How entry_sha256 was computed: 1 auditpack's legacy canonical JSON, 2 RFC 8785 (JCS)."
    )


class AccessLogPage(Model):
    items: list[AccessLogEntryOut]
    next_cursor: str | None
