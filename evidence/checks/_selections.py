"""What an AWS Backup resource selection selects, decided from its document (GetBackupSelection) and the
resource's ARN and tags.

AWS's rules (Assigning resources programmatically, and the BackupSelection reference): ARNs in `Resources` are
OR-ed, `*` standing for any run of characters; `NotResources` excludes; `ListOfTags` entries are OR-ed;
`Conditions` are AND-ed; an assignment naming both resource types and tags applies both. A selection with no
Resources, ListOfTags or Conditions selects every supported resource. Two readings are ours, and both can only
make a resource count as *not* selected where AWS might select it: Resources and ListOfTags given together
must both match, and a resource type's opt-in is assumed (EFS is opted in by default; opt-in settings are not read).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_TAG_KEY = "aws:ResourceTag/"


def _like(pattern: str, value: str) -> bool:
    regex = ".*".join(re.escape(part) for part in pattern.split("*"))
    return re.fullmatch(regex, value, flags=re.S) is not None


def _tag(key: str) -> str:
    return key.removeprefix(_TAG_KEY)


def _condition(operator: str, clause: Mapping[str, Any], tags: Mapping[str, str]) -> bool:
    key, wanted = _tag(str(clause.get("ConditionKey", ""))), str(clause.get("ConditionValue", ""))
    value = tags.get(key)
    if operator == "StringEquals":
        return value == wanted
    if operator == "StringLike":
        return value is not None and _like(wanted, value)
    # As in IAM, a negated operator holds for a resource without the tag.
    if operator == "StringNotEquals":
        return value != wanted
    if operator == "StringNotLike":
        return value is None or not _like(wanted, value)
    return False  # an operator we do not know selects nothing we can vouch for


def selects(document: Mapping[str, Any], arn: str, tags: Mapping[str, str]) -> bool:
    """Whether the selection `document` (a BackupSelection) selects the resource `arn` with `tags`."""
    resources = [str(r) for r in document.get("Resources") or []]
    excluded = [str(r) for r in document.get("NotResources") or []]
    tag_list = document.get("ListOfTags") or []
    conditions = {op: clauses for op, clauses in (document.get("Conditions") or {}).items() if clauses}
    if any(_like(pattern, arn) for pattern in excluded):
        return False
    if resources and not any(_like(pattern, arn) for pattern in resources):
        return False
    if tag_list and not any(_condition("StringEquals", clause, tags) for clause in tag_list):
        return False
    return all(_condition(op, clause, tags) for op, clauses in conditions.items() for clause in clauses)
