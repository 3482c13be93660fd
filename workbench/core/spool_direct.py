"""The capture writer's way around the page cache: whole blocks written with ``O_DIRECT``.

Copying a flood into the page cache is the costliest part of capturing it, and on a virtual
machine whose memory the host hands out on first touch it is far worse than a copy: every new
page-cache page faults in the host (measured here: 0.3 to 8 s per GiB, depending on how
recently the guest freed the pages it reuses, against 0.7 to 0.9 s for the same GiB written
with ``O_DIRECT`` from one reused buffer). A capture is written once and read back a screenful
at a time, so it has no use for the cache either, and a flood no longer pushes the user's own
files out of it.

So the writer thread copies each write into one aligned staging buffer (``mmap``: page
aligned, reused, so its pages are touched once) and writes the whole ``DIRECT_BLOCK`` blocks
in it through a second descriptor of the segment opened with ``O_DIRECT``. The partial blocks
at either end of a write go through the page cache as before, on the segment's own
descriptor. A block is therefore written either whole by one direct write or in pieces by
buffered ones, never both: writes never overlap, and a block one write covers whole no other
write touches. Reads use the segment's own descriptor with ``POSIX_FADV_RANDOM``, so that
read-ahead never caches a block before its direct write has replaced it (the kernel drops
cached pages of a range after a direct write to it; read-ahead racing the write could bring
stale ones back).

Where ``O_DIRECT`` is not offered (not Linux, or a file system that refuses it: the open or
the first write fails with ``EINVAL``), the segment is written through the page cache, as
before.
"""

from __future__ import annotations

import contextlib
import errno
import mmap
import os
import sys
from typing import Protocol

__all__ = [
    "DIRECT_BLOCK",
    "STAGING_SIZE",
    "DirectSegment",
    "StagedWriter",
    "drop_direct",
    "write_all",
]

#: Direct writes cover whole blocks of this size at offsets that are multiples of it: the
#: page size, the strictest alignment Linux's file systems ask of ``O_DIRECT``.
DIRECT_BLOCK = max(4096, mmap.PAGESIZE)

#: The staging buffer, and so the most one direct write covers.
STAGING_SIZE = 4 << 20

#: A write this short goes through the page cache: a copy is cheaper than the two calls.
_SHORTEST_DIRECT = 2 * DIRECT_BLOCK

_DIRECT_FLAG: int = getattr(os, "O_DIRECT", 0) if sys.platform.startswith("linux") else 0

#: ``DirectSegment.direct_fd`` before the first try, and after O_DIRECT turned out refused.
NOT_TRIED = -1
REFUSED = -2


class DirectSegment(Protocol):
    """A spool's segment as the writer sees it."""

    #: The segment's descriptor (read and buffered writes); -1 once closed.
    fd: int
    #: Its ``O_DIRECT`` descriptor, opened by the writer on first need (``NOT_TRIED``,
    #: ``REFUSED``); the segment closes it with ``fd``.
    direct_fd: int


def write_all(fd: int, parts: list[bytes | memoryview], pos: int, size: int) -> None:
    """Write ``parts`` (``size`` bytes) at ``pos`` of ``fd``, finishing short writes."""
    if fd < 0:
        raise OSError(errno.EBADF, "the capture file was closed")  # never a reused number
    written = os.pwrite(fd, parts[0], pos) if len(parts) == 1 else os.pwritev(fd, parts, pos)
    if written < size:  # only on a full disk or a signal: finish or fail
        view = memoryview(b"".join(parts))
        while written < size:
            written += os.pwrite(fd, view[written:], pos + written)


