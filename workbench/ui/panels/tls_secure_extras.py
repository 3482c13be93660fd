"""The Secure panel's fields for tls-inspection-contract.md: the ALPN protocols to offer,
"Resume session" and a STARTTLS preset, and what Python 3.11 cannot do, said in the window.

``SecureExtras`` adds its rows to the TLS tab's form and keeps its own fields per socket; the
panel asks it for ``error()`` (an ALPN list the core would refuse), ``apply(options)`` (the
options with ``alpn`` and ``resume``) and ``call(sockets, options)`` (``secure()``, or
``starttls()`` when a preset is chosen: "When a preset is chosen, Secure runs that preset's
exchange first").
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple, Protocol

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QCompleter,
    QFormLayout,
    QLabel,
    QLineEdit,
    QWidget,
)

from workbench.core.types import check_alpn
from workbench.session.record import SocketIntent
from workbench.sockets import STARTTLS_PROTOCOLS, SecureOptions
from workbench.ui.bridge import SocketSession
from workbench.ui.panels.base import Call
from workbench.ui.panels.widgets import FieldError, column, describe, form_row

__all__ = [
    "ALPN_SUGGESTIONS",
    "NOT_ON_THIS_PYTHON",
    "ExtrasForm",
    "SecureCalls",
    "SecureExtras",
    "alpn_error",
    "parse_alpn",
]

#: What the ALPN field's completer offers (IANA's TLS ALPN Protocol IDs registry).
ALPN_SUGGESTIONS = ("h2", "http/1.1", "h3", "acme-tls/1", "imap", "smtp", "postgresql")

#: What Python 3.11's ssl module cannot ask for (issue 15): said in the window, not added
#: through a dependency.
NOT_ON_THIS_PYTHON = (
    ("TLS 1.3 cipher suites", "Choosing TLS 1.3 cipher suites needs Python 3.15"),
    ("a list of groups", "Offering a list of key-exchange groups needs Python 3.15"),
    ("an OCSP staple", "Requesting an OCSP staple has no API in Python (CPython issue 88946)"),
)

#: The STARTTLS combo's first entry: plain ``secure()``.
NO_PRESET = "none"


class SecureCalls(Protocol):
    """What ``call`` needs of ``session.sockets`` (``LoggedTcp``)."""

    async def secure(self, socket_id: int, options: SecureOptions | None = None) -> int: ...

    async def starttls(
        self, socket_id: int, protocol: str, options: SecureOptions | None = None
    ) -> int: ...

    def error_detail(self, socket_id: int, call: str) -> str | None: ...


def parse_alpn(text: str) -> tuple[str, ...] | None:
    """``"h2, http/1.1"`` → ``("h2", "http/1.1")``; blank → ``None`` (offer none)."""
    if not text.strip():
        return None
    return tuple(item.strip() for item in text.split(","))


def alpn_error(text: str) -> str | None:
    """Why ``text`` is not an ALPN list ``SecureOptions`` accepts (RFC 7301 3.1), or None."""
    protocols = parse_alpn(text)
    if protocols is None:
        return None
    if "" in protocols:
        return "An empty protocol name between commas: remove the extra comma."
    if len(set(protocols)) != len(protocols):
        return "A protocol is offered twice."
    try:
        check_alpn(protocols)
    except ValueError as exc:
        return f"{str(exc)[0].upper()}{str(exc)[1:]}."
    return None


class _ListCompleter(QCompleter):
    """Completes the name after the last comma, keeping the names before it."""

    def __init__(self, words: tuple[str, ...], edit: QLineEdit) -> None:
        super().__init__(list(words), edit)
        self._edit = edit

    def splitPath(self, path: str) -> list[str]:
        return [path.rsplit(",", 1)[-1].lstrip()]

    def pathFromIndex(self, index: QModelIndex | QPersistentModelIndex) -> str:
        head, comma, _last = self._edit.text().rpartition(",")
        word = super().pathFromIndex(index)
        return f"{head}{comma} {word}" if comma else word


class ExtrasForm(NamedTuple):
    """The fields as typed, kept per socket."""

    alpn: str = ""
    resume: bool = False
    starttls: str | None = None


class SecureExtras(QObject):
    """The ALPN, "Resume session" and STARTTLS rows of the TLS tab's form.

    Signals:
        changed(): a field changed (the panel validates again).
    """

    changed = Signal()

    def __init__(self, form: QFormLayout, session: SocketSession, parent: QWidget) -> None:
        super().__init__(parent)
        self._session = session
        session.socketRemoved.connect(self.forget)
        self._drafts: dict[int, tuple[ExtrasForm, SecureOptions | None]] = {}
        #: per socket: the preset the last Secure ran (its failure detail is ``starttls``'s)
        self._ran: dict[int, str | None] = {}
        self._build_alpn(form)
        self.resumeSessionCheck = QCheckBox("Resume &session")
        self.resumeSessionCheck.setObjectName("resumeSessionCheck")
        describe(
            self.resumeSessionCheck,
            "Resume session",
            "Offer the session kept from the last handshake with this server (same address, "
            "port, server name and TLS settings); the TLS tab then says whether it resumed",
        )
        form.addRow("", self.resumeSessionCheck)
        # Said in the window, not only in a tooltip: a session is offered only when every
        # TLS setting matches the handshake that made it (docs/tls-inspection.md,
        # "Resumption"), and a key log file that differs is the easy one to miss.
        self.resumeNote = QLabel(
            "Offered only if this address, port and server name were secured before with the "
            "same TLS settings (trusted CA, ALPN, key log file…); otherwise a full handshake "
            "runs and the TLS tab says resumed: no."
        )
        self.resumeNote.setObjectName("resumeSessionNote")
        self.resumeNote.setWordWrap(True)
        self.resumeNote.setEnabled(False)  # greyed: a note, not a control
        self.resumeNote.setVisible(False)
        form.addRow("", self.resumeNote)
        self.resumeSessionCheck.toggled.connect(self._show_resume_note)
        self.starttlsCombo = QComboBox()
        self.starttlsCombo.setObjectName("starttlsCombo")
        self.starttlsCombo.addItem(NO_PRESET, None)
        for protocol in STARTTLS_PROTOCOLS:
            self.starttlsCombo.addItem(protocol, protocol)
        describe(
            self.starttlsCombo,
            "STARTTLS preset",
            "Secure first runs this protocol's plaintext exchange (as openssl s_client "
            "-starttls does), then the TLS handshake; none: the handshake at once",
        )
        form_row(form, "S&TARTTLS:", self.starttlsCombo, self.starttlsCombo)
        self.unavailable = QLabel(
            "Not available on this Python: " + ", ".join(name for name, _ in NOT_ON_THIS_PYTHON)
        )
        self.unavailable.setObjectName("tlsUnavailable")
        self.unavailable.setWordWrap(True)
        self.unavailable.setEnabled(False)  # greyed: a note, not a control
        describe(
            self.unavailable,
            "Not available on this Python",
            "\n".join(why for _, why in NOT_ON_THIS_PYTHON),
        )
        form.addRow("", self.unavailable)
        self.alpnEdit.textChanged.connect(self._changed)
        self.resumeSessionCheck.toggled.connect(self._changed)
        self.starttlsCombo.currentIndexChanged.connect(self._changed)

    def _build_alpn(self, form: QFormLayout) -> None:
        self.alpnEdit = QLineEdit()
        self.alpnEdit.setObjectName("alpnEdit")
        self.alpnEdit.setMaxLength(2048)
        self.alpnEdit.setPlaceholderText("none (e.g. h2, http/1.1)")
        self.alpnEdit.setClearButtonEnabled(True)
        describe(
            self.alpnEdit,
            "ALPN protocols",
            "Application protocols to offer (ALPN), in order of preference, separated by "
            "commas; the TLS tab shows which one the server selected",
        )
        self.alpnCompleter = _ListCompleter(ALPN_SUGGESTIONS, self.alpnEdit)
        self.alpnEdit.setCompleter(self.alpnCompleter)
        self.alpnError = FieldError(self.alpnEdit, "ALPN protocols")
        form_row(form, "A&LPN:", column(self.alpnEdit, self.alpnError), self.alpnEdit)

    def _show_resume_note(self, checked: bool) -> None:
        self.resumeNote.setVisible(checked)

    def _changed(self, *_args: object) -> None:
        self.changed.emit()

    # -- the form ------------------------------------------------------------------------

    def error(self) -> str | None:
        """Why the fields cannot be used (shown beside the ALPN field), or None."""
        error = alpn_error(self.alpnEdit.text())
        self.alpnError.set_error(error)
        return error

    def starttls(self) -> str | None:
        """The chosen STARTTLS preset, or None."""
        protocol: str | None = self.starttlsCombo.currentData()
        return protocol

    def apply(self, options: SecureOptions) -> SecureOptions:
        """``options`` with the ALPN list and "Resume session" (only when ``error()`` is
        None)."""
        return dataclasses.replace(
            options,
            alpn=parse_alpn(self.alpnEdit.text()),
            resume=self.resumeSessionCheck.isChecked(),
        )

    def call(self, sockets: SecureCalls, options: SecureOptions) -> Call:
        """What Secure runs: ``secure()``, or the chosen preset's ``starttls()``."""
        protocol = self.starttls()

        async def run(sid: int) -> int:
            self._ran[sid] = protocol
            if protocol is None:
                return await sockets.secure(sid, options)
            return await sockets.starttls(sid, protocol, options)

        return run

    def failure_detail(self, sockets: SecureCalls, sid: int) -> str | None:
        """Why the last Secure on ``sid`` failed, when it ran a preset (its exchange's words
        are ``starttls``'s detail); None when it ran ``secure()``."""
        if self._ran.get(sid) is None:
            return None
        return sockets.error_detail(sid, "starttls")

    # -- per socket ----------------------------------------------------------------------

    def form(self) -> ExtrasForm:
        return ExtrasForm(
            self.alpnEdit.text(), self.resumeSessionCheck.isChecked(), self.starttls()
        )

    def fill(self, form: ExtrasForm) -> None:
        self.alpnEdit.setText(form.alpn)
        self.resumeSessionCheck.setChecked(form.resume)
        self.starttlsCombo.setCurrentIndex(max(self.starttlsCombo.findData(form.starttls), 0))

    def _intent(self, sid: int | None) -> SocketIntent | None:
        record = self._session.ui(sid) if sid is not None and sid in self._session else None
        return record.intent if record is not None else None

    def _saved(self, sid: int | None) -> SecureOptions | None:
        intent = self._intent(sid)
        return intent.secure if intent is not None else None

    def switched(self, previous: int | None, sid: int | None) -> None:
        """Another socket is shown: keep what was typed for ``previous`` (as long as its saved
        options stay what they are), show ``sid``'s draft, else its saved options and the
        preset its last Secure ran (a restored socket), else the defaults, as the panel does
        with its own fields."""
        if previous is not None and previous in self._session:
            self._drafts[previous] = (self.form(), self._saved(previous))
        intent = self._intent(sid)
        saved = intent.secure if intent is not None else None
        draft = self._drafts.get(sid) if sid is not None else None
        if draft is not None and draft[1] is saved:
            self.fill(draft[0])
        elif intent is not None and saved is not None:
            self.fill(ExtrasForm(", ".join(saved.alpn or ()), saved.resume, intent.starttls))
        else:
            self.fill(ExtrasForm())

    def forget(self, sid: int) -> None:
        self._drafts.pop(sid, None)
        self._ran.pop(sid, None)
