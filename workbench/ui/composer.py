"""The send composer: type or paste data as text, hex or escapes, and send it (or a file).

- ``sendMode`` — *Text* (UTF-8), *Hex* (``68 65 6c``, ``68656c``, ``0x68,0x65``), *Escaped*
  (UTF-8 with ``\\r \\n \\t \\0 \\\\ \\xNN``); the bytes are made by
  ``workbench.core.compose.encode_input`` (parsing in ``workbench.core.codecs``).
- ``sendLineEnding`` (labelled "Line ending") — None / LF / CR / CRLF, appended once after the
  data in Text and Escaped mode. (A line break typed inside the input is sent as LF; use
  Escaped mode for anything else.) Hex mode sends exactly the bytes typed: the box is disabled
  there and says so.
- Send: the button or Ctrl+Enter emits ``sendRequested(bytes)``; the window sends them.
- History: Up on the first line / Down on the last line walk through what was sent to the
  current socket (``set_socket``), each entry in the mode it was sent in
  (``workbench.core.compose.SendHistory``, one per socket).
- Send file…: a non-modal file dialog, then ``workbench.session.file_send.send_file`` sends the
  file in ``FILE_CHUNK`` pieces through the ``send_chunk`` callback (an ``async`` function
  returning a ``SendInfo``) with a progress bar and Cancel (``composer_file``); the file is
  never read into memory whole. Its progress shows only on the socket it goes to, and clears
  itself a few seconds after the send.

Validation as the user types: an invalid hex digit or escape is underlined (a red wavy
underline at ``InputError.position``/``length``), a message beside the field says where and
why, and Send is disabled, so nothing invalid is ever emitted. Small inputs are checked at each
keystroke; longer ones after ``DEBOUNCE_MS`` of quiet. A paste larger than ``LARGE_PASTE``
characters is not put into the editor (a multi-megabyte line takes Qt's text layout seconds
per keystroke); it is held aside as a read-only *payload*, shown as a summary, and checked once
in a worker thread (``composer_check``), so a 10 MB paste never freezes the window.

Signals:
    sendRequested(bytes): the user sent these bytes (already validated).
    validityChanged(bool): whether the input can be sent as it is now.
    fileSendStarted(str): a file send began (its path).
    fileSendProgress(int, int): bytes sent so far, file size.
    fileSendFinished(str, int, str): path, bytes sent, "" on success or the reason it stopped
        ("cancelled", or the send's error).
"""

from __future__ import annotations

import os

from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QKeyEvent, QKeySequence, QTextCursor
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from workbench.core import codecs
from workbench.core.compose import (
    HISTORY_LIMIT,
    MODES,
    HistoryEntry,
    SendHistory,
    encode_input,
    file_progress_text,
    has_lone_surrogate,
    line_ending_applies,
    payload_summary,
)
from workbench.core.formatting import format_size
from workbench.session.file_send import FILE_CHUNK, SendChunk
from workbench.ui.composer_check import PayloadCheck
from workbench.ui.composer_file import FileSendControl, Runner
from workbench.ui.composer_input import LARGE_PASTE, ComposerInput, underline_error
from workbench.ui.composer_message import SEND_TIP, MessageLabel, SendTarget

__all__ = [
    "DEBOUNCE_MS",
    "FILE_CHUNK",
    "HISTORY_LIMIT",
    "IMMEDIATE_LIMIT",
    "LARGE_PASTE",
    "MODES",
    "SendChunk",
    "SendComposer",
    "encode_input",
    "file_progress_text",
    "has_lone_surrogate",
]

#: Inputs up to this many characters are validated at every keystroke.
IMMEDIATE_LIMIT = 4096
#: Longer inputs are validated once the typing pauses for this long.
DEBOUNCE_MS = 150


