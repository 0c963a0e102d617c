"""A submitted file name is kept for display only, and made harmless first."""

from __future__ import annotations

import io

from sqlalchemy import Engine, select

from evidence.customer.filenames import sanitise_filename
from evidence.customer.models import Item
from tests.evidence.customer.conftest import submit


def test_paths_nul_and_control_characters_are_removed() -> None:
    assert sanitise_filename("../../etc/passwd") == "passwd"
    assert sanitise_filename("C:\\Users\\x\\report.pdf") == "report.pdf"
    assert sanitise_filename("evil\x00.pdf\x00.exe") == "evil.pdf.exe"
    assert sanitise_filename("invoice\u202efdp.exe") == "invoicefdp.exe"  # no right-to-left override trick
    assert sanitise_filename("..") is None and sanitise_filename("../") is None
    assert sanitise_filename(".hidden  name.pdf") == "hidden name.pdf"


def test_a_300_character_name_is_cut_to_255_keeping_its_extension() -> None:
    name = sanitise_filename("a" * 296 + ".pdf")
    assert name is not None and len(name) == 255 and name.endswith("….pdf")


def test_the_store_keeps_only_the_sanitised_name(engine: Engine) -> None:
    item = submit(engine, stream=io.BytesIO(b"%PDF-1.7 x"), filename="../" * 3 + "x" * 300 + "\x00.pdf")
    with engine.connect() as connection:
        stored = connection.scalar(select(Item.filename).where(Item.id == item.id))
    assert stored == item.filename and stored is not None
    assert len(stored) <= 255 and "/" not in stored and "\x00" not in stored and stored.endswith(".pdf")
