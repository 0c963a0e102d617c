"""Readiness checks: can this replica do its work right now?"""

from __future__ import annotations

import tempfile
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError


def database_answers(engine: Engine) -> bool:
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError:
        return False
    return True


def data_dir_writable(data_dir: Path) -> bool:
    """Whether packets can be written: create and remove a file there. Permission bits alone would not do (root
    ignores them), a read-only mount or a file in the directory's place only shows when writing."""
    try:
        data_dir.mkdir(parents=True, exist_ok=True)  # as a packet build would
        with tempfile.NamedTemporaryFile(dir=data_dir, prefix=".readyz-"):
            pass
    except OSError:
        return False
    return True
