"""The data view's scrolling: its scroll bars, the wheel and the navigation keys.

Where the view is scrolled to is a ``dump_layout.ScrollState`` (Qt-free); ``ViewScroller``
keeps the scroll area's bars in step with it and moves it for the user.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QAbstractScrollArea, QScrollBar, QStyle, QStyleOptionSlider

from workbench.core.dump_layout import Row, ScrollState, TextLayout

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

    While the view follows a growing capture, the vertical bar is left *behind* when bringing
    it up to date would not move a pixel of it (its slider pinned to the end, as long as it
    was): a bar's range change repaints it, which under a flood costs as much as painting the
    rows. The bar catches up before the user reaches for it (a press or a wheel on it) and
    with any other refresh.
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
        self._behind = False  # the vertical bar was left behind (see the class docstring)
        area.verticalScrollBar().valueChanged.connect(self._on_value)
        area.verticalScrollBar().installEventFilter(self)
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

    def refresh(self, changed: bool = True, *, grown: bool = False) -> None:
        """The rows or the top changed (unless ``changed`` is False): bars and a repaint.

        ``grown``: only the capture grew, so the vertical bar may stay behind."""
        if changed:
            self.sync(grown=grown)
            self._area.viewport().update()

    def sync(self, *, grown: bool = False) -> None:
        """The scroll bars from the state (``grown``: see :meth:`refresh`)."""
        self._syncing = True
        try:
            self._sync_vertical(self._area.verticalScrollBar(), grown)
            hbar = self._area.horizontalScrollBar()
            rows = self.rows()
            if self.state is not None and isinstance(self.state.layout, TextLayout):
                width = max((self._measure(row.text) for row in rows), default=0)
                width += self._measure("0")  # the view's gutter for continuation marks
            else:
                # Hex rows are ASCII in the view's fixed-pitch font: the longest is the widest,
                # and measuring one row instead of a page of them is most of a tick's cost
                # while a flood is followed. Rows with other characters (a datagram's header
                # and its arrow) are measured as they are.
                texts = [row.text for row in rows]
                wide = [t for t in texts if not t.isascii()]
                wide.append(max(texts, key=len, default=""))
                width = max(self._measure(text) for text in wide)
            viewport = self._area.viewport().width()
            hbar.setRange(0, max(0, round(width) + 2 * self._margin - viewport))
            hbar.setPageStep(viewport)
        finally:
            self._syncing = False

    def _sync_vertical(self, bar: QScrollBar, grown: bool = False) -> None:
        state = self.state
        values = state.values() if state is not None else None
        self._behind = False
        if state is None or values is None:
            bar.setRange(0, 0)
            return
        value, maximum = values
        scale = 1 if maximum <= SCROLL_LIMIT else -(-maximum // (SCROLL_LIMIT // 2))
        page = state.layout.page_step(state.page_rows)
        if grown and state.follow and _looks_the_same(bar, maximum // scale, page, value // scale):
            self._behind = True
            return
        self._scale = scale
        bar.setRange(0, maximum // scale)
        bar.setPageStep(page)
        bar.setSingleStep(1)
        bar.setValue(value // scale)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # The user reaches for a bar left behind: bring it up to date before it acts.
        if self._behind and event.type() in _REACHING:
            self.sync()
        return False

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


_REACHING = (QEvent.Type.MouseButtonPress, QEvent.Type.MouseButtonDblClick, QEvent.Type.Wheel)


def _looks_the_same(bar: QScrollBar, maximum: int, page: int, value: int) -> bool:
    """Whether ``bar``, at its end now, would look the same at the end of the range
    ``[0, maximum]`` with ``page``: its slider where and as long as it is (the style says)."""
    if not (bar.isVisible() and 0 < bar.maximum() == bar.value() and 0 < maximum == value):
        return False  # not shown yet, not at the end, or showing or hiding the bar
    style = bar.style()
    option = QStyleOptionSlider()
    option.initFrom(bar)  # what QScrollBar.initStyleOption sets, besides the values
    option.orientation = bar.orientation()
    option.upsideDown = bar.invertedAppearance()
    if bar.orientation() == Qt.Orientation.Horizontal:
        option.state |= QStyle.StateFlag.State_Horizontal
    option.singleStep = bar.singleStep()
    rects = []
    for high, step in ((bar.maximum(), bar.pageStep()), (maximum, page)):
        option.minimum, option.maximum = 0, high
        option.sliderPosition = option.sliderValue = high
        option.pageStep = step
        rects.append(
            style.subControlRect(
                QStyle.ComplexControl.CC_ScrollBar,
                option,
                QStyle.SubControl.SC_ScrollBarSlider,
                bar,
            )
        )
    return rects[0] == rects[1]
