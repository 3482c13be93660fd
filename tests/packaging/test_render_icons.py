"""packaging/render_icons.py: the one SVG rendered to the hicolor sizes with Qt."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication

from tests.packaging import APP_ID, load

render_icons = load("render_icons")


def test_renders_every_hicolor_size(qapp: QApplication, tmp_path: Path) -> None:
    written = render_icons.render(render_icons.SVG, tmp_path)
    assert render_icons.SIZES == (16, 24, 32, 48, 64, 128, 256, 512)
    assert len(written) == len(render_icons.SIZES) + 1
    for size in render_icons.SIZES:
        image = QImage(str(tmp_path / f"{size}x{size}" / "apps" / f"{APP_ID}.png"))
        assert (image.width(), image.height()) == (size, size)
        assert image.hasAlphaChannel()
        # Rounded tile: the corner is transparent, the middle is not.
        assert image.pixelColor(0, 0).alpha() == 0
        assert image.pixelColor(size // 2, size // 2).alpha() == 255
    svg = tmp_path / "scalable" / "apps" / f"{APP_ID}.svg"
    assert svg.read_bytes() == render_icons.SVG.read_bytes()


def test_the_16px_icon_keeps_its_shapes(qapp: QApplication, tmp_path: Path) -> None:
    render_icons.render(render_icons.SVG, tmp_path, sizes=(16,))
    image = QImage(str(tmp_path / "16x16" / "apps" / f"{APP_ID}.png"))
    colours = {image.pixel(x, y) for x in range(16) for y in range(16)}
    # Tile, plug, socket and the socket's holes stay distinct colours, not a blur of a few.
    assert len(colours) >= 6
    # The plug is white on the left half, the socket amber on the right.
    plug = image.pixelColor(4, 8)
    socket = image.pixelColor(12, 6)
    assert min(plug.red(), plug.green(), plug.blue()) > 240
    assert socket.red() > 240 and socket.green() > 170 and socket.blue() < 80
