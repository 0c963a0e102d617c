"""The client address as the access log and the rate limiter record it.

Behind a trusted proxy uvicorn takes the address from X-Forwarded-For as it stands, and with
AUDITPACK_API_FORWARDED_ALLOW_IPS=* the leftmost entry is whatever the client wrote. So the value is checked here:
an IPv4 or IPv6 address comes back in its normal form (lower case, `::` compressed; an IPv4-mapped IPv6 address
as the IPv4 address it maps), an IPv6 zone is kept when it is an interface name (at most 15 letters, digits, `_`,
`.` or `-`) and dropped otherwise; anything else becomes "invalid", and no address at all "unknown". The longest
result is 55 characters (39 for the address, 16 for the zone), inside the 64 of `api_access_log.client`.
"""

from __future__ import annotations

import ipaddress
import re

UNKNOWN = "unknown"
INVALID = "invalid"
MAX_LENGTH = 55
_ZONE = re.compile(r"[A-Za-z0-9_.-]{1,15}")  # Linux interface names: at most IFNAMSIZ - 1 characters
_ADDRESS_TEXT = re.compile(r"[0-9A-Fa-f:.]{2,45}")


def normalise_client(host: object) -> str:
    if host is None or host == "":
        return UNKNOWN
    if not isinstance(host, str):
        return INVALID
    address, _, zone = host.partition("%")
    if not _ADDRESS_TEXT.fullmatch(address):  # before ipaddress: it accepts text we would rather not (long, odd)
        return INVALID
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return INVALID
    if isinstance(parsed, ipaddress.IPv4Address):
        return INVALID if zone else str(parsed)
    if parsed.ipv4_mapped is not None:  # a dual-stack socket's view of an IPv4 client
        return str(parsed.ipv4_mapped)
    text = parsed.compressed
    return f"{text}%{zone}" if zone and _ZONE.fullmatch(zone) else text
