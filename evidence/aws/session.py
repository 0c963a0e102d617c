"""Sessions and clients: the base credentials, member-account sessions entered with sts:AssumeRole (refreshed
before they expire, so long runs keep working), and one botocore client per (service, region) per account.

Every client uses botocore's adaptive retry mode (client-side rate limiting when AWS throttles) and explicit
connect/read timeouts, so a slow or dead endpoint becomes a gap instead of a hung run. With FIPS requested, every
client resolves botocore's FIPS endpoint; STS is always called at the regional endpoint of the region it is
created for (GovCloud and China have no global endpoint, and a regional one keeps working when the global one
does not).
"""

from __future__ import annotations

import copy
import ipaddress
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import boto3
import botocore.session
from botocore.client import BaseClient
from botocore.config import Config
from botocore.credentials import CredentialProvider, DeferredRefreshableCredentials
from botocore.exceptions import BotoCoreError, ClientError, ProfileNotFound

from evidence.aws.calls import retry_attempts
from evidence.aws.scope import CollectionScope, ScopeError

SESSION_NAME = "auditpack"
_loader_lock = threading.Lock()
_loader: Any = None  # botocore's Loader shared by every session of this process (see share_loader)
# AWS hostnames keep the account-id prefix that s3control puts in front of the endpoint.
_AWS_DOMAINS = (".amazonaws.com", ".amazonaws.com.cn", ".api.aws", ".c2s.ic.gov", ".sc2s.sgov.gov")


def client_config(scope: CollectionScope, *, pool_size: int) -> Config:
    # use_fips_endpoint only when asked: an explicit False would override AWS_USE_FIPS_ENDPOINT set by the user.
    fips: dict[str, Any] = {"use_fips_endpoint": True} if scope.use_fips_endpoints else {}
    return Config(
        retries={"mode": "adaptive", "total_max_attempts": scope.max_attempts},  # the first try included
        connect_timeout=scope.connect_timeout,
        read_timeout=scope.read_timeout,
        max_pool_connections=max(10, pool_size),
        user_agent_extra="auditpack",
        **fips,
    )


def regional_sts(session: boto3.Session | botocore.session.Session) -> None:
    """Make STS clients of `session` use the regional endpoint (botocore's `sts_regional_endpoints`), whatever
    AWS_STS_REGIONAL_ENDPOINTS or the profile say."""
    core = session._session if isinstance(session, boto3.Session) else session
    core.set_config_variable("sts_regional_endpoints", "regional")


def base_session(scope: CollectionScope) -> boto3.Session:
    """The session the caller's credentials come from: injected, a named profile, or the default chain."""
    if scope.session is not None:
        session = scope.session
    else:
        try:
            session = boto3.Session(profile_name=scope.profile) if scope.profile else boto3.Session()
        except ProfileNotFound:
            available = ", ".join(sorted(boto3.Session().available_profiles)) or "none"
            raise ScopeError(
                f"AWS profile {scope.profile!r} not found (profiles in your AWS config: {available})"
            ) from None
    regional_sts(session)
    share_loader(session)
    return session


def share_loader(session: boto3.Session) -> None:
    """Read service models through the process's one loader. A new botocore session parses endpoints.json and each
    service's model again (30-60 ms of CPU per client); a worker starting a session per shard spent most of its CPU
    there. The loader caches what it parsed and is already shared by every member-account session."""
    global _loader
    with _loader_lock:
        if _loader is None:
            _loader = session._session.get_component("data_loader")
        else:
            session._session.register_component("data_loader", _loader)


def home_region(scope: CollectionScope, session: boto3.Session) -> str:
    return scope.home_region or session.region_name or "us-east-1"


def fix_s3control_host(request: Any, **_: Any) -> None:
    """botocore puts the account id in front of the s3control host (``123456789012.s3-control...``). Against a
    local endpoint such as moto_server (``123456789012.127.0.0.1``) that name does not resolve: drop the prefix
    when the rest of the host is not an AWS domain. Registered on ``before-sign`` so the signature matches."""
    parts = urlsplit(request.url)
    host = parts.hostname or ""
    label, _, rest = host.partition(".")
    if not (label.isdigit() and len(label) == 12 and rest):
        return
    if rest.endswith(_AWS_DOMAINS):
        return
    try:
        ipaddress.ip_address(rest)
    except ValueError:
        if rest != "localhost" and "." in rest:
            return  # a real DNS name that may well have the prefix configured
    netloc = parts.netloc.replace(host, rest, 1)
    request.url = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    if "host" in request.headers:
        del request.headers["host"]


