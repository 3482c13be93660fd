"""The window's themes: the system's, light and dark, and icons that follow the palette."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPainterPath, QPalette, QPen, QPixmap
from PySide6.QtWidgets import (
    QApplication,
    QProxyStyle,
    QStyle,
    QStyleFactory,
    QStyleOption,
    QWidget,
)

from workbench.session.settings import THEMES

__all__ = ["PALETTE_ICONS", "THEMES", "PaletteWatcher", "apply_theme", "palette_icon"]


def _dark_palette() -> QPalette:
    p = QPalette()
    base, window, text = QColor(30, 31, 34), QColor(43, 45, 48), QColor(223, 225, 229)
    disabled = QColor(120, 122, 128)
    accent = QColor(53, 116, 240)
    roles = {
        QPalette.ColorRole.Window: window,
        QPalette.ColorRole.WindowText: text,
        QPalette.ColorRole.Base: base,
        QPalette.ColorRole.AlternateBase: QColor(37, 38, 41),
        QPalette.ColorRole.ToolTipBase: QColor(60, 63, 65),
        QPalette.ColorRole.ToolTipText: text,
        QPalette.ColorRole.PlaceholderText: disabled,
        QPalette.ColorRole.Text: text,
        QPalette.ColorRole.Button: QColor(57, 59, 64),
        QPalette.ColorRole.ButtonText: text,
        QPalette.ColorRole.BrightText: QColor(255, 90, 90),
        QPalette.ColorRole.Highlight: accent,
        QPalette.ColorRole.HighlightedText: QColor(255, 255, 255),
        QPalette.ColorRole.Link: QColor(100, 160, 255),
        QPalette.ColorRole.Light: QColor(70, 72, 76),
        QPalette.ColorRole.Midlight: QColor(60, 62, 66),
        QPalette.ColorRole.Mid: QColor(50, 52, 56),
        QPalette.ColorRole.Dark: QColor(25, 26, 28),
        QPalette.ColorRole.Shadow: QColor(10, 10, 10),
    }
    for role, color in roles.items():
        p.setColor(role, color)
    for role in (
        QPalette.ColorRole.Text,
        QPalette.ColorRole.ButtonText,
        QPalette.ColorRole.WindowText,
    ):
        p.setColor(QPalette.ColorGroup.Disabled, role, disabled)
    return p


_system_style: str | None = None


def apply_theme(app: QApplication, theme: str) -> str:
    """``"light"``, ``"dark"`` or ``"system"``; returns the theme applied."""
    global _system_style
    if theme not in THEMES:
        theme = "system"
    style = app.style()
    if _system_style is None and style is not None:
        _system_style = style.name()
    if theme == "system":
        if _system_style and style is not None and style.name() != _system_style:
            app.setStyle(QStyleFactory.create(_system_style))
        style = app.style()
        app.setPalette(style.standardPalette() if style is not None else QPalette())
        return theme
    fusion = QStyleFactory.create("Fusion")
    if fusion is not None:
        app.setStyle(_DarkStyle(fusion) if theme == "dark" else fusion)
    if theme == "dark":
        app.setPalette(_dark_palette())
    else:
        style = app.style()
        app.setPalette(style.standardPalette() if style is not None else QPalette())
    return theme


class _DarkStyle(QProxyStyle):
    """Fusion with check box borders that show on a dark palette.

    Fusion draws a check box's frame in the window colour made darker (its ``outline()``), not
    from a palette role: on a dark window that frame all but vanishes. This style draws the
    frame again halfway between ``Text`` and ``Base``, which stands apart from both.
    """

    def drawPrimitive(
        self,
        element: QStyle.PrimitiveElement,
        option: QStyleOption,
        painter: QPainter,
        widget: QWidget | None = None,
    ) -> None:
        super().drawPrimitive(element, option, painter, widget)
        if element in (
            QStyle.PrimitiveElement.PE_IndicatorCheckBox,
            QStyle.PrimitiveElement.PE_IndicatorItemViewItemCheck,
        ):
            painter.save()
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            palette: QPalette = option.palette
            text = palette.color(QPalette.ColorRole.Text)
            base = palette.color(QPalette.ColorRole.Base)
            frame = QColor(
                (text.red() + base.red()) // 2,
                (text.green() + base.green()) // 2,
                (text.blue() + base.blue()) // 2,
            )
            painter.setPen(QPen(frame, 1))
            painter.drawRect(option.rect.adjusted(0, 0, -1, -1))
            painter.restore()


# -- icons that follow the palette -----------------------------------------------------------

#: The icons drawn here: the socket actions whose standard icons are black on any palette.
PALETTE_ICONS = ("play", "pause", "stop", "close")

_ICON_SIZES = (16, 24, 32)


def palette_icon(name: str, palette: QPalette) -> QIcon:
    """One of ``PALETTE_ICONS``, drawn in the palette's ``ButtonText`` colour (and in its
    disabled ``ButtonText`` for a disabled action), so it shows on light and dark toolbars."""
    icon = QIcon()
    states = (
        (QIcon.Mode.Normal, QPalette.ColorGroup.Active),
        (QIcon.Mode.Disabled, QPalette.ColorGroup.Disabled),
    )
    for mode, group in states:
        color = palette.color(group, QPalette.ColorRole.ButtonText)
        for size in _ICON_SIZES:
            icon.addPixmap(_draw(name, size, color), mode)
    return icon


def _draw(name: str, size: int, color: QColor) -> QPixmap:
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    p = QPainter(pixmap)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    u = size / 16  # the shapes are laid out on a 16-unit grid
    if name == "close":
        p.setPen(QPen(color, 2 * u, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
        p.drawLine(QPointF(4 * u, 4 * u), QPointF(12 * u, 12 * u))
        p.drawLine(QPointF(12 * u, 4 * u), QPointF(4 * u, 12 * u))
    else:
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(color)
        if name == "play":
            path = QPainterPath(QPointF(4 * u, 2.5 * u))
            path.lineTo(13 * u, 8 * u)
            path.lineTo(4 * u, 13.5 * u)
            path.closeSubpath()
            p.drawPath(path)
        elif name == "pause":
            p.drawRect(QRectF(3.5 * u, 3 * u, 3 * u, 10 * u))
            p.drawRect(QRectF(9.5 * u, 3 * u, 3 * u, 10 * u))
        elif name == "stop":
            p.drawRect(QRectF(3.5 * u, 3.5 * u, 9 * u, 9 * u))
        else:
            p.end()
            raise ValueError(f"no palette icon {name!r}")
    p.end()
    return pixmap


class PaletteWatcher(QObject):
    """Calls ``changed()`` whenever ``widget``'s palette changes (a theme switch, or the
    system's), so what is drawn from the palette can be drawn again."""

    def __init__(self, widget: QWidget, changed: Callable[[], None]) -> None:
        super().__init__(widget)
        self._changed = changed
        widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.PaletteChange:
            self._changed()
        return False
