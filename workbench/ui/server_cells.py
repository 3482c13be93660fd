"""The cells of a server row (a ``chrome.sockets.tcpServer`` listening socket) in the socket
table, and the Server cell of the TCP rows it accepted.

A server row has no bytes or peer of its own: its TLS cell says when its connections are
secured ("TLS on accept", or "TLS on Start TLS" for a rule's upgrade), its State says what it
listens on (``server_text``: "Listening on 127.0.0.1:8080"), its Peer cell counts its
connections ("2 of 7 open": two of the seven it accepted are connected now), its ID is shown
with its kind ("S1"), because servers count their ids from 1 like TCP sockets do, and its Name
cell has the server icon. Listening on every interface is an explicit choice the row shows in
amber, in words short enough for the State column: "All interfaces :8080" (the tooltip, the
Local column and the Listen tab have the address).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QIcon
from PySide6.QtWidgets import QApplication, QStyle

from workbench.core.formatting import describe_result
from workbench.session import ServerRecord, SocketKey, server_text
from workbench.ui.socket_columns import HEADERS, SERVER_SORT_BASE, SORT_ROLE, Column

__all__ = [
    "WILDCARD_ADDRESSES",
    "accepted_by_tip",
    "all_interfaces",
    "connections_text",
    "server_cell",
    "server_label",
    "short_state_text",
    "state_text",
    "tls_text",
]

#: The addresses that listen on every interface of the machine.
WILDCARD_ADDRESSES = frozenset({"0.0.0.0", "::"})

_AMBER = QColor(200, 120, 0)
_RED = QColor(200, 40, 40)
_LISTENING = QColor(30, 140, 60)

_ALL_INTERFACES_TIP = (
    "Listening on all interfaces: other machines that can reach this one can connect. "
    "Listen on 127.0.0.1 (or ::1) to take connections from this machine only."
)


def server_label(key: SocketKey) -> str:
    """A server's id with its kind: ``S1``."""
    return f"S{key.id}"


def all_interfaces(record: ServerRecord) -> bool:
    return record.listening and record.info.local_address in WILDCARD_ADDRESSES


def state_text(record: ServerRecord) -> str:
    """``Listening on 127.0.0.1:8080``; on a wildcard address, "(all interfaces)" after it."""
    text = server_text(record)
    return f"{text} (all interfaces)" if all_interfaces(record) else text


def short_state_text(record: ServerRecord) -> str:
    """The State cell: ``state_text``, but "All interfaces :8080" (or "Paused, all interfaces
    :8080") on a wildcard address, which fits the column where the long form would elide."""
    if not all_interfaces(record):
        return server_text(record)
    where = f"all interfaces :{record.info.local_port}"
    return f"Paused, {where}" if record.info.paused else where[0].upper() + where[1:]


def connections_text(record: ServerRecord) -> str:
    """ "2 of 7 open", "0 accepted"; "" for a server that never listened nor accepted."""
    if not record.accepted:
        return "0 accepted" if record.listening else ""
    return f"{record.open} of {record.accepted} open"


def _display(record: ServerRecord, column: Column) -> str:
    info = record.info
    if column == Column.ID:
        return server_label(record.key)
    if column == Column.STATE:
        return short_state_text(record)
    if column == Column.NAME:
        return info.name or ""
    if column == Column.LOCAL:
        return record.endpoint
    if column == Column.PEER:
        return connections_text(record)
    if column == Column.KIND:
        return "Server"
    if column == Column.PERSISTENT:
        return "Yes" if info.persistent else "No"
    if column == Column.TLS:
        return tls_text(record)
    return ""  # no bytes, buffer size or server of its own


def tls_text(record: ServerRecord) -> str:
    """The TLS cell: when its connections are secured ("" for a plain server)."""
    tls = record.intent.tls
    if tls is None:
        return ""
    return "TLS on accept" if tls.on_accept else "TLS on Start TLS"


def _tooltip(record: ServerRecord, column: Column) -> str:
    if column == Column.STATE:
        lines = [state_text(record)]
        if record.accept_error is not None:
            lines.append(f"Accepting failed: {describe_result(record.accept_error)}")
            lines.append("The server is paused; resume it to accept again.")
        elif record.listening and record.info.paused:
            lines.append("Paused: new connections wait in the listen backlog until you resume.")
        if all_interfaces(record):
            lines.append(_ALL_INTERFACES_TIP)
        return "\n".join(lines)
    if column == Column.PEER:
        return (
            f"{record.accepted} connections accepted since the server was created; "
            f"{record.open} of them connected now"
        )
    return f"{HEADERS[column]}: {_display(record, column) or '—'}"


def _foreground(record: ServerRecord, column: Column) -> Any:
    if column != Column.STATE:
        return None
    if record.accept_error is not None:
        return QBrush(_RED)
    if all_interfaces(record) or (record.listening and record.info.paused):
        return QBrush(_AMBER)
    return QBrush(_LISTENING) if record.listening else None


def _icon(record: ServerRecord, column: Column) -> QIcon | None:
    style = QApplication.style()
    if column == Column.NAME:
        # In the Name cell, not the ID's: "S1" and the icon would not both fit there.
        return style.standardIcon(QStyle.StandardPixmap.SP_DriveNetIcon)
    if column == Column.STATE and record.accept_error is not None:
        return style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxCritical)
    if column == Column.STATE and all_interfaces(record) and not record.info.paused:
        return style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)
    return None


def _sort_value(record: ServerRecord, column: Column) -> Any:
    if column == Column.ID:
        return SERVER_SORT_BASE + record.key.id
    if column == Column.PEER:
        return record.open
    if column in (Column.RECEIVED, Column.SENT, Column.BUFFER, Column.SERVER):
        return 0
    return _display(record, column).casefold()


def server_cell(record: ServerRecord, column: Column, role: int) -> Any:
    """What the model answers for ``role`` in ``column`` of a server row."""
    if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
        return _display(record, column)
    if role == SORT_ROLE:
        return _sort_value(record, column)
    if role == Qt.ItemDataRole.ToolTipRole:
        return _tooltip(record, column)
    if role == Qt.ItemDataRole.ForegroundRole:
        return _foreground(record, column)
    if role == Qt.ItemDataRole.DecorationRole:
        return _icon(record, column)
    # The State cell is in the regular weight (a TCP row's is bold): "Listening on
    # 127.0.0.1:65535" fits the column so, and a server row reads apart at a glance.
    return None


def accepted_by_tip(key: SocketKey, server: ServerRecord | None) -> str:
    """The Server cell's tooltip on a TCP row the server ``key`` accepted."""
    if server is None:
        return f"Accepted by server {server_label(key)}, closed since (its connections stay)"
    where = server.endpoint or "not listening now"
    return f"Accepted by server {server_label(key)} ({where})"
