"""``chrome.sockets.udp``: rows D1 to D8, D10 and D11 of sockets-server-udp-contract.md (D9,
multicast, is in ``test_udp_multicast.py``).

Every test is named after its row and runs against real peers: plain ``socket`` UDP sockets
polled on the loop, ``socat`` and ``ncat -u`` as separate processes, and the kernel's own ICMP
port unreachable. Waits are on conditions; the only fixed windows are ``assert_stays`` ones
proving something does not happen.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import TIMEOUT, assert_stays, wait_for
from tests.net.tls_peers import ipv6_loopback_available
from workbench.sockets import (
    ChangeReason,
    NetError,
    ReceiveErrorInfo,
    SendInfo,
    SocketNotFoundError,
    TcpSockets,
    UdpChange,
    UdpReceiveInfo,
    UdpSocketInfo,
    UdpSocketProperties,
    UdpSockets,
)

LOOPBACK = "127.0.0.1"
#: TEST-NET-3 (RFC 5737): an address no machine of ours has.
ABSENT = "203.0.113.7"


# -- peers and recorders ---------------------------------------------------------------------


class Datagrams:
    """Records ``on_receive`` and ``on_receive_error`` of one ``UdpSockets``, in order."""

    def __init__(self, udp: UdpSockets) -> None:
        self.received: list[UdpReceiveInfo] = []
        self.errors: list[ReceiveErrorInfo] = []
        self.log: list[tuple[str, Any]] = []
        udp.on_receive.add_listener(self._on_receive)
        udp.on_receive_error.add_listener(self._on_error)

    def _on_receive(self, info: UdpReceiveInfo) -> None:
        self.received.append(info)
        self.log.append(("receive", info.data))

    def _on_error(self, info: ReceiveErrorInfo) -> None:
        self.errors.append(info)
        self.log.append(("error", info.result_code))

    def of(self, socket_id: int) -> list[bytes]:
        return [r.data for r in self.received if r.socket_id == socket_id]

    async def wait(self, n: int, socket_id: int | None = None) -> list[UdpReceiveInfo]:
        def mine() -> list[UdpReceiveInfo]:
            return [r for r in self.received if socket_id is None or r.socket_id == socket_id]

        await wait_for(
            lambda: len(mine()) >= n,
            message=lambda: f"{len(mine())} of {n} datagrams; errors {self.errors}",
        )
        return mine()[:n]

    async def wait_error(self) -> ReceiveErrorInfo:
        await wait_for(lambda: bool(self.errors), message=lambda: f"got {self.received}")
        return self.errors[0]


class Peer:
    """A plain UDP socket on the loopback, read without blocking while the loop runs."""

    def __init__(self, host: str = LOOPBACK, port: int = 0) -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        self.sock.bind((host, port))
        self.sock.setblocking(False)
        self.host = host
        self.port: int = self.sock.getsockname()[1]
        self.got: list[tuple[bytes, tuple[Any, ...]]] = []

    def send(self, data: bytes, port: int, host: str | None = None) -> None:
        self.sock.sendto(data, (host or self.host, port))

    def poll(self) -> int:
        """Take what arrived; the number of datagrams received so far."""
        while True:
            try:
                self.got.append(self.sock.recvfrom(70000))
            except BlockingIOError:
                return len(self.got)

    async def wait(self, n: int) -> list[tuple[bytes, tuple[Any, ...]]]:
        def enough() -> bool:
            return self.poll() >= n

        await wait_for(enough, message=lambda: f"peer got {len(self.got)} of {n}")
        return self.got[:n]

    def close(self) -> None:
        self.sock.close()


@contextlib.contextmanager
def peers() -> Iterator[list[Peer]]:
    made: list[Peer] = []
    try:
        yield made
    finally:
        for peer in made:
            peer.close()


async def bound(
    udp: UdpSockets, address: str = LOOPBACK, properties: UdpSocketProperties | None = None
) -> tuple[int, int]:
    """A new socket bound to ``address`` and a free port: (id, port)."""
    sid = (await udp.create(properties)).socket_id
    assert await udp.bind(sid, address, 0) == NetError.OK, udp.error_detail(sid)
    info = await udp.get_info(sid)
    assert info.local_port
    return sid, info.local_port


def free_udp_port(host: str = LOOPBACK) -> int:
    """A UDP port on ``host`` nothing is bound to (datagrams to it get port unreachable)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
    return port


