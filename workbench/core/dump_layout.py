"""The data view's rows, without Qt: which bytes of a capture each row shows, and where.

The data view (``workbench.ui.data_view``) paints only the rows on screen and reads only their
bytes from the ``CaptureStore``, so opening or scrolling a 1 GiB capture costs the same as a
1 KiB one. Everything here is that arithmetic; the view adds fonts, colours and input.

Rows. Every record (one chunk of received or sent bytes) starts with a header row (direction
arrow, ``HH:MM:SS.mmm``, size). Then:

- *hex* (:class:`HexLayout`) — 16 bytes a row, ``codecs.hex_dump_line`` at the byte's offset
  in the whole capture (both directions together), the format Wireshark's "Follow stream"
  made familiar: a TCP stream has no boundaries, so its offsets run on. A datagram is a
  message of its own: its rows count from its first byte (``0000`` under its header, in
  ``DATAGRAM_OFFSET_WIDTH`` digits), as a packet tool's bytes pane does. Row numbers are exact,
  from the store's ``LineIndex``; scroll values are row numbers.
- *text* (:class:`TextLayout`) — rows end after each newline; a longer line wraps every
  ``TEXT_ROW_BYTES`` bytes from its start (moved past a character that straddles the break), and
  its continued rows are marked (``Row.continued``: the view paints a mark, the text has none).
  A row's line start is looked for at most two ``TEXT_LINE_SCAN`` bytes back (a line longer
  than that also breaks at a multiple of it from the record's start), so any row can be found
  from the bytes around it alone. Text mode therefore needs no line index: scroll values are byte
  offsets (plus one per header), the way large file viewers do it, and the rows are decoded
  with ``codecs.decode_visible`` (invalid bytes and control characters visible; a tab is shown
  as U+2192 →).

A row's position is a :data:`Pos`, ``(record index, offset in the record of its first byte)``,
with :data:`HEADER` as the offset of a header row. :class:`ScrollState` keeps the top row and
whether the view follows the capture's tail; the view only maps it to its scroll bar.
"""

from __future__ import annotations

import bisect
import os
import re
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Generator
from dataclasses import dataclass
from pathlib import Path

from workbench.core import codecs
from workbench.core.capture import (
    HEX_ROW_BYTES,
    CaptureStore,
    Datagram,
    DatagramStore,
    Direction,
    LineIndex,
    Record,
)
from workbench.core.formatting import format_endpoint, format_size

__all__ = [
    "CACHE_BLOCK",
    "CACHE_BLOCKS",
    "DATAGRAM_OFFSET_WIDTH",
    "HEADER",
    "HEX_ROW_BYTES",
    "TEXT_LINE_SCAN",
    "TEXT_ROW_BYTES",
    "HexLayout",
    "Layout",
    "Pos",
    "Reader",
    "Row",
    "ScrollState",
    "TextLayout",
    "char_bounds",
    "chars_at",
    "copy_text",
    "datagram_header_text",
    "display_text",
    "find_folded",
    "find_match",
    "header_text",
    "hex_columns",
    "record_header",
    "write_datagram",
    "write_hex_dump",
]

#: Text rows break after each newline; a longer line wraps every this many bytes of it.
TEXT_ROW_BYTES = 128
#: A text row looks for its line's start from the multiple of this (from its record's start)
#: before its own: a line shorter than this is never broken, a longer one may also break at a
#: multiple of it (a multiple of ``TEXT_ROW_BYTES``).
TEXT_LINE_SCAN = 16 * TEXT_ROW_BYTES
#: The read cache: this many blocks of this size, aligned in the capture's stream.
CACHE_BLOCK = 1 << 16
CACHE_BLOCKS = 8
#: Hex digits of a datagram's offsets (counted from its first byte): a datagram is at most
#: 64 KiB, so four always do, the width Wireshark's bytes pane uses.
DATAGRAM_OFFSET_WIDTH = 4
#: The record cache forgets everything when it holds more than this many records.
RECORD_CACHE = 4096

HEADER = -1  # the offset-in-record of a record's header row
Pos = tuple[int, int]  # (record index, offset in record of the row's first byte | HEADER)
#: The painted width of a string, in the unit of the ``x`` given to :meth:`Layout.hit`.
Measure = Callable[[str], float]


def header_text(rec: Record) -> str:
    """The text of a record's header row: arrow, local time to the millisecond, size."""
    return f"{_stamp(rec)} {format_size(rec.size)}"


