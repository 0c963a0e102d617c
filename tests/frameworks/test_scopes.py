"""Scope selection on the packaged catalogs: SOC 2 categories and the PCI DSS appendices A1 and A3."""

from __future__ import annotations

from frameworks.evaluate import evaluate_framework
from frameworks.loader import load_catalogs
from frameworks.results import FrameworkStatus, OverallStatus
from frameworks.structure import resolve_scopes
from tests.frameworks.helpers import AS_OF, usage


def _status(framework_id: str, scopes: list[str] | None) -> FrameworkStatus:
    return evaluate_framework(
        load_catalogs().get(framework_id),
        findings=(),
        gaps=(),
        usage=usage("s3"),
        runs=(),
        as_of=AS_OF,
        freshness_hours=48,
        scopes=scopes,
    )


def test_soc2_evaluates_security_only_unless_categories_are_selected() -> None:
    default = _status("soc2", None)
    families = {c.family_id: c for c in default.controls}
    assert families["CC6"].in_scope and not families["A1"].in_scope and not families["P8"].in_scope
    assert default.by_status["not_applicable"] == 61 - 33  # every criterion outside the common criteria
    chosen = _status("soc2", ["availability", "confidentiality"])
    in_scope = {c.control_id for c in chosen.controls if c.in_scope}
    assert {"A1.1", "A1.2", "A1.3", "C1.1", "C1.2", "CC1.1"} <= in_scope
    assert not in_scope & {"PI1.1", "P1.1"}
    assert chosen.scopes == frozenset({"security", "availability", "confidentiality"})


def test_soc2_security_cannot_be_turned_off() -> None:
    assert "security" in resolve_scopes(load_catalogs().get("soc2"), ["privacy"])


def test_pci_appendices_a1_and_a3_apply_only_when_configured() -> None:
    default = _status("pci-dss", None)
    appendix = [c for c in default.controls if c.family_id in ("A1", "A3")]
    assert appendix and all(c.status is OverallStatus.NOT_APPLICABLE and not c.in_scope for c in appendix)
    configured = _status("pci-dss", ["A1", "A3"])
    assert all(c.in_scope for c in configured.controls if c.family_id in ("A1", "A3"))
