"""Mutation benchmark: would the tests notice if the integrity code stopped being right?

For each MODULE (a path such as `evidence/chain.py`) it enumerates small, deterministic AST mutants:

    compare-flip      == <-> !=, < <-> >=, > <-> <=, is <-> is not, in <-> not in
    compare-boundary  < <-> <=, > <-> >=
    boolop            and <-> or
    negate            an if / while / ternary / comprehension condition `c` -> `not c` (and `not c` -> `c`)
    return-none       `return X` -> `return None`
    bool-flip         True <-> False (anywhere outside decorators and annotations)
    delete            a statement inside a function -> `pass`
    drop-key          one key of a dict literal removed (the dicts that get hashed)

Mutants that produce the same code are counted once. The repository (git's tracked and untracked, not ignored,
files) is copied to a temporary directory once; each mutant is written into the copy, only the tests mapped to
the module in `bench/mutation_targets.toml` run against it (`pytest -x`), and the original is put back. The
working tree is never written to, so you can keep working while it runs.

A mutant is killed when the tests fail or time out (timeouts are counted as killed and shown as such). Surviving
mutants judged equivalent (no behaviour a user could observe changes) are listed with their reason in
`bench/mutation_equivalent.toml` and left out of the percentage.

Usage: .venv/bin/python bench/mutation.py [MODULE...] [--max N] [--seed S] [--postgres] [--timeout SEC]
                                          [--fail-under P] [--list]
Without MODULE: every module in the targets file. Not part of `make test`: it takes minutes.
"""

from __future__ import annotations

import argparse
import ast
import copy
import importlib
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGETS = ROOT / "bench" / "mutation_targets.toml"
EQUIVALENT = ROOT / "bench" / "mutation_equivalent.toml"
SNIPPET = 72

COMPARE_FLIP: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Lt: ast.GtE,
    ast.GtE: ast.Lt,
    ast.Gt: ast.LtE,
    ast.LtE: ast.Gt,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
}
COMPARE_BOUNDARY: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
}
# Fields whose sub-trees are not run as code (or only at definition time, where a mutant breaks every test).
SKIPPED_FIELDS = {"annotation", "returns", "decorator_list", "type_comment"}


@dataclass
class Mutant:
    file: str
    line: int
    operator: str
    original: str
    mutated: str
    scope: str
    key: str = ""
    code: str = ""
    outcome: str = ""  # killed | timeout | survived
    seconds: float = 0.0

    @property
    def description(self) -> str:
        return f"{self.operator}: {self.original} -> {self.mutated}"


def _short(node: ast.AST | str) -> str:
    text = node if isinstance(node, str) else ast.unparse(node)
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= SNIPPET else text[: SNIPPET - 1] + "…"


def _negated(test: ast.expr) -> ast.expr:
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return test.operand
    return ast.UnaryOp(op=ast.Not(), operand=test)


def _flippable(test: ast.expr) -> bool:
    """`not a == b` is the compare-flip `a != b` in other words: one mutant, not two."""
    return isinstance(test, ast.Compare) and len(test.ops) == 1 and type(test.ops[0]) in COMPARE_FLIP


def _is_final_return(node: ast.AST, parent: ast.AST | None, index: int | None) -> bool:
    return (
        isinstance(node, ast.Return)
        and isinstance(parent, ast.FunctionDef | ast.AsyncFunctionDef)
        and index == len(parent.body) - 1
    )


@dataclass
class _Site:
    """One mutation of one tree: `apply` edits the tree in place."""

    line: int
    operator: str
    original: str
    mutated: str
    scope: str
    apply: Callable[[], None] = field(repr=False)


