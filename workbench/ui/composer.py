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
- UDP (``set_udp``): the target is a UDP socket. A row ``sendToAddress`` / ``sendToPort``
  (``composer_udp``, with the recent destinations) says where to; Send sends the bytes as ONE
  datagram (``workbench.session.udp_send``), and Send file… the whole file as one. More than
  ``MAX_DATAGRAM`` (65,507) bytes is refused with the reason before anything is sent, never
  split. How the send went (``0 OK: sent 5 bytes to …``, ``-15 …: bind it first``) is said
  beside Send, and ``datagramSent`` tells the window.

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
    datagramSent(int, object): a UDP send ended: the UDP socket's id and its
        ``workbench.session.udp_send.DatagramResult`` (``sendRequested`` is for TCP only).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import NamedTuple

from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QKeyEvent, QKeySequence, QTextCursor
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
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
from workbench.session import SocketKey, udp_key
from workbench.session.file_send import FILE_CHUNK, SendChunk
from workbench.session.udp_send import (
    MAX_DATAGRAM,
    DatagramResult,
    DatagramSender,
    datagram_refusal,
    read_datagram_file,
)
from workbench.ui.composer_check import PayloadCheck
from workbench.ui.composer_file import FileSendControl, Runner
from workbench.ui.composer_input import LARGE_PASTE, make_input, underline_error
from workbench.ui.composer_message import SEND_TIP, MessageLabel, SendTarget
from workbench.ui.composer_udp import UDP_FILE_TIP, UdpDestinationRow

