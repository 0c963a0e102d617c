"""Collection settings (AUDITPACK_*) become the scope, thresholds and ownership map `evidence` takes."""

from pathlib import Path

import pytest

from auditpack.collection import owner_map_from_settings, scope_from_settings, thresholds_from_settings
from auditpack.settings import SettingsError, load_settings
from evidence.checks.thresholds import Thresholds


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("AUDITPACK_REGIONS", "AUDITPACK_ACCOUNTS", "AUDITPACK_ORG", "AUDITPACK_OWNERS_FILE"):
        monkeypatch.delenv(name, raising=False)


def test_defaults_are_the_issues_thresholds() -> None:
    assert thresholds_from_settings(load_settings()) == Thresholds()
    scope = scope_from_settings(load_settings())
    assert (scope.org, scope.accounts, scope.regions, scope.role_name) == (
        False,
        (),
        (),
        "OrganizationAccountAccessRole",
    )
    assert scope.max_attempts == 5


def test_environment_sets_scope_and_thresholds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUDITPACK_REGIONS", "eu-west-1, eu-central-1")
    monkeypatch.setenv("AUDITPACK_ORG", "true")
    monkeypatch.setenv("AUDITPACK_ACCESS_KEY_MAX_AGE_DAYS", "30")
    monkeypatch.setenv("AUDITPACK_AWS_MAX_ATTEMPTS", "8")
    settings = load_settings()
    scope = scope_from_settings(settings)
    assert scope.regions == ("eu-west-1", "eu-central-1") and scope.org and scope.max_attempts == 8
    assert thresholds_from_settings(settings).access_key_max_age_days == 30
    # options win, and an explicit account list replaces the configured --org
    explicit = scope_from_settings(settings, regions=["us-east-1"], accounts=["111111111111"])
    assert (explicit.regions, explicit.accounts, explicit.org) == (("us-east-1",), ("111111111111",), False)


def test_owner_tag_keys_and_map_from_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "owners.yaml"
    path.write_text("services:\n  s3: storage\n")
    monkeypatch.setenv("AUDITPACK_OWNERS_FILE", str(path))
    monkeypatch.setenv("AUDITPACK_OWNER_TAG_KEYS", "CostCentre")
    owners = owner_map_from_settings(load_settings())
    assert owners.tag_keys == ("CostCentre",) and owners.services == {"s3": "storage"}


def test_bad_threshold_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUDITPACK_LOG_RETENTION_MIN_DAYS", "0")
    with pytest.raises(SettingsError, match="AUDITPACK_LOG_RETENTION_MIN_DAYS"):
        load_settings()


def test_certificate_and_classification_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUDITPACK_CERTIFICATE_MIN_DAYS_VALID", "45")
    monkeypatch.setenv("AUDITPACK_CLASSIFICATION_TAG_KEYS", "Sensitivity, DataClass")
    thresholds = thresholds_from_settings(load_settings())
    assert thresholds.certificate_min_days_valid == 45
    assert thresholds.classification_tag_keys == ("Sensitivity", "DataClass")
    monkeypatch.setenv("AUDITPACK_CLASSIFICATION_TAG_KEYS", "")
    with pytest.raises(SettingsError, match="CLASSIFICATION_TAG_KEYS"):
        load_settings()


def test_unrestricted_classifications_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert thresholds_from_settings(load_settings()).unrestricted_classifications == ("public", "internal")
    monkeypatch.setenv("AUDITPACK_UNRESTRICTED_CLASSIFICATIONS", "Public, Open")
    assert thresholds_from_settings(load_settings()).unrestricted_classifications == ("Public", "Open")
    monkeypatch.setenv("AUDITPACK_UNRESTRICTED_CLASSIFICATIONS", "")  # every classification asks for protection
    assert thresholds_from_settings(load_settings()).unrestricted_classifications == ()


def test_inspector_critical_max_open_days_reaches_the_thresholds(monkeypatch: pytest.MonkeyPatch) -> None:
    assert thresholds_from_settings(load_settings()).inspector_critical_max_open_days == 30
    monkeypatch.setenv("AUDITPACK_INSPECTOR_CRITICAL_MAX_OPEN_DAYS", "15")
    assert thresholds_from_settings(load_settings()).inspector_critical_max_open_days == 15


def test_threat_finding_max_untriaged_days_reaches_the_thresholds(monkeypatch: pytest.MonkeyPatch) -> None:
    assert thresholds_from_settings(load_settings()).threat_finding_max_untriaged_days == 7
    monkeypatch.setenv("AUDITPACK_THREAT_FINDING_MAX_UNTRIAGED_DAYS", "2")
    assert thresholds_from_settings(load_settings()).threat_finding_max_untriaged_days == 2


def test_ephi_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    assert thresholds_from_settings(load_settings()).ephi_classifications == ("ephi", "phi")
    monkeypatch.setenv("AUDITPACK_EPHI_ACCOUNTS", "111111111111, 222222222222")
    monkeypatch.setenv("AUDITPACK_EPHI_CLASSIFICATIONS", "PHI,patient-data")
    thresholds = thresholds_from_settings(load_settings())
    assert thresholds.ephi_accounts == ("111111111111", "222222222222")
    assert thresholds.ephi_classifications == ("PHI", "patient-data")
    monkeypatch.setenv("AUDITPACK_EPHI_ACCOUNTS", "prod")
    with pytest.raises(SettingsError, match="AUDITPACK_EPHI_ACCOUNTS"):
        load_settings()


def test_fips_and_the_call_bound_reach_the_scope(monkeypatch: pytest.MonkeyPatch) -> None:
    scope = scope_from_settings(load_settings())
    assert (scope.use_fips_endpoints, scope.max_calls_per_service) == (False, 4)
    monkeypatch.setenv("AUDITPACK_USE_FIPS_ENDPOINTS", "true")
    monkeypatch.setenv("AUDITPACK_MAX_CALLS_PER_SERVICE", "2")
    scope = scope_from_settings(load_settings())
    assert (scope.use_fips_endpoints, scope.max_calls_per_service) == (True, 2)
    assert scope.describe()["fips_endpoints"] is True  # the run records which endpoints it read
    monkeypatch.setenv("AUDITPACK_MAX_CALLS_PER_SERVICE", "0")
    with pytest.raises(SettingsError, match="AUDITPACK_MAX_CALLS_PER_SERVICE"):
        load_settings()
    monkeypatch.setenv("AUDITPACK_MAX_CALLS_PER_SERVICE", "2")
    monkeypatch.setenv("AUDITPACK_USE_FIPS_ENDPOINTS", "sometimes")
    with pytest.raises(SettingsError, match="AUDITPACK_USE_FIPS_ENDPOINTS"):
        load_settings()
