"""workbench.core.capture: the on-disk capture store and the data view's row index.

Every store here is checked against the obvious model: the concatenation of what was
appended, kept in memory by the test. Properties (hypothesis) drive random appends, merge
settings and block sizes; the examples pin merging, the line index at record boundaries,
streaming, the file's life cycle and the memory bound.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import os
import stat
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench.core.capture import (
    HEX_ROW_BYTES,
    WRITE_BEHIND,
    CaptureStore,
    Direction,
    LineIndex,
    Record,
)

IN, OUT = Direction.IN, Direction.OUT
KIB = 1024
MIB = 1024 * KIB


@pytest.fixture
def store() -> Iterator[CaptureStore]:
    with CaptureStore() as capture:
        yield capture


def data_of(capture: CaptureStore, i: int) -> bytes:
    """The bytes of record ``i``."""
    record = capture.record(i)
    return capture.read(record.stream_offset, record.size)


def files_open_in(folder: Path) -> list[int]:
    """This process's descriptors on files in ``folder`` (deleted ones too)."""
    found = []
    for name in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):  # the listing's own descriptor is gone by now
            if os.readlink(f"/proc/self/fd/{name}").startswith(f"{folder}/"):
                found.append(int(name))
    return found


needs_proc = pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc")


# ------------------------------------------------------------------------------- basics


def test_direction_and_record() -> None:
    assert (int(IN), int(OUT)) == (0, 1)
    record = Record(index=2, direction=OUT, timestamp=1.5, stream_offset=10, size=5)
    assert record.end == 15
    with pytest.raises(AttributeError):
        record.size = 6  # type: ignore[misc]


def test_append_and_read_back(store: CaptureStore) -> None:
    assert (store.record_count, store.total_bytes, store.bytes_in, store.bytes_out) == (0, 0, 0, 0)
    first = store.append(OUT, b"hello", timestamp=100.0)
    second = store.append(IN, b"HELLO!", timestamp=100.01)
    assert first == Record(0, OUT, 100.0, 0, 5)
    assert second == Record(1, IN, 100.01, 5, 6)
    assert (store.record_count, store.total_bytes, store.bytes_in, store.bytes_out) == (2, 11, 6, 5)
    assert store.record(0) == first and store.record(1) == second
    assert store.record(-1) == second
    assert data_of(store, 0) == b"hello"
    assert data_of(store, 1) == b"HELLO!"
    assert store.read(0, 11) == b"helloHELLO!"
    assert store.read(3, 4) == b"loHE"  # across the record boundary
    assert store.read(9, 100) == b"O!"  # short at the end
    assert store.read(11, 5) == b"" and store.read(50, 5) == b""
    assert store.record_at(0) == first and store.record_at(4) == first
    assert store.record_at(5) == second and store.record_at(10) == second
    with pytest.raises(IndexError):
        store.record_at(11)
    with pytest.raises(IndexError):
        store.record_at(-1)
    with pytest.raises(IndexError):
        store.record(2)
    with pytest.raises(IndexError):
        store.record(-3)
    with pytest.raises(ValueError):
        store.read(-1, 3)


def test_append_takes_the_current_time_by_default(store: CaptureStore) -> None:
    before = time.time()
    record = store.append(IN, b"x")
    assert before <= record.timestamp <= time.time()


def test_append_accepts_ints_and_buffers_and_rejects_bad_directions(store: CaptureStore) -> None:
    assert store.append(1, bytearray(b"ab"), 1.0).direction is OUT
    assert store.append(0, memoryview(b"cd"), 2.0).direction is IN
    assert store.read(0, 4) == b"abcd"
    with pytest.raises(ValueError):
        store.append(2, b"x")
    assert store.total_bytes == 4


def test_empty_appends(store: CaptureStore) -> None:
    assert store.append(IN, b"", 1.0) == Record(0, IN, 1.0, 0, 0)
    assert store.append(IN, b"ab", 1.01).size == 2  # merged into the empty record
    assert store.append(OUT, b"", 1.02) == Record(1, OUT, 1.02, 2, 0)
    assert store.append(IN, b"c", 1.03) == Record(2, IN, 1.03, 2, 1)
    assert store.record_at(2).index == 2  # the empty record before it does not hold byte 2
    assert LineIndex.hex_rows(store) == (1 + 1) + 1 + (1 + 1)


