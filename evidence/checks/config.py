"""The config.* checks: AWS Config recording in every region (metadata in config.yaml)."""

from __future__ import annotations

from typing import Any

from evidence.checks.types import Finding
from evidence.checks.unit import Check, per_region
from evidence.checks.verdicts import setting_id

RECORDERS, STATUS = "config.recorders", "config.recorder_status"


@per_region(reads=(RECORDERS, STATUS))
def recorder_enabled(c: Check, account_id: str, region: str) -> Finding:
    where: dict[str, Any] = {
        "resource_id": setting_id(account_id, region, "config-recorders"),
        "resource_type": "configuration-recorder",
    }
    recorders = c.setting(RECORDERS, account_id, region, what="configuration recorders", **where)
    status = c.setting(STATUS, account_id, region, what="configuration recorder status", **where)
    names = [r.get("name") for r in recorders.payload.get("ConfigurationRecorders", [])]
    recording = [
        s.get("name") for s in status.payload.get("ConfigurationRecordersStatus", []) if s.get("recording") is True
    ]
    if not names:
        return c.failed(recorders, "no configuration recorder exists in this region", also=[status])
    if not [n for n in names if n in recording]:
        return c.failed(recorders, f"configuration recorder {names[0]} is not recording", also=[status])
    return c.passed(recorders, f"configuration recorder {recording[0]} is recording", also=[status])
