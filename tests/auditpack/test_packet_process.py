"""What a packet's build process raised, as the parent raises it again: the job's error (`describe_failure`) must
read the same as if the packet had been built on the job's thread."""

from __future__ import annotations

import threading

import pytest

from api.jobs.worker import describe_failure
from auditpack.packet_process import _portable, _reraised
from core.errors import ConflictError, InputError


class TwoArguments(Exception):
    """Its constructor takes other arguments than its args: unpickling it fails."""

    def __init__(self, what: str, why: str) -> None:
        super().__init__(f"{what}: {why}")


class Holding(Exception):
    """Its text comes from an attribute, and it holds a lock: it neither pickles nor rebuilds from its text."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code
        self.lock = threading.Lock()

    def __str__(self) -> str:
        return f"code {self.code}"


class Refusal(ConflictError):
    def __init__(self, day: str) -> None:
        super().__init__(f"nothing on {day}", hint="pick another day")


@pytest.mark.parametrize(
    "exc",
    [
        InputError("unknown framework 'x'", hint="see `auditpack frameworks`"),  # pickles as itself
        Refusal("2001-01-01"),  # an AuditpackError rebuilt from its message and hint
        TwoArguments("a", "b"),  # rebuilt from its text
        Holding(7),  # a stand-in of the same name saying the same
        ValueError("plain"),
    ],
    ids=["pickles", "auditpack-error", "other-constructor", "unpicklable", "builtin"],
)
def test_the_job_reads_the_same_error_from_a_child(exc: Exception) -> None:
    again = _reraised(_portable(exc))
    assert describe_failure(again) == describe_failure(exc)
    assert type(again).__name__ == type(exc).__name__
    if not isinstance(exc, Holding):
        assert type(again) is type(exc)
    assert again.__notes__[0].startswith("raised in the packet's build process ")
    assert type(exc).__name__ in again.__notes__[0]  # the child's traceback
