"""Commands that import their module only when they run.

Typer builds every command of an app before it parses a word: importing each command module and turning each
function's signature into Click parameters (about 0.1 s for auditpack's fifty commands, against 0.06 s for Python
with Typer and Rich). Here the root group holds a stand-in per command, made from a row of data: the name and the
one-line summary the root's `--help` lists. Running the command (its `--help` included) imports that one module and
hands the arguments to the real command, built by Typer as before. tests/auditpack/test_cli_lazy.py checks that every
row loads under its name and that a group's summary is its own help, so the two cannot drift apart.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

import typer
import typer.main
from typer.core import TyperCommand, TyperGroup


@dataclass(frozen=True)
class Lazy:
    """A command of the root: `target` is `module:attribute`, a `typer.Typer` (a command group) or a command
    function; `summary` is what the root's `--help` lists: a group's own help, a command's one line."""

    name: str
    target: str
    summary: str

    def load(self) -> Any:  # a click Command of Typer's vendored Click
        module, attribute = self.target.split(":")
        found = getattr(importlib.import_module(module), attribute)
        if isinstance(found, typer.Typer):
            # get_group, not get_command: a group of one subcommand must stay a group (`export oscal`)
            return typer.main.get_group(found)
        single = typer.Typer(add_completion=False)  # the root has no completion options; nor do its commands
        single.command(self.name)(found)
        return typer.main.get_command(single)


class LazyCommand(TyperCommand):
    """Stands in for a command in its parent's help and loads the real one, once, when it is invoked."""

    def __init__(self, lazy: Lazy) -> None:
        super().__init__(name=lazy.name, help=lazy.summary)
        self.lazy = lazy
        self._loaded: Any = None

    def loaded(self) -> Any:
        if self._loaded is None:
            self._loaded = self.lazy.load()
        return self._loaded

    def make_context(self, info_name: str | None, args: list[str], parent: Any = None, **extra: Any) -> Any:
        # The group invokes `sub_ctx.command`, so everything after this (parsing, `--help`, running) is the real
        # command's own.
        return self.loaded().make_context(info_name, args, parent=parent, **extra)


def lazy_group(commands: tuple[Lazy, ...]) -> type[TyperGroup]:
    """A root group class (for `typer.Typer(cls=...)`) holding a stand-in for each command, in this order."""

    class LazyGroup(TyperGroup):
        def __init__(self, **attrs: Any) -> None:
            super().__init__(**attrs)
            for lazy in commands:
                self.add_command(LazyCommand(lazy))

    return LazyGroup
