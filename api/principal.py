"""Who is calling: the authenticated token, its role and (for auditors) what it may see."""

from __future__ import annotations

from dataclasses import dataclass, field

from api.models import Role
from evidence.labels import fit_label


@dataclass(frozen=True, slots=True)
class Principal:
    token_id: int
    role: Role
    note: str | None = None
    # Auditors only: packets granted through live grants, and the evidence runs those packets rest on.
    packet_ids: frozenset[str] = field(default_factory=frozenset)
    run_ids: frozenset[int] = field(default_factory=frozenset)

    @property
    def is_auditor(self) -> bool:
        return self.role is Role.AUDITOR

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    @property
    def name(self) -> str:
        """How the principal appears in logs and `requested_by` fields, e.g. "officer token 3 (alice)"."""
        base = f"{self.role.value} token {self.token_id}"
        return fit_label(f"{base} ({self.note})" if self.note else base)  # notes are bounded; older rows maybe not

    def may_see_packet(self, packet_id: str) -> bool:
        return not self.is_auditor or packet_id in self.packet_ids

    def may_see_run(self, run_id: int) -> bool:
        return not self.is_auditor or run_id in self.run_ids
