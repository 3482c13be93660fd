"""docs/architecture.md's walk-through, done for real: an option added in the core's table and
the net layer's setters is set, checked, logged, remembered and persisted with no other change.

(The panel's control is the third place; the panel tests cover the two options it has.)
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.net.peers import EchoServer
from workbench.core import options as core_options
from workbench.core.options import OptionSpec, Param
from workbench.core.types import SocketProperties
from workbench.net import options as net_options
from workbench.net.tcp import TcpSockets
from workbench.session.persist import persisted_sockets
from workbench.session.session import Session

LINGER = OptionSpec(
    "linger",
    "setLinger",
    (Param("enable", bool), Param("seconds", int, 0, 3600, " seconds")),
    (False, 0),
)


def set_linger(sock: socket.socket, enable: bool, seconds: int) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", enable, seconds))


@pytest.fixture
def linger(monkeypatch: pytest.MonkeyPatch) -> None:
    # The two places of the walk-through, as a developer would add them.
    monkeypatch.setitem(core_options.OPTIONS, "linger", LINGER)
    monkeypatch.setitem(net_options.SETTERS, "linger", set_linger)


@pytest.fixture
def session(tcp: TcpSockets, tmp_path: Path) -> Iterator[Session]:
    s = Session(tcp, capture_dir=tmp_path / "captures")
    yield s
    s.shutdown()


async def test_a_new_option_needs_only_its_row_and_its_setter(
    linger: None, session: Session
) -> None:
    with EchoServer() as server:
        key = await session.create(SocketProperties(persistent=True))
        assert await session.set_option(key, "linger", True, 5) == -2  # K1: not connected
        assert await session.connect(key, "127.0.0.1", server.port) == 0
        assert await session.set_option(key, "linger", True, 5) == 0
        with pytest.raises(ValueError, match=r"seconds must be 0\.\.3600 seconds"):
            await session.set_option(key, "linger", True, 9999)
        record = session.registry[key]
        assert record.intent.options["linger"] == (True, 5)
        assert record.results["linger"] == 0
        texts = [e.text for e in session.call_log.entries()]
        assert f"chrome.sockets.tcp.setLinger({key.id}, true, 5) → 0" in texts
        [saved] = persisted_sockets(session)
        assert saved.options["linger"] == [True, 5]
