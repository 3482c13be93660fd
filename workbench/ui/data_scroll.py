"""The data view's scrolling: its scroll bars, the wheel and the navigation keys.

Where the view is scrolled to is a ``dump_layout.ScrollState`` (Qt-free); ``ViewScroller``
keeps the scroll area's bars in step with it and moves it for the user.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QAbstractScrollArea, QScrollBar

from workbench.core.dump_layout import Row, ScrollState

#: A scroll position beyond this is scaled down to fit QScrollBar's int range.
SCROLL_LIMIT = 2**31 - 1
#: Lines a wheel notch scrolls, and the angle of one notch (QWheelEvent: eighths of a degree).
WHEEL_LINES = 3
WHEEL_NOTCH = 120


class ViewScroller(QObject):
    """Keeps a scroll area's bars in step with its ``ScrollState`` and moves it for the user.

    The vertical bar's value is the top row's scroll value, divided by a scale when the values
    pass ``SCROLL_LIMIT``; the horizontal bar covers the widest row on screen plus ``margin``
    on both sides (``measure`` gives a text's width).
    """

    def __init__(
        self, area: QAbstractScrollArea, measure: Callable[[str], float], margin: int
    ) -> None:
        super().__init__(area)
        self._area = area
        self._measure = measure
        self._margin = margin
        self.state: ScrollState | None = None
        self._scale = 1  # scroll values per scroll bar step (past SCROLL_LIMIT)
        self._syncing = False
        self._wheel_rest = 0.0
        area.verticalScrollBar().valueChanged.connect(self._on_value)
        area.horizontalScrollBar().valueChanged.connect(area.viewport().update)

    def __repr__(self) -> str:
        return f"<ViewScroller {self.state!r} scale={self._scale}>"

    def rows(self) -> list[Row]:
        return self.state.rows() if self.state is not None else []

    def fit_height(self, line_height: int) -> None:
        """The viewport or the line height changed: so did the rows that fit."""
        if self.state is not None:
            height = self._area.viewport().height()
            self.state.resize(height // line_height, height // line_height + 1)

    def refresh(self, changed: bool = True) -> None:
        """The rows or the top changed (unless ``changed`` is False): bars and a repaint."""
        if changed:
            self.sync()
            self._area.viewport().update()

    def sync(self) -> None:
        """The scroll bars from the state."""
        self._syncing = True
        try:
            self._sync_vertical(self._area.verticalScrollBar())
            hbar = self._area.horizontalScrollBar()
            width = max((self._measure(row.text) for row in self.rows()), default=0)
            viewport = self._area.viewport().width()
            hbar.setRange(0, max(0, round(width) + 2 * self._margin - viewport))
            hbar.setPageStep(viewport)
        finally:
            self._syncing = False

    def _sync_vertical(self, bar: QScrollBar) -> None:
        state = self.state
        values = state.values() if state is not None else None
        if state is None or values is None:
            bar.setRange(0, 0)
            return
        value, maximum = values
        self._scale = 1 if maximum <= SCROLL_LIMIT else -(-maximum // (SCROLL_LIMIT // 2))
        bar.setRange(0, maximum // self._scale)
        bar.setPageStep(state.layout.page_step(state.page_rows))
        bar.setSingleStep(1)
        bar.setValue(value // self._scale)

    def _on_value(self, value: int) -> None:
        if self._syncing or self.state is None:
            return
        at_end = value >= self._area.verticalScrollBar().maximum()
        self.state.jump(value * self._scale, to_end=at_end)
        self._area.viewport().update()

    # -- the user's moves

    def scroll_rows(self, n: int) -> None:
        self.refresh(self.state is not None and self.state.scroll_rows(n))

    def scroll_to_start(self) -> None:
        self.refresh(self.state is not None and self.state.scroll_to_start())

    def scroll_to_end(self) -> None:
        self.refresh(self.state is not None and self.state.scroll_to_end())

    def scroll_to_offset(self, stream_offset: int) -> None:
        self.refresh(self.state is not None and self.state.scroll_to_offset(stream_offset))

    def wheel(self, angle: int) -> None:
        """A wheel turned by ``angle`` (eighths of a degree; positive: away from the user)."""
        # High-resolution wheels send fractions of a notch: keep the rest for the next event.
        self._wheel_rest += -angle / WHEEL_NOTCH * WHEEL_LINES
        n = int(self._wheel_rest)
        self._wheel_rest -= n
        if n:
            self.scroll_rows(n)

    def key(self, key: int) -> bool:
        """Scroll for a navigation key; False if ``key`` is not one."""
        page = max(1, (self.state.page_rows if self.state is not None else 1) - 1)
        hbar = self._area.horizontalScrollBar()
        step = hbar.SliderAction
        actions: dict[int, Callable[[], object]] = {
            Qt.Key.Key_Up: lambda: self.scroll_rows(-1),
            Qt.Key.Key_Down: lambda: self.scroll_rows(1),
            Qt.Key.Key_PageUp: lambda: self.scroll_rows(-page),
            Qt.Key.Key_PageDown: lambda: self.scroll_rows(page),
            Qt.Key.Key_Home: self.scroll_to_start,
            Qt.Key.Key_End: self.scroll_to_end,
            Qt.Key.Key_Left: lambda: hbar.triggerAction(step.SliderSingleStepSub),
            Qt.Key.Key_Right: lambda: hbar.triggerAction(step.SliderSingleStepAdd),
        }
        action = actions.get(key)
        if action is None:
            return False
        action()
        return True
