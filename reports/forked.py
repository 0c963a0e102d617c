"""Run one stage of a packet build in a forked process, beside the rest of the build (issue 18).

Writing the OSCAL documents is Python-bound work (a million observations, each a dict encoded to JSON) that shares
nothing with the PDF but the store it reads, so on a machine with two cores it runs in a child process while the
parent writes the payloads, findings and body. Fork, not spawn: the child inherits the status, gaps and customer
evidence as they are (nothing is pickled on the way in) and starts at once.

The child never uses the parent's database connections: `engine.dispose(close=False)` drops them from its pool
without closing them (closing a PostgreSQL connection in the child would end the parent's session), so it opens
its own. A database the child cannot reopen (SQLite `:memory:`, which lives in one connection), a caller other
than the main thread (see `can_fork`) or a platform without fork runs the stage in the calling process instead.
The child leaves through `os._exit` (multiprocessing does that), so the parent's cleanup callbacks, copied into
it, never run there.
"""

from __future__ import annotations

import multiprocessing
import pickle
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any, Generic, TypeVar

from sqlalchemy import Engine

T = TypeVar("T")


def can_fork(engine: Engine) -> bool:
    """Whether a forked child can open its own connection to `engine`'s database and see the same data, safely:
    only from the main thread. A packet built on a job thread (`auditpack serve`, `auditpack worker`) shares its
    process with other jobs' threads, and a child would inherit whatever locks they hold at that instant (SQLite's,
    fontconfig's while another body renders) and could hang on them; there the stages run in process, as before."""
    if "fork" not in multiprocessing.get_all_start_methods():
        return False
    if threading.current_thread() is not threading.main_thread() or multiprocessing.current_process().daemon:
        return False  # (a daemonic process may not start children)
    url = engine.url
    return not (url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"))


class _Failed:
    """What the child raised: the exception itself when it pickles, else its type and message."""

    def __init__(self, exc: BaseException) -> None:
        self.exc: BaseException | None = exc
        try:
            pickle.dumps(exc)  # the pipe pickles it on the way to the parent
        except Exception:  # an exception holding something unpicklable: keep what it said
            self.exc = None
        self.kind = type(exc).__name__
        self.message = str(exc)


def _child(engine: Engine, action: Callable[[], Any], out: Connection) -> None:
    engine.dispose(close=False)
    try:
        result: Any = action()
    except BaseException as exc:  # every failure goes back to the parent, which raises it
        result = _Failed(exc)
    out.send(result)
    out.close()


class Forked(Generic[T]):
    """`action()` running in a child process (or already run, when forking is not possible); `result()` waits."""

    def __init__(self, engine: Engine, action: Callable[[], T]) -> None:
        self._process: Any = None
        self._inline: T | None = None
        self._receive: Connection | None = None
        if not can_fork(engine):
            self._inline = action()
            return
        context = multiprocessing.get_context("fork")
        receive, send = context.Pipe(duplex=False)
        self._process = context.Process(target=_child, args=(engine, action, send), name="auditpack-stage")
        self._process.start()
        send.close()
        self._receive = receive

    def result(self) -> T:
        """The action's return value; what it raised is raised here (as itself when it pickles, else as a
        RuntimeError naming it), for the caller's stage to report."""
        if self._receive is None:
            return self._inline  # type: ignore[return-value]
        try:
            outcome = self._receive.recv()
        except EOFError:
            self._process.join()
            raise RuntimeError(
                f"the child process ended without a result (exit code {self._process.exitcode})"
            ) from None
        finally:
            self._receive.close()
            self._receive = None
        self._process.join()
        if isinstance(outcome, _Failed):
            if outcome.exc is not None:
                raise outcome.exc
            raise RuntimeError(f"{outcome.kind}: {outcome.message}")
        return outcome  # type: ignore[no-any-return]

    def cancel(self) -> None:
        """End the child if it still runs (the build failed elsewhere); idempotent."""
        if self._process is not None and self._process.is_alive():
            self._process.terminate()
            self._process.join()
        if self._receive is not None:
            self._receive.close()
            self._receive = None
