"""The socket table's columns, their headers and tooltips, and the roles its model answers:
shared by the model, the server and UDP rows' cells and the table."""

from __future__ import annotations

import enum

from PySide6.QtCore import Qt

__all__ = [
    "HEADERS",
    "HEADER_TIPS",
    "SERVER_SORT_BASE",
    "SOCKET_ID_ROLE",
    "SORT_ROLE",
    "UDP_SORT_BASE",
    "Column",
]

#: The value columns sort by (numbers for the numeric columns).
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
#: The TCP socket id of a row, in any column (None on a server row: its id is another
#: sequence, ``SocketTableModel.key`` names it).
SOCKET_ID_ROLE = Qt.ItemDataRole.UserRole + 2

#: What a server's id sorts as, plus its id: below every TCP id, so that sorted by ID the
#: servers come first and their connections follow in id order.
SERVER_SORT_BASE = -(1 << 30)
#: What a UDP socket's id sorts as, plus its id: after the servers, before every TCP id.
UDP_SORT_BASE = -(1 << 29)


class Column(enum.IntEnum):
    # The logical order is the saved header's: new columns go at the end (the table shows
    # them where they belong, ``socket_table.COLUMN_ORDER``).
    ID = 0
    NAME = 1
    STATE = 2
    LOCAL = 3
    PEER = 4
    TLS = 5
    RECEIVED = 6
    SENT = 7
    BUFFER = 8
    PERSISTENT = 9
    KIND = 10
    SERVER = 11


HEADERS = {
    Column.ID: "ID",
    Column.NAME: "Name",
    Column.STATE: "State",
    Column.LOCAL: "Local",
    Column.PEER: "Peer",
    Column.TLS: "TLS",
    Column.RECEIVED: "Received",
    Column.SENT: "Sent",
    Column.BUFFER: "Buffer size",
    Column.PERSISTENT: "Persistent",
    Column.KIND: "Kind",
    Column.SERVER: "Server",
}

HEADER_TIPS = {
    Column.ID: "The id the core returned from create(); a server's (S1, S2, …) and a UDP "
    "socket's (U1, U2, …) are sequences of their own, since chrome.sockets.tcp, "
    "chrome.sockets.tcpServer and chrome.sockets.udp each count from 1",
    Column.NAME: "The name given in the socket's properties",
    Column.STATE: "Created, Connecting…, Connected, Paused, TLS version, Disconnected or the "
    "last error; for a server: what it listens on; for a UDP socket: what it is bound to",
    Column.LOCAL: "Local address and port of the connection, the address a server listens on "
    "or a UDP socket is bound to",
    Column.PEER: "Peer address and port (grey: the last peer, not connected now); for a "
    "server: its connections open now and accepted in all",
    Column.TLS: "TLS version and cipher once secure; a warning when verification is off",
    Column.RECEIVED: "Bytes received on this socket; for a UDP socket, the datagrams too "
    "(in brackets)",
    Column.SENT: "Bytes sent from this window on this socket; for a UDP socket, the datagrams "
    "too (in brackets)",
    Column.BUFFER: "bufferSize: the largest chunk one onReceive event carries",
    Column.PERSISTENT: "Persistent sockets are restored and reconnected at the next start",
    Column.KIND: "TCP (chrome.sockets.tcp), Server (chrome.sockets.tcpServer) or UDP "
    "(chrome.sockets.udp)",
    Column.SERVER: "The server that accepted this connection",
}
