"""The Secure panel's new fields (ALPN, "Resume session", a STARTTLS preset) against real
peers: ``openssl s_server`` with and without ``-alpn``, a second handshake that resumes the
first, and the fake STARTTLS servers of ``tests/net/starttls_peers.py``."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QComboBox, QLineEdit, QPushButton

import pytest

from tests.net.starttls_peers import REFUSALS, starttls_server_handler
from tests.net.tls_peers import Pki, ThreadedServer, server_context
from tests.ui.conftest import WAIT_MS, close_window
from tests.ui.test_main_window import child, click, connect_to, new_socket, show_tab, type_into
from workbench.sockets import STARTTLS_PROTOCOLS
from workbench.ui.panels.tls_secure_extras import ALPN_SUGGESTIONS, alpn_error, parse_alpn

needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")


def calls(tab: Any, method: str) -> list[str]:
    prefix = f"chrome.sockets.tcp.{method}("
    return [e.text for e in tab.session.call_log.entries() if e.text.startswith(prefix)]


def fact(tab: Any, key: str) -> str:
    text: str = tab.panel.tlsDetails.facts[key].text()
    return text


@pytest.fixture
def fake() -> Iterator[Any]:
    servers: list[ThreadedServer] = []

    def start(pki: Pki, protocol: str, *, refuse: bool = False) -> ThreadedServer:
        handler = starttls_server_handler(protocol, server_context(pki.valid), refuse=refuse)
        server = ThreadedServer(handler, name=f"ui-{protocol}-fake").start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


# -- the fields ------------------------------------------------------------------------------


def test_the_fields_and_their_defaults(tls_tab: Any) -> None:
    panel = tls_tab.panel
    assert panel.findChild(QLineEdit, "alpnEdit").text() == ""
    assert not panel.findChild(QCheckBox, "resumeSessionCheck").isChecked()
    combo = panel.findChild(QComboBox, "starttlsCombo")
    assert [combo.itemText(i) for i in range(combo.count())] == ["none", *STARTTLS_PROTOCOLS]
    assert combo.currentText() == "none"
    assert not panel.secureExtras.resumeNote.isVisibleTo(panel)  # said once it is checked
    note = panel.secureExtras.unavailable.text()
    assert note.startswith("Not available on this Python:")
    for what in ("TLS 1.3 cipher suites", "a list of groups", "an OCSP staple"):
        assert what in note


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("h2,,http/1.1", "An empty protocol name between commas"),
        ("h2, h2", "A protocol is offered twice"),
        ("hé", "is not ASCII"),
        ("x" * 256, "must be 1 to 255 bytes"),
    ],
)
def test_an_alpn_list_the_core_would_refuse_is_refused_inline(
    qtbot: Any, tls_tab: Any, pki: Pki, s_server: Any, text: str, error: str
) -> None:
    server = s_server(pki.valid)
    tls_tab.connected(server.port)
    panel, extras = tls_tab.panel, tls_tab.panel.secureExtras
    assert panel.secureButton.isEnabled()
    extras.alpnEdit.setText(text)  # as typed (typing opens the completer's popup)
    assert not extras.alpnError.isHidden() and error in extras.alpnError.text()
    assert not panel.secureButton.isEnabled() and error in (panel.form_error() or "")
    extras.alpnEdit.setText("h2, http/1.1")
    assert extras.alpnError.isHidden() and panel.secureButton.isEnabled()
    assert panel.options().alpn == ("h2", "http/1.1")


def test_alpn_words() -> None:
    assert parse_alpn("  ") is None and alpn_error("") is None
    assert parse_alpn(" h2 ,http/1.1") == ("h2", "http/1.1")
    assert alpn_error("h2,") is not None


# The completer's popup is a top-level window: the offscreen platform warns about it.
@pytest.mark.qt_log_ignore("This plugin does not support", "QXcbConnection")
def test_the_completer_offers_the_usual_protocols_after_the_last_comma(
    qtbot: Any, tls_tab: Any
) -> None:
    extras = tls_tab.panel.secureExtras
    completer = extras.alpnEdit.completer()
    model = completer.model()
    assert [model.index(i, 0).data() for i in range(model.rowCount())] == list(ALPN_SUGGESTIONS)
    tls_tab.panel.set_socket(None)
    tls_tab.panel.setEnabled(True)
    extras.alpnEdit.setFocus()
    qtbot.keyClicks(extras.alpnEdit, "h2, ht")
    assert completer.completionCount() == 1
    completion = completer.completionModel().index(0, 0)
    assert completion.data() == "http/1.1"  # the name after the comma is completed
    assert completer.currentCompletion() == "h2, http/1.1"  # and those before it kept
    popup = completer.popup()
    assert popup.isVisible()
    popup.setCurrentIndex(completion)
    qtbot.keyClick(popup, Qt.Key.Key_Return)  # as the user picks it
    assert not popup.isVisible()
    assert extras.alpnEdit.text() == "h2, http/1.1"


def test_each_socket_keeps_its_own_fields(tls_tab: Any, pki: Pki, s_server: Any) -> None:
    server = s_server(pki.valid)
    first = tls_tab.connected(server.port)
    extras = tls_tab.panel.secureExtras
    extras.alpnEdit.setText("h2")
    extras.resumeSessionCheck.setChecked(True)
    extras.starttlsCombo.setCurrentText("imap")
    second = tls_tab.connected(server.port)
    assert extras.form() == ("", False, None)
    tls_tab.panel.set_socket(first)
    assert extras.form() == ("h2", True, "imap")
    tls_tab.panel.set_socket(second)
    assert extras.form() == ("", False, None)


# -- against real peers ----------------------------------------------------------------------


@needs_openssl
def test_alpn_offered_and_selected(qtbot: Any, tls_tab: Any, pki: Pki, s_server: Any) -> None:
    server = s_server(pki.valid, "-alpn", "http/1.1")
    sid = tls_tab.connected(server.port)
    tls_tab.panel.secureExtras.alpnEdit.setText("h2, http/1.1")
    tls_tab.secure(trust=pki.ca_file)
    assert tls_tab.panel.secureResult.text() == "OK"
    tls = tls_tab.tls(sid)
    assert (tls.alpn_offered, tls.alpn) == (("h2", "http/1.1"), "http/1.1")
    assert fact(tls_tab, "alpn") == "ALPN: h2, http/1.1 → http/1.1"
    (call,) = calls(tls_tab, "secure")
    assert "h2" in call and "http/1.1" in call and call.endswith("→ 0")


@needs_openssl
def test_a_server_without_alpn_selects_none(tls_tab: Any, pki: Pki, s_server: Any) -> None:
    server = s_server(pki.valid)
    sid = tls_tab.connected(server.port)
    tls_tab.panel.secureExtras.alpnEdit.setText("h2")
    tls_tab.secure(trust=pki.ca_file)
    assert tls_tab.panel.secureResult.text() == "OK"
    assert tls_tab.tls(sid).alpn is None
    assert fact(tls_tab, "alpn") == "ALPN: h2 → none selected"


@needs_openssl
@pytest.mark.parametrize("version", ["-tls1_2", "-tls1_3"])
def test_resume_session_resumes_the_first_handshake(
    qtbot: Any, tls_tab: Any, pki: Pki, s_server: Any, version: str
) -> None:
    server = s_server(pki.valid, version)
    first = tls_tab.connected(server.port, "localhost")
    # A first handshake without "Resume session": its session is kept all the same.
    tls_tab.panel.secureExtras.resumeSessionCheck.setChecked(False)
    tls_tab.secure(trust=pki.ca_file)
    assert tls_tab.panel.secureResult.text() == "OK"
    qtbot.waitUntil(lambda: fact(tls_tab, "resumed") == "resumed: no", timeout=WAIT_MS)
    assert tls_tab.panel.certificateView.lists[0].count() == 1
    # s_server serves one connection at a time: the first goes before the second comes.
    tls_tab.run(tls_tab.session.sockets.disconnect(first))
    second = tls_tab.connected(server.port, "localhost")
    extras = tls_tab.panel.secureExtras
    extras.resumeSessionCheck.setChecked(True)
    tls_tab.secure(trust=pki.ca_file)
    assert tls_tab.panel.secureResult.text() == "OK"
    assert tls_tab.tls(second).session_reused
    # Checked, the box says under it when a session is offered at all.
    assert extras.resumeNote.isVisibleTo(tls_tab.panel)
    assert "same TLS settings" in extras.resumeNote.text()
    assert "key log file" in extras.resumeNote.text()
    qtbot.waitUntil(lambda: fact(tls_tab, "resumed") == "resumed: yes", timeout=WAIT_MS)
    assert tls_tab.panel.tlsDetails.facts["resumed"].toolTip() == "session_reused=True"
    # No group was negotiated on a resumption: the window says why rather than "none named".
    if version == "-tls1_2":
        assert fact(tls_tab, "group") == "group: none (resumed: no key exchange)"
    # No certificate comes on a resumed handshake: the view says why its tabs are empty.
    view = tls_tab.panel.certificateView
    assert view.lists[0].count() == 0 and "resumed" in view.emptyNote.text()
    assert tls_tab.panel.detailLabels["subject"].text() != "—"  # the leaf kept with it


@pytest.mark.parametrize("protocol", ["smtp", "imap", "postgres"])
def test_a_starttls_preset_runs_its_exchange_first(
    qtbot: Any, tls_tab: Any, pki: Pki, fake: Any, protocol: str
) -> None:
    server = fake(pki, protocol)
    sid = tls_tab.connected(server.port, "localhost")
    tls_tab.panel.secureExtras.starttlsCombo.setCurrentText(protocol)
    tls_tab.secure(trust=pki.ca_file)
    assert tls_tab.panel.secureResult.text() == "OK"
    assert server.wait_event("handshake") in ("TLSv1.2", "TLSv1.3")
    assert tls_tab.tls(sid).verified
    (call,) = calls(tls_tab, "starttls")
    assert f'"{protocol}"' in call and call.endswith("→ 0")
    assert calls(tls_tab, "secure") == []
    qtbot.waitUntil(lambda: fact(tls_tab, "verified") == "verified: yes", timeout=WAIT_MS)


def test_a_refused_starttls_shows_the_server_s_words(
    qtbot: Any, tls_tab: Any, pki: Pki, fake: Any
) -> None:
    server = fake(pki, "smtp", refuse=True)
    tls_tab.connected(server.port, "localhost")
    tls_tab.panel.secureExtras.starttlsCombo.setCurrentText("smtp")
    tls_tab.secure(trust=pki.ca_file)
    result = tls_tab.panel.secureResult.text()
    assert result.startswith("-320") and REFUSALS["smtp"].decode() in result
    assert fact(tls_tab, "resumed") == "resumed: —"  # still plain
    assert tls_tab.panel.secureButton.isEnabled()  # connected and plain: may try again
    tls_tab.panel.secureButton.setFocus()
    qtbot.keyClick(tls_tab.panel.secureButton, Qt.Key.Key_Escape)  # nothing happens


def _secure_calls(window: Any, sid: int, method: str) -> list[str]:
    prefix = f"chrome.sockets.tcp.{method}("
    return [
        e.text
        for e in window.session.call_log.entries()
        if e.key is not None and e.key.id == sid and e.text.startswith(prefix)
    ]


@pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")
def test_a_restored_socket_shows_and_runs_its_starttls_preset(
    qtbot: Any, make_window: Callable[..., Any], tmp_path: Path, pki: Pki, fake: Any
) -> None:
    """A persistent socket secured through the IMAP preset comes back after a restart secured
    the same way (the preset's exchange, then the handshake), and its TLS tab shows the
    preset, as it shows its ALPN list; a socket without one shows "none"."""
    server = fake(pki, "imap")
    settings_dir = tmp_path / "cfg"
    window = make_window(restore_session=True, settings_dir=settings_dir)
    sid = new_socket(qtbot, window)
    show_tab(window, window.properties_panel)
    child(window, "propertiesPersistent", QCheckBox).setChecked(True)
    click(qtbot, child(window, "propertiesApply", QPushButton))
    qtbot.waitUntil(lambda: window.session.info(sid).persistent, timeout=WAIT_MS)
    connect_to(qtbot, window, sid, server.port)
    show_tab(window, window.tls_panel)
    type_into(qtbot, child(window, "tlsCaFile", QLineEdit), str(pki.ca_file))
    child(window, "alpnEdit", QLineEdit).setText("imap")  # typing opens the completer's popup
    child(window, "starttlsCombo", QComboBox).setCurrentText("imap")
    click(qtbot, child(window, "secureButton", QPushButton))
    qtbot.waitUntil(lambda: window.session.result(sid, "secure") is not None, timeout=WAIT_MS)
    assert window.session.result(sid, "secure") == 0
    assert server.wait_event("handshake") in ("TLSv1.2", "TLSv1.3")
    close_window(qtbot, window)
    (saved,) = json.loads((settings_dir / "settings.json").read_text("utf-8"))["sockets"]
    assert saved["starttls"] == "imap" and saved["secure"]["alpn"] == ["imap"]

    window = make_window(restore_session=True, settings_dir=settings_dir)
    try:
        qtbot.waitUntil(
            lambda: window.setup_task is not None and window.setup_task.done(), timeout=WAIT_MS
        )
        assert window.setup_task.exception() is None
        (restored,) = window.session.ids()
        # The restore ran the preset: the fake server saw the IMAP exchange, then TLS.
        received, _sent = server.wait_event("plaintext")
        assert b"STARTTLS" in received
        assert server.wait_event("handshake") in ("TLSv1.2", "TLSv1.3")
        (call,) = _secure_calls(window, restored, "starttls")
        assert '"imap"' in call and call.endswith("→ 0")
        assert _secure_calls(window, restored, "secure") == []
        window.select_socket(restored)
        show_tab(window, window.tls_panel)
        combo = child(window, "starttlsCombo", QComboBox)
        assert combo.currentText() == "imap" and combo.currentData() == "imap"
        assert child(window, "alpnEdit", QLineEdit).text() == "imap"
        assert child(window, "tlsCaFile", QLineEdit).text() == str(pki.ca_file)
        other = new_socket(qtbot, window)
        assert combo.currentText() == "none"
        window.select_socket(restored)
        assert combo.currentText() == "imap"
        assert other != restored
    finally:
        close_window(qtbot, window)
