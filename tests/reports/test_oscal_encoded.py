"""The assessment results' pre-encoded evidence arrays: byte for byte what `orjson.dumps` gives for the dicts
`reports.oscal.parts` defines (observation, inventory item, payload resource), whatever the text holds (escaped
characters, whitespace `line` folds, non-BMP text, blank and missing owners) and however the caches fill."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import orjson
import pytest

from evidence.checks.types import Finding, FindingStatus, Remediation, Severity
from evidence.db import make_engine
from evidence.store import EvidenceStore
from frameworks.results import (
    Automation,
    CheckVerdict,
    ControlResult,
    ExceptedFinding,
    FrameworkStatus,
    OverallStatus,
    Responsibility,
    ResponsibilityMatrix,
)
from reports.customer_view import CustomerSection, PacketWindow
from reports.oscal import encoded, findings, memo, poam
from reports.oscal.context import ExportContext
from reports.oscal.evidence import EvidenceRow, EvidenceSource, ResourceRow
from reports.oscal.ids import Ids
from reports.oscal.jsonstream import ITEM_SEPARATOR, Encoded
from reports.oscal.parts import inventory_item, observation, payload_resource

AS_OF = datetime(2026, 11, 20, 3, 30, tzinfo=UTC)
# Text that JSON must escape or that `line` rewrites, beside plain ids.
ODD = [
    "arn:aws:s3:::plain-bucket",
    'quote"and\\backslash',
    "tab\tnew\nline\r\x00\x1f\x7f",
    "  padded   spaces  ",
    "bücket-😀-\u2028\u2029",
    "</script>&<>",
    "",
]


def _context(*, in_bundle: bool, freshness_hours: float = 48) -> ExportContext:
    status = FrameworkStatus(
        framework_id="pci-dss",
        name="PCI DSS",
        version="4.0.1",
        as_of=AS_OF,
        runs=(),
        services_in_use=frozenset(),
        controls=(),
        matrix=ResponsibilityMatrix(services=(), families=(), cells={}),
        gap_count=0,
        stale_count=0,
        freshness_hours=freshness_hours,  # type: ignore[arg-type]
    )
    return ExportContext(
        status=status,
        ids=Ids.for_packet("PKT-ENC"),
        org_name="Example Ltd",
        last_modified=AS_OF,
        evidence=EvidenceSource(EvidenceStore(make_engine("sqlite://")), [1]),
        gaps=(),
        customer=CustomerSection(PacketWindow(until=AS_OF)),
        tool_version="test",
        in_bundle=in_bundle,
    )


def _rows() -> list[EvidenceRow]:
    rows = []
    index = 0
    for text in ODD:
        for owner in (None, "", "team-a", text):
            for observed_at in (
                AS_OF,
                AS_OF + timedelta(microseconds=123456),
                AS_OF + timedelta(microseconds=1000),  # the same second, another fraction
                AS_OF + timedelta(microseconds=999999),
                datetime(2026, 12, 31, 23, 59, 59, 500000, tzinfo=UTC),  # expires in another year
                datetime(2026, 11, 20, 5, 0, tzinfo=timezone(timedelta(hours=2))),  # written in UTC
                datetime(2026, 11, 20, 5, 0, 0, 250, tzinfo=timezone(timedelta(hours=-5, minutes=-30))),
            ):
                index += 1
                rows.append(
                    EvidenceRow(
                        id=index,
                        run_id=index % 3 + 1,
                        account_id=("111122223333", text)[index % 2],
                        region=("eu-west-1", "global", text)[index % 3],
                        service=("s3", text)[index % 2],
                        resource_type=("bucket", text)[index % 3 == 0],
                        resource_id=text if index % 5 else f"arn:aws:ec2:eu-west-1:1:instance/i-{index}",
                        kind=(f"s3.{text}", "s3.bucket", text)[index % 3],
                        observed_at=observed_at,
                        owner=owner,
                        sha256=f"{index:064x}",
                        canonical_version=1 + index % 2,
                    )
                )
    return rows


@pytest.mark.parametrize("cache_limit", [4096, 2])  # 2: the caches fill and are cleared over and over
# 0.5 h: whole seconds; a millisecond: `expires` has another fraction than `collected` (the texts are not shared)
@pytest.mark.parametrize("freshness_hours", [48, 0.5, 1 / 3_600_000])
def test_observations_are_the_bytes_of_the_dicts(
    monkeypatch: pytest.MonkeyPatch, cache_limit: int, freshness_hours: float
) -> None:
    monkeypatch.setattr(memo, "_LIMIT", cache_limit)
    ctx = _context(in_bundle=True, freshness_hours=freshness_hours)
    rows = _rows()
    rows.append(
        rows[0]._replace(id=10**12, resource_id=None)  # type: ignore[arg-type]
    )
    rows += [row._replace(id=row.id + 1000) for row in rows]  # more than one batch
    made = _items(encoded.observations(ctx, rows))
    assert made == [orjson.dumps(observation(ctx, row)) for row in rows]
    assert len(set(made)) == len(rows) > 256
    # as `EvidenceSource.stream` hands them over from SQLite: the time as its stored text, naive UTC
    stored = [row._replace(observed_at=_sqlite_text(row.observed_at)) for row in rows]
    assert _items(encoded.observations(ctx, stored)) == made


def _items(chunks: Iterable[Encoded]) -> list[bytes]:
    """The items of an encoder's batches, as a Stream writes them: each batch's items joined by ITEM_SEPARATOR
    (compact JSON holds no raw line break, so the separator splits them back)."""
    return ITEM_SEPARATOR.join(chunk.data for chunk in chunks).split(ITEM_SEPARATOR)


def _sqlite_text(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


@pytest.mark.parametrize("cache_limit", [4096, 2])
def test_inventory_items_are_the_bytes_of_the_dicts(monkeypatch: pytest.MonkeyPatch, cache_limit: int) -> None:
    monkeypatch.setattr(memo, "_LIMIT", cache_limit)
    ctx = _context(in_bundle=False)
    resources = [
        ResourceRow(
            row.account_id, row.region, f"{row.resource_id}{copy or ''}", row.service, row.resource_type, row.owner
        )
        for copy in range(2)  # more than one batch
        for row in _rows()
    ]
    made = _items(encoded.inventory_items(ctx, resources))
    assert len(made) > 256
    assert made == [orjson.dumps(inventory_item(ctx, resource)) for resource in resources]


@pytest.mark.parametrize("in_bundle", [True, False])
def test_payload_resources_are_the_bytes_of_the_dicts(in_bundle: bool) -> None:
    ctx = _context(in_bundle=in_bundle)
    payloads = [(f"{index:064x}", 1 + index % 2, index) for index in range(1, 300)] + [('odd"sha\n😀', 1, 1)]
    made = _items(encoded.payload_resources(ctx, payloads))
    assert made == [orjson.dumps(payload_resource(ctx, *payload)) for payload in payloads]


def test_a_store_streamed_as_stored_gives_the_bytes_of_the_dicts(store: EvidenceStore) -> None:
    """What a packet encodes: `stream()` rows (times as the database returns them) and Core resource rows."""
    run = store.start_run(trigger="cli", requested_by="tests", scope={})
    with store.recorder(run.id) as recorder:
        for index, micro in enumerate((0, 1, 123456, 999999, 0)):
            recorder.add(
                account_id="111122223333",
                region="eu-west-1",
                service="s3",
                resource_type="bucket",
                resource_id=f"arn:aws:s3:::b-{index % 4}",
                kind="s3.bucket",
                payload={"n": index},
                observed_at=AS_OF + timedelta(seconds=index, microseconds=micro),
                owner=None if index % 2 else "team-a",
            )
    store.finish_run(run.id)
    ctx = replace(_context(in_bundle=True), evidence=EvidenceSource(store, [run.id]))
    rows = list(ctx.evidence.rows())
    assert _items(encoded.observations(ctx, ctx.evidence.stream())) == [
        orjson.dumps(observation(ctx, row)) for row in rows
    ]
    resources = list(ctx.evidence.resources())
    assert len(resources) == 4
    assert _items(encoded.inventory_items(ctx, resources)) == [
        orjson.dumps(inventory_item(ctx, ResourceRow(*resource))) for resource in resources
    ]


def test_a_context_changed_for_one_document_keeps_the_lookups_already_made() -> None:
    """The POA&M's and the assessment results' contexts (`but`) reuse what `prepare` worked out before the fork
    instead of each querying the failing evidence again; the change itself is made."""
    ctx = _context(in_bundle=True)
    ctx.prepare()
    kept = Path("risks.ndjson")
    changed = ctx.but(risk_copy=kept)
    assert changed.risk_copy == kept and ctx.risk_copy is None
    for name in ("failing", "failing_by_control", "failing_evidence", "_by_hash", "gap_first_seen", "tokens"):
        assert changed.__dict__[name] is ctx.__dict__[name], name


# -- the risks and the POA&M's result items ------------------------------------------------------------------------


def _failing_context() -> tuple[ExportContext, set[str]]:
    """Failing results of two checks on resources with every kind of odd text, some under an exception, each
    failing three controls (two of them open); evidence rows for most findings (one payload shared by two
    resources, one finding with none)."""
    rows: list[EvidenceRow] = []
    failing: list[Finding] = []
    for index in range(600):
        text = ODD[index % len(ODD)]
        sha = f"{index % 9:064x}"  # payloads shared across findings
        finding = Finding(
            check_id=("s3.bucket_encrypted", text or "s3.blank")[index % 2],
            status=FindingStatus.FAIL,
            account_id=("111122223333", text)[index % 3 == 0],
            region=("eu-west-1", text, "global")[index % 3],
            resource_id=text if index < len(ODD) else f"{text}/bucket-{index}",  # the first as they are, blank too
            reason=(f"not encrypted: {text}", "")[index % 5 == 0],  # blank: the verdict's title instead
            evidence=(sha,) if index % 7 else (),
            observed_at=AS_OF,
            owner=(None, "", "team-a", text)[index % 4],
            resource_type="bucket",
        )
        failing.append(finding)
        for copy in range(1 + index % 2):
            rows.append(
                EvidenceRow(
                    id=len(rows) + 1,
                    run_id=1,
                    account_id=finding.account_id if copy == 0 else "444455556666",
                    region=finding.region,
                    service="s3",
                    resource_type="bucket",
                    resource_id=finding.resource_id,
                    kind="s3.bucket",
                    observed_at=AS_OF,
                    owner=finding.owner,
                    sha256=sha,
                    canonical_version=1,
                )
            )
    remediation = Remediation(console='S3 > Bucket > "Properties"\n> Encryption', cli="aws s3api put-bucket-encryption")
    excepted = tuple(
        ExceptedFinding(finding, exception_id=40 + index, expires_at=AS_OF + timedelta(days=30), reason="accepted")
        for index, finding in enumerate(failing[::5])
    )
    verdicts = tuple(
        CheckVerdict(
            check_id=check,
            title=f'Buckets are "encrypted" ({check})',
            severity=severity,
            relevance="",
            passed=3,
            failed=len(failing),
            errors=0,
            not_applicable=0,
            stale=0,
            failing=tuple(f for i, f in enumerate(failing) if i % 5 and f.check_id == check),
            errored=(),
            remediation=remediation,
            excepted=tuple(e for e in excepted if e.finding.check_id == check),
        )
        for check, severity in {f.check_id: (Severity.HIGH, Severity.LOW)[i % 2] for i, f in enumerate(failing)}.items()
    )
    controls = tuple(
        ControlResult(
            control_id=control_id,
            title=f"Control {control_id}",
            description="",
            family_id="3",
            family_title="Protect stored data",
            automation=Automation.AUTOMATED,
            responsibility={},
            overall_responsibility=Responsibility.CUSTOMER,
            status=status,
            status_reason="",
            checks=verdicts,
            passed=3,
            failed=len(failing),
            guidance=None,
            aws_evidence=(),
        )
        for control_id, status in (
            ("3.5.1", OverallStatus.NOT_MET),
            ("3.6", OverallStatus.MET),
            ("A 1", OverallStatus.EXCEPTED),
        )
    )
    ctx = replace(_context(in_bundle=True), status=replace(_context(in_bundle=True).status, controls=controls))
    ctx.__dict__["failing_evidence"] = rows  # what the store would return for those hashes
    known = {ctx.ids("observation", "evidence", row.id) for row in rows[::2]}  # the POA&M holds some of them
    return ctx, known


@pytest.mark.parametrize("cache_limit", [4096, 2])
def test_risks_and_poam_result_items_are_the_bytes_of_the_dicts(
    monkeypatch: pytest.MonkeyPatch, cache_limit: int
) -> None:
    monkeypatch.setattr(memo, "_LIMIT", cache_limit)
    ctx, known = _failing_context()
    results = list(ctx.failing.values())
    assert len(results) > 2 * 256  # several batches of minted UUIDs
    assert any(r.exception_id is not None for r in results) and any(r.exception_id is None for r in results)
    assert [orjson.dumps(item) for item in findings.risks(ctx)] == [
        orjson.dumps(findings.risk(ctx, result)) for result in results
    ]
    open_ids = {"3.5.1", "A 1"}
    assert [orjson.dumps(item) for item in poam.result_items(ctx, known, open_ids)] == [
        orjson.dumps(poam._result_item(ctx, result, known, open_ids)) for result in results
    ]
    # the risks' UUIDs, which every other document names them by
    assert [findings.risk_uuid(ctx, r) for r in results] == [ctx.ids("risk", *r.key) for r in results]
