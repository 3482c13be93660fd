"""The composer on a UDP target (workbench/ui/composer_udp.py and SendComposer.set_udp): the
destination row, one datagram per Send in every input mode, the 65,507-byte limit refused
before sending, each result beside Send in words, Send file… as one datagram, and the recent
destinations. A real session (``SocketSession``) sends to plain loopback UDP sockets and to a
``socat`` echo; what was sent and received is read back from the peers and the capture."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QSpinBox, QWidget

import pytest

from tests.conftest import TIMEOUT
from tests.net.test_udp import LOOPBACK, Peer, free_udp_port, peers, process, udp_receive_queue
from tests.ui.test_composer import CASES, Sent, type_in
from workbench.core.capture import Direction
from workbench.core.errors import NetError
from workbench.core.formatting import describe_result
from workbench.net.tcp import TcpSockets
from workbench.session.record import UdpRecord
from workbench.session.udp_send import BIND_FIRST, MAX_DATAGRAM, DatagramResult, Destination
from workbench.ui.bridge import SocketSession, TaskRunner
from workbench.ui.composer import ERROR_STYLE, SendComposer

WAIT_MS = int(TIMEOUT * 1000)
API = "chrome.sockets.udp"


@pytest.fixture
def session(qloop: asyncio.AbstractEventLoop, aio: Callable[..., Any]) -> Iterator[SocketSession]:
    s = SocketSession(TcpSockets())
    yield s
    aio(s.close_all())
    s.shutdown()


@pytest.fixture
def runner(qloop: asyncio.AbstractEventLoop) -> Iterator[TaskRunner]:
    r = TaskRunner()
    failures: list[str] = []
    r.failed.connect(failures.append)
    yield r
    assert failures == []


@pytest.fixture
def composer(qtbot: Any, session: SocketSession, runner: TaskRunner) -> Iterator[SendComposer]:
    # In a layout-less host, as inside the window (see tests/ui/test_composer.py).
    host = QWidget()
    qtbot.addWidget(host)
    host.resize(760, 240)
    c = SendComposer(host, runner=runner, udp_sender=session.core.udp)
    c.setGeometry(0, 0, 760, 240)
    host.show()
    qtbot.waitExposed(host)
    yield c
    c.shutdown()


@pytest.fixture
def peer() -> Iterator[Peer]:
    with peers() as made:
        made.append(p := Peer())
        yield p


def new_udp(aio: Callable[..., Any], session: SocketSession, *, bind: bool = True) -> int:
    udp = session.core.udp
    sid: int = aio(udp.create()).socket_id
    if bind:
        assert aio(udp.bind(sid, LOOPBACK, 0)) == NetError.OK
    return sid


def record(session: SocketSession, sid: int) -> UdpRecord:
    found = session.core.udp.record(sid)
    assert found is not None
    return found


def datagrams(session: SocketSession, sid: int) -> list[tuple[Direction, bytes, str, int]]:
    store = record(session, sid).capture
    found = []
    for i in range(store.record_count):
        d = store.datagram(i)
        data = store.read(d.record.stream_offset, d.record.size)
        found.append((d.record.direction, data, d.address, d.port))
    return found


def sends_logged(session: SocketSession) -> list[str]:
    return [e.text for e in session.call_log.entries() if e.text.startswith(f"{API}.send(")]


def aim(c: SendComposer, address: str, port: int) -> None:
    c.to_address.setEditText(address)
    c.to_port.setValue(port)


def click_send(qtbot: Any, c: SendComposer) -> DatagramResult:
    """Click Send and wait for the datagram's result."""
    assert c.send_button.isEnabled(), c.error_label.text()
    with qtbot.waitSignal(c.datagramSent, timeout=WAIT_MS) as blocker:
        qtbot.mouseClick(c.send_button, Qt.MouseButton.LeftButton)
    result: DatagramResult = blocker.args[1]
    return result


def received(qtbot: Any, peer: Peer, n: int) -> list[bytes]:
    qtbot.waitUntil(lambda: peer.poll() >= n, timeout=WAIT_MS)
    return [data for data, _ in peer.got]


def is_red(c: SendComposer) -> bool:
    return c.error_label.styleSheet() == ERROR_STYLE


# ------------------------------------------------------------------------------- the row


