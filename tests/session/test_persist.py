"""Persistent sockets: saved as the user asked for them, restored against real peers."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.net.peers import EchoServer
from workbench.core.types import SecureOptions, SocketProperties
from workbench.net.tcp import TcpSockets
from workbench.session.persist import persisted_sockets, restore_sockets
from workbench.session.session import Session
from workbench.session.settings import PersistedSocket


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
        saved = [PersistedSocket(name="a", host="127.0.0.1", port=server.port,
                                 options={"keep_alive": [True, 20]}, user_paused=True)]
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
            PersistedSocket(name="bad", host="127.0.0.1", port=server.port,
                            options={"keep_alive": [True, "x"], "no_delay": [False],
                                     "linger": [1]}),
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