class _AssumedRoleProvider(CredentialProvider):
    METHOD = "auditpack-assume-role"
    CANONICAL_NAME = "auditpack-assume-role"

    def __init__(self, credentials: DeferredRefreshableCredentials) -> None:
        super().__init__()
        self._credentials = credentials

    def load(self) -> DeferredRefreshableCredentials:
        return self._credentials


class AccountSession:
    """Clients for one account. Client creation is serialised (botocore sessions are not thread-safe);
    the clients themselves are shared by all threads."""

    def __init__(
        self,
        account_id: str,
        *,
        config: Config,
        name: str | None = None,
        boto_session: boto3.Session | None = None,
        botocore_session: botocore.session.Session | None = None,
        via: str = "caller",
        role_arn: str | None = None,
        credentials: DeferredRefreshableCredentials | None = None,
    ) -> None:
        if (boto_session is None) == (botocore_session is None):
            raise ValueError("give exactly one of boto_session or botocore_session")
        self.account_id = account_id
        self.name = name
        self.via = via
        self.role_arn = role_arn
        self.credentials = credentials
        self._config = config
        self._boto = boto_session
        self._botocore = botocore_session
        self._clients: dict[tuple[str, str], BaseClient] = {}
        self._lock = threading.Lock()

    def client(self, service: str, region: str) -> BaseClient:
        key = (service, region)
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                if self._boto is not None:
                    client = self._boto.client(service, region_name=region, config=self._config)
                else:
                    assert self._botocore is not None
                    client = self._botocore.create_client(service, region_name=region, config=self._config)
                if service == "s3control":
                    client.meta.events.register("before-sign.s3-control", fix_s3control_host)
                self._clients[key] = client
            return client

    def release(self, region: str) -> None:
        """Forget this account's clients for `region` (its work is done); a later call makes a new one. Clients
        still held by a running call are not closed: they are freed when the last reference goes."""
        with self._lock:
            for key in [key for key in self._clients if key[1] == region]:
                del self._clients[key]

    def use_client(self, service: str, region: str, client: BaseClient) -> None:
        """Use a prepared client (e.g. one wrapped in botocore's Stubber) for (service, region)."""
        with self._lock:
            self._clients[(service, region)] = client


def assume_role_session(
    base: boto3.Session,
    *,
    account_id: str,
    role_arn: str,
    region: str,
    config: Config,
    name: str | None = None,
    profile: str | None = None,
    duration_seconds: int = 3600,
    on_call: Callable[[float, int, bool], None] | None = None,
) -> AccountSession:
    """A session in `account_id` through sts:AssumeRole, refreshed shortly before the credentials expire.

    The member session inherits the base session's event handlers (so hooks registered on the base session,
    e.g. by tests recording every call, see member-account calls too). The first AssumeRole happens on the
    first call; `check_assumed()` forces it so that a role that cannot be assumed becomes a gap up front.
    `on_call(seconds, retries, failed)` is told about every AssumeRole, for the run's statistics.
    """
    sts = base.client("sts", region_name=region, config=config)
    sts_lock = threading.Lock()

    def refresh() -> dict[str, str]:
        with sts_lock:
            started = time.monotonic()
            try:
                response = sts.assume_role(
                    RoleArn=role_arn, RoleSessionName=SESSION_NAME, DurationSeconds=duration_seconds
                )
            except (ClientError, BotoCoreError) as exc:
                if on_call is not None:
                    on_call(time.monotonic() - started, retry_attempts(exc), True)
                raise
            if on_call is not None:
                on_call(time.monotonic() - started, retry_attempts(response), False)
        credentials = response["Credentials"]
        return {
            "access_key": credentials["AccessKeyId"],
            "secret_key": credentials["SecretAccessKey"],
            "token": credentials["SessionToken"],
            "expiry_time": credentials["Expiration"].isoformat(),
        }

    refreshable = DeferredRefreshableCredentials(refresh_using=refresh, method=_AssumedRoleProvider.METHOD)
    member = botocore.session.Session(
        event_hooks=copy.copy(base.events), include_builtin_handlers=False, profile=profile
    )
    # Share the base session's loader: service models are parsed once, not once per account.
    member.register_component("data_loader", base._session.get_component("data_loader"))
    member.get_component("credential_provider").insert_before("env", _AssumedRoleProvider(refreshable))
    member.set_config_variable("region", region)
    regional_sts(member)
    return AccountSession(
        account_id,
        config=config,
        name=name,
        botocore_session=member,
        via="assume_role",
        role_arn=role_arn,
        credentials=refreshable,
    )


def check_assumed(session: AccountSession) -> None:
    """Force the first AssumeRole now (raises botocore's ClientError if the role cannot be assumed)."""
    if session.credentials is not None:
        session.credentials.get_frozen_credentials()
