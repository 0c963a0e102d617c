from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import Field, StringConstraints

from api.schemas.common import Model, StrictInput
from api.schemas.types import AccountId, Day, InstantOrDay


class PeriodIn(StrictInput):
    from_: Day = Field(alias="from", description="First day of the period (UTC), YYYY-MM-DD.")
    to: Day = Field(description="Last day of the period (UTC), inclusive, YYYY-MM-DD.")


class PacketScope(StrictInput):
    accounts: list[AccountId] = Field(default_factory=list, max_length=1000, description="Empty: every account.")


class PacketRequestBody(StrictInput):
    framework: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")] = Field(
        description="hipaa, pci-dss, soc2, or a custom catalog id."
    )
    as_of: InstantOrDay | None = Field(
        default=None,
        description="Evidence as of this moment: RFC 3339 with a zone, or YYYY-MM-DD for the end of that day "
        "(UTC); a date-time without a zone is refused.",
    )
    period: PeriodIn | None = Field(default=None, description="Or: a reporting period.")
    scope: PacketScope | None = None


class PeriodOut(Model):
    from_: dt.date = Field(serialization_alias="from")
    to: dt.date


class FileOut(Model):
    sha256: str
    size: int
    url: str


class SignerOut(Model):
    fingerprint: str | None = Field(description="SHA-256 fingerprint of the signing certificate.")
    identity: str | None
    self_signed: bool | None


class PacketOut(Model):
    id: str
    framework: str
    as_of: dt.datetime | None
    period: PeriodOut | None
    scope: dict[str, list[str]]
    requested_by: str | None = Field(description="Who requested it; null for auditors.")
    status: str = Field(description="queued | running | ready | failed")
    error: str | None
    job_id: int | None = Field(description="The job that builds it (GET /v1/jobs/{id}); null for auditors.")
    run_ids: list[int] = Field(description="The evidence runs the packet rests on.")
    pdf: FileOut | None
    bundle: FileOut | None
    pages: int | None
    signer: SignerOut | None
    created_at: dt.datetime
    finished_at: dt.datetime | None


class PacketPage(Model):
    items: list[PacketOut]
    next_cursor: str | None


class SignatureOut(Model):
    intact: bool = Field(description="The signed bytes are unchanged.")
    valid: bool = Field(description="The signature is cryptographically valid.")
    trusted: bool = Field(description="The signer chains to a configured trust root.")
    problems: list[str] = Field(description="Each failed check: what was found and what was expected.")


class FileCheckOut(Model):
    name: str = Field(description="pdf | bundle")
    expected_sha256: str
    actual_sha256: str | None
    expected_size: int
    actual_size: int | None
    intact: bool = Field(description="The file on disk still hashes to what was recorded when it was built.")
    signature: SignatureOut | None = Field(description="Null when no signature verifier is configured.")


class PacketVerificationOut(Model):
    packet_id: str
    ok: bool = Field(
        description="Every file intact and (when checked) every signature intact and valid with no problem "
        "reported (an untrusted signer is a problem: configure its CA in AUDITPACK_TRUST_ROOTS)."
    )
    signatures_checked: bool
    files: list[FileCheckOut]
