"""Lambda: functions with a runtime, environment variables and tags (the code is a one-line handler)."""

from __future__ import annotations

import io
import zipfile
from functools import cache

from auditpack.estate.target import Spec, Target, tag_map


class Function(Spec):
    name: str
    runtime: str
    owner: str | None = None
    environment: dict[str, str] = {}


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
