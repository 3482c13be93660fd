"""The data view: a custom-painted window onto a socket's capture, in hex or text.

``DataView`` paints only the rows on screen and reads only their bytes from the
``CaptureStore`` (``os.pread`` on the capture file), so opening or scrolling a 1 GiB capture costs
the same as a 1 KiB one, and the view's memory does not grow with the capture: it keeps a few
64 KiB read blocks and some records; hex row numbers come from the store's ``LineIndex``.

Rows. Every record (one chunk of received or sent bytes) starts with a header row (direction
arrow, ``HH:MM:SS.mmm``, size). Then:

- *hex* — 16 bytes a row, ``codecs.hex_dump_line`` at the byte's offset in the whole capture
  (both directions together), the format Wireshark's "Follow stream" made familiar;
- *text* — rows end after each newline and at most every ``TEXT_ROW_BYTES`` bytes; the byte
  breaks are fixed (multiples of ``TEXT_ROW_BYTES`` from the record's start, moved past a
  character that straddles them), so any row can be found from the bytes around it alone. Text
  mode therefore needs no line index: its scrollbar is positioned by byte offset, the way large
  file viewers do it, and the rows are decoded with ``codecs.decode_visible`` (invalid bytes and
  control characters visible; a tab is shown as U+2192 →).

Repaints are coalesced: ``notify_grew()`` only marks the view dirty and starts one single-shot
``QTimer`` (``REPAINT_INTERVAL_MS``), whose tick refreshes the layout, follows the tail (unless
the user scrolled away from the bottom) and repaints once.

Signals:
    message(str): something the user should read (copy capped, not found, save done/failed).
    selectionChanged(): the selected byte range changed.
    modeChanged(str), encodingChanged(str): ``set_mode`` / ``set_encoding`` changed them.
    saveProgress(int, int): bytes of the capture written so far, and the total.
    saveFinished(str, str): the path and "" on success, else the error text.
"""

from __future__ import annotations

import bisect
import math
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import shiboken6
from PySide6.QtCore import QEvent, QPoint, QPointF, QRect, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QContextMenuEvent,
    QFont,
    QFontDatabase,
    QFontMetricsF,
    QGuiApplication,
    QKeyEvent,
    QKeySequence,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from workbench.core import codecs
from workbench.core.capture import CaptureStore, Direction, LineIndex, Record

HEX_ROW_BYTES = 16
#: Text rows break after each newline and at the latest every this many bytes of a record.
TEXT_ROW_BYTES = 128
#: One repaint tick at most every this many milliseconds (~30 Hz).
REPAINT_INTERVAL_MS = 33
#: Copy as text takes at most this many bytes of the capture (the rest: Save data…).
COPY_TEXT_CAP = 64 * 2**20
#: Copy as hex takes at most this many bytes (three characters a byte on the clipboard).
COPY_HEX_CAP = 16 * 2**20
#: A scroll position beyond this is scaled down to fit QScrollBar's int range.
SCROLL_LIMIT = 2**31 - 1
#: The read cache: this many blocks of this size, aligned in the capture's stream.
CACHE_BLOCK = 1 << 16
CACHE_BLOCKS = 8
#: Saving in the background spends at most this long per event-loop turn.
SAVE_SLICE_S = 0.02

HEADER = -1  # the offset-in-record of a record's header row
Pos = tuple[int, int]  # (record index, offset in record of the row's first byte | HEADER)


def header_text(rec: Record) -> str:
    """The text of a record's header row: arrow, local time to the millisecond, size."""
    lt = time.localtime(rec.timestamp)
    ms = int((rec.timestamp - int(rec.timestamp)) * 1000)
    arrow, word = ("\u25c0", "received") if rec.direction == Direction.IN else ("\u25b6", "sent")
    unit = "byte" if rec.size == 1 else "bytes"
    clock = f"{lt.tm_hour:02d}:{lt.tm_min:02d}:{lt.tm_sec:02d}.{ms:03d}"
    return f"{arrow} {clock}  {word} {rec.size:,} {unit}"


# When the view's font has no glyphs for the control pictures (U+2400 block: DejaVu Sans Mono,
# the usual Linux monospace font, has none), they would paint as empty boxes; C-style escapes
# are readable in every font.
_C_ESCAPES = {0: "\\0", 7: "\\a", 8: "\\b", 11: "\\v", 12: "\\f", 13: "\\r", 27: "\\e"}
_PICTURE_ESCAPES = str.maketrans(
    {
        chr(0x2400 + c): _C_ESCAPES.get(c, f"\\x{c:02x}")
        for c in range(0x20)
        if c not in (9, 10)
    }
    | {"\u2421": "\\x7f"}
)


def display_text(decoded: str, pictures: bool = True) -> str:
    """A decoded text row as painted: without its final newline, a tab as U+2192 (→), and,
    with ``pictures=False``, control pictures as C escapes (``\\r``, ``\\0``, ``\\x1b``…)."""
    if decoded.endswith("\n"):
        decoded = decoded[:-1]
    decoded = decoded.replace("\t", "\u2192")
    return decoded if pictures else decoded.translate(_PICTURE_ESCAPES)


def copy_text(data: bytes, encoding: str) -> str:
    """Bytes as Copy as text gives them: ``decode_visible``, but CR stays a real CR.

    The view shows CR as U+240D like any control character; on the clipboard "\\r\\n" should be
    a line break. Only for one-byte-unit encodings, where b"\\r" is always a CR.
    """
    if encoding.upper().startswith("UTF-16"):
        return codecs.decode_visible(data, encoding)
    return "\r".join(codecs.decode_visible(part, encoding) for part in data.split(b"\r"))


# ------------------------------------------------------------------------------ reading


