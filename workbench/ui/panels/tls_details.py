"""What a handshake negotiated, each fact in plain words with the core's raw value in its
tooltip ("resumed: yes", tooltip ``session_reused=True``), and the handshake's messages as a
list (tls-inspection-contract.md: ``TlsInfo`` and ``HandshakeMessage``)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGridLayout,
    QGroupBox,
    QHeaderView,
    QLabel,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from workbench.core.formatting import format_size
from workbench.core.types import HandshakeMessage, TlsInfo
from workbench.ui.panels.widgets import ERROR_COLOR, OK_COLOR

__all__ = ["FACTS", "TlsDetails", "fact_words", "message_words"]

#: Versions as people say them (``ssl``'s names are the raw values).
_VERSIONS = {"TLSv1.3": "TLS 1.3", "TLSv1.2": "TLS 1.2", "TLSv1.1": "TLS 1.1", "TLSv1": "TLS 1.0"}


def _yes(value: bool) -> str:
    return "yes" if value else "no"


def _alpn(tls: TlsInfo) -> str:
    if not tls.alpn_offered:
        return "none offered"
    return f"{', '.join(tls.alpn_offered)} → {tls.alpn or 'none selected'}"


def _group(tls: TlsInfo) -> str:
    # docs/tls-inspection.md: group is "None for TLS 1.2 finite-field DHE (the prime is sent,
    # not a name) and for a resumed TLS 1.2 session (no key exchange took place)".
    if tls.group:
        return tls.group
    return "none (resumed: no key exchange)" if tls.session_reused else "none named"


def _lifetime(seconds: int | None) -> str:
    if seconds is None:
        return "no ticket"
    if seconds >= 3600 and seconds % 3600 == 0:
        hours = seconds // 3600
        return f"{hours} hour{'s' if hours != 1 else ''}"
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds // 60} min"
    return f"{seconds} s"


#: (key, the fact's word, its value in words, its raw value) for every negotiated fact.
FACTS: tuple[tuple[str, str, Callable[[TlsInfo], str], Callable[[TlsInfo], str]], ...] = (
    ("version", "version", lambda t: _VERSIONS.get(t.version, t.version),
     lambda t: f"version={t.version!r}"),
    ("cipher", "cipher", lambda t: t.cipher, lambda t: f"cipher={t.cipher!r}"),
    ("group", "group", _group,
     lambda t: f"group={t.group!r} (None: finite-field DHE, or no key exchange on resumption)"),
    ("alpn", "ALPN", _alpn,
     lambda t: f"alpn_offered={t.alpn_offered!r}, alpn={t.alpn!r}"),
    ("sni", "SNI", lambda t: t.sni or "none", lambda t: f"sni={t.sni!r}"),
    ("resumed", "resumed", lambda t: _yes(t.session_reused),
     lambda t: f"session_reused={t.session_reused!r}"),
    ("ticket", "ticket lifetime", lambda t: _lifetime(t.ticket_lifetime),
     lambda t: f"ticket_lifetime={t.ticket_lifetime!r} (seconds)"),
    ("verified", "verified", lambda t: _yes(t.verified), lambda t: f"verified={t.verified!r}"),
)  # fmt: skip


def fact_words(tls: TlsInfo) -> dict[str, tuple[str, str]]:
    """key → ("resumed: yes", "session_reused=True") for every fact of ``tls``."""
    return {key: (f"{word}: {plain(tls)}", raw(tls)) for key, word, plain, raw in FACTS}


def message_words(message: HandshakeMessage) -> tuple[str, str, str]:
    """(direction, type, length) as the list shows them: ``("→ sent", "ClientHello",
    "517 bytes")``."""
    arrow = "→ sent" if message.direction == "sent" else "← received"
    words = "".join(part.capitalize() for part in message.type.split("_"))
    return arrow, words, format_size(message.length)


class TlsDetails(QGroupBox):
    """The negotiated facts (``facts[key]`` labels, objectName ``<key>Fact``) and the
    handshake list (``handshakeList``) of the socket shown; ``show_tls(None)``: not secured.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Negotiated", parent)
        self.setObjectName("tlsNegotiated")
        self.setAccessibleName("What the TLS handshake negotiated")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(4, 4, 4, 4)
        grid = QGridLayout()
        grid.setHorizontalSpacing(16)
        grid.setVerticalSpacing(2)
        outer.addLayout(grid)
        self.facts: dict[str, QLabel] = {}
        for index, (key, word, _plain, _raw) in enumerate(FACTS):
            label = QLabel(f"{word}: —")
            label.setObjectName(f"{key}Fact")
            label.setTextFormat(Qt.TextFormat.PlainText)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            label.setAccessibleName(f"TLS {word}")
            self.facts[key] = label
            grid.addWidget(label, index // 2, index % 2)
        self.handshakeList = QTreeWidget()
        self.handshakeList.setObjectName("handshakeList")
        self.handshakeList.setAccessibleName("Handshake messages")
        self.handshakeList.setToolTip(
            "Every TLS handshake message in order: who sent it, its type and the length of "
            "its body (without the 4-byte header)"
        )
        self.handshakeList.setHeaderLabels(["Direction", "Message", "Length"])
        self.handshakeList.setRootIsDecorated(False)
        self.handshakeList.setUniformRowHeights(True)
        self.handshakeList.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        # The lengths are right-aligned: so is their heading, over them.
        self.handshakeList.headerItem().setTextAlignment(
            2, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        )
        header = self.handshakeList.header()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.handshakeList.setMinimumHeight(120)
        outer.addWidget(self.handshakeList)
        self._shown: TlsInfo | None = None
        self.show_tls(None)

    def show_tls(self, tls: TlsInfo | None) -> None:
        """Show ``tls``'s facts and messages (cheap when nothing changed: panels refresh
        often)."""
        if tls is not None and (tls is self._shown or tls == self._shown):
            return
        self._shown = tls
        if tls is None:
            for key, word, _plain, _raw in FACTS:
                self.facts[key].setText(f"{word}: —")
                self.facts[key].setToolTip("Not secured")
            self.handshakeList.clear()
            self.facts["verified"].setStyleSheet("")
            return
        for key, (text, raw) in fact_words(tls).items():
            label = self.facts[key]
            if label.text() != text:
                label.setText(text)
            label.setToolTip(raw)
        # The tab's one word on verification (the peer certificate box no longer repeats it):
        # marked as the socket's row marks an unverified connection.
        self.facts["verified"].setStyleSheet(
            f"color: {OK_COLOR};" if tls.verified else f"color: {ERROR_COLOR}; font-weight: bold;"
        )
        self._show_messages(tls.handshake)

    def _show_messages(self, messages: tuple[HandshakeMessage, ...]) -> None:
        self.handshakeList.clear()
        for message in messages:
            item = QTreeWidgetItem(list(message_words(message)))
            item.setToolTip(0, f"direction={message.direction!r}")
            item.setToolTip(1, f"type={message.type!r}")
            item.setToolTip(2, f"length={message.length} (bytes)")
            item.setTextAlignment(2, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.handshakeList.addTopLevelItem(item)
