"""workbench.core.spool_writer, and captures on a threaded spool (``CaptureSpool(threaded=True)``,
what a session uses): the bytes, the reads while writes are on their way, a failed write, and
closing with writes queued."""

from __future__ import annotations

import errno
import os
import random
import tempfile
import threading
from pathlib import Path

import pytest

from workbench.core.capture import CaptureSpool, CaptureStore, Direction
from workbench.core.spool_direct import NOT_TRIED
from workbench.core.spool_writer import SpoolWriter, WriteJob, WriteTicket

IN, OUT = Direction.IN, Direction.OUT
KIB = 1024
MIB = 1024 * KIB


def test_a_flood_reads_back_exactly_while_the_writes_are_on_their_way(tmp_path: Path) -> None:
    """Each read follows its append at once, before the writer can have written it: the
    bytes come from memory then, and from the file later; either way they are the stream."""
    rng = random.Random(5)
    with CaptureSpool(tmp_path, threaded=True) as spool:
        store = CaptureStore(spool=spool, write_behind=256 * KIB)
        stream = bytearray()
        for i in range(120):
            piece = rng.randbytes(rng.choice([1, 4096, 65536, 300_000]))
            direction = IN if i % 3 else OUT
            assert store.add(direction, piece, float(i))
            stream += piece
            tail = max(0, len(stream) - 70_000)
            assert store.read(tail, 70_000) == bytes(stream[tail:])
        assert store.read(0, len(stream)) == bytes(stream)
        store.wait_written()
        assert store.failed is None
        assert store.read(0, len(stream)) == bytes(stream)
        assert b"".join(store.iter_chunks(chunk=MIB)) == bytes(stream)
        assert store.total_bytes == len(stream)
        store.close()


def test_a_failed_write_on_the_thread_undoes_from_it_on_and_the_capture_stops(
    tiny_disk: Path,
) -> None:
    """2 MB into a 1 MiB disk: as on the caller's thread, the capture keeps a prefix that
    is exactly in the file, says why it stopped, and counts the rest as dropped."""
    errors: list[int] = []
    chunk = os.urandom(100_000)
    with CaptureSpool(tiny_disk, threaded=True, on_write_error=lambda: errors.append(1)) as spool:
        store = CaptureStore(spool=spool, write_behind=256 * KIB)
        for i in range(20):
            store.add(IN, chunk, float(i))  # never raises
        store.wait_written()
        assert store.failed == os.strerror(errno.ENOSPC)
        # Again, with the failure taken already (the writer's ticket keeps its error).
        store.wait_written()
        assert store.failed == os.strerror(errno.ENOSPC)
        assert errors == [1]  # told once, from the writer thread
        kept = store.total_bytes
        assert 0 < kept < MIB and kept % len(chunk) == 0
        assert store.bytes_dropped == 20 * len(chunk) - kept
        assert store.read(0, 2 * MIB) == chunk * (kept // len(chunk))
        assert store.add(IN, b"late") is False
        assert store.bytes_dropped == 20 * len(chunk) - kept + 4
        store.close()
        assert spool.segment_count == 0


def test_closing_with_writes_queued_leaves_no_write_behind_it(tmp_path: Path) -> None:
    """A closed store's queued writes are dropped and the one in progress finishes before
    its segment closes: a file opened next (likely on the same descriptor number) stays
    untouched."""
    with CaptureSpool(tmp_path, threaded=True) as spool:
        store = CaptureStore(spool=spool, write_behind=64 * KIB)
        for i in range(64):
            store.add(IN, os.urandom(64 * KIB), float(i))
        store.close()
        assert spool.segment_count == 0
        with tempfile.TemporaryFile(dir=tmp_path) as other:
            other.write(b"mine")
            other.flush()
            assert spool.writer is not None
            spool.writer.wait(WriteTicket())  # nothing of ours left to wait for
            other.seek(0)
            assert other.read() == b"mine"


def test_a_closed_spool_refuses_new_writes() -> None:
    spool = CaptureSpool(threaded=True)
    store = CaptureStore(spool=spool, write_behind=0)
    assert store.add(IN, b"x")
    spool.close()
    with pytest.raises(ValueError, match="closed"):
        store.add(IN, b"y")


def test_a_named_file_is_not_written_from_a_thread(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="caller's thread"):
        CaptureSpool(path=tmp_path / "x.raw", threaded=True)


class _Fd:
    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.direct_fd = NOT_TRIED


def test_the_writer_keeps_order_and_stops_a_stream_at_its_first_failure(tmp_path: Path) -> None:
    errors: list[str] = []
    writer = SpoolWriter(on_error=lambda: errors.append(threading.current_thread().name))
    fd = os.open(tmp_path / "f", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        good, bad = WriteTicket(), WriteTicket()
        for i in range(50):
            writer.submit(WriteJob(_Fd(fd), [bytes([i]) * 100], i * 100, 100, good))
        writer.submit(WriteJob(_Fd(-1), [b"a"], 0, 1, bad))  # a closed segment: EBADF
        writer.submit(WriteJob(_Fd(fd), [b"never"], 10_000, 5, bad))
        writer.wait(good)
        writer.wait(bad)
        assert (good.submitted, good.finished, good.error) == (50, 50, None)
        assert bad.error is not None and bad.error[0] == 0
        assert bad.error[1].errno == errno.EBADF
        assert errors == ["capture-writer"]
        assert os.pread(fd, 6000, 0) == b"".join(bytes([i]) * 100 for i in range(50))
        assert os.fstat(fd).st_size == 5000  # the write after the failure was not tried
    finally:
        writer.stop()
        os.close(fd)
