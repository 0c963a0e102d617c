"""A field-level diff of two canonical JSON payloads, by path.

    diff_json(before, after) -> [FieldChange(path, op, before, after), ...]

Objects are compared key by key. Lists are compared as AWS returns them, where order carries no meaning (rules,
tags, statements come back in any order between two reads): a list of objects that share an identifying key
(`Key`, `GroupId`, `PolicyName`...; `IDENTITY_KEYS`) is matched by it, so a changed tag reads
`Tags[Key=Owner].Value: team-a -> team-b`; any other list is compared as a multiset of values, so a reordered list
is no change and a new element is one `added`. Paths are written `A.B[Key=x].C`; a list element matched by value
is written `A[]`.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from typing import Any, Literal

Op = Literal["added", "removed", "changed"]

# Keys that identify an element of a list of objects, most specific first: the first one present in every element
# of both lists, with distinct values on each side, matches them.
IDENTITY_KEYS = (
    "Key",
    "GroupId",
    "Arn",
    "ARN",
    "Id",
    "PolicyName",
    "PolicyArn",
    "UserName",
    "RoleName",
    "GroupName",
    "KeyId",
    "Sid",
    "Name",
    "name",
    "user",
)


@dataclass(frozen=True, slots=True)
class FieldChange:
    path: str
    op: Op
    before: Any = None  # None for `added`
    after: Any = None  # None for `removed`


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _identity(before: list[Any], after: list[Any]) -> str | None:
    """The key that matches the elements of two lists of objects, or None."""
    elements = [*before, *after]
    if not elements or not all(isinstance(e, dict) for e in elements):
        return None
    for key in IDENTITY_KEYS:
        if not all(key in e and isinstance(e[key], str | int) for e in elements):
            continue
        if all(len({_canonical(e[key]) for e in side}) == len(side) for side in (before, after)):
            return key
    return None


def diff_json(before: Any, after: Any, path: str = "") -> list[FieldChange]:
    """Every difference between two JSON values, as changes by path (empty when they are equal)."""
    if isinstance(before, dict) and isinstance(after, dict):
        changes: list[FieldChange] = []
        for key in sorted(set(before) | set(after)):
            where = _join(path, str(key))
            if key not in before:
                changes.append(FieldChange(where, "added", after=after[key]))
            elif key not in after:
                changes.append(FieldChange(where, "removed", before=before[key]))
            else:
                changes.extend(diff_json(before[key], after[key], where))
        return changes
    if isinstance(before, list) and isinstance(after, list):
        return _diff_lists(before, after, path)
    if _canonical(before) == _canonical(after):
        return []
    return [FieldChange(path or "$", "changed", before=before, after=after)]


def _diff_lists(before: list[Any], after: list[Any], path: str) -> list[FieldChange]:
    key = _identity(before, after)
    if key is not None:
        old = {_canonical(e[key]): e for e in before}
        new = {_canonical(e[key]): e for e in after}
        changes: list[FieldChange] = []
        for ident in sorted(set(old) | set(new)):
            label = old[ident][key] if ident in old else new[ident][key]
            where = f"{path}[{key}={label}]"
            if ident not in old:
                changes.append(FieldChange(where, "added", after=new[ident]))
            elif ident not in new:
                changes.append(FieldChange(where, "removed", before=old[ident]))
            else:
                changes.extend(diff_json(old[ident], new[ident], where))
        return changes
    old_count = Counter(_canonical(e) for e in before)
    new_count = Counter(_canonical(e) for e in after)
    values = {_canonical(e): e for e in [*before, *after]}
    where = f"{path}[]"
    removed = [FieldChange(where, "removed", before=values[c]) for c in sorted((old_count - new_count).elements())]
    added = [FieldChange(where, "added", after=values[c]) for c in sorted((new_count - old_count).elements())]
    return removed + added


def render_value(value: Any, *, limit: int = 160) -> str:
    """A value on one line: strings bare, everything else as compact JSON, cut at `limit` characters."""
    text = value if isinstance(value, str) else _canonical(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def render_change(change: FieldChange) -> str:
    """`Path: added X`, `Path: removed X` or `Path: A -> B`."""
    if change.op == "added":
        return f"{change.path}: added {render_value(change.after)}"
    if change.op == "removed":
        return f"{change.path}: removed {render_value(change.before)}"
    return f"{change.path}: {render_value(change.before)} -> {render_value(change.after)}"
