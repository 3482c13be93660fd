"""The send composer: type or paste data as text, hex or escapes, and send it (or a file).

- ``sendMode`` — *Text* (UTF-8), *Hex* (``68 65 6c``, ``68656c``, ``0x68,0x65``), *Escaped*
  (UTF-8 with ``\\r \\n \\t \\0 \\\\ \\xNN``); the parsing lives in ``workbench.core.codecs``.
- ``sendLineEnding`` — None / LF / CR / CRLF, appended once after the data. (A line break typed
  inside the input is sent as LF; use Escaped mode for anything else.)
- Send: the button or Ctrl+Enter emits ``sendRequested(bytes)``; the window sends them.
- History: Up on the first line / Down on the last line walk through what was sent.
- Send file…: a non-modal file dialog, then the file goes out in ``FILE_CHUNK`` pieces through
  the ``send_chunk`` callback (an ``async`` function returning a ``SendInfo``) with a progress bar
  and Cancel; the file is never read into memory whole.

Validation as the user types: an invalid hex digit or escape is underlined (a red wavy
underline at ``InputError.position``/``length``), a message beside the field says where and
why, and Send is disabled, so nothing invalid is ever emitted. Small inputs are checked at each
keystroke; longer ones after ``DEBOUNCE_MS`` of quiet. A paste larger than ``LARGE_PASTE``
characters is not put into the editor (a multi-megabyte line takes Qt's text layout seconds
per keystroke); it is held aside as a read-only *payload*, shown as a summary, and checked once
in a worker thread, so a 10 MB paste never freezes the window.

Signals:
    sendRequested(bytes): the user sent these bytes (already validated).
    validityChanged(bool): whether the input can be sent as it is now.
    fileSendStarted(str): a file send began (its path).
    fileSendProgress(int, int): bytes sent so far, file size.
    fileSendFinished(str, int, str): path, bytes sent, "" on success or the reason it stopped
        ("cancelled", or the send's error).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import re
from collections.abc import Awaitable, Callable
from typing import Any

import shiboken6
from PySide6.QtCore import QMimeData, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QKeyEvent, QKeySequence, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from workbench.core import codecs
from workbench.core.formatting import format_size

#: Inputs up to this many characters are validated at every keystroke.
IMMEDIATE_LIMIT = 4096
#: Longer inputs are validated once the typing pauses for this long.
DEBOUNCE_MS = 150
#: A paste of more characters than this is held aside as a payload, not put in the editor.
LARGE_PASTE = 100_000
#: Send file…: bytes read and sent per step.
FILE_CHUNK = 256 * 1024
#: History entries kept.
HISTORY_LIMIT = 100
#: How often the result of a background validation is looked for.
POLL_MS = 20

MODES = ("Text", "Hex", "Escaped")

SendChunk = Callable[[bytes], Awaitable[Any]]



def file_progress_text(sent: int, size: int) -> str:
    """The progress bar's text: short enough to fit ("3.0 MiB / 12.5 GiB")."""
    return f"{format_size(sent)} / {format_size(size)}"


#: The widest progress text the bar must show whole.
_WIDEST_PROGRESS = file_progress_text(1023 * 2**20 + 1000 * 2**10, 1023 * 2**30 + 2**29)


_SURROGATE = re.compile("[\ud800-\udfff]")


def has_lone_surrogate(text: str) -> bool:
    """A Python str holds a surrogate code point only unpaired; Qt's editor would silently
    drop it, so such text is held aside and refused instead (it cannot be encoded)."""
    return _SURROGATE.search(text) is not None


def encode_input(text: str, mode: str, line_ending: str) -> bytes:
    """The bytes to send for ``text`` in ``mode`` plus ``line_ending``; raises InputError."""
    if mode == "Hex":
        data = codecs.parse_hex(text)
    elif mode == "Escaped":
        data = codecs.parse_escaped(text)
    elif mode == "Text":
        data = codecs.encode_text(text, "utf-8")
    else:
        raise ValueError(f"unknown mode {mode!r}")
    return data + codecs.LINE_ENDINGS[line_ending]


