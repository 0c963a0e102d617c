"""Regional detection services: an AWS Config recorder delivering to a bucket, a GuardDuty detector (with malware
protection and runtime monitoring), Security Hub, and Macie switched off (moto starts with it on)."""

from __future__ import annotations

from auditpack.estate.target import Target

CONFIG_SERVICE_ROLE = "aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig"
PROTECTION_FEATURES = ("EBS_MALWARE_PROTECTION", "RUNTIME_MONITORING")


def plant_config_recorder(
    target: Target, *, bucket: str, role_arn: str | None = None, global_resources: bool = True
) -> None:
    """A recorder of every supported resource type (and the global ones), delivering to `bucket`, recording.
    `role_arn` defaults to Config's service-linked role."""
    config = target.client("config")
    group = {"allSupported": True, **({"includeGlobalResourceTypes": True} if global_resources else {})}
    config.put_configuration_recorder(
        ConfigurationRecorder={
            "name": "default",
            "roleARN": role_arn or f"arn:aws:iam::{target.account_id}:role/{CONFIG_SERVICE_ROLE}",
            "recordingGroup": group,
        }
    )
    config.put_delivery_channel(DeliveryChannel={"name": "default", "s3BucketName": bucket})
    config.start_configuration_recorder(ConfigurationRecorderName="default")


def plant_guardduty(target: Target, *, enabled: bool = True, protection: bool = True) -> None:
    """A detector (suspended unless `enabled`), with EBS malware protection and runtime monitoring if `protection`."""
    features = [{"Name": name, "Status": "ENABLED"} for name in PROTECTION_FEATURES] if protection else []
    target.client("guardduty").create_detector(
        Enable=enabled, FindingPublishingFrequency="SIX_HOURS", Features=features
    )
    target.count("GuardDuty detectors")


def plant_security_hub(target: Target) -> None:
    target.client("securityhub").enable_security_hub(EnableDefaultStandards=True)


def disable_macie(target: Target) -> None:
    target.client("macie2").disable_macie()  # moto starts with Macie enabled in every account and region
