"""Edit → "Write TLS keys of every connection to…": the global TLS key log.

The option is ``TcpSockets.keylog_file``: every ``secure()`` and ``secure_server()`` whose
options name no file of their own writes its keys there; the server side of listening
sockets goes through the same ``TcpSockets``, and the built-in TLS servers (Tools → Local
servers) read it at each handshake (``ServerManager.keylog_from``, set by
``MainWindow.attach_servers``). It is kept in the settings file (``Settings.keylog_file``).

K3: "``SSLKEYLOGFILE`` in the environment, at start, turns the global option on for every
TLS context the program makes [...] The settings show that it came from the environment."
The action then says so; the environment's path is never written to the settings file (the
file keeps what the user chose, for runs without the variable).
"""

from __future__ import annotations

import enum
import os
from collections.abc import Callable, Mapping
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QWidget

from workbench.core.keylog import ENV_KEYLOG, prepare_keylog
from workbench.session.settings import Settings
from workbench.sockets import TcpSockets
from workbench.ui.keylog_marks import MARKS

__all__ = ["GlobalKeylog", "KeylogSource"]

TEXT = "Write TLS &keys of every connection to…"


class KeylogSource(enum.Enum):
    OFF = "off"
    SETTINGS = "settings"
    ENVIRONMENT = "environment"


#: What a socket's key-log mark adds when the global option chose its file.
_ORIGINS = {
    KeylogSource.SETTINGS: "It is the global key log (Edit → Write TLS keys of every "
    "connection to…).",
    KeylogSource.ENVIRONMENT: f"It is the global key log, from ${ENV_KEYLOG} in the "
    "environment (Edit menu).",
}


class GlobalKeylog(QObject):
    """The global key log of one window: its action, its ``TcpSockets``, its settings."""

    def __init__(
        self,
        parent: QWidget,
        action: QAction,
        tcp: TcpSockets,
        settings: Settings,
        show_message: Callable[[str, int], object],
        report_error: Callable[[str], object],
    ) -> None:
        super().__init__(parent)
        self._parent = parent
        self.action = action
        self._tcp = tcp
        self._settings = settings
        self._show_message = show_message
        self._report_error = report_error
        self.source = KeylogSource.OFF
        self.dialog: QFileDialog | None = None
        action.setCheckable(True)
        action.triggered.connect(self._triggered)
        self.apply(settings.keylog_file, KeylogSource.SETTINGS, save=False)

    @property
    def path(self) -> str | None:
        """Where every connection's keys go now (None: off)."""
        return self._tcp.keylog_file

    def apply_environment(self, environ: Mapping[str, str] | None = None) -> bool:
        """At start: ``SSLKEYLOGFILE``, when set, turns the option on for this run (it wins
        over the settings, as in browsers and curl). True when it did."""
        path = (os.environ if environ is None else environ).get(ENV_KEYLOG, "")
        if not path:
            return False
        return self.apply(path, KeylogSource.ENVIRONMENT, save=False)

    def apply(self, path: str | None, source: KeylogSource, *, save: bool = True) -> bool:
        """Write every connection's keys to ``path`` (None: stop). ``save``: the user chose
        it, so the settings file keeps it. False (and a message) when the file cannot be
        written; the option is then as it was."""
        if path:
            try:
                readable = prepare_keylog(path)  # K2: a new file is made 0600 here
            except OSError as exc:
                self._report_error(
                    f"Cannot write TLS keys to {path}: {exc.strerror or exc}; "
                    "the global key log is unchanged."
                )
                self._show()
                return False
            if readable:
                self._report_error(
                    f"The TLS key log {path} is readable by group or others: anyone who can "
                    "read it can decrypt the connections (chmod 600 it)."
                )
        self._tcp.keylog_file = path or None
        self.source = source if path else KeylogSource.OFF
        MARKS.set_global(path, _ORIGINS.get(self.source, ""))
        if save:
            self._settings.keylog_file = path or None
        self._show()
        return True

    def _show(self) -> None:
        path = self._tcp.keylog_file
        action = self.action
        action.setChecked(path is not None)
        if path is None:
            action.setText(TEXT)
            tip = (
                "Off. Choose a file to write the TLS keys of every connection to (client "
                "sockets, STARTTLS, listening sockets' accepted sockets and the built-in "
                f"tls-echo server); ${ENV_KEYLOG} does it too"
            )
        elif self.source is KeylogSource.ENVIRONMENT:
            action.setText(f"{TEXT.rstrip('…')} {path} (from ${ENV_KEYLOG})")
            tip = (
                f"On, from ${ENV_KEYLOG} in the environment: every TLS connection's keys go "
                f"to {path}. Not saved in the settings. Choose again to turn it off"
            )
        else:
            action.setText(f"{TEXT.rstrip('…')} {path}")
            tip = f"On: every TLS connection's keys go to {path}. Choose again to turn it off"
        action.setToolTip(tip)
        action.setStatusTip(tip)

    def _triggered(self, *_args: Any) -> None:
        if self._tcp.keylog_file is not None:
            was = self._tcp.keylog_file
            # Off for this run; an option from the environment leaves the file's as it was.
            self.apply(None, KeylogSource.OFF, save=self.source is not KeylogSource.ENVIRONMENT)
            self._show_message(f"TLS keys are no longer written to {was}", 5000)
            return
        self._show()  # the check box follows the option, not the click
        self.ask()

    def ask(self) -> QFileDialog:
        """A non-modal file dialog (``open()``, never ``exec()``); the file chosen turns the
        option on and is saved in the settings."""
        if self.dialog is not None and shiboken6.isValid(self.dialog):
            self.dialog.raise_()
            return self.dialog
        dialog = QFileDialog(
            self._parent,
            "Write TLS keys of every connection to",
            "",
            "Key log files (*.log *.keys *.txt);;All files (*)",
        )
        dialog.setObjectName("globalKeylogDialog")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setFileMode(QFileDialog.FileMode.AnyFile)
        dialog.setOption(QFileDialog.Option.DontConfirmOverwrite)  # the file is appended to
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.fileSelected.connect(self.choose)
        dialog.adjustSize()
        self.dialog = dialog
        dialog.open()
        return dialog

    def choose(self, path: str) -> bool:
        """The user chose ``path``: every connection's keys go there from now on."""
        if self.apply(path, KeylogSource.SETTINGS):
            self._show_message(f"The TLS keys of every connection go to {path}", 5000)
            return True
        return False
