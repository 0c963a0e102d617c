"""Loading catalogs: the packaged ones (HIPAA, PCI DSS, SOC 2) plus user catalogs from a directory.

Every problem fails the load with a `CatalogError` naming the file and line, the control id and the field:
malformed YAML, a duplicate key or control id, a missing title, a bad responsibility value, an unknown check id,
family, scope or parent, a parent cycle, a heading without children, or a user catalog whose id clashes with
another catalog. Frameworks are then addressed by catalog id (`hipaa`, `pci-dss`, `soc2`, or a user id).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from evidence.checks.registry import check_ids as registered_check_ids
from frameworks.errors import CatalogError, UnknownFrameworkError
from frameworks.references import check_references
from frameworks.schema import Catalog, Control
from frameworks.yamlsource import YamlDocument, read_yaml

PACKAGED_DIR = Path(__file__).resolve().parent / "catalogs"
CATALOG_SUFFIXES = (".yaml", ".yml")
_CONTROL_FIELDS = frozenset(Control.model_fields)


@dataclass(frozen=True, slots=True)
class LoadedCatalog:
    catalog: Catalog
    source: Path
    packaged: bool


class Catalogs:
    """The catalogs available to this process, by framework id."""

    def __init__(self, entries: Collection[LoadedCatalog]) -> None:
        self._entries = {entry.catalog.id: entry for entry in entries}

    def ids(self) -> list[str]:
        return sorted(self._entries)

    def entry(self, framework_id: str) -> LoadedCatalog:
        try:
            return self._entries[framework_id]
        except KeyError:
            raise UnknownFrameworkError(framework_id, self._entries) from None

    def get(self, framework_id: str) -> Catalog:
        """The catalog of `framework_id`; an unknown id is an InputError listing the known ones."""
        return self.entry(framework_id).catalog

    def __iter__(self) -> Iterator[LoadedCatalog]:
        return iter(self._entries[key] for key in self.ids())

    def __len__(self) -> int:
        return len(self._entries)


def load_catalogs(catalog_dir: Path | None = None) -> Catalogs:
    """The packaged catalogs plus every *.yaml/*.yml file in `catalog_dir` (AUDITPACK_CATALOG_DIR).

    A user catalog may not reuse the id of a packaged catalog or of another user catalog.
    """
    entries: dict[str, LoadedCatalog] = {entry.catalog.id: entry for entry in packaged_catalogs()}
    for path in catalog_files(catalog_dir) if catalog_dir is not None else []:
        catalog = load_catalog_file(path)
        clash = entries.get(catalog.id)
        if clash is not None:
            kind = "the packaged catalog" if clash.packaged else "the catalog"
            raise CatalogError(
                f"catalog id {catalog.id!r} is already used by {kind} {clash.source}",
                file=path,
                line=1,
                field="id",
                hint="give the catalog its own id (lower-case letters, digits and dashes)",
            )
        entries[catalog.id] = LoadedCatalog(catalog=catalog, source=path, packaged=False)
    return Catalogs(entries.values())


_ID_LINE = re.compile(r"""^id:[ \t]*['"]?([A-Za-z0-9_.-]+)['"]?[ \t]*(?:#.*)?$""", re.MULTILINE)


@cache
def _packaged_index() -> dict[str, Path]:
    """Each packaged catalog file by the id its top-level `id:` line gives, read as text (no parse)."""
    found: dict[str, Path] = {}
    for path in catalog_files(PACKAGED_DIR):
        match = _ID_LINE.search(path.read_text(encoding="utf-8"))
        if match is not None:
            found[match.group(1)] = path
    return found


@cache
def _packaged_file(path: Path) -> Catalog:
    return load_catalog_file(path)


def load_catalog(framework_id: str, catalog_dir: Path | None = None) -> Catalog:
    """`load_catalogs(catalog_dir).get(framework_id)`, parsing, of the packaged catalogs, only the one asked for
    when there are no user catalogs (a packaged catalog takes 0.05-0.1 s to read and check: a command that
    evaluates one framework need not read the three). With user catalogs, every catalog is loaded as before, so a
    malformed one or a clash of ids fails every command alike."""
    path = _packaged_index().get(framework_id) if catalog_dir is None else None
    if path is not None:
        catalog = _packaged_file(path)
        if catalog.id == framework_id:
            return catalog
    return load_catalogs(catalog_dir).get(framework_id)


def catalog_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        raise CatalogError("not a directory of catalog files", file=directory)
    return sorted(
        path
        for path in directory.iterdir()
        if path.suffix in CATALOG_SUFFIXES and path.is_file() and not path.name.startswith(".")
    )


@cache
def packaged_catalogs() -> tuple[LoadedCatalog, ...]:
    """The catalogs shipped with auditpack (validated once per process)."""
    loaded: dict[str, LoadedCatalog] = {}
    for path in catalog_files(PACKAGED_DIR):
        catalog = _packaged_file(path)
        if catalog.id in loaded:
            raise CatalogError(
                f"catalog id {catalog.id!r} is already used by {loaded[catalog.id].source}", file=path, field="id"
            )
        loaded[catalog.id] = LoadedCatalog(catalog=catalog, source=path, packaged=True)
    return tuple(loaded.values())


def load_catalog_file(path: Path, *, known_checks: Collection[str] | None = None) -> Catalog:
    """Read and validate one catalog file against the schema, the check registry and its own references."""
    doc = read_yaml(path)
    raw = doc.data
    if not isinstance(raw, dict):
        raise CatalogError(
            f"a catalog is a mapping with id, name, version, publisher, families and controls; "
            f"found {type(raw).__name__}",
            file=path,
            line=doc.line_of(()),
        )
    controls_raw = raw.get("controls")
    if not isinstance(controls_raw, list) or not controls_raw:
        raise CatalogError(
            "a non-empty list of controls is required", file=path, line=doc.line_of(("controls",)), field="controls"
        )
    controls = [_control(doc, index, item) for index, item in enumerate(controls_raw)]
    families = _header_list(doc, raw, "families")
    scopes = _header_list(doc, raw, "scopes", required=False)
    check_references(
        doc,
        controls,
        families=families,
        scopes=scopes,
        known_checks=registered_check_ids() if known_checks is None else frozenset(known_checks),
    )
    try:
        return Catalog.model_validate({**raw, "controls": controls})
    except ValidationError as exc:
        raise _validation_error(doc, exc, prefix=(), control_id=None) from None


def _control(doc: YamlDocument, index: int, item: Any) -> Control:
    control_id = str(item["id"]) if isinstance(item, dict) and item.get("id") is not None else f"#{index + 1}"
    if not isinstance(item, dict):
        raise CatalogError(
            f"a control is a mapping of fields; found {type(item).__name__}",
            file=doc.path,
            line=doc.line_of(("controls", index)),
            control_id=control_id,
        )
    try:
        return Control.model_validate(item)
    except ValidationError as exc:
        raise _validation_error(doc, exc, prefix=("controls", index), control_id=control_id) from None


def _header_list(doc: YamlDocument, raw: dict[str, Any], key: str, *, required: bool = True) -> list[dict[str, Any]]:
    value = raw.get(key)
    if value is None and not required:
        return []
    if not isinstance(value, list) or (required and not value) or not all(isinstance(v, dict) for v in value):
        raise CatalogError(
            f"a {'non-empty ' if required else ''}list of mappings with id and title is required",
            file=doc.path,
            line=doc.line_of((key,)),
            field=key,
        )
    return value


def _field_path(location: tuple[str | int, ...]) -> str:
    text = ""
    for step in location:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else str(step))
    return text


def _validation_error(
    doc: YamlDocument, exc: ValidationError, *, prefix: tuple[str | int, ...], control_id: str | None
) -> CatalogError:
    """One CatalogError for every problem pydantic found in one control (or in the catalog header)."""
    problems: list[tuple[str, str, int | None]] = []
    for error in exc.errors():
        location = tuple(error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        field = _field_path(location)
        if not location:  # a cross-field rule of the control: its message starts with the field it is about
            head, sep, rest = message.partition(": ")
            if sep and head in _CONTROL_FIELDS:
                field, message = head, rest
        if error["type"] == "missing":
            message = "missing (this field is required)"
        elif error["type"] == "extra_forbidden":
            message = (
                f"unknown field (not in the catalog schema; allowed: {', '.join(sorted(_CONTROL_FIELDS))})"
                if prefix
                else "unknown field (not in the catalog schema)"
            )
        elif error["type"] in ("enum", "literal_error", "string_pattern_mismatch", "string_type", "bool_type"):
            message = f"got {error['input']!r}; {message[0].lower()}{message[1:]}"
        problems.append((field or "(control)", message, doc.line_of(prefix + location)))
    field, message, line = problems[0]
    extra = "".join(f"; field {f}: {m}" for f, m, _ in problems[1:])
    return CatalogError(message + extra, file=doc.path, line=line, control_id=control_id, field=field)
