"""The socket table: one row per socket, sorted through a proxy, several rows selectable.

Its columns are sized once, from the font, to what they usually show, and ordered for a
glance: the state and its TLS, where each socket goes and how much moved. The columns that
matter less at a glance start hidden; the header's context menu shows or hides any of them,
and the choice travels with the header's saved state (``QHeaderView.saveState``).
"""

from __future__ import annotations

from PySide6.QtCore import (
    QItemSelectionModel,
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    Qt,
    Signal,
)
from PySide6.QtGui import QAction, QFont, QFontMetrics
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QMenu,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QWidget,
)

from workbench.ui.socket_model import (
    HEADERS,
    SOCKET_ID_ROLE,
    Column,
    SocketSortProxy,
    SocketTableModel,
)

__all__ = ["SocketTable"]

#: The visual order of the columns: at a glance, the state and its TLS, where each socket
#: goes and how much moved.
COLUMN_ORDER = (
    Column.ID,
    Column.NAME,
    Column.STATE,
    Column.TLS,
    Column.PEER,
    Column.RECEIVED,
    Column.SENT,
    Column.LOCAL,
    Column.BUFFER,
    Column.PERSISTENT,
)

#: Hidden until the header's menu shows them: at the window's default width, ten columns left
#: State and Name too narrow to read.
HIDDEN_BY_DEFAULT = frozenset({Column.TLS, Column.LOCAL, Column.BUFFER, Column.PERSISTENT})


class _ElideRight(QStyledItemDelegate):
    """The State column elides at the right: "Error: CONNECTION_REF…" names the error from
    its start, where the middle elision of the other columns gave "Error: CO…N_REFUSED"."""

    def initStyleOption(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        super().initStyleOption(option, index)
        option.textElideMode = Qt.TextElideMode.ElideRight


class SocketTable(QTableView):
    """The sockets' table over ``proxy`` (which sorts ``model``), spoken to in socket ids.

    Signals:
        currentSocketChanged(object): the current row's socket id (``int`` or ``None``).
        selectedSocketsChanged(): the selection changed.
    """

    currentSocketChanged = Signal(object)
    selectedSocketsChanged = Signal()

    def __init__(
        self, model: SocketTableModel, proxy: SocketSortProxy, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._model = model
        self._proxy = proxy
        self.setObjectName("socketTable")
        self.setAccessibleName("Sockets")
        self.setToolTip(
            "Every socket: select one to see its panels and data; select several "
            "to pause, disconnect or close them together"
        )
        self.setModel(proxy)
        self.setSortingEnabled(True)
        self.sortByColumn(Column.ID, Qt.SortOrder.AscendingOrder)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        # Tab leaves the table for the panels, as in a form; the arrows move between rows.
        self.setTabKeyNavigation(False)
        self.setAlternatingRowColors(True)
        self.setShowGrid(False)
        self.setWordWrap(False)
        # From the middle: "tls-e…o-2" and "192.168…:443" keep both ends; the tooltip has the
        # whole text. The State column elides at the right (an error's name starts it).
        self.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self._state_delegate = _ElideRight(self)
        self.setItemDelegateForColumn(Column.STATE, self._state_delegate)
        self.verticalHeader().hide()
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        header = self.horizontalHeader()
        header.setHighlightSections(False)
        header.setStretchLastSection(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self._size_columns()
        for visual, column in enumerate(COLUMN_ORDER):
            header.moveSection(header.visualIndex(column), visual)
        for column in HIDDEN_BY_DEFAULT:
            header.setSectionHidden(column, True)
        header.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        header.customContextMenuRequested.connect(self._popup_columns_menu)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.selectionModel().currentRowChanged.connect(self._current_row_changed)
        self.selectionModel().selectionChanged.connect(self._selection_changed)

    def _size_columns(self) -> None:
        fm = self.fontMetrics()
        bold_font = QFont(self.font())
        bold_font.setBold(True)
        bold = QFontMetrics(bold_font)  # the State column is bold
        pad = fm.horizontalAdvance("x") + 12
        icon = self.style().pixelMetric(QStyle.PixelMetric.PM_SmallIconSize)
        samples = {
            Column.ID: (fm, "888"),
            Column.NAME: (fm, "tls-echo·"),
            # Long states elide at the right ("Error: CONNECTION_REFUS…"); the tooltip has them
            # in full. Wide enough for "Error: CONNECTION_REFUSED", State would push the glance
            # columns past the table's width at the default window size (with TLS shown too).
            Column.STATE: (bold, "TLS 1.3 (unverified)"),
            Column.LOCAL: (fm, "127.0.0.1:65535"),
            Column.PEER: (fm, "127.0.0.1:65535"),
            Column.TLS: (fm, "TLS 1.3 ·"),
            Column.RECEIVED: (fm, "1023.9 MiB"),
            Column.SENT: (fm, "1023.9 MiB"),
            Column.BUFFER: (fm, "4096 (default)"),
            Column.PERSISTENT: (fm, "Persistent"),
        }
        header = self.horizontalHeader()
        for column, (metrics, sample) in samples.items():
            # the row's icons (⚠, ✖) and their spacing
            extra = icon + 8 if column in (Column.STATE, Column.TLS) else 0
            header.resizeSection(column, metrics.horizontalAdvance(sample) + pad + extra)

    # -- which columns show ----------------------------------------------------------------

    def columns_menu(self) -> QMenu:
        """The header's context menu: one checkable action per column, in the header's order,
        that shows or hides it. The last column shown cannot be hidden."""
        header = self.horizontalHeader()
        menu = QMenu(self)
        menu.setObjectName("socketColumnsMenu")
        menu.setToolTipsVisible(True)
        shown = [c for c in Column if not header.isSectionHidden(c)]
        for visual in range(header.count()):
            column = Column(header.logicalIndex(visual))
            action = QAction(HEADERS[column], menu, checkable=True)
            action.setObjectName(f"showColumn{HEADERS[column].title().replace(' ', '')}Action")
            action.setChecked(column in shown)
            action.setEnabled(shown != [column])
            action.toggled.connect(lambda on, c=column: header.setSectionHidden(c, not on))
            menu.addAction(action)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        return menu

    def _popup_columns_menu(self, pos: QPoint) -> None:
        self.columns_menu().popup(self.horizontalHeader().mapToGlobal(pos))

    # -- selection, in socket ids -------------------------------------------------------------

    def current_id(self) -> int | None:
        """The socket of the current row (the one the panels show), if any."""
        return _socket_id(self.selectionModel().currentIndex())

    def selected_ids(self) -> list[int]:
        """The sockets of the selected rows, in id order."""
        rows = self.selectionModel().selectedRows()
        return sorted({sid for index in rows if (sid := _socket_id(index)) is not None})

    def select_id(self, sid: int) -> bool:
        """Make ``sid``'s row the current and only selected one, scrolled into view; False
        when the table has no such row."""
        row = self._model.row_of(sid)
        if row is None:
            return False
        index = self._proxy.mapFromSource(self._model.index(row, 0))
        self.selectionModel().setCurrentIndex(
            index,
            QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows,
        )
        self.scrollTo(index)
        return True

    def _current_row_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self.currentSocketChanged.emit(_socket_id(current))

    def _selection_changed(self, *_args: object) -> None:
        self.selectedSocketsChanged.emit()


def _socket_id(index: QModelIndex) -> int | None:
    sid = index.data(SOCKET_ID_ROLE) if index.isValid() else None
    return int(sid) if sid is not None else None