def datagram_header_text(datagram: Datagram) -> str:
    """The header row of a datagram (a :class:`DatagramStore`'s record): :func:`header_text`'s
    arrow, time and way, then its length and its peer, and where ``buffer_size`` cut it what
    was kept: ``◀ 12:00:00.000  received 512 bytes from 127.0.0.1:5353, truncated to 64
    bytes``. A length of 1 KiB or more also gives the exact count: a datagram's length is a
    protocol's number, ``1.4 KiB (1472 bytes)``."""
    rec = datagram.record
    original = datagram.original_length
    text = f"{_stamp(rec)} {_length(rec.size if original is None else original)}"
    peer = format_endpoint(datagram.address, datagram.port)
    if peer:
        text += f" {'from' if rec.direction == Direction.IN else 'to'} {peer}"
    if original is not None:
        text += f", truncated to {_length(rec.size)}"
    return text


def _stamp(rec: Record) -> str:
    """Arrow, local time to the millisecond, and which way: ``◀ 12:00:00.000  received``."""
    lt = time.localtime(rec.timestamp)
    ms = int((rec.timestamp - int(rec.timestamp)) * 1000)
    arrow, word = ("\u25c0", "received") if rec.direction == Direction.IN else ("\u25b6", "sent")
    clock = f"{lt.tm_hour:02d}:{lt.tm_min:02d}:{lt.tm_sec:02d}.{ms:03d}"
    return f"{arrow} {clock}  {word}"


def _length(n: int) -> str:
    """A datagram's length: ``format_size``, with the exact count where that rounds."""
    return format_size(n) if n < 1024 else f"{format_size(n)} ({n} bytes)"


def record_header(store: CaptureStore, rec: Record) -> str:
    """A record's header row as the view shows it: a datagram's (with its peer) in a
    :class:`DatagramStore`, else :func:`header_text`."""
    if isinstance(store, DatagramStore):
        return datagram_header_text(store.datagram(rec.index))
    return header_text(rec)


# When the view's font has no glyphs for the control pictures (U+2400 block: DejaVu Sans Mono,
# the usual Linux monospace font, has none), they would paint as empty boxes; C-style escapes
# are readable in every font.
_C_ESCAPES = {0: "\\0", 7: "\\a", 8: "\\b", 11: "\\v", 12: "\\f", 13: "\\r", 27: "\\e"}
_PICTURE_ESCAPES = str.maketrans(
    {chr(0x2400 + c): _C_ESCAPES.get(c, f"\\x{c:02x}") for c in range(0x20) if c not in (9, 10)}
    | {"\u2421": "\\x7f"}
)


def display_text(decoded: str, pictures: bool = True) -> str:
    """A decoded text row as painted: without its final newline, a tab as U+2192 (→), and,
    with ``pictures=False``, control pictures as C escapes (``\\r``, ``\\0``, ``\\x1b``…)."""
    if decoded.endswith("\n"):
        decoded = decoded[:-1]
    decoded = decoded.replace("\t", "\u2192")
    return decoded if pictures else decoded.translate(_PICTURE_ESCAPES)


def copy_text(data: bytes, encoding: str, pictures: bool = True) -> str:
    """Bytes as Copy as text gives them: exactly as the text view shows them.

    The same ``decode_visible`` escapes (an invalid byte as ``\\xNN``), a tab as U+2192 (→),
    and control characters as pictures (␀, ␍) or, with ``pictures=False``, as the C escapes the
    view paints when its font has no pictures (``\\0``, ``\\r``). Only a newline stays real: it
    is where the view breaks its rows. The menu says so: "Copy as text (as shown)".
    """
    decoded = codecs.decode_visible(data, encoding).replace("\t", "\u2192")
    return decoded if pictures else decoded.translate(_PICTURE_ESCAPES)


def hex_columns(line: str, n: int) -> list[int]:
    """The column of each byte's hex pair in a ``hex_dump_line`` of n bytes."""
    first = line.index(" ") + 2  # after the offset and its two spaces
    return [first + 3 * k + (1 if k >= 8 else 0) for k in range(n)]


def char_bounds(data: bytes, encoding: str, pictures: bool = True) -> list[tuple[int, int]]:
    """(bytes, chars) pairs where a byte prefix decodes to a prefix of the whole row's text."""
    full = display_text(codecs.decode_visible(data, encoding), pictures)
    bounds = [(0, 0)]
    for k in range(1, len(data) + 1):
        part = display_text(codecs.decode_visible(data[:k], encoding), pictures)
        if full.startswith(part) and (k == len(data) or len(part) > bounds[-1][1]):
            bounds.append((k, len(part)))
    return bounds


