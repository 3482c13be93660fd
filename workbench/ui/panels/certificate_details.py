"""One certificate's facts (``CertificateInfo``) in words: subject, issuer, SANs, validity with
the days left (marked when fewer than 30, or expired), key, signature algorithm, the SHA-256
and SHA-1 fingerprints (each with a Copy button), OCSP and CA-issuer URIs, must-staple and
whether it is a CA."""

from __future__ import annotations

import datetime

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QToolButton,
    QWidget,
)

from workbench.core.types import CertificateInfo
from workbench.ui.panels.widgets import ERROR_COLOR, WARNING_COLOR, compact_form, describe

__all__ = ["SOON_DAYS", "CertificateDetails", "days_left", "validity_words"]

#: Fewer days left than this and the validity is marked.
SOON_DAYS = 30

#: (key, row label) of each fact, in the order shown.
_ROWS = (
    ("subject", "Subject:"),
    ("issuer", "Issuer:"),
    ("san", "Names (SAN):"),
    ("validity", "Valid:"),
    ("days", "Expiry:"),  # its value says "29 days left"
    ("key", "Key:"),
    ("signature", "Signature:"),
    ("sha256", "SHA-256:"),
    ("sha1", "SHA-1:"),
    ("ocsp", "OCSP:"),
    ("caIssuers", "CA issuers:"),
    ("mustStaple", "Must-staple:"),
    ("isCa", "CA:"),
    ("staple", "OCSP staple:"),
)


def _moment(iso: str) -> datetime.datetime:
    return datetime.datetime.strptime(iso, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.UTC)


def days_left(not_after: str, now: datetime.datetime | None = None) -> int:
    """Whole days from ``now`` until ``not_after`` (ISO 8601 UTC); negative once expired."""
    moment = now or datetime.datetime.now(datetime.UTC)
    return (_moment(not_after) - moment) // datetime.timedelta(days=1)


def validity_words(cert: CertificateInfo, now: datetime.datetime | None = None) -> tuple[str, str]:
    """("29 days left", mark): mark ``"expired"``, ``"soon"`` (fewer than ``SOON_DAYS``), or
    ``""``; a certificate not valid yet says so, marked ``"expired"`` (it is refused too)."""
    moment = now or datetime.datetime.now(datetime.UTC)
    if cert.not_before and moment < _moment(cert.not_before):
        return "not valid yet", "expired"
    days = days_left(cert.not_after, moment)
    if moment >= _moment(cert.not_after):
        ago = -days - 1
        return (f"expired {ago} day{'s' if ago != 1 else ''} ago" if ago else "expired today"), (
            "expired"
        )
    words = f"{days} day{'s' if days != 1 else ''} left"
    return words, "soon" if days < SOON_DAYS else ""


def _key_words(cert: CertificateInfo) -> str:
    curve = f", {cert.curve}" if cert.curve else ""
    return f"{cert.key_type} {cert.key_bits} bits{curve}"


def _fingerprint_lines(hex_pairs: str) -> str:
    """``AB:CD:…`` on lines of at most 16 pairs, as even as can be (a SHA-256 fingerprint is
    too wide for one line of the TLS tab)."""
    pairs = hex_pairs.split(":")
    lines = -(-len(pairs) // 16)
    step = -(-len(pairs) // max(lines, 1))
    return "\n".join(":".join(pairs[i : i + step]) for i in range(0, len(pairs), step))


def _fact_texts(cert: CertificateInfo) -> dict[str, str]:
    yes_no = {True: "yes", False: "no"}
    return {
        "subject": cert.subject,
        "issuer": cert.issuer,
        "san": "\n".join(cert.san) or "none",
        "validity": f"{cert.not_before} → {cert.not_after}",
        "days": validity_words(cert)[0],
        "key": _key_words(cert),
        "signature": cert.signature_algorithm,
        "sha256": _fingerprint_lines(cert.sha256),
        "sha1": _fingerprint_lines(cert.sha1),
        "ocsp": "\n".join(cert.ocsp_uris) or "none",
        "caIssuers": "\n".join(cert.ca_issuers_uris) or "none",
        "mustStaple": yes_no[cert.must_staple],
        "isCa": yes_no[cert.is_ca],
        "staple": "not available on this Python",
    }


class CertificateDetails(QWidget):
    """The selected certificate's facts: ``fields[key]`` labels (objectName ``cert<Key>``),
    ``copySha256Button`` and ``copySha1Button``."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("certificateDetails")
        form = compact_form(QFormLayout(self))
        self.fields: dict[str, QLabel] = {}
        self.copySha256Button = self._copy_button("sha256", "SHA-256")
        self.copySha1Button = self._copy_button("sha1", "SHA-1")
        buttons = {"sha256": self.copySha256Button, "sha1": self.copySha1Button}
        for key, text in _ROWS:
            value = QLabel("—")
            value.setObjectName(f"cert{key[0].upper()}{key[1:]}")
            value.setTextFormat(Qt.TextFormat.PlainText)
            value.setWordWrap(True)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            value.setAccessibleName(f"Certificate {text.rstrip(':').lower()}")
            self.fields[key] = value
            if key in buttons:
                value.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
                row = QHBoxLayout()
                row.setSpacing(4)
                row.addWidget(value, 1)
                row.addWidget(buttons[key], 0, Qt.AlignmentFlag.AlignTop)
                form.addRow(text, row)
            else:
                form.addRow(text, value)
        self.fields["staple"].setToolTip(
            "Python's ssl module cannot ask the server for an OCSP staple (CPython issue 88946)"
        )
        self.fields["staple"].setEnabled(False)
        self.fields["staple"].setText("not available on this Python")
        self._cert: CertificateInfo | None = None

    def _copy_button(self, key: str, name: str) -> QToolButton:
        button = QToolButton()
        button.setText("Copy")
        button.setObjectName(f"copy{name.replace('-', '').capitalize()}Button")
        describe(button, f"Copy the {name} fingerprint", f"Copy the {name} fingerprint")
        button.clicked.connect(lambda: self._copy(key))
        return button

    def _copy(self, key: str) -> None:
        if self._cert is not None:  # as openssl prints it: one line
            QGuiApplication.clipboard().setText(getattr(self._cert, key))

    def certificate(self) -> CertificateInfo | None:
        return self._cert

    def show_certificate(self, cert: CertificateInfo | None) -> None:
        """Show ``cert``'s facts (``None``: dashes)."""
        self._cert = cert
        self.copySha256Button.setEnabled(cert is not None)
        self.copySha1Button.setEnabled(cert is not None)
        days = self.fields["days"]
        if cert is None:
            for key, label in self.fields.items():
                if key != "staple":
                    label.setText("—")
            days.setProperty("mark", "")
            days.setStyleSheet("")
            return
        for key, text in _fact_texts(cert).items():
            self.fields[key].setText(text)
        mark = validity_words(cert)[1]
        days.setProperty("mark", mark)
        color = {"expired": ERROR_COLOR, "soon": WARNING_COLOR}.get(mark)
        days.setStyleSheet(f"color: {color}; font-weight: bold;" if color else "")
        self.fields["validity"].setToolTip(
            f"not_before={cert.not_before!r}, not_after={cert.not_after!r}"
        )
        self.fields["key"].setToolTip(
            f"key_type={cert.key_type!r}, key_bits={cert.key_bits!r}, curve={cert.curve!r}"
        )
