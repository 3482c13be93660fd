"""The bridge: tasks from slots, and the window's coalescing adapter over the session."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.net.tls_peers import ThreadedServer
from tests.ui.conftest import WAIT_MS
from workbench.core.capture import DatagramStore
from workbench.session import CallLog, LoggedTcp, Session, SocketKey, SocketKind
from workbench.sockets import SocketNotFoundError, SocketProperties, TcpSockets
from workbench.ui.bridge import SocketSession, TaskRunner


@pytest.fixture
def session(qloop: asyncio.AbstractEventLoop, aio: Callable[..., Any]) -> Iterator[SocketSession]:
    s = SocketSession(TcpSockets())
    yield s
    aio(s.close_all())
    s.shutdown()


# ------------------------------------------------------------------------------- TaskRunner


def test_task_runner_reports_failures_and_forgets_tasks(qtbot: Any, qloop: Any) -> None:
    runner = TaskRunner()

    async def boom() -> None:
        await asyncio.sleep(0)
        raise RuntimeError("kaput")

    with qtbot.waitSignal(runner.failed, timeout=WAIT_MS) as failed:
        task = runner.start(boom(), name="boom task")
        assert runner.running == 1
    assert failed.args == ["boom task: RuntimeError: kaput"]
    assert task.done() and runner.running == 0


def test_task_runner_quiet_on_success_and_cancel(qtbot: Any, qloop: Any) -> None:
    runner = TaskRunner()
    failures: list[str] = []
    runner.failed.connect(failures.append)

    async def fine() -> int:
        await asyncio.sleep(0)
        return 7

    async def forever() -> None:
        await asyncio.Event().wait()

    ok = runner.start(fine(), name="fine")
    waiting = runner.start(forever(), name="forever")
    qtbot.waitUntil(ok.done, timeout=WAIT_MS)
    assert ok.result() == 7
    cancelling = qloop.create_task(runner.cancel_all())
    qtbot.waitUntil(cancelling.done, timeout=WAIT_MS)
    assert waiting.cancelled()
    assert failures == [] and runner.running == 0


def test_logged_calls_read_like_chrome(
    aio: Callable[..., Any], echo_server: ThreadedServer, refused_port: int
) -> None:
    log = CallLog()
    core = Session(TcpSockets(), call_log=log)
    tcp = LoggedTcp(core)
    assert tcp.raw is core.tcp

    async def flow() -> None:
        sid = (await tcp.create(SocketProperties(name="x"))).socket_id
        assert await tcp.connect(sid, "127.0.0.1", refused_port) == -102
        assert await tcp.connect(sid, "127.0.0.1", echo_server.port, "ipv4") == 0
        info = await tcp.send(sid, b"hello\n")
        assert info.result_code == 0
        assert await tcp.set_no_delay(sid, True) == 0
        await tcp.set_paused(sid, True)
        await tcp.disconnect(sid)
        await tcp.close(sid)
        with pytest.raises(SocketNotFoundError):
            await tcp.get_info(sid)

    aio(flow())
    core.shutdown()
    port = echo_server.port
    assert [(e.text, e.ok, e.socket_id) for e in log.entries()] == [
        ('chrome.sockets.tcp.create({"name":"x"}) → {"socketId":1}', True, 1),
        (f'chrome.sockets.tcp.connect(1, "127.0.0.1", {refused_port}) → -102 '
         "(net::ERR_CONNECTION_REFUSED)", False, 1),
        (f'chrome.sockets.tcp.connect(1, "127.0.0.1", {port}, "ipv4") → 0', True, 1),
        ('chrome.sockets.tcp.send(1, <6 bytes>) → {"resultCode":0,"bytesSent":6}', True, 1),
        ("chrome.sockets.tcp.setNoDelay(1, true) → 0", True, 1),
        ("chrome.sockets.tcp.setPaused(1, true) → undefined", True, 1),
        ("chrome.sockets.tcp.disconnect(1) → undefined", True, 1),
        ("chrome.sockets.tcp.close(1) → undefined", True, 1),
        ("chrome.sockets.tcp.getInfo(1) → Error: Socket not found", False, 1),
    ]


# ---------------------------------------------------------------------------- SocketSession


def test_session_captures_both_directions(
    qtbot: Any, aio: Callable[..., Any], session: SocketSession, echo_server: ThreadedServer
) -> None:
    tcp = session.sockets
    added: list[int] = []
    session.socketAdded.connect(added.append)
    sid = aio(tcp.create()).socket_id
    assert added == [sid] and session.ids() == [sid]
    assert session.state_text(sid) == "Created"
    assert aio(tcp.connect(sid, "127.0.0.1", echo_server.port)) == 0
    assert session.state_text(sid) == "Connected"
    with qtbot.waitSignal(session.dataArrived, timeout=WAIT_MS,
                          check_params_cb=lambda s: session.counters(s)[0] == 5):
        aio(tcp.send(sid, b"hello"))
    store = session.captures(sid)
    assert session.counters(sid) == (5, 5)
    assert store.bytes_out == 5 and store.bytes_in == 5
    assert store.read(0, 10) == b"hellohello"


def test_data_signals_are_coalesced(
    qtbot: Any, aio: Callable[..., Any], session: SocketSession, echo_server: ThreadedServer
) -> None:
    """64 KiB in 16-byte onReceive events: thousands of events, a handful of signals."""
    tcp = session.sockets
    sid = aio(tcp.create(SocketProperties(buffer_size=16))).socket_id
    assert aio(tcp.connect(sid, "127.0.0.1", echo_server.port)) == 0
    events = 0

    def count(_info: Any) -> None:
        nonlocal events
        events += 1

    session.raw.on_receive.add_listener(count)
    arrived: list[int] = []
    changed: list[frozenset[int]] = []
    session.dataArrived.connect(arrived.append)
    session.socketsChanged.connect(changed.append)
    payload = bytes(range(256)) * 256
    aio(tcp.send(sid, payload))
    qtbot.waitUntil(lambda: session.counters(sid)[0] == len(payload), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: bool(arrived) and bool(changed), timeout=WAIT_MS)
    session.flush()
    assert events >= len(payload) // 16
    # One signal of each kind per socket per flush, and flushes are few.
    assert 1 <= len(arrived) <= len(changed)
    assert len(changed) < events / 10
    assert session.captures(sid).read(len(payload), len(payload)) == payload


def test_state_text_follows_the_socket(
    qtbot: Any, aio: Callable[..., Any], session: SocketSession, refused_port: int
) -> None:
    tcp = session.sockets
    sid = aio(tcp.create()).socket_id
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    try:
        assert aio(tcp.connect(sid, "127.0.0.1", port)) == 0
        peer, _ = listener.accept()
        assert session.state_text(sid) == "Connected"
        aio(tcp.set_paused(sid, True))
        assert session.state_text(sid) == "Paused"
        aio(tcp.set_paused(sid, False))
        with qtbot.waitSignal(session.receiveError, timeout=WAIT_MS) as error:
            peer.close()
        assert error.args == [sid, -100]
        # The peer ended it, not the user's Disconnect: the row says so.
        qtbot.waitUntil(lambda: session.state_text(sid) == "Closed by peer", timeout=WAIT_MS)
        assert any("onReceiveError" in e.text and "-100" in e.text
                   for e in session.call_log.entries())
    finally:
        listener.close()
    assert aio(tcp.connect(sid, "127.0.0.1", refused_port)) == -102
    assert session.state_text(sid) == "Error: CONNECTION_REFUSED"
    assert session.ui(sid).error == -102


def test_reconnect_unpauses_unless_the_user_paused(
    aio: Callable[..., Any], session: SocketSession, echo_server: ThreadedServer
) -> None:
    """Contract U6: D1 leaves the socket paused; the window resumes it on reconnect."""
    tcp = session.sockets
    sid = aio(tcp.create()).socket_id
    assert aio(tcp.connect(sid, "127.0.0.1", echo_server.port)) == 0
    aio(tcp.disconnect(sid))
    assert session.info(sid).paused  # the core paused it (D1)
    assert aio(tcp.connect(sid, "127.0.0.1", echo_server.port)) == 0
    assert not session.info(sid).paused
    assert "the window resumes a socket it reconnects" in session.call_log.entries()[-1].text

    aio(tcp.set_paused(sid, True))
    aio(tcp.disconnect(sid))
    assert aio(tcp.connect(sid, "127.0.0.1", echo_server.port)) == 0
    assert session.info(sid).paused
    assert session.state_text(sid) == "Paused"


def test_closing_closes_capture_stores(
    aio: Callable[..., Any], qloop: Any, tmp_path: Path
) -> None:
    session = SocketSession(TcpSockets())
    directory = session.capture_dir
    tcp = session.sockets
    removed: list[int] = []
    session.socketRemoved.connect(removed.append)
    first = aio(tcp.create()).socket_id
    second = aio(tcp.create()).socket_id
    stores = [session.captures(first), session.captures(second)]
    assert list(directory.iterdir()) == []  # anonymous files: nothing left even by a crash
    aio(tcp.close(first))
    assert removed == [first] and session.ids() == [second]
    assert stores[0].closed and not stores[1].closed
    aio(session.close_all())
    assert session.ids() == [] and stores[1].closed
    session.shutdown()
    assert not directory.exists()


def test_clear_capture_starts_an_empty_store(
    aio: Callable[..., Any], session: SocketSession, echo_server: ThreadedServer, qtbot: Any
) -> None:
    tcp = session.sockets
    sid = aio(tcp.create()).socket_id
    assert aio(tcp.connect(sid, "127.0.0.1", echo_server.port)) == 0
    aio(tcp.send(sid, b"abc"))
    qtbot.waitUntil(lambda: session.captures(sid).bytes_in == 3, timeout=WAIT_MS)
    old = session.captures(sid)
    new = session.clear_capture(sid)
    assert new is session.captures(sid) and new is not old
    assert new.total_bytes == 0
    assert session.counters(sid) == (3, 3)


def test_intent_and_results_are_kept_per_socket(
    aio: Callable[..., Any], session: SocketSession, qtbot: Any
) -> None:
    sid = aio(session.sockets.create()).socket_id
    with qtbot.waitSignal(session.socketsChanged, timeout=WAIT_MS):
        session.set_intent(sid, peer=("127.0.0.1", 7, "any"))
    assert session.ui(sid).intent.peer == ("127.0.0.1", 7, "any")
    assert not session.ui(sid).verify_off  # a plain socket is never flagged
    session.set_result(sid, "connect", -102)
    assert session.result(sid, "connect") == -102
    assert session.result(sid, "secure") is None
    assert session.result(999, "connect") is None


def test_own_disconnect_and_close_are_not_blamed_on_the_peer(
    qtbot: Any, aio: Callable[..., Any], session: SocketSession, echo_server: ThreadedServer
) -> None:
    tcp = session.sockets

    def receive_errors() -> list[tuple[str, bool]]:
        return [(e.text, e.ok) for e in session.call_log.entries() if "onReceiveError" in e.text]

    sid = aio(tcp.create()).socket_id
    assert aio(tcp.connect(sid, "127.0.0.1", echo_server.port)) == 0
    aio(tcp.disconnect(sid))
    qtbot.waitUntil(lambda: len(receive_errors()) == 1, timeout=WAIT_MS)
    text, ok = receive_errors()[0]
    assert '"resultCode":-100' in text  # the core still reports -100 (D1)
    assert text.endswith("(net::ERR_CONNECTION_CLOSED: after the window's disconnect())")
    assert "peer" not in text and ok

    assert aio(tcp.connect(sid, "127.0.0.1", echo_server.port)) == 0
    aio(tcp.close(sid))
    qtbot.waitUntil(lambda: len(receive_errors()) == 2, timeout=WAIT_MS)
    text, ok = receive_errors()[1]
    assert '"resultCode":-100' in text  # D2
    assert text.endswith("(net::ERR_CONNECTION_CLOSED: after the window's close())") and ok


# ------------------------------------------------------------------------------ UDP sockets


def test_udp_signals_carry_udp_ids_and_never_a_tcp_socket_s(
    qtbot: Any, aio: Callable[..., Any], session: SocketSession
) -> None:
    """TCP socket 1 and UDP socket 1 are two sockets: datagrams on U1 are ``udpDataArrived``
    (once per flush however many came), never ``dataArrived(1)``."""
    tcp_id = aio(session.sockets.create()).socket_id
    added: list[int] = []
    removed: list[int] = []
    changed: list[frozenset[int]] = []
    udp_arrived: list[int] = []
    tcp_arrived: list[int] = []
    session.udpAdded.connect(added.append)
    session.udpRemoved.connect(removed.append)
    session.udpChanged.connect(changed.append)
    session.udpDataArrived.connect(udp_arrived.append)
    session.dataArrived.connect(tcp_arrived.append)
    uid = aio(session.udp.create()).socket_id
    assert added == [uid] == [tcp_id]
    assert session.udp_ids() == [uid]
    assert aio(session.udp.bind(uid, "127.0.0.1", 0)) == 0
    qtbot.waitUntil(lambda: any(uid in ids for ids in changed), timeout=WAIT_MS)
    record = session.udp_record(uid)
    assert record is not None and record.info.local_port
    key = SocketKey(SocketKind.UDP, uid)
    assert session.record_of(key) is record
    assert isinstance(session.capture_of(key), DatagramStore)
    assert session.capture_of(key) is record.capture
    session.flush()
    udp_arrived.clear()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as peer:
        for n in range(3):
            peer.sendto(b"x" * (n + 1), ("127.0.0.1", record.info.local_port))
        qtbot.waitUntil(lambda: record.datagrams_in == 3, timeout=WAIT_MS)
    session.flush()
    assert 1 <= len(udp_arrived) <= 3 and set(udp_arrived) == {uid}
    assert tcp_arrived == []
    aio(session.udp.close(uid))
    assert removed == [uid]
    assert session.udp_record(uid) is None and session.record_of(key) is None
