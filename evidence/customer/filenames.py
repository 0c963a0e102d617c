"""A submitted file's original name, made safe to store and display; it is never used as a path.

Only the last path component survives (`../../etc/passwd` -> `passwd`, `C:\\x\\report.pdf` -> `report.pdf`);
NUL, control and bidirectional-override characters are dropped; whitespace is collapsed; leading dots are removed
(no hidden or `..` names); the result is cut to 255 characters keeping the extension. Nothing left: None.
"""

from __future__ import annotations

import re
import unicodedata

MAX_LENGTH = 255
_UNSAFE = re.compile(r"[\x00-\x1f\x7f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def sanitise_filename(name: str | None) -> str | None:
    if name is None:
        return None
    name = unicodedata.normalize("NFC", name)
    name = _UNSAFE.sub("", name)
    name = re.split(r"[/\\]", name)[-1]
    name = " ".join(name.split()).lstrip(". ")
    if not name:
        return None
    if len(name) > MAX_LENGTH:
        stem, dot, extension = name.rpartition(".")
        if dot and stem and 0 < len(extension) <= 16:
            name = f"{stem[: MAX_LENGTH - len(extension) - 2]}….{extension}"
        else:
            name = name[: MAX_LENGTH - 1] + "…"
    return name
