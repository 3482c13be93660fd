"""The Properties tab of a UDP row (``UdpPropertiesPanel``) against real sockets: update
name, buffer size and persistent, the current properties shown, and a datagram longer than
the buffer size arriving truncated."""

from __future__ import annotations

from typing import Any

from tests.net.test_udp import Peer, peers
from tests.ui.conftest import WAIT_MS
from tests.ui.panels.conftest import API, LOOPBACK, UdpEnv, click, wait_code
from workbench.core.capture import Direction
from workbench.sockets import UdpSocketProperties
from workbench.ui.panels import UdpPropertiesPanel


def test_update_sets_the_core_s_properties_and_shows_them(qtbot: Any, env: UdpEnv) -> None:
    sid = env.create()
    panel: UdpPropertiesPanel = env.panel(UdpPropertiesPanel, sid)
    assert panel.objectName() == "udpPropertiesPanel"
    assert panel.bufferSize.value() == 0 and panel.bufferSize.text() == "default (4.0 KiB)"
    assert panel.current.text() == (
        "no name · buffer size 4.0 KiB (the default): longer datagrams are truncated · "
        "not persistent"
    )
    panel.nameEdit.setText("dns")
    panel.bufferSize.setValue(512)
    click(qtbot, panel.persistent)

    click(qtbot, panel.applyButton)

    assert wait_code(qtbot, panel.result) == 0
    info = env.core_info(sid)
    assert (info.name, info.buffer_size, info.persistent) == ("dns", 512, True)
    qtbot.waitUntil(lambda: "512 bytes" in panel.current.text(), timeout=WAIT_MS)
    assert panel.current.text() == (
        "name “dns” · buffer size 512 bytes: longer datagrams are truncated · persistent"
    )
    assert env.calls("update") == [
        f'{API}.update({sid}, {{"name":"dns","persistent":true,"bufferSize":512}}) → undefined'
    ]


def test_a_datagram_longer_than_the_buffer_arrives_truncated(qtbot: Any, env: UdpEnv) -> None:
    sid, port = env.bound()
    panel: UdpPropertiesPanel = env.panel(UdpPropertiesPanel, sid)
    panel.bufferSize.setValue(8)
    click(qtbot, panel.applyButton)
    assert wait_code(qtbot, panel.result) == 0
    assert env.core_info(sid).buffer_size == 8
    record = env.record(sid)
    with peers() as made:
        made.append(peer := Peer())
        peer.send(b"0123456789abcdef", port)
        qtbot.waitUntil(lambda: record.datagrams_in == 1, timeout=WAIT_MS)
    store = record.capture
    datagram = store.datagram(0)
    assert (datagram.record.direction, datagram.record.size) == (Direction.IN, 8)
    assert store.read(datagram.record.stream_offset, datagram.record.size) == b"01234567"
    assert (datagram.address, datagram.port) == (LOOPBACK, peer.port)
    assert datagram.original_length == 16  # the data view's "truncated to 8"
    assert record.received == 8


def test_the_tab_follows_an_update_made_elsewhere_and_keeps_an_edit(
    qtbot: Any, env: UdpEnv
) -> None:
    sid = env.create(UdpSocketProperties(name="first"))
    panel: UdpPropertiesPanel = env.panel(UdpPropertiesPanel, sid)
    assert panel.nameEdit.text() == "first"
    panel.bufferSize.setValue(100)  # the user's edit, not applied yet
    env.run(env.udp.update(sid, UdpSocketProperties(name="second", buffer_size=64)))
    qtbot.waitUntil(lambda: panel.nameEdit.text() == "second", timeout=WAIT_MS)
    assert panel.bufferSize.value() == 100  # a refresh never overwrites an edited field
    assert "buffer size 64 bytes" in panel.current.text()
    # The update made elsewhere is this socket's last result: shown beside Apply.
    assert panel.result.text() == "OK"
    panel.set_socket(None)
    assert not panel.isEnabled()
    panel.set_socket(sid)
    # Selected again: the form is the socket's, the edit is gone.
    assert panel.result.text() == "OK" and panel.bufferSize.value() == 64


def test_a_name_with_control_characters_is_refused_in_the_form(qtbot: Any, env: UdpEnv) -> None:
    sid = env.create()
    panel: UdpPropertiesPanel = env.panel(UdpPropertiesPanel, sid)
    panel.nameEdit.setText("a\tb")
    assert not panel.nameError.isHidden() and not panel.applyButton.isEnabled()
    panel.nameEdit.setText("ab")
    assert panel.applyButton.isEnabled()
    assert env.calls("update") == []
