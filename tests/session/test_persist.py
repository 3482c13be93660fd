"""Persistent sockets: saved as the user asked for them, restored against real peers."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.net.peers import EchoServer
from tests.session.bad_entries import BAD_ENTRIES, assert_named, bad_entries
from workbench.core.types import SecureOptions, SocketProperties
from workbench.net.tcp import TcpSockets
from workbench.session.persist import persisted_sockets, restore_persistent, restore_sockets
from workbench.session.session import Session
from workbench.session.settings import PersistedSocket, SettingsStore


@pytest.fixture
def session(tcp: TcpSockets, tmp_path: Path) -> Iterator[Session]:
    s = Session(tcp, capture_dir=tmp_path / "captures")
    yield s
    s.shutdown()


async def test_saved_as_asked_not_as_it_is(session: Session) -> None:
    """A socket the user secured is saved as TLS even when it is disconnected at quit."""
    with EchoServer() as server:
        key = await session.create(SocketProperties(name="kept", persistent=True))
        await session.create(SocketProperties(name="not kept"))
        assert await session.connect(key, "127.0.0.1", server.port) == 0
        assert await session.set_option(key, "no_delay", False) == 0
        session.set_intent(key, secure=SecureOptions(server_name="a.test"), tls=True)
        await session.disconnect(key)
    [saved] = persisted_sockets(session)
    assert (saved.name, saved.host, saved.port) == ("kept", "127.0.0.1", server.port)
    assert saved.was_secure and saved.secure is not None
    assert saved.secure["serverName"] == "a.test"
    assert saved.options == {"no_delay": [False]}


async def test_restore_reconnects_and_reapplies(session: Session) -> None:
    with EchoServer() as server:
        saved = [
            PersistedSocket(
                name="a",
                host="127.0.0.1",
                port=server.port,
                options={"keep_alive": [True, 20]},
                user_paused=True,
            )
        ]
        [key] = await restore_sockets(session, saved)
        record = session.registry[key]
        assert record.info.connected and record.info.persistent and record.info.paused
        assert record.intent.options == {"keep_alive": (True, 20)}
        opts = await session.socket_options(key)
        assert opts is not None and opts["keep_idle"] == 20


async def test_an_entry_the_core_would_refuse_is_skipped_and_the_rest_restored(
    session: Session, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 8, item 3: no bad entry stops the restore, and none is restored in part (a bad
    option is not left out: the socket would be saved back without it); each is skipped
    with a message that names it, and leaves no socket."""
    with EchoServer() as server:
        bad = [PersistedSocket.from_json(entry) for entry in bad_entries(server.port)]
        saved = [
            PersistedSocket(name="first", host="127.0.0.1", port=server.port),
            *[entry for entry in bad if entry is not None],
            PersistedSocket(
                name="last",
                host="127.0.0.1",
                port=server.port,
                options={"keep_alive": [True, 20]},
            ),
        ]
        with caplog.at_level(logging.WARNING, logger="workbench.session"):
            restored = await restore_persistent(session, saved)
        names = [session.registry[k].info.name for k in restored.keys]
        assert names == ["first", "last"]
        assert all(session.registry[k].info.connected for k in restored.keys)
        assert session.registry[restored.keys[1]].intent.options == {"keep_alive": (True, 20)}
        assert len(list(session.registry)) == 2
    assert [entry.name for entry, _ in restored.skipped] == [e["name"] for e, _ in BAD_ENTRIES]
    for message, (entry, problem) in zip(restored.messages, BAD_ENTRIES, strict=True):
        assert_named(message, {"host": "127.0.0.1", "port": server.port, **entry}, problem)
    assert restored.kept == bad_entries(server.port)
    logged = [r.getMessage() for r in caplog.records]
    assert all(any(m in line for line in logged) for m in restored.messages)


async def test_bad_entries_survive_a_settings_round_trip(session: Session, tmp_path: Path) -> None:
    """Loaded, restored and saved again: the good entries come back as sockets, the bad ones
    are named once at load and written back exactly as they were read."""
    store = SettingsStore(tmp_path / "cfg")
    with EchoServer() as server:
        bad = bad_entries(server.port)
        good = [{"name": n, "host": "127.0.0.1", "port": server.port} for n in ("a", "b")]
        store.directory.mkdir()
        store.path.write_text(json.dumps({"sockets": [good[0], *bad, good[1]]}), encoding="utf-8")
        settings, message = store.load()
        assert message is not None and "'a'" not in message and "'b'" not in message
        for entry, (_, problem) in zip(bad, BAD_ENTRIES, strict=True):
            assert_named(message, entry, problem)
        restored = await restore_persistent(session, settings.sockets)
        assert [session.registry[k].info.name for k in restored.keys] == ["a", "b"]
        assert restored.skipped == []
        settings.sockets = persisted_sockets(session)
        assert store.save(settings) is None
    written = json.loads(store.path.read_text(encoding="utf-8"))["sockets"]
    assert [entry["name"] for entry in written] == ["a", "b", *(e["name"] for e in bad)]
    assert written[2:] == bad
    again, message = store.load()
    assert [s.name for s in again.sockets] == ["a", "b"]
    assert again.kept_sockets == bad
    assert message is not None and message.count("cannot be restored") == len(bad)


def test_an_entry_is_named_by_its_peer_when_it_has_no_name() -> None:
    entry = PersistedSocket.from_json({"host": "::1", "port": 7, "options": {"no_delay": [3]}})
    assert entry is not None
    problem = entry.problem()
    assert problem == "option no_delay [3]: no_delay must be a bool, not int"
    assert entry.skip_message(problem).startswith(
        "The persistent socket [::1]:7 cannot be restored (option no_delay [3]: "
    )


async def test_a_udp_built_in_server_is_never_a_tcp_socket_s_peer(tmp_path: Path) -> None:
    from workbench.net.servers import ServerKind, ServerManager, ServerSpec
    from workbench.session.persist import ManagedServers

    async with ServerManager(tmp_path / "ca") as manager:
        udp_echo = await manager.start(ServerSpec(ServerKind.UDP_ECHO))
        echo = await manager.start(ServerSpec(ServerKind.ECHO))
        servers = ManagedServers(manager)
        # A TCP socket whose peer has the UDP echo's port number is not talking to it.
        if udp_echo.port != echo.port:
            assert servers.kind_at("127.0.0.1", udp_echo.port) is None
        assert servers.kind_at("127.0.0.1", echo.port) == ServerKind.ECHO.value
