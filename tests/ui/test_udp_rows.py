"""UDP rows in the window: Socket → New UDP socket, rows for every UDP socket of the session
whoever made it, their actions (Pause/Resume, Close; never Connect, Secure or Disconnect),
their tabs, their datagrams in the data pane, against plain loopback UDP sockets."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from typing import Any

from PySide6.QtWidgets import QLabel

import pytest

from tests.ui.conftest import WAIT_MS
from tests.ui.test_main_window import action
from workbench.core.formatting import format_size
from workbench.session import SocketKey, SocketKind, UdpRecord
from workbench.ui.main_window import MainWindow
from workbench.ui.socket_model import Column

LOOPBACK = "127.0.0.1"


@pytest.fixture
def peer() -> Iterator[socket.socket]:
    """A plain UDP socket on the loopback."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((LOOPBACK, 0))
    yield sock
    sock.close()


def udp_key(udp_id: int) -> SocketKey:
    return SocketKey(SocketKind.UDP, udp_id)


def new_udp(qtbot: Any, window: MainWindow) -> int:
    """Socket → New UDP socket; its id, once its row is current."""
    before = set(window.session.udp_ids())
    action(window, "newUdpSocketAction").trigger()
    qtbot.waitUntil(lambda: bool(set(window.session.udp_ids()) - before), timeout=WAIT_MS)
    (udp_id,) = set(window.session.udp_ids()) - before
    qtbot.waitUntil(lambda: window.current.udp_id == udp_id, timeout=WAIT_MS)
    return udp_id


def record(window: MainWindow, udp_id: int) -> UdpRecord:
    found = window.session.udp_record(udp_id)
    assert found is not None
    return found


def udp_cell(window: MainWindow, udp_id: int, column: Column) -> Any:
    window.session.flush()
    row = window.model.row_of_key(udp_key(udp_id))
    assert row is not None, f"no row for U{udp_id}"
    return window.model.index(row, column).data()


def bind(aio: Callable[..., Any], window: MainWindow, udp_id: int) -> int:
    """``session.udp.bind(udp_id, "127.0.0.1", 0)``; the port the OS gave."""
    assert aio(window.session.udp.bind(udp_id, LOOPBACK, 0)) == 0
    port = record(window, udp_id).info.local_port
    assert port is not None
    return port


def tab_titles(window: MainWindow) -> list[str]:
    tabs = window.tabs
    return [tabs.tabText(i) for i in range(tabs.count()) if tabs.isTabVisible(i)]


def test_new_udp_socket_adds_a_selected_row_made_by_a_logged_call(
    qtbot: Any, workbench_window: MainWindow
) -> None:
    window = workbench_window
    with qtbot.waitSignal(window.current.udpChanged, timeout=WAIT_MS) as changed:
        udp_id = new_udp(qtbot, window)
    assert changed.args == [udp_id]
    assert window.table.selected_keys() == [udp_key(udp_id)]
    assert window.current.key == udp_key(udp_id) and window.current.sid is None
    assert udp_cell(window, udp_id, Column.ID) == f"U{udp_id}"
    assert udp_cell(window, udp_id, Column.STATE) == "Not bound"
    created = [e.text for e in window.call_log.entries() if ".udp.create(" in e.text]
    assert created and created[0].startswith("chrome.sockets.udp.create({})")
    # Its datagrams show in the data pane, and the composer stays (a server's would go).
    assert window.data_pane.isVisible() and window.composer.isVisible()
    assert window.data_pane.isEnabled()
    assert window.data_view.store() is record(window, udp_id).capture
    # Its own tabs: none of the TCP or server tabs shows for a UDP row.
    assert tab_titles(window) == ["&Bind", "&Multicast", "&Properties", "&Rules"]
    assert window.tabs.current_panel() is window.tabs.bind_panel
    # What never applies to a UDP socket is greyed, and says why.
    connect, secure = action(window, "connectAction"), action(window, "secureAction")
    disconnect = action(window, "disconnectAction")
    assert not connect.isEnabled() and "does not connect" in connect.toolTip()
    assert not secure.isEnabled() and "TLS runs over TCP" in secure.toolTip()
    assert not disconnect.isEnabled() and "no connection" in disconnect.toolTip()
    assert action(window, "pauseAction").isEnabled()
    assert action(window, "closeSocketAction").isEnabled()
    assert action(window, "clearDataAction").isEnabled()  # the datagrams are its data


