"""The Conversations pane in the real window, against real loopback peers: recording a
session into a conversation, saving it and running it again on a new socket, a failing step,
a Stop, a run on the selected socket, validation as you type, and Run all in a folder."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QComboBox, QDockWidget, QMenu

import pytest

from tests.net.tls_peers import Pki, ThreadedServer, server_context
from tests.session.test_conversation_run import smtp_handler
from tests.ui.conftest import WAIT_MS
from workbench.core.conversation import Verb, parse_conversation
from workbench.core.types import SecureOptions
from workbench.sockets import NetError
from workbench.ui.conversation_steps import RUNNING
from workbench.ui.conversations_pane import ConversationsPane
from workbench.ui.main_window import MainWindow

Aio = Callable[..., Any]


def pane_of(window: MainWindow) -> ConversationsPane:
    pane = window.findChild(ConversationsPane, "conversationsPane")
    assert pane is not None
    return pane


def action(window: MainWindow, name: str) -> QAction:
    found = window.findChild(QAction, name)
    assert found is not None, name
    return found


def received(window: MainWindow, sid: int) -> bytes:
    capture = window.session.captures(sid)
    capture.sync()
    return capture.read(0, capture.total_bytes)


def connected_socket(qtbot: Any, aio: Aio, window: MainWindow, port: int) -> int:
    """A TCP socket made and connected through the window's session, and selected."""
    sid: int = aio(window.sockets.create()).socket_id
    assert aio(window.sockets.connect(sid, "127.0.0.1", port)) == 0
    window.select_socket(sid)
    qtbot.waitUntil(lambda: window.current_socket() == sid, timeout=WAIT_MS)
    return sid


def wait_run(qtbot: Any, pane: ConversationsPane) -> None:
    task = pane.task
    assert task is not None
    qtbot.waitUntil(task.done, timeout=WAIT_MS * 2)
    assert not task.cancelled() and task.exception() is None
    qtbot.waitUntil(lambda: pane.run_button.isEnabled(), timeout=WAIT_MS)


def show(qtbot: Any, window: MainWindow) -> ConversationsPane:
    dock = window.findChild(QDockWidget, "conversationsDock")
    assert dock is not None and not dock.isVisible()  # hidden until View shows it
    action(window, "conversationsDockAction").trigger()
    qtbot.waitUntil(dock.isVisible, timeout=WAIT_MS)
    pane = pane_of(window)
    qtbot.waitUntil(pane.isVisible, timeout=WAIT_MS)
    return pane


def conversation(port: int, steps: str) -> str:
    return f'host = "127.0.0.1"\nport = {port}\ntimeout = 3\n{steps}'


@pytest.fixture
def smtp_server(pki: Pki) -> Iterator[Callable[[], ThreadedServer]]:
    servers: list[ThreadedServer] = []

    def start() -> ThreadedServer:
        server = ThreadedServer(smtp_handler(server_context(pki.valid)), name="ui-smtp").start()
        servers.append(server)
        return server

    try:
        yield start
    finally:
        for server in servers:
            server.stop()