def chars_at(bounds: list[tuple[int, int]], nbytes: int, *, up: bool) -> int:
    """The character index for a byte index, rounded to a character boundary."""
    keys = [b for b, _ in bounds]
    i = bisect.bisect_left(keys, nbytes)
    if i < len(keys) and keys[i] == nbytes:
        return bounds[i][1]
    if up:
        return bounds[min(i, len(bounds) - 1)][1]
    return bounds[max(0, i - 1)][1]


# ------------------------------------------------------------------------------ reading


class Reader:
    """Cached access to a store's records and bytes (only what the screen needs)."""

    def __init__(self, store: CaptureStore) -> None:
        self.store = store
        self._records: dict[int, Record] = {}
        self._blocks: dict[int, bytes] = {}

    def header(self, rec: Record) -> str:
        """The text of ``rec``'s header row (:func:`record_header`)."""
        return record_header(self.store, rec)

    def record(self, i: int) -> Record:
        if i >= self.store.record_count - 1:  # the last record can still grow: never cached
            return self.store.record(i)
        rec = self._records.get(i)
        if rec is None:
            if len(self._records) > RECORD_CACHE:
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
        parts = [self._block(b) for b in range(first, last + 1)]
        joined = parts[0] if len(parts) == 1 else b"".join(parts)
        start = stream_offset - first * CACHE_BLOCK
        return joined[start : start + size]

    def _block(self, b: int) -> bytes:
        block = self._blocks.get(b)
        # A short block was the tail of the capture when it was read: read it again once the
        # capture has grown past it.
        stale = (
            block is not None
            and len(block) < CACHE_BLOCK
            and b * CACHE_BLOCK + len(block) < self.store.total_bytes
        )
        if block is None or stale:
            if len(self._blocks) >= CACHE_BLOCKS:
                del self._blocks[next(iter(self._blocks))]
            block = self._blocks[b] = self.store.read(b * CACHE_BLOCK, CACHE_BLOCK)
        return block

    def rec_bytes(self, r: int, start: int, end: int) -> bytes:
        """Bytes [start, end) of record r (clipped to the record)."""
        rec = self.record(r)
        start = max(0, start)
        end = min(end, rec.size)
        return self.read(rec.stream_offset + start, end - start)


# ------------------------------------------------------------------------------ layouts


@dataclass(frozen=True, slots=True)
class Row:
    """One row as the view paints it."""

    pos: Pos
    record: Record
    start: int  # stream offset of the row's first byte (the record's first byte for a header)
    data: bytes  # the row's bytes (empty for a header)
    text: str  # as painted
    #: The row continues a line wrapped from the row before (the view marks it; it is not text).
    continued: bool = False

    @property
    def is_header(self) -> bool:
        return self.pos[1] == HEADER

    @property
    def end(self) -> int:
        """Stream offset just past the row's last byte."""
        return self.start + len(self.data)


