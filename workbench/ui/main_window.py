"""The main window: the socket table, the selected socket's panels and data, the call log.

Layout: the socket table on the left; on the right the option panels (tabs) above the data
pane and the send composer; the call log docked at the bottom; Tools → Local servers docks the
built-in servers. Every action acts on the selected sockets (Pause/Resume, Disconnect and Close
act on all of them) and starts ONE coroutine through the ``TaskRunner``.

No nested event loops anywhere: dialogs are opened with ``open()``/``show()``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import platform
import ssl
from pathlib import Path
from typing import Any

import shiboken6
from PySide6.QtCore import QByteArray, QItemSelectionModel, QModelIndex, Qt, Signal
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QCloseEvent,
    QFont,
    QFontMetrics,
    QIcon,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDockWidget,
    QFileDialog,
    QHeaderView,
    QLabel,
    QLayout,
    QMainWindow,
    QMenu,
    QScrollArea,
    QSplitter,
    QStyle,
    QTableView,
    QTabWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from workbench import __version__
from workbench.core.formatting import describe_result
from workbench.session import SocketKey, row_state
from workbench.session.persist import ManagedServers, persisted_sockets, restore_sockets
from workbench.session.settings import THEMES, PersistedSocket, Settings, SettingsStore
from workbench.sockets import (
    DnsQueryType,
    SecureOptions,
    SocketNotFoundError,
    SocketProperties,
    TcpSockets,
)
from workbench.ui.bridge import CallLog, SocketSession, TaskRunner
from workbench.ui.call_log_view import CallLogView
from workbench.ui.composer import SendComposer
from workbench.ui.data_view import DataPane, DataView
from workbench.ui.errors import ErrorBanner
from workbench.ui.panels import ConnectPanel, PropertiesPanel, TcpOptionsPanel, TlsPanel
from workbench.ui.socket_model import SOCKET_ID_ROLE, Column, SocketSortProxy, SocketTableModel
from workbench.ui.theme import apply_theme

__all__ = ["MainWindow", "about_text", "version_info", "window_icon"]

_log = logging.getLogger("workbench.ui")

TITLE = "Socket Workbench"
LICENCE = "MIT"


def version_info() -> dict[str, str]:
    import PySide6
    from PySide6 import QtCore

    return {
        "Socket Workbench": __version__,
        "Qt": QtCore.qVersion(),
        "PySide6": PySide6.__version__,
        "Python": platform.python_version(),
        "OpenSSL": ssl.OPENSSL_VERSION,
        "Licence": LICENCE,
    }


def about_text() -> str:
    info = version_info()
    rows = "".join(f"<tr><td><b>{k}</b></td><td>{v}</td></tr>" for k, v in info.items())
    return (
        "<h3>Socket Workbench</h3>"
        "<p>Test TCP and TLS servers by pointing and clicking: Chrome's "
        "<code>chrome.sockets.tcp</code> API on asyncio, in a Qt window.</p>"
        f"<table cellspacing='4'>{rows}</table>"
    )



def _b64(data: QByteArray) -> str:
    return base64.b64encode(bytes(data.data())).decode("ascii")


def _unb64(text: str) -> QByteArray | None:
    try:
        return QByteArray(base64.b64decode(text.encode("ascii"), validate=True))
    except (ValueError, UnicodeError):
        return None


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
        self.store = store
        self.shut_down = False
        self._closing = False
        self._current: int | None = None
        self._user_theme = self.settings.theme
        self.server_manager: Any = None
        self.servers_panel: Any = None
        self._servers_dock: QDockWidget | None = None
        self._own_servers = False
        self._about: QDialog | None = None
        self._sized = False
        self._user_split = False

        # Not children of the window: the asynchronous shutdown outlives the window's widgets.
        self.runner = TaskRunner()
        self.call_log = CallLog()
        self.session = SocketSession(sockets, call_log=self.call_log, capture_dir=capture_dir,
                                     capture_limit=self.settings.capture_limit)
        self.sockets = self.session.sockets
        self.model = SocketTableModel(self.session, self)
        self.proxy = SocketSortProxy(self)
        self.proxy.setSourceModel(self.model)

        self._build_table()
        self._build_right()
        self._build_central()
        self._build_call_log()
        self._build_actions()
        self._build_menus_and_toolbar()
        self.statusBar().setObjectName("statusBar")
        self._status = QLabel("")
        self._status.setObjectName("statusSockets")
        self.statusBar().addPermanentWidget(self._status)

        self.runner.failed.connect(self._task_failed)
        self.session.socketAdded.connect(self._socket_added)
        self.session.socketRemoved.connect(self._socket_removed)
        self.session.socketChanged.connect(self._socket_changed)
        self.session.dataArrived.connect(self._data_arrived)
        self.session.receiveError.connect(self._receive_error)
        self.connect_panel.recentPeersChanged.connect(self._recent_peers_changed)
        self.connect_panel.set_recent_peers(self.settings.recent_peers)
        self._apply_view_prefs()
        self._select(None)
        self.resize(1280, 800)
        self.setMinimumSize(800, 560)

    # ------------------------------------------------------------------------------ layout

    def _build_table(self) -> None:
        table = QTableView()
        table.setObjectName("socketTable")
        table.setAccessibleName("Sockets")
        table.setToolTip("Every socket: select one to see its panels and data; select several "
                         "to pause, disconnect or close them together")
        table.setModel(self.proxy)
        table.setSortingEnabled(True)
        table.sortByColumn(Column.ID, Qt.SortOrder.AscendingOrder)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        table.setAlternatingRowColors(True)
        table.setShowGrid(False)
        table.setWordWrap(False)
        table.setTextElideMode(Qt.TextElideMode.ElideRight)
        table.verticalHeader().hide()
        table.verticalHeader().setDefaultSectionSize(
            table.fontMetrics().height() + 8
        )
        header = table.horizontalHeader()
        header.setHighlightSections(False)
        header.setStretchLastSection(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        fm = table.fontMetrics()
        bold_font = QFont(table.font())
        bold_font.setBold(True)
        bold = QFontMetrics(bold_font)  # the State column is bold
        pad = fm.horizontalAdvance("x") + 12
        icon = table.style().pixelMetric(QStyle.PixelMetric.PM_SmallIconSize)
        samples = {
            Column.ID: (fm, "888"), Column.NAME: (fm, "tls-echo·"),
            # Long states ("Error: CONNECTION_REFUSED") elide; the tooltip has them in full.
            Column.STATE: (bold, "TLS 1.3 (unverified)"),
            Column.LOCAL: (fm, "127.0.0.1:65535"), Column.PEER: (fm, "127.0.0.1:65535"),
            Column.TLS: (fm, "TLS 1.3 ·"), Column.RECEIVED: (fm, "1023.9 MiB"),
            Column.SENT: (fm, "1023.9 MiB"), Column.BUFFER: (fm, "4096 (default)"),
            Column.PERSISTENT: (fm, "Persistent"),
        }
        for column, (metrics, sample) in samples.items():
            # the row's icons (⚠, ✖) and their spacing
            extra = icon + 8 if column in (Column.STATE, Column.TLS) else 0
            header.resizeSection(column, metrics.horizontalAdvance(sample) + pad + extra)
        # At a glance: the state and its TLS, where each socket goes and how much moved.
        order = (Column.ID, Column.NAME, Column.STATE, Column.TLS, Column.PEER,
                 Column.RECEIVED, Column.SENT, Column.LOCAL, Column.BUFFER, Column.PERSISTENT)
        for visual, column in enumerate(order):
            header.moveSection(header.visualIndex(column), visual)
        table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        table.customContextMenuRequested.connect(self._table_menu)
        table.selectionModel().currentRowChanged.connect(self._current_row_changed)
        table.selectionModel().selectionChanged.connect(self._update_actions)
        self.table = table

    def _build_right(self) -> None:
        self.properties_panel = PropertiesPanel(self.session, self.runner)
        self.connect_panel = ConnectPanel(self.session, self.runner)
        self.tls_panel = TlsPanel(self.session, self.runner)
        self.tcp_panel = TcpOptionsPanel(self.session, self.runner)
        self.panels = [self.properties_panel, self.connect_panel, self.tls_panel,
                       self.tcp_panel]
        tabs = QTabWidget()
        tabs.setObjectName("socketTabs")
        tabs.setAccessibleName("Socket settings")
        tabs.setDocumentMode(True)
        for panel, title, tip in (
            (self.connect_panel, "&Connect", "Address, port, DNS preference; connect and "
                                             "disconnect"),
            (self.tls_panel, "&TLS", "TLS versions, verification, CA, client certificate; "
                                     "secure"),
            (self.tcp_panel, "TCP &options", "Keep-alive, no-delay, pause and resume"),
            (self.properties_panel, "&Properties", "Name, buffer size, persistent"),
        ):
            scroll = QScrollArea()
            scroll.setWidget(panel)
            scroll.setWidgetResizable(True)
            scroll.setFrameShape(QScrollArea.Shape.NoFrame)
            scroll.setObjectName(f"{panel.objectName()}Scroll")
            index = tabs.addTab(scroll, title)
            tabs.setTabToolTip(index, tip)
        self.tabs = tabs
        tabs.currentChanged.connect(self._tab_changed)

        self.data_pane = DataPane()
        self.data_view: DataView = self.data_pane.view
        self.data_view.saveFinished.connect(self._save_finished)
        self.composer = SendComposer(runner=self.runner)
        self.composer.sendRequested.connect(self._send_requested)
        self.view_mode: QComboBox | None = self.data_pane.findChild(QComboBox, "viewMode")

    def _build_central(self) -> None:
        right = QSplitter(Qt.Orientation.Vertical)
        right.setObjectName("rightSplitter")
        right.setChildrenCollapsible(False)
        right.addWidget(self.tabs)
        right.addWidget(self.data_pane)
        right.addWidget(self.composer)
        right.setStretchFactor(0, 0)
        right.setStretchFactor(1, 1)
        right.setStretchFactor(2, 0)
        right.setSizes([170, 460, 100])
        main = QSplitter(Qt.Orientation.Horizontal)
        main.setObjectName("mainSplitter")
        main.setChildrenCollapsible(False)
        main.addWidget(self.table)
        main.addWidget(right)
        main.setStretchFactor(0, 2)
        main.setStretchFactor(1, 3)
        main.setSizes([610, 670])
        self.splitters = {"main": main, "right": right}
        main.splitterMoved.connect(self._splitter_moved)
        right.splitterMoved.connect(self._splitter_moved)
        self.error_banner = ErrorBanner()
        central = QWidget()
        central.setObjectName("central")
        layout = QVBoxLayout(central)
        layout.setContentsMargins(4, 4, 4, 0)
        layout.setSpacing(4)
        layout.addWidget(self.error_banner)
        layout.addWidget(main, 1)
        self.setCentralWidget(central)

    def _build_call_log(self) -> None:
        self.call_log_view = CallLogView(self.call_log)
        dock = QDockWidget("Call log", self)
        dock.setObjectName("callLogDock")
        dock.setAccessibleName("Call log")
        dock.setToolTip("Every chrome.sockets.tcp call the window made")
        dock.setWidget(self.call_log_view)
        dock.setAllowedAreas(Qt.DockWidgetArea.BottomDockWidgetArea
                             | Qt.DockWidgetArea.RightDockWidgetArea)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
        self.resizeDocks([dock], [150], Qt.Orientation.Vertical)
        self.call_log_dock = dock

    def _action(self, name: str, text: str, tip: str, slot: Any, shortcut: Any = None,
                icon: QStyle.StandardPixmap | None = None) -> QAction:
        action = QAction(text, self)
        action.setObjectName(name)
        action.setToolTip(tip)
        action.setStatusTip(tip)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
            keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            action.setToolTip(f"{tip} ({keys})")
        if icon is not None:
            action.setIcon(self.style().standardIcon(icon))
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        sp = QStyle.StandardPixmap
        a = self._action
        self.new_action = a("newSocketAction", "&New socket", "Create a new TCP socket",
                            self.new_socket, "Ctrl+N", sp.SP_FileIcon)
        self.connect_action = a("connectAction", "&Connect",
                                "Connect the selected socket to the address on the Connect tab",
                                self.connect_current, "Ctrl+K", sp.SP_MediaPlay)
        self.secure_action = a("secureAction", "&Secure",
                               "Start TLS on the selected socket with the TLS tab's settings",
                               self.secure_current, "Ctrl+Shift+S", sp.SP_DialogApplyButton)
        self.pause_action = a("pauseAction", "&Pause", "Pause or resume receiving on the "
                              "selected sockets", self.toggle_pause, "Ctrl+P",
                              sp.SP_MediaPause)
        self.disconnect_action = a("disconnectAction", "&Disconnect",
                                   "Disconnect the selected sockets (they stay in the table)",
                                   self.disconnect_selected, "Ctrl+D", sp.SP_MediaStop)
        self.close_action = a("closeSocketAction", "C&lose socket",
                              "Close the selected sockets at once (no confirmation)",
                              self.close_selected, QKeySequence.StandardKey.Delete,
                              sp.SP_DialogCloseButton)
        # Delete acts on the table only: in a text field it deletes characters.
        self.close_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.removeAction(self.close_action)
        self.table.addAction(self.close_action)
        self.clear_action = a("clearDataAction", "Clear &data",
                              "Forget the selected socket's captured data", self.clear_data,
                              "Ctrl+L", sp.SP_DialogResetButton)
        self.save_action = a("saveDataAction", "&Save data…",
                             "Save the selected socket's data as raw bytes or a hex dump",
                             self.save_data, QKeySequence.StandardKey.Save,
                             sp.SP_DialogSaveButton)
        self.copy_text_action = a("copyAsTextAction", "Copy as &text",
                                  "Copy the selection (or all the data) as text",
                                  self.copy_as_text, "Ctrl+Shift+C")
        self.copy_hex_action = a("copyAsHexAction", "Copy as &hex",
                                 "Copy the selection (or all the data) as hex byte pairs",
                                 self.copy_as_hex, "Ctrl+Shift+H")
        self.quit_action = a("quitAction", "&Quit", "Close all sockets and quit", self.close,
                             QKeySequence.StandardKey.Quit)
        self.servers_action = a("localServersAction", "&Local servers",
                                "Built-in echo, TLS echo, chargen and other test servers",
                                self.show_servers, "Ctrl+Shift+L")
        self.about_action = a("aboutAction", "&About Socket Workbench",
                              "Versions and licence", self.show_about)
        self.theme_group = QActionGroup(self)
        self.theme_group.setExclusive(True)
        self.theme_actions: dict[str, QAction] = {}
        for theme in THEMES:
            action = QAction(theme.capitalize(), self, checkable=True)
            action.setObjectName(f"theme{theme.capitalize()}Action")
            action.setToolTip(f"Use the {theme} theme")
            action.setChecked(theme == self.settings.theme)
            action.triggered.connect(lambda _=False, t=theme: self.set_theme(t))
            self.theme_group.addAction(action)
            self.theme_actions[theme] = action

    def _build_menus_and_toolbar(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addActions([self.new_action, self.close_action])
        file_menu.addSeparator()
        file_menu.addAction(self.save_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        edit_menu = bar.addMenu("&Edit")
        edit_menu.addActions([self.copy_text_action, self.copy_hex_action])
        edit_menu.addSeparator()
        edit_menu.addAction(self.clear_action)
        socket_menu = bar.addMenu("&Socket")
        socket_menu.addActions([self.new_action, self.connect_action, self.secure_action,
                                self.pause_action, self.disconnect_action, self.close_action])
        view_menu = bar.addMenu("&View")
        view_menu.addAction(self.call_log_dock.toggleViewAction())
        theme_menu = view_menu.addMenu("&Theme")
        theme_menu.addActions(list(self.theme_actions.values()))
        self.view_menu = view_menu
        tools_menu = bar.addMenu("&Tools")
        tools_menu.addAction(self.servers_action)
        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self.about_action)
        for menu in (file_menu, edit_menu, socket_menu, view_menu, tools_menu, help_menu):
            menu.setToolTipsVisible(True)

        toolbar = QToolBar("Main toolbar", self)
        toolbar.setObjectName("mainToolbar")
        toolbar.setAccessibleName("Main toolbar")
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        toolbar.setMovable(False)
        toolbar.addActions([self.new_action, self.connect_action, self.secure_action,
                            self.pause_action, self.disconnect_action, self.close_action])
        toolbar.addSeparator()
        toolbar.addActions([self.clear_action, self.save_action, self.copy_text_action,
                            self.copy_hex_action])
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, toolbar)
        self.toolbar = toolbar

    # ---------------------------------------------------------------------- selection

    def current_socket(self) -> int | None:
        return self._current

    def selected_sockets(self) -> list[int]:
        rows = self.table.selectionModel().selectedRows()
        sids = [int(i.data(SOCKET_ID_ROLE)) for i in rows if i.data(SOCKET_ID_ROLE) is not None]
        if not sids and self._current is not None:
            sids = [self._current]
        return sorted(set(sids))

    def select_socket(self, sid: int | None) -> None:
        """Make ``sid`` the current (and only selected) row."""
        if sid is None:
            self.table.clearSelection()
            self._select(None)
            return
        row = self.model.row_of(sid)
        if row is None:
            return
        index = self.proxy.mapFromSource(self.model.index(row, 0))
        self.table.selectionModel().setCurrentIndex(
            index,
            QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows,
        )
        self.table.scrollTo(index)

    def _current_row_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        sid = current.data(SOCKET_ID_ROLE) if current.isValid() else None
        self._select(int(sid) if sid is not None else None)

    def _select(self, sid: int | None) -> None:
        if sid is not None and sid not in self.session:
            sid = None
        changed = sid != self._current
        self._current = sid
        for panel in self.panels:
            if panel.socket_id() != sid:
                panel.set_socket(sid)
        store = self.session.captures(sid) if sid is not None else None
        self.data_pane.set_store(store)
        self._update_note()
        # A file send keeps going to the socket it started on.
        self.composer.send_chunk = (lambda data, s=sid: self.sockets.send(s, data)) \
            if sid is not None else None
        self.data_pane.setEnabled(sid is not None)
        self._update_actions()
        if changed:
            self.currentSocketChanged.emit(sid)

    # ------------------------------------------------------------------ session signals

    def _socket_added(self, sid: int) -> None:
        self.call_log_view.add_socket(sid)
        self.select_socket(sid)
        self._update_status()

    def _socket_removed(self, sid: int) -> None:
        if sid == self._current:
            # The table already dropped the row; its new current row (if any) follows.
            self.data_pane.set_store(None)
            current = self.table.selectionModel().currentIndex()
            next_sid = current.data(SOCKET_ID_ROLE) if current.isValid() else None
            if next_sid is not None and int(next_sid) != sid:
                self.select_socket(int(next_sid))
            else:
                self._select(None)
        self._update_status()

    def _socket_changed(self, sid: int) -> None:
        if sid == self._current:
            self._update_actions()
            self._update_note()
        self._update_status()

    def _update_note(self) -> None:
        """The data pane's standing note: the capture limit was reached (non-modal)."""
        ui = self.session.ui(self._current) if self._current is not None else None
        if ui is not None and ui.capture_stopped is not None:
            self.data_pane.set_note(
                f"The capture stopped: {ui.capture_stopped}. Later bytes are counted, not "
                "kept; Clear data starts recording again."
            )
        else:
            self.data_pane.set_note("")

    def _data_arrived(self, sid: int) -> None:
        if sid == self._current:
            self.data_view.notify_grew()

    def _receive_error(self, sid: int, code: int) -> None:
        if code != -100:
            self.statusBar().showMessage(
                f"Socket {sid}: onReceiveError {describe_result(code)}", 8000
            )

    def _update_status(self) -> None:
        ids = self.session.ids()
        connected = sum(1 for s in ids if (i := self.session.info(s)) and i.connected)
        noun = "socket" if len(ids) == 1 else "sockets"
        self._status.setText(f"{len(ids)} {noun}, {connected} connected")

    def _update_actions(self, *_args: Any) -> None:
        sid = self._current
        selected = self.selected_sockets()
        info = self.session.info(sid) if sid is not None else None
        ui = self.session.ui(sid) if sid is not None else None
        has = sid is not None
        connected = bool(info and info.connected)
        busy = ui is not None and row_state(ui).busy
        self.connect_action.setEnabled(has and not connected and not busy)
        self.secure_action.setEnabled(has and connected and info is not None
                                      and info.tls is None and not busy)
        self.disconnect_action.setEnabled(bool(selected))
        self.close_action.setEnabled(bool(selected))
        self.pause_action.setEnabled(bool(selected))
        infos = [self.session.info(s) for s in selected]
        all_paused = bool(infos) and all(i is not None and i.paused for i in infos)
        self.pause_action.setText("&Resume" if all_paused else "&Pause")
        self.pause_action.setIcon(self.style().standardIcon(
            QStyle.StandardPixmap.SP_MediaPlay if all_paused
            else QStyle.StandardPixmap.SP_MediaPause))
        for action in (self.clear_action, self.save_action, self.copy_text_action,
                       self.copy_hex_action):
            action.setEnabled(has)
        self.composer.set_target_available(connected)

    # -------------------------------------------------------------------------- actions

    def _start(self, coro: Any, name: str) -> asyncio.Task[Any] | None:
        if self._closing:
            coro.close()
            return None
        return self.runner.start(coro, name=name)

    def new_socket(self, *_args: Any) -> asyncio.Task[Any] | None:
        return self._start(self.sockets.create(), "create")

    def connect_current(self, *_args: Any) -> None:
        self.tabs.setCurrentIndex(self.tabs.indexOf(self._scroll_of(self.connect_panel)))
        self.connect_panel.connectButton.click()

    def secure_current(self, *_args: Any) -> None:
        self.tabs.setCurrentIndex(self.tabs.indexOf(self._scroll_of(self.tls_panel)))
        self.tls_panel.secureButton.click()

    def _scroll_of(self, panel: QWidget) -> QWidget:
        widget: QWidget = panel
        while widget.parentWidget() is not None and not isinstance(widget, QScrollArea):
            widget = widget.parentWidget()
        return widget

    def toggle_pause(self, *_args: Any) -> asyncio.Task[Any] | None:
        sids = self.selected_sockets()
        if not sids:
            return None
        infos = [self.session.info(s) for s in sids]
        pause = not all(i is not None and i.paused for i in infos)

        async def run() -> None:
            for sid in sids:
                with contextlib.suppress(SocketNotFoundError):
                    await self.sockets.set_paused(sid, pause)
                    self.session.set_result(sid, "pause", 0)
            if self._current in sids:
                self.tcp_panel.refresh()

        return self._start(run(), "resume" if not pause else "pause")

    def disconnect_selected(self, *_args: Any) -> asyncio.Task[Any] | None:
        sids = self.selected_sockets()

        async def run() -> None:
            for sid in sids:
                with contextlib.suppress(SocketNotFoundError):
                    await self.sockets.disconnect(sid)
                    self.session.set_result(sid, "disconnect", 0)

        return self._start(run(), "disconnect") if sids else None

    def close_selected(self, *_args: Any) -> asyncio.Task[Any] | None:
        sids = self.selected_sockets()

        async def run() -> None:
            for sid in sids:
                with contextlib.suppress(SocketNotFoundError):
                    await self.sockets.close(sid)

        return self._start(run(), "close") if sids else None

    def clear_data(self, *_args: Any) -> None:
        sid = self._current
        if sid is None:
            return
        self.data_pane.set_store(None)
        store = self.session.clear_capture(sid)
        self.data_pane.set_store(store)
        self._update_note()

    def save_data(self, *_args: Any) -> QFileDialog | None:
        """Ask where (a non-modal dialog), then save in slices without blocking the loop."""
        if self._current is None:
            return None
        dialog = self.data_pane.save_data_dialog()
        dialog.selectFile(f"socket-{self._current}.bin")
        return dialog

    def _save_finished(self, path: str, error: str) -> None:
        if error and error != "cancelled":
            self.report_error(f"Could not save the data to {path}: {error}")
        elif not error:
            self.statusBar().showMessage(f"Saved the data to {path}", 5000)

    def copy_as_text(self, *_args: Any) -> None:
        if self._current is not None:
            self.data_view.copy_as_text()
            self.statusBar().showMessage("Copied as text", 2000)

    def copy_as_hex(self, *_args: Any) -> None:
        if self._current is not None:
            self.data_view.copy_as_hex()
            self.statusBar().showMessage("Copied as hex", 2000)

    def show_about(self, *_args: Any) -> QDialog:
        """Help → About: a non-modal dialog (``open()``, never ``exec()``)."""
        if self._about is not None and shiboken6.isValid(self._about):
            self._about.raise_()
            return self._about
        dialog = QDialog(self)
        dialog.setObjectName("aboutBox")
        dialog.setWindowTitle("About Socket Workbench")
        dialog.setAccessibleName("About Socket Workbench")
        layout = QVBoxLayout(dialog)
        # No size constraint: a fixed-size top-level makes some platforms warn
        # ("does not support propagateSizeHints"); the dialog is sized once below.
        layout.setSizeConstraint(QLayout.SizeConstraint.SetNoConstraint)
        label = QLabel(about_text(), dialog)
        label.setObjectName("aboutText")
        label.setTextFormat(Qt.TextFormat.RichText)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(label)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, dialog)
        buttons.rejected.connect(dialog.reject)
        layout.addWidget(buttons)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.resize(dialog.sizeHint())
        dialog.open()
        self._about = dialog
        return dialog

    def about_text(self) -> str:
        label = self._about.findChild(QLabel, "aboutText") if self._about is not None else None
        return label.text() if label is not None else ""

    def set_theme(self, theme: str) -> None:
        app = QApplication.instance()
        if isinstance(app, QApplication):
            self.settings.theme = apply_theme(app, theme)
        if theme in self.theme_actions:
            self.theme_actions[theme].setChecked(True)

    def table_menu(self) -> QMenu:
        """The socket table's context menu (the same actions as the toolbar)."""
        menu = QMenu(self)
        menu.setObjectName("socketContextMenu")
        menu.setToolTipsVisible(True)
        menu.addActions([self.connect_action, self.secure_action, self.pause_action,
                         self.disconnect_action, self.close_action])
        menu.addSeparator()
        menu.addActions([self.clear_action, self.save_action, self.copy_text_action,
                         self.copy_hex_action])
        menu.addSeparator()
        menu.addAction(self.new_action)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        return menu

    def _table_menu(self, pos: Any) -> None:
        self.table_menu().popup(self.table.viewport().mapToGlobal(pos))

    # ------------------------------------------------------------------------ sending

    def _send_requested(self, data: bytes) -> asyncio.Task[Any] | None:
        sid = self._current
        if sid is None:
            return None

        async def run() -> None:
            try:
                info = await self.sockets.send(sid, data)
            except SocketNotFoundError:
                return
            if info.result_code:
                self.statusBar().showMessage(
                    f"send on socket {sid}: {describe_result(info.result_code)}", 8000
                )
            else:
                self.statusBar().showMessage(f"Sent {len(data)} bytes on socket {sid}", 3000)

        return self._start(run(), f"send (socket {sid})")

    # ---------------------------------------------------------------------- errors

    def report_error(self, message: str, details: str = "") -> None:
        """Show the message in the window's non-modal banner, and log it (for a terminal, or
        the log file of a windowed build)."""
        _log.warning("%s", message)
        if shiboken6.isValid(self.error_banner):
            self.error_banner.report(message, details)

    def _task_failed(self, text: str) -> None:
        self.report_error(f"A task failed: {text}", "See the log for the traceback.")

    # ------------------------------------------------------------------- local servers

    def attach_servers(self, manager: Any, *, own: bool = True) -> None:
        """Show the built-in servers (Tools → Local servers) managed by ``manager``."""
        from workbench.ui.servers_panel import ServersPanel

        self.server_manager = manager
        self._own_servers = own
        panel = ServersPanel(manager, self.runner)
        panel.newSocketRequested.connect(self.new_socket_to)
        panel.trustCaRequested.connect(self.trust_ca)
        dock = QDockWidget("Local servers", self)
        dock.setObjectName("serversDock")
        dock.setAccessibleName("Local servers")
        dock.setWidget(panel)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
        self.tabifyDockWidget(self.call_log_dock, dock)
        self.call_log_dock.raise_()
        self.view_menu.insertAction(self.view_menu.actions()[1], dock.toggleViewAction())
        self.servers_panel = panel
        self._servers_dock = dock

    def show_servers(self, *_args: Any) -> None:
        if self._servers_dock is None:
            self.statusBar().showMessage("The built-in servers are off in this window.", 5000)
            return
        self._servers_dock.show()
        self._servers_dock.raise_()

    def new_socket_to(self, host: str, port: int, kind: str = "") -> asyncio.Task[Any] | None:
        async def run() -> int:
            name = kind or None
            sid = (await self.sockets.create(SocketProperties(name=name))).socket_id
            if kind == "tls-echo" and self.server_manager is not None:
                self.session.set_intent(
                    sid, secure=SecureOptions(ca_file=str(self.server_manager.ca_file))
                )
                if sid == self._current:
                    self.tls_panel.set_ca_file(str(self.server_manager.ca_file))
            self.prefill_peer(sid, host, port)
            if sid == self._current:
                self.tabs.setCurrentIndex(self.tabs.indexOf(self._scroll_of(self.connect_panel)))
            return sid

        return self._start(run(), f"new socket to {host}:{port}")

    def prefill_peer(self, sid: int, host: str, port: int, dns: str = "any") -> None:
        """Remember where ``sid`` should connect; the Connect tab shows it."""
        self.session.set_intent(sid, peer=(host, port, dns))
        if sid == self._current:
            self.connect_panel.set_peer(host, port)
            index = self.connect_panel.dns.findData(DnsQueryType(dns))
            self.connect_panel.dns.setCurrentIndex(max(index, 0))

    def trust_ca(self, ca_path: str) -> None:
        self.tls_panel.set_ca_file(ca_path)
        self.tls_panel.verify.setChecked(True)
        self.tabs.setCurrentIndex(self.tabs.indexOf(self._scroll_of(self.tls_panel)))
        self.statusBar().showMessage(f"The TLS tab now trusts {ca_path}", 5000)

    # ------------------------------------------------------------------ settings / session

    def _recent_peers_changed(self) -> None:
        self.settings.recent_peers = self.connect_panel.recent_peers()

    def _view_combos(self) -> dict[str, QComboBox | None]:
        return {
            "viewMode": self.data_pane.findChild(QComboBox, "viewMode"),
            "encoding": self.data_pane.findChild(QComboBox, "viewEncoding"),
            "sendMode": self.composer.findChild(QComboBox, "sendMode"),
            "sendLineEnding": self.composer.findChild(QComboBox, "sendLineEnding"),
        }

    def _apply_view_prefs(self) -> None:
        for key, combo in self._view_combos().items():
            value = self.settings.view.get(key)
            if combo is not None and value:
                index = combo.findText(value)
                if index >= 0:
                    combo.setCurrentIndex(index)

    def restore_window_state(self) -> None:
        geometry = _unb64(self.settings.geometry) if self.settings.geometry else None
        if geometry is not None:
            self.restoreGeometry(geometry)
        state = _unb64(self.settings.window_state) if self.settings.window_state else None
        if state is not None:
            self.restoreState(state)
        for name, splitter in self.splitters.items():
            data = self.settings.splitters.get(name)
            raw = _unb64(data) if data else None
            if raw is not None:
                splitter.restoreState(raw)
        data = self.settings.splitters.get("tableHeader")
        raw = _unb64(data) if data else None
        if raw is not None:
            self.table.horizontalHeader().restoreState(raw)

    def collect_settings(self) -> Settings:
        s = self.settings
        s.geometry = _b64(self.saveGeometry())
        s.window_state = _b64(self.saveState())
        s.splitters = {name: _b64(sp.saveState()) for name, sp in self.splitters.items()}
        s.splitters["tableHeader"] = _b64(self.table.horizontalHeader().saveState())
        s.recent_peers = self.connect_panel.recent_peers()
        s.view = {k: c.currentText() for k, c in self._view_combos().items() if c is not None}
        s.sockets = self.persistent_sockets()
        return s

    def persistent_sockets(self) -> list[PersistedSocket]:
        return persisted_sockets(self.session.core, self._builtin_servers())

    def _builtin_servers(self) -> ManagedServers | None:
        if self.server_manager is None:
            return None
        return ManagedServers(self.server_manager, self.report_error)

    def save_settings(self) -> str | None:
        if self.store is None:
            return None
        message = self.store.save(self.collect_settings())
        if message:
            self.report_error(message)
        return message

    async def restore_sockets(self, saved: list[PersistedSocket]) -> list[int]:
        """Create, configure and reconnect the persistent sockets of the last session."""

        def created(key: SocketKey) -> None:
            peer = self.session.core.registry[key].intent.peer
            if peer is not None:
                self.prefill_peer(key.id, *peer)

        keys = await restore_sockets(self.session.core, saved, self._builtin_servers(), created)
        for panel in self.panels:
            panel.refresh()
        return [key.id for key in keys]

    # ------------------------------------------------------------------------ layout

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        if not self._sized:
            self._sized = True
            if not self.settings.splitters:
                self.fit_splitters()

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        if self._sized and not self.settings.splitters and not self._user_split:
            self.fit_splitters()

    def fit_splitters(self) -> None:
        """Give the data view the room: the panels and the composer get what they need, the
        right side at least one full hex line, the socket table the rest."""
        main = self.splitters["main"]
        fm = self.data_view.fontMetrics()
        hex_line = fm.horizontalAdvance("0" * 79) + 40  # offset, 16 pairs, ASCII, scrollbar
        width = max(main.width(), 1)
        right_width = max(hex_line, int(width * 0.52))
        right_width = min(right_width, width - 360)
        main.blockSignals(True)
        main.setSizes([width - right_width, right_width])
        main.blockSignals(False)
        self._fit_tabs()

    def _fit_tabs(self) -> None:
        """Size the panels' pane to the panel on show: the TLS panel, with its certificate
        details, needs twice the Connect panel's height; at most half the right side (the data
        view keeps the rest)."""
        right = self.splitters["right"]
        height = max(right.height(), 1)
        scroll = self.tabs.currentWidget()
        panel = scroll.widget() if isinstance(scroll, QScrollArea) else None
        wanted = (panel or self.connect_panel).sizeHint().height()
        tabs = min(wanted + self.tabs.tabBar().sizeHint().height() + 8, height // 2)
        composer = self.composer.minimumSizeHint().height() + 8
        right.blockSignals(True)
        right.setSizes([tabs, max(height - tabs - composer, 80), composer])
        right.blockSignals(False)

    def _tab_changed(self, _index: int) -> None:
        if self._sized and not self.settings.splitters and not self._user_split:
            self._fit_tabs()

    def _splitter_moved(self, *_args: Any) -> None:
        self._user_split = True

    # -------------------------------------------------------------------------- closing

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._closing:
            event.accept()
            return
        self._closing = True
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
            await self.runner.cancel_all()
            await self.session.close_all()
            if self.servers_panel is not None:
                shutdown = getattr(self.servers_panel, "shutdown", None)
                if callable(shutdown):
                    result = shutdown()
                    if asyncio.iscoroutine(result):
                        await result
            if self.server_manager is not None and self._own_servers:
                await self.server_manager.stop_all()
        except Exception:
            _log.exception("closing the window's sockets failed")
        finally:
            self._finish_shutdown()

    def _finish_shutdown(self) -> None:
        self.session.shutdown()
        self.shut_down = True
        if shiboken6.isValid(self):
            self.shutDown.emit()


def window_icon() -> QIcon:
    path = Path(__file__).resolve().parents[2] / "resources"
    for name in ("icon.svg", "icon.png", "socket-workbench.svg", "socket-workbench.png"):
        if (path / name).exists():
            return QIcon(str(path / name))
    return QIcon()

