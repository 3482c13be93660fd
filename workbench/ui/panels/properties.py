"""The Properties tab: name, buffer size and persistent → ``update()``."""

from __future__ import annotations

from PySide6.QtWidgets import QFormLayout, QPushButton, QWidget

from workbench.core.formatting import format_size
from workbench.net.tcp import DEFAULT_BUFFER_SIZE
from workbench.session.controls import Control
from workbench.sockets import SocketProperties
from workbench.ui.bridge import SocketSession, TaskRunner
from workbench.ui.panels.base import Panel
from workbench.ui.panels.properties_form import MAX_NAME_LENGTH, FieldWords, PropertiesFields
from workbench.ui.panels.widgets import compact_form, describe

__all__ = ["PropertiesPanel"]

_WORDS = FieldWords(
    prefix="properties",
    max_buffer_size=16 * 1024 * 1024,
    buffer_step=1024,
    buffer_default="default",
    buffer_tip="Largest chunk delivered per receive event; "
    f"0 = default ({format_size(DEFAULT_BUFFER_SIZE)})",
    persistent_text="&Persistent (restored at next start)",
    persistent_tip="A persistent socket is restored and reconnected when the workbench starts "
    "again",
)


class PropertiesPanel(Panel):
    """Name, buffer size and persistent → ``update()``."""

    MAX_BUFFER_SIZE = _WORDS.max_buffer_size
    MAX_NAME_LENGTH = MAX_NAME_LENGTH

    def __init__(
        self, session: SocketSession, runner: TaskRunner, parent: QWidget | None = None
    ) -> None:
        super().__init__(session, runner, parent)
        self.setObjectName("propertiesPanel")
        form = compact_form(QFormLayout(self))
        self.fields = PropertiesFields(form, _WORDS)
        self.nameEdit, self.nameError = self.fields.name, self.fields.name_error
        self.bufferSize, self.persistent = self.fields.buffer_size, self.fields.persistent

        self.applyButton = QPushButton("&Apply")
        self.applyButton.setObjectName("propertiesApply")
        describe(self.applyButton, "Apply properties", "Apply name, buffer size and persistent")
        self.result = self._result_label("update", "update", "propertiesResult")
        form.addRow(self.applyButton, self.result)

        self.nameEdit.textChanged.connect(self._validate)
        self.nameEdit.returnPressed.connect(self._apply)
        self.applyButton.clicked.connect(self._apply)
        self._validate()

    def _validate(self) -> bool:
        valid = self.fields.check_name()
        self._update_controls()
        return valid

    def _update_controls(self) -> None:
        self.applyButton.setEnabled(
            self.nameError.error is None and Control.UPDATE in self._allowed()
        )

    def properties(self) -> SocketProperties:
        """The form as ``SocketProperties`` (``buffer_size=0`` means the default, C2)."""
        return SocketProperties(
            name=self.nameEdit.text(),
            persistent=self.persistent.isChecked(),
            buffer_size=self.bufferSize.value(),
        )

    def _apply(self) -> None:
        if self._sid is None or not self._validate() or Control.UPDATE not in self._allowed():
            return
        props = self.properties()
        self._start("update", "update", lambda sid: self._session.sockets.update(sid, props))

    def _switched(self, previous: int | None, sid: int | None) -> None:
        self.fields.forget_shown()  # the next refresh fills every field

    def refresh(self) -> None:
        info = self._info()
        if info is not None:
            self.fields.fill(info.name, info.buffer_size, info.persistent)
