"""The customer-evidence service: the one set of functions the CLI, the JSON API and the UI call.

Every function is keyword-only after the engine, checks who acts (`Actor`) against the rules in `policy`, and
writes in one transaction under the ledger lock. Errors: InputError (bad input, exit 2 / HTTP 4xx), NotFoundError
(404), ConflictError (an illegal state change, 409), ForbiddenError (self-approval or the wrong role, 403).
"""

from __future__ import annotations

from evidence.customer.content import content_info, iter_content
from evidence.customer.items import approve, reject, retract, submit_attestation, submit_document, submit_record
from evidence.customer.policy import Actor, CustomerPolicy, Role
from evidence.customer.queries import (
    Page,
    customer_evidence,
    get_exception,
    get_item,
    list_exceptions,
    list_items,
)
from evidence.customer.risk_exceptions import (
    approve_exception,
    reject_exception,
    request_exception,
    revoke_exception,
)

__all__ = [
    "Actor",
    "CustomerPolicy",
    "Page",
    "Role",
    "approve",
    "approve_exception",
    "content_info",
    "customer_evidence",
    "get_exception",
    "get_item",
    "iter_content",
    "list_exceptions",
    "list_items",
    "reject",
    "reject_exception",
    "request_exception",
    "retract",
    "revoke_exception",
    "submit_attestation",
    "submit_document",
    "submit_record",
]
