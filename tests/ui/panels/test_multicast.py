"""The Multicast tab of a UDP row (``MulticastPanel``) against real sockets: join, list and
leave (checked against the kernel's own table), -108 for a double join or a leave of a group
not joined, TTL and loopback before bind, and broadcast."""

from __future__ import annotations

import socket
import sys
from typing import Any

from PySide6.QtCore import Qt

from tests.net.test_udp import Peer, peers
from tests.net.test_udp_multicast import (
    GROUP,
    GROUP2,
    IP_RECVTTL,
    igmp_groups,
    loopback_interface,
    needs_delivery,
    needs_proc,
)
from tests.ui.conftest import WAIT_MS
from tests.ui.panels.conftest import API, LOOPBACK, UdpEnv, click, wait_code
from workbench.sockets import NetError
from workbench.ui.panels import MulticastPanel
from workbench.ui.panels.multicast import group_error


def listed(panel: MulticastPanel) -> list[str]:
    return [panel.joinedGroups.item(i).text() for i in range(panel.joinedGroups.count())]


@needs_proc
def test_join_lists_the_group_and_leave_removes_it(qtbot: Any, env: UdpEnv) -> None:
    sid, _ = env.bound()
    panel: MulticastPanel = env.panel(MulticastPanel, sid)
    assert panel.objectName() == "multicastPanel"
    assert listed(panel) == [] and panel.note.isHidden()
    panel.group.setText(GROUP)

    click(qtbot, panel.joinButton)

    assert wait_code(qtbot, panel.joinResult) == 0
    qtbot.waitUntil(lambda: listed(panel) == [GROUP], timeout=WAIT_MS)
    assert env.run(env.udp.raw.get_joined_groups(sid)) == [GROUP]
    assert GROUP in igmp_groups()[loopback_interface()]  # the kernel joined, on lo
    # The list is the core's answer to getJoinedGroups, asked after the join.
    assert env.calls("joinGroup") == [f'{API}.joinGroup({sid}, "{GROUP}") → 0']
    assert env.calls("getJoinedGroups")[-1] == f'{API}.getJoinedGroups({sid}) → ["{GROUP}"]'

    panel.group.setText(GROUP2)
    click(qtbot, panel.joinButton)
    qtbot.waitUntil(lambda: listed(panel) == [GROUP, GROUP2], timeout=WAIT_MS)
    # Clicking a joined group puts it in the field, ready to leave.
    item = panel.joinedGroups.item(0)
    rect = panel.joinedGroups.visualItemRect(item)
    qtbot.mouseClick(panel.joinedGroups.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert panel.group.text() == GROUP
    click(qtbot, panel.leaveButton)

    assert wait_code(qtbot, panel.leaveResult) == 0
    qtbot.waitUntil(lambda: listed(panel) == [GROUP2], timeout=WAIT_MS)
    assert env.run(env.udp.raw.get_joined_groups(sid)) == [GROUP2]
    assert GROUP not in igmp_groups().get(loopback_interface(), set())


@needs_proc
def test_a_double_join_and_a_leave_not_joined_say_108(qtbot: Any, env: UdpEnv) -> None:
    sid, _ = env.bound()
    panel: MulticastPanel = env.panel(MulticastPanel, sid)
    panel.group.setText(GROUP)
    click(qtbot, panel.joinButton)
    assert wait_code(qtbot, panel.joinResult) == 0
    click(qtbot, panel.joinButton)
    assert wait_code(qtbot, panel.joinResult) == NetError.ADDRESS_INVALID
    assert panel.joinResult.text().startswith("-108 ADDRESS_INVALID: ")
    assert f"already joined {GROUP}" in panel.joinResult.text()
    assert listed(panel) == [GROUP]  # the membership stays
    click(qtbot, panel.leaveButton)
    assert wait_code(qtbot, panel.leaveResult) == 0
    click(qtbot, panel.leaveButton)
    assert wait_code(qtbot, panel.leaveResult) == NetError.ADDRESS_INVALID
    assert f"has not joined {GROUP}" in panel.leaveResult.text()
    qtbot.waitUntil(lambda: listed(panel) == [], timeout=WAIT_MS)
    # The leave that worked made the join's answer history; the second leave's stays.
    assert env.record(sid).results == {"bind": 0, "leave": -108}
    qtbot.waitUntil(lambda: panel.joinResult.text() == "", timeout=WAIT_MS)


def test_the_group_field_takes_multicast_literals_only(qtbot: Any, env: UdpEnv) -> None:
    sid, _ = env.bound()
    panel: MulticastPanel = env.panel(MulticastPanel, sid)
    for text, words in (
        ("", "Enter a multicast group"),
        ("localhost", "not a name"),
        ("10.0.0.1", "Not a multicast address"),
    ):
        panel.group.setText(text)
        assert words in panel.groupError.text(), text
        assert not panel.joinButton.isEnabled() and not panel.leaveButton.isEnabled()
    for good in (GROUP, "ff15::1", " 224.0.0.251 "):
        assert group_error(good) is None
    panel.group.setText(GROUP)
    assert panel.joinButton.isEnabled() and panel.groupError.isHidden()
    assert env.calls("joinGroup") == []


def test_unbound_join_and_broadcast_wait_for_bind_ttl_and_loopback_do_not(
    qtbot: Any, env: UdpEnv
) -> None:
    sid = env.create()
    panel: MulticastPanel = env.panel(MulticastPanel, sid)
    panel.group.setText(GROUP)
    assert not panel.note.isHidden() and "Not bound" in panel.note.text()
    assert not panel.joinButton.isEnabled() and not panel.leaveButton.isEnabled()
    assert not panel.broadcast.isEnabled() and "bound" in panel.broadcast.toolTip()
    # D9: TTL and loopback work before bind, and the values set apply at bind.
    panel.ttl.setValue(7)
    click(qtbot, panel.setTtlButton)
    assert wait_code(qtbot, panel.ttlResult) == 0
    assert panel.loopback.isChecked()  # the OS's default
    click(qtbot, panel.loopback)
    assert wait_code(qtbot, panel.loopbackResult) == 0
    assert not panel.loopback.isChecked()
    record = env.record(sid)
    assert (record.intent.ttl, record.intent.loopback) == (7, False)
    assert env.calls("setMulticastTimeToLive") == [f"{API}.setMulticastTimeToLive({sid}, 7) → 0"]
    assert env.calls("setMulticastLoopbackMode") == [
        f"{API}.setMulticastLoopbackMode({sid}, false) → 0"
    ]
    # Bound elsewhere (the Bind tab): join and broadcast are offered from then on.
    assert env.run(env.udp.bind(sid, LOOPBACK, 0)) == 0
    qtbot.waitUntil(panel.joinButton.isEnabled, timeout=WAIT_MS)
    assert panel.broadcast.isEnabled() and panel.note.isHidden()
    # Another socket's tab has its own values; coming back shows this one's.
    other = env.create()
    panel.set_socket(other)
    assert (panel.ttl.value(), panel.loopback.isChecked(), panel.ttlResult.text()) == (1, True, "")
    panel.set_socket(sid)
    assert (panel.ttl.value(), panel.loopback.isChecked(), panel.ttlResult.text()) == (
        7,
        False,
        "OK",
    )


@needs_delivery
def test_the_ttl_set_before_bind_travels_in_the_ip_header(qtbot: Any, env: UdpEnv) -> None:
    sid = env.create()
    panel: MulticastPanel = env.panel(MulticastPanel, sid)
    panel.ttl.setValue(5)
    click(qtbot, panel.setTtlButton)
    assert wait_code(qtbot, panel.ttlResult) == 0
    assert env.run(env.udp.bind(sid, "0.0.0.0", 0)) == 0
    with peers() as made:
        made.append(member := Peer("0.0.0.0"))
        request = socket.inet_aton(GROUP) + socket.inet_aton("0.0.0.0")
        member.sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, request)
        member.sock.setsockopt(socket.IPPROTO_IP, IP_RECVTTL, 1)
        sent = env.run(env.udp.send(sid, b"ttl?", GROUP, member.port))
        assert sent.result_code == 0
        found: list[tuple[bytes, int]] = []

        def arrived() -> bool:
            try:
                data, ancdata, _, _ = member.sock.recvmsg(64, 64)
            except BlockingIOError:
                return False
            for level, kind, value in ancdata:
                if level == socket.IPPROTO_IP and kind == socket.IP_TTL:
                    found.append((data, int.from_bytes(value[:4], sys.byteorder)))
            return True

        qtbot.waitUntil(arrived, timeout=WAIT_MS)
    assert found == [(b"ttl?", 5)]


