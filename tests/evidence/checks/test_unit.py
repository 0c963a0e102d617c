"""Checks as units: the decorator binds the id from the module and function name, and no body ever sees a gap:
whatever evidence is missing becomes that item's `error`, while the other items are still judged."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from evidence.checks import unit
from evidence.checks.thresholds import Thresholds
from evidence.checks.types import Finding, FindingStatus
from evidence.checks.unit import Check, custom, each, per_account
from evidence.checks.view import EvidenceView
from evidence.store import EvidenceRecord
from tests.evidence.checks.test_missing_evidence import ACCOUNT, WHEN, gap, listing, record, scope

PASS, FAIL, ERROR = FindingStatus.PASS, FindingStatus.FAIL, FindingStatus.ERROR
DB = "rds.db_instance"


@pytest.fixture(autouse=True)
def scratch_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Units defined here are registered into a copy, so the real registry never sees them."""
    monkeypatch.setattr(unit, "_UNITS", dict(unit._UNITS))


def as_check_module(fn: Callable[..., Any], prefix: str = "scratch") -> Callable[..., Any]:
    fn.__module__ = f"evidence.checks.{prefix}"
    return fn


def run(check_id: str, view: EvidenceView) -> list[Finding]:
    return list(unit.units()[check_id].run(view, Thresholds(), WHEN))


def db(name: str, payload: dict[str, Any]) -> EvidenceRecord:
    return record(DB, f"arn:aws:rds:us-east-1:{ACCOUNT}:db:{name}", payload, resource_type="db-instance")


def test_the_id_is_the_module_prefix_and_the_function_name() -> None:
    def retention(c: Check, item: EvidenceRecord) -> Finding:
        return c.passed(item, "fine")

    each(DB, resource_type="db-instance", what="DB instance details")(as_check_module(retention, "rds_demo"))
    assert "rds_demo.retention" in unit.units()
    view = EvidenceView([*scope(), listing(DB, [db("a", {}).resource_id]), db("a", {})], [])
    [finding] = run("rds_demo.retention", view)
    assert (finding.check_id, finding.status) == ("rds_demo.retention", PASS)


def test_a_check_outside_the_checks_package_or_defined_twice_is_refused() -> None:
    def stray(c: Check, item: EvidenceRecord) -> None:
        return None

    with pytest.raises(ValueError, match=r"checks live in evidence\.checks"):
        each(DB, resource_type="db-instance", what="x")(stray)

    def twice(c: Check, item: EvidenceRecord) -> None:
        return None

    def twice_again(c: Check, item: EvidenceRecord) -> None:
        return None

    twice_again.__name__ = "twice"
    each(DB, resource_type="db-instance", what="x")(as_check_module(twice))
    with pytest.raises(ValueError, match="defined twice"):
        each(DB, resource_type="db-instance", what="x")(as_check_module(twice_again))


def test_each_passes_listing_gaps_and_missing_records_through_without_calling_the_body() -> None:
    seen: list[str] = []

    def judged(c: Check, item: EvidenceRecord) -> Finding:
        seen.append(item.resource_id)
        return c.failed(item, "judged")

    each(DB, resource_type="db-instance", what="DB instance details")(as_check_module(judged))
    present, absent = db("present", {}), db("absent", {})
    view = EvidenceView(
        [
            *scope(),
            record("collection.region", f"{ACCOUNT}/eu-west-1/region", {}, region="eu-west-1"),
            listing(DB, [present.resource_id, absent.resource_id]),
            present,
        ],
        [gap(DB, region="eu-west-1", operation="DescribeDBInstances")],
    )
    findings = {f.resource_id: f for f in run("scratch.judged", view)}
    assert seen == [present.resource_id]  # the body saw only the record that exists
    assert findings[present.resource_id].status == FAIL
    assert findings[absent.resource_id].status == ERROR
    assert "no DB instance details was collected" in findings[absent.resource_id].reason
    listing_error = findings[f"{ACCOUNT}/eu-west-1/{DB}"]
    assert listing_error.status == ERROR and "AccessDenied" in listing_error.reason


def test_need_that_is_unavailable_becomes_that_items_error_and_the_next_item_is_still_judged() -> None:
    def logged(c: Check, item: EvidenceRecord) -> Iterator[Finding]:
        config = c.need("rds.log_config", base=item, what="log configuration")
        yield c.passed(item, "logs exported", also=[config])

    each(DB, resource_type="db-instance", what="DB instance details", reads=("rds.log_config",))(
        as_check_module(logged)
    )
    first, second = db("first", {}), db("second", {})
    config = record("rds.log_config", second.resource_id, {"Exports": ["audit"]}, resource_type="db-instance")
    view = EvidenceView([*scope(), listing(DB, [first.resource_id, second.resource_id]), first, second, config], [])
    findings = {f.resource_id: f for f in run("scratch.logged", view)}
    assert findings[first.resource_id].status == ERROR
    assert "no log configuration was collected" in findings[first.resource_id].reason
    assert findings[second.resource_id].status == PASS
    assert set(findings[second.resource_id].evidence) == {second.sha256, config.sha256}
    assert unit.units()["scratch.logged"].kinds == {DB, "rds.log_config"}


