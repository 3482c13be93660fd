"""``TcpSockets.reset()``, the extension that ends a connection with an RST (a rule's
``then: reset``), against a real loopback peer that reports what the kernel told it."""

from __future__ import annotations

import errno

from tests.conftest import Recorder, wait_for
from tests.net.peers import ControlledServer, PeerConn
from workbench.sockets import NetError, SocketNotFoundError, TcpSockets


async def _connected(tcp: TcpSockets, server: ControlledServer) -> tuple[int, PeerConn]:
    sid = (await tcp.create()).socket_id
    assert await tcp.connect(sid, server.host, server.port) == 0
    return sid, await server.accept()


async def test_reset_peer_sees_econnreset_after_the_bytes(tcp: TcpSockets) -> None:
    recorder = Recorder(tcp)
    with ControlledServer() as server:
        sid, peer = await _connected(tcp, server)
        assert (await tcp.send(sid, b"last words")).result_code == 0
        await peer.wait_received(len(b"last words"))
        await tcp.reset(sid)
        await wait_for(lambda: peer.error is not None or peer.eof, message="peer saw nothing")
        assert peer.eof is False
        assert peer.error is not None and peer.error.errno == errno.ECONNRESET
        assert peer.received == b"last words"
    info = await tcp.get_info(sid)  # the id stays valid, as after disconnect()
    assert info.connected is False
    assert await recorder.wait_error(sid) == NetError.CONNECTION_CLOSED


async def test_disconnect_peer_sees_fin_not_reset(tcp: TcpSockets) -> None:
    # The contrast that makes the test above mean something: the same steps with
    # disconnect() end in an orderly EOF.
    with ControlledServer() as server:
        sid, peer = await _connected(tcp, server)
        await tcp.disconnect(sid)
        await peer.wait_eof()
        assert peer.eof is True and peer.error is None


async def test_reset_without_connection_is_disconnect(tcp: TcpSockets) -> None:
    sid = (await tcp.create()).socket_id
    await tcp.reset(sid)
    assert (await tcp.get_info(sid)).connected is False
    await tcp.close(sid)
    try:
        await tcp.reset(sid)
    except SocketNotFoundError:
        pass
    else:
        raise AssertionError("reset() of a closed id must raise SocketNotFoundError")
