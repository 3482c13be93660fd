"""The socket table: a ``QAbstractTableModel`` that adapts the session's registry.

It holds no state of its own beyond the row order: every cell is read from the socket's
record (the core's last ``SocketInfo``, its typed state, counters and intent) when Qt asks.
The session coalesces changes, so the model emits at most one ``dataChanged`` per socket per
flush. Rows are in id order, so finding a row is a binary search, never a walk.

Rows are keyed by ``SocketKey``: the TCP sockets come first, in id order (the rows a burst of
creates appends to), then the listening sockets (``chrome.sockets.tcpServer``, few), then the
UDP sockets (``chrome.sockets.udp``, few), each in id order. Each kind has its own list of
ints, so the TCP path searches and compares ints as it did before servers existed; a server
row's cells are ``server_cells``', a UDP row's ``udp_cells``'.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    SignalInstance,
)
from PySide6.QtGui import QBrush, QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication, QStyle

from workbench.core.formatting import describe_result, format_endpoint, format_size
from workbench.net.tcp import DEFAULT_BUFFER_SIZE
from workbench.session import RowState, SocketKey, SocketKind, SocketRecord, row_state, state_text
from workbench.ui.bridge import SocketSession
from workbench.ui.keylog_marks import MARKS
from workbench.ui.server_cells import accepted_by_tip, server_cell, server_label
from workbench.ui.socket_columns import (
    HEADER_TIPS,
    HEADERS,
    SERVER_SORT_BASE,
    SOCKET_ID_ROLE,
    SORT_ROLE,
    UDP_SORT_BASE,
    Column,
)
from workbench.ui.throttle import Throttle
from workbench.ui.udp_cells import udp_cell

__all__ = [
    "HEADERS",
    "HEADER_TIPS",
    "SERVER_SORT_BASE",
    "SOCKET_ID_ROLE",
    "SORT_ROLE",
    "UDP_SORT_BASE",
    "Column",
    "SocketSortProxy",
    "SocketTableModel",
]

_TCP = SocketKind.TCP
_SERVER = SocketKind.TCP_SERVER
_UDP = SocketKind.UDP
#: The kinds whose rows follow the TCP rows, in this order: few, created one at a time.
_FEW = (_SERVER, _UDP)

_NUMERIC = {Column.ID, Column.RECEIVED, Column.SENT, Column.BUFFER}
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
_VERIFY_OFF_TIP = (
    "Certificate verification is OFF for this socket: the peer's identity is not checked, "
    "so anyone in the middle could read and change the data."
)


_STATE_COLORS = {
    RowState.SECURE: QColor(30, 140, 60),
    RowState.CONNECTED: QColor(30, 120, 190),
    RowState.PAUSED: QColor(190, 120, 0),
    RowState.CONNECTING: QColor(190, 120, 0),
    RowState.SECURING: QColor(190, 120, 0),
}


_COLUMN = tuple(Column)
_COLUMNS = len(_COLUMN)
#: The roles ``data`` answers; Qt asks for others (size hints, check states) on every paint.
_ROLES = frozenset(
    {
        SOCKET_ID_ROLE,
        SORT_ROLE,
        Qt.ItemDataRole.DisplayRole,
        Qt.ItemDataRole.AccessibleTextRole,
        Qt.ItemDataRole.ToolTipRole,
        Qt.ItemDataRole.TextAlignmentRole,
        Qt.ItemDataRole.ForegroundRole,
        Qt.ItemDataRole.BackgroundRole,
        Qt.ItemDataRole.DecorationRole,
        Qt.ItemDataRole.FontRole,
    }
)

#: How long new sockets wait to be inserted together (the session's own pace).
INSERT_MS = 25


def _tcp_foreground(ui: SocketRecord, column: Column) -> Any:
    if column == Column.STATE:
        shown = row_state(ui)
        if shown is RowState.FAILED:
            return QBrush(QColor(200, 40, 40))
        if ui.verify_off:
            return QBrush(QColor(200, 90, 0))
        color = _STATE_COLORS.get(shown)
        return QBrush(color) if color is not None else None
    if column == Column.PEER and not ui.info.connected:
        return QApplication.palette().brush(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text)
    if column == Column.TLS and ui.verify_off:
        return QBrush(QColor(200, 90, 0))
    return None


def _tcp_icon(ui: SocketRecord, column: Column) -> Any:
    style = QApplication.style()
    if column == Column.RECEIVED and ui.capture_stopped is not None:
        return style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)
    if column == Column.STATE and ui.error is not None and not ui.info.connected:
        return style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxCritical)
    if column in (Column.STATE, Column.TLS) and ui.verify_off:
        return style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)
    return None


class SocketTableModel(QAbstractTableModel):
    """Rows are sockets in creation order (TCP sockets, then servers, then UDP sockets);
    columns are ``Column``."""

    def __init__(self, session: SocketSession, parent: Any = None) -> None:
        super().__init__(parent)
        self._session = session
        # Ascending: ids only grow, and a socket the registry adopts is older than any new one.
        self._registry = session.registry
        self._rows: list[int] = sorted(session.ids())
        #: the servers' and the UDP sockets' ids, ascending: their rows follow the TCP rows.
        self._few: dict[SocketKind, list[int]] = {
            _SERVER: sorted(session.server_ids()),
            _UDP: sorted(session.udp_ids()),
        }
        # New sockets wait here until the next flush and are then inserted together: a burst
        # of 10,000 creates is one beginInsertRows, not 10,000 re-sorts of the proxy.
        self._pending: list[int] = []
        self._insert_soon = Throttle(self.flush, INSERT_MS, self)
        self._follows: tuple[tuple[SignalInstance, Callable[[Any], None]], ...] = (
            (session.socketAdded, self._added),
            (session.socketRemoved, self._removed),
            (session.socketsChanged, self._changed),
            (session.serverAdded, self._server_added),
            (session.serverRemoved, self._server_removed),
            (session.serversChanged, self._servers_changed),
            (session.udpAdded, self._udp_added),
            (session.udpRemoved, self._udp_removed),
            (session.udpChanged, self._udp_changed),
        )
        for signal, slot in self._follows:
            signal.connect(slot)

    # -- public helpers --------------------------------------------------------------------

    def socket_id(self, row: int) -> int | None:
        """The TCP socket of ``row`` (None on a server or UDP row)."""
        return self._rows[row] if row < len(self._rows) else None

    def key(self, row: int) -> SocketKey:
        """The socket of ``row``, whatever its kind."""
        rows = self._rows
        if row < len(rows):
            return SocketKey(_TCP, rows[row])
        key = self._few_key(row - len(rows))
        if key is None:
            raise IndexError(row)
        return key

    def _few_key(self, index: int) -> SocketKey | None:
        """The key of the ``index``-th row after the TCP rows, or None past the last."""
        for kind in _FEW:
            ids = self._few[kind]
            if index < len(ids):
                return SocketKey(kind, ids[index])
            index -= len(ids)
        return None

    def _first_row(self, kind: SocketKind) -> int:
        """The row of the first socket of ``kind`` (one of ``_FEW``)."""
        row = len(self._rows)
        for other in _FEW[: _FEW.index(kind)]:
            row += len(self._few[other])
        return row

    def row_of(self, sid: int) -> int | None:
        """The row of TCP socket ``sid`` (inserting waiting rows first), or None."""
        self.flush()
        row = bisect.bisect_left(self._rows, sid)
        return row if row < len(self._rows) and self._rows[row] == sid else None

    def row_of_key(self, key: SocketKey) -> int | None:
        """The row of ``key``, a TCP socket's, a server's or a UDP socket's, or None."""
        if key.kind is _TCP:
            return self.row_of(key.id)
        ids = self._few[key.kind]
        index = bisect.bisect_left(ids, key.id)
        if index < len(ids) and ids[index] == key.id:
            self.flush()
            return self._first_row(key.kind) + index
        return None

    def socket_ids(self) -> list[int]:
        """The TCP sockets' ids, in row order."""
        self.flush()
        return list(self._rows)

    def server_ids(self) -> list[int]:
        return list(self._few[_SERVER])

    def udp_ids(self) -> list[int]:
        """The UDP sockets' ids, in row order."""
        return list(self._few[_UDP])

    def detach(self) -> None:
        """Stop following the session and show no rows (the window is closing)."""
        for signal, slot in self._follows:
            signal.disconnect(slot)
        self._insert_soon.stop()
        self.beginResetModel()
        self._rows, self._pending = [], []
        self._few = {kind: [] for kind in _FEW}
        self.endResetModel()

    def flush(self) -> None:
        """Insert the sockets added since the last flush."""
        if not self._pending:
            return
        pending, self._pending = sorted(set(self._pending)), []
        rows = self._rows
        if not rows or pending[0] > rows[-1]:
            # The usual case: new ids are the largest, so they are one range after the last
            # TCP row.
            first = len(rows)
            self.beginInsertRows(QModelIndex(), first, first + len(pending) - 1)
            rows.extend(pending)
            self.endInsertRows()
            return
        for sid in pending:
            row = bisect.bisect_left(rows, sid)
            if row < len(rows) and rows[row] == sid:
                continue
            self.beginInsertRows(QModelIndex(), row, row)
            rows.insert(row, sid)
            self.endInsertRows()

    # -- session signals -------------------------------------------------------------------

    def _added(self, sid: int) -> None:
        self._pending.append(sid)
        self._insert_soon()

    def _removed(self, sid: int) -> None:
        if sid in self._pending:
            self._pending.remove(sid)
            return
        row = self.row_of(sid)
        if row is None:
            return
        self.beginRemoveRows(QModelIndex(), row, row)
        del self._rows[row]
        self.endRemoveRows()

    def _changed(self, sids: frozenset[int]) -> None:
        """One ``dataChanged`` per flush, from the first changed row to the last: the view
        repaints what it shows of that range, and nothing here costs a signal per socket."""
        self.flush()
        rows = self._rows
        found = [
            row
            for sid in sids
            if (row := bisect.bisect_left(rows, sid)) < len(rows) and rows[row] == sid
        ]
        self._rows_changed(found)

    def _rows_changed(self, found: list[int]) -> None:
        if found:
            # From the column after ID: a socket's id never changes, and a sort proxy that
            # sorts by ID (the default) then passes the change on instead of re-sorting every
            # row of the range, which at ten thousand sockets costs a tick of its own.
            self.dataChanged.emit(
                self.index(min(found), Column.ID + 1), self.index(max(found), len(Column) - 1)
            )

    # Servers and UDP sockets are few and created one at a time (a click, a restore): one
    # row each, at once. (Bound methods, not lambdas: Qt drops them with the model.)

    def _server_added(self, server_id: int) -> None:
        self._few_added(_SERVER, server_id)

    def _server_removed(self, server_id: int) -> None:
        self._few_removed(_SERVER, server_id)

    def _servers_changed(self, server_ids: frozenset[int]) -> None:
        self._few_changed(_SERVER, server_ids)

    def _udp_added(self, udp_id: int) -> None:
        self._few_added(_UDP, udp_id)

    def _udp_removed(self, udp_id: int) -> None:
        self._few_removed(_UDP, udp_id)

    def _udp_changed(self, udp_ids: frozenset[int]) -> None:
        self._few_changed(_UDP, udp_ids)

    def _few_added(self, kind: SocketKind, socket_id: int) -> None:
        self.flush()
        ids = self._few[kind]
        index = bisect.bisect_left(ids, socket_id)
        if index < len(ids) and ids[index] == socket_id:
            return
        row = self._first_row(kind) + index
        self.beginInsertRows(QModelIndex(), row, row)
        ids.insert(index, socket_id)
        self.endInsertRows()

    def _few_removed(self, kind: SocketKind, socket_id: int) -> None:
        row = self.row_of_key(SocketKey(kind, socket_id))
        if row is None:
            return
        self.beginRemoveRows(QModelIndex(), row, row)
        del self._few[kind][row - self._first_row(kind)]
        self.endRemoveRows()

    def _few_changed(self, kind: SocketKind, socket_ids: frozenset[int]) -> None:
        self.flush()
        found = [
            row for sid in socket_ids if (row := self.row_of_key(SocketKey(kind, sid))) is not None
        ]
        self._rows_changed(found)

    # -- QAbstractTableModel ---------------------------------------------------------------

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex | None = None) -> int:
        if parent is not None and parent.isValid():
            return 0
        return len(self._rows) + sum(len(ids) for ids in self._few.values())

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex | None = None) -> int:
        return 0 if parent is not None and parent.isValid() else len(Column)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(Column):
            return None
        column = Column(section)
        if role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[column]
        if role == Qt.ItemDataRole.ToolTipRole:
            return HEADER_TIPS[column]
        return None

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        # Called thousands of times a repaint: unknown roles leave first, and the record is
        # one dict lookup by id.
        if role not in _ROLES or not index.isValid():
            return None
        row, col = index.row(), index.column()
        if not 0 <= col < _COLUMNS:
            return None
        rows = self._rows
        if row >= len(rows):
            return self._few_data(row - len(rows), _COLUMN[col], role)
        sid = rows[row]
        ui = self._registry.tcp_record(sid)
        if ui is None:
            return None
        column = _COLUMN[col]
        if role == SOCKET_ID_ROLE:
            return sid
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return self._display(sid, ui, column)
        if role == SORT_ROLE:
            return self._sort_value(sid, ui, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(sid, ui, column)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _RIGHT if column in _NUMERIC else None
        if role == Qt.ItemDataRole.ForegroundRole:
            return _tcp_foreground(ui, column)
        if role == Qt.ItemDataRole.BackgroundRole:
            if ui.verify_off:
                return QBrush(QColor(255, 170, 0, 60))
            return None
        if role == Qt.ItemDataRole.DecorationRole:
            return _tcp_icon(ui, column)
        if role == Qt.ItemDataRole.FontRole and column == Column.STATE and ui.error is None:
            font = QFont()
            font.setBold(True)
            return font
        return None

    def _few_data(self, index: int, column: Column, role: int) -> Any:
        key = self._few_key(index)
        if key is None or role == SOCKET_ID_ROLE:
            return None
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _RIGHT if column in _NUMERIC else None
        if key.kind is _SERVER:
            server = self._registry.server(key)
            return server_cell(server, column, role) if server is not None else None
        udp = self._registry.udp(key)
        return udp_cell(udp, column, role) if udp is not None else None

    # -- cells -----------------------------------------------------------------------------

    def _display(self, sid: int, ui: SocketRecord, column: Column) -> str:
        info = ui.info
        if column == Column.ID:
            return str(sid)
        if column == Column.NAME:
            return info.name or ""
        if column == Column.STATE:
            return self.state_text(sid, ui)
        if column == Column.LOCAL:
            return format_endpoint(info.local_address, info.local_port)
        if column == Column.PEER:
            if info.connected:
                return format_endpoint(info.peer_address, info.peer_port)
            if ui.intent.peer is not None:
                return format_endpoint(ui.intent.peer[0], ui.intent.peer[1])
            if ui.last_peer is not None:  # an accepted socket's, after it closed
                return format_endpoint(*ui.last_peer)
            return ""
        if column == Column.TLS:
            if info.tls is not None:
                text = f"{info.tls.version.replace('TLSv', 'TLS ')} · {info.tls.cipher}"
                text += "  (not verified)" if not info.tls.verified else ""
                mark = MARKS.mark(sid, info.tls)  # K4: the keys are being written
                return f"{text} · {mark.cell}" if mark is not None else text
            return ""
        if column == Column.RECEIVED:
            return format_size(ui.received)
        if column == Column.SENT:
            return format_size(ui.sent)
        if column == Column.BUFFER:
            return str(info.buffer_size) if info.buffer_size else f"{DEFAULT_BUFFER_SIZE} (default)"
        if column == Column.KIND:
            return "TCP"
        if column == Column.SERVER:
            return server_label(ui.server) if ui.server is not None else ""
        return "Yes" if info.persistent else "No"  # Column.PERSISTENT

    def state_text(self, sid: int, ui: SocketRecord) -> str:
        """The session's state, plus a verification warning: verify-off must be seen at a
        glance, in the column that is always on screen."""
        text = state_text(ui)
        tls = ui.info.tls
        if ui.info.connected and tls is not None and not tls.verified:
            text = f"{text} (unverified)"
        # K4: the column always on screen says that the keys are being written.
        mark = MARKS.mark(sid, tls) if ui.info.connected else None
        return f"{text} · {mark.state}" if mark is not None else text

    def _sort_value(self, sid: int, ui: SocketRecord, column: Column) -> Any:
        if column == Column.ID:
            return sid
        if column == Column.RECEIVED:
            return ui.received
        if column == Column.SENT:
            return ui.sent
        if column == Column.BUFFER:
            return ui.info.buffer_size or DEFAULT_BUFFER_SIZE
        if column == Column.SERVER:
            # By the server's id (S2 before S10); sockets no server accepted first.
            return ui.server.id if ui.server is not None else 0
        return self._display(sid, ui, column).casefold()

    def _tooltip(self, sid: int, ui: SocketRecord, column: Column) -> str:
        info = ui.info
        lines = []
        if column == Column.STATE:
            lines.append(self.state_text(sid, ui))
            if ui.error is not None:
                lines.append(describe_result(ui.error))
            if info.paused and ui.intent.paused:
                lines.append("Paused by you: no onReceive events until you resume.")
            elif info.paused:
                lines.append("Paused by the core (the stream ended); reconnecting resumes it.")
            if info.connected and (mark := MARKS.mark(sid, info.tls)) is not None:
                lines.append(mark.tip)
        elif column in (Column.RECEIVED, Column.SENT):
            n = ui.received if column == Column.RECEIVED else ui.sent
            lines.append(f"{n:,} bytes")
            if ui.capture_stopped is not None:
                lines.append(
                    f"The capture stopped: {ui.capture_stopped}. Later bytes are counted, not kept."
                )
        elif column == Column.TLS and info.tls is not None:
            tls = info.tls
            lines += [f"{tls.version}, {tls.cipher}"]
            if tls.peer_subject:
                lines.append(f"Subject: {tls.peer_subject}")
            if tls.peer_issuer:
                lines.append(f"Issuer: {tls.peer_issuer}")
            if tls.peer_not_after:
                lines.append(f"Expires: {tls.peer_not_after}")
            if (mark := MARKS.mark(sid, tls)) is not None:
                lines.append(mark.tip)
        elif column == Column.SERVER and ui.server is not None:
            lines.append(accepted_by_tip(ui.server, self._registry.server(ui.server)))
        else:
            lines.append(f"{HEADERS[column]}: {self._display(sid, ui, column) or '—'}")
        if ui.verify_off:
            lines.append(_VERIFY_OFF_TIP)
        return "\n".join(lines)


class SocketSortProxy(QSortFilterProxyModel):
    """Sorts by ``SORT_ROLE`` (numbers for the numeric columns)."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.setSortRole(SORT_ROLE)
        self.setDynamicSortFilter(True)