def udp_receive_queue(port: int) -> int | None:
    """Bytes the kernel holds for the IPv4 UDP socket on ``port`` (``/proc/net/udp``'s
    rx_queue), or ``None`` when no such socket is listed."""
    try:
        with open("/proc/net/udp", encoding="ascii") as table:
            rows = table.read().splitlines()[1:]
    except OSError:
        return None
    for row in rows:
        fields = row.split()
        if int(fields[1].split(":")[1], 16) == port:
            return int(fields[4].split(":")[1], 16)
    return None


async def wait_port_bound(port: int, proc: subprocess.Popen[bytes]) -> None:
    """Wait until an external peer has bound ``port`` (it is listed in /proc/net/udp)."""
    await wait_for(
        lambda: proc.poll() is not None or udp_receive_queue(port) is not None,
        message=f"nothing bound UDP port {port}",
    )
    assert proc.poll() is None, "the peer exited before binding"


@contextlib.contextmanager
def process(*argv: str, stdin: bool = False) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(
        argv,
        stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: socat's forked children go too
    )
    try:
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(TIMEOUT)
        for pipe in (proc.stdin, proc.stdout):
            if pipe is not None:
                pipe.close()


# -- D1 --------------------------------------------------------------------------------------


async def test_D1_ids_are_their_own_sequence_and_defaults(tcp: TcpSockets) -> None:
    async with UdpSockets() as udp:
        changes: list[UdpChange] = []
        udp.on_changed.add_listener(changes.append)
        await tcp.create()
        await tcp.create()
        ids = [(await udp.create()).socket_id for _ in range(3)]
        assert ids == [1, 2, 3]  # not 3, 4, 5: TCP's ids are another sequence
        assert await udp.get_info(1) == UdpSocketInfo(socket_id=1, persistent=False, paused=False)
        await udp.close(3)
        assert (await udp.create()).socket_id == 4  # never reused
        assert [i.socket_id for i in await udp.get_sockets()] == [1, 2, 4]
        assert udp.socket_ids() == [1, 2, 4]
        with pytest.raises(SocketNotFoundError):
            await udp.get_info(3)
        with pytest.raises(SocketNotFoundError):
            udp.info_now(3)
        props = UdpSocketProperties(name="dns", persistent=True, buffer_size=512)
        sid = (await udp.create(props)).socket_id
        assert udp.info_now(sid) == UdpSocketInfo(
            socket_id=sid, persistent=True, paused=False, name="dns", buffer_size=512
        )
        await udp.update(sid, UdpSocketProperties(buffer_size=0))  # <= 0 is "unset" (C2)
        assert udp.info_now(sid).buffer_size is None and udp.info_now(sid).name == "dns"
        assert [(c.socket_id, c.reason) for c in changes] == [
            (1, ChangeReason.CREATED),
            (2, ChangeReason.CREATED),
            (3, ChangeReason.CREATED),
            (3, ChangeReason.CLOSED),
            (4, ChangeReason.CREATED),
            (5, ChangeReason.CREATED),
            (5, ChangeReason.PROPERTIES),
        ]
        assert changes[3].info is None and changes[-1].info == udp.info_now(sid)
        with pytest.raises(TypeError):
            await udp.create(object())  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            UdpSocketProperties(buffer_size="4096")  # type: ignore[arg-type]


# -- D2 --------------------------------------------------------------------------------------


