"""The response rules panel against a real session server on the loopback: rules built through
the widgets, inline problems, Apply refused while anything is invalid, the Test area, presets,
and live hit counts after real traffic (plain client sockets on the application loop)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, Iterator
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

import pytest

from tests.net.test_tcp_server import connect_plain, recv_exactly, recv_to_eof
from tests.ui.conftest import WAIT_MS
from workbench.core.rules import (
    FrameKind,
    Framing,
    Match,
    MatchKind,
    Reply,
    Rule,
    RuleSet,
    Then,
)
from workbench.core.rules_presets import Preset, preset
from workbench.session.logged_servers import server_key
from workbench.sockets import TcpSockets
from workbench.ui.bridge import SocketSession
from workbench.ui.panels.rules_panel import RulesPanel

LOOPBACK = "127.0.0.1"


class Env:
    """A window session with one server listening on a free port, and a rules panel for it."""

    def __init__(self, qtbot: Any, aio: Callable[..., Any]) -> None:
        self.qtbot = qtbot
        self.aio = aio
        self.session = SocketSession(TcpSockets())
        self.servers = self.session.core.servers
        self.rules = self.session.core.rules
        self.sid = int(aio(self.servers.create()).socket_id)
        assert aio(self.servers.listen(self.sid, LOOPBACK, 0)) == 0
        record = self.servers.record(self.sid)
        assert record is not None and record.info.local_port
        self.port = record.info.local_port
        self.clients: list[socket.socket] = []
        # In a host widget, as in the window (a top-level panel makes the offscreen platform
        # warn about size hints).
        self.host = QWidget()
        qtbot.addWidget(self.host)
        self.host.resize(900, 900)
        self.panel = RulesPanel(self.session, self.host)
        self.panel.setGeometry(0, 0, 900, 900)
        self.host.show()
        self.panel.set_server(server_key(self.sid))

    def client(self) -> socket.socket:
        return self.aio(connect_plain(self.clients, self.port))  # type: ignore[no-any-return]

    def exchange(self, sock: socket.socket, data: bytes, n: int) -> bytes:
        async def go() -> bytes:
            await asyncio.get_running_loop().sock_sendall(sock, data)
            return await recv_exactly(sock, n)

        return self.aio(go())  # type: ignore[no-any-return]

    def item_texts(self) -> list[str]:
        view = self.panel.rules_list.view
        return [view.item(row).text() for row in range(view.count())]

    def close(self) -> None:
        for sock in self.clients:
            sock.close()
        self.aio(self.session.close_all())
        self.panel.shutdown()
        self.session.shutdown()


@pytest.fixture
def env(qtbot: Any, aio: Callable[..., Any]) -> Iterator[Env]:
    environment = Env(qtbot, aio)
    yield environment
    environment.close()


def choose(combo: Any, value: str) -> None:
    index = combo.findData(value)
    assert index >= 0, value
    combo.setCurrentIndex(index)


def type_into(qtbot: Any, widget: Any, text: str) -> None:
    widget.setFocus()
    widget.selectAll()
    qtbot.keyClicks(widget, text)


def test_a_rule_built_through_the_widgets_answers_a_client_and_counts_its_hits(
    qtbot: Any, env: Env
) -> None:
    panel, editor = env.panel, env.panel.editor
    assert panel.objectName() == "responseRules" and panel.isEnabled()
    choose(panel.framing, FrameKind.LINE.value)
    qtbot.mouseClick(panel.rules_list.add_button, Qt.MouseButton.LeftButton)
    type_into(qtbot, editor.name, "hello")
    choose(editor.match_kind, MatchKind.REGEX.value)
    type_into(qtbot, editor.pattern, r"\AHELLO (\w+)\Z")
    type_into(qtbot, editor.template, r"hi \1")
    editor.line_ending.setCurrentText("CRLF")
    assert panel.problems() == [] and panel.apply_button.isEnabled()
    assert env.rules.ruleset(env.sid) is None  # nothing reaches the server before Apply
    qtbot.mouseClick(panel.apply_button, Qt.MouseButton.LeftButton)
    expected = Rule(
        name="hello",
        match=Match(kind=MatchKind.REGEX, pattern=r"\AHELLO (\w+)\Z"),
        reply=Reply(template=r"hi \1", line_ending="CRLF"),
    )
    assert env.rules.ruleset(env.sid) == RuleSet(
        framing=Framing(kind=FrameKind.LINE), rules=(expected,)
    )
    assert panel.result.text().startswith("Applied: 1 rule")
    assert env.item_texts() == [r"1. hello: Regex \AHELLO (\w+)\Z → " + '"hi \\1"  · 0 hits']
    sock = env.client()
    assert env.exchange(sock, b"HELLO bob\n", 8) == b"hi bob\r\n"
    assert env.exchange(sock, b"HELLO alice\n", 10) == b"hi alice\r\n"
    qtbot.waitUntil(lambda: env.item_texts()[0].endswith("· 2 hits"), timeout=WAIT_MS)


def test_a_close_rule_built_through_the_widgets_replies_then_closes(
    qtbot: Any, env: Env
) -> None:
    """Issue 9, Done when: "a close rule closes": the reply, then the end of the stream."""
    panel, editor = env.panel, env.panel.editor
    choose(panel.framing, FrameKind.LINE.value)
    qtbot.mouseClick(panel.rules_list.add_button, Qt.MouseButton.LeftButton)
    type_into(qtbot, editor.name, "quit")
    choose(editor.match_kind, MatchKind.EXACT.value)
    type_into(qtbot, editor.pattern, "QUIT")
    type_into(qtbot, editor.template, "bye")
    editor.line_ending.setCurrentText("CRLF")
    choose(editor.then, Then.CLOSE.value)
    assert panel.problems() == []
    qtbot.mouseClick(panel.apply_button, Qt.MouseButton.LeftButton)
    applied = env.rules.ruleset(env.sid)
    assert applied is not None and applied.rules[0].then is Then.CLOSE
    sock = env.client()

    async def quit_and_read() -> bytes:
        await asyncio.get_running_loop().sock_sendall(sock, b"stay\nQUIT\nnever read\n")
        return await recv_to_eof(sock)

    assert env.aio(quit_and_read()) == b"bye\r\n"  # then the FIN: the stream ends
    qtbot.waitUntil(lambda: env.item_texts()[0].endswith("· 1 hit"), timeout=WAIT_MS)


def test_a_bad_regex_is_shown_inline_and_apply_is_refused(qtbot: Any, env: Env) -> None:
    panel, editor = env.panel, env.panel.editor
    qtbot.mouseClick(panel.rules_list.add_button, Qt.MouseButton.LeftButton)
    choose(editor.match_kind, MatchKind.REGEX.value)
    type_into(qtbot, editor.pattern, "(unclosed")
    assert editor.match_error.isVisible()
    assert editor.match_error.text().startswith("position 0: invalid regex: missing )")
    assert not panel.apply_button.isEnabled()
    assert env.item_texts()[0].startswith("⚠ 1. ")
    # Even called directly, Apply refuses: the server keeps what it had (nothing).
    problems = panel.apply()
    assert [(p.index, p.field) for p in problems] == [(0, "match")]
    assert panel.result.text().startswith("Not applied: 1 problem. rule 1")
    assert env.rules.ruleset(env.sid) is None
    type_into(qtbot, editor.pattern, "(closed)")
    assert not editor.match_error.isVisible() and panel.apply_button.isEnabled()


def test_a_bad_template_is_underlined_where_it_is_wrong(qtbot: Any, env: Env) -> None:
    panel, editor = env.panel, env.panel.editor
    qtbot.mouseClick(panel.rules_list.add_button, Qt.MouseButton.LeftButton)
    type_into(qtbot, editor.template, "hi {pear}")
    assert editor.reply_error.isVisible()
    assert editor.reply_error.text().startswith("position 3: unknown placeholder {pear} (known:")
    (underline,) = editor.template.extraSelections()
    assert underline.cursor.selectedText() == "{pear}"
    assert not panel.apply_button.isEnabled()
    type_into(qtbot, editor.template, "hi {peer}")
    assert not editor.reply_error.isVisible() and editor.template.extraSelections() == []


def test_the_test_area_shows_what_the_rules_would_send(qtbot: Any, env: Env) -> None:
    panel = env.panel
    panel.preset_actions[Preset.REDIS].trigger()
    trial = panel.trial
    # Folded until wanted (the rules fill the tab at 1280x800): its header unfolds it.
    assert not panel.test_section.expanded and not trial.isVisible()
    qtbot.mouseClick(panel.test_section.header, Qt.MouseButton.LeftButton)
    assert panel.test_section.expanded and trial.isVisible()
    assert trial.mode.currentText() == "Escaped"
    type_into(qtbot, trial.sample, r"PING\r\nECHO\r\n")
    qtbot.mouseClick(trial.button, Qt.MouseButton.LeftButton)
    output = trial.output.toPlainText().splitlines()
    assert output[:4] == [
        "frame 1 “PING” (4 bytes)",
        '  → rule 1 "PING": sends “+PONG\\r\\n” (7 bytes)',
        "frame 2 “ECHO” (4 bytes)",
        "  no rule matches",
    ]
    assert output[-2:] == ["+PONG\\r\\n", "2b 50 4f 4e 47 0d 0a"]
    assert env.rules.hit_counts(env.sid) == ()  # a test touches no live count
    # A sample that does not parse is shown beside the field.
    trial.mode.setCurrentText("Hex")
    qtbot.mouseClick(trial.button, Qt.MouseButton.LeftButton)
    assert trial.error.isVisible() and trial.error.text().startswith("position 0:")


def test_presets_fill_the_list_and_apply_as_they_are(qtbot: Any, env: Env) -> None:
    panel = env.panel
    panel.preset_actions[Preset.SMTP].trigger()
    smtp = preset(Preset.SMTP)
    assert panel.ruleset() == smtp
    assert panel.framing.currentData() == FrameKind.LINE.value
    texts = env.item_texts()
    assert len(texts) == len(smtp.rules) and texts[0].startswith("1. greeting: on open → ")
    assert env.rules.ruleset(env.sid) is None and panel.revert_button.isEnabled()
    assert panel.apply() == [] and env.rules.ruleset(env.sid) == smtp
    sock = env.client()
    greeting = b"220 localhost ESMTP Socket Workbench\r\n"
    assert env.aio(recv_exactly(sock, len(greeting))) == greeting
    panel.preset_actions[Preset.CLOSE_AFTER].trigger()
    assert panel.ruleset() == preset(Preset.CLOSE_AFTER, 3)
    panel.revert()
    assert panel.ruleset() == smtp


def test_rows_move_turn_off_and_the_editor_follows_the_selection(qtbot: Any, env: Env) -> None:
    panel = env.panel
    panel.preset_actions[Preset.HTTP].trigger()
    rows = panel.rules_list
    rows.add_button.click()
    assert rows.current() == 1 and panel.editor.name.text() == "rule 2"
    rows.up_button.click()
    assert [r.name for r in panel.ruleset().rules] == ["rule 2", "GET"]
    rows.view.item(0).setCheckState(Qt.CheckState.Unchecked)
    assert not panel.ruleset().rules[0].enabled
    rows.view.setCurrentRow(1)
    assert panel.editor.name.text() == "GET"
    rows.remove_button.click()
    assert [r.name for r in panel.ruleset().rules] == ["rule 2"]


def test_the_panel_follows_its_server(qtbot: Any, env: Env) -> None:
    panel = env.panel
    panel.preset_actions[Preset.ECHO].trigger()
    panel.set_server(None)
    assert not panel.isEnabled() and panel.ruleset() == RuleSet()
    panel.set_server(env.sid)  # the draft was kept
    assert panel.ruleset() == preset(Preset.ECHO)
    # Rules applied elsewhere show up when the draft has no edits.
    panel.revert()
    assert env.rules.set_rules(env.sid, preset(Preset.REDIS)) == []
    qtbot.waitUntil(lambda: panel.ruleset() == preset(Preset.REDIS), timeout=WAIT_MS)
    env.aio(env.servers.close(env.sid))
    assert panel.server_id() is None and not panel.isEnabled()


def test_a_rule_that_fails_is_marked_and_the_next_rule_answers(qtbot: Any, env: Env) -> None:
    # 300 copies of a 60 kB frame are over the 16 MiB a reply may be: "big" fails at run time.
    rules = RuleSet(
        framing=Framing(kind=FrameKind.LINE),
        rules=(
            Rule(
                name="big",
                match=Match(kind=MatchKind.REGEX, pattern=r"\Abig"),
                reply=Reply(template="{frame}" * 300),
            ),
            Rule(name="ok", reply=Reply(template="ok", line_ending="LF")),
        ),
    )
    env.panel.set_ruleset(rules)
    assert env.panel.apply() == []
    sock = env.client()
    assert env.exchange(sock, b"big" + b"x" * 60_000 + b"\n", 3) == b"ok\n"
    qtbot.waitUntil(lambda: "failed, disabled" in env.item_texts()[0], timeout=WAIT_MS)
    assert env.item_texts()[1].endswith("· 1 hit")
    item = env.panel.rules_list.view.item(0)
    assert item.toolTip() == "ValueError: the reply is over 16,777,216 bytes"


def test_the_frame_length_says_1_byte_not_1_bytes(qtbot: Any, env: Env) -> None:
    length = env.panel.frame_length
    assert length.value() == 1 and length.text() == "1 byte"  # greyed, but read at once
    choose(env.panel.framing, FrameKind.FIXED.value)
    type_into(qtbot, length, "16")
    assert length.text() == "16 bytes" and env.panel.ruleset().framing.length == 16
