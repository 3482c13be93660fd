"""The data pane's find bar: what to look for (text in the view's encoding, or hex bytes)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLineEdit, QToolButton, QWidget

from workbench.core import codecs


class FindBar(QWidget):
    """The find field, its kind (Text or Hex) and the previous/next buttons.

    Signals:
        findRequested(bool): find the next match (False) or the previous one (True).
        errorChanged(str): the field's text cannot be searched for ("" once it changes).
    """

    findRequested = Signal(bool)
    errorChanged = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.find_input = QLineEdit(self)
        self.find_input.setObjectName("findInput")
        self.find_input.setPlaceholderText("Find (text, or hex: 0d 0a)")
        self.find_input.setAccessibleName("Find")
        self.find_input.setToolTip(
            'Enter: next match, Shift+Enter: previous. Start with "hex:" (or pick Hex) to '
            "search for bytes"
        )
        self.find_kind = QComboBox(self)
        self.find_kind.setObjectName("findKind")
        self.find_kind.addItems(["Text", "Hex"])
        self.find_kind.setAccessibleName("Find what")
        self.find_kind.setToolTip("Search for text (in the chosen encoding) or hex bytes")
        self.match_case = QCheckBox("Aa", self)
        self.match_case.setObjectName("findMatchCase")
        self.match_case.setAccessibleName("Match case")
        self.match_case.setToolTip(
            "Match case (text only: hex bytes always match exactly). Off: A-Z and a-z match "
            "either case"
        )
        self.find_prev = self._button("findPrevious", "\u25b2", "Previous match", "Shift+F3")
        self.find_next = self._button("findNext", "\u25bc", "Next match", "F3")

        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.find_input, 1)
        row.addWidget(self.find_kind)
        row.addWidget(self.match_case)
        row.addWidget(self.find_prev)
        row.addWidget(self.find_next)

        self.find_next.clicked.connect(lambda: self.findRequested.emit(False))
        self.find_prev.clicked.connect(lambda: self.findRequested.emit(True))
        self.find_input.returnPressed.connect(self._on_return)
        self.find_input.textChanged.connect(lambda _t: self.show_error(""))

    def _button(self, name: str, arrow: str, what: str, key: str) -> QToolButton:
        button = QToolButton(self)
        button.setObjectName(name)
        button.setText(arrow)
        button.setToolTip(f"{what} ({key})")
        button.setAccessibleName(what)
        return button

    def focus_input(self) -> None:
        self.find_input.setFocus()
        self.find_input.selectAll()

    def _as_hex(self) -> tuple[bool, str]:
        """(whether the field is hex bytes, its text without a "hex:" prefix)."""
        text = self.find_input.text()
        if text.lower().startswith("hex:"):
            return True, text[4:]
        return self.find_kind.currentText() == "Hex", text

    def ignores_case(self) -> bool:
        """Text is found in either case unless Match case is ticked; hex bytes never are."""
        return not self._as_hex()[0] and not self.match_case.isChecked()

    def needle(self, encoding: str) -> bytes | None:
        """The field's bytes (text encoded in ``encoding``), or None (and an error shown)."""
        as_hex, text = self._as_hex()
        try:
            data = codecs.parse_hex(text) if as_hex else codecs.encode_text(text, encoding)
        except codecs.InputError as exc:  # (encode_text says which character cannot be)
            self.show_error(f"Find: {exc}")
            return None
        return data or None

    def show_error(self, text: str) -> None:
        """Mark the field invalid with this message ("" clears it)."""
        self.find_input.setProperty("invalid", bool(text))
        self.find_input.setStyleSheet("QLineEdit { border: 1px solid #c01c28; }" if text else "")
        self.errorChanged.emit(text)

    def _on_return(self) -> None:
        mods = QGuiApplication.keyboardModifiers()
        self.findRequested.emit(bool(mods & Qt.KeyboardModifier.ShiftModifier))
