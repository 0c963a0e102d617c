"""Who asked, as stored: the length of every "actor" column, and how a longer label is cut to fit.

An actor label is derived, never typed by one person: "officer token 12 (alice)", "auditor token 7 (Acme LLP)",
"cli:alice@build-host", "scheduler". The API's part is bounded by its inputs (a note has at most 256 characters,
so a token's name at most len("auditor token ") + 19 digits + len(" ()") + 256 = 292 characters); the CLI's part
comes from the environment (login name, host name) and is not. Columns take ACTOR_MAX_LENGTH, and `fit_label` cuts
anything longer deterministically, keeping distinct labels distinct.
"""

from __future__ import annotations

import hashlib

ACTOR_MAX_LENGTH = 320  # runs.requested_by, api_*.requested_by / created_by, api_access_log.principal
_DIGEST_CHARS = 10


def fit_label(text: str, limit: int = ACTOR_MAX_LENGTH) -> str:
    """`text` if it fits in `limit` characters, else its head, "…" and 10 hex digits of its SHA-256."""
    if len(text) <= limit:
        return text
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:_DIGEST_CHARS]
    return f"{text[: limit - _DIGEST_CHARS - 1]}…{digest}"