async def test_D2_bind_port_zero_then_datagrams_arrive() -> None:
    async with UdpSockets() as udp:
        got = Datagrams(udp)
        changes: list[UdpChange] = []
        udp.on_changed.add_listener(changes.append)
        sid = (await udp.create()).socket_id
        assert await udp.bind(sid, LOOPBACK, 0) == 0
        info = await udp.get_info(sid)
        assert info.local_address == LOOPBACK and info.local_port
        assert changes[-1].reason is ChangeReason.STATE
        assert changes[-1].info is not None and changes[-1].info.local_port == info.local_port
        with peers() as made:
            peer = Peer()
            made.append(peer)
            peer.send(b"hello", info.local_port)
            [first] = await got.wait(1)
            assert first == UdpReceiveInfo(
                socket_id=sid, data=b"hello", remote_address=LOOPBACK, remote_port=peer.port
            )


async def test_D2_bind_resolves_a_host_name() -> None:
    async with UdpSockets() as udp:
        got = Datagrams(udp)
        sid = (await udp.create()).socket_id
        assert await udp.bind(sid, "localhost", 0) == 0
        info = await udp.get_info(sid)
        assert info.local_address in ("127.0.0.1", "::1")  # an IP literal, not the name
        assert info.local_port
        with peers() as made:
            made.append(peer := Peer(info.local_address))
            peer.send(b"by name", info.local_port)
            assert [r.data for r in await got.wait(1)] == [b"by name"]


@pytest.mark.skipif(not ipv6_loopback_available(), reason="no IPv6 loopback here")
async def test_D2_bind_ipv6_loopback() -> None:
    async with UdpSockets() as udp:
        got = Datagrams(udp)
        sid, port = await bound(udp, "::1")
        assert udp.info_now(sid).local_address == "::1"  # no brackets
        with peers() as made:
            made.append(peer := Peer("::1"))
            peer.send(b"six", port)
            [first] = await got.wait(1)
            assert (first.data, first.remote_address, first.remote_port) == (
                b"six",
                "::1",
                peer.port,
            )
            assert await udp.send(sid, b"back", "::1", peer.port) == SendInfo(
                result_code=0, bytes_sent=4
            )
            assert (await peer.wait(1))[0][0] == b"back"


async def test_D2_bad_arguments_raise() -> None:
    async with UdpSockets() as udp:
        sid = (await udp.create()).socket_id
        with pytest.raises(ValueError):
            await udp.bind(sid, LOOPBACK, 65536)
        with pytest.raises(TypeError):
            await udp.bind(sid, LOOPBACK, True)  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            await udp.bind(sid, 127, 0)  # type: ignore[arg-type]
        with pytest.raises(ValueError):
            await udp.bind(sid, "localhost\x00.example", 0)
        with pytest.raises(SocketNotFoundError):
            await udp.bind(99, LOOPBACK, 0)
        assert await udp.bind(sid, "", 0) == NetError.NAME_NOT_RESOLVED
        assert udp.info_now(sid).local_port is None


# -- D3 --------------------------------------------------------------------------------------


async def test_D3_bind_errors_keep_the_socket_usable() -> None:
    async with UdpSockets() as udp:
        sid = (await udp.create()).socket_id
        with peers() as made:
            made.append(taken := Peer())
            assert await udp.bind(sid, LOOPBACK, taken.port) == NetError.ADDRESS_IN_USE
            assert "in use" in (udp.error_detail(sid) or "")
            assert await udp.bind(sid, ABSENT, 0) == NetError.ADDRESS_INVALID
            assert udp.info_now(sid).local_port is None
            # Still usable: a later bind works.
            assert await udp.bind(sid, LOOPBACK, 0) == 0
            port = udp.info_now(sid).local_port
            assert port


async def test_D3_bind_on_a_bound_socket_is_refused_and_the_binding_kept() -> None:
    async with UdpSockets() as udp:
        got = Datagrams(udp)
        sid, port = await bound(udp)
        # Chromium's UDPSocket::Bind answers ERR_CONNECTION_FAILED for a bound socket.
        assert await udp.bind(sid, LOOPBACK, 0) == NetError.CONNECTION_FAILED
        assert await udp.bind(sid, "localhost", 0) == NetError.CONNECTION_FAILED
        assert udp.info_now(sid).local_port == port
        with peers() as made:
            made.append(peer := Peer())
            peer.send(b"still here", port)
            assert [r.data for r in await got.wait(1)] == [b"still here"]


