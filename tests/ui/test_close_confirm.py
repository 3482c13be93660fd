"""Closing a socket, clearing its data and quitting ask first when captured data would go;
quitting asks about an unsaved conversation too."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QApplication, QMessageBox

import pytest

from tests.net.tls_peers import ThreadedServer
from tests.ui.conftest import WAIT_MS
from tests.ui.test_conversation_unsaved import answer, edit, question
from tests.ui.test_conversations_pane import pane_of, show
from tests.ui.test_main_window import action, connect_to, new_socket, send
from workbench.ui.conversations_pane import TEMPLATE
from workbench.ui.main_window import MainWindow

#: The offscreen platform warns when a message box (a top-level window) is shown.
pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


def _capture(qtbot: Any, window: MainWindow, port: int, text: str) -> int:
    """A new socket, connected to the echo server, that sent ``text`` and got it back."""
    sid = new_socket(qtbot, window)
    connect_to(qtbot, window, sid, port)
    send(qtbot, window, "Text", text)
    store = window.session.captures(sid)
    qtbot.waitUntil(lambda: store.bytes_in == len(text), timeout=WAIT_MS)
    return sid


def window_manager_close(window: MainWindow) -> None:
    """The title bar's close button: the platform sends the close event to the window's
    ``QWindow``, and Qt hands it on to the widget as a spontaneous one."""
    handle = window.windowHandle()
    assert handle is not None
    QApplication.sendEvent(handle, QCloseEvent())


def _box_text(window: MainWindow) -> str:
    box = window.close_confirmation.box
    assert box is not None and box.isVisible()
    return box.text()


def _answer(window: MainWindow, *, go: bool, dont_ask: bool = False) -> None:
    box = window.close_confirmation.box
    assert box is not None
    box.checkBox().setChecked(dont_ask)
    if go:
        button = window.close_confirmation.accept_button()
        assert button is not None
    else:
        button = box.button(QMessageBox.StandardButton.Cancel)
    button.click()


def test_quit_asks_when_captures_hold_data_and_cancel_keeps_the_window(
    qtbot: Any, workbench_window: MainWindow, echo_server: ThreadedServer
) -> None:
    window = workbench_window
    first = _capture(qtbot, window, echo_server.port, "hello")
    second = _capture(qtbot, window, echo_server.port, "bye")
    action(window, "quitAction").trigger()
    # 5 + 5 bytes (sent and echoed) and 3 + 3.
    assert _box_text(window) == "Quit? 2 sockets hold 16 bytes of captured data; it will be gone."
    _answer(window, go=False)
    assert window.close_confirmation.box is None
    assert window.isVisible() and not window.shut_down
    assert sorted(window.session.ids()) == sorted([first, second])

    # The window manager's close button asks the same way (a spontaneous close event).
    window_manager_close(window)
    assert _box_text(window).startswith("Quit? 2 sockets hold")
    assert window.isVisible() and not window.shut_down
    _answer(window, go=True)
    qtbot.waitUntil(lambda: window.shut_down, timeout=WAIT_MS)
    assert QApplication.activeModalWidget() is None


def test_quit_with_dont_ask_again_stops_asking(
    qtbot: Any, workbench_window: MainWindow, echo_server: ThreadedServer
) -> None:
    window = workbench_window
    sid = _capture(qtbot, window, echo_server.port, "x")
    window.quit_window()
    assert _box_text(window) == "Quit? 1 socket holds 2 bytes of captured data; it will be gone."
    _answer(window, go=True, dont_ask=True)
    qtbot.waitUntil(lambda: window.shut_down, timeout=WAIT_MS)
    assert window.settings.confirm_close is False
    assert sid not in window.session.ids()


def test_quit_without_captured_data_or_from_the_program_does_not_ask(
    qtbot: Any, make_window: Any, echo_server: ThreadedServer
) -> None:
    empty = make_window()
    new_socket(qtbot, empty)  # a socket, but nothing captured
    empty.quit_window()
    assert empty.close_confirmation.box is None
    qtbot.waitUntil(lambda: empty.shut_down, timeout=WAIT_MS)

    # close() from the program (SIGTERM and Ctrl+C in the terminal call it) never asks.
    window = make_window()
    _capture(qtbot, window, echo_server.port, "data")
    window.close()
    assert window.close_confirmation.box is None
    qtbot.waitUntil(lambda: window.shut_down, timeout=WAIT_MS)


def test_quit_does_not_ask_when_confirm_close_is_off(
    qtbot: Any, workbench_window: MainWindow, echo_server: ThreadedServer
) -> None:
    window = workbench_window
    _capture(qtbot, window, echo_server.port, "data")
    window.settings.confirm_close = False
    window_manager_close(window)
    assert window.close_confirmation.box is None
    qtbot.waitUntil(lambda: window.shut_down, timeout=WAIT_MS)


def test_dont_ask_again_can_be_taken_back_from_the_edit_menu(
    qtbot: Any, workbench_window: MainWindow, echo_server: ThreadedServer
) -> None:
    """A tester ticked "Don't ask again" and found no way back in the window."""
    window = workbench_window
    toggle = action(window, "confirmDiscardAction")
    edit_menu = next(
        a.menu() for a in window.menuBar().actions() if a.text().replace("&", "") == "Edit"
    )
    assert toggle in edit_menu.actions()
    assert toggle.isCheckable() and toggle.isChecked()
    sid = _capture(qtbot, window, echo_server.port, "x")
    window.clear_data()
    _answer(window, go=True, dont_ask=True)
    assert window.settings.confirm_close is False
    assert not toggle.isChecked()  # the menu says so too
    toggle.trigger()  # ask again
    assert window.settings.confirm_close is True
    send(qtbot, window, "Text", "y")
    store = window.session.captures(sid)
    qtbot.waitUntil(lambda: store.bytes_in == 1, timeout=WAIT_MS)
    window.clear_data()
    assert _box_text(window).startswith("Clear the ")
    _answer(window, go=False)


def _unsaved_conversation(qtbot: Any, window: MainWindow) -> str:
    """The Conversations pane's text, typed into and never saved."""
    pane = show(qtbot, window)
    pane.new_conversation()
    return edit(qtbot, pane)


