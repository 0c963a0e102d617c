"""Everything the templates print, gathered in one context dict (see reports/templates/)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from frameworks.results import AutomatedResult, FrameworkStatus, OverallStatus
from reports import view
from reports.inventory import Inventory
from reports.render import labels
from reports.signing import PacketSigner
from reports.streams import ExportedFile

# What each overall status means (the rules are frameworks.overall's; this only words them for the reader).
STATUS_MEANING = {
    "met": "Its checks pass and, where the control asks for it, approved and unexpired evidence supports it.",
    "not_met": "At least one resource fails a check of the control, and no approved exception covers it.",
    "excepted": "Every failure is covered by an approved, unexpired exception (a risk acceptance): not a pass.",
    "evidence_needed": "The organisation's evidence (a policy, a procedure, a record) is missing, awaits review or "
    "has expired.",
    "incomplete": "Some evidence the checks need is missing (a gap), unreadable or stale: it cannot be met.",
    "inherited": "AWS operates the control; AWS's attestation covers it (see AWS-inherited controls).",
    "not_applicable": "No resource of the services the control concerns is in scope.",
}
RESPONSIBILITY_MEANING = {
    "aws": "AWS attestation from AWS Artifact; never a check auditpack ran.",
    "shared": "auditpack's checks for the customer's part, AWS attestation for AWS's part.",
    "customer": "auditpack's checks and the organisation's own evidence.",
}


@dataclass(frozen=True, slots=True)
class PacketFacts:
    """What identifies the packet (printed on the cover and in every page header)."""

    packet_id: str
    org_name: str
    generated_by: str
    generated_at: datetime
    period: tuple[datetime, datetime] | None
    accounts: tuple[str, ...]
    packet_file: str
    owner_source: str


def _list_text(values: Sequence[str], limit: int, noun: str) -> str:
    if not values:
        return f"no {noun} (no evidence collected)"
    shown = ", ".join(values[:limit])
    return shown if len(values) <= limit else f"{shown}, and {len(values) - limit} more (all in manifest.json)"


def _out_of_scope_text(inventory: Inventory) -> str:
    """Said once, on the cover: what collection left out on purpose (never a gap: nothing there could be read)."""
    parts = []
    if inventory.out_of_scope.regions:
        parts.append(f"regions not opted in: {_list_text(list(inventory.out_of_scope.regions), 30, 'regions')}")
    if inventory.out_of_scope.accounts:
        listed = [
            f"{account} ({state.lower().replace('_', ' ')})" for account, state in inventory.out_of_scope.accounts
        ]
        parts.append(f"Organization accounts not active: {_list_text(listed, 20, 'accounts')}")
    return "; ".join(parts)


def period_text(status: FrameworkStatus, period: tuple[datetime, datetime] | None) -> str:
    if period:
        return f"{period[0]:%d %b %Y} to {period[1]:%d %b %Y} (UTC)"
    return f"as of {status.as_of:%d %b %Y %H:%M} UTC"


def build_context(
    *,
    facts: PacketFacts,
    status: FrameworkStatus,
    inventory: Inventory,
    gaps: Sequence[view.GapLike],
    tally: view.FindingTally,
    signer: PacketSigner,
    files: Sequence[ExportedFile],
    limits: view.Limits,
) -> dict[str, Any]:
    by_status, by_responsibility = view.status_counts(status)
    palette = labels()
    groups, groups_hidden = view.gap_groups(status, gaps, limits.gap_groups)
    workloads = sorted(inventory.workloads, key=lambda w: (-(sum(n for _, n in w.owners) + w.unowned), w.account_id))
    services = sorted(status.services_in_use)
    accounts = list(facts.accounts) or list(inventory.accounts)
    requirements = [control for control in status.controls if not control.heading]
    headings = len(status.controls) - len(requirements)
    total = len(requirements)
    in_scope = sum(by_responsibility.values())
    checks_pass = sum(
        1
        for control in requirements
        if control.status is OverallStatus.EVIDENCE_NEEDED and control.automated is AutomatedResult.PASS
    )
    grouping = f" (grouped under {headings} headings)" if headings else ""
    sentence = (
        f"Of the {total} {status.name} requirements{grouping}, {by_status['met']} are met and "
        f"{by_status['not_met']} are not met; {by_status['excepted']} are excepted under approved risk "
        f"acceptances; {by_status['evidence_needed']} need evidence the organisation supplies (for {checks_pass} "
        f"of them every automated check passes); {by_status['incomplete']} rest on incomplete evidence; "
        f"{by_status['inherited']} are inherited from AWS and {by_status['not_applicable']} do not apply. "
        f"{len(status.runs)} evidence run(s) with {inventory.evidence_items:,} evidence items and "
        f"{status.gap_count:,} gap(s) support this packet."
    )
    matrix_rows = [
        {
            "id": family_id,
            "title": title,
            "cells": [
                (status.matrix.cells.get((family_id, s)).value if status.matrix.cells.get((family_id, s)) else None)
                for s in status.matrix.services
            ],
        }
        for family_id, title in status.matrix.families
    ]
    framework = {"id": status.framework_id, "name": status.name, "version": status.version}
    return {
        "packet_id": facts.packet_id,
        "org_name": facts.org_name,
        "generated_by": facts.generated_by,
        "generated_at": facts.generated_at,
        "period": facts.period,
        "period_text": period_text(status, facts.period),
        "packet_file": facts.packet_file,
        "owner_source": facts.owner_source,
        "framework": framework,
        "aws_role": status.aws_role,
        "header_left": f"Evidence packet {facts.packet_id}",
        "header_right": f"{status.name} {status.version}",
        "footer_left": facts.org_name or "auditpack",
        "scope": {
            "accounts_text": _list_text(accounts, limits.accounts_on_cover, "accounts"),
            "regions_text": _list_text(list(inventory.regions), 30, "regions"),
            "out_of_scope_text": _out_of_scope_text(inventory),
        },
        "services_text": ", ".join(palette["service"].get(s, {}).get("label", s) for s in services) or "none found",
        "runs": status.runs,
        "period_runs": status.period_runs,
        "signer": signer,
        "summary": {"sentence": sentence, "total": total, "in_scope": in_scope, "checks_pass": checks_pass},
        "counts": {"status": by_status, "responsibility": by_responsibility},
        "charts": {
            "status": view.bar_chart(by_status, palette["control_status"]),
            "responsibility": view.bar_chart(by_responsibility, palette["responsibility"]),
        },
        "status_meaning": STATUS_MEANING,
        "responsibility_meaning": RESPONSIBILITY_MEANING,
        "gap_count": status.gap_count,
        "inventory": inventory,
        "freshness": {
            "hours": status.freshness_hours,
            "oldest": inventory.oldest,
            "newest": inventory.newest,
            "stale": status.stale_count,
        },
        "findings_total": tally.total,
        "findings_by_status": sorted(tally.by_status.items()),
        "top_checks": view.top_failing_checks(status, limits.top_checks),
        "matrix": {
            "services": status.matrix.services,
            "rows": matrix_rows,
            "first_col": 34 if len(status.matrix.services) > 4 else 40,
        },
        "family_owners": view.family_owners(status, tally),
        "workloads": workloads[: limits.workloads],
        "workloads_hidden": max(0, len(workloads) - limits.workloads),
        "families": view.families(status, limits),
        "remediation": view.remediation(status),
        "limits": limits,
        "inherited": view.inherited_controls(status),
        "shared_attested": view.shared_with_attestations(status),
        "gap_groups": groups,
        "gap_groups_hidden": groups_hidden,
        "files": files,
    }
