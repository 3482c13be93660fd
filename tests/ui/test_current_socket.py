"""The window's actions follow the current socket and its tabs' forms (one rule)."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QComboBox, QLineEdit, QPushButton

from tests.net.tls_peers import ThreadedServer
from tests.ui.conftest import WAIT_MS
from tests.ui.test_main_window import (
    action,
    child,
    connect_to,
    new_socket,
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