def test_the_destination_row_shows_only_for_a_udp_target(composer: SendComposer) -> None:
    c = composer
    address = c.findChild(QComboBox, "sendToAddress")
    port = c.findChild(QSpinBox, "sendToPort")
    assert address is c.to_address and address.isEditable()
    assert port is c.to_port and port.maximum() == 65535
    assert not address.isVisible() and not port.isVisible()
    c.set_socket(1)
    assert not address.isVisible()
    c.set_udp(1)
    assert address.isVisible() and port.isVisible()
    assert (c.socket(), c.udp()) == (None, 1)
    assert address.currentText() == LOOPBACK and port.text() == "port"  # no port chosen yet
    assert "one datagram" in c.file_button.toolTip()
    c.set_socket(None)  # "no TCP socket" leaves the UDP target alone
    assert (c.socket(), c.udp()) == (None, 1) and address.isVisible()
    c.set_socket(2)  # a TCP socket clears it
    assert (c.socket(), c.udp()) == (2, None) and not address.isVisible()
    assert "in chunks" in c.file_button.toolTip()
    c.set_udp(3)
    c.set_udp(None)  # leaves the (absent) TCP target as it is
    assert (c.socket(), c.udp()) == (None, None) and not address.isVisible()


def test_tcp_and_udp_sockets_with_the_same_id_keep_their_own_history(
    composer: SendComposer,
) -> None:
    sent = Sent(composer)
    composer.set_socket(1)
    composer.set_text("to tcp 1")
    assert composer.send()
    assert sent.items == [b"to tcp 1"]
    composer.set_udp(1)
    assert composer.history() == []
    composer.set_socket(1)
    assert composer.history() == [("to tcp 1", "Text")]


# ------------------------------------------------------------------------------- sending


@pytest.mark.parametrize(("mode", "ending", "text", "expected"), CASES)
def test_each_mode_sends_exactly_one_datagram_of_its_bytes(
    qtbot: Any,
    aio: Callable[..., Any],
    session: SocketSession,
    composer: SendComposer,
    peer: Peer,
    mode: str,
    ending: str,
    text: str,
    expected: bytes,
) -> None:
    c = composer
    tcp_sends = Sent(c)
    sid = new_udp(aio, session)
    c.set_udp(sid)
    aim(c, LOOPBACK, peer.port)
    c.mode.setCurrentText(mode)
    c.line_ending.setCurrentText(ending)
    type_in(qtbot, c, text)
    result = click_send(qtbot, c)
    assert result == DatagramResult(NetError.OK, len(expected), result.text)
    assert received(qtbot, peer, 1) == [expected]
    assert c.error_label.text() == f"0 OK: sent {result.sent} bytes to {LOOPBACK}:{peer.port}"
    assert not is_red(c)
    assert datagrams(session, sid) == [(Direction.OUT, expected, LOOPBACK, peer.port)]
    assert c.history() == [(text, mode)]
    assert tcp_sends.items == []  # sendRequested is the TCP send's


@pytest.mark.skipif(shutil.which("socat") is None, reason="needs socat")
def test_a_socat_echo_reply_lands_in_the_capture(
    qtbot: Any, aio: Callable[..., Any], session: SocketSession, composer: SendComposer
) -> None:
    sid = new_udp(aio, session)
    port = free_udp_port()
    argv = ("socat", f"UDP4-RECVFROM:{port},bind={LOOPBACK},fork", "EXEC:cat")
    with process(*argv) as socat:
        qtbot.waitUntil(
            lambda: socat.poll() is not None or udp_receive_queue(port) is not None,
            timeout=WAIT_MS,
        )
        assert socat.poll() is None, "socat exited before binding"
        composer.set_udp(sid)
        aim(composer, LOOPBACK, port)
        composer.set_text("ping\\n", "Escaped")
        assert click_send(qtbot, composer).ok
        qtbot.waitUntil(lambda: record(session, sid).datagrams_in == 1, timeout=WAIT_MS)
    assert datagrams(session, sid) == [
        (Direction.OUT, b"ping\n", LOOPBACK, port),
        (Direction.IN, b"ping\n", LOOPBACK, port),
    ]


def test_send_before_bind_explains_minus_15(
    qtbot: Any, aio: Callable[..., Any], session: SocketSession, composer: SendComposer
) -> None:
    sid = new_udp(aio, session, bind=False)
    composer.set_udp(sid)
    aim(composer, LOOPBACK, 9)
    composer.set_text("early")
    result = click_send(qtbot, composer)
    assert result.code == NetError.SOCKET_NOT_CONNECTED and result.sent == 0
    text = composer.error_label.text()
    assert text == f"Not sent: -15 SOCKET_NOT_CONNECTED: {BIND_FIRST} · to {LOOPBACK}:9"
    assert "bind it first (Bind tab)" in text and is_red(composer)
    assert record(session, sid).datagrams_out == 0
    assert composer.to_address.count() == 0  # a destination not sent to is not offered again