# -- D4 --------------------------------------------------------------------------------------


async def test_D4_send_before_bind_is_minus_15_before_resolving() -> None:
    async with UdpSockets() as udp:
        sid = (await udp.create()).socket_id
        unbound = SendInfo(result_code=NetError.SOCKET_NOT_CONNECTED, bytes_sent=None)
        assert await udp.send(sid, b"x", LOOPBACK, 9) == unbound
        # A name that cannot resolve still answers -15: the bind is checked first.
        assert await udp.send(sid, b"x", "no-such-host.invalid", 9) == unbound
        assert "bound" in (udp.error_detail(sid) or "")
        with pytest.raises(TypeError):
            await udp.send(sid, "text", LOOPBACK, 9)  # type: ignore[arg-type]
        with pytest.raises(ValueError):
            await udp.send(sid, b"x", LOOPBACK, 9, "ipv5")
        with pytest.raises(SocketNotFoundError):
            await udp.send(42, b"x", LOOPBACK, 9)


# -- D5 --------------------------------------------------------------------------------------


async def test_D5_send_one_datagram_to_a_plain_peer() -> None:
    async with UdpSockets() as udp:
        sid, port = await bound(udp)
        with peers() as made:
            made.append(peer := Peer())
            assert await udp.send(sid, b"one datagram", LOOPBACK, peer.port) == SendInfo(
                result_code=0, bytes_sent=12
            )
            assert await udp.send(sid, bytearray(b"two"), "localhost", peer.port, "ipv4") == (
                SendInfo(result_code=0, bytes_sent=3)
            )
            assert await udp.send(sid, memoryview(b""), LOOPBACK, peer.port) == SendInfo(
                result_code=0, bytes_sent=0
            )
            got = await peer.wait(3)
            assert [d for d, _ in got] == [b"one datagram", b"two", b""]
            assert all(addr == (LOOPBACK, port) for _, addr in got)


async def test_D5_too_big_and_unresolvable() -> None:
    async with UdpSockets() as udp:
        sid, _ = await bound(udp)
        with peers() as made:
            made.append(peer := Peer())
            too_big = await udp.send(sid, bytes(65508), LOOPBACK, peer.port)
            assert too_big == SendInfo(result_code=NetError.MSG_TOO_BIG)
            assert "65507" in (udp.error_detail(sid) or "")
            largest = await udp.send(sid, bytes(range(256)) * 255 + bytes(227), LOOPBACK, peer.port)
            assert largest == SendInfo(result_code=0, bytes_sent=65507)
            [(data, _)] = await peer.wait(1)
            assert data == bytes(range(256)) * 255 + bytes(227)
            nowhere = await udp.send(sid, b"x", "no-such-host.invalid", 53)
            assert nowhere == SendInfo(result_code=NetError.NAME_NOT_RESOLVED)
            # An IPv4 socket cannot reach an IPv6 address.
            assert (await udp.send(sid, b"x", "::1", 53)).result_code == NetError.ADDRESS_INVALID


async def test_D5_sends_complete_in_call_order() -> None:
    async with UdpSockets() as udp:
        sid, _ = await bound(udp)
        with peers() as made:
            made.append(peer := Peer())
            # Names (resolved in the executor) and literals (answered at once) interleaved: the
            # literals must not overtake the names.
            sends = [
                udp.send(
                    sid, b"%03d" % i, "localhost" if i % 3 == 0 else LOOPBACK, peer.port, "ipv4"
                )
                for i in range(60)
            ]
            results = await asyncio.gather(*sends)
            assert all(r == SendInfo(result_code=0, bytes_sent=3) for r in results)
            got = await peer.wait(60)
            assert [d for d, _ in got] == [b"%03d" % i for i in range(60)]


