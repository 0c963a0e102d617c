"""Acme Health's customer evidence as data: `customer_evidence.yaml` read into validated models, with its relative
dates and `{year}` / `{day-N}` placeholders resolved against the moment the demo seeds it."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from functools import cache
from importlib import resources
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

_PLACEHOLDER = re.compile(r"\{(year|day)(?:-(\d+))?\}")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Reject(_Model):
    reject: str


class _Item(_Model):
    title: str
    owner: str
    controls: tuple[str, ...] = Field(min_length=1)
    submitted_days_ago: int = Field(ge=2)  # reviewed one day later, still before the collection
    valid_days: int | None = Field(default=None, ge=1)  # None: the kind's configured default
    review: Literal["approve"] | Reject = "approve"


class DocumentSpec(_Item):
    file: str
    body: tuple[str, ...]  # paragraphs; "# Heading" starts a section


class RecordSpec(_Item):
    file: str
    url: str
    rows: tuple[tuple[str, ...], ...]  # a header and the rows of the CSV export


class AttestationSpec(_Item):
    statement_by: str
    statement: str


class ExceptionSpec(_Model):
    check: str
    resource: str  # the last part of the failing finding's resource id (a name in the estate)
    requested_days_ago: int = Field(ge=1)
    reviewed_days_ago: int = Field(ge=1)
    expires_in_days: int  # negative: it expired that many days before the demo
    justification: str
    compensating: str


class CustomerEvidenceSpec(_Model):
    submitted_by: str
    reviewed_by: str
    documents: tuple[DocumentSpec, ...]
    records: tuple[RecordSpec, ...]
    attestations: tuple[AttestationSpec, ...]
    exceptions: tuple[ExceptionSpec, ...]


def expand(text: str, now: datetime) -> str:
    """`{year}`, `{year-N}` and `{day-N}` (ISO date) relative to `now`: the content reads current on any date."""

    def value(match: re.Match[str]) -> str:
        back = int(match.group(2) or 0)
        if match.group(1) == "year":
            return str(now.year - back)
        return (now - timedelta(days=back)).date().isoformat()

    return _PLACEHOLDER.sub(value, text)


def _expand_all(data: Any, now: datetime) -> Any:
    if isinstance(data, str):
        return expand(data, now)
    if isinstance(data, list):
        return [_expand_all(value, now) for value in data]
    if isinstance(data, dict):
        return {key: _expand_all(value, now) for key, value in data.items()}
    return data


@cache
def _raw() -> Any:
    return yaml.safe_load(resources.files("auditpack.demo").joinpath("customer_evidence.yaml").read_text("utf-8"))


def load_customer_evidence(now: datetime) -> CustomerEvidenceSpec:
    """The packaged customer evidence with its placeholders resolved against `now`."""
    return CustomerEvidenceSpec.model_validate(_expand_all(_raw(), now))
