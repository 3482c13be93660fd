"""The option panels against real loopback peers: an asyncio echo server and an asyncio TLS
echo server (trustme CA) started on the session's qasync loop.

Every test drives the widgets the way a user does (typing, clicking) and checks the core's
state, the call log and the text beside the control. No fixed sleeps: ``qtbot.waitUntil``.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QCheckBox, QFileDialog, QLabel, QWidget

import pytest
import trustme

from tests.net.peers import ControlledServer
from tests.net.tls_peers import free_port
from tests.ui.conftest import WAIT_MS
from workbench.session.record import RowState, row_state
from workbench.sockets import SocketInfo, TcpSockets
from workbench.ui.bridge import SocketSession, TaskRunner
from workbench.ui.panels import (
    ERROR_COLOR,
    OK_COLOR,
    ConnectPanel,
    PropertiesPanel,
    TcpOptionsPanel,
    TlsPanel,
)

REFUSED_TEXT = "-102 CONNECTION_REFUSED: nothing is listening on that port"


# ------------------------------------------------------------------------------- helpers


def run(qtbot: Any, coro: Coroutine[Any, Any, Any]) -> Any:
    """Run one coroutine on the qasync loop from the (synchronous) test body."""
    task = asyncio.get_event_loop().create_task(coro)
    qtbot.waitUntil(task.done, timeout=WAIT_MS)
    return task.result()


class EchoServer:
    """An asyncio echo server on 127.0.0.1, port 0, optionally over TLS."""

    def __init__(self, context: ssl.SSLContext | None = None) -> None:
        self.context = context
        self.port = 0
        self.server: asyncio.Server | None = None
        self.handlers: set[asyncio.Task[None]] = set()
        self.writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> EchoServer:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0, ssl=self.context)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.handlers.add(task)
        self.writers.add(writer)
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, ssl.SSLError):
            pass
        finally:
            self.writers.discard(writer)
            writer.close()
            self.handlers.discard(task)

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in list(self.writers):
            writer.close()
        if self.handlers:
            await asyncio.wait(list(self.handlers))
        await self.server.wait_closed()


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> tuple[trustme.CA, Path]:
    authority = trustme.CA()
    path = tmp_path_factory.mktemp("panels-ca") / "ca.pem"
    authority.cert_pem.write_to_path(str(path))
    return authority, path


@pytest.fixture
def serve(qtbot: Any, qloop: asyncio.AbstractEventLoop) -> Iterator[Callable[..., EchoServer]]:
    servers: list[EchoServer] = []

    def start(context: ssl.SSLContext | None = None) -> EchoServer:
        server = run(qtbot, EchoServer(context).start())
        servers.append(server)
        return server

    yield start
    for server in servers:
        run(qtbot, server.stop())


@pytest.fixture
def tls_server(serve: Callable[..., EchoServer], ca: tuple[trustme.CA, Path]) -> EchoServer:
    authority, _ = ca
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("localhost", "127.0.0.1").configure_cert(context)
    return serve(context)


class Env:
    """A session over a fresh core, a task runner, and helpers to make sockets."""

    def __init__(self, qtbot: Any) -> None:
        self.qtbot = qtbot
        self.tcp = TcpSockets()
        self.session = SocketSession(self.tcp)
        self.runner = TaskRunner()
        self.failures: list[str] = []
        self.hosts: list[QWidget] = []
        self.runner.failed.connect(self.failures.append)

    def create(self) -> int:
        return int(run(self.qtbot, self.session.sockets.create()).socket_id)

    def core_info(self, sid: int) -> SocketInfo:
        info: SocketInfo = run(self.qtbot, self.tcp.get_info(sid))
        return info

    def calls(self, method: str) -> list[str]:
        return [
            e.text
            for e in self.session.call_log.entries()
            if e.text.startswith(f"chrome.sockets.tcp.{method}(")
        ]

    def panel(self, cls: type[QWidget], sid: int | None = None) -> Any:
        # The panel sits in a layout-less top-level widget, as it sits inside the window: a
        # top-level panel would pass every minimum-size change to the offscreen platform,
        # which answers with a warning ("does not support propagateSizeHints()").
        host = QWidget()
        self.hosts.append(host)  # qtbot only keeps a weak reference
        self.qtbot.addWidget(host)
        host.resize(520, 640)
        panel = cls(self.session, self.runner, host)
        panel.setGeometry(0, 0, 520, 640)
        host.show()
        if sid is not None:
            panel.set_socket(sid)
        return panel

    def close(self) -> None:
        run(self.qtbot, self.session.close_all())
        self.qtbot.waitUntil(lambda: self.runner.running == 0, timeout=WAIT_MS)
        self.session.shutdown()


@pytest.fixture
def env(qtbot: Any, qloop: asyncio.AbstractEventLoop) -> Iterator[Env]:
    environment = Env(qtbot)
    yield environment
    environment.close()
    assert environment.failures == []


def type_into(qtbot: Any, widget: QWidget, text: str) -> None:
    widget.clear()
    qtbot.keyClicks(widget, text)


def connect_with_panel(qtbot: Any, panel: ConnectPanel, host: str, port: int) -> None:
    type_into(qtbot, panel.address.lineEdit(), host)
    type_into(qtbot, panel.port, str(port))
    assert panel.connectButton.isEnabled()
    qtbot.mouseClick(panel.connectButton, Qt.MouseButton.LeftButton)


def click_checkbox(qtbot: Any, box: QCheckBox) -> None:
    """Click the box itself (the centre of a stretched check box can be empty space)."""
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=QPoint(6, box.height() // 2))


def connect_core(qtbot: Any, env: Env, sid: int, port: int, host: str = "127.0.0.1") -> None:
    assert run(qtbot, env.session.sockets.connect(sid, host, port)) == 0


def shown_error(label: Any) -> str | None:
    return label.text() if not label.isHidden() else None


# ------------------------------------------------------------------------------- connect


def test_connect_ok_shows_ok_beside_the_button(qtbot: Any, env: Env, serve: Any) -> None:
    server = serve()
    sid = env.create()
    panel = env.panel(ConnectPanel, sid)

    connect_with_panel(qtbot, panel, "127.0.0.1", server.port)

    qtbot.waitUntil(lambda: panel.connectResult.text() == "OK", timeout=WAIT_MS)
    assert panel.connectResult.code == 0
    assert OK_COLOR in panel.connectResult.styleSheet()
    info = env.core_info(sid)
    assert info.connected and info.peer_port == server.port
    assert env.calls("connect") == [
        f'chrome.sockets.tcp.connect({sid}, "127.0.0.1", {server.port}) → 0'
    ]
    assert env.session.result(sid, "connect") == 0

    qtbot.mouseClick(panel.disconnectButton, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.disconnectResult.text() == "OK", timeout=WAIT_MS)
    assert not env.core_info(sid).connected


def test_refused_connect_shows_the_net_error_beside_the_button(qtbot: Any, env: Env) -> None:
    sid = env.create()
    panel = env.panel(ConnectPanel, sid)

    connect_with_panel(qtbot, panel, "127.0.0.1", free_port())

    qtbot.waitUntil(lambda: panel.connectResult.text() != "Connecting…", timeout=WAIT_MS)
    qtbot.waitUntil(lambda: panel.connectResult.code is not None, timeout=WAIT_MS)
    # The code in words, then the operating system's reason.
    assert panel.connectResult.text().startswith(REFUSED_TEXT + "\n(127.0.0.1:")
    assert panel.connectResult.text().endswith(": Connection refused)")
    assert panel.connectResult.code == -102
    assert ERROR_COLOR in panel.connectResult.styleSheet()
    assert not env.core_info(sid).connected


@pytest.mark.parametrize(
    ("address", "port", "bad_field"),
    [
        ("127.0.0.1", "0", "port"),
        ("127.0.0.1", "65536", "port"),
        ("127.0.0.1", "70000", "port"),
        ("127.0.0.1", "-1", "port"),
        ("127.0.0.1", "8o", "port"),
        ("127.0.0.1", "", "port"),
        ("", "7", "address"),
        ("   ", "7", "address"),
        ("bad host", "7", "address"),
        ("bad\x00host", "7", "address"),
        ("::1::2", "7", "address"),
        ("a" * 300, "7", "address"),
    ],
)
def test_invalid_input_disables_connect_and_nothing_reaches_the_core(
    qtbot: Any, env: Env, address: str, port: str, bad_field: str
) -> None:
    sid = env.create()
    panel = env.panel(ConnectPanel, sid)
    panel.address.setEditText(address)
    panel.port.setText(port)

    assert not panel.connectButton.isEnabled()
    error = panel.portError if bad_field == "port" else panel.addressError
    other = panel.addressError if bad_field == "port" else panel.portError
    assert shown_error(error)
    assert shown_error(other) is None
    # Neither a click, nor Enter in either field, nor the slot itself calls the core.
    qtbot.mouseClick(panel.connectButton, Qt.MouseButton.LeftButton)
    qtbot.keyClick(panel.port, Qt.Key.Key_Return)
    qtbot.keyClick(panel.address.lineEdit(), Qt.Key.Key_Return)
    panel._connect_clicked()
    assert env.runner.running == 0
    assert env.calls("connect") == []
    assert row_state(env.session.ui(sid)) is RowState.CREATED  # nothing was started
    assert not env.core_info(sid).connected
    assert panel.connectResult.text() == ""
    assert panel.recent_peers() == []


def test_fixing_the_input_clears_the_error_and_enables_connect(qtbot: Any, env: Env) -> None:
    sid = env.create()
    panel = env.panel(ConnectPanel, sid)
    assert not panel.connectButton.isEnabled()
    assert shown_error(panel.addressError) and shown_error(panel.portError)

    type_into(qtbot, panel.port, "70000")
    assert "between 1 and 65535" in shown_error(panel.portError)
    qtbot.keyClick(panel.port, Qt.Key.Key_Backspace)
    qtbot.keyClick(panel.port, Qt.Key.Key_Backspace)  # "700"
    assert shown_error(panel.portError) is None
    assert panel.port.value() == 700
    assert not panel.connectButton.isEnabled()  # the address is still empty

    type_into(qtbot, panel.address.lineEdit(), "[::1]")
    assert shown_error(panel.addressError) is None
    assert panel.connectButton.isEnabled()


def test_with_no_socket_shown_the_greyed_form_shows_no_field_errors(qtbot: Any, env: Env) -> None:
    panel = env.panel(ConnectPanel)  # the window before any socket, or after the last closed
    assert not panel.isEnabled()
    assert shown_error(panel.addressError) is None and shown_error(panel.portError) is None
    assert panel.form_error() is not None  # still why the toolbar's Connect is disabled

    sid = env.create()
    panel.set_socket(sid)  # a new socket: its empty fields say what they need
    assert shown_error(panel.addressError) and shown_error(panel.portError)
    type_into(qtbot, panel.port, "7")
    panel.set_socket(None)
    assert shown_error(panel.addressError) is None and shown_error(panel.portError) is None
    assert panel.port.text() == "7"  # what was typed stays, for the next new socket


def test_a_huge_paste_is_cut_to_the_field_limit_and_refused(qtbot: Any, env: Env) -> None:
    sid = env.create()
    panel = env.panel(ConnectPanel, sid)
    panel.address.lineEdit().setText("x" * 10_000_000)
    assert len(panel.address.currentText()) == ConnectPanel.MAX_ADDRESS_LENGTH
    assert "Too long" in shown_error(panel.addressError)
    assert not panel.connectButton.isEnabled()


def test_recent_peers_most_recent_first_deduplicated_and_capped(
    qtbot: Any, env: Env, serve: Any
) -> None:
    server = serve()
    refused = free_port()
    sid = env.create()
    panel = env.panel(ConnectPanel, sid)
    changes: list[None] = []
    panel.recentPeersChanged.connect(lambda: changes.append(None))

    for host, port in (("127.0.0.1", refused), ("localhost", server.port), ("127.0.0.1", refused)):
        connect_with_panel(qtbot, panel, host, port)
        qtbot.waitUntil(lambda: panel.connectResult.code is not None, timeout=WAIT_MS)
        if panel.connectResult.code == 0:
            qtbot.mouseClick(panel.disconnectButton, Qt.MouseButton.LeftButton)
            qtbot.waitUntil(lambda: panel.disconnectResult.code == 0, timeout=WAIT_MS)
    assert panel.recent_peers() == [f"127.0.0.1:{refused}", f"localhost:{server.port}"]
    assert len(changes) == 3
    assert panel.address.count() == 2

    # Picking a peer from the list fills both fields.
    panel.address.setCurrentIndex(1)
    assert panel.address.currentText() == "localhost"
    assert panel.port.text() == str(server.port)
    assert panel.connectButton.isEnabled()

    # Loading: bad and duplicate entries dropped, at most 20 kept, IPv6 round-trips.
    entries = ["[::1]:7", "::1:7", "nohost", "bad host:1", "h:0", "[::1]:7"]
    entries += [f"host{i}:{i + 1}" for i in range(30)]
    panel.set_recent_peers(entries)
    peers = panel.recent_peers()
    assert peers[0] == "[::1]:7" and peers[1] == "host0:1"
    assert len(peers) == ConnectPanel.MAX_RECENT == 20
    assert len(set(peers)) == 20
    # The typed text survives reloading the history.
    assert panel.address.currentText() == "localhost"


def test_switching_sockets_keeps_what_was_typed_unless_the_peer_changed(
    qtbot: Any, env: Env, serve: Any
) -> None:
    server = serve()
    first, second = env.create(), env.create()
    panel = env.panel(ConnectPanel, first)
    panel.set_peer("typed.example", 1234)
    panel.set_socket(second)
    assert panel.address.currentText() == "typed.example"  # a new socket starts from it
    panel.set_peer("other.example", 99)
    panel.set_socket(first)
    assert (panel.address.currentText(), panel.port.text()) == ("typed.example", "1234")

    # The first socket connects elsewhere (e.g. from the window): its peer wins.
    panel.set_socket(second)
    connect_core(qtbot, env, first, server.port)
    panel.set_socket(None)
    panel.set_socket(first)
    assert (panel.address.currentText(), panel.port.text()) == ("127.0.0.1", str(server.port))
    panel.set_socket(second)
    assert (panel.address.currentText(), panel.port.text()) == ("other.example", "99")


def test_panels_disable_without_a_socket_and_keep_results_per_socket(qtbot: Any, env: Env) -> None:
    first, second = env.create(), env.create()
    panel = env.panel(ConnectPanel)
    assert not panel.isEnabled()
    panel.set_socket(first)
    assert panel.isEnabled()
    connect_with_panel(qtbot, panel, "127.0.0.1", free_port())
    qtbot.waitUntil(lambda: panel.connectResult.code == -102, timeout=WAIT_MS)

    panel.set_socket(second)
    assert panel.connectResult.text() == ""
    panel.set_socket(first)
    assert panel.connectResult.text().startswith(REFUSED_TEXT)
    panel.set_socket(None)
    assert not panel.isEnabled() and not panel.connectButton.isEnabled()

    # A closed socket: the panel lets go of it.
    panel.set_socket(second)
    run(qtbot, env.session.sockets.close(second))
    qtbot.waitUntil(lambda: panel.socket_id() is None, timeout=WAIT_MS)
    assert not panel.isEnabled()


# ---------------------------------------------------------------------------- properties


def test_the_buffer_size_says_1_byte_and_2_bytes(qtbot: Any, env: Env) -> None:
    panel = env.panel(PropertiesPanel, env.create())
    panel.bufferSize.setValue(1)
    assert panel.bufferSize.text() == "1 byte"
    panel.bufferSize.setValue(2)
    assert panel.bufferSize.text() == "2 bytes"


def test_properties_apply_updates_the_core(qtbot: Any, env: Env) -> None:
    sid = env.create()
    panel = env.panel(PropertiesPanel, sid)
    assert panel.bufferSize.value() == 0 and panel.bufferSize.text() == "default"

    type_into(qtbot, panel.nameEdit, "probe")
    panel.bufferSize.setValue(1024)
    click_checkbox(qtbot, panel.persistent)
    qtbot.mouseClick(panel.applyButton, Qt.MouseButton.LeftButton)

    qtbot.waitUntil(lambda: panel.result.text() == "OK", timeout=WAIT_MS)
    info = env.core_info(sid)
    assert (info.name, info.buffer_size, info.persistent) == ("probe", 1024, True)

    # Control characters are refused beside the field.
    panel.nameEdit.setText("a\x01b")
    assert shown_error(panel.nameError) and not panel.applyButton.isEnabled()


def test_properties_refresh_from_the_core_but_keep_user_edits(qtbot: Any, env: Env) -> None:
    sid = env.create()
    panel = env.panel(PropertiesPanel, sid)
    run(qtbot, env.session.sockets.update(sid, _props(name="from-core", buffer_size=2048)))
    qtbot.waitUntil(lambda: panel.nameEdit.text() == "from-core", timeout=WAIT_MS)
    assert panel.bufferSize.value() == 2048

    type_into(qtbot, panel.nameEdit, "mine")
    run(qtbot, env.session.sockets.update(sid, _props(buffer_size=512)))
    qtbot.waitUntil(lambda: panel.bufferSize.value() == 512, timeout=WAIT_MS)
    assert panel.nameEdit.text() == "mine"
    panel.set_socket(sid)  # selecting the same socket again keeps the edit
    assert panel.nameEdit.text() == "mine"
    other = env.create()
    panel.set_socket(other)
    assert panel.nameEdit.text() == "" and panel.bufferSize.value() == 0
    panel.set_socket(sid)
    assert panel.nameEdit.text() == "from-core" and panel.bufferSize.value() == 512


def _props(**fields: Any) -> Any:
    from workbench.sockets import SocketProperties

    return SocketProperties(**fields)


# ----------------------------------------------------------------------------------- TLS


def test_secure_with_the_ca_file_shows_ok_and_the_certificate(
    qtbot: Any, env: Env, tls_server: EchoServer, ca: tuple[trustme.CA, Path]
) -> None:
    sid = env.create()
    connect_core(qtbot, env, sid, tls_server.port, "localhost")
    panel = env.panel(TlsPanel, sid)
    assert panel.verify.isChecked()  # on by default
    verified = panel.tlsDetails.facts["verified"]
    assert verified.text() == "verified: —"

    panel.set_ca_file(str(ca[1]))
    assert panel.secureButton.isEnabled()
    qtbot.mouseClick(panel.secureButton, Qt.MouseButton.LeftButton)

    qtbot.waitUntil(lambda: panel.secureResult.text() == "OK", timeout=WAIT_MS)
    qtbot.waitUntil(lambda: verified.text() == "verified: yes", timeout=WAIT_MS)
    assert OK_COLOR in verified.styleSheet()
    tls = env.core_info(sid).tls
    assert tls is not None and tls.verified
    details = {key: label.text() for key, label in panel.detailLabels.items()}
    # The version, cipher and verification are said once, in the Negotiated box; the
    # certificate's names as the certificate view writes them (RFC 4514).
    assert "version" not in details and "cipher" not in details and "verified" not in details
    shown = [label.text() for label in panel.findChildren(QLabel) if label.isVisibleTo(panel)]
    assert sum("verified" in text.lower() for text in shown) == 1, shown
    facts = {key: label.text() for key, label in panel.tlsDetails.facts.items()}
    assert tls.cipher in facts["cipher"]
    leaf = tls.chain_sent[0]
    assert details["subject"] == leaf.subject and details["issuer"] == leaf.issuer
    assert details["subject"].startswith("OU=Testing cert")  # RFC 4514: OU=…,O=…
    assert details["expiry"] == tls.peer_not_after and details["expiry"] != "—"
    assert "trustme" in details["issuer"]
    (call,) = env.calls("secure")
    assert str(ca[1]) in call and call.endswith("→ 0")


def test_secure_without_trust_shows_the_certificate_error(
    qtbot: Any, env: Env, tls_server: EchoServer
) -> None:
    sid = env.create()
    connect_core(qtbot, env, sid, tls_server.port, "localhost")
    panel = env.panel(TlsPanel, sid)
    qtbot.mouseClick(panel.secureButton, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.secureResult.code is not None, timeout=WAIT_MS)
    assert panel.secureResult.text().startswith("-202 CERT_AUTHORITY_INVALID: ")
    assert panel.secureResult.text().endswith(
        "(certificate verify failed: unable to get local issuer certificate)"
    )
    assert ERROR_COLOR in panel.secureResult.styleSheet()


def test_a_secure_error_goes_when_the_socket_reconnects(
    qtbot: Any, env: Env, tls_server: EchoServer
) -> None:
    # Issue 8, item 19: the -202 beside Secure stayed after reconnecting, about a connection
    # that was gone.
    sid = env.create()
    connect_core(qtbot, env, sid, tls_server.port, "localhost")
    panel = env.panel(TlsPanel, sid)
    qtbot.mouseClick(panel.secureButton, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.secureResult.code is not None, timeout=WAIT_MS)
    assert panel.secureResult.text().startswith("-202 CERT_AUTHORITY_INVALID: ")
    connect_core(qtbot, env, sid, tls_server.port, "localhost")
    qtbot.waitUntil(lambda: panel.secureResult.text() == "", timeout=WAIT_MS)
    assert panel.secureResult.code is None and env.session.result(sid, "secure") is None


def test_secure_with_no_trust_store_names_the_fix(
    qtbot: Any, env: Env, tls_server: EchoServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A machine (or a frozen program) with no CA bundle anywhere: verification fails loudly
    # and says how to fix it; it is never skipped.
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "missing.pem"))
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path / "missing-dir"))
    monkeypatch.setattr("workbench.net.tls.SYSTEM_CA_FILES", ())
    monkeypatch.setattr("workbench.net.tls.SYSTEM_CA_DIRS", ())
    sid = env.create()
    connect_core(qtbot, env, sid, tls_server.port, "localhost")
    panel = env.panel(TlsPanel, sid)
    qtbot.mouseClick(panel.secureButton, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.secureResult.code is not None, timeout=WAIT_MS)
    text = panel.secureResult.text()
    assert text.startswith("-202 CERT_AUTHORITY_INVALID: ")
    assert "no trusted CA certificates were found" in text and "SSL_CERT_FILE" in text
    assert env.core_info(sid).tls is None


def test_verify_off_is_flagged_and_reported_not_verified(
    qtbot: Any, env: Env, tls_server: EchoServer
) -> None:
    sid, other = env.create(), env.create()
    connect_core(qtbot, env, sid, tls_server.port)
    panel = env.panel(TlsPanel, sid)
    assert panel.verifyWarning.isHidden()
    assert not env.session.ui(sid).verify_off

    click_checkbox(qtbot, panel.verify)
    assert not panel.verify.isChecked()
    assert panel.verifyWarning.isVisible()
    # Only the form says so: a plain socket's row is never flagged, whatever is drafted.
    assert not env.session.ui(sid).verify_off

    # Another socket starts with verification on; coming back shows it off again.
    panel.set_socket(other)
    assert panel.verify.isChecked() and panel.verifyWarning.isHidden()
    assert not env.session.ui(other).verify_off
    panel.set_socket(sid)
    assert not panel.verify.isChecked() and panel.verifyWarning.isVisible()

    qtbot.mouseClick(panel.secureButton, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.secureResult.text() == "OK", timeout=WAIT_MS)
    verified = panel.tlsDetails.facts["verified"]
    qtbot.waitUntil(lambda: verified.text() == "verified: no", timeout=WAIT_MS)
    assert ERROR_COLOR in verified.styleSheet() and "bold" in verified.styleSheet()
    tls = env.core_info(sid).tls
    assert tls is not None and not tls.verified
    assert env.session.ui(sid).verify_off  # TLS is up unverified: the row is flagged


def test_unreadable_ca_and_key_files_are_refused(
    qtbot: Any, env: Env, serve: Any, tmp_path: Path, ca: tuple[trustme.CA, Path]
) -> None:
    sid = env.create()
    connect_core(qtbot, env, sid, serve().port)  # Secure is offered on a connected socket
    panel = env.panel(TlsPanel, sid)
    ca_edit = panel.findChild(QWidget, "tlsCaFile")
    assert ca_edit is panel.caFile.edit

    for path, words in (
        (tmp_path / "missing.pem", "No such file"),
        (tmp_path, "folder"),
        (tmp_path / "missing" / "ca.pem", "No such file"),
        ("a\x00b", "Not a usable path"),
    ):
        type_into(qtbot, ca_edit, str(path)) if "\x00" not in str(path) else ca_edit.setText(path)
        assert words in shown_error(panel.caFile.error), path
        assert not panel.secureButton.isEnabled()

    type_into(qtbot, ca_edit, str(ca[1]))
    assert shown_error(panel.caFile.error) is None and panel.secureButton.isEnabled()

    # A key without its certificate, and a client certificate that does not exist.
    panel.clientKey.set_path(str(ca[1]))
    assert "certificate" in shown_error(panel.clientKey.error)
    assert not panel.secureButton.isEnabled()
    panel.clientCert.set_path(str(tmp_path / "nope.pem"))
    assert shown_error(panel.clientCert.error) and shown_error(panel.clientKey.error) is None
    panel.clientCert.set_path(str(ca[1]))
    assert panel.secureButton.isEnabled()

    # A bad server name, and versions the wrong way round.
    panel.serverName.setText("two words")
    assert shown_error(panel.serverNameError) and not panel.secureButton.isEnabled()
    panel.serverName.setText("")
    panel.minVersion.setCurrentIndex(1)
    panel.maxVersion.setCurrentIndex(0)
    assert shown_error(panel.versionError) and not panel.secureButton.isEnabled()
    panel._secure_clicked()
    assert env.runner.running == 0 and env.calls("secure") == []


def test_with_verification_off_the_trusted_ca_is_greyed_and_does_not_block_secure(
    qtbot: Any, env: Env, serve: Any, tmp_path: Path, ca: tuple[trustme.CA, Path]
) -> None:
    """secure() loads the trusted CA only to verify: with verification off the field is
    greyed (its path kept) and a bad path there no longer stops Secure; on again, it counts."""
    sid = env.create()
    connect_core(qtbot, env, sid, serve().port)
    panel = env.panel(TlsPanel, sid)
    type_into(qtbot, panel.caFile.edit, str(tmp_path / "missing.pem"))
    assert shown_error(panel.caFile.error) and not panel.secureButton.isEnabled()

    click_checkbox(qtbot, panel.verify)
    assert not panel.caFile.isEnabled() and "verification is off" in panel.caFile.toolTip()
    assert shown_error(panel.caFile.error) is None and panel.secureButton.isEnabled()
    assert panel.caFile.path() == str(tmp_path / "missing.pem")  # kept, not cleared

    click_checkbox(qtbot, panel.verify)
    assert panel.caFile.isEnabled() and panel.caFile.toolTip() == ""
    assert shown_error(panel.caFile.error) and not panel.secureButton.isEnabled()
    type_into(qtbot, panel.caFile.edit, str(ca[1]))
    assert panel.secureButton.isEnabled()


def test_browse_opens_a_non_modal_dialog_that_fills_the_field(
    qtbot: Any, env: Env, serve: Any, ca: tuple[trustme.CA, Path]
) -> None:
    sid = env.create()
    connect_core(qtbot, env, sid, serve().port)
    panel = env.panel(TlsPanel, sid)
    qtbot.mouseClick(panel.caFile.browseButton, Qt.MouseButton.LeftButton)
    dialog = panel.caFile.dialog
    assert isinstance(dialog, QFileDialog)
    qtbot.waitUntil(dialog.isVisible, timeout=WAIT_MS)
    assert not dialog.isModal() or dialog.windowModality() != Qt.WindowModality.ApplicationModal
    dialog.fileSelected.emit(str(ca[1]))
    dialog.reject()
    assert panel.caFile.edit.text() == str(ca[1])
    assert panel.secureButton.isEnabled()


# --------------------------------------------------------------------------- TCP options


def test_keep_alive_and_no_delay_results_and_kernel_options(
    qtbot: Any, env: Env, serve: Any
) -> None:
    server = serve()
    sid = env.create()
    panel = env.panel(TcpOptionsPanel, sid)

    # Not connected: the core would answer -2 (K1), so the buttons are not offered.
    assert not panel.keepAliveButton.isEnabled() and not panel.noDelayButton.isEnabled()
    qtbot.mouseClick(panel.keepAliveButton, Qt.MouseButton.LeftButton)
    panel._keep_alive_clicked()
    panel._no_delay_clicked()
    assert env.runner.running == 0
    assert env.calls("setKeepAlive") == [] and env.calls("setNoDelay") == []
    assert panel.keepAliveResult.text() == ""

    connect_core(qtbot, env, sid, server.port)
    qtbot.waitUntil(panel.keepAliveButton.isEnabled, timeout=WAIT_MS)
    assert panel.noDelayButton.isEnabled()
    assert panel.keepAlive.isChecked() and panel.keepAliveDelay.value() == 45  # K2 defaults
    panel.keepAliveDelay.setValue(30)
    qtbot.mouseClick(panel.keepAliveButton, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.keepAliveResult.text() == "OK", timeout=WAIT_MS)

    click_checkbox(qtbot, panel.noDelay)
    assert not panel.noDelay.isChecked()
    qtbot.mouseClick(panel.noDelayButton, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.noDelayResult.text() == "OK", timeout=WAIT_MS)

    options = run(qtbot, env.tcp.get_socket_options(sid))
    assert options["keep_alive"] is True and options["keep_idle"] == 30
    assert options["no_delay"] is False
    assert env.calls("setKeepAlive")[-1] == f"chrome.sockets.tcp.setKeepAlive({sid}, true, 30) → 0"
    assert env.calls("setNoDelay") == [f"chrome.sockets.tcp.setNoDelay({sid}, false) → 0"]

    # Keep-alive off: the delay is not used.
    click_checkbox(qtbot, panel.keepAlive)
    assert not panel.keepAliveDelay.isEnabled()
    qtbot.mouseClick(panel.keepAliveButton, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(env.calls("setKeepAlive")) == 2, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: panel.keepAliveResult.text() == "OK", timeout=WAIT_MS)
    assert run(qtbot, env.tcp.get_socket_options(sid))["keep_alive"] is False

    # Another socket shows its own (default) options; coming back shows what was set.
    panel.set_socket(env.create())
    assert panel.keepAlive.isChecked() and panel.noDelay.isChecked()
    panel.set_socket(sid)
    assert not panel.keepAlive.isChecked() and not panel.noDelay.isChecked()


def test_pause_button_toggles_the_core_paused_flag(qtbot: Any, env: Env, serve: Any) -> None:
    server = serve()
    sid = env.create()
    connect_core(qtbot, env, sid, server.port)
    panel = env.panel(TcpOptionsPanel, sid)
    assert panel.pauseButton.text() == "&Pause" and not panel.pauseButton.isChecked()

    qtbot.mouseClick(panel.pauseButton, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.pauseResult.text() == "OK", timeout=WAIT_MS)
    assert env.core_info(sid).paused
    assert panel.pauseButton.text() == "&Resume" and panel.pauseButton.isChecked()
    assert "Paused" in panel.pauseState.text()
    assert env.session.ui(sid).intent.paused

    qtbot.mouseClick(panel.pauseButton, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not env.core_info(sid).paused, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: panel.pauseButton.text() == "&Pause", timeout=WAIT_MS)
    assert env.calls("setPaused") == [
        f"chrome.sockets.tcp.setPaused({sid}, true) → undefined",
        f"chrome.sockets.tcp.setPaused({sid}, false) → undefined",
    ]

    # A pause from elsewhere (the toolbar) is reflected.
    run(qtbot, env.session.sockets.set_paused(sid, True))
    qtbot.waitUntil(lambda: panel.pauseButton.text() == "&Resume", timeout=WAIT_MS)


# ------------------------------------------------------------ which controls are offered


def test_connect_is_offered_only_when_the_socket_can_connect(
    qtbot: Any, env: Env, serve: Any
) -> None:
    server = serve()
    sid, other = env.create(), env.create()
    panel = env.panel(ConnectPanel, sid)
    panel.set_peer("127.0.0.1", server.port)
    assert panel.connectButton.isEnabled() and not panel.disconnectButton.isEnabled()

    qtbot.mouseClick(panel.connectButton, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.connectResult.text() == "OK", timeout=WAIT_MS)
    qtbot.waitUntil(lambda: env.runner.running == 0, timeout=WAIT_MS)  # the call has ended
    assert not panel.connectButton.isEnabled() and panel.disconnectButton.isEnabled()
    # Neither a click, nor Enter, nor the slot reaches the core: it would answer -23 (U4).
    qtbot.mouseClick(panel.connectButton, Qt.MouseButton.LeftButton)
    qtbot.keyClick(panel.port, Qt.Key.Key_Return)
    panel._connect_clicked()
    assert env.runner.running == 0 and len(env.calls("connect")) == 1

    qtbot.mouseClick(panel.disconnectButton, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.disconnectResult.text() == "OK", timeout=WAIT_MS)
    assert panel.connectButton.isEnabled() and not panel.disconnectButton.isEnabled()

    # A connect from elsewhere (the window, a script) is reflected too.
    panel.set_socket(other)
    assert panel.connectButton.isEnabled()
    connect_core(qtbot, env, other, server.port)
    qtbot.waitUntil(lambda: not panel.connectButton.isEnabled(), timeout=WAIT_MS)
    assert panel.disconnectButton.isEnabled()


def test_secure_is_offered_only_on_a_connected_plain_socket(
    qtbot: Any, env: Env, tls_server: EchoServer, ca: tuple[trustme.CA, Path]
) -> None:
    sid = env.create()
    panel = env.panel(TlsPanel, sid)
    panel.set_ca_file(str(ca[1]))
    assert not panel.secureButton.isEnabled()  # T1: the core would answer -4
    panel._secure_clicked()
    assert env.runner.running == 0 and env.calls("secure") == []

    connect_core(qtbot, env, sid, tls_server.port, "localhost")
    qtbot.waitUntil(panel.secureButton.isEnabled, timeout=WAIT_MS)
    qtbot.mouseClick(panel.secureButton, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.secureResult.text() == "OK", timeout=WAIT_MS)
    qtbot.waitUntil(lambda: env.runner.running == 0, timeout=WAIT_MS)  # the call has ended
    assert not panel.secureButton.isEnabled()  # a second secure() is -4 too
    panel._secure_clicked()
    assert env.runner.running == 0 and len(env.calls("secure")) == 1


def test_resume_is_not_offered_when_only_the_stream_end_paused_the_socket(
    qtbot: Any, env: Env
) -> None:
    with ControlledServer() as server:
        sid = env.create()
        connect_core(qtbot, env, sid, server.port)
        conn = run(qtbot, server.accept())
        panel = env.panel(TcpOptionsPanel, sid)
        assert panel.pauseButton.text() == "&Pause" and panel.pauseState.text() == "Receiving."

        conn.shutdown_write()  # FIN: -100, and the core pauses the socket (R3)
        qtbot.waitUntil(lambda: not env.core_info(sid).connected, timeout=WAIT_MS)
        assert env.core_info(sid).paused
        qtbot.waitUntil(lambda: panel.pauseState.text() == "", timeout=WAIT_MS)
        assert panel.pauseButton.text() == "&Pause" and not panel.pauseButton.isChecked()
        assert panel.pauseButton.isEnabled()
        assert not panel.keepAliveButton.isEnabled() and not panel.noDelayButton.isEnabled()

        # A pause asked for now is the user's: kept for the next connect (U6), Resume offered.
        qtbot.mouseClick(panel.pauseButton, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: panel.pauseResult.text() == "OK", timeout=WAIT_MS)
        assert panel.pauseButton.text() == "&Resume" and panel.pauseButton.isChecked()
        assert env.session.ui(sid).intent.paused


def test_every_control_has_an_accessible_name_and_a_tooltip(qtbot: Any, env: Env) -> None:
    from PySide6.QtWidgets import QAbstractButton, QComboBox, QLineEdit, QSpinBox

    for cls in (PropertiesPanel, ConnectPanel, TlsPanel, TcpOptionsPanel):
        panel = env.panel(cls)
        controls = [
            w
            for kind in (QAbstractButton, QComboBox, QLineEdit, QSpinBox)
            for w in panel.findChildren(kind)
            # Qt's own parts: a combo's or spin box's line edit, a line edit's clear button.
            if not isinstance(w.parent(), (QComboBox, QSpinBox, QLineEdit))
        ]
        assert controls
        for widget in controls:
            assert widget.accessibleName(), (cls.__name__, widget.objectName())
            assert widget.toolTip(), (cls.__name__, widget.objectName())
        # Fits the right side of a 1024x700 window.
        assert panel.minimumSizeHint().width() <= 400, cls.__name__


def test_tls_form_is_kept_per_socket_and_a_new_socket_starts_from_defaults(
    qtbot: Any, env: Env, ca: tuple[trustme.CA, Path]
) -> None:
    _, ca_path = ca
    first = env.create()
    panel = env.panel(TlsPanel, first)
    panel.minVersion.setCurrentIndex(1)  # TLS 1.3 only
    click_checkbox(qtbot, panel.verify)
    type_into(qtbot, panel.serverName, "first.example")
    panel.caFile.set_path(str(ca_path))
    panel.clientCert.set_path(str(ca_path))
    panel.clientKey.set_path(str(ca_path))

    second = env.create()
    panel.set_socket(second)
    assert (panel.minVersion.currentText(), panel.maxVersion.currentText()) == (
        "TLS 1.2",
        "TLS 1.3",
    )
    assert panel.verify.isChecked() and panel.verifyWarning.isHidden()
    assert panel.serverName.text() == ""
    assert panel.caFile.path() is None
    assert panel.clientCert.path() is None and panel.clientKey.path() is None
    type_into(qtbot, panel.serverName, "second.example")

    panel.set_socket(first)
    assert panel.minVersion.currentText() == "TLS 1.3"
    assert not panel.verify.isChecked() and not panel.verifyWarning.isHidden()
    assert panel.serverName.text() == "first.example"
    assert panel.caFile.path() == str(ca_path)
    assert panel.clientCert.path() == panel.clientKey.path() == str(ca_path)
    # Drafts only: neither plain socket's row is flagged.
    assert not env.session.ui(first).verify_off and not env.session.ui(second).verify_off

    panel.set_socket(second)
    assert panel.serverName.text() == "second.example" and panel.verify.isChecked()


def test_a_pending_handshake_can_be_cancelled(qtbot: Any, env: Env) -> None:
    """A peer that never answers the handshake: the TLS tab offers Cancel while it runs, and
    Cancel ends it (secure() answers -3, contract U5) instead of waiting for the time-out."""
    with ControlledServer() as server:
        sid = env.create()
        connect_core(qtbot, env, sid, server.port)
        panel = env.panel(TlsPanel, sid)
        click_checkbox(qtbot, panel.verify)  # no certificate will come to check anyway
        assert panel.cancelSecureButton.isHidden()
        qtbot.waitUntil(panel.secureButton.isEnabled, timeout=WAIT_MS)
        qtbot.mouseClick(panel.secureButton, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: not panel.cancelSecureButton.isHidden(), timeout=WAIT_MS)
        qtbot.mouseClick(panel.cancelSecureButton, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: panel.secureResult.text().startswith("-3 "), timeout=WAIT_MS)
        qtbot.waitUntil(panel.cancelSecureButton.isHidden, timeout=WAIT_MS)
        assert not env.core_info(sid).connected


def test_a_pending_connect_is_cancelled_by_the_disconnect_button_that_says_so(
    qtbot: Any, env: Env
) -> None:
    from tests.net.peers import BlackHole

    with BlackHole() as hole:
        sid = env.create()
        panel = env.panel(ConnectPanel, sid)
        panel.set_peer("127.0.0.1", hole.port)
        qtbot.waitUntil(panel.connectButton.isEnabled, timeout=WAIT_MS)
        qtbot.mouseClick(panel.connectButton, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: panel.disconnectButton.text() == "C&ancel", timeout=WAIT_MS)
        qtbot.mouseClick(panel.disconnectButton, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: panel.connectResult.text().startswith("-3 "), timeout=WAIT_MS)
        qtbot.waitUntil(lambda: panel.disconnectButton.text() == "D&isconnect",
                        timeout=WAIT_MS)
