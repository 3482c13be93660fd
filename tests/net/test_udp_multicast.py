"""``chrome.sockets.udp`` multicast: row D9 of sockets-server-udp-contract.md.

Joining, leaving and listing are checked against the kernel's own tables (``/proc/net/igmp``
and ``/proc/net/igmp6`` list each interface's groups), so "the join uses the interface of the
bound address" is seen, not assumed. Delivery needs the kernel to loop multicast back to this
host; a probe with plain sockets decides, and only the delivery tests skip, saying why, where
the sandbox cannot.
"""

from __future__ import annotations

import contextlib
import os
import socket
import struct
import sys
from collections.abc import Iterator

import pytest

from tests.conftest import assert_stays, wait_for
from tests.net.test_udp import LOOPBACK, Datagrams, Peer, bound, peers
from tests.net.tls_peers import ipv6_loopback_available
from workbench.sockets import NetError, UdpSocketProperties, UdpSockets

# Administratively scoped groups (RFC 2365), varied by process so parallel runs do not share.
_SALT = os.getpid() % 200 + 1
GROUP = f"239.255.{_SALT}.1"
GROUP2 = f"239.255.{_SALT}.2"
GROUP6 = f"ff15::{_SALT:x}:1"
#: Linux's IP_RECVTTL (include/uapi/linux/in.h); Python's socket module lacks it.
IP_RECVTTL = getattr(socket, "IP_RECVTTL", 12)


def igmp_groups() -> dict[str, set[str]]:
    """Interface name → the IPv4 groups the kernel has joined on it (``/proc/net/igmp``)."""
    groups: dict[str, set[str]] = {}
    device = ""
    with open("/proc/net/igmp", encoding="ascii") as table:
        for line in table.read().splitlines()[1:]:
            if not line.startswith("\t"):
                device = line.split()[1]
                groups.setdefault(device, set())
            else:
                # The group is the network-order address printed as a host-order number.
                value = int(line.split()[0], 16)
                groups[device].add(socket.inet_ntoa(struct.pack("=I", value)))
    return groups


def igmp6_groups() -> dict[str, set[str]]:
    """Interface name → the IPv6 groups the kernel has joined on it (``/proc/net/igmp6``)."""
    groups: dict[str, set[str]] = {}
    with open("/proc/net/igmp6", encoding="ascii") as table:
        for line in table:
            fields = line.split()
            address = socket.inet_ntop(socket.AF_INET6, bytes.fromhex(fields[2]))
            groups.setdefault(fields[1], set()).add(address)
    return groups


def loopback_interface() -> str:
    return socket.if_indextoname(1) if socket.if_nameindex() else "lo"


@contextlib.contextmanager
def multicast_sender() -> Iterator[socket.socket]:
    """A plain socket that sends multicast out of the OS's default interface for the group,
    where a wildcard-bound member's join is too."""
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        yield sender
    finally:
        sender.close()


