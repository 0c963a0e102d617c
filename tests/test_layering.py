"""Dependencies point inward: auditpack/api -> reports -> frameworks -> evidence; never the other way."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# What each package may import, besides itself and third-party code.
ALLOWED = {
    "evidence": set(),
    "frameworks": {"evidence"},
    "reports": {"evidence", "frameworks"},
    "api": {"evidence", "frameworks", "reports"},
    "auditpack": {"evidence", "frameworks", "reports", "api"},
}


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_only_inward(package: str) -> None:
    violations = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for name in _imports(path) & (set(ALLOWED) - {package} - ALLOWED[package]):
            violations.append(f"{path.relative_to(ROOT)} imports {name}")
    assert violations == []
