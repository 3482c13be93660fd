"""The socket table model: an adapter over the session, checked with qtmodeltester."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

from PySide6.QtCore import QModelIndex, Qt

import pytest

from tests.net.tls_peers import ThreadedServer
from tests.ui.conftest import WAIT_MS
from workbench.session import SocketKey, SocketKind
from workbench.sockets import SecureOptions, SocketProperties, TcpSockets
from workbench.ui.bridge import SocketSession
from workbench.ui.socket_model import (
    SOCKET_ID_ROLE,
    SORT_ROLE,
    Column,
    SocketSortProxy,
    SocketTableModel,
)


@pytest.fixture
def session(qloop: asyncio.AbstractEventLoop, aio: Callable[..., Any]) -> Iterator[SocketSession]:
    s = SocketSession(TcpSockets())
    yield s
    aio(s.close_all())
    s.shutdown()


def cell(model: Any, row: int, column: Column, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
    model.flush()  # new sockets are inserted together, at the next flush
    return model.index(row, column).data(role)


def test_model_passes_qtmodeltester(
    qtmodeltester: Any,
    aio: Callable[..., Any],
    session: SocketSession,
    echo_server: ThreadedServer,
    refused_port: int,
) -> None:
    """The tester keeps watching while sockets are added, change and go."""
    model = SocketTableModel(session)
    tcp = session.sockets
    first = aio(tcp.create()).socket_id
    qtmodeltester.check(model, force_py=True)
    a = aio(tcp.create(SocketProperties(name="alpha", persistent=True))).socket_id
    b = aio(tcp.create()).socket_id
    assert aio(tcp.connect(a, "127.0.0.1", echo_server.port)) == 0
    assert aio(tcp.connect(b, "127.0.0.1", refused_port)) == -102
    session.flush()
    aio(tcp.close(a))
    aio(tcp.close(first))
    assert model.rowCount() == 1 and model.socket_ids() == [b]


def test_sort_proxy_passes_qtmodeltester(
    qtmodeltester: Any, aio: Callable[..., Any], session: SocketSession
) -> None:
    model = SocketTableModel(session)
    proxy = SocketSortProxy()
    proxy.setSourceModel(model)
    for name in ("b", "a", "c"):
        aio(session.sockets.create(SocketProperties(name=name)))
    model.flush()
    proxy.sort(Column.NAME, Qt.SortOrder.AscendingOrder)
    qtmodeltester.check(proxy, force_py=True)
    assert [proxy.index(r, Column.NAME).data() for r in range(3)] == ["a", "b", "c"]
    aio(session.sockets.create(SocketProperties(name="aa")))
    model.flush()
    assert [proxy.index(r, Column.NAME).data() for r in range(4)] == ["a", "aa", "b", "c"]


def test_columns_show_the_socket(
    qtbot: Any,
    aio: Callable[..., Any],
    session: SocketSession,
    echo_server: ThreadedServer,
    refused_port: int,
) -> None:
    model = SocketTableModel(session)
    headers = [model.headerData(c, Qt.Orientation.Horizontal) for c in Column]
    assert headers == [
        "ID",
        "Name",
        "State",
        "Local",
        "Peer",
        "TLS",
        "Received",
        "Sent",
        "Buffer size",
        "Persistent",
        "Kind",
        "Server",
    ]
    assert model.headerData(0, Qt.Orientation.Horizontal, Qt.ItemDataRole.ToolTipRole)
    tcp = session.sockets
    sid = aio(tcp.create(SocketProperties(name="web", buffer_size=512, persistent=True))).socket_id
    assert model.rowCount() == 1
    assert cell(model, 0, Column.ID) == str(sid)
    assert cell(model, 0, Column.STATE) == "Created"
    assert cell(model, 0, Column.BUFFER) == "512"
    assert cell(model, 0, Column.PERSISTENT) == "Yes"
    assert aio(tcp.connect(sid, "127.0.0.1", echo_server.port)) == 0
    aio(tcp.send(sid, b"x" * 2048))
    qtbot.waitUntil(lambda: cell(model, 0, Column.RECEIVED) == "2.0 KiB", timeout=WAIT_MS)
    assert cell(model, 0, Column.SENT) == "2.0 KiB"
    assert cell(model, 0, Column.RECEIVED, SORT_ROLE) == 2048
    assert cell(model, 0, Column.RECEIVED, Qt.ItemDataRole.ToolTipRole) == "2,048 bytes"
    assert cell(model, 0, Column.STATE) == "Connected"
    assert cell(model, 0, Column.PEER) == f"127.0.0.1:{echo_server.port}"
    assert cell(model, 0, Column.LOCAL).startswith("127.0.0.1:")
    assert cell(model, 0, Column.NAME) == "web"
    aio(tcp.disconnect(sid))
    assert aio(tcp.connect(sid, "127.0.0.1", refused_port)) == -102
    session.flush()
    assert cell(model, 0, Column.STATE) == "Error: CONNECTION_REFUSED"
    assert "-102 CONNECTION_REFUSED" in cell(model, 0, Column.STATE, Qt.ItemDataRole.ToolTipRole)
    assert cell(model, 0, Column.STATE, Qt.ItemDataRole.DecorationRole) is not None


def _unverified_tls(aio: Callable[..., Any], session: SocketSession, server: ThreadedServer) -> int:
    sid = aio(session.sockets.create()).socket_id
    assert aio(session.sockets.connect(sid, "127.0.0.1", server.port)) == 0
    assert aio(session.sockets.secure(sid, SecureOptions(verify=False))) == 0
    return int(sid)


def test_verify_off_is_flagged_on_the_row(
    aio: Callable[..., Any], session: SocketSession, tls_echo_server: ThreadedServer
) -> None:
    model = SocketTableModel(session)
    plain = aio(session.sockets.create()).socket_id
    # Drafting "verify off" for a socket that never starts TLS flags nothing (it is not off).
    session.set_intent(plain, secure=SecureOptions(verify=False))
    assert cell(model, 0, Column.NAME, Qt.ItemDataRole.BackgroundRole) is None
    assert cell(model, 0, Column.TLS) == ""
    _unverified_tls(aio, session, tls_echo_server)
    for column in Column:
        assert cell(model, 1, column, Qt.ItemDataRole.BackgroundRole) is not None
        assert "verification is OFF" in cell(model, 1, column, Qt.ItemDataRole.ToolTipRole)
    assert "(not verified)" in cell(model, 1, Column.TLS)
    assert cell(model, 1, Column.TLS, Qt.ItemDataRole.DecorationRole) is not None


def test_one_data_changed_per_flush(
    qtbot: Any, aio: Callable[..., Any], session: SocketSession, echo_server: ThreadedServer
) -> None:
    model = SocketTableModel(session)
    tcp = session.sockets
    sids = [aio(tcp.create(SocketProperties(buffer_size=64))).socket_id for _ in range(3)]
    for sid in sids:
        assert aio(tcp.connect(sid, "127.0.0.1", echo_server.port)) == 0
    session.flush()
    changes: list[tuple[int, int, int, int]] = []

    def record(top: QModelIndex, bottom: QModelIndex, _roles: Any = ()) -> None:
        changes.append((top.row(), bottom.row(), top.column(), bottom.column()))

    model.dataChanged.connect(record)
    flushes: list[frozenset[int]] = []
    session.socketsChanged.connect(flushes.append)
    payload = b"z" * 200_000
    for sid in sids:
        aio(tcp.send(sid, payload))
    qtbot.waitUntil(
        lambda: all(session.counters(s)[0] == len(payload) for s in sids), timeout=WAIT_MS
    )
    session.flush()
    assert changes, "the model never said the counters changed"
    # One change per flush, from the first changed row to the last, every column; never one
    # per chunk, nor one per socket.
    assert len(changes) == len(flushes)
    for (top, bottom, left, right), sids in zip(changes, flushes, strict=True):
        rows = [model.row_of(s) for s in sids]
        assert (top, bottom) == (min(rows), max(rows))  # type: ignore[type-var]
        assert (left, right) == (Column.ID + 1, len(Column) - 1)  # an id never changes
    assert len(changes) < 3 * len(payload) // 64 / 10


def test_proxy_sorts_numbers_as_numbers(
    qtbot: Any, aio: Callable[..., Any], session: SocketSession, echo_server: ThreadedServer
) -> None:
    model = SocketTableModel(session)
    proxy = SocketSortProxy()
    proxy.setSourceModel(model)
    tcp = session.sockets
    sizes = {}
    for n in (900, 10_000, 50):
        sid = aio(tcp.create()).socket_id
        assert aio(tcp.connect(sid, "127.0.0.1", echo_server.port)) == 0
        aio(tcp.send(sid, b"q" * n))
        sizes[sid] = n
    qtbot.waitUntil(
        lambda: all(session.counters(s)[0] == n for s, n in sizes.items()), timeout=WAIT_MS
    )
    session.flush()
    proxy.sort(Column.RECEIVED, Qt.SortOrder.AscendingOrder)
    shown = [proxy.index(r, Column.RECEIVED).data(SORT_ROLE) for r in range(proxy.rowCount())]
    assert shown == [50, 900, 10_000]
    proxy.sort(Column.ID, Qt.SortOrder.DescendingOrder)
    ids = [int(proxy.index(r, Column.ID).data()) for r in range(proxy.rowCount())]
    assert ids == sorted(sizes, reverse=True)


def test_verify_off_is_in_the_state_text_with_the_warning_icon(
    aio: Callable[..., Any], session: SocketSession, tls_echo_server: ThreadedServer
) -> None:
    model = SocketTableModel(session)
    aio(session.sockets.create())
    assert cell(model, 0, Column.STATE) == "Created"
    assert cell(model, 0, Column.STATE, Qt.ItemDataRole.DecorationRole) is None
    _unverified_tls(aio, session, tls_echo_server)
    assert cell(model, 1, Column.STATE).endswith("(unverified)")
    assert cell(model, 1, Column.STATE, Qt.ItemDataRole.DecorationRole) is not None
    assert "verification is OFF" in cell(model, 1, Column.STATE, Qt.ItemDataRole.ToolTipRole)


def test_state_and_name_tooltips_hold_the_whole_text(
    aio: Callable[..., Any], session: SocketSession, refused_port: int
) -> None:
    """The table elides long names and states in the middle; the tooltip has them whole."""
    model = SocketTableModel(session)
    name = "a-rather-long-socket-name-that-no-column-shows-whole"
    sid = aio(session.sockets.create(SocketProperties(name=name))).socket_id
    assert aio(session.sockets.connect(sid, "127.0.0.1", refused_port)) == -102
    session.flush()
    assert name in cell(model, 0, Column.NAME, Qt.ItemDataRole.ToolTipRole)
    state = cell(model, 0, Column.STATE)
    assert state == "Error: CONNECTION_REFUSED"
    assert cell(model, 0, Column.STATE, Qt.ItemDataRole.ToolTipRole).splitlines()[0] == state


# ---------------------------------------------------------------------------- server rows


def test_server_rows_pass_qtmodeltester_as_they_come_and_go(
    qtmodeltester: Any, aio: Callable[..., Any], session: SocketSession
) -> None:
    model = SocketTableModel(session)
    servers = session.servers
    first = aio(session.sockets.create()).socket_id
    qtmodeltester.check(model, force_py=True)
    s1 = aio(servers.create()).socket_id
    s2 = aio(servers.create()).socket_id
    assert aio(servers.listen(s1, "127.0.0.1", 0)) == 0
    second = aio(session.sockets.create()).socket_id  # a TCP row inserted before the servers
    session.flush()
    assert [model.key(r) for r in range(model.rowCount())] == [
        SocketKey.tcp(first),
        SocketKey.tcp(second),
        SocketKey(SocketKind.TCP_SERVER, s1),
        SocketKey(SocketKind.TCP_SERVER, s2),
    ]
    assert model.row_of_key(SocketKey(SocketKind.TCP_SERVER, s2)) == 3
    assert model.index(2, Column.ID).data(SOCKET_ID_ROLE) is None  # not a TCP socket
    aio(servers.close(s1))
    aio(session.sockets.close(first))
    assert model.server_ids() == [s2] and model.socket_ids() == [second]
    assert model.rowCount() == 2


def test_a_server_row_shows_what_it_listens_on_and_its_connections(
    qtbot: Any, aio: Callable[..., Any], session: SocketSession
) -> None:
    model = SocketTableModel(session)
    servers = session.servers
    sid = aio(servers.create()).socket_id
    assert cell(model, 0, Column.ID) == f"S{sid}"
    assert cell(model, 0, Column.KIND) == "Server"
    assert cell(model, 0, Column.STATE) == "Not listening"
    assert cell(model, 0, Column.PEER) == ""
    assert cell(model, 0, Column.NAME, Qt.ItemDataRole.DecorationRole) is not None
    assert cell(model, 0, Column.ID, Qt.ItemDataRole.DecorationRole) is None
    assert aio(servers.listen(sid, "127.0.0.1", 0)) == 0
    record = session.server(sid)
    assert record is not None
    port = record.info.local_port
    session.flush()
    assert cell(model, 0, Column.STATE) == f"Listening on 127.0.0.1:{port}"
    assert cell(model, 0, Column.LOCAL) == f"127.0.0.1:{port}"
    assert cell(model, 0, Column.PEER) == "0 accepted"
    assert cell(model, 0, Column.RECEIVED) == ""
    client = aio(session.sockets.create()).socket_id
    assert aio(session.sockets.connect(client, "127.0.0.1", port)) == 0
    qtbot.waitUntil(lambda: record.accepted == 1, timeout=WAIT_MS)
    session.flush()
    rows = {model.key(r): r for r in range(model.rowCount())}
    server_row = rows[SocketKey(SocketKind.TCP_SERVER, sid)]
    assert cell(model, server_row, Column.PEER) == "1 of 1 open"
    (accepted,) = (k for k in rows if k.kind is SocketKind.TCP and k.id != client)
    assert cell(model, rows[accepted], Column.SERVER) == f"S{sid}"
    assert cell(model, rows[accepted], Column.SERVER, SORT_ROLE) == sid
    assert cell(model, rows[accepted], Column.KIND) == "TCP"
    assert "Accepted by server" in cell(
        model, rows[accepted], Column.SERVER, Qt.ItemDataRole.ToolTipRole
    )
    assert cell(model, rows[SocketKey.tcp(client)], Column.SERVER) == ""  # the user's own socket
    aio(servers.set_paused(sid, True))
    session.flush()
    assert cell(model, server_row, Column.STATE) == f"Paused on 127.0.0.1:{port}"
