"""Which privilege-escalation actions an IAM policy document allows on every resource.

The actions are data (data/privilege_escalation.yaml, after Rhino Security Labs' research). A statement counts when it
allows on "*" (or on everything but a NotResource list); an action it allows is taken back only by a Deny in the
same document that applies to "*" without a condition, because a conditional Deny may not apply.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

from evidence.checks._policies import as_list


@dataclass(frozen=True, slots=True)
class EscalationAction:
    action: str  # "service:Action"
    methods: tuple[int, ...]  # the source's method numbers
    effect: str  # what the holder can do with it


@cache
def escalation_actions() -> tuple[EscalationAction, ...]:
    text = resources.files("evidence.checks").joinpath("data", "privilege_escalation.yaml").read_text("utf-8")
    raw = yaml.safe_load(text)
    return tuple(
        EscalationAction(action=entry["action"], methods=tuple(entry["methods"]), effect=entry["effect"])
        for entry in raw["actions"]
    )


@cache
def _pattern(action_pattern: str) -> re.Pattern[str]:
    # IAM action patterns are case-insensitive and know two wildcards: * (any run) and ? (one character).
    return re.compile(
        "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in action_pattern), re.IGNORECASE
    )


def _covers(statement: dict[str, Any], action: str) -> bool:
    """Whether the statement's Action (or NotAction) element takes in `action`."""
    if "NotAction" in statement:
        return not any(_pattern(str(p)).fullmatch(action) for p in as_list(statement["NotAction"]))
    return any(_pattern(str(p)).fullmatch(action) for p in as_list(statement.get("Action", [])))


def _on_every_resource(statement: dict[str, Any]) -> bool:
    return "NotResource" in statement or "*" in as_list(statement.get("Resource", []))


def escalations(document: dict[str, Any]) -> list[tuple[EscalationAction, bool]]:
    """(action, allowed only under a condition) for every escalation action the document allows on "*"."""
    statements = [s for s in as_list(document.get("Statement", [])) if isinstance(s, dict)]
    allows = [s for s in statements if s.get("Effect") == "Allow" and _on_every_resource(s)]
    denies = [
        s
        for s in statements
        if s.get("Effect") == "Deny" and "*" in as_list(s.get("Resource", [])) and not s.get("Condition")
    ]
    found = []
    for entry in escalation_actions():
        if any(_covers(s, entry.action) for s in denies):
            continue
        granting = [s for s in allows if _covers(s, entry.action)]
        if granting:
            found.append((entry, all(s.get("Condition") for s in granting)))
    return found
