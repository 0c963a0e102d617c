"""Every CLI command starts without loading the stacks only some commands need: `--help` of the root and of every
command and group (enumerated from the Typer app, so commands added later are checked too) loads no database,
AWS, web, PDF, signing or settings stack. Each of those costs 0.1-0.5 s; together they made `--help` take 1.2-2 s.
bench/cli_startup.py measures the time; this checks the cause. `verify FILE` is checked in test_cli_packet.py,
where a real packet exists."""

from __future__ import annotations

import pytest

from auditpack.cli.app import COMMANDS, command_paths
from tests.auditpack.cli_probe import HEAVY, Loaded, loaded_by

# Commands that exist today; the enumeration must at least find these (it walks groups, so it finds new ones too).
KNOWN = {(), ("collect",), ("findings",), ("verify",), ("frameworks", "coverage"), ("token", "create"), ("db",)}


BAD_OPTION = ("findings", "--status", "no-such-status")


@pytest.fixture(scope="module")
def probed() -> dict[tuple[str, ...], Loaded]:
    """One probe for the module: `--help` of every command, and a usage error."""
    paths = command_paths()
    assert set(paths) >= KNOWN and len(paths) == len(set(paths))
    # Typer loads its help renderer for every `--help`: imported once before forking instead of 44 times.
    results = loaded_by([[*path, "--help"] for path in paths] + [list(BAD_OPTION)], preload=("typer.rich_utils",))
    assert [r.argv for r in results] == [(*path, "--help") for path in paths] + [BAD_OPTION]
    return {r.argv: r for r in results}


def test_every_commands_help_loads_no_heavy_stack(probed: dict[tuple[str, ...], Loaded]) -> None:
    helps = [r for argv, r in probed.items() if argv[-1:] == ("--help",)]
    assert len(helps) == len(command_paths())
    failures = {" ".join(r.argv): (r.code, r.error, r.of(*HEAVY)) for r in helps if r.code != 0 or r.of(*HEAVY)}
    assert failures == {}


def test_each_command_imports_its_own_module_and_no_other_commands(probed: dict[tuple[str, ...], Loaded]) -> None:
    """The root's help imports no command module; `auditpack W ... --help` imports W's module only."""
    module_of = {lazy.name: lazy.target.split(":")[0] for lazy in COMMANDS}
    assert [module_of[path[0]] for path in probed if path[:1] == ("findings",)] == ["auditpack.cli.findings"] * 2
    wrong = {}
    for argv, loaded in probed.items():
        commands = sorted(set(module_of.values()) & loaded.modules)
        expected = [module_of[argv[0]]] if argv[0] in module_of else []
        if commands != expected:
            wrong[" ".join(argv)] = commands
    assert wrong == {}


def test_a_usage_error_loads_no_heavy_stack_either(probed: dict[tuple[str, ...], Loaded]) -> None:
    bad_option = probed[BAD_OPTION]
    assert bad_option.code == 2 and bad_option.of(*HEAVY) == []
