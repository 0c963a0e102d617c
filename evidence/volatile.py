"""Values AWS changes on its own clock while nothing about a resource changes are not recorded.

When CloudTrail last delivered a log file, how far back RDS can restore, how many bytes EFS or a log group holds:
these move between any two captures of an unchanged estate. They are not configuration, and no check reads them;
our own capture time (`observed_at`) says when the resource was seen. Recorded, they would make every nightly
capture of an unchanged resource a new payload, so a new blob: the store would keep a near-copy of every such
resource every night instead of one row pointing at the blob it already holds.

So, like secrets (`evidence.redaction`), their values are replaced by a marker and their keys kept: the payload
still shows that AWS reported the field. Errors and states next to them (`LatestDeliveryError`, `lastStatus`) are
configuration health and stay. Inspector findings keep `lastObservedAt` on purpose (see the collector).

Paths, per evidence kind: `A.B` descends into objects, `A[].B` into every element of the list `A`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

NOT_RECORDED = "[volatile: not recorded]"

VOLATILE: Mapping[str, tuple[str, ...]] = {
    "cloudtrail.trail_status": (
        "LatestDeliveryTime",
        "LatestDeliveryAttemptTime",
        "LatestDeliveryAttemptSucceeded",
        "LatestNotificationTime",
        "LatestNotificationAttemptTime",
        "LatestNotificationAttemptSucceeded",
        "LatestDigestDeliveryTime",
        "LatestCloudWatchLogsDeliveryTime",
    ),
    "config.recorder_status": ("ConfigurationRecordersStatus[].lastStatusChangeTime",),
    "rds.db_instance": ("LatestRestorableTime",),
    # The restore window slides with the clock; its length (BackupRetentionPeriod) is the configuration.
    "rds.db_cluster": ("LatestRestorableTime", "EarliestRestorableTime", "EarliestBacktrackTime"),
    "efs.file_system": ("SizeInBytes",),
    # DynamoDB refreshes sizes and counts about every six hours.
    "dynamodb.table": (
        "TableSizeBytes",
        "ItemCount",
        "GlobalSecondaryIndexes[].IndexSizeBytes",
        "GlobalSecondaryIndexes[].ItemCount",
        "LocalSecondaryIndexes[].IndexSizeBytes",
        "LocalSecondaryIndexes[].ItemCount",
    ),
    "logs.log_group": ("storedBytes",),
}


def steady(kind: str, payload: Any) -> Any:
    """`payload` with the volatile values of its kind replaced by `NOT_RECORDED` (a copy; the input is kept)."""
    paths = VOLATILE.get(kind)
    if not paths:
        return payload
    for path in paths:
        payload = _replace(payload, path.split("."))
    return payload


def _replace(value: Any, steps: list[str]) -> Any:
    if not isinstance(value, Mapping) or not steps:
        return value
    step, rest = steps[0], steps[1:]
    each = step.endswith("[]")
    key = step.removesuffix("[]")
    if key not in value:
        return value
    if each:
        items = value[key]
        if not isinstance(items, list):
            return value
        return {**value, key: [_replace(item, rest) for item in items]}
    if rest:
        return {**value, key: _replace(value[key], rest)}
    return value if value[key] is None else {**value, key: NOT_RECORDED}
