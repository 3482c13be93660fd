"""The whole UDP flow through the window, as a user does it: New UDP socket, bind on port 0 on
its Bind tab, a datagram to a ``socat`` UDP echo from the composer, both datagrams in the data
view with their addresses and lengths, a truncated one marked, pause holding datagrams in the
OS and resume delivering them, a multicast group joined and left, and a send before bind
explaining -15 beside Send."""

from __future__ import annotations

import shutil
import socket
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton, QSpinBox

import pytest

from tests.net.test_udp import free_udp_port, process, udp_receive_queue
from tests.net.test_udp_multicast import GROUP, needs_proc
from tests.ui.conftest import WAIT_MS
from tests.ui.test_main_window import action, child
from tests.ui.test_udp_rows import new_udp, record
from workbench.sockets import NetError
from workbench.ui.main_window import MainWindow

LOOPBACK = "127.0.0.1"


def click(qtbot: Any, button: QPushButton) -> None:
    assert button.isEnabled(), button.toolTip()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def bind_on_port_0(qtbot: Any, window: MainWindow, udp_id: int) -> int:
    window.tabs.show_panel(window.tabs.bind_panel)
    child(window, "bindPort", QSpinBox).setValue(0)
    click(qtbot, child(window, "bindButton", QPushButton))
    qtbot.waitUntil(lambda: record(window, udp_id).info.local_port is not None, timeout=WAIT_MS)
    port = record(window, udp_id).info.local_port
    assert port
    return port


def send(qtbot: Any, window: MainWindow, text: str, port: int) -> None:
    composer = window.composer
    composer.to_address.setEditText(LOOPBACK)
    composer.to_port.setValue(port)
    composer.set_text(text)
    with qtbot.waitSignal(composer.datagramSent, timeout=WAIT_MS):
        click(qtbot, composer.send_button)


def headers(window: MainWindow) -> list[str]:
    window.data_view.scroll_to_start()
    return [line for line in window.data_view.visible_lines() if " bytes " in line]


@pytest.mark.skipif(shutil.which("socat") is None, reason="needs socat")
def test_bind_send_to_a_socat_echo_see_both_truncate_pause_and_resume(
    qtbot: Any, workbench_window: MainWindow
) -> None:
    window = workbench_window
    udp_id = new_udp(qtbot, window)
    mine = bind_on_port_0(qtbot, window, udp_id)
    assert window.tabs.bind_panel.status.text() == f"Bound to {LOOPBACK}:{mine}"
    echo = free_udp_port()
    argv = ("socat", f"UDP4-RECVFROM:{echo},bind={LOOPBACK},fork", "EXEC:cat")
    with process(*argv) as socat:
        qtbot.waitUntil(lambda: udp_receive_queue(echo) is not None, timeout=WAIT_MS)
        assert socat.poll() is None
        send(qtbot, window, "ping", echo)
        qtbot.waitUntil(lambda: record(window, udp_id).datagrams_in == 1, timeout=WAIT_MS)
        assert window.data_view.store() is record(window, udp_id).capture
        sent, got = headers(window)
        assert sent.endswith(f"sent 4 bytes to {LOOPBACK}:{echo}")
        assert got.endswith(f"received 4 bytes from {LOOPBACK}:{echo}")

        # A buffer of 4 bytes cuts the 7-byte echo, and the header says so.
        properties = window.tabs.udp_properties_panel
        window.tabs.show_panel(properties)
        child(window, "udpBufferSize", QSpinBox).setValue(4)
        click(qtbot, child(window, "udpPropertiesApply", QPushButton))
        qtbot.waitUntil(lambda: record(window, udp_id).info.buffer_size == 4, timeout=WAIT_MS)
        send(qtbot, window, "longer!", echo)
        qtbot.waitUntil(lambda: record(window, udp_id).datagrams_in == 2, timeout=WAIT_MS)
        last = headers(window)[-1]
        assert last.endswith(f"received 7 bytes from {LOOPBACK}:{echo}, truncated to 4 bytes")

    # Pause leaves datagrams in the OS's buffer; resume delivers them.
    action(window, "pauseAction").trigger()
    qtbot.waitUntil(lambda: record(window, udp_id).info.paused, timeout=WAIT_MS)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as peer:
        peer.sendto(b"held", (LOOPBACK, mine))
        qtbot.waitUntil(lambda: (udp_receive_queue(mine) or 0) > 0, timeout=WAIT_MS)
        assert record(window, udp_id).datagrams_in == 2  # it is in the OS, not the capture
        action(window, "pauseAction").trigger()  # now Resume
        qtbot.waitUntil(lambda: record(window, udp_id).datagrams_in == 3, timeout=WAIT_MS)
    assert udp_receive_queue(mine) == 0


@needs_proc
def test_join_and_leave_a_multicast_group_on_its_tab(
    qtbot: Any, workbench_window: MainWindow
) -> None:
    window = workbench_window
    udp_id = new_udp(qtbot, window)
    bind_on_port_0(qtbot, window, udp_id)
    panel = window.tabs.multicast_panel
    window.tabs.show_panel(panel)
    panel.group.setText(GROUP)
    click(qtbot, child(window, "joinGroupButton", QPushButton))
    qtbot.waitUntil(lambda: panel.joined_groups() == [GROUP], timeout=WAIT_MS)
    click(qtbot, child(window, "leaveGroupButton", QPushButton))
    qtbot.waitUntil(lambda: panel.joined_groups() == [], timeout=WAIT_MS)
    calls = [e.text for e in window.call_log.entries()]
    assert f'chrome.sockets.udp.joinGroup({udp_id}, "{GROUP}") → 0' in calls
    assert f'chrome.sockets.udp.leaveGroup({udp_id}, "{GROUP}") → 0' in calls


def test_send_before_bind_explains_minus_15_beside_send(
    qtbot: Any, workbench_window: MainWindow
) -> None:
    window = workbench_window
    udp_id = new_udp(qtbot, window)
    send(qtbot, window, "early", 9)  # offered unbound: the answer says why
    text = window.composer.error_label.text()
    assert f"-{-NetError.SOCKET_NOT_CONNECTED} SOCKET_NOT_CONNECTED" in text
    assert "bind it first (Bind tab)" in text
    assert record(window, udp_id).datagrams_out == 0
    # Bound as told, the "not bound" beside Send goes: it no longer describes the socket.
    bind_on_port_0(qtbot, window, udp_id)
    qtbot.waitUntil(lambda: window.composer.error_label.text() == "", timeout=WAIT_MS)


def test_a_udp_echo_server_s_new_socket_is_a_bound_row_aimed_at_it(
    qtbot: Any, make_window: Any
) -> None:
    window = make_window(servers=True)
    manager = window.server_manager
    assert manager is not None
    qtbot.waitUntil(lambda: window.setup_task is None or window.setup_task.done(), timeout=WAIT_MS)
    before = set(window.session.udp_ids())
    window.servers_panel.newUdpSocketRequested.emit(LOOPBACK, 9999, "udp-echo")
    qtbot.waitUntil(lambda: bool(set(window.session.udp_ids()) - before), timeout=WAIT_MS)
    (udp_id,) = set(window.session.udp_ids()) - before
    qtbot.waitUntil(lambda: record(window, udp_id).info.local_port is not None, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: window.current.udp_id == udp_id, timeout=WAIT_MS)
    assert window.composer.to_address.currentText() == LOOPBACK
    assert window.composer.to_port.value() == 9999
