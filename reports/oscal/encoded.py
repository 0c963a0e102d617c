"""The assessment results' per-evidence-item arrays (observations, inventory items, payload resources) written as
pre-encoded JSON: the bytes `orjson.dumps` gives for `parts.observation`, `parts.inventory_item` and
`parts.payload_resource` (tested byte for byte), without a nest of dicts per item.

A million evidence items mean three million of these; building and encoding their dicts was most of the OSCAL
stage's CPU (issue 18). Here what repeats across items (an account's and a region's subjects, a kind's prop, a
timestamp's text) is encoded once and joined; each item costs its UUIDs and a few escaped strings. The dict
builders in `parts` stay the definition (the POA&M uses them, and the tests compare against them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Any, TypeVar

import orjson

from core.database import stored_utc
from evidence.checks.types import Finding
from reports.export import SQLITE_STAMP
from reports.oscal.context import ExportContext
from reports.oscal.evidence import EvidenceRow, ResourceRow
from reports.oscal.ids import subject_name
from reports.oscal.jsonstream import ITEM_SEPARATOR, Encoded
from reports.oscal.memo import Cached
from reports.oscal.parts import (
    PAYLOAD_IN_BUNDLE,
    PAYLOAD_IN_STORE,
    account_uuid,
    line,
    prop,
    region_uuid,
    tool_origin,
    when,
)

_dumps = orjson.dumps

# Each encoder yields a batch at a time, its items joined as `jsonstream` writes an array's items (`Encoded`): written
# as they are, without a Fragment made and copied per item (~0.5 us each, issue 18).


_T = TypeVar("_T")
_MINT_BATCH = 256  # items whose UUIDs are minted together (Ids.mint): larger batches gain little


def batches(items: Iterable[_T]) -> Iterator[list[_T]]:
    iterator = iter(items)
    while batch := list(islice(iterator, _MINT_BATCH)):
        yield batch


def prop_bytes(name: str, value: object) -> bytes:
    """`,{prop}` or nothing when `prop` leaves the value out (None or blank)."""
    made = prop(name, value)
    return b"" if made is None else b"," + _dumps(made)


class ResultProps:
    """The props a failing result's risk and its POA&M item both carry, each with a leading comma: its place and
    resource, its owner, its controls; a place's, an owner's and a set of controls' encoded once."""

    def __init__(self) -> None:
        self._places: Cached[tuple[str, str], bytes] = Cached(
            lambda key: prop_bytes("account-id", key[0]) + prop_bytes("region", key[1])
        )
        self._owners: Cached[str, bytes] = Cached(lambda owner: prop_bytes("owner", owner))
        self._controls: Cached[tuple[str, ...], bytes] = Cached(
            lambda ids: b"".join(prop_bytes("control-id", control) for control in ids)
        )

    def place(self, finding: Finding) -> bytes:
        """account-id, region and resource-id."""
        return self._places[finding.account_id, finding.region] + prop_bytes("resource-id", finding.resource_id)

    def owner(self, owner: str | None) -> bytes:
        return b"" if owner is None else self._owners[owner]

    def controls(self, ids: tuple[str, ...]) -> bytes:
        return self._controls[ids]


def observation_refs(uuids: Iterable[str]) -> bytes:
    """`,"related-observations":[…]` naming each of `uuids`, or nothing when there are none."""
    listed = b",".join([b'{"observation-uuid":"' + uuid.encode() + b'"}' for uuid in uuids])
    return b',"related-observations":[' + listed + b"]" if listed else b""


