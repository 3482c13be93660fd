"""workbench.core.spool_direct: the capture writer's whole blocks around the page cache, on
real files, read back through the segment's own descriptor as the stores read them."""

from __future__ import annotations

import itertools
import os
import random
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from workbench.core.capture import CaptureSpool, CaptureStore, Direction
from workbench.core.spool_direct import DIRECT_BLOCK, NOT_TRIED, REFUSED, StagedWriter

KIB = 1024


class _Segment:
    """A segment as the spool makes one: an unlinked temporary file."""

    def __init__(self, folder: Path) -> None:
        fd, name = tempfile.mkstemp(dir=folder)
        os.unlink(name)
        self.fd = fd
        self.direct_fd = NOT_TRIED

    def close(self) -> None:
        for fd in (self.fd, self.direct_fd):
            if fd >= 0:
                os.close(fd)


@pytest.fixture
def segment(tmp_path: Path) -> Iterator[_Segment]:
    seg = _Segment(tmp_path)
    yield seg
    seg.close()


def _direct_offered(folder: Path) -> bool:
    """Whether ``folder``'s file system takes aligned O_DIRECT writes (ext4 and tmpfs do)."""
    flag = getattr(os, "O_DIRECT", 0)
    if not flag:
        return False
    try:
        fd = os.open(folder / "probe", os.O_WRONLY | os.O_CREAT | flag, 0o600)
    except OSError:
        return False
    os.close(fd)
    return True


def test_unaligned_writes_of_every_size_read_back_exactly(
    tmp_path: Path, segment: _Segment
) -> None:
    """Writes that start and end mid-block, shorter and longer than the staging buffer, in
    pieces of every size, then read through the segment's own descriptor (as a store reads)
    after a read of the neighbouring bytes that came first (which could have cached the
    blocks a later direct write replaces)."""
    if not _direct_offered(tmp_path):
        pytest.skip(f"{tmp_path}'s file system refuses O_DIRECT: only the fallback would run")
    writer = StagedWriter(staging_size=64 * KIB)
    rng = random.Random(7)
    expected = bytearray()
    pos = 123  # never aligned at first
    expected += bytes(pos)
    try:
        for size in (1, 4095, 8192, 8193, 65_535, 64 * KIB, 200_000, 3 * DIRECT_BLOCK + 5):
            data = rng.randbytes(size)
            cut = [0, *sorted(rng.sample(range(1, size), min(3, size - 1))), size]
            parts: list[bytes | memoryview] = [data[a:b] for a, b in itertools.pairwise(cut)]
            os.pread(segment.fd, 2 * DIRECT_BLOCK, max(0, pos - DIRECT_BLOCK))  # cache nearby
            writer.write(segment, parts, pos, size)
            expected += data
            pos += size
            assert os.pread(segment.fd, len(expected), 0) == bytes(expected)
        assert segment.direct_fd >= 0  # the long writes went around the page cache
    finally:
        writer.close()


def test_an_alignment_the_kernel_refuses_falls_back_to_the_page_cache(
    tmp_path: Path, segment: _Segment
) -> None:
    """A direct write refused with EINVAL (here: a block of 1000 bytes, which no disk takes;
    tmpfs takes anything) is written through the page cache, and so is every later write of
    that segment."""
    writer = StagedWriter(block=1000, staging_size=64 * KIB)
    data = os.urandom(300_000)
    try:
        writer.write(segment, [data[:1], data[1:]], 0, len(data))
        writer.write(segment, [data], len(data), len(data))
        assert os.pread(segment.fd, 2 * len(data), 0) == data + data
        if _takes_any_alignment(tmp_path):
            assert segment.direct_fd >= 0
        else:
            assert segment.direct_fd == REFUSED
    finally:
        writer.close()


def _takes_any_alignment(folder: Path) -> bool:
    """tmpfs takes O_DIRECT writes from any address (it is all memory)."""
    flag = getattr(os, "O_DIRECT", 0)
    if not flag:
        return False
    fd = os.open(folder / "probe-any", os.O_RDWR | os.O_CREAT | flag, 0o600)
    try:
        os.pwrite(fd, memoryview(bytes(2 * DIRECT_BLOCK))[1 : DIRECT_BLOCK + 1], 0)
    except OSError:
        return False
    finally:
        os.close(fd)
    return True


def test_short_writes_never_open_a_direct_descriptor(segment: _Segment) -> None:
    writer = StagedWriter()
    try:
        writer.write(segment, [b"x" * 100], 0, 100)
        writer.write(segment, [b"y" * (2 * DIRECT_BLOCK - 1)], 100, 2 * DIRECT_BLOCK - 1)
        assert segment.direct_fd == NOT_TRIED
        assert os.pread(segment.fd, 10_000, 0) == b"x" * 100 + b"y" * (2 * DIRECT_BLOCK - 1)
    finally:
        writer.close()


def test_a_flood_on_a_threaded_spool_reads_back_exactly_and_closes_both_descriptors(
    tmp_path: Path,
) -> None:
    """What a session does: many stores on one threaded spool, appends of read sizes and
    trickles interleaved, read back while the writes are on their way and after; closing the
    stores closes each segment's O_DIRECT descriptor with it."""
    rng = random.Random(11)
    with CaptureSpool(tmp_path, threaded=True, segment_size=4 << 20) as spool:
        stores = [CaptureStore(spool=spool, write_behind=256 * KIB) for _ in range(3)]
        streams = [bytearray() for _ in stores]
        for i in range(150):
            which = i % 3
            piece = rng.randbytes(rng.choice([7, 4096, 65_536, 262_144]) if which else 13)
            assert stores[which].add(Direction.IN, piece, float(i))
            streams[which] += piece
        for store, stream in zip(stores, streams, strict=True):
            assert store.read(0, len(stream)) == bytes(stream)
            store.wait_written()
            assert store.failed is None
            assert store.read(0, len(stream)) == bytes(stream)
        if _direct_offered(tmp_path):
            before = len(os.listdir("/proc/self/fd"))
            for store in stores:
                store.close()
            assert spool.segment_count == 0
            assert len(os.listdir("/proc/self/fd")) < before
