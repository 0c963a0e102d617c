"""CloudTrail: a trail (multi-region, log file validation, KMS, CloudWatch Logs delivery, management and S3 data
event selectors), logging or not."""

from __future__ import annotations

from auditpack.estate.target import Spec, Target

ALL_MANAGEMENT_EVENTS = [{"ReadWriteType": "All", "IncludeManagementEvents": True, "DataResources": []}]
ALL_S3_OBJECTS = [
    {
        "ReadWriteType": "All",
        "IncludeManagementEvents": False,
        "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3"]}],
    }
]


class Trail(Spec):
    name: str
    bucket: str
    kms_key: str | None = None  # alias of a key of the trail's region
    multi_region: bool = True
    log_validation: bool = True
    logging: bool = True
    # Event selectors: none at all when both are false (moto then reports no selectors).
    management_events: bool = True
    s3_data_events: bool = True
    log_group: str | None = None  # the CloudWatch Logs group it delivers to (planted before the trail)
    alarms: bool = True  # the security-event alarms on that log group


def plant_trail(
    target: Target,
    trail: Trail,
    *,
    kms_key_arn: str | None = None,
    log_group_arn: str | None = None,
    logs_role_arn: str | None = None,
) -> str:
    """The trail, in the target's region (its home region); its ARN. `kms_key_arn` resolves `trail.kms_key`;
    `log_group_arn` and `logs_role_arn` the CloudWatch Logs delivery."""
    delivery = (
        {"CloudWatchLogsLogGroupArn": log_group_arn, "CloudWatchLogsRoleArn": logs_role_arn} if log_group_arn else {}
    )
    cloudtrail = target.client("cloudtrail")
    arn = cloudtrail.create_trail(
        Name=trail.name,
        S3BucketName=trail.bucket,
        IsMultiRegionTrail=trail.multi_region,
        EnableLogFileValidation=trail.log_validation,
        IncludeGlobalServiceEvents=True,
        **({"KmsKeyId": kms_key_arn} if kms_key_arn else {}),
        **delivery,
    )["TrailARN"]
    selectors = (ALL_MANAGEMENT_EVENTS if trail.management_events else []) + (
        ALL_S3_OBJECTS if trail.s3_data_events else []
    )
    if selectors:
        cloudtrail.put_event_selectors(TrailName=trail.name, EventSelectors=selectors)
    if trail.logging:
        cloudtrail.start_logging(Name=trail.name)
    target.count("CloudTrail trails")
    return str(arn)
