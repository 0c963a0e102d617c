"""OSCAL renderings of an evaluated framework status: assessment results, a plan of action and milestones (POA&M)
and a system security plan (SSP) fragment with the AWS shared responsibility split, plus the framework's catalog
they all reference (the SSP's baseline).

Like the PDF, these documents render `frameworks.results.FrameworkStatus` and the stored evidence; they decide
nothing. Every UUID is derived (uuid5) from the export's identity and the subject's ids, and every timestamp comes
from the data, so the same export written twice is byte-identical. Documents are streamed to disk (a million
evidence items make a million observations), never held in memory.

    ids.py          UUIDs and OSCAL control ids (tokens) for framework control ids
    jsonstream.py   writes a document whose big arrays are generators
    evidence.py     the evidence rows, resources and payloads an export covers (SQL, streamed)
    parts.py        building blocks shared by the documents (metadata, subjects, evidence observations, gaps)
    customer.py     customer evidence as observations and back-matter resources
    findings.py     per-control findings and the risks of failing check results
    catalog.py      the framework's controls as an OSCAL catalog, which the others reference (the SSP's baseline)
    assessment_results.py, poam.py, ssp.py   the three documents
    export.py       writes all four (to a directory, or as packet bundle files)
"""

from __future__ import annotations

from dataclasses import dataclass

# The OSCAL version every document declares (metadata.oscal-version): the one compliance-trestle's models, which
# validate our output in the tests, are generated from. Change it only together with the trestle pin.
OSCAL_VERSION = "1.2.1"
# Namespace of auditpack's own props (OSCAL `ns`): overall status, check results, owners, exact control ids.
NS = "https://auditpack.dev/ns/oscal"


@dataclass(frozen=True, slots=True)
class Document:
    """One of the documents: its name (CLI, API, manifest), its root key and its file names."""

    name: str
    root: str  # the OSCAL root key and trestle model type
    title: str

    @property
    def filename(self) -> str:
        return f"{self.name}.json"

    @property
    def bundle_name(self) -> str:
        return f"oscal/{self.filename}"


CATALOG = Document("catalog", "catalog", "Catalog")
ASSESSMENT_RESULTS = Document("assessment-results", "assessment-results", "Assessment results")
POAM = Document("poam", "plan-of-action-and-milestones", "Plan of action and milestones")
SSP = Document("ssp", "system-security-plan", "System security plan fragment: the AWS shared responsibility split")
# In the order they are written: the catalog first (the others link to it with its hash).
DOCUMENTS: dict[str, Document] = {doc.name: doc for doc in (CATALOG, SSP, ASSESSMENT_RESULTS, POAM)}
