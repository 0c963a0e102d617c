"""What a collection covers: the base credentials, the accounts and the regions."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import Any

import boto3

from core.errors import InputError
from evidence.aws.defaults import DEFAULT_CALLS_PER_SERVICE, DEFAULT_ROLE_NAME

_ACCOUNT_ID = re.compile(r"^[0-9]{12}$")  # [0-9]: \d also matches non-ASCII digits
# Standard, GovCloud, China and ISO partitions: "us-east-1", "us-gov-west-1", "cn-north-1", "us-isob-east-1".
_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]{1,2}$")
_ROLE_NAME = re.compile(r"^[\w+=,.@/-]{1,64}$", re.ASCII)


class ScopeError(InputError):
    """The collection scope is malformed (bad account id, region or option combination)."""


@dataclass(frozen=True)
class CollectionScope:
    """Which credentials, accounts and regions a collection covers.

    profile: a named profile of the AWS config files; None means the standard credential chain.
    regions: regions to collect; empty means every region enabled in each account (ec2:DescribeRegions).
    accounts: account ids to collect; the caller's own account uses the base credentials, others are entered
        by assuming `role_name`. Empty (and `org` false) means the caller's account only.
    org: collect every ACTIVE account of the caller's AWS Organization (assuming `role_name` in members).
    role_name: the role assumed in other accounts.
    session: an already built base session (used instead of `profile`; lets tests, the demo and the API run
        collection against in-process moto). Its event handlers are inherited by member-account sessions.
    home_region: region for global services (IAM, S3 listing, STS, Organizations); default the session's
        region, else us-east-1.
    max_attempts, connect_timeout, read_timeout: botocore's adaptive retry budget and socket timeouts.
    max_calls_per_service: AWS calls in flight at once per (account, service), whatever the thread pool's size.
    use_fips_endpoints: every client calls FIPS endpoints (botocore's `use_fips_endpoint`); False leaves
        botocore's own configuration (AWS_USE_FIPS_ENDPOINT, the profile) in charge.
    """

    profile: str | None = None
    regions: tuple[str, ...] = ()
    accounts: tuple[str, ...] = ()
    org: bool = False
    role_name: str = DEFAULT_ROLE_NAME
    session: boto3.Session | None = field(default=None, compare=False, repr=False)
    home_region: str | None = None
    max_attempts: int = 5
    connect_timeout: float = 5.0
    read_timeout: float = 60.0
    max_calls_per_service: int = DEFAULT_CALLS_PER_SERVICE
    use_fips_endpoints: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "regions", tuple(dict.fromkeys(self.regions)))
        object.__setattr__(self, "accounts", tuple(dict.fromkeys(self.accounts)))
        if self.org and self.accounts:
            raise ScopeError("give either --org or --account, not both: --org already covers every active account")
        for account in self.accounts:
            if not _ACCOUNT_ID.match(account):
                raise ScopeError(f"account id {account!r} is not 12 digits")
        for region in (*self.regions, *([self.home_region] if self.home_region else [])):
            if not _REGION.match(region):
                raise ScopeError(f"region {region!r} is not a region name such as us-east-1")
        if not _ROLE_NAME.match(self.role_name):
            raise ScopeError(f"role name {self.role_name!r} is not a valid IAM role name")
        if self.profile is not None and self.session is not None:
            raise ScopeError("give either a profile or a session, not both")
        if self.max_attempts < 1:
            raise ScopeError(f"max_attempts must be at least 1, got {self.max_attempts}")
        if self.connect_timeout <= 0 or self.read_timeout <= 0:
            raise ScopeError("connect and read timeouts must be positive")
        if self.max_calls_per_service < 1:
            raise ScopeError(f"max_calls_per_service must be at least 1, got {self.max_calls_per_service}")

    def describe(self) -> dict[str, Any]:
        """The scope as requested, for the run record (no credentials, no session object)."""
        return {
            "profile": self.profile,
            "regions": list(self.regions),
            "accounts": list(self.accounts),
            "org": self.org,
            "role_name": self.role_name,
            "home_region": self.home_region,
            "fips_endpoints": self.use_fips_endpoints,
        }


class OutOfScope:
    """What a collection found it must leave out, said once per run (in its statistics and summary), not as gaps:
    regions an account has not opted in to, and accounts of the Organization that are not ACTIVE. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._regions: dict[str, dict[str, str]] = {}  # region -> {account id: opt-in status}
        self._accounts: dict[str, dict[str, str | None]] = {}

    def region(self, account_id: str, region: str, opt_in_status: str) -> None:
        with self._lock:
            self._regions.setdefault(region, {})[account_id] = opt_in_status

    def account(self, account_id: str, *, name: str | None, state: str) -> None:
        with self._lock:
            self._accounts[account_id] = {"account_id": account_id, "name": name, "state": state}

    def as_dict(self) -> dict[str, Any]:
        """{"regions": [{"region", "opt_in_status", "accounts"}], "accounts": [{"account_id", "name", "state"}]}."""
        with self._lock:
            regions = [
                {
                    "region": region,
                    "opt_in_status": ", ".join(sorted(set(accounts.values()))),
                    "accounts": sorted(accounts),
                }
                for region, accounts in sorted(self._regions.items())
            ]
            accounts = [dict(entry) for _, entry in sorted(self._accounts.items())]
        return {"regions": regions, "accounts": accounts}