def test_the_broadcast_check_box_lets_a_broadcast_datagram_leave(qtbot: Any, env: UdpEnv) -> None:
    sid, _ = env.bound()
    panel: MulticastPanel = env.panel(MulticastPanel, sid)
    # The loopback network's own broadcast address: nothing leaves this machine.
    target = ("127.255.255.255", 9)
    # Without it the OS refuses a broadcast destination (-138).
    refused = env.run(env.udp.send(sid, b"x", *target))
    assert refused.result_code == NetError.NETWORK_ACCESS_DENIED
    assert not panel.broadcast.isChecked()

    click(qtbot, panel.broadcast)

    assert wait_code(qtbot, panel.broadcastResult) == 0
    assert panel.broadcast.isChecked() and env.record(sid).intent.broadcast is True
    assert env.calls("setBroadcast") == [f"{API}.setBroadcast({sid}, true) → 0"]
    assert env.run(env.udp.send(sid, b"x", *target)).result_code == 0
    click(qtbot, panel.broadcast)
    assert wait_code(qtbot, panel.broadcastResult) == 0
    assert not panel.broadcast.isChecked() and env.record(sid).intent.broadcast is False
    again = env.run(env.udp.send(sid, b"x", *target))
    assert again.result_code == NetError.NETWORK_ACCESS_DENIED


def test_a_refused_broadcast_leaves_the_box_as_the_socket_is(qtbot: Any, env: UdpEnv) -> None:
    sid = env.create()
    # A script's setBroadcast before bind: -15, with its reason, as the tab shows it.
    assert env.run(env.udp.set_broadcast(sid, True)) == NetError.SOCKET_NOT_CONNECTED
    panel: MulticastPanel = env.panel(MulticastPanel, sid)
    assert panel.broadcastResult.text().startswith("-15 SOCKET_NOT_CONNECTED: ")
    assert "bind the socket first" in panel.broadcastResult.text()
    assert not panel.broadcast.isChecked()


def test_a_tall_tab_keeps_the_rows_together_with_the_room_below_them(env: UdpEnv) -> None:
    sid, _ = env.bound()
    panel: MulticastPanel = env.panel(MulticastPanel, sid)

    def gaps() -> tuple[int, int]:
        layout = panel.layout()
        assert layout is not None
        layout.activate()
        ttl, loop, broad = (
            w.mapTo(panel, w.rect().topLeft()).y()
            for w in (panel.ttl, panel.loopback, panel.broadcast)
        )
        return loop - ttl, broad - loop

    panel.resize(560, panel.minimumSizeHint().height())
    tight = gaps()
    # A tab as tall as a 1400x900 window gives it: the rows stay as close as in a short one
    # (they were spread out, a check box every 40 pixels).
    panel.resize(560, 900)
    assert gaps() == tight
