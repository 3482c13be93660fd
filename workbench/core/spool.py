"""One spool of segment files that every socket's capture appends into.

A socket must cost one file descriptor, not two (issue 7, "One file descriptor per socket": "A
socket's capture must not hold a descriptor of its own while idle"). So a session's captures
share one :class:`CaptureSpool`, which keeps a few segment files open, and each
:class:`~workbench.core.capture.CaptureStore` keeps only its in-memory index of where its bytes
are in them.

- **Runs.** A store asks the spool for room (:meth:`CaptureSpool.grant`) and gets a *run*,
  ``[start, end)`` of the current segment, which it fills one append after another. A store
  that keeps writing asks for runs twice as long each time, up to ``max_run``; and when
  nobody took room after its run, the next run follows it directly, so the store's bytes stay
  contiguous. A flood from one socket is therefore one piece of the file, and its index grows
  by an entry per ``max_run`` bytes, never per append, even while other sockets trickle. The
  room a store never used is a hole of a sparse file: it costs no disk.
- **Segments.** Anonymous temporary files, unlinked at once on POSIX (not even a crash leaves
  decrypted TLS traffic behind), mode 0600 (``tempfile.mkstemp``), of about ``segment_size``
  bytes each: a run never spans two, and only a single append larger than a segment makes one
  larger. A segment counts the live stores with a run in it and is closed, which frees its
  space, when the last of them releases it. Closing (or clearing) a store thus gives its space
  back once every store sharing its segments has gone too; a long-lived store keeps at most
  its segments alive, each bounded in size.
- **Descriptors.** One per open segment, and none at all while no store has a byte: the first
  segment opens with the first byte. A session of 10,000 chatty sockets holds one or two.
  A segment that gets a long write on a threaded spool has a second, opened by the writer
  thread with ``O_DIRECT`` (``spool_direct``); it closes with the segment.

Single-threaded like the stores: the event-loop thread owns the spool. With ``threaded=True``
the writes themselves run on one writer thread (``spool_writer``): a store's index counts its
bytes at once, reads take the bytes still on their way from memory, and a failed write comes
back through the stream's ``ticket`` for the store to undo.
"""

from __future__ import annotations

import collections
import contextlib
import errno
import os
import sys
import tempfile
import weakref
from array import array
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from workbench.core.spool_direct import NOT_TRIED, drop_direct, write_all
from workbench.core.spool_writer import SpoolWriter, WriteJob, WriteTicket

__all__ = ["CaptureSpool", "Segment", "SpoolStream"]

#: Default size of a segment: small enough to free space soon after its stores close, large
#: enough that a 1 GiB flood holds 16 descriptors, not hundreds.
SEGMENT_SIZE = 64 << 20


@dataclass(eq=False, slots=True)
class Segment:
    """One file of a spool: compared by identity, shared by the stores with runs in it."""

    #: The open descriptor; -1 once closed (so a stale store cannot reach a reused number).
    fd: int
    #: Where the next run starts: the end of the last run handed out.
    tail: int = 0
    #: Live stores with a run here; the segment closes when the last one releases it.
    users: int = 0
    #: A caller's named file (a spool given ``path=``): kept open until the spool closes.
    pinned: bool = False
    #: A temporary file that could not be unlinked while open (not POSIX): removed on close.
    unlink: str | None = None
    #: Its ``O_DIRECT`` descriptor, which the writer thread opens (``spool_direct``).
    direct_fd: int = NOT_TRIED

    def close(self) -> None:
        fd, self.fd = self.fd, -1
        drop_direct(self)
        if fd < 0:
            return
        try:
            os.close(fd)
        finally:
            if self.unlink is not None:  # pragma: no cover - not POSIX
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self.unlink)


def _close_all(live: set[Segment], writer: SpoolWriter | None) -> None:
    # A finalizer, not a method: it must not keep the spool alive, and it also runs when a
    # spool is dropped without close(). The writer stops first: no write after a close.
    if writer is not None:
        writer.stop()
    for segment in list(live):
        segment.close()
    live.clear()


