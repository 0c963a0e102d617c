"""`auditpack evidence import DIR`: a folder the customer keeps in git, described by `DIR/evidence.yaml`:

    items:
      - file: policies/access-control.pdf      # relative to DIR, must stay inside it
        title: Access control policy
        controls: [soc2:CC6.1, "hipaa:164.308(a)(4)(i)"]
        owner: CISO
        valid_until: 2027-01-31                # optional (00:00 UTC that day); default: the kind's validity

Idempotent: each file is matched to the newest item imported from the same path. Same content and description:
nothing is added. Changed content (or title, controls, owner, valid_until): a new version superseding it. Every
entry is checked before anything is submitted, so a typo in entry 7 does not leave entries 1-6 half imported.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Engine, select

from core.errors import InputError
from evidence.customer.items import submit_document
from evidence.customer.models import Item
from evidence.customer.policy import Actor, CustomerPolicy, check_controls, required_text
from evidence.db import session_factory

MANIFEST = "evidence.yaml"
_FIELDS = {"file", "title", "controls", "owner", "valid_until"}


@dataclass(frozen=True, slots=True)
class _Entry:
    path: str  # relative, with forward slashes: the item's import_path
    file: Path
    title: str
    controls: tuple[str, ...]
    owner: str
    valid_until: datetime | None


@dataclass(slots=True)
class ImportResult:
    added: list[tuple[str, int]] = field(default_factory=list)  # (path, new item id)
    superseded: list[tuple[str, int, int]] = field(default_factory=list)  # (path, old id, new id)
    unchanged: list[tuple[str, int]] = field(default_factory=list)  # (path, current item id)


def import_folder(
    engine: Engine, *, folder: Path, policy: CustomerPolicy, actor: Actor, now: datetime | None = None
) -> ImportResult:
    entries = read_manifest(folder, policy)
    result = ImportResult()
    for entry in entries:
        current = _newest(engine, entry.path)
        if current is not None and _same(current, entry):
            result.unchanged.append((entry.path, current.id))
            continue
        with entry.file.open("rb") as stream:
            item = submit_document(
                engine,
                policy=policy,
                actor=actor,
                stream=stream,
                title=entry.title,
                controls=list(entry.controls),
                owner=entry.owner,
                filename=entry.file.name,
                valid_until=entry.valid_until,
                supersedes=current.id if current is not None else None,
                import_path=entry.path,
                now=now,
            )
        if current is None:
            result.added.append((entry.path, item.id))
        else:
            result.superseded.append((entry.path, current.id, item.id))
    return result


def read_manifest(folder: Path, policy: CustomerPolicy) -> list[_Entry]:
    manifest = folder / MANIFEST
    if not manifest.is_file():
        raise InputError(f"{folder} has no {MANIFEST}", hint="see docs/customer-evidence.md for its format")
    try:
        data = yaml.safe_load(manifest.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InputError(f"{manifest} is not valid YAML: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        raise InputError(f"{manifest}: expected a mapping with an 'items' list")
    entries: list[_Entry] = []
    seen: set[str] = set()
    for number, raw in enumerate(data["items"], start=1):
        try:
            entry = _entry(folder, raw, policy)
        except InputError as exc:
            raise InputError(f"{manifest}, item {number}: {exc.message}", hint=exc.hint) from None
        if entry.path in seen:
            raise InputError(f"{manifest}, item {number}: {entry.path} is listed twice")
        seen.add(entry.path)
        entries.append(entry)
    return entries


def _entry(folder: Path, raw: Any, policy: CustomerPolicy) -> _Entry:
    if not isinstance(raw, dict):
        raise InputError("expected a mapping with file, title, controls, owner")
    unknown = set(raw) - _FIELDS
    if unknown:
        raise InputError(
            f"unknown field(s) {', '.join(sorted(map(str, unknown)))}; known: {', '.join(sorted(_FIELDS))}"
        )
    name = raw.get("file")
    if not isinstance(name, str) or not name.strip():
        raise InputError("'file' is required: the path of the document inside the folder")
    root = folder.resolve()
    file = (folder / name).resolve()
    if not file.is_relative_to(root):
        raise InputError(f"file {name!r} is outside the folder")
    if not file.is_file():
        raise InputError(f"file {name!r} does not exist")
    controls = raw.get("controls")
    if not isinstance(controls, list) or not all(isinstance(c, str) for c in controls):
        raise InputError("'controls' must be a list of FRAMEWORK:CONTROL_ID")
    return _Entry(
        path=file.relative_to(root).as_posix(),
        file=file,
        title=required_text(raw.get("title"), "a title", max_length=300),
        controls=check_controls(controls, policy),
        owner=required_text(raw.get("owner"), "an owner", max_length=256),
        valid_until=_moment(raw.get("valid_until")),
    )


def _moment(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(0), tzinfo=UTC)
    raise InputError(f"valid_until {value!r}: expected a date such as 2027-01-31")


def _newest(engine: Engine, path: str) -> Item | None:
    query = select(Item).where(Item.import_path == path).order_by(Item.id.desc()).limit(1)
    with session_factory(engine)() as session:
        return session.scalars(query).first()


def _sha256(file: Path) -> str:
    digest = hashlib.sha256()
    with file.open("rb") as stream:
        while chunk := stream.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def _same(item: Item, entry: _Entry) -> bool:
    described = (item.title, tuple(item.controls), item.owner) == (entry.title, entry.controls, entry.owner)
    validity = entry.valid_until is None or entry.valid_until == item.valid_until
    return described and validity and _sha256(entry.file) == item.content_sha256
