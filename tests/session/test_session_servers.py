"""Listening sockets through the session, against real loopback clients (plain sockets): each
``chrome.sockets.tcpServer`` call and event is logged the way Chrome developers read it,
remembered on the server's record, and what the server accepts becomes a socket row with its
server, its capture, and — unless the server says otherwise — reading at once."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.conftest import assert_stays, wait_for
from tests.net.test_tcp_server import Accepts, clients, connect_plain, out_of_descriptors
from workbench.core.errors import NetError, SocketNotFoundError
from workbench.core.state import State
from workbench.core.types import CreateInfo, ServerSocketProperties
from workbench.net.tcp import TcpSockets
from workbench.session.keys import SocketKey, SocketKind
from workbench.session.logged_servers import server_key
from workbench.session.record import RowState, SocketRecord, row_state
from workbench.session.session import Session

LOOPBACK = "127.0.0.1"
SERVER_API = "chrome.sockets.tcpServer"
RESUMED = "undefined  (the session reads accepted sockets at once)"


@pytest.fixture
def session(tcp: TcpSockets, tmp_path: Path) -> Iterator[Session]:
    s = Session(tcp, capture_dir=tmp_path / "captures")
    yield s
    s.shutdown()


@contextlib.asynccontextmanager
async def serving(session: Session) -> AsyncIterator[Session]:
    """Every listening socket of ``session`` is closed at the end, in the test's loop."""
    try:
        yield session
    finally:
        await session.servers.close_all()


def _texts(session: Session, api: str = SERVER_API) -> list[str]:
    return [e.text for e in session.call_log.entries() if e.text.startswith(api + ".")]


async def _listening(session: Session) -> tuple[int, int]:
    """A server of the session listening on the loopback and a free port: (id, port)."""
    sid = (await session.servers.create()).socket_id
    assert await session.servers.listen(sid, LOOPBACK, 0) == 0
    record = session.servers.record(sid)
    assert record is not None and record.info.local_port
    return sid, record.info.local_port


async def _accepted(session: Session, n: int) -> list[SocketRecord]:
    """The socket records of the first ``n`` accepted connections, in accept order."""
    found: list[SocketRecord] = []

    def ready() -> bool:
        found[:] = [r for key in session.registry if (r := session.registry[key]).server]
        return len(found) >= n

    await wait_for(ready)
    return found[:n]


async def test_listen_accept_and_read_at_once_are_logged_in_chromes_form(
    session: Session,
) -> None:
    async with serving(session):
        assert await session.servers.create() == CreateInfo(socket_id=1)
        assert await session.servers.listen(1, LOOPBACK, 0) == 0
        server = session.servers.record(1)
        assert server is not None and server.results["listen"] == 0
        assert server.intent.listen == (LOOPBACK, 0, None) and server.intent.read_at_once
        port = server.info.local_port
        with clients() as made:
            client = await connect_plain(made, port or 0)
            (accepted,) = await _accepted(session, 1)
            # The row appears with its server, and reads at once (Chrome starts it paused).
            assert accepted.server == server_key(1) and accepted.key == SocketKey.tcp(1)
            await wait_for(lambda: not accepted.info.paused)
            assert row_state(accepted) is RowState.CONNECTED
            assert accepted.info.local_port == port
            assert (server.accepted, server.open) == (1, 1)
            client.sendall(b"hello from the client")
            await wait_for(lambda: accepted.received == 21)
            assert accepted.capture.read(0, 21) == b"hello from the client"
            assert not accepted.intent.paused
        assert _texts(session) == [
            f'{SERVER_API}.create({{}}) → {{"socketId":1}}',
            f'{SERVER_API}.listen(1, "127.0.0.1", 0) → 0',
            f'{SERVER_API}.onAccept {{"socketId":1,"clientSocketId":1}}',
        ]
        assert _texts(session, "chrome.sockets.tcp")[0] == (
            f"chrome.sockets.tcp.setPaused(1, false) → {RESUMED}"
        )
        accept_entry = next(e for e in session.call_log.entries() if "onAccept" in e.text)
        assert accept_entry.key == server_key(1) and accept_entry.ok


