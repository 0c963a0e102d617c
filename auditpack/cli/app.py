"""The `auditpack` command line. Each command or command group lives in its own module; this one lists them
and maps errors to exit codes once: 0 success, 1 verification or job failed, 2 bad usage or input.

Start-up rules: this module imports no command module; a command's module is imported only when that command
runs (its `--help` included; see auditpack/cli/lazy.py). A command module imports at its top only Typer, Rich,
`auditpack.cli.output` and constants or enums its options list (modules that import nothing heavy); everything
else (settings, the store, SQLAlchemy, boto3, the API, pyHanko, WeasyPrint) is imported inside the command
function, so that `--help` and usage errors stay fast. tests/auditpack/test_cli_startup.py checks both for every
command.
"""

from __future__ import annotations

import sys
from typing import Any

import typer
import typer.main

from auditpack import __version__
from auditpack.cli.lazy import Lazy, LazyCommand, lazy_group
from core.errors import AuditpackError

# In the order a user meets them: try it, collect, look, package, verify, serve, administer. Each summary is the
# line the root's `--help` lists; a group's is its own help (tests/auditpack/test_cli_lazy.py checks both).
COMMANDS = (
    Lazy(
        "demo",
        "auditpack.cli.demo:demo",
        "Build a demo estate in moto, collect it and write signed packets of all three frameworks.",
    ),
    Lazy(
        "collect",
        "auditpack.cli.collect:collect",
        "Collect evidence from AWS (one account, listed accounts or the whole Organization) and evaluate the checks.",
    ),
    Lazy(
        "findings",
        "auditpack.cli.findings:findings",
        "Show findings; export them as OCSF or ASFF, or import them into Security Hub.",
    ),
    Lazy(
        "status",
        "auditpack.cli.status:status",
        "Print every control's status; with --from and --to, its history over the period.",
    ),
    Lazy(
        "diff",
        "auditpack.cli.diff:diff",
        "Compare two sealed runs: findings, resources and who changed them, control status.",
    ),
    Lazy(
        "frameworks",
        "auditpack.cli.frameworks:app",
        "Framework catalogs (HIPAA, PCI DSS, SOC 2 and your own) and their coverage.",
    ),
    Lazy(
        "evidence",
        "auditpack.cli.evidence:app",
        "Customer evidence: documents, attestations and records that support controls, reviewed by a second person.",
    ),
    Lazy(
        "exception",
        "auditpack.cli.exception:app",
        "Exceptions (risk acceptances): request with a justification and an expiry; another person approves.",
    ),
    Lazy(
        "packet",
        "auditpack.cli.packet:packet",
        "Evaluate stored evidence for one framework and write a signed PDF packet (and bundle) anyone can verify.",
    ),
    Lazy("export", "auditpack.cli.export:app", "Export evaluated evidence in interchange formats (OSCAL)."),
    Lazy(
        "verify",
        "auditpack.cli.verify:verify",
        "Check that stored evidence or a packet is intact and valid, saying exactly what failed.",
    ),
    Lazy("serve", "auditpack.cli.serve:serve", "Serve the API, the web interface at /ui and the nightly capture."),
    Lazy(
        "worker",
        "auditpack.cli.worker:worker",
        "Run queued jobs and the nightly capture (PostgreSQL); start as many as you like.",
    ),
    Lazy("token", "auditpack.cli.token:app", "API bearer tokens: create (shown once), list, revoke."),
    Lazy("jobs", "auditpack.cli.jobs:app", "Background jobs of the API: list them, retry a failed or interrupted one."),
    Lazy("access-log", "auditpack.cli.access_log:app", "The access log: export it, verify its hash chain."),
    Lazy(
        "notify",
        "auditpack.cli.notify:app",
        "Capture notifications to AUDITPACK_WEBHOOKS: send a test, read the delivery log.",
    ),
    Lazy(
        "iam-policy",
        "auditpack.cli.iam_policy:iam_policy",
        "Print the IAM policy (JSON) for the identity that runs auditpack and the role it assumes.",
    ),
    Lazy("db", "auditpack.cli.db:app", "Database schema management (Alembic)."),
)

app = typer.Typer(
    name="auditpack",
    help="Turn an AWS estate into audit-ready, signed evidence for HIPAA, PCI DSS and SOC 2.",
    cls=lazy_group(COMMANDS),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"auditpack {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    """auditpack: collect, map, package and serve compliance evidence."""


def command_paths() -> list[tuple[str, ...]]:
    """Every command and command group, as the words that invoke it (the root is `()`), in display order."""
    paths: list[tuple[str, ...]] = []

    def walk(command: Any, path: tuple[str, ...]) -> None:  # a click Command; a Group also has `commands`
        paths.append(path)
        if isinstance(command, LazyCommand):
            command = command.loaded()
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, (*path, name))

    walk(typer.main.get_command(app), ())
    return paths


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point. Usage errors exit 2 (Typer); our errors exit with their own code."""
    try:
        app(args=argv)
    except AuditpackError as exc:
        from rich.markup import escape

        from auditpack.cli.output import err

        # escape: messages quote user input and ids ("[demo]", ARNs) that Rich would take for markup
        err.print(f"[red]error:[/red] {escape(exc.diagnostics())}", highlight=False)
        sys.exit(exc.exit_code)
