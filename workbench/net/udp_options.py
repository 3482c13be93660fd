"""The socket options behind ``chrome.sockets.udp``'s multicast and broadcast calls, and the
receive-error switch, in one place: what to ``setsockopt`` for which address family.

Python's ``socket`` module lacks some of Linux's constants (``IP_RECVERR``,
``IPV6_RECVERR``); their values are the kernel's ABI (``include/uapi/linux/in.h``,
``in6.h``), which does not change.
"""

from __future__ import annotations

import ipaddress
import socket
import struct
import sys

__all__ = [
    "enable_receive_errors",
    "interface_index",
    "set_broadcast",
    "set_membership",
    "set_multicast_interface",
    "set_multicast_loopback",
    "set_multicast_ttl",
]

#: Linux's IP_RECVERR and IPV6_RECVERR (include/uapi/linux/in.h, in6.h).
_IP_RECVERR = 11
_IPV6_RECVERR = 25


def enable_receive_errors(sock: socket.socket) -> bool:
    """Ask Linux to report ICMP errors (port unreachable, ...) on this unconnected socket: without
    ``IP_RECVERR`` an unconnected UDP socket never sees them (contract D8). The errors then also
    wait in the socket's error queue, which the reader must drain (``MSG_ERRQUEUE``), or epoll
    keeps reporting the socket. False where the OS has no such option."""
    if not sys.platform.startswith("linux"):
        return False
    if sock.family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, _IPV6_RECVERR, 1)
    else:
        sock.setsockopt(socket.IPPROTO_IP, _IP_RECVERR, 1)
    return True


def interface_index(address: str) -> int:
    """The index of the interface that has the IPv6 ``address`` (for ``IPV6_JOIN_GROUP``), or 0,
    the OS's choice, for the wildcard or where it cannot be found. Linux lists its IPv6
    addresses with their interface in ``/proc/net/if_inet6``."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if ip.is_unspecified:
        return 0
    if "%" in address:
        scope = address.split("%", 1)[1]
        try:
            return int(scope) if scope.isdigit() else socket.if_nametoindex(scope)
        except OSError:
            return 0
    try:
        with open("/proc/net/if_inet6", encoding="ascii") as table:
            for line in table:
                fields = line.split()
                if len(fields) >= 2 and fields[0] == ip.packed.hex():
                    return int(fields[1], 16)
    except OSError:
        pass
    return 0


def set_membership(sock: socket.socket, group: str, local: str, join: bool) -> None:
    """Join (or leave) ``group`` on the interface of the bound address ``local`` (contract D9):
    IPv4's ``struct ip_mreq`` is the group and the interface's address (0.0.0.0 lets the OS
    choose), IPv6's ``struct ipv6_mreq`` the group and the interface's index (0: the OS's)."""
    if sock.family == socket.AF_INET6:
        request = ipaddress.IPv6Address(group).packed + struct.pack("@I", interface_index(local))
        option = socket.IPV6_JOIN_GROUP if join else socket.IPV6_LEAVE_GROUP
        sock.setsockopt(socket.IPPROTO_IPV6, option, request)
    else:
        request = socket.inet_aton(group) + socket.inet_aton(local)
        option = socket.IP_ADD_MEMBERSHIP if join else socket.IP_DROP_MEMBERSHIP
        sock.setsockopt(socket.IPPROTO_IP, option, request)


def set_multicast_ttl(sock: socket.socket, ttl: int) -> None:
    if sock.family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, ttl)
    else:
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, ttl)


def set_multicast_loopback(sock: socket.socket, enabled: bool) -> None:
    if sock.family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_LOOP, int(enabled))
    else:
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, int(enabled))


def set_multicast_interface(sock: socket.socket, local: str) -> None:
    """Send multicast out of the interface of the bound address, as joins use it; nothing to do
    for the wildcard (the OS's routing chooses)."""
    ip = ipaddress.ip_address(local.split("%", 1)[0])
    if ip.is_unspecified:
        return
    if sock.family == socket.AF_INET6:
        index = interface_index(local)
        if index:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, index)
    else:
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, ip.packed)


def set_broadcast(sock: socket.socket, enabled: bool) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, int(enabled))
