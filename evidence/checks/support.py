"""Small pieces several check modules share: reading a classification tag, `not_applicable` for places whose
complete listing found nothing, and evidence about another resource whose absence stands for the item judged."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from evidence.checks.types import Finding
from evidence.checks.unit import Check, Unavailable
from evidence.store import EvidenceRecord


def classification(tags: object, keys: tuple[str, ...]) -> tuple[str, str] | None:
    """The first classification tag (key, value) present with a value, in the order of `keys`; tags as AWS lists
    them ([{"Key": ..., "Value": ...}])."""
    pairs = {t.get("Key"): t.get("Value") for t in tags if isinstance(t, dict)} if isinstance(tags, list) else {}
    return next(((key, str(pairs[key])) for key in keys if pairs.get(key)), None)


def nothing_listed(c: Check, kind: str, nothing: str) -> Iterator[Finding]:
    """`not_applicable` for each place whose complete listing of `kind` found nothing: the check was applied there
    and had nothing to judge. It rests on the listing; a listing that is missing is an error elsewhere, never this."""
    for listing in c.view.listings(kind):
        if not listing.payload.get("resource_ids"):
            yield c.not_applicable(listing, nothing, resource_type=kind)


def need_about(c: Check, kind: str, *, base: EvidenceRecord, resource_id: str, what: str) -> EvidenceRecord:
    """Evidence of `kind` about another resource in base's account (a cluster, a key) that base's verdict rests
    on. When it is missing, the error stands for `base`: the item being judged is what could not be decided."""
    try:
        return c.need(kind, base=base, resource_id=resource_id, what=what)
    except Unavailable as missing:
        finding = replace(missing.finding, resource_id=base.resource_id, resource_type=base.resource_type)
        raise Unavailable(replace(finding, region=base.region, owner=base.owner)) from None
