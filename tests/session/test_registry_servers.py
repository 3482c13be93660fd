"""The registry's listening sockets against real loopback clients: it lists every server of the
``TcpServerSockets`` it watches, whoever created it, counts what each accepts, links every
accepted socket to its server, and publishes all of it through the same events as sockets."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tests.conftest import wait_for
from tests.net.test_tcp_server import Accepts, clients, connect_plain, out_of_descriptors
from workbench.core.capture import CaptureStore
from workbench.core.errors import NetError
from workbench.core.types import ServerSocketProperties
from workbench.net.tcp import TcpSockets
from workbench.net.tcp_server import TcpServerSockets
from workbench.session.keys import SocketKey, SocketKind
from workbench.session.record import server_text
from workbench.session.registry import Registry

LOOPBACK = "127.0.0.1"


def _key(socket_id: int) -> SocketKey:
    return SocketKey(SocketKind.TCP_SERVER, socket_id)


def _registry(tmp_path: Path, tcp: TcpSockets, servers: TcpServerSockets) -> Registry:
    registry = Registry(lambda: CaptureStore(temp_dir=tmp_path))
    registry.watch_tcp(tcp)
    registry.watch_servers(servers)
    return registry


async def test_servers_made_by_anyone_are_listed_apart_from_sockets(
    tcp: TcpSockets, tmp_path: Path
) -> None:
    async with TcpServerSockets(tcp) as servers:
        before = (await servers.create(ServerSocketProperties(name="old"))).socket_id
        registry = Registry(lambda: CaptureStore(temp_dir=tmp_path))
        inserted: list[SocketKey] = []
        registry.inserted.add_listener(inserted.append)
        registry.watch_tcp(tcp)
        registry.watch_servers(servers)
        after = (await servers.create()).socket_id
        sock = (await tcp.create()).socket_id  # ids of each kind count from 1
        assert before == sock == 1
        assert inserted == [_key(before), _key(after), SocketKey.tcp(sock)]
        assert registry.server_keys() == [_key(before), _key(after)]
        assert registry.server_count == 2
        assert list(registry) == [SocketKey.tcp(sock)] and len(registry) == 1
        old = registry.server(_key(before))
        assert old is not None and old.info.name == "old" and not old.listening
        assert server_text(old) == "Not listening"
        assert registry.server(SocketKey.tcp(sock)) is None
        with pytest.raises(RuntimeError):
            registry.watch_servers(servers)
        registry.close()


async def test_listening_paused_and_accept_counts_follow_the_core(
    tcp: TcpSockets, tmp_path: Path
) -> None:
    async with TcpServerSockets(tcp) as servers:
        registry = _registry(tmp_path, tcp, servers)
        accepts = Accepts(servers)
        dirty: list[None] = []
        registry.dirty.add_listener(dirty.append)
        sid = (await servers.create()).socket_id
        key = _key(sid)
        record = registry.server(key)
        assert record is not None
        assert await servers.listen(sid, LOOPBACK, 0) == 0
        port = record.info.local_port
        assert record.listening and port and record.endpoint == f"{LOOPBACK}:{port}"
        assert server_text(record) == f"Listening on {LOOPBACK}:{port}"
        assert len(dirty) == 1 and registry.take_changes() == ({key}, set(), {key})

        with clients() as made:
            first = await connect_plain(made, port)
            await connect_plain(made, port)
            accepted = [a.client_socket_id for a in await accepts.wait(2)]
            assert (record.accepted, record.open) == (2, 2)
            for client in accepted:
                tcp_record = registry.tcp_record(client)
                assert tcp_record is not None and tcp_record.server == key
                assert tcp_record.info.paused  # the registry alone resumes nothing
            changed, _, _ = registry.take_changes()
            assert {key, *(SocketKey.tcp(c) for c in accepted)} <= changed

            # The client goes: its socket ends (R3), the server's open count follows.
            await tcp.set_paused(accepted[0], False)
            first.close()
            await wait_for(lambda: record.open == 1)
            assert record.accepted == 2
            await tcp.close(accepted[1])  # closed while connected: not open either
            assert record.open == 0

        await servers.set_paused(sid, True)
        assert record.info.paused and server_text(record) == f"Paused on {LOOPBACK}:{port}"
        await servers.disconnect(sid)
        assert not record.listening and record.endpoint == ""
        assert key in registry.take_changes()[0]
        registry.close()


async def test_closing_a_server_removes_its_record_and_keeps_what_it_accepted(
    tcp: TcpSockets, tmp_path: Path
) -> None:
    async with TcpServerSockets(tcp) as servers:
        registry = _registry(tmp_path, tcp, servers)
        removed: list[SocketKey] = []
        registry.removed.add_listener(removed.append)
        accepts = Accepts(servers)
        sid = (await servers.create()).socket_id
        assert await servers.listen(sid, LOOPBACK, 0) == 0
        port = servers.info_now(sid).local_port or 0
        with clients() as made:
            await connect_plain(made, port)
            (accept,) = await accepts.wait(1)
            registry.mark(_key(sid))  # a mark pending for a server that goes
            await servers.close(sid)
            assert removed == [_key(sid)] and registry.server(_key(sid)) is None
            assert registry.server_count == 0 and registry.server_keys() == []
            client = registry.tcp_record(accept.client_socket_id)
            assert client is not None and client.state.connected
            assert client.server == _key(sid)  # where it came from, after the server went
            changed, _, _ = registry.take_changes()
            assert _key(sid) not in changed
            # Ending it later is harmless with its server gone.
            await tcp.close(accept.client_socket_id)
            assert len(registry) == 0
        registry.close()


@pytest.mark.asyncio_only  # Qt's own loop needs descriptors of its own to keep running
async def test_the_last_accept_error_is_kept_until_the_server_resumes(
    tcp: TcpSockets, tmp_path: Path
) -> None:
    async with TcpServerSockets(tcp) as servers:
        registry = _registry(tmp_path, tcp, servers)
        accepts = Accepts(servers)
        sid = (await servers.create()).socket_id
        record = registry.server(_key(sid))
        assert record is not None and await servers.listen(sid, LOOPBACK, 0) == 0
        await servers.set_paused(sid, True)
        with clients() as made:
            await connect_plain(made, record.info.local_port or 0)
            with out_of_descriptors():
                await servers.set_paused(sid, False)
                await wait_for(lambda: accepts.errors)
            assert record.accept_error == NetError.INSUFFICIENT_RESOURCES
            assert record.info.paused
            assert server_text(record) == "Error: INSUFFICIENT_RESOURCES"
            await servers.set_paused(sid, False)  # L10: try again
            await accepts.wait(1)
            assert record.accept_error is None and record.accepted == 1
        registry.close()


async def test_unwatch_stops_listing(tcp: TcpSockets, tmp_path: Path) -> None:
    async with TcpServerSockets(tcp) as servers:
        registry = _registry(tmp_path, tcp, servers)
        sid = (await servers.create()).socket_id
        registry.close()
        assert await servers.listen(sid, LOOPBACK, 0) == 0
        await servers.create()
        record = registry.server(_key(sid))
        assert record is not None and not record.listening
        assert registry.server_count == 1
        with socket.socket() as probe:  # the server listens all the same
            probe.connect((LOOPBACK, servers.info_now(sid).local_port or 0))