# ----------------------------------------------------------------------------- merging


def test_appends_within_the_window_merge(store: CaptureStore) -> None:
    store.append(IN, b"abc", timestamp=10.0)
    grown = store.append(IN, b"def", timestamp=10.049)
    assert grown == Record(0, IN, 10.0, 0, 6)  # the first byte's time is kept
    assert store.record_count == 1
    # The window counts from the record's first byte, not from the last append: a steady
    # trickle still starts a new record every 50 ms.
    assert store.append(IN, b"g", timestamp=10.05).index == 1
    assert data_of(store, 0) == b"abcdef" and data_of(store, 1) == b"g"


def test_direction_changes_always_start_a_new_record(store: CaptureStore) -> None:
    for i in range(10):
        store.append(IN if i % 2 else OUT, bytes([i]), timestamp=5.0)
    assert store.record_count == 10
    assert [store.record(i).direction for i in range(10)] == [OUT, IN] * 5
    assert store.bytes_out == store.bytes_in == 5


def test_merge_window_zero_gives_one_record_per_append() -> None:
    with CaptureStore(merge_window=0) as capture:
        for i in range(100):
            record = capture.append(IN, b"x" * i, timestamp=1.0)
            assert record.index == i
        assert capture.record_count == 100
        assert [capture.record(i).size for i in range(100)] == list(range(100))


def test_a_clock_that_steps_back_does_not_merge(store: CaptureStore) -> None:
    store.append(IN, b"a", timestamp=100.0)
    assert store.append(IN, b"b", timestamp=99.0).index == 1


def test_merging_stops_at_max_record_size() -> None:
    with CaptureStore(max_record_size=10) as capture:
        sizes = [capture.append(IN, b"abcd", 1.0).size for _ in range(5)]
        assert sizes == [4, 8, 4, 8, 4]
        assert capture.append(IN, b"x" * 25, 1.0).size == 25  # a big append is kept whole
        assert capture.record_count == 4


