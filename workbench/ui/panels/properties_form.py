"""The fields a Properties tab has for every kind of socket: name, buffer size, persistent.

``PropertiesFields`` builds them on a form (TCP's ``PropertiesPanel`` and UDP's
``UdpPropertiesPanel`` give their own object names, limits and words), checks the name, and
fills them from the socket's info without overwriting a field the user has edited since the
last fill.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import QCheckBox, QFormLayout, QLineEdit, QSpinBox

from workbench.ui.panels.widgets import (
    FieldError,
    byte_count_suffix,
    column,
    describe,
    form_row,
)

__all__ = ["FieldWords", "PropertiesFields"]

#: The longest name the field takes.
MAX_NAME_LENGTH = 256

_MISSING: Any = object()


@dataclasses.dataclass(frozen=True)
class FieldWords:
    """What differs between the kinds: object names, the buffer size's range and words."""

    #: "properties" → propertiesName, propertiesBufferSize, propertiesPersistent
    prefix: str
    max_buffer_size: int
    buffer_step: int
    buffer_default: str  # the spin box's text for 0
    buffer_tip: str
    persistent_text: str
    persistent_tip: str


class PropertiesFields:
    """Name (with its error), buffer size and persistent, added to ``form`` in that order."""

    def __init__(self, form: QFormLayout, words: FieldWords) -> None:
        self.name = QLineEdit()
        self.name.setObjectName(f"{words.prefix}Name")
        self.name.setMaxLength(MAX_NAME_LENGTH)
        self.name.setPlaceholderText("unnamed")
        self.name.setClearButtonEnabled(True)
        describe(self.name, "Socket name", "A name for this socket, shown in the table")
        self.name_error = FieldError(self.name, "name")
        form_row(form, "&Name:", column(self.name, self.name_error), self.name)

        self.buffer_size = QSpinBox()
        self.buffer_size.setObjectName(f"{words.prefix}BufferSize")
        self.buffer_size.setRange(0, words.max_buffer_size)
        self.buffer_size.setSingleStep(words.buffer_step)
        self.buffer_size.setSpecialValueText(words.buffer_default)
        byte_count_suffix(self.buffer_size)
        self.buffer_size.setAccelerated(True)
        describe(self.buffer_size, "Buffer size", words.buffer_tip)
        form_row(form, "&Buffer size:", self.buffer_size, self.buffer_size)

        self.persistent = QCheckBox(words.persistent_text)
        self.persistent.setObjectName(f"{words.prefix}Persistent")
        describe(self.persistent, "Persistent", words.persistent_tip)
        form.addRow("", self.persistent)
        #: field → the value the last fill put there (a field that differs was edited)
        self._shown: dict[str, Any] = {}

    def check_name(self) -> bool:
        """Show what is wrong with the name, if anything; True when nothing is."""
        text = self.name.text()
        bad = any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in text)
        self.name_error.set_error("A name cannot contain control characters." if bad else None)
        return not bad

    def forget_shown(self) -> None:
        """Another socket is shown: the next fill sets every field."""
        self._shown.clear()

    def fill(self, name: str | None, buffer_size: int | None, persistent: bool) -> None:
        """Show the socket's properties, except in a field the user edited since last time."""
        self._sync("name", self.name.text(), name or "", self.name.setText)
        self._sync("buffer", self.buffer_size.value(), buffer_size or 0, self.buffer_size.setValue)
        self._sync(
            "persistent", self.persistent.isChecked(), persistent, self.persistent.setChecked
        )

    def _sync(self, key: str, current: Any, new: Any, setter: Callable[[Any], None]) -> None:
        shown = self._shown.get(key, _MISSING)
        if (shown is _MISSING or current == shown) and current != new:
            setter(new)
        self._shown[key] = new
