"""What the UDP panels share (``UdpPanel``): which calls a UDP socket offers, and following
changes from the core's events or, once the window has them, from the session's signals."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Signal

from tests.ui.conftest import WAIT_MS
from tests.ui.panels.conftest import LOOPBACK, UdpEnv
from workbench.session import SocketKey, SocketKind
from workbench.ui.panels import BindPanel
from workbench.ui.panels.udp_base import UdpControl, udp_controls, udp_disabled_reason


class UdpSignals(QObject):
    """The two UDP signals the window's ``SocketSession`` is to have, with their types."""

    udpChanged = Signal(object)  # frozenset[int]
    udpRemoved = Signal(int)


def test_which_calls_a_udp_socket_offers(qtbot: Any, env: UdpEnv) -> None:
    sid = env.create()
    record = env.record(sid)
    assert udp_controls(None) == frozenset()
    assert udp_disabled_reason(None, UdpControl.BIND) == "No UDP socket is selected."
    # D9: TTL and loopback whether bound or not; join, leave and broadcast once bound.
    assert udp_controls(record) == {"bind", "ttl", "loopback", "update"}
    assert "bound to a local port first" in (udp_disabled_reason(record, UdpControl.JOIN) or "")
    assert env.run(env.udp.bind(sid, LOOPBACK, 0)) == 0
    assert udp_controls(record) == {"join", "leave", "ttl", "loopback", "broadcast", "update"}
    reason = udp_disabled_reason(record, UdpControl.BIND) or ""
    assert "binds once" in reason and record.endpoint in reason
    assert udp_disabled_reason(record, UdpControl.BROADCAST) is None


def test_follow_switches_the_panel_to_the_session_s_signals(qtbot: Any, env: UdpEnv) -> None:
    sid = env.create()
    panel: BindPanel = env.panel(BindPanel, sid)
    assert panel.key() == SocketKey(SocketKind.UDP, sid)
    on_changed = env.udp.raw.on_changed
    before = len(on_changed.listeners)
    signals = UdpSignals()
    panel.follow(signals.udpChanged, signals.udpRemoved)
    assert len(on_changed.listeners) == before - 1  # the core's events no longer
    assert env.run(env.udp.bind(sid, LOOPBACK, 0)) == 0
    assert panel.status.text() == "Not bound"  # nothing told the panel yet
    signals.udpChanged.emit(frozenset({sid + 1}))
    assert panel.status.text() == "Not bound"  # another socket's change
    signals.udpChanged.emit(frozenset({sid}))
    assert panel.status.text().startswith(f"Bound to {LOOPBACK}:")
    assert not panel.bindButton.isEnabled()
    signals.udpRemoved.emit(sid)
    assert panel.socket_id() is None and not panel.isEnabled()


def test_a_deleted_panel_leaves_the_core_s_event(qtbot: Any, env: UdpEnv) -> None:
    on_changed = env.udp.raw.on_changed
    before = len(on_changed.listeners)
    panel: BindPanel = env.panel(BindPanel)
    assert len(on_changed.listeners) == before + 1
    panel.deleteLater()
    qtbot.waitUntil(lambda: len(on_changed.listeners) == before, timeout=WAIT_MS)
    env.create()  # a change after the panel is gone calls nothing dead
