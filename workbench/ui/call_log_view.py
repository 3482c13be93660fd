"""The call log pane: every core call the window made, filterable by socket, copyable."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import shiboken6
from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QAction, QBrush, QColor, QFontDatabase, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QListView,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from workbench.session import CallLog, CallLogEntry, SocketKey, SocketKind

if TYPE_CHECKING:
    from workbench.ui.bridge import SocketSession
from workbench.ui.throttle import Throttle

__all__ = ["CallLogModel", "CallLogView", "format_entry"]

ENTRY_ROLE = Qt.ItemDataRole.UserRole + 1


def format_entry(entry: CallLogEntry) -> str:
    stamp = time.strftime("%H:%M:%S", time.localtime(entry.timestamp))
    millis = int((entry.timestamp % 1) * 1000)
    return f"{stamp}.{millis:03d}  {entry.text}"


class CallLogModel(QAbstractListModel):
    def __init__(self, log: CallLog, parent: Any = None) -> None:
        super().__init__(parent)
        self._log = log
        self._entries: list[CallLogEntry] = log.entries()
        log.added.add_listener(self._added)
        log.cleared.add_listener(self._cleared)

    def _added(self, entry: CallLogEntry) -> None:
        if not shiboken6.isValid(self):  # the view is gone; the log lives on
            self._detach(self._log)
            return
        row = len(self._entries)
        self.beginInsertRows(QModelIndex(), row, row)
        self._entries.append(entry)
        self.endInsertRows()
        # Keep the same cap as the log itself.
        excess = len(self._entries) - len(self._log)
        if excess > 0:
            self.beginRemoveRows(QModelIndex(), 0, excess - 1)
            del self._entries[:excess]
            self.endRemoveRows()

    def _detach(self, log: CallLog) -> None:
        log.added.remove_listener(self._added)
        log.cleared.remove_listener(self._cleared)

    def _cleared(self, _none: None = None) -> None:
        if not shiboken6.isValid(self):  # the view is gone; the log lives on
            self._detach(self._log)
            return
        self.beginResetModel()
        self._entries = []
        self.endResetModel()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex | None = None) -> int:
        return 0 if parent is not None and parent.isValid() else len(self._entries)

    def data(self, index: QModelIndex | QPersistentModelIndex,
             role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._entries):
            return None
        entry = self._entries[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return format_entry(entry)
        if role == Qt.ItemDataRole.ToolTipRole:
            return entry.text
        if role == Qt.ItemDataRole.ForegroundRole and not entry.ok:
            return QBrush(QColor(200, 40, 40))
        if role == ENTRY_ROLE:
            return entry
        return None


class _SocketFilter(QSortFilterProxyModel):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.key: SocketKey | None = None

    @property
    def socket_id(self) -> int | None:
        return self.key.id if self.key is not None else None

    def set_socket(self, sid: int | None) -> None:
        self.set_key(SocketKey.tcp(sid) if sid is not None else None)

    def set_key(self, key: SocketKey | None) -> None:
        if hasattr(self, "beginFilterChange"):
            # Qt 6.10 deprecates invalidateRowsFilter() for this pair.
            self.beginFilterChange()
            self.key = key
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:  # Qt before 6.10 (PySide6 >= 6.8 is allowed)
            self.key = key
            self.invalidateRowsFilter()

    def filterAcceptsRow(self, row: int, parent: QModelIndex | QPersistentModelIndex) -> bool:
        if self.key is None:
            return True
        entry = self.sourceModel().index(row, 0, parent).data(ENTRY_ROLE)
        # By (kind, id): a UDP socket 1 is not TCP socket 1.
        return entry is not None and entry.key == self.key


#: How often the list follows new calls to its end, at most.
SCROLL_MS = 25


class CallLogView(QWidget):
    """objectName ``callLog``: a filter ("All sockets" or one socket), the list, Copy, Clear."""

    def __init__(self, log: CallLog, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("callLog")
        self.setAccessibleName("Call log")
        self.setToolTip("Every chrome.sockets call (tcp, tcpServer, udp) the window made, "
                        "and every onReceiveError")
        self.log = log
        self.model = CallLogModel(log, self)
        self.proxy = _SocketFilter(self)
        self.proxy.setSourceModel(self.model)
        self._build_filter()
        self._build_list()
        self._build_buttons(log)
        self._build_layout()
        self._follow = True
        # Following the end costs a layout of the list: once per flush, not once per call.
        self._scroll_soon = Throttle(self._scroll_to_end, SCROLL_MS, self)
        self._sockets: set[int] = set()
        self.proxy.rowsInserted.connect(self._scroll_soon)
        self.list.verticalScrollBar().valueChanged.connect(self._scrolled)

    def _build_filter(self) -> None:
        self.filter = QComboBox(self)
        self.filter.setObjectName("callLogFilter")
        self.filter.setAccessibleName("Show calls of")
        self.filter.setToolTip("Show the calls of every socket, or of one socket only")
        self.filter.addItem("All sockets", None)
        self.filter.currentIndexChanged.connect(self._filter_changed)
        # Sized once for "Socket 99999", not to its contents: with thousands of sockets,
        # adjusting to the contents would measure every item at every insert.
        self.filter.setMinimumContentsLength(len("Socket 99999"))
        self.filter.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )

    def _build_list(self) -> None:
        self.list = QListView(self)
        self.list.setObjectName("callLogList")
        self.list.setAccessibleName("Calls made by the window")
        self.list.setToolTip("Every chrome.sockets call (tcp, tcpServer, udp) the window "
                             "made, and every onReceiveError; failures in red")
        self.list.setModel(self.proxy)
        self.list.setUniformItemSizes(True)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.list.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)

    def _build_buttons(self, log: CallLog) -> None:
        copy_action = QAction("Copy", self.list)
        copy_action.setShortcut(QKeySequence.StandardKey.Copy)
        copy_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        copy_action.setToolTip("Copy the selected calls (all shown calls when none is selected)")
        copy_action.triggered.connect(self.copy)
        self.list.addAction(copy_action)

        self.copy_button = QPushButton("Copy", self)
        self.copy_button.setObjectName("callLogCopy")
        self.copy_button.setAccessibleName("Copy call log")
        self.copy_button.setToolTip(copy_action.toolTip())
        self.copy_button.clicked.connect(self.copy)
        self.clear_button = QPushButton("Clear", self)
        self.clear_button.setObjectName("callLogClear")
        self.clear_button.setAccessibleName("Clear call log")
        self.clear_button.setToolTip("Forget every logged call")
        self.clear_button.clicked.connect(log.clear)

    def _build_layout(self) -> None:
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        label = QLabel("&Show:", self)
        label.setBuddy(self.filter)
        top.addWidget(label)
        top.addWidget(self.filter)
        top.addStretch(1)
        top.addWidget(self.copy_button)
        top.addWidget(self.clear_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.list, 1)

    # -- sockets in the filter -----------------------------------------------------------

    def follow(self, session: SocketSession) -> None:
        """List ``session``'s sockets, servers and UDP sockets in the filter as they come."""
        session.socketAdded.connect(self.add_socket)
        session.serverAdded.connect(self.add_server)
        session.udpAdded.connect(self.add_udp)

    def add_socket(self, sid: int) -> None:
        if sid not in self._sockets:
            self._sockets.add(sid)
            self.filter.addItem(f"Socket {sid}", sid)

    def add_server(self, server_id: int) -> None:
        """A listening socket in the filter, as "Server S1": its calls and its onAccept."""
        data = f"{SocketKind.TCP_SERVER.value}:{server_id}"
        if self.filter.findData(data) < 0:
            self.filter.addItem(f"Server S{server_id}", data)

    def add_udp(self, udp_id: int) -> None:
        """A UDP socket in the filter, as "UDP U1": its calls and its onReceiveError."""
        data = f"{SocketKind.UDP.value}:{udp_id}"
        if self.filter.findData(data) < 0:
            self.filter.addItem(f"UDP U{udp_id}", data)

    def _filter_changed(self, index: int) -> None:
        data = self.filter.itemData(index)
        if isinstance(data, str):  # another kind than TCP: "tcpServer:1", "udp:1"
            kind, _, sid = data.partition(":")
            self.proxy.set_key(SocketKey(SocketKind(kind), int(sid)))
        else:
            self.proxy.set_socket(data)
        self.list.scrollToBottom()

    # -- reading and copying -------------------------------------------------------------

    def lines(self) -> list[str]:
        """The text of every entry shown (after the filter), without timestamps."""
        rows = self.proxy.rowCount()
        return [self.proxy.index(r, 0).data(ENTRY_ROLE).text for r in range(rows)]

    def copy(self) -> str:
        rows = sorted(i.row() for i in self.list.selectionModel().selectedRows())
        if not rows:
            rows = list(range(self.proxy.rowCount()))
        text = "\n".join(self.proxy.index(r, 0).data() for r in rows)
        QGuiApplication.clipboard().setText(text)
        return text

    def _scrolled(self, value: int) -> None:
        self._follow = value >= self.list.verticalScrollBar().maximum() - 2

    def _scroll_to_end(self) -> None:
        if self._follow:
            self.list.scrollToBottom()
