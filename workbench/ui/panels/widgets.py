"""The small pieces every panel is built from: a result label, a field's error label, a port
field, and the layout helpers that keep the four panels alike."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLayout,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from workbench.core.formatting import describe_result
from workbench.ui import validators

__all__ = [
    "ERROR_COLOR",
    "OK_COLOR",
    "WARNING_COLOR",
    "FieldError",
    "PortEdit",
    "ResultLabel",
    "byte_count_suffix",
    "column",
    "compact_form",
    "describe",
    "form_row",
    "line",
    "set_text",
]

#: Mid-tone colours that stay readable on light and dark themes.
OK_COLOR = "#1f883d"
ERROR_COLOR = "#d1242f"
WARNING_COLOR = "#bc4c00"


def describe(widget: QWidget, name: str, tip: str) -> QWidget:
    """Give ``widget`` its accessible name and tooltip (every control has both)."""
    widget.setAccessibleName(name)
    widget.setToolTip(tip)
    return widget


def byte_count_suffix(box: QSpinBox) -> None:
    """Give ``box`` a " bytes" suffix that reads "1 byte" at 1 (never "1 bytes")."""

    def follow(value: int) -> None:
        box.setSuffix(" byte" if value == 1 else " bytes")

    follow(box.value())
    box.valueChanged.connect(follow)


def compact_form(form: QFormLayout) -> QFormLayout:
    form.setContentsMargins(4, 4, 4, 4)
    form.setVerticalSpacing(4)
    form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
    form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.DontWrapRows)
    return form


def form_row(form: QFormLayout, text: str, field: QWidget | QLayout, buddy: QWidget) -> QLabel:
    """A labelled row whose mnemonic focuses ``buddy``."""
    label = QLabel(text)
    label.setBuddy(buddy)
    form.addRow(label, field)
    return label


def column(*widgets: QWidget) -> QVBoxLayout:
    """A field with its error label underneath, in one form row."""
    box = QVBoxLayout()
    box.setContentsMargins(0, 0, 0, 0)
    box.setSpacing(1)
    for widget in widgets:
        box.addWidget(widget)
    return box


def line(*widgets: QWidget, stretch: int | None = None) -> QHBoxLayout:
    """Widgets side by side; ``stretch`` is the index of the one that grows (else a stretch
    after them)."""
    box = QHBoxLayout()
    box.setContentsMargins(0, 0, 0, 0)
    box.setSpacing(4)
    for index, widget in enumerate(widgets):
        box.addWidget(widget, 1 if index == stretch else 0)
    if stretch is None:
        box.addStretch(1)
    return box


def set_text(label: QLabel | QAbstractButton, text: str) -> None:
    """Set ``text`` only when it differs: refreshes come at up to 40 Hz."""
    if label.text() != text:
        label.setText(text)


class ResultLabel(QLabel):
    """The result of a panel's last call, shown beside the button that made it.

    ``code`` is the last result code shown (``None`` while a call runs, after a non-code
    failure, or when nothing was called yet).
    """

    def __init__(self, what: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.code: int | None = None
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setWordWrap(True)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.setAccessibleName(f"{what} result")
        self.setToolTip(f"The result of the last {what} call on this socket")

    def show_code(self, code: int, detail: str | None = None) -> None:
        """The code in words, and for a failure the OS's or OpenSSL's own reason below it."""
        text = describe_result(code)
        if code != 0 and detail:
            text = f"{text}\n({detail})"
        self._show(text, OK_COLOR if code == 0 else ERROR_COLOR)
        self.code = code

    def show_message(self, text: str, color: str | None) -> None:
        self._show(text, color)

    def clear_result(self) -> None:
        self._show("", None)

    def _show(self, text: str, color: str | None) -> None:
        self.code = None
        style = f"color: {color};" if color else ""
        if text == self.text() and style == self.styleSheet():
            return  # refreshes come at up to 40 Hz: restyling is not free
        self.setText(text)
        self.setStyleSheet(style)
        self.setAccessibleDescription(text)


class FieldError(QLabel):
    """What is wrong with one field; hidden while the field is fine."""

    def __init__(self, field: QWidget, what: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._field = field
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setWordWrap(True)
        self.setStyleSheet(f"color: {ERROR_COLOR};")
        self.setAccessibleName(f"{what} error")
        self.setToolTip(f"Why the {what} cannot be used")
        self.hide()

    def set_error(self, text: str | None) -> None:
        set_text(self, text or "")
        self.setVisible(bool(text))
        self._field.setAccessibleDescription(text or "")

    @property
    def error(self) -> str | None:
        return self.text() or None


class PortEdit(QLineEdit):
    """A TCP port typed as text so that a wrong one can be explained (a ``QSpinBox`` silently
    refuses the keystroke). ``value()``/``setValue()`` mirror ``QSpinBox`` for convenience;
    ``value()`` is ``None`` while the text is not a port ``validators.parse_port`` accepts."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMaxLength(16)
        self.setPlaceholderText("1-65535")
        self.setInputMethodHints(Qt.InputMethodHint.ImhDigitsOnly)

    def value(self) -> int | None:
        port: int | None = validators.parse_port(self.text())
        return port

    def setValue(self, port: int) -> None:
        self.setText(str(port))
