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

import contextlib
import gc
import importlib
import multiprocessing
import os
import pickle
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
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


@dataclass(frozen=True, slots=True)
class Raised:
    """What a child process raised: the exception pickled when it comes back as itself, else its class and text
    to rebuild it from."""

    pickled: bytes | None
    module: str
    qualname: str
    message: str
    hint: str | None
    auditpack: bool
    traceback: str
    pid: int


def portable(exc: BaseException) -> Raised:
    """`exc` for the parent: pickled when it comes back as itself (same type, same text), and always its class and
    text to rebuild it from."""
    from core.errors import AuditpackError

    pickled = None
    with contextlib.suppress(Exception):  # its constructor wants other arguments, or it holds something unpicklable
        data = pickle.dumps(exc)
        back = pickle.loads(data)  # noqa: S301 (our own bytes)
        if type(back) is type(exc) and _text(back) == _text(exc):
            pickled = data
    kind = type(exc)
    return Raised(
        pickled=pickled,
        module=kind.__module__,
        qualname=kind.__qualname__,
        message=exc.message if isinstance(exc, AuditpackError) else str(exc),
        hint=exc.hint if isinstance(exc, AuditpackError) else None,
        auditpack=isinstance(exc, AuditpackError),
        traceback="".join(traceback.format_exception(exc)),
        pid=os.getpid(),
    )


def _text(exc: BaseException) -> str:
    from core.errors import AuditpackError

    return exc.diagnostics() if isinstance(exc, AuditpackError) else str(exc)


def reraised(raised: Raised, *, where: str) -> BaseException:
    """The child's exception, for the parent to raise (same type and text as in process), with the child's
    traceback as a note naming `where` it ran."""
    exc = _rebuilt(raised)
    exc.add_note(f"raised in {where} {raised.pid}:\n{raised.traceback}")
    return exc


def _rebuilt(raised: Raised) -> BaseException:
    if raised.pickled is not None:
        exc: BaseException = pickle.loads(raised.pickled)  # noqa: S301 (from our own child, over a pipe only we hold)
        return exc
    kind: Any = None
    try:
        kind = importlib.import_module(raised.module)
        for part in raised.qualname.split("."):
            kind = getattr(kind, part)
    except (ImportError, AttributeError):
        kind = None
    expected = f"{raised.message}\n  hint: {raised.hint}" if raised.hint else raised.message
    if isinstance(kind, type) and issubclass(kind, Exception):
        rebuilt = kind.__new__(kind)
        Exception.__init__(rebuilt, raised.message)
        if raised.auditpack:
            rebuilt.message, rebuilt.hint = raised.message, raised.hint
        with contextlib.suppress(Exception):  # a __str__ reading attributes the text does not carry
            if _text(rebuilt) == expected:
                return rebuilt
    # A class that cannot be rebuilt from its text: one of the same name saying the same, for the job's error.
    stand_in = type(raised.qualname.rsplit(".", 1)[-1], (RuntimeError,), {"__module__": raised.module})
    return stand_in(raised.message)


def _child(engine: Engine, action: Callable[[], Any], out: Connection, nice: int = 0) -> None:
    # Everything inherited lives until the child exits: out of the collector's generations, full collections do
    # not walk it (nor write to its pages, which the child shares with the parent until then).
    gc.freeze()
    if nice:
        os.nice(nice)
    engine.dispose(close=False)
    try:
        result: Any = action()
    except BaseException as exc:  # every failure goes back to the parent, which raises it
        result = portable(exc)
    out.send(result)
    out.close()


_NOTHING = object()


class Forked(Generic[T]):
    """`action()` running in a child process (or already run, when forking is not possible); `result()` waits."""

    def __init__(self, engine: Engine, action: Callable[[], T], *, in_process: bool = False, nice: int = 0) -> None:
        """`in_process`: run `action` here, now, whatever `can_fork` says (it needs what a fork does not carry:
        another thread, a client with its own connections). `nice`: how much the child yields the CPU to the other
        processes (`os.nice`), for a stage with time to spare beside one the caller waits for longer."""
        self._process: Any = None
        self._inline: T | None = None  # the result, once known
        self._failure: BaseException | None = None  # or what the action raised
        self._receive: Connection | None = None
        if in_process or not can_fork(engine):
            self._inline = action()
            return
        context = multiprocessing.get_context("fork")
        receive, send = context.Pipe(duplex=False)
        self._process = context.Process(target=_child, args=(engine, action, send, nice), name="auditpack-stage")
        self._process.start()
        send.close()
        self._receive = receive

    def result(self) -> T:
        """The action's return value; what it raised is raised here with the same type and text (`reraised`),
        for the caller's stage to report. Asked again, the same outcome (a stage may wait for it from two places)."""
        if self._receive is not None:
            self._collect(self._receive)
        if self._failure is not None:
            raise self._failure
        return self._inline  # type: ignore[return-value]

    def _collect(self, receive: Connection) -> None:
        try:
            outcome = receive.recv()
        except EOFError:  # the child ended before it could send anything
            outcome = _NOTHING
        finally:
            receive.close()
            self._receive = None
        self._process.join()
        if outcome is _NOTHING:
            self._failure = RuntimeError(
                f"the child process ended without a result (exit code {self._process.exitcode})"
            )
        elif isinstance(outcome, Raised):
            self._failure = reraised(outcome, where="the packet's stage process")
        else:
            self._inline = outcome

    def cancel(self) -> None:
        """End the child if it still runs (the build failed elsewhere); idempotent."""
        if self._process is not None and self._process.is_alive():
            self._process.terminate()
            self._process.join()
        if self._receive is not None:
            self._receive.close()
            self._receive = None
