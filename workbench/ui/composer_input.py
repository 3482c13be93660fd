"""The send composer's editor: Ctrl+Enter sends, Up/Down at the edges walk the history, a paste
too large for Qt's text layout is held aside, and an input error is underlined in place."""

from __future__ import annotations

from typing import Protocol

from PySide6.QtCore import QMimeData, Qt
from PySide6.QtGui import QColor, QKeyEvent, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import QPlainTextEdit, QTextEdit, QWidget

from workbench.core import codecs
from workbench.core.compose import has_lone_surrogate

__all__ = ["LARGE_PASTE", "ComposerInput", "InputOwner", "make_input", "underline_error"]

#: A paste of more characters than this is held aside as a payload, not put in the editor.
LARGE_PASTE = 100_000

#: The red of an input error's wavy underline, and the translucent red behind it.
_UNDERLINE = QColor("#e01b24")
_UNDERLINE_BACKGROUND = QColor(224, 27, 36, 60)


class InputOwner(Protocol):
    """What the editor asks of the composer it sits in."""

    def send(self) -> bool: ...

    def history_back(self) -> bool: ...

    def history_forward(self) -> bool: ...

    def set_payload(self, text: str) -> None: ...


class ComposerInput(QPlainTextEdit):
    """The editor: Ctrl+Enter sends, Up/Down at the edges walk the history, big pastes aside."""

    def __init__(self, owner: InputOwner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._owner = owner

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if self._handle_key(event):
            event.accept()
            return
        super().keyPressEvent(event)

    def _handle_key(self, event: QKeyEvent) -> bool:
        key = event.key()
        mods = event.modifiers()
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and (
            mods & Qt.KeyboardModifier.ControlModifier
        ):
            self._owner.send()
            return True
        # (Arrow keys carry the keypad modifier on some platforms.)
        plain = mods in (Qt.KeyboardModifier.NoModifier, Qt.KeyboardModifier.KeypadModifier)
        if not plain:
            return False
        block = self.textCursor().blockNumber()
        if key == Qt.Key.Key_Up and block == 0:
            return self._owner.history_back()
        if key == Qt.Key.Key_Down and block == self.document().blockCount() - 1:
            return self._owner.history_forward()
        return False

    def insertFromMimeData(self, source: QMimeData) -> None:
        if source.hasText() and not self.isReadOnly():
            text = source.text()
            if has_lone_surrogate(text) or (
                len(text) + self.document().characterCount() > LARGE_PASTE
            ):
                if len(text) <= LARGE_PASTE:  # the paste makes the editor's text too long
                    cursor = self.textCursor()
                    old = self.toPlainText()
                    text = old[: cursor.selectionStart()] + text + old[cursor.selectionEnd() :]
                self._owner.set_payload(text)
                return
        super().insertFromMimeData(source)


def make_input(owner: InputOwner, parent: QWidget) -> ComposerInput:
    """The composer's editor (``sendInput``), with its tip, placeholder and height."""
    edit = ComposerInput(owner, parent)
    edit.setObjectName("sendInput")
    edit.setAccessibleName("Data to send")
    edit.setToolTip(
        "Ctrl+Enter sends. Up/Down (on the first/last line) recall what you sent.\n"
        "Hex: 68 65 6c 6c 6f, 68656c6c6f or 0x68,0x65. Escaped: \\r \\n \\t \\0 \\\\ \\xNN."
    )
    edit.setPlaceholderText("Data to send (Ctrl+Enter)")
    edit.setTabChangesFocus(True)
    edit.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
    edit.setMinimumHeight(edit.fontMetrics().lineSpacing() * 2 + 12)
    return edit


def underline_error(edit: QPlainTextEdit, error: codecs.InputError | None) -> None:
    """Underline ``error``'s characters in ``edit`` with a red wave (``None``: no underline)."""
    if error is None:
        edit.setExtraSelections([])
        return
    sel = QTextEdit.ExtraSelection()
    fmt = QTextCharFormat()
    fmt.setUnderlineStyle(QTextCharFormat.UnderlineStyle.WaveUnderline)
    fmt.setUnderlineColor(_UNDERLINE)
    # A one-character wave is easy to miss: a translucent red behind it too (readable on
    # light and dark palettes alike).
    fmt.setBackground(_UNDERLINE_BACKGROUND)
    fmt.setToolTip(str(error))
    sel.format = fmt
    document = edit.document()
    cursor = QTextCursor(document)
    end = max(0, document.characterCount() - 1)
    # InputError counts str characters, QTextCursor UTF-16 units (an emoji is 2 there).
    text = edit.toPlainText()
    start = codecs.utf16_offset(text, error.position)
    stop = codecs.utf16_offset(text, error.position + max(1, error.length))
    cursor.setPosition(min(start, end))
    cursor.setPosition(min(stop, end), QTextCursor.MoveMode.KeepAnchor)
    sel.cursor = cursor
    edit.setExtraSelections([sel])
