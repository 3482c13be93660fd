"""The Conversations pane's editor: a conversation file's TOML text, checked as it is typed.

The text is read by ``workbench.core.conversation.parse_conversation``, the same check that
``socket-workbench run`` makes before it connects: a file the editor accepts runs headless
too. The check runs a moment after typing stops (one ``Throttle``); an error's line is
highlighted in the text and its reason shown under it.

Variables (``${NAME}`` in the file) come from the small "Variables" field, ``NAME=VALUE``
per line: what ``--var NAME=VALUE`` gives on the command line.
"""

from __future__ import annotations

import re

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QFontDatabase, QTextCursor, QTextFormat
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from workbench.core.conversation import Conversation, ConversationError, parse_conversation
from workbench.ui.throttle import Throttle

__all__ = ["VALIDATE_MS", "ConversationEditor", "parse_variables"]

#: How long typing may pause before the text is checked again, in milliseconds.
VALIDATE_MS = 300

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ERROR_COLOR = "#c01c28"
_ERROR_LINE = QColor(224, 27, 36, 60)
#: What a new, unsaved conversation is shown as in errors.
UNTITLED = "untitled.toml"


def parse_variables(text: str) -> dict[str, str]:
    """``NAME=VALUE`` per line (blank lines and ``#`` comments skipped; spaces around the
    ``=`` do not count), as ``--var`` reads them; ``ValueError`` naming the first bad line."""
    found: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, equals, value = line.partition("=")
        name = name.strip()
        if not equals or not _NAME.fullmatch(name):
            raise ValueError(f"Variables, line {number}: {line!r} is not NAME=VALUE")
        # "who = alice", spaced as TOML is, means "alice": the line's end is stripped too, so
        # a value could never keep spaces at that end either.
        found[name] = value.strip()
    return found


class ConversationEditor(QWidget):
    """The TOML text (``conversationEditor``), its error (``conversationError``) and the
    variables (``conversationVariables``).

    Signals:
        validated(object): after each check, the ``Conversation`` or the
            ``ConversationError`` (a bad variable line is one too, with no line).
    """

    validated = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        #: the file the text is read from and saved to ("" until it is saved).
        self.path = ""
        self.result: Conversation | ConversationError | None = None
        font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.text = QPlainTextEdit()
        self.text.setObjectName("conversationEditor")
        self.text.setAccessibleName("Conversation file")
        self.text.setToolTip(
            "The conversation file (TOML): host, port and [[steps]] of expect, expect_regex, "
            "expect_hex, send, send_hex, starttls, sleep or expect_closed"
        )
        self.text.setFont(font)
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.text.setTabChangesFocus(True)
        self.text.setPlaceholderText('host = "127.0.0.1"\nport = 7\n\n[[steps]]\nsend = ...')
        self.error_label = QLabel()
        self.error_label.setObjectName("conversationError")
        self.error_label.setAccessibleName("Conversation file error")
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet(f"QLabel {{ color: {_ERROR_COLOR}; }}")
        self.error_label.hide()
        self.variables = QPlainTextEdit()
        self.variables.setObjectName("conversationVariables")
        self.variables.setAccessibleName("Variables")
        self.variables.setToolTip(
            "Variables for ${NAME} in the file, NAME=VALUE per line (as --var on the command line)"
        )
        self.variables.setPlaceholderText("NAME=VALUE per line, for ${NAME} in the file")
        self.variables.setFont(font)
        self.variables.setTabChangesFocus(True)
        line = self.variables.fontMetrics().lineSpacing()
        self.variables.setFixedHeight(line * 2 + 10)
        self._build_layout()
        self._throttle = Throttle(self.validate, VALIDATE_MS, self)
        self.text.textChanged.connect(self._throttle)
        self.variables.textChanged.connect(self._throttle)

    def _build_layout(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.error_label)
        row = QHBoxLayout()
        row.setSpacing(6)
        label = QLabel("&Variables:")
        label.setBuddy(self.variables)
        label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        row.addWidget(label)
        row.addWidget(self.variables, 1)
        layout.addLayout(row)

    # -- the text ---------------------------------------------------------------------------

    def set_text(self, text: str, path: str = "") -> None:
        """Show ``text`` (a file's, or a recording) as unmodified; check it at once."""
        self.path = path
        self.text.setPlainText(text)
        self.text.document().setModified(False)
        self.validate()

    def plain_text(self) -> str:
        return self.text.toPlainText()

    @property
    def modified(self) -> bool:
        return self.text.document().isModified()

    def set_modified(self, modified: bool) -> None:
        self.text.document().setModified(modified)

    def shown_path(self) -> str:
        return self.path or UNTITLED

    def go_to_line(self, line: int) -> None:
        """Put the cursor on ``line`` (from 1) and show it."""
        block = self.text.document().findBlockByNumber(max(line - 1, 0))
        if block.isValid():
            self.text.setTextCursor(QTextCursor(block))
            self.text.centerCursor()
            self.text.setFocus()

    # -- checking ---------------------------------------------------------------------------

    def variable_values(self) -> dict[str, str]:
        """The Variables field's values (``ValueError`` for a bad line)."""
        return parse_variables(self.variables.toPlainText())

    def validate(self) -> Conversation | None:
        """Check the text now: the ``Conversation``, or None (its error shown)."""
        self._throttle.flush()
        path = self.shown_path()
        result: Conversation | ConversationError
        try:
            result = parse_conversation(self.plain_text(), path, self.variable_values())
        except ValueError as exc:  # ConversationError, or a bad Variables line
            result = (
                exc if isinstance(exc, ConversationError) else ConversationError(path, str(exc))
            )
        self.result = result
        self._show(result if isinstance(result, ConversationError) else None)
        self.validated.emit(result)
        return result if isinstance(result, Conversation) else None

    @property
    def error(self) -> ConversationError | None:
        return self.result if isinstance(self.result, ConversationError) else None

    def _show(self, error: ConversationError | None) -> None:
        selections: list[QTextEdit.ExtraSelection] = []
        if error is None:
            self.error_label.clear()
            self.error_label.hide()
        else:
            where = f"Line {error.line}: " if error.line is not None else ""
            self.error_label.setText(where + error.reason)
            self.error_label.show()
            if error.line is not None:
                selections.append(self._line_selection(error.line))
        self.text.setExtraSelections(selections)

    def _line_selection(self, line: int) -> QTextEdit.ExtraSelection:
        selection = QTextEdit.ExtraSelection()
        selection.format.setBackground(_ERROR_LINE)
        selection.format.setProperty(QTextFormat.Property.FullWidthSelection, True)
        block = self.text.document().findBlockByNumber(line - 1)
        selection.cursor = QTextCursor(block)
        return selection

    def error_line(self) -> int | None:
        """The line highlighted as wrong, or None."""
        selections = self.text.extraSelections()
        if not selections:
            return None
        return int(selections[0].cursor.blockNumber()) + 1

    def shutdown(self) -> None:
        self._throttle.stop()
