"""The socket table: which columns show, the header's menu that changes them, and elision."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QAction, QStandardItemModel
from PySide6.QtWidgets import QApplication, QMenu, QStyle, QStyleOptionViewItem, QTableView

import pytest

from tests.ui.conftest import WAIT_MS, close_window
from workbench.ui.main_window import MainWindow
from workbench.ui.socket_model import HEADERS, Column
from workbench.ui.socket_table import COLUMN_ORDER, HIDDEN_BY_DEFAULT, SocketTable

DEFAULT_SHOWN = [Column.ID, Column.NAME, Column.STATE, Column.PEER, Column.RECEIVED, Column.SENT]


def shown_columns(table: SocketTable) -> list[Column]:
    """The columns on show, in the header's (visual) order."""
    header = table.horizontalHeader()
    logical = (header.logicalIndex(visual) for visual in range(header.count()))
    return [Column(c) for c in logical if not header.isSectionHidden(c)]


def menu_action(menu: QMenu, column: Column) -> QAction:
    found = [a for a in menu.actions() if a.text() == HEADERS[column]]
    assert len(found) == 1, column
    return found[0]


def test_the_glance_columns_show_by_default_and_the_rest_are_hidden(
    workbench_window: MainWindow,
) -> None:
    table = workbench_window.table
    assert shown_columns(table) == DEFAULT_SHOWN
    header = table.horizontalHeader()
    assert {Column(c) for c in Column if header.isSectionHidden(c)} == HIDDEN_BY_DEFAULT


def test_the_shown_columns_fit_the_table_at_the_default_window_size(
    qtbot: Any, workbench_window: MainWindow
) -> None:
    table = workbench_window.table
    qtbot.waitUntil(lambda: table.viewport().width() > 300, timeout=WAIT_MS)
    header = table.horizontalHeader()
    for column in shown_columns(table):
        right = header.sectionViewportPosition(column) + header.sectionSize(column)
        assert right <= table.viewport().width(), column.name


def test_long_text_elides_in_the_middle(workbench_window: MainWindow) -> None:
    # "tls-e…cho-2": both ends stay readable; the tooltip has it all.
    assert workbench_window.table.textElideMode() == Qt.TextElideMode.ElideMiddle


def shown_text(window: MainWindow, sid: int, column: Column) -> str:
    """What the cell paints: its text as its delegate elides it into the text's room."""
    table = window.table
    row = window.model.row_of(sid)
    assert row is not None
    index = window.proxy.mapFromSource(window.model.index(row, column))
    option = QStyleOptionViewItem()
    option.initFrom(table)
    option.rect = table.visualRect(index)
    table.itemDelegateForColumn(column).initStyleOption(option, index)
    style = table.style()
    room = style.subElementRect(QStyle.SubElement.SE_ItemViewItemText, option, table).width()
    return option.fontMetrics.elidedText(option.text, option.textElideMode, room)


def test_an_error_state_shows_its_name_from_the_start(
    qtbot: Any, workbench_window: MainWindow, refused_port: int, aio: Callable[..., Any]
) -> None:
    """Elided in the middle, it read "Error: CO…N_REFUSED", the error's name cut in half: the
    State column elides at the right, and is wide enough for most of it at the default size."""
    window = workbench_window
    table = window.table
    sid = aio(window.sockets.create()).socket_id
    assert aio(window.sockets.connect(sid, "127.0.0.1", refused_port)) == -102
    qtbot.waitUntil(
        lambda: window.session.state_text(sid) == "Error: CONNECTION_REFUSED", timeout=WAIT_MS
    )
    qtbot.waitUntil(lambda: table.viewport().width() > 300, timeout=WAIT_MS)
    shown = shown_text(window, sid, Column.STATE)
    assert shown.startswith("Error: CONNECTION_"), shown
    assert shown == "Error: CONNECTION_REFUSED" or shown.endswith("…"), shown


def test_the_columns_menu_lists_every_column_in_header_order_checked_when_shown(
    workbench_window: MainWindow,
) -> None:
    table = workbench_window.table
    menu = table.columns_menu()
    try:
        assert menu.objectName() == "socketColumnsMenu"
        header = table.horizontalHeader()
        in_order = [Column(header.logicalIndex(v)) for v in range(header.count())]
        assert [a.text() for a in menu.actions()] == [HEADERS[c] for c in in_order]
        checked = [c for c in in_order if menu_action(menu, c).isChecked()]
        assert checked == DEFAULT_SHOWN
        assert all(a.isCheckable() and a.isEnabled() for a in menu.actions())
    finally:
        menu.close()


