"""AUDITPACK_DATA_DIR on its own, for commands that only read from the data directory: `auditpack verify FILE`
looks there for the local CA. Loading every setting would import pydantic-settings and SQLAlchemy (about half a
second) and fail on variables such a command never uses; `Settings.data_dir` reads the same variable, with the same
default, and also creates the directory and checks it is writable."""

from __future__ import annotations

import os
from pathlib import Path

VARIABLE = "AUDITPACK_DATA_DIR"
DEFAULT = Path("auditpack-data")


def configured_data_dir() -> Path:
    """The data directory as `load_settings().data_dir` names it (absolute), without creating or checking it.
    Like pydantic-settings, the variable's name is matched without regard to case."""
    for name, value in os.environ.items():
        if name.upper() == VARIABLE:
            return Path(value).resolve()
    return DEFAULT.resolve()
