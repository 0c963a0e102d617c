"""Plain-data (JSON-ready) forms of statuses, catalogs and coverage: one shape for the CLI and the API."""

from __future__ import annotations

from typing import Any

from evidence.canonical import rfc3339
from frameworks import expiring, responsibility
from frameworks.coverage import Coverage
from frameworks.results import CheckVerdict, ControlResult, ExpiringRef, FrameworkStatus, GapRef
from frameworks.schema import Catalog


def _gap(gap: GapRef) -> dict[str, Any]:
    return {
        "account_id": gap.account_id,
        "region": gap.region,
        "service": gap.service,
        "operation": gap.operation,
        "error_code": gap.error_code,
        "message": gap.message,
        "kind": gap.kind,
        "resource_id": gap.resource_id,
    }


def _check(verdict: CheckVerdict) -> dict[str, Any]:
    return {
        "id": verdict.check_id,
        "title": verdict.title,
        "severity": verdict.severity.value,
        "relevance": verdict.relevance,
        "status": verdict.status.value,
        "passed": verdict.passed,
        "failed": verdict.failed,
        "errors": verdict.errors,
        "not_applicable": verdict.not_applicable,
        "stale": verdict.stale,
        "missing": verdict.missing,
        "failing": [
            {"account_id": f.account_id, "region": f.region, "resource_id": f.resource_id, "reason": f.reason}
            for f in verdict.failing
        ],
        "errored": [
            {"account_id": f.account_id, "region": f.region, "resource_id": f.resource_id, "reason": f.reason}
            for f in verdict.errored
        ],
        "gaps": [_gap(gap) for gap in verdict.gaps],
        "excepted": [
            {
                "account_id": e.finding.account_id,
                "region": e.finding.region,
                "resource_id": e.finding.resource_id,
                "reason": e.reason,
                "exception_id": e.exception_id,
            }
            for e in verdict.excepted
        ],
    }


def _expiring(ref: ExpiringRef) -> dict[str, Any]:
    return {"id": ref.id, "title": ref.title, "expires_at": rfc3339(ref.expires_at), "controls": list(ref.controls)}


def control_to_dict(result: ControlResult) -> dict[str, Any]:
    return {
        "id": result.control_id,
        "title": result.title,
        "family": result.family_id,
        "heading": result.heading,
        "parent": result.parent_id,
        "level": result.level,
        "requirement_type": result.requirement_type,
        "scope": result.scope,
        "in_scope": result.in_scope,
        "automation": result.automation.value,
        "responsibility": {service: value.value for service, value in result.responsibility.items()},
        "overall_responsibility": result.overall_responsibility.value,
        "status": result.status.value,
        "status_reason": result.status_reason,
        "automated": result.automated.value,
        "customer_evidence": {
            "state": result.evidence.value,
            "items": list(result.evidence_items),
            "submitted": list(result.evidence_submitted),
            "expired": list(result.evidence_expired),
        },
        "exceptions": list(result.exceptions),
        "expected_evidence": result.expected_evidence,
        "attestation_required": result.attestation_required,
        "customer_attestation": result.customer_attestation,
        "passed": result.passed,
        "failed": result.failed,
        "excepted": result.excepted,
        "stale": result.stale,
        "check_ids": [verdict.check_id for verdict in result.checks],
        "checks": [_check(verdict) for verdict in result.checks],
        "gaps": [_gap(gap) for gap in result.gaps],
        "guidance": result.guidance,
        "aws_evidence": [{"name": a.name, "covers": a.covers, "source": a.source} for a in result.aws_evidence],
        "children": list(result.children),
    }


def status_to_dict(status: FrameworkStatus) -> dict[str, Any]:
    requirements = [r for r in status.controls if not r.heading]
    matrix = status.matrix
    return {
        "framework": status.framework_id,
        "name": status.name,
        "version": status.version,
        "as_of": rfc3339(status.as_of),
        "freshness_hours": status.freshness_hours,
        "scopes": sorted(status.scopes),
        "runs": [
            {
                "id": run.id,
                "status": run.status,
                "started_at": rfc3339(run.started_at),
                "finished_at": rfc3339(run.finished_at) if run.finished_at else None,
                "digest": run.digest,
            }
            for run in status.runs
        ],
        "services_in_use": list(responsibility.ordered_services(status.services_in_use)),
        "warnings": list(status.warnings),
        "summary": {
            "requirements": len(requirements),
            "in_scope": sum(1 for r in requirements if r.in_scope),
            "by_status": dict(status.by_status),
            "by_responsibility": dict(status.by_responsibility),
            "gaps": status.gap_count,
            "stale_findings": status.stale_count,
        },
        "matrix": {
            "services": list(matrix.services),
            "families": [
                {
                    "id": family_id,
                    "title": title,
                    "cells": {s: matrix.cells[(family_id, s)].value for s in matrix.services},
                    "counts": {s: matrix.counts.get((family_id, s), {}) for s in matrix.services},
                }
                for family_id, title in matrix.families
            ],
        },
        "expiring": {
            "within_days": expiring.WINDOW.days,
            "items": [_expiring(ref) for ref in status.expiring_items],
            "exceptions": [_expiring(ref) for ref in status.expiring_exceptions],
        },
        "controls": [control_to_dict(result) for result in status.controls],
    }


def coverage_to_dict(cov: Coverage) -> dict[str, Any]:
    return {
        "requirements": cov.requirements,
        "headings": cov.headings,
        "by_automation": dict(cov.by_automation),
        "with_checks": cov.with_checks,
        "checks_used": list(cov.checks_used),
    }


def catalog_to_dict(catalog: Catalog, cov: Coverage, *, source: str, packaged: bool) -> dict[str, Any]:
    return {
        "id": catalog.id,
        "name": catalog.name,
        "version": catalog.version,
        "publisher": catalog.publisher,
        "description": catalog.description,
        "source": source,
        "packaged": packaged,
        "coverage": coverage_to_dict(cov),
        "scopes": [
            {"id": s.id, "title": s.title, "description": s.description, "always": s.always, "default": s.default}
            for s in catalog.scopes
        ],
        "families": [
            {
                "id": family.family_id,
                "title": family.title,
                "requirements": family.requirements,
                "by_automation": dict(family.by_automation),
                "with_checks": family.with_checks,
            }
            for family in cov.families
        ],
    }
