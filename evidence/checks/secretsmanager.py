"""The secretsmanager.* checks: secrets rotate automatically (metadata in secretsmanager.yaml). Judged from
ListSecrets' description of each secret; no secret value is ever read."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from evidence.checks.types import Finding
from evidence.checks.unit import Check, each
from evidence.store import EvidenceRecord

SECRET = "secretsmanager.secret"  # noqa: S105 - an evidence kind, not a password


def _schedule(rules: dict[str, Any]) -> str:
    if rules.get("ScheduleExpression"):
        return f"on schedule {rules['ScheduleExpression']}"
    if rules.get("AutomaticallyAfterDays"):
        return f"every {rules['AutomaticallyAfterDays']} days"
    return "on a schedule"


def _day(value: object) -> str | None:
    return value.date().isoformat() if isinstance(value, datetime) else str(value)[:10] if value else None


@each(SECRET, resource_type="secret", what="secret description", empty="no secrets here")
def rotation_enabled(c: Check, secret: EvidenceRecord) -> Finding:
    last = _day(secret.payload.get("LastRotatedDate"))
    if secret.payload.get("RotationEnabled") is True:
        since = f", last rotated {last}" if last else ", not rotated yet"
        return c.passed(secret, f"rotates {_schedule(secret.payload.get('RotationRules') or {})}{since}")
    return c.failed(secret, f"automatic rotation is off{f' (last rotated {last})' if last else ''}")