def test_a_recorded_session_is_saved_and_runs_again_on_a_new_socket(
    qtbot: Any,
    aio: Aio,
    workbench_window: MainWindow,
    echo_server: ThreadedServer,
    tmp_path: Path,
) -> None:
    window = workbench_window
    pane = show(qtbot, window)
    record = action(window, "recordConversationAction")
    assert not record.isEnabled() and "Select a TCP socket" in record.toolTip()
    socket_menu = next(
        a.menu() for a in window.menuBar().actions() if a.text().replace("&", "") == "Socket"
    )
    assert isinstance(socket_menu, QMenu) and record in socket_menu.actions()

    sid: int = aio(window.sockets.create()).socket_id
    window.select_socket(sid)
    qtbot.waitUntil(lambda: "never connected" in record.toolTip(), timeout=WAIT_MS)
    assert not record.isEnabled()
    assert aio(window.sockets.connect(sid, "127.0.0.1", echo_server.port)) == 0
    aio(window.sockets.send(sid, b"hello\r\n"))
    qtbot.waitUntil(lambda: received(window, sid) == b"hello\r\nhello\r\n", timeout=WAIT_MS)
    aio(window.sockets.send(sid, b"\x00\x01\xfe"))
    qtbot.waitUntil(lambda: len(received(window, sid)) == 20, timeout=WAIT_MS)
    qtbot.waitUntil(record.isEnabled, timeout=WAIT_MS)

    record.trigger()
    text = pane.editor.plain_text()
    recorded = parse_conversation(text, "recorded.toml")
    assert (recorded.host, recorded.port) == ("127.0.0.1", echo_server.port)
    assert [(s.verb, s.value) for s in recorded.steps] == [
        (Verb.SEND, "hello\\r\\n"),
        (Verb.EXPECT, "hello"),
        (Verb.SEND, "\\0\\x01\\xfe"),
        (Verb.EXPECT_HEX, "00 01 fe"),
    ]
    assert pane.editor.modified and pane.path == ""
    assert pane.steps.labels() == [s.label() for s in recorded.steps]

    path = tmp_path / "echo.toml"
    assert pane.save_to(str(path))
    assert path.read_text(encoding="utf-8") == text
    assert pane.path == str(path) and not pane.editor.modified
    assert pane.file_label.text() == "echo.toml"

    before = set(window.session.ids())
    qtbot.mouseClick(pane.run_button, Qt.MouseButton.LeftButton)
    wait_run(qtbot, pane)
    assert pane.steps.statuses() == ["passed"] * 4
    assert all(time.endswith(("ms", " s")) for time in pane.steps.texts(pane.steps.TIME))
    # Recorded, it is named after the socket it was recorded from.
    assert pane.status_label.text().startswith(
        f"recorded from socket {sid} (127.0.0.1:{echo_server.port}): passed, 4 steps"
    )
    (new,) = set(window.session.ids()) - before
    assert window.current_socket() == new  # its row is selected: the data view shows it
    address = window.findChild(QComboBox, "connectAddress")
    assert address is not None and address.currentText() == "127.0.0.1"  # and its peer
    assert received(window, new) == b"hello\r\nhello\r\n\x00\x01\xfe\x00\x01\xfe"
    assert window.session.state_text(new) == "Disconnected"  # the row and capture stay
    sends = [e.text for e in window.call_log.entries() if e.socket_id == new and ".send(" in e.text]
    assert len(sends) == 2


def test_a_failing_step_is_shown_failed_with_its_detail_and_the_rest_not_run(
    qtbot: Any, workbench_window: MainWindow, echo_server: ThreadedServer, tmp_path: Path
) -> None:
    window = workbench_window
    pane = show(qtbot, window)
    path = tmp_path / "failing.toml"
    path.write_text(
        conversation(
            echo_server.port,
            "[[steps]]\nsend = 'ping\\n'\n[[steps]]\nexpect = \"pong\"\ntimeout = 0.3\n"
            "[[steps]]\nsend = 'later\\n'\n",
        ),
        encoding="utf-8",
    )
    assert pane.open_file(str(path))
    assert pane.steps.statuses() == ["", "", ""]
    qtbot.mouseClick(pane.run_button, Qt.MouseButton.LeftButton)
    wait_run(qtbot, pane)
    assert pane.steps.statuses() == ["passed", "failed", "not run"]
    details = pane.steps.details()
    assert details[1] == 'no match within 0.3 s; received 5 bytes: "ping\\n"'
    assert details[2] == "" and pane.steps.texts(pane.steps.TIME)[2] == ""
    assert "FAILED at step 1" in pane.status_label.text()
    assert bytes(echo_server.received) == b"ping\n"  # the step after the failure never ran


def test_stop_cancels_the_run_and_the_socket_stays_as_a_row(
    qtbot: Any, workbench_window: MainWindow, echo_server: ThreadedServer
) -> None:
    window = workbench_window
    pane = show(qtbot, window)
    steps = "[[steps]]\nsend = 'a'\n[[steps]]\nexpect = \"never\"\ntimeout = 60\n"
    pane.editor.set_text(conversation(echo_server.port, steps + "[[steps]]\nsleep = 0\n"))
    before = set(window.session.ids())
    qtbot.mouseClick(pane.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: pane.steps.statuses()[1] == RUNNING, timeout=WAIT_MS)
    assert pane.stop_button.isEnabled() and not pane.run_button.isEnabled()
    qtbot.mouseClick(pane.stop_button, Qt.MouseButton.LeftButton)
    task = pane.task
    assert task is not None
    qtbot.waitUntil(task.done, timeout=WAIT_MS)
    assert task.cancelled()
    assert pane.steps.statuses() == ["passed", "stopped", "not run"]
    assert pane.status_label.text().endswith("stopped")
    (new,) = set(window.session.ids()) - before
    qtbot.waitUntil(lambda: window.session.state_text(new) == "Disconnected", timeout=WAIT_MS)
    # The buttons follow the task's done callback, one loop turn after task.done().
    qtbot.waitUntil(
        lambda: pane.run_button.isEnabled() and not pane.stop_button.isEnabled(), timeout=WAIT_MS
    )


