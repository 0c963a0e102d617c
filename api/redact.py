"""Error texts as the API shows them: without the server's file system paths.

A failed job's stored error is written for the operator (`auditpack jobs list` shows it whole, and the server log
has the traceback); over HTTP, an absolute path such as `/var/lib/auditpack/data/packets/.staging-…/packet.pdf`
tells a client how the server is laid out. Each one is cut to its last part (`…/packet.pdf`), which keeps the
message useful. API paths (`/v1/...`) in hints are kept.
"""

from __future__ import annotations

import re

# An absolute POSIX path of at least two parts, not inside a URL or a word ("https://x/y", "pass/fail").
_PATH = re.compile(r"(?<![\w.:/~-])(?!/v1/)(?:/[^\s/'\"`<>|,;:()\[\]{}]+){2,}/?")


def without_paths(text: str | None) -> str | None:
    if text is None:
        return None
    return _PATH.sub(_last_part, text)


def _last_part(match: re.Match[str]) -> str:
    return "…/" + match.group(0).rstrip("/").rsplit("/", 1)[-1]
