"""``TcpSockets.on_changed``, ``info_now`` and ``state_of``: the extensions a session layer lists
every socket with, whoever created it, without polling.

Each test records ``on_changed`` (and, where the order matters, ``on_receive_error``) in one
list and checks the whole sequence against real loopback peers: plain ones from
``tests.net.peers`` and the TLS echo server from ``tests/net/conftest.py``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Recorder, wait_for
from tests.net.peers import LOOPBACK, ControlledServer, EchoServer, closed_port
from tests.net.tls_peers import Pki, ThreadedServer
from workbench.sockets import (
    ChangeReason,
    NetError,
    ReceiveErrorInfo,
    SecureOptions,
    SocketChange,
    SocketInfo,
    SocketNotFoundError,
    SocketProperties,
    State,
    TcpSockets,
)

R = ChangeReason
S = State


class Changes:
    """Every ``on_changed`` of one ``TcpSockets``, with ``on_receive_error`` interleaved, and
    what ``info_now``/``state_of`` said inside each listener call."""

    def __init__(self, tcp: TcpSockets) -> None:
        self.tcp = tcp
        self.log: list[SocketChange | ReceiveErrorInfo] = []
        #: (state_of, info_now) read synchronously inside the listener, None once closed
        self.read_back: list[tuple[State, SocketInfo] | None] = []
        tcp.on_changed.add_listener(self._changed)
        tcp.on_receive_error.add_listener(self.log.append)

    def _changed(self, change: SocketChange) -> None:
        self.log.append(change)
        if change.reason is R.CLOSED:
            self.read_back.append(None)
        else:
            sid = change.socket_id
            self.read_back.append((self.tcp.state_of(sid), self.tcp.info_now(sid)))

    def changes(self) -> list[SocketChange]:
        return [c for c in self.log if isinstance(c, SocketChange)]

    def steps(self, socket_id: int) -> list[tuple[str, Any]]:
        """``(reason, state)`` per change and ``("receive_error", code)``, for one socket."""
        out: list[tuple[str, Any]] = []
        for item in self.log:
            if item.socket_id != socket_id:
                continue
            if isinstance(item, SocketChange):
                out.append((item.reason.value, item.state))
            else:
                out.append(("receive_error", item.result_code))
        return out

    def take(self, socket_id: int) -> list[tuple[str, Any]]:
        steps = self.steps(socket_id)
        self.log.clear()
        return steps


async def test_on_changed_reports_a_plain_socket_life_in_order(tcp: TcpSockets) -> None:
    seen = Changes(tcp)
    rec = Recorder(tcp)
    sid = (await tcp.create(SocketProperties(name="first"))).socket_id
    assert seen.take(sid) == [("created", S.CREATED)]

    await tcp.update(sid, SocketProperties(name="renamed", buffer_size=10))
    change = seen.changes()[0]
    assert change.info is not None and change.info.name == "renamed"
    assert change.info.buffer_size == 10
    assert seen.take(sid) == [("properties", S.CREATED)]

    with ControlledServer() as server:
        assert await tcp.connect(sid, LOOPBACK, server.port) == 0
        connected = seen.changes()[-1].info
        assert connected is not None and connected.connected
        assert (connected.peer_address, connected.peer_port) == (LOOPBACK, server.port)
        assert seen.take(sid) == [("state", S.CONNECTING), ("state", S.CONNECTED)]
        peer = await server.accept()

        await tcp.set_paused(sid, True)
        await tcp.set_paused(sid, True)  # P3: no change, no event
        assert seen.take(sid) == [("paused", S.CONNECTED)]
        await tcp.set_paused(sid, False)
        assert [c.info.paused for c in seen.changes() if c.info] == [False]
        assert seen.take(sid) == [("paused", S.CONNECTED)]

        # The peer closes: disconnected, paused by the core (R3), then the error event.
        peer.close()
        await rec.wait_error(sid)
        assert seen.take(sid) == [
            ("state", S.DISCONNECTED),
            ("paused", S.DISCONNECTED),
            ("receive_error", NetError.CONNECTION_CLOSED),
        ]

        # Connect again (U6: still paused), unpause, disconnect: the core pauses it (D1).
        assert await tcp.connect(sid, LOOPBACK, server.port) == 0
        await tcp.set_paused(sid, False)
        await tcp.disconnect(sid)
        await wait_for(lambda: len(rec.errors_of(sid)) == 2)
        steps = seen.take(sid)
        assert steps[:5] == [
            ("state", S.CONNECTING),
            ("state", S.CONNECTED),
            ("paused", S.CONNECTED),
            ("state", S.DISCONNECTED),
            ("paused", S.DISCONNECTED),
        ]
        assert steps[5:] == [("receive_error", NetError.CONNECTION_CLOSED)]

    await tcp.close(sid)
    assert seen.changes() == [SocketChange(sid, R.CLOSED, None, None)]
    assert seen.read_back[-1] is None


async def test_info_in_each_change_is_what_info_now_and_state_of_say(tcp: TcpSockets) -> None:
    seen = Changes(tcp)
    with EchoServer() as server:
        sid = (await tcp.create()).socket_id
        assert await tcp.connect(sid, LOOPBACK, server.port) == 0
        await tcp.set_paused(sid, True)
        await tcp.disconnect(sid)
    changes = seen.changes()
    assert len(changes) == len(seen.read_back) >= 5
    for change, read in zip(changes, seen.read_back, strict=True):
        assert read == (change.state, change.info)
    assert tcp.state_of(sid) is S.DISCONNECTED
    assert tcp.info_now(sid) == await tcp.get_info(sid)


async def test_on_changed_reports_a_failed_connect(tcp: TcpSockets) -> None:
    seen = Changes(tcp)
    sid = (await tcp.create()).socket_id
    assert await tcp.connect(sid, LOOPBACK, closed_port()) == NetError.CONNECTION_REFUSED
    assert seen.take(sid) == [
        ("created", S.CREATED),
        ("state", S.CONNECTING),
        ("state", S.DISCONNECTED),
    ]
    assert tcp.state_of(sid) is S.DISCONNECTED
    # A connect that the table refuses changes nothing and says nothing.
    with EchoServer() as server:
        assert await tcp.connect(sid, LOOPBACK, server.port) == 0
        seen.log.clear()
        assert await tcp.connect(sid, LOOPBACK, server.port) == NetError.SOCKET_IS_CONNECTED
        assert seen.log == []


async def test_on_changed_reports_securing_and_secure_with_tls_info(
    tcp: TcpSockets, tls_server: Callable[..., ThreadedServer], pki: Pki
) -> None:
    server = tls_server()
    seen = Changes(tcp)
    sid = (await tcp.create()).socket_id
    assert await tcp.connect(sid, "localhost", server.port, "ipv4") == 0
    seen.log.clear()
    assert await tcp.secure(sid, SecureOptions(ca_file=str(pki.ca_file))) == 0
    securing, secure = seen.changes()
    assert (securing.reason, securing.state) == (R.STATE, S.SECURING)
    assert securing.info is not None and securing.info.tls is None
    assert (secure.reason, secure.state) == (R.STATE, S.SECURE)
    assert secure.info is not None and secure.info.tls is not None
    assert secure.info.tls.verified and secure.info.tls.version in ("TLSv1.2", "TLSv1.3")
    assert tcp.state_of(sid) is S.SECURE
    seen.log.clear()
    await tcp.disconnect(sid)
    assert seen.steps(sid)[:2] == [("state", S.DISCONNECTED), ("paused", S.DISCONNECTED)]


async def test_on_changed_reports_a_failed_handshake(
    tcp: TcpSockets, tls_server: Callable[..., ThreadedServer], pki: Pki
) -> None:
    server = tls_server(pki.expired)
    seen = Changes(tcp)
    sid = (await tcp.create()).socket_id
    assert await tcp.connect(sid, "localhost", server.port, "ipv4") == 0
    seen.log.clear()
    options = SecureOptions(ca_file=str(pki.ca_file))
    assert await tcp.secure(sid, options) == NetError.CERT_DATE_INVALID
    # T5: disconnected and kept; nothing was being read, so no pause and no error event.
    assert seen.take(sid) == [("state", S.SECURING), ("state", S.DISCONNECTED)]
    assert tcp.state_of(sid) is S.DISCONNECTED


async def test_on_changed_reports_a_secure_that_sent_nothing(
    tcp: TcpSockets, tls_server: Callable[..., ThreadedServer], tmp_path: Any
) -> None:
    server = tls_server()
    seen = Changes(tcp)
    sid = (await tcp.create()).socket_id
    assert await tcp.connect(sid, "localhost", server.port, "ipv4") == 0
    seen.log.clear()
    missing = SecureOptions(ca_file=str(tmp_path / "no-such-ca.pem"))
    assert await tcp.secure(sid, missing) == NetError.INVALID_ARGUMENT
    assert seen.take(sid) == [("state", S.SECURING), ("state", S.CONNECTED)]


async def test_close_reports_closed_only_and_suspend_and_shutdown_in_id_order(
    tcp: TcpSockets,
) -> None:
    seen = Changes(tcp)
    with EchoServer() as server:
        ids = [(await tcp.create()).socket_id for _ in range(4)]
        await tcp.update(ids[1], SocketProperties(persistent=True))
        for sid in ids[:3]:
            assert await tcp.connect(sid, LOOPBACK, server.port) == 0
        seen.log.clear()
        await tcp.close(ids[0])
        assert seen.changes() == [SocketChange(ids[0], R.CLOSED, None, None)]
        seen.log.clear()
        await tcp.suspend()  # L2: the persistent one stays
        assert seen.changes() == [
            SocketChange(ids[2], R.CLOSED, None, None),
            SocketChange(ids[3], R.CLOSED, None, None),
        ]
        seen.log.clear()
        await tcp.shutdown()
        assert seen.changes() == [SocketChange(ids[1], R.CLOSED, None, None)]


async def test_a_listener_sees_sockets_whoever_created_them(tcp: TcpSockets) -> None:
    # The window subscribes once; a script or a test creating sockets on the same TcpSockets
    # shows up in it without polling.
    seen = Changes(tcp)
    created_by_someone_else = [(await tcp.create()).socket_id for _ in range(3)]
    assert [(c.socket_id, c.reason) for c in seen.changes()] == [
        (sid, R.CREATED) for sid in created_by_someone_else
    ]


async def test_one_change_is_one_event_whatever_the_number_of_sockets(tcp: TcpSockets) -> None:
    for _ in range(500):
        await tcp.create()
    seen = Changes(tcp)
    sid = (await tcp.create()).socket_id
    await tcp.set_paused(sid, True)
    await tcp.update(sid, SocketProperties(name="x"))
    assert [(c.socket_id, c.reason) for c in seen.changes()] == [
        (sid, R.CREATED),
        (sid, R.PAUSED),
        (sid, R.PROPERTIES),
    ]


async def test_a_listener_that_raises_is_logged_and_the_others_still_run(
    tcp: TcpSockets, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(change: SocketChange) -> None:
        raise RuntimeError("listener bug")

    tcp.on_changed.add_listener(broken)
    seen = Changes(tcp)
    with caplog.at_level(logging.ERROR):
        sid = (await tcp.create()).socket_id
        await tcp.set_paused(sid, True)
    assert seen.take(sid) == [("created", S.CREATED), ("paused", S.CREATED)]
    assert sum("onChanged listener" in r.getMessage() for r in caplog.records) == 2
    assert tcp.state_of(sid) is S.CREATED


async def test_info_now_and_state_of_raise_for_unknown_and_closed_ids(tcp: TcpSockets) -> None:
    sid = (await tcp.create()).socket_id
    assert tcp.state_of(sid) is S.CREATED
    assert tcp.info_now(sid) == SocketInfo(
        socket_id=sid, persistent=False, paused=False, connected=False
    )
    await tcp.close(sid)
    for bad in (sid, sid + 1, 0):
        with pytest.raises(SocketNotFoundError):
            tcp.info_now(bad)
        with pytest.raises(SocketNotFoundError):
            tcp.state_of(bad)
    with pytest.raises(TypeError):
        tcp.state_of("1")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        tcp.info_now(True)


async def test_no_listener_no_cost_and_nothing_breaks(tcp: TcpSockets) -> None:
    # Without listeners the core builds no snapshots; the calls behave as before.
    assert tcp.on_changed.listeners == ()
    with EchoServer() as server:
        rec = Recorder(tcp)
        sid = (await tcp.create()).socket_id
        assert await tcp.connect(sid, LOOPBACK, server.port) == 0
        assert (await tcp.send(sid, b"ping")).result_code == 0
        await rec.wait_bytes(sid, 4)
        await tcp.close(sid)
    await wait_for(lambda: rec.errors_of(sid) == [NetError.CONNECTION_CLOSED])


def test_only_advance_writes_the_state() -> None:
    # One table decides every state (core/state.py): in the TCP modules the only assignment to
    # a socket's state is the one in TcpSocket.advance, which asks transition().
    import ast
    import inspect

    import workbench.net as net_package
    from workbench.net import tcp_socket

    writers: list[str] = []
    for path in sorted(Path(inspect.getfile(net_package)).parent.glob("tcp*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for function in ast.walk(tree):
            if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(function):
                targets = node.targets if isinstance(node, ast.Assign) else []
                for target in targets:
                    for leaf in ast.walk(target):
                        if isinstance(leaf, ast.Attribute) and leaf.attr in ("state", "_state"):
                            writers.append(f"{path.name}:{function.name}")
    assert writers == ["tcp_socket.py:__init__", "tcp_socket.py:advance"], writers
    assert "transition(" in inspect.getsource(tcp_socket.TcpSocket.advance)
