"""DynamoDB: on-demand tables with KMS encryption (AWS managed, or a customer-managed key), point-in-time recovery
and a classification tag."""

from __future__ import annotations

from auditpack.estate.target import Spec, Target, classified


class Table(Spec):
    name: str
    point_in_time_recovery: bool = True
    sse_kms: bool = True  # SSE with KMS (the AWS-managed key, or `kms_key`); False: the default AWS-owned key
    classification: str | None = None  # the DataClassification tag
    tags: dict[str, str] = {}
    kms_key: str | None = None  # alias of a customer-managed key of the table's region, for SSE-KMS


def plant_table(target: Target, table: Table, *, kms_key_arn: str | None = None) -> str:
    """The table; `kms_key_arn` resolves `kms_key`."""
    if (table.kms_key is None) != (kms_key_arn is None) or (table.kms_key and not table.sse_kms):
        raise ValueError(f"table {table.name}: a customer-managed key needs sse_kms and its ARN")
    dynamodb = target.client("dynamodb")
    tags = {**classified(table.classification), **table.tags}
    sse = {"Enabled": True, "SSEType": "KMS", **({"KMSMasterKeyId": kms_key_arn} if kms_key_arn else {})}
    dynamodb.create_table(
        TableName=table.name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        **({"SSESpecification": sse} if table.sse_kms else {}),
        Tags=[{"Key": key, "Value": value} for key, value in tags.items()],
    )
    if table.point_in_time_recovery:
        dynamodb.update_continuous_backups(
            TableName=table.name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
        )
    target.count("DynamoDB tables")
    return table.name
