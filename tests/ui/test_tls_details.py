"""The TLS tab's negotiated facts and handshake list, against ``openssl s_server``: each fact
in plain words, its raw value (the core's ``TlsInfo``) in the tooltip."""

from __future__ import annotations

import shutil
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTreeWidget

import pytest

from tests.net.tls_peers import Pki
from tests.ui.conftest import WAIT_MS
from workbench.core.types import HandshakeMessage
from workbench.ui.panels.tls_details import message_words

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")


def facts(tab: Any) -> dict[str, str]:
    return {key: label.text() for key, label in tab.panel.tlsDetails.facts.items()}


def rows(tab: Any) -> list[tuple[str, str, str]]:
    tree = tab.panel.tlsDetails.handshakeList
    return [
        tuple(tree.topLevelItem(i).text(c) for c in range(3))  # type: ignore[misc]
        for i in range(tree.topLevelItemCount())
    ]


def test_facts_are_dashes_until_the_socket_is_secured(
    tls_tab: Any, pki: Pki, s_server: Any
) -> None:
    server = s_server(pki.valid)
    tls_tab.connected(server.port)
    assert facts(tls_tab)["resumed"] == "resumed: —"
    assert tls_tab.panel.tlsDetails.handshakeList.topLevelItemCount() == 0
    assert tls_tab.panel.findChild(QTreeWidget, "handshakeList") is not None


def test_tls13_facts_in_words_with_raw_values_in_tooltips(
    qtbot: Any, tls_tab: Any, pki: Pki, s_server: Any
) -> None:
    server = s_server(pki.valid, "-tls1_3", "-groups", "x25519", "-alpn", "http/1.1")
    sid = tls_tab.connected(server.port, "localhost")
    tls_tab.panel.secureExtras.alpnEdit.setText("h2, http/1.1")
    tls_tab.secure(trust=pki.ca_file)
    assert tls_tab.panel.secureResult.text() == "OK"
    tls = tls_tab.tls(sid)
    qtbot.waitUntil(lambda: facts(tls_tab)["verified"] == "verified: yes", timeout=WAIT_MS)
    assert facts(tls_tab) == {
        "version": "version: TLS 1.3",
        "cipher": f"cipher: {tls.cipher}",
        "group": "group: x25519",
        "alpn": "ALPN: h2, http/1.1 → http/1.1",
        "sni": "SNI: localhost",
        "resumed": "resumed: no",
        "ticket": "ticket lifetime: 2 hours",
        "verified": "verified: yes",
    }
    tips = {key: label.toolTip() for key, label in tls_tab.panel.tlsDetails.facts.items()}
    assert tips["version"] == "version='TLSv1.3'"
    assert tips["group"].startswith("group='x25519'")
    assert tips["alpn"] == "alpn_offered=('h2', 'http/1.1'), alpn='http/1.1'"
    assert tips["sni"] == "sni='localhost'"
    assert tips["resumed"] == "session_reused=False"
    assert tips["ticket"].startswith("ticket_lifetime=7200")
    # The list is the core's trace, in order, in words.
    assert rows(tls_tab) == [message_words(m) for m in tls.handshake]
    assert rows(tls_tab)[:2] == [
        ("→ sent", "ClientHello", message_words(tls.handshake[0])[2]),
        ("← received", "ServerHello", message_words(tls.handshake[1])[2]),
    ]
    kinds = [(d, t) for d, t, _ in rows(tls_tab)]
    assert ("← received", "Certificate") in kinds and ("→ sent", "Finished") in kinds
    # The lengths are right-aligned, and their heading with them.
    tree = tls_tab.panel.tlsDetails.handshakeList
    assert tree.topLevelItem(0).textAlignment(2) & Qt.AlignmentFlag.AlignRight
    assert tree.headerItem().textAlignment(2) & Qt.AlignmentFlag.AlignRight


def test_tls12_with_an_ip_literal_and_no_alpn(
    qtbot: Any, tls_tab: Any, pki: Pki, s_server: Any
) -> None:
    server = s_server(pki.valid, "-tls1_2", "-groups", "secp384r1")
    sid = tls_tab.connected(server.port)  # 127.0.0.1: no name is sent
    tls_tab.secure(trust=pki.ca_file)
    assert tls_tab.panel.secureResult.text() == "OK"
    qtbot.waitUntil(lambda: facts(tls_tab)["version"] == "version: TLS 1.2", timeout=WAIT_MS)
    shown = facts(tls_tab)
    assert shown["sni"] == "SNI: none" and shown["alpn"] == "ALPN: none offered"
    assert shown["group"] == "group: secp384r1"
    tree = tls_tab.panel.tlsDetails.handshakeList
    types = [tree.topLevelItem(i).toolTip(1) for i in range(tree.topLevelItemCount())]
    assert "type='server_key_exchange'" in types and "type='server_hello_done'" in types
    assert rows(tls_tab) == [message_words(m) for m in tls_tab.tls(sid).handshake]


def test_message_words() -> None:
    message = HandshakeMessage(direction="received", type="new_session_ticket", length=1536)
    assert message_words(message) == ("← received", "NewSessionTicket", "1.5 KiB")


def test_a_hello_retry_is_listed_as_such(qtbot: Any, tls_tab: Any, pki: Pki, s_server: Any) -> None:
    # The client's first key share is not the one group this server takes: it asks again.
    server = s_server(pki.valid, "-tls1_3", "-groups", "secp384r1")
    tls_tab.connected(server.port)
    tls_tab.secure(trust=pki.ca_file)
    qtbot.waitUntil(lambda: facts(tls_tab)["group"] == "group: secp384r1", timeout=WAIT_MS)
    assert [t for _, t, _ in rows(tls_tab)][:3] == [
        "ClientHello",
        "HelloRetryRequest",
        "ClientHello",
    ]