def test_an_unresolvable_name_gives_minus_105_with_its_reason(
    qtbot: Any, aio: Callable[..., Any], session: SocketSession, composer: SendComposer
) -> None:
    sid = new_udp(aio, session)
    composer.set_udp(sid)
    aim(composer, "nonexistent.invalid", 53)
    composer.set_text("x")
    result = click_send(qtbot, composer)
    assert result.code == NetError.NAME_NOT_RESOLVED
    assert composer.error_label.text().startswith(
        f"Not sent: {describe_result(NetError.NAME_NOT_RESOLVED)}"
    )
    assert "-105 NAME_NOT_RESOLVED" in composer.error_label.text() and is_red(composer)
    # Beside Send, narrowed as in a 1280-pixel window, the line still shows the code: a long
    # host name does not push it out of sight.
    aim(composer, "a-rather-long-host-name.nonexistent.invalid", 53)
    assert click_send(qtbot, composer).code == NetError.NAME_NOT_RESOLVED
    composer.error_label.resize(250, composer.error_label.height())
    assert "-105 NAME_NOT_RESOLVED" in composer.error_label.shown_text()
    assert composer.destination_row.recent_destinations() == []


def test_a_missing_destination_is_asked_for_not_sent(
    aio: Callable[..., Any], session: SocketSession, composer: SendComposer
) -> None:
    composer.set_udp(new_udp(aio, session))
    composer.set_text("x")
    aim(composer, LOOPBACK, 0)
    assert not composer.send()
    assert composer.error_label.text() == "Cannot send: choose the port to send to"
    aim(composer, "", 53)
    assert not composer.send()
    assert composer.error_label.text() == "Cannot send: type the address to send to"
    assert composer.history() == [] and sends_logged(session) == []


OVERSIZE = [
    pytest.param("x" * (MAX_DATAGRAM + 1), MAX_DATAGRAM + 1, id="typed"),
    pytest.param("x" * 100_001, 100_001, id="large-paste"),  # held aside, checked in a thread
]


@pytest.mark.parametrize(("text", "size"), OVERSIZE)
def test_oversize_input_is_refused_before_sending_never_split(
    qtbot: Any,
    aio: Callable[..., Any],
    session: SocketSession,
    composer: SendComposer,
    peer: Peer,
    text: str,
    size: int,
) -> None:
    c = composer
    sid = new_udp(aio, session)
    c.set_udp(sid)
    aim(c, LOOPBACK, peer.port)
    c.set_text(text)
    reason = f"{size:,} bytes, over the 65,507 a UDP datagram holds"
    qtbot.waitUntil(lambda: c.error_label.text() == f"Cannot send: {reason}", timeout=WAIT_MS)
    assert not c.send_button.isEnabled() and not c.send() and is_red(c)
    # Elided beside Send in a narrow window, the line still says how large the data is.
    c.error_label.resize(250, c.error_label.height())
    assert f"{size:,} bytes" in c.error_label.shown_text()
    assert sends_logged(session) == [] and record(session, sid).datagrams_out == 0
    # The limit is UDP's: the same bytes can go to a TCP socket.
    c.set_socket(7)
    qtbot.waitUntil(c.is_valid, timeout=WAIT_MS)
    # And the peer got nothing before what is sent next.
    c.set_udp(sid)
    c.set_text("after")
    assert click_send(qtbot, c).ok
    assert received(qtbot, peer, 1) == [b"after"]


def test_the_largest_datagram_goes_whole(
    qtbot: Any, aio: Callable[..., Any], session: SocketSession, composer: SendComposer, peer: Peer
) -> None:
    composer.set_udp(new_udp(aio, session))
    aim(composer, LOOPBACK, peer.port)
    composer.set_text("y" * MAX_DATAGRAM)
    qtbot.waitUntil(composer.is_valid, timeout=WAIT_MS)
    assert click_send(qtbot, composer).sent == MAX_DATAGRAM
    assert received(qtbot, peer, 1) == [b"y" * MAX_DATAGRAM]
    assert composer.error_label.text() == f"0 OK: sent 64.0 KiB to {LOOPBACK}:{peer.port}"