@pytest.mark.skipif(shutil.which("ncat") is None, reason="needs ncat")
async def test_D5_ncat_receives_what_is_sent() -> None:
    async with UdpSockets() as udp:
        sid, _ = await bound(udp)
        port = free_udp_port()
        with process("ncat", "-u", "-l", LOOPBACK, str(port)) as ncat:
            await wait_port_bound(port, ncat)
            assert await udp.send(sid, b"to ncat\n", LOOPBACK, port) == SendInfo(
                result_code=0, bytes_sent=8
            )
            assert ncat.stdout is not None
            line = await asyncio.wait_for(
                asyncio.get_running_loop().run_in_executor(None, ncat.stdout.readline), TIMEOUT
            )
            assert line == b"to ncat\n"


@pytest.mark.skipif(shutil.which("socat") is None, reason="needs socat")
async def test_D5_D6_socat_udp_echo_round_trip() -> None:
    async with UdpSockets() as udp:
        got = Datagrams(udp)
        sid, _ = await bound(udp)
        port = free_udp_port()
        argv = ("socat", f"UDP4-RECVFROM:{port},bind={LOOPBACK},fork", "EXEC:cat")
        with process(*argv) as socat:
            await wait_port_bound(port, socat)
            assert (await udp.send(sid, b"ping", LOOPBACK, port)).result_code == 0
            [echo] = await got.wait(1)
            assert (echo.data, echo.remote_address, echo.remote_port) == (b"ping", LOOPBACK, port)


# -- D6 --------------------------------------------------------------------------------------


async def test_D6_one_event_per_datagram_truncated_to_buffer_size() -> None:
    async with UdpSockets() as udp:
        got = Datagrams(udp)
        small, small_port = await bound(udp, properties=UdpSocketProperties(buffer_size=3))
        default, default_port = await bound(udp)
        with peers() as made:
            made.append(peer := Peer())
            for data in (b"abcdef", b"xy", b""):
                peer.send(data, small_port)
            first = await got.wait(3, small)
            assert [r.data for r in first] == [b"abc", b"xy", b""]
            # Linux says how long the cut datagram was (an extension field).
            assert [r.original_length for r in first] == [6, None, None]
            assert all((r.remote_address, r.remote_port) == (LOOPBACK, peer.port) for r in first)
            # The default buffer is 4096 ('The default value is 4096.').
            peer.send(bytes(5000), default_port)
            [big] = await got.wait(1, default)
            assert len(big.data) == 4096 and big.original_length == 5000
            # A new buffer_size applies from the next datagram.
            await udp.update(small, UdpSocketProperties(buffer_size=5))
            peer.send(b"123456789", small_port)
            assert [r.data for r in await got.wait(4, small)][-1] == b"12345"
            await assert_stays(lambda: len(got.received) == 5, message="an extra event")


