"""Amazon EFS: file systems, encrypted or not, with automatic backups (their backup policy) or not."""

from __future__ import annotations

from auditpack.estate.target import Spec, Target, classified, owner_tags


class FileSystem(Spec):
    name: str
    encrypted: bool = True
    kms_key: str | None = None  # an alias of the region's keys; None: EFS's AWS-managed key
    automatic_backups: bool = True
    owner: str | None = None
    classification: str | None = None


def plant_file_system(target: Target, file_system: FileSystem, *, kms_key_arn: str | None = None) -> str:
    """The file system (its creation token is its name); its ARN."""
    answer = target.client("efs").create_file_system(
        CreationToken=file_system.name,
        Encrypted=file_system.encrypted,
        **({"KmsKeyId": kms_key_arn} if kms_key_arn else {}),
        Backup=file_system.automatic_backups,
        Tags=owner_tags(file_system.owner, Name=file_system.name, **classified(file_system.classification)),
    )
    target.count("EFS file systems")
    return str(answer["FileSystemArn"])
