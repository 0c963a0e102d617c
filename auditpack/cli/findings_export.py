"""`auditpack findings --format ocsf|asff` and `--push-securityhub`: the run's findings streamed as NDJSON, or
imported into Security Hub. Heavy imports stay inside the functions (the CLI's start-up time)."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from auditpack import __version__
from auditpack.cli.output import err
from core.errors import InputError

if TYPE_CHECKING:
    from auditpack.settings import Settings
    from evidence.models import Run
    from evidence.store import EvidenceStore
    from reports.findings_export import ExportRun


class Selection:
    """Which findings of which run: the command's filters, resolved once."""

    def __init__(
        self,
        store: EvidenceStore,
        run: Run,
        *,
        check: str | None,
        status: str | None,
        account: str | None,
        framework: str | None,
        settings: Settings,
    ) -> None:
        from auditpack.wiring import load_framework_catalogs
        from frameworks.structure import resolve_scopes
        from reports.findings_export import ComplianceIndex

        catalogs = load_framework_catalogs(settings)
        scopes = {c.id: resolve_scopes(c, settings.scopes_for(c.id)) for c in (e.catalog for e in catalogs)}
        index = ComplianceIndex((e.catalog for e in catalogs), scopes)
        if framework is not None:
            catalogs.get(framework)  # an unknown framework is an InputError naming the known ones
            index = index.only(framework)
        self.store, self.run, self.index = store, run, index
        self.filters: dict[str, Any] = {"check_id": check, "status": status, "account_id": account}
        self.filters["check_ids"] = index.checks() if framework is not None else None

    def findings(self) -> Iterator[Any]:
        from evidence.findings import iter_findings

        return iter_findings(self.store, self.run.id, **self.filters)

    def accounts(self) -> list[str]:
        from evidence.findings import finding_accounts

        return finding_accounts(self.store, self.run.id, **self.filters)

    def export_run(self) -> ExportRun:
        from evidence.findings import finding_set
        from reports.findings_export import ExportRun

        recorded = finding_set(self.store, self.run.id)
        assert recorded is not None  # the command evaluated the run first
        return ExportRun(
            run_id=self.run.id,
            evaluated_at=recorded.evaluated_at,
            findings_digest=recorded.digest,
            product_version=__version__,
        )


def security_hub_region(region: str | None, profile: str | None) -> str:
    """--region, else the region of the AWS profile or environment (AWS_REGION, AWS_DEFAULT_REGION)."""
    if region:
        return region
    import boto3
    from botocore.exceptions import ProfileNotFound

    try:
        found = boto3.Session(profile_name=profile).region_name
    except ProfileNotFound:
        raise InputError(f"AWS profile {profile!r} not found") from None
    if not found:
        raise InputError(
            "no Security Hub region: ASFF names the region its findings are imported into",
            hint="pass --region (e.g. --region us-east-1) or set AWS_REGION",
        )
    return found


def documents(selection: Selection, fmt: str, region: str | None) -> Iterator[dict[str, Any]]:
    """The selected findings rendered as OCSF events or ASFF findings, one at a time."""
    from evidence.checks.registry import check_metadata

    meta = check_metadata()
    run = selection.export_run()
    if fmt == "ocsf":
        from reports.ocsf import OcsfRenderer

        render: Callable[[Any], dict[str, Any]] = OcsfRenderer(meta, selection.index, run)
    else:
        from reports.asff import AsffRenderer, SecurityHubTarget

        assert region is not None
        render = AsffRenderer(meta, selection.index, run, SecurityHubTarget.for_region(region))
    return map(render, selection.findings())


