"""The identity and governance checks evidence the requirements the issue names for them, and only where their
result is evidence (a BAA with AWS is no PCI DSS requirement's evidence)."""

from __future__ import annotations

from frameworks.loader import load_catalogs


def _mapped(framework_id: str, check_id: str) -> set[str]:
    return {c.id for c in load_catalogs().get(framework_id).controls if check_id in {r.id for r in c.checks}}


def test_the_named_requirements_carry_the_new_checks() -> None:
    assert _mapped("hipaa", "artifact.hipaa_baa_accepted") == {"164.308(b)(3)", "164.314(a)(2)(i)"}
    assert "164.312(a)(2)(i)" in _mapped("hipaa", "iam.human_access_through_identity_center")
    assert "8.2.1" in _mapped("pci-dss", "iam.human_access_through_identity_center")
    assert {"7.2.2"} <= _mapped("pci-dss", "iam.no_privilege_escalation_actions")
    assert "CC6.3" in _mapped("soc2", "iam.no_privilege_escalation_actions")
    assert {"CC6.3"} <= _mapped("soc2", "iam.policies_attached_to_groups_and_roles")
    assert "CC4.1" in _mapped("soc2", "securityhub.standards_enabled")
    assert _mapped("pci-dss", "artifact.hipaa_baa_accepted") == set()


def test_a_requirement_given_its_first_check_becomes_partial_and_keeps_its_guidance() -> None:
    controls = {c.id: c for c in load_catalogs().get("hipaa").controls}
    for control_id in ("164.308(b)(3)", "164.314(a)(2)(i)"):
        control = controls[control_id]
        assert control.automation is not None and control.automation.value == "partial"
        assert control.guidance, control_id  # the other business associates' agreements are still attested
