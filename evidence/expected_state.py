"""What the store must still hold, recorded outside it: a chain head written down by an operator
(`verify --store --expected-head` / `--expected-ledger-head`), or the chain head, runs, findings digests and
customer ledger head a signed packet's manifest saw (`verify --store --against PACKET`). A chain that lost its
newest entries is consistent in itself; only a head recorded elsewhere shows that it is shorter than it was."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Engine, select

from evidence.customer.models import LedgerEntry
from evidence.db import session_factory
from evidence.findings_model import FindingSet
from evidence.models import Run


def check_expected_head(expected: str | None, sealed: Sequence[Run]) -> list[str]:
    """The recorded head must be the digest of a run still in the chain (later runs may have been sealed since)."""
    if expected is None:
        return []
    if any(run.digest == expected for run in sealed):
        return []
    head = sealed[-1].digest if sealed else "(empty)"
    return [
        f"the recorded chain head {expected} is not in the chain (head is now {head}): "
        "sealed runs were deleted or rewritten since it was recorded"
    ]


def check_against_manifest(manifest: Mapping[str, Any], sealed: Sequence[Run], engine: Engine) -> list[str]:
    """Problems that show the store no longer holds what a packet (its manifest header) saw."""
    problems: list[str] = []
    by_id = {run.id: run for run in sealed}
    packet = manifest.get("packet_id", "the packet")
    listed = [*manifest.get("runs", ()), *manifest.get("period_runs", ())]
    for entry in {(item["id"], item.get("digest")) for item in listed}:
        run_id, digest = entry
        run = by_id.get(run_id)
        if run is None:
            problems.append(f"run {run_id}, which {packet} rests on, is no longer a sealed run in the store")
        elif run.digest != digest:
            problems.append(f"run {run_id} has digest {run.digest}, but {packet} saw {digest}: the run was rewritten")
    state = manifest.get("store") or {}
    head = state.get("chain_head") or {}
    if head.get("digest"):
        problems += [
            p.replace("the recorded chain head", f"the chain head {packet} saw")
            for p in check_expected_head(head["digest"], sealed)
        ]
    problems += _findings_changed(state.get("findings") or {}, packet, engine)
    ledger_head = state.get("customer_ledger_head") or {}  # absent in manifests from before customer evidence
    if ledger_head.get("digest"):
        problems += _ledger_head_missing(ledger_head, packet, engine)
    if not state:
        problems.append(f"{packet}'s manifest records no store state (built before auditpack recorded it)")
    return problems


def _findings_changed(recorded: Mapping[str, str | None], packet: str, engine: Engine) -> list[str]:
    ids = [int(run_id) for run_id in recorded]
    with session_factory(engine)() as session:
        query = select(FindingSet.run_id, FindingSet.digest).where(FindingSet.run_id.in_(ids))
        current = {run_id: digest for run_id, digest in session.execute(query)}
    problems = []
    for run_id in ids:
        saw = recorded[str(run_id)]
        now = current.get(run_id)
        if saw is not None and now != saw:
            problems.append(
                f"the findings of run {run_id} are not those {packet} saw (digest {now or 'none'}, packet saw {saw}): "
                "they were re-evaluated or altered since"
            )
    return problems


def _ledger_head_missing(head: Mapping[str, Any], packet: str, engine: Engine) -> list[str]:
    """The customer ledger must still hold the entry that was its head when the packet was built."""
    with session_factory(engine)() as session:
        seq = session.scalar(select(LedgerEntry.seq).where(LedgerEntry.digest == head["digest"]))
    if seq is not None:
        return []
    return [
        f"the customer ledger head {packet} saw (entry {head.get('seq')}, {head['digest']}) is not in the ledger: "
        "customer evidence, exceptions or reviews were deleted or rewritten since"
    ]
