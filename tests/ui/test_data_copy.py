"""The data view over a UDP socket's capture (workbench/ui/data_view.py, data_copy.py): a header
row per datagram (direction, time, peer, length, truncation) in hex and text, boundaries kept,
find landing inside the right datagram, and per datagram Copy datagram (as text, as hex) and
Save datagram… from the context menu; the whole capture's copy and save as before.

Captures are filled directly (``DatagramStore.add_datagram``) and, once, from a real loopback
exchange through ``UdpSockets`` and a plain UDP socket.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QAction, QGuiApplication
from PySide6.QtWidgets import QFileDialog, QMenu, QWidget

import pytest

from tests.ui.conftest import WAIT_MS
from workbench.core import codecs
from workbench.core.capture import CaptureStore, DatagramStore, Direction
from workbench.core.dump_layout import copy_text, datagram_header_text
from workbench.core.types import UdpReceiveInfo, UdpSocketProperties
from workbench.net.udp import UdpSockets
from workbench.ui.data_copy import (
    COPY_DATAGRAM_HEX_ACTION,
    COPY_DATAGRAM_TEXT_ACTION,
    RAW_DATAGRAM_FILTER,
    SAVE_DATAGRAM_ACTION,
)
from workbench.ui.data_save import HEX_FILTER
from workbench.ui.data_view import DataPane, DataView

IN, OUT = Direction.IN, Direction.OUT
T0 = 1_700_000_000.0
LOOPBACK = "127.0.0.1"
DATAGRAM_ACTIONS = [COPY_DATAGRAM_TEXT_ACTION, COPY_DATAGRAM_HEX_ACTION, SAVE_DATAGRAM_ACTION]


@pytest.fixture
def store() -> Iterator[DatagramStore]:
    s = DatagramStore()
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def pane(qtbot: Any) -> Iterator[DataPane]:
    # In a layout-less host, as inside the window (see tests/ui/test_data_view.py).
    host = QWidget()
    qtbot.addWidget(host)
    host.resize(900, 600)
    p = DataPane(host)
    p.setGeometry(0, 0, 900, 600)
    host.show()
    qtbot.waitExposed(host)
    yield p
    p.set_store(None)


def fill(store: DatagramStore) -> None:
    """A query, the same peer again at the same instant, a reply, an empty datagram, and one
    that buffer_size cut from 512 bytes to 16."""
    store.add_datagram(IN, b"hello", LOOPBACK, 40000, None, T0)
    store.add_datagram(IN, b"world\n", LOOPBACK, 40000, None, T0)
    store.add_datagram(OUT, b"reply\tok", LOOPBACK, 40000, None, T0 + 1.5)
    store.add_datagram(IN, b"", "::1", 5353, None, T0 + 2)
    store.add_datagram(IN, bytes(range(16)), "192.0.2.7", 161, 512, T0 + 3)


def clock(t: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(t)) + f".{int(t * 1000) % 1000:03d}"


def headers(view: DataView) -> list[str]:
    return [
        text
        for text, row in zip(view.visible_lines(), view.visible_rows(), strict=True)
        if row[1] == -1
    ]


def point_of(view: DataView, record: int, header: bool = False) -> QPoint:
    """A viewport point on the first (header or data) row of datagram ``record``."""
    for i, (r, off, _start, _data) in enumerate(view.visible_rows()):
        if r == record and (off == -1) == header:
            return QPoint(40, i * view.row_height() + view.row_height() // 2)
    raise AssertionError(f"datagram {record} is not on screen")


def action(menu: QMenu, name: str) -> QAction:
    found = menu.findChild(QAction, name)
    assert found is not None, name
    return found


# ------------------------------------------------------------------------------- the rows


@pytest.mark.parametrize("mode", ["Hex", "Text"])
def test_each_datagram_has_a_header_row_with_direction_time_peer_and_length(
    pane: DataPane, store: DatagramStore, mode: str
) -> None:
    fill(store)
    view = pane.view
    pane.mode_combo.setCurrentText(mode)
    view.set_store(store)
    view.scroll_to_start()
    assert headers(view) == [
        f"\u25c0 {clock(T0)}  received 5 bytes from 127.0.0.1:40000",
        f"\u25c0 {clock(T0)}  received 6 bytes from 127.0.0.1:40000",
        f"\u25b6 {clock(T0 + 1.5)}  sent 8 bytes to 127.0.0.1:40000",
        f"\u25c0 {clock(T0 + 2)}  received 0 bytes from [::1]:5353",
        f"\u25c0 {clock(T0 + 3)}  received 512 bytes from 192.0.2.7:161, truncated to 16 bytes",
    ]
    rows = view.visible_rows()
    # Two datagrams from the same peer in a row stay two: each under its own header, and
    # no row holds bytes of both.
    assert [r for r, off, _, _ in rows if off == -1] == [0, 1, 2, 3, 4]
    for r, _off, start, data in rows:
        rec = store.record(r)
        assert rec.stream_offset <= start and start + len(data) <= rec.end
    if mode == "Text":
        assert view.visible_lines()[1:4] == ["hello", headers(view)[1], "world"]
    else:
        # Each datagram's offsets start at 0000 under its header (they do not run on).
        assert view.visible_lines()[1] == codecs.hex_dump_line(b"hello", 0, 4)
        assert view.visible_lines()[3] == codecs.hex_dump_line(b"world\n", 0, 4)
        assert view.visible_lines()[3].startswith("0000  77 6f")


def test_a_tcp_capture_keeps_its_headers_and_its_menu(pane: DataPane) -> None:
    with CaptureStore() as tcp:
        tcp.append(IN, b"hello", T0)
        tcp.append(IN, b"world", T0)  # merged: one stream record
        pane.set_store(tcp)
        view = pane.view
        assert view.visible_lines()[0] == f"\u25c0 {clock(T0)}  received 10 bytes"
        menu = view.context_menu(point_of(view, 0))
        assert [a.text() for a in menu.actions()] == [
            "Copy as text (as shown)",
            "Copy as hex",
            "",
            "Select all",
            "Save data…",
        ]
        assert all(menu.findChild(QAction, name) is None for name in DATAGRAM_ACTIONS)
        assert view.datagram_index_at(point_of(view, 0)) is None
        menu.deleteLater()


def test_find_lands_inside_the_datagram_that_holds_the_match(
    pane: DataPane, store: DatagramStore
) -> None:
    fill(store)
    view = pane.view
    pane.set_store(store)
    view.scroll_to_start()
    # "lowo" is in the stream ("hello" + "world") but in no datagram: not found.
    pane.find_input.setText("lowo")
    assert not pane.find_from_input()
    assert view.selected_range() is None and pane.message_label.text() == "Not found"
    pane.find_input.setText("OK")  # either case, within the reply
    assert pane.find_from_input()
    assert view.selected_range() == (17, 19)
    assert store.datagram_at(17).record.direction is OUT
    assert any(r == 2 and start <= 17 < start + len(d) for r, _, start, d in view.visible_rows())
    pane.find_input.setText("hex: 0e 0f")
    assert pane.find_from_input(backwards=True)
    assert view.selected_range() == (33, 35)
    assert view.datagram_index_at(None) == 4  # the selection's datagram


# ------------------------------------------------------------------------------- copy, save


def test_copy_datagram_from_the_context_menu_copies_its_bytes_only(
    pane: DataPane, store: DatagramStore
) -> None:
    fill(store)
    view = pane.view
    pane.set_store(store)
    view.scroll_to_start()
    clipboard = QGuiApplication.clipboard()
    # On the datagram's header row or on its bytes: the same datagram.
    for header in (True, False):
        menu = view.context_menu(point_of(view, 2, header=header))
        assert [action(menu, name).isEnabled() for name in DATAGRAM_ACTIONS] == [True] * 3
        action(menu, COPY_DATAGRAM_HEX_ACTION).trigger()
        assert clipboard.text() == "72 65 70 6c 79 09 6f 6b"
        action(menu, COPY_DATAGRAM_TEXT_ACTION).trigger()
        assert clipboard.text() == "reply\u2192ok"  # as shown: the tab as an arrow
        menu.deleteLater()
    assert "Copied the datagram (8 bytes)" in pane.message_label.text()
    # The whole-capture copy is still there: the selection's bytes across datagrams, and
    # never a header's text.
    view.set_selection(3, 8)
    view.copy_as_hex()
    assert clipboard.text() == "6c 6f 77 6f 72"
    view.select_all()
    view.copy_as_text()
    everything = store.read(0, store.total_bytes)
    assert everything == b"helloworld\nreply\tok" + bytes(range(16))
    assert clipboard.text() in (copy_text(everything, "UTF-8", p) for p in (True, False))
    assert "received" not in clipboard.text() and "40000" not in clipboard.text()


def test_the_datagram_actions_are_disabled_off_the_rows(
    pane: DataPane, store: DatagramStore
) -> None:
    store.add_datagram(IN, b"one", LOOPBACK, 9, None, T0)
    view = pane.view
    pane.set_store(store)
    below = QPoint(40, view.viewport().height() - 2)  # under the last row
    menu = view.context_menu(below)
    assert [action(menu, name).isEnabled() for name in DATAGRAM_ACTIONS] == [False] * 3
    menu.deleteLater()
    menu = view.context_menu()  # from the keyboard, nothing selected: no datagram either
    assert not action(menu, SAVE_DATAGRAM_ACTION).isEnabled()
    menu.deleteLater()
    view.set_selection(1, 2)
    menu = view.context_menu()  # from the keyboard: the selection's datagram
    assert action(menu, COPY_DATAGRAM_HEX_ACTION).isEnabled()
    action(menu, COPY_DATAGRAM_HEX_ACTION).trigger()
    assert QGuiApplication.clipboard().text() == "6f 6e 65"
    menu.deleteLater()


def save_through_dialog(
    qtbot: Any, view: DataView, trigger: Callable[[], None], name_filter: str, path: Path
) -> None:
    """Trigger Save datagram… and choose ``path`` as ``name_filter`` in its dialog."""
    before = set(view.findChildren(QFileDialog))
    trigger()
    [dialog] = [d for d in view.findChildren(QFileDialog) if d not in before]
    qtbot.waitUntil(dialog.isVisible, timeout=WAIT_MS)
    assert dialog.windowModality() != Qt.WindowModality.ApplicationModal  # open(), not exec()
    assert dialog.windowTitle() == "Save datagram"
    assert dialog.nameFilters() == [RAW_DATAGRAM_FILTER, HEX_FILTER]
    dialog.selectNameFilter(name_filter)
    dialog.fileSelected.emit(str(path))
    dialog.reject()


def test_save_datagram_writes_its_bytes_or_its_hex_dump(
    qtbot: Any, pane: DataPane, store: DatagramStore, tmp_path: Path
) -> None:
    fill(store)
    view = pane.view
    pane.set_store(store)
    view.scroll_to_start()
    menu = view.context_menu(point_of(view, 4))
    raw = tmp_path / "cut.bin"
    save_through_dialog(
        qtbot, view, action(menu, SAVE_DATAGRAM_ACTION).trigger, RAW_DATAGRAM_FILTER, raw
    )
    assert raw.read_bytes() == bytes(range(16))  # what was kept, without its header
    assert pane.message_label.text() == f"Saved the datagram (16 bytes) to {raw}"
    dump = tmp_path / "hello.txt"
    save_through_dialog(qtbot, view, lambda: view.datagrams.save_dialog(0), HEX_FILTER, dump)
    assert dump.read_text(encoding="utf-8") == (
        datagram_header_text(store.datagram(0)) + "\n" + codecs.hex_dump(b"hello", 0, 4) + "\n"
    )
    menu.deleteLater()
    # Directly, and the whole capture's save as before: every datagram's bytes in a row.
    assert view.datagrams.save(1, tmp_path / "w.bin") == 6
    assert (tmp_path / "w.bin").read_bytes() == b"world\n"
    view.save_data(tmp_path / "all.bin", as_hex_dump=False)
    assert (tmp_path / "all.bin").read_bytes() == store.read(0, store.total_bytes)
    view.save_data(tmp_path / "in.bin", as_hex_dump=False, direction=IN)
    assert (tmp_path / "in.bin").read_bytes() == b"helloworld\n" + bytes(range(16))


def test_a_failed_datagram_save_says_why(
    qtbot: Any, pane: DataPane, store: DatagramStore, tmp_path: Path
) -> None:
    fill(store)
    view = pane.view
    pane.set_store(store)
    missing = tmp_path / "no such folder" / "d.bin"
    save_through_dialog(
        qtbot, view, lambda: view.datagrams.save_dialog(0), RAW_DATAGRAM_FILTER, missing
    )
    assert pane.message_label.text().startswith(f"Could not save {missing}: ")
    assert not missing.exists()


# ------------------------------------------------------------------------------- a real peer


def test_datagrams_from_a_real_loopback_exchange(
    qtbot: Any, aio: Callable[..., Any], pane: DataPane, store: DatagramStore
) -> None:
    udp = UdpSockets()

    def keep(info: UdpReceiveInfo) -> None:  # what the session does with each datagram
        store.add_datagram(
            IN, info.data, info.remote_address, info.remote_port, info.original_length
        )

    udp.on_receive.add_listener(keep)
    peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    peer.settimeout(WAIT_MS / 1000)
    try:
        peer.bind((LOOPBACK, 0))
        peer_port = peer.getsockname()[1]
        sid = aio(udp.create(UdpSocketProperties(buffer_size=8))).socket_id
        assert aio(udp.bind(sid, LOOPBACK, 0)) == 0
        port = udp.info_now(sid).local_port
        assert port
        for data in (b"ping", b"ping", b"0123456789abcdef"):
            peer.sendto(data, (LOOPBACK, port))
        qtbot.waitUntil(lambda: store.record_count == 3, timeout=WAIT_MS)
        assert aio(udp.send(sid, b"pong", LOOPBACK, peer_port)).result_code == 0
        store.add_datagram(OUT, b"pong", LOOPBACK, peer_port)
        assert peer.recvfrom(100) == (b"pong", (LOOPBACK, port))

        pane.set_store(store)
        pane.view.notify_grew()
        pane.view.scroll_to_start()
        peer_text = f"{LOOPBACK}:{peer_port}"
        shown = headers(pane.view)
        assert [h.split("  ", 1)[1] for h in shown] == [
            f"received 4 bytes from {peer_text}",
            f"received 4 bytes from {peer_text}",
            f"received 16 bytes from {peer_text}, truncated to 8 bytes",
            f"sent 4 bytes to {peer_text}",
        ]
        assert [h[0] for h in shown] == ["\u25c0", "\u25c0", "\u25c0", "\u25b6"]
        menu = pane.view.context_menu(point_of(pane.view, 2))
        action(menu, COPY_DATAGRAM_TEXT_ACTION).trigger()
        assert QGuiApplication.clipboard().text() == "01234567"
        menu.deleteLater()
    finally:
        peer.close()
        aio(udp.shutdown())
