"""Build an API packet in a spawned child process (issue 18), so its stages run in parallel as under the CLI.

`reports.forked` forks a packet's OSCAL and body stages only from a main thread (`can_fork`): a child forked from
a job thread of `auditpack serve` or `auditpack worker` would inherit the locks other threads hold. So a packet job
starts a child with the *spawn* start method instead, safe from any thread (a fresh interpreter, nothing
inherited); the child's main thread reopens the store from the settings (`open_store`, without start-up recovery:
the parent's runs are alive) and runs `make_packet` as `auditpack packet` does, into the job's staging paths, and
sends back what the parent needs for `BuiltPacket`, or what it raised. Starting the interpreter and importing the
packet code costs about 1-2 s per packet, small beside a build that takes seconds to minutes.

A store the child cannot reach from the settings (SQLite `:memory:`, or one given by a test with another URL)
is built in the calling thread, as before (`can_spawn`).

What the child raised is raised again in the parent with the same type and text (`reports.forked`'s `portable`
and `reraised`, which the packet's forked stages use too), so the job's error reads as an in-process build's:
the exception itself when it survives pickling both ways, else (an `AuditpackError` such as `NoEvidenceError`,
whose constructor takes other arguments) rebuilt from its message and hint. A child that dies
without a result (killed, out of memory) raises a RuntimeError naming its exit code. The parent always joins the
child; on SIGTERM (the parent giving up on it) the child raises SystemExit, so the build's cleanup runs (its
forked stages are ended, its temporary directory removed) before it exits.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from sqlalchemy.engine import make_url

from api.executors import PacketRequest
from auditpack.packets import Window
from auditpack.settings import Settings
from evidence.store import EvidenceStore
from reports.forked import Raised, portable, reraised


@dataclass(frozen=True, slots=True)
class Built:
    """What `make_packet` produced, as the child sends it back (plain values: `PacketResult` and the status stay
    in the child)."""

    result: dict[str, Any]  # PacketResult's fields BuiltPacket reads
    run_ids: tuple[int, ...]
    pid: int  # the process that built it
    forked_stages: bool  # whether its stages could run in forked children (`reports.forked.can_fork`)


def can_spawn(settings: Settings, store: EvidenceStore) -> bool:
    """Whether a spawned child opening the store from `settings` reaches the same database as `store`."""
    url = store.engine.url
    if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
        return False  # it lives in one connection of this process
    return url.render_as_string(hide_password=False) == make_url(settings.database_url).render_as_string(
        hide_password=False
    )


def build(settings: Settings, store: EvidenceStore, request: PacketRequest, window: Window) -> Built:
    """`make_packet` for an API request in this process (the child's main thread, or the job's thread)."""
    from auditpack.packets import make_packet
    from reports.forked import can_fork

    result, status = make_packet(
        settings,
        store,
        framework=request.framework,
        window=window,
        accounts=request.accounts,
        out_pdf=request.out_pdf,
        out_bundle=request.out_bundle,
        packet_id=request.packet_id,
        generated_by=request.requested_by,
    )
    fields = ("pdf_path", "bundle_path", "pdf_sha256", "bundle_sha256", "signer_fingerprint", "signer_identity")
    values = {name: getattr(result, name) for name in (*fields, "self_signed", "pages")}
    return Built(
        result=values,
        run_ids=tuple(run.id for run in status.runs),
        pid=os.getpid(),
        forked_stages=can_fork(store.engine),
    )


def build_in_child(settings: Settings, request: PacketRequest, window: Window) -> Built:
    """`build` in a spawned child process; waits for it and raises what it raised."""
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    # Not daemonic: the child's main thread forks the packet's stages, which a daemonic process may not do.
    process = context.Process(
        target=_child, args=(settings, request, window, send), name=f"auditpack-packet-{request.packet_id}"
    )
    process.daemon = False
    received = False
    try:
        process.start()
        send.close()  # the child holds the only sending end: its exit ends `recv` with EOFError
        try:
            outcome = receive.recv()
            received = True
        except EOFError:
            process.join()
            raise RuntimeError(
                f"the packet's build process ended without a result (exit code {process.exitcode})"
            ) from None
    finally:
        receive.close()
        send.close()
        if process.pid is not None:  # started: reap it (no zombie), ending it first if we stopped waiting early
            if not received and process.is_alive():
                process.terminate()
            process.join()
            process.close()
    if isinstance(outcome, Built):
        return outcome
    raise _reraised(outcome)


def _child(settings: Settings, request: PacketRequest, window: Window, out: Connection) -> None:
    # SIGTERM becomes SystemExit, so the build's `with` blocks end its forked stages and remove its temporary files.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    store: EvidenceStore | None = None
    try:
        from auditpack.wiring import open_store

        store = open_store(settings, recover=False)  # the parent's running collections are alive: recover nothing
        outcome: Any = build(settings, store, request, window)
    except BaseException as exc:  # every failure goes back to the parent, which raises it for the job
        outcome = _portable(exc)
    finally:
        if store is not None:
            store.engine.dispose()
    out.send(outcome)
    out.close()


def _portable(exc: BaseException) -> Raised:
    return portable(exc)


def _reraised(raised: Raised) -> BaseException:
    return reraised(raised, where="the packet's build process")
