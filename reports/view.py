"""Turns a framework status, inventory, gaps and findings into what the templates print: bounded, labelled, sorted.

The body of a packet never grows with the number of evidence items: every list here has a cap, and what is left
out is counted and pointed to in the attached files (findings.csv, manifest.json).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from evidence.checks.registry import check_metadata
from evidence.checks.types import Finding, FindingStatus
from frameworks.results import Automation, ControlResult, FrameworkStatus, OverallStatus, Responsibility


@dataclass(frozen=True, slots=True)
class Limits:
    """How much of each list the body prints (the rest is in the attachments)."""

    failing_per_control: int = 5
    errored_per_control: int = 3
    excepted_per_control: int = 5
    gap_groups: int = 120
    workloads: int = 60
    unowned: int = 50
    accounts_on_cover: int = 12
    top_checks: int = 10
    changes: int = 100  # rows of each list of "Changes in the period"


class GapLike(Protocol):
    run_id: int
    account_id: str
    region: str
    service: str
    operation: str
    kind: str | None
    resource_id: str | None
    error_code: str
    message: str
    observed_at: datetime


class FindingTally:
    """Counts taken while findings stream into findings.csv: owners per control family, unowned resources.

    Each finding costs one count under (check, status, owner); the totals per family are worked out from those
    few thousand keys when read (at a million findings, counting into nested counters per finding and family was
    seconds of the packet's critical path, issue 18)."""

    def __init__(self, families_by_check: dict[str, tuple[str, ...]]) -> None:
        self.families_by_check = families_by_check
        self._counts: Counter[tuple[str, FindingStatus, str | None]] = Counter()

    def observe(self, findings: Iterable[Finding]) -> Iterator[Finding]:
        counts = self._counts
        for finding in findings:
            counts[finding.check_id, finding.status, finding.owner] += 1
            yield finding

    @property
    def total(self) -> int:
        return sum(self._counts.values())

    @property
    def by_status(self) -> Counter[str]:
        found: Counter[str] = Counter()
        for (_check, status, _owner), n in self._counts.items():
            found[status.value] += n
        return found

    def by_family(self) -> tuple[dict[str, Counter[str]], Counter[str]]:
        """Per control family, the findings of each owner and the findings whose resource names no owner (findings
        not applicable left out)."""
        owners: dict[str, Counter[str]] = defaultdict(Counter)
        unowned: Counter[str] = Counter()
        for (check_id, status, owner), n in self._counts.items():
            if status is FindingStatus.NOT_APPLICABLE:
                continue
            for family in self.families_by_check.get(check_id, ()):
                if owner:
                    owners[family][owner] += n
                else:
                    unowned[family] += n
        return owners, unowned


def controls_by_check(status: FrameworkStatus) -> dict[str, tuple[str, ...]]:
    found: dict[str, list[str]] = defaultdict(list)
    for control in status.controls:
        for verdict in control.checks:
            found[verdict.check_id].append(control.control_id)
    return {check: tuple(ids) for check, ids in found.items()}


def families_by_check(status: FrameworkStatus) -> dict[str, tuple[str, ...]]:
    found: dict[str, dict[str, None]] = defaultdict(dict)
    for control in status.controls:
        for verdict in control.checks:
            found[verdict.check_id][control.family_id] = None
    return {check: tuple(families) for check, families in found.items()}


def status_counts(status: FrameworkStatus) -> tuple[dict[str, int], dict[str, int]]:
    by_status = Counter(control.status.value for control in status.controls)
    by_responsibility = Counter(control.overall_responsibility.value for control in status.controls)
    return (
        {s.value: status.by_status.get(s.value, by_status.get(s.value, 0)) for s in OverallStatus},
        {r.value: status.by_responsibility.get(r.value, by_responsibility.get(r.value, 0)) for r in Responsibility},
    )


def bar_chart(counts: dict[str, int], palette: dict[str, dict[str, str]], *, width: float = 200) -> dict[str, Any]:
    """Geometry of a horizontal bar chart (drawn as SVG by the template)."""
    top = max(counts.values(), default=0) or 1
    bars = []
    for index, (key, count) in enumerate(counts.items()):
        bars.append(
            {
                "label": palette[key]["label"],
                "colour": palette[key].get("colour", "#344054"),
                "count": count,
                "y": index * 22,
                "width": round(width * count / top, 1),
            }
        )
    return {"bars": bars, "height": len(bars) * 22, "width": width}


def _evidence_ref(finding: Finding) -> str:
    first = finding.evidence[0][:12] if finding.evidence else "no evidence"
    more = f" +{len(finding.evidence) - 1}" if len(finding.evidence) > 1 else ""
    return first + more


def _ids(label: str, ids: Sequence[int]) -> str:
    return f"{label} {', '.join(str(i) for i in ids)}" if ids else ""


def control_view(control: ControlResult, limits: Limits) -> dict[str, Any]:
    failing: list[tuple[str, Finding]] = []
    errored: list[tuple[str, Finding]] = []
    excepted: list[tuple[str, Any]] = []
    failing_total = errored_total = excepted_total = 0
    for verdict in control.checks:
        failing_total += len(verdict.failing)
        errored_total += len(verdict.errored)
        excepted_total += len(verdict.excepted)
    # Spread the cap over the checks (round-robin), so one noisy check does not hide the others.
    for pool, out, cap in (
        ("failing", failing, limits.failing_per_control),
        ("errored", errored, limits.errored_per_control),
        ("excepted", excepted, limits.excepted_per_control),
    ):
        iterators = [(v.check_id, iter(getattr(v, pool))) for v in control.checks]
        while len(out) < cap and iterators:
            for item in list(iterators):
                finding = next(item[1], None)
                if finding is None:
                    iterators.remove(item)
                    continue
                out.append((item[0], finding))
                if len(out) >= cap:
                    break
    remediation = [
        {"check_id": v.check_id, "title": v.title, "console": v.remediation.console, "cli": v.remediation.cli}
        for v in control.checks
        if v.failed
    ]
    return {
        "control": control,
        "anchor": "control-" + "".join(ch if ch.isalnum() else "-" for ch in control.control_id),
        "failing": [(check, f, _evidence_ref(f)) for check, f in failing],
        "failing_hidden": failing_total - len(failing),
        "errored": [(check, f, _evidence_ref(f)) for check, f in errored],
        "errored_hidden": errored_total - len(errored),
        "excepted": [(check, e, _evidence_ref(e.finding)) for check, e in excepted],
        "excepted_hidden": excepted_total - len(excepted),
        "remediation": remediation,
        "services": sorted(control.responsibility.items()),
        "detail": bool(failing or errored or excepted),
        # The customer evidence behind the status (item ids as stored; `auditpack evidence show ID`).
        "evidence_ids": "; ".join(
            part
            for part in (
                _ids("approved item(s)", control.evidence_items),
                _ids("submitted, awaiting review:", control.evidence_submitted),
                _ids("expired:", control.evidence_expired),
            )
            if part
        ),
        "exceptions": _ids("exception(s)", control.exceptions),
        # What to supply, wherever the control asks for evidence and it is not yet approved and unexpired.
        "asks_evidence": not control.heading and control.attestation_required,
    }


def families(status: FrameworkStatus, limits: Limits) -> list[dict[str, Any]]:
    grouped: dict[str, dict[str, Any]] = {}
    for control in status.controls:
        family = grouped.setdefault(
            control.family_id,
            {"id": control.family_id, "title": control.family_title, "controls": [], "counts": Counter()},
        )
        family["controls"].append(control_view(control, limits))
        family["counts"][control.status.value] += 1
    return list(grouped.values())


def inherited_controls(status: FrameworkStatus) -> list[ControlResult]:
    return [
        c
        for c in status.controls
        if c.automation is Automation.INHERITED or c.overall_responsibility is Responsibility.AWS
    ]


def shared_with_attestations(status: FrameworkStatus) -> list[ControlResult]:
    return [
        c
        for c in status.controls
        if c.aws_evidence
        and c.automation is not Automation.INHERITED
        and c.overall_responsibility is not Responsibility.AWS
    ]


def remediation(status: FrameworkStatus) -> list[dict[str, Any]]:
    """Each failing check's remediation, once (many controls share a check)."""
    seen: dict[str, dict[str, Any]] = {}
    for control in status.controls:
        for v in control.checks:
            if v.failed and v.check_id not in seen:
                seen[v.check_id] = {
                    "check_id": v.check_id,
                    "title": v.title,
                    "failed": v.failed,
                    "console": v.remediation.console,
                    "cli": v.remediation.cli,
                }
    return sorted(seen.values(), key=lambda r: r["check_id"])


def top_failing_checks(status: FrameworkStatus, limit: int) -> list[dict[str, Any]]:
    checks: dict[str, dict[str, Any]] = {}
    for control in status.controls:
        for verdict in control.checks:
            entry = checks.setdefault(
                verdict.check_id,
                {"verdict": verdict, "controls": []},
            )
            entry["controls"].append(control.control_id)
    failing = [entry for entry in checks.values() if entry["verdict"].failed]
    failing.sort(key=lambda e: (-e["verdict"].failed, e["verdict"].check_id))
    return failing[:limit]


def _service_of(check_id: str, metadata: dict[str, Any]) -> str:
    """The AWS service a check reads: from its metadata, else the check id's prefix (ids are `service.name`)."""
    meta = metadata.get(check_id)
    return meta.service if meta is not None else check_id.split(".", 1)[0]


def gap_groups(status: FrameworkStatus, gaps: Sequence[GapLike], limit: int) -> tuple[list[dict[str, Any]], int]:
    """Gaps grouped by (account, region, service, operation, error), with the controls they leave unproven."""
    metadata = check_metadata()
    by_check = controls_by_check(status)
    errored = {
        (f.check_id, f.account_id, f.region)
        for control in status.controls
        for verdict in control.checks
        for f in verdict.errored
    }
    groups: dict[tuple[str, str, str, str, str], dict[str, Any]] = {}
    for gap in gaps:
        key = (gap.account_id, gap.region, gap.service, gap.operation, gap.error_code)
        group = groups.setdefault(
            key,
            {"key": key, "count": 0, "message": gap.message, "kinds": set(), "resources": [], "first": gap.observed_at},
        )
        group["count"] += 1
        if gap.kind:
            group["kinds"].add(gap.kind)
        if gap.resource_id and len(group["resources"]) < 3:
            group["resources"].append(gap.resource_id)
    out = []
    for (account, region, service, operation, error_code), group in sorted(groups.items()):
        checks = [check for check in by_check if _service_of(check, metadata) == service]
        hit = [c for c in checks if (c, account, region) in errored or (c, account, "global") in errored]
        controls = sorted({cid for check in (hit or checks) for cid in by_check[check]})
        out.append(
            {
                "account_id": account,
                "region": region,
                "service": service,
                "operation": operation,
                "error_code": error_code,
                "count": group["count"],
                "message": group["message"],
                "kinds": sorted(group["kinds"]),
                "resources": group["resources"],
                "controls": controls,
                "confirmed": bool(hit),
            }
        )
    out.sort(key=lambda g: (-len(g["controls"]), -g["count"], g["account_id"], g["region"]))
    return out[:limit], max(0, len(out) - limit)


def family_owners(status: FrameworkStatus, tally: FindingTally) -> list[dict[str, Any]]:
    rows = []
    seen: dict[str, str] = {}
    for control in status.controls:
        seen.setdefault(control.family_id, control.family_title)
    owners_by_family, unowned = tally.by_family()
    for family_id, title in seen.items():
        owners = owners_by_family.get(family_id, Counter())
        rows.append(
            {
                "id": family_id,
                "title": title,
                "owners": owners.most_common(3),
                "more_owners": max(0, len(owners) - 3),
                "unowned": unowned.get(family_id, 0),
                "evaluated": sum(owners.values()) + unowned.get(family_id, 0),
            }
        )
    return rows
