"""The Local servers panel, driven by clicks, against real servers on the session's qasync
loop (``qloop`` from tests/ui/conftest.py). No fixed sleeps: ``qtbot.waitUntil``."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton, QAbstractSpinBox, QLabel, QMainWindow, QWidget

import pytest

from tests.ui.conftest import WAIT_MS
from workbench.core.formatting import format_endpoint, format_size
from workbench.net.servers import ServerKind, ServerManager, ServerSpec
from workbench.sockets import TcpSockets
from workbench.ui.bridge import TaskRunner
from workbench.ui.servers_dock import ServersDock
from workbench.ui.servers_panel import ServersPanel, object_prefix


def run(qtbot: Any, coro: Coroutine[Any, Any, Any]) -> Any:
    """Run one coroutine on the qasync loop from the (synchronous) test body."""
    task = asyncio.get_event_loop().create_task(coro)
    qtbot.waitUntil(task.done, timeout=WAIT_MS)
    return task.result()


@pytest.fixture
def manager(qtbot: Any, qloop: asyncio.AbstractEventLoop, tmp_path: Path) -> Iterator[Any]:
    servers = ServerManager(tmp_path / "certs", close_timeout=0.2)
    try:
        yield servers
    finally:
        run(qtbot, servers.stop_all())


@pytest.fixture
def panel(qtbot: Any, manager: ServerManager) -> Iterator[ServersPanel]:
    runner = TaskRunner()
    failures: list[str] = []
    runner.failed.connect(failures.append)
    # In a layout-less host, as inside the window's dock: a top-level panel would pass every
    # minimum-size change to the offscreen platform, which warns ("does not support
    # propagateSizeHints()").
    host = QWidget()
    qtbot.addWidget(host)
    host.resize(900, 320)
    widget = ServersPanel(manager, runner, host)
    widget.setGeometry(0, 0, 900, 320)
    host.show()
    qtbot.waitExposed(host)
    yield widget
    qtbot.waitUntil(lambda: runner.running == 0, timeout=WAIT_MS)
    widget.shutdown()
    assert failures == []


def click(qtbot: Any, panel: ServersPanel, name: str) -> None:
    button = panel.findChild(QAbstractButton, name)
    assert button is not None, name
    assert button.isEnabled(), f"{name} is disabled"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def label(panel: ServersPanel, name: str) -> str:
    widget = panel.findChild(QLabel, name)
    assert widget is not None, name
    return str(widget.text())


def test_start_echo_then_new_socket_to_it(qtbot: Any, panel: ServersPanel) -> None:
    manager = panel.manager
    assert label(panel, "echoServerPort") == "—"
    assert not panel.row("echo").new_socket.isEnabled()

    click(qtbot, panel, "echoServerToggle")
    qtbot.waitUntil(lambda: manager.find(ServerKind.ECHO) is not None, timeout=WAIT_MS)
    server = manager.find(ServerKind.ECHO)
    assert server is not None and server.port > 0
    qtbot.waitUntil(lambda: label(panel, "echoServerPort") == str(server.port), timeout=WAIT_MS)
    assert label(panel, "echoServerState") == "Running"
    assert label(panel, "echoServerTraffic") == f"in {format_size(0)} · out {format_size(0)}"
    endpoint = format_endpoint(server.host, server.port)
    assert panel.row("echo").new_socket.toolTip() == f"New socket to this server: {endpoint}"
    assert panel.row("echo").toggle.isChecked() and panel.row("echo").toggle.text() == "Stop"

    with qtbot.waitSignal(panel.newSocketRequested, timeout=WAIT_MS) as blocker:
        click(qtbot, panel, "echoServerNewSocket")
    assert blocker.args == ["127.0.0.1", server.port, "echo"]

    click(qtbot, panel, "echoServerToggle")
    qtbot.waitUntil(lambda: label(panel, "echoServerState") == "Stopped", timeout=WAIT_MS)
    assert manager.servers == [] and not server.running
    assert label(panel, "echoServerPort") == "—"
    assert not panel.row("echo").toggle.isChecked()
    assert not panel.row("echo").new_socket.isEnabled()


def test_connections_and_traffic_are_shown(qtbot: Any, panel: ServersPanel) -> None:
    click(qtbot, panel, "echoServerToggle")
    qtbot.waitUntil(lambda: panel.manager.find("echo") is not None, timeout=WAIT_MS)
    server = panel.manager.find("echo")
    assert server is not None
    tcp = TcpSockets()

    async def connect_and_send() -> int:
        sid = (await tcp.create()).socket_id
        assert await tcp.connect(sid, server.host, server.port) == 0
        assert (await tcp.send(sid, b"x" * 2048)).result_code == 0
        return sid

    sid = run(qtbot, connect_and_send())
    qtbot.waitUntil(lambda: label(panel, "echoServerConnections") == "1", timeout=WAIT_MS)
    qtbot.waitUntil(
        lambda: label(panel, "echoServerTraffic") == "in 2.0 KiB · out 2.0 KiB", timeout=WAIT_MS
    )
    run(qtbot, tcp.close(sid))
    qtbot.waitUntil(lambda: label(panel, "echoServerConnections") == "0", timeout=WAIT_MS)
    run(qtbot, tcp.shutdown())


def test_a_server_started_elsewhere_shows_up(qtbot: Any, panel: ServersPanel) -> None:
    server = run(qtbot, panel.manager.start(ServerSpec(ServerKind.CHARGEN)))
    qtbot.waitUntil(lambda: label(panel, "chargenServerPort") == str(server.port), timeout=WAIT_MS)
    assert panel.row("chargen").toggle.isChecked()
    run(qtbot, panel.manager.stop(server))
    qtbot.waitUntil(lambda: label(panel, "chargenServerPort") == "—", timeout=WAIT_MS)


def test_setting_applies_at_start_and_is_locked_while_running(
    qtbot: Any, panel: ServersPanel
) -> None:
    setting = panel.row("close-after").setting
    assert setting is not None
    setting.setValue(5)
    click(qtbot, panel, "closeAfterServerToggle")
    qtbot.waitUntil(lambda: panel.manager.find("close-after") is not None, timeout=WAIT_MS)
    server = panel.manager.find("close-after")
    assert server is not None and server.spec.n == 5
    qtbot.waitUntil(lambda: not setting.isEnabled(), timeout=WAIT_MS)

    drip = panel.row("slow-drip").setting
    assert drip is not None
    drip.setValue(50)
    assert panel.spec("slow-drip").interval == pytest.approx(0.05)


def test_trust_this_test_ca(qtbot: Any, panel: ServersPanel, tmp_path: Path) -> None:
    # Before tls-echo ever ran: the CA is made on the spot.
    with qtbot.waitSignal(panel.trustCaRequested, timeout=WAIT_MS) as blocker:
        click(qtbot, panel, "tlsEchoServerTrustCa")
    ca_path = Path(blocker.args[0])
    assert ca_path == tmp_path / "certs" / "test-ca.pem" and ca_path.is_file()

    click(qtbot, panel, "tlsEchoServerToggle")
    qtbot.waitUntil(lambda: panel.manager.find("tls-echo") is not None, timeout=WAIT_MS)
    server = panel.manager.find("tls-echo")
    assert server is not None and server.ca_file == str(ca_path)
    with qtbot.waitSignal(panel.trustCaRequested, timeout=WAIT_MS) as blocker:
        click(qtbot, panel, "tlsEchoServerTrustCa")
    assert blocker.args == [str(ca_path)]


def test_a_failed_start_is_shown_beside_the_toggle(
    qtbot: Any, qloop: asyncio.AbstractEventLoop, tmp_path: Path
) -> None:
    not_a_directory = tmp_path / "file"
    not_a_directory.write_text("the certificate directory cannot be made here")
    manager = ServerManager(not_a_directory)
    runner = TaskRunner()
    widget = ServersPanel(manager, runner)
    qtbot.addWidget(widget)
    click(qtbot, widget, "tlsEchoServerToggle")
    qtbot.waitUntil(
        lambda: label(widget, "tlsEchoServerState").startswith("Failed:"), timeout=WAIT_MS
    )
    assert not widget.row("tls-echo").toggle.isChecked()
    assert widget.row("tls-echo").toggle.isEnabled()
    assert manager.servers == []
    widget.shutdown()


def test_every_control_is_named_and_explained(panel: ServersPanel) -> None:
    controls = [
        *panel.findChildren(QAbstractButton),
        *panel.findChildren(QAbstractSpinBox),
        *panel.findChildren(QLabel),
    ]
    assert len(controls) > 7 * 5
    for control in controls:
        assert control.accessibleName(), control.objectName() or control.text()
        if not isinstance(control, QLabel) or control.objectName():
            assert control.toolTip(), control.objectName()
    for kind in ServerKind:
        prefix = object_prefix(kind)
        for suffix in ("Toggle", "State", "Port", "Connections", "NewSocket"):
            assert panel.findChild(QWidget, prefix + suffix) is not None


def test_udp_reply_after_starts_with_its_delay_shows_its_port_and_stops(
    qtbot: Any, panel: ServersPanel
) -> None:
    manager = panel.manager
    prefix = object_prefix(ServerKind.UDP_REPLY_AFTER)
    assert prefix == "udpReplyAfterServer"
    setting = panel.row(ServerKind.UDP_REPLY_AFTER).setting
    assert setting is not None and setting.objectName() == prefix + "Setting"
    setting.setValue(250)
    click(qtbot, panel, prefix + "Toggle")
    qtbot.waitUntil(lambda: manager.find(ServerKind.UDP_REPLY_AFTER) is not None, timeout=WAIT_MS)
    server = manager.find(ServerKind.UDP_REPLY_AFTER)
    assert server is not None and server.spec.delay_ms == 250 and server.host == "127.0.0.1"
    qtbot.waitUntil(lambda: label(panel, prefix + "Port") == str(server.port), timeout=WAIT_MS)
    assert label(panel, prefix + "Connections") == "—"
    assert not setting.isEnabled()

    asked: list[tuple[str, int, str]] = []
    tcp_asked: list[tuple[str, int, str]] = []
    panel.newUdpSocketRequested.connect(lambda *args: asked.append(args))
    panel.newSocketRequested.connect(lambda *args: tcp_asked.append(args))
    click(qtbot, panel, prefix + "NewSocket")
    assert asked == [("127.0.0.1", server.port, "udp-reply-after")] and tcp_asked == []

    click(qtbot, panel, prefix + "Toggle")
    qtbot.waitUntil(lambda: manager.find(ServerKind.UDP_REPLY_AFTER) is None, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: label(panel, prefix + "Port") == "—", timeout=WAIT_MS)


def test_udp_echo_counts_datagrams_in_its_traffic(qtbot: Any, panel: ServersPanel) -> None:
    manager = panel.manager
    prefix = object_prefix(ServerKind.UDP_ECHO)
    assert panel.row(ServerKind.UDP_ECHO).setting is None
    click(qtbot, panel, prefix + "Toggle")
    qtbot.waitUntil(lambda: manager.find(ServerKind.UDP_ECHO) is not None, timeout=WAIT_MS)
    server = manager.find(ServerKind.UDP_ECHO)
    assert server is not None
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as peer:
        peer.bind(("127.0.0.1", 0))
        peer.sendto(b"12345", ("127.0.0.1", server.port))
        qtbot.waitUntil(lambda: server.datagrams_out == 1, timeout=WAIT_MS)
        peer.settimeout(5)
        assert peer.recvfrom(100) == (b"12345", ("127.0.0.1", server.port))
    want = f"in {format_size(5)} (1) · out {format_size(5)} (1)"
    qtbot.waitUntil(lambda: label(panel, prefix + "Traffic") == want, timeout=WAIT_MS)


def test_the_dock_sends_udp_new_socket_to_its_own_callback(
    qtbot: Any, manager: ServerManager
) -> None:
    window = QMainWindow()
    qtbot.addWidget(window)
    runner = TaskRunner()
    dock = ServersDock(manager, runner, own=False, parent=window)
    asked: list[tuple[str, int, str]] = []
    dock.connect_udp_to(lambda host, port, kind: asked.append((host, port, kind)))
    server = run(qtbot, manager.start(ServerSpec(ServerKind.UDP_ECHO)))
    dock.panel.refresh()
    button = dock.panel.row(ServerKind.UDP_ECHO).new_socket
    assert button.isEnabled()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert asked == [("127.0.0.1", server.port, "udp-echo")]
    dock.panel.shutdown()