async def test_D6_a_listener_that_raises_does_not_stop_the_others(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with UdpSockets() as udp:

        def boom(info: UdpReceiveInfo) -> None:
            raise RuntimeError("listener bug")

        udp.on_receive.add_listener(boom)
        got = Datagrams(udp)
        _, port = await bound(udp)
        with peers() as made:
            made.append(peer := Peer())
            peer.send(b"a", port)
            peer.send(b"b", port)
            assert [r.data for r in await got.wait(2)] == [b"a", b"b"]
        assert "listener bug" in caplog.text


@pytest.mark.skipif(shutil.which("socat") is None, reason="needs socat")
async def test_D6_socat_sender_address_and_port() -> None:
    async with UdpSockets() as udp:
        got = Datagrams(udp)
        _, port = await bound(udp)
        source = free_udp_port()
        target = f"UDP4-SENDTO:{LOOPBACK}:{port},bind={LOOPBACK}:{source}"
        with process("socat", "-u", "STDIN", target, stdin=True) as socat:
            assert socat.stdin is not None
            socat.stdin.write(b"from socat")
            socat.stdin.close()
            [info] = await got.wait(1)
            assert (info.data, info.remote_address, info.remote_port) == (
                b"from socat",
                LOOPBACK,
                source,
            )


# -- D7 --------------------------------------------------------------------------------------


async def test_D7_pause_leaves_datagrams_in_the_os_buffer() -> None:
    async with UdpSockets() as udp:
        got = Datagrams(udp)
        changes: list[UdpChange] = []
        udp.on_changed.add_listener(changes.append)
        sid, port = await bound(udp)
        await udp.set_paused(sid, True)
        assert udp.info_now(sid).paused
        assert changes[-1].reason is ChangeReason.PAUSED
        with peers() as made:
            made.append(peer := Peer())
            for i in range(5):
                peer.send(b"held %d" % i, port)
            await wait_for(lambda: (udp_receive_queue(port) or 0) > 0, message="not queued")
            await assert_stays(lambda: not got.received, message="delivered while paused")
            # The core did not read them: the kernel still holds them.
            assert (udp_receive_queue(port) or 0) > 0
            await udp.set_paused(sid, False)
            assert [r.data for r in await got.wait(5)] == [b"held %d" % i for i in range(5)]
            assert udp_receive_queue(port) == 0
            await udp.set_paused(sid, False)  # no change, no event
            assert [c.reason for c in changes].count(ChangeReason.PAUSED) == 2


async def test_D7_pause_from_a_listener_stops_the_batch() -> None:
    async with UdpSockets() as udp:
        got = Datagrams(udp)
        sid, port = await bound(udp)

        def pause_after_first(info: UdpReceiveInfo) -> None:
            asyncio.get_running_loop().create_task(udp.set_paused(sid, True))
            udp.on_receive.remove_listener(pause_after_first)

        udp.on_receive.add_listener(pause_after_first)
        with peers() as made:
            made.append(peer := Peer())
            peer.send(b"first", port)
            await got.wait(1)
            await wait_for(lambda: udp.info_now(sid).paused)
            for data in (b"second", b"third"):
                peer.send(data, port)
            await assert_stays(lambda: len(got.received) == 1, message="read while paused")
            await udp.set_paused(sid, False)
            assert [r.data for r in await got.wait(3)] == [b"first", b"second", b"third"]


# -- D8 --------------------------------------------------------------------------------------


async def test_D8_port_unreachable_is_one_error_and_pauses() -> None:
    async with UdpSockets() as udp:
        got = Datagrams(udp)
        changes: list[UdpChange] = []
        udp.on_changed.add_listener(changes.append)
        sid, port = await bound(udp)
        closed = free_udp_port()
        # The send itself succeeds; the kernel's ICMP port unreachable comes back.
        assert await udp.send(sid, b"anyone?", LOOPBACK, closed) == SendInfo(
            result_code=0, bytes_sent=7
        )
        error = await got.wait_error()
        assert error == ReceiveErrorInfo(socket_id=sid, result_code=NetError.CONNECTION_REFUSED)
        assert udp.info_now(sid).paused
        assert changes[-1].reason is ChangeReason.PAUSED
        assert "refused" in (udp.error_detail(sid) or "").lower()
        # Reported once: the error queue was drained, nothing spins.
        await assert_stays(lambda: len(got.errors) == 1, message="the error came again")
        with peers() as made:
            made.append(peer := Peer())
            peer.send(b"after", port)
            await udp.set_paused(sid, False)
            assert [r.data for r in await got.wait(1)] == [b"after"]
        assert len(got.errors) == 1


async def test_D8_datagrams_waiting_are_not_lost() -> None:
    async with UdpSockets() as udp:
        got = Datagrams(udp)
        sid, port = await bound(udp)
        await udp.set_paused(sid, True)
        with peers() as made:
            made.append(peer := Peer())
            peer.send(b"A", port)
            assert (await udp.send(sid, b"x", LOOPBACK, free_udp_port())).result_code == 0
            peer.send(b"B", port)
            await wait_for(lambda: (udp_receive_queue(port) or 0) > 0)
            await udp.set_paused(sid, False)
            # The error comes first when the ICMP answer was in before the resume (the kernel
            # reports a pending error before queued data), else after A and B: either way it
            # pauses the socket, and nothing read or waiting is lost.
            await got.wait_error()
            assert udp.info_now(sid).paused
            await udp.set_paused(sid, False)
            assert [r.data for r in await got.wait(2)] == [b"A", b"B"]
            await assert_stays(lambda: len(got.received) == 2 and len(got.errors) == 1)


async def test_D8_an_earlier_error_does_not_fail_the_next_send() -> None:
    async with UdpSockets() as udp:
        got = Datagrams(udp)
        sid, _ = await bound(udp)
        with peers() as made:
            made.append(peer := Peer())
            # No loop turn between the two sends: the second sendto() meets the first one's
            # ICMP error on the socket, and must still send its own datagram.
            assert (await udp.send(sid, b"lost", LOOPBACK, free_udp_port())).result_code == 0
            assert await udp.send(sid, b"found", LOOPBACK, peer.port) == SendInfo(
                result_code=0, bytes_sent=5
            )
            assert (await peer.wait(1))[0][0] == b"found"
            # The error still reaches on_receive_error, from the error queue.
            assert (await got.wait_error()).result_code == NetError.CONNECTION_REFUSED
            await assert_stays(lambda: len(got.errors) == 1, message="the error came again")


# -- D10 -------------------------------------------------------------------------------------


async def test_D10_broadcast() -> None:
    async with UdpSockets() as udp:
        sid = (await udp.create()).socket_id
        assert await udp.set_broadcast(sid, True) == NetError.SOCKET_NOT_CONNECTED
        assert await udp.bind(sid, LOOPBACK, 0) == 0
        with pytest.raises(TypeError):
            await udp.set_broadcast(sid, 1)  # type: ignore[arg-type]
        with peers() as made:
            made.append(peer := Peer("0.0.0.0"))
            broadcast = "127.255.255.255"  # the loopback network's broadcast address
            denied = await udp.send(sid, b"x", broadcast, peer.port)
            assert denied.result_code == NetError.NETWORK_ACCESS_DENIED
            assert await udp.set_broadcast(sid, True) == 0
            assert await udp.send(sid, b"to all", broadcast, peer.port) == SendInfo(
                result_code=0, bytes_sent=6
            )
            assert (await peer.wait(1))[0][0] == b"to all"
            assert await udp.set_broadcast(sid, False) == 0
            again = await udp.send(sid, b"x", broadcast, peer.port)
            assert again.result_code == NetError.NETWORK_ACCESS_DENIED


# -- D11 -------------------------------------------------------------------------------------


async def test_D11_close_frees_the_port_at_once() -> None:
    async with UdpSockets() as udp:
        changes: list[UdpChange] = []
        udp.on_changed.add_listener(changes.append)
        sid, port = await bound(udp)
        await udp.close(sid)
        assert changes[-1] == UdpChange(sid, ChangeReason.CLOSED, None)
        with pytest.raises(SocketNotFoundError):
            await udp.send(sid, b"x", LOOPBACK, port)
        with pytest.raises(SocketNotFoundError):
            await udp.close(sid)
        with peers() as made:
            made.append(Peer(LOOPBACK, port))  # binds: the port is free
        other = (await udp.create()).socket_id
        assert await udp.bind(other, LOOPBACK, port) == 0


async def test_D11_suspend_shutdown_and_async_with() -> None:
    udp = UdpSockets()
    async with udp as entered:
        assert entered is udp
        keep, keep_port = await bound(udp, properties=UdpSocketProperties(persistent=True))
        drop, _ = await bound(udp)
        unbound = (await udp.create()).socket_id
        await udp.suspend()
        assert udp.socket_ids() == [keep]
        with pytest.raises(SocketNotFoundError):
            await udp.get_info(drop)
        with pytest.raises(SocketNotFoundError):
            await udp.get_info(unbound)
        got = Datagrams(udp)
        with peers() as made:
            made.append(peer := Peer())
            peer.send(b"persistent", keep_port)
            assert [r.data for r in await got.wait(1)] == [b"persistent"]
        await udp.shutdown()
        assert udp.socket_ids() == []
        await bound(udp)
    assert udp.socket_ids() == []  # __aexit__ shut it down
    with peers() as made:
        made.append(Peer(LOOPBACK, keep_port))  # every port is free again