def _multicast_delivery_works() -> str | None:
    """None when a datagram sent to a group comes back to a local member joined on the OS's
    default interface (as a wildcard-bound socket joins); else why not."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as member, multicast_sender() as s:
            member.bind(("0.0.0.0", 0))
            request = socket.inet_aton(GROUP2) + socket.inet_aton("0.0.0.0")
            member.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, request)
            member.settimeout(2)
            s.sendto(b"probe", (GROUP2, member.getsockname()[1]))
            member.recvfrom(16)
    except OSError as exc:
        return f"this sandbox does not loop multicast back to local members ({exc})"
    return None


needs_delivery = pytest.mark.skipif(
    (why := _multicast_delivery_works()) is not None, reason=why or ""
)
needs_proc = pytest.mark.skipif(
    not os.path.exists("/proc/net/igmp"), reason="needs Linux's /proc/net/igmp"
)


@needs_proc
async def test_D9_join_leave_and_list_on_the_bound_interface() -> None:
    async with UdpSockets() as udp:
        sid, _ = await bound(udp)
        lo = loopback_interface()
        assert await udp.join_group(sid, GROUP) == 0
        assert await udp.get_joined_groups(sid) == [GROUP]
        # Bound to 127.0.0.1: the kernel joined on the loopback interface.
        assert GROUP in igmp_groups()[lo]
        assert await udp.join_group(sid, GROUP2) == 0
        assert await udp.get_joined_groups(sid) == [GROUP, GROUP2]
        # Joined twice: Chromium's -108, and the membership stays.
        assert await udp.join_group(sid, GROUP) == NetError.ADDRESS_INVALID
        assert "already joined" in (udp.error_detail(sid) or "")
        assert await udp.leave_group(sid, GROUP) == 0
        assert await udp.get_joined_groups(sid) == [GROUP2]
        assert GROUP not in igmp_groups().get(lo, set())
        # Not joined: -108 as well.
        assert await udp.leave_group(sid, GROUP) == NetError.ADDRESS_INVALID
        assert await udp.get_joined_groups(sid) == [GROUP2]
        await udp.close(sid)
        assert GROUP2 not in igmp_groups().get(lo, set())  # the OS left it with the socket


async def test_D9_unbound_names_and_non_multicast_addresses() -> None:
    async with UdpSockets() as udp:
        sid = (await udp.create()).socket_id
        assert await udp.join_group(sid, GROUP) == NetError.SOCKET_NOT_CONNECTED
        assert await udp.leave_group(sid, GROUP) == NetError.SOCKET_NOT_CONNECTED
        assert await udp.get_joined_groups(sid) == []
        assert await udp.bind(sid, LOOPBACK, 0) == 0
        for address in ("10.0.0.1", "localhost", "239.255.1", "", "ff15::1"):
            assert await udp.join_group(sid, address) == NetError.ADDRESS_INVALID, address
        assert await udp.get_joined_groups(sid) == []
        with pytest.raises(TypeError):
            await udp.join_group(sid, None)  # type: ignore[arg-type]


async def test_D9_ttl_and_loopback_arguments() -> None:
    async with UdpSockets() as udp:
        sid = (await udp.create()).socket_id
        assert await udp.set_multicast_time_to_live(sid, 0) == 0  # not bound: kept
        assert await udp.set_multicast_loopback_mode(sid, False) == 0
        for bad in (-1, 256):
            with pytest.raises(ValueError):
                await udp.set_multicast_time_to_live(sid, bad)
        with pytest.raises(TypeError):
            await udp.set_multicast_time_to_live(sid, True)  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            await udp.set_multicast_loopback_mode(sid, 1)  # type: ignore[arg-type]
        assert await udp.bind(sid, LOOPBACK, 0) == 0
        # Bound: still 0 (Chrome answers -23 here; the core is kinder).
        assert await udp.set_multicast_time_to_live(sid, 255) == 0
        assert await udp.set_multicast_loopback_mode(sid, True) == 0


@pytest.mark.skipif(not ipv6_loopback_available(), reason="no IPv6 loopback here")
@pytest.mark.skipif(not os.path.exists("/proc/net/igmp6"), reason="needs /proc/net/igmp6")
async def test_D9_ipv6_join_uses_the_bound_interface() -> None:
    async with UdpSockets() as udp:
        sid, _ = await bound(udp, "::1")
        assert await udp.join_group(sid, GROUP6) == 0
        assert await udp.get_joined_groups(sid) == [GROUP6]
        assert GROUP6 in igmp6_groups()[loopback_interface()]
        assert await udp.join_group(sid, GROUP) == NetError.ADDRESS_INVALID  # IPv4 group
        assert await udp.leave_group(sid, GROUP6) == 0
        assert GROUP6 not in igmp6_groups().get(loopback_interface(), set())


@needs_delivery
async def test_D9_delivery_to_a_joined_group() -> None:
    async with UdpSockets() as udp:
        got = Datagrams(udp)
        # A socket bound to 127.0.0.1 only takes datagrams addressed to 127.0.0.1; a member
        # binds the wildcard (the join then uses the OS's default interface).
        sid, port = await bound(udp, "0.0.0.0")
        with multicast_sender() as sender:
            sender.sendto(b"before", (GROUP, port))
            await assert_stays(lambda: not got.received, message="delivered before the join")
            assert await udp.join_group(sid, GROUP) == 0
            sender.sendto(b"member", (GROUP, port))
            [info] = await got.wait(1)
            assert (info.data, info.remote_port) == (b"member", sender.getsockname()[1])
            assert await udp.leave_group(sid, GROUP) == 0
            sender.sendto(b"after", (GROUP, port))
            await assert_stays(lambda: len(got.received) == 1, message="delivered after leaving")


@needs_delivery
async def test_D9_ttl_and_loopback_set_before_bind_apply_at_bind() -> None:
    async with UdpSockets() as udp:
        quiet = (await udp.create()).socket_id
        assert await udp.set_multicast_loopback_mode(quiet, False) == 0
        assert await udp.set_multicast_time_to_live(quiet, 7) == 0
        assert await udp.bind(quiet, "0.0.0.0", 0) == 0
        loud, _ = await bound(udp, "0.0.0.0", UdpSocketProperties(name="loud"))
        assert await udp.set_multicast_time_to_live(loud, 3) == 0  # after bind: at once
        with peers() as made:
            made.append(member := Peer("0.0.0.0"))
            request = socket.inet_aton(GROUP) + socket.inet_aton("0.0.0.0")
            member.sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, request)
            member.sock.setsockopt(socket.IPPROTO_IP, IP_RECVTTL, 1)
            # Loopback off: on Linux the sender's datagrams are not looped back to this host.
            assert (await udp.send(quiet, b"quiet", GROUP, member.port)).result_code == 0
            assert (await udp.send(loud, b"loud", GROUP, member.port)).result_code == 0
            # TTL: the loud socket's 3, set after bind, travels in the IP header.
            assert await _received_with_ttl(member) == (b"loud", 3)
            await assert_stays(lambda: member.poll() == 0, message="a looped-back datagram")
            assert await udp.set_multicast_loopback_mode(quiet, True) == 0
            assert (await udp.send(quiet, b"now", GROUP, member.port)).result_code == 0
            # The 7 set before bind applied at bind.
            assert await _received_with_ttl(member) == (b"now", 7)


async def _received_with_ttl(member: Peer) -> tuple[bytes, int]:
    """The next datagram ``member`` receives and its TTL (``IP_RECVTTL`` is on)."""
    found: list[tuple[bytes, int]] = []

    def arrived() -> bool:
        try:
            data, ancdata, _, _ = member.sock.recvmsg(64, 64)
        except BlockingIOError:
            return False
        for level, kind, value in ancdata:
            if level == socket.IPPROTO_IP and kind == socket.IP_TTL:
                found.append((data, int.from_bytes(value[:4], sys.byteorder)))
        return True

    await wait_for(arrived, message="no datagram")
    assert found, "no TTL came with the datagram"
    return found[0]
