"""Derived identifiers: UUIDs from the export's identity and a subject's ids, and OSCAL control ids.

Every UUID is uuid5 of (the export's namespace, the subject's kind and ids), the namespace itself uuid5 of
auditpack's OSCAL namespace and the export's identity (a packet id, or what an export was asked for). So the same
export gives the same UUIDs, two exports never share one, and nothing depends on the clock or randomness.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from core.canonical import CURRENT_VERSION, canonical_json
from reports.errors import PacketBuildError
from reports.oscal import NS

ROOT = uuid.uuid5(uuid.NAMESPACE_URL, NS)
_sha1 = hashlib.sha1
_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}  # top two bits of the digit: 10
_VARIANT_BYTES = bytes.maketrans(b"0123456789abcdef", b"89ab89ab89ab89ab")
# Where each character of a UUID's text comes from: a position in the hex of the name's SHA-1 (40 digits), or a
# fixed character (the dashes, the version); the variant digit is hex digit 16 translated.
_LAYOUT: tuple[int | bytes, ...] = (
    *range(8), b"-", *range(8, 12), b"-", b"5", *range(13, 16), b"-", None, *range(17, 20), b"-", *range(20, 32)
)  # fmt: skip


class Ids:
    """`ids("observation", 42)` -> the UUID of that subject in this export (a string, as OSCAL writes it)."""

    __slots__ = ("_memo", "_prefix", "_sha", "namespace")

    def __init__(self, namespace: uuid.UUID) -> None:
        self.namespace = namespace
        self._prefix = namespace.bytes
        self._sha = _sha1(self._prefix, usedforsecurity=False)
        self._memo: dict[tuple[object, ...], str] = {}

    @classmethod
    def for_packet(cls, packet_id: str) -> Ids:
        return cls(uuid.uuid5(ROOT, f"packet:{packet_id}"))

    @classmethod
    def for_export(cls, identity: Mapping[str, Any]) -> Ids:
        """An export outside a packet: its identity is what it covers (framework, window, accounts)."""
        name = canonical_json(dict(identity), version=CURRENT_VERSION).decode("utf-8")
        return cls(uuid.uuid5(ROOT, f"export:{name}"))

    def __call__(self, kind: str, *parts: object) -> str:
        """uuid5(namespace, name), the name each part as `<length>:<text>` so that no two part lists collide
        whatever characters ids hold (ARNs hold '/' and ':'). Equal to `uuid.uuid5` (tested), several times
        faster: a million evidence items take a few million of these."""
        return self.named(subject_name(kind, *parts))

    def named(self, name: str) -> str:
        """uuid5(namespace, name) for a name already made as `__call__` makes it (`reports.oscal.encoded` builds
        names from cached prefixes)."""
        sha = self._sha.copy()  # the namespace already hashed
        sha.update(name.encode("utf-8"))
        h = sha.hexdigest()
        # The version (5) and RFC 4122 variant bits set on the hex digits (a third faster than on the bytes:
        # 700,000 of these per 100,000 evidence items took 2 s).
        return f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"

    def mint(self, names: Sequence[str]) -> list[bytes]:
        """`named(name).encode()` of each of `names` (its UUID as ASCII bytes), made a batch at a time: each name
        is still hashed on its own, but the text of the whole batch is laid out in 36 strided copies done in C
        instead of slicing and formatting each digest (a third of the cost of `named`; a million-item packet
        mints about six million, issue 18)."""
        count = len(names)
        if not count:
            return []
        copy = self._sha.copy
        digests = []
        add = digests.append
        for name in names:
            sha = copy()
            sha.update(name.encode("utf-8"))
            add(sha.digest())
        hexed = b"".join(digests).hex().encode("ascii")
        text = bytearray(36 * count)
        for position, source in enumerate(_LAYOUT):
            if source is None:
                text[position::36] = hexed[16::40].translate(_VARIANT_BYTES)
            elif isinstance(source, int):
                text[position::36] = hexed[source::40]
            else:
                text[position::36] = source * count
        laid_out = bytes(text)
        return [laid_out[start : start + 36] for start in range(0, 36 * count, 36)]

    def memo(self, kind: str, *parts: object) -> str:
        """The same, remembered: for the few subjects every observation names (accounts, regions, the tool)."""
        key = (kind, *parts)
        found = self._memo.get(key)
        if found is None:
            found = self._memo[key] = self(kind, *parts)
        return found


def subject_name(kind: str, *parts: object) -> str:
    """The name a subject's UUID is derived from (`Ids.__call__`), for `Ids.mint`."""
    name = kind
    for part in parts:  # a loop, not a join: the usual one to three parts cost a quarter less
        text = part if part.__class__ is str else str(part)
        name = f"{name}|{len(text)}:{text}"
    return name


_CLOSE = re.compile(r"\)")
_OTHER = re.compile(r"[^A-Za-z0-9._-]+")


def control_token(framework_id: str, control_id: str) -> str:
    """The OSCAL control id (a token: a letter or '_' first, then letters, digits, '.', '_', '-') for a framework's
    control id: `hipaa` `164.312(a)(2)(iv)` -> `hipaa-164.312.a.2.iv`, `pci-dss` `8.4.2` -> `pci-dss-8.4.2`,
    `soc2` `CC6.1` -> `soc2-CC6.1`. The exact id travels beside it in the `control-id` prop."""
    body = _OTHER.sub(".", _CLOSE.sub("", control_id)).strip(".")
    token = f"{framework_id}-{body}"
    return token if token[0].isalpha() else f"_{token}"


def control_tokens(framework_id: str, control_ids: Iterable[str]) -> dict[str, str]:
    """Tokens for every control id, refusing a catalog whose ids would collide (two ids, one token)."""
    tokens: dict[str, str] = {}
    seen: dict[str, str] = {}
    for control_id in control_ids:
        token = control_token(framework_id, control_id)
        if token in seen and seen[token] != control_id:
            raise PacketBuildError(
                f"controls {seen[token]!r} and {control_id!r} of {framework_id} both become the OSCAL control id "
                f"{token!r}; rename one of them in the catalog"
            )
        seen[token] = control_id
        tokens[control_id] = token
    return tokens