__all__ = [
    "DEBOUNCE_MS",
    "ERROR_STYLE",
    "FILE_CHUNK",
    "HISTORY_LIMIT",
    "IMMEDIATE_LIMIT",
    "LARGE_PASTE",
    "MAX_DATAGRAM",
    "MODES",
    "TCP_FILE_TIP",
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
#: The message beside Send: red for what went wrong, the window's text colour for a send that
#: went well.
ERROR_STYLE = "QLabel { color: #c01c28; }"
#: Send file…'s tip while the target is a TCP socket.
TCP_FILE_TIP = "Send the contents of a file, in chunks, with progress"


class _Controls(NamedTuple):
    mode: QComboBox
    line_ending: QComboBox
    line_ending_label: QLabel
    send_button: QPushButton
    file_button: QPushButton
    error_label: MessageLabel
    discard_button: QPushButton


def _make_controls(parent: QWidget) -> _Controls:
    """The composer's row of controls, in focus order, and the message beside them."""
    mode = QComboBox(parent)
    mode.setObjectName("sendMode")
    mode.addItems(list(MODES))
    mode.setAccessibleName("Send as")
    mode.setToolTip("Text (UTF-8), Hex bytes, or text with \\-escapes")

    line_ending = QComboBox(parent)
    line_ending.setObjectName("sendLineEnding")
    line_ending.addItems(list(codecs.LINE_ENDINGS))
    line_ending.setAccessibleName("Line ending")
    line_ending_label = QLabel("Line endin&g:", parent)
    line_ending_label.setObjectName("sendLineEndingLabel")
    line_ending_label.setBuddy(line_ending)

    send_button = QPushButton("Send", parent)
    send_button.setObjectName("sendButton")
    send_button.setToolTip(SEND_TIP)
    send_button.setAccessibleName("Send")

    file_button = QPushButton("Send file…", parent)
    file_button.setObjectName("sendFileButton")
    file_button.setToolTip(TCP_FILE_TIP)
    file_button.setAccessibleName("Send file")

    # One line, elided; the whole message in its tooltip (three wrapped lines were clipped).
    error_label = MessageLabel(parent)
    error_label.setObjectName("sendError")
    error_label.setStyleSheet(ERROR_STYLE)

    discard = QPushButton("Discard paste", parent)
    discard.setObjectName("sendPayloadDiscard")
    discard.setToolTip("Discard the large pasted data and edit again")
    discard.setVisible(False)
    return _Controls(
        mode, line_ending, line_ending_label, send_button, file_button, error_label, discard
    )


def _lay_out(c: SendComposer) -> None:
    """The input on top, the UDP destination below it, then one row: the controls, and the
    message beside them (or the file send's progress and Cancel, or the large paste's
    Discard)."""
    controls = QHBoxLayout()
    controls.setContentsMargins(0, 0, 0, 0)
    for widget in (c.mode, c.line_ending_label, c.line_ending, c.send_button, c.file_button):
        controls.addWidget(widget)
    controls.addWidget(c.error_label, 1)
    controls.addWidget(c.discard_button)
    controls.addWidget(c.progress, 1)
    controls.addWidget(c.cancel_button)
    column = QVBoxLayout(c)
    column.setContentsMargins(0, 0, 0, 0)
    column.addWidget(c.input, 1)
    column.addWidget(c.destination_row)
    column.addLayout(controls)


class SendComposer(QWidget):
    """Input, mode, line ending, Send, Send file…, history; see the module docstring."""

    sendRequested = Signal(bytes)
    validityChanged = Signal(bool)
    fileSendStarted = Signal(str)
    # Qt's 64-bit int by name (files pass 2 GiB); PySide6's stubs only know types here.
    fileSendProgress = Signal("qint64", "qint64")  # type: ignore[arg-type]
    fileSendFinished = Signal(str, "qint64", str)  # type: ignore[arg-type]
    datagramSent = Signal(int, object)

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        runner: Runner | None = None,
        send_chunk: SendChunk | None = None,
        udp_sender: DatagramSender | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("sendComposer")
        #: ``TaskRunner`` (workbench/ui/bridge.py) that runs the send-file coroutine; without
        #: one, ``asyncio.ensure_future`` on the running (qasync) loop.
        self.runner = runner
        #: ``async (bytes) -> SendInfo`` that sends one chunk of a file; set by the window.
        self.send_chunk: SendChunk | None = send_chunk
        #: Sends a UDP target's datagrams: the session's ``LoggedUdp`` (``session.udp``).
        self.udp_sender: DatagramSender | None = udp_sender
        self._valid = False
        self._error: codecs.InputError | None = None
        self._payload: str | None = None
        self._payload_result: bytes | codecs.InputError | None = None
        #: The TCP socket (``set_socket``) or UDP socket (``set_udp``) the composer sends to
        #: now, at most one of them; its history is shown.
        self._sid: int | None = None
        self._udp: int | None = None
        self._histories: dict[SocketKey | None, SendHistory] = {}
        #: A send's failure for a socket (a ``SocketKey``) that was not shown when it ended.
        self._file_notes: dict[Hashable, str] = {}

        # In focus order: the input, the destination, the controls, then the file send's.
        self.input = make_input(self, self)
        self.destination_row = UdpDestinationRow(self)
        self.to_address = self.destination_row.address
        self.to_port = self.destination_row.port
        (self.mode, self.line_ending, self.line_ending_label, self.send_button, self.file_button,
         self.error_label, self.discard_button) = _make_controls(self)  # fmt: skip
        self._target = SendTarget(self.send_button, self.error_label)
        self._files = FileSendControl(self)
        self.progress = self._files.progress_bar
        self.cancel_button = self._files.cancel_button
        _lay_out(self)

        self._check = PayloadCheck(self)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(DEBOUNCE_MS)
        self._connect_signals()
        self._mode_changed(self.mode.currentText())

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
        self.destination_row.finished.connect(self._datagram_finished)
        self.destination_row.submitted.connect(self.send)

    # ------------------------------------------------------------------ state

    def set_socket(self, sid: int | None) -> None:
        """The composer now sends to TCP socket ``sid``: Up/Down walk its history, and a file
        send's progress shows only while its own socket is the one shown. A socket clears the
        UDP target; ``None`` (no TCP socket) leaves it to ``set_udp``."""
        self._retarget(sid, None if sid is not None else self._udp)

    def set_udp(self, udp_id: int | None) -> None:
        """The composer now sends datagrams from UDP socket ``udp_id`` (there is no TCP target
        then), to the destination in ``sendToAddress``/``sendToPort``; ``None``: no UDP
        target (the TCP target is left as it is)."""
        self._retarget(None if udp_id is not None else self._sid, udp_id)

    def _retarget(self, sid: int | None, udp: int | None) -> None:
        if (sid, udp) == (self._sid, self._udp):
            return
        self._sid, self._udp = sid, udp
        self.destination_row.set_udp(udp)
        self._files.set_socket(self._key)
        self.file_button.setToolTip(UDP_FILE_TIP if udp is not None else TCP_FILE_TIP)
        self.validate()
        note = self._file_notes.pop(self._key, None)
        if note is not None and not self.error_label.text():
            self._say(note)

    def socket(self) -> int | None:
        """The TCP socket sent to, if the target is one."""
        return self._sid

    def udp(self) -> int | None:
        """The UDP socket sent from, if the target is one."""
        return self._udp

    @property
    def _key(self) -> SocketKey | None:
        if self._udp is not None:
            return udp_key(self._udp)
        return SocketKey.tcp(self._sid) if self._sid is not None else None

    @property
    def _history(self) -> SendHistory:
        return self._histories.setdefault(self._key, SendHistory())

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
        self.destination_row.unsay_unbound(self._say)

    def show_send_result(self, sid: int | None, text: str) -> None:
        """How a send on TCP socket ``sid`` went ("" for well): said beside Send, where the
        user sent from; a failure on a socket not shown now is said once it is shown again."""
        self._show_result(SocketKey.tcp(sid) if sid is not None else None, text)

    def _show_result(self, key: Hashable, text: str, ok: bool = False) -> None:
        if key == self._key:
            self._say(text, ok)
        elif text and not ok:
            self._file_notes[key] = text

    def _say(self, text: str, ok: bool = False) -> None:
        """``text`` beside Send: in red unless ``ok`` (a send that went well)."""
        if (self.error_label.styleSheet() == ERROR_STYLE) == ok:
            self.error_label.setStyleSheet("" if ok else ERROR_STYLE)
        self.error_label.setText(text)

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
        return self._set_size_valid(data)

    def _set_size_valid(self, data: bytes) -> bool:
        """Valid bytes: sendable unless empty, or too large for one datagram (never split)."""
        refusal = datagram_refusal(len(data)) if self._udp is not None else ""
        valid = bool(data) and not refusal
        self._set_valid(valid, None, f"Cannot send: {refusal}" if refusal else "")
        return valid

    def _validate_payload(self) -> bool:
        result = self._payload_result
        if isinstance(result, bytes):
            return self._set_size_valid(result)
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
        self._say(message)
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
        if self._udp is not None and not self._send_datagram(data):
            return False
        if self._payload is None:
            self._history.remember(self.input.toPlainText(), self.mode.currentText())
        if self._udp is None:
            self.sendRequested.emit(data)
        return True

    def _send_datagram(self, data: bytes, path: str = "") -> bool:
        """Start sending ``data`` as one datagram to the destination typed (a file's, when
        ``path``); say why not if it cannot go."""
        problem = self.destination_row.start(data, self.udp_sender, self.runner, path)
        if problem:
            self._say(f"Cannot send: {problem}")
        return not problem

    def _datagram_finished(self, udp_id: int, result: DatagramResult, path: str) -> None:
        self._show_result(udp_key(udp_id), result.text, result.ok)
        if path:
            self.fileSendFinished.emit(path, result.sent, "" if result.ok else result.text)
        self.datagramSent.emit(udp_id, result)

    def history(self) -> list[HistoryEntry]:
        """(text, mode) of what was sent, oldest first."""
        return self._history.entries()

    def history_back(self) -> bool:
        return self._walk(lambda h: h.back((self.input.toPlainText(), self.mode.currentText())))

    def history_forward(self) -> bool:
        return self._walk(SendHistory.forward)

    def _walk(self, step: Callable[[SendHistory], tuple[bool, HistoryEntry | None]]) -> bool:
        """One step through the history (not while a large paste is held aside)."""
        if self._payload is not None:
            return False
        handled, entry = step(self._history)
        if entry is not None:
            text, mode = entry
            self.mode.setCurrentText(mode)
            self.input.setPlainText(text)
            self.input.moveCursor(QTextCursor.MoveOperation.End)
        return handled

    # ------------------------------------------------------------------ send file

    def choose_file(self) -> QFileDialog:
        """Ask for a file (non-modal: ``QFileDialog.open``), then ``send_file_requested``."""
        return self._files.choose(self.send_file_requested)

    def is_sending_file(self) -> bool:
        return self._files.is_running()

    def send_file_requested(self, path: str) -> None:
        """Start sending the file at ``path`` through ``send_chunk`` (one at a time)."""
        if self._files.is_running():
            self._say("A file is already being sent")
        elif self._udp is not None:
            self._send_file_datagram(path)
        else:
            problem = self._files.request(path, self.send_chunk, self.runner, self._key)
            if problem:
                self._say(problem)

    def _send_file_datagram(self, path: str) -> None:
        """A file to a UDP target: one datagram when it fits, else refused (never split)."""
        data = read_datagram_file(path)
        if isinstance(data, str):
            self._say(f"Cannot send the file: {data}")
        elif self._send_datagram(data, path):
            self.fileSendStarted.emit(path)

    def cancel_file_send(self) -> None:
        """Stop after the chunk in flight (a send is never cut in the middle)."""
        self._files.cancel()

    def _file_started(self, path: str) -> None:
        self._update_buttons()
        self.fileSendStarted.emit(path)

    def _file_finished(self, path: str, sent: int, error: str) -> None:
        note = f"File not sent completely ({format_size(sent)} sent): {error}" if error else ""
        self._show_result(self._files.target(), note)
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
