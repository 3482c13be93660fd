"""The data view: a custom-painted window onto a socket's capture, in hex or text.

``DataView`` paints only the rows on screen and reads only their bytes from the
``CaptureStore`` (``os.pread`` on the capture file), so opening or scrolling a 1 GiB capture costs
the same as a 1 KiB one, and the view's memory does not grow with the capture: it keeps a few
64 KiB read blocks and some records. Which bytes each row shows, in hex and in text, and where
the view is scrolled to, is Qt-free arithmetic in ``workbench.core.dump_layout``; painting is
``data_paint.RowPainter``'s, saving ``data_save.CaptureSaver``'s, the find bar
``data_find.FindBar``.

A UDP socket's capture is a ``DatagramStore``: every datagram starts on a row of its own under
its own header row (direction, time, peer, length, and "truncated to N" where ``buffer_size``
cut it; ``dump_layout.datagram_header_text``), in every mode; find matches only within one
datagram; the context menu adds Copy datagram (as text, as hex) and Save datagram… for the
datagram under the pointer (``data_copy.DatagramActions``, the view's ``datagrams``).

New bytes are shown at once: ``notify_grew()`` refreshes the rows and the scroll bars and asks
for one repaint. It has no timer of its own, because its caller already coalesces (the
session emits ``dataArrived`` at most once per socket per tick) and Qt merges the ``update()``
calls that come before the next paint.
"""

from __future__ import annotations

import os

from PySide6.QtCore import QEvent, QPoint, QRect, Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QContextMenuEvent,
    QFontDatabase,
    QGuiApplication,
    QKeyEvent,
    QKeySequence,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMenu,
    QVBoxLayout,
    QWidget,
)

from workbench.core import codecs
from workbench.core.capture import CaptureStore, Direction
from workbench.core.dump_layout import (
    TEXT_ROW_BYTES,
    HexLayout,
    Layout,
    Reader,
    Row,
    ScrollState,
    TextLayout,
    copy_text,
    display_text,
    find_match,
    header_text,
)
from workbench.ui import composer_file
from workbench.ui.data_copy import DatagramActions, read_to_copy
from workbench.ui.data_find import FindBar
from workbench.ui.data_paint import MARGIN, RowPainter
from workbench.ui.data_save import (
    HEX_FILTER,
    RAW_FILTER,
    RAW_IN_FILTER,
    RAW_OUT_FILTER,
    SAVE_FILTERS,
    CaptureSaver,
)
from workbench.ui.data_scroll import ViewScroller
from workbench.ui.data_select import ByteSelection, Hit

__all__ = [
    "COPY_HEX_CAP",
    "COPY_TEXT_CAP",
    "COPY_TEXT_LABEL",
    "HEX_FILTER",
    "RAW_FILTER",
    "RAW_IN_FILTER",
    "RAW_OUT_FILTER",
    "SAVE_FILTERS",
    "TEXT_ROW_BYTES",
    "DataPane",
    "DataView",
    "copy_text",
    "display_text",
    "header_text",
]

#: Copy as text copies the rows as the text view shows them (escapes and all), and says so.
COPY_TEXT_LABEL = "Copy as text (as shown)"
#: Copy as text takes at most this many bytes of the capture (the rest: Save data…).
COPY_TEXT_CAP = 64 * 2**20
#: Copy as hex takes at most this many bytes (three characters a byte on the clipboard).
COPY_HEX_CAP = 16 * 2**20


