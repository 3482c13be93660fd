"""Contract rows K1 and K2: keep-alive and TCP_NODELAY, read back from the kernel.

``tcp.get_socket_options(socket_id)`` is the core's public extension for this: it reads the
options with ``getsockopt`` on the connected socket, so the assertions are about what the
kernel has, not what the core remembers.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.conftest import TIMEOUT, Recorder, wait_for
from tests.net.peers import (
    LOOPBACK,
    BlackHole,
    ControlledServer,
    EchoServer,
    _listen_overflows,
    ipv6_loopback_available,
)
from workbench.sockets import SendInfo, TcpSockets

DEFAULTS = {"no_delay": True, "keep_alive": True, "keep_idle": 45, "keep_interval": 45}


async def connected(tcp: TcpSockets, server: ControlledServer) -> int:
    sid = (await tcp.create()).socket_id
    assert await tcp.connect(sid, LOOPBACK, server.port) == 0
    return sid


async def test_K1_set_keep_alive_on_a_connected_socket_returns_0_and_applies(
    tcp: TcpSockets,
) -> None:
    with EchoServer() as server:
        sid = await connected(tcp, server)
        assert await tcp.set_keep_alive(sid, True, 30) == 0
        opts = await tcp.get_socket_options(sid)
        assert opts is not None
        # 'on Linux it sets TCP_KEEPIDLE and TCP_KEEPINTVL'
        assert (opts["keep_alive"], opts["keep_idle"], opts["keep_interval"]) == (True, 30, 30)

        # '0 keeps the OS timers': the 30 s set above stay.
        assert await tcp.set_keep_alive(sid, True, 0) == 0
        opts = await tcp.get_socket_options(sid)
        assert opts is not None
        assert (opts["keep_alive"], opts["keep_idle"], opts["keep_interval"]) == (True, 30, 30)
        assert await tcp.set_keep_alive(sid, True) == 0  # delay defaults to 0
        assert (await tcp.get_socket_options(sid) or {})["keep_idle"] == 30

        assert await tcp.set_keep_alive(sid, False) == 0
        opts = await tcp.get_socket_options(sid)
        assert opts is not None
        assert opts["keep_alive"] is False
        assert opts["no_delay"] is True  # untouched

        assert await tcp.set_keep_alive(sid, True, 7200) == 0
        opts = await tcp.get_socket_options(sid)
        assert opts is not None
        assert (opts["keep_alive"], opts["keep_idle"], opts["keep_interval"]) == (True, 7200, 7200)

        # The connection is unharmed.
        rec = Recorder(tcp)
        assert await tcp.send(sid, b"ok") == SendInfo(result_code=0, bytes_sent=2)
        assert await rec.wait_bytes(sid, 2) == b"ok"


async def test_K1_set_no_delay_on_a_connected_socket_returns_0_and_applies(
    tcp: TcpSockets,
) -> None:
    with EchoServer() as server:
        sid = await connected(tcp, server)
        other = await connected(tcp, server)
        assert await tcp.set_no_delay(sid, False) == 0
        opts = await tcp.get_socket_options(sid)
        assert opts is not None
        assert opts["no_delay"] is False
        assert opts["keep_alive"] is True  # untouched
        assert await tcp.get_socket_options(other) == DEFAULTS  # per socket
        assert await tcp.set_no_delay(sid, True) == 0
        assert (await tcp.get_socket_options(sid) or {})["no_delay"] is True
        assert await tcp.set_no_delay(sid, True) == 0  # same value again


async def test_K1_not_connected_is_minus_2(tcp: TcpSockets) -> None:
    fresh = (await tcp.create()).socket_id
    assert await tcp.set_keep_alive(fresh, True, 10) == -2
    assert await tcp.set_keep_alive(fresh, False) == -2
    assert await tcp.set_no_delay(fresh, True) == -2

    with EchoServer() as server:
        sid = await connected(tcp, server)
        await tcp.disconnect(sid)
        assert await tcp.set_keep_alive(sid, True, 10) == -2
        assert await tcp.set_no_delay(sid, False) == -2

    rec = Recorder(tcp)
    with ControlledServer() as server:
        ended = await connected(tcp, server)
        conn = await server.accept()
        conn.shutdown_write()
        assert await rec.wait_error(ended) == -100
        assert await tcp.set_keep_alive(ended, True, 10) == -2
        assert await tcp.set_no_delay(ended, True) == -2

    with BlackHole() as hole:
        pending_sid = (await tcp.create()).socket_id
        before = _listen_overflows()
        pending = asyncio.ensure_future(tcp.connect(pending_sid, LOOPBACK, hole.port))
        if before is not None:  # the SYN is out: the connect is really pending
            await wait_for(lambda: (_listen_overflows() or 0) > before)
        assert not pending.done()
        assert await tcp.set_keep_alive(pending_sid, True, 10) == -2
        assert await tcp.set_no_delay(pending_sid, True) == -2
        await tcp.close(pending_sid)
        assert await asyncio.wait_for(pending, TIMEOUT) == -3


async def test_K1_negative_delay_raises_value_error(tcp: TcpSockets) -> None:
    with EchoServer() as server:
        sid = await connected(tcp, server)
        with pytest.raises(ValueError, match="delay"):
            await tcp.set_keep_alive(sid, True, -1)
        with pytest.raises(ValueError, match="delay"):
            await tcp.set_keep_alive(sid, False, -30)
        assert await tcp.get_socket_options(sid) == DEFAULTS  # nothing changed


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda tcp, sid: tcp.set_keep_alive(sid, "yes"), "enable"),
        (lambda tcp, sid: tcp.set_keep_alive(sid, None, 5), "enable"),
        (lambda tcp, sid: tcp.set_keep_alive(sid, True, "5"), "delay"),
        (lambda tcp, sid: tcp.set_keep_alive(sid, True, 1.5), "delay"),
        (lambda tcp, sid: tcp.set_no_delay(sid, "no"), "no_delay"),
        (lambda tcp, sid: tcp.set_no_delay(sid, None), "no_delay"),
    ],
    ids=["enable-str", "enable-none", "delay-str", "delay-float", "no_delay-str", "no_delay-none"],
)
async def test_K1_wrong_types_raise_type_error(tcp: TcpSockets, call: Any, argument: str) -> None:
    with EchoServer() as server:
        sid = await connected(tcp, server)
        with pytest.raises(TypeError, match=argument):
            await call(tcp, sid)
        assert await tcp.get_socket_options(sid) == DEFAULTS


async def test_K2_defaults_after_connect_nodelay_and_keep_alive_45s(tcp: TcpSockets) -> None:
    with EchoServer() as server:
        sid = await connected(tcp, server)
        assert await tcp.get_socket_options(sid) == DEFAULTS

        # Changed, then a new connection: the defaults are applied again.
        assert await tcp.set_no_delay(sid, False) == 0
        assert await tcp.set_keep_alive(sid, False) == 0
        await tcp.disconnect(sid)
        assert await tcp.connect(sid, LOOPBACK, server.port) == 0
        assert await tcp.get_socket_options(sid) == DEFAULTS


@pytest.mark.skipif(not ipv6_loopback_available(), reason="this machine cannot bind ::1")
async def test_K2_defaults_on_ipv6(tcp: TcpSockets) -> None:
    with EchoServer("::1") as server:
        sid = (await tcp.create()).socket_id
        assert await tcp.connect(sid, "::1", server.port) == 0
        assert await tcp.get_socket_options(sid) == DEFAULTS


async def test_set_option_is_the_one_way_every_option_is_set(tcp: TcpSockets) -> None:
    """The extension behind set_keep_alive and set_no_delay: by the option's name."""
    with EchoServer() as server:
        sid = await connected(tcp, server)
        assert await tcp.set_option(sid, "keep_alive", True, 60) == 0
        assert await tcp.set_option(sid, "no_delay", False) == 0
        opts = await tcp.get_socket_options(sid)
        assert opts == {"no_delay": False, "keep_alive": True, "keep_idle": 60,
                        "keep_interval": 60}
        with pytest.raises(ValueError, match="no such option 'linger'"):
            await tcp.set_option(sid, "linger", True)
        with pytest.raises(TypeError, match="no_delay must be a bool"):
            await tcp.set_option(sid, "no_delay", 1)
        fresh = (await tcp.create()).socket_id
        assert await tcp.set_option(fresh, "no_delay", True) == -2  # K1