class Layout(ABC):
    """Rows of a capture in one mode. Positions are ``Pos`` tuples; values are scroll units."""

    #: A click on a row hits a byte (hex: the byte under the pointer) rather than a boundary
    #: between characters (text).
    hits_bytes = False

    def __init__(self, reader: Reader) -> None:
        self.reader = reader

    @property
    def count(self) -> int:
        return self.reader.store.record_count

    # -- walking rows

    def first(self) -> Pos | None:
        return (0, HEADER) if self.count else None

    def last(self) -> Pos | None:
        n = self.count
        if not n:
            return None
        return self._record_last(n - 1)

    def _record_last(self, r: int) -> Pos:
        """The last row of record r: its header if it is empty."""
        size = self.reader.record(r).size
        return (r, HEADER) if size == 0 else (r, self.row_start(r, size - 1))

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
            return None if r == 0 else self._record_last(r - 1)
        return (r, HEADER) if off == 0 else (r, self.row_start(r, off - 1))

    def back(self, pos: Pos, n: int) -> Pos:
        """The row n rows above ``pos``, or the first row."""
        for _ in range(n):
            p = self.prev(pos)
            if p is None:
                break
            pos = p
        return pos

    def forward(self, pos: Pos, n: int) -> Pos:
        """The row n rows below ``pos``, or the last row."""
        for _ in range(n):
            p = self.next(pos)
            if p is None:
                break
            pos = p
        return pos

    def scrolled(self, pos: Pos, n: int) -> Pos | None:
        """The row n rows below (n < 0: above) ``pos``, stopping at either end."""
        return self.forward(pos, n) if n > 0 else self.back(pos, -n)

    def bottom_top(self, page_rows: int) -> Pos | None:
        """The top row that shows the last row at the bottom of ``page_rows`` rows."""
        pos = self.last()
        return None if pos is None else self.back(pos, page_rows - 1)

    def page_step(self, page_rows: int) -> int:
        """The scroll bar's page step, in scroll values."""
        return max(1, page_rows)

    # -- positions and offsets

    def pos_of_offset(self, stream_offset: int) -> Pos | None:
        """The row holding this byte of the stream (the last row past the end)."""
        store = self.reader.store
        if not self.count:
            return None
        if stream_offset >= store.total_bytes:
            return self.last()
        rec = store.record_at(max(0, stream_offset))
        return (rec.index, self.row_start(rec.index, stream_offset - rec.stream_offset))

    def offset_of(self, pos: Pos) -> int:
        """The stream offset of the row's first byte (its record's first, for a header)."""
        r, off = pos
        return self.reader.record(r).stream_offset + max(0, off)

    # -- the rows themselves

    def rows(self, top: Pos, count: int) -> list[Row]:
        """``count`` rows from ``top`` down (fewer at the end), read and formatted."""
        reader = self.reader
        rows: list[Row] = []
        cur: Pos | None = top
        while cur is not None and len(rows) < count:
            r, off = cur
            rec = reader.record(r)
            if off == HEADER:
                rows.append(Row(cur, rec, rec.stream_offset, b"", reader.header(rec)))
            else:
                data = reader.rec_bytes(r, off, self.row_end(r, off))
                start = rec.stream_offset + off
                text = self.data_text(rec, off, data)
                rows.append(Row(cur, rec, start, data, text, self.continues(r, off)))
            cur = self.next(cur)
        return rows

    def hit(self, row: Row, x: float, measure: Measure) -> tuple[int, bool]:
        """(stream offset, is a byte) at ``x`` in ``row`` (``measure`` gives text widths)."""
        if row.is_header:
            return row.start, self.hits_bytes
        return self._hit_data(row, x, measure)

    # -- per mode

    def data_text(self, rec: Record, off: int, data: bytes) -> str:
        """The painted text of the data row at ``off`` in ``rec`` (``data``: its bytes)."""
        return self.format(data, rec.stream_offset + off)

    def continues(self, r: int, off: int) -> bool:
        """Whether the data row at ``off`` in record r continues a wrapped line."""
        return False

    @abstractmethod
    def row_start(self, r: int, x: int) -> int:
        """The offset in record r of the first byte of the row holding byte x."""

    @abstractmethod
    def row_end(self, r: int, start: int) -> int:
        """The offset in record r just past the row that starts at ``start``."""

    @abstractmethod
    def value_of(self, pos: Pos) -> int:
        """The scroll value of a row."""

    @abstractmethod
    def pos_at_value(self, value: int) -> Pos | None:
        """The row at a scroll value."""

    @abstractmethod
    def format(self, data: bytes, start: int) -> str:
        """The painted text of a data row: ``data``, which starts at stream offset ``start``."""

    @abstractmethod
    def spans(self, row: Row, lo: int, hi: int) -> list[tuple[int, int]]:
        """Character spans of ``row.text`` that show bytes [lo, hi) of the row."""

    @abstractmethod
    def cell(self, row: Row, k: int, *, ascii_column: bool = False) -> tuple[int, int]:
        """The character span of ``row.text`` that shows byte k of the row."""

    @abstractmethod
    def _hit_data(self, row: Row, x: float, measure: Measure) -> tuple[int, bool]:
        """``hit`` on a data row."""


