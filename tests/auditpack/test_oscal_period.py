"""`auditpack export oscal --from --to` over a month of nightly captures at controlled times
(tests/frameworks/period_store.py): the assessment results carry one observation per capture evaluated, collected
when its run was sealed, with every requirement's status at that capture; findings link the captures their
control failed at; the documents validate with compliance-trestle and two exports are byte-identical."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from core.canonical import rfc3339
from reports.oscal import DOCUMENTS
from tests.frameworks import period_store as month
from tests.frameworks.period_store import Month

FROM, TO = month.FIRST.isoformat(), month.LAST.isoformat()
TRESTLE_DIRS = {
    "catalog": ("catalogs", "catalog"),
    "ssp": ("system-security-plans", "system-security-plan"),
    "assessment-results": ("assessment-results", "assessment-results"),
    "poam": ("plan-of-action-and-milestones", "plan-of-action-and-milestones"),
}


@pytest.fixture
def month_env(month_store: Month, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Month:
    if not month_store.url.startswith("sqlite"):
        pytest.skip("rendering is backend-independent; the captures are covered on both by tests/frameworks")
    monkeypatch.setenv("AUDITPACK_DATABASE_URL", month_store.url)
    monkeypatch.setenv("AUDITPACK_CATALOG_DIR", str(month.write_catalog(tmp_path / "catalogs")))
    monkeypatch.setenv("AUDITPACK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("AUDITPACK_ORG_NAME", "Month Health")
    return month_store


def _export(run_cli, out: Path, *extra: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    result = run_cli(
        "export",
        "oscal",
        "--framework",
        "ops",
        "--from",
        FROM,
        "--to",
        TO,
        "--out",
        str(out),
        *extra,
        "--format",
        "json",
    )
    assert result.code == 0, result
    return json.loads(result.stdout)


def _results(out: Path) -> dict[str, Any]:
    return json.loads((out / "assessment-results.json").read_text("utf-8"))["assessment-results"]["results"][0]


def _prop(node: dict[str, Any], name: str) -> list[str]:
    return [p["value"] for p in node.get("props", ()) if p["name"] == name]


def capture_observations(result: dict[str, Any]) -> list[dict[str, Any]]:
    return [o for o in result["observations"] if _prop(o, "capture-selection")]


def test_an_observation_per_capture_with_its_collected_time(month_env: Month, run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _export(run_cli, tmp_path / "all")
    result = _results(tmp_path / "all")
    captures = capture_observations(result)
    runs = sorted(month_env.runs.values(), key=lambda run: run.finished_at)  # every usable run: the failed one is not
    assert len(captures) == len(runs) == 30
    assert [int(_prop(o, "run")[0]) for o in captures] == [run.id for run in runs]
    assert [o["collected"] for o in captures] == [rfc3339(run.finished_at) for run in runs]
    assert captures[2]["collected"] == "2026-04-03T02:00:00Z"
    assert month_env.failed_run.id not in {int(_prop(o, "run")[0]) for o in captures}
    assert {_prop(o, "run-digest")[0] for o in captures} == {run.digest for run in runs}

    def status_at(observation: dict[str, Any], token: str) -> str:
        found = [p["value"] for p in observation["props"] if p["name"] == "control-status" and p.get("class") == token]
        assert len(found) == 1
        return found[0]

    e1 = [status_at(o, "ops-E1") for o in captures]
    assert e1.count("not_met") == 18 and e1[2] == "not_met" and e1[0] == "met"  # days 3-21 less the missed 17th
    assert [status_at(o, "ops-E2") for o in captures].count("excepted") == 6
    assert {status_at(o, "ops-I1") for o in captures} == {"inherited"}
    assert _prop(result, "captures-evaluated") == ["30"] and _prop(result, "days-without-capture") == ["1"]

    # E1's finding links exactly the captures it was not met at, and carries its operation over the month; E2's
    # links its excepted captures too
    finding = next(f for f in result["findings"] if _prop(f, "control-id") == ["E1"])
    linked = {link["observation-uuid"] for link in finding["related-observations"]}
    failing = {o["uuid"] for o, status in zip(captures, e1, strict=True) if status == "not_met"}
    assert failing <= linked and not (linked & {o["uuid"] for o in captures} - failing)
    assert _prop(finding, "captures-not-met") == ["18"] and _prop(finding, "longest-failing-streak-days") == ["19"]
    assert _prop(finding, "first-failure") == ["2026-04-03T02:00:00Z"]
    e2 = next(f for f in result["findings"] if _prop(f, "control-id") == ["E2"])
    e2_linked = {link["observation-uuid"] for link in e2["related-observations"]} & {o["uuid"] for o in captures}
    assert e2_linked == failing  # not met on days 3-4 and 11-21, excepted on days 5-10: the same captures as E1
    p1 = next(f for f in result["findings"] if _prop(f, "control-id") == ["P1"])  # evidence needed: counted only
    assert not {link["observation-uuid"] for link in p1.get("related-observations", ())} & {o["uuid"] for o in captures}

    # --captures daily: the last run of each day (day 25 had two)
    _export(run_cli, tmp_path / "daily", "--captures", "daily")
    daily = capture_observations(_results(tmp_path / "daily"))
    assert len(daily) == 29 and month_env.runs[(month.SECOND, 2)].id not in {int(_prop(o, "run")[0]) for o in daily}


def test_the_period_export_is_trestle_valid_and_deterministic(  # type: ignore[no-untyped-def]
    month_env: Month, run_cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    first = _export(run_cli, tmp_path / "one")
    second = _export(run_cli, tmp_path / "two")
    assert first["documents"].keys() == set(DOCUMENTS)
    for name in DOCUMENTS:
        assert first["documents"][name]["sha256"] == second["documents"][name]["sha256"], name
        assert (tmp_path / "one" / DOCUMENTS[name].filename).read_bytes() == (
            tmp_path / "two" / DOCUMENTS[name].filename
        ).read_bytes()
    from trestle.cli import Trestle  # compliance-trestle's command line, in this process

    root = tmp_path / "workspace"
    root.mkdir()
    monkeypatch.chdir(root)
    assert Trestle().run(["init"]) == 0
    for name, (folder, model) in TRESTLE_DIRS.items():
        (root / folder / "month").mkdir(parents=True)
        shutil.copyfile(tmp_path / "one" / DOCUMENTS[name].filename, root / folder / "month" / f"{model}.json")
    shutil.copyfile(tmp_path / "one" / "catalog.json", root / "system-security-plans" / "month" / "catalog.json")
    monkeypatch.chdir(root / "system-security-plans" / "month")  # the SSP's baseline resolves from here
    for folder, model in TRESTLE_DIRS.values():
        path = f"{folder}/month/{model}.json"
        capsys.readouterr()
        code = Trestle().run(["validate", "-tr", str(root), "-f", path])
        said = capsys.readouterr()
        assert code == 0, f"{path}: trestle validate exited {code}:\n{said.out[-2000:]}{said.err[-2000:]}"
        assert f"VALID: Model {root / path} passed" in said.out


def test_captures_go_with_a_period_only(month_env: Month, run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    refused = run_cli("export", "oscal", "--framework", "ops", "--captures", "daily", "--out", str(tmp_path / "x"))
    assert refused.code == 2 and "--captures chooses the runs of a period" in refused.stderr
    single = run_cli("export", "oscal", "--framework", "ops", "--as-of", TO, "--out", str(tmp_path / "single"))
    assert single.code == 0, single
    assert capture_observations(_results(tmp_path / "single")) == []