class DataView(QAbstractScrollArea):
    """A capture in hex or text; see the module docstring.

    Signals:
        message(str): something the user should read (copy capped, not found, save done/failed).
        selectionChanged(): the selected byte range changed.
        modeChanged(str), encodingChanged(str): ``set_mode`` / ``set_encoding`` changed them.
        saveProgress(int, int): bytes of the capture written so far, and the total.
        saveFinished(str, str): the path and "" on success, else the error text.
    """

    message = Signal(str)
    selectionChanged = Signal()
    modeChanged = Signal(str)
    encodingChanged = Signal(str)
    # Captures pass 2 GiB: the C++ type's name gives a 64-bit argument (the stubs know only
    # Python types for Signal).
    saveProgress = Signal("qint64", "qint64")  # type: ignore[arg-type]
    saveFinished = Signal(str, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("dataView")
        self.setAccessibleName("Data view")
        self.setToolTip("Bytes received (and sent, in another colour); right-click to copy")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.viewport().setCursor(Qt.CursorShape.IBeamCursor)
        self._store: CaptureStore | None = None
        self._mode = "Hex"
        self._encoding = codecs.TEXT_ENCODINGS[0]
        self._selection = ByteSelection(self)
        self._selection.changed.connect(self.viewport().update)
        self._selection.changed.connect(self.selectionChanged)

        self._saver = CaptureSaver(self)
        self._saver.progress.connect(self.saveProgress)
        self._saver.finished.connect(self.saveFinished)
        self._saver.message.connect(self.message)
        #: Copy datagram and Save datagram… (a UDP socket's capture: a ``DatagramStore``).
        self.datagrams = DatagramActions(self, self.store, self._copy_text, self._saver)
        self.datagrams.message.connect(self.message)

        font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self._painter = RowPainter(font, self.palette())
        self._scroller = ViewScroller(self, self._painter.text_width, MARGIN)
        self.setFont(font)  # after everything that changeEvent reads
        self.horizontalScrollBar().setSingleStep(round(self._painter.char_width * 4))

    def __repr__(self) -> str:
        return f"<DataView {self._mode} {self._encoding} {self._store!r} {self._scroller!r}>"

    # ------------------------------------------------------------------ the capture, mode

    def store(self) -> CaptureStore | None:
        return self._store

    def set_store(self, store: CaptureStore | None) -> None:
        """Show this capture (or nothing); follows its tail until the user scrolls up."""
        self.cancel_save()
        self._store = store
        self._selection.reset()
        state = None if store is None else ScrollState(self._layout_for(Reader(store)))
        self._scroller.state = state
        if state is not None:
            self._scroller.fit_height(self._painter.line_height)
            state.start(anchor_offset=None)
        self._scroller.refresh()
        self.selectionChanged.emit()

    def mode(self) -> str:
        return self._mode

    def set_mode(self, mode: str) -> None:
        """Switch to "Hex" or "Text"; the top row stays where it was in the capture."""
        if mode not in ("Hex", "Text"):
            raise ValueError(f"unknown mode {mode!r}")
        if mode != self._mode:
            self._mode = mode
            self._relayout()
            self.modeChanged.emit(mode)

    def encoding(self) -> str:
        return self._encoding

    def set_encoding(self, name: str) -> None:
        """One of ``codecs.TEXT_ENCODINGS``: how text mode decodes (and Copy as text, find)."""
        if name not in codecs.TEXT_ENCODINGS:
            raise ValueError(f"unknown encoding {name!r}")
        if name != self._encoding:
            self._encoding = name
            if self._mode == "Text":
                self._relayout()
            self.encodingChanged.emit(name)

    def notify_grew(self) -> None:
        """The store has new bytes: show them (and follow the tail) now; see the module
        docstring for why there is no timer here."""
        state = self._scroller.state
        if state is not None:
            state.grew()
            self._scroller.refresh(grown=True)

    def is_following_tail(self) -> bool:
        state = self._scroller.state
        return state.follow if state is not None else True

    # Shadows QWidget.find(WId), a static lookup of a widget by window id that nobody calls
    # on a data view; the name is the view's public API.
    def find(  # type: ignore[override]
        self, needle: bytes, backwards: bool = False, *, ignore_case: bool = False
    ) -> bool:
        """Select the next (or previous) occurrence of ``needle`` and scroll to it;
        ``ignore_case``: ASCII letters match either case. Not found: nothing stays selected.

        Searches from the selection (or the top row), wrapping around once. Runs through the
        store's streaming ``find``: the whole capture is never in memory.
        """
        store = self._store
        if store is None or not needle or store.total_bytes == 0:
            return False
        selection, top = self._selection.range(), self.top_offset()
        match = find_match(
            store, needle, selection, top, backwards=backwards, ignore_case=ignore_case
        )
        if match is None:
            self._selection.set(None)  # an old match left highlighted would look like a hit
            self.message.emit("Not found")
            return False
        found, wrapped = match
        self._selection.set((found, found + len(needle)))
        self.scroll_to_offset(found)
        self.message.emit("Found (search wrapped around)" if wrapped else "")
        return True

    # ------------------------------------------------------------------ selection, copy

    def selected_range(self) -> tuple[int, int] | None:
        """The selection as stream offsets [start, end), or None."""
        return self._selection.range()

    def set_selection(self, start: int, end: int) -> None:
        self._selection.set_clamped(start, end, self._total())

    def select_all(self) -> None:
        if self._total():
            self._selection.set((0, self._total()))

    def clear_selection(self) -> None:
        self._selection.set(None)

    def copy_as_text(self) -> bool:
        """The selection (or the whole capture) as the text view shows it (the same escapes:
        ``\\0`` or ␀, ``\\r`` or ␍, ``\\xff``), on the clipboard; capped with a note."""
        data = self._copy_bytes(COPY_TEXT_CAP, "Copy as text")
        if data is None:
            return False
        QGuiApplication.clipboard().setText(self._copy_text(data))
        return True

    def copy_as_hex(self) -> bool:
        """The selection (or the whole capture) as "68 65 6c 6c 6f", on the clipboard."""
        data = self._copy_bytes(COPY_HEX_CAP, "Copy as hex")
        if data is None:
            return False
        QGuiApplication.clipboard().setText(codecs.hex_pairs(data))
        return True

    def _copy_text(self, data: bytes) -> str:
        return copy_text(data, self._encoding, self._pictures())

    def _total(self) -> int:
        return self._store.total_bytes if self._store is not None else 0

    def _copy_bytes(self, cap: int, what: str) -> bytes | None:
        return read_to_copy(self._store, self._selection.to_copy, cap, what, self.message.emit)

    # ------------------------------------------------------------------ save

    def save_data(
        self,
        path: str | os.PathLike[str],
        as_hex_dump: bool,
        direction: Direction | None = None,
    ) -> None:
        """Write the capture as raw bytes or as the hex dump (text); returns when done.
        ``direction`` (raw only): just the bytes received (IN) or sent (OUT); None: both.

        For the window, ``start_save`` does the same without waiting.
        """
        if self._store is None:
            raise ValueError("no capture to save")
        self._saver.save(self._store, path, as_hex_dump, direction)

    def start_save(
        self,
        path: str | os.PathLike[str],
        as_hex_dump: bool,
        direction: Direction | None = None,
    ) -> None:
        """Save in the background (``data_save.CaptureSaver``); ``saveFinished`` ends it."""
        self._saver.start(self._store, path, as_hex_dump, direction)

    def is_saving(self) -> bool:
        return self._saver.is_saving()

    def cancel_save(self) -> None:
        self._saver.cancel()

    def save_data_dialog(self) -> QFileDialog:
        """Ask where to save (non-modal: ``QFileDialog.open``), then ``start_save``.

        The file type chooses the format: raw bytes, or the hex dump as text.
        """
        return self._saver.open_dialog(self, self.start_save)

    # ------------------------------------------------------------------ scrolling

    def scroll_to_offset(self, stream_offset: int) -> None:
        """Bring the row holding this byte into view (a third of the way down if it was off)."""
        self._scroller.scroll_to_offset(stream_offset)

    def scroll_to_start(self) -> None:
        self._scroller.scroll_to_start()

    def scroll_to_end(self) -> None:
        self._scroller.scroll_to_end()

    def top_offset(self) -> int:
        """The stream offset of the first byte of the top row (its record's for a header)."""
        state = self._scroller.state
        return state.top_offset() if state is not None else 0

    def _layout_for(self, reader: Reader) -> Layout:
        if self._mode == "Hex":
            return HexLayout(reader)
        return TextLayout(reader, self._encoding, self._painter.pictures)

    def _relayout(self) -> None:
        """Another mode, encoding or font: the byte at the top stays at the top."""
        state = self._scroller.state
        if state is not None:
            state.set_layout(self._layout_for(state.layout.reader), state.top_offset())
        self._scroller.refresh()

    def _rows(self) -> list[Row]:
        return self._scroller.rows()

    # ------------------------------------------------------------------ what is on screen

    def visible_lines(self) -> list[str]:
        """The text of each row on screen, as painted (for tests and accessibility)."""
        return [row.text for row in self._rows()]

    def visible_rows(self) -> list[tuple[int, int, int, bytes]]:
        """Each row on screen as (record index, offset in record or -1, stream offset, bytes)."""
        return [(r.pos[0], r.pos[1], r.start, r.data) for r in self._rows()]

    def row_height(self) -> int:
        return self._painter.line_height

    def cell_rect(self, stream_offset: int, *, ascii_column: bool = False) -> QRect | None:
        """Where the byte at this stream offset is painted (viewport coordinates), if on screen.

        Hex mode: its hex pair (or, with ``ascii_column``, its ASCII character); text mode: the
        character it belongs to.
        """
        state = self._scroller.state
        if state is None:
            return None
        x0 = self._x0()
        return self._painter.cell_rect(state.rows(), state.layout, stream_offset, x0, ascii_column)

    def _x0(self) -> float:
        """Where the rows' text starts in the viewport (scrolled horizontally); text rows
        leave a cell before it for the continuation mark of a wrapped line."""
        gutter = self._painter.char_width if self._mode == "Text" else 0.0
        return MARGIN + gutter - self.horizontalScrollBar().value()

    def direction_colour(self, direction: Direction) -> QColor:
        return self._painter.direction_colour(direction)

    def _pictures(self) -> bool:
        """Control pictures (␍) in text rows, else C escapes (the font has no pictures)."""
        return self._painter.pictures

    # ------------------------------------------------------------------ Qt events

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        kind = event.type()
        if kind in (QEvent.Type.PaletteChange, QEvent.Type.StyleChange):
            self._painter.set_palette(self.palette())
        elif kind == QEvent.Type.FontChange:
            self._painter.set_font(self.font())
            self._scroller.fit_height(self._painter.line_height)
            self._relayout()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._scroller.fit_height(self._painter.line_height)
        self._scroller.sync()

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self.viewport())
        try:
            rows, vp, state = self._rows(), self.viewport().rect(), self._scroller.state
            if not rows or state is None:
                empty = "No data yet" if self._store is not None else "No socket selected"
                self._painter.paint_empty(p, self.palette(), vp, empty)
            else:
                selection = self._selection.range()
                self._painter.paint(
                    p, self.palette(), vp, rows, state.layout, selection, self._x0()
                )
        finally:
            p.end()

    def _hit(self, point: QPoint) -> Hit | None:
        """What is under a viewport point; a text-mode hit is a boundary."""
        state = self._scroller.state
        if state is None:
            return None
        return self._painter.hit(state.rows(), state.layout, point, self._x0())

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            super().mousePressEvent(event)
            return
        self.setFocus(Qt.FocusReason.MouseFocusReason)
        hit = self._hit(event.position().toPoint())
        if hit is not None:
            extend = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
            self._selection.press(hit, extend=extend, total=self._total())

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if not event.buttons() & Qt.MouseButton.LeftButton:
            return
        point = event.position().toPoint()
        if point.y() < 0:
            self._scroller.scroll_rows(-1)
        elif point.y() > self.viewport().height():
            self._scroller.scroll_rows(1)
        hit = self._hit(point)
        if hit is not None:
            self._selection.drag_to(hit, self._total())

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        """Double-click on a header row selects its whole record."""
        rows = self._rows()
        i = event.position().toPoint().y() // self._painter.line_height
        if 0 <= i < len(rows) and rows[i].is_header:
            self._selection.set((rows[i].record.stream_offset, rows[i].record.end))
        else:
            super().mouseDoubleClickEvent(event)

    def wheelEvent(self, event: QWheelEvent) -> None:
        angle = event.angleDelta().y()
        if angle:
            self._scroller.wheel(angle)
            event.accept()
        else:
            super().wheelEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.matches(QKeySequence.StandardKey.SelectAll):
            self.select_all()
        elif event.matches(QKeySequence.StandardKey.Copy):
            self.copy_as_text()
        elif event.key() == Qt.Key.Key_Escape and self._selection.range() is not None:
            self.clear_selection()
        elif not self._scroller.key(event.key()):
            super().keyPressEvent(event)

    def datagram_index_at(self, point: QPoint | None) -> int | None:
        """The datagram at ``point`` (viewport coordinates; None: the selection's), if any."""
        rows, height, selection = self._rows(), self._painter.line_height, self._selection
        return self.datagrams.index_at(point, rows, height, selection.range())

    def context_menu(self, point: QPoint | None = None) -> QMenu:
        """The right-click menu (built afresh each time; deleted when it closes); with a
        ``DatagramStore``, also for the datagram at ``point`` (see ``datagram_index_at``)."""
        menu = QMenu(self)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.addAction(COPY_TEXT_LABEL, self.copy_as_text)
        menu.addAction("Copy as hex", self.copy_as_hex)
        menu.addSeparator()
        menu.addAction("Select all", self.select_all).setEnabled(self._store is not None)
        menu.addAction("Save data…", self.save_data_dialog).setEnabled(self._store is not None)
        self.datagrams.add_to_menu(menu, self.datagram_index_at(point))
        return menu

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        # From the keyboard (the Menu key), the datagram is the selection's, not the pointer's.
        mouse = event.reason() == QContextMenuEvent.Reason.Mouse
        # popup(), not exec(): no nested event loop.
        self.context_menu(event.pos() if mouse else None).popup(event.globalPos())