class _Input(QPlainTextEdit):
    """The editor: Ctrl+Enter sends, Up/Down at the edges walk the history, big pastes aside."""

    def __init__(self, composer: SendComposer) -> None:
        super().__init__(composer)
        self._composer = composer

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        mods = event.modifiers()
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and (
            mods & Qt.KeyboardModifier.ControlModifier
        ):
            self._composer.send()
            event.accept()
            return
        cursor = self.textCursor()
        # (Arrow keys carry the keypad modifier on some platforms.)
        plain = mods in (Qt.KeyboardModifier.NoModifier, Qt.KeyboardModifier.KeypadModifier)
        if key == Qt.Key.Key_Up and plain and cursor.blockNumber() == 0 and (
            self._composer.history_back()
        ):
            event.accept()
            return
        if key == Qt.Key.Key_Down and plain and (
            cursor.blockNumber() == self.document().blockCount() - 1
        ) and self._composer.history_forward():
            event.accept()
            return
        super().keyPressEvent(event)

    def insertFromMimeData(self, source: QMimeData) -> None:
        if source.hasText() and not self.isReadOnly():
            text = source.text()
            if has_lone_surrogate(text) or (
                len(text) + self.document().characterCount() > LARGE_PASTE
            ):
                if len(text) <= LARGE_PASTE:  # the paste makes the editor's text too long
                    cursor = self.textCursor()
                    old = self.toPlainText()
                    text = old[:cursor.selectionStart()] + text + old[cursor.selectionEnd():]
                self._composer.set_payload(text)
                return
        super().insertFromMimeData(source)


