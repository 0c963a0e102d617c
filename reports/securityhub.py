"""Importing ASFF findings into Security Hub: `BatchImportFindings` in batches of 100, per account.

Retries, in two layers. botocore's adaptive mode retries a throttled call (and rate-limits the client); when it
gives up, the batch is sent again after a pause, up to `max_rounds` times. Findings Security Hub lists in
`FailedFindings` are re-sent the same way, except those it refused as invalid (the same document would be refused
again). Whatever is still not imported is reported, finding by finding, in `PushReport.rejected`. A refusal that
no retry can cure (no permission, Security Hub not enabled, bad credentials) stops the push at once with
`SecurityHubPushError`, saying how much was imported before.

The push needs `securityhub:BatchImportFindings`, which is not part of the read-only collection policy:
`push_policy()` (`auditpack iam-policy --push-securityhub`) is a separate policy generated from `PUSH_CALLS`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from core.errors import AuditpackError
from evidence.aws.calls import describe_error
from evidence.aws.defaults import DEFAULT_PARTITION
from evidence.aws.partition import arn
from evidence.collectors.registry import iam_action

BATCH_SIZE = 100  # BatchImportFindings takes at most 100 findings a call
MAX_ROUNDS = 3  # re-sends of a throttled batch or of failed findings, after the first try
# The operations a push makes: who am I, enter another account's role, import.
PUSH_CALLS = frozenset({"sts.GetCallerIdentity", "sts.AssumeRole", "securityhub.BatchImportFindings"})
_THROTTLED = frozenset(
    {"TooManyRequestsException", "ThrottlingException", "Throttling", "LimitExceededException", "RequestLimitExceeded"}
)
# Refusals that hold for every batch of the account: no point sending the next one.
_FATAL = frozenset(
    {
        "AccessDeniedException",
        "AccessDenied",
        "InvalidAccessException",
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "ExpiredTokenException",
        "SignatureDoesNotMatch",
    }
)


class SecurityHubPushError(AuditpackError):
    """Security Hub refused the import in a way no retry cures; the message says what was imported before."""


@dataclass(frozen=True, slots=True)
class Rejected:
    finding_id: str
    account_id: str
    code: str
    message: str


@dataclass(slots=True)
class PushReport:
    total: int = 0  # findings given
    imported: int = 0  # Security Hub's SuccessCount, summed
    calls: int = 0  # BatchImportFindings calls made (each of at most BATCH_SIZE findings)
    resent: int = 0  # findings sent again after throttling or a FailedFindings entry
    rejected: list[Rejected] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.rejected and self.imported == self.total

    def summary(self) -> str:
        line = (
            f"imported {self.imported} of {self.total} findings into Security Hub in {self.calls} "
            f"BatchImportFindings calls ({self.resent} re-sent)"
        )
        if not self.rejected:
            return line
        shown = "\n".join(f"  {r.finding_id} (account {r.account_id}): {r.code}: {r.message}" for r in self.rejected)
        return f"{line}; {len(self.rejected)} not imported:\n{shown}"


def _pause(round_: int) -> float:
    return min(8.0, 0.5 * 2**round_)


class _Pusher:
    def __init__(
        self,
        client_for: Callable[[str], Any],
        *,
        max_rounds: int,
        sleep: Callable[[float], None],
        on_sent: Callable[[int], None] | None,
    ) -> None:
        self.client_for, self.max_rounds, self.sleep, self.on_sent = client_for, max_rounds, sleep, on_sent
        self.report = PushReport()

    def send(self, account_id: str, batch: list[dict[str, Any]]) -> None:
        client = self.client_for(account_id)
        pending = batch
        for round_ in range(self.max_rounds + 1):
            if round_:
                self.report.resent += len(pending)
                self.sleep(_pause(round_ - 1))
            self.report.calls += 1
            try:
                response = client.batch_import_findings(Findings=pending)
            except (ClientError, BotoCoreError) as exc:
                code, message = describe_error(exc)
                if code in _FATAL:
                    raise SecurityHubPushError(
                        f"Security Hub refused BatchImportFindings for account {account_id}: {code}: {message} "
                        f"({self.report.imported} of {self.report.total} findings given so far were imported)",
                        hint="is Security Hub enabled in that account and region, and may the identity call "
                        "securityhub:BatchImportFindings? See `auditpack iam-policy --push-securityhub`.",
                    ) from None
                if code in _THROTTLED:
                    if round_ < self.max_rounds:
                        continue
                    message = f"{message} (still throttled after {self.max_rounds} re-sends)"
                self._reject(account_id, pending, code, message)
                break
            self.report.imported += int(response.get("SuccessCount", 0))
            failed = {str(item.get("Id", "")): item for item in response.get("FailedFindings") or []}
            retry = [d for d in pending if d["Id"] in failed and not _permanent(failed[d["Id"]])]
            permanent = [d for d in pending if d["Id"] in failed and _permanent(failed[d["Id"]])]
            for document in permanent:
                item = failed[document["Id"]]
                self._reject(account_id, [document], str(item.get("ErrorCode")), str(item.get("ErrorMessage")))
            if not retry:
                break
            if round_ == self.max_rounds:
                for document in retry:
                    item = failed[document["Id"]]
                    message = f"{item.get('ErrorMessage')} (still failing after {self.max_rounds} re-sends)"
                    self._reject(account_id, [document], str(item.get("ErrorCode")), message)
            pending = retry
        if self.on_sent is not None:
            self.on_sent(len(batch))

    def _reject(self, account_id: str, documents: list[dict[str, Any]], code: str, message: str) -> None:
        self.report.rejected.extend(Rejected(str(d["Id"]), account_id, code, message) for d in documents)


def _permanent(failed: dict[str, Any]) -> bool:
    """Refused for what the finding says (re-sending the same document cannot succeed)."""
    return str(failed.get("ErrorCode", "")).startswith("Invalid")


def push_findings(
    documents: Iterable[dict[str, Any]],
    client_for: Callable[[str], Any],
    *,
    batch_size: int = BATCH_SIZE,
    max_rounds: int = MAX_ROUNDS,
    sleep: Callable[[float], None] = time.sleep,
    on_sent: Callable[[int], None] | None = None,
) -> PushReport:
    """Import ASFF `documents` (streamed: at most `batch_size` held per account) with the Security Hub client of
    each finding's account, `client_for(account_id)`. Returns what was imported and what was not."""
    if not 1 <= batch_size <= BATCH_SIZE:
        raise ValueError(f"batch_size must be 1..{BATCH_SIZE}, got {batch_size}")
    pusher = _Pusher(client_for, max_rounds=max_rounds, sleep=sleep, on_sent=on_sent)
    pending: dict[str, list[dict[str, Any]]] = {}
    for document in documents:
        pusher.report.total += 1
        account = str(document["AwsAccountId"])
        batch = pending.setdefault(account, [])
        batch.append(document)
        if len(batch) == batch_size:
            pusher.send(account, pending.pop(account))
    for account, batch in pending.items():
        pusher.send(account, batch)
    return pusher.report


def push_policy(*, partition: str = DEFAULT_PARTITION, role_name: str | None = None) -> dict[str, Any]:
    """The IAM policy a push needs, generated from `PUSH_CALLS`: import through the default (custom integration)
    product of the account, and, for findings of other accounts, assume `role_name` there (that role needs the
    first statement)."""
    statements: list[dict[str, Any]] = [
        {
            "Sid": "AuditpackImportFindings",
            "Effect": "Allow",
            "Action": [iam_action("securityhub.BatchImportFindings")],
            "Resource": arn(partition, "securityhub", "*", "*", "product/*/default"),
        }
    ]
    if role_name is not None:
        statements.append(
            {
                "Sid": "AuditpackAssumePushRole",
                "Effect": "Allow",
                "Action": [iam_action("sts.AssumeRole")],
                "Resource": arn(partition, "iam", "", "*", f"role/{role_name}"),
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}
