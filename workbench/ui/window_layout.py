"""The window's layout: the socket table beside the panels, the data pane and the composer, in
two splitters; fitted to their content, saved and restored with the settings.

Until the user moves a splitter (or the settings hold saved positions) the splitters follow the
window: the data view gets at least one full hex line, the panels and the composer what they
need, the socket table the rest. The window's geometry, its docks, the splitters, the table's
header and the view preferences (view mode, encoding, send mode, line ending) are saved in the
settings and restored from them.
"""

from __future__ import annotations

import base64

from PySide6.QtCore import QByteArray, QPoint, QRect, QSize, Qt
from PySide6.QtGui import QGuiApplication, QScreen
from PySide6.QtWidgets import QComboBox, QMainWindow, QSplitter, QVBoxLayout, QWidget

from workbench.session.settings import Settings
from workbench.ui.composer import SendComposer
from workbench.ui.data_view import DataPane
from workbench.ui.socket_columns import Column
from workbench.ui.socket_table import SocketTable
from workbench.ui.socket_tabs import SocketTabs

__all__ = ["WindowLayout"]

#: The table header's entry in ``Settings.splitters``.
HEADER_KEY = "tableHeader"
#: How many columns the table had when its header was saved (absent: the ten it had before
#: servers brought Kind and Server).
HEADER_COLUMNS_KEY = "tableHeaderColumns"
LEGACY_COLUMNS = 10

#: Text rows the data view keeps at any window size the panels can shrink for (900x600).
DATA_ROWS = 8


def _b64(data: QByteArray) -> str:
    return base64.b64encode(bytes(data.data())).decode("ascii")


def _saved_columns(text: str | None) -> int:
    raw = _unb64(text)
    count = bytes(raw.data()).decode("ascii", "replace") if raw is not None else ""
    return int(count) if count.isdigit() else LEGACY_COLUMNS


def _unb64(text: str | None) -> QByteArray | None:
    if not text:
        return None
    try:
        return QByteArray(base64.b64decode(text.encode("ascii"), validate=True))
    except (ValueError, UnicodeError):
        return None


def _clamped(outer: QRect, available: QRect) -> QPoint:
    """Where ``outer`` (no bigger than ``available``) moves to lie inside ``available``."""
    x = min(max(outer.x(), available.x()), available.x() + available.width() - outer.width())
    y = min(max(outer.y(), available.y()), available.y() + available.height() - outer.height())
    return QPoint(x, y)


