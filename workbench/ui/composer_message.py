"""The composer's message beside its buttons: one line, never clipped.

The composer gets the height of its one row of controls, so a word-wrapped message of three
lines (a 10 MB paste's error) was cut off at the first. This label shows the message on one
line, elided at the right when it does not fit, and the whole message is always in its tooltip
and accessible description; ``text()`` stays the whole message.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QPainter, QPaintEvent, QPalette
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

__all__ = ["MIN_CHARS", "SEND_TIP", "MessageLabel", "SendTarget"]

#: The least width the message gets, in average characters.
MIN_CHARS = 16
#: the Send button's tip while the socket can be sent to.
SEND_TIP = "Send (Ctrl+Enter)"


class MessageLabel(QLabel):
    """A one-line message, elided to the width it has; the whole text in the tooltip."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWordWrap(False)
        # Takes the width the row leaves, but never less than a few words; it never asks for
        # more (the text is elided instead), so a long message does not widen the window.
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)

    def setText(self, text: str, /) -> None:
        super().setText(text)
        self.setToolTip(text)
        self.setAccessibleDescription(text)
        self.update()

    def shown_text(self) -> str:
        """What is painted: the message on one line, elided to the label's width."""
        one_line = " ".join(self.text().split())
        return self.fontMetrics().elidedText(
            one_line, Qt.TextElideMode.ElideRight, max(0, self.contentsRect().width())
        )

    def sizeHint(self) -> QSize:
        return self.minimumSizeHint()

    def minimumSizeHint(self) -> QSize:
        metrics = self.fontMetrics()
        return QSize(metrics.averageCharWidth() * MIN_CHARS, metrics.height())

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        # Through the style, so that the style sheet's colour applies as it did to QLabel.
        self.style().drawItemText(
            painter,
            self.contentsRect(),
            int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
            self.palette(),
            self.isEnabled(),
            self.shown_text(),
            QPalette.ColorRole.WindowText,
        )


class SendTarget:
    """Whether the composer's socket can be sent to now, and if not why: the Send button's
    tip, and the message beside it when a send is tried anyway (Ctrl+Enter)."""

    def __init__(self, button: QWidget, message: MessageLabel) -> None:
        self._button = button
        self._message = message
        self.ok = True
        self._refusal = ""

    def set(self, ok: bool, reason: str) -> None:
        self.ok = ok
        self._refusal = "" if ok else reason
        tip = f"Cannot send now: {reason}" if not ok and reason else SEND_TIP
        if self._button.toolTip() != tip:
            self._button.setToolTip(tip)
            self._button.setAccessibleDescription(tip)

    def refused(self) -> bool:
        """True (and the reason shown beside Send) when a send cannot go now."""
        if not self.ok and self._refusal:
            self._message.setText(f"Cannot send now: {self._refusal}")
        return not self.ok