def test_run_on_selected_runs_the_steps_on_the_connected_socket_and_leaves_it_connected(
    qtbot: Any, aio: Aio, workbench_window: MainWindow, echo_server: ThreadedServer
) -> None:
    window = workbench_window
    pane = show(qtbot, window)
    steps = "[[steps]]\nsend = '${greeting}\\n'\n[[steps]]\nexpect_regex = '(?P<back>h\\w+)'\n"
    pane.editor.variables.setPlainText("greeting=hi there")
    pane.editor.set_text(conversation(1, steps))  # the port is not used: the socket is given
    assert not pane.run_selected_button.isEnabled()
    assert pane.run_selected_button.toolTip().startswith("Select a connected TCP socket")
    sid = connected_socket(qtbot, aio, window, echo_server.port)
    qtbot.waitUntil(pane.run_selected_button.isEnabled, timeout=WAIT_MS)
    before = set(window.session.ids())
    qtbot.mouseClick(pane.run_selected_button, Qt.MouseButton.LeftButton)
    wait_run(qtbot, pane)
    assert pane.steps.statuses() == ["passed", "passed"]
    assert pane.steps.details()[1] == "back = 'hi'"
    assert set(window.session.ids()) == before  # no new socket
    assert received(window, sid) == b"hi there\nhi there\n"
    assert window.session.state_text(sid) == "Connected"
    aio(window.sockets.disconnect(sid))
    qtbot.waitUntil(lambda: not pane.run_selected_button.isEnabled(), timeout=WAIT_MS)


def test_an_smtp_session_with_starttls_recorded_in_the_window_passes_again(
    qtbot: Any,
    aio: Aio,
    workbench_window: MainWindow,
    smtp_server: Callable[[], ThreadedServer],
    pki: Pki,
) -> None:
    window = workbench_window
    pane = show(qtbot, window)
    server = smtp_server()
    sid = connected_socket(qtbot, aio, window, server.port)
    qtbot.waitUntil(lambda: received(window, sid).endswith(b"ready\r\n"), timeout=WAIT_MS)
    for line, answer in ((b"EHLO me\r\n", b"250 STARTTLS\r\n"), (b"STARTTLS\r\n", b"go ahead\r\n")):
        aio(window.sockets.send(sid, line))
        qtbot.waitUntil(
            lambda answer=answer: received(window, sid).endswith(answer), timeout=WAIT_MS
        )
    options = SecureOptions(ca_file=str(pki.ca_file), server_name="localhost")
    assert aio(window.sockets.secure(sid, options)) == 0
    aio(window.sockets.send(sid, b"secret bob\n"))
    qtbot.waitUntil(lambda: window.session.ui(sid).peer_end is not None, timeout=WAIT_MS)

    action(window, "recordConversationAction").trigger()
    verbs = [s.verb for s in parse_conversation(pane.editor.plain_text()).steps]
    assert verbs.count(Verb.STARTTLS) == 1 and verbs[-1] is Verb.EXPECT_CLOSED
    again = smtp_server()
    pane.editor.set_text(pane.editor.plain_text().replace(str(server.port), str(again.port)))
    task = pane.run_new()
    assert task is not None
    wait_run(qtbot, pane)
    assert pane.steps.statuses() == ["passed"] * len(verbs), pane.steps.details()


