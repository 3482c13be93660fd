"""Edge cases of the plain TCP core that a review found, each pinned to its contract row.

Every test ran red against the core before the fix it guards: a send right after the peer's
reset that still said "sent" (S3), a paused socket whose disconnect reset the peer and threw
away what it had been sent (S6), keep-alive delays the kernel refuses and a NUL in the
address that were not ValueErrors, and a bug inside connect() that left the caller waiting
forever instead of answering -2.

Peers are the real loopback ones from ``tests.net.peers``. Where a test must know what the
kernel already did (the reset has arrived, the peer's bytes sit unread in our receive queue)
it asks the kernel through ``/proc/net/tcp`` instead of waiting a fixed time.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import random
import resource
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import TIMEOUT, TIMEOUT_SCALE, Recorder, assert_stays, wait_for
from tests.net.peers import (
    LOOPBACK,
    LOOPBACK6,
    ControlledServer,
    EchoServer,
    PeerConn,
    ipv6_loopback_available,
)
from workbench.net import tcp_connect
from workbench.sockets import NetError, SendInfo, State, TcpSockets, net_error_text

#: The observation window of negative assertions ("no event arrives").
QUIET = 0.2 * TIMEOUT_SCALE

#: Linux's largest TCP_KEEPIDLE / TCP_KEEPINTVL, in seconds.
MAX_KEEP_ALIVE_DELAY = 32767


def payload(n: int, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(n)


async def connect_to(tcp: TcpSockets, server: ControlledServer) -> tuple[int, PeerConn]:
    """A new socket connected to ``server``, and the server's side of the connection."""
    sid = (await tcp.create()).socket_id
    rc = await tcp.connect(sid, server.host, server.port)
    assert rc == 0, f"connect failed with {rc}"
    return sid, await server.accept()


def kernel_tcp_entry(local_port: int, peer_port: int) -> tuple[int, int] | None:
    """``(tx_queue, rx_queue)`` of the IPv4 loopback connection ``local_port -> peer_port`` as
    the kernel lists it in ``/proc/net/tcp``, or ``None`` once the kernel dropped it (a
    connection that received a reset is closed and no longer listed)."""
    local = f"0100007F:{local_port:04X}"
    remote = f"0100007F:{peer_port:04X}"
    with open("/proc/net/tcp") as f:
        for line in f.read().splitlines()[1:]:
            fields = line.split()
            if fields[1] == local and fields[2] == remote:
                tx, rx = fields[4].split(":")
                return int(tx, 16), int(rx, 16)
    return None


async def connect_pause_and_get_reset(tcp: TcpSockets, server: ControlledServer) -> int:
    """A connected socket, paused, whose peer has reset the connection: the reset has reached
    our kernel, but the paused core has not read, so it has not noticed (contract P4)."""
    sid, conn = await connect_to(tcp, server)
    await tcp.set_paused(sid, True)
    info = await tcp.get_info(sid)
    assert info.local_port is not None
    conn.reset()
    await conn.wait_drained()

    def reset_arrived() -> bool:
        return kernel_tcp_entry(info.local_port, server.port) is None  # type: ignore[arg-type]

    await wait_for(reset_arrived, message="the peer's reset never reached our socket")
    return sid


# ---------------------------------------------------------------------------------------------
# S3: the connection breaks during a send
# ---------------------------------------------------------------------------------------------


async def test_S3_send_right_after_the_peer_reset_answers_minus_101_not_success(
    tcp: TcpSockets,
) -> None:
    rec = Recorder(tcp)
    with ControlledServer() as server:
        sid = await connect_pause_and_get_reset(tcp, server)
        # P4: still reported as connected, nothing delivered while paused.
        assert (await tcp.get_info(sid)).connected is True
        # The kernel refuses the write with ECONNRESET; asyncio drops its buffer, so "nothing
        # left to write" must not be read as "handed to the OS".
        first = await asyncio.wait_for(tcp.send(sid, b"after the reset"), TIMEOUT)
        assert first == SendInfo(result_code=-101, bytes_sent=None)
        assert await tcp.send(sid, b"later") == SendInfo(result_code=-15, bytes_sent=None)
        await assert_stays(lambda: not rec.log, QUIET, lambda: f"events while paused: {rec.log}")
        # P4: the reset is delivered once resumed, exactly once.
        await tcp.set_paused(sid, False)
        assert await rec.wait_error(sid) == -101
        await assert_stays(lambda: rec.errors_of(sid) == [-101], QUIET)
        assert rec.received(sid) == b""
        info = await tcp.get_info(sid)
        assert (info.connected, info.paused, info.peer_address) == (False, True, None)


