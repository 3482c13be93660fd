"""workbench.core.capture's ``DatagramStore``: a capture that keeps datagram boundaries, and
per datagram its peer and, where ``buffer_size`` cut it, the length it had.

Checked against what the test appended: one record per datagram however close together, the
side table in step with the records (through ``append``/``add`` too, and after a failed write
undid records), and a TCP store on the same spool merging as before.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.core.test_spool import run
from workbench.core.capture import (
    WRITE_BEHIND,
    CaptureSpool,
    CaptureStore,
    Datagram,
    DatagramStore,
    Direction,
    LineIndex,
    Record,
)

IN, OUT = Direction.IN, Direction.OUT


@pytest.fixture
def store() -> Iterator[DatagramStore]:
    with DatagramStore() as capture:
        yield capture


def test_one_record_per_datagram_with_its_peer_and_original_length(store: DatagramStore) -> None:
    # The same instant and direction: a TCP store would merge these into one record.
    assert store.add_datagram(IN, b"hello", "127.0.0.1", 5353, None, 10.0)
    assert store.add_datagram(IN, b"worl", "127.0.0.1", 5353, 9000, 10.0)
    assert store.add_datagram(OUT, b"", "::1", 7, None, 10.0)  # an empty datagram is one too
    assert store.add_datagram(OUT, b"abc", "localhost", 9, None, 10.0)
    assert store.record_count == 4 and store.total_bytes == 12
    assert (store.bytes_in, store.bytes_out) == (9, 3)
    assert store.datagram(0) == Datagram(Record(0, IN, 10.0, 0, 5), "127.0.0.1", 5353)
    assert store.datagram(1) == Datagram(Record(1, IN, 10.0, 5, 4), "127.0.0.1", 5353, 9000)
    assert store.datagram(2) == Datagram(Record(2, OUT, 10.0, 9, 0), "::1", 7)
    assert store.datagram(-1) == Datagram(Record(3, OUT, 10.0, 9, 3), "localhost", 9)
    assert store.read(0, 100) == b"helloworlabc"
    # The byte at an offset belongs to the non-empty datagram there, not the empty one.
    assert store.datagram_at(9).address == "localhost"
    assert store.datagram_at(5).original_length == 9000
    with pytest.raises(IndexError):
        store.datagram(4)
    # Hex rows: a header per datagram, the empty one too.
    assert LineIndex.hex_rows(store) == 2 + 2 + 1 + 2


def test_append_and_add_keep_the_side_table_in_step(store: DatagramStore) -> None:
    record = store.append(IN, b"plain", 1.0)
    assert record == Record(0, IN, 1.0, 0, 5)
    assert store.add(IN, b"more", 1.0)
    assert store.add_datagram(IN, b"x", "10.0.0.1", 53, 700, 1.0)
    peers = [(d.address, d.port, d.original_length) for d in map(store.datagram, range(3))]
    assert peers == [("", 0, None), ("", 0, None), ("10.0.0.1", 53, 700)]
    assert store.merge_window == 0


def test_write_behind_and_a_shared_spool_leave_tcp_stores_as_they_were(tmp_path: Path) -> None:
    with CaptureSpool(tmp_path) as spool:
        tcp = CaptureStore(spool=spool, write_behind=WRITE_BEHIND)
        udp = DatagramStore(spool=spool, write_behind=WRITE_BEHIND)
        for i in range(100):
            tcp.add(IN, b"t" * 10, 5.0)
            assert udp.add_datagram(IN, bytes([i]) * 10, "127.0.0.1", 1000 + i % 3, None, 5.0)
        assert tcp.record_count == 1 and tcp.total_bytes == 1000
        assert udp.record_count == 100
        assert udp.datagram(42) == Datagram(Record(42, IN, 5.0, 420, 10), "127.0.0.1", 1000)
        assert udp.read(420, 10) == bytes([42]) * 10
        tcp.close()
        udp.close()


def test_a_closed_store_refuses_datagrams() -> None:
    udp = DatagramStore()
    udp.close()
    with pytest.raises(ValueError, match="closed"):
        udp.add_datagram(IN, b"x", "127.0.0.1", 1)


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="RLIMIT_FSIZE is POSIX only")
def test_a_failed_write_undoes_datagrams_and_the_side_table_still_matches(
    tmp_path: Path,
) -> None:
    result = run(
        """
        import json, resource
        from workbench.core.capture import DatagramStore
        hard = resource.getrlimit(resource.RLIMIT_FSIZE)[1]
        resource.setrlimit(resource.RLIMIT_FSIZE, (256 * 1024, hard))
        KIB = 1024
        with DatagramStore(temp_dir=folder, write_behind=64 * KIB) as capture:
            kept = [capture.add_datagram(0, b"a" * 60 * KIB, "10.0.0.1", 1, None, 0.0)
                    for _ in range(4)]  # written in one go once 64 KiB are held
            kept += [capture.add_datagram(1, b"b" * 40 * KIB, "10.0.0.2", 2, 90000, 0.1)
                     for _ in range(2)]  # past the limit: undone
            count = capture.record_count
            last = capture.datagram(-1)
            print(json.dumps([
                kept, capture.failed, count, capture.total_bytes, last.address, last.port,
                last.original_length, last.record.size,
                capture.add_datagram(0, b"late", "10.0.0.3", 3), capture.record_count,
            ]))
        """,
        tmp_path,
    )
    assert result == [
        [True, True, True, True, True, False], os.strerror(errno.EFBIG), 4, 240 * 1024,
        "10.0.0.1", 1, None, 60 * 1024, False, 4,
    ]  # fmt: skip


# ------------------------------------------------------------------------------------ find


def _brute_find(store: DatagramStore, needle: bytes, ignore_case: bool = False) -> list[int]:
    """Every match within one datagram, from the datagrams' bytes one by one."""
    hits = []
    for i in range(store.record_count):
        rec = store.record(i)
        data = store.read(rec.stream_offset, rec.size)
        if ignore_case:
            data, needle = data.lower(), needle.lower()
        k = data.find(needle)
        while k >= 0:
            hits.append(rec.stream_offset + k)
            k = data.find(needle, k + 1)
    return hits