async def test_read_at_once_off_leaves_accepted_sockets_paused(session: Session) -> None:
    async with serving(session):
        sid, port = await _listening(session)
        session.servers.set_read_at_once(sid, False)
        server = session.servers.record(sid)
        assert server is not None and not server.intent.read_at_once
        with clients() as made:
            client = await connect_plain(made, port)
            (accepted,) = await _accepted(session, 1)
            client.sendall(b"held")
            # Back-pressure: nothing is read while it stays paused.
            await assert_stays(lambda: accepted.info.paused and accepted.received == 0)
            assert row_state(accepted) is RowState.PAUSED and accepted.intent.paused
            assert not any("setPaused" in t for t in _texts(session, "chrome.sockets.tcp"))
            await session.set_paused(accepted.key, False)  # the user resumes it
            await wait_for(lambda: accepted.received == 4)
            assert accepted.capture.read(0, 4) == b"held"
        with pytest.raises(SocketNotFoundError):
            session.servers.set_read_at_once(sid + 1, False)


async def test_stop_listening_frees_the_port_and_keeps_the_record(session: Session) -> None:
    async with serving(session):
        sid, port = await _listening(session)
        await session.servers.disconnect(sid)
        server = session.servers.record(sid)
        assert server is not None and not server.listening
        assert server.results["disconnect"] == 0
        with socket.socket() as other:  # a new bind on the port succeeds
            other.bind((LOOPBACK, port))
            other.listen()
        assert _texts(session)[-1] == f"{SERVER_API}.disconnect({sid}) → undefined"
        # And it listens again on the same port.
        assert await session.servers.listen(sid, LOOPBACK, port) == 0
        assert server.listening and server.info.local_port == port


async def test_close_removes_the_server_and_keeps_the_accepted_sockets(
    session: Session,
) -> None:
    removed: list[SocketKey] = []
    session.registry.removed.add_listener(removed.append)
    async with serving(session):
        sid, port = await _listening(session)
        with clients() as made:
            client = await connect_plain(made, port)
            (accepted,) = await _accepted(session, 1)
            await wait_for(lambda: not accepted.info.paused)
            await session.servers.close(sid)
            assert removed == [server_key(sid)]
            assert session.servers.record(sid) is None
            assert session.registry.server_keys() == []
            assert session.registry[accepted.key] is accepted
            assert accepted.state is State.CONNECTED
            client.sendall(b"still")
            await wait_for(lambda: accepted.received == 5)
            # The port is free while the accepted connection still uses it: any socket
            # with SO_REUSEADDR can listen there (contract L8, L9).
            with socket.socket() as other:
                other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                other.bind((LOOPBACK, port))
                other.listen()
        assert _texts(session)[-1] == f"{SERVER_API}.close({sid}) → undefined"


