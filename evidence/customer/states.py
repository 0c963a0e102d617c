"""The kinds and states of customer evidence and exceptions: the enums that command-line options list, in a module
that imports nothing else, so that `auditpack evidence --help` does not build the evidence types. Re-exported by
evidence.customer.types."""

from __future__ import annotations

import enum


class ItemKind(enum.StrEnum):
    DOCUMENT = "document"  # a file: policy, procedure, training record, BAA copy, pen-test report
    ATTESTATION = "attestation"  # a statement, with the name and role of who makes it
    RECORD = "record"  # a reference to another system (URL) plus the captured export or text


class ItemState(enum.StrEnum):
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    RETRACTED = "retracted"
    EXPIRED = "expired"  # derived, never stored: approved and past valid_until at the as-of time


class ExceptionState(enum.StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    REJECTED = "rejected"
    REVOKED = "revoked"
    EXPIRED = "expired"  # derived, never stored: approved and past expires_at at the as-of time
