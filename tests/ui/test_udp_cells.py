"""UDP rows of the socket table model (``udp_cells``): every socket of the session's
``UdpSockets``, whoever created it, with its binding, state and counters, against real
datagrams from plain loopback sockets."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, Iterator
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush

import pytest

from tests.ui.conftest import WAIT_MS
from workbench.core.formatting import format_size
from workbench.session import SocketKey, SocketKind, UdpRecord
from workbench.sockets import TcpSockets, UdpSocketProperties
from workbench.ui.bridge import SocketSession
from workbench.ui.socket_model import (
    SOCKET_ID_ROLE,
    SORT_ROLE,
    Column,
    SocketSortProxy,
    SocketTableModel,
)

LOOPBACK = "127.0.0.1"


@pytest.fixture
def session(qloop: asyncio.AbstractEventLoop, aio: Callable[..., Any]) -> Iterator[SocketSession]:
    s = SocketSession(TcpSockets())
    yield s
    aio(s.close_all())
    s.shutdown()


@pytest.fixture
def peer() -> Iterator[socket.socket]:
    """A plain UDP socket on the loopback."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((LOOPBACK, 0))
    sock.settimeout(WAIT_MS / 1000)
    yield sock
    sock.close()


def udp_key(udp_id: int) -> SocketKey:
    return SocketKey(SocketKind.UDP, udp_id)


def record(session: SocketSession, udp_id: int) -> UdpRecord:
    found = session.udp_record(udp_id)
    assert found is not None
    return found


def cell(
    session: SocketSession,
    model: SocketTableModel,
    udp_id: int,
    column: Column,
    role: int = Qt.ItemDataRole.DisplayRole,
) -> Any:
    session.flush()
    row = model.row_of_key(udp_key(udp_id))
    assert row is not None
    return model.index(row, column).data(role)


def colour(session: SocketSession, model: SocketTableModel, udp_id: int) -> Any:
    brush = cell(session, model, udp_id, Column.STATE, Qt.ItemDataRole.ForegroundRole)
    return brush.color().name() if isinstance(brush, QBrush) else None


def test_udp_rows_pass_qtmodeltester_as_they_come_and_go(
    qtmodeltester: Any, aio: Callable[..., Any], session: SocketSession
) -> None:
    """TCP socket 1, server S1 and UDP socket U1 are three rows: each kind counts from 1."""
    model = SocketTableModel(session)
    first = aio(session.sockets.create()).socket_id
    server = aio(session.servers.create()).socket_id
    qtmodeltester.check(model, force_py=True)
    u1 = aio(session.udp.create()).socket_id
    u2 = aio(session.udp.raw.create()).socket_id  # the core itself: listed all the same
    second = aio(session.sockets.create()).socket_id
    session.flush()
    assert first == server == u1 == 1
    assert [model.key(r) for r in range(model.rowCount())] == [
        SocketKey.tcp(first),
        SocketKey.tcp(second),
        SocketKey(SocketKind.TCP_SERVER, server),
        udp_key(u1),
        udp_key(u2),
    ]
    assert model.row_of_key(udp_key(u2)) == 4
    assert model.index(3, Column.ID).data(SOCKET_ID_ROLE) is None  # not a TCP socket
    assert model.index(3, Column.ID).data() == "U1"
    assert model.udp_ids() == [u1, u2]
    aio(session.servers.close(server))
    assert model.row_of_key(udp_key(u2)) == 3  # the UDP rows moved up with the server gone
    aio(session.udp.close(u1))
    aio(session.udp.raw.close(u2))
    assert model.udp_ids() == [] and model.rowCount() == 2
    assert session.udp_ids() == []


def test_a_udp_row_shows_its_binding_state_and_counters(
    qtbot: Any, aio: Callable[..., Any], session: SocketSession, peer: socket.socket
) -> None:
    model = SocketTableModel(session)
    udp = session.udp
    uid = aio(udp.create(UdpSocketProperties(name="dns"))).socket_id
    assert cell(session, model, uid, Column.ID) == f"U{uid}"
    assert cell(session, model, uid, Column.KIND) == "UDP"
    assert cell(session, model, uid, Column.NAME) == "dns"
    # No kind icon: "U1" says UDP (the style's arrow read as "play").
    assert cell(session, model, uid, Column.NAME, Qt.ItemDataRole.DecorationRole) is None
    assert cell(session, model, uid, Column.STATE) == "Not bound"
    assert cell(session, model, uid, Column.LOCAL) == ""
    assert cell(session, model, uid, Column.BUFFER) == "4096 (default)"
    assert colour(session, model, uid) is None
    assert aio(udp.bind(uid, LOOPBACK, 0)) == 0
    port = record(session, uid).info.local_port
    assert port
    assert cell(session, model, uid, Column.STATE) == f"Bound to 127.0.0.1:{port}"
    assert cell(session, model, uid, Column.LOCAL) == f"127.0.0.1:{port}"
    bound_colour = colour(session, model, uid)
    assert bound_colour is not None
    # Two datagrams in from a plain socket, one out to it.
    peer.sendto(b"hello", (LOOPBACK, port))
    peer.sendto(b"world!", (LOOPBACK, port))
    qtbot.waitUntil(lambda: record(session, uid).datagrams_in == 2, timeout=WAIT_MS)
    info = aio(udp.send(uid, b"abc", LOOPBACK, peer.getsockname()[1]))
    assert info.result_code == 0
    assert peer.recvfrom(100) == (b"abc", (LOOPBACK, port))
    assert cell(session, model, uid, Column.RECEIVED) == f"{format_size(11)} (2)"
    assert cell(session, model, uid, Column.RECEIVED, SORT_ROLE) == 11
    tip = cell(session, model, uid, Column.RECEIVED, Qt.ItemDataRole.ToolTipRole)
    assert tip.startswith("2 datagrams, 11 bytes")
    assert cell(session, model, uid, Column.SENT) == f"{format_size(3)} (1)"
    # Paused: the state says so, in another colour (from the typed state, not the text).
    aio(udp.set_paused(uid, True))
    assert cell(session, model, uid, Column.STATE) == f"Paused on 127.0.0.1:{port}"
    assert colour(session, model, uid) not in (None, bound_colour)
    tip = cell(session, model, uid, Column.STATE, Qt.ItemDataRole.ToolTipRole)
    assert "operating system's buffer" in tip


def test_sorted_by_id_the_servers_come_first_then_the_udp_sockets(
    aio: Callable[..., Any], session: SocketSession
) -> None:
    model = SocketTableModel(session)
    proxy = SocketSortProxy()
    proxy.setSourceModel(model)
    for _ in range(2):
        aio(session.sockets.create())
        aio(session.udp.create())
    aio(session.servers.create())
    session.flush()
    model.flush()
    proxy.sort(Column.ID, Qt.SortOrder.AscendingOrder)
    ids = [proxy.index(r, Column.ID).data() for r in range(proxy.rowCount())]
    assert ids == ["S1", "U1", "U2", "1", "2"]
