"""``TcpServerSockets.on_changed`` and ``server_ids``: the extensions a session layer lists every
listening socket with, whoever created it, without polling.

Each test records ``on_changed`` (and, where the order matters, ``on_accept_error``) in one
list and checks the whole sequence against real clients: plain loopback sockets.
"""

from __future__ import annotations

import logging
import socket
from typing import Any

import pytest

from tests.conftest import wait_for
from tests.net.test_tcp_server import Accepts, clients, connect_plain, out_of_descriptors
from workbench.sockets import (
    AcceptErrorInfo,
    ChangeReason,
    NetError,
    ServerChange,
    ServerSocketInfo,
    ServerSocketProperties,
    TcpServerSockets,
    TcpSockets,
)

R = ChangeReason
LOOPBACK = "127.0.0.1"


class Changes:
    """Every ``on_changed`` of one ``TcpServerSockets``, with ``on_accept_error`` interleaved,
    and what ``info_now`` said inside each listener call."""

    def __init__(self, servers: TcpServerSockets) -> None:
        self.servers = servers
        self.log: list[ServerChange | AcceptErrorInfo] = []
        #: info_now read synchronously inside the listener, None once closed
        self.read_back: list[ServerSocketInfo | None] = []
        servers.on_changed.add_listener(self._changed)
        servers.on_accept_error.add_listener(self.log.append)

    def _changed(self, change: ServerChange) -> None:
        self.log.append(change)
        closed = change.reason is R.CLOSED
        self.read_back.append(None if closed else self.servers.info_now(change.socket_id))

    def changes(self) -> list[ServerChange]:
        return [c for c in self.log if isinstance(c, ServerChange)]

    def take(self, socket_id: int) -> list[tuple[str, Any]]:
        """``(reason, local port)`` per change and ``("accept_error", code)``, for one server;
        the log starts empty again."""
        out: list[tuple[str, Any]] = []
        for item in self.log:
            if item.socket_id != socket_id:
                continue
            if isinstance(item, ServerChange):
                out.append((item.reason.value, item.info.local_port if item.info else None))
            else:
                out.append(("accept_error", item.result_code))
        self.log.clear()
        return out


async def test_on_changed_reports_a_server_life_in_order(tcp: TcpSockets) -> None:
    async with TcpServerSockets(tcp) as servers:
        seen = Changes(servers)
        sid = (await servers.create(ServerSocketProperties(name="first"))).socket_id
        assert seen.take(sid) == [("created", None)]

        await servers.update(sid, ServerSocketProperties(name="renamed", persistent=True))
        (change,) = seen.changes()
        assert change.info is not None and change.info.name == "renamed"
        assert change.info.persistent
        assert seen.take(sid) == [("properties", None)]

        assert await servers.listen(sid, LOOPBACK, 0) == 0
        (change,) = seen.changes()
        assert change.info is not None and change.info.local_address == LOOPBACK
        port = change.info.local_port
        assert port and seen.take(sid) == [("state", port)]

        await servers.set_paused(sid, True)
        await servers.set_paused(sid, True)  # no change, no event
        assert [c.info.paused for c in seen.changes() if c.info] == [True]
        assert seen.take(sid) == [("paused", port)]
        await servers.set_paused(sid, False)
        assert [c.info.paused for c in seen.changes() if c.info] == [False]
        assert seen.take(sid) == [("paused", port)]

        await servers.disconnect(sid)  # stopped listening: the snapshot has no address
        (change,) = seen.changes()
        assert change.info is not None and change.info.local_address is None
        assert seen.take(sid) == [("state", None)]
        await servers.disconnect(sid)  # not listening: nothing changed, nothing said
        assert seen.log == []

        await servers.close(sid)
        assert seen.changes() == [ServerChange(sid, R.CLOSED, None)]
        assert seen.read_back[-1] is None


async def test_info_in_each_change_is_what_info_now_says(tcp: TcpSockets) -> None:
    async with TcpServerSockets(tcp) as servers:
        seen = Changes(servers)
        sid = (await servers.create()).socket_id
        assert await servers.listen(sid, LOOPBACK, 0) == 0
        await servers.set_paused(sid, True)
        await servers.update(sid, ServerSocketProperties(name="x"))
        await servers.disconnect(sid)
        changes = seen.changes()
        assert len(changes) == len(seen.read_back) == 5
        for change, read in zip(changes, seen.read_back, strict=True):
            assert read == change.info
        assert servers.info_now(sid) == await servers.get_info(sid)


async def test_a_failed_listen_changes_nothing(tcp: TcpSockets) -> None:
    async with TcpServerSockets(tcp) as servers:
        seen = Changes(servers)
        sid = (await servers.create()).socket_id
        with socket.socket() as taken:
            taken.bind((LOOPBACK, 0))
            taken.listen()
            port = taken.getsockname()[1]
            seen.log.clear()
            assert await servers.listen(sid, LOOPBACK, port) == NetError.ADDRESS_IN_USE
            assert await servers.listen(sid, "localhost", 0) == NetError.ADDRESS_INVALID
        assert seen.log == []
        assert await servers.listen(sid, LOOPBACK, 0) == 0
        seen.log.clear()
        # L4: a second listen is refused and the listener kept: no change either.
        assert await servers.listen(sid, LOOPBACK, 0) == NetError.INVALID_ARGUMENT
        assert seen.log == []