class _Reader:
    """Cached access to a store's records and bytes (only what the screen needs)."""

    def __init__(self, store: CaptureStore) -> None:
        self.store = store
        self._records: dict[int, Record] = {}
        self._blocks: dict[int, bytes] = {}

    def record(self, i: int) -> Record:
        if i >= self.store.record_count - 1:  # the last record can still grow: never cached
            return self.store.record(i)
        rec = self._records.get(i)
        if rec is None:
            if len(self._records) > 4096:
                self._records.clear()
            rec = self._records[i] = self.store.record(i)
        return rec

    def read(self, stream_offset: int, size: int) -> bytes:
        """Bytes [stream_offset, stream_offset + size) of the stream, through the block cache."""
        if size <= 0:
            return b""
        if size > CACHE_BLOCK:
            return self.store.read(stream_offset, size)
        first = stream_offset // CACHE_BLOCK
        last = (stream_offset + size - 1) // CACHE_BLOCK
        parts = []
        total = self.store.total_bytes
        for b in range(first, last + 1):
            block = self._blocks.get(b)
            stale = block is not None and len(block) < CACHE_BLOCK and (
                b * CACHE_BLOCK + len(block) < total)  # a tail block, and the capture grew
            if block is None or stale:
                if len(self._blocks) >= CACHE_BLOCKS:
                    del self._blocks[next(iter(self._blocks))]
                block = self._blocks[b] = self.store.read(b * CACHE_BLOCK, CACHE_BLOCK)
            parts.append(block)
        joined = parts[0] if len(parts) == 1 else b"".join(parts)
        start = stream_offset - first * CACHE_BLOCK
        return joined[start:start + size]

    def rec_bytes(self, r: int, start: int, end: int) -> bytes:
        """Bytes [start, end) of record r (clipped to the record)."""
        rec = self.record(r)
        start = max(0, start)
        end = min(end, rec.size)
        return self.read(rec.stream_offset + start, end - start)


# ------------------------------------------------------------------------------ layouts


class _Layout:
    """Rows of a capture in one mode. Positions are ``Pos`` tuples; values are scroll units."""

    def __init__(self, reader: _Reader) -> None:
        self.reader = reader

    @property
    def count(self) -> int:
        return self.reader.store.record_count

    def refresh(self) -> None:
        """The store grew."""

    def first(self) -> Pos | None:
        return (0, HEADER) if self.count else None

    def last(self) -> Pos | None:
        n = self.count
        if not n:
            return None
        size = self.reader.record(n - 1).size
        return (n - 1, HEADER) if size == 0 else (n - 1, self.row_start(n - 1, size - 1))

    def next(self, pos: Pos) -> Pos | None:
        r, off = pos
        size = self.reader.record(r).size
        end = 0 if off == HEADER else self.row_end(r, off)
        if end < size:
            return (r, end)
        return (r + 1, HEADER) if r + 1 < self.count else None

    def prev(self, pos: Pos) -> Pos | None:
        r, off = pos
        if off == HEADER:
            if r == 0:
                return None
            size = self.reader.record(r - 1).size
            return (r - 1, HEADER) if size == 0 else (r - 1, self.row_start(r - 1, size - 1))
        return (r, HEADER) if off == 0 else (r, self.row_start(r, off - 1))

    def pos_of_offset(self, stream_offset: int) -> Pos | None:
        """The row holding this byte of the stream."""
        store = self.reader.store
        if not self.count:
            return None
        if stream_offset >= store.total_bytes:
            return self.last()
        rec = store.record_at(max(0, stream_offset))
        return (rec.index, self.row_start(rec.index, stream_offset - rec.stream_offset))

    # per mode
    def row_start(self, r: int, x: int) -> int:
        raise NotImplementedError

    def row_end(self, r: int, start: int) -> int:
        raise NotImplementedError

    def value_of(self, pos: Pos) -> int:
        raise NotImplementedError

    def pos_at_value(self, value: int) -> Pos | None:
        raise NotImplementedError


class _HexLayout(_Layout):
    """Exact row numbers from the store's ``LineIndex`` (cumulative per record, kept by the
    store at append time): every lookup is a binary search, whatever the capture's size."""

    @property
    def total_rows(self) -> int:
        return LineIndex.hex_rows(self.reader.store)

    def row_start(self, r: int, x: int) -> int:
        return x - x % HEX_ROW_BYTES

    def row_end(self, r: int, start: int) -> int:
        return min(start + HEX_ROW_BYTES, self.reader.record(r).size)

    def value_of(self, pos: Pos) -> int:
        r, off = pos
        rec = self.reader.record(r)
        if off != HEADER:
            return LineIndex.hex_row_of(self.reader.store, rec.stream_offset + off)
        if rec.size:
            return LineIndex.hex_row_of(self.reader.store, rec.stream_offset) - 1
        # An empty record (no byte to look up): the row after the previous record's last.
        before = self.prev(pos)
        return 0 if before is None else self.value_of(before) + 1

    def pos_at_value(self, value: int) -> Pos | None:
        total = self.total_rows
        if not total:
            return None
        rec, row = LineIndex.hex_row(self.reader.store, max(0, min(value, total - 1)))
        return (rec.index, HEADER) if row == 0 else (rec.index, (row - 1) * HEX_ROW_BYTES)


class _TextLayout(_Layout):
    """Rows found from the bytes around them; scroll values are stream offsets (+ headers)."""

    def __init__(self, reader: _Reader, encoding: str) -> None:
        super().__init__(reader)
        enc = encoding.upper().replace("_", "-")
        self.utf8 = enc in ("UTF-8", "UTF8")
        self.utf16 = enc.startswith("UTF-16")
        self.big_endian = enc.endswith("BE")
        if self.utf16:
            self.newline = b"\x00\n" if self.big_endian else b"\n\x00"
        else:
            self.newline = b"\n"

    def _adjust(self, r: int, b: int) -> int:
        """Move the fixed break ``b`` past a character that straddles it."""
        size = self.reader.record(r).size
        if b <= 0 or b >= size:
            return b
        if self.utf8:
            before = self.reader.rec_bytes(r, b - 3, b)
            for k in range(1, len(before) + 1):
                lead = before[-k]
                if lead & 0xC0 == 0x80:
                    continue  # a continuation byte: keep looking for the lead
                need = 2 if 0xC0 <= lead < 0xE0 else 3 if 0xE0 <= lead < 0xF0 else (
                    4 if 0xF0 <= lead < 0xF8 else 1)
                if need > k:
                    after = self.reader.rec_bytes(r, b, b - k + need)
                    if len(after) == need - k and all(c & 0xC0 == 0x80 for c in after):
                        return b - k + need
                return b
            return b
        if self.utf16 and b >= 2:
            hi, lo = self.reader.rec_bytes(r, b - 2, b)
            unit = (hi << 8 | lo) if self.big_endian else (lo << 8 | hi)
            if 0xD800 <= unit < 0xDC00 and b + 2 <= size:
                return b + 2
        return b

    def _last_newline_end(self, data: bytes, base: int) -> int:
        """The end (record offset) of the last newline unit in ``data`` (at ``base``), or -1."""
        nl = self.newline
        end = len(data)
        while True:
            i = data.rfind(nl, 0, end)
            if i < 0:
                return -1
            if len(nl) == 1 or (base + i) % 2 == 0:
                return base + i + len(nl)
            end = i + len(nl) - 1

    def _first_newline_end(self, data: bytes, base: int) -> int:
        nl = self.newline
        start = 0
        while True:
            i = data.find(nl, start)
            if i < 0:
                return -1
            if len(nl) == 1 or (base + i) % 2 == 0:
                return base + i + len(nl)
            start = i + 1

    def row_start(self, r: int, x: int) -> int:
        while True:
            b = x - x % TEXT_ROW_BYTES
            bp = self._adjust(r, b)
            if x >= bp:
                break
            x = b - 1  # x belongs to the character that straddles b: the row before b
        data = self.reader.rec_bytes(r, bp, x)  # newlines ending at or before x
        end = self._last_newline_end(data, bp)
        return max(bp, end)

    def row_end(self, r: int, start: int) -> int:
        size = self.reader.record(r).size
        b2 = start - start % TEXT_ROW_BYTES + TEXT_ROW_BYTES
        limit = size if b2 >= size else self._adjust(r, b2)
        data = self.reader.rec_bytes(r, start, limit)
        end = self._first_newline_end(data, start)
        return limit if end < 0 else end

    def value_of(self, pos: Pos) -> int:
        r, off = pos
        rec = self.reader.record(r)
        return rec.stream_offset + r + (0 if off == HEADER else 1 + off)

    def pos_at_value(self, value: int) -> Pos | None:
        n = self.count
        if not n:
            return None
        record = self.reader.record
        r = bisect.bisect_right(range(n), value, key=lambda i: record(i).stream_offset + i) - 1
        r = max(0, r)
        rec = record(r)
        within = value - (rec.stream_offset + r)
        if within <= 0 or rec.size == 0:
            return (r, HEADER)
        return (r, self.row_start(r, min(within - 1, rec.size - 1)))


