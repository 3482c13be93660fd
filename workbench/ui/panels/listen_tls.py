"""The Listen tab's TLS group: TLS for a server (``LoggedServers.set_tls``), on accept or when a
rule says Start TLS.

On accept (the default), every connection the server accepts runs ``secure_server`` first
(contract LS1), before its rules and "read at once". "When a rule says Start TLS" secures
nothing on accept: the certificate goes to the server's "Start TLS" rules instead
(``ServerTls.on_accept`` False), for an upgrade later in the connection (SMTP's STARTTLS).

The certificate comes from the built-in test CA, which issues one for the names and addresses
typed (signed by the CA the tls-echo server uses, so "Trust this test CA" covers both), or
from a certificate file and its key file. "Require a client
certificate signed by" is the ``ca_file`` of LS1: a client without one fails with -110, one
signed by another CA with -117, on its own row.

The group is applied at Listen; while the server listens, a change applies to the connections
accepted from then on (those accepted before keep their TLS or plaintext).
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QRadioButton,
    QWidget,
)

from workbench.session.record import DEFAULT_TEST_CA_NAMES, ServerTls
from workbench.ui.panels.file_field import FileField
from workbench.ui.panels.widgets import FieldError, column, compact_form, describe

__all__ = ["DEFAULT_TLS_NAMES_TEXT", "ListenTlsGroup", "parse_names"]

#: What the names field holds until the user types others.
DEFAULT_TLS_NAMES_TEXT = ", ".join(DEFAULT_TEST_CA_NAMES)
_APPLIES = (
    "Applied at Listen; while the server listens, a change applies to the connections it "
    "accepts from then on"
)


def parse_names(text: str) -> tuple[str, ...]:
    """The names of a comma- or space-separated list, empty entries dropped."""
    return tuple(name for part in text.split(",") for name in part.split() if name)


class ListenTlsGroup(QGroupBox):
    """TLS: the "TLS" check box and when (on accept, or when a rule says Start TLS), the
    certificate's source and the client CA.

    Signals:
        edited(): the user changed a setting (ticked, chose a source, finished a field).
    """

    edited = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("TLS", parent)
        self.setObjectName("listenTlsGroup")
        form = compact_form(QFormLayout(self))
        self.enabled = QCheckBox("&TLS:")
        self.enabled.setObjectName("listenTls")
        describe(self.enabled, "TLS", f"The server speaks TLS, with this certificate. {_APPLIES}")
        form.addRow(self.enabled, self._build_when())
        self._build_source(form)
        self.clientCa = FileField(
            "listenTlsClientCa",
            "client CA file",
            "Optional: PEM CA a client certificate must be signed by; a client without one "
            f"fails (-110), one signed by another CA too (-117). {_APPLIES}",
        )
        form.addRow("Require a client certificate signed by:", self.clientCa)
        self.error = FieldError(self, "TLS settings")
        self.error.setObjectName("listenTlsError")
        form.addRow("", self.error)
        for button in (self.enabled, self.testCa, self.files, self.onStartTls):
            button.toggled.connect(self._toggled)
        for edit in (self.names, self.certFile.edit, self.keyFile.edit, self.clientCa.edit):
            edit.editingFinished.connect(self.edited)
        for field in (self.certFile, self.keyFile, self.clientCa):
            field.changed.connect(self.check)
        self.names.textChanged.connect(self.check)
        self._sync()

    def _build_when(self) -> QHBoxLayout:
        self.onAccept = QRadioButton("O&n accept")
        self.onAccept.setObjectName("listenTlsOnAccept")
        self.onAccept.setChecked(True)
        describe(
            self.onAccept,
            "TLS on accept",
            f"Each accepted connection runs a TLS handshake first. {_APPLIES}",
        )
        self.onStartTls = QRadioButton("When a rule says &Start TLS")
        self.onStartTls.setObjectName("listenTlsOnStartTls")
        describe(
            self.onStartTls,
            "TLS when a rule says Start TLS",
            "Connections start in plain text; a rule whose Then is Start TLS (STARTTLS) "
            f"upgrades its connection with this certificate. {_APPLIES}",
        )
        self.when = QButtonGroup(self)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        for button in (self.onAccept, self.onStartTls):
            self.when.addButton(button)
            row.addWidget(button)
        row.addStretch(1)
        return row

    def _build_source(self, form: QFormLayout) -> None:
        self.testCa = QRadioButton("Built-in test &CA, for:")
        self.testCa.setObjectName("listenTlsTestCa")
        self.testCa.setChecked(True)
        describe(self.testCa, "Built-in test CA", "The test CA issues a certificate for the names")
        self.names = QLineEdit(DEFAULT_TLS_NAMES_TEXT)
        self.names.setObjectName("listenTlsNames")
        describe(
            self.names,
            "Certificate names",
            f"Host names and IP addresses, comma-separated. {_APPLIES}",
        )
        self.namesError = FieldError(self.names, "certificate names")
        form.addRow(self.testCa, column(self.names, self.namesError))
        self.files = QRadioButton("&Files:")
        self.files.setObjectName("listenTlsFiles")
        describe(self.files, "Certificate files", "A PEM certificate (chain) and its key")
        self.sources = QButtonGroup(self)
        self.sources.addButton(self.testCa)
        self.sources.addButton(self.files)
        self.certFile = FileField(
            "listenTlsCertFile",
            "certificate file",
            f"PEM certificate (chain) the server shows. {_APPLIES}",
        )
        self.keyFile = FileField(
            "listenTlsKeyFile", "key file", f"PEM private key of the certificate. {_APPLIES}"
        )
        # Two path fields side by side look alike: each says which file it wants.
        files = QFormLayout()
        files.setContentsMargins(0, 0, 0, 0)
        files.addRow("Certificate:", self.certFile)
        files.addRow("Key:", self.keyFile)
        form.addRow(self.files, files)

    # -- reading and showing ------------------------------------------------------------------

    def tls(self) -> ServerTls | None:
        """What the form says (None: TLS off); ``ValueError`` when it says nothing usable."""
        if not self.enabled.isChecked():
            return None
        client_ca = self.clientCa.path()
        on_accept = not self.onStartTls.isChecked()
        if self.testCa.isChecked():
            names = parse_names(self.names.text())
            return ServerTls(test_ca_names=names, ca_file=client_ca, on_accept=on_accept)
        return ServerTls(
            cert_file=self.certFile.path(),
            key_file=self.keyFile.path(),
            ca_file=client_ca,
            on_accept=on_accept,
        )

    def show_tls(self, tls: ServerTls | None) -> None:
        """Fill the form with a server's setting (None: TLS off, the rest as it was)."""
        self.blockSignals(True)
        try:
            self.enabled.setChecked(tls is not None)
            if tls is not None:
                (self.onAccept if tls.on_accept else self.onStartTls).setChecked(True)
                self.clientCa.set_path(tls.ca_file or "")
                if tls.test_ca_names:
                    self.testCa.setChecked(True)
                    self.names.setText(", ".join(tls.test_ca_names))
                else:
                    self.files.setChecked(True)
                    self.certFile.set_path(tls.cert_file or "")
                    self.keyFile.set_path(tls.key_file or "")
        finally:
            self.blockSignals(False)
        self._sync()

    def check(self) -> bool:
        """Show what is wrong inline; True when TLS is off or its settings are usable."""
        self.error.set_error(None)
        on = self.enabled.isChecked()
        names_error = None
        if on and self.testCa.isChecked() and not parse_names(self.names.text()):
            names_error = "name at least one host name or IP address"
        self.namesError.set_error(names_error)
        problems = [names_error]
        if on and self.files.isChecked():
            problems += [self.certFile.check(), self.keyFile.check()]
        else:
            self.certFile.error.set_error(None)
            self.keyFile.error.set_error(None)
        if on and self.clientCa.path() is not None:
            problems.append(self.clientCa.check())
        else:
            self.clientCa.error.set_error(None)
        return not any(problems)

    def show_error(self, text: str | None) -> None:
        """A problem found when the setting was applied (the test CA's files, say)."""
        self.error.set_error(text)

    def _toggled(self, _on: bool) -> None:
        self._sync()
        self.edited.emit()

    def _sync(self) -> None:
        on = self.enabled.isChecked()
        for widget in (self.onAccept, self.onStartTls, self.testCa, self.files, self.clientCa):
            widget.setEnabled(on)
        self.names.setEnabled(on and self.testCa.isChecked())
        for field in (self.certFile, self.keyFile):
            field.setEnabled(on and self.files.isChecked())
        self.check()
