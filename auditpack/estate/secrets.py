"""Secrets Manager: secrets, rotating on a schedule or not.

moto records a rotation schedule without a rotation function (AWS needs one, managed rotation aside) and would run
a named function in Docker, so a rotating secret is planted with its schedule only: what ListSecrets then reports
(RotationEnabled, RotationRules) is what AWS reports for a secret rotating on that schedule.
"""

from __future__ import annotations

from auditpack.estate.target import Spec, Target, owner_tags


class Secret(Spec):
    name: str
    rotation_days: int | None = 30  # automatic rotation every this many days; None: never rotated automatically
    owner: str | None = None


def plant_secret(target: Target, secret: Secret, *, value: str) -> str:
    """The secret holding `value` (a planted secret: it must never reach evidence); its ARN."""
    manager = target.client("secretsmanager")
    tags = owner_tags(secret.owner)
    arn = str(manager.create_secret(Name=secret.name, SecretString=value, **({"Tags": tags} if tags else {}))["ARN"])
    if secret.rotation_days is not None:
        manager.rotate_secret(SecretId=arn, RotationRules={"AutomaticallyAfterDays": secret.rotation_days})
    target.count("secrets")
    return arn
