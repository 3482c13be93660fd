"""View → Conversations: write, record, check, save and run conversation files in the window.

A conversation (``docs/conversations.md``) is a TOML file of send/expect steps against one
peer; ``socket-workbench run`` runs the same files headless. The pane (``conversationsPane``,
in the dock ``conversationsDock``, hidden until View → Conversations shows it) holds:

- the file's text, checked as it is typed (the error's line highlighted, its reason under
  it), and the Variables for its ``${NAME}``s; New, Open…, Save, Save as…; whatever would
  replace unsaved changes (New, Open…, Record, a Run all row, Quit) asks first;
- the steps, each with its status and time while and after it runs: Run runs them on a new
  socket, Run on selected on the selected connected TCP socket (the steps after connect);
  Stop cancels the run. The run's socket is a row like any other: the data view shows its
  bytes, the call log its calls;
- Record (``recordConversationAction``, also in the Socket menu): the selected TCP socket's
  last connection as a conversation, for the user to edit and save;
- Run all: every ``*.toml`` of a folder, one after another on new sockets, summed up in a
  table (a bad file's row gives its error; the others still run).

``install_conversations(window)`` builds the dock and wires it into the window.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from PySide6.QtCore import Qt, Signal, SignalInstance
from PySide6.QtWidgets import (
    QDockWidget,
    QMainWindow,
    QMenu,
    QPushButton,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from workbench.core.conversation import Conversation, ConversationError
from workbench.session import row_state
from workbench.ui.bridge import SocketSession, TaskRunner
from workbench.ui.conversation_controls import ConversationControls
from workbench.ui.conversation_editor import ConversationEditor
from workbench.ui.conversation_files import ConversationDialogs
from workbench.ui.conversation_runs import ConversationRuns
from workbench.ui.conversation_steps import StepsList, SummaryTable
from workbench.ui.conversation_unsaved import UnsavedConversation

if TYPE_CHECKING:
    from workbench.ui.close_confirm import CloseConfirmation
    from workbench.ui.current_socket import CurrentSocket
    from workbench.ui.window_actions import WindowActions

__all__ = [
    "TEMPLATE",
    "ConversationsDock",
    "ConversationsHost",
    "ConversationsPane",
    "install_conversations",
]

#: What New puts in the editor: a conversation with the educational minimum.
TEMPLATE = """\
name = "New conversation"
host = "127.0.0.1"
port = 7
timeout = 5.0

[[steps]]
send = 'hello\\r\\n'

