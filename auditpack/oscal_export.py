"""The OSCAL export use case (`auditpack export oscal`): resolve the framework, the window and the account scope
as a packet does, evaluate stored evidence, and write the OSCAL documents (reports.oscal) to a directory."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from auditpack import __version__
from auditpack.packets import NoEvidenceError, Window
from auditpack.settings import Settings
from auditpack.wiring import framework_status, load_framework_catalog, period_operation, verified_findings_provider
from core.canonical import rfc3339
from evidence.customer.service import customer_evidence
from evidence.store import EvidenceStore
from frameworks.results import FrameworkStatus

if TYPE_CHECKING:
    from reports.oscal.export import Written


@dataclass(frozen=True, slots=True)
class OscalExport:
    status: FrameworkStatus
    documents: list[Written]


def identity(framework: str, window: Window, accounts: Sequence[str], captures: str | None = None) -> dict[str, object]:
    """What an export is, for its UUIDs: the same framework, window, accounts (and for a period, captures: all or
    daily) give the same UUIDs."""
    found: dict[str, object] = {"framework": framework, "until": rfc3339(window.until), "accounts": sorted(accounts)}
    if window.since is not None:
        found["since"] = rfc3339(window.since)
        if captures is not None:
            found["captures"] = captures
    return found


def export_oscal(
    settings: Settings,
    store: EvidenceStore,
    *,
    framework: str,
    window: Window,
    accounts: Sequence[str] = (),
    out_dir: Path,
    force: bool = False,
    captures: str | None = None,
) -> OscalExport:
    """For a period, every capture in it is evaluated too (`captures`: all or daily, default the setting, as for
    `status --from --to` and a period packet): the assessment results get one observation per capture."""
    from reports.customer_view import PacketWindow, select
    from reports.oscal.context import ExportContext
    from reports.oscal.evidence import EvidenceSource
    from reports.oscal.export import newest_fact, write_directory
    from reports.oscal.ids import Ids

    catalog = load_framework_catalog(settings, framework)
    # Verdicts re-derived from the hashed evidence, as a packet's are: never findings read back as stored.
    verified = verified_findings_provider(settings)
    status = framework_status(
        settings, store, catalog, as_of=window.until, since=window.since, accounts=accounts, findings_for=verified
    )
    if not status.runs:
        raise NoEvidenceError(window)
    run_id = status.runs[0].id
    operation = None
    if window.since is not None:
        operation = period_operation(
            settings, store, catalog, since=window.since, until=window.until, captures=captures, accounts=accounts
        )
    scope = set(accounts)
    gaps = [gap for gap in store.gaps(run_id) if not scope or gap.account_id in scope]
    checks = {verdict.check_id: None for control in status.controls for verdict in control.checks}
    section = select(
        customer_evidence(store.engine, as_of=window.until),
        framework=status.framework_id,
        checks=checks,
        window=PacketWindow(until=window.until, since=window.since),
    )
    context = ExportContext(
        status=status,
        ids=Ids.for_export(
            identity(status.framework_id, window, accounts, operation.history.selection.value if operation else None)
        ),
        org_name=settings.org_name,
        last_modified=newest_fact(status, section),
        evidence=EvidenceSource(store, [run_id], sorted(scope) or None),
        gaps=gaps,
        customer=section,
        tool_version=__version__,
        period=(window.since, window.until) if window.since is not None else None,
        accounts=tuple(sorted(scope)),
        operation=operation,
    )
    return OscalExport(status, write_directory(context, out_dir, force=force))
