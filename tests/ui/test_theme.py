"""The themes: the palette, and icons and check boxes that show on light and dark."""

from __future__ import annotations

from PySide6.QtGui import QAction, QColor, QIcon, QPalette
from PySide6.QtWidgets import QApplication, QCheckBox, QStyle, QStyleOptionButton

import pytest
from pytestqt.qtbot import QtBot

from tests.ui.conftest import WAIT_MS
from workbench.ui.main_window import MainWindow
from workbench.ui.theme import PALETTE_ICONS, apply_theme, palette_icon
from workbench.ui.window_actions import ActionStates


def test_themes_change_the_palette(qapp: QApplication) -> None:
    original = qapp.palette()
    try:
        assert apply_theme(qapp, "dark") == "dark"
        dark = qapp.palette().color(QPalette.ColorRole.Window).lightness()
        assert apply_theme(qapp, "light") == "light"
        light = qapp.palette().color(QPalette.ColorRole.Window).lightness()
        assert dark < 100 < light
        assert apply_theme(qapp, "nonsense") == "system"
    finally:
        apply_theme(qapp, "system")
        qapp.setPalette(original)


# -- icons and check boxes that show on every theme -------------------------------------------


def _luminance(color: QColor) -> float:
    """WCAG relative luminance."""

    def channel(v: float) -> float:
        v /= 255
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in (color.red(), color.green(), color.blue()))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _contrast(a: QColor, b: QColor) -> float:
    """WCAG contrast ratio, 1 (none) to 21 (black on white)."""
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def _average_ink(icon: QIcon) -> QColor:
    """The average colour of the icon's visible pixels, weighted by their alpha."""
    image = icon.pixmap(24, 24).toImage()
    total = r = g = b = 0.0
    for y in range(image.height()):
        for x in range(image.width()):
            c = image.pixelColor(x, y)
            a = c.alphaF()
            total += a
            r, g, b = r + c.red() * a, g + c.green() * a, b + c.blue() * a
    assert total > 10, "the icon draws almost nothing"
    return QColor(int(r / total), int(g / total), int(b / total))


def _window_color(qapp: QApplication) -> QColor:
    return qapp.palette().color(QPalette.ColorRole.Window)


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_socket_action_icons_contrast_with_the_window_in_every_theme(
    workbench_window: MainWindow, qapp: QApplication, qtbot: QtBot, theme: str
) -> None:
    original = qapp.palette()
    try:
        apply_theme(qapp, theme)
        window_color = _window_color(qapp)
        # The new palette reaches the window's widgets in posted events.
        qtbot.waitUntil(
            lambda: workbench_window.palette().color(QPalette.ColorRole.Window) == window_color,
            timeout=WAIT_MS,
        )
        for name in ("connectAction", "pauseAction", "disconnectAction", "closeSocketAction"):
            action = workbench_window.findChild(QAction, name)
            assert action is not None, name
            ink = _average_ink(action.icon())
            assert _contrast(ink, window_color) >= 3.0, (theme, name, ink.name())
    finally:
        apply_theme(qapp, "system")
        qapp.setPalette(original)


def test_resume_icon_follows_the_palette_too(
    workbench_window: MainWindow, qapp: QApplication, qtbot: QtBot
) -> None:
    """Pause turns into Resume with a play icon, drawn from the palette as well."""
    original = qapp.palette()
    try:
        apply_theme(qapp, "dark")
        window_color = _window_color(qapp)
        qtbot.waitUntil(
            lambda: workbench_window.palette().color(QPalette.ColorRole.Window) == window_color,
            timeout=WAIT_MS,
        )
        before = workbench_window.pause_action.icon().cacheKey()
        workbench_window.window_actions.update(
            ActionStates(
                connect=False,
                secure=False,
                selection=True,
                disconnect=False,
                current=True,
                resume=True,
                send=False,
            )
        )
        icon = workbench_window.pause_action.icon()
        assert workbench_window.pause_action.text() == "&Resume"
        assert icon.cacheKey() != before
        assert _contrast(_average_ink(icon), window_color) >= 3.0
    finally:
        apply_theme(qapp, "system")
        qapp.setPalette(original)


@pytest.mark.parametrize("name", PALETTE_ICONS)
def test_palette_icons_are_drawn_in_the_button_text_colour(qapp: QApplication, name: str) -> None:
    palette = QPalette(QColor(40, 40, 40))
    palette.setColor(QPalette.ColorRole.ButtonText, QColor(250, 250, 250))
    ink = _average_ink(palette_icon(name, palette))
    assert min(ink.red(), ink.green(), ink.blue()) >= 240, ink.name()


def test_unknown_palette_icon_is_refused(qapp: QApplication) -> None:
    with pytest.raises(ValueError, match="no palette icon"):
        palette_icon("nonsense", qapp.palette())


def test_dark_check_box_frame_stands_out_from_the_window(qapp: QApplication) -> None:
    original = qapp.palette()
    try:
        apply_theme(qapp, "dark")
        box = QCheckBox("x")
        box.setPalette(qapp.palette())
        box.resize(box.sizeHint())
        option = QStyleOptionButton()
        box.initStyleOption(option)
        style = box.style()
        indicator = style.subElementRect(QStyle.SubElement.SE_CheckBoxIndicator, option, box)
        image = box.grab().toImage()
        window_color = _window_color(qapp)
        # the frame's left edge, at the indicator's middle height
        y, left = indicator.center().y(), indicator.left()
        best = max(_contrast(image.pixelColor(x, y), window_color) for x in range(left, left + 3))
        assert best >= 2.0
    finally:
        apply_theme(qapp, "system")
        qapp.setPalette(original)
