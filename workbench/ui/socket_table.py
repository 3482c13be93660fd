"""The socket table: one row per socket, sorted through a proxy, several rows selectable.

Its columns are sized once, from the font, to what they usually show, and ordered for a
glance: the state and its TLS, where each socket goes and how much moved. The columns that
matter less at a glance start hidden; the header's context menu shows or hides any of them,
and the choice travels with the header's saved state (``QHeaderView.saveState``).
"""

from __future__ import annotations

from PySide6.QtCore import (
    QByteArray,
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

from workbench.session import SocketKey, SocketKind
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
    # the server an accepted connection came through, beside its peer
    Column.SERVER,
    Column.RECEIVED,
    Column.SENT,
    Column.LOCAL,
    Column.BUFFER,
    Column.PERSISTENT,
    Column.KIND,
)

#: Hidden until the header's menu shows them: at the window's default width, ten columns left
#: State and Name too narrow to read.
#: The kind shows in the ID itself (a server's is "S1", with the server icon; a UDP socket's
#: "U1"). The Server
#: column has nothing to say until there is a server: it shows when the first server row
#: appears (``_server_row_added``), unless the user chose it from the menu.
HIDDEN_BY_DEFAULT = frozenset(
    {Column.TLS, Column.LOCAL, Column.BUFFER, Column.PERSISTENT, Column.KIND, Column.SERVER}
)


class _ElideRight(QStyledItemDelegate):
    """The State column elides at the right: "Error: CONNECTION_REF…" names the error from
    its start, where the middle elision of the other columns gave "Error: CO…N_REFUSED"."""

    def initStyleOption(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        super().initStyleOption(option, index)
        option.textElideMode = Qt.TextElideMode.ElideRight


class SocketTable(QTableView):
    """The sockets' table over ``proxy`` (which sorts ``model``), spoken to in TCP socket
    ids, or in ``SocketKey``s for rows of any kind (servers too).

    Signals:
        currentSocketChanged(object): the current row's TCP socket id (``int``, or ``None``
            on no row or a server row).
        currentKeyChanged(object): the current row's ``SocketKey`` (or ``None``).
        selectedSocketsChanged(): the selection changed.
    """

    currentSocketChanged = Signal(object)
    currentKeyChanged = Signal(object)
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
        #: the user showed or hid the Server column from the menu: it is theirs from then on.
        self._server_column_chosen = False
        #: the State column was widened for a server's or UDP socket's longer state.
        self._state_widened = False
        model.rowsInserted.connect(self._rows_inserted)
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
            Column.ID: (fm, "S88"),
            Column.KIND: (fm, "Server"),
            Column.SERVER: (fm, "S88"),
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
            action.toggled.connect(lambda on, c=column: self._choose_column(c, on))
            menu.addAction(action)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        return menu

    # -- the header's saved state ---------------------------------------------------------------

    def restore_header(self, state: QByteArray, columns: int) -> bool:
        """Restore a header state saved when the model had ``columns`` columns. Qt shows the
        columns added since at the end (``restoreState`` knows nothing of them): they go
        where ``COLUMN_ORDER`` puts them, shown or hidden as by default."""
        header = self.horizontalHeader()
        if not header.restoreState(state):
            return False
        for column in COLUMN_ORDER:
            if column < columns:
                continue
            before = COLUMN_ORDER[COLUMN_ORDER.index(column) - 1]
            target = header.visualIndex(before) + 1
            current = header.visualIndex(column)
            header.moveSection(current, target if target <= current else target - 1)
            header.setSectionHidden(column, column in HIDDEN_BY_DEFAULT)
        return True

    def _choose_column(self, column: Column, shown: bool) -> None:
        if column == Column.SERVER:
            self._server_column_chosen = True
        self.horizontalHeader().setSectionHidden(column, not shown)

    def _rows_inserted(self, _parent: QModelIndex, _first: int, last: int) -> None:
        # Server and UDP rows follow the TCP rows, one at a time.
        kind = self._model.key(last).kind
        if kind is SocketKind.TCP:
            return
        header = self.horizontalHeader()
        if not self._state_widened:
            # Once: room for "Listening on 127.0.0.1:65535" or "Bound to 127.0.0.1:65535"
            # (regular weight) in the State column; narrowing it again is the user's choice.
            self._state_widened = True
            wide = self.fontMetrics().horizontalAdvance("Listening on 127.0.0.1:65535") + 24
            if header.sectionSize(Column.STATE) < wide:
                header.resizeSection(Column.STATE, wide)
        if self._server_column_chosen or kind is not SocketKind.TCP_SERVER:
            return
        self._server_column_chosen = True  # once: hiding it again is the user's choice
        header.setSectionHidden(Column.SERVER, False)

    def _popup_columns_menu(self, pos: QPoint) -> None:
        self.columns_menu().popup(self.horizontalHeader().mapToGlobal(pos))

    # -- selection, in socket ids -------------------------------------------------------------

    def current_id(self) -> int | None:
        """The TCP socket of the current row (the one the panels show), if any."""
        return _socket_id(self.selectionModel().currentIndex())

    def selected_ids(self) -> list[int]:
        """The TCP sockets of the selected rows, in id order."""
        rows = self.selectionModel().selectedRows()
        return sorted({sid for index in rows if (sid := _socket_id(index)) is not None})

    def current_key(self) -> SocketKey | None:
        """The socket of the current row, whatever its kind, if any."""
        return self._key(self.selectionModel().currentIndex())

    def selected_keys(self) -> list[SocketKey]:
        """The sockets of the selected rows (TCP sockets, then servers), in id order."""
        rows = self.selectionModel().selectedRows()
        return sorted({key for index in rows if (key := self._key(index)) is not None})

    def _key(self, index: QModelIndex) -> SocketKey | None:
        if not index.isValid():
            return None
        row = self._proxy.mapToSource(index).row()
        return self._model.key(row) if 0 <= row < self._model.rowCount() else None

    def select_id(self, sid: int) -> bool:
        """Make TCP socket ``sid``'s row the current and only selected one, scrolled into
        view; False when the table has no such row."""
        return self.select_key(SocketKey(SocketKind.TCP, sid))

    def select_key(self, key: SocketKey) -> bool:
        """Make ``key``'s row the current and only selected one, scrolled into view; False
        when the table has no such row."""
        row = self._model.row_of_key(key)
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
        self.currentKeyChanged.emit(self._key(current))

    def _selection_changed(self, *_args: object) -> None:
        self.selectedSocketsChanged.emit()


def _socket_id(index: QModelIndex) -> int | None:
    sid = index.data(SOCKET_ID_ROLE) if index.isValid() else None
    return int(sid) if sid is not None else None
