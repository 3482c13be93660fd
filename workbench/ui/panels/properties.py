"""The Properties tab: name, buffer size and persistent → ``update()``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import QCheckBox, QFormLayout, QLineEdit, QPushButton, QSpinBox, QWidget

from workbench.core.formatting import format_size
from workbench.net.tcp import DEFAULT_BUFFER_SIZE
from workbench.session.controls import Control
from workbench.sockets import SocketProperties
from workbench.ui.bridge import SocketSession, TaskRunner
from workbench.ui.panels.base import Panel
from workbench.ui.panels.widgets import (
    FieldError,
    byte_count_suffix,
    column,
    compact_form,
    describe,
    form_row,
)

__all__ = ["PropertiesPanel"]

_MISSING: Any = object()


class PropertiesPanel(Panel):
    """Name, buffer size and persistent → ``update()``."""

    MAX_BUFFER_SIZE = 16 * 1024 * 1024
    MAX_NAME_LENGTH = 256

    def __init__(
        self, session: SocketSession, runner: TaskRunner, parent: QWidget | None = None
    ) -> None:
        super().__init__(session, runner, parent)
        self.setObjectName("propertiesPanel")
        #: field → the value the last refresh put there (a field that differs was edited)
        self._shown: dict[str, Any] = {}
        form = compact_form(QFormLayout(self))
        self._build_name(form)
        self._build_buffer_size(form)

        self.persistent = QCheckBox("&Persistent (restored at next start)")
        self.persistent.setObjectName("propertiesPersistent")
        describe(
            self.persistent,
            "Persistent",
            "A persistent socket is restored and reconnected when the workbench starts again",
        )
        form.addRow("", self.persistent)

        self.applyButton = QPushButton("&Apply")
        self.applyButton.setObjectName("propertiesApply")
        describe(self.applyButton, "Apply properties", "Apply name, buffer size and persistent")
        self.result = self._result_label("update", "update", "propertiesResult")
        form.addRow(self.applyButton, self.result)

        self.nameEdit.textChanged.connect(self._validate)
        self.nameEdit.returnPressed.connect(self._apply)
        self.applyButton.clicked.connect(self._apply)
        self._validate()

    def _build_name(self, form: QFormLayout) -> None:
        self.nameEdit = QLineEdit()
        self.nameEdit.setObjectName("propertiesName")
        self.nameEdit.setMaxLength(self.MAX_NAME_LENGTH)
        self.nameEdit.setPlaceholderText("unnamed")
        self.nameEdit.setClearButtonEnabled(True)
        describe(self.nameEdit, "Socket name", "A name for this socket, shown in the table")
        self.nameError = FieldError(self.nameEdit, "name")
        form_row(form, "&Name:", column(self.nameEdit, self.nameError), self.nameEdit)

    def _build_buffer_size(self, form: QFormLayout) -> None:
        self.bufferSize = QSpinBox()
        self.bufferSize.setObjectName("propertiesBufferSize")
        self.bufferSize.setRange(0, self.MAX_BUFFER_SIZE)
        self.bufferSize.setSingleStep(1024)
        self.bufferSize.setSpecialValueText("default")
        byte_count_suffix(self.bufferSize)
        self.bufferSize.setAccelerated(True)
        describe(
            self.bufferSize,
            "Buffer size",
            "Largest chunk delivered per receive event; "
            f"0 = default ({format_size(DEFAULT_BUFFER_SIZE)})",
        )
        form_row(form, "&Buffer size:", self.bufferSize, self.bufferSize)

    def _name_error(self) -> str | None:
        text = self.nameEdit.text()
        if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in text):
            return "A name cannot contain control characters."
        return None

    def _validate(self) -> bool:
        error = self._name_error()
        self.nameError.set_error(error)
        self._update_controls()
        return error is None

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
        self._shown.clear()  # the next refresh fills every field

    def refresh(self) -> None:
        info = self._info()
        if info is None:
            return
        self._sync("name", self.nameEdit.text(), info.name or "", self.nameEdit.setText)
        self._sync(
            "buffer", self.bufferSize.value(), info.buffer_size or 0, self.bufferSize.setValue
        )
        self._sync(
            "persistent", self.persistent.isChecked(), info.persistent, self.persistent.setChecked
        )

    def _sync(self, key: str, current: Any, new: Any, setter: Callable[[Any], None]) -> None:
        """Show ``new`` unless the user changed the field since it was last filled."""
        shown = self._shown.get(key, _MISSING)
        if (shown is _MISSING or current == shown) and current != new:
            setter(new)
        self._shown[key] = new