def test_find_never_matches_across_two_datagrams(store: DatagramStore) -> None:
    # "ab" | "cd" | "abcd": the stream reads "ababcd..." but only the third datagram holds
    # "bc"; a TCP store would find it at offset 1 already.
    for data in (b"ab", b"cd", b"xabcd"):
        store.add_datagram(IN, data, "127.0.0.1", 5353, None, 1.0)
    assert store.find(b"bc") == 6
    assert CaptureStore.find(store, b"bc") == 1  # the stream's own find: across the boundary
    assert store.find(b"bc", 7) is None
    assert store.find(b"bc", backwards=True) == 6
    assert store.find(b"bc", 7, backwards=True) is None  # "bc" at 6 ends at 8, after 7
    assert store.find(b"bc", 8, backwards=True) == 6
    assert store.find(b"BC") is None
    assert store.find(b"BC", ignore_case=True) == 6
    assert store.find(b"BC", backwards=True, ignore_case=True) == 6
    assert store.find(b"") == 0 and store.find(b"", 3) == 3


@pytest.mark.parametrize("block", [1, 3, 7, 1 << 20])
def test_find_walks_every_match_forward_and_backwards_in_any_block_size(
    store: DatagramStore, block: int
) -> None:
    # A needle that straddles every boundary (each datagram ends "a", the next starts "a"),
    # empty datagrams between, and real matches here and there; small blocks split matches.
    datagrams = [b"xa", b"", b"ab", b"aa", b"", b"", b"a", b"Aab", b"ba"]
    for data in datagrams:
        store.add_datagram(OUT, data, "::1", 9, None, 2.0)
    store.find_block = block
    for needle, ignore in ((b"aa", False), (b"ab", False), (b"aA", True), (b"a", False)):
        expected = _brute_find(store, needle, ignore)
        found, pos = [], 0
        while (hit := store.find(needle, pos, ignore_case=ignore)) is not None:
            found.append(hit)
            pos = hit + 1
        assert found == expected, needle
        back, end = [], store.total_bytes
        while (hit := store.find(needle, end, backwards=True, ignore_case=ignore)) is not None:
            back.append(hit)
            end = hit + len(needle) - 1
        assert back == expected[::-1], needle


def test_find_in_100_000_straddling_datagrams_reads_blocks_not_datagrams(
    store: DatagramStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # "a" 100,000 times: "aa" straddles every boundary and is in no datagram. Each candidate
    # costs a binary search; the bytes are read a block at a time, not once per candidate.
    for _ in range(100_000):
        store.add_datagram(IN, b"a", "10.0.0.1", 53, None, 3.0)
    reads = 0
    original = DatagramStore.read

    def counting(self: DatagramStore, offset: int, size: int) -> bytes:
        nonlocal reads
        reads += 1
        return original(self, offset, size)

    monkeypatch.setattr(DatagramStore, "read", counting)
    assert store.find(b"aa") is None
    assert store.find(b"aa", backwards=True) is None
    assert reads <= 2
    assert store.find(b"a", 99_999) == 99_999
