"""TLS on accept through the window: the Listen tab's TLS group with the built-in test CA,
against ``openssl s_client``, the window's own client socket, and a plain client."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QCheckBox, QLabel, QLineEdit, QPushButton, QRadioButton

import pytest

from tests.ui.conftest import WAIT_MS
from tests.ui.test_listen_panel import (
    LOOPBACK,
    captured,
    clients,  # noqa: F401 - a fixture
    connect_client,
    listen,
    new_server,
    server,
    server_cell,
    wait_accepted,
)
from tests.ui.test_main_window import (
    child,
    click,
    connect_to,
    new_socket,
    send,
    show_tab,
    type_into,
)
from tests.ui.test_rules_panel import choose
from workbench.core.rules import MatchKind, Then
from workbench.core.rules_presets import Preset
from workbench.net.servers import ServerManager
from workbench.net.servers.certificates import ensure_certificates
from workbench.session import SocketKey, SocketKind
from workbench.session.record import DEFAULT_TEST_CA_NAMES, ServerTls
from workbench.ui.main_window import MainWindow
from workbench.ui.socket_model import Column


@pytest.fixture
def window(workbench_window: MainWindow, tmp_path: Path) -> MainWindow:
    """The window with its built-in servers' test CA (as the application attaches it)."""
    workbench_window.attach_servers(ServerManager(tmp_path / "test-ca"))
    return workbench_window


def tls_server(qtbot: Any, window: MainWindow) -> tuple[int, int]:
    """A server row with TLS from the built-in test CA, listening on port 0: (id, port)."""
    server_id = new_server(qtbot, window)
    tick = child(window, "listenTls", QCheckBox)
    assert not tick.isChecked()
    tick.setChecked(True)
    assert child(window, "listenTlsTestCa", QRadioButton).isChecked()
    assert child(window, "listenTlsNames", QLineEdit).text() == "localhost, 127.0.0.1, ::1"
    port = listen(qtbot, window, server_id)
    assert server(window, server_id).intent.tls == ServerTls(test_ca_names=DEFAULT_TEST_CA_NAMES)
    assert server_cell(window, server_id, Column.TLS) == "TLS on accept"  # the row says so
    return server_id, port


def ca_file(tmp_path: Path) -> Path:
    return ensure_certificates(tmp_path / "test-ca").ca_file


@contextlib.contextmanager
def s_client(port: int, ca: Path, out: Path, *extra: str) -> Iterator[subprocess.Popen[bytes]]:
    with out.open("wb") as sink:
        process = subprocess.Popen(
            ["openssl", "s_client", "-connect", f"{LOOPBACK}:{port}", "-CAfile", str(ca),
             "-servername", "localhost", "-verify_return_error", *extra],
            stdin=subprocess.PIPE, stdout=sink, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            yield process
        finally:
            if process.stdin is not None:
                process.stdin.close()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=WAIT_MS / 1000)
            if process.poll() is None:
                process.kill()
                process.wait()


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")
def test_openssl_s_client_handshakes_and_its_line_arrives_decrypted(
    qtbot: Any, window: MainWindow, tmp_path: Path
) -> None:
    server_id, port = tls_server(qtbot, window)
    out = tmp_path / "s_client.txt"
    with s_client(port, ca_file(tmp_path), out) as process:
        (sid,) = wait_accepted(qtbot, window, server_id, 1)
        qtbot.waitUntil(lambda: b"Verify return code: 0 (ok)" in out.read_bytes(), timeout=WAIT_MS)
        assert process.stdin is not None
        process.stdin.write(b"hello over tls\n")
        process.stdin.flush()
        qtbot.waitUntil(lambda: window.session.counters(sid)[0] == 15, timeout=WAIT_MS)
        assert captured(window, sid) == b"hello over tls\n"
        info = window.session.info(sid)
        assert info.tls is not None
    calls = [e.text for e in window.call_log.entries()]
    assert any(
        c.startswith(f'chrome.sockets.tcp.secureServer({sid}, {{"certFile":"') for c in calls
    )


