"""The Bind tab of a UDP row (``BindPanel``) against real sockets: port 0, a port in use, an
address this machine lacks, a second bind, and a bind made elsewhere."""

from __future__ import annotations

import socket
from typing import Any

from PySide6.QtGui import QPalette

from tests.net.test_udp import Peer, peers
from tests.ui.conftest import WAIT_MS
from tests.ui.panels.conftest import API, LOOPBACK, UdpEnv, click, wait_code
from workbench.sockets import NetError
from workbench.ui.panels import ERROR_COLOR, OK_COLOR, BindPanel

#: TEST-NET-2 (RFC 5737): an address no machine of ours has.
ABSENT = "198.51.100.7"


def test_bind_on_port_0_shows_the_port_the_os_gave(qtbot: Any, env: UdpEnv) -> None:
    sid = env.create()
    panel: BindPanel = env.panel(BindPanel, sid)
    assert panel.objectName() == "bindPanel"
    assert panel.address.objectName() == "bindAddress"
    assert panel.address.currentText() == LOOPBACK
    assert (panel.port.objectName(), panel.port.value()) == ("bindPort", 0)
    assert panel.status.text() == "Not bound" and panel.reason.isHidden()

    click(qtbot, panel.bindButton)

    assert wait_code(qtbot, panel.bindResult) == 0
    assert panel.bindResult.text() == "OK" and OK_COLOR in panel.bindResult.styleSheet()
    info = env.core_info(sid)
    assert info.local_address == LOOPBACK and info.local_port
    qtbot.waitUntil(lambda: panel.status.text() == f"Bound to {LOOPBACK}:{info.local_port}")
    # The Port field shows the port the OS gave, not "0 (any free port)" any more.
    assert panel.port.value() == info.local_port
    assert env.calls("bind") == [f'{API}.bind({sid}, "127.0.0.1", 0) → 0']
    # Datagrams arrive from now on: the binding is real.
    with peers() as made:
        made.append(peer := Peer())
        peer.send(b"ping", info.local_port)
        qtbot.waitUntil(lambda: env.record(sid).datagrams_in == 1, timeout=WAIT_MS)
    # A socket binds once: the button says why it is disabled.
    assert not panel.bindButton.isEnabled()
    assert not panel.reason.isHidden()
    assert "binds once" in panel.reason.text() and "binds once" in panel.bindButton.toolTip()
    # ...as a hint, not a warning: the bind succeeded.
    assert panel.reason.styleSheet() == ""
    assert panel.reason.foregroundRole() == QPalette.ColorRole.PlaceholderText


def test_bind_to_a_port_in_use_says_147_and_binds_again(qtbot: Any, env: UdpEnv) -> None:
    sid = env.create()
    panel: BindPanel = env.panel(BindPanel, sid)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind((LOOPBACK, 0))
        panel.port.setValue(taken.getsockname()[1])
        click(qtbot, panel.bindButton)
        assert wait_code(qtbot, panel.bindResult) == NetError.ADDRESS_IN_USE
    text = panel.bindResult.text()
    assert text.startswith("-147 ADDRESS_IN_USE: the address is already in use\n(")
    assert "another socket is bound to that address and port" in text
    assert ERROR_COLOR in panel.bindResult.styleSheet()
    assert env.core_info(sid).local_port is None
    # The socket stays usable for another bind (D3).
    panel.port.setValue(0)
    click(qtbot, panel.bindButton)
    assert wait_code(qtbot, panel.bindResult) == 0
    assert env.core_info(sid).local_port


def test_an_address_this_machine_lacks_says_108(qtbot: Any, env: UdpEnv) -> None:
    sid = env.create()
    panel: BindPanel = env.panel(BindPanel, sid)
    panel.address.setCurrentText(ABSENT)
    click(qtbot, panel.bindButton)
    assert wait_code(qtbot, panel.bindResult) == NetError.ADDRESS_INVALID
    assert "this machine has no such address" in panel.bindResult.text()
    assert env.record(sid).intent.bind == (ABSENT, 0)


def test_a_bad_address_is_refused_in_the_form(qtbot: Any, env: UdpEnv) -> None:
    sid = env.create()
    panel: BindPanel = env.panel(BindPanel, sid)
    panel.address.setCurrentText("127.0.0.1:53")
    assert not panel.addressError.isHidden()
    assert "Port field" in panel.addressError.text()
    assert not panel.bindButton.isEnabled()
    panel.address.setCurrentText(LOOPBACK)
    assert panel.bindButton.isEnabled()
    assert env.calls("bind") == []


def test_a_second_bind_is_104_and_its_words_say_a_socket_binds_once(
    qtbot: Any, env: UdpEnv
) -> None:
    sid, port = env.bound()
    # A second bind, as a script would call it: refused, the first binding kept (D3).
    assert env.run(env.udp.bind(sid, LOOPBACK, 0)) == NetError.CONNECTION_FAILED
    panel: BindPanel = env.panel(BindPanel, sid)
    text = panel.bindResult.text()
    assert text.startswith("-104 CONNECTION_FAILED: ")
    assert "a socket binds once" in text and "already bound" in text
    assert not panel.bindButton.isEnabled()
    assert env.core_info(sid).local_port == port
    # The form shows the binding, not the defaults.
    assert (panel.address.currentText(), panel.port.value()) == (LOOPBACK, port)


def test_the_tab_follows_a_bind_made_elsewhere_and_a_close(qtbot: Any, env: UdpEnv) -> None:
    sid = env.create()
    other = env.create()
    panel: BindPanel = env.panel(BindPanel, sid)
    assert panel.bindButton.isEnabled()
    assert env.run(env.udp.bind(other, LOOPBACK, 0)) == 0  # another socket: nothing here
    assert env.run(env.udp.bind(sid, LOOPBACK, 0)) == 0
    port = env.core_info(sid).local_port
    qtbot.waitUntil(lambda: panel.status.text() == f"Bound to {LOOPBACK}:{port}", timeout=WAIT_MS)
    assert not panel.bindButton.isEnabled()
    # Results are per socket: the other socket's tab shows its own.
    panel.set_socket(other)
    assert panel.bindResult.text() == "OK"
    env.run(env.udp.close(other))
    qtbot.waitUntil(lambda: panel.socket_id() is None, timeout=WAIT_MS)
    assert not panel.isEnabled() and panel.bindResult.text() == ""
