"""Which customer evidence items and exceptions a packet shows, and their flags; attachment names; the verifier's
tie between a customer_evidence entry and its file."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from evidence.customer.types import (
    ControlRef,
    CustomerEvidence,
    CustomerItem,
    ItemKind,
    ReviewEvent,
    RiskException,
)
from reports.customer_export import attachment_name, bundle_name
from reports.customer_view import Flag, PacketWindow, select
from reports.verify_customer import customer_problems

AS_OF = datetime(2026, 6, 30, 23, 59, tzinfo=UTC)
DAY = timedelta(days=1)
CHECKS = {"iam.root_mfa_enabled": None}


def _item(item_id: int, *events: tuple[str, datetime], **changes: object) -> CustomerItem:
    submitted = events[0][1] if events else AS_OF - 100 * DAY
    item = CustomerItem(
        id=item_id,
        kind=ItemKind.DOCUMENT,
        title=f"Item {item_id}",
        controls=(ControlRef("soc2", "CC6.1"), ControlRef("hipaa", "164.308(a)(1)(ii)(A)")),
        owner="CISO",
        submitted_by="alice",
        submitted_at=submitted,
        valid_from=submitted,
        valid_until=submitted + 365 * DAY,
        content_sha256="ab" * 32,
        media_type="application/pdf",
        size=10,
        filename="policy.pdf",
        supersedes=None,
        events=tuple(
            ReviewEvent(n, state, "alice" if state == "submitted" else "bob", at)
            for n, (state, at) in enumerate(events)
        ),
    )
    return replace(item, **changes)  # type: ignore[arg-type]


def _approved(item_id: int, at: datetime, **changes: object) -> CustomerItem:
    return _item(item_id, ("submitted", at - DAY), ("approved", at), **changes)


def _exception(exception_id: int, *events: tuple[str, datetime], expires: datetime, **changes: object) -> RiskException:
    exception = RiskException(
        id=exception_id,
        check_id="iam.root_mfa_enabled",
        control=None,
        resource_ids=(),
        account_id=None,
        justification="x" * 40,
        compensating="y",
        requested_by="alice",
        requested_at=events[0][1],
        expires_at=expires,
        events=tuple(ReviewEvent(n, state, "bob", at) for n, (state, at) in enumerate(events)),
    )
    return replace(exception, **changes)  # type: ignore[arg-type]


def _as_of(*items: CustomerItem, exceptions: tuple[RiskException, ...] = ()):  # type: ignore[no-untyped-def]
    evidence = CustomerEvidence(items=items, exceptions=exceptions)
    return select(evidence, framework="soc2", checks=CHECKS, window=PacketWindow(until=AS_OF))


def test_as_of_relies_on_approved_valid_items_and_recently_expired_ones_flagged() -> None:
    valid = _approved(1, AS_OF - 50 * DAY)
    soon = _approved(2, AS_OF - 50 * DAY, valid_until=AS_OF + 10 * DAY)
    recent = _approved(3, AS_OF - 200 * DAY, valid_until=AS_OF - 10 * DAY)
    old = _approved(4, AS_OF - 300 * DAY, valid_until=AS_OF - 40 * DAY)
    other = _approved(5, AS_OF - 50 * DAY, controls=(ControlRef("hipaa", "164.308(a)(1)(ii)(A)"),))
    section = _as_of(valid, soon, recent, old, other)
    flags = {entry.item.id: entry.flags for entry in section.items}
    assert flags == {1: (), 2: (Flag.EXPIRES_SOON,), 3: (Flag.EXPIRED,)}
    assert section.items[0].controls == ("CC6.1",) and section.items[0].approved_by == "bob"
    assert section.not_relied_on == ()


def test_as_of_lists_pending_rejected_and_superseded_items_as_not_relied_on() -> None:
    t = AS_OF - 20 * DAY
    pending = _item(1, ("submitted", t))
    rejected = _item(2, ("submitted", t), ("rejected", t + DAY))
    rejected = replace(rejected, events=(rejected.events[0], replace(rejected.events[1], reason="wrong file")))
    old = _item(3, ("submitted", t), ("approved", t + DAY), ("retracted", t + 5 * DAY), superseded_by=4)
    old = replace(old, events=(*old.events[:2], replace(old.events[2], reason="superseded by item 4")))
    new = _approved(4, t + 5 * DAY, supersedes=3)
    later = _item(5, ("submitted", AS_OF + DAY))  # submitted after the packet's date: not known then
    section = _as_of(pending, rejected, old, new, later)
    assert [(e.item.id, e.version) for e in section.items] == [(4, 2)]
    assert [(o.item.id, o.state, o.reason) for o in section.not_relied_on] == [
        (1, "submitted", "awaiting review"),
        (2, "rejected", "wrong file"),
        (3, "retracted", "superseded by item 4"),
    ]


def test_a_period_relies_on_items_valid_at_any_moment_of_it() -> None:
    since = AS_OF - 90 * DAY
    window = PacketWindow(until=AS_OF, since=since)
    throughout = _approved(1, since - 10 * DAY)
    lapsed = _approved(2, since - 10 * DAY, valid_until=since + 30 * DAY)
    late = _approved(3, AS_OF - 5 * DAY)
    retracted = _item(4, ("submitted", since - 5 * DAY), ("approved", since - 4 * DAY), ("retracted", since + DAY))
    before = _approved(5, since - 100 * DAY, valid_until=since - DAY)
    brief = _item(6, ("submitted", since + 10 * DAY), ("approved", since + 11 * DAY), ("retracted", since + 12 * DAY))
    evidence = CustomerEvidence(items=(throughout, lapsed, late, retracted, before, brief))
    section = select(evidence, framework="soc2", checks=CHECKS, window=window)
    assert {e.item.id: e.flags for e in section.items} == {
        1: (),
        2: (Flag.EXPIRED, Flag.PART_OF_PERIOD),
        3: (Flag.PART_OF_PERIOD,),
        4: (Flag.RETRACTED, Flag.PART_OF_PERIOD),
        6: (Flag.RETRACTED, Flag.PART_OF_PERIOD),
    }


def test_exceptions_in_force_in_the_window_concerning_the_framework() -> None:
    t = AS_OF - 100 * DAY
    active = _exception(1, ("requested", t), ("approved", t + DAY), expires=AS_OF + 100 * DAY)
    soon = _exception(2, ("requested", t), ("approved", t + DAY), expires=AS_OF + 5 * DAY)
    recent = _exception(3, ("requested", t), ("approved", t + DAY), expires=AS_OF - 10 * DAY)
    old = _exception(4, ("requested", t), ("approved", t + DAY), expires=AS_OF - 40 * DAY)
    revoked = _exception(5, ("requested", t), ("approved", t + DAY), ("revoked", AS_OF - 3 * DAY), expires=AS_OF)
    pending = _exception(6, ("requested", t), expires=AS_OF + 100 * DAY)
    elsewhere = _exception(7, ("requested", t), ("approved", t + DAY), expires=AS_OF + 9 * DAY, check_id="s3.other")
    control = _exception(
        8, ("requested", t), ("approved", t + DAY), expires=AS_OF + 99 * DAY, check_id=None,
        control=ControlRef("soc2", "CC6.2"),
    )  # fmt: skip
    section = _as_of(exceptions=(active, soon, recent, old, revoked, pending, elsewhere, control))
    shown = {e.exception.id: (e.state, e.flags) for e in section.exceptions}
    assert shown == {
        1: ("approved", ()),
        2: ("approved", (Flag.EXPIRES_SOON,)),
        3: ("expired", (Flag.EXPIRED,)),
        5: ("revoked", (Flag.REVOKED,)),
        8: ("approved", ()),
    }
    revoked_entry = next(e for e in section.exceptions if e.exception.id == 5)
    assert (revoked_entry.revoked_by, revoked_entry.approved_by) == ("bob", "bob")


def test_attachment_names_are_flat_safe_unique_and_typed_by_content() -> None:
    base = _approved(7, AS_OF)
    assert attachment_name(base) == "customer-evidence-7-policy.pdf"
    assert bundle_name(base) == "customer-evidence/7-policy.pdf"
    odd = replace(base, filename="Q4 räport (final)  v2.PDF")
    assert attachment_name(odd) == "customer-evidence-7-Q4_r_port_final_v2.PDF"
    lying = replace(base, filename="invoice.pdf", media_type="text/plain")
    assert attachment_name(lying) == "customer-evidence-7-invoice.pdf.txt"
    statement = replace(base, kind=ItemKind.ATTESTATION, filename=None, media_type="text/plain")
    assert attachment_name(statement) == "customer-evidence-7-attestation.txt"
    long = replace(base, filename="a" * 300 + ".csv", media_type="text/csv")
    assert len(attachment_name(long)) <= len("customer-evidence-7-") + 80 and attachment_name(long).endswith(".csv")


def test_verify_ties_each_customer_entry_to_its_file() -> None:
    entry = {"id": 1, "sha256": "ab" * 32, "size": 10, "file": "customer-evidence-1-a.pdf"}
    header = {"customer_evidence": [entry], "files": {"customer-evidence-1-a.pdf": {"sha256": "ab" * 32, "size": 10}}}
    assert customer_problems(header, listing="files", name_field="file") == []
    header["files"] = {"customer-evidence-1-a.pdf": {"sha256": "cd" * 32, "size": 10}}
    assert (
        "customer evidence item 1: customer-evidence-1-a.pdf has sha256 cdcd"
        in (customer_problems(header, listing="files", name_field="file")[0])
    )
    header["files"] = {}
    assert customer_problems(header, listing="files", name_field="file") == [
        "customer evidence item 1: customer-evidence-1-a.pdf is not in manifest.json's files"
    ]
    assert "expected a list" in customer_problems({"customer_evidence": {}}, listing="files", name_field="file")[0]
