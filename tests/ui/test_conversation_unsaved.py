"""The Conversations pane never replaces unsaved changes silently: New, Open…, Record and a
Run all row first ask (Save, Discard, Cancel) in a non-modal box, in the real window."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QFileDialog, QMessageBox

import pytest

from tests.net.tls_peers import ThreadedServer
from tests.ui.conftest import WAIT_MS
from tests.ui.test_conversations_pane import (
    Aio,
    action,
    connected_socket,
    conversation,
    received,
    show,
)
from workbench.ui.conversations_pane import TEMPLATE, ConversationsPane
from workbench.ui.main_window import MainWindow

#: The offscreen platform warns when a message box or file dialog (top-level) is shown.
pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")

_Button = QMessageBox.StandardButton
_Accept = QFileDialog.AcceptMode


def edit(qtbot: Any, pane: ConversationsPane, typed: str = "# mine") -> str:
    """Type ``typed`` at the end of the text, as the user does; the text after it."""
    pane.editor.text.moveCursor(QTextCursor.MoveOperation.End)
    qtbot.keyClicks(pane.editor.text, typed)
    assert pane.editor.modified and pane.unsaved.unsaved
    return pane.editor.plain_text()


def question(pane: ConversationsPane) -> QMessageBox:
    """The open question (found by its object name): one, shown, and not application-modal."""
    boxes = [b for b in pane.findChildren(QMessageBox, "unsavedConversationBox") if b.isVisible()]
    assert len(boxes) == 1 and boxes[0] is pane.unsaved.box
    # open(), not exec(): no nested event loop; the rest of the application still runs.
    assert boxes[0].windowModality() != Qt.WindowModality.ApplicationModal
    return boxes[0]


def answer(pane: ConversationsPane, button: QMessageBox.StandardButton) -> None:
    box = question(pane)
    box.button(button).click()
    assert pane.unsaved.box is None and not box.isVisible()


def no_question(pane: ConversationsPane) -> bool:
    shown = [b for b in pane.findChildren(QMessageBox, "unsavedConversationBox") if b.isVisible()]
    return pane.unsaved.box is None and not shown


def file_dialog(pane: ConversationsPane, mode: QFileDialog.AcceptMode) -> QFileDialog:
    dialogs = [d for d in pane.findChildren(QFileDialog) if d.isVisible()]
    assert len(dialogs) == 1 and dialogs[0].acceptMode() == mode
    return dialogs[0]


def choose(dialog: QFileDialog, path: Path) -> None:
    dialog.selectFile(str(path))
    dialog.accept()


def test_new_asks_before_unsaved_changes_cancel_keeps_them_and_discard_replaces_them(
    qtbot: Any, workbench_window: MainWindow
) -> None:
    pane = show(qtbot, workbench_window)
    new = action(workbench_window, "newConversationAction")
    pane.editor.set_text(conversation(7, "[[steps]]\nsend = 'x'\n"))
    new.trigger()  # nothing typed yet: nothing to lose, no question
    assert no_question(pane) and pane.editor.plain_text() == TEMPLATE
    new.trigger()  # the template, untouched, holds nothing to lose either
    assert no_question(pane) and pane.editor.plain_text() == TEMPLATE

    mine = edit(qtbot, pane)
    new.trigger()
    box = question(pane)
    assert box.text() == (
        "Save this conversation before starting a new one? It has never been saved."
    )
    assert box.defaultButton() is box.button(_Button.Save)
    answer(pane, _Button.Cancel)
    assert pane.editor.plain_text() == mine and pane.editor.modified
    assert pane.file_label.text() == "untitled •"

    new.trigger()
    answer(pane, _Button.Discard)
    assert pane.editor.plain_text() == TEMPLATE and pane.path == ""


def test_save_in_the_question_writes_the_file_then_new_replaces_the_text(
    qtbot: Any, workbench_window: MainWindow, tmp_path: Path
) -> None:
    pane = show(qtbot, workbench_window)
    path = tmp_path / "mine.toml"
    path.write_text(conversation(7, "[[steps]]\nsend = 'x'\n"), encoding="utf-8")
    assert pane.open_file(str(path))
    mine = edit(qtbot, pane, "# kept")
    assert pane.new_conversation() is False  # asked, not done
    assert question(pane).text() == "Save the changes to mine.toml before starting a new one?"
    assert pane.editor.plain_text() == mine  # nothing replaced while the box is open
    answer(pane, _Button.Save)
    assert path.read_text(encoding="utf-8") == mine  # saved to its file, no dialog
    assert pane.editor.plain_text() == TEMPLATE and pane.path == ""
    assert pane.status_label.text() == ""


def test_open_asks_and_save_of_an_untitled_text_asks_where_then_opens(
    qtbot: Any, workbench_window: MainWindow, tmp_path: Path
) -> None:
    pane = show(qtbot, workbench_window)
    other = tmp_path / "other.toml"
    other.write_text(conversation(9, "[[steps]]\nsend = 'o'\n"), encoding="utf-8")
    pane.new_conversation()
    mine = edit(qtbot, pane)
    open_action = action(workbench_window, "openConversationAction")

    open_action.trigger()
    assert "before opening another conversation?" in question(pane).text()
    answer(pane, _Button.Cancel)
    assert not [d for d in pane.findChildren(QFileDialog) if d.isVisible()]
    assert pane.editor.plain_text() == mine

    # Save, but the file dialog is cancelled: not saved, so nothing opens and the text stays.
    open_action.trigger()
    answer(pane, _Button.Save)
    file_dialog(pane, _Accept.AcceptSave).reject()
    assert not [d for d in pane.findChildren(QFileDialog) if d.isVisible()]
    assert pane.editor.plain_text() == mine and pane.editor.modified

    open_action.trigger()
    answer(pane, _Button.Save)
    saved = tmp_path / "saved.toml"
    choose(file_dialog(pane, _Accept.AcceptSave), saved)
    assert saved.read_text(encoding="utf-8") == mine
    # Saved: now Open…'s own dialog (not the Save dialog, closing as it calls back).
    choose(file_dialog(pane, _Accept.AcceptOpen), other)
    assert pane.path == str(other) and not pane.editor.modified
    assert pane.editor.plain_text() == other.read_text(encoding="utf-8")

    edit(qtbot, pane)
    open_action.trigger()
    answer(pane, _Button.Discard)
    choose(file_dialog(pane, _Accept.AcceptOpen), saved)
    assert pane.editor.plain_text() == mine and pane.path == str(saved)
    assert other.read_text(encoding="utf-8") == conversation(9, "[[steps]]\nsend = 'o'\n")


def test_record_asks_before_it_replaces_unsaved_changes(
    qtbot: Any, aio: Aio, workbench_window: MainWindow, echo_server: ThreadedServer
) -> None:
    window = workbench_window
    pane = show(qtbot, window)
    sid = connected_socket(qtbot, aio, window, echo_server.port)
    aio(window.sockets.send(sid, b"hi\n"))
    qtbot.waitUntil(lambda: received(window, sid) == b"hi\nhi\n", timeout=WAIT_MS)
    record = action(window, "recordConversationAction")
    qtbot.waitUntil(record.isEnabled, timeout=WAIT_MS)
    pane.new_conversation()
    mine = edit(qtbot, pane)

    record.trigger()
    assert f"before recording socket {sid}?" in question(pane).text()
    answer(pane, _Button.Cancel)
    assert pane.editor.plain_text() == mine

    record.trigger()
    answer(pane, _Button.Discard)
    assert pane.editor.plain_text() != mine
    assert f"port = {echo_server.port}" in pane.editor.plain_text()
    assert pane.status_label.text().startswith(f"Recorded socket {sid}'s last connection")


def test_a_run_all_row_asks_before_it_opens_its_file_over_unsaved_changes(
    qtbot: Any, workbench_window: MainWindow, tmp_path: Path
) -> None:
    pane = show(qtbot, workbench_window)
    bad = tmp_path / "bad.toml"
    bad.write_text('host = "127.0.0.1"\nport = 7\n[[steps]]\nsend = \n', encoding="utf-8")
    task = pane.run_folder(tmp_path)  # a bad file only: nothing connects
    assert task is not None
    qtbot.waitUntil(task.done, timeout=WAIT_MS)
    pane.new_conversation()
    mine = edit(qtbot, pane)
    row = pane.summary.topLevelItem(0)
    assert row is not None

    pane.summary.itemActivated.emit(row, 0)
    assert "before opening bad.toml?" in question(pane).text()
    answer(pane, _Button.Cancel)
    assert pane.editor.plain_text() == mine and pane.path == ""

    pane.summary.itemActivated.emit(row, 0)
    answer(pane, _Button.Discard)
    assert pane.path == str(bad) and pane.editor.error_line() == 4
