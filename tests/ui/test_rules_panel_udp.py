"""The response rules panel following a UDP socket (``RulesPanel.set_udp``), against a real
session UDP socket on the loopback and plain UDP senders: a rule built through the widgets
answers each sender, a close rule is refused with its reason, the framing is per datagram, and
the Test area feeds one datagram."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

import pytest

from tests.ui.conftest import WAIT_MS
from workbench.core.rules import FrameKind, Match, MatchKind, Reply, Rule, RuleSet, Then
from workbench.core.rules_presets import Preset
from workbench.core.rules_udp import UDP_REFUSED_THEN
from workbench.session.keys import SocketKey, SocketKind
from workbench.session.udp_rules import UdpRules
from workbench.sockets import TcpSockets
from workbench.ui.bridge import SocketSession
from workbench.ui.panels.rules_panel import RulesPanel

LOOPBACK = "127.0.0.1"


class Env:
    """A window session with one bound UDP socket, its ``UdpRules``, and a rules panel."""

    def __init__(self, qtbot: Any, aio: Callable[..., Any]) -> None:
        self.aio = aio
        self.session = SocketSession(TcpSockets())
        udp = self.session.core.udp
        self.rules = UdpRules(udp)
        self.uid = int(aio(udp.create()).socket_id)
        assert aio(udp.bind(self.uid, LOOPBACK, 0)) == 0
        record = udp.record(self.uid)
        assert record is not None and record.info.local_port
        self.port = record.info.local_port
        self.senders: list[socket.socket] = []
        self.host = QWidget()
        qtbot.addWidget(self.host)
        self.host.resize(900, 900)
        self.panel = RulesPanel(self.session, self.host, udp_rules=self.rules)
        self.panel.setGeometry(0, 0, 900, 900)
        self.host.show()
        self.panel.set_udp(self.uid)

    def sender(self) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind((LOOPBACK, 0))
        sock.setblocking(False)
        self.senders.append(sock)
        return sock

    def close(self) -> None:
        for sock in self.senders:
            sock.close()
        self.aio(self.session.close_all())
        self.panel.shutdown()
        self.rules.close()
        self.session.shutdown()


@pytest.fixture
def env(qtbot: Any, aio: Callable[..., Any]) -> Iterator[Env]:
    environment = Env(qtbot, aio)
    yield environment
    environment.close()


def received(qtbot: Any, sock: socket.socket) -> tuple[bytes, tuple[str, int]]:
    got: list[tuple[bytes, tuple[str, int]]] = []

    def arrived() -> bool:
        try:
            got.append(sock.recvfrom(70000))
        except BlockingIOError:
            return False
        return True

    qtbot.waitUntil(arrived, timeout=WAIT_MS)
    return got[0]


def type_into(qtbot: Any, widget: Any, text: str) -> None:
    widget.setFocus()
    widget.selectAll()
    qtbot.keyClicks(widget, text)


def test_a_rule_built_in_the_panel_answers_each_sender(qtbot: Any, env: Env) -> None:
    panel, editor = env.panel, env.panel.editor
    assert panel.isEnabled() and panel.udp_id() == env.uid and panel.server_id() is None
    assert panel.target() == SocketKey(SocketKind.UDP, env.uid)
    assert not panel.framing.isEnabled() and panel.framing.currentText() == "Per datagram"
    qtbot.mouseClick(panel.rules_list.add_button, Qt.MouseButton.LeftButton)
    type_into(qtbot, editor.name, "hello")
    editor.match_kind.setCurrentIndex(editor.match_kind.findData(MatchKind.REGEX.value))
    type_into(qtbot, editor.pattern, r"\AHELLO (\w+)")
    type_into(qtbot, editor.template, r"hi \1")
    assert panel.problems() == [] and panel.apply_button.isEnabled()
    qtbot.mouseClick(panel.apply_button, Qt.MouseButton.LeftButton)
    expected = Rule(
        name="hello",
        match=Match(kind=MatchKind.REGEX, pattern=r"\AHELLO (\w+)"),
        reply=Reply(template=r"hi \1"),
    )
    assert env.rules.ruleset(env.uid) == RuleSet(rules=(expected,))
    assert "datagrams received" in panel.result.text()

    one, two = env.sender(), env.sender()
    one.sendto(b"HELLO one", (LOOPBACK, env.port))
    two.sendto(b"HELLO two", (LOOPBACK, env.port))
    assert received(qtbot, one) == (b"hi one", (LOOPBACK, env.port))
    assert received(qtbot, two) == (b"hi two", (LOOPBACK, env.port))
    qtbot.waitUntil(lambda: "2" in panel.rules_list.view.item(0).text(), timeout=WAIT_MS)


def test_a_close_rule_is_refused_for_a_udp_socket_with_its_reason(qtbot: Any, env: Env) -> None:
    panel, editor = env.panel, env.panel.editor
    panel.set_ruleset(RuleSet(rules=(Rule(name="quit", then=Then.CLOSE),)))
    panel.rules_list.view.setCurrentRow(0)
    reason = UDP_REFUSED_THEN[Then.CLOSE]
    assert [str(p) for p in panel.problems()] == [f'rule 1 "quit": then: {reason}']
    assert not panel.apply_button.isEnabled()
    assert editor.other_error.text() == f"then: {reason}"
    assert panel.apply() == panel.problems() and env.rules.ruleset(env.uid) is None
    # Presets that UDP cannot carry out are disabled.
    assert not panel.preset_actions[Preset.CLOSE_AFTER].isEnabled()
    assert panel.preset_actions[Preset.ECHO].isEnabled()


def test_presets_come_per_datagram_and_the_test_feeds_one_datagram(qtbot: Any, env: Env) -> None:
    panel = env.panel
    panel.load_preset(Preset.REDIS)
    assert panel.ruleset().framing.kind is FrameKind.CHUNK
    panel.load_preset(Preset.ECHO)
    panel.trial.sample.setPlainText(r"one\ntwo\n")
    trial = panel.trial.run()
    assert trial is not None and trial.frames == (b"one\ntwo\n",) and trial.sent == b"one\ntwo\n"
    assert panel.trial.ends.isHidden()
    panel.set_udp(None)
    assert not panel.isEnabled() and panel.udp_id() is None


def test_closing_the_socket_clears_the_panel(qtbot: Any, env: Env) -> None:
    env.aio(env.session.core.udp.close(env.uid))
    assert env.panel.target() is None and not env.panel.isEnabled()


def test_a_panel_without_udp_rules_refuses_to_follow_a_udp_socket(qtbot: Any, env: Env) -> None:
    plain = RulesPanel(env.session, env.host)
    try:
        with pytest.raises(RuntimeError):
            plain.set_udp(env.uid)
    finally:
        plain.shutdown()
