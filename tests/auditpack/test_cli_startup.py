"""Every CLI command starts without loading the heavy stacks only some commands need (each costs ~0.2-0.5 s)."""

import subprocess
import sys

HEAVY = ("weasyprint", "pyhanko", "uvicorn", "fastapi", "moto", "alembic")


def test_the_command_line_loads_pdf_web_and_migration_stacks_only_when_a_command_needs_them() -> None:
    probe = f"import sys; from auditpack.cli.app import app; print(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split()
    assert loaded == []
