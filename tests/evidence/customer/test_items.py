"""Items move submitted -> approved | rejected | retracted by appended events; four eyes; supersede; expiry."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select

from core.errors import ConflictError, ForbiddenError, InputError
from evidence.customer import service
from evidence.customer.models import Content, ContentChunk, Item, LedgerEntry, ReviewEventRow
from evidence.customer.types import ItemState
from tests.evidence.customer.conftest import ADMIN, ALICE, AUDITOR, BOB, PDF, POLICY, T0, submit


def test_a_submitted_document_is_approved_by_someone_else_and_keeps_its_history(engine: Engine) -> None:
    item = submit(engine)
    assert item.state_as_of(T0) is ItemState.SUBMITTED
    assert (item.media_type, item.size, item.filename) == ("application/pdf", len(PDF), "access-control.pdf")
    assert item.valid_until == T0 + timedelta(days=365)  # the document default
    approved = service.approve(engine, item_id=item.id, actor=BOB, now=T0 + timedelta(hours=2))
    assert [(e.state, e.actor) for e in approved.events] == [("submitted", "alice"), ("approved", "bob")]
    assert approved.state_as_of(T0 + timedelta(hours=1)) is ItemState.SUBMITTED
    assert approved.approved_at(T0 + timedelta(days=1))


def test_approving_or_rejecting_ones_own_submission_is_refused(engine: Engine) -> None:
    item = submit(engine)
    with pytest.raises(ForbiddenError, match=rf"alice cannot approve item {item.id}: it is their own"):
        service.approve(engine, item_id=item.id, actor=ALICE, now=T0)
    with pytest.raises(ForbiddenError, match="their own"):
        service.reject(engine, item_id=item.id, actor=ALICE, reason="self", now=T0)
    with pytest.raises(ForbiddenError, match="officer or an admin"):
        service.approve(engine, item_id=item.id, actor=AUDITOR, now=T0)
    assert service.get_item(engine, item.id).state_as_of(T0 + timedelta(days=1)) is ItemState.SUBMITTED


def test_a_rejected_item_cannot_be_approved_and_a_reason_is_required(engine: Engine) -> None:
    item = submit(engine)
    with pytest.raises(InputError, match="a reason is required"):
        service.reject(engine, item_id=item.id, actor=BOB, reason="  ", now=T0)
    rejected = service.reject(engine, item_id=item.id, actor=BOB, reason="unsigned draft", now=T0 + timedelta(hours=1))
    assert rejected.events[-1].reason == "unsigned draft"
    with pytest.raises(ConflictError, match="is rejected; only a submitted one can be approved"):
        service.approve(engine, item_id=item.id, actor=ADMIN, now=T0 + timedelta(hours=2))


def test_only_the_submitter_or_an_admin_retracts(engine: Engine) -> None:
    first, second = submit(engine), submit(engine, PDF + b"2")
    service.approve(engine, item_id=first.id, actor=BOB, now=T0 + timedelta(hours=1))
    with pytest.raises(ForbiddenError, match="only its submitter or an admin"):
        service.retract(engine, item_id=first.id, actor=BOB, reason="not mine", now=T0 + timedelta(hours=2))
    retracted = service.retract(engine, item_id=first.id, actor=ALICE, reason="outdated", now=T0 + timedelta(hours=2))
    assert retracted.state_as_of(T0 + timedelta(hours=3)) is ItemState.RETRACTED
    assert retracted.state_as_of(T0 + timedelta(hours=1)) is ItemState.APPROVED  # history stays
    by_admin = service.retract(engine, item_id=second.id, actor=ADMIN, reason="wrong file", now=T0 + timedelta(hours=2))
    assert by_admin.state_as_of(T0 + timedelta(hours=3)) is ItemState.RETRACTED
    with pytest.raises(ConflictError, match="is retracted"):
        service.retract(engine, item_id=second.id, actor=ADMIN, reason="again", now=T0 + timedelta(hours=3))


def test_approved_evidence_expires_with_its_validity(engine: Engine) -> None:
    item = submit(engine, valid_until=T0 + timedelta(days=30))
    service.approve(engine, item_id=item.id, actor=BOB, now=T0)
    item = service.get_item(engine, item.id)
    assert item.state_as_of(T0 + timedelta(days=29)) is ItemState.APPROVED
    assert item.state_as_of(T0 + timedelta(days=30)) is ItemState.EXPIRED
    with pytest.raises(ConflictError, match="can no longer be approved"):
        late = submit(engine, PDF + b"late", valid_until=T0 + timedelta(days=1))
        service.approve(engine, item_id=late.id, actor=BOB, now=T0 + timedelta(days=2))


def test_a_new_version_replaces_the_old_once_it_is_approved(engine: Engine) -> None:
    v1 = submit(engine)
    service.approve(engine, item_id=v1.id, actor=BOB, now=T0 + timedelta(hours=1))
    v2 = submit(engine, PDF + b"v2", supersedes=v1.id, at=T0 + timedelta(days=1))
    assert service.get_item(engine, v1.id).state_as_of(T0 + timedelta(days=2)) is ItemState.APPROVED  # still valid
    with pytest.raises(ConflictError, match=f"already superseded by item {v2.id}"):
        submit(engine, PDF + b"v2b", supersedes=v1.id, at=T0 + timedelta(days=1))
    service.approve(engine, item_id=v2.id, actor=BOB, now=T0 + timedelta(days=3))
    old = service.get_item(engine, v1.id)
    assert old.superseded_by == v2.id
    assert old.state_as_of(T0 + timedelta(days=2)) is ItemState.APPROVED  # a packet as of then still sees it
    assert old.state_as_of(T0 + timedelta(days=3)) is ItemState.RETRACTED
    assert old.events[-1].reason == f"superseded by item {v2.id}"


def test_unknown_controls_are_refused_naming_the_nearest(engine: Engine) -> None:
    with pytest.raises(InputError, match=r"unknown control 'soc2:CC6\.10'; nearest: soc2:CC6\.1"):
        submit(engine, controls=["soc2:CC6.10"])
    with pytest.raises(InputError, match="FRAMEWORK:CONTROL_ID"):
        submit(engine, controls=["CC6.1"])
    assert service.list_items(engine, as_of=T0).rows == ()


def test_the_same_bytes_twice_are_stored_once(engine: Engine) -> None:
    data = b"%PDF-1.4\n" + bytes(range(256)) * 9000  # more than two chunks
    first, second = submit(engine, data), submit(engine, data, title="Same file, other title")
    assert first.content_sha256 == second.content_sha256 and first.id != second.id
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(Content)) == 1
        assert connection.scalar(select(func.count()).select_from(ContentChunk)) == 3
    assert b"".join(service.iter_content(engine, first.content_sha256)) == data


class _CutOff:
    """A pipe-like stream that fails after `good` chunks, as an upload does when the client goes away."""

    def __init__(self, good: int) -> None:
        self.good, self.reads = good, 0

    def read(self, size: int = -1) -> bytes:
        self.reads += 1
        if self.reads > self.good:
            raise ConnectionResetError("client went away")
        return b"%PDF-1.7\n" + b"x" * size if self.reads == 1 else b"x" * size

    def seekable(self) -> bool:
        return False


class _FailsOnSecondPass:
    """A seekable file that reads whole once (staging), then fails after two chunks when read again to be stored:
    the chunks written before the failure must be rolled back."""

    def __init__(self, chunks: int) -> None:
        self.data = b"%PDF-1.7\n" + b"y" * (chunks * 1024 * 1024)
        self.position = 0
        self.rewound = False
        self.reads_since_rewind = 0

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int) -> int:
        self.position, self.rewound, self.reads_since_rewind = offset, True, 0
        return offset

    def read(self, size: int = -1) -> bytes:
        if self.rewound:
            self.reads_since_rewind += 1
            if self.reads_since_rewind > 2:
                raise ConnectionResetError("disk went away")
        chunk = self.data[self.position : self.position + size]
        self.position += len(chunk)
        return chunk


@pytest.mark.parametrize(
    "stream", [lambda: _CutOff(3), lambda: _FailsOnSecondPass(4)], ids=["while-staging", "while-writing-chunks"]
)
def test_a_stream_cut_off_midway_leaves_nothing_visible(engine: Engine, stream) -> None:  # type: ignore[no-untyped-def]
    submit(engine, b"%PDF-1.7 an earlier, complete document")
    with pytest.raises(ConnectionResetError):
        submit(engine, stream=stream())
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(Content)) == 1
        assert connection.scalar(select(func.count()).select_from(ContentChunk)) == 1
        assert connection.scalar(select(func.count()).select_from(Item)) == 1
        assert connection.scalar(select(func.count()).select_from(ReviewEventRow)) == 1
        assert connection.scalar(select(func.count()).select_from(LedgerEntry)) == 2
    assert len(service.list_items(engine, as_of=T0).rows) == 1


def test_listing_filters_by_control_state_and_expiry_with_a_cursor(engine: Engine) -> None:
    soon = submit(engine, valid_until=T0 + timedelta(days=20))
    later = submit(engine, PDF + b"b", controls=["pci-dss:12.1.1"])
    pending = submit(engine, PDF + b"c", valid_until=T0 + timedelta(days=10))
    for item in (soon, later):
        service.approve(engine, item_id=item.id, actor=BOB, now=T0)
    when = T0 + timedelta(days=1)
    assert [i.id for i in service.list_items(engine, as_of=when, expiring_within=timedelta(days=30)).rows] == [soon.id]
    assert [i.id for i in service.list_items(engine, as_of=when, control="pci-dss:12.1.1").rows] == [later.id]
    assert [i.id for i in service.list_items(engine, as_of=when, state=ItemState.SUBMITTED).rows] == [pending.id]
    page = service.list_items(engine, as_of=when, limit=2)
    assert [i.id for i in page.rows] == [soon.id, later.id] and page.next_cursor == later.id
    rest = service.list_items(engine, as_of=when, after_id=page.next_cursor, limit=2)
    assert [i.id for i in rest.rows] == [pending.id] and rest.next_cursor is None


def test_attestations_and_records_store_their_text_and_source(engine: Engine) -> None:
    attestation = service.submit_attestation(
        engine,
        policy=POLICY,
        actor=ALICE,
        statement="All workforce members completed HIPAA training in 2025.",
        statement_by="Dana Smith, Privacy Officer",
        title="Training attestation",
        controls=["hipaa:164.308(a)(5)(i)"],
        owner="Privacy",
        now=T0,
    )
    assert attestation.statement_by == "Dana Smith, Privacy Officer" and attestation.media_type == "text/plain"
    assert attestation.valid_until == T0 + timedelta(days=180)
    with pytest.raises(InputError, match="'Name, role'"):
        service.submit_attestation(
            engine,
            policy=POLICY,
            actor=ALICE,
            statement="x",
            statement_by="Dana",
            title="t",
            controls=["soc2:CC6.1"],
            owner="o",
            now=T0,
        )
    import io

    record = service.submit_record(
        engine,
        policy=POLICY,
        actor=ALICE,
        url="https://hr.example.com/reports/42",
        stream=io.BytesIO(b"name,completed\nDana,2025-11-01\nLee,2025-11-03\n"),
        title="Training completion export",
        controls=["hipaa:164.308(a)(5)(i)"],
        owner="HR",
        now=T0,
    )
    assert (record.record_url, record.media_type) == ("https://hr.example.com/reports/42", "text/csv")
    with pytest.raises(InputError, match="http"):
        service.submit_record(
            engine,
            policy=POLICY,
            actor=ALICE,
            url="file:///etc/passwd",
            stream=io.BytesIO(b"x"),
            title="t",
            controls=["soc2:CC6.1"],
            owner="o",
            now=T0,
        )
