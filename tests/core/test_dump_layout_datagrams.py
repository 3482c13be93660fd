"""workbench.core.dump_layout over a ``DatagramStore`` (a UDP socket's capture): a header row
per datagram with its direction, time, peer, length and truncation, boundaries kept in hex and
text rows, empty datagrams, find within one datagram, writing one datagram, and a capture of
100,000 datagrams laid out and scrolled by binary searches alone.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.core.test_dump_layout import check_walks_and_mappings, scrolled
from workbench.core import codecs
from workbench.core.capture import CaptureStore, Datagram, DatagramStore, Direction, Record
from workbench.core.dump_layout import (
    DATAGRAM_OFFSET_WIDTH,
    HEADER,
    HexLayout,
    Layout,
    Reader,
    TextLayout,
    datagram_header_text,
    find_match,
    header_text,
    record_header,
    write_datagram,
    write_hex_dump,
)

IN, OUT = Direction.IN, Direction.OUT
T0 = 1_700_000_000.0


def clock(t: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(t)) + f".{int(t * 1000) % 1000:03d}"


@pytest.fixture
def store() -> Iterator[DatagramStore]:
    with DatagramStore() as capture:
        yield capture


def test_a_datagram_header_has_direction_time_peer_length_and_truncation() -> None:
    got = Record(0, IN, T0 + 0.25, 0, 5)
    assert datagram_header_text(Datagram(got, "127.0.0.1", 5353)) == (
        f"\u25c0 {clock(T0 + 0.25)}  received 5 bytes from 127.0.0.1:5353"
    )
    sent = Record(1, OUT, T0, 5, 1)
    assert datagram_header_text(Datagram(sent, "::1", 7)) == (
        f"\u25b6 {clock(T0)}  sent 1 byte to [::1]:7"
    )
    # buffer_size kept 64 of 512 bytes: the datagram's length, then what was kept.
    cut = Record(2, IN, T0, 6, 64)
    assert datagram_header_text(Datagram(cut, "10.0.0.2", 161, 512)).endswith(
        "received 512 bytes from 10.0.0.2:161, truncated to 64 bytes"
    )
    # A length format_size rounds also gives the exact count; no peer known: none shown.
    big = Record(3, IN, T0, 70, 1024)
    assert datagram_header_text(Datagram(big, "", 0, 1472)).endswith(
        "received 1.4 KiB (1472 bytes), truncated to 1.0 KiB (1024 bytes)"
    )
    # A TCP record's header is what it was.
    assert header_text(got) == f"\u25c0 {clock(T0 + 0.25)}  received 5 bytes"


def test_record_header_is_the_datagrams_in_a_datagram_store_only(
    store: DatagramStore,
) -> None:
    store.add_datagram(IN, b"hello", "127.0.0.1", 9, None, T0)
    rec = store.record(0)
    assert record_header(store, rec) == datagram_header_text(store.datagram(0))
    with CaptureStore() as tcp:
        tcp.append(IN, b"hello", T0)
        assert record_header(tcp, tcp.record(0)) == header_text(tcp.record(0))


def fill(store: DatagramStore) -> None:
    """Two datagrams from the same peer at the same instant (a stream would merge them), a
    reply, an empty datagram and a truncated one."""
    store.add_datagram(IN, b"ab", "127.0.0.1", 4000, None, T0)
    store.add_datagram(IN, b"cd\nef", "127.0.0.1", 4000, None, T0)
    store.add_datagram(OUT, bytes(range(20)), "127.0.0.1", 4000, None, T0 + 1)
    store.add_datagram(IN, b"", "127.0.0.1", 4001, None, T0 + 2)
    store.add_datagram(IN, b"x" * 8, "192.0.2.1", 53, 100, T0 + 3)


@pytest.mark.parametrize("mode", ["Hex", "Text"])
def test_each_datagram_starts_its_own_rows_under_its_header(
    store: DatagramStore, mode: str
) -> None:
    fill(store)
    reader = Reader(store)
    layout: Layout = HexLayout(reader) if mode == "Hex" else TextLayout(reader, "UTF-8")
    rows = layout.rows((0, HEADER), 100)
    headers = [row for row in rows if row.is_header]
    assert [row.record.index for row in headers] == [0, 1, 2, 3, 4]
    assert [row.text for row in headers] == [
        datagram_header_text(store.datagram(i)) for i in range(5)
    ]
    assert "received 2 bytes from 127.0.0.1:4000" in headers[0].text
    assert "received 5 bytes from 127.0.0.1:4000" in headers[1].text
    assert "sent 20 bytes to 127.0.0.1:4000" in headers[2].text
    assert "received 0 bytes from 127.0.0.1:4001" in headers[3].text
    assert "received 100 bytes from 192.0.2.1:53, truncated to 8 bytes" in headers[4].text
    # No row holds bytes of two datagrams: "ab" and "cd" are never one row.
    for row in rows:
        rec = row.record
        assert rec.stream_offset <= row.start and row.end <= rec.end
    if mode == "Text":
        assert [row.text for row in rows if not row.is_header][:3] == ["ab", "cd", "ef"]
    check_walks_and_mappings(layout)


def test_hex_offsets_start_at_0000_under_each_datagram_header(store: DatagramStore) -> None:
    fill(store)  # 2, 5, 20, 0 and 8 bytes: in the stream at 0, 2, 7, 27, 27
    layout = HexLayout(Reader(store))
    rows = layout.rows((0, HEADER), 100)
    offsets = [(row.record.index, row.text.split("  ")[0]) for row in rows if not row.is_header]
    # Each datagram's rows count from its own first byte, not from the capture's start.
    assert offsets == [(0, "0000"), (1, "0000"), (2, "0000"), (2, "0010"), (4, "0000")]
    assert DATAGRAM_OFFSET_WIDTH == 4
    second = rows[3]
    assert second.text == codecs.hex_dump_line(b"cd\nef", 0, 4)
    # The bytes themselves keep their place in the stream: hit, find and copy go by it.
    assert second.start == 2 and layout.offset_of(second.pos) == 2

    def measure(text: str) -> float:
        return float(len(text))

    a, _ = layout.cell(second, 3)
    assert second.text[a : a + 2] == "65" and layout.hit(second, a + 0.5, measure) == (5, True)
    hex_span, ascii_span = layout.spans(second, 1, 3)
    assert second.text[slice(*hex_span)] == "64 0a" and second.text[slice(*ascii_span)] == "d."


@pytest.mark.parametrize("mode", ["Hex", "Text"])
def test_a_long_run_of_empty_datagrams_maps_rows_without_walking_them(mode: str) -> None:
    # 3,000 empty datagrams in a row (UDP allows them): a header row each, and the rows of
    # the last one are found by lookups, not by walking back through the run.
    with DatagramStore() as store:
        store.add_datagram(IN, b"first", "127.0.0.1", 1, None, T0)
        for _ in range(3000):
            store.add_datagram(IN, b"", "127.0.0.1", 1, None, T0)
        store.add_datagram(OUT, b"last", "127.0.0.1", 1, None, T0)
        reader = Reader(store)
        layout: Layout = HexLayout(reader) if mode == "Hex" else TextLayout(reader, "UTF-8")
        empty = (3000, HEADER)
        value = layout.value_of(empty)
        assert layout.pos_at_value(value) == empty
        assert layout.value_of((3001, HEADER)) == value + 1
        state = scrolled(store, page=5, layout=layout)
        assert [row.pos for row in state.rows()][-2:] == [(3001, HEADER), (3001, 0)]
        assert state.values() is not None


class CountingStore(DatagramStore):
    """Counts the index lookups and reads the layout makes."""

    records = 0
    reads = 0

    def record(self, i: int) -> Record:
        self.records += 1
        return super().record(i)

    def read(self, stream_offset: int, size: int) -> bytes:
        self.reads += 1
        return super().read(stream_offset, size)


@pytest.mark.parametrize("mode", ["Hex", "Text"])
def test_100_000_datagrams_lay_out_and_scroll_by_lookups(mode: str) -> None:
    with CountingStore() as store:
        for i in range(100_000):
            store.add_datagram(i % 2, b"datagram %6d\n" % i, "127.0.0.1", 1000 + i % 7, None)
        reader = Reader(store)
        layout: Layout = HexLayout(reader) if mode == "Hex" else TextLayout(reader, "UTF-8")
        store.records = store.reads = 0
        state = scrolled(store, page=40, layout=layout)  # follows the tail
        assert state.rows()[-1].data == b"datagram  99999\n"
        values = state.values()
        assert values is not None
        state.jump(values[1] // 2, to_end=False)  # the scroll bar dragged to the middle
        middle = state.rows()
        assert abs(middle[0].record.index - 50_000) < 100
        assert middle[1].data == b"datagram %6d\n" % middle[0].record.index
        store.add_datagram(IN, b"one more", "127.0.0.1", 9, None)  # one arrives
        state.grew()
        state.rows()
        # Each step costs lookups in the order of the rows shown, not of the datagrams.
        assert store.records < 600, store.records
        assert store.reads < 20, store.reads


def test_find_match_lands_inside_one_datagram_and_wraps(store: DatagramStore) -> None:
    for data in (b"GET", b"/x", b"xGET/x"):
        store.add_datagram(IN, data, "127.0.0.1", 80, None, T0)
    # "GET/x" is in the stream from offset 0, but only the third datagram holds it.
    assert find_match(store, b"GET/x", None, 0) == (6, False)
    assert find_match(store, b"get/X", None, 0, ignore_case=True) == (6, False)
    assert find_match(store, b"GET/x", (6, 11), 0) == (6, True)  # the only one: wraps to it
    assert find_match(store, b"GET/x", None, 0, backwards=True) == (6, False)
    assert find_match(store, b"T/", None, 0) == (8, False)  # not at 2, across the first two
    assert find_match(store, b"/xx", None, 0) is None  # only across the second and third


def test_write_datagram_raw_and_as_hex_dump(store: DatagramStore, tmp_path: Path) -> None:
    fill(store)
    raw = tmp_path / "d.bin"
    assert write_datagram(store, 2, raw, as_hex_dump=False) == 20
    assert raw.read_bytes() == bytes(range(20))
    dump = tmp_path / "d.txt"
    assert write_datagram(store, 2, dump, as_hex_dump=True) == 20
    assert dump.read_text(encoding="utf-8") == (
        datagram_header_text(store.datagram(2))
        + "\n0000  00 01 02 03 04 05 06 07  08 09 0a 0b 0c 0d 0e 0f  |................|"
        + "\n0010  10 11 12 13"
        + " " * 39
        + "|....|\n"
    )
    assert write_datagram(store, 3, dump, as_hex_dump=True) == 0  # an empty one: its header
    assert dump.read_text(encoding="utf-8") == datagram_header_text(store.datagram(3)) + "\n"
    write_datagram(store, 4, raw, as_hex_dump=False)
    assert raw.read_bytes() == b"x" * 8  # what was kept of the truncated one


def test_the_whole_hex_dump_has_the_datagram_headers(store: DatagramStore, tmp_path: Path) -> None:
    fill(store)
    target = tmp_path / "dump.txt"
    list(write_hex_dump(store, target))
    shown = [row.text for row in HexLayout(Reader(store)).rows((0, HEADER), 100)]
    assert target.read_text(encoding="utf-8") == "\n".join(shown) + "\n"
    assert "from 192.0.2.1:53, truncated to 8 bytes" in shown[-2]
