"""Dependencies point inward: auditpack/api -> reports -> frameworks -> evidence -> core; never the other way.

`migrations` sits beside `auditpack` at the top: it owns the schema, so it may load every package's models, and
only the shell (`auditpack`) runs it.
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from migrations.registry import MODEL_MODULES

ROOT = Path(__file__).resolve().parents[1]
# What each package may import, besides itself and third-party code.
ALLOWED = {
    "core": set(),
    "evidence": {"core"},
    "frameworks": {"core", "evidence"},
    "reports": {"core", "evidence", "frameworks"},
    "api": {"core", "evidence", "frameworks", "reports"},
    "migrations": {"core", "evidence", "api"},  # narrowed to single modules below
    "auditpack": {"core", "evidence", "frameworks", "reports", "api", "migrations"},
}
# The migration environment needs the engine factory (`evidence.db`, which imports only `core`) to run, and the
# modules that declare tables, so the migrated schema can be compared with the models. Nothing else: importing a
# service, route or store would make a schema upgrade load (and depend on) code that has nothing to do with tables.
# Revision scripts import nothing of ours at all: they carry frozen copies of the types they use, so a migration
# never changes when a model does.
MIGRATIONS_MAY_IMPORT = {"core", "evidence.db", *MODEL_MODULES}


def _modules(path: Path) -> set[str]:
    """Every absolute module a file imports (`from a.b import c` gives `a.b`)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _imports(path: Path) -> set[str]:
    return {name.split(".")[0] for name in _modules(path)}


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_only_inward(package: str) -> None:
    violations = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for name in _imports(path) & (set(ALLOWED) - {package} - ALLOWED[package]):
            violations.append(f"{path.relative_to(ROOT)} imports {name}")
    assert violations == []


def _allowed_in_migrations(module: str) -> bool:
    return module.split(".")[0] == "migrations" or any(
        module == allowed or module.startswith(allowed + ".") for allowed in MIGRATIONS_MAY_IMPORT
    )


def test_migrations_import_only_core_the_engine_and_the_model_modules() -> None:
    ours = set(ALLOWED)
    violations = []
    for path in sorted((ROOT / "migrations").rglob("*.py")):
        for module in sorted(_modules(path)):
            if module.split(".")[0] not in ours:
                continue
            if "versions" in path.parts and module.split(".")[0] != "migrations":
                violations.append(f"{path.relative_to(ROOT)} imports {module}: revision scripts use frozen copies")
            elif not _allowed_in_migrations(module):
                violations.append(f"{path.relative_to(ROOT)} imports {module}")
    assert violations == []


def test_evidence_loads_no_other_package_at_run_time() -> None:
    """Importing the evidence store, its verification and its database code (and making an engine) loads only
    `evidence` and `core`: no model of `api` comes in through the schema code, as it once did."""
    script = (
        "import sys\n"
        "import evidence.db, evidence.store, evidence.verification, evidence.findings_check\n"
        "evidence.db.make_engine('sqlite://')\n"
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert sorted(set(loaded) & (set(ALLOWED) - {"evidence", "core"})) == []
