"""File → Export → pcapng… through the window: the file it writes is read back by tshark
(``follow,tcp,raw`` reproduces the bytes, ``capinfos`` warns of nothing); Cancel removes the
partial file; a path that cannot be written is said in the banner, never as a traceback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QFileDialog, QLabel, QProgressDialog, QPushButton

import pytest

from tests.net.tls_peers import Pki, ThreadedServer
from tests.session.test_pcapng_export import check_clean, follow
from tests.ui.conftest import WAIT_MS
from tests.ui.test_main_window import action, child, connect_to, new_socket, send
from workbench.session import SocketKey
from workbench.session.pcapng_export import ExportResult
from workbench.ui.main_window import MainWindow

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


def talk(qtbot: Any, window: MainWindow, port: int, text: str) -> int:
    """A new socket, connected to the echo server at ``port``, that sent ``text`` and got it
    back."""
    sid = new_socket(qtbot, window)
    connect_to(qtbot, window, sid, port)
    assert window.session.result(sid, "connect") == 0
    send(qtbot, window, "Text", text)
    store = window.session.captures(sid)
    qtbot.waitUntil(lambda: store.bytes_in == len(text), timeout=WAIT_MS)
    return sid


def export_through_the_dialog(qtbot: Any, window: MainWindow, path: Path) -> ExportResult:
    """Trigger the action, choose ``path`` in its (non-modal) file dialog, wait for the end."""
    action(window, "exportPcapngAction").trigger()
    exporter = window.commands.exporter
    assert exporter is not None
    dialog = exporter.dialog
    assert isinstance(dialog, QFileDialog) and dialog.isVisible()
    assert not dialog.isModal() or dialog.windowModality().name != "ApplicationModal"
    with qtbot.waitSignal(exporter.finished, timeout=WAIT_MS) as finished:
        dialog.selectFile(str(path))
        dialog.accept()
    result = finished.args[0]
    assert isinstance(result, ExportResult)
    return result


def test_X6_the_export_action_writes_the_selected_socket_that_tshark_follows(
    qtbot: Any, workbench_window: MainWindow, echo_server: ThreadedServer, tmp_path: Path
) -> None:
    window = workbench_window
    talk(qtbot, window, echo_server.port, "not this one")
    sid = talk(qtbot, window, echo_server.port, "hello pcapng")
    window.select_socket(sid)
    path = tmp_path / "selected.pcapng"

    result = export_through_the_dialog(qtbot, window, path)

    assert (result.sockets, result.skipped, result.cancelled) == (1, [], False)
    assert follow(path, 0) == (b"hello pcapng", b"hello pcapng")
    check_clean(path)
    message = window.statusBar().currentMessage()
    assert message.startswith("Wrote 1 socket,") and str(path) in message


def test_X7_with_nothing_selected_every_socket_is_exported_and_the_skipped_are_named(
    qtbot: Any, workbench_window: MainWindow, echo_server: ThreadedServer, tmp_path: Path
) -> None:
    window = workbench_window
    first = talk(qtbot, window, echo_server.port, "first")
    second = talk(qtbot, window, echo_server.port, "second")
    idle = new_socket(qtbot, window)
    window.select_socket(None)
    path = tmp_path / "all.pcapng"

    result = export_through_the_dialog(qtbot, window, path)

    assert result.sockets == 2
    assert result.skipped == [f"socket {idle}: it never connected"]
    assert follow(path, 0) == (b"first", b"first")
    assert follow(path, 1) == (b"second", b"second")
    check_clean(path)
    message = window.statusBar().currentMessage()
    assert f"skipped socket {idle}: it never connected" in message
    assert first < second < idle


def test_cancel_in_the_progress_dialog_removes_the_partial_file(
    qtbot: Any, workbench_window: MainWindow, echo_server: ThreadedServer, tmp_path: Path
) -> None:
    window = workbench_window
    sid = talk(qtbot, window, echo_server.port, "cancel me")
    window.select_socket(sid)
    exporter = window.commands.exporter
    assert exporter is not None
    shown: list[QProgressDialog] = []

    def press_cancel(progress: QProgressDialog) -> None:
        # The dialog is non-modal and up before the worker starts: Cancel as a user would.
        assert progress.isVisible() and not progress.isModal()
        shown.append(progress)
        progress.findChild(QPushButton).click()

    exporter.started.connect(press_cancel)
    path = tmp_path / "cancelled.pcapng"

    result = export_through_the_dialog(qtbot, window, path)

    assert shown and result.cancelled
    assert not path.exists()
    assert window.statusBar().currentMessage() == f"Export cancelled; {path} was removed."


def test_an_unwritable_path_is_said_in_the_banner(
    qtbot: Any, workbench_window: MainWindow, echo_server: ThreadedServer, tmp_path: Path
) -> None:
    window = workbench_window
    sid = talk(qtbot, window, echo_server.port, "hi")
    exporter = window.commands.exporter
    assert exporter is not None
    path = tmp_path / "no such folder" / "out.pcapng"

    with qtbot.waitSignal(exporter.failed, timeout=WAIT_MS) as failed:
        exporter.export_to(str(path), [SocketKey.tcp(sid)])

    assert failed.args[0] == f"Could not export to {path}: No such file or directory"
    banner = child(window, "errorBannerText", QLabel)
    assert "Could not export" in banner.text() and "Traceback" not in banner.text()
    assert not path.exists()


def test_a_second_export_waits_for_the_first(
    qtbot: Any, workbench_window: MainWindow, echo_server: ThreadedServer, tmp_path: Path
) -> None:
    window = workbench_window
    sid = talk(qtbot, window, echo_server.port, "once")
    exporter = window.commands.exporter
    assert exporter is not None
    keys = [SocketKey.tcp(sid)]

    with qtbot.waitSignal(exporter.finished, timeout=WAIT_MS):
        assert exporter.export_to(str(tmp_path / "first.pcapng"), keys) is not None
        assert exporter.export_to(str(tmp_path / "second.pcapng"), keys) is None
        assert window.statusBar().currentMessage().startswith("An export is already under way")

    assert follow(tmp_path / "first.pcapng", 0) == (b"once", b"once")
    assert not (tmp_path / "second.pcapng").exists()
    assert not exporter.running


def test_a_socket_secured_in_the_window_is_exported_with_its_tls_in_the_comment(
    qtbot: Any,
    workbench_window: MainWindow,
    tls_echo_server: ThreadedServer,
    pki: Pki,
    tmp_path: Path,
) -> None:
    import subprocess

    from tests.ui.test_keylog_ui import secure

    window = workbench_window
    sid = secure(qtbot, window, tls_echo_server.port, pki)
    send(qtbot, window, "Text", "over tls")
    store = window.session.captures(sid)
    qtbot.waitUntil(lambda: store.bytes_in == len("over tls"), timeout=WAIT_MS)
    window.select_socket(sid)
    path = tmp_path / "secured.pcapng"

    export_through_the_dialog(qtbot, window, path)

    assert follow(path, 0) == (b"over tls", b"over tls")  # the plaintext the window saw
    shown = subprocess.run(
        ["tshark", "-r", str(path), "-V", "-c", "1"], capture_output=True, text=True, check=True
    ).stdout
    assert "secured with TLS 1." in shown and "plaintext as the application saw it" in shown
