"""A section that folds: a header button with an arrow, and the widgets under it.

Tabs that hold more than their share of the window's height at 1280x800 (TLS, Rules) fold
what is used less, so what a user came for is in view without scrolling. A folded section
never hides a value silently: its header names what is set inside (``set_summary``), and the
owner unfolds it when something inside needs the user (an error, a value for this socket).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPaintEvent
from PySide6.QtWidgets import (
    QSizePolicy,
    QStyle,
    QStyleOptionToolButton,
    QStylePainter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

__all__ = ["Section"]


class _Header(QToolButton):
    """The header: its text whole in ``text()``, drawn elided (…) when the tab is narrower;
    it never widens the tab, however much its summary names."""

    def paintEvent(self, event: QPaintEvent) -> None:
        option = QStyleOptionToolButton()
        self.initStyleOption(option)
        # The arrow stands where an icon would, beside the text; what is left is the text's.
        room = self.width() - option.iconSize.width() - 16
        option.text = self.fontMetrics().elidedText(
            self.text(), Qt.TextElideMode.ElideRight, max(room, 0)
        )
        QStylePainter(self).drawComplexControl(QStyle.ComplexControl.CC_ToolButton, option)


class Section(QWidget):
    """A header (``header``, a checkable tool button: checked = unfolded) over ``body``.

    Signals: ``toggled(bool)`` — unfolded (True) or folded, by the user or by ``set_expanded``.
    """

    toggled = Signal(bool)

    def __init__(
        self,
        title: str,
        name: str,
        tip: str,
        *,
        expanded: bool = False,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self._title = title
        self.header = _Header()
        self.header.setObjectName(f"{name}Header")
        self.header.setCheckable(True)
        self.header.setAutoRaise(True)
        self.header.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        # Ignored: as wide as the tab gives, never wider (a long summary is elided).
        self.header.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.header.setAccessibleName(title)
        self.header.setToolTip(tip)
        self.body = QWidget()
        self.body.setObjectName(f"{name}Body")
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(0)
        box.addWidget(self.header)
        box.addWidget(self.body)
        self._summary = ""
        self.header.toggled.connect(self._toggled)
        self.header.setChecked(expanded)
        self._toggled(expanded)

    @property
    def expanded(self) -> bool:
        return self.header.isChecked()

    def set_expanded(self, on: bool) -> None:
        self.header.setChecked(on)

    def set_summary(self, summary: str) -> None:
        """What is set inside, said on the header while folded (``""``: nothing)."""
        self._summary = summary
        self._show_title()

    def _toggled(self, on: bool) -> None:
        self.body.setVisible(on)
        self.header.setArrowType(Qt.ArrowType.DownArrow if on else Qt.ArrowType.RightArrow)
        self._show_title()
        self.toggled.emit(on)

    def _show_title(self) -> None:
        folded = not self.header.isChecked() and self._summary
        self.header.setText(f"{self._title} ({self._summary})" if folded else self._title)