def test_every_udp_socket_of_the_session_is_a_row_with_its_binding_and_counters(
    qtbot: Any, workbench_window: MainWindow, aio: Callable[..., Any], peer: socket.socket
) -> None:
    """Sockets made through the session and by the core itself are listed; the data pane
    follows the current one's datagrams as they come."""
    window = workbench_window
    made_by_core = aio(window.session.udp.raw.create()).socket_id
    udp_id = aio(window.session.udp.create()).socket_id
    assert udp_cell(window, made_by_core, Column.KIND) == "UDP"
    assert udp_cell(window, udp_id, Column.STATE) == "Not bound"
    port = bind(aio, window, udp_id)
    assert udp_cell(window, udp_id, Column.STATE) == f"Bound to 127.0.0.1:{port}"
    assert udp_cell(window, udp_id, Column.LOCAL) == f"127.0.0.1:{port}"
    window.current.select_key(udp_key(udp_id))
    assert window.current.udp_id == udp_id
    store = record(window, udp_id).capture
    assert window.data_view.store() is store
    peer.sendto(b"hello", (LOOPBACK, port))
    peer.sendto(b"datagram", (LOOPBACK, port))
    qtbot.waitUntil(lambda: record(window, udp_id).datagrams_in == 2, timeout=WAIT_MS)
    assert udp_cell(window, udp_id, Column.RECEIVED) == f"{format_size(13)} (2)"
    assert udp_cell(window, udp_id, Column.SENT) == f"{format_size(0)} (0)"
    # The flush that counted them told the data pane: it shows every byte already.
    last = window.data_view.visible_rows()[-1]
    assert last[2] + len(last[3]) == store.total_bytes == 13


def test_pause_and_resume_act_on_the_udp_row_and_the_core(
    qtbot: Any, workbench_window: MainWindow, aio: Callable[..., Any]
) -> None:
    window = workbench_window
    udp_id = new_udp(qtbot, window)
    port = bind(aio, window, udp_id)
    raw = window.session.udp.raw
    pause = action(window, "pauseAction")
    pause.trigger()
    qtbot.waitUntil(lambda: raw.info_now(udp_id).paused, timeout=WAIT_MS)
    assert udp_cell(window, udp_id, Column.STATE) == f"Paused on 127.0.0.1:{port}"
    qtbot.waitUntil(lambda: pause.text() == "&Resume", timeout=WAIT_MS)
    assert record(window, udp_id).intent.paused
    pause.trigger()
    qtbot.waitUntil(lambda: not raw.info_now(udp_id).paused, timeout=WAIT_MS)
    assert udp_cell(window, udp_id, Column.STATE) == f"Bound to 127.0.0.1:{port}"
    qtbot.waitUntil(lambda: pause.text() == "&Pause", timeout=WAIT_MS)
    calls = [e.text for e in window.call_log.entries() if ".udp.setPaused(" in e.text]
    assert [c.split(" →")[0] for c in calls] == [
        f"chrome.sockets.udp.setPaused({udp_id}, true)",
        f"chrome.sockets.udp.setPaused({udp_id}, false)",
    ]


def test_close_removes_the_udp_row_and_frees_its_port(
    qtbot: Any, workbench_window: MainWindow, aio: Callable[..., Any]
) -> None:
    window = workbench_window
    udp_id = new_udp(qtbot, window)
    port = bind(aio, window, udp_id)
    with qtbot.waitSignal(window.current.udpChanged, timeout=WAIT_MS) as changed:
        action(window, "closeSocketAction").trigger()
        qtbot.waitUntil(lambda: window.session.udp_ids() == [], timeout=WAIT_MS)
    assert changed.args == [None]
    assert window.model.row_of_key(udp_key(udp_id)) is None
    assert window.current.key is None and window.data_view.store() is None
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as again:
        again.bind((LOOPBACK, port))  # D11: the port is free at once


