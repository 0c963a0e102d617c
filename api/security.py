"""Bearer token secrets: generation, recognisable format and the hash that is all the database keeps.

A token is `ap_` followed by 43 URL-safe base64 characters (256 random bits). The prefix lets secret scanners
(and people) recognise a leaked auditpack token. Only SHA-256 of the whole string is stored: with 256 bits of
entropy a fast hash is enough (no dictionary to guess from), and lookup by hash leaks no timing about the secret.
"""

from __future__ import annotations

import hashlib
import re
import secrets

TOKEN_PREFIX = "ap_"  # noqa: S105 - a public prefix, not a secret
_SECRET_BYTES = 32
TOKEN_PATTERN = re.compile(r"^ap_[A-Za-z0-9_-]{43}$")
HINT_LENGTH = 7  # "ap_" and four characters: enough to tell tokens apart in a listing, useless to an attacker


def new_secret() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(_SECRET_BYTES)


def is_well_formed(secret: str) -> bool:
    return TOKEN_PATTERN.fullmatch(secret) is not None


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def secret_hint(secret: str) -> str:
    return secret[:HINT_LENGTH]
