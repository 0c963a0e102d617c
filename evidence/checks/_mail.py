"""Sender authentication published in DNS, read as mail receivers read it: which names of a zone send or receive
mail, their SPF policy (RFC 7208) and the DMARC policy that applies to them (RFC 7489, a parent domain's `sp=` when
the name publishes none). Used by route53.mail_domains_dmarc_enforced."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

ENFORCING = ("quarantine", "reject")  # DMARC policies under which receivers act on mail that fails
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')
_ALL = re.compile(r"^([+\-~?]?)all$", re.IGNORECASE)
_QUALIFIERS = {"+": "+all (every sender passes)", "": "all (every sender passes)", "?": "?all (neutral)"}


def name_of(value: object) -> str:
    """A DNS name as compared here: lower case, without the trailing dot."""
    return str(value).strip().rstrip(".").lower()


def text(value: object) -> str:
    """A TXT record's value as Route 53 returns it ('"v=spf1 ..."', or several quoted strings a receiver joins)."""
    parts = _QUOTED.findall(str(value))
    return "".join(parts) if parts else str(value).strip()


@dataclass
class ZoneNames:
    """The MX and TXT values of every name of one zone's mail records."""

    mx: dict[str, list[str]] = field(default_factory=dict)
    txt: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def of(cls, records: Iterable[Mapping[str, Any]]) -> ZoneNames:
        names = cls()
        for record in records:
            kind = record.get("Type")
            if kind not in ("MX", "TXT"):
                continue
            values = [str(v.get("Value", "")) for v in record.get("ResourceRecords") or []]
            into = names.mx if kind == "MX" else names.txt
            into.setdefault(name_of(record.get("Name", "")), []).extend(
                values if kind == "MX" else [text(v) for v in values]
            )
        return names

    def spf(self, name: str) -> list[str]:
        return [v for v in self.txt.get(name, []) if v.lower().startswith("v=spf1")]

    def dmarc(self, name: str) -> list[str] | None:
        """The DMARC records at `_dmarc.<name>` (None: the name publishes none)."""
        values = [v for v in self.txt.get(f"_dmarc.{name}", []) if v.replace(" ", "").lower().startswith("v=dmarc1")]
        return values or None

    def mail_names(self) -> list[str]:
        """Names that receive mail (an MX other than RFC 7505's null MX) or declare their senders (SPF); names
        starting with '_' (SPF include targets, DMARC records) and wildcards are not mail domains."""
        receiving = {n for n, values in self.mx.items() if any(not _null_mx(v) for v in values)}
        sending = {n for n in self.txt if self.spf(n)}
        return sorted(n for n in receiving | sending if not n.startswith(("_", "*", "\\052")))


def _null_mx(value: str) -> bool:
    parts = value.split()
    return len(parts) == 2 and parts[1] == "."


def spf_problem(name: str, records: list[str]) -> str | None:
    """Why `name`'s SPF does not tell receivers to distrust other senders, or None when it does (-all or ~all, or a
    redirect= to another domain's policy)."""
    if not records:
        return f"{name} publishes no SPF record"
    if len(records) > 1:
        return f"{name} publishes {len(records)} SPF records (receivers treat that as a permanent error)"
    terms = records[0].split()[1:]
    endings = [m.group(1) for t in terms if (m := _ALL.match(t))]
    if endings:
        qualifier = endings[-1]
        return None if qualifier in ("-", "~") else f"{name}'s SPF record ends with {_QUALIFIERS[qualifier]}"
    if any(t.lower().startswith("redirect=") for t in terms):
        return None
    return f"{name}'s SPF record has no all mechanism (mail from any other sender is neutral)"


def spf_ending(records: list[str]) -> str:
    terms = records[0].split()[1:] if records else []
    endings = [t for t in terms if _ALL.match(t)]
    return endings[-1] if endings else next((t for t in terms if t.lower().startswith("redirect=")), "?")


def dmarc_tags(record: str) -> dict[str, str]:
    tags = {}
    for part in record.split(";"):
        key, sep, value = part.partition("=")
        if sep:
            tags[key.strip().lower()] = value.strip()
    return tags


@dataclass(frozen=True, slots=True)
class Dmarc:
    """The DMARC policy that applies to a name: its own record's p=, or a parent domain's sp= (else p=)."""

    records: list[str]
    source: str  # the domain whose _dmarc record it is
    inherited: bool

    def problem(self, name: str) -> str | None:
        where = f" (from {self.source})" if self.inherited else ""
        if len(self.records) > 1:
            return f"{name}: {self.source} publishes {len(self.records)} DMARC records (receivers ignore them all)"
        tags = dmarc_tags(self.records[0])
        tag = "sp" if self.inherited and "sp" in tags else "p"
        policy = tags.get(tag, "").lower()
        if not policy:
            return f"{name}'s DMARC record{where} has no policy (p=)"
        if policy not in ENFORCING:
            return f"{name}'s DMARC policy{where} is {tag}={policy}, which only reports: spoofed mail is delivered"
        pct = tags.get("pct", "100")
        if pct != "100":
            return f"{name}'s DMARC policy{where} applies to {pct}% of failing mail only (pct={pct})"
        return None

    def describe(self) -> str:
        tags = dmarc_tags(self.records[0])
        tag = "sp" if self.inherited and "sp" in tags else "p"
        return f"DMARC {tag}={tags.get(tag, '').lower()}" + (f" from {self.source}" if self.inherited else "")
