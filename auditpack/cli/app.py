"""The `auditpack` command line. Each command group lives in its own module; this one wires them and maps
errors to exit codes once: 0 success, 1 verification or job failed, 2 bad usage or input.

Start-up rule: a command module imports at its top only Typer, Rich, `auditpack.cli.output` and constants or
enums its options list (modules that import nothing heavy); everything else (settings, the store, SQLAlchemy,
boto3, the API, pyHanko, WeasyPrint) is imported inside the command function. Every module here is loaded for
every command, `--help` included; tests/auditpack/test_cli_startup.py checks it for every command.
"""

from __future__ import annotations

import sys
from typing import Any

import typer
import typer.main
from rich.markup import escape

from auditpack import __version__
from auditpack.cli import (
    access_log,
    collect,
    db,
    demo,
    diff,
    evidence,
    exception,
    export,
    findings,
    frameworks,
    iam_policy,
    jobs,
    notify,
    packet,
    serve,
    status,
    token,
    verify,
    worker,
)
from auditpack.cli.output import err
from core.errors import AuditpackError

app = typer.Typer(
    name="auditpack",
    help="Turn an AWS estate into audit-ready, signed evidence for HIPAA, PCI DSS and SOC 2.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
# In the order a user meets them: try it, collect, look, package, verify, serve, administer.
app.command("demo")(demo.demo)
app.command("collect")(collect.collect)
app.command("findings")(findings.findings)
app.command("status")(status.status)
app.command("diff")(diff.diff)
app.add_typer(frameworks.app, name="frameworks")
app.add_typer(evidence.app, name="evidence")
app.add_typer(exception.app, name="exception")
app.command("packet")(packet.packet)
app.add_typer(export.app, name="export")
app.command("verify")(verify.verify)
app.command("serve")(serve.serve)
app.command("worker")(worker.worker)
app.add_typer(token.app, name="token")
app.add_typer(jobs.app, name="jobs")
app.add_typer(access_log.app, name="access-log")
app.add_typer(notify.app, name="notify")
app.command("iam-policy")(iam_policy.iam_policy)
app.add_typer(db.app, name="db")


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
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, (*path, name))

    walk(typer.main.get_command(app), ())
    return paths


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point. Usage errors exit 2 (Typer); our errors exit with their own code."""
    try:
        app(args=argv)
    except AuditpackError as exc:
        # escape: messages quote user input and ids ("[demo]", ARNs) that Rich would take for markup
        err.print(f"[red]error:[/red] {escape(exc.diagnostics())}", highlight=False)
        sys.exit(exc.exit_code)