class SendComposer(QWidget):
    """Input, mode, line ending, Send, Send file…, history; see the module docstring."""

    sendRequested = Signal(bytes)
    validityChanged = Signal(bool)
    fileSendStarted = Signal(str)
    fileSendProgress = Signal("qint64", "qint64")  # files and captures pass 2 GiB
    fileSendFinished = Signal(str, "qint64", str)

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        runner: Any = None,
        send_chunk: SendChunk | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("sendComposer")
        #: ``TaskRunner`` (workbench/ui/bridge.py) that runs the send-file coroutine; without
        #: one, ``asyncio.ensure_future`` on the running (qasync) loop.
        self.runner = runner
        #: ``async (bytes) -> SendInfo`` that sends one chunk of a file; set by the window.
        self.send_chunk: SendChunk | None = send_chunk

        self.input = _Input(self)
        self.input.setObjectName("sendInput")
        self.input.setAccessibleName("Data to send")
        self.input.setToolTip(
            "Ctrl+Enter sends. Up/Down (on the first/last line) recall what you sent.\n"
            "Hex: 68 65 6c 6c 6f, 68656c6c6f or 0x68,0x65. Escaped: \\r \\n \\t \\0 \\\\ \\xNN.")
        self.input.setPlaceholderText("Data to send (Ctrl+Enter)")
        self.input.setTabChangesFocus(True)
        self.input.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.input.setMinimumHeight(self.input.fontMetrics().lineSpacing() * 2 + 12)

        self.mode = QComboBox(self)
        self.mode.setObjectName("sendMode")
        self.mode.addItems(list(MODES))
        self.mode.setAccessibleName("Send as")
        self.mode.setToolTip("Text (UTF-8), Hex bytes, or text with \\-escapes")

        self.line_ending = QComboBox(self)
        self.line_ending.setObjectName("sendLineEnding")
        self.line_ending.addItems(list(codecs.LINE_ENDINGS))
        self.line_ending.setAccessibleName("Line ending")
        self.line_ending.setToolTip("Appended after the data")

        self.send_button = QPushButton("Send", self)
        self.send_button.setObjectName("sendButton")
        self.send_button.setToolTip("Send (Ctrl+Enter)")
        self.send_button.setAccessibleName("Send")

        self.file_button = QPushButton("Send file…", self)
        self.file_button.setObjectName("sendFileButton")
        self.file_button.setToolTip("Send the contents of a file, in chunks, with progress")
        self.file_button.setAccessibleName("Send file")

        self.error_label = QLabel(self)
        self.error_label.setObjectName("sendError")
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("QLabel { color: #c01c28; }")

        self.progress = QProgressBar(self)
        self.progress.setObjectName("sendFileProgress")
        self.progress.setRange(0, 1000)
        self.progress.setAccessibleName("File send progress")
        self.progress.setVisible(False)
        self.progress.setTextVisible(True)
        self.progress.setMinimumWidth(
            self.progress.fontMetrics().horizontalAdvance(_WIDEST_PROGRESS + "  100%") + 24
        )
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setObjectName("sendFileCancel")
        self.cancel_button.setToolTip("Stop sending the file (after the chunk in flight)")
        self.cancel_button.setVisible(False)

        self.discard_button = QPushButton("Discard paste", self)
        self.discard_button.setObjectName("sendPayloadDiscard")
        self.discard_button.setToolTip("Discard the large pasted data and edit again")
        self.discard_button.setVisible(False)

        # The input on top; below it one row: the controls, then the error message beside
        # them (or the file send's progress and Cancel, or the large paste's Discard).
        controls = QHBoxLayout()
        controls.setContentsMargins(0, 0, 0, 0)
        controls.addWidget(self.mode)
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

        self._valid = False
        self._error: codecs.InputError | None = None
        self._target_ok = True
        self._payload: str | None = None
        self._payload_result: bytes | codecs.InputError | None = None
        self._payload_future: concurrent.futures.Future[bytes] | None = None
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._history: list[tuple[str, str]] = []
        self._history_at: int | None = None  # index being shown, None: the draft
        self._draft: tuple[str, str] = ("", "Text")
        self._file_task: asyncio.Future[Any] | None = None
        self._file_cancel = False
        self._dialog: QFileDialog | None = None

        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(DEBOUNCE_MS)
        self._debounce.timeout.connect(self.validate)
        self._poll = QTimer(self)
        self._poll.setInterval(POLL_MS)
        self._poll.timeout.connect(self._poll_payload)

        self.input.textChanged.connect(self._on_text_changed)
        self.mode.currentTextChanged.connect(lambda _m: self._revalidate())
        self.line_ending.currentTextChanged.connect(lambda _e: self._revalidate())
        self.send_button.clicked.connect(self.send)
        self.file_button.clicked.connect(self.choose_file)
        self.cancel_button.clicked.connect(self.cancel_file_send)
        self.discard_button.clicked.connect(self.clear_payload)
        self.validate()

    # ------------------------------------------------------------------ state

    def is_valid(self) -> bool:
        """Whether Send would send something now."""
        return self._valid

    def error(self) -> codecs.InputError | None:
        return self._error

    def set_target_available(self, ok: bool) -> None:
        """The window says whether there is a socket to send to (Send is disabled if not)."""
        self._target_ok = ok
        self._update_buttons()

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
            preview = _SURROGATE.sub("\ufffd", text[:200].replace("\n", " "))
            why = (
                "with a lone surrogate the editor cannot hold" if has_lone_surrogate(text)
                else "too large to edit here; Send sends them all"
            )
            self.input.setPlainText(f"[{len(text):,} characters pasted — {why}]\n{preview}…")
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
        self._payload_future = None
        self._poll.stop()
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
            result = self._payload_result
            if isinstance(result, bytes):
                self._set_valid(True, None, "")
                return True
            if isinstance(result, codecs.InputError):
                self._set_valid(False, result, f"Cannot send: {result}")
                return False
            self._start_payload_check()
            return False
        text = self.input.toPlainText()
        try:
            data = encode_input(text, self.mode.currentText(), self.line_ending.currentText())
        except codecs.InputError as exc:
            self._set_valid(False, exc, f"Cannot send: {exc}")
            return False
        self._set_valid(bool(data), None, "")
        return bool(data)

    def _set_valid(self, valid: bool, error: codecs.InputError | None, message: str) -> None:
        self._error = error
        self.error_label.setText(message)
        self._underline(error)
        if valid != self._valid:
            self._valid = valid
            self.validityChanged.emit(valid)
        self._update_buttons()

    def _underline(self, error: codecs.InputError | None) -> None:
        if error is None or self._payload is not None:
            self.input.setExtraSelections([])
            return
        sel = QTextEdit.ExtraSelection()
        fmt = QTextCharFormat()
        fmt.setUnderlineStyle(QTextCharFormat.UnderlineStyle.WaveUnderline)
        fmt.setUnderlineColor(QColor("#e01b24"))
        # A one-character wave is easy to miss: a translucent red behind it too (readable on
        # light and dark palettes alike).
        fmt.setBackground(QColor(224, 27, 36, 60))
        fmt.setToolTip(str(error))
        sel.format = fmt
        cursor = QTextCursor(self.input.document())
        end = max(0, self.input.document().characterCount() - 1)
        # InputError counts str characters, QTextCursor UTF-16 units (an emoji is 2 there).
        text = self.input.toPlainText()
        start = codecs.utf16_offset(text, error.position)
        stop = codecs.utf16_offset(text, error.position + max(1, error.length))
        cursor.setPosition(min(start, end))
        cursor.setPosition(min(stop, end), QTextCursor.MoveMode.KeepAnchor)
        sel.cursor = cursor
        self.input.setExtraSelections([sel])

    def _update_buttons(self) -> None:
        sending_file = self._file_task is not None
        self.send_button.setEnabled(self._valid and self._target_ok)
        self.file_button.setEnabled(self._target_ok and not sending_file)

    def _start_payload_check(self) -> None:
        payload = self._payload
        if payload is None:
            return
        self._payload_result = None
        self._set_valid(False, None, "Checking the pasted data…")
        if self._executor is None:
            self._executor = concurrent.futures.ThreadPoolExecutor(
                max_workers=1, thread_name_prefix="composer-check")
        self._payload_future = self._executor.submit(
            encode_input, payload, self.mode.currentText(), self.line_ending.currentText())
        self._poll.start()

    def _poll_payload(self) -> None:
        future = self._payload_future
        if future is None:
            self._poll.stop()
            return
        if not future.done():
            return
        self._poll.stop()
        self._payload_future = None
        if self._payload is None:
            return
        exc = future.exception()
        if exc is None:
            self._payload_result = future.result()
        elif isinstance(exc, codecs.InputError):
            self._payload_result = exc
        else:
            self._payload_result = codecs.InputError(0, 1, f"{type(exc).__name__}: {exc}")
        self.validate()

    # ------------------------------------------------------------------ sending, history

    def current_bytes(self) -> bytes | None:
        """The bytes Send would emit now, or None if the input is invalid or empty."""
        if self._payload is not None:
            result = self._payload_result
            return result if isinstance(result, bytes) and result else None
        try:
            data = encode_input(self.input.toPlainText(), self.mode.currentText(),
                                self.line_ending.currentText())
        except codecs.InputError:
            return None
        return data or None

    def send(self) -> bool:
        """Emit ``sendRequested`` with the input's bytes, if valid; return whether it did."""
        if not self._target_ok:
            return False
        if not self.validate():
            return False
        data = self.current_bytes()
        if data is None:
            return False
        if self._payload is None:
            self._remember(self.input.toPlainText(), self.mode.currentText())
        self.sendRequested.emit(data)
        return True

    def history(self) -> list[tuple[str, str]]:
        """(text, mode) of what was sent, oldest first."""
        return list(self._history)

    def _remember(self, text: str, mode: str) -> None:
        entry = (text, mode)
        if not self._history or self._history[-1] != entry:
            self._history.append(entry)
            del self._history[:-HISTORY_LIMIT]
        self._history_at = None

    def history_back(self) -> bool:
        if not self._history or self._payload is not None:
            return False
        if self._history_at is None:
            self._draft = (self.input.toPlainText(), self.mode.currentText())
            self._history_at = len(self._history) - 1
        elif self._history_at > 0:
            self._history_at -= 1
        else:
            return True
        self._show_history(self._history[self._history_at])
        return True

    def history_forward(self) -> bool:
        if self._history_at is None or self._payload is not None:
            return False
        if self._history_at < len(self._history) - 1:
            self._history_at += 1
            self._show_history(self._history[self._history_at])
        else:
            self._history_at = None
            self._show_history(self._draft)
        return True

    def _show_history(self, entry: tuple[str, str]) -> None:
        at = self._history_at
        text, mode = entry
        self.mode.setCurrentText(mode)
        self.input.setPlainText(text)
        self.input.moveCursor(QTextCursor.MoveOperation.End)
        self._history_at = at  # setPlainText's textChanged must not reset it

    # ------------------------------------------------------------------ send file

    def choose_file(self) -> QFileDialog:
        """Ask for a file (non-modal: ``QFileDialog.open``), then ``send_file_requested``."""
        if self._dialog is not None and shiboken6.isValid(self._dialog) and (
            self._dialog.isVisible()
        ):
            return self._dialog
        dialog = QFileDialog(self, "Send file")
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptOpen)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.fileSelected.connect(self.send_file_requested)
        # Settle the layout before the dialog's window exists (the offscreen platform warns
        # about size hints that change after).
        dialog.adjustSize()
        self._dialog = dialog
        dialog.open()
        return dialog

    def is_sending_file(self) -> bool:
        return self._file_task is not None

    def send_file_requested(self, path: str) -> None:
        """Start sending the file at ``path`` through ``send_chunk`` (one at a time)."""
        if self._file_task is not None:
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
        self._file_cancel = False
        coro = self._send_file(path, size, self.send_chunk)
        if self.runner is not None:
            self._file_task = self.runner.start(coro, name=f"send file {path}")
        else:
            self._file_task = asyncio.ensure_future(coro)
        self.progress.setValue(0)
        self.progress.setFormat(file_progress_text(0, size))
        self.progress.setToolTip(f"0 of {size:,} bytes sent")
        self.progress.setVisible(True)
        self.cancel_button.setVisible(True)
        self.cancel_button.setEnabled(True)
        self._update_buttons()
        self.fileSendStarted.emit(path)

    def cancel_file_send(self) -> None:
        """Stop after the chunk in flight (a send is never cut in the middle)."""
        if self._file_task is not None:
            self._file_cancel = True
            self.cancel_button.setEnabled(False)
            self.progress.setFormat("Cancelling…")

    async def _send_file(self, path: str, size: int, send_chunk: SendChunk) -> None:
        sent = 0
        error = ""
        try:
            with open(path, "rb") as f:
                while not self._file_cancel:
                    chunk = f.read(FILE_CHUNK)
                    if not chunk:
                        break
                    info = await send_chunk(chunk)
                    code = getattr(info, "result_code", 0)
                    if code != 0:
                        error = f"send failed with {code}"
                        break
                    sent += len(chunk)
                    self._file_progress(sent, size)
            if self._file_cancel and not error and sent < size:
                error = "cancelled"
        except OSError as exc:
            error = f"cannot read {path}: {exc.strerror or exc}"
        except asyncio.CancelledError:  # the window is closing (TaskRunner.cancel_all)
            with contextlib.suppress(RuntimeError):  # its widgets may be gone already
                self._file_done(path, sent, "cancelled")
            raise
        except Exception as exc:  # reported beside the field, and re-raised for the runner
            error = f"{type(exc).__name__}: {exc}"
            self._file_done(path, sent, error)
            raise
        self._file_done(path, sent, error)

    def _file_progress(self, sent: int, size: int) -> None:
        self.progress.setValue(1000 if size == 0 else sent * 1000 // size)
        if not self._file_cancel:
            self.progress.setFormat(file_progress_text(sent, size))
            self.progress.setToolTip(f"{sent:,} of {size:,} bytes sent")
        self.fileSendProgress.emit(sent, size)

    def _file_done(self, path: str, sent: int, error: str) -> None:
        self._file_task = None
        self.cancel_button.setVisible(False)
        if error:
            self.progress.setVisible(False)
            self.error_label.setText(f"File not sent completely ({sent:,} bytes sent): {error}")
        else:
            self.progress.setValue(1000)
            self.progress.setFormat(f"Sent {format_size(sent)}")
            self.progress.setToolTip(f"Sent {sent:,} bytes")
            self.error_label.setText("")
        self._update_buttons()
        self.fileSendFinished.emit(path, sent, error)

    # ------------------------------------------------------------------ teardown

    def shutdown(self) -> None:
        """Cancel a file send and stop the checker thread (the window calls this on close)."""
        self._file_cancel = True
        self._poll.stop()
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.matches(QKeySequence.StandardKey.Cancel) and self._file_task is not None:
            self.cancel_file_send()
        else:
            super().keyPressEvent(event)
