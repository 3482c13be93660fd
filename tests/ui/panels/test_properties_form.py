"""workbench.ui.panels.properties_form: the name, buffer size and persistent fields every
Properties tab has, their checks, and a fill that never overwrites what the user edited."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QFormLayout, QWidget

from workbench.ui.panels.properties_form import FieldWords, PropertiesFields

WORDS = FieldWords(
    prefix="demo",
    max_buffer_size=1000,
    buffer_step=10,
    buffer_default="default",
    buffer_tip="how big",
    persistent_text="&Persistent",
    persistent_tip="kept",
)


def make(qtbot: Any) -> tuple[QWidget, PropertiesFields]:
    host = QWidget()
    qtbot.addWidget(host)
    return host, PropertiesFields(QFormLayout(host), WORDS)


def test_the_fields_carry_the_kind_s_names_and_limits(qtbot: Any) -> None:
    _host, fields = make(qtbot)  # the form lives while its widget does
    names = {w.objectName() for w in (fields.name, fields.buffer_size, fields.persistent)}
    assert names == {"demoName", "demoBufferSize", "demoPersistent"}
    assert fields.buffer_size.maximum() == 1000 and fields.buffer_size.singleStep() == 10
    assert fields.buffer_size.text() == "default"  # 0
    fields.buffer_size.setValue(1)
    assert fields.buffer_size.text() == "1 byte"


def test_a_name_with_a_control_character_is_refused_with_a_reason(qtbot: Any) -> None:
    _host, fields = make(qtbot)  # the form lives while its widget does
    fields.name.setText("a\tb")
    assert not fields.check_name()
    assert fields.name_error.error == "A name cannot contain control characters."
    fields.name.setText("ab")
    assert fields.check_name() and fields.name_error.error is None


def test_a_fill_keeps_what_the_user_edited_until_another_socket_is_shown(qtbot: Any) -> None:
    _host, fields = make(qtbot)  # the form lives while its widget does
    fields.fill("first", 100, False)
    assert (fields.name.text(), fields.buffer_size.value()) == ("first", 100)
    fields.buffer_size.setValue(200)  # the user's edit, not applied
    fields.fill("second", 300, True)
    assert fields.name.text() == "second" and fields.persistent.isChecked()
    assert fields.buffer_size.value() == 200  # edited: not overwritten
    fields.forget_shown()  # another socket
    fields.fill(None, None, False)
    assert (fields.name.text(), fields.buffer_size.value()) == ("", 0)
    assert not fields.persistent.isChecked()
