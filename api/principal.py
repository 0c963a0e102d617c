"""Who is calling: the authenticated token, its role and (for auditors) what it may see."""

from __future__ import annotations

from dataclasses import dataclass, field

from api.models import Role
from evidence.labels import fit_label


@dataclass(frozen=True, slots=True)
class PacketScope:
    """What one granted packet rests on: its evidence runs, and its accounts (None: every account of those runs).

    `run_ids` is `Packet.run_ids`: the run the packet evaluated, whose evidence its manifest and bundle hold (a
    period packet evaluates the newest run of its period; the period's other runs appear in its manifest by id
    and digest only, not their evidence). `accounts` is the packet's `scope.accounts`."""

    packet_id: str
    run_ids: frozenset[int]
    accounts: frozenset[str] | None = None
    # The customer evidence items and exceptions the packet's manifest lists (Packet.customer_item_ids and
    # exception_ids): an auditor reads exactly those, never others of the same controls.
    item_ids: frozenset[int] = frozenset()
    exception_ids: frozenset[int] = frozenset()


@dataclass(frozen=True, slots=True)
class Principal:
    token_id: int
    role: Role
    note: str | None = None
    # Auditors only: one entry per ready packet granted through a live grant. Each packet widens what the auditor
    # sees by its own runs x accounts, never by another packet's accounts.
    scopes: tuple[PacketScope, ...] = field(default_factory=tuple)

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

    @property
    def packet_ids(self) -> frozenset[str]:
        return frozenset(scope.packet_id for scope in self.scopes)

    @property
    def run_ids(self) -> frozenset[int]:
        return frozenset(run_id for scope in self.scopes for run_id in scope.run_ids)

    @property
    def item_ids(self) -> frozenset[int] | None:
        """The customer evidence items this principal may read; None: all of them (officers and admins)."""
        if not self.is_auditor:
            return None
        return frozenset(item_id for scope in self.scopes for item_id in scope.item_ids)

    @property
    def exception_ids(self) -> frozenset[int] | None:
        """The exceptions this principal may read; None: all of them (officers and admins)."""
        if not self.is_auditor:
            return None
        return frozenset(exception_id for scope in self.scopes for exception_id in scope.exception_ids)

    def may_see_packet(self, packet_id: str) -> bool:
        return not self.is_auditor or packet_id in self.packet_ids

    def may_see_run(self, run_id: int) -> bool:
        return not self.is_auditor or run_id in self.run_ids

    def accounts_in_run(self, run_id: int) -> frozenset[str] | None:
        """The accounts of `run_id` this principal may see; None means all of them (officers, unscoped packets)."""
        if not self.is_auditor:
            return None
        accounts: set[str] = set()
        for scope in self.scopes:
            if run_id in scope.run_ids:
                if scope.accounts is None:
                    return None
                accounts |= scope.accounts
        return frozenset(accounts)
