"""The demo estate as data: `estate.yaml` read into typed, validated models (a typo in the file is an error naming
the field, never a resource that silently is not built)."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

CANARY_PLACEHOLDER = "${canary}"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Ingress(_Model):
    port: int
    cidr: str = "0.0.0.0/0"
    protocol: str = "tcp"


class SecurityGroup(_Model):
    name: str
    description: str
    ingress: tuple[Ingress, ...] = ()
    owner: str | None = None


class Instance(_Model):
    name: str
    security_group: str
    count: int = Field(default=1, ge=1)
    type: str = "t3.micro"
    imdsv2: bool = True  # the metadata service requires session tokens
    owner: str | None = None
    tags: dict[str, str] = {}


class Database(_Model):
    id: str
    engine: Literal["postgres", "mysql"]
    security_group: str
    storage_encrypted: bool = True
    kms_key: str | None = None  # alias of a key of the same region
    public: bool = False
    backup_retention_days: int = 7
    auto_minor_version_upgrade: bool = True
    multi_az: bool = True
    deletion_protection: bool = True
    max_storage_gb: int | None = 500  # storage autoscaling up to this; None: off
    tls_required: bool = True  # a parameter group that refuses unencrypted connections
    owner: str | None = None
    classification: str | None = None


class LoadBalancer(_Model):
    """An Application Load Balancer: HTTPS with a TLS 1.2+ policy and an imported certificate, HTTP redirected."""

    name: str
    security_group: str
    domain: str
    certificate_days: int  # days the certificate is still valid
    internal: bool = False
    tls_policy: str = "ELBSecurityPolicy-TLS13-1-2-2021-06"
    waf: bool = False  # a WAF web ACL in front of it
    owner: str | None = None


class Vpc(_Model):
    name: str
    cidr: str
    flow_logs_to: str | None = None  # the bucket VPC flow logs are delivered to; None: no flow logs
    owner: str | None = None
    security_groups: tuple[SecurityGroup, ...] = ()
    instances: tuple[Instance, ...] = ()
    databases: tuple[Database, ...] = ()
    load_balancers: tuple[LoadBalancer, ...] = ()


class Key(_Model):
    alias: str
    description: str
    rotation: bool
    owner: str | None = None


class Trail(_Model):
    name: str
    bucket: str
    kms_key: str | None = None  # alias of a key of the trail's region
    multi_region: bool = True
    log_validation: bool = True
    logging: bool = True
    s3_data_events: bool = True
    log_group: str | None = None  # the CloudWatch Logs group it delivers to (created in `log_groups`)
    alarms: bool = True  # the estate's security alarms on that log group


class Function(_Model):
    name: str
    runtime: str
    owner: str | None = None
    environment: dict[str, str] = {}


class LogGroup(_Model):
    name: str
    retention_days: int | None = None  # None: never expire
    owner: str | None = None


class Table(_Model):
    name: str
    point_in_time_recovery: bool = True
    classification: str | None = None


class BackupPlan(_Model):
    name: str
    schedule: str
    retention_days: int


class Region(_Model):
    ebs_encryption_by_default: bool = True
    config_recorder: bool = True
    guardduty: Literal["enabled", "disabled", "absent"] = "enabled"
    guardduty_protection: bool = True  # malware protection for EC2 and runtime monitoring
    security_hub: bool = True
    macie: bool = True
    keep_default_vpc: bool = False  # landing zones delete the default VPCs
    keys: tuple[Key, ...] = ()
    trails: tuple[Trail, ...] = ()
    vpcs: tuple[Vpc, ...] = ()
    functions: tuple[Function, ...] = ()
    log_groups: tuple[LogGroup, ...] = ()
    dynamodb_tables: tuple[Table, ...] = ()
    ecs_clusters: tuple[str, ...] = ()
    eks_clusters: tuple[str, ...] = ()
    backup_plans: tuple[BackupPlan, ...] = ()


class AccessKey(_Model):
    age_days: int = Field(ge=0)
    last_used_days: int | None = Field(default=None, ge=0)  # None: never used


class User(_Model):
    name: str
    owner: str | None = None
    console: bool = False
    mfa: bool = False
    password_last_used_days: int | None = Field(default=None, ge=0)
    access_keys: tuple[AccessKey, ...] = Field(default=(), max_length=2)
    policies: tuple[str, ...] = ()


class Policy(_Model):
    name: str
    document: dict[str, Any]


class Role(_Model):
    name: str
    service: str  # the AWS service trusted to assume it
    policies: tuple[str, ...] = ()


class Root(_Model):
    mfa: bool
    access_keys: bool


class SecurityContact(_Model):
    """The account's security alternate contact (whom AWS tells about abuse and compromise)."""

    name: str
    title: str
    email: str
    phone: str


class Bucket(_Model):
    name: str
    region: str
    encryption: Literal["aws:kms", "AES256"]
    tls_only: bool = True
    block_public_access: bool = True
    public_read: bool = False
    versioning: bool = True
    owner: str | None = None
    classification: str | None = None


class Account(_Model):
    key: str
    name: str
    email: str
    root: Root
    password_policy: dict[str, Any] | None = None
    security_contact: SecurityContact | None = None
    policies: tuple[Policy, ...] = ()
    roles: tuple[Role, ...] = ()
    users: tuple[User, ...] = ()
    block_public_access: bool = True
    buckets: tuple[Bucket, ...] = ()
    regions: dict[str, Region] = {}


class Owners(_Model):
    services: dict[str, str] = {}  # evidence service (iam, cloudtrail, ...) -> owner, for resources without tags


class EstateSpec(_Model):
    organization: str
    canary: str = Field(min_length=16)
    seed: int
    home_region: str
    regions: tuple[str, ...]
    config_bucket: str  # where every account's AWS Config recorders deliver
    owners: Owners = Owners()
    security_alarms: dict[str, str] = {}  # alarm name -> CloudWatch Logs metric filter pattern
    password_policies: dict[str, dict[str, Any]] = {}  # YAML anchors for the accounts
    policy_documents: dict[str, dict[str, Any]] = {}  # YAML anchors for the policies
    accounts: tuple[Account, ...]

    def account(self, key: str) -> Account:
        return next(account for account in self.accounts if account.key == key)


def _substitute(value: Any, canary: str) -> Any:
    if isinstance(value, str):
        return value.replace(CANARY_PLACEHOLDER, canary)
    if isinstance(value, list):
        return [_substitute(item, canary) for item in value]
    if isinstance(value, dict):
        return {key: _substitute(item, canary) for key, item in value.items()}
    return value


def parse_estate(text: str) -> EstateSpec:
    raw = yaml.safe_load(text)
    return EstateSpec.model_validate(_substitute(raw, str(raw.get("canary", ""))))


@cache
def load_estate() -> EstateSpec:
    """The packaged demo estate (auditpack/demo/estate.yaml)."""
    return parse_estate(resources.files("auditpack.demo").joinpath("estate.yaml").read_text("utf-8"))
