"""The cells of a UDP row (a ``chrome.sockets.udp`` socket) in the socket table.

A UDP socket has no peer, TLS or server: its State says what it is bound to ("Bound to
127.0.0.1:5353", "Paused on …", "Not bound", "Error: NAME" after a receive error, which pauses
it: contract D8), its Received and Sent cells count bytes and, in brackets, datagrams ("1.2 KiB
(3)"), and its ID is shown with its kind ("U1"), because UDP ids count from 1 as TCP ids do.
Colours and icons come from the typed ``UdpState``, never from the State cell's words.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QIcon
from PySide6.QtWidgets import QApplication, QStyle

from workbench.core.formatting import describe_result, format_size
from workbench.net.udp import DEFAULT_BUFFER_SIZE
from workbench.session import SocketKey, UdpRecord
from workbench.session.udp_state import UdpState, udp_state, udp_state_text
from workbench.ui.socket_columns import HEADERS, SORT_ROLE, UDP_SORT_BASE, Column

__all__ = ["counter_text", "udp_cell", "udp_label"]

_STATE_COLORS = {
    UdpState.BOUND: QColor(30, 120, 190),
    UdpState.PAUSED: QColor(190, 120, 0),
    UdpState.FAILED: QColor(200, 40, 40),
}

_PAUSED_TIP = (
    "Paused: no onReceive events; datagrams wait in the operating system's buffer (which "
    "drops what overflows it, as UDP does) until you resume."
)
_FAILED_TIP = "The core paused the socket on this receive error; resume it to read again."


def udp_label(key: SocketKey) -> str:
    """A UDP socket's id with its kind: ``U1``."""
    return f"U{key.id}"


def counter_text(size: int, datagrams: int) -> str:
    """``1.2 KiB (3)``: the bytes, and the datagrams in brackets."""
    return f"{format_size(size)} ({datagrams:,})"


def _display(record: UdpRecord, column: Column) -> str:
    info = record.info
    if column == Column.ID:
        return udp_label(record.key)
    if column == Column.STATE:
        return udp_state_text(record)
    if column == Column.NAME:
        return info.name or ""
    if column == Column.LOCAL:
        return record.endpoint
    if column == Column.RECEIVED:
        return counter_text(record.received, record.datagrams_in)
    if column == Column.SENT:
        return counter_text(record.sent, record.datagrams_out)
    if column == Column.BUFFER:
        return str(info.buffer_size) if info.buffer_size else f"{DEFAULT_BUFFER_SIZE} (default)"
    if column == Column.KIND:
        return "UDP"
    if column == Column.PERSISTENT:
        return "Yes" if info.persistent else "No"
    return ""  # no peer, TLS or server of its own


def _tooltip(record: UdpRecord, column: Column) -> str:
    state = udp_state(record)
    if column == Column.STATE:
        lines = [udp_state_text(record)]
        if state is UdpState.FAILED and record.error is not None:
            lines += [f"onReceiveError: {describe_result(record.error)}", _FAILED_TIP]
        elif record.info.paused:
            lines.append(_PAUSED_TIP)
        if state is UdpState.UNBOUND:
            lines.append("Bind it (the Bind tab) to receive and send datagrams.")
        return "\n".join(lines)
    if column in (Column.RECEIVED, Column.SENT):
        incoming = column == Column.RECEIVED
        size = record.received if incoming else record.sent
        count = record.datagrams_in if incoming else record.datagrams_out
        lines = [f"{count:,} datagram{'' if count == 1 else 's'}, {size:,} bytes"]
        if record.capture_stopped is not None:
            lines.append(
                f"The capture stopped: {record.capture_stopped}. Later datagrams are counted, "
                "not kept."
            )
        return "\n".join(lines)
    return f"{HEADERS[column]}: {_display(record, column) or '—'}"


def _icon(record: UdpRecord, column: Column) -> QIcon | None:
    # No kind icon in the Name cell: "U1" says UDP, and the style's arrow read as "play".
    style = QApplication.style()
    if column == Column.STATE and udp_state(record) is UdpState.FAILED:
        return style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxCritical)
    if column == Column.RECEIVED and record.capture_stopped is not None:
        return style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)
    return None


def _sort_value(record: UdpRecord, column: Column) -> Any:
    if column == Column.ID:
        return UDP_SORT_BASE + record.key.id
    if column == Column.RECEIVED:
        return record.received
    if column == Column.SENT:
        return record.sent
    if column == Column.BUFFER:
        return record.info.buffer_size or DEFAULT_BUFFER_SIZE
    if column == Column.SERVER:
        return 0
    return _display(record, column).casefold()


def udp_cell(record: UdpRecord, column: Column, role: int) -> Any:
    """What the model answers for ``role`` in ``column`` of a UDP row."""
    if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
        return _display(record, column)
    if role == SORT_ROLE:
        return _sort_value(record, column)
    if role == Qt.ItemDataRole.ToolTipRole:
        return _tooltip(record, column)
    if role == Qt.ItemDataRole.ForegroundRole and column == Column.STATE:
        color = _STATE_COLORS.get(udp_state(record))
        return QBrush(color) if color is not None else None
    if role == Qt.ItemDataRole.DecorationRole:
        return _icon(record, column)
    # The State cell is in the regular weight, as a server's: "Bound to 127.0.0.1:65535"
    # fits the column so.
    return None
