"""`auditpack iam-policy`: the least-privilege, read-only IAM policy collection needs, generated from the
operations every collector declares; with --push-securityhub, the separate policy the Security Hub import needs;
with --blob-store, the separate write policy of an S3 blob store (AUDITPACK_BLOB_STORE)."""

from __future__ import annotations

import typer

from auditpack.cli.output import print_json
from evidence.aws.defaults import DEFAULT_PARTITION, DEFAULT_ROLE_NAME


def iam_policy(
    role_name: str | None = typer.Option(
        None,
        "--role-name",
        help=f"Role that --org/--account collections assume in member accounts (default {DEFAULT_ROLE_NAME}); "
        "with --push-securityhub, the role `findings --push-securityhub --role-name` assumes (none by default).",
    ),
    partition: str = typer.Option(
        DEFAULT_PARTITION,
        "--partition",
        help="AWS partition of the accounts: aws, aws-us-gov (GovCloud), aws-cn (China), ...",
    ),
    push_securityhub: bool = typer.Option(
        False,
        "--push-securityhub",
        help="Print the policy `findings --push-securityhub` needs (securityhub:BatchImportFindings), which is "
        "deliberately not part of the read-only collection policy.",
    ),
    blob_store: str | None = typer.Option(
        None,
        "--blob-store",
        help="s3://bucket/prefix: print the policy that writes this S3 blob store (put locked objects, read them "
        "back, read the bucket's Object Lock configuration), deliberately not part of the read-only policy.",
        show_default=False,
    ),
) -> None:
    """Print the IAM policy (JSON) for the identity that runs auditpack and the role it assumes."""
    from evidence.aws.partition import partitions
    from evidence.aws.scope import ScopeError
    from evidence.collectors.registry import iam_policy as generated_policy

    if blob_store is not None:
        from evidence.blobstore import S3Location, write_policy

        if partition not in partitions():
            raise ScopeError(f"unknown AWS partition {partition!r} (known: {', '.join(partitions())})")
        print_json(write_policy(S3Location.parse(blob_store), partition=partition))
        return
    if not push_securityhub:
        print_json(generated_policy(role_name=role_name or DEFAULT_ROLE_NAME, partition=partition))
        return
    from reports.securityhub import push_policy

    if partition not in partitions():
        raise ScopeError(f"unknown AWS partition {partition!r} (known: {', '.join(partitions())})")
    print_json(push_policy(partition=partition, role_name=role_name))