class CaptureSpool:
    """Segment files shared by many :class:`~workbench.core.capture.CaptureStore`.

    ``temp_dir``: where the anonymous segment files go (None: the system's temporary folder).
    ``path``: instead of segments, one named file, created (mode 0600) or truncated at once and
    kept after close; it never rolls over, so a single store on it writes the file as its plain
    byte stream (what ``CaptureStore(path)`` makes).
    ``threaded``: writes run on a writer thread of the spool's own (anonymous segments only: a
    caller's named file holds its bytes when a write returns); ``on_write_error`` is called
    ON THAT THREAD after a write failed, so that the owner can look at its stores.

    Also a context manager (closes on exit). Closing the spool ends every store on it: their
    indexes stay readable, their I/O raises ``ValueError``.
    """

    #: First run a store gets; later runs of the same store double, up to ``max_run``.
    first_run: int = 1 << 10
    max_run: int = 1 << 20

    def __init__(
        self,
        temp_dir: Path | str | None = None,
        *,
        segment_size: int = SEGMENT_SIZE,
        path: Path | str | None = None,
        threaded: bool = False,
        on_write_error: Callable[[], object] | None = None,
    ) -> None:
        if threaded and path is not None:
            raise ValueError("a spool with a named file writes on the caller's thread")
        if segment_size <= 0:
            raise ValueError(f"segment_size must be > 0, not {segment_size}")
        self.temp_dir = None if temp_dir is None else Path(temp_dir)
        if self.temp_dir is not None and not self.temp_dir.is_dir():
            # Segments open lazily, with the first byte; a wrong folder is the caller's
            # mistake, reported now rather than as the first capture's failure.
            raise FileNotFoundError(errno.ENOENT, "no such folder for captures", str(temp_dir))
        self._path = None if path is None else Path(path)
        #: A run never crosses a segment of this size (a single larger append gets its own).
        self.segment_size = sys.maxsize if path is not None else segment_size
        self._live: set[Segment] = set()
        self._current: Segment | None = None
        #: The thread that writes, or None: writes run where they are asked for.
        self.writer = SpoolWriter(on_error=on_write_error) if threaded else None
        self._finalizer = weakref.finalize(self, _close_all, self._live, self.writer)
        if self._path is not None:
            flags = os.O_RDWR | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0)
            self._current = Segment(os.open(self._path, flags, 0o600), pinned=True)
            self._live.add(self._current)

    # -- life cycle

    @property
    def closed(self) -> bool:
        return not self._finalizer.alive

    def close(self) -> None:
        """Close every segment (and so free their space). Idempotent."""
        self._finalizer()
        self._current = None

    def __enter__(self) -> CaptureSpool:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        if self.closed:
            where = "closed"
        else:
            where = str(self._path) if self._path else str(self.temp_dir or "temporary")
        return f"<CaptureSpool {where} segments={len(self._live)}>"

    @property
    def path(self) -> Path | None:
        """The caller's named file, or None for anonymous segments."""
        return self._path

    @property
    def segment_count(self) -> int:
        """Open segment files: the spool's descriptors."""
        return len(self._live)

    # -- the stores' side

    def grant(self, segment: Segment | None, need: int, want: int) -> tuple[Segment, int, int]:
        """A new run ``(segment, start, end)`` of at least ``need`` bytes, ``want`` if it fits.

        ``segment`` is the caller's last one (None at first): a different segment returned
        counts the caller as one more user until it calls :meth:`release`. The run starts at
        the current segment's tail, so it directly follows the caller's last run when nobody
        took room in between. Raises ``OSError`` when a new segment cannot be made (``EMFILE``,
        ``ENOSPC``) and ``ValueError`` when the spool is closed.
        """
        if not self._finalizer.alive:
            raise ValueError("I/O operation on a closed CaptureSpool")
        current = self._current
        if current is None or (current.tail and current.tail + need > self.segment_size):
            current = self._current = self._open_segment()
        start = current.tail
        current.tail = start + max(need, min(want, self.segment_size - start))
        if current is not segment:
            current.users += 1
        return current, start, current.tail

    def release(self, segment: Segment) -> None:
        """A store is done with ``segment``: the last release closes it, freeing its space."""
        segment.users -= 1
        if segment.users > 0 or segment.pinned or segment not in self._live:
            return
        self._live.discard(segment)
        if segment is self._current:
            self._current = None
        segment.close()

    def _open_segment(self) -> Segment:
        # mkstemp: O_EXCL and mode 0600, since captures may hold decrypted TLS traffic.
        fd, name = tempfile.mkstemp(prefix="workbench-capture-", suffix=".raw", dir=self.temp_dir)
        segment = Segment(fd)
        if os.name == "posix":
            os.unlink(name)
        else:  # pragma: no cover - an open file cannot be unlinked on Windows
            segment.unlink = name
        self._live.add(segment)
        return segment


