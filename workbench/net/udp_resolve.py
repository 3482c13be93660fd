"""Addresses for ``chrome.sockets.udp``: what ``bind()`` binds to and where ``send()`` sends.

An IP literal is answered on the spot (``AI_NUMERICHOST`` never asks a resolver); only names
take the trip through the executor. A failure comes back as a result code and the reason in
words, never as an exception.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from typing import Any

from workbench.core.errors import NetError
from workbench.core.types import DnsQueryType
from workbench.net.words import reason

__all__ = ["MAX_DATAGRAM", "Resolved", "bind_address", "multicast_group", "send_address"]

#: The largest UDP payload per family: 65,535 less the IPv4 (20) or no IPv6 header counted in
#: the length field, less UDP's 8 bytes (D5: 'over 65507 bytes on IPv4' is -142).
MAX_DATAGRAM = {socket.AF_INET: 65507, socket.AF_INET6: 65527}

_FAMILIES = {
    DnsQueryType.ANY: socket.AF_UNSPEC,
    DnsQueryType.IPV4: socket.AF_INET,
    DnsQueryType.IPV6: socket.AF_INET6,
}

#: (family, socket address) or (None, the result code and why).
Resolved = tuple[int, tuple[Any, ...]] | tuple[None, tuple[int, str]]


async def _lookup(host: str, port: int, family: int, flags: int) -> list[tuple[Any, ...]]:
    """getaddrinfo's answers for UDP; raises OSError (or UnicodeError for a bad name)."""
    try:
        infos = socket.getaddrinfo(
            host,
            port,
            family,
            socket.SOCK_DGRAM,
            socket.IPPROTO_UDP,
            flags | socket.AI_NUMERICHOST,
        )
    except (OSError, UnicodeError):
        loop = asyncio.get_running_loop()
        infos = await loop.getaddrinfo(
            host,
            port,
            family=family,
            type=socket.SOCK_DGRAM,
            proto=socket.IPPROTO_UDP,
            flags=flags,
        )
    return list(infos)


async def bind_address(address: str, port: int) -> Resolved:
    """'DNS name, IPv4 and IPv6 formats are supported. Use "0.0.0.0" to accept packets from all
    local available network interfaces.' (D2): the first address the name has."""
    if not address.strip():
        return None, (NetError.NAME_NOT_RESOLVED, "the address is empty")
    try:
        infos = await _lookup(address, port, socket.AF_UNSPEC, socket.AI_PASSIVE)
    except (OSError, UnicodeError) as exc:
        return None, (NetError.NAME_NOT_RESOLVED, f"{address}: {reason(exc)}")
    if not infos:
        return None, (NetError.NAME_NOT_RESOLVED, f"{address}: no address")
    family, _, _, _, sockaddr = infos[0]
    return int(family), tuple(sockaddr)


async def send_address(address: str, port: int, query: DnsQueryType, family: int) -> Resolved:
    """Where a datagram of a socket of ``family`` goes: the first address of the name that
    the socket can reach. An IPv4 address is reached from an IPv6 socket as ``::ffff:a.b.c.d``
    (Linux's dual-stack sockets); an IPv6 address from an IPv4 socket cannot be (-108)."""
    if not address.strip():
        return None, (NetError.NAME_NOT_RESOLVED, "the address is empty")
    try:
        infos = await _lookup(address, port, _FAMILIES[query], 0)
    except (OSError, UnicodeError) as exc:
        return None, (NetError.NAME_NOT_RESOLVED, f"{address}: {reason(exc)}")
    for kind, _, _, _, sockaddr in infos:
        if kind == family:
            return int(kind), tuple(sockaddr)
    for kind, _, _, _, sockaddr in infos:
        if kind == socket.AF_INET and family == socket.AF_INET6:
            return socket.AF_INET6, (f"::ffff:{sockaddr[0]}", sockaddr[1], 0, 0)
    if not infos:
        return None, (NetError.NAME_NOT_RESOLVED, f"{address}: no address")
    return None, (
        NetError.ADDRESS_INVALID,
        f"{address} has only IPv6 addresses and the socket is bound to an IPv4 address",
    )


def multicast_group(address: str, family: int) -> tuple[str | None, str]:
    """The normalized group of ``address`` for a socket of ``family``, or ``None`` and why not
    (D9: 'Domain names are not supported.'; not a multicast address; the other family)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None, f"{address!r} is not an IP address (a name is not resolved here)"
    if not ip.is_multicast:
        return None, f"{address} is not a multicast address"
    if (ip.version == 6) != (family == socket.AF_INET6):
        return None, f"{address} is of the other IP version than the socket's bound address"
    if isinstance(ip, ipaddress.IPv6Address) and ip.scope_id:
        return None, f"{address}: give the group without a scope; the bound address picks it"
    return str(ip), ""
