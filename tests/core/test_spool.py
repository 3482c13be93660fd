"""workbench.core.spool: many captures in a few shared segment files.

What the spool is for: ten thousand sockets' captures hold one or two descriptors, not ten
thousand; closing captures gives their space back; and a full disk (a real 1 MiB tmpfs), a
file-size limit or a lack of descriptors stops a capture without raising into the receive
path. Every store is checked against the bytes the test appended, kept in memory.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import subprocess
import sys
import textwrap
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import workbench
from workbench.core.capture import CaptureSpool, CaptureStore, Direction

IN, OUT = Direction.IN, Direction.OUT
KIB = 1024
MIB = 1024 * KIB
ROOT = Path(workbench.__file__).resolve().parent.parent

needs_proc = pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc")


def files_open_in(folder: Path) -> list[int]:
    """This process's descriptors on files in ``folder`` (deleted ones too)."""
    found = []
    for name in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):  # the listing's own descriptor is gone by now
            if os.readlink(f"/proc/self/fd/{name}").startswith(f"{folder}/"):
                found.append(int(name))
    return found


def open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


def disk_usage(fds: list[int]) -> int:
    return sum(os.fstat(fd).st_blocks * 512 for fd in fds)


# ------------------------------------------------------------------------- descriptors


@needs_proc
def test_ten_thousand_stores_on_one_spool_hold_one_descriptor(tmp_path: Path) -> None:
    before = open_descriptors()
    with CaptureSpool(tmp_path) as spool:
        stores = [CaptureStore(spool=spool) for _ in range(10_000)]
        assert open_descriptors() <= before  # idle stores, and an idle spool, hold none
        assert spool.segment_count == 0
        for i, store in enumerate(stores):
            store.append(OUT, b"GET /%d\r\n" % i, 1.0)
            store.append(IN, b"200 OK %d\r\n" % i, 2.0)
        assert open_descriptors() - before <= 1
        assert len(files_open_in(tmp_path)) == spool.segment_count == 1
        for i, store in enumerate(stores):
            assert store.read(0, 100) == b"GET /%d\r\n200 OK %d\r\n" % (i, i)
        for store in stores:
            store.close()
        assert spool.segment_count == 0
        assert files_open_in(tmp_path) == []
    assert list(tmp_path.iterdir()) == []


@needs_proc
def test_closing_stores_frees_the_segments_only_they_used(tmp_path: Path) -> None:
    chunk = os.urandom(4 * KIB)
    with CaptureSpool(tmp_path, segment_size=64 * KIB) as spool:
        quiet = CaptureStore(spool=spool)
        quiet.append(OUT, b"ping", 1.0)
        flood = CaptureStore(spool=spool)
        for i in range(50):  # 200 KiB: the rest of quiet's segment, and three more
            flood.append(IN, chunk, float(i))
        assert spool.segment_count == len(files_open_in(tmp_path)) == 4
        used = disk_usage(files_open_in(tmp_path))
        assert used >= 200 * KIB
        flood.close()
        assert spool.segment_count == len(files_open_in(tmp_path)) == 1  # the shared one
        assert disk_usage(files_open_in(tmp_path)) <= used - 2 * 64 * KIB
        assert quiet.read(0, 10) == b"ping"
        quiet.append(OUT, b"pong", 2.0)
        assert quiet.read(0, 10) == b"pingpong"
        quiet.close()
        assert spool.segment_count == 0 and files_open_in(tmp_path) == []


