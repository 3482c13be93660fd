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

from PySide6.QtCore import QByteArray, Qt
from PySide6.QtWidgets import QComboBox, QMainWindow, QSplitter, QTableView, QVBoxLayout, QWidget

from workbench.session.settings import Settings
from workbench.ui.composer import SendComposer
from workbench.ui.data_view import DataPane
from workbench.ui.socket_tabs import SocketTabs

__all__ = ["WindowLayout"]

#: The table header's entry in ``Settings.splitters``.
HEADER_KEY = "tableHeader"


def _b64(data: QByteArray) -> str:
    return base64.b64encode(bytes(data.data())).decode("ascii")


def _unb64(text: str | None) -> QByteArray | None:
    if not text:
        return None
    try:
        return QByteArray(base64.b64decode(text.encode("ascii"), validate=True))
    except (ValueError, UnicodeError):
        return None


class WindowLayout:
    """The splitters ``main`` (table | right) and ``right`` (tabs / data / composer)."""

    def __init__(
        self,
        window: QMainWindow,
        table: QTableView,
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
        tabs.currentChanged.connect(self._tab_changed)

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
        """The window is shown: fit the splitters the first time, unless the settings hold
        their positions."""
        if not self._sized:
            self._sized = True
            if not self._settings.splitters:
                self.fit()

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
        """Size the panels' pane to the panel on show: the TLS panel, with its certificate
        details, needs twice the Connect panel's height; at most half the right side (the data
        view keeps the rest)."""
        right = self.splitters["right"]
        height = max(right.height(), 1)
        panel = self._tabs.current_panel() or self._tabs.connect_panel
        wanted = panel.sizeHint().height()
        tabs = min(wanted + self._tabs.tabBar().sizeHint().height() + 8, height // 2)
        composer = self._composer.minimumSizeHint().height() + 8
        right.blockSignals(True)
        right.setSizes([tabs, max(height - tabs - composer, 80), composer])
        right.blockSignals(False)

    def _tab_changed(self, _index: int) -> None:
        if self._follows_window():
            self._fit_tabs()

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
            self._table.horizontalHeader().restoreState(raw)

    def collect(self) -> None:
        """Write the layout and the view preferences into the settings."""
        s = self._settings
        s.geometry = _b64(self._window.saveGeometry())
        s.window_state = _b64(self._window.saveState())
        s.splitters = {name: _b64(sp.saveState()) for name, sp in self.splitters.items()}
        s.splitters[HEADER_KEY] = _b64(self._table.horizontalHeader().saveState())
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
