"""`auditpack diff` on a store of two runs (both backends): the table and the JSON say the same diff, control status
changes carry the exception that expired between the two runs, and bad choices of runs exit 2 saying why."""

from __future__ import annotations

import json

from evidence.store import EvidenceStore
from tests.evidence.diff_store import ACTOR, NEW, SG, record_expiring_exception, record_two_runs


def test_diff_prints_what_changed_who_changed_it_and_the_controls_it_moved(
    cli_env: dict[str, str],
    store: EvidenceStore,
    run_cli,  # type: ignore[no-untyped-def]
) -> None:
    exception_id = record_expiring_exception(store)
    runs = record_two_runs(store)

    table = run_cli("diff")
    assert table.code == 0, table
    text = " ".join(table.stdout.split())
    assert f"run {runs.before.id}" in text and f"run {runs.after.id}" in text
    assert "Newly failing: 2" in text and "Resolved: 1" in text and "Still failing: 1" in text
    assert "1 added, 1 removed, 1 changed, 1 unread" in text
    assert "collected in run 1 only (not compared): 222222222222/eu-west-1" in " ".join(table.stderr.split())

    result = run_cli("diff", "--format", "json", "--framework", "hipaa")
    assert result.code == 0, result
    report = json.loads(result.stdout)
    assert (report["from_run"]["id"], report["to_run"]["id"]) == (runs.before.id, runs.after.id)
    by_id = {r["resource_id"]: r for r in report["resources"]}
    assert by_id[SG]["evidence"][0]["lines"][0] == "IpPermissions: added tcp 22 from 0.0.0.0/0"
    assert by_id[SG]["changed_by"]["actors"] == [ACTOR]
    assert by_id[NEW]["change"] == "added"
    # --framework hipaa compares only the findings of checks HIPAA maps: the security group check is not one.
    assert report["summary"]["findings"] == {"newly_failing": 1, "resolved": 1, "still_failing": 1, "unverified": 0}
    [hipaa] = report["frameworks"]
    [encryption] = [c for c in hipaa["control_changes"] if c["control_id"] == "164.312(a)(2)(iv)"]
    assert encryption["after"] == "not_met" and encryption["before"] != "not_met"
    assert f"exception {exception_id} expired at 2026-11-20T14:00:00Z" in encryption["causes"]
    assert [(c["kind"], c["id"], c["event"]) for c in hipaa["customer_changes"]] == [
        ("exception", exception_id, "expired")
    ]


def test_choosing_runs_that_cannot_be_compared_exits_2(
    cli_env: dict[str, str],
    store: EvidenceStore,
    run_cli,  # type: ignore[no-untyped-def]
) -> None:
    empty = run_cli("diff")
    assert empty.code == 2 and "a diff needs two complete or partial runs; the store holds 0" in empty.stderr
    runs = record_two_runs(store, findings=False)
    backwards = run_cli("diff", "--from", str(runs.after.id), "--to", str(runs.before.id))
    assert backwards.code == 2 and "was sealed after --to run" in backwards.stderr
    assert run_cli("diff", "--from", "99").code == 2
    unknown = run_cli("diff", "--framework", "nist")
    assert unknown.code == 2 and "unknown framework 'nist'" in unknown.stderr
    first = run_cli("diff", "--to", str(runs.before.id))
    assert first.code == 2 and f"run {runs.before.id} has no complete or partial run before it" in first.stderr
    # Runs without stored findings are evaluated first (with the configured thresholds), then compared.
    evaluated = run_cli("diff", "--format", "json")
    assert evaluated.code == 0 and json.loads(evaluated.stdout)["findings_compared"] is True
