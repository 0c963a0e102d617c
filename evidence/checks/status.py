"""A finding's status and a check's severity: the enums that command-line options list, in a module that imports
nothing else, so that `auditpack findings --help` does not build the finding types. Re-exported by
evidence.checks.types."""

from __future__ import annotations

import enum


class FindingStatus(enum.StrEnum):
    PASS = "pass"  # noqa: S105 - a verdict, not a password
    FAIL = "fail"
    NOT_APPLICABLE = "not_applicable"
    ERROR = "error"  # the evidence the check needs is a gap (or unreadable): never a pass


class Severity(enum.StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
