"""Checking a large pasted payload in a worker thread, so a 10 MB paste never freezes the window.

``encode_input`` is pure (``workbench.core.compose``), so a thread can run it; the result is
looked for by a Qt timer on the GUI thread (no cross-thread signal needed).
"""

from __future__ import annotations

import concurrent.futures

from PySide6.QtCore import QObject, QTimer, Signal

from workbench.core import codecs
from workbench.core.compose import encode_input

__all__ = ["POLL_MS", "PayloadCheck"]

#: How often the result of a background check is looked for.
POLL_MS = 20


class PayloadCheck(QObject):
    """One background ``encode_input`` at a time; a newer ``start`` supersedes the older.

    Signals:
        finished(object): the bytes, or the ``InputError`` that says why they cannot be sent.
    """

    finished = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._future: concurrent.futures.Future[bytes] | None = None
        self._poll = QTimer(self)
        self._poll.setInterval(POLL_MS)
        self._poll.timeout.connect(self._look)

    def start(self, text: str, mode: str, line_ending: str) -> None:
        if self._executor is None:
            self._executor = concurrent.futures.ThreadPoolExecutor(
                max_workers=1, thread_name_prefix="composer-check"
            )
        self._future = self._executor.submit(encode_input, text, mode, line_ending)
        self._poll.start()

    def running(self) -> bool:
        return self._future is not None

    def forget(self) -> None:
        """Drop the check in progress: its result is no longer wanted."""
        self._future = None
        self._poll.stop()

    def shutdown(self) -> None:
        """Stop the worker thread (the window is closing)."""
        self.forget()
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    def _look(self) -> None:
        future = self._future
        if future is None:
            self._poll.stop()
            return
        if not future.done():
            return
        self.forget()
        exc = future.exception()
        result: bytes | codecs.InputError
        if exc is None:
            result = future.result()
        elif isinstance(exc, codecs.InputError):
            result = exc
        else:
            result = codecs.InputError(0, 1, f"{type(exc).__name__}: {exc}")
        self.finished.emit(result)
