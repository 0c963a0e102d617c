"""A period packet proves operation over time: `auditpack packet --from --to` over a month of nightly captures
(tests/frameworks/period_store.py), its section "Operation over the period" read back from the signed PDF's text,
its figures and every capture's status from its signed attachments, its signature validated."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

import pytest
from pypdf import PdfReader

from reports.verify import verify_file
from tests.frameworks import period_store as month
from tests.frameworks.period_store import Month

FROM, TO = month.FIRST.isoformat(), month.LAST.isoformat()


def _text(reader: PdfReader) -> list[str]:
    return [" ".join(page.extract_text().split()) for page in reader.pages]


@pytest.fixture(scope="module")
def packet(month_store: Month, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One packet per backend module run; rendering is what costs, so SQLite only (the store-level logic is
    covered on both backends by tests/frameworks/test_history.py)."""
    if not month_store.url.startswith("sqlite"):
        pytest.skip("rendering is backend-independent; covered on SQLite")
    return tmp_path_factory.mktemp("packet")


@pytest.fixture
def packet_env(month_store: Month, packet: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AUDITPACK_DATABASE_URL", month_store.url)
    monkeypatch.setenv("AUDITPACK_CATALOG_DIR", str(month.write_catalog(packet / "catalogs")))
    monkeypatch.setenv("AUDITPACK_DATA_DIR", str(packet / "data"))
    monkeypatch.setenv("AUDITPACK_ORG_NAME", "Month Health")
    monkeypatch.chdir(packet)
    return packet


def test_the_packet_shows_and_signs_operation_over_the_period(  # type: ignore[no-untyped-def]
    packet_env: Path, month_store: Month, run_cli
) -> None:
    built = run_cli(
        "packet",
        "--framework",
        "ops",
        "--from",
        FROM,
        "--to",
        TO,
        "--out",
        "ops.pdf",
        "--bundle",
        "ops.zip",
        "--format",
        "json",
    )
    assert built.code == 0, built
    pdf = packet_env / "ops.pdf"
    verification = verify_file(pdf, trust=[packet_env / "data" / "signing" / "local-ca.pem"])
    assert verification.intact and verification.valid and verification.trusted, verification.problems
    assert verification.problems == ()

    reader = PdfReader(pdf)
    pages = _text(reader)
    summary = next(page for page in pages if page.startswith("Executive summary"))
    assert (
        "2 requirements failed at some point in the month; the longest streak was 19 days, on E1. "
        "1 day of 30 had no capture."
    ) in summary
    start = next(index for index, page in enumerate(pages) if page.startswith("Operation over the period"))
    section = " ".join(pages[start : start + 2])
    assert "30 capture(s) over 30 day(s), 01 Apr 2026 to 30 Apr 2026" in section
    assert "1 day(s) of the month had no complete or partial run: 17 Apr 2026" in section
    assert f"run {month_store.failed_run.id} (failed, 17 Apr 2026 02:00 UTC)" in section
    first, last, fixed = (month_store.runs[(n, 2)].id for n in (3, 21, 22))
    assert (
        f"E1 Encrypt stored data 03 Apr 2026 02:00 UTC (run {first}) 21 Apr 2026 02:00 UTC (run {last}) 19 "
        f"22 Apr 2026 02:00 UTC (run {fixed}) 19 days"
    ) in section
    assert "P1 Security policy 22 1-7 Apr, 16-30 Apr 2026" in section  # the policy was valid on days 8-15 only
    assert "Timelines" in section and "E2 Encrypt stored data, risk accepted for a while 30 12 12 6 11 1" in section

    manifest = json.loads(reader.attachments["manifest.json"][0])
    operation = manifest["operation"]
    assert operation["days_without_capture"] == ["2026-04-17"] and operation["captures"] == "all"
    e1 = next(control for control in operation["controls"] if control["id"] == "E1")
    assert (e1["longest_failing_streak_days"], e1["failed"], e1["uncovered_days"]) == (19, 18, ["2026-04-17"])
    # every capture rests on a sealed run whose findings digest the packet records
    captured = {run["run_id"] for run in operation["runs"]}
    assert captured <= {int(run_id) for run_id, digest in manifest["store"]["findings"].items() if digest}
    assert manifest["files"]["operation-history.csv"]["sha256"]
    rows = list(csv.DictReader(io.StringIO(reader.attachments["operation-history.csv"][0].decode())))
    assert len(rows) == 4 * 30
    e1_rows = [row for row in rows if row["control_id"] == "E1"]
    assert [row["status"] for row in e1_rows].count("not_met") == 18
    assert e1_rows[2] == {
        "control_id": "E1",
        "run_id": str(first),
        "observed_at": "2026-04-03T02:00:00Z",
        "status": "not_met",
        "automated": "fail",
        "customer_evidence": "not_needed",
    }
    # the bundle's OSCAL assessment results: one observation per capture, collected when its run was sealed
    with zipfile.ZipFile(packet_env / "ops.zip") as bundle:
        results = json.loads(bundle.read("oscal/assessment-results.json"))["assessment-results"]["results"][0]
    observed = [o for o in results["observations"] if o["title"].startswith("Capture: ")]
    assert [o["collected"] for o in observed] == [run["observed_at"] for run in operation["runs"]]
    assert len(observed) == 30
    # the store still holds every capture's findings as the packet recorded them
    against = run_cli("verify", "--store", "--against", str(pdf))
    assert against.code == 0, against
