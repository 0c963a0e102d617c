"""The secretsmanager.* checks in unit form (metadata in secretsmanager.yaml): secrets rotate automatically.
Judged from ListSecrets' description of each secret; no secret value is ever read."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from evidence.checks.support import nothing_listed
from evidence.checks.types import Finding
from evidence.checks.unit import Check, custom

SECRET = "secretsmanager.secret"  # noqa: S105 - an evidence kind, not a password


def _schedule(rules: dict[str, Any]) -> str:
    if rules.get("ScheduleExpression"):
        return f"on schedule {rules['ScheduleExpression']}"
    if rules.get("AutomaticallyAfterDays"):
        return f"every {rules['AutomaticallyAfterDays']} days"
    return "on a schedule"


def _day(value: object) -> str | None:
    return value.date().isoformat() if isinstance(value, datetime) else str(value)[:10] if value else None


@custom(kinds=(SECRET,), regional=True)
def rotation_enabled(c: Check) -> Iterator[Finding]:
    yield from nothing_listed(c, SECRET, "no secrets here")
    for secret in c.records(SECRET, resource_type="secret", what="secret description"):
        payload = secret.payload
        last = _day(payload.get("LastRotatedDate"))
        if payload.get("RotationEnabled") is True:
            since = f", last rotated {last}" if last else ", not rotated yet"
            yield c.passed(secret, f"rotates {_schedule(payload.get('RotationRules') or {})}{since}")
        else:
            since = f" (last rotated {last})" if last else ""
            yield c.failed(secret, f"automatic rotation is off{since}")
