"""Persistent sockets: saved as the user asked for them, restored against real peers."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.net.peers import EchoServer
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


async def test_a_bad_option_is_left_out_with_a_warning_and_the_rest_goes_on(
    session: Session, caplog: pytest.LogCaptureFixture
) -> None:
    with EchoServer() as server:
        saved = [
            PersistedSocket(
                name="bad",
                host="127.0.0.1",
                port=server.port,
                options={"keep_alive": [True, "x"], "no_delay": [False], "linger": [1]},
            ),
            PersistedSocket(name="after", host="127.0.0.1", port=server.port),
        ]
        with caplog.at_level(logging.WARNING, logger="workbench.session"):
            keys = await restore_sockets(session, saved)
        assert len(keys) == 2
        assert all(session.registry[k].info.connected for k in keys)
        assert session.registry[keys[0]].intent.options == {"no_delay": (False,)}
    messages = [r.getMessage() for r in caplog.records]
    assert any("'bad'" in m and "keep_alive" in m for m in messages)
    assert any("'bad'" in m and "linger" in m for m in messages)


async def test_an_entry_the_core_would_refuse_is_skipped_and_the_rest_restored(
    session: Session, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 8, item 3: a host with a NUL or a blank server name no longer stops the
    restore; each bad entry is skipped with a message that names it, and leaves no socket."""
    with EchoServer() as server:
        saved = [
            PersistedSocket(name="first", host="127.0.0.1", port=server.port),
            PersistedSocket(name="nul host", host="127.0.0.1\x00.example", port=server.port),
            PersistedSocket(
                name="blank sni",
                host="127.0.0.1",
                port=server.port,
                secure={"serverName": " "},
                was_secure=True,
            ),
            PersistedSocket(name="last", host="127.0.0.1", port=server.port),
        ]
        with caplog.at_level(logging.WARNING, logger="workbench.session"):
            restored = await restore_persistent(session, saved)
        names = [session.registry[k].info.name for k in restored.keys]
        assert names == ["first", "last"]
        assert all(session.registry[k].info.connected for k in restored.keys)
        assert len(list(session.registry)) == 2
    assert [entry.name for entry, _ in restored.skipped] == ["nul host", "blank sni"]
    assert "'nul host'" in restored.messages[0] and "NUL" in restored.messages[0]
    assert "'blank sni'" in restored.messages[1] and "server_name" in restored.messages[1]
    logged = [r.getMessage() for r in caplog.records]
    assert all(any(m in line for line in logged) for m in restored.messages)


async def test_bad_entries_survive_a_settings_round_trip(session: Session, tmp_path: Path) -> None:
    """Loaded, restored and saved again: the good entries come back as sockets, the bad ones
    are named once at load and written back exactly as they were read."""
    store = SettingsStore(tmp_path / "cfg")
    with EchoServer() as server:
        bad = [
            {"name": "nul host", "host": "127.0.0.1\x00x", "port": server.port},
            {
                "name": "blank sni",
                "host": "127.0.0.1",
                "port": server.port,
                "secure": {"serverName": " "},
                "was_secure": True,
                "extra": [1, 2],
            },
        ]
        good = [{"name": n, "host": "127.0.0.1", "port": server.port} for n in ("a", "b")]
        store.directory.mkdir()
        store.path.write_text(json.dumps({"sockets": [good[0], *bad, good[1]]}), encoding="utf-8")
        settings, message = store.load()
        assert message is not None
        assert "'nul host'" in message and "'blank sni'" in message and "'a'" not in message
        restored = await restore_persistent(session, settings.sockets)
        assert [session.registry[k].info.name for k in restored.keys] == ["a", "b"]
        assert restored.skipped == []
        settings.sockets = persisted_sockets(session)
        assert store.save(settings) is None
    written = json.loads(store.path.read_text(encoding="utf-8"))["sockets"]
    assert [entry["name"] for entry in written] == ["a", "b", "nul host", "blank sni"]
    assert written[2:] == bad
    again, message = store.load()
    assert [s.name for s in again.sockets] == ["a", "b"]
    assert again.kept_sockets == bad
