from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication

from workbench.ui.theme import apply_theme


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
