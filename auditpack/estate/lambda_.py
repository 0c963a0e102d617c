"""Lambda: functions with a runtime, environment variables and tags (the code is a one-line handler), and who may
invoke them (resource-based policy statements)."""

from __future__ import annotations

import io
import zipfile
from functools import cache

from auditpack.estate.target import Spec, Target, tag_map


class Permission(Spec):
    """A statement of the function's resource-based policy letting `principal` invoke it, from `source_arn` if set
    (a principal of "*" without a source: anyone may invoke it)."""

    sid: str
    principal: str  # a service ("events.amazonaws.com"), an account id, or "*"
    source_arn: str | None = None


class Function(Spec):
    name: str
    runtime: str
    owner: str | None = None
    environment: dict[str, str] = {}
    permissions: tuple[Permission, ...] = ()  # planted by plant_permissions, after the region's other resources


@cache
def _function_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def handle(event, context):\n    return {'statusCode': 200}\n")
    return buffer.getvalue()


def plant_function(target: Target, function: Function, *, role_arn: str) -> str:
    """The function, executing as `role_arn`; its ARN."""
    answer = target.client("lambda").create_function(
        FunctionName=function.name,
        Runtime=function.runtime,
        Role=role_arn,
        Handler="handler.handle",
        Code={"ZipFile": _function_zip()},
        Environment={"Variables": function.environment},
        Tags=tag_map(function.owner),
    )
    target.count("Lambda functions")
    return str(answer["FunctionArn"])


def plant_permissions(target: Target, function: Function) -> None:
    """The function's policy statements (none: it has no resource-based policy)."""
    for permission in function.permissions:
        target.client("lambda").add_permission(
            FunctionName=function.name,
            StatementId=permission.sid,
            Action="lambda:InvokeFunction",
            Principal=permission.principal,
            **({"SourceArn": permission.source_arn} if permission.source_arn else {}),
        )