@pytest.mark.asyncio_only  # Qt's own loop needs descriptors of its own to keep running
async def test_accepting_changes_no_server_and_an_accept_error_pauses_it_first(
    tcp: TcpSockets,
) -> None:
    async with TcpServerSockets(tcp) as servers:
        accepts = Accepts(servers)
        seen = Changes(servers)
        sid = (await servers.create()).socket_id
        assert await servers.listen(sid, LOOPBACK, 0) == 0
        port = servers.info_now(sid).local_port
        with clients() as made:
            await connect_plain(made, port)
            await accepts.wait(1)
            assert seen.take(sid) == [("created", None), ("state", port)]
            await servers.set_paused(sid, True)
            await connect_plain(made, port)  # waits in the backlog
            seen.log.clear()
            with out_of_descriptors():
                await servers.set_paused(sid, False)  # accept() now fails with EMFILE
                await wait_for(lambda: accepts.errors)
            # Resumed, then paused by the core (L10), then the error event: as TcpSockets
            # reports a receive error.
            assert seen.take(sid) == [
                ("paused", port),
                ("paused", port),
                ("accept_error", NetError.INSUFFICIENT_RESOURCES),
            ]
            assert servers.info_now(sid).paused


async def test_close_reports_closed_only_and_suspend_and_shutdown_in_id_order(
    tcp: TcpSockets,
) -> None:
    servers = TcpServerSockets(tcp)
    seen = Changes(servers)
    ids = [(await servers.create()).socket_id for _ in range(4)]
    await servers.update(ids[1], ServerSocketProperties(persistent=True))
    for sid in ids[:3]:
        assert await servers.listen(sid, LOOPBACK, 0) == 0
    seen.log.clear()
    await servers.close(ids[0])  # a listening server: CLOSED, no STATE before it
    assert seen.changes() == [ServerChange(ids[0], R.CLOSED, None)]
    seen.log.clear()
    await servers.suspend()  # the persistent one stays
    assert seen.changes() == [
        ServerChange(ids[2], R.CLOSED, None),
        ServerChange(ids[3], R.CLOSED, None),
    ]
    assert servers.server_ids() == [ids[1]]
    seen.log.clear()
    await servers.shutdown()
    assert seen.changes() == [ServerChange(ids[1], R.CLOSED, None)]
    assert servers.server_ids() == []


async def test_a_listener_sees_servers_whoever_created_them(tcp: TcpSockets) -> None:
    async with TcpServerSockets(tcp) as servers:
        before = (await servers.create()).socket_id
        seen = Changes(servers)
        made_elsewhere = [(await servers.create()).socket_id for _ in range(3)]
        assert [(c.socket_id, c.reason) for c in seen.changes()] == [
            (sid, R.CREATED) for sid in made_elsewhere
        ]
        assert servers.server_ids() == [before, *made_elsewhere]


async def test_one_change_is_one_event_whatever_the_number_of_servers(tcp: TcpSockets) -> None:
    async with TcpServerSockets(tcp) as servers:
        for _ in range(300):
            await servers.create()
        seen = Changes(servers)
        sid = (await servers.create()).socket_id
        await servers.set_paused(sid, True)
        await servers.update(sid, ServerSocketProperties(name="x"))
        assert [(c.socket_id, c.reason) for c in seen.changes()] == [
            (sid, R.CREATED),
            (sid, R.PAUSED),
            (sid, R.PROPERTIES),
        ]


async def test_a_listener_that_raises_is_logged_and_the_others_still_run(
    tcp: TcpSockets, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(change: ServerChange) -> None:
        raise RuntimeError("listener bug")

    async with TcpServerSockets(tcp) as servers:
        servers.on_changed.add_listener(broken)
        seen = Changes(servers)
        with caplog.at_level(logging.ERROR):
            sid = (await servers.create()).socket_id
            assert await servers.listen(sid, LOOPBACK, 0) == 0
        assert [c.reason for c in seen.changes()] == [R.CREATED, R.STATE]
        assert sum("onChanged listener" in r.getMessage() for r in caplog.records) == 2
        assert servers.info_now(sid).local_port


async def test_no_listener_no_cost_and_nothing_breaks(tcp: TcpSockets) -> None:
    async with TcpServerSockets(tcp) as servers:
        assert servers.on_changed.listeners == ()
        accepts = Accepts(servers)
        sid = (await servers.create()).socket_id
        assert await servers.listen(sid, LOOPBACK, 0) == 0
        with clients() as made:
            await connect_plain(made, servers.info_now(sid).local_port or 0)
            await accepts.wait(1)
        await servers.disconnect(sid)
        await servers.close(sid)
        assert servers.server_ids() == []