# ---------------------------------------------------------------------------------------------
# S6: disconnect()/close() close gracefully, also with unread input
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["disconnect", "close"])
async def test_S6_paused_socket_with_unread_input_closes_with_fin_not_reset(
    tcp: TcpSockets, how: str
) -> None:
    unread = payload(1000, seed=1)
    data = payload(64 * 1024, seed=2)
    with ControlledServer() as server:
        sid, conn = await connect_to(tcp, server)
        await tcp.set_paused(sid, True)
        info = await tcp.get_info(sid)
        assert info.local_port is not None
        conn.send(unread)
        await conn.wait_drained()

        def unread_input_is_with_our_kernel() -> bool:
            entry = kernel_tcp_entry(info.local_port, server.port)  # type: ignore[arg-type]
            return entry is not None and entry[1] == len(unread)

        await wait_for(unread_input_is_with_our_kernel, message="the peer's bytes never came")
        # The peer reads nothing yet: what we send waits in its receive queue, where a reset
        # would destroy it.
        conn.stop_reading()
        assert await tcp.send(sid, data) == SendInfo(result_code=0, bytes_sent=len(data))
        await asyncio.wait_for(getattr(tcp, how)(sid), TIMEOUT)

        conn.start_reading()
        got = await conn.wait_eof()
        assert conn.error is None, f"peer saw {conn.error!r} instead of a FIN"
        assert conn.eof
        assert got == data


# ---------------------------------------------------------------------------------------------
# Bad input: impossible values raise ValueError (K1's delay, U1's address)
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("delay", [MAX_KEEP_ALIVE_DELAY + 1, 2**31, 2**64])
async def test_bad_input_keep_alive_delay_above_32767_raises_value_error(
    tcp: TcpSockets, delay: int
) -> None:
    with EchoServer() as server:
        sid, _ = await connect_to(tcp, server)
        with pytest.raises(ValueError, match="delay"):
            await tcp.set_keep_alive(sid, True, delay)
        # Checked before the state: a socket that is not connected raises the same.
        idle = (await tcp.create()).socket_id
        with pytest.raises(ValueError, match="delay"):
            await tcp.set_keep_alive(idle, True, delay)
        # The largest delay Linux takes still works, and the socket is untouched.
        assert await tcp.set_keep_alive(sid, True, MAX_KEEP_ALIVE_DELAY) == 0
        options = await tcp.get_socket_options(sid)
        assert options is not None
        assert (options["keep_alive"], options["keep_idle"]) == (True, MAX_KEEP_ALIVE_DELAY)


@pytest.mark.parametrize("address", ["127.0.0.1\x00", "localhost\x00.example.com", "\x00"])
async def test_bad_input_nul_in_peer_address_raises_value_error(
    tcp: TcpSockets, address: str
) -> None:
    sid = (await tcp.create()).socket_id
    with pytest.raises(ValueError, match="peer_address"):
        await asyncio.wait_for(tcp.connect(sid, address, 80), TIMEOUT)
    info = await tcp.get_info(sid)
    assert (info.connected, info.paused, info.peer_address) == (False, False, None)
    # Nothing was started: the socket connects normally afterwards.
    with EchoServer() as server:
        assert await tcp.connect(sid, LOOPBACK, server.port) == 0