class HexLayout(Layout):
    """Exact row numbers from the store's ``LineIndex`` (cumulative per record, kept by the
    store at append time): every lookup is a binary search, whatever the capture's size."""

    hits_bytes = True

    @property
    def total_rows(self) -> int:
        return LineIndex.hex_rows(self.reader.store)

    def row_start(self, r: int, x: int) -> int:
        return x - x % HEX_ROW_BYTES

    def row_end(self, r: int, start: int) -> int:
        return min(start + HEX_ROW_BYTES, self.reader.record(r).size)

    def value_of(self, pos: Pos) -> int:
        # The rows before record r, from the store's cumulative column: one lookup, also for
        # an empty record (a run of empty datagrams must not walk back through them).
        r, off = pos
        before = self.reader.store.hex_ends[r - 1] if r else 0
        return before if off == HEADER else before + 1 + off // HEX_ROW_BYTES

    def pos_at_value(self, value: int) -> Pos | None:
        total = self.total_rows
        if not total:
            return None
        rec, row = LineIndex.hex_row(self.reader.store, max(0, min(value, total - 1)))
        return (rec.index, HEADER) if row == 0 else (rec.index, (row - 1) * HEX_ROW_BYTES)

    def scrolled(self, pos: Pos, n: int) -> Pos | None:
        # Row numbers are exact: no need to walk.
        return self.pos_at_value(max(0, self.value_of(pos) + n))

    def bottom_top(self, page_rows: int) -> Pos | None:
        return self.pos_at_value(max(0, self.total_rows - page_rows))

    def data_text(self, rec: Record, off: int, data: bytes) -> str:
        if isinstance(self.reader.store, DatagramStore):
            # A datagram's rows count from its own first byte: offsets do not run on from one
            # datagram to the next.
            return codecs.hex_dump_line(data, off, DATAGRAM_OFFSET_WIDTH)
        return self.format(data, rec.stream_offset + off)

    def format(self, data: bytes, start: int) -> str:
        width = codecs.offset_width(max(0, self.reader.store.total_bytes - 1))
        return codecs.hex_dump_line(data, start, width)

    def spans(self, row: Row, lo: int, hi: int) -> list[tuple[int, int]]:
        pc = hex_columns(row.text, len(row.data))
        ascii0 = len(row.text) - 1 - len(row.data)
        # The hex pairs, joined across the spaces between selected bytes; then the ASCII.
        return [(pc[lo], pc[hi - 1] + 2), (ascii0 + lo, ascii0 + hi)]

    def cell(self, row: Row, k: int, *, ascii_column: bool = False) -> tuple[int, int]:
        if ascii_column:
            col = len(row.text) - 1 - len(row.data) + k
            return col, col + 1
        col = hex_columns(row.text, len(row.data))[k]
        return col, col + 2

    def _hit_data(self, row: Row, x: float, measure: Measure) -> tuple[int, bool]:
        col = int(x // measure("0"))  # a hex row is ASCII: one cell per character
        n = len(row.data)
        ascii0 = len(row.text) - 1 - n
        if col >= ascii0 - 1:
            idx = col - ascii0
        else:
            pc = hex_columns(row.text, n)
            idx = next((k for k in range(n) if col < pc[k] + 3), n - 1)
        return row.start + max(0, min(n - 1, idx)), True


class TextLayout(Layout):
    """Rows found from the bytes around them; scroll values are stream offsets (+ headers)."""

    def __init__(self, reader: Reader, encoding: str, pictures: bool = True) -> None:
        super().__init__(reader)
        self.encoding = encoding
        #: Control pictures (U+2400 block) in the text, else C escapes (see display_text).
        self.pictures = pictures
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
            return self._adjust_utf8(r, b)
        if self.utf16 and b >= 2:
            hi, lo = self.reader.rec_bytes(r, b - 2, b)
            unit = (hi << 8 | lo) if self.big_endian else (lo << 8 | hi)
            if 0xD800 <= unit < 0xDC00 and b + 2 <= size:  # a high surrogate: keep its pair
                return b + 2
        return b

    def _adjust_utf8(self, r: int, b: int) -> int:
        before = self.reader.rec_bytes(r, b - 3, b)
        for k in range(1, len(before) + 1):
            lead = before[-k]
            if lead & 0xC0 == 0x80:
                continue  # a continuation byte: keep looking for the lead
            need = _utf8_length(lead)
            if need > k:
                after = self.reader.rec_bytes(r, b, b - k + need)
                if len(after) == need - k and all(c & 0xC0 == 0x80 for c in after):
                    return b - k + need
            return b
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
        """The end (record offset) of the first newline unit in ``data`` (at ``base``), or -1."""
        nl = self.newline
        start = 0
        while True:
            i = data.find(nl, start)
            if i < 0:
                return -1
            if len(nl) == 1 or (base + i) % 2 == 0:
                return base + i + len(nl)
            start = i + 1

    def _line_start(self, r: int, x: int) -> int:
        """The hard break at or before byte x: just past the last newline before it, looked
        for from the ``TEXT_LINE_SCAN`` boundary before x's; else that boundary of x's."""
        a = x - x % TEXT_LINE_SCAN
        ap = self._adjust(r, a)
        if x < ap:  # x belongs to the character that straddles the boundary
            a -= TEXT_LINE_SCAN
            ap = self._adjust(r, a)
        # Newlines ending in [a - TEXT_LINE_SCAN, x]; the record's start is a line's start.
        lo = max(0, a - TEXT_LINE_SCAN - len(self.newline))
        near = max(lo, x - 2 * TEXT_ROW_BYTES)
        end = self._last_newline_end(self.reader.rec_bytes(r, near, x), near)
        if end < 0 and near > lo:  # most lines are short: look further only if need be
            end = self._last_newline_end(self.reader.rec_bytes(r, lo, near + 1), lo)
        if end < 0:
            return 0 if a <= TEXT_LINE_SCAN else ap
        return end

    def row_start(self, r: int, x: int) -> int:
        line = self._line_start(r, x)
        k = (x - line) // TEXT_ROW_BYTES
        while k > 0:  # the wrap breaks: every TEXT_ROW_BYTES from the line's start
            bp = self._adjust(r, line + k * TEXT_ROW_BYTES)
            if x >= bp:
                return bp
            k -= 1  # x belongs to the character that straddles the break: the row before
        return line

    def row_end(self, r: int, start: int) -> int:
        size = self.reader.record(r).size
        line = start if self._after_newline(r, start) else self._line_start(r, start)
        wrap = line + ((start - line) // TEXT_ROW_BYTES + 1) * TEXT_ROW_BYTES
        scan = start - start % TEXT_LINE_SCAN + TEXT_LINE_SCAN
        b2 = wrap
        # The next boundary is a hard break if the line's start is too far back to be found.
        if scan < wrap and scan < size:
            sp = self._adjust(r, scan)
            if self._line_start(r, sp) == sp:
                b2 = scan
        limit = size if b2 >= size else self._adjust(r, b2)
        data = self.reader.rec_bytes(r, start, limit)
        end = self._first_newline_end(data, start)
        return limit if end < 0 else end

    def continues(self, r: int, off: int) -> bool:
        return not self._after_newline(r, off)

    def _after_newline(self, r: int, off: int) -> bool:
        """Whether ``off`` starts a line: the record's start, or just after a newline unit."""
        nl = len(self.newline)
        if off < nl or (nl == 2 and off % 2):
            return off == 0
        return self.reader.rec_bytes(r, off - nl, off) == self.newline

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

    def page_step(self, page_rows: int) -> int:
        # Values are bytes: a page is about this many of them.
        return max(1, page_rows * 32)

    def format(self, data: bytes, start: int) -> str:
        return display_text(codecs.decode_visible(data, self.encoding), self.pictures)

    def bounds(self, row: Row) -> list[tuple[int, int]]:
        return char_bounds(row.data, self.encoding, self.pictures)

    def spans(self, row: Row, lo: int, hi: int) -> list[tuple[int, int]]:
        if lo == 0 and hi == len(row.data):  # the whole row: no need to find characters
            return [(0, len(row.text))]
        bounds = self.bounds(row)
        a = chars_at(bounds, lo, up=False)
        b = chars_at(bounds, hi, up=True)
        return [(a, b)] if b > a else []

    def cell(self, row: Row, k: int, *, ascii_column: bool = False) -> tuple[int, int]:
        bounds = self.bounds(row)
        return chars_at(bounds, k, up=False), chars_at(bounds, k + 1, up=True)

    def _hit_data(self, row: Row, x: float, measure: Measure) -> tuple[int, bool]:
        # The character boundary nearest to x.
        best, best_dx = 0, float("inf")
        for nbytes, nchars in self.bounds(row):
            dx = abs(measure(row.text[:nchars]) - x)
            if dx < best_dx:
                best, best_dx = nbytes, dx
        return row.start + best, False


def _utf8_length(lead: int) -> int:
    """How many bytes the UTF-8 sequence that starts with ``lead`` has (1 if not a lead)."""
    if 0xC0 <= lead < 0xE0:
        return 2
    if 0xE0 <= lead < 0xF0:
        return 3
    if 0xF0 <= lead < 0xF8:
        return 4
    return 1


# ------------------------------------------------------------------------------ scrolling


class ScrollState:
    """The top row of the view, whether it follows the capture's tail, and the rows shown.

    ``page_rows`` rows fit entirely on screen; ``shown_rows`` are painted (one more, cut by the
    bottom edge). The view sets both when it is resized and maps ``value``/``maximum`` to its
    scroll bar.
    """

    def __init__(self, layout: Layout, *, follow: bool = True) -> None:
        self.layout = layout
        self.top: Pos | None = None
        #: New bytes move the view to the end (until the user scrolls away from it).
        self.follow = follow
        self.page_rows = 1
        self.shown_rows = 1
        self._generation = 0
        self._rows: tuple[tuple[object, ...], list[Row]] | None = None

    def __repr__(self) -> str:
        return f"<ScrollState top={self.top} follow={self.follow} page={self.page_rows}>"

    def start(self, anchor_offset: int | None) -> None:
        """Place the top row in a new layout: at the end if following, else on the row that
        holds ``anchor_offset`` (the first row without one)."""
        layout = self.layout
        if self.follow or anchor_offset is None:
            self.top = self.bottom() if self.follow else layout.first()
        else:
            self.top = layout.pos_of_offset(anchor_offset)
        self.invalidate()

    def set_layout(self, layout: Layout, anchor_offset: int | None) -> None:
        """Another mode or encoding: the row holding ``anchor_offset`` goes to the top."""
        self.layout = layout
        self.start(anchor_offset)

    def grew(self) -> None:
        """The store has new bytes (the layout keeps nothing that they change: rows are read
        when asked): move to the end if following."""
        if self.top is None:
            self.top = self.layout.first()
        if self.follow:
            self.top = self.bottom()
        self.invalidate()

    def invalidate(self) -> None:
        """The rows on screen must be read again (the store or the layout changed)."""
        self._generation += 1
        self._rows = None

    def resize(self, page_rows: int, shown_rows: int) -> None:
        """The view's height changed: keep the end in view if following or already past it."""
        self.page_rows, self.shown_rows = max(1, page_rows), max(0, shown_rows)
        self._rows = None
        bottom = self.bottom()
        if self.follow or (
            bottom is not None
            and self.top is not None
            and self.layout.value_of(self.top) > self.layout.value_of(bottom)
        ):
            self.top = bottom

    def bottom(self) -> Pos | None:
        """The top row that shows the last row at the bottom of the page."""
        return self.layout.bottom_top(self.page_rows)

    def top_offset(self) -> int:
        """The stream offset of the first byte of the top row (its record's for a header)."""
        return 0 if self.top is None else self.layout.offset_of(self.top)

    def rows(self) -> list[Row]:
        """The rows on screen (kept until the top, the size or the capture changes)."""
        if self.top is None or self.layout.reader.store.closed:  # closed under us: no rows
            return []
        key = (self._generation, self.top, self.shown_rows)
        if self._rows is None or self._rows[0] != key:
            self._rows = (key, self.layout.rows(self.top, self.shown_rows))
        return self._rows[1]

    # -- moving

    def set_top(self, pos: Pos | None, *, user: bool) -> bool:
        """Put ``pos`` at the top (no further than the bottom); ``user``: the user moved, so
        following stops, or starts again at the end. False if there is no such row."""
        if pos is None:
            return False
        bottom = self.bottom()
        layout = self.layout
        if bottom is not None and layout.value_of(pos) >= layout.value_of(bottom):
            pos = bottom
            if user:
                self.follow = True
        elif user:
            self.follow = False
        self.top = pos
        self._rows = None
        return True

    def scroll_rows(self, n: int) -> bool:
        """Move n rows down (n < 0: up), as the user asked."""
        if self.top is None:
            return False
        return self.set_top(self.layout.scrolled(self.top, n), user=True)

    def scroll_to_start(self) -> bool:
        return self.set_top(self.layout.first(), user=True)

    def scroll_to_end(self) -> bool:
        return self.set_top(self.bottom(), user=True)

    def scroll_to_offset(self, stream_offset: int) -> bool:
        """Bring the row holding this byte into view (a third of the way down if it was off).
        False if it was already in view (or there is no such row)."""
        pos = self.layout.pos_of_offset(stream_offset)
        if pos is None or any(row.pos == pos for row in self.rows()[: self.page_rows]):
            return False
        self.follow = False
        return self.set_top(self.layout.back(pos, self.page_rows // 3), user=True)

    # -- scroll values

    def values(self) -> tuple[int, int] | None:
        """(value, maximum) for a scroll bar: the scroll values of the top row and of the
        bottom's top row. None: nothing to scroll."""
        bottom = self.bottom()
        if bottom is None or self.top is None:
            return None
        maximum = self.layout.value_of(bottom)
        return min(self.layout.value_of(self.top), maximum), maximum

    def jump(self, value: int, *, to_end: bool) -> None:
        """The scroll bar moved to ``value`` (``to_end``: to its maximum, which follows)."""
        self.top = self.bottom() if to_end else self.layout.pos_at_value(value)
        self.follow = to_end
        self._rows = None


# ------------------------------------------------------------------------------ find, save


def find_match(
    store: CaptureStore,
    needle: bytes,
    selection: tuple[int, int] | None,
    top_offset: int,
    *,
    backwards: bool = False,
    ignore_case: bool = False,
) -> tuple[int, bool] | None:
    """(offset, wrapped) of the next (or previous) ``needle`` in the capture, or None.

    Searches from the selection (or the top row at ``top_offset``), wrapping around once, with
    the store's streaming ``find`` (``ignore_case``: :func:`find_folded`): the whole capture is
    never in memory. In a :class:`DatagramStore` a match lies within one datagram
    (:meth:`DatagramStore.find`).
    """
    total = store.total_bytes
    if not needle or total == 0:
        return None

    def find(start: int) -> int | None:
        if isinstance(store, DatagramStore):  # matches within one datagram, either case
            return store.find(needle, start, backwards, ignore_case=ignore_case)
        if ignore_case:
            return find_folded(store, needle, start, backwards=backwards)
        return store.find(needle, start, backwards=backwards)

    wrapped = False
    if not backwards:
        start = selection[0] + 1 if selection else top_offset
        found = find(start)
        if found is None and start > 0:
            found, wrapped = find(0), True
    else:
        # The store finds the last match that ENDS at or before its start: this one ends at
        # the latest one byte after the selection's start, so it starts before it.
        start = min(total, selection[0] + len(needle) - 1) if selection else total
        found = find(start)
        if found is None and start < total:
            found, wrapped = find(total), True
    return None if found is None else (found, wrapped)


#: A case-insensitive find reads this much of the capture at a time.
FIND_BLOCK = 1 << 20


def find_folded(
    store: CaptureStore,
    needle: bytes,
    start: int,
    *,
    backwards: bool = False,
    block: int = FIND_BLOCK,
) -> int | None:
    """``CaptureStore.find`` ignoring the case of ASCII letters (also in UTF-16 text, where
    a letter is one byte beside a zero); other letters must match exactly.

    Forward: the first match at or after ``start``; backwards: the last that ends at or before
    it. Reads ``block`` bytes at a time, overlapping by ``len(needle) - 1``.
    """
    n, total = len(needle), store.total_bytes
    if backwards:  # the reversed needle in the reversed bytes: the first is the last
        pattern = re.compile(re.escape(needle[::-1]), re.IGNORECASE)
        end = min(start, total)
        while end >= n:
            lo = max(0, end - block - n + 1)
            m = pattern.search(store.read(lo, end - lo)[::-1])
            if m is not None:
                return end - m.start() - n
            end = lo + n - 1 if lo > 0 else 0
        return None
    pattern = re.compile(re.escape(needle), re.IGNORECASE)
    pos = max(0, start)
    while pos + n <= total:
        m = pattern.search(store.read(pos, min(block + n - 1, total - pos)))
        if m is not None:
            return pos + m.start()
        pos += block
    return None


#: Hex-dump saving reads this much at a time: a multiple of 16, so rows stay aligned to
#: their record.
HEX_DUMP_PIECE = 1 << 16


def write_hex_dump(store: CaptureStore, path: Path | str) -> Generator[tuple[int, int], None, None]:
    """Write the capture as it is now as the hex dump the view shows, header rows included;
    yields (bytes done, total) after each piece, so a caller can do it in slices."""
    total = store.total_bytes
    datagrams = isinstance(store, DatagramStore)
    width = DATAGRAM_OFFSET_WIDTH if datagrams else codecs.offset_width(max(0, total - 1))
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        done = 0
        for r in range(store.record_count):
            rec = store.record(r)
            size = min(rec.size, total - rec.stream_offset)
            f.write(record_header(store, rec) + "\n")
            for off in range(0, size, HEX_DUMP_PIECE):
                data = store.read(rec.stream_offset + off, min(HEX_DUMP_PIECE, size - off))
                shown = off if datagrams else rec.stream_offset + off  # as the view counts
                f.write(codecs.hex_dump(data, shown, width) + "\n")
                done += len(data)
                yield done, total
            if size == 0:
                yield done, total


def write_datagram(
    store: DatagramStore, index: int, path: str | os.PathLike[str], as_hex_dump: bool
) -> int:
    """Write datagram ``index`` to ``path``: its bytes, or (``as_hex_dump``) its header row and
    its hex rows, offsets counted from the datagram's first byte, as the view shows them.
    Returns the datagram's size. One read: a datagram is at most 64 KiB."""
    rec = store.record(index)
    data = store.read(rec.stream_offset, rec.size)
    if not as_hex_dump:
        Path(path).write_bytes(data)
        return len(data)
    dump = codecs.hex_dump(data, 0, DATAGRAM_OFFSET_WIDTH)
    text = record_header(store, rec) + "\n" + (dump + "\n" if dump else "")
    Path(path).write_text(text, encoding="utf-8", newline="\n")
    return len(data)
