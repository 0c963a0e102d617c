"""`auditpack iam-policy`: the least-privilege, read-only IAM policy collection needs, generated from the
operations every collector declares."""

from __future__ import annotations

import typer

from auditpack.cli.output import print_json
from evidence.aws.defaults import DEFAULT_PARTITION, DEFAULT_ROLE_NAME


def iam_policy(
    role_name: str = typer.Option(
        DEFAULT_ROLE_NAME, "--role-name", help="Role that --org/--account collections assume in member accounts."
    ),
    partition: str = typer.Option(
        DEFAULT_PARTITION,
        "--partition",
        help="AWS partition of the accounts: aws, aws-us-gov (GovCloud), aws-cn (China), ...",
    ),
) -> None:
    """Print the IAM policy (JSON) for the identity that runs auditpack and the role it assumes."""
    from evidence.collectors.registry import iam_policy as generated_policy

    print_json(generated_policy(role_name=role_name, partition=partition))