def test_each_kind_shows_its_own_tabs_and_comes_back_to_the_one_it_was_left_on(
    qtbot: Any, workbench_window: MainWindow
) -> None:
    window = workbench_window
    tabs = window.tabs
    followed: list[int | None] = []
    extra = QLabel("extra")
    tabs.add_udp_tab(extra, "E&xtra", "A tab added later", follow=followed.append)
    assert followed == [None]  # told at once: no UDP row is current
    bind_panel, udp_panel = tabs.bind_panel, tabs.udp_properties_panel
    action(window, "newSocketAction").trigger()
    qtbot.waitUntil(lambda: window.current_socket() is not None, timeout=WAIT_MS)
    sid = window.current_socket()
    tabs.show_panel(window.tls_panel)
    udp_id = new_udp(qtbot, window)
    assert tab_titles(window) == ["&Bind", "&Multicast", "&Properties", "&Rules", "E&xtra"]
    assert tabs.current_panel() is bind_panel
    assert followed == [None, udp_id] and udp_panel.socket_id() == udp_id
    assert tabs.udp_rules_panel.udp_id() == udp_id
    tabs.show_panel(udp_panel)
    window.select_socket(sid)
    assert tabs.current_panel() is window.tls_panel
    assert "&Bind" not in tab_titles(window)
    assert followed[-1] is None and udp_panel.socket_id() is None
    window.current.select_key(udp_key(udp_id))
    assert tabs.current_panel() is udp_panel
    action(window, "newServerAction").trigger()
    qtbot.waitUntil(lambda: window.current.server_id is not None, timeout=WAIT_MS)
    assert tabs.current_panel() is window.listen_panel
    assert "&Bind" not in tab_titles(window)
    window.current.select_key(udp_key(udp_id))
    assert tabs.current_panel() is udp_panel and followed[-1] == udp_id


def test_current_socket_udp_changed_follows_the_udp_row(
    qtbot: Any, workbench_window: MainWindow, aio: Callable[..., Any]
) -> None:
    window = workbench_window
    seen: list[object] = []
    window.current.udpChanged.connect(seen.append)
    sid = aio(window.sockets.create()).socket_id
    window.select_socket(sid)
    first = new_udp(qtbot, window)
    second = new_udp(qtbot, window)
    window.select_socket(sid)
    window.select_socket(sid)  # the same row again: no signal
    assert seen == [first, second, None]
    assert window.current.sid == sid and window.current.udp_id is None


def test_the_call_log_can_show_one_udp_socket_s_calls(
    qtbot: Any, workbench_window: MainWindow, aio: Callable[..., Any]
) -> None:
    window = workbench_window
    aio(window.sockets.create())  # TCP socket 1: not UDP socket 1
    udp_id = new_udp(qtbot, window)
    bind(aio, window, udp_id)
    view = window.call_log_view
    index = view.filter.findText(f"UDP U{udp_id}")
    assert index >= 0, "the UDP socket is not in the call log's Show: list"
    view.filter.setCurrentIndex(index)
    lines = view.lines()
    assert lines and all(line.startswith("chrome.sockets.udp.") for line in lines)
    assert any(
        line.startswith(f'chrome.sockets.udp.bind({udp_id}, "127.0.0.1", 0) → 0') for line in lines
    )


@pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")
def test_closing_a_udp_socket_whose_capture_holds_datagrams_asks_first(
    qtbot: Any, workbench_window: MainWindow, aio: Callable[..., Any], peer: socket.socket
) -> None:
    window = workbench_window
    udp_id = new_udp(qtbot, window)
    port = bind(aio, window, udp_id)
    peer.sendto(b"kept", (LOOPBACK, port))
    qtbot.waitUntil(lambda: record(window, udp_id).capture.total_bytes == 4, timeout=WAIT_MS)
    action(window, "closeSocketAction").trigger()
    box = window.close_confirmation.box
    assert box is not None and box.isVisible()
    assert format_size(4) in box.text()
    assert window.session.udp_ids() == [udp_id]  # nothing closed while the question waits
    button = window.close_confirmation.accept_button()
    assert button is not None
    button.click()
    qtbot.waitUntil(lambda: window.session.udp_ids() == [], timeout=WAIT_MS)