[[steps]]
expect = "hello"
"""

_OK_COLOR = "#26a269"
_FAIL_COLOR = "#d1242f"
#: The dock's height when View → Conversations shows it.
DOCK_HEIGHT = 300


class ConversationsPane(QWidget):
    """The pane over ``session``; ``selected()`` gives the window's current TCP socket.

    Signals:
        socketCreated(int, str, int, str): a run created this socket, to connect to this
            host, port and DNS query type (the window selects its row and shows its peer).
    """

    socketCreated = Signal(int, str, int, str)

    def __init__(
        self,
        session: SocketSession,
        runner: TaskRunner,
        selected: Callable[[], int | None],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("conversationsPane")
        self.setAccessibleName("Conversations")
        self._session = session
        self._selected = selected
        self.editor = ConversationEditor()
        self.steps = StepsList()
        self.summary = SummaryTable()
        self.runs = ConversationRuns(session, runner, self.steps, self.summary, self)
        self.dialogs = ConversationDialogs(self)
        #: asks before unsaved changes are replaced (its ``box``: the open question).
        self.unsaved = UnsavedConversation(self, self.editor, self.save, TEMPLATE)
        c = self.controls = ConversationControls(self)
        self.new_action, self.open_action = c.new_action, c.open_action
        self.save_action, self.save_as_action = c.save_action, c.save_as_action
        self.record_action = c.record_action
        self.run_button, self.run_selected_button = c.run_button, c.run_selected_button
        self.stop_button, self.run_folder_button = c.stop_button, c.run_folder_button
        self.file_label, self.status_label = c.file_label, c.status_label
        self.tabs = c.tabs(self.editor, self.steps, self.summary)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 4)
        layout.setSpacing(2)
        layout.addWidget(c.toolbar())
        layout.addWidget(self.tabs, 1)
        # Under both tabs: the last run's result, whichever tab it ran in.
        layout.addWidget(self.status_label)
        self._connect_controls()
        self.editor.validated.connect(self._validated)
        self.editor.text.modificationChanged.connect(self._show_file)
        self.runs.runningChanged.connect(self.update_actions)
        self.runs.reported.connect(self._say)
        self.runs.socketCreated.connect(self.socketCreated)
        self.steps.itemActivated.connect(self._step_activated)
        self.summary.itemActivated.connect(self._summary_activated)
        self._show_file()
        self.update_actions()

    def _connect_controls(self) -> None:
        for action, slot in (
            (self.new_action, self.new_conversation),
            (self.open_action, self.open_dialog),
            (self.save_action, self.save),
            (self.save_as_action, self.save_as),
            (self.record_action, self.record),
        ):
            action.triggered.connect(lambda *_, slot=slot: slot())
        for button, command in (
            (self.run_button, self.run_new),
            (self.run_selected_button, self.run_selected),
            (self.stop_button, self.stop),
            (self.run_folder_button, self.choose_folder),
        ):
            button.clicked.connect(lambda *_, command=command: command())

    # -- files ------------------------------------------------------------------------------

    @property
    def path(self) -> str:
        """The file the editor's text is saved to ("" for a new or recorded one)."""
        return self.editor.path

    def set_path(self, path: str) -> None:
        """Save to ``path`` from now on (Save as… without its dialog)."""
        self.editor.path = path
        self.editor.validate()
        self._show_file()

    def _show_file(self, *_args: object) -> None:
        name = Path(self.path).name if self.path else "untitled"
        self.file_label.setText(name + (" •" if self.editor.modified else ""))
        self.file_label.setToolTip(self.path or "Not saved yet")

    def new_conversation(self) -> bool:
        """New: the template, once unsaved changes are saved or discarded (True: shown now)."""
        return self.unsaved.ask_then(self._show_template, "starting a new one")

    def _show_template(self) -> None:
        self.editor.set_text(TEMPLATE)
        self.editor.set_modified(True)
        self.tabs.setCurrentIndex(0)
        self._show_file()
        self._say("", True)

    def open_dialog(self) -> bool:
        """Open…: the file dialog, once unsaved changes are saved or discarded (True: now)."""
        return self.unsaved.ask_then(
            lambda: self.dialogs.open_file(self.open_file), "opening another conversation"
        )

    def open_file(self, path: str) -> bool:
        """Show ``path``'s text (False, said in the pane, when it cannot be read); it does not
        ask: the callers that replace the user's text ask first (``unsaved``)."""
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            self._say(f"Could not open {path}: {_reason(exc)}", False)
            return False
        self.editor.set_text(text, path)
        self.tabs.setCurrentIndex(0)
        self._show_file()
        self._say(f"Opened {path}", True)
        return True

    def save(self, then: Callable[[], object] | None = None) -> object:
        """Save to the file (Save as… when there is none yet); ``then`` runs once saved."""
        if not self.path:
            return self.save_as(then)
        saved = self.save_to(self.path)
        if saved and then is not None:
            then()
        return saved

    def save_as(self, then: Callable[[], object] | None = None) -> object:
        """Save as…: ask for a file, save there; ``then`` runs once saved (never when the
        dialog is cancelled or the file cannot be written)."""
        name = Path(self.path).name if self.path else "conversation.toml"

        def chosen(path: str) -> None:
            if self.save_to(path) and then is not None:
                then()

        return self.dialogs.save_file(chosen, name)

    def save_to(self, path: str) -> bool:
        """Write the text to ``path`` (even when it does not check: the user's work is kept)."""
        try:
            Path(path).write_text(self.editor.plain_text(), encoding="utf-8")
        except OSError as exc:
            self._say(f"Could not save {path}: {_reason(exc)}", False)
            return False
        self.editor.set_modified(False)
        self.set_path(path)
        self._say(f"Saved {path}", True)
        return True

    # -- running ----------------------------------------------------------------------------

    @property
    def task(self) -> asyncio.Task[Any] | None:
        """The running (or last) run's task."""
        return self.runs.task

    def _checked(self) -> Conversation | None:
        conversation = self.editor.validate()
        if conversation is None:
            self._say("The file has an error: fix it to run the conversation", False)
        return conversation

    def run_new(self) -> asyncio.Task[Any] | None:
        """Run: the conversation on a new socket."""
        conversation = self._checked()
        if conversation is None or self.runs.running:
            return None
        self.tabs.setCurrentIndex(0)
        self._say(f"Running {conversation.title}…", True)
        return self.runs.run(conversation)

    def run_selected(self) -> asyncio.Task[Any] | None:
        """Run on selected: the steps on the selected connected TCP socket."""
        sid = self._connected_selection()
        conversation = self._checked()
        if sid is None or conversation is None or self.runs.running:
            return None
        self.tabs.setCurrentIndex(0)
        self._say(f"Running {conversation.title} on socket {sid}…", True)
        return self.runs.run(conversation, socket_id=sid)

    def stop(self) -> None:
        self.runs.stop()

    def choose_folder(self) -> object:
        return self.dialogs.choose_folder(self.run_folder)

    def run_folder(self, folder: str | Path) -> asyncio.Task[Any] | None:
        """Run all: every ``*.toml`` of ``folder``, summed up in the Run all tab."""
        if self.runs.running:
            return None
        try:
            variables = self.editor.variable_values()
        except ValueError as exc:
            self._say(str(exc), False)
            return None
        self.tabs.setCurrentIndex(1)
        self._say(f"Running every conversation in {folder}…", True)
        return self.runs.run_folder(Path(folder), variables)

    # -- recording --------------------------------------------------------------------------

    def record(self) -> bool:
        """Record: the selected TCP socket's last connection into the editor, unsaved, once
        unsaved changes are saved or discarded. True when there was one to record."""
        sid = self._selected()
        socket_record = self._session.ui(sid) if sid is not None else None
        if socket_record is None:
            self._say("Select a TCP socket to record its last connection", False)
            return False
        # Here, not at the top: tomli-w is loaded only by the users of Record.
        from workbench.session.conversation_record import record_conversation

        try:
            text = record_conversation(socket_record, self._session.call_log.entries())
        except ValueError as exc:
            self._say(f"Socket {sid}: {exc}", False)
            return False

        def show() -> None:
            self.editor.set_text(text)
            self.editor.set_modified(True)
            self.tabs.setCurrentIndex(0)
            self._show_file()
            self._say(f"Recorded socket {sid}'s last connection: edit it, then save it", True)

        self.unsaved.ask_then(show, f"recording socket {sid}")
        return True

    # -- state ------------------------------------------------------------------------------

    def _connected_selection(self) -> int | None:
        sid = self._selected()
        socket_record = self._session.ui(sid) if sid is not None else None
        if socket_record is None or not socket_record.state.connected:
            return None
        return None if row_state(socket_record).busy else sid

    def update_actions(self, *_args: object) -> None:
        """Enable what applies now; a disabled control's tip says why."""
        running = self.runs.running
        valid = isinstance(self.editor.result, Conversation)
        why = "" if valid else "Fix the file's error first. "
        why = "A conversation is running. " if running else why
        self._enable(self.run_button, not why, why, "Run the conversation on a new socket")
        selected = self._connected_selection()
        on_selected = "Select a connected TCP socket. " if selected is None else why
        self._enable(
            self.run_selected_button,
            not on_selected,
            on_selected,
            "Run the steps on the selected connected TCP socket"
            + (f" (socket {selected})" if selected is not None else ""),
        )
        self.stop_button.setEnabled(running)
        self.run_folder_button.setEnabled(not running)
        self._update_record()

    def _update_record(self) -> None:
        sid = self._selected()
        socket_record = self._session.ui(sid) if sid is not None else None
        if socket_record is None:
            why = "Select a TCP socket to record its last connection"
        elif not socket_record.ever_connected:
            why = f"Socket {sid} never connected: there is nothing to record"
        else:
            why = ""
        tip = why or f"Turn socket {sid}'s last connection into a conversation"
        self.record_action.setEnabled(not why)
        self.record_action.setToolTip(tip)
        self.record_action.setStatusTip(tip)

    @staticmethod
    def _enable(button: QPushButton, enabled: bool, why: str, tip: str) -> None:
        button.setEnabled(enabled)
        button.setToolTip(tip if enabled else f"{why}{tip}".strip())

    def _validated(self, result: object) -> None:
        valid = isinstance(result, Conversation)
        # Greyed while the text does not check: the steps shown are the last good ones.
        self.steps.setEnabled(valid or self.runs.running)
        if isinstance(result, Conversation) and not self.runs.running:
            labels = [step.label() for step in result.steps]
            if labels != self.steps.labels():
                self.steps.show_steps(result.steps)
        self.update_actions()

    def _say(self, text: str, ok: bool) -> None:
        self.status_label.setText(text)
        color = _OK_COLOR if ok else _FAIL_COLOR
        plain = not ok or text.startswith(("Saved", "Opened", "Running", "Recorded"))
        self.status_label.setStyleSheet(
            "" if plain and ok else f"QLabel {{ color: {color}; font-weight: bold; }}"
        )

    def _step_activated(self, item: QTreeWidgetItem, _column: int) -> None:
        index = self.steps.indexOfTopLevelItem(item)
        if 0 <= index < len(self.steps.steps) and (line := self.steps.steps[index].line):
            self.editor.go_to_line(line)

    def _summary_activated(self, item: QTreeWidgetItem, _column: int) -> None:
        path = SummaryTable.path_of(item)
        if path:
            self.unsaved.ask_then(lambda: self._open_at_error(path), f"opening {Path(path).name}")

    def _open_at_error(self, path: str) -> None:
        if self.open_file(path):
            error = self.editor.error
            if isinstance(error, ConversationError) and error.line is not None:
                self.editor.go_to_line(error.line)

    def shutdown(self) -> None:
        self.runs.stop()
        self.editor.shutdown()