class WindowLayout:
    """The splitters ``main`` (table | right) and ``right`` (tabs / data / composer)."""

    def __init__(
        self,
        window: QMainWindow,
        table: SocketTable,
        tabs: SocketTabs,
        data_pane: DataPane,
        composer: SendComposer,
        settings: Settings,
    ) -> None:
        self._window = window
        self._table = table
        self._tabs = tabs
        self._data_pane = data_pane
        self._composer = composer
        self._settings = settings
        self._sized = False
        self._user_split = False
        right = QSplitter(Qt.Orientation.Vertical)
        right.setObjectName("rightSplitter")
        right.setChildrenCollapsible(False)
        for index, (widget, stretch) in enumerate(((tabs, 0), (data_pane, 1), (composer, 0))):
            right.addWidget(widget)
            right.setStretchFactor(index, stretch)
        right.setSizes([170, 460, 100])
        main = QSplitter(Qt.Orientation.Horizontal)
        main.setObjectName("mainSplitter")
        main.setChildrenCollapsible(False)
        main.addWidget(table)
        main.addWidget(right)
        main.setStretchFactor(0, 2)
        main.setStretchFactor(1, 3)
        main.setSizes([610, 670])
        self.splitters = {"main": main, "right": right}
        main.splitterMoved.connect(self._splitter_moved)
        right.splitterMoved.connect(self._splitter_moved)

    def central(self, banner: QWidget) -> QWidget:
        """The window's central widget: ``banner`` above the splitters."""
        central = QWidget()
        central.setObjectName("central")
        layout = QVBoxLayout(central)
        layout.setContentsMargins(4, 4, 4, 0)
        layout.setSpacing(4)
        layout.addWidget(banner)
        layout.addWidget(self.splitters["main"], 1)
        return central

    # -- fitting ----------------------------------------------------------------------------

    def _follows_window(self) -> bool:
        return self._sized and not self._settings.splitters and not self._user_split

    def shown(self) -> None:
        """The window is shown: the first time, fit it onto its screen, and fit the splitters
        unless the settings hold their positions."""
        if not self._sized:
            self._sized = True
            self.fit_to_screen()
            if not self._settings.splitters:
                self.fit()

    def _screen(self) -> QScreen:
        """The screen the (restored) geometry is on; the window's own screen when it is on
        none (off screen)."""
        centre = self._window.geometry().center()
        return QGuiApplication.screenAt(centre) or self._window.screen()

    def fit_to_screen(self) -> None:
        """Keep the window inside its screen's available geometry: the default size and a
        restored one shrink to fit it (the minimum size too), and a window off it moves onto
        it. A maximized or full-screen window is the window system's to place."""
        window = self._window
        if window.isMaximized() or window.isFullScreen():
            return
        available = self._screen().availableGeometry()
        geometry, frame = window.geometry(), window.frameGeometry()
        # The frame is known once the window was shown; before, frame == geometry.
        margins = QSize(frame.width() - geometry.width(), frame.height() - geometry.height())
        room = (available.size() - margins).expandedTo(QSize(1, 1))
        window.setMinimumSize(window.minimumSize().boundedTo(room))
        size = geometry.size().boundedTo(room)
        outer = QRect(frame.topLeft(), size + margins)
        if not available.contains(outer):
            outer.moveTopLeft(_clamped(outer, available))
        window.resize(size)
        window.move(outer.topLeft())

    def resized(self) -> None:
        if self._follows_window():
            self.fit()

    def fit(self) -> None:
        """Give the data view the room: the panels and the composer get what they need, the
        right side at least one full hex line, the socket table the rest."""
        main = self.splitters["main"]
        fm = self._data_pane.view.fontMetrics()
        hex_line = fm.horizontalAdvance("0" * 79) + 40  # offset, 16 pairs, ASCII, scrollbar
        width = max(main.width(), 1)
        right_width = max(hex_line, int(width * 0.52))
        right_width = min(right_width, width - 360)
        main.blockSignals(True)
        main.setSizes([width - right_width, right_width])
        main.blockSignals(False)
        self._fit_tabs()

    def _fit_tabs(self) -> None:
        """One height for the panels' pane whatever tab is shown (so the data view does not
        jump): the tallest panel's, at most half the right side; less when the data view
        would show fewer than ``DATA_ROWS`` text rows (the panels scroll), and the composer
        shrinks to its minimum before the data view does."""
        right = self.splitters["right"]
        height = max(right.height(), 1)
        handles = right.handleWidth() * 2
        wanted = max(panel.sizeHint().height() for panel in self._tabs.panels)
        tabs = min(wanted + self._tabs.tabBar().sizeHint().height() + 8, height // 2)
        composer = self._composer.minimumSizeHint().height() + 8
        spare = height - handles - composer - self._data_height()
        tabs = max(min(tabs, spare), self._tabs.minimumSizeHint().height())
        composer = max(
            min(composer, height - handles - tabs - self._data_height()),
            self._composer.minimumSizeHint().height(),
        )
        right.blockSignals(True)
        right.setSizes([tabs, max(height - handles - tabs - composer, 80), composer])
        right.blockSignals(False)

    def _data_height(self) -> int:
        """The data pane's height that shows ``DATA_ROWS`` text rows: its toolbar, frame and
        scroll bar (what the pane has besides the view's viewport) and the rows."""
        pane, view = self._data_pane, self._data_pane.view
        around = pane.height() - view.viewport().height()
        if around <= 0 or not pane.isVisible():
            around = pane.minimumSizeHint().height()
        return around + DATA_ROWS * view.row_height()

    def _splitter_moved(self, *_args: object) -> None:
        self._user_split = True

    # -- saved state ------------------------------------------------------------------------

    def restore(self) -> None:
        """The geometry, docks, splitters and table header the settings hold."""
        s = self._settings
        if (geometry := _unb64(s.geometry)) is not None:
            self._window.restoreGeometry(geometry)
        if (state := _unb64(s.window_state)) is not None:
            self._window.restoreState(state)
        for name, splitter in self.splitters.items():
            if (raw := _unb64(s.splitters.get(name))) is not None:
                splitter.restoreState(raw)
        if (raw := _unb64(s.splitters.get(HEADER_KEY))) is not None:
            self._table.restore_header(raw, _saved_columns(s.splitters.get(HEADER_COLUMNS_KEY)))

    def collect(self) -> None:
        """Write the layout and the view preferences into the settings."""
        s = self._settings
        s.geometry = _b64(self._window.saveGeometry())
        s.window_state = _b64(self._window.saveState())
        s.splitters = {name: _b64(sp.saveState()) for name, sp in self.splitters.items()}
        s.splitters[HEADER_KEY] = _b64(self._table.horizontalHeader().saveState())
        s.splitters[HEADER_COLUMNS_KEY] = _b64(QByteArray(str(len(Column)).encode()))
        s.view = {k: c.currentText() for k, c in self._view_combos().items() if c is not None}

    def apply_view_prefs(self) -> None:
        for key, combo in self._view_combos().items():
            value = self._settings.view.get(key)
            if combo is not None and value:
                index = combo.findText(value)
                if index >= 0:
                    combo.setCurrentIndex(index)

    def _view_combos(self) -> dict[str, QComboBox | None]:
        pane, composer = self._data_pane, self._composer
        return {
            "viewMode": pane.findChild(QComboBox, "viewMode"),
            "encoding": pane.findChild(QComboBox, "viewEncoding"),
            "sendMode": composer.findChild(QComboBox, "sendMode"),
            "sendLineEnding": composer.findChild(QComboBox, "sendLineEnding"),
        }
