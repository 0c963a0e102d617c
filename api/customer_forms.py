"""The upload form of `POST /v1/evidence-items` read into a `Submission`.

Field values go through the same strict types as every JSON body (`api.schemas.customer.UploadForm`), so a bad
date or an unknown field is the usual 422 naming the field. What each kind needs is checked here, before the
store sees anything: a document needs a file; a record a file and a url; an attestation a statement and who
makes it, and no file (its content is the statement).
"""

from __future__ import annotations

from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from api.schemas.customer import UploadForm, start_of
from api.services.customer import Submission
from api.uploads import FILE_FIELD, Upload
from core.errors import InputError
from evidence.customer.types import ItemKind

_LISTS = frozenset({"controls"})


def submission(upload: Upload) -> Submission:
    data: dict[str, object] = {}
    for name, values in upload.fields.items():
        if name in _LISTS:
            data[name] = values
        elif len(values) > 1:
            raise _invalid(name, f"sent {len(values)} times; expected once", "multiple_values")
        else:
            data[name] = values[0]
    try:
        form = UploadForm.model_validate(data)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**error, "loc": ("body", *error["loc"])} for error in exc.errors(include_url=False)]
        ) from None
    _check_kind(form, has_file=upload.file is not None)
    return Submission(
        kind=form.kind,
        title=form.title,
        controls=tuple(form.controls),
        owner=form.owner,
        valid_from=start_of(form.valid_from),
        valid_until=start_of(form.valid_until),
        supersedes=form.supersedes,
        statement=form.statement,
        statement_by=form.statement_by,
        url=form.url,
        file=upload.file,
        filename=upload.filename,
        file_sha256=upload.sha256,
    )


def _check_kind(form: UploadForm, *, has_file: bool) -> None:
    kind = form.kind
    needs = {
        ItemKind.DOCUMENT: (FILE_FIELD,),
        ItemKind.RECORD: (FILE_FIELD, "url"),
        ItemKind.ATTESTATION: ("statement", "statement_by"),
    }[kind]
    given = {FILE_FIELD: has_file, "url": form.url is not None, "statement": form.statement is not None}
    given["statement_by"] = form.statement_by is not None
    missing = [name for name in needs if not given[name]]
    extra = [name for name, present in given.items() if present and name not in needs]
    if missing or extra:
        problems = [f"needs {', '.join(missing)}"] if missing else []
        problems += [f"takes no {', '.join(extra)}"] if extra else []
        raise InputError(
            f"a {kind} {' and '.join(problems)}",
            hint="document: file; record: file and url; attestation: statement and statement_by (no file)",
        )


def _invalid(name: str, message: str, error_type: str) -> RequestValidationError:
    return RequestValidationError([{"loc": ("body", name), "msg": message, "type": error_type}])