def test_the_columns_menu_shows_and_hides_columns(workbench_window: MainWindow) -> None:
    table = workbench_window.table
    menu = table.columns_menu()
    menu_action(menu, Column.TLS).trigger()
    menu_action(menu, Column.NAME).trigger()
    menu.close()
    assert shown_columns(table) == [
        Column.ID,
        Column.STATE,
        Column.TLS,
        Column.PEER,
        Column.RECEIVED,
        Column.SENT,
    ]
    # A menu opened now reflects the change.
    menu = table.columns_menu()
    assert menu_action(menu, Column.TLS).isChecked()
    assert not menu_action(menu, Column.NAME).isChecked()
    menu.close()


def test_the_last_shown_column_cannot_be_hidden(workbench_window: MainWindow) -> None:
    table = workbench_window.table
    header = table.horizontalHeader()
    for column in Column:
        header.setSectionHidden(column, column != Column.STATE)
    menu = table.columns_menu()
    try:
        assert not menu_action(menu, Column.STATE).isEnabled()
        assert menu_action(menu, Column.STATE).isChecked()
        assert menu_action(menu, Column.ID).isEnabled()
    finally:
        menu.close()


# A popup menu raises itself and grabs the keyboard, which the offscreen platform cannot do.
@pytest.mark.qt_log_ignore(
    "^This plugin does not support raise\\(\\)$",
    "^This plugin does not support grabbing the keyboard$",
)
def test_the_header_context_menu_is_the_columns_menu(
    qtbot: Any, workbench_window: MainWindow
) -> None:
    header = workbench_window.table.horizontalHeader()
    assert header.contextMenuPolicy() == Qt.ContextMenuPolicy.CustomContextMenu
    header.customContextMenuRequested.emit(QPoint(5, 5))

    def popped() -> QMenu | None:
        menus = [w for w in QApplication.topLevelWidgets() if isinstance(w, QMenu)]
        shown = [m for m in menus if m.objectName() == "socketColumnsMenu" and m.isVisible()]
        return shown[0] if shown else None

    qtbot.waitUntil(lambda: popped() is not None, timeout=WAIT_MS)
    menu = popped()
    assert menu is not None
    menu.close()


def test_the_choice_of_columns_is_saved_with_the_window_layout(
    qtbot: Any, make_window: Callable[..., Any], tmp_path: Path
) -> None:
    window = make_window(restore_session=True, settings_dir=tmp_path)
    menu = window.table.columns_menu()
    menu_action(menu, Column.LOCAL).trigger()
    menu_action(menu, Column.SENT).trigger()
    menu.close()
    chosen = shown_columns(window.table)
    assert Column.LOCAL in chosen and Column.SENT not in chosen
    close_window(qtbot, window)
    window = make_window(restore_session=True, settings_dir=tmp_path)
    assert shown_columns(window.table) == chosen


def test_tls_shown_from_the_menu_sits_after_state_and_the_glance_still_fits(
    qtbot: Any, workbench_window: MainWindow
) -> None:
    table = workbench_window.table
    qtbot.waitUntil(lambda: table.viewport().width() > 300, timeout=WAIT_MS)
    menu = table.columns_menu()
    menu_action(menu, Column.TLS).trigger()
    menu.close()
    assert shown_columns(table)[2:5] == [Column.STATE, Column.TLS, Column.PEER]
    header = table.horizontalHeader()
    for column in (Column.STATE, Column.TLS, Column.PEER, Column.RECEIVED):
        right = header.sectionViewportPosition(column) + header.sectionSize(column)
        assert right <= table.viewport().width(), column.name


def test_a_header_saved_before_the_server_columns_keeps_its_choices_and_places_them(
    workbench_window: MainWindow,
) -> None:
    # A header saved when the table had ten columns: TLS shown, Name hidden, Sent widened.
    old = QTableView()
    old.setModel(QStandardItemModel(0, 10))
    header = old.horizontalHeader()
    for visual, column in enumerate(c for c in COLUMN_ORDER if c < 10):
        header.moveSection(header.visualIndex(column), visual)
    header.setSectionHidden(Column.NAME, True)
    header.setSectionHidden(Column.LOCAL, True)
    header.resizeSection(Column.SENT, 123)
    table = workbench_window.table
    assert table.restore_header(header.saveState(), 10)
    shown = shown_columns(table)
    assert shown == [
        Column.ID, Column.STATE, Column.TLS, Column.PEER, Column.RECEIVED, Column.SENT,
        Column.BUFFER, Column.PERSISTENT,
    ]  # the new columns hidden as by default
    assert table.horizontalHeader().sectionSize(Column.SENT) == 123
    new_header = table.horizontalHeader()
    order = [Column(new_header.logicalIndex(v)) for v in range(new_header.count())]
    assert order == list(COLUMN_ORDER)  # Server beside Peer, Kind last
