"""Edits of a packet PDF made with pyHanko, for verifier tests: attachments in a new revision, or the packet as it
was just before signing (to sign it differently)."""

from __future__ import annotations

import io
import zlib

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pypdf import PdfReader

from tests.reports.conftest import Built


def flate(data: bytes) -> generic.StreamObject:
    return generic.StreamObject(
        {generic.NameObject("/Filter"): generic.NameObject("/FlateDecode")}, encoded_data=zlib.compress(data)
    )


def flat(specs: dict[str, generic.PdfObject]) -> generic.DictionaryObject:
    pairs: list[generic.PdfObject] = []
    for name, spec in sorted(specs.items()):
        pairs += [generic.TextStringObject(name), spec]
    return generic.DictionaryObject({generic.NameObject("/Names"): generic.ArrayObject(pairs)})


def set_tree(writer: IncrementalPdfFileWriter, tree: generic.DictionaryObject) -> None:
    writer.root["/Names"] = generic.DictionaryObject({generic.NameObject("/EmbeddedFiles"): tree})
    writer.update_root()


def unsigned(built: Built) -> IncrementalPdfFileWriter:
    """The packet as it is just before signing: the rendered revision plus its attachments, in a new update."""
    data = built.result.pdf_path.read_bytes()
    writer = IncrementalPdfFileWriter(io.BytesIO(data[: data.index(b"%%EOF") + len(b"%%EOF\n")]))
    specs: dict[str, generic.PdfObject] = {}
    for name, (content,) in PdfReader(built.result.pdf_path).attachments.items():
        ref = writer.add_object(flate(content))
        spec = {"/Type": generic.NameObject("/Filespec"), "/F": generic.TextStringObject(name)}
        spec["/EF"] = generic.DictionaryObject({generic.NameObject("/F"): ref})
        specs[name] = writer.add_object(generic.DictionaryObject({generic.NameObject(k): v for k, v in spec.items()}))
    set_tree(writer, flat(specs))
    return writer
