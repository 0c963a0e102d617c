"""Check metadata (data, `<prefix>.yaml`) and decision functions (units in `<prefix>.py`) pair up exactly, by id."""

from importlib import resources

import pytest

from evidence.checks import unit
from evidence.checks.registry import CheckMetadataError, check_functions, check_metadata, check_modules
from evidence.checks.unit import Check, per_account


def test_every_check_id_has_exactly_one_function_and_every_function_has_metadata() -> None:
    functions = check_functions()
    assert set(functions) == set(check_metadata())
    assert len({entry.fn for entry in functions.values()}) == len(functions)
    for check_id, entry in functions.items():
        assert entry.meta.id == check_id
        assert entry.kinds, f"{check_id} declares no evidence kinds"


def test_each_prefix_module_holds_exactly_the_checks_of_its_prefix() -> None:
    by_module = {u.id: u.body.__module__ for u in unit.units().values()}
    check_functions()
    for check_id, module in by_module.items():
        assert module == f"evidence.checks.{check_id.split('.')[0]}", check_id
    # every check module has its metadata beside it, and no stray data file looks like a prefix's metadata
    files = {entry.name for entry in resources.files("evidence.checks").iterdir()}
    assert {f"{prefix}.py" for prefix in check_modules()} <= files
    assert not [name for name in files if name.endswith(".yaml") and name[:-5] not in check_modules()]
    assert "metadata.yaml" not in files


def test_a_function_without_metadata_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(unit, "_UNITS", dict(unit._UNITS))

    def not_a_check(c: Check, account_id: str) -> None:
        return None

    not_a_check.__module__ = "evidence.checks.iam"
    per_account(reads=("iam.account_summary",))(not_a_check)
    with pytest.raises(CheckMetadataError, match=r"iam\.not_a_check .* no entry in its module's yaml"):
        check_functions()