async def test_failed_listen_pause_and_update_are_logged_and_remembered(
    session: Session,
) -> None:
    async with serving(session):
        sid = (await session.servers.create(ServerSocketProperties(name="web"))).socket_id
        with socket.socket() as taken:
            taken.bind((LOOPBACK, 0))
            taken.listen()
            port = taken.getsockname()[1]
            code = await session.servers.listen(sid, LOOPBACK, port, 5)
        assert code == NetError.ADDRESS_IN_USE
        server = session.servers.record(sid)
        assert server is not None and server.results["listen"] == NetError.ADDRESS_IN_USE
        assert session.servers.error_detail(sid) is not None
        assert session.servers.error_detail(sid + 1) is None
        await session.servers.set_paused(sid, True)
        assert server.intent.paused and server.info.paused and server.results["pause"] == 0
        await session.servers.update(sid, ServerSocketProperties(persistent=True))
        assert server.info.persistent
        assert (await session.servers.get_info(sid)).name == "web"
        assert [i.socket_id for i in await session.servers.get_sockets()] == [sid]
        assert _texts(session) == [
            f'{SERVER_API}.create({{"name":"web"}}) → {{"socketId":1}}',
            f'{SERVER_API}.listen(1, "127.0.0.1", {port}, 5) → -147 (net::ERR_ADDRESS_IN_USE)',
            f"{SERVER_API}.setPaused(1, true) → undefined",
            f'{SERVER_API}.update(1, {{"persistent":true}}) → undefined',
            f'{SERVER_API}.getInfo(1) → {{"socketId":1,"persistent":true,"paused":true,'
            '"name":"web"}',
            f'{SERVER_API}.getSockets() → [{{"socketId":1,"persistent":true,"paused":true,'
            '"name":"web"}]',
        ]
        failed = [e for e in session.call_log.entries() if "listen" in e.text]
        assert [e.ok for e in failed] == [False]
        with pytest.raises(SocketNotFoundError):
            await session.servers.close(sid + 1)
        assert _texts(session)[-1].startswith(f"{SERVER_API}.close(2) → Error: ")


async def test_close_all_closes_the_servers_too(session: Session) -> None:
    sid, port = await _listening(session)
    await session.servers.create()
    await session.close_all(log=True)
    assert session.registry.server_count == 0
    assert _texts(session)[-2:] == [
        f"{SERVER_API}.close({sid}) → undefined",
        f"{SERVER_API}.close({sid + 1}) → undefined",
    ]
    with socket.socket() as other:
        other.bind((LOOPBACK, port))
    sid, _ = await _listening(session)
    await session.close_all()
    assert session.registry.server_count == 0


async def test_servers_made_on_the_core_directly_are_listed_and_read_at_once(
    session: Session,
) -> None:
    async with serving(session):
        raw = session.servers.raw
        assert raw.tcp is session.tcp
        sid = (await raw.create()).socket_id
        assert await raw.listen(sid, LOOPBACK, 0) == 0
        assert session.registry.server_keys() == [server_key(sid)]
        with clients() as made:
            await connect_plain(made, raw.info_now(sid).local_port or 0)
            (accepted,) = await _accepted(session, 1)
            await wait_for(lambda: not accepted.info.paused)
        assert _texts(session) == [
            f'{SERVER_API}.onAccept {{"socketId":{sid},"clientSocketId":{accepted.key.id}}}'
        ]


@pytest.mark.asyncio_only  # Qt's own loop needs descriptors of its own to keep running
async def test_an_accept_error_is_logged_with_its_name(session: Session) -> None:
    async with serving(session):
        sid, port = await _listening(session)
        accepts = Accepts(session.servers.raw)
        await session.servers.set_paused(sid, True)
        with clients() as made:
            await connect_plain(made, port)
            with out_of_descriptors():
                await session.servers.raw.set_paused(sid, False)
                await wait_for(lambda: accepts.errors)
        entry = session.call_log.entries()[-1]
        assert entry.key == server_key(sid) and not entry.ok
        assert entry.text.startswith(
            f'{SERVER_API}.onAcceptError {{"socketId":{sid},"resultCode":-12}}  '
            "(net::ERR_INSUFFICIENT_RESOURCES: "
        )
        assert entry.text.endswith("; the server is paused)")
        server = session.servers.record(sid)
        assert server is not None and server.accept_error == -12


def test_the_session_accepts_into_its_own_tcp(tcp: TcpSockets, tmp_path: Path) -> None:
    session = Session(tcp, capture_dir=tmp_path / "c")
    try:
        assert session.servers.raw.tcp is tcp
        assert session.servers is session.servers  # one instance per session
        assert SocketKind.TCP_SERVER.api == SERVER_API
    finally:
        session.shutdown()
