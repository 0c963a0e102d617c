"""What changed in one evidence item, in words: a generic path-based rendering of the field diff, and renderers for
the kinds where a reader thinks in other units than JSON paths (a security group's rules).

    describe(kind, before, after) -> (changes, lines)

`changes` are the field changes (volatile fields left out, `volatile.yaml`); `lines` say them for a reader, e.g.
`IpPermissions: added tcp 22 from 0.0.0.0/0`. No change (only volatile fields differ) gives two empty tuples.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from importlib import resources
from typing import Any

import yaml

from evidence.diff.fields import FieldChange, diff_json, render_change

Renderer = Callable[[Any, Any], tuple[list[FieldChange], list[str], frozenset[str]]]


@cache
def volatile_fields() -> dict[str, frozenset[str]]:
    """Per kind, the keys that change with every read (data: volatile.yaml)."""
    text = resources.files("evidence.diff").joinpath("volatile.yaml").read_text("utf-8")
    return {str(kind): frozenset(str(k) for k in keys) for kind, keys in (yaml.safe_load(text) or {}).items()}


def strip(value: Any, keys: frozenset[str]) -> Any:
    """`value` without `keys`, wherever they appear."""
    if not keys:
        return value
    if isinstance(value, dict):
        return {k: strip(v, keys) for k, v in value.items() if k not in keys}
    if isinstance(value, list):
        return [strip(v, keys) for v in value]
    return value


# -- security groups -------------------------------------------------------------------------------------------


def _ports(permission: dict[str, Any]) -> str:
    protocol = str(permission.get("IpProtocol", "-1"))
    if protocol == "-1":
        return "all traffic"
    low, high = permission.get("FromPort"), permission.get("ToPort")
    if protocol in ("icmp", "icmpv6", "1", "58"):
        name = "icmpv6" if protocol in ("icmpv6", "58") else "icmp"
        return name if low in (None, -1) else f"{name} type {low}"
    name = {"6": "tcp", "17": "udp"}.get(protocol, protocol)
    if low is None or (low == 0 and high == 65535) or (low == -1 and high == -1):
        return f"{name} all ports"
    return f"{name} {low}" if low == high else f"{name} {low}-{high}"


def _peers(permission: dict[str, Any]) -> list[tuple[str, str | None]]:
    peers: list[tuple[str, str | None]] = []
    for entry in permission.get("IpRanges") or []:
        peers.append((str(entry.get("CidrIp")), entry.get("Description")))
    for entry in permission.get("Ipv6Ranges") or []:
        peers.append((str(entry.get("CidrIpv6")), entry.get("Description")))
    for entry in permission.get("PrefixListIds") or []:
        peers.append((f"prefix list {entry.get('PrefixListId')}", entry.get("Description")))
    for entry in permission.get("UserIdGroupPairs") or []:
        group = entry.get("GroupId") or entry.get("GroupName")
        owner = entry.get("UserId")
        peers.append((f"group {group}" + (f" of account {owner}" if owner else ""), entry.get("Description")))
    return peers


def rules(permissions: Any, *, direction: str) -> list[str]:
    """One line per rule (port range x peer), e.g. `tcp 22 from 0.0.0.0/0 (admin access)`."""
    lines = []
    for permission in permissions if isinstance(permissions, list) else []:
        if not isinstance(permission, dict):
            continue
        ports = _ports(permission)
        for peer, description in _peers(permission) or [("no peer", None)]:
            note = f" ({description})" if description else ""
            lines.append(f"{ports} {direction} {peer}{note}")
    return lines


def _security_group(before: Any, after: Any) -> tuple[list[FieldChange], list[str], frozenset[str]]:
    changes: list[FieldChange] = []
    lines: list[str] = []
    for key, direction in (("IpPermissions", "from"), ("IpPermissionsEgress", "to")):
        old = rules((before or {}).get(key), direction=direction)
        new = rules((after or {}).get(key), direction=direction)
        for rule in sorted(set(old) - set(new)):
            changes.append(FieldChange(f"{key}[]", "removed", before=rule))
            lines.append(f"{key}: removed {rule}")
        for rule in sorted(set(new) - set(old)):
            changes.append(FieldChange(f"{key}[]", "added", after=rule))
            lines.append(f"{key}: added {rule}")
    return changes, lines, frozenset({"IpPermissions", "IpPermissionsEgress"})


RENDERERS: dict[str, Renderer] = {"ec2.security_group": _security_group}


def describe(kind: str, before: Any, after: Any) -> tuple[tuple[FieldChange, ...], tuple[str, ...]]:
    """The field changes between two payloads of one kind, and the lines that say them."""
    keys = volatile_fields().get(kind, frozenset())
    before, after = strip(before, keys), strip(after, keys)
    changes: list[FieldChange] = []
    lines: list[str] = []
    handled: frozenset[str] = frozenset()
    renderer = RENDERERS.get(kind)
    if renderer is not None and isinstance(before, dict) and isinstance(after, dict):
        changes, lines, handled = renderer(before, after)
    if handled and isinstance(before, dict) and isinstance(after, dict):
        before = {k: v for k, v in before.items() if k not in handled}
        after = {k: v for k, v in after.items() if k not in handled}
    rest = diff_json(before, after)
    return (*changes, *rest), (*lines, *(render_change(c) for c in rest))
