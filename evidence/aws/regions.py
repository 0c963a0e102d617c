"""Which regions of an account are collected, and which are refused as a whole.

A region the account has not opted in to (`ec2:DescribeRegions` with AllRegions) holds nothing that can be read:
it is out of scope, said once in the run's summary, never a gap. A region denied by a service control policy is
one region-level gap (kind `collection.region`, so its regional checks report `error`), not one gap per call. It
is found two ways:

- a probe at region entry (`PROBES`): both refused, and AWS's messages name a service control policy ("... with
  an explicit deny in a service control policy"): the region is not collected at all. Region-restricting SCPs
  such as AWS Control Tower's exempt a few services (kms, config, acm, wafv2...), so "every call" would not hold
  there, while a role that merely lacks these two permissions is not mistaken for a refused region;
- by collapsing, once a region's tasks are done: no call there was answered and every call was refused with an
  access error (`collapse`), whatever the messages say.
"""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from evidence.aws.calls import Failed

# ec2:DescribeRegions opt-in statuses of regions that can be used.
ENABLED_OPT_IN = ("opt-in-not-required", "opted-in")
# Error codes of a refused request (IAM or an Organizations policy), as the JSON, query and EC2 protocols spell them.
DENIED = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"})
# Two cheap reads of services that region-restricting SCPs deny (AWS Control Tower's exempts kms, config, acm and
# wafv2 among others, never ec2 or logs). Both refused: the region is refused, not one permission of the role.
PROBES: tuple[tuple[str, dict[str, Any]], ...] = (
    ("ec2.DescribeVpcs", {"MaxResults": 5}),
    ("logs.DescribeLogGroups", {"limit": 1}),
)
_SHOWN = 200  # characters of each AWS message quoted in a region's reason
_QUOTED = 3  # refused calls quoted in the reason of a region where every call was refused


def is_refusal(failure: Failed) -> bool:
    """AWS refused the caller (IAM, a service control policy), as opposed to an access-denied code a service uses
    for a state: Macie answers AccessDeniedException "Macie is not enabled." when it is off, and "User: ... is not
    authorized to perform: macie2:GetMacieSession ..." when a policy refuses the call."""
    message = failure.message.lower()
    return failure.code in DENIED and ("is not authorized to perform" in message or "explicit deny" in message)


@dataclass(frozen=True, slots=True)
class RegionChoice:
    """collect: regions to collect, with their opt-in status; not_opted_in: out of scope, with their status;
    refused: requested regions the account does not know, with the reason (each becomes a gap)."""

    collect: list[tuple[str, str]] = field(default_factory=list)
    not_opted_in: list[tuple[str, str]] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)


def choose_regions(requested: tuple[str, ...], described: list[dict[str, Any]] | None, home: str) -> RegionChoice:
    """Without a request, every enabled region; with one, the requested regions that are enabled. A region the
    account has not opted in to (requested or not) is out of scope; a requested region unknown to the account is
    refused. When the region list could not be read, the requested regions (or the home region) are collected
    as they are."""
    if described is None:
        return RegionChoice(collect=[(region, "unknown") for region in (requested or (home,))])
    status = {r["RegionName"]: r.get("OptInStatus", "opt-in-not-required") for r in described}
    choice = RegionChoice()
    for region in requested or sorted(status):
        if region not in status:
            choice.refused.append((region, "the account does not know this region"))
        elif status[region] in ENABLED_OPT_IN:
            choice.collect.append((region, status[region]))
        else:
            choice.not_opted_in.append((region, status[region]))
    return choice


def denial(region: str, failures: Sequence[Failed]) -> str | None:
    """Why `region` is refused as a whole, given the failures of the probes at its entry: when each was refused
    with an access error that AWS says a service control policy made, the reason; else None."""
    if len(failures) < len(PROBES) or any(f.code not in DENIED for f in failures):
        return None
    if not _names_scp(failures):
        return None  # the role may merely lack these permissions: collect, and let `collapse` judge the region
    refused = "; ".join(_refusal(f) for f in failures)
    return f"denied in {region} by a service control policy: {refused}; nothing in the region was read"


def _names_scp(failures: Sequence[Failed]) -> bool:
    """AWS's refusals name the policy type that denied: "... with an explicit deny in a service control policy"."""
    return any("service control policy" in f.message.lower() for f in failures)


def _refusal(failure: Failed) -> str:
    message = failure.message if len(failure.message) <= _SHOWN else failure.message[: _SHOWN - 1] + "…"
    return f"{failure.code} on {failure.call.replace('.', ':', 1)} ({message})"


@dataclass(frozen=True, slots=True)
class HeldGap:
    """A gap recorded by a regional task, held until its (account, region) is done."""

    account_id: str
    region: str
    service: str
    operation: str
    error_code: str
    message: str
    kind: str
    resource_id: str | None

    @property
    def failed(self) -> Failed:
        return Failed(f"{self.service}.{self.operation}", self.error_code, self.message)


class RegionLedger:
    """What each (account, region) of a run answered: how many calls succeeded, and the gaps its tasks recorded,
    held until the region is done. Then a region where every call was refused becomes one gap (`collapse`),
    and any other region's gaps are recorded as they are. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[tuple[str, str], list[HeldGap]] = defaultdict(list)
        self._answered: Counter[tuple[str, str]] = Counter()

    def answered(self, account_id: str, region: str) -> None:
        with self._lock:
            self._answered[(account_id, region)] += 1

    def hold(self, account_id: str, region: str, gap: HeldGap) -> None:
        with self._lock:
            self._held[(account_id, region)].append(gap)

    def take(self, account_id: str, region: str) -> tuple[list[HeldGap], int]:
        """The held gaps and the number of calls answered, forgotten (the region is done)."""
        with self._lock:
            return self._held.pop((account_id, region), []), self._answered.pop((account_id, region), 0)


def collapse(region: str, held: Sequence[HeldGap], answered: int) -> str | None:
    """Why `region` is refused as a whole, when no call there was answered and every one of at least two
    different operations was refused with an access error; else None (its gaps stand as they are)."""
    operations = {(g.service, g.operation) for g in held}
    if answered or len(operations) < 2 or any(g.error_code not in DENIED for g in held):
        return None
    failures = [g.failed for g in held]
    first = "; ".join(_refusal(f) for f in failures[:_QUOTED])
    more = f" and {len(failures) - _QUOTED} more" if len(failures) > _QUOTED else ""
    summary = f"every one of the {len(failures)} calls made there was refused: {first}{more}"
    if _names_scp(failures):
        return f"denied in {region} by a service control policy: {summary}"
    return f"denied in {region}: {summary}, as when a service control policy or another policy refuses the whole region"
