"""The built-in UDP servers (udp-echo, udp-reply-after) against plain loopback UDP sockets.

The reply-after delay is measured on the kernel's receive timestamp of the reply
(``SO_TIMESTAMPNS``), against the wall clock read just before the datagram was sent: the
assertion is on when the reply arrived, not on how long the test waited.
"""

from __future__ import annotations

import socket
import struct
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import wait_for
from tests.net.test_udp import LOOPBACK, Peer, peers
from workbench.net.servers import MAX_REPLY_DELAY_MS, ServerKind, ServerManager, ServerSpec

DELAY_MS = 150
#: Linux's SO_TIMESTAMPNS (asm-generic/socket.h), which Python 3.11's socket module does not
#: name; its control messages carry a struct timespec of the arrival time.
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)


class StampedPeer(Peer):
    """A plain UDP socket that keeps each datagram's kernel arrival time (wall clock, ns)."""

    def __init__(self) -> None:
        super().__init__()
        self.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self.stamps: list[int] = []

    def poll(self) -> int:
        while True:
            try:
                data, ancillary, _flags, addr = self.sock.recvmsg(70000, socket.CMSG_SPACE(16))
            except BlockingIOError:
                return len(self.got)
            (stamp,) = [d for level, kind, d in ancillary if kind == SO_TIMESTAMPNS]
            seconds, nanoseconds = struct.unpack("qq", stamp[:16])
            self.stamps.append(seconds * 1_000_000_000 + nanoseconds)
            self.got.append((data, addr))


def test_udp_kinds_and_delay_checks() -> None:
    assert ServerKind.UDP_ECHO.udp and ServerKind.UDP_REPLY_AFTER.udp
    assert not any(kind.udp for kind in ServerKind if kind.value.startswith(("echo", "tls")))
    assert ServerSpec(ServerKind.UDP_REPLY_AFTER).delay_ms == 1000
    with pytest.raises(ValueError):
        ServerSpec(ServerKind.UDP_REPLY_AFTER, delay_ms=-1)
    with pytest.raises(ValueError):
        ServerSpec(ServerKind.UDP_REPLY_AFTER, delay_ms=MAX_REPLY_DELAY_MS + 1)


async def test_udp_echo_echoes_a_datagram_to_its_sender(tmp_path: Path) -> None:
    async with ServerManager(tmp_path) as manager:
        server = await manager.start(ServerSpec(ServerKind.UDP_ECHO))
        assert server.host == LOOPBACK and server.port > 0 and server.running
        assert manager.find("udp-echo") is server and server.connections == 0
        with peers() as made:
            one, two = Peer(), Peer()
            made += [one, two]
            one.send(b"hello, udp", server.port)
            two.send(b"second sender", server.port)
            assert await one.wait(1) == [(b"hello, udp", (LOOPBACK, server.port))]
            assert await two.wait(1) == [(b"second sender", (LOOPBACK, server.port))]
        await wait_for(lambda: server.datagrams_out == 2)
        assert (server.datagrams_in, server.bytes_in, server.bytes_out) == (2, 23, 23)
        assert server.dropped == 0
    assert not server.running and manager.servers == []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="SO_TIMESTAMPNS is Linux's")
async def test_udp_reply_after_replies_no_earlier_than_the_delay(tmp_path: Path) -> None:
    async with ServerManager(tmp_path) as manager:
        spec = ServerSpec(ServerKind.UDP_REPLY_AFTER, delay_ms=DELAY_MS)
        server = await manager.start(spec)
        with peers() as made:
            peer = StampedPeer()
            made.append(peer)
            sent_at = []
            for data in (b"first", b"second"):
                sent_at.append(time.time_ns())
                peer.send(data, server.port)
            got = await peer.wait(2)
            assert [data for data, _ in got] == [b"first", b"second"]
            for sent, arrived in zip(sent_at, peer.stamps, strict=True):
                assert arrived - sent >= DELAY_MS * 1_000_000, (arrived - sent) / 1e6
        assert server.datagrams_out == 2


async def test_udp_reply_after_stop_drops_what_waits_and_frees_the_port(tmp_path: Path) -> None:
    async with ServerManager(tmp_path) as manager:
        spec = ServerSpec(ServerKind.UDP_REPLY_AFTER, delay_ms=MAX_REPLY_DELAY_MS)
        server = await manager.start(spec)
        with peers() as made:
            peer = Peer()
            made.append(peer)
            peer.send(b"never answered", server.port)
            await wait_for(lambda: server.datagrams_in == 1)
            await manager.stop(server)
            assert not server.running and server.datagrams_out == 0
            # The port is free: something else binds it.
            freed = Peer(port=server.port)
            made.append(freed)
            # And started again, the kind asks for its last port first.
            freed.close()
            made.remove(freed)
            again = await manager.start(ServerSpec(ServerKind.UDP_ECHO))
            assert again.port > 0
            peer.send(b"echo", again.port)
            assert (await peer.wait(1))[0][0] == b"echo"