def test_per_account_setting_missing_because_of_a_gap_is_an_error_naming_the_gap() -> None:
    def contact(c: Check, account_id: str) -> Finding:
        root = f"arn:aws:iam::{account_id}:root"
        setting = c.account_setting("account.contact", account_id, resource_id=root, resource_type="account", what="x")
        return c.passed(setting, "registered")

    per_account(reads=("account.contact",))(as_check_module(contact))
    view = EvidenceView(scope(), [gap("account.contact", region="global", operation="GetAlternateContact")])
    [finding] = run("scratch.contact", view)
    assert finding.status == ERROR and "GetAlternateContact" in finding.reason


def test_custom_bodies_read_records_only_and_guard_each_item() -> None:
    def paired(c: Check) -> Iterator[Finding]:
        for item in c.records(DB, resource_type="db-instance", what="DB instance details"):
            with c.item():
                c.need("rds.log_config", base=item, what="log configuration")
                yield c.passed(item, "paired")

    custom(kinds=(DB, "rds.log_config"), regional=True)(as_check_module(paired))
    first, second = db("first", {}), db("second", {})
    config = record("rds.log_config", first.resource_id, {}, resource_type="db-instance")
    view = EvidenceView([*scope(), listing(DB, [first.resource_id, second.resource_id]), first, second, config], [])
    statuses = {f.resource_id: f.status for f in run("scratch.paired", view)}
    assert statuses == {first.resource_id: PASS, second.resource_id: ERROR}


def test_each_says_not_applicable_where_a_complete_listing_found_nothing() -> None:
    def judged(c: Check, item: EvidenceRecord) -> Finding:
        return c.passed(item, "judged")

    each(DB, resource_type="db-instance", what="DB instance details", empty="no databases here")(
        as_check_module(judged)
    )
    empty = listing(DB, [])
    [finding] = run("scratch.judged", EvidenceView([*scope(), empty], []))
    assert (finding.status, finding.reason, finding.evidence) == (
        FindingStatus.NOT_APPLICABLE,
        "no databases here",
        (empty.sha256,),
    )


def test_evidence_kept_under_another_id_is_an_error_about_the_resource_judged() -> None:
    def grouped(c: Check, item: EvidenceRecord) -> Finding:
        group = c.need("rds.parameter_group", base=item, key=f"{item.resource_id}:pg", what="parameter group")
        return c.passed(item, "grouped", also=[group])

    each(DB, resource_type="db-instance", what="DB instance details", reads=("rds.parameter_group",))(
        as_check_module(grouped)
    )
    first, second = db("first", {}), db("second", {})
    group = record("rds.parameter_group", f"{second.resource_id}:pg", {}, resource_type="db-instance")
    view = EvidenceView([*scope(), listing(DB, [first.resource_id, second.resource_id]), first, second, group], [])
    findings = {f.resource_id: f for f in run("scratch.grouped", view)}
    assert set(findings) == {first.resource_id, second.resource_id}  # never the parameter group's id
    assert findings[first.resource_id].status == ERROR
    assert "no parameter group was collected" in findings[first.resource_id].reason
    assert findings[second.resource_id].status == PASS


def test_a_folding_check_collects_what_is_missing_without_reporting_it() -> None:
    def folded(c: Check, account_id: str) -> Finding:
        missing: list[Finding] = []
        found = [c.attempt(missing, c.need, "rds.log_config", base=item, what="log configuration") for item in dbs]
        present = [f for f in found if f is not None]
        if missing:
            where = {"region": "global", "resource_id": f"{account_id}/logs", "resource_type": "account"}
            return c.incomplete("no exported log found", missing, basis=present, account_id=account_id, **where)
        return c.passed(present[0], "logs exported")

    dbs = [db("first", {}), db("second", {})]
    config = record("rds.log_config", dbs[1].resource_id, {}, resource_type="db-instance")
    per_account(reads=(DB, "rds.log_config"))(as_check_module(folded))
    [finding] = run("scratch.folded", EvidenceView([*scope(), *dbs, config], []))
    assert finding.resource_id == f"{ACCOUNT}/logs" and finding.status == ERROR
    assert finding.reason == "no exported log found (evidence missing: no log configuration was collected)"
    assert finding.evidence == (config.sha256,)
