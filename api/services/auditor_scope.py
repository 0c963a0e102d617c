"""What an auditor may read, as SQL conditions every auditor-visible query applies.

An auditor holds grants for ready packets. A packet rests on the runs in `Packet.run_ids`, the evaluated run whose
evidence its manifest and bundle hold (for a period packet the newest run of the period; the period's other runs
are named in its manifest by digest only), and covers the accounts of its `scope.accounts` (empty: every account).
An auditor reads evidence and gaps of those runs in those accounts, packet by packet: one packet's accounts never
widen another packet's runs. Anything else does not exist for it (the services answer 404 as for an unknown id).
Officers and admins are not restricted (None).
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, and_, false, or_
from sqlalchemy.orm import InstrumentedAttribute

from api.principal import Principal
from evidence.models import Evidence, Gap

_Query = TypeVar("_Query", bound=Select[Any])


def visible_rows(
    principal: Principal, *, run_column: InstrumentedAttribute[int], account_column: InstrumentedAttribute[str]
) -> ColumnElement[bool] | None:
    """The condition on a table with run and account columns; None when the principal is not restricted."""
    if not principal.is_auditor:
        return None
    clauses: list[ColumnElement[bool]] = []
    for scope in principal.scopes:
        if not scope.run_ids:
            continue
        clause = run_column.in_(sorted(scope.run_ids))
        if scope.accounts is not None:
            clause = and_(clause, account_column.in_(sorted(scope.accounts)))
        clauses.append(clause)
    return or_(*clauses) if clauses else false()


def visible_evidence(principal: Principal) -> ColumnElement[bool] | None:
    return visible_rows(principal, run_column=Evidence.run_id, account_column=Evidence.account_id)


def visible_gaps(principal: Principal) -> ColumnElement[bool] | None:
    return visible_rows(principal, run_column=Gap.run_id, account_column=Gap.account_id)


def restrict(query: _Query, condition: ColumnElement[bool] | None) -> _Query:
    return query if condition is None else query.where(condition)