# ------------------------------------------------------------------------------ the pane


class DataPane(QWidget):
    """The data view and its toolbar: mode, encoding, find (text, or hex bytes).

    The message under the view is about the capture shown: another capture clears it. A
    finished save's "Saved …" also clears itself ``composer_file.CLEAR_MS`` after it
    shows, as the composer's "Sent 10.0 MiB" does (issue 8, item 19); a failed save's
    message stays until the next message or another capture.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("dataPane")
        self.view = DataView(self)
        self._build_view_choices()
        self.find_bar = FindBar(self)
        self.find_input = self.find_bar.find_input
        self.find_kind = self.find_bar.find_kind
        self.find_prev = self.find_bar.find_prev
        self.find_next = self.find_bar.find_next
        self._build_labels()

        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(QLabel("View:", self))
        bar.addWidget(self.mode_combo)
        bar.addWidget(self.encoding_combo)
        bar.addSpacing(12)
        bar.addWidget(self.find_bar, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.note_label)
        layout.addWidget(self.message_label)

        self.mode_combo.currentTextChanged.connect(self.view.set_mode)
        self.encoding_combo.currentTextChanged.connect(self.view.set_encoding)
        # The view may be switched directly too (settings, tests): the combos follow it.
        self.view.modeChanged.connect(self.mode_combo.setCurrentText)
        self.view.encodingChanged.connect(self.encoding_combo.setCurrentText)
        self.find_bar.findRequested.connect(self.find_from_input)
        self.find_bar.errorChanged.connect(self._show_find_error)
        self.view.message.connect(self._show_message)
        self.view.saveProgress.connect(self._on_save_progress)
        self.view.saveFinished.connect(self._on_save_finished)

    def _build_view_choices(self) -> None:
        self.mode_combo = QComboBox(self)
        self.mode_combo.setObjectName("viewMode")
        self.mode_combo.addItems(["Hex", "Text"])
        self.mode_combo.setAccessibleName("View mode")
        self.mode_combo.setToolTip("Show the data as a hex dump or as decoded text")
        self.encoding_combo = QComboBox(self)
        self.encoding_combo.setObjectName("viewEncoding")
        self.encoding_combo.addItems(list(codecs.TEXT_ENCODINGS))
        self.encoding_combo.setAccessibleName("Text encoding")
        self.encoding_combo.setToolTip(
            "How text mode, Copy as text and text search decode the bytes"
        )

    def _build_labels(self) -> None:
        self.message_label = QLabel(self)
        self.message_label.setObjectName("dataMessage")
        self.message_label.setWordWrap(False)
        self.message_label.setVisible(False)
        #: Clears a finished save's "Saved …" (``_on_save_finished``).
        self.message_timer = QTimer(self)
        self.message_timer.setSingleShot(True)
        self.message_timer.timeout.connect(self._clear_saved_message)
        self._saved_message = ""
        # A standing note about the shown capture (e.g. its size limit was reached).
        self.note_label = QLabel(self)
        self.note_label.setObjectName("dataNote")
        self.note_label.setWordWrap(True)
        self.note_label.setStyleSheet("color: #bc4c00; font-weight: bold;")
        self.note_label.setAccessibleName("Capture note")
        self.note_label.setToolTip("About the capture shown above")
        self.note_label.setVisible(False)

    # the view's API, for the window
    def set_store(self, store: CaptureStore | None) -> None:
        if store is not self.view.store():
            # A message about another capture ("Copy as hex: copied the first 16 MiB…")
            # must not stay under this one.
            self.find_bar.show_error("")
            self._show_message("")
        self.view.set_store(store)

    def set_note(self, text: str) -> None:
        """A standing, non-modal note about the shown capture ("" hides it)."""
        if self.note_label.text() != text:
            self.note_label.setText(text)
        self.note_label.setVisible(bool(text))

    def notify_grew(self) -> None:
        self.view.notify_grew()

    def save_data_dialog(self) -> QFileDialog:
        return self.view.save_data_dialog()

    def copy_as_text(self) -> bool:
        return self.view.copy_as_text()

    def copy_as_hex(self) -> bool:
        return self.view.copy_as_hex()

    def needle(self) -> bytes | None:
        """The find field's bytes, or None (and an error shown) if it is not valid."""
        return self.find_bar.needle(self.view.encoding())

    def find_from_input(self, backwards: bool = False) -> bool:
        needle = self.needle()
        if needle is None:
            return False
        ignore_case = self.find_bar.ignores_case()
        return self.view.find(needle, backwards=backwards, ignore_case=ignore_case)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.matches(QKeySequence.StandardKey.Find):
            self.find_bar.focus_input()
        elif event.matches(QKeySequence.StandardKey.FindNext):
            self.find_from_input(backwards=False)
        elif event.matches(QKeySequence.StandardKey.FindPrevious):
            self.find_from_input(backwards=True)
        else:
            super().keyPressEvent(event)

    def _show_message(self, text: str) -> None:
        self.message_label.setText(text)
        self.message_label.setVisible(bool(text))

    def _show_find_error(self, text: str) -> None:
        # Clearing the error clears only a find message, not "Saved …" or a copy note.
        if text or self.message_label.text().startswith("Find:"):
            self._show_message(text)

    def _on_save_progress(self, done: int, total: int) -> None:
        if total and done < total:
            self._show_message(f"Saving… {done * 100 // total}%")

    def _on_save_finished(self, _path: str, error: str) -> None:
        if error:
            return
        # "Saved …" (``CaptureSaver`` says it just before ``finished``) goes the way of the
        # composer's "Sent …"; read at each save, so that a test can make it short.
        self._saved_message = self.message_label.text()
        self.message_timer.start(composer_file.CLEAR_MS)

    def _clear_saved_message(self) -> None:
        # Only the message the timer was started for: a later one (a find's "Not found")
        # stays.
        if self._saved_message and self.message_label.text() == self._saved_message:
            self._show_message("")
        self._saved_message = ""
