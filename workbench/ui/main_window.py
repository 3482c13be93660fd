"""The main window: the socket table, the selected socket's panels and data, the call log.

Layout (``window_layout``): the socket table on the left; on the right the option panels
(``socket_tabs``) above the data pane and the send composer; the call log docked at the bottom;
Tools → Local servers docks the built-in servers (``servers_dock``). Every action
(``window_actions``) acts on the selected sockets (Pause/Resume, Disconnect and Close act on all
of them) and starts ONE coroutine through the ``TaskRunner``.

The window itself only wires these together and follows the current socket.

No nested event loops anywhere: dialogs are opened with ``open()``/``show()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import shiboken6
from PySide6.QtCore import Signal
from PySide6.QtGui import QCloseEvent, QResizeEvent, QShowEvent
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QFileDialog,
    QMainWindow,
    QMenu,
    QWidget,
)

from workbench.core.formatting import describe_result
from workbench.session.settings import PersistedSocket, Settings, SettingsStore
from workbench.sockets import (
    TcpSockets,
)
from workbench.ui.about import TITLE, AboutBox, about_text, version_info, window_icon
from workbench.ui.bridge import CallLog, SocketSession, TaskRunner
from workbench.ui.call_log_dock import CallLogDock
from workbench.ui.close_confirm import CloseConfirmation
from workbench.ui.composer import SendComposer
from workbench.ui.conversations_pane import install_conversations
from workbench.ui.current_socket import CurrentSocket
from workbench.ui.data_view import DataPane, DataView
from workbench.ui.errors import ErrorBanner
from workbench.ui.socket_model import SocketSortProxy, SocketTableModel
from workbench.ui.socket_table import SocketTable
from workbench.ui.socket_tabs import SocketTabs
from workbench.ui.theme import apply_theme
from workbench.ui.window_actions import WindowActions
from workbench.ui.window_commands import SocketCommands
from workbench.ui.window_layout import WindowLayout
from workbench.ui.window_settings import WindowSettings
from workbench.ui.window_status import SocketCount

if TYPE_CHECKING:
    from workbench.net.servers import ServerManager
    from workbench.session.logged import LoggedTcp
    from workbench.ui.servers_dock import ServersDock
    from workbench.ui.servers_panel import ServersPanel

__all__ = ["MainWindow", "about_text", "version_info", "window_icon"]

_log = logging.getLogger("workbench.ui")


class MainWindow(QMainWindow):
    """Socket Workbench's window.

    Signals:
        shutDown(): every socket is closed and the capture files are gone (after close()).
        currentSocketChanged(object): the selected socket id (``int`` or ``None``).
    """

    shutDown = Signal()
    currentSocketChanged = Signal(object)

    def __init__(
        self,
        sockets: TcpSockets,
        *,
        settings: Settings | None = None,
        store: SettingsStore | None = None,
        capture_dir: Path | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("mainWindow")
        self.setWindowTitle(TITLE)
        self.setAccessibleName(TITLE)
        self.settings = settings if settings is not None else Settings()
        self.shut_down = False
        self._closing = False
        self._shutdown_task: asyncio.Task[None] | None = None
        #: the asynchronous set-up ``workbench.app.build_main_window`` starts, if any.
        self.setup_task: asyncio.Task[Any] | None = None
        self.server_manager: ServerManager | None = None
        self.servers_panel: ServersPanel | None = None
        self.servers_dock: ServersDock | None = None
        self.about_box = AboutBox(self)

        self._build_session(sockets, capture_dir)
        self._build_panes()
        self._build_call_log()
        self._build_actions()
        self._build_status_bar()
        self._wire()
        self._build_settings(store)
        self.conversations = install_conversations(self)
        self.current.select(None)
        self.resize(1280, 800)
        self.setMinimumSize(800, 560)

    @property
    def store(self) -> SettingsStore | None:
        """Where the settings are saved when the window closes (None: nowhere)."""
        return self.window_settings.store

    # ------------------------------------------------------------------------------ building

    def _build_session(self, sockets: TcpSockets, capture_dir: Path | None) -> None:
        # Not children of the window: the asynchronous shutdown outlives the window's widgets.
        self.runner = TaskRunner()
        self.call_log = CallLog()
        self.session = SocketSession(
            sockets,
            call_log=self.call_log,
            capture_dir=capture_dir,
            capture_limit=self.settings.capture_limit,
        )
        self.sockets: LoggedTcp = self.session.sockets
        self.model = SocketTableModel(self.session, self)
        self.proxy = SocketSortProxy(self)
        self.proxy.setSourceModel(self.model)
        self.table = SocketTable(self.model, self.proxy)

    def _build_panes(self) -> None:
        self.tabs = SocketTabs(self.session, self.runner)
        self.properties_panel = self.tabs.properties_panel
        self.connect_panel = self.tabs.connect_panel
        self.tls_panel = self.tabs.tls_panel
        self.tcp_panel = self.tabs.tcp_panel
        self.listen_panel = self.tabs.listen_panel
        self.rules_panel = self.tabs.rules_panel
        self.panels = self.tabs.panels
        self.data_pane = DataPane()
        self.data_view: DataView = self.data_pane.view
        self.composer = SendComposer(runner=self.runner, udp_sender=self.session.udp)
        self.window_layout = WindowLayout(
            self, self.table, self.tabs, self.data_pane, self.composer, self.settings
        )
        self.error_banner = ErrorBanner()
        self.setCentralWidget(self.window_layout.central(self.error_banner))

    def _build_call_log(self) -> None:
        self.call_log_dock = CallLogDock(self.call_log, self)
        self.call_log_view = self.call_log_dock.view
        self.call_log_dock.dock_into(self)

    def _build_actions(self) -> None:
        actions = WindowActions(self, self, self.settings.theme)
        actions.attach_table(self.table)
        actions.build_menus(self.call_log_dock)
        actions.build_toolbar()
        self.window_actions = actions
        self.new_action = actions.new_action
        self.new_server_action = actions.new_server_action
        self.connect_action = actions.connect_action
        self.secure_action = actions.secure_action
        self.pause_action = actions.pause_action
        self.disconnect_action = actions.disconnect_action
        self.close_action = actions.close_action
        self.clear_action = actions.clear_action
        self.save_action = actions.save_action
        self.copy_text_action = actions.copy_text_action
        self.copy_hex_action = actions.copy_hex_action
        self.quit_action = actions.quit_action
        self.servers_action = actions.servers_action
        self.about_action = actions.about_action

    def _build_status_bar(self) -> None:
        self.statusBar().setObjectName("statusBar")
        self.socket_count = SocketCount(self.session)
        self.statusBar().addPermanentWidget(self.socket_count)

    def _build_settings(self, store: SettingsStore | None) -> None:
        self.window_settings = WindowSettings(
            self.settings,
            store,
            self.session,
            self.window_layout,
            self.connect_panel,
            servers=lambda: self.server_manager,
            report_error=self.report_error,
        )
        self.window_layout.apply_view_prefs()

    def _wire(self) -> None:
        """The objects that act on the widgets, and the signals between them."""
        self.call_log_view.follow(self.session)
        self.current = CurrentSocket(
            self.session,
            self.table,
            self.tabs,
            self.data_pane,
            self.composer,
            self.window_actions,
            self,
        )
        self.current.changed.connect(self.currentSocketChanged)
        self.current.keyChanged.connect(self.tabs.scroll_to_top)
        self.close_confirmation = CloseConfirmation(self, self.settings)
        self.window_actions.add_edit_toggle(self.close_confirmation.ask_action)
        self.commands = SocketCommands(
            self.session, self.runner, self.current, self.tabs, self.statusBar().showMessage,
            self.composer.show_send_result, self.composer.destination_row.show_destination,
        ).evidence(self)  # File → Export → pcapng…, the global TLS key log
        self.session.receiveError.connect(self._receive_error)
        self.data_view.saveFinished.connect(self._save_finished)
        self.composer.sendRequested.connect(self.commands.send)
        self.runner.failed.connect(self._task_failed)

    # ----------------------------------------------------------------------------- selection

    def current_socket(self) -> int | None:
        return self.current.sid

    def selected_sockets(self) -> list[int]:
        """The selected rows' sockets, or else the current socket."""
        return self.current.selected()

    def select_socket(self, sid: int | None) -> None:
        """Make ``sid`` the current (and only selected) row."""
        self.current.select(sid)

    def _receive_error(self, sid: int, code: int) -> None:
        if code != -100:
            self.statusBar().showMessage(
                f"Socket {sid}: onReceiveError {describe_result(code)}", 8000
            )

    # ------------------------------------------------------------------------------ commands

    def new_socket(self, *_args: Any) -> asyncio.Task[Any] | None:
        return self.commands.new_socket()

    def new_server(self, *_args: Any) -> asyncio.Task[Any] | None:
        return self.commands.new_server()

    def new_udp_socket(self, *_args: Any) -> asyncio.Task[Any] | None:
        return self.commands.new_udp_socket()

    def new_server_from_preset(self, name: str) -> asyncio.Task[Any] | None:
        return self.commands.new_server_from_preset(name)

    def connect_current(self, *_args: Any) -> None:
        # The current tab stays: the toolbar acts, it does not move the tabs under the mouse.
        self.connect_panel.connectButton.click()

    def secure_current(self, *_args: Any) -> None:
        self.tls_panel.secureButton.click()

    def toggle_pause(self, *_args: Any) -> asyncio.Task[Any] | None:
        return self.commands.toggle_pause()

    def disconnect_selected(self, *_args: Any) -> asyncio.Task[Any] | None:
        return self.commands.disconnect_selected()

    def close_selected(self, *_args: Any) -> None:
        """Close the highlighted sockets; when their captures hold data, ask first."""
        self.commands.close_selected_asking(self.close_confirmation)

    # ---------------------------------------------------------------------------------- data

    def clear_data(self, *_args: Any) -> None:
        """Edit → Clear data (Ctrl+L): a capture that holds data asks first (no undo)."""
        self.current.clear_data(self.close_confirmation)

    def save_data(self, *_args: Any) -> QFileDialog | None:
        """Ask where (a non-modal dialog), then save in slices without blocking the loop."""
        return self.current.save_data()

    def _save_finished(self, path: str, error: str) -> None:
        if error and error != "cancelled":
            self.report_error(f"Could not save the data to {path}: {error}")
        elif not error:
            self.statusBar().showMessage(f"Saved the data to {path}", 5000)

    def find_in_data(self, *_args: Any) -> None:
        """Edit → Find (Ctrl+F), from anywhere in the window: the data pane's find field."""
        self.data_pane.find_bar.focus_input()

    def copy_as_text(self, *_args: Any) -> None:
        if self.current.copy_as_text():
            self.statusBar().showMessage("Copied as text", 2000)

    def copy_as_hex(self, *_args: Any) -> None:
        if self.current.copy_as_hex():
            self.statusBar().showMessage("Copied as hex", 2000)

    # ------------------------------------------------------------------- menus and dialogs

    def show_about(self, *_args: Any) -> QDialog:
        """Help → About: a non-modal dialog (``open()``, never ``exec()``)."""
        return self.about_box.show()

    def about_text(self) -> str:
        return self.about_box.text()

    def set_theme(self, theme: str) -> None:
        app = QApplication.instance()
        if isinstance(app, QApplication):
            self.settings.theme = apply_theme(app, theme)
        self.window_actions.check_theme(theme)

    def table_menu(self) -> QMenu:
        """The socket table's context menu (the same actions as the toolbar)."""
        return self.window_actions.table_menu()

    def report_error(self, message: str, details: str = "") -> None:
        """Show the message in the window's non-modal banner, and log it (for a terminal, or
        the log file of a windowed build)."""
        _log.warning("%s", message)
        if shiboken6.isValid(self.error_banner):
            self.error_banner.report(message, details)

    def _task_failed(self, text: str) -> None:
        self.report_error(f"A task failed: {text}", "See the log for the traceback.")

    # ------------------------------------------------------------------------- local servers

    def attach_servers(self, manager: ServerManager, *, own: bool = True) -> None:
        """Show the built-in servers (Tools → Local servers) managed by ``manager``."""
        from workbench.ui.servers_dock import ServersDock

        dock = ServersDock(manager, self.runner, own=own, parent=self)
        dock.connect_to(self, udp=self.commands.new_udp_socket_to)
        dock.dock_beside(self, self.call_log_dock)
        self.window_actions.add_view_toggle(dock.toggleViewAction())
        self.server_manager = manager
        # Listening sockets' "Built-in test CA" issues its certificates under the same CA, and
        # the built-in TLS servers write their keys to the global key log (Edit menu) too.
        self.session.servers.cert_dir = manager.cert_dir
        manager.keylog_from = self.session.core.tcp
        self.servers_panel = dock.panel
        self.servers_dock = dock

    def show_servers(self, *_args: Any) -> None:
        if self.servers_dock is None:
            self.statusBar().showMessage("The built-in servers are off in this window.", 5000)
            return
        self.servers_dock.reveal()

    def new_socket_to(
        self, host: str, port: int, kind: str = "", *, connect: bool = False
    ) -> asyncio.Task[Any] | None:
        manager = self.server_manager
        ca_file = str(manager.ca_file) if manager is not None else None
        return self.commands.new_socket_to(host, port, kind, ca_file, connect=connect)

    def prefill_peer(self, sid: int, host: str, port: int, dns: str = "any") -> None:
        """Remember where ``sid`` should connect; the Connect tab shows it."""
        self.commands.prefill_peer(sid, host, port, dns)

    def trust_ca(self, ca_path: str) -> None:
        self.tabs.trust_ca(ca_path)
        self.statusBar().showMessage(f"The TLS tab now trusts {ca_path}", 5000)

    # ---------------------------------------------------------------------- settings, session

    def restore_window_state(self) -> None:
        self.window_layout.restore()

    def collect_settings(self) -> Settings:
        return self.window_settings.collect()

    def persistent_sockets(self) -> list[PersistedSocket]:
        return self.window_settings.persistent_sockets()

    def save_settings(self) -> str | None:
        return self.window_settings.save()

    async def restore_sockets(self, saved: list[PersistedSocket]) -> list[int]:
        """Create, configure and reconnect the persistent sockets of the last session."""
        keys = await self.window_settings.restore_sockets(
            saved, lambda key: self.commands.restored(key.id)
        )
        for panel in self.panels:
            panel.refresh()
        return [key.id for key in keys]

    # -------------------------------------------------------------------------------- layout

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.window_layout.shown()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.window_layout.resized()

    def fit_splitters(self) -> None:
        """Give the data view the room (see ``WindowLayout.fit``)."""
        self.window_layout.fit()

    # ------------------------------------------------------------------------------- closing

    def quit_window(self, *_args: Any) -> None:
        """File → Quit (Ctrl+Q): every capture and unsaved conversation goes with the window,
        so ask first when any holds data (``confirm_close``) or changes; then close."""
        self.close_confirmation.ask_quit(*self.session.captured_in_all(), self.close)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._closing:
            event.accept()
            return
        if event.spontaneous():
            # The window manager's close button asks as Quit does; close() from the program
            # (Ctrl+C or SIGTERM in the terminal, Quit once answered, tests) does not.
            sockets, captured = self.session.captured_in_all()
            if self.close_confirmation.asks_quit(captured):
                event.ignore()
                self.close_confirmation.ask_quit(sockets, captured, self.close)
                return
        self._closing = True
        self.commands.stop()
        try:
            self.save_settings()
        except Exception:  # never let a settings problem keep the window open
            _log.exception("saving the settings failed")
        event.accept()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._finish_shutdown()
            return
        self._shutdown_task = loop.create_task(self._shutdown(), name="window shutdown")

    async def _shutdown(self) -> None:
        try:
            with contextlib.suppress(Exception):
                self.data_view.set_store(None)
            with contextlib.suppress(Exception):
                self.composer.shutdown()
            with contextlib.suppress(Exception):
                self.tabs.rules_panel.shutdown()
            # The views let go first: closing 10,000 sockets must not remove 10,000 rows one
            # by one, each moving the selection and refreshing the panels.
            self.current.select(None)
            self.model.detach()
            await self.runner.cancel_all()
            await self.session.close_all()
            if self.servers_dock is not None:
                await self.servers_dock.shutdown()
        except Exception:
            _log.exception("closing the window's sockets failed")
        finally:
            self._finish_shutdown()

    def _finish_shutdown(self) -> None:
        self.session.shutdown()
        self.shut_down = True
        if shiboken6.isValid(self):
            self.shutDown.emit()
