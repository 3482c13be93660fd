"""The session's calls against real loopback peers: each is logged the way Chrome developers
read it, and remembered on the socket's record."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import wait_for
from tests.net.peers import ControlledServer, EchoServer, closed_port
from workbench.core.state import State
from workbench.core.types import SecureOptions, SocketProperties
from workbench.net.tcp import TcpSockets
from workbench.session.keys import SocketKey
from workbench.session.record import RowState, row_state, state_text
from workbench.session.session import Session


@pytest.fixture
def session(tcp: TcpSockets, tmp_path: Path) -> Iterator[Session]:
    s = Session(tcp, capture_dir=tmp_path / "captures")
    yield s
    s.shutdown()


def _texts(session: Session) -> list[str]:
    return [e.text for e in session.call_log.entries()]


async def test_create_and_connect_are_logged_and_remembered(session: Session) -> None:
    with EchoServer() as server:
        key = await session.create(SocketProperties(name="a"))
        assert key == SocketKey.tcp(1)
        assert await session.connect(key, "127.0.0.1", server.port) == 0
    record = session.registry[key]
    assert record.results["connect"] == 0 and record.error is None
    assert record.intent.peer == ("127.0.0.1", server.port, "any")
    assert row_state(record) is RowState.CONNECTED and state_text(record) == "Connected"
    assert _texts(session)[:2] == [
        'chrome.sockets.tcp.create({"name":"a"}) → {"socketId":1}',
        f'chrome.sockets.tcp.connect(1, "127.0.0.1", {server.port}) → 0',
    ]


async def test_a_refused_connect_is_an_error_on_the_row(session: Session) -> None:
    key = await session.create()
    port = closed_port()
    assert await session.connect(key, "127.0.0.1", port) == -102
    record = session.registry[key]
    assert record.error == -102 and record.results["connect"] == -102
    assert row_state(record) is RowState.FAILED
    assert state_text(record) == "Error: CONNECTION_REFUSED"
    entry = session.call_log.entries()[-1]
    assert not entry.ok and entry.text.endswith("→ -102 (net::ERR_CONNECTION_REFUSED)")
    assert session.error_detail(key, "connect") is not None


async def test_sent_bytes_are_captured_and_counted(session: Session) -> None:
    with EchoServer() as server:
        key = await session.create()
        assert await session.connect(key, "127.0.0.1", server.port) == 0
        info = await session.send(key, b"ping")
        assert info.result_code == 0 and info.bytes_sent == 4
        record = session.registry[key]
        await wait_for(lambda: record.received == 4)
        assert record.sent == 4
        assert record.capture.read(0, 8) == b"pingping"
        assert (
            _texts(session)[-1] == "chrome.sockets.tcp.send(1, <4 bytes>) → "
            '{"resultCode":0,"bytesSent":4}'
        )


async def test_own_disconnect_is_logged_as_such(session: Session) -> None:
    with EchoServer() as server:
        key = await session.create()
        assert await session.connect(key, "127.0.0.1", server.port) == 0
        await session.disconnect(key)
        await wait_for(lambda: any("onReceiveError" in t for t in _texts(session)))
    text = next(t for t in _texts(session) if "onReceiveError" in t)
    assert "after the window's disconnect()" in text
    assert session.registry[key].state is State.DISCONNECTED


async def test_a_reconnected_socket_resumes_unless_the_user_paused_it(session: Session) -> None:
    with EchoServer() as server:
        key = await session.create()
        record = session.registry[key]
        assert await session.connect(key, "127.0.0.1", server.port) == 0
        await session.disconnect(key)
        assert record.info.paused  # D1 pauses a disconnected socket
        assert await session.connect(key, "127.0.0.1", server.port) == 0
        assert not record.info.paused
        await session.set_paused(key, True)
        await session.disconnect(key)
        assert await session.connect(key, "127.0.0.1", server.port) == 0
        assert record.info.paused and record.intent.paused


async def test_options_and_tls_intent_are_remembered(session: Session) -> None:
    with EchoServer() as server:
        key = await session.create()
        assert await session.connect(key, "127.0.0.1", server.port) == 0
        assert await session.set_option(key, "keep_alive", True, 30) == 0
        assert await session.set_option(key, "no_delay", False) == 0
        record = session.registry[key]
        assert record.intent.options == {"keep_alive": (True, 30), "no_delay": (False,)}
        assert record.results["keep_alive"] == 0
        entries = [e.text for e in session.call_log.entries()]
        assert f"chrome.sockets.tcp.setKeepAlive({key.id}, true, 30) → 0" in entries
        # A plain echo server is no TLS peer: the handshake fails, and the socket remembers
        # that TLS was asked for, with which options, but not that it succeeded.
        options = SecureOptions(verify=False)
        assert await session.secure(key, options) != 0
        assert record.intent.secure == options and not record.intent.tls
        assert record.error is not None and record.results["secure"] == record.error


async def test_sockets_made_on_the_core_directly_are_listed(
    tcp: TcpSockets, session: Session
) -> None:
    sid = (await tcp.create()).socket_id
    assert SocketKey.tcp(sid) in session.registry


async def test_close_all_closes_every_socket(session: Session) -> None:
    with EchoServer() as server:
        keys = [await session.create() for _ in range(3)]
        for key in keys:
            assert await session.connect(key, "127.0.0.1", server.port) == 0
        await session.close_all()
    assert len(session.registry) == 0


def test_a_refused_client_certificate_reads_as_words_on_the_row(tmp_path: Path) -> None:
    from workbench.core.capture import CaptureStore
    from workbench.core.types import SocketInfo
    from workbench.session.record import SocketRecord

    with CaptureStore(temp_dir=tmp_path) as store:
        record = SocketRecord(
            key=SocketKey.tcp(1),
            state=State.DISCONNECTED,
            capture=store,
            info=SocketInfo(socket_id=1, persistent=False, paused=True, connected=False),
        )
        record.error = -117
        assert state_text(record) == "Client certificate rejected"
        record.error = -110
        assert state_text(record) == "Client certificate needed"
        record.error = -102
        assert state_text(record) == "Error: CONNECTION_REFUSED"


async def test_create_is_logged_under_the_socket_it_made(session: Session) -> None:
    # A call log filtered to one socket starts with that socket's create().
    key = await session.create()
    entry = session.call_log.entries()[-1]
    assert entry.text.startswith("chrome.sockets.tcp.create(") and entry.key == key


async def test_results_of_an_earlier_connection_are_forgotten(session: Session) -> None:
    """A -202 beside Secure, or an OK beside Connect, describes a connection that is gone."""
    with EchoServer() as server:
        key = await session.create()
        assert await session.connect(key, "127.0.0.1", server.port) == 0
        assert await session.secure(key, SecureOptions()) != 0  # no TLS peer: it fails
        record = session.registry[key]
        assert "secure" in record.results
        assert await session.connect(key, "127.0.0.1", server.port) == 0
        assert "secure" not in record.results and record.results["connect"] == 0
        await session.disconnect(key)
        assert record.results == {"disconnect": 0}


async def test_a_peer_that_closes_reads_closed_by_peer_not_disconnected(
    session: Session,
) -> None:
    with ControlledServer(greeting=b"bye", after_greeting="fin") as server:
        key = await session.create()
        assert await session.connect(key, "127.0.0.1", server.port) == 0
        record = session.registry[key]
        await wait_for(lambda: not record.info.connected)
    assert record.peer_end == -100 and record.error is None
    assert row_state(record) is RowState.DISCONNECTED
    assert state_text(record) == "Closed by peer"
    # The Connect tab's result is the end of the connection, no longer the connect's OK.
    assert record.results["connect"] == -100

    # A new connection, ended by the user's own Disconnect: just "Disconnected".
    with EchoServer() as server:
        assert await session.connect(key, "127.0.0.1", server.port) == 0
        assert record.peer_end is None and record.results["connect"] == 0
        await session.disconnect(key)
        await wait_for(lambda: any("after the window's disconnect()" in t for t in _texts(session)))
    assert record.peer_end is None and "connect" not in record.results
    assert state_text(record) == "Disconnected"
