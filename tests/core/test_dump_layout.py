"""workbench.core.dump_layout: the data view's rows, without Qt.

Every layout is checked on a real ``CaptureStore`` against what its rows must be: hex rows of
16 bytes after each header, text rows ending after a newline or near every 128 bytes without
splitting a character; walking down and walking up give the same rows; offsets map to rows
and back, and scroll values to rows and back. Then the reader's partial reads through its
block cache, the scroll state (following the tail, clamping, a third of the way down), find
with wrap-around, and the hex dump writer.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench.core import codecs
from workbench.core.capture import CaptureStore, Direction
from workbench.core.dump_layout import (
    CACHE_BLOCK,
    CACHE_BLOCKS,
    HEADER,
    HEX_ROW_BYTES,
    TEXT_LINE_SCAN,
    TEXT_ROW_BYTES,
    HexLayout,
    Layout,
    Pos,
    Reader,
    ScrollState,
    TextLayout,
    char_bounds,
    chars_at,
    copy_text,
    display_text,
    find_folded,
    find_match,
    header_text,
    hex_columns,
    write_hex_dump,
)

IN, OUT = Direction.IN, Direction.OUT
T0 = 1_700_000_000.0  # records one second apart never merge


@pytest.fixture
def store() -> Iterator[CaptureStore]:
    with CaptureStore() as capture:
        yield capture


def fill(store: CaptureStore, *chunks: bytes) -> None:
    """One record per chunk, directions alternating from IN."""
    for i, data in enumerate(chunks):
        store.append(IN if i % 2 == 0 else OUT, data, T0 + i)


def walk_down(layout: Layout) -> list[Pos]:
    rows: list[Pos] = []
    pos = layout.first()
    while pos is not None:
        rows.append(pos)
        pos = layout.next(pos)
    return rows


def walk_up(layout: Layout) -> list[Pos]:
    rows: list[Pos] = []
    pos = layout.last()
    while pos is not None:
        rows.append(pos)
        pos = layout.prev(pos)
    return rows[::-1]


def data_rows(layout: Layout, r: int) -> list[bytes]:
    """The bytes of each data row of record r, from the layout."""
    rows = [p for p in walk_down(layout) if p[0] == r and p[1] != HEADER]
    return [layout.reader.rec_bytes(r, off, layout.row_end(r, off)) for _, off in rows]


def check_walks_and_mappings(layout: Layout) -> list[Pos]:
    """The properties every layout has; returns its rows."""
    store = layout.reader.store
    rows = walk_down(layout)
    assert walk_up(layout) == rows  # each row is found from the bytes around it
    for r in range(store.record_count):
        assert b"".join(data_rows(layout, r)) == store.read(
            store.record(r).stream_offset, store.record(r).size
        )
    values = [layout.value_of(p) for p in rows]
    assert values == sorted(set(values))  # strictly increasing
    for pos, value in zip(rows, values, strict=True):
        assert layout.pos_at_value(value) == pos
        start = layout.offset_of(pos)
        if pos[1] != HEADER:
            end = start + layout.row_end(*pos) - pos[1]
            # Every byte of the row maps to the row, and the row to its first byte.
            for offset in (start, (start + end) // 2, end - 1):
                assert layout.pos_of_offset(offset) == pos
                assert (
                    layout.row_start(pos[0], offset - store.record(pos[0]).stream_offset) == pos[1]
                )
    if rows:
        assert layout.pos_of_offset(store.total_bytes) == rows[-1]  # past the end: the last
    return rows


# ------------------------------------------------------------------------------ texts


def test_header_text_shows_direction_time_and_size() -> None:
    store = CaptureStore()
    with store:
        received = store.append(IN, b"x" * 1536, T0 + 0.25)
        sent = store.append(OUT, b"y", T0 + 1)
        clock = time.strftime("%H:%M:%S", time.localtime(T0))
        assert header_text(received) == f"\u25c0 {clock}.250  received 1.5 KiB"
        assert header_text(sent).endswith("  sent 1 byte") and header_text(sent)[0] == "\u25b6"


def test_control_characters_are_escapes_when_the_font_has_no_pictures() -> None:
    decoded = codecs.decode_visible(b"PING\r\n", "UTF-8")
    assert display_text(decoded, pictures=True) == "PING\u240d"
    assert display_text(decoded, pictures=False) == "PING\\r"
    raw = codecs.decode_visible(b"\x00\x1b\x01\x7f\tA", "Latin-1")
    assert display_text(raw, pictures=False) == "\\0\\e\\x01\\x7f\u2192A"


def test_copy_text_is_the_text_as_shown() -> None:
    data = b"a\r\nb\x00\tc\xff"
    assert copy_text(data, "UTF-8") == "a\u240d\nb\u2400\u2192c\\xff"
    assert copy_text(data, "UTF-8", pictures=False) == "a\\r\nb\\0\u2192c\\xff"
    assert copy_text("a\r\n".encode("utf-16le"), "UTF-16LE") == "a\u240d\n"
    rows = [display_text(codecs.decode_visible(row, "UTF-8"), False) for row in (b"a\r\n", b"b")]
    assert copy_text(b"a\r\nb", "UTF-8", pictures=False) == "\n".join(rows)


def test_char_bounds_and_chars_at_round_to_characters() -> None:
    data = "añb€".encode()  # bytes: a | ñ ñ | b | € € €
    bounds = char_bounds(data, "UTF-8")
    assert bounds == [(0, 0), (1, 1), (3, 2), (4, 3), (7, 4)]
    assert chars_at(bounds, 2, up=False) == 1 and chars_at(bounds, 2, up=True) == 2
    assert chars_at(bounds, 5, up=False) == 3 and chars_at(bounds, 5, up=True) == 4
    line = codecs.hex_dump_line(bytes(range(16)), 0)
    columns = hex_columns(line, 16)
    assert [line[c : c + 2] for c in columns] == [f"{k:02x}" for k in range(16)]


# ------------------------------------------------------------------------------ hex rows


def test_hex_rows_are_a_header_then_16_bytes_a_row(store: CaptureStore) -> None:
    fill(store, bytes(40), b"", b"x" * 16, b"y")
    layout = HexLayout(Reader(store))
    rows = check_walks_and_mappings(layout)
    assert rows == [
        (0, HEADER), (0, 0), (0, 16), (0, 32),
        (1, HEADER),
        (2, HEADER), (2, 0),
        (3, HEADER), (3, 0),
    ]  # fmt: skip
    assert layout.total_rows == len(rows)
    # Hex scroll values are exact row numbers.
    assert [layout.value_of(p) for p in rows] == list(range(len(rows)))
    assert layout.pos_at_value(10**9) == rows[-1] and layout.pos_at_value(-5) == rows[0]
    assert [len(b) for b in data_rows(layout, 0)] == [16, 16, 8]
    assert layout.pos_of_offset(39) == (0, 32) and layout.pos_of_offset(40) == (2, 0)
    assert layout.offset_of((2, HEADER)) == 40 and layout.offset_of((0, 32)) == 32


def test_hex_row_text_hit_cell_and_spans(store: CaptureStore) -> None:
    fill(store, bytes(range(0x41, 0x41 + 20)))
    layout = HexLayout(Reader(store))
    header, row, tail = layout.rows((0, HEADER), 10)
    assert header.is_header and header.text == header_text(store.record(0))
    assert row.text == codecs.hex_dump_line(row.data, 0, 8) and tail.start == 16
    assert tail.end == 20
    # A stream has no boundaries: a later record's rows go on from the stream offset.
    store.append(Direction.OUT, b"0123456789", T0)
    later = layout.rows((1, HEADER), 2)[1]
    assert later.text.startswith("00000014  30 31") and later.start == 20

    def measure(text: str) -> float:
        return 2.0 * len(text)  # a font 2 units a cell

    for k in (0, 7, 8, 15):
        a, b = layout.cell(row, k)
        assert row.text[a:b] == f"{0x41 + k:02x}"
        assert layout.hit(row, measure(row.text[:a]) + 1, measure) == (k, True)
        a, b = layout.cell(row, k, ascii_column=True)
        assert row.text[a:b] == chr(0x41 + k)
        assert layout.hit(row, measure(row.text[:a]) + 1, measure) == (k, True)
    assert layout.hit(row, 0, measure) == (0, True)  # on the offset: the first byte
    assert layout.hit(header, 50, measure) == (0, True)
    hex_span, ascii_span = layout.spans(row, 2, 10)
    assert row.text[slice(*hex_span)] == "43 44 45 46 47 48  49 4a"
    assert row.text[slice(*ascii_span)] == "CDEFGHIJ"


def test_hex_page_step_scroll_and_bottom(store: CaptureStore) -> None:
    fill(store, bytes(16 * 100))
    layout = HexLayout(Reader(store))
    assert layout.page_step(30) == 30
    assert layout.bottom_top(30) == layout.pos_at_value(layout.total_rows - 30)
    assert layout.scrolled((0, 0), 5) == (0, 80)
    assert layout.scrolled((0, 16), -5) == (0, HEADER)
    assert layout.scrolled((0, 16 * 98), 50) == (0, 16 * 99)


# ------------------------------------------------------------------------------ text rows


def test_text_rows_end_after_each_newline(store: CaptureStore) -> None:
    fill(store, b"one\r\ntwo\n\nthree", b"\n", b"no newline")
    layout = TextLayout(Reader(store), "UTF-8")
    check_walks_and_mappings(layout)
    assert data_rows(layout, 0) == [b"one\r\n", b"two\n", b"\n", b"three"]
    assert data_rows(layout, 1) == [b"\n"]
    assert data_rows(layout, 2) == [b"no newline"]
    rows = layout.rows((0, HEADER), 10)
    assert [r.text for r in rows[1:5]] == ["one\u240d", "two", "", "three"]
    # Text values are stream offsets, plus one for each header up to and including this row.
    assert [layout.value_of(r.pos) for r in rows[:4]] == [0, 1, 6, 10]


def test_text_rows_wrap_a_long_line_every_128_bytes_of_it(store: CaptureStore) -> None:
    fill(store, b"a" * 300 + b"\nb" + b"c" * 130)
    layout = TextLayout(Reader(store), "ASCII")
    check_walks_and_mappings(layout)
    assert [len(b) for b in data_rows(layout, 0)] == [128, 128, 45, 128, 3]
    # The wrap breaks count from the line's start, found from the bytes before the row.
    assert layout.row_start(0, 255) == 128 and layout.row_end(0, 256) == 301
    assert layout.row_start(0, 301) == 301 and layout.row_end(0, 301) == 429
    assert layout.row_start(0, 430) == 429
    rows = layout.rows((0, 0), 5)
    assert [r.continued for r in rows] == [False, True, True, False, True]
    assert rows[1].text == "a" * 128  # the mark is the view's, never in the text


def test_chargen_lines_are_rows_whatever_their_offset(store: CaptureStore) -> None:
    # RFC 864's 72 characters and CRLF: 74 bytes, so lines start off any 128-byte multiple.
    lines = [bytes(33 + (i + k) % 94 for k in range(72)) + b"\r\n" for i in range(40)]
    fill(store, b"".join(lines))
    layout = TextLayout(Reader(store), "ASCII")
    check_walks_and_mappings(layout)
    assert data_rows(layout, 0) == lines
    assert not any(r.continued for r in layout.rows((0, 0), 40))


def test_a_line_longer_than_the_scan_breaks_at_its_multiples(store: CaptureStore) -> None:
    fill(store, b"x" * 100 + b"\n" + b"y" * (3 * TEXT_LINE_SCAN))
    layout = TextLayout(Reader(store), "ASCII")
    check_walks_and_mappings(layout)
    rows = data_rows(layout, 0)
    starts = [sum(map(len, rows[:i])) for i in range(len(rows))]
    # Two scans back from the break at 2 * TEXT_LINE_SCAN, the line's start is not found.
    assert 2 * TEXT_LINE_SCAN in starts and TEXT_LINE_SCAN not in starts
    assert layout.row_start(0, 2 * TEXT_LINE_SCAN + 5) == 2 * TEXT_LINE_SCAN
    assert all(r.continued for r in layout.rows((0, 101), 200)[1:])


def test_a_break_inside_a_character_moves_past_it(store: CaptureStore) -> None:
    text = "a" + "é" * 200 + "€" * 50 + "\n"  # a fixed break at 128 falls inside an é
    fill(store, text.encode())
    layout = TextLayout(Reader(store), "UTF-8")
    check_walks_and_mappings(layout)
    rows = data_rows(layout, 0)
    assert [len(r) for r in rows] == [129, 128, 128, 127, 40]
    assert "".join(r.decode() for r in rows) == text
    # The "é" at bytes 127-128 straddles the break at 128: it belongs to the row before it.
    assert layout.row_start(0, 128) == 0 and layout.row_end(0, 0) == 129
    assert layout.row_start(0, 129) == 129


def test_utf16_newlines_only_at_even_offsets(store: CaptureStore) -> None:
    # "\u0a41\u4100" is 41 0a 00 41 in UTF-16LE: b"\n\x00" at an odd offset is no newline.
    text = "\u0a41\u4100\nz"
    fill(store, text.encode("utf-16le"))
    layout = TextLayout(Reader(store), "UTF-16LE")
    check_walks_and_mappings(layout)
    assert data_rows(layout, 0) == ["\u0a41\u4100\n".encode("utf-16le"), b"z\x00"]
    # A surrogate pair is never split: the break at byte 128 falls between its halves.
    store.append(OUT, ("x" * 63 + "\U0001f600y").encode("utf-16be"), T0 + 9)
    big = TextLayout(Reader(store), "UTF-16BE")
    rows = data_rows(big, 1)
    assert [len(r) for r in rows] == [130, 2]
    assert rows[0].decode("utf-16be").endswith("\U0001f600")


def test_text_hit_cell_and_spans_follow_characters(store: CaptureStore) -> None:
    fill(store, "añb€c\n".encode())
    layout = TextLayout(Reader(store), "UTF-8")
    row = layout.rows((0, 0), 1)[0]
    assert row.text == "añb€c"
    assert [layout.cell(row, k) for k in (0, 1, 2, 3, 4, 6, 7)] == [
        (0, 1), (1, 2), (1, 2), (2, 3), (3, 4), (3, 4), (4, 5),
    ]  # fmt: skip
    assert layout.spans(row, 1, 4) == [(1, 3)]
    assert layout.spans(row, 0, len(row.data)) == [(0, len(row.text))]

    def measure(text: str) -> float:
        return float(len(text))

    # A text hit is the nearest boundary between characters, never a byte.
    assert layout.hit(row, 1.4, measure) == (1, False)
    assert layout.hit(row, 1.6, measure) == (3, False)
    assert layout.hit(row, 99, measure) == (8, False)


def test_text_scroll_values_cover_every_byte(store: CaptureStore) -> None:
    fill(store, b"line\n" * 10, b"", b"tail")
    layout = TextLayout(Reader(store), "Latin-1")
    check_walks_and_mappings(layout)
    # Every value lands on the row holding the byte it stands for.
    for value in range(layout.value_of(layout.last() or (0, 0)) + 1):
        pos = layout.pos_at_value(value)
        assert pos is not None
        assert layout.value_of(pos) <= value
    assert layout.page_step(10) == 320
    assert layout.pos_at_value(-3) == (0, HEADER)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    chunks=st.lists(
        st.text(alphabet=st.sampled_from("ab\n\té€\U0001f600\r"), max_size=400),
        min_size=1,
        max_size=4,
    ),
    encoding=st.sampled_from(codecs.TEXT_ENCODINGS),
)
def test_text_rows_partition_every_record(chunks: list[str], encoding: str) -> None:
    with CaptureStore() as store:
        for i, chunk in enumerate(chunks):
            data = chunk.encode(encoding, errors="replace")  # "?" where ASCII has no "é"
            store.append(IN if i % 2 == 0 else OUT, data, T0 + i)
        layout = TextLayout(Reader(store), encoding)
        check_walks_and_mappings(layout)
        for r in range(store.record_count):
            for row in data_rows(layout, r):
                assert row and len(row) <= TEXT_ROW_BYTES + 3
                text = row.decode(encoding)  # no row splits a character (this raises if one does)
                assert "\n" not in text[:-1]  # a newline ends its row


@settings(max_examples=40, deadline=None)
@given(sizes=st.lists(st.integers(0, 100), min_size=1, max_size=6))
def test_hex_rows_partition_every_record(sizes: list[int]) -> None:
    with CaptureStore() as store:
        fill(store, *(bytes([i]) * n for i, n in enumerate(sizes)))
        layout = HexLayout(Reader(store))
        rows = check_walks_and_mappings(layout)
        assert layout.total_rows == len(rows) == sum(1 + -(-n // HEX_ROW_BYTES) for n in sizes)


# ------------------------------------------------------------------------------ reading


class CountingStore(CaptureStore):
    """A real store that counts its reads."""

    reads = 0

    def read(self, stream_offset: int, size: int) -> bytes:
        self.reads += 1
        return super().read(stream_offset, size)


def test_partial_reads_through_the_block_cache() -> None:
    with CountingStore() as store:
        payload = bytes(i % 251 for i in range((CACHE_BLOCKS + 2) * CACHE_BLOCK + 100))
        store.append(IN, payload, T0)
        reader = Reader(store)
        across = CACHE_BLOCK - 10
        assert reader.read(across, 20) == payload[across : across + 20]  # two blocks
        assert store.reads == 2
        assert reader.read(across + 5, 10) == payload[across + 5 : across + 15]
        assert store.reads == 2  # both blocks were cached
        assert reader.read(5, 2 * CACHE_BLOCK) == payload[5 : 5 + 2 * CACHE_BLOCK]  # no cache
        assert reader.read(10, 0) == b"" and reader.read(10, -1) == b""
        assert reader.rec_bytes(0, -5, 3) == payload[:3]

        # The tail block is short; once the capture grows past it, it is read again.
        tail = len(payload) - 10
        assert reader.read(tail, 50) == payload[tail:]
        store.append(IN, b"more", T0)  # merges into the last record
        assert reader.read(tail, 50) == payload[tail:] + b"more"
        assert reader.rec_bytes(0, len(payload), len(payload) + 99) == b"more"
        assert reader.record(0).size == len(payload) + 4  # the last record is never cached

        # More blocks than the cache holds: the oldest go, the bytes stay right.
        everything = payload + b"more"
        for b in range(CACHE_BLOCKS + 2):
            assert reader.read(b * CACHE_BLOCK + 3, 8) == everything[b * CACHE_BLOCK + 3 :][:8]
        before = store.reads
        assert (
            reader.read(CACHE_BLOCK * (CACHE_BLOCKS + 1), 4)
            == everything[CACHE_BLOCK * (CACHE_BLOCKS + 1) :][:4]
        )
        assert store.reads == before  # the newest block is still there
        assert reader.read(3, 8) == everything[3:11]
        assert store.reads == before + 1  # the oldest was dropped


def test_earlier_records_are_cached() -> None:
    with CountingStore() as store:
        fill(store, b"a", b"b", b"c")
        reader = Reader(store)
        first = reader.record(0)
        store.append(IN, b"d", T0 + 9)
        assert reader.record(0) is first
        assert reader.record(3).size == 1


# ------------------------------------------------------------------------------ scrolling


def scrolled(store: CaptureStore, page: int = 10, layout: Layout | None = None) -> ScrollState:
    state = ScrollState(layout or HexLayout(Reader(store)))
    state.resize(page, page + 1)
    state.start(anchor_offset=None)
    return state


def test_the_scroll_state_follows_the_tail_until_the_user_scrolls_up(
    store: CaptureStore,
) -> None:
    fill(store, bytes(16 * 50))
    state = scrolled(store)
    assert state.follow and state.top == state.bottom() == (0, 16 * 40)
    assert state.rows()[-1].end == store.total_bytes
    assert len(state.rows()) == 10  # the last row is at the bottom of the page
    store.append(IN, bytes(32), T0)
    state.grew()
    assert state.top == (0, 16 * 42) and state.rows()[-1].end == store.total_bytes
    assert state.scroll_rows(-1) and not state.follow
    top = state.top
    store.append(IN, bytes(32), T0)
    state.grew()
    assert state.top == top  # scrolled away: new bytes do not move the view
    assert state.scroll_rows(100) and state.follow  # down to the end: following again
    assert state.scroll_to_start() and state.top == (0, HEADER) and not state.follow
    assert state.scroll_to_end() and state.follow


def test_set_top_stops_at_the_bottom_and_values_map_both_ways(store: CaptureStore) -> None:
    fill(store, bytes(16 * 50))
    state = scrolled(store)
    assert state.set_top((0, 16 * 49), user=True)
    assert state.top == state.bottom() and state.follow
    assert not state.set_top(None, user=True)
    state.jump(7, to_end=False)
    assert state.top == (0, 16 * 6) and not state.follow
    assert state.values() == (7, 41)
    assert state.top_offset() == 16 * 6
    state.jump(0, to_end=True)
    assert state.top == state.bottom() and state.follow


def test_scroll_to_offset_puts_the_row_a_third_of_the_way_down(store: CaptureStore) -> None:
    fill(store, bytes(16 * 100))
    state = scrolled(store, page=9)
    assert state.scroll_to_offset(16 * 20 + 5)
    assert state.top == (0, 16 * 17) and not state.follow
    assert not state.scroll_to_offset(16 * 21)  # already on screen: nothing moves
    assert state.top == (0, 16 * 17)


def test_resize_keeps_the_end_in_view(store: CaptureStore) -> None:
    fill(store, bytes(16 * 50))
    state = scrolled(store, page=10)
    state.resize(20, 21)
    assert state.top == state.bottom() and state.rows()[-1].end == store.total_bytes
    assert len(state.rows()) == 21 - 1  # one row shorter than shown: it is the end
    state.scroll_to_start()
    state.resize(5, 6)
    assert state.top == (0, HEADER)  # not following: stays


def test_a_new_layout_keeps_the_byte_at_the_top(store: CaptureStore) -> None:
    fill(store, b"".join(b"line %04d\n" % i for i in range(200)))
    state = scrolled(store)
    state.jump(50, to_end=False)
    offset = state.top_offset()
    state.set_layout(TextLayout(Reader(store), "UTF-8"), offset)
    assert offset - 10 < state.top_offset() <= offset
    assert state.rows()[0].text.startswith("line ")


def test_no_rows_from_a_closed_store_or_an_empty_one() -> None:
    store = CaptureStore()
    state = scrolled(store)
    assert state.top is None and state.rows() == [] and state.values() is None
    assert not state.scroll_rows(3) and not state.scroll_to_offset(0)
    store.append(IN, b"x", T0)
    state.grew()
    assert [r.data for r in state.rows()] == [b"", b"x"]
    store.close()
    state.invalidate()
    assert state.rows() == []


# ------------------------------------------------------------------------------ find, save


def test_find_wraps_around_once(store: CaptureStore) -> None:
    fill(store, b"..AB", b"CD..AB", b"CD")  # "..ABCD..ABCD": matches across records
    assert find_match(store, b"ABCD", None, 0) == (2, False)
    assert find_match(store, b"ABCD", (2, 6), 0) == (8, False)
    assert find_match(store, b"ABCD", (8, 12), 0) == (2, True)
    assert find_match(store, b"ABCD", (8, 12), 0, backwards=True) == (2, False)
    assert find_match(store, b"ABCD", (2, 6), 0, backwards=True) == (8, True)
    assert find_match(store, b"ABCD", None, 5) == (8, False)  # from the top row
    assert find_match(store, b"nothing", None, 0) is None
    assert find_match(store, b"", None, 0) is None


def test_find_folded_ignores_the_case_of_ascii_letters_across_blocks(
    store: CaptureStore,
) -> None:
    store.append(Direction.IN, b"xxAbCdxxxaBcDxx", 1.0)
    store.append(Direction.OUT, "Ab\u00e9".encode("utf-16le"), 2.0)
    assert find_folded(store, b"abcd", 0, block=4) == 2
    assert find_folded(store, b"ABCD", 3, block=4) == 9
    assert find_folded(store, b"abcd", 10, block=4) is None
    assert find_folded(store, b"abcd", 15, backwards=True, block=4) == 9
    assert find_folded(store, b"abcd", 12, backwards=True, block=4) == 2
    assert find_folded(store, b"abcd", 5, backwards=True, block=4) is None
    assert find_folded(store, "aB".encode("utf-16le"), 0, block=4) == 15
    assert find_folded(store, "\u00c9".encode("utf-16le"), 0, block=4) is None  # only ASCII folds
    assert find_match(store, b"ABCD", (2, 6), 0, ignore_case=True) == (9, False)
    assert find_match(store, b"ABCD", (9, 13), 0, ignore_case=True) == (2, True)
    assert find_match(store, b"ABCD", (2, 6), 0, backwards=True, ignore_case=True) == (9, True)
    assert find_match(store, b"ABCD", (2, 6), 0) is None


def test_write_hex_dump_is_what_the_view_shows(store: CaptureStore, tmp_path: Path) -> None:
    fill(store, bytes(range(40)), b"", b"hello")
    target = tmp_path / "dump.txt"
    steps = list(write_hex_dump(store, target))
    assert steps[-1] == (45, 45)
    layout = HexLayout(Reader(store))
    shown = [row.text for row in layout.rows((0, HEADER), 100)]
    assert target.read_text(encoding="utf-8") == "\n".join(shown) + "\n"


@pytest.mark.parametrize("encoding", ["UTF-8", "UTF-16LE"])
def test_long_lines_of_wide_characters_walk_the_same_both_ways(
    store: CaptureStore, encoding: str
) -> None:
    # Scan boundaries fall inside characters and lines start anywhere around them.
    text = "\u20ac" * 5000 + "\n" + "\U0001f600" * 1500 + "\n" + "a" * 3000
    fill(store, text.encode(encoding))
    layout = TextLayout(Reader(store), encoding)
    check_walks_and_mappings(layout)
    rows = data_rows(layout, 0)
    assert "".join(row.decode(encoding) for row in rows) == text