def test_a_result_is_told_on_its_own_socket(
    qtbot: Any, aio: Callable[..., Any], session: SocketSession, composer: SendComposer
) -> None:
    unbound, other = new_udp(aio, session, bind=False), new_udp(aio, session)
    composer.set_udp(unbound)
    aim(composer, LOOPBACK, 9)
    composer.set_text("x")
    with qtbot.waitSignal(composer.datagramSent, timeout=WAIT_MS):
        assert composer.send()
        composer.set_udp(other)  # before the result comes
    assert composer.error_label.text() == ""
    composer.set_udp(unbound)
    assert BIND_FIRST in composer.error_label.text()


# ------------------------------------------------------------------------------- send file


def test_send_file_sends_one_datagram_or_refuses(
    qtbot: Any,
    aio: Callable[..., Any],
    session: SocketSession,
    composer: SendComposer,
    peer: Peer,
    tmp_path: Path,
) -> None:
    sid = new_udp(aio, session)
    composer.set_udp(sid)
    aim(composer, LOOPBACK, peer.port)
    fits = tmp_path / "fits.bin"
    fits.write_bytes(bytes(range(256)) * 100)
    with qtbot.waitSignal(composer.fileSendFinished, timeout=WAIT_MS) as done:
        composer.send_file_requested(str(fits))
    assert done.args == [str(fits), 25_600, ""]
    assert received(qtbot, peer, 1) == [fits.read_bytes()]
    assert not composer.progress.isVisible()  # one datagram: nothing to show progress of

    big = tmp_path / "big.bin"
    big.write_bytes(bytes(MAX_DATAGRAM + 1))
    started = Sent(composer)
    composer.fileSendStarted.connect(lambda path: started.items.append(path.encode()))
    composer.send_file_requested(str(big))
    assert composer.error_label.text() == (
        "Cannot send the file: 65,508 bytes, over the 65,507 a UDP datagram holds"
    )
    assert started.items == [] and record(session, sid).datagrams_out == 1


# ------------------------------------------------------------------------------- destinations


def test_recent_destinations_most_recent_first_and_per_socket(
    qtbot: Any, aio: Callable[..., Any], session: SocketSession, composer: SendComposer
) -> None:
    c = composer
    with peers() as made:
        made.extend([a := Peer(), b := Peer()])
        first, second = new_udp(aio, session), new_udp(aio, session)
        c.set_udp(first)
        c.set_text("hi")
        for port in (a.port, b.port, a.port):
            aim(c, LOOPBACK, port)
            assert click_send(qtbot, c).ok
        recent = [Destination(LOOPBACK, a.port), Destination(LOOPBACK, b.port)]
        assert c.destination_row.recent_destinations() == recent
        assert [c.to_address.itemText(i) for i in range(c.to_address.count())] == [
            f"{LOOPBACK}:{a.port}",
            f"{LOOPBACK}:{b.port}",
        ]
        # A socket not sent from yet starts at the most recent destination; each socket
        # keeps the one it last sent to.
        c.set_udp(second)
        assert c.destination_row.destination() == recent[0]
        aim(c, LOOPBACK, b.port)
        assert click_send(qtbot, c).ok
        c.set_udp(first)
        assert c.destination_row.destination() == recent[0]
        c.set_udp(second)
        assert c.destination_row.destination() == Destination(LOOPBACK, b.port)
        # Choosing from the list fills the address and the port.
        aim(c, "", 0)
        c.to_address.setFocus()
        qtbot.keyClick(c.to_address, Qt.Key.Key_Down)  # the most recent: b now
        qtbot.keyClick(c.to_address, Qt.Key.Key_Down)
        assert c.destination_row.destination() == Destination(LOOPBACK, a.port)
        assert received(qtbot, a, 2) == [b"hi", b"hi"] and received(qtbot, b, 2) == [b"hi"] * 2


# ------------------------------------------------------------------------------- in the window


def test_in_the_window_the_destination_row_fits_above_send(
    qtbot: Any, workbench_window: Any
) -> None:
    c: SendComposer = workbench_window.composer
    c.set_udp(1)
    row = c.destination_row
    qtbot.waitUntil(lambda: c.height() >= c.minimumSizeHint().height(), timeout=WAIT_MS)
    assert row.isVisible() and row.geometry().bottom() < c.send_button.geometry().top()
    assert c.input.height() >= c.input.minimumHeight()
