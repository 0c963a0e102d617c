"""Fixtures of the fault suite."""

from __future__ import annotations

import pytest


@pytest.fixture
def pg_only(db_url: str) -> None:
    if db_url.startswith("sqlite"):
        pytest.skip("`auditpack worker` runs jobs with PostgreSQL only")
