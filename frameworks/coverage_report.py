"""Coverage as the documentation quotes it: JSON rows, Markdown tables, and the rewriting of the generated blocks
in Markdown files, so that no coverage figure in the docs is typed by hand.

A generated block sits between two markers, each on a line of its own; the start marker may name one framework
for its per-family table:

    <!-- coverage:start -->          every catalog's headline figure
    <!-- coverage:end -->
    <!-- coverage:start pci-dss -->  one catalog, family by family
    <!-- coverage:end -->
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from evidence.errors import InputError
from frameworks.coverage import Coverage, coverage, headline, headline_counts
from frameworks.results import Automation
from frameworks.schema import Catalog

_LEVELS = tuple(a.value for a in Automation)
# Markers count only on a line of their own, so prose can quote them.
MARKER = re.compile(
    r"^(<!-- coverage:start(?: (?P<framework>[a-z0-9-]+))? -->\n)(?P<body>.*?)^(<!-- coverage:end -->)$", re.S | re.M
)
_START = re.compile(r"^<!-- coverage:start(?: [a-z0-9-]+)? -->$", re.M)
_END = re.compile(r"^<!-- coverage:end -->$", re.M)


class CoverageDocsError(InputError):
    """A Markdown file's coverage markers cannot be filled: none found, unbalanced, or naming no known catalog."""


def coverage_row(catalog: Catalog, registered: Collection[str]) -> dict[str, Any]:
    """One catalog's coverage as `auditpack frameworks coverage --format json` prints it."""
    top, whole = headline(catalog), coverage(catalog)
    return {
        "id": catalog.id,
        "name": catalog.name,
        "version": catalog.version,
        "counts": headline_counts(catalog),
        "families_counted": [f.family_id for f in top.families],
        "requirements": top.requirements,
        "with_automated_evidence": top.with_checks,
        "by_automation": dict(top.by_automation),
        "catalog": {
            "requirements": whole.requirements,
            "with_automated_evidence": whole.with_checks,
            "by_automation": dict(whole.by_automation),
        },
        "checks_used": list(whole.checks_used),
        "checks_registered": len(registered),
        "families": [
            {
                "id": f.family_id,
                "title": f.title,
                "requirements": f.requirements,
                "by_automation": dict(f.by_automation),
                "with_automated_evidence": f.with_checks,
            }
            for f in whole.families
        ],
    }


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def summary_markdown(catalogs: Sequence[Catalog], registered: Collection[str]) -> str:
    """Every catalog's headline figure: requirements with automated evidence (an automated or partial mapping)."""
    rows = []
    for catalog in catalogs:
        top, whole = headline(catalog), coverage(catalog)
        rows.append(
            (
                f"`{catalog.id}`",
                headline_counts(catalog),
                f"**{top.with_checks} of {top.requirements}**",
                *(top.by_automation[level] for level in _LEVELS),
                f"{whole.with_checks} of {whole.requirements}",
                f"{len(whole.checks_used)} of {len(registered)}",
            )
        )
    header = ("framework", "counted", "with automated evidence", *_LEVELS, "whole catalog", "checks used")
    return _table(header, rows)


def detail_markdown(catalog: Catalog, registered: Collection[str]) -> str:
    """One catalog family by family, with the checks it does not use."""
    whole: Coverage = coverage(catalog)
    rows: list[tuple[object, ...]] = [
        (f"`{f.family_id}`", f.title, f.requirements, *(f.by_automation[level] for level in _LEVELS), f.with_checks)
        for f in whole.families
    ]
    rows.append(
        ("**all**", "", whole.requirements, *(whole.by_automation[level] for level in _LEVELS), whole.with_checks)
    )
    header = ("family", "title", "requirements", *_LEVELS, "with automated evidence")
    unused = sorted(set(registered) - set(whole.checks_used))
    used = f"Checks used: {len(whole.checks_used)} of the {len(registered)} registered"
    used += f"; not used here: {', '.join(f'`{c}`' for c in unused)}." if unused else "."
    return f"{_table(header, rows)}\n\n{used}"


def rewrite_docs(text: str, catalogs: Mapping[str, Catalog], registered: Collection[str]) -> str:
    """`text` with every generated coverage block filled from the catalogs (the packaged ones, for the docs)."""
    if len(_START.findall(text)) != len(_END.findall(text)):
        raise CoverageDocsError(
            "coverage markers are unbalanced: every <!-- coverage:start --> needs a <!-- coverage:end -->"
        )
    if not MARKER.search(text):
        raise CoverageDocsError("no <!-- coverage:start --> ... <!-- coverage:end --> block to fill")

    def fill(match: re.Match[str]) -> str:
        framework = match.group("framework")
        if framework is None:
            body = summary_markdown(list(catalogs.values()), registered)
        elif framework in catalogs:
            body = detail_markdown(catalogs[framework], registered)
        else:
            known = ", ".join(catalogs)
            raise CoverageDocsError(f"coverage marker names unknown framework {framework!r}; known: {known}")
        return f"{match.group(1)}{body}\n{match.group(4)}"

    return MARKER.sub(fill, text)
