"""Settings into the values `evidence` takes: collection scope, check thresholds, the ownership map."""

from __future__ import annotations

from collections.abc import Sequence

from auditpack.settings import Settings
from auditpack.thresholds import thresholds_from_settings  # noqa: F401 - re-exported: callers import it from here
from evidence.aws.scope import CollectionScope
from evidence.changes.attribute import LookupSettings
from evidence.owners import OwnerMap, load_owner_map


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