def test_64_mib_in_4_kib_chunks_makes_few_records_and_a_small_index() -> None:
    chunk = os.urandom(4 * KIB)
    with CaptureStore() as capture:
        capture.append(IN, chunk, timestamp=1000.0)
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            for _ in range(64 * MIB // len(chunk) - 1):
                capture.append(IN, chunk, timestamp=1000.0)  # all within the merge window
            grown_by = tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()
        assert capture.total_bytes == 64 * MIB
        assert capture.record_count == 64  # one per max_record_size (1 MiB), not 16384
        assert grown_by < 16 * KIB  # a few words per record: memory does not follow the bytes
        assert LineIndex.hex_rows(capture) == 64 * (1 + MIB // 16)
        assert capture.read(64 * MIB - 4 * KIB, 8 * KIB) == chunk


def traced_growth(step: Callable[[], object]) -> int:
    """Memory that ``step`` leaves allocated (tracemalloc), in bytes."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        step()
        return tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()


def test_index_grows_per_record_not_per_byte() -> None:
    with CaptureStore(merge_window=0) as capture:
        small = b"x"
        big = b"x" * 4096

        def records(data: bytes) -> Callable[[], None]:
            return lambda: [capture.append(OUT, data) for _ in range(1000)]

        per_small = traced_growth(records(small)) / 1000
        per_big = traced_growth(records(big)) / 1000
        assert capture.record_count == 2000
        assert per_big < 2 * per_small + 8
        assert per_small < 64


# ------------------------------------------------------------------------ reading, chunks


def test_iter_chunks(store: CaptureStore) -> None:
    data = os.urandom(10_000)
    for i in range(0, len(data), 999):
        store.append(IN if i % 2 else OUT, data[i : i + 999], timestamp=float(i))
    assert b"".join(store.iter_chunks()) == data
    assert [len(c) for c in store.iter_chunks(chunk=4096)] == [4096, 4096, 1808]
    assert b"".join(store.iter_chunks(100, 5000, chunk=333)) == data[100:5000]
    assert b"".join(store.iter_chunks(9000, 20000)) == data[9000:]
    assert list(store.iter_chunks(20000)) == []
    with pytest.raises(ValueError):
        store.iter_chunks(chunk=0)


def test_iter_chunks_end_is_fixed_when_called(store: CaptureStore) -> None:
    store.append(IN, b"abc", 1.0)
    chunks = store.iter_chunks(chunk=1)
    store.append(IN, b"def", 5.0)  # grows while a save is under way
    assert list(chunks) == [b"a", b"b", b"c"]


# ------------------------------------------------------------------------------------ find


def make_store(parts: list[tuple[Direction, bytes]]) -> CaptureStore:
    """A store with one record per part (appends a second apart never merge)."""
    capture = CaptureStore()
    for i, (direction, data) in enumerate(parts):
        capture.append(direction, data, timestamp=float(i))
    return capture


def test_find_forward_and_backwards(store: CaptureStore) -> None:
    store.append(IN, b"abcabc", 1.0)
    store.append(OUT, b"xxabc", 2.0)
    assert store.find(b"abc") == 0
    assert store.find(b"abc", 1) == 3
    assert store.find(b"abc", 4) == 8
    assert store.find(b"abc", 9) is None
    assert store.find(b"cx") == 5  # across the record boundary
    assert store.find(b"nope") is None
    assert store.find(b"abc", backwards=True) == 8
    assert store.find(b"abc", 10, backwards=True) == 3  # must end at or before 10
    assert store.find(b"abc", 11, backwards=True) == 8
    assert store.find(b"abc", 2, backwards=True) is None
    assert store.find(b"", 4) == 4 and store.find(b"", 11) == 11 and store.find(b"", 12) is None
    assert store.find(b"", backwards=True) == 11
    with pytest.raises(ValueError):
        store.find(b"a", -1)


def test_find_spans_block_boundaries_and_streams(monkeypatch: pytest.MonkeyPatch) -> None:
    needle = b"NEEDLE"
    haystack = b"." * 1000 + needle + b"." * 1000 + needle + b"."
    with make_store(
        [(IN, haystack[:500]), (OUT, haystack[500:1003]), (IN, haystack[1003:])]
    ) as capture:
        reads: list[int] = []
        real_pread = os.pread

        def spy(fd: int, size: int, offset: int) -> bytes:
            reads.append(size)
            return real_pread(fd, size, offset)

        monkeypatch.setattr(os, "pread", spy)
        for block in (1, 2, 5, 7, 64, 1001, 1 << 20):
            capture.find_block = block
            reads.clear()
            assert capture.find(needle) == 1000
            assert capture.find(needle, 1001) == 2006
            assert capture.find(needle, backwards=True) == 2006
            assert capture.find(needle, 2011, backwards=True) == 1000
            assert max(reads) <= block + len(needle) - 1  # never the whole capture at once


@settings(deadline=None, max_examples=60)
@given(
    parts=st.lists(st.tuples(st.sampled_from([IN, OUT]), st.binary(max_size=40)), max_size=12),
    needle=st.binary(max_size=5),
    start=st.integers(min_value=0, max_value=500),
    block=st.integers(min_value=1, max_value=50),
)
def test_find_equals_bytes_find_on_the_concatenation(
    parts: list[tuple[Direction, bytes]], needle: bytes, start: int, block: int
) -> None:
    # A small alphabet makes matches, and matches across records and blocks, common.
    parts = [(d, bytes(b % 3 + 0x61 for b in data)) for d, data in parts]
    needle = bytes(b % 3 + 0x61 for b in needle)
    whole = b"".join(data for _, data in parts)
    with make_store(parts) as capture:
        capture.find_block = block

        def expect(index: int) -> int | None:
            return None if index < 0 else index

        assert capture.find(needle, start) == expect(whole.find(needle, start))
        assert capture.find(needle) == expect(whole.find(needle))
        assert capture.find(needle, start, backwards=True) == expect(whole.rfind(needle, 0, start))
        assert capture.find(needle, backwards=True) == expect(whole.rfind(needle))


# ------------------------------------------------------------------------ random appends


appends = st.lists(
    st.tuples(
        st.sampled_from([IN, OUT]),
        st.binary(max_size=300)
        | st.sampled_from([b"\n", b"a\nb", b"x" * 127 + b"\n", b"y" * 200 + b"\nz"]),
        st.floats(min_value=0, max_value=0.04),  # time since the previous append
    ),
    max_size=25,
)


@settings(deadline=None, max_examples=80, suppress_health_check=[HealthCheck.too_slow])
@given(
    steps=appends,
    window=st.sampled_from([0.0, 0.05, 0.1]),
    max_record=st.sampled_from([1, 64, 1 << 20]),
    reads=st.lists(st.tuples(st.integers(0, 8000), st.integers(0, 500)), max_size=10),
    write_behind=st.sampled_from([0, 1, 300, WRITE_BEHIND]),
)
def test_random_appends_match_the_model(
    steps: list[tuple[Direction, bytes, float]],
    window: float,
    max_record: int,
    reads: list[tuple[int, int]],
    write_behind: int,
) -> None:
    whole = bytearray()
    now = 1000.0
    with CaptureStore(
        merge_window=window, max_record_size=max_record, write_behind=write_behind
    ) as capture:
        for direction, data, gap in steps:
            now += gap
            count = capture.record_count
            record = capture.append(direction, data, timestamp=now)
            whole += data
            assert record == capture.record(-1)
            assert record.end == len(whole)
            assert capture.record_count in (count, count + 1)
            if window == 0:
                assert capture.record_count == count + 1
        assert capture.total_bytes == len(whole)
        for offset, size in reads:
            assert capture.read(offset, size) == bytes(whole[offset : offset + size])
        records = [capture.record(i) for i in range(capture.record_count)]
        # Records tile the stream, in order, each one direction.
        assert [r.index for r in records] == list(range(len(records)))
        assert sum(r.size for r in records) == len(whole)
        for before, after in itertools.pairwise(records):
            assert before.end == after.stream_offset
            assert before.timestamp <= after.timestamp
        for record in records:
            if record.size:
                assert capture.record_at(record.stream_offset) == record
                assert capture.record_at(record.end - 1) == record
        assert capture.bytes_in == sum(r.size for r in records if r.direction == IN)
        assert capture.bytes_out == sum(r.size for r in records if r.direction == OUT)
        check_line_index(capture)


def check_line_index(capture: CaptureStore) -> None:
    records = [capture.record(i) for i in range(capture.record_count)]
    hex_rows: list[tuple[int, int]] = []
    for record in records:
        hex_rows += [(record.index, k) for k in range(1 + -(-record.size // HEX_ROW_BYTES))]
        for k in range(1, -(-record.size // HEX_ROW_BYTES) + 1):
            start, end = LineIndex.hex_row_range(record, k)
            assert start == record.stream_offset + (k - 1) * HEX_ROW_BYTES
            assert end == min(start + HEX_ROW_BYTES, record.end)
            assert LineIndex.hex_row_of(capture, start) == len(hex_rows) - 1 - (
                -(-record.size // HEX_ROW_BYTES) - k
            )
    assert LineIndex.hex_rows(capture) == len(hex_rows)
    for row, (index, k) in enumerate(hex_rows):
        record, in_record = LineIndex.hex_row(capture, row)
        assert (record.index, in_record) == (index, k)
    with pytest.raises(IndexError):
        LineIndex.hex_row(capture, len(hex_rows))
    with pytest.raises(IndexError):
        LineIndex.hex_row(capture, -1)


@settings(deadline=None, max_examples=40)
@given(
    steps=appends,
    window=st.sampled_from([0.0, 0.05]),
    save=st.sampled_from([None, IN, OUT]),
    write_behind=st.sampled_from([0, 300]),
)
def test_save_raw_matches_the_model(
    steps: list[tuple[Direction, bytes, float]],
    window: float,
    save: Direction | None,
    write_behind: int,
) -> None:
    expected = b"".join(data for direction, data, _ in steps if save in (None, direction))
    with (
        tempfile.TemporaryDirectory() as folder,
        CaptureStore(merge_window=window, write_behind=write_behind) as capture,
    ):
        now = 0.0
        for direction, data, gap in steps:
            now += gap
            capture.append(direction, data, timestamp=now)
        target = Path(folder) / "saved.raw"
        assert capture.save_raw(target, save) == len(expected)
        assert target.read_bytes() == expected


# --------------------------------------------------------------------------- line index


def test_hex_rows_are_a_header_plus_one_per_16_bytes(store: CaptureStore) -> None:
    sizes = [0, 1, 15, 16, 17, 32, 33]
    for i, size in enumerate(sizes):
        store.append(IN if i % 2 else OUT, b"h" * size, float(i))
    expected = [1 + -(-size // 16) for size in sizes]
    assert expected == [1, 2, 2, 2, 3, 3, 4]
    assert LineIndex.hex_rows(store) == sum(expected)
    assert LineIndex.hex_row(store, 0) == (store.record(0), 0)
    assert LineIndex.hex_row(store, 1) == (store.record(1), 0)
    assert LineIndex.hex_row(store, 2) == (store.record(1), 1)
    record, row = LineIndex.hex_row(store, sum(expected) - 1)
    assert (record.index, row) == (6, 3)
    assert LineIndex.hex_row_range(record, 3) == (record.end - 1, record.end)
    with pytest.raises(IndexError):
        LineIndex.hex_row_range(record, 4)
    with pytest.raises(IndexError):
        LineIndex.hex_row_range(record, 0)


def test_hex_rows_follow_merges(store: CaptureStore) -> None:
    store.append(IN, b"a" * 10, 1.0)
    store.append(IN, b"a" * 10, 1.01)
    assert LineIndex.hex_rows(store) == 1 + 2
    store.append(OUT, b"b", 1.02)
    store.append(OUT, b"b" * 15, 1.03)
    assert LineIndex.hex_rows(store) == 3 + 2
    assert LineIndex.hex_row_of(store, 19) == 2 and LineIndex.hex_row_of(store, 20) == 4


def test_empty_store_has_no_rows(store: CaptureStore) -> None:
    assert LineIndex.hex_rows(store) == 0
    with pytest.raises(IndexError):
        LineIndex.hex_row(store, 0)


# --------------------------------------------------------------------- files, life cycle


@needs_proc
def test_temporary_file_is_anonymous_and_gone_after_close(tmp_path: Path) -> None:
    capture = CaptureStore(temp_dir=tmp_path)
    assert files_open_in(tmp_path) == []  # an idle store holds no descriptor
    capture.append(IN, b"secret", 1.0)
    [fd] = files_open_in(tmp_path)
    assert os.readlink(f"/proc/self/fd/{fd}").endswith("(deleted)")
    # Captures can hold decrypted TLS traffic: for the owner only, even while they exist.
    assert stat.S_IMODE(os.fstat(fd).st_mode) == 0o600
    assert list(tmp_path.iterdir()) == []  # unlinked at once: a crash leaves nothing behind
    assert capture.path is None
    assert capture.read(0, 6) == b"secret"
    capture.close()
    assert files_open_in(tmp_path) == []
    assert list(tmp_path.iterdir()) == []


def test_a_callers_path_is_kept_after_close(tmp_path: Path) -> None:
    path = tmp_path / "capture.raw"
    with CaptureStore(path) as capture:
        assert capture.path == path
        capture.append(OUT, b"GET /\r\n", 1.0)
        capture.append(IN, b"200 OK", 2.0)
        # Captures can hold decrypted TLS traffic: a new file is for its owner only.
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert capture.closed
    assert path.read_bytes() == b"GET /\r\n200 OK"


def test_an_existing_path_is_truncated(tmp_path: Path) -> None:
    path = tmp_path / "capture.raw"
    path.write_bytes(b"old content that must go")
    with CaptureStore(path) as capture:
        capture.append(IN, b"new", 1.0)
        assert capture.read(0, 100) == b"new"
    assert path.read_bytes() == b"new"


def test_close_is_idempotent_and_the_store_refuses_io_after_it() -> None:
    capture = CaptureStore()
    capture.append(IN, b"x", 1.0)
    capture.close()
    capture.close()
    assert capture.closed
    assert "closed" in repr(capture)
    for call in (
        lambda: capture.append(IN, b"y"),
        lambda: capture.read(0, 1),
        lambda: capture.find(b"x"),
        lambda: capture.iter_chunks(),
    ):
        with pytest.raises(ValueError, match="closed"):
            call()
    assert capture.record(0).size == 1  # the index is still there to look at


@needs_proc
def test_a_dropped_store_closes_its_file(tmp_path: Path) -> None:
    capture = CaptureStore(temp_dir=tmp_path)
    capture.append(IN, b"x", 1.0)
    assert len(files_open_in(tmp_path)) == 1
    del capture
    gc.collect()
    assert files_open_in(tmp_path) == []


def test_save_raw_refuses_to_overwrite_its_own_data_file(tmp_path: Path) -> None:
    path = tmp_path / "capture.raw"
    with CaptureStore(path) as capture:
        capture.append(IN, b"abc", 1.0)
        with pytest.raises(ValueError, match="own data file"):
            capture.save_raw(path)
        assert capture.read(0, 3) == b"abc"


def test_save_raw_by_direction(store: CaptureStore, tmp_path: Path) -> None:
    store.append(OUT, b"ping1", 1.0)
    store.append(IN, b"pong1", 2.0)
    store.append(OUT, b"ping2", 3.0)
    store.append(OUT, b"+", 4.0)  # adjacent records of one direction: copied in one range
    assert store.save_raw(tmp_path / "all", None) == 16
    assert store.save_raw(tmp_path / "out", OUT) == 11
    assert store.save_raw(tmp_path / "in", IN) == 5
    assert (tmp_path / "all").read_bytes() == b"ping1pong1ping2+"
    assert (tmp_path / "out").read_bytes() == b"ping1ping2+"
    assert (tmp_path / "in").read_bytes() == b"pong1"


def test_repr_shows_live_state(store: CaptureStore) -> None:
    store.append(IN, b"abc", 1.0)
    store.append(OUT, b"de", 2.0)
    assert repr(store) == "<CaptureStore temporary records=2 bytes=5 in=3 out=2>"


def test_record_is_small() -> None:
    # Records are created per append; slots keep them light.
    assert not hasattr(Record(0, IN, 0.0, 0, 0), "__dict__")
    assert sys.getsizeof(Record(0, IN, 0.0, 0, 0)) < 100


def test_save_raw_steps_writes_piece_by_piece(tmp_path: Path) -> None:
    """The stepwise save yields growing counts and leaves the same file save_raw writes."""
    with CaptureStore(temp_dir=tmp_path) as store:
        store.append(Direction.IN, b"a" * 5000)
        store.append(Direction.OUT, b"b" * 3000)
        store.append(Direction.IN, b"c" * 2000)
        counts = list(store.save_raw_steps(tmp_path / "in.bin", Direction.IN, piece=1024))
        assert counts == sorted(counts) and counts[-1] == 7000
        assert len(counts) > 5  # one step per piece, not one for the whole file
        assert (tmp_path / "in.bin").read_bytes() == b"a" * 5000 + b"c" * 2000
        assert store.save_raw(tmp_path / "all.bin") == 10000
        assert (tmp_path / "all.bin").read_bytes()[5000:8000] == b"b" * 3000


# -------------------------------------------------------------------------- write-behind


def test_write_behind_holds_appends_until_enough_or_a_reader_needs_them(tmp_path: Path) -> None:
    path = tmp_path / "capture.raw"
    with CaptureStore(path, write_behind=100) as capture:
        assert capture.append(IN, b"a" * 60, 1.0) == Record(0, IN, 1.0, 0, 60)
        assert capture.append(IN, b"b" * 30, 1.01) == Record(0, IN, 1.0, 0, 90)
        # Counted and indexed at once, on disk not yet.
        assert (capture.total_bytes, capture.bytes_in) == (90, 90)
        assert path.stat().st_size == 0
        assert capture.append(OUT, b"c" * 10, 1.02) == Record(1, OUT, 1.02, 90, 10)
        assert path.read_bytes() == b"a" * 60 + b"b" * 30 + b"c" * 10  # 100 held: written
        assert capture.add(OUT, b"d", 1.03) is True
        assert path.stat().st_size == 100
        assert capture.read(99, 2) == b"cd"  # a reader writes what is held first
        assert path.stat().st_size == 101
        capture.append(IN, b"e", 2.0)
    assert path.read_bytes().endswith(b"de")  # and so does close()


def test_add_is_append_without_the_record(store: CaptureStore) -> None:
    assert store.add(IN, bytearray(b"abc"), 5.0) is True
    assert store.add(1, memoryview(b"de"), 5.0) is True
    assert store.record(0) == Record(0, IN, 5.0, 0, 3)
    assert store.record(1) == Record(1, OUT, 5.0, 3, 2)
    assert store.read(0, 10) == b"abcde"
    with pytest.raises(ValueError):
        store.add(2, b"x")


def test_a_write_behind_store_refuses_io_after_close() -> None:
    capture = CaptureStore(write_behind=1 << 20)
    capture.append(IN, b"held")
    capture.close()
    with pytest.raises(ValueError, match="closed"):
        capture.add(IN, b"more")
    with pytest.raises(ValueError, match="closed"):
        capture.read(0, 4)
