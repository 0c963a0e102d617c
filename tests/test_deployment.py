"""What can be checked of the container build without a Docker engine: every path the Dockerfile copies exists,
the entry point is the installed console script, the health check hits a real route, the image runs as a
non-root user, the compose example only sets variables auditpack knows, and the wheel the image installs
carries every data file (catalogs, templates, migrations) an editable install would find in the tree."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
import yaml

from auditpack.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def _instructions(name: str) -> list[str]:
    joined = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    return [line.split(None, 1)[1] for line in joined.splitlines() if line.upper().startswith(name + " ")]


def test_every_copied_path_exists() -> None:
    sources = []
    for args in _instructions("COPY"):
        if "--from=" in args:  # copied from an earlier stage, not from the build context
            continue
        parts = [p for p in shlex.split(args) if not p.startswith("--")]
        sources += parts[:-1]
    assert sources, "the Dockerfile copies nothing"
    missing = [s for s in sources if not (ROOT / s).exists()]
    assert missing == []


def test_multi_stage_slim_base_non_root_user() -> None:
    bases = _instructions("FROM")
    assert len(bases) >= 2 and all("slim" in base for base in bases)
    [user] = _instructions("USER")
    assert user.strip() not in ("root", "0")


def test_entry_point_is_the_installed_console_script_serving() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    [entry] = _instructions("ENTRYPOINT")
    command = json.loads(entry)
    assert command[0] in scripts and scripts[command[0]] == "auditpack.cli.app:main"
    assert command[1:] == ["serve"]


def test_health_check_targets_the_liveness_route(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from api.app import create_app
    from evidence.db import make_engine, upgrade_schema

    [check] = _instructions("HEALTHCHECK")
    assert "http://127.0.0.1:8000/healthz" in check and '"--port", "8000"' in DOCKERFILE
    engine = make_engine(f"sqlite:///{tmp_path / 'health.db'}")
    upgrade_schema(engine)
    with TestClient(create_app(engine=engine, data_dir=tmp_path, run_background=False)) as client:
        assert client.get("/healthz").status_code == 200


def test_weasyprint_libraries_are_installed_in_the_runtime_image() -> None:
    for package in ("libpango-1.0-0", "libpangoft2-1.0-0", "libharfbuzz-subset0", "fonts-dejavu-core"):
        assert package in DOCKERFILE


def test_compose_sets_only_known_variables() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    known = {f"AUDITPACK_{name.upper()}" for name in Settings.model_fields}
    used = set()
    for service in compose["services"].values():
        used |= {key for key in (service.get("environment") or {}) if key.startswith("AUDITPACK_")}
    assert used and used <= known, used - known


@pytest.mark.slow
def test_the_wheel_ships_every_data_file(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
    )
    [wheel] = tmp_path.glob("auditpack-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = [
        "frameworks/catalogs/hipaa.yaml",
        "frameworks/catalogs/pci-dss-4.0.1.yaml",
        "frameworks/catalogs/soc2.yaml",
        "evidence/checks/iam.yaml",
        "evidence/checks/data/lambda_runtimes.yaml",
        "evidence/checks/data/security_events.yaml",
        "migrations/env.py",
        "migrations/script.py.mako",
        "reports/templates/packet.html",
        "reports/templates/packet.css",
    ]
    expected += [str(p.relative_to(ROOT)) for p in (ROOT / "migrations" / "versions").glob("*.py")]
    expected += [str(p.relative_to(ROOT)) for p in (ROOT / "reports" / "templates").iterdir() if p.is_file()]
    for package in ("evidence", "frameworks", "reports", "api", "auditpack"):
        expected += [str(p.relative_to(ROOT)) for p in (ROOT / package).rglob("*.yaml")]
    assert sorted(set(expected) - names) == []
