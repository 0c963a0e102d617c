"""Console helpers shared by commands: data to stdout, messages to stderr, JSON when asked."""

from __future__ import annotations

import enum
import json
import sys
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
    outputs, encoded by orjson (a year of period history is 13 MB: Python's encoder took several tenths of a
    second; indenting makes it pure Python, about ten times slower still). Both write what
    `json.dumps(data, default=str, ensure_ascii=False)` writes (datetimes and dataclasses through `str`)."""
    if compact:
        import orjson

        options = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_NON_STR_KEYS
        encoded = orjson.dumps(data, default=str, option=options) + b"\n"
        sys.stdout.flush()
        buffer = getattr(sys.stdout, "buffer", None)
        if buffer is not None:
            buffer.write(encoded)
            buffer.flush()
        else:  # a text-only stream (some test captures)
            sys.stdout.write(encoded.decode("utf-8"))
        return
    print(json.dumps(data, indent=2, default=str, ensure_ascii=False))