# ---------------------------------------------------------------------------------------------
# An unexpected failure inside connect(): -2 (FAILED), not a hang
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("host", [LOOPBACK, "localhost"], ids=["ip-literal", "name"])
async def test_internal_error_inside_connect_answers_minus_2_not_a_hang(
    tcp: TcpSockets,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    host: str,
) -> None:
    # Not a network outcome but a bug: the resolver step raises an exception that no handler
    # expects (a stand-in for any bug inside the connect task). An IP literal is answered by
    # tcp_connect.numeric_addresses and never reaches the executor; a name goes through
    # loop.getaddrinfo. Each is broken where it is resolved.
    loop = asyncio.get_running_loop()

    def broken_numeric(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("bug in the resolver step")

    async def broken_getaddrinfo(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("bug in the resolver step")

    sid = (await tcp.create()).socket_id
    with caplog.at_level(logging.ERROR), EchoServer() as server:
        if host == LOOPBACK:
            monkeypatch.setattr(tcp_connect, "numeric_addresses", broken_numeric)
        else:
            monkeypatch.setattr(loop, "getaddrinfo", broken_getaddrinfo)
        result = await asyncio.wait_for(tcp.connect(sid, host, server.port), TIMEOUT)
        assert result == NetError.FAILED == -2
        info = await tcp.get_info(sid)
        assert (info.connected, info.peer_address) == (False, None)
        logged = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert any(
            r.exc_info is not None and isinstance(r.exc_info[1], RuntimeError) for r in logged
        ), f"the bug was not logged: {[r.getMessage() for r in logged]}"
        # The socket is not left half-way: with the bug gone it connects and works.
        monkeypatch.undo()
        rec = Recorder(tcp)
        assert await tcp.connect(sid, LOOPBACK, server.port) == 0
        assert await tcp.send(sid, b"still alive") == SendInfo(result_code=0, bytes_sent=11)
        assert await rec.wait_bytes(sid, 11) == b"still alive"


# ---------------------------------------------------------------------------------------------
# U1 for IP literals: answered on the spot, not through the executor's resolver (issue 14)
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("host", [LOOPBACK, LOOPBACK6], ids=["ipv4", "ipv6"])
async def test_U1_ip_literal_connects_without_the_resolver(
    tcp: TcpSockets, monkeypatch: pytest.MonkeyPatch, host: str
) -> None:
    if host == LOOPBACK6 and not ipv6_loopback_available():
        pytest.skip("this machine cannot bind ::1")
    loop = asyncio.get_running_loop()
    asked: list[object] = []

    async def no_resolver(*args: Any, **kwargs: Any) -> Any:
        asked.append(args)
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(loop, "getaddrinfo", no_resolver)
    with EchoServer(host) as server:
        sid = (await tcp.create()).socket_id
        assert await tcp.connect(sid, host, server.port) == 0
        info = await tcp.get_info(sid)
        assert (info.peer_address, info.peer_port) == (host, server.port)
    assert asked == []
    # A name still goes to the resolver (here the stand-in, which knows no name).
    sid = (await tcp.create()).socket_id
    assert await tcp.connect(sid, "localhost", 9) == NetError.NAME_NOT_RESOLVED
    assert [args[0] for args in asked] == ["localhost"]


# ---------------------------------------------------------------------------------------------
# Running out of descriptors: a result code and words, not a traceback (issue 7)
# ---------------------------------------------------------------------------------------------


@contextlib.contextmanager
def no_descriptor_left() -> Iterator[None]:
    """Lower the soft RLIMIT_NOFILE just above what is open, fill the rest, and put both
    back afterwards (in a finally: the rest of the suite needs its descriptors)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    fillers: list[int] = []
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (len(os.listdir("/proc/self/fd")) + 16, hard))
        with contextlib.suppress(OSError):
            while len(fillers) < 4096:
                fillers.append(os.dup(0))
        with pytest.raises(OSError) as full:
            os.close(os.dup(0))
        assert full.value.errno == errno.EMFILE
        yield
    finally:
        for fd in fillers:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


async def test_U3_no_descriptor_left_is_minus_12_with_words_and_no_traceback(
    tcp: TcpSockets, caplog: pytest.LogCaptureFixture
) -> None:
    sid = (await tcp.create()).socket_id
    with caplog.at_level(logging.DEBUG), EchoServer() as server:
        with no_descriptor_left():
            result = await asyncio.wait_for(tcp.connect(sid, LOOPBACK, server.port), TIMEOUT)
        assert result == NetError.INSUFFICIENT_RESOURCES == -12
        assert net_error_text(result) == "net::ERR_INSUFFICIENT_RESOURCES"
        detail = tcp.error_detail(sid, "connect")
        assert detail is not None and detail.startswith("too many open files: "), detail
        assert f"{LOOPBACK}:{server.port}" in detail and "RLIMIT_NOFILE" in detail, detail
        info = await tcp.get_info(sid)
        assert (info.connected, info.peer_address) == (False, None)
        assert tcp.state_of(sid) is State.DISCONNECTED
        tracebacks = [r.getMessage() for r in caplog.records if r.exc_info is not None]
        assert tracebacks == []
        warnings = [
            r.getMessage()
            for r in caplog.records
            if r.levelno >= logging.WARNING and r.name.startswith("workbench")
        ]
        assert warnings == []
        # With descriptors back, the same socket connects and the detail is gone.
        assert await tcp.connect(sid, LOOPBACK, server.port) == 0
        assert tcp.error_detail(sid, "connect") is None


async def test_internal_error_after_the_tcp_connect_closes_the_connection(
    tcp: TcpSockets, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # A bug after the TCP handshake (here: setting the default socket options) must not leak
    # the established connection: the caller gets -2 and the peer sees it closed.
    def broken_defaults(sock: Any) -> None:
        raise RuntimeError("bug while setting the default options")

    monkeypatch.setattr("workbench.net.options.apply_defaults", broken_defaults)
    sid = (await tcp.create()).socket_id
    with caplog.at_level(logging.ERROR), ControlledServer() as server:
        result = await asyncio.wait_for(tcp.connect(sid, LOOPBACK, server.port), TIMEOUT)
        assert result == NetError.FAILED == -2
        peer = await server.accept(timeout=TIMEOUT)
        await wait_for(lambda: peer.eof or peer.error is not None)
        info = await tcp.get_info(sid)
        assert (info.connected, info.peer_address) == (False, None)