def observations(ctx: ExportContext, rows: Iterable[EvidenceRow | tuple[Any, ...]]) -> Iterator[Encoded]:
    """`parts.observation(ctx, row)` of each row, encoded, a batch per Encoded chunk.
    Rows may hold `observed_at` as stored (`EvidenceSource.stream`): SQLite's text is turned into RFC 3339 text
    directly, without a datetime."""
    freshness = timedelta(hours=ctx.status.freshness_hours)
    origins = b',"methods":["TEST"],"origins":' + _dumps([tool_origin(ctx)])
    evidence_prefix = subject_name("observation", "evidence") + "|"
    payload_prefix = subject_name("resource", "payload") + "|"

    def description(key: tuple[str, str]) -> bytes:
        kind, service = key
        return b',"description":' + _dumps(f"auditpack read {kind} ({service}).")

    def run(run_id: int) -> bytes:
        return _dumps(prop("run", run_id))

    def region_subjects(key: tuple[str, str]) -> bytes:
        account, region = key
        # the account and region subjects: the tail of every observation's subjects in that account and region
        tail = [
            {"subject-uuid": account_uuid(ctx, account), "type": "component", "title": f"AWS account {account}"},
            {"subject-uuid": region_uuid(ctx, region), "type": "location", "title": region},
        ]
        return _dumps(tail)[1:]  # without the list's "[": joined after the inventory subject, or alone

    def times(observed_at: datetime) -> bytes:
        return (
            b'"collected":' + _dumps(when(observed_at)) + b',"expires":' + _dumps(when(observed_at + freshness)) + b"}"
        )

    def second_texts(second: datetime) -> tuple[bytes, bytes]:
        # a whole UTC second's `collected` and `expires` up to where a fraction would go
        return b'"collected":"' + when(second)[:-1].encode(), b'Z","expires":"' + when(second + freshness)[:-1].encode()

    def stamps(observed_at: datetime) -> bytes:
        """`times(observed_at)`, from the texts of its whole second (items are recorded each at its own time, but
        many in one second): formatting two RFC 3339 times per item was the largest per-item cost left."""
        if observed_at.tzinfo is not UTC:
            observed_at = observed_at.astimezone(UTC)
        micro = observed_at.microsecond
        if not micro:
            collected, expires = seconds[observed_at]
            return collected + expires + b'Z"}'
        collected, expires = seconds[observed_at.replace(microsecond=0)]
        fraction = b".%06d" % micro
        return collected + fraction + expires + fraction + b'Z"}'

    def stored_second(text: str) -> tuple[bytes, bytes]:
        return seconds[datetime.fromisoformat(text).replace(tzinfo=UTC)]

    def stored_stamps(observed_at: datetime | str) -> bytes:
        """`stamps` of a time as the database returned it: SQLite's text `2026-11-20 02:00:00.123000` gives its
        whole second's texts and the fraction it already holds; anything else is a moment to convert."""
        if not isinstance(observed_at, str) or not SQLITE_STAMP(observed_at):
            return stamp(stored_utc(observed_at))
        collected, expires = stored_seconds[observed_at[:19]]
        fraction = observed_at[19:]
        if fraction == ".000000":
            return collected + expires + b'Z"}'
        encoded = fraction.encode()
        return collected + encoded + expires + encoded + b'Z"}'

    def inventory_prefix(key: tuple[str, str]) -> str:
        return subject_name("inventory-item", *key) + "|"

    described = Cached(description)
    runs = Cached(run)
    kinds = Cached(lambda kind: prop_bytes("kind", kind))
    owners = Cached(lambda owner: prop_bytes("owner", owner))
    subjects = Cached(region_subjects)
    seconds = Cached(second_texts)
    # a freshness with a fraction of a second would change the fraction from `collected` to `expires`
    stamp: Callable[[datetime], bytes] = Cached(times).__getitem__ if freshness.microseconds else stamps
    stored_seconds = Cached(stored_second)
    # stored text takes the text path unless a fraction of a second of freshness moves `expires`'s fraction
    stamp_any: Callable[[Any], bytes] = (
        (lambda value: stamp(stored_utc(value))) if freshness.microseconds else stored_stamps
    )
    inventory = Cached(inventory_prefix)
    ns = _dumps(prop("evidence-id", 0))[:-3]  # '{"name":"evidence-id","ns":"…","value":"'
    mint = ctx.ids.mint
    for batch in batches(rows):
        # the batch's UUIDs first, minted together (Ids.mint): the observation's own, its payload's, and the
        # inventory item's of each row that names a resource
        evidence_ids = [str(row[0]) for row in batch]
        own_uuids = mint([f"{evidence_prefix}{len(text)}:{text}" for text in evidence_ids])
        payload_uuids = mint([f"{payload_prefix}{len(row[10])}:{row[10]}" for row in batch])
        inventory_uuids = iter(
            mint([inventory[row[2], row[3]] + f"{len(row[6])}:{row[6]}" for row in batch if row[6] is not None])
        )
        encoded: list[bytes] = []
        for row, evidence_id, own_uuid, payload_uuid in zip(batch, evidence_ids, own_uuids, payload_uuids, strict=True):
            # unpacked: a million rows' attribute lookups were a second of their own
            _id, run_id, account_id, region, service, _type, resource_id, kind, observed_at, owner, _sha, _v = row
            if resource_id is None:
                inventory_subject = b"["
            else:
                inventory_subject = b'[{"subject-uuid":"' + next(inventory_uuids) + b'","type":"inventory-item"},'
            encoded.append(
                b"".join(
                    (
                        b'{"uuid":"',
                        own_uuid,
                        b'","title":',
                        _dumps(line(f"{kind}: {resource_id}")),
                        described[(kind, service)],
                        b',"props":[',
                        ns,
                        evidence_id.encode(),
                        b'"},',
                        runs[run_id],
                        kinds[kind],
                        b"" if owner is None else owners[owner],
                        b"]",
                        origins,
                        b',"subjects":',
                        inventory_subject,
                        subjects[account_id, region],
                        b',"relevant-evidence":[{"href":"#',
                        payload_uuid,
                        b'","description":"Canonical JSON payload"}],',
                        stamp_any(observed_at),
                    )
                )
            )
        yield Encoded(ITEM_SEPARATOR.join(encoded))


