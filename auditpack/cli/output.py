"""Console helpers shared by commands: data to stdout, messages to stderr, JSON when asked."""

from __future__ import annotations

import enum
import json
from typing import Any

from rich.console import Console

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


class OutputFormat(enum.StrEnum):
    table = "table"
    json = "json"


class CaptureOption(enum.StrEnum):
    """`--captures`: which runs of a period are evaluated (frameworks.history.Captures)."""

    all = "all"
    daily = "daily"


def print_json(data: Any) -> None:
    """Machine output: plain JSON on stdout (no Rich markup or wrapping)."""
    print(json.dumps(data, indent=2, default=str, ensure_ascii=False))
