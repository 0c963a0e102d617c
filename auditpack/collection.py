"""Settings into the values `evidence` takes: collection scope, check thresholds, the ownership map."""

from __future__ import annotations

from collections.abc import Sequence

from auditpack.settings import Settings
from evidence.aws.scope import CollectionScope
from evidence.changes.attribute import LookupSettings
from evidence.checks.thresholds import Thresholds
from evidence.owners import OwnerMap, load_owner_map


def thresholds_from_settings(settings: Settings) -> Thresholds:
    return Thresholds(
        password_min_length=settings.password_min_length,
        password_reuse_prevention=settings.password_reuse_prevention,
        password_max_age_days=settings.password_max_age_days,
        access_key_max_age_days=settings.access_key_max_age_days,
        credential_unused_days=settings.credential_unused_days,
        log_retention_min_days=settings.log_retention_min_days,
        rds_backup_retention_min_days=settings.rds_backup_retention_min_days,
        certificate_min_days_valid=settings.certificate_min_days_valid,
        inspector_critical_max_open_days=settings.inspector_critical_max_open_days,
        threat_finding_max_untriaged_days=settings.threat_finding_max_untriaged_days,
        human_session_max_hours=settings.human_session_max_hours,
        classification_tag_keys=tuple(settings.classification_tag_keys),
        unrestricted_classifications=tuple(settings.unrestricted_classifications),
        ephi_accounts=tuple(settings.ephi_accounts),
        ephi_classifications=tuple(settings.ephi_classifications),
    )


def lookups_from_settings(settings: Settings) -> LookupSettings:
    """Who-changed-it lookups after each collection (CloudTrail), and how many resources per run at most."""
    return LookupSettings(enabled=settings.change_lookups, limit=settings.change_lookup_limit)


def owner_map_from_settings(settings: Settings) -> OwnerMap:
    return load_owner_map(settings.owners_file, tag_keys=settings.owner_tag_keys)


def scope_from_settings(
    settings: Settings,
    *,
    profile: str | None = None,
    regions: Sequence[str] = (),
    accounts: Sequence[str] = (),
    org: bool = False,
    role_name: str | None = None,
) -> CollectionScope:
    """The scope to collect: explicit values (command-line options) win over AUDITPACK_* settings; explicit
    --org or --account replace the configured account selection as a whole."""
    if org or accounts:
        use_org, use_accounts = org, tuple(accounts)
    else:
        use_org, use_accounts = settings.org, tuple(settings.accounts)
    return CollectionScope(
        profile=profile or settings.aws_profile,
        regions=tuple(regions or settings.regions),
        accounts=use_accounts,
        org=use_org,
        role_name=role_name or settings.role_name,
        max_attempts=settings.aws_max_attempts,
        connect_timeout=settings.aws_connect_timeout,
        read_timeout=settings.aws_read_timeout,
        max_calls_per_service=settings.max_calls_per_service,
        use_fips_endpoints=settings.use_fips_endpoints,
    )
