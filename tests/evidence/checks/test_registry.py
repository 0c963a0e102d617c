"""Check metadata (data) and decision functions (code) pair up exactly, by id."""

import pytest

from evidence.checks.registry import CheckMetadataError, check, check_functions, check_metadata


def test_every_check_id_has_exactly_one_function_and_every_function_has_metadata() -> None:
    functions = check_functions()
    assert set(functions) == set(check_metadata())
    assert len({entry.fn for entry in functions.values()}) == len(functions)
    for check_id, entry in functions.items():
        assert entry.meta.id == check_id
        assert entry.kinds, f"{check_id} declares no evidence kinds"


def test_registering_a_function_for_an_unknown_id_fails_at_import() -> None:
    with pytest.raises(CheckMetadataError, match="no metadata"):

        @check("iam.not_a_check", kinds=("iam.account_summary",), regional=False)
        def nothing(view, thresholds, now):  # type: ignore[no-untyped-def]
            return []


def test_a_second_function_for_an_existing_id_is_refused() -> None:
    with pytest.raises(CheckMetadataError, match="two functions"):

        @check("iam.root_mfa_enabled", kinds=("iam.account_summary",), regional=False)
        def impostor(view, thresholds, now):  # type: ignore[no-untyped-def]
            return []
