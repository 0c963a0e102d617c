"""Names more than one package speaks, as plain enums: the API's token roles (the customer-evidence policy in
`evidence` enforces them too) and its job kinds and states (which `auditpack jobs` lists).

They live here, importing nothing, so that one definition serves `evidence`, `api` and the command line, whose
`--help` lists their values without loading the API or SQLAlchemy.
"""

from __future__ import annotations

import enum


class Role(enum.StrEnum):
    ADMIN = "admin"  # everything, including token management
    OFFICER = "officer"  # runs, packets, grants; reads everything
    AUDITOR = "auditor"  # only the packets granted to it, and their evidence


class JobKind(enum.StrEnum):
    COLLECT = "collect"
    PACKET = "packet"


class JobStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    INTERRUPTED = "interrupted"  # its process ended before it did; can be retried

    @classmethod
    def retryable(cls) -> tuple[JobStatus, ...]:
        return (cls.FAILED, cls.INTERRUPTED)
