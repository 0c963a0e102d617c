from pathlib import Path

import pytest

from auditpack.data_dir import configured_data_dir
from auditpack.settings import SettingsError, load_settings


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("AUDITPACK_DATABASE_URL", "AUDITPACK_DATA_DIR", "AUDITPACK_OWNER_TAG_KEYS"):
        monkeypatch.delenv(name, raising=False)


def test_defaults_are_embedded_sqlite_and_a_data_dir_in_the_working_directory(tmp_path: Path) -> None:
    settings = load_settings()
    assert settings.database_url == "sqlite:///auditpack.db"
    assert settings.data_dir == tmp_path / "auditpack-data" and settings.data_dir.is_dir()
    assert settings.owner_tag_keys == ["Owner", "owner", "Team"]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        (None, None),  # unset: ./auditpack-data
        ("AUDITPACK_DATA_DIR", "relative/data"),
        ("AUDITPACK_DATA_DIR", "{tmp}/absolute"),
        ("auditpack_data_dir", "any/case"),  # pydantic-settings matches names regardless of case
    ],
)
def test_verify_file_finds_the_data_directory_the_settings_name(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str | None, value: str | None
) -> None:
    """`verify FILE` reads AUDITPACK_DATA_DIR without loading the settings; it must land where they do."""
    if name is not None and value is not None:
        monkeypatch.setenv(name, value.format(tmp=tmp_path))
    assert configured_data_dir() == load_settings().data_dir


def test_scopes_are_framework_scope_pairs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUDITPACK_SCOPES", "soc2:availability, soc2:privacy,pci-dss:A1")
    settings = load_settings()
    assert settings.scopes_for("soc2") == ["availability", "privacy"]
    assert settings.scopes_for("pci-dss") == ["A1"]
    assert settings.scopes_for("hipaa") is None  # not listed: the catalog's defaults apply


def test_list_settings_are_comma_separated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AUDITPACK_OWNER_TAG_KEYS", "CostCentre, Owner")
    roots = [tmp_path / "a.pem", tmp_path / "b.pem"]
    for root in roots:
        root.write_text("")
    monkeypatch.setenv("AUDITPACK_TRUST_ROOTS", f"{roots[0]}, {roots[1]}")
    settings = load_settings()
    assert settings.owner_tag_keys == ["CostCentre", "Owner"] and settings.trust_roots == roots


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("AUDITPACK_DATABASE_URL", "not a url", "AUDITPACK_DATABASE_URL: could not parse database URL"),
        ("AUDITPACK_DATABASE_URL", "mysql://root@localhost/x", "AUDITPACK_DATABASE_URL: unsupported database"),
        ("AUDITPACK_DATA_DIR", "{file}/sub", "AUDITPACK_DATA_DIR: {file}/sub is not a writable directory"),
        ("AUDITPACK_CONCURRENCY", "zero", "AUDITPACK_CONCURRENCY: Input should be a valid integer"),
        ("AUDITPACK_SCOPES", "soc2,pci-dss:A1", "AUDITPACK_SCOPES: 'soc2': expected FRAMEWORK:SCOPE pairs"),
        (
            "AUDITPACK_TRUST_ROOTS",
            "{file}, /nonexistent/ca.pem",
            "AUDITPACK_TRUST_ROOTS: /nonexistent/ca.pem: not a readable file; expected PEM or DER CA certificates",
        ),
    ],
)
def test_bad_values_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, variable: str, value: str, expected: str
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv(variable, value.format(file=blocker))
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert info.value.message.startswith(expected.format(file=blocker))


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("AUDITPACK_DATABASE_URL", "postgresql+nosuchdriver://x/y", "AUDITPACK_DATABASE_URL: no driver"),
        ("AUDITPACK_DATA_DIR", "{file}/sub", "AUDITPACK_DATA_DIR:"),
    ],
)
def test_the_cli_prints_one_line_and_exits_2(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, run_cli, variable: str, value: str, expected: str
) -> None:  # type: ignore[no-untyped-def]
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv(variable, value.format(file=blocker))
    result = run_cli("verify", "--store")
    assert result.code == 2
    assert result.stderr.strip().startswith(f"error: {expected}")
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr
