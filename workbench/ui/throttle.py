"""The one way the window rate-limits work: ``Throttle``.

A throttled call runs at once when the last run is at least ``interval_ms`` ago; otherwise it
runs once when the interval is over, however many calls came in between (the trailing call is
never lost). One single-shot ``QTimer`` per throttle, started only while a call is waiting, so
an idle window runs no timers at all.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer

__all__ = ["Throttle"]


class Throttle(QObject):
    def __init__(
        self, func: Callable[[], object], interval_ms: int, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._func = func
        self._interval_ms = interval_ms
        self._last = 0.0
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._fire)
        self._stopped = False

    @property
    def pending(self) -> bool:
        return self._timer.isActive()

    def __call__(self, *_args: object) -> None:
        """Ask for a run (signal arguments are ignored, so it can be a slot of any signal)."""
        if self._stopped or self._timer.isActive():
            return
        since_ms = (time.monotonic() - self._last) * 1000
        if since_ms >= self._interval_ms:
            # Not run here: the caller may be deep in a receive callback. A zero-delay timer
            # runs it on the next turn, with everything else that arrived in this one.
            self._timer.start(0)
        else:
            self._timer.start(max(1, int(self._interval_ms - since_ms)))

    def flush(self) -> None:
        """Run a waiting call now."""
        if self._timer.isActive():
            self._timer.stop()
            self._fire()

    def stop(self) -> None:
        self._stopped = True
        self._timer.stop()

    def _fire(self) -> None:
        self._last = time.monotonic()
        self._func()