class StagedWriter:
    """Writes of the writer thread: whole blocks with ``O_DIRECT`` through one staging buffer
    where the segment's file system allows it, the rest with ``write_all``. One per writer
    thread (the buffer is not shared)."""

    def __init__(self, block: int = DIRECT_BLOCK, staging_size: int = STAGING_SIZE) -> None:
        #: The alignment asked of direct writes (a test passes one the kernel refuses).
        self.block = block
        self.staging_size = staging_size - staging_size % max(block, 1)
        self._staging: mmap.mmap | None = None
        self._view: memoryview | None = None

    def close(self) -> None:
        if self._view is not None:
            self._view.release()
            self._view = None
        if self._staging is not None:
            # A slice may outlive us in a traceback someone keeps: then the collector frees it.
            with contextlib.suppress(BufferError):
                self._staging.close()
            self._staging = None

    def write(
        self, segment: DirectSegment, parts: list[bytes | memoryview], pos: int, size: int
    ) -> None:
        """Write ``parts`` (``size`` bytes) at ``pos`` of ``segment``."""
        direct = self._direct_fd(segment) if size >= _SHORTEST_DIRECT else REFUSED
        if direct < 0:
            write_all(segment.fd, parts, pos, size)
            return
        if self._view is None:
            self._staging = mmap.mmap(-1, self.staging_size)
            self._view = memoryview(self._staging)
        pieces = _Pieces(parts)
        done = 0
        while done < size:
            lead = (pos + done) % self.block  # only the first window starts mid-block
            count = min(size - done, self.staging_size - lead)
            pieces.copy_into(self._view, lead, count)
            self._flush(segment, pos + done - lead, lead, lead + count)
            done += count

    def _flush(self, segment: DirectSegment, base: int, start: int, end: int) -> None:
        """Write ``staging[start:end]`` to ``base + start``: its whole blocks directly, the
        partial ones at either end buffered (all of it, once the segment refused O_DIRECT)."""
        view = self._view
        assert view is not None
        block = self.block
        first = -(-start // block) * block
        last = end // block * block
        direct = segment.direct_fd
        if last <= first or direct < 0:
            write_all(segment.fd, [view[start:end]], base + start, end - start)
            return
        if start < first:
            write_all(segment.fd, [view[start:first]], base + start, first - start)
        self._write_direct(segment, direct, view[first:last], base + first)
        if last < end:
            write_all(segment.fd, [view[last:end]], base + last, end - last)

    def _write_direct(
        self, segment: DirectSegment, direct: int, data: memoryview, pos: int
    ) -> None:
        try:
            written = os.pwrite(direct, data, pos)
        except OSError as exc:
            if exc.errno != errno.EINVAL:
                raise  # a full disk, an I/O error: the stream's failure, as for any write
            # The file system refused this alignment after all: the page cache from now on.
            drop_direct(segment)
            written = 0
        if written < len(data):  # a full disk: the buffered write says so, or finishes
            write_all(segment.fd, [data[written:]], pos + written, len(data) - written)

    def _direct_fd(self, segment: DirectSegment) -> int:
        if segment.direct_fd != NOT_TRIED or segment.fd < 0:
            return segment.direct_fd if segment.fd >= 0 else REFUSED
        if not _DIRECT_FLAG:
            segment.direct_fd = REFUSED
            return REFUSED
        try:
            # The segment is unlinked already: its /proc link still opens the same file.
            direct = os.open(f"/proc/self/fd/{segment.fd}", os.O_WRONLY | _DIRECT_FLAG)
        except OSError:
            segment.direct_fd = REFUSED
            return REFUSED
        # No read-ahead on the reading descriptor (see the module docstring).
        with contextlib.suppress(OSError):
            os.posix_fadvise(segment.fd, 0, 0, os.POSIX_FADV_RANDOM)
        segment.direct_fd = direct
        return direct


def drop_direct(segment: DirectSegment) -> None:
    """Close ``segment``'s O_DIRECT descriptor, if it has one; it is not tried again (the
    segment closes, or its file system refused an alignment)."""
    direct, segment.direct_fd = segment.direct_fd, REFUSED
    if direct >= 0:
        with contextlib.suppress(OSError):
            os.close(direct)


class _Pieces:
    """The bytes of ``parts`` as one stream, copied out in consecutive stretches."""

    def __init__(self, parts: list[bytes | memoryview]) -> None:
        self._parts = iter(parts)
        self._current = memoryview(b"")

    def copy_into(self, target: memoryview, at: int, count: int) -> None:
        while count:
            if not self._current:
                self._current = memoryview(next(self._parts)).cast("B")
            take = min(count, len(self._current))
            target[at : at + take] = self._current[:take]
            self._current = self._current[take:]
            at += take
            count -= take