def test_interleaved_floods_stay_in_long_runs_with_a_small_index() -> None:
    chunk = os.urandom(4 * KIB)
    with CaptureSpool() as spool:
        first, second = CaptureStore(spool=spool), CaptureStore(spool=spool)
        first.append(IN, chunk, 1.0)
        second.append(IN, chunk[::-1], 1.0)
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            for _ in range(16 * MIB // len(chunk) - 1):  # 16 MiB each, one append at a time
                first.append(IN, chunk, 1.0)
                second.append(IN, chunk[::-1], 1.0)
            grown_by = tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()
        # An index entry per append would be 4,096 per store; runs make it one per MiB.
        assert grown_by < 16 * KIB
        assert first.total_bytes == second.total_bytes == 16 * MIB
        for offset in (0, 4 * KIB - 3, 5 * MIB + 17, 16 * MIB - 4 * KIB):
            assert first.read(offset, 3 * KIB) == (chunk * 2)[offset % (4 * KIB) :][: 3 * KIB]
            expected = (chunk[::-1] * 2)[offset % (4 * KIB) :][: 3 * KIB]
            assert second.read(offset, 3 * KIB) == expected
        assert b"".join(first.iter_chunks()) == chunk * (16 * MIB // len(chunk))
        first.close()
        second.close()


@settings(deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(
    steps=st.lists(st.tuples(st.integers(0, 2), st.binary(max_size=120) | st.none()), max_size=40),
    segment_size=st.sampled_from([1, 50, 300, 1 << 20]),
    runs=st.sampled_from([(1, 1), (8, 64), (1 << 10, 1 << 20)]),
    reads=st.lists(st.tuples(st.integers(0, 2), st.integers(0, 900), st.integers(0, 300))),
)
def test_stores_sharing_a_spool_match_the_model(
    steps: list[tuple[int, bytes | None]],
    segment_size: int,
    runs: tuple[int, int],
    reads: list[tuple[int, int, int]],
) -> None:
    with CaptureSpool(segment_size=segment_size) as spool:
        spool.first_run, spool.max_run = runs
        stores = [CaptureStore(spool=spool) for _ in range(3)]
        model = [bytearray() for _ in range(3)]
        for k, data in steps:
            if data is None:  # "Clear data": a fresh store replaces the socket's capture
                stores[k].close()
                stores[k], model[k] = CaptureStore(spool=spool), bytearray()
            else:
                stores[k].append(IN if k else OUT, data, 1.0)
                model[k] += data
        for store, expected in zip(stores, model, strict=True):
            assert store.total_bytes == len(expected)
            assert store.read(0, len(expected) + 1) == bytes(expected)
            assert b"".join(store.iter_chunks(chunk=7)) == bytes(expected)
        for k, offset, size in reads:
            assert stores[k].read(offset, size) == bytes(model[k][offset : offset + size])
        for store in stores:
            store.close()
        assert spool.segment_count == 0  # nothing kept once every store has gone


# --------------------------------------------------------------------------- life cycle


def test_a_store_on_a_spool_takes_no_path_or_temp_dir(tmp_path: Path) -> None:
    with CaptureSpool(tmp_path) as spool:
        with pytest.raises(ValueError, match="spool"):
            CaptureStore(tmp_path / "capture.raw", spool=spool)
        with pytest.raises(ValueError, match="spool"):
            CaptureStore(temp_dir=tmp_path, spool=spool)
        with CaptureStore(spool=spool) as store:
            assert store.path is None and spool.path is None


def test_closing_the_spool_ends_its_stores() -> None:
    spool = CaptureSpool()
    store = CaptureStore(spool=spool)
    store.append(IN, b"abc", 1.0)
    assert not store.closed
    spool.close()
    assert spool.closed and store.closed and spool.segment_count == 0
    assert "closed" in repr(spool) and "closed" in repr(store)
    with pytest.raises(ValueError, match="closed"):
        store.read(0, 3)
    with pytest.raises(ValueError, match="closed"):
        store.append(IN, b"d")
    assert store.record(0).size == 3  # the index is still there to look at
    store.close()
    spool.close()


def test_segment_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="segment_size"):
        CaptureSpool(segment_size=0)


def test_a_missing_folder_is_reported_at_once_not_at_the_first_byte(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        CaptureSpool(tmp_path / "gone")
    with pytest.raises(FileNotFoundError):
        CaptureStore(temp_dir=tmp_path / "gone")


# ------------------------------------------------------------------------------ failures


def fill(store: CaptureStore, chunk: bytes, count: int) -> bytes:
    """Append ``count`` chunks a second apart; return what the store says it kept."""
    kept = bytearray()
    for i in range(count):
        store.append(IN, chunk, float(i))  # must never raise
        if store.failed is None:
            kept += chunk
    return bytes(kept)


def test_a_full_disk_stops_the_capture_and_closing_it_gives_the_space_back(
    tiny_disk: Path,
) -> None:
    chunk = os.urandom(100_000)  # does not divide 1 MiB: the last write is cut short
    with CaptureSpool(tiny_disk) as spool:
        flood = CaptureStore(spool=spool)
        kept = fill(flood, chunk, 20)  # 2 MB into 1 MiB
        assert flood.failed == os.strerror(errno.ENOSPC)
        assert 0 < flood.total_bytes == flood.bytes_in == len(kept) < MIB
        assert flood.record_count == len(kept) // len(chunk)
        assert flood.bytes_dropped == 20 * len(chunk) - len(kept)
        assert flood.read(0, MIB) == kept
        assert "No space left on device" in repr(flood)
        late = flood.append(OUT, b"late", 30.0)  # counted, not kept
        assert (late.size, late.index, late.stream_offset) == (0, flood.record_count, len(kept))
        assert flood.bytes_dropped == 20 * len(chunk) - len(kept) + 4
        assert (flood.bytes_out, flood.total_bytes) == (0, len(kept))

        flood.close()
        assert spool.segment_count == 0
        with CaptureStore(spool=spool) as after:
            assert fill(after, chunk, 8) == chunk * 8  # 800 kB fit again
            assert after.failed is None


def test_a_full_disk_leaves_a_named_file_holding_exactly_the_stream(tiny_disk: Path) -> None:
    path = tiny_disk / "capture.raw"
    with CaptureStore(path) as capture:
        kept = fill(capture, os.urandom(100_000), 20)
        assert capture.failed == os.strerror(errno.ENOSPC)
        assert capture.total_bytes == len(kept) > 0
        # The cut-short write was cut off the file, not left behind the stream.
        assert path.stat().st_size == len(kept)
        assert path.read_bytes() == kept


def run(code: str, folder: Path) -> Any:
    """Run ``code`` (with ``folder`` bound) in a fresh interpreter; it prints one JSON value."""
    proc = subprocess.run(
        [sys.executable, "-c", f"folder = {str(folder)!r}\n" + textwrap.dedent(code)],
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="RLIMIT_FSIZE is POSIX only")
def test_a_file_size_limit_stops_the_capture(tmp_path: Path) -> None:
    result = run(
        """
        import json, resource
        from workbench.core.capture import CaptureStore
        hard = resource.getrlimit(resource.RLIMIT_FSIZE)[1]
        resource.setrlimit(resource.RLIMIT_FSIZE, (256 * 1024, hard))
        with CaptureStore(temp_dir=folder) as capture:
            for i in range(8):
                capture.append(0, bytes([i]) * 65536, float(i))  # must not raise
            expected = b"".join(bytes([i]) * 65536 for i in range(4))
            print(json.dumps([capture.failed, capture.total_bytes, capture.bytes_dropped,
                              capture.read(0, 1 << 20) == expected]))
        """,
        tmp_path,
    )
    assert result == [os.strerror(errno.EFBIG), 4 * 65536, 4 * 65536, True]


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="RLIMIT_NOFILE is POSIX only")
def test_no_descriptor_left_for_a_segment_stops_the_capture(tmp_path: Path) -> None:
    result = run(
        """
        import json, os, resource
        from workbench.core.capture import CaptureSpool, CaptureStore
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, hard))
        spool = CaptureSpool(folder)
        starved = CaptureStore(spool=spool)
        fillers = []
        try:
            while True:
                fillers.append(os.open(folder, os.O_RDONLY))
        except OSError:
            pass
        starved.append(0, b"x")  # the spool cannot open its first segment: no raise
        failed = starved.failed
        os.close(fillers.pop())
        other = CaptureStore(spool=spool)
        other.append(0, b"y")
        print(json.dumps([failed, starved.bytes_dropped, starved.total_bytes,
                          other.failed, other.read(0, 5).decode()]))
        """,
        tmp_path,
    )
    assert result == [os.strerror(errno.EMFILE), 1, 0, None, "y"]


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="RLIMIT_FSIZE is POSIX only")
def test_a_failed_write_behind_undoes_exactly_the_held_appends(tmp_path: Path) -> None:
    result = run(
        """
        import json, resource
        from workbench.core.capture import CaptureStore
        hard = resource.getrlimit(resource.RLIMIT_FSIZE)[1]
        resource.setrlimit(resource.RLIMIT_FSIZE, (256 * 1024, hard))
        KIB = 1024
        with CaptureStore(temp_dir=folder, write_behind=64 * KIB) as capture:
            capture.append(0, b"a" * 200 * KIB, 0.0)  # past write_behind: written at once
            capture.append(0, b"b" * 40 * KIB, 0.01)  # merges, held
            capture.append(1, b"c" * 10, 0.02)  # a new record, held
            # 80 KiB held: the write passes the file-size limit, so all three are undone
            kept = capture.add(0, b"d" * 30 * KIB, 0.03)
            print(json.dumps([
                kept, capture.failed, capture.total_bytes, capture.bytes_in,
                capture.bytes_out, capture.bytes_dropped, capture.record_count,
                list(capture.hex_ends), capture.read(0, 1 << 20) == b"a" * 200 * KIB,
                capture.add(0, b"late"), capture.bytes_dropped,
            ]))
        """,
        tmp_path,
    )
    assert result == [
        False, os.strerror(errno.EFBIG), 200 * KIB, 200 * KIB, 0, 70 * KIB + 10, 1,
        [1 + 200 * KIB // 16], True, False, 70 * KIB + 14,
    ]  # fmt: skip
