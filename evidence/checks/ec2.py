"""The ec2.* checks in unit form (metadata in ec2.yaml): EBS snapshots the account owns are neither public nor
unencrypted."""

from __future__ import annotations

from collections.abc import Iterator

from evidence.checks.support import nothing_listed
from evidence.checks.types import Finding
from evidence.checks.unit import Check, custom

SNAPSHOT, PERMISSION = "ec2.snapshot", "ec2.snapshot_create_volume_permission"
NO_SNAPSHOTS = "no EBS snapshots owned by the account here"


@custom(kinds=(SNAPSHOT, PERMISSION), regional=True)
def ebs_snapshots_not_public(c: Check) -> Iterator[Finding]:
    yield from nothing_listed(c, SNAPSHOT, NO_SNAPSHOTS)
    for snapshot in c.records(SNAPSHOT, resource_type="snapshot", what="snapshot details"):
        with c.item():
            permission = c.need(PERMISSION, base=snapshot, what="snapshot createVolumePermission")
            grants = permission.payload.get("CreateVolumePermissions") or []
            accounts = sorted(str(g["UserId"]) for g in grants if g.get("UserId"))
            if any(g.get("Group") == "all" for g in grants):
                yield c.failed(snapshot, "public: any AWS account may create a volume from it", also=[permission])
            elif accounts:
                shared = ", ".join(accounts)
                yield c.passed(snapshot, f"not public; shared with account(s) {shared}", also=[permission])
            else:
                yield c.passed(snapshot, "not shared with any other account", also=[permission])


@custom(kinds=(SNAPSHOT,), regional=True)
def ebs_snapshots_encrypted(c: Check) -> Iterator[Finding]:
    yield from nothing_listed(c, SNAPSHOT, NO_SNAPSHOTS)
    for snapshot in c.records(SNAPSHOT, resource_type="snapshot", what="snapshot details"):
        if snapshot.payload.get("Encrypted") is True:
            key = snapshot.payload.get("KmsKeyId")
            yield c.passed(snapshot, f"encrypted with {key}" if key else "encrypted")
        else:
            volume = snapshot.payload.get("VolumeId") or "a volume"
            yield c.failed(snapshot, f"unencrypted: a copy of {volume}'s data readable by whoever may restore it")
