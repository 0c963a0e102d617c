"""Which modules a CLI command loads: one fresh interpreter imports the command line once (as `auditpack` does),
then forks one child per command line, which runs it with its output discarded and reports its exit code and every
module loaded when it ended. Forking keeps each command's module set its own at the cost of one start-up.

    python tests/auditpack/cli_probe.py '{"argvs": [["--help"], ["verify", "packet.pdf"]], "preload": []}'

prints one JSON line per command. `preload` names modules the parent imports before forking, so that each child
does not import them again: only for modules the commands load anyway (Typer's help renderer for `--help`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Top-level packages that no `--help` may load (the rule, in auditpack/cli/app.py and the README: import heavy
# modules inside the command function). pydantic comes with the settings, and with Typer >= 0.29, which coerces
# every parameter through it (pyproject.toml keeps Typer below that).
HEAVY = (
    "sqlalchemy",
    "alembic",
    "psycopg",
    "api",
    "boto3",
    "botocore",
    "s3transfer",
    "weasyprint",
    "pyhanko",
    "pyhanko_certvalidator",
    "cryptography",
    "moto",
    "fastapi",
    "starlette",
    "uvicorn",
    "procrastinate",
    "pydantic",
    "pydantic_settings",
    "jinja2",
    "yaml",
)
# What `verify FILE` needs of those: signature validation. The rest stays out of it too.
VERIFICATION = ("pyhanko", "pyhanko_certvalidator", "cryptography")


@dataclass(frozen=True)
class Loaded:
    argv: tuple[str, ...]
    code: int  # the exit code; -1 when the command raised instead of exiting (see `error`)
    modules: frozenset[str]
    error: str | None = None
    stderr: str = ""  # what the command wrote to standard error (warnings included)

    def of(self, *packages: str) -> list[str]:
        """Which of these top-level packages were loaded."""
        return sorted({m.split(".")[0] for m in self.modules} & set(packages))


def loaded_by(argvs: list[list[str]], *, preload: tuple[str, ...] = ()) -> list[Loaded]:
    """Run each `auditpack ARGV` as described above, in the current environment and working directory."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run(
        [sys.executable, __file__, json.dumps({"argvs": argvs, "preload": preload})],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return [
        Loaded(tuple(row["argv"]), row["code"], frozenset(row["modules"]), row.get("error"), row.get("stderr", ""))
        for row in map(json.loads, done.stdout.splitlines())
    ]


def _child(argv: list[str], report: int) -> None:
    import tempfile

    from auditpack.cli.app import main

    devnull = os.open(os.devnull, os.O_WRONLY)
    errors = tempfile.TemporaryFile()  # noqa: SIM115  open until the child ends, read back below
    os.dup2(devnull, 1)
    os.dup2(errors.fileno(), 2)
    error = None
    try:
        main(argv)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException as exc:  # reported to the parent, which says which command failed
        code, error = -1, f"{type(exc).__name__}: {exc}"
    sys.stderr.flush()
    errors.seek(0)
    stderr = errors.read().decode(errors="replace")
    with os.fdopen(report, "w") as out:
        json.dump({"argv": argv, "code": code, "modules": sorted(sys.modules), "error": error, "stderr": stderr}, out)


def _probe(argvs: list[list[str]], preload: list[str]) -> None:
    import importlib

    import auditpack.cli.app  # noqa: F401  what every `auditpack` process imports before parsing its arguments

    for name in preload:
        importlib.import_module(name)

    for argv in argvs:
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read)
            try:
                _child(argv, write)
            finally:
                os._exit(0)
        os.close(write)
        with os.fdopen(read) as answer:
            line = answer.read()
        os.waitpid(pid, 0)
        print(line or json.dumps({"argv": argv, "code": -1, "modules": [], "error": "no report"}), flush=True)


if __name__ == "__main__":
    request = json.loads(sys.argv[1])
    _probe(request["argvs"], request["preload"])
