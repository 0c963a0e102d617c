"""Checks and collectors agree on evidence kinds: every kind a check reads is produced by some collector, every
collected kind is read by some check or listed as inventory-only (with its reason), and collectors record only
the kinds they declare."""

from __future__ import annotations

from sqlalchemy import select

from evidence.checks.registry import check_functions
from evidence.checks.view import LISTING, SCOPE_KINDS
from evidence.collectors.registry import SCOPE, collectors, inventory_only_kinds, produced_kinds
from evidence.models import Evidence
from tests.scenario import Collected


def read_kinds() -> dict[str, set[str]]:
    """Kind -> the checks that read it."""
    readers: dict[str, set[str]] = {}
    for check_id, entry in check_functions().items():
        for kind in entry.kinds:
            readers.setdefault(kind, set()).add(check_id)
    return readers


def test_every_kind_a_check_reads_is_produced_by_a_collector() -> None:
    unproduced = {kind: sorted(checks) for kind, checks in read_kinds().items() if kind not in produced_kinds()}
    assert unproduced == {}, "checks read evidence no collector records"


def test_every_collected_kind_is_read_by_a_check_or_documented_as_inventory() -> None:
    read = set(read_kinds()) | set(SCOPE_KINDS)  # the scope records are read by every evaluation
    unused = sorted(produced_kinds() - read - set(inventory_only_kinds()))
    assert unused == [], "collected but read by no check: add a check or list it in inventory_kinds.yaml"


def test_the_inventory_only_list_is_exact_and_says_why() -> None:
    inventory = inventory_only_kinds()
    assert sorted(set(inventory) & set(read_kinds())) == [], "a kind a check reads is not inventory-only"
    assert sorted(set(inventory) - produced_kinds()) == [], "an inventory-only kind that nothing collects"
    for kind, reason in inventory.items():
        assert len(reason.split()) >= 8, f"{kind}: say why it is collected"


def test_collectors_in_the_scenario_record_only_the_kinds_they_declare(collected: Collected) -> None:
    with collected.store.sessions() as session:
        rows = session.execute(
            select(Evidence.kind, Evidence.resource_type).where(Evidence.run_id == collected.run.id).distinct()
        ).all()
    recorded = {resource_type if kind == LISTING else kind for kind, resource_type in rows}
    assert recorded, "the scenario stored no evidence"
    assert sorted(recorded - produced_kinds()) == []
    # An undeclared kind is refused while collecting (UndeclaredKind) and becomes a collector gap: there is none.
    refused = [g.message for g in collected.store.gaps(collected.run.id) if "without declaring" in g.message]
    assert refused == []
    # Declarations are not padded either: every declared kind was recorded, or its reads are gaps under moto.
    gap_kinds = {g.kind for g in collected.store.gaps(collected.run.id)}
    # Read only after a listing moto does not implement: patch states of the instances SSM manages, what each
    # restore testing plan tests, the inspection template of Macie's automated discovery.
    moto_cannot_reach = {"ssm.patch_state", "backup.restore_testing_selections", "macie.inspection_template"}
    # Looked up only when a run has a previous one to compare with: the scenario is a first capture
    # (tests/evidence/test_change_lookups.py records them).
    first_capture = {"cloudtrail.change_events"}
    assert sorted(produced_kinds() - recorded - gap_kinds - moto_cannot_reach - first_capture) == []


def test_each_collector_declares_what_it_produces() -> None:
    for name, entry in collectors().items():
        assert entry.produces, f"collector {name} declares no kinds"
    assert set(SCOPE_KINDS) <= SCOPE.produces
