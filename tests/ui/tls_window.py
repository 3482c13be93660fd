"""What the window's TLS-inspection tests share: a session with the TLS tab on a real core, a
three-level trustme chain written for ``openssl s_server -cert_chain``, and ``openssl
s_server`` itself (``tests.net.tls_peers.OpenSSLServer``).

The fixtures are in ``tests/ui/conftest.py`` (``tls_tab``, ``chain_pki``, ``s_server``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ssl
from collections.abc import Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

import trustme

from tests.net.tls_peers import CertFiles
from tests.ui.conftest import WAIT_MS
from workbench.core.types import TlsInfo
from workbench.sockets import DnsQueryType, TcpSockets
from workbench.ui.bridge import SocketSession, TaskRunner
from workbench.ui.panels import TlsPanel

LOOPBACK = "127.0.0.1"
#: The leaf of ``ChainPki`` expires in this many days: fewer than 30, so it is marked.
LEAF_DAYS = 12


@dataclass(frozen=True)
class ChainPki:
    """root → intermediate → leaf (localhost, 127.0.0.1), as PEM files and PEM text."""

    ca_file: Path  #: the root, to trust
    leaf: CertFiles  #: the leaf alone, and its key (s_server's ``-cert``/``-key``)
    chain_file: Path  #: the intermediate (s_server's ``-cert_chain``)
    leaf_pem: str
    intermediate_pem: str
    root_pem: str


def der(pem: str) -> bytes:
    """The DER bytes of one PEM certificate."""
    return ssl.PEM_cert_to_DER_cert(pem)


def make_chain_pki(directory: Path) -> ChainPki:
    root = trustme.CA(organization_unit_name="Workbench root")
    intermediate = root.create_child_ca()
    now = dt.datetime.now(dt.UTC)
    leaf = intermediate.issue_cert(
        "localhost",
        LOOPBACK,
        common_name="localhost",
        not_before=now - dt.timedelta(days=1),
        not_after=now + dt.timedelta(days=LEAF_DAYS, hours=1),
    )
    pems = [blob.bytes().decode() for blob in leaf.cert_chain_pems]
    leaf_pem, intermediate_pem = pems[0], pems[1]
    root_pem = root.cert_pem.bytes().decode()
    paths = {name: directory / f"{name}.pem" for name in ("root", "leaf", "key", "chain")}
    paths["root"].write_text(root_pem)
    paths["leaf"].write_text(leaf_pem)
    paths["key"].write_bytes(leaf.private_key_pem.bytes())
    paths["chain"].write_text(intermediate_pem)
    return ChainPki(
        ca_file=paths["root"],
        leaf=CertFiles(cert=paths["leaf"], key=paths["key"]),
        chain_file=paths["chain"],
        leaf_pem=leaf_pem,
        intermediate_pem=intermediate_pem,
        root_pem=root_pem,
    )


class TlsTab:
    """A session over a fresh core, a task runner, and the TLS tab (``panel``) in a host
    widget, as it sits in the window; sockets made and connected through the session."""

    def __init__(self, qtbot: Any) -> None:
        self.qtbot = qtbot
        self.tcp = TcpSockets()
        self.session = SocketSession(self.tcp)
        self.runner = TaskRunner()
        self.failures: list[str] = []
        self.runner.failed.connect(self.failures.append)
        self.host = QWidget()
        qtbot.addWidget(self.host)
        self.host.resize(640, 1400)
        self.panel = TlsPanel(self.session, self.runner, self.host)
        self.panel.setGeometry(0, 0, 640, 1400)
        self.host.show()

    def run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        task = asyncio.get_event_loop().create_task(coro)
        self.qtbot.waitUntil(task.done, timeout=WAIT_MS)
        return task.result()

    def connected(self, port: int, host: str = LOOPBACK) -> int:
        """A new socket connected to ``host:port`` (IPv4), shown in the tab."""
        sockets = self.session.sockets
        sid = int(self.run(sockets.create()).socket_id)
        assert self.run(sockets.connect(sid, host, port, DnsQueryType.IPV4)) == 0
        self.panel.set_socket(sid)
        return sid

    def secure(self, *, trust: Path | None = None) -> None:
        """Click Secure (trusting ``trust``) and wait for its result, and on success for the
        tab to show the handshake."""
        if trust is not None:
            self.panel.set_ca_file(str(trust))
        assert self.panel.secureButton.isEnabled(), self.panel.form_error()
        self.qtbot.mouseClick(self.panel.secureButton, Qt.MouseButton.LeftButton)
        self.qtbot.waitUntil(lambda: self.panel.secureResult.text() not in ("", "Handshaking…"),
                             timeout=WAIT_MS)  # fmt: skip
        if self.panel.secureResult.text() == "OK":
            # The tab shows the handshake at the session's next (coalesced) change.
            verified = self.panel.tlsDetails.facts["verified"]
            self.qtbot.waitUntil(lambda: verified.text() != "verified: —", timeout=WAIT_MS)

    def tls(self, sid: int) -> TlsInfo:
        info = self.run(self.tcp.get_info(sid))
        assert info.tls is not None
        tls: TlsInfo = info.tls
        return tls

    def close(self) -> None:
        self.run(self.session.close_all())
        self.qtbot.waitUntil(lambda: self.runner.running == 0, timeout=WAIT_MS)
        self.session.shutdown()
