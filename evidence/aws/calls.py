"""Turning API failures into gap records, and counting calls for the run's statistics."""

from __future__ import annotations

import html
import re
import threading
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

_XML_CODE = re.compile(r"<Code>([^<]+)</Code>")
_XML_MESSAGE = re.compile(r"<Message>([^<]*)</Message>")
_TAG = re.compile(r"<[^>]+>")
MAX_MESSAGE = 500


def _plain(message: str) -> str:
    text = " ".join(html.unescape(_TAG.sub(" ", message)).split())
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"


def describe_error(exc: BaseException) -> tuple[str, str]:
    """(error code, one-line message) for a failed call, as precise as the answer allows.

    botocore sometimes cannot parse an error body (moto answers some JSON APIs with XML errors and
    unimplemented ones with an HTML 500 page); then the code is read from the body, or is ``HTTP<status>``.
    """
    if isinstance(exc, ClientError):
        response: dict[str, Any] = exc.response or {}
        error = response.get("Error") or {}
        code = str(error.get("Code") or "")
        message = str(error.get("Message") or "")
        status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
        if not code or code.isdigit():
            nested = (response.get("Errors") or {}).get("Error") if isinstance(response.get("Errors"), dict) else None
            found = _XML_CODE.search(message)
            if found:
                code = found.group(1)
                text = _XML_MESSAGE.search(message)
                message = text.group(1) if text else message
            elif isinstance(nested, dict) and nested.get("Code"):
                code, message = str(nested["Code"]), str(nested.get("Message") or message)
            else:
                code = f"HTTP{status}" if status else "UnknownError"
        return code, _plain(message) or code
    if isinstance(exc, NotImplementedError):  # in-process moto's answer for an operation it does not implement
        return "NotImplemented", _plain(str(exc)) or "the endpoint does not implement this operation"
    if isinstance(exc, BotoCoreError):
        return type(exc).__name__, _plain(str(exc))
    return "InternalError", _plain(f"{type(exc).__name__}: {exc}")


@dataclass(frozen=True, slots=True)
class Failed:
    """A call that failed, returned (not recorded as a gap) to a caller that judges the failure itself."""

    call: str  # "service.Operation"
    code: str
    message: str


def retry_attempts(response_or_exc: Any) -> int:
    response = response_or_exc.response if isinstance(response_or_exc, ClientError) else response_or_exc
    if not isinstance(response, dict):
        return 0
    return int((response.get("ResponseMetadata") or {}).get("RetryAttempts") or 0)


class CallStats:
    """Thread-safe counters: calls, errors, retries and time per operation, and work per account/region."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._operations: dict[str, list[float]] = defaultdict(lambda: [0, 0, 0, 0.0])
        self._scopes: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])

    def call(self, operation: str, *, seconds: float, retries: int, failed: bool, account: str, region: str) -> None:
        with self._lock:
            entry = self._operations[operation]
            entry[0] += 1
            entry[1] += int(failed)
            entry[2] += retries
            entry[3] += seconds
            self._scopes[(account, region)][2] += 1

    def evidence(self, account: str, region: str) -> None:
        with self._lock:
            self._scopes[(account, region)][0] += 1

    def gap(self, account: str, region: str) -> None:
        with self._lock:
            self._scopes[(account, region)][1] += 1

    @property
    def api_calls(self) -> int:
        with self._lock:
            return int(sum(entry[0] for entry in self._operations.values()))

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            operations = {
                name: {"calls": int(c), "errors": int(e), "retries": int(r), "seconds": round(s, 3)}
                for name, (c, e, r, s) in sorted(self._operations.items())
            }
            scopes = [
                {"account_id": a, "region": r, "evidence": ev, "gaps": g, "api_calls": c}
                for (a, r), (ev, g, c) in sorted(self._scopes.items())
            ]
        return {
            "api_calls": sum(op["calls"] for op in operations.values()),
            "api_errors": sum(op["errors"] for op in operations.values()),
            "http_retries": sum(op["retries"] for op in operations.values()),
            "operations": operations,
            "scopes": scopes,
        }


class CallLimits:
    """A bound on AWS calls in flight per (account, service): AWS meters its API rate limits per account, so a
    large thread pool (or one account's per-resource fan-out) must not press one account's service harder than
    `per_service` calls at a time. Threads over the bound wait; botocore's adaptive retries still handle the
    throttling that remains."""

    def __init__(self, per_service: int) -> None:
        if per_service < 1:
            raise ValueError(f"per_service must be at least 1, got {per_service}")
        self.per_service = per_service
        self._lock = threading.Lock()
        self._slots: dict[tuple[str, str], threading.BoundedSemaphore] = {}

    def slot(self, account_id: str, service: str) -> threading.BoundedSemaphore:
        """The semaphore to hold (``with limits.slot(account, "ec2"):``) while calling `service` in `account_id`."""
        key = (account_id, service)
        with self._lock:
            slot = self._slots.get(key)
            if slot is None:
                slot = self._slots[key] = threading.BoundedSemaphore(self.per_service)
            return slot