def _sites(tree: ast.Module) -> Iterator[_Site]:
    """Every mutation of `tree`, in a deterministic order (the same for every parse of the same source)."""

    def replace(parent: ast.AST, name: str, index: int | None, new: ast.AST) -> Callable[[], None]:
        def apply() -> None:
            if index is None:
                setattr(parent, name, new)
            else:
                getattr(parent, name)[index] = new

        return apply

    def visit(
        node: ast.AST, parent: ast.AST | None, name: str, index: int | None, scope: str, in_def: bool
    ) -> Iterator[_Site]:
        line = getattr(node, "lineno", getattr(parent, "lineno", 0))
        if isinstance(node, ast.Compare):
            for position, op in enumerate(node.ops):
                for operator, table in (("compare-flip", COMPARE_FLIP), ("compare-boundary", COMPARE_BOUNDARY)):
                    if type(op) not in table:
                        continue
                    mutated = copy.deepcopy(node)
                    mutated.ops[position] = table[type(op)]()

                    def apply(node: ast.Compare = node, position: int = position, new: type = table[type(op)]) -> None:
                        node.ops[position] = new()

                    yield _Site(line, operator, _short(node), _short(mutated), scope, apply)
        if isinstance(node, ast.BoolOp):
            other = ast.Or if isinstance(node.op, ast.And) else ast.And
            mutated = ast.BoolOp(op=other(), values=node.values)

            def apply_boolop(node: ast.BoolOp = node, other: type = other) -> None:
                node.op = other()

            yield _Site(line, "boolop", _short(node), _short(mutated), scope, apply_boolop)
        if isinstance(node, ast.If | ast.While | ast.IfExp) and not _flippable(node.test):
            negated = _negated(node.test)
            yield _Site(line, "negate", _short(node.test), _short(negated), scope, replace(node, "test", None, negated))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not) and parent is not None:
            apply_not = replace(parent, name, index, node.operand)
            yield _Site(line, "negate", _short(node), _short(node.operand), scope, apply_not)
        if isinstance(node, ast.comprehension):
            for position, condition in enumerate(node.ifs):
                if _flippable(condition):
                    continue
                negated = _negated(condition)
                apply_ifs = replace(node, "ifs", position, negated)
                yield _Site(line, "negate", _short(condition), _short(negated), scope, apply_ifs)
        if isinstance(node, ast.Return) and node.value is not None:
            value = node.value
            if isinstance(value, ast.Constant) and isinstance(value.value, bool):
                pass  # the bool-flip below covers it
            elif not (isinstance(value, ast.Constant) and value.value is None):
                none = ast.Constant(value=None)
                yield _Site(line, "return-none", _short(node), "return None", scope, replace(node, "value", None, none))
        if isinstance(node, ast.Constant) and isinstance(node.value, bool) and parent is not None:
            flipped = ast.Constant(value=not node.value)
            yield _Site(
                line, "bool-flip", repr(node.value), repr(not node.value), scope, replace(parent, name, index, flipped)
            )
        if isinstance(node, ast.Dict):
            for position, key in enumerate(node.keys):
                if key is None:
                    continue  # `**spread`

                def drop(node: ast.Dict = node, position: int = position) -> None:
                    del node.keys[position]
                    del node.values[position]

                pair = f"{ast.unparse(key)}: {ast.unparse(node.values[position])}"
                yield _Site(line, "drop-key", _short(pair), "(key dropped)", scope, drop)
        if (
            in_def
            and isinstance(node, ast.stmt)
            and index is not None
            and not isinstance(node, ast.Pass | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
            and not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))  # docstrings
            and not _is_final_return(node, parent, index)  # deleting it is `return None`, counted once above
        ):
            first_line = ast.unparse(node).splitlines()[0]
            yield _Site(line, "delete", _short(first_line), "pass", scope, replace(parent, name, index, ast.Pass()))

        inner_scope, inner_def = scope, in_def
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            inner_scope = f"{scope}.{node.name}" if scope else node.name
            inner_def = in_def or not isinstance(node, ast.ClassDef)
        for child_name, value in ast.iter_fields(node):
            if child_name in SKIPPED_FIELDS:
                continue
            if isinstance(value, list):
                for position, child in enumerate(value):
                    if isinstance(child, ast.AST):
                        yield from visit(child, node, child_name, position, inner_scope, inner_def)
            elif isinstance(value, ast.AST):
                yield from visit(value, node, child_name, None, inner_scope, inner_def)

    yield from visit(tree, None, "", None, "", False)


