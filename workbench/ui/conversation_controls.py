"""The Conversations pane's controls: its actions, buttons and labels, its toolbar, and the
layout of its two tabs (the conversation, and Run all's summary)."""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QLabel,
    QPushButton,
    QSplitter,
    QStyle,
    QTabWidget,
    QToolBar,
    QWidget,
)

from workbench.ui.theme import PaletteWatcher, palette_icon

__all__ = ["ConversationControls"]


class ConversationControls(QObject):
    """What the pane (``parent``) shows around its editor and lists; the pane connects them.

    Actions: ``new_action`` (``newConversationAction``), ``open_action``, ``save_action``,
    ``save_as_action``, ``record_action`` (``recordConversationAction``). Buttons:
    ``run_button`` (``runConversationButton``), ``run_selected_button``
    (``runOnSelectedButton``), ``stop_button``, ``run_folder_button``. Labels: ``file_label``
    (the file's name, • when modified), ``status_label`` (the last run's result).
    """

    def __init__(self, pane: QWidget) -> None:
        super().__init__(pane)
        self._pane = pane
        self._build_actions()
        self._build_buttons()
        self._build_labels()
        self._palette_watcher = PaletteWatcher(pane, self.draw_icons)
        self.draw_icons()

    def _action(
        self, name: str, text: str, tip: str, icon: QStyle.StandardPixmap | None = None
    ) -> QAction:
        action = QAction(text, self._pane)
        action.setObjectName(name)
        action.setToolTip(tip)
        action.setStatusTip(tip)
        if icon is not None:
            action.setIcon(self._pane.style().standardIcon(icon))
        return action

    def _build_actions(self) -> None:
        pixmap = QStyle.StandardPixmap
        a = self._action
        self.new_action = a(
            "newConversationAction", "New", "A new conversation from a template", pixmap.SP_FileIcon
        )
        self.open_action = a(
            "openConversationAction",
            "Open…",
            "Open a conversation file (.toml)",
            pixmap.SP_DialogOpenButton,
        )
        self.save_action = a(
            "saveConversationAction",
            "Save",
            "Save the conversation to its file",
            pixmap.SP_DialogSaveButton,
        )
        # No Ctrl+S: the window's Save data has it, and two would make it ambiguous (neither
        # runs).
        self.save_as_action = a(
            "saveConversationAsAction", "Save as…", "Save the conversation to another file"
        )
        self.record_action = a(
            "recordConversationAction",
            "Record conversation",
            "Turn the selected TCP socket's last connection into a conversation",
        )

    def _button(self, name: str, text: str, tip: str) -> QPushButton:
        button = QPushButton(text)
        button.setObjectName(name)
        button.setToolTip(tip)
        button.setAccessibleName(text.rstrip("…"))
        return button

    def _build_buttons(self) -> None:
        b = self._button
        self.run_button = b("runConversationButton", "Run", "Run the conversation on a new socket")
        self.run_selected_button = b(
            "runOnSelectedButton",
            "Run on selected",
            "Run the steps on the selected connected TCP socket",
        )
        self.stop_button = b("stopConversationButton", "Stop", "Stop the run")
        self.run_folder_button = b(
            "runFolderButton",
            "Run all in folder…",
            "Run every .toml file of a folder, one after another, each on a new socket",
        )
        icon = self._pane.style().standardIcon(QStyle.StandardPixmap.SP_DirIcon)
        self.run_folder_button.setIcon(icon)

    def _build_labels(self) -> None:
        self.file_label = QLabel()
        self.file_label.setObjectName("conversationFile")
        self.file_label.setAccessibleName("Conversation file name")
        self.status_label = QLabel()
        self.status_label.setObjectName("conversationStatus")
        self.status_label.setAccessibleName("Conversation run result")
        self.status_label.setWordWrap(True)
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

    def draw_icons(self) -> None:
        """The run buttons' icons, in the palette's colours (again after a theme switch)."""
        palette = self._pane.palette()
        self.run_button.setIcon(palette_icon("play", palette))
        self.run_selected_button.setIcon(palette_icon("play", palette))
        self.stop_button.setIcon(palette_icon("stop", palette))

    def toolbar(self) -> QToolBar:
        toolbar = QToolBar("Conversations")
        toolbar.setObjectName("conversationsToolbar")
        toolbar.setAccessibleName("Conversations toolbar")
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        toolbar.addActions([self.new_action, self.open_action, self.save_action])
        toolbar.addAction(self.save_as_action)
        toolbar.addSeparator()
        toolbar.addAction(self.record_action)
        toolbar.addSeparator()
        for button in (self.run_button, self.run_selected_button, self.stop_button):
            toolbar.addWidget(button)
        toolbar.addSeparator()
        toolbar.addWidget(self.run_folder_button)
        toolbar.addSeparator()
        toolbar.addWidget(self.file_label)
        return toolbar

    def tabs(self, editor: QWidget, steps: QWidget, summary: QWidget) -> QTabWidget:
        """Conversation (the editor beside the steps) and Run all (the summary)."""
        split = QSplitter(Qt.Orientation.Horizontal)
        split.setObjectName("conversationSplitter")
        split.setChildrenCollapsible(False)
        split.addWidget(editor)
        split.addWidget(steps)
        split.setStretchFactor(0, 4)
        split.setStretchFactor(1, 5)
        tabs = QTabWidget()
        tabs.setObjectName("conversationTabs")
        tabs.setAccessibleName("Conversation and Run all")
        tabs.setDocumentMode(True)
        tabs.addTab(split, "Conversation")
        tabs.addTab(summary, "Run all")
        return tabs