def test_the_window_s_own_client_verifies_and_the_echo_preset_answers(
    qtbot: Any, window: MainWindow, tmp_path: Path
) -> None:
    server_id, port = tls_server(qtbot, window)
    rules = window.rules_panel
    window.tabs.show_panel(rules)
    rules.load_preset(Preset.ECHO)
    click(qtbot, rules.apply_button)
    qtbot.waitUntil(
        lambda: window.session.core.rules.ruleset(server_id) is not None, timeout=WAIT_MS
    )
    sid = new_socket(qtbot, window)
    connect_to(qtbot, window, sid, port)
    session = window.session
    assert session.result(sid, "connect") == 0
    show_tab(window, window.tls_panel)
    type_into(qtbot, child(window, "tlsCaFile", QLineEdit), str(ca_file(tmp_path)))
    click(qtbot, child(window, "secureButton", QPushButton))
    qtbot.waitUntil(lambda: session.result(sid, "secure") is not None, timeout=WAIT_MS)
    assert session.result(sid, "secure") == 0
    info = session.info(sid)
    assert info.tls is not None and info.tls.verified
    (accepted,) = wait_accepted(qtbot, window, server_id, 1)
    qtbot.waitUntil(lambda: session.info(accepted).tls is not None, timeout=WAIT_MS)
    window.select_socket(sid)
    send(qtbot, window, "Text", "echo me")
    qtbot.waitUntil(lambda: session.counters(sid)[0] == 7, timeout=WAIT_MS)
    assert captured(window, sid) == b"echo meecho me"  # sent, then what came back


def test_a_plain_client_fails_only_its_own_handshake(
    qtbot: Any,
    window: MainWindow,
    tmp_path: Path,
    clients: list[socket.socket],  # noqa: F811
) -> None:
    server_id, port = tls_server(qtbot, window)
    plain = connect_client(clients, port)
    plain.sendall(b"hello\r\n\r\n")
    (sid,) = wait_accepted(qtbot, window, server_id, 1)
    session = window.session
    qtbot.waitUntil(lambda: session.result(sid, "secure") is not None, timeout=WAIT_MS)
    code = session.result(sid, "secure")
    assert code is not None and code < 0
    record = session.ui(sid)
    assert record is not None and record.error == code and session.counters(sid)[0] == 0
    assert server(window, server_id).listening
    out = tmp_path / "s_client.txt"
    if shutil.which("openssl") is not None:  # the server goes on: the next client handshakes
        with s_client(port, ca_file(tmp_path), out):
            qtbot.waitUntil(
                lambda: b"Verify return code: 0 (ok)" in out.read_bytes(), timeout=WAIT_MS
            )
    assert server(window, server_id).listening


def test_missing_files_are_shown_inline_and_listen_is_refused(
    qtbot: Any, window: MainWindow, tmp_path: Path
) -> None:
    server_id = new_server(qtbot, window)
    child(window, "listenTls", QCheckBox).setChecked(True)
    child(window, "listenTlsFiles", QRadioButton).setChecked(True)
    assert child(window, "listenTlsCertFile", QLineEdit).isEnabled()
    assert not child(window, "listenTlsNames", QLineEdit).isEnabled()
    # The two path fields say which file each wants.
    labels = {label.text() for label in window.listen_panel.tlsGroup.findChildren(QLabel)}
    assert {"Certificate:", "Key:"} <= labels
    type_into(qtbot, child(window, "listenTlsCertFile", QLineEdit), str(tmp_path / "none.pem"))
    panel = window.listen_panel
    assert panel.tlsGroup.certFile.error.error is not None
    click(qtbot, child(window, "listenButton", QPushButton))
    assert not server(window, server_id).listening
    assert server(window, server_id).intent.tls is None
    # The test CA with no name is refused too.
    child(window, "listenTlsTestCa", QRadioButton).setChecked(True)
    type_into(qtbot, child(window, "listenTlsNames", QLineEdit), " , ")
    assert panel.tlsGroup.namesError.error is not None
    assert child(window, "listenTlsError", QLabel) is not None


def test_ticking_tls_while_listening_secures_later_connections_only(
    qtbot: Any,
    window: MainWindow,
    tmp_path: Path,
    clients: list[socket.socket],  # noqa: F811
) -> None:
    server_id = new_server(qtbot, window)
    port = listen(qtbot, window, server_id)
    first = connect_client(clients, port)
    (before,) = wait_accepted(qtbot, window, server_id, 1)
    tick = child(window, "listenTls", QCheckBox)
    assert "accepts from then on" in tick.toolTip()
    tick.setChecked(True)  # applied at once: the server listens
    assert server(window, server_id).intent.tls == ServerTls(test_ca_names=DEFAULT_TEST_CA_NAMES)
    first.sendall(b"still plain")
    qtbot.waitUntil(lambda: window.session.counters(before)[0] == 11, timeout=WAIT_MS)
    assert window.session.result(before, "secure") is None
    plain = connect_client(clients, port)
    plain.sendall(b"hello\r\n\r\n")
    _, after = wait_accepted(qtbot, window, server_id, 2)
    qtbot.waitUntil(lambda: window.session.result(after, "secure") is not None, timeout=WAIT_MS)
    assert window.session.result(after, "secure") != 0
    # Another row and back: the form shows each server's own setting.
    other = new_server(qtbot, window)
    assert not tick.isChecked() and server(window, other).intent.tls is None
    window.current.select_key(SocketKey(SocketKind.TCP_SERVER, server_id))
    qtbot.waitUntil(lambda: window.current.server_id == server_id, timeout=WAIT_MS)
    assert tick.isChecked() and child(window, "listenTlsTestCa", QRadioButton).isChecked()


