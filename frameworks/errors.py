"""Errors of the frameworks package, each naming exactly what is wrong and where."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from core.errors import InputError, NotFoundError


class CatalogError(InputError):
    """A catalog file is malformed: the message names the file (and line), the control id and the field."""

    def __init__(
        self,
        problem: str,
        *,
        file: Path | str,
        line: int | None = None,
        control_id: str | None = None,
        field: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.file = str(file)
        self.line = line
        self.control_id = control_id
        self.field = field
        self.problem = problem
        where = self.file if line is None else f"{self.file}:{line}"
        parts = [where]
        if control_id is not None:
            parts.append(f"control {control_id}")
        if field is not None:
            parts.append(f"field {field}")
        super().__init__(": ".join([*parts, problem]), hint=hint)


class UnknownFrameworkError(NotFoundError):
    """A framework id that no loaded catalog has."""

    def __init__(self, framework_id: str, known: Iterable[str]) -> None:
        self.framework_id = framework_id
        self.known = sorted(known)
        super().__init__(
            f"unknown framework {framework_id!r}; known frameworks: {', '.join(self.known) or '(none)'}",
            hint="add a catalog file to AUDITPACK_CATALOG_DIR to define another framework",
        )


class UnknownScopeError(InputError):
    """A selected scope that the framework's catalog does not declare."""

    def __init__(self, framework_id: str, scopes: Iterable[str], known: Iterable[str]) -> None:
        self.framework_id = framework_id
        self.scopes = sorted(scopes)
        self.known = sorted(known)
        super().__init__(
            f"unknown scope(s) {', '.join(self.scopes)} for framework {framework_id!r}; "
            f"its scopes are: {', '.join(self.known) or '(none)'}"
        )
