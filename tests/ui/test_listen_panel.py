"""Server rows in the window: Socket → New server, the Listen tab, accepted connections linked
to their server, against real clients (plain sockets)."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Callable, Iterator
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QComboBox, QLabel, QPushButton, QSpinBox

import pytest

from tests.ui.conftest import WAIT_MS
from tests.ui.test_main_window import action, child, click
from workbench.core.rules_presets import Preset
from workbench.session import ServerRecord, SocketKey, SocketKind, SocketRecord
from workbench.ui.main_window import MainWindow
from workbench.ui.panels.listen import CONNECTIONS_HINT
from workbench.ui.socket_model import Column

LOOPBACK = "127.0.0.1"


@pytest.fixture
def clients() -> Iterator[list[socket.socket]]:
    """Plain client sockets, closed at the end of the test."""
    made: list[socket.socket] = []
    yield made
    for sock in made:
        sock.close()


def connect_client(clients: list[socket.socket], port: int) -> socket.socket:
    # Loopback: the handshake completes in the kernel's backlog, with no accept() needed.
    sock = socket.create_connection((LOOPBACK, port), timeout=WAIT_MS / 1000)
    clients.append(sock)
    return sock


def new_server(qtbot: Any, window: MainWindow) -> int:
    before = set(window.session.server_ids())
    action(window, "newServerAction").trigger()
    qtbot.waitUntil(lambda: bool(set(window.session.server_ids()) - before), timeout=WAIT_MS)
    (server_id,) = set(window.session.server_ids()) - before
    qtbot.waitUntil(lambda: window.current.server_id == server_id, timeout=WAIT_MS)
    return server_id


def server(window: MainWindow, server_id: int) -> ServerRecord:
    record = window.session.server(server_id)
    assert record is not None
    return record


def listen(qtbot: Any, window: MainWindow, server_id: int, port: int = 0) -> int:
    """Listen through the Listen tab; the port the OS gave."""
    child(window, "listenPort", QSpinBox).setValue(port)
    click(qtbot, child(window, "listenButton", QPushButton))
    qtbot.waitUntil(lambda: server(window, server_id).listening, timeout=WAIT_MS)
    given = server(window, server_id).info.local_port
    assert given is not None
    return given


def server_cell(window: MainWindow, server_id: int, column: Column, role: int = 0) -> Any:
    window.session.flush()
    row = window.model.row_of_key(SocketKey(SocketKind.TCP_SERVER, server_id))
    assert row is not None
    return window.model.index(row, column).data(role)


def tcp_cell(window: MainWindow, sid: int, column: Column) -> Any:
    window.session.flush()
    row = window.model.row_of(sid)
    assert row is not None
    return window.model.index(row, column).data()


def accepted(window: MainWindow, server_id: int) -> list[SocketRecord]:
    key = SocketKey(SocketKind.TCP_SERVER, server_id)
    records = (window.session.ui(sid) for sid in window.session.ids())
    return [r for r in records if r is not None and r.server == key]


def wait_accepted(qtbot: Any, window: MainWindow, server_id: int, count: int) -> list[int]:
    qtbot.waitUntil(lambda: len(accepted(window, server_id)) == count, timeout=WAIT_MS)
    return [r.key.id for r in accepted(window, server_id)]


def captured(window: MainWindow, sid: int) -> bytes:
    store = window.session.captures(sid)
    store.sync()
    return store.read(0, store.total_bytes)


def tab_titles(window: MainWindow) -> list[str]:
    tabs = window.tabs
    return [tabs.tabText(i) for i in range(tabs.count()) if tabs.isTabVisible(i)]


# ------------------------------------------------------------------------------------ flows


def test_listen_on_port_0_and_a_client_s_bytes_arrive_on_its_accepted_row(
    qtbot: Any, workbench_window: MainWindow, clients: list[socket.socket]
) -> None:
    window = workbench_window
    server_id = new_server(qtbot, window)
    # Its own tab only: a server never connects, secures or sets TCP options.
    assert tab_titles(window) == ["&Listen", "&Rules"]
    assert window.tabs.current_panel() is window.listen_panel
    assert child(window, "listenAddress", QComboBox).currentText() == LOOPBACK
    assert child(window, "readAtOnce", QCheckBox).isChecked()
    assert not child(window, "stopListeningButton", QPushButton).isEnabled()
    assert server_cell(window, server_id, Column.ID) == f"S{server_id}"
    assert server_cell(window, server_id, Column.STATE) == "Not listening"

    port = listen(qtbot, window, server_id)
    qtbot.waitUntil(lambda: child(window, "listenResult", QLabel).text() == "OK", timeout=WAIT_MS)
    assert port > 0
    assert server_cell(window, server_id, Column.STATE) == f"Listening on 127.0.0.1:{port}"
    calls = [e.text for e in window.call_log.entries()]
    assert f'chrome.sockets.tcpServer.listen({server_id}, "127.0.0.1", 0) → 0' in calls
    assert f'chrome.sockets.tcpServer.listen({server_id}, "127.0.0.1", 0) → 0' in (
        window.call_log_view.lines()
    )
    assert not child(window, "listenButton", QPushButton).isEnabled()  # L4: once

    client = connect_client(clients, port)
    client.sendall(b"hello, server")
    (sid,) = wait_accepted(qtbot, window, server_id, 1)
    # Read at once (the default): the window resumed it, so the bytes arrive.
    qtbot.waitUntil(lambda: window.session.counters(sid)[0] == 13, timeout=WAIT_MS)
    assert captured(window, sid) == b"hello, server"
    assert tcp_cell(window, sid, Column.SERVER) == f"S{server_id}"
    assert tcp_cell(window, sid, Column.PEER) == "{}:{}".format(*client.getsockname())
    assert tcp_cell(window, sid, Column.STATE) == "Connected"
    assert server_cell(window, server_id, Column.PEER) == "1 of 1 open"
    # The link shows: the Server column appeared with the first server, and the State column
    # has room for what the server listens on.
    header = window.table.horizontalHeader()
    assert not header.isSectionHidden(Column.SERVER)
    state = server_cell(window, server_id, Column.STATE)
    assert header.sectionSize(Column.STATE) >= window.table.fontMetrics().horizontalAdvance(state)
    qtbot.waitUntil(
        lambda: window.socket_count.text() == "1 socket, 1 connected, 1 server", timeout=WAIT_MS
    )

    # The accepted row is a TCP socket like any other: its own tabs, data and composer.
    window.select_socket(sid)
    assert "&Connect" in tab_titles(window) and "&Listen" not in tab_titles(window)
    assert window.data_view.store() is window.session.captures(sid)


def test_read_at_once_off_leaves_the_accepted_socket_paused(
    qtbot: Any, workbench_window: MainWindow, clients: list[socket.socket]
) -> None:
    window = workbench_window
    server_id = new_server(qtbot, window)
    child(window, "readAtOnce", QCheckBox).setChecked(False)
    assert not server(window, server_id).intent.read_at_once
    port = listen(qtbot, window, server_id)
    connect_client(clients, port).sendall(b"held")
    (sid,) = wait_accepted(qtbot, window, server_id, 1)
    window.session.flush()
    record = window.session.ui(sid)
    assert record is not None and record.info.paused  # as Chrome starts it (L5)
    assert tcp_cell(window, sid, Column.STATE) == "Paused"
    assert window.session.counters(sid)[0] == 0
    # Resume from the toolbar: the held bytes come, in order.
    window.select_socket(sid)
    pause = action(window, "pauseAction")
    assert pause.text() == "&Resume"
    pause.trigger()
    qtbot.waitUntil(lambda: window.session.counters(sid)[0] == 4, timeout=WAIT_MS)
    assert captured(window, sid) == b"held"


def test_stop_listening_frees_the_port_and_keeps_the_connections(
    qtbot: Any, workbench_window: MainWindow, clients: list[socket.socket]
) -> None:
    window = workbench_window
    server_id = new_server(qtbot, window)
    port = listen(qtbot, window, server_id)
    connect_client(clients, port)
    (sid,) = wait_accepted(qtbot, window, server_id, 1)
    click(qtbot, child(window, "stopListeningButton", QPushButton))
    qtbot.waitUntil(lambda: not server(window, server_id).listening, timeout=WAIT_MS)
    assert server_cell(window, server_id, Column.STATE) == "Not listening"
    assert child(window, "listenButton", QPushButton).isEnabled()  # listen works again
    # The stop's OK makes the listen's history: the tab never shows both as OK.
    qtbot.waitUntil(
        lambda: child(window, "stopListeningResult", QLabel).text() == "OK", timeout=WAIT_MS
    )
    assert child(window, "listenResult", QLabel).text() == ""
    # The port is free at once (L8): a new listener with SO_REUSEADDR takes it while the
    # accepted connection still uses it, and a new client reaches that listener.
    other = socket.socket()
    clients.append(other)
    other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    other.bind((LOOPBACK, port))
    other.listen()
    connect_client(clients, port)
    other.settimeout(WAIT_MS / 1000)
    taken, _ = other.accept()
    clients.append(taken)
    record = window.session.ui(sid)
    assert record is not None and record.info.connected
    assert len(accepted(window, server_id)) == 1  # nothing more reached the stopped server


def test_an_accepted_socket_the_peer_closed_keeps_its_peer_in_the_row_and_connect_tab(
    qtbot: Any, workbench_window: MainWindow, clients: list[socket.socket]
) -> None:
    window = workbench_window
    # What was typed for another socket must not stand in for the accepted one's peer.
    window.tabs.connect_panel.set_peer("192.0.2.1", 9)
    server_id = new_server(qtbot, window)
    port = listen(qtbot, window, server_id)
    client = connect_client(clients, port)
    peer = "{}:{}".format(*client.getsockname())
    (sid,) = wait_accepted(qtbot, window, server_id, 1)
    client.close()
    qtbot.waitUntil(
        lambda: not window.session.ui(sid).info.connected,  # type: ignore[union-attr]
        timeout=WAIT_MS,
    )
    assert tcp_cell(window, sid, Column.PEER) == peer
    window.select_socket(sid)
    panel = window.tabs.connect_panel
    assert f"{panel.address_text()}:{panel.port.text()}" == peer


def test_closing_the_server_removes_its_row_and_keeps_its_connections(
    qtbot: Any, workbench_window: MainWindow, clients: list[socket.socket]
) -> None:
    window = workbench_window
    server_id = new_server(qtbot, window)
    port = listen(qtbot, window, server_id)
    client = connect_client(clients, port)
    (sid,) = wait_accepted(qtbot, window, server_id, 1)
    window.current.select_key(SocketKey(SocketKind.TCP_SERVER, server_id))
    close = action(window, "closeSocketAction")
    assert close.isEnabled()
    close.trigger()
    qtbot.waitUntil(lambda: window.session.server(server_id) is None, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: window.model.server_ids() == [], timeout=WAIT_MS)
    assert window.current.key is None  # nothing took its place
    # L9: the connection it accepted stays, still linked to the (closed) server by name.
    assert window.model.row_of(sid) is not None
    assert tcp_cell(window, sid, Column.SERVER) == f"S{server_id}"
    client.sendall(b"still here")
    qtbot.waitUntil(lambda: window.session.counters(sid)[0] == 10, timeout=WAIT_MS)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((LOOPBACK, port), timeout=WAIT_MS / 1000).close()


def test_listening_on_an_address_in_use_shows_147_beside_the_button(
    qtbot: Any, workbench_window: MainWindow
) -> None:
    window = workbench_window
    taken = socket.socket()
    try:
        taken.bind((LOOPBACK, 0))
        taken.listen()
        port = taken.getsockname()[1]
        server_id = new_server(qtbot, window)
        child(window, "listenPort", QSpinBox).setValue(port)
        click(qtbot, child(window, "listenButton", QPushButton))
        result = child(window, "listenResult", QLabel)
        qtbot.waitUntil(lambda: result.code == -147, timeout=WAIT_MS)
        first, _, detail = result.text().partition("\n")
        assert first.startswith("-147 ADDRESS_IN_USE: ")
        assert detail  # the operating system's own words, underneath
        assert server_cell(window, server_id, Column.STATE) == "Not listening"
        assert child(window, "listenButton", QPushButton).isEnabled()  # L3: usable again
        call = f'chrome.sockets.tcpServer.listen({server_id}, "127.0.0.1", {port}) → -147'
        assert any(e.text.startswith(call) for e in window.call_log.entries())
    finally:
        taken.close()


def test_a_host_name_is_refused_in_the_form_before_the_core(
    qtbot: Any, workbench_window: MainWindow
) -> None:
    window = workbench_window
    new_server(qtbot, window)
    child(window, "listenAddress", QComboBox).setCurrentText("localhost")
    assert not child(window, "listenButton", QPushButton).isEnabled()
    assert "not a host name" in window.listen_panel.addressError.text()
    child(window, "listenAddress", QComboBox).setCurrentText("::1")
    assert child(window, "listenButton", QPushButton).isEnabled()


def test_all_interfaces_is_an_explicit_choice_the_row_shows_in_amber(
    qtbot: Any, workbench_window: MainWindow
) -> None:
    window = workbench_window
    server_id = new_server(qtbot, window)
    combo = child(window, "listenAddress", QComboBox)
    assert [combo.itemText(i) for i in range(combo.count())][:1] == [LOOPBACK]
    assert combo.findText("0.0.0.0") >= 0 and combo.findText("::") >= 0
    combo.setCurrentIndex(combo.findText("0.0.0.0"))
    port = listen(qtbot, window, server_id)
    text = server_cell(window, server_id, Column.STATE)
    assert text == f"All interfaces :{port}"
    brush = server_cell(window, server_id, Column.STATE, Qt.ItemDataRole.ForegroundRole)
    assert brush.color().name() == "#c87800"  # amber
    tip = server_cell(window, server_id, Column.STATE, Qt.ItemDataRole.ToolTipRole)
    assert f"Listening on 0.0.0.0:{port} (all interfaces)" in tip
    assert "other machines" in tip
    status = child(window, "listenStatus", QLabel).text()
    assert f"Listening on 0.0.0.0:{port} (all interfaces)" in status


def test_a_server_row_offers_only_a_server_s_actions(
    qtbot: Any, workbench_window: MainWindow, clients: list[socket.socket]
) -> None:
    window = workbench_window
    server_id = new_server(qtbot, window)
    connect, secure = action(window, "connectAction"), action(window, "secureAction")
    assert not connect.isEnabled() and "does not connect" in connect.toolTip()
    assert not secure.isEnabled() and "TLS runs on a connection" in secure.toolTip()
    assert not child(window, "sendButton", QPushButton).isEnabled()
    assert not action(window, "clearDataAction").isEnabled()
    # No data pane nor composer: the server's tabs take their room, and say where data is.
    assert window.data_pane.isHidden() and window.composer.isHidden()
    assert child(window, "listenHint", QLabel).text() == CONNECTIONS_HINT
    assert not action(window, "disconnectAction").isEnabled()  # not listening yet
    port = listen(qtbot, window, server_id)
    # Stop listening, once the window has seen it listen (changes come at the next tick).
    qtbot.waitUntil(action(window, "disconnectAction").isEnabled, timeout=WAIT_MS)
    # Pause stops accepting (L7): a client waits in the backlog until Resume.
    pause = action(window, "pauseAction")
    pause.trigger()
    qtbot.waitUntil(lambda: server(window, server_id).info.paused, timeout=WAIT_MS)
    window.session.flush()
    assert server_cell(window, server_id, Column.STATE) == f"Paused on 127.0.0.1:{port}"
    assert pause.text() == "&Resume"
    connect_client(clients, port)
    assert accepted(window, server_id) == []
    pause.trigger()
    wait_accepted(qtbot, window, server_id, 1)
    # Selecting a TCP row gives the TCP actions their own tooltips back, and its data.
    sid = accepted(window, server_id)[0].key.id
    window.select_socket(sid)
    assert "does not connect" not in connect.toolTip()
    assert window.data_pane.isVisible() and window.composer.isVisible()


def test_each_kind_comes_back_to_the_tab_it_was_left_on(
    qtbot: Any, workbench_window: MainWindow
) -> None:
    window = workbench_window
    action(window, "newSocketAction").trigger()
    qtbot.waitUntil(lambda: window.current_socket() is not None, timeout=WAIT_MS)
    sid = window.current_socket()
    window.tabs.show_panel(window.tls_panel)
    server_id = new_server(qtbot, window)
    assert window.tabs.current_panel() is window.listen_panel
    window.select_socket(sid)
    assert window.tabs.current_panel() is window.tls_panel
    window.current.select_key(SocketKey(SocketKind.TCP_SERVER, server_id))
    assert window.tabs.current_panel() is window.listen_panel


def test_servers_sort_before_sockets_by_id(
    qtbot: Any, workbench_window: MainWindow, aio: Callable[..., Any]
) -> None:
    window = workbench_window
    for _ in range(2):
        aio(window.sockets.create())
    server_id = new_server(qtbot, window)
    window.session.flush()
    window.model.flush()
    proxy = window.proxy
    ids = [proxy.index(r, Column.ID).data() for r in range(proxy.rowCount())]
    assert ids == [f"S{server_id}", *(str(s) for s in window.session.ids())]


def test_the_rules_tab_follows_the_server_and_its_rules_answer_a_client(
    qtbot: Any, workbench_window: MainWindow, clients: list[socket.socket]
) -> None:
    window = workbench_window
    server_id = new_server(qtbot, window)
    rules = window.rules_panel
    assert rules.objectName() == "responseRules"
    assert rules.server_id() == server_id and rules.isEnabled()
    port = listen(qtbot, window, server_id)
    window.tabs.show_panel(rules)
    rules.load_preset(Preset.REDIS)
    click(qtbot, rules.apply_button)
    qtbot.waitUntil(
        lambda: window.session.core.rules.ruleset(server_id) is not None, timeout=WAIT_MS
    )
    client = connect_client(clients, port)
    client.sendall(b"PING\r\n")
    (sid,) = wait_accepted(qtbot, window, server_id, 1)
    # The loop must run for the server to answer: read without blocking, while Qt waits.
    client.setblocking(False)
    got = bytearray()

    def answered() -> bool:
        with contextlib.suppress(BlockingIOError):
            got.extend(client.recv(64))
        return got.endswith(b"\r\n")

    qtbot.waitUntil(answered, timeout=WAIT_MS)
    reply = bytes(got)
    assert reply == b"+PONG\r\n"
    # The reply is in the accepted row's capture, as a sent chunk.
    qtbot.waitUntil(lambda: window.session.counters(sid) == (6, 7), timeout=WAIT_MS)
    # A TCP row has no rules: the panel lets the server go.
    window.select_socket(sid)
    assert rules.server_id() is None and not rules.isEnabled()


def test_persistent_is_a_logged_update_the_tab_shows_per_server(
    qtbot: Any, workbench_window: MainWindow
) -> None:
    window = workbench_window
    first = new_server(qtbot, window)
    persistent = child(window, "listenPersistent", QCheckBox)
    assert not persistent.isChecked()
    persistent.setChecked(True)
    qtbot.waitUntil(lambda: server(window, first).info.persistent, timeout=WAIT_MS)
    call = f'chrome.sockets.tcpServer.update({first}, {{"persistent":true}})'
    assert any(e.text.startswith(call) for e in window.call_log.entries())
    second = new_server(qtbot, window)
    assert not persistent.isChecked()  # the other server's own
    window.current.select_key(SocketKey(SocketKind.TCP_SERVER, first))
    assert persistent.isChecked()
    assert not server(window, second).info.persistent


def test_the_call_log_can_show_one_server_s_calls_and_events(
    qtbot: Any, workbench_window: MainWindow, clients: list[socket.socket]
) -> None:
    window = workbench_window
    server_id = new_server(qtbot, window)
    port = listen(qtbot, window, server_id)
    connect_client(clients, port)
    wait_accepted(qtbot, window, server_id, 1)
    view = window.call_log_view
    index = view.filter.findText(f"Server S{server_id}")
    assert index >= 0, "the server is not in the call log's Show: list"
    view.filter.setCurrentIndex(index)
    qtbot.waitUntil(lambda: any("onAccept" in line for line in view.lines()), timeout=WAIT_MS)
    lines = view.lines()
    assert lines and all("chrome.sockets.tcpServer." in line for line in lines)
    assert any(f'.listen({server_id}, "127.0.0.1", 0) → 0' in line for line in lines)