@contextlib.contextmanager
def _destination(out: Path | None) -> Iterator[IO[str]]:
    """stdout, or a temporary file beside `out` renamed over it only once everything is written (an export that
    fails half-way leaves no truncated file behind, nor replaces a good one)."""
    if out is None:
        yield sys.stdout
        sys.stdout.flush()
        return
    if not out.parent.is_dir():
        raise InputError(f"cannot write {out}: {out.parent} is not a directory")
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".partial")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            yield handle
        Path(tmp).replace(out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _counting(items: Iterator[dict[str, Any]], advance: Callable[[int], None]) -> Iterator[dict[str, Any]]:
    for item in items:
        advance(1)
        yield item


def export(selection: Selection, fmt: str, *, out: Path | None, region: str | None) -> int:
    """Write the selection as NDJSON to `out` (or stdout); returns how many documents were written."""
    from auditpack.cli.progress import new_progress
    from reports.findings_export import write_ndjson

    items = documents(selection, fmt, region)
    with _destination(out) as stream:
        if not err.is_terminal:
            return write_ndjson(items, stream)
        with new_progress(err) as progress:
            task = progress.add_task(f"{fmt} findings of run {selection.run.id}", total=None)
            return write_ndjson(_counting(items, lambda n: progress.advance(task, n)), stream)


def push(selection: Selection, *, region: str, profile: str | None, role_name: str | None) -> Any:
    """Import the selection into Security Hub in `region`; returns the PushReport."""
    from reports.asff import SecurityHubTarget
    from reports.securityhub import push_findings

    SecurityHubTarget.for_region(region)  # a region in no partition is refused before any call
    client_for = _clients(selection.accounts(), region=region, profile=profile, role_name=role_name)
    items = documents(selection, "asff", region)
    if not err.is_terminal:
        return push_findings(items, client_for)
    from auditpack.cli.progress import new_progress

    with new_progress(err) as progress:
        task = progress.add_task(f"importing run {selection.run.id} into Security Hub {region}", total=None)
        return push_findings(items, client_for, on_sent=lambda n: progress.advance(task, n))


def _clients(accounts: list[str], *, region: str, profile: str | None, role_name: str | None) -> Callable[[str], Any]:
    """Security Hub clients per account: the caller's credentials for its own account, `role_name` assumed in
    the others. Checked before anything is sent, so a push never stops half-way for want of a role."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError, ProfileNotFound

    from evidence.aws.calls import describe_error
    from evidence.aws.partition import arn, partition_for_region
    from evidence.aws.session import assume_role_session, check_assumed, regional_sts
    from reports.securityhub import SecurityHubPushError

    try:
        session = boto3.Session(profile_name=profile, region_name=region)
    except ProfileNotFound:
        raise InputError(f"AWS profile {profile!r} not found") from None
    regional_sts(session)
    config = Config(
        retries={"mode": "adaptive", "total_max_attempts": 5},
        connect_timeout=5,
        read_timeout=60,
        user_agent_extra="auditpack",
    )
    try:
        caller = session.client("sts", config=config).get_caller_identity()["Account"]
    except (ClientError, BotoCoreError) as exc:
        code, message = describe_error(exc)
        raise InputError(f"cannot tell which AWS account the credentials belong to: {code}: {message}") from None
    others = [a for a in accounts if a != caller]
    if others and role_name is None:
        raise InputError(
            f"findings of account(s) {', '.join(others)} cannot be imported with the credentials of account "
            f"{caller}: Security Hub takes findings through an account's default product only from that account",
            hint="pass --role-name ROLE (a role in each of those accounts allowed securityhub:BatchImportFindings; "
            f"`auditpack iam-policy --push-securityhub --role-name ROLE`), or --account {caller}",
        )
    clients: dict[str, Any] = {caller: session.client("securityhub", config=config)}
    partition = partition_for_region(region)
    for account in others:
        assert role_name is not None
        member = assume_role_session(
            session,
            account_id=account,
            role_arn=arn(partition, "iam", "", account, f"role/{role_name}"),
            region=region,
            config=config,
            profile=profile,
        )
        try:
            check_assumed(member)
        except (ClientError, BotoCoreError) as exc:
            code, message = describe_error(exc)
            raise SecurityHubPushError(
                f"cannot assume {member.role_arn} to import account {account}'s findings: {code}: {message}; "
                "nothing was imported"
            ) from None
        clients[account] = member.client("securityhub", region)
    return clients.__getitem__
