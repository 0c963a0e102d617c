"""The root command lists every command from a row of data (auditpack.cli.app.COMMANDS) and imports a command's
module only when it runs: the rows must say what the commands are, and running through a stand-in must be running
the command."""

from __future__ import annotations

import inspect
import re

import typer

from auditpack.cli.app import COMMANDS
from tests.conftest import CliResult


def _first_paragraph(help_text: str | None) -> str:
    return inspect.cleandoc(help_text or "").split("\n\n")[0]


def test_every_row_names_a_command_that_loads_under_its_own_name() -> None:
    assert len({lazy.name for lazy in COMMANDS}) == len(COMMANDS)
    for lazy in COMMANDS:
        command = lazy.load()
        module, attribute = lazy.target.split(":")
        found = getattr(__import__(module, fromlist=[attribute]), attribute)
        if isinstance(found, typer.Typer):
            assert getattr(command, "commands", None), lazy  # a group, even of one subcommand (export oscal)
            # a group's summary is its own help, word for word, so the two cannot drift apart
            assert lazy.summary == _first_paragraph(command.help), lazy
        else:
            assert inspect.unwrap(command.callback) is found and not hasattr(command, "commands"), lazy
            # the options are the function's own: nothing added on the way (Typer's shell-completion options)
            options = {opt for param in command.params for opt in param.opts if opt.startswith("--")}
            assert not options & {"--install-completion", "--show-completion"}, lazy
            # a command's summary is the one line the root lists; its own help says the rest
            assert "\n" not in lazy.summary and len(lazy.summary) <= 110, lazy


def test_the_root_help_lists_every_command_in_order_with_its_summary(run_cli) -> None:  # type: ignore[no-untyped-def]
    result: CliResult = run_cli("--help")
    assert result.code == 0
    names = [m.group(1) for m in re.finditer(r"^│ (\S+) ", result.stdout, re.MULTILINE)]
    names = [n for n in names if not n.startswith("--")]  # the options panel
    assert names == [lazy.name for lazy in COMMANDS]
    listed = " ".join(result.stdout.replace("│", " ").split())
    for lazy in COMMANDS:
        assert " ".join(lazy.summary.split()) in listed, lazy.name


def test_a_command_run_through_its_stand_in_parses_runs_and_fails_as_itself(run_cli) -> None:  # type: ignore[no-untyped-def]
    helped = run_cli("export", "oscal", "--help")
    assert helped.code == 0 and "--framework" in helped.stdout
    ran = run_cli("iam-policy")
    assert ran.code == 0 and '"Version": "2012-10-17"' in ran.stdout
    bad = run_cli("findings", "--status", "no-such-status")
    assert bad.code == 2 and "'no-such-status' is not one of" in bad.stderr
    typo = run_cli("findngs")
    assert typo.code == 2 and "Did you mean 'findings'?" in typo.stderr
    assert run_cli("--version").stdout.startswith("auditpack ")
