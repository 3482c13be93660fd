"""How the data view paints its rows: font metrics, colours, the selection.

``RowPainter`` is a helper of ``DataView`` (no widget of its own): the view gives it the rows
on screen (``workbench.core.dump_layout.Row``) and a ``QPainter`` on its viewport.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QPoint, QPointF, QRect, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPalette

from workbench.core.capture import Direction
from workbench.core.dump_layout import Layout, Row
from workbench.ui.data_select import Hit

#: Pixels between the viewport's left edge and the rows' text.
MARGIN = 4
#: Painted (grey, in a one-cell gutter before the text) at the start of a text row that
#: continues a wrapped line. In Latin-1, so every font has it; it is never copied.
CONTINUATION_MARK = "\u00bb"


class RowPainter:
    """Fonts, colours and drawing of the data view's rows."""

    def __init__(self, font: QFont, palette: QPalette) -> None:
        self.set_font(font)
        self.set_palette(palette)

    def set_font(self, font: QFont) -> None:
        # Fractional metrics: a monospace advance is rarely a whole number of pixels, and the
        # selection must line up with the text after 80 characters.
        self.font = QFont(font)
        fm = QFontMetricsF(font)
        self._fm = fm
        self.char_width = max(1.0, fm.horizontalAdvance("0"))
        self.line_height = max(1, math.ceil(fm.lineSpacing()))
        self._ascent = fm.ascent()
        self._bold = QFont(font)
        self._bold.setBold(True)
        #: Control pictures (␍, ␀) only where the font draws them; C escapes otherwise.
        self.pictures = fm.inFontUcs4(0x240D) and fm.inFontUcs4(0x2400)

    def set_palette(self, pal: QPalette) -> None:
        dark = pal.color(QPalette.ColorRole.Base).lightness() < 128
        # Blue for received, red for sent (Wireshark's convention), each readable on its base.
        self._colour_in = QColor("#8cc4ff" if dark else "#1a5fb4")
        self._colour_out = QColor("#ff9b8f" if dark else "#b01e2d")
        self._header_bg = QColor(pal.color(QPalette.ColorRole.AlternateBase))

    def direction_colour(self, direction: Direction) -> QColor:
        return QColor(self._colour_in if direction == Direction.IN else self._colour_out)

    def text_width(self, text: str) -> float:
        if text.isascii():
            return len(text) * self.char_width
        return float(self._fm.horizontalAdvance(text))

    def span_rect(self, text: str, a: int, b: int, x0: float, y: float) -> QRectF:
        """Where characters [a, b) of a row's ``text`` are painted (at least 1 px wide)."""
        xa = x0 + self.text_width(text[:a])
        xb = x0 + self.text_width(text[:b])
        return QRectF(xa, y, max(1.0, xb - xa), self.line_height)

    # -- geometry: rows from the viewport's top, ``x0`` where their text starts

    def cell_rect(
        self, rows: list[Row], layout: Layout, stream_offset: int, x0: float, ascii_column: bool
    ) -> QRect | None:
        """Where the byte at this stream offset is painted, if it is on one of ``rows``."""
        for i, row in enumerate(rows):
            if row.is_header or not row.start <= stream_offset < row.end:
                continue
            a, b = layout.cell(row, stream_offset - row.start, ascii_column=ascii_column)
            return self.span_rect(row.text, a, b, x0, i * self.line_height).toAlignedRect()
        return None

    def hit(self, rows: list[Row], layout: Layout, point: QPoint, x0: float) -> Hit | None:
        """What is under ``point``: below the last row, the end of it."""
        if not rows:
            return None
        if point.y() >= len(rows) * self.line_height:
            return rows[-1].end, False
        row = rows[max(0, point.y() // self.line_height)]
        return layout.hit(row, point.x() - x0, self.text_width)

    # -- painting

    def paint_empty(self, p: QPainter, pal: QPalette, viewport: QRect, text: str) -> None:
        p.fillRect(viewport, pal.color(QPalette.ColorRole.Base))
        p.setPen(pal.color(QPalette.ColorRole.PlaceholderText))
        p.drawText(viewport, Qt.AlignmentFlag.AlignCenter, text)

    def paint(
        self,
        p: QPainter,
        pal: QPalette,
        viewport: QRect,
        rows: list[Row],
        layout: Layout,
        selection: tuple[int, int] | None,
        x0: float,
    ) -> None:
        """The rows from the top of ``viewport`` down; ``x0``: where their text starts."""
        p.fillRect(viewport, pal.color(QPalette.ColorRole.Base))
        highlight = (
            pal.color(QPalette.ColorRole.Highlight),
            pal.color(QPalette.ColorRole.HighlightedText),
        )
        y = 0
        for row in rows:
            colour = self.direction_colour(row.record.direction)
            if row.is_header:
                p.fillRect(QRect(0, y, viewport.width(), self.line_height), self._header_bg)
                p.setFont(self._bold)
                p.setPen(colour)
                p.drawText(QPointF(x0, y + self._ascent), row.text)
                p.setFont(self.font)
            else:
                if row.continued:
                    p.setPen(pal.color(QPalette.ColorRole.PlaceholderText))
                    p.drawText(QPointF(x0 - self.char_width, y + self._ascent), CONTINUATION_MARK)
                p.setPen(colour)
                self._draw_visible_part(p, x0, y, row.text, viewport.width())
                if selection is not None and selection[0] < row.end and selection[1] > row.start:
                    lo = max(selection[0], row.start) - row.start
                    hi = min(selection[1], row.end) - row.start
                    spans = layout.spans(row, lo, hi)
                    self._paint_selected(p, highlight, row, spans, x0, y)
            y += self.line_height

    def _paint_selected(
        self,
        p: QPainter,
        highlight: tuple[QColor, QColor],
        row: Row,
        spans: list[tuple[int, int]],
        x0: float,
        y: int,
    ) -> None:
        background, foreground = highlight
        p.setPen(foreground)
        for a, b in spans:
            xa = x0 + self.text_width(row.text[:a])
            xb = x0 + self.text_width(row.text[:b])
            p.fillRect(QRectF(xa, y, xb - xa, self.line_height), background)
            p.drawText(QPointF(xa, y + self._ascent), row.text[a:b])

    def _draw_visible_part(self, p: QPainter, x0: float, y: int, text: str, width: int) -> None:
        """Draw only the characters that can be on screen: shaping is most of a paint's cost
        and a text row can hold 512 characters (four for each undecodable byte)."""
        limit = math.ceil((width - x0) / self.char_width) + 1
        if text.isascii():  # one cell per character: cut both ends exactly
            first = max(0, math.floor(-x0 / self.char_width))
            p.drawText(QPointF(x0 + first * self.char_width, y + self._ascent), text[first:limit])
        else:  # (a glyph narrower than half a cell is rare enough)
            p.drawText(QPointF(x0, y + self._ascent), text[: 2 * limit])
