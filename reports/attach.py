"""Adds the export files to the rendered PDF as PDF/A-3 associated files, streamed from disk.

WeasyPrint would hold every attachment in memory (and compress it again); instead the body is rendered without
them and this module adds them in the same incremental update that carries the signature. Each file is already a
zlib stream (`/FlateDecode`), copied into the output in chunks. Per PDF/A-3: every embedded file stream has a MIME
`/Subtype` and `/Params` with `/ModDate` and `/Size`, every file specification has `/F`, `/UF`, `/Desc` and an
`/AFRelationship`, and the catalog's `/AF` array lists them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from reports.streams import ExportedFile

COPY_CHUNK = 1 << 20


def _name(value: str) -> generic.NameObject:
    return generic.NameObject(value)


def _mime_name(media_type: str) -> generic.NameObject:
    return generic.NameObject("/" + media_type.replace("/", "#2F"))


class DeflatedFileStream(generic.StreamObject):
    """A PDF stream whose (already Flate-encoded) data is copied from a file when the PDF is written."""

    def __init__(self, path: Path, dict_data: dict[Any, Any]) -> None:
        super().__init__(dict_data=generic.DictionaryObject(dict_data))
        self._path = path

    def write_to_stream(self, stream: Any, handler: Any = None, container_ref: Any = None) -> None:
        self[_name("/Length")] = generic.NumberObject(self._path.stat().st_size)
        generic.DictionaryObject.write_to_stream(self, stream, handler, container_ref)
        del self["/Length"]
        stream.write(b"\nstream\n")
        with self._path.open("rb") as source:
            while chunk := source.read(COPY_CHUNK):
                stream.write(chunk)
        stream.write(b"\nendstream")


def _file_spec(writer: IncrementalPdfFileWriter, file: ExportedFile, relationship: str) -> generic.IndirectObject:
    if file.deflated_path is None:
        raise ValueError(f"{file.name} was written for the bundle only and cannot be embedded")
    stream = DeflatedFileStream(
        file.deflated_path,
        {
            _name("/Type"): _name("/EmbeddedFile"),
            _name("/Subtype"): _mime_name(file.media_type),
            _name("/Filter"): _name("/FlateDecode"),
            _name("/Params"): generic.DictionaryObject(
                {
                    _name("/Size"): generic.NumberObject(file.size),
                    _name("/ModDate"): generic.pdf_date(file.modified),
                    _name("/CreationDate"): generic.pdf_date(file.modified),
                }
            ),
        },
    )
    stream_ref = writer.add_object(stream)
    spec = generic.DictionaryObject(
        {
            _name("/Type"): _name("/Filespec"),
            _name("/F"): generic.pdf_string(file.name),
            _name("/UF"): generic.pdf_string(file.name),
            _name("/Desc"): generic.pdf_string(file.description),
            _name("/AFRelationship"): _name(relationship),
            _name("/EF"): generic.DictionaryObject({_name("/F"): stream_ref, _name("/UF"): stream_ref}),
        }
    )
    return writer.add_object(spec)


def embed_files(writer: IncrementalPdfFileWriter, files: Sequence[ExportedFile], relationship: str = "/Data") -> None:
    """Add `files` as the document's embedded files (a flat name tree, sorted as PDF requires) and as the
    catalog's associated files. The rendered body has none, so nothing is replaced."""
    root = writer.root
    refs = {file.name: _file_spec(writer, file, relationship) for file in files}
    names = generic.ArrayObject()
    for name in sorted(refs):
        names.append(generic.pdf_string(name))
        names.append(refs[name])
    tree = writer.add_object(generic.DictionaryObject({_name("/Names"): names}))
    if "/Names" in root:
        names_dict = root["/Names"]
        names_dict[_name("/EmbeddedFiles")] = tree
        container = root.raw_get("/Names")
        if isinstance(container, generic.IndirectObject):
            writer.mark_update(container)
    else:
        root[_name("/Names")] = generic.DictionaryObject({_name("/EmbeddedFiles"): tree})
    root[_name("/AF")] = generic.ArrayObject(refs[name] for name in sorted(refs))
    writer.update_root()
