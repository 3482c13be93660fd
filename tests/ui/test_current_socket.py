"""The window's actions follow the current socket and its tabs' forms (one rule)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QLabel, QLineEdit, QPlainTextEdit, QPushButton

from tests.net.peers import ControlledServer
from tests.net.tls_peers import ThreadedServer
from tests.ui.conftest import WAIT_MS
from tests.ui.test_main_window import (
    action,
    call_log_lines,
    child,
    connect_to,
    new_socket,
    row_state,
    show_tab,
    type_into,
)
from workbench.ui.main_window import MainWindow


def test_connect_action_is_greyed_with_the_connect_tabs_reason(
    qtbot: Any, workbench_window: MainWindow
) -> None:
    window = workbench_window
    new_socket(qtbot, window)
    connect = action(window, "connectAction")
    button = child(window, "connectButton", QPushButton)
    type_into(qtbot, child(window, "connectAddress", QComboBox), "127.0.0.1")
    type_into(qtbot, child(window, "connectPort", QLineEdit), "70000")
    assert not button.isEnabled()
    assert not connect.isEnabled()
    reason = "The port must be between 1 and 65535. (the Connect tab)"
    assert connect.toolTip() == reason and connect.statusTip() == reason
    # Ctrl+K and the row menu are the same action: greyed, nothing is called.
    assert window.table_menu().actions()[0] is connect

    type_into(qtbot, child(window, "connectPort", QLineEdit), "7000")
    assert button.isEnabled() and connect.isEnabled()
    assert connect.toolTip().startswith("Connect the selected socket to the address")
    assert connect.statusTip() == ("Connect the selected socket to the address on the Connect tab")


def test_secure_action_is_greyed_while_the_tls_versions_are_impossible(
    qtbot: Any, workbench_window: MainWindow, echo_server: ThreadedServer
) -> None:
    window = workbench_window
    sid = new_socket(qtbot, window)
    connect_to(qtbot, window, sid, echo_server.port)
    secure = action(window, "secureAction")
    qtbot.waitUntil(secure.isEnabled, timeout=WAIT_MS)  # the table's refresh, at 40 Hz
    show_tab(window, window.tls_panel)
    window.tls_panel.minVersion.setCurrentIndex(1)  # TLS 1.3
    window.tls_panel.maxVersion.setCurrentIndex(0)  # TLS 1.2
    assert not child(window, "secureButton", QPushButton).isEnabled()
    assert not secure.isEnabled()
    assert secure.toolTip() == "The minimum version is newer than the maximum. (the TLS tab)"
    window.tls_panel.maxVersion.setCurrentIndex(1)
    assert secure.isEnabled()
    assert secure.statusTip() == "Start TLS on the selected socket with the TLS tab's settings"


def test_send_is_not_offered_while_the_socket_is_securing(
    qtbot: Any, workbench_window: MainWindow
) -> None:
    """S5: the core lets a send wait for the handshake; the window does not offer one (it
    would sit there until the handshake's 30 s time-out)."""
    window = workbench_window
    with ControlledServer() as server:  # accepts, and never answers the handshake
        sid = new_socket(qtbot, window)
        connect_to(qtbot, window, sid, server.port)
        send_button = child(window, "sendButton", QPushButton)
        source = child(window, "sendInput", QPlainTextEdit)
        type_into(qtbot, source, "too early")
        qtbot.waitUntil(send_button.isEnabled, timeout=WAIT_MS)
        assert send_button.toolTip() == "Send (Ctrl+Enter)"

        show_tab(window, window.tls_panel)
        window.tls_panel.verify.setChecked(False)  # no certificate will come to check
        qtbot.waitUntil(window.tls_panel.secureButton.isEnabled, timeout=WAIT_MS)
        qtbot.mouseClick(window.tls_panel.secureButton, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: row_state(window, sid) == "Securing…", timeout=WAIT_MS)
        qtbot.waitUntil(lambda: not send_button.isEnabled(), timeout=WAIT_MS)
        reason = "the TLS handshake is still running; Send waits until it is done."
        assert send_button.toolTip() == f"Cannot send now: {reason}"
        # The shortcut is refused too, and says why beside Send; nothing is sent.
        source.setFocus()
        qtbot.keyClick(source, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
        assert child(window, "sendError", QLabel).text() == f"Cannot send now: {reason}"
        assert not any(".send(" in line for line in call_log_lines(window))

        qtbot.mouseClick(window.tls_panel.cancelSecureButton, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: row_state(window, sid) == "Disconnected", timeout=WAIT_MS)
        qtbot.waitUntil(
            lambda: (
                send_button.toolTip()
                == "Cannot send now: the socket is not connected (the Connect tab connects it)."
            ),
            timeout=WAIT_MS,
        )
        assert not send_button.isEnabled()


def test_a_failed_send_is_said_beside_send(
    qtbot: Any, workbench_window: MainWindow, echo_server: ThreadedServer
) -> None:
    window = workbench_window
    sid = new_socket(qtbot, window)
    connect_to(qtbot, window, sid, echo_server.port)
    show_tab(window, window.connect_panel)
    qtbot.mouseClick(child(window, "disconnectButton", QPushButton), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: row_state(window, sid) == "Disconnected", timeout=WAIT_MS)
    # A send the core refuses (here: issued by the command itself, past the greyed button).
    task = window.commands.send(b"late")
    assert task is not None
    qtbot.waitUntil(task.done, timeout=WAIT_MS)
    message = child(window, "sendError", QLabel).text()
    assert message.startswith(f"Send on socket {sid} failed: -15 SOCKET_NOT_CONNECTED"), message