def _reason(exc: BaseException) -> str:
    return exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)


class ConversationsDock(QDockWidget):
    """View → Conversations: the ``ConversationsPane`` (``pane``), beside the call log."""

    def __init__(self, pane: ConversationsPane, parent: QMainWindow) -> None:
        super().__init__("Conversations", parent)
        self.setObjectName("conversationsDock")
        self.setAccessibleName("Conversations")
        self.setToolTip("Conversation files: write, record, run, and run a folder of them")
        self.pane = pane
        self.setWidget(pane)
        self.setAllowedAreas(
            Qt.DockWidgetArea.BottomDockWidgetArea | Qt.DockWidgetArea.RightDockWidgetArea
        )
        toggle = self.toggleViewAction()
        toggle.setObjectName("conversationsDockAction")
        toggle.setText("&Conversations")
        toggle.setToolTip("Show or hide the Conversations pane")
        toggle.setStatusTip(toggle.toolTip())
        toggle.triggered.connect(self._toggled)

    def dock_beside(self, window: QMainWindow, other: QDockWidget) -> None:
        """Add the dock to ``window`` as a hidden tab beside ``other``."""
        window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self)
        window.tabifyDockWidget(other, self)
        other.raise_()
        self.hide()

    def reveal(self) -> None:
        """Show the dock in front of its tab group, tall enough for the editor and steps."""
        self.show()
        self.raise_()
        window = self.parentWidget()
        if isinstance(window, QMainWindow) and self.height() < DOCK_HEIGHT:
            window.resizeDocks([self], [DOCK_HEIGHT], Qt.Orientation.Vertical)

    def _toggled(self, checked: bool) -> None:
        if checked:
            self.reveal()