@dataclass(frozen=True, slots=True)
class _Row:
    pos: Pos
    record: Record
    start: int  # stream offset of the row's first byte (the record's first byte for a header)
    data: bytes  # the row's bytes (empty for a header)
    text: str  # as painted


# ------------------------------------------------------------------------------ the view


class DataView(QAbstractScrollArea):
    """A capture in hex or text; see the module docstring.

    Signals:
        message(str), selectionChanged(), modeChanged(str), encodingChanged(str),
        saveProgress(int, int), saveFinished(str, str)
    """

    message = Signal(str)
    selectionChanged = Signal()
    modeChanged = Signal(str)
    encodingChanged = Signal(str)
    saveProgress = Signal("qint64", "qint64")  # captures pass 2 GiB
    saveFinished = Signal(str, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("dataView")
        self.setAccessibleName("Data view")
        self.setToolTip("Bytes received (and sent, in another colour); right-click to copy")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.viewport().setCursor(Qt.CursorShape.IBeamCursor)
        self._store: CaptureStore | None = None
        self._reader: _Reader | None = None
        self._layout: _Layout | None = None
        self._mode = "Hex"
        self._encoding = codecs.TEXT_ENCODINGS[0]
        self._top: Pos | None = None
        self._follow = True
        self._scale = 1
        self._syncing = False
        self._rows_cache: tuple[tuple[object, ...], list[_Row]] | None = None
        self._generation = 0
        self._selection: tuple[int, int] | None = None
        self._anchor: int | None = None
        self._anchor_is_byte = True
        self._save_job: Iterator[tuple[int, int]] | None = None
        self._save_path = ""
        self._save_total = 0
        self._dialog: QFileDialog | None = None

        self._tick = QTimer(self)
        self._tick.setSingleShot(True)
        self._tick.setInterval(REPAINT_INTERVAL_MS)
        self._tick.timeout.connect(self._on_tick)
        self._save_timer = QTimer(self)
        self._save_timer.setInterval(0)
        self._save_timer.timeout.connect(self._save_step)

        font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.setFont(font)
        self._update_metrics()
        self._update_colours()
        self.verticalScrollBar().valueChanged.connect(self._on_vscroll)
        self.horizontalScrollBar().valueChanged.connect(self.viewport().update)
        self.horizontalScrollBar().setSingleStep(round(self._cw * 4))

    # ------------------------------------------------------------------ public API

    def store(self) -> CaptureStore | None:
        return self._store

    def set_store(self, store: CaptureStore | None) -> None:
        """Show this capture (or nothing); follows its tail until the user scrolls up."""
        self.cancel_save()
        self._store = store
        self._reader = _Reader(store) if store is not None else None
        self._selection = None
        self._anchor = None
        self._follow = True
        self._rebuild_layout(anchor_offset=None)
        self.selectionChanged.emit()

    def mode(self) -> str:
        return self._mode

    def set_mode(self, mode: str) -> None:
        """Switch to "Hex" or "Text"; the top row stays where it was in the capture."""
        if mode not in ("Hex", "Text"):
            raise ValueError(f"unknown mode {mode!r}")
        if mode != self._mode:
            anchor = self._top_offset()
            self._mode = mode
            self._rebuild_layout(anchor_offset=anchor)
            self.modeChanged.emit(mode)

    def encoding(self) -> str:
        return self._encoding

    def set_encoding(self, name: str) -> None:
        """One of ``codecs.TEXT_ENCODINGS``: how text mode decodes (and Copy as text, find)."""
        if name not in codecs.TEXT_ENCODINGS:
            raise ValueError(f"unknown encoding {name!r}")
        if name != self._encoding:
            anchor = self._top_offset()
            self._encoding = name
            if self._mode == "Text":
                self._rebuild_layout(anchor_offset=anchor)
            self.encodingChanged.emit(name)

    def notify_grew(self) -> None:
        """The store has new bytes. Cheap: one repaint tick follows within ~33 ms."""
        if self._store is not None and not self._tick.isActive():
            self._tick.start()

    def is_following_tail(self) -> bool:
        return self._follow

    def find(self, needle: bytes, backwards: bool = False) -> bool:
        """Select the next (or previous) occurrence of ``needle`` and scroll to it.

        Searches from the selection (or the top row), wrapping around once. Runs through the
        store's streaming ``find``: the whole capture is never in memory.
        """
        store = self._store
        if store is None or not needle or store.total_bytes == 0:
            return False
        total = store.total_bytes
        sel = self._selection
        wrapped = False
        if not backwards:
            start = sel[0] + 1 if sel else self._top_offset()
            found = store.find(needle, start)
            if found is None and start > 0:
                found, wrapped = store.find(needle, 0), True
        else:
            # The store finds the last match that ENDS at or before its start: this one ends
            # at the latest one byte after the selection's start, so it starts before it.
            start = min(total, sel[0] + len(needle) - 1) if sel else total
            found = store.find(needle, start, backwards=True)
            if found is None and start < total:
                found, wrapped = store.find(needle, total, backwards=True), True
        if found is None:
            self.message.emit("Not found")
            return False
        self._set_selection((found, found + len(needle)))
        self.scroll_to_offset(found)
        self.message.emit("Found (search wrapped around)" if wrapped else "")
        return True

    def selected_range(self) -> tuple[int, int] | None:
        """The selection as stream offsets [start, end), or None."""
        return self._selection

    def set_selection(self, start: int, end: int) -> None:
        total = self._store.total_bytes if self._store is not None else 0
        start, end = max(0, min(start, total)), max(0, min(end, total))
        self._set_selection((min(start, end), max(start, end)) if start != end else None)

    def select_all(self) -> None:
        if self._store is not None and self._store.total_bytes:
            self._set_selection((0, self._store.total_bytes))

    def clear_selection(self) -> None:
        self._set_selection(None)

    def copy_as_text(self) -> bool:
        """The selection (or the whole capture) decoded, on the clipboard; capped with a note."""
        data = self._copy_bytes(COPY_TEXT_CAP, "Copy as text")
        if data is None:
            return False
        QGuiApplication.clipboard().setText(copy_text(data, self._encoding))
        return True

    def copy_as_hex(self) -> bool:
        """The selection (or the whole capture) as "68 65 6c 6c 6f", on the clipboard."""
        data = self._copy_bytes(COPY_HEX_CAP, "Copy as hex")
        if data is None:
            return False
        QGuiApplication.clipboard().setText(codecs.hex_pairs(data))
        return True

    def save_data(
        self, path: str | os.PathLike[str], as_hex_dump: bool,
        direction: Direction | None = None,
    ) -> None:
        """Write the capture as raw bytes or as the hex dump (text); returns when done.
        ``direction`` (raw only): just the bytes received (IN) or sent (OUT); None: both.

        For the window, ``start_save`` does the same in slices without blocking the loop.
        """
        for _ in self._save_steps(Path(path), as_hex_dump, direction):
            pass

    def start_save(
        self, path: str | os.PathLike[str], as_hex_dump: bool,
        direction: Direction | None = None,
    ) -> None:
        """Save in the background (slices of ~20 ms on a 0 ms timer); ``saveFinished`` ends it."""
        self.cancel_save()
        if self._store is None:
            self.saveFinished.emit(str(path), "nothing to save")
            return
        self._save_path = str(path)
        store = self._store
        self._save_total = (
            store.total_bytes if as_hex_dump or direction is None
            else store.bytes_in if direction == Direction.IN else store.bytes_out
        )
        self._save_job = self._save_steps(Path(path), as_hex_dump, direction)
        self._save_timer.start()

    def is_saving(self) -> bool:
        return self._save_job is not None

    def cancel_save(self) -> None:
        if self._save_job is not None:
            job, self._save_job = self._save_job, None
            self._save_timer.stop()
            job.close()
            self.saveFinished.emit(self._save_path, "cancelled")

    def save_data_dialog(self) -> QFileDialog:
        """Ask where to save (non-modal: ``QFileDialog.open``), then ``start_save``.

        The file type chooses the format: raw bytes, or the hex dump as text.
        """
        if self._dialog is not None and shiboken6.isValid(self._dialog) and (
            self._dialog.isVisible()
        ):
            return self._dialog
        dialog = QFileDialog(self, "Save data", "", ";;".join(SAVE_FILTERS))
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setFileMode(QFileDialog.FileMode.AnyFile)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        def chosen(path: str) -> None:
            as_hex_dump, direction = SAVE_FILTERS.get(dialog.selectedNameFilter(), (False, None))
            self.start_save(path, as_hex_dump, direction)

        dialog.fileSelected.connect(chosen)
        # Settle the layout before the dialog's window exists: a size hint that changes
        # after that is pushed to the platform window (the offscreen one warns about it).
        dialog.adjustSize()
        self._dialog = dialog
        dialog.open()
        return dialog

    def scroll_to_offset(self, stream_offset: int) -> None:
        """Bring the row holding this byte into view (a third of the way down if it was off)."""
        if self._layout is None:
            return
        pos = self._layout.pos_of_offset(stream_offset)
        if pos is None:
            return
        rows = self._visible_rows()
        full = self._page_rows()
        if any(row.pos == pos for row in rows[:full]):
            return
        top = pos
        for _ in range(full // 3):
            p = self._layout.prev(top)
            if p is None:
                break
            top = p
        self._follow = False
        self._set_top(top, user=True)

    def scroll_to_start(self) -> None:
        if self._layout is not None:
            self._set_top(self._layout.first(), user=True)

    def scroll_to_end(self) -> None:
        if self._layout is not None:
            self._set_top(self._bottom_top(), user=True)

    def top_offset(self) -> int:
        """The stream offset of the first byte of the top row (its record's for a header)."""
        return self._top_offset()

    def visible_lines(self) -> list[str]:
        """The text of each row on screen, as painted (for tests and accessibility)."""
        return [row.text for row in self._visible_rows()]

    def row_height(self) -> int:
        return self._lh

    def cell_rect(self, stream_offset: int, *, ascii_column: bool = False) -> QRect | None:
        """Where the byte at this stream offset is painted (viewport coordinates), if on screen.

        Hex mode: its hex pair (or, with ``ascii_column``, its ASCII character); text mode: the
        character it belongs to.
        """
        x0 = MARGIN - self.horizontalScrollBar().value()
        for i, row in enumerate(self._visible_rows()):
            if row.pos[1] == HEADER or not row.start <= stream_offset < row.start + len(row.data):
                continue
            k = stream_offset - row.start
            if self._mode == "Hex":
                col = (len(row.text) - 1 - len(row.data) + k if ascii_column
                       else _hex_columns(row.text, len(row.data))[k])
                a, b = col, col + (1 if ascii_column else 2)
            else:
                bounds = _char_bounds(row.data, self._encoding, self._pictures())
                a = _chars_at(bounds, k, up=False)
                b = _chars_at(bounds, k + 1, up=True)
            xa = x0 + self._text_width(row.text[:a])
            xb = x0 + self._text_width(row.text[:b])
            return QRectF(xa, i * self._lh, max(1.0, xb - xa), self._lh).toAlignedRect()
        return None

    def visible_rows(self) -> list[tuple[int, int, int, bytes]]:
        """Each row on screen as (record index, offset in record or -1, stream offset, bytes)."""
        return [(r.pos[0], r.pos[1], r.start, r.data) for r in self._visible_rows()]

    # ------------------------------------------------------------------ layout and scrolling

    def _rebuild_layout(self, anchor_offset: int | None) -> None:
        self._generation += 1
        self._rows_cache = None
        if self._reader is None:
            self._layout = None
            self._top = None
        else:
            if self._mode == "Hex":
                self._layout = _HexLayout(self._reader)
            else:
                self._layout = _TextLayout(self._reader, self._encoding)
            if self._follow or anchor_offset is None:
                self._top = self._bottom_top() if self._follow else self._layout.first()
            else:
                self._top = self._layout.pos_of_offset(anchor_offset)
        self._sync_scrollbars()
        self.viewport().update()

    def _on_tick(self) -> None:
        if self._layout is None or self._reader is None:
            return
        self._layout.refresh()
        self._generation += 1
        self._rows_cache = None
        if self._top is None:
            self._top = self._layout.first()
        if self._follow:
            self._top = self._bottom_top()
        self._sync_scrollbars()
        self.viewport().update()

    def _page_rows(self) -> int:
        """Rows that fit entirely in the viewport (at least one)."""
        return max(1, self.viewport().height() // self._lh)

    def _bottom_top(self) -> Pos | None:
        layout = self._layout
        if layout is None:
            return None
        if isinstance(layout, _HexLayout):
            return layout.pos_at_value(max(0, layout.total_rows - self._page_rows()))
        pos = layout.last()
        if pos is None:
            return None
        for _ in range(self._page_rows() - 1):
            p = layout.prev(pos)
            if p is None:
                break
            pos = p
        return pos

    def _top_offset(self) -> int:
        if self._top is None or self._reader is None:
            return 0
        r, off = self._top
        return self._reader.record(r).stream_offset + max(0, off)

    def _sync_scrollbars(self) -> None:
        bar = self.verticalScrollBar()
        self._syncing = True
        try:
            layout = self._layout
            bottom = self._bottom_top() if layout is not None else None
            if layout is None or bottom is None or self._top is None:
                bar.setRange(0, 0)
            else:
                maximum = layout.value_of(bottom)
                self._scale = 1 if maximum <= SCROLL_LIMIT else -(-maximum // (SCROLL_LIMIT // 2))
                bar.setRange(0, maximum // self._scale)
                page = self._page_rows()
                bar.setPageStep(max(1, page if isinstance(layout, _HexLayout) else page * 32))
                bar.setSingleStep(1)
                bar.setValue(min(layout.value_of(self._top), maximum) // self._scale)
            hbar = self.horizontalScrollBar()
            width = max((self._text_width(row.text) for row in self._visible_rows()), default=0)
            hbar.setRange(0, max(0, round(width) + 2 * MARGIN - self.viewport().width()))
            hbar.setPageStep(self.viewport().width())
        finally:
            self._syncing = False

    def _on_vscroll(self, value: int) -> None:
        if self._syncing or self._layout is None:
            return
        bar = self.verticalScrollBar()
        if value >= bar.maximum():
            top = self._bottom_top()
        else:
            top = self._layout.pos_at_value(value * self._scale)
        self._follow = value >= bar.maximum()
        self._top = top
        self._rows_cache = None
        self.viewport().update()

    def _set_top(self, pos: Pos | None, *, user: bool) -> None:
        if self._layout is None or pos is None:
            return
        bottom = self._bottom_top()
        if bottom is not None and self._layout.value_of(pos) >= self._layout.value_of(bottom):
            pos = bottom
            if user:
                self._follow = True
        elif user:
            self._follow = False
        self._top = pos
        self._rows_cache = None
        self._sync_scrollbars()
        self.viewport().update()

    def _scroll_rows(self, n: int) -> None:
        layout, pos = self._layout, self._top
        if layout is None or pos is None:
            return
        step = layout.next if n > 0 else layout.prev
        if isinstance(layout, _HexLayout):
            value = max(0, layout.value_of(pos) + n)
            pos = layout.pos_at_value(value)
        else:
            for _ in range(abs(n)):
                p = step(pos)
                if p is None:
                    break
                pos = p
        self._set_top(pos, user=True)

    def _visible_rows(self) -> list[_Row]:
        layout, reader, pos = self._layout, self._reader, self._top
        if layout is None or reader is None or pos is None:
            return []
        if getattr(reader.store, "closed", False):  # closed under us: show nothing, not raise
            return []
        count = self.viewport().height() // self._lh + 1
        key = (self._generation, pos, count, self._mode, self._encoding)
        if self._rows_cache is not None and self._rows_cache[0] == key:
            return self._rows_cache[1]
        rows: list[_Row] = []
        cur: Pos | None = pos
        hex_mode = self._mode == "Hex"
        width = codecs.offset_width(max(0, reader.store.total_bytes - 1))
        while cur is not None and len(rows) < count:
            r, off = cur
            rec = reader.record(r)
            if off == HEADER:
                rows.append(_Row(cur, rec, rec.stream_offset, b"", header_text(rec)))
            else:
                end = layout.row_end(r, off)
                data = reader.rec_bytes(r, off, end)
                start = rec.stream_offset + off
                if hex_mode:
                    text = codecs.hex_dump_line(data, start, width)
                else:
                    text = display_text(
                        codecs.decode_visible(data, self._encoding), self._pictures()
                    )
                rows.append(_Row(cur, rec, start, data, text))
            cur = layout.next(cur)
        self._rows_cache = (key, rows)
        return rows

    # ------------------------------------------------------------------ selection, copy, save

    def _set_selection(self, sel: tuple[int, int] | None) -> None:
        if sel is not None and sel[0] >= sel[1]:
            sel = None
        if sel != self._selection:
            self._selection = sel
            self.viewport().update()
            self.selectionChanged.emit()

    def _copy_bytes(self, cap: int, what: str) -> bytes | None:
        store = self._store
        if store is None or store.total_bytes == 0:
            self.message.emit(f"{what}: nothing to copy")
            return None
        start, end = self._selection or (0, store.total_bytes)
        if end - start > cap:
            self.message.emit(
                f"{what}: copied the first {cap // 2**20} MiB of {end - start:,} bytes; "
                "use Save data… for all of it"
            )
            end = start + cap
        else:
            self.message.emit("")
        return store.read(start, end - start)

    def _save_steps(
        self, path: Path, as_hex_dump: bool, direction: Direction | None = None
    ) -> Iterator[tuple[int, int]]:
        """Write the capture as it is now; yields (bytes done, total) after each piece."""
        store = self._store
        if store is None:
            raise ValueError("no capture to save")
        total = store.total_bytes
        count = store.record_count
        if not as_hex_dump and direction is not None:
            wanted = store.bytes_in if direction == Direction.IN else store.bytes_out
            with open(path, "wb") as f:
                done = 0
                for r in range(count):
                    rec = store.record(r)
                    if rec.direction != direction:
                        continue
                    size = min(rec.size, total - rec.stream_offset)
                    for off in range(0, size, 1 << 20):
                        data = store.read(rec.stream_offset + off, min(1 << 20, size - off))
                        f.write(data)
                        done += len(data)
                        yield done, wanted
            return
        if not as_hex_dump:
            with open(path, "wb") as f:
                done = 0
                for chunk in store.iter_chunks(0, total, 1 << 20):
                    f.write(chunk)
                    done += len(chunk)
                    yield done, total
            return
        piece = 1 << 16  # a multiple of 16: rows stay aligned to their record
        width = codecs.offset_width(max(0, total - 1))
        with open(path, "w", encoding="utf-8", newline="\n") as f:
            done = 0
            for r in range(count):
                rec = store.record(r)
                size = min(rec.size, total - rec.stream_offset)
                f.write(header_text(rec) + "\n")
                for off in range(0, size, piece):
                    data = store.read(rec.stream_offset + off, min(piece, size - off))
                    f.write(codecs.hex_dump(data, rec.stream_offset + off, width) + "\n")
                    done += len(data)
                    yield done, total
                if size == 0:
                    yield done, total

    def _save_step(self) -> None:
        job = self._save_job
        if job is None:
            self._save_timer.stop()
            return
        deadline = time.monotonic() + SAVE_SLICE_S
        done = -1
        try:
            while time.monotonic() < deadline:
                done, _ = next(job)
        except StopIteration:
            self._save_job = None
            self._save_timer.stop()
            self.saveProgress.emit(self._save_total, self._save_total)
            self.message.emit(f"Saved {self._save_total:,} bytes to {self._save_path}")
            self.saveFinished.emit(self._save_path, "")
            return
        except OSError as exc:
            self._save_job = None
            self._save_timer.stop()
            self.message.emit(f"Could not save {self._save_path}: {exc.strerror or exc}")
            self.saveFinished.emit(self._save_path, str(exc))
            return
        if done >= 0:
            self.saveProgress.emit(done, self._save_total)

    # ------------------------------------------------------------------ painting

    def _update_metrics(self) -> None:
        # Fractional metrics: a monospace advance is rarely a whole number of pixels, and the
        # selection must line up with the text after 80 characters.
        fm = QFontMetricsF(self.font())
        self._fm = fm
        self._cw = max(1.0, fm.horizontalAdvance("0"))
        self._lh = max(1, math.ceil(fm.lineSpacing()))
        self._ascent = fm.ascent()
        self._bold = QFont(self.font())
        self._bold.setBold(True)
        # Control pictures (␍, ␀) only where the font draws them; C escapes otherwise.
        self._has_pictures = fm.inFontUcs4(0x240D) and fm.inFontUcs4(0x2400)

    def _pictures(self) -> bool:
        return self._has_pictures

    def _update_colours(self) -> None:
        pal = self.palette()
        dark = pal.color(QPalette.ColorRole.Base).lightness() < 128
        # Blue for received, red for sent (Wireshark's convention), each readable on its base.
        self._colour_in = QColor("#8cc4ff" if dark else "#1a5fb4")
        self._colour_out = QColor("#ff9b8f" if dark else "#b01e2d")
        self._header_bg = QColor(pal.color(QPalette.ColorRole.AlternateBase))

    def direction_colour(self, direction: Direction) -> QColor:
        return QColor(self._colour_in if direction == Direction.IN else self._colour_out)

    def _text_width(self, text: str) -> float:
        if text.isascii():
            return len(text) * self._cw
        return float(self._fm.horizontalAdvance(text))

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        kind = event.type()
        if kind in (QEvent.Type.PaletteChange, QEvent.Type.StyleChange):
            self._update_colours()
        elif kind == QEvent.Type.FontChange:
            self._update_metrics()
            self._rows_cache = None
            self._sync_scrollbars()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._rows_cache = None
        if self._layout is not None:
            bottom = self._bottom_top()
            if self._follow or (
                bottom is not None and self._top is not None
                and self._layout.value_of(self._top) > self._layout.value_of(bottom)
            ):
                self._top = bottom
        self._sync_scrollbars()

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self.viewport())
        try:
            self._paint(p)
        finally:
            p.end()

    def _paint(self, p: QPainter) -> None:
        pal = self.palette()
        vp = self.viewport().rect()
        p.fillRect(vp, pal.color(QPalette.ColorRole.Base))
        rows = self._visible_rows()
        if not rows:
            p.setPen(pal.color(QPalette.ColorRole.PlaceholderText))
            p.drawText(vp, Qt.AlignmentFlag.AlignCenter,
                       "No data yet" if self._store is not None else "No socket selected")
            return
        x0 = MARGIN - self.horizontalScrollBar().value()
        hl_bg = pal.color(QPalette.ColorRole.Highlight)
        hl_fg = pal.color(QPalette.ColorRole.HighlightedText)
        sel = self._selection
        y = 0
        for row in rows:
            colour = self.direction_colour(row.record.direction)
            if row.pos[1] == HEADER:
                p.fillRect(QRect(0, y, vp.width(), self._lh), self._header_bg)
                p.setFont(self._bold)
                p.setPen(colour)
                p.drawText(QPointF(x0, y + self._ascent), row.text)
                p.setFont(self.font())
            else:
                p.setPen(colour)
                self._draw_visible_part(p, x0, y, row.text, vp.width())
                if sel is not None and sel[0] < row.start + len(row.data) and sel[1] > row.start:
                    lo = max(sel[0], row.start) - row.start
                    hi = min(sel[1], row.start + len(row.data)) - row.start
                    for a, b in self._selected_spans(row, lo, hi):
                        xa = x0 + self._text_width(row.text[:a])
                        xb = x0 + self._text_width(row.text[:b])
                        p.fillRect(QRectF(xa, y, xb - xa, self._lh), hl_bg)
                        p.setPen(hl_fg)
                        p.drawText(QPointF(xa, y + self._ascent), row.text[a:b])
            y += self._lh

    def _draw_visible_part(self, p: QPainter, x0: float, y: int, text: str, width: int) -> None:
        """Draw only the characters that can be on screen: shaping is most of a paint's cost
        and a text row can hold 512 characters (four for each undecodable byte)."""
        limit = math.ceil((width - x0) / self._cw) + 1
        if text.isascii():  # one cell per character: cut both ends exactly
            first = max(0, math.floor(-x0 / self._cw))
            p.drawText(QPointF(x0 + first * self._cw, y + self._ascent), text[first:limit])
        else:  # (a glyph narrower than half a cell is rare enough)
            p.drawText(QPointF(x0, y + self._ascent), text[:2 * limit])

    def _selected_spans(self, row: _Row, lo: int, hi: int) -> list[tuple[int, int]]:
        """Character spans of ``row.text`` showing bytes [lo, hi) of the row."""
        if self._mode == "Hex":
            pc = _hex_columns(row.text, len(row.data))
            ascii0 = len(row.text) - 1 - len(row.data)
            spans = []
            # the hex pairs, joined across the spaces between selected bytes
            a = pc[lo]
            b = pc[hi - 1] + 2
            spans.append((a, b))
            spans.append((ascii0 + lo, ascii0 + hi))
            return spans
        if lo == 0 and hi == len(row.data):  # the whole row: no need to find characters
            return [(0, len(row.text))]
        bounds = _char_bounds(row.data, self._encoding, self._pictures())
        a = _chars_at(bounds, lo, up=False)
        b = _chars_at(bounds, hi, up=True)
        return [(a, b)] if b > a else []

    # ------------------------------------------------------------------ hit testing, input

    def _hit(self, point: QPoint) -> tuple[int, bool] | None:
        """(stream offset, is a byte) under a viewport point; a text-mode hit is a boundary."""
        rows = self._visible_rows()
        if not rows:
            return None
        i = max(0, min(len(rows) - 1, point.y() // self._lh)) if point.y() >= 0 else 0
        if point.y() >= len(rows) * self._lh:
            last = rows[-1]
            return last.start + len(last.data), False
        row = rows[i]
        if row.pos[1] == HEADER:
            return row.start, self._mode == "Hex"
        x = point.x() - MARGIN + self.horizontalScrollBar().value()
        n = len(row.data)
        if self._mode == "Hex":
            col = int(x // self._cw)
            pc = _hex_columns(row.text, n)
            ascii0 = len(row.text) - 1 - n
            if col >= ascii0 - 1:
                idx = col - ascii0
            else:
                idx = n - 1
                for k in range(n):
                    if col < pc[k] + 3:
                        idx = k
                        break
            return row.start + max(0, min(n - 1, idx)), True
        bounds = _char_bounds(row.data, self._encoding, self._pictures())
        best, best_dx = 0, None
        for nbytes, nchars in bounds:
            dx = abs(self._text_width(row.text[:nchars]) - x)
            if best_dx is None or dx < best_dx:
                best, best_dx = nbytes, dx
        return row.start + best, False

    def _select_to(self, hit: tuple[int, bool]) -> None:
        """Select from the anchor to ``hit``: a byte covers [x, x + 1), a boundary [x, x)."""
        if self._anchor is None:
            return
        a, c = self._anchor, hit[0]
        lo = min(a, c)
        hi = max(a + self._anchor_is_byte, c + hit[1])
        total = self._store.total_bytes if self._store is not None else 0
        self._set_selection((lo, min(hi, total)))

    def mousePressEvent(self, event: QMouseEvent) -> None:
        ev = event
        if ev.button() != Qt.MouseButton.LeftButton:
            super().mousePressEvent(ev)
            return
        self.setFocus(Qt.FocusReason.MouseFocusReason)
        hit = self._hit(ev.position().toPoint())
        if hit is None:
            return
        shift = bool(ev.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        if shift and self._anchor is not None:
            self._select_to(hit)
        else:
            self._anchor, self._anchor_is_byte = hit
            self._set_selection(None)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        ev = event
        if not ev.buttons() & Qt.MouseButton.LeftButton:
            return
        point = ev.position().toPoint()
        if point.y() < 0:
            self._scroll_rows(-1)
        elif point.y() > self.viewport().height():
            self._scroll_rows(1)
        hit = self._hit(point)
        if hit is not None:
            self._select_to(hit)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        """Double-click on a header row selects its whole record."""
        ev = event
        rows = self._visible_rows()
        i = ev.position().toPoint().y() // self._lh
        if 0 <= i < len(rows) and rows[i].pos[1] == HEADER:
            rec = rows[i].record
            self._set_selection((rec.stream_offset, rec.stream_offset + rec.size))
        else:
            super().mouseDoubleClickEvent(ev)

    def wheelEvent(self, event: QWheelEvent) -> None:
        ev = event
        delta = ev.angleDelta()
        if delta.y():
            steps = -delta.y() / 120 * 3
            self._wheel_rest = getattr(self, "_wheel_rest", 0.0) + steps
            n = int(self._wheel_rest)
            self._wheel_rest -= n
            if n:
                self._scroll_rows(n)
            ev.accept()
        else:
            super().wheelEvent(ev)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        ev = event
        key = ev.key()
        page = max(1, self._page_rows() - 1)
        if ev.matches(QKeySequence.StandardKey.SelectAll):
            self.select_all()
        elif ev.matches(QKeySequence.StandardKey.Copy):
            self.copy_as_text()
        elif key == Qt.Key.Key_Up:
            self._scroll_rows(-1)
        elif key == Qt.Key.Key_Down:
            self._scroll_rows(1)
        elif key == Qt.Key.Key_PageUp:
            self._scroll_rows(-page)
        elif key == Qt.Key.Key_PageDown:
            self._scroll_rows(page)
        elif key == Qt.Key.Key_Home:
            self.scroll_to_start()
        elif key == Qt.Key.Key_End:
            self.scroll_to_end()
        elif key == Qt.Key.Key_Left:
            self.horizontalScrollBar().triggerAction(
                self.horizontalScrollBar().SliderAction.SliderSingleStepSub)
        elif key == Qt.Key.Key_Right:
            self.horizontalScrollBar().triggerAction(
                self.horizontalScrollBar().SliderAction.SliderSingleStepAdd)
        elif key == Qt.Key.Key_Escape and self._selection is not None:
            self.clear_selection()
        else:
            super().keyPressEvent(ev)

    def context_menu(self) -> QMenu:
        """The right-click menu (built afresh each time; deleted when it closes)."""
        menu = QMenu(self)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.addAction("Copy as text", self.copy_as_text)
        menu.addAction("Copy as hex", self.copy_as_hex)
        menu.addSeparator()
        menu.addAction("Select all", self.select_all).setEnabled(self._store is not None)
        menu.addAction("Save data…", self.save_data_dialog).setEnabled(self._store is not None)
        return menu

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        # popup(), not exec(): no nested event loop.
        self.context_menu().popup(event.globalPos())


MARGIN = 4
RAW_FILTER = "Raw bytes, received and sent (*.bin)"
RAW_IN_FILTER = "Raw bytes, received only (*.bin)"
RAW_OUT_FILTER = "Raw bytes, sent only (*.bin)"
HEX_FILTER = "Hex dump as text (*.txt)"
#: Save data…'s file types: what each one saves (hex dump?, direction or None for both).
SAVE_FILTERS: dict[str, tuple[bool, Direction | None]] = {
    RAW_FILTER: (False, None),
    RAW_IN_FILTER: (False, Direction.IN),
    RAW_OUT_FILTER: (False, Direction.OUT),
    HEX_FILTER: (True, None),
}


def _hex_columns(line: str, n: int) -> list[int]:
    """The column of each byte's hex pair in a ``hex_dump_line`` of n bytes."""
    first = line.index(" ") + 2  # after the offset and its two spaces
    return [first + 3 * k + (1 if k >= 8 else 0) for k in range(n)]


def _char_bounds(data: bytes, encoding: str, pictures: bool = True) -> list[tuple[int, int]]:
    """(bytes, chars) pairs where a byte prefix decodes to a prefix of the whole row's text."""
    full = display_text(codecs.decode_visible(data, encoding), pictures)
    bounds = [(0, 0)]
    for k in range(1, len(data) + 1):
        part = display_text(codecs.decode_visible(data[:k], encoding), pictures)
        if full.startswith(part) and (k == len(data) or len(part) > bounds[-1][1]):
            bounds.append((k, len(part)))
    return bounds


def _chars_at(bounds: list[tuple[int, int]], nbytes: int, *, up: bool) -> int:
    """The character index for a byte index, rounded to a character boundary."""
    keys = [b for b, _ in bounds]
    i = bisect.bisect_left(keys, nbytes)
    if i < len(keys) and keys[i] == nbytes:
        return bounds[i][1]
    if up:
        return bounds[min(i, len(bounds) - 1)][1]
    return bounds[max(0, i - 1)][1]


# ------------------------------------------------------------------------------ the pane


class DataPane(QWidget):
    """The data view and its toolbar: mode, encoding, find (text, or hex bytes)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("dataPane")
        self.view = DataView(self)

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
            "How text mode, Copy as text and text search decode the bytes")

        self.find_input = QLineEdit(self)
        self.find_input.setObjectName("findInput")
        self.find_input.setPlaceholderText("Find (text, or hex: 0d 0a)")
        self.find_input.setAccessibleName("Find")
        self.find_input.setToolTip(
            "Enter: next match, Shift+Enter: previous. Start with \"hex:\" (or pick Hex) to "
            "search for bytes")
        self.find_kind = QComboBox(self)
        self.find_kind.setObjectName("findKind")
        self.find_kind.addItems(["Text", "Hex"])
        self.find_kind.setAccessibleName("Find what")
        self.find_kind.setToolTip("Search for text (in the chosen encoding) or hex bytes")
        self.find_prev = QToolButton(self)
        self.find_prev.setObjectName("findPrevious")
        self.find_prev.setText("\u25b2")
        self.find_prev.setToolTip("Previous match (Shift+F3)")
        self.find_prev.setAccessibleName("Previous match")
        self.find_next = QToolButton(self)
        self.find_next.setObjectName("findNext")
        self.find_next.setText("\u25bc")
        self.find_next.setToolTip("Next match (F3)")
        self.find_next.setAccessibleName("Next match")
        self.message_label = QLabel(self)
        self.message_label.setObjectName("dataMessage")
        self.message_label.setWordWrap(False)
        # A standing note about the shown capture (e.g. its size limit was reached).
        self.note_label = QLabel(self)
        self.note_label.setObjectName("dataNote")
        self.note_label.setWordWrap(True)
        self.note_label.setStyleSheet("color: #bc4c00; font-weight: bold;")
        self.note_label.setAccessibleName("Capture note")
        self.note_label.setToolTip("About the capture shown above")
        self.note_label.setVisible(False)

        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(QLabel("View:", self))
        bar.addWidget(self.mode_combo)
        bar.addWidget(self.encoding_combo)
        bar.addSpacing(12)
        bar.addWidget(self.find_input, 1)
        bar.addWidget(self.find_kind)
        bar.addWidget(self.find_prev)
        bar.addWidget(self.find_next)
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
        self.find_next.clicked.connect(lambda: self.find_from_input(backwards=False))
        self.find_prev.clicked.connect(lambda: self.find_from_input(backwards=True))
        self.find_input.returnPressed.connect(self._on_return)
        self.find_input.textChanged.connect(lambda _t: self._show_find_error(""))
        self.message_label.setVisible(False)
        self.view.message.connect(self._show_message)
        self.view.saveProgress.connect(self._on_save_progress)

    # the view's API, for the window
    def set_store(self, store: CaptureStore | None) -> None:
        if store is not self.view.store():
            # A message about another capture ("Copy as hex: copied the first 16 MiB…")
            # must not stay under this one.
            self._show_find_error("")
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
        text = self.find_input.text()
        as_hex = self.find_kind.currentText() == "Hex"
        if text.lower().startswith("hex:"):
            as_hex, text = True, text[4:]
        try:
            data = codecs.parse_hex(text) if as_hex else codecs.encode_text(
                text, self.view.encoding())
        except codecs.InputError as exc:
            self._show_find_error(f"Find: {exc}")
            return None
        except UnicodeError as exc:
            self._show_find_error(f"Find: not encodable in {self.view.encoding()}: {exc.reason}")
            return None
        if not data:
            return None
        return data

    def find_from_input(self, backwards: bool = False) -> bool:
        needle = self.needle()
        if needle is None:
            return False
        return self.view.find(needle, backwards=backwards)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        ev = event
        if ev.matches(QKeySequence.StandardKey.Find):
            self.find_input.setFocus()
            self.find_input.selectAll()
        elif ev.matches(QKeySequence.StandardKey.FindNext):
            self.find_from_input(backwards=False)
        elif ev.matches(QKeySequence.StandardKey.FindPrevious):
            self.find_from_input(backwards=True)
        else:
            super().keyPressEvent(ev)

    def _show_message(self, text: str) -> None:
        self.message_label.setText(text)
        self.message_label.setVisible(bool(text))

    def _on_return(self) -> None:
        mods = QGuiApplication.keyboardModifiers()
        self.find_from_input(backwards=bool(mods & Qt.KeyboardModifier.ShiftModifier))

    def _show_find_error(self, text: str) -> None:
        self.find_input.setProperty("invalid", bool(text))
        self.find_input.setStyleSheet("QLineEdit { border: 1px solid #c01c28; }" if text else "")
        if text or self.message_label.text().startswith("Find:"):
            self._show_message(text)

    def _on_save_progress(self, done: int, total: int) -> None:
        if total and done < total:
            self._show_message(f"Saving… {done * 100 // total}%")
