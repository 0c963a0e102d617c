"""All configuration, from `AUDITPACK_*` environment variables (one class; lower packages get values as arguments).

Invalid values fail fast: `load_settings()` raises `SettingsError` naming the variable.
"""

from __future__ import annotations

import ipaddress
import re
import tempfile
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from auditpack.data_dir import DEFAULT as DEFAULT_DATA_DIR
from core.errors import InputError
from evidence.aws.defaults import DEFAULT_CALLS_PER_SERVICE, DEFAULT_ROLE_NAME
from evidence.blobstore import DEFAULT_WORKERS, S3Location
from evidence.db import PoolOptions, check_database_url

ENV_PREFIX = "AUDITPACK_"
_SCOPE_PAIR = re.compile(r"[a-z0-9][a-z0-9-]*:[A-Za-z0-9][A-Za-z0-9_.-]*")


class SettingsError(InputError):
    """A configuration variable has a value we cannot use."""


def _split_list(value: object) -> object:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", validate_default=True)

    # -- storage --------------------------------------------------------------------------------------------
    database_url: str = Field(
        default="sqlite:///auditpack.db",
        description="SQLAlchemy URL of the database: SQLite file (default, in the working directory) or "
        "postgresql+psycopg://user@host/db in production.",
    )
    db_pool_size: int = Field(
        default=PoolOptions().size, ge=1, le=500, description="Database connections kept open per process."
    )
    db_max_overflow: int = Field(
        default=PoolOptions().max_overflow, ge=0, le=500, description="Extra connections opened under load."
    )
    db_pool_timeout: float = Field(
        default=PoolOptions().timeout,
        gt=0,
        le=300,
        description="Seconds to wait for a free connection; then the API answers 503 with Retry-After.",
    )
    data_dir: Path = Field(
        default=DEFAULT_DATA_DIR,
        description="Directory for generated packets, bundles and the local signing CA (created if missing).",
    )
    blob_store: str = Field(
        default="",
        description="Where evidence payloads and packet files are kept: empty for the database and the data "
        "directory (default), or s3://bucket/prefix for write-once S3 objects locked in compliance mode. The bucket "
        "must have Object Lock enabled (checked at start-up); the database keeps the hashes and the chain.",
    )
    blob_retention_days: int | None = Field(
        default=None,
        ge=1,
        le=36500,
        description="Days each S3 object stays locked (compliance mode: nobody, root included, can delete or "
        "shorten it before then). Required with an s3:// AUDITPACK_BLOB_STORE; there is no default on purpose.",
    )
    blob_store_workers: int = Field(
        default=DEFAULT_WORKERS,
        ge=1,
        le=256,
        description="S3 requests in flight at once per process (puts while recording, prefetched reads, verify).",
    )
    blob_store_profile: str | None = Field(
        default=None,
        description="AWS profile of the identity that writes the S3 blob store (default: the standard credential "
        "chain); it needs the write policy `auditpack iam-policy --blob-store` prints, not the read-only one.",
    )
    # -- identity -------------------------------------------------------------------------------------------
    org_name: str = Field(default="", description="Organisation name printed on packets.")
    # -- collection -----------------------------------------------------------------------------------------
    concurrency: int = Field(default=8, ge=1, le=64, description="Parallel account x region x collector tasks.")
    owner_tag_keys: Annotated[list[str], NoDecode] = Field(
        default=["Owner", "owner", "Team"], description="Tag keys naming a resource's owner, comma-separated."
    )
    owners_file: Path | None = Field(
        default=None, description="YAML file mapping services or account ids to a named owner."
    )
    # -- evaluation -----------------------------------------------------------------------------------------
    catalog_dir: Path | None = Field(default=None, description="Directory of additional framework catalogs.")
    freshness_hours: int = Field(
        default=48, ge=1, le=87600, description="Evidence older than this is stale (at most 87600: ten years)."
    )
    period_captures: Literal["all", "daily"] = Field(
        default="all",
        description="Which runs of a period a period packet and `status --from/--to` evaluate: every complete or "
        "partial run (all), or the last of each UTC day (daily).",
    )
    status_cache_seconds: float = Field(
        default=60.0,
        ge=0,
        le=3600,
        description="How long the API serves a framework status it computed before computing it again (0: every "
        "request); a new run or re-evaluated findings are never served from an older entry.",
    )
    # -- signing --------------------------------------------------------------------------------------------
    signing_key: Path | None = Field(default=None, description="PEM private key or PKCS#12 file of the signer.")
    signing_cert: Path | None = Field(default=None, description="PEM certificate of the signer (with a PEM key).")
    signing_chain: Path | None = Field(default=None, description="PEM file of intermediate/root certificates.")
    signing_key_password: SecretStr | None = Field(default=None, description="Password of the key or PKCS#12.")
    signing_kms_key_id: str | None = Field(default=None, description="AWS KMS asymmetric key id or ARN to sign with.")
    signing_kms_cert: Path | None = Field(default=None, description="PEM certificate (chain) of the KMS key.")
    tsa_url: str | None = Field(default=None, description="RFC 3161 time-stamping authority URL (PAdES B-T).")
    # -- service --------------------------------------------------------------------------------------------
    schedule: str = Field(
        default="0 2 * * *", description="Cron expression (UTC) of the nightly capture; empty disables."
    )
    schedule_grace_minutes: int = Field(
        default=360, ge=0, description="Run a missed firing at start-up if this recent."
    )
    # -- frameworks -----------------------------------------------------------------------------------------
    scopes: Annotated[list[str], NoDecode] = Field(
        default=[],
        description="Optional framework scopes to evaluate, comma-separated FRAMEWORK:SCOPE pairs, e.g. "
        "soc2:availability,soc2:confidentiality,pci-dss:A1. A framework listed here is evaluated with exactly "
        "these scopes (plus any that are always in scope, such as SOC 2 security); a framework not listed uses "
        "its catalog's defaults (SOC 2: security only; PCI DSS: appendices A1 and A3 off).",
    )
    # -- API service (`auditpack serve`) ------------------------------------------------------------------------
    api_max_body_bytes: int = Field(
        default=65536, ge=1024, le=16 * 1024 * 1024, description="Largest accepted request body; larger gets 413."
    )
    api_auth_failure_limit: int = Field(
        default=10,
        ge=0,
        description="Failed authentications from one client address within the window before it gets 429 (0 disables).",
    )
    api_auth_failure_window_seconds: int = Field(
        default=300, ge=1, description="The window of AUDITPACK_API_AUTH_FAILURE_LIMIT, in seconds."
    )
    api_job_threads: int = Field(
        default=2, ge=1, le=16, description="Background jobs (collections, packet builds) run at once per replica."
    )
    packet_process: bool = Field(
        default=True,
        description="`auditpack serve` and `auditpack worker`: build each packet in a spawned child process whose "
        "main thread runs the packet's stages in parallel, as `auditpack packet` does (about 1-2 s to start it); "
        "off builds on the job's thread, every stage in one process.",
    )
    job_heartbeat_seconds: float = Field(
        default=15.0,
        gt=0,
        le=30,  # a worker elsewhere is taken over after two minutes without a beat: four beats at least
        description="`auditpack worker`: how often a worker marks its jobs alive and takes over the jobs and runs of "
        "workers that died (a dead process on its host at once, a silent one elsewhere after two minutes).",
    )
    job_max_attempts: int = Field(
        default=3,
        ge=1,
        le=20,
        description="`auditpack worker`: runs of a job whose worker died before it is left interrupted (1: never "
        "run again automatically); each attempt is a new run, the dead attempt's run ends interrupted.",
    )
    job_sweep_seconds: int = Field(
        default=300,
        ge=1,
        le=3600,
        description="`auditpack worker`: how often queued jobs not yet handed to the workers (e.g. taken over "
        "from a dead worker) are handed over.",
    )
    collect_shards: bool = Field(
        default=False,
        description="`auditpack worker`: run each collection as shards spread over the workers (one per account "
        "and one per (account, region), one account collected by one run at a time); off: one worker collects it.",
    )
    job_queue: Literal["auto", "procrastinate", "in-process"] = Field(
        default="auto",
        description="Where background jobs and the nightly capture run: `auto` is procrastinate with PostgreSQL "
        "(`auditpack worker` processes run them; the API only queues) and in-process with SQLite; `in-process` "
        "keeps them in `auditpack serve` on PostgreSQL too (one replica).",
    )
    api_forwarded_allow_ips: str = Field(
        default="127.0.0.1",
        description="Proxies trusted to set X-Forwarded-For/-Proto (comma-separated IPs, or * behind a private "
        "load balancer); the client address they report is what the access log and rate limit use.",
    )
    api_docs: bool = Field(default=True, description="Serve interactive API docs at /docs and /redoc.")
    ui_plain_http: bool = Field(
        default=False,
        description="The web interface's session cookie without the Secure flag, for plain HTTP on a loopback "
        "address only (ignored on any other address); `auditpack serve --plain-http` sets it.",
    )
    ui_warm_statuses: bool = Field(
        default=True,
        description="Evaluate every framework's status in the background when `auditpack serve` starts, so the "
        "first dashboard does not wait for it (seconds of CPU per framework on a million findings).",
    )
    cursor_secret: SecretStr | None = Field(
        default=None,
        min_length=32,
        description="Secret (at least 32 characters) that signs pagination cursors; every replica needs the same "
        "one. Unset: a random secret is generated once into AUDITPACK_DATA_DIR/cursor-secret and shared through "
        "the data directory. Changing it only invalidates outstanding cursors.",
    )
    api_max_concurrent_requests: int = Field(
        default=16,
        ge=0,
        le=10_000,
        description="Requests handled at once per process; more wait up to AUDITPACK_API_QUEUE_TIMEOUT (0: no limit).",
    )
    api_queue_timeout: float = Field(
        default=5.0,
        ge=0,
        le=300,
        description="Seconds a request may wait for one of those places before it gets 503 with Retry-After.",
    )

    # -- capture notifications (docs/drift.md) -------------------------------------------------------------------
    webhook_secret: SecretStr | None = Field(
        default=None,
        min_length=16,
        description="Secret (at least 16 characters) that signs every notification (HMAC-SHA256 over the body, in "
        "X-Auditpack-Signature), for the webhooks AUDITPACK_WEBHOOK_SECRETS_FILE gives no secret of their own.",
    )
    webhook_secrets_file: Path | None = Field(
        default=None,
        description="YAML file mapping webhook URLs to their own secrets (at least 16 characters each), so that "
        "receivers do not share one.",
    )
    webhooks: Annotated[list[str], NoDecode] = Field(
        default=[],
        description="Webhook URLs, comma-separated, that receive a signed JSON summary after every capture (nightly "
        "or on demand): https, or http to this machine only (localhost, 127.0.0.1, ::1).",
    )
    webhook_timeout: float = Field(default=10.0, gt=0, le=120, description="Seconds to wait for a webhook's answer.")
    webhook_attempts: int = Field(
        default=4, ge=1, le=10, description="Attempts per notification (timeouts, 408, 429 and 5xx are retried)."
    )
    webhook_expiring_days: int = Field(
        default=14,
        ge=1,
        le=365,
        description="Notifications list evidence and exceptions expiring within this many days.",
    )
    # -- collection scope and AWS clients ------------------------------------------------------------------
    aws_profile: str | None = Field(
        default=None, description="AWS profile to collect with (default: the standard credential chain)."
    )
    regions: Annotated[list[str], NoDecode] = Field(
        default=[], description="Regions to collect, comma-separated (default: every region enabled in each account)."
    )
    accounts: Annotated[list[str], NoDecode] = Field(
        default=[], description="Account ids to collect, comma-separated (default: the caller's account)."
    )
    org: bool = Field(default=False, description="Collect every ACTIVE account of the AWS Organization.")
    role_name: str = Field(
        default=DEFAULT_ROLE_NAME, description="Role assumed in member accounts (--org / --account)."
    )
    aws_max_attempts: int = Field(
        default=5, ge=1, le=20, description="botocore adaptive-retry attempts per call before it becomes a gap."
    )
    aws_connect_timeout: float = Field(default=5.0, gt=0, description="Seconds to wait for a connection to AWS.")
    aws_read_timeout: float = Field(default=60.0, gt=0, description="Seconds to wait for an AWS answer.")
    max_calls_per_service: int = Field(
        default=DEFAULT_CALLS_PER_SERVICE,
        ge=1,
        le=64,
        description="AWS calls in flight at once per account and service (e.g. 111111111111 and ec2): how hard one "
        "account's API rate limits are pressed, whatever AUDITPACK_CONCURRENCY is.",
    )
    use_fips_endpoints: bool = Field(
        default=False,
        description="Call AWS through FIPS 140 endpoints (botocore's use_fips_endpoint) on every client; a service "
        "without a FIPS endpoint in a region becomes a gap there. false leaves botocore's own setting "
        "(AWS_USE_FIPS_ENDPOINT, the profile) in charge.",
    )
    change_lookups: bool = Field(
        default=True,
        description="After collecting, look up in CloudTrail (cloudtrail:LookupEvents) who changed each resource "
        "added, removed or changed since the previous run, and record it as evidence of the run (docs/drift.md).",
    )
    change_lookup_limit: int = Field(
        default=500,
        ge=0,
        le=100_000,
        description="Resources looked up per run at most (CloudTrail answers two lookups a second per account and "
        "region); the rest are counted in the run's statistics as not looked up.",
    )
    # -- check thresholds -------------------------------------------------------------------------------------
    password_min_length: int = Field(default=14, ge=1, description="iam.password_policy_strong: minimum length.")
    password_reuse_prevention: int = Field(
        default=24, ge=0, description="iam.password_policy_strong: passwords remembered to prevent reuse."
    )
    password_max_age_days: int = Field(default=90, ge=1, description="iam.password_policy_strong: maximum age.")
    access_key_max_age_days: int = Field(default=90, ge=1, description="iam.access_keys_rotated: maximum key age.")
    credential_unused_days: int = Field(
        default=90, ge=1, description="iam.unused_credentials_disabled: days unused before a credential fails."
    )
    log_retention_min_days: int = Field(
        default=365, ge=1, description="logs.retention_at_least_one_year: minimum retention."
    )
    rds_backup_retention_min_days: int = Field(
        default=7, ge=1, description="rds.backup_retention: minimum automated backup retention."
    )
    certificate_min_days_valid: int = Field(
        default=30, ge=0, description="acm.certificate_not_expiring: days an in-use certificate must still be valid."
    )
    inspector_critical_max_open_days: int = Field(
        default=30,
        ge=0,
        description="inspector2.no_stale_critical_findings: days a critical Inspector finding may stay open.",
    )
    threat_finding_max_untriaged_days: int = Field(
        default=7,
        ge=0,
        description="securityhub.threat_findings_triaged: days a high or critical threat finding may wait for triage.",
    )
    human_session_max_hours: int = Field(
        default=4,
        ge=1,
        le=12,
        description="iam.human_session_duration_bounded: the longest session a role people assume may grant, in hours.",
    )
    classification_tag_keys: Annotated[list[str], NoDecode] = Field(
        default=["DataClassification", "data-classification", "Classification"],
        min_length=1,
        description="tagging.data_classification: tag keys recording a data store's classification, comma-separated.",
    )
    unrestricted_classifications: Annotated[list[str], NoDecode] = Field(
        default=["public", "internal"],
        description="s3.access_logging_on_classified, s3.cmk_on_classified, dynamodb.cmk_on_classified: "
        "classification values (case-insensitive, comma-separated; empty: none) that need neither server access "
        "logging nor a customer-managed key.",
    )
    ephi_accounts: Annotated[list[str], NoDecode] = Field(
        default=[],
        description="artifact.hipaa_baa_accepted: account ids that hold ePHI whatever their tags say, comma-separated.",
    )
    ephi_classifications: Annotated[list[str], NoDecode] = Field(
        default=["ephi", "phi"],
        min_length=1,
        description="artifact.hipaa_baa_accepted: classification tag values (any case) marking a data store as "
        "holding ePHI, comma-separated.",
    )
    # -- customer evidence and exceptions -------------------------------------------------------------------
    evidence_validity_days_document: int = Field(
        default=365, ge=1, description="Default validity of a submitted document when no --valid-until is given."
    )
    evidence_validity_days_attestation: int = Field(
        default=365, ge=1, description="Default validity of an attestation when no --valid-until is given."
    )
    evidence_validity_days_record: int = Field(
        default=90,
        ge=1,
        description="Default validity of a record (a captured export reflects one moment, e.g. a quarterly review).",
    )
    evidence_max_bytes: int = Field(
        default=100 * 1024 * 1024, ge=1024, description="Largest customer evidence file accepted, in bytes."
    )
    exception_max_days: int = Field(
        default=365, ge=1, le=3650, description="How far ahead an exception (risk acceptance) may expire at most."
    )
    actor: str | None = Field(
        default=None,
        description="Who the CLI acts as when submitting or reviewing evidence (--as overrides; default: the OS user "
        "and host). Asserted, not authenticated: the API authenticates with tokens.",
    )
    # -- verification ---------------------------------------------------------------------------------------
    trust_roots: Annotated[list[Path], NoDecode] = Field(
        default=[],
        description="PEM/DER CA certificate files, comma-separated, that the API's packet verification trusts "
        "(the local CA in AUDITPACK_DATA_DIR is trusted too, when one was generated).",
    )

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        try:
            return check_database_url(value)
        except InputError as exc:
            raise ValueError(exc.message) from None

    @field_validator(
        "owner_tag_keys",
        "regions",
        "accounts",
        "classification_tag_keys",
        "unrestricted_classifications",
        "ephi_accounts",
        "ephi_classifications",
        "trust_roots",
        mode="before",
    )
    @classmethod
    def _tag_keys(cls, value: object) -> object:
        return _split_list(value)

    @field_validator("webhooks", mode="before")
    @classmethod
    def _webhook_list(cls, value: object) -> object:
        return _split_list(value)

    @field_validator("webhooks")
    @classmethod
    def _webhook_urls(cls, value: list[str], info: ValidationInfo) -> list[str]:
        for url in value:
            _check_webhook_url(url)
        own = _webhook_secrets(info.data.get("webhook_secrets_file"))
        if value and info.data.get("webhook_secret") is None:
            missing = [_shown(url) for url in value if url not in own]
            if missing:
                raise ValueError(
                    f"no secret to sign notifications to {', '.join(missing)}: set AUDITPACK_WEBHOOK_SECRET, or give "
                    "each its own in AUDITPACK_WEBHOOK_SECRETS_FILE"
                )
        return value

    @field_validator("scopes", mode="before")
    @classmethod
    def _scope_list(cls, value: object) -> object:
        return _split_list(value)

    @field_validator("scopes")
    @classmethod
    def _scope_pairs(cls, value: list[str]) -> list[str]:
        bad = [item for item in value if not _SCOPE_PAIR.fullmatch(item)]
        if bad:
            raise ValueError(
                f"{', '.join(repr(item) for item in bad)}: expected FRAMEWORK:SCOPE pairs such as soc2:availability"
            )
        return value

    @field_validator("ephi_accounts")
    @classmethod
    def _account_ids(cls, value: list[str]) -> list[str]:
        bad = [item for item in value if not (item.isdigit() and len(item) == 12)]
        if bad:
            raise ValueError(f"{', '.join(repr(item) for item in bad)}: expected 12-digit AWS account ids")
        return value

    def scopes_for(self, framework_id: str) -> list[str] | None:
        """The scopes configured for `framework_id`, or None when it is not listed (use catalog defaults)."""
        chosen = [
            scope for framework, _, scope in (item.partition(":") for item in self.scopes) if framework == framework_id
        ]
        return chosen or None

    @field_validator("blob_store")
    @classmethod
    def _blob_store_url(cls, value: str) -> str:
        value = value.strip()
        if value:
            try:
                S3Location.parse(value)
            except InputError as exc:
                raise ValueError(exc.message) from None
        return value

    @field_validator("blob_retention_days")
    @classmethod
    def _retention_with_s3(cls, value: int | None, info: ValidationInfo) -> int | None:
        if info.data.get("blob_store") and value is None:
            raise ValueError("required with an s3:// AUDITPACK_BLOB_STORE: how many days each object stays locked")
        return value

    @field_validator("data_dir")
    @classmethod
    def _writable_dir(cls, value: Path) -> Path:
        try:
            value.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=value, prefix=".write-test-"):
                pass
        except OSError as exc:
            raise ValueError(f"{value} is not a writable directory ({exc.strerror or exc})") from None
        return value.resolve()

    @field_validator("owners_file", "signing_key", "signing_cert", "signing_chain", "signing_kms_cert")
    @classmethod
    def _existing_file(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"{value} is not a readable file")
        return value

    @field_validator("trust_roots")
    @classmethod
    def _existing_files(cls, value: list[Path]) -> list[Path]:
        missing = [str(path) for path in value if not path.is_file()]
        if missing:
            raise ValueError(f"{', '.join(missing)}: not a readable file; expected PEM or DER CA certificates")
        return value

    @field_validator("catalog_dir")
    @classmethod
    def _existing_dir(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_dir():
            raise ValueError(f"{value} is not a directory")
        return value

    def webhook_targets(self) -> list[tuple[str, bytes]]:
        """Every webhook with the secret its notifications are signed with."""
        own = _webhook_secrets(self.webhook_secrets_file)
        shared = self.webhook_secret.get_secret_value() if self.webhook_secret else None
        return [(url, (own.get(url) or shared or "").encode("utf-8")) for url in self.webhooks]

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def uses_procrastinate(self) -> bool:
        """Whether jobs run on procrastinate workers (PostgreSQL) rather than inside `auditpack serve`."""
        if self.job_queue == "auto":
            return not self.is_sqlite
        if self.job_queue == "procrastinate" and self.is_sqlite:
            raise InputError(
                "AUDITPACK_JOB_QUEUE=procrastinate needs PostgreSQL",
                hint="with SQLite, jobs run inside `auditpack serve` (AUDITPACK_JOB_QUEUE=auto)",
            )
        return self.job_queue == "procrastinate"

    def pool(self) -> PoolOptions:
        return PoolOptions(size=self.db_pool_size, max_overflow=self.db_max_overflow, timeout=self.db_pool_timeout)


def _shown(url: str) -> str:
    """A webhook URL as messages may show it: scheme and host (chat tools put their token in the path)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or '?'}{'/…' if parts.path not in ('', '/') else ''}"


def _check_webhook_url(url: str) -> None:
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme not in ("https", "http") or not host:
        raise ValueError(f"{_shown(url)} is not an http(s) URL")
    if parts.scheme == "http":
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = host == "localhost"
        if not loopback:
            raise ValueError(f"{_shown(url)}: use https (plain http is accepted for this machine only)")


def _webhook_secrets(path: object) -> dict[str, str]:
    """URL -> secret from AUDITPACK_WEBHOOK_SECRETS_FILE (empty when unset)."""
    if path is None:
        return {}
    try:
        data = yaml.safe_load(Path(str(path)).read_text("utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"AUDITPACK_WEBHOOK_SECRETS_FILE {path}: cannot read it ({exc})") from None
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        raise ValueError(f"AUDITPACK_WEBHOOK_SECRETS_FILE {path}: expected a mapping of webhook URL to secret")
    short = [_shown(url) for url, secret in data.items() if len(secret) < 16]
    if short:
        raise ValueError(
            f"AUDITPACK_WEBHOOK_SECRETS_FILE {path}: secrets of at least 16 characters ({', '.join(short)})"
        )
    return data


def env_name(field: str) -> str:
    return f"{ENV_PREFIX}{field.upper()}"


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment; raise `SettingsError` with one line per bad variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else "?"
            message = str(error["msg"]).removeprefix("Value error, ")
            lines.append(f"{env_name(field)}: {message}")
        raise SettingsError("; ".join(lines)) from None
