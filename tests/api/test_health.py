"""Probes: /readyz says ready only when the service can do its work (database and data directory)."""

from __future__ import annotations

import shutil
from pathlib import Path

from fastapi.testclient import TestClient


def test_readyz_is_503_while_the_data_directory_cannot_be_written(
    client: TestClient, data_dir: Path, sqlite_only: None
) -> None:
    assert client.get("/readyz").json() == {"status": "ready", "database": "ok", "data_dir": "ok"}
    shutil.rmtree(data_dir)
    data_dir.write_text("a file where the packet volume should be")  # root ignores permissions, not this
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "ok", "data_dir": "unwritable"}
    assert str(data_dir) not in response.text  # an unauthenticated probe names no server path
    data_dir.unlink()
    data_dir.mkdir()
    assert client.get("/readyz").status_code == 200
    assert list(data_dir.iterdir()) == []  # the probe leaves nothing behind


def test_readyz_is_503_when_the_database_is_unreachable(make_app, data_dir: Path, sqlite_only: None) -> None:  # type: ignore[no-untyped-def]
    from evidence.db import make_engine

    broken = make_engine(f"sqlite:///{data_dir}")  # a directory is no database
    with TestClient(make_app(engine=broken, run_background=False)) as client:
        response = client.get("/readyz")
    assert response.status_code == 503 and response.json()["database"] == "unreachable"
