"""Send file… for the composer: a non-modal file dialog, a progress bar and Cancel around
``workbench.session.file_send.send_file`` (which does the reading and sending, without Qt).

The progress belongs to the socket the file goes to: it shows only while that socket is the
current one (``set_socket``), and "Sent 10.0 MiB" clears itself ``CLEAR_MS`` after the send.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable, Coroutine, Hashable
from typing import Any, Protocol

import shiboken6
from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QFileDialog, QProgressBar, QPushButton, QWidget

from workbench.core.compose import PROGRESS_SCALE, file_progress_text, progress_permille
from workbench.core.formatting import format_size
from workbench.session.file_send import SendChunk, send_file

__all__ = ["CLEAR_MS", "FileSendControl", "Runner"]

#: How long "Sent 10.0 MiB" stays after a file send ends, in milliseconds.
CLEAR_MS = 4000

#: The widest progress text the bar must show whole.
_WIDEST_PROGRESS = file_progress_text(1023 * 2**20 + 1000 * 2**10, 1023 * 2**30 + 2**29)


class Runner(Protocol):
    """``TaskRunner`` (workbench/ui/bridge.py): starts a coroutine and keeps it alive."""

    def start(self, coro: Coroutine[Any, Any, Any], *, name: str) -> asyncio.Task[Any]: ...


class FileSendControl(QObject):
    """One file send at a time, its progress bar and its Cancel button.

    ``progress_bar`` and ``cancel_button`` are children of ``parent`` for its layout to place.

    Signals:
        started(str): a file send began (its path).
        progress(qint64, qint64): bytes sent so far, file size (after the bar shows it).
        finished(str, qint64, str): path, bytes sent, "" on success or why it stopped.
    """

    started = Signal(str)
    # Qt's 64-bit int by name (files pass 2 GiB); PySide6's stubs only know types here.
    progress = Signal("qint64", "qint64")  # type: ignore[arg-type]
    finished = Signal(str, "qint64", str)  # type: ignore[arg-type]

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self._parent = parent
        self.progress_bar = QProgressBar(parent)
        self.progress_bar.setObjectName("sendFileProgress")
        self.progress_bar.setRange(0, PROGRESS_SCALE)
        self.progress_bar.setAccessibleName("File send progress")
        self.progress_bar.setVisible(False)
        self.progress_bar.setTextVisible(True)
        self.progress_bar.setMinimumWidth(
            self.progress_bar.fontMetrics().horizontalAdvance(_WIDEST_PROGRESS + "  100%") + 24
        )
        self.cancel_button = QPushButton("Cancel", parent)
        self.cancel_button.setObjectName("sendFileCancel")
        self.cancel_button.setToolTip("Stop sending the file (after the chunk in flight)")
        self.cancel_button.setVisible(False)
        self.cancel_button.clicked.connect(self.cancel)
        self._task: asyncio.Future[Any] | None = None
        self._stop: asyncio.Event | None = None
        self._sent = 0
        self._dialog: QFileDialog | None = None
        #: The socket the send goes to, and the socket the composer shows now (any key:
        #: the composer's are ``SocketKey``s, as TCP and UDP ids overlap).
        self._target: Hashable = None
        self._current: Hashable = None
        #: Whether the bar has something to say (a send running, or its result, until
        #: ``CLEAR_MS`` after it ended).
        self._bar_wanted = False
        self._clear = QTimer(self)
        self._clear.setSingleShot(True)
        self._clear.timeout.connect(self._clear_result)

    def set_socket(self, sid: Hashable) -> None:
        """The composer shows ``sid`` now: the bar and Cancel show only for their socket."""
        self._current = sid
        self._show()

    def target(self) -> Hashable:
        """The socket the running (or last) file send goes to."""
        return self._target

    def _show(self) -> None:
        mine = self._target == self._current
        self.progress_bar.setVisible(self._bar_wanted and mine)
        self.cancel_button.setVisible(self._task is not None and mine)

    def _clear_result(self) -> None:
        self._bar_wanted = False
        self._show()

    def is_running(self) -> bool:
        return self._task is not None

    def choose(self, on_selected: Callable[[str], None]) -> QFileDialog:
        """Ask for a file (non-modal: ``QFileDialog.open``, never ``exec``); the path chosen
        goes to ``on_selected``. A dialog already open is returned as it is."""
        if (
            self._dialog is not None
            and shiboken6.isValid(self._dialog)
            and self._dialog.isVisible()
        ):
            return self._dialog
        dialog = QFileDialog(self._parent, "Send file")
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptOpen)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.fileSelected.connect(on_selected)
        # Settle the layout before the dialog's window exists (the offscreen platform warns
        # about size hints that change after).
        dialog.adjustSize()
        self._dialog = dialog
        dialog.open()
        return dialog

    def request(
        self, path: str, send: SendChunk | None, runner: Runner | None, target: Hashable = None
    ) -> str:
        """Start sending the file at ``path`` through ``send``: ``""``, or why it cannot."""
        if send is None:
            return "Cannot send a file: no socket to send to"
        try:
            size = os.path.getsize(path)
        except OSError as exc:
            return f"Cannot read {path}: {exc.strerror or exc}"
        self.start(path, size, send, runner, target)
        return ""

    def start(
        self,
        path: str,
        size: int,
        send: SendChunk,
        runner: Runner | None,
        target: Hashable = None,
    ) -> None:
        """Send the file at ``path`` (``size`` bytes, as far as the bar is concerned) to the
        socket ``target`` (whose progress it is)."""
        self._clear.stop()
        self._target = target
        self._stop = asyncio.Event()
        self._sent = 0
        coro = self._run(path, send, self._stop)
        if runner is not None:
            self._task = runner.start(coro, name=f"send file {path}")
        else:
            self._task = asyncio.ensure_future(coro)
        bar = self.progress_bar
        bar.setValue(0)
        bar.setFormat(file_progress_text(0, size))
        bar.setToolTip(f"0 of {size:,} bytes sent")
        self._bar_wanted = True
        self.cancel_button.setEnabled(True)
        self._show()
        self.started.emit(path)

    def cancel(self) -> None:
        """Stop after the chunk in flight (a send is never cut in the middle)."""
        if self._task is not None and self._stop is not None:
            self._stop.set()
            self.cancel_button.setEnabled(False)
            self.progress_bar.setFormat("Cancelling…")

    def shutdown(self) -> None:
        """Stop a file send at the next chunk (the window is closing)."""
        if self._stop is not None:
            self._stop.set()

    async def _run(self, path: str, send: SendChunk, stop: asyncio.Event) -> None:
        try:
            result = await send_file(path, send, progress=self._show_progress, stop=stop)
        except asyncio.CancelledError:  # the window is closing (TaskRunner.cancel_all)
            with contextlib.suppress(RuntimeError):  # its widgets may be gone already
                self._done(path, self._sent, "cancelled")
            raise
        except Exception as exc:  # reported beside the field, and re-raised for the runner
            self._done(path, self._sent, f"{type(exc).__name__}: {exc}")
            raise
        self._done(path, result.sent, result.error)

    def _show_progress(self, sent: int, size: int) -> None:
        self._sent = sent
        bar = self.progress_bar
        bar.setValue(progress_permille(sent, size))
        if self._stop is None or not self._stop.is_set():
            bar.setFormat(file_progress_text(sent, size))
            bar.setToolTip(f"{sent:,} of {size:,} bytes sent")
        self.progress.emit(sent, size)

    def _done(self, path: str, sent: int, error: str) -> None:
        self._task = None
        self._stop = None
        bar = self.progress_bar
        if error:
            self._bar_wanted = False
        else:
            bar.setValue(PROGRESS_SCALE)
            bar.setFormat(f"Sent {format_size(sent)}")
            bar.setToolTip(f"Sent {sent:,} bytes")
            # Read at each start, so that a test can make it short.
            self._clear.start(CLEAR_MS)
        self._show()
        self.finished.emit(path, sent, error)
