"""The certificates of a secured socket: the chain as the server sent it and as verification
built it (``TlsInfo.chain_sent``, ``chain_verified``), each leaf first, and the selected
certificate's facts (``CertificateInfo``, tls-inspection-contract.md TI3/TI4).

"Copy PEM" copies the selected certificate; "Save chain as PEM…" (``exportChainAction``)
writes the chain of the tab shown, through a non-modal ``QFileDialog.open()``.
"""

from __future__ import annotations

import re
import ssl
from pathlib import Path

import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QGuiApplication
from PySide6.QtWidgets import (
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from workbench.core.types import CertificateInfo, TlsInfo
from workbench.ui.panels.certificate_details import CertificateDetails
from workbench.ui.panels.widgets import ERROR_COLOR, OK_COLOR, describe

__all__ = ["CertificateView", "certificate_pem", "chain_pem", "common_name", "role"]

_CN = re.compile(r"(?:^|,)CN=((?:\\.|[^,])*)")
_FIRST = re.compile(r"^[^=]+=((?:\\.|[^,])*)")


def certificate_pem(cert: CertificateInfo) -> str:
    """The certificate as PEM text (RFC 7468), as ``openssl x509`` writes it."""
    return ssl.DER_cert_to_PEM_cert(cert.der)


def chain_pem(chain: tuple[CertificateInfo, ...]) -> str:
    """The chain's certificates as one PEM file, in the chain's order."""
    return "".join(certificate_pem(cert) for cert in chain)


def common_name(cert: CertificateInfo) -> str:
    """The subject's common name, else its first attribute's value (RFC 4514 escapes
    undone)."""
    found = _CN.search(cert.subject) or _FIRST.search(cert.subject)
    if found is None:
        return cert.subject or "(no subject)"
    return re.sub(r"\\(.)", r"\1", found.group(1))


def role(chain: tuple[CertificateInfo, ...], index: int) -> str:
    """What the certificate at ``index`` is in ``chain``: leaf, intermediate or root."""
    cert = chain[index]
    if index == 0:
        return "leaf"
    if cert.is_ca and cert.subject == cert.issuer:
        return "root"
    return "intermediate" if cert.is_ca else "certificate"


#: (tab title, objectName of its list, the chain it shows, why it can be empty)
_TABS = (
    ("As sent", "chainSentList", "chain_sent",
     "The server sent no certificate: a resumed session skips them."),
    ("As verified", "chainVerifiedList", "chain_verified",
     "No path was built: verification was off, or the session was resumed."),
)  # fmt: skip


class CertificateView(QGroupBox):
    """Two tabs, "As sent" and "As verified", each the chain leaf first; the selected
    certificate's facts beside them; Copy PEM and Save chain as PEM…."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Certificates", parent)
        self.setObjectName("certificateView")
        self.setAccessibleName("Certificate chain")
        self._tls: TlsInfo | None = None
        self._dialog: QFileDialog | None = None
        self.last_folder = ""
        self.chainTabs = QTabWidget()
        self.chainTabs.setObjectName("chainTabs")
        self.chainTabs.setDocumentMode(True)
        self.lists: list[QListWidget] = []
        for title, name, _field, _empty in _TABS:
            chain = QListWidget()
            chain.setObjectName(name)
            what = title.lower()
            describe(chain, f"Certificates {what}", f"The chain {what}, leaf first")
            chain.currentRowChanged.connect(self._show_selected)
            chain.setTextElideMode(Qt.TextElideMode.ElideMiddle)
            chain.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
            chain.setFixedHeight(chain.fontMetrics().height() * 4 + 12)  # a chain of four
            self.lists.append(chain)
            self.chainTabs.addTab(chain, title)
        self.chainTabs.setTabToolTip(0, "The certificates the server sent, in its order")
        self.chainTabs.setTabToolTip(1, "The path verification built, leaf to trust anchor")
        self.chainTabs.currentChanged.connect(self._show_selected)
        # A list's size hint ignores its fixed height: the tabs would take 192 pixels.
        tabs_height = self.chainTabs.tabBar().sizeHint().height() + self.lists[0].height() + 4
        self.chainTabs.setMaximumHeight(tabs_height)
        for scroll in self.chainTabs.tabBar().findChildren(QToolButton):  # Qt's own arrows
            describe(scroll, "Scroll the tabs", "Show the other tabs")
        self.details = CertificateDetails()
        self._build(self._buttons())
        self.show_tls(None)

    def _buttons(self) -> QHBoxLayout:
        self.copyPemButton = QPushButton("Copy &PEM")
        self.copyPemButton.setObjectName("copyPemButton")
        describe(self.copyPemButton, "Copy PEM", "Copy the selected certificate as PEM text")
        self.copyPemButton.clicked.connect(self.copy_pem)
        self.exportChainAction = QAction("Save c&hain as PEM…", self)
        self.exportChainAction.setObjectName("exportChainAction")
        self.exportChainAction.setIconText("Save chain as PEM…")  # a tool button drops "…"
        self.exportChainAction.setToolTip("Write the chain of the tab shown to a PEM file")
        self.exportChainAction.triggered.connect(self.open_export_dialog)
        self.exportChainButton = QToolButton()
        self.exportChainButton.setObjectName("exportChainButton")
        self.exportChainButton.setDefaultAction(self.exportChainAction)
        self.exportChainButton.setAccessibleName("Save chain as PEM")
        self.exportChainButton.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        row = QHBoxLayout()
        row.setSpacing(4)
        row.addWidget(self.copyPemButton)
        row.addWidget(self.exportChainButton)
        row.addStretch(1)
        return row

    def _build(self, buttons: QHBoxLayout) -> None:
        self.exportResult = QLabel()
        self.exportResult.setObjectName("exportChainResult")
        self.exportResult.setTextFormat(Qt.TextFormat.PlainText)
        self.exportResult.setWordWrap(True)
        self.emptyNote = QLabel()
        self.emptyNote.setObjectName("chainEmptyNote")
        self.emptyNote.setWordWrap(True)
        # Stacked, not side by side: the TLS tab is as narrow as the right side of the window.
        outer = QVBoxLayout(self)
        outer.setContentsMargins(4, 4, 4, 4)
        outer.setSpacing(4)
        outer.addWidget(self.chainTabs, 0)
        outer.addWidget(self.emptyNote)
        outer.addLayout(buttons)
        outer.addWidget(self.exportResult)
        outer.addWidget(self.details, 1)

    # -- what is shown -------------------------------------------------------------------

    def chain(self, tab: int | None = None) -> tuple[CertificateInfo, ...]:
        """The chain of tab ``tab`` (default: the tab shown); empty when not secured."""
        if self._tls is None:
            return ()
        field = _TABS[self.chainTabs.currentIndex() if tab is None else tab][2]
        chain: tuple[CertificateInfo, ...] = getattr(self._tls, field)
        return chain

    def selected(self) -> CertificateInfo | None:
        """The certificate selected in the tab shown."""
        chain = self.chain()
        row = self.lists[self.chainTabs.currentIndex()].currentRow()
        return chain[row] if 0 <= row < len(chain) else None

    def show_tls(self, tls: TlsInfo | None) -> None:
        """Show ``tls``'s chains (``None``: not secured). Cheap when nothing changed."""
        if tls is not None and tls is self._tls:
            return
        if (
            tls is not None
            and self._tls is not None
            and (
                (tls.chain_sent, tls.chain_verified)
                == (self._tls.chain_sent, self._tls.chain_verified)
            )
        ):
            self._tls = tls
            return
        self._tls = tls
        for tab, chain_list in enumerate(self.lists):
            chain_list.blockSignals(True)
            chain_list.clear()
            chain = self.chain(tab)
            for index, cert in enumerate(chain):
                item = QListWidgetItem(f"{common_name(cert)}  ({role(chain, index)})")
                item.setToolTip(cert.subject)
                chain_list.addItem(item)
            chain_list.setCurrentRow(0 if chain else -1)
            chain_list.blockSignals(False)
        self.exportResult.clear()
        self._show_selected()

    def _show_selected(self, *_args: object) -> None:
        cert = self.selected()
        self.details.show_certificate(cert)
        self.copyPemButton.setEnabled(cert is not None)
        self.exportChainAction.setEnabled(bool(self.chain()))
        tab = self.chainTabs.currentIndex()
        if self._tls is None:
            self.emptyNote.setText("Not secured: no certificates yet.")
        elif not self.chain():
            self.emptyNote.setText(_TABS[tab][3])
        else:
            self.emptyNote.setText("")
        self.emptyNote.setVisible(bool(self.emptyNote.text()))

    # -- copy and save -------------------------------------------------------------------

    def copy_pem(self) -> None:
        """Copy the selected certificate's PEM to the clipboard."""
        cert = self.selected()
        if cert is not None:
            QGuiApplication.clipboard().setText(certificate_pem(cert))
            # Said under the buttons: a click that changes nothing on screen looks broken.
            chain = self.chain()
            index = self.lists[self.chainTabs.currentIndex()].currentRow()
            self.exportResult.setText(
                f"Copied {common_name(cert)} ({role(chain, index)}) as PEM to the clipboard"
            )
            self.exportResult.setStyleSheet(f"color: {OK_COLOR};")
            self.exportResult.setToolTip("")

    def open_export_dialog(self) -> QFileDialog | None:
        """Ask where to save the chain shown (non-modal), then write it."""
        chain = self.chain()
        if not chain:
            return None
        dialog = self._dialog
        if dialog is not None and shiboken6.isValid(dialog) and dialog.isVisible():
            return dialog
        name = re.sub(r"[^A-Za-z0-9._-]+", "_", common_name(chain[0])) or "chain"
        start = (
            str(Path(self.last_folder) / f"{name}-chain.pem")
            if self.last_folder
            else (f"{name}-chain.pem")
        )
        dialog = QFileDialog(self, "Save chain as PEM", start, "PEM certificates (*.pem *.crt)")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setFileMode(QFileDialog.FileMode.AnyFile)
        dialog.setDefaultSuffix("pem")
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.fileSelected.connect(lambda path: self.save_chain(path, chain))
        self._dialog = dialog
        dialog.open()
        return dialog

    def save_chain(self, path: str, chain: tuple[CertificateInfo, ...]) -> bool:
        """Write ``chain`` as PEM to ``path``; the outcome is said under the buttons."""
        self.last_folder = str(Path(path).parent)
        try:
            Path(path).write_text(chain_pem(chain), encoding="ascii")
        except OSError as exc:
            self.exportResult.setText(f"Not saved: {exc.strerror or exc}")
            self.exportResult.setStyleSheet(f"color: {ERROR_COLOR};")
            return False
        count = len(chain)
        self.exportResult.setText(
            f"Saved {count} certificate{'s' if count != 1 else ''} to {Path(path).name}"
        )
        self.exportResult.setStyleSheet(f"color: {OK_COLOR};")
        self.exportResult.setToolTip(path)
        return True