def mutants_of(module: str) -> list[Mutant]:
    """All distinct mutants of one file, each with its mutated source and a key that survives unrelated edits
    (scope, operator and snippets; no line number)."""
    source = (ROOT / module).read_text()
    original_code = ast.unparse(ast.parse(source))
    count = sum(1 for _ in _sites(ast.parse(source)))
    mutants: list[Mutant] = []
    seen_code = {original_code}
    seen_keys: dict[str, int] = {}
    for number in range(count):
        # A fresh tree per mutant: sites edit in place, and enumeration order is deterministic.
        tree = ast.parse(source)
        site = next(s for i, s in enumerate(_sites(tree)) if i == number)
        site.apply()
        code = ast.unparse(ast.fix_missing_locations(tree))
        if code in seen_code:
            continue
        seen_code.add(code)
        compile(code, module, "exec")  # a mutant that does not compile would be a bug here, not a kill
        mutant = Mutant(module, site.line, site.operator, site.original, site.mutated, site.scope, code=code)
        base = f"{site.scope or '<module>'}: {mutant.description}"
        seen_keys[base] = seen_keys.get(base, 0) + 1
        mutant.key = base if seen_keys[base] == 1 else f"{base} #{seen_keys[base]}"
        mutants.append(mutant)
    return mutants


def load_targets() -> dict[str, list[str]]:
    return dict(tomllib.loads(TARGETS.read_text())["modules"])


def load_equivalent() -> dict[tuple[str, str], str]:
    if not EQUIVALENT.exists():
        return {}
    entries = tomllib.loads(EQUIVALENT.read_text()).get("equivalent", [])
    return {(entry["file"], entry["key"]): entry["reason"] for entry in entries}


