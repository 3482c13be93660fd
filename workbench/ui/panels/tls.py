"""The TLS tab: versions, verification, CA file, server name, client certificate →
``secure()``; after the handshake, what it settled and whether the peer was verified."""

from __future__ import annotations

from typing import NamedTuple

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from workbench.core.types import TlsInfo
from workbench.session.controls import Control
from workbench.session.record import RowState, row_state
from workbench.sockets import SecureOptions, TLSVersionConstraints
from workbench.ui import validators
from workbench.ui.bridge import SocketSession, TaskRunner
from workbench.ui.keylog_marks import MARKS
from workbench.ui.panels.base import Panel
from workbench.ui.panels.certificate_view import CertificateView
from workbench.ui.panels.file_field import FileField
from workbench.ui.panels.section import Section
from workbench.ui.panels.tls_details import TlsDetails
from workbench.ui.panels.tls_secure_extras import SecureExtras
from workbench.ui.panels.widgets import (
    OK_COLOR,
    WARNING_COLOR,
    FieldError,
    column,
    compact_form,
    describe,
    form_row,
    line,
    set_text,
)

__all__ = ["TlsForm", "TlsPanel"]

#: The certificate details shown after the handshake: key (``TlsInfo`` field) and label.
# The version, cipher and whether the peer was verified are the Negotiated box's
# (tlsDetails): said once, in its words.
_DETAILS = (
    ("subject", "Subject:"),
    ("issuer", "Issuer:"),
    ("expiry", "Expires:"),
)


#: What each check of "More options" is about, in ``TlsPanel._validate``'s order.
_MORE_FIELDS = ("client certificate", "client key", "key log", "server name", "ALPN")


def _more_summary(now_set: list[str], errors: list[str | None]) -> str:
    """The folded "More options" header's words: what needs fixing (folded by hand over an
    error, Secure is greyed: the header says why), first, as a long header is elided, then
    what is set."""
    wrong = [field for field, error in zip(_MORE_FIELDS, errors, strict=True) if error]
    fix = f"⚠ fix the {', '.join(wrong)}" if wrong else ""
    return "; ".join(part for part in (fix, ", ".join(now_set)) if part)


class TlsForm(NamedTuple):
    """The TLS tab's fields as typed (the version boxes by index), kept per socket."""

    min_index: int = 0
    max_index: int = 1
    verify: bool = True
    ca_file: str = ""
    server_name: str = ""
    client_cert: str = ""
    client_key: str = ""
    keylog_file: str = ""


#: The trusted CA's tooltip while verification is off.
_CA_UNUSED = "Used only to verify the server's certificate, and verification is off"


