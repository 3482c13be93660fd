"""What ``LoggedServers`` and ``LoggedUdp`` share (``workbench/session/logged_kind.py``) and what
``ServerBook`` and ``UdpBook`` share (``workbench/session/record_book.py``), run for both kinds
against their real cores: the same calls are logged and remembered the same way under each
kind's API, and both let go of their core's events when the session ends."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from workbench.core.capture import CaptureStore
from workbench.core.types import ServerSocketProperties, UdpSocketProperties, to_json
from workbench.net.tcp import TcpSockets
from workbench.net.tcp_server import TcpServerSockets
from workbench.net.udp import UdpSockets
from workbench.session.call_log import CallLog
from workbench.session.keys import SocketKey, SocketKind
from workbench.session.logged_servers import LoggedServers
from workbench.session.logged_udp import LoggedUdp
from workbench.session.registry import Registry
from workbench.session.session import Session

LOOPBACK = "127.0.0.1"
KINDS = [SocketKind.TCP_SERVER, SocketKind.UDP]


@pytest.fixture
def session(tcp: TcpSockets, tmp_path: Path) -> Iterator[Session]:
    s = Session(tcp, capture_dir=tmp_path / "captures")
    yield s
    s.shutdown()


def _logged(session: Session, kind: SocketKind) -> LoggedServers | LoggedUdp:
    return session.servers if kind is SocketKind.TCP_SERVER else session.udp


def _texts(session: Session, kind: SocketKind) -> list[str]:
    api = kind.api + "."
    return [e.text for e in session.call_log.entries() if e.text.startswith(api)]


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.value)
async def test_create_update_pause_info_and_close_are_logged_and_remembered_alike(
    session: Session, kind: SocketKind
) -> None:
    logged = _logged(session, kind)
    assert repr(logged).startswith(f"<{type(logged).__name__} <")
    sid = (await logged.create()).socket_id
    if isinstance(logged, LoggedServers):
        await logged.update(sid, ServerSocketProperties(name="renamed"))
    else:
        await logged.update(sid, UdpSocketProperties(name="renamed"))
    await logged.set_paused(sid, True)
    record = logged.record(sid)
    assert record is not None and record.key == SocketKey(kind, sid)
    assert record.results == {"update": 0, "pause": 0} and record.intent.paused
    info = await logged.get_info(sid)
    assert info.name == "renamed" and info.paused
    assert [s.socket_id for s in await logged.get_sockets()] == [sid]
    await logged.close(sid)
    assert logged.record(sid) is None and logged.error_detail(sid) is None
    api = kind.api
    assert _texts(session, kind) == [
        f'{api}.create({{}}) → {{"socketId":{sid}}}',
        f'{api}.update({sid}, {{"name":"renamed"}}) → undefined',
        f"{api}.setPaused({sid}, true) → undefined",
        f"{api}.getInfo({sid}) → {to_json(info)}",
        f"{api}.getSockets() → [{to_json(info)}]",
        f"{api}.close({sid}) → undefined",
    ]
    assert [e.key for e in session.call_log.entries()] == [SocketKey(kind, sid)] * 4 + [
        None,
        SocketKey(kind, sid),
    ]


async def test_a_listen_and_a_stop_undo_each_other(session: Session) -> None:
    servers = session.servers
    sid = (await servers.create()).socket_id
    assert await servers.listen(sid, LOOPBACK, 0) == 0
    await servers.disconnect(sid)
    record = servers.record(sid)
    assert record is not None and record.results == {"disconnect": 0}
    assert await servers.listen(sid, LOOPBACK, 0) == 0
    assert record.results == {"listen": 0}
    await servers.close_all()


async def test_detach_and_unwatch_give_each_kinds_core_events_back(
    tcp: TcpSockets, tmp_path: Path
) -> None:
    async with TcpServerSockets(tcp) as servers, UdpSockets() as udp:
        events = [
            servers.on_changed,
            servers.on_accept,
            servers.on_accept_error,
            udp.on_changed,
            udp.on_receive,
            udp.on_receive_error,
        ]
        before = [event.listeners for event in events]
        registry = Registry(lambda: CaptureStore(temp_dir=tmp_path))
        registry.watch_servers(servers)
        registry.watch_udp(udp)
        call_log = CallLog()
        logged = [LoggedServers(servers, call_log, registry), LoggedUdp(udp, call_log, registry)]
        assert all(len(e.listeners) > len(b) for e, b in zip(events, before, strict=True))
        for one in logged:
            one.detach()
        registry.unwatch()
        assert [event.listeners for event in events] == before
        # Let go, a core can be watched again; the records it has are listed again.
        await servers.create()
        await udp.create()
        registry.watch_servers(servers)
        registry.watch_udp(udp)
        assert registry.server_keys() == [SocketKey(SocketKind.TCP_SERVER, 1)]
        assert registry.udp_keys() == [SocketKey(SocketKind.UDP, 1)]
        registry.close()