def _socket_menu(window: QMainWindow) -> QMenu | None:
    for action in window.menuBar().actions():
        menu = action.menu()
        if isinstance(menu, QMenu) and action.text().replace("&", "") == "Socket":
            return menu
    return None


class ConversationsHost(Protocol):
    """What ``install_conversations`` needs of the window (a ``QMainWindow``): the main
    window satisfies it, and this module need not import it."""

    @property
    def session(self) -> SocketSession: ...

    @property
    def runner(self) -> TaskRunner: ...

    @property
    def current(self) -> CurrentSocket: ...

    @property
    def window_actions(self) -> WindowActions: ...

    @property
    def call_log_dock(self) -> QDockWidget: ...

    @property
    def close_confirmation(self) -> CloseConfirmation: ...

    @property
    def shutDown(self) -> SignalInstance: ...

    def select_socket(self, sid: int | None) -> None: ...

    def prefill_peer(self, sid: int, host: str, port: int, dns: str = "any") -> None: ...


def install_conversations(host: ConversationsHost) -> ConversationsPane:
    """Build the Conversations dock into ``window``: hidden, beside the call log, toggled
    from the View menu; Record in the Socket menu; the pane follows the current socket and
    selects the row of a socket a run creates; quitting asks about unsaved changes."""
    window = host
    assert isinstance(window, QMainWindow), "the conversations dock goes into a main window"
    current = window.current
    pane = ConversationsPane(window.session, window.runner, lambda: current.sid)
    dock = ConversationsDock(pane, window)
    dock.dock_beside(window, window.call_log_dock)
    window.window_actions.add_view_toggle(dock.toggleViewAction())
    menu = _socket_menu(window)
    if menu is not None:
        menu.addSeparator()
        menu.addAction(pane.record_action)
    current.changed.connect(pane.update_actions)
    window.session.socketStatesChanged.connect(pane.update_actions)
    window.session.socketRemoved.connect(pane.update_actions)

    def created(sid: int, host: str, port: int, dns: str) -> None:
        # The run's row is the one to watch: the data view shows its bytes, the Connect
        # tab its peer.
        window.select_socket(sid)
        window.prefill_peer(sid, host, port, dns)

    pane.socketCreated.connect(created)
    window.shutDown.connect(pane.shutdown)
    # Quitting loses the editor's text as surely as New does: Quit asks about it too.
    window.close_confirmation.add_unsaved(pane.unsaved)
    return pane
