"""Web sessions: a signed cookie tied to the token that was pasted at sign-in.

The cookie holds the token's id, a random session nonce and when the session began, with an HMAC whose key is
derived from the server secret *and the token's stored hash*: it verifies only against that token row. Every
request loads the row and asks `api.services.tokens.principal_of` who it is, the rule bearer requests follow, so
a revoked or expired token ends its sessions at the next click, and an auditor's view narrows as grants end.
Sessions also end after `SESSION_LIFETIME`; the secret itself never reaches the browser.

Signing out deletes the cookie from the browser. The server keeps no session table (no state to replicate
between replicas), so a copy of the cookie taken before sign-out stays usable until the token is revoked or the
session's lifetime ends: revoke the token to end every session of it at once.

CSRF: the token of a session is an HMAC of its nonce (synchroniser token, never stored); before sign-in, the
sign-in form is bound the same way to a short-lived random cookie.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

SESSION_COOKIE = "auditpack_session"
SIGNIN_COOKIE = "auditpack_signin"
SESSION_LIFETIME = timedelta(hours=12)
SIGNIN_LIFETIME = timedelta(minutes=30)
_COOKIE = re.compile(r"^([0-9]{1,18})\.([A-Za-z0-9_-]{22})\.([0-9]{1,12})\.([A-Za-z0-9_-]{43})$")
_NONCE = re.compile(r"^[A-Za-z0-9_-]{22}$")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _mac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode("ascii"), hashlib.sha256).digest()


@dataclass(frozen=True, slots=True)
class WebSession:
    token_id: int
    nonce: str
    started_at: datetime
    mac: str

    @property
    def payload(self) -> str:
        return f"{self.token_id}.{self.nonce}.{int(self.started_at.timestamp())}"


class SessionKeys:
    """Signs and checks session cookies and CSRF tokens with keys derived from one server secret."""

    def __init__(self, secret: bytes) -> None:
        self._root = hmac.new(secret, b"auditpack-ui-v1", hashlib.sha256).digest()

    def _token_key(self, secret_sha256: str) -> bytes:
        return _mac(self._root, f"session:{secret_sha256}")

    def issue(self, *, token_id: int, secret_sha256: str, now: datetime) -> str:
        nonce = _b64(secrets.token_bytes(16))
        session = WebSession(token_id=token_id, nonce=nonce, started_at=now, mac="")
        return f"{session.payload}.{_b64(_mac(self._token_key(secret_sha256), session.payload))}"

    @staticmethod
    def parse(value: str | None) -> WebSession | None:
        """The cookie's fields when it is well formed (not yet verified against its token), else None."""
        match = _COOKIE.fullmatch(value or "")
        if match is None:
            return None
        token_id, nonce, started, mac = match.groups()
        return WebSession(int(token_id), nonce, datetime.fromtimestamp(int(started), UTC), mac)

    def verify(self, session: WebSession, *, secret_sha256: str) -> bool:
        expected = _b64(_mac(self._token_key(secret_sha256), session.payload))
        return hmac.compare_digest(expected, session.mac)

    def csrf(self, nonce: str) -> str:
        """The CSRF token of a session (or of a sign-in form, by its cookie's nonce)."""
        return _b64(_mac(self._root, f"csrf:{nonce}"))

    def csrf_ok(self, nonce: str | None, presented: str | None) -> bool:
        if not nonce or not presented:
            return False
        return hmac.compare_digest(self.csrf(nonce), presented)


def new_signin_nonce() -> str:
    return _b64(secrets.token_bytes(16))


def valid_nonce(value: str | None) -> bool:
    return _NONCE.fullmatch(value or "") is not None
