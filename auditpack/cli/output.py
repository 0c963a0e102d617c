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


def print_json(data: Any, *, compact: bool = False) -> None:
    """Machine output: plain JSON on stdout (no Rich markup or wrapping); `compact`: on one line, for large
    outputs (indenting makes Python's encoder pure Python, about ten times slower)."""
    if compact:
        print(json.dumps(data, separators=(",", ":"), default=str, ensure_ascii=False))
        return
    print(json.dumps(data, indent=2, default=str, ensure_ascii=False))