def test_quit_asks_about_an_unsaved_conversation_even_without_captured_data(
    qtbot: Any, workbench_window: MainWindow
) -> None:
    window = workbench_window
    pane = pane_of(window)
    mine = _unsaved_conversation(qtbot, window)
    # "Don't ask again" was said of captured data: unsaved text is still asked about.
    window.settings.confirm_close = False
    window.quit_window()
    assert "before quitting?" in question(pane).text()
    assert window.close_confirmation.box is None  # no captured data: no second question
    answer(pane, QMessageBox.StandardButton.Cancel)
    assert window.isVisible() and not window.shut_down
    assert pane.editor.plain_text() == mine

    window_manager_close(window)
    assert window.isVisible() and not window.shut_down
    answer(pane, QMessageBox.StandardButton.Discard)
    qtbot.waitUntil(lambda: window.shut_down, timeout=WAIT_MS)


def test_quit_asks_about_the_conversation_then_about_captured_data(
    qtbot: Any, workbench_window: MainWindow, echo_server: ThreadedServer, tmp_path: Path
) -> None:
    window = workbench_window
    _capture(qtbot, window, echo_server.port, "hello")
    pane = show(qtbot, window)
    path = tmp_path / "kept.toml"
    path.write_text(TEMPLATE, encoding="utf-8")
    assert pane.open_file(str(path))
    mine = edit(qtbot, pane)
    action(window, "quitAction").trigger()
    assert question(pane).text() == "Save the changes to kept.toml before quitting?"
    answer(pane, QMessageBox.StandardButton.Save)
    assert path.read_text(encoding="utf-8") == mine
    assert _box_text(window).startswith("Quit? 1 socket holds")
    _answer(window, go=True)
    qtbot.waitUntil(lambda: window.shut_down, timeout=WAIT_MS)
