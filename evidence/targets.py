"""What a collection covers, found out as it starts and recorded as scope evidence: the Organization's accounts
(read from its management account or a delegated administrator; accounts that are not ACTIVE are out of scope),
and in each account the regions to collect (regions not opted in are out of scope; a region that refuses every
probe is one region-level gap)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from evidence.aws.accounts import CollectionFailed, account_state
from evidence.aws.calls import Failed
from evidence.aws.regions import DENIED, PROBES, RegionChoice, choose_regions, denial
from evidence.aws.scope import OutOfScope
from evidence.aws.session import AccountSession
from evidence.collectors.context import Absent, CollectorContext, setting_id
from evidence.work import CollectionProgress

NOT_IN_USE = "AWSOrganizationsNotInUseException"
_NAMED = 10  # accounts named in a progress note; the run's statistics list them all


class Organization:
    """The Organization as the caller sees it: its id, its management account, and its accounts."""

    def __init__(self, caller_id: str) -> None:
        self.caller_id = caller_id
        self.id: str | None = None
        self.management_account_id: str | None = None

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "management_account_id": self.management_account_id,
            "collected_from": self.caller_id,
            "caller_is_management_account": self.management_account_id == self.caller_id,
        }


def org_accounts(
    ctx: CollectorContext, org: Organization, *, out_of_scope: OutOfScope, progress: CollectionProgress
) -> list[tuple[str, str | None]]:
    """The ACTIVE accounts of the caller's Organization, (id, name) each; the others are recorded, listed as out
    of scope and not collected. Works from the management account and from a delegated administrator: neither
    is assumed to be the caller, and only the caller's own account is read with the caller's credentials."""
    answer = ctx.call("organizations.DescribeOrganization", kind="organizations.organization", absent=(NOT_IN_USE,))
    if isinstance(answer, Absent):
        raise CollectionFailed(
            f"the caller's account {org.caller_id} is in no AWS Organization "
            f"(organizations:DescribeOrganization: {answer.code}: {answer.message})",
            hint="collect without --org, or name the accounts with --account",
        )
    if answer is not None:
        described = answer.get("Organization", {})
        org.id, org.management_account_id = described.get("Id"), described.get("MasterAccountId")
        ctx.record(
            kind="organizations.organization",
            resource_type="organization",
            resource_id=described.get("Arn") or str(org.id),
            payload={k: v for k, v in described.items() if k != "MasterAccountEmail"},  # personal data
            tags={},
        )
        if org.management_account_id and org.management_account_id != org.caller_id:
            progress.note(
                f"collecting Organization {org.id} from {org.caller_id}, not from its management account "
                f"{org.management_account_id}: that account is entered by role like every other"
            )
    accounts = ctx.paginate("organizations.ListAccounts", kind="organizations.account", result_key="Accounts")
    if accounts is None:
        code, message = ctx.last_error or ("UnknownError", "")
        where = f" {org.id}" if org.id else ""
        management = f" ({org.management_account_id})" if org.management_account_id else ""
        raise CollectionFailed(
            f"cannot list the accounts of the Organization{where} (organizations:ListAccounts: {code}: {message})",
            hint=f"run --org from the management account{management} or from a delegated administrator account",
        )
    for account in accounts:
        ctx.record(
            kind="organizations.account",
            resource_type="account",
            resource_id=account.get("Arn") or account["Id"],
            payload={k: v for k, v in account.items() if k != "Email"},  # the contact address is personal data
            tags={},
        )
    ctx.listing(
        kind="organizations.account", call="organizations.ListAccounts", resource_ids=[a["Id"] for a in accounts]
    )
    active = []
    inactive = []
    for account in accounts:
        state = account_state(account)
        if state == "ACTIVE":
            active.append((account["Id"], account.get("Name")))
        else:
            out_of_scope.account(account["Id"], name=account.get("Name"), state=state)
            inactive.append(f"{account['Id']} ({state})")
    if inactive:
        named = ", ".join(inactive[:_NAMED]) + (f" and {len(inactive) - _NAMED} more" if len(inactive) > _NAMED else "")
        progress.note(f"{len(inactive)} account(s) of the Organization are not ACTIVE and were not collected: {named}")
    return active


def account_regions(
    ctx: CollectorContext, *, requested: tuple[str, ...], home: str, out_of_scope: OutOfScope
) -> RegionChoice:
    """The account's regions (ec2:DescribeRegions with AllRegions): requested regions it does not know are gaps,
    regions it has not opted in to are out of scope (said once, in the run's statistics), the rest is collected."""
    # With explicit regions a failed region list only loses the opt-in check (each region's own calls show
    # whether it works); without them the account's regions are unknown, which regional checks report.
    kind = "collection.region_list" if requested else "collection.region"
    answer = ctx.call("ec2.DescribeRegions", kind=kind, AllRegions=True)
    described = answer.get("Regions", []) if isinstance(answer, dict) else None
    choice = choose_regions(requested, described, home)
    for region, reason in choice.refused:
        ctx.gap(
            "ec2.DescribeRegions", "RegionNotEnabled", f"{region}: {reason}", kind="collection.region", region=region
        )
    for region, status in choice.not_opted_in:
        out_of_scope.region(ctx.account_id, region, status)
    return choice


def probe_region(ctx: CollectorContext) -> bool:
    """Whether the region of `ctx` can be collected. A region that refuses every probe with an access error is
    recorded as one gap (kind collection.region, so its regional checks report error) and is not collected; any
    other answer lets its collectors run and record their own evidence and gaps."""
    failures: list[Failed] = []
    for call, params in PROBES:
        answer = ctx.attempt(call, **params)
        if not isinstance(answer, Failed):
            return True
        failures.append(answer)
        if answer.code not in DENIED:
            return True
    reason = denial(ctx.region, failures)
    if reason is None:
        return True
    ctx.gap(failures[0].call, failures[0].code, reason, kind="collection.region")
    return False


class RegionGate:
    """Regional collectors of an account start once every region has been probed, so that each knows the
    regions actually collected (CloudTrail records a shadow trail in the first of them)."""

    def __init__(self, regions: Sequence[tuple[str, str]]) -> None:
        """`regions`: (region, opt-in status) pairs to probe."""
        self._order = tuple(regions)
        self._waiting = {region for region, _ in regions}
        self._usable: set[str] = set()
        self._lock = threading.Lock()

    @property
    def regions(self) -> tuple[str, ...]:
        return tuple(region for region, _ in self._order)

    def done(self, region: str, usable: bool) -> tuple[tuple[str, str], ...] | None:
        """Note a probed region; the last call returns the usable (region, opt-in status) pairs, every other
        call None."""
        with self._lock:
            if region not in self._waiting:
                raise ValueError(f"region {region} was already probed")
            self._waiting.discard(region)
            if usable:
                self._usable.add(region)
            if self._waiting:
                return None
            return tuple(pair for pair in self._order if pair[0] in self._usable)


def record_account(
    ctx: CollectorContext, session: AccountSession, *, name: str | None = None, not_opted_in: Sequence[str] = ()
) -> None:
    """Evidence that an account was entered (and how, and which of its regions are out of scope): the accounts
    checks report on."""
    ctx.record(
        kind="collection.account",
        resource_type="account",
        resource_id=ctx.arn("iam", "root", region="", account=session.account_id),
        payload={
            "AccountId": session.account_id,
            "Partition": ctx.partition,  # of the home region: checks build the account's ARNs in it
            "Name": name or session.name,
            "Via": session.via,
            "RoleArn": session.role_arn,
            "RegionsNotOptedIn": sorted(not_opted_in),
        },
        tags={},
    )


def record_region(ctx: CollectorContext, region: str, opt_in: str) -> None:
    """Evidence that a region of an account was collected: the places regional checks report on."""
    ctx.record(
        kind="collection.region",
        resource_type="region",
        resource_id=setting_id(ctx.account_id, region, "region"),
        payload={"RegionName": region, "OptInStatus": opt_in},
        region=region,
        tags={},
    )
