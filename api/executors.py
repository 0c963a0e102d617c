"""What the API runs in the background, as typed seams. The app factory receives implementations of these; the
`auditpack` shell wires the real ones (the orchestrator, the packet builder of `reports`, its verifier).

    CollectRunner(scope, requested_by, *, trigger) -> run id          collect evidence, seal the run
    CaptureNotifier(run_id, *, error=None)                            after a capture: tell the webhooks (background)
    PacketBuilder(request) -> BuiltPacket                             write the signed PDF (and bundle)
    PacketPrecheck(framework=, as_of=, period_from=, period_to=, accounts=)   refuse, in the request, a packet that
                                                                      cannot be built (no evidence for its date)
    PacketVerifier(path) -> SignatureCheck                            validate a packet file's signature

The API decides where packet files go (inside its data directory) and hashes them itself after the build;
nothing a client sends becomes a file-system path.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class CollectRequest:
    """What to collect. Empty accounts and regions mean the collector's defaults (the caller's own account,
    the enabled regions); `organization` walks the AWS Organization assuming `role_name` in each account."""

    accounts: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    organization: bool = False
    role_name: str | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["accounts"] = list(self.accounts)
        data["regions"] = list(self.regions)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CollectRequest:
        return cls(
            accounts=tuple(data.get("accounts") or ()),
            regions=tuple(data.get("regions") or ()),
            organization=bool(data.get("organization", False)),
            role_name=data.get("role_name"),
        )


class RunSummarizer(Protocol):
    """What a finished collection's job result adds beside its run id (e.g. evidence expiring soon)."""

    def __call__(self, run_id: int) -> dict[str, Any]: ...


class CaptureNotifier(Protocol):
    """Tell the configured webhooks how a capture went, once its run is sealed (run_id None: it failed before a run
    was recorded; `error` says why a capture failed). Must return at once and never raise: it must not hold up or
    fail the capture."""

    def __call__(self, run_id: int | None, *, error: str | None = None) -> None: ...


class CollectRunner(Protocol):
    """Collect evidence for `scope` as a new run, seal it, and return its id (raise if no run could start)."""

    def __call__(self, scope: CollectRequest, requested_by: str, *, trigger: str) -> int: ...


@dataclass(frozen=True, slots=True)
class PacketRequest:
    packet_id: str
    framework: str
    as_of: datetime | None
    period_from: date | None
    period_to: date | None
    accounts: tuple[str, ...]
    requested_by: str
    out_pdf: Path  # where to write the PDF (a fresh directory inside the data directory)
    out_bundle: Path  # where to write the bundle zip, if the builder makes one


@dataclass(frozen=True, slots=True)
class BuiltPacket:
    """What a build produced. Hashes are optional: the API hashes the files on disk and refuses a mismatch."""

    run_ids: tuple[int, ...]  # the evidence runs the packet rests on (auditors may read their evidence)
    pdf_path: Path
    bundle_path: Path | None = None
    signer_fingerprint: str | None = None
    signer_identity: str | None = None
    self_signed: bool | None = None
    pages: int | None = None
    pdf_sha256: str | None = None
    bundle_sha256: str | None = None
    # The customer evidence items and exceptions the packet lists (its manifest's `customer_evidence` and
    # `exceptions`): auditors granted the packet may read exactly these.
    customer_item_ids: tuple[int, ...] = ()
    exception_ids: tuple[int, ...] = ()

    @classmethod
    def from_result(
        cls,
        result: Any,
        *,
        run_ids: Sequence[int],
        customer_item_ids: Sequence[int] = (),
        exception_ids: Sequence[int] = (),
    ) -> BuiltPacket:
        """From anything shaped like `reports.packet.PacketResult` (pdf_path, pdf_sha256, bundle_path, ...)."""
        return cls(
            run_ids=tuple(run_ids),
            customer_item_ids=tuple(customer_item_ids),
            exception_ids=tuple(exception_ids),
            pdf_path=Path(result.pdf_path),
            bundle_path=Path(result.bundle_path) if getattr(result, "bundle_path", None) else None,
            signer_fingerprint=getattr(result, "signer_fingerprint", None),
            signer_identity=getattr(result, "signer_identity", None),
            self_signed=getattr(result, "self_signed", None),
            pages=getattr(result, "pages", None),
            pdf_sha256=getattr(result, "pdf_sha256", None),
            bundle_sha256=getattr(result, "bundle_sha256", None),
        )


class PacketBuilder(Protocol):
    def __call__(self, request: PacketRequest) -> BuiltPacket: ...


class PacketPrecheck(Protocol):
    """Raise an `AuditpackError` saying why a packet with these parameters cannot be built (e.g. a ConflictError:
    no usable evidence run for its date); return None when it can. Called in the request, so it must be cheap."""

    def __call__(
        self,
        *,
        framework: str,
        as_of: datetime | None,
        period_from: date | None,
        period_to: date | None,
        accounts: tuple[str, ...],
    ) -> None: ...


class SignatureCheck(Protocol):
    """Shaped like `reports.verify.PacketVerification`: intact, valid and trusted reported separately."""

    @property
    def intact(self) -> bool: ...
    @property
    def valid(self) -> bool: ...
    @property
    def trusted(self) -> bool: ...
    @property
    def problems(self) -> Sequence[Any]: ...


class PacketVerifier(Protocol):
    """E.g. `functools.partial(reports.verify.verify_file, trust=roots)`."""

    def __call__(self, path: Path) -> SignatureCheck: ...


@dataclass(frozen=True, slots=True)
class Executors:
    """The executors one app runs with. A missing one makes its routes answer 503 `not_configured`."""

    collect: CollectRunner | None = None
    build_packet: PacketBuilder | None = None
    verify_packet: PacketVerifier | None = None
    check_packet: PacketPrecheck | None = None  # without one, an unbuildable request fails in its job instead
    summarize_run: RunSummarizer | None = None  # adds to a collect job's result (the nightly capture's summary)
    notify: CaptureNotifier | None = None  # webhooks told after each capture (nightly or on demand)
