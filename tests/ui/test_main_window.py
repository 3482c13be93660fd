"""End-to-end flows through the real window's widgets, against real loopback peers."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtGui import QAction, QFontMetrics
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QDockWidget,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QWidget,
)

import pytest

from tests.net.peers import ControlledServer
from tests.net.tls_peers import Pki, ThreadedServer
from tests.session.bad_entries import BAD_ENTRIES, assert_named, bad_entries
from tests.ui.conftest import WAIT_MS, close_window
from workbench.session import row_state as record_state
from workbench.ui.errors import install_hooks
from workbench.ui.main_window import MainWindow
from workbench.ui.socket_model import Column

STABLE_NAMES = [
    "socketTable", "newSocketAction", "connectAddress", "connectPort", "connectButton",
    "disconnectButton", "closeSocketAction", "pauseButton", "secureButton", "tlsVerify",
    "tlsCaFile", "sendInput", "sendMode", "sendLineEnding", "sendButton", "dataView",
    "viewMode", "copyAsTextAction", "copyAsHexAction", "callLog",
]


# ------------------------------------------------------------------------------- helpers


def child(window: QWidget, name: str, kind: type = QObject) -> Any:
    found = window.findChild(kind, name)
    assert found is not None, f"no {kind.__name__} named {name!r}"
    return found


def action(window: QWidget, name: str) -> QAction:
    return child(window, name, QAction)


def row_state(window: MainWindow, sid: int) -> str:
    row = window.model.row_of(sid)
    assert row is not None
    return str(window.model.index(row, Column.STATE).data())


def show_tab(window: MainWindow, panel: QWidget) -> None:
    window.tabs.setCurrentIndex(window.tabs.indexOf(window.tabs.scroll_of(panel)))


def new_socket(qtbot: Any, window: MainWindow) -> int:
    before = set(window.session.ids())
    action(window, "newSocketAction").trigger()
    qtbot.waitUntil(lambda: bool(set(window.session.ids()) - before), timeout=WAIT_MS)
    (sid,) = set(window.session.ids()) - before
    qtbot.waitUntil(lambda: window.current_socket() == sid, timeout=WAIT_MS)
    return sid


def type_into(qtbot: Any, widget: Any, text: str) -> None:
    if isinstance(widget, QComboBox):
        widget = widget.lineEdit()
    widget.setFocus()
    if isinstance(widget, QPlainTextEdit):
        widget.clear()
    else:
        widget.selectAll()
        qtbot.keyClick(widget, Qt.Key.Key_Backspace)
    qtbot.keyClicks(widget, text)


def click(qtbot: Any, button: QPushButton) -> None:
    assert button.isEnabled(), f"{button.objectName()} is disabled"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def connect_calls(window: MainWindow, sid: int) -> list[str]:
    return [e.text for e in window.call_log.entries()
            if e.text.startswith(f"chrome.sockets.tcp.connect({sid},")]


def connect_to(qtbot: Any, window: MainWindow, sid: int, port: int) -> None:
    show_tab(window, window.connect_panel)
    type_into(qtbot, child(window, "connectAddress", QComboBox), "127.0.0.1")
    type_into(qtbot, child(window, "connectPort", QLineEdit), str(port))
    before = len(connect_calls(window, sid))
    click(qtbot, child(window, "connectButton", QPushButton))
    qtbot.waitUntil(lambda: len(connect_calls(window, sid)) > before, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: not record_state(window.session.ui(sid)).busy, timeout=WAIT_MS)


def send(qtbot: Any, window: MainWindow, mode: str, text: str, ending: str = "None") -> None:
    combo = child(window, "sendMode", QComboBox)
    combo.setCurrentIndex(combo.findText(mode))
    endings = child(window, "sendLineEnding", QComboBox)
    endings.setCurrentIndex(endings.findText(ending))
    type_into(qtbot, child(window, "sendInput", QPlainTextEdit), text)
    qtbot.waitUntil(child(window, "sendButton", QPushButton).isEnabled, timeout=WAIT_MS)
    click(qtbot, child(window, "sendButton", QPushButton))


def view_lines(qtbot: Any, window: MainWindow, mode: str) -> list[str]:
    combo = child(window, "viewMode", QComboBox)
    combo.setCurrentIndex(combo.findText(mode))
    view = child(window, "dataView")
    return list(view.visible_lines())


def call_log_lines(window: MainWindow) -> list[str]:
    return child(window, "callLog").lines()


# --------------------------------------------------------------------------------- tests


def test_empty_window_has_every_stable_name(workbench_window: MainWindow) -> None:
    window = workbench_window
    assert window.windowTitle() == "Socket Workbench"
    assert window.session.ids() == []
    for name in STABLE_NAMES:
        found = window.findChild(QObject, name)
        assert found is not None, name
        assert found.toolTip(), f"{name} has no tooltip"
        if isinstance(found, QWidget):
            assert found.accessibleName(), f"{name} has no accessible name"
    send_mode = child(window, "sendMode", QComboBox)
    assert [send_mode.itemText(i) for i in range(send_mode.count())] == ["Text", "Hex",
                                                                        "Escaped"]
    view_mode = child(window, "viewMode", QComboBox)
    assert [view_mode.itemText(i) for i in range(view_mode.count())] == ["Hex", "Text"]
    shortcuts = {a.objectName(): a.shortcut().toString() for a in window.findChildren(QAction)}
    assert shortcuts["newSocketAction"] == "Ctrl+N"
    assert shortcuts["closeSocketAction"] == "Del"
    for a in window.findChildren(QAction):
        if a.objectName() and not a.objectName().startswith("_q") and not a.isSeparator():
            assert a.toolTip(), f"action {a.objectName()} has no tooltip"


def test_every_visible_control_is_described(workbench_window: MainWindow) -> None:
    from PySide6.QtWidgets import QAbstractButton, QAbstractSpinBox

    missing = []
    for kind in (QAbstractButton, QLineEdit, QComboBox, QAbstractSpinBox, QPlainTextEdit):
        for widget in workbench_window.findChildren(kind):
            if not widget.objectName() or widget.objectName().startswith("qt_"):
                continue
            if not (widget.accessibleName() or widget.toolTip()):
                missing.append(widget.objectName())
    assert missing == []


def test_usable_at_1024_by_700(qtbot: Any, workbench_window: MainWindow) -> None:
    window = workbench_window
    window.resize(1024, 700)
    qtbot.waitUntil(lambda: window.width() == 1024 and window.height() == 700, timeout=WAIT_MS)
    for name in ("socketTable", "dataView", "sendInput", "callLog", "connectButton"):
        widget = child(window, name, QWidget)
        assert widget.isVisible(), name
        assert widget.width() >= 80 and widget.height() >= 20, (name, widget.size())


@pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")
def test_the_whole_flow(
    qtbot: Any, workbench_window: MainWindow, echo_server: ThreadedServer,
    tls_echo_server: ThreadedServer, pki: Pki,
) -> None:
    """create → connect → send text and hex → echo in both modes → pause → secure → disconnect
    → close."""
    window = workbench_window
    session = window.session
    sid = new_socket(qtbot, window)
    assert row_state(window, sid) == "Created"

    connect_to(qtbot, window, sid, echo_server.port)
    assert session.result(sid, "connect") == 0
    qtbot.waitUntil(lambda: row_state(window, sid) == "Connected", timeout=WAIT_MS)
    assert child(window, "connectResult", QLabel).text().startswith("OK")

    store = session.captures(sid)
    send(qtbot, window, "Text", "hello")
    qtbot.waitUntil(lambda: store.bytes_in == 5, timeout=WAIT_MS)
    send(qtbot, window, "Hex", "77 6f 72 6c 64")
    qtbot.waitUntil(lambda: store.bytes_in == 10, timeout=WAIT_MS)
    assert store.bytes_out == 10
    assert session.counters(sid) == (10, 10)

    qtbot.waitUntil(lambda: any("68 65 6c 6c 6f" in line
                                for line in view_lines(qtbot, window, "Hex")), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: any("77 6f 72 6c 64" in line
                                for line in view_lines(qtbot, window, "Hex")), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: any("hello" in line for line in view_lines(qtbot, window, "Text"))
                    and any("world" in line for line in view_lines(qtbot, window, "Text")),
                    timeout=WAIT_MS)
    sends = [line for line in call_log_lines(window) if ".send(" in line]
    assert sends == [
        f'chrome.sockets.tcp.send({sid}, <5 bytes>) → {{"resultCode":0,"bytesSent":5}}'
    ] * 2

    # Pause: the echo is held until Resume.
    show_tab(window, window.tcp_panel)
    pause = child(window, "pauseButton", QPushButton)
    click(qtbot, pause)
    qtbot.waitUntil(lambda: session.info(sid).paused, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: row_state(window, sid) == "Paused", timeout=WAIT_MS)
    send(qtbot, window, "Escaped", r"held\r\n")
    qtbot.waitUntil(lambda: session.counters(sid)[1] == 16, timeout=WAIT_MS)
    assert store.bytes_in == 10
    show_tab(window, window.tcp_panel)
    click(qtbot, pause)
    qtbot.waitUntil(lambda: store.bytes_in == 16, timeout=WAIT_MS)
    assert store.read(26, 6) == b"held\r\n"

    # Secure: the same socket, reconnected to a TLS server, upgraded with the test CA.
    click(qtbot, child(window, "disconnectButton", QPushButton))
    qtbot.waitUntil(lambda: row_state(window, sid) == "Disconnected", timeout=WAIT_MS)
    connect_to(qtbot, window, sid, tls_echo_server.port)
    assert session.result(sid, "connect") == 0
    assert not session.info(sid).paused  # U6: reconnecting resumes
    show_tab(window, window.tls_panel)
    assert child(window, "tlsVerify", QCheckBox).isChecked()
    type_into(qtbot, child(window, "tlsCaFile", QLineEdit), str(pki.ca_file))
    click(qtbot, child(window, "secureButton", QPushButton))
    qtbot.waitUntil(lambda: session.result(sid, "secure") is not None, timeout=WAIT_MS)
    assert session.result(sid, "secure") == 0
    info = session.info(sid)
    assert info.tls is not None and info.tls.verified
    qtbot.waitUntil(lambda: row_state(window, sid).startswith("TLS 1."), timeout=WAIT_MS)
    tls_cell = window.model.index(window.model.row_of(sid), Column.TLS).data()
    assert info.tls.cipher in tls_cell
    before = store.bytes_in
    send(qtbot, window, "Text", "over tls")
    qtbot.waitUntil(lambda: store.bytes_in == before + 8, timeout=WAIT_MS)
    assert store.read(store.total_bytes - 8, 8) == b"over tls"

    # Disconnect, then close with Delete on the table: it has captured data, so a non-modal
    # box asks first; Close closes it.
    show_tab(window, window.connect_panel)
    click(qtbot, child(window, "disconnectButton", QPushButton))
    qtbot.waitUntil(lambda: row_state(window, sid) == "Disconnected", timeout=WAIT_MS)
    window.table.setFocus()
    window.select_socket(sid)
    qtbot.keyClick(window.table, Qt.Key.Key_Delete)
    box = window.close_confirmation.box
    assert box is not None and box.isVisible() and sid in window.session.ids()
    box.button(QMessageBox.StandardButton.Close).click()
    qtbot.waitUntil(lambda: window.session.ids() == [], timeout=WAIT_MS)
    assert window.model.rowCount() == 0
    assert window.current_socket() is None
    assert QApplication.activeModalWidget() is None
    # The row goes as the core closes the socket; the log line follows the call's return.
    qtbot.waitUntil(
        lambda: call_log_lines(window)[-1] == f"chrome.sockets.tcp.close({sid}) → undefined",
        timeout=WAIT_MS,
    )


def test_refused_connect_shows_102_in_the_log_and_on_the_row(
    qtbot: Any, workbench_window: MainWindow, refused_port: int
) -> None:
    window = workbench_window
    sid = new_socket(qtbot, window)
    connect_to(qtbot, window, sid, refused_port)
    assert window.session.result(sid, "connect") == -102
    qtbot.waitUntil(lambda: row_state(window, sid) == "Error: CONNECTION_REFUSED",
                    timeout=WAIT_MS)
    assert (f'chrome.sockets.tcp.connect({sid}, "127.0.0.1", {refused_port}) → -102 '
            "(net::ERR_CONNECTION_REFUSED)") in call_log_lines(window)
    result = child(window, "connectResult", QLabel).text()
    assert "-102" in result and "CONNECTION_REFUSED" in result


def test_a_peer_that_closes_is_closed_by_peer_on_the_row_and_the_connect_tab(
    qtbot: Any, workbench_window: MainWindow
) -> None:
    window = workbench_window
    with ControlledServer(greeting=b"bye", after_greeting="fin") as server:
        sid = new_socket(qtbot, window)
        connect_to(qtbot, window, sid, server.port)
        qtbot.waitUntil(lambda: row_state(window, sid) == "Closed by peer", timeout=WAIT_MS)
    result = child(window, "connectResult", QLabel)
    qtbot.waitUntil(
        lambda: result.text() == "-100 CONNECTION_CLOSED: the peer closed the connection",
        timeout=WAIT_MS,
    )
    # The user's own Disconnect still reads "Disconnected".
    with ControlledServer() as server:
        connect_to(qtbot, window, sid, server.port)
        qtbot.waitUntil(lambda: result.text() == "OK", timeout=WAIT_MS)
        click(qtbot, child(window, "disconnectButton", QPushButton))
        qtbot.waitUntil(lambda: row_state(window, sid) == "Disconnected", timeout=WAIT_MS)
    qtbot.waitUntil(lambda: result.text() == "", timeout=WAIT_MS)  # panels refresh at 40 Hz


def test_invalid_hex_is_refused_and_nothing_is_sent(
    qtbot: Any, workbench_window: MainWindow, echo_server: ThreadedServer
) -> None:
    window = workbench_window
    sid = new_socket(qtbot, window)
    connect_to(qtbot, window, sid, echo_server.port)
    combo = child(window, "sendMode", QComboBox)
    combo.setCurrentIndex(combo.findText("Hex"))
    type_into(qtbot, child(window, "sendInput", QPlainTextEdit), "68 6g")
    button = child(window, "sendButton", QPushButton)
    qtbot.waitUntil(lambda: not button.isEnabled(), timeout=WAIT_MS)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    inp = child(window, "sendInput", QPlainTextEdit)
    inp.setFocus()
    qtbot.keyClick(inp, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert child(window, "sendError", QLabel).text()
    assert window.session.counters(sid) == (0, 0)
    assert window.session.captures(sid).bytes_out == 0
    assert not [line for line in call_log_lines(window) if ".send(" in line]


def test_multi_selection_pauses_disconnects_and_closes(
    qtbot: Any, workbench_window: MainWindow, echo_server: ThreadedServer
) -> None:
    window = workbench_window
    sids = [new_socket(qtbot, window) for _ in range(3)]
    for sid in sids:
        window.select_socket(sid)
        connect_to(qtbot, window, sid, echo_server.port)
        assert window.session.result(sid, "connect") == 0
    window.table.selectAll()
    assert window.selected_sockets() == sids
    action(window, "pauseAction").trigger()
    qtbot.waitUntil(lambda: all(window.session.info(s).paused for s in sids), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: action(window, "pauseAction").text() == "&Resume",
                    timeout=WAIT_MS)
    action(window, "pauseAction").trigger()
    qtbot.waitUntil(lambda: not any(window.session.info(s).paused for s in sids),
                    timeout=WAIT_MS)
    action(window, "disconnectAction").trigger()
    qtbot.waitUntil(lambda: not any(window.session.info(s).connected for s in sids),
                    timeout=WAIT_MS)
    window.table.selectAll()
    action(window, "closeSocketAction").trigger()
    qtbot.waitUntil(lambda: window.session.ids() == [], timeout=WAIT_MS)


def test_copy_actions_use_the_clipboard(
    qtbot: Any, workbench_window: MainWindow, echo_server: ThreadedServer
) -> None:
    window = workbench_window
    sid = new_socket(qtbot, window)
    connect_to(qtbot, window, sid, echo_server.port)
    send(qtbot, window, "Text", "hi")
    qtbot.waitUntil(lambda: window.session.captures(sid).bytes_in == 2, timeout=WAIT_MS)
    clipboard = QApplication.clipboard()
    action(window, "copyAsHexAction").trigger()
    assert clipboard.text() == "68 69 68 69"
    action(window, "copyAsTextAction").trigger()
    assert clipboard.text() == "hihi"


def clear_data_answered(window: MainWindow, *, go: bool = True) -> None:
    """Edit → Clear data, and the answer to its question (the capture holds data)."""
    action(window, "clearDataAction").trigger()
    box = window.close_confirmation.box
    assert box is not None and box.isVisible()
    if go:
        button = window.close_confirmation.accept_button()
        assert button is not None and button.text().replace("&", "") == "Clear"
    else:
        button = box.button(QMessageBox.StandardButton.Cancel)
    button.click()
    assert window.close_confirmation.box is None


@pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")
def test_clear_data_asks_then_empties_the_view(
    qtbot: Any, workbench_window: MainWindow, echo_server: ThreadedServer
) -> None:
    window = workbench_window
    sid = new_socket(qtbot, window)
    connect_to(qtbot, window, sid, echo_server.port)
    send(qtbot, window, "Text", "gone soon")
    qtbot.waitUntil(lambda: window.session.captures(sid).bytes_in == 9, timeout=WAIT_MS)
    action(window, "clearDataAction").trigger()
    box = window.close_confirmation.box
    assert box is not None and box.isVisible()
    assert box.text() == f"Clear the 18 bytes captured on socket {sid}? There is no undo."
    box.button(QMessageBox.StandardButton.Cancel).click()
    assert window.session.captures(sid).total_bytes == 18
    clear_data_answered(window)
    assert window.session.captures(sid).total_bytes == 0
    # An empty capture has nothing to lose: cleared without a question.
    action(window, "clearDataAction").trigger()
    assert window.close_confirmation.box is None
    # "Don't ask again" (the setting Close socket and Quit share) stops the question.
    send(qtbot, window, "Text", "again")
    qtbot.waitUntil(lambda: window.session.captures(sid).bytes_in == 5, timeout=WAIT_MS)
    window.settings.confirm_close = False
    action(window, "clearDataAction").trigger()
    assert window.close_confirmation.box is None
    assert window.session.captures(sid).total_bytes == 0
    assert window.data_view.store() is window.session.captures(sid)


def test_about_is_non_modal_and_names_the_versions(
    qtbot: Any, workbench_window: MainWindow
) -> None:
    window = workbench_window
    action(window, "aboutAction").trigger()
    box = child(window, "aboutBox")
    qtbot.waitUntil(box.isVisible, timeout=WAIT_MS)
    text = window.about_text()
    for word in ("Qt", "PySide6", "Python", "OpenSSL", "MIT"):
        assert word in text
    # The window keeps working while it is open.
    new_socket(qtbot, window)
    box.close()


def test_a_failing_task_is_shown_and_the_window_keeps_working(
    qtbot: Any, workbench_window: MainWindow, caplog: pytest.LogCaptureFixture
) -> None:
    window = workbench_window

    async def broken() -> None:
        await asyncio.sleep(0)
        raise ValueError("deliberate")

    with qtbot.waitSignal(window.error_banner.reported, timeout=WAIT_MS):
        window.runner.start(broken(), name="a broken slot")
    banner = child(window, "errorBanner", QWidget)
    assert banner.isVisible()
    assert "deliberate" in child(window, "errorBannerText", QLabel).text()
    assert QApplication.activeModalWidget() is None
    assert any("deliberate" in r.getMessage() or (r.exc_info and "deliberate" in
               str(r.exc_info[1])) for r in caplog.records)
    new_socket(qtbot, window)
    click(qtbot, child(window, "errorBannerDismiss", QPushButton))
    assert not banner.isVisible()


def test_persistent_socket_is_restored_after_a_restart(
    qtbot: Any, make_window: Callable[..., Any], tmp_path: Path, echo_server: ThreadedServer
) -> None:
    settings_dir = tmp_path / "cfg"
    window = make_window(restore_session=True, settings_dir=settings_dir)
    sid = new_socket(qtbot, window)
    show_tab(window, window.properties_panel)
    type_into(qtbot, child(window, "propertiesName", QLineEdit), "keeper")
    child(window, "propertiesPersistent", QCheckBox).setChecked(True)
    click(qtbot, child(window, "propertiesApply", QPushButton))
    qtbot.waitUntil(lambda: window.session.info(sid).persistent
                    and window.session.info(sid).name == "keeper", timeout=WAIT_MS)
    connect_to(qtbot, window, sid, echo_server.port)
    other = new_socket(qtbot, window)  # not persistent: not restored
    assert other != sid
    close_window(qtbot, window)
    saved = json.loads((settings_dir / "settings.json").read_text(encoding="utf-8"))
    assert [s["name"] for s in saved["sockets"]] == ["keeper"]

    window = make_window(restore_session=True, settings_dir=settings_dir)
    try:
        qtbot.waitUntil(lambda: window.setup_task is not None and window.setup_task.done(),
                        timeout=WAIT_MS)
        assert window.setup_task.exception() is None
        (restored,) = window.session.ids()
        info = window.session.info(restored)
        assert info.name == "keeper" and info.persistent
        assert info.connected and info.peer_port == echo_server.port
        window.select_socket(restored)
        assert child(window, "connectAddress", QComboBox).currentText() == "127.0.0.1"
        assert child(window, "connectPort", QLineEdit).text() == str(echo_server.port)
        assert not info.paused
    finally:
        close_window(qtbot, window)


def test_bad_persistent_sockets_are_named_skipped_and_kept_in_the_file(
    qtbot: Any, make_window: Callable[..., Any], tmp_path: Path, echo_server: ThreadedServer
) -> None:
    """Issue 8, item 3, through the window: the sockets around the bad entries come back,
    the banner names each bad entry, and the next save writes them back as they were."""
    settings_dir = tmp_path / "cfg"
    settings_dir.mkdir()
    bad = bad_entries(echo_server.port)
    good = [{"name": n, "host": "127.0.0.1", "port": echo_server.port} for n in ("a", "b")]
    (settings_dir / "settings.json").write_text(
        json.dumps({"first_start_done": True, "sockets": [good[0], *bad, good[1]]}),
        encoding="utf-8")
    window = make_window(restore_session=True, settings_dir=settings_dir)
    try:
        qtbot.waitUntil(lambda: window.setup_task is not None and window.setup_task.done(),
                        timeout=WAIT_MS)
        assert window.setup_task.exception() is None
        infos = [window.session.info(sid) for sid in window.session.ids()]
        assert [(i.name, i.connected) for i in infos] == [("a", True), ("b", True)]
        # The banner's first 300 characters, the whole text in its tooltip and Details.
        banner = child(window, "errorBannerText", QLabel)
        assert banner.isVisible()
        assert banner.text().startswith("The persistent socket 'bad keep-alive' (127.0.0.1:")
        for entry, (_, problem) in zip(bad, BAD_ENTRIES, strict=True):
            assert_named(banner.toolTip(), entry, problem)
    finally:
        close_window(qtbot, window)
    saved = json.loads((settings_dir / "settings.json").read_text(encoding="utf-8"))
    assert [s["name"] for s in saved["sockets"][:2]] == ["a", "b"]
    assert saved["sockets"][2:] == bad


def test_entries_the_restore_skips_are_shown_and_kept_too(
    qtbot: Any, make_window: Callable[..., Any], tmp_path: Path, echo_server: ThreadedServer
) -> None:
    """Entries that reach the restore (not set aside at load) and are refused there: named in
    the banner, and written back as they were read."""
    from workbench.session.settings import PersistedSocket

    window = make_window(restore_session=True, settings_dir=tmp_path)
    assert window.setup_task is None  # nothing saved yet: nothing to set up
    bad = bad_entries(echo_server.port)
    good = {"name": "good", "host": "127.0.0.1", "port": echo_server.port}
    saved = [PersistedSocket.from_json(entry) for entry in [*bad, good]]
    task = window.runner.start(window.restore_sockets(saved), name="restore")
    qtbot.waitUntil(task.done, timeout=WAIT_MS)
    (sid,) = task.result()
    assert window.session.ids() == [sid] and window.session.info(sid).name == "good"
    reported = [message for message, _ in window.error_banner.messages]
    assert len(reported) == len(bad)
    for message, entry, (_, problem) in zip(reported, bad, BAD_ENTRIES, strict=True):
        assert_named(message, entry, problem)
    close_window(qtbot, window)
    written = json.loads((tmp_path / "settings.json").read_text(encoding="utf-8"))["sockets"]
    assert [entry["name"] for entry in written[:1]] == ["good"]
    assert written[1:] == bad


def test_corrupt_settings_give_defaults_and_a_message(
    qtbot: Any, make_window: Callable[..., Any], tmp_path: Path
) -> None:
    (tmp_path / "settings.json").write_text("{{{{", encoding="utf-8")
    window = make_window(restore_session=True, settings_dir=tmp_path)
    try:
        assert child(window, "errorBanner", QWidget).isVisible()
        assert "damaged" in child(window, "errorBannerText", QLabel).text()
        new_socket(qtbot, window)
    finally:
        close_window(qtbot, window)
    assert json.loads((tmp_path / "settings.json").read_text(encoding="utf-8"))["format"] == 1


def _rss_bytes() -> int:
    with open("/proc/self/statm", encoding="ascii") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_a_100_mib_flood_leaves_the_window_responsive(
    qtbot: Any, workbench_window: MainWindow
) -> None:
    total = 100 * 2**20
    block = bytes(range(256)) * 4096  # 1 MiB
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    errors: list[BaseException] = []

    def flood() -> None:
        try:
            conn, _ = listener.accept()
            with conn:
                for _ in range(total // len(block)):
                    conn.sendall(block)
        except OSError as exc:  # the test failed and closed the socket
            errors.append(exc)

    sender = threading.Thread(target=flood, name="flood", daemon=True)
    sender.start()
    window = workbench_window
    try:
        sid = new_socket(qtbot, window)
        combo = child(window, "viewMode", QComboBox)
        combo.setCurrentIndex(combo.findText("Hex"))
        rss_before = _rss_bytes()
        beats: list[int] = []
        heartbeat = QTimer()
        heartbeat.setInterval(20)
        heartbeat.timeout.connect(lambda: beats.append(window.session.counters(sid)[0]))
        heartbeat.start()
        connect_to(qtbot, window, sid, port)
        assert window.session.result(sid, "connect") == 0
        store = window.session.captures(sid)
        qtbot.waitUntil(lambda: store.bytes_in == total, timeout=100_000)
        heartbeat.stop()
        sender.join(timeout=10)
        assert errors == []
        # The timer kept firing while the bytes arrived (the loop was never starved).
        during = [b for b in beats if 0 < b < total]
        assert len(during) >= 3, f"only {len(during)} timer ticks during the flood"
        assert window.model.rowCount() == 1
        assert window.session.counters(sid)[0] == total
        assert store.record_count < 10_000
        assert store.read(total - 256, 256) == bytes(range(256))
        grown = _rss_bytes() - rss_before
        assert grown < 60 * 2**20, f"memory grew by {grown / 2**20:.0f} MiB"
        qtbot.waitUntil(lambda: bool(window.data_view.visible_lines()), timeout=WAIT_MS)
    finally:
        listener.close()


# ------------------------------------------------------------ build_main_window's options


def test_default_window_is_empty_and_touches_no_settings(
    qtbot: Any, make_window: Callable[..., Any], _private_config_dir: Path
) -> None:
    window = make_window()
    assert window.session.ids() == []
    assert window.setup_task is None
    assert window.server_manager is None
    assert window.findChild(QDockWidget, "serversDock") is None
    close_window(qtbot, window)
    assert not _private_config_dir.exists()


def test_servers_and_first_start_give_a_socket_that_works_at_once(
    qtbot: Any, make_window: Callable[..., Any], tmp_path: Path
) -> None:
    window = make_window(servers=True, first_start=True, settings_dir=tmp_path)
    qtbot.waitUntil(lambda: window.setup_task.done(), timeout=WAIT_MS)
    assert window.setup_task.exception() is None
    echo = window.server_manager.find("echo")
    assert echo is not None and echo.running
    assert window.findChild(QDockWidget, "serversDock") is not None
    (sid,) = window.session.ids()
    assert window.current_socket() == sid
    assert window.session.ui(sid).intent.peer == ("127.0.0.1", echo.port, "any")
    assert window.findChild(QComboBox, "connectAddress").currentText() == "127.0.0.1"
    assert window.findChild(QLineEdit, "connectPort").text() == str(echo.port)
    # Connect → Send works at once.
    window.findChild(QPushButton, "connectButton").click()
    qtbot.waitUntil(lambda: window.session.state_text(sid) == "Connected", timeout=WAIT_MS)
    window.findChild(QPlainTextEdit, "sendInput").setPlainText("ping")
    button = window.findChild(QPushButton, "sendButton")
    qtbot.waitUntil(button.isEnabled, timeout=WAIT_MS)
    button.click()
    qtbot.waitUntil(lambda: window.session.captures(sid).bytes_in == 4, timeout=WAIT_MS)
    close_window(qtbot, window)
    assert not echo.running
    assert (tmp_path / "settings.json").exists()


def test_first_start_happens_once(
    qtbot: Any, make_window: Callable[..., Any], tmp_path: Path
) -> None:
    first = make_window(servers=True, first_start=True, restore_session=True,
                        settings_dir=tmp_path)
    qtbot.waitUntil(lambda: first.setup_task.done(), timeout=WAIT_MS)
    assert len(first.session.ids()) == 1
    close_window(qtbot, first)
    again = make_window(servers=True, first_start=True, restore_session=True,
                        settings_dir=tmp_path)
    qtbot.waitUntil(lambda: again.setup_task.done(), timeout=WAIT_MS)
    # Nothing persistent was restored, so the echo socket is offered again.
    assert len(again.session.ids()) == 1


@pytest.mark.qt_no_exception_capture
def test_an_exception_in_a_slot_is_shown_and_the_window_lives_on(
    qtbot: Any, workbench_window: Any, qloop: Any
) -> None:
    window = workbench_window
    hook_before, handler_before = sys.excepthook, qloop.get_exception_handler()
    undo = install_hooks(window.report_error, qloop)
    try:
        def broken_slot() -> None:
            raise ZeroDivisionError("in a slot")

        with qtbot.waitSignal(window.error_banner.reported, timeout=WAIT_MS):
            QTimer.singleShot(0, broken_slot)
        assert "ZeroDivisionError: in a slot" in window.findChild(
            QLabel, "errorBannerText").text()
        with qtbot.waitSignal(window.error_banner.reported, timeout=WAIT_MS):
            qloop.call_soon(lambda: 1 / 0)
        assert len(window.error_banner.messages) == 2
        task = window.new_socket()
        qtbot.waitUntil(task.done, timeout=WAIT_MS)
        assert window.session.ids() != []
    finally:
        undo()
    assert sys.excepthook is hook_before
    assert qloop.get_exception_handler() is handler_before


def test_toolbar_connect_and_context_menu(
    qtbot: Any, workbench_window: MainWindow, echo_server: ThreadedServer
) -> None:
    window = workbench_window
    sid = new_socket(qtbot, window)
    type_into(qtbot, child(window, "connectAddress", QComboBox), "127.0.0.1")
    type_into(qtbot, child(window, "connectPort", QLineEdit), str(echo_server.port))
    window.tabs.setCurrentIndex(window.tabs.indexOf(window.tabs.scroll_of(window.tcp_panel)))
    action(window, "connectAction").trigger()
    qtbot.waitUntil(lambda: window.session.state_text(sid) == "Connected", timeout=WAIT_MS)
    # The toolbar acts without moving the tabs under the mouse.
    assert window.tabs.currentWidget() is window.tabs.scroll_of(window.tcp_panel)
    qtbot.waitUntil(lambda: not action(window, "connectAction").isEnabled(), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: action(window, "secureAction").isEnabled(), timeout=WAIT_MS)
    menu = window.table_menu()  # popup() itself needs a real display (offscreen warns)
    assert window.table.contextMenuPolicy() == Qt.ContextMenuPolicy.CustomContextMenu
    names = {a.objectName() for a in menu.actions()}
    assert {"connectAction", "secureAction", "pauseAction", "disconnectAction",
            "closeSocketAction", "copyAsHexAction"} <= names
    menu.deleteLater()


def test_save_data_writes_raw_bytes_without_a_modal_dialog(
    qtbot: Any, workbench_window: MainWindow, echo_server: ThreadedServer, tmp_path: Path
) -> None:
    window = workbench_window
    sid = new_socket(qtbot, window)
    connect_to(qtbot, window, sid, echo_server.port)
    send(qtbot, window, "Hex", "00 01 02 ff")
    qtbot.waitUntil(lambda: window.session.captures(sid).bytes_in == 4, timeout=WAIT_MS)
    dialog = window.save_data()
    assert dialog is not None and dialog.isVisible()
    assert QApplication.activeModalWidget() in (None, dialog)  # window-modal at most
    target = tmp_path / "capture.bin"
    with qtbot.waitSignal(window.data_view.saveFinished, timeout=WAIT_MS) as done:
        dialog.selectFile(str(target))
        dialog.accept()
    assert done.args == [str(target), ""]
    assert target.read_bytes() == bytes.fromhex("000102ff000102ff")


def test_recent_peers_theme_and_view_preferences_persist(
    qtbot: Any, make_window: Callable[..., Any], tmp_path: Path, echo_server: ThreadedServer
) -> None:
    window = make_window(restore_session=True, settings_dir=tmp_path)
    sid = new_socket(qtbot, window)
    connect_to(qtbot, window, sid, echo_server.port)
    child(window, "viewMode", QComboBox).setCurrentText("Text")
    child(window, "sendLineEnding", QComboBox).setCurrentText("CRLF")
    action(window, "themeDarkAction").trigger()
    try:
        close_window(qtbot, window)
        window = make_window(restore_session=True, settings_dir=tmp_path)
        peers = child(window, "connectAddress", QComboBox)
        assert peers.itemText(0) == f"127.0.0.1:{echo_server.port}"
        assert child(window, "viewMode", QComboBox).currentText() == "Text"
        assert child(window, "sendLineEnding", QComboBox).currentText() == "CRLF"
        assert window.settings.theme == "dark"
        assert action(window, "themeDarkAction").isChecked()
    finally:
        window.set_theme("system")


def test_verify_off_shows_in_the_state_column_which_fits_with_peer_and_received(
    qtbot: Any, workbench_window: MainWindow, tls_echo_server: ThreadedServer,
) -> None:
    window = workbench_window
    session = window.session
    sid = new_socket(qtbot, window)
    connect_to(qtbot, window, sid, tls_echo_server.port)
    show_tab(window, window.tls_panel)
    verify = child(window, "tlsVerify", QCheckBox)
    verify.setChecked(False)
    # Unticked on a plain socket, the form warns and the row does not: TLS is not on yet.
    assert child(window, "tlsVerifyWarning", QLabel).isVisibleTo(window.tls_panel)
    session.flush()
    assert row_state(window, sid) == "Connected"
    click(qtbot, child(window, "secureButton", QPushButton))
    qtbot.waitUntil(lambda: session.result(sid, "secure") == 0, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: row_state(window, sid).endswith(" (unverified)"), timeout=WAIT_MS)
    assert row_state(window, sid).startswith("TLS 1.")
    index = window.model.index(window.model.row_of(sid), Column.STATE)
    assert index.data(Qt.ItemDataRole.DecorationRole) is not None  # the ⚠ icon
    assert index.data(Qt.ItemDataRole.ForegroundRole).color().name() == "#c85a00"  # amber
    assert "verification is OFF" in index.data(Qt.ItemDataRole.ToolTipRole)

    # At the default 1280 wide: State, TLS, Peer and Received are all on screen, in order.
    header = window.table.horizontalHeader()
    qtbot.waitUntil(lambda: window.table.viewport().width() > 300, timeout=WAIT_MS)
    visual = [header.logicalIndex(i) for i in range(5)]
    assert visual[2:5] == [Column.STATE, Column.TLS, Column.PEER]
    for column in (Column.STATE, Column.TLS, Column.PEER, Column.RECEIVED):
        right = header.sectionViewportPosition(column) + header.sectionSize(column)
        assert right <= window.table.viewport().width(), column.name
    # "TLS 1.3 (unverified)", in bold, after its ⚠ icon, is not elided.
    text_width = QFontMetrics(index.data(Qt.ItemDataRole.FontRole)).horizontalAdvance(
        row_state(window, sid))
    assert header.sectionSize(Column.STATE) >= text_width + 16 + 8


def test_persistent_sockets_to_builtin_servers_follow_their_new_ports(
    qtbot: Any, make_window: Callable[..., Any], tmp_path: Path, refused_port: int
) -> None:
    from workbench.sockets import SocketProperties

    settings_dir = tmp_path / "cfg"
    window = make_window(servers=True, restore_session=True, settings_dir=settings_dir)
    qtbot.waitUntil(lambda: window.setup_task.done(), timeout=WAIT_MS)
    manager = window.server_manager
    echo = manager.find("echo")

    def persistent_socket_to(name: str, port: int) -> int:
        task = window.runner.start(
            window.sockets.create(SocketProperties(name=name, persistent=True)), name="t")
        qtbot.waitUntil(task.done, timeout=WAIT_MS)
        sid = task.result().socket_id
        task = window.runner.start(window.sockets.connect(sid, "127.0.0.1", port), name="t")
        qtbot.waitUntil(task.done, timeout=WAIT_MS)
        assert task.result() == 0
        return int(sid)

    persistent_socket_to("to-echo", echo.port)
    task = window.runner.start(manager.start(_spec("discard")), name="t")
    qtbot.waitUntil(task.done, timeout=WAIT_MS)
    persistent_socket_to("to-discard", task.result().port)
    close_window(qtbot, window)
    path = settings_dir / "settings.json"
    saved = json.loads(path.read_text(encoding="utf-8"))
    assert [(s["name"], s["server"]) for s in saved["sockets"]] == [
        ("to-echo", "echo"), ("to-discard", "discard")]
    # The old ports are gone (and could be anyone's now): make sure they are not reused.
    for entry in saved["sockets"]:
        entry["port"] = refused_port
    path.write_text(json.dumps(saved), encoding="utf-8")

    window = make_window(servers=True, restore_session=True, settings_dir=settings_dir)
    try:
        qtbot.waitUntil(lambda: window.setup_task.done(), timeout=WAIT_MS)
        assert window.setup_task.exception() is None
        manager = window.server_manager
        ports = {s.kind.value: s.port for s in manager.servers if s.running}
        assert set(ports) == {"echo", "discard"}  # discard was started for its socket
        infos = [window.session.info(sid) for sid in window.session.ids()]
        assert [(i.name, i.connected, i.peer_port) for i in infos] == [
            ("to-echo", True, ports["echo"]), ("to-discard", True, ports["discard"])]
    finally:
        close_window(qtbot, window)


def _spec(kind: str) -> Any:
    from workbench.net.servers import ServerKind, ServerSpec

    return ServerSpec(ServerKind(kind))


@pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")
def test_capture_limit_keeps_counting_shows_a_note_and_clear_data_resets_it(
    qtbot: Any, make_window: Callable[..., Any], tmp_path: Path, echo_server: ThreadedServer
) -> None:
    (tmp_path / "settings.json").write_text(json.dumps({"capture_limit": 1024}),
                                            encoding="utf-8")
    window = make_window(settings_dir=tmp_path)
    assert window.session.capture_limit == 1024
    session = window.session
    note = child(window, "dataNote", QLabel)
    sid = new_socket(qtbot, window)
    connect_to(qtbot, window, sid, echo_server.port)
    send(qtbot, window, "Text", "x" * 600)
    qtbot.waitUntil(lambda: session.counters(sid) == (600, 600), timeout=WAIT_MS)
    send(qtbot, window, "Text", "y" * 600)
    qtbot.waitUntil(lambda: session.counters(sid) == (1200, 1200), timeout=WAIT_MS)
    store = session.captures(sid)
    assert store.total_bytes == 1024  # recorded up to the limit, then only counted
    assert store.read(0, 1024) == b"x" * 1024
    qtbot.waitUntil(note.isVisible, timeout=WAIT_MS)
    assert note.text().startswith("The capture stopped: the capture limit of 1.0 KiB was "
                                  "reached. Later bytes are counted, not kept")
    assert QApplication.activeModalWidget() is None

    # Another socket has its own capture: no note there; back again, the note is back.
    other = new_socket(qtbot, window)
    qtbot.waitUntil(lambda: not note.isVisible(), timeout=WAIT_MS)
    window.select_socket(sid)
    qtbot.waitUntil(note.isVisible, timeout=WAIT_MS)
    assert other != sid

    clear_data_answered(window)
    assert not note.isVisible()
    send(qtbot, window, "Text", "again")
    qtbot.waitUntil(lambda: session.captures(sid).bytes_in == 5, timeout=WAIT_MS)
    assert session.captures(sid).total_bytes == 10
    assert session.counters(sid) == (1205, 1205)


def test_status_counts_sockets_and_the_data_message_follows_the_selection(
    qtbot: Any, workbench_window: MainWindow, echo_server: ThreadedServer
) -> None:
    window = workbench_window
    status = child(window, "statusSockets", QLabel)
    message = child(window, "dataMessage", QLabel)
    first = new_socket(qtbot, window)
    qtbot.waitUntil(lambda: status.text() == "1 socket, 0 connected", timeout=WAIT_MS)
    connect_to(qtbot, window, first, echo_server.port)
    send(qtbot, window, "Text", "abc")
    qtbot.waitUntil(lambda: window.session.captures(first).bytes_in == 3, timeout=WAIT_MS)
    window.data_view.message.emit("Copy as hex: copied the first 16 MiB…")
    assert message.isVisible()

    second = new_socket(qtbot, window)
    qtbot.waitUntil(lambda: status.text() == "2 sockets, 1 connected", timeout=WAIT_MS)
    assert window.current_socket() == second
    assert not message.isVisible() and message.text() == ""
    window.select_socket(first)
    assert not message.isVisible()


def test_new_socket_is_ready_to_type_and_the_status_counts_bytes_in_words(
    qtbot: Any, workbench_window: MainWindow, echo_server: ThreadedServer
) -> None:
    window = workbench_window
    window.show()
    qtbot.waitExposed(window)
    sid = new_socket(qtbot, window)
    # New socket: its row selected, the Connect tab shown, the cursor in the address.
    assert window.tabs.currentWidget() is window.tabs.scroll_of(window.connect_panel)
    address = child(window, "connectAddress", QComboBox)
    qtbot.waitUntil(lambda: address.hasFocus() or (
        address.lineEdit() is not None and address.lineEdit().hasFocus()), timeout=WAIT_MS)
    connect_to(qtbot, window, sid, echo_server.port)
    send(qtbot, window, "Text", "x")
    qtbot.waitUntil(lambda: window.statusBar().currentMessage().startswith("Sent"),
                    timeout=WAIT_MS)
    assert window.statusBar().currentMessage() == f"Sent 1 byte on socket {sid}"


@pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")
def test_actions_act_only_on_what_is_highlighted(
    qtbot: Any, workbench_window: MainWindow, echo_server: ThreadedServer
) -> None:
    """A click below the rows leaves nothing highlighted: nothing is a target any more. After
    a close, the neighbour is not silently the next target. A capture is not lost unasked."""
    window = workbench_window
    first = new_socket(qtbot, window)
    second = new_socket(qtbot, window)
    third = new_socket(qtbot, window)
    window.select_socket(second)
    assert window.current_socket() == second
    window.table.clearSelection()  # what a click on the empty area below the rows does
    assert window.current_socket() is None
    assert not action(window, "closeSocketAction").isEnabled()
    window.close_selected()
    assert sorted(window.session.ids()) == [first, second, third]

    window.select_socket(second)
    window.close_selected()  # nothing captured: closed at once
    qtbot.waitUntil(lambda: second not in window.session.ids(), timeout=WAIT_MS)
    assert window.current_socket() is None and window.table.selectionModel().selectedRows() == []
    assert not action(window, "closeSocketAction").isEnabled()
    window.close_selected()
    assert sorted(window.session.ids()) == [first, third]

    # With captured data, closing asks; Cancel keeps it; "Don't ask again" and Close stop asking.
    window.select_socket(first)
    connect_to(qtbot, window, first, echo_server.port)
    send(qtbot, window, "Text", "keep me")
    qtbot.waitUntil(lambda: window.session.captures(first).bytes_in == 7, timeout=WAIT_MS)
    window.close_selected()
    box = window.close_confirmation.box
    assert box is not None and "captured data" in box.text()
    box.button(QMessageBox.StandardButton.Cancel).click()
    assert first in window.session.ids()
    window.close_selected()
    box = window.close_confirmation.box
    assert box is not None
    box.checkBox().setChecked(True)
    box.button(QMessageBox.StandardButton.Close).click()
    qtbot.waitUntil(lambda: first not in window.session.ids(), timeout=WAIT_MS)
    assert window.settings.confirm_close is False


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 256 KiB tmpfs for the captures, to fill up."""
    folder = tmp_path / "tiny"
    folder.mkdir()
    mount = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k,mode=0700", "tmpfs", str(folder)],
        capture_output=True, text=True, check=False,
    )
    if mount.returncode:
        pytest.skip(f"cannot mount a small tmpfs to fill (needs root): {mount.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=True)


def test_a_full_capture_disk_stops_the_capture_not_the_socket(
    qtbot: Any, make_window: Callable[..., Any], full_disk: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """1 MiB into captures on a 256 KiB disk: the counters stay true, the row and the data
    pane say the capture stopped and why, the log says it once, and sending goes on."""
    payload = bytes(range(256)) * 4096  # 1 MiB
    with ControlledServer(greeting=payload) as server, caplog.at_level(logging.WARNING):
        window = make_window(capture_dir=full_disk)
        session = window.session
        sid = new_socket(qtbot, window)
        connect_to(qtbot, window, sid, server.port)
        qtbot.waitUntil(lambda: session.counters(sid)[0] == len(payload), timeout=WAIT_MS)
        record = session.ui(sid)
        assert record is not None
        # The capture's writes run on the spool's writer thread: the failure comes back a
        # moment after the bytes were counted.
        qtbot.waitUntil(lambda: record.capture_stopped is not None, timeout=WAIT_MS)
        assert "No space left on device" in record.capture_stopped
        note = child(window, "dataNote", QLabel)
        qtbot.waitUntil(note.isVisible, timeout=WAIT_MS)
        assert "No space left on device" in note.text()
        index = window.model.index(window.model.row_of(sid), Column.RECEIVED)
        assert "No space left on device" in index.data(Qt.ItemDataRole.ToolTipRole)
        assert index.data(Qt.ItemDataRole.DecorationRole) is not None
        send(qtbot, window, "Text", "still here")
        qtbot.waitUntil(lambda: session.counters(sid)[1] == 10, timeout=WAIT_MS)
        peer = server.accepted.get(timeout=5)
        qtbot.waitUntil(lambda: peer.received.endswith(b"still here"), timeout=WAIT_MS)
    stopped = [r for r in caplog.records if "capture stopped" in r.getMessage()]
    assert len(stopped) == 1 and not any(r.exc_info for r in caplog.records)


def test_tab_leaves_the_table_and_ctrl_f_finds_from_anywhere(
    qtbot: Any, workbench_window: MainWindow
) -> None:
    window = workbench_window
    first = new_socket(qtbot, window)
    new_socket(qtbot, window)
    window.select_socket(first)
    window.table.setFocus()
    qtbot.waitUntil(window.table.hasFocus, timeout=WAIT_MS)
    qtbot.keyClick(window.table, Qt.Key.Key_Tab)
    assert not window.table.hasFocus()
    assert window.current_socket() == first  # Tab did not walk to the next row
    assert "&Find…" in [a.text() for a in window.menuBar().actions()[1].menu().actions()]
    window.connect_panel.setFocus()
    action(window, "findAction").trigger()
    find = child(window, "findInput", QLineEdit)
    qtbot.waitUntil(find.hasFocus, timeout=WAIT_MS)


def test_a_local_servers_new_socket_is_connected_and_tls_echo_secured(
    qtbot: Any, make_window: Callable[..., Any], tmp_path: Path
) -> None:
    window = make_window(servers=True, settings_dir=tmp_path)
    qtbot.waitUntil(lambda: window.setup_task.done(), timeout=WAIT_MS)
    panel = window.servers_panel
    echo = window.server_manager.find("echo")
    panel.newSocketRequested.emit(echo.host, echo.port, "echo")
    qtbot.waitUntil(lambda: len(window.session.ids()) == 1, timeout=WAIT_MS)
    (sid,) = window.session.ids()
    qtbot.waitUntil(lambda: window.session.state_text(sid) == "Connected", timeout=WAIT_MS)

    from workbench.net.servers import ServerKind, ServerSpec

    # A running TLS echo, as its row's Start would make it.
    task = window.runner.start(window.server_manager.start(ServerSpec(ServerKind.TLS_ECHO)),
                               name="start tls-echo")
    qtbot.waitUntil(task.done, timeout=WAIT_MS)
    server = task.result()
    panel.newSocketRequested.emit(server.host, server.port, "tls-echo")
    qtbot.waitUntil(lambda: len(window.session.ids()) == 2, timeout=WAIT_MS)
    second = max(window.session.ids())
    qtbot.waitUntil(lambda: window.session.state_text(second).startswith("TLS 1."),
                    timeout=WAIT_MS)
    info = window.session.info(second)
    assert info is not None and info.tls is not None and info.tls.verified