def test_the_file_is_checked_as_it_is_typed_and_the_error_line_is_highlighted(
    qtbot: Any, workbench_window: MainWindow
) -> None:
    pane = show(qtbot, workbench_window)
    editor = pane.editor
    editor.set_text(conversation(7, "[[steps]]\nsend = 'x'\n"))
    assert editor.error is None and not editor.error_label.isVisible()
    assert pane.run_button.isEnabled()
    editor.text.moveCursor(editor.text.textCursor().MoveOperation.End)
    qtbot.keyClicks(editor.text, 'expect = "y"')
    qtbot.waitUntil(lambda: editor.error is not None, timeout=WAIT_MS)
    assert editor.error_line() == 4  # the [[steps]] with two verbs
    assert editor.error_label.isVisible()
    assert editor.error_label.text() == (
        "Line 4: step 0 has two verbs (send, expect): each step does exactly one thing"
    )
    assert not pane.run_button.isEnabled()
    assert pane.run_button.toolTip().startswith("Fix the file's error first")
    assert pane.run_new() is None  # refused, not run
    assert "fix it" in pane.status_label.text()

    editor.text.setPlainText("host = \n")
    qtbot.waitUntil(lambda: editor.error_line() == 1, timeout=WAIT_MS)
    assert editor.error_label.text().startswith("Line 1: not valid TOML")
    editor.set_text(conversation(7, "[[steps]]\nsend = '${who}'\n"))
    assert "${who} is neither given" in editor.error_label.text()
    # The window's way to give it is named, not only the command line's --var.
    assert "who=VALUE in Variables" in editor.error_label.text()
    editor.variables.setPlainText("who=alice")
    qtbot.waitUntil(lambda: editor.error is None, timeout=WAIT_MS)
    assert editor.error_line() is None and pane.run_button.isEnabled()
    editor.variables.setPlainText("not a variable")
    qtbot.waitUntil(lambda: editor.error is not None, timeout=WAIT_MS)
    assert "Variables, line 1" in editor.error_label.text() and editor.error_line() is None


def test_run_all_in_a_folder_sums_up_good_failing_and_bad_files(
    qtbot: Any, workbench_window: MainWindow, echo_server: ThreadedServer, tmp_path: Path
) -> None:
    window = workbench_window
    pane = show(qtbot, window)
    folder = tmp_path / "suite"
    folder.mkdir()
    port = echo_server.port
    (folder / "good.toml").write_text(
        conversation(port, "[[steps]]\nsend = 'ok\\n'\n[[steps]]\nexpect = \"ok\"\n")
    )
    (folder / "failing.toml").write_text(
        conversation(
            port,
            "[[steps]]\nsend = 'a'\n[[steps]]\nexpect = \"b\"\ntimeout = 0.2\n"
            "[[steps]]\nsend = 'c'\n",
        )
    )
    (folder / "bad.toml").write_text('host = "127.0.0.1"\nport = 7\n[[steps]]\nsend = \n')
    (folder / "notes.txt").write_text("not a conversation")
    before = set(window.session.ids())
    task = pane.run_folder(folder)
    assert task is not None and pane.tabs.currentIndex() == 1
    qtbot.waitUntil(task.done, timeout=WAIT_MS * 2)
    assert task.exception() is None
    rows = pane.summary.rows()
    assert [row[:5] for row in rows] == [
        ("bad.toml", "bad file", "", "", ""),
        ("failing.toml", "failed", "1", "1", "1"),
        ("good.toml", "passed", "2", "0", "0"),
    ]
    assert rows[0][5].startswith("line 4: not valid TOML")
    assert rows[1][5] == "step 1 expect 'b': no match within 0.2 s; received 1 bytes: \"a\""
    assert pane.status_label.text() == "suite: 1 of 3 conversations passed"
    assert len(set(window.session.ids()) - before) == 2  # the bad file never connected

    # A row opens its file; a bad one with its line shown.
    bad = pane.summary.topLevelItem(0)
    assert bad is not None
    pane.summary.itemActivated.emit(bad, 0)
    assert pane.path == str(folder / "bad.toml") and pane.tabs.currentIndex() == 0
    assert pane.editor.error_line() == 4


def test_a_connection_that_fails_is_an_error_of_the_first_step(
    qtbot: Any, workbench_window: MainWindow, refused_port: int
) -> None:
    pane = show(qtbot, workbench_window)
    pane.editor.set_text(
        conversation(refused_port, "[[steps]]\nsend = 'a'\n[[steps]]\nsleep = 0\n")
    )
    pane.run_new()
    wait_run(qtbot, pane)
    assert pane.steps.statuses() == ["error", "not run"]
    assert "CONNECTION_REFUSED" in pane.steps.details()[0]


def test_a_listening_peer_that_closes_is_expected_closed(
    qtbot: Any, workbench_window: MainWindow
) -> None:
    def greet_and_close(conn: socket.socket, _server: ThreadedServer) -> None:
        conn.sendall(b"bye\r\n")
        conn.close()

    server = ThreadedServer(greet_and_close, name="ui-bye").start()
    try:
        pane = show(qtbot, workbench_window)
        steps = '[[steps]]\nexpect = "bye"\n[[steps]]\nexpect_closed = true\n'
        pane.editor.set_text(conversation(server.port, steps))
        pane.run_new()
        wait_run(qtbot, pane)
        assert pane.steps.statuses() == ["passed", "passed"]
    finally:
        server.stop()


