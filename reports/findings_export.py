"""What the finding interchange formats (OCSF, ASFF) share: the framework requirements each check is evidence for,
the run a finding comes from, a finding's stable identifier, and writing one JSON document per line.

Both formats are renderings of the same stored findings, like the packet: no verdict is decided here. The
requirements come from the catalogs (a control's `checks`), restricted to the scopes in force, so a finding names
exactly the requirements a packet would count it towards.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any

from evidence.checks.types import Finding
from frameworks.schema import Catalog
from frameworks.structure import index_catalog

# uuid5 namespace of auditpack finding ids (an arbitrary constant: changing it changes every exported id).
FINDING_NAMESPACE = uuid.UUID("5d1f4b36-43c7-5b3e-9c1a-0c4f3a9e7d21")
PRODUCT_NAME = "auditpack"


@dataclass(frozen=True, slots=True)
class Requirement:
    framework: str  # catalog id, e.g. "pci-dss"
    standard: str  # e.g. "PCI DSS 4.0.1"
    name: str  # the catalog's name, e.g. "PCI DSS"
    control: str  # the control id, exact as the framework numbers it, e.g. "8.3.1"

    @property
    def label(self) -> str:
        """e.g. "PCI DSS 8.3.1", "HIPAA Security Rule 164.312(d)"."""
        return f"{self.name} {self.control}"


class ComplianceIndex:
    """check id -> the framework requirements (non-heading controls in scope) that name it, in catalog order."""

    def __init__(self, catalogs: Iterable[Catalog], scopes: Mapping[str, frozenset[str]] | None = None) -> None:
        by_check: dict[str, list[Requirement]] = {}
        self.frameworks: dict[str, str] = {}  # catalog id -> standard
        for catalog in catalogs:
            standard = f"{catalog.name} {catalog.version}"
            self.frameworks[catalog.id] = standard
            index = index_catalog(catalog)
            active = (scopes or {}).get(catalog.id)
            for control in index.requirements():
                scope = index.scope[control.id]
                if scope is not None and active is not None and scope not in active:
                    continue
                for ref in control.checks:
                    requirement = Requirement(catalog.id, standard, catalog.name, control.id)
                    by_check.setdefault(ref.id, []).append(requirement)
        self._by_check = {check: tuple(dict.fromkeys(found)) for check, found in by_check.items()}

    def requirements(self, check_id: str) -> tuple[Requirement, ...]:
        return self._by_check.get(check_id, ())

    def standards(self, check_id: str) -> list[str]:
        return list(dict.fromkeys(r.standard for r in self.requirements(check_id)))

    def checks(self) -> frozenset[str]:
        """Every check some requirement names (what `--framework` narrows an export to)."""
        return frozenset(self._by_check)

    def only(self, framework_id: str) -> ComplianceIndex:
        """The same index restricted to one framework's requirements."""
        narrowed = ComplianceIndex(())
        narrowed.frameworks = {framework_id: self.frameworks[framework_id]}
        narrowed._by_check = {
            check: kept
            for check, found in self._by_check.items()
            if (kept := tuple(r for r in found if r.framework == framework_id))
        }
        return narrowed


@dataclass(frozen=True, slots=True)
class ExportRun:
    """The evaluation the exported findings come from."""

    run_id: int
    evaluated_at: datetime  # when the findings were derived: the findings' creation time
    findings_digest: str  # the finding set's digest, as `auditpack verify --store` checks it
    product_version: str


def finding_uid(finding: Finding) -> str:
    """The same check on the same resource gets the same id in every run (so Security Hub updates the finding it
    already holds instead of adding one per run), and a different id for anything else."""
    key = "\x1f".join((finding.check_id, finding.account_id, finding.region, finding.resource_id))
    return str(uuid.uuid5(FINDING_NAMESPACE, key))


def epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def clip(text: str, limit: int) -> str:
    """`text` within `limit` characters, cut with an ellipsis (fields with a hard length limit)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def dumps_line(document: dict[str, Any]) -> str:
    """One document as a line of NDJSON, without spaces. Keys keep the order the renderer builds them in (fixed
    by the code), so the same finding always gives the same bytes."""
    return _ENCODER.encode(document) + "\n"


def write_ndjson(documents: Iterator[dict[str, Any]], stream: IO[str]) -> int:
    """Write each document as it comes (nothing is held back); returns how many were written."""
    count = 0
    for document in documents:
        stream.write(dumps_line(document))
        count += 1
    return count