class TlsPanel(Panel):
    """TLS versions, verification, CA file, server name, client certificate → ``secure()``;
    after the handshake: version, cipher, subject, issuer, expiry and verified or not."""

    VERSIONS = (("TLS 1.2", "tls1.2"), ("TLS 1.3", "tls1.3"))

    def __init__(
        self, session: SocketSession, runner: TaskRunner, parent: QWidget | None = None
    ) -> None:
        super().__init__(session, runner, parent)
        self.setObjectName("tlsPanel")
        #: per socket: the form as left, and the socket's ``intent.secure`` back then
        self._drafts: dict[int, tuple[TlsForm, SecureOptions | None]] = {}
        self._valid = False
        self._more_was: set[str] = set()  # what "More options" held at the last check
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(2)
        form = compact_form(QFormLayout())
        outer.addLayout(form)
        self._build_versions(form)
        self._build_verify(form)
        self.caFile = FileField(
            "tlsCaFile",
            "CA file",
            "PEM file of extra trusted certificate authorities (e.g. a test CA)",
        )
        form_row(form, "Trusted &CA:", self.caFile, self.caFile.edit)
        # What most handshakes leave alone folds away: at 1280x800 the tab's results are then
        # a short scroll below the form, not pages (the header names what is set inside).
        self.moreOptions = Section(
            "More options",
            "tlsMoreOptions",
            "Server name, client certificate, key log, ALPN, session resumption and STARTTLS",
        )
        more = compact_form(QFormLayout(self.moreOptions.body))
        more.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.moreOptions)
        self._build_files(more)
        self.secureExtras = SecureExtras(more, session, self)  # ALPN, resume, STARTTLS
        outer.addLayout(self._build_secure())
        outer.addWidget(self._build_details())
        self.tlsDetails, self.certificateView = TlsDetails(), CertificateView()
        outer.addWidget(self.tlsDetails)
        outer.addWidget(self.certificateView)
        outer.addStretch(1)

        for box in (self.minVersion, self.maxVersion):
            box.currentIndexChanged.connect(self._validate)
        for field in (self.caFile, self.clientCert, self.clientKey, self.keylogFile):
            field.changed.connect(self._validate)
        self.serverName.textChanged.connect(self._validate)
        self.secureExtras.changed.connect(self._validate)
        self.verify.toggled.connect(self._verify_toggled)
        self.secureButton.clicked.connect(self._secure_clicked)
        self.cancelSecureButton.clicked.connect(self._cancel_secure_clicked)
        self._validate()
        self.refresh()

    def _build_secure(self) -> QFormLayout:
        """Secure and its result, Cancel while handshaking, and the key log note."""
        secure = compact_form(QFormLayout())
        self.secureButton = QPushButton("&Secure (start TLS)")
        self.secureButton.setObjectName("secureButton")
        describe(self.secureButton, "Secure", "Start a TLS handshake on this connected socket")
        self.secureResult = self._result_label("secure", "secure", "secureResult")
        secure.addRow(self.secureButton, self.secureResult)
        # Shown while the handshake runs: it disconnects, and secure() answers -3 (U5).
        self.cancelSecureButton = QPushButton("C&ancel handshake")
        self.cancelSecureButton.setObjectName("cancelSecureButton")
        describe(
            self.cancelSecureButton,
            "Cancel the TLS handshake",
            "Give up on the handshake: the socket is disconnected",
        )
        self.cancelSecureButton.hide()
        secure.addRow(self.cancelSecureButton)
        secure.addRow("", self.keylogNote)
        return secure

    def _build_versions(self, form: QFormLayout) -> None:
        self.minVersion = QComboBox()
        self.minVersion.setObjectName("tlsMinVersion")
        self.maxVersion = QComboBox()
        self.maxVersion.setObjectName("tlsMaxVersion")
        for text, value in self.VERSIONS:
            self.minVersion.addItem(text, value)
            self.maxVersion.addItem(text, value)
        self.minVersion.setCurrentIndex(TlsForm().min_index)
        self.maxVersion.setCurrentIndex(TlsForm().max_index)
        describe(self.minVersion, "Minimum TLS version", "The oldest TLS version to accept")
        describe(self.maxVersion, "Maximum TLS version", "The newest TLS version to offer")
        self.versionError = FieldError(self.maxVersion, "TLS versions")
        versions = QVBoxLayout()
        versions.setSpacing(1)
        versions.addLayout(line(self.minVersion, QLabel("to"), self.maxVersion))
        versions.addWidget(self.versionError)
        form_row(form, "&Versions:", versions, self.minVersion)

    def _build_verify(self, form: QFormLayout) -> None:
        self.verify = QCheckBox("&Verify the server certificate")
        self.verify.setObjectName("tlsVerify")
        self.verify.setChecked(True)
        describe(
            self.verify,
            "Verify certificate",
            "Check the server's certificate chain and host name (strongly recommended)",
        )
        self.verifyWarning = QLabel(
            "⚠ Verification is OFF: any certificate is accepted, so anyone on the path can "
            "pose as this server. The socket's row is flagged."
        )
        self.verifyWarning.setObjectName("tlsVerifyWarning")
        self.verifyWarning.setWordWrap(True)
        self.verifyWarning.setStyleSheet(f"color: {WARNING_COLOR}; font-weight: bold;")
        describe(
            self.verifyWarning,
            "Verification warning",
            "Certificate verification is turned off for this socket",
        )
        self.verifyWarning.hide()
        form.addRow("", column(self.verify, self.verifyWarning))

    def _build_files(self, form: QFormLayout) -> None:
        self.serverName = QLineEdit()
        self.serverName.setObjectName("tlsServerName")
        self.serverName.setMaxLength(1024)
        self.serverName.setPlaceholderText("the connect address")
        self.serverName.setClearButtonEnabled(True)
        describe(
            self.serverName,
            "Server name override",
            "Name sent as SNI and checked against the certificate (default: the address)",
        )
        self.serverNameError = FieldError(self.serverName, "server name")
        form_row(
            form, "Server &name:", column(self.serverName, self.serverNameError), self.serverName
        )

        self.clientCert = FileField(
            "tlsClientCert",
            "client certificate",
            "PEM client certificate (may also hold the key) for servers that ask for one",
        )
        form_row(form, "Client ce&rt:", self.clientCert, self.clientCert.edit)
        self.clientKey = FileField(
            "tlsClientKey",
            "client key",
            "PEM private key of the client certificate",
        )
        form_row(form, "Client &key:", self.clientKey, self.clientKey.edit)
        # K1: off (empty) by default; SecureOptions.keylog_file, one SSLContext per socket.
        self.keylogFile = FileField(
            "tlsKeylogFile",
            "TLS key log file",
            "Write this socket's TLS keys to this file (NSS key log format: Wireshark's "
            "tls.keylog_file decrypts the connection with it). Created with mode 0600; an "
            "existing file is appended to",
            save=True,
            filters="Key log files (*.log *.keys *.txt);;All files (*)",
        )
        self.keylogFile.edit.setPlaceholderText("off")
        form_row(form, "Write TLS &keys to…", self.keylogFile, self.keylogFile.edit)
        # K4: the tab says that the keys are being written, and where (under Secure, in view
        # while "More options" is folded; also for the global key log, with the field empty).
        self.keylogNote = QLabel()
        self.keylogNote.setObjectName("tlsKeylogNote")
        self.keylogNote.setWordWrap(True)
        self.keylogNote.setTextFormat(Qt.TextFormat.PlainText)
        self.keylogNote.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        describe(self.keylogNote, "TLS key log", "Where this connection's TLS keys are written")
        self.keylogNote.hide()

    def _build_details(self) -> QGroupBox:
        self.details = QGroupBox("Peer certificate")
        self.details.setObjectName("tlsDetails")
        self.details.setAccessibleName("TLS connection details")
        details = compact_form(QFormLayout(self.details))
        self.detailLabels: dict[str, QLabel] = {}
        for key, text in _DETAILS:
            value = QLabel("—")
            value.setObjectName(f"tls{key.capitalize()}Value")
            value.setTextFormat(Qt.TextFormat.PlainText)
            value.setWordWrap(True)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            describe(value, f"TLS {key}", f"The {key} settled by the handshake")
            self.detailLabels[key] = value
            details.addRow(text, value)
        return self.details

    # -- the form ------------------------------------------------------------------------

    def set_ca_file(self, path: str) -> None:
        """Trust ``path`` (the servers panel's "Trust this test CA")."""
        self.caFile.set_path(str(path))

    def _validate(self) -> bool:
        low = self.minVersion.currentIndex()
        high = self.maxVersion.currentIndex()
        version_error = "The minimum version is newer than the maximum." if low > high else None
        self.versionError.set_error(version_error)
        name_error = validators.server_name_error(self.serverName.text())
        self.serverNameError.set_error(name_error)
        more_errors = [
            self.clientCert.check(),
            self.clientKey.check(
                "A key needs its client certificate."
                if self.clientKey.path() and not self.clientCert.path()
                else None
            ),
            self.keylogFile.check(),
            name_error,
            self.secureExtras.error(),
        ]
        now_set = self._more_set()
        # Unfolded when a field inside needs fixing or gains a value (typed, restored for a
        # socket, or set by the window): nothing changes out of sight.
        if any(error is not None for error in more_errors) or set(now_set) - self._more_was:
            self.moreOptions.set_expanded(True)
        self._more_was = set(now_set)
        self.moreOptions.set_summary(_more_summary(now_set, more_errors))
        # The trusted CA serves only verification (secure() does not load it without).
        ca_error: str | None = None
        if self.verify.isChecked():
            ca_error = self.caFile.check()
        else:
            self.caFile.error.set_error(None)
        errors = [version_error, ca_error, *more_errors]
        self._valid = all(error is None for error in errors)
        self._set_form_error(next((error for error in errors if error is not None), None))
        self._update_controls()
        return self._valid

    def _more_set(self) -> list[str]:
        """What is set under "More options", in words (its header says it while folded)."""
        extras = self.secureExtras.form()
        fields = (
            (self.serverName.text().strip(), "server name"),
            (self.clientCert.edit.text(), "client certificate"),
            (self.clientKey.edit.text(), "client key"),
            (self.keylogFile.edit.text(), "key log"),
            (extras.alpn.strip(), "ALPN"),
            (extras.resume, "resume"),
            (extras.starttls, f"STARTTLS {extras.starttls}"),
        )
        return [word for value, word in fields if value]

    def _update_controls(self) -> None:
        # T1: secure() only on a connected, plain socket (enabled_controls says when).
        self.secureButton.setEnabled(self._valid and Control.SECURE in self._allowed())
        record = self._record()
        self.cancelSecureButton.setVisible(
            record is not None and row_state(record) is RowState.SECURING
        )

    def _cancel_secure_clicked(self) -> None:
        sid = self._sid
        if sid is not None:
            self._runner.start(
                self._session.sockets.disconnect(sid), name=f"cancel the handshake (socket {sid})"
            )

    def options(self) -> SecureOptions:
        """The form as ``SecureOptions`` (only call when the form is valid)."""
        return self.secureExtras.apply(
            SecureOptions(  # with ALPN and "Resume session"
                tls_version=TLSVersionConstraints(
                    min=self.minVersion.currentData(), max=self.maxVersion.currentData()
                ),
                ca_file=self.caFile.path(),
                verify=self.verify.isChecked(),
                server_name=self.serverName.text().strip() or None,
                client_cert=self.clientCert.path(),
                client_key=self.clientKey.path(),
                keylog_file=self.keylogFile.path(),
            )
        )

    def _verify_toggled(self, on: bool) -> None:
        # Only the form says so: the row shows "unverified" once TLS is up without checks.
        self.verifyWarning.setVisible(not on)
        # Greyed, its path kept: it counts again as soon as verification is back on.
        self.caFile.setEnabled(on)
        self.caFile.setToolTip("" if on else _CA_UNUSED)
        self._validate()

    def _secure_clicked(self) -> None:
        if self._sid is None or not self._validate() or Control.SECURE not in self._allowed():
            return
        options = self.options()
        self._start(
            "secure",
            "secure",
            self.secureExtras.call(self._session.sockets, options),
            pending="Handshaking…",
        )

    # -- per socket ----------------------------------------------------------------------

    def form(self) -> TlsForm:
        """The fields as they are now."""
        return TlsForm(
            self.minVersion.currentIndex(),
            self.maxVersion.currentIndex(),
            self.verify.isChecked(),
            self.caFile.edit.text(),
            self.serverName.text(),
            self.clientCert.edit.text(),
            self.clientKey.edit.text(),
            self.keylogFile.edit.text(),
        )

    def _fill(self, form: TlsForm) -> None:
        self.minVersion.setCurrentIndex(form.min_index)
        self.maxVersion.setCurrentIndex(form.max_index)
        self.verify.blockSignals(True)
        self.verify.setChecked(form.verify)
        self.verify.blockSignals(False)
        self.caFile.set_path(form.ca_file)
        self.serverName.setText(form.server_name)
        self.clientCert.set_path(form.client_cert)
        self.clientKey.set_path(form.client_key)
        self.keylogFile.set_path(form.keylog_file)

    def _form_of(self, options: SecureOptions) -> TlsForm:
        """``options`` (a socket's saved TLS settings) as the form shows them."""
        versions = options.tls_version or TLSVersionConstraints()
        low = self.minVersion.findData(versions.min)
        high = self.maxVersion.findData(versions.max)
        return TlsForm(
            max(low, 0),
            high if high >= 0 else TlsForm().max_index,
            options.verify,
            options.ca_file or "",
            options.server_name or "",
            options.client_cert or "",
            options.client_key or "",
            options.keylog_file or "",
        )

    def _failure_detail(self, sid: int, key: str) -> str | None:
        extra = self.secureExtras.failure_detail(self._session.sockets, sid)
        return extra if key == "secure" and extra else super()._failure_detail(sid, key)

    def _switched(self, previous: int | None, sid: int | None) -> None:
        self.secureExtras.switched(previous, sid)
        # Each socket has its own form: what was typed for it (its draft), else its saved
        # options (a restored socket, "New socket to this server"), else the defaults.
        if previous is not None and previous in self._session:
            old = self._session.ui(previous)
            self._drafts[previous] = (self.form(), old.intent.secure if old is not None else None)
        record = self._session.ui(sid) if sid is not None else None
        draft = self._drafts.get(sid) if sid is not None else None
        if draft is not None and record is not None and record.intent.secure is not draft[1]:
            draft = None  # the options were set since (a secure, "Trust this test CA")
        if draft is not None:
            self._fill(draft[0])
        elif record is not None and record.intent.secure is not None:
            self._fill(self._form_of(record.intent.secure))
        else:
            self._fill(TlsForm())
        self.verifyWarning.setVisible(not self.verify.isChecked())
        self._validate()

    def _forget(self, sid: int) -> None:
        self._drafts.pop(sid, None)

    def refresh(self) -> None:
        info = self._info()
        self._show_tls(info.tls if info is not None else None)
        # As on the row: the keys are being written while the secured connection is up.
        tls = info.tls if info is not None and info.connected else None
        mark = MARKS.mark(self._sid, tls) if self._sid is not None else None
        self.keylogNote.setVisible(mark is not None)
        if mark is not None:
            set_text(self.keylogNote, mark.tip)
            color = WARNING_COLOR if mark.readable_by_others else OK_COLOR
            self.keylogNote.setStyleSheet(f"color: {color};")

    def _show_tls(self, tls: TlsInfo | None) -> None:
        self.tlsDetails.show_tls(tls)
        self.certificateView.show_tls(tls)
        labels = self.detailLabels
        if tls is None:
            for key in ("subject", "issuer", "expiry"):
                set_text(labels[key], "—")
            return
        # The leaf as the certificate view writes it (RFC 4514); a resumed session has no
        # chain, and the names kept with it are shown as the core has them.
        leaf = tls.chain_sent[0] if tls.chain_sent else None
        set_text(labels["subject"], leaf.subject if leaf else tls.peer_subject or "—")
        set_text(labels["issuer"], leaf.issuer if leaf else tls.peer_issuer or "—")
        set_text(labels["expiry"], tls.peer_not_after or "—")