def inventory_items(ctx: ExportContext, resources: Iterable[ResourceRow | tuple[Any, ...]]) -> Iterator[Encoded]:
    """`parts.inventory_item(ctx, resource)` of each resource, encoded, a batch per Encoded chunk."""
    mint = ctx.ids.mint

    def description(key: tuple[str, str]) -> bytes:
        service, resource_type = key
        return b'","description":' + _dumps(f"{service} {resource_type} in AWS account ")

    def account_region(key: tuple[str, str]) -> tuple[str, bytes, bytes]:
        account, region = key
        # the inventory UUID's name so far, the description's end (the account id), the account's and region's props
        return (
            subject_name("inventory-item", account, region) + "|",
            _dumps(account)[1:],  # the description ends with the account id ('…account ' + 'id"')
            prop_bytes("account-id", account) + prop_bytes("region", region),
        )

    def typed(key: tuple[str, str]) -> bytes:
        service, resource_type = key
        return prop_bytes("service", service) + prop_bytes("resource-type", resource_type)

    def component(account: str) -> bytes:
        return b'],"implemented-components":' + _dumps([{"component-uuid": account_uuid(ctx, account)}]) + b"}"

    described = Cached(description)
    places = Cached(account_region)
    types = Cached(typed)
    owners = Cached(lambda owner: prop_bytes("owner", owner))
    components = Cached(component)
    for batch in batches(resources):
        uuids = mint([places[row[0], row[1]][0] + f"{len(row[2])}:{row[2]}" for row in batch])
        encoded = []
        for (account, region, resource_id, service, resource_type, owner), uuid in zip(batch, uuids, strict=True):
            _prefix, account_text, place_props = places[account, region]
            service_type = (service, resource_type)
            encoded.append(
                b"".join(
                    (
                        b'{"uuid":"',
                        uuid,
                        described[service_type][:-1],  # the description runs on into the account id
                        account_text,
                        b',"props":[{"name":"asset-id","value":',
                        _dumps(line(resource_id)),
                        b"}",
                        place_props,
                        types[service_type],
                        b"" if owner is None else owners[owner],
                        components[account],
                    )
                )
            )
        yield Encoded(ITEM_SEPARATOR.join(encoded))


def payload_resources(ctx: ExportContext, payloads: Iterable[tuple[str, int, int]]) -> Iterator[Encoded]:
    """`parts.payload_resource(ctx, sha256, version, items)` of each payload, encoded, a batch per Encoded chunk."""
    mint = ctx.ids.mint
    prefix = subject_name("resource", "payload") + "|"
    where = b'","description":' + _dumps(PAYLOAD_IN_BUNDLE if ctx.in_bundle else PAYLOAD_IN_STORE)
    versions = Cached(lambda version: b',"props":[' + _dumps(prop("canonical-version", version)))
    counts = Cached(lambda items: prop_bytes("evidence-items", items))
    for batch in batches(payloads):
        uuids = mint([f"{prefix}{len(row[0])}:{row[0]}" for row in batch])
        encoded = []
        for (sha256, version, items), uuid in zip(batch, uuids, strict=True):
            quoted = _dumps(sha256)[1:-1]
            encoded.append(
                b"".join(
                    (
                        b'{"uuid":"',
                        uuid,
                        b'","title":"Evidence payload ',
                        quoted,
                        where,
                        versions[version],
                        counts[items],
                        b'],"rlinks":[{"href":"/v1/evidence/',
                        quoted,
                        b'","media-type":"application/json","hashes":[{"algorithm":"SHA-256","value":"',
                        quoted,
                        b'"}]}]}',
                    )
                )
            )
        yield Encoded(ITEM_SEPARATOR.join(encoded))