def add_starttls_rule(qtbot: Any, window: MainWindow) -> None:
    """The SMTP preset, with a STARTTLS rule built through the widgets above its catch-all."""
    rules = window.rules_panel
    window.tabs.show_panel(rules)
    rules.load_preset(Preset.SMTP)
    names = [draft.rule.name for draft in rules.rules_list.rows]
    assert "starttls" not in names and names[-1] == "other"  # the preset has none: add it
    click(qtbot, rules.rules_list.add_button)
    editor = rules.editor
    type_into(qtbot, editor.name, "starttls")
    choose(editor.match_kind, MatchKind.REGEX.value)
    type_into(qtbot, editor.pattern, r"(?i)\ASTARTTLS\Z")
    type_into(qtbot, editor.template, "220 Go ahead")
    editor.line_ending.setCurrentText("CRLF")
    choose(editor.then, Then.START_TLS.value)
    click(qtbot, rules.rules_list.up_button)
    assert [draft.rule.name for draft in rules.rules_list.rows][-2:] == ["starttls", "other"]
    assert rules.problems() == []
    click(qtbot, rules.apply_button)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")
def test_tls_when_a_rule_says_start_tls_gives_the_rule_its_certificate(
    qtbot: Any, window: MainWindow, tmp_path: Path
) -> None:
    server_id = new_server(qtbot, window)
    child(window, "listenTls", QCheckBox).setChecked(True)
    assert child(window, "listenTlsOnAccept", QRadioButton).isChecked()  # the default
    when = child(window, "listenTlsOnStartTls", QRadioButton)
    assert when.isEnabled()
    when.setChecked(True)
    port = listen(qtbot, window, server_id)
    on_starttls = ServerTls(test_ca_names=DEFAULT_TEST_CA_NAMES, on_accept=False)
    assert server(window, server_id).intent.tls == on_starttls
    assert server_cell(window, server_id, Column.TLS) == "TLS on Start TLS"
    add_starttls_rule(qtbot, window)
    session = window.session
    rules = session.core.rules
    qtbot.waitUntil(lambda: rules.ruleset(server_id) is not None, timeout=WAIT_MS)
    responder = rules.responder(server_id)
    assert responder is not None and responder.tls is not None
    assert responder.tls == session.core.servers.start_tls_options(server_id)
    out = tmp_path / "s_client.txt"
    with s_client(port, ca_file(tmp_path), out, "-starttls", "smtp"):
        (sid,) = wait_accepted(qtbot, window, server_id, 1)
        qtbot.waitUntil(lambda: b"Verify return code: 0 (ok)" in out.read_bytes(), timeout=WAIT_MS)
        # The client can print its verdict before the server has read its Finished.
        qtbot.waitUntil(lambda: session.info(sid).tls is not None, timeout=WAIT_MS)
        assert session.result(sid, "secure") is None  # not secured on accept: by the rule
    starttls = [d.rule.name for d in window.rules_panel.rules_list.rows].index("starttls")
    assert rules.hit_counts(server_id)[starttls] == 1
    # Back to "On accept": the rule loses the certificate, the accept secures again.
    child(window, "listenTlsOnAccept", QRadioButton).setChecked(True)
    assert server(window, server_id).intent.tls == ServerTls(test_ca_names=DEFAULT_TEST_CA_NAMES)
    assert responder.tls is None
    # Another row and back: the form shows the server's own choice.
    child(window, "listenTlsOnStartTls", QRadioButton).setChecked(True)
    new_server(qtbot, window)
    assert not child(window, "listenTls", QCheckBox).isChecked()
    window.current.select_key(SocketKey(SocketKind.TCP_SERVER, server_id))
    qtbot.waitUntil(lambda: window.current.server_id == server_id, timeout=WAIT_MS)
    assert child(window, "listenTlsOnStartTls", QRadioButton).isChecked()
    assert responder.tls is not None