class SendComposer(QWidget):
    """Input, mode, line ending, Send, Send file…, history; see the module docstring."""

    sendRequested = Signal(bytes)
    validityChanged = Signal(bool)
    fileSendStarted = Signal(str)
    # Qt's 64-bit int by name (files pass 2 GiB); PySide6's stubs only know types here.
    fileSendProgress = Signal("qint64", "qint64")  # type: ignore[arg-type]
    fileSendFinished = Signal(str, "qint64", str)  # type: ignore[arg-type]

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        runner: Runner | None = None,
        send_chunk: SendChunk | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("sendComposer")
        #: ``TaskRunner`` (workbench/ui/bridge.py) that runs the send-file coroutine; without
        #: one, ``asyncio.ensure_future`` on the running (qasync) loop.
        self.runner = runner
        #: ``async (bytes) -> SendInfo`` that sends one chunk of a file; set by the window.
        self.send_chunk: SendChunk | None = send_chunk
        self._valid = False
        self._error: codecs.InputError | None = None
        self._payload: str | None = None
        self._payload_result: bytes | codecs.InputError | None = None
        #: The socket the composer sends to now (``set_socket``); its history is shown.
        self._sid: int | None = None
        self._histories: dict[int | None, SendHistory] = {}
        #: A file send's failure for a socket that was not shown when it ended.
        self._file_notes: dict[int | None, str] = {}

        # Created in focus order: the input, the controls, then the file send's and the
        # large paste's.
        self._build_input()
        self._build_controls()
        self._files = FileSendControl(self)
        self.progress = self._files.progress_bar
        self.cancel_button = self._files.cancel_button
        self.discard_button = QPushButton("Discard paste", self)
        self.discard_button.setObjectName("sendPayloadDiscard")
        self.discard_button.setToolTip("Discard the large pasted data and edit again")
        self.discard_button.setVisible(False)
        self._lay_out()

        self._check = PayloadCheck(self)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(DEBOUNCE_MS)
        self._connect_signals()
        self._mode_changed(self.mode.currentText())

    def _build_input(self) -> None:
        self.input = ComposerInput(self, self)
        self.input.setObjectName("sendInput")
        self.input.setAccessibleName("Data to send")
        self.input.setToolTip(
            "Ctrl+Enter sends. Up/Down (on the first/last line) recall what you sent.\n"
            "Hex: 68 65 6c 6c 6f, 68656c6c6f or 0x68,0x65. Escaped: \\r \\n \\t \\0 \\\\ \\xNN."
        )
        self.input.setPlaceholderText("Data to send (Ctrl+Enter)")
        self.input.setTabChangesFocus(True)
        self.input.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.input.setMinimumHeight(self.input.fontMetrics().lineSpacing() * 2 + 12)

    def _build_controls(self) -> None:
        self.mode = QComboBox(self)
        self.mode.setObjectName("sendMode")
        self.mode.addItems(list(MODES))
        self.mode.setAccessibleName("Send as")
        self.mode.setToolTip("Text (UTF-8), Hex bytes, or text with \\-escapes")

        self.line_ending = QComboBox(self)
        self.line_ending.setObjectName("sendLineEnding")
        self.line_ending.addItems(list(codecs.LINE_ENDINGS))
        self.line_ending.setAccessibleName("Line ending")
        self.line_ending_label = QLabel("Line endin&g:", self)
        self.line_ending_label.setObjectName("sendLineEndingLabel")
        self.line_ending_label.setBuddy(self.line_ending)

        self.send_button = QPushButton("Send", self)
        self.send_button.setObjectName("sendButton")
        self.send_button.setToolTip(SEND_TIP)
        self.send_button.setAccessibleName("Send")

        self.file_button = QPushButton("Send file…", self)
        self.file_button.setObjectName("sendFileButton")
        self.file_button.setToolTip("Send the contents of a file, in chunks, with progress")
        self.file_button.setAccessibleName("Send file")

        # One line, elided; the whole message in its tooltip (three wrapped lines were clipped).
        self.error_label = MessageLabel(self)
        self.error_label.setObjectName("sendError")
        self.error_label.setStyleSheet("QLabel { color: #c01c28; }")
        self._target = SendTarget(self.send_button, self.error_label)

    def _lay_out(self) -> None:
        # The input on top; below it one row: the controls, then the error message beside
        # them (or the file send's progress and Cancel, or the large paste's Discard).
        controls = QHBoxLayout()
        controls.setContentsMargins(0, 0, 0, 0)
        controls.addWidget(self.mode)
        controls.addWidget(self.line_ending_label)
        controls.addWidget(self.line_ending)
        controls.addWidget(self.send_button)
        controls.addWidget(self.file_button)
        controls.addWidget(self.error_label, 1)
        controls.addWidget(self.discard_button)
        controls.addWidget(self.progress, 1)
        controls.addWidget(self.cancel_button)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.input, 1)
        column.addLayout(controls)

    def _connect_signals(self) -> None:
        self._debounce.timeout.connect(self.validate)
        self._check.finished.connect(self._payload_checked)
        self.input.textChanged.connect(self._on_text_changed)
        self.mode.currentTextChanged.connect(self._mode_changed)
        self.line_ending.currentTextChanged.connect(lambda _e: self._revalidate())
        self.send_button.clicked.connect(self.send)
        self.file_button.clicked.connect(self.choose_file)
        self.discard_button.clicked.connect(self.clear_payload)
        self._files.started.connect(self._file_started)
        self._files.progress.connect(self.fileSendProgress)
        self._files.finished.connect(self._file_finished)

    # ------------------------------------------------------------------ state

    def set_socket(self, sid: int | None) -> None:
        """The composer now sends to socket ``sid``: Up/Down walk its history, and a file
        send's progress shows only while its own socket is the one shown."""
        if sid == self._sid:
            return
        self._sid = sid
        self._files.set_socket(sid)
        self.validate()
        note = self._file_notes.pop(sid, None)
        if note is not None and not self.error_label.text():
            self.error_label.setText(note)

    def socket(self) -> int | None:
        return self._sid

    @property
    def _history(self) -> SendHistory:
        return self._histories.setdefault(self._sid, SendHistory())

    def _mode_changed(self, mode: str) -> None:
        applies = line_ending_applies(mode)
        self.line_ending.setEnabled(applies)
        self.line_ending_label.setEnabled(applies)
        self.line_ending.setToolTip(
            "Appended after the data"
            if applies
            else "Not used in Hex mode: the bytes typed are sent exactly (type 0d 0a for CRLF)"
        )
        self._revalidate()

    def is_valid(self) -> bool:
        """Whether Send would send something now."""
        return self._valid

    def error(self) -> codecs.InputError | None:
        return self._error

    def set_target_available(self, ok: bool, reason: str = "") -> None:
        """The window says whether the socket can be sent to now (Send is disabled if not),
        and if not, why (the Send button's tip; said beside it when a send is tried)."""
        self._target.set(ok, reason)
        self._update_buttons()

    def show_send_result(self, sid: int | None, text: str) -> None:
        """How a send on ``sid`` went ("" for well): said beside Send, where the user sent
        from; a failure on a socket not shown now is said once it is shown again."""
        if sid == self._sid:
            self.error_label.setText(text)
        elif text:
            self._file_notes[sid] = text

    def text(self) -> str:
        return self._payload if self._payload is not None else self.input.toPlainText()

    def set_text(self, text: str, mode: str | None = None) -> None:
        if mode is not None:
            self.mode.setCurrentText(mode)
        if len(text) > LARGE_PASTE or has_lone_surrogate(text):
            self.set_payload(text)
        else:
            self.clear_payload(keep_editor=True)
            self.input.setPlainText(text)
            self.input.moveCursor(QTextCursor.MoveOperation.End)

    def has_payload(self) -> bool:
        return self._payload is not None

    def set_payload(self, text: str) -> None:
        """Hold a large input aside (read-only summary in the editor), checked in a thread."""
        self._payload = text
        self._payload_result = None
        self.input.blockSignals(True)
        try:
            self.input.setPlainText(payload_summary(text))
        finally:
            self.input.blockSignals(False)
        self.input.setReadOnly(True)
        self.discard_button.setVisible(True)
        self._revalidate()

    def clear_payload(self, keep_editor: bool = False) -> None:
        if self._payload is None:
            return
        self._payload = None
        self._payload_result = None
        self._check.forget()
        self.input.setReadOnly(False)
        self.discard_button.setVisible(False)
        if not keep_editor:
            self.input.clear()  # textChanged revalidates
        self.input.setFocus()

    # ------------------------------------------------------------------ validation

    def _on_text_changed(self) -> None:
        if self.input.document().characterCount() <= IMMEDIATE_LIMIT:
            self._debounce.stop()
            self.validate()
        else:
            # Long input: one check after the typing pauses; meanwhile Send waits.
            self._set_valid(False, None, "")
            self._debounce.start()

    def _revalidate(self) -> None:
        if self._payload is not None:
            self._start_payload_check()
        elif self.input.document().characterCount() <= IMMEDIATE_LIMIT:
            self.validate()
        else:
            self._set_valid(False, None, "")
            self._debounce.start()

    def validate(self) -> bool:
        """Check the input now; underline and explain an error; enable Send if it is valid."""
        self._debounce.stop()
        if self._payload is not None:
            return self._validate_payload()
        try:
            data = encode_input(self.input.toPlainText(), *self._encoding())
        except codecs.InputError as exc:
            self._set_valid(False, exc, f"Cannot send: {exc}")
            return False
        self._set_valid(bool(data), None, "")
        return bool(data)

    def _validate_payload(self) -> bool:
        result = self._payload_result
        if isinstance(result, bytes):
            self._set_valid(True, None, "")
            return True
        if isinstance(result, codecs.InputError):
            self._set_valid(False, result, f"Cannot send: {result}")
            return False
        self._start_payload_check()
        return False

    def _encoding(self) -> tuple[str, str]:
        """(mode, line ending) as chosen now."""
        return self.mode.currentText(), self.line_ending.currentText()

    def _set_valid(self, valid: bool, error: codecs.InputError | None, message: str) -> None:
        self._error = error
        self.error_label.setText(message)
        underline_error(self.input, error if self._payload is None else None)
        if valid != self._valid:
            self._valid = valid
            self.validityChanged.emit(valid)
        self._update_buttons()

    def _update_buttons(self) -> None:
        self.send_button.setEnabled(self._valid and self._target.ok)
        self.file_button.setEnabled(self._target.ok and not self._files.is_running())

    def _start_payload_check(self) -> None:
        payload = self._payload
        if payload is None:
            return
        self._payload_result = None
        self._set_valid(False, None, "Checking the pasted data…")
        self._check.start(payload, *self._encoding())

    def _payload_checked(self, result: bytes | codecs.InputError) -> None:
        if self._payload is None:
            return
        self._payload_result = result
        self.validate()

    # ------------------------------------------------------------------ sending, history

    def current_bytes(self) -> bytes | None:
        """The bytes Send would emit now, or None if the input is invalid or empty."""
        if self._payload is not None:
            result = self._payload_result
            return result if isinstance(result, bytes) and result else None
        try:
            data = encode_input(self.input.toPlainText(), *self._encoding())
        except codecs.InputError:
            return None
        return data or None

    def send(self) -> bool:
        """Emit ``sendRequested`` with the input's bytes, if valid; return whether it did."""
        if self._target.refused() or not self.validate():
            return False
        data = self.current_bytes()
        if data is None:
            return False
        if self._payload is None:
            self._history.remember(self.input.toPlainText(), self.mode.currentText())
        self.sendRequested.emit(data)
        return True

    def history(self) -> list[HistoryEntry]:
        """(text, mode) of what was sent, oldest first."""
        return self._history.entries()

    def history_back(self) -> bool:
        if self._payload is not None:
            return False
        handled, entry = self._history.back((self.input.toPlainText(), self.mode.currentText()))
        if entry is not None:
            self._show_history(entry)
        return handled

    def history_forward(self) -> bool:
        if self._payload is not None:
            return False
        handled, entry = self._history.forward()
        if entry is not None:
            self._show_history(entry)
        return handled

    def _show_history(self, entry: HistoryEntry) -> None:
        text, mode = entry
        self.mode.setCurrentText(mode)
        self.input.setPlainText(text)
        self.input.moveCursor(QTextCursor.MoveOperation.End)

    # ------------------------------------------------------------------ send file

    def choose_file(self) -> QFileDialog:
        """Ask for a file (non-modal: ``QFileDialog.open``), then ``send_file_requested``."""
        return self._files.choose(self.send_file_requested)

    def is_sending_file(self) -> bool:
        return self._files.is_running()

    def send_file_requested(self, path: str) -> None:
        """Start sending the file at ``path`` through ``send_chunk`` (one at a time)."""
        if self._files.is_running():
            self.error_label.setText("A file is already being sent")
            return
        if self.send_chunk is None:
            self.error_label.setText("Cannot send a file: no socket to send to")
            return
        try:
            size = os.path.getsize(path)
        except OSError as exc:
            self.error_label.setText(f"Cannot read {path}: {exc.strerror or exc}")
            return
        self._files.start(path, size, self.send_chunk, self.runner, self._sid)

    def cancel_file_send(self) -> None:
        """Stop after the chunk in flight (a send is never cut in the middle)."""
        self._files.cancel()

    def _file_started(self, path: str) -> None:
        self._update_buttons()
        self.fileSendStarted.emit(path)

    def _file_finished(self, path: str, sent: int, error: str) -> None:
        note = f"File not sent completely ({format_size(sent)} sent): {error}" if error else ""
        self.show_send_result(self._files.target(), note)
        self._update_buttons()
        self.fileSendFinished.emit(path, sent, error)

    # ------------------------------------------------------------------ teardown

    def shutdown(self) -> None:
        """Cancel a file send and stop the checker thread (the window calls this on close)."""
        self._files.shutdown()
        self._check.shutdown()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.matches(QKeySequence.StandardKey.Cancel) and self._files.is_running():
            self.cancel_file_send()
        else:
            super().keyPressEvent(event)