def test_a_socket_closed_under_the_run_ends_it_with_the_reason(
    qtbot: Any, aio: Aio, workbench_window: MainWindow, echo_server: ThreadedServer
) -> None:
    window = workbench_window
    pane = show(qtbot, window)
    steps = "[[steps]]\nsend = 'a'\n[[steps]]\nsleep = 30\n[[steps]]\nsend = 'b'\n"
    pane.editor.set_text(conversation(echo_server.port, steps))
    before = set(window.session.ids())
    pane.run_new()
    qtbot.waitUntil(lambda: pane.steps.statuses()[1] == RUNNING, timeout=WAIT_MS)
    (new,) = set(window.session.ids()) - before
    aio(window.sockets.close(new))
    task = pane.task
    assert task is not None
    qtbot.waitUntil(task.done, timeout=WAIT_MS)
    assert pane.steps.statuses() == ["passed", "failed", "not run"]
    assert pane.steps.details()[1] == f"socket {new} was closed"
    assert pane.status_label.text() == f"untitled.toml: socket {new} was closed"
    assert bytes(echo_server.received) == b"a"


def test_stop_ends_run_all_and_the_files_after_are_not_run(
    qtbot: Any, workbench_window: MainWindow, echo_server: ThreadedServer, tmp_path: Path
) -> None:
    pane = show(qtbot, workbench_window)
    port = echo_server.port
    (tmp_path / "a.toml").write_text(conversation(port, '[[steps]]\nexpect = "x"\ntimeout = 60\n'))
    (tmp_path / "b.toml").write_text(conversation(port, "[[steps]]\nsend = 'b'\n"))
    task = pane.run_folder(tmp_path)
    assert task is not None and pane.run_folder(tmp_path) is None  # one run at a time
    qtbot.waitUntil(lambda: pane.summary.rows()[0][1] == RUNNING, timeout=WAIT_MS)
    assert not pane.run_folder_button.isEnabled() and not pane.run_button.isEnabled()
    qtbot.mouseClick(pane.stop_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(task.done, timeout=WAIT_MS)
    assert [row[:2] for row in pane.summary.rows()] == [
        ("a.toml", "stopped"),
        ("b.toml", "not run"),
    ]
    assert pane.status_label.text() == f"{tmp_path.name}: stopped"
    assert bytes(echo_server.received) == b""
    # As above: the done callback enables it, one loop turn after task.done().
    qtbot.waitUntil(pane.run_folder_button.isEnabled, timeout=WAIT_MS)


def test_a_refused_run_leaves_its_row_refused_not_reset_by_a_disconnect(
    qtbot: Any, workbench_window: MainWindow, refused_port: int
) -> None:
    window = workbench_window
    pane = show(qtbot, window)
    pane.editor.set_text(conversation(refused_port, "[[steps]]\nsend = 'a'\n"))
    pane.run_new()
    wait_run(qtbot, pane)
    (sid,) = window.session.ids()
    # The row and the Connect tab still say why: the run did not disconnect a socket that
    # never connected (which would forget the -102 and show the disconnect's OK).
    assert window.session.result(sid, "connect") == NetError.CONNECTION_REFUSED
    assert window.session.result(sid, "disconnect") is None
    assert window.session.state_text(sid) == "Error: CONNECTION_REFUSED"


def test_variables_spaced_as_toml_is_give_the_value_without_the_spaces(
    qtbot: Any, workbench_window: MainWindow, echo_server: ThreadedServer
) -> None:
    pane = show(qtbot, workbench_window)
    editor = pane.editor
    # The echo of the closing '>' is expected: by then the peer has read all that was sent.
    steps = "[[steps]]\nsend = '<${who}>'\n[[steps]]\nexpect = '>'\n"
    editor.set_text(conversation(echo_server.port, steps))
    editor.variables.setPlainText("who = alice")
    qtbot.waitUntil(lambda: editor.error is None, timeout=WAIT_MS)
    assert editor.variable_values() == {"who": "alice"}
    pane.run_new()
    wait_run(qtbot, pane)
    # The bytes the peer got: the value, not " alice".
    assert bytes(echo_server.received) == b"<alice>"
