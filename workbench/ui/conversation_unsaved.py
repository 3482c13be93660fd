"""The Conversations pane's question before its editor's unsaved text is replaced or lost.

New, Open…, Record, opening a file from Run all's summary and quitting the window each
replace or drop the editor's text; while it holds changes that are not saved, they ask first
(Save, Discard or Cancel). The box is non-modal (``QMessageBox.open()``, never ``exec()`` nor
the static helpers: no nested event loop under qasync) and calls back once answered.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QMessageBox, QWidget

from workbench.ui.conversation_editor import ConversationEditor

__all__ = ["UnsavedConversation"]

_Button = QMessageBox.StandardButton

#: ``save(then)``: save the text (asking for a file when it has none), then run ``then``;
#: ``then`` never runs when the text was not saved (the file dialog cancelled, a write error).
Save = Callable[[Callable[[], object]], object]


class UnsavedConversation(QObject):
    """Asks, over ``parent``, before ``editor``'s unsaved text goes; ``box`` is the question
    open now (``None`` when none is), its object name ``unsavedConversationBox``.

    ``blank`` is text that holds nothing to lose (New's template, untouched): it never asks.
    """

    def __init__(
        self, parent: QWidget, editor: ConversationEditor, save: Save, blank: str = ""
    ) -> None:
        super().__init__(parent)
        self._parent = parent
        self._editor = editor
        self._save = save
        self._blank = blank
        self.box: QMessageBox | None = None

    @property
    def unsaved(self) -> bool:
        """The text has changes that saving would keep and replacing it would lose."""
        return self._editor.modified and self._editor.plain_text() not in ("", self._blank)

    def ask_then(self, proceed: Callable[[], object], doing: str) -> bool:
        """Run ``proceed`` now when nothing is unsaved (True); else ask, naming what the user
        is ``doing`` ("opening another conversation"), and run it once the text is saved
        (Save) or given up (Discard); Cancel runs nothing and leaves the text as it is."""
        if not self.unsaved:
            proceed()
            return True
        if self.box is not None:
            # One question at a time: asking again only brings the open one to the front.
            self.box.raise_()
            self.box.activateWindow()
            return False
        box = self._question(doing)

        def answered(_result: int) -> None:
            self.box = None
            clicked = box.standardButton(box.clickedButton())
            if clicked == _Button.Save:
                self._save(proceed)
            elif clicked == _Button.Discard:
                proceed()

        box.finished.connect(answered)
        self.box = box
        box.open()
        return False

    def _question(self, doing: str) -> QMessageBox:
        path = self._editor.path
        text = (
            f"Save the changes to {Path(path).name} before {doing}?"
            if path
            else f"Save this conversation before {doing}? It has never been saved."
        )
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            "Unsaved conversation",
            text,
            _Button.Save | _Button.Discard | _Button.Cancel,
            self._parent,
        )
        box.setObjectName("unsavedConversationBox")
        box.setInformativeText("Discard throws the changes away; there is no undo.")
        box.setDefaultButton(_Button.Save)
        box.setEscapeButton(_Button.Cancel)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        return box