def copy_repo(destination: Path) -> None:
    """Copy what git sees (tracked and untracked, not ignored), so new tests count and caches and venvs do not."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout.split(b"\0")
    for raw in listed:
        if not raw:
            continue
        source = ROOT / raw.decode()
        if source.is_file():
            target = destination / raw.decode()
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


# Imported once in this process before any fork, so each mutant's test run pays only for our own code and the
# tests (never anything of ours: the children must import the mutated copy fresh).
PRELOAD = (
    "pytest",
    "_pytest.python",
    "sqlalchemy.orm",
    "sqlalchemy.dialects.sqlite",
    "sqlalchemy.dialects.postgresql",
    "alembic.command",
    "boto3",
    "botocore.session",
    "pydantic",
    "pydantic_settings",
    "yaml",
    "jinja2",
    "typer",
    "rich.console",
    "fastapi",
    "httpx",
    "moto",
    "cryptography.x509",
    "asn1crypto.cms",
    "pyhanko.sign",
    "pypdf",
)
OURS = ("evidence", "frameworks", "reports", "api", "auditpack", "ui", "core", "tests", "migrations")


class Runner:
    """Runs pytest in a forked child of a process that has imported the heavy third-party packages already:
    a fresh interpreter per mutant spent most of its time importing SQLAlchemy, boto3 and moto."""

    def __init__(self, workdir: Path, postgres: bool) -> None:
        self.workdir = workdir
        # No bytecode: a mutant of the same size written within the same second must never hit a stale .pyc.
        self.env = {**os.environ, "PYTHONPATH": str(workdir), "PYTHONDONTWRITEBYTECODE": "1"}
        if not postgres:
            self.env.pop("AUDITPACK_TEST_DATABASE_URL", None)
        elif not self.env.get("AUDITPACK_TEST_DATABASE_URL"):
            raise SystemExit("--postgres needs AUDITPACK_TEST_DATABASE_URL")
        for name in PRELOAD:
            try:
                importlib.import_module(name)
            except ImportError:
                continue
        leaked = sorted(name for name in sys.modules if name.split(".")[0] in OURS)
        if leaked:
            raise SystemExit(f"preloading imported project modules {leaked}; the mutants would not be seen")

    def _forked(self, child: Callable[[], int], timeout: float | None) -> tuple[int | None, str, float]:
        started = time.monotonic()
        with tempfile.TemporaryFile() as log:
            pid = os.fork()
            if pid == 0:  # the child: never returns
                code = 3
                try:
                    os.setsid()  # its own process group, so a timeout also ends whatever it started
                    os.dup2(log.fileno(), 1)
                    os.dup2(log.fileno(), 2)
                    os.chdir(self.workdir)
                    os.environ.clear()
                    os.environ.update(self.env)
                    sys.path.insert(0, str(self.workdir))
                    sys.dont_write_bytecode = True
                    code = child()
                except BaseException:
                    traceback.print_exc()
                finally:
                    sys.stdout.flush()
                    sys.stderr.flush()
                    os._exit(code)
            status = None
            while status is None:
                done, raw = os.waitpid(pid, os.WNOHANG)
                if done:
                    status = os.waitstatus_to_exitcode(raw)
                elif timeout is not None and time.monotonic() - started > timeout:
                    os.killpg(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
                    break
                else:
                    time.sleep(0.02)
            log.seek(0)
            return status, log.read().decode(errors="replace"), time.monotonic() - started

    def pytest(self, tests: list[str], extra: list[str], timeout: float | None) -> tuple[int | None, str, float]:
        def run() -> int:
            import pytest

            return int(pytest.main(["-x", "-q", "-p", "no:cacheprovider", *extra, *tests]))

        return self._forked(run, timeout)

    def check_imports_copy(self, module: str) -> None:
        """The editable install must not shadow the copy, or every mutant would 'survive'."""
        dotted = module.removesuffix(".py").replace("/", ".")

        def where() -> int:
            print(importlib.import_module(dotted).__file__)
            return 0

        _, found, _ = self._forked(where, 60)
        if Path(found.strip()).resolve() != (self.workdir / module).resolve():
            raise SystemExit(f"{dotted} imports from {found.strip()}, not from the mutated copy")


def baseline(runner: Runner, module: str, tests: list[str]) -> tuple[list[str], float]:
    """Run the module's tests unmutated; tests that already fail here (a missing tool, say) are deselected,
    since they would kill every mutant. Returns the deselect options and the baseline time."""
    code, output, seconds = runner.pytest(tests, ["-rf", "--no-header"], None)
    if code not in (0, 1):
        raise SystemExit(f"{module}: the baseline test run did not complete (exit {code}):\n{output[-3000:]}")
    failing = re.findall(r"^FAILED (\S+)", output, flags=re.MULTILINE)
    extra: list[str] = []
    deselected: list[str] = []
    while code == 1 and failing:  # -x stops at the first failure: repeat until the rest pass
        deselected += [name.split(" - ")[0] for name in failing]
        extra = [f"--deselect={name}" for name in deselected]
        code, output, seconds = runner.pytest(tests, ["-rf", "--no-header", *extra], None)
        failing = re.findall(r"^FAILED (\S+)", output, flags=re.MULTILINE)
    if code != 0:
        raise SystemExit(f"{module}: the baseline test run fails:\n{output[-3000:]}")
    for name in deselected:
        print(f"  note: {name} fails without any mutant; deselected", file=sys.stderr)
    return extra, seconds


def run_module(
    runner: Runner, module: str, tests: list[str], mutants: list[Mutant], timeout: float | None
) -> list[Mutant]:
    extra, base_seconds = baseline(runner, module, tests)
    limit = timeout or max(30.0, 5 * base_seconds)
    runner.check_imports_copy(module)
    target = runner.workdir / module
    original = target.read_text()
    print(f"{module}: {len(mutants)} mutants, tests {' '.join(tests)} ({base_seconds:.1f} s)", file=sys.stderr)
    try:
        for number, mutant in enumerate(mutants, 1):
            target.write_text(mutant.code)
            code, _, mutant.seconds = runner.pytest(tests, extra, limit)
            mutant.outcome = "timeout" if code is None else "survived" if code == 0 else "killed"
            if code not in (None, 0, 1):  # 2-5: collection or usage error, e.g. the mutant broke an import
                mutant.outcome = "killed"
            print(
                f"  [{number}/{len(mutants)}] {module}:{mutant.line} {mutant.description}: {mutant.outcome}"
                f" ({mutant.seconds:.1f} s)",
                file=sys.stderr,
            )
    finally:
        target.write_text(original)
    return mutants


def report(module: str, mutants: list[Mutant], equivalent: dict[tuple[str, str], str]) -> float:
    survivors = [m for m in mutants if m.outcome == "survived"]
    equivalent_survivors = [m for m in survivors if (m.file, m.key) in equivalent]
    real = len(mutants) - len(equivalent_survivors)
    killed = sum(1 for m in mutants if m.outcome in ("killed", "timeout"))
    timeouts = sum(1 for m in mutants if m.outcome == "timeout")
    percent = 100.0 * killed / real if real else 100.0
    notes = [f"{len(equivalent_survivors)} equivalent"]
    if timeouts:
        notes.append(f"{timeouts} killed by timeout")
    print(f"{module}: killed {killed} of {real} ({percent:.1f}%); {', '.join(notes)}")
    for mutant in survivors:
        reason = equivalent.get((mutant.file, mutant.key))
        mark = f"  equivalent: {reason}" if reason else ""
        print(f"  {mutant.file}:{mutant.line}  {mutant.description}{mark}")
        if not reason:
            print(f"      key: {mutant.key}")
    for mutant in mutants:
        if mutant.outcome != "survived" and (mutant.file, mutant.key) in equivalent:
            print(f"  note: marked equivalent but killed, remove from {EQUIVALENT.name}: {mutant.key}")
    return percent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", help="e.g. evidence/chain.py (default: every module in the targets)")
    parser.add_argument("--max", type=int, help="sample at most N mutants per module")
    parser.add_argument("--seed", type=int, default=0, help="seed for --max sampling (default 0)")
    parser.add_argument("--postgres", action="store_true", help="also run the PostgreSQL variants")
    parser.add_argument("--timeout", type=float, help="seconds per mutant (default: max(30, 5 x baseline))")
    parser.add_argument("--fail-under", type=float, help="exit 1 if any module kills less than P%%")
    parser.add_argument("--list", action="store_true", help="list the mutants and their keys; run nothing")
    args = parser.parse_args(argv)
    # `kill` as well as Ctrl-C must unwind, so the temporary copy is removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(130))

    targets = load_targets()
    modules = [m.removeprefix("./") for m in args.modules] or list(targets)
    unknown = [m for m in modules if m not in targets]
    if unknown:
        raise SystemExit(f"not in {TARGETS.relative_to(ROOT)}: {', '.join(unknown)} (add a line: module = [tests])")
    equivalent = load_equivalent()

    plans: list[tuple[str, list[str], list[Mutant]]] = []
    for module in modules:
        mutants = mutants_of(module)
        if args.max is not None and len(mutants) > args.max:
            chosen = sorted(random.Random(args.seed).sample(range(len(mutants)), args.max))
            mutants = [mutants[i] for i in chosen]
        tests = [t for t in targets[module] if (ROOT / t).exists()]
        for missing in sorted(set(targets[module]) - set(tests)):
            print(f"  note: {missing} (listed for {module}) does not exist; skipped", file=sys.stderr)
        if not tests:
            raise SystemExit(f"{module}: no tests listed in {TARGETS.relative_to(ROOT)} exist")
        plans.append((module, tests, mutants))

    if args.list:
        for module, _, mutants in plans:
            for mutant in mutants:
                print(f"{module}:{mutant.line}  {mutant.description}\n    key: {mutant.key}")
        return 0

    lowest = 100.0
    with tempfile.TemporaryDirectory(prefix="auditpack-mutation-") as workdir:
        copy_repo(Path(workdir))
        runner = Runner(Path(workdir), args.postgres)
        results = [
            (module, run_module(runner, module, tests, mutants, args.timeout)) for module, tests, mutants in plans
        ]
    for module, mutants in results:
        lowest = min(lowest, report(module, mutants, equivalent))
    if args.fail_under is not None and lowest < args.fail_under:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
