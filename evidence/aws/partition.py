"""AWS partitions (aws, aws-us-gov, aws-cn, aws-iso...) and the ARNs built in them.

The partition is always taken from a region, through botocore's endpoint data, never written as a literal: an
`arn:aws:` ARN is wrong in GovCloud and China, where role assumption with it fails and evidence would name
resources that do not exist. Checks use the pure helpers (`arn`, `parse_arn`), never the endpoint data.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from botocore.regions import EndpointResolver


@cache
def _resolver() -> EndpointResolver:
    # botocore (and boto3 through evidence.aws.scope) load only where endpoint data is read: the checks import
    # this module for the pure helpers, and commands that only evaluate stored evidence never need it.
    from botocore.loaders import create_loader
    from botocore.regions import EndpointResolver

    return EndpointResolver(create_loader().load_data("endpoints"))


@cache
def partition_for_region(region: str) -> str:
    """The partition `region` belongs to ("us-gov-west-1" -> "aws-us-gov"); ScopeError for a region botocore
    places in no partition (a typo, or the pseudo-region "global")."""
    from botocore.exceptions import UnknownRegionError

    from evidence.aws.scope import ScopeError

    try:
        return str(_resolver().get_partition_for_region(region))
    except UnknownRegionError:
        raise ScopeError(f"region {region!r} belongs to no AWS partition botocore knows") from None


def partitions() -> list[str]:
    """Every partition botocore knows, for validating user input such as `iam-policy --partition`."""
    return list(_resolver().get_available_partitions())


def arn(partition: str, service: str, region: str, account: str, resource: str) -> str:
    """``arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`` (region and account empty where the service has none,
    e.g. ``arn(p, "s3", "", "", name)`` or ``arn(p, "iam", "", account, "root")``)."""
    return f"arn:{partition}:{service}:{region}:{account}:{resource}"


class Arn(NamedTuple):
    partition: str
    service: str
    region: str
    account: str
    resource: str


def parse_arn(value: str) -> Arn | None:
    """The parts of an ARN (in any partition), or None when `value` is not one."""
    parts = value.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or not parts[1] or not parts[2]:
        return None
    return Arn(*parts[1:])