class SpoolStream:
    """One store's byte stream in a spool: where each piece is, and the I/O to get it there.

    Appends go into runs granted by the spool; the stream's *extents* (contiguous pieces in
    one segment) are array columns, one entry per run that did not directly follow the last.
    """

    def __init__(self, spool: CaptureSpool) -> None:
        self._spool = spool
        #: Segments holding our runs, oldest first; each counts us as a user until release().
        self.segments: list[Segment] = []
        self._segment: Segment | None = None
        self._pos = 0  # where the next byte goes in _segment
        self._end = 0  # end of our run there
        self._want = spool.first_run  # the next run's size: doubles per run, up to max_run
        self._contiguous = False  # the next byte extends the last extent
        self._starts = array("q")  # stream offset of each extent's first byte
        self._places = array("q")  # its file offset in its segment
        self._extent_segments: list[Segment] = []
        self.size = 0
        #: What the spool's writer thread did with our writes (threaded spools).
        self.ticket = WriteTicket()
        # Writes handed to the writer and maybe not done: (number, stream offset, parts).
        self._pending: collections.deque[tuple[int, int, list[bytes | memoryview]]] = (
            collections.deque()
        )

    def release(self) -> None:
        """Give every segment back to the spool. Idempotent. Writes still queued for this
        stream are dropped; one being written finishes first."""
        writer = self._spool.writer
        if writer is not None:
            writer.forget(self.ticket)
        self._pending.clear()
        segments, self.segments = self.segments, []
        self._segment = None
        for segment in segments:
            self._spool.release(segment)

    def write(self, data: bytes | memoryview) -> None:
        """Append ``data``; on ``OSError`` the stream is as it was before the call.

        Raises ``ValueError`` when the spool is closed.
        """
        self.write_parts([data], len(data))

    def write_parts(self, parts: list[bytes | memoryview], size: int) -> None:
        """Append the pieces ``parts`` (``size`` bytes together) with one ``os.pwritev``; on
        ``OSError`` the stream is as it was before the call. On a threaded spool the write is
        queued instead, and its outcome comes in :attr:`ticket` (the parts must not change).

        Raises ``ValueError`` when the spool is closed.
        """
        if self._end - self._pos < size:
            self._new_run(size)
        segment = self._segment
        assert segment is not None  # _new_run made one
        pos = self._pos
        writer = self._spool.writer
        if writer is not None:
            # The writer does it; until then read() takes these bytes from memory.
            job = WriteJob(segment, parts, pos, size, self.ticket)
            writer.submit(job)
            self._pending.append((job.number, self.size, parts))
        else:
            # Write at our own idea of the end: the file and the index can never disagree
            # about where the next byte goes, even after a failed write.
            try:
                write_all(segment.fd, parts, pos, size)
            except BaseException:
                if segment.fd < 0:
                    raise ValueError("I/O operation on a closed CaptureSpool") from None
                self._cut(segment, pos)
                raise
        if not self._contiguous:
            self._starts.append(self.size)
            self._places.append(pos)
            self._extent_segments.append(segment)
            self._contiguous = True
        self._pos = pos + size
        self.size += size

    def _new_run(self, need: int) -> None:
        segment, start, end = self._spool.grant(self._segment, need, self._want)
        self._want = min(self._want * 2, self._spool.max_run)
        if segment is self._segment and start == self._end:
            self._end = end  # nobody took room after our run: keep writing where we are
            return
        if segment is not self._segment:
            self.segments.append(segment)
            self._segment = segment
        self._pos, self._end = start, end
        self._contiguous = False

    def _cut(self, segment: Segment, pos: int) -> None:
        # Cut what a failed write left, which is ours alone when no run follows ours: that
        # frees its space, and a caller's named file keeps holding exactly the stream.
        if segment.tail == self._end:
            with contextlib.suppress(OSError):
                os.ftruncate(segment.fd, pos)

    def read(self, offset: int, end: int) -> bytes:
        """The bytes of ``[offset, end)``, which must lie within ``[0, size)``."""
        pending = self._pending
        while pending and pending[0][0] < self.ticket.finished:
            pending.popleft()  # on disk now (a failed one: the store undid its bytes)
        if pending and end > pending[0][1]:
            return self._read_pending(offset, end)
        return self._read_file(offset, end)

    def _read_pending(self, offset: int, end: int) -> bytes:
        # The part before the first write still on its way is in the file, the rest in memory.
        first = self._pending[0][1]
        parts = [self._read_file(offset, first)] if offset < first else []
        for _number, start, pieces in list(self._pending):
            block = b"".join(pieces)
            if start + len(block) <= offset or start >= end:
                continue
            parts.append(block[max(offset - start, 0) : end - start])
        return b"".join(parts)

    def _read_file(self, offset: int, end: int) -> bytes:
        starts = self._starts
        last = len(starts) - 1
        i = bisect_right(starts, offset) - 1
        parts = []
        while offset < end:  # one pread per extent the range touches: mostly one
            stop = min(end, starts[i + 1] if i < last else self.size)
            place = self._places[i] + offset - starts[i]
            parts.append(_pread(self._extent_segments[i], place, stop - offset, offset))
            offset = stop
            i += 1
        return parts[0] if len(parts) == 1 else b"".join(parts)


def _pread(segment: Segment, place: int, size: int, stream_offset: int) -> bytes:
    data = os.pread(segment.fd, size, place)
    if len(data) < size:  # a short read: only if the file was cut
        parts = [data]
        got = len(data)
        while got < size:
            more = os.pread(segment.fd, size - got, place + got)
            if not more:
                raise OSError(f"capture file truncated at {stream_offset + got}")
            parts.append(more)
            got += len(more)
        data = b"".join(parts)
    return data
