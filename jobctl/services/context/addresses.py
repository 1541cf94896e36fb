"""Which network addresses the context engine may connect to (the SSRF guard).

The verdict is made from explicit networks rather than `ipaddress.is_private`/`is_global` alone:
Python 3.11 misclassifies several forms (IPv4-mapped and IPv4-compatible IPv6, NAT64, 6to4,
Teredo embed an IPv4 address that its flags do not look at). Embedded IPv4 addresses are
extracted and judged themselves. Numeric host spellings (`2130706433`, `0x7f.1`, `127.1`,
`0177.0.0.1`) are parsed the way inet_aton (and so getaddrinfo) parses them.
"""

from __future__ import annotations

import ipaddress
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

IPAddress = IPv4Address | IPv6Address

_METADATA = {
    IPv4Address("169.254.169.254"): "cloud metadata",
    IPv4Address("100.100.100.200"): "cloud metadata",
    IPv6Address("fd00:ec2::254"): "cloud metadata",
}

_V4_BLOCKED: tuple[tuple[IPv4Network, str], ...] = tuple(
    (IPv4Network(net), why)
    for net, why in (
        ("0.0.0.0/8", "unspecified ('this network')"),
        ("10.0.0.0/8", "private"),
        ("100.64.0.0/10", "carrier-grade NAT (shared)"),
        ("127.0.0.0/8", "loopback"),
        ("169.254.0.0/16", "link-local"),
        ("172.16.0.0/12", "private"),
        ("192.0.0.0/24", "IETF protocol assignment"),
        ("192.0.2.0/24", "documentation"),
        ("192.88.99.0/24", "6to4 relay anycast"),
        ("192.168.0.0/16", "private"),
        ("198.18.0.0/15", "benchmarking"),
        ("198.51.100.0/24", "documentation"),
        ("203.0.113.0/24", "documentation"),
        ("224.0.0.0/4", "multicast"),
        ("255.255.255.255/32", "broadcast"),
        ("240.0.0.0/4", "reserved"),
    )
)

_V6_BLOCKED: tuple[tuple[IPv6Network, str], ...] = tuple(
    (IPv6Network(net), why)
    for net, why in (
        ("::/128", "unspecified"),
        ("::1/128", "loopback"),
        ("64:ff9b:1::/48", "local-use NAT64"),
        ("100::/64", "discard-only"),
        ("2001::/32", "Teredo tunnel"),
        ("2001::/23", "IETF protocol assignment"),
        ("2001:db8::/32", "documentation"),
        ("3fff::/20", "documentation"),
        ("5f00::/16", "segment routing"),
        ("fc00::/7", "private (unique local)"),
        ("fe80::/10", "link-local"),
        ("fec0::/10", "site-local"),
        ("ff00::/8", "multicast"),
    )
)

_MAPPED = IPv6Network("::ffff:0:0/96")
_COMPAT = IPv6Network("::/96")
_NAT64 = IPv6Network("64:ff9b::/96")
_SIX_TO_FOUR = IPv6Network("2002::/16")


def parse_numeric_host(host: str) -> IPAddress | None:
    """The address a numeric host names, parsed like inet_aton; None for a host name.

    inet_aton accepts 1 to 4 parts, each decimal, octal (leading 0) or hex (0x); the last part
    fills the remaining bytes: `127.1` is 127.0.0.1 and `2130706433` is 127.0.0.1 too.
    """
    text = host.strip("[]")
    if ":" in text:
        try:
            return IPv6Address(text)
        except ValueError:
            return None
    text = text.removesuffix(".")
    parts = text.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    values: list[int] = []
    for part in parts:
        value = _parse_part(part)
        if value is None:
            return None
        values.append(value)
    *head, last = values
    if any(v > 255 for v in head) or last >= 256 ** (4 - len(head)):
        return None
    number = 0
    for v in head:
        number = number * 256 + v
    number = number * 256 ** (4 - len(head)) + last
    return IPv4Address(number)


def _parse_part(part: str) -> int | None:
    lowered = part.lower()
    try:
        if lowered.startswith("0x"):
            return int(lowered[2:] or "0", 16)
        if len(lowered) > 1 and lowered.startswith("0"):
            return int(lowered[1:], 8)
        if lowered.isdigit():
            return int(lowered, 10)
    except ValueError:
        return None
    return None


def embedded_ipv4(ip: IPv6Address) -> tuple[IPv4Address, str] | None:
    """The IPv4 address an IPv6 address carries (mapped, compatible, NAT64, 6to4), if any."""
    if ip in _MAPPED:
        return IPv4Address(int(ip) & 0xFFFFFFFF), "IPv4-mapped"
    if ip in _NAT64:
        return IPv4Address(int(ip) & 0xFFFFFFFF), "NAT64"
    if ip in _SIX_TO_FOUR:
        return IPv4Address((int(ip) >> 80) & 0xFFFFFFFF), "6to4"
    if ip in _COMPAT and int(ip) > 1:
        return IPv4Address(int(ip) & 0xFFFFFFFF), "IPv4-compatible"
    return None


def refusal_reason(ip: IPAddress) -> str | None:
    """Why the context engine must not connect to `ip` ("loopback", ...), or None if it may."""
    if ip in _METADATA:
        return _METADATA[ip]
    if isinstance(ip, IPv6Address):
        if ip.scope_id:
            return "scoped (zone id)"
        inner = embedded_ipv4(ip)
        if inner is not None:
            address, form = inner
            why = refusal_reason(address)
            return None if why is None else f"{form} form of {address}, {why}"
        for net6, why in _V6_BLOCKED:
            if ip in net6:
                return why
        # Only the global unicast block is routable on the internet today.
        if ip not in IPv6Network("2000::/3"):
            return "reserved"
        return None
    for net4, why in _V4_BLOCKED:
        if ip in net4:
            return why
    if not ip.is_global:  # belt and braces: anything else the stdlib knows to be non-global
        return "not globally routable"
    return None


def as_ip(text: str) -> IPAddress:
    """An address from getaddrinfo's sockaddr text (may carry an IPv6 zone: `fe80::1%eth0`)."""
    return ipaddress.ip_address(text)
