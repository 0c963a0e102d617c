"""The s3.* checks: default encryption, TLS-only bucket policies, public access blocks, versioning; what
classified buckets must have (server access logging, a customer-managed key); and how long buckets that receive
logs keep them (metadata in s3.yaml)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from evidence.checks._classification import restricted
from evidence.checks._keys import ALIASES, KEY, key_owner
from evidence.checks._policies import denies_insecure_transport
from evidence.checks.types import Finding
from evidence.checks.unit import Check, Unavailable, custom, each
from evidence.checks.verdicts import gap_error, setting_id
from evidence.checks.view import GLOBAL
from evidence.store import EvidenceRecord

BUCKET = "s3.bucket"
ENCRYPTION, POLICY, VERSIONING = "s3.bucket_encryption", "s3.bucket_policy", "s3.bucket_versioning"
BUCKET_BLOCK, ACCOUNT_BLOCK = "s3.bucket_public_access_block", "s3.account_public_access_block"
ENCRYPTION_ALGORITHMS = ("AES256", "aws:kms", "aws:kms:dsse")
BLOCK_FIELDS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
LOGGING, LIFECYCLE = "s3.bucket_logging", "s3.bucket_lifecycle"
TRAIL, LB, LB_ATTRIBUTES, FLOW_LOGS = (
    "cloudtrail.trail",
    "elbv2.load_balancer",
    "elbv2.load_balancer_attributes",
    "ec2.flow_logs",
)


def buckets(*, reads: tuple[str, ...]) -> Any:
    """A check judging every bucket (buckets are listed once per account, so not regionally)."""
    return each(BUCKET, resource_type="bucket", what="bucket details", regional=False, reads=reads)


@buckets(reads=(ENCRYPTION,))
def default_encryption(c: Check, bucket: EvidenceRecord) -> Finding:
    record = c.need(ENCRYPTION, base=bucket, resource_type="bucket", what="bucket encryption configuration")
    rules = record.payload.get("ServerSideEncryptionConfiguration", {}).get("Rules", [])
    algorithms = [r.get("ApplyServerSideEncryptionByDefault", {}).get("SSEAlgorithm") for r in rules]
    good = [a for a in algorithms if a in ENCRYPTION_ALGORITHMS]
    if good:
        return c.passed(bucket, f"default encryption {good[0]}", also=[record])
    return c.failed(bucket, "the bucket has no default encryption configuration", also=[record])


@buckets(reads=(POLICY,))
def secure_transport_required(c: Check, bucket: EvidenceRecord) -> Finding:
    record = c.need(POLICY, base=bucket, resource_type="bucket", what="bucket policy")
    if "NotFound" in record.payload:
        return c.failed(bucket, "the bucket has no policy, so plain-HTTP requests are allowed", also=[record])
    if isinstance(record.payload.get("Policy"), dict) and denies_insecure_transport(record.payload["Policy"]):
        return c.passed(bucket, "the bucket policy denies requests without TLS", also=[record])
    return c.failed(
        bucket, "the bucket policy does not deny requests where aws:SecureTransport is false", also=[record]
    )


def _blocks_all(record: EvidenceRecord | None) -> bool:
    config = (record.payload.get("PublicAccessBlockConfiguration") if record else None) or {}
    return all(config.get(field) is True for field in BLOCK_FIELDS)


@buckets(reads=(BUCKET_BLOCK, ACCOUNT_BLOCK))
def public_access_blocked(c: Check, bucket: EvidenceRecord) -> Finding:
    account_block = setting_id(bucket.account_id, GLOBAL, "s3-account-public-access-block")
    account = c.view.one(ACCOUNT_BLOCK, bucket.account_id, account_block)
    if _blocks_all(account):
        return c.passed(bucket, "all four public access block settings are on for the account", also=[account])
    own = c.need(BUCKET_BLOCK, base=bucket, resource_type="bucket", what="bucket public access block")
    if _blocks_all(own):
        return c.passed(bucket, "all four public access block settings are on for the bucket", also=[own, account])
    # The bucket does not block everything: the account level decides, and its absence is this bucket's error.
    account = c.need(
        ACCOUNT_BLOCK, base=bucket, resource_type="bucket", key=account_block, what="account public access block"
    )
    return c.failed(
        bucket, "public access is not fully blocked at the bucket or the account level", also=[own, account]
    )


@buckets(reads=(VERSIONING,))
def versioning_enabled(c: Check, bucket: EvidenceRecord) -> Finding:
    record = c.need(VERSIONING, base=bucket, resource_type="bucket", what="bucket versioning state")
    status = record.payload.get("Status")
    if status == "Enabled":
        mfa = " with MFA delete" if record.payload.get("MFADelete") == "Enabled" else ""
        return c.passed(bucket, f"versioning is enabled{mfa}", also=[record])
    state = f"is {status.lower()}" if status else "was never enabled"
    return c.failed(bucket, f"versioning {state}", also=[record])


# -- classified buckets -------------------------------------------------------------------------------------------


def _restricted(c: Check, bucket: EvidenceRecord) -> str | Finding:
    """The bucket's restricted classification, or the not_applicable finding saying why it has none. Unavailable
    when its tags were not read (the tagging read failed: a gap, never "unclassified")."""
    tags = bucket.payload.get("Tags")
    if tags is None:
        gaps = c.view.gaps(BUCKET, account_id=bucket.account_id, resource_id=bucket.resource_id)
        if gaps:
            raise Unavailable(
                gap_error(
                    c.id,
                    gaps[0],
                    resource_id=bucket.resource_id,
                    resource_type="bucket",
                    region=bucket.region,
                    owner=bucket.owner,
                    evidence=[bucket],
                )
            )
        raise Unavailable(c.error(bucket, "cannot decide: the bucket's tags were not read"))
    label, why = restricted(tags, c.thresholds)
    return label if label is not None else c.not_applicable(bucket, why)


@buckets(reads=(LOGGING,))
def access_logging_on_classified(c: Check, bucket: EvidenceRecord) -> Finding:
    label = _restricted(c, bucket)
    if isinstance(label, Finding):
        return label
    logging = c.need(LOGGING, base=bucket, what="bucket logging configuration")
    target = logging.payload.get("LoggingEnabled") or {}
    if target.get("TargetBucket"):
        where = f"{target['TargetBucket']}/{target.get('TargetPrefix') or ''}"
        return c.passed(bucket, f"classified {label}: server access logs go to {where}", also=[logging])
    return c.failed(bucket, f"classified {label}: server access logging is off", also=[logging])


def _default_encryption(payload: dict[str, Any]) -> dict[str, Any]:
    rules = (payload.get("ServerSideEncryptionConfiguration") or {}).get("Rules") or []
    return next(
        (r["ApplyServerSideEncryptionByDefault"] for r in rules if r.get("ApplyServerSideEncryptionByDefault")), {}
    )


@buckets(reads=(ENCRYPTION, KEY, ALIASES))
def cmk_on_classified(c: Check, bucket: EvidenceRecord) -> Finding:
    label = _restricted(c, bucket)
    if isinstance(label, Finding):
        return label
    encryption = c.need(ENCRYPTION, base=bucket, what="bucket encryption configuration")
    default = _default_encryption(encryption.payload)
    algorithm, key = default.get("SSEAlgorithm"), default.get("KMSMasterKeyID")
    also: list[EvidenceRecord] = [encryption]
    if algorithm not in ("aws:kms", "aws:kms:dsse"):
        keys = "SSE-S3: keys S3 manages" if algorithm == "AES256" else "no default encryption configured"
        return c.failed(bucket, f"classified {label}: {keys}, no customer-managed KMS key", also=also)
    if not key:
        return c.failed(bucket, f"classified {label}: {algorithm} with the AWS managed key aws/s3", also=also)
    owner = key_owner(c, bucket, key, region=bucket.region)
    also += owner.evidence
    if owner.customer:
        return c.passed(bucket, f"classified {label}: {algorithm} with {owner.describe}", also=also)
    return c.failed(bucket, f"classified {label}: {algorithm} with {owner.describe}", also=also)


# -- buckets that receive logs --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LogSource:
    """Something that writes logs into a bucket, and the key prefix it writes under."""

    account_id: str
    bucket: str
    prefix: str
    what: str
    record: EvidenceRecord


def _under(prefix: str | None, suffix: str) -> str:
    """AWS services write under `<prefix>/AWSLogs/...`, or `AWSLogs/...` without a prefix."""
    prefix = (prefix or "").strip("/")
    return f"{prefix}/{suffix}" if prefix else suffix


def _sources(c: Check) -> Iterator[LogSource]:
    """Every log source the account's evidence names: CloudTrail trails, server access logging, load balancer
    access logs, VPC flow logs to S3. Sources whose evidence is missing become errors (c.records / c.item)."""
    for trail in c.records(TRAIL, resource_type="trail", what="trail details"):
        if trail.payload.get("S3BucketName"):
            prefix = _under(trail.payload.get("S3KeyPrefix"), "AWSLogs/")
            name = trail.payload.get("Name") or trail.resource_id
            yield LogSource(trail.account_id, trail.payload["S3BucketName"], prefix, f"CloudTrail trail {name}", trail)
    for bucket in c.records(BUCKET, resource_type="bucket", what="bucket details", regional=False):
        with c.item():
            logging = c.need(LOGGING, base=bucket, what="bucket logging configuration")
            target = logging.payload.get("LoggingEnabled") or {}
            if target.get("TargetBucket"):
                name = bucket.resource_id.rsplit(":", 1)[-1]
                what = f"server access logs of {name}"
                yield LogSource(
                    bucket.account_id, target["TargetBucket"], target.get("TargetPrefix") or "", what, logging
                )
    for lb in c.records(LB, resource_type="load-balancer", what="load balancer details"):
        with c.item():
            attributes = c.need(LB_ATTRIBUTES, base=lb, what="load balancer attributes")
            values = {a.get("Key"): a.get("Value") for a in attributes.payload.get("Attributes") or []}
            if values.get("access_logs.s3.enabled") == "true" and values.get("access_logs.s3.bucket"):
                prefix = _under(values.get("access_logs.s3.prefix"), "AWSLogs/")
                what = f"access logs of load balancer {lb.payload.get('LoadBalancerName') or lb.resource_id}"
                yield LogSource(lb.account_id, values["access_logs.s3.bucket"], prefix, what, attributes)
    for account_id, region in c.view.targets():
        with c.item():
            flow_logs = c.setting(
                FLOW_LOGS,
                account_id,
                region,
                resource_id=setting_id(account_id, region, "vpc-flow-logs"),
                resource_type="flow-logs",
                what="flow log list",
            )
            for flow in flow_logs.payload.get("FlowLogs") or []:
                destination = str(flow.get("LogDestination") or "")
                if flow.get("LogDestinationType") == "s3" and destination.startswith("arn:aws:s3:::"):
                    name, _, path = destination.removeprefix("arn:aws:s3:::").partition("/")
                    what = f"flow log {flow.get('FlowLogId')} of {flow.get('ResourceId')}"
                    yield LogSource(account_id, name, _under(path, "AWSLogs/"), what, flow_logs)


def _filter_prefix(rule: dict[str, Any]) -> str | None:
    """The key prefix a lifecycle rule applies to ("" for the whole bucket), or None when it applies only to
    some objects by tag or size (logs carry no tags, and their sizes vary)."""
    if "Filter" not in rule:
        return str(rule.get("Prefix") or "")  # the legacy rule-level prefix
    where = rule.get("Filter") or {}
    both = where.get("And") or {}
    narrowing = ("Tag", "Tags", "ObjectSizeGreaterThan", "ObjectSizeLessThan")
    if any(where.get(k) for k in narrowing) or any(both.get(k) for k in narrowing):
        return None
    return str(both.get("Prefix") or where.get("Prefix") or "")


def _kept(rules: list[dict[str, Any]], prefix: str, versioned: bool) -> tuple[str | None, str | None]:
    """(how the enabled rules expire objects under `prefix`, e.g. "after 400 days", or None; what is kept forever,
    or None). In a versioned bucket expiry only hides current objects: noncurrent versions must expire too."""
    current: list[str] = []
    noncurrent: list[str] = []
    for rule in rules:
        scope = _filter_prefix(rule)
        if rule.get("Status") != "Enabled" or scope is None or not prefix.startswith(scope):
            continue
        expiration = rule.get("Expiration") or {}
        if expiration.get("Days"):
            current.append(f"after {expiration['Days']} days")
        elif expiration.get("Date"):
            current.append(f"on {str(expiration['Date'])[:10]}")
        if (rule.get("NoncurrentVersionExpiration") or {}).get("NoncurrentDays"):
            noncurrent.append(f"{rule['NoncurrentVersionExpiration']['NoncurrentDays']} days after replacement")
    if not current:
        return None, "no enabled lifecycle rule expires them"
    if versioned and not noncurrent:
        return None, "the bucket is versioned and no enabled rule expires noncurrent versions"
    return current[0] + (f", noncurrent versions {noncurrent[0]}" if versioned else ""), None


def _judge_log_bucket(c: Check, bucket: EvidenceRecord, sources: list[LogSource]) -> Finding:
    lifecycle = c.need(LIFECYCLE, base=bucket, what="bucket lifecycle configuration")
    versioning = c.need(VERSIONING, base=bucket, what="bucket versioning state")
    rules = lifecycle.payload.get("Rules") or []
    versioned = versioning.payload.get("Status") in ("Enabled", "Suspended")
    also = [lifecycle, versioning, *(s.record for s in sources)]
    if not rules:
        kept = "; ".join(s.what for s in sources)
        return c.failed(bucket, f"no lifecycle configuration: logs are kept forever ({kept})", also=also)
    judged = [(source, *_kept(rules, source.prefix, versioned)) for source in sources]
    problems = [f"{s.what} under {s.prefix or '/'}: {why}" for s, _, why in judged if why]
    if problems:
        return c.failed(bucket, f"logs are kept forever: {'; '.join(problems)}", also=also)
    expiries = " / ".join(sorted({expiry for _, expiry, _ in judged if expiry}))
    return c.passed(bucket, f"logs expire {expiries} ({'; '.join(s.what for s in sources)})", also=also)


@custom(kinds=(BUCKET, LOGGING, LIFECYCLE, VERSIONING, TRAIL, LB, LB_ATTRIBUTES, FLOW_LOGS), regional=True)
def log_bucket_lifecycle_expiry(c: Check) -> Iterator[Finding]:
    by_bucket: dict[tuple[str, str], list[LogSource]] = defaultdict(list)
    for source in _sources(c):
        by_bucket[(source.account_id, source.bucket)].append(source)
    errors = c.drain()  # sources that could not be read: no account with one may be said to write no logs
    yield from errors
    for account_id in c.view.accounts():
        listing = c.view.listing(BUCKET, account_id, GLOBAL)
        unknown = any(e.account_id == account_id for e in errors)
        if listing is not None and not unknown and not any(account == account_id for account, _ in by_bucket):
            yield c.not_applicable(
                listing, "no trail, access logging, load balancer or flow log writes to S3", resource_type=BUCKET
            )
    for (account_id, name), sources in sorted(by_bucket.items()):
        arn = f"arn:aws:s3:::{name}"
        bucket = c.view.one(BUCKET, account_id, arn)
        if bucket is None:
            if c.view.listing(BUCKET, account_id, GLOBAL) is not None:  # complete: the bucket is another account's
                yield c.not_applicable(
                    sources[0].record,
                    f"receives {sources[0].what} but is not in this account: judged in the account that holds it",
                    also=[s.record for s in sources[1:]],
                    resource_id=arn,
                    resource_type="bucket",
                    region=GLOBAL,
                )
            continue  # no bucket listing: its error stands for every bucket of the account
        with c.item():
            yield _judge_log_bucket(c, bucket, sources)
