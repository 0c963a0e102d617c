"""The name CloudTrail files a resource under (LookupEvents' `ResourceName`), and the region its events are in.

CloudTrail names most resources by their id or name (`sg-0abc`, a bucket's name, an IAM user's name, a function's
name) and a few by their ARN (KMS keys, IAM managed policies): `ARN_NAMED` lists those, as data. Events of global
services (IAM) are recorded in the partition's global region.
"""

from __future__ import annotations

from evidence.aws.partition import partition_for_region

# (service, resource type) whose events CloudTrail files under the resource's ARN.
ARN_NAMED = frozenset(
    {("kms", "key"), ("iam", "policy"), ("elasticloadbalancing", "loadbalancer"), ("secretsmanager", "secret")}
)
# (service, resource type) named by everything after the type, slashes included (a log group's name).
PATH_NAMED = frozenset({("logs", "log-group")})
GLOBAL_REGIONS = {"aws": "us-east-1", "aws-us-gov": "us-gov-west-1", "aws-cn": "cn-north-1"}


def resource_name(resource_id: str) -> str | None:
    """The lookup name of a resource from its ARN; None for what has no ARN (an account setting, a listing)."""
    parts = resource_id.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or not parts[5]:
        return None
    service, resource = parts[2], parts[5]
    if service == "s3":
        return resource.split("/", 1)[0]  # the bucket
    cut = min((i for i in (resource.find("/"), resource.find(":")) if i >= 0), default=-1)
    if cut < 0:
        return resource
    kind, rest = resource[:cut], resource[cut + 1 :]
    if (service, kind) in ARN_NAMED:
        return resource_id
    if (service, kind) in PATH_NAMED:
        return rest.removesuffix(":*") or None
    return rest.rstrip("/").rsplit("/", 1)[-1].split(":", 1)[0] or None


def lookup_region(region: str, *, home_region: str) -> str:
    """Where a resource's events are looked up: its own region, or the global region of the run's partition."""
    if region != "global":
        return region
    return GLOBAL_REGIONS.get(partition_for_region(home_region), home_region)
